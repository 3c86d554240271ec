//! Why a Win32 app did or did not install, read from the IME logs (`intunewin diagnose`).
//!
//! [`diagnose`] reads a [`LogSet`] into one [`Timeline`] of the records that matter, then
//! follows every app through it: its policy (from the `Get policies` JSON), the phases the
//! log lines mark (catalogued from real logs in the shared `imelogs/MARKERS.md`), its
//! downloads, the errors its status reports carry (also those whose own lines rotated away),
//! and its retry schedule (GRS). Lines without an app id are joined to one by thread (the
//! IME log's half of a download) and by download job id (`JobTransferred callback`).
//!
//! Verdicts are honest: an app has failed only when a status report or a phase line says so,
//! it is in progress when its latest evidence is a running step, and it is
//! [`Verdict::Unknown`] with the evidence that is missing otherwise. The `type` attribute is
//! never used: in IME logs it is no severity.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::cmtrace::{LocalTime, Record};
use super::explain::{self, Phase};
use super::logset::{LogSet, LogSetError};
use super::story::{
    AppPolicy, AppStory, Diagnosis, Download, FileSummary, Intent, Outcome, PastError, PhaseStep,
    Relation, RelationKind, Resume, Retry, Verdict, Via,
};
use super::timeline::{Entry, Timeline, guids};

/// Reads `set` and tells every app's story.
pub fn diagnose(set: &LogSet) -> Result<Diagnosis, LogSetError> {
    diagnose_observing(set, |_| {})
}

/// [`diagnose`], showing `observe` every record as it is read, also those diagnosis leaves
/// out, so that one read of the logs serves both (`--redact` learns identifiers this way).
pub(crate) fn diagnose_observing(
    set: &LogSet,
    mut observe: impl FnMut(&Record),
) -> Result<Diagnosis, LogSetError> {
    let timeline = Timeline::read(set, |record| {
        observe(record);
        relevant(record)
    })?;
    let mut builder = Builder::default();
    for entry in &timeline.entries {
        builder.feed(entry);
    }
    let span = span(&timeline);
    let agent_versions = std::mem::take(&mut builder.agent_versions);
    let files = set
        .files
        .iter()
        .zip(&timeline.stats)
        .map(|(file, stats)| FileSummary {
            display: file.display.clone(),
            component: file.log.kind.name(),
            rotation: file.log.rotation.clone(),
            stats: *stats,
        })
        .collect();
    Ok(Diagnosis {
        apps: builder.finish(),
        files,
        ignored: set.ignored.clone(),
        records: timeline.records,
        used: timeline.entries.len() as u64,
        duplicates: timeline.duplicates,
        agent_versions,
        span,
    })
}

fn span(timeline: &Timeline) -> Option<(LocalTime, LocalTime)> {
    let mut times = timeline.entries.iter().filter(|e| e.timed).map(|e| e.time);
    let first = times.next()?;
    Some((first, times.next_back().unwrap_or(first)))
}

/// The records diagnosis reads (most of an IME log is about scripts and check-ins).
fn relevant(record: &Record) -> bool {
    const MARKS: [&str; 13] = [
        "Win32App",
        "Add File to the Job",
        "Get policies",
        "Get content info",
        "DO Job",
        "Waiting ",
        "Jobs failed",
        "JobTransferred",
        "JobError",
        "Job has failed",
        "Agent version is",
        "[StatusService]",
        "Installation is done",
    ];
    MARKS.iter().any(|m| record.message.contains(m))
}

/// The latest state evidence for an app.
#[derive(Debug, Clone)]
struct State {
    verdict: Verdict,
    at: LocalTime,
    reason: String,
}

#[derive(Default)]
struct Builder {
    apps: BTreeMap<String, App>,
    thread_app: HashMap<String, String>,
    job_app: HashMap<String, String>,
    agent_versions: Vec<String>,
    esp: HashMap<String, String>,
    /// The DO job a thread of the IME log created last (`DO Job Id = …`).
    thread_job: HashMap<String, String>,
    /// Whether any AppWorkload.log record was read (where installs are logged since IME 2408).
    saw_appworkload: bool,
    /// The policies' `FlatDependencies`: policy id → (parent, other app, action), latest
    /// policy.
    ties: BTreeMap<String, Vec<Tie>>,
    /// Subgraph processing runs of two apps or more, in log order.
    runs: Vec<Run>,
    /// The run a thread is in.
    thread_run: HashMap<String, usize>,
    /// The schedule facts that hold for every app.
    clock: Clock,
}

/// One `FlatDependencies` entry: parent id, the other app's id, the action.
type Tie = (String, String, i64);

/// One `Processing subgraph with app ids: …` run and the order its apps were evaluated in.
struct Run {
    at: LocalTime,
    ids: Vec<String>,
    order: Vec<String>,
}

/// Device-wide schedule facts: UTC offset, check-in timer, subgraph re-evaluation times.
#[derive(Default)]
struct Clock {
    /// Device local time minus UTC, in seconds (from a UTC "now" logged with its record).
    utc_offset: Option<i64>,
    /// The check-in timer: when it was last set and its interval in ms.
    checkin: Option<(LocalTime, u64)>,
    /// Subgraph hash → re-evaluation time (UTC) last set or found.
    subgraph_times: HashMap<String, LocalTime>,
    /// The latest record time read.
    last: Option<LocalTime>,
}

struct App {
    story: AppStory,
    state: Option<State>,
    installed_in_attempt: bool,
    /// The latest real GRS time (UTC) and when a line gave it.
    grs: Option<(LocalTime, LocalTime)>,
    /// The subgraph hash the GRS lines name.
    subgraph: Option<String>,
    /// The policy's `ReevaluationInterval` (minutes).
    reevaluation_min: Option<i64>,
    /// When the action processor last skipped the app because it is in GRS.
    skipped_in_grs: Option<LocalTime>,
}

impl Builder {
    fn app(&mut self, id: &str, at: LocalTime) -> &mut App {
        let id = id.to_ascii_lowercase();
        let app = self.apps.entry(id.clone()).or_insert_with(|| App {
            story: AppStory {
                id,
                name: None,
                intent: None,
                policy: None,
                verdict: Verdict::Unknown {
                    missing: String::new(),
                },
                verdict_at: None,
                verdict_reason: String::new(),
                phases: Vec::new(),
                error_history: Vec::new(),
                downloads: Vec::new(),
                retry: Retry::default(),
                esp_phase: None,
                seen: (at, at),
                relations: Vec::new(),
                processing_order: Vec::new(),
                processed_at: None,
                blocked_by: Vec::new(),
            },
            state: None,
            installed_in_attempt: false,
            grs: None,
            subgraph: None,
            reevaluation_min: None,
            skipped_in_grs: None,
        });
        app.story.seen.1 = at;
        app
    }

