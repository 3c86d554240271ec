//! `intunewin`: pack, inspect, verify and extract Intune `.intunewin` packages.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: verification failed or unsafe content.
pub const EXIT_INVALID: u8 = 1;
/// Exit code: usage or I/O error.
pub const EXIT_ERROR: u8 = 2;

/// Pack, inspect, verify and extract Microsoft Intune .intunewin packages.
#[derive(Parser, Debug)]
#[command(name = "intunewin", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Explain an Intune Win32 app error code: phase, cause and what to check.
    Explain(commands::explain::ExplainArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Explain(args) => commands::explain::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("intunewin: error: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
