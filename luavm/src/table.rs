//! Tables: an array part for the keys `1..n` and a hash part for the rest,
//! laid out as lua5.4's (ltable.c): a chained scatter table whose nodes are
//! `[key, value]` pairs with a `next` offset each, a key at its main position
//! or chained from it, collisions resolved with Brent's variation and a free
//! node searched downwards from `lastfree`; the part is rebuilt when no node
//! is free, with lua5.4's sizes (the array part's from `computesizes`, the
//! hash part's the next power of two), its keys reinserted in node order. So
//! `next` visits keys in lua5.4's order wherever that order does not depend
//! on addresses or on lua5.4's seeded string hashes: integer, float and
//! boolean keys. Float keys with an integer value are stored as integers; a
//! key assigned nil stays in the hash part, dead, until the next rebuild (so
//! `next` can go on from it during a traversal).

use crate::heap::TWO63_F;
use crate::heap::{self, *};
use crate::value::Value;
use vmkit::{ObjectReference, Thread};

/// The inline caches' epoch: a cache entry of the JIT is good while it holds
/// this value. It changes at every collection's pause (objects may have moved:
/// entries hold raw addresses) and when a table the caches rely on
/// ([`heap::PROTO`]) changes in a way that could change what an `__index`
/// chain resolves to. It starts at 1: a zeroed entry is never good.
pub static IC_EPOCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Makes every inline cache entry stale ([`IC_EPOCH`]).
#[inline]
pub fn invalidate_caches() {
    IC_EPOCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Whether `k` is the string `__index`.
fn is_index_key(k: Value) -> bool {
    as_str(k).is_some_and(|s| str_bytes(s) == b"__index")
}

/// Why a key cannot be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// `t[nil] = v`.
    Nil,
    /// `t[0/0] = v`.
    NaN,
    /// The heap is exhausted.
    NoMemory,
}

impl From<NoMemory> for KeyError {
    fn from(_: NoMemory) -> Self {
        KeyError::NoMemory
    }
}

/// A key as stored: floats with an exact integer value become integers.
pub fn normalize(t: &Thread, k: Value) -> Result<Value, NoMemory> {
    if let Some(x) = k.as_float() {
        if x == x.trunc() && (-TWO63_F..TWO63_F).contains(&x) {
            return new_int(t, x as i64);
        }
    }
    Ok(k)
}

fn array_len(tab: ObjectReference) -> usize {
    word(tab, T_ARRAY_LEN) as usize
}

fn array_cap(tab: ObjectReference) -> usize {
    get(tab, T_ARRAY).as_object().map_or(0, heap::len)
}

/// `table.insert(tab, v)` when it is a store into the array part's free room:
/// `tab` has no metatable (no `__len`, `__newindex`, weakness), no holes below
/// its length, room after it in the array part, no inline cache relies on it,
/// and `v` is not nil. Stores `v` at `#tab + 1` and says so; else changes
/// nothing (the caller takes `table.insert`'s general path). Never allocates.
pub fn try_append(t: &Thread, tab: ObjectReference, v: Value) -> bool {
    if v.is_nil() || metatable(tab).is_some() || heap::has_holes(tab) || heap::is_proto(tab) {
        return false;
    }
    let n = array_len(tab);
    let Some(a) = get(tab, T_ARRAY).as_object() else {
        return false;
    };
    if n >= heap::len(a) {
        return false;
    }
    set(t, a, elem(n), v);
    set_word(tab, T_ARRAY_LEN, n as u64 + 1);
    true
}

/// Nodes of the hash part of `tab` (0 without one).
#[inline]
fn hsize(tab: ObjectReference) -> usize {
    word(tab, T_HASH_SIZE) as usize
}

/// The `next` offset of node `i` of hash part `h` of `cap` nodes.
#[inline]
fn node_next(h: ObjectReference, cap: usize, i: usize) -> isize {
    get(h, elem(2 * cap + i)).as_small_int().unwrap_or(0) as isize
}

fn set_node_next(h: ObjectReference, cap: usize, i: usize, off: isize) {
    let v = if off == 0 {
        Value::NIL
    } else {
        Value::small_int(off as i64).expect("a node offset")
    };
    set_word(h, elem(2 * cap + i), v.0);
}

/// lua5.4's `l_hashfloat`.
fn hash_float(x: f64) -> u32 {
    if !x.is_finite() {
        return 0;
    }
    let (m, e) = crate::stdlib::lnum::frexp(x);
    let n = m * -(i32::MIN as f64);
    let ni = n as i64;
    let u = (e as u32).wrapping_add(ni as u32);
    if u <= i32::MAX as u32 {
        u
    } else {
        !u
    }
}

