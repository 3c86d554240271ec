//! The device certificate's RSA key and CMS EnvelopedData (RFC 5652 §6) opening.

use std::path::{Path, PathBuf};

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use cms::content_info::ContentInfo;
use cms::enveloped_data::{
    EnvelopedData, KeyTransRecipientInfo, RecipientIdentifier, RecipientInfo,
};
use pkcs8::DecodePrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey;
use x509_cert::Certificate;
use x509_cert::der::asn1::{ObjectIdentifier, OctetString};
use x509_cert::der::{Any, Decode, Encode, SliceReader, Tag, TagNumber, Tagged};
use x509_cert::spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::keys::{DecryptInfo, ImeApp, read_limited};
use crate::error::Error;
use crate::error::Result;

const ID_ENVELOPED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.3");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSAES_OAEP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.7");
const MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const AES128_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.2");
const AES192_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.22");
const AES256_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.42");
const DES_EDE3_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.3.7");
const SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");

/// Largest certificate or key file read.
const MAX_KEY_FILE_LEN: u64 = 1024 * 1024;

/// The device certificate's RSA private key and, when the file has it, the certificate
/// (used to pick the matching CMS recipient).
pub struct DeviceKey {
    key: rsa::PrivateKey,
    cert: Option<Certificate>,
    origin: PathBuf,
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceKey")
            .field("key", &"<redacted>")
            .field("has_certificate", &self.cert.is_some())
            .field("origin", &self.origin)
            .finish()
    }
}

impl DeviceKey {
    /// Reads a PKCS#12 (`.pfx`/`.p12`) file, or a PEM file with a private key
    /// (`PRIVATE KEY`, `ENCRYPTED PRIVATE KEY` or `RSA PRIVATE KEY`) and optionally its
    /// `CERTIFICATE`, or a DER PKCS#8/PKCS#1 key. `password` opens PKCS#12 files and
    /// encrypted PKCS#8 keys (none means the empty password).
    pub fn read(path: &Path, password: Option<&str>) -> Result<DeviceKey> {
        let bytes = Zeroizing::new(read_limited(path, MAX_KEY_FILE_LEN)?);
        DeviceKey::from_bytes(&bytes, password, path)
    }

    /// Like [`read`](Self::read) from bytes; `origin` names the source in errors.
    pub fn from_bytes(bytes: &[u8], password: Option<&str>, origin: &Path) -> Result<Self> {
        let bad = |reason: String| Error::Certificate {
            path: origin.to_path_buf(),
            reason,
        };
        let trimmed = bytes.trim_ascii_start();
        let (key, cert) = if trimmed.starts_with(b"-----BEGIN") {
            from_pem(trimmed, password).map_err(bad)?
        } else if let Ok(key) = rsa::PrivateKey::from_pkcs8_der(bytes) {
            (key, None)
        } else if let Ok(key) = rsa::PrivateKey::from_pkcs1_der(bytes) {
            (key, None)
        } else {
            from_pkcs12(bytes, password.unwrap_or("")).map_err(bad)?
        };
        Ok(DeviceKey {
            key,
            cert,
            origin: origin.to_path_buf(),
        })
    }

    /// Whether the file also held the certificate.
    pub fn has_certificate(&self) -> bool {
        self.cert.is_some()
    }

