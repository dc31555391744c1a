//! The MMTk binding: `VMBinding` and its five glue traits.
//!
//! Everything here is called by MMTk; the personality never sees these types.

use super::mutators::mutators;
use super::roots::{self, VmSlot};
use super::stats;
use crate::object::{self, Layout, ValueEncoding, ARRAY_DATA_OFFSET, HEADER_SIZE, OBJECT_ALIGN};
use mmtk::util::alloc::AllocationError;
use mmtk::util::copy::{CopySemantics, GCWorkerCopyContext};
use mmtk::util::opaque_pointer::{VMMutatorThread, VMThread, VMWorkerThread};
use mmtk::util::{Address, ObjectReference};
use mmtk::vm::slot::UnimplementedMemorySlice;
use mmtk::vm::*;
use mmtk::Mutator;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// The substrate's MMTk binding type.
#[derive(Default)]
pub struct VMKitBinding;

impl VMBinding for VMKitBinding {
    type VMObjectModel = ObjectModelImpl;
    type VMScanning = ScanningImpl;
    type VMCollection = CollectionImpl;
    type VMActivePlan = ActivePlanImpl;
    type VMReferenceGlue = ReferenceGlueImpl;
    type VMSlot = VmSlot;
    type VMMemorySlice = UnimplementedMemorySlice<VmSlot>;

    const MAX_ALIGNMENT: usize = OBJECT_ALIGN;
    const MIN_ALIGNMENT: usize = OBJECT_ALIGN;
}

/// Object model: one-word header (type id, status word), written over by the
/// forwarding pointer in the old copy of a moved object; every other piece of GC
/// metadata on the side.
pub struct ObjectModelImpl;

impl ObjectModel<VMKitBinding> for ObjectModelImpl {
    const GLOBAL_LOG_BIT_SPEC: VMGlobalLogBitSpec = VMGlobalLogBitSpec::side_first();
    const LOCAL_FORWARDING_POINTER_SPEC: VMLocalForwardingPointerSpec =
        VMLocalForwardingPointerSpec::in_header((object::TYPE_OFFSET * 8) as isize);
    const LOCAL_FORWARDING_BITS_SPEC: VMLocalForwardingBitsSpec =
        VMLocalForwardingBitsSpec::side_first();
    const LOCAL_MARK_BIT_SPEC: VMLocalMarkBitSpec =
        VMLocalMarkBitSpec::side_after(Self::LOCAL_FORWARDING_BITS_SPEC.as_spec());
    const LOCAL_LOS_MARK_NURSERY_SPEC: VMLocalLOSMarkNurserySpec =
        VMLocalLOSMarkNurserySpec::side_after(Self::LOCAL_MARK_BIT_SPEC.as_spec());

    const OBJECT_REF_OFFSET_LOWER_BOUND: isize = 0;
    const UNIFIED_OBJECT_REFERENCE_ADDRESS: bool = true;

    fn copy(
        from: ObjectReference,
        semantics: CopySemantics,
        copy_context: &mut GCWorkerCopyContext<VMKitBinding>,
    ) -> ObjectReference {
        let bytes = object::object_size(from);
        let dst = copy_context.alloc_copy(from, bytes, OBJECT_ALIGN, 0, semantics);
        // SAFETY: `dst` is a fresh `bytes`-long region from MMTk's copy allocator and
        // `from` is a live object of `bytes` bytes; the two cannot overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                from.to_raw_address().to_ptr::<u8>(),
                dst.to_mut_ptr::<u8>(),
                bytes,
            );
        }
        let to = ObjectReference::from_raw_address(dst).expect("copy allocator returned null");
        copy_context.post_copy(to, bytes, semantics);
        stats::record_copy(bytes);
        to
    }

    fn copy_to(from: ObjectReference, to: ObjectReference, region: Address) -> Address {
        let bytes = object::object_size(from);
        if from != to {
            // SAFETY: MarkCompact slides objects toward lower addresses; source and
            // destination may overlap, hence `copy` (memmove).
            unsafe {
                std::ptr::copy(
                    from.to_raw_address().to_ptr::<u8>(),
                    to.to_raw_address().to_mut_ptr::<u8>(),
                    bytes,
                );
            }
            stats::record_copy(bytes);
        }
        let start = to.to_raw_address();
        debug_assert!(region.is_zero() || start >= region);
        start + bytes
    }

    fn get_reference_when_copied_to(_from: ObjectReference, to: Address) -> ObjectReference {
        ObjectReference::from_raw_address(to).expect("copy target is null")
    }

    fn get_current_size(object: ObjectReference) -> usize {
        object::object_size(object)
    }

    fn get_size_when_copied(object: ObjectReference) -> usize {
        object::object_size(object)
    }

    fn get_align_when_copied(_object: ObjectReference) -> usize {
        OBJECT_ALIGN
    }

    fn get_align_offset_when_copied(_object: ObjectReference) -> usize {
        0
    }

    fn get_type_descriptor(_reference: ObjectReference) -> &'static [i8] {
        &[]
    }

    fn ref_to_object_start(object: ObjectReference) -> Address {
        object.to_raw_address()
    }

    fn ref_to_header(object: ObjectReference) -> Address {
        object.to_raw_address()
    }

    fn dump_object(object: ObjectReference) {
        // SAFETY: MMTk dumps live objects.
        let ti = unsafe { object::type_info(object) };
        eprintln!(
            "object {} of type {} ({} bytes)",
            object,
            ti.name,
            object::object_size(object)
        );
    }
}

