//! Tables: an array part for the keys `1..n` and a hash part (open addressing,
//! linear probing) for the rest. Float keys with an integer value are stored
//! as integers; a key assigned nil stays in the hash part, dead, until the next
//! rehash (so `next` can go on from it during a traversal).

use crate::heap::TWO63_F;
use crate::heap::{self, *};
use crate::value::Value;
use vmkit::{ObjectReference, Thread};

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
/// it would go.
fn find_slot(h: ObjectReference, k: Value) -> (usize, bool) {
    let cap = heap::len(h) / 2;
    let mask = cap - 1;
    let mut i = key_hash(k) as usize & mask;
    loop {
        let key = get(h, elem(2 * i));
        if key.is_nil() {
            return (i, false);
        }
        if key == k {
            return (i, true);
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
    match find_slot(h, k) {
        (i, true) => get(h, elem(2 * i + 1)),
        _ => Value::NIL,
    }
}

/// `t[i]` without metamethods.
#[inline]
pub fn raw_get_int(tab: ObjectReference, i: i64) -> Value {
    if i >= 1 && (i as usize) <= array_len(tab) {
        let a = get(tab, T_ARRAY).as_object().expect("an array part");
        return get(a, elem(i as usize - 1));
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
                    return get(h, elem(2 * s + 1));
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
    let mut x: u32 = 0x811c_9dc5;
    for &b in name {
        x = (x ^ b as u32).wrapping_mul(0x0100_0193);
    }
    let mut i = (x | 1) as usize & mask;
    loop {
        let key = get(h, elem(2 * i));
        if key.is_nil() {
            return Value::NIL;
        }
        if let Some(s) = as_str(key) {
            if str_hash(s) == x | 1 && str_bytes(s) == name {
                return get(h, elem(2 * i + 1));
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
        set_normalized(t, base)
    })();
    roots(t).truncate(base);
    r
}

/// The set with `[tab, v, k]` at `base` on the root stack.
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
            for i in 0..n {
                set(t, a, elem(i), get(old, elem(i)));
            }
        }
        set(t, tab, T_ARRAY, Value::object(a));
    }
    let tab = at(t, base).as_object().expect("a table");
    let a = get(tab, T_ARRAY).as_object().expect("an array part");
    set(t, a, elem(n), at(t, base + 1));
    let mut n = n + 1;
    set_word(tab, T_ARRAY_LEN, n as u64);
    // Migrate the following keys from the hash part.
    if let Some(h) = get(tab, T_HASH).as_object() {
        while let Some(k) = Value::small_int(n as i64 + 1) {
            let (slot, found) = find_slot(h, k);
            if !found {
                break;
            }
            let v = get(h, elem(2 * slot + 1));
            if v.is_nil() {
                break;
            }
            set(t, h, elem(2 * slot + 1), Value::NIL);
            if n == array_cap(tab) {
                // Leave the rest where it is: the array part is full.
                set(t, h, elem(2 * slot + 1), v);
                break;
            }
            let a = get(tab, T_ARRAY).as_object().expect("an array part");
            set(t, a, elem(n), v);
            n += 1;
            set_word(tab, T_ARRAY_LEN, n as u64);
        }
    }
    Ok(())
}

fn hash_set(t: &Thread, base: usize) -> Result<(), KeyError> {
    let tab = at(t, base).as_object().expect("a table");
    let k = at(t, base + 2);
    let v = at(t, base + 1);
    if let Some(h) = get(tab, T_HASH).as_object() {
        let (slot, found) = find_slot(h, k);
        if found {
            set(t, h, elem(2 * slot + 1), v);
            return Ok(());
        }
        if v.is_nil() {
            return Ok(());
        }
        let cap = heap::len(h) / 2;
        let used = word(tab, T_HASH_USED) as usize;
        if (used + 1) * 4 <= cap * 3 {
            set(t, h, elem(2 * slot), k);
            set(t, h, elem(2 * slot + 1), v);
            set_word(tab, T_HASH_USED, used as u64 + 1);
            return Ok(());
        }
    } else if v.is_nil() {
        return Ok(());
    }
    rehash(t, base)?;
    hash_set(t, base)
}

/// Rebuilds the hash part with room for twice its live keys (dead ones
/// dropped).
fn rehash(t: &Thread, base: usize) -> Result<(), KeyError> {
    let tab = at(t, base).as_object().expect("a table");
    let (live, old_cap) = match get(tab, T_HASH).as_object() {
        Some(h) => {
            let cap = heap::len(h) / 2;
            let live = (0..cap)
                .filter(|&s| !get(h, elem(2 * s)).is_nil() && !get(h, elem(2 * s + 1)).is_nil())
                .count();
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
            let k = get(h, elem(2 * s));
            let v = get(h, elem(2 * s + 1));
            if k.is_nil() || v.is_nil() {
                continue;
            }
            let (slot, _) = find_slot(fresh, k);
            set(t, fresh, elem(2 * slot), k);
            set(t, fresh, elem(2 * slot + 1), v);
            used += 1;
        }
    }
    set(t, tab, T_HASH, Value::object(fresh));
    set_word(tab, T_HASH_USED, used);
    Ok(())
}

/// `#t` without metamethods: a border.
pub fn length(tab: ObjectReference) -> i64 {
    let n = array_len(tab);
    if n > 0 {
        return n as i64;
    }
    // Only a hash part: probe 1, 2, ... (tables built by t[#t+1] = v always
    // have an array part; this is the rare case).
    let mut i = 0i64;
    while !raw_get_int(tab, i + 1).is_nil() {
        i += 1;
    }
    i
}

/// `k` is not a key of the table (`next` raises "invalid key to 'next'").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSuchKey;

/// The entry after `k` in traversal order (`next`): `Ok(None)` at the end.
pub fn next(tab: ObjectReference, k: Value) -> Result<Option<(Value, Value)>, NoSuchKey> {
    let n = array_len(tab);
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
                let Some(h) = get(tab, T_HASH).as_object() else {
                    return Err(NoSuchKey);
                };
                let key = match ki.and_then(Value::small_int) {
                    Some(v) => v,
                    None => k,
                };
                let (slot, found) = find_slot(h, key);
                if !found {
                    return Err(NoSuchKey);
                }
                n + slot + 1
            }
        }
    };
    while i < n {
        let v = get(a.expect("an array part"), elem(i));
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
            let key = get(h, elem(2 * s));
            let v = get(h, elem(2 * s + 1));
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
