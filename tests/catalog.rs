//! Catalog folders (FORMAT.md §9, inferred): `pack --catalog DIR` puts every file of DIR under
//! `Cat_C029B285-222F-460B-8ECA-2CD7A8A424B7/` at the content root, after the source files.

use std::fs;

use crate::util::intunewin;

const CAT: &str = "Cat_C029B285-222F-460B-8ECA-2CD7A8A424B7";

#[test]
fn catalog_package_round_trips_and_verifies() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    let cats = tmp.path().join("cats");
    fs::create_dir_all(src.join("bin")).expect("mkdir");
    fs::create_dir_all(cats.join("extra")).expect("mkdir");
    fs::write(src.join("setup.exe"), b"MZ setup").expect("write");
    fs::write(src.join("bin/tool.dll"), b"MZ dll").expect("write");
    fs::write(cats.join("app.cat"), b"catalog bytes").expect("write");
    fs::write(cats.join("app.cdf"), b"[CatalogHeader]").expect("write");
    fs::write(cats.join("extra/more.cat"), b"nested catalog").expect("write");
    let pkg = tmp.path().join("out/setup.intunewin");

    intunewin()
        .args(["pack", "-s", "setup.exe", "-q", "--catalog"])
        .arg(&cats)
        .arg(&src)
        .arg("-o")
        .arg(&pkg)
        .assert()
        .success();
    intunewin().arg("verify").arg(&pkg).assert().success();

    let listed = intunewin()
        .args(["list", "--json"])
        .arg(&pkg)
        .output()
        .expect("list");
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
    let names: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "setup.exe".to_string(),
            "bin/tool.dll".into(),
            format!("{CAT}/app.cat"),
            format!("{CAT}/app.cdf"),
            format!("{CAT}/extra/more.cat"),
        ]
    );

    let dest = tmp.path().join("x");
    intunewin()
        .arg("extract")
        .arg(&pkg)
        .arg("-o")
        .arg(&dest)
        .assert()
        .success();
    assert_eq!(
        fs::read(dest.join(CAT).join("app.cat")).expect("read"),
        b"catalog bytes"
    );
    assert_eq!(
        fs::read(dest.join(CAT).join("extra/more.cat")).expect("read"),
        b"nested catalog"
    );
    assert_eq!(
        fs::read(dest.join("bin/tool.dll")).expect("read"),
        b"MZ dll"
    );
}

#[test]
fn catalog_inside_the_source_or_empty_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("cats")).expect("mkdir");
    fs::write(src.join("setup.exe"), b"MZ").expect("write");
    fs::write(src.join("cats/app.cat"), b"cat").expect("write");
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).expect("mkdir");
    let out = tmp.path().join("out");
    let mut said = String::new();
    for cat in [src.join("cats"), empty.clone()] {
        let run = |json: bool| {
            let mut cmd = intunewin();
            cmd.args(["pack", "-s", "setup.exe", "--catalog"])
                .arg(&cat)
                .arg(&src)
                .arg("-o")
                .arg(&out);
            if json {
                cmd.arg("--json");
            }
            cmd.output().expect("runs")
        };
        let plain = run(false);
        assert_eq!(plain.status.code(), Some(2), "{}", cat.display());
        assert!(plain.stdout.is_empty(), "{}", cat.display());
        let with_json = run(true);
        assert_eq!(with_json.status.code(), Some(2), "{}", cat.display());
        let report: serde_json::Value =
            serde_json::from_slice(&with_json.stdout).expect("JSON error");
        assert_eq!(report["error"]["kind"], "bad-catalog", "{report}");
        crate::util::assert_names_path(&report["error"]["path"], &cat.to_string_lossy());
        crate::util::assert_stderr_says(&plain, &report["error"]);
        said.push_str(&String::from_utf8_lossy(&plain.stderr));
        assert!(!out.exists(), "no output folder is left behind");
    }
    // Why each is refused, and what a catalog folder is for (paths spelled the Unix way).
    if !crate::util::windows_binary() {
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(
            &crate::util::regex_escape(&tmp.path().to_string_lossy()),
            "[TMP]",
        );
        settings.set_omit_expression(true);
        settings.bind(|| insta::assert_snapshot!("catalog_refused", said));
    }
}
