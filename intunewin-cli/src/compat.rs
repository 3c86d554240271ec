//! The IntuneWinAppUtil command line (FORMAT.md §10), accepted by the same binary:
//! `intunewin -c <source> -s <setup> -o <output_folder> [-a <catalog>] [-q | -qq]`, `-v`, `-h`,
//! and no arguments at all (the four prompts, on a terminal).
//!
//! It keeps the real tool's switches, prompts, output name and log style, and fixes its flaws
//! (§10.5): every failure exits non-zero, nothing waits for input when stdin is not a terminal,
//! and `INFO   Done!!!` is printed only on success.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use intunewin_core::{
    Detection, Error, Overwrite, PackOptions, PackPlan, PackReport, output_file_name,
};

use crate::commands::pack::{self, ExcludeSet, PackArgs, report_findings};
use crate::ui::{self, Bar, safe};

/// The switches that select this form when they come first (FORMAT.md §10.1).
const SWITCHES: [&str; 10] = ["-c", "-s", "-o", "-a", "-q", "-qq", "-v", "-h", "-?", "/?"];

/// The real tool's prompts, verbatim (FORMAT.md §10.2).
const PROMPT_SOURCE: &str = "Please specify the source folder: ";
const PROMPT_SETUP: &str = "Please specify the setup file: ";
const PROMPT_OUTPUT: &str = "Please specify the output folder: ";
const PROMPT_CATALOG_Q: &str = "Do you want to specify catalog folder (Y/N)?";
/// Not observed from the real tool; worded like the others.
const PROMPT_CATALOG: &str = "Please specify the catalog folder: ";

/// True when the command line is the IntuneWinAppUtil form: no arguments, or a first argument
/// that is one of its switches.
pub fn is_compat(args: &[OsString]) -> bool {
    match args.first() {
        None => true,
        Some(first) => first.to_str().is_some_and(|f| SWITCHES.contains(&f)),
    }
}

/// How much the run may say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
enum Quiet {
    /// Prompts and log lines.
    #[default]
    No,
    /// `-q`: no prompts; overwrite, create the output folder.
    Prompts,
    /// `-qq`: also nothing on stdout.
    All,
}

/// A parsed command line.
#[derive(Debug, Default)]
struct CompatArgs {
    source: Option<PathBuf>,
    setup: Option<PathBuf>,
    output: Option<PathBuf>,
    catalog: Option<PathBuf>,
    quiet: Quiet,
    excludes: Vec<String>,
    allow_unsafe_paths: bool,
    /// `--no-follow-symlinks`: refuse links instead of reading through them.
    no_follow_symlinks: bool,
    help: bool,
    version: bool,
}

impl CompatArgs {
    fn is_empty(&self) -> bool {
        self.source.is_none()
            && self.setup.is_none()
            && self.output.is_none()
            && self.catalog.is_none()
            && self.quiet == Quiet::No
            && self.excludes.is_empty()
            && !self.allow_unsafe_paths
            && !self.no_follow_symlinks
    }

    /// The same run as `intunewin pack` arguments: what this form does not offer stays at
    /// `pack`'s default; links are read through unless `--no-follow-symlinks`, as the real tool
    /// does on Windows.
    fn pack_args(&self, source: PathBuf, setup: PathBuf) -> PackArgs {
        PackArgs {
            catalog: self.catalog.clone(),
            allow_unsafe_paths: self.allow_unsafe_paths,
            follow_symlinks: !self.no_follow_symlinks,
            exclude: self.excludes.clone(),
            ..PackArgs::new(source, setup)
        }
    }
}

/// Why a run stopped: the message, an optional hint, the exit code.
#[derive(Debug)]
struct Failure {
    message: String,
    hint: Option<String>,
    code: u8,
    /// Already printed (path findings): print nothing more.
    printed: bool,
}

