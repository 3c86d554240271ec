//! The path classifier: device-side and safety rules for entry names (FORMAT.md §12).
//!
//! One set of rules made of pure string logic, so every OS gives the same answer. A
//! [`PathChecker`] collects the entries of a source folder or an inner zip in any order and
//! reports [`Finding`]s: per-entry ones (unsafe names, reserved names, lengths) and set-wide ones
//! (case collisions, duplicates). [`split_entry_name`] is the gate for extraction: it turns a
//! stored name into components that are safe to create under a destination on any OS, or returns
//! the finding that makes it unsafe.
//!
//! Lengths are counted in UTF-16 code units of the Windows form of the path (`\` separators), as
//! MAX_PATH counts them on the device (FORMAT.md §12.1). Entry names may use `/` or `\` as
//! separators, mixed; a trailing separator means a directory (FORMAT.md §6.3).

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};

use crate::base::chunked::ChunkedVec;

/// The Intune code usually reported as "Error unzipping downloaded content" (FORMAT.md §12.2).
pub const UNZIP_ERROR_CODE: u32 = 0x87D3_0067;
/// Longest full file path without long-path support: MAX_PATH (260) minus the NUL.
pub const MAX_FILE_PATH: usize = 259;
/// Longest full directory path: MAX_PATH minus 12, to leave room for an 8.3 name.
pub const MAX_DIR_PATH: usize = 247;
/// Longest single name (path component) in UTF-16 units.
pub const MAX_COMPONENT: usize = 255;
/// Longest single name in UTF-8 bytes: NAME_MAX on Linux and macOS, so a longer one cannot be
/// extracted there even when Windows (counting UTF-16 units) would take it.
pub const MAX_COMPONENT_BYTES: usize = 255;
/// Longest entry name accepted at all, in bytes, checked before the name is split (FORMAT.md
/// §12.1): PATH_MAX on Linux (4,096), so a name within it can be created under a destination by
/// path; 20 times the 199 units the device takes under IMECache (MAX_PATH 259), and far beyond
/// anything IntuneWinAppUtil packs, as it refuses source paths over MAX_PATH.
pub const MAX_NAME_LEN: usize = 4096;
/// Most components an entry name may have, checked before the name is split: the depth of the
/// deepest name within [`MAX_NAME_LEN`] (one-character folders), against the device's ~100
/// (a one-character folder and a separator per level within its 199-unit budget).
pub const MAX_DEPTH: usize = MAX_NAME_LEN / 2;

/// `C:\Windows\IMECache\` (20) + GUID (36) + `_` + `\`, without the content version's digits.
const PREFIX_WITHOUT_DIGITS: usize = 20 + 36 + 1 + 1;

/// What an entry is on disk (or in the zip).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (or junction).
    Symlink,
    /// A device, socket, FIFO or other special file.
    Special,
}

/// How serious a finding is. `Error` sorts after `Warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Probably works, but worth a look.
    Warning,
    /// Breaks on the device or is unsafe to extract.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// A rule a name can break (FORMAT.md §12.2). [`Rule::id`] is the stable identifier.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// A `..` component: the entry would land outside the destination.
    ZipSlip,
    /// The name starts with `/` or `\`.
    AbsolutePath,
    /// The name starts with a drive letter: `C:\x` or the drive-relative `C:x`.
    DrivePath,
    /// A UNC or device path: `\\server\share`, `\\?\`, `\\.\` (with either separator).
    UncPath,
    /// An empty or `.` component (`a//b`, `./a`, an empty name).
    EmptyComponent,
    /// A control character U+0000–U+001F, NUL included.
    ControlCharacter,
    /// A character Windows forbids in names (`< > : " | ? *`) or a separator inside one name.
    ForbiddenCharacter,
    /// A reserved device name (`CON`, `NUL`, `COM1`, `LPT¹`, `CONOUT$`, ...) in any component.
    ReservedName,
    /// `COM0` or `LPT0`: reserved on some Windows versions only.
    DisputedReservedName,
    /// A name ending with `.` or a space, which Windows strips.
    TrailingDotOrSpace,
    /// A name made only of dots and spaces.
    DotsOnlyName,
    /// A name starting with a space.
    LeadingSpace,
    /// A component longer than 255 UTF-16 units.
    ComponentTooLong,
    /// The path exceeds MAX_PATH once joined to the IMECache folder.
    PathTooLong,
    /// The path is within the configured headroom of the device limit.
    PathNearLimit,
    /// Two names equal when case and trailing dots/spaces are ignored, or a file and a directory
    /// with the same name.
    NameCollision,
    /// The same entry appears twice.
    DuplicateEntry,
    /// A name not in Unicode NFC (typically from macOS).
    NotNfc,
    /// A symbolic link: the device would get a text file.
    Symlink,
    /// A device, socket or FIFO.
    SpecialFile,
    /// `.git`, `.DS_Store`, `Thumbs.db`, `desktop.ini`, `__MACOSX`, `._*` in the source.
    JunkFile,
    /// An earlier `.intunewin` package inside the source.
    PreviousPackage,
    /// Content over the service's size limit (reported by callers, not by [`PathChecker`]).
    ContentTooLarge,
    /// Content near the service's size limit (reported by callers, not by [`PathChecker`]).
    ContentNearLimit,
    /// A source folder far larger than the setup, e.g. a home or Downloads folder (reported by
    /// callers, not by [`PathChecker`]).
    SourceTooBroad,
    /// A name over [`MAX_NAME_LEN`] bytes: refused before anything is built from it.
    NameTooLong,
    /// A name of more than [`MAX_DEPTH`] components: refused before it is split.
    PathTooDeep,
}

impl Rule {
    /// Every rule, in declaration order.
    pub const ALL: [Rule; 27] = [
        Rule::ZipSlip,
        Rule::AbsolutePath,
        Rule::DrivePath,
        Rule::UncPath,
        Rule::EmptyComponent,
        Rule::ControlCharacter,
        Rule::ForbiddenCharacter,
        Rule::ReservedName,
        Rule::DisputedReservedName,
        Rule::TrailingDotOrSpace,
        Rule::DotsOnlyName,
        Rule::LeadingSpace,
        Rule::ComponentTooLong,
        Rule::PathTooLong,
        Rule::PathNearLimit,
        Rule::NameCollision,
        Rule::DuplicateEntry,
        Rule::NotNfc,
        Rule::Symlink,
        Rule::SpecialFile,
        Rule::JunkFile,
        Rule::PreviousPackage,
        Rule::ContentTooLarge,
        Rule::ContentNearLimit,
        Rule::SourceTooBroad,
        Rule::NameTooLong,
        Rule::PathTooDeep,
    ];

