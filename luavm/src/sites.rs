//! The calls in progress, innermost last: where each was made (the calling
//! function's prototype and line) and the expression that named the callee.
//! Messages read it: a built-in's error points at the Lua line that called
//! it, `error(msg, level)` at the caller `level` calls up, "bad argument"
//! messages use the name the caller used (`rep` for `string.rep(...)`).
//!
//! One buffer that never moves, like the value stack: compiled code pushes
//! and pops a record with three stores and an add, around each call it makes
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

    /// The record of a call made by `pcall` or `xpcall`: a built-in's call
    /// (no position, no name) that a coroutine may yield across.
    pub const PROTECTED: Site = Site {
        proto: std::ptr::null(),
        line: PROTECTED_LINE,
        callee: std::ptr::null(),
    };

    /// The record of a call made by a proper tail call (the caller's frame is
    /// gone: no position, no name).
    pub const TAIL: Site = Site {
        proto: std::ptr::null(),
        line: TAIL_LINE,
        callee: std::ptr::null(),
    };

    /// The record of the call of its iterator by a generic `for` of `proto`
    /// at `line`: the iterator's errors point at that line, and it is named
    /// "for iterator", as lua5.4 names it.
    pub fn for_iterator(proto: &Function, line: u32) -> Site {
        Site {
            proto,
            line: line as u64,
            callee: FOR_CALLEE,
        }
    }

    /// The record of a call made by an operation of `proto` at `line` (a
    /// metamethod call: no callee expression).
    pub fn at(proto: &Function, line: u32) -> Site {
        Site {
            proto,
            line: line as u64,
            callee: std::ptr::null(),
        }
    }

    /// This record of an operation of Lua code, as the call of the
    /// metamethod of `event` (`__index`) it makes: tracebacks name the frame
    /// "metamethod 'index'". A record without a position (an operation of a
    /// built-in) stays as it is, as lua5.4 names such frames from their
    /// caller.
    pub fn metamethod(self, event: &[u8]) -> Site {
        let name = event.strip_prefix(b"__").unwrap_or(event);
        match META_EVENTS.iter().position(|e| e.as_bytes() == name) {
            Some(i) if !self.proto.is_null() => Site {
                callee: &META_MARKS[i] as *const u8 as *const Expr,
                ..self
            },
            _ => self,
        }
    }

    /// Whether the call was a proper tail call ([`Site::TAIL`]).
    pub fn is_tail(&self) -> bool {
        self.line == TAIL_LINE
    }

    /// Whether this is [`Site::PROTECTED`].
    pub fn is_protected(&self) -> bool {
        self.proto.is_null() && self.line == PROTECTED_LINE
    }

    /// How a traceback names the frame of `proto` that this call made, as
    /// lua5.4 does from the calling code: "local 'f'", "upvalue 'f'",
    /// "function 'g'" (a global), "method 'm'", "field 'k'", "for iterator
    /// 'for iterator'", "main chunk", else "function <SOURCE:LINE>" (a call
    /// by a built-in, or a tail call).
    pub fn frame_name(&self, proto: &Function) -> String {
        if proto.name == "main chunk" {
            return proto.name.clone();
        }
        if self.callee == FOR_CALLEE {
            return "for iterator 'for iterator'".into();
        }
        if let Some(ev) = meta_event(self.callee) {
            return format!("metamethod '{ev}'");
        }
        let show = |n: &[u8]| String::from_utf8_lossy(n).into_owned();
        match self.callee_expr() {
            Some(Expr::Local { name, .. }) => format!("local '{}'", show(name)),
            Some(Expr::Upvalue { name, .. }) => format!("upvalue '{}'", show(name)),
            Some(Expr::Global(name)) => format!("function '{}'", show(name)),
            Some(Expr::Method { name, .. }) => format!("method '{}'", show(name)),
            Some(Expr::Index { key, .. }) if matches!(&**key, Expr::Str(_)) => match &**key {
                Expr::Str(k) => format!("field '{}'", show(k)),
                _ => unreachable!("matched above"),
            },
            _ => format!("function <{}:{}>", proto.source, proto.line),
        }
    }

    /// `debug.getinfo`'s `namewhat` and `name` of the function this call
    /// called, from the expression that named it (`None`: no name, as for a
    /// call made by a built-in or a tail call).
    pub fn name_what(&self) -> Option<(&'static str, String)> {
        if self.callee == FOR_CALLEE {
            return Some(("for iterator", "for iterator".into()));
        }
        if let Some(ev) = meta_event(self.callee) {
            return Some(("metamethod", ev.into()));
        }
        let show = |n: &[u8]| String::from_utf8_lossy(n).into_owned();
        match self.callee_expr()? {
            Expr::Local { name, .. } => Some(("local", show(name))),
            Expr::Upvalue { name, .. } => Some(("upvalue", show(name))),
            Expr::Global(name) => Some(("global", show(name))),
            Expr::Method { name, .. } => Some(("method", show(name))),
            Expr::Index { key, .. } => match &**key {
                Expr::Str(k) => Some(("field", show(k))),
                _ => None,
            },
            _ => None,
        }
    }

    /// How a traceback names the built-in this call called, from the
    /// expression that named it: `function 'pcall'`, `function
    /// 'string.rep'`, `method 'write'`, `for iterator 'for iterator'`, else
    /// `?`. (lua5.4 finds a built-in's name among the loaded modules first;
    /// this reads the name the caller used, the same for a library function
    /// called by its name.)
    pub fn builtin_frame_name(&self) -> String {
        if self.callee == FOR_CALLEE {
            return "for iterator 'for iterator'".into();
        }
        let show = |n: &[u8]| String::from_utf8_lossy(n).into_owned();
        match self.callee_expr() {
            Some(Expr::Global(name)) => format!("function '{}'", show(name)),
            Some(Expr::Index { obj, key, .. }) => match (&**obj, &**key) {
                (Expr::Global(lib), Expr::Str(k)) => {
                    format!("function '{}.{}'", show(lib), show(k))
                }
                (_, Expr::Str(k)) => format!("field '{}'", show(k)),
                _ => "?".into(),
            },
            Some(Expr::Method { name, .. }) => format!("method '{}'", show(name)),
            Some(Expr::Local { name, .. }) => format!("local '{}'", show(name)),
            Some(Expr::Upvalue { name, .. }) => format!("upvalue '{}'", show(name)),
            _ => "?".into(),
        }
    }

    /// `SOURCE:LINE:` of the call, if made by Lua code.
    pub fn position(&self) -> Option<String> {
        // SAFETY: prototypes live for the process's life.
        let p = unsafe { self.proto.as_ref()? };
        Some(format!("{}:{}:", p.source, self.line))
    }

    /// The expression that names the callee (compiled code records the whole
    /// call `f(...)`: its callee `f` then).
    fn callee_expr(&self) -> Option<&'static Expr> {
        if self.callee == FOR_CALLEE || meta_event(self.callee).is_some() {
            return None;
        }
        // SAFETY: nodes of prototypes live for the process's life.
        match unsafe { self.callee.as_ref()? } {
            Expr::Call { func, .. } => Some(func),
            e => Some(e),
        }
    }

    /// The name the caller used for the callee, and whether as a method.
    pub fn name(&self) -> Option<(Bytes, bool)> {
        if self.callee == FOR_CALLEE {
            return Some((Rc::from(&b"for iterator"[..]), false));
        }
        let e = self.callee_expr()?;
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

/// [`Site::TAIL`]'s line.
const TAIL_LINE: u64 = u64::MAX;

/// The line of [`Site::PROTECTED`].
const PROTECTED_LINE: u64 = u64::MAX - 1;
/// The events whose metamethods a traceback names as lua5.4 does
/// ("metamethod 'index'"), without their `__`.
const META_EVENTS: [&str; 22] = [
    "index", "newindex", "add", "sub", "mul", "div", "mod", "pow", "unm", "idiv", "band", "bor",
    "bxor", "shl", "shr", "bnot", "concat", "len", "eq", "lt", "le", "close",
];

/// The callees of metamethod calls' records ([`Site::metamethod`]): one
/// marker per event (addresses never read through; the contents differ from
/// [`FOR_CALLEE`]'s so that no two markers can share an address).
static META_MARKS: [u8; 22] = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
];

