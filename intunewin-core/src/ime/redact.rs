//! Redaction of what identifies a person or a device in what `diagnose` reports, so that a
//! diagnosis can be shared: user names, UPNs and e-mail addresses, device names, SIDs, user
//! profile paths and the Entra ID (AAD) object ids of users, devices and the tenant.
//!
//! A [`Redactor`] first learns the identifiers (from every log record while
//! [`Redactor::diagnose`] reads the logs, and from the texts it is given), then replaces each
//! with a token such as `user-1`, `device-1` or `sid-1`: the same identifier always becomes
//! the same token within one redactor, names compared without case. App ids, policy ids and
//! download job ids are left alone: the diagnosis needs them.
//!
//! Where a name is replaced depends on how distinctive it is. Object ids, SIDs, UPNs and
//! profile folders are replaced wherever they appear, and so are names long and unusual
//! enough not to be an ordinary word (`jsmith`, `DESKTOP-7Q2WX9L`, `PC-0042`). A short or
//! common name (`jdoe`, `admin`, `intune`, `PC01`), a word of an app's name and a phase word
//! are replaced only where the text states them as a user's or device's name: a profile
//! folder, `DOMAIN\name`, a UPN's local part, `User name: …`, `ComputerName: …`. So a user
//! called "admin" does not wipe the word from every message.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use regex::{Captures, Regex};

use super::diagnose::diagnose_observing;
use super::explain::Phase;
use super::logset::{LogSet, LogSetError};
use super::story::{Diagnosis, Verdict};

/// What a token stands for; its prefix names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    User,
    Upn,
    Device,
    Sid,
    AadUser,
    AadDevice,
    Tenant,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Upn => "upn",
            Kind::Device => "device",
            Kind::Sid => "sid",
            Kind::AadUser => "aad-user",
            Kind::AadDevice => "aad-device",
            Kind::Tenant => "tenant",
        }
    }
}

const GUID: &str = r"[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}";

fn regex(pattern: &str) -> Regex {
    // The patterns are constants of this file, checked by its tests.
    Regex::new(pattern).expect("valid redaction pattern")
}

/// Domain and Entra ID SIDs (`S-1-5-21-…`, `S-1-12-1-…`); well-known SIDs identify no one.
static SID: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)\bS-1-(?:5-21|12-1)(?:-[0-9]{1,10}){3,5}\b"));
/// E-mail addresses and UPNs.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
});
/// A profile folder: `\Users\<name>\` (a name with spaces needs the closing separator).
static PROFILE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?i)([\\/]+Users[\\/]+)(?:([^\\/:*?"<>|\r\n]{1,64})([\\/])|([^\\/:*?"<>|\r\n\s'\]\)]+))"#,
    )
});
/// `user <guid>`, `userId: <guid>`, `"UserId":"<guid>"`, `AadUserId=<guid>` ...
static AAD_USER: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?i)\b(?:user(?:\s*id)?|aaduserid|userobjectid)\W{{0,4}}(?:is\W{{0,3}})?({GUID})"
    ))
});
/// `Device Id is : <guid>`, `"DeviceId":"<guid>"`, `AadDeviceId`, `EntDMID` ...
static AAD_DEVICE: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?i)\b(?:(?:aad|intune|azure\s*ad)?\s*device\s*id|entdmid)\W{{0,4}}(?:is\W{{0,3}})?({GUID})"
    ))
});
/// `Account ID is : <guid>`, `TenantId=<guid>`.
static TENANT: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?i)\b(?:account\s*id|tenant\s*id)\W{{0,4}}(?:is\W{{0,3}})?({GUID})"
    ))
});
/// The IME's telemetry columns: `"Colmetadata":"DeviceId;AccountId;…","Col1":"…",…`.
static COLUMNS: LazyLock<Regex> = LazyLock::new(|| {
    regex(r#""Colmetadata"\s*:\s*"([^"]*)"((?:\s*,\s*"Col[0-9]+"\s*:\s*"[^"]*")*)"#)
});
static COLUMN: LazyLock<Regex> = LazyLock::new(|| regex(r#""Col([0-9]+)"\s*:\s*"([^"]*)""#));
/// `ComputerName: X`, `Device name = X`, `hostname: X`.
static DEVICE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?i)\b(?:computer\s*name|device\s*name|machine\s*name|host\s*name)\s*(?:is\s*)?[:=]\s*["']?([A-Za-z0-9][A-Za-z0-9-]{0,14})\b"#,
    )
});
/// Windows' generated computer names: `DESKTOP-1A2B3C4`, `LAPTOP-…`, Cloud PCs `CPC-…`.
static DEFAULT_DEVICE: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"\b(?:(?:DESKTOP|LAPTOP)-[A-Z0-9]{7}|CPC-[A-Za-z0-9]{3,5}-[A-Za-z0-9]{3,7})\b")
});
/// `User name: DOMAIN\name`, `UserName=name`, `logged on user: name`.
static USER_NAME: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?i)\b(?:user\s*name|logged[- ]on\s+user|account\s*name)\s*(?:is\s*)?[:=]\s*["']?(?:[A-Za-z0-9.-]+\\)?([A-Za-z0-9][A-Za-z0-9._-]{1,63})"#,
    )
});
/// `DOMAIN\name` (a computer account's name ends in `$`);
/// [`Redactor::replace_after_domain`] checks what stands around it.
static DOMAIN_NAME: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"[A-Za-z0-9][A-Za-z0-9.-]{0,14}\\([A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?)\$?")
});
/// `name@` (a UPN's local part that [`EMAIL`] did not take whole: `admin@CONTOSO`).
static LOCAL_PART: LazyLock<Regex> =
    LazyLock::new(|| regex(r"([A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?)@"));

