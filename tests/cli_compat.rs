//! The IntuneWinAppUtil command line (`intunewin -c … -s … -o … -q`), prompts, exit codes,
//! `pack --exclude`, completions, man page, Ctrl-C and safe names, through the real binary
//! (issue 3, FORMAT.md §10).

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{Fixture, intunewin, transcript};

/// Makes stdin count as a terminal so prompts can be answered by writing to stdin.
const ASSUME_TTY: &str = "INTUNEWIN_ASSUME_TTY";

/// A hang must fail the test, not the CI job.
const TIMEOUT: Duration = Duration::from_secs(30);

const PROMPTS: [&str; 4] = [
    "Please specify the source folder: ",
    "Please specify the setup file: ",
    "Please specify the output folder: ",
    "Do you want to specify catalog folder (Y/N)?",
];

/// A folder holding `src/` with `setup.exe`, `readme.txt` and `sub/setup.exe`.
fn fixture() -> Fixture {
    let fx = Fixture::empty();
    let src = fx.join("src");
    fs::create_dir_all(src.join("sub")).expect("mkdir");
    fs::write(src.join("setup.exe"), b"MZ root setup").expect("write");
    fs::write(src.join("readme.txt"), b"read me").expect("write");
    fs::write(src.join("sub").join("setup.exe"), b"MZ sub setup").expect("write");
    fx
}

/// The binary in `fx`'s folder told that stdin is a terminal, fed `answers`.
fn interactive(fx: &Fixture, args: &[&str], answers: &str) -> assert_cmd::Command {
    let mut cmd = fx.cmd(args);
    cmd.env(ASSUME_TTY, "1").write_stdin(answers.to_string());
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn info_json(package: &Path) -> Value {
    let out = intunewin()
        .arg("info")
        .arg(package)
        .arg("--json")
        .timeout(TIMEOUT)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("info prints JSON")
}

fn list_names(package: &Path) -> Vec<String> {
    let out = intunewin()
        .arg("list")
        .arg(package)
        .arg("--json")
        .timeout(TIMEOUT)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows: Value = serde_json::from_slice(&out.stdout).expect("list prints JSON");
    rows.as_array()
        .expect("an array")
        .iter()
        .map(|r| r["name"].as_str().expect("a name").to_string())
        .collect()
}

fn assert_verifies(package: &Path) {
    intunewin()
        .arg("verify")
        .arg(package)
        .timeout(TIMEOUT)
        .assert()
        .code(0);
}

/// Pins a successful run's log, from "Validating parameters" to "Done!!!", in the snapshot
/// `name` (paths spelled the Unix way: ci/windows.sh compares a Windows binary's log to Linux's,
/// separator-blind).
fn assert_log(fx: &Fixture, name: &str, stdout: &str) {
    if !crate::util::windows_binary() {
        fx.snapshot_settings()
            .bind(|| insta::assert_snapshot!(name, stdout));
    }
}

/// Runs and returns (exit code, stdout, stderr).
fn run(mut cmd: assert_cmd::Command) -> (Option<i32>, String, String) {
    let out = cmd.output().expect("runs");
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

// --- The IntuneWinAppUtil-shaped command line ---

#[test]
fn intunewinapputil_command_line_makes_a_package_verify_accepts() {
    let fx = fixture();
    let src = fx.join("src");
    let out = fx.join("out");
    fs::create_dir(&out).expect("mkdir");
    let (code, stdout, stderr) = run(fx.cmd(&[
        "-c",
        src.to_str().expect("utf-8"),
        "-s",
        "setup.exe",
        "-o",
        out.to_str().expect("utf-8"),
        "-q",
    ]));
    assert_eq!(code, Some(0), "{stderr}");
    assert_log(&fx, "compat_absolute_paths_log", &stdout);
    let package = out.join("setup.intunewin");
    assert_verifies(&package);
    let info = info_json(&package);
    assert_eq!(info["setupFile"], "setup.exe");
    assert_eq!(info["fileName"], "IntunePackage.intunewin");
    assert_eq!(
        fs::read_dir(&out).expect("read").count(),
        1,
        "only the package is left in the output folder"
    );
}

#[test]
fn setup_in_a_subfolder_is_written_with_a_backslash() {
    let fx = fixture();
    let (code, _, stderr) = run(fx.cmd(&["-c", "src", "-s", "sub/setup.exe", "-o", "out", "-q"]));
    assert_eq!(code, Some(0), "{stderr}");
    let package = fx.join("out/setup.intunewin");
    assert_verifies(&package);
    assert_eq!(info_json(&package)["setupFile"], "sub\\setup.exe");
}

#[test]
fn setup_given_as_a_full_path_inside_the_source() {
    let fx = fixture();
    let setup = fx.join("src/sub/setup.exe");
    let (code, _, stderr) = run(fx.cmd(&[
        "-s",
        setup.to_str().expect("utf-8"),
        "-o",
        "out",
        "-c",
        "src",
        "-q",
    ]));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        info_json(&fx.join("out/setup.intunewin"))["setupFile"],
        "sub\\setup.exe"
    );
}

#[test]
fn setup_given_with_a_windows_separator_on_any_os() {
    let fx = fixture();
    let (code, _, stderr) = run(fx.cmd(&["-c", "src", "-s", "sub\\setup.exe", "-o", "out", "-q"]));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        info_json(&fx.join("out/setup.intunewin"))["setupFile"],
        "sub\\setup.exe"
    );
}

