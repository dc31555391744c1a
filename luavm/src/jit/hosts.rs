//! The runtime functions compiled Lua code calls: thin `extern "C"` wrappers
//! around the interpreter's own operations, run on the compiled function's
//! frame (same slots on the value stack), so both engines share one
//! implementation of every slow path, error message and metamethod.
//!
//! Every host takes the `Interp` pointer, the frame's position (`fpos`: the
//! stack index of the running closure), its prototype index and the source
//! line; on an error it records the frame's traceback line and returns 0 (the
//! compiled code then returns 0 too: the caller sees `Err(Thrown)`).

use crate::heap::{self, *};
use crate::interp::{call_desc, Flow, Frame, Interp};
use crate::lang::ast::*;
use crate::stack::stack;
use crate::table;
use crate::value::Value;
use std::cell::Cell;
use std::rc::Rc;
use vmkit::jit::host_guard;
use vmkit::Thread;

/// Two words returned in registers: a status (0: an error was raised) and a
/// value.
#[repr(C)]
pub struct Pair(pub u64, pub u64);

const FAIL: Pair = Pair(0, 0);

/// The interpreter behind the pointer compiled code carries.
///
/// # Safety
/// `p` is the `Interp` that entered the compiled code (through
/// `Interp::call_once`), live and not otherwise borrowed while the host runs.
unsafe fn interp<'a>(p: u64) -> &'a mut Interp<'static> {
    // SAFETY: the caller's promise; the lifetime is the host call's.
    unsafe { &mut *(p as *mut Interp<'static>) }
}

/// The syntax-tree node behind a pointer compiled code carries.
///
/// # Safety
/// `p` was taken from a node of a prototype the interpreter keeps for the
/// process's life (`Interp::protos`).
unsafe fn node<'a, T>(p: u64) -> &'a T {
    // SAFETY: the caller's promise.
    unsafe { &*(p as *const T) }
}

/// The frame of a compiled function, as the interpreter's operations see it.
fn frame(it: &Interp<'_>, fpos: u64, pi: u64, line: u64) -> Frame {
    let proto = it.protos[pi as usize].0.clone();
    let varargs = if proto.is_vararg {
        varargs_of(fpos as usize)
    } else {
        (0, 0)
    };
    Frame {
        func: fpos as usize,
        base: fpos as usize + 1,
        varargs,
        proto,
        tbc_base: it.tbc.len(),
        line: Cell::new(line as u32),
    }
}

/// Where the varargs of the compiled vararg function at `fpos` are: its count
/// in the slot below the closure, the values below that (see
/// `Interp::call`).
fn varargs_of(fpos: usize) -> (usize, usize) {
    let n = Value(stack().get(fpos - 1))
        .as_small_int()
        .expect("the vararg count below a vararg frame") as usize;
    (fpos - 1 - n, n)
}

/// `...` as the last of a list: copies every vararg of the (vararg) function
/// at `fpos` to `dst..`; the stack then ends past them or at the frame's end,
/// whichever is higher. Returns how many. Never collects.
pub extern "C" fn h_varargs(
    _t: &Thread,
    _it: u64,
    fpos: u64,
    _pi: u64,
    dst: u64,
    frame_end: u64,
) -> u64 {
    host_guard(|| {
        let (start, n) = varargs_of(fpos as usize);
        let st = stack();
        let dst = dst as usize;
        // The frame's slots stay as they are; the stack grows for values past
        // its end.
        st.fill_to((dst + n).max(frame_end as usize));
        for i in 0..n {
            let v = st.get(start + i);
            st.set(dst + i, v);
        }
        n as u64
    })
}

/// Records the frame's traceback line of an error passing through it.
fn failed(it: &mut Interp<'_>, f: &Frame) {
    if it.tracing {
        let global = it.loaded_function_name(&f.proto);
        it.traceback
            .push(crate::sites::traceback_line(&f.proto, f.line.get(), global));
    }
}

/// 1 when `r` is `Ok`, else 0 with the frame's traceback line recorded.
fn status(it: &mut Interp<'_>, f: &Frame, r: crate::heap::LResult<()>) -> u64 {
    match r {
        Ok(()) => 1,
        Err(_) => {
            failed(it, f);
            0
        }
    }
}

fn value_or_fail(it: &mut Interp<'_>, f: &Frame, r: crate::heap::LResult<Value>) -> Pair {
    match r {
        Ok(v) => Pair(1, v.0),
        Err(_) => {
            failed(it, f);
            FAIL
        }
    }
}

/// Evaluates any expression with the interpreter (the constructs compiled
/// code does not handle itself).
pub extern "C" fn h_eval(_t: &Thread, it: u64, fpos: u64, pi: u64, line: u64, e: u64) -> Pair {
    host_guard(|| {
        // SAFETY: hosts are called by compiled code with its Interp and a node
        // of its prototype.
        let (it, e) = unsafe { (interp(it), node::<Expr>(e)) };
        let f = frame(it, fpos, pi, line);
        let r = it.eval(&f, e);
        value_or_fail(it, &f, r)
    })
}

/// Runs any statement with the interpreter. Returns (0, _) on an error, (1, _)
/// when it ended normally, (2, n) when it returned `n` values (now at `fpos..`,
/// the stack's top) and (3, n) for a tail call (the callee at `fpos`, its `n`
/// arguments above it).
pub extern "C" fn h_exec(_t: &Thread, it: u64, fpos: u64, pi: u64, line: u64, s: u64) -> Pair {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let (it, s) = unsafe { (interp(it), node::<Stat>(s)) };
        let f = frame(it, fpos, pi, line);
        match it.exec(&f, s) {
            Ok(Flow::Normal) | Ok(Flow::Break) | Ok(Flow::Goto(_)) => Pair(1, 0),
            Ok(Flow::Return(n)) => {
                let st = stack();
                let from = st.len() - n;
                for i in 0..n {
                    let v = st.get(from + i);
                    st.set(fpos as usize + i, v);
                }
                st.truncate(fpos as usize + n);
                Pair(2, n as u64)
            }
            Ok(Flow::TailCall(p, n)) => {
                let st = stack();
                for i in 0..=n {
                    let v = st.get(p + i);
                    st.set(fpos as usize + i, v);
                }
                st.truncate(fpos as usize + 1 + n);
                Pair(3, n as u64)
            }
            Err(_) => {
                failed(it, &f);
                FAIL
            }
        }
    })
}