/// The patterns, one bit each, so that a text runs only those whose clue word it holds.
mod need {
    pub const AAD_USER: u16 = 1;
    pub const AAD_DEVICE: u16 = 1 << 1;
    pub const TENANT: u16 = 1 << 2;
    pub const DEVICE_NAME: u16 = 1 << 3;
    pub const DEFAULT_DEVICE: u16 = 1 << 4;
    pub const USER_NAME: u16 = 1 << 5;
    pub const COLUMNS: u16 = 1 << 6;
    pub const PROFILE: u16 = 1 << 7;
    pub const EMAIL: u16 = 1 << 8;
    pub const SID: u16 = 1 << 9;
}

/// A word (any case) that every match of a pattern holds, and the patterns that need it: most
/// log messages hold none and are skipped after one pass over their bytes.
const CLUES: [(&str, u16); 12] = [
    ("user", need::AAD_USER | need::USER_NAME | need::PROFILE),
    ("account", need::TENANT | need::USER_NAME),
    ("device", need::AAD_DEVICE),
    ("entdmid", need::AAD_DEVICE),
    ("tenant", need::TENANT),
    ("name", need::DEVICE_NAME),
    ("desktop-", need::DEFAULT_DEVICE),
    ("laptop-", need::DEFAULT_DEVICE),
    ("cpc-", need::DEFAULT_DEVICE),
    ("colmetadata", need::COLUMNS),
    ("@", need::EMAIL),
    ("s-1-", need::SID),
];

static CLUE_WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .kind(Some(AhoCorasickKind::DFA))
        .build(CLUES.map(|(word, _)| word))
        .expect("valid clue words")
});

/// The patterns `text` may match (a bit of [`need`] each). Matches that do not overlap are
/// enough: where two clue words overlap (`users-1-`, `deviceentdmid`), the second is inside a
/// word, and every pattern needs a word boundary before its clue word.
fn clues(text: &str) -> u16 {
    let mut found = 0;
    for m in CLUE_WORDS.find_iter(text) {
        let need = CLUES[m.pattern().as_usize()].1;
        let word = &text[m.range()];
        // These two patterns ask for one case (not `windowsdesktop-runtime`).
        let wrong_case = match need {
            need::DEFAULT_DEVICE => word.bytes().any(|b| b.is_ascii_lowercase()),
            need::COLUMNS => word != "Colmetadata",
            _ => false,
        };
        if !wrong_case {
            found |= need;
        }
    }
    found
}