impl Failure {
    fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: None,
            code: crate::EXIT_ERROR,
            printed: false,
        }
    }

    fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    fn io(what: &str, err: std::io::Error) -> Self {
        Failure::new(format!("cannot {what}: {err}"))
    }

    /// A prompt that failed: Ctrl-C exits 130 at once (nothing is written before the last
    /// answer), anything else is an error reading stdin.
    fn prompt(err: std::io::Error) -> Self {
        if ui::is_interrupted(&err) {
            Failure::core(Error::Cancelled)
        } else {
            Failure::io("read stdin", err)
        }
    }

    fn core(err: Error) -> Self {
        let code = crate::exit_code(&err);
        let message = match &err {
            Error::Cancelled => "interrupted; no partial output was left".to_string(),
            Error::OutputExists { path } => format!("the file '{}' already exists", path.display()),
            e => e.to_string(),
        };
        let hint = match &err {
            Error::OutputExists { .. } => Some("pass -q to overwrite it without asking".into()),
            e => ui::hint(e),
        };
        Failure {
            hint,
            message,
            code,
            printed: false,
        }
    }

    fn anyhow(err: anyhow::Error) -> Self {
        match err.downcast::<Error>() {
            Ok(core) => Failure::core(core),
            Err(other) => Failure::new(format!("{other:#}")),
        }
    }

    /// Prints the error (and hint) on stderr and gives the exit code.
    fn report(self) -> ExitCode {
        if !self.printed {
            eprintln!("ERROR  {}", safe(&self.message));
            if let Some(hint) = self.hint {
                eprintln!("hint: {}", safe(&hint));
            }
        }
        ExitCode::from(self.code)
    }
}

/// Runs the IntuneWinAppUtil form; `args` excludes the program name.
pub fn run(args: &[OsString]) -> ExitCode {
    let parsed = match parse(args) {
        Ok(parsed) => parsed,
        Err(failure) => {
            let code = failure.report();
            eprint!("\n{}", usage());
            return code;
        }
    };
    // Help, version and log lines are informational: a closed stdout neither fails nor stops
    // the run (the exit code and the package are what a caller relies on).
    if parsed.help {
        let _ = out!("{}", usage());
        return ExitCode::SUCCESS;
    }
    if parsed.version {
        let _ = outln!("{}", version());
        return ExitCode::SUCCESS;
    }
    let log = Log {
        silent: parsed.quiet == Quiet::All,
    };
    match pack(parsed, &log) {
        Ok(()) => {
            // FORMAT.md §10.5: the real tool says this even after an error; we only on success.
            log.info("Done!!!");
            ExitCode::SUCCESS
        }
        Err(failure) => failure.report(),
    }
}

/// `intunewin -v`.
fn version() -> String {
    format!(
        "intunewin {} (IntuneWinAppUtil-compatible; writes ToolVersion {})",
        env!("CARGO_PKG_VERSION"),
        Detection::DEFAULT_TOOL_VERSION
    )
}

/// `intunewin -h`: every switch, in the spirit of the real tool's help (FORMAT.md §10.3).
fn usage() -> String {
    format!(
        "{}

Usage:
  intunewin -c <source_folder> -s <setup_file> -o <output_folder> [-a <catalog_folder>] [-q | -qq]
  intunewin -v
  intunewin -h
  intunewin                     ask for each value (only when stdin is a terminal)

Switches (in any order):
  -c <source_folder>    The folder to pack; every file in it goes into the package.
  -s <setup_file>       The setup file: a bare name, a path relative to -c, or a full path
                        inside -c.
  -o <output_folder>    Where to write <setup file name without extension>.intunewin; asks
                        before creating it or overwriting an existing package.
  -a <catalog_folder>   Catalog folder for Windows 10 S mode: its files go under
                        Cat_C029B285-222F-460B-8ECA-2CD7A8A424B7/ in the content.
  -q                    Quiet: never ask; overwrite an existing package, create a missing
                        output folder.
  -qq                   Like -q, and print nothing on stdout (errors still go to stderr).
  --exclude <GLOB>      Leave out matching files and folders (repeatable; see
                        `intunewin pack --help`).
  --allow-unsafe-paths  Pack even when paths would fail on the device.
  --no-follow-symlinks  Refuse symbolic links. By default they are read through, as
                        IntuneWinAppUtil does on Windows: a link packs the file or folder
                        it points to under its own name; a link that dangles, points
                        outside -c or loops is an error.
  -v                    Print the version.
  -h, -?, /?            Print this help.

Exit codes: 0 success, 1 unsafe content, 2 usage or I/O error, 130 interrupted.
More commands (info, verify, list, extract, explain, ...): intunewin --help
",
        version()
    )
}

