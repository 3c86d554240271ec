//! Issue 8, "beyond the tool": bare blobs decrypted with keys from every source (FORMAT.md §11),
//! the IME log with CMS DecryptInfo opened by a test device certificate, `info --graph`
//! against Detection.xml (§13), `extract-content`, and `diff`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use intunewin_core::{PackOptions, Package, ReadOptions};
use serde_json::Value;

use crate::util::{corpus_packages, intunewin};

/// The verified inner zip of a package.
fn inner_zip(pkg: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    Package::open(pkg)
        .unwrap()
        .decrypt_to(&mut out, &ReadOptions::default())
        .unwrap();
    out
}

/// `intunewin extract-content PKG -o DIR/NAME.bin`; returns the blob's path.
fn extract_content(pkg: &Path, dir: &Path) -> PathBuf {
    let blob = dir.join(format!(
        "{}.bin",
        pkg.file_stem().unwrap().to_string_lossy()
    ));
    intunewin()
        .arg("extract-content")
        .arg(pkg)
        .arg("--output")
        .arg(&blob)
        .assert()
        .success();
    blob
}

fn json_of(args: &[&std::ffi::OsStr]) -> Value {
    let out = intunewin().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn info_json(pkg: &Path) -> Value {
    json_of(&["info".as_ref(), pkg.as_os_str(), "--json".as_ref()])
}

/// Runs `intunewin decrypt BLOB <args> -o OUT`; returns (exit code, stderr, output bytes).
fn decrypt(blob: &Path, out: &Path, args: &[&std::ffi::OsStr]) -> (i32, String, Option<Vec<u8>>) {
    let result = intunewin()
        .arg("decrypt")
        .arg(blob)
        .args(args)
        .arg("--output")
        .arg(out)
        .output()
        .unwrap();
    let code = result.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
    let bytes = fs::read(out).ok();
    (code, stderr, bytes)
}

/// Runs `intunewin decrypt BLOB <args> --json --output OUT`; returns (exit code, the JSON
/// report or error on stdout).
fn decrypt_json(blob: &Path, out: &Path, args: &[&std::ffi::OsStr]) -> (i32, Value) {
    let result = intunewin()
        .arg("decrypt")
        .arg(blob)
        .args(args)
        .arg("--output")
        .arg(out)
        .arg("--json")
        .output()
        .unwrap();
    let report = serde_json::from_slice(&result.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&result.stderr)
        )
    });
    (result.status.code().unwrap_or(-1), report)
}

fn s(text: &str) -> &std::ffi::OsStr {
    text.as_ref()
}

#[test]
fn corpus_blobs_decrypt_with_keys_from_every_source() {
    let packages = corpus_packages();
    if packages.is_empty() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut shown: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (i, pkg) in packages.iter().enumerate() {
        let name = pkg.display().to_string();
        let expected = inner_zip(pkg);
        let blob = extract_content(pkg, dir.path());
        let info = info_json(pkg);
        let (key, iv) = (
            info["encryptionKey"].as_str().unwrap(),
            info["initializationVector"].as_str().unwrap(),
        );
        let detection = dir.path().join(format!("{i}.xml"));
        fs::write(&detection, Package::open(pkg).unwrap().detection_xml()).unwrap();
        let decrypt_info = dir.path().join(format!("{i}.json"));
        fs::write(
            &decrypt_info,
            format!("{{\"EncryptionKey\":\"{key}\",\"IV\":\"{iv}\"}}"),
        )
        .unwrap();
        let mac_key = info["macKey"].as_str().unwrap();
        let sources: [(&str, Vec<&std::ffi::OsStr>, bool); 5] = [
            ("package", vec![s("--package"), pkg.as_os_str()], true),
            (
                "detection",
                vec![s("--detection"), detection.as_os_str()],
                true,
            ),
            ("key/iv", vec![s("--key"), s(key), s("--iv"), s(iv)], false),
            (
                "key/iv/mac-key",
                vec![
                    s("--key"),
                    s(key),
                    s("--iv"),
                    s(iv),
                    s("--mac-key"),
                    s(mac_key),
                ],
                true,
            ),
            (
                "decrypt-info",
                vec![s("--decrypt-info"), decrypt_info.as_os_str()],
                false,
            ),
        ];
        for (j, (source, args, mac_known)) in sources.iter().enumerate() {
            let out = dir.path().join(format!("{i}-{j}.zip"));
            let (code, stderr, bytes) = decrypt(&blob, &out, args);
            assert_eq!(code, 0, "{name} with {source}: {stderr}");
            assert!(
                bytes.as_ref() == Some(&expected),
                "{name} with {source}: output differs"
            );
            let label = format!("{source} (MAC key known: {mac_known})");
            shown.entry(label).or_default().insert(stderr);
        }
    }
    // What each key source prints is the same for every package: the integrity warning
    // exactly when no MAC key is known.
    let shown: String = shown
        .iter()
        .map(|(label, texts)| {
            assert_eq!(texts.len(), 1, "{label}: {texts:#?}");
            format!(
                "--- {label}\n{}",
                texts.iter().map(String::as_str).collect::<String>()
            )
        })
        .collect();
    insta::with_settings!({ omit_expression => true }, {
        insta::assert_snapshot!("corpus_decrypt_stderr", shown);
    });
}

