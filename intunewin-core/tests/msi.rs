//! MsiInfo from `.msi` databases (FORMAT.md §8).
//!
//! Fixtures are built at test time from `testdata/msi/*.wxs` with `wixl` (Debian's `wixl`
//! package; without it the tests skip locally and fail in CI, `util::require`), then touched up with the
//! `msi` crate where wixl cannot express a case (testdata/msi/README.md). Cases that need no
//! wixl are written entirely with the `msi` crate.

use std::fs::OpenOptions;
use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use ::msi::{CodePage, Column, Expr, Insert, Package, PackageType, Update, Value};
use intunewin_core::__private::msi::{MsiReport, is_msi, read_msi, read_msi_from};
use intunewin_core::{Error, MsiInfo};

use crate::util;

/// Summary PID 9 given to every fixture (wixl writes a random one).
const PACKAGE_CODE: &str = "{C0DE0000-0000-4000-8000-000000000001}";

/// The children of `MsiInfo` as written, one `Element value` line each, in order.
fn rendered(info: &MsiInfo) -> String {
    info.elements()
        .iter()
        .map(|(name, value)| format!("{name} {value}\n"))
        .collect()
}

/// Expected `rendered` text: the lines of `text`, trimmed.
fn lines(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Editing a database with the msi crate.

type Db = Package<std::fs::File>;

fn open_rw(path: &Path) -> Db {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open fixture");
    Package::open(file).expect("fixture is an MSI")
}

fn set_package_code(db: &mut Db) {
    let code = PACKAGE_CODE
        .trim_matches(['{', '}'])
        .parse()
        .expect("a GUID");
    db.summary_info_mut().set_uuid(code);
}

/// wixl writes `HKMU` as Root 4 (not a valid root); Windows Installer's value is -1.
fn hkmu_as_minus_one(db: &mut Db) -> io::Result<()> {
    db.update_rows(
        Update::table("Registry")
            .set("Root", Value::Int(-1))
            .with(Expr::col("Root").eq(Expr::integer(4))),
    )
}

/// The msi crate records new tables in `_Validation`, which wixl does not write; this is the
/// standard schema of that table (Windows Installer SDK).
fn ensure_validation_table(db: &mut Db) -> io::Result<()> {
    if db.has_table("_Validation") {
        return Ok(());
    }
    let (min, max) = (-0x7fff_ffff, 0x7fff_ffff);
    db.create_table(
        "_Validation",
        vec![
            Column::build("Table").primary_key().id_string(32),
            Column::build("Column").primary_key().id_string(32),
            Column::build("Nullable").enum_values(&["Y", "N"]).string(4),
            Column::build("MinValue").nullable().range(min, max).int32(),
            Column::build("MaxValue").nullable().range(min, max).int32(),
            Column::build("KeyTable").nullable().id_string(255),
            Column::build("KeyColumn").nullable().range(1, 32).int16(),
            Column::build("Category").nullable().string(32),
            Column::build("Set").nullable().text_string(255),
            Column::build("Description").nullable().text_string(255),
        ],
    )
}

fn create_odbc_table(db: &mut Db) -> io::Result<()> {
    ensure_validation_table(db)?;
    db.create_table(
        "ODBCDataSource",
        vec![
            Column::build("DataSource").primary_key().id_string(72),
            Column::build("Component_").id_string(72),
            Column::build("Description").text_string(255),
            Column::build("DriverDescription").text_string(255),
            Column::build("Registration").int16(),
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// wixl fixtures.

/// True when `wixl` runs; otherwise the test is skipped, or fails in CI (`util::require`).
fn wixl_available() -> bool {
    let found = match Command::new("wixl").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!("`wixl --version` exited with {}", out.status)),
        Err(e) => Err(format!("cannot run wixl: {e}")),
    };
    util::require(
        "wixl",
        "install it with `apt-get install wixl msitools`",
        found,
    )
    .is_some()
}

/// Builds `testdata/msi/<wxs>` into `dir`, sets the package code and applies `edit`.
fn build(wxs: &str, dir: &Path, edit: fn(&mut Db) -> io::Result<()>) -> PathBuf {
    let source = util::testdata().join("msi").join(wxs);
    let out = dir.join(Path::new(wxs).with_extension("msi"));
    let result = Command::new("wixl")
        .arg("-o")
        .arg(&out)
        .arg(&source)
        .output()
        .expect("run wixl");
    assert!(
        result.status.success(),
        "wixl failed on {wxs}: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let mut db = open_rw(&out);
    set_package_code(&mut db);
    edit(&mut db).expect("edit fixture");
    db.flush().expect("write fixture");
    out
}

/// One fixture and everything expected of it.
struct Case {
    wxs: &'static str,
    edit: fn(&mut Db) -> io::Result<()>,
    msi_info: &'static str,
    name: &'static str,
    warnings: usize,
    services: usize,
    odbc: usize,
}

fn no_edit(_: &mut Db) -> io::Result<()> {
    Ok(())
}

const CASES: &[Case] = &[
    Case {
        wxs: "per-user.wxs",
        edit: hkmu_as_minus_one,
        msi_info: "
            MsiProductCode {A0000001-0000-4000-8000-000000000001}
            MsiProductVersion 1.0.0
            MsiPackageCode {C0DE0000-0000-4000-8000-000000000001}
            MsiUpgradeCode {0B0B0B0B-0000-4000-8000-000000000001}
            MsiExecutionContext User
            MsiRequiresLogon true
            MsiRequiresReboot false
            MsiIsMachineInstall false
            MsiIsUserInstall true
            MsiIncludesServices true
            MsiIncludesODBCDataSource false
            MsiContainsSystemRegistryKeys false
            MsiContainsSystemFolders false
            MsiPublisher Example Corp",
        name: "Per User",
        warnings: 0,
        services: 0,
        odbc: 0,
    },
    Case {
        wxs: "per-machine.wxs",
        edit: no_edit,
        msi_info: "
            MsiProductCode {A0000002-0000-4000-8000-000000000002}
            MsiProductVersion 1.0.0
            MsiPackageCode {C0DE0000-0000-4000-8000-000000000001}
            MsiUpgradeCode {0B0B0B0B-0000-4000-8000-000000000001}
            MsiExecutionContext System
            MsiRequiresLogon false
            MsiRequiresReboot false
            MsiIsMachineInstall true
            MsiIsUserInstall false
            MsiIncludesServices true
            MsiIncludesODBCDataSource false
            MsiContainsSystemRegistryKeys true
            MsiContainsSystemFolders false
            MsiPublisher Example Corp",
        name: "Per Machine",
        warnings: 0,
        services: 0,
        odbc: 0,
    },
    Case {
        wxs: "dual-purpose.wxs",
        edit: hkmu_as_minus_one,
        msi_info: "
            MsiProductCode {A0000003-0000-4000-8000-000000000003}
            MsiProductVersion 1.0.0
            MsiPackageCode {C0DE0000-0000-4000-8000-000000000001}
            MsiUpgradeCode {0B0B0B0B-0000-4000-8000-000000000001}
            MsiExecutionContext Any
            MsiRequiresLogon false
            MsiRequiresReboot false
            MsiIsMachineInstall true
            MsiIsUserInstall false
            MsiIncludesServices true
            MsiIncludesODBCDataSource false
            MsiContainsSystemRegistryKeys true
            MsiContainsSystemFolders false
            MsiPublisher Example Corp",
        name: "Dual Purpose",
        warnings: 0,
        services: 0,
        odbc: 0,
    },
    Case {
        wxs: "dual-purpose-per-user.wxs",
        edit: hkmu_as_minus_one,
        msi_info: "
            MsiProductCode {A0000004-0000-4000-8000-000000000004}
            MsiProductVersion 1.0.0
            MsiPackageCode {C0DE0000-0000-4000-8000-000000000001}
            MsiUpgradeCode {0B0B0B0B-0000-4000-8000-000000000001}
            MsiExecutionContext Any
            MsiRequiresLogon false
            MsiRequiresReboot false
            MsiIsMachineInstall false
            MsiIsUserInstall true
            MsiIncludesServices true
            MsiIncludesODBCDataSource false
            MsiContainsSystemRegistryKeys false
            MsiContainsSystemFolders false
            MsiPublisher Example Corp",
        name: "Dual Purpose Per User",
        warnings: 0,
        services: 0,
        odbc: 0,
    },
    Case {
        wxs: "allusers-zero.wxs",
        edit: hkmu_as_minus_one,
        msi_info: "
            MsiProductCode {A0000005-0000-4000-8000-000000000005}
            MsiProductVersion 1.0.0
            MsiPackageCode {C0DE0000-0000-4000-8000-000000000001}
            MsiUpgradeCode {0B0B0B0B-0000-4000-8000-000000000001}
            MsiExecutionContext System
            MsiRequiresLogon false
            MsiRequiresReboot false
            MsiIsMachineInstall true
            MsiIsUserInstall false
            MsiIncludesServices true
            MsiIncludesODBCDataSource false
            MsiContainsSystemRegistryKeys true
            MsiContainsSystemFolders false
            MsiPublisher Example Corp",
        name: "All Users Zero",
        warnings: 1,
        services: 0,
        odbc: 0,
    },
    Case {
        wxs: "reboot-force.wxs",
        edit: no_edit,
        msi_info: "
            MsiProductCode {A0000006-0000-4000-8000-000000000006}
            MsiProductVersion 1.0.0
            MsiPackageCode {C0DE0000-0000-4000-8000-000000000001}
            MsiUpgradeCode {0B0B0B0B-0000-4000-8000-000000000001}
            MsiExecutionContext System
            MsiRequiresLogon false
            MsiRequiresReboot true
            MsiIsMachineInstall true
            MsiIsUserInstall false
            MsiIncludesServices true
            MsiIncludesODBCDataSource false
            MsiContainsSystemRegistryKeys false
            MsiContainsSystemFolders false
            MsiPublisher Example Corp",
        name: "Reboot Force",
        warnings: 0,
        services: 0,
        odbc: 0,
    },
    Case {
        // Rows present → false, as the tool wrote for corpus #14 (FORMAT.md §8.4).
        wxs: "services.wxs",
        edit: no_edit,
        msi_info: "
            MsiProductCode {A0000007-0000-4000-8000-000000000007}
            MsiProductVersion 1.0.0
            MsiPackageCode {C0DE0000-0000-4000-8000-000000000001}
            MsiUpgradeCode {0B0B0B0B-0000-4000-8000-000000000001}
            MsiExecutionContext System
            MsiRequiresLogon false
            MsiRequiresReboot false
            MsiIsMachineInstall true
            MsiIsUserInstall false
            MsiIncludesServices false
            MsiIncludesODBCDataSource false
            MsiContainsSystemRegistryKeys false
            MsiContainsSystemFolders false
            MsiPublisher Example Corp",
        name: "Services",
        warnings: 0,
        services: 2,
        odbc: 0,
    },
    Case {
        // wixl has no ODBCDataSource element: one row is added with the msi crate.
        wxs: "per-machine.wxs",
        edit: |db| {
            create_odbc_table(db)?;
            db.insert_rows(Insert::into("ODBCDataSource").row(vec![
                Value::from("ExampleDsn"),
                Value::from("Main"),
                Value::from("Example data source"),
                Value::from("SQL Server"),
                Value::Int(0),
            ]))
        },
        msi_info: "
            MsiProductCode {A0000002-0000-4000-8000-000000000002}
            MsiProductVersion 1.0.0
            MsiPackageCode {C0DE0000-0000-4000-8000-000000000001}
            MsiUpgradeCode {0B0B0B0B-0000-4000-8000-000000000001}
            MsiExecutionContext System
            MsiRequiresLogon false
            MsiRequiresReboot false
            MsiIsMachineInstall true
            MsiIsUserInstall false
            MsiIncludesServices true
            MsiIncludesODBCDataSource false
            MsiContainsSystemRegistryKeys true
            MsiContainsSystemFolders false
            MsiPublisher Example Corp",
        name: "Per Machine",
        warnings: 0,
        services: 0,
        odbc: 1,
    },
    Case {
        // An empty ODBCDataSource table → true, like wixl's empty ServiceInstall table
        // (FORMAT.md §8.4). Absent tables → false: `property_package_code_and_summary_fallbacks`.
        wxs: "per-machine.wxs",
        edit: create_odbc_table,
        msi_info: "
            MsiProductCode {A0000002-0000-4000-8000-000000000002}
            MsiProductVersion 1.0.0
            MsiPackageCode {C0DE0000-0000-4000-8000-000000000001}
            MsiUpgradeCode {0B0B0B0B-0000-4000-8000-000000000001}
            MsiExecutionContext System
            MsiRequiresLogon false
            MsiRequiresReboot false
            MsiIsMachineInstall true
            MsiIsUserInstall false
            MsiIncludesServices true
            MsiIncludesODBCDataSource true
            MsiContainsSystemRegistryKeys true
            MsiContainsSystemFolders false
            MsiPublisher Example Corp",
        name: "Per Machine",
        warnings: 0,
        services: 0,
        odbc: 0,
    },
    Case {
        wxs: "system-folder.wxs",
        edit: no_edit,
        msi_info: "
            MsiProductCode {A0000008-0000-4000-8000-000000000008}
            MsiProductVersion 1.0.0
            MsiPackageCode {C0DE0000-0000-4000-8000-000000000001}
            MsiUpgradeCode {0B0B0B0B-0000-4000-8000-000000000001}
            MsiExecutionContext System
            MsiRequiresLogon false
            MsiRequiresReboot false
            MsiIsMachineInstall true
            MsiIsUserInstall false
            MsiIncludesServices true
            MsiIncludesODBCDataSource false
            MsiContainsSystemRegistryKeys false
            MsiContainsSystemFolders true
            MsiPublisher Example Corp",
        name: "System Folder",
        warnings: 0,
        services: 0,
        odbc: 0,
    },
    Case {
        wxs: "no-upgrade-code.wxs",
        edit: no_edit,
        msi_info: "
            MsiProductCode {A0000009-0000-4000-8000-000000000009}
            MsiProductVersion 1.0.0
            MsiPackageCode {C0DE0000-0000-4000-8000-000000000001}
            MsiExecutionContext System
            MsiRequiresLogon false
            MsiRequiresReboot false
            MsiIsMachineInstall true
            MsiIsUserInstall false
            MsiIncludesServices true
            MsiIncludesODBCDataSource false
            MsiContainsSystemRegistryKeys false
            MsiContainsSystemFolders false
            MsiPublisher Example Corp",
        name: "No Upgrade Code",
        warnings: 0,
        services: 0,
        odbc: 0,
    },
    Case {
        // Neither Manufacturer nor Summary Author: MsiPublisher is omitted.
        wxs: "no-manufacturer.wxs",
        edit: no_edit,
        msi_info: "
            MsiProductCode {A000000A-0000-4000-8000-00000000000A}
            MsiProductVersion 1.0.0
            MsiPackageCode {C0DE0000-0000-4000-8000-000000000001}
            MsiUpgradeCode {0B0B0B0B-0000-4000-8000-000000000001}
            MsiExecutionContext System
            MsiRequiresLogon false
            MsiRequiresReboot false
            MsiIsMachineInstall true
            MsiIsUserInstall false
            MsiIncludesServices true
            MsiIncludesODBCDataSource false
            MsiContainsSystemRegistryKeys false
            MsiContainsSystemFolders false",
        name: "No Manufacturer",
        warnings: 0,
        services: 0,
        odbc: 0,
    },
    Case {
        // No Manufacturer, but a Summary Author: MsiPublisher falls back to it.
        wxs: "no-manufacturer.wxs",
        edit: |db| {
            db.summary_info_mut().set_author("Summary Author");
            Ok(())
        },
        msi_info: "
            MsiProductCode {A000000A-0000-4000-8000-00000000000A}
            MsiProductVersion 1.0.0
            MsiPackageCode {C0DE0000-0000-4000-8000-000000000001}
            MsiUpgradeCode {0B0B0B0B-0000-4000-8000-000000000001}
            MsiExecutionContext System
            MsiRequiresLogon false
            MsiRequiresReboot false
            MsiIsMachineInstall true
            MsiIsUserInstall false
            MsiIncludesServices true
            MsiIncludesODBCDataSource false
            MsiContainsSystemRegistryKeys false
            MsiContainsSystemFolders false
            MsiPublisher Summary Author",
        name: "No Manufacturer",
        warnings: 0,
        services: 0,
        odbc: 0,
    },
    Case {
        // Latin-1 bytes in a code-page-neutral database: kept as decoded, with a warning.
        wxs: "neutral-codepage.wxs",
        // The msi crate's summary writer sizes strings by their UTF-8 length and so corrupts a
        // non-ASCII Author in a Windows-1252 summary; make it ASCII before the package code is
        // written. The Property table (and its Latin-1 Manufacturer) is left as wixl wrote it.
        edit: |db| {
            db.summary_info_mut().set_author("Example Corp");
            Ok(())
        },
        msi_info: "
            MsiProductCode {A000000B-0000-4000-8000-00000000000B}
            MsiProductVersion 1.0.0
            MsiPackageCode {C0DE0000-0000-4000-8000-000000000001}
            MsiUpgradeCode {0B0B0B0B-0000-4000-8000-000000000001}
            MsiExecutionContext System
            MsiRequiresLogon false
            MsiRequiresReboot false
            MsiIsMachineInstall true
            MsiIsUserInstall false
            MsiIncludesServices true
            MsiIncludesODBCDataSource false
            MsiContainsSystemRegistryKeys false
            MsiContainsSystemFolders false
            MsiPublisher Soci\u{FFFD}t\u{FFFD} Exemple & Cie",
        name: "Neutral Code Page",
        warnings: 1,
        services: 0,
        odbc: 0,
    },
];

#[test]
fn msi_info_of_wixl_fixtures() {
    if !wixl_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for (i, case) in CASES.iter().enumerate() {
        let case_dir = dir.path().join(i.to_string());
        std::fs::create_dir(&case_dir).expect("case dir");
        let path = build(case.wxs, &case_dir, case.edit);
        let report = read_msi(&path).unwrap_or_else(|e| panic!("{}: {e}", case.wxs));
        let label = format!("case {i} ({})", case.wxs);
        assert_eq!(rendered(&report.info), lines(case.msi_info), "{label}");
        assert_eq!(report.product_name.as_deref(), Some(case.name), "{label}");
        assert_eq!(
            report.warnings.len(),
            case.warnings,
            "{label}: {:?}",
            report.warnings
        );
        assert_eq!(report.service_count, case.services, "{label}");
        assert_eq!(report.odbc_count, case.odbc, "{label}");
    }
}

#[test]
fn allusers_zero_warning_names_the_value() {
    if !wixl_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = build("allusers-zero.wxs", dir.path(), no_edit);
    let report = read_msi(&path).expect("readable");
    assert_eq!(report.warnings.len(), 1);
    // It names the value ("0") and what is done with it.
    insta::with_settings!({ omit_expression => true }, {
        insta::assert_snapshot!("allusers_zero_warning", report.warnings[0]);
    });
}

// ---------------------------------------------------------------------------------------------
// Databases written entirely with the msi crate (no wixl needed).

type MemDb = Package<Cursor<Vec<u8>>>;

/// An installer database with only a Property table, after `setup` (code page, summary).
fn synthetic_msi(properties: &[(&str, &str)], setup: impl FnOnce(&mut MemDb)) -> Vec<u8> {
    let mut db = Package::create(PackageType::Installer, Cursor::new(Vec::new())).expect("create");
    setup(&mut db);
    db.create_table(
        "Property",
        vec![
            Column::build("Property").primary_key().id_string(72),
            Column::build("Value").text_string(0),
        ],
    )
    .expect("Property table");
    let rows = properties
        .iter()
        .map(|(k, v)| vec![Value::from(*k), Value::from(*v)])
        .collect();
    db.insert_rows(Insert::into("Property").rows(rows))
        .expect("rows");
    db.into_inner().expect("finish").into_inner()
}

fn read_memory(bytes: Vec<u8>) -> MsiReport {
    read_msi_from(Cursor::new(bytes), Path::new("memory.msi")).expect("readable")
}

const CODES: [(&str, &str); 2] = [
    ("ProductCode", "{A00000FF-0000-4000-8000-0000000000FF}"),
    ("ProductVersion", "2.0"),
];

#[test]
fn property_package_code_and_summary_fallbacks() {
    let props = [
        CODES[0],
        CODES[1],
        ("PackageCode", "{BBBBBBBB-0000-4000-8000-000000000000}"),
        ("ALLUSERS", "2"),
    ];
    let bytes = synthetic_msi(&props, |db| {
        let summary = db.summary_info_mut();
        summary.set_uuid(
            "C0DE0000-0000-4000-8000-000000000001"
                .parse()
                .expect("a GUID"),
        );
        summary.set_subject("Summary Subject");
        summary.set_author("Summary Author");
    });
    let report = read_memory(bytes);
    let expected = lines(
        "
        MsiProductCode {A00000FF-0000-4000-8000-0000000000FF}
        MsiProductVersion 2.0
        MsiPackageCode {BBBBBBBB-0000-4000-8000-000000000000}
        MsiExecutionContext Any
        MsiRequiresLogon false
        MsiRequiresReboot false
        MsiIsMachineInstall true
        MsiIsUserInstall false
        MsiIncludesServices false
        MsiIncludesODBCDataSource false
        MsiContainsSystemRegistryKeys false
        MsiContainsSystemFolders false
        MsiPublisher Summary Author",
    );
    assert_eq!(rendered(&report.info), expected);
    assert_eq!(report.product_name.as_deref(), Some("Summary Subject"));
    assert_eq!((report.service_count, report.odbc_count), (0, 0));
    assert!(report.warnings.is_empty());
}

/// Non-ASCII values come out verbatim in the database's code page (UTF-8 and Windows-1252).
#[test]
fn non_ascii_values_are_copied_verbatim() {
    for (codepage, name, publisher) in [
        (
            CodePage::Utf8,
            "Prodüct Ünïcode 製品 ✓",
            "Société Exemple & Cie",
        ),
        (
            CodePage::Windows1252,
            "Prodüct Ünïcode",
            "Société Exemple & Cie",
        ),
    ] {
        let props = [
            CODES[0],
            CODES[1],
            ("ProductName", name),
            ("Manufacturer", publisher),
        ];
        let bytes = synthetic_msi(&props, |db| {
            db.set_database_codepage(codepage);
            db.summary_info_mut().set_subject("Not the product name");
        });
        let report = read_memory(bytes);
        let expected = lines(&format!(
            "
            MsiProductCode {{A00000FF-0000-4000-8000-0000000000FF}}
            MsiProductVersion 2.0
            MsiExecutionContext User
            MsiRequiresLogon true
            MsiRequiresReboot false
            MsiIsMachineInstall false
            MsiIsUserInstall true
            MsiIncludesServices false
            MsiIncludesODBCDataSource false
            MsiContainsSystemRegistryKeys false
            MsiContainsSystemFolders false
            MsiPublisher {publisher}"
        ));
        assert_eq!(rendered(&report.info), expected, "{codepage:?}");
        assert_eq!(report.product_name.as_deref(), Some(name), "{codepage:?}");
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }
}

#[test]
fn value_xml_cannot_carry_is_dropped_with_a_warning() {
    let props = [
        CODES[0],
        CODES[1],
        ("Manufacturer", "Bad\u{1}Corp"),
        ("ProductName", "Fine"),
    ];
    let bytes = synthetic_msi(&props, |db| db.summary_info_mut().set_author("Author"));
    let report = read_memory(bytes);
    assert_eq!(report.info.publisher.as_deref(), Some("Author"));
    assert_eq!(report.product_name.as_deref(), Some("Fine"));
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
}

fn assert_msi_error(result: intunewin_core::Result<MsiReport>, expected: &Path) {
    match result {
        Err(Error::Msi { path, .. }) => assert_eq!(path, expected),
        other => panic!("expected Error::Msi, got {other:?}"),
    }
}

#[test]
fn missing_product_code_or_version_is_an_msi_error() {
    for props in [&CODES[..1], &CODES[1..]] {
        let bytes = synthetic_msi(props, |_| {});
        let origin = Path::new("incomplete.msi");
        assert_msi_error(read_msi_from(Cursor::new(bytes), origin), origin);
    }
}

#[test]
fn patch_package_is_an_msi_error() {
    let mut db = Package::create(PackageType::Patch, Cursor::new(Vec::new())).expect("create");
    db.flush().expect("flush");
    let bytes = db.into_inner().expect("finish").into_inner();
    let origin = Path::new("update.msi");
    assert_msi_error(read_msi_from(Cursor::new(bytes), origin), origin);
}

#[test]
fn corrupted_msi_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = synthetic_msi(&CODES, |_| {});
    let truncated = dir.path().join("truncated.msi");
    std::fs::write(&truncated, &good[..good.len() / 2]).expect("write");
    assert_msi_error(read_msi(&truncated), &truncated);

    let random = dir.path().join("random.msi");
    let noise: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&random, noise).expect("write");
    assert_msi_error(read_msi(&random), &random);

    let empty = dir.path().join("empty.msi");
    std::fs::write(&empty, b"").expect("write");
    assert_msi_error(read_msi(&empty), &empty);
}

/// A null name in `_Tables` makes the msi crate panic (it unwraps the value it reads); the
/// reader must turn that into `Error::Msi`.
#[test]
fn database_that_panics_the_msi_crate_is_an_msi_error() {
    let bytes = synthetic_msi(&CODES, |_| {});
    let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).expect("compound file");
    let tables = "\u{4840}\u{3f7f}\u{4164}\u{422f}\u{4836}"; // "_Tables", MSI-encoded
    let len = file.entry(tables).expect("_Tables stream").len();
    let mut stream = file.create_stream(tables).expect("replace _Tables");
    stream.write_all(&vec![0; len as usize]).expect("write");
    stream.flush().expect("flush");
    drop(stream);
    file.flush().expect("flush");
    let bytes = file.into_inner().into_inner();
    let origin = Path::new("crafted.msi");
    assert_msi_error(read_msi_from(Cursor::new(bytes), origin), origin);
}

