//! Toy's object model on the vmkit substrate: strings, arrays, structs and thread
//! handles are ordinary vmkit objects with built-in layouts.
//!
//! | Toy type | vmkit layout |
//! |---|---|
//! | `str` | byte array (`Layout::Array { elem_size: 1 }`), or a built string: a slice of a string buffer (below) |
//! | `[int]`, `[float]`, `[bool]` | word array (one 8-byte word per element) |
//! | `[str]`, `[T]` of references | reference array |
//! | struct | fixed: one 8-byte word per field, reference fields listed |
//! | `thread` | fixed: one word, the index of the thread's record |

use std::sync::atomic::{AtomicU32, Ordering};
use vmkit::object::{self, ARRAY_DATA_OFFSET};
use vmkit::{Layout, ObjectReference, Thread, TypeInfo, HEADER_SIZE};

// ---------------------------------------------------------------- heap access
//
// vmkit's raw accessors are `unsafe fn`s: the substrate cannot know that a
// reference is live or an offset in bounds. Toy knows: its checker types every
// value, so a reference used as a string, array or struct is one (or null,
// which both engines test before any access), and every offset here comes from
// that type's layout (a field index the checker resolved, or an index the
// engine bounds-checked against `array_len`). Both engines read references from
// a root (the interpreter's root stack, a JIT frame's stack map, a handle) after
// the last safepoint, so the object is live and at the address used. These
// wrappers state that promise once; every caller in toyvm keeps it.

/// The word at `offset` of `o` (see the heap-access note above).
#[inline]
pub fn read_word(o: ObjectReference, offset: usize) -> usize {
    // SAFETY: the heap-access promise above.
    unsafe { object::read_word(o, offset) }
}

/// Writes a non-reference word at `offset` of `o` (a reference goes through
/// `Thread::write_ref`, which runs the write barrier).
#[inline]
pub fn write_word(o: ObjectReference, offset: usize, value: usize) {
    // SAFETY: the heap-access promise above; the word is an int, float or bool
    // field or element (a reference is stored with `Thread::write_ref`).
    unsafe { object::write_word(o, offset, value) }
}

/// Stores the reference `value` into the reference field (or element) at
/// `offset` of `o`, with the plan's write barrier.
#[inline]
pub fn write_ref(t: &Thread, o: ObjectReference, offset: usize, value: Option<ObjectReference>) {
    // SAFETY: the heap-access promise above; the checker typed the field or
    // element as a reference.
    unsafe { t.write_ref(o, offset, value) }
}

/// The byte at `offset` of `o`.
#[inline]
pub fn read_u8(o: ObjectReference, offset: usize) -> u8 {
    // SAFETY: the heap-access promise above.
    unsafe { object::read_u8(o, offset) }
}

/// The length of the array (or string) `o`.
#[inline]
pub fn array_len(o: ObjectReference) -> usize {
    // SAFETY: the heap-access promise above: `o` is an array or a string.
    unsafe { object::array_len(o) }
}

/// The type descriptor of `o`.
#[inline]
pub fn type_info(o: ObjectReference) -> &'static TypeInfo {
    // SAFETY: the heap-access promise above.
    unsafe { object::type_info(o) }
}

/// The status word of `o` (its monitor's lock word), for one atomic operation
/// now: not to be kept across a safepoint.
#[inline]
pub fn status_word<'a>(o: ObjectReference) -> &'a AtomicU32 {
    // SAFETY: the heap-access promise above; callers use it at once.
    unsafe { object::status_word(o) }
}

/// Compares-and-swaps the status word of `o`.
#[inline]
pub fn cas_status(o: ObjectReference, old: u32, new: u32) -> Result<u32, u32> {
    status_word(o).compare_exchange(old, new, Ordering::AcqRel, Ordering::Acquire)
}

/// Element kind of an array, recorded in its `TypeInfo::user` so that printing an
/// element needs no static type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum ElemKind {
    /// `int`
    Int = 0,
    /// `float`
    Float = 1,
    /// `bool`
    Bool = 2,
    /// `str`
    Str = 3,
    /// an array, struct or thread
    Ref = 4,
}

impl ElemKind {
    /// The kind numbered `k` (`ElemKind::X as usize`); [`ElemKind::Ref`] for
    /// any number past the others.
    pub fn from_index(k: usize) -> ElemKind {
        match k {
            0 => ElemKind::Int,
            1 => ElemKind::Float,
            2 => ElemKind::Bool,
            3 => ElemKind::Str,
            _ => ElemKind::Ref,
        }
    }
}

