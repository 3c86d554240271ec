//! The IME log files to read: a log folder, single files, or the zip Intune's "Collect
//! diagnostics" produces, read in place (nothing is unpacked to disk).
//!
//! File names say which component wrote a log and which rotation it is:
//! `IntuneManagementExtension.log`, `AppWorkload-20260324-115437.log` (renamed at the time of
//! its last record), `AgentExecutor 2.log` (a copy); matching ignores case and any prefix, as
//! diagnostics bundles lower-case names. In a folder or zip, other files are left out with a
//! note ([`LogSet::ignored`]), hidden ones (`.DS_Store`) silently; a file named on its own is
//! always read.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::cmtrace::{Record, RecordReader};

/// The component that writes a log file, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum LogKind {
    /// `IntuneManagementExtension.log`: the agent, its timers and the DO/BITS download jobs.
    IntuneManagementExtension,
    /// `AppWorkload.log`: Win32 app processing since IME 2408.
    AppWorkload,
    /// `AppActionProcessor.log`: the action processor's decisions (IME 1.99).
    AppActionProcessor,
    /// `AgentExecutor.log`: PowerShell detection/requirement scripts and WinGet operations.
    AgentExecutor,
    /// `HealthScripts.log`: remediations.
    HealthScripts,
    /// `Win32AppInventory.log`: the app inventory.
    Win32AppInventory,
    /// A file named on its own whose name is none of the above.
    Other,
}

impl LogKind {
    /// The recognised components with their file-name stems.
    const NAMED: [(LogKind, &'static str); 6] = [
        (
            LogKind::IntuneManagementExtension,
            "intunemanagementextension",
        ),
        (LogKind::AppWorkload, "appworkload"),
        (LogKind::AppActionProcessor, "appactionprocessor"),
        (LogKind::AgentExecutor, "agentexecutor"),
        (LogKind::HealthScripts, "healthscripts"),
        (LogKind::Win32AppInventory, "win32appinventory"),
    ];

    /// The component's name as the IME spells it.
    pub fn name(self) -> &'static str {
        match self {
            LogKind::IntuneManagementExtension => "IntuneManagementExtension",
            LogKind::AppWorkload => "AppWorkload",
            LogKind::AppActionProcessor => "AppActionProcessor",
            LogKind::AgentExecutor => "AgentExecutor",
            LogKind::HealthScripts => "HealthScripts",
            LogKind::Win32AppInventory => "Win32AppInventory",
            LogKind::Other => "other",
        }
    }
}

/// What a file name says: the component and, for a rotated file, its `YYYYMMDD-HHMMSS` stamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogName {
    /// The component.
    pub kind: LogKind,
    /// The rotation stamp (`20260324-115437`), `None` for the current file.
    pub rotation: Option<String>,
}

impl LogName {
    /// Recognises `[prefix]Component[-YYYYMMDD-HHMMSS| N| (N)].log`, case-insensitively;
    /// `None` for any other name.
    pub fn parse(file_name: &str) -> Option<LogName> {
        let lower = file_name.to_ascii_lowercase();
        let stem = lower.strip_suffix(".log")?;
        LogKind::NAMED.iter().find_map(|&(kind, name)| {
            let at = stem.rfind(name)?;
            let rest = &stem[at + name.len()..];
            let rotation = rotation_stamp(rest)?;
            let boundary = at == 0 || !stem.as_bytes()[at - 1].is_ascii_alphanumeric();
            boundary.then_some(LogName { kind, rotation })
        })
    }
}

/// `""` → `Some(None)`; `-YYYYMMDD-HHMMSS` → the stamp; ` 2`/` (2)` (a copy) → `Some(None)`.
fn rotation_stamp(rest: &str) -> Option<Option<String>> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if rest.is_empty() {
        return Some(None);
    }
    if let Some(stamp) = rest.strip_prefix('-')
        && let Some((day, time)) = stamp.split_once('-')
        && digits(day, 8)
        && digits(time, 6)
    {
        return Some(Some(stamp.to_owned()));
    }
    let copy = rest
        .trim_start()
        .trim_start_matches('(')
        .trim_end_matches(')');
    (rest.starts_with(' ') && !copy.is_empty() && copy.bytes().all(|b| b.is_ascii_digit()))
        .then_some(None)
}

/// Where a log's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    File(PathBuf),
    Zip { archive: PathBuf, index: usize },
}

/// One log file of a [`LogSet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// How the file is shown: its path, or `archive.zip:folder/name.log` inside a zip.
    pub display: String,
    /// The file's name (last path component).
    pub name: String,
    /// Component and rotation, from the name.
    pub(crate) log: LogName,
    location: Location,
}

