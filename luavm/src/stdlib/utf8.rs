//! The `utf8` library, as lua5.4's `lutf8lib.c`: the original UTF-8 of up to
//! six bytes (code points to `0x7FFFFFFF`) in lax mode, Unicode's (to
//! `0x10FFFF`, no surrogates) in strict mode, the default.

use super::{arg_error, check_int, check_str, opt_int, ret, Args};
use crate::heap::LResult;
use crate::interp::Interp;
use crate::value::Value;

/// The largest code point strict decoding accepts.
const MAX_UNICODE: u32 = 0x10FFFF;
/// The largest value the original UTF-8 encodes.
const MAX_UTF: u64 = 0x7FFF_FFFF;

/// `utf8.charpattern`: one UTF-8 character.
pub(super) const CHARPATTERN: &[u8] = b"[\0-\x7F\xC2-\xFD][\x80-\xBF]*";

/// Whether byte `i` of `s` is a continuation byte (past the end reads the
/// terminating zero of a C string: not one).
fn is_cont(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(|&c| c & 0xC0 == 0x80)
}

/// Lua's `u_posrelat`: a negative position counts back from the end.
fn posrelat(pos: i64, len: usize) -> i64 {
    if pos >= 0 {
        pos
    } else if pos.unsigned_abs() > len as u64 {
        0
    } else {
        len as i64 + pos + 1
    }
}

/// Decodes the sequence at `s[at..]`: the code point and the index after it,
/// or `None` for an invalid sequence (an overlong one, a missing continuation
/// byte, more than six bytes; in `strict` mode also past `0x10FFFF` or a
/// surrogate).
fn decode(s: &[u8], at: usize, strict: bool) -> Option<(u32, usize)> {
    const LIMITS: [u32; 6] = [u32::MAX, 0x80, 0x800, 0x10000, 0x200000, 0x4000000];
    let byte = |i: usize| s.get(i).copied().unwrap_or(0) as u32;
    let mut c = byte(at);
    let mut res: u32;
    let mut count = 0usize;
    if c < 0x80 {
        res = c;
    } else {
        res = 0;
        while c & 0x40 != 0 {
            count += 1;
            let cc = byte(at + count);
            if cc & 0xC0 != 0x80 {
                return None;
            }
            res = (res << 6) | (cc & 0x3F);
            c <<= 1;
        }
        if count > 5 {
            return None;
        }
        res |= (c & 0x7F) << (count * 5);
        if res as u64 > MAX_UTF || res < LIMITS[count] {
            return None;
        }
    }
    if strict && (res > MAX_UNICODE || (0xD800..=0xDFFF).contains(&res)) {
        return None;
    }
    Some((res, at + count + 1))
}

/// The optional boolean argument `lax`.
fn lax(it: &Interp<'_>, a: Args, i: usize) -> bool {
    !a.get(it, i).is_falsy()
}

/// `utf8.char(...)`: the characters of the code points, concatenated.
pub(super) fn char(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let mut out = Vec::new();
    for i in 0..a.n {
        let code = check_int(it, a, i, "utf8.char")? as u64;
        if code > MAX_UTF {
            return Err(arg_error(it, i, "utf8.char", "value out of range"));
        }
        crate::lang::lexer::utf8_encode(code as u32, &mut out);
    }
    let s = it.string(&out)?;
    ret(it, s)
}

/// `utf8.codepoint(s [, i [, j [, lax]]])`: the code points of the
/// characters that start in `[i, j]`.
pub(super) fn codepoint(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let s = check_str(it, a, 0, "utf8.codepoint")?;
    let len = s.len();
    let posi = posrelat(opt_int(it, a, 1, "utf8.codepoint", 1)?, len);
    let pose = posrelat(opt_int(it, a, 2, "utf8.codepoint", posi)?, len);
    let lax = lax(it, a, 3);
    if posi < 1 {
        return Err(arg_error(it, 1, "utf8.codepoint", "out of bounds"));
    }
    if pose > len as i64 {
        return Err(arg_error(it, 2, "utf8.codepoint", "out of bounds"));
    }
    if posi > pose {
        return Ok(0);
    }
    if pose - posi >= i32::MAX as i64 {
        return Err(it.throw_here("string slice too long"));
    }
    let mut n = 0;
    let mut at = posi as usize - 1;
    let end = pose as usize;
    while at < end {
        let Some((code, next)) = decode(&s, at, !lax) else {
            return Err(it.throw_here("invalid UTF-8 code"));
        };
        push_int(it, code as i64)?;
        n += 1;
        at = next;
    }
    Ok(n)
}