/// The learning patterns in the order they hand out tokens, with the kind each finds.
fn learners() -> [(&'static Regex, Kind, u16); 6] {
    [
        (&*AAD_USER, Kind::AadUser, need::AAD_USER),
        (&*AAD_DEVICE, Kind::AadDevice, need::AAD_DEVICE),
        (&*TENANT, Kind::Tenant, need::TENANT),
        (&*DEVICE_NAME, Kind::Device, need::DEVICE_NAME),
        (&*DEFAULT_DEVICE, Kind::Device, need::DEFAULT_DEVICE),
        (&*USER_NAME, Kind::User, need::USER_NAME),
    ]
}

/// Profile folders that belong to no person.
const SHARED_PROFILES: &[&str] = &[
    "default",
    "default user",
    "defaultuser0",
    "defaultapppool",
    "public",
    "all users",
];

/// Values a name field holds when it names no one.
const PLACEHOLDERS: &[&str] = &[
    "unknown",
    "none",
    "null",
    "undefined",
    "empty",
    "true",
    "false",
];

/// Words that are account or computer names on many devices and ordinary words in logs and
/// commands too: a name among them is replaced only where it is stated as a name.
const COMMON_WORDS: &[&str] = &[
    "account",
    "accounts",
    "admin",
    "administrator",
    "administrators",
    "agent",
    "app",
    "apps",
    "application",
    "applications",
    "available",
    "azure",
    "azuread",
    "backup",
    "client",
    "company",
    "compliance",
    "computer",
    "config",
    "content",
    "contoso",
    "default",
    "demo",
    "desktop",
    "detection",
    "dev",
    "developer",
    "device",
    "devices",
    "domain",
    "download",
    "enforcement",
    "everyone",
    "failed",
    "global",
    "guest",
    "helpdesk",
    "install",
    "installer",
    "intune",
    "kiosk",
    "laptop",
    "local",
    "localadmin",
    "machine",
    "manager",
    "microsoft",
    "monitor",
    "network",
    "office",
    "operator",
    "owner",
    "pending",
    "policy",
    "portal",
    "printer",
    "program",
    "public",
    "remote",
    "report",
    "required",
    "scanner",
    "script",
    "server",
    "service",
    "services",
    "session",
    "setup",
    "shared",
    "staff",
    "status",
    "student",
    "success",
    "support",
    "system",
    "teacher",
    "tenant",
    "test",
    "tester",
    "testing",
    "training",
    "uninstall",
    "unknown",
    "update",
    "user",
    "users",
    "windows",
    "workstation",
];

/// The nil GUID, a placeholder and other values that name no one.
fn is_nobody(value: &str) -> bool {
    value.bytes().all(|b| b == b'0' || b == b'-')
        || PLACEHOLDERS.contains(&value.to_lowercase().as_str())
}

/// A common word or a word of a phase's name (`download`, `detection`, `installation`).
fn is_common_word(lower: &str) -> bool {
    let phase_word = |p: Phase| {
        let mut words = p.id().split('-').chain(p.label().split(' '));
        words.any(|w| w == lower)
    };
    COMMON_WORDS.contains(&lower) || Phase::ALL.into_iter().any(phase_word)
}

/// Whether a learned value is distinctive enough to be replaced wherever it stands as a whole
/// word: object ids always; a name when it is no common word and long enough not to be an
/// ordinary one (6 characters, or 5 with a digit, `.`, `-` or `_`).
fn is_distinctive(value: &str, kind: Kind) -> bool {
    if matches!(kind, Kind::AadUser | Kind::AadDevice | Kind::Tenant) {
        return true;
    }
    let marked = value
        .chars()
        .any(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
    let long = value.chars().count() >= if marked { 5 } else { 6 };
    long && value.chars().any(char::is_alphabetic) && !is_common_word(&value.to_lowercase())
}

/// Whether a word character (letter, digit, `_`) is next to a match.
fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// Learns identifiers and replaces them with stable tokens (see the module documentation).
#[derive(Debug, Default)]
pub struct Redactor {
    /// Lower-cased identifier → token.
    tokens: HashMap<String, String>,
    /// How many tokens of each kind were handed out.
    counts: HashMap<Kind, usize>,
    /// Learned names and object ids, in the order learned.
    names: Vec<(String, Kind)>,
    /// Lower-cased user and device names: replaced after `DOMAIN\` and before `@` too.
    stated: HashSet<String>,
    /// Lower-cased words never replaced outside a stated context: app ids, download job ids
    /// and the words of app names.
    protected: HashSet<String>,
    /// The pattern of the names replaced wherever they stand; `None` when it must be built
    /// again, `Some(None)` when there is none.
    everywhere: Option<Option<Regex>>,
}

impl Redactor {
    /// A redactor that knows no identifier yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many distinct identifiers have a token.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether no identifier has been learned.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The token for `value` (`user-1`, ...), handing out the next one on first sight.
    fn token(&mut self, kind: Kind, value: &str) -> String {
        let key = value.to_lowercase();
        if let Some(token) = self.tokens.get(&key) {
            return token.clone();
        }
        let count = self.counts.entry(kind).or_default();
        *count += 1;
        let token = format!("{}-{count}", kind.prefix());
        self.tokens.insert(key, token.clone());
        token
    }

    /// Gives a learned name or object id a token; `None` when it names no one.
    fn learn_name(&mut self, kind: Kind, value: &str) -> Option<String> {
        let value = value.trim();
        if value.is_empty() || is_nobody(value) {
            return None;
        }
        let key = value.to_lowercase();
        let known = self.tokens.contains_key(&key);
        let token = self.token(kind, value);
        if matches!(kind, Kind::User | Kind::Device) {
            self.stated.insert(key);
        }
        if !known {
            self.names.push((value.to_string(), kind));
            self.everywhere = None;
        }
        Some(token)
    }

    /// Learns the identifiers a log message or any text states: the object ids of users,
    /// devices and the tenant in their usual contexts, device and user names, and the
    /// profile folders, UPNs and SIDs (these are also recognised by [`Redactor::redact`]).
    pub fn learn(&mut self, text: &str) {
        let clues = clues(text);
        if clues == 0 {
            return;
        }
        for (pattern, kind, need) in learners() {
            if clues & need == 0 {
                continue;
            }
            for c in pattern.captures_iter(text) {
                if let Some(m) = c.get(c.len() - 1) {
                    self.learn_name(kind, m.as_str());
                }
            }
        }
        if clues & need::COLUMNS != 0 {
            self.learn_columns(text);
        }
        if clues & need::PROFILE != 0 {
            for c in PROFILE.captures_iter(text) {
                if let Some(name) = profile_name(&c) {
                    self.learn_name(Kind::User, name);
                }
            }
        }
        if clues & need::EMAIL != 0 {
            for m in EMAIL.find_iter(text) {
                self.token(Kind::Upn, m.as_str());
            }
        }
        if clues & need::SID != 0 {
            for m in SID.find_iter(text) {
                self.token(Kind::Sid, m.as_str());
            }
        }
    }

    /// The IME's telemetry lines name their columns in `Colmetadata`.
    fn learn_columns(&mut self, text: &str) {
        for c in COLUMNS.captures_iter(text) {
            let names: Vec<&str> = c[1].split(';').map(str::trim).collect();
            for col in COLUMN.captures_iter(&c[2]) {
                let Some(index) = col[1].parse::<usize>().ok().and_then(|i| i.checked_sub(1))
                else {
                    continue;
                };
                let kind = match names.get(index).map(|n| n.to_ascii_lowercase()) {
                    Some(n) if n == "deviceid" => Kind::AadDevice,
                    Some(n) if n == "accountid" || n == "tenantid" => Kind::Tenant,
                    Some(n) if n == "userid" => Kind::AadUser,
                    _ => continue,
                };
                let value = col.get(2).map_or("", |m| m.as_str());
                if value.chars().count() >= 3 {
                    self.learn_name(kind, value);
                }
            }
        }
    }

    /// Diagnoses `set` in one read of the logs, learning from every record as it is read
    /// (also from those the diagnosis leaves out), then redacts the diagnosis
    /// ([`Redactor::redact_diagnosis`]). The redactor can then redact other texts alike.
    pub fn diagnose(&mut self, set: &LogSet) -> Result<Diagnosis, LogSetError> {
        let mut diagnosis = diagnose_observing(set, |record| self.learn(&record.message))?;
        self.redact_diagnosis(&mut diagnosis);
        Ok(diagnosis)
    }

    /// `text` with every identifier replaced by its token; profile folders, UPNs, SIDs and
    /// names stated as a user's or device's not learned before get a new token.
    pub fn redact(&mut self, text: &str) -> String {
        let clues = clues(text);
        let mut text = text.to_string();
        if clues & need::PROFILE != 0 {
            text = self.replace(&PROFILE, &text, |r, c| {
                let name = profile_name(c)?;
                let token = r.token(Kind::User, name);
                let end = c.get(3).map_or("", |m| m.as_str());
                Some(format!("{}{token}{end}", &c[1]))
            });
        }
        if clues & need::EMAIL != 0 {
            text = self.replace(&EMAIL, &text, |r, c| Some(r.token(Kind::Upn, &c[0])));
        }
        if clues & need::SID != 0 {
            text = self.replace(&SID, &text, |r, c| Some(r.token(Kind::Sid, &c[0])));
        }
        if clues & need::USER_NAME != 0 {
            text = self.replace(&USER_NAME, &text, |r, c| r.stated_name(Kind::User, c));
        }
        if clues & need::DEVICE_NAME != 0 {
            text = self.replace(&DEVICE_NAME, &text, |r, c| r.stated_name(Kind::Device, c));
        }
        if !self.stated.is_empty() {
            text = self.replace_after_domain(&text);
        }
        self.replace_everywhere(&text)
    }

    /// The match of a name-stating pattern with the name (its last group) replaced.
    fn stated_name(&mut self, kind: Kind, c: &Captures) -> Option<String> {
        let (whole, name) = (c.get(0)?, c.get(c.len() - 1)?);
        let token = self.learn_name(kind, name.as_str())?;
        let text = whole.as_str();
        let (start, end) = (name.start() - whole.start(), name.end() - whole.start());
        Some(format!("{}{token}{}", &text[..start], &text[end..]))
    }

    /// Known user and device names after `DOMAIN\` (not inside a path) and before `@`.
    fn replace_after_domain(&mut self, text: &str) -> String {
        let mut text = text.to_string();
        if text.contains('\\') {
            let haystack = text.clone();
            text = self.replace(&DOMAIN_NAME, &haystack, |r, c| {
                let (whole, name) = (c.get(0)?, c.get(1)?);
                let before = haystack[..whole.start()].chars().next_back();
                let after = haystack[whole.end()..].chars().next();
                let in_path = before.is_some_and(|b| r"\/.:-".contains(b))
                    || after.is_some_and(|a| a == '\\' || a == '/');
                if is_word(before) || in_path {
                    return None;
                }
                let token = r.stated_token(name.as_str())?;
                let (start, end) = (name.start() - whole.start(), name.end() - whole.start());
                let whole = whole.as_str();
                Some(format!("{}{token}{}", &whole[..start], &whole[end..]))
            });
        }
        if text.contains('@') {
            let haystack = text.clone();
            text = self.replace(&LOCAL_PART, &haystack, |r, c| {
                let name = c.get(1)?;
                let before = haystack[..name.start()].chars().next_back();
                if is_word(before) || before.is_some_and(|b| ".%+-".contains(b)) {
                    return None;
                }
                Some(format!("{}@", r.stated_token(name.as_str())?))
            });
        }
        text
    }

    /// The token of a learned user or device name.
    fn stated_token(&self, name: &str) -> Option<String> {
        let key = name.to_lowercase();
        self.stated
            .contains(&key)
            .then(|| self.tokens.get(&key).cloned())
            .flatten()
    }

    /// The distinctive names and object ids, wherever they stand as a whole word.
    fn replace_everywhere(&mut self, text: &str) -> String {
        if self.everywhere.is_none() {
            let names: Vec<&String> = self
                .names
                .iter()
                .filter(|(name, kind)| {
                    is_distinctive(name, *kind) && !self.protected.contains(&name.to_lowercase())
                })
                .map(|(name, _)| name)
                .collect();
            self.everywhere = Some((!names.is_empty()).then(|| literal_pattern(&names)));
        }
        let Some(Some(pattern)) = &self.everywhere else {
            return text.to_string();
        };
        let pattern = pattern.clone();
        self.replace(&pattern, text, |r, c| {
            r.tokens.get(&c[0].to_lowercase()).cloned()
        })
    }

    /// `text` with each match of `pattern` replaced by what `with` makes of it (`None`: kept).
    fn replace(
        &mut self,
        pattern: &Regex,
        text: &str,
        mut with: impl FnMut(&mut Self, &Captures) -> Option<String>,
    ) -> String {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for c in pattern.captures_iter(text) {
            let whole = c.get(0).map_or(0..0, |m| m.range());
            out.push_str(&text[last..whole.start]);
            match with(self, &c) {
                Some(replacement) => out.push_str(&replacement),
                None => out.push_str(&text[whole.clone()]),
            }
            last = whole.end;
        }
        out.push_str(&text[last..]);
        out
    }

    /// Redacts a whole diagnosis in place: learns from all its texts first, so that an
    /// identifier stated in one place is replaced in all, then replaces (app names and ids
    /// and download job ids are never taken for a name). [`Redactor::diagnose`] calls it
    /// after learning from every log record. Every renderer (summary, story, JSON, HTML) then
    /// shows the same tokens.
    pub fn redact_diagnosis(&mut self, d: &mut Diagnosis) {
        self.protect(d);
        for_each_text(d, &mut |text| self.learn(text));
        for_each_text(d, &mut |text| {
            let redacted = self.redact(text);
            if redacted != *text {
                *text = redacted;
            }
        });
    }

    /// Keeps the app ids, download job ids and the words of app names out of the names
    /// replaced everywhere.
    fn protect(&mut self, d: &Diagnosis) {
        for app in &d.apps {
            self.protected.insert(app.id.to_lowercase());
            let jobs = app.downloads.iter().filter_map(|d| d.job_id.as_deref());
            self.protected.extend(jobs.map(str::to_lowercase));
            if let Some(name) = &app.name {
                let lower = name.to_lowercase();
                let pieces = lower.split_whitespace();
                let words = pieces.chain(lower.split(|c: char| !c.is_alphanumeric()));
                self.protected
                    .extend(words.filter(|w| !w.is_empty()).map(str::to_string));
                self.protected.insert(lower.clone());
            }
        }
        self.everywhere = None;
    }
}

/// The person's folder name of a [`PROFILE`] match, or `None` for a shared profile or a
/// variable (`$env:USERNAME`, `%USERNAME%`).
fn profile_name<'t>(c: &Captures<'t>) -> Option<&'t str> {
    let name = c.get(2).or_else(|| c.get(4))?.as_str();
    let lower = name.trim().to_lowercase();
    let variable = name.starts_with(['$', '%', '{', '<']);
    (!variable && !lower.is_empty() && !SHARED_PROFILES.contains(&lower.as_str()))
        .then_some(name.trim())
}

