//! The value stack: every Lua frame's slots, call arguments and results, and
//! the interpreter's operands, in one buffer that never moves.
//!
//! It replaces the substrate's root stack for luavm because compiled code
//! addresses it directly: a frame's slots are at a fixed address for the
//! frame's whole life, so JIT code computes it once at entry and reads and
//! writes slots with plain loads and stores (the buffer is reserved once, at its
//! full size; the OS commits its pages only as the stack reaches them). The
//! collector sees the words below `len` as value roots ([`scan`], called from
//! the personality's thread-root scan) and updates those that move.
//!
//! The buffer is cut into regions, one per Lua thread: the main thread's first
//! ([`MAIN_SLOTS`] slots, its first [`crate::interp::RESERVED`] slots the
//! interpreter's fixed roots), then [`CO_SLOTS`] for each coroutine that has
//! started and not ended ([`region`]). Indices are absolute: a coroutine's
//! frames are at indices in its region, so compiled code addresses every
//! region from the same base. The running thread's region is between the
//! stack's `floor` and `cap`; a switch of coroutine exchanges them
//! ([`Stack::swap_bounds`]).
//!
//! Like `lua5.4`, Lua frames of each thread may use [`LIMIT`] slots in all
//! (the stack's `limit`, which compiled code reads); a call beyond it raises
//! "stack overflow". Each region has room above its limit for the values a
//! built-in pushes.

use crate::value::Value;
use std::cell::UnsafeCell;
use vmkit::SlotVisitor;

/// Slots Lua frames of one thread may use (`LUAI_MAXSTACK` of lua5.4).
pub const LIMIT: usize = 1_000_000;

/// Slots of the main thread's region.
pub const MAIN_SLOTS: usize = 8 * LIMIT;

/// Slots of a coroutine's region: its frames' [`LIMIT`], then room for a
/// built-in's results (`table.unpack` gives fewer than a million).
pub const CO_SLOTS: usize = 2 * LIMIT + 100_000;

/// The most coroutine regions reserved (fewer if the OS refuses the address
/// space; see [`regions`]).
const MAX_REGIONS: usize = 16_384;

/// The bounds of the running thread's region and its length: what a switch of
/// coroutine exchanges.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bounds {
    /// The slots in use end here.
    pub len: usize,
    /// The region's first slot.
    pub floor: usize,
    /// Lua frames end below this.
    pub limit: usize,
    /// The region's end.
    pub cap: usize,
}

impl Bounds {
    /// The bounds of coroutine region `i`, empty.
    pub fn region(i: usize) -> Bounds {
        let floor = MAIN_SLOTS + i * CO_SLOTS;
        Bounds {
            len: floor,
            floor,
            limit: floor + LIMIT,
            cap: floor + CO_SLOTS,
        }
    }
}

/// The value stack.
pub struct Stack {
    words: *mut u64,
    len: usize,
    /// The running thread's region ([`Bounds`]).
    floor: usize,
    limit: usize,
    cap: usize,
    /// Coroutine regions reserved.
    regions: usize,
    /// The thread that runs Lua (the stack's owner).
    owner: *const vmkit::Thread,
}

struct Cell(UnsafeCell<Stack>);

// SAFETY: luavm runs Lua on one thread; the collector reads the stack only
// while that thread is stopped at a safepoint.
unsafe impl Sync for Cell {}

static STACK: Cell = Cell(UnsafeCell::new(Stack {
    words: std::ptr::null_mut(),
    len: 0,
    floor: 0,
    limit: LIMIT,
    cap: MAIN_SLOTS,
    regions: 0,
    owner: std::ptr::null(),
}));

/// The stack, for a moment (never held across a call that takes it again).
#[inline]
#[allow(clippy::mut_from_ref)]
pub fn stack() -> &'static mut Stack {
    // SAFETY: only the Lua thread mutates it, one borrow at a time; the buffer
    // is made by `init` before the first use.
    let s = unsafe { &mut *STACK.0.get() };
    debug_assert!(!s.words.is_null(), "the value stack is made at start-up");
    s
}

/// Makes the buffer (once, before the first Lua code runs) for `owner`, the
/// thread that runs Lua.
pub fn init(owner: &vmkit::Thread) {
    // SAFETY: called on the Lua thread before any other use.
    let s = unsafe { &mut *STACK.0.get() };
    s.owner = owner;
    if s.words.is_null() {
        let (words, regions) = reserve::<u64>(MAIN_SLOTS, CO_SLOTS);
        s.words = words;
        s.regions = regions;
        s.len = 0;
        s.floor = 0;
        s.limit = LIMIT;
        s.cap = MAIN_SLOTS;
    }
}

/// Reserves zeroed address space for `main` items of `T` and as many regions
/// of `per` items as the OS gives, up to [`MAX_REGIONS`] (pages are committed
/// only when touched); returns the start and the number of regions.
pub(crate) fn reserve<T>(main: usize, per: usize) -> (*mut T, usize) {
    let size = std::mem::size_of::<T>();
    let mut n = MAX_REGIONS;
    loop {
        let bytes = (main + n * per) * size;
        // SAFETY: a fresh anonymous private mapping; nothing else is touched.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            return (p as *mut T, n);
        }
        if n == 0 {
            // The main thread's region alone, from the allocator (as before
            // coroutines existed); failing that, nothing can run.
            let v: Vec<T> = Vec::with_capacity(main);
            let mut v = std::mem::ManuallyDrop::new(v);
            // SAFETY: `main` items of capacity; zeroing makes them valid `T`s
            // for the types used here (words and plain records).
            unsafe { std::ptr::write_bytes(v.as_mut_ptr(), 0, main) };
            return (v.as_mut_ptr(), 0);
        }
        n /= 2;
    }
}

