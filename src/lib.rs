//! # vmkit
//!
//! A substrate for managed-language virtual machines, after VMKit (VEE 2010): a
//! memory manager (MMTk), a thread manager with a stop-the-world rendezvous
//! (parking_lot), and the glue between them; a language ("personality") supplies its
//! object model hooks, front end and runtime through [`VirtualMachine`].
//!
//! ## Layers
//!
//! The substrate is four layers, each using only those below it (checked by
//! `tests/layers.rs`):
//!
//! 1. [`object`]: the object model: headers, [`TypeInfo`] and [`Layout`], the
//!    [`ValueEncoding`] of the personality's values, and [`ObjectModel`], what the
//!    heap asks of the personality.
//! 2. [`gc`]: the heap: MMTk and its binding, every root source in order
//!    ([`gc::roots`]), the heap-size policy, weak references, statistics. It
//!    reaches the threads above only through what the thread manager hands it at
//!    start-up.
//! 3. [`thread`] and [`vm`]: attached threads, the stop-the-world rendezvous,
//!    handles, the interpreter root stack, managed-thread spawn, allocation and
//!    barriers; [`VirtualMachine`], what threads ask of the personality.
//! 4. [`jit`]: the materializer (Cranelift), its stack maps and frame walker; it
//!    hands its frame walker to the threads and gets the plan's
//!    [`gc::CodeFacts`] when it is built.
//!
//! ## Writing a personality
//!
//! 1. Describe each type of object with a [`TypeInfo`]: fixed-size objects list the
//!    byte offsets of their reference fields, arrays say whether their elements are
//!    references; anything else is [`Layout::Custom`] and is sized and scanned by the
//!    personality.
//! 2. Say how values hold references: [`ObjectModel::value_encoding`]. A
//!    statically typed language keeps the default, [`ValueEncoding::POINTERS`]
//!    (every non-zero word of a reference slot is an object). A dynamically typed
//!    one tags its values ([`ValueEncoding::low_tags`] for tagged integers,
//!    [`ValueEncoding::high_tags`] for NaN-boxing): every slot it declares or
//!    reports (reference fields, globals, root-stack words, JIT stack-map slots)
//!    is then read through the encoding; the collector traces and updates only
//!    the words that are references, keeping their tag bits, and never touches
//!    the others (`tests/dynamic.rs` is such a personality).
//! 3. Implement [`ObjectModel`] (at least `scan_globals`, reporting the address
//!    of every global slot that may hold a reference) and [`VirtualMachine`]
//!    (every method has a default).
//! 4. Call [`vm::init`] once with the personality and the [`GcOptions`], then
//!    [`thread::attach`] on every thread that touches the heap. For a quick
//!    start, [`vm::start`] brings MMTk up on a helper thread instead, once the
//!    heap is wanted: threads attach and run at once, their first objects go to
//!    the early region ([`gc::early`]: immortal, never moved; MMTk starts when an
//!    eighth of it is used), and the first allocation that does not fit there
//!    waits for the heap ([`VirtualMachine::heap_ready`] then runs, to
//!    preallocate what the runtime needs before the heap can run out).
//! 5. Allocate with [`Thread::alloc`] / [`Thread::alloc_array`], keep references
//!    that must survive an allocation in [`HandleScope`] handles, store references
//!    with [`Thread::write_ref`] (values with [`Thread::write_value`]: both run the
//!    plan's write barrier; [`Thread::copy_fields`] copies a run of fields with
//!    one barrier), poll [`Thread::safepoint`] in loops, and wrap
//!    blocking calls in [`Thread::native`]. Fields are read with the `unsafe fn`s
//!    of [`object`] (`read_word`, `array_len`, ...): the substrate cannot know an
//!    object is live; a personality states its own promise once (toyvm's
//!    checker types every reference) and wraps them.
//! 6. An interpreter keeps its frames' values on the thread's
//!    [`thread::RootStack`] ([`Thread::root_stack`]): each word marked as a
//!    possible reference or not; the substrate scans those words and updates them
//!    when objects move, so the interpreter needs no root scanner of its own.
//!    Anything else a personality keeps per thread goes in [`Thread::set_data`]
//!    (typed; read back with [`Thread::data`]) and, if it holds references, is
//!    reported by [`VirtualMachine::scan_thread_roots`].
//! 7. Start the language's threads with [`thread::spawn`]: the new thread attaches
//!    itself, gets the arguments (references among them stay roots until it takes
//!    them), and the personality gets its outcome (what the body returned, or
//!    [`thread::ThreadDied`]).
//!
//! ```
//! use vmkit::{thread, GcOptions, Layout, ObjectModel, SlotVisitor, TypeInfo, VirtualMachine, HEADER_SIZE};
//!
//! // A cons cell: header, then `car` (an integer) and `cdr` (a reference).
//! static CONS: TypeInfo = TypeInfo::new(
//!     "Cons",
//!     Layout::Fixed { size: HEADER_SIZE + 16, ref_offsets: &[HEADER_SIZE + 8] },
//!     0,
//! );
//!
//! struct Lisp;
//! impl ObjectModel for Lisp {
//!     fn scan_globals(&self, _visit: &mut SlotVisitor<'_>) {}
//! }
//! impl VirtualMachine for Lisp {}
//!
//! vmkit::vm::init(&Lisp, &GcOptions { heap_size: 8 << 20, ..GcOptions::default() }).unwrap();
//! let t = thread::attach("main").unwrap();
//! let scope = t.scope();
//! let list = scope.handle(None);
//! for i in 0..100_000usize {
//!     let cell = t.alloc(&CONS, HEADER_SIZE + 16).expect("heap");
//!     // SAFETY: `cell` is a fresh Cons; its `car` word is inside it.
//!     unsafe { vmkit::object::write_word(cell, HEADER_SIZE, i) };
//!     // Keep only the last 10 cells: the rest is garbage for the collector.
//!     let keep = if i % 10 == 0 { None } else { list.get() };
//!     // SAFETY: `cdr` is the reference field of the fresh Cons `cell`.
//!     unsafe { t.write_ref(cell, HEADER_SIZE + 8, keep) };
//!     list.set(Some(cell));
//! }
//! // SAFETY: the handle holds a live Cons.
//! assert_eq!(unsafe { vmkit::object::read_word(list.obj(), HEADER_SIZE) }, 99_999);
//! ```

