//! `intunewin decrypt`: a bare encrypted blob (what the IME downloads, FORMAT.md §11) to its
//! inner zip or files, with keys from arguments, a Detection.xml, a package, a DecryptInfo JSON,
//! or the IME log and the device certificate.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::{ArgGroup, Args};
use intunewin_core::ime::{DecryptInfo, DeviceKey, ImeLog};
use intunewin_core::{
    Blob, BlobKeys, BlobReport, Detection, ExtractOptions, Overwrite, Package, ReadOptions,
};
use serde::Serialize;

use crate::args::ReportArgs;
use crate::json::{self, FindingJson};
use crate::secrets;
use crate::ui::{Bar, hex, safe};

/// Arguments of `intunewin decrypt`.
#[derive(Args, Debug)]
#[command(mut_arg("quiet", |a| a.help("Print nothing but errors and warnings")))]
#[command(group(
    ArgGroup::new("keys")
        .required(true)
        .multiple(false)
        .args(["key", "detection", "package", "decrypt_info", "log"]),
))]
pub struct DecryptArgs {
    /// The encrypted blob: MAC ‖ IV ‖ ciphertext (e.g. `Content\Incoming\<app>_<n>.bin` downloaded by the IME).
    #[arg(required_unless_present = "list_apps")]
    pub blob: Option<PathBuf>,
    /// Write the inner zip to this file [default: the blob's name with .zip, here].
    #[arg(short, long, conflicts_with = "extract")]
    pub output: Option<PathBuf>,
    /// Extract the inner zip's files into this folder instead (every safety rule of extract).
    #[arg(long, value_name = "DIR")]
    pub extract: Option<PathBuf>,
    /// Replace an existing --output file; with --extract, write into an existing folder,
    /// replacing the files the content holds and leaving the others as they are.
    #[arg(short, long)]
    pub force: bool,
    /// AES-256 key, base64 (Detection.xml's EncryptionKey or DecryptInfo's); `@FILE` reads it
    /// from a file (`@-`: standard input) and `env:NAME` from an environment variable, so that
    /// it does not show in the process list or the shell's history.
    #[arg(long, requires = "iv", value_name = "B64|@FILE|env:NAME")]
    pub key: Option<String>,
    /// IV, base64.
    #[arg(long, requires = "key", value_name = "B64")]
    pub iv: Option<String>,
    /// HMAC key, base64: the MAC is then verified before decrypting (`@FILE`, `env:NAME` as
    /// for --key).
    #[arg(long, requires = "key", value_name = "B64|@FILE|env:NAME")]
    pub mac_key: Option<String>,
    /// Expected MAC, base64 [default: the MAC stored in the blob].
    #[arg(long, requires = "mac_key", value_name = "B64")]
    pub mac: Option<String>,
    /// Keys from a Detection.xml file.
    #[arg(long, value_name = "FILE")]
    pub detection: Option<PathBuf>,
    /// Keys from the package the blob came from.
    #[arg(long, value_name = "PKG")]
    pub package: Option<PathBuf>,
    /// Keys from a DecryptInfo plaintext JSON file ({"EncryptionKey": ..., "IV": ...}).
    #[arg(long, value_name = "FILE")]
    pub decrypt_info: Option<PathBuf>,
    /// Keys from IntuneManagementExtension.log (needs --cert, or --list-apps).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// The device's Intune MDM certificate with its private key (PKCS#12 or PEM).
    #[arg(long, requires = "log", value_name = "CERT")]
    pub cert: Option<PathBuf>,
    /// Password of the PKCS#12 file or encrypted PEM key: `@FILE` (its first line; `@-`:
    /// standard input) or `env:NAME`; given as such it shows in the process list. Without it,
    /// a certificate that needs one asks for it at a terminal.
    #[arg(long, requires = "cert", value_name = "@FILE|env:NAME|P")]
    pub cert_password: Option<String>,
    /// The app whose DecryptInfo to use [default: the only one in the log].
    #[arg(long, requires = "log", value_name = "ID")]
    pub app_id: Option<String>,
    /// List the apps, versions and download URLs found in the log (no certificate needed).
    #[arg(long, requires = "log", conflicts_with_all = ["cert", "app_id", "output", "extract"])]
    pub list_apps: bool,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `decrypt --json` output.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DecryptJson {
    blob: String,
    output: Option<String>,
    destination: Option<String>,
    mac_verified: bool,
    iv_differs: bool,
    size: u64,
    sha256: String,
    file_count: Option<usize>,
    elapsed_seconds: f64,
    /// The classifier's findings (with --extract).
    findings: Vec<FindingJson>,
}

/// One app of `decrypt --list-apps --json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppJson {
    app_id: String,
    version: Option<String>,
    url: Option<String>,
    has_decrypt_info: bool,
    line: usize,
}

