//! `intunewin`: pack, inspect, verify and extract Intune `.intunewin` packages.
//!
//! `main` maps every outcome to an exit code: 0 success, 1 verification failed or unsafe
//! content, 2 usage or I/O error, 130 interrupted. Errors print as
//! `intunewin: error: <what>, <which file>` on stderr, with a `hint:` line when there is
//! something to do about them.
//!
//! With `--json`, a failure also prints exactly one JSON object on stdout,
//! `{"error": {"kind": ..., "message": ..., "path": ..., "hint": ...}}` (see
//! [`json::ErrorJson`]; a `limit-exceeded` failure adds `limit`: which limit and the numbers,
//! an `outer-zip` or `inner-zip` one `check`: which check of the zip failed, an `unsafe-path`
//! one `rule`: the path rule broken),
//! with the same exit code. That holds for command-line errors too (an
//! unknown option, a missing argument: kind `usage`) whenever `--json` appears among the
//! arguments, since clap rejects them before the command is known to want JSON.

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

mod args;
mod commands;
mod compat;
mod json;
mod secrets;
mod signals;
mod ui;

use std::process::ExitCode;

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
    bin_name = "intunewin",
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
    /// Why a Win32 app failed on a device, from its IME logs; exit 1 when an app failed.
    Diagnose(commands::diagnose::DiagnoseArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(commands::completions::CompletionsArgs),
    /// Print the man page (roff), of intunewin or of one subcommand.
    Man(commands::completions::ManArgs),
}

/// The process-wide cancellation flag, set by Ctrl-C, SIGTERM or SIGHUP (see [`signals`]).
pub fn cancel_flag() -> CancelFlag {
    signals::cancel_flag()
}

impl Command {
    /// Whether the command was asked for JSON output (errors are then JSON too).
    fn json(&self) -> bool {
        match self {
            Command::Pack(a) => a.report.json,
            Command::Info(a) => a.format.json,
            Command::Verify(a) => a.report.json,
            Command::Check(a) => a.format.json,
            Command::List(a) => a.format.json,
            Command::Extract(a) => a.report.json,
            Command::Explain(a) => a.format.json,
            Command::Decrypt(a) => a.report.json,
            Command::ExtractContent(a) => a.report.json,
            Command::Diff(a) => a.report.json,
            Command::Diagnose(a) => a.format.json,
            Command::Completions(_) | Command::Man(_) => false,
        }
    }
}

/// An error that must end the process with `code` rather than the code its kind implies
/// (`diff` exits 2 for every failure, an invalid package included: 1 means "they differ").
#[derive(Debug)]
pub struct ExitWith {
    /// The exit code.
    pub code: u8,
    /// The error.
    pub error: anyhow::Error,
}

impl std::fmt::Display for ExitWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl std::error::Error for ExitWith {}

/// Log input `diagnose` cannot read: JSON kind `unreadable-logs`, with the file concerned.
#[derive(Debug)]
pub struct UnreadableLogs {
    /// The file, folder or archive that could not be read (`None` when it is not one).
    pub path: Option<std::path::PathBuf>,
    /// What went wrong, naming the file.
    pub error: anyhow::Error,
}

impl From<intunewin_core::ime::LogSetError> for UnreadableLogs {
    fn from(e: intunewin_core::ime::LogSetError) -> Self {
        use intunewin_core::ime::LogSetError as E;
        let path = match &e {
            E::Io { path, .. } | E::Zip { path, .. } | E::NoLogs { path } => Some(path.clone()),
            _ => None,
        };
        UnreadableLogs {
            path,
            error: e.into(),
        }
    }
}

impl std::fmt::Display for UnreadableLogs {
    // The log set's errors already name their cause: `{:#}` would repeat it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)
    }
}

impl std::error::Error for UnreadableLogs {}

