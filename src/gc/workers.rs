//! How many GC workers there are, and how many each collection uses.
//!
//! MMTk's scheduler runs a collection as a series of work-bucket stages, and a
//! stage opens only when every active worker has parked. A worker that the OS has
//! not scheduled holds every other one at the barrier: with one busy process beside
//! a 2-CPU program, four workers made a collection with nothing live pause 10-50 ms
//! (a few time slices per stage) where one worker pauses 0.01 ms. Parallel tracing
//! pays only when there is enough to trace and a CPU for each worker.
//!
//! So the substrate spawns one worker per CPU the process may run on (its affinity
//! mask and cgroup CPU quota, as `std::thread::available_parallelism` reads them),
//! and at the start of each collection (in `stop_all_mutators`, once the world is
//! stopped) it activates only as many as the work and the machine call for:
//! - one per [`BYTES_PER_WORKER`] of heap in use after the previous collection
//!   (before the first: a quarter of what is in use now), at least one, and
//! - no more than the CPUs not taken by other runnable threads of the machine at
//!   that moment (`/proc/loadavg`'s count of runnable tasks, less the worker that
//!   reads it; the smaller of two readings a yield apart, so that a task runnable
//!   for an instant does not count), at least one.
//!
//! The others stay parked outside the stage barriers (the `set_gc_worker_limit`
//! patch of the vendored mmtk, `vendor/mmtk/PATCHES.md`). A fixed `gc_threads`
//! option turns the policy off: that many workers, all active in every collection.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

/// Heap in use per active worker: below this a collection runs on one worker (a
/// second one costs more in start-up and barrier waits than it saves). On a
/// 2-CPU VM, binary-trees 16 (3-6 MB live) paused 4-35 ms with two workers and
/// 4-10 ms with one (`perf sched`: the second worker, woken onto the first's
/// CPU, waited there for a scheduler tick at a time while the other CPU idled);
/// binary-trees 18 (13-25 MB live) gains from two: 18 against 22 ms on average.
pub const BYTES_PER_WORKER: usize = 8 << 20;

/// Heap bytes in use after the last collection (`usize::MAX` before the first).
static LIVE_AFTER_LAST: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Workers spawned.
static SPAWNED: AtomicUsize = AtomicUsize::new(1);
/// Whether the per-collection policy is on (no fixed `gc_threads`).
static ADAPTIVE: AtomicBool = AtomicBool::new(true);
/// Workers the last collection used.
static LAST_ACTIVE: AtomicUsize = AtomicUsize::new(1);

/// The CPUs this process may run on: affinity mask and cgroup quota.
pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The number of workers to spawn: `fixed` if the embedder chose one, else one per
/// available CPU. Records whether collections adapt their worker count.
pub(crate) fn spawn_count(fixed: Option<usize>) -> usize {
    let n = fixed.unwrap_or_else(available_cpus).max(1);
    SPAWNED.store(n, Relaxed);
    ADAPTIVE.store(fixed.is_none(), Relaxed);
    n
}

/// Records the heap in use at the end of a collection.
pub(crate) fn record_live(bytes: usize) {
    LIVE_AFTER_LAST.store(bytes, Relaxed);
}

/// The workers the last collection used.
pub fn last_active() -> usize {
    LAST_ACTIVE.load(Relaxed)
}

/// The workers for `live` bytes in use, `spawned` workers and `others_running`
/// runnable threads elsewhere on a machine of `cpus` CPUs.
pub(crate) fn choose(live: usize, spawned: usize, cpus: usize, others_running: usize) -> usize {
    let for_work = 1 + live / BYTES_PER_WORKER;
    let free_cpus = cpus.saturating_sub(others_running).max(1);
    for_work.min(free_cpus).clamp(1, spawned.max(1))
}

/// Runnable tasks on the machine other than the caller, from `/proc/loadavg`'s
/// fourth field (`running/total`); `None` where that file cannot be read.
fn others_running() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let running: usize = text
        .split_whitespace()
        .nth(3)?
        .split('/')
        .next()?
        .parse()
        .ok()?;
    Some(running.saturating_sub(1))
}

/// Chooses the worker count of the collection starting (the world is stopped) and
/// hands it to MMTk.
pub(crate) fn before_collection(mmtk: &'static mmtk::MMTK<super::binding::VMKitBinding>) {
    let spawned = SPAWNED.load(Relaxed);
    let n = if !ADAPTIVE.load(Relaxed) || spawned == 1 {
        spawned
    } else {
        // The work is about what the last collection left in use; the first one
        // can only guess from what is in use now: a quarter of it (a program's
        // first collection usually finds most of its first heap dead; with the
        // whole of it, binary-trees 16's first pause took two workers and
        // 35-57 ms instead of 5-6 ms with one).
        let live = match LIVE_AFTER_LAST.load(Relaxed) {
            usize::MAX => mmtk::memory_manager::used_bytes(mmtk) / 4,
            live => live,
        };
        if live < BYTES_PER_WORKER {
            // One worker whatever the load: no need to read it.
            1
        } else {
            // A mutator that has just parked for this collection may still be on
            // its way to sleep (runnable), and a task may run for an instant: the
            // smaller of two readings, a yield apart, counts what stays runnable.
            std::thread::yield_now();
            let first = others_running().unwrap_or(0);
            std::thread::yield_now();
            let others = first.min(others_running().unwrap_or(0));
            // A concurrent plan's pauses trace only the roots and what the
            // barrier logged (marking runs between them, beside the mutators):
            // at most half the CPUs. With both workers of a 2-CPU machine active,
            // a third of binary-trees' pauses took 10-14 ms instead of 1-3 ms:
            // one worker waited a scheduler tick on the other's CPU (`perf
            // sched timehist`).
            let cpus = if super::is_concurrent_plan() {
                (spawned / 2).max(1)
            } else {
                spawned
            };
            choose(live, spawned, cpus, others)
        }
    };
    LAST_ACTIVE.store(n, Relaxed);
    mmtk::memory_manager::set_gc_worker_limit(mmtk, n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_worker_for_little_work() {
        assert_eq!(choose(0, 8, 8, 0), 1);
        assert_eq!(choose(BYTES_PER_WORKER - 1, 8, 8, 0), 1);
        assert_eq!(choose(BYTES_PER_WORKER, 8, 8, 0), 2);
    }

    #[test]
    fn no_more_workers_than_free_cpus_or_spawned() {
        let big = 100 * BYTES_PER_WORKER;
        assert_eq!(choose(big, 2, 2, 0), 2, "a quiet 2-CPU machine");
        assert_eq!(choose(big, 2, 2, 1), 1, "one busy neighbour");
        assert_eq!(choose(big, 2, 2, 5), 1, "always one at least");
        assert_eq!(choose(big, 8, 8, 3), 5);
        assert_eq!(choose(big, 4, 8, 0), 4, "never more than spawned");
    }

    #[test]
    fn reads_the_machine_load() {
        // Linux always has /proc/loadavg; the reading counts at least this test's
        // thread, which it leaves out.
        if cfg!(target_os = "linux") {
            assert!(others_running().is_some());
        }
    }
}
