//! Collection statistics: counts, pause times, time-to-safepoint, bytes.

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Every pause, in nanoseconds, to 3 significant digits (created at the first).
static PAUSES: Mutex<Option<Histogram<u64>>> = Mutex::new(None);

static COLLECTIONS: AtomicU64 = AtomicU64::new(0);
static PAUSE_TOTAL_NS: AtomicU64 = AtomicU64::new(0);
static PAUSE_MAX_NS: AtomicU64 = AtomicU64::new(0);
static TTSP_MAX_NS: AtomicU64 = AtomicU64::new(0);
static TTSP_TOTAL_NS: AtomicU64 = AtomicU64::new(0);
static BYTES_COPIED: AtomicU64 = AtomicU64::new(0);
static BYTES_ALLOCATED: AtomicU64 = AtomicU64::new(0);
static HEAP_PEAK: AtomicU64 = AtomicU64::new(0);
static SCANNED_CONCURRENTLY: AtomicU64 = AtomicU64::new(0);
static DECOMMITTED: AtomicU64 = AtomicU64::new(0);

/// A snapshot of the collector's statistics.
#[derive(Debug, Clone, Copy, Default)]
pub struct GcStats {
    /// Completed collections.
    pub collections: u64,
    /// Sum of pause times (stop of the world to its resumption).
    pub pause_total: Duration,
    /// Longest pause.
    pub pause_max: Duration,
    /// Median pause (to 3 significant digits; zero without collections).
    pub pause_p50: Duration,
    /// 99th-percentile pause (to 3 significant digits; zero without collections).
    pub pause_p99: Duration,
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
    /// Bytes of free heap memory handed back to the OS (`madvise(MADV_DONTNEED)`):
    /// free blocks beyond the heap's new size when the growing heap shrinks, and
    /// every large object's pages when it dies. A free block handed back at two
    /// shrinks counts twice.
    pub bytes_returned_to_os: u64,
    /// Immix chunks (4 MiB) whose mark table and block states collections reset:
    /// the part of a collection's work that grows with the heap rather than with
    /// what is live.
    pub chunks_prepared: u64,
    /// Immix chunks collections swept.
    pub chunks_swept: u64,
    /// Collections whose marking ran beside the mutators, between an
    /// initial-mark and a final-mark pause (concurrent plans only).
    pub marking_cycles: u64,
    /// Collections done whole in one pause: every collection of a
    /// stop-the-world plan; a concurrent plan's fallbacks and explicit
    /// collections.
    pub full_pauses: u64,
    /// Reference stores by compiled code whose barrier took its slow path (the
    /// object written into was logged).
    pub barrier_slow_paths: u64,
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
    let work = mmtk::memory_manager::heap_work_counters();
    let (p50, p99) = match &*PAUSES.lock() {
        Some(h) => (h.value_at_quantile(0.5), h.value_at_quantile(0.99)),
        None => (0, 0),
    };
    GcStats {
        pause_p50: Duration::from_nanos(p50),
        pause_p99: Duration::from_nanos(p99),
        collections: COLLECTIONS.load(Relaxed),
        pause_total: Duration::from_nanos(PAUSE_TOTAL_NS.load(Relaxed)),
        pause_max: Duration::from_nanos(PAUSE_MAX_NS.load(Relaxed)),
        ttsp_total: Duration::from_nanos(TTSP_TOTAL_NS.load(Relaxed)),
        ttsp_max: Duration::from_nanos(TTSP_MAX_NS.load(Relaxed)),
        bytes_copied: BYTES_COPIED.load(Relaxed),
        bytes_allocated: BYTES_ALLOCATED.load(Relaxed) + super::mutators::allocated_by_attached(),
        heap_peak: HEAP_PEAK.load(Relaxed),
        scanned_concurrently: SCANNED_CONCURRENTLY.load(Relaxed),
        bytes_returned_to_os: DECOMMITTED.load(Relaxed) + work.large_bytes_decommitted as u64,
        chunks_prepared: work.chunks_prepared as u64,
        chunks_swept: work.chunks_swept as u64,
        marking_cycles: MARKING_CYCLES.load(Relaxed),
        full_pauses: FULL_PAUSES.load(Relaxed),
        barrier_slow_paths: BARRIER_SLOW_PATHS.load(Relaxed),
    }
}

/// Whether each collection prints a line to stderr (see [`set_log`]).
static LOG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Heap in use when the collection under way stopped the world.
static USED_AT_STOP: AtomicU64 = AtomicU64::new(0);