//!
//! ## Materializing a function
//!
//! A personality's code generator builds each function with Cranelift (re-exported
//! as [`jit::cranelift_codegen`] and [`jit::cranelift_frontend`]: no version of
//! its own to pin) through [`jit::FnCtx`]; the [`jit::Materializer`] compiles it on first call, records its
//! stack maps and source lines, and lets the collector find (and move) every
//! reference held in its frames. Here `sum(list)` walks the cons list of the example
//! above, with a safepoint poll on its back-edge, under a collector that moves every
//! object at every collection:
//!
//! ```
//! use vmkit::jit::cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, MemFlagsData};
//! use vmkit::jit::{FnCtx, JitOptions, Materializer, Sig, ValType};
//! use vmkit::{thread, GcOptions, Layout, ObjectModel, Plan, SlotVisitor, TypeInfo, VirtualMachine, HEADER_SIZE};
//!
//! static CONS: TypeInfo = TypeInfo::new(
//!     "Cons",
//!     Layout::Fixed { size: HEADER_SIZE + 16, ref_offsets: &[HEADER_SIZE + 8] },
//!     0,
//! );
//! struct Lisp;
//! impl ObjectModel for Lisp {
//!     fn scan_globals(&self, _visit: &mut SlotVisitor<'_>) {}
//! }
//! impl VirtualMachine for Lisp {}
//!
//! vmkit::vm::init(&Lisp, &GcOptions { plan: Plan::SemiSpace, heap_size: 16 << 20, ..GcOptions::default() }).unwrap();
//! let jit = Materializer::new(JitOptions { verify: true, ..JitOptions::default() }).unwrap();
//! let car = HEADER_SIZE as i32;
//! let cdr = car + 8;
//! // sum(list: Cons) -> int
//! let sum = jit
//!     .declare("sum", "lisp.scm", Sig::new(&[ValType::Ref], &[ValType::I64]), Box::new(move |cx: &mut FnCtx| {
//!         let p = cx.var(ValType::Ref); // a reference: tracked in stack maps
//!         let acc = cx.var(ValType::I64);
//!         let list = cx.params()[0];
//!         cx.b.def_var(p, list);
//!         let zero = cx.b.ins().iconst(types::I64, 0);
//!         cx.b.def_var(acc, zero);
//!         let (head, body, done) = (cx.b.create_block(), cx.b.create_block(), cx.b.create_block());
//!         cx.b.ins().jump(head, &[]);
//!         cx.b.switch_to_block(head);
//!         let pv = cx.b.use_var(p);
//!         let at_end = cx.b.ins().icmp_imm_s(IntCC::Equal, pv, 0);
//!         cx.b.ins().brif(at_end, done, &[], body, &[]);
//!         cx.b.switch_to_block(body);
//!         let pv = cx.b.use_var(p);
//!         let v = cx.b.ins().load(types::I64, MemFlagsData::trusted(), pv, car);
//!         let a = cx.b.use_var(acc);
//!         let a = cx.b.ins().iadd(a, v);
//!         cx.b.def_var(acc, a);
//!         let next = cx.b.ins().load(types::I64, MemFlagsData::trusted(), pv, cdr);
//!         cx.b.def_var(p, next);
//!         // A safepoint: a collection may move the list here. (A loop without
//!         // calls would rather use `loop_poll_begin`/`loop_poll_end`, which keep
//!         // its references in registers.)
//!         cx.poll();
//!         cx.b.ins().jump(head, &[]);
//!         cx.b.switch_to_block(done);
//!         let a = cx.b.use_var(acc);
//!         cx.b.ins().return_(&[a]);
//!         Ok(())
//!     }))
//!     .unwrap();
//!
//! let t = thread::attach("main").unwrap();
//! let scope = t.scope();
//! let list = scope.handle(None);
//! for i in 1..=100usize {
//!     let cell = t.alloc(&CONS, HEADER_SIZE + 16).unwrap();
//!     // SAFETY: a fresh Cons.
//!     unsafe { vmkit::object::write_word(cell, HEADER_SIZE, i) };
//!     // SAFETY: `cdr` is its reference field.
//!     unsafe { t.write_ref(cell, HEADER_SIZE + 8, list.get()) };
//!     list.set(Some(cell));
//! }
//! t.collect(); // SemiSpace: the list moves
//! let arg = list.obj().to_raw_address().as_usize() as u64;
//! // SAFETY: `sum` takes a Cons list (or null), and `arg` is one, read after
//! // the last safepoint.
//! assert_eq!(unsafe { jit.invoke(&t, sum, &[arg]) }, vec![5050]); // compiled on this first call
//! assert!(jit.is_compiled(sum));
//! ```

#![warn(missing_docs)]

pub mod gc;
pub mod jit;
pub mod object;
pub mod thread;
pub mod vm;

pub use gc::{GcOptions, Plan};
pub use mmtk::util::{Address, ObjectReference};
pub use object::{Layout, ObjectModel, SlotVisitor, TypeInfo, ValueEncoding, HEADER_SIZE};
pub use thread::{
    attach, AttachedThread, Handle, HandleScope, OutOfMemory, StackContext, Thread, ThreadState,
};
pub use vm::{ErrorKind, VirtualMachine};
