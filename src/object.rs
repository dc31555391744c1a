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
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;

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
/// [`crate::ObjectModel::object_size`] and [`crate::ObjectModel::scan_object`].
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
/// # Safety
/// `obj` is a live object (from the heap, a handle or a root, not kept across a
/// safepoint since) and `offset..offset + 8` lies inside it, 8-byte aligned. The
/// same holds for every accessor below with its own width.
#[inline]
pub unsafe fn read_word(obj: ObjectReference, offset: usize) -> usize {
    // SAFETY: the caller's promise; objects are 8-byte aligned.
    unsafe { (obj.to_raw_address() + offset).load::<usize>() }
}

/// Writes a non-reference word at `offset` of `obj` (no write barrier: a
/// reference is stored with [`crate::Thread::write_ref`]).
///
/// # Safety
/// As [`read_word`]; and the word is not a reference field (the collector would
/// miss the store).
#[inline]
pub unsafe fn write_word(obj: ObjectReference, offset: usize, value: usize) {
    // SAFETY: the caller's promise.
    unsafe { (obj.to_raw_address() + offset).store::<usize>(value) }
}

/// Reads a byte at `offset` of `obj`.
///
/// # Safety
/// As [`read_word`], for one byte.
#[inline]
pub unsafe fn read_u8(obj: ObjectReference, offset: usize) -> u8 {
    // SAFETY: the caller's promise.
    unsafe { (obj.to_raw_address() + offset).load::<u8>() }
}

/// Writes a byte at `offset` of `obj`.
///
/// # Safety
/// As [`read_word`], for one byte.
#[inline]
pub unsafe fn write_u8(obj: ObjectReference, offset: usize, value: u8) {
    // SAFETY: the caller's promise.
    unsafe { (obj.to_raw_address() + offset).store::<u8>(value) }
}

/// Reads a nullable reference field at `offset` of `obj`.
///
/// # Safety
/// As [`read_word`].
#[inline]
pub unsafe fn read_ref(obj: ObjectReference, offset: usize) -> Option<ObjectReference> {
    // SAFETY: the caller's promise.
    word_to_ref(unsafe { read_word(obj, offset) })
}

/// Converts a nullable reference to the word stored in the heap (0 for null).
#[inline]
pub fn ref_to_word(r: Option<ObjectReference>) -> usize {
    r.map_or(0, |o| o.to_raw_address().as_usize())
}

/// Converts a heap word back to a nullable reference (nothing is read).
#[inline]
pub fn word_to_ref(w: usize) -> Option<ObjectReference> {
    // SAFETY: building an `Address` from any integer is sound; it is only
    // dereferenced by code that knows it holds an object.
    ObjectReference::from_raw_address(unsafe { Address::from_usize(w) })
}

/// The type descriptor of `obj`.
///
/// # Safety
/// `obj` is a live object (its header is readable and was written at allocation).
#[inline]
pub unsafe fn type_info(obj: ObjectReference) -> &'static TypeInfo {
    // SAFETY: the caller's promise: the header's low half is 4-byte aligned
    // inside a live object.
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
///
/// # Safety
/// `obj` is a live object of a [`Layout::Array`] type.
#[inline]
pub unsafe fn array_len(obj: ObjectReference) -> usize {
    // SAFETY: the caller's promise: an array has its length word.
    unsafe { read_word(obj, ARRAY_LENGTH_OFFSET) }
}

/// The status word, atomically (used for thin locks and hashes by personalities).
///
/// # Safety
/// `obj` is a live object, and the reference is not kept across a safepoint
/// (where the object may move and the word be reused): the `'a` is the caller's
/// to choose and to keep short.
#[inline]
pub unsafe fn status_word<'a>(obj: ObjectReference) -> &'a AtomicU32 {
    // SAFETY: the caller's promise; the status word is the 4-byte aligned high
    // half of a live object's header, and atomic access is the only access to it
    // while mutators use the object (the type id beside it is written only before
    // the object is published).
    unsafe { &*((obj.to_raw_address() + STATUS_OFFSET).to_ptr::<AtomicU32>()) }
}