    /// Opens CMS EnvelopedData (DER, bare or in a ContentInfo) addressed to this key:
    /// RSA key transport with PKCS#1 v1.5 or OAEP (SHA-1/256/384/512), content encrypted
    /// with AES-128/192/256-CBC or 3DES-CBC. Returns the plaintext.
    pub fn open_enveloped_data(&self, der: &[u8], origin: &Path) -> Result<Zeroizing<Vec<u8>>> {
        let bad = |reason: String| Error::Cms {
            path: origin.to_path_buf(),
            reason,
        };
        let env = parse_enveloped(der).map_err(bad)?;
        let ktris: Vec<&KeyTransRecipientInfo> = env
            .recip_infos
            .0
            .iter()
            .filter_map(|r| match r {
                RecipientInfo::Ktri(k) => Some(k),
                _ => None,
            })
            .collect();
        if ktris.is_empty() {
            return Err(bad("no RSA key-transport recipient".into()));
        }
        // Prefer the recipients that name our certificate; without one, try them all.
        let matching: Vec<&KeyTransRecipientInfo> = ktris
            .iter()
            .copied()
            .filter(|k| self.names(&k.rid))
            .collect();
        let candidates = if matching.is_empty() { ktris } else { matching };
        let ciphertext = env
            .encrypted_content
            .encrypted_content
            .as_ref()
            .ok_or_else(|| bad("the content is detached".into()))?;
        let mut last = String::new();
        for ktri in candidates {
            match self.unwrap_key(ktri).and_then(|cek| {
                decrypt_content(
                    &env.encrypted_content.content_enc_alg,
                    &cek,
                    ciphertext.as_bytes(),
                )
            }) {
                Ok(plain) => return Ok(plain),
                Err(e) => last = e,
            }
        }
        Err(bad(format!(
            "{last} (is this the device's Intune MDM certificate, {}?)",
            self.origin.display()
        )))
    }

    /// Whether a recipient identifier names our certificate.
    fn names(&self, rid: &RecipientIdentifier) -> bool {
        let Some(cert) = &self.cert else {
            return false;
        };
        let tbs = cert.tbs_certificate();
        match rid {
            RecipientIdentifier::IssuerAndSerialNumber(ias) => {
                ias.issuer == *tbs.issuer() && ias.serial_number == *tbs.serial_number()
            }
            RecipientIdentifier::SubjectKeyIdentifier(ski) => tbs
                .extensions()
                .into_iter()
                .flatten()
                .filter(|e| e.extn_id == SUBJECT_KEY_ID)
                .filter_map(|e| OctetString::from_der(e.extn_value.as_bytes()).ok())
                .any(|id| id.as_bytes() == ski.0.as_bytes()),
        }
    }

    /// Decrypts the content-encryption key of one recipient.
    fn unwrap_key(
        &self,
        ktri: &KeyTransRecipientInfo,
    ) -> std::result::Result<Zeroizing<Vec<u8>>, String> {
        let enc = ktri.enc_key.as_bytes();
        let alg = &ktri.key_enc_alg;
        let result = if alg.oid == RSA_ENCRYPTION {
            self.key.decrypt(rsa::Pkcs1v15Encrypt, enc)
        } else if alg.oid == RSAES_OAEP {
            self.oaep_decrypt(alg, enc)?
        } else {
            return Err(format!("unsupported key transport {}", alg.oid));
        };
        result
            .map(Zeroizing::new)
            .map_err(|e| format!("RSA decryption failed ({e})"))
    }

    fn oaep_decrypt(
        &self,
        alg: &AlgorithmIdentifierOwned,
        enc: &[u8],
    ) -> std::result::Result<rsa::Result<Vec<u8>>, String> {
        let (hash, mgf_hash, label) = oaep_params(alg.parameters.as_ref())?;
        if hash != mgf_hash {
            return Err(format!(
                "unsupported OAEP: hash {hash} with MGF1 hash {mgf_hash}"
            ));
        }
        let key = &self.key;
        Ok(match hash {
            h if h == SHA1 => key.decrypt(rsa::Oaep::<sha1::Sha1>::new_with_label(label), enc),
            h if h == SHA256 => key.decrypt(rsa::Oaep::<sha2::Sha256>::new_with_label(label), enc),
            h if h == SHA384 => key.decrypt(rsa::Oaep::<sha2::Sha384>::new_with_label(label), enc),
            h if h == SHA512 => key.decrypt(rsa::Oaep::<sha2::Sha512>::new_with_label(label), enc),
            other => return Err(format!("unsupported OAEP hash {other}")),
        })
    }
}

/// EnvelopedData, inside a ContentInfo or bare.
fn parse_enveloped(der: &[u8]) -> std::result::Result<EnvelopedData, String> {
    if let Ok(ci) = ContentInfo::from_der(der) {
        if ci.content_type != ID_ENVELOPED_DATA {
            return Err(format!(
                "the CMS content is {}, not EnvelopedData",
                ci.content_type
            ));
        }
        let inner = ci.content.to_der().map_err(|e| e.to_string())?;
        return EnvelopedData::from_der(&inner).map_err(|e| format!("bad EnvelopedData ({e})"));
    }
    EnvelopedData::from_der(der).map_err(|e| format!("not CMS EnvelopedData ({e})"))
}