impl LogFile {
    /// The component that wrote the file, by its name, as the IME spells it
    /// (`IntuneManagementExtension`, `AppWorkload`, `AppActionProcessor`, `AgentExecutor`,
    /// `HealthScripts`, `Win32AppInventory`), or `other` for a file named on its own whose name
    /// is none of these.
    pub fn component(&self) -> &'static str {
        self.log.kind.name()
    }

    /// The rotation stamp in the file's name (`20260324-115437`), `None` for the current file.
    pub fn rotation(&self) -> Option<&str> {
        self.log.rotation.as_deref()
    }
}

/// A file left out of a folder or zip, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// The file, shown like [`LogFile::display`].
    pub display: String,
    /// Why it was left out.
    pub reason: String,
}

/// Why a log set could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogSetError {
    /// A path could not be opened or read.
    #[error("cannot read: {}, {}", crate::error::os_reason(source), path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A `.zip` is not a readable zip archive.
    #[error("not a readable zip archive ({reason}), {}", path.display())]
    Zip {
        /// The archive.
        path: PathBuf,
        /// What the zip reader said.
        reason: String,
    },
    /// A folder or zip holds no IME log.
    #[error(
        "no IME log in it (looked for IntuneManagementExtension, AppWorkload, AppActionProcessor, \
         AgentExecutor ...), {}",
        path.display()
    )]
    NoLogs {
        /// The folder or archive.
        path: PathBuf,
    },
}

/// The log files named by the user's inputs.
#[derive(Debug, Clone, Default)]
pub struct LogSet {
    /// The files to read, in the order given (folders and zips sorted by name).
    pub files: Vec<LogFile>,
    /// Files of a folder or zip that are not IME logs.
    pub ignored: Vec<Ignored>,
}

impl LogSet {
    /// Collects the logs of each input: a folder (its files, not recursing), a `.zip` (the IME
    /// log folder of a diagnostics bundle, or any IME log in it), or a single file.
    pub fn from_paths<P: AsRef<Path>>(inputs: &[P]) -> Result<LogSet, LogSetError> {
        let mut set = LogSet::default();
        for input in inputs {
            let path = input.as_ref();
            let meta = std::fs::metadata(path).map_err(|source| LogSetError::Io {
                path: path.to_owned(),
                source,
            })?;
            if meta.is_dir() {
                set.add_folder(path)?;
            } else if is_zip(path) {
                set.add_zip(path)?;
            } else {
                let name = file_name(path);
                let log = LogName::parse(&name).unwrap_or(LogName {
                    kind: LogKind::Other,
                    rotation: None,
                });
                set.files.push(LogFile {
                    display: path.display().to_string(),
                    name,
                    log,
                    location: Location::File(path.to_owned()),
                });
            }
        }
        Ok(set)
    }