#[test]
fn output_is_named_after_the_setup_stem_with_case_kept() {
    let fx = fixture();
    fs::write(fx.join("src/My.App.2.0.MSIX"), b"not really").expect("write");
    let (code, _, stderr) = run(fx.cmd(&["-c", "src", "-s", "My.App.2.0.MSIX", "-o", "out", "-q"]));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(fx.join("out/My.App.2.0.intunewin").is_file());
}

// --- Switches ---

#[test]
fn dash_v_prints_the_version() {
    let fx = fixture();
    let (code, stdout, _) = run(fx.cmd(&["-v"]));
    assert_eq!(code, Some(0));
    assert!(
        stdout.starts_with(&format!("intunewin {}", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );
    // The IntuneWinAppUtil version it writes (1.8.7.0) is pinned here.
    insta::with_settings!({filters => vec![(r"intunewin \d+\.\d+\.\d+", "intunewin [VERSION]")]}, {
        insta::assert_snapshot!("compat_version", stdout);
    });
}

#[test]
fn every_help_switch_lists_every_switch() {
    let fx = fixture();
    // `-h` lists every switch (pinned in the compat_help snapshot); `-?` and `/?` print the same.
    let (code, help, stderr) = run(fx.cmd(&["-h"]));
    assert_eq!(code, Some(0), "-h");
    assert!(stderr.is_empty(), "-h: {stderr}");
    assert!(!help.is_empty());
    for switch in ["-?", "/?"] {
        let (code, stdout, stderr) = run(fx.cmd(&[switch]));
        assert_eq!(code, Some(0), "{switch}");
        assert!(stderr.is_empty(), "{switch}: {stderr}");
        assert_eq!(stdout, help, "{switch}");
    }
}

#[test]
fn help_text_snapshot() {
    let fx = fixture();
    let (_, stdout, _) = run(fx.cmd(&["-h"]));
    insta::with_settings!({filters => vec![(r"intunewin \d+\.\d+\.\d+", "intunewin [VERSION]")]}, {
        insta::assert_snapshot!("compat_help", stdout);
    });
}

#[test]
fn dash_q_never_asks_and_logs() {
    let fx = fixture();
    // The output folder is missing: -q creates it without asking, even on a "terminal".
    let (code, stdout, stderr) = run(interactive(
        &fx,
        &["-c", "src", "-s", "setup.exe", "-o", "new/out", "-q"],
        "",
    ));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr, "", "nothing asked");
    assert!(fx.join("new/out/setup.intunewin").is_file());
    // The log, to its "Done!!!" (paths spelled the Unix way: ci/windows.sh compares the rest).
    if !crate::util::windows_binary() {
        fx.snapshot_settings()
            .bind(|| insta::assert_snapshot!("compat_quiet_log", stdout));
    }
}

#[test]
fn dash_qq_prints_nothing_on_stdout() {
    let fx = fixture();
    for order in [["-q", "-qq"], ["-qq", "-q"]] {
        let mut args = vec!["-c", "src", "-s", "setup.exe", "-o", "out"];
        args.extend(order);
        let (code, stdout, stderr) = run(fx.cmd(&args));
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(stdout, "", "{order:?}");
        assert_eq!(stderr, "", "{order:?}");
        assert!(fx.join("out/setup.intunewin").is_file());
    }
}

#[test]
fn switches_are_accepted_in_any_order() {
    let fx = fixture();
    let (code, _, stderr) = run(fx.cmd(&["-q", "-o", "out", "-s", "setup.exe", "-c", "src"]));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(fx.join("out/setup.intunewin").is_file());
}

#[test]
fn successful_run_log_snapshot() {
    if crate::util::not_for_windows_binary(
        "its snapshots spell paths the Unix way; ci/windows.sh compares the same output to Linux, separator-blind",
    ) {
        return;
    }
    let fx = fixture();
    fs::create_dir(fx.join("out")).expect("mkdir");
    let (code, stdout, _) = run(fx.cmd(&["-c", "src", "-s", "sub/setup.exe", "-o", "out", "-q"]));
    assert_eq!(code, Some(0));
    let root = fx.path().canonicalize().expect("canonical");
    let stdout = stdout.replace(root.to_str().expect("utf-8"), "[TMP]");
    insta::with_settings!({filters => vec![
        (r"within \d+ milliseconds", "within [N] milliseconds"),
        (r"base64\) [A-Za-z0-9+/=]{44}", "base64) [DIGEST]"),
    ]}, {
        insta::assert_snapshot!("compat_success_log", stdout);
    });
}

// --- Prompts (stdin treated as a terminal) ---

#[test]
fn no_arguments_on_a_terminal_asks_the_four_prompts_in_order() {
    let fx = fixture();
    fs::create_dir(fx.join("out")).expect("mkdir");
    let (code, stdout, stderr) = run(interactive(&fx, &[], "src\nsub/setup.exe\nout\nN\n"));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stderr,
        PROMPTS.concat(),
        "exactly the four prompts, in order"
    );
    assert_log(&fx, "compat_prompted_log", &stdout);
    assert_eq!(
        info_json(&fx.join("out/setup.intunewin"))["setupFile"],
        "sub\\setup.exe"
    );
}

