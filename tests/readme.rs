//! The README's examples are real runs: every ```` ```console ```` block is run as a shell
//! transcript (its `$ ` lines are the commands, the other lines their output, stderr and stdout
//! as a terminal shows them) with the binary under test first in PATH, in one folder, block after
//! block as a reader would. Only what legitimately varies is masked before comparing: times,
//! elapsed seconds, MB/s, base64 keys, MACs and digests (the digest covers the files' times), and
//! the folder the examples run in, shown as `/home/me/intunewin`.
//!
//! `README_UPDATE=1 cargo test -p intunewin-cli --test integration readme::` rewrites the blocks
//! from the real output instead of failing; review the diff before committing it.
//!
//! Besides a copy of `testdata/sample-app`, the folder holds what the examples name: `app/`
//! (`bin/setup.exe` and a readme), `bad/` (the two names `check` refuses and one it accepts) and
//! `out2/Install.intunewin` (the sample app with `Files/new.txt` added and `Files/readme.txt`
//! changed). `<EncryptionKey>` and `<IV>` in a command stand for the values of
//! `out/Install.intunewin`. The transcripts need a POSIX shell: Unix only.
#![cfg(unix)]

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::util::workspace_root;

/// Where the README shows the folder the examples run in.
const SHOWN_ROOT: &str = "/home/me/intunewin";

/// One console block: the README's lines `first..end` (0-based, fences excluded).
struct Block {
    first: usize,
    end: usize,
}

#[test]
fn readme_examples_match_real_runs() {
    let path = workspace_root().join("README.md");
    let readme = fs::read_to_string(&path).expect("read README.md");
    let lines: Vec<String> = readme.lines().map(str::to_string).collect();
    let blocks = console_blocks(&lines);
    assert!(blocks.len() >= 10, "only {} console blocks", blocks.len());

    let work = tempfile::tempdir().expect("temp dir");
    make_fixtures(work.path());
    let update = std::env::var_os("README_UPDATE").is_some_and(|v| v == "1");
    let mut mismatches = Vec::new();
    for block in &blocks {
        let expected = &lines[block.first..block.end];
        let actual = run_block(work.path(), expected);
        if masked(expected) != masked(&actual) {
            mismatches.push((block, keep_masked_equal(expected, actual)));
        }
    }
    if update && !mismatches.is_empty() {
        rewrite(&path, lines, &mismatches);
        return;
    }
    let report: Vec<String> = mismatches
        .iter()
        .map(|(block, actual)| describe(&lines[block.first..block.end], block, actual))
        .collect();
    assert!(
        report.is_empty(),
        "{}\n\n(README_UPDATE=1 rewrites the blocks from these runs)",
        report.join("\n\n")
    );
}

/// Writes the README with each mismatched block replaced by its run (through a temporary file).
fn rewrite(path: &Path, mut lines: Vec<String>, mismatches: &[(&Block, Vec<String>)]) {
    // Last to first, so the line numbers of the earlier blocks stay valid.
    for (block, actual) in mismatches.iter().rev() {
        lines.splice(block.first..block.end, actual.iter().cloned());
    }
    let temporary = path.with_extension("md.update");
    fs::write(&temporary, lines.join("\n") + "\n").expect("write the updated README");
    fs::rename(&temporary, path).expect("replace README.md");
    eprintln!("README_UPDATE=1: rewrote {} block(s)", mismatches.len());
}

/// The failure message for one block: its first differing line, then the whole run.
fn describe(expected: &[String], block: &Block, actual: &[String]) -> String {
    let (at, readme, run) = first_difference(expected, actual);
    format!(
        "README.md line {}: the README shows\n  {readme}\nwhere a real run printed\n  {run}\n\
         The whole block from the run:\n{}",
        block.first + at + 1,
        actual.join("\n")
    )
}

/// `actual` with each line that equals the README's line at the same place, once masked, kept as
/// the README has it, so an update changes only the lines that really differ.
fn keep_masked_equal(expected: &[String], actual: Vec<String>) -> Vec<String> {
    actual
        .into_iter()
        .enumerate()
        .map(|(i, line)| match expected.get(i) {
            Some(old)
                if masked(std::slice::from_ref(old)) == masked(std::slice::from_ref(&line)) =>
            {
                old.clone()
            }
            _ => line,
        })
        .collect()
}

