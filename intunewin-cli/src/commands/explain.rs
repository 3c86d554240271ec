//! `intunewin explain`: an Intune Win32 error code's phase, cause and what to check.

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use intunewin_core::ime::{self, CodeInfo, Decoded, Explanation, InstallerExit};
use serde::Serialize;

use crate::args::JsonArgs;

/// Arguments of `intunewin explain`.
#[derive(Args, Debug)]
#[command(mut_arg("json", |a| a.help("Print JSON instead of text")))]
pub struct ExplainArgs {
    /// The code: 0x87D30067, 87D30067, -2016214937 or 2278752359.
    #[arg(
        required_unless_present = "list",
        conflicts_with = "list",
        allow_negative_numbers = true
    )]
    pub code: Option<String>,
    #[command(flatten)]
    pub format: JsonArgs,
    /// List every known code.
    #[arg(long)]
    pub list: bool,
}

/// Runs the subcommand: exit 0 for a code in the table, a known installer exit code or
/// `--list`; 1 for a code it cannot explain.
pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    if args.list {
        print_list(args.format.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(text) = args.code else {
        bail!("give a code to explain, or --list");
    };
    let Some(code) = ime::parse_code(&text) else {
        // Debug formatting escapes control characters from the untrusted argument.
        bail!(
            "cannot read {text:?} as an error code \
             (expected a form like 0x87D30067, 87D30067, -2016214937 or 2278752359)"
        );
    };
    let explained = ime::explain(code);
    if args.format.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&Report::new(&explained))?
        )?;
    } else {
        match explained.entry {
            Some(info) => print_known(info, &explained)?,
            None if explained.is_exit_code() => print_exit_code(&explained)?,
            None => print_unknown(&explained)?,
        }
    }
    let known_exit_code = explained
        .installer_exit
        .is_some_and(|exit| explained.is_exit_code() && exit.meaning.is_some());
    Ok(if explained.entry.is_some() || known_exit_code {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::EXIT_INVALID)
    })
}

fn print_list(json: bool) -> anyhow::Result<()> {
    if json {
        let all: Vec<Report> = ime::table()
            .iter()
            .map(|info| Report::new(&ime::explain(info.code)))
            .collect();
        outln!("{}", serde_json::to_string_pretty(&all)?)?;
        return Ok(());
    }
    for info in ime::table() {
        outln!(
            "{}  {:>11}  {:<14}  {}",
            hex(info.code),
            ime::explain(info.code).signed,
            info.source.id(),
            info.message
        )?;
    }
    Ok(())
}

fn print_known(info: &CodeInfo, e: &Explanation) -> std::io::Result<()> {
    outln!("{} ({})", hex(info.code), e.signed)?;
    outln!("{}", info.message)?;
    // Codes wrapping a Win32 error often reuse its text as their message: say it once.
    if let Some(win32) = win32_line(&e.decoded, Some(info.message)) {
        outln!("{win32}")?;
    }
    if let Some(exit) = e.installer_exit
        && let Some(meaning) = exit.meaning
    {
        let exit = exit.code;
        outln!(
            "from installer exit code {exit} ({meaning}): the IME reports a failed exit code \
             as HRESULT_FROM_WIN32, 0x80070000 | {exit}; intunewin explain {exit}"
        )?;
    }
    outln!()?;
    let phases: Vec<&str> = info.phases.iter().map(|p| p.label()).collect();
    outln!("phase:  {}", phases.join(", "))?;
    outln!("source: {}", info.source.label())?;
    outln!("likely causes:")?;
    for cause in info.causes {
        outln!("  - {cause}")?;
    }
    outln!("what to check:")?;
    for check in info.checks {
        outln!("  - {check}")?;
    }
    if info.rules.is_empty() {
        outln!("not predicted at pack time")?;
    } else {
        let plural = if info.rules.len() == 1 {
            "rule"
        } else {
            "rules"
        };
        outln!(
            "predicted at pack time by: intunewin check ({plural} {})",
            info.rules.join(", ")
        )?;
    }
    Ok(())
}

/// An HRESULT not in the table: its fields, and the Win32 error or exit code it carries.
fn print_unknown(e: &Explanation) -> std::io::Result<()> {
    let d = &e.decoded;
    outln!(
        "{} ({}): not a known Intune Win32 app code",
        hex(d.code),
        e.signed
    )?;
    let severity = if d.failure { "failure" } else { "success" };
    let vendor = if d.customer { ", vendor-defined" } else { "" };
    outln!("severity: {severity}{vendor}")?;
    match d.facility_name {
        Some(name) => outln!("facility: {} ({name})", d.facility)?,
        None => outln!("facility: {} (unknown)", d.facility)?,
    }
    outln!("code:     {:#06X} ({})", d.status, d.status)?;
    if let Some(win32) = win32_line(d, None) {
        outln!("{win32}")?;
    }
    if let Some(exit) = e.installer_exit
        && let Some(meaning) = exit.meaning
    {
        outln!(
            "from installer exit code {} ({meaning}): intunewin explain {}",
            exit.code,
            exit.code
        )?;
    }
    outln!("hint: intunewin explain --list shows the codes this tool knows")
}

