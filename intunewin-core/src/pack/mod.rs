//! Packing a source folder into a `.intunewin` package.
//!
//! [`PackOptions`] is the builder; [`PackOptions::plan`] resolves and checks everything that
//! can be known before writing (setup file, entries, MSI metadata, path findings), and
//! [`PackOptions::pack_to_file`] writes the package to a temporary file renamed on success.

pub(crate) mod pipeline;
pub mod source;

use std::io::{self, BufWriter, Seek, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::check::CheckOptions;
use crate::crypto::Keys;
use crate::detection::{CONTENT_FILE_NAME, DEFAULT_TOOL_VERSION, Detection, MsiInfo};
use crate::dostime::DosDateTime;
use crate::error::{Error, Result};
use crate::inner_write::{Compressor, InnerZipWriter, STORED};
use crate::outer::{CONTENTS_DIR, DETECTION_ENTRY, OuterZipWriter};
use crate::paths::{Finding, PathRules, Severity};
use crate::pipeline::{Job, with_compression_pool, with_encryption_thread};
use crate::progress::{CancelFlag, NoProgress, Progress, Stage};
use crate::source::{SourceEntry, SourceKind};
use crate::staging::{parent_or_dot, resolve_lexically, write_atomically};

/// Files up to this size are compressed (or, when they do not compress, kept) whole in memory
/// so their local header carries the exact CRC and sizes, as the real tool writes them. Larger
/// files are deflated in pieces of this size, read once, with a data descriptor (FORMAT.md
/// §5.3): holding multi-MiB files whole would cost memory without saving a read.
pub const IN_MEMORY_LIMIT: u64 = 2 * 1024 * 1024;

/// The default deflate level. The real tool uses classic zlib at level 1; zlib-rs's level 1 is
/// its faster "quick" strategy, which on the benchmark corpus's text compressed 2.45:1 against
/// classic zlib-1's 3.17:1, while its level 2 compressed 3.21:1 at about classic zlib-1's speed
/// (119 vs 129 MB/s per core). Level 2 gives packages the size IntuneWinAppUtil's have.
pub const DEFAULT_LEVEL: u32 = 2;

/// A filter deciding which source paths to leave out: `(relative path with '/', is_dir) -> exclude`.
pub type ExcludeFilter = Arc<dyn Fn(&str, bool) -> bool + Send + Sync>;

/// Options for packing; build with [`PackOptions::new`] and the setters.
#[derive(Clone)]
pub struct PackOptions {
    source_dir: PathBuf,
    setup_file: PathBuf,
    tool_version: String,
    compressor: Compressor,
    keys: Option<Keys>,
    time: Option<DosDateTime>,
    msi_info: bool,
    allow_unsafe_paths: bool,
    follow_symlinks: bool,
    path_rules: PathRules,
    exclude: Option<ExcludeFilter>,
    progress: Arc<dyn Progress>,
    cancel: CancelFlag,
    threads: usize,
    catalog_dir: Option<PathBuf>,
}

/// The inner-zip folder that receives catalog files (FORMAT.md §9, inferred from the real
/// tool's log; no package made with `-a` was available to confirm it).
pub const CATALOG_FOLDER: &str = "Cat_C029B285-222F-460B-8ECA-2CD7A8A424B7";

/// Everything decided before writing: resolved inputs, entries and findings.
#[derive(Clone, Debug)]
pub struct PackPlan {
    /// The source folder, canonicalised.
    pub source_dir: PathBuf,
    /// `SetupFile`: the setup file relative to the source, `\`-separated.
    pub setup_file: String,
    /// `Name` for Detection.xml.
    pub name: String,
    /// Entries in packing order.
    pub entries: Vec<SourceEntry>,
    /// MsiInfo for an `.msi` setup file (unless turned off).
    pub msi_info: Option<MsiInfo>,
    /// Findings of the path classifier (FORMAT.md §12).
    pub findings: Vec<Finding>,
    /// Other warnings (MSI values, ...).
    pub warnings: Vec<String>,
    /// Things worth knowing that change nothing (the setup file found under another case).
    pub notes: Vec<String>,
}

impl PackPlan {
    /// Total bytes of the files to pack.
    pub fn source_bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }

    /// Number of files to pack.
    pub fn file_count(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.kind == SourceKind::File)
            .count()
    }
}

