//! `intunewin diff`: what changed between two packages, decrypting both as streams.
//! Exit 0 when nothing compared differs, 1 when something does, 2 on error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use intunewin_core::{Error, Package, PackageDiff, ReadOptions};
use serde::Serialize;

use crate::args::ReportArgs;
use crate::json;
use crate::ui::{Bar, hex, safe};

/// Arguments of `intunewin diff`.
#[derive(Args, Debug)]
#[command(mut_arg("quiet", |a| a.help("Print nothing; only the exit code tells")))]
pub struct DiffArgs {
    /// The first (older) package.
    pub package_a: PathBuf,
    /// The second (newer) package.
    pub package_b: PathBuf,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DiffJson {
    package_a: String,
    package_b: String,
    identical: bool,
    content_identical: bool,
    added: Vec<EntryJson>,
    removed: Vec<EntryJson>,
    changed: Vec<ChangedJson>,
    unchanged_count: usize,
    metadata: Vec<MetadataJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EntryJson {
    name: String,
    is_dir: bool,
    size: u64,
    sha256: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChangedJson {
    name: String,
    old_size: u64,
    new_size: u64,
    old_sha256: String,
    new_sha256: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MetadataJson {
    field: String,
    old: Option<String>,
    new: Option<String>,
}

/// Runs `intunewin diff`.
pub fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let bar = Arc::new(Bar::new(args.report.silent()));
    let read = ReadOptions::default()
        .progress(bar)
        .cancel_flag(crate::cancel_flag());
    let diff = match compare(&args, &read) {
        Ok(diff) => diff,
        Err(Error::Cancelled) => return Err(Error::Cancelled.into()),
        // Exit 1 means "they differ" here, so every failure, invalid packages included, is 2.
        Err(e) => {
            return Err(crate::ExitWith {
                code: crate::EXIT_ERROR,
                error: e.into(),
            }
            .into());
        }
    };
    if args.report.json {
        json::print(&to_json(&args, &diff))?;
    } else if !args.report.quiet {
        print_text(&diff)?;
    }
    Ok(if diff.is_identical() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::EXIT_INVALID)
    })
}

fn compare(args: &DiffArgs, read: &ReadOptions) -> Result<PackageDiff, Error> {
    let a = Package::open(&args.package_a)?;
    let b = Package::open(&args.package_b)?;
    a.diff(&b, read)
}

fn print_text(diff: &PackageDiff) -> std::io::Result<()> {
    for e in &diff.added {
        outln!("added    {} ({})", safe(&e.name), crate::ui::bytes(e.size))?;
    }
    for e in &diff.removed {
        outln!("removed  {} ({})", safe(&e.name), crate::ui::bytes(e.size))?;
    }
    for c in &diff.changed {
        outln!(
            "changed  {} ({} -> {} bytes)",
            safe(&c.name),
            c.old_size,
            c.new_size
        )?;
    }
    let show = |v: &Option<String>| {
        v.as_deref()
            .map_or("(absent)".into(), |s| format!("'{}'", safe(s)))
    };
    for m in &diff.metadata {
        outln!("metadata {}: {} -> {}", m.field, show(&m.old), show(&m.new))?;
    }
    let verdict = if diff.is_identical() {
        "identical content and metadata"
    } else if diff.content_identical() {
        "identical content, metadata differs"
    } else {
        "content differs"
    };
    outln!(
        "{} added, {} removed, {} changed, {} unchanged: {verdict}",
        diff.added.len(),
        diff.removed.len(),
        diff.changed.len(),
        diff.unchanged
    )
}

fn to_json(args: &DiffArgs, diff: &PackageDiff) -> DiffJson {
    let entry = |e: &intunewin_core::DiffEntry| EntryJson {
        name: e.name.clone(),
        is_dir: e.is_dir,
        size: e.size,
        sha256: hex(&e.sha256),
    };
    DiffJson {
        package_a: args.package_a.display().to_string(),
        package_b: args.package_b.display().to_string(),
        identical: diff.is_identical(),
        content_identical: diff.content_identical(),
        added: diff.added.iter().map(entry).collect(),
        removed: diff.removed.iter().map(entry).collect(),
        changed: diff
            .changed
            .iter()
            .map(|c| ChangedJson {
                name: c.name.clone(),
                old_size: c.old_size,
                new_size: c.new_size,
                old_sha256: hex(&c.old_sha256),
                new_sha256: hex(&c.new_sha256),
            })
            .collect(),
        unchanged_count: diff.unchanged,
        metadata: diff
            .metadata
            .iter()
            .map(|m| MetadataJson {
                field: m.field.clone(),
                old: m.old.clone(),
                new: m.new.clone(),
            })
            .collect(),
    }
}
