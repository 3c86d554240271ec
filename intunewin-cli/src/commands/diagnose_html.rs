//! `intunewin diagnose --html FILE`: the diagnosis as one self-contained page (inline CSS and
//! SVG, no script, no network): a header with what was read and the verdicts, then one section
//! per app, failed first, with a timeline of its steps, downloads, errors and retry checks.
//!
//! It renders the very structs `--json` prints (built once by `to_json`), so the page and the
//! JSON never disagree; every string from the logs is HTML-escaped.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use intunewin_core::ime::LocalTime;
use intunewin_core::{Error, Overwrite, write_atomically};

use super::{AppJson, DiagnosisJson, DownloadJson, RetryJson, StepJson, duration};

/// Writes the page for `d` (read from `inputs`) to `path` through a temporary file; an
/// existing file is replaced only with `force`, a read-only one never.
pub(super) fn write(
    path: &Path,
    inputs: &[PathBuf],
    d: &DiagnosisJson,
    force: bool,
) -> anyhow::Result<()> {
    let page = render(inputs, d);
    write_atomically(path, Overwrite::from(force), |file| {
        file.write_all(page.as_bytes())
            .map_err(|e| Error::io("write", path, e))
    })?;
    Ok(())
}

/// `text` safe in HTML text and in quoted attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page.
fn render(inputs: &[PathBuf], d: &DiagnosisJson) -> String {
    let mut apps: Vec<&AppJson> = d.apps.iter().collect();
    apps.sort_by_key(|a| rank(a.verdict));
    let mut h = String::with_capacity(64 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        h,
        "<title>IME diagnosis: {}</title>",
        esc(&summary_line(&apps))
    );
    h.push_str("<style>\n");
    h.push_str(CSS);
    h.push_str("</style>\n</head>\n<body>\n");
    header(&mut h, inputs, d, &apps);
    h.push_str("<main>\n");
    for app in &apps {
        section(&mut h, app);
    }
    h.push_str("</main>\n");
    let _ = writeln!(
        h,
        "<footer>intunewin {} · times are the device's local time as logged (no zone); GRS \
         times are UTC</footer>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION")
    );
    h
}

/// Failed first, then what is still moving, then what the logs leave open, then the rest.
fn rank(verdict: &str) -> u8 {
    match verdict {
        "failed" => 0,
        "in-progress" => 1,
        "unknown" => 2,
        "not-applicable" => 3,
        "succeeded" => 4,
        _ => 5,
    }
}

const VERDICTS: [&str; 5] = [
    "failed",
    "in-progress",
    "unknown",
    "not-applicable",
    "succeeded",
];

