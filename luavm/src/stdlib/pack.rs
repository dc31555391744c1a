//! `string.pack`, `string.unpack` and `string.packsize`, as lstrlib.c of
//! lua5.4.4 does them on x86-64 Linux (native little-endian, `int` 4 bytes,
//! `long` and `size_t` 8, maximum alignment 8).

use super::{arg_error, check_int, check_num, check_str, opt_int, Args};
use crate::heap::{push, LResult, Num};
use crate::interp::Interp;
use crate::value::Value;

/// The largest integer size an option may give.
const MAXINTSIZE: usize = 16;
/// Bytes of a Lua integer.
const SZINT: usize = 8;
/// The native maximum alignment (`!` without a size).
const MAXALIGN: usize = 8;
/// lua5.4's `MAXSIZE` as `getnum` limits numerals (`int` range).
const MAXSIZE: usize = i32::MAX as usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Uint,
    Float,
    Number,
    Double,
    Char,
    Str,
    Zstr,
    Padding,
    PadAlign,
    Nop,
}

/// The format being read, and its state.
struct Header<'f> {
    fmt: &'f [u8],
    pos: usize,
    little: bool,
    maxalign: usize,
    /// The function's name for messages.
    name: &'static str,
}

/// An error of the format: a message with the caller's position, or a bad
/// argument #1.
enum FmtError {
    Msg(String),
    Arg(&'static str),
}

impl Header<'_> {
    fn digit(&self) -> bool {
        self.fmt.get(self.pos).is_some_and(u8::is_ascii_digit)
    }

    /// `getnum`: a numeral, or `df`.
    fn num(&mut self, df: usize) -> usize {
        if !self.digit() {
            return df;
        }
        let mut a = 0usize;
        loop {
            a = a * 10 + (self.fmt[self.pos] - b'0') as usize;
            self.pos += 1;
            if !(self.digit() && a <= (MAXSIZE - 9) / 10) {
                return a;
            }
        }
    }

    /// `getnumlimit`: an integer size within 1..=16.
    fn num_limit(&mut self, df: usize) -> Result<usize, FmtError> {
        let sz = self.num(df);
        if sz > MAXINTSIZE || sz == 0 {
            return Err(FmtError::Msg(format!(
                "integral size ({sz}) out of limits [1,{MAXINTSIZE}]"
            )));
        }
        Ok(sz)
    }

    /// `getoption`: the next option and its size.
    fn option(&mut self) -> Result<(Kind, usize), FmtError> {
        let opt = self.fmt[self.pos];
        self.pos += 1;
        Ok(match opt {
            b'b' => (Kind::Int, 1),
            b'B' => (Kind::Uint, 1),
            b'h' => (Kind::Int, 2),
            b'H' => (Kind::Uint, 2),
            b'l' | b'j' => (Kind::Int, 8),
            b'L' | b'J' | b'T' => (Kind::Uint, 8),
            b'f' => (Kind::Float, 4),
            b'n' => (Kind::Number, 8),
            b'd' => (Kind::Double, 8),
            b'i' => (Kind::Int, self.num_limit(4)?),
            b'I' => (Kind::Uint, self.num_limit(4)?),
            b's' => (Kind::Str, self.num_limit(8)?),
            b'c' => {
                if !self.digit() {
                    return Err(FmtError::Msg("missing size for format option 'c'".into()));
                }
                (Kind::Char, self.num(0))
            }
            b'z' => (Kind::Zstr, 0),
            b'x' => (Kind::Padding, 1),
            b'X' => (Kind::PadAlign, 0),
            b' ' => (Kind::Nop, 0),
            b'<' | b'=' => {
                self.little = true;
                (Kind::Nop, 0)
            }
            b'>' => {
                self.little = false;
                (Kind::Nop, 0)
            }
            b'!' => {
                self.maxalign = self.num_limit(MAXALIGN)?;
                (Kind::Nop, 0)
            }
            c => {
                return Err(FmtError::Msg(format!(
                    "invalid format option '{}'",
                    c as char
                )))
            }
        })
    }

    /// `getdetails`: the next option, its size, and the padding that aligns
    /// it at `total`.
    fn details(&mut self, total: usize) -> Result<(Kind, usize, usize), FmtError> {
        let (opt, size) = self.option()?;
        let mut align = size;
        if opt == Kind::PadAlign {
            if self.pos >= self.fmt.len() {
                return Err(FmtError::Arg("invalid next option for option 'X'"));
            }
            let (next, a) = self.option()?;
            align = a;
            if next == Kind::Char || align == 0 {
                return Err(FmtError::Arg("invalid next option for option 'X'"));
            }
        }
        let pad = if align <= 1 || opt == Kind::Char {
            0
        } else {
            let align = align.min(self.maxalign);
            if !align.is_power_of_two() {
                return Err(FmtError::Arg("format asks for alignment not power of 2"));
            }
            (align - (total & (align - 1))) & (align - 1)
        };
        Ok((opt, size, pad))
    }
}