/// RSAES-OAEP-params (RFC 8017 A.2.1): hash, MGF1 hash and label, SHA-1 and empty by default.
fn oaep_params(
    params: Option<&Any>,
) -> std::result::Result<(ObjectIdentifier, ObjectIdentifier, Vec<u8>), String> {
    let (mut hash, mut mgf_hash, mut label) = (SHA1, SHA1, Vec::new());
    let Some(params) = params.filter(|p| p.tag() != Tag::Null) else {
        return Ok((hash, mgf_hash, label));
    };
    let bad = |e: x509_cert::der::Error| format!("bad OAEP parameters ({e})");
    let mut reader = SliceReader::new(params.value()).map_err(bad)?;
    while !x509_cert::der::Reader::is_finished(&reader) {
        let field = Any::decode(&mut reader).map_err(bad)?;
        let inner = AlgorithmIdentifierOwned::from_der(field.value()).map_err(bad)?;
        match field.tag() {
            Tag::ContextSpecific {
                number: TagNumber(0),
                ..
            } => hash = inner.oid,
            Tag::ContextSpecific {
                number: TagNumber(1),
                ..
            } => {
                if inner.oid != MGF1 {
                    return Err(format!("unsupported OAEP mask generation {}", inner.oid));
                }
                let digest = inner
                    .parameters
                    .as_ref()
                    .ok_or("MGF1 without a hash")?
                    .to_der()
                    .map_err(bad)?;
                mgf_hash = AlgorithmIdentifierOwned::from_der(&digest)
                    .map_err(bad)?
                    .oid;
            }
            Tag::ContextSpecific {
                number: TagNumber(2),
                ..
            } => {
                if let Some(p) = inner.parameters.as_ref() {
                    label = OctetString::from_der(&p.to_der().map_err(bad)?)
                        .map_err(bad)?
                        .into_bytes()
                        .into_vec();
                }
            }
            other => return Err(format!("unexpected OAEP parameter {other}")),
        }
    }
    Ok((hash, mgf_hash, label))
}

/// Decrypts the content with the key the recipient info carried.
fn decrypt_content(
    alg: &AlgorithmIdentifierOwned,
    key: &[u8],
    ciphertext: &[u8],
) -> std::result::Result<Zeroizing<Vec<u8>>, String> {
    let iv = alg
        .parameters
        .as_ref()
        .and_then(|p| OctetString::from_der(&p.to_der().ok()?).ok())
        .ok_or("the content cipher has no IV")?;
    let iv = iv.as_bytes();
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    let wrong = |_| format!("wrong key for the {} content cipher", alg.oid);
    let len = match alg.oid {
        o if o == AES256_CBC => cbc_decrypt::<aes::Aes256>(key, iv, &mut buf).map_err(wrong)?,
        o if o == AES192_CBC => cbc_decrypt::<aes::Aes192>(key, iv, &mut buf).map_err(wrong)?,
        o if o == AES128_CBC => cbc_decrypt::<aes::Aes128>(key, iv, &mut buf).map_err(wrong)?,
        o if o == DES_EDE3_CBC => cbc_decrypt::<des::TdesEde3>(key, iv, &mut buf).map_err(wrong)?,
        other => return Err(format!("unsupported content cipher {other}")),
    };
    buf.truncate(len);
    Ok(buf)
}

/// CBC decryption with PKCS#7 padding in place; returns the plaintext length.
fn cbc_decrypt<C>(key: &[u8], iv: &[u8], buf: &mut [u8]) -> std::result::Result<usize, ()>
where
    C: cbc::cipher::BlockCipherDecrypt,
    cbc::Decryptor<C>: KeyIvInit + BlockModeDecrypt,
{
    let cipher = cbc::Decryptor::<C>::new_from_slices(key, iv).map_err(|_| ())?;
    cipher
        .decrypt_padded::<Pkcs7>(buf)
        .map(|plain| plain.len())
        .map_err(|_| ())
}