    fn feed(&mut self, e: &Entry) {
        let msg = e.message.as_str();
        self.saw_appworkload |= e.component == "AppWorkload";
        if let Some(job) = msg.strip_prefix("DO Job Id = ") {
            if let Some(job) = guids(job).next() {
                self.thread_job
                    .insert(e.thread.clone(), job.to_ascii_lowercase());
            }
            return;
        }
        if let Some(v) = after(msg, "Agent version is:") {
            let v = v.trim().to_owned();
            if !v.is_empty() && !self.agent_versions.contains(&v) {
                self.agent_versions.push(v);
            }
            return;
        }
        if let Some(json) = msg.strip_prefix("Get policies = ") {
            self.policies(json, e.time);
            return;
        }
        if e.timed {
            self.clock.last = Some(e.time);
        }
        if self.clock.schedule_line(msg, e.time) {
            return;
        }
        if let Some(ids) =
            msg.strip_prefix("[Win32App][V3Processor] Processing subgraph with app ids: ")
        {
            self.subgraph_run(ids, e);
        }
        if let Some(grs) = msg.strip_prefix("[Win32App][GRSManager] ")
            && (grs.starts_with("Found GRS value: ") || grs.starts_with("Saved GRS value: "))
        {
            // The key ends with the app's id (…\GRS\<hash>\<app>); the thread's app may differ.
            if let Some(id) = guids(msg).last().map(str::to_ascii_lowercase)
                && let Some(app) = self.apps.get_mut(&id)
            {
                app.grs(msg, e.time);
            }
            return;
        }
        if let Some(phase) = after(msg, "The EspPhase: ") {
            let phase = phase
                .trim_end_matches(['.', ' '])
                .split(' ')
                .next()
                .unwrap_or("");
            self.esp.insert(e.thread.clone(), phase.to_owned());
        }
        if let Some(id) = app_id(msg) {
            self.thread_app
                .insert(e.thread.clone(), id.to_ascii_lowercase());
            self.with_app(&id.to_ascii_lowercase(), e);
        } else if let Some(job) = job_of(msg) {
            if let Some(id) = self.job_app.get(&job).cloned() {
                self.job_line(&id, &job, e);
            } else if let Some(id) = self.thread_app.get(&e.thread).cloned() {
                self.job_line(&id, &job, e);
            }
        } else if let Some(id) = self.thread_app.get(&e.thread).cloned() {
            self.thread_line(&id, e);
        }
    }

    fn policies(&mut self, json: &str, at: LocalTime) {
        let Ok(Value::Array(list)) = serde_json::from_str::<Value>(json) else {
            return;
        };
        for item in &list {
            let Some(id) = item.get("Id").and_then(Value::as_str) else {
                continue;
            };
            let app = self.app(id, at);
            if let Some(name) = item.get("Name").and_then(Value::as_str) {
                app.story.name = Some(name.to_owned());
            }
            if let Some(intent) = item.get("Intent").and_then(Value::as_i64) {
                app.story.intent = Some(Intent::from_policy(intent));
            }
            app.story.policy = Some(policy(item));
            app.reevaluation_min = item.get("ReevaluationInterval").and_then(Value::as_i64);
            let ties = flat_dependencies(item);
            self.ties.insert(id.to_ascii_lowercase(), ties);
        }
    }

    /// A subgraph of two apps or more starts on this thread.
    fn subgraph_run(&mut self, ids: &str, e: &Entry) {
        let ids: Vec<String> = guids(ids).map(str::to_ascii_lowercase).collect();
        if ids.len() < 2 {
            self.thread_run.remove(&e.thread);
            return;
        }
        self.thread_run.insert(e.thread.clone(), self.runs.len());
        self.runs.push(Run {
            at: e.time,
            ids,
            order: Vec::new(),
        });
    }

    /// An action-processor line evaluating `id` for enforcement: its place in the run.
    fn evaluated(&mut self, id: &str, thread: &str) {
        let Some(run) = self
            .thread_run
            .get(thread)
            .and_then(|i| self.runs.get_mut(*i))
        else {
            return;
        };
        if run.ids.iter().any(|i| i == id) && !run.order.iter().any(|i| i == id) {
            run.order.push(id.to_owned());
        }
    }

    /// A line naming the app.
    fn with_app(&mut self, id: &str, e: &Entry) {
        let msg = e.message.as_str();
        let t = e.time;
        let esp = self.esp.get(&e.thread).cloned();
        let thread_job = self.thread_job.get(&e.thread).cloned();
        let app = self.app(id, t);
        if esp.is_some() {
            app.story.esp_phase = esp;
        }
        if msg.starts_with("Add File to the Job") {
            // The IME log's half of a DO download: the file id ends with the app id.
            let job = thread_job;
            let d = app.download_for_job(job.as_deref(), t);
            d.via = Some(Via::DeliveryOptimization);
            if let Some(job) = job {
                self.job_app.insert(job, id.to_owned());
            }
            return;
        }
        if let Some(json) = after(msg, "ReportingState: ") {
            app.report(json, t, "reporting state at agent start");
        } else if let Some(json) = after(msg, "based on report: ") {
            app.report(json, t, "status report");
        } else if let Some(json) = after(msg, "Report delta: ") {
            app.delta(json, t);
        } else if let Some(json) = after(msg, "content info request is ") {
            app.content_request(json, t);
        } else if msg.contains("Downloading app on session") {
            app.installed_in_attempt = false;
            app.step(
                Phase::ContentMetadata,
                t,
                Outcome::Started,
                "content info requested",
            );
        } else if msg.starts_with("Get content info from service") {
            app.end(
                Phase::ContentMetadata,
                t,
                Outcome::Succeeded,
                "content info received",
            );
        } else if msg.contains("[DetectionActionHandler] Detection for policy") {
            app.detection(msg, t);
        } else if msg.contains("[ApplicabilityActionHandler] Applicability check") {
            app.applicability(msg, t);
        } else if msg.contains("[DownloadActionHandler] Handler invoked") {
            app.step(
                Phase::Download,
                t,
                Outcome::Started,
                "download handler invoked",
            );
        } else if msg.contains("Content cache miss") {
            app.download_mut(t);
        } else if let Some(rest) = after(msg, "[StatusService] Downloading app") {
            app.progress_line(rest, t);
        } else if msg.contains("DO Job: ") && msg.contains(" is in progress for app:") {
            let job = guids(msg).next().map(str::to_ascii_lowercase);
            let total = number_after(msg, "bytes total:");
            let done = number_after(msg, "bytes transfered:");
            let d = app.download_for_job(job.as_deref(), t);
            d.bytes_total = total.or(d.bytes_total);
            d.bytes_done = done.or(d.bytes_done);
            if let Some(job) = job {
                self.job_app.insert(job, id.to_owned());
            }
        } else if msg.contains("DO Job: resume job") {
            let job = guids(msg).next().map(str::to_ascii_lowercase);
            let d = app.download_for_job(job.as_deref(), t);
            let bytes_done = d.bytes_done;
            d.resumed.push(Resume { at: t, bytes_done });
            d.via = Some(Via::DeliveryOptimization);
            app.step(
                Phase::Download,
                t,
                Outcome::Started,
                "download resumed (DO job)",
            );
            app.set_state(Verdict::InProgress, t, "download resumed in the background");
        } else if msg.contains("[ExecutionActionHandler] Handler invoked") {
            app.installed_in_attempt = true;
            app.step(
                Phase::Installation,
                t,
                Outcome::Started,
                "install handler invoked",
            );
        } else if msg.contains("[GRSManager]") {
            app.grs(msg, t);
        } else if msg.starts_with("[Win32App][ActionProcessor]") && evaluates(msg) {
            if msg.contains(" is in GRS.") {
                app.skipped_in_grs = Some(t);
            }
            let thread = e.thread.clone();
            self.evaluated(id, &thread);
        } else if msg.contains("[ActionProcessor] App with id:") {
            if let Some(intent) = between(msg, "targeted intent: ", ",") {
                app.story.intent = app.story.intent.or(match intent {
                    "RequiredInstall" => Some(Intent::Required),
                    "RequiredUninstall" => Some(Intent::Uninstall),
                    "AvailableInstall" => Some(Intent::Available),
                    _ => None,
                });
            }
        } else if let Some(name) = between(msg, ", name = ", ")") {
            app.story.name.get_or_insert_with(|| name.to_owned());
        }
    }

