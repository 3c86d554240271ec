//! The path classifier (FORMAT.md §12) on arbitrary names: never panics, every name the
//! extraction gate accepts splits into components that stay inside the destination, and within
//! the bounds (issue 14: run with `-max_len=70000 -timeout=2`, so a cost quadratic in the
//! length or depth of a name shows up as a timeout).
#![no_main]

use intunewin_core::__private::paths::{
    MAX_COMPONENT_BYTES, MAX_DEPTH, MAX_NAME_LEN, PathChecker, split_entry_name,
};
use intunewin_core::{EntryKind, PathRules};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let name = String::from_utf8_lossy(data);
    if let Ok((components, _)) = split_entry_name(&name) {
        assert!(name.len() <= MAX_NAME_LEN && components.len() <= MAX_DEPTH);
        for c in &components {
            assert!(c.len() <= MAX_COMPONENT_BYTES, "long component in {name:?}");
            assert!(
                !matches!(c.as_str(), "" | "." | ".."),
                "unsafe component in {name:?}"
            );
            assert!(
                !c.contains(['/', '\\', ':', '\0']),
                "separator in component of {name:?}"
            );
        }
    }
    let mut checker = PathChecker::new(PathRules::default());
    checker.add(&name, EntryKind::File);
    checker.add_components(&name.split('/').collect::<Vec<_>>(), EntryKind::Dir);
    let _ = checker.finish();
});
