//! Coroutines: Lua threads, each on a native stack of its own.
//!
//! luavm runs Lua code on the native stack (the interpreter recurses, compiled
//! code calls compiled code), so a coroutine that yields in the middle of a
//! call chain keeps that chain on a stack of its own: a `corosensei` coroutine
//! whose stack comes from a pool. A yield is a switch of stack, whatever is
//! in between (compiled frames, interpreted frames, `pcall`, a metamethod),
//! as lua5.4 allows; a yield through a built-in that called Lua code (a
//! `table.sort` comparator, a `__tostring` called by `tostring`) is refused as
//! lua5.4 refuses it ("attempt to yield across a C-call boundary").
//!
//! A coroutine that has started has a region of the value stack and of the
//! call records of its own ([`crate::stack`], [`crate::sites`]): its frames'
//! slots stay at fixed addresses while it is suspended, and compiled code
//! addresses them like the main thread's. A switch exchanges what belongs to
//! the running thread ([`Context`]): both regions, the interpreter's call
//! depth and native-stack floor, its to-be-closed variables, `xpcall`
//! handlers and traceback, and the substrate's view of the native stack
//! ([`vmkit::Thread::swap_stack_context`]). Values cross by copy between the
//! two regions, with nothing allocated in between.
//!
//! The collector sees the running thread's region and those of the threads
//! that resumed it as roots ([`scan_resumers`]); a suspended coroutine's
//! region is part of its object ([`scan_object`]), which the plan's write
//! barrier logs at each switch (the region changes while it runs), so that
//! generational and concurrent plans see it as they see a table's fields. A
//! coroutine that ends gives its stack and regions back at once; one that is
//! collected while suspended gives them back when the collector queues its
//! object (its native stack is dropped without running what is on it: no Lua
//! code runs, as in lua5.4, and Rust values on it are leaked).
//!
//! Limits: [`crate::stack::regions`] coroutines can have started and not
//! ended at once (16384 where the OS gives the address space; a collection
//! is tried before a start is refused with "too many coroutines"), and a
//! coroutine's native stack is [`NATIVE_STACK`] bytes ("stack overflow"
//! before it runs out). Resumes nest at most [`MAX_NESTED`] deep ("C stack
//! overflow", as lua5.4 says).

use crate::heap::*;
use crate::interp::Interp;
use crate::sites::Site;
use crate::stack;
use crate::value::Value;
use corosensei::stack::{DefaultStack, Stack as _};
use corosensei::{Coroutine, CoroutineResult, Yielder};
use std::cell::UnsafeCell;
use vmkit::{ObjectReference, SlotVisitor};

/// Bytes of a coroutine's native stack (reserved; the OS commits pages as
/// the stack reaches them).
pub const NATIVE_STACK: usize = 256 << 20;

/// Resumes nested in one another at most (lua5.4's `LUAI_MAXCCALLS` gives
/// about this many).
pub const MAX_NESTED: usize = 196;

/// Native stacks kept for reuse.
const POOL: usize = 1024;

/// Coroutines started between two collections at least: a started
/// coroutine holds memory the heap does not count (its native stack and
/// regions, [`STARTED_COST`] bytes or so), so starting them is what brings
/// the collection that gives back those of suspended coroutines nothing
/// refers to.
const BATCH: usize = 256;

/// Bytes a started coroutine holds outside the heap, about: the pages of
/// its native stack and regions a shallow coroutine touches.
const STARTED_COST: usize = 32 << 10;