/// `str`
pub static STR: TypeInfo = TypeInfo::new(
    "str",
    Layout::Array {
        elem_size: 1,
        elem_is_ref: false,
    },
    100,
);
/// `[int]`
pub static ARR_INT: TypeInfo = TypeInfo::new(
    "[int]",
    Layout::Array {
        elem_size: 8,
        elem_is_ref: false,
    },
    ElemKind::Int as usize,
);
/// `[float]`
pub static ARR_FLOAT: TypeInfo = TypeInfo::new(
    "[float]",
    Layout::Array {
        elem_size: 8,
        elem_is_ref: false,
    },
    ElemKind::Float as usize,
);
/// `[bool]`
pub static ARR_BOOL: TypeInfo = TypeInfo::new(
    "[bool]",
    Layout::Array {
        elem_size: 8,
        elem_is_ref: false,
    },
    ElemKind::Bool as usize,
);
/// `[str]`
pub static ARR_STR: TypeInfo = TypeInfo::new(
    "[str]",
    Layout::Array {
        elem_size: 8,
        elem_is_ref: true,
    },
    ElemKind::Str as usize,
);
/// arrays of arrays, structs or threads
pub static ARR_REF: TypeInfo = TypeInfo::new(
    "[ref]",
    Layout::Array {
        elem_size: 8,
        elem_is_ref: true,
    },
    ElemKind::Ref as usize,
);
/// `thread`
pub static THREAD: TypeInfo = TypeInfo::new(
    "thread",
    Layout::Fixed {
        size: HEADER_SIZE + 8,
        ref_offsets: &[],
    },
    101,
);

/// Offset of field `i` of a struct.
pub const fn field_offset(i: usize) -> usize {
    HEADER_SIZE + 8 * i
}

/// Offset of element `i` of a word or reference array.
pub const fn elem_offset(i: usize) -> usize {
    ARRAY_DATA_OFFSET + 8 * i
}

/// The user word of struct type descriptors is `STRUCT_BASE + struct index`.
pub const STRUCT_BASE: usize = 1000;

/// Builds the descriptor of a struct with the given field kinds (`true` = reference).
pub fn struct_type(name: &str, index: usize, ref_fields: &[bool]) -> &'static TypeInfo {
    let offs: Vec<usize> = ref_fields
        .iter()
        .enumerate()
        .filter(|(_, r)| **r)
        .map(|(i, _)| field_offset(i))
        .collect();
    TypeInfo::leak(
        name,
        Layout::Fixed {
            size: field_offset(ref_fields.len()).max(HEADER_SIZE + 8),
            ref_offsets: Box::leak(offs.into_boxed_slice()),
        },
        STRUCT_BASE + index,
    )
}

/// The array descriptor for an element kind.
pub fn array_type(kind: ElemKind) -> &'static TypeInfo {
    match kind {
        ElemKind::Int => &ARR_INT,
        ElemKind::Float => &ARR_FLOAT,
        ElemKind::Bool => &ARR_BOOL,
        ElemKind::Str => &ARR_STR,
        ElemKind::Ref => &ARR_REF,
    }
}

/// A built string: a `str` made by concatenation, whose bytes are the first
/// `len` content bytes of a [`STR_BUF`]. Its length word is at the offset of
/// an array's (`len` reads both kinds alike); the buffer reference follows.
///
/// Repeated `+=` appends in place: `a + b` where `a` is a built string whose
/// buffer holds nothing past `a` (its `used` word equals `len(a)`) and has room
/// for `b` copies only `b` into the buffer, claims the bytes by moving `used`
/// (a compare-and-swap: two threads may append to the same string), and makes
/// a new slice of the same buffer. `a` itself is unchanged: its bytes are a
/// prefix that nothing overwrites. Otherwise the result gets a new buffer with
/// room to grow (twice its length when `a` was being appended to).
pub static STR_SLICE: TypeInfo = TypeInfo::new(
    "str",
    Layout::Fixed {
        size: SLICE_SIZE,
        ref_offsets: &[SLICE_BUF_OFFSET],
    },
    102,
);

/// The bytes of built strings: a byte array whose first word is `used` (how
/// many content bytes some slice claims) and the content after it.
pub static STR_BUF: TypeInfo = TypeInfo::new(
    "strbuf",
    Layout::Array {
        elem_size: 1,
        elem_is_ref: false,
    },
    103,
);

/// Size of a built string.
pub const SLICE_SIZE: usize = HEADER_SIZE + 16;
/// Offset of a built string's buffer reference.
pub const SLICE_BUF_OFFSET: usize = HEADER_SIZE + 8;
/// Offset of a string buffer's `used` word.
pub const BUF_USED_OFFSET: usize = ARRAY_DATA_OFFSET;
/// Offset of a string buffer's first content byte.
pub const BUF_BYTES_OFFSET: usize = ARRAY_DATA_OFFSET + 8;
/// Concatenations shorter than this make flat strings (one object, bytes
/// inline); longer ones make built strings.
pub const BUILD_MIN: usize = 64;

/// Whether `obj` is a Toy string (flat or built).
pub fn is_str(obj: ObjectReference) -> bool {
    let ti = type_info(obj);
    std::ptr::eq(ti, &STR) || std::ptr::eq(ti, &STR_SLICE)
}

/// Whether the string `s` is a built string (a slice of a buffer).
#[inline]
pub fn is_built(s: ObjectReference) -> bool {
    std::ptr::eq(type_info(s), &STR_SLICE)
}