    /// The stable kebab-case identifier, e.g. `path-too-long`.
    pub fn id(&self) -> &'static str {
        match self {
            Rule::ZipSlip => "zip-slip",
            Rule::AbsolutePath => "absolute-path",
            Rule::DrivePath => "drive-path",
            Rule::UncPath => "unc-path",
            Rule::EmptyComponent => "empty-component",
            Rule::ControlCharacter => "control-character",
            Rule::ForbiddenCharacter => "forbidden-character",
            Rule::ReservedName => "reserved-name",
            Rule::DisputedReservedName => "reserved-name-disputed",
            Rule::TrailingDotOrSpace => "trailing-dot-or-space",
            Rule::DotsOnlyName => "dots-only-name",
            Rule::LeadingSpace => "leading-space",
            Rule::ComponentTooLong => "component-too-long",
            Rule::PathTooLong => "path-too-long",
            Rule::PathNearLimit => "path-near-limit",
            Rule::NameCollision => "name-collision",
            Rule::DuplicateEntry => "duplicate-entry",
            Rule::NotNfc => "not-nfc",
            Rule::Symlink => "symlink",
            Rule::SpecialFile => "special-file",
            Rule::JunkFile => "junk-file",
            Rule::PreviousPackage => "previous-package",
            Rule::ContentTooLarge => "content-too-large",
            Rule::ContentNearLimit => "content-near-limit",
            Rule::SourceTooBroad => "source-too-broad",
            Rule::NameTooLong => "name-too-long",
            Rule::PathTooDeep => "path-too-deep",
        }
    }

    /// The rule with this [`id`](Rule::id), if any.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.id() == id)
    }

    /// The recommended severity (FORMAT.md §12.2).
    pub fn severity(&self) -> Severity {
        match self {
            Rule::DisputedReservedName
            | Rule::LeadingSpace
            | Rule::PathNearLimit
            | Rule::NotNfc
            | Rule::JunkFile
            | Rule::PreviousPackage
            | Rule::ContentNearLimit
            | Rule::SourceTooBroad => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// The Intune error code the device would (usually) report, where one applies.
    pub fn intune_code(&self) -> Option<u32> {
        match self {
            // Failures at install time or at upload have no unzip code (FORMAT.md §12.2).
            Rule::PathNearLimit
            | Rule::LeadingSpace
            | Rule::NotNfc
            | Rule::Symlink
            | Rule::SpecialFile
            | Rule::JunkFile
            | Rule::PreviousPackage
            | Rule::ContentTooLarge
            | Rule::ContentNearLimit
            | Rule::SourceTooBroad => None,
            _ => Some(UNZIP_ERROR_CODE),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One problem with one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule broken.
    pub rule: Rule,
    /// The rule's severity.
    pub severity: Severity,
    /// The path as given (a zip entry name, or a source path with `/` separators).
    pub path: String,
    /// A plain sentence ending with the path (control characters escaped).
    pub message: String,
    /// The Intune error code the device would report, where one applies.
    pub intune_code: Option<u32>,
}

impl Finding {
    /// A finding for `rule` about `path`; `reason` says what is wrong and the message appends the
    /// path (escaped for terminals). Severity and code come from the rule.
    pub fn new(rule: Rule, path: &str, reason: &str) -> Self {
        Finding {
            rule,
            severity: rule.severity(),
            path: path.to_owned(),
            message: format!("{reason}, {}", shown(path)),
            intune_code: rule.intune_code(),
        }
    }

    /// The message without the trailing path (for errors that name the entry separately).
    pub fn reason(&self) -> &str {
        self.message
            .strip_suffix(shown(&self.path).as_str())
            .and_then(|rest| rest.strip_suffix(", "))
            .unwrap_or(&self.message)
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Options of the device-side rules: the IMECache prefix length and the warning headroom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathRules {
    digits: u8,
    prefix_len: Option<usize>,
    headroom: usize,
    junk_warnings: bool,
}

impl Default for PathRules {
    fn default() -> Self {
        PathRules {
            digits: 2,
            prefix_len: None,
            headroom: 10,
            junk_warnings: true,
        }
    }
}

impl PathRules {
    /// Defaults: a 2-digit content version (60-character prefix), 10 units of headroom, junk
    /// warnings on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Digits of the content version the budget assumes (1–9 → 1, 10–99 → 2, 100–999 → 3).
    pub fn content_version_digits(mut self, digits: u8) -> Self {
        self.digits = digits;
        self
    }

    /// A custom full prefix length (e.g. for a `%WINDIR%` other than `C:\Windows`), including
    /// the trailing `\`; overrides the content version digits.
    pub fn prefix_len(mut self, len: usize) -> Self {
        self.prefix_len = Some(len);
        self
    }

    /// Warn when fewer than `units` UTF-16 units remain below a path limit (0 disables).
    pub fn headroom(mut self, units: usize) -> Self {
        self.headroom = units;
        self
    }

    /// Whether to warn about `.git`, `.DS_Store`, earlier `.intunewin` files and the like.
    pub fn junk_warnings(mut self, on: bool) -> Self {
        self.junk_warnings = on;
        self
    }

    /// Length of `C:\Windows\IMECache\<app id>_<version>\` in UTF-16 units.
    pub fn prefix_length(&self) -> usize {
        self.prefix_len
            .unwrap_or(PREFIX_WITHOUT_DIGITS + usize::from(self.digits))
    }

    /// Longest relative file path the device accepts (199 with the defaults).
    pub fn file_budget(&self) -> usize {
        MAX_FILE_PATH.saturating_sub(self.prefix_length())
    }

    /// Longest relative directory path the device accepts (187 with the defaults).
    pub fn dir_budget(&self) -> usize {
        MAX_DIR_PATH.saturating_sub(self.prefix_length())
    }
}

/// Collects entries one by one (any order) and reports per-entry findings plus set-wide ones
/// (collisions, duplicates).
///
/// Paths are keyed by a fingerprint, a keyed 64-bit hash of the folded path computed level by
/// level from the parent's, so an entry costs time in proportion to its name's length whatever
/// its depth; a fingerprint met again is confirmed by comparing the folded names themselves, so
/// a collision is never reported falsely. Memory per entry is its name and two bytes (kept to
/// spell and compare the first of two colliding entries) and 16 bytes of index per file (24
/// per folder), never growing with the square of the entry count or of the depth: a million
/// entries fit in a few tens of MiB. (Two different paths of equal fingerprint, one chance in
/// 2^64 per pair with a key no package can know, would only hide a collision.)
#[derive(Debug)]
pub struct PathChecker {
    rules: PathRules,
    findings: Vec<Finding>,
    /// The key of the fingerprints, random per checker.
    keys: RandomState,
    /// The names of the tracked entries end to end, each after its length (two bytes, little
    /// endian: tracked names are at most [`MAX_NAME_LEN`] bytes); an entry is known by the
    /// offset of its length.
    names: ChunkedVec<u8>,
    /// Fingerprint of a folded path → the first file (or link) seen there.
    files: PrintIndex<u64>,
    /// Fingerprint of a folded path → where a directory was first seen: (entry, levels).
    dirs: PrintIndex<(u64, u32)>,
}

/// A map from fingerprints to small values, compact at any size: most entries sit in an
/// array sorted by fingerprint (no slack, no empty buckets, in chunks that growing never
/// moves), the latest in a small hash map that is merged into it (in place, from the back)
/// once it holds a sixteenth as many. Fingerprints are uniform, so a table of where each
/// value of their top [`FENCE_BITS`] bits starts narrows a lookup to a few neighbours: a
/// lookup is a hash probe and a short binary search; an insert costs amortised constant copies.
#[derive(Debug)]
struct PrintIndex<V> {
    sorted: ChunkedVec<(u64, V)>,
    /// `fences[b]` is the index of the first sorted fingerprint whose top bits are at least
    /// `b` (empty until the first merge).
    fences: Vec<usize>,
    recent: HashMap<u64, V, Prehashed>,
}

/// Top bits of a fingerprint that [`PrintIndex::fences`] tells apart (512 KiB of fences).
const FENCE_BITS: u32 = 16;

/// The fewest entries [`PrintIndex::recent`] holds before a merge.
const MIN_RECENT: usize = 4096;

impl<V: Copy + Default> PrintIndex<V> {
    fn new() -> Self {
        PrintIndex {
            sorted: ChunkedVec::new(),
            fences: Vec::new(),
            recent: HashMap::default(),
        }
    }

    fn get(&self, print: u64) -> Option<V> {
        if let Some(v) = self.recent.get(&print) {
            return Some(*v);
        }
        let top = (print >> (64 - FENCE_BITS)) as usize;
        let (mut lo, mut hi) = (*self.fences.get(top)?, *self.fences.get(top + 1)?);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (p, v) = self.sorted.get(mid)?;
            match p.cmp(&print) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(v),
            }
        }
        None
    }

    fn contains(&self, print: u64) -> bool {
        self.get(print).is_some()
    }

    /// Maps `print`, which must not be mapped yet, to `value`.
    fn insert_new(&mut self, print: u64, value: V) {
        self.recent.insert(print, value);
        if self.recent.len() >= MIN_RECENT.max(self.sorted.len() / 16) {
            self.merge();
        }
    }

    /// Moves the recent entries into the sorted array: the array grows by their number,
    /// then both are merged from the back, so nothing is held twice.
    fn merge(&mut self) {
        let mut fresh: Vec<(u64, V)> = self.recent.drain().collect();
        fresh.sort_unstable_by_key(|&(p, _)| p);
        let old = self.sorted.len();
        self.sorted.grow_to(old + fresh.len());
        let (mut i, mut j) = (old, fresh.len());
        let mut k = self.sorted.len();
        // Fingerprints are unique: each step takes the larger of the two tails. Once the fresh
        // ones are all placed, the old ones left are already where they belong.
        while j > 0 {
            k -= 1;
            let older = i.checked_sub(1).and_then(|at| self.sorted.get(at));
            match older {
                Some(e) if e.0 > fresh[j - 1].0 => {
                    i -= 1;
                    self.sorted.set(k, e);
                }
                _ => {
                    j -= 1;
                    self.sorted.set(k, fresh[j]);
                }
            }
        }
        self.fence();
    }

    /// Rebuilds [`fences`](Self::fences) after a merge.
    fn fence(&mut self) {
        let buckets = 1usize << FENCE_BITS;
        self.fences.clear();
        self.fences.reserve_exact(buckets + 1);
        let mut at = 0;
        for chunk in self.sorted.chunks() {
            for &(p, _) in chunk {
                let top = (p >> (64 - FENCE_BITS)) as usize;
                while self.fences.len() <= top {
                    self.fences.push(at);
                }
                at += 1;
            }
        }
        self.fences.resize(buckets + 1, at);
    }
}

/// Fingerprints are hashes already: the maps use them as they are.
#[derive(Clone, Copy, Debug, Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed; fold anything else in rather than lose it.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl BuildHasher for Prehashed {
    type Hasher = Prehashed;
    fn build_hasher(&self) -> Prehashed {
        Prehashed(0)
    }
}

impl PathChecker {
    /// A checker applying `rules`.
    pub fn new(rules: PathRules) -> Self {
        PathChecker {
            rules,
            findings: Vec::new(),
            keys: RandomState::new(),
            names: ChunkedVec::new(),
            files: PrintIndex::new(),
            dirs: PrintIndex::new(),
        }
    }

    /// Adds a zip entry name or a relative path (`/` or `\` separators; a trailing separator or
    /// `EntryKind::Dir` makes it a directory).
    pub fn add(&mut self, name: &str, kind: EntryKind) {
        let split = if bound_issue(name).is_some() {
            Split::default()
        } else {
            split_name(name)
        };
        self.check(name, split, kind);
    }

    /// Adds a path already split into names, as a source walk yields it. Unlike [`add`], a `\`
    /// inside a name (legal on Unix) is reported instead of being taken as a separator.
    ///
    /// [`add`]: PathChecker::add
    pub fn add_components<S: AsRef<str>>(&mut self, components: &[S], kind: EntryKind) {
        let components: Vec<&str> = components.iter().map(AsRef::as_ref).collect();
        let name = components.join("/");
        let split = Split {
            root: None,
            is_dir: kind == EntryKind::Dir,
            components,
        };
        self.check(&name, split, kind);
    }

    /// The findings so far, in the order they were found.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Ends the check and returns every finding, in the order found.
    pub fn finish(self) -> Vec<Finding> {
        self.findings
    }

    fn check(&mut self, name: &str, split: Split<'_>, kind: EntryKind) {
        let mut issues = Vec::new();
        kind_issues(kind, &mut issues);
        if let Some(issue) = bound_issue(name) {
            // Too long or too deep to be worth splitting: its names are moot.
            issues.push(issue);
            self.emit(name, issues);
            return;
        }
        if let Some(root) = split.root {
            // A rooted path has no place under the destination; its names are moot.
            issues.push(Issue::new(root, root_reason(root)));
            self.emit(name, issues);
            return;
        }
        if split.components.is_empty() {
            issues.push(Issue::new(Rule::EmptyComponent, "empty name".into()));
        }
        for component in &split.components {
            component_issues(component, &mut issues);
            length_issue(component, &mut issues);
        }
        let is_dir = split.is_dir || kind == EntryKind::Dir;
        self.budget_issues(&split.components, is_dir, &mut issues);
        if !unicode_normalization::is_nfc(name) {
            issues.push(Issue::new(
                Rule::NotNfc,
                "name not in Unicode NFC (typical of macOS); scripts using the NFC spelling will not find it".into(),
            ));
        }
        if self.rules.junk_warnings && !is_dir {
            junk_file_issues(&split.components, &mut issues);
        }
        let placeable = !issues
            .iter()
            .any(|issue| matches!(issue.rule, Rule::ZipSlip | Rule::EmptyComponent));
        self.emit(name, issues);
        if placeable {
            self.track(name, &split.components, is_dir);
        }
    }

    /// Turns an entry's issues into findings, one per rule (FORMAT.md §12.2).
    fn emit(&mut self, name: &str, issues: Vec<Issue>) {
        let mut seen: Vec<Rule> = Vec::new();
        for issue in issues {
            if !seen.contains(&issue.rule) {
                seen.push(issue.rule);
                self.findings
                    .push(Finding::new(issue.rule, name, &issue.reason));
            }
        }
    }

    /// MAX_PATH after the IMECache prefix, for the entry and a file's parent (FORMAT.md §12.1).
    fn budget_issues(&self, components: &[&str], is_dir: bool, issues: &mut Vec<Issue>) {
        let Some((last, parents)) = components.split_last() else {
            return;
        };
        let total = windows_len(components);
        let mut checks = Vec::with_capacity(2);
        if is_dir {
            checks.push(("directory", total, self.rules.dir_budget(), MAX_DIR_PATH));
        } else {
            checks.push(("file", total, self.rules.file_budget(), MAX_FILE_PATH));
            if !parents.is_empty() {
                let parent = total - utf16_len(last) - 1;
                checks.push((
                    "parent directory",
                    parent,
                    self.rules.dir_budget(),
                    MAX_DIR_PATH,
                ));
            }
        }
        let prefix = self.rules.prefix_length();
        if let Some(&(what, len, budget, max)) = checks.iter().find(|c| c.1 > c.2) {
            issues.push(Issue::new(
                Rule::PathTooLong,
                format!(
                    "the {what} path is {len} characters where the device allows {budget} under its {prefix}-character IMECache folder (full path over {max})"
                ),
            ));
        } else if let Some(&(what, len, budget, _)) =
            checks.iter().find(|c| c.2 - c.1 < self.rules.headroom)
        {
            issues.push(Issue::new(
                Rule::PathNearLimit,
                format!(
                    "the {what} path is {len} characters, {} below the {budget} the device allows; the limit shrinks as the content version grows",
                    budget - len
                ),
            ));
        }
    }

    /// Records the entry and the directories it implies; reports collisions with earlier ones.
    /// Each level's fingerprint comes from its parent's and its own folded name.
    fn track(&mut self, name: &str, components: &[&str], is_dir: bool) {
        let Some((_, parents)) = components.split_last() else {
            return;
        };
        let dir_count = if is_dir {
            components.len()
        } else {
            parents.len()
        };
        // Names over MAX_NAME_LEN bytes are refused before they are tracked.
        let Ok(len) = u16::try_from(name.len()) else {
            return;
        };
        let entry = self.names.len() as u64;
        self.names.extend_from_slice(&len.to_le_bytes());
        self.names.extend_from_slice(name.as_bytes());
        let mut print = 0u64;
        for (depth, component) in components.iter().enumerate() {
            print = self.keys.hash_one((print, fold(component)));
            if depth < dir_count {
                self.track_dir(name, print, entry, &components[..=depth]);
            } else {
                self.track_file(name, print, entry, components);
            }
        }
    }

    /// The name of tracked entry `entry` (the offset of its length in `names`).
    fn name_of(&self, entry: u64) -> String {
        let start = usize::try_from(entry).unwrap_or(usize::MAX);
        let (Some(lo), Some(hi)) = (self.names.get(start), self.names.get(start + 1)) else {
            return String::new();
        };
        let len = usize::from(u16::from_le_bytes([lo, hi]));
        // Stored from a `&str`, so always UTF-8.
        String::from_utf8(self.names.copy_range(start + 2, len)).unwrap_or_default()
    }

    /// Whether the first `levels` names of tracked entry `entry` fold to `components`.
    fn folds_to(&self, entry: u64, levels: usize, components: &[&str]) -> bool {
        let name = self.name_of(entry);
        let split = split_name(&name);
        levels == components.len()
            && split.components.len() >= levels
            && split.components[..levels]
                .iter()
                .zip(components)
                .all(|(a, b)| fold(a) == fold(b))
    }

    /// The first `levels` names of tracked entry `entry`, joined with `/`.
    fn spelling(&self, entry: u64, levels: usize) -> String {
        let name = self.name_of(entry);
        let split = split_name(&name);
        split.components[..levels.min(split.components.len())].join("/")
    }

    fn track_dir(&mut self, name: &str, print: u64, entry: u64, components: &[&str]) {
        if self.dirs.contains(print) {
            return;
        }
        let file = self.files.get(print);
        if let Some(file) = file.filter(|&f| self.folds_to(f, components.len(), components)) {
            let reason = format!(
                "the directory '{}' collides with the file '{}' (Windows ignores case and trailing dots/spaces)",
                shown(&components.join("/")),
                shown(&self.name_of(file))
            );
            self.findings
                .push(Finding::new(Rule::NameCollision, name, &reason));
        }
        if self.rules.junk_warnings && components.last().is_some_and(|c| is_junk_dir(c)) {
            self.findings.push(Finding::new(
                Rule::JunkFile,
                &components.join("/"),
                "a folder that does not belong in a package",
            ));
        }
        let levels = u32::try_from(components.len()).unwrap_or(u32::MAX);
        self.dirs.insert_new(print, (entry, levels));
    }

    fn track_file(&mut self, name: &str, print: u64, entry: u64, components: &[&str]) {
        let levels = components.len();
        let first = self.files.get(print);
        let dir = self.dirs.get(print);
        let reason = if let Some(first) = first.filter(|&f| self.folds_to(f, levels, components)) {
            let first = self.name_of(first);
            if windows_form(&first) == windows_form(name) {
                Some((Rule::DuplicateEntry, "duplicate entry".to_owned()))
            } else {
                Some((
                    Rule::NameCollision,
                    format!(
                        "collides with '{}' (Windows ignores case and trailing dots/spaces)",
                        shown(&first)
                    ),
                ))
            }
        } else if let Some((dir, n)) =
            dir.filter(|&(d, n)| self.folds_to(d, n as usize, components))
        {
            Some((
                Rule::NameCollision,
                format!(
                    "the file collides with the directory '{}' (Windows ignores case and trailing dots/spaces)",
                    shown(&self.spelling(dir, n as usize))
                ),
            ))
        } else {
            None
        };
        match reason {
            Some((rule, reason)) => self.findings.push(Finding::new(rule, name, &reason)),
            // The first file seen at a fingerprint stays (another path of equal fingerprint
            // is only missed).
            None if first.is_none() => self.files.insert_new(print, entry),
            None => {}
        }
    }
}

/// Splits a stored zip entry name into safe components for extraction, or returns the
/// [`Finding`] (error severity) that makes it unsafe to create under a destination on any OS:
/// a name over [`MAX_NAME_LEN`] bytes or [`MAX_DEPTH`] components (checked first, in one pass
/// over the bytes), `..`, absolute, drive, UNC, empty or `.` components, NUL and control
/// characters, Windows-forbidden characters, reserved names, trailing dots or spaces, a name
/// over 255 UTF-16 units or 255 bytes. Returns
/// `(components, is_dir)`; warnings (a leading space, `COM0`, non-NFC) do not refuse a name.
pub fn split_entry_name(name: &str) -> Result<(Vec<String>, bool), Finding> {
    if let Some(issue) = bound_issue(name) {
        return Err(Finding::new(issue.rule, name, &issue.reason));
    }
    let split = split_name(name);
    if let Some(root) = split.root {
        return Err(Finding::new(root, name, &root_reason(root)));
    }
    let mut issues = Vec::new();
    for component in &split.components {
        component_issues(component, &mut issues);
        length_issue(component, &mut issues);
    }
    if let Some(issue) = issues
        .into_iter()
        .find(|issue| issue.rule.severity() == Severity::Error)
    {
        return Err(Finding::new(issue.rule, name, &issue.reason));
    }
    let components = split.components.iter().map(|c| (*c).to_owned()).collect();
    Ok((components, split.is_dir))
}

/// A rule broken by an entry, before it becomes a [`Finding`].
struct Issue {
    rule: Rule,
    reason: String,
}

impl Issue {
    fn new(rule: Rule, reason: String) -> Self {
        Issue { rule, reason }
    }
}

/// A name cut at its separators (FORMAT.md §6.3: `/` and `\`, mixed).
#[derive(Default)]
struct Split<'a> {
    /// Set when the name is not relative.
    root: Option<Rule>,
    /// The names between separators; a trailing separator adds none.
    components: Vec<&'a str>,
    /// Whether the name ended with a separator.
    is_dir: bool,
}

fn is_separator(c: char) -> bool {
    c == '/' || c == '\\'
}

fn split_name(name: &str) -> Split<'_> {
    let mut chars = name.chars();
    let root = match (chars.next(), chars.next()) {
        (Some(a), Some(b)) if is_separator(a) && is_separator(b) => Some(Rule::UncPath),
        (Some(a), _) if is_separator(a) => Some(Rule::AbsolutePath),
        (Some(a), Some(':')) if a.is_ascii_alphabetic() => Some(Rule::DrivePath),
        _ => None,
    };
    let (body, is_dir) = match name.strip_suffix(is_separator) {
        Some(body) => (body, true),
        None => (name, false),
    };
    Split {
        root,
        components: body.split(is_separator).collect(),
        is_dir,
    }
}

