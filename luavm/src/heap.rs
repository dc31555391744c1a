//! Lua's heap objects on the vmkit heap: strings, boxed integers, tables,
//! functions and upvalue cells. Every reference slot holds a [`Value`] (the
//! substrate reads them through [`crate::value::ENCODING`]).
//!
//! Values held in Rust locals are valid until the next allocation (which may
//! collect and move objects): the interpreter keeps what must survive one on the
//! thread's root stack ([`Roots`]).

use crate::value::Value;
use vmkit::object::{self, ARRAY_DATA_OFFSET};
use vmkit::{Layout, ObjectReference, Thread, TypeInfo, HEADER_SIZE};

const H: usize = HEADER_SIZE;

/// 2^63 as a float: floats in `-TWO63_F..TWO63_F` have an `i64` value.
pub const TWO63_F: f64 = 9_223_372_036_854_775_808.0;

/// `TypeInfo::user` of each kind of object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Kind {
    /// A string (bytes).
    Str = 0,
    /// An integer outside the inline range.
    BigInt = 1,
    /// A table.
    Table = 2,
    /// An array of values (a table's array or hash part).
    Values = 3,
    /// A Lua function: its prototype's index, then its upvalue cells.
    Function = 4,
    /// An upvalue cell.
    Cell = 5,
    /// A coroutine (a Lua thread): see [`crate::coro`].
    Thread = 6,
}

/// Strings: byte arrays; the status word caches the hash.
pub static STRING: TypeInfo = TypeInfo::new(
    "string",
    Layout::Array {
        elem_size: 1,
        elem_is_ref: false,
    },
    Kind::Str as usize,
);
/// A boxed 64-bit integer.
pub static BIGINT: TypeInfo = TypeInfo::new(
    "integer",
    Layout::Fixed {
        size: H + 8,
        ref_offsets: &[],
    },
    Kind::BigInt as usize,
);
/// Offsets of a table's fields.
pub const T_ARRAY: usize = H;
/// Elements used in the array part (a raw count).
pub const T_ARRAY_LEN: usize = H + 8;
/// The hash part: [`T_HASH_SIZE`] nodes' `[key, value]` pairs, then their
/// `next` offsets (small integers; nil for 0), as lua5.4's node part.
pub const T_HASH: usize = H + 16;
/// Nodes of the hash part (a raw count, a power of two; 0 without one).
pub const T_HASH_SIZE: usize = H + 24;
/// The metatable (nil or a table).
pub const T_META: usize = H + 32;
/// lua5.4's `lastfree`: the hash part's nodes at and above it are not free
/// (a raw index, searched downwards for a free node).
pub const T_LASTFREE: usize = H + 40;
/// Tables.
pub static TABLE: TypeInfo = TypeInfo::new(
    "table",
    Layout::Fixed {
        size: H + 48,
        ref_offsets: &[T_ARRAY, T_HASH, T_META],
    },
    Kind::Table as usize,
);
/// Arrays of values.
pub static VALUES: TypeInfo = TypeInfo::new(
    "values",
    Layout::Array {
        elem_size: 8,
        elem_is_ref: true,
    },
    Kind::Values as usize,
);
/// Lua functions: element 0 the prototype index (an integer value), then the
/// upvalue cells.
pub static FUNCTION: TypeInfo = TypeInfo::new(
    "function",
    Layout::Array {
        elem_size: 8,
        elem_is_ref: true,
    },
    Kind::Function as usize,
);
/// Upvalue cells.
pub static CELL: TypeInfo = TypeInfo::new(
    "cell",
    Layout::Fixed {
        size: H + 8,
        ref_offsets: &[H],
    },
    Kind::Cell as usize,
);

/// Offsets of a coroutine's fields: a value (its function until it starts,
/// the error that killed it until `coroutine.close` reports it), then raw
/// words for [`crate::coro`] (which entry of its registry, the flags, the
/// slots of its region in use).
pub const CO_VALUE: usize = H;
/// The registry entry: index | generation << 32.
pub const CO_ENTRY: usize = H + 8;
/// [`crate::coro`]'s flags.
pub const CO_FLAGS: usize = H + 16;
/// A suspended coroutine's value-stack slots in use, `CO_LO..CO_HI` (raw
/// indices, equal when it has none: not started, running, dead), what the
/// collector scans with the object.
pub const CO_LO: usize = H + 24;
/// See [`CO_LO`].
pub const CO_HI: usize = H + 32;
/// Coroutines: their size and references are the personality's
/// ([`crate::vm::LuaVm`] asks [`crate::coro`]): a suspended coroutine's
/// value-stack region is part of it.
pub static THREAD: TypeInfo = TypeInfo::new("thread", Layout::Custom, Kind::Thread as usize);