fn callable(it: &Interp<'_>, v: Value) -> bool {
    v.as_builtin().is_some()
        || v.as_object().is_some_and(|o| kind(o) == Kind::Function)
        || it.metamethod(v, b"__call").is_some()
}

/// The expression naming the callee of a call node, for messages.
fn callee_of(e: &Expr) -> &Expr {
    match e {
        Expr::Call { func, .. } => func,
        _ => e,
    }
}

/// Calls the value at stack index `callpos` with the `nargs` values above it
/// (`call`: the `Expr::Call` or `Expr::Method` node). The results are left at
/// `callpos..`; the stack then reaches at least `frame_end` again (new slots
/// nil). Returns results + 1, or 0 on an error.
#[allow(clippy::too_many_arguments)]
pub extern "C" fn h_call(
    _t: &Thread,
    it: u64,
    fpos: u64,
    pi: u64,
    line: u64,
    callpos: u64,
    nargs: u64,
    frame_end: u64,
    call: u64,
) -> u64 {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let (it, e) = unsafe { (interp(it), node::<Expr>(call)) };
        let callee = callee_of(e);
        let st = stack();
        st.truncate(callpos as usize + 1 + nargs as usize);
        let fv = Value(st.get(callpos as usize));
        let is_function = fv.as_object().is_some_and(|o| kind(o) == Kind::Function);
        if !is_function && !callable(it, fv) {
            let f = frame(it, fpos, pi, line);
            let msg = call_desc(
                format!("attempt to call a {} value", it.obj_type_name(fv)),
                e,
            );
            let _ = it.rt_error(&f, msg);
            failed(it, &f);
            return 0;
        }
        let site = crate::sites::site(&it.protos[pi as usize].0, line as u32, callee);
        match it.call_at(site, callpos as usize, nargs as usize) {
            Ok(n) => {
                stack().fill_to(frame_end as usize);
                n as u64 + 1
            }
            Err(_) => {
                let f = frame(it, fpos, pi, line);
                failed(it, &f);
                0
            }
        }
    })
}

/// The order of two strings `a` and `b` (values), by their bytes, as the
/// interpreter's `<` orders them (lua5.4's `strcoll` in the C locale): 0 when
/// `a` comes first, 1 when they are equal, 2 when `b` does. Compiled code's
/// comparisons of two strings call it. Neither allocates nor runs Lua code.
pub extern "C" fn h_strcmp(_t: &Thread, a: u64, b: u64) -> u64 {
    let (Some(a), Some(b)) = (Value(a).as_object(), Value(b).as_object()) else {
        unreachable!("compiled code compares two strings")
    };
    match str_bytes(a).cmp(str_bytes(b)) {
        std::cmp::Ordering::Less => 0,
        std::cmp::Ordering::Equal => 1,
        std::cmp::Ordering::Greater => 2,
    }
}

