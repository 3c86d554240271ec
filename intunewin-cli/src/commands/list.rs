//! `intunewin list`: the inner entries, decrypted as a stream, nothing written.

use std::io::{Seek, Write};
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
    let mut printer = Printer::new(args.format.json, std::io::stdout().lock());
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
/// the hash last) row by row, or a pretty JSON array. JSON rows wait in a spool (memory, then
/// a temporary file) and reach `out` only once the second read has passed its MAC check, so a
/// listing that fails prints the JSON error alone, never half an array before it.
struct Printer<W: Write> {
    json: bool,
    out: std::io::BufWriter<W>,
    spool: Option<std::io::BufWriter<tempfile::SpooledTempFile>>,
    /// Width of the name column, from the names of the first read.
    width: usize,
    rows: usize,
    /// The write error that stopped the listing (a closed pipe), kept as an `io::Error` so
    /// that it ends the command quietly.
    failed: Option<std::io::Error>,
}

/// JSON rows kept in memory before the spool moves to a temporary file.
const SPOOL_IN_MEMORY: usize = 1 << 20;

impl<W: Write> Printer<W> {
    fn new(json: bool, out: W) -> Self {
        Printer {
            json,
            out: std::io::BufWriter::new(out),
            spool: json
                .then(|| std::io::BufWriter::new(tempfile::SpooledTempFile::new(SPOOL_IN_MEMORY))),
            width: 0,
            rows: 0,
            failed: None,
        }
    }

    /// Where rows go now: the spool for JSON, else `out`.
    fn sink(&mut self) -> &mut dyn Write {
        match &mut self.spool {
            Some(spool) => spool,
            None => &mut self.out,
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
            self.sink(),
            "{:width$}  {:>12} {:>12} {:>7} {:19} sha256",
            "name",
            "size",
            "compressed",
            "method",
            "modified"
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
            self.sink(),
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
        let first = self.rows == 0;
        let out = self.sink();
        out.write_all(if first { b"[\n" } else { b",\n" })?;
        for (i, line) in text.lines().enumerate() {
            if i > 0 {
                out.write_all(b"\n")?;
            }
            write!(out, "  {line}")?;
        }
        Ok(())
    }

    /// The table's total line, or the end of the JSON array and the whole array on `out`.
    fn finish(&mut self, count: usize, total: u64) -> std::io::Result<()> {
        if let Some(spool) = self.spool.take() {
            let mut spool = spool.into_inner().map_err(|e| e.into_error())?;
            spool.seek(std::io::SeekFrom::Start(0))?;
            std::io::copy(&mut spool, &mut self.out)?;
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

impl<W: Write> ListSink for Printer<W> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: usize) -> EntryJson {
        EntryJson {
            name: format!("Files/{n:05}.txt"),
            is_directory: false,
            size: n as u64,
            compressed_size: n as u64,
            method: "deflate",
            modified: "2026-01-01 00:00:00".into(),
            crc32: "00000000".into(),
            sha256: "0".repeat(64),
        }
    }

    /// JSON rows reach the output only when the listing finishes: one that stops after some
    /// rows (a failed MAC check) leaves nothing, one that finishes prints the whole array as
    /// serde_json lays it out — past the spool's memory too (10,000 rows are about 2.5 MB).
    #[test]
    fn json_rows_wait_for_the_end_of_the_listing() {
        let rows: Vec<EntryJson> = (0..10_000).map(row).collect();
        let mut out = Vec::new();
        let mut printer = Printer::new(true, &mut out);
        for r in &rows {
            printer.write_json_row(r).unwrap();
            printer.rows += 1;
        }
        drop(printer);
        assert!(out.is_empty(), "{} bytes before the verdict", out.len());

        let mut printer = Printer::new(true, &mut out);
        for r in &rows {
            printer.write_json_row(r).unwrap();
            printer.rows += 1;
        }
        printer.finish(rows.len(), 0).unwrap();
        drop(printer);
        let expected = serde_json::to_string_pretty(&rows).unwrap() + "\n";
        assert!(expected.len() > SPOOL_IN_MEMORY);
        assert!(out == expected.as_bytes(), "the array differs");
    }

    /// The table streams: rows are on the output before the listing ends.
    #[test]
    fn table_rows_stream() {
        let mut out = Vec::new();
        let mut printer = Printer::new(false, &mut out);
        printer.width = 20;
        printer.write_header().unwrap();
        printer.out.flush().unwrap();
        drop(printer);
        assert!(
            out.starts_with(b"name "),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }
}
