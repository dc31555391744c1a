//! The `coroutine` library, on [`crate::coro`].

use super::{arg_error, got, Args};
use crate::coro::{self, Status};
use crate::heap::*;
use crate::interp::Interp;
use crate::value::Value;

/// A coroutine argument.
fn check_co(it: &mut Interp<'_>, a: Args, i: usize, name: &str) -> LResult<Value> {
    let v = a.get(it, i);
    if v.as_object().is_some_and(|o| kind(o) == Kind::Thread) {
        return Ok(v);
    }
    let g = got(it, a, i);
    Err(arg_error(it, i, name, &format!("thread expected, got {g}")))
}

/// A new coroutine of the function argument (`create`, `wrap`).
fn new_coroutine(it: &mut Interp<'_>, a: Args, name: &str) -> LResult<Value> {
    let f = a.get(it, 0);
    let is_fn =
        f.as_builtin().is_some() || f.as_object().is_some_and(|o| kind(o) == Kind::Function);
    if !is_fn {
        let g = got(it, a, 0);
        return Err(arg_error(
            it,
            0,
            name,
            &format!("function expected, got {g}"),
        ));
    }
    coro::create(it, f)
}

/// `coroutine.create(f)`.
pub fn create(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let co = new_coroutine(it, a, "coroutine.create")?;
    push(it.t, co);
    Ok(1)
}

/// `coroutine.resume(co, ...)`: true and what it yielded or returned, or
/// false and the error.
pub fn resume(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    check_co(it, a, 0, "coroutine.resume")?;
    let t = it.t;
    let base = top(t);
    let r = coro::resume(it, a.base, a.base + 1, a.n - 1);
    let ok = if r.is_ok() { Value::TRUE } else { Value::FALSE };
    roots(t).insert(base, ok.0);
    Ok(top(t) - base)
}

/// The function `coroutine.wrap` returns, bound to its coroutine (the first
/// argument): resumes it, raising its error (with the caller's position
/// when a string, as lua5.4's `auxwrap` adds).
pub fn wrapped(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let t = it.t;
    let base = top(t);
    match coro::resume(it, a.base, a.base + 1, a.n - 1) {
        Ok(_) => Ok(top(t) - base),
        Err(coro::Failed) => {
            let e = at(t, top(t) - 1);
            roots(t).truncate(base);
            if let Some(s) = as_str(e) {
                if let Some(w) = crate::sites::last().and_then(|s| s.position()) {
                    let mut m = w.into_bytes();
                    m.push(b' ');
                    m.extend_from_slice(str_bytes(s));
                    let v = it.string(&m)?;
                    return Err(it.throw(v));
                }
            }
            Err(it.throw(e))
        }
    }
}

/// `coroutine.wrap(f)`.
pub fn wrap(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let co = new_coroutine(it, a, "coroutine.wrap")?;
    let w = it.bound_builtin(super::index_of("co_wrapped"), co)?;
    push(it.t, w);
    Ok(1)
}

/// `coroutine.yield(...)`.
pub fn yield_(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    coro::yield_values(it, a.base, a.n)
}

/// `coroutine.status(co)`.
pub fn status(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let co = check_co(it, a, 0, "coroutine.status")?;
    let s = coro::status(co.as_object().expect("a coroutine"));
    let v = it.string(s.name().as_bytes())?;
    push(it.t, v);
    Ok(1)
}

/// `coroutine.running()`: the running coroutine and whether it is the main
/// thread.
pub fn running(it: &mut Interp<'_>, _a: Args) -> LResult<usize> {
    let (co, main) = coro::running(it)?;
    push(it.t, co);
    push(it.t, Value::boolean(main));
    Ok(2)
}

/// `coroutine.isyieldable([co])`.
pub fn isyieldable(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let y = if a.n == 0 {
        coro::yieldable(it)
    } else {
        let co = check_co(it, a, 0, "coroutine.isyieldable")?;
        match coro::status(co.as_object().expect("a coroutine")) {
            Status::Running => coro::yieldable(it),
            _ => !coro::is_main(co.as_object().expect("a coroutine")),
        }
    };
    push(it.t, Value::boolean(y));
    Ok(1)
}

/// `coroutine.close(co)`: true, or false and the error that killed it (or
/// that a `__close` raised while it was closed).
pub fn close(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    check_co(it, a, 0, "coroutine.close")?;
    let t = it.t;
    match coro::close(it, a.base) {
        Ok(true) => {
            push(t, Value::TRUE);
            Ok(1)
        }
        Ok(false) => {
            let e = crate::heap::pop(t);
            push(t, Value::FALSE);
            push(t, e);
            Ok(2)
        }
        Err(s) => Err(it.throw_here(&format!("cannot close a {} coroutine", s.name()))),
    }
}
