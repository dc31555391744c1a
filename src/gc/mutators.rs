//! What the heap needs of the thread manager above it.
//!
//! The heap sits below the threads (object model -> heap -> threads -> JIT): it
//! never names a thread. What a collection needs of them (the rendezvous, the
//! mutators, each thread's roots) it asks through [`Mutators`], which the thread
//! manager hands in when the substrate starts ([`crate::vm::init`]).

use super::roots::VmSlot;
use super::VMKitBinding;
use mmtk::util::opaque_pointer::{VMMutatorThread, VMThread};
use mmtk::{Mutator, MMTK};
use std::sync::OnceLock;

/// The thread manager, as the heap sees it. Called by MMTk's glue
/// ([`super::binding`]) and by the heap's own bookkeeping.
pub(crate) trait Mutators: Sync + 'static {
    /// Stops every mutator at a safepoint (the stop-the-world rendezvous); returns
    /// once none runs managed code.
    fn stop_all(&self);
    /// Lets the mutators run again.
    fn resume_all(&self);
    /// Calls `f` on the MMTk mutator of every attached thread (the world is stopped
    /// or the caller holds the registry).
    fn for_each(&self, f: &mut dyn FnMut(&'static mut Mutator<VMKitBinding>));
    /// How many threads are attached.
    fn count(&self) -> usize;
    /// Whether `tls` is an attached thread.
    fn is_mutator(&self, tls: VMThread) -> bool;
    /// The MMTk mutator of the attached thread `tls`.
    fn mutator(&self, tls: VMMutatorThread) -> &'static mut Mutator<VMKitBinding>;
    /// Parks the thread `tls`, which asked for a collection, until it is over.
    fn block_for_gc(&self, tls: VMMutatorThread);
    /// Records that an allocation of the thread `tls` found the heap exhausted.
    fn out_of_memory(&self, tls: VMThread);
    /// Reports the roots the stopped thread `tls` holds, in the order of
    /// [`super::roots`], each as a plain or a value slot ([`VmSlot`]).
    fn scan_thread_roots(&self, tls: VMMutatorThread, visit: &mut dyn FnMut(VmSlot));
    /// With MMTk built: gives every thread attached meanwhile its mutator, then
    /// calls `publish` (under the lock that attaching threads take).
    fn bind_all(&self, mmtk: &'static MMTK<VMKitBinding>, publish: &mut dyn FnMut());
    /// Bytes allocated by attached threads not yet added to the statistics.
    fn allocated_by_attached(&self) -> u64;
}

static MUTATORS: OnceLock<&'static dyn Mutators> = OnceLock::new();

/// Hands the thread manager to the heap (once, at start-up).
pub(crate) fn install(m: &'static dyn Mutators) {
    let _ = MUTATORS.set(m);
}

/// The thread manager.
pub(crate) fn mutators() -> &'static dyn Mutators {
    *MUTATORS
        .get()
        .expect("the thread manager is handed to the heap at start-up")
}

/// Bytes allocated by attached threads not yet in the statistics (0 before a
/// thread manager is handed in).
pub(crate) fn allocated_by_attached() -> u64 {
    MUTATORS.get().map_or(0, |m| m.allocated_by_attached())
}