/// Whether the world is stopped for a collection (a scan while it runs is a
/// concurrent plan's marking, counted in the statistics).
static WORLD_STOPPED: AtomicBool = AtomicBool::new(false);

/// Root and object scanning.
pub struct ScanningImpl;

/// Calls `visit` on each reference field of `object` that holds a reference (a
/// null or a tagged non-reference needs neither tracing nor updating: skipping it
/// here spares MMTk a queue entry and a load; half the fields of a binary tree's
/// nodes are null). Fields hold values in the personality's encoding.
#[inline]
pub(crate) fn visit_fields<F: FnMut(Address)>(object: ObjectReference, visit: &mut F) {
    let encoding = ValueEncoding::current();
    let mut visit = |a: Address| {
        // SAFETY: `a` is a reference field of a live object: word-aligned and readable.
        let word = unsafe { a.load::<u64>() };
        if let Some(child) = encoding.decode(word) {
            prefetch(child.to_raw_address().as_usize());
            visit(a)
        }
    };
    // SAFETY: the collector scans live objects only.
    let ti = unsafe { object::type_info(object) };
    let base = object.to_raw_address();
    match ti.layout {
        Layout::Fixed { ref_offsets, .. } => {
            for &off in ref_offsets {
                visit(base + off);
            }
        }
        Layout::Array {
            elem_is_ref: true, ..
        } => {
            // SAFETY: a live array of references.
            let len = unsafe { object::array_len(object) };
            for i in 0..len {
                visit(base + ARRAY_DATA_OFFSET + i * 8);
            }
        }
        Layout::Array { .. } => {}
        Layout::Custom => object::model().scan_object(object, &mut visit),
    }
}

