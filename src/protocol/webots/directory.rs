//! The simulation server's announcement to a directory such as webots.cloud's `setup.php`
//! (doc §3.11): an `application/x-www-form-urlencoded` POST of the original's three fields.

use super::address;
use super::pyfloat::JsonNumber;

/// The content type of [`announcement`].
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// The form body: `url` (`http(s)://host:port` or `http(s)://host/port`), `shareIdleTime` (as
/// Python writes the config's number) and `allowedRepositories` (comma-separated).
pub fn announcement(
    ssl: bool,
    host: &str,
    port: u16,
    port_rewrite: bool,
    share_idle_time: JsonNumber,
    allowed_repositories: &[String],
) -> String {
    let own_url = address::http_url(ssl, &address::host_port(host, port, port_rewrite));
    form_encode(&[
        ("url", own_url.as_str()),
        ("shareIdleTime", &share_idle_time.to_string()),
        ("allowedRepositories", &allowed_repositories.join(",")),
    ])
}

/// `application/x-www-form-urlencoded`.
fn form_encode(fields: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_percent_encoded() {
        assert_eq!(
            form_encode(&[("url", "https://h/2000"), ("a", "x y,z")]),
            "url=https%3A%2F%2Fh%2F2000&a=x+y%2Cz"
        );
    }

    #[test]
    fn announcement_has_the_original_fields() {
        let allowed = ["https://github.com/a".to_owned(), "b".to_owned()];
        // requests form-encodes `str(value)`: the int 50 as `50`, a float as Python writes it.
        assert_eq!(
            announcement(true, "sim.example.org", 2000, true, JsonNumber::Int(50), &allowed),
            "url=https%3A%2F%2Fsim.example.org%2F2000&shareIdleTime=50&allowedRepositories=https%3A%2F%2Fgithub.com%2Fa%2Cb"
        );
        let fraction = announcement(false, "h", 2000, false, JsonNumber::Float(12.5), &[]);
        assert!(fraction.contains("&shareIdleTime=12.5&"), "{fraction}");
    }
}
