//! What other programs and people read, pinned whole: every command's `--help` and the JSON
//! shapes of `info --json` and `info --graph` (key names, key order, nesting, null fields), so a
//! refactor of the argument structs or of the serialisation shows as a snapshot diff.

use std::path::Path;
use std::process::Output;

use crate::util::{corpus_dir, intunewin, testdata};

/// Every subcommand, as `intunewin --help` lists them.
const COMMANDS: [&str; 13] = [
    "pack",
    "info",
    "verify",
    "check",
    "list",
    "extract",
    "explain",
    "decrypt",
    "extract-content",
    "diff",
    "diagnose",
    "completions",
    "man",
];

fn run(cwd: &Path, args: &[&str]) -> Output {
    intunewin()
        .current_dir(cwd)
        .env("COLUMNS", "100")
        .args(args)
        .output()
        .expect("intunewin runs")
}

/// Stdout of a run that must succeed.
fn ok_stdout(cwd: &Path, args: &[&str]) -> String {
    let out = run(cwd, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn every_command_help() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut text = format!("$ intunewin --help\n{}", ok_stdout(dir.path(), &["--help"]));
    for command in COMMANDS {
        let help = ok_stdout(dir.path(), &[command, "--help"]);
        text.push_str(&format!("\n$ intunewin {command} --help\n{help}"));
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_omit_expression(true);
    // The version changes with every release; the help around it does not.
    settings.add_filter(r"intunewin \d+\.\d+\.\d+", "intunewin [VERSION]");
    settings.bind(|| insta::assert_snapshot!("every_command_help", text));
}

/// `info --json` and `info --graph` of the sample app, keys and the temp folder masked.
#[test]
fn info_json_and_graph_shape() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = testdata().join("sample-app");
    let src = src.to_str().expect("UTF-8 path");
    ok_stdout(
        dir.path(),
        &["pack", src, "-s", "Install.ps1", "-o", "out", "-q"],
    );
    let package = "out/Install.intunewin";
    let text = format!(
        "$ intunewin info {package} --json\n{}\n$ intunewin info {package} --graph\n{}",
        ok_stdout(dir.path(), &["info", package, "--json"]),
        ok_stdout(dir.path(), &["info", package, "--graph"]),
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_omit_expression(true);
    settings.add_filter(r"[A-Za-z0-9+/]{43}=", "[B64-32]");
    settings.add_filter(r"[A-Za-z0-9+/]{22}==", "[B64-16]");
    settings.bind(|| insta::assert_snapshot!("info_json_and_graph", text));
}

/// The same for a real package with MsiInfo: every byte but the corpus folder is pinned.
#[test]
fn info_json_and_graph_of_an_msi_package() {
    let Some(corpus) = corpus_dir() else {
        return;
    };
    let real = corpus.join("real");
    let package = "ArulmaniAppAutomation__ConsoleApp2__SimpleMSI.intunewin";
    let text = format!(
        "$ intunewin info {package} --json\n{}\n$ intunewin info {package} --graph\n{}",
        ok_stdout(&real, &["info", package, "--json"]),
        ok_stdout(&real, &["info", package, "--graph"]),
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!("info_json_and_graph_msi", text));
}