/// The same dialogue on a real pseudo-terminal, without the test-only variable: stdin is
/// detected as a terminal, and the missing output folder is offered for creation.
#[cfg(unix)]
#[test]
fn prompts_on_a_real_pseudo_terminal() {
    if crate::util::not_for_windows_binary(
        "a Unix pseudo-terminal; a Windows program under Wine does not see it as its console",
    ) {
        return;
    }
    let fx = fixture();
    let mut cmd = crate::util::binary_command();
    cmd.current_dir(fx.path()).env_remove(ASSUME_TTY);
    let mut pty = rexpect::session::spawn_command(cmd, Some(30_000)).expect("spawns in a pty");
    for (prompt, answer) in PROMPTS.iter().zip(["src", "sub/setup.exe", "newout", "N"]) {
        pty.exp_string(prompt).expect(prompt);
        pty.send_line(answer).expect("types");
    }
    pty.exp_string("The output foder 'newout' does not exist. Do you want to create it (Y/N)?")
        .expect("create-folder prompt");
    pty.send_line("Y").expect("types");
    let rest = pty.exp_eof().expect("ends");
    // The log to its "Done!!!", without the progress bar a terminal gets (each frame ends in
    // a carriage return and an erase-line; how many are drawn depends on timing).
    let log = rest.replace("\r\n", "\n");
    let mut settings = fx.snapshot_settings();
    settings.add_filter(r" *packing \[[^\r]*\r\x1b\[2K", "");
    settings.bind(|| insta::assert_snapshot!("compat_pseudo_terminal_log", log));
    let status = format!("{:?}", pty.process().wait().expect("waits"));
    assert!(
        status.starts_with("Exited(") && status.ends_with(", 0)"),
        "{status}"
    );
    assert_eq!(
        info_json(&fx.join("newout/setup.intunewin"))["setupFile"],
        "sub\\setup.exe"
    );
}

#[test]
fn prompted_paths_may_be_quoted() {
    let fx = fixture();
    fs::create_dir(fx.join("out")).expect("mkdir");
    let (code, _, stderr) = run(interactive(
        &fx,
        &[],
        "\"src\"\n\"setup.exe\"\n\"out\"\nn\n",
    ));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(fx.join("out/setup.intunewin").is_file());
}

#[test]
fn catalog_answer_yes_asks_for_the_folder_and_packs_it() {
    let fx = fixture();
    fs::create_dir(fx.join("out")).expect("mkdir");
    fs::create_dir(fx.join("cats")).expect("mkdir");
    fs::write(fx.join("cats/app.cat"), b"catalog").expect("write");
    let (code, stdout, stderr) = run(interactive(&fx, &[], "src\nsetup.exe\nout\nY\ncats\n"));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "{}Please specify the catalog folder: ",
            PROMPTS.concat()
        )),
        "{stderr}"
    );
    if !crate::util::windows_binary() {
        fx.snapshot_settings()
            .bind(|| insta::assert_snapshot!("compat_catalog_log", stdout));
    }
    assert_catalog_packed(&fx.join("out/setup.intunewin"));
}

/// The package verifies and holds the catalog file under the catalog folder (FORMAT.md §9).
fn assert_catalog_packed(package: &Path) {
    let out = intunewin()
        .args(["list", "--json"])
        .arg(package)
        .output()
        .expect("run list");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let names: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(
        names.last().copied(),
        Some("Cat_C029B285-222F-460B-8ECA-2CD7A8A424B7/app.cat"),
        "{names:?}"
    );
}

#[test]
fn missing_switches_are_asked_for_on_a_terminal() {
    let fx = fixture();
    fs::create_dir(fx.join("out")).expect("mkdir");
    let (code, _, stderr) = run(interactive(&fx, &["-c", "src", "-o", "out"], "setup.exe\n"));
    assert_eq!(code, Some(0), "{stderr}");
    // Only the missing value is asked for, and no catalog question.
    assert_eq!(stderr, "Please specify the setup file: ");
    assert!(fx.join("out/setup.intunewin").is_file());
}

#[test]
fn end_of_input_while_asking_fails_without_hanging() {
    let fx = fixture();
    let (code, stdout, stderr) = run(interactive(&fx, &[], "src\n"));
    assert_eq!(code, Some(2), "{stderr}");
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!(transcript(&[], code, &stdout, &stderr)));
}

#[test]
fn create_folder_prompt_yes_creates_it() {
    let fx = fixture();
    let (code, stdout, stderr) = run(interactive(
        &fx,
        &["-c", "src", "-s", "setup.exe", "-o", "newout"],
        "Y\n",
    ));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stderr,
        "The output foder 'newout' does not exist. Do you want to create it (Y/N)?"
    );
    assert_log(&fx, "compat_created_folder_log", &stdout);
    assert!(fx.join("newout/setup.intunewin").is_file());
}

#[test]
fn create_folder_prompt_no_writes_nothing() {
    let fx = fixture();
    let (code, stdout, stderr) = run(interactive(
        &fx,
        &["-c", "src", "-s", "setup.exe", "-o", "newout"],
        "N\n",
    ));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!fx.join("newout").exists());
    fx.snapshot_settings().bind(|| {
        insta::assert_snapshot!(transcript(
            &["-c", "src", "-s", "setup.exe", "-o", "newout"],
            code,
            &stdout,
            &stderr
        ))
    });
}

