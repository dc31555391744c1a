//! The object model shared by the substrate and every personality.
//!
//! Every heap object starts with a one-word header (a compact header, as in
//! HotSpot's Lilliput):
//!
//! | offset | bits | meaning |
//! |---|---|---|
//! | 0 | 32 | type id: the object's [`TypeInfo`], as an index into the process's type table |
//! | 4 | 32 | status word: lock word / hash for the personality |
//!
//! While the collector moves an object, the whole word of the old copy holds the
//! forwarding pointer (the forwarding state bits are side metadata); the new copy
//! has the header as it was. A header of one word rather than two (a type pointer
//! and a status word) makes a two-field object 24 bytes instead of 32: a quarter
//! less memory to allocate, zero, trace and copy.
//!
//! Arrays ([`Layout::Array`]) store their length at [`ARRAY_LENGTH_OFFSET`] and their
//! elements from [`ARRAY_DATA_OFFSET`]. An [`ObjectReference`] is the address of the
//! header, so JIT code can load fields at constant offsets from it.

use mmtk::util::{Address, ObjectReference};
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

/// Bytes of the object header (type id + status word).
pub const HEADER_SIZE: usize = 8;
/// Offset of the 32-bit type id.
pub const TYPE_OFFSET: usize = 0;
/// Offset of the 32-bit status (lock/hash) word.
pub const STATUS_OFFSET: usize = 4;
/// Offset of the length word of an array.
pub const ARRAY_LENGTH_OFFSET: usize = HEADER_SIZE;
/// Offset of the first element of an array.
pub const ARRAY_DATA_OFFSET: usize = HEADER_SIZE + 8;
/// Alignment of every object.
pub const OBJECT_ALIGN: usize = 8;
/// How many distinct [`TypeInfo`]s a process may allocate objects of (the type
/// table's size; its untouched pages cost nothing). Allocating an object of one
/// type more fails with [`crate::OutOfMemory`], as a JVM's runs out of class space.
pub const MAX_TYPES: usize = 1 << 20;

/// How the substrate finds an object's size and its reference fields.
///
/// The two built-in shapes cover most languages and let the collector scan objects
/// without calling into the personality; [`Layout::Custom`] defers to
/// [`crate::VirtualMachine::object_size`] and [`crate::VirtualMachine::scan_object`].
#[derive(Debug, Clone, Copy)]
pub enum Layout {
    /// A fixed-size object of `size` bytes (header included) whose reference fields
    /// live at the given byte offsets.
    Fixed {
        /// Total size in bytes, header included.
        size: usize,
        /// Byte offsets (from the object reference) of reference fields.
        ref_offsets: &'static [usize],
    },
    /// A length-prefixed array of `elem_size`-byte elements; when `elem_is_ref`,
    /// every element is a (nullable) reference.
    Array {
        /// Bytes per element.
        elem_size: usize,
        /// Whether elements are references the GC must trace.
        elem_is_ref: bool,
    },
    /// Size and references are supplied by the personality.
    Custom,
}

/// The type descriptor of objects (VMKit's `VirtualTable`); each object's header
/// names it by a 32-bit id (see the [module docs](self)).
///
/// Personalities create them once per type (statically with [`TypeInfo::new`], or
/// with [`TypeInfo::leak`] for types discovered at run time) and never free them.
/// A descriptor gets its id the first time an object of it is allocated (or an
/// allocation of it is compiled).
#[derive(Debug)]
pub struct TypeInfo {
    /// Name used in diagnostics.
    pub name: &'static str,
    /// How the collector sizes and scans instances.
    pub layout: Layout,
    /// An opaque word the personality may use (an index into its own type table).
    pub user: usize,
    /// Index in [`TYPES`]; 0 until registered.
    id: AtomicU32,
}

/// The type table: id -> descriptor. Id 0 is never used, so a zero header is
/// never taken for an object's.
static TYPES: [AtomicPtr<TypeInfo>; MAX_TYPES] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; MAX_TYPES];
/// The next free id; taken under this lock (registration is rare: once per type).
static NEXT_TYPE_ID: parking_lot::Mutex<usize> = parking_lot::Mutex::new(1);

impl TypeInfo {
    /// A descriptor, for a `static`.
    pub const fn new(name: &'static str, layout: Layout, user: usize) -> TypeInfo {
        TypeInfo {
            name,
            layout,
            user,
            id: AtomicU32::new(0),
        }
    }

    /// Builds a descriptor that lives for the rest of the process.
    pub fn leak(name: &str, layout: Layout, user: usize) -> &'static TypeInfo {
        Box::leak(Box::new(TypeInfo::new(
            Box::leak(name.to_owned().into_boxed_str()),
            layout,
            user,
        )))
    }

    /// The header word of a new instance (its type id, status word 0), giving
    /// the descriptor its id on first use; `None` when the type table is full
    /// ([`MAX_TYPES`]).
    #[inline]
    pub fn header(&'static self) -> Option<usize> {
        match self.id.load(Ordering::Acquire) {
            0 => self.register(),
            id => Some(id as usize),
        }
    }

    #[cold]
    fn register(&'static self) -> Option<usize> {
        let mut next = NEXT_TYPE_ID.lock();
        let id = self.id.load(Ordering::Acquire);
        if id != 0 {
            return Some(id as usize);
        }
        let id = *next;
        if id >= MAX_TYPES {
            return None;
        }
        *next += 1;
        TYPES[id].store(self as *const TypeInfo as *mut TypeInfo, Ordering::Release);
        // The table entry is published before the id: whoever reads an id from
        // a header finds the descriptor.
        self.id.store(id as u32, Ordering::Release);
        Some(id)
    }

    /// Size in bytes of a fixed-layout object, or of an array of `len` elements.
    pub fn instance_size(&self, len: usize) -> usize {
        match self.layout {
            Layout::Fixed { size, .. } => size,
            Layout::Array { elem_size, .. } => array_size(elem_size, len),
            Layout::Custom => len,
        }
    }
}

