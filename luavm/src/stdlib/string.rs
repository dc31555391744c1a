//! The `string` library over the algorithms of [`super::lstr`].

use super::lstr::{self, Capture, Match, Piece};

use super::{arg_error, check_int, check_str, got, opt_int, ret, Args};
use crate::heap::{self, *};
use crate::interp::Interp;
use crate::table;
use crate::value::Value;

/// Lua's `posrelat` for a start index: negative counts from the end, 0 -> 1.
fn start_index(i: i64, len: usize) -> usize {
    if i > 0 {
        i as usize
    } else if i == 0 || i < -(len as i64) {
        1
    } else {
        (len as i64 + i + 1) as usize
    }
}

/// Lua's `getendpos`: negative counts from the end, clipped to the length.
fn end_index(i: i64, len: usize) -> usize {
    if i > len as i64 {
        len
    } else if i >= 0 {
        i as usize
    } else if i < -(len as i64) {
        0
    } else {
        (len as i64 + i + 1) as usize
    }
}

pub(super) fn len(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    if let Some(o) = as_str(a.get(it, 0)) {
        let v = it.int(crate::heap::len(o) as i64)?;
        return ret(it, v);
    }
    let s = check_str(it, a, 0, "len")?;
    let v = it.int(s.len() as i64)?;
    ret(it, v)
}

pub(super) fn sub(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    if let Some(o) = as_str(a.get(it, 0)) {
        // A string: only the piece is copied (not the whole subject, which
        // made a scan with `s:sub(i, i)` quadratic).
        let n = crate::heap::len(o);
        let i = start_index(check_int(it, a, 1, "sub")?, n);
        let j = end_index(opt_int(it, a, 2, "sub", -1)?, n);
        let o = as_str(a.get(it, 0)).expect("a string");
        let piece = if i > j {
            Vec::new()
        } else {
            str_bytes(o)[i - 1..j].to_vec()
        };
        let v = it.string(&piece)?;
        return ret(it, v);
    }
    let s = check_str(it, a, 0, "sub")?;
    let i = start_index(check_int(it, a, 1, "sub")?, s.len());
    let j = end_index(opt_int(it, a, 2, "sub", -1)?, s.len());
    let r = if i > j { &[][..] } else { &s[i - 1..j] };
    let v = it.string(r)?;
    ret(it, v)
}

pub(super) fn upper(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let s = check_str(it, a, 0, "upper")?;
    let v = it.string(&s.to_ascii_uppercase())?;
    ret(it, v)
}

pub(super) fn lower(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let s = check_str(it, a, 0, "lower")?;
    let v = it.string(&s.to_ascii_lowercase())?;
    ret(it, v)
}

pub(super) fn reverse(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let mut s = check_str(it, a, 0, "reverse")?;
    s.reverse();
    let v = it.string(&s)?;
    ret(it, v)
}

/// The largest string luavm makes (as lua5.4's MAXSIZE guard, smaller).
const MAX_STRING: usize = 1 << 31;

pub(super) fn rep(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let s = check_str(it, a, 0, "rep")?;
    let n = check_int(it, a, 1, "rep")?;
    let sep = if a.get(it, 2).is_nil() {
        Vec::new()
    } else {
        check_str(it, a, 2, "rep")?
    };
    if n <= 0 {
        let v = it.string(b"")?;
        return ret(it, v);
    }
    let total = (s.len() as u128 + sep.len() as u128) * n as u128;
    if total >= MAX_STRING as u128 {
        return Err(it.throw_here("resulting string too large"));
    }
    let mut out = Vec::with_capacity(total as usize);
    for k in 0..n {
        out.extend_from_slice(&s);
        if k + 1 < n {
            out.extend_from_slice(&sep);
        }
    }
    let v = it.string(&out)?;
    ret(it, v)
}