    /// An app-less line on a thread that last named an app.
    fn thread_line(&mut self, id: &str, e: &Entry) {
        let msg = e.message.as_str();
        let t = e.time;
        let app = self.app(id, t);
        if let Some(job) = after(msg, "[Win32App DO] DO Job Id is ") {
            let job = job.trim().to_ascii_lowercase();
            let d = app.download_mut(t);
            d.job_id = Some(job.clone());
            d.via = Some(Via::DeliveryOptimization);
            self.job_app.insert(job, id.to_owned());
        } else if let Some(p) = after(msg, "DO Job set priority is ") {
            app.download_mut(t).priority = Some(p.trim().to_owned());
        } else if let Some(rest) = after(msg, "Waiting ")
            && rest.contains(" ms for ")
        {
            if let Some(ms) = rest.split(' ').next().and_then(|n| n.parse().ok()) {
                app.download_mut(t).timeout_ms = Some(ms);
            }
        } else if msg.starts_with("Jobs failed to complete within timeout") {
            let d = app.download_mut(t);
            d.timed_out_at.get_or_insert(t);
        } else if msg.contains("Execution completed with action status: Timeout") {
            let background = msg.contains("download running in background: True");
            let d = app.download_mut(t);
            d.timed_out_at.get_or_insert(t);
            d.background |= background;
            app.end(
                Phase::Download,
                t,
                Outcome::TimedOut,
                "download wait timed out",
            );
            if background {
                app.set_state(
                    Verdict::InProgress,
                    t,
                    "download still running in the background",
                );
            }
        } else if msg.contains("[DownloadActionHandler] Handler completed with action status: ") {
            let status = after(msg, "action status: ")
                .unwrap_or("")
                .trim_end_matches('.');
            let outcome = match status {
                "Success" => Outcome::Succeeded,
                "Timeout" => Outcome::TimedOut,
                _ => Outcome::Failed,
            };
            app.end(
                Phase::Download,
                t,
                outcome,
                &format!("download handler: {status}"),
            );
        } else if msg.contains("CDN mode, download completes") {
            let d = app.download_mut(t);
            d.via = Some(Via::Cdn);
            d.finished_at = Some(t);
            app.end(
                Phase::Download,
                t,
                Outcome::Succeeded,
                "downloaded from the CDN",
            );
        } else if msg.contains("hmac validation is pass") || msg.contains("starts decrypting") {
            app.step(
                Phase::IntegrityAndUnzip,
                t,
                Outcome::Started,
                "hash checked, decrypting",
            );
        } else if msg.contains("Decryption is done successfully") {
            app.end(Phase::IntegrityAndUnzip, t, Outcome::Succeeded, "decrypted");
        } else if msg.contains("Launch Win32AppInstaller") {
            app.installed_in_attempt = true;
            app.step(
                Phase::Installation,
                t,
                Outcome::Started,
                "installer launched",
            );
        } else if let Some(code) = after(msg, "lpExitCode ") {
            app.installed_in_attempt = true;
            if let Ok(code) = code.trim().parse::<i64>() {
                app.exit_code(code, t);
            }
        } else if msg.contains("result of requirementMet: False") {
            app.step(
                Phase::ExtendedRequirements,
                t,
                Outcome::NotApplicable,
                "requirement script not met",
            );
        } else if msg.contains("not applicable due to assignment filters") {
            app.end(
                Phase::Applicability,
                t,
                Outcome::NotApplicable,
                "excluded by an assignment filter",
            );
            app.set_state(
                Verdict::NotApplicable,
                t,
                "excluded by an assignment filter",
            );
        }
    }

    /// A line naming a download job but no app.
    fn job_line(&mut self, id: &str, job: &str, e: &Entry) {
        let msg = e.message.as_str();
        let t = e.time;
        let app = self.app(id, t);
        if msg.starts_with("JobTransferred callback") {
            let d = app.download_for_job(Some(job), t);
            d.finished_at = Some(t);
            app.end(Phase::Download, t, Outcome::Succeeded, "DO job transferred");
            app.set_state(Verdict::InProgress, t, DOWNLOAD_DONE);
        } else if msg.contains("DO downloading is not finished within timeout") {
            let d = app.download_for_job(Some(job), t);
            d.timed_out_at.get_or_insert(t);
        } else if msg.contains("Job has failed") || msg.contains("JobError") {
            let code = after(msg, "ErrorCode: ")
                .or_else(|| after(msg, "Error: "))
                .and_then(|c| explain::parse_code(c.split([';', ')', ' ']).next().unwrap_or("")));
            app.end(Phase::Download, t, Outcome::Failed, "DO/BITS job failed");
            app.set_state(
                Verdict::Failed {
                    phase: Phase::Download,
                    code,
                },
                t,
                "the download job failed",
            );
        }
    }

