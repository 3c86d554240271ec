//! What [`diagnose`](super::diagnose()) tells: the [`Diagnosis`] of a log set, one
//! [`AppStory`] per app (policy, phase steps, downloads, error history, retry schedule, ties
//! to other apps) and its [`Verdict`]. The types only; reading the logs into them is
//! `diagnose.rs`'s job.

use super::cmtrace::LocalTime;
use super::explain::Phase;
use super::logset::{FileStats, Ignored};

/// What the logs say about every app, and what was read.
#[derive(Debug, Clone, Default)]
pub struct Diagnosis {
    /// The apps, by name (apps without a name last, by id).
    pub apps: Vec<AppStory>,
    /// The files read, with what reading each found.
    pub files: Vec<FileSummary>,
    /// Files of a folder or zip that were left out.
    pub ignored: Vec<Ignored>,
    /// Records read in all.
    pub records: u64,
    /// Records diagnosis used: those about app processing, duplicates left out.
    pub used: u64,
    /// Records about app processing dropped as duplicates across overlapping files.
    pub duplicates: u64,
    /// IME agent versions the logs name (`Agent version is: …`).
    pub agent_versions: Vec<String>,
    /// First and last record time (local time of the device).
    pub span: Option<(LocalTime, LocalTime)>,
}

impl Diagnosis {
    /// Whether any app's verdict is [`Verdict::Failed`].
    pub fn any_failed(&self) -> bool {
        self.apps
            .iter()
            .any(|a| matches!(a.verdict, Verdict::Failed { .. }))
    }

    /// The app with this id (any case) or this exact name (any case).
    pub fn find_app(&self, id_or_name: &str) -> Option<&AppStory> {
        let wanted = id_or_name.trim();
        self.apps
            .iter()
            .find(|a| a.id.eq_ignore_ascii_case(wanted))
            .or_else(|| {
                self.apps.iter().find(|a| {
                    a.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
                })
            })
    }
}

/// One file of the set and what reading it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    /// The file as shown to the user.
    pub display: String,
    /// The component, from the name.
    pub component: &'static str,
    /// The rotation stamp, from the name.
    pub rotation: Option<String>,
    /// Records, cut records, bytes and garbage.
    pub stats: FileStats,
}

/// The assignment's intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Offered in Company Portal.
    Available,
    /// Installed without asking.
    Required,
    /// Removed.
    Uninstall,
    /// Another value of the policy's `Intent` field.
    Other(i64),
}

impl Intent {
    pub(super) fn from_policy(value: i64) -> Intent {
        match value {
            1 => Intent::Available,
            3 => Intent::Required,
            4 => Intent::Uninstall,
            other => Intent::Other(other),
        }
    }

    /// A stable kebab-case identifier (for JSON output).
    pub fn id(self) -> String {
        match self {
            Intent::Available => "available".into(),
            Intent::Required => "required".into(),
            Intent::Uninstall => "uninstall".into(),
            Intent::Other(n) => format!("intent-{n}"),
        }
    }
}

/// An app's policy, from the latest `Get policies` JSON that lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppPolicy {
    /// The app's content version.
    pub version: Option<i64>,
    /// The install command line.
    pub install_command: Option<String>,
    /// The uninstall command line.
    pub uninstall_command: Option<String>,
    /// The setup file.
    pub setup_file: Option<String>,
    /// Detection rules, one line each (`ProductCode {…}`, `registry …`, `file …`, `script`).
    pub detection_rules: Vec<String>,
    /// The built-in requirements as the policy gives them (JSON text).
    pub requirements: Option<String>,
    /// Number of extended (script, file, registry) requirement rules.
    pub extended_requirements: usize,
    /// The return-code map: installer exit code and what it means.
    pub return_codes: Vec<(i64, &'static str)>,
    /// Install behaviour (JSON text: run as, retries, retry interval, maximum run time).
    pub install_ex: Option<String>,
    /// Delivery Optimization priority (0 background, 1 foreground).
    pub do_priority: Option<i64>,
    /// Ids of the apps this one depends on or supersedes (`FlatDependencies`).
    pub dependencies: Vec<String>,
}

