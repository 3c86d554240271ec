//! `intunewin pack`: a source folder into a `.intunewin` package.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use globset::{GlobBuilder, GlobMatcher};
use intunewin_core::{
    Detection, Error, ExcludeFilter, Overwrite, PackOptions, PackPlan, PackReport, PathRules,
    Progress, Severity, output_file_name,
};
use serde::Serialize;

use crate::args::{OutputArgs, ReportArgs};
use crate::json::{self, FindingJson};
use crate::ui::{self, Bar, safe};

/// Arguments of `intunewin pack`.
#[derive(Args, Debug, Clone)]
#[command(
    mut_arg("output", |a| a.help(
        "Output folder, or output file ending in .intunewin [default: current folder]. A path \
         ending in another file type (out/app.zip) is refused rather than made a folder"
    )),
    mut_arg("force", |a| a.help("Overwrite an existing package")),
)]
pub struct PackArgs {
    /// The folder to pack; everything in it goes into the package.
    pub source: PathBuf,
    /// The setup file: a name or path relative to SOURCE, or a path inside it.
    #[arg(short, long)]
    pub setup: PathBuf,
    #[command(flatten)]
    pub out: OutputArgs,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Deflate level 0–9 (0 stores everything). The default, 2, gives the size
    /// IntuneWinAppUtil's classic zlib level 1 gives; 1 is faster and larger.
    #[arg(long, default_value_t = PackOptions::DEFAULT_LEVEL, value_parser = clap::value_parser!(u32).range(0..=9))]
    pub level: u32,
    /// Compression threads [default: the available cores].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    /// Deflate every file, as IntuneWinAppUtil does, instead of storing files that do not compress.
    #[arg(long)]
    pub deflate_all: bool,
    /// Catalog folder for Windows 10 S mode: its files go under
    /// Cat_C029B285-222F-460B-8ECA-2CD7A8A424B7/ in the content (IntuneWinAppUtil's -a).
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    /// Do not read an .msi setup file; write no MsiInfo.
    #[arg(long)]
    pub no_msi_info: bool,
    /// Pack even when paths would fail on the device (see `intunewin check`). Symbolic links
    /// are still refused unless --follow-symlinks: a link is never left out silently.
    #[arg(long)]
    pub allow_unsafe_paths: bool,
    /// Read through symbolic links, as IntuneWinAppUtil does on Windows: a link to a file packs
    /// the file's content under the link's name, a link to a folder packs the folder. A link
    /// that dangles, points outside SOURCE or loops is an error.
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Digits of the Intune content version assumed for the device path budget (1–3).
    #[arg(long, default_value_t = DEFAULT_CONTENT_VERSION_DIGITS, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub content_version_digits: u8,
    /// ToolVersion written to Detection.xml.
    #[arg(long, default_value = Detection::DEFAULT_TOOL_VERSION)]
    pub tool_version: String,
    /// Leave out files and folders matching GLOB (repeatable). Without a `/`, GLOB matches a
    /// name at any depth (`*.pdb`, `.git`); with one, the path from the source folder
    /// (`docs/**/*.md`). A trailing `/` matches folders only. `\` is a separator like `/` on
    /// every OS (`Files\Config`); `[*]` matches a literal `*`. Case-insensitive.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
}

/// `--content-version-digits` when not given: Intune's content versions are 1 to 99 at first.
const DEFAULT_CONTENT_VERSION_DIGITS: u8 = 2;

impl PackArgs {
    /// `pack SOURCE --setup SETUP` with every other option at its default, as the command line
    /// would give it (the IntuneWinAppUtil form starts from this).
    pub fn new(source: PathBuf, setup: PathBuf) -> Self {
        PackArgs {
            source,
            setup,
            out: OutputArgs::default(),
            report: ReportArgs::default(),
            level: PackOptions::DEFAULT_LEVEL,
            threads: None,
            deflate_all: false,
            catalog: None,
            no_msi_info: false,
            allow_unsafe_paths: false,
            follow_symlinks: false,
            content_version_digits: DEFAULT_CONTENT_VERSION_DIGITS,
            tool_version: Detection::DEFAULT_TOOL_VERSION.to_string(),
            exclude: Vec::new(),
        }
    }
}

