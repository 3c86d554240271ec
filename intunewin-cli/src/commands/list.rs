//! `intunewin list`: the inner entries, decrypted as a stream, nothing written.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use intunewin_core::package::ReadOptions;
use intunewin_core::paths::Finding;
use intunewin_core::verdict;
use serde::Serialize;

use crate::json;
use crate::ui::{self, Bar, hex, safe};

/// Arguments of `intunewin list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// The .intunewin package.
    pub package: PathBuf,
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EntryJson {
    name: String,
    is_directory: bool,
    size: u64,
    compressed_size: u64,
    method: &'static str,
    modified: String,
    crc32: String,
    sha256: String,
}

/// Names longer than this push their row's other columns right instead of widening every row.
const MAX_NAME_WIDTH: usize = 60;

/// Runs `intunewin list`.
pub fn run(args: ListArgs) -> anyhow::Result<ExitCode> {
    let bar = Arc::new(Bar::new(args.json));
    let pkg = super::info::open_package(&args.package)?;
    let report = pkg.list(
        &ReadOptions::default()
            .progress(bar)
            .cancel_flag(crate::cancel_flag()),
    )?;
    super::check::print_findings(&report.warnings, &report.findings);
    let rows: Vec<EntryJson> = report
        .entries
        .iter()
        .map(|e| EntryJson {
            name: e.info.name.clone(),
            is_directory: e.info.is_dir,
            size: e.info.size,
            compressed_size: e.info.compressed_size,
            method: if e.info.method == 8 {
                "deflate"
            } else {
                "stored"
            },
            modified: e.info.time.display(),
            crc32: format!("{:08x}", e.info.crc),
            sha256: hex(&e.sha256),
        })
        .collect();
    if args.json {
        json::print(&rows)?;
        return Ok(verdict_code(&args, &report.findings));
    }
    // The name first, as a reader looks for it; the hash last, where its width hides nothing.
    let names: Vec<String> = rows.iter().map(|r| safe(&r.name)).collect();
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(4, MAX_NAME_WIDTH);
    outln!(
        "{:width$}  {:>12} {:>12} {:>7} {:19} sha256",
        "name",
        "size",
        "compressed",
        "method",
        "modified"
    )?;
    for (r, name) in rows.iter().zip(&names) {
        let sha = if r.is_directory { "-" } else { &r.sha256 };
        outln!(
            "{name:width$}  {:>12} {:>12} {:>7} {:19} {sha}",
            r.size,
            r.compressed_size,
            r.method,
            r.modified
        )?;
    }
    let total: u64 = rows.iter().map(|r| r.size).sum();
    outln!(
        "{}, {}",
        ui::count(rows.len(), "entry", "entries"),
        ui::bytes(total)
    )?;
    Ok(verdict_code(&args, &report.findings))
}

/// Exit 1, with verify's error on stderr, when a finding refuses the package (the listing is
/// shown all the same); else 0.
fn verdict_code(args: &ListArgs, findings: &[Finding]) -> ExitCode {
    match verdict::refusal_error(&args.package, findings) {
        Some(refused) => {
            eprintln!("intunewin: error: {}", safe(&refused.to_string()));
            ExitCode::from(crate::EXIT_INVALID)
        }
        None => ExitCode::SUCCESS,
    }
}
