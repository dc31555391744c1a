//! Objects allocated before MMTk is up.
//!
//! With [`crate::vm::start`], MMTk comes up on a helper thread (about 1 ms; 8-10 ms
//! before the vendored mmtk stopped writing a state byte for each of the 4M
//! chunks of its side metadata's reservation, patch 10), and only once the heap
//! is wanted: when an eighth of this region is used, or something does not fit
//! in it. A thread that allocates meanwhile does not wait: its objects go to
//! the early region, a small bump-allocated block of memory outside MMTk's spaces
//! (as a boot image's objects are in JikesRVM). Early objects are immortal and
//! never move, and MMTk's tracing hands them back to the binding
//! (`vm_trace_object`), which leaves them where they are. Under a plan with a
//! write barrier (generational, sticky, concurrent) every collection reports
//! their reference fields as roots, so that stores into them need no barrier;
//! so does a plan that updates references in a second closure (MarkCompact,
//! Compressor).
//! Under the others a collection traces through them instead: the first time it
//! reaches an early object it marks it (a bit per object, cleared when the world
//! stops) and queues it for scanning, so an early object the program dropped
//! costs a collection nothing (a region full of early garbage used to cost every
//! collection of a small heap a millisecond). Once the heap is up nothing more is
//! allocated here.

use mmtk::util::{Address, ObjectReference};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Bytes of early objects at most (only what is used is backed). Early objects
/// are immortal and scanned by every collection: the region is for what a
/// program allocates in its first milliseconds, not for its working set.
pub const CAPACITY: usize = 1 << 20;
/// Once this much of the region is used, the heap is asked for
/// ([`super::want_heap`]): it comes up while the rest of the region fills.
const WANT_HEAP_AT: usize = CAPACITY / 8;
/// The largest early object; a larger allocation waits for the heap.
const MAX_OBJECT: usize = 256 << 10;
/// Below this heap size there is no early region: a small heap is a limit the
/// program should meet from its first allocation on, whatever the timing.
pub(crate) const MIN_HEAP: usize = 64 << 20;

/// Start of the region, 0 until it is reserved (written once, under `REGION`'s
/// lock; read without it by [`contains`]).
static BASE: AtomicUsize = AtomicUsize::new(0);

struct Region {
    top: usize,
    /// Every early object, in allocation order.
    objects: Vec<ObjectReference>,
    /// The reservation failed: do not try again.
    failed: bool,
}

static REGION: Mutex<Region> = Mutex::new(Region {
    top: 0,
    objects: Vec::new(),
    failed: false,
});

/// Whether `o` is an early object.
#[inline]
pub(crate) fn contains(o: ObjectReference) -> bool {
    let base = BASE.load(Ordering::Acquire);
    base != 0 && o.to_raw_address().as_usize().wrapping_sub(base) < CAPACITY
}

/// `size` zeroed bytes (a multiple of the object alignment) in the early region,
/// or `None` when the object is too large or the region is full.
pub(crate) fn alloc(size: usize) -> Option<ObjectReference> {
    if size > MAX_OBJECT {
        return None;
    }
    let mut r = REGION.lock();
    let mut base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        if r.failed {
            return None;
        }
        // SAFETY: an anonymous private mapping at an address of the kernel's
        // choosing; it aliases nothing.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                CAPACITY,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            r.failed = true;
            return None;
        }
        base = p as usize;
        r.top = base;
        BASE.store(base, Ordering::Release);
    }
    if r.top + size > base + CAPACITY {
        return None;
    }
    let at = r.top;
    r.top += size;
    // SAFETY: `at` is a nonzero, page- or object-aligned address in the region.
    let obj = ObjectReference::from_raw_address(unsafe { Address::from_usize(at) })
        .expect("the region is not at address 0");
    r.objects.push(obj);
    let crossed = r.top - base >= WANT_HEAP_AT && at - base < WANT_HEAP_AT;
    drop(r);
    if crossed {
        // Spawns MMTk's initializer: not under the region's lock.
        super::want_heap();
    }
    Some(obj)
}

/// Whether early objects are roots (their fields reported by every collection)
/// rather than traced through: under plans with a write barrier, and under plans
/// that update references in a second closure after marking (MarkCompact,
/// Compressor: the marks of the first would keep the second from scanning them).
fn as_roots() -> bool {
    let c = &super::config().facts;
    c.needs_barrier || c.forward_after_liveness
}

/// Where the early objects start, and a mark bit for each, both indexed by the
/// 8-byte granule of the region an object starts at: fixed at the first
/// collection (the heap is up, nothing more is allocated here). A collection
/// reaches early objects through every reference to them (luavm's interned
/// method names are early strings, keys of most tables): finding one's mark
/// is a shift, not a search (a binary search over luavm's early objects was a
/// quarter of its collections' time on AWFY's CD).
struct Frozen {
    base: usize,
    /// Bit `g` set: an early object starts at granule `g`.
    starts: Box<[u64]>,
    marks: Box<[AtomicU64]>,
}

/// The granule of [`Frozen`]'s bitmaps: every early object's size is a
/// multiple of it, and the region starts on a page.
const GRANULE: usize = crate::object::OBJECT_ALIGN;

static FROZEN: std::sync::OnceLock<Frozen> = std::sync::OnceLock::new();

fn frozen() -> &'static Frozen {
    FROZEN.get_or_init(|| {
        let r = REGION.lock();
        let base = BASE.load(Ordering::Acquire);
        let words = if base == 0 {
            0
        } else {
            ((r.top - base) / GRANULE).div_ceil(64)
        };
        let mut starts = vec![0u64; words];
        for o in &r.objects {
            let g = (o.to_raw_address().as_usize() - base) / GRANULE;
            starts[g / 64] |= 1 << (g % 64);
        }
        let marks = (0..words).map(|_| AtomicU64::new(0)).collect();
        Frozen {
            base,
            starts: starts.into_boxed_slice(),
            marks,
        }
    })
}

/// Called when the world has stopped for a collection, before any tracing:
/// clears the marks of the last one.
pub(crate) fn begin_collection() {
    if BASE.load(Ordering::Acquire) == 0 || as_roots() {
        return;
    }
    for m in frozen().marks.iter() {
        m.store(0, Ordering::Relaxed);
    }
}

/// Marks early object `o` for the collection under way; true the first time.
pub(crate) fn mark(o: ObjectReference) -> bool {
    if as_roots() {
        return false;
    }
    let f = frozen();
    let g = (o.to_raw_address().as_usize() - f.base) / GRANULE;
    let (word, bit) = (g / 64, 1u64 << (g % 64));
    if f.starts.get(word).is_none_or(|s| s & bit == 0) {
        panic!("vmkit: {o} is inside the early region but is no early object");
    }
    f.marks[word].fetch_or(bit, Ordering::Relaxed) & bit == 0
}

/// Under a plan with a write barrier, reports the non-null reference fields of
/// every early object: roots of every collection. Otherwise nothing (they are
/// traced through).
pub(crate) fn scan(visit: &mut dyn FnMut(Address)) {
    if !as_roots() {
        return;
    }
    let r = REGION.lock();
    for &o in &r.objects {
        super::binding::visit_fields(o, &mut |a| visit(a));
    }
}

/// How many objects, and bytes, were allocated before the heap was up.
pub fn allocated() -> (usize, usize) {
    let r = REGION.lock();
    (r.objects.len(), r.top - BASE.load(Ordering::Relaxed))
}
