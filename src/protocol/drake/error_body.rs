//! Error answers (protocol §2.1): Drake copies an error body into the user's exception only when it
//! is 1 to 8191 bytes long and prints `None.` otherwise; and the JSON body both reference servers
//! send, `{"error": true, "message": "…", "code": N}` with status N.

/// Longest error body Drake shows verbatim.
pub const MAX_SHOWN_BYTES: usize = crate::core::error_body::MAX_BYTES;

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

/// The JSON error body for status `code`: the one every server of this project answers with.
pub use crate::core::error_body::json;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drake_shows_bodies_of_1_to_8191_bytes() {
        assert!(!is_shown(b""));
        assert!(is_shown(&[b'x'; 8191]));
        assert!(!is_shown(&[b'x'; 8192]));
        assert_eq!(server_message(b"bad"), "bad");
        assert_eq!(server_message(&[b'x'; 8192]), "None.");
    }
}
