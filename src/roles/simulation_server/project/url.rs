//! GitHub start URLs (`https://github.com/<user>/<repo>/(blob|tree)/<version>/<folder…>/worlds/<file>.wbt`)
//! with the original's error messages, and the checks every client-given name passes before it
//! reaches the file system or `git`.

use std::path::PathBuf;

use super::SetupError;
use crate::core::quote::quote;

/// The only host the NEW server accepts start URLs for.
pub const GITHUB_PREFIX: &str = "https://github.com/";

/// A world in a GitHub repository: `https://github.com/<user>/<repo>/(blob|tree)/<version>/<folder…>/worlds/<file>.wbt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubWorld {
    pub user: String,
    pub repo: String,
    /// A branch or tag: one path segment, as in the original.
    pub version: String,
    /// The project folder inside the repository, `/`-separated; `None` for the repository root.
    pub folder: Option<String>,
    /// The world file name, ending in `.wbt`.
    pub world: String,
}

impl GithubWorld {
    /// Parses and validates a start URL.
    ///
    /// # Errors
    /// The original's URL errors, then [`SetupError::InvalidPart`] for unsafe names.
    pub fn parse(url: &str) -> Result<Self, SetupError> {
        let rest = url
            .strip_prefix(GITHUB_PREFIX)
            .ok_or(SetupError::WrongUrl)?;
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() < 6 {
            return Err(SetupError::WrongUrl);
        }
        if parts[2] != "blob" && parts[2] != "tree" {
            return Err(SetupError::MissingBlob(parts[2].to_owned()));
        }
        let n = parts.len();
        if parts[n - 2] != "worlds" {
            return Err(SetupError::MissingWorlds);
        }
        let world = parts[n - 1];
        if !world.ends_with(".wbt") || world.len() == ".wbt".len() {
            return Err(SetupError::MissingWorldFile);
        }
        let folder_parts = &parts[4..n - 2];
        let checked = GithubWorld {
            user: check_name("user", parts[0], is_user_char, 39)?,
            repo: check_name("repository", parts[1], is_name_char, 100)?,
            version: check_name("version", parts[3], is_name_char, 255)?,
            folder: if folder_parts.is_empty() {
                None
            } else {
                for part in folder_parts {
                    check_name("folder", part, is_name_char, 255)?;
                }
                Some(folder_parts.join("/"))
            },
            world: check_name("world file", world, is_name_char, 255)?,
        };
        if checked.version.ends_with(".lock") || checked.repo.ends_with(".git") {
            return Err(SetupError::InvalidPart {
                part: "version",
                value: checked.version,
            });
        }
        Ok(checked)
    }
}

fn is_user_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

pub(super) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+')
}

/// One path segment or name: non-empty, bounded, from `allowed`, not starting with `-` or `.`
/// (which rules out `.`, `..`, hidden files and options).
pub(super) fn check_name(
    part: &'static str,
    value: &str,
    allowed: fn(char) -> bool,
    max_len: usize,
) -> Result<String, SetupError> {
    let valid = !value.is_empty()
        && value.len() <= max_len
        && !value.starts_with('-')
        && !value.starts_with('.')
        && value.chars().all(allowed);
    if valid {
        Ok(value.to_owned())
    } else {
        Err(SetupError::InvalidPart {
            part,
            value: quote(value),
        })
    }
}

/// A relative path of checked segments (`controllers/<c>/<file>`, `init` project names).
pub(super) fn check_relative(part: &'static str, value: &str) -> Result<PathBuf, SetupError> {
    let mut path = PathBuf::new();
    for segment in value.split('/') {
        path.push(check_name(part, segment, is_name_char, 255)?);
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn github_urls_parse_into_their_parts() {
        let w = GithubWorld::parse(
            "https://github.com/cyberbotics/webots/blob/R2023b/projects/languages/python/worlds/example.wbt",
        )
        .unwrap();
        assert_eq!(w.user, "cyberbotics");
        assert_eq!(w.repo, "webots");
        assert_eq!(w.version, "R2023b");
        assert_eq!(w.folder.as_deref(), Some("projects/languages/python"));
        assert_eq!(w.world, "example.wbt");
        let root = GithubWorld::parse("https://github.com/u/r/tree/main/worlds/w.wbt").unwrap();
        assert_eq!(root.folder, None);
    }

    #[test]
    fn original_url_errors_keep_their_text() {
        let err = |url: &str| GithubWorld::parse(url).unwrap_err().to_string();
        assert_eq!(
            err("webots://github.com/u/r/tag/v/worlds/w.wbt"),
            "Wrong Webots simulation URL"
        );
        assert_eq!(
            err("https://github.com/u/r/blob/v"),
            "Wrong Webots simulation URL"
        );
        assert_eq!(
            err("https://github.com/u/r/raw/v/p/worlds/w.wbt"),
            "Missing blob in Webots simulation URL, founds raw"
        );
        assert_eq!(
            err("https://github.com/u/r/blob/v/p/world/w.wbt"),
            "Missing worlds folder in Webots simulation URL"
        );
        assert_eq!(
            err("https://github.com/u/r/blob/v/p/worlds/w.txt"),
            "Missing world file in Webots simulation URL"
        );
    }

    #[test]
    fn unsafe_names_are_refused() {
        for url in [
            "https://github.com/u/r/blob/--upload-pack=touch%20x/p/worlds/w.wbt",
            "https://github.com/u/r/blob/-b/p/worlds/w.wbt",
            "https://github.com/-u/r/blob/v/p/worlds/w.wbt",
            "https://github.com/u/r/blob/v/../../etc/worlds/w.wbt",
            "https://github.com/u/r/blob/v/p//q/worlds/w.wbt",
            "https://github.com/u/../blob/v/p/worlds/w.wbt",
            "https://github.com/u/r/blob/v/.git/worlds/w.wbt",
            "https://github.com/u/r/blob/v/p/worlds/-w.wbt",
            "https://github.com/u/r/blob/v/p q/worlds/w.wbt",
            "https://github.com/u/r/blob/v/p/worlds/w.wbt?x=1.wbt",
        ] {
            assert!(
                matches!(GithubWorld::parse(url), Err(SetupError::InvalidPart { .. })),
                "{url}: {:?}",
                GithubWorld::parse(url)
            );
        }
    }
}