fn summary_line(apps: &[&AppJson]) -> String {
    let counts: Vec<String> = VERDICTS
        .iter()
        .map(|v| (v, apps.iter().filter(|a| a.verdict == *v).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(v, n)| format!("{n} {v}"))
        .collect();
    if counts.is_empty() {
        "no Win32 app processing".into()
    } else {
        counts.join(", ")
    }
}

fn header(h: &mut String, inputs: &[PathBuf], d: &DiagnosisJson, apps: &[&AppJson]) {
    h.push_str(
        "<header>\n<h1>Win32 apps on this device, from its IME logs</h1>\n<dl class=\"meta\">\n",
    );
    let inputs: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    dt_dd(h, "Input", &esc(&inputs.join(", ")));
    let range = match (&d.first_record, &d.last_record) {
        (Some(a), Some(b)) => format!("{} to {}", esc(a), esc(b)),
        _ => "no timed record".into(),
    };
    dt_dd(h, "Device time", &range);
    let cut: u64 = d.files.iter().map(|f| f.cut_records).sum();
    let mut read = format!(
        "{} log files, {} records ({} about apps, {} duplicates dropped",
        d.files.len(),
        thousands(d.records),
        thousands(d.used_records),
        thousands(d.duplicates)
    );
    if cut > 0 {
        let _ = write!(read, ", {cut} cut short");
    }
    read.push(')');
    dt_dd(h, "Read", &read);
    if !d.agent_versions.is_empty() {
        dt_dd(h, "IME", &esc(&d.agent_versions.join(", ")));
    }
    if !d.ignored.is_empty() {
        dt_dd(h, "Left out", &esc(&d.ignored.join(", ")));
    }
    h.push_str("</dl>\n<p class=\"counts\">");
    for v in VERDICTS {
        let n = apps.iter().filter(|a| a.verdict == v).count();
        let _ = write!(h, "<span class=\"chip v-{v}\"><b>{n}</b> {v}</span> ");
    }
    h.push_str("</p>\n");
    index(h, apps);
    h.push_str("</header>\n");
}

fn dt_dd(h: &mut String, term: &str, html: &str) {
    let _ = writeln!(h, "<dt>{term}</dt><dd>{html}</dd>");
}

/// One line per app, linking to its section; apps the logs only name in passing are folded
/// into a closed list after the others (their sections stay).
fn index(h: &mut String, apps: &[&AppJson]) {
    if apps.is_empty() {
        h.push_str("<p>No Win32 app processing in these logs.</p>\n");
        return;
    }
    let (named, faceless): (Vec<&AppJson>, Vec<&AppJson>) =
        apps.iter().copied().partition(|a| !a.faceless);
    index_table(h, &named);
    if !faceless.is_empty() {
        let _ = writeln!(
            h,
            "<details class=\"folded\"><summary>{n} more app{s} with neither a name nor a \
             verdict (seen only in passing)</summary>",
            n = faceless.len(),
            s = if faceless.len() == 1 { "" } else { "s" },
        );
        index_table(h, &faceless);
        h.push_str("</details>\n");
    }
}

fn index_table(h: &mut String, apps: &[&AppJson]) {
    h.push_str(
        "<table class=\"index\">\n<tr><th>Verdict</th><th>App</th><th>Phase</th><th>Code</th>\
         <th>When</th><th>Next attempt</th></tr>\n",
    );
    for a in apps {
        let _ = writeln!(
            h,
            "<tr><td><span class=\"badge v-{v}\">{v}</span></td><td><a href=\"#app-{id}\">{name}</a>\
             </td><td>{phase}</td><td>{code}</td><td>{when}</td><td>{next}</td></tr>",
            v = a.verdict,
            id = esc(&a.id),
            name = esc(app_name(a)),
            // The core's verdict phase, as in the text summary.
            phase = a.phase.unwrap_or("-"),
            code = esc(a.code.as_deref().unwrap_or("-")),
            when = esc(a.verdict_at.as_deref().unwrap_or("-")),
            next = next_attempt_cell(&a.retry),
        );
    }
    h.push_str("</table>\n");
}

/// As the summary's NEXT ATTEMPT column: `~` the expected check-in, `≥` not before, to the
/// minute; the basis on hover.
fn next_attempt_cell(r: &RetryJson) -> String {
    let Some(t) = &r.next_attempt else {
        return "-".into();
    };
    let mark = if r.next_attempt_firm { "~" } else { "≥" };
    let minute = t.get(..16).unwrap_or(t);
    match &r.next_attempt_basis {
        Some(basis) => format!(
            "<span title=\"{}\">{mark}{}</span>",
            esc(basis),
            esc(minute)
        ),
        None => format!("{mark}{}", esc(minute)),
    }
}

fn app_name(a: &AppJson) -> &str {
    a.name.as_deref().unwrap_or(&a.id)
}

fn section(h: &mut String, a: &AppJson) {
    let _ = writeln!(
        h,
        "<section class=\"app v-{v}\" id=\"app-{id}\">\n<h2><span class=\"badge v-{v}\">{v}</span> \
         {name} <small>{id}</small></h2>",
        v = a.verdict,
        id = esc(&a.id),
        name = esc(app_name(a)),
    );
    verdict_block(h, a);
    relations(h, a);
    h.push_str("<h3>Timeline</h3>\n");
    h.push_str(&timeline(a));
    downloads(h, &a.downloads);
    errors(h, a);
    retry(h, a);
    policy(h, a);
    steps(h, &a.steps);
    h.push_str("</section>\n");
}

fn verdict_block(h: &mut String, a: &AppJson) {
    h.push_str("<dl class=\"facts\">\n");
    if let Some(intent) = &a.intent {
        dt_dd(h, "Intent", &esc(intent));
    }
    let mut verdict = a.verdict.replace('-', " ");
    if let Some(phase) = a.failed_phase {
        let _ = write!(verdict, " in <b>{phase}</b>");
    }
    if let Some(at) = &a.verdict_at {
        let _ = write!(verdict, " at {}", esc(at));
    }
    if !a.verdict_reason.is_empty() {
        let _ = write!(verdict, " ({})", esc(&a.verdict_reason));
    }
    dt_dd(h, "Verdict", &verdict);
    if let (Some(code), Some(decimal)) = (&a.code, a.code_decimal) {
        let meaning = a
            .code_meaning
            .as_deref()
            .and_then(|m| m.split_once("): "))
            .map_or("", |(_, m)| m);
        let html = format!(
            "<code class=\"err\">{}</code> ({decimal}) {}",
            esc(code),
            esc(meaning)
        );
        dt_dd(h, "Code", &html);
    }
    if let Some(missing) = &a.missing_evidence {
        dt_dd(h, "Missing evidence", &esc(missing));
    }
    if let Some(esp) = &a.esp_phase {
        dt_dd(h, "ESP phase", &esc(esp));
    }
    h.push_str("</dl>\n");
}

fn downloads(h: &mut String, list: &[DownloadJson]) {
    for (n, d) in list.iter().enumerate() {
        let _ = writeln!(h, "<h3>Download {}</h3>\n<dl class=\"facts\">", n + 1);
        let via = match d.via {
            Some("delivery-optimization") => "Delivery Optimization",
            Some("cdn") => "CDN",
            _ => "not logged",
        };
        let mut how = via.to_string();
        if let Some(job) = &d.job_id {
            let _ = write!(how, ", job <code>{}</code>", esc(job));
        }
        dt_dd(h, "Via", &how);
        if d.priority.is_some() || d.timeout_ms.is_some() {
            let mut p = esc(d.priority.as_deref().unwrap_or("priority not logged"));
            if let Some(ms) = d.timeout_ms {
                let kind = match d.background_priority {
                    Some(true) => " (background priority)",
                    Some(false) => " (foreground priority)",
                    None => "",
                };
                let _ = write!(p, "; the IME waits {}{kind}", duration(ms as i64));
            }
            dt_dd(h, "Priority", &p);
        }
        if let Some(total) = d.bytes_total {
            dt_dd(h, "Size", &size(total));
        }
        if let Some(s) = &d.started {
            dt_dd(h, "Started", &esc(s));
        }
        if let Some(t) = &d.timed_out_at {
            let mut text = format!("{} the wait ran out", esc(t));
            if d.running_in_background {
                text += "; <b>still downloading in the background</b>";
            }
            dt_dd(h, "Timed out", &text);
        }
        for r in &d.resumed {
            let done = match (r.bytes_done, d.bytes_total) {
                (Some(done), Some(total)) => format!(
                    " ({} of {}, {:.0} %)",
                    thousands(done),
                    thousands(total),
                    done as f64 * 100.0 / total.max(1) as f64
                ),
                (Some(done), None) => format!(" ({} bytes)", thousands(done)),
                _ => String::new(),
            };
            dt_dd(h, "Resumed", &format!("{}{done}", esc(&r.at)));
        }
        if let Some(f) = &d.finished_at {
            let mut text = esc(f);
            if let Some(ms) = d.duration_ms {
                let _ = write!(text, ", {} after it started", duration(ms));
            }
            if let Some(rate) = d.bytes_per_second {
                let _ = write!(text, " ({}/s on average)", human(rate));
            }
            dt_dd(h, "Finished", &text);
        } else if let Some(done) = d.bytes_done {
            dt_dd(
                h,
                "Transferred",
                &format!("{} bytes (latest progress line)", thousands(done)),
            );
        }
        h.push_str("</dl>\n");
    }
}

fn errors(h: &mut String, a: &AppJson) {
    if a.error_history.is_empty() {
        return;
    }
    h.push_str(
        "<h3>Error history</h3>\n<table class=\"list\">\n<tr><th>First seen</th><th>Last seen</th>\
         <th>Code</th><th>Meaning</th><th>State</th><th>From</th></tr>\n",
    );
    for e in &a.error_history {
        let meaning = e.meaning.split_once("): ").map_or("", |(_, m)| m);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td><code class=\"err\">{}</code> ({})</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            esc(&e.first_seen),
            esc(&e.last_seen),
            esc(&e.code),
            e.code_decimal,
            esc(meaning),
            e.enforcement_state.map_or("-".into(), |s| s.to_string()),
            esc(&e.sources.join("; ")),
        );
    }
    h.push_str("</table>\n");
}