/// The RSA key (and certificate) of a PEM file.
fn from_pem(
    pem: &[u8],
    password: Option<&str>,
) -> std::result::Result<(rsa::PrivateKey, Option<Certificate>), String> {
    let text = std::str::from_utf8(pem).map_err(|_| "the PEM file is not text".to_string())?;
    let mut key = None;
    let mut cert = None;
    for block in pem_blocks(text) {
        let (label, der) = x509_cert::der::pem::decode_vec(block.as_bytes())
            .map_err(|e| format!("bad PEM block ({e})"))?;
        let der = Zeroizing::new(der);
        match label {
            "PRIVATE KEY" => {
                key = Some(
                    rsa::PrivateKey::from_pkcs8_der(&der)
                        .map_err(|e| format!("the PRIVATE KEY is not an RSA key ({e})"))?,
                )
            }
            "RSA PRIVATE KEY" => {
                key = Some(rsa::PrivateKey::from_pkcs1_der(&der).map_err(|_| {
                    "the RSA PRIVATE KEY cannot be read (a legacy encrypted one? \
                     convert it with `openssl pkcs8 -topk8`)"
                        .to_string()
                })?)
            }
            "ENCRYPTED PRIVATE KEY" => {
                let password = password.ok_or("the private key is encrypted: give its password")?;
                let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der.as_slice())
                    .map_err(|e| format!("bad ENCRYPTED PRIVATE KEY ({e})"))?;
                let doc = info
                    .decrypt(password)
                    .map_err(|_| "wrong password for the private key".to_string())?;
                key = Some(
                    rsa::PrivateKey::from_pkcs8_der(doc.as_bytes())
                        .map_err(|e| format!("the private key is not an RSA key ({e})"))?,
                );
            }
            "CERTIFICATE" if cert.is_none() => {
                cert = Some(
                    Certificate::from_der(&der).map_err(|e| format!("bad CERTIFICATE ({e})"))?,
                );
            }
            _ => {}
        }
    }
    let key = key.ok_or("the PEM file has no private key")?;
    Ok((key, cert))
}

/// Each `-----BEGIN ...-----` … `-----END ...-----` block of a PEM file.
fn pem_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("-----BEGIN ") {
            current = Some(String::new());
        }
        if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
        if line.starts_with("-----END ") {
            blocks.extend(current.take());
        }
    }
    blocks
}

/// The first RSA key of a PKCS#12 file and the certificate that goes with it.
fn from_pkcs12(
    der: &[u8],
    password: &str,
) -> std::result::Result<(rsa::PrivateKey, Option<Certificate>), String> {
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(der, password)
        .map_err(|e| format!("not a PEM, DER or PKCS#12 key, or a wrong PKCS#12 password ({e})"))?;
    let bag = archive
        .keys
        .iter()
        .find(|b| rsa::PrivateKey::from_pkcs8_der(b.key.as_der()).is_ok())
        .ok_or("the PKCS#12 file has no RSA private key")?;
    let key = rsa::PrivateKey::from_pkcs8_der(bag.key.as_der())
        .map_err(|e| format!("bad private key ({e})"))?;
    let wanted = bag.local_key_id.as_ref().map(|id| id.0.as_slice());
    let cert = archive
        .certs
        .iter()
        .find(|c| wanted.is_some() && c.local_key_id.as_deref() == wanted)
        .or_else(|| archive.certs.first())
        .and_then(|c| Certificate::from_der(c.cert.as_der()).ok());
    Ok((key, cert))
}

impl ImeApp {
    /// Opens this app's DecryptInfo with the device key and parses the JSON inside.
    /// `origin` (the log) names the source in errors.
    pub fn decrypt_info(&self, key: &DeviceKey, origin: &Path) -> Result<DecryptInfo> {
        let der = self
            .encrypted_content
            .as_deref()
            .ok_or_else(|| Error::Cms {
                path: origin.to_path_buf(),
                reason: format!("the response for {} has no DecryptInfo", self.app_id),
            })?;
        let plain = key.open_enveloped_data(der, origin)?;
        DecryptInfo::from_json(&plain, origin)
    }
}