/// Reads the switches, in any order (FORMAT.md §10.1).
fn parse(args: &[OsString]) -> Result<CompatArgs, Failure> {
    let mut parsed = CompatArgs::default();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let switch = arg.to_string_lossy();
        let mut value = |slot: &mut Option<PathBuf>| -> Result<(), Failure> {
            let v = iter
                .next()
                .ok_or_else(|| Failure::new(format!("{switch} needs a value")))?;
            if slot.replace(PathBuf::from(v)).is_some() {
                return Err(Failure::new(format!("{switch} is given twice")));
            }
            Ok(())
        };
        match switch.as_ref() {
            "-c" => value(&mut parsed.source)?,
            "-s" => value(&mut parsed.setup)?,
            "-o" => value(&mut parsed.output)?,
            "-a" => value(&mut parsed.catalog)?,
            "--exclude" => {
                let mut pattern = None;
                value(&mut pattern)?;
                let pattern = pattern.unwrap_or_default();
                parsed.excludes.push(pattern.to_string_lossy().into_owned());
            }
            // FORMAT.md §10.1: -qq wins over -q.
            "-q" => parsed.quiet = parsed.quiet.max(Quiet::Prompts),
            "-qq" => parsed.quiet = Quiet::All,
            "--allow-unsafe-paths" => parsed.allow_unsafe_paths = true,
            "--no-follow-symlinks" => parsed.no_follow_symlinks = true,
            // The default; accepted so `pack`'s flag works here too.
            "--follow-symlinks" => parsed.no_follow_symlinks = false,
            "-v" => parsed.version = true,
            "-h" | "-?" | "/?" => parsed.help = true,
            other => {
                return Err(Failure::new(format!("unknown argument '{}'", safe(other))));
            }
        }
    }
    Ok(parsed)
}

/// Log lines on stdout in the real tool's style (FORMAT.md §10.4); nothing with `-qq`.
struct Log {
    silent: bool,
}

impl Log {
    fn info(&self, message: &str) {
        if !self.silent {
            let _ = outln!("INFO   {message}"); // informational, see `run`
        }
    }
}

/// Milliseconds since `start`, for the "within N milliseconds" lines.
fn ms(start: Instant) -> u128 {
    start.elapsed().as_millis()
}

fn show(path: &Path) -> String {
    safe(&path.display().to_string())
}

/// The whole run: inputs (asked for when missing), checks, output folder, pack.
fn pack(mut args: CompatArgs, log: &Log) -> Result<(), Failure> {
    let interactive = ui::stdin_is_interactive();
    fill_missing(&mut args, interactive)?;
    let (Some(source), Some(setup), Some(out_dir)) =
        (args.source.clone(), args.setup.clone(), args.output.clone())
    else {
        return Err(Failure::new("missing a required switch"));
    };
    check_output_is_a_folder_name(&out_dir)?;

    let start = Instant::now();
    log.info("Validating parameters");
    let pack_args = args.pack_args(source.clone(), setup.clone());
    let excludes = ExcludeSet::new(&pack_args.exclude).map_err(Failure::anyhow)?;
    let bar = Arc::new(Bar::new(args.quiet == Quiet::All));
    let options = pack::options(&pack_args, &excludes, bar);
    let plan = options
        .plan()
        .map_err(|e| Failure::anyhow(excludes.explain(e, &source, &setup)))?;
    if report_findings(&plan, args.allow_unsafe_paths, log.silent).is_some() {
        // Already printed, with what to do about it.
        return Err(Failure {
            message: String::new(),
            hint: None,
            code: crate::EXIT_INVALID,
            printed: true,
        });
    }
    check_output_outside_source(&out_dir, &plan)?;
    log.info(&format!(
        "Validated parameters within {} milliseconds",
        ms(start)
    ));

    let created = prepare_output_folder(&out_dir, args.quiet, interactive)?;
    let result = write_package(&options, &plan, &out_dir, args.quiet, interactive, log);
    if result.is_err() && created {
        // Leave nothing behind: the folder we made is empty after a failed pack.
        let _ = std::fs::remove_dir(&out_dir);
    }
    result
}

