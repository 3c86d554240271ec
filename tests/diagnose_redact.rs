//! `intunewin diagnose --redact` (issue 16): identifiers found with this file's own patterns
//! (not the core's) are gone from what `diagnose` prints, each becomes one token wherever it
//! appears, and the app ids, verdicts and codes are untouched. On the synthetic fixtures
//! `testdata/imelogs-redact` and `testdata/imelogs-redact-common` (a user and a device named
//! like common words: replaced where stated as names, ordinary words kept) and on the shared
//! logs (`INTUNEWIN_IMELOGS`, `util::require`).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::LazyLock;

use intunewin_core::ime::LogSet;
use intunewin_core::ime::Redactor;
use intunewin_core::ime::diagnose;
use regex::Regex;

use crate::diagnose::imelogs_dir;

/// Identifiers in `text`, found independently of `ime::redact`: domain and Entra ID SIDs,
/// e-mail addresses, profile folder names, computer names, and the object ids the IME writes
/// after `user`, `userId:`, `"UserId":"`, `Device Id is :`, `"DeviceId":"` and in its
/// `Colmetadata` columns. The nil GUID and shared profiles name no one.
fn identifiers(text: &str) -> BTreeSet<String> {
    static PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(patterns);
    let mut found = BTreeSet::new();
    for re in PATTERNS.iter() {
        for c in re.captures_iter(text) {
            let groups: Vec<&str> = match c.len() {
                1 => vec![&c[0]],
                n => (1..n)
                    .filter_map(|i| c.get(i))
                    .map(|m| m.as_str())
                    .collect(),
            };
            for value in groups {
                let lower = value.to_lowercase();
                let shared = ["default", "public", "all users"].contains(&lower.as_str());
                if !shared && !value.bytes().all(|b| b == b'0' || b == b'-') {
                    found.insert(lower);
                }
            }
        }
    }
    found
}

