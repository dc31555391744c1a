//! The object model shared by the substrate and every personality.
//!
//! Every heap object starts with a two-word header:
//!
//! | offset | word | meaning |
//! |---|---|---|
//! | 0 | type word | `&'static TypeInfo` of the object |
//! | 8 | status word | lock word / hash for the personality; the GC's forwarding pointer while the object is being moved |
//!
//! Arrays ([`Layout::Array`]) store their length at [`ARRAY_LENGTH_OFFSET`] and their
//! elements from [`ARRAY_DATA_OFFSET`]. An [`ObjectReference`] is the address of the
//! header, so JIT code can load fields at constant offsets from it.

use mmtk::util::{Address, ObjectReference};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes of the object header (type word + status word).
pub const HEADER_SIZE: usize = 16;
/// Offset of the type word.
pub const TYPE_OFFSET: usize = 0;
/// Offset of the status (lock/hash/forwarding) word.
pub const STATUS_OFFSET: usize = 8;
/// Offset of the length word of an array.
pub const ARRAY_LENGTH_OFFSET: usize = HEADER_SIZE;
/// Offset of the first element of an array.
pub const ARRAY_DATA_OFFSET: usize = HEADER_SIZE + 8;
/// Alignment of every object.
pub const OBJECT_ALIGN: usize = 8;

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

/// The type descriptor every object's type word points to (VMKit's `VirtualTable`).
///
/// Personalities create them once per type (statically, or with [`TypeInfo::leak`]
/// for types discovered at run time) and never free them.
#[derive(Debug)]
pub struct TypeInfo {
    /// Name used in diagnostics.
    pub name: &'static str,
    /// How the collector sizes and scans instances.
    pub layout: Layout,
    /// An opaque word the personality may use (an index into its own type table).
    pub user: usize,
}

impl TypeInfo {
    /// Builds a descriptor that lives for the rest of the process.
    pub fn leak(name: &str, layout: Layout, user: usize) -> &'static TypeInfo {
        Box::leak(Box::new(TypeInfo {
            name: Box::leak(name.to_owned().into_boxed_str()),
            layout,
            user,
        }))
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
    // SAFETY: every object's type word is written at allocation with a
    // `&'static TypeInfo` before the object is published, and is never changed
    // (forwarding pointers go in the status word).
    unsafe { &*(read_word(obj, TYPE_OFFSET) as *const TypeInfo) }
}

/// Length of an array object.
#[inline]
pub fn array_len(obj: ObjectReference) -> usize {
    read_word(obj, ARRAY_LENGTH_OFFSET)
}

/// The status word, atomically (used for thin locks and hashes by personalities).
#[inline]
pub fn status_word(obj: ObjectReference) -> &'static AtomicUsize {
    // SAFETY: the status word is 8-byte aligned inside a live object; atomic access
    // to it is the only access while the object is in use by mutators. The 'static
    // lifetime is a convenience: callers must not keep it across a safepoint, where
    // the object may move.
    unsafe { &*((obj.to_raw_address() + STATUS_OFFSET).to_ptr::<AtomicUsize>()) }
}

/// Compares-and-swaps the status word; returns the previous value on failure.
#[inline]
pub fn cas_status(obj: ObjectReference, old: usize, new: usize) -> Result<usize, usize> {
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