/// What packing produced.
#[derive(Clone, Debug)]
pub struct PackReport {
    /// The written package, when packing to a file.
    pub output: Option<PathBuf>,
    /// The Detection.xml written.
    pub detection: Detection,
    /// Files packed.
    pub file_count: usize,
    /// Empty folders packed.
    pub dir_count: usize,
    /// Files kept uncompressed because they did not compress (stored, or copied in deflate's
    /// stored blocks).
    pub stored_count: usize,
    /// Bytes of source files.
    pub source_bytes: u64,
    /// Inner zip size (UnencryptedContentSize).
    pub inner_size: u64,
    /// Encrypted content size (MAC ‖ IV ‖ ciphertext).
    pub encrypted_size: u64,
    /// Size of the whole package.
    pub package_size: u64,
    /// Path findings (warnings, and errors when unsafe paths were allowed).
    pub findings: Vec<Finding>,
    /// Other warnings.
    pub warnings: Vec<String>,
}

impl PackOptions {
    /// Packs `source_dir` with `setup_file` (a name or path relative to the source folder, or a
    /// path inside it). Defaults are IntuneWinAppUtil's: ToolVersion 1.8.7.0, deflate with
    /// [`DEFAULT_LEVEL`],
    /// MsiInfo for `.msi` setups; plus storing incompressible files.
    pub fn new(source_dir: impl Into<PathBuf>, setup_file: impl Into<PathBuf>) -> Self {
        PackOptions {
            source_dir: source_dir.into(),
            setup_file: setup_file.into(),
            tool_version: DEFAULT_TOOL_VERSION.to_string(),
            compressor: Compressor {
                level: DEFAULT_LEVEL,
                store_incompressible: true,
            },
            keys: None,
            time: None,
            msi_info: true,
            allow_unsafe_paths: false,
            follow_symlinks: false,
            path_rules: PathRules::default(),
            exclude: None,
            progress: Arc::new(NoProgress),
            cancel: CancelFlag::new(),
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            catalog_dir: None,
        }
    }

