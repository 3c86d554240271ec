//! What `intunewin check` reports about a source folder or a package (FORMAT.md §12).
//!
//! The per-path rules are the classifier's ([`PathChecker`]); this module adds the checks that
//! look at the target as a whole: a home or Downloads folder packed by mistake, a source far
//! larger than its setup file, and content near or over the service's size limit. Junk files,
//! earlier packages, symlinks and special files are the classifier's findings and are reported
//! once, by it.
//!
//! ```no_run
//! use intunewin_core::{CheckOptions, PathRules, check};
//!
//! let options = CheckOptions::new().path_rules(PathRules::new().content_version_digits(3));
//! let report = check("Source".as_ref(), &options)?;
//! for finding in &report.findings {
//!     println!("{}: [{}] {}", finding.severity, finding.rule, finding.message);
//! }
//! # Ok::<(), intunewin_core::Error>(())
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::package::{Package, ReadOptions};
use crate::paths::{EntryKind, Finding, PathChecker, PathRules, Rule, Severity};
use crate::source::{self, SourceEntry, SourceKind};

/// The service's content size limit per app: 30 GB, i.e. 30 × 10^9 bytes (Microsoft Learn;
/// FORMAT.md §12.2). A tenant's own value is Graph's
/// `win32LobAppPublishingConstraints.maxContentFileSizeInBytes`.
pub const SERVICE_SIZE_LIMIT: u64 = 30_000_000_000;

/// Content above this percentage of the size limit gets a `content-near-limit` warning.
pub const NEAR_LIMIT_PERCENT: u64 = 90;

/// More files than this suggests a whole home or Downloads folder (`source-too-broad`).
pub const MANY_FILES: usize = 5_000;

/// With a known setup file, the rest of the content is "too broad" when it is more than this
/// many times the setup file's size...
pub const BROAD_RATIO: u64 = 20;

/// ...and more than this many bytes (1 GiB), so that a small setup with a few helpers passes.
pub const BROAD_MIN_BYTES: u64 = 1 << 30;

/// Folder names that are almost never meant as a package's source folder (FORMAT.md §12.2).
const PERSONAL_FOLDERS: [&str; 3] = ["Downloads", "Desktop", "Documents"];

/// Options of [`check`]; build with [`CheckOptions::new`] and the setters.
#[derive(Clone)]
pub struct CheckOptions {
    rules: PathRules,
    size_limit: u64,
    setup_file: Option<PathBuf>,
    home: Option<PathBuf>,
    read: ReadOptions,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            rules: PathRules::default(),
            size_limit: SERVICE_SIZE_LIMIT,
            setup_file: None,
            home: std::env::home_dir(),
            read: ReadOptions::default(),
        }
    }
}

impl CheckOptions {
    /// The service's content size limit per app: 30 GB, i.e. 30 × 10^9 bytes (Microsoft Learn;
    /// FORMAT.md §12.2), the default [`size_limit`](Self::size_limit). A tenant's own value is
    /// Graph's `win32LobAppPublishingConstraints.maxContentFileSizeInBytes`.
    pub const SERVICE_SIZE_LIMIT: u64 = SERVICE_SIZE_LIMIT;

    /// Defaults: [`PathRules::default`] (2-digit content version, junk warnings on),
    /// [`CheckOptions::SERVICE_SIZE_LIMIT`], no setup file, the current user's home folder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The path classifier's rules (content version digits, headroom, junk warnings).
    pub fn path_rules(mut self, rules: PathRules) -> Self {
        self.rules = rules;
        self
    }

    /// The content size limit in bytes (default [`CheckOptions::SERVICE_SIZE_LIMIT`]).
    pub fn size_limit(mut self, bytes: u64) -> Self {
        self.size_limit = bytes;
        self
    }

    /// The setup file of a source folder (a name or path relative to it, or a path inside it),
    /// to compare the rest of the folder with. Packages name theirs in Detection.xml.
    pub fn setup_file(mut self, setup: impl Into<PathBuf>) -> Self {
        self.setup_file = Some(setup.into());
        self
    }

