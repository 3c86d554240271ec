//! `intunewin check`: predict device-side failures of a source folder or a package
//! (FORMAT.md §12), and the one place findings are printed (shared with `pack`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use intunewin_core::check::{CheckOptions, CheckReport, SERVICE_SIZE_LIMIT, check};
use intunewin_core::package::ReadOptions;
use intunewin_core::paths::{Finding, PathRules};
use serde::Serialize;

use crate::json::{self, FindingJson};
use crate::ui::{self, Bar, safe};

/// Arguments of `intunewin check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// A source folder (before packing) or a .intunewin package.
    pub target: PathBuf,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
    /// Digits of the Intune content version assumed for the device path budget (1–3).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub content_version_digits: u8,
    /// The setup file of a source folder: the rest of the folder is compared with its size.
    #[arg(short, long, value_name = "FILE")]
    pub setup: Option<PathBuf>,
    /// Content size limit in bytes (Graph's maxContentFileSizeInBytes; 30 GB per Microsoft Learn).
    #[arg(long, value_name = "BYTES", default_value_t = SERVICE_SIZE_LIMIT)]
    pub size_limit: u64,
}

/// `check --json` output.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckJson {
    target: String,
    kind: &'static str,
    errors: usize,
    warnings: usize,
    files_checked: usize,
    total_bytes: u64,
    findings: Vec<FindingJson>,
    notes: Vec<String>,
}

/// Runs `intunewin check`: exit 0 without error findings, 1 with some.
pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    if args.setup.is_some() && args.target.is_file() {
        anyhow::bail!(
            "--setup applies to a source folder; a package names its setup file in Detection.xml, {}",
            args.target.display()
        );
    }
    let bar = Arc::new(Bar::new(args.json));
    let read = ReadOptions::default()
        .progress(bar)
        .cancel_flag(crate::cancel_flag());
    let mut options = CheckOptions::new()
        .path_rules(PathRules::new().content_version_digits(args.content_version_digits))
        .size_limit(args.size_limit)
        .read_options(read);
    if let Some(setup) = &args.setup {
        options = options.setup_file(setup);
    }
    let report = check(&args.target, &options)?;
    if args.json {
        json::print(&check_json(&args, &report))?;
    } else {
        print_report(&args, &report)?;
    }
    Ok(if report.errors() > 0 {
        ExitCode::from(crate::EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    })
}

/// One finding on one line: `error: [rule-id] message`, plus the Intune code it would cause
/// and the `intunewin explain` command that tells more (issue 7). Names are made safe.
pub fn finding_line(f: &Finding) -> String {
    let code = f
        .intune_code
        .map(|c| {
            format!(" (would cause 0x{c:08X} on the device — see `intunewin explain 0x{c:08X}`)")
        })
        .unwrap_or_default();
    format!(
        "{}: [{}] {}{code}",
        f.severity,
        f.rule.id(),
        safe(&f.message)
    )
}

/// The warnings and findings of a read (verify, list, extract, decrypt --extract) on stderr,
/// one per line, worded and ranked as `check` shows them.
pub fn print_findings(warnings: &[String], findings: &[Finding]) {
    for w in warnings {
        eprintln!("intunewin: warning: {}", safe(w));
    }
    for f in findings {
        eprintln!("intunewin: {}", finding_line(f));
    }
}

fn print_report(args: &CheckArgs, report: &CheckReport) -> std::io::Result<()> {
    for f in &report.findings {
        outln!("{}", finding_line(f))?;
    }
    for note in &report.notes {
        outln!("note: {}", safe(note))?;
    }
    outln!(
        "{}: {}, {}, {} checked ({})",
        safe(&args.target.display().to_string()),
        plural(report.errors(), "error"),
        plural(report.warnings(), "warning"),
        plural(report.files, "file"),
        ui::size(report.total_bytes)
    )
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn check_json(args: &CheckArgs, report: &CheckReport) -> CheckJson {
    CheckJson {
        target: args.target.display().to_string(),
        kind: report.kind.id(),
        errors: report.errors(),
        warnings: report.warnings(),
        files_checked: report.files,
        total_bytes: report.total_bytes,
        findings: report.findings.iter().map(FindingJson::from).collect(),
        notes: report.notes.clone(),
    }
}