    /// Adds every file of `dir` under [`CATALOG_FOLDER`] at the inner zip root, after the
    /// content (IntuneWinAppUtil's `-a`, for Windows 10 S mode). The folder must not be inside
    /// the source folder and must hold at least one file.
    pub fn catalog_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.catalog_dir = Some(dir.into());
        self
    }

    /// Number of compression threads (default: the available cores; at least 1).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Sets the `ToolVersion` written to Detection.xml.
    pub fn tool_version(mut self, version: impl Into<String>) -> Self {
        self.tool_version = version.into();
        self
    }

    /// Sets the deflate level (0 stores everything; clamped to 9).
    pub fn level(mut self, level: u32) -> Self {
        self.compressor.level = level.min(9);
        self
    }

    /// Whether data that does not compress is kept as is (default true): files up to
    /// [`IN_MEMORY_LIMIT`] are stored, larger ones copied in deflate's stored blocks. False
    /// deflates everything, as the real tool does.
    pub fn store_incompressible(mut self, yes: bool) -> Self {
        self.compressor.store_incompressible = yes;
        self
    }

    /// Uses these keys and IV instead of fresh random ones (for tests and reproducible builds).
    pub fn keys(mut self, keys: Keys) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Stamps the outer entries with this time instead of the current local time.
    pub fn timestamp(mut self, time: DosDateTime) -> Self {
        self.time = Some(time);
        self
    }

    /// Whether to read an `.msi` setup file and write MsiInfo (default true).
    pub fn msi_info(mut self, yes: bool) -> Self {
        self.msi_info = yes;
        self
    }

    /// Packs even when the path classifier reports errors (they stay in the report).
    pub fn allow_unsafe_paths(mut self, yes: bool) -> Self {
        self.allow_unsafe_paths = yes;
        self
    }

    /// Reads through symbolic links (default false): a link to a file packs that file's content
    /// under the link's name, a link to a folder that folder (IntuneWinAppUtil's behaviour on
    /// Windows). A link that dangles, resolves outside the source folder or loops is an
    /// [`Error::Symlink`]. Without it, links are path findings, and packing refuses them even
    /// with [`allow_unsafe_paths`](Self::allow_unsafe_paths): a link is never left out silently.
    pub fn follow_symlinks(mut self, yes: bool) -> Self {
        self.follow_symlinks = yes;
        self
    }

    /// Rules for the device-side path checks.
    pub fn path_rules(mut self, rules: PathRules) -> Self {
        self.path_rules = rules;
        self
    }

    /// Leaves out source paths for which `filter(relative_path, is_dir)` returns true.
    pub fn exclude(mut self, filter: ExcludeFilter) -> Self {
        self.exclude = Some(filter);
        self
    }

    /// Reports progress to `progress`.
    pub fn progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// Stops packing (with [`Error::Cancelled`]) once `flag` is set.
    pub fn cancel_flag(mut self, flag: CancelFlag) -> Self {
        self.cancel = flag;
        self
    }

    /// Resolves the inputs and checks them without writing anything.
    pub fn plan(&self) -> Result<PackPlan> {
        let source_dir = canonical_source(&self.source_dir)?;
        let setup = find_setup(&source_dir, &self.setup_file)?;
        let (setup_path, setup_file) = (setup.path, setup.rel);
        let mut notes = Vec::new();
        if setup.case_corrected {
            notes.push(format!(
                "no file is named '{}' exactly; packing '{setup_file}', whose name differs only in case \
                 (Detection.xml's SetupFile records the real name the device needs)",
                self.setup_file.display()
            ));
        }
        let exclude = self.exclude.clone();
        let filter = exclude
            .as_ref()
            .map(|f| f.as_ref() as &(dyn Fn(&str, bool) -> bool + Sync));
        let mut entries = self.walk(&source_dir, filter)?;
        if !entries.iter().any(|e| e.kind == SourceKind::File) {
            return Err(Error::BadSource {
                path: source_dir,
                reason: "the source folder has no files to pack".into(),
            });
        }
        let setup_rel = setup_file.replace('\\', "/");
        if !entries
            .iter()
            .any(|e| e.kind == SourceKind::File && e.rel == setup_rel)
        {
            return Err(Error::SetupNotFound {
                setup: setup_file,
                source_dir,
                suggestions: Vec::new(),
            });
        }
        if let Some(dir) = &self.catalog_dir {
            entries.extend(self.catalog_entries(dir, &source_dir)?);
        }
        if self.allow_unsafe_paths {
            // Allowing unsafe paths packs them anyway; a link cannot be packed as a link.
            refuse_links(&entries)?;
        }
        let mut warnings = Vec::new();
        let (name, msi_info) = self.msi_metadata(&setup_path, &setup_file, &mut warnings)?;
        let setup_size = entries.iter().find(|e| e.rel == setup_rel).map(|e| e.size);
        let checks = CheckOptions::new().path_rules(self.path_rules.clone());
        let findings = crate::check::source_findings(&source_dir, &entries, setup_size, &checks);
        Ok(PackPlan {
            source_dir,
            setup_file,
            name,
            entries,
            msi_info,
            findings,
            warnings,
            notes,
        })
    }

    /// The source walk, reading through links when asked to.
    fn walk(&self, dir: &Path, filter: Option<source::ExcludeFn<'_>>) -> Result<Vec<SourceEntry>> {
        if self.follow_symlinks {
            source::walk_following(dir, filter)
        } else {
            source::walk(dir, filter)
        }
    }

    fn msi_metadata(
        &self,
        path: &Path,
        setup_file: &str,
        warnings: &mut Vec<String>,
    ) -> Result<(String, Option<MsiInfo>)> {
        if !self.msi_info || !crate::msi::is_msi(setup_file) {
            return Ok((setup_file.to_string(), None));
        }
        let report = crate::msi::read_msi(path)?;
        warnings.extend(report.warnings);
        // FORMAT.md §8.2: Name = ProductName, else Summary Subject, else SetupFile.
        let name = report
            .product_name
            .unwrap_or_else(|| setup_file.to_string());
        Ok((name, Some(report.info)))
    }

    /// Packs into `output` (a file path), writing a temporary file beside it that is renamed
    /// only on success. Refuses an existing output unless `overwrite`, and an output inside
    /// the source folder.
    pub fn pack_to_file(&self, output: &Path, overwrite: bool) -> Result<PackReport> {
        let plan = self.plan()?;
        self.pack_plan_to_file(&plan, output, overwrite)
    }

    /// Like [`pack_to_file`](Self::pack_to_file) for a plan already made (and shown to the user).
    pub fn pack_plan_to_file(
        &self,
        plan: &PackPlan,
        output: &Path,
        overwrite: bool,
    ) -> Result<PackReport> {
        let parent = resolve_lexically(parent_or_dot(output))?;
        if parent.starts_with(&plan.source_dir) {
            return Err(Error::OutputInsideSource {
                path: output.to_path_buf(),
            });
        }
        let mut report = write_atomically(output, overwrite, |file| {
            let mut writer = BufWriter::with_capacity(1 << 20, file);
            let report = self.write_plan(plan, &mut writer, output)?;
            writer
                .flush()
                .map_err(|e| Error::write("write", output, e))?;
            Ok(report)
        })?;
        report.output = Some(output.to_path_buf());
        Ok(report)
    }

    /// Packs into any seekable writer (the package starts at its current position).
    pub fn pack_to_writer<W: Write + Seek + Send>(&self, mut out: W) -> Result<(W, PackReport)> {
        let plan = self.plan()?;
        let report = self.write_plan(&plan, &mut out, Path::new("<output>"))?;
        Ok((out, report))
    }

    /// Writes the package for `plan` to `out`; `out_name` names the output in errors.
    fn write_plan<W: Write + Seek + Send>(
        &self,
        plan: &PackPlan,
        out: &mut W,
        out_name: &Path,
    ) -> Result<PackReport> {
        let first_error = plan.findings.iter().find(|f| f.severity == Severity::Error);
        if let Some(f) = first_error.filter(|_| !self.allow_unsafe_paths) {
            return Err(Error::UnsafePath {
                path: plan.source_dir.clone(),
                entry: f.path.clone(),
                reason: f.message.clone(),
            });
        }
        refuse_links(&plan.entries)?;
        let keys = match &self.keys {
            Some(k) => k.clone(),
            None => Keys::random()?,
        };
        let out_err = |e: io::Error| Error::write("write", out_name, e);
        let time = self.time.unwrap_or_else(DosDateTime::now);
        let mut outer = OuterZipWriter::new(out, time).map_err(out_err)?;
        outer
            .begin_entry(&format!("{CONTENTS_DIR}{CONTENT_FILE_NAME}"))
            .map_err(out_err)?;

        self.progress.begin(Stage::Pack, plan.source_bytes());
        let (stored_count, sealed) = with_encryption_thread(outer.output(), &keys, |channel| {
            let mut zip = InnerZipWriter::new(channel);
            let stored = self.write_entries(plan, &mut zip)?;
            let digest = zip.finish()?.close()?;
            Ok((stored, digest))
        })
        .map_err(|e| self.map_write_error(e, out_name))?;
        self.progress.end();

        outer.advance(sealed.len);
        outer.end_entry(sealed.crc, sealed.len).map_err(out_err)?;

        let detection = Detection {
            tool_version: self.tool_version.clone(),
            msi_info: plan.msi_info.clone(),
            ..sealed.detection(&plan.name, &plan.setup_file)
        };
        let xml = detection.to_xml()?;
        outer
            .add_entry(DETECTION_ENTRY, xml.as_bytes())
            .map_err(out_err)?;
        let out = outer.finish().map_err(out_err)?;
        let package_size = out.stream_position().map_err(out_err)?;
        Ok(PackReport {
            output: None,
            detection,
            file_count: plan.file_count(),
            dir_count: plan
                .entries
                .iter()
                .filter(|e| e.kind == SourceKind::EmptyDir)
                .count(),
            stored_count,
            source_bytes: plan.source_bytes(),
            inner_size: sealed.plaintext_len,
            encrypted_size: sealed.len,
            package_size,
            findings: plan.findings.clone(),
            warnings: plan.warnings.clone(),
        })
    }

    /// Writes every planned entry to the inner zip; all compression runs on the worker pool,
    /// ahead of the writer. Returns how many files were stored uncompressed.
    fn write_entries<W: Write>(
        &self,
        plan: &PackPlan,
        zip: &mut InnerZipWriter<W>,
    ) -> io::Result<usize> {
        let (work, jobs) = self.schedule(plan)?;
        with_compression_pool(
            &jobs,
            &self.compressor,
            self.threads,
            &self.cancel,
            |next, pool| {
                let mut stored = 0;
                for (entry, work) in plan.entries.iter().zip(&work) {
                    self.check_cancel()?;
                    let time = DosDateTime::from_system_time(entry.mtime);
                    let src = |e| SourceError::wrap(e, &entry.path);
                    match *work {
                        Work::Skip => {}
                        Work::Dir => zip.add_directory(&format!("{}/", entry.rel), time)?,
                        Work::InMemory => {
                            let file = next().map_err(src)?;
                            zip.add_compressed(&entry.rel, time, &file)?;
                            self.progress.advance(entry.size);
                            stored += usize::from(file.method == STORED && entry.size > 0);
                            pool.give(file.data);
                        }
                        Work::Pieces(count) => {
                            zip.begin_pieces(&entry.rel, time, entry.size)?;
                            let mut all_stored = true;
                            for _ in 0..count {
                                let piece = next().map_err(src)?;
                                zip.write_piece(&piece)?;
                                all_stored &= piece.method == STORED;
                                self.progress.advance(piece.size);
                                pool.give(piece.data);
                            }
                            zip.end_pieces()?;
                            stored += usize::from(all_stored);
                        }
                    }
                }
                Ok(stored)
            },
        )
    }

    /// Decides how each entry is written and lists the compression jobs, in write order.
    fn schedule<'p>(&self, plan: &'p PackPlan) -> io::Result<(Vec<Work>, Vec<Job<'p>>)> {
        let mut work = Vec::with_capacity(plan.entries.len());
        // At least one job per file; pieces of large files add a few more.
        let mut jobs = Vec::with_capacity(plan.file_count());
        for e in &plan.entries {
            let job = |size, piece| Job {
                path: &e.path,
                identity: &e.identity,
                size,
                piece,
            };
            work.push(match e.kind {
                SourceKind::EmptyDir => Work::Dir,
                // Only reached with allow_unsafe_paths: devices are left out (reported as path
                // findings); links were refused before writing.
                SourceKind::Symlink | SourceKind::Special => Work::Skip,
                SourceKind::File if e.size <= IN_MEMORY_LIMIT => {
                    jobs.push(job(e.size, None));
                    Work::InMemory
                }
                SourceKind::File => {
                    let count = e.size.div_ceil(PIECE_LEN);
                    for i in 0..count {
                        let offset = i * PIECE_LEN;
                        let len = PIECE_LEN.min(e.size - offset);
                        jobs.push(job(len, Some((offset, i + 1 == count))));
                    }
                    Work::Pieces(count as usize)
                }
            });
        }
        Ok((work, jobs))
    }

    fn check_cancel(&self) -> io::Result<()> {
        if self.cancel.is_cancelled() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, CancelledMarker));
        }
        Ok(())
    }

    /// Turns a pipeline error into the library error naming the right file.
    fn map_write_error(&self, e: io::Error, out_name: &Path) -> Error {
        if self.cancel.is_cancelled() || e.get_ref().is_some_and(|r| r.is::<CancelledMarker>()) {
            return Error::Cancelled;
        }
        if let Some(src) = e.get_ref().and_then(|r| r.downcast_ref::<SourceError>()) {
            return Error::io(
                "read",
                &src.path,
                io::Error::new(src.kind, src.message.clone()),
            );
        }
        Error::write("write", out_name, e)
    }
}

