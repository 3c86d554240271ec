//! One verdict per package: the findings every reading command reports about the inner
//! entries, and which of them refuse the package (FORMAT.md §12).
//!
//! `verify`, `list`, `extract`, `decrypt --extract`, `check` and `diff` all pass the entries
//! through one gate over the path classifier, so they report the same findings with the same
//! severities and refuse exactly the same packages with the same error. Names are checked as entries stream
//! by (so extraction never creates an unsafe name, not even in its staging folder); what an
//! entry is (a symbolic link or a special file) is only known from the central directory at
//! the end, so those findings come after the name findings.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::inner_read::{EntryInfo, EntryVisitor};
use crate::paths::{EntryKind, Finding, PathChecker, PathRules, Rule};

impl Rule {
    /// Whether a finding of this rule about an inner entry makes the package unusable: `verify`
    /// and `list` fail, `extract` writes nothing ([`refusal_error`]). These are the names no OS
    /// can create safely (or at all) and entries that would silently replace one another or
    /// become something else on the device. A path over the device's length budget is reported
    /// but does not refuse the package: the budget depends on the content version the service
    /// assigns.
    pub fn refuses(self) -> bool {
        refuses(self)
    }
}

/// [`Rule::refuses`].
fn refuses(rule: Rule) -> bool {
    match rule {
        Rule::ZipSlip
        | Rule::AbsolutePath
        | Rule::DrivePath
        | Rule::UncPath
        | Rule::EmptyComponent
        | Rule::ControlCharacter
        | Rule::ForbiddenCharacter
        | Rule::ReservedName
        | Rule::TrailingDotOrSpace
        | Rule::DotsOnlyName
        | Rule::ComponentTooLong
        | Rule::NameCollision
        | Rule::DuplicateEntry
        | Rule::Symlink
        | Rule::SpecialFile
        | Rule::NameTooLong
        | Rule::PathTooDeep => true,
        Rule::DisputedReservedName
        | Rule::LeadingSpace
        | Rule::PathTooLong
        | Rule::PathNearLimit
        | Rule::NotNfc
        | Rule::JunkFile
        | Rule::PreviousPackage
        | Rule::ContentTooLarge
        | Rule::ContentNearLimit
        | Rule::SourceTooBroad => false,
    }
}

/// The finding that refuses the package, if any: the first refusing one in the order a
/// refusing read meets them (names in entry order, then links and special files).
fn refusal(findings: &[Finding]) -> Option<&Finding> {
    findings.iter().find(|f| refuses(f.rule))
}

/// The error a refusing read gives for `findings` of the package at `origin`, if any: for the
/// first finding whose [`Rule::refuses`], in the order a refusing read meets them (names in
/// entry order, then links and special files).
pub fn refusal_error(origin: &Path, findings: &[Finding]) -> Option<Error> {
    refusal(findings).map(|f| refusal_of(origin, f))
}

/// Classifies inner entries as they stream by; refusing or only collecting.
pub(crate) struct EntryGate {
    checker: PathChecker,
    origin: PathBuf,
    refuse: bool,
    /// Findings already looked at for a refusal.
    checked: usize,
}

impl EntryGate {
    /// A gate that fails at the first finding that [`refuses`] the package.
    pub(crate) fn refusing(rules: &PathRules, origin: &Path) -> Self {
        Self::new(rules, origin, true)
    }

    /// A gate that only collects findings (`check`, which reports every one).
    pub(crate) fn collecting(rules: &PathRules, origin: &Path) -> Self {
        Self::new(rules, origin, false)
    }

    fn new(rules: &PathRules, origin: &Path, refuse: bool) -> Self {
        EntryGate {
            checker: PathChecker::new(rules.clone()),
            origin: origin.to_path_buf(),
            refuse,
            checked: 0,
        }
    }

    /// Classifies one entry's name as it is met.
    pub(crate) fn admit(&mut self, info: &EntryInfo) -> Result<()> {
        let kind = if info.is_dir {
            EntryKind::Dir
        } else {
            EntryKind::File
        };
        self.checker.add(&info.name, kind);
        self.refuse_new()
    }

    /// Adds what only the central directory tells (links and special files) and returns every
    /// finding, in the order found.
    #[cfg(test)]
    pub(crate) fn finish(self, entries: &[EntryInfo]) -> Result<Vec<Finding>> {
        self.finish_kinds(entries.iter().map(|e| (e.name.as_str(), e.kind())))
    }

    /// [`finish`](Self::finish) from the names and kinds of the entries that are links or
    /// special files (any others are ignored), in stored order.
    pub(crate) fn finish_kinds<'n>(
        self,
        kinds: impl IntoIterator<Item = (&'n str, EntryKind)>,
    ) -> Result<Vec<Finding>> {
        let EntryGate {
            checker,
            origin,
            refuse,
            checked,
        } = self;
        let mut findings = checker.finish();
        findings.extend(
            kinds
                .into_iter()
                .filter_map(|(name, kind)| kind_finding(name, kind)),
        );
        if refuse && let Some(f) = findings[checked..].iter().find(|f| refuses(f.rule)) {
            return Err(refusal_of(&origin, f));
        }
        Ok(findings)
    }

    /// Fails with the first refusing finding added since the last look.
    fn refuse_new(&mut self) -> Result<()> {
        let findings = self.checker.findings();
        let new = &findings[self.checked..];
        self.checked = findings.len();
        match new.iter().find(|f| refuses(f.rule)) {
            Some(f) if self.refuse => Err(refusal_of(&self.origin, f)),
            _ => Ok(()),
        }
    }
}