/// What a resume tells the coroutine.
enum Signal {
    /// Run on (the values are in the registry's transfer buffer).
    Resume(*mut Interp<'static>),
    /// Unwind (`coroutine.close`): the pending `yield` raises an error no
    /// protected call catches, running the `__close` metamethods on the way.
    Close,
}

/// How a coroutine's function ended.
enum Finish {
    /// It returned (its results in the transfer buffer).
    Done,
    /// It raised an error (the error value is the interpreter's).
    Failed,
}

type Native = Coroutine<Signal, (), Finish, DefaultStack>;

/// The running thread's state that belongs to one Lua thread: what a switch
/// exchanges. An entry's context is the coroutine's own while it is
/// suspended, and the state of the thread that resumed it while it runs.
#[derive(Default)]
struct Context {
    values: stack::Bounds,
    sites: crate::sites::Bounds,
    depth: u32,
    c_calls: u32,
    native_floor: usize,
    closing: bool,
    tbc: Vec<(usize, bool)>,
    handlers: Vec<(usize, Vec<String>)>,
    traceback: Vec<String>,
    caught_traceback: Vec<String>,
    tracing: bool,
    meta_site: Option<Site>,
    frames: vmkit::StackContext,
}

/// A coroutine that has started and not ended, or not started.
struct Entry {
    /// Bumped when the entry is freed: an object names its entry by index
    /// and generation.
    generation: u32,
    /// Whether the entry is in use.
    used: bool,
    /// Its native coroutine (`None` until it starts, and while it runs).
    native: Option<Box<Native>>,
    /// Its region index (once started).
    region: Option<usize>,
    /// Whether it is running or resumed another (in [`Registry::chain`]).
    active: bool,
    ctx: Context,
    /// Where `yield` switches back from (set when it starts).
    yielder: *const Yielder<Signal, ()>,
    /// Its object while it is active (a root then: the collector updates it).
    object: u64,
}

/// Every coroutine's entry, and what they share.
struct Registry {
    entries: Vec<Entry>,
    free: Vec<u32>,
    /// Free region indices, and the next never used.
    regions: Vec<usize>,
    next_region: usize,
    /// Native stacks of ended coroutines, for reuse.
    stacks: Vec<DefaultStack>,
    /// The active coroutines, outermost first (the main thread is below).
    chain: Vec<u32>,
    /// Values crossing a switch (raw words: nothing allocates meanwhile).
    transfer: Vec<u64>,
    /// Coroutines started and not ended.
    started: usize,
    /// Starting one more than this collects first.
    next_collection: usize,
    /// Starts refused since the first one: with every region held by a
    /// reachable coroutine, a collection per refusal made each refusal cost a
    /// whole collection (20,000 live coroutines: 3,680 collections, 51 s of
    /// pauses); one per [`BATCH`] refusals bounds that.
    refused: usize,
}

struct Cell(UnsafeCell<Registry>);

// SAFETY: the Lua thread alone mutates the registry; the collector reads it
// (scan_resumers, scan_object) only while that thread is stopped.
unsafe impl Sync for Cell {}

static REGISTRY: Cell = Cell(UnsafeCell::new(Registry {
    entries: Vec::new(),
    free: Vec::new(),
    regions: Vec::new(),
    next_region: 0,
    stacks: Vec::new(),
    chain: Vec::new(),
    transfer: Vec::new(),
    started: 0,
    next_collection: BATCH,
    refused: 0,
}));

#[allow(clippy::mut_from_ref)]
fn reg() -> &'static mut Registry {
    // SAFETY: see `Cell`; borrows are short and never held across a switch
    // or an allocation.
    unsafe { &mut *REGISTRY.0.get() }
}

/// A resume or close that failed: the error value is pushed on the running
/// thread's stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed;

/// Flags of a coroutine object ([`CO_FLAGS`]).
const DEAD: u64 = 1;
/// It died of an error `coroutine.close` has not reported yet (the error is
/// its value field).
const ERRORED: u64 = 2;
/// The main thread's object.
const MAIN: u64 = 4;

/// Makes a coroutine of `f` (a function): `coroutine.create`.
pub fn create(it: &mut Interp<'_>, f: Value) -> LResult<Value> {
    let t = it.t;
    if !vmkit::gc::is_heap_ready() {
        // Objects made before the heap is up are never collected (nor
        // finalized, which gives a suspended coroutine's resources back).
        vmkit::gc::wait_heap_ready();
    }
    push(t, f);
    let o = t.alloc(&THREAD, CO_HI + 8).map_err(|_| NoMemory);
    let f = pop(t);
    let o = it.mem(o)?;
    let r = reg();
    let idx = match r.free.pop() {
        Some(i) => i,
        None => {
            r.entries.push(Entry {
                generation: 0,
                used: false,
                native: None,
                region: None,
                active: false,
                ctx: Context::default(),
                yielder: std::ptr::null(),
                object: Value::NIL.0,
            });
            (r.entries.len() - 1) as u32
        }
    };
    let e = &mut r.entries[idx as usize];
    e.used = true;
    set_word(o, CO_VALUE, Value::NIL.0);
    set(t, o, CO_VALUE, f);
    set_word(o, CO_ENTRY, idx as u64 | (e.generation as u64) << 32);
    set_word(o, CO_FLAGS, 0);
    set_word(o, CO_LO, 0);
    set_word(o, CO_HI, 0);
    vmkit::gc::weak::register_finalizer(o);
    Ok(Value::object(o))
}