/// How one entry is written.
enum Work {
    /// An empty folder.
    Dir,
    /// Left out (special files packed with `allow_unsafe_paths`).
    Skip,
    /// Compressed (or, when it does not compress, kept as is) whole in memory by a worker,
    /// written with its exact local header.
    InMemory,
    /// A large file, deflated in this many pieces by the workers and followed by a data
    /// descriptor. Pieces that do not compress are deflate's stored blocks: a large installer
    /// is read once and its entry keeps the tool's method 8.
    Pieces(usize),
}

/// Length of the pieces large files are deflated in, one per job.
const PIECE_LEN: u64 = IN_MEMORY_LIMIT;

/// An error reading a source file, carried through the pipeline's `io::Error`s.
#[derive(Debug)]
struct SourceError {
    path: PathBuf,
    kind: io::ErrorKind,
    message: String,
}

impl SourceError {
    fn wrap(e: io::Error, path: &Path) -> io::Error {
        if e.get_ref().is_some_and(|r| r.is::<CancelledMarker>())
            || e.kind() == io::ErrorKind::BrokenPipe
        {
            return e;
        }
        let kind = e.kind();
        io::Error::new(
            kind,
            SourceError {
                path: path.to_path_buf(),
                kind,
                message: e.to_string(),
            },
        )
    }
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for SourceError {}

#[derive(Debug)]
struct CancelledMarker;

impl std::fmt::Display for CancelledMarker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cancelled")
    }
}

