//! Toy lexer: bytes in, tokens with positions out. Never panics on any input.

use super::Diag;

/// A token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// Integer literal (unsigned: `9223372036854775808` is allowed only under unary minus).
    Int(u64),
    /// Float literal.
    Float(f64),
    /// String literal bytes.
    Str(Vec<u8>),
    /// Identifier.
    Ident(String),
    /// Keyword.
    Kw(&'static str),
    /// Punctuation or operator.
    P(&'static str),
    /// End of input.
    Eof,
}

/// A token and where it starts.
#[derive(Debug, Clone)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (bytes).
    pub col: u32,
}

const KEYWORDS: &[&str] = &[
    "fn", "struct", "global", "let", "if", "else", "while", "for", "in", "break", "continue",
    "return", "true", "false", "null", "throw", "try", "catch", "spawn", "sync", "new",
];

const PUNCT: &[&str] = &[
    "..", "->", "==", "!=", "<=", ">=", "&&", "||", "<<", ">>", "+=", "-=", "*=", "/=", "+", "-",
    "*", "/", "%", "<", ">", "=", "!", "&", "|", "^", "(", ")", "{", "}", "[", "]", ",", ";", ":",
    ".",
];

/// Splits `src` into tokens; lexical errors are reported and skipped.
pub fn lex(src: &[u8], diags: &mut Vec<Diag>) -> Vec<Token> {
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1u32, 1u32);
    let n = src.len();
    macro_rules! adv {
        ($k:expr) => {{
            for _ in 0..$k {
                if i < n && src[i] == b'\n' {
                    line += 1;
                    col = 1;
                } else {
                    col += 1;
                }
                i += 1;
            }
        }};
    }
    while i < n {
        let c = src[i];
        let (tl, tc) = (line, col);
        if c == b' ' || c == b'\t' || c == b'\r' || c == b'\n' {
            adv!(1);
            continue;
        }
        if c == b'/' && i + 1 < n && src[i + 1] == b'/' {
            while i < n && src[i] != b'\n' {
                adv!(1);
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let s = i;
            while i < n && (src[i].is_ascii_alphanumeric() || src[i] == b'_') {
                adv!(1);
            }
            let word = std::str::from_utf8(&src[s..i]).unwrap_or("").to_string();
            let tok = match KEYWORDS.iter().find(|k| **k == word) {
                Some(k) => Tok::Kw(k),
                None => Tok::Ident(word),
            };
            out.push(Token {
                tok,
                line: tl,
                col: tc,
            });
            continue;
        }
        if c.is_ascii_digit() {
            let s = i;
            if c == b'0' && i + 1 < n && (src[i + 1] == b'x' || src[i + 1] == b'X') {
                adv!(2);
                let ds = i;
                while i < n && (src[i].is_ascii_hexdigit() || src[i] == b'_') {
                    adv!(1);
                }
                let digits: String = src[ds..i]
                    .iter()
                    .filter(|b| **b != b'_')
                    .map(|b| *b as char)
                    .collect();
                match u64::from_str_radix(&digits, 16) {
                    Ok(v) if !digits.is_empty() => out.push(Token {
                        tok: Tok::Int(v),
                        line: tl,
                        col: tc,
                    }),
                    _ => diags.push(Diag::new(tl, tc, "invalid hexadecimal literal")),
                }
                continue;
            }
            while i < n && (src[i].is_ascii_digit() || src[i] == b'_') {
                adv!(1);
            }
            let mut is_float = false;
            if i + 1 < n && src[i] == b'.' && src[i + 1].is_ascii_digit() {
                is_float = true;
                adv!(1);
                while i < n && (src[i].is_ascii_digit() || src[i] == b'_') {
                    adv!(1);
                }
            }
            if i < n && (src[i] == b'e' || src[i] == b'E') {
                let mut j = i + 1;
                if j < n && (src[j] == b'+' || src[j] == b'-') {
                    j += 1;
                }
                if j < n && src[j].is_ascii_digit() {
                    is_float = true;
                    adv!(j - i);
                    while i < n && src[i].is_ascii_digit() {
                        adv!(1);
                    }
                }
            }
            let text: String = src[s..i]
                .iter()
                .filter(|b| **b != b'_')
                .map(|b| *b as char)
                .collect();
            if i < n && (src[i].is_ascii_alphabetic() || src[i] == b'_') {
                diags.push(Diag::new(tl, tc, "invalid number literal"));
                while i < n && (src[i].is_ascii_alphanumeric() || src[i] == b'_') {
                    adv!(1);
                }
                continue;
            }
            if is_float {
                match text.parse::<f64>() {
                    Ok(v) => out.push(Token {
                        tok: Tok::Float(v),
                        line: tl,
                        col: tc,
                    }),
                    Err(_) => diags.push(Diag::new(tl, tc, "invalid float literal")),
                }
            } else {
                match text.parse::<u64>() {
                    Ok(v) if v <= 1u64 << 63 => out.push(Token {
                        tok: Tok::Int(v),
                        line: tl,
                        col: tc,
                    }),
                    _ => diags.push(Diag::new(tl, tc, "integer literal out of range")),
                }
            }
            continue;
        }
        if c == b'"' {
            adv!(1);
            let mut bytes = Vec::new();
            let mut closed = false;
            while i < n {
                let d = src[i];
                if d == b'"' {
                    adv!(1);
                    closed = true;
                    break;
                }
                if d == b'\n' {
                    break;
                }
                if d == b'\\' {
                    let (el, ec) = (line, col);
                    adv!(1);
                    if i >= n {
                        break;
                    }
                    let e = src[i];
                    let v = match e {
                        b'n' => Some(b'\n'),
                        b't' => Some(b'\t'),
                        b'r' => Some(b'\r'),
                        b'\\' => Some(b'\\'),
                        b'"' => Some(b'"'),
                        b'0' => Some(0),
                        _ => None,
                    };
                    match v {
                        Some(b) => bytes.push(b),
                        None => diags.push(Diag::new(el, ec, "invalid escape sequence in string")),
                    }
                    adv!(1);
                    continue;
                }
                bytes.push(d);
                adv!(1);
            }
            if !closed {
                diags.push(Diag::new(tl, tc, "unterminated string literal"));
            }
            out.push(Token {
                tok: Tok::Str(bytes),
                line: tl,
                col: tc,
            });
            continue;
        }
        if let Some(p) = PUNCT.iter().find(|p| src[i..].starts_with(p.as_bytes())) {
            adv!(p.len());
            out.push(Token {
                tok: Tok::P(p),
                line: tl,
                col: tc,
            });
            continue;
        }
        let shown = if c.is_ascii_graphic() {
            format!("'{}'", c as char)
        } else {
            format!("byte 0x{c:02x}")
        };
        diags.push(Diag::new(tl, tc, &format!("unexpected character {shown}")));
        adv!(1);
    }
    out.push(Token {
        tok: Tok::Eof,
        line,
        col,
    });
    out
}
