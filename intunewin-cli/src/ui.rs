//! Terminal plumbing: names made safe to print, sizes, progress bars.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use intunewin_core::progress::{Progress, Stage};

/// Makes text from a package (which anyone can craft) safe for a terminal: control characters,
/// escape sequences and bidirectional overrides are shown escaped instead of interpreted.
pub fn safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}');
        if c.is_control() || bidi {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// `1.5 MiB` style size.
pub fn size(bytes: u64) -> String {
    indicatif::BinaryBytes(bytes).to_string()
}

/// Base64 of bytes.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Progress on stderr: a bar on a terminal, nothing otherwise (CI logs get summary lines instead).
pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    enabled: bool,
    started: Instant,
}

impl Bar {
    /// A bar shown only when stderr is a terminal and not `quiet`.
    pub fn new(quiet: bool) -> Self {
        Bar {
            bar: Mutex::new(None),
            enabled: !quiet && std::io::stderr().is_terminal(),
            started: Instant::now(),
        }
    }

    /// Time since the bar was made.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::Pack => "packing",
        Stage::Authenticate => "checking MAC",
        Stage::Decrypt => "decrypting",
        Stage::Extract => "extracting",
    }
}

impl Progress for Bar {
    fn begin(&self, stage: Stage, total: u64) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(stage_label(stage));
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, bytes: u64) {
        if let Ok(slot) = self.bar.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.inc(bytes);
        }
    }

    fn end(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }
}