/// Bytes needed by an array of `len` elements of `elem_size` bytes, rounded up to
/// [`OBJECT_ALIGN`].
pub fn array_size(elem_size: usize, len: usize) -> usize {
    (ARRAY_DATA_OFFSET + elem_size * len + OBJECT_ALIGN - 1) & !(OBJECT_ALIGN - 1)
}

/// Reads a word at `offset` of `obj`.
///
/// The offset must lie inside the object; this is the caller's promise, as with
/// every accessor here (objects are sized by their [`TypeInfo`]).
#[inline]
pub fn read_word(obj: ObjectReference, offset: usize) -> usize {
    // SAFETY: `obj` is a live object (it came from the heap or a root) and `offset`
    // is inside it; words are 8-byte aligned because objects are.
    unsafe { (obj.to_raw_address() + offset).load::<usize>() }
}

/// Writes a non-reference word at `offset` of `obj` (no write barrier).
#[inline]
pub fn write_word(obj: ObjectReference, offset: usize, value: usize) {
    // SAFETY: as in `read_word`.
    unsafe { (obj.to_raw_address() + offset).store::<usize>(value) }
}

/// Reads a byte at `offset` of `obj`.
#[inline]
pub fn read_u8(obj: ObjectReference, offset: usize) -> u8 {
    // SAFETY: as in `read_word`.
    unsafe { (obj.to_raw_address() + offset).load::<u8>() }
}

/// Writes a byte at `offset` of `obj`.
#[inline]
pub fn write_u8(obj: ObjectReference, offset: usize, value: u8) {
    // SAFETY: as in `read_word`.
    unsafe { (obj.to_raw_address() + offset).store::<u8>(value) }
}

/// Reads a nullable reference field at `offset` of `obj`.
#[inline]
pub fn read_ref(obj: ObjectReference, offset: usize) -> Option<ObjectReference> {
    word_to_ref(read_word(obj, offset))
}

/// Converts a nullable reference to the word stored in the heap (0 for null).
#[inline]
pub fn ref_to_word(r: Option<ObjectReference>) -> usize {
    r.map_or(0, |o| o.to_raw_address().as_usize())
}

/// Converts a heap word back to a nullable reference.
#[inline]
pub fn word_to_ref(w: usize) -> Option<ObjectReference> {
    // SAFETY: building an `Address` from any integer is sound; it is only
    // dereferenced by code that knows it holds an object.
    ObjectReference::from_raw_address(unsafe { Address::from_usize(w) })
}

/// The type descriptor of `obj`.
#[inline]
pub fn type_info(obj: ObjectReference) -> &'static TypeInfo {
    // SAFETY: the header's low half is 4-byte aligned inside a live object.
    let id = unsafe { (obj.to_raw_address() + TYPE_OFFSET).load::<u32>() };
    let ti = TYPES[id as usize].load(Ordering::Acquire);
    debug_assert!(!ti.is_null(), "object {obj} has no type (id {id})");
    // SAFETY: every object's header is written at allocation with the id of a
    // registered `&'static TypeInfo` (`TypeInfo::header`), before the object is
    // published, and the id part never changes on a live object (forwarding
    // pointers are written over the old copy only).
    unsafe { &*ti }
}

/// Length of an array object.
#[inline]
pub fn array_len(obj: ObjectReference) -> usize {
    read_word(obj, ARRAY_LENGTH_OFFSET)
}

/// The status word, atomically (used for thin locks and hashes by personalities).
#[inline]
pub fn status_word(obj: ObjectReference) -> &'static AtomicU32 {
    // SAFETY: the status word is the 4-byte aligned high half of a live object's
    // header; atomic access to it is the only access while the object is in use
    // by mutators (the type id beside it is written only before the object is
    // published). The 'static lifetime is a convenience: callers must not keep it
    // across a safepoint, where the object may move.
    unsafe { &*((obj.to_raw_address() + STATUS_OFFSET).to_ptr::<AtomicU32>()) }
}

/// Compares-and-swaps the status word; returns the previous value on failure.
#[inline]
pub fn cas_status(obj: ObjectReference, old: u32, new: u32) -> Result<u32, u32> {
    status_word(obj).compare_exchange(old, new, Ordering::AcqRel, Ordering::Acquire)
}

/// Bytes of `obj` that the collector copies when it moves the object.
pub(crate) fn object_size(obj: ObjectReference) -> usize {
    let ti = type_info(obj);
    match ti.layout {
        Layout::Fixed { size, .. } => size,
        Layout::Array { elem_size, .. } => array_size(elem_size, array_len(obj)),
        Layout::Custom => crate::gc::vm().object_size(obj),
    }
}
