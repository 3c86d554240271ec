//! `intunewin diagnose`: why a Win32 app did or did not install on a device, from its IME
//! logs. The reading and the verdicts are the core's (`ime::diagnose`); this only renders.
//! Exit 0 when no app failed, 1 when one did, 2 when the input cannot be read.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Args;
use intunewin_core::ime::{
    AppStory, Diagnosis, Download, LocalTime, LogSet, LogSetError, Phase, Redactor, RelationKind,
    Verdict, Via, diagnose, explain,
};
use serde::Serialize;

use crate::args::JsonArgs;
use crate::json;
use crate::ui::safe;

/// Arguments of `intunewin diagnose`.
#[derive(Args, Debug)]
#[command(mut_arg("json", |a| a.help("Print JSON on stdout (schema in the README)")))]
#[command(after_help = "\
Reads IntuneManagementExtension.log, AppWorkload.log, AppActionProcessor.log and AgentExecutor.log \
with their rotations (Name-YYYYMMDD-HHMMSS.log), as a folder (a copy of \
C:\\ProgramData\\Microsoft\\IntuneManagementExtension\\Logs), single files, or the zip of Intune's \
\"Collect diagnostics\" (read in place). Times are the device's local time.

Exit status: 0 no app failed, 1 an app failed, 2 the input could not be read (or the --html \
page not written).")]
pub struct DiagnoseArgs {
    /// Log folders, log files or Collect-diagnostics zips.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Tell one app's whole story (its id, or its name in any case).
    #[arg(long, value_name = "ID|NAME")]
    pub app: Option<String>,
    /// Replace user names, UPNs, device names, SIDs, profile folders and the user, device and
    /// tenant object ids with tokens (user-1, device-1, sid-1, ...) so the output can be shared.
    #[arg(long)]
    pub redact: bool,
    #[command(flatten)]
    pub format: JsonArgs,
    /// Also write the diagnosis as one self-contained HTML page (a timeline per app).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Replace the --html file if it exists.
    #[arg(long, requires = "html")]
    pub force: bool,
    /// List every app in the summary, also those seen without a name or a verdict.
    #[arg(long)]
    pub all: bool,
}

#[path = "diagnose_html.rs"]
mod html;

/// Runs `intunewin diagnose`.
pub fn run(args: DiagnoseArgs) -> anyhow::Result<ExitCode> {
    let exit2 = |error: anyhow::Error| crate::ExitWith {
        code: crate::EXIT_ERROR,
        error,
    };
    let unreadable = |e: LogSetError| exit2(crate::UnreadableLogs::from(e).into());
    let set = LogSet::from_paths(&args.paths).map_err(unreadable)?;
    // With --redact, one read both diagnoses and learns the identifiers of every record.
    let diagnosis = if args.redact {
        Redactor::new().diagnose(&set)
    } else {
        diagnose(&set)
    }
    .map_err(unreadable)?;
    if diagnosis.records == 0 {
        let names: Vec<_> = diagnosis.files.iter().map(|f| f.display.as_str()).collect();
        let error = crate::UnreadableLogs {
            path: (args.paths.len() == 1).then(|| args.paths[0].clone()),
            error: anyhow!("no CMTrace log record, {}", safe(&names.join(", "))),
        };
        return Err(exit2(error.into()).into());
    }
    let apps: Vec<&AppStory> = match &args.app {
        Some(wanted) => match diagnosis.find_app(wanted) {
            Some(app) => vec![app],
            None => {
                return Err(exit2(anyhow!(
                    "no app '{}' in the logs ({} apps seen; run without --app for the list)",
                    safe(wanted),
                    diagnosis.apps.len()
                ))
                .into());
            }
        },
        None => diagnosis.apps.iter().collect(),
    };
    if let Some(page) = &args.html {
        html::write(
            page,
            &args.paths,
            &to_json(&diagnosis, &apps, true),
            args.force,
        )?;
    }
    if args.format.json {
        json::print(&to_json(&diagnosis, &apps, args.app.is_some()))?;
    } else if args.app.is_some() {
        print_header(&diagnosis)?;
        for app in &apps {
            print_story(&diagnosis, app)?;
        }
    } else {
        print_header(&diagnosis)?;
        print_summary(&diagnosis, &apps, args.all)?;
    }
    let failed = apps
        .iter()
        .any(|a| matches!(a.verdict, Verdict::Failed { .. }));
    Ok(ExitCode::from(if failed {
        crate::EXIT_INVALID
    } else {
        crate::EXIT_OK
    }))
}

