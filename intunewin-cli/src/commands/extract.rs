//! `intunewin extract`: the content into a folder, only after the MAC is verified.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use intunewin_core::{ExtractOptions, Package, ReadOptions};
use serde::Serialize;

use crate::args::{OutputArgs, ReportArgs};
use crate::json::{self, FindingJson};
use crate::ui::{Bar, safe};

/// Arguments of `intunewin extract`.
#[derive(Args, Debug)]
#[command(
    mut_arg("output", |a| a.help(
        "Destination folder (must not exist unless --force) [default: the package name without \
         extension]"
    )),
    mut_arg("force", |a| a.help(
        "Write into an existing destination folder, replacing the files the package contains; \
         files it does not contain are left as they are"
    )),
)]
pub struct ExtractArgs {
    /// The .intunewin package.
    pub package: PathBuf,
    #[command(flatten)]
    pub out: OutputArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractJson {
    package: String,
    destination: String,
    file_count: usize,
    folder_count: usize,
    size: u64,
    elapsed_seconds: f64,
    warnings: Vec<String>,
    findings: Vec<FindingJson>,
}

/// Runs `intunewin extract`.
pub fn run(args: ExtractArgs) -> anyhow::Result<ExitCode> {
    let bar = Arc::new(Bar::new(args.report.silent()));
    let pkg = Package::open(&args.package)?;
    let dest = args.out.output.clone().unwrap_or_else(|| {
        let stem = args
            .package
            .file_stem()
            .map(|s| s.to_os_string())
            .unwrap_or_else(|| "content".into());
        PathBuf::from(stem)
    });
    // Counts are all it prints: no entry is kept, whatever their number.
    let read = ReadOptions::default()
        .progress(bar.clone())
        .cancel_flag(crate::cancel_flag())
        .keep_entries(false);
    let report = pkg.extract(
        &dest,
        &ExtractOptions::default()
            .overwrite(args.out.force)
            .read_options(read),
    )?;
    if !args.report.silent() {
        super::check::print_findings(&report.warnings, &report.findings);
    }
    let (files, size) = (report.file_count, report.total_size);
    let elapsed = bar.elapsed().as_secs_f64();
    if args.report.json {
        json::print(&ExtractJson {
            package: args.package.display().to_string(),
            destination: dest.display().to_string(),
            file_count: files,
            folder_count: report.entry_count - files,
            size,
            elapsed_seconds: elapsed,
            warnings: report.warnings.clone(),
            findings: report.findings.iter().map(FindingJson::from).collect(),
        })?;
    } else if !args.report.quiet {
        outln!(
            "extracted {}, {}, from {} into {} in {elapsed:.2} s",
            crate::ui::count(files, "file", "files"),
            crate::ui::bytes(size),
            args.package.display(),
            safe(&dest.display().to_string())
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