/// What a phase step came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Started; no end seen.
    Started,
    /// Ended well (detected, applicable, downloaded, installed, ...).
    Succeeded,
    /// Ended with the app not detected (a result, not an error).
    NotDetected,
    /// Ended with the app not applicable.
    NotApplicable,
    /// Ran out of time (a download may go on in the background).
    TimedOut,
    /// Failed.
    Failed,
}

impl Outcome {
    /// A stable kebab-case identifier (for JSON output).
    pub fn id(self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::Succeeded => "succeeded",
            Outcome::NotDetected => "not-detected",
            Outcome::NotApplicable => "not-applicable",
            Outcome::TimedOut => "timed-out",
            Outcome::Failed => "failed",
        }
    }
}

/// One step of an app's processing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseStep {
    /// The phase.
    pub phase: Phase,
    /// When it started.
    pub start: LocalTime,
    /// When it ended, if seen.
    pub end: Option<LocalTime>,
    /// What it came to.
    pub outcome: Outcome,
    /// What the log says, in short.
    pub detail: String,
}

impl PhaseStep {
    /// Milliseconds from start to end.
    pub fn duration_ms(&self) -> Option<i64> {
        self.end.map(|end| self.start.millis_until(&end))
    }
}

/// An error the app had, from a status report, a report delta or a content request: each
/// code once, with every kind of line that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastError {
    /// When a log line first carried it.
    pub first_seen: LocalTime,
    /// When a log line last carried it.
    pub last_seen: LocalTime,
    /// The code.
    pub code: u32,
    /// The enforcement state reported with it (5000 error, ...), when given.
    pub enforcement_state: Option<i64>,
    /// The kinds of line that carried it, in the order first seen.
    pub sources: Vec<&'static str>,
}

/// How content was downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Delivery Optimization (or BITS) job.
    DeliveryOptimization,
    /// Direct from the CDN.
    Cdn,
}

/// One download of an app's content (a DO job, resumed across check-ins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Download {
    /// The DO/BITS job id.
    pub job_id: Option<String>,
    /// DO or CDN, when said.
    pub via: Option<Via>,
    /// The priority the IME set (`BG_JOB_PRIORITY_NORMAL`, `…_FOREGROUND`).
    pub priority: Option<String>,
    /// How long the IME waited for the job, in ms (1,800,000: background; 43,200,000:
    /// foreground).
    pub timeout_ms: Option<u64>,
    /// When the download started.
    pub started: Option<LocalTime>,
    /// Content size in bytes.
    pub bytes_total: Option<u64>,
    /// Bytes transferred at the latest progress line.
    pub bytes_done: Option<u64>,
    /// When the IME stopped waiting.
    pub timed_out_at: Option<LocalTime>,
    /// The IME said the download goes on in the background.
    pub background: bool,
    /// When the job was resumed at later check-ins, with the bytes it had then.
    pub resumed: Vec<Resume>,
    /// When the job finished (`JobTransferred callback`, `download completes`).
    pub finished_at: Option<LocalTime>,
}

impl Download {
    /// Whether the wait shows a background-priority job: `Some(true)` for 1,800,000 ms,
    /// `Some(false)` for 43,200,000 ms, `None` otherwise.
    pub fn background_priority(&self) -> Option<bool> {
        match self.timeout_ms {
            Some(1_800_000) => Some(true),
            Some(43_200_000) => Some(false),
            _ => None,
        }
    }

    /// Milliseconds from start to finish.
    pub fn duration_ms(&self) -> Option<i64> {
        Some(self.started?.millis_until(&self.finished_at?))
    }

