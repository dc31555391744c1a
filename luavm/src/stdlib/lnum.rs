//! Number <-> string conversions with the exact behaviour of Lua 5.4
//! (as built on Linux x86-64 with glibc).
//!
//! Everything here is pure logic on byte slices and plain Rust numbers;
//! nothing depends on VM types.
//!
//! * [`fmt_float`] / [`fmt_int`]: `tostring`/`print` of numbers
//!   (`LUAI_NUMFFORMAT` is `"%.14g"`, plus the `.0` suffix rule).
//! * [`str_to_number`]: `lua_stringtonumber` (used by `tonumber(s)` and
//!   by string->number coercion in arithmetic).
//! * [`str_to_int_base`]: `tonumber(s, base)`.
//! * [`float_to_int_exact`]: float -> integer when the value is integral
//!   (`math.tointeger`, table keys, bitwise operands).
//! * [`printf_float_body`]: C `printf` conversion of a float for
//!   `%f %F %e %E %g %G %a %A` (digits only, no sign or padding); used by
//!   `string.format` in `lstr.rs`.
//!
//! Besides the unit tests below, these functions are checked against
//! `lua5.4` by the differential test in `lstr.rs` (`oracle` module:
//! `tostring`, `tonumber`, `math.tointeger` and `string.format`).

/// A Lua number produced by string conversion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// An integer (`math.type` "integer").
    Int(i64),
    /// A float (`math.type` "float").
    Float(f64),
}

/// Lua's `lisspace` (C locale `isspace`): space, `\t`, `\n`, `\v`, `\f`, `\r`.
fn is_space(c: u8) -> bool {
    c == b' ' || (b'\t'..=b'\r').contains(&c)
}

fn hex_value(c: u8) -> Option<u32> {
    (c as char).to_digit(16)
}

/// Formats an integer as Lua does (`LUA_INTEGER_FMT`, i.e. `%lld`).
pub fn fmt_int(i: i64) -> String {
    i.to_string()
}

/// Formats a float as `tostring`/`print` do in Lua 5.4: `"%.14g"`, and if
/// the result looks like an integer (only `-` and digits) a `.0` is
/// appended.  Infinities and NaNs are spelled as glibc does: `inf`,
/// `-inf`, `nan`, `-nan` (the sign of a NaN is its sign bit; on x86-64
/// `0/0` produces a NaN with the sign bit set, printed `-nan`).
///
/// Examples: `1.0`, `1e+15`, `1e+100`, `-0.0`, `0.1`, `3.1415926535898`.
pub fn fmt_float(x: f64) -> String {
    let (neg, body) = match shortest_g14(x) {
        Some(body) => (x.is_sign_negative(), body),
        None => printf_float_body(x, b'g', Some(14), false),
    };
    let mut s = String::with_capacity(body.len() + 3);
    if neg {
        s.push('-');
    }
    s.push_str(&body);
    if s.bytes().all(|c| c == b'-' || c.is_ascii_digit()) {
        s.push_str(".0");
    }
    s
}

/// `%.14g` of a finite, non-zero `x` (without its sign) from the shortest
/// decimal that reads back as `x`, when that has at most 14 significant
/// digits: the exact value then rounds to those digits at 14 (it is within half
/// a unit in the last place of them, far inside half a step of the 14-digit
/// grid), so this is what the exact expansion gives, without its big-number
/// arithmetic (which made `tostring` of a float 1.75 times lua5.4's time).
/// `None` for zero, subnormals (their unit in the last place is no longer
/// small beside the value), infinities, NaNs and numbers that need 15 or more
/// digits.
fn shortest_g14(x: f64) -> Option<String> {
    const P: i32 = 14;
    if !x.is_normal() {
        return None;
    }
    // Rust's `{:e}` without a precision is the shortest round-trip form:
    // `d[.ddd]e[-]X`.
    let e = format!("{:e}", x.abs());
    let (mant, exp) = e.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    if digits.len() > P as usize {
        return None;
    }
    let mut out = String::with_capacity(24);
    if (-4..P).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    }
    Some(out)
}

