//! The `/monitor` page (doc §2.6): the original's table of simulation servers with their loads,
//! `N/A` for unreachable ones, over-threshold values in red, and the average of the reachable ones.
//!
//! Unlike the original it loads nothing from other sites (the stylesheet and script are inline),
//! prints the average with one `%`, not the original's `%%`, and stays live without reloading: its
//! inline script polls `GET /monitor.json` ([`json`]) every poll period, replaces the table's rows
//! and draws the loads seen since the page was opened as a graph.

use std::fmt::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json as json_value, Value};

use super::balancer;
use super::config::SimulationServer;
use crate::core::html::{escape, LIVE_CHART_JS};
use crate::protocol::webots::load::{Slots, UNREACHABLE_LOAD};
use crate::protocol::webots::pyfloat;

const STYLE: &str = "body{font-family:sans-serif;margin:2em}\
table{border-collapse:collapse}th,td{border:1px solid #999;padding:.3em .8em}\
th{background:#eee}.full{color:red}";

/// What the page shows.
pub struct Page<'a> {
    pub servers: &'a [SimulationServer],
    pub loads: &'a [f64],
    /// Each server's simulator slots and waiting line, where it says (parallel to `loads`).
    pub slots: &'a [Option<Slots>],
    pub threshold: f64,
    /// `http` or `https`, for the links to each simulation server's own monitor page.
    pub http_scheme: &'a str,
    /// When this server started, already formatted (see [`started_on`]).
    pub started: &'a str,
    pub refresh: Duration,
}

/// Renders the page.
pub fn render(page: &Page<'_>) -> String {
    let count = page.servers.len();
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"/>\
         <title>Webots simulation server</title>\
         <style>{STYLE}</style></head>\n<body><h1>Webots session server</h1>\n\
         <p>Started on {}</p>\n<p>Managing {count} simulation server{}:</p>\
         <table class=\"bordered\"><thead><tr><th>#</th><th>simulation server</th><th>load</th><th>waiting line</th></tr></thead>\n\
         <tbody id=\"servers\">{}</tbody></table>\n\
         <h2>Load since this page was opened</h2>\n\
         <svg id=\"load-graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" height=\"200\" \
         viewBox=\"0 0 600 200\" style=\"border:1px solid #ccc\"></svg>\n\
         <p>0–100 %; black: the average of the reachable servers; colours: each server, as in the table.</p>\n\
         <script>{LIVE_CHART_JS}\nconst PERIOD_MS = {};\n{LIVE}</script>\n</body></html>",
        escape(page.started),
        if count > 1 { "s" } else { "" },
        rows(page),
        page.refresh.as_millis().max(1000),
    );
    html
}

/// The page's own part of the script: the rows as the server renders them, and a history kept by
/// the browser (the session server keeps only the last load of each server).
const LIVE: &str = r##"const colours = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
const SLOTS = 120;
const history = { average: [], servers: [] };
gcPoll("monitor.json", PERIOD_MS, (m) => {
  document.getElementById("servers").innerHTML = m.rows;
  const keep = (list, value) => { list.push(value); if (list.length > SLOTS) list.shift(); };
  keep(history.average, m.average);
  m.loads.forEach((load, i) => keep(history.servers[i] = history.servers[i] || [], load));
  const lines = history.servers.map((values, i) => ({ values, color: colours[i % colours.length], slots: SLOTS }));
  lines.push({ values: history.average, color: "#000000", slots: SLOTS });
  gcLines(document.getElementById("load-graph"), lines, 100);
});"##;

/// The table's rows: one per simulation server, then the average of the reachable ones.
fn rows(page: &Page<'_>) -> String {
    let mut html = String::new();
    for (i, (server, &load)) in page.servers.iter().zip(page.loads).enumerate() {
        let name = escape(&server.url);
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td><a href=\"{}://{name}/monitor\">{name}</a></td><td>{}</td><td>{}</td></tr>",
            i + 1,
            page.http_scheme,
            load_cell(load, page.threshold),
            line_cell(page.slots.get(i).copied().flatten()),
        );
    }
    let average = balancer::average_of_reachable(page.loads).unwrap_or(UNREACHABLE_LOAD);
    let _ = writeln!(
        html,
        "<tr><td></td><td style=\"text-align:right\">average:</td><td><b>{}</b></td><td></td></tr>",
        load_cell(average, page.threshold)
    );
    html
}

