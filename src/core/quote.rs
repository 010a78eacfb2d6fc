//! Quoting text that came from outside (a client's field, a peer's answer, a child's output) in
//! error and log messages, cut to one bound everywhere so a hostile value of megabytes cannot make
//! a message large.

use super::limits::MAX_QUOTED_CHARS;

/// `text`, or its first [`MAX_QUOTED_CHARS`] characters followed by `…` when it is longer.
pub fn quote(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        assert_eq!(quote("short"), "short");
        let exact = "é".repeat(MAX_QUOTED_CHARS);
        assert_eq!(quote(&exact), exact);
        let long = "é".repeat(MAX_QUOTED_CHARS + 1);
        assert_eq!(quote(&long), format!("{exact}…"));
    }
}
