//! What the status page shows of the renders served: counts by image type and the latest request
//! times. Recorded by the front doors, read by [`super::status`].

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use crate::core::sync::lock;
use crate::protocol::drake::image::ImageType;

/// Recent renders kept for the page (the chart's `slots: 60` in the page's script says the same).
pub const RECENT: usize = 60;

/// Counters and recent timings of successful renders.
#[derive(Default)]
pub struct Stats {
    inner: Mutex<Snapshot>,
}

/// The figures at one moment.
#[derive(Default, Clone)]
pub struct Snapshot {
    pub color: u64,
    pub depth: u64,
    pub label: u64,
    pub recent: VecDeque<(ImageType, Duration)>,
}

impl Stats {
    pub fn record(&self, image_type: ImageType, elapsed: Duration) {
        let mut inner = lock(&self.inner);
        match image_type {
            ImageType::Color => inner.color += 1,
            ImageType::Depth => inner.depth += 1,
            ImageType::Label => inner.label += 1,
        }
        if inner.recent.len() == RECENT {
            inner.recent.pop_front();
        }
        inner.recent.push_back((image_type, elapsed));
    }

    pub fn snapshot(&self) -> Snapshot {
        lock(&self.inner).clone()
    }
}