fn print_header(d: &Diagnosis) -> std::io::Result<()> {
    let cut: u64 = d.files.iter().map(|f| f.stats.cut).sum();
    let garbage: u64 = d.files.iter().map(|f| f.stats.skipped_bytes).sum();
    let mut line = format!(
        "{} read, {} records ({} about apps, {} duplicates dropped",
        crate::ui::count(d.files.len(), "log file", "log files"),
        d.records,
        d.used,
        d.duplicates
    );
    if cut > 0 {
        line += &format!(", {cut} cut short");
    }
    if garbage > 0 {
        line += &format!(", {garbage} bytes between records skipped");
    }
    line.push(')');
    if let Some((first, last)) = d.span {
        line += &format!(", {first} to {last} device time");
    }
    if !d.agent_versions.is_empty() {
        line += &format!(", IME {}", d.agent_versions.join(", "));
    }
    outln!("{line}")?;
    for ignored in &d.ignored {
        outln!(
            "note: left out {} ({})",
            safe(&ignored.display),
            ignored.reason
        )?;
    }
    Ok(())
}

fn print_summary(d: &Diagnosis, apps: &[&AppStory], all: bool) -> std::io::Result<()> {
    if apps.is_empty() {
        outln!("no Win32 app processing in these logs")?;
        return Ok(());
    }
    outln!(
        "{:<15} {:<24} {:<11} {:<23} {:<18} APP",
        "VERDICT",
        "PHASE",
        "CODE",
        "WHEN",
        "NEXT ATTEMPT"
    )?;
    let (shown, folded): (Vec<&AppStory>, Vec<&AppStory>) =
        apps.iter().copied().partition(|a| all || !a.is_faceless());
    for app in shown {
        let phase = app.verdict_phase().map_or("-", Phase::id);
        let code = match &app.verdict {
            Verdict::Failed { code, .. } => code.map(|c| format!("0x{c:08X}")),
            _ => None,
        };
        let when = app
            .verdict_at
            .map_or_else(|| "-".to_string(), |t| t.to_string());
        outln!(
            "{:<15} {:<24} {:<11} {:<23} {:<18} {}",
            app.verdict.id(),
            phase,
            code.as_deref().unwrap_or("-"),
            when,
            next_attempt_cell(app),
            app_label(app)
        )?;
    }
    if !folded.is_empty() {
        outln!(
            "... and {} with neither a name nor a verdict (no policy, detection, download, install \
             or status line names them in the logs read; --all lists them)",
            crate::ui::count(folded.len(), "more app", "more apps")
        )?;
    }
    let related: Vec<&&AppStory> = apps
        .iter()
        .filter(|a| a.relations.iter().any(|r| parent_side(r.kind)))
        .collect();
    if !related.is_empty() {
        outln!()?;
        outln!("dependencies and supersedence:")?;
        for app in related {
            outln!("  {}", app_label(app))?;
            print_relations(d, app, "    ")?;
        }
    }
    Ok(())
}

/// `~2026-03-24 12:54` (the expected check-in), `>=2026-03-25 09:53` (not before), or `-`.
fn next_attempt_cell(app: &AppStory) -> String {
    match app.retry.next_attempt {
        Some(t) => {
            let mark = if app.retry.next_attempt_firm {
                "~"
            } else {
                ">="
            };
            let text = t.to_string();
            format!("{mark}{}", &text[..text.len().min(16)])
        }
        None => "-".into(),
    }
}