/// A server's simulators and line, as its last `/load` said; a dash for servers that do not say
/// (the originals) or did not answer.
fn line_cell(slots: Option<Slots>) -> String {
    match slots {
        None => "–".to_owned(),
        Some(slots) if slots.free > 0 => format!("none, {} simulator(s) free", slots.free),
        Some(slots) => format!("{} waiting, {} place(s) left", slots.waiting, slots.room),
    }
}

/// `GET /monitor.json`: the rows as [`render`] writes them, and the loads (percent; `null` for an
/// unreachable server) for the graph.
pub fn json(page: &Page<'_>) -> Value {
    let reachable = |load: f64| (load != UNREACHABLE_LOAD).then_some(load);
    json_value!({
        "servers": page.servers.iter().map(|s| s.url.as_str()).collect::<Vec<_>>(),
        "loads": page.loads.iter().map(|&l| reachable(l)).collect::<Vec<_>>(),
        "average": balancer::average_of_reachable(page.loads),
        "waiting": page.slots.iter().map(|slots| slots.map(|s| s.waiting)).collect::<Vec<_>>(),
        "rows": rows(page),
    })
}

fn load_cell(load: f64, threshold: f64) -> String {
    let text = if load == UNREACHABLE_LOAD {
        "N/A".to_owned()
    } else {
        format!("{}%", pyfloat::format(load))
    };
    if load >= threshold {
        format!("<span class=\"full\">{text}</span>")
    } else {
        text
    }
}

/// `time` in the original's `%A, %B %d, %Y at %H:%M:%S` form, in UTC (the original uses local
/// time; a server log and page in UTC agree whatever the host's zone).
pub fn started_on(time: SystemTime) -> String {
    const DAYS: [&str; 7] = [
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
    ];
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = seconds / 86_400;
    let of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {} {day:02}, {year} at {:02}:{:02}:{:02} UTC",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Year, month (1–12) and day of the month of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for non-negative counts).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_like_the_original() {
        let time = UNIX_EPOCH + Duration::from_secs(1_795_273_850);
        assert_eq!(
            started_on(time),
            "Saturday, November 21, 2026 at 15:10:50 UTC"
        );
        assert_eq!(
            started_on(UNIX_EPOCH),
            "Thursday, January 01, 1970 at 00:00:00 UTC"
        );
        let leap_day = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(
            started_on(leap_day),
            "Tuesday, February 29, 2000 at 00:00:00 UTC"
        );
    }

    #[test]
    fn table_marks_full_and_unreachable_servers() {
        let servers: Vec<SimulationServer> = ["a:1", "b:2", "<c>:3"]
            .iter()
            .map(|url| SimulationServer {
                url: (*url).to_owned(),
                repositories: Vec::new(),
            })
            .collect();
        let html = render(&Page {
            servers: &servers,
            loads: &[10.0, 1000.0, 96.5],
            slots: &[
                None,
                None,
                Some(Slots {
                    free: 0,
                    waiting: 4,
                    room: 6,
                }),
            ],
            threshold: 95.0,
            http_scheme: "http",
            started: "now",
            refresh: Duration::from_secs(5),
        });
        assert!(html.contains("Managing 3 simulation servers:"), "{html}");
        assert!(
            html.contains("<a href=\"http://a:1/monitor\">a:1</a></td><td>10.0%</td>"),
            "{html}"
        );
        // 1000 is over any threshold, so N/A is red too, as in the original.
        assert!(
            html.contains("<td><span class=\"full\">N/A</span></td>"),
            "{html}"
        );
        assert!(
            html.contains("&lt;c&gt;:3</a></td><td><span class=\"full\">96.5%</span>"),
            "{html}"
        );
        assert!(html.contains("average:</td><td><b>53.25%</b>"), "{html}");
        assert!(
            html.contains("96.5%</span></td><td>4 waiting, 6 place(s) left</td>"),
            "{html}"
        );
        assert!(html.contains("const PERIOD_MS = 5000;"), "{html}");
        assert!(
            !html.contains("<script src") && !html.contains("<link"),
            "{html}"
        );
    }
}