pub(super) fn byte(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let subject = Subject::new(it, a, 0, "byte")?;
    let len = subject.bytes(it, a).len();
    let i0 = opt_int(it, a, 1, "byte", 1)?;
    let i = start_index(i0, len);
    let j = end_index(opt_int(it, a, 2, "byte", i0)?, len);
    if i > j {
        return Ok(0);
    }
    // As lua5.4 (`luaL_checkstack`): the results must fit the thread's
    // stack of `LIMIT` slots.
    let st = crate::stack::stack();
    if st.len() - st.floor() + (j - i + 1) > crate::stack::LIMIT {
        return Err(it.throw_msg("stack overflow (string slice too long)"));
    }
    // Read in place: pushing integers allocates nothing.
    let s = subject.bytes(it, a);
    for k in i..=j {
        push(it.t, Value::small_int(s[k - 1] as i64).expect("a byte"));
    }
    Ok(j - i + 1)
}

pub(super) fn char(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let mut out = Vec::with_capacity(a.n);
    for i in 0..a.n {
        let c = check_int(it, a, i, "char")?;
        if !(0..=255).contains(&c) {
            return Err(arg_error(it, i, "char", "value out of range"));
        }
        out.push(c as u8);
    }
    let v = it.string(&out)?;
    ret(it, v)
}

pub(super) fn format(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let fmt = check_str(it, a, 0, "format")?;
    let mut out = Vec::new();
    let mut arg = 1;
    let mut pos = 0;
    loop {
        // As lua5.4: a conversion's argument must exist before the
        // conversion itself is read ("no value" comes first).
        if lstr::at_spec(&fmt, pos) && arg >= a.n {
            return Err(arg_error(it, arg, "format", "no value"));
        }
        let p = match lstr::next_piece(&fmt, &mut pos) {
            None => break,
            Some(Ok(p)) => p,
            Some(Err(m)) => return Err(it.throw_here(&m)),
        };
        match p {
            Piece::Lit(l) => out.extend_from_slice(&l),
            Piece::Spec(spec) => {
                match spec.conv {
                    b'd' | b'i' | b'u' | b'c' | b'x' | b'X' | b'o' => {
                        let i = check_int(it, a, arg, "format")?;
                        out.extend_from_slice(&lstr::format_int(&spec, i));
                    }
                    b'a' | b'A' | b'e' | b'E' | b'f' | b'F' | b'g' | b'G' => {
                        let x = match super::check_num(it, a, arg, "format")? {
                            Num::Int(i) => i as f64,
                            Num::Float(x) => x,
                        };
                        out.extend_from_slice(&lstr::format_float(&spec, x));
                    }
                    b's' => {
                        let v = a.get(it, arg);
                        let s = it.tostring(v)?;
                        if spec.has_modifiers() && s.contains(&0) {
                            return Err(arg_error(it, arg, "format", "string contains zeros"));
                        }
                        out.extend_from_slice(&lstr::format_str(&spec, &s));
                    }
                    b'p' => {
                        // As lua5.4's `lua_topointer`: an object's address (the
                        // one `tostring` shows), "(null)" for a value that is
                        // not one.
                        let address = crate::interp::pseudo_address(a.get(it, arg));
                        out.extend_from_slice(&lstr::format_pointer(
                            &spec,
                            address.map(|x| x as usize),
                        ));
                    }
                    b'q' => {
                        let v = a.get(it, arg);
                        if let Some(s) = as_str(v) {
                            out.extend_from_slice(&lstr::format_quoted_str(str_bytes(s)));
                        } else {
                            match as_num(v) {
                                Some(Num::Int(i)) => {
                                    out.extend_from_slice(&lstr::format_quoted_int(i))
                                }
                                Some(Num::Float(x)) => {
                                    out.extend_from_slice(&lstr::format_quoted_float(x))
                                }
                                None => {
                                    if v.is_nil() || v.as_bool().is_some() {
                                        out.extend_from_slice(&it.tostring_raw(v));
                                    } else {
                                        return Err(arg_error(
                                            it,
                                            arg,
                                            "format",
                                            "value has no literal form",
                                        ));
                                    }
                                }
                            }
                        }
                    }
                    _ => {
                        let c = spec.conv as char;
                        return Err(
                            it.throw_here(&format!("invalid conversion '%{c}' to 'format'"))
                        );
                    }
                }
                arg += 1;
            }
        }
    }
    let v = it.string(&out)?;
    ret(it, v)
}

