//! The JIT's runtime entries: thin `extern "C"` wrappers around the runtime's
//! builtins ([`crate::runtime::builtins`]). A wrapper that fails raises the
//! error as JIT code expects: the thread's pending exception set and the
//! backtrace of the JIT frames recorded; the code checks the pending
//! exception after the call.

use crate::engine::Engine;
use crate::runtime::builtins::{self, R};
use crate::runtime::errors::{self, RuntimeError};
use crate::runtime::object::{rword, ElemKind};
use crate::runtime::trace::{capture_trace, take_trace};
use std::cell::RefCell;
use vmkit::jit::{host_guard, HostId, Materializer, Sig, ValType};
use vmkit::{ObjectReference, Thread};

/// The runtime entries JIT code calls.
pub(super) struct Hosts {
    pub error: HostId,
    pub throw: HostId,
    pub catch: HostId,
    pub concat: HostId,
    pub str_eq: HostId,
    pub print: HostId,
    pub print_f: HostId,
    pub to_str: HostId,
    pub to_str_f: HostId,
    pub fmt: HostId,
    pub new_array: HostId,
    pub to_int: HostId,
    pub chr: HostId,
    pub literal: HostId,
    pub print_literal: HostId,
    pub substr: HostId,
    pub parse_int: HostId,
    pub args: HostId,
    pub clock: HostId,
    pub write_bytes: HostId,
    pub join: HostId,
    pub gc: HostId,
    pub spawn_arg: HostId,
    pub spawn: HostId,
    pub enter: HostId,
    pub exit: HostId,
}

/// Registers the runtime entries with the materializer.
pub(super) fn register(mat: &Materializer) -> Result<Hosts, String> {
    use ValType::{Ref, F64, I64};
    let reg = |name: &str, p: &[ValType], r: &[ValType], f: *const u8, gc: bool| {
        mat.register_host(name, Sig::new(p, r), f, gc)
            .map_err(|e| e.to_string())
    };
    Ok(Hosts {
        error: reg("error", &[I64, I64, I64], &[], h_error as *const u8, true)?,
        throw: reg("throw", &[Ref], &[], h_throw as *const u8, true)?,
        catch: reg("catch", &[], &[Ref], h_catch as *const u8, false)?,
        concat: reg("concat", &[Ref, Ref], &[Ref], h_concat as *const u8, true)?,
        str_eq: reg("str_eq", &[Ref, Ref], &[I64], h_str_eq as *const u8, false)?,
        // Printing may write to stdout in native state (`threads::out_line`),
        // so it goes through an exit trampoline like a call that collects.
        print: reg("print", &[I64, I64, I64], &[], h_print as *const u8, true)?,
        print_f: reg("print_f", &[F64, I64], &[], h_print_f as *const u8, true)?,
        to_str: reg("to_str", &[I64, I64], &[Ref], h_to_str as *const u8, true)?,
        to_str_f: reg("to_str_f", &[F64], &[Ref], h_to_str_f as *const u8, true)?,
        fmt: reg("fmt", &[F64, I64], &[Ref], h_fmt as *const u8, true)?,
        new_array: reg(
            "new_array",
            &[I64, I64],
            &[Ref],
            h_new_array as *const u8,
            true,
        )?,
        to_int: reg("to_int", &[F64], &[I64], h_to_int as *const u8, true)?,
        chr: reg("chr", &[I64], &[Ref], h_chr as *const u8, true)?,
        literal: reg("literal", &[I64], &[Ref], h_literal as *const u8, true)?,
        print_literal: reg(
            "print_literal",
            &[I64, I64],
            &[],
            h_print_literal as *const u8,
            true,
        )?,
        substr: reg(
            "substr",
            &[Ref, I64, I64],
            &[Ref],
            h_substr as *const u8,
            true,
        )?,
        parse_int: reg("parse_int", &[Ref], &[I64], h_parse_int as *const u8, true)?,
        args: reg("args", &[], &[Ref], h_args as *const u8, true)?,
        clock: reg("clock", &[], &[F64], h_clock as *const u8, false)?,
        write_bytes: reg(
            "write_bytes",
            &[Ref, Ref],
            &[I64],
            h_write_bytes as *const u8,
            true,
        )?,
        join: reg("join", &[Ref], &[I64], h_join as *const u8, true)?,
        gc: reg("gc", &[], &[], h_gc as *const u8, true)?,
        spawn_arg: reg(
            "spawn_arg",
            &[I64, I64],
            &[],
            h_spawn_arg as *const u8,
            false,
        )?,
        spawn: reg("spawn", &[I64], &[Ref], h_spawn as *const u8, true)?,
        enter: reg("monitor_enter", &[Ref], &[], h_enter as *const u8, true)?,
        exit: reg("monitor_exit", &[Ref], &[], h_exit as *const u8, false)?,
    })
}

fn raise(t: &Thread, exc: Option<ObjectReference>) {
    t.set_pending_exception(exc);
    capture_trace(t);
}

fn fail(t: &Thread, e: RuntimeError) {
    raise(t, e.exception(t));
}

