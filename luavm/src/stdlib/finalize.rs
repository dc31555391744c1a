//! `__gc` finalizers on the substrate's finalization support.
//!
//! `setmetatable(t, mt)` with a `__gc` field in `mt` marks `t` (once, as Lua
//! does): the substrate is asked to queue it when it becomes unreachable
//! ([`vmkit::gc::weak::register_finalizer`]), and a weak reference to it goes
//! in the library's hidden table so that the state's close can still find
//! it. Queued objects are finalized (their `__gc` called, errors ignored as
//! lua5.4 does without warnings on) the next time a built-in is called or
//! `collectgarbage` runs, newest marked first; at the end of the program every
//! object still marked is finalized, newest first, as `lua_close` does.
//!
//! Objects made before the heap is up (vmkit's early region) are immortal:
//! a chunk that mentions `__gc` waits for the heap before it runs, and the
//! first mark does too (for code loaded later), so only objects made before
//! that are finalized at close rather than when they die.

use crate::heap::*;
use crate::interp::Interp;
use crate::table;
use crate::value::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use vmkit::ObjectReference;

/// Set by the collector (on a GC thread) when it queued objects.
static PENDING: AtomicBool = AtomicBool::new(false);

/// Marked objects: identity hash -> position in the hidden list (the
/// marking order).
#[derive(Default)]
struct Marks {
    by_hash: HashMap<u32, i64>,
    next: i64,
}

thread_local! {
    static MARKS: RefCell<Marks> = RefCell::new(Marks::default());
}

/// Tells the interpreter that finalizers are waiting (the personality's
/// `finalizers_pending`).
pub fn notify() {
    PENDING.store(true, Ordering::Release);
}

/// Whether the collector queued objects whose finalizers have not run.
#[inline]
pub fn pending() -> bool {
    PENDING.load(Ordering::Relaxed)
}

/// The list of weak references to marked objects (made on first use): the
/// standard library's hidden table, whose other keys are strings.
pub(super) fn list(it: &mut Interp<'_>) -> LResult<Value> {
    let l = it.library();
    if as_table(l).is_some() {
        return Ok(l);
    }
    let l = it.mem(new_table(it.t, 8, 0))?;
    it.set_library(l);
    Ok(l)
}

/// Marks `v` (a table) for finalization, unless it already is.
pub fn mark(it: &mut Interp<'_>, v: Value) -> LResult<()> {
    let Some(o) = v.as_object() else {
        return Ok(());
    };
    let h = identity_hash(o);
    if MARKS.with(|m| m.borrow().by_hash.contains_key(&h)) {
        return Ok(());
    }
    if !vmkit::gc::is_heap_ready() {
        vmkit::gc::wait_heap_ready();
    }
    let t = it.t;
    push(t, v);
    let l = list(it)?;
    push(t, l);
    let obj = at(t, top(t) - 2).as_object().expect("the object");
    let w = t.new_weak_ref(Some(obj)).map_err(|_| NoMemory);
    let w = it.mem(w)?;
    let l = pop(t);
    let v = pop(t);
    vmkit::gc::weak::register_finalizer(v.as_object().expect("the object"));
    let n = MARKS.with(|m| {
        let mut m = m.borrow_mut();
        m.next += 1;
        let n = m.next;
        m.by_hash.insert(h, n);
        n
    });
    let k = Value::small_int(n).expect("a small index");
    table::raw_set(t, l, k, Value::object(w)).map_err(|_| it.no_memory())
}

/// Calls the `__gc` of `v` (no longer marked), ignoring its errors.
fn finalize(it: &mut Interp<'_>, v: Value) {
    let Some(m) = it.metamethod(v, b"__gc") else {
        return;
    };
    let t = it.t;
    let base = top(t);
    let sites = crate::sites::len();
    if it.call_value(m, &[v]).is_err() {
        it.caught();
        crate::sites::truncate(sites);
    }
    roots(t).truncate(base);
}

/// Runs the finalizers of the objects the collector queued, if it said so.
pub fn run_pending(it: &mut Interp<'_>) {
    if PENDING.swap(false, Ordering::Acquire) {
        run_queued(it);
    }
}

/// Runs the finalizers of every object queued now (the collector's notice
/// may come after the collection returned: this does not wait for it).
pub fn run_queued(it: &mut Interp<'_>) {
    loop {
        let t = it.t;
        let base = top(t);
        // The queued objects, newest marked first (rooted before anything
        // allocates).
        let mut batch: Vec<(i64, ObjectReference)> = Vec::new();
        while let Some(o) = vmkit::gc::weak::take_finalizable() {
            if kind(o) == Kind::Thread {
                // A coroutine nothing refers to: its resources go back.
                crate::coro::collected(o);
                continue;
            }
            let h = identity_hash(o);
            if let Some(n) = MARKS.with(|m| m.borrow_mut().by_hash.remove(&h)) {
                batch.push((n, o));
            }
        }
        if batch.is_empty() {
            return;
        }
        batch.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
        for (_, o) in &batch {
            push(t, Value::object(*o));
        }
        for i in 0..batch.len() {
            let v = at(t, base + i);
            finalize(it, v);
        }
        roots(t).truncate(base);
    }
}

/// At the end of the program (`lua_close`): the queued finalizers, then
/// those of every object still marked, newest first.
pub fn close(it: &mut Interp<'_>) {
    run_queued(it);
    let last = MARKS.with(|m| m.borrow().next);
    for n in (1..=last).rev() {
        let Some(l) = as_table(it.library()) else {
            return;
        };
        let Some(w) = table::raw_get_int(l, n).as_object() else {
            continue;
        };
        // SAFETY: the list holds only weak-reference objects made by `mark`,
        // kept alive by the list.
        let Some(o) = (unsafe { vmkit::gc::weak::weak_get(w) }) else {
            continue;
        };
        let marked = MARKS.with(|m| m.borrow_mut().by_hash.remove(&identity_hash(o)));
        if marked.is_some() {
            finalize(it, Value::object(o));
        }
        run_queued(it);
    }
}
