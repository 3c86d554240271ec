//! Keys for content the Intune Management Extension (IME) downloaded (FORMAT.md §11).
//!
//! [`ImeLog::read`] finds the content-info responses in `IntuneManagementExtension.log`: each
//! app's id, version, download URL and `DecryptInfo`, with no certificate needed.
//! `DecryptInfo` is CMS EnvelopedData for the device's Intune MDM certificate; with the `cert`
//! feature (off by default in the library, on in the CLI), [`DeviceKey`] reads that
//! certificate's private key (PKCS#12 or PEM) and [`ImeApp::decrypt_info`] opens it. [`DecryptInfo`] is the plaintext JSON
//! (`EncryptionKey`, `IV`), also readable from a file when it was decrypted elsewhere.

use std::io::{self, BufRead, BufReader};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use quick_xml::events::Event;
use serde_json::{Map, Value};
use zeroize::Zeroize;

use crate::blob::BlobKeys;
use crate::error::{Error, Result};

/// Largest DecryptInfo JSON file read (real ones are about 100 bytes).
const MAX_DECRYPT_INFO_LEN: u64 = 64 * 1024;

/// One app's content-info response found in the IME log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImeApp {
    /// `ApplicationId` (a GUID).
    pub app_id: String,
    /// The app's version as the response gives it (`ApplicationVersion`, `ContentVersion` or
    /// `Version`, in that order), when present.
    pub version: Option<String>,
    /// `ContentInfo.UploadLocation`: the URL of the encrypted blob.
    pub url: Option<String>,
    /// `DecryptInfo`'s `EncryptedContent`: CMS EnvelopedData (DER), when present.
    pub encrypted_content: Option<Vec<u8>>,
    /// 1-based line of the log where the response's members are.
    pub line: usize,
}

/// The content-info responses found in an IME log ([`ImeLog::read`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImeLog {
    /// Content-info responses in log order (an app fetched twice appears twice).
    pub apps: Vec<ImeApp>,
    /// Responses that could not be parsed: line and reason.
    pub skipped: Vec<(usize, String)>,
}

impl ImeLog {
    /// The most recent response for `app_id` (compared ignoring case) that has a DecryptInfo.
    pub fn find(&self, app_id: &str) -> Option<&ImeApp> {
        let wanted = app_id.trim().trim_matches(['{', '}']);
        self.apps
            .iter()
            .rev()
            .filter(|a| a.app_id.eq_ignore_ascii_case(wanted))
            .find(|a| a.encrypted_content.is_some())
    }

    /// Reads the IME log at `path` (`IntuneManagementExtension.log`); see [`ImeLog::parse`].
    pub fn read(path: &Path) -> Result<ImeLog> {
        let file = crate::identity::open_regular(path).map_err(|e| Error::io("open", path, e))?;
        parse_ime_log(BufReader::new(file)).map_err(|e| Error::io("read", path, e))
    }

    /// Finds content-info responses in CMTrace-format log text (FORMAT.md §11):
    /// * after a line starting `<![LOG[Get content info from service,ret = {`, the next line;
    /// * after a line starting `<![LOG[Response from Intune = {` (any case), the next line
    ///   that contains `decryptinfo` but not `outbound data:` (any case), before the message
    ///   ends.
    ///
    /// That line holds the response's JSON members without the outer braces. Lines that are
    /// not UTF-8 are read lossily; a response that does not parse is listed in
    /// [`ImeLog::skipped`].
    pub fn parse<R: BufRead>(reader: R) -> io::Result<ImeLog> {
        parse_ime_log(reader)
    }
}

/// What the line after a trigger line is expected to hold.
enum Pending {
    None,
    /// Older IMEs: the very next line holds the members.
    NextLine,
    /// Current IMEs: the next line containing `decryptinfo`, within the same message.
    DecryptInfoLine,
}

/// [`ImeLog::parse`].
fn parse_ime_log<R: BufRead>(mut reader: R) -> io::Result<ImeLog> {
    let mut log = ImeLog::default();
    let mut pending = Pending::None;
    let mut raw = Vec::new();
    let mut number = 0;
    loop {
        raw.clear();
        if reader.read_until(b'\n', &mut raw)? == 0 {
            break;
        }
        number += 1;
        let text = String::from_utf8_lossy(&raw);
        let line = text
            .trim_end_matches(['\r', '\n'])
            .trim_start_matches('\u{FEFF}');
        let lower = line.to_ascii_lowercase();
        let take = match pending {
            Pending::None => false,
            Pending::NextLine => true,
            Pending::DecryptInfoLine => {
                lower.contains("decryptinfo") && !lower.contains("outbound data:")
            }
        };
        if take {
            pending = Pending::None;
            match parse_response(line, number) {
                Ok(app) => log.apps.push(app),
                Err(reason) => log.skipped.push((number, reason)),
            }
            continue;
        }
        if matches!(pending, Pending::DecryptInfoLine) && line.contains("]LOG]!>") {
            pending = Pending::None; // the message ended without a DecryptInfo
        }
        let start = lower.trim_start();
        if start.starts_with("<![log[get content info from service,ret = {") {
            pending = Pending::NextLine;
        } else if start.starts_with("<![log[response from intune = {") {
            pending = Pending::DecryptInfoLine;
        }
    }
    Ok(log)
}

