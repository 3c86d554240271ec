//! `intunewin explain`: an Intune Win32 error code's phase, cause and what to check.

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use intunewin_core::ime::explain::{self, CodeInfo, Decoded};
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

/// Runs the subcommand: exit 0 for a known code or `--list`, 1 for a code not in the table.
pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    if args.list {
        print_list(args.format.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(text) = args.code else {
        bail!("give a code to explain, or --list");
    };
    let Some(code) = explain::parse_code(&text) else {
        // Debug formatting escapes control characters from the untrusted argument.
        bail!(
            "cannot read {text:?} as an error code \
             (expected a form like 0x87D30067, 87D30067, -2016214937 or 2278752359)"
        );
    };
    let entry = explain::lookup(code);
    let decoded = explain::decode_hresult(code);
    if args.format.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&Report::new(code, entry))?
        )?;
    } else {
        match entry {
            Some(info) => print_known(info, &decoded)?,
            None => print_unknown(&decoded)?,
        }
    }
    Ok(if entry.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::EXIT_INVALID)
    })
}

fn print_list(json: bool) -> anyhow::Result<()> {
    if json {
        let all: Vec<Report> = explain::table()
            .iter()
            .map(|info| Report::new(info.code, Some(info)))
            .collect();
        outln!("{}", serde_json::to_string_pretty(&all)?)?;
        return Ok(());
    }
    for info in explain::table() {
        outln!(
            "{}  {:>11}  {:<14}  {}",
            hex(info.code),
            explain::signed(info.code),
            info.source.id(),
            info.message
        )?;
    }
    Ok(())
}

fn print_known(info: &CodeInfo, decoded: &Decoded) -> std::io::Result<()> {
    outln!("{} ({})", hex(info.code), explain::signed(info.code))?;
    outln!("{}", info.message)?;
    // Codes wrapping a Win32 error often reuse its text as their message: say it once.
    if let Some(win32) = win32_line(decoded, Some(info.message)) {
        outln!("{win32}")?;
    }
    if let Some(exit) = explain::exit_code_of_hresult(info.code)
        && let Some(meaning) = explain::exit_code_meaning(exit)
    {
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

fn print_unknown(d: &Decoded) -> std::io::Result<()> {
    outln!(
        "{} ({}): not a known Intune Win32 app code",
        hex(d.code),
        explain::signed(d.code)
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
    if d.code <= 0xFFFF {
        print_exit_code(d.code)?;
    }
    outln!("hint: intunewin explain --list shows the codes this tool knows")
}

/// What an installer exit code means and what the IME's default return-code map does with it.
fn print_exit_code(code: u32) -> std::io::Result<()> {
    if let Some(meaning) = explain::exit_code_meaning(code) {
        outln!("as an installer exit code: {meaning}")?;
    }
    let action = explain::default_exit_action(code);
    match explain::exit_code_hresult(code) {
        Some(wrapped) if action == explain::ExitAction::Failed => {
            let known = explain::lookup(wrapped).map_or("", |_| ", which is in the table");
            outln!(
                "as an installer exit code, Intune reports it as {}{known}: intunewin explain {}",
                hex(wrapped),
                hex(wrapped)
            )?;
            outln!(
                "(the default return-code map calls it a failure; the IME reports it as \
                 HRESULT_FROM_WIN32, 0x80070000 | {code})"
            )
        }
        _ => outln!(
            "the default return-code map (0 and 1707 success, 3010 soft-reboot, 1641 \
             hard-reboot, 1618 retry) treats it as {}: not reported as an error",
            action.id()
        ),
    }
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

impl ExitJson {
    fn new(code: u32) -> Option<Self> {
        let exit = if code <= 0xFFFF {
            code
        } else {
            explain::exit_code_of_hresult(code)?
        };
        let action = explain::default_exit_action(exit);
        Some(ExitJson {
            exit_code: exit,
            meaning: explain::exit_code_meaning(exit),
            default_action: action.id(),
            reported_as: explain::exit_code_hresult(exit)
                .filter(|_| action == explain::ExitAction::Failed)
                .map(hex),
        })
    }
}

impl Report {
    fn new(code: u32, entry: Option<&'static CodeInfo>) -> Self {
        Report {
            code: hex(code),
            signed: explain::signed(code),
            unsigned: code,
            known: entry.is_some(),
            message: entry.map(|e| e.message),
            phases: entry
                .map(|e| e.phases.iter().map(|p| p.id()).collect())
                .unwrap_or_default(),
            source: entry.map(|e| e.source.id()),
            causes: entry.map_or(&[], |e| e.causes),
            checks: entry.map_or(&[], |e| e.checks),
            rules: entry.map_or(&[], |e| e.rules),
            decoded: DecodedJson::from(explain::decode_hresult(code)),
            installer_exit: ExitJson::new(code),
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
