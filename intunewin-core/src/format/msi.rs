//! MsiInfo from an `.msi` database, on every OS (FORMAT.md §8).
//!
//! IntuneWinAppUtil asks Windows Installer for these values; here the `msi` crate reads the same
//! tables (Property, Summary Information, ServiceInstall, ODBCDataSource, Registry, RemoveRegistry,
//! Directory) so that a package made on Linux or macOS carries the same `MsiInfo` block.
//!
//! ```no_run
//! // Internal (the crate reads MSI metadata while packing); reached here through `__private`.
//! let report = intunewin_core::__private::msi::read_msi(std::path::Path::new("setup.msi"))?;
//! println!("{:?} {:?}", report.product_name, report.info.product_code);
//! # Ok::<(), intunewin_core::Error>(())
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use msi::{Package, PackageType, Row, Select};

use crate::detection::MsiInfo;
use crate::error::{Error, Result};

/// `Directory` keys that make `MsiContainsSystemFolders` true (FORMAT.md §8.2 row 13).
const SYSTEM_FOLDERS: [&str; 9] = [
    "AdminToolsFolder",
    "CommonAppDataFolder",
    "FontsFolder",
    "System16Folder",
    "System64Folder",
    "SystemFolder",
    "TempFolder",
    "WindowsFolder",
    "WindowsVolume",
];

/// True when a setup file name is an MSI: exact `.msi` extension, case-insensitive
/// (not `.msp`, `.msix`, `.msm`, `.mst`; FORMAT.md §8.1).
pub fn is_msi(setup_file: &str) -> bool {
    let name = setup_file.as_bytes();
    name.len() >= 4 && name[name.len() - 4..].eq_ignore_ascii_case(b".msi")
}

/// What reading an MSI yields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MsiReport {
    /// The `MsiInfo` block, as IntuneWinAppUtil would write it (FORMAT.md §8.2).
    pub info: MsiInfo,
    /// The package `Name`: Property `ProductName`, else Summary Subject; `None` when neither is
    /// usable (the caller then names the package after the setup file).
    pub product_name: Option<String>,
    /// Things the user should know: unexpected ALLUSERS values, values dropped because XML
    /// cannot carry them. Untrusted text in them is quoted with Rust's `{:?}` escaping.
    pub warnings: Vec<String>,
    /// Rows of the `ServiceInstall` table (0 when absent); the real count, unlike
    /// `info.includes_services`.
    pub service_count: usize,
    /// Rows of the `ODBCDataSource` table (0 when absent); the real count, unlike
    /// `info.includes_odbc_data_source`.
    pub odbc_count: usize,
}

/// Reads the MSI database at `path` (Property table, Summary Information, ServiceInstall,
/// ODBCDataSource, Registry/RemoveRegistry, Directory).
///
/// Errors: [`Error::Io`] when the file cannot be opened; [`Error::Msi`] when it is not a
/// readable installer database or lacks ProductCode/ProductVersion.
pub fn read_msi(path: &Path) -> Result<MsiReport> {
    let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    read_msi_from(BufReader::new(file), path)
}

/// Same as [`read_msi`] from any `Read + Seek` (so callers can read an MSI from memory);
/// `origin` names the file in errors.
pub fn read_msi_from<R: Read + Seek>(reader: R, origin: &Path) -> Result<MsiReport> {
    let fail = |reason: String| Error::Msi {
        path: origin.to_path_buf(),
        reason,
    };
    // The msi crate unwraps some values it reads (e.g. a null name in `_Tables`), so a crafted
    // file can make it panic; bad input must be an error, never a panic.
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| read_package(reader)));
    match outcome {
        Ok(Ok(raw)) => derive(raw).map_err(fail),
        Ok(Err(reason)) => Err(fail(reason)),
        Err(_) => Err(fail("malformed database (the MSI reader gave up)".into())),
    }
}

/// Everything read from the database, before any derivation.
#[derive(Debug, Default)]
struct RawMsi {
    /// Property table: name → value (first row wins; null values skipped).
    properties: HashMap<String, String>,
    /// Summary PID 3 (Subject).
    subject: Option<String>,
    /// Summary PID 4 (Author).
    author: Option<String>,
    /// Summary PID 9 (Revision Number) as a GUID in braces.
    revision: Option<String>,
    /// Row counts of ServiceInstall / ODBCDataSource, `None` when the table is absent.
    services: Option<usize>,
    odbc: Option<usize>,
    /// `Root` of every Registry and RemoveRegistry row.
    registry_roots: Vec<i32>,
    /// Every `Directory` key.
    directories: Vec<String>,
}

