//! Finding the setup file in the source folder as IntuneWinAppUtil does, and the package name it
//! gives (FORMAT.md §2.7). `pack` and `check` both resolve the setup file this way.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};
use crate::source;

/// `<setup file name minus its last extension>.intunewin` (FORMAT.md §2.7); `None` for an empty stem.
pub fn output_file_name(setup_file: &str) -> Option<String> {
    let name = setup_file.rsplit(['/', '\\']).next().unwrap_or(setup_file);
    let stem = match name.rfind('.') {
        Some(i) => &name[..i],
        None => name,
    };
    (!stem.is_empty()).then(|| format!("{stem}.intunewin"))
}

/// The setup file as found.
pub(crate) struct SetupMatch {
    /// Canonical full path.
    pub(crate) path: PathBuf,
    /// Path relative to the source folder, `\`-separated.
    pub(crate) rel: String,
    /// Found only by ignoring case.
    pub(crate) case_corrected: bool,
}

/// Finds the setup file (a bare name, a path relative to the source, or a path inside it) and
/// returns its full path and its `\`-separated path relative to the source.
pub(crate) fn resolve_setup(source: &Path, setup: &Path) -> Result<(PathBuf, String)> {
    find_setup(source, setup).map(|m| (m.path, m.rel))
}

/// Exact match first; else a unique match ignoring case (Windows names are case-insensitive, and
/// pipelines move between Windows and Linux agents); else an error with the closest names.
pub(crate) fn find_setup(source: &Path, setup: &Path) -> Result<SetupMatch> {
    let mut candidates = Vec::new();
    if setup.is_absolute() {
        candidates.push(setup.to_path_buf());
    } else {
        candidates.push(source.join(setup));
        candidates.push(setup.to_path_buf());
    }
    if let Some(found) = candidates.into_iter().find(|c| c.is_file()) {
        let (path, rel) = setup_inside(source, &found)?;
        return Ok(SetupMatch {
            path,
            rel,
            case_corrected: false,
        });
    }
    let files = source_files(source);
    let wanted = wanted_rel(source, setup);
    let matches: Vec<&String> = files
        .iter()
        .filter(|f| source::ntfs_eq(f, &wanted))
        .collect();
    let given = setup.display().to_string();
    match matches.as_slice() {
        [one] => {
            let (path, rel) = setup_inside(source, &source.join(one))?;
            Ok(SetupMatch {
                path,
                rel,
                case_corrected: true,
            })
        }
        [] => Err(Error::SetupNotFound {
            setup: given,
            source_dir: source.to_path_buf(),
            suggestions: closest_names(&files, &wanted, 3),
        }),
        many => Err(Error::SetupAmbiguous {
            setup: given,
            source_dir: source.to_path_buf(),
            matches: many.iter().map(|m| m.to_string()).collect(),
        }),
    }
}

/// The setup file's canonical path and its `\`-separated path inside `source`.
fn setup_inside(source: &Path, found: &Path) -> Result<(PathBuf, String)> {
    let canonical = crate::canonical::canonicalize(found)
        .map_err(|e| Error::io("open the setup file", found, e))?;
    let rel = canonical
        .strip_prefix(source)
        .map_err(|_| Error::SetupOutsideSource {
            setup: found.to_path_buf(),
        })?;
    let parts: Vec<String> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        return Err(Error::SetupOutsideSource {
            setup: found.to_path_buf(),
        });
    }
    if output_file_name(parts.last().map(String::as_str).unwrap_or("")).is_none() {
        return Err(Error::EmptySetupStem {
            setup: found.to_path_buf(),
        });
    }
    Ok((canonical, parts.join("\\")))
}

/// The setup file as a `/`-separated path from the source folder (`\` taken as a separator,
/// as on Windows; an absolute path inside the source loses the source's prefix).
fn wanted_rel(source: &Path, setup: &Path) -> String {
    let setup = setup.strip_prefix(source).unwrap_or(setup);
    let text = setup.to_string_lossy().replace('\\', "/");
    let parts: Vec<&str> = text
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    parts.join("/")
}

/// Most files listed when looking for a setup file's closest names; a larger folder is
/// searched this far only (the names are suggestions, not a check).
const SUGGESTION_SCAN_LIMIT: usize = 100_000;

/// The files of the source folder (and links to files), `/`-separated, in walk order; errors
/// leave entries out (this only finds names).
fn source_files(source: &Path) -> Vec<String> {
    walkdir::WalkDir::new(source)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file() || (e.path_is_symlink() && e.path().is_file()))
        .filter_map(|e| {
            let rel = e.path().strip_prefix(source).ok()?;
            let parts: Option<Vec<&str>> =
                rel.components().map(|c| c.as_os_str().to_str()).collect();
            Some(parts?.join("/"))
        })
        .take(SUGGESTION_SCAN_LIMIT)
        .collect()
}