/// A bare value (0 to 0xFFFF): an installer's exit code, never read as an HRESULT (whose
/// severity bit it lacks). What it means, what the IME's default return-code map does with
/// it, and the HRESULT a failure is reported as.
fn print_exit_code(e: &Explanation) -> std::io::Result<()> {
    let Some(exit) = e.installer_exit else {
        return print_unknown(e);
    };
    let code = exit.code;
    outln!("{code}: an installer exit code (not an HRESULT)")?;
    match exit.meaning {
        Some(meaning) => outln!("meaning: {meaning}")?,
        None => outln!(
            "meaning: not a common Windows Installer code; see the installer's documentation"
        )?,
    }
    // The same number read as a Win32 error (Windows Installer's exit codes are ones).
    if let Some(w) = e.decoded.win32_error {
        outln!("Win32 error {} ({}): {}", w.number, w.name, w.message)?;
    }
    match exit.reported_as {
        Some(wrapped) => {
            let known = if ime::explain(wrapped).entry.is_some() {
                ", which is in the table"
            } else {
                ""
            };
            outln!(
                "as an installer exit code, Intune reports it as {}{known}: intunewin explain {}",
                hex(wrapped),
                hex(wrapped)
            )?;
            outln!(
                "(the default return-code map calls it a failure; the IME reports it as \
                 HRESULT_FROM_WIN32, 0x80070000 | {code})"
            )?;
        }
        None => outln!(
            "the default return-code map (0 and 1707 success, 3010 soft-reboot, 1641 \
             hard-reboot, 1618 retry) treats it as {}: not reported as an error",
            exit.default_action.id()
        )?,
    }
    outln!(
        "hint: an app's own return codes may treat it otherwise: intunewin diagnose --app shows \
         them"
    )
}

/// "Win32 error N (NAME): message" for codes that carry a Win32 error; without the message
/// when it is `shown` already.
fn win32_line(d: &Decoded, shown: Option<&str>) -> Option<String> {
    let number = d.win32?;
    Some(match d.win32_error {
        Some(e) if shown == Some(e.message) => format!("Win32 error {number} ({})", e.name),
        Some(e) => format!("Win32 error {number} ({}): {}", e.name, e.message),
        None => format!("Win32 error {number} (or the installer's own exit code {number})"),
    })
}

/// `0x87D30067`: the form the Intune portal shows.
fn hex(code: u32) -> String {
    format!("0x{code:08X}")
}

/// The JSON form of one code, known or not.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    code: String,
    signed: i32,
    unsigned: u32,
    known: bool,
    message: Option<&'static str>,
    phases: Vec<&'static str>,
    source: Option<&'static str>,
    causes: &'static [&'static str],
    checks: &'static [&'static str],
    rules: &'static [&'static str],
    decoded: DecodedJson,
    /// The code as an installer's exit code (0 to 0xFFFF), or the exit code an `0x8007xxxx`
    /// HRESULT came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    installer_exit: Option<ExitJson>,
}

/// An installer exit code: its meaning, the default map's action and the HRESULT reported.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExitJson {
    exit_code: u32,
    meaning: Option<&'static str>,
    default_action: &'static str,
    reported_as: Option<String>,
}

impl From<InstallerExit> for ExitJson {
    fn from(exit: InstallerExit) -> Self {
        ExitJson {
            exit_code: exit.code,
            meaning: exit.meaning,
            default_action: exit.default_action.id(),
            reported_as: exit.reported_as.map(hex),
        }
    }
}

impl Report {
    fn new(e: &Explanation) -> Self {
        let entry = e.entry;
        Report {
            code: hex(e.code),
            signed: e.signed,
            unsigned: e.code,
            known: entry.is_some(),
            message: entry.map(|e| e.message),
            phases: entry
                .map(|e| e.phases.iter().map(|p| p.id()).collect())
                .unwrap_or_default(),
            source: entry.map(|e| e.source.id()),
            causes: entry.map_or(&[], |e| e.causes),
            checks: entry.map_or(&[], |e| e.checks),
            rules: entry.map_or(&[], |e| e.rules),
            decoded: DecodedJson::from(e.decoded),
            installer_exit: e.installer_exit.map(ExitJson::from),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DecodedJson {
    failure: bool,
    customer: bool,
    facility: u16,
    facility_name: Option<&'static str>,
    status: u16,
    win32: Option<u32>,
    win32_name: Option<&'static str>,
    win32_message: Option<&'static str>,
    hresult_from_win32: Option<String>,
}

impl From<Decoded> for DecodedJson {
    fn from(d: Decoded) -> Self {
        DecodedJson {
            failure: d.failure,
            customer: d.customer,
            facility: d.facility,
            facility_name: d.facility_name,
            status: d.status,
            win32: d.win32,
            win32_name: d.win32_error.map(|e| e.name),
            win32_message: d.win32_error.map(|e| e.message),
            hresult_from_win32: d.hresult_from_win32.map(hex),
        }
    }
}
