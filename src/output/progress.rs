//! Pull progress: one bar per image, its layers' bytes added up. indicatif
//! draws nothing when stderr is not a terminal.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::docker::PullProgress;

/// The bars of one run's pulls.
#[derive(Clone)]
pub struct PullBars {
    multi: MultiProgress,
}

impl Default for PullBars {
    fn default() -> Self {
        Self::new()
    }
}

impl PullBars {
    #[must_use]
    pub fn new() -> Self {
        PullBars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
        }
    }

    /// A bar for pulling `image`.
    #[must_use]
    pub fn add(&self, image: &str) -> ImageBar {
        let bar = self.multi.add(ProgressBar::new(0));
        bar.set_style(
            ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {bytes}/{total_bytes} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("pull {image}"));
        ImageBar {
            bar,
            layers: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

/// One image's bar.
pub struct ImageBar {
    bar: ProgressBar,
    layers: Arc<Mutex<HashMap<String, (u64, u64)>>>,
}

impl ImageBar {
    /// Folds one progress message into the image's total.
    pub fn update(&self, progress: &PullProgress) {
        let Ok(mut layers) = self.layers.lock() else {
            return;
        };
        if let Some(layer) = &progress.layer {
            let entry = layers.entry(layer.clone()).or_insert((0, 0));
            if let Some(total) = progress.total.and_then(|t| u64::try_from(t).ok()) {
                entry.1 = total;
            }
            if let Some(current) = progress.current.and_then(|c| u64::try_from(c).ok()) {
                entry.0 = current;
            }
            if progress.status.starts_with("Pull complete")
                || progress.status.starts_with("Already exists")
            {
                entry.0 = entry.1;
            }
        }
        let (current, total) = layers
            .values()
            .fold((0, 0), |(c, t), (lc, lt)| (c + lc, t + lt));
        self.bar.set_length(total);
        self.bar.set_position(current);
        self.bar.set_message(progress.status.clone());
    }

    pub fn finish(&self, ok: bool) {
        if ok {
            self.bar.finish_with_message("done");
        } else {
            self.bar.abandon_with_message("failed");
        }
    }
}