/// The main thread's object (made on first use).
fn main_object(it: &mut Interp<'_>) -> LResult<Value> {
    let t = it.t;
    let v = at(t, crate::interp::MAIN_THREAD);
    if !v.is_nil() {
        return Ok(v);
    }
    let o = t.alloc(&THREAD, CO_HI + 8).map_err(|_| NoMemory);
    let o = it.mem(o)?;
    set_word(o, CO_VALUE, Value::NIL.0);
    set_word(o, CO_ENTRY, u64::MAX);
    set_word(o, CO_FLAGS, MAIN);
    set_word(o, CO_LO, 0);
    set_word(o, CO_HI, 0);
    let v = Value::object(o);
    set_at(t, crate::interp::MAIN_THREAD, v);
    Ok(v)
}

/// What a coroutine object is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not started, or yielded.
    Suspended,
    /// The running thread.
    Running,
    /// It resumed another that has not yielded yet.
    Normal,
    /// Ended (or closed).
    Dead,
}

impl Status {
    /// lua5.4's name.
    pub fn name(self) -> &'static str {
        match self {
            Status::Suspended => "suspended",
            Status::Running => "running",
            Status::Normal => "normal",
            Status::Dead => "dead",
        }
    }
}

/// The entry of a live coroutine object (`None`: the main thread, or dead).
fn entry_of(o: ObjectReference) -> Option<usize> {
    if word(o, CO_FLAGS) & (DEAD | MAIN) != 0 {
        return None;
    }
    let w = word(o, CO_ENTRY);
    let (idx, generation) = ((w & 0xFFFF_FFFF) as usize, (w >> 32) as u32);
    let e = reg().entries.get(idx)?;
    (e.used && e.generation == generation).then_some(idx)
}

/// Whether `o` is the main thread's object.
pub fn is_main(o: ObjectReference) -> bool {
    word(o, CO_FLAGS) & MAIN != 0
}

/// The status of coroutine object `o`.
pub fn status(o: ObjectReference) -> Status {
    let r = reg();
    if word(o, CO_FLAGS) & MAIN != 0 {
        return if r.chain.is_empty() {
            Status::Running
        } else {
            Status::Normal
        };
    }
    match entry_of(o) {
        None => Status::Dead,
        Some(i) if r.chain.last() == Some(&(i as u32)) => Status::Running,
        Some(i) if r.entries[i].active => Status::Normal,
        Some(_) => Status::Suspended,
    }
}

/// The running coroutine's object and whether it is the main thread's.
pub fn running(it: &mut Interp<'_>) -> LResult<(Value, bool)> {
    match reg().chain.last() {
        Some(&i) => Ok((Value(reg().entries[i as usize].object), false)),
        None => Ok((main_object(it)?, true)),
    }
}

/// Whether the running code may yield: it runs in a coroutine, not under a
/// built-in that called Lua code (other than `pcall` and `xpcall`), and not
/// while `coroutine.close` unwinds it.
pub fn yieldable(it: &Interp<'_>) -> bool {
    if reg().chain.is_empty() || it.closing {
        return false;
    }
    // The records of the coroutine's frames' calls.
    (crate::sites::frame_bottom()..crate::sites::len()).all(|i| {
        let s = crate::sites::get(i).expect("below the length");
        !s.proto.is_null() || s.is_tail() || s.is_protected()
    })
}

/// The call records of thread `o` when it is not the running one (`None`:
/// it has none: dead or not started).
pub fn saved_sites(o: ObjectReference) -> Option<crate::sites::Bounds> {
    let r = reg();
    let ctx_of = |i: u32| r.entries[i as usize].ctx.sites;
    if is_main(o) {
        // Its state is in the context of the first coroutine it resumed.
        return r.chain.first().map(|&i| ctx_of(i));
    }
    let idx = entry_of(o)?;
    let e = &r.entries[idx];
    if e.active {
        // In the context of the coroutine it resumed.
        let pos = r.chain.iter().position(|&c| c as usize == idx)?;
        return r.chain.get(pos + 1).map(|&n| ctx_of(n));
    }
    e.native.is_some().then_some(e.ctx.sites)
}