#[test]
fn missing_output_folder_without_a_terminal_or_q_fails_with_a_hint() {
    let fx = fixture();
    let args = ["-c", "src", "-s", "setup.exe", "-o", "newout"];
    let (code, stdout, stderr) = run(fx.cmd(&args));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!fx.join("newout").exists());
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!(transcript(&args, code, &stdout, &stderr)));
}

/// Packs once with -q so that `out/setup.intunewin` exists; returns its bytes.
fn existing_package(fx: &Fixture) -> Vec<u8> {
    let (code, _, stderr) = run(fx.cmd(&["-c", "src", "-s", "setup.exe", "-o", "out", "-qq"]));
    assert_eq!(code, Some(0), "{stderr}");
    fs::read(fx.join("out/setup.intunewin")).expect("package")
}

#[test]
fn overwrite_prompt_yes_replaces_the_package() {
    if crate::util::not_for_windows_binary(
        "it expects out/setup.intunewin; Windows joins the folder it was given as out\\setup.intunewin (compared separator-blind by ci/windows.sh)",
    ) {
        return;
    }
    let fx = fixture();
    let before = existing_package(&fx);
    let (code, stdout, stderr) = run(interactive(
        &fx,
        &["-c", "src", "-s", "setup.exe", "-o", "out"],
        "y\n",
    ));
    assert_eq!(code, Some(0), "{stderr}");
    let expected = format!(
        "The file '{}' already exists. Do you want to overwrite it (Y/N)?",
        Path::new("out").join("setup.intunewin").display()
    );
    assert_eq!(stderr, expected);
    assert_log(&fx, "compat_overwritten_log", &stdout);
    // Fresh random keys: a new package differs from the old one.
    assert_ne!(
        fs::read(fx.join("out/setup.intunewin")).expect("package"),
        before
    );
    assert_verifies(&fx.join("out/setup.intunewin"));
}

#[test]
fn overwrite_prompt_no_keeps_the_package() {
    let fx = fixture();
    let before = existing_package(&fx);
    let (code, stdout, stderr) = run(interactive(
        &fx,
        &["-c", "src", "-s", "setup.exe", "-o", "out"],
        "N\n",
    ));
    assert_eq!(code, Some(2), "{stderr}");
    fx.snapshot_settings().bind(|| {
        insta::assert_snapshot!(transcript(
            &["-c", "src", "-s", "setup.exe", "-o", "out"],
            code,
            &stdout,
            &stderr
        ))
    });
    assert_eq!(
        fs::read(fx.join("out/setup.intunewin")).expect("package"),
        before
    );
}

#[test]
fn overwrite_with_q_replaces_without_asking() {
    let fx = fixture();
    let before = existing_package(&fx);
    let (code, _, stderr) = run(fx.cmd(&["-c", "src", "-s", "setup.exe", "-o", "out", "-q"]));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr, "", "nothing asked");
    assert_ne!(
        fs::read(fx.join("out/setup.intunewin")).expect("package"),
        before
    );
}

#[test]
fn overwrite_without_q_or_a_terminal_fails_and_keeps_the_package() {
    let fx = fixture();
    let before = existing_package(&fx);
    let args = ["-c", "src", "-s", "setup.exe", "-o", "out"];
    let (code, stdout, stderr) = run(fx.cmd(&args));
    assert_eq!(code, Some(2), "{stderr}");
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!(transcript(&args, code, &stdout, &stderr)));
    assert_eq!(
        fs::read(fx.join("out/setup.intunewin")).expect("package"),
        before
    );
}

// --- Never waiting without a terminal ---

/// Runs the binary with stdin a pipe that stays open (not a terminal, never at end of file), so
/// a read of stdin blocks: fails the test when the binary has not exited within 10 s.
fn run_with_open_stdin(fx: &Fixture, args: &[&str]) -> (Option<i32>, String, String) {
    use std::process::{Command, Stdio};
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("intunewin"))
        .current_dir(fx.path())
        .env_remove(ASSUME_TTY)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdin = child.stdin.take();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            child.kill().expect("kill");
            panic!("{args:?}: still running after 10 s, waiting for input");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    let out = child.wait_with_output().expect("output");
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn missing_switches_without_a_terminal_exit_2_at_once() {
    let fx = fixture();
    let cases: [&[&str]; 4] = [
        &[],
        &["-s", "setup.exe", "-o", "out"],
        &["-c", "src", "-o", "out"],
        &["-c", "src", "-s", "setup.exe"],
    ];
    let mut text = String::new();
    for args in cases {
        let (code, stdout, stderr) = run_with_open_stdin(&fx, args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        text.push_str(&transcript(args, code, &stdout, &stderr));
    }
    assert!(!fx.join("out").exists());
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!(text));
}

#[test]
fn missing_switches_with_q_are_not_asked_even_on_a_terminal() {
    let fx = fixture();
    let (code, stdout, stderr) = run(interactive(&fx, &["-c", "src", "-q"], "setup.exe\nout\n"));
    assert_eq!(code, Some(2), "{stderr}");
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!(transcript(&["-c", "src", "-q"], code, &stdout, &stderr)));
}

