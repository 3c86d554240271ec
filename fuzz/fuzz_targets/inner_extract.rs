//! Extraction of an arbitrary inner zip sealed into a valid package: whatever the entries, extract
//! writes only `parent/dest`, and nothing at all when it fails (FORMAT.md §7, §12).
#![no_main]

use std::fs;

use intunewin_core::{ExtractOptions, Package};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let tmp = tempfile::tempdir().expect("temporary folder");
    let (package, parent) = (tmp.path().join("p.intunewin"), tmp.path().join("parent"));
    fs::write(&package, intunewin_fuzz::seal_package(data)).expect("write package");
    fs::create_dir(&parent).expect("create parent");
    let opened = Package::open(&package).expect("a sealed package opens");
    let result = opened.extract(&parent.join("dest"), &ExtractOptions::default());
    let names = |dir| fs::read_dir(dir).map_or(0, |d| d.count());
    assert_eq!(names(tmp.path()), 2, "extract wrote beside its parent");
    assert_eq!(
        names(&parent),
        usize::from(result.is_ok()),
        "{result:?} left {parent:?} changed"
    );
});