/// `pack --json` output.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PackJson {
    output: String,
    setup_file: String,
    name: String,
    file_count: usize,
    empty_folder_count: usize,
    stored_file_count: usize,
    source_size: u64,
    unencrypted_content_size: u64,
    encrypted_content_size: u64,
    package_size: u64,
    file_digest: String,
    elapsed_seconds: f64,
    warnings: Vec<String>,
    notes: Vec<String>,
    findings: Vec<FindingJson>,
}

/// Runs `intunewin pack`.
pub fn run(args: PackArgs) -> anyhow::Result<ExitCode> {
    let bar = Arc::new(Bar::new(args.report.silent()));
    let excludes = ExcludeSet::new(&args.exclude)?;
    let options = options(&args, &excludes, bar.clone());
    let plan = options
        .plan()
        .map_err(|e| excludes.explain(e, &args.source, &args.setup))?;
    let output = resolve_output(args.out.output.as_deref(), &plan.setup_file)?;
    if let Some(code) = report_findings(&plan, args.allow_unsafe_paths, args.report.silent()) {
        if args.report.json {
            json::print(&json::ErrorReport::unsafe_paths(&plan))?;
        }
        return Ok(code);
    }
    let report = options.pack_plan_to_file(&plan, &output, Overwrite::from(args.out.force))?;
    let elapsed = bar.elapsed().as_secs_f64();
    if args.report.json {
        json::print(&pack_json(&report, &output, elapsed, &plan.notes))?;
    } else if !args.report.quiet {
        print_summary(&report, &output, elapsed)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The library options for these arguments (`excludes`: `args.exclude` compiled), for
/// `intunewin pack` and the IntuneWinAppUtil form alike.
pub fn options(args: &PackArgs, excludes: &ExcludeSet, progress: Arc<dyn Progress>) -> PackOptions {
    let options = PackOptions::new(&args.source, setup_path(&args.source, &args.setup));
    let options = match &args.catalog {
        Some(dir) => options.catalog_dir(dir.clone()),
        None => options,
    };
    let options = match args.threads {
        Some(n) => options.threads(usize::from(n)),
        None => options,
    };
    options
        .level(args.level)
        .store_incompressible(!args.deflate_all)
        .msi_info(!args.no_msi_info)
        .allow_unsafe_paths(args.allow_unsafe_paths)
        .follow_symlinks(args.follow_symlinks)
        .tool_version(args.tool_version.clone())
        .path_rules(PathRules::new().content_version_digits(args.content_version_digits))
        .exclude(excludes.filter())
        .progress(progress)
        .cancel_flag(crate::cancel_flag())
}

/// `--exclude` patterns (gitignore-like, see [`PackArgs::exclude`]).
#[derive(Clone, Debug, Default)]
pub struct ExcludeSet {
    patterns: Vec<ExcludePattern>,
}

#[derive(Clone, Debug)]
struct ExcludePattern {
    text: String,
    matcher: GlobMatcher,
    /// No `/` inside: matched against the last path component only.
    by_name: bool,
    /// Trailing `/`: folders only.
    dirs_only: bool,
}

impl ExcludeSet {
    /// Compiles the patterns; an invalid one is a usage error naming it.
    pub fn new(patterns: &[String]) -> anyhow::Result<Self> {
        let patterns = patterns
            .iter()
            .map(|text| ExcludePattern::new(text))
            .collect::<anyhow::Result<_>>()?;
        Ok(ExcludeSet { patterns })
    }

    /// The first pattern that leaves out `rel` (a `/`-separated path from the source folder).
    pub fn matching(&self, rel: &str, is_dir: bool) -> Option<&str> {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        self.patterns
            .iter()
            .filter(|p| is_dir || !p.dirs_only)
            .find(|p| p.matcher.is_match(if p.by_name { name } else { rel }))
            .map(|p| p.text.as_str())
    }

    /// The filter for [`PackOptions::exclude`]; a filter that keeps everything when empty.
    pub fn filter(&self) -> ExcludeFilter {
        let set = self.clone();
        Arc::new(move |rel: &str, is_dir: bool| set.matching(rel, is_dir).is_some())
    }

    /// Turns "setup file not found" into "your --exclude left it out" when that is the cause.
    pub fn explain(&self, err: Error, source: &Path, setup: &Path) -> anyhow::Error {
        if !matches!(err, Error::SetupNotFound { .. }) || self.patterns.is_empty() {
            return err.into();
        }
        let Some(rel) = setup_relative(source, setup) else {
            return err.into();
        };
        // A folder left out takes the files under it along.
        let parts: Vec<&str> = rel.split('/').collect();
        let culprit = (1..=parts.len()).find_map(|n| {
            let prefix = parts[..n].join("/");
            self.matching(&prefix, n < parts.len())
                .map(|p| (prefix.clone(), p.to_string()))
        });
        match culprit {
            Some((path, pattern)) => anyhow::anyhow!(
                "the setup file cannot be excluded: --exclude '{pattern}' leaves out '{path}', {}",
                setup.display()
            ),
            None => err.into(),
        }
    }
}

impl ExcludePattern {
    fn new(text: &str) -> anyhow::Result<Self> {
        // `\` separates folders as `/` does, on every OS (Windows names cannot hold it, and
        // globset would read it as an escape on Unix but a separator on Windows); `[*]` quotes.
        let pattern = text.replace('\\', "/");
        let dirs_only = pattern.ends_with('/');
        let trimmed = pattern.trim_end_matches('/');
        let by_name = !trimmed.contains('/');
        let glob = GlobBuilder::new(trimmed.trim_start_matches('/'))
            .literal_separator(true)
            .backslash_escape(false)
            .case_insensitive(true)
            .build()
            .with_context(|| format!("invalid --exclude pattern '{text}'"))?;
        Ok(ExcludePattern {
            text: text.to_string(),
            matcher: glob.compile_matcher(),
            by_name,
            dirs_only,
        })
    }
}

/// The setup file as given, or, on an OS whose separator is `/`, a Windows-style `sub\setup.exe`
/// read as `sub/setup.exe` when only that names a file (command lines copied from Windows
/// pipelines). The library then finds it exactly, not as a name differing in case.
pub fn setup_path(source: &Path, setup: &Path) -> PathBuf {
    let text = setup.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '\\' || !text.contains('\\') {
        return setup.to_path_buf();
    }
    let translated = PathBuf::from(text.replace('\\', "/"));
    if existing_setup(source, setup).is_none() && existing_setup(source, &translated).is_some() {
        translated
    } else {
        setup.to_path_buf()
    }
}

/// The file a setup path names, looked up as the library does first: relative to the source
/// folder, else as given (a path inside the source folder).
fn existing_setup(source: &Path, setup: &Path) -> Option<PathBuf> {
    [source.join(setup), setup.to_path_buf()]
        .into_iter()
        .find(|p| p.is_file())
}

/// The setup file's `/`-separated path relative to the source folder, when it exists there.
fn setup_relative(source: &Path, setup: &Path) -> Option<String> {
    let full = existing_setup(source, &setup_path(source, setup))?
        .canonicalize()
        .ok()?;
    let source = source.canonicalize().ok()?;
    let rel = full.strip_prefix(&source).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Where the package goes: a `.intunewin` file path as given, else `<setup stem>.intunewin`
/// in the given (or current) folder (created when packing starts, if missing). A path that
/// looks like a file of another kind (`out/foo.zip`) is refused rather than made a folder.
pub fn resolve_output(output: Option<&Path>, setup_file: &str) -> anyhow::Result<PathBuf> {
    let name = output_file_name(setup_file).ok_or_else(|| {
        anyhow::anyhow!("the setup file name has no stem to name the package after, {setup_file}")
    })?;
    let Some(out) = output else {
        return Ok(PathBuf::from(name));
    };
    let is_file = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("intunewin"))
        && !out.is_dir();
    if is_file {
        return Ok(out.to_path_buf());
    }
    if out.is_file() {
        anyhow::bail!(
            "--output names an existing file that is not a .intunewin package; give a folder or \
             a path ending in .intunewin, {}",
            out.display()
        );
    }
    if let Some(ext) = out
        .extension()
        .and_then(|e| e.to_str())
        .filter(|_| !out.exists())
        && OUTPUT_FILE_EXTENSIONS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(ext))
    {
        anyhow::bail!(
            "--output ends in .{ext}, but a package file must end in .intunewin (a path \
             without it is a folder to write {name} into), {}",
            out.display()
        );
    }
    // The folder is created by the library only once every check has passed.
    Ok(ui::join_as_written(out, &name))
}

/// Extensions of files a user might mean by `--output` (a folder named `foo.zip` is surely
/// not what they want); other dotted names (`out/v1.2`) stay folders.
const OUTPUT_FILE_EXTENSIONS: [&str; 9] = [
    "zip",
    "intunewim",
    "intunwin",
    "msi",
    "exe",
    "bin",
    "pkg",
    "appx",
    "msix",
];

/// Prints path findings and notes; returns an exit code when errors stop the pack.
pub fn report_findings(plan: &PackPlan, allow_unsafe: bool, quiet: bool) -> Option<ExitCode> {
    let errors = plan
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    for f in &plan.findings {
        if quiet && f.severity == Severity::Warning {
            continue;
        }
        eprintln!("intunewin: {}", super::check::finding_line(f));
    }
    for w in &plan.warnings {
        if !quiet {
            eprintln!("intunewin: warning: {}", safe(w));
        }
    }
    for n in &plan.notes {
        if !quiet {
            eprintln!("intunewin: note: {}", safe(n));
        }
    }
    if errors > 0 && !allow_unsafe {
        // The same message and hint as the JSON error.
        let report = crate::json::ErrorReport::unsafe_paths(plan);
        eprintln!(
            "intunewin: error: {}",
            crate::ui::safe(&report.error.message)
        );
        if let Some(hint) = &report.error.hint {
            eprintln!("hint: {hint}");
        }
        return Some(ExitCode::from(crate::EXIT_INVALID));
    }
    None
}

fn pack_json(r: &PackReport, output: &Path, elapsed: f64, notes: &[String]) -> PackJson {
    PackJson {
        output: output.display().to_string(),
        setup_file: r.detection.setup_file.clone(),
        name: r.detection.name.clone(),
        file_count: r.file_count,
        empty_folder_count: r.dir_count,
        stored_file_count: r.stored_count,
        source_size: r.source_bytes,
        unencrypted_content_size: r.inner_size,
        encrypted_content_size: r.encrypted_size,
        package_size: r.package_size,
        file_digest: ui::b64(&r.detection.encryption.file_digest),
        elapsed_seconds: elapsed,
        warnings: r.warnings.clone(),
        notes: notes.to_vec(),
        findings: r.findings.iter().map(FindingJson::from).collect(),
    }
}

/// Plain lines a CI log can keep: what was packed, sizes, digest, time.
pub fn print_summary(r: &PackReport, output: &Path, elapsed: f64) -> std::io::Result<()> {
    outln!(
        "packed {}, {}, {} ({} stored uncompressed)",
        ui::count(r.file_count, "file", "files"),
        ui::count(r.dir_count, "empty folder", "empty folders"),
        ui::size(r.source_bytes),
        r.stored_count
    )?;
    outln!(
        "setup file: {} (name: {})",
        safe(&r.detection.setup_file),
        safe(&r.detection.name)
    )?;
    outln!(
        "inner zip {}, encrypted {}, package {}",
        ui::size(r.inner_size),
        ui::size(r.encrypted_size),
        ui::size(r.package_size)
    )?;
    outln!(
        "FileDigest (SHA-256): {}",
        ui::b64(&r.detection.encryption.file_digest)
    )?;
    outln!(
        "wrote {} in {elapsed:.2} s{}",
        output.display(),
        ui::rate(r.source_bytes, elapsed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn new_gives_the_command_line_defaults() {
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            pack: PackArgs,
        }
        let parsed = Cli::try_parse_from(["pack", "src", "--setup", "setup.exe"])
            .expect("parses")
            .pack;
        let built = PackArgs::new("src".into(), "setup.exe".into());
        assert_eq!(format!("{parsed:?}"), format!("{built:?}"));
    }

    #[cfg(unix)]
    #[test]
    fn a_windows_style_setup_path_is_read_with_slashes_only_when_that_names_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = dir.path();
        std::fs::create_dir(source.join("sub")).expect("mkdir");
        std::fs::write(source.join("sub/setup.exe"), b"MZ").expect("write");
        std::fs::write(source.join("a\\b.exe"), b"MZ").expect("write");
        let cases = [
            ("sub\\setup.exe", "sub/setup.exe"),
            ("sub\\missing.exe", "sub\\missing.exe"),
            ("a\\b.exe", "a\\b.exe"),
            ("sub/setup.exe", "sub/setup.exe"),
        ];
        for (given, want) in cases {
            assert_eq!(
                setup_path(source, Path::new(given)),
                Path::new(want),
                "{given}"
            );
        }
        assert_eq!(
            setup_relative(source, Path::new("sub\\setup.exe")).as_deref(),
            Some("sub/setup.exe")
        );
    }
}