/// Exchanges the running thread's state with `ctx`.
fn swap(it: &mut Interp<'_>, ctx: &mut Context) {
    stack::stack().swap_bounds(&mut ctx.values);
    crate::sites::swap_bounds(&mut ctx.sites);
    std::mem::swap(&mut it.depth, &mut ctx.depth);
    std::mem::swap(&mut it.c_calls, &mut ctx.c_calls);
    std::mem::swap(&mut it.stack_floor, &mut ctx.native_floor);
    std::mem::swap(&mut it.closing, &mut ctx.closing);
    std::mem::swap(&mut it.tbc, &mut ctx.tbc);
    std::mem::swap(&mut it.handlers, &mut ctx.handlers);
    std::mem::swap(&mut it.traceback, &mut ctx.traceback);
    std::mem::swap(&mut it.caught_traceback, &mut ctx.caught_traceback);
    std::mem::swap(&mut it.tracing, &mut ctx.tracing);
    let site = ctx.meta_site.take().unwrap_or(Site::NONE);
    ctx.meta_site = Some(std::mem::replace(&mut it.meta_site, site));
    // SAFETY: on the Lua thread, right before or right after a switch of
    // native stack between the two threads this context and the running
    // state describe.
    unsafe { it.t.swap_stack_context(&mut ctx.frames) };
}

/// Tells the plan's write barrier that coroutine `o`'s region changes (at
/// each switch into and out of it: a snapshot barrier records the region
/// before it changes, a generational one makes the next collection read it).
fn log(t: &vmkit::Thread, o: ObjectReference) {
    // Storing its value field again is a store the barrier sees.
    set(t, o, CO_VALUE, get(o, CO_VALUE));
}

/// Pushes an error message for a failed resume.
fn fail(it: &mut Interp<'_>, msg: &str) -> Result<usize, Failed> {
    let v = match it.string(msg.as_bytes()) {
        Ok(v) => v,
        Err(_) => it.error_value(),
    };
    push(it.t, v);
    Err(Failed)
}

/// Gives an entry's region a native stack and a region; `false` if none is
/// left even after a collection.
fn start(it: &mut Interp<'_>, idx: usize) -> bool {
    if reg().started >= reg().next_collection {
        // As the heap counts its bytes, so the coroutines: about as many
        // bytes of them as the heap holds between two collections.
        it.t.collect();
        crate::stdlib::finalize::run_queued(it);
        let r = reg();
        r.next_collection = r.started + BATCH.max(vmkit::gc::used_bytes() / STARTED_COST);
    }
    for attempt in 0..2 {
        let r = reg();
        let region = r.regions.pop().or_else(|| {
            (r.next_region < stack::regions()).then(|| {
                r.next_region += 1;
                r.next_region - 1
            })
        });
        let native = match r.stacks.pop() {
            Some(s) => Ok(s),
            None => DefaultStack::new(NATIVE_STACK),
        };
        match (region, native) {
            (Some(region), Ok(ns)) => {
                let limit = ns.limit().get();
                let floor = limit + crate::interp::STACK_RESERVE;
                let frames_limit = if it.t.stack_limit() == 0 { 0 } else { floor };
                let native = Coroutine::with_stack(ns, move |y, sig| body(idx, y, sig));
                let e = &mut reg().entries[idx];
                e.native = Some(Box::new(native));
                e.region = Some(region);
                reg().started += 1;
                e.ctx = Context {
                    values: stack::Bounds::region(region),
                    sites: crate::sites::Bounds::region(region),
                    native_floor: floor,
                    tracing: true,
                    frames: vmkit::StackContext::new(frames_limit),
                    ..Context::default()
                };
                return true;
            }
            (region, native) => {
                let r = reg();
                if let Some(region) = region {
                    r.regions.push(region);
                }
                if let Ok(s) = native {
                    r.stacks.push(s);
                }
                if attempt == 0 {
                    // Suspended coroutines nothing refers to give theirs back
                    // when collected (here at most once per `BATCH` refusals;
                    // the heap's own collections give them back meanwhile).
                    let r = reg();
                    r.refused += 1;
                    if r.refused % BATCH != 1 {
                        break;
                    }
                    it.t.collect();
                    crate::stdlib::finalize::run_queued(it);
                }
            }
        }
    }
    false
}