    /// Average rate in bytes per second from start to finish.
    pub fn rate_bytes_per_sec(&self) -> Option<u64> {
        let ms = self.duration_ms().filter(|ms| *ms > 0)?;
        Some(self.bytes_total? * 1000 / ms as u64)
    }
}

/// A download job resumed at a later check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    /// When.
    pub at: LocalTime,
    /// Bytes transferred at that point, when logged.
    pub bytes_done: Option<u64>,
}

/// The app's retry schedule (GRS: the time of the last failed attempt, kept by the IME).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retry {
    /// The GRS time as logged (UTC on the device), when one was found.
    pub grs_time: Option<String>,
    /// Whether the IME found it expired (the app may be retried) at its last check.
    pub expired: Option<bool>,
    /// When that check was logged.
    pub checked_at: Option<LocalTime>,
    /// When the IME cleared it so that the next check-in enforces the app again.
    pub cleared_at: Option<LocalTime>,
    /// When the IME will try the app again (device time), when the logs support a time.
    pub next_attempt: Option<LocalTime>,
    /// Whether `next_attempt` is the expected time (the next check-in the IME scheduled)
    /// rather than a lower bound ("not before").
    pub next_attempt_firm: bool,
    /// What `next_attempt` is based on, or why the logs support no time.
    pub next_attempt_basis: Option<String>,
}

/// How another app is tied to this one by the policy's `FlatDependencies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    /// This app depends on the other; `auto_install`: the IME installs it even when it is
    /// not assigned (otherwise it must be detected).
    DependsOn {
        /// Installed automatically.
        auto_install: bool,
    },
    /// The other app depends on this one.
    RequiredBy {
        /// Installed automatically.
        auto_install: bool,
    },
    /// This app supersedes the other; `uninstall`: it replaces it (the other is removed).
    Supersedes {
        /// The superseded app is uninstalled.
        uninstall: bool,
    },
    /// The other app supersedes this one.
    SupersededBy {
        /// This app is uninstalled.
        uninstall: bool,
    },
}

impl RelationKind {
    /// A stable kebab-case identifier (for JSON output).
    pub fn id(self) -> &'static str {
        match self {
            RelationKind::DependsOn { .. } => "depends-on",
            RelationKind::RequiredBy { .. } => "required-by",
            RelationKind::Supersedes { .. } => "supersedes",
            RelationKind::SupersededBy { .. } => "superseded-by",
        }
    }

    /// The kind from a `FlatDependencies` action (0 detect, 10 install: dependency; 100
    /// update, 110 replace: supersedence), seen from the parent.
    pub(super) fn from_action(action: i64) -> RelationKind {
        if action >= 100 {
            RelationKind::Supersedes {
                uninstall: action >= 110,
            }
        } else {
            RelationKind::DependsOn {
                auto_install: action == 10,
            }
        }
    }

    /// The same tie seen from the other app.
    pub(super) fn reverse(self) -> RelationKind {
        match self {
            RelationKind::DependsOn { auto_install } => RelationKind::RequiredBy { auto_install },
            RelationKind::RequiredBy { auto_install } => RelationKind::DependsOn { auto_install },
            RelationKind::Supersedes { uninstall } => RelationKind::SupersededBy { uninstall },
            RelationKind::SupersededBy { uninstall } => RelationKind::Supersedes { uninstall },
        }
    }
}

/// Another app this one depends on, supersedes, or is needed or superseded by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// The other app's id (lower case).
    pub app_id: String,
    /// How it is tied to this app.
    pub kind: RelationKind,
}

/// What became of the app, by the latest evidence in the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Installed (or removed, for an uninstall) as intended.
    Succeeded,
    /// Failed in `phase`, with `code` when the logs give one.
    Failed {
        /// The failing phase.
        phase: Phase,
        /// The code reported.
        code: Option<u32>,
    },
    /// Still being processed (a download going on in the background, ...).
    InProgress,
    /// Not applicable to this device (requirements, assignment filters).
    NotApplicable,
    /// The logs do not say; `missing` names the evidence that would.
    Unknown {
        /// What is missing.
        missing: String,
    },
}

