//! What a Microsoft Graph upload of a package needs (FORMAT.md §13), as plain values a Graph
//! client serialises: the `mobileAppContentFile` to create, the `fileEncryptionInfo` of the
//! commit, the `win32LobApp` defaults and, for MSI setups, `msiInformation`.
//!
//! Serialised with serde, [`GraphMetadata`] is the JSON `intunewin info --graph` prints: Graph's
//! names and `@odata.type`s, keys in sorted order.
//!
//! The bytes to upload are the bare blob ([`Package::save_content`](crate::Package::save_content) or
//! [`Package::content_reader`]).

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use serde::{Serialize, Serializer};

use crate::detection::{FILE_DIGEST_ALGORITHM, MsiInfo, PROFILE_IDENTIFIER};
use crate::package::Package;

/// The `mobileAppContentFile` body (`manifest` is null).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentFile {
    /// `name`: the outer `.intunewin` file name.
    pub name: String,
    /// `size`: `UnencryptedContentSize`.
    pub size: u64,
    /// `sizeEncrypted`: the blob's length.
    pub size_encrypted: u64,
    /// `isDependency`: always false for a Win32 app's content.
    pub is_dependency: bool,
}

/// The commit body's `fileEncryptionInfo`: Detection.xml's strings unchanged. Fields are in the
/// order of the JSON keys (sorted).
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "@odata.type",
    rename = "#microsoft.graph.fileEncryptionInfo",
    rename_all = "camelCase"
)]
pub struct FileEncryptionInfo {
    /// `encryptionKey`.
    pub encryption_key: String,
    /// `fileDigest`.
    pub file_digest: String,
    /// `fileDigestAlgorithm` (`SHA256`).
    pub file_digest_algorithm: String,
    /// `initializationVector`.
    pub initialization_vector: String,
    /// `mac`.
    pub mac: String,
    /// `macKey`.
    pub mac_key: String,
    /// `profileIdentifier` (`ProfileVersion1`).
    pub profile_identifier: String,
}

impl std::fmt::Debug for FileEncryptionInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileEncryptionInfo")
            .field("keys", &"<redacted>")
            .field("mac", &self.mac)
            .field("file_digest", &self.file_digest)
            .finish()
    }
}

/// `msiInformation.packageType`, from `MsiExecutionContext`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MsiPackageType {
    /// `perMachine` (context `System`).
    PerMachine,
    /// `perUser` (context `User`).
    PerUser,
    /// `dualPurpose` (context `Any`).
    DualPurpose,
}

impl MsiPackageType {
    /// The type for an `MsiExecutionContext` value; `None` for an unknown one.
    pub fn from_execution_context(context: &str) -> Option<Self> {
        match context {
            "System" => Some(MsiPackageType::PerMachine),
            "User" => Some(MsiPackageType::PerUser),
            "Any" => Some(MsiPackageType::DualPurpose),
            _ => None,
        }
    }

    /// Graph's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MsiPackageType::PerMachine => "perMachine",
            MsiPackageType::PerUser => "perUser",
            MsiPackageType::DualPurpose => "dualPurpose",
        }
    }
}

/// `win32LobApp.msiInformation` (FORMAT.md §13). Values absent from MsiInfo stay `None`.
/// Fields are in the order of the JSON keys (sorted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(
    tag = "@odata.type",
    rename = "#microsoft.graph.win32LobAppMsiInformation",
    rename_all = "camelCase"
)]
pub struct MsiInformation {
    /// `packageType` (from `MsiExecutionContext`).
    pub package_type: Option<MsiPackageType>,
    /// `productCode` (`MsiProductCode`).
    pub product_code: Option<String>,
    /// `productName` (`Name`).
    pub product_name: String,
    /// `productVersion` (`MsiProductVersion`).
    pub product_version: Option<String>,
    /// `publisher` (`MsiPublisher`).
    pub publisher: Option<String>,
    /// `requiresReboot` (`MsiRequiresReboot`; false when absent, as REBOOT was not Force).
    pub requires_reboot: bool,
    /// `upgradeCode` (`MsiUpgradeCode`).
    pub upgrade_code: Option<String>,
}

impl MsiInformation {
    /// The mapping of an `MsiInfo` block and the package `Name`.
    pub fn from_msi_info(msi: &MsiInfo, name: &str) -> Self {
        MsiInformation {
            product_code: msi.product_code.clone(),
            product_version: msi.product_version.clone(),
            upgrade_code: msi.upgrade_code.clone(),
            requires_reboot: msi.requires_reboot.unwrap_or(false),
            package_type: msi
                .execution_context
                .as_deref()
                .and_then(MsiPackageType::from_execution_context),
            product_name: name.to_string(),
            publisher: msi.publisher.clone(),
        }
    }
}

/// Everything Graph needs from one package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphMetadata {
    /// The content file to create under the app's content version.
    pub content_file: ContentFile,
    /// The commit body's `fileEncryptionInfo`.
    pub file_encryption_info: FileEncryptionInfo,
    /// `win32LobApp.fileName`: the outer file name.
    pub file_name: String,
    /// `win32LobApp.setupFilePath`: `SetupFile`.
    pub setup_file_path: String,
    /// Default `win32LobApp.displayName`: `Name`.
    pub display_name: String,
    /// `msiInformation`, for packages with MsiInfo.
    pub msi_information: Option<MsiInformation>,
}