// --- Failures: non-zero, a hint, never "Done!!!" ---

/// Asserts a failed run's exit code and returns its transcript: the messages (and that no
/// success line was printed) are checked in the snapshot of the calling test.
fn assert_fails(fx: &Fixture, args: &[&str], code: i32) -> String {
    let (got, stdout, stderr) = run(fx.cmd(args));
    assert_eq!(got, Some(code), "{args:?}: {stderr}");
    transcript(args, got, &stdout, &stderr)
}

#[test]
fn setup_outside_the_source_is_refused_with_a_hint() {
    let fx = fixture();
    fs::write(fx.join("outside.exe"), b"MZ").expect("write");
    let outside = fx.join("outside.exe");
    let text = assert_fails(
        &fx,
        &[
            "-c",
            "src",
            "-s",
            outside.to_str().expect("utf-8"),
            "-o",
            "out",
            "-q",
        ],
        2,
    );
    assert!(!fx.join("out").exists(), "nothing created");
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!(text));
}

#[test]
fn output_inside_the_source_is_refused_before_creating_it() {
    let fx = fixture();
    let text = assert_fails(
        &fx,
        &["-c", "src", "-s", "setup.exe", "-o", "src/out", "-q"],
        2,
    );
    assert!(
        !fx.join("src/out").exists(),
        "nothing created in the source"
    );
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!(text));
}

#[test]
fn empty_source_is_refused_with_a_hint() {
    let fx = fixture();
    fs::create_dir(fx.join("empty")).expect("mkdir");
    let text = assert_fails(
        &fx,
        &["-c", "empty", "-s", "setup.exe", "-o", "out", "-q"],
        2,
    );
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!(text));
}

#[test]
fn missing_source_and_missing_setup_fail() {
    let fx = fixture();
    let text = assert_fails(
        &fx,
        &["-c", "nope", "-s", "setup.exe", "-o", "out", "-q"],
        2,
    ) + &assert_fails(&fx, &["-c", "src", "-s", "nope.exe", "-o", "out", "-q"], 2);
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!(text));
}

#[test]
fn catalog_switch_is_checked_and_packed() {
    let fx = fixture();
    let args = |cat: &'static str| ["-c", "src", "-s", "setup.exe", "-o", "out", "-a", cat, "-q"];
    let mut text = assert_fails(&fx, &args("nocats"), 2);
    fs::create_dir(fx.join("emptycats")).expect("mkdir");
    text += &assert_fails(&fx, &args("emptycats"), 2);
    fs::write(fx.join("src/sub/app.cat"), b"cat").expect("write");
    text += &assert_fails(&fx, &args("src/sub"), 2);
    assert!(!fx.join("out/setup.intunewin").exists());
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!(text));
    fs::create_dir(fx.join("cats")).expect("mkdir");
    fs::write(fx.join("cats/app.cat"), b"cat").expect("write");
    let (code, _, stderr) = run(fx.cmd(&args("cats")));
    assert_eq!(code, Some(0), "{stderr}");
    assert_catalog_packed(&fx.join("out/setup.intunewin"));
}

#[test]
fn bad_command_lines_exit_2_with_usage() {
    let fx = fixture();
    let mut text = String::new();
    for args in [
        &["-c", "src", "-s"][..],
        &["-c", "src", "-c", "src"][..],
        &["-c", "src", "--bogus"][..],
    ] {
        text += &assert_fails(&fx, args, 2);
    }
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!(text));
}

#[test]
fn unsafe_paths_are_refused_with_exit_1() {
    if crate::util::not_for_windows_binary(
        "its fixtures are names Windows cannot hold (a trailing dot)",
    ) {
        return;
    }
    let fx = fixture();
    // A trailing dot cannot exist on Windows (FORMAT.md §12.2).
    fs::write(fx.join("src/bad."), b"x").expect("write");
    let text = assert_fails(&fx, &["-c", "src", "-s", "setup.exe", "-o", "out", "-q"], 1);
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!(text));
    let (code, _, stderr) = run(fx.cmd(&[
        "-c",
        "src",
        "-s",
        "setup.exe",
        "-o",
        "out",
        "-q",
        "--allow-unsafe-paths",
    ]));
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn failure_output_snapshot() {
    if crate::util::not_for_windows_binary(
        "its snapshots spell paths the Unix way; ci/windows.sh compares the same output to Linux, separator-blind",
    ) {
        return;
    }
    let fx = fixture();
    fs::write(fx.join("outside.exe"), b"MZ").expect("write");
    let (_, stdout, stderr) =
        run(fx.cmd(&["-c", "src", "-s", "../outside.exe", "-o", "out", "-q"]));
    let root = fx.path().canonicalize().expect("canonical");
    let all = format!("--- stdout\n{stdout}--- stderr\n{stderr}")
        .replace(root.to_str().expect("utf-8"), "[TMP]");
    insta::assert_snapshot!("compat_setup_outside_source", all);
}

// --- --exclude ---