impl std::error::Error for CancelledMarker {}

/// `<setup file name minus its last extension>.intunewin` (FORMAT.md §2.7); `None` for an empty stem.
pub fn output_file_name(setup_file: &str) -> Option<String> {
    let name = setup_file.rsplit(['/', '\\']).next().unwrap_or(setup_file);
    let stem = match name.rfind('.') {
        Some(i) => &name[..i],
        None => name,
    };
    (!stem.is_empty()).then(|| format!("{stem}.intunewin"))
}

/// An unfollowed link among `entries` is an [`Error::Symlink`]: it would be lost.
fn refuse_links(entries: &[SourceEntry]) -> Result<()> {
    match entries.iter().find(|e| e.kind == SourceKind::Symlink) {
        Some(link) => Err(Error::Symlink {
            link: link.path.clone(),
            target: std::fs::read_link(&link.path).unwrap_or_default(),
            problem: source::SymlinkProblem::NotFollowed,
        }),
        None => Ok(()),
    }
}

impl PackOptions {
    /// The catalog folder's files, renamed under [`CATALOG_FOLDER`] (FORMAT.md §9).
    fn catalog_entries(&self, dir: &Path, source_dir: &Path) -> Result<Vec<SourceEntry>> {
        let bad = |reason: &str| Error::BadCatalog {
            path: dir.to_path_buf(),
            reason: reason.to_string(),
        };
        let canonical = crate::canonical::canonicalize(dir).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                bad("the catalog folder does not exist")
            } else {
                bad(&format!("cannot open the catalog folder ({e})"))
            }
        })?;
        if !canonical.is_dir() {
            return Err(bad("the catalog folder is a file, not a folder"));
        }
        if canonical.starts_with(source_dir) || source_dir.starts_with(&canonical) {
            return Err(bad(
                "the catalog folder must be outside the source folder (and not contain it)",
            ));
        }
        let mut entries = self.walk(&canonical, None)?;
        if !entries.iter().any(|e| e.kind == SourceKind::File) {
            return Err(bad("the catalog folder has no files"));
        }
        for e in &mut entries {
            e.rel = format!("{CATALOG_FOLDER}/{}", e.rel);
        }
        Ok(entries)
    }
}

