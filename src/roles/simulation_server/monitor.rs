//! `GET /monitor`: one self-contained HTML page (no external scripts or stylesheets) with the
//! machine, the current load, the simulations, the repository rules, and a graph of the last ten
//! minutes drawn as inline SVG. The page is complete as served; its inline script then polls
//! `GET /monitor.json` ([`json`]) every second and redraws the graph and the figures, so the graph
//! moves without reloading the page.

use std::fmt::Write;
use std::time::SystemTime;

use serde_json::{json as json_value, Value};

use super::load::Snapshot;
use super::state::AppState;
use crate::core::html::{escape, LIVE_CHART_JS};
use crate::protocol::webots::pyfloat;

/// Graph size in SVG user units.
const GRAPH_WIDTH: f64 = 600.0;
const GRAPH_HEIGHT: f64 = 200.0;

/// The series drawn, with their colours.
const SERIES: [(&str, &str); 5] = [
    ("load", "#000000"),
    ("CPU", "#d62728"),
    ("memory", "#1f77b4"),
    ("GPU compute", "#2ca02c"),
    ("GPU memory", "#9467bd"),
];

/// Renders the page.
pub fn render(state: &AppState) -> String {
    let config = &state.config;
    let title = config
        .title
        .clone()
        .unwrap_or_else(|| "Webots simulation server".to_owned());
    let load = state.load.current();
    let series = state.load.series();
    let mut page = String::with_capacity(16 * 1024);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
         <title>{title}</title><style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 8px;text-align:left}}\
         table{{border-collapse:collapse}}tr:nth-child(even){{background:#f0f0f0}}</style></head><body>\n<h1>{title}</h1>\n",
        title = escape(&title)
    );
    if let Some(description) = &config.description {
        let _ = writeln!(page, "<p>{}</p>", escape(description));
    }
    let _ = writeln!(
        page,
        "<h2>Current load: <span id=\"load\" style=\"color:{}\">{}%</span></h2>",
        colour(load),
        pyfloat::format((load * 10.0).round() / 10.0)
    );
    let last = series.last().map(|(s, _)| *s);
    page.push_str("<table>\n");
    if let Some(machine) = state.machine() {
        row(
            &mut page,
            "Host",
            &format!("{} ({})", machine.host_name, machine.os),
        );
        row(
            &mut page,
            "CPU",
            &format!(
                "{} ({} cores, {} threads){}",
                machine.cpu_model,
                machine.physical_cores,
                machine.logical_cpus,
                last.map(|s| format!(": {:.1}%", s.sample.cpu_percent))
                    .unwrap_or_default()
            ),
        );
        let gpu = match &machine.gpu {
            Some(gpu) => format!(
                "{} ({:.1} GB){}",
                gpu.name,
                gigabytes(gpu.memory_total_bytes),
                last.and_then(|s| s.sample.gpu)
                    .map(|g| format!(
                        ": compute {:.0}%, memory {:.0}%",
                        g.compute_percent, g.memory_used_percent
                    ))
                    .unwrap_or_default()
            ),
            None => "none (no NVIDIA driver library)".to_owned(),
        };
        row(&mut page, "GPU", &gpu);
        row(
            &mut page,
            "RAM",
            &format!(
                "{:.1} GB{}",
                gigabytes(machine.memory_total_bytes),
                last.map(|s| format!(": {:.1}% used", s.sample.memory_percent))
                    .unwrap_or_default()
            ),
        );
        row(
            &mut page,
            "Swap",
            &format!(
                "{:.1} GB{}",
                gigabytes(machine.swap_total_bytes),
                last.map(|s| format!(": {:.1}% used", s.sample.swap_percent))
                    .unwrap_or_default()
            ),
        );
    }
    if config.docker != super::compose::DockerMode::Compose {
        let webots = state.webots_version.map_or_else(
            || "release not known".to_owned(),
            |version| format!("{version} (scene streamed as {})", version.scene_format()),
        );
        row(&mut page, "Webots", &webots);
    }
    let (running, idle) = state.sessions.counts();
    let _ = writeln!(
        page,
        "<tr><th>Simulations</th><td id=\"simulations\">{running} running, {idle} idle</td></tr>"
    );
    let _ = writeln!(
        page,
        "<tr><th>Waiting line</th><td id=\"line\">{}</td></tr>",
        line_summary(state)
    );
    let _ = writeln!(
        page,
        "<tr><th>Sockets awaiting start</th><td id=\"awaiting-start\">{}</td></tr>",
        awaiting_start(state)
    );
    row(
        &mut page,
        "Share idle time",
        &format!("{}%", config.share_idle_time),
    );
    row(
        &mut page,
        "Started",
        &format!("{} s ago", since(state.started)),
    );
    page.push_str("</table>\n");

    // compose hook: a containers column in compose mode.
    let compose = config.docker == super::compose::DockerMode::Compose;
    let containers_heading = if compose { "<th>containers</th>" } else { "" };
    let _ = writeln!(page, "<h2>Simulations</h2>\n<table><tr><th>#</th><th>world</th><th>port</th><th>state</th><th>for</th>{containers_heading}</tr>");
    for (id, session) in state.sessions.list() {
        let containers = if compose {
            format!("<td>{}</td>", escape(&session.containers.join(", ")))
        } else {
            String::new()
        };
        let _ = writeln!(
            page,
            "<tr><td>{id}</td><td>{}</td><td>{}</td><td>{}</td><td>{} s</td>{containers}</tr>",
            escape(&session.url),
            session.port,
            session.state.label(),
            since(session.since)
        );
    }
    page.push_str("</table>\n");
    waiting_line(&mut page, state);
    repositories(
        &mut page,
        "Allowed repositories",
        config.allowed_repositories.as_deref().unwrap_or(&[]),
    );
    repositories(
        &mut page,
        "Blocked repositories",
        &config.blocked_repositories,
    );
    page.push_str("<h2>Last 10 minutes</h2>\n");
    graph(&mut page, &series);
    let _ = writeln!(page, "<script>{LIVE_CHART_JS}\n{LIVE}</script>");
    page.push_str("</body></html>\n");
    page
}

