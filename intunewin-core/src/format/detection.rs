//! Detection.xml: the package metadata (FORMAT.md §4).
//!
//! [`Detection::to_xml`] writes the byte-exact layout of IntuneWinAppUtil 1.8.7 (no BOM, no
//! declaration, CRLF, two-space indent, no final newline). [`Detection::parse`] is tolerant of
//! what other producers and older tool versions write (FORMAT.md §6.2) but strict about the
//! values that matter: base64 lengths, `ProfileVersion1`, `SHA256`, required elements.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use quick_xml::events::Event;
use zeroize::Zeroize;

use crate::error::{Error, Result};

/// The ToolVersion this project writes by default.
pub const DEFAULT_TOOL_VERSION: &str = "1.8.7.0";
/// `FileName` (content entry name) written by tool 1.7 and later.
pub const CONTENT_FILE_NAME: &str = "IntunePackage.intunewin";
/// The only profile Intune supports.
pub const PROFILE_IDENTIFIER: &str = "ProfileVersion1";
/// The only digest algorithm Intune supports.
pub const FILE_DIGEST_ALGORITHM: &str = "SHA256";
/// Largest Detection.xml accepted by the reader (real ones are under 4 KiB).
pub const MAX_DETECTION_XML_LEN: usize = 64 * 1024;
/// Largest compressed size a Detection.xml entry may declare: [`MAX_DETECTION_XML_LEN`] plus
/// what deflate adds to incompressible data (5 bytes per 64 KiB stored block), with room to
/// spare. Checked before a byte of the entry is read (FORMAT.md §6.2: a bounded size).
pub const MAX_DETECTION_XML_STORED_LEN: u64 = MAX_DETECTION_XML_LEN as u64 + 1024;

const ROOT_START: &str = "<ApplicationInfo xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ToolVersion=\"";

/// Everything Detection.xml records about a package.
#[derive(Clone, PartialEq, Eq)]
pub struct Detection {
    /// `ToolVersion` attribute, e.g. `1.8.7.0`.
    pub tool_version: String,
    /// `Name`: the setup file for non-MSI setups, the MSI ProductName otherwise.
    pub name: String,
    /// `UnencryptedContentSize`: length of the inner zip in bytes.
    pub unencrypted_content_size: u64,
    /// `FileName`: the content entry's name under `IntuneWinPackage/Contents/`.
    pub file_name: String,
    /// `SetupFile`: the setup file's path relative to the source folder.
    pub setup_file: String,
    /// `EncryptionInfo`: keys, IV, MAC and digest.
    pub encryption: EncryptionInfo,
    /// `MsiInfo`, present for `.msi` setup files.
    pub msi_info: Option<MsiInfo>,
}

/// The `EncryptionInfo` block. Key material is wiped from memory on drop and redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionInfo {
    /// AES-256 key.
    pub encryption_key: [u8; 32],
    /// HMAC-SHA256 key.
    pub mac_key: [u8; 32],
    /// AES-CBC initialisation vector.
    pub iv: [u8; 16],
    /// HMAC-SHA256 over IV‖ciphertext.
    pub mac: [u8; 32],
    /// SHA-256 of the inner zip.
    pub file_digest: [u8; 32],
}

impl EncryptionInfo {
    /// The only `ProfileIdentifier` Intune supports: `ProfileVersion1`.
    pub const PROFILE_IDENTIFIER: &str = PROFILE_IDENTIFIER;
    /// The only `FileDigestAlgorithm` Intune supports: `SHA256`.
    pub const FILE_DIGEST_ALGORITHM: &str = FILE_DIGEST_ALGORITHM;
}

impl Drop for EncryptionInfo {
    fn drop(&mut self) {
        self.encryption_key.zeroize();
        self.mac_key.zeroize();
    }
}

impl fmt::Debug for EncryptionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionInfo")
            .field("encryption_key", &"<redacted>")
            .field("mac_key", &"<redacted>")
            .field("iv", &BASE64.encode(self.iv))
            .field("mac", &BASE64.encode(self.mac))
            .field("file_digest", &BASE64.encode(self.file_digest))
            .finish()
    }
}

impl fmt::Debug for Detection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Detection")
            .field("tool_version", &self.tool_version)
            .field("name", &self.name)
            .field("unencrypted_content_size", &self.unencrypted_content_size)
            .field("file_name", &self.file_name)
            .field("setup_file", &self.setup_file)
            .field("encryption", &self.encryption)
            .field("msi_info", &self.msi_info)
            .finish()
    }
}