/// A small package packed from a temporary folder; returns (package, source folder).
fn pack_folder(root: &Path, name: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let src = root.join(format!("{name}-src"));
    for (rel, data) in files {
        let path = src.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
    }
    let out = root.join(format!("{name}.intunewin"));
    PackOptions::new(&src, "setup.cmd")
        .pack_to_file(&out, intunewin_core::Overwrite::Refuse)
        .unwrap();
    out
}

fn sample_files() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("setup.cmd", b"@echo installing\r\n" as &[u8]),
        ("data/readme.txt", b"read me"),
        ("data/big.bin", &[7u8; 70_000]),
    ]
}

#[test]
fn tampered_blob_is_refused_when_a_mac_key_is_known() {
    let dir = crate::util::Fixture::empty();
    let pkg = pack_folder(dir.path(), "app", &sample_files());
    let blob = extract_content(&pkg, dir.path());
    let mut bytes = fs::read(&blob).unwrap();
    // Flip a bit in the middle of the ciphertext: CBC garbles two blocks, padding stays valid.
    let mid = 48 + (bytes.len() - 48) / 2;
    bytes[mid] ^= 0x01;
    let tampered = dir.path().join("tampered.bin");
    fs::write(&tampered, &bytes).unwrap();
    let info = info_json(&pkg);
    let (key, iv, mac_key) = (
        info["encryptionKey"].as_str().unwrap(),
        info["initializationVector"].as_str().unwrap(),
        info["macKey"].as_str().unwrap(),
    );
    // What decrypt prints on stderr, pinned below.
    let mut shown = String::new();
    for args in [
        vec![s("--package"), pkg.as_os_str()],
        vec![
            s("--key"),
            s(key),
            s("--iv"),
            s(iv),
            s("--mac-key"),
            s(mac_key),
        ],
    ] {
        let out = dir.path().join("refused.zip");
        let (code, stderr, bytes) = decrypt(&tampered, &out, &args);
        assert_eq!(code, 1, "{stderr}");
        assert!(bytes.is_none(), "an output was written");
        shown.push_str(&format!(
            "--- refused ({} ...)\n{stderr}",
            args[0].display()
        ));
        let (code, report) = decrypt_json(&tampered, &out, &args);
        assert_eq!(code, 1, "{report}");
        assert_eq!(report["error"]["kind"], "hmac-mismatch", "{report}");
        assert!(!out.exists(), "an output was written");
        let extract = intunewin()
            .arg("decrypt")
            .arg(&tampered)
            .args(&args)
            .arg("--extract")
            .arg(dir.path().join("refused-dir"))
            .output()
            .unwrap();
        assert_eq!(extract.status.code(), Some(1));
        assert!(!dir.path().join("refused-dir").exists());
    }
    // Without a MAC key nothing can tell: the warning says so.
    let out = dir.path().join("unchecked.zip");
    let no_mac = [s("--key"), s(key), s("--iv"), s(iv)];
    let (code, stderr, bytes) = decrypt(&tampered, &out, &no_mac);
    assert_eq!(code, 0, "{stderr}");
    assert_ne!(bytes.unwrap(), inner_zip(&pkg));
    shown.push_str(&format!("--- no MAC key\n{stderr}"));
    let (code, report) = decrypt_json(&tampered, &dir.path().join("unchecked-json.zip"), &no_mac);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["macVerified"], false, "{report}");
    // A wrong IV is used as given, with a warning; the MAC still covers the stored one.
    let out = dir.path().join("iv.zip");
    let other_iv = BASE64.encode([0u8; 16]);
    let other = [
        s("--key"),
        s(key),
        s("--iv"),
        s(&other_iv),
        s("--mac-key"),
        s(mac_key),
    ];
    let (code, stderr, _) = decrypt(&blob, &out, &other);
    assert_eq!(code, 0, "{stderr}");
    shown.push_str(&format!("--- another IV\n{stderr}"));
    let (code, report) = decrypt_json(&blob, &dir.path().join("iv-json.zip"), &other);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ivDiffers"], true, "{report}");
    assert_eq!(report["macVerified"], true, "{report}");
    // The refusal names the blob; the two warnings say what goes unchecked or differs (paths
    // spelled the Unix way).
    if !crate::util::windows_binary() {
        dir.snapshot_settings()
            .bind(|| insta::assert_snapshot!("decrypt_refusal_and_warnings", shown));
    }
}