impl Verdict {
    /// A stable kebab-case identifier (for JSON output).
    pub fn id(&self) -> &'static str {
        match self {
            Verdict::Succeeded => "succeeded",
            Verdict::Failed { .. } => "failed",
            Verdict::InProgress => "in-progress",
            Verdict::NotApplicable => "not-applicable",
            Verdict::Unknown { .. } => "unknown",
        }
    }
}

/// Everything the logs say about one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppStory {
    /// The app id (lower case).
    pub id: String,
    /// The name, from the policy or a content request.
    pub name: Option<String>,
    /// The intent, from the policy or the action processor.
    pub intent: Option<Intent>,
    /// The policy.
    pub policy: Option<AppPolicy>,
    /// The verdict.
    pub verdict: Verdict,
    /// When the evidence deciding the verdict was logged.
    pub verdict_at: Option<LocalTime>,
    /// The evidence deciding the verdict, in short.
    pub verdict_reason: String,
    /// The processing steps, in time order.
    pub phases: Vec<PhaseStep>,
    /// Errors reported for the app, oldest first, each code once.
    pub error_history: Vec<PastError>,
    /// Content downloads.
    pub downloads: Vec<Download>,
    /// The retry schedule.
    pub retry: Retry,
    /// ESP phase, when logged for the app's processing.
    pub esp_phase: Option<String>,
    /// First and last line naming the app.
    pub seen: (LocalTime, LocalTime),
    /// Its dependencies and supersedence ties, both ways, from the policies.
    pub relations: Vec<Relation>,
    /// The app and those tied to it, in the order the IME last evaluated them for
    /// enforcement in one subgraph (empty when no such run is logged).
    pub processing_order: Vec<String>,
    /// When that run started (`Processing subgraph with app ids: …`).
    pub processed_at: Option<LocalTime>,
    /// Dependencies whose verdict is failed while this app is not installed: why it was
    /// not (the IME holds an app back until its dependencies are installed).
    pub blocked_by: Vec<String>,
}

impl AppStory {
    /// The first failing step of the app's latest attempt, when it failed.
    pub fn failing_step(&self) -> Option<&PhaseStep> {
        let Verdict::Failed { phase, .. } = self.verdict else {
            return None;
        };
        self.phases
            .iter()
            .rev()
            .find(|s| s.phase == phase && matches!(s.outcome, Outcome::Failed))
    }

    /// Whether the logs only name the app in passing: no name, no policy, no verdict (reports
    /// fold such apps out of the way; they are kept in the model).
    pub fn is_faceless(&self) -> bool {
        self.name.is_none()
            && self.policy.is_none()
            && matches!(self.verdict, Verdict::Unknown { .. })
    }

    /// The phase that decided the verdict, the same in every report: the failing phase of a
    /// failed app; for a succeeded one the detection (or install) that showed it installed,
    /// else its last completed step; for a not-applicable one the step that found it so;
    /// otherwise the last step seen.
    pub fn verdict_phase(&self) -> Option<Phase> {
        let done = |s: &&PhaseStep| matches!(s.outcome, Outcome::Succeeded | Outcome::NotDetected);
        let installed_by = |s: &&PhaseStep| {
            matches!(
                s.phase,
                Phase::PostInstallDetection | Phase::PreInstallDetection | Phase::Installation
            )
        };
        let step = match self.verdict {
            Verdict::Failed { phase, .. } => return Some(phase),
            Verdict::Succeeded => self
                .phases
                .iter()
                .rev()
                .filter(done)
                .find(installed_by)
                .or_else(|| self.phases.iter().rev().find(done)),
            Verdict::NotApplicable => self
                .phases
                .iter()
                .rev()
                .find(|s| s.outcome == Outcome::NotApplicable),
            _ => self.phases.last(),
        };
        step.map(|s| s.phase)
    }
}