/// Asks for missing values on a terminal (FORMAT.md §10.2), or fails at once without one.
fn fill_missing(args: &mut CompatArgs, interactive: bool) -> Result<(), Failure> {
    let missing: Vec<&str> = [
        (args.source.is_none(), "-c <source_folder>"),
        (args.setup.is_none(), "-s <setup_file>"),
        (args.output.is_none(), "-o <output_folder>"),
    ]
    .into_iter()
    .filter_map(|(m, s)| m.then_some(s))
    .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !interactive || args.quiet != Quiet::No {
        let why = if args.quiet != Quiet::No {
            "-q never asks"
        } else {
            "stdin is not a terminal, so nothing can be asked"
        };
        let failure = Failure::new(format!("missing {} ({why})", missing.join(", ")));
        eprintln!("ERROR  {}", failure.message);
        eprint!("\n{}", usage());
        return Err(Failure {
            printed: true,
            ..failure
        });
    }
    // Only a bare `intunewin` asks about the catalog, as the real tool does.
    let ask_catalog = args.is_empty();
    ask_path(&mut args.source, PROMPT_SOURCE)?;
    ask_path(&mut args.setup, PROMPT_SETUP)?;
    ask_path(&mut args.output, PROMPT_OUTPUT)?;
    if ask_catalog && ui::confirm(PROMPT_CATALOG_Q).map_err(Failure::prompt)? {
        ask_path(&mut args.catalog, PROMPT_CATALOG)?;
    }
    Ok(())
}

/// Fills `slot` from a prompt unless it already has a value; quotes around a pasted path are
/// dropped.
fn ask_path(slot: &mut Option<PathBuf>, prompt: &str) -> Result<(), Failure> {
    if slot.is_some() {
        return Ok(());
    }
    let answer = ui::ask(prompt)
        .map_err(Failure::prompt)?
        .ok_or_else(|| Failure::new("no answer (end of input)"))?;
    let answer = answer.trim().trim_matches('"');
    if answer.is_empty() {
        return Err(Failure::new(format!(
            "no value given for '{}'",
            prompt.trim_end_matches([':', ' '])
        )));
    }
    *slot = Some(PathBuf::from(answer));
    Ok(())
}

/// Refuses `-o out/app.intunewin`: -o names a folder, and making a folder of that name would
/// surprise whoever typed it.
fn check_output_is_a_folder_name(out_dir: &Path) -> Result<(), Failure> {
    let looks_like_package = out_dir
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("intunewin"));
    if looks_like_package && !out_dir.is_dir() {
        return Err(Failure::new(format!(
            "-o names the output folder, not the package file, {}",
            show(out_dir)
        ))
        .with_hint(
            "the package is named after the setup file (setup.exe -> setup.intunewin); \
             `intunewin pack SOURCE -s SETUP -o FILE.intunewin` chooses the file name",
        ));
    }
    Ok(())
}

/// Refuses an output folder inside the source before anything is created there.
fn check_output_outside_source(out_dir: &Path, plan: &PackPlan) -> Result<(), Failure> {
    if plan.is_inside_source(out_dir) {
        return Err(Failure::core(Error::OutputInsideSource {
            path: out_dir.to_path_buf(),
        }));
    }
    Ok(())
}