fn canonical_source(dir: &Path) -> Result<PathBuf> {
    let canonical = crate::canonical::canonicalize(dir).map_err(|e| Error::BadSource {
        path: dir.to_path_buf(),
        reason: format!("cannot open the source folder ({e})"),
    })?;
    if !canonical.is_dir() {
        return Err(Error::BadSource {
            path: dir.to_path_buf(),
            reason: "the source is not a folder".into(),
        });
    }
    Ok(canonical)
}

/// The setup file as found.
struct SetupMatch {
    /// Canonical full path.
    path: PathBuf,
    /// Path relative to the source folder, `\`-separated.
    rel: String,
    /// Found only by ignoring case.
    case_corrected: bool,
}

/// Finds the setup file (a bare name, a path relative to the source, or a path inside it) and
/// returns its full path and its `\`-separated path relative to the source.
pub(crate) fn resolve_setup(source: &Path, setup: &Path) -> Result<(PathBuf, String)> {
    find_setup(source, setup).map(|m| (m.path, m.rel))
}

/// Exact match first; else a unique match ignoring case (Windows names are case-insensitive, and
/// pipelines move between Windows and Linux agents); else an error with the closest names.
fn find_setup(source: &Path, setup: &Path) -> Result<SetupMatch> {
    let mut candidates = Vec::new();
    if setup.is_absolute() {
        candidates.push(setup.to_path_buf());
    } else {
        candidates.push(source.join(setup));
        candidates.push(setup.to_path_buf());
    }
    if let Some(found) = candidates.into_iter().find(|c| c.is_file()) {
        let (path, rel) = setup_inside(source, &found)?;
        return Ok(SetupMatch {
            path,
            rel,
            case_corrected: false,
        });
    }
    let files = source_files(source);
    let wanted = wanted_rel(source, setup);
    let matches: Vec<&String> = files
        .iter()
        .filter(|f| source::ntfs_eq(f, &wanted))
        .collect();
    let given = setup.display().to_string();
    match matches.as_slice() {
        [one] => {
            let (path, rel) = setup_inside(source, &source.join(one))?;
            Ok(SetupMatch {
                path,
                rel,
                case_corrected: true,
            })
        }
        [] => Err(Error::SetupNotFound {
            setup: given,
            source_dir: source.to_path_buf(),
            suggestions: closest_names(&files, &wanted, 3),
        }),
        many => Err(Error::SetupAmbiguous {
            setup: given,
            source_dir: source.to_path_buf(),
            matches: many.iter().map(|m| m.to_string()).collect(),
        }),
    }
}

