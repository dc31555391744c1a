//! Arbitrary bytes into luavm's Lua lexer and parser: never a panic, never a
//! stack overflow; a chunk either parses or gets lua5.4's kind of message
//! (`chunkname:line: ...`, or `C stack overflow` for too deep nesting).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match luavm::lang::parse("fuzz.lua", data) {
        Ok(f) => assert!(f.is_vararg && f.params == 0),
        Err(e) => assert!(
            e.message.starts_with("fuzz.lua:") || e.message.contains("stack overflow"),
            "{}",
            e.message
        ),
    }
});
