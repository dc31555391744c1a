//! The growing heap: a GC trigger (MMTk's `Delegated` policy) that starts small and
//! resizes the heap after every collection to three times what is in use (two
//! thirds free), between a minimum and a maximum size. The free lines of the
//! Immix blocks a collection kept count as free room, not as in use (a heap
//! whose survivors are spread over every block would otherwise grow to three
//! times all its blocks).
//!
//! MMTk 0.33's own `DynamicHeapSize` (a simplified MemBalancer) grows the heap by
//! small steps: a program that keeps 400 MB live spent 27 s in 47 collections
//! with it, against 0.3 s with this policy (see `bench/RESULTS.md`). A small
//! starting heap matters too: Immix sweeps the whole heap in every collection and
//! a fresh heap costs a page fault per 4 KiB on first touch, so a program with a
//! small live set runs fastest in a small heap.
//!
//! A concurrent plan (ConcurrentImmix) is paced per cycle, not per pause, from
//! what the mutators allocated while the last marking ran (`concurrent_pacing`):
//! marking starts when the room left in the heap is about that much (the
//! `should_start_concurrent_marking` hook of the vendored mmtk; MMTk 0.33 itself
//! starts once half the heap has been allocated since the last collection, which
//! takes a heap of twice the live data plus twice the marking's allocation), and
//! a heap that fills while marking runs grows instead of stopping the world for a
//! full collection (which MMTk 0.33 runs right after the final mark when the heap
//! filled during marking).

use super::binding::VMKitBinding;
use mmtk::plan::Plan;
use mmtk::util::constants::LOG_BYTES_IN_PAGE;
use mmtk::util::heap::{GCTriggerPolicy, SpaceStats};
use mmtk::MMTK;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::Instant;

/// `(min, max)` heap bytes of the growing heap, set before MMTk is built.
pub(crate) static LIMITS: OnceLock<(usize, usize)> = OnceLock::new();

/// The current size of the growing heap, in pages (0 when the heap is fixed).
static CURRENT_PAGES: AtomicUsize = AtomicUsize::new(0);
/// Concurrent plans: pages in use at which the next marking starts.
static MARK_START_PAGES: AtomicUsize = AtomicUsize::new(0);
/// The largest size it reached, in pages.
static PEAK_PAGES: AtomicUsize = AtomicUsize::new(0);
/// Pages that allocations blocked for the collection under way asked for (MMTk's
/// `on_pending_allocation`), cleared when it ends.
static PENDING_PAGES: AtomicUsize = AtomicUsize::new(0);

/// The current heap size in bytes, if the heap is a growing one.
pub fn current_heap_size() -> Option<usize> {
    let p = CURRENT_PAGES.load(Relaxed);
    (p != 0).then_some(p << LOG_BYTES_IN_PAGE)
}

/// The largest size the growing heap reached, in bytes.
pub fn peak_heap_size() -> Option<usize> {
    let p = PEAK_PAGES.load(Relaxed);
    (p != 0).then_some(p << LOG_BYTES_IN_PAGE)
}

pub(crate) struct GrowingHeap {
    min_pages: usize,
    max_pages: usize,
    cycle: parking_lot::Mutex<Cycle>,
}