/// Pushes the captures of `m` (the whole match if it has none and
/// `whole_if_none`), `s` being the subject's bytes from offset `lo` on (the
/// match's byte ranges are the subject's).
fn push_captures(
    it: &mut Interp<'_>,
    s: &[u8],
    lo: usize,
    m: &Match,
    whole_if_none: bool,
) -> LResult<usize> {
    if m.captures.is_empty() && whole_if_none {
        let v = it.string(&s[m.start - lo..m.end - lo])?;
        push(it.t, v);
        return Ok(1);
    }
    for c in &m.captures {
        let v = match c {
            Capture::Str(r) => it.string(&s[r.start - lo..r.end - lo])?,
            Capture::Pos(p) => it.int(*p as i64)?,
        };
        push(it.t, v);
    }
    Ok(m.captures.len())
}

/// The subject of a search: a string argument read in place (searching a
/// long string from successive positions would be quadratic if each call
/// copied it), or a number's text.
enum Subject {
    /// The string object of this argument.
    InPlace(usize),
    /// A number's text.
    Owned(Vec<u8>),
}

impl Subject {
    fn new(it: &mut Interp<'_>, a: Args, i: usize, name: &str) -> LResult<Subject> {
        if as_str(a.get(it, i)).is_some() {
            Ok(Subject::InPlace(i))
        } else {
            check_str(it, a, i, name).map(Subject::Owned)
        }
    }

    /// The bytes, valid until the next allocation.
    fn bytes<'s>(&'s self, it: &Interp<'_>, a: Args) -> &'s [u8] {
        match self {
            Subject::InPlace(i) => str_bytes(as_str(a.get(it, *i)).expect("a string")),
            Subject::Owned(v) => v,
        }
    }
}

/// What a search found, copied out of the subject.
enum Found {
    /// Nothing.
    Nothing,
    /// A plain find at this offset.
    Plain(usize),
    /// A pattern match, with the subject's bytes from offset `lo` that its
    /// whole match and captures cover.
    Pattern(Vec<u8>, usize, Match),
}

/// The bytes of `s` a match and its captures cover, and where they start.
fn match_piece(s: &[u8], m: &Match) -> (Vec<u8>, usize) {
    let mut lo = m.start;
    let mut hi = m.end;
    for c in &m.captures {
        if let Capture::Str(r) = c {
            lo = lo.min(r.start);
            hi = hi.max(r.end);
        }
    }
    (s[lo..hi].to_vec(), lo)
}

fn find_aux(it: &mut Interp<'_>, a: Args, find: bool) -> LResult<usize> {
    let name = if find { "find" } else { "match" };
    let subject = Subject::new(it, a, 0, name)?;
    let pat = check_str(it, a, 1, name)?;
    let len = subject.bytes(it, a).len();
    let init = start_index(opt_int(it, a, 2, name, 1)?, len);
    if init > len + 1 {
        return ret(it, Value::NIL);
    }
    let plain = find && (!a.get(it, 3).is_falsy() || !lstr::has_specials(&pat));
    // Nothing allocates while the subject is read in place.
    let found = {
        let s = subject.bytes(it, a);
        if plain {
            Ok(lstr::plain_find(s, &pat, init - 1).map_or(Found::Nothing, Found::Plain))
        } else {
            lstr::pattern_find(s, &pat, init - 1, true).map(|m| match m {
                None => Found::Nothing,
                Some(m) => {
                    let (piece, lo) = match_piece(s, &m);
                    Found::Pattern(piece, lo, m)
                }
            })
        }
    };
    match found {
        Err(m) => Err(it.throw_here(&m)),
        Ok(Found::Nothing) => ret(it, Value::NIL),
        Ok(Found::Plain(p)) => {
            let b = it.int(p as i64 + 1)?;
            push(it.t, b);
            let e = it.int((p + pat.len()) as i64)?;
            push(it.t, e);
            Ok(2)
        }
        Ok(Found::Pattern(piece, lo, m)) => {
            if find {
                let b = it.int(m.start as i64 + 1)?;
                push(it.t, b);
                let e = it.int(m.end as i64)?;
                push(it.t, e);
                Ok(2 + push_captures(it, &piece, lo, &m, false)?)
            } else {
                push_captures(it, &piece, lo, &m, true)
            }
        }
    }
}