#[test]
fn pack_exclude_leaves_out_names_paths_and_folders() {
    let fx = fixture();
    let src = fx.join("src");
    fs::write(src.join("app.pdb"), b"symbols").expect("write");
    fs::write(src.join("sub/deep.PDB"), b"symbols").expect("write");
    fs::create_dir_all(src.join("logs/old")).expect("mkdir");
    fs::write(src.join("logs/old/a.log"), b"log").expect("write");
    fs::create_dir_all(src.join("docs/api")).expect("mkdir");
    fs::write(src.join("docs/keep.md"), b"doc").expect("write");
    fs::write(src.join("docs/api/drop.md"), b"doc").expect("write");
    // `logs` as a file elsewhere is kept: the trailing `/` means folders only.
    fs::write(src.join("sub/logs"), b"a file named logs").expect("write");
    let (code, _, stderr) = run(fx.cmd(&[
        "pack",
        "src",
        "--setup",
        "setup.exe",
        "--output",
        "out",
        "--quiet",
        "--exclude",
        "*.pdb",
        "--exclude",
        "logs/",
        "--exclude",
        "docs/*/*.md",
    ]));
    assert_eq!(code, Some(0), "{stderr}");
    let mut names = list_names(&fx.join("out/setup.intunewin"));
    names.sort();
    assert_eq!(
        names,
        [
            "docs/api/",
            "docs/keep.md",
            "readme.txt",
            "setup.exe",
            "sub/logs",
            "sub/setup.exe"
        ]
    );
}

/// `\` in a pattern is a folder separator on every OS (globset alone would read it as an escape
/// on Unix and a separator on Windows, so `Files\Config` excluded nothing on one of them).
#[test]
fn pack_exclude_accepts_backslash_as_a_separator() {
    let fx = fixture();
    let src = fx.join("src");
    fs::create_dir_all(src.join("docs/api")).expect("mkdir");
    fs::write(src.join("docs/api/drop.md"), b"doc").expect("write");
    fs::write(src.join("docs/keep.md"), b"doc").expect("write");
    fs::create_dir_all(src.join("sub/logs")).expect("mkdir");
    fs::write(src.join("sub/logs/a.log"), b"log").expect("write");
    let (code, _, stderr) = run(fx.cmd(&[
        "pack",
        "src",
        "--setup",
        "setup.exe",
        "--output",
        "out",
        "--quiet",
        "--exclude",
        "docs\\api",
        "--exclude",
        "sub\\logs\\",
    ]));
    assert_eq!(code, Some(0), "{stderr}");
    let mut names = list_names(&fx.join("out/setup.intunewin"));
    names.sort();
    assert_eq!(
        names,
        ["docs/keep.md", "readme.txt", "setup.exe", "sub/setup.exe"]
    );
}

#[test]
fn compat_form_accepts_exclude_too() {
    let fx = fixture();
    let (code, _, stderr) = run(fx.cmd(&[
        "-c",
        "src",
        "-s",
        "setup.exe",
        "-o",
        "out",
        "-qq",
        "--exclude",
        "readme.*",
    ]));
    assert_eq!(code, Some(0), "{stderr}");
    let names = list_names(&fx.join("out/setup.intunewin"));
    assert!(!names.iter().any(|n| n == "readme.txt"), "{names:?}");
    assert!(names.iter().any(|n| n == "setup.exe"), "{names:?}");
}

#[test]
fn excluding_the_setup_file_is_a_clear_error() {
    let fx = fixture();
    let first = [
        "pack",
        "src",
        "--setup",
        "sub/setup.exe",
        "--output",
        "out",
        "--exclude",
        "sub",
    ];
    let second = [
        "-c",
        "src",
        "-s",
        "setup.exe",
        "-o",
        "out",
        "-q",
        "--exclude",
        "*.EXE",
    ];
    let mut text = String::new();
    for args in [&first[..], &second[..]] {
        let (code, stdout, stderr) = run(fx.cmd(args));
        assert_eq!(code, Some(2), "{stderr}");
        text += &transcript(args, code, &stdout, &stderr);
    }
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!(text));
}

#[test]
fn invalid_exclude_pattern_is_a_usage_error() {
    let fx = fixture();
    let args = [
        "pack",
        "src",
        "--setup",
        "setup.exe",
        "--output",
        "out",
        "--exclude",
        "a[",
    ];
    let (code, stdout, stderr) = run(fx.cmd(&args));
    assert_eq!(code, Some(2), "{stderr}");
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!(transcript(&args, code, &stdout, &stderr)));
}

#[test]
fn pack_errors_carry_a_hint() {
    let fx = fixture();
    let args = ["pack", "src", "--setup", "setup.exe", "--output", "src/out"];
    let (code, stdout, stderr) = run(fx.cmd(&args));
    assert_eq!(code, Some(2), "{stderr}");
    fx.snapshot_settings()
        .bind(|| insta::assert_snapshot!(transcript(&args, code, &stdout, &stderr)));
}

// --- completions and man page ---

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = intunewin()
            .args(["completions", shell])
            .timeout(TIMEOUT)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = text(&out.stdout);
        assert!(script.contains("intunewin"), "{shell}");
        for sub in ["pack", "verify", "extract", "completions"] {
            assert!(script.contains(sub), "{shell} lacks {sub}");
        }
    }
    let bash = text(
        &intunewin()
            .args(["completions", "bash"])
            .output()
            .expect("runs")
            .stdout,
    );
    assert!(
        bash.contains("complete -F _intunewin"),
        "a bash completion function"
    );
    assert!(bash.contains("--exclude"), "pack's options are completed");
}

