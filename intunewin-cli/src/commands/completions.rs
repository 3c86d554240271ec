//! `intunewin completions` and `intunewin man`: generated from the same clap definition as the
//! parser, so they never drift from it.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

/// Arguments of `intunewin completions`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Arguments of `intunewin man`.
#[derive(Args, Debug)]
pub struct ManArgs {
    /// A subcommand whose page to print (`intunewin-pack(1)`, ...) instead of the main page.
    pub subcommand: Option<String>,
}

/// Runs `intunewin completions`.
pub fn run(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = crate::Cli::command();
    // Generated into memory: clap_complete panics on a failed write, a closed pipe included.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "intunewin", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `intunewin man`.
pub fn man(args: ManArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = crate::Cli::command();
    // Building first gives subcommands their full names (`intunewin-pack`).
    cmd.build();
    let page = match &args.subcommand {
        None => cmd,
        Some(name) => cmd.find_subcommand(name).cloned().ok_or_else(|| {
            anyhow::anyhow!(
                "no such subcommand '{}'; see `intunewin --help`",
                crate::ui::safe(name)
            )
        })?,
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .source(format!("intunewin {}", env!("CARGO_PKG_VERSION")))
        .render(&mut roff)?;
    std::io::stdout().lock().write_all(&roff)?;
    Ok(ExitCode::SUCCESS)
}
