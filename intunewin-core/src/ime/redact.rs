//! Redaction of what identifies a person or a device in what `diagnose` reports, so that a
//! diagnosis can be shared: user names, UPNs and e-mail addresses, device names, SIDs, user
//! profile paths and the Entra ID (AAD) object ids of users, devices and the tenant.
//!
//! A [`Redactor`] first learns the identifiers (from the logs and from the texts it is given),
//! then replaces each with a token such as `user-1`, `device-1` or `sid-1`: the same identifier
//! always becomes the same token within one redactor, names compared without case. App ids,
//! policy ids and download job ids are left alone: the diagnosis needs them.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::diagnose::{Diagnosis, Verdict};
use super::logset::{LogSet, LogSetError};

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

/// A word every learning pattern needs: most log messages have none and are skipped at once.
static ANY_CLUE: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)user|device|account|tenant|name|entdmid|S-1-|@|desktop-|laptop-|cpc-")
});

/// Profile folders that belong to no person.
const SHARED_PROFILES: &[&str] = &[
    "default",
    "default user",
    "defaultuser0",
    "defaultapppool",
    "public",
    "all users",
];

/// The nil GUID and other values that name no one.
fn is_nobody(value: &str) -> bool {
    value.bytes().all(|b| b == b'0' || b == b'-')
}

/// Learns identifiers and replaces them with stable tokens (see the module documentation).
#[derive(Debug, Default)]
pub struct Redactor {
    /// Lower-cased identifier → token.
    tokens: HashMap<String, String>,
    /// How many tokens of each kind were handed out.
    counts: HashMap<Kind, usize>,
    /// Identifiers replaced wherever they appear as a whole word (names and object ids), in
    /// the order learned.
    literals: Vec<String>,
    /// The pattern of `literals`, rebuilt when one is added.
    literal_pattern: Option<Regex>,
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

    /// Gives `value` a token and replaces it wherever it appears as a whole word.
    fn learn_literal(&mut self, kind: Kind, value: &str) {
        let value = value.trim();
        if value.chars().count() < 3 || is_nobody(value) {
            return;
        }
        let known = self.tokens.contains_key(&value.to_lowercase());
        self.token(kind, value);
        if !known {
            self.literals.push(value.to_string());
            self.literal_pattern = None;
        }
    }

    /// Learns the identifiers a log message or any text states: the object ids of users,
    /// devices and the tenant in their usual contexts, device and user names, and the
    /// profile folders, UPNs and SIDs (these are also recognised by [`Redactor::redact`]).
    pub fn learn(&mut self, text: &str) {
        if !ANY_CLUE.is_match(text) {
            return;
        }
        for (pattern, kind) in [
            (&*AAD_USER, Kind::AadUser),
            (&*AAD_DEVICE, Kind::AadDevice),
            (&*TENANT, Kind::Tenant),
            (&*DEVICE_NAME, Kind::Device),
            (&*DEFAULT_DEVICE, Kind::Device),
            (&*USER_NAME, Kind::User),
        ] {
            let found: Vec<String> = pattern
                .captures_iter(text)
                .filter_map(|c| c.get(c.len() - 1).map(|m| m.as_str().to_string()))
                .collect();
            for value in found {
                self.learn_literal(kind, &value);
            }
        }
        self.learn_columns(text);
        for c in PROFILE.captures_iter(text) {
            if let Some(name) = profile_name(&c) {
                self.learn_literal(Kind::User, name);
            }
        }
        for m in EMAIL.find_iter(text) {
            self.token(Kind::Upn, m.as_str());
        }
        for m in SID.find_iter(text) {
            self.token(Kind::Sid, m.as_str());
        }
    }

    /// The IME's telemetry lines name their columns in `Colmetadata`.
    fn learn_columns(&mut self, text: &str) {
        let mut found = Vec::new();
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
                found.push((kind, col[2].to_string()));
            }
        }
        for (kind, value) in found {
            self.learn_literal(kind, &value);
        }
    }

    /// Learns from every record of `set` (the message of each).
    pub fn learn_from_logs(&mut self, set: &LogSet) -> Result<(), LogSetError> {
        set.read_records(|_, record| self.learn(&record.message))?;
        Ok(())
    }

    /// `text` with every identifier replaced by its token; profile folders, UPNs and SIDs not
    /// learned before get a new token.
    pub fn redact(&mut self, text: &str) -> String {
        let text = self.replace(&PROFILE, text, |r, c| {
            let Some(name) = profile_name(c) else {
                return c[0].to_string();
            };
            let token = r.token(Kind::User, name);
            let end = c.get(3).map_or("", |m| m.as_str());
            format!("{}{token}{end}", &c[1])
        });
        let text = self.replace(&EMAIL, &text, |r, c| r.token(Kind::Upn, &c[0]));
        let text = self.replace(&SID, &text, |r, c| r.token(Kind::Sid, &c[0]));
        if self.literals.is_empty() {
            return text;
        }
        let pattern = self
            .literal_pattern
            .get_or_insert_with(|| literal_pattern(&self.literals))
            .clone();
        self.replace(&pattern, &text, |r, c| {
            r.tokens
                .get(&c[0].to_lowercase())
                .cloned()
                .unwrap_or_else(|| c[0].to_string())
        })
    }

    fn replace(
        &mut self,
        pattern: &Regex,
        text: &str,
        mut with: impl FnMut(&mut Self, &Captures) -> String,
    ) -> String {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for c in pattern.captures_iter(text) {
            let whole = c.get(0).map_or(0..0, |m| m.range());
            out.push_str(&text[last..whole.start]);
            out.push_str(&with(self, &c));
            last = whole.end;
        }
        out.push_str(&text[last..]);
        out
    }

    /// Redacts a whole diagnosis in place: learns from all its texts first, so that an
    /// identifier stated in one place is replaced in all, then replaces. Call
    /// [`Redactor::learn_from_logs`] before to learn what the logs state beyond the diagnosis.
    /// Every renderer (summary, story, JSON, HTML) then shows the same tokens.
    pub fn redact_diagnosis(&mut self, d: &mut Diagnosis) {
        for_each_text(d, &mut |text| self.learn(text));
        for_each_text(d, &mut |text| {
            let redacted = self.redact(text);
            if redacted != *text {
                *text = redacted;
            }
        });
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
fn literal_pattern(literals: &[String]) -> Regex {
    let mut sorted: Vec<&String> = literals.iter().collect();
    sorted.sort_by_key(|l| std::cmp::Reverse(l.len()));
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let alternatives: Vec<String> = sorted
        .iter()
        .map(|l| {
            let start = if word(l.chars().next()) { r"\b" } else { "" };
            let end = if word(l.chars().last()) { r"\b" } else { "" };
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
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        for pattern in [
            &*ANY_CLUE,
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
        ] {
            assert!(!pattern.as_str().is_empty());
        }
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
        assert_eq!(r.redact("JDOE and jdoe@contoso.com"), "user-1 and upn-1");
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
