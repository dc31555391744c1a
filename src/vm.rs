//! What a personality supplies: the [`VirtualMachine`] trait.

use crate::thread::Thread;
use mmtk::util::{Address, ObjectReference};

/// The kind of a failure raised by the substrate itself, which the personality turns
/// into an exception of its own language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The heap is exhausted even after a full collection.
    OutOfMemory,
    /// The thread ran out of stack.
    StackOverflow,
}

/// Visitor of root or field slots: called with the address of each word that holds a
/// (possibly null) reference. The collector may rewrite the word when it moves the
/// referent.
pub type SlotVisitor<'a> = dyn FnMut(Address) + 'a;

/// A language personality: its object model hooks, roots and runtime services.
///
/// This plays the role of VMKit's `VirtualMachine` class and mirrors the shape of
/// MMTk's binding traits. The substrate calls it from GC worker threads while every
/// mutator is stopped (for the `scan_*` methods) and from mutator threads otherwise.
///
/// Only [`scan_globals`](VirtualMachine::scan_globals) must be written for a
/// personality whose objects all use the built-in [`Layout`](crate::Layout)s.
pub trait VirtualMachine: Send + Sync + 'static {
    /// Reports every global root slot (static fields, interned constants, ...).
    fn scan_globals(&self, visit: &mut SlotVisitor<'_>);

    /// Reports the personality's own per-thread roots (an interpreter's operand stack,
    /// thread-local variables). Called once per thread during each collection.
    fn scan_thread_roots(&self, _thread: &Thread, _visit: &mut SlotVisitor<'_>) {}

    /// Reports the reference fields of an object whose type has
    /// [`Layout::Custom`](crate::Layout::Custom).
    fn scan_object(&self, _object: ObjectReference, _visit: &mut SlotVisitor<'_>) {}

    /// Size in bytes (header included) of an object whose type has
    /// [`Layout::Custom`](crate::Layout::Custom).
    fn object_size(&self, _object: ObjectReference) -> usize {
        crate::object::HEADER_SIZE
    }

    /// Called (on a GC thread) at the end of a collection that queued objects for
    /// finalization; take them with [`crate::gc::weak::take_finalizable`]. Should
    /// only notify, e.g. wake a finalizer thread.
    fn finalizers_pending(&self) {}

    /// Called once per process, on the thread that makes the first allocation
    /// through the runtime's slow path (which every thread's first allocation
    /// takes), before that allocation: the place to preallocate what must exist
    /// before the heap can run out (e.g. the out-of-memory exception). Its own
    /// allocations do not call it again. With [`crate::gc::start`], a program
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
