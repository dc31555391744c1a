//! The Lua 5.4 lexer: turns a chunk's bytes into [`Token`]s, the way
//! `llex.c` of Lua 5.4 does, including its error messages (`unfinished
//! string near '"abc'`, `malformed number near '3x'`, ...).
//!
//! The lexer never panics: every index is checked, every arithmetic
//! operation on user-controlled values is checked, saturating or wrapping.

use std::collections::HashSet;
use std::rc::Rc;

use super::ast::Bytes;
use super::SyntaxError;

/// A token kind, with its value for literals and names.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A single-byte token: an operator or punctuation (`+`, `=`, `(`, ...),
    /// or any other byte that starts no token (the parser rejects it).
    Char(u8),
    /// `and`
    And,
    /// `break`
    Break,
    /// `do`
    Do,
    /// `else`
    Else,
    /// `elseif`
    ElseIf,
    /// `end`
    End,
    /// `false`
    False,
    /// `for`
    For,
    /// `function`
    Function,
    /// `goto`
    Goto,
    /// `if`
    If,
    /// `in`
    In,
    /// `local`
    Local,
    /// `nil`
    Nil,
    /// `not`
    Not,
    /// `or`
    Or,
    /// `repeat`
    Repeat,
    /// `return`
    Return,
    /// `then`
    Then,
    /// `true`
    True,
    /// `until`
    Until,
    /// `while`
    While,
    /// `//`
    IDiv,
    /// `..`
    Concat,
    /// `...`
    Dots,
    /// `==`
    Eq,
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `~=`
    Ne,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
    /// `::`
    DbColon,
    /// End of the chunk.
    Eos,
    /// A float literal.
    Float(f64),
    /// An integer literal.
    Int(i64),
    /// A name (not a reserved word).
    Name(Bytes),
    /// A string literal, escapes decoded.
    Str(Bytes),
}

impl Tok {
    /// How Lua's `luaX_token2str` names this token kind in messages:
    /// `'+'`, `'<\1>'`, `'end'`, `'..'`, `<eof>`, `<number>`, `<integer>`,
    /// `<name>`, `<string>`.
    pub fn describe(&self) -> String {
        let fixed = |s: &str| format!("'{s}'");
        match self {
            Tok::Char(c) => {
                if (0x20..0x7f).contains(c) {
                    format!("'{}'", *c as char)
                } else {
                    format!("'<\\{c}>'")
                }
            }
            Tok::And => fixed("and"),
            Tok::Break => fixed("break"),
            Tok::Do => fixed("do"),
            Tok::Else => fixed("else"),
            Tok::ElseIf => fixed("elseif"),
            Tok::End => fixed("end"),
            Tok::False => fixed("false"),
            Tok::For => fixed("for"),
            Tok::Function => fixed("function"),
            Tok::Goto => fixed("goto"),
            Tok::If => fixed("if"),
            Tok::In => fixed("in"),
            Tok::Local => fixed("local"),
            Tok::Nil => fixed("nil"),
            Tok::Not => fixed("not"),
            Tok::Or => fixed("or"),
            Tok::Repeat => fixed("repeat"),
            Tok::Return => fixed("return"),
            Tok::Then => fixed("then"),
            Tok::True => fixed("true"),
            Tok::Until => fixed("until"),
            Tok::While => fixed("while"),
            Tok::IDiv => fixed("//"),
            Tok::Concat => fixed(".."),
            Tok::Dots => fixed("..."),
            Tok::Eq => fixed("=="),
            Tok::Ge => fixed(">="),
            Tok::Le => fixed("<="),
            Tok::Ne => fixed("~="),
            Tok::Shl => fixed("<<"),
            Tok::Shr => fixed(">>"),
            Tok::DbColon => fixed("::"),
            Tok::Eos => "<eof>".to_string(),
            Tok::Float(_) => "<number>".to_string(),
            Tok::Int(_) => "<integer>".to_string(),
            Tok::Name(_) => "<name>".to_string(),
            Tok::Str(_) => "<string>".to_string(),
        }
    }
}

/// A token and where it is in the source (byte offsets, for the text that
/// error messages quote).
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// Offset of its first byte.
    pub start: usize,
    /// Offset just past its last byte.
    pub end: usize,
}

/// Why a lexical error quotes something after `near`.
enum Near {
    /// No `near` part.
    Nothing,
    /// `near <eof>`.
    Eos,
    /// `near '<the token text read so far>'`.
    Buffer,
}

/// Lines are counted in an `int` by Lua; it stops at `INT_MAX`.
const MAX_LINE: u32 = i32::MAX as u32;

/// The lexer state (Lua's `LexState` minus the parser's part).
pub struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    line: u32,
    /// The text of the token being read, as Lua's `buff` (escapes decoded,
    /// delimiters kept), quoted by error messages.
    buf: Vec<u8>,
    chunkname: Rc<str>,
    /// Interned names and strings, so equal ones share one allocation.
    strings: HashSet<Bytes>,
}

fn is_alpha(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// C's `isspace` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_value(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'a'..=b'f' => u32::from(c - b'a') + 10,
        b'A'..=b'F' => u32::from(c - b'A') + 10,
        _ => 0,
    }
}