/// One case-insensitive pattern for every literal, whole words only (longest first, so that
/// a name inside a longer one does not win).
fn literal_pattern(literals: &[&String]) -> Regex {
    let mut sorted = literals.to_vec();
    sorted.sort_by_key(|l| std::cmp::Reverse(l.len()));
    let alternatives: Vec<String> = sorted
        .iter()
        .map(|l| {
            let start = if is_word(l.chars().next()) { r"\b" } else { "" };
            let end = if is_word(l.chars().last()) { r"\b" } else { "" };
            format!("{start}{}{end}", regex::escape(l))
        })
        .collect();
    regex(&format!("(?i)(?:{})", alternatives.join("|")))
}

/// Calls `f` on every text of `d` a renderer may show.
fn for_each_text(d: &mut Diagnosis, f: &mut dyn FnMut(&mut String)) {
    for file in &mut d.files {
        f(&mut file.display);
    }
    for ignored in &mut d.ignored {
        f(&mut ignored.display);
        f(&mut ignored.reason);
    }
    for app in &mut d.apps {
        f(&mut app.id);
        app.name.iter_mut().for_each(&mut *f);
        f(&mut app.verdict_reason);
        app.esp_phase.iter_mut().for_each(&mut *f);
        if let Verdict::Unknown { missing } = &mut app.verdict {
            f(missing);
        }
        if let Some(p) = &mut app.policy {
            p.install_command.iter_mut().for_each(&mut *f);
            p.uninstall_command.iter_mut().for_each(&mut *f);
            p.setup_file.iter_mut().for_each(&mut *f);
            p.detection_rules.iter_mut().for_each(&mut *f);
            p.requirements.iter_mut().for_each(&mut *f);
            p.install_ex.iter_mut().for_each(&mut *f);
            p.dependencies.iter_mut().for_each(&mut *f);
        }
        for step in &mut app.phases {
            f(&mut step.detail);
        }
        for download in &mut app.downloads {
            download.job_id.iter_mut().for_each(&mut *f);
            download.priority.iter_mut().for_each(&mut *f);
        }
        app.retry.grs_time.iter_mut().for_each(&mut *f);
    }
}

