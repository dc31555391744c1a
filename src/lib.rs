//! # vmkit
//!
//! A substrate for managed-language virtual machines, after VMKit (VEE 2010): a
//! memory manager (MMTk), a thread manager with a stop-the-world rendezvous
//! (parking_lot), and the glue between them; a language ("personality") supplies its
//! object model hooks, front end and runtime through [`VirtualMachine`].
//!
//! ## Writing a personality
//!
//! 1. Describe each type of object with a [`TypeInfo`]: fixed-size objects list the
//!    byte offsets of their reference fields, arrays say whether their elements are
//!    references; anything else is [`Layout::Custom`] and is sized and scanned by the
//!    personality.
//! 2. Implement [`VirtualMachine`]: at least `scan_globals`, reporting the address
//!    of every global slot that holds a reference.
//! 3. Call [`gc::init`] once with the personality and the [`GcOptions`], then
//!    [`thread::attach`] on every thread that touches the heap.
//! 4. Allocate with [`Thread::alloc`] / [`Thread::alloc_array`], keep references
//!    that must survive an allocation in [`HandleScope`] handles, store references
//!    with [`Thread::write_ref`] (it runs the plan's write barrier), poll
//!    [`Thread::safepoint`] in loops, and wrap blocking calls in [`Thread::native`].
//!
//! ```
//! use vmkit::{gc, thread, GcOptions, Layout, SlotVisitor, TypeInfo, VirtualMachine, HEADER_SIZE};
//!
//! // A cons cell: header, then `car` (an integer) and `cdr` (a reference).
//! static CONS: TypeInfo = TypeInfo {
//!     name: "Cons",
//!     layout: Layout::Fixed { size: HEADER_SIZE + 16, ref_offsets: &[HEADER_SIZE + 8] },
//!     user: 0,
//! };
//!
//! struct Lisp;
//! impl VirtualMachine for Lisp {
//!     fn scan_globals(&self, _visit: &mut SlotVisitor<'_>) {}
//! }
//!
//! gc::init(&Lisp, &GcOptions { heap_size: 8 << 20, ..GcOptions::default() }).unwrap();
//! let t = thread::attach("main").unwrap();
//! let scope = t.scope();
//! let list = scope.handle(None);
//! for i in 0..100_000usize {
//!     let cell = t.alloc(&CONS, HEADER_SIZE + 16).expect("heap");
//!     vmkit::object::write_word(cell, HEADER_SIZE, i);
//!     // Keep only the last 10 cells: the rest is garbage for the collector.
//!     let keep = if i % 10 == 0 { None } else { list.get() };
//!     t.write_ref(cell, HEADER_SIZE + 8, keep);
//!     list.set(Some(cell));
//! }
//! assert_eq!(vmkit::object::read_word(list.obj(), HEADER_SIZE), 99_999);
//! ```

#![warn(missing_docs)]

pub mod gc;
pub mod jit;
pub mod object;
pub mod thread;
mod vm;

pub use gc::{GcOptions, Plan};
pub use mmtk::util::{Address, ObjectReference};
pub use object::{Layout, TypeInfo, HEADER_SIZE};
pub use thread::{attach, AttachedThread, Handle, HandleScope, OutOfMemory, Thread, ThreadState};
pub use vm::{ErrorKind, SlotVisitor, VirtualMachine};