/// The built-ins [`h_fastcall`] runs, by index (filled at the first call).
struct FastBuiltins {
    setmetatable: u32,
    tinsert: u32,
    select: u32,
    assert: u32,
    sqrt: u32,
    abs: u32,
    floor: u32,
}

fn fast_builtins() -> &'static FastBuiltins {
    static F: std::sync::OnceLock<FastBuiltins> = std::sync::OnceLock::new();
    F.get_or_init(|| FastBuiltins {
        setmetatable: crate::stdlib::index_of("setmetatable"),
        tinsert: crate::stdlib::index_of("insert"),
        select: crate::stdlib::index_of("select"),
        assert: crate::stdlib::index_of("assert"),
        sqrt: crate::stdlib::index_of("sqrt"),
        abs: crate::stdlib::index_of("abs"),
        floor: crate::stdlib::index_of("floor"),
    })
}

/// The common cases of a few built-ins called from compiled code, without
/// the interpreter's call machinery: `setmetatable(t, mt)` of a table with no
/// protected metatable and a metatable without `__gc` or `__mode`,
/// `table.insert(t, v)` into the free room of a plain table's array part
/// ([`table::try_append`]), `select('#', ...)` and `select(n, ...)`, `assert(v, ...)` of a true `v`, `math.sqrt(x)`, `math.abs(x)` and
/// `math.floor(x)` of a number (an integer result held inline). The callee `fv`
/// and its `nargs` arguments are at the stack address `at` (a frame's
/// temporaries). Returns results + 1 (left at `at`), or 0 when the case is not
/// one of those (the caller then makes the call the general way, which
/// raises what must be raised). Neither allocates nor runs Lua code.
pub extern "C" fn h_fastcall(t: &Thread, at: u64, nargs: u64, fv: u64) -> u64 {
    let Some(b) = Value(fv).as_builtin() else {
        return 0;
    };
    let f = fast_builtins();
    let slot = |i: u64| (at + 8 * i) as *mut u64;
    // SAFETY: `at..at + 8 * (nargs + 1)` are slots of the caller's frame on
    // the value stack (the callee and its arguments, below the stack's length),
    // which only the Lua thread touches.
    let arg = |i: u64| Value(unsafe { *slot(1 + i) });
    let put = |i: u64, v: Value| {
        // SAFETY: as above; `i <= nargs`.
        unsafe { *slot(i) = v.0 }
    };
    if b == f.setmetatable && nargs == 2 {
        let (Some(tab), mt) = (as_table(arg(0)), arg(1)) else {
            return 0;
        };
        let plain_mt = match as_table(mt) {
            Some(m) => {
                crate::heap::weak_bits(m) == 0
                    && table::raw_get_str(m, b"__gc").is_nil()
                    && table::raw_get_str(m, b"__mode").is_nil()
            }
            None => mt.is_nil(),
        };
        if !plain_mt || table::metatable(tab).is_some() {
            return 0;
        }
        table::set_metatable(t, tab, mt);
        put(0, arg(0));
        return 2;
    }
    if b == f.select && nargs >= 1 {
        // `select('#', ...)` and `select(n, ...)` of an inline integer `n`
        // (errors, and an `n` to convert, by the general path).
        let count = nargs - 1;
        if as_str(arg(0)).is_some_and(|s| str_bytes(s) == b"#") {
            put(
                0,
                Value::small_int(count as i64).expect("an argument count"),
            );
            return 2;
        }
        let Some(start) = arg(0)
            .as_small_int()
            .and_then(|n| crate::stdlib::select_start(n, count))
        else {
            return 0;
        };
        // Each result moves down to its place (`i - start < 1 + i`).
        for i in start..count {
            put(i - start, arg(1 + i));
        }
        return count - start + 1;
    }
    if b == f.tinsert && nargs == 2 {
        return match as_table(arg(0)) {
            Some(tab) if table::try_append(t, tab, arg(1)) => 1,
            _ => 0,
        };
    }
    if b == f.assert && (1..=4).contains(&nargs) && !arg(0).is_falsy() {
        for i in 0..nargs {
            put(i, arg(i));
        }
        return nargs + 1;
    }
    if b == f.sqrt && nargs == 1 {
        let v = arg(0);
        let x = match (v.as_float(), v.as_small_int()) {
            (Some(x), _) => x,
            (None, Some(i)) => i as f64,
            _ => return 0,
        };
        put(0, Value::float(x.sqrt()));
        return 2;
    }
    if (b == f.abs || b == f.floor) && nargs == 1 {
        let v = arg(0);
        let r = match (v.as_float(), v.as_small_int()) {
            (_, Some(i)) if b == f.abs => Value::small_int(i.wrapping_abs()),
            (_, Some(_)) => Some(v),
            (Some(x), _) if b == f.abs => Some(Value::float(x.abs())),
            // An integer when the floor fits one (inline), as lua5.4 gives.
            (Some(x), _) => {
                let y = x.floor();
                (y >= crate::value::INLINE_MIN as f64 && y <= crate::value::INLINE_MAX as f64)
                    .then(|| Value::small_int(y as i64))
                    .flatten()
            }
            _ => None,
        };
        let Some(r) = r else {
            return 0;
        };
        put(0, r);
        return 2;
    }
    0
}