fn patterns() -> Vec<Regex> {
    const ID: &str = "([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})";
    // A mail domain has letters, digits and hyphens (`Name+SOE@aab0956__x.log` is a file).
    let patterns = [
        r"S-1-5-21-\d+-\d+-\d+(?:-\d+)?".to_string(),
        r"S-1-12-1-\d+-\d+-\d+-\d+".to_string(),
        r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b".to_string(),
        r#"(?i)[a-z]:\\Users\\([^\\"$%]+)\\"#.to_string(),
        r"(?i)\b(?:DESKTOP|LAPTOP)-[a-z0-9]{7}\b".to_string(),
        format!(r#"(?i)(?:\buser |userId: |"UserId":"|Device Id is : |"DeviceId":"){ID}"#),
        format!(r#"(?i)"Colmetadata":"DeviceId;AccountId;[^"]*","Col1":"{ID}","Col2":"{ID}""#),
    ];
    patterns.iter().map(|p| Regex::new(p).unwrap()).collect()
}

/// Asserts that none of `ids` is in `text`, in any case.
fn assert_none_left(ids: &BTreeSet<String>, text: &str, what: &str) {
    let lower = text.to_lowercase();
    for id in ids {
        assert!(
            !lower.contains(id.as_str()),
            "{what}: `{id}` left in:\n{text}"
        );
    }
}

fn run(args: &[&str], input: &Path) -> (Option<i32>, String) {
    let out = crate::util::intunewin()
        .arg("diagnose")
        .args(args)
        .arg(input)
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

/// What must not change: each app's id, name, verdict, failed phase and code.
fn verdicts(json: &str) -> Vec<[serde_json::Value; 5]> {
    let json: serde_json::Value = serde_json::from_str(json).unwrap();
    json["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| ["id", "name", "verdict", "failedPhase", "code"].map(|k| a[k].clone()))
        .collect()
}

const TOOL: &str = "22222222-3333-4444-5555-666666666666";

/// The synthetic fixture: the story as a reader sees it redacted, every identifier of the
/// unredacted output gone from it and from the JSON, each mapped to one token in every case
/// it is written in, and the verdict unchanged.
#[test]
fn redact_fixture() {
    let fixture = crate::util::testdata().join("imelogs-redact");
    let (code, plain) = run(&["--app", TOOL], &fixture);
    assert_eq!(code, Some(1));
    let ids = identifiers(&plain);
    for expected in [
        "jdoe",
        "jdoe@contoso.com",
        "desktop-7q2wx9l",
        "s-1-5-21-1004336348-1177238915-682003330-1001",
    ] {
        assert!(ids.contains(expected), "{expected} not found in {ids:?}");
    }
    let (code, redacted) = run(&["--redact", "--app", TOOL], &fixture);
    assert_eq!(code, Some(1));
    assert_none_left(&ids, &redacted, "story");
    // The user's object id, learned from `userId:` and written here in upper case.
    assert!(plain.contains("1A2B3C4D-0000-4000-8000-00000000BEEF"));
    assert!(redacted.contains("/aad aad-user-1"), "{redacted}");
    // `JDoe` and `jdoe`: one user, one token; the SID the log states first is sid-1.
    assert_eq!(redacted.matches(r"C:\Users\user-1\Tools").count(), 3);
    assert!(redacted.contains("*sid-2:F"), "{redacted}");

    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex::escape(&fixture.display().to_string()), "[FIXTURE]");
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!("diagnose_redacted_app", redacted));

    let (_, plain_json) = run(&["--json"], &fixture);
    let (_, redacted_json) = run(&["--json", "--redact"], &fixture);
    assert_none_left(&identifiers(&plain_json), &redacted_json, "JSON");
    assert!(!identifiers(&plain_json).is_empty());
    assert_eq!(verdicts(&redacted_json), verdicts(&plain_json));
    assert_eq!(verdicts(&plain_json)[0][4], "0x80070643");
    let (_, summary) = run(&["--redact"], &fixture);
    assert!(summary.contains(TOOL), "{summary}");
}

/// The shared logs: what the redactor learns from them covers every identifier this file's
/// patterns find in any record, each becomes one token (the same one however often and in
/// whichever case it is met, a different one per identifier), the app ids and GUIDs that are
/// not people or devices are kept, and `diagnose --redact` prints no identifier and the same
/// verdicts as without it.
#[test]
fn redact_shared_logs() {
    let Some(dir) = imelogs_dir() else { return };
    let set = LogSet::from_paths(&[&dir]).unwrap();
    // Learned in the one read that diagnoses (what `diagnose --redact` does).
    let mut redactor = Redactor::new();
    let redacted_diagnosis = redactor.diagnose(&set).unwrap();
    let mut with_ids = Vec::new();
    set.read_records(|_, record| {
        let ids = identifiers(&record.message);
        if !ids.is_empty() {
            with_ids.push((record.message, ids));
        }
    })
    .unwrap();
    let all: BTreeSet<String> = with_ids.iter().flat_map(|(_, ids)| ids.clone()).collect();
    // The user's object id and Entra SID, and device and tenant ids, are stated in the logs.
    assert!(
        all.contains("abe70b00-e88e-4a5e-be37-787882c82fbb"),
        "{all:?}"
    );
    assert!(all.iter().any(|id| id.starts_with("s-1-12-1-")), "{all:?}");
    assert!(
        all.contains("8f8a7be1-3260-4db6-8e32-627877188563"),
        "{all:?}"
    );
    for (message, ids) in &with_ids {
        let redacted = redactor.redact(message);
        assert_none_left(ids, &redacted, "record");
    }
    let mut tokens = HashMap::new();
    for id in &all {
        let token = redactor.redact(id);
        assert_ne!(&token, id);
        assert_eq!(redactor.redact(&id.to_uppercase()), token, "{id}");
        assert_eq!(redactor.redact(id), token, "{id}");
        if let Some(other) = tokens.insert(token.clone(), id.clone()) {
            panic!("{id} and {other} share {token}");
        }
    }

    let diagnosis = diagnose(&set).unwrap();
    assert!(!diagnosis.apps.is_empty());
    let ids = |d: &intunewin_core::ime::Diagnosis| -> Vec<String> {
        d.apps.iter().map(|a| a.id.clone()).collect()
    };
    assert_eq!(ids(&redacted_diagnosis), ids(&diagnosis));
    for app in &diagnosis.apps {
        assert_eq!(redactor.redact(&app.id), app.id, "app ids are kept");
        for job in app.downloads.iter().filter_map(|d| d.job_id.as_ref()) {
            assert_eq!(&redactor.redact(job), job, "DO job ids are kept");
        }
    }

    for args in [&["--json"][..], &[]] {
        let (code, plain) = run(args, &dir);
        let redacted_args: Vec<&str> = args.iter().copied().chain(["--redact"]).collect();
        let (redacted_code, redacted) = run(&redacted_args, &dir);
        assert_eq!(code, redacted_code);
        assert!(matches!(code, Some(0 | 1)));
        assert_none_left(&all, &redacted, "diagnose output");
        assert_none_left(&identifiers(&plain), &redacted, "diagnose output");
        if args.is_empty() {
            // The summary names no one: redacting it changes nothing.
            assert_eq!(plain, redacted);
        } else {
            assert_eq!(verdicts(&redacted), verdicts(&plain));
        }
    }
}

const ADMIN_TOOLS: &str = "33333333-4444-4555-8666-777777777777";

/// Names where the text states them as a user's or device's, found with this file's own
/// pattern: profile folders, `CONTOSO\name`, a UPN's local part, `ComputerName=`/`:` and
/// `User name:` fields.
fn stated_names(text: &str) -> Vec<String> {
    static STATED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"(?i)\\Users\\([^\\"]+)\\|\bCONTOSO\\(\w[\w.-]*)|\b([\w.+-]+)@|ComputerName[:=] *(\w[\w-]*)|User name: (?:\w+\\)?(\w[\w.-]*)"#,
        )
        .unwrap()
    });
    STATED
        .captures_iter(text)
        .filter_map(|c| (1..c.len()).find_map(|i| c.get(i)))
        .map(|m| m.as_str().to_string())
        .collect()
}