/// What the policy measures of the mutator and the collector between two
/// collections.
struct Cycle {
    /// When the last collection ended (the heap's creation before the first).
    last_end: Instant,
    /// Pages in use after it.
    used_after_last: usize,
    /// When the collection under way started, the process's CPU time then, and
    /// the pages in use then.
    start: Instant,
    cpu_at_start: f64,
    used_at_start: usize,
    /// Concurrent plans: the marking of the cycle under way, known from its
    /// final-mark pause on: pages in use when its initial-mark pause ended, and
    /// how long it ran (seconds).
    marking: Option<(usize, f64)>,
    /// Pages in use when the last pause ended, and when it ended.
    used_at_last_pause_end: usize,
    last_pause_end: Instant,
    /// When the last pause started.
    pause_start: Instant,
    /// Pauses so far in the cycle under way (a concurrent cycle has two).
    pauses_in_cycle: usize,
    /// Concurrent plans: what the mutators allocated during the last marking.
    marking_need: usize,
    /// Pages in use when the last pause started (for a concurrent plan, the
    /// final-mark pause of the cycle under way).
    used_at_pause: usize,
    /// Whether the heap was full when the last pause started.
    full_at_pause: bool,
    /// Pages of Immix blocks after the last collection and when the one under
    /// way started: with the pages in use, the share of the pages allocated in
    /// between that went to Immix blocks rather than to large objects.
    immix_after_last: usize,
    immix_at_start: usize,
    /// Immix chunks swept so far when the collection under way started (a
    /// collection that swept none, a nursery collection, leaves the last sweep's
    /// free lines stale).
    swept_at_start: usize,
}

/// CPU seconds this process has used (all threads).
fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-parameter for clock_gettime.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) } == 0;
    if ok {
        ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
    } else {
        0.0
    }
}

/// The growing heap keeps free after a collection at least what the mutator
/// allocates in this many pause-lengths: collections then take at most about half
/// the time, whatever the live size (binary-trees 18 in a heap of three times its
/// 12.7 MB live: 60 collections of 40 ms, 3.9 s; with this, 16-20, 1.4-1.5 s).
/// The pause-length is the collection's CPU time divided by the workers it used,
/// not its wall time: a busy machine, which stretches the wall time, does not grow
/// the heap.
pub const PAUSES_OF_ALLOCATION: f64 = 1.0;

/// The room kept free for the collections' cost is at most this many times what
/// is in use: a small live set keeps a small heap however noisy the timings (a
/// collection's work grows with what is live, so this still bounds its share).
pub const COST_CAP: usize = 8;

impl GrowingHeap {
    pub(crate) fn new() -> Self {
        let (min, max) = *LIMITS.get().expect("growing heap limits");
        let min_pages = (min >> LOG_BYTES_IN_PAGE).max(1);
        let max_pages = (max >> LOG_BYTES_IN_PAGE).max(min_pages);
        CURRENT_PAGES.store(min_pages, Relaxed);
        PEAK_PAGES.store(min_pages, Relaxed);
        // Nothing measured yet: the first marking starts at half the heap.
        MARK_START_PAGES.store(min_pages / 2, Relaxed);
        Self::with_limits(min_pages, max_pages)
    }

    /// A policy between `min_pages` and `max_pages`, nothing measured yet.
    fn with_limits(min_pages: usize, max_pages: usize) -> Self {
        let now = Instant::now();
        GrowingHeap {
            min_pages,
            max_pages,
            cycle: parking_lot::Mutex::new(Cycle {
                last_end: now,
                used_after_last: 0,
                start: now,
                cpu_at_start: 0.0,
                used_at_start: 0,
                marking: None,
                marking_need: 0,
                used_at_pause: 0,
                full_at_pause: false,
                used_at_last_pause_end: 0,
                last_pause_end: now,
                pause_start: now,
                pauses_in_cycle: 0,
                swept_at_start: 0,
                immix_after_last: 0,
                immix_at_start: 0,
            }),
        }
    }

