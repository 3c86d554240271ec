//! Terminal plumbing: names made safe to print, sizes, progress bars, prompts, error hints.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use intunewin_core::{Error, Progress, Stage, SymlinkProblem};

/// Test-only: when set to `1`, stdin counts as interactive even when it is a pipe, so tests can
/// answer prompts by writing to stdin.
pub const ASSUME_TTY_ENV: &str = "INTUNEWIN_ASSUME_TTY";

/// Writes to stdout, returning errors (used by the `outln!` and `out!` macros).
pub fn write_stdout(args: std::fmt::Arguments) -> std::io::Result<()> {
    std::io::stdout().lock().write_fmt(args)
}

/// Makes text from a package (which anyone can craft) safe for a terminal: control characters,
/// escape sequences and bidirectional overrides are shown escaped instead of interpreted. The
/// library's sanitiser, so the CLI's output and the library's messages escape alike.
pub fn safe(text: &str) -> String {
    intunewin_core::shown(text)
}

/// `dir` joined with `name` (see [`join_styled`]), in the separator of the OS running.
pub fn join_as_written(dir: &Path, name: &str) -> PathBuf {
    join_styled(dir, name, cfg!(windows))
}

/// `dir` joined with `name`; on Windows (`windows`) with the separator the user wrote `dir`
/// with, so a printed path never mixes both (`smoke/out/x`, not `smoke/out\x`). Windows reads
/// either.
fn join_styled(dir: &Path, name: &str, windows: bool) -> PathBuf {
    let text = dir.to_string_lossy();
    if windows && text.contains('/') && !text.contains('\\') {
        let separator = if text.ends_with('/') { "" } else { "/" };
        return PathBuf::from(format!("{text}{separator}{name}"));
    }
    dir.join(name)
}

/// `1.5 MiB` style size.
pub fn size(bytes: u64) -> String {
    indicatif::BinaryBytes(bytes).to_string()
}

/// `1 file`, `2 files`: a count with the noun that fits it.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `1 byte`, `691 bytes`.
pub fn bytes(n: u64) -> String {
    format!("{n} {}", if n == 1 { "byte" } else { "bytes" })
}

/// Shortest time a rate is shown for: below it, a timer's resolution and the start-up cost
/// make any figure meaningless (`0 MB/s` for an instant pack).
const MIN_RATE_SECONDS: f64 = 0.05;

/// Least amount a rate is shown for: a few KB say nothing about throughput.
const MIN_RATE_BYTES: u64 = 1_000_000;

/// ` (12 MB/s)` (` (0.4 MB/s)` when slow) for `bytes` done in `seconds`, or nothing when the
/// time or the amount is too small to measure a rate.
pub fn rate(bytes: u64, seconds: f64) -> String {
    if seconds < MIN_RATE_SECONDS || bytes < MIN_RATE_BYTES {
        return String::new();
    }
    let mb_per_s = bytes as f64 / seconds / 1e6;
    if mb_per_s < 10.0 {
        format!(" ({mb_per_s:.1} MB/s)")
    } else {
        format!(" ({mb_per_s:.0} MB/s)")
    }
}

/// Base64 of bytes.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Progress on stderr: a bar on a terminal, nothing otherwise (CI logs get summary lines instead).
pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    enabled: bool,
    started: Instant,
}

impl Bar {
    /// A bar shown only when stderr is a terminal and not `quiet`.
    pub fn new(quiet: bool) -> Self {
        Bar {
            bar: Mutex::new(None),
            enabled: !quiet && std::io::stderr().is_terminal(),
            started: Instant::now(),
        }
    }

    /// Time since the bar was made.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::Pack => "packing",
        Stage::Authenticate => "checking MAC",
        Stage::Decrypt => "decrypting",
        Stage::Extract => "extracting",
    }
}

impl Progress for Bar {
    fn begin(&self, stage: Stage, total: u64) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(stage_label(stage));
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, bytes: u64) {
        if let Ok(slot) = self.bar.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.inc(bytes);
        }
    }

    fn end(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }
}

