//! The real packages in ../shared/corpus: each verifies, lists and extracts to exactly its
//! content, and Detection.xml re-serialises byte for byte. Without the corpus they skip locally
//! and fail in CI (`util::require`).

use std::collections::BTreeMap;
use std::path::Path;

use intunewin_core::Detection;
use intunewin_core::{ExtractOptions, Package, ReadOptions};
use sha2::{Digest, Sha256};

use crate::util::corpus_packages;

/// Expected (inner entry count, UnencryptedContentSize) per package, from the corpus README.
fn expected(name: &str) -> Option<(usize, u64)> {
    let table: [(&str, usize, u64); 21] = [
        ("KSMC-TS__Intune-Applications__Install-Firefox", 1, 1496),
        ("markvharten__Intune-MakeUserLocalAdmin__install", 3, 54958),
        ("ArulmaniAppAutomation__ConsoleApp2__SimpleMSI", 1, 59659),
        ("ArulmaniAppAutomation__ConsoleApp2__PUASample1", 1, 81693),
        ("ArulmaniAppAutomation__ConsoleApp2__7z1805-x64", 3, 2845121),
        ("volodymyrsmirnov__IntuneWin__sample", 1, 3078),
        (
            "FlorianSLZ__IntuneWin32Deployer__Chocolatey_install",
            4,
            46122,
        ),
        (
            "Edu-Tech-Group__intune-app-library__Atom_install",
            6,
            478628,
        ),
        (
            "FlorianSLZ__IntuneWin32Deployer__Basisschrift_install",
            5,
            221613,
        ),
        ("cdwyer-240395__Intune-Scripts-Packages__Install", 11, 5813),
        ("JayRHa__CompanyPortalSystemTrayTool__install", 14, 371136),
        ("adamgell__LangSetup-PSADT__Deploy-Application", 17, 1084060),
        ("danielzoller20__UpdateDrivers__install", 70, 134399),
        ("redanthrax__intunewinlib__AESetup", 1, 2034549),
        ("mrbernardmah__intune-m365apps-win32app__setup", 3, 3539955),
        (
            "MrMeeb__Intune-Winget-Universal-App-Installer__install",
            2,
            1232,
        ),
        ("raz610__serviceUI__install", 3, 21988),
        (
            "AdenilsonSantos__Install-7Zip-using-Intune__7z2409-x64",
            2,
            1623564,
        ),
        ("markorr321__Windows-Voice__Deploy-Application", 48, 1602024),
        ("Rhuberry__TimeZoneAutoUpdate__install", 2, 2482),
        (
            "aidrak__intunewin32-evergreen-template__AdobeAcrobatReaderDC",
            4,
            3946,
        ),
    ];
    table
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, c, s)| (*c, *s))
}

fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_corpus_package_verifies_lists_and_extracts() {
    let packages = corpus_packages();
    if packages.is_empty() {
        return; // skipped: no corpus
    }
    assert_eq!(packages.len(), 21, "the corpus README lists 21 packages");
    for path in packages {
        let pkg = Package::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (count, ucs) = expected(&stem(&path)).expect("package in the table");
        assert_eq!(
            pkg.detection().unencrypted_content_size,
            ucs,
            "{}",
            path.display()
        );

        let report = pkg
            .verify(&ReadOptions::default())
            .unwrap_or_else(|e| panic!("verify {}: {e}", path.display()));
        assert_eq!(report.entries.len(), count, "{}", path.display());

        let listed = pkg.list(&ReadOptions::default()).unwrap().entries;
        assert_eq!(listed.len(), count);

        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        pkg.extract(&dest, &ExtractOptions::default())
            .unwrap_or_else(|e| panic!("extract {}: {e}", path.display()));
        // Every listed file is on disk with the listed hash; every empty dir exists.
        let mut on_disk = BTreeMap::new();
        for entry in walk(&dest) {
            on_disk.insert(entry.0, entry.1);
        }
        for e in &listed {
            let rel = e.info.name.replace('\\', "/");
            let rel = rel.trim_end_matches('/');
            let full = dest.join(rel);
            if e.info.is_dir {
                assert!(full.is_dir(), "{}: {rel}", path.display());
            } else {
                let data = std::fs::read(&full)
                    .unwrap_or_else(|_| panic!("{}: {rel} missing", path.display()));
                assert_eq!(data.len() as u64, e.info.size);
                assert_eq!(<[u8; 32]>::from(Sha256::digest(&data)), e.sha256, "{rel}");
                on_disk.remove(rel);
            }
        }
        assert!(
            on_disk.is_empty(),
            "{}: unexpected files {:?}",
            path.display(),
            on_disk.keys()
        );
    }
}

/// Regular files under `root` as (relative '/'-path, size).
fn walk(root: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, e.metadata().unwrap().len()));
            }
        }
    }
    out
}

#[test]
fn detection_xml_reserialises_byte_for_byte() {
    let packages = corpus_packages();
    if packages.is_empty() {
        return; // skipped: no corpus
    }
    let mut compared = 0;
    for path in packages {
        if path.to_string_lossy().contains("nonms") {
            continue; // not Microsoft's layout (LF, other namespace order)
        }
        let pkg = Package::open(&path).unwrap();
        let parsed = Detection::parse(pkg.detection_xml(), &path).unwrap();
        let again = parsed.to_xml().unwrap();
        assert_eq!(again.as_bytes(), pkg.detection_xml(), "{}", path.display());
        compared += 1;
    }
    assert_eq!(compared, 20, "the 20 packages of corpus/real are compared");
}