/// Parses one line of response members into an app.
fn parse_response(line: &str, number: usize) -> std::result::Result<ImeApp, String> {
    // Tolerate the message's end on the same line: `...}]LOG]!><time=...`.
    let members = match line.find("]LOG]!>") {
        Some(end) => line[..end]
            .trim_end()
            .strip_suffix('}')
            .unwrap_or(&line[..end]),
        None => line,
    };
    let reply = json_object(&format!("{{{}}}", members.trim()), "the response")?;
    let payload = string_member(&reply, "ResponsePayload")
        .ok_or("the response has no ResponsePayload string")?;
    let payload = json_object(&payload, "ResponsePayload")?;
    let content_info = match string_member(&payload, "ContentInfo") {
        Some(text) => json_object(&text, "ContentInfo")?,
        None => Map::new(),
    };
    let app_id = string_member(&payload, "ApplicationId")
        .or_else(|| string_member(&content_info, "ApplicationId"))
        .ok_or("ResponsePayload has no ApplicationId")?;
    let version = ["ApplicationVersion", "ContentVersion", "Version"]
        .iter()
        .find_map(|k| string_member(&payload, k).or_else(|| string_member(&content_info, k)));
    let encrypted_content = match string_member(&payload, "DecryptInfo") {
        Some(xml) => Some(encrypted_content(&xml)?),
        None => None,
    };
    Ok(ImeApp {
        app_id,
        version,
        url: string_member(&content_info, "UploadLocation"),
        encrypted_content,
        line: number,
    })
}

fn json_object(text: &str, what: &str) -> std::result::Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(format!("{what} is not a JSON object")),
        Err(e) => Err(format!("{what} is not valid JSON ({e})")),
    }
}

/// A member's value as text (strings as they are, numbers printed), its name compared
/// ignoring case. Empty strings and nulls count as absent.
fn string_member(map: &Map<String, Value>, name: &str) -> Option<String> {
    let value = map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })?;
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The decoded `EncryptedContent` of a DecryptInfo `<EncryptedMessage>`.
fn encrypted_content(xml: &str) -> std::result::Result<Vec<u8>, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut inside = false;
    let mut text = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.local_name().as_ref() == "EncryptedContent" => inside = true,
            Ok(Event::End(e)) if e.local_name().as_ref() == "EncryptedContent" => break,
            Ok(Event::Text(t)) if inside => text.push_str(&t.xml10_content()),
            Ok(Event::Eof) => return Err("DecryptInfo has no EncryptedContent".into()),
            Err(e) => return Err(format!("DecryptInfo is not valid XML ({e})")),
            _ => {}
        }
    }
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    BASE64
        .decode(compact.as_bytes())
        .map_err(|e| format!("EncryptedContent is not base64 ({e})"))
}

/// The DecryptInfo plaintext: the AES key and IV of one app's content (no MAC key).
/// Wiped from memory on drop and redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct DecryptInfo {
    /// `EncryptionKey`.
    pub encryption_key: [u8; 32],
    /// `IV`.
    pub iv: [u8; 16],
}

impl Drop for DecryptInfo {
    fn drop(&mut self) {
        self.encryption_key.zeroize();
    }
}

impl std::fmt::Debug for DecryptInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecryptInfo { <redacted> }")
    }
}

impl DecryptInfo {
    /// Parses the UTF-8 JSON `{"EncryptionKey": "<base64>", "IV": "<base64>", ...}` (member
    /// names compared ignoring case, other members ignored). `origin` names the source in errors.
    pub fn from_json(bytes: &[u8], origin: &Path) -> Result<DecryptInfo> {
        let bad = |reason: String| Error::DecryptInfo {
            path: origin.to_path_buf(),
            reason,
        };
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".into()))?;
        let map = json_object(text.trim(), "DecryptInfo").map_err(bad)?;
        let field = |name: &str| -> Result<Vec<u8>> {
            let value = string_member(&map, name).ok_or_else(|| bad(format!("no {name}")))?;
            BASE64
                .decode(value.trim().as_bytes())
                .map_err(|e| bad(format!("{name} is not base64 ({e})")))
        };
        let mut key = field("EncryptionKey")?;
        let iv = field("IV")?;
        let info = DecryptInfo {
            encryption_key: <[u8; 32]>::try_from(key.as_slice()).map_err(|_| {
                bad(format!(
                    "EncryptionKey is {} bytes, not 32 (AES-256)",
                    key.len()
                ))
            })?,
            iv: <[u8; 16]>::try_from(iv.as_slice())
                .map_err(|_| bad(format!("IV is {} bytes, not 16", iv.len())))?,
        };
        key.zeroize();
        Ok(info)
    }

    /// Reads a DecryptInfo JSON file.
    pub fn read(path: &Path) -> Result<DecryptInfo> {
        let bytes = read_limited(path, MAX_DECRYPT_INFO_LEN)?;
        DecryptInfo::from_json(&bytes, path)
    }