pub(super) fn find(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    find_aux(it, a, true)
}

pub(super) fn match_(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    find_aux(it, a, false)
}

/// `gmatch(s, p [, init])`: an iterator over a state table `{s, p, position,
/// last match}`.
pub(super) fn gmatch(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let subject = Subject::new(it, a, 0, "gmatch")?;
    let p = check_str(it, a, 1, "gmatch")?;
    let len = subject.bytes(it, a).len();
    // lua5.4's `posrelatI` of the optional start, then 0-based; past the end
    // is one past it (no match).
    let init = (start_index(opt_int(it, a, 2, "gmatch", 1)?, len) - 1).min(len + 1);
    let t = it.t;
    let state = it.mem(new_table(t, 4, 0))?;
    push(t, state);
    // The subject itself, not a copy (a number: its text).
    let sv = match subject {
        Subject::InPlace(i) => a.get(it, i),
        Subject::Owned(s) => it.string(&s)?,
    };
    super::set_raw(
        it,
        heap::at(t, top(t) - 1),
        Value::small_int(1).expect("1"),
        sv,
    )?;
    let pv = it.string(&p)?;
    super::set_raw(
        it,
        heap::at(t, top(t) - 1),
        Value::small_int(2).expect("2"),
        pv,
    )?;
    let init = it.int(init as i64)?;
    super::set_raw(
        it,
        heap::at(t, top(t) - 1),
        Value::small_int(3).expect("3"),
        init,
    )?;
    // The last match's end, so an empty match is not repeated.
    super::set_raw(
        it,
        heap::at(t, top(t) - 1),
        Value::small_int(4).expect("4"),
        Value::small_int(-1).expect("-1"),
    )?;
    let state = pop(t);
    // One function, as lua5.4's: called by a `for` or directly.
    let f = it.bound_builtin(super::index_of("gmatch_iter"), state)?;
    ret(it, f)
}

pub(super) fn gmatch_iter(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let st = as_table(a.get(it, 0)).expect("the gmatch state");
    let src = as_int(table::raw_get_int(st, 3)).unwrap_or(0) as usize;
    let last = as_int(table::raw_get_int(st, 4)).unwrap_or(-1);
    let mut state = lstr::GmatchState {
        src,
        lastmatch: (last >= 0).then_some(last as usize),
    };
    // The subject and pattern are read in place (nothing allocates until the
    // match is over): copying the subject at every step made a scan of a long
    // string quadratic. Only the match is copied out.
    let (found, s_len) = {
        let s = str_bytes(as_str(table::raw_get_int(st, 1)).expect("a string"));
        let p = str_bytes(as_str(table::raw_get_int(st, 2)).expect("a string"));
        let found = lstr::gmatch_next(s, p, &mut state).map(|m| {
            m.map(|m| {
                let (piece, lo) = match_piece(s, &m);
                (piece, lo, m)
            })
        });
        (found, s.len())
    };
    match found {
        Err(m) => Err(it.throw_here(&m)),
        Ok(None) => {
            let end = it.int(s_len as i64 + 1)?;
            super::set_raw(it, a.get(it, 0), Value::small_int(3).expect("3"), end)?;
            // No more matches: no results (a `for` reads nil), as lua5.4.
            Ok(0)
        }
        Ok(Some((piece, lo, m))) => {
            let np = it.int(state.src as i64)?;
            super::set_raw(it, a.get(it, 0), Value::small_int(3).expect("3"), np)?;
            let last = it.int(state.lastmatch.map_or(-1, |l| l as i64))?;
            super::set_raw(it, a.get(it, 0), Value::small_int(4).expect("4"), last)?;
            push_captures(it, &piece, lo, &m, true)
        }
    }
}

