//! `docker compose up --no-color` output: build and pull progress, container status lines, then
//! the services' own lines prefixed with their container name (`<project>-webots-1  | .`).
//! Lines of the Webots service lose their prefix and then mean exactly what a bare Webots's lines
//! mean (readiness, heartbeats, `pause`/`real-time`), so the session's line handling is shared.

/// The compose service running Webots in the shipped templates (and the original's).
pub const WEBOTS_SERVICE: &str = "webots";

/// One line of `compose up` output, split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// A service's own output: its container name, its service name, and its text.
    Service {
        container: &'a str,
        service: &'a str,
        text: &'a str,
    },
    /// Compose's or the builder's own output.
    Docker(&'a str),
}

/// Splits `line` for the compose project `project`: a service line starts with a container name
/// `<project>-<service>-<n>`, padding, `|` and one space.
pub fn parse<'a>(project: &str, line: &'a str) -> Line<'a> {
    let Some((name, rest)) = line.split_once('|') else {
        return Line::Docker(line);
    };
    let container = name.trim();
    match service_of(project, container) {
        Some(service) => Line::Service {
            container,
            service,
            text: rest.strip_prefix(' ').unwrap_or(rest),
        },
        None => Line::Docker(line),
    }
}

/// The service of a container named `<project>-<service>-<n>`.
fn service_of<'a>(project: &str, container: &'a str) -> Option<&'a str> {
    container
        .strip_prefix(project)?
        .strip_prefix('-')?
        .rsplit_once('-')
        .filter(|(service, n)| {
            !service.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        })
        .map(|(service, _)| service)
}

/// The container a compose status line names (`Container <project>-webots-1  Started`,
/// `Attaching to <project>-webots-1, <project>-theia-1`), for `/monitor`.
pub fn containers_named<'a>(project: &str, line: &'a str) -> Vec<&'a str> {
    line.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|word| service_of(project, word).is_some())
        .collect()
}

/// What a session does with one line of `compose up` output.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Seen<'a> {
    /// A `loading: …` progress frame for the client (before readiness only, as the original).
    pub loading: Option<String>,
    /// The Webots service's text, to be handled as a bare Webots line.
    pub webots: Option<&'a str>,
    /// Containers named by the line.
    pub containers: Vec<&'a str>,
    /// A failure that ends the session, as `loading: Error: <reason>`.
    pub error: Option<String>,
}

/// Reads one project's output.
#[derive(Debug, Clone)]
pub struct Watcher {
    pub project: String,
    /// The Webots version of the world header, for the missing-image message.
    pub version: String,
    /// Whether the project brought no `Dockerfile` (only then is a missing image the default
    /// image's fault).
    pub default_dockerfile: bool,
}

impl Watcher {
    /// Classifies one output line. Before readiness every non-empty line not mentioning the IDE
    /// is relayed as progress, as the original did; a "not found" in the builder's output with
    /// the default Dockerfile means no image exists for the world's Webots version.
    pub fn see<'a>(&self, line: &'a str, ready: bool) -> Seen<'a> {
        let mut seen = Seen::default();
        let parsed = parse(&self.project, line);
        match parsed {
            Line::Service {
                container,
                service,
                text,
            } => {
                seen.containers.push(container);
                if service == WEBOTS_SERVICE {
                    seen.webots = Some(text);
                }
            }
            Line::Docker(text) => seen.containers = containers_named(&self.project, text),
        }
        if !ready && !line.trim().is_empty() && !line.contains("theia") {
            seen.loading = Some(format!("loading: {line}"));
        }
        if !ready
            && self.default_dockerfile
            && matches!(parsed, Line::Docker(_))
            && line.contains("not found")
        {
            seen.error = Some(format!(
                "Image version {} not available on Cyberbotics' dockerHub. Please, add the appropriate Dockerfile to your project.",
                self.version
            ));
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_lines_lose_their_prefix() {
        assert_eq!(
            parse("p-1", "p-1-webots-1  | ."),
            Line::Service {
                container: "p-1-webots-1",
                service: "webots",
                text: "."
            }
        );
        assert_eq!(
            parse("p-1", "p-1-my-ide-12 | a | b"),
            Line::Service {
                container: "p-1-my-ide-12",
                service: "my-ide",
                text: "a | b"
            }
        );
        assert_eq!(
            parse("p-1", "p-2-webots-1 | ."),
            Line::Docker("p-2-webots-1 | .")
        );
        assert_eq!(
            parse("p-1", "Step 1/6 : ARG X"),
            Line::Docker("Step 1/6 : ARG X")
        );
        assert_eq!(
            parse("p-1", "p-1-webots | x"),
            Line::Docker("p-1-webots | x")
        );
    }

    #[test]
    fn status_lines_name_containers() {
        assert_eq!(
            containers_named("p", " Container p-webots-1  Started"),
            ["p-webots-1"]
        );
        assert_eq!(
            containers_named("p", "Attaching to p-theia-1, p-webots-1"),
            ["p-theia-1", "p-webots-1"]
        );
        assert!(containers_named("p", "Network p_default  Created").is_empty());
    }

    fn watcher(default_dockerfile: bool) -> Watcher {
        Watcher {
            project: "p".into(),
            version: "R2023b".into(),
            default_dockerfile,
        }
    }

    #[test]
    fn progress_is_relayed_until_ready_and_theia_never() {
        let w = watcher(true);
        assert_eq!(
            w.see("Step 1/6 : ARG X", false).loading.as_deref(),
            Some("loading: Step 1/6 : ARG X")
        );
        assert_eq!(w.see("p-theia-1 | up", false).loading, None);
        let ready_line = w.see("p-webots-1  | .", false);
        assert_eq!(ready_line.webots, Some("."));
        assert_eq!(ready_line.containers, ["p-webots-1"]);
        let after = w.see("p-webots-1  | pause", true);
        assert_eq!((after.loading, after.webots), (None, Some("pause")));
        assert_eq!(w.see("", false).loading, None);
    }

    #[test]
    fn not_found_blames_the_default_image_only() {
        let line = "manifest for cyberbotics/webots.cloud:R2023b-ubuntu22.04 not found";
        assert_eq!(
            watcher(true).see(line, false).error.as_deref(),
            Some("Image version R2023b not available on Cyberbotics' dockerHub. Please, add the appropriate Dockerfile to your project.")
        );
        assert_eq!(watcher(false).see(line, false).error, None);
        assert_eq!(
            watcher(true)
                .see("p-webots-1 | file not found", false)
                .error,
            None
        );
    }
}
