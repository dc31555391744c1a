//! Toy's built-in functions and the runtime operations of the language, each
//! implemented once for both engines.
//!
//! Every function takes the calling thread and value words (`u64` for ints,
//! bools and references, `f64` for floats) and returns its result or the
//! [`RuntimeError`] to throw. The interpreter calls them with the words it pops;
//! the JIT's hosts are `extern "C"` wrappers around them. A function that
//! allocates keeps the references it still needs in handles, so its callers
//! need not root its arguments. Where the JIT compiles a builtin to inline
//! code (`sqrt`, `abs`, `min`, `len`, `byte`, ...), these functions are the
//! interpreter's, and the inline code's error paths raise the errors of
//! [`super::errors`].

use super::errors::{self, RuntimeError};
use super::format::fmt_fixed;
use super::monitor;
use super::object::{self as tobj, oref, rword, Dest, ElemKind};
use super::print::write_word;
use super::program::shared;
use super::threads::{self, Outcome};
use crate::engine::Engine;
use crate::runtime::object::{array_len, read_word};
use vmkit::{ObjectReference, Thread};

/// What a runtime function returns.
pub type R<T> = Result<T, RuntimeError>;

fn new_str(t: &Thread, bytes: &[u8]) -> R<u64> {
    Ok(rword(tobj::new_str(t, bytes)?))
}

/// The text `print` writes for a value of kind `k` (without the newline).
fn text(k: ElemKind, w: u64) -> Vec<u8> {
    let mut out = Vec::new();
    write_word(&mut out, k, w, false);
    out
}

/// `print(v)` (`nl`) or `write(v)` of a value of kind `k`.
pub fn print(t: &Thread, k: ElemKind, w: u64, nl: bool) {
    let mut out = text(k, w);
    if nl {
        out.push(b'\n');
    }
    threads::out(t, &out);
}

/// `print(c)` (`nl`) or `write(c)` of string constant `k`: its bytes, written
/// with no string object (so it never needs the heap).
pub fn print_literal(t: &Thread, k: usize, nl: bool) {
    threads::out_line(t, &shared().literals[k], nl)
}

/// `str(v)` of a value of kind `k`.
pub fn to_str(t: &Thread, k: ElemKind, w: u64) -> R<u64> {
    if k == ElemKind::Int {
        let mut buf = [0u8; 20];
        return new_str(t, int_text(w as i64, &mut buf));
    }
    new_str(t, &text(k, w))
}

