//! The thread registry and the stop-the-world rendezvous (VMKit's `CollectionRV`).
//!
//! Protocol. A collection sets `STOP` and every registered thread's yieldpoint flag
//! under `SYNC`, then waits on `CV` until no thread is [`ThreadState::Managed`].
//! Managed threads notice the flag at their next safepoint poll and park
//! ([`ThreadState::Blocked`]); threads in native code are already safe and park if
//! they try to come back while `STOP` is set. Resumption clears `STOP`, bumps the
//! epoch and wakes everyone; a woken thread re-checks `STOP`, so a thread woken
//! between two collections waits for the second one too.
//!
//! Native transitions are lock-free on the fast path: a thread stores its state and
//! then loads `STOP` (both `SeqCst`), the collector stores `STOP` and then loads
//! states (both `SeqCst`); one of the two always sees the other's store.

use super::{Thread, ThreadState};
use crate::gc::stats;
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::Instant;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct ThreadPtr(pub(crate) *const Thread);
// SAFETY: a registered thread's `Thread` stays allocated until it is removed from the
// registry, which happens under `SYNC` and never during a collection.
unsafe impl Send for ThreadPtr {}

pub(crate) struct SyncState {
    pub(crate) threads: Vec<ThreadPtr>,
    pub(crate) epoch: u64,
    stop_started: Option<Instant>,
}

pub(crate) static SYNC: Mutex<SyncState> = Mutex::new(SyncState {
    threads: Vec::new(),
    epoch: 0,
    stop_started: None,
});
pub(crate) static CV: Condvar = Condvar::new();
pub(crate) static STOP: AtomicBool = AtomicBool::new(false);

/// Whether a stop-the-world is requested or under way.
pub fn world_stopping() -> bool {
    STOP.load(SeqCst)
}

/// Parks the calling thread (already marked non-managed) while the world is stopped.
/// Returns with the lock held.
pub(crate) fn wait_while_stopped(g: &mut MutexGuard<'_, SyncState>) {
    while STOP.load(SeqCst) {
        CV.wait(g);
    }
}

/// Stops every mutator: returns once each is parked or in native code.
pub(crate) fn stop_the_world() {
    let start = Instant::now();
    let mut g = SYNC.lock();
    STOP.store(true, SeqCst);
    for t in &g.threads {
        // SAFETY: registered threads are alive (see `ThreadPtr`).
        unsafe { &*t.0 }.request_yield();
    }
    loop {
        let all_stopped = g.threads.iter().all(|t| {
            // SAFETY: as above.
            unsafe { &*t.0 }.state() != ThreadState::Managed
        });
        if all_stopped {
            break;
        }
        CV.wait(&mut g);
    }
    g.stop_started = Some(start);
    drop(g);
    stats::record_stop(start.elapsed(), crate::gc::used_bytes());
}

/// Releases the mutators parked by [`stop_the_world`].
pub(crate) fn resume_the_world() {
    let mut g = SYNC.lock();
    for t in &g.threads {
        // SAFETY: as above.
        unsafe { &*t.0 }.clear_yield();
    }
    g.epoch += 1;
    if let Some(s) = g.stop_started.take() {
        stats::record_pause(s.elapsed());
    }
    STOP.store(false, SeqCst);
    CV.notify_all();
}

/// The registered threads. Only meaningful while the world is stopped (or under
/// `SYNC`): MMTk calls it from GC workers during a collection.
pub(crate) fn snapshot() -> Vec<&'static Thread> {
    SYNC.lock()
        .threads
        .iter()
        // SAFETY: the registry cannot change while the world is stopped, so the
        // threads outlive the collection that asked for them.
        .map(|t| unsafe { &*t.0 })
        .collect()
}

/// Bytes allocated through the runtime by the attached threads (read under the
/// registry lock, which detaching threads hold while they hand their count over).
pub(crate) fn allocated_by_attached() -> u64 {
    SYNC.lock()
        .threads
        .iter()
        // SAFETY: registered threads stay alive while SYNC is held.
        .map(|t| unsafe { &*t.0 }.allocated_bytes())
        .sum()
}

/// Number of registered threads.
pub fn count() -> usize {
    SYNC.lock().threads.len()
}