/// The error for a refusing finding: the package, the entry and the reason.
fn refusal_of(origin: &Path, finding: &Finding) -> Error {
    Error::UnsafePath {
        path: origin.to_path_buf(),
        entry: finding.path.clone(),
        rule: Some(finding.rule),
        reason: finding.reason().to_string(),
    }
}

/// The finding for an entry that is a link or a special file.
fn kind_finding(name: &str, kind: EntryKind) -> Option<Finding> {
    let (rule, reason) = match kind {
        EntryKind::Symlink => (
            Rule::Symlink,
            "a symbolic link: Windows extracts it as a small text file holding the link's target, not as a link",
        ),
        EntryKind::Special => (
            Rule::SpecialFile,
            "a special file (device, socket or FIFO): Windows extracts it as a plain file",
        ),
        EntryKind::File | EntryKind::Dir => return None,
    };
    Some(Finding::new(rule, name, reason))
}

/// An [`EntryVisitor`] that passes each entry through the gate before `inner` sees it.
pub(crate) struct Gated<'a> {
    /// The gate.
    pub(crate) gate: &'a mut EntryGate,
    /// The visitor behind it.
    pub(crate) inner: &'a mut dyn EntryVisitor,
}

impl EntryVisitor for Gated<'_> {
    fn entry(&mut self, info: &EntryInfo, data: &mut dyn Read) -> Result<()> {
        self.gate.admit(info)?;
        self.inner.entry(info, data)
    }

    fn entry_end(&mut self, info: &EntryInfo) -> Result<()> {
        self.inner.entry_end(info)
    }
}

/// Reads entries and does nothing with them (the gate and the parser do the checking).
pub(crate) struct Ignore;

impl EntryVisitor for Ignore {
    fn entry(&mut self, _info: &EntryInfo, _data: &mut dyn Read) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dostime::DosDateTime;

    fn entry(name: &str, unix_mode: Option<u32>) -> EntryInfo {
        EntryInfo {
            name: name.into(),
            is_dir: name.ends_with('/'),
            method: 0,
            flags: 0,
            crc: 0,
            compressed_size: 0,
            size: 0,
            time: DosDateTime { time: 0, date: 0 },
            offset: 0,
            unix_mode,
        }
    }

    fn run(gate: &mut EntryGate, entries: &[EntryInfo]) -> Result<()> {
        entries.iter().try_for_each(|e| gate.admit(e))
    }

    #[test]
    fn every_rule_is_either_refusing_or_reported() {
        // The match in `refuses` is exhaustive; this pins the refusing set.
        let refusing: Vec<&str> = Rule::ALL
            .iter()
            .filter(|r| refuses(**r))
            .map(|r| r.id())
            .collect();
        assert_eq!(
            refusing,
            [
                "zip-slip",
                "absolute-path",
                "drive-path",
                "unc-path",
                "empty-component",
                "control-character",
                "forbidden-character",
                "reserved-name",
                "trailing-dot-or-space",
                "dots-only-name",
                "component-too-long",
                "name-collision",
                "duplicate-entry",
                "symlink",
                "special-file",
                "name-too-long",
                "path-too-deep",
            ]
        );
    }

    #[test]
    fn a_case_collision_is_refused_when_the_second_name_arrives() {
        let entries = [entry("Setup.exe", None), entry("setup.EXE", None)];
        let mut gate = EntryGate::refusing(&PathRules::default(), Path::new("p"));
        gate.admit(&entries[0]).unwrap();
        let err = gate.admit(&entries[1]).unwrap_err();
        assert!(matches!(err, Error::UnsafePath { ref entry, .. } if entry == "setup.EXE"));
    }

    #[test]
    fn links_and_special_files_are_refused_at_the_end() {
        let entries = [
            entry("a.txt", Some(0o100_644)),
            entry("link", Some(0o120_777)),
            entry("fifo", Some(0o010_644)),
        ];
        let mut gate = EntryGate::refusing(&PathRules::default(), Path::new("p"));
        run(&mut gate, &entries).unwrap();
        let err = gate.finish(&entries).unwrap_err();
        assert!(matches!(err, Error::UnsafePath { ref entry, .. } if entry == "link"));

        let mut gate = EntryGate::collecting(&PathRules::default(), Path::new("p"));
        run(&mut gate, &entries).unwrap();
        let rules: Vec<Rule> = gate
            .finish(&entries)
            .unwrap()
            .iter()
            .map(|f| f.rule)
            .collect();
        assert_eq!(rules, [Rule::Symlink, Rule::SpecialFile]);
    }

    #[test]
    fn a_long_path_is_reported_but_not_refused() {
        let long = format!("{}/setup.exe", "d".repeat(230));
        let entries = [entry(&long, None)];
        let mut gate = EntryGate::refusing(&PathRules::default(), Path::new("p"));
        run(&mut gate, &entries).unwrap();
        let findings = gate.finish(&entries).unwrap();
        assert!(
            findings.iter().any(|f| f.rule == Rule::PathTooLong),
            "{findings:?}"
        );
    }

    #[test]
    fn a_collecting_gate_reports_what_a_refusing_one_stops_at() {
        let entries = [entry("../evil", None), entry("ok.txt", None)];
        let mut gate = EntryGate::refusing(&PathRules::default(), Path::new("p"));
        assert!(run(&mut gate, &entries).is_err());
        let mut gate = EntryGate::collecting(&PathRules::default(), Path::new("p"));
        run(&mut gate, &entries).unwrap();
        let findings = gate.finish(&entries).unwrap();
        assert_eq!(findings[0].rule, Rule::ZipSlip);
    }
}