    /// The heap size after a collection that left `used` pages in use while
    /// allocations of `pending` pages wait for it, when the mutator allocates
    /// `cost` pages in [`PAUSES_OF_ALLOCATION`] pause-lengths and `free_lines`
    /// pages of the pages in use are free lines of Immix blocks the collection
    /// kept: room for twice what is occupied, and at least `cost` pages of room
    /// (at most [`COST_CAP`] times what is occupied), and always room for what
    /// waits (with the same two thirds free around it), within the limits;
    /// shrinking only when that is under a quarter of the current size (so that
    /// sizes do not oscillate). An allocation that does not fit even at the
    /// maximum fails again after the collection, and MMTk's emergency collection
    /// then reports it out of memory.
    ///
    /// Free lines are room the mutators fill before they ask for pages, so they
    /// count as room, not as occupied; three quarters of them (a hole is no room
    /// for a large object, and the ends of holes are lost). Without that, a heap
    /// whose survivors are spread over every block (one object kept in five)
    /// grew to three times all its blocks at each collection: 280 MB for 17 MB
    /// live.
    fn resize(
        &self,
        used: usize,
        free_lines: usize,
        pending: usize,
        current: usize,
        cost: usize,
    ) -> usize {
        let need = used.saturating_add(pending);
        let reusable = (free_lines.min(used) / 4).saturating_mul(3);
        let occupied = need - reusable;
        let cost = cost.min(occupied.saturating_mul(COST_CAP));
        let room = occupied.saturating_mul(2).max(cost);
        let target = need
            .saturating_add(room.saturating_sub(reusable))
            .clamp(self.min_pages, self.max_pages);
        settle(target, current)
    }
}

impl GrowingHeap {
    /// Makes the heap `new` pages (from `cur`) after a collection that left `used`
    /// pages in use.
    fn set_size(&self, mmtk: &'static MMTK<VMKitBinding>, used: usize, cur: usize, new: usize) {
        CURRENT_PAGES.store(new, Relaxed);
        PEAK_PAGES.fetch_max(new, Relaxed);
        if new < cur {
            // The heap shrank: free blocks beyond what it may now fill before the
            // next collection go back to the OS (MMTk keeps them all mapped and
            // resident otherwise).
            let keep = new.saturating_sub(used) << LOG_BYTES_IN_PAGE;
            let bytes = mmtk::memory_manager::decommit_free_memory(mmtk, keep);
            super::stats::record_decommit(bytes);
        }
    }
}

/// Room kept for what the mutators allocate while marking runs, as a multiple
/// of what they allocated while the last marking ran: marking starts when this
/// much is left in the heap (the allocation rate and the marking's speed vary
/// from one cycle to the next; a heap that fills first grows while marking runs).
pub const MARKING_ROOM: f64 = 1.5;

/// Where a concurrent plan stands after a cycle that left `used` pages in use
/// while `pending` wait, when the mutators allocated `during` pages while the
/// last marking ran: `(heap size, pages in use at which the next marking
/// starts)`.
///
/// Everything allocated while marking runs survives the cycle (MMTk allocates it
/// marked), so about `used - during` pages were live when marking started. The
/// mutators may allocate half that before the next marking starts (the
/// allocation between cycles is then proportional to the live data, as in Go's
/// default pacing, instead of a marking that never stops), and the heap keeps
/// [`MARKING_ROOM`] times `during` above that for the marking itself. Within the
/// limits; shrinking only below a quarter of the current size (so that sizes do
/// not oscillate); marking never starts below what is in use.
fn concurrent_pacing(
    used: usize,
    pending: usize,
    during: usize,
    min_pages: usize,
    max_pages: usize,
    current: usize,
) -> (usize, usize) {
    let need = used.saturating_add(pending);
    let live = used.saturating_sub(during);
    // At least an eighth of the minimum heap: a cycle that allocated next to
    // nothing while it marked says little about the next one.
    let room = ((during as f64 * MARKING_ROOM) as usize).max(min_pages / 8);
    let earliest = need.saturating_add(live / 2);
    let size = settle(
        earliest.saturating_add(room).clamp(min_pages, max_pages),
        current,
    );
    // A heap kept larger than the target starts marking later, with the same
    // room left.
    (size, size.saturating_sub(room).max(earliest.min(size)))
}

/// The new size for `target` pages from `current`: grow at once, shrink only
/// below a quarter (so that sizes do not oscillate).
fn settle(target: usize, current: usize) -> usize {
    if target > current || target < current / 4 {
        target
    } else {
        current
    }
}

impl GCTriggerPolicy<VMKitBinding> for GrowingHeap {
    fn on_pending_allocation(&self, pages: usize) {
        PENDING_PAGES.fetch_add(pages, Relaxed);
    }