/// The main position of key `k` (stored form, not a weak reference) in a
/// hash part of `cap` nodes, as lua5.4's `mainposition` for the keys whose
/// order it makes deterministic (integers: the value modulo an odd size;
/// floats: `l_hashfloat`; booleans), the cached hash for strings, the
/// identity hash for other objects.
fn main_position(k: Value, cap: usize) -> usize {
    let odd = ((cap - 1) | 1) as u64;
    if let Some(i) = k.as_small_int() {
        return ((i as u64) % odd) as usize;
    }
    if let Some(b) = k.as_bool() {
        return usize::from(b) & (cap - 1);
    }
    if let Some(x) = k.as_float() {
        return (hash_float(x) as u64 % odd) as usize;
    }
    if let Some(o) = k.as_object() {
        return match kind(o) {
            Kind::Str => str_hash(o) as usize & (cap - 1),
            Kind::BigInt => (as_int(k).unwrap_or(0) as u64 % odd) as usize,
            _ => identity_hash(o) as usize & (cap - 1),
        };
    }
    key_hash(k) as usize & (cap - 1)
}

/// Whether stored key `key` (read through its weak reference) is `k`.
#[inline]
fn same_key(key: Value, k: Value) -> bool {
    if key == k {
        return true;
    }
    match (as_str(key), as_str(k)) {
        // Two strings: their cached hashes first, then the bytes.
        (Some(a), Some(b)) => str_hash(a) == str_hash(b) && str_bytes(a) == str_bytes(b),
        (Some(_), None) | (None, Some(_)) => false,
        _ => !key.is_nil() && raw_equal(key, k),
    }
}

/// The node of `k` in the hash part `h` of `cap` nodes, if it is there
/// (dead or not). Where `weak_keys()` (asked only past an identical key),
/// stored keys may be weak references (a cleared one matches no key).
#[inline]
fn find_slot(
    h: ObjectReference,
    cap: usize,
    k: Value,
    weak_keys: impl Fn() -> bool,
) -> Option<usize> {
    let mut i = main_position(k, cap);
    loop {
        let key = get(h, elem(2 * i));
        if key == k {
            return Some(i);
        }
        let key = if key.as_object().is_some() && weak_keys() {
            weak_target(key).unwrap_or(key)
        } else {
            key
        };
        if same_key(key, k) {
            return Some(i);
        }
        let nx = node_next(h, cap, i);
        if nx == 0 {
            return None;
        }
        i = (i as isize + nx) as usize;
    }
}

/// `t[k]` without metamethods (`k` normalized or not).
pub fn raw_get(tab: ObjectReference, k: Value) -> Value {
    if let Some(i) = k.as_small_int() {
        return raw_get_int(tab, i);
    }
    let k = match k.as_float() {
        Some(x) if x == x.trunc() && x.abs() < 1e15 => match Value::small_int(x as i64) {
            Some(v) => return raw_get_int(tab, v.as_small_int().unwrap_or(0)),
            None => k,
        },
        _ => k,
    };
    if k.is_nil() {
        return Value::NIL;
    }
    hash_get(tab, k)
}

fn hash_get(tab: ObjectReference, k: Value) -> Value {
    let Some(h) = get(tab, T_HASH).as_object() else {
        return Value::NIL;
    };
    match find_slot(h, hsize(tab), k, || weak_bits(tab) & WEAK_KEYS != 0) {
        Some(i) => read_in(tab, get(h, elem(2 * i + 1))),
        None => Value::NIL,
    }
}

/// If `tab` holds the string key `k` as another string object with the same
/// bytes, stores `k` in its place: the JIT's inline probes compare string
/// constants by identity (a constant is one object per contents), so a key
/// made elsewhere (a library's function names, a key built at run time)
/// sends every probe of it to the slow path until it is the constant itself.
/// The slow paths of constant keys call this. Not for weak-keyed tables.
pub fn adopt_key(t: &Thread, tab: ObjectReference, k: Value) {
    if as_str(k).is_none() || weak_bits(tab) & WEAK_KEYS != 0 {
        return;
    }
    let Some(h) = get(tab, T_HASH).as_object() else {
        return;
    };
    if let Some(i) = find_slot(h, hsize(tab), k, || false) {
        if get(h, elem(2 * i)) != k {
            set(t, h, elem(2 * i), k);
        }
    }
}

/// [`adopt_key`] in `tab` and along its `__index` tables, as far as the one
/// that has the key.
pub fn adopt_key_along(t: &Thread, tab: ObjectReference, k: Value) {
    let mut tab = tab;
    for _ in 0..100 {
        adopt_key(t, tab, k);
        if !hash_get(tab, k).is_nil() {
            return;
        }
        let Some(next) = metatable(tab)
            .map(|mt| raw_get_str(mt, b"__index"))
            .and_then(as_table)
        else {
            return;
        };
        tab = next;
    }
}