/// C `printf` conversion of a double, without sign and without padding.
///
/// `conv` is one of `f F e E g G a A`; `precision` is the precision given
/// in the conversion specification (`None` when absent: 6 for `f e g`,
/// "exact" for `a`); `alt` is the `#` flag.  Returns `(negative, body)`:
/// `negative` is the sign bit of `x` (so `-0.0` and NaNs with the sign bit
/// set report `true`, as glibc prints them with a `-`), and `body` is the
/// text after the sign, e.g. `"1.500000e+00"`, `"inf"`, `"0x1.8p+1"`.
///
/// Semantics are those of glibc: exact decimal expansion with
/// round-half-even, `%g` trailing-zero removal unless `#`, `%a` with
/// normalized leading digit `1` (`0` for subnormals, exponent `-1022`),
/// rounding to nearest-even when a precision is given (a carry may turn
/// the leading digit into `2`, e.g. `%.0a` of `1.5` is `0x2p+0`).
/// Any other `conv` is treated as `g`.
pub fn printf_float_body(x: f64, conv: u8, precision: Option<usize>, alt: bool) -> (bool, String) {
    let neg = x.is_sign_negative();
    let upper = conv.is_ascii_uppercase();
    let ax = x.abs();
    let body = if ax.is_nan() {
        "nan".to_string()
    } else if ax.is_infinite() {
        "inf".to_string()
    } else {
        match conv.to_ascii_lowercase() {
            b'f' => fmt_fixed(ax, precision.unwrap_or(6), alt),
            b'e' => fmt_exp(ax, precision.unwrap_or(6), alt),
            b'a' => fmt_hex(ax, precision, alt),
            _ => fmt_general(ax, precision.unwrap_or(6), alt),
        }
    };
    let body = if upper {
        body.to_ascii_uppercase()
    } else {
        body
    };
    (neg, body)
}

/// `%.<prec>f` of a non-negative finite value.
fn fmt_fixed(ax: f64, prec: usize, alt: bool) -> String {
    let mut s = format!("{:.*}", prec, ax);
    if alt && prec == 0 {
        s.push('.');
    }
    s
}

/// Decimal digits of `ax` rounded to `prec + 1` significant digits:
/// returns (mantissa text "d.ddd" as Rust prints it, decimal exponent).
fn exp_parts(ax: f64, prec: usize) -> (String, i32) {
    let s = format!("{:.*e}", prec, ax);
    match s.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse().unwrap_or(0)),
        None => (s, 0),
    }
}

fn push_exponent(s: &mut String, marker: char, e: i32) {
    s.push(marker);
    s.push(if e < 0 { '-' } else { '+' });
    let a = e.unsigned_abs();
    if a < 10 {
        s.push('0');
    }
    s.push_str(&a.to_string());
}

/// `%.<prec>e` of a non-negative finite value.
fn fmt_exp(ax: f64, prec: usize, alt: bool) -> String {
    let (mut m, e) = exp_parts(ax, prec);
    if alt && prec == 0 {
        m.push('.');
    }
    push_exponent(&mut m, 'e', e);
    m
}

/// Removes trailing zeros of the fractional part (and a dangling point).
fn strip_fraction_zeros(s: &mut String) {
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
}

/// `%.<prec>g` of a non-negative finite value.
fn fmt_general(ax: f64, prec: usize, alt: bool) -> String {
    let p = if prec == 0 { 1 } else { prec };
    let x_exp = if ax == 0.0 { 0 } else { exp_parts(ax, p - 1).1 };
    if (p as i64) > i64::from(x_exp) && x_exp >= -4 {
        let fprec = (p as i64 - 1 - i64::from(x_exp)) as usize;
        let mut s = format!("{:.*}", fprec, ax);
        if alt {
            if !s.contains('.') {
                s.push('.');
            }
        } else {
            strip_fraction_zeros(&mut s);
        }
        s
    } else {
        let (mut m, e) = exp_parts(ax, p - 1);
        if alt {
            if !m.contains('.') {
                m.push('.');
            }
        } else {
            strip_fraction_zeros(&mut m);
        }
        push_exponent(&mut m, 'e', e);
        m
    }
}