fn keyword(name: &[u8]) -> Option<Tok> {
    Some(match name {
        b"and" => Tok::And,
        b"break" => Tok::Break,
        b"do" => Tok::Do,
        b"else" => Tok::Else,
        b"elseif" => Tok::ElseIf,
        b"end" => Tok::End,
        b"false" => Tok::False,
        b"for" => Tok::For,
        b"function" => Tok::Function,
        b"goto" => Tok::Goto,
        b"if" => Tok::If,
        b"in" => Tok::In,
        b"local" => Tok::Local,
        b"nil" => Tok::Nil,
        b"not" => Tok::Not,
        b"or" => Tok::Or,
        b"repeat" => Tok::Repeat,
        b"return" => Tok::Return,
        b"then" => Tok::Then,
        b"true" => Tok::True,
        b"until" => Tok::Until,
        b"while" => Tok::While,
        _ => return None,
    })
}

/// Quotes a token text as Lua's `'%s'` does: the text stops at the first
/// NUL byte (it is a C string there).
pub(crate) fn quote(text: &[u8]) -> Vec<u8> {
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    let mut out = Vec::with_capacity(end + 2);
    out.push(b'\'');
    out.extend_from_slice(&text[..end]);
    out.push(b'\'');
    out
}

/// Encodes `x` (at most `0x7FFFFFFF`) as Lua's `luaO_utf8esc` does (the
/// original, up-to-6-byte UTF-8).
pub fn utf8_encode(x: u32, out: &mut Vec<u8>) {
    if x < 0x80 {
        out.push(x as u8);
        return;
    }
    let mut tail = [0u8; 6];
    let mut n = 0;
    let mut x = x;
    let mut mfb: u32 = 0x3f; // maximum that fits in the first byte
    loop {
        tail[n] = 0x80 | (x & 0x3f) as u8;
        n += 1;
        x >>= 6;
        mfb >>= 1;
        if x <= mfb {
            break;
        }
    }
    out.push(((!mfb << 1) | x) as u8);
    for i in (0..n).rev() {
        out.push(tail[i]);
    }
}

/// Converts a numeral as Lua's `luaO_str2num` does on the lexer's buffer: an
/// integer if it is a decimal integer that fits in an `i64` or a hex integer
/// (wrapping around), a float otherwise; `None` if malformed.
pub fn str2number(s: &[u8]) -> Option<Tok> {
    if let Some(i) = str2int(s) {
        return Some(Tok::Int(i));
    }
    // `l_str2d` rejects 'inf' and 'nan' (any 'n' or 'N').
    if s.iter().any(|&c| c == b'n' || c == b'N') {
        return None;
    }
    strtod(s).map(Tok::Float)
}

fn str2int(s: &[u8]) -> Option<i64> {
    if s.len() >= 2 && s[0] == b'0' && (s[1] == b'x' || s[1] == b'X') {
        let digits = &s[2..];
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let mut a: u64 = 0;
        for &c in digits {
            a = a.wrapping_mul(16).wrapping_add(u64::from(hex_value(c)));
        }
        Some(a as i64)
    } else {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        const MAXBY10: u64 = (i64::MAX / 10) as u64;
        const MAXLASTD: u64 = (i64::MAX % 10) as u64;
        let mut a: u64 = 0;
        for &c in s {
            let d = u64::from(c - b'0');
            if a >= MAXBY10 && (a > MAXBY10 || d > MAXLASTD) {
                return None; // overflow: not accepted as an integer
            }
            a = a * 10 + d;
        }
        Some(a as i64)
    }
}

/// C's `strtod` on a whole numeral (no sign, no spaces): decimal or hex;
/// `None` unless the whole text is one numeral.
fn strtod(s: &[u8]) -> Option<f64> {
    if s.len() >= 2 && s[0] == b'0' && (s[1] == b'x' || s[1] == b'X') {
        return hex_float(&s[2..]);
    }
    // digits* ['.' digits*] (at least one digit) [(e|E) [+|-] digits+]
    let mut i = 0;
    let mut digits = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if i < s.len() && s[i] == b'.' {
        i += 1;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        i += 1;
        if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != s.len() {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse::<f64>().ok()
}

/// A hex float after `0x`: hex digits with an optional `.`, an optional
/// binary exponent `p[+-]digits`; correctly rounded (to nearest, ties to
/// even), as glibc's `strtod` does.
fn hex_float(s: &[u8]) -> Option<f64> {
    let mut i = 0;
    let mut mantissa: u64 = 0;
    let mut exp: i64 = 0;
    let mut any_digit = false;
    let mut significant = 0;
    let mut sticky = false;
    let mut seen_dot = false;
    while i < s.len() {
        let c = s[i];
        if c == b'.' {
            if seen_dot {
                break;
            }
            seen_dot = true;
        } else if c.is_ascii_hexdigit() {
            any_digit = true;
            let d = u64::from(hex_value(c));
            if mantissa == 0 && d == 0 {
                if seen_dot {
                    exp = exp.saturating_sub(4);
                }
            } else if significant < 15 {
                mantissa = mantissa * 16 + d;
                significant += 1;
                if seen_dot {
                    exp = exp.saturating_sub(4);
                }
            } else {
                sticky |= d != 0;
                if !seen_dot {
                    exp = exp.saturating_add(4);
                }
            }
        } else {
            break;
        }
        i += 1;
    }
    if !any_digit {
        return None;
    }
    if i < s.len() && (s[i] == b'p' || s[i] == b'P') {
        i += 1;
        let mut negative = false;
        if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
            negative = s[i] == b'-';
            i += 1;
        }
        let start = i;
        let mut e: i64 = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            e = e.saturating_mul(10).saturating_add(i64::from(s[i] - b'0'));
            i += 1;
        }
        if i == start {
            return None;
        }
        exp = if negative {
            exp.saturating_sub(e)
        } else {
            exp.saturating_add(e)
        };
    }
    if i != s.len() {
        return None;
    }
    if mantissa == 0 {
        return Some(0.0);
    }
    if sticky {
        // At least 57 significant bits here: bit 0 is far below the
        // rounding position, so it only breaks ties.
        mantissa |= 1;
    }
    Some(scale_round(mantissa, exp))
}

