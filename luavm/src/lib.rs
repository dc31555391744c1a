//! luavm: Lua 5.4 on the vmkit substrate.
//!
//! Values are NaN-boxed words ([`value`]); strings, tables, functions and
//! upvalue cells are vmkit heap objects ([`heap`], [`table`]) whose value slots
//! the collector reads through the personality's value encoding, so every
//! moving plan works. The front end ([`lang`]) parses a chunk to a resolved
//! syntax tree; the reference interpreter ([`interp`]) runs it with its frames
//! on the thread's root stack.

pub mod coro;
pub mod heap;
pub mod interp;
pub mod jit;
pub mod lang;
pub mod sites;
pub mod stack;
pub mod stdlib;
pub mod table;
pub mod value;
pub mod vm;

/// The chunk name lua5.4 gives code loaded from a string (`luaO_chunkid`):
/// `[string "SOURCE"]` for a one-line source under 45 bytes, else its first
/// line cut to 45 bytes and `...`.
pub fn chunkname_for_string(src: &[u8]) -> String {
    const ROOM: usize = 45;
    let nl = src.iter().position(|&b| b == b'\n');
    if src.len() < ROOM && nl.is_none() {
        return format!("[string \"{}\"]", String::from_utf8_lossy(src));
    }
    let line = &src[..nl.unwrap_or(src.len()).min(ROOM)];
    format!("[string \"{}...\"]", String::from_utf8_lossy(line))
}