/// `return f(args)`: a proper tail call when the callee is a Lua function
/// (Pair(2, nargs), the callee and its arguments moved to `fpos..`), else an
/// ordinary call whose results are returned (Pair(1, n), at `fpos..`).
pub extern "C" fn h_tail(
    _t: &Thread,
    it: u64,
    fpos: u64,
    pi: u64,
    line: u64,
    callpos: u64,
    nargs: u64,
    call: u64,
) -> Pair {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let (it, e) = unsafe { (interp(it), node::<Expr>(call)) };
        let f = frame(it, fpos, pi, line);
        let callee = callee_of(e);
        let st = stack();
        let (callpos, mut nargs, fpos) = (callpos as usize, nargs as usize, fpos as usize);
        st.truncate(callpos + 1 + nargs);
        // A `__call` handler that is a Lua function is tail-called too, the
        // callee its first argument.
        if let Some(m) = it.lua_call_handler(Value(st.get(callpos))) {
            st.insert(callpos, m.0);
            nargs += 1;
        }
        let fv = Value(st.get(callpos));
        if !callable(it, fv) {
            let msg = call_desc(
                format!("attempt to call a {} value", it.obj_type_name(fv)),
                e,
            );
            let _ = it.rt_error(&f, msg);
            failed(it, &f);
            return FAIL;
        }
        if fv.as_object().is_some_and(|o| kind(o) == Kind::Function)
            && !crate::interp::is_bound_builtin(fv)
        {
            for i in 0..=nargs {
                let v = st.get(callpos + i);
                st.set(fpos + i, v);
            }
            st.truncate(fpos + 1 + nargs);
            return Pair(2, nargs as u64);
        }
        match it.call_traced(&f, callpos, nargs, line as u32, callee) {
            Ok(n) => {
                let st = stack();
                for i in 0..n {
                    let v = st.get(callpos + i);
                    st.set(fpos + i, v);
                }
                st.truncate(fpos + n);
                Pair(1, n as u64)
            }
            Err(_) => {
                failed(it, &f);
                FAIL
            }
        }
    })
}

/// `return e1, ..., en` with the values at `from..from + n`: moves them to
/// `fpos..` (the stack's new top).
pub extern "C" fn h_ret(_t: &Thread, from: u64, fpos: u64, n: u64) {
    let st = stack();
    for i in 0..n as usize {
        let v = st.get(from as usize + i);
        st.set(fpos as usize + i, v);
    }
    st.truncate(fpos as usize + n as usize);
}

/// A binary operation the inline paths did not finish (`e` the
/// `Expr::Binary` node: its operands describe values in messages).
#[allow(clippy::too_many_arguments)]
pub extern "C" fn h_arith(
    _t: &Thread,
    it: u64,
    fpos: u64,
    pi: u64,
    line: u64,
    a: u64,
    b: u64,
    e: u64,
) -> Pair {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let (it, e) = unsafe { (interp(it), node::<Expr>(e)) };
        let f = frame(it, fpos, pi, line);
        let Expr::Binary { op, lhs, rhs, .. } = e else {
            unreachable!("a binary node")
        };
        let r = it.binary(&f, *op, Value(a), Value(b), lhs, rhs);
        value_or_fail(it, &f, r)
    })
}