/// The setup file's canonical path and its `\`-separated path inside `source`.
fn setup_inside(source: &Path, found: &Path) -> Result<(PathBuf, String)> {
    let canonical = crate::canonical::canonicalize(found)
        .map_err(|e| Error::io("open the setup file", found, e))?;
    let rel = canonical
        .strip_prefix(source)
        .map_err(|_| Error::SetupOutsideSource {
            setup: found.to_path_buf(),
        })?;
    let parts: Vec<String> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        return Err(Error::SetupOutsideSource {
            setup: found.to_path_buf(),
        });
    }
    if output_file_name(parts.last().map(String::as_str).unwrap_or("")).is_none() {
        return Err(Error::EmptySetupStem {
            setup: found.to_path_buf(),
        });
    }
    Ok((canonical, parts.join("\\")))
}

/// The setup file as a `/`-separated path from the source folder (`\` taken as a separator,
/// as on Windows; an absolute path inside the source loses the source's prefix).
fn wanted_rel(source: &Path, setup: &Path) -> String {
    let setup = setup.strip_prefix(source).unwrap_or(setup);
    let text = setup.to_string_lossy().replace('\\', "/");
    let parts: Vec<&str> = text
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    parts.join("/")
}

/// Most files listed when looking for a setup file's closest names; a larger folder is
/// searched this far only (the names are suggestions, not a check).
const SUGGESTION_SCAN_LIMIT: usize = 100_000;

/// The files of the source folder (and links to files), `/`-separated, in walk order; errors
/// leave entries out (this only finds names).
fn source_files(source: &Path) -> Vec<String> {
    walkdir::WalkDir::new(source)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file() || (e.path_is_symlink() && e.path().is_file()))
        .filter_map(|e| {
            let rel = e.path().strip_prefix(source).ok()?;
            let parts: Option<Vec<&str>> =
                rel.components().map(|c| c.as_os_str().to_str()).collect();
            Some(parts?.join("/"))
        })
        .take(SUGGESTION_SCAN_LIMIT)
        .collect()
}

