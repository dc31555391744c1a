//! Weak references and finalizers, processed by the substrate after the transitive
//! closure of every collection (nursery ones included) through MMTk's
//! `Scanning::process_weak_refs` hook.
//!
//! - A weak reference is an object of type [`WEAK_REF`] whose referent (at
//!   [`WEAK_REFERENT_OFFSET`]) is not traced: when the referent is no longer
//!   strongly reachable the collector clears it, otherwise it updates it to the
//!   referent's new address. Referents are cleared before finalizable objects are
//!   resurrected (as Java's weak references are).
//! - A finalizable object registered with [`register_finalizer`] that becomes
//!   unreachable is kept alive (with everything it references) and queued; the
//!   personality takes it with [`take_finalizable`] and runs its finalizer.
//!   [`crate::ObjectModel::finalizers_pending`] is called at the end of a
//!   collection that queued some.

use crate::object::{self, Layout, TypeInfo, HEADER_SIZE};
use mmtk::util::{Address, ObjectReference};
use mmtk::vm::{ObjectTracer, ObjectTracerContext};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Offset of the referent in a weak-reference object.
pub const WEAK_REFERENT_OFFSET: usize = HEADER_SIZE;

/// The type of weak-reference objects: one untraced reference field.
pub static WEAK_REF: TypeInfo = TypeInfo::new(
    "WeakRef",
    Layout::Fixed {
        size: HEADER_SIZE + 8,
        ref_offsets: &[],
    },
    usize::MAX,
);

static WEAK: Mutex<Vec<usize>> = Mutex::new(Vec::new());
static FINALIZABLE: Mutex<Vec<usize>> = Mutex::new(Vec::new());
static READY: Mutex<Vec<usize>> = Mutex::new(Vec::new());
static QUEUED: AtomicBool = AtomicBool::new(false);

/// Makes `weak`, a fresh object of type [`WEAK_REF`], a weak reference to
/// `referent` ([`crate::Thread::new_weak_ref`] allocates and registers one).
///
/// # Safety
/// `weak` is a live object of type [`WEAK_REF`], registered once.
pub unsafe fn register_weak_ref(weak: ObjectReference, referent: Option<ObjectReference>) {
    // SAFETY: the caller's promise: the referent word is inside `weak`.
    unsafe { object::write_word(weak, WEAK_REFERENT_OFFSET, object::ref_to_word(referent)) };
    WEAK.lock().push(weak.to_raw_address().as_usize());
}

/// A personality's table of weakly held objects (an intern table of strings,
/// say), kept up to date by the collector: after the transitive closure of every
/// collection, once no more objects are resurrected for finalization, the
/// processor is called with a function that tells, for an object it holds,
/// where the object now is, or `None` when it was not reachable (the processor
/// drops it). Plans that move objects after computing liveness call it a
/// second time with the new addresses (then every object it is asked about is
/// reachable).
///
/// It runs on a collector thread while every mutator is stopped: it must not
/// allocate in the heap or take a lock a mutator may hold across an allocation
/// or a safepoint. An object a mutator takes out of such a table while a
/// concurrent plan marks must go through [`load_barrier`] first.
pub type WeakProcessor = fn(&dyn Fn(ObjectReference) -> Option<ObjectReference>);

static PROCESSORS: Mutex<Vec<WeakProcessor>> = Mutex::new(Vec::new());

/// Registers a [`WeakProcessor`], called at every collection from now on.
pub fn register_weak_processor(p: WeakProcessor) {
    PROCESSORS.lock().push(p);
}

/// What a mutator does with an object it takes out of a weak structure (a weak
/// reference, a [`WeakProcessor`]'s table): under a snapshot-at-the-beginning
/// plan (ConcurrentImmix) with marking in progress, the object is handed to the
/// marker (MMTk's weak-reference load barrier). An object only weakly reachable
/// when marking began is not in the snapshot; once the mutator stores it
/// somewhere strong, only this keeps the collector from freeing it at the end
/// of the cycle. A no-op for every other plan, and on a thread not attached to
/// the VM.
pub fn load_barrier(o: ObjectReference) {
    if super::satb_barrier() && super::is_heap_ready() {
        if let Some(t) = crate::Thread::current() {
            // The SATB barrier records the object only while concurrent
            // marking runs (a load and a branch otherwise).
            t.mutator_mut().barrier.load_weak_reference(o);
        }
    }
}

/// The referent of a weak reference: `None` once the collector cleared it.
/// The referent goes through [`load_barrier`] (call this on a thread attached
/// to the VM, whose barrier that is; elsewhere it only reads).
///
/// # Safety
/// `weak` is a live object of type [`WEAK_REF`].
pub unsafe fn weak_get(weak: ObjectReference) -> Option<ObjectReference> {
    // SAFETY: the caller's promise.
    let r = unsafe { object::read_ref(weak, WEAK_REFERENT_OFFSET) }?;
    load_barrier(r);
    Some(r)
}