#[test]
fn unknown_shell_is_a_usage_error() {
    intunewin()
        .args(["completions", "cmd.exe"])
        .timeout(TIMEOUT)
        .assert()
        .code(2);
}

#[test]
fn man_pages_are_roff() {
    let page = intunewin()
        .arg("man")
        .timeout(TIMEOUT)
        .output()
        .expect("runs");
    assert_eq!(page.status.code(), Some(0));
    let page = text(&page.stdout);
    assert!(page.starts_with(".ie"), "roff preamble");
    assert!(page.contains(".TH intunewin 1"), "{page}");
    assert!(
        page.contains("intunewin\\-pack(1)"),
        "subcommands are listed"
    );
    let pack = text(
        &intunewin()
            .args(["man", "pack"])
            .output()
            .expect("runs")
            .stdout,
    );
    assert!(pack.contains(".TH intunewin-pack 1"), "{pack}");
    assert!(
        pack.contains(&format!("\"intunewin {}\"", env!("CARGO_PKG_VERSION"))),
        "{pack}"
    );
    assert!(pack.contains("\\-\\-exclude"), "{pack}");
    intunewin()
        .args(["man", "nope"])
        .timeout(TIMEOUT)
        .assert()
        .code(2);
}

// --- Names from packages are shown escaped ---