/// The event of a metamethod call's callee marker.
fn meta_event(callee: *const Expr) -> Option<&'static str> {
    let base = META_MARKS.as_ptr() as usize;
    let p = callee as usize;
    (base..base + META_MARKS.len())
        .contains(&p)
        .then(|| META_EVENTS[p - base])
}

/// The callee of [`Site::for_iterator`]'s records: no expression, a marker
/// (the address of a static, never read through).
const FOR_CALLEE: *const Expr = {
    static MARK: u8 = 0;
    &MARK as *const u8 as *const Expr
};

/// Records of the main thread (as many as its value-stack region has slots:
/// every call has its callee on it); each coroutine's region has as many as
/// its value-stack region ([`crate::stack::CO_SLOTS`]), at the same region
/// index.
const MAIN_RECORDS: usize = crate::stack::MAIN_SLOTS + 1;

struct Buf {
    sites: *mut Site,
    len: usize,
    /// The running thread's region: its first record and its end.
    floor: usize,
    cap: usize,
}

struct Cell(UnsafeCell<Buf>);

// SAFETY: only the Lua thread uses it.
unsafe impl Sync for Cell {}

static SITES: Cell = Cell(UnsafeCell::new(Buf {
    sites: std::ptr::null_mut(),
    len: 0,
    floor: 0,
    cap: MAIN_RECORDS,
}));

