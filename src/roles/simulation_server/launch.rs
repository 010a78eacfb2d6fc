//! The launch template: the simulator's command line as a list of arguments with placeholders, so
//! the same server runs Webots, Webots under firejail or docker, or another simulator.
//!
//! A template element is either a whole-element placeholder that expands to zero or more
//! arguments (`{renderingOptions}`), or text in which `{webots}`, `{port}`, `{mode}`, `{world}`,
//! `{worldFile}`, `{project}`, `{instance}` and `{stream}` are replaced. Expansion never goes through a shell:
//! each element stays one argument whatever the values contain.

use std::ffi::OsString;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::webots_version::WebotsVersion;
use crate::protocol::webots::client::StreamMode;

/// Which Webots generation the default template and the readiness marker follow (doc §3.5–3.6).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LaunchStyle {
    /// `--port=P --heartbeat=5000 --stream[=mode]`; ready at the first `.` line (R2022b and later).
    #[default]
    New,
    /// `--stream="port=P;monitorActivity[;mode=M]"`; ready at the first line starting `open`.
    Legacy,
}

/// The heartbeat interval asked of Webots, in milliseconds: the NEW server's value.
const HEARTBEAT_MS: u32 = 5000;

/// The placeholder that expands to `--minimize --no-rendering` for scene streaming (MJPEG needs a
/// rendered window) and to nothing otherwise.
const RENDERING_OPTIONS: &str = "{renderingOptions}";

/// The values one launch fills in.
#[derive(Debug, Clone, Copy)]
pub struct LaunchValues<'a> {
    /// The Webots executable (`<webotsHome>/webots`).
    pub webots: &'a Path,
    pub port: u16,
    /// The mode the client asked for, if any.
    pub mode: Option<StreamMode>,
    /// The Webots release launched, when known: it decides the scene format's name.
    pub version: Option<WebotsVersion>,
    pub world: &'a Path,
    pub project: &'a Path,
    pub instance: &'a Path,
    pub style: LaunchStyle,
}

impl LaunchStyle {
    /// The template used when the config gives none: the original's command line for this style.
    pub fn default_template(self) -> Vec<String> {
        let mut template = vec![
            "{webots}".to_owned(),
            "--batch".to_owned(),
            "--mode=pause".to_owned(),
            RENDERING_OPTIONS.to_owned(),
        ];
        if self == LaunchStyle::New {
            template.push("--port={port}".to_owned());
            template.push(format!("--heartbeat={HEARTBEAT_MS}"));
        }
        template.push("{stream}".to_owned());
        template.push("{world}".to_owned());
        template
    }

    /// Whether `line` of the simulator's output says it is ready for streaming clients.
    pub fn is_ready_line(self, line: &str) -> bool {
        match self {
            LaunchStyle::New => line.starts_with('.'),
            LaunchStyle::Legacy => line.starts_with("open"),
        }
    }

    /// The `--stream` argument. As the original, the new form names the mode whenever the client
    /// sent one, in the launched release's words (`x3d` up to R2024b, `w3d` from R2025a); for the
    /// scene with the release unknown it is plain `--stream`, which streams the scene in every
    /// release of this style. The legacy form (R2022a and before, which only know `x3d`) keeps its
    /// literal double quotes, as the original split its command string without a shell and
    /// Webots strips them itself.
    fn stream_argument(
        self,
        port: u16,
        mode: Option<StreamMode>,
        version: Option<WebotsVersion>,
    ) -> String {
        match (self, mode) {
            (LaunchStyle::New, None) => "--stream".to_owned(),
            (LaunchStyle::New, Some(StreamMode::Mjpeg)) => "--stream=mjpeg".to_owned(),
            (LaunchStyle::New, Some(StreamMode::Scene)) => match version {
                Some(version) => format!("--stream={}", version.scene_format()),
                None => "--stream".to_owned(),
            },
            (LaunchStyle::Legacy, None) => format!("--stream=\"port={port};monitorActivity\""),
            (LaunchStyle::Legacy, Some(mode)) => {
                let name = match mode {
                    StreamMode::Scene => "x3d",
                    StreamMode::Mjpeg => "mjpeg",
                };
                format!("--stream=\"port={port};monitorActivity;mode={name}\"")
            }
        }
    }
}

/// What `{mode}` expands to: `mjpeg`, or the scene format's name in the launched release's words,
/// `x3d` when the release is not known (the name up to R2024b).
fn mode_name(mode: Option<StreamMode>, version: Option<WebotsVersion>) -> &'static str {
    match mode {
        Some(StreamMode::Mjpeg) => "mjpeg",
        Some(StreamMode::Scene) | None => version.map_or("x3d", WebotsVersion::scene_format),
    }
}

/// Expands `template` into an argument vector.
pub fn expand(template: &[String], values: &LaunchValues<'_>) -> Vec<OsString> {
    let renders_offscreen = values.mode != Some(StreamMode::Mjpeg);
    let mut argv = Vec::with_capacity(template.len() + 2);
    for element in template {
        if element == RENDERING_OPTIONS {
            if renders_offscreen {
                argv.push("--minimize".into());
                argv.push("--no-rendering".into());
            }
            continue;
        }
        let text = element
            .replace("{webots}", &values.webots.to_string_lossy())
            .replace("{port}", &values.port.to_string())
            .replace("{mode}", mode_name(values.mode, values.version))
            .replace("{world}", &values.world.to_string_lossy())
            .replace(
                "{worldFile}",
                &values
                    .world
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default(),
            )
            .replace("{project}", &values.project.to_string_lossy())
            .replace("{instance}", &values.instance.to_string_lossy())
            .replace(
                "{stream}",
                &values
                    .style
                    .stream_argument(values.port, values.mode, values.version),
            );
        argv.push(text.into());
    }
    argv
}