/// `%a` (glibc style) of a non-negative finite value.
fn fmt_hex(ax: f64, prec: Option<usize>, alt: bool) -> String {
    let bits = ax.to_bits();
    let exp_field = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    let (lead, exp) = if exp_field == 0 {
        (0u64, if frac == 0 { 0 } else { -1022 })
    } else {
        (1u64, exp_field - 1023)
    };
    // All 13 fraction hex digits.
    let (lead, digits) = match prec {
        None => {
            let mut d = format!("{:013x}", frac);
            while d.ends_with('0') {
                d.pop();
            }
            (lead, d)
        }
        Some(p) if p >= 13 => {
            let mut d = format!("{:013x}", frac);
            d.extend(std::iter::repeat_n('0', p - 13));
            (lead, d)
        }
        Some(p) => {
            let v = (lead << 52) | frac;
            let shift = 4 * (13 - p) as u32;
            let mut q = v >> shift;
            let r = v & ((1u64 << shift) - 1);
            let half = 1u64 << (shift - 1);
            if r > half || (r == half && q & 1 == 1) {
                q += 1;
            }
            let fbits = 4 * p as u32;
            let lead = q >> fbits;
            let f = q & ((1u64 << fbits) - 1);
            let d = if p == 0 {
                String::new()
            } else {
                format!("{:0width$x}", f, width = p)
            };
            (lead, d)
        }
    };
    let mut s = format!("0x{}", lead);
    if !digits.is_empty() || alt {
        s.push('.');
    }
    s.push_str(&digits);
    s.push('p');
    if exp >= 0 {
        s.push('+');
    }
    s.push_str(&exp.to_string());
    s
}

/// Lua's `l_str2int`: decimal or hexadecimal integer numeral.  Hexadecimal
/// wraps around modulo 2^64; a decimal numeral that does not fit is
/// rejected (so that it is read as a float).
fn str2int(s: &[u8]) -> Option<i64> {
    let mut i = 0;
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'-' || s[i] == b'+') {
        neg = s[i] == b'-';
        i += 1;
    }
    let mut a: u64 = 0;
    let mut empty = true;
    if i + 1 < s.len() && s[i] == b'0' && (s[i + 1] == b'x' || s[i + 1] == b'X') {
        i += 2;
        while let Some(d) = s.get(i).and_then(|&c| hex_value(c)) {
            a = a.wrapping_mul(16).wrapping_add(u64::from(d));
            empty = false;
            i += 1;
        }
    } else {
        const MAXBY10: u64 = (i64::MAX as u64) / 10;
        const MAXLASTD: u64 = (i64::MAX as u64) % 10;
        while i < s.len() && s[i].is_ascii_digit() {
            let d = u64::from(s[i] - b'0');
            if a >= MAXBY10 && (a > MAXBY10 || d > MAXLASTD + u64::from(neg)) {
                return None;
            }
            a = a * 10 + d;
            empty = false;
            i += 1;
        }
    }
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    if empty || i != s.len() {
        return None;
    }
    Some((if neg { a.wrapping_neg() } else { a }) as i64)
}

/// Computes `q * 2^k` exactly, assuming the result is representable.
fn ldexp(q: f64, mut k: i64) -> f64 {
    let mut x = q;
    while k > 1000 {
        x *= f64::from_bits(((1000 + 1023) as u64) << 52);
        k -= 1000;
    }
    while k < -1000 {
        x *= f64::from_bits(((-1000 + 1023) as u64) << 52);
        k += 1000;
    }
    x * f64::from_bits(((k + 1023) as u64) << 52)
}

