//! Every root of a collection, in the order the collector reports them, and the
//! slot type through which MMTk reads and updates them.
//!
//! Roots not tied to a thread (one work packet, `global_slots`):
//! 1. the personality's globals ([`crate::ObjectModel::scan_globals`]): values;
//! 2. the substrate's global roots ([`super::global_roots`]): plain references,
//!    or values (the arguments of a managed thread not started yet);
//! 3. the fields of early objects, under plans that cannot trace through them
//!    ([`super::early`]): values;
//! 4. objects queued for finalization and not yet taken ([`super::weak`]): plain.
//!
//! Roots of each stopped thread (a packet per thread, `thread_slots`), gathered
//! by the thread manager through the `Mutators::scan_thread_roots` it was handed:
//! 5. handles ([`crate::HandleScope`]): plain;
//! 6. the pending exception: plain;
//! 7. poll roots, the values JIT code hands over at a loop's poll: values;
//! 8. the interpreter root stack's reference words ([`crate::thread::RootStack`]):
//!    values;
//! 9. JIT frames' stack-map slots (the frame walker, [`crate::jit::frames`]):
//!    values;
//! 10. the personality's own thread roots ([`crate::VirtualMachine::scan_thread_roots`]):
//!     values.
//!
//! Weak references are not roots: they are processed after the closure
//! ([`super::weak`]).
//!
//! A *plain* slot holds a reference or 0. A *value* slot holds a word in the
//! personality's [`ValueEncoding`]: it is a root only when the encoding says the
//! word is a reference, and a moved referent is written back with the word's tag
//! bits kept.

use crate::object::{word_to_ref, ValueEncoding};
use mmtk::util::opaque_pointer::VMMutatorThread;
use mmtk::util::{Address, ObjectReference};
use mmtk::vm::slot::Slot;
use std::sync::atomic::{AtomicBool, Ordering};

/// A root or field slot as MMTk sees it: the slot's address, its lowest bit set
/// for a value slot (read through the [`ValueEncoding`]) and clear for a plain one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VmSlot(usize);

/// Whether the encoding is [`ValueEncoding::POINTERS`], where a value slot is a
/// plain one (set at start-up; then every slot is made plain and pays nothing).
static PLAIN_VALUES: AtomicBool = AtomicBool::new(true);

/// Records the personality's encoding (at start-up).
pub(crate) fn set_encoding(e: ValueEncoding) {
    PLAIN_VALUES.store(e == ValueEncoding::POINTERS, Ordering::Relaxed);
}

impl VmSlot {
    /// A slot holding a plain reference (or 0).
    #[inline]
    pub fn plain(a: Address) -> VmSlot {
        VmSlot(a.as_usize())
    }

    /// A slot holding a value in the personality's encoding.
    #[inline]
    pub fn value(a: Address) -> VmSlot {
        VmSlot(a.as_usize() | (!PLAIN_VALUES.load(Ordering::Relaxed)) as usize)
    }

    #[inline]
    fn address(self) -> Address {
        // SAFETY: the slot's address with the kind bit cleared (slots are words).
        unsafe { Address::from_usize(self.0 & !1) }
    }

    #[inline]
    fn is_value(self) -> bool {
        self.0 & 1 != 0
    }
}

impl std::fmt::Debug for VmSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.is_value() { "value" } else { "plain" };
        write!(f, "{kind} slot {}", self.address())
    }
}

impl Slot for VmSlot {
    #[inline]
    fn load(&self) -> Option<ObjectReference> {
        // SAFETY: slots are reported by the substrate or the personality as
        // readable, word-aligned locations of stopped threads or live objects.
        let w = unsafe { self.address().load::<u64>() };
        if self.is_value() {
            ValueEncoding::current().decode(w)
        } else {
            word_to_ref(w as usize)
        }
    }

    #[inline]
    fn store(&self, object: ObjectReference) {
        let a = self.address();
        // SAFETY: as in `load`; the slot is writable (the collector updates it).
        unsafe {
            if self.is_value() {
                let old = a.load::<u64>();
                a.store::<u64>(ValueEncoding::current().encode(old, object));
            } else {
                a.store::<usize>(object.to_raw_address().as_usize());
            }
        }
    }
}

/// Keeps `s` if it holds a reference now (a null or a tagged non-reference needs
/// neither tracing nor updating).
#[inline]
fn keep(push: &mut Vec<VmSlot>, s: VmSlot) {
    if s.load().is_some() {
        push.push(s);
    }
}

/// Sources 1-4: the roots not tied to a thread.
pub(crate) fn global_slots() -> Vec<VmSlot> {
    let mut slots = Vec::new();
    crate::object::model().scan_globals(&mut |a| keep(&mut slots, VmSlot::value(a)));
    super::global_roots::scan(&mut |a, value| {
        let s = if value {
            VmSlot::value(a)
        } else {
            VmSlot::plain(a)
        };
        keep(&mut slots, s)
    });
    super::early::scan(&mut |a| keep(&mut slots, VmSlot::value(a)));
    super::weak::scan_ready(&mut |a| keep(&mut slots, VmSlot::plain(a)));
    slots
}

/// Sources 5-10: the roots of the stopped thread `tls`.
pub(crate) fn thread_slots(tls: VMMutatorThread) -> Vec<VmSlot> {
    let mut slots = Vec::new();
    super::mutators::mutators().scan_thread_roots(tls, &mut |s| keep(&mut slots, s));
    slots
}