/// Whether `line` is a heartbeat: the dots Webots prints to say it is alive (`--heartbeat`, or
/// `monitorActivity`), a compose service's prefix (`<id>-webots-1  | `) allowed. They carry no
/// news, so they stay out of the log at the default level: 100 simulators printing one every few
/// seconds filled the default log rotation in about 40 minutes.
pub fn is_heartbeat(line: &str) -> bool {
    let text = line.rsplit_once("| ").map_or(line, |(_, text)| text).trim();
    !text.is_empty() && text.chars().all(|c| c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(style: LaunchStyle, mode: Option<StreamMode>) -> LaunchValues<'static> {
        LaunchValues {
            webots: Path::new("/usr/local/webots/webots"),
            port: 2001,
            mode,
            version: None,
            world: Path::new("/i/1/p/worlds/w.wbt"),
            project: Path::new("/i/1/p"),
            instance: Path::new("/i/1"),
            style,
        }
    }

    fn expanded(style: LaunchStyle, mode: Option<StreamMode>) -> Vec<String> {
        expand(&style.default_template(), &values(style, mode))
            .into_iter()
            .map(|a| a.into_string().unwrap_or_default())
            .collect()
    }

    #[test]
    fn new_default_is_the_original_command_line() {
        assert_eq!(
            expanded(LaunchStyle::New, None),
            [
                "/usr/local/webots/webots",
                "--batch",
                "--mode=pause",
                "--minimize",
                "--no-rendering",
                "--port=2001",
                "--heartbeat=5000",
                "--stream",
                "/i/1/p/worlds/w.wbt"
            ]
        );
        let mjpeg = expanded(LaunchStyle::New, Some(StreamMode::Mjpeg));
        assert!(!mjpeg.contains(&"--minimize".to_owned()));
        assert!(mjpeg.contains(&"--stream=mjpeg".to_owned()));
        // The scene asked for with the release unknown: the form every release accepts.
        let scene = expanded(LaunchStyle::New, Some(StreamMode::Scene));
        assert!(scene.contains(&"--stream".to_owned()));
        assert!(scene.contains(&"--minimize".to_owned()));
    }

    #[test]
    fn the_scene_format_is_named_as_the_launched_release_names_it() {
        let template: Vec<String> = ["{stream}", "--mode-name={mode}", "{renderingOptions}"]
            .map(String::from)
            .to_vec();
        let argv = |mode, version: &str| -> Vec<String> {
            let mut v = values(LaunchStyle::New, mode);
            v.version = WebotsVersion::parse(version);
            expand(&template, &v)
                .into_iter()
                .map(|a| a.into_string().unwrap_or_default())
                .collect()
        };
        let scene = Some(StreamMode::Scene);
        assert_eq!(
            argv(scene, "R2025a"),
            [
                "--stream=w3d",
                "--mode-name=w3d",
                "--minimize",
                "--no-rendering"
            ]
        );
        assert_eq!(
            argv(scene, "R2024b"),
            [
                "--stream=x3d",
                "--mode-name=x3d",
                "--minimize",
                "--no-rendering"
            ]
        );
        assert_eq!(
            argv(None, "R2025a"),
            [
                "--stream",
                "--mode-name=w3d",
                "--minimize",
                "--no-rendering"
            ]
        );
        assert_eq!(
            argv(Some(StreamMode::Mjpeg), "R2025a"),
            ["--stream=mjpeg", "--mode-name=mjpeg"]
        );
        assert_eq!(
            argv(scene, "unknown"),
            [
                "--stream",
                "--mode-name=x3d",
                "--minimize",
                "--no-rendering"
            ]
        );
        // Legacy releases only know x3d.
        let mut legacy = values(LaunchStyle::Legacy, scene);
        legacy.version = WebotsVersion::parse("R2025a");
        assert_eq!(
            expand(&["{stream}".to_owned()], &legacy),
            ["--stream=\"port=2001;monitorActivity;mode=x3d\""]
        );
    }

    #[test]
    fn legacy_default_keeps_the_quoted_stream_option() {
        assert_eq!(
            expanded(LaunchStyle::Legacy, None),
            [
                "/usr/local/webots/webots",
                "--batch",
                "--mode=pause",
                "--minimize",
                "--no-rendering",
                "--stream=\"port=2001;monitorActivity\"",
                "/i/1/p/worlds/w.wbt"
            ]
        );
    }

    #[test]
    fn custom_template_substitutes_inside_elements_and_never_splits() {
        let template: Vec<String> = [
            "firejail",
            "--private={instance}",
            "{webots}",
            "--port={port}",
            "{world}",
            "/project/worlds/{worldFile}",
        ]
        .map(String::from)
        .to_vec();
        let mut v = values(LaunchStyle::New, None);
        let world = Path::new("/i/1/p/worlds/a b;rm -rf.wbt");
        v.world = world;
        let argv = expand(&template, &v);
        assert_eq!(argv.len(), 6);
        assert_eq!(argv[1], "--private=/i/1");
        assert_eq!(argv[4], "/i/1/p/worlds/a b;rm -rf.wbt");
        assert_eq!(argv[5], "/project/worlds/a b;rm -rf.wbt");
    }

    #[test]
    fn readiness_markers() {
        assert!(LaunchStyle::New.is_ready_line("."));
        assert!(is_heartbeat(".") && is_heartbeat(" .. ") && is_heartbeat("abc-webots-1  | ."));
        assert!(!is_heartbeat("") && !is_heartbeat("open") && !is_heartbeat("loading ..."));
        assert!(!LaunchStyle::New.is_ready_line("open"));
        assert!(LaunchStyle::Legacy.is_ready_line("open"));
        assert!(!LaunchStyle::Legacy.is_ready_line("."));
    }
}