#[allow(clippy::mut_from_ref)]
fn buf() -> &'static mut Buf {
    // SAFETY: only the Lua thread uses it, one borrow at a time.
    unsafe { &mut *SITES.0.get() }
}

/// Makes the buffer (once, on the Lua thread, before any call), with room
/// for at most `regions` coroutine regions; returns how many it has.
pub fn init(regions: usize) -> usize {
    let b = buf();
    if b.sites.is_null() {
        let (p, n) = crate::stack::reserve::<Site>(MAIN_RECORDS, crate::stack::CO_SLOTS);
        b.sites = p;
        b.floor = n.min(regions);
    }
    let n = b.floor;
    b.len = 0;
    b.floor = 0;
    b.cap = MAIN_RECORDS;
    n
}

/// The running thread's records: length, first record, end (what a switch
/// of coroutine exchanges).
#[derive(Debug, Clone, Copy, Default)]
pub struct Bounds {
    /// The records in use end here.
    pub len: usize,
    /// The region's first record.
    pub floor: usize,
    /// The region's end.
    pub cap: usize,
}

impl Bounds {
    /// The bounds of coroutine region `i`, empty.
    pub fn region(i: usize) -> Bounds {
        let floor = MAIN_RECORDS + i * crate::stack::CO_SLOTS;
        Bounds {
            len: floor,
            floor,
            cap: floor + crate::stack::CO_SLOTS,
        }
    }
}

/// Exchanges the running thread's records with `other`'s.
pub fn swap_bounds(other: &mut Bounds) {
    let b = buf();
    let mine = Bounds {
        len: b.len,
        floor: b.floor,
        cap: b.cap,
    };
    b.len = other.len;
    b.floor = other.floor;
    b.cap = other.cap;
    *other = mine;
}

/// The running thread's first record that stands for one of its frames:
/// its first record, or in a coroutine the one after it (the first is the
/// call of the coroutine's function, made by no frame of the coroutine).
pub fn frame_bottom() -> usize {
    let floor = floor();
    if floor > 0 {
        floor + 1
    } else {
        floor
    }
}

/// The record of the call that made the frame record `i` was made from (the
/// record below it), [`Site::NONE`] at the running thread's first.
pub fn caller_of(i: usize) -> Site {
    if i > floor() {
        get(i - 1).unwrap_or(Site::NONE)
    } else {
        Site::NONE
    }
}

/// Runs `f` with another thread's records `b` (from
/// [`crate::coro::saved_sites`]) in place of the running thread's, read in
/// place.
pub fn with_records<R>(mut b: Bounds, f: impl FnOnce() -> R) -> R {
    swap_bounds(&mut b);
    let r = f();
    swap_bounds(&mut b);
    r
}

/// The running thread's first record: records below it are other threads'.
#[inline]
pub fn floor() -> usize {
    buf().floor
}

/// Records a call.
#[inline]
pub fn push(s: Site) {
    let b = buf();
    assert!(b.len < b.cap, "luavm: too many calls in progress");
    // SAFETY: inside the buffer.
    unsafe { b.sites.add(b.len).write(s) };
    b.len += 1;
}

/// Drops the innermost record.
#[inline]
pub fn pop() {
    let b = buf();
    if b.len > b.floor {
        b.len -= 1;
    }
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

/// Record `i` (an absolute index: the running thread's are from [`floor`]).
pub fn get(i: usize) -> Option<Site> {
    let b = buf();
    // SAFETY: in the running thread's region below the length, written by
    // `push`.
    (b.floor <= i && i < b.len).then(|| unsafe { *b.sites.add(i) })
}

/// Marks the innermost record as a tail call's ([`Site::TAIL`]): the frame
/// that made it was replaced.
pub fn mark_tail() {
    let b = buf();
    if b.len > b.floor {
        // SAFETY: below the length.
        unsafe { b.sites.add(b.len - 1).write(Site::TAIL) };
    }
}

/// The traceback line of a frame of `proto` at `line` through which an error
/// passes (the innermost record is the call that made the frame), and
/// lua5.4's "(...tail calls...)" after it when a tail call made it. A
/// function stored in a loaded module (`global`, see
/// `Interp::loaded_function_name`) is named by that, as lua5.4.4 names it,
/// whatever its caller called it.
pub fn traceback_line(proto: &Function, line: u32, global: Option<String>) -> String {
    let site = last().unwrap_or(Site::NONE);
    let name = match global {
        Some(g) if proto.name != "main chunk" => format!("function '{g}'"),
        _ => site.frame_name(proto),
    };
    let mut s = format!("\t{}:{}: in {}", proto.source, line, name);
    if site.is_tail() {
        s.push_str("\n\t(...tail calls...)");
    }
    s
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
