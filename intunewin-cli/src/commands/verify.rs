//! `intunewin verify`: everything a package promises, checked (FORMAT.md §7).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use intunewin_core::{Error, Package, ReadOptions};
use serde::Serialize;

use crate::args::ReportArgs;
use crate::json::{self, FindingJson};
use crate::ui::{self, Bar};

/// Arguments of `intunewin verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The .intunewin package.
    pub package: PathBuf,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyJson {
    package: String,
    valid: bool,
    /// The failure, shaped as every command's `--json` error.
    error: Option<json::ErrorJson>,
    entry_count: usize,
    file_count: usize,
    unencrypted_content_size: u64,
    warnings: Vec<String>,
    findings: Vec<FindingJson>,
}

/// Runs `intunewin verify`: exit 0 when valid, 1 when not.
pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let bar = Arc::new(Bar::new(args.report.silent()));
    let pkg = match Package::open(&args.package) {
        Ok(p) => p,
        Err(e) if args.report.json && e.is_verification_failure() => {
            return invalid_json(&args, &e);
        }
        Err(e) => return Err(e.into()),
    };
    // Counts are all it prints: no entry is kept, whatever their number.
    let opts = ReadOptions::default()
        .progress(bar.clone())
        .cancel_flag(crate::cancel_flag())
        .keep_entries(false);
    match pkg.verify(&opts) {
        Ok(report) => {
            let files = report.file_count;
            if args.report.json {
                json::print(&VerifyJson {
                    package: args.package.display().to_string(),
                    valid: true,
                    error: None,
                    entry_count: report.entry_count,
                    file_count: files,
                    unencrypted_content_size: pkg.detection().unencrypted_content_size,
                    warnings: report.warnings.clone(),
                    findings: report.findings.iter().map(FindingJson::from).collect(),
                })?;
            } else if !args.report.quiet {
                super::check::print_findings(&report.warnings, &report.findings);
                outln!(
                    "OK: {} ({}, {}; MAC, padding, digest, sizes and CRCs verified in {:.2} s)",
                    args.package.display(),
                    ui::count(files, "file", "files"),
                    ui::count(report.entry_count, "entry", "entries"),
                    bar.elapsed().as_secs_f64()
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.is_verification_failure() && args.report.json => invalid_json(&args, &e),
        Err(e) => Err(e.into()),
    }
}

fn invalid_json(args: &VerifyArgs, e: &Error) -> anyhow::Result<ExitCode> {
    json::print(&VerifyJson {
        package: args.package.display().to_string(),
        valid: false,
        error: Some(json::ErrorReport::core(e).error),
        entry_count: 0,
        file_count: 0,
        unencrypted_content_size: 0,
        warnings: Vec::new(),
        findings: Vec::new(),
    })?;
    Ok(ExitCode::from(crate::EXIT_INVALID))
}