fn read_package<R: Read + Seek>(reader: R) -> std::result::Result<RawMsi, String> {
    let mut package = Package::open(reader).map_err(|e| e.to_string())?;
    if package.package_type() != PackageType::Installer {
        return Err(format!(
            "a {:?} package, not an installer database",
            package.package_type()
        ));
    }
    let summary = package.summary_info();
    let mut raw = RawMsi {
        subject: summary.subject().map(str::to_owned),
        author: summary.author().map(str::to_owned),
        // The msi crate exposes PID 9 only as a parsed GUID; it is written in the upper-case
        // braced form every observed MSI stores (FORMAT.md §4.2).
        revision: summary
            .uuid()
            .map(|u| format!("{{{}}}", u.hyphenated()).to_ascii_uppercase()),
        ..RawMsi::default()
    };
    for row in rows(&mut package, "Property", &["Property", "Value"])?.unwrap_or_default() {
        if let (Some(name), Some(value)) = (row[0].as_str(), row[1].as_str()) {
            raw.properties
                .entry(name.to_owned())
                .or_insert_with(|| value.to_owned());
        }
    }
    raw.services = rows(&mut package, "ServiceInstall", &[])?.map(|r| r.len());
    raw.odbc = rows(&mut package, "ODBCDataSource", &[])?.map(|r| r.len());
    for table in ["Registry", "RemoveRegistry"] {
        let roots = rows(&mut package, table, &["Root"])?.unwrap_or_default();
        raw.registry_roots
            .extend(roots.iter().filter_map(|row| row[0].as_int()));
    }
    let directories = rows(&mut package, "Directory", &["Directory"])?.unwrap_or_default();
    raw.directories = directories
        .iter()
        .filter_map(|row| row[0].as_str().map(str::to_owned))
        .collect();
    Ok(raw)
}

/// The rows of `table` restricted to `columns` (all columns when empty); `None` when the
/// table does not exist.
fn rows<R: Read + Seek>(
    package: &mut Package<R>,
    table: &str,
    columns: &[&str],
) -> std::result::Result<Option<Vec<Row>>, String> {
    if !package.has_table(table) {
        return Ok(None);
    }
    let mut query = Select::table(table);
    if !columns.is_empty() {
        query = query.columns(columns);
    }
    let rows = package
        .select_rows(query)
        .map_err(|e| format!("cannot read the {table} table: {e}"))?;
    Ok(Some(rows.collect()))
}

/// `ALLUSERS` after FORMAT.md §8.4's normalisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AllUsers {
    /// Absent or empty: per-user.
    Absent,
    /// `1` (or any unexpected value): per-machine.
    Machine,
    /// `2`: dual-purpose.
    Dual,
}

/// Turns the raw tables into the report (FORMAT.md §8.2, §8.4).
fn derive(raw: RawMsi) -> std::result::Result<MsiReport, String> {
    let mut warnings = Vec::new();
    let mut text = |what: &str, value: Option<&String>| -> Option<String> {
        let value = value.filter(|v| !v.is_empty())?;
        if !value.chars().all(xml_allowed) {
            warnings.push(format!(
                "{what} {value:?} contains a character XML cannot carry; left out"
            ));
            return None;
        }
        // A code-page-neutral database (code page 0, common from WiX) is decoded as UTF-8 by the
        // msi crate; Windows would use the machine's ANSI code page, so non-ASCII bytes that
        // are not UTF-8 come out as U+FFFD here and may differ from what the tool writes.
        if value.contains('\u{FFFD}') {
            warnings.push(format!(
                "{what} {value:?} has bytes the database's code page does not decode; \
                 IntuneWinAppUtil may read them differently"
            ));
        }
        Some(value.clone())
    };
    let prop = |name: &str| raw.properties.get(name);

    let product_code = text("ProductCode", prop("ProductCode"));
    let product_version = text("ProductVersion", prop("ProductVersion"));
    // Property `PackageCode` is rare; Summary PID 9 is where MSIs keep it (§8.2 row 3).
    let package_code = text("PackageCode", prop("PackageCode"))
        .or_else(|| text("Summary Revision Number", raw.revision.as_ref()));
    let upgrade_code = text("UpgradeCode", prop("UpgradeCode"));
    let publisher = text("Manufacturer", prop("Manufacturer"))
        .or_else(|| text("Summary Author", raw.author.as_ref()));
    let product_name = text("ProductName", prop("ProductName"))
        .or_else(|| text("Summary Subject", raw.subject.as_ref()));

    let all_users = match prop("ALLUSERS").map(String::as_str) {
        None | Some("") => AllUsers::Absent,
        Some("1") => AllUsers::Machine,
        Some("2") => AllUsers::Dual,
        // §8.4: IntuneWinAppUtil aborts here; Windows Installer resets the value to 1.
        Some(other) => {
            warnings.push(format!(
                "ALLUSERS is {other:?} (expected empty, 1 or 2; IntuneWinAppUtil refuses it); \
                 treated as 1 (per-machine), as Windows Installer does"
            ));
            AllUsers::Machine
        }
    };
    let per_user_flag = prop("MSIINSTALLPERUSER").is_some_and(|v| !v.is_empty());
    // §8.2 row 9, the rule that matches both real ALLUSERS=2 packages (§8.4).
    let is_user_install = match all_users {
        AllUsers::Absent => true,
        AllUsers::Machine => false,
        AllUsers::Dual => per_user_flag,
    };
    let context = match all_users {
        AllUsers::Absent => "User",
        AllUsers::Machine => "System",
        AllUsers::Dual => "Any",
    };
    let requires_reboot = prop("REBOOT").is_some_and(|v| v.starts_with('F'));
    // §8.2 row 12: HKLM (2) and HKU (3) always count; HKMU (-1) only when the install is not a
    // user install (corpus #4: a user install with only -1 rows gives false).
    let system_registry = raw
        .registry_roots
        .iter()
        .any(|&root| root == 2 || root == 3 || (root == -1 && !is_user_install));
    let system_folders = raw
        .directories
        .iter()
        .any(|d| SYSTEM_FOLDERS.iter().any(|s| s.eq_ignore_ascii_case(d)));

    let (Some(product_code), Some(product_version)) = (&product_code, &product_version) else {
        let missing = if product_code.is_none() {
            "ProductCode"
        } else {
            "ProductVersion"
        };
        return Err(format!("no usable {missing} property"));
    };
    let info = MsiInfo {
        product_code: Some(product_code.clone()),
        product_version: Some(product_version.clone()),
        package_code,
        upgrade_code,
        execution_context: Some(context.to_owned()),
        requires_logon: Some(all_users == AllUsers::Absent),
        requires_reboot: Some(requires_reboot),
        is_machine_install: Some(!is_user_install),
        is_user_install: Some(is_user_install),
        includes_services: Some(inverted_table_test(raw.services)),
        includes_odbc_data_source: Some(inverted_table_test(raw.odbc)),
        contains_system_registry_keys: Some(system_registry),
        contains_system_folders: Some(system_folders),
        publisher,
    };
    Ok(MsiReport {
        info,
        product_name,
        warnings,
        service_count: raw.services.unwrap_or(0),
        odbc_count: raw.odbc.unwrap_or(0),
    })
}

