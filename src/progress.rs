//! Progress bars on stderr, shown only when stderr is a terminal and `--quiet` was
//! not given, so scripts and logs stay clean; and [`Terminal`], the observer that
//! shows the libraries' progress and warnings that way.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Duration;

use blindmatch_data::{Observer, Warning};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Shows a library's warnings (`warning: …` and `hint: …` on stderr, unless
/// `--quiet`) and its progress through the input as a byte bar.
#[derive(Debug, Default)]
pub(crate) struct Terminal {
    bar: OnceLock<ProgressBar>,
}

impl Observer for Terminal {
    fn warning(&self, warning: &Warning) {
        // `-q` silences progress and notes, never a warning about exposed secrets.
        if crate::logging::quiet() && !warning.is_security() {
            return;
        }
        eprintln!("warning: {warning}");
        if let Some(hint) = warning.hint() {
            eprintln!("hint: {hint}");
        }
    }

    fn progress_start(&self, stage: &'static str, total: Option<u64>) {
        let _ = self.bar.set(bytes(total, stage));
    }

    fn progress(&self, done: u64) {
        if let Some(bar) = self.bar.get() {
            bar.set_position(done);
        }
    }

    fn progress_end(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}

/// Whether progress bars are drawn in this process.
pub(crate) fn enabled() -> bool {
    !crate::logging::quiet() && std::io::stderr().is_terminal()
}

/// A bar counting `len` items of `what` (e.g. "rows"), or a spinner when the total
/// is unknown. Hidden when progress is disabled; updating a hidden bar is cheap.
pub(crate) fn bar(len: Option<u64>, what: &str) -> ProgressBar {
    if !enabled() {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(len) => {
            let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(&format!(
                "{{prefix:>10}} [{{bar:30}}] {{human_pos}}/{{human_len}} {what} ({{per_sec}}, {{eta}} left)"
            )) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        }
        None => {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(&format!(
                "{{prefix:>10}} {{spinner}} {{human_pos}} {what} ({{per_sec}})"
            )) {
                bar.set_style(style);
            }
            bar
        }
    };
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A bar over `len` bytes of input (a file of known size), labelled with what is
/// being done; falls back to [`bar`]'s spinner when the size is unknown (stdin).
pub(crate) fn bytes(len: Option<u64>, what: &str) -> ProgressBar {
    let Some(len) = len else {
        return bar(None, what);
    };
    if !enabled() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{what:>10} [{{bar:30}}] {{binary_bytes}}/{{binary_total_bytes}} ({{binary_bytes_per_sec}}, {{eta}} left)"
    )) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
