//! What changed between two packages: files added, removed or changed (by SHA-256 of their
//! content) and metadata changed (Name, SetupFile, ToolVersion, MsiInfo). Both packages are
//! authenticated and decrypted as streams ([`Package::list`]); nothing is written to disk.
//!
//! Keys, IV, MAC and FileDigest are not compared: two packs of the same folder differ in all of
//! them and still have identical content. Entry times and compression are not compared either.

use std::collections::BTreeMap;

use crate::detection::Detection;
use crate::error::Result;
use crate::package::{ListedEntry, Package, ReadOptions};
use crate::verdict;

/// One file or folder present in only one of the packages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffEntry {
    /// The entry name, with `/` separators.
    pub name: String,
    /// Whether it is a folder.
    pub is_dir: bool,
    /// Uncompressed size.
    pub size: u64,
    /// SHA-256 of the content (of nothing for a folder).
    pub sha256: [u8; 32],
}

/// A file present in both packages with different content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedFile {
    /// The entry name, with `/` separators.
    pub name: String,
    /// Size in the first package.
    pub old_size: u64,
    /// Size in the second package.
    pub new_size: u64,
    /// SHA-256 in the first package.
    pub old_sha256: [u8; 32],
    /// SHA-256 in the second package.
    pub new_sha256: [u8; 32],
}

/// A Detection.xml value that differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataChange {
    /// The element's name (`SetupFile`, `ToolVersion`, `MsiProductVersion`, ...).
    pub field: String,
    /// The value in the first package, if present.
    pub old: Option<String>,
    /// The value in the second package, if present.
    pub new: Option<String>,
}

/// The differences between two packages, each list sorted by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackageDiff {
    /// Entries only in the second package.
    pub added: Vec<DiffEntry>,
    /// Entries only in the first package.
    pub removed: Vec<DiffEntry>,
    /// Files in both with different content.
    pub changed: Vec<ChangedFile>,
    /// Number of entries identical in both.
    pub unchanged: usize,
    /// Metadata that differs, in Detection.xml order.
    pub metadata: Vec<MetadataChange>,
}

