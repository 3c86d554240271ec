//! Intune Win32 error codes: phase, cause and fix (`intunewin explain`).
//!
//! The Intune Management Extension (IME) handles a Win32 app in a fixed sequence of
//! [`Phase`]s (FORMAT.md §11); each code it reports belongs to one or more of them and points
//! to one [`Source`]: the package, the app's configuration in Intune, or the device and its
//! network. [`table`] is the one table of known codes, in our own words; [`explain`] gives
//! everything known about any value: its table entry, its HRESULT fields with the Win32 error
//! a `0x8007xxxx` code carries, and the installer exit code it is or was made from, both ways.
//!
//! ```
//! use intunewin_core::ime::{ExitAction, explain, parse_code};
//!
//! let code = parse_code("1603").unwrap();
//! let e = explain(code);
//! assert!(e.is_exit_code()); // a bare installer exit code, not an HRESULT
//! let exit = e.installer_exit.unwrap();
//! assert_eq!(exit.default_action, ExitAction::Failed);
//! assert_eq!(exit.reported_as, Some(0x8007_0643));
//!
//! let e = explain(0x8007_0643); // the HRESULT Intune shows for it
//! assert!(e.entry.is_some());
//! assert_eq!(e.installer_exit.unwrap().code, 1603);
//! ```

/// A step of the IME's processing of one Win32 app, in the order the IME runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The IME polls for the user's or device's apps (user apps need the user's Entra ID token).
    PollingStart,
    /// The IME asks the service for the app's content information and decryption keys.
    ContentMetadata,
    /// The detection rule runs before installing, to skip apps already present.
    PreInstallDetection,
    /// Built-in requirements (OS version, architecture, disk space, memory) are evaluated.
    Applicability,
    /// Requirement rules (file, registry, script) are evaluated.
    ExtendedRequirements,
    /// The encrypted content is downloaded (Delivery Optimization/BITS) to `Content\Incoming`.
    Download,
    /// The blob's hash is checked, it is decrypted in `Content\Staging` and unzipped to
    /// `C:\Windows\IMECache\<app>_<n>\` (FORMAT.md §11, §12).
    IntegrityAndUnzip,
    /// The install command runs (up to 3 attempts 5 minutes apart, 60-minute default timeout).
    Installation,
    /// The detection rule runs again to confirm the install.
    PostInstallDetection,
    /// The app's compliance state is recorded.
    SetCompliance,
    /// The result is reported to the Intune service.
    ReportStatus,
}

impl Phase {
    /// Every phase, in processing order.
    pub const ALL: [Phase; 11] = [
        Phase::PollingStart,
        Phase::ContentMetadata,
        Phase::PreInstallDetection,
        Phase::Applicability,
        Phase::ExtendedRequirements,
        Phase::Download,
        Phase::IntegrityAndUnzip,
        Phase::Installation,
        Phase::PostInstallDetection,
        Phase::SetCompliance,
        Phase::ReportStatus,
    ];

    /// A stable kebab-case identifier (for JSON output).
    pub fn id(self) -> &'static str {
        match self {
            Phase::PollingStart => "polling-start",
            Phase::ContentMetadata => "content-metadata",
            Phase::PreInstallDetection => "pre-install-detection",
            Phase::Applicability => "applicability",
            Phase::ExtendedRequirements => "extended-requirements",
            Phase::Download => "download",
            Phase::IntegrityAndUnzip => "integrity-and-unzip",
            Phase::Installation => "installation",
            Phase::PostInstallDetection => "post-install-detection",
            Phase::SetCompliance => "set-compliance",
            Phase::ReportStatus => "report-status",
        }
    }

    /// A short human-readable name.
    pub fn label(self) -> &'static str {
        match self {
            Phase::PollingStart => "polling start",
            Phase::ContentMetadata => "retrieve content metadata",
            Phase::PreInstallDetection => "pre-install detection",
            Phase::Applicability => "applicability",
            Phase::ExtendedRequirements => "extended requirements",
            Phase::Download => "download",
            Phase::IntegrityAndUnzip => "integrity check and unzip",
            Phase::Installation => "installation",
            Phase::PostInstallDetection => "post-install detection",
            Phase::SetCompliance => "set compliance",
            Phase::ReportStatus => "report status",
        }
    }

    /// Where failures in this phase usually come from; a code's own [`CodeInfo::source`]
    /// may differ (a missing file at install is more often antivirus than the package).
    pub fn usual_source(self) -> Source {
        match self {
            Phase::PollingStart
            | Phase::ContentMetadata
            | Phase::Download
            | Phase::ReportStatus => Source::DeviceNetwork,
            Phase::PreInstallDetection
            | Phase::Applicability
            | Phase::ExtendedRequirements
            | Phase::PostInstallDetection
            | Phase::SetCompliance => Source::Configuration,
            Phase::IntegrityAndUnzip | Phase::Installation => Source::Package,
        }
    }
}

/// Where to look for the fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The `.intunewin` package or the installer inside it.
    Package,
    /// The app's settings in Intune: command lines, detection rule, requirements, context.
    Configuration,
    /// The device or its network: connectivity, proxy, disk, antivirus, user session.
    DeviceNetwork,
}

impl Source {
    /// A stable kebab-case identifier (for JSON output).
    pub fn id(self) -> &'static str {
        match self {
            Source::Package => "package",
            Source::Configuration => "configuration",
            Source::DeviceNetwork => "device-network",
        }
    }

    /// A short human-readable name.
    pub fn label(self) -> &'static str {
        match self {
            Source::Package => "the package",
            Source::Configuration => "the app's configuration in Intune",
            Source::DeviceNetwork => "the device or its network",
        }
    }
}

/// One known Intune Win32 app error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    /// The code as the portal shows it (`0x87D30067`).
    pub code: u32,
    /// The message the portal usually shows with it.
    pub message: &'static str,
    /// The phases that report it, in processing order.
    pub phases: &'static [Phase],
    /// Where the fix usually is.
    pub source: Source,
    /// Likely causes, most common first.
    pub causes: &'static [&'static str],
    /// What to check on the device: which log and what to look for.
    pub checks: &'static [&'static str],
    /// Ids of the pack-time `intunewin check` rules whose findings predict this code.
    pub rules: &'static [&'static str],
}