/// A Lua error: the error value waits in the interpreter's error slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thrown;

/// The result of anything that may raise a Lua error.
pub type LResult<T> = Result<T, Thrown>;

// ---------------------------------------------------------------- raw access
//
// The accessors below read and write objects the interpreter holds as values:
// every such value comes from a root (the root stack, a table reached from
// one) read after the last allocation, so the object is live; offsets come
// from the object's kind, checked by the caller (`kind`).

/// The type ids of the kinds, by `Kind` (known once each type has one: every
/// type is registered when the interpreter starts, see [`register_types`]).
static KIND_IDS: [std::sync::atomic::AtomicU32; 7] =
    [const { std::sync::atomic::AtomicU32::new(0) }; 7];

/// The type id (a header's low half) of objects of kind `k`.
pub fn kind_id(k: Kind) -> u32 {
    KIND_IDS[k as usize].load(std::sync::atomic::Ordering::Relaxed)
}

/// Gives every luavm type its id now, so [`kind`] reads one header word.
pub fn register_types() -> Result<(), NoMemory> {
    static PROCESSOR: std::sync::Once = std::sync::Once::new();
    PROCESSOR.call_once(|| vmkit::gc::weak::register_weak_processor(intern_process));
    for (k, ti) in [&STRING, &BIGINT, &TABLE, &VALUES, &FUNCTION, &CELL, &THREAD]
        .iter()
        .enumerate()
    {
        let id = ti.header().ok_or(NoMemory)?;
        KIND_IDS[k].store(id as u32, std::sync::atomic::Ordering::Relaxed);
    }
    let id = vmkit::gc::weak::WEAK_REF.header().ok_or(NoMemory)?;
    WEAK_REF_ID.store(id as u32, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// The kind of a heap object.
#[inline]
pub fn kind(o: ObjectReference) -> Kind {
    // The type id: the header's low half.
    let id = word(o, 0) as u32;
    let is = |k: Kind| KIND_IDS[k as usize].load(std::sync::atomic::Ordering::Relaxed) == id;
    if is(Kind::Str) {
        Kind::Str
    } else if is(Kind::Table) {
        Kind::Table
    } else if is(Kind::Function) {
        Kind::Function
    } else if is(Kind::Cell) {
        Kind::Cell
    } else if is(Kind::BigInt) {
        Kind::BigInt
    } else if is(Kind::Thread) {
        Kind::Thread
    } else {
        Kind::Values
    }
}

/// The word at `off`.
#[inline]
pub fn word(o: ObjectReference, off: usize) -> u64 {
    // SAFETY: see above.
    unsafe { object::read_word(o, off) as u64 }
}

/// The value at `off`.
#[inline]
pub fn get(o: ObjectReference, off: usize) -> Value {
    Value(word(o, off))
}

/// Stores a raw (non-value) word at `off`.
#[inline]
pub fn set_word(o: ObjectReference, off: usize, w: u64) {
    // SAFETY: see above; `off` is a raw field (a count).
    unsafe { object::write_word(o, off, w as usize) }
}

/// Stores a value at `off`, with the plan's write barrier.
#[inline]
pub fn set(t: &Thread, o: ObjectReference, off: usize, v: Value) {
    // SAFETY: see above; `off` is a value field or element.
    unsafe { t.write_value(o, off, v.0) }
}

/// Elements of an array object.
#[inline]
pub fn len(o: ObjectReference) -> usize {
    // SAFETY: see above; `o` is a string, a value array or a function.
    unsafe { object::array_len(o) }
}

/// Offset of element `i` of a value array.
#[inline]
pub fn elem(i: usize) -> usize {
    ARRAY_DATA_OFFSET + 8 * i
}

/// The bytes of a string, valid until the next allocation.
#[inline]
pub fn str_bytes<'a>(o: ObjectReference) -> &'a [u8] {
    let n = len(o);
    // SAFETY: see above; a string's `n` bytes follow its length word, and the
    // slice is used before anything can allocate (the caller's promise).
    unsafe {
        std::slice::from_raw_parts((o.to_raw_address() + ARRAY_DATA_OFFSET).to_ptr::<u8>(), n)
    }
}

/// The status word (a string's hash, another object's identity hash).
fn status<'a>(o: ObjectReference) -> &'a std::sync::atomic::AtomicU32 {
    // SAFETY: see above; used for one atomic operation at once.
    unsafe { object::status_word(o) }
}

// ---------------------------------------------------------------- roots

/// The value stack ([`crate::stack`]), for a moment (never held across a call
/// that takes it again). `t` is the Lua thread (the only one that runs Lua).
#[inline]
pub fn roots(_t: &Thread) -> &'static mut crate::stack::Stack {
    crate::stack::stack()
}

/// Pushes a value on the root stack.
#[inline]
pub fn push(t: &Thread, v: Value) {
    roots(t).push(v.0);
}

/// Pops the top value.
#[inline]
pub fn pop(t: &Thread) -> Value {
    Value(roots(t).pop().expect("the root stack is not empty"))
}

/// The value at root-stack index `i`.
#[inline]
pub fn at(t: &Thread, i: usize) -> Value {
    Value(roots(t).get(i))
}

/// Sets root-stack index `i`.
#[inline]
pub fn set_at(t: &Thread, i: usize, v: Value) {
    roots(t).set(i, v.0);
}

/// The root stack's height.
#[inline]
pub fn top(t: &Thread) -> usize {
    roots(t).len()
}

// ---------------------------------------------------------------- allocation

/// Out of memory: the caller raises "not enough memory".
#[derive(Debug, Clone, Copy)]
pub struct NoMemory;

/// Strings of at most this many bytes are interned (lua5.4's
/// `LUAI_MAXSHORTLEN`): two of them with the same bytes are the same object, so
/// compiled code tells a short string constant from any other key by identity,
/// without reading the other key.
pub const INTERN_MAX: usize = 40;

/// The interned strings: an open-addressing set (linear probing, at most half
/// full) of their addresses by their hash, weak: the collector drops the
/// strings nothing else holds and updates moved ones ([`intern_process`]).
/// Each slot is one word: the address (48 bits) and the top 16 bits of the
/// hash above it, so that a probe reads another string only when those match;
/// `EMPTY`, or `GONE` for a removed entry.
struct Interned {
    slots: Vec<u64>,
    /// Entries that are not `EMPTY` (strings and `GONE`s).
    used: usize,
    /// Entries that are strings.
    live: usize,
}

const EMPTY: u64 = 0;
const GONE: u64 = 1;
const ADDRESS: u64 = (1 << 48) - 1;

static INTERNED: std::sync::Mutex<Interned> = std::sync::Mutex::new(Interned {
    slots: Vec::new(),
    used: 0,
    live: 0,
});

/// The set, locked (a panic elsewhere does not make it unusable: every
/// update leaves it consistent).
fn interned() -> std::sync::MutexGuard<'static, Interned> {
    INTERNED.lock().unwrap_or_else(|e| e.into_inner())
}

