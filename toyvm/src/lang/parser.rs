//! Recursive-descent parser with precedence climbing and error recovery.

use super::ast::*;
use super::lexer::{Tok, Token};
use super::Diag;

type P<T> = Result<T, ()>;

/// How deeply the parser itself may recurse: parentheses, unary operators,
/// blocks and array types nested in one another.
const MAX_DEPTH: u32 = 200;

/// The deepest tree the parser builds: an expression's operators, calls,
/// indexing and field accesses nested in one another (`1+1+...+1` is a
/// left-deep tree as deep as it has operators), and statements nested in
/// blocks and `else if` chains. Every pass after the parser (checker,
/// interpreter, code generator) recurses over these trees, so this bounds their
/// stack use; a deeper program gets a positioned error.
pub const MAX_TREE_DEPTH: u32 = 10_000;

struct Parser<'a> {
    toks: &'a [Token],
    i: usize,
    diags: &'a mut Vec<Diag>,
    depth: u32,
    /// The depth of the expression tree returned last (0 for a leaf).
    built: u32,
    /// How deeply the statement being parsed is nested (blocks, `else if`).
    stmt_depth: u32,
    /// A tree of the current statement reached [`MAX_TREE_DEPTH`]: reported
    /// once, and the rest of the chain parsed but left out of the tree.
    too_deep: bool,
}

