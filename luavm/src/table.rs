//! Tables: an array part for the keys `1..n` and a hash part (open addressing,
//! linear probing) for the rest. Float keys with an integer value are stored
//! as integers; a key assigned nil stays in the hash part, dead, until the next
//! rehash (so `next` can go on from it during a traversal).

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

/// The slot index of `k` in the hash part `h` (capacity `cap` pairs), or where
/// it would go. Where `weak_keys()` (asked only past an identical key),
/// stored keys may be weak references (a cleared one matches no key).
#[inline]
fn find_slot(h: ObjectReference, k: Value, weak_keys: impl Fn() -> bool) -> (usize, bool) {
    let cap = heap::len(h) / 2;
    let mask = cap - 1;
    let mut i = key_hash(k) as usize & mask;
    loop {
        let mut key = get(h, elem(2 * i));
        if key.is_nil() {
            return (i, false);
        }
        if key == k {
            return (i, true);
        }
        if key.as_object().is_some() && weak_keys() {
            if let Some(target) = weak_target(key) {
                if target.is_nil() {
                    i = (i + 1) & mask;
                    continue;
                }
                key = target;
                if key == k {
                    return (i, true);
                }
            }
        }
        let same = match (as_str(key), as_str(k)) {
            // Two strings: their cached hashes first, then the bytes.
            (Some(a), Some(b)) => str_hash(a) == str_hash(b) && str_bytes(a) == str_bytes(b),
            (Some(_), None) | (None, Some(_)) => false,
            _ => raw_equal(key, k),
        };
        if same {
            return (i, true);
        }
        i = (i + 1) & mask;
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
    match find_slot(h, k, || weak_bits(tab) & WEAK_KEYS != 0) {
        (i, true) => read_in(tab, get(h, elem(2 * i + 1))),
        _ => Value::NIL,
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
    if let (i, true) = find_slot(h, k, || false) {
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
    match find_slot(h, k, || false) {
        (i, true) => Some(h.to_raw_address().as_usize() + elem(2 * i + 1)),
        _ => None,
    }
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
            let cap = heap::len(h) / 2;
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
    let cap = heap::len(h) / 2;
    let mask = cap - 1;
    let x = heap::bytes_hash(name);
    let mut i = x as usize & mask;
    loop {
        let key = get(h, elem(2 * i));
        if key.is_nil() {
            return Value::NIL;
        }
        if let Some(s) = as_str(key) {
            if str_hash(s) == x && str_bytes(s) == name {
                return read_in(tab, get(h, elem(2 * i + 1)));
            }
        }
        i = (i + 1) & mask;
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
        let n = array_len(tab);
        if i >= 1 && (i as usize) <= n {
            let a = get(tab, T_ARRAY).as_object().expect("an array part");
            set(t, a, elem(i as usize - 1), v);
            if v.is_nil() && i as usize == n {
                // Trailing nils leave the array part.
                let mut m = n - 1;
                while m > 0 && get(a, elem(m - 1)).is_nil() {
                    m -= 1;
                }
                set_word(tab, T_ARRAY_LEN, m as u64);
            }
            return Ok(());
        }
        if i as usize == n + 1 && !v.is_nil() {
            return append(t, base, n);
        }
    }
    hash_set(t, base)
}

/// Appends `v` as element `n + 1`, growing the array part, then moves the
/// keys `n + 2, ...` that wait in the hash part over.
fn append(t: &Thread, base: usize, n: usize) -> Result<(), KeyError> {
    let tab = at(t, base).as_object().expect("a table");
    if n == array_cap(tab) {
        let a = new_values(t, (n * 2).max(4))?;
        let tab = at(t, base).as_object().expect("a table");
        let a = a.as_object().expect("an array");
        if let Some(old) = get(tab, T_ARRAY).as_object() {
            // SAFETY: elements 0..n of both value arrays (the new one holds
            // 2n), values of the old one.
            unsafe { t.copy_fields(a, elem(0), old, elem(0), n) };
        }
        set(t, tab, T_ARRAY, Value::object(a));
    }
    let tab = at(t, base).as_object().expect("a table");
    let a = get(tab, T_ARRAY).as_object().expect("an array part");
    set(t, a, elem(n), at(t, base + 1));
    let mut n = n + 1;
    set_word(tab, T_ARRAY_LEN, n as u64);
    // Migrate the following keys from the hash part.
    loop {
        let tab = at(t, base).as_object().expect("a table");
        let Some(h) = get(tab, T_HASH).as_object() else {
            break;
        };
        let Some(k) = Value::small_int(n as i64 + 1) else {
            break;
        };
        let (slot, found) = find_slot(h, k, || weak_bits(tab) & WEAK_KEYS != 0);
        if !found || get(h, elem(2 * slot + 1)).is_nil() {
            break;
        }
        if n == array_cap(tab) {
            // The array part is full: it doubles (as lua5.4's next rehash
            // would take these keys into it); then the search again (the
            // allocation may have moved the objects).
            let grown = new_values(t, n * 2)?;
            let grown = grown.as_object().expect("an array");
            let tab = at(t, base).as_object().expect("a table");
            let old = get(tab, T_ARRAY).as_object().expect("an array part");
            // SAFETY: elements 0..n of both value arrays (the new one holds
            // 2n), values of the old one.
            unsafe { t.copy_fields(grown, elem(0), old, elem(0), n) };
            set(t, tab, T_ARRAY, Value::object(grown));
            continue;
        }
        let v = get(h, elem(2 * slot + 1));
        set(t, h, elem(2 * slot + 1), Value::NIL);
        let a = get(tab, T_ARRAY).as_object().expect("an array part");
        set(t, a, elem(n), v);
        n += 1;
        set_word(tab, T_ARRAY_LEN, n as u64);
    }
    Ok(())
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
    if let Some(h) = get(tab, T_HASH).as_object() {
        let (slot, found) = find_slot(h, k, || weak_bits(tab) & WEAK_KEYS != 0);
        if found {
            set(t, h, elem(2 * slot + 1), v);
            return Ok(());
        }
        if v.is_nil() {
            return Ok(());
        }
        let used = word(tab, T_HASH_USED) as usize;
        if weak_bits(tab) == 0 && used.is_power_of_two() && top(t) <= base + 3 {
            // Where lua5.4's node part (sized to a power of two) would be
            // full: its rehash would size the array part again.
            if let Some(r) = array_takes(t, base)? {
                return Ok(r);
            }
        }
        let tab = at(t, base).as_object().expect("a table");
        let h = get(tab, T_HASH).as_object().expect("a hash part");
        let (slot, _) = find_slot(h, k, || weak_bits(tab) & WEAK_KEYS != 0);
        let cap = heap::len(h) / 2;
        if (used + 1) * 4 <= cap * 3 {
            let stored = if top(t) > base + 3 {
                at(t, base + 3)
            } else {
                k
            };
            set(t, h, elem(2 * slot), stored);
            set(t, h, elem(2 * slot + 1), v);
            set_word(tab, T_HASH_USED, used as u64 + 1);
            return Ok(());
        }
    } else if v.is_nil() {
        return Ok(());
    }
    if weak_bits(at(t, base).as_object().expect("a table")) == 0 {
        if let Some(r) = array_takes(t, base)? {
            return Ok(r);
        }
    }
    rehash(t, base)?;
    hash_set(t, base)
}

/// lua5.4 sizes the array part at each rehash: integer keys dense enough
/// move there, and the key being set (`[tab, v, k]` at `base`) goes there
/// if it falls in it (`Some`).
fn array_takes(t: &Thread, base: usize) -> Result<Option<()>, KeyError> {
    let k = at(t, base + 2);
    let optimal = resize_array(t, base)?;
    let Some(i) = k
        .as_small_int()
        .filter(|&i| i >= 1 && i as usize <= optimal)
    else {
        return Ok(None);
    };
    let tab = at(t, base).as_object().expect("a table");
    let a = get(tab, T_ARRAY).as_object().expect("an array part");
    set(t, a, elem(i as usize - 1), at(t, base + 1));
    if i as usize > array_len(tab) {
        set_word(tab, T_ARRAY_LEN, i as u64);
    }
    Ok(Some(()))
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
        let n = array_len(tabo);
        if i as usize <= n + 1 {
            return set_normalized(t, base);
        }
        if i as usize > array_cap(tabo) {
            let a = new_values(t, i as usize)?;
            let tabo = at(t, base).as_object().expect("a table");
            let a = a.as_object().expect("an array");
            if let Some(old) = get(tabo, T_ARRAY).as_object() {
                // SAFETY: elements 0..n of both value arrays (the new one
                // holds i > n), values of the old one.
                unsafe { t.copy_fields(a, elem(0), old, elem(0), n) };
            }
            set(t, tabo, T_ARRAY, Value::object(a));
        }
        let tabo = at(t, base).as_object().expect("a table");
        // A keyed item `[i] = x` before it is replaced: out of the hash part.
        if let Some(h) = get(tabo, T_HASH).as_object() {
            if let (slot, true) = find_slot(h, k, || false) {
                set(t, h, elem(2 * slot + 1), Value::NIL);
            }
        }
        let a = get(tabo, T_ARRAY).as_object().expect("an array part");
        set(t, a, elem(i as usize - 1), at(t, base + 1));
        set_word(tabo, T_ARRAY_LEN, i as u64);
        Ok(())
    })();
    roots(t).truncate(base);
    r
}

/// lua5.4's `computesizes`: the optimal array size for integer keys counted
/// by `nums` (`nums[i]`: keys in `2^(i-1) < k <= 2^i`, `nums[0]` the key 1),
/// `total` of them: the largest power of two more than half full.
fn optimal_array_size(nums: &[usize; 64], total: usize) -> usize {
    let (mut a, mut optimal) = (0usize, 0usize);
    let mut twotoi = 1usize;
    let mut i = 0;
    while i < 63 && total > twotoi / 2 {
        a += nums[i];
        if a > twotoi / 2 {
            optimal = twotoi;
        }
        i += 1;
        twotoi *= 2;
    }
    optimal
}

/// Grows the array part of the table at `base` (setting `[tab, v, k]`) to
/// lua5.4's optimal size for its integer keys and the one being set, moving
/// the keys it then covers out of the hash part; returns that size (0 when
/// the array part stays as it is).
fn resize_array(t: &Thread, base: usize) -> Result<usize, KeyError> {
    let tab = at(t, base).as_object().expect("a table");
    let k = at(t, base + 2);
    let n = array_len(tab);
    let mut nums = [0usize; 64];
    let mut total = 0usize;
    let mut count = |i: i64| {
        if i >= 1 {
            let slot = if i == 1 {
                0
            } else {
                (64 - ((i - 1) as u64).leading_zeros()) as usize
            };
            nums[slot] += 1;
            total += 1;
        }
    };
    if let Some(a) = get(tab, T_ARRAY).as_object() {
        for i in 0..n {
            if !get(a, elem(i)).is_nil() {
                count(i as i64 + 1);
            }
        }
    }
    let h = get(tab, T_HASH).as_object();
    if let Some(h) = h {
        for s in 0..heap::len(h) / 2 {
            let key = get(h, elem(2 * s));
            if let Some(i) = key.as_small_int() {
                if !get(h, elem(2 * s + 1)).is_nil() {
                    count(i);
                }
            }
        }
    }
    if let Some(i) = k.as_small_int() {
        count(i);
    }
    let optimal = optimal_array_size(&nums, total);
    if optimal <= n {
        return Ok(0);
    }
    if optimal > array_cap(tab) {
        let a = new_values(t, optimal)?;
        let tab = at(t, base).as_object().expect("a table");
        let a = a.as_object().expect("an array");
        if let Some(old) = get(tab, T_ARRAY).as_object() {
            // SAFETY: elements 0..n of both value arrays (the new one holds
            // more), values of the old one.
            unsafe { t.copy_fields(a, elem(0), old, elem(0), n) };
        }
        set(t, tab, T_ARRAY, Value::object(a));
    }
    let tab = at(t, base).as_object().expect("a table");
    let a = get(tab, T_ARRAY).as_object().expect("an array part");
    let mut len = n;
    if let Some(h) = get(tab, T_HASH).as_object() {
        let mut moved = 0u64;
        for s in 0..heap::len(h) / 2 {
            let key = get(h, elem(2 * s));
            let Some(i) = key
                .as_small_int()
                .filter(|&i| i as usize > n && i as usize <= optimal)
            else {
                continue;
            };
            let v = get(h, elem(2 * s + 1));
            if v.is_nil() {
                continue;
            }
            set(t, a, elem(i as usize - 1), v);
            len = len.max(i as usize);
            // A dead entry: the key stays (probe chains go on through it)
            // until the hash part is rebuilt.
            set(t, h, elem(2 * s + 1), Value::NIL);
            moved += 1;
        }
        let _ = moved;
    }
    set_word(tab, T_ARRAY_LEN, len as u64);
    Ok(optimal)
}

/// Rebuilds the hash part with room for twice its live keys (dead ones
/// dropped).
fn rehash(t: &Thread, base: usize) -> Result<(), KeyError> {
    let tab = at(t, base).as_object().expect("a table");
    let weak = weak_bits(tab);
    // An entry is live if its key and value are (through weak references:
    // one the collector cleared is dropped now).
    let live_entry = |h: ObjectReference, s: usize| -> Option<(Value, Value, Value)> {
        let (sk, sv) = (get(h, elem(2 * s)), get(h, elem(2 * s + 1)));
        let k = if weak & WEAK_KEYS != 0 {
            unweak(sk)
        } else {
            sk
        };
        let v = read_value(weak, sv);
        (!k.is_nil() && !v.is_nil()).then_some((k, sk, sv))
    };
    let (live, old_cap) = match get(tab, T_HASH).as_object() {
        Some(h) => {
            let cap = heap::len(h) / 2;
            let live = (0..cap).filter(|&s| live_entry(h, s).is_some()).count();
            (live, cap)
        }
        None => (0, 0),
    };
    let cap = ((live + 1) * 2).next_power_of_two().max(4);
    let _ = old_cap;
    let fresh = new_values(t, 2 * cap)?;
    let tab = at(t, base).as_object().expect("a table");
    let fresh = fresh.as_object().expect("an array");
    let mut used = 0;
    if let Some(h) = get(tab, T_HASH).as_object() {
        for s in 0..heap::len(h) / 2 {
            let Some((k, sk, sv)) = live_entry(h, s) else {
                continue;
            };
            let (slot, _) = find_slot(fresh, k, || weak & WEAK_KEYS != 0);
            set(t, fresh, elem(2 * slot), sk);
            set(t, fresh, elem(2 * slot + 1), sv);
            used += 1;
        }
    }
    set(t, tab, T_HASH, Value::object(fresh));
    set_word(tab, T_HASH_USED, used);
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
                    .map(|h| find_slot(h, key, || weak & WEAK_KEYS != 0))
                    .filter(|(_, found)| *found);
                match (found, ki) {
                    (Some((slot, _)), _) => n + slot + 1,
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
        let cap = heap::len(h) / 2;
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
        let cap = get(o, T_HASH).as_object().map_or(0, |h| heap::len(h) / 2);
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