/// How many coroutine regions there are (coroutines that may run at once).
pub fn regions() -> usize {
    stack().regions
}

/// Uses at most `n` coroutine regions (the call records got room for that
/// many).
pub fn limit_regions(n: usize) {
    let s = stack();
    s.regions = s.regions.min(n);
}

/// Address of the first slot (fixed for the life of the process).
pub fn base_address() -> usize {
    stack().words as usize
}

/// Address of the word holding the stack's length (compiled code stores it).
pub fn len_address() -> usize {
    // SAFETY: a field of the static, which lives for the whole process.
    unsafe { std::ptr::addr_of_mut!((*STACK.0.get()).len) as usize }
}

/// Address of the word holding the running thread's frame limit (compiled
/// code reads it at entry).
pub fn limit_address() -> usize {
    // SAFETY: a field of the static, which lives for the whole process.
    unsafe { std::ptr::addr_of_mut!((*STACK.0.get()).limit) as usize }
}

impl Stack {
    /// Exchanges the running thread's region and length with `b` (a switch
    /// of coroutine).
    pub fn swap_bounds(&mut self, b: &mut Bounds) {
        let mine = Bounds {
            len: self.len,
            floor: self.floor,
            limit: self.limit,
            cap: self.cap,
        };
        self.len = b.len;
        self.floor = b.floor;
        self.limit = b.limit;
        self.cap = b.cap;
        *b = mine;
    }

    /// The running thread's first slot.
    #[inline]
    pub fn floor(&self) -> usize {
        self.floor
    }

    /// Where the running thread's Lua frames must end.
    #[inline]
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Pushes a value.
    #[inline]
    pub fn push(&mut self, v: u64) {
        assert!(self.len < self.cap, "luavm: the value stack is exhausted");
        // SAFETY: `len < cap`, inside the buffer.
        unsafe { *self.words.add(self.len) = v };
        self.len += 1;
    }

    /// Pops the top value.
    #[inline]
    pub fn pop(&mut self) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        // SAFETY: below the old length, inside the buffer.
        Some(unsafe { *self.words.add(self.len) })
    }

    /// The number of values.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no value.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drops every value above the first `len` (no-op if it holds fewer).
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        if len < self.len {
            self.len = len;
        }
    }

    /// Grows to `len` slots, the new ones nil.
    #[inline]
    pub fn fill_to(&mut self, len: usize) {
        assert!(len <= self.cap, "luavm: the value stack is exhausted");
        while self.len < len {
            // SAFETY: `self.len < len <= cap`.
            unsafe { *self.words.add(self.len) = Value::NIL.0 };
            self.len += 1;
        }
    }

    /// The word at `i` (below the length).
    #[inline]
    pub fn get(&self, i: usize) -> u64 {
        assert!(i < self.len, "value stack index {i} out of {}", self.len);
        // SAFETY: below the length, inside the buffer.
        unsafe { *self.words.add(i) }
    }

    /// Sets the word at `i` (below the length).
    #[inline]
    pub fn set(&mut self, i: usize, v: u64) {
        assert!(i < self.len, "value stack index {i} out of {}", self.len);
        // SAFETY: below the length, inside the buffer.
        unsafe { *self.words.add(i) = v };
    }

    /// Removes the value at `i`, moving the values above it down by one.
    pub fn remove(&mut self, i: usize) -> u64 {
        assert!(i < self.len);
        // SAFETY: `i < len`: `i + 1..len` and `i..len - 1` are inside the buffer.
        let v = unsafe { *self.words.add(i) };
        // SAFETY: as above.
        unsafe { std::ptr::copy(self.words.add(i + 1), self.words.add(i), self.len - i - 1) };
        self.len -= 1;
        v
    }

    /// Inserts `v` at `i`, moving the values above it up by one.
    pub fn insert(&mut self, i: usize, v: u64) {
        assert!(i <= self.len && self.len < self.cap);
        // SAFETY: `i..len` and `i + 1..len + 1` are inside the buffer.
        unsafe {
            std::ptr::copy(self.words.add(i), self.words.add(i + 1), self.len - i);
            *self.words.add(i) = v;
        }
        self.len += 1;
    }
}

/// Reports every word of the running thread's region below the length that
/// holds a reference (a value slot of luavm's encoding), and the regions of the
/// threads that resumed it ([`crate::coro::scan_resumers`]), when `thread` is
/// the one that runs Lua (other attached threads have no Lua values: each
/// slot must be reported once).
pub fn scan(thread: &vmkit::Thread, visit: &mut SlotVisitor<'_>) {
    // SAFETY: called by the collector while the Lua thread is stopped.
    let s = unsafe { &*STACK.0.get() };
    if !std::ptr::eq(s.owner, thread) {
        return;
    }
    scan_range(s.floor, s.len, visit);
    crate::coro::scan_resumers(visit);
}

/// Reports the words of `lo..hi` that hold references.
pub fn scan_range(lo: usize, hi: usize, visit: &mut SlotVisitor<'_>) {
    // SAFETY: called by the collector while the Lua thread is stopped.
    let s = unsafe { &*STACK.0.get() };
    for i in lo..hi {
        // SAFETY: inside a region below its length.
        let p = unsafe { s.words.add(i) };
        // SAFETY: as above.
        if Value(unsafe { *p }).as_object().is_some() {
            visit(vmkit::Address::from_mut_ptr(p));
        }
    }
}
