//! The Toy language front end: lexer, parser, checker, and the typed program.

pub mod ast;
pub mod check;
pub mod ir;
pub mod lexer;
pub mod parser;

/// A compile-time error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diag {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (0 when only the line is known).
    pub col: u32,
    /// What is wrong.
    pub message: String,
}

impl Diag {
    /// A diagnostic at a position.
    pub fn new(line: u32, col: u32, message: &str) -> Diag {
        Diag { line, col, message: message.to_string() }
    }

    /// `FILE:LINE:COL: error: MESSAGE`.
    pub fn render(&self, file: &str) -> String {
        format!("{file}:{}:{}: error: {}", self.line, self.col.max(1), self.message)
    }
}

/// Lexes, parses and checks a program: the program, or every error found, in
/// source order.
pub fn compile(file: &str, src: &[u8]) -> Result<ir::Program, Vec<Diag>> {
    let mut diags = Vec::new();
    let toks = lexer::lex(src, &mut diags);
    let items = parser::parse(&toks, &mut diags);
    let prog = check::check(file, &items, &mut diags);
    diags.sort_by_key(|d| (d.line, d.col));
    diags.dedup();
    match prog {
        Some(p) if diags.is_empty() => Ok(p),
        _ => Err(diags),
    }
}
