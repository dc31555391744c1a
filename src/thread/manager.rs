//! The thread manager as the heap sees it: [`Manager`] implements the heap's
//! [`Mutators`] (the heap sits below the threads and reaches them only through
//! it), and the hook through which the JIT above reports its frames.

use super::{registry, Thread};
use crate::gc::mutators::Mutators;
use crate::gc::roots::VmSlot;
use crate::gc::VMKitBinding;
use mmtk::util::opaque_pointer::{VMMutatorThread, VMThread};
use mmtk::util::Address;
use mmtk::{Mutator, MMTK};
use std::sync::OnceLock;

/// The thread manager handed to the heap.
pub(crate) struct Manager;

/// The one [`Manager`].
pub(crate) static MANAGER: Manager = Manager;

/// Reports the stack-map slots of a stopped thread's compiled frames.
pub(crate) type FrameScanner = fn(&Thread, &mut dyn FnMut(Address));

static FRAME_SCANNER: OnceLock<FrameScanner> = OnceLock::new();

/// Installs the JIT's frame walker (the JIT sits above the threads: it hands its
/// walker in when the first materializer is built; without one no thread has
/// compiled frames).
pub(crate) fn set_frame_scanner(scan: FrameScanner) {
    let _ = FRAME_SCANNER.set(scan);
}

impl Mutators for Manager {
    fn stop_all(&self) {
        registry::stop_the_world();
    }

    fn resume_all(&self) {
        registry::resume_the_world();
    }

    fn for_each(&self, f: &mut dyn FnMut(&'static mut Mutator<VMKitBinding>)) {
        for t in registry::snapshot() {
            f(t.mutator_mut());
        }
    }

    fn count(&self) -> usize {
        registry::count()
    }

    fn is_mutator(&self, tls: VMThread) -> bool {
        Thread::from_vm_tls(tls).is_some()
    }

    fn mutator(&self, tls: VMMutatorThread) -> &'static mut Mutator<VMKitBinding> {
        Thread::from_mutator_tls(tls).mutator_mut()
    }

    fn block_for_gc(&self, tls: VMMutatorThread) {
        Thread::from_mutator_tls(tls).block_for_gc();
    }

    fn out_of_memory(&self, tls: VMThread) {
        if let Some(t) = Thread::from_vm_tls(tls) {
            t.set_out_of_memory();
        }
    }

    fn scan_thread_roots(&self, tls: VMMutatorThread, visit: &mut dyn FnMut(VmSlot)) {
        let thread = Thread::from_mutator_tls(tls);
        thread.scan_substrate_roots(&mut |s| visit(s));
        if let Some(scan) = FRAME_SCANNER.get() {
            scan(thread, &mut |a| visit(VmSlot::value(a)));
        }
        crate::vm::vm().scan_thread_roots(thread, &mut |a| visit(VmSlot::value(a)));
    }

    fn bind_all(&self, mmtk: &'static MMTK<VMKitBinding>, publish: &mut dyn FnMut()) {
        super::publish_heap(mmtk, publish);
    }

    fn allocated_by_attached(&self) -> u64 {
        registry::allocated_by_attached()
    }
}