    fn finish(self) -> Vec<AppStory> {
        let Builder {
            apps,
            ties,
            runs,
            clock,
            saw_appworkload,
            ..
        } = self;
        let mut apps: Vec<AppStory> = apps
            .into_values()
            .map(|app| app.settle(saw_appworkload, &clock))
            .collect();
        relate(&mut apps, &ties, &runs);
        apps.sort_by(|a, b| {
            (
                a.name.is_none(),
                a.name.as_deref().map(str::to_lowercase),
                &a.id,
            )
                .cmp(&(
                    b.name.is_none(),
                    b.name.as_deref().map(str::to_lowercase),
                    &b.id,
                ))
        });
        apps
    }
}

/// Ties every app to the apps its policy names (both ways), gives it the order of the
/// latest subgraph run that evaluated it with others, and names the failed dependencies of
/// an app that is not installed.
fn relate(apps: &mut [AppStory], ties: &BTreeMap<String, Vec<Tie>>, runs: &[Run]) {
    let index: HashMap<String, usize> = apps
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.clone(), i))
        .collect();
    for (parent, child, action) in ties.values().flatten() {
        let kind = RelationKind::from_action(*action);
        if let Some(&p) = index.get(parent) {
            add_relation(&mut apps[p], child, kind);
        }
        if let Some(&c) = index.get(child) {
            add_relation(&mut apps[c], parent, kind.reverse());
        }
    }
    for run in runs.iter().filter(|r| r.order.len() >= 2) {
        for id in &run.order {
            if let Some(&i) = index.get(id) {
                apps[i].processing_order = run.order.clone();
                apps[i].processed_at = Some(run.at);
            }
        }
    }
    let failed: Vec<bool> = apps
        .iter()
        .map(|a| matches!(a.verdict, Verdict::Failed { .. }))
        .collect();
    let retries: Vec<Retry> = apps.iter().map(|a| a.retry.clone()).collect();
    for app in apps.iter_mut() {
        if app.verdict == Verdict::Succeeded {
            continue;
        }
        app.blocked_by = app
            .relations
            .iter()
            .filter(|r| matches!(r.kind, RelationKind::DependsOn { .. }))
            .filter(|r| index.get(&r.app_id).is_some_and(|&i| failed[i]))
            .map(|r| r.app_id.clone())
            .collect();
        // Held back by a failed dependency: not tried before the dependency is.
        let latest = app
            .blocked_by
            .iter()
            .filter_map(|id| Some((id, &retries[*index.get(id)?])))
            .filter(|(_, r)| r.next_attempt.is_some())
            .max_by_key(|(_, r)| r.next_attempt);
        if let Some((id, dep)) = latest
            && app
                .retry
                .next_attempt
                .is_none_or(|own| dep.next_attempt > Some(own))
        {
            app.retry.next_attempt = dep.next_attempt;
            app.retry.next_attempt_firm = dep.next_attempt_firm;
            app.retry.next_attempt_basis = Some(format!(
                "after its failed dependency {id} is tried again: {}",
                dep.next_attempt_basis.as_deref().unwrap_or("")
            ));
        }
    }
}

fn add_relation(app: &mut AppStory, other: &str, kind: RelationKind) {
    let relation = Relation {
        app_id: other.to_owned(),
        kind,
    };
    if !app.relations.contains(&relation) {
        app.relations.push(relation);
    }
}

impl App {
    /// The story with its verdict decided and its next attempt computed.
    fn settle(mut self, saw_appworkload: bool, clock: &Clock) -> AppStory {
        if !saw_appworkload
            && self
                .state
                .as_ref()
                .is_some_and(|s| s.reason == DOWNLOAD_DONE)
        {
            self.story.verdict = Verdict::Unknown {
                missing: "AppWorkload.log: the download finished, but the detection \
                          and install lines are in AppWorkload.log, which is not among \
                          the files read"
                    .into(),
            };
        } else {
            match self.state.take() {
                Some(state) => {
                    self.story.verdict = state.verdict;
                    self.story.verdict_at = Some(state.at);
                    self.story.verdict_reason = state.reason;
                }
                None => {
                    self.story.verdict = Verdict::Unknown {
                        missing: "no detection, download, install or status report line \
                                  for this app in the logs read"
                            .into(),
                    };
                }
            }
        }
        self.next_attempt(clock);
        self.story
    }

    /// When the IME will try a failed or unfinished app again, from what the logs state: a
    /// cleared GRS (the next check-in), the GRS time of the last failure plus the 24 hours
    /// Microsoft documents for a failed Win32 app, the subgraph's re-evaluation time plus
    /// the policy's interval; never before the next check-in the IME scheduled.
    fn next_attempt(&mut self, clock: &Clock) {
        // Only an attempt that failed or is unfinished is tried again; a GRS time alone
        // (also kept for apps that installed) says nothing about an unknown app.
        if !matches!(
            self.story.verdict,
            Verdict::Failed { .. } | Verdict::InProgress
        ) {
            return;
        }
        let retry = &self.story.retry;
        let checkin = clock.next_checkin(self.story.seen.1);
        let cleared = retry
            .cleared_at
            .filter(|c| self.grs.is_none_or(|(_, seen)| seen <= *c));
        let (bound, why) = if let Some(at) = cleared {
            (
                None,
                format!("GRS cleared at {at}: enforced again at the next check-in"),
            )
        } else if let Some((utc, _)) = self.grs {
            let due = utc.plus_seconds(24 * 3600);
            let mut why = format!(
                "GRS time of the last attempt {} UTC + 24 h (Microsoft's retry interval for a \
                 failed Win32 app) = {} UTC",
                short(utc),
                short(due)
            );
            if let Some(at) = self.skipped_in_grs {
                why += &format!("; skipped at {at} because it is in GRS");
            }
            match clock.utc_offset {
                Some(offset) => (Some(due.plus_seconds(offset)), why),
                None => {
                    self.story.retry.next_attempt_basis = Some(format!(
                        "{why}; the device's UTC offset is not in these logs"
                    ));
                    return;
                }
            }
        } else if let (Some(hash), Some(minutes)) = (&self.subgraph, self.reevaluation_min) {
            let Some(set) = clock.subgraph_times.get(hash) else {
                return self.no_schedule(checkin);
            };
            let due = set.plus_seconds(minutes * 60);
            let why = format!(
                "subgraph re-evaluation time {} UTC + the policy's ReevaluationInterval {minutes} \
                 min = {} UTC",
                short(*set),
                short(due)
            );
            match clock.utc_offset {
                Some(offset) => (Some(due.plus_seconds(offset)), why),
                None => return self.no_schedule(None),
            }
        } else {
            return self.no_schedule(checkin);
        };
        let retry = &mut self.story.retry;
        match (bound, checkin) {
            (Some(due), Some((next, ms))) if next > due => {
                retry.next_attempt = Some(next);
                retry.next_attempt_firm = true;
                retry.next_attempt_basis = Some(format!("{why}; {}", checkin_text(next, ms)));
            }
            (Some(due), _) => {
                retry.next_attempt = Some(due);
                retry.next_attempt_basis = Some(format!(
                    "{why}; the IME tries at its first check-in after that"
                ));
            }
            (None, Some((next, ms))) => {
                retry.next_attempt = Some(next);
                retry.next_attempt_firm = true;
                retry.next_attempt_basis = Some(format!("{why}; {}", checkin_text(next, ms)));
            }
            (None, None) => {
                retry.next_attempt_basis = Some(format!(
                    "{why}; no check-in timer line in these logs (the IME checks in about \
                     every hour)"
                ));
            }
        }
    }

