//! `intunewin extract-content`: the bare encrypted blob, as uploaded to Azure Storage
//! (FORMAT.md §13), checked on the way out.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use intunewin_core::{Overwrite, Package, ReadOptions};
use serde::Serialize;

use crate::args::ReportArgs;
use crate::json;
use crate::ui::{Bar, safe};

/// Arguments of `intunewin extract-content`.
#[derive(Args, Debug)]
pub struct ExtractContentArgs {
    /// The .intunewin package.
    pub package: PathBuf,
    /// The file to write the encrypted content to.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Replace an existing output file.
    #[arg(short, long)]
    pub force: bool,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractContentJson {
    package: String,
    output: String,
    size_encrypted: u64,
}

/// Runs `intunewin extract-content`.
pub fn run(args: ExtractContentArgs) -> anyhow::Result<ExitCode> {
    let bar = Arc::new(Bar::new(args.report.silent()));
    let pkg = Package::open(&args.package)?;
    let read = ReadOptions::default()
        .progress(bar.clone())
        .cancel_flag(crate::cancel_flag());
    let size = pkg.save_content(&args.output, Overwrite::from(args.force), &read)?;
    if args.report.json {
        json::print(&ExtractContentJson {
            package: args.package.display().to_string(),
            output: args.output.display().to_string(),
            size_encrypted: size,
        })?;
    } else if !args.report.quiet {
        outln!(
            "wrote the encrypted content of {} ({size} bytes, MAC verified) to {}",
            args.package.display(),
            safe(&args.output.display().to_string())
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