/// A unary operation (`e` the `Expr::Unary` node).
pub extern "C" fn h_unary(
    _t: &Thread,
    it: u64,
    fpos: u64,
    pi: u64,
    line: u64,
    v: u64,
    e: u64,
) -> Pair {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let (it, e) = unsafe { (interp(it), node::<Expr>(e)) };
        let f = frame(it, fpos, pi, line);
        let Expr::Unary { op, operand, .. } = e else {
            unreachable!("a unary node")
        };
        let r = it.unary(&f, *op, Value(v), operand);
        value_or_fail(it, &f, r)
    })
}

/// The `__index` table of strings' metatable (the string library, unless a
/// program changed it), looked up by the interned `"__index"` (constant 0),
/// which a lookup finds by identity.
fn string_methods() -> Option<vmkit::ObjectReference> {
    let mt = as_table(Value(stack().get(crate::interp::STRING_META)))?;
    let consts = Value(stack().get(crate::interp::CONSTS)).as_object()?;
    let index = heap::get(consts, elem(0));
    as_table(table::raw_get(mt, index))
}

/// `o[k]` (`obj` the expression of `o`, for messages; `konst`: `k` is a
/// string constant).
#[allow(clippy::too_many_arguments)]
pub extern "C" fn h_index(
    t: &Thread,
    it: u64,
    fpos: u64,
    pi: u64,
    line: u64,
    o: u64,
    k: u64,
    obj: u64,
    konst: u64,
) -> Pair {
    let (o, k) = (Value(o), Value(k));
    // A method of a string (`s:find(...)`, `s:sub(i, j)`): the string
    // library's table holds it.
    if as_str(o).is_some() {
        if let Some(lib) = string_methods() {
            let v = table::raw_get(lib, k);
            if !v.is_nil() {
                return Pair(1, v.0);
            }
        }
    }
    if konst != 0 {
        // A string constant: where the tables hold it as another object,
        // they take this one (`table::adopt_key`).
        let tab = as_table(o).or_else(|| {
            as_str(o)?;
            string_methods()
        });
        if let Some(tab) = tab {
            table::adopt_key_along(t, tab, k);
        }
    }
    if let Some(tab) = as_table(o) {
        let v = table::raw_get(tab, k);
        if !v.is_nil() || table::metatable(tab).is_none() {
            return Pair(1, v.0);
        }
    }
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let (it, obj) = unsafe { (interp(it), node::<Expr>(obj)) };
        it.meta_site = crate::sites::Site::at(&it.protos[pi as usize].0, line as u32);
        match it.index_value(o, k) {
            Ok(v) => Pair(1, v.0),
            Err(crate::interp::IndexError::Thrown) => {
                let f = frame(it, fpos, pi, line);
                failed(it, &f);
                FAIL
            }
            // Not indexable, or a loop: no `__index` function ran; the
            // interpreter's own path makes the message.
            Err(_) => {
                let f = frame(it, fpos, pi, line);
                let r = it.index(&f, o, k, obj);
                value_or_fail(it, &f, r)
            }
        }
    })
}

/// The interned string `__index` (constant 0, see `Interp::new`).
fn index_key() -> Value {
    let consts = Value(stack().get(crate::interp::CONSTS));
    get(consts.as_object().expect("the constants"), elem(0))
}

/// An inline cache entry of a field lookup along an `__index` chain, as the
/// JIT reads it: good while `epoch` is [`table::IC_EPOCH`]; for a receiver
/// whose class (metatable's `__index` table) is `class`, the key's value is
/// the word at `value` (0: the key is nowhere on the chain, the value is nil).
#[repr(C)]
#[derive(Default)]
pub struct Ic {
    /// [`table::IC_EPOCH`] when filled.
    pub epoch: u64,
    /// The class (a table value) it was filled for.
    pub class: u64,
    /// The address of the value word (0 for nil).
    pub value: u64,
}

/// Offsets of [`Ic`]'s fields.
pub const IC_EPOCH_OFF: i32 = 0;
/// See [`IC_EPOCH_OFF`].
pub const IC_CLASS_OFF: i32 = 8;
/// See [`IC_EPOCH_OFF`].
pub const IC_VALUE_OFF: i32 = 16;

