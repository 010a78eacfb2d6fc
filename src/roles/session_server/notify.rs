//! State-change alerts about simulation servers: always logged, and sent by e-mail (the original's
//! `administrator`/`mail*` keys and texts) and to a webhook when configured.
//!
//! Each delivery runs in its own task bounded by [`NOTIFY_TIMEOUT`], so a dead mail server delays
//! nothing: the poller hands an event over and moves on. Failures are logged, never fatal.

use std::sync::Arc;

use hyper::Uri;
use tokio_util::task::TaskTracker;

use super::config::{Config, NOTIFY_TIMEOUT};
use super::smtp::{self, Mail, SmtpSettings};
use crate::core::http_client::HttpClient;
use crate::core::pyfloat;

/// SMTP's standard port, which the original's `SMTP(port=0)` also means.
const SMTP_PORT: u16 = 25;

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

    fn event_name(self) -> &'static str {
        match self {
            Change::NotResponding => "notResponding",
            Change::WorkingAgain { .. } => "workingAgain",
            Change::ReachedMaximumLoad { .. } => "reachedMaximumLoad",
            Change::AvailableAgain { .. } => "availableAgain",
        }
    }

    fn load(self) -> Option<f64> {
        match self {
            Change::NotResponding => None,
            Change::WorkingAgain { load }
            | Change::ReachedMaximumLoad { load }
            | Change::AvailableAgain { load } => Some(load),
        }
    }
}

struct Email {
    smtp: SmtpSettings,
    sender: String,
    administrator: String,
}

/// Delivers [`Change`]s; cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    email: Option<Arc<Email>>,
    webhook: Option<(Uri, HttpClient)>,
    /// "Check it at https://host:port/monitor", the original's e-mail footer.
    monitor_url: Arc<str>,
    tasks: TaskTracker,
}

impl Notifier {
    /// Sets up the channels `config` enables. `own_port` is the port this server listens on.
    ///
    /// # Errors
    /// A `webhookUrl` that is not an http(s) URL.
    pub fn new(
        config: &Config,
        own_port: u16,
        client: HttpClient,
        tls: tokio_rustls::TlsConnector,
    ) -> anyhow::Result<Self> {
        let email = match (
            &config.administrator,
            &config.mail_server,
            &config.mail_sender,
        ) {
            (Some(administrator), Some(host), Some(sender)) => Some(Arc::new(Email {
                smtp: SmtpSettings {
                    host: host.clone(),
                    port: config
                        .mail_server_port
                        .filter(|&p| p != 0)
                        .unwrap_or(SMTP_PORT),
                    credentials: config.mail_sender_password.as_ref().map(|password| {
                        let user = config.mail_sender_user.as_ref().unwrap_or(sender);
                        (user.clone(), password.clone())
                    }),
                    client_name: config.server_name.clone(),
                    tls,
                },
                sender: sender.clone(),
                administrator: administrator.clone(),
            })),
            (Some(administrator), _, _) => {
                tracing::info!(
                    %administrator,
                    "mailServer or mailSender missing in the configuration: e-mail notifications disabled"
                );
                None
            }
            _ => None,
        };
        let webhook = match &config.webhook_url {
            Some(url) => {
                let uri: Uri = url
                    .parse()
                    .map_err(|e| anyhow::anyhow!("webhookUrl {url:?}: {e}"))?;
                anyhow::ensure!(
                    matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some(),
                    "webhookUrl {url:?} must be an http:// or https:// URL"
                );
                Some((uri, client))
            }
            None => None,
        };
        let separator = if config.port_rewrite { '/' } else { ':' };
        let monitor_url = format!(
            "{}://{}{separator}{own_port}/monitor",
            config.http_scheme(),
            config.server_name
        );
        Ok(Self {
            email,
            webhook,
            monitor_url: monitor_url.into(),
            tasks: TaskTracker::new(),
        })
    }

    /// Logs `change` and starts its deliveries in the background.
    pub fn notify(&self, server: &str, change: Change) {
        let description = change.describe(server);
        match change {
            Change::NotResponding => tracing::warn!(simulation_server = server, "{description}"),
            _ => tracing::info!(simulation_server = server, "{description}"),
        }
        let text = format!(
            "Hello,\n\n{description}.\nCheck it at {}\n\n-Simulation Server",
            self.monitor_url
        );
        if let Some(email) = &self.email {
            let email = Arc::clone(email);
            let mail = Mail {
                from: email.sender.clone(),
                to: email.administrator.clone(),
                subject: change.subject().to_owned(),
                body: text.clone(),
            };
            self.tasks.spawn(async move {
                match tokio::time::timeout(NOTIFY_TIMEOUT, smtp::send(&email.smtp, &mail)).await {
                    Ok(Ok(())) => tracing::debug!(to = %mail.to, subject = %mail.subject, "e-mail sent"),
                    Ok(Err(e)) => tracing::error!(to = %mail.to, cause = %e, "unable to send e-mail"),
                    Err(_) => tracing::error!(to = %mail.to, "unable to send e-mail: mail server timed out"),
                }
            });
        }
        if let Some((url, client)) = &self.webhook {
            let url = url.clone();
            let client = client.clone();
            let payload = serde_json::json!({
                "event": change.event_name(),
                "subject": change.subject(),
                "simulationServer": server,
                "load": change.load(),
                "message": text,
            })
            .to_string();
            self.tasks.spawn(async move {
                match tokio::time::timeout(NOTIFY_TIMEOUT, client.post(&url, "application/json", payload)).await {
                    Ok(Ok(answer)) if answer.status.is_success() => {
                        tracing::debug!(%url, "webhook notified");
                    }
                    Ok(Ok(answer)) => {
                        tracing::error!(%url, status = answer.status.as_u16(), "webhook refused the notification");
                    }
                    Ok(Err(e)) => tracing::error!(%url, cause = %e, "webhook unreachable"),
                    Err(_) => tracing::error!(%url, "webhook timed out"),
                }
            });
        }
    }

    /// Waits for deliveries in flight (each bounded by [`NOTIFY_TIMEOUT`]), at shutdown.
    pub async fn finish(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}
