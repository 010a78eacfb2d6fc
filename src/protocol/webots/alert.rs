//! The session server's notices about a simulation server changing state (doc §2.5): the
//! original's e-mail subjects and texts, word for word, which are also its log lines.

use super::pyfloat;

/// What happened to one simulation server between two polls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// It stopped answering `/load` (or answered non-2xx); it is skipped until it answers again.
    NotResponding,
    /// It answers again after not responding.
    WorkingAgain { load: f64 },
    /// Its load reached the threshold; it gets no new session.
    ReachedMaximumLoad { load: f64 },
    /// Its load fell below the threshold again.
    AvailableAgain { load: f64 },
}

impl Change {
    /// The original's e-mail subject.
    pub fn subject(self) -> &'static str {
        match self {
            Change::NotResponding => "Simulation server not responding",
            Change::WorkingAgain { .. } => "Simulation server working again",
            Change::ReachedMaximumLoad { .. } => "Simulation server reached maximum load",
            Change::AvailableAgain { .. } => "Simulation server available again",
        }
    }

    /// The original's one-line description (its log line, and the e-mail's first sentence).
    pub fn describe(self, server: &str) -> String {
        match self {
            Change::NotResponding => format!(
                "{server} simulation server may be down, as it is not responding to the requests of the session server"
            ),
            Change::WorkingAgain { load } => format!(
                "{server} simulation server is up and running again (load = {}%)",
                pyfloat::format(load)
            ),
            Change::ReachedMaximumLoad { load } => format!(
                "{server} simulation server has reached maximum load ({}%)",
                pyfloat::format(load)
            ),
            Change::AvailableAgain { load } => format!(
                "{server} simulation server is available again (load = {}%)",
                pyfloat::format(load)
            ),
        }
    }

    /// The webhook payload's `event`: this project's addition, not the original's.
    pub fn event_name(self) -> &'static str {
        match self {
            Change::NotResponding => "notResponding",
            Change::WorkingAgain { .. } => "workingAgain",
            Change::ReachedMaximumLoad { .. } => "reachedMaximumLoad",
            Change::AvailableAgain { .. } => "availableAgain",
        }
    }

    /// The load the notice reports, if any.
    pub fn load(self) -> Option<f64> {
        match self {
            Change::NotResponding => None,
            Change::WorkingAgain { load }
            | Change::ReachedMaximumLoad { load }
            | Change::AvailableAgain { load } => Some(load),
        }
    }
}

/// The e-mail body, the original's: a greeting, the description, and a link to the session
/// server's monitor page.
pub fn mail_body(description: &str, monitor_url: &str) -> String {
    format!("Hello,\n\n{description}.\nCheck it at {monitor_url}\n\n-Simulation Server")
}
