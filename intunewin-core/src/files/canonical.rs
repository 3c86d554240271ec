//! Canonical paths as people write them: on Windows, `Path::canonicalize` returns verbatim
//! paths (`\\?\C:\app`), which would leak into messages and findings; the prefix is dropped
//! where the plain path means the same to every Win32 API.

use std::io;
use std::path::{Path, PathBuf};

/// Longest plain path kept plain: under Win32's 260-character `MAX_PATH`, with room for the
/// temporary names written beside outputs. Longer paths keep `\\?\`, which lifts the limit for
/// the APIs that std does not extend by itself (tempfile's rename, for one).
const PLAIN_MAX: usize = 240;

/// [`Path::canonicalize`], without the `\\?\` prefix on Windows where it is not needed (see
/// [`plain`]).
pub(crate) fn canonicalize(path: &Path) -> io::Result<PathBuf> {
    let canonical = path.canonicalize()?;
    if cfg!(windows) {
        let plain = canonical.to_str().and_then(plain);
        return Ok(plain.map(PathBuf::from).unwrap_or(canonical));
    }
    Ok(canonical)
}

/// `path` in a form every Win32 API takes past `MAX_PATH`: on Windows, a path whose absolute
/// form has [`PLAIN_MAX`] characters or more, made absolute and verbatim (`\\?\C:\...`); any other path
/// as it is. For calls that std does not extend itself: tempfile's rename hands its paths to
/// `MoveFileExW` as they are, which fails past 260 characters (os error 3).
pub(crate) fn long_path_safe(path: &Path) -> PathBuf {
    if !cfg!(windows) {
        return path.to_path_buf();
    }
    let long = std::path::absolute(path)
        .ok()
        .and_then(|absolute| absolute.to_str().and_then(verbatim));
    long.map(PathBuf::from)
        .unwrap_or_else(|| path.to_path_buf())
}

/// `absolute` (a full Win32 path, as `GetFullPathNameW` makes it) as a verbatim path, when it is
/// long enough to need one: `C:\dir` as `\\?\C:\dir`, `\\server\share` as
/// `\\?\UNC\server\share`. `None` for shorter paths, paths already verbatim or device paths.
fn verbatim(absolute: &str) -> Option<String> {
    if absolute.len() < PLAIN_MAX || absolute.starts_with(r"\\?\") || absolute.starts_with(r"\\.\")
    {
        return None;
    }
    if let Some(unc) = absolute.strip_prefix(r"\\") {
        return Some(format!(r"\\?\UNC\{unc}"));
    }
    let bytes = absolute.as_bytes();
    let drive = bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && &bytes[1..3] == br":\";
    drive.then(|| format!(r"\\?\{absolute}"))
}

/// `\\?\C:\dir` as `C:\dir` and `\\?\UNC\server\share\dir` as `\\server\share\dir`, when Win32
/// reads the plain form the same way: shorter than [`PLAIN_MAX`], and no component that Win32
/// would change (a reserved device name, a trailing dot or space, a `/`). `None` otherwise, and
/// for paths that are not verbatim.
fn plain(verbatim: &str) -> Option<String> {
    let rest = verbatim.strip_prefix(r"\\?\")?;
    let plain = if let Some(unc) = rest.strip_prefix(r"UNC\") {
        format!(r"\\{unc}")
    } else {
        let bytes = rest.as_bytes();
        let drive = bytes.len() >= 3
            && bytes[0].is_ascii_alphabetic()
            && bytes[1] == b':'
            && bytes[2] == b'\\';
        if !drive {
            return None;
        }
        rest.to_owned()
    };
    let components = plain.trim_start_matches('\\').split('\\').skip(1);
    let safe = plain.len() < PLAIN_MAX
        && !plain.contains('/')
        && components.filter(|c| !c.is_empty()).all(win32_keeps);
    safe.then_some(plain)
}

/// Whether Win32 path parsing leaves the name `component` as it is.
fn win32_keeps(component: &str) -> bool {
    if component.ends_with(['.', ' ']) {
        return false;
    }
    let stem = component.split('.').next().unwrap_or(component).trim_end();
    let upper = stem.to_ascii_uppercase();
    let reserved = matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || ((upper.starts_with("COM") || upper.starts_with("LPT"))
        && upper.len() == 4
        && upper.as_bytes()[3].is_ascii_digit());
    !reserved
}

#[cfg(test)]
mod tests {
    use super::{plain, verbatim};

    #[test]
    fn drive_and_unc_paths_lose_the_verbatim_prefix() {
        assert_eq!(
            plain(r"\\?\C:\Users\me\app").as_deref(),
            Some(r"C:\Users\me\app")
        );
        assert_eq!(plain(r"\\?\Z:\").as_deref(), Some(r"Z:\"));
        assert_eq!(
            plain(r"\\?\UNC\server\share\app").as_deref(),
            Some(r"\\server\share\app")
        );
    }

    #[test]
    fn paths_win32_would_read_differently_stay_verbatim() {
        for path in [
            r"\\?\C:\app\con",
            r"\\?\C:\app\CON.txt",
            r"\\?\C:\app\com1",
            r"\\?\C:\app\notes.",
            r"\\?\C:\app\notes ",
            r"\\?\C:\app/sub",
            r"\\?\GLOBALROOT\Device\HarddiskVolume1\app",
            r"\\?\Volume{01234567-89ab-cdef-0123-456789abcdef}\app",
        ] {
            assert_eq!(plain(path), None, "{path}");
        }
        assert_eq!(
            plain(r"\\?\C:\app\console\com10\lpt").as_deref(),
            Some(r"C:\app\console\com10\lpt")
        );
    }

    #[test]
    fn long_absolute_paths_become_verbatim() {
        let long = format!(r"C:\out\{}\Install.intunewin", "a".repeat(250));
        assert_eq!(verbatim(&long), Some(format!(r"\\?\{long}")));
        let unc = format!(r"\\server\share\{}", "b".repeat(250));
        assert_eq!(
            verbatim(&unc),
            Some(format!(r"\\?\UNC\server\share\{}", "b".repeat(250)))
        );
        assert_eq!(verbatim(r"C:\out\Install.intunewin"), None);
        assert_eq!(verbatim(&format!(r"\\?\{long}")), None);
        assert_eq!(verbatim(&format!(r"\\.\pipe\{}", "c".repeat(250))), None);
        // Not Windows: nothing changes.
        if !cfg!(windows) {
            let path = std::path::Path::new(&long);
            assert_eq!(super::long_path_safe(path), path);
        }
    }

    #[test]
    fn long_paths_keep_the_prefix_and_plain_paths_are_left_alone() {
        let long = format!(r"\\?\C:\{}", "a".repeat(300));
        assert_eq!(plain(&long), None);
        assert_eq!(plain(r"C:\app"), None);
        assert_eq!(plain("/home/me/app"), None);
    }
}