/// The page's own part of the script: the graph's series and the figures above it. The colours
/// and the order are [`SERIES`]'s.
const LIVE: &str = r##"const colours = ["#000000", "#d62728", "#1f77b4", "#2ca02c", "#9467bd"];
gcPoll("monitor.json", 1000, (m) => {
  const load = document.getElementById("load");
  load.textContent = m.load + "%";
  load.style.color = m.loadColour;
  gcText("simulations", m.running + " running, " + m.idle + " idle");
  gcText("awaiting-start", m.awaitingStartText);
  gcText("line", m.lineText);
  const lines = m.series.map((values, i) => ({ values, color: colours[i], slots: m.slots }));
  gcLines(document.getElementById("load-graph"), lines, 100);
});"##;

/// `GET /monitor.json`: the figures the page redraws, the graph's history as one array per series
/// (percent, oldest first) in [`SERIES`]' order.
pub fn json(state: &AppState) -> Value {
    let load = state.load.current();
    let history = state.load.series();
    let series: Vec<Vec<f64>> = (0..SERIES.len())
        .map(|index| history.iter().map(|entry| value(index, entry)).collect())
        .collect();
    let (running, idle) = state.sessions.counts();
    json_value!({
        "load": pyfloat::format((load * 10.0).round() / 10.0),
        "loadColour": colour(load),
        "running": running,
        "idle": idle,
        "awaitingStart": state.arrivals.count(),
        "line": state.line.len(),
        "lineMax": state.line.max_length(),
        "lineText": line_summary(state),
        "waiting": state.line.list().iter().map(|client| json_value!({
            "id": client.id,
            "url": client.url,
            "waitingSeconds": since(client.since),
        })).collect::<Vec<_>>(),
        "awaitingStartText": awaiting_start(state),
        "slots": super::load::HISTORY_SNAPSHOTS,
        "names": SERIES.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        "series": series,
    })
}

/// How many clients wait for a simulator, against the line's length.
fn line_summary(state: &AppState) -> String {
    if state.line.max_length() == 0 {
        return "off (maxQueueLength 0)".to_owned();
    }
    format!(
        "{} waiting (at most {})",
        state.line.len(),
        state.line.max_length()
    )
}