/// Compares-and-swaps the status word; returns the previous value on failure.
///
/// # Safety
/// `obj` is a live object.
#[inline]
pub unsafe fn cas_status(obj: ObjectReference, old: u32, new: u32) -> Result<u32, u32> {
    // SAFETY: the caller's promise.
    unsafe { status_word(obj) }.compare_exchange(old, new, Ordering::AcqRel, Ordering::Acquire)
}

/// Bytes of `obj` that the collector copies when it moves the object.
pub(crate) fn object_size(obj: ObjectReference) -> usize {
    // SAFETY: the collector asks only about live (or being-copied) objects.
    let ti = unsafe { type_info(obj) };
    match ti.layout {
        Layout::Fixed { size, .. } => size,
        // SAFETY: as above; an array's length word is inside it.
        Layout::Array { elem_size, .. } => array_size(elem_size, unsafe { array_len(obj) }),
        Layout::Custom => model().object_size(obj),
    }
}

/// Visitor of root or field slots: called with the address of each word that may
/// hold a reference. The word holds a value in the personality's
/// [`ValueEncoding`]: the collector reads it through the encoding (a tagged integer
/// is left alone), and when it moves the referent it rewrites the address bits only.
pub type SlotVisitor<'a> = dyn FnMut(Address) + 'a;

/// What the heap asks of a personality: the shape of its objects, the encoding of
/// its values and its global roots. Nothing here mentions a thread: the heap sits
/// below the thread manager ([`crate::VirtualMachine`] adds what threads need).
///
/// The substrate calls it from GC worker threads while every mutator is stopped
/// (the `scan_*` methods) and from any thread otherwise.
pub trait ObjectModel: Send + Sync + 'static {
    /// Reports every global root slot (static fields, interned constants, ...).
    fn scan_globals(&self, visit: &mut SlotVisitor<'_>);

    /// How the personality's values hold references: every slot it declares or
    /// reports (reference fields of its layouts, [`SlotVisitor`] slots, interpreter
    /// root-stack words marked as references, JIT stack-map slots) is read through
    /// it. Plain pointers by default. Asked once, at start-up.
    fn value_encoding(&self) -> ValueEncoding {
        ValueEncoding::POINTERS
    }

    /// Reports the reference fields of an object whose type has [`Layout::Custom`].
    fn scan_object(&self, _object: ObjectReference, _visit: &mut SlotVisitor<'_>) {}

    /// Size in bytes (header included) of an object whose type has
    /// [`Layout::Custom`].
    fn object_size(&self, _object: ObjectReference) -> usize {
        HEADER_SIZE
    }

    /// Called (on a GC thread) at the end of a collection that queued objects for
    /// finalization; take them with [`crate::gc::weak::take_finalizable`]. Should
    /// only notify, e.g. wake a finalizer thread.
    fn finalizers_pending(&self) {}

    /// Called once at the end of every stop-the-world pause (on a GC thread,
    /// every mutator still stopped), before any mutator resumes. Objects may have
    /// moved in it: a personality that caches raw addresses outside the slots the
    /// collector updates (inline caches of JIT code, say) drops them here, e.g. by
    /// bumping an epoch the caches are checked against. Must not allocate, block
    /// or touch the heap's objects.
    fn pause_ended(&self) {}
}

static MODEL: OnceLock<&'static dyn ObjectModel> = OnceLock::new();

/// Installs the personality's object model (once per process; the heap does it
/// at start-up). `Err` if one is installed already.
pub(crate) fn set_model(model: &'static dyn ObjectModel) -> Result<(), ()> {
    let encoding = model.value_encoding();
    encoding.check().map_err(|_| ())?;
    MODEL.set(model).map_err(|_| ())?;
    ENCODING_TAG_MASK.store(encoding.tag_mask, Ordering::Relaxed);
    ENCODING_REF_TAG.store(encoding.ref_tag, Ordering::Relaxed);
    ENCODING_ADDR_MASK.store(encoding.addr_mask, Ordering::Relaxed);
    Ok(())
}

/// The installed object model.
///
/// # Panics
/// Before the substrate is initialized.
pub fn model() -> &'static dyn ObjectModel {
    *MODEL
        .get()
        .expect("vmkit is not initialized (vmkit::vm::init)")
}

static ENCODING_TAG_MASK: AtomicU64 = AtomicU64::new(0);
static ENCODING_REF_TAG: AtomicU64 = AtomicU64::new(0);
static ENCODING_ADDR_MASK: AtomicU64 = AtomicU64::new(!0);