/// `class[k]` and on along the `__index` chain, for a receiver whose own table
/// does not have the string key `k` and whose class is the table at value
/// `class`: (1, value) when tables alone decide it, (0, _) when an `__index`
/// function or a weak table is met (the caller's slow path then does it all).
/// Fills the inline cache at `ic` and marks every table it relied on
/// ([`crate::heap::PROTO`]). Neither allocates nor runs Lua code.
pub extern "C" fn h_lookup_ic(_t: &Thread, class: u64, k: u64, ic: u64) -> Pair {
    let k = Value(k);
    let Some(first) = as_table(Value(class)) else {
        return FAIL;
    };
    let mut tab = first;
    let mut seen: [Option<vmkit::ObjectReference>; 16] = [None; 16];
    let mut n = 0;
    let mut cacheable = true;
    let mut note = |o: vmkit::ObjectReference, cacheable: &mut bool| {
        if crate::heap::weak_bits(o) != 0 {
            *cacheable = false;
        } else if n < seen.len() {
            seen[n] = Some(o);
            n += 1;
        } else {
            *cacheable = false;
        }
    };
    let found = 'walk: {
        for _ in 0..2000 {
            note(tab, &mut cacheable);
            let v = table::raw_get(tab, k);
            if !v.is_nil() {
                break 'walk Some((v, tab));
            }
            let Some(mt) = table::metatable(tab) else {
                break 'walk None;
            };
            note(mt, &mut cacheable);
            let idx = table::raw_get(mt, index_key());
            if idx.is_nil() {
                break 'walk None;
            }
            let Some(next) = as_table(idx) else {
                return FAIL;
            };
            tab = next;
        }
        // A chain too long (a loop): the interpreter's path raises lua5.4's
        // "'__index' chain too long; possible loop".
        return FAIL;
    };
    let value = found.map_or(Value::NIL, |(v, _)| v);
    let address = match found {
        Some((_, holder)) => table::hash_value_address(holder, k),
        None => Some(0),
    };
    if let (true, Some(address)) = (cacheable, address) {
        for o in seen.iter().take(n).flatten() {
            crate::heap::mark_proto(*o);
        }
        // SAFETY: `ic` is an entry the JIT allocated for this call site (it
        // lives as long as the code); only the Lua thread reads or writes it.
        let ic = unsafe { &mut *(ic as *mut Ic) };
        ic.epoch = table::IC_EPOCH.load(std::sync::atomic::Ordering::Relaxed);
        ic.class = class;
        ic.value = address as u64;
    }
    Pair(1, value.0)
}

/// `o[k] = v` (`obj` the expression of `o`, for messages).
#[allow(clippy::too_many_arguments)]
pub extern "C" fn h_setindex(
    _t: &Thread,
    it: u64,
    fpos: u64,
    pi: u64,
    line: u64,
    o: u64,
    k: u64,
    v: u64,
    obj: u64,
) -> u64 {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let (it, obj) = unsafe { (interp(it), node::<Expr>(obj)) };
        // A table without a metatable: a raw set.
        if let Some(tab) = as_table(Value(o)) {
            if table::metatable(tab).is_none() {
                return raw_set_status(it, fpos, pi, line, [o, k, v]);
            }
        }
        let f = frame(it, fpos, pi, line);
        let r = it.set_index(&f, Value(o), Value(k), Value(v), obj);
        status(it, &f, r)
    })
}

/// The global `k` (a string constant).
pub extern "C" fn h_getglobal(t: &Thread, it: u64, fpos: u64, pi: u64, line: u64, k: u64) -> Pair {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let it = unsafe { interp(it) };
        let g = it.globals();
        let tab = as_table(g).expect("the globals table");
        table::adopt_key(t, tab, Value(k));
        let v = table::raw_get(tab, Value(k));
        if !v.is_nil() || table::metatable(tab).is_none() {
            return Pair(1, v.0);
        }
        let f = frame(it, fpos, pi, line);
        let r = it.index(&f, g, Value(k), &Expr::Nil);
        value_or_fail(it, &f, r)
    })
}

/// Sets the global `k` (a string constant) to `v`.
#[allow(clippy::too_many_arguments)]
pub extern "C" fn h_setglobal(
    t: &Thread,
    it: u64,
    fpos: u64,
    pi: u64,
    line: u64,
    k: u64,
    v: u64,
) -> u64 {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let it = unsafe { interp(it) };
        let g = it.globals();
        if let Some(tab) = as_table(g) {
            table::adopt_key(t, tab, Value(k));
        }
        let f = frame(it, fpos, pi, line);
        let r = it.set_index(&f, g, Value(k), Value(v), &Expr::Nil);
        status(it, &f, r)
    })
}