impl GraphMetadata {
    /// The metadata of an opened package. Decrypts nothing; `sizeEncrypted` is the length of
    /// the content entry as stored.
    pub fn from_package(pkg: &Package) -> Self {
        let d = pkg.detection();
        let e = &d.encryption;
        let file_name = outer_file_name(pkg.path());
        // Detection::parse accepts only canonical padded base64, so encoding the decoded bytes
        // gives back Detection.xml's strings exactly (FORMAT.md §3.3).
        let b64 = |bytes: &[u8]| BASE64.encode(bytes);
        GraphMetadata {
            content_file: ContentFile {
                name: file_name.clone(),
                size: d.unencrypted_content_size,
                size_encrypted: pkg.encrypted_size(),
                is_dependency: false,
            },
            file_encryption_info: FileEncryptionInfo {
                encryption_key: b64(&e.encryption_key),
                mac_key: b64(&e.mac_key),
                initialization_vector: b64(&e.iv),
                mac: b64(&e.mac),
                profile_identifier: PROFILE_IDENTIFIER.into(),
                file_digest: b64(&e.file_digest),
                file_digest_algorithm: FILE_DIGEST_ALGORITHM.into(),
            },
            file_name,
            setup_file_path: d.setup_file.clone(),
            display_name: d.name.clone(),
            msi_information: d
                .msi_info
                .as_ref()
                .map(|m| MsiInformation::from_msi_info(m, &d.name)),
        }
    }
}

impl Serialize for GraphMetadata {
    /// The Graph bodies `intunewin info --graph` prints: `commitBody`, `mobileAppContentFile`,
    /// `msiInformation` (null without MsiInfo) and the `win32LobApp` values.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        GraphJson {
            commit_body: CommitBody {
                file_encryption_info: &self.file_encryption_info,
            },
            mobile_app_content_file: ContentFileJson::from(&self.content_file),
            msi_information: self.msi_information.as_ref(),
            win32_lob_app: Win32LobApp {
                display_name: &self.display_name,
                file_name: &self.file_name,
                setup_file_path: &self.setup_file_path,
            },
        }
        .serialize(serializer)
    }
}

/// The JSON of [`GraphMetadata`]: Graph's nesting, keys sorted.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GraphJson<'a> {
    commit_body: CommitBody<'a>,
    mobile_app_content_file: ContentFileJson<'a>,
    msi_information: Option<&'a MsiInformation>,
    #[serde(rename = "win32LobApp")]
    win32_lob_app: Win32LobApp<'a>,
}

/// The commit body.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CommitBody<'a> {
    file_encryption_info: &'a FileEncryptionInfo,
}

/// The `mobileAppContentFile` body, with its null `manifest`.
#[derive(Serialize)]
#[serde(
    tag = "@odata.type",
    rename = "#microsoft.graph.mobileAppContentFile",
    rename_all = "camelCase"
)]
struct ContentFileJson<'a> {
    is_dependency: bool,
    manifest: Option<()>,
    name: &'a str,
    size: u64,
    size_encrypted: u64,
}

impl<'a> From<&'a ContentFile> for ContentFileJson<'a> {
    fn from(c: &'a ContentFile) -> Self {
        ContentFileJson {
            is_dependency: c.is_dependency,
            manifest: None,
            name: &c.name,
            size: c.size,
            size_encrypted: c.size_encrypted,
        }
    }
}

/// The `win32LobApp` values.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Win32LobApp<'a> {
    display_name: &'a str,
    file_name: &'a str,
    setup_file_path: &'a str,
}

/// The outer file name of a package path (Graph's `name` and `fileName`).
pub fn outer_file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_type_follows_execution_context() {
        let cases = [
            ("System", Some("perMachine")),
            ("User", Some("perUser")),
            ("Any", Some("dualPurpose")),
            ("system", None),
        ];
        for (context, want) in cases {
            assert_eq!(
                MsiPackageType::from_execution_context(context).map(MsiPackageType::as_str),
                want
            );
        }
    }

    #[test]
    fn msi_information_maps_fields() {
        let msi = MsiInfo {
            product_code: Some("{P}".into()),
            product_version: Some("1.2".into()),
            upgrade_code: Some("{U}".into()),
            execution_context: Some("Any".into()),
            requires_reboot: None,
            publisher: Some("Contoso".into()),
            ..MsiInfo::default()
        };
        let info = MsiInformation::from_msi_info(&msi, "Product");
        assert_eq!(info.product_code.as_deref(), Some("{P}"));
        assert_eq!(info.product_version.as_deref(), Some("1.2"));
        assert_eq!(info.upgrade_code.as_deref(), Some("{U}"));
        assert_eq!(info.package_type, Some(MsiPackageType::DualPurpose));
        assert!(!info.requires_reboot);
        assert_eq!(info.product_name, "Product");
        assert_eq!(info.publisher.as_deref(), Some("Contoso"));
    }
}