/// The app's dependencies and supersedence ties with each one's verdict, the order the IME
/// evaluated them in, and the failed dependencies that held it back.
fn relations(h: &mut String, a: &AppJson) {
    if a.relations.is_empty() && a.processing_order.is_empty() {
        return;
    }
    h.push_str("<h3>Dependencies and supersedence</h3>\n<table>\n<tr><th>relation</th><th>app</th><th>verdict</th></tr>\n");
    for r in &a.relations {
        let how = match (r.auto_install, r.uninstall) {
            (Some(true), _) => " (installed automatically)",
            (Some(false), _) => " (must be detected)",
            (_, Some(true)) => " (replace: uninstalled)",
            (_, Some(false)) => " (update)",
            _ => "",
        };
        let (class, verdict) = match r.verdict {
            Some(v) => (v, v),
            None => ("unknown", "not in these logs"),
        };
        let _ = writeln!(
            h,
            "<tr><td>{}{how}</td><td>{}</td><td><span class=\"badge v-{class}\">{verdict}</span>{}</td></tr>",
            r.relation.replace('-', " "),
            esc(r.name.as_deref().unwrap_or(&r.app_id)),
            r.code
                .as_deref()
                .map(|c| format!(" {}", esc(c)))
                .unwrap_or_default(),
        );
    }
    h.push_str("</table>\n");
    if let Some(at) = &a.processed_at {
        let _ = writeln!(
            h,
            "<p>Evaluated in this order at {}: {}</p>",
            esc(at),
            a.processing_order
                .iter()
                .map(|id| esc(&order_name(a, id)))
                .collect::<Vec<_>>()
                .join(" &rarr; ")
        );
    }
    for b in &a.blocked_by {
        let _ = writeln!(
            h,
            "<p class=\"blocked\">Not installed because its dependency {} failed{}: the IME \
             holds an app back until its dependencies are installed.</p>",
            esc(b.name.as_deref().unwrap_or(&b.app_id)),
            b.code
                .as_deref()
                .map(|c| format!(" with {}", esc(c)))
                .unwrap_or_default(),
        );
    }
}