    /// No retry schedule for the app in the logs: an unfinished download goes on at the next
    /// check-in; otherwise say what is missing.
    fn no_schedule(&mut self, checkin: Option<(LocalTime, u64)>) {
        let retry = &mut self.story.retry;
        match (&self.story.verdict, checkin) {
            (Verdict::InProgress, Some((next, ms))) => {
                retry.next_attempt = Some(next);
                retry.next_attempt_firm = true;
                retry.next_attempt_basis =
                    Some(format!("still in progress; {}", checkin_text(next, ms)));
            }
            _ => {
                retry.next_attempt_basis =
                    Some("no GRS time or re-evaluation time for this app in the logs read".into());
            }
        }
    }

    fn set_state(&mut self, verdict: Verdict, at: LocalTime, reason: &str) {
        self.state = Some(State {
            verdict,
            at,
            reason: reason.to_owned(),
        });
    }

    fn step(&mut self, phase: Phase, at: LocalTime, outcome: Outcome, detail: &str) {
        if let Some(last) = self.story.phases.last_mut()
            && last.phase == phase
            && last.outcome == outcome
            && last.detail == detail
        {
            last.end = Some(at);
            return;
        }
        self.story.phases.push(PhaseStep {
            phase,
            start: at,
            end: None,
            outcome,
            detail: detail.to_owned(),
        });
    }

    /// Ends the open step of `phase`, or records a step that ended at once.
    fn end(&mut self, phase: Phase, at: LocalTime, outcome: Outcome, detail: &str) {
        if let Some(open) = self
            .story
            .phases
            .iter_mut()
            .rev()
            .take(6)
            .find(|s| s.phase == phase && s.outcome == Outcome::Started)
        {
            open.end = Some(at);
            open.outcome = outcome;
            open.detail = detail.to_owned();
            return;
        }
        self.story.phases.push(PhaseStep {
            phase,
            start: at,
            end: Some(at),
            outcome,
            detail: detail.to_owned(),
        });
    }

    fn download_mut(&mut self, at: LocalTime) -> &mut Download {
        // A timed-out download stays the current one: the IME resumes its job later.
        let fresh = self
            .story
            .downloads
            .last()
            .is_none_or(|d| d.finished_at.is_some());
        if fresh {
            self.story.downloads.push(Download {
                started: Some(at),
                ..Download::default()
            });
        }
        let last = self.story.downloads.len() - 1;
        &mut self.story.downloads[last]
    }

    fn download_for_job(&mut self, job: Option<&str>, at: LocalTime) -> &mut Download {
        if let Some(job) = job
            && let Some(i) = self
                .story
                .downloads
                .iter()
                .rposition(|d| d.job_id.as_deref() == Some(job))
        {
            return &mut self.story.downloads[i];
        }
        let d = self.download_mut(at);
        if d.job_id.is_none() {
            d.job_id = job.map(str::to_owned);
        }
        d
    }

    fn progress_line(&mut self, rest: &str, t: LocalTime) {
        let via = if rest.contains(" via DO") {
            Some(Via::DeliveryOptimization)
        } else if rest.contains(" via CDN") {
            Some(Via::Cdn)
        } else {
            None
        };
        let bytes = after(rest, ", bytes ").and_then(|b| b.split(' ').next());
        let d = self.download_mut(t);
        d.via = via.or(d.via);
        if let Some((done, total)) = bytes.and_then(|b| b.split_once('/')) {
            if let Ok(total) = total.parse::<u64>()
                && total > 0
            {
                d.bytes_total = Some(total);
            }
            if let Ok(done) = done.parse::<u64>()
                && done > 0
            {
                d.bytes_done = Some(done);
            }
        }
    }

