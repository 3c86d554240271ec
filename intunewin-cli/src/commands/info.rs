//! `intunewin info`: Detection.xml and sizes, without decrypting.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use intunewin_core::{GraphMetadata, Package};

use crate::args::JsonArgs;
use crate::json::{self, PackageInfo};
use crate::ui::{self, safe};

/// Arguments of `intunewin info`.
#[derive(Args, Debug)]
#[command(mut_arg("json", |a| a.help("Print JSON (camelCase, Graph's names; includes the keys)")))]
pub struct InfoArgs {
    /// The .intunewin package.
    pub package: PathBuf,
    #[command(flatten)]
    pub format: JsonArgs,
    /// Show the encryption and MAC keys in the text output.
    #[arg(long)]
    pub show_keys: bool,
    /// Print the JSON bodies a Microsoft Graph upload needs (includes the keys).
    #[arg(long, conflicts_with = "json")]
    pub graph: bool,
}

/// Runs `intunewin info`.
pub fn run(args: InfoArgs) -> anyhow::Result<ExitCode> {
    let pkg = Package::open(&args.package)?;
    if args.graph {
        // The core's type serialises to Graph's bodies (FORMAT.md §13).
        json::print(&GraphMetadata::from_package(&pkg))?;
        return Ok(ExitCode::SUCCESS);
    }
    let info = PackageInfo::new(&pkg);
    if args.format.json {
        json::print(&info)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows = [
        ("package", pkg.path().display().to_string()),
        ("tool version", info.tool_version.clone()),
        ("name", safe(&info.name)),
        ("setup file", safe(&info.setup_file)),
        ("content entry", safe(&info.file_name)),
        (
            "inner zip",
            format!(
                "{} bytes ({})",
                info.unencrypted_content_size,
                ui::size(info.unencrypted_content_size)
            ),
        ),
        (
            "encrypted",
            format!("{} bytes", info.encrypted_content_size),
        ),
        ("package size", format!("{} bytes", info.package_size)),
        (
            "file digest",
            format!("{} ({})", info.file_digest, info.file_digest_algorithm),
        ),
        ("mac", info.mac.clone()),
        ("iv", info.initialization_vector.clone()),
        ("profile", info.profile_identifier.to_string()),
    ];
    for (k, v) in rows {
        outln!("{k:>16}: {v}")?;
    }
    if args.show_keys {
        outln!("{:>16}: {}", "encryption key", info.encryption_key)?;
        outln!("{:>16}: {}", "mac key", info.mac_key)?;
    } else {
        outln!("{:>16}: (hidden; --show-keys or --json shows them)", "keys")?;
    }
    if let Some(msi) = &pkg.detection().msi_info {
        outln!("MsiInfo:")?;
        for (name, value) in msi.elements() {
            outln!("{name:>30}: {}", safe(&value))?;
        }
    }
    for w in pkg.warnings() {
        eprintln!("intunewin: warning: {}", safe(w));
    }
    Ok(ExitCode::SUCCESS)
}