/// The address of the value word of key `k` in the hash part of `tab` (a
/// table without weak keys or values), if the key is there (dead or not). It
/// is good until the hash part is rebuilt (a new key) or the table moves (a
/// collection): [`IC_EPOCH`] changes at both for a [`heap::PROTO`] table.
pub fn hash_value_address(tab: ObjectReference, k: Value) -> Option<usize> {
    let h = get(tab, T_HASH).as_object()?;
    find_slot(h, hsize(tab), k, || false).map(|i| h.to_raw_address().as_usize() + elem(2 * i + 1))
}

/// A stored value as read: through its weak reference in a table with weak
/// values.
#[inline]
fn read_value(weak: u32, v: Value) -> Value {
    if weak & WEAK_VALUES != 0 {
        unweak(v)
    } else {
        v
    }
}

/// A value stored in `tab` as read (the weakness bits loaded only for an
/// object: numbers and the like are never weak references).
#[inline]
fn read_in(tab: ObjectReference, v: Value) -> Value {
    if v.as_object().is_some() && weak_bits(tab) & WEAK_VALUES != 0 {
        unweak(v)
    } else {
        v
    }
}

/// Whether a weak table holds `v` weakly: tables, Lua functions and
/// coroutines (strings,
/// numbers and built-ins are values, never removed, as in Lua).
fn collectable(v: Value) -> bool {
    v.as_object()
        .is_some_and(|o| matches!(kind(o), Kind::Table | Kind::Function | Kind::Thread))
}

/// A weak reference to `v` if a table with weakness `bit` holds it weakly.
fn weak_wrap(t: &Thread, weak: u32, bit: u32, v: Value) -> Result<Value, NoMemory> {
    if weak & bit == 0 || !collectable(v) {
        return Ok(v);
    }
    let w = t.new_weak_ref(v.as_object()).map_err(|_| NoMemory)?;
    Ok(Value::object(w))
}

/// `t[i]` without metamethods.
#[inline]
pub fn raw_get_int(tab: ObjectReference, i: i64) -> Value {
    if i >= 1 && (i as usize) <= array_len(tab) {
        let a = get(tab, T_ARRAY).as_object().expect("an array part");
        return read_in(tab, get(a, elem(i as usize - 1)));
    }
    match Value::small_int(i) {
        Some(k) => hash_get(tab, k),
        None => {
            // A boxed key: compare by value.
            let Some(h) = get(tab, T_HASH).as_object() else {
                return Value::NIL;
            };
            let cap = hsize(tab);
            for s in 0..cap {
                let key = get(h, elem(2 * s));
                if as_int(key) == Some(i) && key.as_float().is_none() {
                    return read_in(tab, get(h, elem(2 * s + 1)));
                }
            }
            Value::NIL
        }
    }
}

/// `t[name]` for a string key given as bytes, without metamethods.
pub fn raw_get_str(tab: ObjectReference, name: &[u8]) -> Value {
    let Some(h) = get(tab, T_HASH).as_object() else {
        return Value::NIL;
    };
    let cap = hsize(tab);
    let x = heap::bytes_hash(name);
    let mut i = x as usize & (cap - 1);
    loop {
        if let Some(s) = as_str(get(h, elem(2 * i))) {
            if str_hash(s) == x && str_bytes(s) == name {
                return read_in(tab, get(h, elem(2 * i + 1)));
            }
        }
        let nx = node_next(h, cap, i);
        if nx == 0 {
            return Value::NIL;
        }
        i = (i as isize + nx) as usize;
    }
}

/// `t[k] = v` without metamethods. `tab`, `k` and `v` are kept on the root
/// stack while it may allocate.
pub fn raw_set(t: &Thread, tab: Value, k: Value, v: Value) -> Result<(), KeyError> {
    if k.is_nil() {
        return Err(KeyError::Nil);
    }
    if k.as_float().is_some_and(f64::is_nan) {
        return Err(KeyError::NaN);
    }
    let base = top(t);
    push(t, tab);
    push(t, v);
    let r = (|| {
        let k = normalize(t, k)?;
        push(t, k);
        let weak = as_table(tab).map_or(0, weak_bits);
        if weak != 0 {
            // A weak table stores weak references: the value in place, the
            // key above (lookups go by the key itself).
            let v = weak_wrap(t, weak, WEAK_VALUES, at(t, base + 1))?;
            set_at(t, base + 1, v);
            let k = weak_wrap(t, weak, WEAK_KEYS, at(t, base + 2))?;
            push(t, k);
        }
        set_normalized(t, base)
    })();
    roots(t).truncate(base);
    r
}

