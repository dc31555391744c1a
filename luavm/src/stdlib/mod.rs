//! The standard library: built-in functions (values tagged with their index in
//! [`BUILTINS`]) and the tables that hold them.

mod corolib;
pub mod finalize;
mod iolib;
pub mod lnum;
pub mod lstr;
pub mod os;
mod pack;
mod string;
mod utf8;

use crate::heap::{self, *};
use crate::interp::Interp;
use crate::table;
use crate::value::Value;
use std::io::Write;

/// A built-in: its arguments are root-stack `base..base + n`; it pushes its
/// results and returns how many.
pub type Builtin = fn(&mut Interp<'_>, Args) -> LResult<usize>;

/// Where a built-in's arguments are.
#[derive(Debug, Clone, Copy)]
pub struct Args {
    /// Root-stack index of the first.
    pub base: usize,
    /// How many.
    pub n: usize,
}

/// Every built-in: the table it goes in (`""` for the globals), its name, its
/// code.
pub static BUILTINS: &[(&str, &str, Builtin)] = &[
    ("", "print", b_print),
    ("", "type", b_type),
    ("", "tostring", b_tostring),
    ("", "tonumber", b_tonumber),
    ("", "ipairs", b_ipairs),
    ("", "pairs", b_pairs),
    ("", "next", b_next),
    ("", "select", b_select),
    ("", "error", b_error),
    ("", "assert", b_assert),
    ("", "pcall", b_pcall),
    ("", "xpcall", b_xpcall),
    ("", "setmetatable", b_setmetatable),
    ("", "getmetatable", b_getmetatable),
    ("", "rawget", b_rawget),
    ("", "rawset", b_rawset),
    ("", "rawequal", b_rawequal),
    ("", "rawlen", b_rawlen),
    ("", "collectgarbage", b_collectgarbage),
    ("", "load", b_load),
    ("", "loadfile", b_loadfile),
    ("", "dofile", b_dofile),
    ("", "warn", b_warn),
    ("debug", "traceback", b_traceback),
    ("debug", "getinfo", b_getinfo),
    ("", "require", b_require),
    ("", "ipairs_iter", b_ipairs_iter),
    ("table", "insert", b_tinsert),
    ("table", "remove", b_tremove),
    ("table", "concat", b_tconcat),
    ("table", "unpack", b_tunpack),
    ("table", "pack", b_tpack),
    ("table", "sort", b_tsort),
    ("table", "move", b_tmove),
    ("math", "floor", b_floor),
    ("math", "ceil", b_ceil),
    ("math", "abs", b_abs),
    ("math", "sqrt", b_sqrt),
    ("math", "max", b_max),
    ("math", "min", b_min),
    ("math", "fmod", b_fmod),
    ("math", "modf", b_modf),
    ("math", "log", b_log),
    ("math", "exp", b_exp),
    ("math", "sin", b_sin),
    ("math", "cos", b_cos),
    ("math", "tan", b_tan),
    ("math", "asin", b_asin),
    ("math", "acos", b_acos),
    ("math", "atan", b_atan),
    ("math", "type", b_mtype),
    ("math", "tointeger", b_tointeger),
    ("math", "ult", b_ult),
    ("math", "deg", b_deg),
    ("math", "rad", b_rad),
    ("math", "cosh", b_cosh),
    ("math", "sinh", b_sinh),
    ("math", "tanh", b_tanh),
    ("math", "log10", b_log10),
    ("math", "pow", b_pow),
    ("math", "frexp", b_frexp),
    ("math", "ldexp", b_ldexp),
    ("math", "atan2", b_atan),
    ("math", "random", b_random),
    ("math", "randomseed", b_randomseed),
    ("os", "clock", b_clock),
    ("os", "time", b_time),
    ("os", "date", b_date),
    ("os", "getenv", b_getenv),
    ("os", "exit", b_exit),
    ("os", "remove", iolib::os_remove),
    ("os", "rename", iolib::os_rename),
    ("os", "tmpname", iolib::os_tmpname),
    ("os", "difftime", iolib::os_difftime),
    ("io", "write", iolib::io_write),
    ("io", "read", iolib::io_read),
    ("io", "type", iolib::io_type),
    ("io", "open", iolib::io_open),
    ("io", "lines", iolib::io_lines),
    ("io", "close", iolib::io_close),
    ("io", "input", iolib::io_input),
    ("io", "output", iolib::io_output),
    ("io", "flush", iolib::io_flush),
    ("", "file_write", iolib::file_write),
    ("", "file_read", iolib::file_read),
    ("", "file_lines", iolib::file_lines),
    ("", "file_close", iolib::file_close),
    ("", "file_flush", iolib::file_flush),
    ("", "file_seek", iolib::file_seek),
    ("", "file_setvbuf", iolib::file_setvbuf),
    ("", "file_tostring", iolib::file_tostring),
    // The key of a file's stream (installed nowhere; calling it is
    // `tostring` on its argument).
    ("", "file_handle", iolib::file_tostring),
    ("", "lines_iter", iolib::lines_iter),
    ("string", "len", string::len),
    ("string", "sub", string::sub),
    ("string", "upper", string::upper),
    ("string", "lower", string::lower),
    ("string", "rep", string::rep),
    ("string", "reverse", string::reverse),
    ("string", "byte", string::byte),
    ("string", "char", string::char),
    ("string", "format", string::format),
    ("string", "find", string::find),
    ("string", "match", string::match_),
    ("string", "gmatch", string::gmatch),
    ("string", "gsub", string::gsub),
    ("string", "pack", pack::pack),
    ("string", "unpack", pack::unpack),
    ("string", "packsize", pack::packsize),
    ("", "gmatch_iter", string::gmatch_iter),
    ("utf8", "char", utf8::char),
    ("utf8", "codepoint", utf8::codepoint),
    ("utf8", "len", utf8::len),
    ("utf8", "offset", utf8::offset),
    ("utf8", "codes", utf8::codes),
    ("", "codes_iter", utf8::codes_iter),
    ("", "codes_lax_iter", utf8::codes_lax_iter),
    ("coroutine", "create", corolib::create),
    ("coroutine", "resume", corolib::resume),
    ("coroutine", "yield", corolib::yield_),
    ("coroutine", "wrap", corolib::wrap),
    ("coroutine", "status", corolib::status),
    ("coroutine", "isyieldable", corolib::isyieldable),
    ("coroutine", "running", corolib::running),
    ("coroutine", "close", corolib::close),
    ("", "co_wrapped", corolib::wrapped),
];

/// The index of the built-in called `name` (in any library).
pub(crate) fn index_of(name: &str) -> u32 {
    BUILTINS
        .iter()
        .position(|(_, n, _)| *n == name)
        .expect("a built-in") as u32
}

/// The name of built-in `b` as tracebacks show it (`string.rep`, `print`).
pub fn builtin_name(b: u32) -> String {
    match BUILTINS.get(b as usize) {
        Some(("", n, _)) => n.to_string(),
        Some((lib, n, _)) => format!("{lib}.{n}"),
        None => "?".into(),
    }
}

/// Runs built-in `b`.
pub fn call_builtin(it: &mut Interp<'_>, b: u32, base: usize, n: usize) -> LResult<usize> {
    // A metamethod a built-in calls (`tostring`'s `__tostring`, ...) has no
    // Lua call site.
    it.meta_site = crate::sites::Site::NONE;
    if finalize::pending() {
        finalize::run_pending(it);
    }
    let f = BUILTINS[b as usize].2;
    f(it, Args { base, n })
}

/// Makes the library tables and the globals.
pub fn install(it: &mut Interp<'_>) -> LResult<()> {
    let t = it.t;
    for lib in [
        "string",
        "table",
        "math",
        "os",
        "io",
        "coroutine",
        "package",
        "utf8",
        "debug",
    ] {
        let tab = it.mem(new_table(t, 0, 32))?;
        push(t, tab);
        let k = it.string(lib.as_bytes())?;
        let tab = pop(t);
        set_raw(it, it.globals(), k, tab)?;
    }
    for (i, (lib, name, _)) in BUILTINS.iter().enumerate() {
        if name.ends_with("_iter") || name.starts_with("file_") || name.starts_with("co_") {
            continue;
        }
        let holder = if lib.is_empty() {
            it.globals()
        } else {
            global(it, lib)
        };
        push(t, holder);
        let k = it.string(name.as_bytes())?;
        let holder = pop(t);
        set_raw(it, holder, k, Value::builtin(i as u32))?;
    }
    let math = global(it, "math");
    push(t, math);
    for (name, v) in [
        ("pi", Value::float(std::f64::consts::PI)),
        ("huge", Value::float(f64::INFINITY)),
    ] {
        let k = it.string(name.as_bytes())?;
        set_raw(it, heap::at(t, top(t) - 1), k, v)?;
    }
    for (name, i) in [("maxinteger", i64::MAX), ("mininteger", i64::MIN)] {
        let v = it.int(i)?;
        push(t, v);
        let k = it.string(name.as_bytes())?;
        let v = pop(t);
        set_raw(it, heap::at(t, top(t) - 1), k, v)?;
    }
    pop(t);
    let utf8 = global(it, "utf8");
    push(t, utf8);
    let v = it.string(utf8::CHARPATTERN)?;
    push(t, v);
    let k = it.string(b"charpattern")?;
    let v = pop(t);
    set_raw(it, heap::at(t, top(t) - 1), k, v)?;
    pop(t);
    // The files: io.stdin, io.stdout, io.stderr, the methods.
    let io = global(it, "io");
    iolib::install(it, io)?;
    // _G, _VERSION
    let k = it.string(b"_G")?;
    set_raw(it, it.globals(), k, it.globals())?;
    let v = it.string(b"Lua 5.4")?;
    push(t, v);
    let k = it.string(b"_VERSION")?;
    let v = pop(t);
    set_raw(it, it.globals(), k, v)?;
    // package.path, package.loaded
    let package = global(it, "package");
    push(t, package);
    let v = it.string(b"./?.lua")?;
    push(t, v);
    let k = it.string(b"path")?;
    let v = pop(t);
    set_raw(it, heap::at(t, top(t) - 1), k, v)?;
    let loaded = it.mem(new_table(t, 0, 8))?;
    push(t, loaded);
    let k = it.string(b"loaded")?;
    let loaded = heap::at(t, top(t) - 1);
    set_raw(it, heap::at(t, top(t) - 2), k, loaded)?;
    // The standard modules are loaded, as in lua5.4 (`require "string"`
    // gives the library; tracebacks name their functions from here).
    for name in [
        "_G",
        "string",
        "table",
        "math",
        "os",
        "io",
        "package",
        "coroutine",
        "utf8",
        "debug",
    ] {
        let m = global(it, name);
        if as_table(m).is_some() {
            push(t, m);
            let k = it.string(name.as_bytes())?;
            let m = pop(t);
            set_raw(it, heap::at(t, top(t) - 1), k, m)?;
        }
    }
    pop(t);
    pop(t);
    // The string metatable: __index = string.
    let mt = it.mem(new_table(t, 0, 4))?;
    push(t, mt);
    let k = it.string(b"__index")?;
    let s = global(it, "string");
    set_raw(it, heap::at(t, top(t) - 1), k, s)?;
    let mt = pop(t);
    it.set_string_meta(mt);
    Ok(())
}

fn set_raw(it: &mut Interp<'_>, tab: Value, k: Value, v: Value) -> LResult<()> {
    table::raw_set(it.t, tab, k, v).map_err(|_| it.no_memory())
}

fn global(it: &Interp<'_>, name: &str) -> Value {
    let g = as_table(it.globals()).expect("the globals table");
    table::raw_get_str(g, name.as_bytes())
}

// ---------------------------------------------------------------- arguments

impl Args {
    /// Argument `i` (0-based), nil when absent.
    pub fn get(&self, it: &Interp<'_>, i: usize) -> Value {
        if i < self.n {
            heap::at(it.t, self.base + i)
        } else {
            Value::NIL
        }
    }
}

/// Raises `bad argument #i to 'NAME' (msg)`, NAME as lua5.4 finds it: the
/// name the calling Lua code used, else the library's (`string.rep`).
pub fn arg_error(it: &mut Interp<'_>, i: usize, name: &str, msg: &str) -> Thrown {
    let (fname, method) = match crate::sites::last().and_then(|s| s.name()) {
        Some((n, m)) => (String::from_utf8_lossy(&n).into_owned(), m),
        // A qualified name (`string.pack`) is taken as it is.
        _ if name.contains('.') => (name.to_string(), false),
        _ => {
            let q = BUILTINS
                .iter()
                .find(|(_, n, _)| *n == name)
                .map(|(lib, n, _)| {
                    if lib.is_empty() {
                        n.to_string()
                    } else {
                        format!("{lib}.{n}")
                    }
                })
                .unwrap_or_else(|| name.to_string());
            (q, false)
        }
    };
    if method {
        if i == 0 {
            return it.throw_here(&format!("calling '{fname}' on bad self ({msg})"));
        }
        return it.throw_here(&format!("bad argument #{i} to '{fname}' ({msg})"));
    }
    it.throw_here(&format!("bad argument #{} to '{fname}' ({msg})", i + 1))
}

/// The type name for "X expected, got Y" (`no value` when absent).
pub fn got(it: &Interp<'_>, a: Args, i: usize) -> String {
    if i >= a.n {
        "no value".into()
    } else {
        let v = a.get(it, i);
        match it
            .metatable_of(v)
            .map(|mt| table::raw_get_str(mt, b"__name"))
            .and_then(as_str)
        {
            Some(s) => String::from_utf8_lossy(str_bytes(s)).into_owned(),
            None => Interp::type_name(v).into(),
        }
    }
}

/// A table argument.
pub fn check_table(it: &mut Interp<'_>, a: Args, i: usize, name: &str) -> LResult<Value> {
    let v = a.get(it, i);
    if as_table(v).is_some() {
        return Ok(v);
    }
    let g = got(it, a, i);
    Err(arg_error(it, i, name, &format!("table expected, got {g}")))
}

/// An integer argument (floats with an integer value and numeric strings
/// accepted).
pub fn check_int(it: &mut Interp<'_>, a: Args, i: usize, name: &str) -> LResult<i64> {
    let v = a.get(it, i);
    match Interp::arith_num(v) {
        Some(Num::Int(x)) => Ok(x),
        Some(Num::Float(x)) => match lnum::float_to_int_exact(x) {
            Some(x) => Ok(x),
            None => Err(arg_error(
                it,
                i,
                name,
                "number has no integer representation",
            )),
        },
        None => {
            let g = got(it, a, i);
            Err(arg_error(it, i, name, &format!("number expected, got {g}")))
        }
    }
}

/// An optional integer argument.
pub fn opt_int(it: &mut Interp<'_>, a: Args, i: usize, name: &str, default: i64) -> LResult<i64> {
    if a.get(it, i).is_nil() {
        Ok(default)
    } else {
        check_int(it, a, i, name)
    }
}

/// An optional string argument (numbers converted), `None` when nil or
/// absent.
pub fn opt_str(it: &mut Interp<'_>, a: Args, i: usize, name: &str) -> LResult<Option<Vec<u8>>> {
    if a.get(it, i).is_nil() {
        Ok(None)
    } else {
        check_str(it, a, i, name).map(Some)
    }
}

/// A number argument.
pub fn check_num(it: &mut Interp<'_>, a: Args, i: usize, name: &str) -> LResult<Num> {
    let v = a.get(it, i);
    match Interp::arith_num(v) {
        Some(n) => Ok(n),
        None => {
            let g = got(it, a, i);
            Err(arg_error(it, i, name, &format!("number expected, got {g}")))
        }
    }
}

fn to_f(n: Num) -> f64 {
    match n {
        Num::Int(i) => i as f64,
        Num::Float(x) => x,
    }
}

/// A string argument (numbers converted), as owned bytes.
pub fn check_str(it: &mut Interp<'_>, a: Args, i: usize, name: &str) -> LResult<Vec<u8>> {
    let v = a.get(it, i);
    if as_str(v).is_some() || as_num(v).is_some() {
        return Ok(it.concat_piece(v).expect("a string or number"));
    }
    let g = got(it, a, i);
    Err(arg_error(it, i, name, &format!("string expected, got {g}")))
}

/// Any argument that must be present.
fn check_any(it: &mut Interp<'_>, a: Args, i: usize, name: &str) -> LResult<Value> {
    if i >= a.n {
        return Err(arg_error(it, i, name, "value expected"));
    }
    Ok(a.get(it, i))
}

/// Pushes `v`; returns 1.
fn ret(it: &mut Interp<'_>, v: Value) -> LResult<usize> {
    push(it.t, v);
    Ok(1)
}

/// Writes out what the program wrote and has not yet reached its files and
/// standard output: at exit.
pub fn flush_at_exit(it: &mut Interp<'_>) {
    iolib::flush_files();
    flush(it);
}

/// Flushes buffered output to stdout.
pub fn flush(it: &mut Interp<'_>) {
    if !it.out.is_empty() {
        let mut so = std::io::stdout().lock();
        let _ = so.write_all(&it.out);
        let _ = so.flush();
        it.out.clear();
    }
}

// ---------------------------------------------------------------- base

fn b_print(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    for i in 0..a.n {
        if i > 0 {
            it.out.push(b'\t');
        }
        let v = a.get(it, i);
        let s = it.tostring(v)?;
        it.out.extend_from_slice(&s);
    }
    it.out.push(b'\n');
    if it.out.len() > 1 << 16 {
        flush(it);
    }
    Ok(0)
}

fn b_type(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let v = check_any(it, a, 0, "type")?;
    let s = it.constant_bytes(Interp::type_name(v).as_bytes())?;
    ret(it, s)
}

fn b_tostring(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let v = check_any(it, a, 0, "tostring")?;
    let s = it.tostring(v)?;
    let s = it.string(&s)?;
    ret(it, s)
}

fn b_tonumber(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let v = a.get(it, 0);
    if a.get(it, 1).is_nil() {
        check_any(it, a, 0, "tonumber")?;
        if as_num(v).is_some() {
            return ret(it, v);
        }
        return match as_str(v).and_then(|s| lnum::str_to_number(str_bytes(s))) {
            Some(lnum::Num::Int(i)) => {
                let v = it.int(i)?;
                ret(it, v)
            }
            Some(lnum::Num::Float(x)) => ret(it, Value::float(x)),
            None => ret(it, Value::NIL),
        };
    }
    // As lua5.4: the base must be an integer, the value a string, then the
    // base in range.
    let base = check_int(it, a, 1, "tonumber")?;
    let Some(s) = as_str(v) else {
        let g = got(it, a, 0);
        return Err(arg_error(
            it,
            0,
            "tonumber",
            &format!("string expected, got {g}"),
        ));
    };
    if !(2..=36).contains(&base) {
        return Err(arg_error(it, 1, "tonumber", "base out of range"));
    }
    match lnum::str_to_int_base(str_bytes(s), base as u32) {
        Some(i) => {
            let v = it.int(i)?;
            ret(it, v)
        }
        None => ret(it, Value::NIL),
    }
}

fn b_ipairs(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let v = check_any(it, a, 0, "ipairs")?;
    push(it.t, Value::builtin(index_of("ipairs_iter")));
    push(it.t, v);
    push(it.t, Value::small_int(0).expect("0"));
    Ok(3)
}

fn b_ipairs_iter(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let t = a.get(it, 0);
    let i = as_int(a.get(it, 1)).unwrap_or(0).wrapping_add(1);
    let k = it.int(i)?;
    let v = match as_table(t) {
        Some(tab) if table::metatable(tab).is_none() => table::raw_get_int(tab, i),
        _ => match it.index_value(t, k) {
            Ok(v) => v,
            Err(crate::interp::IndexError::Thrown) => return Err(Thrown),
            Err(_) => {
                // Raised inside the iterator (a C function in lua5.4): no
                // position.
                let tn = Interp::type_name(t);
                return Err(it.throw_msg(&format!("attempt to index a {tn} value")));
            }
        },
    };
    if v.is_nil() {
        return ret(it, Value::NIL);
    }
    push(it.t, v);
    let k = it.int(i)?;
    let v = pop(it.t);
    push(it.t, k);
    push(it.t, v);
    Ok(2)
}

fn b_pairs(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let v = check_any(it, a, 0, "pairs")?;
    if let Some(m) = it.metamethod(v, b"__pairs") {
        let base = top(it.t);
        let n = it.call_value(m, &[v])?;
        for i in n..3 {
            let _ = i;
            push(it.t, Value::NIL);
        }
        roots(it.t).truncate(base + 3);
        return Ok(3);
    }
    // As lua5.4: any value without `__pairs` gives `next, v, nil` (a
    // non-table fails when the loop calls `next`).
    push(it.t, Value::builtin(index_of("next")));
    push(it.t, v);
    push(it.t, Value::NIL);
    Ok(3)
}

fn b_next(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let t = check_table(it, a, 0, "next")?;
    let k = a.get(it, 1);
    match table::next(as_table(t).expect("a table"), k) {
        Ok(Some((k, v))) => {
            push(it.t, k);
            push(it.t, v);
            Ok(2)
        }
        Ok(None) => ret(it, Value::NIL),
        // Raised inside the C function, as lua5.4 does: no position.
        Err(table::NoSuchKey) => Err(it.throw_msg("invalid key to 'next'")),
    }
}

fn b_select(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let first = a.get(it, 0);
    if as_str(first).is_some_and(|s| str_bytes(s) == b"#") {
        let v = it.int(a.n as i64 - 1)?;
        return ret(it, v);
    }
    let n = check_int(it, a, 0, "select")?;
    let count = a.n as u64 - 1;
    let Some(start) = select_start(n, count) else {
        return Err(arg_error(it, 0, "select", "index out of range"));
    };
    for i in start..count {
        let v = a.get(it, 1 + i as usize);
        push(it.t, v);
    }
    Ok((count - start) as usize)
}

/// The first of `count` arguments `select(n, ...)` returns (0-based), or
/// `None` when `n` is out of range: 0, or below `-count` (`math.mininteger`
/// included). Shared by [`b_select`] and compiled code's fast call.
pub(crate) fn select_start(n: i64, count: u64) -> Option<u64> {
    match n {
        0 => None,
        n if n < 0 => count.checked_sub(n.unsigned_abs()),
        n => Some((n as u64 - 1).min(count)),
    }
}

fn b_error(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let v = a.get(it, 0);
    let level = opt_int(it, a, 1, "error", 1)?;
    Err(raise_at_level(it, v, level))
}

/// Raises `v` as `error(v, level)` does: a string gets the position of the
/// call `level` levels up (1: the call of the built-in raising it), when
/// that is a Lua function's.
fn raise_at_level(it: &mut Interp<'_>, v: Value, level: i64) -> Thrown {
    if let (Some(s), true) = (as_str(v), level > 0) {
        let lvl = level as usize;
        if let Some(site) = crate::sites::len()
            .checked_sub(lvl)
            .and_then(crate::sites::get)
            .and_then(|s| s.position())
        {
            let mut m = site.into_bytes();
            m.push(b' ');
            m.extend_from_slice(str_bytes(s));
            return match it.string(&m) {
                Ok(e) => it.throw(e),
                Err(thrown) => thrown,
            };
        }
    }
    it.throw(v)
}

fn b_assert(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let v = check_any(it, a, 0, "assert")?;
    if !v.is_falsy() {
        for i in 0..a.n {
            let v = a.get(it, i);
            push(it.t, v);
        }
        return Ok(a.n);
    }
    // The message (any value, nil included when given) or the default one,
    // raised as `error` raises it (lua5.4's `assert` calls `error`): a string
    // with the caller's position.
    let m = if a.n >= 2 {
        a.get(it, 1)
    } else {
        it.string(b"assertion failed!")?
    };
    Err(raise_at_level(it, m, 1))
}

/// Calls the function at root-stack `fpos` with the `nargs` values above it,
/// catching a Lua error: `Ok(n)` with `true` and the `n - 1` results from
/// `fpos` on, or `Err(error value)` with the stack cut back to `fpos`.
fn protected_call(it: &mut Interp<'_>, fpos: usize, nargs: usize) -> Result<usize, Value> {
    protected_call_as(it, crate::sites::Site::PROTECTED, fpos, nargs)
}

/// [`protected_call`] with the call recorded as `site` ([`Site::NONE`] for a
/// call a coroutine may not yield across).
///
/// [`Site::NONE`]: crate::sites::Site::NONE
fn protected_call_as(
    it: &mut Interp<'_>,
    site: crate::sites::Site,
    fpos: usize,
    nargs: usize,
) -> Result<usize, Value> {
    let t = it.t;
    let sites = crate::sites::len();
    match it.call_recorded(site, fpos, nargs) {
        Ok(n) => {
            // [true, results...]
            roots(t).insert(fpos, Value::TRUE.0);
            Ok(n + 1)
        }
        Err(Thrown) => {
            it.caught();
            crate::sites::truncate(sites);
            roots(t).truncate(fpos);
            Err(it.error_value())
        }
    }
}

fn b_pcall(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    check_any(it, a, 0, "pcall")?;
    let t = it.t;
    let fpos = top(t);
    for i in 0..a.n {
        let v = a.get(it, i);
        push(t, v);
    }
    match protected_call(it, fpos, a.n - 1) {
        Ok(n) => Ok(n),
        // `coroutine.close` unwinding the coroutine: not caught.
        Err(_) if it.closing => Err(Thrown),
        Err(e) => {
            push(t, Value::FALSE);
            push(t, e);
            Ok(2)
        }
    }
}

fn b_xpcall(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    // As lua5.4: the message handler must be a function.
    if !crate::interp::is_function(a.get(it, 1)) {
        let g = got(it, a, 1);
        return Err(arg_error(
            it,
            1,
            "xpcall",
            &format!("function expected, got {g}"),
        ));
    }
    let t = it.t;
    let fpos = top(t);
    let f = a.get(it, 0);
    push(t, f);
    for i in 2..a.n {
        let v = a.get(it, i);
        push(t, v);
    }
    match protected_call(it, fpos, a.n.saturating_sub(2)) {
        Ok(n) => Ok(n),
        Err(_) if it.closing => Err(Thrown),
        Err(e) => {
            let h = a.get(it, 1);
            let base = top(t);
            push(t, Value::FALSE);
            // The handler's call record will be the next one.
            let lines = std::mem::take(&mut it.caught_traceback);
            it.handlers.push((crate::sites::len(), lines));
            let n = it.call_value(h, &[e]);
            it.handlers.pop();
            // A handler that fails: lua5.4's LUA_ERRERR.
            let Ok(n) = n else {
                if it.closing {
                    return Err(Thrown);
                }
                roots(t).truncate(base + 1);
                let m = it.string(b"error in error handling")?;
                push(t, m);
                return Ok(2);
            };
            let v = if n > 0 {
                heap::at(t, base + 1)
            } else {
                Value::NIL
            };
            roots(t).truncate(base + 1);
            push(t, v);
            Ok(2)
        }
    }
}

fn b_setmetatable(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let t = check_table(it, a, 0, "setmetatable")?;
    let mt = a.get(it, 1);
    if a.n < 2 || (!mt.is_nil() && as_table(mt).is_none()) {
        let g = got(it, a, 1);
        let msg = format!("nil or table expected, got {g}");
        return Err(arg_error(it, 1, "setmetatable", &msg));
    }
    let tab = as_table(t).expect("a table");
    if let Some(old) = table::metatable(tab) {
        if !table::raw_get_str(old, b"__metatable").is_nil() {
            return Err(it.throw_here("cannot change a protected metatable"));
        }
    }
    table::set_metatable(it.t, tab, mt);
    // A __mode field makes the table weak.
    if let Some(mode) = as_table(mt)
        .map(|m| table::raw_get_str(m, b"__mode"))
        .and_then(as_str)
    {
        let mode = str_bytes(mode);
        let bits = if mode.contains(&b'k') { WEAK_KEYS } else { 0 }
            | if mode.contains(&b'v') { WEAK_VALUES } else { 0 };
        if bits != 0 {
            if !vmkit::gc::is_heap_ready() {
                vmkit::gc::wait_heap_ready();
            }
            let tab = a.get(it, 0);
            table::make_weak(it.t, tab, bits).map_err(|_| it.no_memory())?;
        }
    }
    let (t, mt) = (a.get(it, 0), a.get(it, 1));
    // A __gc field now marks the table for finalization.
    if as_table(mt).is_some_and(|m| !table::raw_get_str(m, b"__gc").is_nil()) {
        finalize::mark(it, t)?;
    }
    ret(it, a.get(it, 0))
}

fn b_getmetatable(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let v = check_any(it, a, 0, "getmetatable")?;
    match it.metatable_of(v) {
        Some(mt) => {
            let p = table::raw_get_str(mt, b"__metatable");
            if !p.is_nil() {
                return ret(it, p);
            }
            ret(it, Value::object(mt))
        }
        None => ret(it, Value::NIL),
    }
}

fn b_rawget(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let t = check_table(it, a, 0, "rawget")?;
    let k = a.get(it, 1);
    let v = table::raw_get(as_table(t).expect("a table"), k);
    ret(it, v)
}

fn b_rawset(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let t = check_table(it, a, 0, "rawset")?;
    let (k, v) = (a.get(it, 1), a.get(it, 2));
    match table::raw_set(it.t, t, k, v) {
        Ok(()) => ret(it, a.get(it, 0)),
        Err(table::KeyError::Nil) => Err(it.throw_here("table index is nil")),
        Err(table::KeyError::NaN) => Err(it.throw_here("table index is NaN")),
        Err(table::KeyError::NoMemory) => Err(it.no_memory()),
    }
}

fn b_rawequal(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let (x, y) = (a.get(it, 0), a.get(it, 1));
    ret(it, Value::boolean(raw_equal(x, y)))
}

fn b_rawlen(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let v = a.get(it, 0);
    let n = if let Some(t) = as_table(v) {
        table::length(t)
    } else if let Some(s) = as_str(v) {
        heap::len(s) as i64
    } else {
        let g = got(it, a, 0);
        return Err(arg_error(
            it,
            0,
            "rawlen",
            &format!("table or string expected, got {g}"),
        ));
    };
    let v = it.int(n)?;
    ret(it, v)
}

thread_local! {
    /// `collectgarbage("generational")` was asked for last (not "incremental");
    /// the standalone lua5.4 starts in generational mode.
    static GC_MODE: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
    /// Not stopped by `collectgarbage("stop")` (what "isrunning" answers; the
    /// collector itself runs whenever the heap needs it).
    static GC_RUNNING: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

fn b_collectgarbage(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let opt = if a.get(it, 0).is_nil() {
        b"collect".to_vec()
    } else {
        check_str(it, a, 0, "collectgarbage")?
    };
    match &opt[..] {
        b"collect" => {
            it.t.collect();
            finalize::run_queued(it);
            let v = it.int(0)?;
            ret(it, v)
        }
        // As lua5.4: whether a step finished a cycle (one runs in full here:
        // a step finishes none of lua5.4's), and the mode in use before
        // (luavm's collector has no modes to switch: the answers follow what
        // the program asked for, as lua5.4's do).
        b"step" => {
            finalize::run_queued(it);
            ret(it, Value::FALSE)
        }
        b"incremental" | b"generational" => {
            let before = GC_MODE.with(|m| m.replace(opt[0] == b'g'));
            let s = it.string(if before {
                b"generational"
            } else {
                b"incremental"
            })?;
            ret(it, s)
        }
        b"count" => {
            let used = vmkit::gc::used_bytes() as f64 / 1024.0;
            ret(it, Value::float(used))
        }
        b"isrunning" => ret(it, Value::boolean(GC_RUNNING.with(|r| r.get()))),
        b"stop" | b"restart" => {
            GC_RUNNING.with(|r| r.set(&opt[..] == b"restart"));
            let v = it.int(0)?;
            ret(it, v)
        }
        b"setpause" | b"setstepmul" => {
            let v = it.int(0)?;
            ret(it, v)
        }
        _ => {
            let o = String::from_utf8_lossy(&opt).into_owned();
            Err(arg_error(
                it,
                0,
                "collectgarbage",
                &format!("invalid option '{o}'"),
            ))
        }
    }
}

/// `load(chunk [, chunkname [, mode [, env]]])`: a string, or a reader
/// function called until it returns nil or an empty string (all of it read
/// before parsing); `mode` "t" and "bt" accept text, "b" only binary chunks
/// (which luavm cannot load); `env`, when given (nil too), is the chunk's
/// `_ENV`. A failure is `nil, message`.
fn b_load(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let chunk = a.get(it, 0);
    let from_string = as_str(chunk).is_some() || as_num(chunk).is_some();
    if !from_string && !crate::interp::is_function(chunk) {
        let g = got(it, a, 0);
        return Err(arg_error(
            it,
            0,
            "load",
            &format!("function expected, got {g}"),
        ));
    }
    let name = opt_str(it, a, 1, "load")?;
    let mode = opt_str(it, a, 2, "load")?.unwrap_or_else(|| b"bt".to_vec());
    let src = if from_string {
        it.concat_piece(chunk).expect("a string or number")
    } else {
        let mut src = Vec::new();
        loop {
            let t = it.t;
            let base = top(t);
            let f = a.get(it, 0);
            let piece = match protected_call_value(it, f) {
                Ok(n) => {
                    let v = if n > 0 { heap::at(t, base) } else { Value::NIL };
                    roots(t).truncate(base);
                    v
                }
                Err(e) => return load_failure(it, e),
            };
            if piece.is_nil() {
                break;
            }
            match it.concat_piece(piece) {
                Some(p) if p.is_empty() => break,
                Some(p) => src.extend_from_slice(&p),
                None => {
                    let m = match crate::sites::last().and_then(|s| s.position()) {
                        Some(w) => format!("{w} reader function must return a string"),
                        None => "reader function must return a string".into(),
                    };
                    let m = it.string(m.as_bytes())?;
                    return load_failure(it, m);
                }
            }
        }
        src
    };
    let name = match name {
        None if from_string => crate::chunkname_for_string(&src),
        None => "(load)".to_string(),
        Some(n) => {
            let n = String::from_utf8_lossy(&n).into_owned();
            match n.strip_prefix('=').or_else(|| n.strip_prefix('@')) {
                Some(rest) => rest.to_string(),
                None => crate::chunkname_for_string(n.as_bytes()),
            }
        }
    };
    let env = (a.n >= 4).then_some(3);
    load_chunk(it, a, &src, &name, &mode, env)
}

/// The end of `load` and `loadfile`: compiles `src` (chunk name `name`) if
/// `mode` allows its kind, as a function whose upvalue 0 is argument `env`
/// when given; pushes it, or fail and the message.
fn load_chunk(
    it: &mut Interp<'_>,
    a: Args,
    src: &[u8],
    name: &str,
    mode: &[u8],
    env: Option<usize>,
) -> LResult<usize> {
    let mode_s = String::from_utf8_lossy(mode).into_owned();
    let binary = src.first() == Some(&0x1b);
    let (kind, letter) = if binary {
        ("binary", b'b')
    } else {
        ("text", b't')
    };
    if !mode.contains(&letter) {
        let m =
            it.string(format!("attempt to load a {kind} chunk (mode is '{mode_s}')").as_bytes())?;
        return load_failure(it, m);
    }
    if binary {
        let m = it.string(format!("{name}: luavm cannot load binary chunks").as_bytes())?;
        return load_failure(it, m);
    }
    let with_env = env.is_some();
    let parsed = if with_env {
        crate::lang::parser::parse_chunk_with_env(name, src)
    } else {
        crate::lang::parser::parse_chunk(name, src)
    };
    match parsed {
        Ok(f) => {
            let c = it.load_function(f)?;
            if with_env {
                // Upvalue 0 of the chunk: a cell holding `env`.
                let t = it.t;
                push(t, c);
                let cell = t
                    .alloc(&heap::CELL, vmkit::HEADER_SIZE + 8)
                    .map_err(|_| NoMemory);
                let cell = it.mem(cell)?;
                heap::set_word(cell, vmkit::HEADER_SIZE, Value::NIL.0);
                let env = a.get(it, env.expect("an environment"));
                heap::set(t, cell, vmkit::HEADER_SIZE, env);
                let c = pop(t);
                let o = c.as_object().expect("a closure");
                heap::set(t, o, elem(1), Value::object(cell));
                return ret(it, c);
            }
            ret(it, c)
        }
        Err(e) => {
            let m = it.string(e.message.as_bytes())?;
            load_failure(it, m)
        }
    }
}

/// `loadfile([name [, mode [, env]]])`: a file's chunk (standard input's
/// without a name), or fail and why.
fn b_loadfile(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let name = opt_str(it, a, 0, "loadfile")?;
    let mode = opt_str(it, a, 1, "loadfile")?.unwrap_or_else(|| b"bt".to_vec());
    let env = (a.n >= 3).then_some(2);
    let (src, chunkname) = match read_chunk(name.as_deref()) {
        Ok(r) => r,
        Err(msg) => {
            let m = it.string(msg.as_bytes())?;
            return load_failure(it, m);
        }
    };
    load_chunk(
        it,
        a,
        crate::lang::skip_prefix(&src),
        &chunkname,
        &mode,
        env,
    )
}

/// The bytes of file `name` (standard input without one) and its chunk
/// name, or lua5.4's message for a file it cannot read.
fn read_chunk(name: Option<&[u8]>) -> Result<(Vec<u8>, String), String> {
    match name {
        None => {
            let mut src = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut src)
                .map_err(|e| format!("cannot read stdin: {e}"))?;
            Ok((src, "stdin".to_string()))
        }
        Some(n) => {
            let file = String::from_utf8_lossy(n).into_owned();
            match std::fs::read(&file) {
                Ok(src) => Ok((src, file)),
                Err(e) => {
                    let (text, _) = iolib::os_error(&e);
                    let what = if e.kind() == std::io::ErrorKind::NotFound
                        || e.kind() == std::io::ErrorKind::PermissionDenied
                    {
                        "open"
                    } else {
                        "read"
                    };
                    Err(format!("cannot {what} {file}: {text}"))
                }
            }
        }
    }
}

thread_local! {
    /// Whether `warn` writes its messages (`warn("@on")`; off at start, as in
    /// the `lua` command).
    static WARNINGS_ON: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `warn(msg, ...)`: "Lua warning: " and the pieces on standard error when
/// warnings are on; a single piece "@on" or "@off" turns them on or off
/// (other "@" pieces alone are ignored).
fn b_warn(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let mut msg = check_str(it, a, 0, "warn")?;
    for i in 1..a.n {
        let piece = check_str(it, a, i, "warn")?;
        msg.extend_from_slice(&piece);
    }
    if a.n == 1 && msg.first() == Some(&b'@') {
        match &msg[1..] {
            b"on" => WARNINGS_ON.with(|w| w.set(true)),
            b"off" => WARNINGS_ON.with(|w| w.set(false)),
            _ => {}
        }
        return Ok(0);
    }
    if WARNINGS_ON.with(|w| w.get()) {
        let mut e = std::io::stderr().lock();
        let _ = e.write_all(b"Lua warning: ");
        let _ = e.write_all(&msg);
        let _ = e.write_all(b"\n");
    }
    Ok(0)
}

/// `debug.traceback([msg [, level]])`: `msg` (a value that is neither a
/// string nor a number comes back as it is), then "stack traceback:" and a
/// line per frame from `level` (1: the caller) on, as lua5.4's
/// `luaL_traceback` (the first 10 and the last 11 when there are more). In
/// an `xpcall` message handler the frames the error unwound come first, as
/// lua5.4's handler still has them on its stack.
fn b_traceback(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    // `debug.traceback([thread,] [msg [, level]])`.
    let (thread, first) = thread_arg(it, a);
    let msg = a.get(it, first);
    if !msg.is_nil() && as_str(msg).is_none() && as_num(msg).is_none() {
        return ret(it, msg);
    }
    let other = thread.filter(|o| crate::coro::status(*o) != crate::coro::Status::Running);
    let default = if other.is_some() { 0 } else { 1 };
    let level = opt_int(it, a, first + 1, "traceback", default)?;
    let mut lines: Vec<String> = Vec::new();
    match other {
        None => {
            if level <= 0 {
                lines.push("\t[C]: in function 'debug.traceback'".into());
            }
            traceback_lines(it, true, &mut lines);
        }
        Some(o) => {
            // Another thread's records, read in place: its level 0 is the
            // built-in it is suspended in (`coroutine.yield`, `resume`).
            if let Some(b) = crate::coro::saved_sites(o) {
                crate::sites::with_records(b, || {
                    if let Some(last) = crate::sites::last() {
                        lines.push(format!("\t[C]: in {}", last.builtin_frame_name()));
                    }
                    traceback_lines(it, false, &mut lines);
                });
            }
        }
    }
    let skip = if other.is_some() {
        level.max(0) as usize
    } else {
        (level - 1).max(0) as usize
    };
    let lines = lines.get(skip..).unwrap_or(&[]);
    let mut out: Vec<u8> = Vec::new();
    if !msg.is_nil() {
        out.extend_from_slice(&it.concat_piece(msg).expect("a string or number"));
        out.push(b'\n');
    }
    out.extend_from_slice(b"stack traceback:");
    // luaL_traceback's count: with more than 22 levels, the first 10, the
    // last 11, and "skipping" one fewer than it leaves out.
    let n = lines.len();
    for (k, l) in lines.iter().enumerate() {
        if n > 22 && k == 10 {
            out.extend_from_slice(format!("\n\t...\t(skipping {} levels)", n - 22).as_bytes());
        }
        if n > 22 && (10..n - 11).contains(&k) {
            continue;
        }
        out.push(b'\n');
        out.extend_from_slice(l.as_bytes());
    }
    let s = it.string(&out)?;
    ret(it, s)
}

/// A first argument that is a coroutine (`debug.traceback(co, ...)`,
/// `debug.getinfo(co, ...)`), and the index of the argument after it.
fn thread_arg(it: &Interp<'_>, a: Args) -> (Option<vmkit::ObjectReference>, usize) {
    let thread = a
        .get(it, 0)
        .as_object()
        .filter(|o| kind(*o) == Kind::Thread);
    (thread, usize::from(thread.is_some()))
}

/// What `debug.getinfo` tells of a function or a frame.
struct Info {
    short_src: String,
    what: &'static str,
    line_defined: i64,
    last_line: i64,
    current: i64,
    nups: i64,
    nparams: i64,
    vararg: bool,
    name: Option<(&'static str, String)>,
    tail: bool,
}

impl Info {
    /// A built-in's.
    fn builtin() -> Info {
        Info {
            short_src: "[C]".into(),
            what: "C",
            line_defined: -1,
            last_line: -1,
            current: -1,
            nups: 0,
            nparams: 0,
            vararg: true,
            name: None,
            tail: false,
        }
    }

    /// A Lua function's, of prototype `p`.
    fn lua(p: &crate::lang::ast::Function) -> Info {
        let main = p.name == "main chunk";
        Info {
            short_src: p.source.to_string(),
            what: if main { "main" } else { "Lua" },
            line_defined: p.line as i64,
            last_line: if main { 0 } else { p.last_line as i64 },
            current: -1,
            nups: p.upvalues.len() as i64 + i64::from(p.has_env),
            nparams: p.params as i64,
            vararg: p.is_vararg,
            name: None,
            tail: false,
        }
    }

    /// lua5.4's `source`: `@FILE` for a file, `=NAME` for standard input or
    /// `=NAME` chunk names; a string chunk's own text is not kept (its short
    /// form is given).
    fn source(&self) -> String {
        match self.what {
            "C" => "=[C]".into(),
            _ if self.short_src.starts_with('[') => self.short_src.clone(),
            _ if self.short_src == "stdin" => "=stdin".into(),
            _ => format!("@{}", self.short_src),
        }
    }
}

/// The frame `level` levels up the running thread's calls (0: the running
/// built-in, named by `innermost`), if there is one.
fn frame_info(level: usize) -> Option<Info> {
    let bottom = crate::sites::frame_bottom();
    let len = crate::sites::len();
    if level == 0 {
        let mut i = Info::builtin();
        i.name = crate::sites::last().and_then(|s| s.name_what());
        return Some(i);
    }
    let idx = len.checked_sub(level).filter(|&i| i >= bottom)?;
    let r = crate::sites::get(idx)?;
    let by = crate::sites::caller_of(idx);
    // SAFETY: prototypes live for the process's life.
    let mut info = match unsafe { r.proto.as_ref() } {
        Some(p) => {
            let mut i = Info::lua(p);
            i.current = r.line as i64;
            if i.what != "main" {
                i.name = by.name_what();
            }
            i
        }
        None => {
            let mut i = Info::builtin();
            i.name = by.name_what();
            i
        }
    };
    info.tail = by.is_tail();
    Some(info)
}

/// `debug.getinfo([thread,] f [, what])`: a table of what `what` asks
/// (`S l u n t r f`; `L` is not kept, `f` is given for a function, not for
/// a level), or nil past the outermost level.
fn b_getinfo(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let (thread, first) = thread_arg(it, a);
    let target = a.get(it, first);
    let what = opt_str(it, a, first + 1, "debug.getinfo")?.unwrap_or(b"flnSrtu".to_vec());
    if let Some(&c) = what.iter().find(|c| !b"SlnrutfL".contains(c)) {
        let msg = format!("invalid option '{}'", c as char);
        return Err(arg_error(it, first + 1, "debug.getinfo", &msg));
    }
    let t = it.t;
    let is_fn = target.as_builtin().is_some()
        || target
            .as_object()
            .is_some_and(|o| kind(o) == Kind::Function);
    let info = if is_fn {
        match target
            .as_object()
            .and_then(|o| get(o, elem(0)).as_small_int())
            .filter(|&i| i >= 0)
        {
            Some(pi) => Info::lua(&it.protos[pi as usize].0.clone()),
            None => Info::builtin(),
        }
    } else {
        let level = match Interp::arith_num(target) {
            Some(Num::Int(l)) => l,
            Some(Num::Float(x)) if x.fract() == 0.0 => x as i64,
            _ => {
                let g = got(it, a, first);
                let msg = format!("number expected, got {g}");
                return Err(arg_error(it, first, "debug.getinfo", &msg));
            }
        };
        let other = thread.filter(|o| crate::coro::status(*o) != crate::coro::Status::Running);
        let found = if level < 0 {
            None
        } else if let Some(o) = other {
            // Another thread's records, read in place (its level 0 is the
            // built-in it is suspended in).
            crate::coro::saved_sites(o)
                .and_then(|b| crate::sites::with_records(b, || frame_info(level as usize)))
        } else {
            frame_info(level as usize)
        };
        match found {
            Some(i) => i,
            None => return ret(it, Value::NIL),
        }
    };
    let tab = it.mem(new_table(t, 0, 16))?;
    push(t, tab);
    let has = |c: u8| what.contains(&c);
    let mut fields: Vec<(&str, Value)> = Vec::new();
    let mut strings: Vec<(&str, String)> = Vec::new();
    if has(b'S') {
        strings.push(("source", info.source()));
        strings.push(("short_src", info.short_src.clone()));
        strings.push(("what", info.what.into()));
        fields.push((
            "linedefined",
            Value::small_int(info.line_defined).expect("small"),
        ));
        fields.push((
            "lastlinedefined",
            Value::small_int(info.last_line).expect("small"),
        ));
    }
    if has(b'l') {
        fields.push((
            "currentline",
            Value::small_int(info.current).expect("small"),
        ));
    }
    if has(b'u') {
        fields.push(("nups", Value::small_int(info.nups).expect("small")));
        fields.push(("nparams", Value::small_int(info.nparams).expect("small")));
        fields.push(("isvararg", Value::boolean(info.vararg)));
    }
    if has(b'n') {
        match &info.name {
            Some((w, n)) => {
                strings.push(("namewhat", (*w).into()));
                strings.push(("name", n.clone()));
            }
            None => strings.push(("namewhat", String::new())),
        }
    }
    if has(b't') {
        fields.push(("istailcall", Value::boolean(info.tail)));
    }
    if has(b'r') {
        fields.push(("ftransfer", Value::small_int(0).expect("small")));
        fields.push(("ntransfer", Value::small_int(0).expect("small")));
    }
    if has(b'f') && is_fn {
        fields.push(("func", a.get(it, first)));
    }
    for (k, v) in fields {
        let key = it.string(k.as_bytes())?;
        // The function argument may have moved: read it again.
        let v = if k == "func" { a.get(it, first) } else { v };
        set_raw(it, heap::at(t, top(t) - 1), key, v)?;
    }
    for (k, v) in strings {
        let key = it.string(k.as_bytes())?;
        push(t, key);
        let val = it.string(v.as_bytes())?;
        let key = pop(t);
        set_raw(it, heap::at(t, top(t) - 1), key, val)?;
    }
    Ok(1)
}

/// The running thread's frames, innermost first, as traceback lines (with
/// the frames `xpcall` handlers' errors unwound when `handlers`). The
/// outermost record is the main chunk's call by luavm ("[C]: in ?"), or a
/// coroutine's call of its function (no line: lua5.4 shows none).
fn traceback_lines(it: &mut Interp<'_>, handlers: bool, lines: &mut Vec<String>) {
    let bottom = crate::sites::frame_bottom();
    let mut i = crate::sites::len();
    while i > bottom {
        i -= 1;
        let r = crate::sites::get(i).expect("below the length");
        let by = crate::sites::caller_of(i);
        if handlers {
            if let Some(h) = it.handlers.iter().rev().find(|h| h.0 == i) {
                lines.extend(h.1.iter().cloned());
            }
        }
        if r.is_tail() {
            lines.push("\t(...tail calls...)".into());
            continue;
        }
        // SAFETY: prototypes live for the process's life.
        match unsafe { r.proto.as_ref() } {
            Some(p) => {
                let name = match it.loaded_function_name(p) {
                    Some(g) if p.name != "main chunk" => format!("function '{g}'"),
                    _ => by.frame_name(p),
                };
                lines.push(format!("\t{}:{}: in {}", p.source, r.line, name));
            }
            None => lines.push(format!("\t[C]: in {}", by.builtin_frame_name())),
        }
    }
}

/// `dofile([name])`: runs a file's chunk (standard input's without a name)
/// and returns what it returns; its errors propagate.
fn b_dofile(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let name = opt_str(it, a, 0, "dofile")?;
    let (src, chunkname) = match read_chunk(name.as_deref()) {
        Ok(r) => r,
        Err(msg) => return Err(it.throw_msg(&msg)),
    };
    let f = match crate::lang::parse(&chunkname, &src) {
        Ok(f) => f,
        Err(e) => return Err(it.throw_msg(&e.message)),
    };
    let base = top(it.t);
    let c = it.load_function(f)?;
    push(it.t, c);
    it.call_from_builtin(base, 0)
}

/// `nil, message` (`load`'s failure).
fn load_failure(it: &mut Interp<'_>, msg: Value) -> LResult<usize> {
    push(it.t, Value::NIL);
    push(it.t, msg);
    Ok(2)
}

/// Calls `f` with no arguments, catching a Lua error: `Ok(n)` results on
/// the top, or `Err(error value)`. For `load`'s reader, which lua5.4 does
/// not let yield.
fn protected_call_value(it: &mut Interp<'_>, f: Value) -> Result<usize, Value> {
    let fpos = top(it.t);
    push(it.t, f);
    protected_call_as(it, crate::sites::Site::NONE, fpos, 0).map(|n| {
        // Drop the `true` protected_call puts first.
        roots(it.t).remove(fpos);
        n - 1
    })
}

fn b_require(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let name = check_str(it, a, 0, "require")?;
    let package = global(it, "package");
    let loaded = as_table(package)
        .map(|p| table::raw_get_str(p, b"loaded"))
        .unwrap_or(Value::NIL);
    if let Some(l) = as_table(loaded) {
        let v = table::raw_get_str(l, &name);
        if !v.is_nil() {
            return ret(it, v);
        }
    }
    let path = as_table(package)
        .map(|p| table::raw_get_str(p, b"path"))
        .and_then(as_str)
        .map(|s| str_bytes(s).to_vec())
        .unwrap_or_else(|| b"./?.lua".to_vec());
    let modname = String::from_utf8_lossy(&name).replace('.', "/");
    let mut tried = String::new();
    for templ in String::from_utf8_lossy(&path).split(';') {
        let file = templ.replace('?', &modname);
        match std::fs::read(&file) {
            Ok(src) => {
                let f = match crate::lang::parse(&file, &src) {
                    Ok(f) => f,
                    Err(e) => {
                        let n = String::from_utf8_lossy(&name).into_owned();
                        return Err(it.throw_here(&format!(
                            "error loading module '{n}' from file '{file}':\n\t{}",
                            e.message
                        )));
                    }
                };
                // The chunk and its two arguments go on the stack as they are
                // made (each allocation may move the ones before).
                let base = top(it.t);
                let c = it.load_function(f)?;
                push(it.t, c);
                let nm = it.string(&name)?;
                push(it.t, nm);
                let file_v = it.string(file.as_bytes())?;
                push(it.t, file_v);
                let n = it.call_from_builtin(base, 2)?;
                let mut v = if n > 0 {
                    heap::at(it.t, base)
                } else {
                    Value::NIL
                };
                roots(it.t).truncate(base);
                if v.is_nil() {
                    v = Value::TRUE;
                }
                // package.loaded[name] = v (unless the module set it).
                push(it.t, v);
                let loaded =
                    as_table(global(it, "package")).map(|p| table::raw_get_str(p, b"loaded"));
                if let Some(l) = loaded.filter(|l| as_table(*l).is_some()) {
                    push(it.t, l);
                    let k = it.string(&name)?;
                    let l = pop(it.t);
                    let existing = table::raw_get(as_table(l).expect("a table"), k);
                    if existing.is_nil() {
                        let v = heap::at(it.t, top(it.t) - 1);
                        set_raw(it, l, k, v)?;
                    } else {
                        let top_i = top(it.t) - 1;
                        heap::set_at(it.t, top_i, existing);
                    }
                }
                let v = pop(it.t);
                push(it.t, v);
                let f = it.string(file.as_bytes())?;
                push(it.t, f);
                return Ok(2);
            }
            Err(_) => tried.push_str(&format!("\n\tno file '{file}'")),
        }
    }
    let n = String::from_utf8_lossy(&name).into_owned();
    Err(it.throw_here(&format!(
        "module '{n}' not found:\n\tno field package.preload['{n}']{tried}"
    )))
}

// ---------------------------------------------------------------- table

/// `t[i]` as lua5.4's table library reads it (`lua_geti`): with `__index`
/// when the table has a metatable.
fn tab_get(it: &mut Interp<'_>, t: Value, i: i64) -> LResult<Value> {
    let tab = as_table(t).expect("a table");
    if table::metatable(tab).is_none() {
        return Ok(table::raw_get_int(tab, i));
    }
    let k = it.int(i)?;
    it.index_value(t, k).map_err(|e| match e.message() {
        Some(m) => it.throw_msg(&m),
        None => Thrown,
    })
}

/// `t[i] = v` as lua5.4's table library writes it (`lua_seti`): with
/// `__newindex` when the table has a metatable.
fn tab_set(it: &mut Interp<'_>, t: Value, i: i64, v: Value) -> LResult<()> {
    let k = it.int(i)?;
    let tab = as_table(t).expect("a table");
    if table::metatable(tab).is_none() {
        return set_raw(it, t, k, v);
    }
    it.set_index_value(t, k, v).map_err(|e| match e {
        crate::interp::SetError::Thrown => Thrown,
        // An integer key: only memory can fail.
        crate::interp::SetError::Key(_) => it.no_memory(),
        e => it.throw_msg(&e.message().expect("a message of its own")),
    })
}

/// `#t` as lua5.4's table library takes it (`luaL_len`): with `__len`, whose
/// result must be an integer.
fn tab_len(it: &mut Interp<'_>, t: Value) -> LResult<i64> {
    let tab = as_table(t).expect("a table");
    let Some(m) = table::metatable(tab).and_then(|_| it.metamethod(t, b"__len")) else {
        return Ok(table::length(tab));
    };
    let base = top(it.t);
    let n = it.call_value(m, &[t])?;
    let v = if n > 0 {
        heap::at(it.t, base)
    } else {
        Value::NIL
    };
    roots(it.t).truncate(base);
    let len = as_int(v).or_else(|| v.as_float().and_then(lnum::float_to_int_exact));
    len.ok_or_else(|| it.throw_msg("object length is not an integer"))
}

fn b_tinsert(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let t = check_table(it, a, 0, "insert")?;
    let n = tab_len(it, t)?;
    match a.n {
        2 => {
            let v = a.get(it, 1);
            tab_set(it, a.get(it, 0), n.wrapping_add(1), v)?;
        }
        3 => {
            let pos = check_int(it, a, 1, "insert")?;
            if (pos as u64).wrapping_sub(1) >= (n as u64).wrapping_add(1) {
                return Err(arg_error(it, 1, "insert", "position out of bounds"));
            }
            let mut i = n;
            while i >= pos {
                let v = tab_get(it, a.get(it, 0), i)?;
                tab_set(it, a.get(it, 0), i + 1, v)?;
                i -= 1;
            }
            let v = a.get(it, 2);
            tab_set(it, a.get(it, 0), pos, v)?;
        }
        _ => return Err(it.throw_here("wrong number of arguments to 'insert'")),
    }
    Ok(0)
}

fn b_tremove(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let t = check_table(it, a, 0, "remove")?;
    let n = tab_len(it, t)?;
    let pos = opt_int(it, a, 1, "remove", n)?;
    // As lua5.4: a position other than the size must be in [1, size + 1]
    // (0 for an empty table is its size); lua 5.4.4 names argument #1.
    if a.n >= 2 && n != pos && (pos as u64).wrapping_sub(1) > n as u64 {
        return Err(arg_error(it, 0, "remove", "position out of bounds"));
    }
    let v = tab_get(it, a.get(it, 0), pos)?;
    push(it.t, v);
    let mut i = pos;
    while i < n {
        let nv = tab_get(it, a.get(it, 0), i + 1)?;
        tab_set(it, a.get(it, 0), i, nv)?;
        i += 1;
    }
    // As lua5.4: t[pos] = nil even past the end (t[0] of an empty table).
    tab_set(it, a.get(it, 0), i, Value::NIL)?;
    Ok(1)
}

fn b_tconcat(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let t = check_table(it, a, 0, "concat")?;
    let sep = if a.get(it, 1).is_nil() {
        Vec::new()
    } else {
        check_str(it, a, 1, "concat")?
    };
    let i = opt_int(it, a, 2, "concat", 1)?;
    let j = if a.get(it, 3).is_nil() {
        tab_len(it, t)?
    } else {
        check_int(it, a, 3, "concat")?
    };
    let mut out = Vec::new();
    let mut k = i;
    while k <= j {
        let v = tab_get(it, a.get(it, 0), k)?;
        if as_str(v).is_none() && as_num(v).is_none() {
            let tn = Interp::type_name(v);
            return Err(it.throw_here(&format!(
                "invalid value ({tn}) at index {k} in table for 'concat'"
            )));
        }
        out.extend_from_slice(&it.concat_piece(v).expect("a string or number"));
        if k < j {
            out.extend_from_slice(&sep);
        }
        if k == i64::MAX {
            break;
        }
        k += 1;
    }
    let s = it.string(&out)?;
    ret(it, s)
}

fn b_tunpack(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let t = a.get(it, 0);
    let i = opt_int(it, a, 1, "unpack", 1)?;
    let j = if a.get(it, 2).is_nil() {
        match as_table(t) {
            Some(_) => tab_len(it, t)?,
            None => {
                let g = got(it, a, 0);
                return Err(arg_error(
                    it,
                    0,
                    "unpack",
                    &format!("table expected, got {g}"),
                ));
            }
        }
    } else {
        check_int(it, a, 2, "unpack")?
    };
    if i > j {
        return Ok(0);
    }
    let n = (j as i128 - i as i128 + 1) as u128;
    if n >= 1_000_000 {
        return Err(it.throw_here("too many results to unpack"));
    }
    for k in i..=j {
        let v = match as_table(a.get(it, 0)) {
            Some(_) => tab_get(it, a.get(it, 0), k)?,
            None => Value::NIL,
        };
        push(it.t, v);
    }
    Ok(n as usize)
}

fn b_tpack(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let tab = it.mem(new_table(it.t, a.n, 1))?;
    push(it.t, tab);
    for i in 0..a.n {
        let v = a.get(it, i);
        // Into the array part, holes and all, as lua5.4's table.pack.
        if table::set_positional(it.t, heap::at(it.t, top(it.t) - 1), i as i64 + 1, v).is_err() {
            return Err(it.no_memory());
        }
    }
    let k = it.string(b"n")?;
    let n = it.int(a.n as i64)?;
    set_raw(it, heap::at(it.t, top(it.t) - 1), k, n)?;
    Ok(1)
}

fn b_tmove(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    check_table(it, a, 0, "move")?;
    let f = check_int(it, a, 1, "move")?;
    let e = check_int(it, a, 2, "move")?;
    let tpos = check_int(it, a, 3, "move")?;
    let dest = if a.get(it, 4).is_nil() { 0 } else { 4 };
    if dest == 4 {
        check_table(it, a, 4, "move")?;
    }
    if e >= f {
        // As lua5.4: the count and the destination's last index must be
        // integers.
        if !(f > 0 || e < i64::MAX + f) {
            return Err(arg_error(it, 2, "move", "too many elements to move"));
        }
        let count = e - f;
        if tpos > i64::MAX - count {
            return Err(arg_error(it, 3, "move", "destination wrap around"));
        }
        let forward = tpos > e || tpos <= f || dest == 4;
        for k in 0..=count {
            let k = if forward { k } else { count - k };
            let v = tab_get(it, a.get(it, 0), f + k)?;
            tab_set(it, a.get(it, dest), tpos + k, v)?;
        }
    }
    ret(it, a.get(it, dest))
}

/// `table.sort`: lua5.4's quicksort (ltablib.c's `auxsort`), step for step,
/// on the table itself, so that elements the order does not tell apart end in
/// lua5.4's order and an invalid order function is detected where lua5.4
/// detects it. (lua5.4 randomizes the pivot of a partition found too
/// unbalanced from the clock; here that pivot comes from the interval's
/// bounds, deterministically.) Through `__index`/`__newindex`/`__len` as
/// lua5.4's.
fn b_tsort(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let t = check_table(it, a, 0, "sort")?;
    let n = tab_len(it, t)?;
    if n > 1 {
        if n >= i32::MAX as i64 {
            return Err(arg_error(it, 0, "sort", "array too big"));
        }
        let cmp = a.get(it, 1);
        if !cmp.is_nil() && !crate::interp::is_function(cmp) {
            let g = got(it, a, 1);
            return Err(arg_error(
                it,
                1,
                "sort",
                &format!("function expected, got {g}"),
            ));
        }
        let base = top(it.t);
        let r = Sort { a, cmp }.auxsort(it, 1, n as u64, 0);
        roots(it.t).truncate(base);
        r?;
    }
    Ok(0)
}

/// lua5.4's sort on the table in argument 0, with the values it holds on the
/// Lua stack kept on the root stack (where the comparator's collections
/// update them), pushed and popped as ltablib.c does.
struct Sort {
    a: Args,
    cmp: Value,
}

impl Sort {
    /// Pushes `t[i]`.
    fn geti(&self, it: &mut Interp<'_>, i: u64) -> LResult<()> {
        let v = tab_get(it, self.a.get(it, 0), i as i64)?;
        push(it.t, v);
        Ok(())
    }

    /// Pops a value into `t[i]`.
    fn seti(&self, it: &mut Interp<'_>, i: u64) -> LResult<()> {
        let v = heap::at(it.t, top(it.t) - 1);
        tab_set(it, self.a.get(it, 0), i as i64, v)?;
        roots(it.t).truncate(top(it.t) - 1);
        Ok(())
    }

    fn set2(&self, it: &mut Interp<'_>, i: u64, j: u64) -> LResult<()> {
        self.seti(it, i)?;
        self.seti(it, j)
    }

    /// Whether the value `x` slots below the top is less than the one `y`
    /// below it (1: the top).
    fn comp(&self, it: &mut Interp<'_>, x: usize, y: usize) -> LResult<bool> {
        let t = top(it.t);
        let (vx, vy) = (heap::at(it.t, t - x), heap::at(it.t, t - y));
        sort_less(it, self.cmp, vx, vy)
    }

    fn pop(&self, it: &mut Interp<'_>, n: usize) {
        roots(it.t).truncate(top(it.t) - n);
    }

    fn invalid(&self, it: &mut Interp<'_>) -> Thrown {
        it.throw_msg("invalid order function for sorting")
    }

    fn partition(&self, it: &mut Interp<'_>, lo: u64, up: u64) -> LResult<u64> {
        let mut i = lo;
        let mut j = up - 1;
        loop {
            loop {
                i += 1;
                self.geti(it, i)?;
                if !self.comp(it, 1, 2)? {
                    break;
                }
                if i == up - 1 {
                    return Err(self.invalid(it));
                }
                self.pop(it, 1);
            }
            loop {
                j = j.wrapping_sub(1);
                self.geti(it, j)?;
                if !self.comp(it, 3, 1)? {
                    break;
                }
                if j < i {
                    return Err(self.invalid(it));
                }
                self.pop(it, 1);
            }
            if j < i {
                self.pop(it, 1);
                self.set2(it, up - 1, i)?;
                return Ok(i);
            }
            self.set2(it, i, j)?;
        }
    }

    fn auxsort(&self, it: &mut Interp<'_>, mut lo: u64, mut up: u64, mut rnd: u32) -> LResult<()> {
        while lo < up {
            self.geti(it, lo)?;
            self.geti(it, up)?;
            if self.comp(it, 1, 2)? {
                self.set2(it, lo, up)?;
            } else {
                self.pop(it, 2);
            }
            if up - lo == 1 {
                break;
            }
            let mut p = if up - lo < 100 || rnd == 0 {
                (lo + up) / 2
            } else {
                let r4 = (up - lo) / 4;
                u64::from(rnd) % (r4 * 2) + (lo + r4)
            };
            self.geti(it, p)?;
            self.geti(it, lo)?;
            if self.comp(it, 2, 1)? {
                self.set2(it, p, lo)?;
            } else {
                self.pop(it, 1);
                self.geti(it, up)?;
                if self.comp(it, 1, 2)? {
                    self.set2(it, p, up)?;
                } else {
                    self.pop(it, 2);
                }
            }
            if up - lo == 2 {
                break;
            }
            self.geti(it, p)?;
            let pv = heap::at(it.t, top(it.t) - 1);
            push(it.t, pv);
            self.geti(it, up - 1)?;
            self.set2(it, p, up - 1)?;
            p = self.partition(it, lo, up)?;
            let n;
            if p - lo < up - p {
                self.auxsort(it, lo, p - 1, rnd)?;
                n = p - lo;
                lo = p + 1;
            } else {
                self.auxsort(it, p + 1, up, rnd)?;
                n = up - p;
                up = p - 1;
            }
            if (up.wrapping_sub(lo)) / 128 > n {
                // lua5.4 takes a new random pivot seed from the clock.
                rnd = ((lo.wrapping_mul(0x9E37_79B9) ^ up.wrapping_mul(0x85EB_CA6B)) as u32) | 1;
            }
        }
        Ok(())
    }
}

fn sort_less(it: &mut Interp<'_>, cmp: Value, x: Value, y: Value) -> LResult<bool> {
    if cmp.is_nil() {
        if let (Some(a), Some(b)) = (as_num(x), as_num(y)) {
            return Ok(crate::interp::num_less(a, b, false));
        }
        if let (Some(a), Some(b)) = (as_str(x), as_str(y)) {
            return Ok(str_bytes(a) < str_bytes(b));
        }
        if let Some(m) = it
            .metamethod(x, b"__lt")
            .or_else(|| it.metamethod(y, b"__lt"))
        {
            let base = top(it.t);
            let n = it.call_value(m, &[x, y])?;
            let r = n > 0 && !heap::at(it.t, base).is_falsy();
            roots(it.t).truncate(base);
            return Ok(r);
        }
        let (ta, tb) = (Interp::type_name(x), Interp::type_name(y));
        let msg = if ta == tb {
            format!("attempt to compare two {ta} values")
        } else {
            format!("attempt to compare {ta} with {tb}")
        };
        return Err(it.throw_msg(&msg));
    }
    let base = top(it.t);
    let n = it.call_value(cmp, &[x, y])?;
    let r = n > 0 && !heap::at(it.t, base).is_falsy();
    roots(it.t).truncate(base);
    Ok(r)
}

// ---------------------------------------------------------------- math

fn float_or_int(it: &mut Interp<'_>, x: f64) -> LResult<Value> {
    match lnum::float_to_int_exact(x) {
        Some(i) => it.int(i),
        None => Ok(Value::float(x)),
    }
}

fn b_floor(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let v = match check_num_math(it, a, 0, "floor")? {
        Num::Int(i) => it.int(i)?,
        Num::Float(x) => float_or_int(it, x.floor())?,
    };
    ret(it, v)
}

fn b_ceil(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let v = match check_num_math(it, a, 0, "ceil")? {
        Num::Int(i) => it.int(i)?,
        Num::Float(x) => float_or_int(it, x.ceil())?,
    };
    ret(it, v)
}

/// A number argument as lua5.4's math library sees it: an integer only if it
/// is one (`lua_isinteger`), a numeric string always as a float.
fn check_num_math(it: &mut Interp<'_>, a: Args, i: usize, name: &str) -> LResult<Num> {
    let n = check_num(it, a, i, name)?;
    Ok(match (as_num(a.get(it, i)), n) {
        (Some(Num::Int(_)), n) => n,
        (_, n) => Num::Float(to_f(n)),
    })
}

fn b_abs(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let v = match check_num_math(it, a, 0, "abs")? {
        Num::Int(i) => it.int(i.wrapping_abs())?,
        Num::Float(x) => Value::float(x.abs()),
    };
    ret(it, v)
}

macro_rules! float_fn {
    ($name:ident, $lua:literal, $f:expr) => {
        fn $name(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
            let x = to_f(check_num(it, a, 0, $lua)?);
            let f: fn(f64) -> f64 = $f;
            ret(it, Value::float(f(x)))
        }
    };
}
float_fn!(b_sqrt, "sqrt", f64::sqrt);
float_fn!(b_exp, "exp", f64::exp);
float_fn!(b_sin, "sin", f64::sin);
float_fn!(b_cos, "cos", f64::cos);
float_fn!(b_tan, "tan", f64::tan);
float_fn!(b_asin, "asin", f64::asin);
float_fn!(b_acos, "acos", f64::acos);
float_fn!(b_deg, "deg", |x| x * (180.0 / std::f64::consts::PI));
float_fn!(b_rad, "rad", |x| x * (std::f64::consts::PI / 180.0));
// lua5.4's compatibility functions (LUA_COMPAT_MATHLIB, on in Debian's lua5.4).
float_fn!(b_cosh, "cosh", f64::cosh);
float_fn!(b_sinh, "sinh", f64::sinh);
float_fn!(b_tanh, "tanh", f64::tanh);
float_fn!(b_log10, "log10", f64::log10);

fn b_pow(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let x = to_f(check_num(it, a, 0, "pow")?);
    let y = to_f(check_num(it, a, 1, "pow")?);
    ret(it, Value::float(x.powf(y)))
}

/// `math.frexp(x)`: `m, e` with `x == m * 2^e` and `0.5 <= |m| < 1` (C's
/// `frexp`: zero, infinities and NaN come back with exponent 0).
fn b_frexp(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let x = to_f(check_num(it, a, 0, "frexp")?);
    let (m, e) = lnum::frexp(x);
    push(it.t, Value::float(m));
    let e = it.int(e as i64)?;
    push(it.t, e);
    Ok(2)
}

/// `math.ldexp(m, e)`: `m * 2^e` rounded once (C's `ldexp`; `e` converted to
/// a C `int` as lua5.4 does).
fn b_ldexp(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let m = to_f(check_num(it, a, 0, "ldexp")?);
    let e = check_int(it, a, 1, "ldexp")? as i32;
    ret(it, Value::float(lnum::scalbn(m, e)))
}

fn b_atan(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let y = to_f(check_num(it, a, 0, "atan")?);
    let x = if a.get(it, 1).is_nil() {
        1.0
    } else {
        to_f(check_num(it, a, 1, "atan")?)
    };
    ret(it, Value::float(y.atan2(x)))
}

fn b_log(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let x = to_f(check_num(it, a, 0, "log")?);
    let r = if a.get(it, 1).is_nil() {
        x.ln()
    } else {
        let b = to_f(check_num(it, a, 1, "log")?);
        if b == 2.0 {
            x.log2()
        } else if b == 10.0 {
            x.log10()
        } else {
            x.ln() / b.ln()
        }
    };
    ret(it, Value::float(r))
}

/// `math.max`/`math.min` as lua5.4: any values compared with `<` (strings
/// too, metamethods included), the winner returned as it is.
fn minmax(it: &mut Interp<'_>, a: Args, name: &str, want_max: bool) -> LResult<usize> {
    if a.n == 0 {
        return Err(arg_error(it, 0, name, "value expected"));
    }
    let mut bi = 0;
    for i in 1..a.n {
        let (best, x) = (a.get(it, bi), a.get(it, i));
        let better = if want_max {
            sort_less(it, Value::NIL, best, x)?
        } else {
            sort_less(it, Value::NIL, x, best)?
        };
        if better {
            bi = i;
        }
    }
    ret(it, a.get(it, bi))
}

fn b_max(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    minmax(it, a, "max", true)
}

fn b_min(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    minmax(it, a, "min", false)
}

fn b_fmod(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    // lua5.4 (gcc) checks the second argument first on the float path.
    let y = check_num_math(it, a, 1, "fmod")?;
    let x = check_num_math(it, a, 0, "fmod")?;
    let v = match (x, y) {
        (Num::Int(x), Num::Int(y)) => {
            if y == 0 {
                return Err(arg_error(it, 1, "fmod", "zero"));
            }
            it.int(if y == -1 { 0 } else { x % y })?
        }
        (x, y) => Value::float(to_f(x) % to_f(y)),
    };
    ret(it, v)
}

fn b_modf(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let x = to_f(check_num(it, a, 0, "modf")?);
    let ip = if x.is_infinite() { x } else { x.trunc() };
    let fp = if x.is_infinite() { 0.0 } else { x - ip };
    // As lua5.4: an integer argument is its own integer part; a float's is an
    // integer when it fits one (`pushnumint`), else a float.
    if as_int(a.get(it, 0)).is_some() {
        push(it.t, a.get(it, 0));
        push(it.t, Value::float(0.0));
        return Ok(2);
    }
    let iv = float_or_int(it, ip)?;
    push(it.t, iv);
    push(it.t, Value::float(fp));
    Ok(2)
}

fn b_mtype(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let v = check_any(it, a, 0, "type")?;
    let s: &[u8] = match as_num(v) {
        Some(Num::Int(_)) => b"integer",
        Some(Num::Float(_)) => b"float",
        None => return ret(it, Value::NIL),
    };
    let s = it.string(s)?;
    ret(it, s)
}

fn b_tointeger(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let v = check_any(it, a, 0, "tointeger")?;
    let r = match as_num(v) {
        Some(Num::Int(_)) => v,
        Some(Num::Float(x)) => match lnum::float_to_int_exact(x) {
            Some(i) => it.int(i)?,
            None => Value::NIL,
        },
        None => match as_str(v).and_then(|s| lnum::str_to_number(str_bytes(s))) {
            Some(lnum::Num::Int(i)) => it.int(i)?,
            Some(lnum::Num::Float(x)) => match lnum::float_to_int_exact(x) {
                Some(i) => it.int(i)?,
                None => Value::NIL,
            },
            None => Value::NIL,
        },
    };
    ret(it, r)
}

fn b_ult(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let (x, y) = (check_int(it, a, 0, "ult")?, check_int(it, a, 1, "ult")?);
    ret(it, Value::boolean((x as u64) < (y as u64)))
}

thread_local! {
    static RNG: std::cell::Cell<[u64; 4]> = const { std::cell::Cell::new([0x2545F4914F6CDD1D, 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB]) };
}

/// xoshiro256** (the generator of Lua 5.4's math.random).
fn next_rand() -> u64 {
    RNG.with(|c| {
        let mut s = c.get();
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        c.set(s);
        result
    })
}

fn b_random(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let r = next_rand();
    let (lo, hi) = match a.n {
        0 => {
            return ret(
                it,
                Value::float((r >> 11) as f64 * (0.5 / (1u64 << 52) as f64)),
            )
        }
        1 => {
            let hi = check_int(it, a, 0, "random")?;
            if hi == 0 {
                // math.random(0): a whole random integer.
                let v = it.int(r as i64)?;
                return ret(it, v);
            }
            (1, hi)
        }
        _ => (
            check_int(it, a, 0, "random")?,
            check_int(it, a, 1, "random")?,
        ),
    };
    if lo > hi {
        return Err(arg_error(it, 0, "random", "interval is empty"));
    }
    // Project into [0, hi - lo] as lua5.4's `project` does.
    let lim = (hi as u64).wrapping_sub(lo as u64);
    let mut rv = r;
    let v = if lim & lim.wrapping_add(1) == 0 {
        rv & lim
    } else {
        let mut m = lim;
        m |= m >> 1;
        m |= m >> 2;
        m |= m >> 4;
        m |= m >> 8;
        m |= m >> 16;
        m |= m >> 32;
        loop {
            let x = rv & m;
            if x <= lim {
                break x;
            }
            rv = next_rand();
        }
    };
    let v = it.int((lo as u64).wrapping_add(v) as i64)?;
    ret(it, v)
}

fn b_randomseed(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let n1 = if a.n == 0 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0)
    } else {
        match check_num(it, a, 0, "randomseed")? {
            Num::Int(i) => i,
            Num::Float(x) => x.to_bits() as i64,
        }
    };
    let n2 = opt_int(it, a, 1, "randomseed", 0)?;
    RNG.with(|c| c.set([n1 as u64, 0xff, n2 as u64, 0]));
    for _ in 0..16 {
        next_rand();
    }
    Ok(0)
}

// ---------------------------------------------------------------- os, io

fn b_clock(it: &mut Interp<'_>, _a: Args) -> LResult<usize> {
    let mut ts = std::mem::MaybeUninit::<[i64; 2]>::uninit();
    let _ = &mut ts;
    let secs = cpu_time();
    ret(it, Value::float(secs))
}

/// Process CPU time in seconds.
fn cpu_time() -> f64 {
    // /proc/self/stat fields 14 and 15: user and system time in clock ticks.
    if let Ok(s) = std::fs::read_to_string("/proc/self/stat") {
        if let Some(rest) = s.rsplit(')').next() {
            let f: Vec<&str> = rest.split_whitespace().collect();
            if f.len() > 13 {
                let u: f64 = f[11].parse().unwrap_or(0.0);
                let sy: f64 = f[12].parse().unwrap_or(0.0);
                return (u + sy) / 100.0;
            }
        }
    }
    0.0
}

fn b_time(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    if a.get(it, 0).is_nil() {
        let s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let v = it.int(s)?;
        return ret(it, v);
    }
    check_table(it, a, 0, "time")?;
    // As lua5.4: year, month and day required; hour 12, min and sec 0 by
    // default; every field an int once the year's 1900 and the month's 1 are
    // taken off.
    let mut f = os::Fields {
        year: date_field(it, a, "year", None, 1900)?,
        month: date_field(it, a, "month", None, 1)?,
        day: date_field(it, a, "day", None, 0)?,
        hour: date_field(it, a, "hour", Some(12), 0)?,
        min: date_field(it, a, "min", Some(0), 0)?,
        sec: date_field(it, a, "sec", Some(0), 0)?,
        isdst: None,
    };
    f.year += 1900;
    f.month += 1;
    let k = it.string(b"isdst")?;
    let dst = match it.index_value(a.get(it, 0), k) {
        Ok(v) => v,
        Err(_) => return Err(Thrown),
    };
    f.isdst = (!dst.is_nil()).then(|| !dst.is_falsy());
    let r = os::mktime(f);
    if let Some((_, tm)) = &r {
        // The table gets the normalized fields.
        set_date_fields(it, a.get(it, 0), tm)?;
    }
    match r {
        Some((t, _)) if t != -1 => {
            let v = it.int(t)?;
            ret(it, v)
        }
        _ => Err(it.throw_here("time result cannot be represented in this installation")),
    }
}

/// A field of `os.time`'s table (lua5.4's `getfield`), minus `delta`.
fn date_field(
    it: &mut Interp<'_>,
    a: Args,
    name: &str,
    default: Option<i64>,
    delta: i64,
) -> LResult<i64> {
    let k = it.string(name.as_bytes())?;
    let v = match it.index_value(a.get(it, 0), k) {
        Ok(v) => v,
        Err(_) => return Err(Thrown),
    };
    let n = match Interp::arith_num(v) {
        Some(Num::Int(i)) => Some(i),
        Some(Num::Float(x)) => lnum::float_to_int_exact(x),
        None => None,
    };
    match n {
        Some(n) => {
            let fits = if n >= 0 {
                n - delta <= i32::MAX as i64
            } else {
                i32::MIN as i64 + delta <= n
            };
            if !fits {
                return Err(it.throw_here(&format!("field '{name}' is out-of-bound")));
            }
            Ok(n - delta)
        }
        None if !v.is_nil() => Err(it.throw_here(&format!("field '{name}' is not an integer"))),
        None => match default {
            Some(d) => Ok(d),
            None => Err(it.throw_here(&format!("field '{name}' missing in date table"))),
        },
    }
}

/// Sets the fields of a date table (`os.date("*t")`, `os.time`'s argument).
fn set_date_fields(it: &mut Interp<'_>, tab: Value, tm: &os::Tm) -> LResult<()> {
    let t = it.t;
    push(t, tab);
    let fields = [
        ("year", tm.year),
        ("month", tm.month),
        ("day", tm.day),
        ("hour", tm.hour),
        ("min", tm.min),
        ("sec", tm.sec),
        ("yday", tm.yday),
        ("wday", tm.wday + 1),
    ];
    for (name, n) in fields {
        let v = it.int(n)?;
        push(t, v);
        let k = it.string(name.as_bytes())?;
        let v = pop(t);
        set_raw(it, heap::at(t, top(t) - 1), k, v)?;
    }
    let k = it.string(b"isdst")?;
    set_raw(it, heap::at(t, top(t) - 1), k, Value::boolean(tm.isdst))?;
    pop(t);
    Ok(())
}

fn b_date(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let fmt = if a.get(it, 0).is_nil() {
        b"%c".to_vec()
    } else {
        check_str(it, a, 0, "date")?
    };
    let t = if a.get(it, 1).is_nil() {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    } else {
        check_int(it, a, 1, "date")?
    };
    let (utc, spec) = match fmt.strip_prefix(b"!") {
        Some(rest) => (true, rest),
        None => (false, &fmt[..]),
    };
    let tm = if utc { os::gmtime(t) } else { os::localtime(t) };
    let Some(tm) = tm else {
        return Err(it.throw_here("date result cannot be represented in this installation"));
    };
    if spec == b"*t" {
        let tab = it.mem(new_table(it.t, 0, 9))?;
        push(it.t, tab);
        set_date_fields(it, tab, &tm)?;
        return Ok(1);
    }
    match os::strftime(spec, &tm) {
        Ok(s) => {
            let v = it.string(&s)?;
            ret(it, v)
        }
        Err(rest) => {
            let msg = format!(
                "invalid conversion specifier '%{}'",
                String::from_utf8_lossy(&rest)
            );
            Err(arg_error(it, 0, "date", &msg))
        }
    }
}

fn b_getenv(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let k = check_str(it, a, 0, "getenv")?;
    match std::env::var_os(String::from_utf8_lossy(&k).as_ref()) {
        Some(v) => {
            let s = it.string(v.to_string_lossy().as_bytes())?;
            ret(it, s)
        }
        None => ret(it, Value::NIL),
    }
}

fn b_exit(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let v = a.get(it, 0);
    let code = if v.is_nil() || v == Value::TRUE {
        0
    } else if v == Value::FALSE {
        1
    } else {
        check_int(it, a, 0, "exit")? as i32
    };
    // `close` true: the state is closed first, as lua_close does (the
    // pending to-be-closed variables are closed, then every finalizer still
    // due runs).
    if !a.get(it, 1).is_falsy() {
        let _ = it.close_variables(0, Ok(crate::interp::Flow::Normal));
        finalize::close(it);
    }
    flush_at_exit(it);
    std::process::exit(code)
}

/// The bytes `write` writes for argument `i`: a string, or a number (floats
/// as "%.14g", without the ".0" `tostring` adds).
pub(super) fn write_piece(it: &mut Interp<'_>, a: Args, i: usize) -> LResult<Vec<u8>> {
    if let Some(x) = a.get(it, i).as_float() {
        let s = lnum::fmt_float(x);
        let s = match s.strip_suffix(".0") {
            Some(int) if int.bytes().all(|c| c.is_ascii_digit() || c == b'-') => int.to_string(),
            _ => s,
        };
        return Ok(s.into_bytes());
    }
    check_str(it, a, i, "write")
}

/// Writes arguments `from..` to standard output (buffered).
pub(super) fn write_args(it: &mut Interp<'_>, a: Args, from: usize) -> LResult<()> {
    for i in from..a.n {
        let s = write_piece(it, a, i)?;
        it.out.extend_from_slice(&s);
    }
    if it.out.len() > 1 << 16 {
        flush(it);
    }
    Ok(())
}

/// Reads the formats in arguments `from..` from `input` (none: a line), as
/// lua5.4's `g_read`: each gives one value, and reading stops at the first
/// that fails (its value nil).
pub(super) fn read_formats(
    it: &mut Interp<'_>,
    a: Args,
    from: usize,
    mut input: &mut dyn std::io::BufRead,
) -> LResult<usize> {
    let given = a.n.saturating_sub(from);
    let count = given.max(1);
    for k in 0..count {
        let i = from + k;
        let v = if given == 0 {
            read_line(it, &mut input, false)?
        } else if let Some(n) = a.get(it, i).as_small_int() {
            read_chars(it, &mut input, n.max(0) as usize)?
        } else {
            let fmt = check_str(it, a, i, "read")?;
            let fmt = fmt.strip_prefix(b"*").unwrap_or(&fmt);
            match fmt.first() {
                Some(b'n') => read_number(it, &mut input)?,
                Some(b'l') => read_line(it, &mut input, false)?,
                Some(b'L') => read_line(it, &mut input, true)?,
                Some(b'a') => {
                    let mut all = Vec::new();
                    let _ = std::io::Read::read_to_end(&mut input, &mut all);
                    it.string(&all)?
                }
                _ => return Err(arg_error(it, i, "read", "invalid format")),
            }
        };
        push(it.t, v);
        if v.is_nil() {
            return Ok(k + 1);
        }
    }
    Ok(count)
}

/// The next byte of `input` without taking it (`None` at the end).
fn peek_byte(input: &mut (impl std::io::BufRead + ?Sized)) -> Option<u8> {
    input.fill_buf().ok().and_then(|b| b.first().copied())
}

/// A line (with its newline when `keep`); nil at the end of the input.
fn read_line(it: &mut Interp<'_>, input: &mut impl std::io::BufRead, keep: bool) -> LResult<Value> {
    let mut line = Vec::new();
    match input.read_until(b'\n', &mut line) {
        Ok(0) | Err(_) => Ok(Value::NIL),
        Ok(_) => {
            if !keep && line.last() == Some(&b'\n') {
                line.pop();
            }
            it.string(&line)
        }
    }
}

/// Up to `n` bytes; nil at the end of the input (for 0: "" unless at the
/// end).
fn read_chars(it: &mut Interp<'_>, input: &mut impl std::io::BufRead, n: usize) -> LResult<Value> {
    if n == 0 {
        return if peek_byte(input).is_some() {
            it.string(b"")
        } else {
            Ok(Value::NIL)
        };
    }
    let mut buf = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::io::Read::take(&mut *input, n as u64), &mut buf);
    if buf.is_empty() {
        Ok(Value::NIL)
    } else {
        it.string(&buf)
    }
}

