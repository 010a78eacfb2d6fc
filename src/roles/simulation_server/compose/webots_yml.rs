//! A project's `webots.yml` (or `webots.yaml`), read line by line as the original did (it is not
//! parsed as YAML there either): `dockerCompose: theia:<volume>` asks for the browser IDE, and
//! `type: …` lines are forwarded to the web client.

use std::path::Path;

/// The file names looked for, in order; only the first one present is read.
const FILE_NAMES: [&str; 2] = ["webots.yml", "webots.yaml"];

/// Longest accepted IDE volume path.
const MAX_VOLUME_LEN: usize = 255;

/// What a project's `webots.yml` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebotsYml {
    /// The `<volume>` of `dockerCompose: theia:<volume>`: the directory under `/usr/local` in the
    /// Webots container shared with the IDE.
    pub theia_volume: Option<String>,
    /// Frames to send as they are: each `type:` line with its spaces removed and its line end
    /// kept, exactly as the original sent them (`type:demo\n`).
    pub type_frames: Vec<String>,
}

/// Why a `webots.yml` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebotsYmlError {
    #[error("cannot read {0}: {1}")]
    Read(String, String),
    /// The volume becomes part of a bind path in the compose file, so it is confined to a plain
    /// relative path.
    #[error("invalid theia volume in webots.yml: {0:?}")]
    BadVolume(String),
}

/// Reads the project's `webots.yml`, if any; a project without one gets the defaults.
///
/// # Errors
/// [`WebotsYmlError`] for an unreadable file or an unsafe volume.
pub async fn read(project: &Path) -> Result<WebotsYml, WebotsYmlError> {
    for name in FILE_NAMES {
        let path = project.join(name);
        match tokio::fs::read(&path).await {
            Ok(bytes) => return parse(&String::from_utf8_lossy(&bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(WebotsYmlError::Read(name.to_owned(), e.to_string())),
        }
    }
    Ok(WebotsYml::default())
}

/// The original's line rules: a line starting `dockerCompose:` is split at `:`, `theia…` in the
/// second field selects the IDE with the third field as volume; a line whose trimmed text starts
/// `type:` is forwarded. `dockerCompose: competition:…` is not supported and only logged.
///
/// # Errors
/// [`WebotsYmlError::BadVolume`].
pub fn parse(text: &str) -> Result<WebotsYml, WebotsYmlError> {
    let mut yml = WebotsYml::default();
    for line in text.split_inclusive('\n') {
        if line.starts_with("dockerCompose:") {
            let fields: Vec<&str> = line.split(':').collect();
            let kind = fields.get(1).map_or("", |f| f.trim());
            let volume = fields.get(2).map_or("", |f| f.trim());
            if kind.starts_with("theia") {
                yml.theia_volume = Some(check_volume(volume)?);
            } else {
                tracing::warn!(
                    kind,
                    "webots.yml: unsupported dockerCompose kind; using the default services"
                );
            }
        } else if line.trim().starts_with("type:") {
            yml.type_frames.push(line.replace(' ', ""));
        }
    }
    Ok(yml)
}

/// A relative path of plain segments: no `..`, no leading `/` or `-`, no characters that mean
/// something to compose's variable or volume syntax (`$`, `:`).
fn check_volume(volume: &str) -> Result<String, WebotsYmlError> {
    let plain = |segment: &str| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && !segment.starts_with('-')
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    let trimmed = volume.trim_end_matches('/');
    if trimmed.is_empty() || trimmed.len() > MAX_VOLUME_LEN || !trimmed.split('/').all(plain) {
        return Err(WebotsYmlError::BadVolume(volume.to_owned()));
    }
    Ok(volume.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn theia_and_type_lines_as_the_original_reads_them() {
        let yml = parse(
            "publish: true\ndockerCompose:theia:webots-project/controllers/\n  type: demo \nbenchmark: x\ntype:last",
        )
        .unwrap();
        assert_eq!(
            yml.theia_volume.as_deref(),
            Some("webots-project/controllers/")
        );
        assert_eq!(yml.type_frames, ["type:demo\n", "type:last"]);
        assert_eq!(parse("").unwrap(), WebotsYml::default());
        // Only a line that starts with the key counts, as in the original.
        assert_eq!(
            parse(" dockerCompose:theia:v\n").unwrap().theia_volume,
            None
        );
    }

    #[test]
    fn competition_is_ignored_and_unsafe_volumes_are_refused() {
        assert_eq!(
            parse("dockerCompose:competition:v\n").unwrap().theia_volume,
            None
        );
        for bad in ["../etc", "a/../../b", "", "-x", "a$b", "/abs"] {
            let text = format!("dockerCompose:theia:{bad}\n");
            assert!(parse(&text).is_err(), "{bad:?} accepted");
        }
    }
}