/// A closure of the prototype behind `proto` (a `Rc<Function>` of the syntax
/// tree), capturing from this frame.
pub extern "C" fn h_closure(
    _t: &Thread,
    it: u64,
    fpos: u64,
    pi: u64,
    line: u64,
    proto: u64,
) -> Pair {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let (it, p) = unsafe { (interp(it), node::<Rc<Function>>(proto)) };
        let f = frame(it, fpos, pi, line);
        let r = it.closure_of(p.clone(), Some(&f));
        value_or_fail(it, &f, r)
    })
}

/// A new cell holding `v` (a captured local's declaration).
pub extern "C" fn h_newcell(t: &Thread, it: u64, fpos: u64, pi: u64, line: u64, v: u64) -> Pair {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let it = unsafe { interp(it) };
        stack().push(v);
        let c = t.alloc(&CELL, vmkit::HEADER_SIZE + 8);
        let v = Value(stack().pop().expect("pushed above"));
        match c {
            Ok(c) => {
                heap::set_word(c, vmkit::HEADER_SIZE, v.0);
                Pair(1, Value::object(c).0)
            }
            Err(_) => {
                let f = frame(it, fpos, pi, line);
                let _ = it.no_memory();
                failed(it, &f);
                FAIL
            }
        }
    })
}

/// Stores `v` into the cell `c`, with the write barrier.
pub extern "C" fn h_setcell(t: &Thread, c: u64, v: u64) {
    let c = Value(c).as_object().expect("a cell");
    heap::set(t, c, vmkit::HEADER_SIZE, Value(v));
}

/// An integer that does not fit inline (a boxed one).
pub extern "C" fn h_bigint(_t: &Thread, it: u64, fpos: u64, pi: u64, line: u64, i: u64) -> Pair {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let it = unsafe { interp(it) };
        let f = frame(it, fpos, pi, line);
        let r = it.int(i as i64);
        value_or_fail(it, &f, r)
    })
}

/// The numeric `for` loop's preparation: checks and converts start, limit and
/// step (`a`, `b`, `c`) as the interpreter does, writing the loop's state to
/// `out`: for an integer loop [first value, iterations after the first, step],
/// for a float loop [first value, limit, step] as float bits. Returns 0 on an
/// error, 1 when the loop does not run, 2 for an integer loop, 3 for a float
/// loop.
#[allow(clippy::too_many_arguments)]
pub extern "C" fn h_forprep(
    _t: &Thread,
    it: u64,
    fpos: u64,
    pi: u64,
    line: u64,
    abc: u64,
    out: u64,
) -> u64 {
    host_guard(|| {
        // SAFETY: as in `h_eval`; `abc` points at three values on the stack
        // (the loop's temporaries) and `out` at three words of the compiled
        // frame.
        let (it, abc, out) = unsafe {
            (
                interp(it),
                std::slice::from_raw_parts(abc as *const u64, 3),
                std::slice::from_raw_parts_mut(out as *mut u64, 3),
            )
        };
        let f = frame(it, fpos, pi, line);
        match it.for_prep(&f, Value(abc[0]), Value(abc[1]), Value(abc[2])) {
            Ok(crate::interp::ForLoop::Skip) => 1,
            Ok(crate::interp::ForLoop::Int { first, count, step }) => {
                out[0] = first as u64;
                out[1] = count;
                out[2] = step as u64;
                2
            }
            Ok(crate::interp::ForLoop::Float { first, limit, step }) => {
                out[0] = first.to_bits();
                out[1] = limit.to_bits();
                out[2] = step.to_bits();
                3
            }
            Err(_) => {
                failed(it, &f);
                0
            }
        }
    })
}

/// One step of a generic `for` (`s` the `Stat::GenericFor` node): calls the
/// iterator, sets the control variable and the loop's variables. Returns 0 on
/// an error, 1 to run the body, 2 when the loop ends.
pub extern "C" fn h_forcall(_t: &Thread, it: u64, fpos: u64, pi: u64, line: u64, s: u64) -> u64 {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let (it, s) = unsafe { (interp(it), node::<Stat>(s)) };
        let f = frame(it, fpos, pi, line);
        let Stat::GenericFor { vars, hidden, .. } = s else {
            unreachable!("a generic for")
        };
        match it.for_step(&f, vars, *hidden) {
            Ok(true) => 1,
            Ok(false) => 2,
            Err(_) => {
                failed(it, &f);
                0
            }
        }
    })
}

