//! `intunewin explain` through the real binary (issue 7).

use predicates::prelude::*;
use serde_json::Value;

use crate::util::intunewin;

/// Every code issue 7 lists, with the signed decimal form Intune reports.
const LISTED: [(&str, i64); 17] = [
    ("0x87D30065", -2016214939),
    ("0x87D30067", -2016214937),
    ("0x87D30068", -2016214936),
    ("0x87D3006A", -2016214934),
    ("0x87D300C9", -2016214839),
    ("0x87D300CA", -2016214838),
    ("0x87D300CD", -2016214835),
    ("0x87D30000", -2016215040),
    ("0x87D1041C", -2016345060),
    ("0x80070001", -2147024895),
    ("0x80070002", -2147024894),
    ("0x80070004", -2147024892),
    ("0x8007EA61", -2146964895),
    ("0x8007EA68", -2146964888),
    ("0x80070005", -2147024891),
    ("0x8007013A", -2147024582),
    ("0x8007026B", -2147024277),
];

fn explain_json(args: &[&str]) -> (Value, Option<i32>) {
    let out = intunewin()
        .arg("explain")
        .args(args)
        .arg("--json")
        .output()
        .expect("runs");
    let json = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    (json, out.status.code())
}

#[test]
fn every_listed_code_is_known() {
    for (code, signed) in LISTED {
        let (json, status) = explain_json(&[code]);
        assert_eq!(status, Some(0), "{code}");
        assert_eq!(json["code"], code);
        assert_eq!(json["signed"], signed);
        assert_eq!(json["known"], true);
        assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(json["phases"].as_array().is_some_and(|p| !p.is_empty()));
        assert!(json["causes"].as_array().is_some_and(|c| !c.is_empty()));
        assert!(json["checks"].as_array().is_some_and(|c| !c.is_empty()));
    }
}

#[test]
fn every_input_form_gives_the_same_code() {
    for form in [
        "0x87D30067",
        "0x87d30067",
        "0X87D30067",
        "87D30067",
        "87d30067",
        "-2016214937",
        "2278752359",
    ] {
        let (json, status) = explain_json(&[form]);
        assert_eq!(status, Some(0), "{form}");
        assert_eq!(json["code"], "0x87D30067", "{form}");
        assert_eq!(json["unsigned"], 2278752359u32, "{form}");
    }
}

#[test]
fn all_digit_hresult_is_read_as_hex_and_long_decimal_as_decimal() {
    let (json, _) = explain_json(&["80070005"]);
    assert_eq!(json["code"], "0x80070005");
    let (json, _) = explain_json(&["2147942405"]);
    assert_eq!(json["code"], "0x80070005");
}