#[test]
fn missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("absent.msi");
    assert!(matches!(read_msi(&missing), Err(Error::Io { path, .. }) if path == missing));
}

#[test]
fn msi_is_recognised_by_exact_extension() {
    assert!(is_msi("Setup.MSI"));
    assert!(!is_msi("Setup.msix"));
    assert!(!is_msi("Setup.msp"));
}

// ---------------------------------------------------------------------------------------------
// The corpus: MsiInfo computed from the MSI inside each package against what the tool wrote.

/// Elements a tool version is known to leave out (FORMAT.md §8.2: 1.0.0.0 omitted rows 3 and 14).
fn omitted_by(tool_version: &str) -> &'static [&'static str] {
    if tool_version == "1.0.0.0" {
        &["MsiPackageCode", "MsiPublisher"]
    } else {
        &[]
    }
}

#[test]
fn msi_info_matches_the_tool_on_the_corpus() {
    let packages = util::corpus_packages();
    if packages.is_empty() {
        return; // skipped: no corpus
    }
    let mut compared = 0;
    for package_path in packages {
        let package = intunewin_core::Package::open(&package_path).expect("corpus package opens");
        let detection = package.detection();
        let Some(tool_info) = &detection.msi_info else {
            continue;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let dest = dir.path().join("content");
        package
            .extract(&dest, &intunewin_core::ExtractOptions::default())
            .expect("corpus package extracts");
        let report = read_msi(&dest.join(&detection.setup_file)).expect("corpus MSI reads");

        let theirs = tool_info.elements();
        let omitted = omitted_by(&detection.tool_version);
        let ours: Vec<_> = report
            .info
            .elements()
            .into_iter()
            .filter(|(name, _)| !omitted.contains(name))
            .collect();
        let equal = theirs.iter().zip(&ours).filter(|(a, b)| a == b).count();
        eprintln!(
            "{}: {equal}/{} MsiInfo elements equal (ToolVersion {}, {} left out by that version)",
            package_path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy(),
            theirs.len(),
            detection.tool_version,
            omitted.len(),
        );
        assert_eq!(ours, theirs, "{}", package_path.display());
        assert_eq!(
            report.info.elements().len(),
            14,
            "the project always writes all 14"
        );
        assert_eq!(
            report.product_name.as_deref(),
            Some(detection.name.as_str())
        );
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        compared += 1;
    }
    assert_eq!(compared, 3, "corpus #3, #4 and #14 carry MsiInfo");
}