    /// The installer's exit code, read through the app's return-code map (without one, 0 is
    /// success and anything else fails, as the IME's default map says).
    fn exit_code(&mut self, code: i64, t: LocalTime) {
        let kind = match self
            .story
            .policy
            .as_ref()
            .filter(|p| !p.return_codes.is_empty())
        {
            Some(p) => p
                .return_codes
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, k)| *k),
            None => (code == 0).then_some("success"),
        };
        let detail = format!(
            "installer exit code {code} ({})",
            kind.unwrap_or("not in the return-code map")
        );
        match kind {
            Some("success" | "soft-reboot" | "hard-reboot") => {
                self.end(Phase::Installation, t, Outcome::Succeeded, &detail);
            }
            Some("retry") => self.step(Phase::Installation, t, Outcome::Started, &detail),
            _ => {
                // The IME reports an exit code as a Win32 HRESULT (1603 as 0x80070643).
                let hresult = u32::try_from(code)
                    .ok()
                    .and_then(|c| explain::decode_hresult(c).hresult_from_win32);
                self.end(Phase::Installation, t, Outcome::Failed, &detail);
                let verdict = Verdict::Failed {
                    phase: Phase::Installation,
                    code: hresult,
                };
                self.set_state(verdict, t, &detail);
            }
        }
    }

    fn detection(&mut self, msg: &str, t: LocalTime) {
        let state = after(msg, "detection state: ")
            .unwrap_or("")
            .trim_end_matches('.');
        let status = between(msg, "action status: ", " and").unwrap_or("");
        let phase = if self.installed_in_attempt {
            Phase::PostInstallDetection
        } else {
            Phase::PreInstallDetection
        };
        let uninstall = self.story.intent == Some(Intent::Uninstall);
        let (outcome, verdict) = match (status, state) {
            ("Success", "Detected") if !uninstall => (Outcome::Succeeded, Some(Verdict::Succeeded)),
            ("Success", "NotDetected") if uninstall => {
                (Outcome::NotDetected, Some(Verdict::Succeeded))
            }
            ("Success", "NotDetected") if phase == Phase::PostInstallDetection => (
                Outcome::Failed,
                Some(Verdict::Failed {
                    phase,
                    code: Some(0x87D1_041C),
                }),
            ),
            ("Success", "NotDetected") => (Outcome::NotDetected, None),
            ("Success", _) => (Outcome::Succeeded, None),
            _ => (Outcome::Failed, Some(Verdict::Failed { phase, code: None })),
        };
        let detail = format!("detection: {state} ({status})");
        self.end(phase, t, outcome, &detail);
        if let Some(verdict) = verdict {
            self.set_state(verdict, t, &detail);
        }
    }

    fn applicability(&mut self, msg: &str, t: LocalTime) {
        let state = after(msg, "applicability state: ")
            .unwrap_or("")
            .trim_end_matches('.');
        let detail = format!("applicability: {state}");
        if state == "Applicable" {
            self.end(Phase::Applicability, t, Outcome::Succeeded, &detail);
        } else {
            self.end(Phase::Applicability, t, Outcome::NotApplicable, &detail);
            self.set_state(Verdict::NotApplicable, t, &detail);
        }
    }

    fn grs(&mut self, msg: &str, t: LocalTime) {
        let retry = &mut self.story.retry;
        if msg.contains(" is expired.") {
            retry.expired = Some(true);
            retry.checked_at = Some(t);
        } else if msg.contains(" is not expired.") {
            retry.expired = Some(false);
            retry.checked_at = Some(t);
        } else if msg.contains("has no recorded GRS value") {
            retry.expired = Some(true);
            retry.checked_at = Some(t);
            retry.grs_time = None;
            self.grs = None;
        } else if msg.contains("Cleared GRS value") {
            retry.cleared_at = Some(t);
        }
        // The expiry check's `GRSTimeUTC` is the time shown; the registry lines (`Found`/
        // `Saved GRS value`, one per subgraph key) fill it when no check gave one, and the
        // latest failure among them is the one the retry waits for.
        let (time, checked) = match after(msg, "GRSTimeUTC = ") {
            Some(time) => (Some(time.lines().next().unwrap_or("").trim()), true),
            None => (
                between(msg, "Found GRS value: ", " at key")
                    .or_else(|| between(msg, "Saved GRS value: ", " to path")),
                false,
            ),
        };
        if let Some(time) = time {
            // .NET's DateTime.MinValue (`1/1/0001 12:00:00 AM`) is "no GRS time".
            match dotnet_time(time).filter(|utc| utc.year > 1) {
                Some(utc) => {
                    if checked || retry.grs_time.is_none() {
                        retry.grs_time = Some(time.to_owned());
                    }
                    if checked || self.grs.is_none_or(|(known, _)| utc >= known) {
                        self.grs = Some((utc, t));
                    }
                }
                None => {
                    retry.grs_time = None;
                    self.grs = None;
                }
            }
        }
        let hash = after(msg, "Hash = ")
            .and_then(|h| h.split_whitespace().next())
            .or_else(|| {
                let key = after(msg, "\\GRS\\")?;
                key.split('\\').next()
            });
        if let Some(hash) = hash.filter(|h| !h.is_empty()) {
            self.subgraph = Some(hash.to_owned());
        }
    }

    /// A status report (or the reporting state loaded at agent start).
    fn report(&mut self, json: &str, t: LocalTime, source: &'static str) {
        let Ok(value) = serde_json::from_str::<Value>(json.trim()) else {
            return;
        };
        let state = value.get("EnforcementState").and_then(Value::as_i64);
        let code = value
            .get("EnforcementErrorCode")
            .and_then(Value::as_i64)
            .and_then(code_of)
            .filter(|c| *c != 0);
        if let Some(code) = code {
            self.past_error(t, code, state, source);
        }
        let Some(state) = state else { return };
        let reason = format!("{source}: enforcement state {state}");
        match state {
            1000..=1999 => self.set_state(Verdict::Succeeded, t, &reason),
            2000..=2999 => self.set_state(Verdict::InProgress, t, &reason),
            3000..=3999 => self.set_state(Verdict::NotApplicable, t, &reason),
            5000..=5999 => {
                let phase = failing_phase(code);
                self.set_state(Verdict::Failed { phase, code }, t, &reason);
                if self
                    .story
                    .phases
                    .last()
                    .is_none_or(|s| s.outcome != Outcome::Failed)
                {
                    let detail = match code {
                        Some(c) => format!("reported error 0x{c:08X}"),
                        None => "reported error".into(),
                    };
                    self.end(phase, t, Outcome::Failed, &detail);
                }
            }
            _ => {}
        }
    }

    fn delta(&mut self, json: &str, t: LocalTime) {
        let Ok(value) = serde_json::from_str::<Value>(json.trim()) else {
            return;
        };
        let old = value
            .pointer("/EnforcementErrorCode/OldValue")
            .and_then(Value::as_i64)
            .and_then(code_of)
            .filter(|c| *c != 0);
        if let Some(code) = old {
            self.past_error(t, code, None, "report delta (previous value)");
        }
        if let Some(new) = value
            .pointer("/EnforcementState/NewValue")
            .and_then(Value::as_str)
        {
            let reason = format!("report delta: enforcement state {new}");
            match new {
                "InProgress" => self.set_state(Verdict::InProgress, t, &reason),
                "Success" => self.set_state(Verdict::Succeeded, t, &reason),
                _ => {}
            }
        }
    }

    fn content_request(&mut self, json: &str, t: LocalTime) {
        let Ok(value) = serde_json::from_str::<Value>(json.trim()) else {
            return;
        };
        if let Some(name) = value.get("ApplicationName").and_then(Value::as_str) {
            self.story.name.get_or_insert_with(|| name.to_owned());
        }
        let code = value
            .get("ErrorCode")
            .and_then(|v| {
                v.as_str()
                    .and_then(|s| s.parse::<i64>().ok())
                    .or(v.as_i64())
            })
            .and_then(code_of)
            .filter(|c| *c != 0);
        if let Some(code) = code {
            self.past_error(t, code, None, "content request (previous attempt)");
        }
        self.step(
            Phase::ContentMetadata,
            t,
            Outcome::Started,
            "content info requested",
        );
    }

    fn past_error(&mut self, seen: LocalTime, code: u32, state: Option<i64>, source: &'static str) {
        match self.story.error_history.iter_mut().find(|e| e.code == code) {
            Some(known) => {
                known.last_seen = seen;
                known.enforcement_state = known.enforcement_state.or(state);
                if !known.sources.contains(&source) {
                    known.sources.push(source);
                }
            }
            None => self.story.error_history.push(PastError {
                first_seen: seen,
                last_seen: seen,
                code,
                enforcement_state: state,
                sources: vec![source],
            }),
        }
    }
}

impl Clock {
    /// Reads a device-wide schedule line; `true` when `msg` was one.
    fn schedule_line(&mut self, msg: &str, t: LocalTime) -> bool {
        // Prefix checks first: this runs on every record diagnosis reads.
        if let Some(rest) = msg.strip_prefix("[Win32App][ReevaluationScheduleManager] ") {
            return self.reevaluation_line(rest, t);
        }
        let interval = match msg.strip_prefix("[Win32App][CheckinIntervalManager] ") {
            Some(rest) => number_after(rest, "Updated interval of timer is "),
            None => msg
                .strip_prefix("Win32AppTimer interval is : ")
                .and_then(|rest| number_after(rest, "")),
        };
        if let Some(ms) = interval.filter(|ms| *ms > 0) {
            self.checkin = Some((t, ms));
            return true;
        }
        false
    }