/// Ids of the path classifier's rules (`paths::Rule::id`, FORMAT.md §12.2) whose findings show
/// up on the device as 0x87D30067; plain strings so this table has no compile-time tie to the
/// checker. Keep in step with `paths::Rule::intune_code`.
const UNZIP_RULES: &[&str] = &[
    "zip-slip",
    "absolute-path",
    "drive-path",
    "unc-path",
    "empty-component",
    "control-character",
    "forbidden-character",
    "reserved-name",
    "reserved-name-disputed",
    "trailing-dot-or-space",
    "dots-only-name",
    "component-too-long",
    "path-too-long",
    "name-too-long",
    "path-too-deep",
    "name-collision",
    "duplicate-entry",
];

/// The table of known codes, sorted by code. Messages are what the portal usually shows;
/// some public lists swap the labels of 0x87D30065/67/68 (FORMAT.md §12.2), so the causes
/// mention the other reading where reports disagree.
static CODES: &[CodeInfo] = &[
    CodeInfo {
        code: 0x8000_4005,
        message: "Unspecified error (E_FAIL).",
        phases: &[Phase::PollingStart],
        source: Source::DeviceNetwork,
        causes: &[
            "In IME logs mostly a Win32Exception of the AAD user check at the start of a poll \
             (`AAD User check using device check in app is failed, now fallback to the Graph \
             audience`): the IME could not read the signed-in user's token and asks the Graph \
             instead. Not an app failure by itself.",
            "As an app's code: an installer or script failed without saying why.",
        ],
        checks: &[
            "IntuneManagementExtension.log: the exception text on the same line names the \
             real cause; if apps still get their policies the fallback worked.",
            "For an app: AppWorkload.log around the install, and the installer's own log.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x8007_0001,
        message: "Incorrect function.",
        phases: &[Phase::Installation],
        source: Source::Package,
        causes: &[
            "The installer or install script exited with code 1, which is not one of the app's \
             return codes; Intune reports an unknown exit code N as 0x8007xxxx.",
            "A PowerShell install script that ends with `exit 1` or stops on an unhandled error.",
        ],
        checks: &[
            "AppWorkload.log: the install command line and the exit code logged when the \
             process ends.",
            "The installer's own log; run the same command line as SYSTEM (psexec -s) on a test \
             device to see the failure.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x8007_0002,
        message: "The system cannot find the file specified.",
        phases: &[Phase::IntegrityAndUnzip, Phase::Installation],
        source: Source::DeviceNetwork,
        causes: &[
            "Antivirus quarantined or deleted the downloaded or extracted content \
             (Content\\Incoming, Content\\Staging or C:\\Windows\\IMECache) before the install ran.",
            "The install command names a file that is not in the package, or not at that \
             relative path (typo, unquoted path with spaces, wrong folder).",
            "A name ending in a dot or space was changed by Windows on extraction, so the \
             command's spelling no longer matches.",
        ],
        checks: &[
            "Antivirus or Defender protection history for files under IMECache or the IME \
             Content folders.",
            "AppWorkload.log: the command line that ran and its working directory; compare with \
             `intunewin list` of the package.",
        ],
        rules: &["trailing-dot-or-space"],
    },
    CodeInfo {
        code: 0x8007_0004,
        message: "The system cannot open the file.",
        phases: &[Phase::Installation],
        source: Source::Package,
        causes: &[
            "Usually not a Windows error: the installer exited with its own code 4, which is \
             not listed in the app's return codes.",
        ],
        checks: &[
            "AppWorkload.log: the installer's exit code; look up 4 in the vendor's documentation.",
            "If 4 means success or reboot for this installer, add it to the app's return codes.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x8007_0005,
        message: "Access is denied.",
        phases: &[Phase::Installation],
        source: Source::Configuration,
        causes: &[
            "The app installs in user context and the installer needs administrator rights: \
             the user's token is not elevated.",
            "The installer writes to a location that SYSTEM or the user may not change, or a \
             file is locked by security software.",
        ],
        checks: &[
            "The app's install behavior (System or User) in Intune; use System for installers \
             that write to Program Files or HKLM.",
            "AppWorkload.log: the context the command ran in and its exit code; the installer's \
             own log for the path it was denied.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x8007_00CE,
        message: "The filename or extension is too long.",
        phases: &[Phase::IntegrityAndUnzip, Phase::Installation],
        source: Source::Package,
        causes: &[
            "A path in the package, under the IME's staging folder \
             (C:\\Windows\\IMECache\\<app id>_<version>\\), passes Windows' 260-character \
             limit: the unzip or the installer cannot create or open it (Win32 error 206).",
            "The installer itself builds a path that long (a deep install folder, a long \
             file name) and exits with 206.",
        ],
        checks: &[
            "intunewin check on the source folder or the package: its path-length rules \
             (path-too-long, component-too-long, name-too-long) flag the entries that will \
             pass the limit once staged.",
            "AppWorkload.log: whether the error comes from the unzip (content phase) or as the \
             installer's exit code 206 (installation phase).",
            "Shorten folder and file names in the package, or flatten its layout.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x8007_013A,
        message: "The physical resources of this disk have been exhausted.",
        phases: &[
            Phase::Download,
            Phase::IntegrityAndUnzip,
            Phase::Installation,
        ],
        source: Source::DeviceNetwork,
        causes: &[
            "The system drive ran out of space: the IME keeps the encrypted download, the \
             decrypted zip and the extracted files at once, about three times the content size.",
        ],
        checks: &[
            "Free space on C: against three times the package's unencrypted content size \
             (`intunewin info`).",
            "The app's disk-space requirement in Intune, so devices without room are skipped \
             instead of failing.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x8007_026B,
        message: "The specified hardware profile configuration is invalid.",
        phases: &[Phase::Installation],
        source: Source::Package,
        causes: &[
            "Usually not a Windows error: the installer exited with its own code 619 (0x26B), \
             which is not listed in the app's return codes.",
        ],
        checks: &[
            "AppWorkload.log: the installer's exit code; look up 619 in the vendor's \
             documentation or the installer's log.",
            "If 619 means success or reboot for this installer, add it to the app's return codes.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x8007_0520,
        message: "A specified logon session does not exist.",
        phases: &[Phase::PollingStart],
        source: Source::DeviceNetwork,
        causes: &[
            "The AAD user check ran for a user session that had already ended (sign-out, \
             fast user switching, a disconnected RDP session); the IME falls back to the \
             Graph audience. User-targeted apps wait for a signed-in user.",
        ],
        checks: &[
            "IntuneManagementExtension.log: `AAD User check is failed` and the user session \
             count; whether a user was signed in when the poll ran.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x8007_0642,
        message: "User cancelled installation.",
        phases: &[Phase::Installation],
        source: Source::Configuration,
        causes: &[
            "The installer exited with 1602 (ERROR_INSTALL_USEREXIT): a user, or a dialog the \
             installer showed and nobody answered, cancelled the installation.",
            "An installer run without its silent switch (/qn, /S, /quiet) waited for input and \
             was closed, or a user-context install was cancelled from the UI.",
        ],
        checks: &[
            "AppWorkload.log: the install command line and `lpExitCode 1602`; make sure it is \
             silent and runs in the intended context (system or user).",
            "Whether the app is allowed to interact (a required app installs while users work).",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x8007_0643,
        message: "Fatal error during installation.",
        phases: &[Phase::Installation],
        source: Source::Package,
        causes: &[
            "The installer exited with 1603, Windows Installer's generic failure: a custom \
             action failed, a prerequisite is missing, or a file was in use.",
        ],
        checks: &[
            "The MSI verbose log (add /l*v to the command line) and search for \"return value 3\".",
            "AppWorkload.log: the exact command line; run it as SYSTEM on a test device.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x8007_0652,
        message: "Another installation is already in progress.",
        phases: &[Phase::Installation],
        source: Source::DeviceNetwork,
        causes: &[
            "The installer exited with 1618: another Windows Installer session (Windows Update, \
             another app, a user install) held the MSI mutex. Intune retries this code by default.",
        ],
        checks: &[
            "AppWorkload.log: whether the later attempts succeeded; msiexec processes running on \
             the device at that time.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x8007_EA61,
        message: "Installer-defined exit code 60001.",
        phases: &[Phase::Installation],
        source: Source::Package,
        causes: &[
            "The installer exited with its own code 60001; in PSAppDeployToolkit this is its \
             generic error raised by the deployment script.",
        ],
        checks: &[
            "The toolkit's log (by default under C:\\Windows\\Logs\\Software) for the error that \
             ended the script.",
            "AppWorkload.log: the command line and exit code.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x8007_EA68,
        message: "Installer-defined exit code 60008.",
        phases: &[Phase::Installation],
        source: Source::Package,
        causes: &[
            "The installer exited with its own code 60008; in PSAppDeployToolkit this means the \
             toolkit itself failed to load (missing toolkit files in the package or a script \
             error in them).",
        ],
        checks: &[
            "`intunewin list` of the package: the toolkit's folder and files are present.",
            "Run the deployment script as SYSTEM on a test device to see the load error.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x87D1_041C,
        message: "The application was not detected after installation completed successfully.",
        phases: &[Phase::PostInstallDetection],
        source: Source::Configuration,
        causes: &[
            "The detection rule does not match what the installer creates: wrong path, version, \
             MSI product code, or a registry key read in the other (32/64-bit) view.",
            "The install ran in a different context or session from the one the rule looks at \
             (user profile versus SYSTEM).",
            "The installer returned before it finished (it started a child process), or the \
             status was not reported before the app was removed again.",
        ],
        checks: &[
            "AppWorkload.log: the detection result logged after the install; compare the rule \
             with the file, registry value or product code actually on the device.",
            "For an MSI product-code rule, compare it with `intunewin info` of the package \
             (MsiProductCode).",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x87D3_0000,
        message: "Unknown.",
        phases: &[Phase::Applicability, Phase::ExtendedRequirements],
        source: Source::Configuration,
        causes: &[
            "The last step succeeded but the current one ended without a result the IME can \
             report.",
            "Most often a requirement query failed: a requirement script errored, wrote nothing \
             or the wrong type to STDOUT, or a registry/file rule could not be read.",
        ],
        checks: &[
            "AppWorkload.log: the last step logged for the app's id before the error; the step \
             after it is the one that failed.",
            "Run the requirement script as SYSTEM (or as the user, as configured) with the same \
             32/64-bit setting and check its output and exit code.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x87D3_0065,
        message: "Failed to retrieve content information.",
        phases: &[Phase::ContentMetadata, Phase::IntegrityAndUnzip],
        source: Source::DeviceNetwork,
        causes: &[
            "The device could not get the app's content information from the Intune service: \
             no network, a proxy or TLS inspection in the way, or an expired device certificate.",
            "The app's content upload did not finish or was replaced while the device asked.",
            "Some reports show this code for an unzip failure; see 0x87D30067 if the log shows \
             the download finished.",
        ],
        checks: &[
            "IntuneManagementExtension.log: the content-info request for the app's id and the \
             status returned (FORMAT.md §11).",
            "In the portal, the app's content shows as uploaded; the device reaches the Intune \
             service endpoints.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x87D3_0067,
        message: "Error unzipping downloaded content.",
        phases: &[Phase::IntegrityAndUnzip],
        source: Source::Package,
        causes: &[
            "A path in the package is too long once placed under C:\\Windows\\IMECache\\<app>_<n>\\ \
             (about 199 characters of relative file path; FORMAT.md §12.1).",
            "A name Windows cannot create: reserved device names (CON, NUL, COM1...), forbidden \
             characters, a trailing dot or space, or two names that differ only in case.",
            "An entry .NET refuses to extract: a path with `..`, an absolute, drive or UNC \
             path, an empty component, or the same name twice.",
            "Antivirus locked or removed files during extraction, or the disk filled up.",
            "Some lists label this code \"Error downloading content\".",
        ],
        checks: &[
            "IntuneManagementExtension.log / AppWorkload.log: the exception logged while \
             unzipping (PathTooLongException, IOException, UnauthorizedAccessException) and the \
             entry it names.",
            "Run `intunewin check` on the source folder before packing again.",
            "Free space on C: and antivirus events for IMECache.",
        ],
        rules: UNZIP_RULES,
    },
    CodeInfo {
        code: 0x87D3_0068,
        message: "Error downloading content.",
        phases: &[Phase::Download],
        source: Source::DeviceNetwork,
        causes: &[
            "The download failed or was interrupted: proxy or firewall blocking the content \
             delivery network, an unstable connection, or a stalled Delivery Optimization/BITS job.",
            "The downloaded file failed the hash check (a corrupted transfer) or the disk was full.",
        ],
        checks: &[
            "IntuneManagementExtension.log: the download lines for the app's id and the status \
             or HTTP error returned.",
            "Delivery Optimization (Get-DeliveryOptimizationLog) and BITS \
             (Get-BitsTransfer -AllUsers) on the device; reachability of the content URL.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x87D3_006A,
        message: "The content delivery network timed out while downloading the content.",
        phases: &[Phase::Download],
        source: Source::DeviceNetwork,
        causes: &[
            "A slow or unstable connection for the size of the content, or a proxy throttling \
             or holding the transfer.",
        ],
        checks: &[
            "IntuneManagementExtension.log: the time between the download start and the timeout, \
             and the bytes transferred.",
            "Try on another network; consider making the package smaller.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x87D3_00C9,
        message: "Unmonitored process is in progress, however it may time out.",
        phases: &[Phase::Installation],
        source: Source::Package,
        causes: &[
            "The installer ran longer than the app's install time limit (60 minutes by default).",
            "The installer is waiting for input that no one can see: a missing silent switch, \
             a prompt or dialog in the SYSTEM session, a reboot prompt.",
            "The installer started a child process and waits on it.",
        ],
        checks: &[
            "AppWorkload.log: the command line, the process id started and when the timeout \
             was logged.",
            "Run the command as SYSTEM interactively (psexec -s -i) to see any prompt; check the \
             silent switches.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x87D3_00CA,
        message: "Client error.",
        phases: &[Phase::PollingStart],
        source: Source::DeviceNetwork,
        causes: &[
            "The IME agent itself failed rather than the app: its service stopped, crashed or \
             was repaired while the app was processed.",
        ],
        checks: &[
            "ClientHealth.log: the health evaluation's findings and any repair of the IME service.",
            "IntuneManagementExtension.log: exceptions around the app's id; the app is evaluated \
             again on the next cycle (about every 8 hours), or sooner after a sync.",
        ],
        rules: &[],
    },
    CodeInfo {
        code: 0x87D3_00CD,
        message: "The user logged off while the app policy was being processed.",
        phases: &[Phase::PollingStart, Phase::Installation],
        source: Source::DeviceNetwork,
        causes: &[
            "The app is assigned to a user or installs in user context, and the user signed \
             out, switched or restarted before processing finished.",
        ],
        checks: &[
            "IntuneManagementExtension.log: session changes for the user around the app's id.",
            "Retry while the user is signed in, or install in System context if the app does \
             not need the user.",
        ],
        rules: &[],
    },
];

/// The whole table of known codes, sorted by code.
pub fn table() -> &'static [CodeInfo] {
    CODES
}

/// The table entry for `code`, if it is known.
pub(crate) fn lookup(code: u32) -> Option<&'static CodeInfo> {
    CODES.iter().find(|info| info.code == code)
}

/// Everything known about a code; [`explain`] builds it.
///
/// A value from 0 to 0xFFFF is a bare installer exit code (or Win32 error number), not an
/// HRESULT: its [`decoded`](Self::decoded) severity and facility say nothing about it, and it
/// is read through [`installer_exit`](Self::installer_exit) instead
/// ([`is_exit_code`](Self::is_exit_code)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Explanation {
    /// The code explained.
    pub code: u32,
    /// Its signed 32-bit reading, as Intune's reports and Graph show it (`0x87D30067` is
    /// `-2016214937`).
    pub signed: i32,
    /// The table entry, when the code is one the IME reports and [`table`] knows.
    pub entry: Option<&'static CodeInfo>,
    /// The code's HRESULT fields, with the Win32 error a `0x8007xxxx` code (or a bare value)
    /// carries.
    pub decoded: Decoded,
    /// The installer exit code: the code itself when it is a bare one, or the one a
    /// `0x8007xxxx` HRESULT was made from; `None` for other codes.
    pub installer_exit: Option<InstallerExit>,
}

impl Explanation {
    /// Whether the code is a bare installer exit code (0 to 0xFFFF) rather than an HRESULT.
    pub fn is_exit_code(&self) -> bool {
        self.code <= 0xFFFF
    }
}

/// An installer's exit code and what the IME does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallerExit {
    /// The exit code.
    pub code: u32,
    /// What it means, for the common ones (Windows Installer's, which most setups follow).
    pub meaning: Option<&'static str>,
    /// What the IME does with it under the default return-code map a new Win32 app gets (0 and
    /// 1707 success, 3010 soft reboot, 1641 hard reboot, 1618 retry; any other code is a
    /// failure). An app's own map may differ: `diagnose --app` shows it.
    pub default_action: ExitAction,
    /// The code the IME reports when that map calls it a failure: `HRESULT_FROM_WIN32`,
    /// `0x80070000 | code` for 1 to 0xFFFF (1603 becomes 0x80070643); `None` when it is no
    /// failure.
    pub reported_as: Option<u32>,
}

impl InstallerExit {
    fn new(code: u32) -> Self {
        let default_action = default_exit_action(code);
        InstallerExit {
            code,
            meaning: exit_code_meaning(code),
            default_action,
            reported_as: exit_code_hresult(code).filter(|_| default_action == ExitAction::Failed),
        }
    }
}

/// Everything known about `code`: its table entry, its HRESULT fields and its installer exit
/// code (see [`Explanation`]).
pub fn explain(code: u32) -> Explanation {
    let exit = if code <= 0xFFFF {
        Some(code)
    } else {
        exit_code_of_hresult(code)
    };
    Explanation {
        code,
        signed: code as i32,
        entry: lookup(code),
        decoded: decode_hresult(code),
        installer_exit: exit.map(InstallerExit::new),
    }
}

/// Parses `0x87D30067`, `87D30067`, signed decimal `-2016214937`, unsigned decimal `2278752359`.
///
/// The rule, in order (surrounding whitespace ignored):
/// 1. a leading `-`: signed 32-bit decimal, reinterpreted as `u32`;
/// 2. a `0x`/`0X` prefix: up to 8 hex digits;
/// 3. hex digits including at least one letter `a`–`f`: up to 8 hex digits;
/// 4. exactly 8 decimal digits starting with `8`: hex, because that is how an HRESULT such as
///    `80070005` is copied without its prefix (the decimal reading, 80–89 million, is no
///    error code anyone reports);
/// 5. other decimal digits: unsigned decimal (`2147942405`, or a bare exit code like `1603`).
///
/// Anything else, or a value that does not fit in 32 bits, is `None`.
pub fn parse_code(text: &str) -> Option<u32> {
    let text = text.trim();
    if let Some(digits) = text.strip_prefix('-') {
        return parse_negative(digits);
    }
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return parse_hex(hex);
    }
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let has_letter = text.bytes().any(|b| b.is_ascii_alphabetic());
    if has_letter || (text.len() == 8 && text.starts_with('8')) {
        parse_hex(text)
    } else {
        parse_decimal(text)
    }
}

fn parse_hex(digits: &str) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

fn parse_decimal(digits: &str) -> Option<u32> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn parse_negative(digits: &str) -> Option<u32> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude: i64 = digits.parse().ok()?;
    let value = i32::try_from(-magnitude).ok()?;
    Some(value as u32)
}

/// A Win32 error number with its symbolic name and the gist of its system message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Win32Error {
    /// The error number (`GetLastError`, or an installer's exit code).
    pub number: u32,
    /// The `winerror.h` name.
    pub name: &'static str,
    /// What it means.
    pub message: &'static str,
}

/// Common Win32 errors met in app installs; Windows Installer's exit codes are Win32 errors too.
static WIN32_ERRORS: &[Win32Error] = &[
    win32(1, "ERROR_INVALID_FUNCTION", "Incorrect function."),
    win32(
        2,
        "ERROR_FILE_NOT_FOUND",
        "The system cannot find the file specified.",
    ),
    win32(
        3,
        "ERROR_PATH_NOT_FOUND",
        "The system cannot find the path specified.",
    ),
    win32(
        4,
        "ERROR_TOO_MANY_OPEN_FILES",
        "The system cannot open the file.",
    ),
    win32(5, "ERROR_ACCESS_DENIED", "Access is denied."),
    win32(
        8,
        "ERROR_NOT_ENOUGH_MEMORY",
        "Not enough memory to process this command.",
    ),
    win32(13, "ERROR_INVALID_DATA", "The data is invalid."),
    win32(
        32,
        "ERROR_SHARING_VIOLATION",
        "The file is being used by another process.",
    ),
    win32(87, "ERROR_INVALID_PARAMETER", "The parameter is incorrect."),
    win32(
        112,
        "ERROR_DISK_FULL",
        "There is not enough space on the disk.",
    ),
    win32(
        123,
        "ERROR_INVALID_NAME",
        "The file name, directory name or volume label syntax is incorrect.",
    ),
    win32(
        183,
        "ERROR_ALREADY_EXISTS",
        "Cannot create a file when that file already exists.",
    ),
    win32(
        206,
        "ERROR_FILENAME_EXCED_RANGE",
        "The file name or extension is too long.",
    ),
    win32(258, "WAIT_TIMEOUT", "The wait operation timed out."),
    win32(
        314,
        "ERROR_DISK_RESOURCES_EXHAUSTED",
        "The physical resources of this disk have been exhausted.",
    ),
    win32(
        619,
        "ERROR_INVALID_HW_PROFILE",
        "The specified hardware profile configuration is invalid.",
    ),
    win32(
        1223,
        "ERROR_CANCELLED",
        "The operation was canceled by the user.",
    ),
    win32(
        1602,
        "ERROR_INSTALL_USEREXIT",
        "The user cancelled the installation.",
    ),
    win32(
        1603,
        "ERROR_INSTALL_FAILURE",
        "Fatal error during installation.",
    ),
    win32(
        1612,
        "ERROR_INSTALL_SOURCE_ABSENT",
        "The installation source for this product is not available.",
    ),
    win32(
        1618,
        "ERROR_INSTALL_ALREADY_RUNNING",
        "Another installation is already in progress.",
    ),
    win32(
        1619,
        "ERROR_INSTALL_PACKAGE_OPEN_FAILED",
        "The installation package could not be opened.",
    ),
    win32(
        1620,
        "ERROR_INSTALL_PACKAGE_INVALID",
        "The installation package could not be opened (not a valid Windows Installer package).",
    ),
    win32(
        1625,
        "ERROR_INSTALL_PACKAGE_REJECTED",
        "The installation is forbidden by system policy.",
    ),
    win32(
        1633,
        "ERROR_INSTALL_PLATFORM_UNSUPPORTED",
        "The installation package is not supported on this platform.",
    ),
    win32(
        1638,
        "ERROR_PRODUCT_VERSION",
        "Another version of this product is already installed.",
    ),
    win32(
        1641,
        "ERROR_SUCCESS_REBOOT_INITIATED",
        "Success; the installer has started a restart.",
    ),
    win32(
        3010,
        "ERROR_SUCCESS_REBOOT_REQUIRED",
        "Success; a restart is required to complete the install.",
    ),
];

const fn win32(number: u32, name: &'static str, message: &'static str) -> Win32Error {
    Win32Error {
        number,
        name,
        message,
    }
}

/// The built-in description of Win32 error `number`, when known.
fn win32_error(number: u32) -> Option<&'static Win32Error> {
    WIN32_ERRORS.iter().find(|e| e.number == number)
}

/// What the IME does with an installer's exit code (the kinds of an app's return-code map).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitAction {
    /// Installed; detection runs next.
    Success,
    /// Installed; a restart is due but not forced.
    SoftReboot,
    /// Installed; the device restarts.
    HardReboot,
    /// Another installation was running: the IME tries again later.
    Retry,
    /// Failed: reported as the HRESULT of the code ([`InstallerExit::reported_as`]).
    Failed,
}

impl ExitAction {
    /// A stable kebab-case identifier, as in an app's return-code map.
    pub fn id(self) -> &'static str {
        match self {
            ExitAction::Success => "success",
            ExitAction::SoftReboot => "soft-reboot",
            ExitAction::HardReboot => "hard-reboot",
            ExitAction::Retry => "retry",
            ExitAction::Failed => "failed",
        }
    }
}

/// What the IME does with installer exit `code` under the default return-code map.
fn default_exit_action(code: u32) -> ExitAction {
    match code {
        0 | 1707 => ExitAction::Success,
        3010 => ExitAction::SoftReboot,
        1641 => ExitAction::HardReboot,
        1618 => ExitAction::Retry,
        _ => ExitAction::Failed,
    }
}

/// The code the IME reports when an installer exits with `code` and the app's return-code map
/// calls it a failure: `HRESULT_FROM_WIN32(code)`; larger codes, already HRESULTs, as they are.
fn exit_code_hresult(code: u32) -> Option<u32> {
    match code {
        0 => None,
        1..=0xFFFF => Some(0x8007_0000 | code),
        _ => Some(code),
    }
}

/// The installer exit code behind an HRESULT the IME reported for a failed install (the
/// reverse of [`exit_code_hresult`] for `0x8007xxxx`).
fn exit_code_of_hresult(code: u32) -> Option<u32> {
    (code >> 16 == 0x8007 && code & 0xFFFF != 0).then_some(code & 0xFFFF)
}

/// What common installer exit codes mean (Windows Installer's, which most setups follow).
static EXIT_CODES: &[(u32, &str)] = &[
    (0, "success"),
    (
        1602,
        "the user cancelled the installation (reported as 0x80070642)",
    ),
    (
        1603,
        "fatal error during installation: Windows Installer's generic failure (a custom \
            action failed, a prerequisite is missing, a file was in use)",
    ),
    (
        1605,
        "the product is not installed: an uninstall or a product-code check of something \
            absent (MSI detection logs it as `errorCode = 1605`)",
    ),
    (
        1618,
        "another installation is already in progress: the IME retries later",
    ),
    (
        1619,
        "the installation package could not be opened: wrong file name or path in the \
            command line, or the file is missing from the package",
    ),
    (
        1620,
        "the installation package could not be opened: not a valid Windows Installer \
            package (damaged, or not an MSI)",
    ),
    (
        1633,
        "this installation package is not supported on this processor type (x86/x64/ARM64 \
            mismatch)",
    ),
    (
        1638,
        "another version of this product is already installed: uninstall it first or use an \
            upgrade",
    ),
    (1641, "the installer started a restart: installed"),
    (1707, "installation operation completed successfully"),
    (
        3010,
        "a restart is required to complete the install: installed",
    ),
];

/// What installer exit `code` means, for the common ones.
fn exit_code_meaning(code: u32) -> Option<&'static str> {
    EXIT_CODES.iter().find(|(c, _)| *c == code).map(|(_, m)| *m)
}

/// HRESULT facility numbers with their `winerror.h` names (without `FACILITY_`).
static FACILITIES: &[(u16, &str)] = &[
    (0, "NULL"),
    (1, "RPC"),
    (2, "DISPATCH"),
    (3, "STORAGE"),
    (4, "ITF"),
    (7, "WIN32"),
    (8, "WINDOWS"),
    (9, "SECURITY"),
    (10, "CONTROL"),
    (11, "CERT"),
    (12, "INTERNET"),
    (15, "SETUPAPI"),
    (19, "URT (.NET)"),
    (23, "SXS"),
    (25, "HTTP"),
    (32, "BACKGROUNDCOPY (BITS)"),
    (36, "WINDOWSUPDATE"),
    (39, "SHELL"),
    (49, "FVE (BitLocker)"),
    (80, "WINDOWS_DEFENDER"),
    (208, "DELIVERY_OPTIMIZATION"),
];

/// Facilities 0x7D0–0x7D3 (codes `0x87D0xxxx`–`0x87D3xxxx`) are not in `winerror.h`: they are
/// the Configuration Manager client's, which the IME reuses for its app states.
const AGENT_FACILITIES: std::ops::RangeInclusive<u16> = 0x7D0..=0x7D3;

/// The name of HRESULT facility `facility`, when known.
fn facility_name(facility: u16) -> Option<&'static str> {
    if AGENT_FACILITIES.contains(&facility) {
        return Some("Configuration Manager / Intune Management Extension");
    }
    FACILITIES
        .iter()
        .find(|(number, _)| *number == facility)
        .map(|(_, name)| *name)
}

/// The HRESULT fields of a 32-bit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// The code itself.
    pub code: u32,
    /// Severity bit (bit 31) set: the code reports a failure.
    pub failure: bool,
    /// Customer bit (bit 29) set: defined by a vendor, not Microsoft.
    pub customer: bool,
    /// The facility (bits 16–26): which component defined the code.
    pub facility: u16,
    /// The facility's name, when known.
    pub facility_name: Option<&'static str>,
    /// The facility-specific code (bits 0–15).
    pub status: u16,
    /// The Win32 error number: for FACILITY_WIN32 failures (`0x8007xxxx`), and for a bare value
    /// below 0x10000 (a Win32 error or an installer's exit code given as is).
    pub win32: Option<u32>,
    /// That Win32 error's name and meaning, when known.
    pub win32_error: Option<&'static Win32Error>,
    /// For a bare value 1–0xFFFF, the `0x8007xxxx` form Intune reports it in (an installer
    /// exiting with 1603 shows as 0x80070643).
    pub hresult_from_win32: Option<u32>,
}

/// Splits `code` into its HRESULT fields and, where it carries one, its Win32 error.
pub(crate) fn decode_hresult(code: u32) -> Decoded {
    const FACILITY_WIN32: u16 = 7;
    let failure = code & 0x8000_0000 != 0;
    let customer = code & 0x2000_0000 != 0;
    let facility = ((code >> 16) & 0x7FF) as u16;
    let status = (code & 0xFFFF) as u16;
    let win32 = if failure && !customer && facility == FACILITY_WIN32 {
        Some(u32::from(status))
    } else if code <= 0xFFFF {
        Some(code)
    } else {
        None
    };
    Decoded {
        code,
        failure,
        customer,
        facility,
        facility_name: facility_name(facility),
        status,
        win32,
        win32_error: win32.and_then(win32_error),
        hresult_from_win32: (1..=0xFFFF).contains(&code).then_some(0x8007_0000 | code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule ids in the table are plain strings: each must be a rule of the classifier, and
    /// each rule's Intune code must list it (and list nothing else).
    #[test]
    fn rule_ids_match_the_path_classifier() {
        use crate::paths::Rule;
        let known: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
        for info in CODES {
            for id in info.rules {
                assert!(
                    known.contains(id),
                    "0x{:08X} names unknown rule '{id}'",
                    info.code
                );
            }
        }
        for rule in Rule::ALL {
            let listed_by: Vec<u32> = CODES
                .iter()
                .filter(|info| info.rules.contains(&rule.id()))
                .map(|info| info.code)
                .collect();
            let expected: Vec<u32> = rule.intune_code().into_iter().collect();
            // trailing-dot-or-space also predicts the install-time code it is listed under.
            if rule.id() == "trailing-dot-or-space" {
                assert!(listed_by.contains(&expected[0]), "{}", rule.id());
                continue;
            }
            assert_eq!(listed_by, expected, "rule '{}'", rule.id());
        }
    }

    /// Every code issue 7 asks for.
    const LISTED: [u32; 17] = [
        0x87D3_0065,
        0x87D3_0067,
        0x87D3_0068,
        0x87D3_006A,
        0x87D3_00C9,
        0x87D3_00CA,
        0x87D3_00CD,
        0x87D3_0000,
        0x87D1_041C,
        0x8007_0001,
        0x8007_0002,
        0x8007_0004,
        0x8007_EA61,
        0x8007_EA68,
        0x8007_0005,
        0x8007_013A,
        0x8007_026B,
    ];

    #[test]
    fn every_listed_code_is_in_the_table() {
        for code in LISTED {
            let info = lookup(code).unwrap_or_else(|| panic!("{code:#010X} missing"));
            assert_eq!(info.code, code);
            assert!(!info.message.is_empty());
            assert!(!info.phases.is_empty());
            assert!(!info.causes.is_empty());
            assert!(!info.checks.is_empty());
        }
    }

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in CODES.windows(2) {
            assert!(pair[0].code < pair[1].code, "{:#X}", pair[1].code);
        }
    }

    #[test]
    fn phases_of_an_entry_are_in_processing_order() {
        let order = |p: &Phase| Phase::ALL.iter().position(|q| q == p);
        for info in CODES {
            let positions: Vec<_> = info.phases.iter().map(order).collect();
            assert!(
                positions.windows(2).all(|w| w[0] < w[1]),
                "{:#X}",
                info.code
            );
        }
    }

    #[test]
    fn exit_codes_map_to_actions_and_hresults() {
        assert_eq!(default_exit_action(0), ExitAction::Success);
        assert_eq!(default_exit_action(1707), ExitAction::Success);
        assert_eq!(default_exit_action(3010), ExitAction::SoftReboot);
        assert_eq!(default_exit_action(1641), ExitAction::HardReboot);
        assert_eq!(default_exit_action(1618), ExitAction::Retry);
        assert_eq!(default_exit_action(1603), ExitAction::Failed);
        assert_eq!(exit_code_hresult(1603), Some(0x8007_0643));
        assert_eq!(exit_code_hresult(1602), Some(0x8007_0642));
        assert_eq!(exit_code_hresult(206), Some(0x8007_00CE));
        assert_eq!(exit_code_hresult(0), None);
        assert_eq!(exit_code_of_hresult(0x8007_0643), Some(1603));
        assert_eq!(exit_code_of_hresult(0x87D3_0067), None);
        for (code, _) in EXIT_CODES {
            if let Some(h) = exit_code_hresult(*code) {
                assert_eq!(exit_code_of_hresult(h), Some(*code));
            }
        }
    }

    #[test]
    fn unzip_code_is_predicted_by_the_path_rules() {
        let info = lookup(0x87D3_0067).unwrap();
        assert_eq!(info.rules, UNZIP_RULES);
        assert_eq!(info.source, Source::Package);
        assert_eq!(info.phases, &[Phase::IntegrityAndUnzip]);
        let codes_for_rule = |rule: &str| -> Vec<u32> {
            CODES
                .iter()
                .filter(|info| info.rules.contains(&rule))
                .map(|i| i.code)
                .collect()
        };
        assert_eq!(codes_for_rule("path-too-long"), [0x87D3_0067]);
        assert!(codes_for_rule("no-such-rule").is_empty());
    }

    #[test]
    fn unpredictable_codes_name_no_rule() {
        // FORMAT.md §12.2: not predictable at pack time.
        for code in [0x87D1_041C, 0x87D3_0065] {
            assert!(lookup(code).unwrap().rules.is_empty());
        }
    }

    #[test]
    fn lookup_of_unknown_code_is_none() {
        assert_eq!(lookup(0x8007_0020), None);
        assert_eq!(lookup(0), None);
    }

    #[test]
    fn parses_every_form() {
        let code = Some(0x87D3_0067);
        assert_eq!(parse_code("0x87D30067"), code);
        assert_eq!(parse_code("0X87d30067"), code);
        assert_eq!(parse_code("87D30067"), code);
        assert_eq!(parse_code("87d30067"), code);
        assert_eq!(parse_code("-2016214937"), code);
        assert_eq!(parse_code("2278752359"), code);
        assert_eq!(parse_code("  0x87D30067\n"), code);
    }

    #[test]
    fn eight_digits_starting_with_8_are_hex() {
        assert_eq!(parse_code("80070005"), Some(0x8007_0005));
        assert_eq!(parse_code("80004005"), Some(0x8000_4005));
        assert_eq!(parse_code("2147942405"), Some(0x8007_0005));
        assert_eq!(parse_code("1603"), Some(1603));
        assert_eq!(parse_code("70070005"), Some(70_070_005));
        assert_eq!(parse_code("800700050"), Some(800_700_050));
    }

    #[test]
    fn rejects_bad_input() {
        for text in [
            "",
            "-",
            "0x",
            "0x123456789",
            "87D3006Z",
            "xyz",
            "+5",
            "4294967296",
            "-2147483649",
            "--5",
            "0x-1",
            "1 2",
        ] {
            assert_eq!(parse_code(text), None, "{text:?}");
        }
        assert_eq!(parse_code("-2147483648"), Some(0x8000_0000));
        assert_eq!(parse_code("4294967295"), Some(u32::MAX));
    }

    #[test]
    fn signed_matches_intune_decimal() {
        assert_eq!(explain(0x87D1_041C).signed, -2_016_345_060);
        assert_eq!(explain(0x87D3_0067).signed, -2_016_214_937);
    }

    /// A bare value is an installer exit code, with its default action and the HRESULT a
    /// failure becomes; an `0x8007xxxx` HRESULT names the exit code it came from; other
    /// codes have none.
    #[test]
    fn explains_exit_codes_both_ways() {
        let e = explain(1603);
        assert!(e.is_exit_code());
        assert_eq!(e.entry, None);
        let exit = e.installer_exit.unwrap();
        assert_eq!(exit.code, 1603);
        assert!(exit.meaning.is_some());
        assert_eq!(exit.default_action, ExitAction::Failed);
        assert_eq!(exit.reported_as, Some(0x8007_0643));
        for (code, action) in [
            (0, ExitAction::Success),
            (1707, ExitAction::Success),
            (3010, ExitAction::SoftReboot),
            (1641, ExitAction::HardReboot),
            (1618, ExitAction::Retry),
        ] {
            let exit = explain(code).installer_exit.unwrap();
            assert_eq!(exit.default_action, action, "{code}");
            assert_eq!(exit.reported_as, None, "{code}");
            assert!(exit.meaning.is_some(), "{code}");
        }
        let e = explain(0x8007_0643);
        assert!(!e.is_exit_code());
        assert_eq!(e.entry.map(|i| i.code), Some(0x8007_0643));
        assert_eq!(e.installer_exit.map(|x| x.code), Some(1603));
        assert_eq!(explain(0x87D3_0067).installer_exit, None);
        assert_eq!(explain(0x8007_0000).installer_exit, None);
    }

    #[test]
    fn decodes_win32_hresult() {
        let d = decode_hresult(0x8007_0020);
        assert!(d.failure);
        assert!(!d.customer);
        assert_eq!(d.facility, 7);
        assert_eq!(d.facility_name, Some("WIN32"));
        assert_eq!(d.status, 0x20);
        assert_eq!(d.win32, Some(32));
        assert_eq!(
            d.win32_error.map(|e| e.name),
            Some("ERROR_SHARING_VIOLATION")
        );
    }

    #[test]
    fn decodes_win32_without_known_message() {
        let d = decode_hresult(0x8007_1234);
        assert_eq!(d.win32, Some(0x1234));
        assert_eq!(d.win32_error, None);
    }

    #[test]
    fn decodes_agent_facility() {
        let d = decode_hresult(0x87D3_1234);
        assert!(d.failure);
        assert_eq!(d.facility, 0x7D3);
        assert!(d.facility_name.is_some());
        assert_eq!(d.status, 0x1234);
        assert_eq!(d.win32, None);
    }

    #[test]
    fn decodes_bare_exit_code_as_win32() {
        let d = decode_hresult(1603);
        assert!(!d.failure);
        assert_eq!(d.win32, Some(1603));
        assert_eq!(d.win32_error.map(|e| e.name), Some("ERROR_INSTALL_FAILURE"));
        assert_eq!(d.hresult_from_win32, Some(0x8007_0643));
        assert_eq!(decode_hresult(0).hresult_from_win32, None);
        assert_eq!(decode_hresult(0x8007_0643).hresult_from_win32, None);
    }

    #[test]
    fn unknown_facility_has_no_name() {
        let d = decode_hresult(0xA123_0001);
        assert!(d.failure);
        assert!(d.customer);
        assert_eq!(d.facility, 0x123);
        assert_eq!(d.facility_name, None);
        assert_eq!(d.win32, None);
    }

    #[test]
    fn win32_table_covers_the_issue_list() {
        for n in [
            1, 2, 3, 5, 32, 112, 206, 314, 1223, 1603, 1618, 1619, 1620, 1633, 1638,
        ] {
            assert!(win32_error(n).is_some(), "{n}");
        }
        assert!(win32_error(1641).is_some() && win32_error(3010).is_some());
        assert_eq!(win32_error(9999), None);
    }
}
