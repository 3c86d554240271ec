//! `intunewin list`: the inner entries, decrypted as a stream, nothing written.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use intunewin_core::{
    Finding, ListReport, ListSink, ListedEntry, Package, ReadOptions, refusal_error,
};
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

/// Names longer than this push their row's other columns right instead of widening every row.
const MAX_NAME_WIDTH: usize = 60;

/// Runs `intunewin list`: the first read authenticates the content and sizes the name column,
/// the second streams the rows (whose MAC is checked again), so no entry is kept in memory.
pub fn run(args: ListArgs) -> anyhow::Result<ExitCode> {
    let bar = Arc::new(Bar::new(args.format.json));
    let pkg = Package::open(&args.package)?;
    let opts = ReadOptions::default()
        .progress(bar)
        .cancel_flag(crate::cancel_flag());
    let mut printer = Printer::new(args.format.json);
    let listed = pkg.list_to(&opts, &mut printer);
    // A closed stdout stopped the listing: that is what to report.
    if let Some(e) = printer.failed.take() {
        return Err(e.into());
    }
    let report = listed?;
    printer.finish(report.entry_count, report.total_size)?;
    Ok(verdict_code(&args, &report.findings))
}

/// Writes the listing as it streams: the table (name first, as a reader looks for it, and
/// the hash last) or a pretty JSON array, row by row.
struct Printer {
    json: bool,
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    /// Width of the name column, from the names of the first read.
    width: usize,
    rows: usize,
    /// The write error that stopped the listing (a closed pipe), kept as an `io::Error` so
    /// that it ends the command quietly.
    failed: Option<std::io::Error>,
}

impl Printer {
    fn new(json: bool) -> Self {
        Printer {
            json,
            out: std::io::BufWriter::new(std::io::stdout().lock()),
            width: 0,
            rows: 0,
            failed: None,
        }
    }

    /// Keeps a write error for [`run`] and stops the read.
    fn stop(&mut self, e: std::io::Error) -> intunewin_core::Error {
        self.failed.get_or_insert(e);
        intunewin_core::Error::Cancelled
    }

    fn write_header(&mut self) -> std::io::Result<()> {
        if self.json {
            return Ok(());
        }
        let width = self.width;
        writeln!(
            self.out,
            "{:width$}  {:>12} {:>12} {:>7} {:19} sha256",
            "name", "size", "compressed", "method", "modified"
        )
    }

    fn write_row(&mut self, entry: &ListedEntry) -> std::io::Result<()> {
        let r = EntryJson::new(entry);
        if self.json {
            return self.write_json_row(&r);
        }
        let width = self.width;
        let sha = if r.is_directory { "-" } else { &r.sha256 };
        writeln!(
            self.out,
            "{:width$}  {:>12} {:>12} {:>7} {:19} {sha}",
            safe(&r.name),
            r.size,
            r.compressed_size,
            r.method,
            r.modified
        )
    }

    /// One element of the array, laid out as `serde_json::to_writer_pretty` lays out an array.
    fn write_json_row(&mut self, row: &EntryJson) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(row).map_err(std::io::Error::other)?;
        self.out
            .write_all(if self.rows == 0 { b"[\n" } else { b",\n" })?;
        for (i, line) in text.lines().enumerate() {
            if i > 0 {
                self.out.write_all(b"\n")?;
            }
            write!(self.out, "  {line}")?;
        }
        Ok(())
    }

    /// The table's total line, or the end of the JSON array.
    fn finish(&mut self, count: usize, total: u64) -> std::io::Result<()> {
        if self.json {
            writeln!(self.out, "{}", if self.rows == 0 { "[]" } else { "\n]" })?;
        } else {
            writeln!(
                self.out,
                "{}, {}",
                ui::count(count, "entry", "entries"),
                ui::bytes(total)
            )?;
        }
        self.out.flush()
    }
}

impl ListSink for Printer {
    fn name(&mut self, name: &str) {
        let width = safe(name).chars().count().min(MAX_NAME_WIDTH);
        self.width = self.width.max(width);
    }

    fn report(&mut self, report: &ListReport) -> intunewin_core::Result<()> {
        super::check::print_findings(&report.warnings, &report.findings);
        self.width = self.width.clamp(4, MAX_NAME_WIDTH);
        self.write_header().map_err(|e| self.stop(e))
    }

    fn row(&mut self, entry: &ListedEntry) -> intunewin_core::Result<()> {
        self.write_row(entry).map_err(|e| self.stop(e))?;
        self.rows += 1;
        Ok(())
    }
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