/// The name of an app of the processing order, when its relations give it.
fn order_name(a: &AppJson, id: &str) -> String {
    if id == a.id {
        return app_name(a).to_owned();
    }
    a.relations
        .iter()
        .find(|r| r.app_id == id)
        .and_then(|r| r.name.clone())
        .unwrap_or_else(|| id.to_owned())
}

fn retry(h: &mut String, a: &AppJson) {
    let r = &a.retry;
    if r.checked_at.is_none()
        && r.cleared_at.is_none()
        && r.grs_time_utc.is_none()
        && r.next_attempt_basis.is_none()
    {
        return;
    }
    h.push_str("<h3>Retry schedule (GRS)</h3>\n<dl class=\"facts\">\n");
    if let Some(basis) = &r.next_attempt_basis {
        let when = match &r.next_attempt {
            Some(t) if r.next_attempt_firm => format!("about {}", esc(t)),
            Some(t) => format!("not before {}", esc(t)),
            None => "unknown".into(),
        };
        dt_dd(
            h,
            "Next attempt",
            &format!("{when} <small>({})</small>", esc(basis)),
        );
    }
    if let Some(t) = &r.grs_time_utc {
        dt_dd(h, "GRS time (UTC)", &esc(t));
    }
    if let Some(at) = &r.checked_at {
        let state = match r.expired {
            Some(true) => "expired: the app may be enforced",
            Some(false) => "not expired: the IME waits before retrying",
            None => "checked",
        };
        dt_dd(h, "Checked", &format!("{} {state}", esc(at)));
    }
    if let Some(at) = &r.cleared_at {
        dt_dd(
            h,
            "Cleared",
            &format!("{} the next check-in enforces the app again", esc(at)),
        );
    }
    h.push_str("</dl>\n");
}

fn policy(h: &mut String, a: &AppJson) {
    let Some(p) = &a.policy else {
        h.push_str("<p class=\"note\">Policy: not in these logs (no <code>Get policies</code> line lists the app).</p>\n");
        return;
    };
    h.push_str("<details class=\"policy\"><summary>Policy: commands, detection, return codes</summary>\n<dl class=\"facts\">\n");
    let code = |s: &str| format!("<code>{}</code>", esc(s));
    if let Some(v) = p.version {
        dt_dd(h, "Version", &v.to_string());
    }
    for (term, value) in [
        ("Install", &p.install_command),
        ("Uninstall", &p.uninstall_command),
        ("Setup file", &p.setup_file),
    ] {
        if let Some(v) = value {
            dt_dd(h, term, &code(v));
        }
    }
    for rule in &p.detection_rules {
        dt_dd(h, "Detection", &code(rule));
    }
    if let Some(r) = &p.requirements {
        dt_dd(h, "Requirements", &code(r));
    }
    if p.extended_requirements > 0 {
        dt_dd(
            h,
            "Extended requirement rules",
            &p.extended_requirements.to_string(),
        );
    }
    if !p.return_codes.is_empty() {
        let codes: Vec<String> = p
            .return_codes
            .iter()
            .map(|c| {
                format!(
                    "<span class=\"rc rc-{k}\">{} {k}</span>",
                    c.code,
                    k = c.kind
                )
            })
            .collect();
        dt_dd(h, "Return codes", &codes.join(" "));
    }
    if let Some(ex) = &p.install_ex {
        dt_dd(h, "Install behaviour", &code(ex));
    }
    if let Some(prio) = p.do_priority {
        dt_dd(h, "DO priority", &prio.to_string());
    }
    if !p.dependencies.is_empty() {
        dt_dd(
            h,
            "Depends on / supersedes",
            &code(&p.dependencies.join(", ")),
        );
    }
    h.push_str("</dl>\n</details>\n");
}

fn steps(h: &mut String, list: &[StepJson]) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(
        h,
        "<details class=\"steps\"><summary>Steps ({})</summary>\n<table class=\"list\">\n\
         <tr><th>Start</th><th>Phase</th><th>Outcome</th><th>Took</th><th>Detail</th></tr>",
        list.len()
    );
    for s in list {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td><span class=\"o o-{o}\">{o}</span></td><td>{}</td><td>{}</td></tr>",
            esc(&s.start),
            s.phase,
            s.duration_ms.map_or("-".into(), duration),
            esc(&s.detail),
            o = s.outcome,
        );
    }
    h.push_str("</table>\n</details>\n");
}

// ---------------------------------------------------------------------------------------------
// The timeline: one lane per phase (in the order the app went through them), then downloads,
// errors and retry checks, on one linear axis of device time.

/// Width of the lane labels and of the whole chart, in SVG units.
const LABEL: f64 = 190.0;
const WIDTH: f64 = 1000.0;
const LANE: f64 = 22.0;
const AXIS: f64 = 32.0;