fn header<'f>(fmt: &'f [u8], name: &'static str) -> Header<'f> {
    Header {
        fmt,
        pos: 0,
        little: true,
        maxalign: 1,
        name,
    }
}

/// Raises a format error.
fn raise(it: &mut Interp<'_>, h: &Header<'_>, e: FmtError) -> crate::heap::Thrown {
    match e {
        FmtError::Msg(m) => it.throw_here(&m),
        FmtError::Arg(m) => arg_error(it, 0, h.name, m),
    }
}

/// `packint`: `n` in `size` bytes.
fn pack_int(out: &mut Vec<u8>, n: u64, little: bool, size: usize, neg: bool) {
    let mut bytes = vec![0u8; size];
    let mut v = n;
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = if i < SZINT {
            let byte = (v & 0xFF) as u8;
            v >>= 8;
            byte
        } else if neg {
            0xFF
        } else {
            0
        };
    }
    if !little {
        bytes.reverse();
    }
    out.extend_from_slice(&bytes);
}

/// `unpackint`.
fn unpack_int(data: &[u8], little: bool, size: usize, signed: bool) -> Result<i64, String> {
    let at = |i: usize| if little { data[i] } else { data[size - 1 - i] };
    let limit = size.min(SZINT);
    let mut res: u64 = 0;
    for i in (0..limit).rev() {
        res = (res << 8) | at(i) as u64;
    }
    if size < SZINT {
        if signed {
            let mask = 1u64 << (size * 8 - 1);
            res = (res ^ mask).wrapping_sub(mask);
        }
    } else if size > SZINT {
        let mask = if !signed || (res as i64) >= 0 {
            0
        } else {
            0xFF
        };
        if (limit..size).any(|i| at(i) != mask) {
            return Err(format!("{size}-byte integer does not fit into Lua Integer"));
        }
    }
    Ok(res as i64)
}

fn ordered(bytes: &[u8], little: bool) -> Vec<u8> {
    let mut b = bytes.to_vec();
    if !little {
        b.reverse();
    }
    b
}

/// `string.pack(fmt, v1, v2, ...)`.
pub fn pack(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let fmt = check_str(it, a, 0, "string.pack")?;
    let mut h = header(&fmt, "string.pack");
    let mut out: Vec<u8> = Vec::new();
    let mut arg = 0usize;
    while h.pos < h.fmt.len() {
        let (opt, size, pad) = match h.details(out.len()) {
            Ok(d) => d,
            Err(e) => return Err(raise(it, &h, e)),
        };
        out.resize(out.len() + pad, 0);
        arg += 1;
        if arg >= a.n && !matches!(opt, Kind::Padding | Kind::PadAlign | Kind::Nop) {
            // lua5.4 pushes a nil after the arguments: the first missing
            // one is that nil.
            let what = match opt {
                Kind::Char | Kind::Str | Kind::Zstr => "string",
                _ => "number",
            };
            let msg = format!("{what} expected, got nil");
            return Err(arg_error(it, arg, "string.pack", &msg));
        }
        match opt {
            Kind::Int => {
                let n = check_int(it, a, arg, "string.pack")?;
                if size < SZINT {
                    let lim = 1i64 << (size * 8 - 1);
                    if !(-lim <= n && n < lim) {
                        return Err(arg_error(it, arg, "string.pack", "integer overflow"));
                    }
                }
                pack_int(&mut out, n as u64, h.little, size, n < 0);
            }
            Kind::Uint => {
                let n = check_int(it, a, arg, "string.pack")?;
                if size < SZINT && (n as u64) >= (1u64 << (size * 8)) {
                    return Err(arg_error(it, arg, "string.pack", "unsigned overflow"));
                }
                pack_int(&mut out, n as u64, h.little, size, false);
            }
            Kind::Float => {
                let x = float(check_num(it, a, arg, "string.pack")?) as f32;
                out.extend(ordered(&x.to_le_bytes(), h.little));
            }
            Kind::Number | Kind::Double => {
                let x = float(check_num(it, a, arg, "string.pack")?);
                out.extend(ordered(&x.to_le_bytes(), h.little));
            }
            Kind::Char => {
                let s = check_str(it, a, arg, "string.pack")?;
                if s.len() > size {
                    return Err(arg_error(
                        it,
                        arg,
                        "string.pack",
                        "string longer than given size",
                    ));
                }
                out.extend_from_slice(&s);
                out.resize(out.len() + size - s.len(), 0);
            }
            Kind::Str => {
                let s = check_str(it, a, arg, "string.pack")?;
                if size < 8 && (s.len() as u64) >= (1u64 << (size * 8)) {
                    return Err(arg_error(
                        it,
                        arg,
                        "string.pack",
                        "string length does not fit in given size",
                    ));
                }
                pack_int(&mut out, s.len() as u64, h.little, size, false);
                out.extend_from_slice(&s);
            }
            Kind::Zstr => {
                let s = check_str(it, a, arg, "string.pack")?;
                if s.contains(&0) {
                    return Err(arg_error(it, arg, "string.pack", "string contains zeros"));
                }
                out.extend_from_slice(&s);
                out.push(0);
            }
            Kind::Padding => {
                out.push(0);
                arg -= 1;
            }
            Kind::PadAlign | Kind::Nop => arg -= 1,
        }
    }
    let v = it.string(&out)?;
    push(it.t, v);
    Ok(1)
}