/// Whether the relation is seen from the parent (dependent or superseding) app.
fn parent_side(kind: RelationKind) -> bool {
    matches!(
        kind,
        RelationKind::DependsOn { .. } | RelationKind::Supersedes { .. }
    )
}

/// How a relation reads: `depends on (auto-install)`, `superseded by (replace)`, ...
fn relation_text(kind: RelationKind) -> &'static str {
    match kind {
        RelationKind::DependsOn { auto_install: true } => "depends on (installed automatically)",
        RelationKind::DependsOn {
            auto_install: false,
        } => "depends on (must be detected)",
        RelationKind::RequiredBy { auto_install: true } => "is needed by (installed for it)",
        RelationKind::RequiredBy {
            auto_install: false,
        } => "is needed by (detected for it)",
        RelationKind::Supersedes { uninstall: true } => "supersedes (replaces it: uninstalled)",
        RelationKind::Supersedes { uninstall: false } => "supersedes (updates it)",
        RelationKind::SupersededBy { uninstall: true } => {
            "is superseded by (replaced: uninstalled)"
        }
        RelationKind::SupersededBy { uninstall: false } => "is superseded by (updated)",
    }
}

/// `name (id)` and verdict of another app of the diagnosis, by id.
fn other_app(d: &Diagnosis, id: &str) -> (String, String) {
    match d.apps.iter().find(|a| a.id == id) {
        Some(a) => (app_label(a), verdict_short(a)),
        None => (id.to_owned(), "not in these logs".into()),
    }
}

/// `failed (installation, 0x80070643)`, `succeeded`, ...
fn verdict_short(app: &AppStory) -> String {
    match &app.verdict {
        Verdict::Failed { phase, code } => match code {
            Some(c) => format!("failed ({}, 0x{c:08X})", phase.id()),
            None => format!("failed ({})", phase.id()),
        },
        other => other.id().to_owned(),
    }
}

/// The app's relations with the verdict of each, the order the IME evaluated them in, and
/// the failed dependencies that held it back.
fn print_relations(d: &Diagnosis, app: &AppStory, indent: &str) -> std::io::Result<()> {
    for r in &app.relations {
        let (label, verdict) = other_app(d, &r.app_id);
        outln!("{indent}{} {label}: {verdict}", relation_text(r.kind))?;
    }
    if let Some(at) = app.processed_at {
        let order: Vec<String> = app
            .processing_order
            .iter()
            .map(|id| match d.apps.iter().find(|a| &a.id == id) {
                Some(a) => a.name.as_deref().map_or_else(|| id.clone(), safe),
                None => id.clone(),
            })
            .collect();
        outln!(
            "{indent}evaluated in this order at {at}: {}",
            order.join(" -> ")
        )?;
    }
    for id in &app.blocked_by {
        let (label, verdict) = other_app(d, id);
        outln!(
            "{indent}not installed because its dependency {label} {verdict}: the IME holds an \
             app back until its dependencies are installed"
        )?;
    }
    Ok(())
}

fn app_label(app: &AppStory) -> String {
    match &app.name {
        Some(name) => format!("{} ({})", safe(name), app.id),
        None => app.id.clone(),
    }
}

/// `0x80070643 (-2147023293): <what the explain table or the Win32 error says>`.
fn code_text(code: u32) -> String {
    let explained = explain(code);
    let meaning = match explained.entry {
        Some(info) => info.message.trim_end_matches('.').to_string(),
        None => match explained.decoded.win32_error {
            Some(w) => format!(
                "{} ({}): {}",
                w.name,
                w.number,
                w.message.trim_end_matches('.')
            ),
            None => "not in the explain table".into(),
        },
    };
    format!("0x{code:08X} ({}): {meaning}", explained.signed)
}

fn duration(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        s if s >= 3600 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{s}.{:03} s", ms % 1000),
    }
}