/// A slot's word for the string at `a` with hash `hash`.
fn slot_word(a: usize, hash: u32) -> u64 {
    (a as u64 & ADDRESS) | (u64::from(hash >> 16) << 48)
}

impl Interned {
    /// The interned string with these bytes and hash.
    fn find(&self, bytes: &[u8], hash: u32) -> Option<ObjectReference> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let tag = u64::from(hash >> 16);
        let mut i = hash as usize & mask;
        loop {
            match self.slots[i] {
                EMPTY => return None,
                GONE => {}
                w if w >> 48 == tag => {
                    let o = object::word_to_ref((w & ADDRESS) as usize).expect("a string");
                    if str_hash(o) == hash && str_bytes(o) == bytes {
                        return Some(o);
                    }
                }
                _ => {}
            }
            i = (i + 1) & mask;
        }
    }

    fn insert(&mut self, o: ObjectReference, hash: u32) {
        if (self.used + 1) * 2 > self.slots.len() {
            self.rebuild(self.live + 1);
        }
        self.put(slot_word(o.to_raw_address().as_usize(), hash), hash);
        self.live += 1;
    }

    /// A fresh table for `n` strings, without the `GONE`s.
    fn rebuild(&mut self, n: usize) {
        let cap = (n * 4).next_power_of_two().max(1024);
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; cap]);
        self.used = 0;
        for w in old.into_iter().filter(|&w| w > GONE) {
            let o = object::word_to_ref((w & ADDRESS) as usize).expect("a string");
            self.put(w, str_hash(o));
        }
    }

    fn put(&mut self, w: u64, hash: u32) {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        while self.slots[i] > GONE {
            i = (i + 1) & mask;
        }
        if self.slots[i] == EMPTY {
            self.used += 1;
        }
        self.slots[i] = w;
    }
}