fn float(n: Num) -> f64 {
    match n {
        Num::Int(i) => i as f64,
        Num::Float(x) => x,
    }
}

/// `string.packsize(fmt)`.
pub fn packsize(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let fmt = check_str(it, a, 0, "string.packsize")?;
    let mut h = header(&fmt, "string.packsize");
    let mut total = 0usize;
    while h.pos < h.fmt.len() {
        let (opt, size, pad) = match h.details(total) {
            Ok(d) => d,
            Err(e) => return Err(raise(it, &h, e)),
        };
        if opt == Kind::Str || opt == Kind::Zstr {
            return Err(arg_error(
                it,
                0,
                "string.packsize",
                "variable-length format",
            ));
        }
        let size = size + pad;
        if total > MAXSIZE - size.min(MAXSIZE) {
            return Err(arg_error(
                it,
                0,
                "string.packsize",
                "format result too large",
            ));
        }
        total += size;
    }
    let v = it.int(total as i64)?;
    push(it.t, v);
    Ok(1)
}

/// `string.unpack(fmt, s [, pos])`.
pub fn unpack(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let fmt = check_str(it, a, 0, "string.unpack")?;
    let data = check_str(it, a, 1, "string.unpack")?;
    let ld = data.len();
    let init = opt_int(it, a, 2, "unpack", 1)?;
    // posrelatI, then 0-based.
    let mut pos = if init > 0 {
        init as usize
    } else if init == 0 || init < -(ld as i64) {
        1
    } else {
        (ld as i64 + init + 1) as usize
    } - 1;
    if pos > ld {
        return Err(arg_error(
            it,
            2,
            "string.unpack",
            "initial position out of string",
        ));
    }
    let mut h = header(&fmt, "string.unpack");
    let mut n = 0usize;
    let t = it.t;
    while h.pos < h.fmt.len() {
        let (opt, size, pad) = match h.details(pos) {
            Ok(d) => d,
            Err(e) => return Err(raise(it, &h, e)),
        };
        if pad + size > ld - pos {
            return Err(arg_error(it, 1, "string.unpack", "data string too short"));
        }
        pos += pad;
        if n + 2 > crate::stack::LIMIT / 2 {
            return Err(it.throw_here("stack overflow (too many results)"));
        }
        n += 1;
        let at = &data[pos..];
        let v = match opt {
            Kind::Int | Kind::Uint => match unpack_int(at, h.little, size, opt == Kind::Int) {
                Ok(i) => it.int(i)?,
                Err(m) => return Err(it.throw_here(&m)),
            },
            Kind::Float => {
                let b: [u8; 4] = ordered(&at[..4], h.little).try_into().expect("4 bytes");
                Value::float(f32::from_le_bytes(b) as f64)
            }
            Kind::Number | Kind::Double => {
                let b: [u8; 8] = ordered(&at[..8], h.little).try_into().expect("8 bytes");
                Value::float(f64::from_le_bytes(b))
            }
            Kind::Char => it.string(&at[..size])?,
            Kind::Str => {
                let len = match unpack_int(at, h.little, size, false) {
                    Ok(l) => l as u64 as usize,
                    Err(m) => return Err(it.throw_here(&m)),
                };
                if len > ld - pos - size {
                    return Err(arg_error(it, 1, "string.unpack", "data string too short"));
                }
                let v = it.string(&at[size..size + len])?;
                pos += len;
                v
            }
            Kind::Zstr => {
                let Some(len) = at.iter().position(|&b| b == 0) else {
                    return Err(arg_error(
                        it,
                        1,
                        "string.unpack",
                        "unfinished string for format 'z'",
                    ));
                };
                let v = it.string(&at[..len])?;
                pos += len + 1;
                v
            }
            Kind::PadAlign | Kind::Padding | Kind::Nop => {
                n -= 1;
                pos += size;
                continue;
            }
        };
        push(t, v);
        pos += size;
    }
    let v = it.int(pos as i64 + 1)?;
    push(t, v);
    Ok(n + 1)
}
