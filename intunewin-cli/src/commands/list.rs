//! `intunewin list`: the inner entries, decrypted as a stream, nothing written.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use intunewin_core::{Finding, ListedEntry, Package, ReadOptions, refusal_error};
use serde::Serialize;

use crate::args::JsonArgs;
use crate::ui::{self, Bar, hex, safe};

/// Arguments of `intunewin list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// The .intunewin package.
    pub package: PathBuf,
    #[command(flatten)]
    pub format: JsonArgs,
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

impl EntryJson {
    fn new(e: &ListedEntry) -> Self {
        EntryJson {
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
        }
    }
}

/// The entries as a JSON array, each row made as it is written: a package of a million entries
/// needs no second copy of them, nor the whole document in memory.
struct Rows<'a>(&'a [ListedEntry]);

impl Serialize for Rows<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(EntryJson::new))
    }
}

/// Names longer than this push their row's other columns right instead of widening every row.
const MAX_NAME_WIDTH: usize = 60;

/// Runs `intunewin list`.
pub fn run(args: ListArgs) -> anyhow::Result<ExitCode> {
    let bar = Arc::new(Bar::new(args.format.json));
    let pkg = Package::open(&args.package)?;
    let report = pkg.list(
        &ReadOptions::default()
            .progress(bar)
            .cancel_flag(crate::cancel_flag()),
    )?;
    super::check::print_findings(&report.warnings, &report.findings);
    if args.format.json {
        print_json(&report.entries)?;
    } else {
        print_table(&report.entries)?;
    }
    Ok(verdict_code(&args, &report.findings))
}

/// The table, name first (as a reader looks for it) and the hash last, written row by row.
fn print_table(entries: &[ListedEntry]) -> anyhow::Result<()> {
    let width = entries
        .iter()
        .map(|e| safe(&e.info.name).chars().count())
        .max()
        .unwrap_or(0)
        .clamp(4, MAX_NAME_WIDTH);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(
        out,
        "{:width$}  {:>12} {:>12} {:>7} {:19} sha256",
        "name", "size", "compressed", "method", "modified"
    )?;
    for e in entries {
        let r = EntryJson::new(e);
        let sha = if r.is_directory { "-" } else { &r.sha256 };
        writeln!(
            out,
            "{:width$}  {:>12} {:>12} {:>7} {:19} {sha}",
            safe(&r.name),
            r.size,
            r.compressed_size,
            r.method,
            r.modified
        )?;
    }
    let total: u64 = entries.iter().map(|e| e.info.size).sum();
    writeln!(
        out,
        "{}, {}",
        ui::count(entries.len(), "entry", "entries"),
        ui::bytes(total)
    )?;
    out.flush()?;
    Ok(())
}

/// Pretty JSON, as `json::print` writes it, streamed to stdout; a closed pipe stays an
/// `io::Error` so that it ends the command quietly.
fn print_json(entries: &[ListedEntry]) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, &Rows(entries)).map_err(|e| {
        match e.io_error_kind() {
            Some(kind) => anyhow::Error::from(std::io::Error::new(kind, e)),
            None => e.into(),
        }
    })?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// Exit 1, with verify's error on stderr, when a finding refuses the package (the listing is
/// shown all the same); else 0.
fn verdict_code(args: &ListArgs, findings: &[Finding]) -> ExitCode {
    match refusal_error(&args.package, findings) {
        Some(refused) => {
            eprintln!("intunewin: error: {}", safe(&refused.to_string()));
            ExitCode::from(crate::EXIT_INVALID)
        }
        None => ExitCode::SUCCESS,
    }
}