/// The hard bounds on a whole name, checked in one pass over its bytes before anything is
/// built from it: its length, then its depth (FORMAT.md §12.1; [`MAX_NAME_LEN`], [`MAX_DEPTH`]).
fn bound_issue(name: &str) -> Option<Issue> {
    if name.len() > MAX_NAME_LEN {
        return Some(Issue::new(
            Rule::NameTooLong,
            format!(
                "a name of {} bytes, over the {MAX_NAME_LEN} accepted (the device takes 199 characters)",
                name.len()
            ),
        ));
    }
    let body = name.strip_suffix(is_separator).unwrap_or(name);
    let depth = 1 + body.bytes().filter(|b| matches!(b, b'/' | b'\\')).count();
    (depth > MAX_DEPTH).then(|| {
        Issue::new(
            Rule::PathTooDeep,
            format!("a name {depth} folders deep, over the {MAX_DEPTH} accepted"),
        )
    })
}

fn root_reason(root: Rule) -> String {
    match root {
        Rule::UncPath => "UNC or device path (\\\\server\\share, \\\\?\\, \\\\.\\)",
        Rule::DrivePath => "path with a drive letter (C:\\x or C:x)",
        _ => "absolute path",
    }
    .to_owned()
}

fn kind_issues(kind: EntryKind, issues: &mut Vec<Issue>) {
    match kind {
        EntryKind::Symlink => issues.push(Issue::new(
            Rule::Symlink,
            "symbolic link: the device would get a small text file, not a link".into(),
        )),
        EntryKind::Special => issues.push(Issue::new(
            Rule::SpecialFile,
            "special file (device, socket or FIFO) cannot be packed".into(),
        )),
        EntryKind::File | EntryKind::Dir => {}
    }
}

