//! The thread manager: [`Thread`] (VMKit's `Thread`/`MutatorThread`), attachment,
//! thread states, safepoints, handles, allocation and barriers.
//!
//! A thread must be attached ([`attach`]) before it touches the heap. While attached
//! it is in one of three [`ThreadState`]s; a collection waits only for threads in
//! [`ThreadState::Managed`], so a thread about to block (I/O, a lock, a join) wraps
//! the blocking call in [`Thread::native`].

mod alloc;
mod handles;
pub(crate) mod manager;
pub mod registry;
mod root_stack;
mod spawn;

pub use handles::{Handle, HandleScope};
pub(crate) use manager::MANAGER;
pub use root_stack::RootStack;
pub use spawn::{spawn, SpawnArg, ThreadDied};

use crate::gc::roots::VmSlot;
use crate::gc::{self, stats, VMKitBinding};
use crate::object::{self, TypeInfo, ValueEncoding, HEADER_SIZE, OBJECT_ALIGN};
use mmtk::util::opaque_pointer::{OpaquePointer, VMMutatorThread, VMThread};
use mmtk::util::{Address, ObjectReference};
use mmtk::{AllocationSemantics, Mutator};
use registry::{ThreadPtr, CV, STOP, SYNC};
use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::sync::atomic::{
    AtomicBool, AtomicU64, AtomicU8, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst},
};

/// What a thread is doing, as far as the collector is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ThreadState {
    /// Running managed code or touching the heap: must reach a safepoint before a
    /// collection can start.
    Managed = 0,
    /// In native code that does not touch the heap (a blocking call): counts as
    /// stopped; parks on return if a collection is under way.
    Native = 1,
    /// Parked at a safepoint, waiting for a collection to finish.
    Blocked = 2,
}

/// The heap is exhausted: a full collection could not free `requested` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfMemory {
    /// Bytes of the allocation that failed.
    pub requested: usize,
}

impl fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "heap exhausted (allocating {} bytes)", self.requested)
    }
}

impl std::error::Error for OutOfMemory {}

/// Why [`attach`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachError {
    /// [`crate::vm::init`] has not run.
    NotInitialized,
    /// The calling OS thread is already attached.
    AlreadyAttached,
}

impl fmt::Display for AttachError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttachError::NotInitialized => write!(f, "the VM is not initialized"),
            AttachError::AlreadyAttached => write!(f, "this thread is already attached"),
        }
    }
}

impl std::error::Error for AttachError {}

/// A VM thread: its collector state, its MMTk mutator and its roots.
///
/// The first fields have fixed offsets ([`Thread::YIELDPOINT_OFFSET`], ...) so that
/// JIT code can poll the yieldpoint flag and check the stack limit with one load.
#[repr(C)]
pub struct Thread {
    /// Set when the thread must call [`Thread::safepoint_slow`] at its next poll.
    yieldpoint: AtomicBool,
    state: AtomicU8,
    /// What JIT prologues compare SP against: the stack limit, or `usize::MAX`
    /// while a safepoint is requested, so that the one compare in every prologue
    /// is both the stack-overflow check and the entry safepoint poll.
    jit_stack_limit: AtomicUsize,
    /// Lowest usable stack address.
    stack_limit: AtomicUsize,
    /// The exception being propagated, or 0 (a root).
    pending_exception: UnsafeCell<usize>,
    /// `[0]`: frame pointer of the last exit trampoline (see `jit::frames`);
    /// `[1]`: address of the bump-pointer `[cursor, limit]` pair, or 0.
    pub(crate) frame_anchor: [AtomicUsize; 2],
    /// Saved anchors of the enclosing stretches of JIT code (host re-entry).
    jit_segments: UnsafeCell<Vec<usize>>,
    id: usize,
    name: String,
    mutator: UnsafeCell<Option<Box<Mutator<VMKitBinding>>>>,
    handles: UnsafeCell<Vec<usize>>,
    out_of_memory: AtomicBool,
    /// Whether `mutator` is set (it is set once, under the registry lock).
    bound: AtomicBool,
    /// Bytes this thread allocated through the runtime (see `stats`). Written only
    /// by the owner, with a plain load and store: a locked add on a shared counter
    /// cost 10% of an allocation-heavy program (it waits for the store buffer).
    allocated: AtomicU64,
    /// The interpreter root stack (see [`RootStack`]).
    root_stack: UnsafeCell<RootStack>,
    /// The personality's own per-thread data (see [`Thread::set_data`]).
    data: std::sync::OnceLock<Box<dyn std::any::Any + Send + Sync>>,
    /// References a JIT loop poll hands over while it parks (see
    /// `jit::FnCtx::loop_poll_end`): roots while `poll_root_count` is nonzero.
    poll_roots: [UnsafeCell<usize>; POLL_ROOTS],
    poll_root_count: UnsafeCell<usize>,
}