    fn on_gc_start(&self, mmtk: &'static MMTK<VMKitBinding>) {
        let mut c = self.cycle.lock();
        c.start = Instant::now();
        c.cpu_at_start = process_cpu_seconds();
        c.used_at_start = mmtk.get_plan().get_used_pages();
        c.pauses_in_cycle = 0;
        c.swept_at_start = mmtk::memory_manager::heap_work_counters().chunks_swept;
        c.immix_at_start = mmtk::memory_manager::immix_reserved_pages(mmtk);
    }

    fn on_pause_start(&self, mmtk: &'static MMTK<VMKitBinding>) {
        let plan = mmtk.get_plan();
        let mut c = self.cycle.lock();
        c.pauses_in_cycle += 1;
        c.used_at_pause = plan.get_used_pages();
        c.full_at_pause =
            plan.get_reserved_pages() + PENDING_PAGES.load(Relaxed) > CURRENT_PAGES.load(Relaxed);
        c.pause_start = Instant::now();
        if c.pauses_in_cycle > 1 {
            // The final-mark pause of a concurrent cycle: marking ran since the
            // initial-mark pause ended.
            c.marking = Some((
                c.used_at_last_pause_end,
                c.pause_start.duration_since(c.last_pause_end).as_secs_f64(),
            ));
        }
    }

    fn on_pause_end(&self, mmtk: &'static MMTK<VMKitBinding>) {
        let mut c = self.cycle.lock();
        c.used_at_last_pause_end = mmtk.get_plan().get_used_pages();
        c.last_pause_end = Instant::now();
    }

    fn on_gc_end(&self, mmtk: &'static MMTK<VMKitBinding>) {
        let plan = mmtk.get_plan();
        let used = plan.get_used_pages();
        let pending = PENDING_PAGES.swap(0, Relaxed);
        let cur = CURRENT_PAGES.load(Relaxed);
        let (cost, free_lines) = {
            let mut c = self.cycle.lock();
            let now = Instant::now();
            if plan.concurrent().is_some() {
                // What the mutators allocate while marking runs beside them: the
                // room the next cycle needs after marking starts. It is the more
                // of what they allocated during this marking and what they
                // allocate in as long on average over the cycle (a program that
                // allocates in bursts, as binary-trees builds a tree and then
                // walks it, may allocate little during one marking and much
                // during the next), and at least half the last estimate. A cycle
                // that ran out of room (the heap was full when its final mark
                // began) measured only part of it: double it. A full pause (an
                // explicit collection, or a fallback) measures nothing and halves
                // the last estimate, so that an old burst does not keep the heap
                // large once the program stops allocating.
                let during = match c.marking.take() {
                    Some((start, marking)) => {
                        let measured = c.used_at_pause.saturating_sub(start);
                        let elapsed = c.pause_start.duration_since(c.last_end).as_secs_f64();
                        let allocated = c.used_at_pause.saturating_sub(c.used_after_last);
                        let average = if elapsed > 0.0 {
                            (allocated as f64 / elapsed * marking).min(usize::MAX as f64) as usize
                        } else {
                            0
                        };
                        let d = measured.max(average).max(c.marking_need / 2);
                        if c.full_at_pause {
                            d.saturating_mul(2)
                        } else {
                            d
                        }
                    }
                    None => c.marking_need / 2,
                };
                c.marking_need = during;
                c.last_end = now;
                c.used_after_last = used;
                let (new, start) =
                    concurrent_pacing(used, pending, during, self.min_pages, self.max_pages, cur);
                drop(c);
                MARK_START_PAGES.store(start, Relaxed);
                self.set_size(mmtk, used, cur, new);
                return;
            }
            // The mutators are stopped: the process's CPU time in the pause is the
            // collector's.
            let swept = mmtk::memory_manager::heap_work_counters().chunks_swept != c.swept_at_start;
            let cpu = (process_cpu_seconds() - c.cpu_at_start).max(0.0);
            let pause = (cpu / super::workers::last_active().max(1) as f64)
                .min(now.duration_since(c.start).as_secs_f64());
            let mutator = c.start.duration_since(c.last_end).as_secs_f64();
            let allocated = c.used_at_start.saturating_sub(c.used_after_last) as f64;
            c.last_end = now;
            c.used_after_last = used;
            let cost = if mutator > 0.0 {
                (allocated / mutator * pause * PAUSES_OF_ALLOCATION).min(usize::MAX as f64) as usize
            } else {
                0
            };
            // Free lines are room for what goes to Immix blocks only: count
            // them in the share of the last interval's allocation that did (a
            // program that allocates mostly large strings gains nothing from
            // them).
            let immix_now = mmtk::memory_manager::immix_reserved_pages(mmtk);
            let immix_allocated = c.immix_at_start.saturating_sub(c.immix_after_last);
            c.immix_after_last = immix_now;
            let free_lines = if swept && allocated > 0.0 {
                let share = (immix_allocated as f64 / allocated).min(1.0);
                ((mmtk::memory_manager::free_line_bytes() >> LOG_BYTES_IN_PAGE) as f64 * share)
                    as usize
            } else {
                0
            };
            (cost, free_lines)
        };
        let new = self.resize(used, free_lines, pending, cur, cost);
        self.set_size(mmtk, used, cur, new);
    }

