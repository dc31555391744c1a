//! The Lua 5.4 front end: [`lexer`], [`parser`] and the resolved syntax tree
//! ([`ast`]) they produce.
//!
//! [`parse`] turns a source file into the main chunk's [`ast::Function`], or
//! into the [`SyntaxError`] whose message is exactly what `lua5.4` prints
//! after `lua5.4: ` for that file (`t.lua:3: unexpected symbol near '+'`).
//!
//! Conventions of the tree the parser builds, beyond what [`ast`] says:
//! - The main chunk's implicit `_ENV` upvalue is not listed in its
//!   `upvalues`; free names are [`ast::Expr::Global`]. A bare `_ENV` that is
//!   not a declared local is `Global("_ENV")`, which denotes the environment
//!   table itself (reading it yields the globals table, assigning it replaces
//!   the environment), not the field `_ENV` of it. When a `local _ENV` (or an
//!   upvalue of that name) is in scope, free names become
//!   [`ast::Expr::Index`] on it, as in Lua.
//! - [`ast::Expr::Paren`] only wraps expressions that can produce several
//!   values (calls and `...`); other parenthesized expressions are the
//!   expression itself.
//! - Lines follow what `lua5.4` reports at run time: a call's (and a method
//!   call's) line is the line where its prefix expression starts (Lua
//!   attributes the call instruction to it); an index's line is that of its
//!   `.` or `[`; a binary or unary operation's, that of its operator; an
//!   assignment target's, that of the last token of the statement (for
//!   `function a.b()`, the line of `function`); a function's `line` is Lua's
//!   `linedefined` (the line of the token after `function`, or after the
//!   name for `local function`), which is also what `'end' expected (to
//!   close 'function' at line N)` and `function <FILE:LINE>` use.
//! - Function names: `function 'f'` (global `function f`), `local 'f'`
//!   (`local function f`, or `function f` on a local), `upvalue 'f'`,
//!   `function 'a.b.c'` (`function a.b.c`), `method 'm'` (`function a.b:m`),
//!   `function <t.lua:LINE>` (anonymous), `main chunk`.
//! - Parameters are slots `0..params` but have no [`ast::LocalDecl`]:
//!   [`parser::captured_params`] says which ones closures capture.
//! - `<const>` locals have slots like any other (Lua folds some into
//!   constants; here they are ordinary locals the parser keeps read-only). A
//!   numeric `for` has no hidden slots (only its variable's); a generic `for`
//!   has its 4 (`hidden`).
//! - Label ids are `0, 1, ...` in order of definition, per function.
//! - Every tree is at most a small multiple of [`parser::MAX_LEVELS`] deep,
//!   so recursive passes over it are bounded.

pub mod ast;
pub mod lexer;
pub mod parser;

use std::fmt;
use std::rc::Rc;

/// A syntax error: the message `lua5.4` prints for it (after `lua5.4: `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// `chunkname:line: what near 'token'` (or, for too deeply nested input,
    /// `C stack overflow`, as `lua5.4` reports it).
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SyntaxError {}

/// Parses a Lua source file as `lua5.4 FILE` loads it: an optional UTF-8
/// byte-order mark and a first line starting with `#` are skipped (line
/// numbers are kept), then the rest is parsed as the main chunk.
///
/// `chunkname` is the name as it appears in messages: `t.lua` for a file
/// (`(command line)` is what `lua5.4 -e CODE` uses, `[string "CODE..."]`
/// what `load` uses; the caller computes it). Code that is not a file
/// (`-e`, `load`) should go through [`parser::parse_chunk`], which skips
/// nothing.
///
/// # Errors
///
/// The [`SyntaxError`] `lua5.4` would report for this file.
pub fn parse(chunkname: &str, source: &[u8]) -> Result<Rc<ast::Function>, SyntaxError> {
    parser::parse_chunk(chunkname, skip_prefix(source))
}

/// The part of a file's bytes that Lua's `luaL_loadfile` hands to the
/// parser: without a UTF-8 BOM, and without the text of a first line that
/// starts with `#` (its newline is kept so line numbers do not change).
pub fn skip_prefix(source: &[u8]) -> &[u8] {
    let source = source.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(source);
    if source.first() == Some(&b'#') {
        match source.iter().position(|&b| b == b'\n') {
            Some(nl) => &source[nl..],
            None => &[],
        }
    } else {
        source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_bom_and_shebang() {
        assert_eq!(skip_prefix(b"#!/usr/bin/lua\nx=1"), b"\nx=1");
        assert_eq!(skip_prefix(b"\xEF\xBB\xBF#!lua\r\nx"), b"\nx");
        assert_eq!(skip_prefix(b"\xEF\xBB\xBFx"), b"x");
        assert_eq!(skip_prefix(b"#only"), b"");
        assert_eq!(skip_prefix(b"x=1 # 2"), b"x=1 # 2");
        let err = parse("t.lua", b"#!shebang\nx = = 1").unwrap_err();
        assert_eq!(err.message, "t.lua:2: unexpected symbol near '='");
        assert!(parse("t.lua", b"#!shebang\nreturn 1").is_ok());
        let err = parser::parse_chunk("t.lua", b"#!shebang\n").unwrap_err();
        assert_eq!(err.message, "t.lua:1: unexpected symbol near '#'");
        assert_eq!(err.to_string(), err.message);
    }
}