/// The `MsiInfo` block (FORMAT.md §8.2). Absent values are omitted when written. Serialised
/// with camelCase names (`productCode`, ...; absent values as null), as `info --json` prints it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MsiInfo {
    /// `MsiProductCode`.
    pub product_code: Option<String>,
    /// `MsiProductVersion`.
    pub product_version: Option<String>,
    /// `MsiPackageCode`.
    pub package_code: Option<String>,
    /// `MsiUpgradeCode`.
    pub upgrade_code: Option<String>,
    /// `MsiExecutionContext`: `User`, `System` or `Any`.
    pub execution_context: Option<String>,
    /// `MsiRequiresLogon`.
    pub requires_logon: Option<bool>,
    /// `MsiRequiresReboot`.
    pub requires_reboot: Option<bool>,
    /// `MsiIsMachineInstall`.
    pub is_machine_install: Option<bool>,
    /// `MsiIsUserInstall`.
    pub is_user_install: Option<bool>,
    /// `MsiIncludesServices`.
    pub includes_services: Option<bool>,
    /// `MsiIncludesODBCDataSource`.
    #[serde(rename = "includesODBCDataSource")]
    pub includes_odbc_data_source: Option<bool>,
    /// `MsiContainsSystemRegistryKeys`.
    pub contains_system_registry_keys: Option<bool>,
    /// `MsiContainsSystemFolders`.
    pub contains_system_folders: Option<bool>,
    /// `MsiPublisher`.
    pub publisher: Option<String>,
}