#[test]
fn decrypt_extracts_into_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample_files();
    let pkg = pack_folder(dir.path(), "app", &files);
    let blob = extract_content(&pkg, dir.path());
    let dest = dir.path().join("out");
    intunewin()
        .arg("decrypt")
        .arg(&blob)
        .arg("--package")
        .arg(&pkg)
        .arg("--extract")
        .arg(&dest)
        .assert()
        .success();
    for (rel, data) in &files {
        assert_eq!(fs::read(dest.join(rel)).unwrap(), *data, "{rel}");
    }
    // An existing destination is refused without --force.
    intunewin()
        .arg("decrypt")
        .arg(&blob)
        .arg("--package")
        .arg(&pkg)
        .arg("--extract")
        .arg(&dest)
        .assert()
        .code(2);
}

/// Whether the openssl command is there (it makes the test certificate and CMS messages);
/// otherwise the test is skipped, or fails in CI (`util::require`).
fn openssl_available() -> bool {
    let found = match Command::new("openssl").arg("version").output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!("`openssl version` exited with {}", out.status)),
        Err(e) => Err(format!("cannot run openssl: {e}")),
    };
    crate::util::require(
        "openssl",
        "install it with `apt-get install openssl`",
        found,
    )
    .is_some()
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The members line of a content-info response (FORMAT.md §11): the reply's JSON without its
/// outer braces, `ResponsePayload` a JSON string holding `ContentInfo` (a JSON string) and
/// `DecryptInfo` (an XML string around the base64 CMS message).
fn response_members(app_id: &str, version: u32, url: &str, cms: &[u8]) -> String {
    let content_info = serde_json::json!({ "UploadLocation": url, "UploadLocationExpiry": "x" });
    let decrypt_info = format!(
        "<EncryptedMessage xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><EncryptionCertificateThumbprint>AB\
         </EncryptionCertificateThumbprint><EncryptionAlgorithm>AES256</EncryptionAlgorithm>\
         <EncryptedContent>{}</EncryptedContent></EncryptedMessage>",
        BASE64.encode(cms)
    );
    let payload = serde_json::json!({
        "ApplicationId": app_id,
        "ApplicationVersion": version,
        "ContentInfo": content_info.to_string(),
        "DecryptInfo": decrypt_info,
    });
    let reply = serde_json::json!({
        "SessionId": "0f6a0bd1-5b0b-4a4e-9e8c-000000000000",
        "ResponsePayload": payload.to_string(),
        "ResponseContentType": "GetContentInfo",
        "ClientInfo": null,
    })
    .to_string();
    reply[1..reply.len() - 1].to_string()
}