/// The clients in line, head first, while there are any.
fn waiting_line(page: &mut String, state: &AppState) {
    let waiting = state.line.list();
    if waiting.is_empty() {
        return;
    }
    let _ = writeln!(
        page,
        "<h2>Waiting for a simulator</h2>\n<table><tr><th>place</th><th>#</th><th>world</th><th>waiting for</th></tr>"
    );
    for (index, client) in waiting.iter().enumerate() {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} s</td></tr>",
            index + 1,
            client.id,
            escape(&client.url),
            since(client.since)
        );
    }
    page.push_str("</table>\n");
}

/// `/client` sockets open without a start message, against their cap: a flood of silent sockets
/// shows here, not among the simulations.
fn awaiting_start(state: &AppState) -> String {
    format!(
        "{} (at most {})",
        state.arrivals.count(),
        state.arrivals.capacity()
    )
}

/// The `index`th of [`SERIES`] in one snapshot, in percent.
fn value(index: usize, (snapshot, load): &(Snapshot, f64)) -> f64 {
    let gpu = snapshot.sample.gpu.unwrap_or_default();
    match index {
        0 => *load,
        1 => snapshot.sample.cpu_percent,
        2 => snapshot.sample.memory_percent,
        3 => gpu.compute_percent,
        _ => gpu.memory_used_percent,
    }
}

fn row(page: &mut String, name: &str, value: &str) {
    let _ = writeln!(
        page,
        "<tr><th>{}</th><td>{}</td></tr>",
        escape(name),
        escape(value)
    );
}

fn repositories(page: &mut String, heading: &str, list: &[String]) {
    let _ = writeln!(page, "<h2>{heading}</h2>\n<ul>");
    if list.is_empty() {
        page.push_str("<li>none</li>\n");
    }
    for repository in list {
        let _ = writeln!(page, "<li>{}</li>", escape(repository));
    }
    page.push_str("</ul>\n");
}

/// An inline SVG line chart of the history, 0–100 % on the vertical axis.
#[allow(clippy::cast_precision_loss)] // at most 600 points
fn graph(page: &mut String, series: &[(Snapshot, f64)]) {
    let _ = writeln!(
        page,
        "<svg id=\"load-graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{GRAPH_WIDTH}\" height=\"{GRAPH_HEIGHT}\" \
         viewBox=\"0 0 {GRAPH_WIDTH} {GRAPH_HEIGHT}\" style=\"border:1px solid #ccc\">"
    );
    for percent in [25.0, 50.0, 75.0] {
        let y = GRAPH_HEIGHT * (1.0 - percent / 100.0);
        let _ = writeln!(
            page,
            "<line x1=\"0\" y1=\"{y}\" x2=\"{GRAPH_WIDTH}\" y2=\"{y}\" stroke=\"#eee\"/>"
        );
    }
    let slots = super::load::HISTORY_SNAPSHOTS as f64;
    let offset = slots - series.len() as f64;
    for (index, (name, colour)) in SERIES.iter().enumerate() {
        let points: Vec<String> = series
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let value = value(index, entry);
                let x = GRAPH_WIDTH * (offset + i as f64) / slots;
                let y = GRAPH_HEIGHT * (1.0 - value.clamp(0.0, 100.0) / 100.0);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = writeln!(
            page,
            "<polyline class=\"series\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"><title>{name}</title></polyline>",
            points.join(" ")
        );
    }
    page.push_str("</svg>\n<p>");
    for (name, colour) in SERIES {
        let _ = write!(
            page,
            "<span style=\"color:{colour}\">&#9632; {name}</span> "
        );
    }
    page.push_str("</p>\n");
}

/// Green below 50 %, orange below 80 %, red above: the original's green→red scale, in 3 steps.
fn colour(percent: f64) -> &'static str {
    if percent < 50.0 {
        "#2ca02c"
    } else if percent < 80.0 {
        "#ff7f0e"
    } else {
        "#d62728"
    }
}

#[allow(clippy::cast_precision_loss)] // display only
fn gigabytes(bytes: u64) -> f64 {
    bytes as f64 / 1e9
}

fn since(start: SystemTime) -> u64 {
    start.elapsed().map_or(0, |d| d.as_secs())
}