fn print_story(d: &Diagnosis, app: &AppStory) -> std::io::Result<()> {
    outln!()?;
    outln!("{}", app_label(app))?;
    if let Some(intent) = app.intent {
        outln!("  intent: {}", intent.id())?;
    }
    let verdict = match &app.verdict {
        Verdict::Failed { phase, code } => format!(
            "failed in {}{}",
            phase.label(),
            code.map(|c| format!(" with {}", code_text(c)))
                .unwrap_or_default()
        ),
        Verdict::Unknown { missing } => format!("unknown: {missing}"),
        other => other.id().replace('-', " "),
    };
    let when = app
        .verdict_at
        .map(|t| format!(" ({}; {t})", safe(&app.verdict_reason)))
        .unwrap_or_default();
    outln!("  verdict: {verdict}{when}")?;
    if let Some(esp) = &app.esp_phase {
        outln!("  ESP phase: {}", safe(esp))?;
    }
    print_policy(app)?;
    if !app.relations.is_empty() || app.processed_at.is_some() {
        outln!("  dependencies and supersedence:")?;
        print_relations(d, app, "    ")?;
    }
    if let Some(basis) = &app.retry.next_attempt_basis {
        let when = match app.retry.next_attempt {
            Some(t) if app.retry.next_attempt_firm => format!("about {t}"),
            Some(t) => format!("not before {t}"),
            None => "unknown".into(),
        };
        outln!("  next attempt: {when} ({})", safe(basis))?;
    }
    let story = narrative(app);
    if !story.is_empty() {
        outln!("  story:")?;
        for (at, line) in story {
            outln!("    {at}  {line}")?;
        }
    }
    if !app.phases.is_empty() {
        outln!("  steps:")?;
        for step in &app.phases {
            let took = step
                .duration_ms()
                .map(|ms| format!(", {}", duration(ms)))
                .unwrap_or_default();
            outln!(
                "    {}  {:<24} {:<14} {}{took}",
                step.start,
                step.phase.id(),
                step.outcome.id(),
                safe(&step.detail)
            )?;
        }
    }
    Ok(())
}

fn print_policy(app: &AppStory) -> std::io::Result<()> {
    let Some(p) = &app.policy else {
        outln!("  policy: not in these logs (no `Get policies` line lists the app)")?;
        return Ok(());
    };
    if let Some(cmd) = &p.install_command {
        outln!("  install: {}", safe(cmd))?;
    }
    if let Some(cmd) = &p.uninstall_command {
        outln!("  uninstall: {}", safe(cmd))?;
    }
    for rule in &p.detection_rules {
        outln!("  detection: {}", safe(rule))?;
    }
    if let Some(req) = &p.requirements {
        outln!("  requirements: {}", safe(req))?;
    }
    if p.extended_requirements > 0 {
        outln!("  extended requirement rules: {}", p.extended_requirements)?;
    }
    if !p.return_codes.is_empty() {
        let codes: Vec<String> = p
            .return_codes
            .iter()
            .map(|(c, k)| format!("{c} {k}"))
            .collect();
        outln!("  return codes: {}", codes.join(", "))?;
    }
    Ok(())
}

/// The app's story in sentences, in time order.
fn narrative(app: &AppStory) -> Vec<(LocalTime, String)> {
    let mut lines = Vec::new();
    for e in &app.error_history {
        let state = e
            .enforcement_state
            .map(|s| format!(", enforcement state {s}"))
            .unwrap_or_default();
        lines.push((
            e.first_seen,
            format!(
                "error on record: {}{state} (in the {}; last seen {})",
                code_text(e.code),
                e.sources.join(", the "),
                e.last_seen
            ),
        ));
    }
    for d in &app.downloads {
        download_story(d, &mut lines);
    }
    if let Some(at) = app.retry.checked_at {
        let grs = match &app.retry.grs_time {
            Some(t) => format!("GRS time {} (UTC)", safe(t)),
            None => "no GRS time recorded".into(),
        };
        let state = match app.retry.expired {
            Some(true) => "expired: the app may be enforced",
            Some(false) => "not expired: the IME waits before retrying",
            None => "checked",
        };
        lines.push((at, format!("retry schedule (GRS) {state}; {grs}")));
    }
    if let Some(at) = app.retry.cleared_at {
        lines.push((
            at,
            "GRS cleared: the next check-in enforces the app again".into(),
        ));
    }
    lines.sort_by_key(|(t, _)| *t);
    lines
}

