//! `GET /load` (doc §2.4, §3.9): bare float text, written by both servers and read by the session
//! server from each simulation server.

use super::pyfloat;

/// The load the session server records for a simulation server that did not answer (or answered
/// non-2xx): over any threshold, shown as `N/A`, and left out of the session server's own `/load`
/// (V2021 and later; V2019 used 100).
pub const UNREACHABLE_LOAD: f64 = 1000.0;

/// The content type of a simulation server's body. The original sends tornado's `text/html`;
/// readers only look at the body.
pub const SIMULATION_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// The header on a simulation server's `/load` answer that offers its waiting line to session
/// servers (issue 22): value `free=F, waiting=W, room=R`, the simulator slots free, the clients in
/// line and the places left in it. The originals neither send nor read it: the body stays the bare
/// load, so original session servers poll ours unchanged, and an original simulation server,
/// answering without it, is balanced on its load alone.
pub const SLOTS_HEADER: &str = "x-simulation-slots";

/// What [`SLOTS_HEADER`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slots {
    /// Simulator slots free: a visitor sent there starts at once.
    pub free: usize,
    /// Clients waiting in line.
    pub waiting: usize,
    /// Places left in the line (0 when it is full or the server has none).
    pub room: usize,
}

impl Slots {
    pub fn header_value(&self) -> String {
        format!(
            "free={}, waiting={}, room={}",
            self.free, self.waiting, self.room
        )
    }

    /// Reads a header value; `None` unless all three counts are there, so a peer's garbage is
    /// treated as an original server's silence.
    pub fn parse(value: &str) -> Option<Self> {
        let (mut free, mut waiting, mut room) = (None, None, None);
        for field in value.split(',') {
            let (key, count) = field.trim().split_once('=')?;
            let count: usize = count.trim().parse().ok()?;
            match key.trim() {
                "free" => free = Some(count),
                "waiting" => waiting = Some(count),
                "room" => room = Some(count),
                _ => {}
            }
        }
        Some(Self {
            free: free?,
            waiting: waiting?,
            room: room?,
        })
    }
}

/// A simulation server's body: the load rounded to two decimals, as Python's `str(float)`.
pub fn simulation_body(load: f64) -> String {
    pyfloat::format((load * 100.0).round() / 100.0)
}

/// The session server's body: the mean load of the reachable simulation servers, or `-1` when
/// none is.
pub fn session_body(average: Option<f64>) -> String {
    average.map_or_else(|| "-1".to_owned(), pyfloat::format)
}

/// Reads a simulation server's body as the original's `float(body)` does; NaN, which no balancing
/// rule can use, counts as unreadable.
pub fn parse(body: &str) -> Option<f64> {
    pyfloat::parse(body).filter(|load| !load.is_nan())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_read_and_write_like_python() {
        assert_eq!(simulation_body(12.345_6), "12.35");
        assert_eq!(simulation_body(40.0), "40.0");
        assert_eq!(session_body(Some(53.25)), "53.25");
        assert_eq!(session_body(None), "-1");
        assert_eq!(parse(" 12.5\n"), Some(12.5));
        assert_eq!(parse("nan"), None);
        assert_eq!(parse("busy"), None);
    }

    #[test]
    fn slots_header_round_trips_and_rejects_garbage() {
        let slots = Slots {
            free: 0,
            waiting: 3,
            room: 97,
        };
        assert_eq!(slots.header_value(), "free=0, waiting=3, room=97");
        assert_eq!(Slots::parse(&slots.header_value()), Some(slots));
        // Unknown fields are skipped, for a later addition.
        assert_eq!(
            Slots::parse("room=1,free=2 , waiting=0, eta=5"),
            Some(Slots {
                free: 2,
                waiting: 0,
                room: 1
            })
        );
        for garbage in [
            "",
            "free=1",
            "free=-1, waiting=0, room=0",
            "free=x, waiting=0, room=0",
            "busy",
        ] {
            assert_eq!(Slots::parse(garbage), None, "{garbage}");
        }
    }
}