/// A mark on the timeline: lane, start and end in ms, CSS class, tooltip.
struct Mark {
    lane: usize,
    from: i64,
    to: i64,
    class: &'static str,
    title: String,
    point: bool,
}

fn timeline(a: &AppJson) -> String {
    let (lanes, marks) = marks(a);
    if marks.is_empty() {
        return "<p class=\"note\">No timed step for this app.</p>\n".into();
    }
    let scale = Scale::new(&marks);
    let height = AXIS + lanes.len() as f64 * LANE + 6.0;
    let mut s = format!(
        "<svg class=\"timeline\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" \
         role=\"img\" aria-label=\"timeline\">\n"
    );
    for (i, lane) in lanes.iter().enumerate() {
        let y = AXIS + i as f64 * LANE;
        let _ = writeln!(
            s,
            "<rect class=\"lane{}\" x=\"0\" y=\"{y}\" width=\"{WIDTH}\" height=\"{LANE}\"/>\
             <text class=\"label\" x=\"6\" y=\"{}\">{}</text>",
            i % 2,
            y + 15.0,
            esc(lane)
        );
    }
    scale.axis(&mut s, height);
    for m in &marks {
        let y = AXIS + m.lane as f64 * LANE;
        let x0 = scale.x(m.from);
        if m.point {
            let _ = writeln!(
                s,
                "<path class=\"{}\" d=\"M{x0:.1} {:.1}l6 7l-6 7l-6 -7z\"><title>{}</title></path>",
                m.class,
                y + 4.0,
                esc(&m.title)
            );
        } else {
            let w = (scale.x(m.to) - x0).max(3.0);
            let _ = writeln!(
                s,
                "<rect class=\"{}\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"14\" \
                 rx=\"2\"><title>{}</title></rect>",
                m.class,
                y + 4.0,
                esc(&m.title)
            );
        }
    }
    s.push_str("</svg>\n");
    s.push_str(LEGEND);
    s
}

/// Width of a break in the axis, and the least width of a stretch of time between breaks.
const BREAK: f64 = 26.0;
const MIN_STRETCH: f64 = 14.0;

/// Device time to x: linear within stretches of activity, with the axis broken (a hatched gap
/// of fixed width) where nothing happened for over 10 minutes and over a quarter of the span,
/// so that a failure a day earlier does not squeeze today's attempt into a few pixels.
struct Scale {
    /// Each stretch: first and last time, x where it starts, pixels per ms.
    stretches: Vec<(i64, i64, f64, f64)>,
    days: bool,
}

impl Scale {
    fn new(marks: &[Mark]) -> Scale {
        // Quiet gaps lie between what marks cover, not between any two times: the inside of
        // a long bar is not quiet.
        let mut covered: Vec<(i64, i64)> =
            marks.iter().map(|m| (m.from, m.to.max(m.from))).collect();
        covered.sort_unstable();
        let lo = covered[0].0;
        let hi = covered.iter().map(|c| c.1).max().unwrap_or(lo);
        let mut spans: Vec<(i64, i64)> = vec![covered[0]];
        for &(from, to) in &covered[1..] {
            let last = spans.len() - 1;
            let gap = from - spans[last].1;
            if gap > 600_000 && gap * 4 > hi - lo {
                spans.push((from, to));
            } else {
                spans[last].1 = spans[last].1.max(to);
            }
        }
        let n = spans.len() as f64;
        let room = WIDTH - LABEL - 12.0 - (n - 1.0) * BREAK - n * MIN_STRETCH;
        let active: i64 = spans.iter().map(|(a, b)| b - a).sum();
        let mut x = LABEL + 6.0;
        let mut stretches = Vec::new();
        for (a, b) in spans {
            let (width, per_ms) = if active == 0 {
                (room / n, 0.0)
            } else {
                let w = (b - a) as f64 * room / active as f64;
                (w, room / active as f64)
            };
            // A lone instant sits in the middle of its least width.
            let x0 = if b == a { x + MIN_STRETCH / 2.0 } else { x };
            stretches.push((a, b, x0, per_ms));
            x += width + MIN_STRETCH + BREAK;
        }
        Scale {
            stretches,
            days: lo.div_euclid(DAY) != hi.div_euclid(DAY),
        }
    }

    fn x(&self, t: i64) -> f64 {
        let s = self
            .stretches
            .iter()
            .rev()
            .find(|s| s.0 <= t)
            .unwrap_or(&self.stretches[0]);
        s.2 + (t.clamp(s.0, s.1) - s.0) as f64 * s.3
    }

