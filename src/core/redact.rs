//! Server file paths kept out of what a client sees. Error texts are built from what the server
//! met (a child's output, an OS error, a command line), and those name directories whose layout a
//! public server should not reveal; the log keeps the full text, the client gets this one.

use std::borrow::Cow;
use std::path::Path;

/// What stands where an absolute path was.
pub const HIDDEN_PATH: &str = "<path>";

/// `text` with paths below `base` made relative to it (`<base>/demo/worlds/a.wbt` becomes
/// `demo/worlds/a.wbt`: a client's own project, named as the client knows it), then every other
/// absolute path replaced by [`HIDDEN_PATH`]. URLs (`https://host/a`) are left alone: their
/// slashes follow `:` and `/`, never a word boundary.
pub fn hide_paths<'a>(text: &'a str, base: Option<&Path>) -> Cow<'a, str> {
    let relative = match base.and_then(Path::to_str).filter(|base| !base.is_empty()) {
        Some(base) => {
            let prefix = format!("{}/", base.trim_end_matches('/'));
            if text.contains(&prefix) {
                Cow::Owned(text.replace(&prefix, ""))
            } else {
                Cow::Borrowed(text)
            }
        }
        None => Cow::Borrowed(text),
    };
    match hide_absolute_paths(&relative) {
        Some(hidden) => Cow::Owned(hidden),
        None => relative,
    }
}

/// Characters after which a `/` starts a path: the start of a word or of a quoted value.
fn starts_word(previous: Option<char>) -> bool {
    previous.is_none_or(|c| c.is_whitespace() || "'\"`([{<=,;".contains(c))
}

/// Characters that end a path: a space, a closing quote or bracket, or the `:` of `file:12:`.
fn ends_path(c: char) -> bool {
    c.is_whitespace() || "'\"`)]}>,;:".contains(c)
}

/// `None` when `text` holds no absolute path.
fn hide_absolute_paths(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut previous = None;
    let mut changed = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        let path_len = after.find(ends_path).unwrap_or(after.len());
        let path = &after[..path_len];
        // A path has a name after its `/` (so `a / b` and `//` stay); a final `.` ends the
        // sentence, not the path.
        let path = path.strip_suffix('.').unwrap_or(path);
        if c == '/' && starts_word(previous) && !path.is_empty() && !path.starts_with('/') {
            out.push_str(HIDDEN_PATH);
            changed = true;
            rest = &after[path.len()..];
            previous = Some('/');
            continue;
        }
        out.push(c);
        previous = Some(c);
        rest = after;
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_below_the_base_become_relative_and_others_are_hidden() {
        let base = Path::new("/tmp/gltf-cloud/simulation-1/instances/7");
        let text =
            "fake webots: world /tmp/gltf-cloud/simulation-1/instances/7/demo/worlds/demo.wbt, \
                    port 2001 | cannot open '/usr/local/webots/lib/x.so': no such file";
        assert_eq!(
            hide_paths(text, Some(base)),
            "fake webots: world demo/worlds/demo.wbt, port 2001 | cannot open '<path>': no such file"
        );
    }

    #[test]
    fn urls_ratios_and_lone_slashes_are_not_paths() {
        for text in [
            "Cannot run simulation from blocked repository: https://github.com/u/r/blob/v/worlds/a.wbt",
            "file:///home/u/projects/demo/worlds/demo.wbt is not a world",
            "exit status: 3; 1/2 done; a / b",
            "no start message within 30 s (clientStartTimeoutSeconds)",
        ] {
            assert!(matches!(hide_paths(text, None), Cow::Borrowed(_)), "{text}");
        }
    }

    #[test]
    fn a_path_ends_at_its_sentence_a_line_number_or_a_quote() {
        assert_eq!(
            hide_paths("cannot start /opt/webots/webots.", None),
            "cannot start <path>."
        );
        assert_eq!(
            hide_paths("File \"/srv/x.py\", line 3; /srv/y.py:12: error", None),
            "File \"<path>\", line 3; <path>:12: error"
        );
        assert_eq!(hide_paths("(/a/b) [/c]", None), "(<path>) [<path>]");
    }
}
