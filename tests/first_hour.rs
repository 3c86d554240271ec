//! Issue 14, through the real binary: packing symbolic links (`--follow-symlinks`, the compat
//! form's default, never a link dropped silently), the setup file matched ignoring case with
//! the closest names suggested, a bare blob or a folder given to `info`/`verify`/`list`, odd
//! `-o` values, a missing catalog folder, `man --output`, completions of the IntuneWinAppUtil
//! switches, and the small things a new user notices (plurals, no `0 MB/s`, `explain` saying a
//! message once, `list` by name).
//!
//! Where files are involved, the tree of the working folder is snapshotted before and after, so
//! a review sees exactly what a command wrote or left alone.

use std::fs;
use std::process::Output;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::{Fixture, intunewin};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A [`Fixture::tree`] listing without the sizes.
fn names_only(tree: &str) -> String {
    tree.lines()
        .map(|l| l.split(" (").next().unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit code and both streams, for snapshots.
fn transcript(args: &[&str], out: &Output) -> String {
    format!(
        "$ intunewin {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code().map_or("signal".into(), |c| c.to_string()),
        stdout(out),
        stderr(out)
    )
}

/// Asserts the exit code, with both streams shown on failure, and no panic.
fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
    assert!(!stderr(out).contains("panicked"), "{}", stderr(out));
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(out), stderr(out)))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `list --json` as name → sha256.
fn listed(w: &Fixture, package: &str) -> Vec<(String, String)> {
    let out = w.run(&["list", package, "--json"]);
    assert_code(&out, 0);
    json(&out)
        .as_array()
        .expect("array")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().expect("name").to_string(),
                e["sha256"].as_str().expect("sha256").to_string(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Symbolic links
// ---------------------------------------------------------------------------------------------

/// `src/` with `setup.exe`, `lib/core.dll`, `lib/sub/data.txt`, a link to a file and a link to
/// a folder; an empty `out/`.
#[cfg(unix)]
fn linked_source() -> Fixture {
    let w = Fixture::empty();
    w.file("src/setup.exe", "setup");
    w.file("src/lib/core.dll", "core library");
    w.file("src/lib/sub/data.txt", "data");
    w.link("lib/core.dll", "src/core-link.dll");
    w.link("lib", "src/lib-link");
    w.dir("out");
    w
}

#[cfg(unix)]
#[test]
fn an_unfollowed_link_is_refused_saying_what_would_happen() {
    if crate::util::not_for_windows_binary(
        "symbolic links made by the test are Linux links, which Wine shows the Windows binary as the files they point to",
    ) {
        return;
    }
    let w = linked_source();
    let before = w.tree();
    let args = ["pack", "src", "-s", "setup.exe", "-o", "out"];
    let out = w.run(&args);
    assert_code(&out, 1);
    assert_eq!(w.tree(), before, "nothing written");
    w.snapshot_settings().bind(|| {
        insta::assert_snapshot!("unfollowed_link", transcript(&args, &out));
        insta::assert_snapshot!("unfollowed_link_tree", before);
    });
}

#[cfg(unix)]
#[test]
fn allow_unsafe_paths_never_drops_a_link() {
    if crate::util::not_for_windows_binary(
        "symbolic links made by the test are Linux links, which Wine shows the Windows binary as the files they point to",
    ) {
        return;
    }
    let w = linked_source();
    let before = w.tree();
    let args = [
        "pack",
        "src",
        "-s",
        "setup.exe",
        "-o",
        "out",
        "--allow-unsafe-paths",
    ];
    let out = w.run(&args);
    assert_code(&out, 2);
    assert_eq!(w.tree(), before, "nothing written");
    w.snapshot_settings()
        .bind(|| insta::assert_snapshot!("allow_unsafe_link", transcript(&args, &out)));
}

#[cfg(unix)]
#[test]
fn follow_symlinks_packs_links_under_their_names() {
    let w = linked_source();
    let out = w.run(&[
        "pack",
        "src",
        "-s",
        "setup.exe",
        "-o",
        "out",
        "--follow-symlinks",
        "--json",
    ]);
    assert_code(&out, 0);
    assert_eq!(json(&out)["fileCount"], 6);
    let core = sha256_hex(b"core library");
    let data = sha256_hex(b"data");
    let expected: Vec<(String, String)> = [
        ("core-link.dll", core.as_str()),
        ("setup.exe", &sha256_hex(b"setup")),
        ("lib/core.dll", &core),
        ("lib/sub/data.txt", &data),
        ("lib-link/core.dll", &core),
        ("lib-link/sub/data.txt", &data),
    ]
    .iter()
    .map(|(n, h)| (n.to_string(), h.to_string()))
    .collect();
    assert_eq!(listed(&w, "out/setup.intunewin"), expected);
    // Extracted, the links are plain files and folders with the targets' content.
    assert_code(
        &w.run(&["extract", "out/setup.intunewin", "-o", "restored"]),
        0,
    );
    w.snapshot_settings()
        .bind(|| insta::assert_snapshot!("follow_symlinks_tree_after", w.tree()));
}

#[cfg(unix)]
#[test]
fn followed_links_that_loop_leave_or_dangle_name_link_and_target() {
    if crate::util::not_for_windows_binary(
        "symbolic links made by the test are Linux links, which Wine shows the Windows binary as the files they point to",
    ) {
        return;
    }
    let cases: [(&str, &str); 3] = [
        ("..", "src/lib/sub/up"),
        ("../outside.txt", "src/out.txt"),
        ("missing.txt", "src/dangling.txt"),
    ];
    let mut text = String::new();
    for (target, link) in cases {
        let w = linked_source();
        w.file("outside.txt", "not in the source");
        w.link(target, link);
        let before = w.tree();
        let args = [
            "pack",
            "src",
            "-s",
            "setup.exe",
            "-o",
            "out",
            "--follow-symlinks",
        ];
        let out = w.run(&args);
        assert_code(&out, 2);
        // Which link and where it points: pinned in the snapshot below.
        assert_eq!(w.tree(), before, "nothing written");
        text += &mask(&w, transcript(&args, &out));
    }
    Fixture::empty()
        .snapshot_settings()
        .bind(|| insta::assert_snapshot!("link_problems", text));
}

/// Replaces the temp folder of `w` in `text` (for transcripts gathered from several folders).
fn mask(w: &Fixture, text: String) -> String {
    let tmp = w.path().canonicalize().expect("canonical");
    text.replace(&tmp.to_string_lossy().into_owned(), "[TMP]")
        .replace(&w.path().to_string_lossy().into_owned(), "[TMP]")
}

#[cfg(unix)]
#[test]
fn an_excluded_link_is_left_out_without_error() {
    let w = linked_source();
    w.link("missing.txt", "src/dangling.txt");
    let out = w.run(&[
        "pack",
        "src",
        "-s",
        "setup.exe",
        "-o",
        "out",
        "--follow-symlinks",
        "--exclude",
        "dangling.txt",
        "--exclude",
        "lib-link",
    ]);
    assert_code(&out, 0);
    let names: Vec<String> = listed(&w, "out/setup.intunewin")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        [
            "core-link.dll",
            "setup.exe",
            "lib/core.dll",
            "lib/sub/data.txt"
        ]
    );
}

#[cfg(unix)]
#[test]
fn the_compat_form_follows_links_unless_told_not_to() {
    if crate::util::not_for_windows_binary(
        "symbolic links made by the test are Linux links, which Wine shows the Windows binary as the files they point to",
    ) {
        return;
    }
    let w = linked_source();
    let out = w.run(&["-c", "src", "-s", "setup.exe", "-o", "out", "-q"]);
    assert_code(&out, 0);
    assert_eq!(listed(&w, "out/setup.intunewin").len(), 6);
    fs::remove_file(w.join("out/setup.intunewin")).expect("remove");
    let before = w.tree();
    let out = w.run(&[
        "-c",
        "src",
        "-s",
        "setup.exe",
        "-o",
        "out",
        "-q",
        "--no-follow-symlinks",
    ]);
    assert_code(&out, 1);
    assert_eq!(w.tree(), before, "nothing written");
    w.snapshot_settings()
        .bind(|| insta::assert_snapshot!(stderr(&out)));
}

// ---------------------------------------------------------------------------------------------
// The setup file's name
// ---------------------------------------------------------------------------------------------

#[test]
fn a_setup_name_differing_in_case_packs_the_real_name_with_a_note() {
    if crate::util::not_for_windows_binary(
        "Windows file names ignore case, so the name as typed is found directly (no note) and the snapshot's Unix paths differ",
    ) {
        return;
    }
    let w = Fixture::empty();
    w.file("src/Deploy/Install.PS1", "install");
    w.file("src/readme.txt", "readme");
    w.dir("out");
    let args = [
        "pack",
        "src",
        "-s",
        "deploy\\install.ps1",
        "-o",
        "out/app.intunewin",
    ];
    let out = w.run(&args);
    assert_code(&out, 0);
    let info = w.run(&["info", "out/app.intunewin", "--json"]);
    assert_code(&info, 0);
    assert_eq!(json(&info)["setupFile"], "Deploy\\Install.PS1");
    let note = stderr(&out);
    w.snapshot_settings()
        .bind(|| insta::assert_snapshot!("setup_case_note", note));
    // The same in the compat form, whose output is named after the real name.
    let out = w.run(&["-c", "src", "-s", "DEPLOY/INSTALL.ps1", "-o", "out", "-q"]);
    assert_code(&out, 0);
    w.snapshot_settings()
        .bind(|| insta::assert_snapshot!("setup_case_note_compat", stderr(&out)));
    assert!(w.join("out/Install.intunewin").is_file(), "{}", w.tree());
    // --json carries the note too.
    let out = w.run(&[
        "pack",
        "src",
        "-s",
        "deploy/install.ps1",
        "-o",
        "out/j.intunewin",
        "--json",
    ]);
    assert_code(&out, 0);
    let report = json(&out);
    assert_eq!(report["setupFile"], "Deploy\\Install.PS1");
    assert_eq!(
        report["notes"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
}

#[test]
fn setup_names_ambiguous_or_missing_are_errors_with_the_candidates() {
    if crate::util::not_for_windows_binary(
        "names differing only in case cannot both exist on Windows, and the snapshot holds Unix spellings of paths",
    ) {
        return;
    }
    let w = Fixture::empty();
    w.file("src/Setup.exe", "a");
    w.file("src/tools/setupx.exe", "b");
    w.file("src/Setup64.exe", "c");
    w.file("src/unrelated-readme.txt", "d");
    w.dir("out");
    let before = w.tree();
    let args = ["pack", "src", "-s", "setp.exe", "-o", "out"];
    let missing = w.run(&args);
    assert_code(&missing, 2);
    w.snapshot_settings()
        .bind(|| insta::assert_snapshot!("setup_missing", transcript(&args, &missing)));
    assert_eq!(w.tree(), before, "nothing written");
    // The compat form says the same.
    let compat = w.run(&["-c", "src", "-s", "setp.exe", "-o", "out", "-q"]);
    assert_code(&compat, 2);
    w.snapshot_settings()
        .bind(|| insta::assert_snapshot!("setup_missing_compat", stderr(&compat)));
    let case_sensitive = fs::write(w.join("src/SETUP.EXE"), "e").is_ok()
        && fs::read(w.join("src/Setup.exe")).ok() == Some(b"a".to_vec());
    if !case_sensitive {
        eprintln!("case-insensitive file system: no two names differ in case only");
        return;
    }
    let before = w.tree();
    let args = ["pack", "src", "-s", "setup.exe", "-o", "out"];
    let ambiguous = w.run(&args);
    assert_code(&ambiguous, 2);
    assert_eq!(w.tree(), before, "nothing written");
    w.snapshot_settings()
        .bind(|| insta::assert_snapshot!("setup_ambiguous", transcript(&args, &ambiguous)));
}

// ---------------------------------------------------------------------------------------------
// Wrong inputs: a bare blob, a folder, odd -o values, a missing catalog
// ---------------------------------------------------------------------------------------------

/// `out/setup.intunewin` packed from `src/setup.exe`, and its encrypted content as
/// `IntunePackage.intunewin` (what a package holds inside, and what the IME downloads).
fn packed_with_blob() -> Fixture {
    let w = Fixture::empty();
    w.file("src/setup.exe", "setup");
    assert_code(&w.run(&["pack", "src", "-s", "setup.exe", "-o", "out"]), 0);
    let out = w.run(&[
        "extract-content",
        "out/setup.intunewin",
        "-o",
        "IntunePackage.intunewin",
    ]);
    assert_code(&out, 0);
    w
}

#[test]
fn a_bare_blob_is_named_with_the_decrypt_command() {
    let w = packed_with_blob();
    let mut text = String::new();
    for cmd in ["info", "verify", "list"] {
        let args = [cmd, "IntunePackage.intunewin"];
        let out = w.run(&args);
        assert_code(&out, 2);
        assert!(stdout(&out).is_empty());
        text += &transcript(&args, &out);
    }
    w.snapshot_settings()
        .bind(|| insta::assert_snapshot!("bare_blob", text));
    // Every command that opens a package says the same (Package::open recognises the blob).
    for args in [
        &["extract", "IntunePackage.intunewin", "-o", "x", "--json"][..],
        &[
            "diff",
            "IntunePackage.intunewin",
            "out/setup.intunewin",
            "--json",
        ],
        &["check", "IntunePackage.intunewin", "--json"],
    ] {
        let out = w.run(args);
        assert_code(&out, 2);
        assert_eq!(json(&out)["error"]["kind"], "bare-blob", "{args:?}");
    }
    // The command the hint shows works.
    let out = w.run(&[
        "decrypt",
        "IntunePackage.intunewin",
        "--package",
        "out/setup.intunewin",
        "--extract",
        "decrypted",
    ]);
    assert_code(&out, 0);
    assert_eq!(
        fs::read(w.join("decrypted/setup.exe")).expect("read"),
        b"setup"
    );
}

#[test]
fn a_text_file_is_not_taken_for_a_blob() {
    let w = Fixture::empty();
    // 48 + 16 * 10 bytes: the blob's length shape, but text.
    w.file("notes.intunewin", &"a line of text.\n".repeat(13));
    let out = w.run(&["info", "notes.intunewin", "--json"]);
    assert_code(&out, 1);
    assert_eq!(json(&out)["error"]["kind"], "outer-zip");
}

#[test]
fn a_folder_given_as_a_package_has_its_own_message() {
    let w = packed_with_blob();
    let mut text = String::new();
    for cmd in ["info", "verify", "list"] {
        let args = [cmd, "src"];
        let out = w.run(&args);
        assert_code(&out, 2);
        text += &transcript(&args, &out);
    }
    w.snapshot_settings()
        .bind(|| insta::assert_snapshot!("folder_as_package", text));
}

#[test]
fn odd_output_paths_are_refused_before_anything_is_written() {
    let w = Fixture::empty();
    w.file("src/setup.exe", "setup");
    w.file("existing.txt", "user file");
    let before = w.tree();
    let cases: [&[&str]; 3] = [
        &["pack", "src", "-s", "setup.exe", "-o", "out/foo.zip"],
        &["pack", "src", "-s", "setup.exe", "-o", "existing.txt"],
        &[
            "-c",
            "src",
            "-s",
            "setup.exe",
            "-o",
            "out/app.intunewin",
            "-q",
        ],
    ];
    let mut text = String::new();
    for args in cases {
        let out = w.run(args);
        assert_code(&out, 2);
        text += &transcript(args, &out);
    }
    assert_eq!(w.tree(), before, "nothing written, the user's file kept");
    w.snapshot_settings().bind(|| {
        insta::assert_snapshot!("odd_outputs", text);
        insta::assert_snapshot!("odd_outputs_tree", before);
    });
    // A dotted folder name that is no file type stays a folder.
    let out = w.run(&["pack", "src", "-s", "setup.exe", "-o", "out/v1.2"]);
    assert_code(&out, 0);
    assert!(w.join("out/v1.2/setup.intunewin").is_file(), "{}", w.tree());
}

#[test]
fn a_missing_catalog_folder_says_so() {
    let w = Fixture::empty();
    w.file("src/setup.exe", "setup");
    w.file("catalog.cat", "a file, not a folder");
    let cases: [&[&str]; 2] = [
        &[
            "pack",
            "src",
            "-s",
            "setup.exe",
            "-o",
            "out",
            "--catalog",
            "nope",
        ],
        &[
            "pack",
            "src",
            "-s",
            "setup.exe",
            "-o",
            "out",
            "--catalog",
            "catalog.cat",
        ],
    ];
    let mut text = String::new();
    for args in cases {
        let out = w.run(args);
        assert_code(&out, 2);
        text += &transcript(args, &out);
    }
    assert!(!w.join("out").exists());
    w.snapshot_settings()
        .bind(|| insta::assert_snapshot!("missing_catalog", text));
}

// ---------------------------------------------------------------------------------------------
// Completions and man pages
// ---------------------------------------------------------------------------------------------

#[test]
fn completions_offer_the_intunewinapputil_switches() {
    let fish = intunewin()
        .args(["completions", "fish"])
        .output()
        .expect("runs");
    assert_code(&fish, 0);
    let script = stdout(&fish);
    for (switch, what) in [
        ("-s c ", "__fish_complete_directories"),
        ("-s s ", "IntuneWinAppUtil form: the setup file"),
        ("-s o ", "__fish_complete_directories"),
        ("-s a ", "__fish_complete_directories"),
        ("-s q ", "-qq also prints nothing"),
        ("-l no-follow-symlinks", "refuse symbolic links"),
    ] {
        let line = script
            .lines()
            .find(|l| l.contains("needs_command") && l.contains(switch))
            .unwrap_or_else(|| panic!("no top-level completion for {switch}:\n{script}"));
        assert!(line.contains(what), "{line}");
    }
    for shell in ["bash", "zsh", "powershell", "elvish"] {
        let out = intunewin()
            .args(["completions", shell])
            .output()
            .expect("runs");
        assert_code(&out, 0);
        assert!(stdout(&out).contains("no-follow-symlinks"), "{shell}");
        if shell == "zsh" {
            assert!(stdout(&out).contains(":SOURCE_FOLDER:_files -/"), "zsh");
        }
    }
}

#[test]
fn man_output_writes_every_page_and_replaces_only_its_own() {
    if crate::util::not_for_windows_binary(
        "the snapshot of the written tree holds Unix spellings of paths",
    ) {
        return;
    }
    let w = Fixture::empty();
    w.file("man/notes.txt", "the user's own file");
    let out = w.run(&["man", "--output", "man"]);
    assert_code(&out, 0);
    let after = w.tree();
    let help = stdout(&w.run(&["--help"]));
    // Every subcommand listed by --help has its page.
    for line in help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
    {
        if line.is_empty() {
            break;
        }
        // Wrapped descriptions continue on lines indented further.
        let Some(name) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')) else {
            continue;
        };
        let name = name.split_whitespace().next().unwrap_or_default();
        if name == "help" {
            continue;
        }
        let page = fs::read_to_string(w.join(format!("man/intunewin-{name}.1")))
            .unwrap_or_else(|e| panic!("page of {name}: {e}\n{after}"));
        assert!(
            page.starts_with(".ie") || page.contains(".TH"),
            "{name}: roff"
        );
        assert!(
            page.contains(&format!("intunewin\\-{}", name.replace('-', "\\-"))),
            "{name}"
        );
    }
    assert!(
        fs::read_to_string(w.join("man/intunewin.1"))
            .expect("main page")
            .contains(".TH")
    );
    // Again without --force: refused before anything is written.
    fs::write(w.join("man/intunewin-pack.1"), "an older page").expect("write");
    let before = w.tree();
    let again = w.run(&["man", "--output", "man"]);
    assert_code(&again, 2);
    assert_eq!(w.tree(), before, "nothing replaced");
    // With --force: the pages are replaced, the user's file is kept.
    assert_code(&w.run(&["man", "--output", "man", "--force"]), 0);
    assert_eq!(w.tree(), after);
    assert_eq!(
        fs::read_to_string(w.join("man/notes.txt")).expect("kept"),
        "the user's own file"
    );
    w.snapshot_settings().bind(|| {
        insta::assert_snapshot!("man_output_stdout", stdout(&out));
        // Names only: a page's size changes with every help text.
        insta::assert_snapshot!("man_output_tree", names_only(&after));
        insta::assert_snapshot!(
            "man_output_refused",
            transcript(&["man", "--output", "man"], &again)
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Small things
// ---------------------------------------------------------------------------------------------

#[test]
fn one_file_is_one_file_and_an_instant_pack_shows_no_rate() {
    let w = Fixture::empty();
    w.file("src/setup.exe", "setup");
    // Singular nouns and no rate for an instant pack: pinned whole in the snapshot (a rate
    // would show as `([RATE] MB/s)`).
    let mut text = String::new();
    for args in [
        &["pack", "src", "-s", "setup.exe", "-o", "out"][..],
        &["verify", "out/setup.intunewin"],
        &["list", "out/setup.intunewin"],
        &["extract", "out/setup.intunewin", "-o", "x"],
        &["-c", "src", "-s", "setup.exe", "-o", "out2", "-q"],
    ] {
        let out = w.run(args);
        assert_code(&out, 0);
        text += &transcript(args, &out);
    }
    // The digest covers the file's time; the compat log counts milliseconds.
    let mut settings = w.snapshot_settings();
    settings.add_filter(r"[A-Za-z0-9+/]{43}=", "[B64-32]");
    settings.add_filter(r"within \d+ milliseconds", "within [ELAPSED] milliseconds");
    settings.bind(|| insta::assert_snapshot!(text));
}

#[test]
fn list_shows_the_name_first() {
    let w = packed_with_blob();
    let out = w.run(&["list", "out/setup.intunewin"]);
    assert_code(&out, 0);
    let text = stdout(&out);
    let mut lines = text.lines();
    assert!(lines.next().unwrap_or("").starts_with("name "), "{text}");
    let row = lines.next().unwrap_or("");
    assert!(row.starts_with("setup.exe "), "{text}");
    assert!(row.ends_with(&sha256_hex(b"setup")), "{text}");
}

#[test]
fn explain_says_a_win32_message_once() {
    let out = intunewin()
        .args(["explain", "0x80070004"])
        .output()
        .expect("runs");
    assert_code(&out, 0);
    let text = stdout(&out);
    assert_eq!(
        text.matches("The system cannot open the file.").count(),
        1,
        "{text}"
    );
    insta::assert_snapshot!(text);
}