/// Correctly rounded (ties to even) value of `m * 2^exp2` (+ a little
/// more if `sticky`), as glibc's `strtod` does for hexadecimal input.
fn hex_to_f64(m: u64, exp2: i64, sticky: bool) -> f64 {
    if m == 0 {
        return 0.0;
    }
    let lz = i64::from(m.leading_zeros());
    let m = m << lz;
    let top = exp2.saturating_sub(lz).saturating_add(63); // exponent of the top bit
    if top > 1023 {
        return f64::INFINITY;
    }
    let keep = if top >= -1022 { 53 } else { 53 - (-1022 - top) };
    if keep < 0 {
        return 0.0;
    }
    if keep == 0 {
        // value in [2^-1075, 2^-1074): tie only when exactly 2^-1075
        let above_half = (m << 1) != 0 || sticky;
        return if above_half { f64::from_bits(1) } else { 0.0 };
    }
    let shift = (64 - keep) as u32;
    let mut q = m >> shift;
    let r = m & ((1u64 << shift) - 1);
    let half = 1u64 << (shift - 1);
    if r > half || (r == half && (sticky || q & 1 == 1)) {
        q += 1;
    }
    let k = top - (keep - 1);
    let v = ldexp(q as f64, k);
    if v.is_finite() {
        v
    } else {
        f64::INFINITY
    }
}

/// glibc `strtod` restricted to what Lua can reach (no `inf`/`nan`,
/// which Lua rejects beforehand).  Returns the value and the number of
/// bytes consumed, or `None` if nothing could be parsed.
fn strtod(s: &[u8]) -> Option<(f64, usize)> {
    let mut i = 0;
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'-' || s[i] == b'+') {
        neg = s[i] == b'-';
        i += 1;
    }
    let sign = |v: f64| if neg { -v } else { v };
    // hexadecimal?
    if i + 1 < s.len() && s[i] == b'0' && (s[i + 1] == b'x' || s[i + 1] == b'X') {
        let mut j = i + 2;
        let mut m: u64 = 0;
        let mut exp2: i64 = 0;
        let mut sticky = false;
        let mut any = false;
        let mut seen_point = false;
        loop {
            match s.get(j) {
                Some(&c) if hex_value(c).is_some() => {
                    let d = u64::from(hex_value(c).unwrap_or(0));
                    any = true;
                    if m >> 60 == 0 {
                        m = m * 16 + d;
                        if seen_point {
                            exp2 -= 4;
                        }
                    } else {
                        sticky |= d != 0;
                        if !seen_point {
                            exp2 += 4;
                        }
                    }
                }
                Some(b'.') if !seen_point => seen_point = true,
                _ => break,
            }
            j += 1;
        }
        if any {
            // optional binary exponent
            if j < s.len() && (s[j] == b'p' || s[j] == b'P') {
                let mut k = j + 1;
                let mut eneg = false;
                if k < s.len() && (s[k] == b'-' || s[k] == b'+') {
                    eneg = s[k] == b'-';
                    k += 1;
                }
                if k < s.len() && s[k].is_ascii_digit() {
                    let mut e: i64 = 0;
                    while k < s.len() && s[k].is_ascii_digit() {
                        e = (e * 10 + i64::from(s[k] - b'0')).min(1 << 40);
                        k += 1;
                    }
                    exp2 = exp2.saturating_add(if eneg { -e } else { e });
                    j = k;
                }
            }
            return Some((sign(hex_to_f64(m, exp2, sticky)), j));
        }
        // "0x" without digits: strtod reads just the "0"
        return Some((sign(0.0), i + 1));
    }
    // decimal
    let start = i;
    let mut j = i;
    let mut ndigits = 0;
    while j < s.len() && s[j].is_ascii_digit() {
        j += 1;
        ndigits += 1;
    }
    if j < s.len() && s[j] == b'.' {
        j += 1;
        while j < s.len() && s[j].is_ascii_digit() {
            j += 1;
            ndigits += 1;
        }
    }
    if ndigits == 0 {
        return None;
    }
    if j < s.len() && (s[j] == b'e' || s[j] == b'E') {
        let mut k = j + 1;
        if k < s.len() && (s[k] == b'-' || s[k] == b'+') {
            k += 1;
        }
        if k < s.len() && s[k].is_ascii_digit() {
            while k < s.len() && s[k].is_ascii_digit() {
                k += 1;
            }
            j = k;
        }
    }
    let text = std::str::from_utf8(&s[start..j]).ok()?;
    let v: f64 = text.parse().ok()?;
    Some((sign(v), j))
}