/// The function a coroutine's native stack starts with: calls the Lua
/// function (first in the transfer buffer) with the values after it.
fn body(idx: usize, y: &Yielder<Signal, ()>, sig: Signal) -> Finish {
    let Signal::Resume(itp) = sig else {
        // A coroutine that has not started is closed without starting it.
        return Finish::Done;
    };
    // SAFETY: the interpreter outlives every coroutine (they run inside its
    // calls), and its resumer does not touch it until this switches back.
    let it = unsafe { &mut *itp };
    reg().entries[idx].yielder = y;
    let t = it.t;
    let base = top(t);
    let words = std::mem::take(&mut reg().transfer);
    for w in &words {
        push(t, Value(*w));
    }
    reg().transfer = words;
    let nargs = reg().transfer.len() - 1;
    reg().transfer.clear();
    match it.call_from_builtin(base, nargs) {
        Ok(n) => {
            let r = reg();
            let from = top(t) - n;
            r.transfer.extend((from..top(t)).map(|i| at(t, i).0));
            roots(t).truncate(base);
            Finish::Done
        }
        Err(Thrown) => Finish::Failed,
    }
}

/// Resumes coroutine `co` (an object of kind thread) with the `n` values at
/// `args..` of the running thread's stack, or closes it (`close`): pushes
/// what it yielded or returned (`Ok(count)`), or the error value (`Err`).
fn switch_into(
    it: &mut Interp<'_>,
    co_at: usize,
    args: usize,
    n: usize,
    close: bool,
) -> Result<usize, Failed> {
    let t = it.t;
    let o = at(t, co_at).as_object().expect("a coroutine");
    match status(o) {
        Status::Suspended => {}
        Status::Dead => return fail(it, "cannot resume dead coroutine"),
        _ => return fail(it, "cannot resume non-suspended coroutine"),
    }
    let idx = entry_of(o).expect("a suspended coroutine has an entry");
    if reg().chain.len() >= MAX_NESTED {
        return fail(it, "C stack overflow");
    }
    let r = reg();
    r.transfer.clear();
    let first = r.entries[idx].native.is_none();
    if first {
        if close {
            // Never started: nothing to unwind.
            finish(t, o, idx, None);
            return Ok(0);
        }
        if !start(it, idx) {
            return fail(it, "too many coroutines");
        }
        // Read again: a collection may have moved it.
        let o = at(t, co_at).as_object().expect("a coroutine");
        reg().transfer.push(get(o, CO_VALUE).0);
    }
    let r = reg();
    r.transfer.extend((args..args + n).map(|i| at(t, i).0));
    // Nothing allocates from here to the switch: the object stays where it
    // is. The barrier sees its region as it was, then the region is a root
    // (an active thread's) until the coroutine suspends again.
    let o = at(t, co_at).as_object().expect("a coroutine");
    log(t, o);
    set_word(o, CO_LO, 0);
    set_word(o, CO_HI, 0);
    let e = &mut r.entries[idx];
    e.active = true;
    e.object = Value::object(o).0;
    let mut native = e.native.take().expect("a started coroutine");
    r.chain.push(idx as u32);
    swap(it, &mut reg().entries[idx].ctx);
    // As lua_resume: the coroutine's C calls count on from its resumer's,
    // one more (a first resume's call of the body counts that one).
    it.c_calls = reg().entries[idx].ctx.c_calls + u32::from(!first);
    let sig = if close {
        Signal::Close
    } else {
        Signal::Resume((it as *mut Interp<'_>).cast::<Interp<'static>>())
    };
    let result = native.resume(sig);
    swap(it, &mut reg().entries[idx].ctx);
    let r = reg();
    r.chain.pop();
    let e = &mut r.entries[idx];
    e.active = false;
    // Moved if a collection ran: the entry's word was a root.
    let co = Value(std::mem::replace(&mut e.object, Value::NIL.0));
    let o = co.as_object().expect("a coroutine");
    match result {
        CoroutineResult::Yield(()) => {
            let e = &mut reg().entries[idx];
            e.native = Some(native);
            // Its region is the object's now; the barrier makes the next
            // collection read it.
            set_word(o, CO_LO, e.ctx.values.floor as u64);
            set_word(o, CO_HI, e.ctx.values.len as u64);
            log(t, o);
            Ok(push_transfer(t))
        }
        CoroutineResult::Return(Finish::Done) => {
            release(idx, *native);
            finish(t, o, idx, None);
            Ok(push_transfer(t))
        }
        CoroutineResult::Return(Finish::Failed) => {
            release(idx, *native);
            let err = it.error_value();
            finish(t, o, idx, Some(err));
            push(t, err);
            Err(Failed)
        }
    }
}

/// Pushes the transfer buffer's values; returns how many.
fn push_transfer(t: &vmkit::Thread) -> usize {
    let r = reg();
    let n = r.transfer.len();
    for i in 0..n {
        push(t, Value(r.transfer[i]));
    }
    r.transfer.clear();
    n
}

/// Gives an ended coroutine's native stack and region back, returning to
/// the OS the pages of a coroutine that went deep.
fn release(idx: usize, native: Native) {
    let r = reg();
    let ns = native.into_stack();
    // A stack grows down from its base.
    let base = ns.base().get();
    trim(ns.limit().get(), base - KEEP, base - KEEP - 4096);
    if r.stacks.len() < POOL {
        r.stacks.push(ns);
    }
    if let Some(region) = r.entries[idx].region.take() {
        let (v, s) = (
            stack::Bounds::region(region),
            crate::sites::Bounds::region(region),
        );
        let word = std::mem::size_of::<u64>();
        let base = stack::base_address();
        trim(
            base + (v.floor * word) + KEEP,
            base + v.cap * word,
            base + v.floor * word + KEEP,
        );
        let size = crate::sites::SITE_SIZE;
        let base = crate::sites::base_address();
        trim(
            base + s.floor * size + KEEP,
            base + s.cap * size,
            base + s.floor * size + KEEP,
        );
        r.regions.push(region);
    }
    r.started -= 1;
}

/// Bytes of a stack or region kept resident when it is given back.
const KEEP: usize = 256 << 10;

/// Returns the pages of `lo..hi` to the OS if the page at `probe` is
/// resident (the coroutine used memory that far).
fn trim(lo: usize, hi: usize, probe: usize) {
    const PAGE: usize = 4096;
    let (lo, hi, probe) = (
        lo.next_multiple_of(PAGE),
        hi & !(PAGE - 1),
        probe & !(PAGE - 1),
    );
    if lo >= hi || probe < lo || probe >= hi {
        return;
    }
    let mut resident = 0u8;
    // SAFETY: `probe` is a page of a mapping luavm owns (a stack or a
    // region); mincore writes one byte.
    let r = unsafe { libc::mincore(probe as *mut libc::c_void, PAGE, &mut resident) };
    if r == 0 && resident & 1 != 0 {
        // SAFETY: `lo..hi` is inside that mapping and nothing in it is in
        // use: the coroutine has ended. Its pages read as zero afterwards.
        unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_DONTNEED) };
    }
}

