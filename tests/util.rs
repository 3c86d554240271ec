//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The `intunewin` binary under test.
pub fn intunewin() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("intunewin").expect("binary built")
}

/// The corpus of real packages, or `None` (after printing a notice) when it is absent.
///
/// `INTUNEWIN_CORPUS` overrides the default `../shared/corpus` (relative to the workspace root).
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("INTUNEWIN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/corpus"));
    if dir.join("real").is_dir() {
        Some(dir)
    } else {
        eprintln!("corpus not found at {}, skipping", dir.display());
        None
    }
}

/// All corpus packages (`real/` then `nonms/`), sorted by name.
pub fn corpus_packages() -> Vec<PathBuf> {
    let Some(dir) = corpus_dir() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for sub in ["real", "nonms"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "intunewin"));
        files.sort();
        out.extend(files);
    }
    out
}

/// The workspace root (parent of the CLI crate).
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