/// Characters Windows refuses in names; `:` also opens an NTFS stream (FORMAT.md §12.2).
const FORBIDDEN: [char; 9] = ['<', '>', ':', '"', '|', '?', '*', '\\', '/'];

/// Device names, compared case-insensitively with the part before the first `.`.
const RESERVED: [&str; 30] = [
    "CON",
    "PRN",
    "AUX",
    "NUL",
    "COM1",
    "COM2",
    "COM3",
    "COM4",
    "COM5",
    "COM6",
    "COM7",
    "COM8",
    "COM9",
    "LPT1",
    "LPT2",
    "LPT3",
    "LPT4",
    "LPT5",
    "LPT6",
    "LPT7",
    "LPT8",
    "LPT9",
    "COM\u{b9}",
    "COM\u{b2}",
    "COM\u{b3}",
    "LPT\u{b9}",
    "LPT\u{b2}",
    "LPT\u{b3}",
    "CONIN$",
    "CONOUT$",
];

/// Reserved by some Windows versions only (FORMAT.md §12.2: disputed, warn).
const DISPUTED: [&str; 2] = ["COM0", "LPT0"];

/// The per-name safety rules shared by the checker and [`split_entry_name`].
fn component_issues(component: &str, issues: &mut Vec<Issue>) {
    match component {
        "" | "." => {
            issues.push(Issue::new(
                Rule::EmptyComponent,
                "empty or '.' component".into(),
            ));
            return;
        }
        ".." => {
            issues.push(Issue::new(
                Rule::ZipSlip,
                "'..' component: the entry would land outside the destination".into(),
            ));
            return;
        }
        _ => {}
    }
    if let Some(c) = component.chars().find(|c| u32::from(*c) < 0x20) {
        issues.push(Issue::new(
            Rule::ControlCharacter,
            format!("control character U+{:04X} in a name", u32::from(c)),
        ));
    }
    if let Some(c) = component.chars().find(|c| FORBIDDEN.contains(c)) {
        let reason = if is_separator(c) {
            format!("'{c}' inside the name '{}'", shown(component))
        } else {
            format!("character '{c}' is not allowed in Windows names")
        };
        issues.push(Issue::new(Rule::ForbiddenCharacter, reason));
    }
    reserved_issue(component, issues);
    dot_space_issue(component, issues);
}