/// Marks coroutine `o` dead (keeping the error that killed it, for
/// `coroutine.close`) and frees its entry.
fn finish(t: &vmkit::Thread, o: ObjectReference, idx: usize, error: Option<Value>) {
    set_word(
        o,
        CO_FLAGS,
        DEAD | if error.is_some() { ERRORED } else { 0 },
    );
    set_word(o, CO_LO, 0);
    set_word(o, CO_HI, 0);
    set(t, o, CO_VALUE, error.unwrap_or(Value::NIL));
    free_entry(idx);
}

/// Frees entry `idx` for another coroutine.
fn free_entry(idx: usize) {
    let r = reg();
    let e = &mut r.entries[idx];
    e.used = false;
    e.generation = e.generation.wrapping_add(1);
    e.native = None;
    e.region = None;
    e.ctx = Context::default();
    e.yielder = std::ptr::null();
    r.free.push(idx as u32);
}

/// `coroutine.resume(co, ...)` of the coroutine at stack index `co_at` with
/// the `n` values at `args..`: the values yielded or returned, or the error
/// value (`Err`), pushed.
pub fn resume(it: &mut Interp<'_>, co_at: usize, args: usize, n: usize) -> Result<usize, Failed> {
    switch_into(it, co_at, args, n, false)
}

