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
}