/// The set with `[tab, v, k]` at `base` on the root stack (and, for a weak
/// table, the key as stored at `base + 3`).
fn set_normalized(t: &Thread, base: usize) -> Result<(), KeyError> {
    let tab = at(t, base).as_object().expect("a table");
    let k = at(t, base + 2);
    let v = at(t, base + 1);
    if let Some(i) = k.as_small_int() {
        // Keys up to the array part's size live there (lua5.4's `asize`);
        // its length is the last one that is not nil.
        let (n, cap) = (array_len(tab), array_cap(tab));
        if i >= 1 && (i as usize) <= cap {
            let a = get(tab, T_ARRAY).as_object().expect("an array part");
            set(t, a, elem(i as usize - 1), v);
            if v.is_nil() && i as usize == n {
                // Trailing nils leave the array part's length.
                let mut m = n - 1;
                while m > 0 && get(a, elem(m - 1)).is_nil() {
                    m -= 1;
                }
                set_word(tab, T_ARRAY_LEN, m as u64);
            } else if v.is_nil() && (i as usize) < n {
                set_holes(tab, true);
            } else if !v.is_nil() && i as usize > n {
                if i as usize > n + 1 {
                    set_holes(tab, true);
                }
                set_word(tab, T_ARRAY_LEN, i as u64);
            }
            return Ok(());
        }
        if i as usize == n + 1 && n == cap && !v.is_nil() && is_scattered(tab) {
            // The next element of a table whose order is not lua5.4's to
            // match: the array part doubles (lua5.4 would put it in the hash
            // part for now).
            grow_array(t, base, (2 * cap).max(4))?;
            return set_normalized(t, base);
        }
    }
    hash_set(t, base)
}

fn hash_set(t: &Thread, base: usize) -> Result<(), KeyError> {
    let tab = at(t, base).as_object().expect("a table");
    let k = at(t, base + 2);
    let v = at(t, base + 1);
    // A table an inline cache relies on: a new (or revived) key may shadow a
    // cached lookup further up its chain, and a new `__index` redirects it.
    // (A value overwritten in place or removed is read afresh by the cache.)
    if heap::is_proto(tab) && (is_index_key(k) || (!v.is_nil() && hash_get(tab, k).is_nil())) {
        invalidate_caches();
    }
    let weak = weak_bits(tab);
    if let Some(h) = get(tab, T_HASH).as_object() {
        let cap = hsize(tab);
        if let Some(slot) = find_slot(h, cap, k, || weak & WEAK_KEYS != 0) {
            set(t, h, elem(2 * slot + 1), v);
            return Ok(());
        }
        if v.is_nil() {
            return Ok(());
        }
        if new_key(t, base, tab, h, cap) {
            return Ok(());
        }
    } else if v.is_nil() {
        return Ok(());
    }
    // No free node: the table is resized as lua5.4 resizes it, then the key
    // goes in again (maybe into the array part).
    rehash(t, base)?;
    set_normalized(t, base)
}

/// Whether lua5.4 places key `k` by a seeded hash or an address (a string,
/// an object): [`SCATTERED`].
fn scattered(k: Value) -> bool {
    k.as_object().is_some_and(|o| kind(o) != Kind::BigInt)
}

/// lua5.4's `luaH_newkey` for the key at `base + 2` (stored as `base + 3`
/// in a weak table) and its value at `base + 1`, absent from hash part `h`
/// of `cap` nodes: at its main position if that node is free, else in a
/// free node (the colliding key moved there when it is not in its own main
/// position). `false` when no node is free.
fn new_key(t: &Thread, base: usize, tab: ObjectReference, h: ObjectReference, cap: usize) -> bool {
    let k = at(t, base + 2);
    if scattered(k) {
        set_scattered(tab, true);
    }
    let stored = if top(t) > base + 3 {
        at(t, base + 3)
    } else {
        k
    };
    let weak = weak_bits(tab);
    let mut mp = main_position(k, cap);
    let taken = !read_value(weak, get(h, elem(2 * mp + 1))).is_nil();
    if taken {
        // lua5.4's getfreepos: down from `lastfree` to a never-used node.
        let mut lf = word(tab, T_LASTFREE) as usize;
        let mut free = None;
        while lf > 0 {
            lf -= 1;
            if get(h, elem(2 * lf)).is_nil() {
                free = Some(lf);
                break;
            }
        }
        set_word(tab, T_LASTFREE, lf as u64);
        let Some(f) = free else {
            return false;
        };
        let mkey = get(h, elem(2 * mp));
        let mkey = if weak & WEAK_KEYS != 0 {
            unweak(mkey)
        } else {
            mkey
        };
        // A cleared weak key's main position is unknown: its node stays,
        // as if in its own main position (chains stay whole).
        let othern = if mkey.is_nil() {
            mp
        } else {
            main_position(mkey, cap)
        };
        if othern != mp {
            // The colliding node moves to the free one; its predecessor in
            // its chain is relinked.
            let mut prev = othern;
            loop {
                let nx = node_next(h, cap, prev);
                let to = (prev as isize + nx) as usize;
                if to == mp {
                    break;
                }
                prev = to;
            }
            set_node_next(h, cap, prev, f as isize - prev as isize);
            set(t, h, elem(2 * f), get(h, elem(2 * mp)));
            set(t, h, elem(2 * f + 1), get(h, elem(2 * mp + 1)));
            let mnext = node_next(h, cap, mp);
            if mnext != 0 {
                set_node_next(h, cap, f, mnext + mp as isize - f as isize);
                set_node_next(h, cap, mp, 0);
            } else {
                set_node_next(h, cap, f, 0);
            }
            set(t, h, elem(2 * mp + 1), Value::NIL);
        } else {
            // The new key goes to the free node, chained after `mp`.
            let mnext = node_next(h, cap, mp);
            if mnext != 0 {
                set_node_next(h, cap, f, mp as isize + mnext - f as isize);
            }
            set_node_next(h, cap, mp, f as isize - mp as isize);
            mp = f;
        }
    }
    set(t, h, elem(2 * mp), stored);
    set(t, h, elem(2 * mp + 1), at(t, base + 1));
    true
}

