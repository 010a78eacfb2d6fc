//! Which Webots release runs a simulation, and what its command line calls the web scene format.
//!
//! Webots R2025a renamed the format X3D to W3D (its change log: "Change the name of the web scene
//! format from `X3D` to `W3D`", cyberbotics/webots#6280). From then on `--stream=w3d` streams the
//! scene and `--stream=x3d` is an invalid value that makes Webots exit; before, it was the other
//! way round. Plain `--stream` streams the scene in every release since R2022b, which is what a
//! launch uses when the release is not known. Checked against the sources, see
//! docs/simulation-server.md ("Webots versions").

use std::path::Path;

/// A Webots release, `R<year><letter>` (`R2025a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WebotsVersion {
    year: u16,
    release: char,
}

/// The first release whose command line calls the web scene format `w3d`.
const FIRST_W3D: WebotsVersion = WebotsVersion {
    year: 2025,
    release: 'a',
};

/// Where a Webots install keeps its version: the first line, e.g. `R2023b` (the packaging lists
/// `resources/version.txt` among the files of every Linux and macOS install).
const VERSION_FILE: &str = "resources/version.txt";

impl WebotsVersion {
    /// Reads `R2025a`, and the first word of `R2023b revision 1` or `R2025a-rc1`; `None` for
    /// anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let word = text.split_whitespace().next()?;
        let rest = word.strip_prefix('R')?;
        let year = rest.get(..4)?.parse().ok()?;
        let release = rest.get(4..)?.chars().next()?;
        let tail = rest.get(5..)?;
        let known_tail = tail.is_empty() || tail.starts_with(['-', '.', '_']);
        (release.is_ascii_lowercase() && known_tail).then_some(Self { year, release })
    }

    /// The name of the web scene streaming mode on this release's command line.
    pub fn scene_format(self) -> &'static str {
        if self >= FIRST_W3D {
            "w3d"
        } else {
            "x3d"
        }
    }
}

/// In config files: the release as Webots writes it, `"R2025a"`.
impl<'de> serde::Deserialize<'de> for WebotsVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("{text:?} is not a Webots release like \"R2025a\""))
        })
    }
}

impl serde::Serialize for WebotsVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl std::fmt::Display for WebotsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "R{}{}", self.year, self.release)
    }
}

/// The version of the Webots installed in `webots_home`, from its `resources/version.txt`.
pub async fn installed(webots_home: &Path) -> Option<WebotsVersion> {
    let text = tokio::fs::read_to_string(webots_home.join(VERSION_FILE))
        .await
        .ok()?;
    WebotsVersion::parse(text.lines().next()?)
}

/// The second word of a world file's first line (`#VRML_SIM R2023b utf8` → `R2023b`): the
/// release that saved the world, which webots.cloud's containers run it with.
pub async fn world_header(world: &Path) -> Option<String> {
    let text = tokio::fs::read(world).await.ok()?;
    let first = text.split(|b| *b == b'\n').next()?;
    let first = String::from_utf8_lossy(first);
    first.split_whitespace().nth(1).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_from_r2025a_on_call_the_scene_w3d() {
        for (text, format) in [
            ("R2022b", "x3d"),
            ("R2023b revision 1", "x3d"),
            ("R2024b", "x3d"),
            ("R2025a", "w3d"),
            ("R2025b-rc1", "w3d"),
            ("R2026a\n", "w3d"),
        ] {
            let version = WebotsVersion::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(version.scene_format(), format, "{text}");
        }
        assert_eq!(
            WebotsVersion::parse("R2025a")
                .map(|v| v.to_string())
                .as_deref(),
            Some("R2025a")
        );
    }

    #[test]
    fn anything_else_is_no_version() {
        for text in [
            "", "2025a", "R25a", "R2025", "R2025A", "R2025ab", "Rabcda", "webots",
        ] {
            assert_eq!(WebotsVersion::parse(text), None, "{text}");
        }
    }
}