/// What to do about a symbolic link `pack` cannot pack.
fn symlink_hint(problem: SymlinkProblem) -> &'static str {
    match problem {
        SymlinkProblem::NotFollowed => {
            "pass --follow-symlinks to pack what it points to under the link's name, or \
             --exclude the link to leave it out"
        }
        SymlinkProblem::Dangling => "fix or remove the link, or --exclude it",
        SymlinkProblem::OutsideSource => {
            "only what is inside the source folder is packed: copy the target into it, or \
             --exclude the link"
        }
        SymlinkProblem::Loop => "remove the link, or --exclude it",
    }
}

/// Whether prompts may read from stdin: stdin is a terminal (or the test-only
/// [`ASSUME_TTY_ENV`] says to treat it as one). Otherwise the CLI never waits for input.
pub fn stdin_is_interactive() -> bool {
    std::env::var_os(ASSUME_TTY_ENV).is_some_and(|v| v == "1") || std::io::stdin().is_terminal()
}

/// Shows `prompt` on stderr (so stdout stays a clean log) and reads one line from stdin,
/// without its line ending; `None` at end of input.
///
/// Ctrl-C ends the wait at once with an [`std::io::ErrorKind::Interrupted`] error (see
/// [`is_interrupted`]): the Ctrl-C handler only sets a flag and a read from a terminal would
/// not return before Enter, so the line is read on another thread while this one watches the
/// flag.
pub fn ask(prompt: &str) -> std::io::Result<Option<String>> {
    let mut err = std::io::stderr().lock();
    err.write_all(prompt.as_bytes())?;
    err.flush()?;
    drop(err);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = std::io::stdin().lock().read_line(&mut line);
        let _ = tx.send(read.map(|n| (n > 0).then_some(line)));
    });
    let cancel = crate::cancel_flag();
    loop {
        if cancel.is_cancelled() {
            // The cursor is still after the prompt (and `^C`): end the line.
            eprintln!();
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "interrupted at a prompt",
            ));
        }
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(read) => {
                return read.map(|line| line.map(|l| l.trim_end_matches(['\r', '\n']).to_string()));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(std::io::Error::other("stdin reader stopped"));
            }
        }
    }
}

/// Whether a prompt's error is Ctrl-C (see [`ask`]).
pub fn is_interrupted(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::Interrupted
}

/// Asks a Y/N question; only an answer starting with `y` or `Y` is yes, end of input is no.
pub fn confirm(prompt: &str) -> std::io::Result<bool> {
    Ok(ask(prompt)?.is_some_and(|a| a.trim_start().starts_with(['y', 'Y'])))
}

/// What to do about an error the user can fix, shown as a `hint:` line under it.
pub fn hint(err: &Error) -> Option<String> {
    let text = match err {
        Error::Write { source, action, .. } => return write_hint(source, action),
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
            "check that you may read it: its permissions and those of the folders above it".into()
        }
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::IsADirectory => {
            "a package is a .intunewin file; `intunewin check` and `intunewin pack` take a \
             source folder"
                .into()
        }
        Error::OutputExists { .. } => "pass --force to replace it".into(),
        Error::SetupNotFound { source_dir, .. } => format!(
            "give the setup file's name or its path relative to the source folder '{}', or a full path inside it",
            safe(&source_dir.display().to_string())
        ),
        Error::SetupOutsideSource { .. } => "the setup file must be one of the files packed: \
             move it into the source folder or pick a source folder that contains it"
            .into(),
        Error::OutputInsideSource { .. } => "everything in the source folder is packed, so the \
             package cannot be written there: choose an output folder outside it"
            .into(),
        Error::BadSource { .. } => "the source folder must exist and hold the setup file and \
             everything it needs"
            .into(),
        Error::EmptySetupStem { .. } => "the package is named after the setup file without its \
             extension, which is empty here: rename the setup file"
            .into(),
        Error::BadCatalog { .. } => "the catalog folder holds the .cat files for Windows 10 S \
             mode; it must exist outside the source folder and hold at least one file"
            .into(),
        Error::SetupAmbiguous { .. } => {
            "give the setup file's name exactly as it is written, case included".into()
        }
        Error::Symlink { problem, .. } => symlink_hint(*problem).into(),
        Error::BareBlob { path } => {
            let file = safe(&path.display().to_string());
            format!(
                "decrypt it with its package's keys: intunewin decrypt {file} --package PKG.intunewin \
                 (or --detection Detection.xml, or --key <EncryptionKey> --iv <InitializationVector> \
                 --mac-key <MacKey>); an IME download: intunewin decrypt {file} --log \
                 IntuneManagementExtension.log --cert CERT"
            )
        }
        _ => return None,
    };
    Some(text)
}