fn download_story(d: &Download, lines: &mut Vec<(LocalTime, String)>) {
    let via = match d.via {
        Some(Via::DeliveryOptimization) => "Delivery Optimization",
        Some(Via::Cdn) => "the CDN",
        None => "an unknown method",
    };
    if let Some(start) = d.started {
        let mut text = format!("download via {via}");
        if let Some(job) = &d.job_id {
            text += &format!(" (job {job})");
        }
        if let Some(total) = d.bytes_total {
            text += &format!(", {} to fetch", crate::ui::bytes(total));
        }
        if let Some(p) = &d.priority {
            text += &format!(", priority {}", safe(p));
        }
        if let Some(ms) = d.timeout_ms {
            let kind = match d.background_priority() {
                Some(true) => " (background priority)",
                Some(false) => " (foreground priority)",
                None => "",
            };
            text += &format!(", the IME waits {}{kind}", duration(ms as i64));
        }
        lines.push((start, text));
    }
    if let Some(at) = d.timed_out_at {
        let mut text = "download not finished within the wait".to_string();
        if let Some(start) = d.started {
            text += &format!(" ({} after it started)", duration(start.millis_until(&at)));
        }
        if d.background {
            text += "; still downloading in the background";
        }
        lines.push((at, text));
    }
    for r in &d.resumed {
        let done = match (r.bytes_done, d.bytes_total) {
            (Some(done), Some(total)) => format!(" ({done} of {total} bytes done)"),
            (Some(done), None) => format!(" ({done} bytes done)"),
            _ => String::new(),
        };
        lines.push((
            r.at,
            format!("download job resumed in the background{done}"),
        ));
    }
    if let Some(at) = d.finished_at {
        let mut text = "download finished".to_string();
        if let Some(ms) = d.duration_ms() {
            text += &format!(", {} after it started", duration(ms));
        }
        if let Some(rate) = d.rate_bytes_per_sec() {
            text += &format!(" ({rate} bytes/s on average)");
        }
        lines.push((at, text));
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DiagnosisJson {
    files: Vec<FileJson>,
    ignored: Vec<String>,
    records: u64,
    used_records: u64,
    duplicates: u64,
    agent_versions: Vec<String>,
    first_record: Option<String>,
    last_record: Option<String>,
    any_failed: bool,
    apps: Vec<AppJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileJson {
    path: String,
    component: &'static str,
    rotation: Option<String>,
    records: u64,
    cut_records: u64,
    skipped_bytes: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppJson {
    id: String,
    name: Option<String>,
    intent: Option<String>,
    verdict: &'static str,
    /// Only named in passing (`AppStory::is_faceless`): the HTML index folds it.
    #[serde(skip)]
    faceless: bool,
    phase: Option<&'static str>,
    failed_phase: Option<&'static str>,
    code: Option<String>,
    code_decimal: Option<i32>,
    code_meaning: Option<String>,
    missing_evidence: Option<String>,
    verdict_at: Option<String>,
    verdict_reason: String,
    esp_phase: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<PolicyJson>,
    error_history: Vec<ErrorJson>,
    downloads: Vec<DownloadJson>,
    retry: RetryJson,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    steps: Vec<StepJson>,
    relations: Vec<RelationJson>,
    processing_order: Vec<String>,
    processed_at: Option<String>,
    blocked_by: Vec<RelationJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RelationJson {
    app_id: String,
    name: Option<String>,
    relation: &'static str,
    auto_install: Option<bool>,
    uninstall: Option<bool>,
    verdict: Option<&'static str>,
    failed_phase: Option<&'static str>,
    code: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicyJson {
    version: Option<i64>,
    install_command: Option<String>,
    uninstall_command: Option<String>,
    setup_file: Option<String>,
    detection_rules: Vec<String>,
    requirements: Option<String>,
    extended_requirements: usize,
    return_codes: Vec<ReturnCodeJson>,
    install_ex: Option<String>,
    do_priority: Option<i64>,
    dependencies: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReturnCodeJson {
    code: i64,
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorJson {
    first_seen: String,
    last_seen: String,
    code: String,
    code_decimal: i32,
    meaning: String,
    enforcement_state: Option<i64>,
    sources: Vec<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DownloadJson {
    job_id: Option<String>,
    via: Option<&'static str>,
    priority: Option<String>,
    timeout_ms: Option<u64>,
    background_priority: Option<bool>,
    started: Option<String>,
    bytes_total: Option<u64>,
    bytes_done: Option<u64>,
    timed_out_at: Option<String>,
    running_in_background: bool,
    resumed: Vec<ResumeJson>,
    finished_at: Option<String>,
    duration_ms: Option<i64>,
    bytes_per_second: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResumeJson {
    at: String,
    bytes_done: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RetryJson {
    grs_time_utc: Option<String>,
    expired: Option<bool>,
    checked_at: Option<String>,
    cleared_at: Option<String>,
    next_attempt: Option<String>,
    next_attempt_firm: bool,
    next_attempt_basis: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StepJson {
    phase: &'static str,
    start: String,
    end: Option<String>,
    duration_ms: Option<i64>,
    outcome: &'static str,
    detail: String,
}

fn time(t: Option<LocalTime>) -> Option<String> {
    t.map(|t| t.to_string())
}

fn to_json(d: &Diagnosis, apps: &[&AppStory], steps: bool) -> DiagnosisJson {
    DiagnosisJson {
        files: d
            .files
            .iter()
            .map(|f| FileJson {
                path: f.display.clone(),
                component: f.component,
                rotation: f.rotation.clone(),
                records: f.stats.records,
                cut_records: f.stats.cut,
                skipped_bytes: f.stats.skipped_bytes,
            })
            .collect(),
        ignored: d.ignored.iter().map(|i| i.display.clone()).collect(),
        records: d.records,
        used_records: d.used,
        duplicates: d.duplicates,
        agent_versions: d.agent_versions.clone(),
        first_record: time(d.span.map(|s| s.0)),
        last_record: time(d.span.map(|s| s.1)),
        any_failed: apps
            .iter()
            .any(|a| matches!(a.verdict, Verdict::Failed { .. })),
        apps: apps.iter().map(|a| app_json(d, a, steps)).collect(),
    }
}

fn app_json(d: &Diagnosis, a: &AppStory, steps: bool) -> AppJson {
    let (failed_phase, code) = match &a.verdict {
        Verdict::Failed { phase, code } => (Some(phase.id()), *code),
        _ => (None, None),
    };
    AppJson {
        id: a.id.clone(),
        name: a.name.clone(),
        intent: a.intent.map(|i| i.id()),
        verdict: a.verdict.id(),
        faceless: a.is_faceless(),
        phase: a.verdict_phase().map(Phase::id),
        failed_phase,
        code: code.map(|c| format!("0x{c:08X}")),
        code_decimal: code.map(|c| explain(c).signed),
        code_meaning: code.map(code_text),
        missing_evidence: match &a.verdict {
            Verdict::Unknown { missing } => Some(missing.clone()),
            _ => None,
        },
        verdict_at: time(a.verdict_at),
        verdict_reason: a.verdict_reason.clone(),
        esp_phase: a.esp_phase.clone(),
        policy: a.policy.as_ref().map(|p| PolicyJson {
            version: p.version,
            install_command: p.install_command.clone(),
            uninstall_command: p.uninstall_command.clone(),
            setup_file: p.setup_file.clone(),
            detection_rules: p.detection_rules.clone(),
            requirements: p.requirements.clone(),
            extended_requirements: p.extended_requirements,
            return_codes: p
                .return_codes
                .iter()
                .map(|(code, kind)| ReturnCodeJson { code: *code, kind })
                .collect(),
            install_ex: p.install_ex.clone(),
            do_priority: p.do_priority,
            dependencies: p.dependencies.clone(),
        }),
        error_history: a
            .error_history
            .iter()
            .map(|e| ErrorJson {
                first_seen: e.first_seen.to_string(),
                last_seen: e.last_seen.to_string(),
                code: format!("0x{:08X}", e.code),
                code_decimal: explain(e.code).signed,
                meaning: code_text(e.code),
                enforcement_state: e.enforcement_state,
                sources: e.sources.clone(),
            })
            .collect(),
        downloads: a.downloads.iter().map(download_json).collect(),
        retry: RetryJson {
            grs_time_utc: a.retry.grs_time.clone(),
            expired: a.retry.expired,
            checked_at: time(a.retry.checked_at),
            cleared_at: time(a.retry.cleared_at),
            next_attempt: time(a.retry.next_attempt),
            next_attempt_firm: a.retry.next_attempt_firm,
            next_attempt_basis: a.retry.next_attempt_basis.clone(),
        },
        steps: if steps {
            a.phases
                .iter()
                .map(|s| StepJson {
                    phase: s.phase.id(),
                    start: s.start.to_string(),
                    end: time(s.end),
                    duration_ms: s.duration_ms(),
                    outcome: s.outcome.id(),
                    detail: s.detail.clone(),
                })
                .collect()
        } else {
            Vec::new()
        },
        relations: a
            .relations
            .iter()
            .map(|r| relation_json(d, &r.app_id, Some(r.kind)))
            .collect(),
        processing_order: a.processing_order.clone(),
        processed_at: time(a.processed_at),
        blocked_by: a
            .blocked_by
            .iter()
            .map(|id| relation_json(d, id, None))
            .collect(),
    }
}

/// Another app as a relation (or a blocking dependency, `kind` `None`) sees it.
fn relation_json(d: &Diagnosis, id: &str, kind: Option<RelationKind>) -> RelationJson {
    let other = d.apps.iter().find(|a| a.id == id);
    let (failed_phase, code) = match other.map(|a| &a.verdict) {
        Some(Verdict::Failed { phase, code }) => (Some(phase.id()), *code),
        _ => (None, None),
    };
    let (auto_install, uninstall) = match kind {
        Some(
            RelationKind::DependsOn { auto_install } | RelationKind::RequiredBy { auto_install },
        ) => (Some(auto_install), None),
        Some(RelationKind::Supersedes { uninstall } | RelationKind::SupersededBy { uninstall }) => {
            (None, Some(uninstall))
        }
        None => (None, None),
    };
    RelationJson {
        app_id: id.to_owned(),
        name: other.and_then(|a| a.name.clone()),
        relation: kind.map_or("depends-on", RelationKind::id),
        auto_install,
        uninstall,
        verdict: other.map(|a| a.verdict.id()),
        failed_phase,
        code: code.map(|c| format!("0x{c:08X}")),
    }
}

fn download_json(d: &Download) -> DownloadJson {
    DownloadJson {
        job_id: d.job_id.clone(),
        via: d.via.map(|v| match v {
            Via::DeliveryOptimization => "delivery-optimization",
            Via::Cdn => "cdn",
        }),
        priority: d.priority.clone(),
        timeout_ms: d.timeout_ms,
        background_priority: d.background_priority(),
        started: time(d.started),
        bytes_total: d.bytes_total,
        bytes_done: d.bytes_done,
        timed_out_at: time(d.timed_out_at),
        running_in_background: d.background,
        resumed: d
            .resumed
            .iter()
            .map(|r| ResumeJson {
                at: r.at.to_string(),
                bytes_done: r.bytes_done,
            })
            .collect(),
        finished_at: time(d.finished_at),
        duration_ms: d.duration_ms(),
        bytes_per_second: d.rate_bytes_per_sec(),
    }
}