/// `coroutine.close(co)`: `Ok(true)` closed, `Ok(false)` with the error
/// value pushed, or `Err(status)` for a coroutine that cannot be closed.
pub fn close(it: &mut Interp<'_>, co_at: usize) -> Result<bool, Status> {
    let t = it.t;
    let o = at(t, co_at).as_object().expect("a coroutine");
    match status(o) {
        Status::Dead => {
            if word(o, CO_FLAGS) & ERRORED != 0 {
                let err = get(o, CO_VALUE);
                set_word(o, CO_FLAGS, DEAD);
                set(t, o, CO_VALUE, Value::NIL);
                push(t, err);
                return Ok(false);
            }
            Ok(true)
        }
        Status::Suspended => {
            let base = top(t);
            match switch_into(it, co_at, base, 0, true) {
                Ok(_) => {
                    roots(t).truncate(base);
                    Ok(true)
                }
                Err(Failed) => {
                    // The unwinding's error: nil unless a `__close` raised
                    // one; reported here, not kept for another close.
                    let err = at(t, top(t) - 1);
                    roots(t).truncate(base);
                    let o = at(t, co_at).as_object().expect("a coroutine");
                    set_word(o, CO_FLAGS, DEAD);
                    set(t, o, CO_VALUE, Value::NIL);
                    if err.is_nil() {
                        Ok(true)
                    } else {
                        push(t, err);
                        Ok(false)
                    }
                }
            }
        }
        s => Err(s),
    }
}

/// `coroutine.yield(...)` with the `n` values at `args..`: the values the
/// next resume passes, pushed (`Ok(count)`), or an error.
pub fn yield_values(it: &mut Interp<'_>, args: usize, n: usize) -> LResult<usize> {
    let t = it.t;
    let Some(&idx) = reg().chain.last() else {
        return Err(it.throw_msg("attempt to yield from outside a coroutine"));
    };
    if !yieldable(it) {
        return Err(it.throw_msg("attempt to yield across a C-call boundary"));
    }
    let r = reg();
    r.transfer.clear();
    r.transfer.extend((args..args + n).map(|i| at(t, i).0));
    let y = r.entries[idx as usize].yielder;
    // SAFETY: the yielder of the running coroutine, set when it started, on
    // its stack (valid while it has not ended).
    let sig = unsafe { (*y).suspend(()) };
    match sig {
        Signal::Resume(_) => Ok(push_transfer(t)),
        Signal::Close => {
            it.closing = true;
            Err(it.throw(Value::NIL))
        }
    }
}

/// A coroutine object the collector queued (unreachable): gives back what a
/// suspended one holds, without running any of its code.
pub fn collected(o: ObjectReference) {
    let Some(idx) = entry_of(o) else {
        return;
    };
    let r = reg();
    let e = &mut r.entries[idx];
    if e.active {
        return;
    }
    if let Some(mut native) = e.native.take() {
        // SAFETY: nothing on a suspended coroutine's stack needs dropping for
        // soundness: Lua values are on the value stack, and the Rust values
        // its frames hold (buffers, counted references to prototypes that
        // live for the process's life) are leaked.
        unsafe { native.force_reset() };
        release(idx, *native);
    }
    free_entry(idx);
    set_word(o, CO_FLAGS, DEAD);
    set_word(o, CO_LO, 0);
    set_word(o, CO_HI, 0);
}

/// Reports the regions of the threads that resumed the running one (and
/// their objects), for the collector (from the thread-root scan).
pub fn scan_resumers(visit: &mut SlotVisitor<'_>) {
    let r = reg();
    for &i in &r.chain {
        let e = &mut r.entries[i as usize];
        stack::scan_range(e.ctx.values.floor, e.ctx.values.len, visit);
        if Value(e.object).as_object().is_some() {
            visit(vmkit::Address::from_mut_ptr(&mut e.object as *mut u64));
        }
    }
}

/// Reports a coroutine object's references: its value, and a suspended
/// coroutine's slots. It reads only the object (a concurrent plan's marking
/// runs it while Lua code runs; a suspended region does not change until
/// its resume, whose barrier comes first).
pub fn scan_object(o: ObjectReference, visit: &mut SlotVisitor<'_>) {
    let slot = o.to_raw_address() + CO_VALUE;
    if Value(word(o, CO_VALUE)).as_object().is_some() {
        visit(slot);
    }
    let (lo, hi) = (word(o, CO_LO) as usize, word(o, CO_HI) as usize);
    if lo < hi {
        stack::scan_range(lo, hi, visit);
    }
}

/// Bytes of a coroutine object.
pub fn object_size() -> usize {
    CO_HI + 8
}