    /// Ticks with times along the top (alternating rows so that neighbours never overlap) and
    /// a hatched band for each break.
    fn axis(&self, s: &mut String, height: f64) {
        let mut row = 0;
        for (i, &(a, b, _, _)) in self.stretches.iter().enumerate() {
            let (x0, x1) = (self.x(a), self.x(b));
            let ticks = (((x1 - x0) / 170.0) as i64).max(0) + 1;
            for k in 0..=ticks {
                if k == ticks && (b == a || ticks == 1 && x1 - x0 < 120.0) {
                    break;
                }
                let t = a + (b - a) * k / ticks;
                let px = self.x(t);
                let y = if row % 2 == 0 { 12.0 } else { 25.0 };
                // Near the right edge a centred time would be cut off.
                let anchor = if px > WIDTH - 70.0 { "end" } else { "middle" };
                row += 1;
                let _ = writeln!(
                    s,
                    "<line class=\"tick\" x1=\"{px:.1}\" y1=\"{AXIS}\" x2=\"{px:.1}\" y2=\"{height}\"/>\
                     <text class=\"axis\" x=\"{px:.1}\" y=\"{y}\" text-anchor=\"{anchor}\">{}</text>",
                    clock(t, self.days)
                );
            }
            if let Some(next) = self.stretches.get(i + 1) {
                let gap = duration(next.0 - b);
                let _ = writeln!(
                    s,
                    "<rect class=\"gap\" x=\"{:.1}\" y=\"{AXIS}\" width=\"{BREAK}\" \
                     height=\"{:.1}\"><title>{gap} without an event (axis broken)</title></rect>",
                    self.x(b) + MIN_STRETCH / 2.0,
                    height - AXIS
                );
            }
        }
    }
}

/// The lanes and what goes in them.
fn marks(a: &AppJson) -> (Vec<String>, Vec<Mark>) {
    let mut lanes: Vec<String> = Vec::new();
    let mut marks = Vec::new();
    let lane_of = |name: &str, lanes: &mut Vec<String>| match lanes.iter().position(|l| l == name) {
        Some(i) => i,
        None => {
            lanes.push(name.to_owned());
            lanes.len() - 1
        }
    };
    for st in &a.steps {
        let Some(from) = ms(&st.start) else { continue };
        let to = st.end.as_deref().and_then(ms).unwrap_or(from);
        let took = st.duration_ms.map_or("no end logged".into(), duration);
        marks.push(Mark {
            lane: lane_of(st.phase, &mut lanes),
            from,
            to,
            class: outcome_class(st.outcome),
            title: format!(
                "{}: {} at {} ({took}): {}",
                st.phase, st.outcome, st.start, st.detail
            ),
            point: false,
        });
    }
    for (n, d) in a.downloads.iter().enumerate() {
        download_marks(d, n, lane_of("content download", &mut lanes), &mut marks);
    }
    if !a.error_history.is_empty() {
        let lane = lane_of("errors reported", &mut lanes);
        for e in &a.error_history {
            for at in [&e.first_seen, &e.last_seen] {
                if let Some(t) = ms(at) {
                    marks.push(point(
                        lane,
                        t,
                        "m-error",
                        format!("{} at {at}: {}", e.code, e.meaning),
                    ));
                }
            }
        }
    }
    let r = &a.retry;
    if r.checked_at.is_some() || r.cleared_at.is_some() {
        let lane = lane_of("retry (GRS)", &mut lanes);
        if let Some(t) = r.checked_at.as_deref().and_then(ms) {
            let state = match r.expired {
                Some(true) => "expired",
                Some(false) => "not expired: waiting",
                None => "checked",
            };
            let grs = r.grs_time_utc.as_deref().unwrap_or("none");
            marks.push(point(
                lane,
                t,
                "m-retry",
                format!("GRS {state} (GRS time {grs} UTC)"),
            ));
        }
        if let Some(t) = r.cleared_at.as_deref().and_then(ms) {
            marks.push(point(lane, t, "m-retry", "GRS cleared".into()));
        }
    }
    (lanes, marks)
}

fn point(lane: usize, t: i64, class: &'static str, title: String) -> Mark {
    Mark {
        lane,
        from: t,
        to: t,
        class,
        title,
        point: true,
    }
}

fn download_marks(d: &DownloadJson, n: usize, lane: usize, marks: &mut Vec<Mark>) {
    let start = d.started.as_deref().and_then(ms);
    let end = [d.finished_at.as_deref(), d.timed_out_at.as_deref()]
        .into_iter()
        .chain(d.resumed.iter().map(|r| Some(r.at.as_str())))
        .filter_map(|t| t.and_then(ms))
        .max();
    if let Some(from) = start {
        let state = if d.finished_at.is_some() {
            "finished"
        } else {
            "not finished in these logs"
        };
        let size = d.bytes_total.map(size).unwrap_or_default();
        marks.push(Mark {
            lane,
            from,
            to: end.unwrap_or(from),
            class: if d.finished_at.is_some() {
                "b-dl"
            } else {
                "b-dl-open"
            },
            title: format!("download {}: {} {size}", n + 1, state),
            point: false,
        });
    }
    if let Some(t) = d.timed_out_at.as_deref().and_then(ms) {
        let bg = if d.running_in_background {
            "; still downloading in the background"
        } else {
            ""
        };
        marks.push(point(
            lane,
            t,
            "m-timeout",
            format!("the IME's wait ran out{bg}"),
        ));
    }
    for r in &d.resumed {
        if let Some(t) = ms(&r.at) {
            let done = r
                .bytes_done
                .map(|b| format!(" ({} bytes done)", thousands(b)))
                .unwrap_or_default();
            marks.push(point(
                lane,
                t,
                "m-resume",
                format!("resumed at {}{done}", r.at),
            ));
        }
    }
    if let Some(t) = d.finished_at.as_deref().and_then(ms) {
        marks.push(point(lane, t, "m-done", "download finished".into()));
    }
}