    /// A `[ReevaluationScheduleManager]` line: a subgraph's re-evaluation time (UTC), and
    /// the UTC offset when the IME sets it to "now".
    fn reevaluation_line(&mut self, msg: &str, t: LocalTime) -> bool {
        if let Some(rest) = msg.strip_prefix("Setting subgraph reevaluation time with value: ") {
            let (value, hash) = rest
                .split_once(" for subgraph with hash ")
                .unwrap_or((rest, ""));
            if let Some(utc) = dotnet_time(value) {
                let offset = t.seconds() - utc.seconds();
                let rounded = (offset + 450).div_euclid(900) * 900;
                if rounded.abs() <= 14 * 3600 {
                    self.utc_offset = Some(rounded);
                }
                let hash = hash.trim_end_matches('.').trim();
                self.subgraph_times.insert(hash.to_owned(), utc);
            }
            return true;
        }
        if let Some(rest) = msg.strip_prefix("Found previous subgraph reevaluation time value: ") {
            if let Some((value, hash)) = rest.split_once(" at key ")
                && let Some(utc) = dotnet_time(value)
            {
                let hash = hash.trim_end_matches('.').trim();
                self.subgraph_times.insert(hash.to_owned(), utc);
            }
            return true;
        }
        false
    }

    /// The next check-in the IME scheduled (timer set + interval) and the interval, when it
    /// is not before the last record read and the app was seen in the cycle that set it (a
    /// folder may hold the logs of other devices and older times).
    fn next_checkin(&self, seen: LocalTime) -> Option<(LocalTime, u64)> {
        let (set, ms) = self.checkin?;
        let next = set.plus_seconds((ms / 1000) as i64);
        let current = seen >= set.plus_seconds(-((ms / 1000) as i64));
        (current && self.last.is_none_or(|last| next >= last)).then_some((next, ms))
    }
}

fn checkin_text(next: LocalTime, ms: u64) -> String {
    format!(
        "next check-in at {} (the check-in timer is {} min)",
        short(next),
        ms / 60_000
    )
}

/// `YYYY-MM-DD HH:MM:SS`.
fn short(t: LocalTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// A .NET `DateTime` as the IME logs it: `M/D/YYYY h:mm:ss AM|PM` or `MM/DD/YYYY HH:mm:ss`.
fn dotnet_time(text: &str) -> Option<LocalTime> {
    let mut parts = text.split_whitespace();
    let (date, clock, half) = (parts.next()?, parts.next()?, parts.next());
    let mut mdy = date.split('/');
    let month: u8 = mdy.next()?.parse().ok().filter(|m| (1..=12).contains(m))?;
    let day: u8 = mdy.next()?.parse().ok().filter(|d| (1..=31).contains(d))?;
    let year: u16 = mdy.next()?.parse().ok()?;
    let mut hms = clock.split(':');
    let hour: u8 = hms.next()?.parse().ok()?;
    let minute: u8 = hms.next()?.parse().ok().filter(|m| *m < 60)?;
    let second: u8 = hms.next()?.parse().ok().filter(|s| *s < 61)?;
    let hour = match half {
        Some("AM") if (1..=12).contains(&hour) => hour % 12,
        Some("PM") if (1..=12).contains(&hour) => hour % 12 + 12,
        None if hour < 24 => hour,
        _ => return None,
    };
    Some(LocalTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos: 0,
    })
}

/// An action-processor line that evaluates an app for enforcement (its place in the order).
fn evaluates(msg: &str) -> bool {
    msg.contains("enforcement actions for app with id")
        || msg.contains("will not be enforced")
        || msg.contains("No action required for app with id")
}

/// The policy's `FlatDependencies`: (parent, other app, action) for each entry.
fn flat_dependencies(item: &Value) -> Vec<Tie> {
    let own = item.get("Id").and_then(Value::as_str).unwrap_or("");
    let list = match item.get("FlatDependencies") {
        Some(Value::Array(list)) => list.clone(),
        Some(Value::String(text)) => match serde_json::from_str(text) {
            Ok(Value::Array(list)) => list,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    list.iter()
        .filter_map(|d| {
            let child = d.get("ChildId")?.as_str()?.to_ascii_lowercase();
            let parent = d.get("AppId").and_then(Value::as_str).unwrap_or(own);
            let action = d.get("Action").and_then(Value::as_i64).unwrap_or(0);
            Some((parent.to_ascii_lowercase(), child, action))
        })
        .collect()
}

/// The phase a reported code belongs to: the `explain` table's first phase, the install for
/// an installer's exit code as a Win32 HRESULT, else unknown (reporting).
fn failing_phase(code: Option<u32>) -> Phase {
    match code {
        Some(c) => match explain::lookup(c).and_then(|i| i.phases.first()) {
            Some(phase) => *phase,
            None if c & 0xFFFF_0000 == 0x8007_0000 => Phase::Installation,
            None => Phase::ReportStatus,
        },
        None => Phase::ReportStatus,
    }
}

fn code_of(value: i64) -> Option<u32> {
    i32::try_from(value)
        .map(|v| v as u32)
        .ok()
        .or_else(|| u32::try_from(value).ok())
}

fn policy(item: &Value) -> AppPolicy {
    let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
    let nested = |key: &str| -> Option<Value> {
        match item.get(key)? {
            Value::String(s) => serde_json::from_str(s).ok(),
            Value::Null => None,
            other => Some(other.clone()),
        }
    };
    let detection_rules = match nested("DetectionRule") {
        Some(Value::Array(rules)) => rules.iter().map(detection_rule).collect(),
        _ => Vec::new(),
    };
    let return_codes = match nested("ReturnCodes") {
        Some(Value::Array(codes)) => codes
            .iter()
            .filter_map(|c| {
                let code = c.get("ReturnCode")?.as_i64()?;
                let kind = match c.get("Type")?.as_i64()? {
                    0 => "failed",
                    1 => "success",
                    2 => "soft-reboot",
                    3 => "hard-reboot",
                    4 => "retry",
                    _ => "other",
                };
                Some((code, kind))
            })
            .collect(),
        _ => Vec::new(),
    };
    let dependencies = match nested("FlatDependencies") {
        Some(Value::Array(deps)) => deps
            .iter()
            .filter_map(|d| d.get("ChildId").and_then(Value::as_str).map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    AppPolicy {
        version: item.get("Version").and_then(Value::as_i64),
        install_command: text("InstallCommandLine"),
        uninstall_command: text("UninstallCommandLine"),
        setup_file: text("SetUpFilePath"),
        detection_rules,
        requirements: nested("RequirementRules").map(|v| v.to_string()),
        extended_requirements: match nested("ExtendedRequirementRules") {
            Some(Value::Array(rules)) => rules.len(),
            _ => 0,
        },
        return_codes,
        install_ex: nested("InstallEx").map(|v| v.to_string()),
        do_priority: item.get("DOPriority").and_then(Value::as_i64),
        dependencies,
    }
}

/// One detection rule in a line: its kind and the key of what it checks.
fn detection_rule(rule: &Value) -> String {
    let body: Value = rule
        .get("DetectionText")
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    let field = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or("");
    match rule.get("DetectionType").and_then(Value::as_i64) {
        Some(0) => format!("registry {}\\{}", field("KeyPath"), field("ValueName")),
        Some(1) => format!("MSI product code {}", field("ProductCode")),
        Some(2) => format!("file {}\\{}", field("Path"), field("FileOrFolderName")),
        Some(3) => "script".into(),
        Some(n) => format!("rule type {n}"),
        None => "unknown rule".into(),
    }
}

/// The app id a line is about: the GUID after one of the app-naming phrases.
fn app_id(msg: &str) -> Option<&str> {
    const LEADS: [&str; 10] = [
        "policy with id: ",
        "App with id: ",
        "app with id: ",
        "App: ",
        "app (id = ",
        "for app:",
        "\"ApplicationId\":\"",
        "for app: ",
        "subgraph with app ids: ",
        "intunewin-bin_",
    ];
    LEADS.iter().find_map(|lead| {
        let rest = after(msg, lead)?;
        let id = rest.get(..36)?;
        guids(id).next().filter(|g| *g != NIL)
    })
}

/// The reason of an in-progress verdict whose latest evidence is a finished download.
const DOWNLOAD_DONE: &str = "download finished; no install logged after it";

/// The nil GUID, which some lines print for "no app".
const NIL: &str = "00000000-0000-0000-0000-000000000000";

/// The job id of a line that names a job but no app.
fn job_of(msg: &str) -> Option<String> {
    const LEADS: [&str; 4] = [
        "JobTransferred callback for job = ",
        "not finished within timeout, jobId = ",
        "for job ",
        "Job has failed",
    ];
    LEADS.iter().find_map(|lead| {
        let rest = after(msg, lead)?;
        guids(rest).next().map(str::to_ascii_lowercase)
    })
}

fn after<'a>(text: &'a str, lead: &str) -> Option<&'a str> {
    text.find(lead).map(|at| &text[at + lead.len()..])
}

fn between<'a>(text: &'a str, lead: &str, end: &str) -> Option<&'a str> {
    let rest = after(text, lead)?;
    rest.find(end).map(|at| &rest[..at])
}