/// The collector's pass over the interned strings ([`vmkit::gc::weak::WeakProcessor`]):
/// a string nothing else holds leaves the set, a moved one is found at its new
/// address (its hash, its position in the set, does not change). The `GONE`s
/// it leaves count toward the table's load: the next insertion that finds it
/// half full rebuilds it without them (on the mutator, which reads each
/// string's hash where the string is; a plan that computes new addresses
/// before moving calls this before the strings are there).
fn intern_process(now: &dyn Fn(ObjectReference) -> Option<ObjectReference>) {
    let mut set = interned();
    let mut live = 0;
    for w in set.slots.iter_mut().filter(|w| **w > GONE) {
        let o = object::word_to_ref((*w & ADDRESS) as usize).expect("a string");
        *w = match now(o) {
            Some(n) => {
                live += 1;
                (n.to_raw_address().as_usize() as u64 & ADDRESS) | (*w & !ADDRESS)
            }
            None => GONE,
        };
    }
    set.live = live;
}

/// A new string with these bytes (which must not lie in the heap); for at
/// most [`INTERN_MAX`] bytes, the interned one.
pub fn new_string(t: &Thread, bytes: &[u8]) -> Result<Value, NoMemory> {
    if bytes.len() <= INTERN_MAX {
        let hash = bytes_hash(bytes);
        if let Some(o) = interned().find(bytes, hash) {
            // Taken out of a weak set: a concurrent marker must see it.
            vmkit::gc::weak::load_barrier(o);
            return Ok(Value::object(o));
        }
        // (The set is not locked while the string is allocated: that may
        // collect, and the collector updates the set.)
        let o = alloc_string(t, bytes)?;
        status(o).store(hash, std::sync::atomic::Ordering::Relaxed);
        interned().insert(o, hash);
        return Ok(Value::object(o));
    }
    let o = alloc_string(t, bytes)?;
    hash_if_short(o);
    Ok(Value::object(o))
}

/// A new string (not interned) of up to [`SHORT_STRING`] bytes gets its hash
/// now: compiled code compares it before the bytes.
fn hash_if_short(o: ObjectReference) {
    if len(o) <= SHORT_STRING {
        str_hash(o);
    }
}

/// `a .. b` of two strings, made in place: a long result is allocated at its
/// size and the bytes of both copied into it (no intermediate buffer; `s = s
/// .. x` in a loop copied each string three times, with a `malloc` and a
/// `free`, and took 3.3 times lua5.4's time); a short one (interned) is
/// assembled on the stack first.
pub fn concat_strings(
    t: &Thread,
    a: ObjectReference,
    b: ObjectReference,
) -> Result<Value, NoMemory> {
    let (la, lb) = (len(a), len(b));
    let n = la + lb;
    if n <= INTERN_MAX {
        let mut buf = [0u8; INTERN_MAX];
        buf[..la].copy_from_slice(str_bytes(a));
        buf[la..n].copy_from_slice(str_bytes(b));
        return new_string(t, &buf[..n]);
    }
    // The allocation may collect and move `a` and `b`: they wait on the root
    // stack and are read back after it.
    let mark = top(t);
    push(t, Value::object(a));
    push(t, Value::object(b));
    let o = t.alloc_array(&STRING, n).map_err(|_| NoMemory);
    let (a, b) = (at(t, mark), at(t, mark + 1));
    roots(t).truncate(mark);
    let o = o?;
    let (a, b) = (
        a.as_object().expect("a string"),
        b.as_object().expect("a string"),
    );
    // SAFETY: `o` is a fresh string of `n` bytes; `a` and `b` are live strings
    // of `la` and `lb` bytes (nothing allocated since they were read back), and
    // none of the three overlaps another.
    unsafe {
        let dst = (o.to_raw_address() + ARRAY_DATA_OFFSET).to_mut_ptr::<u8>();
        std::ptr::copy_nonoverlapping(str_bytes(a).as_ptr(), dst, la);
        std::ptr::copy_nonoverlapping(str_bytes(b).as_ptr(), dst.add(la), lb);
    }
    hash_if_short(o);
    Ok(Value::object(o))
}

