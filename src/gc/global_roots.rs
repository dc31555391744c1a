//! Global handles: roots held by Rust code that outlive any thread's handle scope.

use mmtk::util::{Address, ObjectReference};
use parking_lot::Mutex;

/// Each root is boxed so its address stays put while the vector grows.
#[allow(clippy::vec_box)]
static ROOTS: Mutex<Vec<Box<usize>>> = Mutex::new(Vec::new());

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
        let mut b = Box::new(crate::object::ref_to_word(obj));
        let slot: *mut usize = &mut *b;
        ROOTS.lock().push(b);
        GlobalRoot { slot }
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
        ROOTS.lock().retain(|b| !std::ptr::eq(&**b, self.slot));
    }
}

pub(crate) fn scan(visit: &mut dyn FnMut(Address)) {
    for b in ROOTS.lock().iter() {
        if **b != 0 {
            visit(Address::from_ptr(&**b as *const usize));
        }
    }
}