/// A table constructor's positional item `i` (from 1): into the array part
/// as lua5.4's `SETLIST` puts it, growing the part to hold it and leaving
/// nil items as holes (`{1, nil, 3}` has the border 3, as in lua5.4). The
/// table is the constructor's own (no metatable, not weak).
pub fn set_positional(t: &Thread, tab: Value, i: i64, v: Value) -> Result<(), KeyError> {
    let k = Value::small_int(i).expect("a positional index");
    if v.is_nil() {
        return raw_set(t, tab, k, v);
    }
    let base = top(t);
    push(t, tab);
    push(t, v);
    push(t, k);
    let r = (|| -> Result<(), KeyError> {
        let tabo = at(t, base).as_object().expect("a table");
        let cap = array_cap(tabo);
        if i as usize > cap {
            // As SETLIST's resize, geometrically for a long list.
            grow_array(t, base, (i as usize).max(2 * cap))?;
        }
        set_normalized(t, base)
    })();
    roots(t).truncate(base);
    r
}

/// lua5.4's `computesizes`: the optimal array size for integer keys counted
/// by `nums` (`nums[i]`: keys in `2^(i-1) < k <= 2^i`, `nums[0]` the key 1),
/// `total` of them: the largest power of two more than half full, and how
/// many of the keys it holds.
fn optimal_array_size(nums: &[usize; 64], total: usize) -> (usize, usize) {
    let (mut a, mut optimal, mut na) = (0usize, 0usize, 0usize);
    let mut twotoi = 1usize;
    let mut i = 0;
    while i < 63 && total > twotoi / 2 {
        a += nums[i];
        if a > twotoi / 2 {
            optimal = twotoi;
            na = a;
        }
        i += 1;
        twotoi *= 2;
    }
    (optimal, na)
}

/// Grows the array part of the table at `base` to `size` slots (lua5.4's
/// `asize`), moving the integer keys it now covers out of the hash part.
fn grow_array(t: &Thread, base: usize, size: usize) -> Result<(), KeyError> {
    let tab = at(t, base).as_object().expect("a table");
    let (n, old_cap) = (array_len(tab), array_cap(tab));
    let a = new_values(t, size)?;
    let tab = at(t, base).as_object().expect("a table");
    let a = a.as_object().expect("an array");
    if let Some(old) = get(tab, T_ARRAY).as_object() {
        // SAFETY: elements 0..n of both value arrays (the new one holds
        // more), values of the old one.
        unsafe { t.copy_fields(a, elem(0), old, elem(0), n) };
    }
    set(t, tab, T_ARRAY, Value::object(a));
    let tab = at(t, base).as_object().expect("a table");
    let mut len = n;
    if let Some(h) = get(tab, T_HASH).as_object() {
        let weak = weak_bits(tab);
        for s in 0..hsize(tab) {
            let key = get(h, elem(2 * s));
            let Some(i) = key
                .as_small_int()
                .filter(|&i| i as usize > old_cap && i as usize <= size)
            else {
                continue;
            };
            let v = get(h, elem(2 * s + 1));
            if read_value(weak, v).is_nil() {
                continue;
            }
            set(t, a, elem(i as usize - 1), v);
            len = len.max(i as usize);
            // A dead entry: the key stays (chains go on through it) until
            // the hash part is rebuilt.
            set(t, h, elem(2 * s + 1), Value::NIL);
        }
    }
    set_word(tab, T_ARRAY_LEN, len as u64);
    let a = get(tab, T_ARRAY).as_object().expect("an array part");
    set_holes(tab, (0..len).any(|i| get(a, elem(i)).is_nil()));
    Ok(())
}