/// `MsiIncludesServices` / `MsiIncludesODBCDataSource`, reproducing IntuneWinAppUtil (§8.4):
/// true only when the table exists with **no** rows. The tool wrote `false` for a ServiceInstall
/// table with two rows (corpus #14) and for a missing table (#3, #4); this inverted test is the
/// one rule matching all three. [`MsiReport`] carries the real counts.
fn inverted_table_test(rows: Option<usize>) -> bool {
    rows == Some(0)
}

/// Characters XML 1.0 allows in text (FORMAT.md §4.4); Rust strings hold no lone surrogates.
fn xml_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msi_extension_is_exact_and_case_insensitive() {
        for yes in ["a.msi", "A.MSI", "dir\\b.Msi", "x.y.msi", ".msi"] {
            assert!(is_msi(yes), "{yes}");
        }
        for no in [
            "a.msp",
            "a.msix",
            "a.msm",
            "a.mst",
            "a.msi.exe",
            "msi",
            "a.msi ",
            "é",
        ] {
            assert!(!is_msi(no), "{no}");
        }
    }

    fn raw(props: &[(&str, &str)]) -> RawMsi {
        RawMsi {
            properties: props
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..RawMsi::default()
        }
    }

    const BASE: [(&str, &str); 2] = [("ProductCode", "{P}"), ("ProductVersion", "1.0")];

    #[test]
    fn missing_product_code_or_version_is_an_error() {
        assert!(derive(raw(&BASE[..1])).is_err());
        assert!(derive(raw(&BASE[1..])).is_err());
        assert!(derive(raw(&BASE)).is_ok());
    }

    #[test]
    fn forbidden_xml_characters_drop_the_value_with_a_warning() {
        let mut r = raw(&BASE);
        r.properties
            .insert("Manufacturer".into(), "Bad\u{1}Corp".into());
        r.author = Some("Author".into());
        let report = derive(r).unwrap();
        assert_eq!(report.info.publisher.as_deref(), Some("Author"));
        assert_eq!(report.warnings.len(), 1);
        assert!(report.warnings[0].contains("\\u{1}"));
    }

    #[test]
    fn reboot_needs_a_leading_capital_f() {
        for (value, expected) in [("Force", true), ("F", true), ("force", false), ("S", false)] {
            let mut r = raw(&BASE);
            r.properties.insert("REBOOT".into(), value.into());
            assert_eq!(
                derive(r).unwrap().info.requires_reboot,
                Some(expected),
                "{value}"
            );
        }
    }

    #[test]
    fn registry_root_minus_one_counts_only_outside_user_installs() {
        for (all_users, per_user, expected) in [
            (None, None, false),
            (Some("1"), None, true),
            (Some("2"), None, true),
            (Some("2"), Some("1"), false),
        ] {
            let mut r = raw(&BASE);
            r.registry_roots = vec![0, 1, -1];
            if let Some(v) = all_users {
                r.properties.insert("ALLUSERS".into(), v.into());
            }
            if let Some(v) = per_user {
                r.properties.insert("MSIINSTALLPERUSER".into(), v.into());
            }
            let info = derive(r).unwrap().info;
            assert_eq!(info.contains_system_registry_keys, Some(expected));
        }
    }

    #[test]
    fn includes_tables_are_true_only_for_an_empty_table() {
        assert!(!inverted_table_test(None));
        assert!(inverted_table_test(Some(0)));
        assert!(!inverted_table_test(Some(2)));
    }
}
