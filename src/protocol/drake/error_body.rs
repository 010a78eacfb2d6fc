//! Error answers (protocol §2.1): Drake copies an error body into the user's exception only when it
//! is 1 to 8191 bytes long and prints `None.` otherwise; and the JSON body both reference servers
//! send, `{"error": true, "message": "…", "code": N}` with status N.

/// Longest error body Drake shows verbatim.
pub const MAX_SHOWN_BYTES: usize = 8 * 1024 - 1;

/// Whether Drake shows `body` in its exception.
pub fn is_shown(body: &[u8]) -> bool {
    !body.is_empty() && body.len() <= MAX_SHOWN_BYTES
}

/// The `Server Message` line of Drake's exception for an error body.
pub fn server_message(body: &[u8]) -> String {
    if is_shown(body) {
        String::from_utf8_lossy(body).into_owned()
    } else {
        "None.".to_owned()
    }
}

/// The JSON error body for status `code`, with `message` cut so that Drake shows it.
pub fn json(code: u16, message: &str) -> String {
    let render = |message: &str| {
        serde_json::json!({"error": true, "message": message, "code": code}).to_string()
    };
    let full = render(message);
    if full.len() <= MAX_SHOWN_BYTES {
        return full;
    }
    // JSON escaping can grow the text (up to 6 bytes per control character), so cut by the
    // encoded length and back off to a character boundary.
    let mut keep = MAX_SHOWN_BYTES / 8;
    while !message.is_char_boundary(keep) {
        keep -= 1;
    }
    render(&format!("{}… (truncated)", &message[..keep]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_drakes_json_convention() {
        let body = json(400, "missing field min_depth");
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"error": true, "message": "missing field min_depth", "code": 400})
        );
    }

    #[test]
    fn long_messages_are_cut_below_8_kb() {
        for filler in ["x", "\u{1}", "é"] {
            let body = json(400, &filler.repeat(50_000));
            assert!(is_shown(body.as_bytes()), "{} bytes", body.len());
            let value: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert!(value["message"].as_str().unwrap().ends_with("(truncated)"));
        }
    }

    #[test]
    fn drake_shows_bodies_of_1_to_8191_bytes() {
        assert!(!is_shown(b""));
        assert!(is_shown(&[b'x'; 8191]));
        assert!(!is_shown(&[b'x'; 8192]));
        assert_eq!(server_message(b"bad"), "bad");
        assert_eq!(server_message(&[b'x'; 8192]), "None.");
    }
}