/// lua5.4's `rehash` and `luaH_resize` for the table at `base` when the key
/// at `base + 2` finds no free node: counts the integer keys (the new one
/// too), sizes the array part with `computesizes` (it may grow or shrink)
/// and the hash part for the rest (the next power of two; none for none),
/// then puts the array part's vanishing slice in the new hash part and
/// reinserts the old hash part's keys in node order (into the array part
/// when they fall in it). The new key is the caller's to store.
fn rehash(t: &Thread, base: usize) -> Result<(), KeyError> {
    let tab = at(t, base).as_object().expect("a table");
    let weak = weak_bits(tab);
    let k = at(t, base + 2);
    let old_asize = array_cap(tab);
    let old_hsize = hsize(tab);
    let mut nums = [0usize; 64];
    let mut ints = 0usize;
    let mut count = |i: i64| {
        if i >= 1 {
            let slot = if i == 1 {
                0
            } else {
                (64 - ((i - 1) as u64).leading_zeros()) as usize
            };
            nums[slot] += 1;
            ints += 1;
        }
    };
    let mut total = 0usize;
    if let Some(a) = get(tab, T_ARRAY).as_object() {
        for i in 0..array_len(tab) {
            if !read_value(weak, get(a, elem(i))).is_nil() {
                count(i as i64 + 1);
                total += 1;
            }
        }
    }
    // An entry is live if its key and value are (through weak references:
    // one the collector cleared is dropped now).
    let live_entry = |h: ObjectReference, s: usize| -> Option<(Value, Value, Value)> {
        let (sk, sv) = (get(h, elem(2 * s)), get(h, elem(2 * s + 1)));
        let key = if weak & WEAK_KEYS != 0 {
            unweak(sk)
        } else {
            sk
        };
        (!key.is_nil() && !read_value(weak, sv).is_nil()).then_some((key, sk, sv))
    };
    let mut any_scattered = false;
    if let Some(h) = get(tab, T_HASH).as_object() {
        for s in 0..old_hsize {
            if let Some((key, _, _)) = live_entry(h, s) {
                if let Some(i) = key.as_small_int() {
                    count(i);
                }
                any_scattered |= scattered(key);
                total += 1;
            }
        }
    }
    if let Some(i) = k.as_small_int() {
        count(i);
    }
    total += 1;
    let (asize, na) = optimal_array_size(&nums, ints);
    let nh = total - na;
    // A key whose position lua5.4 scatters at random (a string by its seeded
    // hash, an object by its address) makes the whole part's order
    // unobservable: such a part gets room to spare (a quarter free, fewer
    // collisions); a part of integers, floats and booleans only gets lua5.4's
    // size, so that its order is lua5.4's.
    let any_scattered = any_scattered || scattered(k);
    let hcap = if nh == 0 {
        0
    } else if any_scattered {
        (nh * 4).div_ceil(3).next_power_of_two()
    } else {
        nh.next_power_of_two()
    };
    // The old parts stay on the stack while the new ones are made.
    let old_array = get(tab, T_ARRAY);
    let old_hash = get(tab, T_HASH);
    let mark = top(t);
    push(t, old_array);
    push(t, old_hash);
    let new_array = if asize > 0 {
        Some(new_values(t, asize)?)
    } else {
        None
    };
    if let Some(a) = new_array {
        push(t, a);
    }
    let new_hash = if hcap > 0 {
        Some(new_values(t, 3 * hcap)?)
    } else {
        None
    };
    let tab = at(t, base).as_object().expect("a table");
    let old_array = at(t, mark).as_object();
    let new_array = new_array.map(|_| at(t, mark + 2));
    set(t, tab, T_ARRAY, new_array.unwrap_or(Value::NIL));
    set(t, tab, T_HASH, new_hash.unwrap_or(Value::NIL));
    set_word(tab, T_HASH_SIZE, hcap as u64);
    set_word(tab, T_LASTFREE, hcap as u64);
    set_word(tab, T_ARRAY_LEN, 0);
    // Nothing allocates from here on: raw objects stay valid.
    let mut len = 0usize;
    let put =
        |t: &Thread, tab: ObjectReference, key: Value, stored: Value, v: Value, len: &mut usize| {
            if let Some(i) = key
                .as_small_int()
                .filter(|&i| i >= 1 && i as usize <= asize)
            {
                let a = get(tab, T_ARRAY).as_object().expect("an array part");
                set(t, a, elem(i as usize - 1), v);
                *len = (*len).max(i as usize);
                return;
            }
            let h = get(tab, T_HASH).as_object().expect("a hash part");
            let b2 = top(t);
            push(t, Value::object(tab));
            push(t, v);
            push(t, key);
            push(t, stored);
            let ok = new_key(t, b2, tab, h, hsize(tab));
            debug_assert!(ok, "a resized hash part has room for its keys");
            roots(t).truncate(b2);
        };
    if let Some(old) = old_array {
        // The array part's slice that stays, then the vanishing one (into
        // the hash part, in order). The slice that stays is copied whole
        // (the new part is fresh: nil where the old one had nil), unless
        // the values are weak (a cleared one must read as nil); a table
        // appended to one element at a time is rehashed at every power of
        // two, and copying element by element made luavm's appends twice
        // lua5.4's time.
        let keep = if weak & WEAK_VALUES == 0 {
            old_asize.min(asize)
        } else {
            0
        };
        if keep > 0 {
            let a = get(tab, T_ARRAY).as_object().expect("an array part");
            // SAFETY: `old` and `a` are live value arrays of at least `keep`
            // elements (`old_asize` and `asize`), and every element of `old`
            // is a value.
            unsafe { t.copy_fields(a, elem(0), old, elem(0), keep) };
            if let Some(last) = (0..keep).rev().find(|&i| !get(a, elem(i)).is_nil()) {
                len = len.max(last + 1);
            }
        }
        for i in keep..old_asize {
            let v = get(old, elem(i));
            if read_value(weak, v).is_nil() {
                continue;
            }
            let key = Value::small_int(i as i64 + 1).expect("an index");
            put(t, tab, key, key, v, &mut len);
        }
    }
    if let Some(h) = at(t, mark + 1).as_object() {
        for s in 0..old_hsize {
            if let Some((key, sk, sv)) = live_entry(h, s) {
                put(t, tab, key, sk, sv, &mut len);
            }
        }
    }
    set_word(tab, T_ARRAY_LEN, len as u64);
    set_scattered(tab, any_scattered);
    if let Some(a) = get(tab, T_ARRAY).as_object() {
        set_holes(
            tab,
            (0..len).any(|i| read_value(weak, get(a, elem(i))).is_nil()),
        );
    } else {
        set_holes(tab, false);
    }
    roots(t).truncate(mark);
    Ok(())
}