    fn is_gc_required(
        &self,
        space_full: bool,
        space: Option<SpaceStats<VMKitBinding>>,
        plan: &dyn Plan<VM = VMKitBinding>,
    ) -> bool {
        plan.collection_required(space_full, space)
    }

    fn should_start_concurrent_marking(
        &self,
        used_now: usize,
        _used_after_last_gc: usize,
        _total: usize,
    ) -> bool {
        used_now >= MARK_START_PAGES.load(Relaxed)
    }

    fn is_heap_full(&self, plan: &dyn Plan<VM = VMKitBinding>) -> bool {
        let reserved = plan.get_reserved_pages();
        let cur = CURRENT_PAGES.load(Relaxed);
        if reserved <= cur {
            return false;
        }
        if plan
            .concurrent()
            .is_some_and(|c| c.concurrent_work_in_progress())
            && cur < self.max_pages
        {
            // Marking runs beside the mutators and the heap filled first: a full
            // heap now would end the cycle with a final mark and a full
            // stop-the-world collection after it (MMTk 0.33 may not go from
            // marking straight to a full collection). Grow instead, by a quarter,
            // within the maximum; the cycle's end sizes the heap again from what
            // marking needed.
            let grown = reserved.max(cur + cur / 4).min(self.max_pages);
            CURRENT_PAGES.fetch_max(grown, Relaxed);
            PEAK_PAGES.fetch_max(grown, Relaxed);
            return reserved > grown;
        }
        true
    }

    fn get_current_heap_size_in_pages(&self) -> usize {
        CURRENT_PAGES.load(Relaxed)
    }

    fn get_max_heap_size_in_pages(&self) -> usize {
        self.max_pages
    }