/// Why a gsub replacement failed.
enum GsubError {
    /// A pattern or replacement-string error (raised with the position).
    Msg(String),
    /// A Lua error from the replacement function or `__index`.
    Thrown,
}

impl From<String> for GsubError {
    fn from(m: String) -> Self {
        GsubError::Msg(m)
    }
}

pub(super) fn gsub(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let s = check_str(it, a, 0, "gsub")?;
    let p = check_str(it, a, 1, "gsub")?;
    let repl = a.get(it, 2);
    let rkind = if as_str(repl).is_some() || as_num(repl).is_some() {
        0
    } else if as_table(repl).is_some() {
        1
    } else if repl.as_builtin().is_some()
        || repl.as_object().is_some_and(|o| kind(o) == Kind::Function)
    {
        2
    } else {
        let g = got(it, a, 2);
        return Err(arg_error(
            it,
            2,
            "gsub",
            &format!("string/function/table expected, got {g}"),
        ));
    };
    let max_n = if a.get(it, 3).is_nil() {
        None
    } else {
        Some(check_int(it, a, 3, "gsub")?)
    };
    let repl_str = if rkind == 0 {
        it.concat_piece(repl).expect("a string")
    } else {
        Vec::new()
    };
    let r = lstr::gsub(
        &s,
        &p,
        max_n,
        |m: &Match, out: &mut Vec<u8>| -> Result<(), GsubError> {
            if rkind == 0 {
                return lstr::expand_replacement(&repl_str, &s, m, out).map_err(GsubError::Msg);
            }
            let base = top(it.t);
            let caps = m.values()?;
            for c in &caps {
                let v = match c {
                    Capture::Str(r) => it.string(&s[r.clone()]),
                    Capture::Pos(p) => it.int(*p as i64),
                }
                .map_err(|_| GsubError::Thrown)?;
                push(it.t, v);
            }
            let r = if rkind == 1 {
                let (tab, key) = (a.get(it, 2), heap::at(it.t, base));
                it.index_value(tab, key).map_err(|_| GsubError::Thrown)?
            } else {
                let f = a.get(it, 2);
                let args: Vec<Value> = (0..caps.len()).map(|i| heap::at(it.t, base + i)).collect();
                let rb = top(it.t);
                let nr = it.call_value(f, &args).map_err(|_| GsubError::Thrown)?;
                if nr > 0 {
                    heap::at(it.t, rb)
                } else {
                    Value::NIL
                }
            };
            let piece = if r.is_falsy() {
                s[m.range()].to_vec()
            } else if as_str(r).is_some() || as_num(r).is_some() {
                it.concat_piece(r).expect("a string")
            } else {
                roots(it.t).truncate(base);
                let tn = Interp::type_name(r);
                return Err(GsubError::Msg(format!(
                    "invalid replacement value (a {tn})"
                )));
            };
            roots(it.t).truncate(base);
            out.extend_from_slice(&piece);
            Ok(())
        },
    );
    match r {
        Ok((out, n)) => {
            let v = it.string(&out)?;
            push(it.t, v);
            let c = it.int(n)?;
            push(it.t, c);
            Ok(2)
        }
        Err(GsubError::Msg(m)) => Err(it.throw_here(&m)),
        Err(GsubError::Thrown) => Err(Thrown),
    }
}