/// Whole-word occurrences of `word` in `text`, in any case.
fn words(text: &str, word: &str) -> usize {
    Regex::new(&format!(r"(?i)\b{word}\b"))
        .unwrap()
        .find_iter(text)
        .count()
}

/// A user called `admin` on a device called `intune` (`testdata/imelogs-redact-common`): every
/// place that states them as names holds a token, while the same words elsewhere (the app's
/// name, `-Mode admin`, `-Portal intune`, a `ProgramData\Intune\admin` folder) are kept, as
/// many of them as without --redact; the UPN is gone; the verdict is unchanged.
#[test]
fn redact_common_names() {
    let fixture = crate::util::testdata().join("imelogs-redact-common");
    let (code, plain) = run(&["--app", ADMIN_TOOLS], &fixture);
    assert_eq!(code, Some(1));
    let stated = stated_names(&plain);
    for name in ["admin", "Admin", "intune"] {
        assert!(stated.iter().any(|s| s == name), "{name} not in {stated:?}");
    }
    let (code, redacted) = run(&["--redact", "--app", ADMIN_TOOLS], &fixture);
    assert_eq!(code, Some(1));
    let token = Regex::new(r"^(?:user|device)-[0-9]+$").unwrap();
    let left = stated_names(&redacted);
    assert_eq!(
        left.len(),
        stated.len() - 1,
        "the UPN is replaced whole: {left:?}"
    );
    for name in &left {
        assert!(token.is_match(name), "`{name}` stated in:\n{redacted}");
    }
    for word in ["admin", "intune", "system"] {
        let stated_here = stated
            .iter()
            .filter(|s| s.eq_ignore_ascii_case(word))
            .count();
        assert_eq!(
            words(&redacted, word),
            words(&plain, word) - stated_here,
            "`{word}` as an ordinary word:\n{redacted}"
        );
    }
    let mut ids = identifiers(&plain);
    ids.retain(|id| !["admin", "intune"].contains(&id.as_str()));
    assert!(ids.contains("admin@contoso.com"), "{ids:?}");
    assert_none_left(&ids, &redacted, "story");
    for kept in [
        "Intune Admin Tools 2.1 (33333333-4444-4555-8666-777777777777)",
        "-Mode admin -Portal intune",
        r"C:\ProgramData\Intune\admin\test.log",
    ] {
        assert!(redacted.contains(kept), "{kept} not kept in:\n{redacted}");
    }

    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex::escape(&fixture.display().to_string()), "[FIXTURE]");
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!("diagnose_redacted_common_names", redacted));

    let (_, plain_json) = run(&["--json", "--app", ADMIN_TOOLS], &fixture);
    let (_, redacted_json) = run(&["--json", "--redact", "--app", ADMIN_TOOLS], &fixture);
    assert_eq!(verdicts(&redacted_json), verdicts(&plain_json));
    let install = |json: &str| -> String {
        let json: serde_json::Value = serde_json::from_str(json).unwrap();
        json["apps"][0]["policy"]["installCommand"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let line = |text: &str| {
        let found = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("install: "));
        found.unwrap().to_string()
    };
    assert_eq!(install(&plain_json), line(&plain));
    assert_eq!(install(&redacted_json), line(&redacted));
}