/// A string object with these bytes, not interned.
fn alloc_string(t: &Thread, bytes: &[u8]) -> Result<ObjectReference, NoMemory> {
    let o = t.alloc_array(&STRING, bytes.len()).map_err(|_| NoMemory)?;
    // SAFETY: `o` is a fresh string of `bytes.len()` bytes; `bytes` is Rust memory.
    unsafe {
        std::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            (o.to_raw_address() + ARRAY_DATA_OFFSET).to_mut_ptr::<u8>(),
            bytes.len(),
        )
    };
    Ok(o)
}

/// Strings up to this length are hashed when made.
pub const SHORT_STRING: usize = 64;

/// An integer value (boxed when outside the inline range).
pub fn new_int(t: &Thread, i: i64) -> Result<Value, NoMemory> {
    if let Some(v) = Value::small_int(i) {
        return Ok(v);
    }
    let o = t.alloc(&BIGINT, H + 8).map_err(|_| NoMemory)?;
    set_word(o, H, i as u64);
    Ok(Value::object(o))
}

/// The integer a value holds, inline or boxed.
#[inline]
pub fn as_int(v: Value) -> Option<i64> {
    if let Some(i) = v.as_small_int() {
        return Some(i);
    }
    let o = v.as_object()?;
    (kind(o) == Kind::BigInt).then(|| word(o, H) as i64)
}

/// A number: integer or float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
}

/// The number a value holds (no string coercion).
#[inline]
pub fn as_num(v: Value) -> Option<Num> {
    if let Some(x) = v.as_float() {
        return Some(Num::Float(x));
    }
    as_int(v).map(Num::Int)
}

/// The string object a value holds.
#[inline]
pub fn as_str(v: Value) -> Option<ObjectReference> {
    v.as_object().filter(|o| kind(*o) == Kind::Str)
}

/// The table object a value holds.
#[inline]
pub fn as_table(v: Value) -> Option<ObjectReference> {
    v.as_object().filter(|o| kind(*o) == Kind::Table)
}

/// A new table with room for `narray` array elements and `nhash` keys.
pub fn new_table(t: &Thread, narray: usize, nhash: usize) -> Result<Value, NoMemory> {
    new_table_for(t, narray, nhash, false)
}

/// [`new_table`] for a constructor whose keyed items are all strings
/// (`roomy`): lua5.4 scatters string keys by a seeded hash, so their order is
/// not observable and the hash part may have room to spare (a quarter free,
/// fewer collisions) instead of lua5.4's exact power of two.
pub fn new_table_for(
    t: &Thread,
    narray: usize,
    nhash: usize,
    roomy: bool,
) -> Result<Value, NoMemory> {
    let tab = t.alloc(&TABLE, H + 48).map_err(|_| NoMemory)?;
    init_table(tab);
    let base = top(t);
    push(t, Value::object(tab));
    let r = (|| {
        if narray > 0 {
            let a = new_values(t, narray)?;
            let tab = at(t, base).as_object().expect("the table");
            set(t, tab, T_ARRAY, a);
        }
        if nhash > 0 {
            let cap = hash_nodes(nhash, roomy);
            let h = new_values(t, 3 * cap)?;
            let tab = at(t, base).as_object().expect("the table");
            set(t, tab, T_HASH, h);
            set_word(tab, T_HASH_SIZE, cap as u64);
            set_word(tab, T_LASTFREE, cap as u64);
            if roomy {
                // Its string keys will be stored inline by compiled code.
                set_scattered(tab, true);
            }
        }
        Ok(())
    })();
    let v = pop(t);
    r.map(|_| v)
}

/// The nodes of the hash part a constructor with `nhash` keyed items gets
/// (see [`new_table_for`]): as lua5.4's OP_NEWTABLE, room for them, a power of
/// two (see `table` for the hash part's layout); a quarter more when `roomy`.
pub fn hash_nodes(nhash: usize, roomy: bool) -> usize {
    if roomy {
        (nhash * 4).div_ceil(3).next_power_of_two()
    } else {
        nhash.next_power_of_two()
    }
}