/// Runs `intunewin decrypt`.
pub fn run(args: DecryptArgs) -> anyhow::Result<ExitCode> {
    if args.list_apps {
        return list_apps(&args);
    }
    let blob_path = args.blob.clone().context("give the blob to decrypt")?;
    let keys = keys(&args)?;
    let blob = Blob::open(&blob_path)?;
    if keys.mac_key.is_none() {
        eprintln!(
            "intunewin: warning: no MAC key, so integrity is unchecked: a damaged or altered blob \
             shows only as a padding error or a broken zip (--package or --detection verify it)"
        );
    }
    if blob.iv_differs(&keys) {
        eprintln!(
            "intunewin: warning: the given IV differs from the one stored in the blob; \
             decrypting with the given IV, as the device does"
        );
    }
    let bar = Arc::new(Bar::new(args.report.silent()));
    let read = ReadOptions::default()
        .progress(bar.clone())
        .cancel_flag(crate::cancel_flag());
    let (report, output, destination) = match &args.extract {
        Some(dest) => {
            let opts = ExtractOptions::default()
                .overwrite(args.force)
                .read_options(read);
            let report = blob.extract(&keys, dest, &opts)?;
            if !args.report.silent() {
                super::check::print_findings(&[], &report.findings);
            }
            (report, None, Some(dest.clone()))
        }
        None => {
            let output = args
                .output
                .clone()
                .unwrap_or_else(|| default_output(&blob_path));
            let report =
                blob.decrypt_to_file(&keys, &output, Overwrite::from(args.force), &read)?;
            (report, Some(output), None)
        }
    };
    summarise(&args, &blob_path, &report, output, destination, &bar)?;
    Ok(ExitCode::SUCCESS)
}

fn summarise(
    args: &DecryptArgs,
    blob: &Path,
    report: &BlobReport,
    output: Option<PathBuf>,
    destination: Option<PathBuf>,
    bar: &Bar,
) -> anyhow::Result<()> {
    let elapsed = bar.elapsed().as_secs_f64();
    let files = destination
        .as_ref()
        .map(|_| report.entries.iter().filter(|e| !e.is_dir).count());
    if args.report.json {
        return json::print(&DecryptJson {
            blob: blob.display().to_string(),
            output: output.map(|p| p.display().to_string()),
            destination: destination.map(|p| p.display().to_string()),
            mac_verified: report.mac_verified,
            iv_differs: report.iv_differs,
            size: report.plaintext_len,
            sha256: hex(&report.sha256),
            file_count: files,
            elapsed_seconds: elapsed,
            findings: report.findings.iter().map(FindingJson::from).collect(),
        });
    }
    if args.report.quiet {
        return Ok(());
    }
    let integrity = if report.mac_verified {
        "MAC verified"
    } else {
        "integrity unchecked"
    };
    match (output, destination, files) {
        (Some(out), _, _) => outln!(
            "decrypted {} into {} ({}, {integrity}) in {elapsed:.2} s",
            blob.display(),
            safe(&out.display().to_string()),
            crate::ui::bytes(report.plaintext_len)
        )?,
        (_, Some(dest), Some(files)) => outln!(
            "extracted {} from {} into {} ({integrity}) in {elapsed:.2} s",
            crate::ui::count(files, "file", "files"),
            blob.display(),
            safe(&dest.display().to_string())
        )?,
        _ => {}
    }
    Ok(())
}

/// `app_1.bin` → `app_1.zip` in the current folder.
fn default_output(blob: &Path) -> PathBuf {
    let stem = blob
        .file_stem()
        .map(|s| s.to_os_string())
        .unwrap_or_else(|| "content".into());
    PathBuf::from(stem).with_extension("zip")
}

/// The keys from whichever source was given.
fn keys(args: &DecryptArgs) -> anyhow::Result<BlobKeys> {
    if let (Some(key), Some(iv)) = (&args.key, &args.iv) {
        let key = secrets::resolve(key, "--key")?;
        let mut keys = BlobKeys::new(decode(&key, "--key")?, decode(iv, "--iv")?);
        if let Some(mac_key) = &args.mac_key {
            let mac_key = secrets::resolve(mac_key, "--mac-key")?;
            keys = keys.mac_key(decode(&mac_key, "--mac-key")?);
        }
        if let Some(mac) = &args.mac {
            keys = keys.mac(decode(mac, "--mac")?);
        }
        return Ok(keys);
    }
    if let Some(path) = &args.detection {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(BlobKeys::from_detection(&Detection::parse(&bytes, path)?));
    }
    if let Some(path) = &args.package {
        return Ok(BlobKeys::from_detection(Package::open(path)?.detection()));
    }
    if let Some(path) = &args.decrypt_info {
        return Ok(DecryptInfo::read(path)?.blob_keys());
    }
    if let Some(log) = &args.log {
        return keys_from_log(args, log);
    }
    bail!("give keys: --key/--iv, --detection, --package, --decrypt-info or --log with --cert")
}