/// The generic `for` loop's explist, adjusted to its hidden slots.
pub extern "C" fn h_forinit(_t: &Thread, it: u64, fpos: u64, pi: u64, line: u64, s: u64) -> u64 {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let (it, s) = unsafe { (interp(it), node::<Stat>(s)) };
        let f = frame(it, fpos, pi, line);
        let Stat::GenericFor { exprs, hidden, .. } = s else {
            unreachable!("a generic for")
        };
        let r = it.for_init(&f, exprs, *hidden);
        status(it, &f, r)
    })
}

/// The frame does not fit in the value stack: raises "stack overflow".
pub extern "C" fn h_overflow(_t: &Thread, it: u64, fpos: u64, pi: u64, line: u64) -> u64 {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let it = unsafe { interp(it) };
        let f = frame(it, fpos, pi, line);
        let _ = it.rt_error(&f, "stack overflow".into());
        failed(it, &f);
        0
    })
}

/// Makes the captured parameter in stack slot `slot` a cell holding its value.
pub extern "C" fn h_cellparam(t: &Thread, it: u64, fpos: u64, pi: u64, slot: u64) -> u64 {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let it = unsafe { interp(it) };
        let c = t.alloc(&CELL, vmkit::HEADER_SIZE + 8);
        match c {
            Ok(c) => {
                let v = stack().get(slot as usize);
                heap::set_word(c, vmkit::HEADER_SIZE, v);
                stack().set(slot as usize, Value::object(c).0);
                1
            }
            Err(_) => {
                let f = frame(it, fpos, pi, 0);
                let _ = it.no_memory();
                failed(it, &f);
                0
            }
        }
    })
}

/// A call made directly from compiled code failed: records this frame's
/// traceback line.
pub extern "C" fn h_failed(_t: &Thread, it: u64, fpos: u64, pi: u64, line: u64) {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let it = unsafe { interp(it) };
        let f = frame(it, fpos, pi, line);
        failed(it, &f);
    })
}

/// A new table for a constructor with `npos` positional and `nhash` keyed
/// items.
#[allow(clippy::too_many_arguments)]
pub extern "C" fn h_newtable(
    t: &Thread,
    it: u64,
    fpos: u64,
    pi: u64,
    line: u64,
    npos: u64,
    nhash: u64,
) -> Pair {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let it = unsafe { interp(it) };
        // The top bit of `nhash`: the keyed items are all strings.
        let roomy = nhash >> 63 != 0;
        let r = crate::heap::new_table_for(t, npos as usize, (nhash << 1 >> 1) as usize, roomy);
        match r {
            Ok(v) => Pair(1, v.0),
            Err(_) => {
                let f = frame(it, fpos, pi, line);
                let _ = it.no_memory();
                failed(it, &f);
                FAIL
            }
        }
    })
}

/// `tab[k] = v` for a table constructor's item (raw).
#[allow(clippy::too_many_arguments)]
/// A constructor's positional item `i` ([`table::set_positional`]).
pub extern "C" fn h_tsetpos(
    t: &Thread,
    it: u64,
    fpos: u64,
    pi: u64,
    line: u64,
    tab: u64,
    i: u64,
    v: u64,
) -> u64 {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let it = unsafe { interp(it) };
        if table::set_positional(t, Value(tab), i as i64, Value(v)).is_ok() {
            return 1;
        }
        let f = frame(it, fpos, pi, line);
        let e = it.no_memory();
        status(it, &f, Err(e))
    })
}

pub extern "C" fn h_tset(
    _t: &Thread,
    it: u64,
    fpos: u64,
    pi: u64,
    line: u64,
    tab: u64,
    k: u64,
    v: u64,
) -> u64 {
    host_guard(|| {
        // SAFETY: as in `h_eval`.
        let it = unsafe { interp(it) };
        raw_set_status(it, fpos, pi, line, [tab, k, v])
    })
}

/// A raw `tab[k] = v` from compiled code: 1, or 0 with its error raised. When
/// it fails, `tab`, `k` and `v` may have moved (it collected for want of
/// memory first): its own error is raised, the set not tried again with them.
fn raw_set_status(
    it: &mut Interp<'_>,
    fpos: u64,
    pi: u64,
    line: u64,
    [tab, k, v]: [u64; 3],
) -> u64 {
    let Err(e) = table::raw_set(it.t, Value(tab), Value(k), Value(v)) else {
        return 1;
    };
    let f = frame(it, fpos, pi, line);
    let e = it.key_error(&f, e);
    status(it, &f, Err(e))
}