const TAIL: &str = "}]LOG]!><time=\"10:00:00.0000000\" date=\"1-1-2025\" component=\"IntuneManagementExtension\" context=\"\" type=\"1\" thread=\"7\" file=\"\">";

#[test]
fn ime_log_decrypt_info_opens_with_the_device_certificate() {
    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Test Intune MDM Device",
        ],
    );
    openssl(
        d,
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "key.pem",
            "-in",
            "cert.pem",
            "-out",
            "device.pfx",
            "-passout",
            "pass:secret",
        ],
    );
    let both = [
        fs::read(d.join("key.pem")).unwrap(),
        fs::read(d.join("cert.pem")).unwrap(),
    ]
    .concat();
    fs::write(d.join("device.pem"), both).unwrap();

    // The key also as encrypted PKCS#8 PEM, and as a legacy (3DES/RC2) PKCS#12 when this
    // openssl still has the legacy provider.
    openssl(
        d,
        &[
            "pkcs8", "-topk8", "-in", "key.pem", "-out", "enc.pem", "-passout", "pass:pw",
        ],
    );
    let enc_both = [
        fs::read(d.join("enc.pem")).unwrap(),
        fs::read(d.join("cert.pem")).unwrap(),
    ]
    .concat();
    fs::write(d.join("device-enc.pem"), enc_both).unwrap();
    let legacy = Command::new("openssl")
        .current_dir(d)
        .args([
            "pkcs12",
            "-export",
            "-legacy",
            "-inkey",
            "key.pem",
            "-in",
            "cert.pem",
            "-out",
            "legacy.pfx",
            "-passout",
            "pass:old",
        ])
        .output()
        .is_ok_and(|o| o.status.success());

    let ids = [
        "6b0c5e9a-1f3e-4c1b-9d2e-111111111111",
        "0d8f3a72-77a1-4e0f-8c55-222222222222",
        "9a0e77c4-0c8b-4f6f-b1a3-333333333333",
    ];
    // Key transport and content cipher per app: PKCS#1 v1.5 with AES-256 (what .NET Core's
    // EnvelopedCms writes), OAEP-SHA256 with AES-128, OAEP-SHA1 with 3DES (.NET Framework's).
    let ciphers: [&[&str]; 3] = [
        &["-aes256", "cert.pem"],
        &[
            "-aes128",
            "-recip",
            "cert.pem",
            "-keyopt",
            "rsa_padding_mode:oaep",
            "-keyopt",
            "rsa_oaep_md:sha256",
        ],
        &[
            "-des3",
            "-recip",
            "cert.pem",
            "-keyopt",
            "rsa_padding_mode:oaep",
        ],
    ];
    let mut apps = Vec::new();
    for (n, cipher) in ciphers.iter().enumerate() {
        let mut files = sample_files();
        let marker = format!("app {n}");
        files.push(("which.txt", marker.as_bytes()));
        let pkg = pack_folder(d, &format!("app{n}"), &files);
        let blob = extract_content(&pkg, d);
        let info = info_json(&pkg);
        let json = format!(
            "{{\"EncryptionKey\":\"{}\",\"IV\":\"{}\"}}",
            info["encryptionKey"].as_str().unwrap(),
            info["initializationVector"].as_str().unwrap()
        );
        fs::write(d.join(format!("di{n}.json")), json).unwrap();
        let input = format!("di{n}.json");
        let output = format!("di{n}.der");
        let mut args = vec!["cms", "-encrypt", "-binary", "-outform", "DER", "-in"];
        args.extend([input.as_str(), "-out", output.as_str()]);
        args.extend(cipher.iter().copied());
        openssl(d, &args);
        let cms = fs::read(d.join(&output)).unwrap();
        apps.push((pkg, blob, cms));
    }
    let url = |n: usize| {
        format!(
            "https://contoso.blob.core.windows.net/apps/{}_{n}.bin",
            ids[n]
        )
    };
    // Older IME form for app 0; the current (Verbose) form for apps 1 and 2, the first with an
    // outbound-data line before the response that must be ignored.
    let log = [
        "<![LOG[[Win32App] Requesting content info]LOG]!><time=\"1\" date=\"1\">".to_string(),
        "<![LOG[Get content info from service,ret = {".to_string(),
        response_members(ids[0], 1, &url(0), &apps[0].2),
        TAIL.to_string(),
        "<![LOG[Response from Intune = {".to_string(),
        "\"outbound data: {\\\"DecryptInfo\\\": null}\"".to_string(),
        response_members(ids[1], 4, &url(1), &apps[1].2),
        TAIL.to_string(),
        "<![LOG[response from intune = {".to_string(),
        response_members(ids[2], 2, &url(2), &apps[2].2),
        TAIL.to_string(),
    ]
    .join("\r\n");
    let log_path = d.join("IntuneManagementExtension.log");
    fs::write(&log_path, log).unwrap();

    // --list-apps needs no certificate.
    let listed = intunewin()
        .args([
            s("decrypt"),
            s("--log"),
            log_path.as_os_str(),
            s("--list-apps"),
        ])
        .output()
        .unwrap();
    assert!(listed.status.success());
    let text = String::from_utf8_lossy(&listed.stdout);
    for (n, id) in ids.iter().enumerate() {
        assert!(text.contains(id), "{text}");
        assert!(text.contains(&url(n)), "{text}");
    }
    let listed = json_of(&[
        s("decrypt"),
        s("--log"),
        log_path.as_os_str(),
        s("--list-apps"),
        s("--json"),
    ]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0]["appId"], ids[0]);
    assert_eq!(listed[0]["version"], "1");
    assert_eq!(listed[1]["appId"], ids[1]);
    assert_eq!(listed[1]["version"], "4");
    assert_eq!(listed[1]["url"], url(1).as_str());

    // Each app decrypts with its own DecryptInfo, via the PEM and the PKCS#12 file.
    let mut certs: Vec<Vec<&std::ffi::OsStr>> = vec![
        vec![s("--cert"), s("device.pem")],
        vec![
            s("--cert"),
            s("device.pfx"),
            s("--cert-password"),
            s("secret"),
        ],
        vec![
            s("--cert"),
            s("device-enc.pem"),
            s("--cert-password"),
            s("pw"),
        ],
        // The password from a file (first line), not the command line.
        vec![
            s("--cert"),
            s("device.pfx"),
            s("--cert-password"),
            s("@pfx-password.txt"),
        ],
    ];
    fs::write(d.join("pfx-password.txt"), "secret\n").unwrap();
    if legacy {
        certs.push(vec![
            s("--cert"),
            s("legacy.pfx"),
            s("--cert-password"),
            s("old"),
        ]);
    } else {
        eprintln!("openssl cannot write legacy PKCS#12 here; that variant is skipped");
    }
    // What each of these runs prints on stderr: the same, pinned below.
    let mut printed = BTreeSet::new();
    for (n, (pkg, blob, _)) in apps.iter().enumerate() {
        for (c, cert) in certs.iter().enumerate() {
            let out = d.join(format!("ime{n}-{c}.zip"));
            let mut args = vec![s("--log"), log_path.as_os_str(), s("--app-id"), s(ids[n])];
            args.extend(cert.iter().copied());
            let result = intunewin()
                .current_dir(d)
                .arg("decrypt")
                .arg(blob)
                .args(&args)
                .arg("--output")
                .arg(&out)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&result.stderr);
            assert!(result.status.success(), "app {n} cert {c}: {stderr}");
            printed.insert(stderr.replace(&d.display().to_string(), "[TMP]"));
            assert_eq!(fs::read(&out).unwrap(), inner_zip(pkg), "app {n} cert {c}");
        }
    }
    // DecryptInfo has no MAC key: the integrity warning.
    assert_eq!(printed.len(), 1, "{printed:#?}");
    insta::with_settings!({ omit_expression => true }, {
        insta::assert_snapshot!("ime_log_decrypt_stderr", printed.iter().map(String::as_str).collect::<String>());
    });
    // No password given for a certificate that needs one: asked at the terminal, not echoed.
    #[cfg(unix)]
    {
        let out = d.join("prompted.zip");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_intunewin"));
        cmd.current_dir(d)
            .arg("decrypt")
            .arg(&apps[0].1)
            .args(["--log", "IntuneManagementExtension.log", "--app-id", ids[0]])
            .args(["--cert", "device.pfx"])
            .arg("--output")
            .arg(&out);
        let mut pty = rexpect::session::spawn_command(cmd, Some(30_000)).expect("pty");
        pty.exp_string("Password of device.pfx: ").expect("asks");
        pty.send_line("secret").expect("types");
        let rest = pty.exp_eof().expect("ends");
        assert!(!rest.contains("secret"), "the password was echoed: {rest}");
        let status = format!("{:?}", pty.process().wait().expect("waits"));
        assert!(status.ends_with(", 0)"), "{status}: {rest}");
        assert_eq!(fs::read(&out).unwrap(), inner_zip(&apps[0].0));
    }
    // The other app's keys do not open a blob: a padding error (exit 1), nothing written.
    let out = d.join("wrong.zip");
    let (code, stderr, bytes) = decrypt(
        &apps[0].1,
        &out,
        &[
            s("--log"),
            log_path.as_os_str(),
            s("--app-id"),
            s(ids[1]),
            s("--cert"),
            d.join("device.pem").as_os_str(),
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(bytes.is_none());
    // Without --app-id, two apps are ambiguous; without --cert, the log alone cannot decrypt.
    for args in [
        vec![
            s("--log"),
            log_path.as_os_str(),
            s("--cert"),
            d.join("device.pem").as_os_str(),
        ],
        vec![s("--log"), log_path.as_os_str(), s("--app-id"), s(ids[0])],
    ] {
        let (code, _, bytes) = decrypt(&apps[0].1, &out, &args);
        assert_eq!(code, 2);
        assert!(bytes.is_none());
    }
}

/// The text of `<name>` in raw Detection.xml, exactly as stored.
fn xml_text(xml: &str, name: &str) -> String {
    let start = xml.find(&format!("<{name}>")).unwrap() + name.len() + 2;
    let end = xml[start..].find(&format!("</{name}>")).unwrap() + start;
    xml[start..end].to_string()
}

#[test]
fn info_graph_matches_detection_and_blob_length() {
    let packages = corpus_packages();
    if packages.is_empty() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for pkg in &packages {
        let opened = Package::open(pkg).unwrap();
        let xml = String::from_utf8_lossy(opened.detection_xml()).into_owned();
        let d = opened.detection();
        let graph = json_of(&[s("info"), pkg.as_os_str(), s("--graph")]);
        let file = &graph["mobileAppContentFile"];
        let blob = extract_content(pkg, dir.path());
        let name = pkg.file_name().unwrap().to_str().unwrap();
        assert_eq!(file["name"], name);
        assert_eq!(file["size"], d.unencrypted_content_size);
        assert_eq!(file["sizeEncrypted"], fs::metadata(&blob).unwrap().len());
        assert_eq!(file["isDependency"], false);
        let enc = &graph["commitBody"]["fileEncryptionInfo"];
        for (json, element) in [
            ("encryptionKey", "EncryptionKey"),
            ("macKey", "MacKey"),
            ("initializationVector", "InitializationVector"),
            ("mac", "Mac"),
            ("profileIdentifier", "ProfileIdentifier"),
            ("fileDigest", "FileDigest"),
            ("fileDigestAlgorithm", "FileDigestAlgorithm"),
        ] {
            assert_eq!(
                enc[json],
                xml_text(&xml, element).trim(),
                "{name} {element}"
            );
        }
        assert_eq!(graph["win32LobApp"]["setupFilePath"], d.setup_file.as_str());
        assert_eq!(graph["win32LobApp"]["fileName"], name);
        match &d.msi_info {
            None => assert!(graph["msiInformation"].is_null(), "{name}"),
            Some(msi) => {
                let m = &graph["msiInformation"];
                assert_eq!(m["productCode"], msi.product_code.as_deref().unwrap());
                assert_eq!(m["productVersion"], msi.product_version.as_deref().unwrap());
                assert_eq!(m["productName"], d.name.as_str());
                let expected = match msi.execution_context.as_deref() {
                    Some("System") => "perMachine",
                    Some("User") => "perUser",
                    Some("Any") => "dualPurpose",
                    other => panic!("{name}: context {other:?}"),
                };
                assert_eq!(m["packageType"], expected, "{name}");
            }
        }
    }
}

#[test]
fn extract_content_refuses_an_existing_output() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = pack_folder(dir.path(), "app", &sample_files());
    let blob = extract_content(&pkg, dir.path());
    let size = Package::open(&pkg).unwrap().encrypted_size();
    assert_eq!(fs::metadata(&blob).unwrap().len(), size);
    intunewin()
        .arg("extract-content")
        .arg(&pkg)
        .arg("-o")
        .arg(&blob)
        .assert()
        .code(2);
    intunewin()
        .arg("extract-content")
        .arg(&pkg)
        .arg("-o")
        .arg(&blob)
        .arg("--force")
        .assert()
        .success();
}

