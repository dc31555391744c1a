//! Monitors for `sync`: a thin lock in the object's status word, inflated to a
//! parking_lot-based fat monitor on contention (or on deep recursion). Reentrant.
//!
//! Status word encodings:
//! - `0`: unlocked;
//! - thin: bit 0 set, bits 1..16 the recursion count beyond the first entry, bits
//!   16.. the owner's thread id;
//! - inflated: bits 0..2 = `0b10`, bits 2.. the index of the fat monitor.
//!
//! The word moves with the object when the collector copies it, so locks survive
//! moving collections. A thread waiting for a fat monitor is in native state: it
//! never holds up a collection.

use parking_lot::{Condvar, Mutex, RwLock};
use vmkit::object::{cas_status, status_word};
use vmkit::{ObjectReference, Thread};

const THIN: usize = 1;
const INFLATED: usize = 2;
const COUNT_ONE: usize = 1 << 1;
const COUNT_MASK: usize = 0x7fff << 1;
const OWNER_SHIFT: usize = 16;

struct FatState {
    owner: usize,
    count: usize,
}

struct Fat {
    state: Mutex<FatState>,
    cv: Condvar,
}

static MONITORS: RwLock<Vec<&'static Fat>> = RwLock::new(Vec::new());

fn fat(index: usize) -> &'static Fat {
    MONITORS.read()[index]
}

fn new_fat(owner: usize, count: usize) -> usize {
    let f: &'static Fat = Box::leak(Box::new(Fat {
        state: Mutex::new(FatState { owner, count }),
        cv: Condvar::new(),
    }));
    let mut m = MONITORS.write();
    m.push(f);
    m.len() - 1
}

fn load(obj: ObjectReference) -> usize {
    status_word(obj).load(std::sync::atomic::Ordering::Acquire)
}

/// Enters the monitor of `obj` on thread `t` (blocking, in native state, while
/// another thread holds it).
pub fn enter(t: &Thread, obj: ObjectReference) {
    let me = t.id();
    loop {
        let w = load(obj);
        if w == 0 {
            if cas_status(obj, 0, (me << OWNER_SHIFT) | THIN).is_ok() {
                return;
            }
            continue;
        }
        if w & THIN != 0 {
            let owner = w >> OWNER_SHIFT;
            if owner == me {
                if w & COUNT_MASK != COUNT_MASK {
                    if cas_status(obj, w, w + COUNT_ONE).is_ok() {
                        return;
                    }
                    continue;
                }
                // Recursion too deep for the thin word: inflate, keeping ownership.
                let idx = new_fat(me, ((w & COUNT_MASK) >> 1) + 1);
                if cas_status(obj, w, (idx << 2) | INFLATED).is_ok() {
                    return;
                }
                continue;
            }
            // Contention: inflate on the owner's behalf, with its exact count.
            let idx = new_fat(owner, (w & COUNT_MASK) >> 1);
            if cas_status(obj, w, (idx << 2) | INFLATED).is_err() {
                continue;
            }
            // Fall through to the fat path with the freshly inflated word.
        }
        let f = fat(load(obj) >> 2);
        let mut s = f.state.lock();
        if s.owner == me {
            s.count += 1;
            return;
        }
        if s.owner != 0 {
            drop(s);
            t.native(|| {
                let mut s = f.state.lock();
                while s.owner != 0 {
                    f.cv.wait(&mut s);
                }
                s.owner = me;
                s.count = 0;
            });
            return;
        }
        s.owner = me;
        s.count = 0;
        return;
    }
}

/// Leaves the monitor of `obj`, which `t` holds.
pub fn exit(t: &Thread, obj: ObjectReference) {
    let me = t.id();
    loop {
        let w = load(obj);
        if w & THIN != 0 {
            debug_assert_eq!(w >> OWNER_SHIFT, me, "monitor exit by a non-owner");
            let new = if w & COUNT_MASK != 0 {
                w - COUNT_ONE
            } else {
                0
            };
            if cas_status(obj, w, new).is_ok() {
                return;
            }
            continue;
        }
        debug_assert_eq!(w & 3, INFLATED, "monitor exit of an unlocked object");
        let f = fat(w >> 2);
        let mut s = f.state.lock();
        debug_assert_eq!(s.owner, me);
        if s.count > 0 {
            s.count -= 1;
        } else {
            s.owner = 0;
            f.cv.notify_one();
        }
        return;
    }
}