#[cfg(unix)]
#[test]
fn escape_sequences_in_entry_names_are_shown_escaped() {
    if crate::util::not_for_windows_binary(
        "its fixture names hold escape characters, which Windows cannot hold",
    ) {
        return;
    }
    let fx = fixture();
    fs::write(fx.join("src/red\x1b[31mtext.txt"), b"x").expect("write");
    let (code, _, stderr) = run(fx.cmd(&[
        "pack",
        "src",
        "--setup",
        "setup.exe",
        "--output",
        "out",
        "--quiet",
        "--allow-unsafe-paths",
    ]));
    assert_eq!(code, Some(0), "{stderr}");
    // The name refuses the package (exit 1, as verify), but list still shows every entry.
    let (code, stdout, stderr) = run(fx.cmd(&["list", "out/setup.intunewin"]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        !stdout.contains('\x1b') && !stderr.contains('\x1b'),
        "no raw escape reaches the terminal"
    );
    assert!(stderr.contains("[control-character]"), "{stderr}");
    assert!(stdout.contains("red\\u{1b}[31mtext.txt"), "{stdout}");
    // JSON keeps the real name (escaped by JSON itself), with the same verdict.
    let out = fx
        .cmd(&["list", "out/setup.intunewin", "--json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let rows: Value = serde_json::from_slice(&out.stdout).expect("list prints JSON");
    let names: Vec<&str> = rows
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(names.contains(&"red\x1b[31mtext.txt"), "{names:?}");
}

// --- Ctrl-C ---

/// Writes `count` incompressible files of `mib` MiB each: a 1 MiB xorshift block repeated
/// (deflate's 32 KiB window cannot see the repetition), cheap to generate.
#[cfg(unix)]
fn write_large_source(dir: &Path, count: usize, mib: usize) {
    fs::create_dir_all(dir).expect("mkdir");
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let block: Vec<u8> = (0..(1 << 17))
        .flat_map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()
        })
        .collect();
    let data = block.repeat(mib);
    for i in 0..count {
        fs::write(dir.join(format!("data{i:02}.bin")), &data).expect("write");
    }
    fs::write(dir.join("setup.exe"), b"MZ").expect("write");
}

/// The signals that interrupt a run (Ctrl-C, CI cancellation or `timeout`, a closed terminal)
/// and the exit code each must give: 128 + the signal's number.
#[cfg(unix)]
const SIGNALS: [(&str, i32); 3] = [("INT", 130), ("TERM", 143), ("HUP", 129)];

/// Starts the binary, sends `signal` once `started` says the work is under way, returns its
/// exit code.
#[cfg(unix)]
fn interrupt_with(
    signal: &str,
    args: &[&Path],
    cwd: &Path,
    started: impl Fn() -> bool,
) -> Option<i32> {
    match try_interrupt(signal, args, cwd, &started) {
        Ok(code) => code,
        Err(status) => panic!("finished before it could be interrupted: {status}"),
    }
}

/// [`interrupt_with`] for work that may finish between two looks on a loaded machine (a
/// decryption's writing pass can take well under a second): when the run ended before the
/// signal could be sent, `reset` removes what it wrote and the run is tried again, up to five
/// times. What is checked (the exit code, nothing left) is the same for every try.
#[cfg(unix)]
fn interrupt_retrying(
    signal: &str,
    args: &[&Path],
    cwd: &Path,
    started: impl Fn() -> bool,
    reset: impl Fn(),
) -> Option<i32> {
    for _ in 0..4 {
        match try_interrupt(signal, args, cwd, &started) {
            Ok(code) => return code,
            Err(_) => reset(),
        }
    }
    interrupt_with(signal, args, cwd, started)
}

/// Runs the binary, waits until `started`, sends `signal`, and returns the exit code; `Err`
/// with the status when the run ended before it could be interrupted.
#[cfg(unix)]
fn try_interrupt(
    signal: &str,
    args: &[&Path],
    cwd: &Path,
    started: &dyn Fn() -> bool,
) -> Result<Option<i32>, std::process::ExitStatus> {
    let mut child = crate::util::binary_command()
        .args(args)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawns");
    let deadline = Instant::now() + TIMEOUT;
    while !started() {
        assert!(Instant::now() < deadline, "the work never started");
        if let Some(status) = child.try_wait().expect("waits") {
            return Err(status);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // The Ctrl-C handler is installed before any work starts; let some bytes flow first.
    std::thread::sleep(Duration::from_millis(20));
    let killed = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("waits");
    Ok(status.code())
}

#[cfg(unix)]
fn names_in(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(unix)]
#[test]
fn a_signal_during_pack_leaves_nothing_and_exits_128_plus_the_signal() {
    if crate::util::not_for_windows_binary(
        "Unix signals (SIGTERM, SIGHUP); Windows has Ctrl-C and Ctrl-Break console events instead",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    write_large_source(&dir.path().join("src"), 15, 20);
    let out = dir.path().join("out");
    fs::create_dir(&out).expect("mkdir");
    for (signal, expected) in SIGNALS {
        let started = || names_in(&out).iter().any(|n| n.ends_with(".tmp"));
        let code = interrupt_with(
            signal,
            &[
                Path::new("pack"),
                Path::new("src"),
                Path::new("--setup"),
                Path::new("setup.exe"),
                Path::new("--output"),
                Path::new("out"),
            ],
            dir.path(),
            started,
        );
        assert_eq!(code, Some(expected), "SIG{signal}");
        assert_eq!(
            names_in(&out),
            Vec::<String>::new(),
            "SIG{signal}: no package, no temporary file"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_signal_during_compat_pack_exits_128_plus_the_signal() {
    if crate::util::not_for_windows_binary(
        "Unix signals (SIGTERM, SIGHUP); Windows has Ctrl-C and Ctrl-Break console events instead",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    write_large_source(&dir.path().join("src"), 15, 20);
    let out = dir.path().join("out");
    for (signal, expected) in SIGNALS {
        let started = || names_in(&out).iter().any(|n| n.ends_with(".tmp"));
        let code = interrupt_with(
            signal,
            &[
                Path::new("-c"),
                Path::new("src"),
                Path::new("-s"),
                Path::new("setup.exe"),
                Path::new("-o"),
                Path::new("out"),
                Path::new("-q"),
            ],
            dir.path(),
            started,
        );
        assert_eq!(code, Some(expected), "SIG{signal}");
        assert!(
            !out.exists(),
            "SIG{signal}: the output folder made for this run is removed again"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_signal_during_extract_or_decrypt_leaves_nothing_and_exits_128_plus_the_signal() {
    if crate::util::not_for_windows_binary(
        "Unix signals (SIGTERM, SIGHUP); Windows has Ctrl-C and Ctrl-Break console events instead",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    write_large_source(&dir.path().join("src"), 8, 20);
    let (code, _, stderr) = run({
        let mut cmd = intunewin();
        cmd.current_dir(dir.path())
            .args([
                "pack",
                "src",
                "--setup",
                "setup.exe",
                "--output",
                "pkg",
                "--quiet",
            ])
            .timeout(Duration::from_secs(300));
        cmd
    });
    assert_eq!(code, Some(0), "{stderr}");
    let pkg = dir.path().join("pkg");
    let started = || {
        names_in(&pkg)
            .iter()
            .any(|n| n.starts_with(".intunewin-extract-"))
    };
    for (signal, expected) in SIGNALS {
        let code = interrupt_retrying(
            signal,
            &[
                Path::new("extract"),
                Path::new("pkg/setup.intunewin"),
                Path::new("--output"),
                Path::new("pkg/content"),
            ],
            dir.path(),
            started,
            || {
                let _ = fs::remove_dir_all(pkg.join("content"));
            },
        );
        assert_eq!(code, Some(expected), "SIG{signal}");
        assert_eq!(
            names_in(&pkg),
            ["setup.intunewin"],
            "SIG{signal}: no destination, no temporary folder"
        );
    }
    // decrypt: the inner zip is written to a temporary file beside the output.
    let content = dir.path().join("content.bin");
    let saved = intunewin()
        .current_dir(dir.path())
        .args(["extract-content", "pkg/setup.intunewin", "-o"])
        .arg(&content)
        .output()
        .expect("runs");
    assert_eq!(saved.status.code(), Some(0));
    let out = dir.path().join("plain");
    fs::create_dir(&out).expect("mkdir");
    for (signal, expected) in SIGNALS {
        let started = || names_in(&out).iter().any(|n| n.ends_with(".tmp"));
        let code = interrupt_retrying(
            signal,
            &[
                Path::new("decrypt"),
                &content,
                Path::new("--package"),
                Path::new("pkg/setup.intunewin"),
                Path::new("-o"),
                Path::new("plain/inner.zip"),
            ],
            dir.path(),
            started,
            || {
                let _ = fs::remove_file(out.join("inner.zip"));
            },
        );
        assert_eq!(code, Some(expected), "decrypt, SIG{signal}");
        assert_eq!(names_in(&out), Vec::<String>::new(), "decrypt, SIG{signal}");
    }
}
