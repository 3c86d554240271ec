//! `intunewin list`: the inner entries, decrypted as a stream, nothing written.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use intunewin_core::package::ReadOptions;
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
    Ok(ExitCode::SUCCESS)
}
