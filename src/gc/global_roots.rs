//! Global handles: roots held by Rust code that outlive any thread's handle scope.

use mmtk::util::{Address, ObjectReference};
use parking_lot::Mutex;

/// Each root is boxed so its address stays put while the vector grows; the flag
/// says whether it holds a value of the personality's encoding (else a plain
/// reference).
#[allow(clippy::vec_box)]
static ROOTS: Mutex<Vec<(Box<usize>, bool)>> = Mutex::new(Vec::new());

/// A reference kept alive, and kept up to date, until [`GlobalRoot::release`].
///
/// Reading it with [`GlobalRoot::get`] gives the object's current address (the
/// collector may have moved it). Reading and writing must happen in managed code
/// (not while a collection runs).
#[derive(Debug)]
pub struct GlobalRoot {
    slot: *mut usize,
}

// SAFETY: the slot is a boxed word owned by the registry; it is read and written only
// by mutators outside collections and by GC workers while mutators are stopped.
unsafe impl Send for GlobalRoot {}
// SAFETY: as above.
unsafe impl Sync for GlobalRoot {}

impl GlobalRoot {
    /// Registers `obj` as a global root.
    pub fn new(obj: Option<ObjectReference>) -> GlobalRoot {
        Self::register(crate::object::ref_to_word(obj), false)
    }

    /// Registers a root holding `value`, a word of the personality's
    /// [`crate::ValueEncoding`] (a reference in it is kept alive and up to date; any
    /// other value is left alone). Read it back with [`GlobalRoot::value`].
    pub fn new_value(value: u64) -> GlobalRoot {
        Self::register(value as usize, true)
    }

    fn register(word: usize, value: bool) -> GlobalRoot {
        let mut b = Box::new(word);
        let slot: *mut usize = &mut *b;
        ROOTS.lock().push((b, value));
        GlobalRoot { slot }
    }

    /// The word the root holds now (a value root's value, at its referent's
    /// current address).
    pub fn value(&self) -> u64 {
        // SAFETY: the slot stays allocated until `release`, which consumes `self`.
        unsafe { *self.slot as u64 }
    }

    /// The referent, at its current address.
    pub fn get(&self) -> Option<ObjectReference> {
        // SAFETY: the slot stays allocated until `release`, which consumes `self`.
        crate::object::word_to_ref(unsafe { *self.slot })
    }

    /// Replaces the referent.
    pub fn set(&self, obj: Option<ObjectReference>) {
        // SAFETY: as in `get`.
        unsafe { *self.slot = crate::object::ref_to_word(obj) }
    }

    /// Unregisters the root.
    pub fn release(self) {
        ROOTS.lock().retain(|(b, _)| !std::ptr::eq(&**b, self.slot));
    }
}

/// Reports every root's slot, and whether it holds a value (else a plain
/// reference).
pub(crate) fn scan(visit: &mut dyn FnMut(Address, bool)) {
    for (b, value) in ROOTS.lock().iter() {
        if **b != 0 {
            visit(Address::from_ptr(&**b as *const usize), *value);
        }
    }
}