impl MsiInfo {
    /// The present children, in the tool's order (FORMAT.md §8.2): element name and text.
    pub fn elements(&self) -> Vec<(&'static str, String)> {
        let b = |v: Option<bool>| v.map(|b| if b { "true" } else { "false" }.to_string());
        [
            ("MsiProductCode", self.product_code.clone()),
            ("MsiProductVersion", self.product_version.clone()),
            ("MsiPackageCode", self.package_code.clone()),
            ("MsiUpgradeCode", self.upgrade_code.clone()),
            ("MsiExecutionContext", self.execution_context.clone()),
            ("MsiRequiresLogon", b(self.requires_logon)),
            ("MsiRequiresReboot", b(self.requires_reboot)),
            ("MsiIsMachineInstall", b(self.is_machine_install)),
            ("MsiIsUserInstall", b(self.is_user_install)),
            ("MsiIncludesServices", b(self.includes_services)),
            (
                "MsiIncludesODBCDataSource",
                b(self.includes_odbc_data_source),
            ),
            (
                "MsiContainsSystemRegistryKeys",
                b(self.contains_system_registry_keys),
            ),
            ("MsiContainsSystemFolders", b(self.contains_system_folders)),
            ("MsiPublisher", self.publisher.clone()),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect()
    }

    /// Sets one child by element name; returns false for an unknown name or a bad boolean.
    fn set(&mut self, name: &str, value: String) -> bool {
        let boolean = || parse_bool(&value);
        match name {
            "MsiProductCode" => self.product_code = Some(value),
            "MsiProductVersion" => self.product_version = Some(value),
            "MsiPackageCode" => self.package_code = Some(value),
            "MsiUpgradeCode" => self.upgrade_code = Some(value),
            "MsiExecutionContext" => self.execution_context = Some(value),
            "MsiPublisher" => self.publisher = Some(value),
            _ => {
                let Some(flag) = boolean() else {
                    return !is_msi_bool(name);
                };
                match name {
                    "MsiRequiresLogon" => self.requires_logon = Some(flag),
                    "MsiRequiresReboot" => self.requires_reboot = Some(flag),
                    "MsiIsMachineInstall" => self.is_machine_install = Some(flag),
                    "MsiIsUserInstall" => self.is_user_install = Some(flag),
                    "MsiIncludesServices" => self.includes_services = Some(flag),
                    "MsiIncludesODBCDataSource" => self.includes_odbc_data_source = Some(flag),
                    "MsiContainsSystemRegistryKeys" => {
                        self.contains_system_registry_keys = Some(flag)
                    }
                    "MsiContainsSystemFolders" => self.contains_system_folders = Some(flag),
                    _ => {} // unknown element: tolerated (FORMAT.md §6.2)
                }
            }
        }
        true
    }
}

fn is_msi_bool(name: &str) -> bool {
    matches!(
        name,
        "MsiRequiresLogon"
            | "MsiRequiresReboot"
            | "MsiIsMachineInstall"
            | "MsiIsUserInstall"
            | "MsiIncludesServices"
            | "MsiIncludesODBCDataSource"
            | "MsiContainsSystemRegistryKeys"
            | "MsiContainsSystemFolders"
    )
}

fn parse_bool(value: &str) -> Option<bool> {
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// The encrypted blob's length for an inner zip of `n` bytes (FORMAT.md §3.2).
pub fn blob_len_for(n: u64) -> u64 {
    48 + 16 * (n / 16 + 1)
}

impl Detection {
    /// The `ToolVersion` this project writes by default: `1.8.7.0`, the IntuneWinAppUtil
    /// release whose output it reproduces.
    pub const DEFAULT_TOOL_VERSION: &str = DEFAULT_TOOL_VERSION;

    /// Serialises in IntuneWinAppUtil 1.8.7's exact layout (FORMAT.md §4.1).
    ///
    /// Fails when a value holds a character XML 1.0 cannot carry.
    pub fn to_xml(&self) -> Result<String> {
        let mut w = XmlLines::default();
        w.raw(
            0,
            &format!(
                "{ROOT_START}{}\">",
                escape(&self.tool_version, "ToolVersion")?
            ),
        );
        w.leaf(2, "Name", &self.name)?;
        w.leaf(
            2,
            "UnencryptedContentSize",
            &self.unencrypted_content_size.to_string(),
        )?;
        w.leaf(2, "FileName", &self.file_name)?;
        w.leaf(2, "SetupFile", &self.setup_file)?;
        w.raw(2, "<EncryptionInfo>");
        let e = &self.encryption;
        w.leaf(4, "EncryptionKey", &BASE64.encode(e.encryption_key))?;
        w.leaf(4, "MacKey", &BASE64.encode(e.mac_key))?;
        w.leaf(4, "InitializationVector", &BASE64.encode(e.iv))?;
        w.leaf(4, "Mac", &BASE64.encode(e.mac))?;
        w.leaf(4, "ProfileIdentifier", PROFILE_IDENTIFIER)?;
        w.leaf(4, "FileDigest", &BASE64.encode(e.file_digest))?;
        w.leaf(4, "FileDigestAlgorithm", FILE_DIGEST_ALGORITHM)?;
        w.raw(2, "</EncryptionInfo>");
        if let Some(msi) = &self.msi_info {
            w.raw(2, "<MsiInfo>");
            for (name, value) in msi.elements() {
                w.leaf(4, name, &value)?;
            }
            w.raw(2, "</MsiInfo>");
        }
        w.raw(0, "</ApplicationInfo>");
        Ok(w.lines.join("\r\n"))
    }

    /// Parses Detection.xml tolerantly (FORMAT.md §6.2). `origin` names the file in errors.
    pub fn parse(bytes: &[u8], origin: &Path) -> Result<Detection> {
        let fail = |reason: String| Error::Detection {
            path: origin.to_path_buf(),
            reason,
        };
        if bytes.len() > MAX_DETECTION_XML_LEN {
            return Err(fail(format!(
                "{} bytes, over the {MAX_DETECTION_XML_LEN}-byte limit",
                bytes.len()
            )));
        }
        let raw = parse_fields(bytes).map_err(fail)?;
        raw.into_detection().map_err(fail)
    }
}

/// Builds the CRLF-separated lines of the written form.
#[derive(Default)]
struct XmlLines {
    lines: Vec<String>,
}

impl XmlLines {
    fn raw(&mut self, indent: usize, text: &str) {
        self.lines.push(format!("{:indent$}{text}", ""));
    }

    fn leaf(&mut self, indent: usize, name: &str, value: &str) -> Result<()> {
        let text = escape(value, name)?;
        self.raw(indent, &format!("<{name}>{text}</{name}>"));
        Ok(())
    }
}

/// Escapes text as .NET's XmlWriter does (FORMAT.md §4.4); refuses characters XML 1.0 forbids.
fn escape(value: &str, what: &str) -> Result<String> {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' => out.push_str("\r\n"),
            '\t' => out.push('\t'),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                return Err(Error::InvalidXmlValue {
                    what: what.to_string(),
                    path: what.into(),
                });
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Values read from the XML before validation.
#[derive(Default)]
struct RawFields {
    tool_version: Option<String>,
    name: Option<String>,
    size: Option<String>,
    file_name: Option<String>,
    setup_file: Option<String>,
    encryption_key: Option<String>,
    mac_key: Option<String>,
    iv: Option<String>,
    mac: Option<String>,
    profile: Option<String>,
    digest: Option<String>,
    digest_algorithm: Option<String>,
    msi: Option<MsiInfo>,
}

fn parse_fields(bytes: &[u8]) -> std::result::Result<RawFields, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut fields = RawFields::default();
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(start) => {
                let name = start.local_name().as_ref().to_string();
                if stack.is_empty() {
                    if name != "ApplicationInfo" {
                        return Err(format!("root element is <{name}>, not <ApplicationInfo>"));
                    }
                    fields.tool_version = tool_version_attr(&start)?;
                }
                if stack.len() == 1 && name == "MsiInfo" {
                    fields.msi = Some(MsiInfo::default());
                }
                stack.push(name);
                text.clear();
                if stack.len() > 8 {
                    return Err("elements nested too deeply".into());
                }
            }
            Event::Empty(empty) => {
                let name = empty.local_name().as_ref().to_string();
                if stack.is_empty() {
                    return Err("the root element is empty".into());
                }
                stack.push(name);
                fields.store(&stack, String::new())?;
                stack.pop();
            }
            Event::Text(t) => {
                text.push_str(&t.xml10_content());
            }
            Event::GeneralRef(r) => {
                text.push_str(&resolve_entity(&r)?);
            }
            Event::CData(c) => text.push_str(&c.xml10_content()),
            Event::End(_) => {
                if !stack.is_empty() {
                    fields.store(&stack, std::mem::take(&mut text))?;
                    stack.pop();
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if fields.tool_version.is_none() && fields.name.is_none() {
        return Err("no <ApplicationInfo> element".into());
    }
    Ok(fields)
}

fn resolve_entity(r: &quick_xml::events::BytesRef<'_>) -> std::result::Result<String, String> {
    let name: &str = r.as_ref();
    if let Ok(Some(ch)) = r.resolve_char_ref() {
        return Ok(ch.to_string());
    }
    quick_xml::escape::resolve_xml_entity(name)
        .map(str::to_string)
        .ok_or_else(|| format!("unknown entity &{name};"))
}

fn tool_version_attr(
    start: &quick_xml::events::BytesStart<'_>,
) -> std::result::Result<Option<String>, String> {
    for attr in start.attributes() {
        let attr = attr.map_err(|e| format!("bad attribute: {e}"))?;
        if attr.key.local_name().as_ref() == "ToolVersion" {
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| format!("bad ToolVersion: {e}"))?;
            return Ok(Some(value.trim().to_string()));
        }
    }
    Ok(None)
}

impl RawFields {
    fn store(&mut self, stack: &[String], value: String) -> std::result::Result<(), String> {
        let value = value.trim().to_string();
        let names: Vec<&str> = stack.iter().map(String::as_str).collect();
        match names.as_slice() {
            ["ApplicationInfo", leaf] => {
                let slot = match *leaf {
                    "Name" => &mut self.name,
                    "UnencryptedContentSize" => &mut self.size,
                    "FileName" => &mut self.file_name,
                    "SetupFile" => &mut self.setup_file,
                    _ => return Ok(()),
                };
                *slot = Some(value);
            }
            ["ApplicationInfo", "EncryptionInfo", leaf] => {
                let slot = match *leaf {
                    "EncryptionKey" => &mut self.encryption_key,
                    "MacKey" => &mut self.mac_key,
                    "InitializationVector" => &mut self.iv,
                    "Mac" => &mut self.mac,
                    "ProfileIdentifier" => &mut self.profile,
                    "FileDigest" => &mut self.digest,
                    "FileDigestAlgorithm" => &mut self.digest_algorithm,
                    _ => return Ok(()),
                };
                *slot = Some(value);
            }
            ["ApplicationInfo", "MsiInfo", leaf] => {
                if let Some(msi) = self.msi.as_mut()
                    && !msi.set(leaf, value.clone())
                {
                    return Err(format!("<{leaf}> is '{value}', not true or false"));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn into_detection(self) -> std::result::Result<Detection, String> {
        let need = |v: Option<String>, name: &str| v.ok_or_else(|| format!("<{name}> is missing"));
        let profile = need(self.profile, "ProfileIdentifier")?;
        if profile != PROFILE_IDENTIFIER {
            return Err(format!(
                "ProfileIdentifier is '{profile}', not {PROFILE_IDENTIFIER}"
            ));
        }
        let algorithm = need(self.digest_algorithm, "FileDigestAlgorithm")?;
        if algorithm != FILE_DIGEST_ALGORITHM {
            return Err(format!(
                "FileDigestAlgorithm is '{algorithm}', not {FILE_DIGEST_ALGORITHM}"
            ));
        }
        let size_text = need(self.size, "UnencryptedContentSize")?;
        let size = parse_size(&size_text)
            .ok_or_else(|| format!("UnencryptedContentSize '{size_text}' is not a byte count"))?;
        let encryption = EncryptionInfo {
            encryption_key: decode_fixed(
                need(self.encryption_key, "EncryptionKey")?,
                "EncryptionKey",
            )?,
            mac_key: decode_fixed(need(self.mac_key, "MacKey")?, "MacKey")?,
            iv: decode_fixed(
                need(self.iv, "InitializationVector")?,
                "InitializationVector",
            )?,
            mac: decode_fixed(need(self.mac, "Mac")?, "Mac")?,
            file_digest: decode_fixed(need(self.digest, "FileDigest")?, "FileDigest")?,
        };
        Ok(Detection {
            tool_version: self.tool_version.unwrap_or_default(),
            name: self.name.unwrap_or_default(),
            unencrypted_content_size: size,
            file_name: need(self.file_name, "FileName")?,
            setup_file: need(self.setup_file, "SetupFile")?,
            encryption,
            msi_info: self.msi,
        })
    }
}

fn parse_size(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Decodes padded standard base64 to exactly `N` bytes (FORMAT.md §3.3).
fn decode_fixed<const N: usize>(text: String, name: &str) -> std::result::Result<[u8; N], String> {
    let bytes = BASE64
        .decode(text.as_bytes())
        .map_err(|e| format!("<{name}> is not valid base64 ({e})"))?;
    <[u8; N]>::try_from(bytes.as_slice())
        .map_err(|_| format!("<{name}> decodes to {} bytes, not {N}", bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Detection {
        Detection {
            tool_version: "1.4.0.0".into(),
            name: "file.txt".into(),
            unencrypted_content_size: 3078,
            file_name: CONTENT_FILE_NAME.into(),
            setup_file: "file.txt".into(),
            encryption: EncryptionInfo {
                encryption_key: [1; 32],
                mac_key: [2; 32],
                iv: [3; 16],
                mac: [4; 32],
                file_digest: [5; 32],
            },
            msi_info: None,
        }
    }

    #[test]
    fn written_length_follows_format_formula() {
        // FORMAT.md §4.1: len = 795 + Name + SetupFile + FileName + digits(n).
        let xml = sample().to_xml().unwrap();
        assert_eq!(xml.len(), 795 + 8 + 8 + 23 + 4);
        assert!(xml.starts_with("<ApplicationInfo xmlns:xsd="));
        assert!(xml.ends_with("\r\n</ApplicationInfo>"));
        assert_eq!(xml.matches("\r\n").count(), 14);
        assert!(!xml.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn parse_round_trips() {
        let d = sample();
        let xml = d.to_xml().unwrap();
        assert_eq!(Detection::parse(xml.as_bytes(), Path::new("x")).unwrap(), d);
    }

    #[test]
    fn parse_tolerates_bom_declaration_lf_and_namespace_order() {
        let xml = sample().to_xml().unwrap().replace("\r\n", "\n").replace(
            "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"",
            "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"",
        );
        let text = format!("\u{FEFF}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n{xml}");
        let parsed = Detection::parse(text.as_bytes(), Path::new("x")).unwrap();
        assert_eq!(parsed, sample());
    }

    #[test]
    fn escapes_markup_and_refuses_controls() {
        let mut d = sample();
        d.name = "a&b<c>\"".into();
        let xml = d.to_xml().unwrap();
        assert!(xml.contains("<Name>a&amp;b&lt;c&gt;\"</Name>"));
        assert_eq!(
            Detection::parse(xml.as_bytes(), Path::new("x"))
                .unwrap()
                .name,
            d.name
        );
        d.name = "bad\u{1}".into();
        assert!(matches!(d.to_xml(), Err(Error::InvalidXmlValue { .. })));
    }

    #[test]
    fn rejects_wrong_key_length_and_profile() {
        let xml = sample().to_xml().unwrap();
        let short = xml.replace(&BASE64.encode([3u8; 16]), &BASE64.encode([3u8; 15]));
        assert!(matches!(
            Detection::parse(short.as_bytes(), Path::new("x")),
            Err(Error::Detection { .. })
        ));
        let profile = xml.replace(PROFILE_IDENTIFIER, "ProfileVersion2");
        assert!(Detection::parse(profile.as_bytes(), Path::new("x")).is_err());
        let unpadded = xml.replace(
            &BASE64.encode([3u8; 16]),
            BASE64.encode([3u8; 16]).trim_end_matches('='),
        );
        assert!(Detection::parse(unpadded.as_bytes(), Path::new("x")).is_err());
    }

    #[test]
    fn blob_len_matches_format() {
        assert_eq!(blob_len_for(0), 64);
        assert_eq!(blob_len_for(3078), 3136);
        assert_eq!(blob_len_for(1232), 1296);
    }
}
