//! `intunewin`: pack, inspect, verify and extract Intune `.intunewin` packages.
//!
//! `main` maps every outcome to an exit code: 0 success, 1 verification failed or unsafe
//! content, 2 usage or I/O error, 130 interrupted. Errors print as
//! `intunewin: error: <what>, <which file>` on stderr.

/// `println!` that returns the error instead of panicking, so a closed stdout
/// (`intunewin list pkg | head`) comes back as a `BrokenPipe` error, which [`report`] turns
/// into a quiet exit.
macro_rules! outln {
    () => {
        $crate::ui::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::ui::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that returns the error instead of panicking (see [`outln`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::ui::write_stdout(format_args!($($arg)*))
    };
}

mod commands;
mod compat;
mod json;
mod ui;

use std::process::ExitCode;
use std::sync::OnceLock;

use clap::{Parser, Subcommand};
use intunewin_core::{CancelFlag, Error};

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: verification failed or unsafe content.
pub const EXIT_INVALID: u8 = 1;
/// Exit code: usage or I/O error.
pub const EXIT_ERROR: u8 = 2;
/// Exit code: interrupted by Ctrl-C.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Pack, inspect, verify and extract Microsoft Intune .intunewin packages.
#[derive(Parser, Debug)]
#[command(
    name = "intunewin",
    version,
    about,
    propagate_version = true,
    after_help = "IntuneWinAppUtil's command line works too: \
        intunewin -c <source_folder> -s <setup_file> -o <output_folder> [-q | -qq]; \
        `intunewin -h` lists its switches."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Pack a source folder into a .intunewin package.
    Pack(commands::pack::PackArgs),
    /// Show a package's Detection.xml and sizes without decrypting it.
    Info(commands::info::InfoArgs),
    /// Check MAC, padding, digest, sizes and inner CRCs; exit 1 when invalid.
    Verify(commands::verify::VerifyArgs),
    /// Predict device-side failures of a source folder or package; exit 1 on errors.
    Check(commands::check::CheckArgs),
    /// List the files inside a package with sizes, times and SHA-256.
    List(commands::list::ListArgs),
    /// Extract a package's files into a folder (after verifying its MAC).
    Extract(commands::extract::ExtractArgs),
    /// Explain an Intune Win32 app error code: phase, cause and what to check.
    Explain(commands::explain::ExplainArgs),
    /// Decrypt a bare encrypted blob (e.g. what the IME downloaded) with keys from any source.
    Decrypt(Box<commands::decrypt::DecryptArgs>),
    /// Write a package's encrypted content (the blob Graph uploads) to a file.
    ExtractContent(commands::extract_content::ExtractContentArgs),
    /// Compare two packages' files and metadata; exit 1 when they differ.
    Diff(commands::diff::DiffArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(commands::completions::CompletionsArgs),
    /// Print the man page (roff), of intunewin or of one subcommand.
    Man(commands::completions::ManArgs),
}

/// The process-wide cancellation flag, set by Ctrl-C.
pub fn cancel_flag() -> CancelFlag {
    static FLAG: OnceLock<CancelFlag> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = CancelFlag::new();
        let handler_flag = flag.clone();
        // If a handler cannot be installed, Ctrl-C simply kills the process as usual.
        let _ = ctrlc::set_handler(move || handler_flag.cancel());
        flag
    })
    .clone()
}

/// The name of an error's variant, for JSON output (`HmacMismatch`, ...).
pub fn error_kind(e: &Error) -> String {
    let debug = format!("{e:?}");
    debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or("Error")
        .to_string()
}

/// mimalloc instead of the system allocator: the pipelines hand buffers between threads, and
/// glibc's heap kept the freed memory (peak RSS grew with the package: extract 116 MiB at
/// 5 GiB). `tests/cli_core.rs` checks through the binary that this allocator is the one in use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    // FORMAT.md §10: IntuneWinAppUtil's switches are recognised before clap sees them.
    if compat::is_compat(&args) {
        cancel_flag();
        return compat::run(&args);
    }
    let cli = Cli::parse();
    cancel_flag();
    let result = match cli.command {
        Command::Pack(args) => commands::pack::run(args),
        Command::Info(args) => commands::info::run(args),
        Command::Verify(args) => commands::verify::run(args),
        Command::Check(args) => commands::check::run(args),
        Command::List(args) => commands::list::run(args),
        Command::Extract(args) => commands::extract::run(args),
        Command::Explain(args) => commands::explain::run(args),
        Command::Decrypt(args) => commands::decrypt::run(*args),
        Command::ExtractContent(args) => commands::extract_content::run(args),
        Command::Diff(args) => commands::diff::run(args),
        Command::Completions(args) => commands::completions::run(args),
        Command::Man(args) => commands::completions::man(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => report(&err),
    }
}

/// Prints an error and picks its exit code.
fn report(err: &anyhow::Error) -> ExitCode {
    if let Some(io) = err.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::BrokenPipe
    {
        return ExitCode::SUCCESS;
    }
    let core = err.downcast_ref::<Error>();
    if matches!(core, Some(Error::Cancelled)) {
        eprintln!("intunewin: interrupted; no partial output was left");
        return ExitCode::from(EXIT_INTERRUPTED);
    }
    // Core errors already name their cause and file; anyhow's `{:#}` would repeat the cause.
    let message = match core {
        Some(e) => e.to_string(),
        None => format!("{err:#}"),
    };
    eprintln!("intunewin: error: {}", ui::safe(&message));
    if let Some(hint) = core.and_then(ui::hint) {
        eprintln!("hint: {hint}");
    }
    match core {
        Some(e) if e.is_verification_failure() => ExitCode::from(EXIT_INVALID),
        _ => ExitCode::from(EXIT_ERROR),
    }
}
