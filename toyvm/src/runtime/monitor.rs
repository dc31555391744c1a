//! Monitors for `sync`: a thin lock in the object's status word, inflated to a
//! parking_lot-based fat monitor on contention (or on deep recursion). Reentrant.
//!
//! Status word (32 bits, the high half of the object header) encodings:
//! - `0`: unlocked;
//! - thin: bit 0 set, bits 1..16 the recursion count beyond the first entry, bits
//!   16..32 the owner's thread id (a thread whose id does not fit in 16 bits
//!   always inflates);
//! - inflated: bits 0..2 = `0b10`, bits 2..32 the index of the fat monitor.
//!
//! The word moves with the object when the collector copies it, so locks survive
//! moving collections. A thread waiting for a fat monitor is in native state: it
//! never holds up a collection.

use crate::runtime::object::{cas_status, status_word};
use parking_lot::{Condvar, Mutex, RwLock};
use vmkit::{ObjectReference, Thread};

const THIN: u32 = 1;
const INFLATED: u32 = 2;
const COUNT_ONE: u32 = 1 << 1;
const COUNT_MASK: u32 = 0x7fff << 1;
const OWNER_SHIFT: u32 = 16;

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

/// A new fat monitor held by `owner` (`count` entries beyond the first): its
/// inflated status word.
fn new_fat(owner: usize, count: usize) -> u32 {
    let f: &'static Fat = Box::leak(Box::new(Fat {
        state: Mutex::new(FatState { owner, count }),
        cv: Condvar::new(),
    }));
    let mut m = MONITORS.write();
    m.push(f);
    // Each fat monitor is a leaked allocation of tens of bytes: 2^30 of them
    // would need tens of GiB, so the index always fits in the 30 bits.
    ((m.len() as u32 - 1) << 2) | INFLATED
}

fn load(obj: ObjectReference) -> u32 {
    status_word(obj).load(std::sync::atomic::Ordering::Acquire)
}

/// The thin-lock owner field for thread `id`, if it fits.
fn thin_owner(id: usize) -> Option<u32> {
    u32::try_from(id)
        .ok()
        .filter(|&i| i < 1 << (32 - OWNER_SHIFT))
}

/// Enters the monitor of `obj` on thread `t` (blocking, in native state, while
/// another thread holds it).
pub fn enter(t: &Thread, obj: ObjectReference) {
    let me = t.id();
    let thin = thin_owner(me);
    loop {
        let w = load(obj);
        if w == 0 {
            let locked = match thin {
                Some(o) => (o << OWNER_SHIFT) | THIN,
                None => new_fat(me, 0),
            };
            if cas_status(obj, 0, locked).is_ok() {
                return;
            }
            continue;
        }
        if w & THIN != 0 {
            let owner = (w >> OWNER_SHIFT) as usize;
            let count = ((w & COUNT_MASK) >> 1) as usize;
            if owner == me {
                if w & COUNT_MASK != COUNT_MASK {
                    if cas_status(obj, w, w + COUNT_ONE).is_ok() {
                        return;
                    }
                    continue;
                }
                // Recursion too deep for the thin word: inflate, keeping ownership.
                if cas_status(obj, w, new_fat(me, count + 1)).is_ok() {
                    return;
                }
                continue;
            }
            // Contention: inflate on the owner's behalf, with its exact count.
            if cas_status(obj, w, new_fat(owner, count)).is_err() {
                continue;
            }
            // Fall through to the fat path with the freshly inflated word.
        }
        let f = fat((load(obj) >> 2) as usize);
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
            debug_assert_eq!(
                (w >> OWNER_SHIFT) as usize,
                me,
                "monitor exit by a non-owner"
            );
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
        let f = fat((w >> 2) as usize);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thin_owner_ids_fit_in_sixteen_bits() {
        assert_eq!(thin_owner(1), Some(1));
        assert_eq!(thin_owner(0xffff), Some(0xffff));
        assert_eq!(thin_owner(0x1_0000), None);
        assert_eq!(thin_owner(usize::MAX), None);
        // The largest thin word stays in 32 bits with its count bits free.
        let w = (0xffff << OWNER_SHIFT) | COUNT_MASK | THIN;
        assert_eq!(w >> OWNER_SHIFT, 0xffff);
        assert_eq!((w & COUNT_MASK) >> 1, 0x7fff);
    }
}