/// Starts loading the header of the object at `addr` into the cache. Tracing is
/// bound by the cache miss on each object's header when it is scanned; a child
/// prefetched when its parent is scanned is usually in cache by the time its own
/// turn comes (binary-trees: about 40% of the collector's time was that miss).
#[inline(always)]
fn prefetch(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(addr as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

impl Scanning<VMKitBinding> for ScanningImpl {
    fn scan_object<SV: SlotVisitor<VmSlot>>(
        _tls: VMWorkerThread,
        object: ObjectReference,
        slot_visitor: &mut SV,
    ) {
        if !WORLD_STOPPED.load(Relaxed) {
            // The world runs: a concurrent plan marks beside the mutators.
            stats::record_concurrent_scan();
        }
        visit_fields(object, &mut |a| slot_visitor.visit_slot(VmSlot::value(a)));
    }

    fn notify_initial_thread_scan_complete(_partial_scan: bool, _tls: VMWorkerThread) {}

    fn scan_roots_in_mutator_thread(
        _tls: VMWorkerThread,
        mutator: &'static mut Mutator<VMKitBinding>,
        mut factory: impl RootsWorkFactory<VmSlot>,
    ) {
        let slots = roots::thread_slots(mutator.mutator_tls);
        if !slots.is_empty() {
            factory.create_process_roots_work(slots);
        }
    }

    fn scan_vm_specific_roots(_tls: VMWorkerThread, mut factory: impl RootsWorkFactory<VmSlot>) {
        let slots = roots::global_slots();
        if !slots.is_empty() {
            factory.create_process_roots_work(slots);
        }
    }

    fn supports_return_barrier() -> bool {
        false
    }

    fn prepare_for_roots_re_scanning() {}

    fn process_weak_refs(
        worker: &mut mmtk::scheduler::GCWorker<VMKitBinding>,
        tracer_context: impl ObjectTracerContext<VMKitBinding>,
    ) -> bool {
        super::weak::process(worker, tracer_context)
    }

    fn forward_weak_refs(
        _worker: &mut mmtk::scheduler::GCWorker<VMKitBinding>,
        _tracer_context: impl ObjectTracerContext<VMKitBinding>,
    ) {
        super::weak::forward();
    }
}

/// Stop-the-world and GC threads, over the thread manager's rendezvous.
pub struct CollectionImpl;

impl Collection<VMKitBinding> for CollectionImpl {
    fn create_gc_trigger() -> Box<dyn mmtk::util::heap::GCTriggerPolicy<VMKitBinding>> {
        Box::new(super::trigger::GrowingHeap::new())
    }

    fn stop_all_mutators<F>(_tls: VMWorkerThread, mut mutator_visitor: F)
    where
        F: FnMut(&'static mut Mutator<VMKitBinding>),
    {
        mutators().stop_all();
        WORLD_STOPPED.store(true, Relaxed);
        super::early::begin_collection();
        super::workers::before_collection(super::mmtk());
        mutators().for_each(&mut |m| mutator_visitor(m));
    }

    fn resume_mutators(_tls: VMWorkerThread) {
        let mmtk = super::mmtk();
        super::workers::record_live(mmtk::memory_manager::used_bytes(mmtk));
        // MMTk has ended the pause (`end_of_pause`) by now: marking in progress
        // means it was an initial-mark pause.
        let marking = mmtk
            .get_plan()
            .concurrent()
            .is_some_and(|c| c.concurrent_work_in_progress());
        stats::record_pause_kind(marking);
        super::set_marking_barrier(marking);
        crate::object::model().pause_ended();
        WORLD_STOPPED.store(false, Relaxed);
        mutators().resume_all();
        super::weak::after_collection();
    }

    fn block_for_gc(tls: VMMutatorThread) {
        mutators().block_for_gc(tls);
    }

    fn spawn_gc_thread(_tls: VMThread, ctx: GCThreadContext<VMKitBinding>) {
        let GCThreadContext::Worker(worker) = ctx;
        std::thread::Builder::new()
            .name("vmkit-gc-worker".into())
            .spawn(move || {
                super::mark_gc_worker();
                let tls = VMWorkerThread(VMThread::UNINITIALIZED);
                mmtk::memory_manager::start_worker(super::mmtk(), tls, worker);
            })
            .expect("cannot spawn a GC worker thread");
    }

    fn out_of_memory(tls: VMThread, err_kind: AllocationError) {
        match err_kind {
            AllocationError::HeapOutOfMemory => mutators().out_of_memory(tls),
            AllocationError::MmapOutOfMemory => {
                eprintln!(
                    "vmkit: fatal: the operating system refused memory to the heap (mmap failed)"
                );
                std::process::exit(3);
            }
        }
    }
}

/// The set of mutators is the thread registry.
pub struct ActivePlanImpl;

impl ActivePlan<VMKitBinding> for ActivePlanImpl {
    fn is_mutator(tls: VMThread) -> bool {
        mutators().is_mutator(tls)
    }

    fn mutator(tls: VMMutatorThread) -> &'static mut Mutator<VMKitBinding> {
        mutators().mutator(tls)
    }

    fn mutators<'a>() -> Box<dyn Iterator<Item = &'a mut Mutator<VMKitBinding>> + 'a> {
        let mut all = Vec::new();
        mutators().for_each(&mut |m| all.push(m));
        Box::new(all.into_iter())
    }

    fn number_of_mutators() -> usize {
        mutators().count()
    }

    /// Objects outside MMTk's spaces are early objects ([`super::early`]):
    /// immortal, not moving; queued for scanning the first time a collection
    /// reaches them (unless the plan reports their fields as roots).
    fn vm_trace_object<Q: mmtk::ObjectQueue>(
        queue: &mut Q,
        object: ObjectReference,
        _worker: &mut mmtk::scheduler::GCWorker<VMKitBinding>,
    ) -> ObjectReference {
        assert!(
            super::early::contains(object),
            "vmkit: traced {object}, which is neither in MMTk's spaces nor an early object"
        );
        if super::early::mark(object) {
            queue.enqueue(object);
        }
        object
    }
}

/// Reference glue for MMTk's built-in reference processor: a reference object keeps
/// its referent in the first word after the header.
pub struct ReferenceGlueImpl;

impl ReferenceGlue<VMKitBinding> for ReferenceGlueImpl {
    type FinalizableType = ObjectReference;

    fn clear_referent(new_reference: ObjectReference) {
        // SAFETY: a live reference object has its referent word after the header.
        unsafe { object::write_word(new_reference, HEADER_SIZE, 0) };
    }

    fn get_referent(object: ObjectReference) -> Option<ObjectReference> {
        // SAFETY: as above.
        unsafe { object::read_ref(object, HEADER_SIZE) }
    }

    fn set_referent(reff: ObjectReference, referent: ObjectReference) {
        // SAFETY: as above.
        unsafe { object::write_word(reff, HEADER_SIZE, referent.to_raw_address().as_usize()) };
    }

    fn enqueue_references(_references: &[ObjectReference], _tls: VMWorkerThread) {}
}