/// Lua's `l_str2d`: a float numeral (decimal or hexadecimal), rejecting
/// `inf` and `nan`.
fn str2d(s: &[u8]) -> Option<f64> {
    if let Some(&c) = s.iter().find(|c| b".xXnN".contains(c)) {
        if c == b'n' || c == b'N' {
            return None;
        }
    }
    let (v, mut end) = strtod(s)?;
    while end < s.len() && is_space(s[end]) {
        end += 1;
    }
    if end == s.len() {
        Some(v)
    } else {
        None
    }
}

/// Lua's string -> number conversion (`lua_stringtonumber`, used by
/// `tonumber(s)` without a base and by arithmetic coercion).
///
/// Accepts optional leading/trailing whitespace, an optional sign,
/// decimal integers (if they fit in an `i64`; otherwise they are read as
/// floats), hexadecimal integers (`0x...`, wrapping modulo 2^64), decimal
/// floats with optional exponent, and hexadecimal floats (`0x1.8p3`).
/// `inf`, `nan` and strings containing `\0` are rejected.
pub fn str_to_number(s: &[u8]) -> Option<Num> {
    if s.contains(&0) {
        return None;
    }
    if let Some(i) = str2int(s) {
        return Some(Num::Int(i));
    }
    str2d(s).map(Num::Float)
}

/// `tonumber(s, base)` for a string `s`: optional surrounding whitespace,
/// optional `-` (or `+`), then at least one alphanumeric digit valid in
/// `base` (letters in either case, `a`=10 ... `z`=35).  The value wraps
/// modulo 2^64.  Returns `None` for an invalid numeral, for a base outside
/// `2..=36` (Lua raises "base out of range" for that; the caller should
/// check), or if the string contains `\0`.
pub fn str_to_int_base(s: &[u8], base: u32) -> Option<i64> {
    if !(2..=36).contains(&base) {
        return None;
    }
    let mut i = 0;
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && s[i] == b'-' {
        neg = true;
        i += 1;
    } else if i < s.len() && s[i] == b'+' {
        i += 1;
    }
    if i >= s.len() || !s[i].is_ascii_alphanumeric() {
        return None;
    }
    let mut n: u64 = 0;
    while i < s.len() && s[i].is_ascii_alphanumeric() {
        let c = s[i];
        let d = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c.to_ascii_uppercase() - b'A') + 10
        };
        if d >= base {
            return None;
        }
        n = n.wrapping_mul(u64::from(base)).wrapping_add(u64::from(d));
        i += 1;
    }
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    if i != s.len() {
        return None;
    }
    Some((if neg { n.wrapping_neg() } else { n }) as i64)
}

/// Converts a float with an exact integral value in the `i64` range to
/// that integer (`luaV_flttointns` with mode `F2Ieq`); `None` for
/// non-integral values, NaN, infinities and values outside
/// `[-2^63, 2^63)`.  `-0.0` gives `Some(0)`.
pub fn float_to_int_exact(x: f64) -> Option<i64> {
    // 2^63 as f64 is exact
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if x.floor() == x && (-TWO63..TWO63).contains(&x) {
        Some(x as i64)
    } else {
        None
    }
}

/// C's `frexp`: `(m, e)` with `x == m * 2^e` and `0.5 <= |m| < 1`; zero,
/// infinities and NaN are returned as they are, with exponent 0 (glibc).
pub fn frexp(x: f64) -> (f64, i32) {
    let bits = x.to_bits();
    let ee = ((bits >> 52) & 0x7ff) as i32;
    if ee == 0 {
        if x == 0.0 {
            return (x, 0);
        }
        // Subnormal: scaled into the normal range first.
        let (m, e) = frexp(x * f64::from_bits(0x43f0_0000_0000_0000)); // 2^64
        return (m, e - 64);
    }
    if ee == 0x7ff {
        return (x, 0);
    }
    let m = f64::from_bits((bits & 0x800f_ffff_ffff_ffff) | 0x3fe0_0000_0000_0000);
    (m, ee - 0x3fe)
}