/// `#t` without metamethods: a border.
pub fn length(tab: ObjectReference) -> i64 {
    let mut n = array_len(tab);
    if n > 0 && weak_bits(tab) & WEAK_VALUES != 0 {
        // Values the collector cleared read as nil: the border is below them.
        let a = get(tab, T_ARRAY).as_object().expect("an array part");
        while n > 0 && unweak(get(a, elem(n - 1))).is_nil() {
            n -= 1;
        }
    }
    if has_holes(tab) && weak_bits(tab) == 0 {
        // lua5.4's `luaH_getn`: a border searched in the whole array part
        // when its last slot is nil.
        let cap = array_cap(tab);
        let a = get(tab, T_ARRAY).as_object().expect("an array part");
        let nil_at = |i: usize| get(a, elem(i - 1)).is_nil();
        if cap > 0 && nil_at(cap) {
            if cap >= 2 && !nil_at(cap - 1) {
                return cap as i64 - 1;
            }
            let (mut i, mut j) = (0usize, cap);
            while j - i > 1 {
                let m = (i + j) / 2;
                if nil_at(m) {
                    j = m;
                } else {
                    i = m;
                }
            }
            return i as i64;
        }
        n = cap;
        if get(tab, T_HASH).is_nil() || raw_get_int(tab, n as i64 + 1).is_nil() {
            return n as i64;
        }
        return hash_border(tab, n as i64);
    }
    // A border of the array part, unless the key after it waits in the hash
    // part (a constructor's `[3] = v` beside two positional items, keys
    // beyond a full array part): then one further on.
    if n > 0 && (get(tab, T_HASH).is_nil() || raw_get_int(tab, n as i64 + 1).is_nil()) {
        return n as i64;
    }
    hash_border(tab, n as i64)
}

/// A border at or after `j` (0, or a key whose value is not nil), searched
/// as lua5.4's `hash_search` does: doubling until a nil, then halving.
fn hash_border(tab: ObjectReference, j: i64) -> i64 {
    let (mut i, mut j) = (j, j + 1);
    while !raw_get_int(tab, j).is_nil() {
        i = j;
        if j > i64::MAX / 2 {
            // Keys up to the largest integer: a linear search (lua5.4 too).
            let mut k = 1;
            while !raw_get_int(tab, k).is_nil() {
                k += 1;
            }
            return k - 1;
        }
        j *= 2;
    }
    while j - i > 1 {
        let m = i + (j - i) / 2;
        if raw_get_int(tab, m).is_nil() {
            j = m;
        } else {
            i = m;
        }
    }
    i
}