/// Makes every collection print one line to stderr when it ends: its number,
/// pause, time-to-safepoint, heap in use before and after, the heap size and the
/// GC workers it used (like a JVM's `-Xlog:gc`).
pub fn set_log(on: bool) {
    LOG.store(on, Relaxed);
}

pub(crate) fn record_stop(ttsp: Duration, heap_used: usize) {
    USED_AT_STOP.store(heap_used as u64, Relaxed);
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
    let mut pauses = PAUSES.lock();
    let h = pauses.get_or_insert_with(|| Histogram::new(3).expect("3 significant digits"));
    // It grows to any pause (auto-resizing); clamped only if that ever failed.
    if h.record(ns.max(1)).is_err() {
        h.saturating_record(ns.max(1));
    }
    drop(pauses);
    if LOG.load(Relaxed) {
        let n = COLLECTIONS.load(Relaxed);
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        let size = super::trigger::current_heap_size().unwrap_or_else(super::total_bytes);
        let kind = if super::is_concurrent_plan() {
            format!(" ({})", *PAUSE_KIND.lock())
        } else {
            String::new()
        };
        eprintln!(
            "gc {n}{kind}: pause {:.3} ms, heap {:.1} MiB -> {:.1} MiB of {:.1} MiB, {} worker(s)",
            pause.as_secs_f64() * 1e3,
            mib(USED_AT_STOP.load(Relaxed)),
            mib(super::used_bytes() as u64),
            mib(size as u64),
            super::workers::last_active(),
        );
    }
}

/// Whether the last pause was an initial-mark pause (marking runs since).
static MARKING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static MARKING_CYCLES: AtomicU64 = AtomicU64::new(0);
static FULL_PAUSES: AtomicU64 = AtomicU64::new(0);

/// Classifies the pause that ends: `marking` when it started concurrent marking
/// (an initial-mark pause); otherwise the final mark of the marking that ran,
/// or a whole collection in one pause.
pub(crate) fn record_pause_kind(marking: bool) {
    let log = LOG.load(Relaxed);
    // With `--gc-log`, a final mark's line says how long the marking ran.
    let (kind, since) = if marking {
        MARKING.store(true, Relaxed);
        if log {
            *MARKING_SINCE.lock() = Some(std::time::Instant::now());
        }
        ("initial mark", None)
    } else if MARKING.swap(false, Relaxed) {
        MARKING_CYCLES.fetch_add(1, Relaxed);
        ("final mark", MARKING_SINCE.lock().take())
    } else {
        FULL_PAUSES.fetch_add(1, Relaxed);
        ("full", None)
    };
    if log {
        *PAUSE_KIND.lock() = match since {
            Some(t) => format!(
                "{kind}, after {:.1} ms of marking",
                t.elapsed().as_secs_f64() * 1e3
            ),
            None => kind.to_string(),
        };
    }
}

/// What the pause that ends did, for `--gc-log` under a concurrent plan.
static PAUSE_KIND: Mutex<String> = Mutex::new(String::new());
/// When the marking under way started (its initial-mark pause ended).
static MARKING_SINCE: Mutex<Option<std::time::Instant>> = Mutex::new(None);

static BARRIER_SLOW_PATHS: AtomicU64 = AtomicU64::new(0);

/// Counts a barrier slow path taken by compiled code.
pub(crate) fn record_barrier_slow_path() {
    BARRIER_SLOW_PATHS.fetch_add(1, Relaxed);
}

/// Counts bytes handed back to the OS.
pub(crate) fn record_decommit(bytes: usize) {
    DECOMMITTED.fetch_add(bytes as u64, Relaxed);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_the_recorded_pauses() {
        // The only test of this binary that records pauses.
        for ms in 1..=100u64 {
            record_pause(Duration::from_millis(ms));
        }
        let st = snapshot();
        assert_eq!(st.collections, 100);
        let near = |d: Duration, ms: f64| (d.as_secs_f64() * 1e3 - ms).abs() < ms * 0.002;
        assert!(near(st.pause_p50, 50.0), "{:?}", st.pause_p50);
        assert!(near(st.pause_p99, 99.0), "{:?}", st.pause_p99);
        assert_eq!(st.pause_max, Duration::from_millis(100));
        assert!(near(st.pause_mean(), 50.5), "{:?}", st.pause_mean());
    }
}
