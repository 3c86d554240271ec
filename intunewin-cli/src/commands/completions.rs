//! `intunewin completions` and `intunewin man`: generated from the same clap definition as the
//! parser, so they never drift from it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Arg, ArgAction, Args, Command, CommandFactory, ValueHint};
use clap_complete::Shell;
use intunewin_core::{Error, Overwrite, write_atomically};

/// Arguments of `intunewin completions`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Arguments of `intunewin man`.
#[derive(Args, Debug)]
pub struct ManArgs {
    /// A subcommand whose page to print (`intunewin-pack(1)`, ...) instead of the main page.
    #[arg(conflicts_with = "output")]
    pub subcommand: Option<String>,
    /// Write every page (intunewin.1, intunewin-pack.1, ...) into DIR instead of printing one.
    #[arg(short, long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub output: Option<PathBuf>,
    /// With --output: replace pages that exist already (only the pages written here).
    #[arg(short, long, requires = "output")]
    pub force: bool,
}

/// Runs `intunewin completions`.
pub fn run(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = with_compat_switches(crate::Cli::command());
    // Generated into memory: clap_complete panics on a failed write, a closed pipe included.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "intunewin", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(ExitCode::SUCCESS)
}

/// The IntuneWinAppUtil switches (FORMAT.md §10.1), parsed by `compat.rs` before clap, added
/// to the top level so shells complete `intunewin -c <folder> -s <file> -o <folder>` too.
fn with_compat_switches(cmd: Command) -> Command {
    let path = |id: &'static str, short: char, name: &'static str, hint, help: &'static str| {
        Arg::new(id)
            .short(short)
            .value_name(name)
            .value_hint(hint)
            .help(help)
    };
    let flag = |id: &'static str, long: &'static str, help: &'static str| {
        Arg::new(id)
            .long(long)
            .action(ArgAction::SetTrue)
            .help(help)
    };
    cmd.args([
        path(
            "compat-source",
            'c',
            "SOURCE_FOLDER",
            ValueHint::DirPath,
            "IntuneWinAppUtil form: the folder to pack",
        ),
        path(
            "compat-setup",
            's',
            "SETUP_FILE",
            ValueHint::FilePath,
            "IntuneWinAppUtil form: the setup file",
        ),
        path(
            "compat-output",
            'o',
            "OUTPUT_FOLDER",
            ValueHint::DirPath,
            "IntuneWinAppUtil form: the output folder",
        ),
        path(
            "compat-catalog",
            'a',
            "CATALOG_FOLDER",
            ValueHint::DirPath,
            "IntuneWinAppUtil form: the catalog folder",
        ),
        Arg::new("compat-quiet")
            .short('q')
            .action(ArgAction::Count)
            .help("IntuneWinAppUtil form: -q never asks, -qq also prints nothing"),
        Arg::new("compat-version")
            .short('v')
            .action(ArgAction::SetTrue)
            .help("IntuneWinAppUtil form: print the version"),
        Arg::new("compat-exclude")
            .long("exclude")
            .value_name("GLOB")
            .action(ArgAction::Append)
            .help("IntuneWinAppUtil form: leave out matching files and folders"),
        flag(
            "compat-allow-unsafe-paths",
            "allow-unsafe-paths",
            "IntuneWinAppUtil form: pack even when paths would fail on the device",
        ),
        flag(
            "compat-no-follow-symlinks",
            "no-follow-symlinks",
            "IntuneWinAppUtil form: refuse symbolic links instead of reading through them",
        ),
    ])
}

/// Runs `intunewin man`: one page on stdout, or every page into `--output`.
pub fn man(args: ManArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = crate::Cli::command();
    // Building first gives subcommands their full names (`intunewin-pack`).
    cmd.build();
    if let Some(dir) = &args.output {
        write_pages(&cmd, dir, args.force)?;
        return Ok(ExitCode::SUCCESS);
    }
    let page = match &args.subcommand {
        None => cmd,
        Some(name) => cmd.find_subcommand(name).cloned().ok_or_else(|| {
            anyhow::anyhow!(
                "no such subcommand '{}'; see `intunewin --help`",
                crate::ui::safe(name)
            )
        })?,
    };
    std::io::stdout().lock().write_all(&render(page)?)?;
    Ok(ExitCode::SUCCESS)
}

/// A page in roff.
fn render(page: Command) -> std::io::Result<Vec<u8>> {
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .source(format!("intunewin {}", env!("CARGO_PKG_VERSION")))
        .render(&mut roff)?;
    Ok(roff)
}

/// Every page, `intunewin.1` then `intunewin-<subcommand>.1`, into `dir` (created if missing).
/// Existing pages are refused, all of them before anything is written, unless `force`; each
/// page goes through a temporary file renamed into place.
fn write_pages(cmd: &Command, dir: &Path, force: bool) -> anyhow::Result<()> {
    let mut pages = vec![cmd.clone()];
    pages.extend(
        cmd.get_subcommands()
            .filter(|s| s.get_name() != "help")
            .cloned(),
    );
    let named: Vec<(PathBuf, Command)> = pages
        .into_iter()
        .map(|p| {
            (
                dir.join(format!(
                    "{}.1",
                    p.get_display_name().unwrap_or(p.get_name())
                )),
                p,
            )
        })
        .collect();
    if !force && let Some((taken, _)) = named.iter().find(|(path, _)| path.exists()) {
        return Err(Error::OutputExists {
            path: taken.clone(),
        }
        .into());
    }
    for (path, page) in named {
        let roff = render(page).with_context(|| format!("cannot render {}", path.display()))?;
        write_atomically(&path, Overwrite::from(force), |file| {
            file.write_all(&roff)
                .map_err(|e| Error::io("write", &path, e))
        })?;
        outln!("wrote {}", path.display())?;
    }
    Ok(())
}