/// `k` is not a key of the table (`next` raises "invalid key to 'next'").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSuchKey;

/// The entry after `k` in traversal order (`next`): `Ok(None)` at the end.
pub fn next(tab: ObjectReference, k: Value) -> Result<Option<(Value, Value)>, NoSuchKey> {
    let n = array_len(tab);
    let weak = weak_bits(tab);
    let a = get(tab, T_ARRAY).as_object();
    // Position to start looking from: array index, then hash slot.
    let mut i = if k.is_nil() {
        0
    } else {
        let ki = k.as_small_int().or_else(|| {
            k.as_float()
                .filter(|x| *x == x.trunc() && x.abs() < 1e15)
                .map(|x| x as i64)
        });
        match ki {
            Some(i) if i >= 1 && (i as usize) <= n => i as usize,
            _ => {
                let key = match ki.and_then(Value::small_int) {
                    Some(v) => v,
                    None => k,
                };
                let found = get(tab, T_HASH)
                    .as_object()
                    .and_then(|h| find_slot(h, hsize(tab), key, || weak & WEAK_KEYS != 0));
                match (found, ki) {
                    (Some(slot), _) => n + slot + 1,
                    // A key of the array part that was assigned nil during
                    // the traversal (the part shrank below it: everything
                    // after it there is nil): go on with the hash part.
                    (None, Some(i)) if i >= 1 && (i as usize) <= array_cap(tab) => n,
                    _ => return Err(NoSuchKey),
                }
            }
        }
    };
    while i < n {
        let v = read_value(weak, get(a.expect("an array part"), elem(i)));
        i += 1;
        if !v.is_nil() {
            return Ok(Some((
                Value::small_int(i as i64).expect("a small index"),
                v,
            )));
        }
    }
    if let Some(h) = get(tab, T_HASH).as_object() {
        let cap = hsize(tab);
        let mut s = i - n;
        while s < cap {
            let mut key = get(h, elem(2 * s));
            if weak & WEAK_KEYS != 0 {
                key = unweak(key);
            }
            let v = read_value(weak, get(h, elem(2 * s + 1)));
            if !key.is_nil() && !v.is_nil() {
                return Ok(Some((key, v)));
            }
            s += 1;
        }
    }
    Ok(None)
}

/// The metatable of a table.
#[inline]
pub fn metatable(tab: ObjectReference) -> Option<ObjectReference> {
    as_table(get(tab, T_META))
}

/// Sets the metatable of a table (`mt` nil or a table) without
/// `setmetatable`'s checks; an inline cache that followed the old one is made
/// stale ([`IC_EPOCH`]).
pub fn set_metatable(t: &Thread, tab: ObjectReference, mt: Value) {
    if heap::is_proto(tab) {
        invalidate_caches();
    }
    set(t, tab, T_META, mt);
}

/// Makes `tab` weak (`bits`: [`WEAK_KEYS`], [`WEAK_VALUES`]) as a metatable
/// with `__mode` is set: the entries it holds are turned into weak
/// references. The table stays weak (lua5.4 would read `__mode` again at
/// every collection).
pub fn make_weak(t: &Thread, tab: Value, bits: u32) -> Result<(), NoMemory> {
    let Some(o) = as_table(tab) else {
        return Ok(());
    };
    let old = weak_bits(o);
    let new = bits & !old;
    if new == 0 {
        return Ok(());
    }
    add_weak_bits(o, new);
    let base = top(t);
    push(t, tab);
    let r = (|| {
        let o = at(t, base).as_object().expect("a table");
        for i in 0..array_len(o) {
            let o = at(t, base).as_object().expect("a table");
            let a = get(o, T_ARRAY).as_object().expect("an array part");
            let v = weak_wrap(t, new, WEAK_VALUES, unweak(get(a, elem(i))))?;
            let o = at(t, base).as_object().expect("a table");
            let a = get(o, T_ARRAY).as_object().expect("an array part");
            set(t, a, elem(i), v);
        }
        let cap = hsize(o);
        for s in 0..cap {
            for (bit, off) in [(WEAK_KEYS, 0), (WEAK_VALUES, 1)] {
                let o = at(t, base).as_object().expect("a table");
                let h = get(o, T_HASH).as_object().expect("a hash part");
                let x = get(h, elem(2 * s + off));
                if weak_target(x).is_some() {
                    continue;
                }
                let w = weak_wrap(t, new, bit, x)?;
                let o = at(t, base).as_object().expect("a table");
                let h = get(o, T_HASH).as_object().expect("a hash part");
                set(t, h, elem(2 * s + off), w);
            }
        }
        Ok(())
    })();
    roots(t).truncate(base);
    r
}
