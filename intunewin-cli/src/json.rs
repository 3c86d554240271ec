//! JSON shapes of the CLI's `--json` output: camelCase, Graph's names where Graph has one.

use intunewin_core::{Detection, MsiInfo, Package};
use serde::Serialize;

use crate::ui::b64;

/// Detection.xml and sizes, as `info --json` prints them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageInfo {
    /// The package file.
    pub package: String,
    pub tool_version: String,
    pub name: String,
    pub setup_file: String,
    pub file_name: String,
    pub unencrypted_content_size: u64,
    pub encrypted_content_size: u64,
    pub package_size: u64,
    pub encryption_key: String,
    pub mac_key: String,
    pub initialization_vector: String,
    pub mac: String,
    pub profile_identifier: &'static str,
    pub file_digest: String,
    pub file_digest_algorithm: &'static str,
    pub msi_info: Option<MsiInfo>,
    pub warnings: Vec<String>,
}

impl PackageInfo {
    /// From an opened package.
    pub fn new(pkg: &Package) -> Self {
        let mut info = Self::from_detection(pkg.detection(), pkg.encrypted_size());
        info.package = pkg.path().display().to_string();
        info.package_size = pkg.len();
        info.warnings = pkg.warnings().to_vec();
        info
    }

    /// From Detection.xml values alone.
    pub fn from_detection(d: &Detection, encrypted_size: u64) -> Self {
        let e = &d.encryption;
        PackageInfo {
            package: String::new(),
            tool_version: d.tool_version.clone(),
            name: d.name.clone(),
            setup_file: d.setup_file.clone(),
            file_name: d.file_name.clone(),
            unencrypted_content_size: d.unencrypted_content_size,
            encrypted_content_size: encrypted_size,
            package_size: 0,
            encryption_key: b64(&e.encryption_key),
            mac_key: b64(&e.mac_key),
            initialization_vector: b64(&e.iv),
            mac: b64(&e.mac),
            profile_identifier: intunewin_core::EncryptionInfo::PROFILE_IDENTIFIER,
            file_digest: b64(&e.file_digest),
            file_digest_algorithm: intunewin_core::EncryptionInfo::FILE_DIGEST_ALGORITHM,
            msi_info: d.msi_info.clone(),
            warnings: Vec::new(),
        }
    }
}

/// A path finding as JSON.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingJson {
    pub rule: &'static str,
    pub severity: String,
    pub path: String,
    pub message: String,
    pub intune_code: Option<String>,
}

impl From<&intunewin_core::Finding> for FindingJson {
    fn from(f: &intunewin_core::Finding) -> Self {
        FindingJson {
            rule: f.rule.id(),
            severity: f.severity.to_string(),
            path: f.path.clone(),
            message: f.message.clone(),
            intune_code: f.intune_code.map(|c| format!("0x{c:08X}")),
        }
    }
}

/// What every `--json` command prints on stdout when it fails (exactly this one object).
#[derive(Serialize)]
pub struct ErrorReport {
    /// The failure.
    pub error: ErrorJson,
}

/// A failure as JSON: `kind` is stable ([`intunewin_core::Error::kind`], or `usage`, `io`,
/// `unsafe-paths` for the CLI's own); `message` is what stderr says; `path` the file or
/// folder concerned (null when none); `hint` what to do about it (null when nothing).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorJson {
    pub kind: &'static str,
    pub message: String,
    pub path: Option<String>,
    pub hint: Option<String>,
    /// The path findings that stopped a pack (`unsafe-paths` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<FindingJson>,
    /// Which limit was exceeded, with the numbers (`limit-exceeded` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<LimitJson>,
    /// Which check of the zip failed ([`intunewin_core::ZipCheck::name`]: `structure`,
    /// `truncated`, `header-mismatch`, ...; `outer-zip` and `inner-zip` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<&'static str>,
    /// The path rule an entry breaks (`zip-slip`, `name-too-long`, ...; `unsafe-path` only,
    /// and not when this system alone cannot create the entry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
}

/// A [`intunewin_core::Limit`] met: its stable `name` (`entry-count`, `compression-ratio`,
/// ...), where (`at`: an entry's name, a link; null when the whole input), the value met and
/// the most accepted.
#[derive(Serialize)]
pub struct LimitJson {
    pub name: &'static str,
    pub at: Option<String>,
    pub actual: u64,
    pub max: u64,
}

impl ErrorReport {
    /// A failure of `kind`.
    pub fn new(
        kind: &'static str,
        message: String,
        path: Option<&std::path::Path>,
        hint: Option<String>,
    ) -> Self {
        ErrorReport {
            error: ErrorJson {
                kind,
                message,
                path: path.map(|p| p.display().to_string()),
                hint,
                findings: Vec::new(),
                limit: None,
                check: None,
                rule: None,
            },
        }
    }

    /// A library error, with its hint.
    pub fn core(err: &intunewin_core::Error) -> Self {
        Self::new(
            err.kind(),
            err.to_string(),
            err.path(),
            crate::ui::hint(err),
        )
        .with_details(Some(err))
    }

    /// Adds what the library error `err` says beyond its kind: the limit and its numbers, the
    /// zip check that failed, or the path rule broken.
    pub fn with_details(mut self, err: Option<&intunewin_core::Error>) -> Self {
        use intunewin_core::Error;
        match err {
            Some(Error::LimitExceeded {
                limit,
                at,
                actual,
                max,
                ..
            }) => {
                self.error.limit = Some(LimitJson {
                    name: limit.name(),
                    at: at.clone(),
                    actual: *actual,
                    max: *max,
                });
            }
            Some(Error::OuterZip { check, .. } | Error::InnerZip { check, .. }) => {
                self.error.check = Some(check.name());
            }
            Some(Error::UnsafePath { rule, .. }) => self.error.rule = rule.map(|r| r.id()),
            _ => {}
        }
        self
    }

    /// A command line clap rejected; `rendered` is clap's text (`error: ...`, usage, tip).
    pub fn usage(rendered: &str) -> Self {
        let what = rendered
            .split("\n\n")
            .next()
            .unwrap_or(rendered)
            .trim_start_matches("error: ");
        let message = what.split_whitespace().collect::<Vec<_>>().join(" ");
        Self::new(
            "usage",
            message,
            None,
            Some("see `intunewin --help` or `intunewin <command> --help`".into()),
        )
    }

    /// Path problems that stop a pack (FORMAT.md §12); stderr prints the same message and hint.
    pub fn unsafe_paths(plan: &intunewin_core::PackPlan) -> Self {
        let errors: Vec<FindingJson> = plan
            .findings
            .iter()
            .filter(|f| f.severity == intunewin_core::Severity::Error)
            .map(FindingJson::from)
            .collect();
        let links = plan
            .findings
            .iter()
            .any(|f| f.rule == intunewin_core::Rule::Symlink);
        let remedy = if links {
            "fix them, pass --follow-symlinks for links, or --allow-unsafe-paths"
        } else {
            "fix them or pass --allow-unsafe-paths"
        };
        let mut report = Self::new(
            "unsafe-paths",
            format!(
                "{} would break the package on the device, {}",
                crate::ui::count(errors.len(), "path problem", "path problems"),
                plan.source_dir.display()
            ),
            Some(&plan.source_dir),
            Some(remedy.into()),
        );
        report.error.findings = errors;
        report
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print<T: Serialize>(value: &T) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?)?;
    Ok(())
}