/// A value array of `n` nils.
pub fn new_values(t: &Thread, n: usize) -> Result<Value, NoMemory> {
    let a = t.alloc_array(&VALUES, n).map_err(|_| NoMemory)?;
    for i in 0..n {
        set_word(a, elem(i), Value::NIL.0);
    }
    Ok(Value::object(a))
}

/// A new table's fields start as nil (an allocation is zeroed: 0 is the float
/// 0.0 in this encoding, so nil is written explicitly).
pub fn init_table(tab: ObjectReference) {
    set_word(tab, T_ARRAY, Value::NIL.0);
    set_word(tab, T_HASH, Value::NIL.0);
    set_word(tab, T_META, Value::NIL.0);
}

// ---------------------------------------------------------------- hashing

/// The hash of a string's bytes (cached in its status word).
pub fn str_hash(o: ObjectReference) -> u32 {
    let s = status(o);
    let h = s.load(std::sync::atomic::Ordering::Relaxed);
    if h != 0 {
        return h;
    }
    let x = bytes_hash(str_bytes(o));
    s.store(x, std::sync::atomic::Ordering::Relaxed);
    x
}

/// The hash a string of these bytes has ([`str_hash`]: FNV-1a, never 0).
pub const fn bytes_hash(bytes: &[u8]) -> u32 {
    let mut x: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < bytes.len() {
        x = (x ^ bytes[i] as u32).wrapping_mul(0x0100_0193);
        i += 1;
    }
    x | 1
}

static NEXT_ID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

/// A table's status-word bit: its keys are weak (`__mode` has `k`).
pub const WEAK_KEYS: u32 = 1 << 31;
/// A table's status-word bit: its values are weak (`__mode` has `v`).
pub const WEAK_VALUES: u32 = 1 << 30;
/// A table's status-word bit: it stands for a file (`io.stdout`): `type`
/// says "userdata", `io.type` "file", `tostring` "file (0x...)".
pub const FILE: u32 = 1 << 29;
/// A table's status-word bit: an inline cache of the JIT relies on it (it was
/// met on an `__index` chain, as a class, a metatable or the table holding a
/// found value). A new key in it, a store of its `__index` field or a new
/// metatable invalidates every inline cache ([`crate::table::invalidate_caches`]).
pub const PROTO: u32 = 1 << 28;
/// A table's status-word bit: its array part may hold nils below its
/// length (set by a store that makes one, cleared when the part is resized
/// without one): `#` then searches a border as lua5.4 does.
pub const HOLES: u32 = 1 << 27;
/// A table's status-word bit: its hash part holds (or held, until its next
/// rebuild) a key lua5.4 places by a seeded hash or an address (a string,
/// an object), so its traversal order is not lua5.4's to match: appends
/// grow its array part directly.
pub const SCATTERED: u32 = 1 << 26;
/// The identity hash's bits of a status word (the rest are the flags above).
const HASH_BITS: u32 = (1 << 26) - 1;

/// An object's identity hash (its address changes when it moves; this does not).
pub fn identity_hash(o: ObjectReference) -> u32 {
    let s = status(o);
    let h = s.load(std::sync::atomic::Ordering::Relaxed);
    if h & HASH_BITS != 0 {
        return h & HASH_BITS;
    }
    let id = (NEXT_ID
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        .wrapping_mul(0x9E37_79B9)
        & HASH_BITS)
        | 1;
    match s.compare_exchange(
        h,
        h | id,
        std::sync::atomic::Ordering::Relaxed,
        std::sync::atomic::Ordering::Relaxed,
    ) {
        Ok(_) => id,
        Err(old) => old & HASH_BITS,
    }
}

/// The weakness bits ([`WEAK_KEYS`], [`WEAK_VALUES`]) of a table.
#[inline]
pub fn weak_bits(tab: ObjectReference) -> u32 {
    status(tab).load(std::sync::atomic::Ordering::Relaxed) & (WEAK_KEYS | WEAK_VALUES)
}

/// Whether the table `tab` has status-word flag `bit` ([`FILE`], [`PROTO`]).
#[inline]
fn has_flag(tab: ObjectReference, bit: u32) -> bool {
    status(tab).load(std::sync::atomic::Ordering::Relaxed) & bit != 0
}

/// Sets status-word flag `bit` of the table `tab` (it keeps its identity hash).
fn set_flag(tab: ObjectReference, bit: u32) {
    identity_hash(tab);
    status(tab).fetch_or(bit, std::sync::atomic::Ordering::Relaxed);
}