    fn add_folder(&mut self, dir: &Path) -> Result<(), LogSetError> {
        let io = |source| LogSetError::Io {
            path: dir.to_owned(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            paths.push(entry.path());
        }
        paths.sort();
        let before = self.files.len();
        for path in paths {
            let name = file_name(&path);
            // Hidden files (`.DS_Store`, `.gitattributes`) are no one's logs: left out silently.
            if name.starts_with('.') {
                continue;
            }
            let display = path.display().to_string();
            match LogName::parse(&name) {
                Some(log) if path.is_file() => self.files.push(LogFile {
                    display,
                    name,
                    log,
                    location: Location::File(path),
                }),
                _ => self.ignored.push(Ignored {
                    display,
                    reason: "not an IME log".into(),
                }),
            }
        }
        if self.files.len() == before {
            return Err(LogSetError::NoLogs {
                path: dir.to_owned(),
            });
        }
        Ok(())
    }

    fn add_zip(&mut self, path: &Path) -> Result<(), LogSetError> {
        let archive = open_zip(path)?;
        let mut found = Vec::new();
        let mut others = Vec::new();
        for index in 0..archive.len() {
            let Some(Ok(entry)) = archive.name_for_index(index) else {
                continue;
            };
            let entry = entry.replace('\\', "/");
            if entry.ends_with('/') {
                continue;
            }
            let (folder, name) = entry.rsplit_once('/').unwrap_or(("", &entry));
            let display = format!("{}:{entry}", path.display());
            match LogName::parse(name) {
                Some(log) => found.push((
                    ime_folder(folder),
                    LogFile {
                        display,
                        name: name.to_owned(),
                        log,
                        location: Location::Zip {
                            archive: path.to_owned(),
                            index,
                        },
                    },
                )),
                None => others.push(display),
            }
        }
        // A diagnostics bundle also holds logs of other agents: prefer the IME log folder.
        let any_ime = found.iter().any(|(ime, _)| *ime);
        let before = self.files.len();
        for (ime, file) in found {
            if ime || !any_ime {
                self.files.push(file);
            } else {
                others.push(file.display);
            }
        }
        self.files[before..].sort_by(|a, b| a.display.cmp(&b.display));
        self.ignored
            .extend(others.into_iter().map(|display| Ignored {
                display,
                reason: "not an IME log".into(),
            }));
        if self.files.len() == before {
            return Err(LogSetError::NoLogs {
                path: path.to_owned(),
            });
        }
        Ok(())
    }

    /// Reads every record of every file, in the set's order, handing each to `visit` with the
    /// file's index in [`LogSet::files`]. Returns per-file reading statistics.
    pub fn read_records(
        &self,
        mut visit: impl FnMut(usize, Record),
    ) -> Result<Vec<FileStats>, LogSetError> {
        let mut stats = Vec::with_capacity(self.files.len());
        for (index, file) in self.files.iter().enumerate() {
            let path = match &file.location {
                Location::File(path) => path,
                Location::Zip { archive, .. } => archive,
            };
            let io = |source| LogSetError::Io {
                path: PathBuf::from(&file.display),
                source,
            };
            let mut one = FileStats::default();
            let mut read = |input: &mut dyn BufRead| -> io::Result<()> {
                let mut reader = RecordReader::new(input);
                for record in reader.by_ref() {
                    let record = record?;
                    one.cut += u64::from(record.cut);
                    one.truncated += u64::from(record.truncated);
                    visit(index, record);
                }
                one.records = reader.records();
                one.bytes = reader.offset();
                one.skipped_bytes = reader.skipped_bytes();
                Ok(())
            };
            match &file.location {
                Location::File(_) => {
                    let handle = File::open(path).map_err(io)?;
                    read(&mut BufReader::with_capacity(1 << 16, handle)).map_err(io)?;
                }
                Location::Zip { index: entry, .. } => {
                    let mut archive = open_zip(path)?;
                    let data = archive.by_index(*entry).map_err(|e| LogSetError::Zip {
                        path: path.to_owned(),
                        reason: e.to_string(),
                    })?;
                    read(&mut BufReader::with_capacity(1 << 16, data)).map_err(io)?;
                }
            }
            stats.push(one);
        }
        Ok(stats)
    }
}

/// What reading one file found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileStats {
    /// Records read.
    pub records: u64,
    /// Of them, records without their tail.
    pub cut: u64,
    /// Of them, records whose message exceeded the limit.
    pub truncated: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Garbage bytes between records.
    pub skipped_bytes: u64,
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn is_zip(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// `(67) FoldersFiles ProgramData_Microsoft_IntuneManagementExtension_Logs`, or a copied
/// `IntuneManagementExtension/Logs` folder.
fn ime_folder(folder: &str) -> bool {
    let lower = folder.to_ascii_lowercase();
    lower.ends_with("intunemanagementextension_logs")
        || lower.ends_with("intunemanagementextension/logs")
}

fn open_zip(path: &Path) -> Result<zip::ZipArchive<BufReader<File>>, LogSetError> {
    let file = File::open(path).map_err(|source| LogSetError::Io {
        path: path.to_owned(),
        source,
    })?;
    zip::ZipArchive::new(BufReader::new(file)).map_err(|e| LogSetError::Zip {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str) -> Option<(LogKind, Option<String>)> {
        LogName::parse(name).map(|n| (n.kind, n.rotation))
    }

    #[test]
    fn names() {
        use LogKind::*;
        assert_eq!(
            kind("IntuneManagementExtension.log"),
            Some((IntuneManagementExtension, None))
        );
        assert_eq!(
            kind("AppWorkload-20260324-115437.log"),
            Some((AppWorkload, Some("20260324-115437".into())))
        );
        assert_eq!(kind("appworkload.log"), Some((AppWorkload, None)));
        assert_eq!(kind("AGENTEXECUTOR.LOG"), Some((AgentExecutor, None)));
        assert_eq!(kind("AppWorkload 2.log"), Some((AppWorkload, None)));
        assert_eq!(
            kind("AppActionProcessor (3).log"),
            Some((AppActionProcessor, None))
        );
        assert_eq!(
            kind("adamgell+cmtraceopen__Logs_AppActionProcessor.log"),
            Some((AppActionProcessor, None))
        );
        assert_eq!(kind("AppWorkload.txt"), None);
        assert_eq!(kind("AppWorkload-2026.log"), None);
        assert_eq!(kind("NotAppWorkload.log"), None);
        assert_eq!(kind("Sensor.log"), None);
    }
}
