//! Toy's runtime errors: the one place each message is spelled, and how an
//! error becomes the exception both engines throw.
//!
//! A runtime function that fails returns a [`RuntimeError`]; the engine that
//! called it raises [`RuntimeError::exception`] its own way (the interpreter
//! unwinds its frames, a JIT host sets the pending exception and records the
//! backtrace of the JIT frames), so the message is the same in both.

use super::format::float_repr;
use super::object as tobj;
use vmkit::{ObjectReference, Thread};

/// A runtime error of a Toy program: what is thrown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeError {
    /// A new string with these bytes is thrown (the preallocated
    /// `OutOfMemoryError` if the heap has no room for it).
    Message(Vec<u8>),
    /// The heap is exhausted: the preallocated `OutOfMemoryError` is thrown.
    OutOfMemory,
}

impl RuntimeError {
    /// The exception object to throw for this error, allocated on `t`.
    pub fn exception(self, t: &Thread) -> Option<ObjectReference> {
        let vm = super::program::shared().vm;
        match self {
            RuntimeError::Message(m) => {
                tobj::new_str(t, &m).ok().or_else(|| vm.new_exception_oom())
            }
            RuntimeError::OutOfMemory => vm.new_exception_oom(),
        }
    }

    /// The message thrown, owned.
    pub fn into_message(self) -> Vec<u8> {
        match self {
            RuntimeError::Message(m) => m,
            RuntimeError::OutOfMemory => OUT_OF_MEMORY.as_bytes().to_vec(),
        }
    }

    /// The message thrown.
    pub fn message(&self) -> &[u8] {
        match self {
            RuntimeError::Message(m) => m,
            RuntimeError::OutOfMemory => OUT_OF_MEMORY.as_bytes(),
        }
    }
}

impl From<vmkit::OutOfMemory> for RuntimeError {
    fn from(_: vmkit::OutOfMemory) -> RuntimeError {
        RuntimeError::OutOfMemory
    }
}

impl std::fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.message()))
    }
}

/// Takes the exception propagating on `t`: its message, as an uncaught
/// exception reports it (empty when there is none).
pub fn take_pending_message(t: &Thread) -> Vec<u8> {
    t.take_pending_exception()
        .map(|o| tobj::str_bytes(o).to_vec())
        .unwrap_or_default()
}

fn msg(m: impl Into<Vec<u8>>) -> RuntimeError {
    RuntimeError::Message(m.into())
}

/// The message of the preallocated exception thrown when the heap is exhausted.
pub const OUT_OF_MEMORY: &str = "OutOfMemoryError: heap exhausted";

/// The message of a call past the thread's Toy stack.
pub const STACK_OVERFLOW: &str = "StackOverflowError: recursion too deep";

/// A call past the thread's Toy stack.
pub fn stack_overflow() -> RuntimeError {
    msg(STACK_OVERFLOW)
}

/// `x / 0` or `x % 0` on ints.
pub fn division_by_zero() -> RuntimeError {
    msg("ArithmeticError: division by zero")
}

/// An index `i` outside an array (or string) of length `len`.
pub fn index_out_of_bounds(i: i64, len: i64) -> RuntimeError {
    msg(format!(
        "IndexError: index {i} out of bounds for length {len}"
    ))
}

/// `new [T](n)` with a negative `n`.
pub fn negative_array_size(n: i64) -> RuntimeError {
    msg(format!("IndexError: negative array size {n}"))
}

/// `substr(s, from, to)` outside a string of length `len`.
pub fn substring_out_of_bounds(from: i64, to: i64, len: i64) -> RuntimeError {
    msg(format!(
        "IndexError: substring {from}..{to} out of bounds for length {len}"
    ))
}

/// A field of `null` read or written.
pub fn null_field() -> RuntimeError {
    msg("NullError: field access on null")
}

/// `null[i]`.
pub fn null_index() -> RuntimeError {
    msg("NullError: index into null")
}

/// `len(null)`.
pub fn null_len() -> RuntimeError {
    msg("NullError: len of null")
}

/// `sync (null)`.
pub fn null_sync() -> RuntimeError {
    msg("NullError: sync on null")
}

