//! `intunewin check`: predict device-side failures of a source folder or a package
//! (FORMAT.md §12), and the one place findings are printed (shared with `pack`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use intunewin_core::{CheckOptions, CheckReport, Finding, PathRules, ReadOptions, Rule, check};
use serde::Serialize;

use crate::args::JsonArgs;
use crate::json::{self, FindingJson};
use crate::ui::{self, Bar, safe};

/// Arguments of `intunewin check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// A source folder (before packing) or a .intunewin package.
    pub target: PathBuf,
    #[command(flatten)]
    pub format: JsonArgs,
    /// Digits of the Intune content version assumed for the device path budget (1–3).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub content_version_digits: u8,
    /// The setup file of a source folder: the rest of the folder is compared with its size.
    #[arg(short, long, value_name = "FILE")]
    pub setup: Option<PathBuf>,
    /// Content size limit in bytes (Graph's maxContentFileSizeInBytes; 30 GB per Microsoft Learn).
    #[arg(long, value_name = "BYTES", default_value_t = CheckOptions::SERVICE_SIZE_LIMIT)]
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
    let bar = Arc::new(Bar::new(args.format.json));
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
    if args.format.json {
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
/// At most [`SHOWN_PER_RULE`] lines per rule, the rest counted (`--json` and `check` list
/// every one), and lines shortened in the middle past [`SHOWN_MESSAGE_CHARS`] characters, as
/// `check` shows them.
pub fn print_findings(warnings: &[String], findings: &[Finding]) {
    for w in warnings {
        eprintln!("intunewin: warning: {}", safe(w));
    }
    let mut shown: Vec<(Rule, usize)> = Vec::new();
    for f in findings {
        let count = match shown.iter_mut().find(|(rule, _)| *rule == f.rule) {
            Some((_, n)) => n,
            None => {
                shown.push((f.rule, 0));
                &mut shown.last_mut().expect("just pushed").1
            }
        };
        *count += 1;
        if *count <= SHOWN_PER_RULE {
            eprintln!("intunewin: {}", shortened(&finding_line(f)));
        }
    }
    for (rule, n) in shown.iter().filter(|(_, n)| *n > SHOWN_PER_RULE) {
        eprintln!(
            "intunewin: ... and {} more [{}] findings (`--json` or `intunewin check` lists all)",
            n - SHOWN_PER_RULE,
            rule.id()
        );
    }
}

/// Findings shown per rule on a terminal before the rest are only counted.
const SHOWN_PER_RULE: usize = 20;

/// A finding's line is cut in the middle past this many characters (a name can be 4 KB).
const SHOWN_MESSAGE_CHARS: usize = 600;

/// `line`, its middle replaced by the number of characters left out when it is too long.
fn shortened(line: &str) -> String {
    let count = line.chars().count();
    if count <= SHOWN_MESSAGE_CHARS {
        return line.to_owned();
    }
    let keep = SHOWN_MESSAGE_CHARS / 2;
    let head: String = line.chars().take(keep).collect();
    let tail: String = line.chars().skip(count - keep).collect();
    format!("{head}...({} characters)...{tail}", count - 2 * keep)
}

fn print_report(args: &CheckArgs, report: &CheckReport) -> std::io::Result<()> {
    for f in &report.findings {
        outln!("{}", shortened(&finding_line(f)))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_keeps_its_ends_and_says_what_was_left_out() {
        let line = format!(
            "error: [path-too-long] {}/setup.exe (on the device)",
            "d".repeat(3000)
        );
        let short = shortened(&line);
        assert!(short.chars().count() < SHOWN_MESSAGE_CHARS + 40, "{short}");
        assert!(short.starts_with("error: [path-too-long] ddd"), "{short}");
        assert!(short.ends_with("/setup.exe (on the device)"), "{short}");
        let left_out = line.chars().count() - SHOWN_MESSAGE_CHARS;
        assert!(
            short.contains(&format!("...({left_out} characters)...")),
            "{short}"
        );
        assert_eq!(shortened("short"), "short");
    }
}