fn number_after(text: &str, lead: &str) -> Option<u64> {
    let rest = after(text, lead)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_ids_come_from_app_phrases_only() {
        assert_eq!(
            app_id(
                "[Win32App] Downloading app on session 1. App: 5e432f47-4739-4df5-b8a4-d5b4cbb41daf"
            ),
            Some("5e432f47-4739-4df5-b8a4-d5b4cbb41daf")
        );
        assert_eq!(
            app_id("Saved report for user abe70b00-e88e-4a5e-be37-787882c82fbb in the registry"),
            None
        );
    }

    #[test]
    fn codes_and_phases() {
        assert_eq!(code_of(-2147023293), Some(0x8007_0643));
        assert_eq!(failing_phase(Some(0x8007_0643)), Phase::Installation);
        assert_eq!(failing_phase(None), Phase::ReportStatus);
    }

    #[test]
    fn dotnet_times_and_none() {
        let t = dotnet_time("3/24/2026 1:52:50 PM").unwrap();
        assert_eq!(short(t), "2026-03-24 13:52:50");
        assert_eq!(
            short(dotnet_time("03/17/2026 19:07:17").unwrap()),
            "2026-03-17 19:07:17"
        );
        assert_eq!(dotnet_time("2/13/2026 12:28:43 AM").unwrap().hour, 0);
        assert_eq!(dotnet_time("1/1/0001 12:00:00 AM").unwrap().year, 1);
        assert_eq!(dotnet_time("01/01/0001 00:00:00").unwrap().year, 1);
        for bad in [
            "",
            "13/1/2026 1:00:00 PM",
            "3/24/2026 13:00:00 PM",
            "3/24/2026 1:60:00",
        ] {
            assert_eq!(dotnet_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn adding_seconds_crosses_days_months_and_leap_years() {
        let t = dotnet_time("2/28/2024 23:30:00").unwrap();
        assert_eq!(short(t.plus_seconds(3600)), "2024-02-29 00:30:00");
        assert_eq!(
            short(t.plus_seconds(24 * 3600 + 3600)),
            "2024-03-01 00:30:00"
        );
        let end = dotnet_time("12/31/2025 22:00:00").unwrap();
        assert_eq!(short(end.plus_seconds(4 * 3600)), "2026-01-01 02:00:00");
        assert_eq!(short(end.plus_seconds(-4 * 3600)), "2025-12-31 18:00:00");
        for days in [0, 1, 59, 60, 365, 366, 1461, 36_524, 146_097] {
            let moved = t.plus_seconds(days * 86_400);
            assert_eq!(moved.seconds() - t.seconds(), days * 86_400, "{days}");
        }
    }

    #[test]
    fn flat_dependency_actions() {
        assert_eq!(
            RelationKind::from_action(10),
            RelationKind::DependsOn { auto_install: true }
        );
        assert_eq!(
            RelationKind::from_action(0),
            RelationKind::DependsOn {
                auto_install: false
            }
        );
        assert_eq!(
            RelationKind::from_action(100),
            RelationKind::Supersedes { uninstall: false }
        );
        assert_eq!(
            RelationKind::from_action(110).reverse(),
            RelationKind::SupersededBy { uninstall: true }
        );
        let item: Value = serde_json::from_str(
            r#"{"Id":"P","FlatDependencies":[{"Action":10,"AppId":"P","ChildId":"C","Type":0,"Level":0}]}"#,
        )
        .unwrap();
        assert_eq!(flat_dependencies(&item), [("p".into(), "c".into(), 10)]);
        let none: Value = serde_json::from_str(r#"{"Id":"P","FlatDependencies":null}"#).unwrap();
        assert!(flat_dependencies(&none).is_empty());
    }

    #[test]
    fn priority_from_timeout() {
        let mut d = Download {
            timeout_ms: Some(1_800_000),
            ..Download::default()
        };
        assert_eq!(d.background_priority(), Some(true));
        d.timeout_ms = Some(43_200_000);
        assert_eq!(d.background_priority(), Some(false));
    }
}