/// How a personality's value words hold references.
///
/// A word `w` of a value slot is a reference when `w & tag_mask == ref_tag` and
/// `w & addr_mask != 0`; the object is then at `w & addr_mask`. When the
/// collector moves it, it stores `(w & !addr_mask) | new_address`: the tag bits
/// stay. Every other word (a tagged integer, a boxed float, a null) is left
/// alone: the collector neither traces nor rewrites it.
///
/// - [`ValueEncoding::POINTERS`]: every non-zero word is a reference (a statically
///   typed language, which knows which slots hold references).
/// - [`ValueEncoding::low_tags`]: the low bits tag the value (OCaml, V8-style
///   small integers): `low_tags(1, 0)` makes words with bit 0 set integers and
///   the others references.
/// - [`ValueEncoding::high_tags`]: the high 16 bits tag the value (NaN-boxing,
///   as LuaJIT and SpiderMonkey do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueEncoding {
    /// The bits that say what kind of value a word is.
    pub tag_mask: u64,
    /// The value of those bits in a reference.
    pub ref_tag: u64,
    /// The bits of a reference that hold the object's address.
    pub addr_mask: u64,
}

impl ValueEncoding {
    /// Every non-zero word is a reference.
    pub const POINTERS: ValueEncoding = ValueEncoding {
        tag_mask: 0,
        ref_tag: 0,
        addr_mask: !0,
    };

    /// The low `bits` bits (at most 3: objects are 8-byte aligned) are the tag;
    /// references have tag `ref_tag`.
    pub const fn low_tags(bits: u32, ref_tag: u64) -> ValueEncoding {
        let tag_mask = (1u64 << bits) - 1;
        ValueEncoding {
            tag_mask,
            ref_tag,
            addr_mask: !tag_mask,
        }
    }

    /// The high 16 bits are the tag (NaN-boxing); references have the high 16
    /// bits `ref_tag` and the object's address in the low 48.
    pub const fn high_tags(ref_tag: u16) -> ValueEncoding {
        ValueEncoding {
            tag_mask: 0xFFFF << 48,
            ref_tag: (ref_tag as u64) << 48,
            addr_mask: (1 << 48) - 1,
        }
    }

    /// Whether the encoding can hold every object address (8-byte aligned, below
    /// 2^47) and its reference tag lies inside its tag bits.
    pub fn check(&self) -> Result<(), String> {
        let address_bits: u64 = ((1u64 << 47) - 1) & !7;
        if self.addr_mask & address_bits != address_bits {
            return Err(format!(
                "the address mask {:#x} does not keep every object address",
                self.addr_mask
            ));
        }
        if self.ref_tag & !self.tag_mask != 0 || self.tag_mask & address_bits != 0 {
            return Err(format!(
                "the reference tag {:#x} is not inside the tag bits {:#x}, or the tag bits overlap object addresses",
                self.ref_tag, self.tag_mask
            ));
        }
        Ok(())
    }

    /// The encoding installed with the object model ([`ValueEncoding::POINTERS`]
    /// before).
    #[inline]
    pub fn current() -> ValueEncoding {
        ValueEncoding {
            tag_mask: ENCODING_TAG_MASK.load(Ordering::Relaxed),
            ref_tag: ENCODING_REF_TAG.load(Ordering::Relaxed),
            addr_mask: ENCODING_ADDR_MASK.load(Ordering::Relaxed),
        }
    }

    /// The reference a value word holds, if it holds one.
    #[inline]
    pub fn decode(&self, word: u64) -> Option<ObjectReference> {
        if word & self.tag_mask != self.ref_tag {
            return None;
        }
        word_to_ref((word & self.addr_mask) as usize)
    }

    /// The word `old` (a reference) made to refer to `object`, its tag kept.
    #[inline]
    pub fn encode(&self, old: u64, object: ObjectReference) -> u64 {
        (old & !self.addr_mask) | object.to_raw_address().as_usize() as u64
    }

    /// A fresh reference value for `object` (its tag bits `ref_tag`).
    #[inline]
    pub fn reference(&self, object: ObjectReference) -> u64 {
        self.ref_tag | object.to_raw_address().as_usize() as u64
    }
}
