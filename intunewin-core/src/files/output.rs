//! Writing an output: what happens when a file is already there, and the write itself, through
//! a temporary file renamed only on success.

use std::fs::File;
use std::path::Path;

use crate::error::Result;

/// What writing an output does when a file is already at its path.
///
/// Whichever is chosen, a read-only file is never replaced, and the output is written to a
/// temporary file renamed only on success: a failed write leaves the old file as it was.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Overwrite {
    /// Refuse with [`Error::OutputExists`](crate::Error::OutputExists) (the default).
    #[default]
    Refuse,
    /// Replace the file (the CLI's `--force`).
    Replace,
}

impl Overwrite {
    /// Whether an existing file is replaced.
    pub(crate) fn replaces(self) -> bool {
        self == Overwrite::Replace
    }
}

impl From<bool> for Overwrite {
    /// `true` replaces, `false` refuses (a command-line `--force` flag).
    fn from(force: bool) -> Self {
        match force {
            true => Overwrite::Replace,
            false => Overwrite::Refuse,
        }
    }
}

/// Writes `output` through a temporary file in the same folder, renamed only when `write`
/// succeeds; an existing file is replaced only with [`Overwrite::Replace`], and never a
/// read-only one. A missing output folder is created, and removed again on failure. The
/// crate writes its own outputs this way; tools built on it can write theirs alike.
pub fn write_atomically<T>(
    output: &Path,
    overwrite: Overwrite,
    write: impl FnOnce(&mut File) -> Result<T>,
) -> Result<T> {
    crate::staging::write_atomically(output, overwrite.replaces(), write)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_replace_replaces() {
        assert!(Overwrite::Replace.replaces());
        assert!(!Overwrite::Refuse.replaces());
        assert!(!Overwrite::default().replaces());
        assert_eq!(Overwrite::from(true), Overwrite::Replace);
        assert_eq!(Overwrite::from(false), Overwrite::Refuse);
    }

    #[test]
    fn write_atomically_refuses_or_replaces_as_told() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        std::fs::write(&path, b"old").unwrap();
        let write = |text: &'static [u8]| {
            move |f: &mut File| {
                f.write_all(text)
                    .map_err(|e| crate::Error::io("write", "x", e))
            }
        };
        let refused = write_atomically(&path, Overwrite::Refuse, write(b"new"));
        assert!(matches!(refused, Err(crate::Error::OutputExists { .. })));
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        write_atomically(&path, Overwrite::Replace, write(b"new")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }
}