/// How many references a JIT loop poll can hand over in registers' stead.
pub const POLL_ROOTS: usize = 16;

/// The state of a thread that belongs to one native stack, for personalities
/// that switch stacks on one thread: see [`Thread::swap_stack_context`].
#[derive(Debug, Default)]
pub struct StackContext {
    anchor: usize,
    segments: Vec<usize>,
    limit: usize,
}

impl StackContext {
    /// The context of a stack that has not run yet, whose lowest usable
    /// address is `limit` (0: unchecked), as [`Thread::set_stack_limit`] takes.
    pub fn new(limit: usize) -> StackContext {
        StackContext {
            anchor: 0,
            segments: Vec::new(),
            limit,
        }
    }

    /// The stack limit this context holds.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Whether the stack it describes has stretches of JIT code in progress.
    pub fn in_jit_code(&self) -> bool {
        self.anchor != 0 || !self.segments.is_empty()
    }
}

// SAFETY: the `UnsafeCell` fields are touched by the owning thread while it is
// managed, and by GC workers only while the owner is parked or in native code (the
// rendezvous orders these accesses through `SYNC`).
unsafe impl Sync for Thread {}
// SAFETY: as above; a `Thread` is only moved as a raw pointer.
unsafe impl Send for Thread {}

thread_local! {
    static CURRENT: Cell<*const Thread> = const { Cell::new(std::ptr::null()) };
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// The address of mutator `m`'s default bump-pointer `[cursor, limit]` pair
/// (stable: the mutator is boxed), if its default allocator bumps.
fn bump_pointer_of(
    mmtk: &'static mmtk::MMTK<VMKitBinding>,
    m: &mut Mutator<VMKitBinding>,
) -> Option<usize> {
    use mmtk::util::alloc::{AllocatorSelector, BumpAllocator, ImmixAllocator};
    let sel = mmtk::memory_manager::get_allocator_mapping(mmtk, AllocationSemantics::Default);
    // SAFETY: `sel` is the selector MMTk maps the default semantics to, so the
    // allocator at that selector has the matching concrete type.
    unsafe {
        match sel {
            AllocatorSelector::Immix(_) => Some(
                &m.allocator_impl::<ImmixAllocator<VMKitBinding>>(sel)
                    .bump_pointer as *const _ as usize,
            ),
            AllocatorSelector::BumpPointer(_) => Some(
                &m.allocator_impl::<BumpAllocator<VMKitBinding>>(sel)
                    .bump_pointer as *const _ as usize,
            ),
            _ => None,
        }
    }
}

/// Whether `VirtualMachine::heap_ready` has run.
static HEAP_HOOK: AtomicU8 = AtomicU8::new(HOOK_NOT_RUN);
const HOOK_NOT_RUN: u8 = 0;
const HOOK_RUNNING: u8 = 1;
const HOOK_DONE: u8 = 2;

/// The allocation buffer of a thread without a mutator yet: `[cursor, limit]` =
/// `[0, 0]`, so every bump (JIT or runtime) fails over to the slow path, which
/// waits for the heap. Only ever read.
static EMPTY_BUMP: [usize; 2] = [0, 0];

/// Under the registry lock, with MMTk built: every thread that attached meanwhile
/// gets its mutator, then `publish` makes the heap visible (so a thread that sees
/// the heap up allocates in it from then on, never in the early region).
pub(crate) fn publish_heap(mmtk: &'static mmtk::MMTK<VMKitBinding>, publish: &mut dyn FnMut()) {
    let g = SYNC.lock();
    for t in &g.threads {
        // SAFETY: registered threads stay alive while SYNC is held.
        let t = unsafe { &*t.0 };
        if !t.bound.load(Acquire) {
            t.bind(mmtk);
        }
    }
    publish();
}

/// Attaches the calling OS thread to the VM and returns the guard that detaches it
/// (also when the thread unwinds from a panic).
pub fn attach(name: &str) -> Result<AttachedThread, AttachError> {
    if !crate::vm::is_initialized() {
        return Err(AttachError::NotInitialized);
    }
    if !CURRENT.with(|c| c.get()).is_null() {
        return Err(AttachError::AlreadyAttached);
    }
    let t = Box::new(Thread {
        yieldpoint: AtomicBool::new(false),
        state: AtomicU8::new(ThreadState::Native as u8),
        jit_stack_limit: AtomicUsize::new(0),
        stack_limit: AtomicUsize::new(0),
        pending_exception: UnsafeCell::new(0),
        frame_anchor: [AtomicUsize::new(0), AtomicUsize::new(0)],
        id: NEXT_ID.fetch_add(1, SeqCst),
        name: name.to_owned(),
        mutator: UnsafeCell::new(None),
        handles: UnsafeCell::new(Vec::new()),
        jit_segments: UnsafeCell::new(Vec::new()),
        out_of_memory: AtomicBool::new(false),
        bound: AtomicBool::new(false),
        allocated: AtomicU64::new(0),
        poll_roots: std::array::from_fn(|_| UnsafeCell::new(0)),
        poll_root_count: UnsafeCell::new(0),
        root_stack: UnsafeCell::new(RootStack::default()),
        data: std::sync::OnceLock::new(),
    });
    let ptr: *const Thread = Box::into_raw(t);
    // SAFETY: just leaked; freed only by `AttachedThread::drop`.
    let thread: &'static Thread = unsafe { &*ptr };
    {
        let mut g = SYNC.lock();
        registry::wait_while_stopped(&mut g);
        // While MMTk is still coming up (`gc::start`), the thread runs without a
        // mutator; `publish_heap` binds it, under this same lock.
        if gc::is_heap_ready() {
            thread.bind(gc::mmtk());
        } else {
            thread.frame_anchor[1].store(EMPTY_BUMP.as_ptr() as usize, SeqCst);
        }
        g.threads.push(ThreadPtr(ptr));
        thread.state.store(ThreadState::Managed as u8, SeqCst);
    }
    CURRENT.with(|c| c.set(ptr));
    crate::vm::vm().thread_started(thread);
    Ok(AttachedThread { thread })
}

/// The guard of an attached thread; dereferences to its [`Thread`]. Dropping it
/// detaches the thread.
pub struct AttachedThread {
    thread: &'static Thread,
}

impl std::ops::Deref for AttachedThread {
    type Target = Thread;
    fn deref(&self) -> &Thread {
        self.thread
    }
}

impl Drop for AttachedThread {
    fn drop(&mut self) {
        let t = self.thread;
        if t.state() == ThreadState::Managed {
            crate::vm::vm().thread_exited(t);
        }
        {
            let mut g = SYNC.lock();
            // Count as stopped while waiting out a collection in progress.
            t.state.store(ThreadState::Blocked as u8, SeqCst);
            CV.notify_all();
            registry::wait_while_stopped(&mut g);
            // SAFETY: the world is not stopped and we hold SYNC, so no collector
            // looks at this mutator.
            if let Some(mut m) = unsafe { (*t.mutator.get()).take() } {
                mmtk::memory_manager::destroy_mutator(&mut m);
            }
            let ptr = t as *const Thread;
            // Under SYNC, like `stats::snapshot`'s sum: counted exactly once.
            stats::record_alloc(t.allocated.load(Relaxed));
            g.threads.retain(|p| p.0 != ptr);
        }
        CURRENT.with(|c| c.set(std::ptr::null()));
        // SAFETY: unregistered above; this guard was the only owner.
        drop(unsafe { Box::from_raw(t as *const Thread as *mut Thread) });
    }
}

impl Thread {
    /// Offset of the yieldpoint flag (a byte, nonzero when the thread must poll).
    pub const YIELDPOINT_OFFSET: usize = std::mem::offset_of!(Thread, yieldpoint);
    /// Offset of the word JIT prologues compare the stack pointer against: the
    /// stack limit, or `usize::MAX` while a safepoint is requested (the prologue's
    /// slow path then tells the two apart).
    pub const STACK_LIMIT_OFFSET: usize = std::mem::offset_of!(Thread, jit_stack_limit);
    /// Offset of the word holding the frame pointer of the last exit trampoline.
    pub const FRAME_ANCHOR_OFFSET: usize = std::mem::offset_of!(Thread, frame_anchor);
    /// Offset of the word holding the address of the bump-pointer `[cursor, limit]`.
    pub const ALLOC_BUFFER_OFFSET: usize = std::mem::offset_of!(Thread, frame_anchor) + 8;
    /// Offset of the pending-exception word.
    pub const PENDING_EXCEPTION_OFFSET: usize = std::mem::offset_of!(Thread, pending_exception);
    /// Offset of the [`POLL_ROOTS`] words a loop poll stores references in.
    pub const POLL_ROOTS_OFFSET: usize = std::mem::offset_of!(Thread, poll_roots);
    /// Offset of the count of references in the poll roots.
    pub const POLL_ROOT_COUNT_OFFSET: usize = std::mem::offset_of!(Thread, poll_root_count);

    /// The thread attached on the calling OS thread, if any. The reference is valid
    /// until that thread detaches; do not keep it past that.
    pub fn current() -> Option<&'static Thread> {
        let p = CURRENT.with(|c| c.get());
        // SAFETY: CURRENT is set by `attach` and cleared before the Thread is freed.
        (!p.is_null()).then(|| unsafe { &*p })
    }

    pub(crate) fn from_mutator_tls(tls: VMMutatorThread) -> &'static Thread {
        Thread::from_vm_tls(tls.0).expect("mutator without a thread")
    }

    pub(crate) fn from_vm_tls(tls: VMThread) -> Option<&'static Thread> {
        let p = tls.0.to_address().to_ptr::<Thread>();
        // SAFETY: MMTk hands back the pointers `attach` registered (mutator tls) or
        // null (GC workers); registered threads are alive while MMTk uses them.
        (!p.is_null()).then(|| unsafe { &*p })
    }

    fn tls(&self) -> VMMutatorThread {
        VMMutatorThread(VMThread(OpaquePointer::from_address(Address::from_ptr(
            self as *const Thread,
        ))))
    }

    /// Gives the thread its MMTk mutator. Called with the registry lock held, by
    /// the thread itself (`attach`) or by `publish_heap`, before the thread can
    /// touch the mutator (`mutator_mut` waits for `bound`).
    fn bind(&self, mmtk: &'static mmtk::MMTK<VMKitBinding>) {
        let mut m = mmtk::memory_manager::bind_mutator(mmtk, self.tls());
        let bp = bump_pointer_of(mmtk, &mut m).unwrap_or(0);
        // SAFETY: `bound` is still false, so neither the owner (`mutator_mut`
        // waits) nor a collector (none runs before the heap is published, and
        // publishing binds every thread first) reads this cell now.
        unsafe { *self.mutator.get() = Some(m) };
        // A fresh buffer is empty (`[0, 0]`): the owner's next allocation still
        // takes the slow path, which waits for `bound`.
        self.frame_anchor[1].store(bp, SeqCst);
        self.bound.store(true, Release);
    }

    /// Runs `VirtualMachine::heap_ready` if no thread has started it yet (its own
    /// allocations, and other threads meanwhile, go on without it).
    #[cold]
    fn run_heap_hook(&self) {
        if HEAP_HOOK
            .compare_exchange(HOOK_NOT_RUN, HOOK_RUNNING, AcqRel, Acquire)
            .is_ok()
        {
            crate::vm::vm().heap_ready(self);
            HEAP_HOOK.store(HOOK_DONE, Release);
        }
    }

    /// Waits until the thread has its mutator: the heap is up and `publish_heap`,
    /// which holds the registry lock while it binds, is done.
    #[cold]
    fn wait_bound(&self) {
        gc::wait_heap_ready();
        drop(SYNC.lock());
        assert!(
            self.bound.load(Acquire),
            "thread not bound after the heap came up"
        );
    }

    #[allow(clippy::mut_from_ref)]
    pub(crate) fn mutator_mut(&self) -> &'static mut Mutator<VMKitBinding> {
        if !self.bound.load(Acquire) {
            self.wait_bound();
        }
        // SAFETY: the mutator is used by its own thread while managed and by the
        // collector while that thread is stopped; never both at once.
        unsafe { (*self.mutator.get()).as_deref_mut() }.expect("thread has no mutator")
    }

    /// A small unique number.
    pub fn id(&self) -> usize {
        self.id
    }

    /// The name given at [`attach`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The current state.
    pub fn state(&self) -> ThreadState {
        match self.state.load(SeqCst) {
            0 => ThreadState::Managed,
            1 => ThreadState::Native,
            _ => ThreadState::Blocked,
        }
    }

    /// Address of the yieldpoint flag, for JIT code that polls it.
    pub fn yieldpoint_address(&self) -> usize {
        &self.yieldpoint as *const AtomicBool as usize
    }

    /// Whether the yieldpoint flag is set.
    #[inline]
    pub fn yieldpoint_requested(&self) -> bool {
        self.yieldpoint.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets the lowest stack address the thread may use (0 = unchecked).
    pub fn set_stack_limit(&self, limit: usize) {
        self.stack_limit.store(limit, SeqCst);
        self.jit_stack_limit.store(limit, SeqCst);
        // A stop requested meanwhile must still trip the prologue check (pairs with
        // `request_yield`: one of the two sees the other's store).
        if self.yieldpoint.load(SeqCst) {
            self.jit_stack_limit.store(usize::MAX, SeqCst);
        }
    }

    /// Asks the thread to reach a safepoint: sets the yieldpoint flag (loop polls)
    /// and trips the prologue stack check (function entries).
    pub(crate) fn request_yield(&self) {
        self.yieldpoint.store(true, SeqCst);
        self.jit_stack_limit.store(usize::MAX, SeqCst);
    }

    /// Withdraws [`Thread::request_yield`].
    pub(crate) fn clear_yield(&self) {
        self.yieldpoint.store(false, SeqCst);
        self.jit_stack_limit
            .store(self.stack_limit.load(SeqCst), SeqCst);
    }

    /// The stack limit set with [`Thread::set_stack_limit`].
    pub fn stack_limit(&self) -> usize {
        self.stack_limit.load(SeqCst)
    }

    /// A safepoint: parks here if a collection is requested. Call it regularly from
    /// loops and calls of interpreted code; JIT code inlines the flag test.
    #[inline]
    pub fn safepoint(&self) {
        if self.yieldpoint_requested() {
            self.safepoint_slow();
        }
    }

    /// The out-of-line part of [`Thread::safepoint`].
    #[cold]
    pub fn safepoint_slow(&self) {
        debug_assert_eq!(self.state(), ThreadState::Managed);
        let mut g = SYNC.lock();
        if !STOP.load(SeqCst) {
            return;
        }
        self.state.store(ThreadState::Blocked as u8, SeqCst);
        CV.notify_all();
        registry::wait_while_stopped(&mut g);
        self.state.store(ThreadState::Managed as u8, SeqCst);
    }

    pub(crate) fn block_for_gc(&self) {
        let mut g = SYNC.lock();
        let epoch = g.epoch;
        self.state.store(ThreadState::Blocked as u8, SeqCst);
        CV.notify_all();
        while g.epoch == epoch || STOP.load(SeqCst) {
            CV.wait(&mut g);
        }
        self.state.store(ThreadState::Managed as u8, SeqCst);
    }

    /// Leaves managed code: the collector will not wait for this thread until
    /// [`Thread::leave_native`]. The thread must not touch the heap meanwhile
    /// (references held in handles stay valid and are updated if objects move).
    pub fn enter_native(&self) {
        debug_assert_eq!(self.state(), ThreadState::Managed);
        self.state.store(ThreadState::Native as u8, SeqCst);
        if STOP.load(SeqCst) {
            // A collector may be waiting for us: wake it to re-check.
            let _g = SYNC.lock();
            CV.notify_all();
        }
    }

    /// Returns to managed code, parking first if a collection is under way.
    pub fn leave_native(&self) {
        debug_assert_eq!(self.state(), ThreadState::Native);
        self.state.store(ThreadState::Managed as u8, SeqCst);
        if STOP.load(SeqCst) {
            let mut g = SYNC.lock();
            self.state.store(ThreadState::Blocked as u8, SeqCst);
            CV.notify_all();
            registry::wait_while_stopped(&mut g);
            self.state.store(ThreadState::Managed as u8, SeqCst);
        }
    }

    /// Runs `f` in native state: for blocking calls (I/O, joins, locks) during which
    /// other threads may collect. `f` must not touch the heap.
    pub fn native<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Back<'a>(&'a Thread);
        impl Drop for Back<'_> {
            fn drop(&mut self) {
                self.0.leave_native();
            }
        }
        self.enter_native();
        let _back = Back(self);
        f()
    }

    /// Sets the exception being propagated (a root until taken).
    pub fn set_pending_exception(&self, exc: Option<ObjectReference>) {
        // SAFETY: only the owning thread writes it, outside collections.
        unsafe { *self.pending_exception.get() = object::ref_to_word(exc) }
    }

    /// Takes the exception being propagated.
    pub fn take_pending_exception(&self) -> Option<ObjectReference> {
        // SAFETY: as in `set_pending_exception`.
        object::word_to_ref(unsafe { std::mem::replace(&mut *self.pending_exception.get(), 0) })
    }

    /// Whether an exception is being propagated.
    pub fn has_pending_exception(&self) -> bool {
        // SAFETY: as in `set_pending_exception`.
        unsafe { *self.pending_exception.get() != 0 }
    }

    /// Opens a handle scope: handles created in it are roots until it is dropped.
    pub fn scope(&self) -> HandleScope<'_> {
        HandleScope::new(self)
    }

    /// Reports the substrate's roots of this thread: handles, the pending exception.
    pub(crate) fn scan_substrate_roots(&self, visit: &mut dyn FnMut(VmSlot)) {
        // SAFETY: called by the collector while this thread is stopped.
        let handles = unsafe { &*self.handles.get() };
        for h in handles {
            visit(VmSlot::plain(Address::from_ptr(h as *const usize)));
        }
        visit(VmSlot::plain(Address::from_ptr(
            self.pending_exception.get() as *const usize,
        )));
        // SAFETY: as above; JIT code sets the count with the roots before it parks.
        let n = unsafe { *self.poll_root_count.get() }.min(POLL_ROOTS);
        for r in &self.poll_roots[..n] {
            visit(VmSlot::value(Address::from_ptr(r.get() as *const usize)));
        }
        // SAFETY: as above: the owner does not touch its root stack while stopped.
        let rs = unsafe { &*self.root_stack.get() };
        rs.for_each_ref_slot(&mut |p| visit(VmSlot::value(Address::from_ptr(p))));
    }

    /// This thread's interpreter root stack: its reference words are roots of
    /// every collection (updated in place when objects move).
    ///
    /// # Safety
    /// Only the thread itself may call it (the collector reads the stack only while
    /// the thread is stopped at a safepoint or in native code), and no other
    /// reference obtained from it may be alive: keep the `&mut` for a stretch of
    /// interpreter code, not across a call that could take it again.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn root_stack(&self) -> &mut RootStack {
        // SAFETY: the caller's promise: the owner, one reference at a time.
        unsafe { &mut *self.root_stack.get() }
    }

    /// Gives the thread the personality's own per-thread data, once; `Err(data)`
    /// if it already has some.
    pub fn set_data<T: std::any::Any + Send + Sync>(&self, data: T) -> Result<(), T> {
        let mut data = Some(data);
        self.data
            .get_or_init(|| Box::new(data.take().expect("the value, taken once")));
        match data {
            None => Ok(()),
            Some(d) => Err(d),
        }
    }

    /// The personality's per-thread data, if it was set and is a `T`.
    pub fn data<T: std::any::Any>(&self) -> Option<&T> {
        self.data.get()?.downcast_ref::<T>()
    }

    #[allow(clippy::mut_from_ref)]
    pub(crate) fn jit_segments(&self) -> &mut Vec<usize> {
        // SAFETY: pushed and popped by the owning thread around JIT entries; read by
        // the collector only while the owner is stopped.
        unsafe { &mut *self.jit_segments.get() }
    }

    /// Exchanges the part of the thread's state that belongs to the native stack
    /// it runs on (where the frame walker starts, the saved anchors of enclosing
    /// stretches of JIT code, the stack limit) with `ctx`. A personality that
    /// runs several stacks on one thread (coroutines, fibers) calls it right
    /// before it switches to the stack `ctx` describes and again right after it
    /// switches back, with the same `ctx`, which then again describes the other
    /// stack.
    ///
    /// The frame walker sees only the stack installed now: the JIT frames of a
    /// stack whose context is swapped out are not walked, so their stack-map
    /// roots are not scanned. A personality that suspends stacks holding JIT
    /// frames keeps the roots of those frames elsewhere (luavm keeps every Lua
    /// value on its own value stack, which it scans itself), or compiles them
    /// without stack-map roots. Handle scopes and the [`RootStack`] stay the
    /// thread's: each stack must leave them as it found them before it is
    /// switched away from.
    ///
    /// # Safety
    /// Called on this thread (its owner) with no JIT frame of this call's own
    /// making in between, at a point where the thread is about to run on the
    /// stack `ctx` describes (or has just come back from it); `ctx` comes from
    /// [`StackContext::new`] for a stack that is not running, or from the last
    /// swap made for that stack.
    pub unsafe fn swap_stack_context(&self, ctx: &mut StackContext) {
        // Only this thread writes its anchor; the collector reads it while the
        // thread is stopped (the stop's handshake orders it).
        let anchor = self.frame_anchor[0].load(Relaxed);
        self.frame_anchor[0].store(ctx.anchor, Relaxed);
        ctx.anchor = anchor;
        std::mem::swap(self.jit_segments(), &mut ctx.segments);
        let limit = self.stack_limit.load(Relaxed);
        if limit != ctx.limit {
            self.set_stack_limit(ctx.limit);
            ctx.limit = limit;
        }
    }

    /// Sets the stack limit to `size` bytes below the caller's frame, less a margin
    /// for runtime code, for a thread whose stack is `size` bytes from about here.
    pub fn set_stack_size_from_here(&self, size: usize) {
        let here = &size as *const usize as usize;
        let margin = (size / 8).clamp(64 << 10, 1 << 20);
        self.set_stack_limit(here.saturating_sub(size.saturating_sub(margin)));
    }

    #[allow(clippy::mut_from_ref)]
    pub(crate) fn handles_mut(&self) -> &mut Vec<usize> {
        // SAFETY: only the owning thread uses its handle stack outside collections.
        unsafe { &mut *self.handles.get() }
    }
}

impl fmt::Debug for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("state", &self.state())
            .finish()
    }
}