/// `m * 2^exp` rounded to the nearest `f64` (ties to even), with gradual
/// underflow and overflow to infinity. `m` is not zero.
fn scale_round(m: u64, exp: i64) -> f64 {
    let lz = m.leading_zeros();
    let m = u128::from(m << lz);
    // value = m * 2^e, with m's bit 63 set: value = 1.f * 2^(e + 63)
    let e = exp.saturating_sub(i64::from(lz));
    let unbiased = e.saturating_add(63);
    if unbiased > 1023 {
        return f64::INFINITY;
    }
    let normal = unbiased >= -1022;
    let shift: i64 = if normal { 11 } else { 11 + (-1022 - unbiased) };
    if shift > 64 {
        return 0.0;
    }
    let shift = shift as u32;
    let mut kept = m >> shift;
    let rem = m & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    if rem > half || (rem == half && kept & 1 == 1) {
        kept += 1;
    }
    if normal {
        let mut unbiased = unbiased;
        if kept == 1u128 << 53 {
            kept >>= 1;
            unbiased += 1;
            if unbiased > 1023 {
                return f64::INFINITY;
            }
        }
        let bits = (((unbiased + 1023) as u64) << 52) | (kept as u64 & ((1u64 << 52) - 1));
        f64::from_bits(bits)
    } else {
        // A subnormal (or, after rounding up, the smallest normal: the
        // carry lands in the exponent field).
        f64::from_bits(kept as u64)
    }
}

impl<'a> Lexer<'a> {
    /// A lexer for `src`; `chunkname` prefixes its error messages.
    pub fn new(src: &'a [u8], chunkname: Rc<str>) -> Self {
        Lexer {
            src,
            pos: 0,
            line: 1,
            buf: Vec::new(),
            chunkname,
            strings: HashSet::new(),
        }
    }

    /// The current line: the line where the last token read ends (Lua's
    /// `linenumber`).
    pub fn line(&self) -> u32 {
        self.line
    }

    /// The chunk name used in messages.
    pub fn chunkname(&self) -> &Rc<str> {
        &self.chunkname
    }

    /// The text Lua's messages quote after `near` for `token`: `'name'`,
    /// `'3.5'`, `'"str"'` (escapes decoded), `'+'`, `'end'`, `<eof>`; `None`
    /// for a NUL byte token (Lua omits the `near` part then).
    pub fn near(&self, token: &Token) -> Option<Vec<u8>> {
        let span = || self.src.get(token.start..token.end).unwrap_or(&[]);
        match &token.tok {
            Tok::Char(0) => None,
            Tok::Name(_) | Tok::Int(_) | Tok::Float(_) => Some(quote(span())),
            Tok::Str(value) => {
                let text = span();
                let mut out = Vec::with_capacity(value.len() + 8);
                match text.first() {
                    Some(&q) if q == b'"' || q == b'\'' => {
                        out.push(q);
                        out.extend_from_slice(value);
                        out.push(q);
                    }
                    _ => {
                        let eqs = text.iter().skip(1).take_while(|&&c| c == b'=').count();
                        out.push(b'[');
                        out.extend(std::iter::repeat_n(b'=', eqs));
                        out.push(b'[');
                        out.extend_from_slice(value);
                        out.push(b']');
                        out.extend(std::iter::repeat_n(b'=', eqs));
                        out.push(b']');
                    }
                }
                Some(quote(&out))
            }
            other => Some(other.describe().into_bytes()),
        }
    }

    /// A `chunk:line: msg` error (`near`, if any, is appended).
    pub fn error_at(&self, msg: &str, near: Option<&[u8]>) -> SyntaxError {
        let mut m = format!("{}:{}: {}", self.chunkname, self.line, msg).into_bytes();
        if let Some(near) = near {
            m.extend_from_slice(b" near ");
            m.extend_from_slice(near);
        }
        SyntaxError {
            message: String::from_utf8_lossy(&m).into_owned(),
        }
    }

    fn error(&self, msg: &str, near: Near) -> SyntaxError {
        match near {
            Near::Nothing => self.error_at(msg, None),
            Near::Eos => self.error_at(msg, Some(b"<eof>")),
            Near::Buffer => self.error_at(msg, Some(&quote(&self.buf))),
        }
    }

    fn intern(&mut self, bytes: &[u8]) -> Bytes {
        if let Some(s) = self.strings.get(bytes) {
            return s.clone();
        }
        let s: Bytes = Rc::from(bytes);
        self.strings.insert(s.clone());
        s
    }