/// The exit code of a library error. Every kind is classified here, with no default arm: a new
/// kind in the library does not compile until it is given its code.
pub fn exit_code(err: &Error) -> u8 {
    use intunewin_core::ErrorKind as K;
    match err.error_kind() {
        K::Cancelled => signals::exit_code(),
        // The package (or what it holds) is not valid.
        K::OuterZip
        | K::MissingEntry
        | K::Detection
        | K::BlobLength
        | K::MacFieldMismatch
        | K::IvMismatch
        | K::HmacMismatch
        | K::BadPadding
        | K::DigestMismatch
        | K::ContentSizeMismatch
        | K::InnerZip
        | K::CrcMismatch
        | K::OuterCrcMismatch
        | K::UnsafePath
        | K::LimitExceeded
        | K::InvalidXmlValue => EXIT_INVALID,
        // I/O, usage, the source folder, the output, keys and certificates.
        K::Io
        | K::Write
        | K::SetupNotFound
        | K::SetupOutsideSource
        | K::EmptySetupStem
        | K::BadSource
        | K::OutputExists
        | K::OutputConflict
        | K::RestoreFailed
        | K::OutputInsideSource
        | K::Msi
        | K::Certificate
        | K::Cms
        | K::DecryptInfo
        | K::Random
        | K::Symlink
        | K::SetupAmbiguous
        | K::BareBlob
        | K::BadCatalog => EXIT_ERROR,
    }
}

/// The stable kind of any error the commands return: the library's [`Error::kind`], `io` for
/// an I/O error of the CLI itself, `usage` for an argument the command cannot act on.
pub fn error_kind(err: &anyhow::Error) -> &'static str {
    if let Some(core) = err.downcast_ref::<Error>() {
        return core.kind();
    }
    if err.is::<UnreadableLogs>() {
        return "unreadable-logs";
    }
    if err.chain().any(|e| e.is::<std::io::Error>()) {
        return "io";
    }
    "usage"
}

/// mimalloc instead of the system allocator: the pipelines hand buffers between threads, and
/// glibc's heap kept the freed memory (peak RSS grew with the package: extract 116 MiB at
/// 5 GiB). Not on Windows: its heap has no such per-thread arenas, and on windows-gnu
/// mimalloc's process and thread hooks (MSVC-only `.CRT$X` sections) never run, so the heaps
/// of finished threads would never be given back. `tests/cli_core.rs` checks through the binary
/// which allocator is in use.
#[cfg(not(windows))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    // FORMAT.md §10: IntuneWinAppUtil's switches are recognised before clap sees them.
    if compat::is_compat(&args) {
        cancel_flag();
        return compat::run(&args);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e, &args),
    };
    cancel_flag();
    let json = cli.command.json();
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
        Command::Diagnose(args) => commands::diagnose::run(args),
        Command::Completions(args) => commands::completions::run(args),
        Command::Man(args) => commands::completions::man(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => report(&err, json),
    }
}

/// A command line clap rejects (or `--help`/`--version`, which clap reports the same way):
/// clap's text as usual, plus the JSON error on stdout when `--json` was asked for.
fn usage_error(e: &clap::Error, args: &[std::ffi::OsString]) -> ExitCode {
    use clap::error::ErrorKind;
    let informational = matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    let wants_json = args
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "--json");
    if wants_json && !informational {
        let _ = json::print(&json::ErrorReport::usage(&e.to_string()));
    }
    let _ = e.print();
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(EXIT_ERROR))
}

/// Prints an error (and, with `json`, its JSON form on stdout) and picks its exit code.
fn report(err: &anyhow::Error, json: bool) -> ExitCode {
    if let Some(io) = err.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::BrokenPipe
    {
        return ExitCode::SUCCESS;
    }
    let (err, forced) = match err.downcast_ref::<ExitWith>() {
        Some(exit) => (&exit.error, Some(exit.code)),
        None => (err, None),
    };
    let core = err.downcast_ref::<Error>();
    let code = forced.unwrap_or(core.map_or(EXIT_ERROR, exit_code));
    // Core errors already name their cause and file; anyhow's `{:#}` would repeat the cause.
    let message = match core {
        Some(Error::Cancelled) => "interrupted; no partial output was left".to_string(),
        Some(e) => e.to_string(),
        None => format!("{err:#}"),
    };
    let hint = core.and_then(ui::hint);
    if matches!(core, Some(Error::Cancelled)) {
        eprintln!("intunewin: {message}");
    } else {
        eprintln!("intunewin: error: {}", ui::safe(&message));
        if let Some(hint) = &hint {
            eprintln!("hint: {hint}");
        }
    }
    if json {
        let logs = err.downcast_ref::<UnreadableLogs>();
        let path = core
            .and_then(Error::path)
            .or_else(|| logs.and_then(|l| l.path.as_deref()));
        // Best effort: stdout may be what failed.
        let _ = json::print(
            &json::ErrorReport::new(error_kind(err), message, path, hint).with_details(core),
        );
    }
    ExitCode::from(code)
}