/// Registers `obj` for finalization: when it becomes unreachable it is queued for
/// [`take_finalizable`] instead of being freed (once). An early object (made
/// before the heap was up, see [`super::early`]) never becomes unreachable.
pub fn register_finalizer(obj: ObjectReference) {
    FINALIZABLE.lock().push(obj.to_raw_address().as_usize());
}

/// Takes the next object whose finalizer should run, if any. The object is live
/// again (reachable from the caller) from then on.
pub fn take_finalizable() -> Option<ObjectReference> {
    let mut r = READY.lock();
    if r.is_empty() {
        None
    } else {
        object::word_to_ref(r.remove(0))
    }
}

/// Roots: objects queued for finalization but not yet taken.
pub(crate) fn scan_ready(visit: &mut dyn FnMut(Address)) {
    for w in READY.lock().iter() {
        visit(Address::from_ptr(w as *const usize));
    }
}

/// The new address of a reachable object. Plans that compute forwarding after
/// liveness (Compressor) update addresses later, in [`forward`].
fn forwarded(o: ObjectReference) -> ObjectReference {
    if super::forwards_after_liveness() {
        o
    } else {
        moved(o)
    }
}

/// Where `o` is now (early objects never move; MMTk knows nothing of them).
fn moved(o: ObjectReference) -> ObjectReference {
    if super::early::contains(o) {
        o
    } else {
        o.get_forwarded_object().unwrap_or(o)
    }
}

/// Whether the last closure reached `o` (early objects are immortal).
fn reachable(o: ObjectReference) -> bool {
    super::early::contains(o) || o.is_reachable()
}

/// For plans that forward after liveness: updates the addresses recorded by
/// [`process`] once objects have their new addresses.
pub(crate) fn forward() {
    for w in WEAK.lock().iter_mut() {
        let Some(wo) = object::word_to_ref(*w) else {
            continue;
        };
        // SAFETY: a registered weak reference that survived the closure: a live
        // object of type WEAK_REF (its old copy, not overwritten before forwarding).
        unsafe {
            if let Some(r) = object::read_ref(wo, WEAK_REFERENT_OFFSET) {
                object::write_word(
                    wo,
                    WEAK_REFERENT_OFFSET,
                    object::ref_to_word(Some(moved(r))),
                );
            }
        }
        *w = moved(wo).to_raw_address().as_usize();
    }
    for f in FINALIZABLE.lock().iter_mut() {
        if let Some(o) = object::word_to_ref(*f) {
            *f = moved(o).to_raw_address().as_usize();
        }
    }
    let moved_to = |o: ObjectReference| Some(moved(o));
    for p in PROCESSORS.lock().iter() {
        p(&moved_to);
    }
}

/// Called by MMTk after each transitive closure. Returns whether it resurrected
/// objects (MMTk then completes the closure from them and calls again).
pub(crate) fn process<C: ObjectTracerContext<super::VMKitBinding>>(
    worker: &mut mmtk::scheduler::GCWorker<super::VMKitBinding>,
    tracer_context: C,
) -> bool {
    // Weak references first: a referent not strongly reachable now is cleared,
    // even if it is resurrected for finalization below.
    {
        let mut weak = WEAK.lock();
        weak.retain_mut(|w| {
            let Some(wo) = object::word_to_ref(*w) else {
                return false;
            };
            if !reachable(wo) {
                return false;
            }
            let wo = forwarded(wo);
            *w = wo.to_raw_address().as_usize();
            // SAFETY: `wo` is the reachable (forwarded) copy of a registered
            // weak reference: a live object of type WEAK_REF.
            unsafe {
                if let Some(r) = object::read_ref(wo, WEAK_REFERENT_OFFSET) {
                    let new = if reachable(r) {
                        object::ref_to_word(Some(forwarded(r)))
                    } else {
                        0
                    };
                    object::write_word(wo, WEAK_REFERENT_OFFSET, new);
                }
            }
            true
        });
    }
    let mut dead = Vec::new();
    {
        let mut fin = FINALIZABLE.lock();
        fin.retain_mut(|f| {
            let Some(o) = object::word_to_ref(*f) else {
                return false;
            };
            if reachable(o) {
                *f = forwarded(o).to_raw_address().as_usize();
                true
            } else {
                dead.push(o);
                false
            }
        });
    }
    if dead.is_empty() {
        // Reachability is final: nothing more is resurrected.
        let now = |o: ObjectReference| reachable(o).then(|| forwarded(o));
        for p in PROCESSORS.lock().iter() {
            p(&now);
        }
        return false;
    }
    let mut ready = READY.lock();
    tracer_context.with_tracer(worker, |tracer| {
        for o in dead {
            ready.push(tracer.trace_object(o).to_raw_address().as_usize());
        }
    });
    QUEUED.store(true, Ordering::SeqCst);
    true
}

/// At the end of a collection: tell the personality if finalizers are pending.
pub(crate) fn after_collection() {
    if QUEUED.swap(false, Ordering::SeqCst) {
        crate::object::model().finalizers_pending();
    }
}