fn outcome_class(outcome: &str) -> &'static str {
    match outcome {
        "succeeded" => "b-ok",
        "failed" => "b-failed",
        "timed-out" => "b-timeout",
        "not-detected" => "b-notdetected",
        "not-applicable" => "b-na",
        _ => "b-started",
    }
}

const DAY: i64 = 86_400_000;
/// Day zero of the axis (`ms` counts from it).
const UNIX_EPOCH: LocalTime = LocalTime {
    year: 1970,
    month: 1,
    day: 1,
    hour: 0,
    minute: 0,
    second: 0,
    nanos: 0,
};

/// Milliseconds since 1970-01-01 of a `YYYY-MM-DD HH:MM:SS.fff` device time (no zone: only
/// differences count).
fn ms(text: &str) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| -> Option<i64> { text.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let frac = num(20..23).unwrap_or(0);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((mo + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * DAY + ((h * 60 + mi) * 60 + s) * 1000 + frac)
}

/// `HH:MM:SS`, with `MM-DD ` before it when the axis spans days.
fn clock(t: i64, with_day: bool) -> String {
    let in_day = t.rem_euclid(DAY) / 1000;
    let hms = format!(
        "{:02}:{:02}:{:02}",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    );
    if !with_day {
        return hms;
    }
    // Back from the axis' milliseconds since 1970-01-01 to a civil date.
    let at = UNIX_EPOCH.plus_seconds(t.div_euclid(1000));
    format!("{:02}-{:02} {hms}", at.month, at.day)
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `411.0 MiB`.
fn human(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// `431,000,128 bytes (411.0 MiB)`.
fn size(n: u64) -> String {
    format!("{} bytes ({})", thousands(n), human(n))
}

const LEGEND: &str = "<p class=\"legend\"><span class=\"sw b-ok\"></span>succeeded \
<span class=\"sw b-failed\"></span>failed <span class=\"sw b-timeout\"></span>timed out \
<span class=\"sw b-started\"></span>started, no end logged <span class=\"sw b-notdetected\"></span>not \
detected <span class=\"sw b-na\"></span>not applicable <span class=\"sw b-dl\"></span>download \
<span class=\"sw m-error\"></span>error reported <span class=\"sw m-timeout\"></span>wait ran out \
<span class=\"sw m-resume\"></span>resumed <span class=\"sw m-done\"></span>download finished \
<span class=\"sw m-retry\"></span>retry check · hover a mark for its details</p>\n";

const CSS: &str = "\
:root{--failed:#c62828;--in-progress:#1565c0;--unknown:#ef6c00;--not-applicable:#757575;\
--succeeded:#2e7d32;--ink:#1f2328;--muted:#57606a;--line:#d0d7de}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);\
background:#f6f8fa}
header{background:#24292f;color:#fff;padding:18px 28px}
header h1{margin:0 0 8px;font-size:22px}
header a{color:#9ecbff}
main{padding:8px 28px 28px}
footer{padding:12px 28px;color:var(--muted);font-size:12px}
dl.meta,dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
header dt{color:#c9d1d9}
.counts{margin:12px 0}
.chip{display:inline-block;padding:3px 10px;border-radius:12px;margin-right:6px;color:#fff;\
background:var(--muted)}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;\
font-weight:600;vertical-align:middle;background:var(--muted)}
.v-failed{--v:var(--failed)}.v-in-progress{--v:var(--in-progress)}.v-unknown{--v:var(--unknown)}\
.v-not-applicable{--v:var(--not-applicable)}.v-succeeded{--v:var(--succeeded)}
.chip,.badge{background:var(--v)}
.blocked{color:var(--failed);font-weight:600}
table.index{border-collapse:collapse;background:#fff;color:var(--ink);width:100%;margin-top:8px}
table.index td,table.index th{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left}
table.index a{color:#0969da}
table.index td:nth-child(n+3){white-space:nowrap}
section.app{background:#fff;border:1px solid var(--line);border-left:6px solid var(--v);\
border-radius:6px;margin:18px 0;padding:12px 18px}
section.app h2{margin:4px 0 8px;font-size:18px}
section.app h2 small{color:var(--muted);font-weight:400;font-size:12px}
h3{font-size:14px;margin:14px 0 4px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
code{font:12px ui-monospace,SFMono-Regular,Consolas,monospace;background:#eff1f3;padding:1px 4px;\
border-radius:4px;overflow-wrap:anywhere}
code.err{color:var(--failed);font-weight:700}
table.list{border-collapse:collapse;width:100%;font-size:13px}
table.list td,table.list th{padding:3px 6px;border-bottom:1px solid var(--line);text-align:left;\
vertical-align:top}
details{margin:10px 0}
summary{cursor:pointer;font-weight:600}
.note{color:var(--muted)}
svg.timeline{display:block;max-width:1200px;border:1px solid var(--line);border-radius:4px}
.lane0{fill:#fff}.lane1{fill:#f3f5f7}
.label{font-size:12px;fill:var(--ink)}
.axis{font-size:11px;fill:var(--muted)}
.tick{stroke:var(--line);stroke-width:1}
.gap{fill:#e6e9ec;stroke:#fff;stroke-width:3;stroke-dasharray:4 3}
.b-ok{fill:#2da44e;background:#2da44e}.b-failed{fill:#cf222e;background:#cf222e}
.b-timeout{fill:#fb8500;background:#fb8500}.b-started{fill:#54aeff;background:#54aeff}
.b-notdetected{fill:#8c959f;background:#8c959f}.b-na{fill:#d0d7de;background:#d0d7de}
.b-dl{fill:#8250df;background:#8250df;opacity:.8}.b-dl-open{fill:#c297ff;background:#c297ff}
.m-error{fill:#cf222e;background:#cf222e;stroke:#fff}.m-timeout{fill:#fb8500;background:#fb8500;stroke:#000}
.m-resume{fill:#0969da;background:#0969da;stroke:#fff}.m-done{fill:#1a7f37;background:#1a7f37;stroke:#fff}
.m-retry{fill:#6e7781;background:#6e7781;stroke:#fff}
.legend{font-size:12px;color:var(--muted)}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin:0 4px 0 10px;vertical-align:-2px}
.o{font-weight:600}.o-failed{color:var(--failed)}.o-succeeded{color:var(--succeeded)}\
.o-timed-out{color:#b35900}
.rc{display:inline-block;padding:0 6px;margin:0 4px 2px 0;border:1px solid var(--line);border-radius:4px}
.rc-failed{border-color:var(--failed)}
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert(\"x\" & 'y')</script>"),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
    }

    #[test]
    fn device_times_round_trip() {
        let t = ms("2026-03-24 11:56:01.431").unwrap();
        assert_eq!(clock(t, true), "03-24 11:56:01");
        assert_eq!(
            ms("2026-03-25 00:00:00.000").unwrap() - ms("2026-03-24 23:59:59.999").unwrap(),
            1
        );
        assert_eq!(
            ms("2024-03-01 00:00:00.000").unwrap() - ms("2024-02-28 00:00:00.000").unwrap(),
            2 * DAY
        );
        assert_eq!(ms("not a time"), None);
    }

    /// A failure a day before an hour-long attempt: the axis breaks once, the attempt gets
    /// nearly the whole width, and times keep their order.
    #[test]
    fn axis_breaks_at_long_quiet_gaps() {
        let bar = |from: i64, to: i64| Mark {
            lane: 0,
            from,
            to,
            class: "b-ok",
            title: String::new(),
            point: from == to,
        };
        let hour = 3_600_000;
        let marks = [
            bar(0, 0),
            bar(DAY, DAY + hour),
            bar(DAY + hour / 2, DAY + hour / 2),
        ];
        let scale = Scale::new(&marks);
        assert_eq!(scale.stretches.len(), 2);
        let (x0, x1, x2, x3) = (
            scale.x(0),
            scale.x(DAY),
            scale.x(DAY + hour / 2),
            scale.x(DAY + hour),
        );
        assert!(x0 < x1 && x1 < x2 && x2 < x3);
        assert!(x3 - x1 > 0.9 * (WIDTH - LABEL - 12.0 - BREAK - 2.0 * MIN_STRETCH));
        assert!(x3 <= WIDTH);
        // Quiet for 5 minutes, or inside a long bar: one linear stretch.
        let minute = 60_000;
        let marks = [
            bar(0, 2 * hour),
            bar(hour, hour),
            bar(2 * hour + 5 * minute, 3 * hour),
        ];
        let scale = Scale::new(&marks);
        assert_eq!(scale.stretches.len(), 1);
        let (x0, x1, x3) = (scale.x(0), scale.x(hour), scale.x(3 * hour));
        assert!((3.0 * (x1 - x0) - (x3 - x0)).abs() < 1e-6);
        // A quiet hour in three is a break.
        assert_eq!(
            Scale::new(&[bar(0, hour), bar(2 * hour, 3 * hour)])
                .stretches
                .len(),
            2
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(thousands(431_000_128), "431,000,128");
        assert_eq!(size(431_000_128), "431,000,128 bytes (411.0 MiB)");
        assert_eq!(human(512), "512 B");
    }
}