/// `byte(null, i)`.
pub fn null_byte() -> RuntimeError {
    msg("NullError: byte of null")
}

/// `throw null`.
pub fn null_throw() -> RuntimeError {
    msg("NullError: throw of null")
}

/// `+` of strings, one of them `null`.
pub fn null_concat() -> RuntimeError {
    msg("NullError: string concatenation with null")
}

/// `substr(null, ...)`.
pub fn null_substr() -> RuntimeError {
    msg("NullError: substr of null")
}

/// `parse_int(null)`.
pub fn null_parse_int() -> RuntimeError {
    msg("NullError: parse_int of null")
}

/// `write_bytes` with a `null` path or data.
pub fn null_write_bytes() -> RuntimeError {
    msg("NullError: write_bytes with null")
}

/// `join(null)`.
pub fn null_join() -> RuntimeError {
    msg("NullError: join of null")
}

/// `int(x)` of a NaN or of a float out of range.
pub fn cannot_convert_to_int(x: f64) -> RuntimeError {
    msg(format!(
        "ValueError: cannot convert {} to int",
        float_repr(x)
    ))
}

/// `chr(v)` of a value that is not a byte.
pub fn byte_out_of_range(v: i64) -> RuntimeError {
    msg(format!("ValueError: byte value {v} out of range 0..255"))
}

/// `parse_int(s)` of a string that is not an integer.
pub fn invalid_integer(s: &[u8]) -> RuntimeError {
    msg(format!(
        "ValueError: invalid integer '{}'",
        String::from_utf8_lossy(s)
    ))
}

/// `fmt(x, d)` with a digit count `d` outside `0..=max`.
pub fn fmt_digit_count(d: i64, max: i64) -> RuntimeError {
    msg(format!(
        "ValueError: fmt: digit count {d} out of range 0..{max}"
    ))
}

/// `write_bytes` failed to write the file shown as `shown`.
pub fn cannot_write(shown: &str, err: &std::io::Error) -> RuntimeError {
    msg(format!("IOError: cannot write '{shown}': {err}"))
}

/// `join(t)` from thread `t` itself.
pub fn join_self() -> RuntimeError {
    msg("ThreadError: deadlock: a thread cannot join itself")
}

/// `join(t)` of a thread that waits (through joins) for the joining one.
pub fn join_cycle() -> RuntimeError {
    msg("ThreadError: deadlock: the joined thread is waiting (through joins) for this one")
}

/// `spawn` while `max` Toy threads run.
pub fn too_many_threads(max: usize) -> RuntimeError {
    msg(format!(
        "ThreadError: too many threads: at most {max} may run at once"
    ))
}

/// `spawn` when the OS would not start a thread.
pub fn cannot_start_thread(err: &std::io::Error) -> RuntimeError {
    msg(format!("ThreadError: cannot start a thread: {err}"))
}

/// The errors JIT code raises through one runtime entry (`error(code, a, b)`),
/// by number: the checks are compiled inline, their messages are these.
pub mod code {
    /// [`super::division_by_zero`]
    pub const DIV_ZERO: i64 = 0;
    /// [`super::index_out_of_bounds`]`(a, b)`
    pub const INDEX: i64 = 1;
    /// [`super::null_field`]
    pub const NULL_FIELD: i64 = 2;
    /// [`super::null_index`]
    pub const NULL_INDEX: i64 = 3;
    /// [`super::null_len`]
    pub const NULL_LEN: i64 = 4;
    /// [`super::null_sync`]
    pub const NULL_SYNC: i64 = 5;
    /// [`super::null_byte`]
    pub const NULL_BYTE: i64 = 6;
}

/// The error of number `c` (see [`code`]) with operands `a` and `b`.
pub fn by_code(c: i64, a: i64, b: i64) -> RuntimeError {
    match c {
        code::DIV_ZERO => division_by_zero(),
        code::INDEX => index_out_of_bounds(a, b),
        code::NULL_FIELD => null_field(),
        code::NULL_INDEX => null_index(),
        code::NULL_LEN => null_len(),
        code::NULL_SYNC => null_sync(),
        code::NULL_BYTE => null_byte(),
        _ => msg(format!("InternalError: unknown error code {c}")),
    }
}