/// Creates a missing output folder (asking first unless `-q`); true when it was created here.
fn prepare_output_folder(out_dir: &Path, quiet: Quiet, interactive: bool) -> Result<bool, Failure> {
    if out_dir.is_dir() {
        return Ok(false);
    }
    if out_dir.exists() {
        return Err(
            Failure::new(format!("the output must be a folder, {}", show(out_dir)))
                .with_hint("-o names the folder; the package is named after the setup file"),
        );
    }
    if quiet == Quiet::No {
        if !interactive {
            return Err(Failure::new(format!(
                "the output folder does not exist, {}",
                show(out_dir)
            ))
            .with_hint("pass -q to create it without asking, or create it first"));
        }
        // FORMAT.md §10.2, typo included.
        let prompt = format!(
            "The output foder '{}' does not exist. Do you want to create it (Y/N)?",
            show(out_dir)
        );
        if !ui::confirm(&prompt).map_err(Failure::prompt)? {
            return Err(Failure::new(format!(
                "the output folder was not created; nothing was written, {}",
                show(out_dir)
            )));
        }
    }
    std::fs::create_dir_all(out_dir)
        .map_err(|e| Failure::core(Error::io("create the folder", out_dir, e)))?;
    Ok(true)
}

/// Asks about an existing package (unless `-q`), then packs.
fn write_package(
    options: &PackOptions,
    plan: &PackPlan,
    out_dir: &Path,
    quiet: Quiet,
    interactive: bool,
    log: &Log,
) -> Result<(), Failure> {
    let name = output_file_name(&plan.setup_file).ok_or_else(|| {
        Failure::core(Error::EmptySetupStem {
            setup: PathBuf::from(&plan.setup_file),
        })
    })?;
    let output = crate::ui::join_as_written(out_dir, &name);
    let overwrite = quiet != Quiet::No || confirm_overwrite(&output, interactive)?;
    let start = Instant::now();
    log.info(&format!(
        "Packing {}, {}, from '{}' with setup file '{}'",
        ui::count(plan.file_count(), "file", "files"),
        ui::size(plan.source_bytes()),
        show(&plan.source_dir),
        safe(&plan.setup_file)
    ));
    let report = options
        .pack_plan_to_file(plan, &output, Overwrite::from(overwrite))
        .map_err(Failure::core)?;
    log.info(&format!(
        "File '{}' has been generated successfully within {} milliseconds",
        show(&output),
        ms(start)
    ));
    log_summary(&report, log);
    Ok(())
}

/// True to overwrite; an existing file without a terminal to ask on is an error.
fn confirm_overwrite(output: &Path, interactive: bool) -> Result<bool, Failure> {
    if !output.exists() {
        return Ok(false);
    }
    if !interactive {
        return Err(
            Failure::new(format!("the file '{}' already exists", show(output)))
                .with_hint("pass -q to overwrite it without asking"),
        );
    }
    let prompt = format!(
        "The file '{}' already exists. Do you want to overwrite it (Y/N)?",
        show(output)
    );
    if ui::confirm(&prompt).map_err(Failure::prompt)? {
        Ok(true)
    } else {
        Err(Failure::new(format!(
            "kept the existing file; nothing was written, {}",
            show(output)
        )))
    }
}

/// The numbers a CI log wants after the package is written.
fn log_summary(r: &PackReport, log: &Log) {
    log.info(&format!(
        "Name '{}', SetupFile '{}', {}, {}",
        safe(&r.detection.name),
        safe(&r.detection.setup_file),
        ui::count(r.file_count, "file", "files"),
        ui::count(r.dir_count, "empty folder", "empty folders")
    ));
    log.info(&format!(
        "Sizes: content {} bytes, encrypted {} bytes, package {} bytes",
        r.inner_size, r.encrypted_size, r.package_size
    ));
    log.info(&format!(
        "FileDigest (SHA-256, base64) {}",
        ui::b64(&r.detection.encryption.file_digest)
    ));
}