/// C's `ldexp` (`scalbn`): `x * 2^n`, rounded once even when the result is
/// subnormal.
pub fn scalbn(x: f64, mut n: i32) -> f64 {
    let p2 = |e: i32| f64::from_bits(((0x3ff + e) as u64) << 52);
    let mut y = x;
    if n > 1023 {
        y *= p2(1023);
        n -= 1023;
        if n > 1023 {
            y *= p2(1023);
            n -= 1023;
            n = n.min(1023);
        }
    } else if n < -1022 {
        // Down to below -1022 + 53 in steps that stay exact, so that the
        // last multiplication is the one rounding.
        y *= p2(-1022) * p2(53);
        n += 1022 - 53;
        if n < -1022 {
            y *= p2(-1022) * p2(53);
            n += 1022 - 53;
            n = n.max(-1022);
        }
    }
    y * p2(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortest-digits `%.14g` agrees with the exact expansion on every
    /// number it takes: integers, powers and fractions of ten at the
    /// notation's edges, and a million pseudo-random doubles.
    #[test]
    fn shortest_g14_agrees_with_the_exact_expansion() {
        let mut xs: Vec<f64> = vec![
            1.0,
            0.5,
            0.1,
            0.2,
            0.3,
            1.5,
            100.0,
            1e13,
            1e14,
            1e15,
            1e16,
            123456789012345.0,
            12345678901234.0,
            99999999999999.0,
            999999999999999.0,
            0.0001,
            0.00001,
            0.000123,
            1e-5,
            1e-4,
            1e100,
            1e-100,
            1e300,
            5e-324,
            2.2250738585072014e-308,
            f64::MAX,
            f64::MIN_POSITIVE,
            2f64.powi(53),
            2f64.powi(63),
            1.0 / 3.0,
            2.0 / 3.0,
            2.71,
            1e21,
            1e22,
            123.456,
            0.1 + 0.2,
        ];
        for i in 0..2000 {
            xs.push(i as f64 + 0.5);
            xs.push(i as f64 / 8.0);
            xs.push(10f64.powi(i % 40 - 20) * 1.25);
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..1_000_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = f64::from_bits(state);
            if x.is_finite() {
                xs.push(x);
                // Numbers with few digits, the fast path's usual input.
                xs.push((x.fract() * 1000.0).round() / 8.0);
            }
        }
        let mut fast = 0;
        for x in xs {
            if let Some(got) = shortest_g14(x) {
                fast += 1;
                let (_, want) = printf_float_body(x, b'g', Some(14), false);
                assert_eq!(got, want, "{x:e}");
            }
        }
        assert!(fast > 20_000, "only {fast} numbers took the fast path");
    }

    fn nan_pos() -> f64 {
        f64::from_bits(0x7ff8_0000_0000_0000)
    }
    fn nan_neg() -> f64 {
        f64::from_bits(0xfff8_0000_0000_0000)
    }

    #[test]
    fn float_formatting() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (-1.0, "-1.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.1, "0.1"),
            (0.1 + 0.2, "0.3"),
            (std::f64::consts::PI, "3.1415926535898"),
            (1e15, "1e+15"),
            (1e16, "1e+16"),
            (1e100, "1e+100"),
            (2f64.powi(53), "9.007199254741e+15"),
            (2f64.powi(63), "9.2233720368548e+18"),
            (123456789012345.0, "1.2345678901234e+14"),
            (12345678901234.0, "12345678901234.0"),
            (1e14, "1e+14"),
            (100.0, "100.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (5e-324, "4.9406564584125e-324"),
            (f64::MAX, "1.7976931348623e+308"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (nan_pos(), "nan"),
            (nan_neg(), "-nan"),
            (2.5, "2.5"),
            (-123.456, "-123.456"),
        ];
        for &(x, want) in cases {
            assert_eq!(fmt_float(x), want, "x = {:e}", x);
        }
    }

    #[test]
    fn int_formatting() {
        assert_eq!(fmt_int(0), "0");
        assert_eq!(fmt_int(-5), "-5");
        assert_eq!(fmt_int(i64::MIN), "-9223372036854775808");
        assert_eq!(fmt_int(i64::MAX), "9223372036854775807");
    }

    #[test]
    fn printf_bodies() {
        let f = |x: f64, c: u8, p: Option<usize>, alt: bool| {
            let (n, b) = printf_float_body(x, c, p, alt);
            format!("{}{}", if n { "-" } else { "" }, b)
        };
        assert_eq!(f(1.0, b'a', None, false), "0x1p+0");
        assert_eq!(f(0.1, b'a', None, false), "0x1.999999999999ap-4");
        assert_eq!(f(-0.0, b'a', None, false), "-0x0p+0");
        assert_eq!(f(5e-324, b'a', None, false), "0x0.0000000000001p-1022");
        assert_eq!(f(1.5, b'a', Some(0), false), "0x2p+0");
        assert_eq!(f(1.0, b'a', Some(0), true), "0x1.p+0");
        assert_eq!(f(255.5, b'A', None, false), "0X1.FFP+7");
        assert_eq!(f(1.96875, b'a', Some(1), false), "0x2.0p+0");
        assert_eq!(f(1.03125, b'a', Some(1), false), "0x1.0p+0");
        assert_eq!(f(1.09375, b'a', Some(1), false), "0x1.2p+0");
        assert_eq!(f(5e-324, b'a', Some(2), false), "0x0.00p-1022");
        assert_eq!(f(1.0, b'a', Some(15), false), "0x1.000000000000000p+0");
        assert_eq!(f(0.0, b'e', None, false), "0.000000e+00");
        assert_eq!(f(1.0, b'e', Some(0), true), "1.e+00");
        assert_eq!(f(1e100, b'E', Some(2), false), "1.00E+100");
        assert_eq!(f(1.0, b'g', None, true), "1.00000");
        assert_eq!(f(100.0, b'g', Some(3), true), "100.");
        assert_eq!(f(1e6, b'g', None, false), "1e+06");
        assert_eq!(f(0.5, b'g', Some(0), false), "0.5");
        assert_eq!(f(0.0001234, b'g', Some(3), false), "0.000123");
        assert_eq!(f(1.0, b'f', Some(0), true), "1.");
        assert_eq!(f(2.5, b'f', Some(0), false), "2");
        assert_eq!(f(0.125, b'f', Some(2), false), "0.12");
        assert_eq!(f(f64::INFINITY, b'F', None, false), "INF");
        assert_eq!(f(nan_neg(), b'G', None, false), "-NAN");
        assert_eq!(f(9.9999999, b'g', Some(3), false), "10");
        assert_eq!(f(999999.5, b'g', None, false), "1e+06");
    }

    #[test]
    fn string_to_number() {
        use Num::*;
        let cases: &[(&[u8], Option<Num>)] = &[
            (b"10", Some(Int(10))),
            (b"  10  ", Some(Int(10))),
            (b"\t\x0b1\x0c\r\n", Some(Int(1))),
            (b"-0", Some(Int(0))),
            (b"+1", Some(Int(1))),
            (b"0x10", Some(Int(16))),
            (b"0XfF", Some(Int(255))),
            (b"-0x10", Some(Int(-16))),
            (b"0xffffffffffffffffff", Some(Int(-1))),
            (b"9223372036854775807", Some(Int(i64::MAX))),
            (b"-9223372036854775808", Some(Int(i64::MIN))),
            (b"9223372036854775808", Some(Float(9223372036854775808.0))),
            (b"-9223372036854775809", Some(Float(-9223372036854775808.0))),
            (b"1e2", Some(Float(100.0))),
            (b"1.5", Some(Float(1.5))),
            (b"5.", Some(Float(5.0))),
            (b" .5 ", Some(Float(0.5))),
            (b"1E+2", Some(Float(100.0))),
            (b"0x1.8p3", Some(Float(12.0))),
            (b"0x.1", Some(Float(0.0625))),
            (b"0x1.", Some(Float(1.0))),
            (b"0x1p-1074", Some(Float(5e-324))),
            (b"0x1p-1075", Some(Float(0.0))),
            (b"0x1.8p-1074", Some(Float(1e-323))),
            (b"0x3p-1076", Some(Float(5e-324))),
            (b"0x1p99999999999999999999", Some(Float(f64::INFINITY))),
            (b"1e9999", Some(Float(f64::INFINITY))),
            (b"-1e9999", Some(Float(f64::NEG_INFINITY))),
            (b"0x", None),
            (b"0x.p1", None),
            (b"1e", None),
            (b"1e+", None),
            (b".", None),
            (b"", None),
            (b"  ", None),
            (b"- 1", None),
            (b"+-1", None),
            (b"0x-1", None),
            (b"inf", None),
            (b"nan", None),
            (b"-inf", None),
            (b"infinity", None),
            (b"1 2", None),
            (b"1\0", None),
            (b"abc", None),
            (b"1_0", None),
        ];
        for (s, want) in cases {
            let got = str_to_number(s);
            match (got, want) {
                (Some(Float(a)), Some(Float(b))) => {
                    assert_eq!(a.to_bits(), b.to_bits(), "{:?}", String::from_utf8_lossy(s))
                }
                _ => assert_eq!(&got, want, "{:?}", String::from_utf8_lossy(s)),
            }
        }
    }

    #[test]
    fn hex_float_rounding() {
        // 2^53 + 1 rounds to even (2^53), 2^53 + 3 rounds up
        assert_eq!(
            str_to_number(b"0x20000000000001"),
            Some(Num::Int(0x20000000000001))
        );
        assert_eq!(
            str_to_number(b"0x20000000000001p0"),
            Some(Num::Float(9007199254740992.0))
        );
        assert_eq!(
            str_to_number(b"0x20000000000003p0"),
            Some(Num::Float(9007199254740996.0))
        );
        // sticky digits far to the right
        assert_eq!(
            str_to_number(b"0x20000000000001000000000001p-48"),
            Some(Num::Float(9007199254740994.0))
        );
        assert_eq!(
            str_to_number(b"0x1.fffffffffffff8p1023"),
            Some(Num::Float(f64::INFINITY))
        );
    }

    #[test]
    fn int_base() {
        assert_eq!(str_to_int_base(b"ff", 16), Some(255));
        assert_eq!(str_to_int_base(b"  -FF  ", 16), Some(-255));
        assert_eq!(str_to_int_base(b"zz", 36), Some(35 * 36 + 35));
        assert_eq!(str_to_int_base(b"102", 2), None);
        assert_eq!(str_to_int_base(b"", 10), None);
        assert_eq!(str_to_int_base(b"-", 10), None);
        assert_eq!(str_to_int_base(b"1 1", 10), None);
        assert_eq!(str_to_int_base(b"1.0", 10), None);
        assert_eq!(str_to_int_base(b"10", 1), None);
        assert_eq!(str_to_int_base(b"10", 37), None);
        assert_eq!(str_to_int_base(b"+7", 8), Some(7));
        assert_eq!(str_to_int_base(b"ffffffffffffffffff", 16), Some(-1));
        assert_eq!(str_to_int_base(b"7\0", 10), None);
    }

    #[test]
    fn float_to_int() {
        assert_eq!(float_to_int_exact(3.0), Some(3));
        assert_eq!(float_to_int_exact(-0.0), Some(0));
        assert_eq!(float_to_int_exact(3.5), None);
        assert_eq!(float_to_int_exact(f64::NAN), None);
        assert_eq!(float_to_int_exact(f64::INFINITY), None);
        assert_eq!(float_to_int_exact(9223372036854775808.0), None);
        assert_eq!(float_to_int_exact(-9223372036854775808.0), Some(i64::MIN));
        assert_eq!(
            float_to_int_exact(9223372036854774784.0),
            Some(9223372036854774784)
        );
    }

    #[test]
    fn no_panic_random() {
        let mut seed: u64 = 0x1234_5678_9abc_def0;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"0123456789abcdefxXpPeE.+- \t\0nN";
        for _ in 0..20000 {
            let len = (next() % 12) as usize;
            let s: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let _ = str_to_number(&s);
            let _ = str_to_int_base(&s, (next() % 40) as u32);
            let x = f64::from_bits(next());
            let _ = fmt_float(x);
            let _ = float_to_int_exact(x);
            for c in *b"fFeEgGaA" {
                let p = if next() % 3 == 0 {
                    None
                } else {
                    Some((next() % 100) as usize)
                };
                let _ = printf_float_body(x, c, p, next() % 2 == 0);
            }
        }
    }
}
