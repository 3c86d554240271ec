//! Arguments several commands share, flattened into each command's own struct
//! (`#[command(flatten)]`). A command whose option means something narrower rewords its help
//! with `#[command(mut_arg(..))]`; the flag, its short form and its type stay one definition.

use std::path::PathBuf;

use clap::Args;

/// `--json` and `--quiet`: how a command reports what it did.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct ReportArgs {
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}

impl ReportArgs {
    /// Whether nothing but the JSON report and errors may be printed (no progress bar, no
    /// summary lines).
    pub fn silent(&self) -> bool {
        self.json || self.quiet
    }
}

/// `--json` alone, for commands with nothing to leave out.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct JsonArgs {
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `--output` and `--force`: where a command writes, and whether it may replace what is there
/// (only what the command itself writes). Each command words the help for what it writes.
#[derive(Args, Debug, Clone, Default)]
pub struct OutputArgs {
    /// Where to write.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Replace what the command would write if it exists already.
    #[arg(short, long)]
    pub force: bool,
}
