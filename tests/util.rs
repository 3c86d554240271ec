//! Helpers shared by the integration tests: the binary under test here, and (from the
//! library's tests, one file for both) prerequisites and the workspace's folders.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::PathBuf;

#[path = "../intunewin-core/tests/util.rs"]
mod shared;
pub use shared::*;

/// The `intunewin` binary under test (see [`binary_command`]).
pub fn intunewin() -> assert_cmd::Command {
    assert_cmd::Command::from_std(binary_command())
}

/// A command that runs the binary under test: Cargo's build, or `INTUNEWIN_BIN` when set (another
/// build of it, e.g. the Windows one from `ci/windows.sh build`), after the words of
/// `INTUNEWIN_RUNNER` when set (e.g. `/usr/lib/wine/wine64`).
pub fn binary_command() -> std::process::Command {
    let bin = std::env::var_os("INTUNEWIN_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_intunewin")));
    let runner = std::env::var("INTUNEWIN_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut cmd = std::process::Command::new(program);
            cmd.args(words).arg(bin);
            cmd
        }
        None => std::process::Command::new(bin),
    }
}

/// Whether the binary under test is a Windows build (`INTUNEWIN_BIN` ends in `.exe`): tests
/// that cannot apply to it (Unix signals, names Windows cannot hold) skip, saying why.
pub fn windows_binary() -> bool {
    cfg!(windows)
        || std::env::var_os("INTUNEWIN_BIN")
            .is_some_and(|b| b.to_string_lossy().to_ascii_lowercase().ends_with(".exe"))
}

/// Whether the running test must stop because it cannot apply to a Windows build of the binary
/// (`why`: fixtures Windows cannot hold, Unix signals, ...). It then says so on the terminal,
/// as `require` does for a skip; on a Linux binary it returns `false` and the test runs.
pub fn not_for_windows_binary(why: &str) -> bool {
    if !windows_binary() {
        return false;
    }
    let line = format!(
        "SKIPPED {}: cannot apply to a Windows binary: {why}\n",
        current_test()
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    true
}