/// Up to `n` of `files` closest to `wanted` by edit distance ignoring case, over the whole
/// relative path or the file name alone; names too far off to be a typo are not offered.
fn closest_names(files: &[String], wanted: &str, n: usize) -> Vec<String> {
    let wanted = wanted.to_lowercase();
    let wanted_name = wanted.rsplit('/').next().unwrap_or(&wanted).to_string();
    let budget = wanted_name.chars().count().max(4) / 2;
    let mut scored: Vec<(usize, &String)> = files
        .iter()
        .filter_map(|f| {
            let lower = f.to_lowercase();
            let name = lower.rsplit('/').next().unwrap_or(&lower);
            let d = edit_distance(&wanted, &lower).min(edit_distance(&wanted_name, name));
            (d <= budget).then_some((d, f))
        })
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    scored.into_iter().take(n).map(|(_, f)| f.clone()).collect()
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (prev + cost).min(row[j] + 1).min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PackOptions;

    #[test]
    fn output_names_follow_get_file_name_without_extension() {
        assert_eq!(
            output_file_name("setup.exe").as_deref(),
            Some("setup.intunewin")
        );
        assert_eq!(
            output_file_name("Foo.2.0.AppxBundle").as_deref(),
            Some("Foo.2.0.intunewin")
        );
        assert_eq!(
            output_file_name("build\\setup.exe").as_deref(),
            Some("setup.intunewin")
        );
        assert_eq!(
            output_file_name("noext").as_deref(),
            Some("noext.intunewin")
        );
        assert_eq!(output_file_name(".x"), None);
    }

    fn source(files: &[&str]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for f in files {
            let path = root.join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        (dir, root)
    }

    #[test]
    fn an_exact_setup_name_wins_over_case_matches() {
        let (_d, root) = source(&["setup.exe", "SETUP.EXE"]);
        let m = find_setup(&root, Path::new("setup.exe")).unwrap();
        assert_eq!((m.rel.as_str(), m.case_corrected), ("setup.exe", false));
    }

    #[test]
    fn a_unique_case_match_gives_the_real_name() {
        let (_d, root) = source(&["Sub/Install.PS1", "other.txt"]);
        let m = find_setup(&root, Path::new("sub\\install.ps1")).unwrap();
        assert_eq!(
            (m.rel.as_str(), m.case_corrected),
            ("Sub\\Install.PS1", true)
        );
        let plan = PackOptions::new(&root, "SUB/INSTALL.ps1").plan().unwrap();
        assert_eq!(plan.setup_file, "Sub\\Install.PS1");
        assert_eq!(plan.notes.len(), 1);
    }

    #[test]
    fn several_case_matches_are_an_error_listing_them() {
        let (_d, root) = source(&["Setup.exe", "SETUP.EXE"]);
        match find_setup(&root, Path::new("setup.exe")) {
            Err(Error::SetupAmbiguous { matches, .. }) => {
                assert_eq!(matches, ["SETUP.EXE", "Setup.exe"]);
            }
            Err(other) => panic!("expected SetupAmbiguous, got {other:?}"),
            Ok(_) => panic!("expected SetupAmbiguous, got a match"),
        }
    }

    #[test]
    fn no_match_suggests_up_to_three_close_names() {
        let (_d, root) = source(&[
            "setup.exe",
            "Setup64.exe",
            "bin/setup.msi",
            "tools/setupx.exe",
            "readme-for-everyone.txt",
        ]);
        match find_setup(&root, Path::new("setp.exe")) {
            Err(Error::SetupNotFound { suggestions, .. }) => {
                assert_eq!(
                    suggestions,
                    ["setup.exe", "tools/setupx.exe", "Setup64.exe"]
                );
            }
            Err(other) => panic!("expected SetupNotFound, got {other:?}"),
            Ok(_) => panic!("expected SetupNotFound, got a match"),
        }
        match find_setup(&root, Path::new("zzzzzzzz.bat")) {
            Err(Error::SetupNotFound { suggestions, .. }) => assert!(suggestions.is_empty()),
            Err(other) => panic!("expected SetupNotFound, got {other:?}"),
            Ok(_) => panic!("expected SetupNotFound, got a match"),
        }
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("setup.exe", "setup.exe"), 0);
        assert_eq!(edit_distance("setp.exe", "setup.exe"), 1);
        assert_eq!(edit_distance("setup.exe", "setup.msi"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("äb", "ab"), 1);
    }
}