fn push_int(it: &mut Interp<'_>, i: i64) -> LResult<()> {
    let v = it.int(i)?;
    crate::heap::push(it.t, v);
    Ok(())
}

/// `utf8.len(s [, i [, j [, lax]]])`: how many characters start in `[i, j]`,
/// or fail and the position of the first invalid byte.
pub(super) fn len(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let s = check_str(it, a, 0, "utf8.len")?;
    let len = s.len() as i64;
    let mut posi = posrelat(opt_int(it, a, 1, "utf8.len", 1)?, s.len());
    let mut posj = posrelat(opt_int(it, a, 2, "utf8.len", -1)?, s.len());
    let lax = lax(it, a, 3);
    if !(1 <= posi && posi - 1 <= len) {
        return Err(arg_error(
            it,
            1,
            "utf8.len",
            "initial position out of bounds",
        ));
    }
    posi -= 1;
    posj -= 1;
    if posj >= len {
        return Err(arg_error(it, 2, "utf8.len", "final position out of bounds"));
    }
    let mut n = 0;
    while posi <= posj {
        match decode(&s, posi as usize, !lax) {
            Some((_, next)) => {
                posi = next as i64;
                n += 1;
            }
            None => {
                crate::heap::push(it.t, Value::NIL);
                push_int(it, posi + 1)?;
                return Ok(2);
            }
        }
    }
    push_int(it, n)?;
    Ok(1)
}

/// `utf8.offset(s, n [, i])`: where the `n`th character from position `i`
/// starts (`n` 0: the start of the character at `i`), or fail.
pub(super) fn offset(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let s = check_str(it, a, 0, "utf8.offset")?;
    let len = s.len() as i64;
    let mut n = check_int(it, a, 1, "utf8.offset")?;
    let default = if n >= 0 { 1 } else { len + 1 };
    let mut posi = posrelat(opt_int(it, a, 2, "utf8.offset", default)?, s.len());
    if !(1 <= posi && posi - 1 <= len) {
        return Err(arg_error(it, 2, "utf8.offset", "position out of bounds"));
    }
    posi -= 1;
    let cont = |p: i64| is_cont(&s, p as usize);
    if n == 0 {
        while posi > 0 && cont(posi) {
            posi -= 1;
        }
    } else {
        if cont(posi) {
            return Err(it.throw_here("initial position is a continuation byte"));
        }
        if n < 0 {
            while n < 0 && posi > 0 {
                posi -= 1;
                while posi > 0 && cont(posi) {
                    posi -= 1;
                }
                n += 1;
            }
        } else {
            n -= 1;
            while n > 0 && posi < len {
                posi += 1;
                while cont(posi) {
                    posi += 1;
                }
                n -= 1;
            }
        }
    }
    if n == 0 {
        let v = it.int(posi + 1)?;
        ret(it, v)
    } else {
        ret(it, Value::NIL)
    }
}

/// `utf8.codes(s [, lax])`: the iterator, `s` and 0.
pub(super) fn codes(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let lax = lax(it, a, 1);
    check_str(it, a, 0, "utf8.codes")?;
    let iter = super::index_of(if lax { "codes_lax_iter" } else { "codes_iter" });
    let s = a.get(it, 0);
    crate::heap::push(it.t, Value::builtin(iter));
    crate::heap::push(it.t, s);
    push_int(it, 0)?;
    Ok(3)
}

/// The strict iterator of `utf8.codes`.
pub(super) fn codes_iter(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    iter(it, a, true)
}

/// The lax iterator of `utf8.codes`.
pub(super) fn codes_lax_iter(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    iter(it, a, false)
}

fn iter(it: &mut Interp<'_>, a: Args, strict: bool) -> LResult<usize> {
    let s = check_str(it, a, 0, "for iterator")?;
    let len = s.len() as u64;
    // `lua_tointeger`: 0 for what is not an integer.
    let mut n = match Interp::arith_num(a.get(it, 1)) {
        Some(crate::heap::Num::Int(i)) => i as u64,
        Some(crate::heap::Num::Float(x)) => super::lnum::float_to_int_exact(x).unwrap_or(0) as u64,
        None => 0,
    };
    if n < len {
        while is_cont(&s, n as usize) {
            n += 1;
        }
    }
    if n >= len {
        return Ok(0);
    }
    let Some((code, _)) = decode(&s, n as usize, strict) else {
        return Err(it.throw_here("invalid UTF-8 code"));
    };
    push_int(it, n as i64 + 1)?;
    push_int(it, code as i64)?;
    Ok(2)
}
