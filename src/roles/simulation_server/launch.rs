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

/// The placeholder that expands to `--minimize --no-rendering` for X3D streaming (MJPEG needs a
/// rendered window) and to nothing otherwise.
const RENDERING_OPTIONS: &str = "{renderingOptions}";

/// The values one launch fills in.
#[derive(Debug, Clone, Copy)]
pub struct LaunchValues<'a> {
    /// The Webots executable (`<webotsHome>/webots`).
    pub webots: &'a Path,
    pub port: u16,
    /// The mode the client asked for, if any.
    pub mode: Option<&'a str>,
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

    /// The `--stream` argument. The legacy form keeps its literal double quotes, as the original
    /// split its command string without a shell and Webots strips them itself.
    fn stream_argument(self, port: u16, mode: Option<&str>) -> String {
        match (self, mode) {
            (LaunchStyle::New, None) => "--stream".to_owned(),
            (LaunchStyle::New, Some(mode)) => format!("--stream={mode}"),
            (LaunchStyle::Legacy, None) => format!("--stream=\"port={port};monitorActivity\""),
            (LaunchStyle::Legacy, Some(mode)) => {
                format!("--stream=\"port={port};monitorActivity;mode={mode}\"")
            }
        }
    }
}

/// Expands `template` into an argument vector.
pub fn expand(template: &[String], values: &LaunchValues<'_>) -> Vec<OsString> {
    let renders_offscreen = values.mode.is_none_or(|mode| mode == "x3d");
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
            .replace("{mode}", values.mode.unwrap_or("x3d"))
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
                &values.style.stream_argument(values.port, values.mode),
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

    fn values(style: LaunchStyle, mode: Option<&'static str>) -> LaunchValues<'static> {
        LaunchValues {
            webots: Path::new("/usr/local/webots/webots"),
            port: 2001,
            mode,
            world: Path::new("/i/1/p/worlds/w.wbt"),
            project: Path::new("/i/1/p"),
            instance: Path::new("/i/1"),
            style,
        }
    }

    fn expanded(style: LaunchStyle, mode: Option<&'static str>) -> Vec<String> {
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
        let mjpeg = expanded(LaunchStyle::New, Some("mjpeg"));
        assert!(!mjpeg.contains(&"--minimize".to_owned()));
        assert!(mjpeg.contains(&"--stream=mjpeg".to_owned()));
        assert!(expanded(LaunchStyle::New, Some("x3d")).contains(&"--stream=x3d".to_owned()));
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