    fn cur(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn advance(&mut self) {
        if self.pos < self.src.len() {
            self.pos += 1;
        }
    }

    fn save(&mut self, c: u8) {
        self.buf.push(c);
    }

    fn save_and_next(&mut self) {
        if let Some(c) = self.cur() {
            self.buf.push(c);
        }
        self.advance();
    }

    fn buf_remove(&mut self, n: usize) {
        let len = self.buf.len().saturating_sub(n);
        self.buf.truncate(len);
    }

    fn cur_is_newline(&self) -> bool {
        matches!(self.cur(), Some(b'\n' | b'\r'))
    }

    /// Skips a newline sequence (`\n`, `\r`, `\n\r` or `\r\n`).
    fn inc_line(&mut self) -> Result<(), SyntaxError> {
        let old = self.cur();
        self.advance();
        if self.cur_is_newline() && self.cur() != old {
            self.advance();
        }
        self.line += 1;
        if self.line >= MAX_LINE {
            return Err(self.error("chunk has too many lines", Near::Nothing));
        }
        Ok(())
    }

    fn check_next1(&mut self, c: u8) -> bool {
        if self.cur() == Some(c) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn check_next2(&mut self, a: u8, b: u8) -> bool {
        match self.cur() {
            Some(c) if c == a || c == b => {
                self.save_and_next();
                true
            }
            _ => false,
        }
    }

    /// Reads the next token ([`Tok::Eos`] at the end, and again after).
    ///
    /// # Errors
    ///
    /// A lexical error: malformed number, unfinished or invalid string,
    /// unfinished long comment, too many lines.
    pub fn next_token(&mut self) -> Result<Token, SyntaxError> {
        self.buf.clear();
        loop {
            let start = self.pos;
            let tok = match self.cur() {
                None => Tok::Eos,
                Some(b'\n' | b'\r') => {
                    self.inc_line()?;
                    continue;
                }
                Some(b' ' | b'\t' | 0x0b | 0x0c) => {
                    self.advance();
                    continue;
                }
                Some(b'-') => {
                    self.advance();
                    if self.cur() != Some(b'-') {
                        Tok::Char(b'-')
                    } else {
                        self.skip_comment()?;
                        continue;
                    }
                }
                Some(b'[') => {
                    let sep = self.skip_sep();
                    if sep >= 2 {
                        Tok::Str(self.read_long_string(true, sep)?)
                    } else if sep == 0 {
                        return Err(self.error("invalid long string delimiter", Near::Buffer));
                    } else {
                        Tok::Char(b'[')
                    }
                }
                Some(b'=') => {
                    self.advance();
                    if self.check_next1(b'=') {
                        Tok::Eq
                    } else {
                        Tok::Char(b'=')
                    }
                }
                Some(b'<') => {
                    self.advance();
                    if self.check_next1(b'=') {
                        Tok::Le
                    } else if self.check_next1(b'<') {
                        Tok::Shl
                    } else {
                        Tok::Char(b'<')
                    }
                }
                Some(b'>') => {
                    self.advance();
                    if self.check_next1(b'=') {
                        Tok::Ge
                    } else if self.check_next1(b'>') {
                        Tok::Shr
                    } else {
                        Tok::Char(b'>')
                    }
                }
                Some(b'/') => {
                    self.advance();
                    if self.check_next1(b'/') {
                        Tok::IDiv
                    } else {
                        Tok::Char(b'/')
                    }
                }
                Some(b'~') => {
                    self.advance();
                    if self.check_next1(b'=') {
                        Tok::Ne
                    } else {
                        Tok::Char(b'~')
                    }
                }
                Some(b':') => {
                    self.advance();
                    if self.check_next1(b':') {
                        Tok::DbColon
                    } else {
                        Tok::Char(b':')
                    }
                }
                Some(q @ (b'"' | b'\'')) => Tok::Str(self.read_string(q)?),
                Some(b'.') => {
                    self.save_and_next();
                    if self.check_next1(b'.') {
                        if self.check_next1(b'.') {
                            Tok::Dots
                        } else {
                            Tok::Concat
                        }
                    } else if !matches!(self.cur(), Some(b'0'..=b'9')) {
                        Tok::Char(b'.')
                    } else {
                        self.read_numeral()?
                    }
                }
                Some(b'0'..=b'9') => self.read_numeral()?,
                Some(c) if is_alpha(c) => {
                    while matches!(self.cur(), Some(c) if is_alnum(c)) {
                        self.save_and_next();
                    }
                    match keyword(&self.buf) {
                        Some(k) => k,
                        None => {
                            let buf = std::mem::take(&mut self.buf);
                            let name = self.intern(&buf);
                            self.buf = buf;
                            Tok::Name(name)
                        }
                    }
                }
                Some(c) => {
                    self.advance();
                    Tok::Char(c)
                }
            };
            return Ok(Token {
                tok,
                start,
                end: self.pos,
            });
        }
    }

    /// After `--`: a long comment `--[==[ ... ]==]` or a line comment.
    fn skip_comment(&mut self) -> Result<(), SyntaxError> {
        self.advance(); // second '-'
        if self.cur() == Some(b'[') {
            let sep = self.skip_sep();
            self.buf.clear();
            if sep >= 2 {
                self.read_long_string(false, sep)?;
                self.buf.clear();
                return Ok(());
            }
        }
        while !self.cur_is_newline() && self.cur().is_some() {
            self.advance();
        }
        Ok(())
    }

    /// Reads `[=*[` or `]=*]`, leaving the last bracket: the number of `=`
    /// plus 2 if well formed, 1 for a lone bracket, 0 for `[=...` without
    /// the second bracket.
    fn skip_sep(&mut self) -> usize {
        let s = self.cur();
        let mut count: usize = 0;
        self.save_and_next();
        while self.cur() == Some(b'=') {
            self.save_and_next();
            count += 1;
        }
        if self.cur() == s {
            count.saturating_add(2)
        } else if count == 0 {
            1
        } else {
            0
        }
    }

    fn read_long_string(&mut self, is_string: bool, sep: usize) -> Result<Bytes, SyntaxError> {
        let start_line = self.line;
        self.save_and_next(); // second '['
        if self.cur_is_newline() {
            self.inc_line()?; // a first newline is skipped
        }
        loop {
            match self.cur() {
                None => {
                    let what = if is_string { "string" } else { "comment" };
                    let msg = format!("unfinished long {what} (starting at line {start_line})");
                    return Err(self.error(&msg, Near::Eos));
                }
                Some(b']') => {
                    if self.skip_sep() == sep {
                        self.save_and_next(); // second ']'
                        break;
                    }
                }
                Some(b'\n' | b'\r') => {
                    self.save(b'\n');
                    self.inc_line()?;
                    if !is_string {
                        self.buf.clear();
                    }
                }
                Some(_) => {
                    if is_string {
                        self.save_and_next();
                    } else {
                        self.advance();
                    }
                }
            }
        }
        if !is_string {
            return Ok(Rc::from(&[][..]));
        }
        let end = self.buf.len().saturating_sub(sep);
        let buf = std::mem::take(&mut self.buf);
        let s = self.intern(buf.get(sep..end).unwrap_or(&[]));
        self.buf = buf;
        Ok(s)
    }

    fn esc_check(&mut self, ok: bool, msg: &str) -> Result<(), SyntaxError> {
        if ok {
            return Ok(());
        }
        if self.cur().is_some() {
            self.save_and_next(); // the offending character, for the message
        }
        Err(self.error(msg, Near::Buffer))
    }

    fn get_hexa(&mut self) -> Result<u32, SyntaxError> {
        self.save_and_next();
        let c = self.cur();
        self.esc_check(
            matches!(c, Some(c) if c.is_ascii_hexdigit()),
            "hexadecimal digit expected",
        )?;
        Ok(hex_value(c.unwrap_or(b'0')))
    }

    fn read_hexa_esc(&mut self) -> Result<u8, SyntaxError> {
        let r = self.get_hexa()?;
        let r = (r << 4) + self.get_hexa()?;
        self.buf_remove(2);
        Ok(r as u8)
    }

    fn read_utf8_esc(&mut self) -> Result<u32, SyntaxError> {
        let mut i = 4; // '\', 'u', '{' and the first digit
        self.save_and_next(); // 'u'
        self.esc_check(self.cur() == Some(b'{'), "missing '{'")?;
        let mut r = self.get_hexa()?;
        loop {
            self.save_and_next();
            match self.cur() {
                Some(c) if c.is_ascii_hexdigit() => {
                    i += 1;
                    self.esc_check(r <= (0x7FFF_FFFF >> 4), "UTF-8 value too large")?;
                    r = (r << 4) + hex_value(c);
                }
                _ => break,
            }
        }
        self.esc_check(self.cur() == Some(b'}'), "missing '}'")?;
        self.advance(); // '}'
        self.buf_remove(i);
        Ok(r)
    }

    fn read_dec_esc(&mut self) -> Result<u8, SyntaxError> {
        let mut r: u32 = 0;
        let mut i = 0;
        while i < 3 {
            match self.cur() {
                Some(c @ b'0'..=b'9') => {
                    r = 10 * r + u32::from(c - b'0');
                    self.save_and_next();
                    i += 1;
                }
                _ => break,
            }
        }
        self.esc_check(r <= 255, "decimal escape too large")?;
        self.buf_remove(i);
        Ok(r as u8)
    }

    fn read_string(&mut self, del: u8) -> Result<Bytes, SyntaxError> {
        self.save_and_next(); // keep the delimiter, for messages
        loop {
            match self.cur() {
                Some(c) if c == del => break,
                None => return Err(self.error("unfinished string", Near::Eos)),
                Some(b'\n' | b'\r') => return Err(self.error("unfinished string", Near::Buffer)),
                Some(b'\\') => {
                    self.save_and_next(); // keep '\\' for messages
                    let c = match self.cur() {
                        None => continue, // the next iteration reports the error
                        Some(b'a') => 0x07,
                        Some(b'b') => 0x08,
                        Some(b'f') => 0x0c,
                        Some(b'n') => b'\n',
                        Some(b'r') => b'\r',
                        Some(b't') => b'\t',
                        Some(b'v') => 0x0b,
                        Some(b'x') => self.read_hexa_esc()?,
                        Some(b'u') => {
                            let x = self.read_utf8_esc()?;
                            utf8_encode(x, &mut self.buf);
                            continue;
                        }
                        Some(b'\n' | b'\r') => {
                            self.inc_line()?;
                            self.buf_remove(1);
                            self.save(b'\n');
                            continue;
                        }
                        Some(c @ (b'\\' | b'"' | b'\'')) => c,
                        Some(b'z') => {
                            self.buf_remove(1);
                            self.advance();
                            while let Some(c) = self.cur() {
                                if !is_space(c) {
                                    break;
                                }
                                if self.cur_is_newline() {
                                    self.inc_line()?;
                                } else {
                                    self.advance();
                                }
                            }
                            continue;
                        }
                        Some(c) => {
                            self.esc_check(c.is_ascii_digit(), "invalid escape sequence")?;
                            let c = self.read_dec_esc()?;
                            self.buf_remove(1);
                            self.save(c);
                            continue;
                        }
                    };
                    self.advance();
                    self.buf_remove(1);
                    self.save(c);
                }
                Some(_) => self.save_and_next(),
            }
        }
        self.save_and_next(); // closing delimiter
        let end = self.buf.len().saturating_sub(1);
        let buf = std::mem::take(&mut self.buf);
        let s = self.intern(buf.get(1..end).unwrap_or(&[]));
        self.buf = buf;
        Ok(s)
    }

    /// A numeral (the buffer may already hold a leading `.`).
    fn read_numeral(&mut self) -> Result<Tok, SyntaxError> {
        let first = self.cur();
        let mut expo = (b'E', b'e');
        self.save_and_next();
        if first == Some(b'0') && self.check_next2(b'x', b'X') {
            expo = (b'P', b'p');
        }
        loop {
            if self.check_next2(expo.0, expo.1) {
                self.check_next2(b'-', b'+');
            } else if matches!(self.cur(), Some(c) if c.is_ascii_hexdigit() || c == b'.') {
                self.save_and_next();
            } else {
                break;
            }
        }
        if matches!(self.cur(), Some(c) if is_alpha(c)) {
            self.save_and_next(); // a numeral touching a letter: force an error
        }
        match str2number(&self.buf) {
            Some(tok) => Ok(tok),
            None => Err(self.error("malformed number", Near::Buffer)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(src: &str) -> Result<Vec<Tok>, String> {
        let mut lx = Lexer::new(src.as_bytes(), Rc::from("t.lua"));
        let mut out = Vec::new();
        loop {
            let t = lx.next_token().map_err(|e| e.message)?;
            if t.tok == Tok::Eos {
                return Ok(out);
            }
            out.push(t.tok);
        }
    }

    fn one(src: &str) -> Tok {
        let toks = lex(src).unwrap();
        assert_eq!(toks.len(), 1, "{src:?} gave {toks:?}");
        toks.into_iter().next().unwrap()
    }

    fn string(src: &str) -> Vec<u8> {
        match one(src) {
            Tok::Str(s) => s.to_vec(),
            t => panic!("{src:?} gave {t:?}"),
        }
    }

    fn err(src: &str) -> String {
        lex(src).unwrap_err()
    }

    #[test]
    fn decimal_numbers() {
        assert_eq!(one("0"), Tok::Int(0));
        assert_eq!(one("42"), Tok::Int(42));
        assert_eq!(one("9223372036854775807"), Tok::Int(i64::MAX));
        assert_eq!(
            one("9223372036854775808"),
            Tok::Float(9223372036854775808.0)
        );
        assert_eq!(
            one("18446744073709551616"),
            Tok::Float(18446744073709551616.0)
        );
        assert_eq!(one("3.0"), Tok::Float(3.0));
        assert_eq!(one("3."), Tok::Float(3.0));
        assert_eq!(one(".5"), Tok::Float(0.5));
        assert_eq!(one("1e10"), Tok::Float(1e10));
        assert_eq!(one("1E-2"), Tok::Float(0.01));
        assert_eq!(one("2.5e+3"), Tok::Float(2500.0));
        assert_eq!(one("1.e2"), Tok::Float(100.0));
        assert_eq!(one("1e400"), Tok::Float(f64::INFINITY));
        assert_eq!(one("0.1"), Tok::Float(0.1));
        assert_eq!(one("007"), Tok::Int(7));
    }

    #[test]
    fn hex_numbers() {
        assert_eq!(one("0x10"), Tok::Int(16));
        assert_eq!(one("0XfF"), Tok::Int(255));
        assert_eq!(one("0x7fffffffffffffff"), Tok::Int(i64::MAX));
        assert_eq!(one("0xffffffffffffffff"), Tok::Int(-1));
        // wraps around modulo 2^64
        assert_eq!(one("0x1ffffffffffffffff"), Tok::Int(-1));
        assert_eq!(one("0x10000000000000000"), Tok::Int(0));
        assert_eq!(one("0x1e"), Tok::Int(30)); // 'e' is a digit in hex
        assert_eq!(one("0x1p4"), Tok::Float(16.0));
        assert_eq!(one("0x1P-1"), Tok::Float(0.5));
        assert_eq!(one("0x.8"), Tok::Float(0.5));
        assert_eq!(one("0xA.8p1"), Tok::Float(21.0));
        assert_eq!(one("0x1."), Tok::Float(1.0));
        assert_eq!(one("0x.1p4"), Tok::Float(1.0));
        assert_eq!(one("0x1p+2"), Tok::Float(4.0));
        assert_eq!(one("0x1.fffffffffffff8p0"), Tok::Float(2.0)); // tie, rounds to even
        assert_eq!(one("0x1.fffffffffffff7p0"), Tok::Float(1.9999999999999998));
        assert_eq!(
            one("0x1.0000000000000801p0"),
            Tok::Float(1.0000000000000002)
        );
        assert_eq!(one("0x1p-1074"), Tok::Float(f64::from_bits(1)));
        assert_eq!(one("0x1p-1075"), Tok::Float(0.0)); // tie to even: 0
        assert_eq!(one("0x1.8p-1075"), Tok::Float(f64::from_bits(1)));
        assert_eq!(one("0x1p1024"), Tok::Float(f64::INFINITY));
        assert_eq!(one("0x1p1023"), Tok::Float(2f64.powi(1023)));
        assert_eq!(one("0x1p-1022"), Tok::Float(f64::MIN_POSITIVE));
        assert_eq!(
            one("0x0.0000000000001p-1022"),
            Tok::Float(f64::from_bits(1))
        );
        assert_eq!(one("0x1p99999999999999999999"), Tok::Float(f64::INFINITY));
        assert_eq!(one("0x1p-99999999999999999999"), Tok::Float(0.0));
        assert_eq!(one("0x0p0"), Tok::Float(0.0));
        assert_eq!(
            one("0x123456789abcdef0123p0"),
            Tok::Float(0x123456789abcdef0123u128 as f64)
        );
    }

    #[test]
    fn malformed_numbers() {
        assert_eq!(err("3x"), "t.lua:1: malformed number near '3x'");
        assert_eq!(err("3xyz"), "t.lua:1: malformed number near '3x'");
        assert_eq!(err("0x"), "t.lua:1: malformed number near '0x'");
        assert_eq!(err("1e"), "t.lua:1: malformed number near '1e'");
        assert_eq!(err("1e+"), "t.lua:1: malformed number near '1e+'");
        assert_eq!(err("1..2"), "t.lua:1: malformed number near '1..2'");
        assert_eq!(err("12abc"), "t.lua:1: malformed number near '12abc'");
        assert_eq!(err("0x1p"), "t.lua:1: malformed number near '0x1p'");
        assert_eq!(err("0x.p1"), "t.lua:1: malformed number near '0x.p1'");
        assert_eq!(err("\n1.5f"), "t.lua:2: malformed number near '1.5f'");
        assert_eq!(err("0xn"), "t.lua:1: malformed number near '0xn'");
        // a sign only after an exponent mark
        assert_eq!(
            lex("3-4").unwrap(),
            vec![Tok::Int(3), Tok::Char(b'-'), Tok::Int(4)]
        );
        assert_eq!(
            lex("0xe+1").unwrap(),
            vec![Tok::Int(14), Tok::Char(b'+'), Tok::Int(1)]
        );
    }

    #[test]
    fn operators() {
        use Tok::*;
        assert_eq!(
            lex("+ - * / // % ^ # & ~ | << >> == ~= <= >= < > = ( ) { } [ ] :: ; : , . .. ...")
                .unwrap(),
            vec![
                Char(b'+'),
                Char(b'-'),
                Char(b'*'),
                Char(b'/'),
                IDiv,
                Char(b'%'),
                Char(b'^'),
                Char(b'#'),
                Char(b'&'),
                Char(b'~'),
                Char(b'|'),
                Shl,
                Shr,
                Eq,
                Ne,
                Le,
                Ge,
                Char(b'<'),
                Char(b'>'),
                Char(b'='),
                Char(b'('),
                Char(b')'),
                Char(b'{'),
                Char(b'}'),
                Char(b'['),
                Char(b']'),
                DbColon,
                Char(b';'),
                Char(b':'),
                Char(b','),
                Char(b'.'),
                Concat,
                Dots,
            ]
        );
        assert_eq!(lex("a.b").unwrap().len(), 3);
        assert_eq!(
            lex("1..2 ").unwrap_err(),
            "t.lua:1: malformed number near '1..2'"
        );
        assert_eq!(lex("a..b").unwrap()[1], Concat);
        assert_eq!(lex("....").unwrap(), vec![Dots, Char(b'.')]);
    }

    #[test]
    fn names_and_keywords() {
        let n = |s: &str| Tok::Name(Rc::from(s.as_bytes()));
        assert_eq!(
            lex("and break do else elseif end false for function goto if in local nil not or repeat return then true until while").unwrap(),
            vec![
                Tok::And, Tok::Break, Tok::Do, Tok::Else, Tok::ElseIf, Tok::End, Tok::False,
                Tok::For, Tok::Function, Tok::Goto, Tok::If, Tok::In, Tok::Local, Tok::Nil,
                Tok::Not, Tok::Or, Tok::Repeat, Tok::Return, Tok::Then, Tok::True, Tok::Until,
                Tok::While,
            ]
        );
        assert_eq!(
            lex("_x x1 End _ELSE").unwrap(),
            vec![n("_x"), n("x1"), n("End"), n("_ELSE")]
        );
        assert_eq!(lex("@").unwrap(), vec![Tok::Char(b'@')]);
        assert_eq!(
            lex("\u{e9}").unwrap(),
            vec![Tok::Char(0xc3), Tok::Char(0xa9)]
        );
    }

    #[test]
    fn short_string_escapes() {
        assert_eq!(string(r#""abc""#), b"abc");
        assert_eq!(string(r"'a\'b'"), b"a'b");
        assert_eq!(
            string(r#""\a\b\f\n\r\t\v\\\"\'""#),
            b"\x07\x08\x0c\n\r\t\x0b\\\"'"
        );
        assert_eq!(string(r#""\x41\x7a\xFF""#), b"Az\xff");
        assert_eq!(string(r#""\65\066\0067""#), b"AB\x067");
        assert_eq!(string(r#""\255\0""#), b"\xff\x00");
        assert_eq!(
            string(r#""\u{41}\u{e9}\u{20AC}""#),
            "A\u{e9}\u{20ac}".as_bytes()
        );
        assert_eq!(string(r#""\u{10FFFF}""#), "\u{10ffff}".as_bytes());
        assert_eq!(string(r#""\u{7FFFFFFF}""#), b"\xfd\xbf\xbf\xbf\xbf\xbf");
        assert_eq!(string(r#""\u{0000041}""#), b"A");
        assert_eq!(string("\"a\\z  \n\t  b\""), b"ab");
        assert_eq!(string("\"a\\\nb\""), b"a\nb");
        assert_eq!(string("\"a\\\r\nb\""), b"a\nb");
        let mut lx = Lexer::new(b"\"a\\\r\nb\" x", Rc::from("t.lua"));
        lx.next_token().unwrap();
        assert_eq!(lx.line(), 2);
    }

    #[test]
    fn string_errors() {
        assert_eq!(err("\"abc"), "t.lua:1: unfinished string near <eof>");
        assert_eq!(err("\"abc\nd\""), "t.lua:1: unfinished string near '\"abc'");
        assert_eq!(err(r#""a\tb"#), "t.lua:1: unfinished string near <eof>");
        assert_eq!(err("\"a\\tb\n"), "t.lua:1: unfinished string near '\"a\tb'");
        assert_eq!(
            err(r#""\q""#),
            r#"t.lua:1: invalid escape sequence near '"\q'"#
        );
        assert_eq!(
            err(r#""ab\xZZ""#),
            r#"t.lua:1: hexadecimal digit expected near '"ab\xZ'"#
        );
        assert_eq!(
            err(r#""\x5""#),
            r#"t.lua:1: hexadecimal digit expected near '"\x5"'"#
        );
        assert_eq!(
            err(r#""\256""#),
            r#"t.lua:1: decimal escape too large near '"\256"'"#
        );
        assert_eq!(
            err(r#""\999""#),
            r#"t.lua:1: decimal escape too large near '"\999"'"#
        );
        assert_eq!(err(r#""\u41""#), r#"t.lua:1: missing '{' near '"\u4'"#);
        assert_eq!(err(r#""\u{41""#), r#"t.lua:1: missing '}' near '"\u{41"'"#);
        assert_eq!(
            err(r#""\u{}""#),
            r#"t.lua:1: hexadecimal digit expected near '"\u{}'"#
        );
        assert_eq!(
            err(r#""\u{80000000}""#),
            r#"t.lua:1: UTF-8 value too large near '"\u{80000000'"#
        );
        assert_eq!(err("\"\\"), "t.lua:1: unfinished string near <eof>");
        assert_eq!(err("'a\\0b\n"), "t.lua:1: unfinished string near ''a'");
    }

    #[test]
    fn long_strings_and_comments() {
        assert_eq!(string("[[abc]]"), b"abc");
        assert_eq!(string("[[\nabc]]"), b"abc");
        assert_eq!(string("[[\r\nabc\r\ndef]]"), b"abc\ndef");
        assert_eq!(string("[[\n\nabc]]"), b"\nabc");
        assert_eq!(string("[==[a]]b]=]c]==]"), b"a]]b]=]c");
        assert_eq!(string("[=[\\n]=]"), b"\\n");
        assert_eq!(string("[[]]"), b"");
        assert_eq!(
            lex("--[[ comment\n ]] x").unwrap(),
            vec![Tok::Name(Rc::from(&b"x"[..]))]
        );
        assert_eq!(lex("--[==[ ]] ]==] 1").unwrap(), vec![Tok::Int(1)]);
        assert_eq!(lex("-- line\n2").unwrap(), vec![Tok::Int(2)]);
        assert_eq!(lex("--[= not long\n3").unwrap(), vec![Tok::Int(3)]);
        assert_eq!(lex("--[\n4").unwrap(), vec![Tok::Int(4)]);
        assert_eq!(lex("--").unwrap(), vec![]);
        assert_eq!(lex("a - -b").unwrap()[1], Tok::Char(b'-'));
        assert_eq!(
            err("x = [[abc\n\n"),
            "t.lua:3: unfinished long string (starting at line 1) near <eof>"
        );
        assert_eq!(
            err("\n--[==[abc\n]] "),
            "t.lua:3: unfinished long comment (starting at line 2) near <eof>"
        );
        assert_eq!(
            err("[==x"),
            "t.lua:1: invalid long string delimiter near '[=='"
        );
        assert_eq!(lex("[ x").unwrap()[0], Tok::Char(b'['));
        assert_eq!(lex("[=[a]=] [==[b]==]").unwrap().len(), 2);
    }

    #[test]
    fn line_numbers() {
        let mut lx = Lexer::new(b"a\nb\r\nc\n\rd\re\n\n", Rc::from("t.lua"));
        let mut lines = Vec::new();
        loop {
            let t = lx.next_token().unwrap();
            if t.tok == Tok::Eos {
                lines.push(lx.line());
                break;
            }
            lines.push(lx.line());
        }
        assert_eq!(lines, vec![1, 2, 3, 4, 5, 7]);
        let mut lx = Lexer::new(b"[[a\nb\nc]] x", Rc::from("t.lua"));
        lx.next_token().unwrap();
        assert_eq!(lx.line(), 3);
    }

    #[test]
    fn near_texts() {
        let lx = Lexer::new(b"[==[a\0b]==] 'q' xyz 0x1F", Rc::from("t.lua"));
        let mut lx2 = Lexer::new(lx.src, Rc::from("t.lua"));
        let t = lx2.next_token().unwrap();
        assert_eq!(lx2.near(&t).unwrap(), b"'[==[a'");
        let t = lx2.next_token().unwrap();
        assert_eq!(lx2.near(&t).unwrap(), b"''q''");
        let t = lx2.next_token().unwrap();
        assert_eq!(lx2.near(&t).unwrap(), b"'xyz'");
        let t = lx2.next_token().unwrap();
        assert_eq!(lx2.near(&t).unwrap(), b"'0x1F'");
        let t = lx2.next_token().unwrap();
        assert_eq!(lx2.near(&t).unwrap(), b"<eof>");
        assert_eq!(Tok::Char(1).describe(), "'<\\1>'");
        assert_eq!(Tok::Char(200).describe(), "'<\\200>'");
        assert_eq!(Tok::Concat.describe(), "'..'");
        assert_eq!(Tok::Name(Rc::from(&b"x"[..])).describe(), "<name>");
    }

    #[test]
    fn utf8_encoding() {
        let enc = |x| {
            let mut v = Vec::new();
            utf8_encode(x, &mut v);
            v
        };
        for c in [
            '\0',
            'a',
            '\u{7f}',
            '\u{80}',
            '\u{7ff}',
            '\u{800}',
            '\u{ffff}',
            '\u{10000}',
            '\u{10ffff}',
        ] {
            assert_eq!(enc(c as u32), c.to_string().into_bytes());
        }
        assert_eq!(enc(0x200000), b"\xf8\x88\x80\x80\x80");
        assert_eq!(enc(0x4000000), b"\xfc\x84\x80\x80\x80\x80");
    }
}
