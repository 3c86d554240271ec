//! Packing a source folder into a `.intunewin` package.
//!
//! [`PackOptions`] is the builder; [`PackOptions::plan`] resolves and checks everything that
//! can be known before writing (setup file, entries, MSI metadata, path findings), and
//! [`PackOptions::pack_to_file`] writes the package to a temporary file renamed on success.

pub(crate) mod pipeline;

use std::io::{self, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::check::CheckOptions;
use crate::crypto::Keys;
use crate::detection::{CONTENT_FILE_NAME, DEFAULT_TOOL_VERSION, Detection, MsiInfo};
use crate::dostime::DosDateTime;
use crate::error::{Error, Result};
use crate::files::output::Overwrite;
use crate::inner_write::{Compressor, InnerZipWriter, STORED};
use crate::outer::{CONTENTS_DIR, DETECTION_ENTRY, OuterZipWriter};
use crate::paths::{Finding, PathRules, Severity};
use crate::pipeline::{Job, with_compression_pool, with_encryption_thread};
use crate::progress::{CancelFlag, NoProgress, Progress, Stage};
use crate::setup::find_setup;
pub use crate::setup::output_file_name;
use crate::source::{self, SourceEntry, SourceKind};
use crate::staging::{parent_or_dot, resolve_lexically, write_atomically};
pub use pipeline::IN_MEMORY_LIMIT;

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
    /// Whether `path` (existing or not) lies inside the source folder, where no output may go:
    /// it is resolved through its nearest existing ancestor, as a package output is.
    pub fn is_inside_source(&self, path: &Path) -> bool {
        let resolved = resolve_lexically(path).unwrap_or_else(|_| path.to_path_buf());
        resolved.starts_with(&self.source_dir)
    }

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
    /// The default deflate level, 2: the size IntuneWinAppUtil's classic zlib level 1 gives
    /// (zlib-rs's level 1 is its faster "quick" strategy, which compresses markedly less).
    pub const DEFAULT_LEVEL: u32 = DEFAULT_LEVEL;

    /// The inner-zip folder that receives catalog files ([`PackOptions::catalog_dir`];
    /// FORMAT.md §9).
    pub const CATALOG_FOLDER: &str = CATALOG_FOLDER;

    /// Packs `source_dir` with `setup_file` (a name or path relative to the source folder, or a
    /// path inside it). Defaults are IntuneWinAppUtil's: ToolVersion 1.8.7.0, deflate with
    /// [`PackOptions::DEFAULT_LEVEL`],
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

    /// Adds every file of `dir` under [`PackOptions::CATALOG_FOLDER`] at the inner zip root, after the
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
    /// only on success. Refuses an existing output unless [`Overwrite::Replace`], and an output
    /// inside the source folder.
    pub fn pack_to_file(&self, output: &Path, overwrite: Overwrite) -> Result<PackReport> {
        let plan = self.plan()?;
        self.pack_plan_to_file(&plan, output, overwrite)
    }

    /// Like [`pack_to_file`](Self::pack_to_file) for a plan already made (and shown to the user).
    pub fn pack_plan_to_file(
        &self,
        plan: &PackPlan,
        output: &Path,
        overwrite: Overwrite,
    ) -> Result<PackReport> {
        let overwrite = overwrite.replaces();
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
                rule: Some(f.rule),
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
        let (stored_count, sealed) =
            with_encryption_thread(outer.output(), &keys, out_err, |channel| {
                let mut zip = InnerZipWriter::new(channel);
                let stored = self.write_entries(plan, &mut zip, &out_err)?;
                let digest = zip.finish().and_then(|c| c.close()).map_err(out_err)?;
                Ok((stored, digest))
            })
            // Once cancelled, any failure (a worker's, a closed channel's) is the cancellation.
            .map_err(|e| {
                if self.cancel.is_cancelled() {
                    Error::Cancelled
                } else {
                    e
                }
            })?;
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
    /// Errors writing the inner zip are the output's, named by `out_err`; a source file's
    /// come from the worker that read it.
    fn write_entries<W: Write>(
        &self,
        plan: &PackPlan,
        zip: &mut InnerZipWriter<W>,
        out_err: &dyn Fn(io::Error) -> Error,
    ) -> Result<usize> {
        let (work, jobs) = self.schedule(plan);
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
                    match *work {
                        Work::Skip => {}
                        Work::Dir => zip
                            .add_directory(&format!("{}/", entry.rel), time)
                            .map_err(out_err)?,
                        Work::InMemory => {
                            let file = next()?;
                            zip.add_compressed(&entry.rel, time, &file)
                                .map_err(out_err)?;
                            self.progress.advance(entry.size);
                            stored += usize::from(file.method == STORED && entry.size > 0);
                            pool.give(file.data);
                        }
                        Work::Pieces(count) => {
                            zip.begin_pieces(&entry.rel, time, entry.size)
                                .map_err(out_err)?;
                            let mut all_stored = true;
                            for _ in 0..count {
                                let piece = next()?;
                                zip.write_piece(&piece).map_err(out_err)?;
                                all_stored &= piece.method == STORED;
                                self.progress.advance(piece.size);
                                pool.give(piece.data);
                            }
                            zip.end_pieces().map_err(out_err)?;
                            stored += usize::from(all_stored);
                        }
                    }
                }
                Ok(stored)
            },
        )
    }

    /// Decides how each entry is written and lists the compression jobs, in write order.
    fn schedule<'p>(&self, plan: &'p PackPlan) -> (Vec<Work>, Vec<Job<'p>>) {
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
        (work, jobs)
    }

    fn check_cancel(&self) -> Result<()> {
        if self.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_inside_the_source_is_recognised_before_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("app");
        std::fs::create_dir(&source).unwrap();
        std::fs::write(source.join("setup.exe"), b"MZ").unwrap();
        let plan = PackOptions::new(&source, "setup.exe").plan().unwrap();
        assert!(plan.is_inside_source(&source.join("out/new")));
        assert!(plan.is_inside_source(&source.join("sub/../x.intunewin")));
        assert!(!plan.is_inside_source(&dir.path().join("out")));
        assert!(!plan.is_inside_source(&source.join("../elsewhere")));
    }
}