    fn can_heap_size_grow(&self) -> bool {
        CURRENT_PAGES.load(Relaxed) < self.max_pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heap(min_pages: usize, max_pages: usize) -> GrowingHeap {
        GrowingHeap::with_limits(min_pages, max_pages)
    }

    #[test]
    fn keeps_the_allocation_of_a_few_pauses_free() {
        let h = heap(100, 100_000);
        // 3,000 pages live: three times that is 9,000; a mutator that allocates
        // 20,000 pages in three pause-lengths gets 23,000.
        assert_eq!(h.resize(3_000, 0, 0, 100, 20_000), 23_000);
        // A cheap collection: three times what is used.
        assert_eq!(h.resize(3_000, 0, 0, 100, 10), 9_000);
        assert_eq!(
            h.resize(3_000, 0, 0, 100, 200_000),
            27_000,
            "at most 8x used"
        );
        assert_eq!(h.resize(30_000, 0, 0, 100, 200_000), 100_000, "the maximum");
    }

    #[test]
    fn counts_free_lines_as_room_not_as_occupied() {
        let h = heap(100, 100_000);
        // 9,000 pages in use, 8,000 of them free lines in the blocks kept (one
        // survivor in five): 6,000 count as room, 3,000 as occupied, so the
        // heap needs room for 6,000 and has it: it stays at 9,000 (three times
        // the pages in use would be 27,000).
        assert_eq!(h.resize(9_000, 8_000, 0, 100, 0), 9_000);
        // 4,000 of 10,000 free: 3,000 room, 7,000 occupied, 14,000 room
        // needed, 11,000 new pages.
        assert_eq!(h.resize(10_000, 4_000, 0, 100, 0), 21_000);
        // No free lines: as before.
        assert_eq!(h.resize(10_000, 0, 0, 100, 0), 30_000);
        // The cost of a collection is capped at 8x what is occupied.
        assert_eq!(
            h.resize(9_000, 8_000, 0, 100, 1_000_000),
            9_000 + 24_000 - 6_000
        );
    }

    #[test]
    fn keeps_two_thirds_free_within_limits() {
        let h = heap(100, 1000);
        assert_eq!(h.resize(10, 0, 0, 100, 0), 100, "never below the minimum");
        assert_eq!(
            h.resize(80, 0, 0, 100, 0),
            240,
            "grows to three times what is used"
        );
        assert_eq!(h.resize(700, 0, 0, 400, 0), 1000, "never above the maximum");
        assert_eq!(
            h.resize(100, 0, 0, 400, 0),
            400,
            "keeps its size for a moderate drop"
        );
        assert_eq!(
            h.resize(40, 0, 0, 800, 0),
            120,
            "shrinks after a large drop"
        );
    }

    #[test]
    fn a_concurrent_plan_starts_marking_with_room_for_what_marking_allocates() {
        // 3,000 pages in use, 1,000 of them allocated while marking ran (so about
        // 2,000 live): marking starts after another 1,000 (half the live data),
        // with 1.5 x 1,000 pages left for it.
        assert_eq!(
            concurrent_pacing(3_000, 0, 1_000, 800, 100_000, 800),
            (5_500, 4_000)
        );
        // Pending allocations count as in use.
        assert_eq!(
            concurrent_pacing(3_000, 200, 1_000, 800, 100_000, 800),
            (5_700, 4_200)
        );
        // Nothing allocated while marking: the room is an eighth of the minimum.
        assert_eq!(
            concurrent_pacing(3_000, 0, 0, 800, 100_000, 800),
            (4_600, 4_500)
        );
        // Within the limits: a small program starts marking with the room left
        // in the minimum heap; a large one marks as soon as it can.
        assert_eq!(
            concurrent_pacing(100, 0, 50, 8_000, 100_000, 8_000),
            (8_000, 7_000)
        );
        assert_eq!(
            concurrent_pacing(3_000, 0, 60_000, 100, 50_000, 100),
            (50_000, 3_000)
        );
        // A moderate drop keeps the heap, and the marking starts later in it.
        assert_eq!(
            concurrent_pacing(3_000, 0, 1_000, 800, 100_000, 20_000),
            (20_000, 18_500)
        );
        // A large drop shrinks it.
        assert_eq!(
            concurrent_pacing(3_000, 0, 1_000, 800, 100_000, 40_000),
            (5_500, 4_000)
        );
    }

    #[test]
    fn makes_room_for_the_allocation_that_waits() {
        let h = heap(100, 100_000);
        // A 300-page allocation waits on a nearly empty minimum heap: the heap
        // grows past it (a trigger sized from what is live alone stays at 100,
        // the allocation never fits, and the collections never end).
        assert_eq!(h.resize(10, 0, 300, 100, 0), 930);
        // Never past the maximum: the allocation then fails with OutOfMemory.
        assert_eq!(h.resize(10, 0, 200_000, 100, 0), 100_000);
    }
}