fn reserved_issue(component: &str, issues: &mut Vec<Issue>) {
    let base = component
        .split_once('.')
        .map_or(component, |(base, _)| base)
        .trim_end_matches(' ');
    let matches = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(base));
    if matches(&RESERVED) {
        issues.push(Issue::new(
            Rule::ReservedName,
            format!(
                "'{}' is a reserved device name on Windows",
                shown(component)
            ),
        ));
    } else if matches(&DISPUTED) {
        issues.push(Issue::new(
            Rule::DisputedReservedName,
            format!(
                "'{}' is a device name on some Windows versions",
                shown(component)
            ),
        ));
    }
}

fn dot_space_issue(component: &str, issues: &mut Vec<Issue>) {
    let shown_name = shown(component);
    if component.chars().all(|c| c == '.' || c == ' ') {
        issues.push(Issue::new(
            Rule::DotsOnlyName,
            format!("the name '{shown_name}' is only dots and spaces"),
        ));
    } else if component.ends_with(['.', ' ']) {
        issues.push(Issue::new(
            Rule::TrailingDotOrSpace,
            format!("the name '{shown_name}' ends with a dot or space, which Windows strips"),
        ));
    } else if component.starts_with(' ') {
        issues.push(Issue::new(
            Rule::LeadingSpace,
            format!("the name '{shown_name}' starts with a space"),
        ));
    }
}

/// A name too long for Windows (UTF-16 units) or for Linux and macOS (UTF-8 bytes): either
/// way no extraction can create it everywhere.
fn length_issue(component: &str, issues: &mut Vec<Issue>) {
    let len = utf16_len(component);
    if len > MAX_COMPONENT {
        issues.push(Issue::new(
            Rule::ComponentTooLong,
            format!("a name is {len} characters, over the {MAX_COMPONENT} Windows allows"),
        ));
    } else if component.len() > MAX_COMPONENT_BYTES {
        issues.push(Issue::new(
            Rule::ComponentTooLong,
            format!(
                "a name is {} bytes in UTF-8, over the {MAX_COMPONENT_BYTES} Linux and macOS allow",
                component.len()
            ),
        ));
    }
}

/// Junk folders, reported once per folder rather than per file inside.
fn is_junk_dir(component: &str) -> bool {
    component.eq_ignore_ascii_case(".git") || component.eq_ignore_ascii_case("__MACOSX")
}

