//! The calls in progress, innermost last: where each was made (the calling
//! function's prototype and line) and the expression that named the callee.
//! Messages read it: a built-in's error points at the Lua line that called
//! it, `error(msg, level)` at the caller `level` calls up, "bad argument"
//! messages use the name the caller used (`rep` for `string.rep(...)`).
//!
//! One buffer that never moves, like the value stack: compiled code pushes
//! and pops a record with two stores and an add, around each call it makes
//! itself.

use crate::lang::ast::{Bytes, Expr, Function};
use std::cell::UnsafeCell;
use std::rc::Rc;

/// A call in progress. Null pointers: a call made by a built-in (no Lua
/// position, no name).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Site {
    /// The calling function's prototype (kept alive by the interpreter for
    /// the process's life).
    pub proto: *const Function,
    /// The line of the call.
    pub line: u64,
    /// The callee expression (a node of that prototype).
    pub callee: *const Expr,
}

/// Bytes of a record (compiled code writes them).
pub const SITE_SIZE: usize = std::mem::size_of::<Site>();

impl Site {
    /// A call made by a built-in.
    pub const NONE: Site = Site {
        proto: std::ptr::null(),
        line: 0,
        callee: std::ptr::null(),
    };

    /// `SOURCE:LINE:` of the call, if made by Lua code.
    pub fn position(&self) -> Option<String> {
        // SAFETY: prototypes live for the process's life.
        let p = unsafe { self.proto.as_ref()? };
        Some(format!("{}:{}:", p.source, self.line))
    }

    /// The name the caller used for the callee, and whether as a method.
    pub fn name(&self) -> Option<(Bytes, bool)> {
        // SAFETY: nodes of prototypes live for the process's life.
        let e = unsafe { self.callee.as_ref()? };
        match e {
            Expr::Global(n) | Expr::Local { name: n, .. } | Expr::Upvalue { name: n, .. } => {
                Some((n.clone(), false))
            }
            Expr::Index { key, .. } => match &**key {
                Expr::Str(k) => Some((k.clone(), false)),
                _ => None,
            },
            Expr::Method { name, .. } => Some((name.clone(), true)),
            _ => None,
        }
    }
}

/// Records (as many as the value stack has slots: every call has its callee
/// on it).
const CAPACITY: usize = 8_000_001;

struct Buf {
    sites: *mut Site,
    len: usize,
}

struct Cell(UnsafeCell<Buf>);

// SAFETY: only the Lua thread uses it.
unsafe impl Sync for Cell {}

static SITES: Cell = Cell(UnsafeCell::new(Buf {
    sites: std::ptr::null_mut(),
    len: 0,
}));

#[allow(clippy::mut_from_ref)]
fn buf() -> &'static mut Buf {
    // SAFETY: only the Lua thread uses it, one borrow at a time.
    unsafe { &mut *SITES.0.get() }
}

/// Makes the buffer (once, on the Lua thread, before any call).
pub fn init() {
    let b = buf();
    if b.sites.is_null() {
        let v: Vec<Site> = Vec::with_capacity(CAPACITY);
        let mut v = std::mem::ManuallyDrop::new(v);
        b.sites = v.as_mut_ptr();
    }
    b.len = 0;
}

/// Records a call.
#[inline]
pub fn push(s: Site) {
    let b = buf();
    assert!(b.len < CAPACITY, "luavm: too many calls in progress");
    // SAFETY: inside the buffer.
    unsafe { b.sites.add(b.len).write(s) };
    b.len += 1;
}

/// Drops the innermost record.
#[inline]
pub fn pop() {
    let b = buf();
    b.len = b.len.saturating_sub(1);
}

/// How many calls are in progress.
#[inline]
pub fn len() -> usize {
    buf().len
}

/// Drops the records above the first `n`.
pub fn truncate(n: usize) {
    let b = buf();
    b.len = b.len.min(n);
}

/// Record `i` (from the outermost).
pub fn get(i: usize) -> Option<Site> {
    let b = buf();
    // SAFETY: below the length, written by `push`.
    (i < b.len).then(|| unsafe { *b.sites.add(i) })
}

/// The innermost record.
pub fn last() -> Option<Site> {
    len().checked_sub(1).and_then(get)
}

/// Address of the first record (fixed).
pub fn base_address() -> usize {
    buf().sites as usize
}

/// Address of the length word.
pub fn len_address() -> usize {
    // SAFETY: a field of the static.
    unsafe { std::ptr::addr_of_mut!((*SITES.0.get()).len) as usize }
}

/// The record of a call from Lua code at `proto`'s `line`, the callee named by
/// `callee`.
pub fn site(proto: &Rc<Function>, line: u32, callee: &Expr) -> Site {
    Site {
        proto: Rc::as_ptr(proto),
        line: line as u64,
        callee,
    }
}
