//! `intunewin list`: the inner entries, decrypted as a stream, nothing written.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use intunewin_core::Package;
use intunewin_core::package::ReadOptions;
use serde::Serialize;

use crate::json;
use crate::ui::{Bar, hex, safe};

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

/// Runs `intunewin list`.
pub fn run(args: ListArgs) -> anyhow::Result<ExitCode> {
    let bar = Arc::new(Bar::new(args.json));
    let pkg = Package::open(&args.package)?;
    let entries = pkg.list(
        &ReadOptions::default()
            .progress(bar)
            .cancel_flag(crate::cancel_flag()),
    )?;
    let rows: Vec<EntryJson> = entries
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
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{:>12} {:>12} {:>7} {:19} {:64} name",
        "size",
        "compressed",
        "method",
        "modified",
        "sha256"
    )?;
    for r in &rows {
        let sha = if r.is_directory { "-" } else { &r.sha256 };
        outln!(
            "{:>12} {:>12} {:>7} {:19} {:64} {}",
            r.size,
            r.compressed_size,
            r.method,
            r.modified,
            sha,
            safe(&r.name)
        )?;
    }
    let total: u64 = rows.iter().map(|r| r.size).sum();
    outln!("{} entries, {} bytes", rows.len(), total)?;
    Ok(ExitCode::SUCCESS)
}