/// The length of string `s`, in bytes.
#[inline]
pub fn str_len(s: ObjectReference) -> usize {
    array_len(s)
}

/// The buffer of the built string `s`.
pub fn slice_buf(s: ObjectReference) -> ObjectReference {
    oref(read_word(s, SLICE_BUF_OFFSET) as u64).expect("a built string has a buffer")
}

/// Capacity of a string buffer, in content bytes.
pub fn buf_capacity(buf: ObjectReference) -> usize {
    array_len(buf) - 8
}

/// The `used` word of a string buffer, for one atomic operation now (not to
/// be kept across a safepoint).
fn buf_used<'a>(buf: ObjectReference) -> &'a std::sync::atomic::AtomicUsize {
    // SAFETY: a buffer's first data word is its `used` word, 8-byte aligned
    // inside the live buffer (the heap-access note above); callers use it at
    // once.
    unsafe { &*(buf.to_raw_address() + BUF_USED_OFFSET).to_ptr::<std::sync::atomic::AtomicUsize>() }
}

/// How many content bytes of `buf` some built string claims.
pub fn buf_used_len(buf: ObjectReference) -> usize {
    buf_used(buf).load(Ordering::Acquire)
}

/// Claims bytes `from..to` of `buf` for a new built string: succeeds when
/// nothing is claimed past `from` (no other string was appended after it).
pub fn buf_claim(buf: ObjectReference, from: usize, to: usize) -> bool {
    to <= buf_capacity(buf)
        && buf_used(buf)
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
}

/// Address of the first byte of string `s`.
fn str_data(s: ObjectReference) -> vmkit::Address {
    if is_built(s) {
        slice_buf(s).to_raw_address() + BUF_BYTES_OFFSET
    } else {
        s.to_raw_address() + ARRAY_DATA_OFFSET
    }
}

/// The bytes of a string. Valid until the next safepoint (the string may move).
pub fn str_bytes<'a>(s: ObjectReference) -> &'a [u8] {
    let len = str_len(s);
    // SAFETY: a flat string holds `len` bytes from ARRAY_DATA_OFFSET, a built
    // one the first `len` content bytes of its buffer (claimed: never written
    // again); the slice is used before any allocation or safepoint can move
    // the object.
    unsafe { std::slice::from_raw_parts(str_data(s).to_ptr::<u8>(), len) }
}

/// Copies `bytes` into the freshly allocated flat string `s` of the same length.
pub fn fill_str(s: ObjectReference, bytes: &[u8]) {
    debug_assert_eq!(array_len(s), bytes.len());
    // SAFETY: `s` is a string of `bytes.len()` bytes; `bytes` is Rust memory.
    unsafe {
        std::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            (s.to_raw_address() + ARRAY_DATA_OFFSET).to_mut_ptr::<u8>(),
            bytes.len(),
        );
    }
}

/// Allocates a string with the given bytes (which must not point into the heap:
/// the allocation may move heap objects).
pub fn new_str(t: &Thread, bytes: &[u8]) -> Result<ObjectReference, vmkit::OutOfMemory> {
    let s = match t.try_alloc_array_without_gc(&STR, bytes.len()) {
        Some(s) => s,
        None => t.alloc_array(&STR, bytes.len())?,
    };
    fill_str(s, bytes);
    Ok(s)
}

/// Where [`copy_str_bytes`] writes: a flat string's bytes, or a string
/// buffer's content.
#[derive(Clone, Copy)]
pub enum Dest {
    /// a flat string (its whole length)
    Flat(ObjectReference),
    /// a string buffer (its whole capacity)
    Buf(ObjectReference),
}

/// Copies `n` bytes of string `src` from byte `from` into `dst` at byte `at`
/// (all live now, with no safepoint until the copy is done: see the
/// heap-access note above). Panics if either range is out of bounds.
pub fn copy_str_bytes(src: ObjectReference, from: usize, dst: Dest, at: usize, n: usize) {
    let (start, room) = match dst {
        Dest::Flat(d) => (d.to_raw_address() + ARRAY_DATA_OFFSET, array_len(d)),
        Dest::Buf(b) => (b.to_raw_address() + BUF_BYTES_OFFSET, buf_capacity(b)),
    };
    assert!(
        from.checked_add(n).is_some_and(|e| e <= str_len(src))
            && at.checked_add(n).is_some_and(|e| e <= room),
        "string copy out of bounds"
    );
    // SAFETY: both ranges lie inside live objects (checked above); `copy`
    // allows them to overlap (they do not: a buffer's content is written only
    // past what is claimed, and a source's bytes are claimed).
    unsafe {
        std::ptr::copy(
            (str_data(src) + from).to_ptr::<u8>(),
            (start + at).to_mut_ptr::<u8>(),
            n,
        );
    }
}

/// The reference a value word holds (`None` for null).
pub fn oref(w: u64) -> Option<ObjectReference> {
    object::word_to_ref(w as usize)
}

/// The value word of a reference.
pub fn rword(o: ObjectReference) -> u64 {
    o.to_raw_address().as_usize() as u64
}
