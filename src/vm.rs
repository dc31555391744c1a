//! What a personality supplies: the [`VirtualMachine`] trait (over the heap's
//! [`ObjectModel`]), and the start of the substrate ([`init`], [`start`]).
//!
//! This file belongs to the thread layer (object model -> heap -> threads -> JIT):
//! the trait names threads, so the heap below sees only its [`ObjectModel`] part.

use crate::gc::{self, GcOptions, InitError};
use crate::object::{ObjectModel, SlotVisitor};
use crate::thread::Thread;
use mmtk::util::ObjectReference;
use std::sync::OnceLock;

/// The kind of a failure raised by the substrate itself, which the personality turns
/// into an exception of its own language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The heap is exhausted even after a full collection.
    OutOfMemory,
    /// The thread ran out of stack.
    StackOverflow,
}

/// A language personality: its object model hooks, roots and runtime services.
///
/// This plays the role of VMKit's `VirtualMachine` class and mirrors the shape of
/// MMTk's binding traits. The substrate calls it from GC worker threads while every
/// mutator is stopped (for the `scan_*` methods) and from mutator threads otherwise.
///
/// What the heap needs (object shapes, the value encoding, globals) is the
/// [`ObjectModel`] supertrait; this trait adds what threads need. Only
/// [`ObjectModel::scan_globals`] must be written for a personality whose objects
/// all use the built-in [`Layout`](crate::Layout)s.
pub trait VirtualMachine: ObjectModel {
    /// Reports the personality's own per-thread roots (thread-local variables, an
    /// interpreter's registers kept outside the [`crate::thread::RootStack`]): slots
    /// holding values in its [`crate::ValueEncoding`]. Called once per thread
    /// during each collection.
    fn scan_thread_roots(&self, _thread: &Thread, _visit: &mut SlotVisitor<'_>) {}

    /// Called once per process, on the thread that makes the first allocation
    /// through the runtime's slow path (which every thread's first allocation
    /// takes), before that allocation: the place to preallocate what must exist
    /// before the heap can run out (e.g. the out-of-memory exception). Its own
    /// allocations do not call it again. With [`start`], a program
    /// that never allocates never brings the heap into play.
    fn heap_ready(&self, _thread: &Thread) {}

    /// Called on a thread right after it attached to the VM.
    fn thread_started(&self, _thread: &Thread) {}

    /// Called on a thread right before it detaches from the VM.
    fn thread_exited(&self, _thread: &Thread) {}

    /// Builds the language's exception object for a substrate-raised failure, or
    /// `None` if the personality will report it another way. Must not allocate when
    /// `kind` is [`ErrorKind::OutOfMemory`] unless it keeps a preallocated object.
    fn new_exception(
        &self,
        _thread: &Thread,
        _kind: ErrorKind,
        _message: &str,
    ) -> Option<ObjectReference> {
        None
    }
}

static VM: OnceLock<&'static dyn VirtualMachine> = OnceLock::new();

/// The personality installed by [`init`] or [`start`].
///
/// # Panics
/// Before either ran.
pub fn vm() -> &'static dyn VirtualMachine {
    *VM.get()
        .expect("vmkit is not initialized (vmkit::vm::init)")
}

/// Whether [`init`] or [`start`] has run.
pub fn is_initialized() -> bool {
    VM.get().is_some()
}

/// Starts the substrate with the personality `vm`: the memory manager (waiting
/// until it is up) and the thread manager. Call once per process, before
/// attaching any thread.
pub fn init(vm: &'static dyn VirtualMachine, options: &GcOptions) -> Result<(), InitError> {
    gc::init(vm, &crate::thread::MANAGER, options)?;
    VM.set(vm).map_err(|_| InitError::AlreadyInitialized)
}

/// Like [`init`], but the memory manager comes up in the background
/// ([`crate::gc`]'s early region holds the first objects meanwhile): threads may
/// attach and run at once.
pub fn start(vm: &'static dyn VirtualMachine, options: &GcOptions) -> Result<(), InitError> {
    gc::start(vm, &crate::thread::MANAGER, options)?;
    VM.set(vm).map_err(|_| InitError::AlreadyInitialized)
}
