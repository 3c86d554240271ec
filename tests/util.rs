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

// ---------------------------------------------------------------------------------------------
// The folder a CLI test runs the binary in.

/// A command the binary runs that outlives this fails the test instead of hanging CI.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// A scratch folder the binary runs in; removed when dropped.
pub struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    /// An empty folder.
    pub fn empty() -> Self {
        Fixture {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A folder holding `src/`, a copy of `testdata/sample-app` (modification times kept),
    /// and an empty `out/`.
    pub fn sample_app() -> Self {
        let fx = Fixture::empty();
        copy_tree(&testdata().join("sample-app"), &fx.join("src"));
        std::fs::create_dir(fx.join("out")).expect("out dir");
        fx
    }

    /// The folder.
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// `rel` inside the folder.
    pub fn join(&self, rel: impl AsRef<std::path::Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The binary with `args`, run in the folder: stdin closed unless the test writes to it,
    /// stdin not taken for a terminal, stopped after [`TIMEOUT`].
    pub fn cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = intunewin();
        cmd.current_dir(self.path())
            .env_remove("INTUNEWIN_ASSUME_TTY")
            .timeout(TIMEOUT)
            .args(args);
        cmd
    }

    /// Writes `text` to `rel`, creating parent folders.
    pub fn file(&self, rel: &str, text: &str) {
        let path = self.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    /// Creates the folder `rel` (and its parents).
    pub fn dir(&self, rel: &str) {
        std::fs::create_dir_all(self.join(rel)).expect("mkdir");
    }

    /// A symbolic link at `rel` to `target`.
    #[cfg(unix)]
    pub fn link(&self, target: &str, rel: &str) {
        std::os::unix::fs::symlink(target, self.join(rel)).expect("symlink");
    }

    /// The folder as text: one line per entry, sorted; files with their size, links with their
    /// target.
    pub fn tree(&self) -> String {
        let mut lines = Vec::new();
        walk(self.path(), self.path(), &mut lines);
        lines.sort();
        lines.join("\n") + "\n"
    }

    /// Runs the binary with `args` in the folder (see [`Fixture::cmd`]).
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        self.cmd(args).output().expect("intunewin runs")
    }

    /// Packs `src` into `out/Install.intunewin` and returns the package's path.
    pub fn pack(&self) -> PathBuf {
        let out = self.run(&["pack", "src", "--setup", "Install.ps1", "--output", "out"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "pack failed\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        self.join("out/Install.intunewin")
    }

    /// `out/Install.intunewin`, packed on first use.
    pub fn package(&self) -> PathBuf {
        let package = self.join("out/Install.intunewin");
        if package.exists() {
            package
        } else {
            self.pack()
        }
    }

    /// A copy of the packed package under `name` in the folder, changed by `edit`.
    pub fn variant(&self, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut bytes = std::fs::read(self.package()).expect("read package");
        edit(&mut bytes);
        std::fs::write(self.join(name), bytes).expect("write variant");
        name.to_string()
    }
}

/// Appends the entries under `dir` to `out` as [`Fixture::tree`] lists them.
fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read {
        let path = entry.expect("entry").path();
        let rel = path.strip_prefix(root).expect("under root").display();
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).expect("read link");
            out.push(format!("{rel} -> {}", target.display()));
        } else if meta.is_dir() {
            out.push(format!("{rel}/"));
            walk(root, &path, out);
        } else {
            out.push(format!("{rel} ({} B)", meta.len()));
        }
    }
}

/// Copies the folder `from` to `to`, keeping the files' modification times.
pub fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create copy root");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy fixture file");
            let meta = entry.metadata().expect("fixture metadata");
            let mtime = filetime::FileTime::from_last_modification_time(&meta);
            filetime::set_file_mtime(&target, mtime).expect("set mtime");
        }
    }
}

impl Fixture {
    /// Snapshot settings that mask what varies between runs: this folder (`[TMP]`), base64
    /// keys, MACs and digests, timestamps, elapsed times and rates.
    pub fn snapshot_settings(&self) -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        let canonical = self.path().canonicalize().expect("canonical temp dir");
        for root in [canonical.as_path(), self.path()] {
            settings.add_filter(&regex_escape(&root.to_string_lossy()), "[TMP]");
        }
        settings.add_filter(r"[A-Za-z0-9+/]{43}=", "[B64-32]");
        settings.add_filter(r"[A-Za-z0-9+/]{22}==", "[B64-16]");
        settings.add_filter(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", "[TIME]");
        settings.add_filter(r"in \d+\.\d+ s", "in [ELAPSED] s");
        settings.add_filter(r"within \d+ milliseconds", "within [ELAPSED] milliseconds");
        settings.add_filter(r"\(\d+ MB/s\)", "([RATE] MB/s)");
        // The IntuneWinAppUtil form's usage after an error: pinned once, in `compat_help`.
        settings.add_filter(
            r"(?s)intunewin \d+\.\d+\.\d+ \(IntuneWinAppUtil-compatible.*?intunewin --help\n",
            "[USAGE: see the compat_help snapshot]\n",
        );
        settings.set_omit_expression(true);
        settings
    }
}

/// `text` as a regular expression that matches it literally.
pub fn regex_escape(text: &str) -> String {
    regex::escape(text)
}

/// The `kind`, `path` and `message` of the JSON error a `--json` run printed on stdout.
pub fn json_error(out: &std::process::Output) -> (String, String, String) {
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let field = |name: &str| {
        report["error"][name]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    (field("kind"), field("path"), field("message"))
}

/// The human form of a failure is the `--json` error's message and hint, one line each (so
/// a snapshot of the one pins the wording of the other).
pub fn assert_stderr_says(out: &std::process::Output, error: &serde_json::Value) {
    assert_eq!(String::from_utf8_lossy(&out.stderr), error_lines(error));
}

/// A `--json` error as stderr says it: `intunewin: error: MESSAGE`, then `hint: HINT` when
/// there is one.
pub fn error_lines(error: &serde_json::Value) -> String {
    let mut lines = format!(
        "intunewin: error: {}\n",
        error["message"].as_str().expect("a message")
    );
    if let Some(hint) = error["hint"].as_str() {
        lines.push_str(&format!("hint: {hint}\n"));
    }
    lines
}

/// Asserts that the `path` of a `--json` error (`named`) is `path`; for a Windows binary under
/// Wine, which spells folders its own way (`Z:\tmp\...`), that the file's name is.
pub fn assert_names_path(named: &serde_json::Value, path: &str) {
    let named = named.as_str().unwrap_or_default();
    if windows_binary() {
        let name = |p: &str| p.rsplit(['/', '\\']).next().unwrap_or_default().to_owned();
        assert_eq!(name(named), name(path), "{named} is not {path}");
    } else {
        assert_eq!(named, path);
    }
}

/// One run as text to snapshot: the command line, the exit code and both streams.
pub fn transcript(args: &[&str], code: Option<i32>, stdout: &str, stderr: &str) -> String {
    format!(
        "$ intunewin {}\nexit: {}\n--- stdout\n{stdout}--- stderr\n{stderr}",
        args.join(" "),
        code.map_or("signal".to_string(), |c| c.to_string()),
    )
}