/// Up to `n` of `files` closest to `wanted` by edit distance ignoring case, over the whole
/// relative path or the file name alone; names too far off to be a typo are not offered.
fn closest_names(files: &[String], wanted: &str, n: usize) -> Vec<String> {
    let wanted = wanted.to_lowercase();
    let wanted_name = wanted.rsplit('/').next().unwrap_or(&wanted).to_string();
    let budget = wanted_name.chars().count().max(4) / 2;
    let mut scored: Vec<(usize, &String)> = files
        .iter()
        .filter_map(|f| {
            let lower = f.to_lowercase();
            let name = lower.rsplit('/').next().unwrap_or(&lower);
            let d = edit_distance(&wanted, &lower).min(edit_distance(&wanted_name, name));
            (d <= budget).then_some((d, f))
        })
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    scored.into_iter().take(n).map(|(_, f)| f.clone()).collect()
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (prev + cost).min(row[j] + 1).min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_follow_get_file_name_without_extension() {
        assert_eq!(
            output_file_name("setup.exe").as_deref(),
            Some("setup.intunewin")
        );
        assert_eq!(
            output_file_name("Foo.2.0.AppxBundle").as_deref(),
            Some("Foo.2.0.intunewin")
        );
        assert_eq!(
            output_file_name("build\\setup.exe").as_deref(),
            Some("setup.intunewin")
        );
        assert_eq!(
            output_file_name("noext").as_deref(),
            Some("noext.intunewin")
        );
        assert_eq!(output_file_name(".x"), None);
    }

    fn source(files: &[&str]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for f in files {
            let path = root.join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        (dir, root)
    }

    #[test]
    fn an_exact_setup_name_wins_over_case_matches() {
        let (_d, root) = source(&["setup.exe", "SETUP.EXE"]);
        let m = find_setup(&root, Path::new("setup.exe")).unwrap();
        assert_eq!((m.rel.as_str(), m.case_corrected), ("setup.exe", false));
    }

    #[test]
    fn a_unique_case_match_gives_the_real_name() {
        let (_d, root) = source(&["Sub/Install.PS1", "other.txt"]);
        let m = find_setup(&root, Path::new("sub\\install.ps1")).unwrap();
        assert_eq!(
            (m.rel.as_str(), m.case_corrected),
            ("Sub\\Install.PS1", true)
        );
        let plan = PackOptions::new(&root, "SUB/INSTALL.ps1").plan().unwrap();
        assert_eq!(plan.setup_file, "Sub\\Install.PS1");
        assert_eq!(plan.notes.len(), 1);
    }

    #[test]
    fn several_case_matches_are_an_error_listing_them() {
        let (_d, root) = source(&["Setup.exe", "SETUP.EXE"]);
        match find_setup(&root, Path::new("setup.exe")) {
            Err(Error::SetupAmbiguous { matches, .. }) => {
                assert_eq!(matches, ["SETUP.EXE", "Setup.exe"]);
            }
            Err(other) => panic!("expected SetupAmbiguous, got {other:?}"),
            Ok(_) => panic!("expected SetupAmbiguous, got a match"),
        }
    }

    #[test]
    fn no_match_suggests_up_to_three_close_names() {
        let (_d, root) = source(&[
            "setup.exe",
            "Setup64.exe",
            "bin/setup.msi",
            "tools/setupx.exe",
            "readme-for-everyone.txt",
        ]);
        match find_setup(&root, Path::new("setp.exe")) {
            Err(Error::SetupNotFound { suggestions, .. }) => {
                assert_eq!(
                    suggestions,
                    ["setup.exe", "tools/setupx.exe", "Setup64.exe"]
                );
            }
            Err(other) => panic!("expected SetupNotFound, got {other:?}"),
            Ok(_) => panic!("expected SetupNotFound, got a match"),
        }
        match find_setup(&root, Path::new("zzzzzzzz.bat")) {
            Err(Error::SetupNotFound { suggestions, .. }) => assert!(suggestions.is_empty()),
            Err(other) => panic!("expected SetupNotFound, got {other:?}"),
            Ok(_) => panic!("expected SetupNotFound, got a match"),
        }
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("setup.exe", "setup.exe"), 0);
        assert_eq!(edit_distance("setp.exe", "setup.exe"), 1);
        assert_eq!(edit_distance("setup.exe", "setup.msi"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("äb", "ab"), 1);
    }
}