/// The index of the first line that differs once masked, with both lines.
fn first_difference<'a>(expected: &'a [String], actual: &'a [String]) -> (usize, &'a str, &'a str) {
    let line =
        |lines: &'a [String], i: usize| lines.get(i).map_or("<end of block>", String::as_str);
    let mask = |text: &str| masked(&[text.to_string()]);
    let at = (0..expected.len().max(actual.len()))
        .find(|&i| mask(line(expected, i)) != mask(line(actual, i)))
        .unwrap_or(0);
    (at, line(expected, at), line(actual, at))
}

/// The ```` ```console ```` blocks, in order.
fn console_blocks(lines: &[String]) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open = None;
    for (i, line) in lines.iter().enumerate() {
        match (open, line.trim_end()) {
            (None, "```console") => open = Some(i + 1),
            (Some(first), "```") => {
                blocks.push(Block { first, end: i });
                open = None;
            }
            _ => {}
        }
    }
    assert!(open.is_none(), "README.md: a console block is not closed");
    blocks
}

/// Runs the commands of `block` in `dir` as one shell script; returns the transcript lines.
fn run_block(dir: &Path, block: &[String]) -> Vec<String> {
    // Each command's exit status is kept across the `printf` that echoes the next command, so
    // `echo $?` shows the status of the example before it.
    let mut script = String::from("exec 2>&1\nstatus=0\n");
    for line in block {
        if let Some(command) = line.strip_prefix("$ ") {
            script.push_str(&format!("printf '%s\\n' {}\n", shell_quote(line)));
            script.push_str(&format!("(exit $status); {}\n", substitute(dir, command)));
            script.push_str("status=$?\n");
        }
    }
    assert!(
        script.contains("printf"),
        "a console block without a `$ ` command"
    );
    let bin = assert_cmd::cargo::cargo_bin("intunewin");
    let path = std::env::join_paths(
        std::iter::once(bin.parent().expect("bin dir").to_path_buf()).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )),
    )
    .expect("PATH");
    let out = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("INTUNEWIN_ASSUME_TTY")
        .stdin(Stdio::null())
        .output()
        .expect("run sh");
    let text = String::from_utf8_lossy(&out.stdout);
    let root = dir.to_string_lossy();
    text.lines()
        .map(|l| l.replace(root.as_ref(), SHOWN_ROOT))
        .collect()
}

/// `command` with `<EncryptionKey>` and `<IV>` replaced by the values of out/Install.intunewin.
fn substitute(dir: &Path, command: &str) -> String {
    if !command.contains("<EncryptionKey>") && !command.contains("<IV>") {
        return command.to_string();
    }
    let out = crate::util::intunewin()
        .current_dir(dir)
        .args(["info", "--json", "out/Install.intunewin"])
        .output()
        .expect("run info");
    let info: Value = serde_json::from_slice(&out.stdout).expect("info --json");
    let field = |name: &str| info[name].as_str().expect(name).to_string();
    command
        .replace("<EncryptionKey>", &field("encryptionKey"))
        .replace("<IV>", &field("initializationVector"))
}

/// `text` in single quotes for sh.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The folders and packages the examples name (see the module's doc).
fn make_fixtures(dir: &Path) {
    let sample = workspace_root().join("testdata/sample-app");
    fs::create_dir(dir.join("testdata")).expect("mkdir testdata");
    copy_dir(&sample, &dir.join("testdata/sample-app"));

    fs::create_dir_all(dir.join("app/bin")).expect("mkdir app/bin");
    fs::write(dir.join("app/bin/setup.exe"), b"MZ").expect("write");
    fs::write(dir.join("app/readme.txt"), b"read me\n").expect("write");

    fs::create_dir_all(dir.join("bad/con")).expect("mkdir bad/con");
    fs::write(dir.join("bad/notes."), b"n\n").expect("write");
    fs::write(dir.join("bad/con/aux.txt"), b"a\n").expect("write");
    fs::write(dir.join("bad/ok.txt"), b"o\n").expect("write");

    let changed = dir.join("sample-app-changed");
    copy_dir(&sample, &changed);
    fs::write(changed.join("Files/new.txt"), b"new\n").expect("write");
    let readme = changed.join("Files/readme.txt");
    let mut text = fs::read(&readme).expect("read readme.txt");
    text.extend_from_slice(b"changed\n");
    fs::write(&readme, text).expect("write");
    crate::util::intunewin()
        .current_dir(dir)
        .args(["pack", "sample-app-changed", "--setup", "Install.ps1"])
        .args(["--output", "out2"])
        .assert()
        .success();
}