/// What to do when writing an output failed.
fn write_hint(source: &std::io::Error, action: &str) -> Option<String> {
    use std::io::ErrorKind as K;
    if in_use(source, action) {
        return Some(
            "another program may have the file open (Windows cannot replace or move a file in \
             use): close it and run the command again; the output is as it was"
                .into(),
        );
    }
    let text = match source.kind() {
        K::PermissionDenied => "choose another output folder, or check the permissions of this one",
        K::StorageFull | K::QuotaExceeded => {
            "free some space on that disk, or choose an output folder on another one"
        }
        K::FileTooLarge => {
            "the output is larger than that file system or a limit (ulimit -f) allows: \
             choose an output folder on another disk"
        }
        K::ReadOnlyFilesystem => "that disk is read-only: choose an output folder on another one",
        K::NotADirectory => {
            "a part of the output path is a file, not a folder: choose another path"
        }
        K::AlreadyExists if action == "create the folder" => {
            "a file stands where that folder must go: choose another output path"
        }
        _ => return None,
    };
    Some(text.into())
}

/// Whether a failed write looks like Windows refusing to touch a file another program holds
/// open: a sharing or lock violation, or "access denied" when moving a finished output over an
/// existing file (read-only outputs are refused before, so that leaves a file in use).
fn in_use(source: &std::io::Error, action: &str) -> bool {
    const ERROR_SHARING_VIOLATION: i32 = 32;
    const ERROR_LOCK_VIOLATION: i32 = 33;
    if !cfg!(windows) {
        return false;
    }
    let moving = action.starts_with("move ");
    match source.raw_os_error() {
        Some(ERROR_SHARING_VIOLATION | ERROR_LOCK_VIOLATION) => true,
        _ => moving && source.kind() == std::io::ErrorKind::PermissionDenied,
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    #[test]
    fn counts_take_the_noun_that_fits() {
        assert_eq!(count(0, "file", "files"), "0 files");
        assert_eq!(count(1, "file", "files"), "1 file");
        assert_eq!(count(2, "entry", "entries"), "2 entries");
        assert_eq!(bytes(1), "1 byte");
        assert_eq!(bytes(691), "691 bytes");
    }

    #[test]
    fn a_rate_is_shown_only_when_it_can_be_measured() {
        assert_eq!(rate(691, 0.004), "");
        assert_eq!(rate(691, 2.0), "", "a few bytes say nothing");
        assert_eq!(rate(500_000_000, 0.01), "", "too short to time");
        assert_eq!(rate(500_000_000, 2.0), " (250 MB/s)");
        assert_eq!(rate(2_000_000, 5.0), " (0.4 MB/s)");
    }

    #[test]
    fn joins_keep_the_separator_the_folder_was_written_with_on_windows() {
        let join = |dir: &str| join_styled(Path::new(dir), "Install.intunewin", true);
        assert_eq!(
            join("smoke/out"),
            PathBuf::from("smoke/out/Install.intunewin")
        );
        assert_eq!(
            join("smoke/out/"),
            PathBuf::from("smoke/out/Install.intunewin")
        );
        assert_eq!(join("C:/out"), PathBuf::from("C:/out/Install.intunewin"));
        // With a `\` (or no separator at all) Windows' own join is right; on Linux, `/` always.
        let native = join_styled(Path::new("out"), "x", false);
        assert_eq!(native, Path::new("out").join("x"));
        assert_eq!(
            join_styled(Path::new("smoke/out"), "x", false),
            PathBuf::from("smoke/out/x")
        );
    }
}
