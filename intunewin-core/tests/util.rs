//! Helpers the library's tests and the CLI's share: prerequisites from outside the repository
//! (the corpus, external tools) and the workspace's own folders. The CLI's `tests/util.rs`
//! includes this file, so both test binaries skip and fail alike.
#![allow(dead_code)]

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

// ---------------------------------------------------------------------------------------------
// Prerequisites: shared data and external tools.
//
// A test that needs something from outside the repository asks `require` for it. Present: the
// test is recorded as run. Missing: in CI (`CI=true`) the test fails, naming what is missing and
// how to get it, so a green CI always means it ran; locally it is skipped, with a `SKIPPED` line
// written straight to the terminal (libtest captures only `print!`/`eprint!`, so the line shows
// even for a passing test). Both go to `PREREQUISITE_LOG`, which `.ci/run` sums up.

/// Every test's use of a prerequisite in the last run of this test binary, one per line:
/// `ran<TAB>what<TAB>test` or `skipped<TAB>what<TAB>test<TAB>why`. One file per test binary
/// (`prerequisites-library.log`, `prerequisites-integration.log`); `.ci/run` sums them up.
pub const PREREQUISITE_LOG: &str = concat!(
    env!("CARGO_TARGET_TMPDIR"),
    "/prerequisites-",
    env!("CARGO_CRATE_NAME"),
    ".log"
);

/// Whether this is a CI run (`CI` is `true` or `1`): a missing prerequisite then fails the test.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// What the running test needs, `found` telling whether it is there (`Err` says why not).
///
/// Returns the found value, or `None` when the test must stop, skipped (never in CI: there it
/// panics with `what`, the reason and `how` to get it).
pub fn require<T>(what: &str, how: &str, found: Result<T, String>) -> Option<T> {
    let test = current_test();
    match found {
        Ok(value) => {
            record(&format!("ran\t{what}\t{test}"));
            Some(value)
        }
        Err(why) if in_ci() => {
            record(&format!("missing\t{what}\t{test}\t{why}"));
            panic!("{test} needs {what}: {why}; {how} (CI=true: a missing prerequisite fails)")
        }
        Err(why) => {
            record(&format!("skipped\t{what}\t{test}\t{why}"));
            let line = format!("SKIPPED {test}: needs {what}: {why}; {how}\n");
            // Straight to the terminal, past libtest's capture.
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
            None
        }
    }
}

/// The running test's name (libtest names each test's thread after it).
pub fn current_test() -> String {
    std::thread::current()
        .name()
        .unwrap_or("unnamed test")
        .to_string()
}

/// Appends `line` to `PREREQUISITE_LOG`, emptied by the first record of this process.
fn record(line: &str) {
    static LOG: OnceLock<Option<Mutex<File>>> = OnceLock::new();
    let log = LOG.get_or_init(|| {
        std::fs::create_dir_all(env!("CARGO_TARGET_TMPDIR")).ok()?;
        File::create(PREREQUISITE_LOG).ok().map(Mutex::new)
    });
    if let Some(file) = log {
        let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        writeln!(file, "{line}").expect("write the prerequisite log");
    }
}

/// How to get the corpus, for the messages of `require`.
const CORPUS_HOW: &str = "set INTUNEWIN_CORPUS to the shared corpus folder (default: ../shared/corpus \
                          next to the workspace)";

/// The corpus of real packages (`INTUNEWIN_CORPUS`, by default `../shared/corpus` relative to
/// the workspace root), or `None` when the test is skipped (see `require`).
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("INTUNEWIN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/corpus"));
    let found = if dir.join("real").is_dir() {
        Ok(dir)
    } else {
        Err(format!("the corpus is not at {}", dir.display()))
    };
    require("corpus", CORPUS_HOW, found)
}

/// All corpus packages (`real/` then `nonms/`), sorted by name. Empty only when the test is
/// skipped (see `require`); a corpus folder without packages fails the test.
pub fn corpus_packages() -> Vec<PathBuf> {
    let Some(dir) = corpus_dir() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for sub in ["real", "nonms"] {
        out.extend(packages_in(&dir.join(sub)));
    }
    assert!(
        !out.is_empty(),
        "no .intunewin package in {}/real or nonms",
        dir.display()
    );
    out
}

/// The `.intunewin` files directly in `dir`, sorted (none when `dir` cannot be read).
fn packages_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "intunewin"));
    files.sort();
    files
}

/// The workspace root (parent of the crate whose tests run).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crate has a parent")
        .to_path_buf()
}

/// The project's own fixtures folder.
pub fn testdata() -> PathBuf {
    workspace_root().join("testdata")
}

/// Packs a source larger than the reader's buffer, so that a change made once reading has
/// started is seen by the rest of the read.
pub fn large_package(dir: &Path) -> PathBuf {
    let src = dir.join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("setup.cmd"), b"@echo off\r\n").unwrap();
    let mut state = 0x2545_f491_u32;
    let noise: Vec<u8> = (0..3 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    std::fs::write(src.join("payload.bin"), noise).unwrap();
    let out = dir.join("large.intunewin");
    intunewin_core::PackOptions::new(&src, "setup.cmd")
        .pack_to_file(&out, intunewin_core::Overwrite::Refuse)
        .expect("packs");
    std::fs::remove_dir_all(&src).unwrap();
    out
}