    /// Keys for [`crate::blob::Blob`]: AES key and IV, no MAC key (FORMAT.md §11).
    pub fn blob_keys(&self) -> BlobKeys {
        BlobKeys::new(self.encryption_key, self.iv)
    }
}

/// Reads a small file whole, refusing one larger than `max` bytes.
pub(super) fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let file = crate::identity::open_regular(path).map_err(|e| Error::io("open", path, e))?;
    let size = file.metadata().map_or(0, |m| m.len());
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read", path, e))?;
    if bytes.len() as u64 > max {
        return Err(Error::LimitExceeded {
            path: path.to_path_buf(),
            limit: crate::Limit::FileSize,
            at: None,
            actual: size.max(bytes.len() as u64),
            max,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(app: &str, url: &str, cms_b64: &str) -> String {
        let content_info = serde_json::json!({ "UploadLocation": url }).to_string();
        let decrypt_info = format!(
            "<EncryptedMessage xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><EncryptedContent>{cms_b64}</EncryptedContent></EncryptedMessage>"
        );
        serde_json::json!({
            "ApplicationId": app,
            "ApplicationVersion": 3,
            "ContentInfo": content_info,
            "DecryptInfo": decrypt_info,
        })
        .to_string()
    }

    fn members(app: &str, url: &str) -> String {
        let reply = serde_json::json!({
            "SessionId": "s",
            "ResponsePayload": payload(app, url, "AAEC"),
            "ResponseContentType": "GetContentInfo",
        })
        .to_string();
        reply[1..reply.len() - 1].to_string()
    }

    #[test]
    fn finds_both_log_forms() {
        let older = members("11111111-1111-1111-1111-111111111111", "https://a/1.bin");
        let current = members("22222222-2222-2222-2222-222222222222", "https://b/2.bin");
        let log = format!(
            "<![LOG[Get content info from service,ret = {{\r\n{older}\r\n}}]LOG]!><time=\"1\" date=\"2\" component=\"IntuneManagementExtension\">\r\n\
             <![LOG[something else]LOG]!><time=\"1\">\r\n\
             <![LOG[response from intune = {{\r\n\"outbound data: DecryptInfo\"\r\n{current}\r\n}}]LOG]!><time=\"1\">\r\n"
        );
        let found = parse_ime_log(log.as_bytes()).unwrap();
        assert!(found.skipped.is_empty(), "{:?}", found.skipped);
        assert_eq!(found.apps.len(), 2);
        assert_eq!(found.apps[0].app_id, "11111111-1111-1111-1111-111111111111");
        assert_eq!(found.apps[0].url.as_deref(), Some("https://a/1.bin"));
        assert_eq!(found.apps[0].version.as_deref(), Some("3"));
        assert_eq!(
            found.apps[0].encrypted_content.as_deref(),
            Some(&[0, 1, 2][..])
        );
        assert_eq!(found.apps[0].line, 2);
        assert_eq!(found.apps[1].line, 7);
        assert_eq!(
            found
                .find("{22222222-2222-2222-2222-222222222222}")
                .map(|a| a.url.clone()),
            Some(Some("https://b/2.bin".into()))
        );
    }

    #[test]
    fn broken_response_is_skipped_not_fatal() {
        let log = "<![LOG[Get content info from service,ret = {\n\"ResponsePayload\": 5\n";
        let found = parse_ime_log(log.as_bytes()).unwrap();
        assert!(found.apps.is_empty());
        assert_eq!(found.skipped.len(), 1);
        assert_eq!(found.skipped[0].0, 2);
    }

    #[test]
    fn decrypt_info_json() {
        let json = format!(
            "\u{FEFF}{{\"EncryptionKey\":\"{}\",\"IV\":\"{}\",\"Other\":1}}",
            BASE64.encode([7u8; 32]),
            BASE64.encode([9u8; 16])
        );
        let info = DecryptInfo::from_json(json.as_bytes(), Path::new("x")).unwrap();
        assert_eq!(info.encryption_key, [7; 32]);
        assert_eq!(info.iv, [9; 16]);
        let short = format!(
            "{{\"encryptionkey\":\"{}\",\"iv\":\"{}\"}}",
            BASE64.encode([7u8; 16]),
            BASE64.encode([9u8; 16])
        );
        let err = DecryptInfo::from_json(short.as_bytes(), Path::new("x")).unwrap_err();
        assert!(matches!(err, Error::DecryptInfo { .. }), "{err:?}");
    }

    #[test]
    fn an_oversized_decrypt_info_file_is_a_file_size_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("info.json");
        std::fs::write(&path, vec![b' '; 100_000]).unwrap();
        match DecryptInfo::read(&path) {
            Err(Error::LimitExceeded {
                path: at,
                limit: crate::Limit::FileSize,
                at: None,
                actual: 100_000,
                max,
            }) => {
                assert_eq!((at, max), (path, MAX_DECRYPT_INFO_LEN));
            }
            other => panic!("expected a file-size limit, got {other:?}"),
        }
    }
}