/// Parses a whole program; errors go to `diags`.
pub fn parse(toks: &[Token], diags: &mut Vec<Diag>) -> Vec<Item> {
    let mut p = Parser {
        toks,
        i: 0,
        diags,
        depth: 0,
        built: 0,
        stmt_depth: 0,
        too_deep: false,
    };
    let mut items = Vec::new();
    while !p.at_eof() {
        match p.item() {
            Ok(it) => items.push(it),
            Err(()) => p.recover_item(),
        }
    }
    items
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Int(v) => format!("integer {v}"),
        Tok::Float(v) => format!("float {v}"),
        Tok::Str(_) => "string literal".into(),
        Tok::Ident(s) => format!("'{s}'"),
        Tok::Kw(k) => format!("'{k}'"),
        Tok::P(p) => format!("'{p}'"),
        Tok::Eof => "end of file".into(),
    }
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.i].tok
    }
    fn peek_at(&self, k: usize) -> &Tok {
        &self.toks[(self.i + k).min(self.toks.len() - 1)].tok
    }
    fn pos(&self) -> Pos {
        let t = &self.toks[self.i];
        Pos {
            line: t.line,
            col: t.col,
        }
    }
    fn at_eof(&self) -> bool {
        matches!(self.peek(), Tok::Eof)
    }
    fn bump(&mut self) -> Tok {
        let t = self.toks[self.i].tok.clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }
    fn is_p(&self, p: &str) -> bool {
        matches!(self.peek(), Tok::P(q) if *q == p)
    }
    fn is_kw(&self, k: &str) -> bool {
        matches!(self.peek(), Tok::Kw(q) if *q == k)
    }
    fn eat_p(&mut self, p: &str) -> bool {
        if self.is_p(p) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn error<T>(&mut self, msg: String) -> P<T> {
        let pos = self.pos();
        self.diags.push(Diag::new(pos.line, pos.col, &msg));
        Err(())
    }
    fn expect_p(&mut self, p: &str) -> P<()> {
        if self.eat_p(p) {
            Ok(())
        } else {
            let found = describe(self.peek());
            self.error(format!("expected '{p}', found {found}"))
        }
    }
    fn ident(&mut self, what: &str) -> P<(String, Pos)> {
        let pos = self.pos();
        if let Tok::Ident(s) = self.peek().clone() {
            self.bump();
            Ok((s, pos))
        } else {
            let found = describe(self.peek());
            self.error(format!("expected {what}, found {found}"))
        }
    }

    fn recover_item(&mut self) {
        // Skip at least one token, then to the next top-level keyword.
        self.bump();
        while !(self.at_eof() || self.is_kw("fn") || self.is_kw("struct") || self.is_kw("global")) {
            self.bump();
        }
    }

    /// After a bad statement: skip to just past the next `;` at this nesting level,
    /// or to the `}` closing the block.
    fn recover_stmt(&mut self) {
        let mut depth = 0i32;
        loop {
            match self.peek() {
                Tok::Eof => return,
                Tok::P("{") | Tok::P("(") | Tok::P("[") => depth += 1,
                Tok::P(")") | Tok::P("]") if depth == 0 => {
                    // A stray closer (the rest of a bad expression, say after
                    // one nested too deeply): part of the bad statement.
                }
                Tok::P("}") | Tok::P(")") | Tok::P("]") => {
                    if depth == 0 {
                        return;
                    }
                    depth -= 1;
                    if depth == 0 && self.is_p("}") {
                        self.bump();
                        return;
                    }
                }
                Tok::P(";") if depth == 0 => {
                    self.bump();
                    return;
                }
                Tok::Kw("fn") | Tok::Kw("struct") | Tok::Kw("global") if depth == 0 => return,
                _ => {}
            }
            self.bump();
        }
    }

    fn item(&mut self) -> P<Item> {
        self.too_deep = false;
        match self.peek() {
            Tok::Kw("struct") => {
                self.bump();
                let (name, pos) = self.ident("a struct name")?;
                self.expect_p("{")?;
                let mut fields = Vec::new();
                while !self.is_p("}") {
                    let (f, fpos) = self.ident("a field name")?;
                    self.expect_p(":")?;
                    let t = self.ty()?;
                    fields.push((f, t, fpos));
                    if !self.eat_p(",") {
                        break;
                    }
                }
                self.expect_p("}")?;
                Ok(Item::Struct { name, pos, fields })
            }
            Tok::Kw("global") => {
                self.bump();
                let (name, pos) = self.ident("a global name")?;
                let ty = if self.eat_p(":") {
                    Some(self.ty()?)
                } else {
                    None
                };
                let init = if self.eat_p("=") {
                    Some(self.expr(false)?)
                } else {
                    None
                };
                self.expect_p(";")?;
                Ok(Item::Global {
                    name,
                    pos,
                    ty,
                    init,
                })
            }
            Tok::Kw("fn") => {
                self.bump();
                let (name, pos) = self.ident("a function name")?;
                self.expect_p("(")?;
                let mut params = Vec::new();
                while !self.is_p(")") {
                    let (p, ppos) = self.ident("a parameter name")?;
                    self.expect_p(":")?;
                    let t = self.ty()?;
                    params.push((p, t, ppos));
                    if !self.eat_p(",") {
                        break;
                    }
                }
                self.expect_p(")")?;
                let ret = if self.eat_p("->") {
                    Some(self.ty()?)
                } else {
                    None
                };
                let body = self.block()?;
                Ok(Item::Fn {
                    name,
                    pos,
                    params,
                    ret,
                    body,
                })
            }
            t => {
                let found = describe(t);
                self.error(format!(
                    "expected 'fn', 'struct' or 'global', found {found}"
                ))
            }
        }
    }

    fn ty(&mut self) -> P<TypeAst> {
        let pos = self.pos();
        match self.bump() {
            Tok::Ident(s) => Ok(match s.as_str() {
                "int" => TypeAst::Int,
                "float" => TypeAst::Float,
                "bool" => TypeAst::Bool,
                "str" => TypeAst::Str,
                "thread" => TypeAst::Thread,
                _ => TypeAst::Named(s, pos),
            }),
            Tok::P("[") => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return self.error("type nested too deeply".into());
                }
                let t = self.ty();
                self.depth -= 1;
                let t = t?;
                self.expect_p("]")?;
                Ok(TypeAst::Array(Box::new(t)))
            }
            t => {
                self.i -= usize::from(self.i > 0 && !matches!(t, Tok::Eof));
                let found = describe(&t);
                self.error(format!("expected a type, found {found}"))
            }
        }
    }

    fn block(&mut self) -> P<Vec<Stmt>> {
        if self.is_p("{") && (self.depth >= MAX_DEPTH || self.stmt_depth > MAX_TREE_DEPTH) {
            // Reported at the `{`, left in place: recovery skips the whole
            // block with it, so its closing braces cause no further errors.
            return self.error("blocks nested too deeply".into());
        }
        self.expect_p("{")?;
        self.depth += 1;
        self.stmt_depth += 1;
        let mut stmts = Vec::new();
        while !self.is_p("}") && !self.at_eof() {
            if self.is_kw("fn") || self.is_kw("struct") || self.is_kw("global") {
                break;
            }
            match self.stmt() {
                Ok(s) => stmts.push(s),
                Err(()) => self.recover_stmt(),
            }
        }
        self.depth -= 1;
        self.stmt_depth -= 1;
        self.expect_p("}")?;
        Ok(stmts)
    }

    fn stmt(&mut self) -> P<Stmt> {
        let pos = self.pos();
        self.too_deep = false;
        let kind = match self.peek() {
            Tok::Kw("let") => {
                self.bump();
                let (name, _) = self.ident("a variable name")?;
                let ty = if self.eat_p(":") {
                    Some(self.ty()?)
                } else {
                    None
                };
                let init = if self.eat_p("=") {
                    Some(self.expr(false)?)
                } else {
                    None
                };
                self.expect_p(";")?;
                StmtKind::Let(name, ty, init)
            }
            Tok::Kw("if") => return self.if_stmt(),
            Tok::Kw("while") => {
                self.bump();
                let c = self.expr(true)?;
                let body = self.block()?;
                StmtKind::While(c, body)
            }
            Tok::Kw("for") => {
                self.bump();
                let (v, _) = self.ident("a loop variable")?;
                if !self.is_kw("in") {
                    let found = describe(self.peek());
                    return self.error(format!("expected 'in', found {found}"));
                }
                self.bump();
                let a = self.expr(true)?;
                self.expect_p("..")?;
                let b = self.expr(true)?;
                let body = self.block()?;
                StmtKind::For(v, a, b, body)
            }
            Tok::Kw("break") => {
                self.bump();
                self.expect_p(";")?;
                StmtKind::Break
            }
            Tok::Kw("continue") => {
                self.bump();
                self.expect_p(";")?;
                StmtKind::Continue
            }
            Tok::Kw("return") => {
                self.bump();
                let e = if self.is_p(";") {
                    None
                } else {
                    Some(self.expr(false)?)
                };
                self.expect_p(";")?;
                StmtKind::Return(e)
            }
            Tok::Kw("throw") => {
                self.bump();
                let e = self.expr(false)?;
                self.expect_p(";")?;
                StmtKind::Throw(e)
            }
            Tok::Kw("try") => {
                self.bump();
                let body = self.block()?;
                if !self.is_kw("catch") {
                    let found = describe(self.peek());
                    return self.error(format!("expected 'catch', found {found}"));
                }
                self.bump();
                let (v, vpos) = self.ident("a variable name")?;
                let handler = self.block()?;
                StmtKind::Try(body, v, vpos, handler)
            }
            Tok::Kw("sync") => {
                self.bump();
                self.expect_p("(")?;
                let e = self.expr(false)?;
                self.expect_p(")")?;
                let body = self.block()?;
                StmtKind::Sync(e, body)
            }
            Tok::P("{") => StmtKind::Block(self.block()?),
            _ => {
                let e = self.expr(false)?;
                let op = match self.peek() {
                    Tok::P("=") => None,
                    Tok::P("+=") => Some(BinOp::Add),
                    Tok::P("-=") => Some(BinOp::Sub),
                    Tok::P("*=") => Some(BinOp::Mul),
                    Tok::P("/=") => Some(BinOp::Div),
                    _ => {
                        self.expect_p(";")?;
                        return Ok(Stmt {
                            kind: StmtKind::Expr(e),
                            pos,
                        });
                    }
                };
                self.bump();
                let v = self.expr(false)?;
                self.expect_p(";")?;
                match op {
                    None => StmtKind::Assign(e, v),
                    Some(op) => StmtKind::Compound(op, e, v),
                }
            }
        };
        Ok(Stmt { kind, pos })
    }

    /// `if c {..} else if d {..} ... else {..}`: the chain is parsed in a loop
    /// (each `else if` is a statement nested in the previous `else`), and is
    /// as deep as it has branches.
    fn if_stmt(&mut self) -> P<Stmt> {
        let saved = self.stmt_depth;
        let r = self.if_chain();
        self.stmt_depth = saved;
        r
    }

    fn if_chain(&mut self) -> P<Stmt> {
        let mut branches = Vec::new();
        let mut last = None;
        // Past the depth limit, the rest of the chain's conditions and blocks are
        // parsed (at the limit) and left out; its final `else` is kept.
        let mut truncated = false;
        loop {
            let pos = self.pos();
            self.bump();
            let c = self.expr(true)?;
            let then = self.block()?;
            if !truncated {
                branches.push((c, then, pos));
            }
            if !self.is_kw("else") {
                break;
            }
            self.bump();
            if !self.is_kw("if") {
                last = Some(self.block()?);
                break;
            }
            if self.stmt_depth < MAX_TREE_DEPTH {
                self.stmt_depth += 1;
            } else if !truncated {
                truncated = true;
                let p = self.pos();
                self.diags.push(Diag::new(
                    p.line,
                    p.col,
                    &format!(
                        "statements nested too deeply: more than {MAX_TREE_DEPTH} levels of \
                         blocks and 'else if' (use a lookup table, or split the chain)"
                    ),
                ));
            }
        }
        let mut els = last;
        let mut stmt = None;
        while let Some((c, then, pos)) = branches.pop() {
            let s = Stmt {
                kind: StmtKind::If(c, then, els.take()),
                pos,
            };
            if branches.is_empty() {
                stmt = Some(s);
            } else {
                els = Some(vec![s]);
            }
        }
        Ok(stmt.expect("an if statement has a branch"))
    }

    /// Whether an expression tree of depth `d` may be built at `pos`; past
    /// [`MAX_TREE_DEPTH`], an error (once per statement), and the caller leaves
    /// the node out.
    fn fits(&mut self, d: u32, pos: Pos) -> bool {
        if d <= MAX_TREE_DEPTH {
            self.built = d;
            return true;
        }
        if !self.too_deep {
            self.too_deep = true;
            self.diags.push(Diag::new(
                pos.line,
                pos.col,
                &format!(
                    "expression too deep: more than {MAX_TREE_DEPTH} operators, calls or \
                     accesses nested in one another (split it with local variables)"
                ),
            ));
        }
        false
    }

    /// [`Parser::fits`] where the node cannot be left out: an error result.
    fn grew(&mut self, d: u32, pos: Pos) -> P<()> {
        if self.fits(d, pos) {
            Ok(())
        } else {
            Err(())
        }
    }

    /// An expression; `no_struct` forbids a struct literal at this level (the
    /// condition of `if`/`while` and the range of `for`).
    fn expr(&mut self, no_struct: bool) -> P<Expr> {
        self.depth += 1;
        let r = if self.depth > MAX_DEPTH {
            self.error("expression nested too deeply".into())
        } else {
            self.binary(0, no_struct)
        };
        self.depth -= 1;
        r
    }

    fn binary(&mut self, level: usize, ns: bool) -> P<Expr> {
        const LEVELS: &[&[(&str, BinOp)]] = &[
            &[("||", BinOp::Or)],
            &[("&&", BinOp::And)],
            &[("==", BinOp::Eq), ("!=", BinOp::Ne)],
            &[
                ("<", BinOp::Lt),
                ("<=", BinOp::Le),
                (">", BinOp::Gt),
                (">=", BinOp::Ge),
            ],
            &[("|", BinOp::BitOr)],
            &[("^", BinOp::BitXor)],
            &[("&", BinOp::BitAnd)],
            &[("<<", BinOp::Shl), (">>", BinOp::Shr)],
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Rem)],
        ];
        if level == LEVELS.len() {
            return self.unary(ns);
        }
        let mut lhs = self.binary(level + 1, ns)?;
        let mut d = self.built;
        loop {
            let op = match self.peek() {
                Tok::P(p) => LEVELS[level].iter().find(|(s, _)| s == p).map(|(_, o)| *o),
                _ => None,
            };
            let Some(op) = op else {
                self.built = d;
                return Ok(lhs);
            };
            let pos = self.pos();
            self.bump();
            let rhs = self.binary(level + 1, ns)?;
            if !self.fits(d.max(self.built) + 1, pos) {
                continue;
            }
            d = self.built;
            lhs = Expr {
                kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                pos,
            };
        }
    }

    fn unary(&mut self, ns: bool) -> P<Expr> {
        let pos = self.pos();
        if self.eat_p("-") {
            if let Tok::Int(v) = *self.peek() {
                if !matches!(self.peek_at(1), Tok::P("(") | Tok::P("[") | Tok::P(".")) {
                    self.bump();
                    self.built = 0;
                    return Ok(Expr {
                        kind: ExprKind::Int((v as i64).wrapping_neg()),
                        pos,
                    });
                }
            }
            let e = self.nested(|p| p.unary(ns))?;
            self.grew(self.built + 1, pos)?;
            return Ok(Expr {
                kind: ExprKind::Neg(Box::new(e)),
                pos,
            });
        }
        if self.eat_p("!") {
            let e = self.nested(|p| p.unary(ns))?;
            self.grew(self.built + 1, pos)?;
            return Ok(Expr {
                kind: ExprKind::Not(Box::new(e)),
                pos,
            });
        }
        self.postfix(ns)
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> P<T>) -> P<T> {
        self.depth += 1;
        let r = if self.depth > MAX_DEPTH {
            self.error("expression nested too deeply".into())
        } else {
            f(self)
        };
        self.depth -= 1;
        r
    }

    fn args(&mut self) -> P<Vec<Expr>> {
        self.expect_p("(")?;
        let mut args = Vec::new();
        let mut d = 0;
        while !self.is_p(")") {
            args.push(self.expr(false)?);
            d = d.max(self.built);
            if !self.eat_p(",") {
                break;
            }
        }
        self.expect_p(")")?;
        self.built = d;
        Ok(args)
    }

    fn postfix(&mut self, ns: bool) -> P<Expr> {
        let mut e = self.primary(ns)?;
        let mut d = self.built;
        loop {
            let pos = self.pos();
            if self.is_p("[") {
                self.bump();
                let i = self.expr(false)?;
                let fits = self.fits(d.max(self.built) + 1, pos);
                self.expect_p("]")?;
                if !fits {
                    continue;
                }
                d = self.built;
                e = Expr {
                    kind: ExprKind::Index(Box::new(e), Box::new(i)),
                    pos,
                };
            } else if self.is_p(".") {
                self.bump();
                let (f, _) = self.ident("a field name")?;
                if !self.fits(d + 1, pos) {
                    continue;
                }
                d += 1;
                e = Expr {
                    kind: ExprKind::Field(Box::new(e), f),
                    pos,
                };
            } else if self.is_p("(") {
                return self.error("only named functions can be called".into());
            } else {
                self.built = d;
                return Ok(e);
            }
        }
    }

    fn primary(&mut self, ns: bool) -> P<Expr> {
        let pos = self.pos();
        // Leaves are depth 0; a node with children sets `built` itself.
        self.built = 0;
        let kind = match self.bump() {
            Tok::Int(v) => {
                if v > i64::MAX as u64 {
                    self.i -= 1;
                    return self.error("integer literal out of range".into());
                }
                ExprKind::Int(v as i64)
            }
            Tok::Float(v) => ExprKind::Float(v),
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Kw("true") => ExprKind::Bool(true),
            Tok::Kw("false") => ExprKind::Bool(false),
            Tok::Kw("null") => ExprKind::Null,
            Tok::P("(") => {
                let e = self.expr(false)?;
                self.expect_p(")")?;
                return Ok(e);
            }
            Tok::P("[") => {
                let mut elems = Vec::new();
                let mut d = 0;
                while !self.is_p("]") {
                    elems.push(self.expr(false)?);
                    d = d.max(self.built);
                    if !self.eat_p(",") {
                        break;
                    }
                }
                self.expect_p("]")?;
                self.grew(d + 1, pos)?;
                ExprKind::ArrayLit(elems)
            }
            Tok::Kw("new") => {
                let t = self.ty()?;
                let TypeAst::Array(elem) = t else {
                    return self.error("'new' needs an array type such as [int]".into());
                };
                self.expect_p("(")?;
                let n = self.expr(false)?;
                self.expect_p(")")?;
                self.grew(self.built + 1, pos)?;
                ExprKind::NewArray(*elem, Box::new(n))
            }
            Tok::Kw("spawn") => {
                let (f, _) = self.ident("a function name after 'spawn'")?;
                let args = self.args()?;
                self.grew(self.built + 1, pos)?;
                ExprKind::Spawn(f, args)
            }
            Tok::Ident(name) => {
                if self.is_p("(") {
                    let args = self.args()?;
                    self.grew(self.built + 1, pos)?;
                    ExprKind::Call(name, args)
                } else if self.is_p("{") && !ns {
                    self.bump();
                    let mut fields = Vec::new();
                    let mut d = 0;
                    while !self.is_p("}") {
                        let (f, fpos) = self.ident("a field name")?;
                        self.expect_p(":")?;
                        let e = self.expr(false)?;
                        d = d.max(self.built);
                        fields.push((f, fpos, e));
                        if !self.eat_p(",") {
                            break;
                        }
                    }
                    self.expect_p("}")?;
                    self.grew(d + 1, pos)?;
                    ExprKind::StructLit(name, fields)
                } else {
                    ExprKind::Var(name)
                }
            }
            t => {
                if !matches!(t, Tok::Eof) {
                    self.i -= 1;
                }
                let found = describe(&t);
                return self.error(format!("expected an expression, found {found}"));
            }
        };
        Ok(Expr { kind, pos })
    }
}