/// The result of a runtime function, or its error raised (and a zero result).
fn or_raise<T: Default>(t: &Thread, r: R<T>) -> T {
    r.unwrap_or_else(|e| {
        fail(t, e);
        T::default()
    })
}

fn kind(k: i64) -> ElemKind {
    ElemKind::from_index(k as usize)
}

/// Raises the error of number `code` ([`errors::code`]) with operands `a`, `b`.
extern "C" fn h_error(t: &Thread, code: i64, a: i64, b: i64) {
    host_guard(|| fail(t, errors::by_code(code, a, b)))
}

extern "C" fn h_throw(t: &Thread, exc: u64) {
    host_guard(|| match builtins::thrown(exc) {
        Ok(o) => raise(t, Some(o)),
        Err(e) => fail(t, e),
    })
}

extern "C" fn h_catch(t: &Thread) -> u64 {
    host_guard(|| {
        take_trace();
        t.take_pending_exception().map_or(0, rword)
    })
}

extern "C" fn h_concat(t: &Thread, a: u64, b: u64) -> u64 {
    host_guard(|| or_raise(t, builtins::concat(t, a, b)))
}

extern "C" fn h_str_eq(_t: &Thread, a: u64, b: u64) -> u64 {
    host_guard(|| builtins::str_eq(a, b) as u64)
}

extern "C" fn h_print(t: &Thread, k: i64, w: u64, nl: i64) {
    host_guard(|| builtins::print(t, kind(k), w, nl != 0))
}

extern "C" fn h_print_f(t: &Thread, x: f64, nl: i64) {
    host_guard(|| builtins::print(t, ElemKind::Float, x.to_bits(), nl != 0))
}

extern "C" fn h_to_str(t: &Thread, k: i64, w: u64) -> u64 {
    host_guard(|| or_raise(t, builtins::to_str(t, kind(k), w)))
}

extern "C" fn h_to_str_f(t: &Thread, x: f64) -> u64 {
    host_guard(|| or_raise(t, builtins::to_str(t, ElemKind::Float, x.to_bits())))
}

extern "C" fn h_fmt(t: &Thread, x: f64, d: i64) -> u64 {
    host_guard(|| or_raise(t, builtins::fmt(t, x, d)))
}

extern "C" fn h_new_array(t: &Thread, k: i64, n: i64) -> u64 {
    host_guard(|| or_raise(t, builtins::new_array(t, kind(k), n)))
}

extern "C" fn h_to_int(t: &Thread, x: f64) -> i64 {
    host_guard(|| or_raise(t, builtins::to_int(x)))
}

extern "C" fn h_print_literal(t: &Thread, k: i64, nl: i64) {
    host_guard(|| builtins::print_literal(t, k as usize, nl != 0))
}

/// String constant `k`, allocated on its first use.
extern "C" fn h_literal(t: &Thread, k: i64) -> u64 {
    host_guard(|| or_raise(t, builtins::literal(t, k as usize)))
}

extern "C" fn h_chr(t: &Thread, v: i64) -> u64 {
    host_guard(|| or_raise(t, builtins::chr(t, v)))
}

extern "C" fn h_substr(t: &Thread, s: u64, from: i64, to: i64) -> u64 {
    host_guard(|| or_raise(t, builtins::substr(t, s, from, to)))
}

extern "C" fn h_parse_int(t: &Thread, s: u64) -> i64 {
    host_guard(|| or_raise(t, builtins::parse_int(s)))
}

extern "C" fn h_args(t: &Thread) -> u64 {
    host_guard(|| or_raise(t, builtins::args(t)))
}

extern "C" fn h_clock(_t: &Thread) -> f64 {
    host_guard(builtins::clock)
}

extern "C" fn h_write_bytes(t: &Thread, p: u64, d: u64) -> i64 {
    host_guard(|| or_raise(t, builtins::write_bytes(t, p, d)))
}

extern "C" fn h_join(t: &Thread, th: u64) -> i64 {
    host_guard(|| or_raise(t, builtins::join(t, th)))
}

extern "C" fn h_gc(t: &Thread) {
    host_guard(|| builtins::gc(t))
}

thread_local! {
    /// The arguments of the `spawn` being made on this thread, passed one by
    /// one before the call of [`h_spawn`].
    static SPAWN_ARGS: RefCell<Vec<(u64, bool)>> = const { RefCell::new(Vec::new()) };
}

extern "C" fn h_spawn_arg(_t: &Thread, w: u64, is_ref: i64) {
    host_guard(|| SPAWN_ARGS.with(|a| a.borrow_mut().push((w, is_ref != 0))))
}

extern "C" fn h_spawn(t: &Thread, f: i64) -> u64 {
    host_guard(|| {
        let args = SPAWN_ARGS.with(|a| std::mem::take(&mut *a.borrow_mut()));
        or_raise(t, builtins::spawn(t, f as usize, args, Engine::Jit))
    })
}

extern "C" fn h_enter(t: &Thread, o: u64) {
    // JIT code checks for null before the call: this never fails.
    host_guard(|| or_raise(t, builtins::monitor_enter(t, o)))
}

extern "C" fn h_exit(t: &Thread, o: u64) {
    host_guard(|| builtins::monitor_exit(t, o))
}