/// The decimal text of `v`, written at the end of `buf` (20 bytes hold
/// `i64::MIN`): the bytes `print` writes for an int, without `format!`.
pub fn int_text(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// `fmt(x, d)`.
pub fn fmt(t: &Thread, x: f64, d: i64) -> R<u64> {
    new_str(t, fmt_fixed(x, d)?.as_bytes())
}

/// String constant `k`, allocated on its first use.
pub fn literal(t: &Thread, k: usize) -> R<u64> {
    Ok(shared().constant(t, k)?)
}

/// `len(s)` of a string or array.
pub fn len(w: u64) -> R<i64> {
    match oref(w) {
        Some(o) => Ok(array_len(o) as i64),
        None => Err(errors::null_len()),
    }
}

/// `float(v)`.
pub fn to_float(v: i64) -> f64 {
    v as f64
}

/// `int(x)`: truncation toward zero; `None` for NaN or out of range.
pub fn float_to_int(x: f64) -> Option<i64> {
    if x.is_nan() || !(-9223372036854775808.0..9223372036854775808.0).contains(&x) {
        None
    } else {
        Some(x.trunc() as i64)
    }
}

/// `int(x)`.
pub fn to_int(x: f64) -> R<i64> {
    float_to_int(x).ok_or_else(|| errors::cannot_convert_to_int(x))
}

/// `sqrt(x)`.
pub fn sqrt(x: f64) -> f64 {
    x.sqrt()
}

/// `abs(v)` of an int (wrapping: `abs` of the most negative int is itself).
pub fn abs_int(v: i64) -> i64 {
    v.wrapping_abs()
}

/// `abs(x)` of a float.
pub fn abs_float(x: f64) -> f64 {
    x.abs()
}

/// `floor(x)`.
pub fn floor(x: f64) -> f64 {
    x.floor()
}

/// `min(a, b)` of ints.
pub fn min_int(a: i64, b: i64) -> i64 {
    a.min(b)
}

/// `max(a, b)` of ints.
pub fn max_int(a: i64, b: i64) -> i64 {
    a.max(b)
}

/// `min` on floats as C's `fmin`-like: NaN-propagating like `a < b ? a : b`.
pub fn min_float(a: f64, b: f64) -> f64 {
    if a < b || a.is_nan() {
        a
    } else {
        b
    }
}

/// `max` on floats.
pub fn max_float(a: f64, b: f64) -> f64 {
    if a > b || a.is_nan() {
        a
    } else {
        b
    }
}

/// `byte(s, i)`: byte `i` of string `s`.
pub fn byte(s: u64, i: i64) -> R<i64> {
    let Some(so) = oref(s) else {
        return Err(errors::null_byte());
    };
    let n = tobj::str_len(so);
    if i < 0 || i as u64 >= n as u64 {
        return Err(errors::index_out_of_bounds(i, n as i64));
    }
    Ok(tobj::str_bytes(so)[i as usize] as i64)
}

/// `chr(v)`: the one-byte string of byte `v`.
pub fn chr(t: &Thread, v: i64) -> R<u64> {
    if !(0..=255).contains(&v) {
        return Err(errors::byte_out_of_range(v));
    }
    new_str(t, &[v as u8])
}

/// `substr(s, from, to)`: bytes `from..to` of `s`.
pub fn substr(t: &Thread, s: u64, from: i64, to: i64) -> R<u64> {
    let Some(so) = oref(s) else {
        return Err(errors::null_substr());
    };
    let n = array_len(so) as i64;
    if from < 0 || to > n || from > to {
        return Err(errors::substring_out_of_bounds(from, to, n));
    }
    let len = (to - from) as usize;
    if let Some(r) = t.try_alloc_array_without_gc(&tobj::STR, len) {
        tobj::copy_str_bytes(so, from as usize, Dest::Flat(r), 0, len);
        return Ok(rword(r));
    }
    let s = t.scope();
    let hs = s.handle(Some(so));
    let r = t.alloc_array(&tobj::STR, len)?;
    tobj::copy_str_bytes(hs.obj(), from as usize, Dest::Flat(r), 0, len);
    Ok(rword(r))
}

/// The value of decimal text: an optional sign and decimal digits, in range.
pub fn parse_decimal(b: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(b).ok()?;
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// `parse_int(s)`.
pub fn parse_int(s: u64) -> R<i64> {
    let Some(so) = oref(s) else {
        return Err(errors::null_parse_int());
    };
    let bytes = tobj::str_bytes(so);
    parse_decimal(bytes).ok_or_else(|| errors::invalid_integer(bytes))
}

/// `args()`: a new array of the program's command-line arguments.
pub fn args(t: &Thread) -> R<u64> {
    let args = &shared().args;
    let s = t.scope();
    let arr = s.handle(Some(t.alloc_array(&tobj::ARR_STR, args.len())?));
    for (i, a) in args.iter().enumerate() {
        let so = tobj::new_str(t, a.as_bytes())?;
        tobj::write_ref(t, arr.obj(), tobj::elem_offset(i), Some(so));
    }
    Ok(rword(arr.obj()))
}

/// `clock()`: monotonic seconds since the program started.
pub fn clock() -> f64 {
    super::clock()
}

/// `write_bytes(path, data)`: writes the low byte of each element of `data`
/// to the file `path`; the number of bytes written.
pub fn write_bytes(t: &Thread, p: u64, d: u64) -> R<i64> {
    let (Some(po), Some(dobj)) = (oref(p), oref(d)) else {
        return Err(errors::null_write_bytes());
    };
    let (path, shown) = super::file_path(tobj::str_bytes(po));
    let data: Vec<u8> = (0..array_len(dobj))
        .map(|i| read_word(dobj, tobj::elem_offset(i)) as u8)
        .collect();
    match t.native(|| std::fs::write(&path, &data)) {
        Ok(()) => Ok(data.len() as i64),
        Err(err) => Err(errors::cannot_write(&shown, &err)),
    }
}

/// `join(th)`: waits for thread `th`; its result, or its death rethrown here.
pub fn join(t: &Thread, th: u64) -> R<i64> {
    let Some(tho) = oref(th) else {
        return Err(errors::null_join());
    };
    let ix = read_word(tho, tobj::field_offset(0));
    match t.native(|| threads::join(ix)) {
        Outcome::Value(v) => Ok(v),
        Outcome::Died(msg, _) => Err(RuntimeError::Message(msg)),
    }
}

/// `gc()`: a full collection.
pub fn gc(t: &Thread) {
    t.collect()
}

/// `a + b` of strings: a new string.
pub fn concat(t: &Thread, a: u64, b: u64) -> R<u64> {
    let (Some(ao), Some(bo)) = (oref(a), oref(b)) else {
        return Err(errors::null_concat());
    };
    let (la, lb) = (tobj::str_len(ao), tobj::str_len(bo));
    if la + lb >= tobj::BUILD_MIN {
        return concat_built(t, ao, bo, la, lb);
    }
    // Without a collection (the usual case) the operands stay where they are:
    // no handles needed.
    if let Some(r) = t.try_alloc_array_without_gc(&tobj::STR, la + lb) {
        tobj::copy_str_bytes(ao, 0, Dest::Flat(r), 0, la);
        tobj::copy_str_bytes(bo, 0, Dest::Flat(r), la, lb);
        return Ok(rword(r));
    }
    let s = t.scope();
    let ha = s.handle(Some(ao));
    let hb = s.handle(Some(bo));
    let r = t.alloc_array(&tobj::STR, la + lb)?;
    tobj::copy_str_bytes(ha.obj(), 0, Dest::Flat(r), 0, la);
    tobj::copy_str_bytes(hb.obj(), 0, Dest::Flat(r), la, lb);
    Ok(rword(r))
}

/// Whether `a` (of length `la`) is a built string that `lb` more bytes can
/// be appended to in place: nothing is claimed past it in its buffer and
/// the buffer has room. (The claim itself is made later: see
/// [`tobj::buf_claim`].)
fn appendable(a: ObjectReference, la: usize, lb: usize) -> bool {
    if !tobj::is_built(a) {
        return false;
    }
    let buf = tobj::slice_buf(a);
    tobj::buf_used_len(buf) == la && tobj::buf_capacity(buf) - la >= lb
}

/// `a + b` as a built string (see [`tobj::STR_SLICE`]): `b` appended in
/// place to `a`'s buffer when `a` ends it and it has room, else both copied
/// into a new buffer with room to grow.
fn concat_built(
    t: &Thread,
    ao: ObjectReference,
    bo: ObjectReference,
    la: usize,
    lb: usize,
) -> R<u64> {
    let n = la + lb;
    let in_place = appendable(ao, la, lb);
    // The buffer to make, if any: twice the result when `a` was being
    // appended to (repeated `+=`), a quarter more otherwise.
    let cap = if in_place {
        None
    } else if tobj::is_built(ao) && tobj::buf_used_len(tobj::slice_buf(ao)) == la {
        Some(n.saturating_mul(2))
    } else {
        Some(n.saturating_add(n / 4))
    };
    // Allocate the slice (and the buffer), keeping `a` and `b` up to date if
    // an allocation collects.
    let fast = match cap {
        None => t
            .try_alloc_without_gc(&tobj::STR_SLICE, tobj::SLICE_SIZE)
            .map(|r| (r, None)),
        Some(c) => t
            .try_alloc_without_gc(&tobj::STR_SLICE, tobj::SLICE_SIZE)
            .and_then(|r| {
                t.try_alloc_array_without_gc(&tobj::STR_BUF, c + 8)
                    .map(|buf| (r, Some(buf)))
            }),
    };
    let scope = t.scope();
    let (r, new_buf, ao, bo) = match fast {
        Some((r, buf)) => (r, buf, ao, bo),
        None => {
            let ha = scope.handle(Some(ao));
            let hb = scope.handle(Some(bo));
            let hr = scope.handle(Some(t.alloc(&tobj::STR_SLICE, tobj::SLICE_SIZE)?));
            let buf = match cap {
                Some(c) => Some(t.alloc_array(&tobj::STR_BUF, c.saturating_add(8))?),
                None => None,
            };
            (hr.obj(), buf, ha.obj(), hb.obj())
        }
    };
    // No safepoint from here on: the references stay valid.
    let buf = match new_buf {
        Some(buf) => {
            tobj::copy_str_bytes(ao, 0, Dest::Buf(buf), 0, la);
            tobj::copy_str_bytes(bo, 0, Dest::Buf(buf), la, lb);
            tobj::write_word(buf, tobj::BUF_USED_OFFSET, n);
            buf
        }
        None => {
            let buf = tobj::slice_buf(ao);
            if tobj::buf_claim(buf, la, n) {
                tobj::copy_str_bytes(bo, 0, Dest::Buf(buf), la, lb);
                buf
            } else {
                // Another thread appended to `a` since the test: copy.
                drop(scope);
                return concat_copy(t, ao, bo, la, lb);
            }
        }
    };
    tobj::write_word(r, tobj::field_offset(0), n);
    tobj::write_ref(t, r, tobj::SLICE_BUF_OFFSET, Some(buf));
    Ok(rword(r))
}

/// `a + b` into a new buffer (after a lost race to append in place).
fn concat_copy(
    t: &Thread,
    ao: ObjectReference,
    bo: ObjectReference,
    la: usize,
    lb: usize,
) -> R<u64> {
    let n = la + lb;
    let s = t.scope();
    let ha = s.handle(Some(ao));
    let hb = s.handle(Some(bo));
    let hr = s.handle(Some(t.alloc(&tobj::STR_SLICE, tobj::SLICE_SIZE)?));
    let buf = t.alloc_array(&tobj::STR_BUF, n.saturating_add(n / 4).saturating_add(8))?;
    let (ao, bo, r) = (ha.obj(), hb.obj(), hr.obj());
    tobj::copy_str_bytes(ao, 0, Dest::Buf(buf), 0, la);
    tobj::copy_str_bytes(bo, 0, Dest::Buf(buf), la, lb);
    tobj::write_word(buf, tobj::BUF_USED_OFFSET, n);
    tobj::write_word(r, tobj::field_offset(0), n);
    tobj::write_ref(t, r, tobj::SLICE_BUF_OFFSET, Some(buf));
    Ok(rword(r))
}

/// `a == b` of strings (or `null`s): the same bytes, or both `null`.
pub fn str_eq(a: u64, b: u64) -> bool {
    if a == b {
        return true;
    }
    match (oref(a), oref(b)) {
        (Some(x), Some(y)) => {
            tobj::str_len(x) == tobj::str_len(y) && tobj::str_bytes(x) == tobj::str_bytes(y)
        }
        _ => false,
    }
}

/// `a / b` of ints (wrapping: the most negative int divided by -1 is itself).
pub fn div_int(a: i64, b: i64) -> R<i64> {
    if b == 0 {
        return Err(errors::division_by_zero());
    }
    Ok(a.wrapping_div(b))
}

/// `a % b` of ints.
pub fn rem_int(a: i64, b: i64) -> R<i64> {
    if b == 0 {
        return Err(errors::division_by_zero());
    }
    Ok(a.wrapping_rem(b))
}

/// Checks `arr[i]`: the offset of the element.
pub fn index_offset(arr: u64, i: i64) -> R<usize> {
    let Some(a) = oref(arr) else {
        return Err(errors::null_index());
    };
    let n = array_len(a);
    if i < 0 || i as u64 >= n as u64 {
        return Err(errors::index_out_of_bounds(i, n as i64));
    }
    Ok(tobj::elem_offset(i as usize))
}

/// The object whose field is accessed: `o` unless it is null.
pub fn field_object(o: u64) -> R<ObjectReference> {
    oref(o).ok_or_else(errors::null_field)
}

/// `new [T](n)` (and the array of a literal of `n` elements): a new zeroed
/// array of element kind `k`.
pub fn new_array(t: &Thread, k: ElemKind, n: i64) -> R<u64> {
    if n < 0 {
        return Err(errors::negative_array_size(n));
    }
    Ok(rword(t.alloc_array(tobj::array_type(k), n as usize)?))
}

/// A new zeroed instance of struct `si`.
pub fn new_struct(t: &Thread, si: usize) -> R<u64> {
    let ti = shared().struct_types[si];
    Ok(rword(t.alloc(ti, ti.instance_size(0))?))
}

/// `spawn f(args)` from thread `t`, the new thread running on `engine`: the
/// new `thread` value. `args` are the arguments' words, each with whether
/// it is a reference.
pub fn spawn(t: &Thread, f: usize, args: Vec<(u64, bool)>, engine: Engine) -> R<u64> {
    // Root the reference arguments across the allocation of the thread object.
    let s = t.scope();
    let handles: Vec<_> = args
        .iter()
        .map(|(w, r)| (if *r { Some(s.handle(oref(*w))) } else { None }, *w))
        .collect();
    let th = t.alloc(&tobj::THREAD, tobj::THREAD.instance_size(0))?;
    let idx = threads::new_record();
    tobj::write_word(th, tobj::field_offset(0), idx);
    let args: Vec<(u64, bool)> = handles
        .iter()
        .map(|(h, w)| match h {
            Some(h) => (vmkit::object::ref_to_word(h.get()) as u64, true),
            None => (*w, false),
        })
        .collect();
    crate::engine::spawn_thread(shared(), t, f, args, idx, engine)?;
    Ok(rword(th))
}

/// The start of `sync (o)`: the monitor of `o` is entered.
pub fn monitor_enter(t: &Thread, o: u64) -> R<()> {
    let obj = oref(o).ok_or_else(errors::null_sync)?;
    monitor::enter(t, obj);
    Ok(())
}

/// The end of `sync (o)` (however the block ends): the monitor of `o`, which
/// `t` holds, is left.
pub fn monitor_exit(t: &Thread, o: u64) {
    if let Some(obj) = oref(o) {
        monitor::exit(t, obj);
    }
}

/// `throw v`: the exception thrown, `v` itself unless it is null.
pub fn thrown(v: u64) -> R<ObjectReference> {
    oref(v).ok_or_else(errors::null_throw)
}

#[cfg(test)]
mod tests {
    use super::int_text;

    #[test]
    fn int_text_is_decimal() {
        for v in [
            0,
            1,
            -1,
            9,
            10,
            -10,
            99,
            100,
            123_456_789,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            let mut buf = [0u8; 20];
            assert_eq!(int_text(v, &mut buf), v.to_string().as_bytes(), "{v}");
        }
    }
}