/// A numeral as lua5.4's `read_number` takes it: spaces skipped, then the
/// longest prefix that can start a numeral (sign, `0x`, digits, point,
/// exponent; at most 200 bytes); nil when it is not a number. The byte after
/// it stays unread.
fn read_number(it: &mut Interp<'_>, input: &mut impl std::io::BufRead) -> LResult<Value> {
    while peek_byte(input).is_some_and(|c| c.is_ascii_whitespace()) {
        input.consume(1);
    }
    let mut buf = Vec::new();
    let mut take = |input: &mut dyn std::io::BufRead, set: &[u8]| -> bool {
        match peek_byte(input) {
            Some(c) if set.contains(&c) && buf.len() < 200 => {
                buf.push(c);
                input.consume(1);
                true
            }
            _ => false,
        }
    };
    take(input, b"-+");
    let mut count = 0;
    let mut hex = false;
    if take(input, b"0") {
        if take(input, b"xX") {
            hex = true;
        } else {
            count = 1;
        }
    }
    const DIGITS: &[u8] = b"0123456789";
    const HEX: &[u8] = b"0123456789abcdefABCDEF";
    let digits = if hex { HEX } else { DIGITS };
    while take(input, digits) {
        count += 1;
    }
    if take(input, b".") {
        while take(input, digits) {
            count += 1;
        }
    }
    if count > 0 && take(input, if hex { b"pP" } else { b"eE" }) {
        take(input, b"-+");
        while take(input, DIGITS) {}
    }
    match lnum::str_to_number(&buf) {
        Some(lnum::Num::Int(i)) => it.int(i),
        Some(lnum::Num::Float(x)) => Ok(Value::float(x)),
        None => Ok(Value::NIL),
    }
}