#[cfg(test)]
mod tests {
    use super::super::story::AppStory;
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        for pattern in [
            &*SID,
            &*EMAIL,
            &*PROFILE,
            &*AAD_USER,
            &*AAD_DEVICE,
            &*TENANT,
            &*COLUMNS,
            &*COLUMN,
            &*DEVICE_NAME,
            &*DEFAULT_DEVICE,
            &*USER_NAME,
            &*DOMAIN_NAME,
            &*LOCAL_PART,
        ] {
            assert!(!pattern.as_str().is_empty());
        }
    }

    /// Each pattern runs only on texts holding one of its clue words: a text it matches must
    /// hold one.
    #[test]
    fn clue_words_cover_every_pattern() {
        let samples = [
            (
                need::AAD_USER,
                "AADUserId=abe70b00-e88e-4a5e-be37-787882c82fbb",
            ),
            (
                need::AAD_DEVICE,
                "EntDMID: fd7b187b-9e5a-4e69-9d75-8e1926b2c288",
            ),
            (
                need::TENANT,
                "TenantID = bc3e7b7e-4588-4709-860e-f06df9b92ec8",
            ),
            (need::DEVICE_NAME, "HostName=pc1"),
            (need::DEFAULT_DEVICE, "LAPTOP-1A2B3C4"),
            (
                need::USER_NAME,
                "Logged on user: jdoe and account name = x1",
            ),
            (need::COLUMNS, r#""Colmetadata":"DeviceId","Col1":"x""#),
            (need::PROFILE, r"c:\USERS\jdoe\x"),
            (need::EMAIL, "a@b.org"),
            (need::SID, "s-1-5-21-1-2-3-4"),
        ];
        for (need, sample) in samples {
            assert!(clues(sample) & need != 0, "{sample}");
        }
        assert_eq!(clues("[Win32App] lpExitCode 1603"), 0);
    }

    /// A user `admin` and a device `intune`: replaced where stated as names (profile folder,
    /// `DOMAIN\name`, a UPN's local part, the name fields), kept as ordinary words and inside
    /// a path; a short name (`jdoe`) likewise, a long distinctive one (`jsmith`) everywhere.
    #[test]
    fn common_and_short_names_only_where_stated() {
        let mut r = Redactor::new();
        r.learn(r"ComputerName: intune, User name: CONTOSO\admin");
        r.learn(r"Copied to C:\Users\jdoe\AppData and C:\Users\jsmith\Desktop");
        let text = r"The admin opened the Intune portal as CONTOSO\ADMIN on host intune: C:\Users\Admin\x, admin@CONTOSO, Device name = intune, jdoe and JSmith, Tools\admin\y, CONTOSO\jdoe.";
        assert_eq!(
            r.redact(text),
            r"The admin opened the Intune portal as CONTOSO\user-1 on host intune: C:\Users\user-1\x, user-1@CONTOSO, Device name = device-1, jdoe and user-3, Tools\admin\y, CONTOSO\user-2."
        );
        // Where a name is stated, any name is replaced, a short one too.
        assert_eq!(r.redact("logged on user: jd"), "logged on user: user-4");
        assert_eq!(r.redact("Device name: Unknown"), "Device name: Unknown");
    }

    fn app(id: &str, name: &str, reason: &str) -> AppStory {
        AppStory {
            id: id.into(),
            name: Some(name.into()),
            intent: None,
            policy: None,
            verdict: Verdict::Unknown {
                missing: String::new(),
            },
            verdict_at: None,
            verdict_reason: reason.into(),
            phases: Vec::new(),
            error_history: Vec::new(),
            downloads: Vec::new(),
            retry: Default::default(),
            esp_phase: None,
            seen: Default::default(),
            relations: Vec::new(),
            processing_order: Vec::new(),
            processed_at: None,
            blocked_by: Vec::new(),
        }
    }

    /// A name that is a word of an app's name or a phase word, or an id that is an app's, is
    /// never replaced outside a stated context, however long.
    #[test]
    fn app_names_ids_and_phase_words_kept() {
        const APP: &str = "5e432f47-4739-4df5-b8a4-d5b4cbb41daf";
        let mut r = Redactor::new();
        r.learn(r"User name: CONTOSO\snagit, ComputerName: download, logged on user: jsmith");
        r.learn(&format!("userId: {APP}"));
        let reason = format!(r"Snagit {APP} for jsmith; download done for CONTOSO\snagit");
        let mut d = Diagnosis {
            apps: vec![app(APP, "Snagit 2025", &reason)],
            ..Default::default()
        };
        r.redact_diagnosis(&mut d);
        assert_eq!(d.apps[0].name.as_deref(), Some("Snagit 2025"));
        assert_eq!(d.apps[0].id, APP);
        assert_eq!(
            d.apps[0].verdict_reason,
            format!(r"Snagit {APP} for user-2; download done for CONTOSO\user-1")
        );
        assert_eq!(r.redact("ComputerName: download"), "ComputerName: device-1");
    }

    #[test]
    fn same_identifier_same_token_names_without_case() {
        let mut r = Redactor::new();
        r.learn("ComputerName: DESKTOP-AB12CD3, User name: CONTOSO\\jdoe");
        let out = r.redact(
            r"C:\Users\JDoe\AppData\x.log on desktop-ab12cd3 by jdoe@contoso.com, SID S-1-5-21-1-2-3-1001",
        );
        assert_eq!(
            out,
            r"C:\Users\user-1\AppData\x.log on device-1 by upn-1, SID sid-1"
        );
        assert_eq!(
            r.redact(r"CONTOSO\JDOE and jdoe@contoso.com"),
            r"CONTOSO\user-1 and upn-1"
        );
    }

    #[test]
    fn object_ids_in_context_only() {
        let mut r = Redactor::new();
        let line = r#"Got 3 Win32App(s) for user abe70b00-e88e-4a5e-be37-787882c82fbb, app 05d1ca79-1a9f-4d94-b9a2-6e8b279c5701, "DeviceId":"fd7b187b-9e5a-4e69-9d75-8e1926b2c288", Account ID is : bc3e7b7e-4588-4709-860e-f06df9b92ec8, user 00000000-0000-0000-0000-000000000000"#;
        r.learn(line);
        assert_eq!(
            r.redact(line),
            r#"Got 3 Win32App(s) for user aad-user-1, app 05d1ca79-1a9f-4d94-b9a2-6e8b279c5701, "DeviceId":"aad-device-1", Account ID is : tenant-1, user 00000000-0000-0000-0000-000000000000"#
        );
        assert_eq!(
            r.redact("ABE70B00-E88E-4A5E-BE37-787882C82FBB"),
            "aad-user-1"
        );
    }

    #[test]
    fn telemetry_columns_and_shared_profiles() {
        let mut r = Redactor::new();
        r.learn(r#"{"Colmetadata":"DeviceId;AccountId;ScaleUnit;","Col1":"8f8a7be1-3260-4db6-8e32-627877188563","Col2":"bc3e7b7e-4588-4709-860e-f06df9b92ec8","Col3":"msud01"}"#);
        assert_eq!(
            r.redact(
                "8f8a7be1-3260-4db6-8e32-627877188563 bc3e7b7e-4588-4709-860e-f06df9b92ec8 msud01"
            ),
            "aad-device-1 tenant-1 msud01"
        );
        let shared = r"C:\Users\Default\x C:\Users\Public\y C:\Users\$($User.Name)\z S-1-5-18";
        assert_eq!(r.redact(shared), shared);
        assert_eq!(
            r.redact(r"C:\Users\Jane Doe\Desktop and C:\Users\jane"),
            r"C:\Users\user-1\Desktop and C:\Users\user-2"
        );
    }
}