    /// The home folder a source folder must not be (default: the current user's; `None`
    /// skips that check).
    pub fn home_dir(mut self, home: Option<PathBuf>) -> Self {
        self.home = home;
        self
    }

    /// Options for reading a package (limits, progress, cancellation); its path rules are
    /// replaced by [`path_rules`](Self::path_rules).
    pub fn read_options(mut self, read: ReadOptions) -> Self {
        self.read = read;
        self
    }
}

/// What was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// A source folder.
    Source,
    /// A `.intunewin` package.
    Package,
}

impl CheckKind {
    /// `source` or `package`.
    pub fn id(self) -> &'static str {
        match self {
            CheckKind::Source => "source",
            CheckKind::Package => "package",
        }
    }
}

/// The result of [`check`].
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// Whether a folder or a package was checked.
    pub kind: CheckKind,
    /// Whole-target findings first, then the classifier's, in the order found.
    pub findings: Vec<Finding>,
    /// Other remarks with no rule: a package's tolerated deviations from Microsoft's layout.
    pub notes: Vec<String>,
    /// Files checked (regular files, links and special files; no folders).
    pub files: usize,
    /// Bytes of those files.
    pub total_bytes: u64,
}

impl CheckReport {
    /// Number of error-severity findings.
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    /// Number of warning-severity findings.
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// Checks `target`, writing nothing. A folder is a source folder: the classifier on every
/// entry (symlinks not followed), plus the home/Downloads, breadth and size rules. Anything
/// else is a package: opened and verified (MAC, padding, digest, sizes, CRCs), then the
/// classifier on its inner entry names and the breadth and size rules (the size is the
/// encrypted content's, what is uploaded); unsafe names are findings here, not a failure.
pub fn check(target: &Path, opts: &CheckOptions) -> Result<CheckReport> {
    let meta = fs::metadata(target).map_err(|e| Error::io("open", target, e))?;
    if meta.is_dir() {
        check_source(target, opts)
    } else {
        check_package(target, opts)
    }
}

/// Checks a source folder: the classifier on every entry (symlinks not followed), plus the
/// home/Downloads, breadth and size rules. Writes nothing.
pub(crate) fn check_source(dir: &Path, opts: &CheckOptions) -> Result<CheckReport> {
    let root = crate::canonical::canonicalize(dir).map_err(|e| Error::BadSource {
        path: dir.to_path_buf(),
        reason: format!("cannot open the source folder ({e})"),
    })?;
    let entries = source::walk(&root, None)?;
    let setup_size = match &opts.setup_file {
        Some(setup) => Some(setup_size(&root, setup, &entries)?),
        None => None,
    };
    let (count, total) = totals(&entries);
    let findings = source_findings(&root, &entries, setup_size, opts);
    Ok(CheckReport {
        kind: CheckKind::Source,
        findings,
        notes: Vec::new(),
        files: count,
        total_bytes: total,
    })
}

/// Files counted and bytes they hold.
fn totals(entries: &[SourceEntry]) -> (usize, u64) {
    let files = entries.iter().filter(|e| e.kind != SourceKind::EmptyDir);
    files.fold((0, 0), |(n, sum), e| (n + 1, sum + e.size))
}

/// Every finding about a walked source folder: personal folder, breadth (given the setup
/// file's size), the service size limit, and the path classifier. `pack` runs the same.
pub fn source_findings(
    root: &Path,
    entries: &[SourceEntry],
    setup_size: Option<u64>,
    opts: &CheckOptions,
) -> Vec<Finding> {
    let target = root.display().to_string();
    let (count, total) = totals(entries);
    let mut findings = Vec::new();
    findings.extend(personal_folder_finding(root, opts.home.as_deref(), &target));
    findings.extend(breadth_findings(&target, count, total, setup_size));
    findings.extend(size_finding(&target, total, opts.size_limit));
    findings.extend(classify_source(entries, &opts.rules));
    findings
}

/// Checks a package: opens and verifies it (MAC, padding, digest, sizes, CRCs), then runs the
/// classifier on its inner entry names and the breadth and size rules (the size is the
/// encrypted content's, what is uploaded). Unsafe names are findings here, not a failure.
pub(crate) fn check_package(path: &Path, opts: &CheckOptions) -> Result<CheckReport> {
    let pkg = Package::open(path)?;
    // Counts and totals are all it needs: no entry is kept, whatever their number.
    let read = opts
        .read
        .clone()
        .path_rules(opts.rules.clone())
        .keep_entries(false);
    // The same findings verify and extract report; unsafe names are findings here, not a
    // failure, so that each one is reported.
    let report = pkg.inspect(&read)?;
    let (inner, notes) = (report.findings, report.warnings);
    let target = path.display().to_string();
    let (count, total, setup_size) = (report.file_count, report.file_bytes, report.setup_size);
    let mut findings = breadth_findings(&target, count, total, setup_size);
    findings.extend(size_finding(&target, pkg.encrypted_size(), opts.size_limit));
    findings.extend(inner);
    Ok(CheckReport {
        kind: CheckKind::Package,
        findings,
        notes,
        files: count,
        total_bytes: total,
    })
}

/// The classifier's findings for a walked source folder (FORMAT.md §12.2).
pub fn classify_source(entries: &[SourceEntry], rules: &PathRules) -> Vec<Finding> {
    let mut checker = PathChecker::new(rules.clone());
    for e in entries {
        let kind = match e.kind {
            SourceKind::File => EntryKind::File,
            SourceKind::EmptyDir => EntryKind::Dir,
            SourceKind::Symlink => EntryKind::Symlink,
            SourceKind::Special => EntryKind::Special,
        };
        let parts: Vec<&str> = e.rel.split('/').collect();
        checker.add_components(&parts, kind);
    }
    let mut findings = checker.finish();
    // The classifier's link message describes a link entry inside a package; a link in a
    // source folder is not packed at all unless followed.
    for f in findings.iter_mut().filter(|f| f.rule == Rule::Symlink) {
        *f = Finding::new(Rule::Symlink, &f.path, SOURCE_LINK_REASON);
    }
    findings
}

/// What happens to a symbolic link in a source folder.
const SOURCE_LINK_REASON: &str = "symbolic link: a package cannot hold a link, so it would not be \
    packed; following links (`intunewin pack --follow-symlinks`) packs the file or folder it \
    points to under this name";

/// `content-too-large` above `limit`, `content-near-limit` above [`NEAR_LIMIT_PERCENT`] of it
/// (FORMAT.md §12.2); `target` names the folder or package.
pub fn size_finding(target: &str, total: u64, limit: u64) -> Option<Finding> {
    if total > limit {
        let reason = format!(
            "the content is {}, over the service's limit of {} per app",
            gb(total),
            gb(limit)
        );
        return Some(Finding::new(Rule::ContentTooLarge, target, &reason));
    }
    // u128: no overflow for any u64 total.
    let near = u128::from(total) * 100 > u128::from(limit) * u128::from(NEAR_LIMIT_PERCENT);
    near.then(|| {
        let reason = format!(
            "the content is {}, near the service's limit of {} per app",
            gb(total),
            gb(limit)
        );
        Finding::new(Rule::ContentNearLimit, target, &reason)
    })
}

/// `source-too-broad` for very many files, or for content far larger than the setup file
/// (FORMAT.md §12.2, MS#21).
fn breadth_findings(
    target: &str,
    files: usize,
    total: u64,
    setup_size: Option<u64>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    if files > MANY_FILES {
        let reason = format!(
            "{files} files (more than {MANY_FILES}): is this a whole home or Downloads folder? Everything in it is packed"
        );
        findings.push(Finding::new(Rule::SourceTooBroad, target, &reason));
    }
    if let Some(setup) = setup_size {
        let rest = total.saturating_sub(setup);
        if rest > BROAD_MIN_BYTES && rest / BROAD_RATIO > setup {
            let reason = format!(
                "{} besides the {} setup file (more than {BROAD_RATIO} times it): the folder holds far more than the app",
                gb(rest),
                gb(setup)
            );
            findings.push(Finding::new(Rule::SourceTooBroad, target, &reason));
        }
    }
    findings
}

/// `source-too-broad` when the folder is the home folder or a Downloads/Desktop/Documents
/// folder (FORMAT.md §12.2). `dir` is canonical.
fn personal_folder_finding(dir: &Path, home: Option<&Path>, target: &str) -> Option<Finding> {
    let is_home = home
        .and_then(|h| crate::canonical::canonicalize(h).ok())
        .is_some_and(|h| h == dir);
    let reason = if is_home {
        "the source folder is your home folder: everything in it would be packed".to_owned()
    } else {
        let name = dir.file_name()?.to_str()?;
        let personal = PERSONAL_FOLDERS
            .iter()
            .find(|p| p.eq_ignore_ascii_case(name))?;
        format!("the source folder is a whole {personal} folder: everything in it would be packed")
    };
    Some(Finding::new(Rule::SourceTooBroad, target, &reason))
}

/// The size of the setup file, found as `pack` finds it: relative to the source folder, or a
/// path inside it.
fn setup_size(root: &Path, setup: &Path, entries: &[SourceEntry]) -> Result<u64> {
    let (_, setup_file) = crate::setup::resolve_setup(root, setup)?;
    let rel = setup_file.replace('\\', "/");
    entries
        .iter()
        .find(|e| e.kind == SourceKind::File && e.rel == rel)
        .map(|e| e.size)
        .ok_or_else(|| Error::SetupNotFound {
            setup: setup.display().to_string(),
            source_dir: root.to_path_buf(),
            suggestions: Vec::new(),
        })
}

/// Bytes in decimal gigabytes, as the service states its limit.
fn gb(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(findings: &[Finding]) -> Vec<Rule> {
        findings.iter().map(|f| f.rule).collect()
    }

    fn options() -> CheckOptions {
        CheckOptions::new().home_dir(None)
    }

    #[test]
    fn size_rule_edges() {
        let limit = SERVICE_SIZE_LIMIT;
        assert_eq!(size_finding("s", 0, limit), None);
        assert_eq!(size_finding("s", 27_000_000_000, limit), None);
        let near = size_finding("s", 27_000_000_001, limit).map(|f| f.rule);
        assert_eq!(near, Some(Rule::ContentNearLimit));
        let at = size_finding("s", limit, limit).map(|f| f.rule);
        assert_eq!(at, Some(Rule::ContentNearLimit));
        let over = size_finding("src", limit + 1, limit).expect("over the limit");
        assert_eq!(over.rule, Rule::ContentTooLarge);
        assert_eq!(over.severity, Severity::Error);
        assert_eq!(over.intune_code, None);
        assert_eq!(over.path, "src");
        assert!(over.message.contains("30.0 GB"), "{}", over.message);
        let huge = size_finding("s", u64::MAX, u64::MAX - 1).map(|f| f.rule);
        assert_eq!(huge, Some(Rule::ContentTooLarge));
        // An option: the older 8 GB limit.
        let old = size_finding("s", 9_000_000_000, 8_000_000_000).map(|f| f.rule);
        assert_eq!(old, Some(Rule::ContentTooLarge));
    }

    #[test]
    fn breadth_rule_edges() {
        let gib = 1u64 << 30;
        assert_eq!(breadth_findings("s", MANY_FILES, 0, None), Vec::new());
        let many = breadth_findings("s", MANY_FILES + 1, 0, None);
        assert_eq!(rules(&many), [Rule::SourceTooBroad]);
        assert_eq!(many[0].severity, Severity::Warning);
        // The rest must exceed both 1 GiB and 20× the setup.
        assert_eq!(breadth_findings("s", 2, gib + 11, Some(10)).len(), 1);
        assert_eq!(breadth_findings("s", 2, gib + 10, Some(10)).len(), 0);
        let setup = 100_000_000;
        assert_eq!(
            breadth_findings("s", 2, setup + 20 * setup, Some(setup)).len(),
            0
        );
        assert_eq!(
            breadth_findings("s", 2, setup + 21 * setup, Some(setup)).len(),
            1
        );
        let big_setup = 2 * gib;
        assert_eq!(
            breadth_findings("s", 2, 10 * big_setup, Some(big_setup)).len(),
            0
        );
    }

    #[test]
    fn personal_folders_by_name_and_by_home() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        for name in ["Downloads", "desktop", "DOCUMENTS"] {
            let dir = root.join(name);
            let finding = personal_folder_finding(&dir, None, "t").expect(name);
            assert_eq!(finding.rule, Rule::SourceTooBroad, "{name}");
        }
        assert_eq!(personal_folder_finding(&root.join("App"), None, "t"), None);
        let home = personal_folder_finding(&root, Some(tmp.path()), "t").expect("home");
        assert!(home.message.contains("home folder"), "{}", home.message);
        assert_eq!(
            personal_folder_finding(&root, Some(&root.join("x")), "t"),
            None
        );
    }