/// Opens the chosen app's DecryptInfo from the log with the device certificate.
fn keys_from_log(args: &DecryptArgs, log_path: &Path) -> anyhow::Result<BlobKeys> {
    let log = ImeLog::read(log_path)?;
    warn_skipped(&log, log_path);
    let Some(cert) = &args.cert else {
        bail!(
            "--log needs --cert (the device's Intune MDM certificate with its key) to open \
             DecryptInfo; --list-apps lists the apps without it"
        );
    };
    let app = match &args.app_id {
        Some(id) => log.find(id).with_context(|| {
            format!(
                "no content-info response with a DecryptInfo for app {} in {} (apps: {})",
                safe(id),
                log_path.display(),
                app_ids(&log)
            )
        })?,
        None => {
            let mut ids: Vec<&str> = log
                .apps
                .iter()
                .filter(|a| a.encrypted_content.is_some())
                .map(|a| a.app_id.as_str())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            match ids.as_slice() {
                [only] => log.find(only).context("app vanished")?,
                [] => bail!(
                    "no content-info response with a DecryptInfo in {} (FORMAT.md §11: current \
                     IMEs log it only with Verbose logging)",
                    log_path.display()
                ),
                _ => bail!(
                    "the log has several apps ({}): choose one with --app-id",
                    app_ids(&log)
                ),
            }
        }
    };
    let key = device_key(cert, args.cert_password.as_deref())?;
    Ok(app.decrypt_info(&key, log_path)?.blob_keys())
}

/// The device's key, with the password given (as a secret: see [`secrets`]) or, when the
/// certificate needs one none was given for, asked at the terminal.
fn device_key(cert: &Path, password: Option<&str>) -> anyhow::Result<DeviceKey> {
    let password = password
        .map(|p| secrets::resolve(p, "--cert-password"))
        .transpose()?;
    match DeviceKey::read(cert, password.as_ref().map(|p| p.as_str())) {
        Err(e @ intunewin_core::Error::Certificate { .. }) if password.is_none() => {
            let question = format!("Password of {}: ", safe(&cert.display().to_string()));
            match secrets::prompt(&question)? {
                Some(asked) => Ok(DeviceKey::read(cert, Some(asked.as_str()))?),
                None => Err(e.into()),
            }
        }
        other => Ok(other?),
    }
}

fn app_ids(log: &ImeLog) -> String {
    let mut ids: Vec<String> = log.apps.iter().map(|a| safe(&a.app_id)).collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        "none".into()
    } else {
        ids.join(", ")
    }
}

fn warn_skipped(log: &ImeLog, path: &Path) {
    for (line, reason) in &log.skipped {
        eprintln!(
            "intunewin: warning: {}:{line}: response skipped: {}",
            path.display(),
            safe(reason)
        );
    }
}

/// `decrypt --log FILE --list-apps`.
fn list_apps(args: &DecryptArgs) -> anyhow::Result<ExitCode> {
    let path = args.log.as_ref().context("--list-apps needs --log")?;
    let log = ImeLog::read(path)?;
    warn_skipped(&log, path);
    if args.report.json {
        let apps: Vec<AppJson> = log
            .apps
            .iter()
            .map(|a| AppJson {
                app_id: a.app_id.clone(),
                version: a.version.clone(),
                url: a.url.clone(),
                has_decrypt_info: a.encrypted_content.is_some(),
                line: a.line,
            })
            .collect();
        json::print(&apps)?;
        return Ok(ExitCode::SUCCESS);
    }
    if log.apps.is_empty() {
        eprintln!(
            "intunewin: no content-info responses in {} (current IMEs log them only with \
             Verbose logging)",
            path.display()
        );
    }
    for app in &log.apps {
        outln!(
            "{}  version {}  line {}{}\n    {}",
            safe(&app.app_id),
            safe(app.version.as_deref().unwrap_or("?")),
            app.line,
            if app.encrypted_content.is_some() {
                ""
            } else {
                "  (no DecryptInfo)"
            },
            safe(app.url.as_deref().unwrap_or("(no URL)"))
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Decodes base64 of exactly `N` bytes.
fn decode<const N: usize>(text: &str, what: &str) -> anyhow::Result<[u8; N]> {
    let bytes = BASE64
        .decode(text.trim())
        .with_context(|| format!("{what} is not valid base64"))?;
    <[u8; N]>::try_from(bytes.as_slice())
        .map_err(|_| anyhow::anyhow!("{what} decodes to {} bytes, not {N}", bytes.len()))
}