impl PackageDiff {
    /// True when both packages hold the same files with the same content.
    pub fn content_identical(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// True when nothing compared differs: content and metadata.
    pub fn is_identical(&self) -> bool {
        self.content_identical() && self.metadata.is_empty()
    }
}

impl Package {
    /// Compares this package (the old one) with `other` (the new one): files added, removed or
    /// changed (by SHA-256 of their content) and metadata changed (Name, SetupFile,
    /// ToolVersion, MsiInfo). Both are authenticated and decrypted as streams; nothing is
    /// written. Keys, IV, MAC, FileDigest, entry times and compression are not compared (two
    /// packs of one folder differ in all of them).
    pub fn diff(&self, other: &Package, opts: &ReadOptions) -> Result<PackageDiff> {
        diff_packages(self, other, opts)
    }
}

/// [`Package::diff`].
pub(crate) fn diff_packages(a: &Package, b: &Package, opts: &ReadOptions) -> Result<PackageDiff> {
    let old = listed(a, opts)?;
    let new = listed(b, opts)?;
    let mut diff = diff_entries(&old, &new);
    diff.metadata = diff_metadata(a.detection(), b.detection());
    Ok(diff)
}

/// A package's listing, refused as `verify` refuses it.
fn listed(pkg: &Package, opts: &ReadOptions) -> Result<Vec<ListedEntry>> {
    let report = pkg.list(opts)?;
    match verdict::refusal_error(pkg.path(), &report.findings) {
        Some(refused) => Err(refused),
        None => Ok(report.entries),
    }
}

/// Compares two listings by name (separators normalised to `/`).
pub fn diff_entries(old: &[ListedEntry], new: &[ListedEntry]) -> PackageDiff {
    let index = |list: &[ListedEntry]| -> BTreeMap<String, DiffEntry> {
        list.iter()
            .map(|e| {
                let name = e.info.name.replace('\\', "/");
                let entry = DiffEntry {
                    name: name.clone(),
                    is_dir: e.info.is_dir,
                    size: e.info.size,
                    sha256: e.sha256,
                };
                (name, entry)
            })
            .collect()
    };
    let old = index(old);
    let mut new = index(new);
    let mut diff = PackageDiff::default();
    for (name, before) in old {
        match new.remove(&name) {
            None => diff.removed.push(before),
            Some(after) if after.is_dir != before.is_dir => {
                diff.removed.push(before);
                diff.added.push(after);
            }
            Some(after) if after.sha256 != before.sha256 || after.size != before.size => {
                diff.changed.push(ChangedFile {
                    name,
                    old_size: before.size,
                    new_size: after.size,
                    old_sha256: before.sha256,
                    new_sha256: after.sha256,
                });
            }
            Some(_) => diff.unchanged += 1,
        }
    }
    diff.added.extend(new.into_values());
    diff.added.sort_by(|x, y| x.name.cmp(&y.name));
    diff
}

/// The Detection.xml values that differ, keys and digests excluded.
pub fn diff_metadata(a: &Detection, b: &Detection) -> Vec<MetadataChange> {
    let mut out = Vec::new();
    let mut compare = |field: &str, old: Option<String>, new: Option<String>| {
        if old != new {
            out.push(MetadataChange {
                field: field.to_string(),
                old,
                new,
            });
        }
    };
    compare(
        "ToolVersion",
        Some(a.tool_version.clone()),
        Some(b.tool_version.clone()),
    );
    compare("Name", Some(a.name.clone()), Some(b.name.clone()));
    compare(
        "SetupFile",
        Some(a.setup_file.clone()),
        Some(b.setup_file.clone()),
    );
    compare(
        "MsiInfo",
        a.msi_info.as_ref().map(|_| "present".to_string()),
        b.msi_info.as_ref().map(|_| "present".to_string()),
    );
    let elements = |d: &Detection| -> BTreeMap<&'static str, String> {
        d.msi_info
            .as_ref()
            .map(|m| m.elements().into_iter().collect())
            .unwrap_or_default()
    };
    let (old_msi, new_msi) = (elements(a), elements(b));
    for name in MSI_ORDER {
        compare(name, old_msi.get(name).cloned(), new_msi.get(name).cloned());
    }
    out
}

/// MsiInfo elements in the tool's order (FORMAT.md §8.2).
const MSI_ORDER: [&str; 14] = [
    "MsiProductCode",
    "MsiProductVersion",
    "MsiPackageCode",
    "MsiUpgradeCode",
    "MsiExecutionContext",
    "MsiRequiresLogon",
    "MsiRequiresReboot",
    "MsiIsMachineInstall",
    "MsiIsUserInstall",
    "MsiIncludesServices",
    "MsiIncludesODBCDataSource",
    "MsiContainsSystemRegistryKeys",
    "MsiContainsSystemFolders",
    "MsiPublisher",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dostime::DosDateTime;
    use crate::inner_read::EntryInfo;

    fn listed(name: &str, content: u8, size: u64) -> ListedEntry {
        ListedEntry {
            info: EntryInfo {
                name: name.into(),
                is_dir: name.ends_with('/'),
                method: 8,
                flags: 0,
                crc: 0,
                compressed_size: size,
                size,
                time: DosDateTime { time: 0, date: 0 },
                offset: 0,
                unix_mode: None,
            },
            sha256: [content; 32],
        }
    }

    #[test]
    fn reports_added_removed_and_changed_by_hash() {
        let old = [
            listed("setup.cmd", 1, 10),
            listed("lib\\a.dll", 2, 20),
            listed("gone.txt", 3, 5),
        ];
        let new = [
            listed("setup.cmd", 1, 10),
            listed("lib/a.dll", 9, 20),
            listed("new.txt", 4, 7),
        ];
        let d = diff_entries(&old, &new);
        assert_eq!(d.unchanged, 1);
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].name, "lib/a.dll");
        assert_eq!(d.changed[0].old_sha256, [2; 32]);
        assert_eq!(d.changed[0].new_sha256, [9; 32]);
        assert_eq!(
            d.added.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
            ["new.txt"]
        );
        assert_eq!(
            d.removed
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>(),
            ["gone.txt"]
        );
        assert!(!d.content_identical());
        assert!(diff_entries(&old, &old).is_identical());
    }
}