fn junk_file_issues(components: &[&str], issues: &mut Vec<Issue>) {
    let Some(last) = components.last() else {
        return;
    };
    let lower = last.to_ascii_lowercase();
    if lower.ends_with(".intunewin") {
        issues.push(Issue::new(
            Rule::PreviousPackage,
            "an earlier .intunewin package inside the source".into(),
        ));
    } else if matches!(lower.as_str(), ".ds_store" | "thumbs.db" | "desktop.ini")
        || lower.starts_with("._")
    {
        issues.push(Issue::new(
            Rule::JunkFile,
            "a file that does not belong in a package".into(),
        ));
    }
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Length of the components joined with `\` (FORMAT.md §12.1).
fn windows_len(components: &[&str]) -> usize {
    components.iter().map(|c| utf16_len(c)).sum::<usize>() + components.len().saturating_sub(1)
}

/// The name with `\` separators and no trailing one, to spot exact duplicates.
fn windows_form(name: &str) -> String {
    let name = name.strip_suffix(is_separator).unwrap_or(name);
    name.replace('/', "\\")
}

/// Case-insensitive key of one name: trailing dots/spaces stripped as Windows does, then full
/// Unicode lowercase (FORMAT.md §12.2).
fn fold(component: &str) -> String {
    component.trim_end_matches(['.', ' ']).to_lowercase()
}

/// The text safe for a terminal: every character that could move the cursor, recolour or
/// reorder what follows is escaped as Rust writes it (`\u{1b}`). That is every control character
/// (C0, DEL, C1) and the bidirectional formatting ones: U+061C, U+200E, U+200F,
/// U+202A–U+202E and U+2066–U+2069. The one sanitiser of names from packages and folders, for
/// the library's messages and the CLI's output alike.
pub fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shown_escapes_every_character_that_can_disturb_a_terminal() {
        let escaped = [
            // C0 controls, including the ones a terminal acts on.
            ('\u{0}', "\\u{0}"),
            ('\u{7}', "\\u{7}"),
            ('\u{8}', "\\u{8}"),
            ('\t', "\\u{9}"),
            ('\n', "\\u{a}"),
            ('\r', "\\u{d}"),
            ('\u{1b}', "\\u{1b}"),
            ('\u{1f}', "\\u{1f}"),
            // DEL and C1 (U+009B is a one-character CSI).
            ('\u{7f}', "\\u{7f}"),
            ('\u{80}', "\\u{80}"),
            ('\u{85}', "\\u{85}"),
            ('\u{9b}', "\\u{9b}"),
            ('\u{9f}', "\\u{9f}"),
            // Bidirectional formatting: the Arabic letter mark, LRM/RLM, the embeddings and
            // overrides (LRE, RLE, PDF, LRO, RLO) and the isolates (LRI, RLI, FSI, PDI).
            ('\u{061C}', "\\u{61c}"),
            ('\u{200E}', "\\u{200e}"),
            ('\u{200F}', "\\u{200f}"),
            ('\u{202A}', "\\u{202a}"),
            ('\u{202B}', "\\u{202b}"),
            ('\u{202C}', "\\u{202c}"),
            ('\u{202D}', "\\u{202d}"),
            ('\u{202E}', "\\u{202e}"),
            ('\u{2066}', "\\u{2066}"),
            ('\u{2067}', "\\u{2067}"),
            ('\u{2068}', "\\u{2068}"),
            ('\u{2069}', "\\u{2069}"),
        ];
        for (c, want) in escaped {
            assert_eq!(
                shown(&format!("a{c}b")),
                format!("a{want}b"),
                "U+{:04X}",
                u32::from(c)
            );
        }
        // Printable text, right-to-left letters and emoji included, passes unchanged.
        for kept in [
            "setup.exe",
            "Café ñ",
            "مرحبا",
            "שלום",
            "\u{1F600}",
            "a\u{200B}b",
            "\\u{1b}",
        ] {
            assert_eq!(shown(kept), kept);
        }
    }

    /// The rules broken by one entry, in the order found.
    fn rules_of(rules: &PathRules, name: &str, kind: EntryKind) -> Vec<Rule> {
        let mut checker = PathChecker::new(rules.clone());
        checker.add(name, kind);
        checker.finish().into_iter().map(|f| f.rule).collect()
    }

    fn rules_of_set(entries: &[(&str, EntryKind)]) -> Vec<Rule> {
        let mut checker = PathChecker::new(PathRules::new());
        for (name, kind) in entries {
            checker.add(name, *kind);
        }
        let mut rules: Vec<Rule> = checker.finish().into_iter().map(|f| f.rule).collect();
        rules.sort();
        rules
    }

    /// A relative file path of exactly `len` characters, names at most 50 long.
    fn path_of_len(len: usize) -> String {
        (0..len)
            .map(|i| {
                if (i + 1) % 50 == 0 && i + 1 < len {
                    '/'
                } else {
                    'a'
                }
            })
            .collect()
    }

    use EntryKind::{Dir, File, Special, Symlink};
    use Rule::*;

    #[test]
    fn single_entry_rules() {
        let cases: &[(&str, EntryKind, &[Rule])] = &[
            ("a/b.txt", File, &[]),
            ("Files\\setup.exe", File, &[]),
            ("a/b\\c.txt", File, &[]),
            ("dir/", Dir, &[]),
            ("dir\\", File, &[]),
            // Rooted and escaping paths.
            ("a/../b", File, &[ZipSlip]),
            ("../x", File, &[ZipSlip]),
            ("a/..", File, &[ZipSlip]),
            ("/etc/x", File, &[AbsolutePath]),
            ("\\etc\\x", File, &[AbsolutePath]),
            ("C:x", File, &[DrivePath]),
            ("C:\\x", File, &[DrivePath]),
            ("c:/x", File, &[DrivePath]),
            ("\\\\server\\share\\x", File, &[UncPath]),
            ("//server/share/x", File, &[UncPath]),
            ("\\\\?\\C:\\x", File, &[UncPath]),
            ("\\\\.\\PhysicalDrive0", File, &[UncPath]),
            ("a//b", File, &[EmptyComponent]),
            ("./a", File, &[EmptyComponent]),
            ("a/./b", File, &[EmptyComponent]),
            ("a//", Dir, &[EmptyComponent]),
            ("", File, &[EmptyComponent]),
            // Characters.
            ("a\0b", File, &[ControlCharacter]),
            ("a\u{1f}b", File, &[ControlCharacter]),
            ("d\u{1}/x", File, &[ControlCharacter]),
            ("a\u{7f}b", File, &[]),
            ("a<b", File, &[ForbiddenCharacter]),
            ("a>b", File, &[ForbiddenCharacter]),
            ("ab:c", File, &[ForbiddenCharacter]),
            ("a:b", File, &[DrivePath]),
            ("x/C:", File, &[ForbiddenCharacter]),
            ("a\"b", File, &[ForbiddenCharacter]),
            ("a|b", File, &[ForbiddenCharacter]),
            ("a?b", File, &[ForbiddenCharacter]),
            ("a*b", File, &[ForbiddenCharacter]),
            ("a b-c_d(1)[2]{3}'&%$#@!~+=,;", File, &[]),
            // Reserved names.
            ("CON", File, &[ReservedName]),
            ("con", File, &[ReservedName]),
            ("CON.txt", File, &[ReservedName]),
            ("con .txt", File, &[ReservedName]),
            ("aux.tar.gz", File, &[ReservedName]),
            ("Prn", File, &[ReservedName]),
            ("dir/nul/x.txt", File, &[ReservedName]),
            ("COM1", File, &[ReservedName]),
            ("lpt9.log", File, &[ReservedName]),
            ("COM\u{b9}", File, &[ReservedName]),
            ("com\u{b2}.txt", File, &[ReservedName]),
            ("LPT\u{b3}", File, &[ReservedName]),
            ("CONOUT$", File, &[ReservedName]),
            ("conin$.txt", File, &[ReservedName]),
            ("COM0", File, &[DisputedReservedName]),
            ("lpt0.txt", File, &[DisputedReservedName]),
            ("CONSOLE", File, &[]),
            ("COM10", File, &[]),
            ("COM\u{2074}", File, &[]),
            ("xcon", File, &[]),
            ("con_x.txt", File, &[]),
            ("LPT", File, &[]),
            ("CLOCK$", File, &[]),
            // Dots and spaces.
            ("a.", File, &[TrailingDotOrSpace]),
            ("a ", File, &[TrailingDotOrSpace]),
            ("dir./x", File, &[TrailingDotOrSpace]),
            ("...", File, &[DotsOnlyName]),
            (" ", File, &[DotsOnlyName]),
            (". .", File, &[DotsOnlyName]),
            (" a", File, &[LeadingSpace]),
            ("a.b", File, &[]),
            (".hidden", File, &[]),
            // Kinds.
            ("link", Symlink, &[Rule::Symlink]),
            ("fifo", Special, &[SpecialFile]),
            // Normalisation.
            ("caf\u{e9}", File, &[]),
            ("cafe\u{301}", File, &[NotNfc]),
            // Junk.
            (".DS_Store", File, &[JunkFile]),
            ("sub/Thumbs.db", File, &[JunkFile]),
            ("desktop.ini", File, &[JunkFile]),
            ("._setup.exe", File, &[JunkFile]),
            (".git/config", File, &[JunkFile]),
            ("__MACOSX/", Dir, &[JunkFile]),
            ("old/App.intunewin", File, &[PreviousPackage]),
        ];
        let rules = PathRules::new();
        for (name, kind, expected) in cases {
            assert_eq!(&rules_of(&rules, name, *kind), expected, "{name:?}");
        }
    }

    #[test]
    fn junk_warnings_can_be_disabled() {
        let rules = PathRules::new().junk_warnings(false);
        for name in [".DS_Store", ".git/config", "a.intunewin"] {
            assert_eq!(rules_of(&rules, name, File), &[], "{name:?}");
        }
    }

    #[test]
    fn budgets_follow_the_content_version() {
        let cases = [(1, 59, 200, 188), (2, 60, 199, 187), (3, 61, 198, 186)];
        for (digits, prefix, file, dir) in cases {
            let rules = PathRules::new().content_version_digits(digits);
            assert_eq!(
                (
                    rules.prefix_length(),
                    rules.file_budget(),
                    rules.dir_budget()
                ),
                (prefix, file, dir)
            );
        }
        let custom = PathRules::new().content_version_digits(1).prefix_len(70);
        assert_eq!((custom.file_budget(), custom.dir_budget()), (189, 177));
        assert_eq!(PathRules::new(), PathRules::default());
    }

    #[test]
    fn path_of_205_characters_is_too_long() {
        let name = path_of_len(205);
        let mut checker = PathChecker::new(PathRules::new());
        checker.add(&name, File);
        let findings = checker.finish();
        assert_eq!(findings.len(), 1);
        let finding = &findings[0];
        assert_eq!(finding.rule, PathTooLong);
        assert_eq!(finding.rule.id(), "path-too-long");
        assert_eq!(finding.severity, Severity::Error);
        assert_eq!(finding.intune_code, Some(0x87D3_0067));
        assert_eq!(finding.path, name);
        assert!(finding.message.ends_with(&name));
        assert!(finding.message.contains("205"));
        assert!(finding.reason().contains("199"));
        assert!(!finding.reason().contains(&name));
    }

    #[test]
    fn file_budget_edges() {
        // (length, digits, headroom, expected rules)
        let cases: &[(usize, u8, usize, &[Rule])] = &[
            (199, 2, 0, &[]),
            (199, 2, 10, &[PathNearLimit]),
            (200, 2, 0, &[PathTooLong]),
            (200, 1, 0, &[]),
            (201, 1, 0, &[PathTooLong]),
            (198, 3, 0, &[]),
            (199, 3, 0, &[PathTooLong]),
            (189, 2, 10, &[]),
            (190, 2, 10, &[PathNearLimit]),
        ];
        for (len, digits, headroom, expected) in cases {
            let rules = PathRules::new()
                .content_version_digits(*digits)
                .headroom(*headroom);
            let name = path_of_len(*len);
            assert_eq!(&rules_of(&rules, &name, File), expected, "{len} {digits}");
        }
    }

    #[test]
    fn directory_budget_edges() {
        let rules = PathRules::new().headroom(0);
        let dir = |len: usize| path_of_len(len) + "/";
        assert_eq!(rules_of(&rules, &dir(187), Dir), &[]);
        assert_eq!(rules_of(&rules, &dir(188), Dir), &[PathTooLong]);
        assert_eq!(rules_of(&rules, &path_of_len(188), Dir), &[PathTooLong]);
        // A short file name in a directory one over the budget: the file fits, its parent not.
        assert_eq!(rules_of(&rules, &(dir(187) + "x.txt"), File), &[]);
        assert_eq!(
            rules_of(&rules, &(dir(188) + "x.txt"), File),
            &[PathTooLong]
        );
        let near = PathRules::new().headroom(10);
        assert_eq!(rules_of(&near, &(dir(180) + "x"), File), &[PathNearLimit]);
    }

    #[test]
    fn non_bmp_characters_count_twice() {
        let emoji = "\u{1F600}";
        let rules = PathRules::new().headroom(0);
        // Two names of 50 and 49 emoji: 100 + 1 + 98 = 199 units; one more emoji is over.
        let path = |a: usize, b: usize| format!("{}/{}", emoji.repeat(a), emoji.repeat(b));
        assert_eq!(rules_of(&rules, &path(50, 49), File), &[]);
        assert_eq!(rules_of(&rules, &path(50, 50), File), &[PathTooLong]);
        // 'é' is one unit: 99 + 1 + 99 of them fit.
        let e99 = "\u{e9}".repeat(99);
        assert_eq!(rules_of(&rules, &format!("{e99}/{e99}"), File), &[]);
    }

    #[test]
    fn component_length_limit() {
        let rules = PathRules::new().prefix_len(0).headroom(0);
        assert_eq!(rules_of(&rules, &"a".repeat(255), File), &[]);
        assert_eq!(
            rules_of(&rules, &"a".repeat(256), File),
            &[ComponentTooLong]
        );
        assert_eq!(
            rules_of(&rules, &"\u{1F600}".repeat(128), File),
            &[ComponentTooLong]
        );
        // 127 emoji are 254 UTF-16 units, which Windows takes, but 508 bytes, which Linux
        // and macOS refuse: no extraction could create it everywhere.
        assert_eq!(
            rules_of(&rules, &"\u{1F600}".repeat(127), File),
            &[ComponentTooLong]
        );
        assert_eq!(rules_of(&rules, &"\u{e9}".repeat(127), File), &[]);
        assert_eq!(
            rules_of(&rules, &"\u{e9}".repeat(128), File),
            &[ComponentTooLong]
        );
        let finding =
            split_entry_name(&format!("d/{}", "\u{e9}".repeat(128))).expect_err("256 bytes");
        assert_eq!(finding.rule, ComponentTooLong);
        assert!(
            finding.reason().contains("256 bytes"),
            "{}",
            finding.reason()
        );
    }

    #[test]
    fn names_over_the_bounds_are_refused_before_being_split() {
        let rules = PathRules::new();
        let long = "a/".repeat(MAX_NAME_LEN / 2) + "x";
        assert_eq!(rules_of(&rules, &long, File), &[NameTooLong]);
        let deep = "a/".repeat(MAX_DEPTH) + "x";
        let deep_short = "/".repeat(MAX_DEPTH) + "x";
        for name in [&long, &deep] {
            let finding = split_entry_name(name).expect_err("over the bounds");
            assert_eq!(finding.rule, NameTooLong, "{}", finding.reason());
        }
        // Within the length but too deep: only separators can make that.
        assert_eq!(rules_of(&rules, &deep_short, File), &[PathTooDeep]);
        assert_eq!(
            split_entry_name(&deep_short).map_err(|f| f.rule),
            Err(PathTooDeep)
        );
        // The deepest and the longest accepted: a trailing separator adds no level.
        let deepest = "a/".repeat(MAX_DEPTH);
        assert_eq!(deepest.len(), MAX_NAME_LEN);
        let (parts, is_dir) = split_entry_name(&deepest).expect("within the bounds");
        assert_eq!((parts.len(), is_dir), (MAX_DEPTH, true));
        assert!(rules_of(&rules, &deepest, Dir).contains(&PathTooLong));
        assert_eq!(
            split_entry_name(&format!("{deepest}x")).map_err(|f| f.rule),
            Err(NameTooLong)
        );
    }

    #[test]
    fn checking_deep_names_costs_linear_time() {
        // 400 files each 1,900 folders deep under one chain, then 40 in distinct chains:
        // quadratic work per entry (hashing and copying every prefix, 1.4 GB) would take
        // minutes in a debug build; linear work takes about a second.
        let chain = "a/".repeat(1_900);
        let started = std::time::Instant::now();
        let mut checker = PathChecker::new(PathRules::new().headroom(0));
        for i in 0..400 {
            checker.add(&format!("{chain}f{i}"), File);
        }
        for i in 0..40 {
            checker.add(&format!("d{i}/{chain}f"), File);
        }
        checker.add(&format!("{chain}F0"), File);
        let findings = checker.finish();
        let collisions: Vec<_> = findings
            .iter()
            .filter(|f| f.rule == NameCollision)
            .collect();
        assert_eq!(collisions.len(), 1);
        assert!(collisions[0].message.contains("collides with"));
        assert_eq!(
            findings.len(),
            400 + 40 + 2,
            "one path-too-long each, one collision"
        );
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    }

    /// Entries added together, and the rules they break.
    type SetCase<'a> = (&'a [(&'a str, EntryKind)], &'a [Rule]);

    #[test]
    fn set_wide_rules() {
        let cases: &[SetCase<'_>] = &[
            (
                &[("Readme.txt", File), ("README.TXT", File)],
                &[NameCollision],
            ),
            (&[("Readme.txt", File), ("Readme.md", File)], &[]),
            (
                &[("a.", File), ("a", File)],
                &[TrailingDotOrSpace, NameCollision],
            ),
            (
                &[("a ", File), ("A", File)],
                &[TrailingDotOrSpace, NameCollision],
            ),
            (&[("a", File), ("A/", Dir)], &[NameCollision]),
            (&[("a", File), ("A/x", File)], &[NameCollision]),
            (&[("a", File), ("A", Dir)], &[NameCollision]),
            (&[("x/a", File), ("x/a/", Dir)], &[NameCollision]),
            (&[("A/x", File), ("a/y", File)], &[]),
            (&[("Dir/X", File), ("dir/x", File)], &[NameCollision]),
            (&[("a/", Dir), ("A/", Dir)], &[]),
            (&[("a/", Dir), ("a/", Dir)], &[]),
            (&[("x", File), ("x", File)], &[DuplicateEntry]),
            (&[("a/b", File), ("a\\b", File)], &[DuplicateEntry]),
            (&[("\u{e4}", File), ("\u{c4}", File)], &[NameCollision]),
            (&[("\u{3a3}", File), ("\u{3c3}", File)], &[NameCollision]),
            (&[("caf\u{e9}", File), ("cafe\u{301}", File)], &[NotNfc]),
            (
                &[("l", Symlink), ("L", File)],
                &[NameCollision, Rule::Symlink],
            ),
            // Unplaceable entries take no part in collisions.
            (&[("a/../b", File), ("a/../B", File)], &[ZipSlip, ZipSlip]),
            (&[("/x", File), ("/x", File)], &[AbsolutePath, AbsolutePath]),
        ];
        for (entries, expected) in cases {
            let mut expected = expected.to_vec();
            expected.sort();
            assert_eq!(rules_of_set(entries), expected, "{entries:?}");
            let reversed: Vec<_> = entries.iter().rev().copied().collect();
            assert_eq!(rules_of_set(&reversed), expected, "reversed {entries:?}");
        }
    }

    #[test]
    fn a_directory_colliding_with_a_file_is_reported_once() {
        let mut checker = PathChecker::new(PathRules::new());
        checker.add("a", File);
        for i in 0..5 {
            checker.add(&format!("A/{i}.txt"), File);
        }
        let findings = checker.finish();
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, NameCollision);
        assert_eq!(findings[0].path, "A/0.txt");
    }

    #[test]
    fn add_components_reports_a_backslash_inside_a_name() {
        let mut checker = PathChecker::new(PathRules::new());
        checker.add_components(&["dir", "a\\b.txt"], File);
        checker.add_components(&["dir", "ok.txt"], File);
        checker.add_components(&["sub"], Dir);
        let findings = checker.finish();
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, ForbiddenCharacter);
        assert_eq!(findings[0].path, "dir/a\\b.txt");
    }

    #[test]
    fn the_print_index_finds_every_key_across_merges_and_no_other() {
        let keys = RandomState::new();
        let mut index: PrintIndex<u64> = PrintIndex::new();
        let n = 50 * MIN_RECENT as u64;
        for i in 0..n {
            index.insert_new(keys.hash_one(i), i);
            // The earliest keys sit in the sorted part by now; each is still found.
            if i % 9_973 == 0 {
                assert_eq!(index.get(keys.hash_one(i / 2)), Some(i / 2));
            }
        }
        assert!(index.sorted.len() > n as usize / 2, "merged");
        for i in 0..n {
            assert_eq!(index.get(keys.hash_one(i)), Some(i), "key {i}");
        }
        for i in n..n + 10_000 {
            assert_eq!(index.get(keys.hash_one(i)), None, "absent key {i}");
        }
        assert_eq!(index.get(0), None);
        assert_eq!(index.get(u64::MAX), None);
    }

    #[test]
    fn many_similar_names_give_no_false_duplicates() {
        // Names differing in one character, in case only where Windows tells them apart
        // (none here), in depth, and files beside folders of near names.
        let mut checker = PathChecker::new(PathRules::new());
        for i in 0..150_000u32 {
            checker.add(&format!("d{}/f{i}", i % 1000), File);
            checker.add(&format!("d{}/f{i}x/", i % 1000), Dir);
        }
        assert_eq!(checker.finish(), Vec::new());
    }

    #[test]
    fn duplicates_and_collisions_with_early_entries_are_found_after_many() {
        let mut checker = PathChecker::new(PathRules::new());
        checker.add("Setup.exe", File);
        checker.add("Docs/Read Me.txt", File);
        for i in 0..100_000 {
            checker.add(&format!("bulk/e{i:06}"), File);
        }
        checker.add("Setup.exe", File);
        checker.add("SETUP.exe", File);
        checker.add("docs/read me.TXT", File);
        checker.add("bulk/e000007/inner", File);
        checker.add("bulk/E099999", File);
        let found: Vec<(Rule, String, String)> = checker
            .finish()
            .into_iter()
            .map(|f| (f.rule, f.path.clone(), f.reason().to_string()))
            .collect();
        let collides = |first: &str| {
            format!("collides with '{first}' (Windows ignores case and trailing dots/spaces)")
        };
        assert_eq!(
            found,
            [
                (DuplicateEntry, "Setup.exe".into(), "duplicate entry".into()),
                (NameCollision, "SETUP.exe".into(), collides("Setup.exe")),
                (NameCollision, "docs/read me.TXT".into(), collides("Docs/Read Me.txt")),
                (
                    NameCollision,
                    "bulk/e000007/inner".into(),
                    "the directory 'bulk/e000007' collides with the file 'bulk/e000007' (Windows ignores case and trailing dots/spaces)".into()
                ),
                (NameCollision, "bulk/E099999".into(), collides("bulk/e099999")),
            ]
        );
    }

    #[test]
    fn many_entries_without_findings() {
        let mut checker = PathChecker::new(PathRules::new());
        for i in 0..100_000 {
            checker.add(&format!("d{}/sub{}/file{i}.bin", i % 97, i % 13), File);
        }
        assert_eq!(checker.finish(), Vec::new());
    }

    #[test]
    fn messages_escape_control_characters() {
        let mut checker = PathChecker::new(PathRules::new());
        checker.add("bad\u{1b}[31m.txt", File);
        let findings = checker.finish();
        assert_eq!(findings[0].rule, ControlCharacter);
        assert_eq!(findings[0].path, "bad\u{1b}[31m.txt");
        assert!(findings[0].message.ends_with("bad\\u{1b}[31m.txt"));
        assert!(!findings[0].message.contains('\u{1b}'));
    }

    #[test]
    fn rule_ids_are_unique_and_round_trip() {
        for rule in Rule::ALL {
            assert_eq!(Rule::from_id(rule.id()), Some(rule));
            assert_eq!(rule.to_string(), rule.id());
            let is_kebab = rule
                .id()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-');
            assert!(is_kebab, "{rule:?}");
            if rule.intune_code().is_some() {
                assert!(
                    rule.severity() == Severity::Error || rule == DisputedReservedName,
                    "{rule:?}"
                );
            }
        }
        assert_eq!(Rule::from_id("no-such-rule"), None);
        assert!(Severity::Error > Severity::Warning);
    }

    #[test]
    fn split_entry_name_accepts_safe_names() {
        let cases: &[(&str, &[&str], bool)] = &[
            ("a/b/c.txt", &["a", "b", "c.txt"], false),
            ("a\\b\\", &["a", "b"], true),
            ("a/b\\c", &["a", "b", "c"], false),
            ("setup.exe", &["setup.exe"], false),
            (" lead", &[" lead"], false),
            ("COM0.txt", &["COM0.txt"], false),
            ("cafe\u{301}", &["cafe\u{301}"], false),
            ("x/", &["x"], true),
        ];
        for (name, components, is_dir) in cases {
            let expected: Vec<String> = components.iter().map(|c| (*c).to_owned()).collect();
            assert_eq!(split_entry_name(name), Ok((expected, *is_dir)), "{name:?}");
        }
    }

    #[test]
    fn split_entry_name_refuses_unsafe_names() {
        let cases: &[(&str, Rule)] = &[
            ("../x", ZipSlip),
            ("a/../../x", ZipSlip),
            ("a\\..\\x", ZipSlip),
            ("..", ZipSlip),
            ("/x", AbsolutePath),
            ("\\x", AbsolutePath),
            ("/", AbsolutePath),
            ("C:x", DrivePath),
            ("C:\\Windows\\x", DrivePath),
            ("\\\\s\\x", UncPath),
            ("\\\\?\\C:\\x", UncPath),
            ("\\\\.\\COM1", UncPath),
            ("a//b", EmptyComponent),
            ("a/./b", EmptyComponent),
            ("", EmptyComponent),
            ("a\0", ControlCharacter),
            ("a\nb", ControlCharacter),
            ("ab:c", ForbiddenCharacter),
            ("x/a*b", ForbiddenCharacter),
            ("CON.txt", ReservedName),
            ("d/lpt\u{b9}", ReservedName),
            ("a.", TrailingDotOrSpace),
            ("d /x", TrailingDotOrSpace),
            ("...", DotsOnlyName),
        ];
        for (name, rule) in cases {
            let finding = split_entry_name(name).expect_err(name);
            assert_eq!(finding.rule, *rule, "{name:?}");
            assert_eq!(finding.severity, Severity::Error, "{name:?}");
            assert_eq!(finding.path, *name);
        }
    }

    proptest! {
        #[test]
        fn split_entry_name_yields_only_plain_components(name in any::<String>()) {
            check_split(&name)?;
        }

        #[test]
        fn split_entry_name_on_separator_heavy_names(name in "[./\\\\: a\u{0}C]{0,12}") {
            check_split(&name)?;
        }
    }

    fn check_split(name: &str) -> Result<(), TestCaseError> {
        if let Ok((components, _)) = split_entry_name(name) {
            prop_assert!(!components.is_empty());
            prop_assert!(name.len() <= MAX_NAME_LEN && components.len() <= MAX_DEPTH);
            for c in &components {
                prop_assert!(c.len() <= MAX_COMPONENT_BYTES);
                prop_assert!(!c.is_empty());
                prop_assert!(c != "." && c != "..");
                prop_assert!(!c.contains(['/', '\\', '\0', ':']));
            }
        } else {
            // Refusals are errors, never warnings.
            let finding = split_entry_name(name).err();
            prop_assert_eq!(finding.map(|f| f.severity), Some(Severity::Error));
        }
        Ok(())
    }
}