/// Copies the files and folders under `from` to `to`.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Masks

/// What varies between runs, as shapes (see `replace_shape`) and what stands in for them.
const MASKS: [(&str, &str); 8] = [
    ("9999-99-99 99:99:99", "[TIME]"),
    ("in #.# s", "in [ELAPSED] s"),
    ("(# MB/s)", "([RATE] MB/s)"),
    ("within # milliseconds", "within [MS] milliseconds"),
    (
        "\"elapsedSeconds\": #.#e-#",
        "\"elapsedSeconds\": [ELAPSED]",
    ),
    ("\"elapsedSeconds\": #.#", "\"elapsedSeconds\": [ELAPSED]"),
    (
        "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=",
        "[BASE64-32]",
    ),
    ("BBBBBBBBBBBBBBBBBBBBBB==", "[BASE64-16]"),
];

/// `lines` with every mask applied.
fn masked(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|line| {
            MASKS.iter().fold(line.clone(), |l, (shape, with)| {
                replace_shape(&l, shape, with)
            })
        })
        .collect()
}

/// Replaces each match of `shape` in `line` by `with`. In a shape `9` is one digit, `#` one or
/// more digits and `B` one base64 character (a run of `B`s only matches a whole base64 word);
/// any other character is itself.
fn replace_shape(line: &str, shape: &str, with: &str) -> String {
    let text: Vec<char> = line.chars().collect();
    let shape: Vec<char> = shape.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < text.len() {
        let word_start = shape[0] != 'B' || i == 0 || !is_base64(text[i - 1]);
        match match_at(&text[i..], &shape).filter(|_| word_start) {
            Some(len) => {
                out.push_str(with);
                i += len;
            }
            None => {
                out.push(text[i]);
                i += 1;
            }
        }
    }
    out
}

/// The length of `shape`'s match at the start of `text`, if it matches there.
fn match_at(text: &[char], shape: &[char]) -> Option<usize> {
    let mut t = 0;
    for &s in shape {
        let c = *text.get(t)?;
        match s {
            '9' | '#' if c.is_ascii_digit() => {
                t += 1;
                while s == '#' && text.get(t).is_some_and(char::is_ascii_digit) {
                    t += 1;
                }
            }
            'B' if is_base64(c) => t += 1,
            '9' | '#' | 'B' => return None,
            _ if s == c => t += 1,
            _ => return None,
        }
    }
    Some(t)
}

fn is_base64(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '+' || c == '/'
}

#[test]
fn masks_replace_only_their_shapes() {
    let line = |s: &str| masked(&[s.to_string()]).remove(0);
    assert_eq!(
        line("wrote out/a.intunewin in 0.01 s (12 MB/s)"),
        "wrote out/a.intunewin in [ELAPSED] s ([RATE] MB/s)"
    );
    assert_eq!(
        line("  \"elapsedSeconds\": 0.001910875,"),
        "  \"elapsedSeconds\": [ELAPSED],"
    );
    assert_eq!(
        line("iv: VSe11IxwXWLTZsYNCR2AmQ== mac: tUmyCWYG/PHSPhmT6R6zEEvQrZEVimVSs4OVOg/s7IA="),
        "iv: [BASE64-16] mac: [BASE64-32]"
    );
    // Sizes, counts, hex hashes and names stay as they are: they must match exactly.
    let kept =
        "44 46 deflate 33df5d5a138272732e2a798063f25430d76fd0cb881e9ffafc0e7f2d2732d29c x.json";
    assert_eq!(line(kept), kept);
    assert_eq!(line("packed 4 file(s) in 2 s"), "packed 4 file(s) in 2 s");
    // A base64 word longer than a key is not a key.
    let long = format!("{}=", "A".repeat(50));
    assert_eq!(line(&long), long);
}