    #[test]
    fn source_check_reports_junk_once() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path();
        fs::create_dir_all(src.join(".git/objects")).unwrap();
        fs::write(src.join(".git/config"), b"x").unwrap();
        fs::write(src.join(".git/objects/a"), b"x").unwrap();
        fs::write(src.join(".DS_Store"), b"x").unwrap();
        fs::write(src.join("old.intunewin"), b"x").unwrap();
        fs::write(src.join("setup.exe"), b"x").unwrap();
        let report = check_source(src, &options()).unwrap();
        let mut found: Vec<(Rule, String)> = report
            .findings
            .iter()
            .map(|f| (f.rule, f.path.clone()))
            .collect();
        found.sort();
        let expected = [
            (Rule::JunkFile, ".DS_Store".to_owned()),
            (Rule::JunkFile, ".git".to_owned()),
            (Rule::PreviousPackage, "old.intunewin".to_owned()),
        ];
        assert_eq!(found, expected);
        assert_eq!((report.errors(), report.warnings()), (0, 3));
        assert_eq!((report.files, report.total_bytes), (5, 5));
        assert_eq!(report.kind, CheckKind::Source);
    }

    #[test]
    fn setup_option_finds_the_file_or_fails() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        fs::create_dir_all(src.join("bin")).unwrap();
        fs::write(src.join("bin/setup.exe"), b"12345").unwrap();
        fs::write(tmp.path().join("outside.exe"), b"x").unwrap();
        let ok = check_source(&src, &options().setup_file("bin/setup.exe")).unwrap();
        assert_eq!(ok.findings, Vec::new());
        let missing = check_source(&src, &options().setup_file("nope.exe")).unwrap_err();
        assert!(
            matches!(missing, Error::SetupNotFound { .. }),
            "{missing:?}"
        );
        let outside = options().setup_file(tmp.path().join("outside.exe"));
        let err = check_source(&src, &outside).unwrap_err();
        assert!(matches!(err, Error::SetupOutsideSource { .. }), "{err:?}");
    }

    #[test]
    fn empty_folder_is_fine_and_missing_one_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let report = check(tmp.path(), &options()).unwrap();
        assert_eq!(report.findings, Vec::new());
        assert_eq!((report.files, report.errors()), (0, 0));
        let err = check(&tmp.path().join("missing"), &options()).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
    }

    #[test]
    fn home_folder_is_reported_through_check_source() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("a.txt"), b"x").unwrap();
        let opts = options().home_dir(Some(tmp.path().to_path_buf()));
        let report = check_source(tmp.path(), &opts).unwrap();
        assert_eq!(rules(&report.findings), [Rule::SourceTooBroad]);
        assert_eq!(report.findings[0].path, tmp.path().display().to_string());
    }
}
