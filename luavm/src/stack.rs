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
//! Like `lua5.4`, Lua frames may use [`LIMIT`] slots in all; a call beyond it
//! raises "stack overflow". The buffer has room above the limit for the values
//! a built-in pushes.

use crate::value::Value;
use std::cell::UnsafeCell;
use vmkit::SlotVisitor;

/// Slots Lua frames may use (`LUAI_MAXSTACK` of lua5.4).
pub const LIMIT: usize = 1_000_000;

/// Slots of the buffer.
const CAPACITY: usize = 8 * LIMIT;

/// The value stack.
pub struct Stack {
    words: *mut u64,
    len: usize,
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
        // Zeroed memory comes from fresh pages the OS commits on first touch.
        let v: Vec<u64> = vec![0u64; CAPACITY];
        s.words = Box::leak(v.into_boxed_slice()).as_mut_ptr();
        s.len = 0;
    }
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

impl Stack {
    /// Pushes a value.
    #[inline]
    pub fn push(&mut self, v: u64) {
        assert!(self.len < CAPACITY, "luavm: the value stack is exhausted");
        // SAFETY: `len < CAPACITY`, inside the buffer.
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
        assert!(len <= CAPACITY, "luavm: the value stack is exhausted");
        while self.len < len {
            // SAFETY: `self.len < len <= CAPACITY`.
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
        assert!(i <= self.len && self.len < CAPACITY);
        // SAFETY: `i..len` and `i + 1..len + 1` are inside the buffer.
        unsafe {
            std::ptr::copy(self.words.add(i), self.words.add(i + 1), self.len - i);
            *self.words.add(i) = v;
        }
        self.len += 1;
    }
}

/// Reports every word below the length that holds a reference (a value slot of
/// luavm's encoding), when `thread` is the one that runs Lua (other attached
/// threads have no Lua values: each slot must be reported once).
pub fn scan(thread: &vmkit::Thread, visit: &mut SlotVisitor<'_>) {
    // SAFETY: called by the collector while the Lua thread is stopped.
    let s = unsafe { &*STACK.0.get() };
    if !std::ptr::eq(s.owner, thread) {
        return;
    }
    for i in 0..s.len {
        // SAFETY: below the length.
        let p = unsafe { s.words.add(i) };
        // SAFETY: as above.
        if Value(unsafe { *p }).as_object().is_some() {
            visit(vmkit::Address::from_mut_ptr(p));
        }
    }
}