/// Whether the table `tab` stands for a file ([`FILE`]).
#[inline]
pub fn is_file(tab: ObjectReference) -> bool {
    has_flag(tab, FILE)
}

/// Marks the table `tab` as a file ([`FILE`]).
pub fn mark_file(tab: ObjectReference) {
    set_flag(tab, FILE);
}

/// Whether an inline cache relies on the table ([`PROTO`]).
#[inline]
pub fn is_proto(tab: ObjectReference) -> bool {
    has_flag(tab, PROTO)
}

/// Marks the table as one an inline cache relies on ([`PROTO`]).
pub fn mark_proto(tab: ObjectReference) {
    set_flag(tab, PROTO);
}

/// Whether the table's array part may hold nils below its length ([`HOLES`]).
#[inline]
pub fn has_holes(tab: ObjectReference) -> bool {
    has_flag(tab, HOLES)
}

/// Sets or clears [`HOLES`].
pub fn set_holes(tab: ObjectReference, on: bool) {
    set_flag_to(tab, HOLES, on);
}

/// Sets status-word flag `bit` of the table to `on` (stores only a change).
fn set_flag_to(tab: ObjectReference, bit: u32, on: bool) {
    if on == has_flag(tab, bit) {
        return;
    }
    if on {
        set_flag(tab, bit);
    } else {
        status(tab).fetch_and(!bit, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Whether the table's hash part holds a scattered key ([`SCATTERED`]).
#[inline]
pub fn is_scattered(tab: ObjectReference) -> bool {
    has_flag(tab, SCATTERED)
}

/// Sets or clears [`SCATTERED`].
pub fn set_scattered(tab: ObjectReference, on: bool) {
    set_flag_to(tab, SCATTERED, on);
}

/// Adds weakness bits to a table (it keeps its identity hash).
pub fn add_weak_bits(tab: ObjectReference, bits: u32) {
    identity_hash(tab);
    status(tab).fetch_or(bits & !HASH_BITS, std::sync::atomic::Ordering::Relaxed);
}

/// The type id of the substrate's weak references (see [`register_types`]).
static WEAK_REF_ID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(u32::MAX);

/// If `v` is a weak reference (an entry of a weak table), what it refers to
/// now: the object, or nil once the collector cleared it.
#[inline]
pub fn weak_target(v: Value) -> Option<Value> {
    let o = v.as_object()?;
    if word(o, 0) as u32 != WEAK_REF_ID.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    // SAFETY: `o` is a live object of the substrate's weak-reference type.
    let r = unsafe { vmkit::gc::weak::weak_get(o) };
    Some(r.map_or(Value::NIL, Value::object))
}

/// `v` as a weak table reads it: the target of a weak reference, else itself.
#[inline]
pub fn unweak(v: Value) -> Value {
    weak_target(v).unwrap_or(v)
}

fn mix(x: u64) -> u32 {
    let x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 32) as u32 ^ x as u32
}

/// The hash of a (normalized) key.
pub fn key_hash(k: Value) -> u32 {
    if let Some(o) = k.as_object() {
        return match kind(o) {
            Kind::Str => str_hash(o),
            Kind::BigInt => mix(word(o, H)),
            _ => identity_hash(o),
        };
    }
    if let Some(i) = k.as_small_int() {
        return mix(i as u64);
    }
    mix(k.0)
}

/// Raw equality (`rawequal`): numbers by value (1 == 1.0), strings by
/// contents, everything else by identity.
pub fn raw_equal(a: Value, b: Value) -> bool {
    if let (Some(x), Some(y)) = (a.as_float(), b.as_float()) {
        return x == y;
    }
    if a == b {
        return true;
    }
    match (as_num(a), as_num(b)) {
        (Some(x), Some(y)) => return num_eq(x, y),
        (None, None) => {}
        _ => return false,
    }
    match (as_str(a), as_str(b)) {
        (Some(x), Some(y)) => str_bytes(x) == str_bytes(y),
        _ => false,
    }
}

/// Numeric equality across subtypes, exact.
pub fn num_eq(a: Num, b: Num) -> bool {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x == y,
        (Num::Float(x), Num::Float(y)) => x == y,
        (Num::Int(i), Num::Float(f)) | (Num::Float(f), Num::Int(i)) => {
            f == f.trunc() && (-TWO63_F..TWO63_F).contains(&f) && f as i64 == i
        }
    }
}