fn diff(a: &Path, b: &Path) -> (i32, String, Value) {
    let text = intunewin().arg("diff").arg(a).arg(b).output().unwrap();
    let json = intunewin()
        .arg("diff")
        .arg(a)
        .arg(b)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(text.status.code(), json.status.code());
    (
        text.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&text.stdout).into_owned(),
        serde_json::from_slice(&json.stdout).unwrap(),
    )
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect()
}

#[test]
fn diff_ignores_keys_and_reports_each_change() {
    let dir = tempfile::tempdir().unwrap();
    let base = sample_files();
    let a = pack_folder(dir.path(), "a", &base);
    let again = pack_folder(dir.path(), "again", &base);
    assert_ne!(
        info_json(&a)["encryptionKey"],
        info_json(&again)["encryptionKey"]
    );
    let (code, text, json) = diff(&a, &again);
    assert_eq!(code, 0, "{text}");
    assert_eq!(json["identical"], true);
    let entries = Package::open(&a)
        .unwrap()
        .list(&ReadOptions::default())
        .unwrap()
        .entries
        .len();
    assert_eq!(json["unchangedCount"], entries);

    let changed: Vec<(&str, &[u8])> = base
        .iter()
        .map(|&(n, d)| {
            if n == "data/readme.txt" {
                (n, b"new text" as &[u8])
            } else {
                (n, d)
            }
        })
        .collect();
    let mut added = base.clone();
    added.push(("data/extra.txt", b"extra"));
    let removed: Vec<(&str, &[u8])> = base
        .iter()
        .copied()
        .filter(|(n, _)| *n != "data/big.bin")
        .collect();
    let cases = [
        ("changed", changed, "changed", "data/readme.txt"),
        ("added", added, "added", "data/extra.txt"),
        ("removed", removed, "removed", "data/big.bin"),
    ];
    for (label, files, list, name) in cases {
        let b = pack_folder(dir.path(), label, &files);
        let (code, text, json) = diff(&a, &b);
        assert_eq!(code, 1, "{label}: {text}");
        assert_eq!(json["identical"], false);
        assert_eq!(names(&json[list]), [name], "{label}");
        for other in ["added", "removed", "changed"]
            .iter()
            .filter(|l| **l != list)
        {
            assert!(names(&json[*other]).is_empty(), "{label}: {other}");
        }
        assert!(
            text.lines()
                .any(|l| l.starts_with(list) && l.contains(name)),
            "{label}: {text}"
        );
    }
}