#[test]
fn known_code_text_names_phase_source_and_rules() {
    intunewin()
        .args(["explain", "0x87D30067"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0x87D30067 (-2016214937)"))
        .stdout(predicate::str::contains(
            "Error unzipping downloaded content.",
        ))
        .stdout(predicate::str::contains("integrity check and unzip"))
        .stdout(predicate::str::contains("IntuneManagementExtension.log"))
        .stdout(predicate::str::contains(
            "predicted at pack time by: intunewin check (rules ",
        ))
        .stdout(predicate::str::contains("path-too-long"));
}

#[test]
fn known_code_json_has_expected_keys() {
    let (json, status) = explain_json(&["0x87D30067"]);
    assert_eq!(status, Some(0));
    assert_eq!(json["source"], "package");
    assert_eq!(json["phases"], serde_json::json!(["integrity-and-unzip"]));
    let rules = json["rules"].as_array().expect("rules array");
    assert!(rules.contains(&Value::from("path-too-long")));
    assert!(rules.contains(&Value::from("reserved-name")));
    assert_eq!(json["decoded"]["facility"], 0x7D3);
    assert_eq!(json["decoded"]["failure"], true);
}

#[test]
fn unknown_win32_code_is_decoded_and_exits_1() {
    intunewin()
        .args(["explain", "0x80070020"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("facility: 7 (WIN32)"))
        .stdout(predicate::str::contains(
            "Win32 error 32 (ERROR_SHARING_VIOLATION)",
        ));

    let (json, status) = explain_json(&["0x80070020"]);
    assert_eq!(status, Some(1));
    assert_eq!(json["known"], false);
    assert_eq!(json["message"], Value::Null);
    assert_eq!(json["decoded"]["facility"], 7);
    assert_eq!(json["decoded"]["facilityName"], "WIN32");
    assert_eq!(json["decoded"]["win32"], 32);
    assert_eq!(json["decoded"]["win32Name"], "ERROR_SHARING_VIOLATION");
    assert!(json["decoded"]["win32Message"].is_string());
}

#[test]
fn unknown_win32_code_without_message_still_gives_its_number() {
    let (json, status) = explain_json(&["0x80071234"]);
    assert_eq!(status, Some(1));
    assert_eq!(json["decoded"]["win32"], 0x1234);
    assert_eq!(json["decoded"]["win32Name"], Value::Null);
}

#[test]
fn unknown_non_win32_code_is_decoded_and_exits_1() {
    intunewin()
        .args(["explain", "0x87D31234"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("severity: failure"))
        .stdout(predicate::str::contains("facility: 2003"))
        .stdout(predicate::str::contains("Win32 error").not());

    let (json, status) = explain_json(&["0x87D31234"]);
    assert_eq!(status, Some(1));
    assert_eq!(json["decoded"]["facility"], 0x7D3);
    assert_eq!(json["decoded"]["status"], 0x1234);
    assert_eq!(json["decoded"]["win32"], Value::Null);
}

#[test]
fn bare_exit_code_points_to_its_hresult() {
    // A known installer exit code is explained: exit 0, as for a code in the table.
    let (json, status) = explain_json(&["1603"]);
    assert_eq!(status, Some(0));
    assert_eq!(json["decoded"]["win32Name"], "ERROR_INSTALL_FAILURE");
    assert_eq!(json["decoded"]["hresultFromWin32"], "0x80070643");
}

/// Input that is no code is a usage error (exit 2, kind `usage` under `--json`) whose message
/// says what it could not read and the forms it reads (pinned in a snapshot).
#[test]
fn unparseable_input_exits_2_with_error() {
    let mut shown = String::new();
    for bad in ["zz", "0x123456789", "4294967296", "87D3006Z"] {
        let out = intunewin().args(["explain", bad]).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(out.stdout.is_empty(), "{bad}");
        let (json, status) = explain_json(&[bad]);
        assert_eq!(status, Some(2), "{bad}");
        assert_eq!(json["error"]["kind"], "usage", "{json}");
        assert!(json["error"]["path"].is_null(), "{json}");
        crate::util::assert_stderr_says(&out, &json["error"]);
        shown.push_str(&format!(
            "$ intunewin explain {bad}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    insta::with_settings!({omit_expression => true}, {
        insta::assert_snapshot!("explain_unreadable_codes", shown);
    });
}

#[test]
fn missing_code_is_a_usage_error() {
    intunewin().arg("explain").assert().code(2);
}

#[test]
fn list_prints_every_code_once() {
    let out = intunewin()
        .args(["explain", "--list"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    for (code, _) in LISTED {
        let hits = lines.iter().filter(|l| l.starts_with(code)).count();
        assert_eq!(hits, 1, "{code}");
    }
}

#[test]
fn list_json_is_an_array_of_entries() {
    let out = intunewin()
        .args(["explain", "--list", "--json"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let json: Value = serde_json::from_slice(&out).expect("JSON");
    let entries = json.as_array().expect("array");
    for (code, _) in LISTED {
        assert!(entries.iter().any(|e| e["code"] == code), "{code}");
    }
    assert!(entries.iter().all(|e| e["known"] == true));
}

/// The codes the shared IME logs carry (issue 16) are in the table with their phase.
#[test]
fn codes_seen_in_ime_logs_are_known() {
    for (code, phase) in [
        ("0x87D30068", None),
        ("0x87D300C9", None),
        ("0x80070642", Some("installation")),
        ("0x80070643", Some("installation")),
        ("0x800700CE", Some("integrity-and-unzip")),
        ("0x80004005", Some("polling-start")),
        ("0x80070520", Some("polling-start")),
    ] {
        let (json, status) = explain_json(&[code]);
        assert_eq!(status, Some(0), "{code}");
        assert_eq!(json["known"], true, "{code}");
        if let Some(phase) = phase {
            assert_eq!(json["phases"][0], phase, "{code}");
        }
    }
}

/// An installer exit code: what it means, what the default return-code map does with it, and
/// the HRESULT a failure is reported as; the HRESULT names the exit code it came from.
#[test]
fn installer_exit_codes_and_their_hresults() {
    for (exit, action, reported) in [
        ("0", "success", None),
        ("1707", "success", None),
        ("3010", "soft-reboot", None),
        ("1641", "hard-reboot", None),
        ("1618", "retry", None),
        ("1603", "failed", Some("0x80070643")),
        ("1602", "failed", Some("0x80070642")),
        ("1605", "failed", Some("0x80070645")),
        ("1619", "failed", Some("0x80070653")),
        ("1620", "failed", Some("0x80070654")),
        ("1633", "failed", Some("0x80070661")),
        ("1638", "failed", Some("0x80070666")),
    ] {
        let (json, _) = explain_json(&[exit]);
        let info = &json["installerExit"];
        assert_eq!(info["exitCode"].to_string(), exit, "{json}");
        assert!(info["meaning"].is_string(), "{exit}: {json}");
        assert_eq!(info["defaultAction"], action, "{exit}");
        assert_eq!(info["reportedAs"].as_str(), reported, "{exit}");
    }
    intunewin()
        .args(["explain", "1603"])
        .assert()
        .stdout(predicate::str::contains(
            "Intune reports it as 0x80070643, which is in the table",
        ))
        .stdout(predicate::str::contains(
            "HRESULT_FROM_WIN32, 0x80070000 | 1603",
        ));
    intunewin()
        .args(["explain", "3010"])
        .assert()
        .stdout(predicate::str::contains("treats it as soft-reboot"))
        .stdout(predicate::str::contains("Intune reports it as").not());
    intunewin()
        .args(["explain", "0x80070643"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("from installer exit code 1603"));
    let (json, _) = explain_json(&["0x80070643"]);
    assert_eq!(json["installerExit"]["exitCode"], 1603);
    let (json, _) = explain_json(&["0x87D30067"]);
    assert!(json.get("installerExit").is_none());
}

/// 0x800700CE (a name or path too long) points to `check`'s path-length rules.
#[test]
fn filename_too_long_links_to_check() {
    intunewin()
        .args(["explain", "0x800700CE"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("260-character"))
        .stdout(predicate::str::contains("intunewin check"))
        .stdout(predicate::str::contains("path-too-long"));
}

/// `explain`'s text for one code, exit status first.
fn explain_text(code: &str) -> String {
    let out = intunewin().args(["explain", code]).output().expect("runs");
    format!(
        "$ intunewin explain {code}\nexit {}\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout)
    )
}

/// A bare installer exit code is described as one (issue 16's bug: `explain 1603` printed
/// "severity: success", the HRESULT reading of a small number): never with an HRESULT
/// severity or facility, but with its meaning, the IME's default action and, for a failure,
/// the HRESULT it becomes.
#[test]
fn bare_exit_codes_are_never_read_as_hresults() {
    // Exit 0 when the exit code has a known meaning; 4 has none.
    for code in ["0", "1603", "1707", "3010", "1641", "1618"] {
        intunewin().args(["explain", code]).assert().code(0);
    }
    intunewin().args(["explain", "4"]).assert().code(1);
    for (code, action) in [
        ("0", "success"),
        ("1603", "failed"),
        ("1707", "success"),
        ("3010", "soft-reboot"),
        ("1641", "hard-reboot"),
        ("1618", "retry"),
        ("4", "failed"),
    ] {
        // The words (each code's "an installer exit code (not an HRESULT)" and what the
        // default map does with it) are pinned in the explain_text_for_each_kind_of_input
        // snapshot, which shows all seven codes; here the facts: read as an exit code, with its
        // default action, and no HRESULT field in the text (the bug's signature, kept as a
        // guard that survives a careless snapshot update).
        let (json, _) = explain_json(&[code]);
        assert_eq!(
            json["installerExit"]["exitCode"].to_string(),
            code,
            "{json}"
        );
        assert_eq!(json["installerExit"]["defaultAction"], action, "{json}");
        let text = explain_text(code);
        for hresult_line in ["severity:", "facility:", "code:"] {
            assert!(!text.lines().any(|l| l.starts_with(hresult_line)), "{text}");
        }
    }
}

/// One snapshot per kind of input: a known code, a known code made from an exit code, an
/// unknown HRESULT (Win32 and not), and bare exit codes: a failure the table knows as an
/// HRESULT, one it does not, success, the reboots and retry, and one with no common meaning.
#[test]
fn explain_text_for_each_kind_of_input() {
    let text: Vec<String> = [
        "0x87D30067",
        "0x80070643",
        "0x80070020",
        "0x87D31234",
        "0x80070645",
        "1603",
        "1605",
        "0",
        "1707",
        "3010",
        "1641",
        "1618",
        "4",
        "12345",
    ]
    .iter()
    .map(|code| explain_text(code))
    .collect();
    insta::assert_snapshot!(text.join("\n"));
}
