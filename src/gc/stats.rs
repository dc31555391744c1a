//! Collection statistics: counts, pause times, time-to-safepoint, bytes.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

static COLLECTIONS: AtomicU64 = AtomicU64::new(0);
static PAUSE_TOTAL_NS: AtomicU64 = AtomicU64::new(0);
static PAUSE_MAX_NS: AtomicU64 = AtomicU64::new(0);
static TTSP_MAX_NS: AtomicU64 = AtomicU64::new(0);
static TTSP_TOTAL_NS: AtomicU64 = AtomicU64::new(0);
static BYTES_COPIED: AtomicU64 = AtomicU64::new(0);
static BYTES_ALLOCATED: AtomicU64 = AtomicU64::new(0);
static HEAP_PEAK: AtomicU64 = AtomicU64::new(0);
static SCANNED_CONCURRENTLY: AtomicU64 = AtomicU64::new(0);

/// A snapshot of the collector's statistics.
#[derive(Debug, Clone, Copy, Default)]
pub struct GcStats {
    /// Completed collections.
    pub collections: u64,
    /// Sum of pause times (stop of the world to its resumption).
    pub pause_total: Duration,
    /// Longest pause.
    pub pause_max: Duration,
    /// Sum of times-to-safepoint (stop request until every mutator is parked).
    pub ttsp_total: Duration,
    /// Longest time-to-safepoint.
    pub ttsp_max: Duration,
    /// Bytes copied by moving collections.
    pub bytes_copied: u64,
    /// Bytes allocated through the substrate's slow path (the JIT's inline fast path
    /// reports its refills here too, at buffer granularity).
    pub bytes_allocated: u64,
    /// Largest heap occupancy seen at the start of a collection.
    pub heap_peak: u64,
    /// Objects the collector scanned while mutators ran (concurrent marking):
    /// non-zero only when a concurrent plan really marked beside the program.
    pub scanned_concurrently: u64,
}

impl GcStats {
    /// Mean pause, zero without collections.
    pub fn pause_mean(&self) -> Duration {
        if self.collections == 0 {
            Duration::ZERO
        } else {
            self.pause_total / self.collections as u32
        }
    }
}

/// Reads the statistics so far.
pub fn snapshot() -> GcStats {
    GcStats {
        collections: COLLECTIONS.load(Relaxed),
        pause_total: Duration::from_nanos(PAUSE_TOTAL_NS.load(Relaxed)),
        pause_max: Duration::from_nanos(PAUSE_MAX_NS.load(Relaxed)),
        ttsp_total: Duration::from_nanos(TTSP_TOTAL_NS.load(Relaxed)),
        ttsp_max: Duration::from_nanos(TTSP_MAX_NS.load(Relaxed)),
        bytes_copied: BYTES_COPIED.load(Relaxed),
        bytes_allocated: BYTES_ALLOCATED.load(Relaxed)
            + crate::thread::registry::allocated_by_attached(),
        heap_peak: HEAP_PEAK.load(Relaxed),
        scanned_concurrently: SCANNED_CONCURRENTLY.load(Relaxed),
    }
}

pub(crate) fn record_stop(ttsp: Duration, heap_used: usize) {
    let ns = ttsp.as_nanos() as u64;
    TTSP_TOTAL_NS.fetch_add(ns, Relaxed);
    TTSP_MAX_NS.fetch_max(ns, Relaxed);
    HEAP_PEAK.fetch_max(heap_used as u64, Relaxed);
}

pub(crate) fn record_pause(pause: Duration) {
    let ns = pause.as_nanos() as u64;
    COLLECTIONS.fetch_add(1, Relaxed);
    PAUSE_TOTAL_NS.fetch_add(ns, Relaxed);
    PAUSE_MAX_NS.fetch_max(ns, Relaxed);
}

/// Counts an object scanned outside a pause.
pub(crate) fn record_concurrent_scan() {
    SCANNED_CONCURRENTLY.fetch_add(1, Relaxed);
}

pub(crate) fn record_copy(bytes: usize) {
    BYTES_COPIED.fetch_add(bytes as u64, Relaxed);
}

/// Adds the count of a detaching thread.
pub(crate) fn record_alloc(bytes: u64) {
    BYTES_ALLOCATED.fetch_add(bytes, Relaxed);
}
