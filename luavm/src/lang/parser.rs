//! The Lua 5.4 parser: recursive descent over the [`Lexer`]'s tokens, with
//! Lua's operator precedence, building the resolved [`ast`](super::ast):
//! every name becomes a frame slot, an upvalue or a global; functions know
//! their slot count and how to capture their upvalues; `goto`s know their
//! label. It follows `lparser.c` of Lua 5.4 closely, so that its syntax
//! errors are the very messages `lua5.4` prints.
//!
//! Nesting is bounded ([`MAX_LEVELS`]): deeply nested input fails with
//! `C stack overflow` (Lua's message) instead of overflowing the Rust stack,
//! and every tree the parser builds is at most about that deep, so passes
//! over it can recurse safely.

use std::rc::Rc;

use super::ast::{
    BinOp, Block, Bytes, Capture, Expr, Function, LocalDecl, Place, Stat, TableItem, UnOp,
};
use super::lexer::{Lexer, Tok, Token};
use super::SyntaxError;

type PResult<T> = Result<T, SyntaxError>;

/// `?` without the temporaries it costs in unoptimized builds (where every
/// temporary has its own stack slot): keeps the recursive functions' frames
/// small.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(err) => return Err(err),
        }
    };
}

/// Maximum number of active local variables in a function (Lua's `MAXVARS`).
pub const MAX_VARS: usize = 200;

/// Maximum number of upvalues of a function (Lua's `MAXUPVAL`).
pub const MAX_UPVALUES: usize = 255;

/// Maximum syntactic nesting: statements, subexpressions, and the links
/// after the first of operator and suffix chains (`a + b + c`, `a.b.c()`)
/// each count one level, so every tree the parser builds is at most a small
/// multiple of this deep. Lua's own limit (`LUAI_MAXCCALLS`) is 200, part of
/// it used before parsing starts (about 196 nested parentheses); this one
/// accepts deeper nesting.
pub const MAX_LEVELS: u32 = 400;

/// Maximum stack the parser may use below its entry point, a safety net for
/// unoptimized builds (whose frames are several times larger): nesting that
/// needs more fails like nesting deeper than [`MAX_LEVELS`]. Optimized
/// builds reach [`MAX_LEVELS`] well before it.
pub const STACK_BUDGET: usize = 1 << 20;

/// The message for input nested deeper than [`MAX_LEVELS`] (what `lua5.4`
/// reports, without position).
const TOO_DEEP: &str = "C stack overflow";

/// Parses `source` as a main chunk (nothing skipped: this is what `load`
/// does with a string). `chunkname` prefixes messages and is the `source` of
/// every function.
///
/// # Errors
///
/// The first syntax error, with the message `lua5.4` gives it.
pub fn parse_chunk(chunkname: &str, source: &[u8]) -> Result<Rc<Function>, SyntaxError> {
    let name: Rc<str> = Rc::from(chunkname);
    let mut parser = Parser::new(Lexer::new(source, name.clone()), name);
    parser.main_func()
}

/// Parses `source` as a main chunk whose environment is its upvalue 0, named
/// `_ENV` (what `load` with an `env` argument makes): free names index that
/// upvalue, which the caller fills when it makes the closure.
///
/// # Errors
///
/// As [`parse_chunk`].
pub fn parse_chunk_with_env(chunkname: &str, source: &[u8]) -> Result<Rc<Function>, SyntaxError> {
    let name: Rc<str> = Rc::from(chunkname);
    let mut parser = Parser::new(Lexer::new(source, name.clone()), name);
    parser.env_upvalue = true;
    parser.main_func()
}

/// Which parameters of `f` an inner function captures (so the function's
/// entry must put them in cells, like a captured local's declaration does):
/// `result[p]` for parameter slot `p < f.params`. Parameters have no
/// [`LocalDecl`] to say it; this finds it from the closures `f` creates.
pub fn captured_params(f: &Function) -> Vec<bool> {
    let mut captured = vec![false; f.params as usize];
    let mut mark = |g: &Function| {
        for c in &g.upvalues {
            if let Capture::Local(slot) = *c {
                if let Some(p) = captured.get_mut(slot as usize) {
                    *p = true;
                }
            }
        }
    };
    each_closure_block(&f.body, &mut mark);
    captured
}

/// Calls `visit` on every function created directly by the code of `b`
/// (not inside those functions).
fn each_closure_block(b: &Block, visit: &mut dyn FnMut(&Function)) {
    for s in &b.stats {
        each_closure_stat(s, visit);
    }
}

fn each_closure_stat(s: &Stat, visit: &mut dyn FnMut(&Function)) {
    let exprs = |es: &[Expr], visit: &mut dyn FnMut(&Function)| {
        for e in es {
            each_closure_expr(e, visit);
        }
    };
    match s {
        Stat::Local { exprs: es, .. } | Stat::Return { exprs: es, .. } => exprs(es, visit),
        Stat::LocalFunction { func, .. } => visit(func),
        Stat::Assign {
            targets, exprs: es, ..
        } => {
            for t in targets {
                if let Place::Index { obj, key, .. } = t {
                    each_closure_expr(obj, visit);
                    each_closure_expr(key, visit);
                }
            }
            exprs(es, visit);
        }
        Stat::Call(e) => each_closure_expr(e, visit),
        Stat::Do(b) => each_closure_block(b, visit),
        Stat::While { cond, body } | Stat::Repeat { body, cond } => {
            each_closure_expr(cond, visit);
            each_closure_block(body, visit);
        }
        Stat::If { arms, otherwise } => {
            for (c, b) in arms {
                each_closure_expr(c, visit);
                each_closure_block(b, visit);
            }
            if let Some(b) = otherwise {
                each_closure_block(b, visit);
            }
        }
        Stat::NumericFor {
            start,
            limit,
            step,
            body,
            ..
        } => {
            each_closure_expr(start, visit);
            each_closure_expr(limit, visit);
            if let Some(e) = step {
                each_closure_expr(e, visit);
            }
            each_closure_block(body, visit);
        }
        Stat::GenericFor {
            exprs: es, body, ..
        } => {
            exprs(es, visit);
            each_closure_block(body, visit);
        }
        Stat::Break | Stat::Goto { .. } | Stat::Label { .. } => {}
    }
}

fn each_closure_expr(e: &Expr, visit: &mut dyn FnMut(&Function)) {
    match e {
        Expr::Function(f) => visit(f),
        Expr::Index { obj, key, .. } => {
            each_closure_expr(obj, visit);
            each_closure_expr(key, visit);
        }
        Expr::Call {
            func: obj, args, ..
        }
        | Expr::Method { obj, args, .. } => {
            each_closure_expr(obj, visit);
            for a in args {
                each_closure_expr(a, visit);
            }
        }
        Expr::Binary { lhs, rhs, .. } | Expr::And(lhs, rhs) | Expr::Or(lhs, rhs) => {
            each_closure_expr(lhs, visit);
            each_closure_expr(rhs, visit);
        }
        Expr::Unary { operand, .. } | Expr::Paren(operand) => each_closure_expr(operand, visit),
        Expr::Table { items, .. } => {
            for item in items {
                match item {
                    TableItem::Positional(v) => each_closure_expr(v, visit),
                    TableItem::Keyed(k, v) => {
                        each_closure_expr(k, visit);
                        each_closure_expr(v, visit);
                    }
                }
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VarKind {
    /// An ordinary local.
    Reg,
    /// `<const>`.
    Const,
    /// `<close>` (read-only too).
    Close,
    /// A numeric `for`'s hidden state: counted as Lua counts it, no slot.
    Hidden,
    /// A generic `for`'s hidden state: has a slot.
    HiddenSlot,
}

impl VarKind {
    fn readonly(self) -> bool {
        matches!(self, VarKind::Const | VarKind::Close)
    }
}

/// A declared local, by id (ids are per function; the tree holds ids until
/// the function is finished, then slots).
#[derive(Debug)]
struct VarInfo {
    slot: u32,
    captured: bool,
    kind: VarKind,
}

/// A declared local in scope (or about to be: declared but not yet active).
#[derive(Debug)]
struct ActVar {
    name: Bytes,
    id: u32,
}

#[derive(Debug, Clone, Copy)]
struct BlockInfo {
    /// Active locals outside the block.
    nactvar: usize,
    first_label: usize,
    first_goto: usize,
    is_loop: bool,
    /// First free slot on entry.
    free_slot: u32,
}

#[derive(Debug)]
struct LabelDesc {
    name: Bytes,
    line: u32,
    /// Provisional id (see `FuncState::label_map`).
    id: u32,
}

/// A pending goto (or `break`, named `break`).
#[derive(Debug)]
struct GotoDesc {
    name: Bytes,
    line: u32,
    nactvar: usize,
    /// Provisional id (`u32::MAX` for a `break`).
    id: u32,
}

#[derive(Debug)]
struct UpvalDesc {
    name: Bytes,
    capture: Capture,
    kind: VarKind,
}

/// The state of a function being parsed (Lua's `FuncState` and its part of
/// `Dyndata`).
#[derive(Debug)]
struct FuncState {
    linedefined: u32,
    is_vararg: bool,
    params: u32,
    /// Declared locals: `..nactvar` are active, the rest are being declared.
    actvar: Vec<ActVar>,
    nactvar: usize,
    vars: Vec<VarInfo>,
    blocks: Vec<BlockInfo>,
    free_slot: u32,
    max_slots: u32,
    upvals: Vec<UpvalDesc>,
    /// Whether Lua would have given it an `_ENV` upvalue (it counts towards
    /// the upvalue limit; the tree has globals instead).
    has_env: bool,
    /// Active labels.
    labels: Vec<LabelDesc>,
    /// Pending gotos.
    gotos: Vec<GotoDesc>,
    /// Provisional label/goto id -> final label id (labels are numbered
    /// 0, 1, ... in order of definition).
    label_map: Vec<u32>,
    nlabels: u32,
}

impl FuncState {
    fn new(linedefined: u32, is_vararg: bool) -> Self {
        FuncState {
            linedefined,
            is_vararg,
            params: 0,
            actvar: Vec::new(),
            nactvar: 0,
            vars: Vec::new(),
            blocks: Vec::new(),
            free_slot: 0,
            max_slots: 0,
            upvals: Vec::new(),
            has_env: false,
            labels: Vec::new(),
            gotos: Vec::new(),
            label_map: Vec::new(),
            nlabels: 0,
        }
    }

    fn var(&self, id: u32) -> Option<&VarInfo> {
        self.vars.get(id as usize)
    }

    fn search_var(&self, name: &[u8]) -> Option<u32> {
        self.actvar
            .iter()
            .take(self.nactvar)
            .rev()
            .find(|v| &*v.name == name)
            .map(|v| v.id)
    }

    fn search_upval(&self, name: &[u8]) -> Option<u32> {
        self.upvals
            .iter()
            .position(|u| &*u.name == name)
            .map(|i| i as u32)
    }

    fn find_label(&self, name: &[u8]) -> Option<&LabelDesc> {
        self.labels.iter().find(|l| &*l.name == name)
    }

    fn upvalue_count(&self) -> usize {
        self.upvals.len() + usize::from(self.has_env)
    }
}

/// Where a name resolves.
enum VarRef {
    /// A local of the function: its id.
    Local(u32),
    /// An upvalue of the function: its index.
    Upval(u32),
    /// Not declared anywhere.
    Global,
}

/// Binary operators as the precedence climber sees them.
#[derive(Debug, Clone, Copy)]
enum BinOpr {
    Op(BinOp),
    And,
    Or,
}

/// Priority of unary operators.
const UNARY_PRIORITY: u8 = 12;

/// A binary operator, its left and right priorities.
type OpInfo = (BinOpr, u8, u8);

/// The binary operator a token is, if it is one.
fn binary_operator(tok: &Tok) -> Option<OpInfo> {
    use BinOp::*;
    let op = |o, l, r| Some((BinOpr::Op(o), l, r));
    match tok {
        Tok::Char(b'+') => op(Add, 10, 10),
        Tok::Char(b'-') => op(Sub, 10, 10),
        Tok::Char(b'*') => op(Mul, 11, 11),
        Tok::Char(b'%') => op(Mod, 11, 11),
        Tok::Char(b'^') => op(Pow, 14, 13),
        Tok::Char(b'/') => op(Div, 11, 11),
        Tok::IDiv => op(IDiv, 11, 11),
        Tok::Char(b'&') => op(BAnd, 6, 6),
        Tok::Char(b'|') => op(BOr, 4, 4),
        Tok::Char(b'~') => op(BXor, 5, 5),
        Tok::Shl => op(Shl, 7, 7),
        Tok::Shr => op(Shr, 7, 7),
        Tok::Concat => op(Concat, 9, 8),
        Tok::Ne => op(Ne, 3, 3),
        Tok::Eq => op(Eq, 3, 3),
        Tok::Char(b'<') => op(Lt, 3, 3),
        Tok::Le => op(Le, 3, 3),
        Tok::Char(b'>') => op(Gt, 3, 3),
        Tok::Ge => op(Ge, 3, 3),
        Tok::And => Some((BinOpr::And, 2, 2)),
        Tok::Or => Some((BinOpr::Or, 1, 1)),
        _ => None,
    }
}

fn unary_operator(tok: &Tok) -> Option<UnOp> {
    match tok {
        Tok::Not => Some(UnOp::Not),
        Tok::Char(b'-') => Some(UnOp::Neg),
        Tok::Char(b'~') => Some(UnOp::BNot),
        Tok::Char(b'#') => Some(UnOp::Len),
        _ => None,
    }
}

/// An address in the caller's stack frame (for [`STACK_BUDGET`]).
#[inline(never)]
fn stack_address() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// A name for messages (Lua prints the bytes; messages are `String`s).
fn show(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

/// Whether an expression can produce several values.
fn is_multi(e: &Expr) -> bool {
    matches!(e, Expr::Call { .. } | Expr::Method { .. } | Expr::Vararg)
}

/// The place an assignable expression denotes (`None` if not assignable).
fn to_place(e: Expr) -> Option<Place> {
    match e {
        Expr::Local { slot, captured, .. } => Some(Place::Local { slot, captured }),
        Expr::Upvalue { index, .. } => Some(Place::Upvalue(index)),
        Expr::Global(name) => Some(Place::Global(name)),
        Expr::Index { obj, key, line } => Some(Place::Index {
            obj: *obj,
            key: *key,
            line,
        }),
        _ => None,
    }
}

fn set_place_line(p: &mut Place, new_line: u32) {
    if let Place::Index { line, .. } = p {
        *line = new_line;
    }
}

/// The parser state (Lua's `LexState` plus the stack of `FuncState`s).
struct Parser<'a> {
    lex: Lexer<'a>,
    /// The current token.
    tok: Token,
    /// A token read ahead (table constructors need one).
    ahead: Option<Token>,
    /// Line of the last token consumed.
    lastline: u32,
    source: Rc<str>,
    /// The function being parsed.
    cur: FuncState,
    /// The functions enclosing it, outermost (the main chunk) first.
    outer: Vec<FuncState>,
    level: u32,
    /// Stack address at the start of parsing (see [`STACK_BUDGET`]).
    stack_base: usize,
    name_env: Bytes,
    /// The main chunk has `_ENV` as upvalue 0 ([`parse_chunk_with_env`]).
    env_upvalue: bool,
    name_self: Bytes,
    name_break: Bytes,
    name_for_state: Bytes,
}

impl<'a> Parser<'a> {
    fn new(lex: Lexer<'a>, source: Rc<str>) -> Self {
        Parser {
            lex,
            tok: Token {
                tok: Tok::Char(0),
                start: 0,
                end: 0,
            },
            ahead: None,
            lastline: 1,
            source,
            cur: FuncState::new(0, true),
            outer: Vec::new(),
            level: 0,
            stack_base: stack_address(),
            name_env: Rc::from(&b"_ENV"[..]),
            env_upvalue: false,
            name_self: Rc::from(&b"self"[..]),
            name_break: Rc::from(&b"break"[..]),
            name_for_state: Rc::from(&b"(for state)"[..]),
        }
    }

    // ---------------------------------------------------------------
    // Tokens and errors

    fn line(&self) -> u32 {
        self.lex.line()
    }

    fn next(&mut self) -> PResult<()> {
        self.lastline = self.lex.line();
        self.tok = match self.ahead.take() {
            Some(t) => t,
            None => tri!(self.lex.next_token()),
        };
        Ok(())
    }

    fn lookahead(&mut self) -> PResult<&Tok> {
        if self.ahead.is_none() {
            self.ahead = Some(tri!(self.lex.next_token()));
        }
        Ok(match &self.ahead {
            Some(t) => &t.tok,
            None => &Tok::Eos,
        })
    }

    fn is_char(&self, c: u8) -> bool {
        self.tok.tok == Tok::Char(c)
    }

    /// `luaX_syntaxerror`: the message, at the current line, near the
    /// current token.
    fn syntax_error(&self, msg: &str) -> SyntaxError {
        let near = self.lex.near(&self.tok);
        self.lex.error_at(msg, near.as_deref())
    }

    /// `luaK_semerror`: the message at the current line, without `near`.
    fn sem_error(&self, msg: &str) -> SyntaxError {
        self.lex.error_at(msg, None)
    }

    fn error_expected(&self, t: &Tok) -> SyntaxError {
        self.syntax_error(&format!("{} expected", t.describe()))
    }

    fn error_limit(&self, linedefined: u32, limit: usize, what: &str) -> SyntaxError {
        let place = if linedefined == 0 {
            "main function".to_string()
        } else {
            format!("function at line {linedefined}")
        };
        self.syntax_error(&format!("too many {what} (limit is {limit}) in {place}"))
    }

    fn test_next(&mut self, t: &Tok) -> PResult<bool> {
        if self.tok.tok == *t {
            tri!(self.next());
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn test_next_char(&mut self, c: u8) -> PResult<bool> {
        self.test_next(&Tok::Char(c))
    }

    fn check(&self, t: &Tok) -> PResult<()> {
        if self.tok.tok == *t {
            Ok(())
        } else {
            Err(self.error_expected(t))
        }
    }

    fn check_next(&mut self, t: &Tok) -> PResult<()> {
        tri!(self.check(t));
        self.next()
    }

    fn check_next_char(&mut self, c: u8) -> PResult<()> {
        self.check_next(&Tok::Char(c))
    }

    /// Skips `what`, or fails saying it should close `who` of line `line`.
    fn check_match(&mut self, what: &Tok, who: &Tok, line: u32) -> PResult<()> {
        if tri!(self.test_next(what)) {
            return Ok(());
        }
        if line == self.line() {
            Err(self.error_expected(what))
        } else {
            Err(self.syntax_error(&format!(
                "{} expected (to close {} at line {})",
                what.describe(),
                who.describe(),
                line
            )))
        }
    }

    fn str_checkname(&mut self) -> PResult<Bytes> {
        if let Tok::Name(n) = &self.tok.tok {
            let n = n.clone();
            tri!(self.next());
            Ok(n)
        } else {
            Err(self.error_expected(&Tok::Name(Rc::from(&[][..]))))
        }
    }

    fn enter_level(&mut self) -> PResult<()> {
        self.level += 1;
        if self.level >= MAX_LEVELS || self.stack_base.abs_diff(stack_address()) > STACK_BUDGET {
            return Err(SyntaxError {
                message: TOO_DEEP.to_string(),
            });
        }
        Ok(())
    }

    fn leave_levels(&mut self, n: u32) {
        self.level = self.level.saturating_sub(n);
    }

    // ---------------------------------------------------------------
    // Variables, scopes, functions

    fn func_mut(&mut self, i: usize) -> &mut FuncState {
        if i < self.outer.len() {
            &mut self.outer[i]
        } else {
            &mut self.cur
        }
    }

    /// Declares a local (not active yet); returns its id.
    fn new_localvar(&mut self, name: Bytes, kind: VarKind) -> PResult<u32> {
        if self.cur.actvar.len() + 1 > MAX_VARS {
            return Err(self.error_limit(self.cur.linedefined, MAX_VARS, "local variables"));
        }
        let fs = &mut self.cur;
        let id = fs.vars.len() as u32;
        fs.vars.push(VarInfo {
            slot: 0,
            captured: false,
            kind,
        });
        fs.actvar.push(ActVar { name, id });
        Ok(id)
    }

    /// Activates the next `n` declared locals, giving them slots; returns
    /// the first slot given.
    fn adjust_local_vars(&mut self, n: usize) -> u32 {
        let fs = &mut self.cur;
        let first = fs.free_slot;
        for _ in 0..n {
            let Some(av) = fs.actvar.get(fs.nactvar) else {
                break;
            };
            let id = av.id as usize;
            fs.nactvar += 1;
            if let Some(v) = fs.vars.get_mut(id) {
                if v.kind != VarKind::Hidden {
                    v.slot = fs.free_slot;
                    fs.free_slot += 1;
                    fs.max_slots = fs.max_slots.max(fs.free_slot);
                }
            }
        }
        first
    }

    fn enter_block(&mut self, is_loop: bool) {
        let fs = &mut self.cur;
        fs.blocks.push(BlockInfo {
            nactvar: fs.nactvar,
            first_label: fs.labels.len(),
            first_goto: fs.gotos.len(),
            is_loop,
            free_slot: fs.free_slot,
        });
    }

    fn leave_block(&mut self) -> PResult<()> {
        let Some(bl) = self.cur.blocks.last().copied() else {
            return Ok(());
        };
        if bl.is_loop {
            // resolve the pending breaks
            let name = self.name_break.clone();
            tri!(self.create_label(name, 0, false, true));
        }
        let fs = &mut self.cur;
        fs.blocks.pop();
        fs.nactvar = bl.nactvar;
        fs.actvar.truncate(bl.nactvar);
        fs.free_slot = bl.free_slot;
        fs.labels.truncate(bl.first_label);
        if !fs.blocks.is_empty() {
            for g in fs.gotos.iter_mut().skip(bl.first_goto) {
                g.nactvar = bl.nactvar;
            }
            Ok(())
        } else if let Some(g) = fs.gotos.get(bl.first_goto) {
            let msg = if *g.name == *b"break" {
                format!("break outside loop at line {}", g.line)
            } else {
                format!(
                    "no visible label '{}' for <goto> at line {}",
                    show(&g.name),
                    g.line
                )
            };
            Err(self.sem_error(&msg))
        } else {
            Ok(())
        }
    }

    /// Defines a label in the current block and resolves the block's
    /// pending gotos to it; returns its provisional id.
    fn create_label(&mut self, name: Bytes, line: u32, last: bool, is_break: bool) -> PResult<u32> {
        let fs = &mut self.cur;
        let Some(bl) = fs.blocks.last().copied() else {
            return Ok(u32::MAX);
        };
        let nactvar = if last { bl.nactvar } else { fs.nactvar };
        let (id, final_id) = if is_break {
            (u32::MAX, u32::MAX)
        } else {
            let id = fs.label_map.len() as u32;
            let final_id = fs.nlabels;
            fs.nlabels = fs.nlabels.wrapping_add(1);
            fs.label_map.push(final_id);
            fs.labels.push(LabelDesc {
                name: name.clone(),
                line,
                id,
            });
            (id, final_id)
        };
        let mut i = bl.first_goto;
        while i < fs.gotos.len() {
            if fs.gotos[i].name != name {
                i += 1;
                continue;
            }
            if fs.gotos[i].nactvar < nactvar {
                let g = &fs.gotos[i];
                let var = fs
                    .actvar
                    .get(g.nactvar)
                    .map(|v| show(&v.name))
                    .unwrap_or_default();
                let msg = format!(
                    "<goto {}> at line {} jumps into the scope of local '{}'",
                    show(&g.name),
                    g.line,
                    var
                );
                return Err(self.sem_error(&msg));
            }
            let g = fs.gotos.remove(i);
            if let Some(m) = fs.label_map.get_mut(g.id as usize) {
                *m = final_id;
            }
        }
        Ok(id)
    }

    fn new_upvalue(
        &mut self,
        i: usize,
        name: Bytes,
        capture: Capture,
        kind: VarKind,
    ) -> PResult<u32> {
        let fs = self.func_mut(i);
        if fs.upvalue_count() + 1 > MAX_UPVALUES {
            let line = fs.linedefined;
            return Err(self.error_limit(line, MAX_UPVALUES, "upvalues"));
        }
        let fs = self.func_mut(i);
        fs.upvals.push(UpvalDesc {
            name,
            capture,
            kind,
        });
        Ok(fs.upvals.len() as u32 - 1)
    }

    /// Resolves `name` in function `i` (0 is the main chunk); `base` is
    /// false when the reference comes from an inner function.
    fn singlevaraux(&mut self, i: usize, name: &Bytes, base: bool) -> PResult<VarRef> {
        let fs = self.func_mut(i);
        if let Some(id) = fs.search_var(name) {
            if !base {
                if let Some(v) = fs.vars.get_mut(id as usize) {
                    v.captured = true;
                }
            }
            return Ok(VarRef::Local(id));
        }
        if let Some(idx) = fs.search_upval(name) {
            return Ok(VarRef::Upval(idx));
        }
        if i == 0 {
            return Ok(VarRef::Global);
        }
        let (capture, kind) = match tri!(self.singlevaraux(i - 1, name, false)) {
            VarRef::Local(id) => {
                let parent = self.func_mut(i - 1);
                match parent.var(id) {
                    Some(v) => (Capture::Local(v.slot), v.kind),
                    None => (Capture::Local(0), VarKind::Reg),
                }
            }
            VarRef::Upval(idx) => {
                let parent = self.func_mut(i - 1);
                let kind = parent
                    .upvals
                    .get(idx as usize)
                    .map_or(VarKind::Reg, |u| u.kind);
                (Capture::Upvalue(idx), kind)
            }
            VarRef::Global => return Ok(VarRef::Global),
        };
        let idx = tri!(self.new_upvalue(i, name.clone(), capture, kind));
        Ok(VarRef::Upval(idx))
    }

    /// Gives the functions that lack one the `_ENV` upvalue Lua would give
    /// them for a global access (it only counts towards the limit).
    fn mark_env(&mut self) -> PResult<()> {
        for i in 1..=self.outer.len() {
            let fs = self.func_mut(i);
            if fs.has_env {
                continue;
            }
            if fs.upvalue_count() + 1 > MAX_UPVALUES {
                let line = fs.linedefined;
                return Err(self.error_limit(line, MAX_UPVALUES, "upvalues"));
            }
            self.func_mut(i).has_env = true;
        }
        Ok(())
    }

    /// The expression for a (just consumed) name.
    fn singlevar(&mut self, name: Bytes) -> PResult<Expr> {
        let top = self.outer.len();
        match tri!(self.singlevaraux(top, &name, true)) {
            VarRef::Local(id) => Ok(Expr::Local {
                slot: id,
                captured: false,
                name,
            }),
            VarRef::Upval(index) => Ok(Expr::Upvalue { index, name }),
            VarRef::Global => {
                let env_name = self.name_env.clone();
                let env = if name == env_name {
                    VarRef::Global
                } else {
                    tri!(self.singlevaraux(top, &env_name, true))
                };
                let obj = match env {
                    VarRef::Global => {
                        tri!(self.mark_env());
                        return Ok(Expr::Global(name));
                    }
                    VarRef::Local(id) => Expr::Local {
                        slot: id,
                        captured: false,
                        name: env_name,
                    },
                    VarRef::Upval(index) => Expr::Upvalue {
                        index,
                        name: env_name,
                    },
                };
                Ok(Expr::Index {
                    obj: Box::new(obj),
                    key: Box::new(Expr::Str(name)),
                    line: self.line(),
                })
            }
        }
    }

    fn check_readonly(&self, e: &Expr) -> PResult<()> {
        let name = match e {
            Expr::Local { slot, name, .. } => self
                .cur
                .var(*slot)
                .is_some_and(|v| v.kind.readonly())
                .then_some(name),
            Expr::Upvalue { index, name } => self
                .cur
                .upvals
                .get(*index as usize)
                .is_some_and(|u| u.kind.readonly())
                .then_some(name),
            _ => None,
        };
        match name {
            Some(n) => Err(self.sem_error(&format!(
                "attempt to assign to const variable '{}'",
                show(n)
            ))),
            None => Ok(()),
        }
    }

    fn open_func(&mut self, line: u32) {
        let fs = FuncState::new(line, false);
        let enclosing = std::mem::replace(&mut self.cur, fs);
        self.outer.push(enclosing);
        self.enter_block(false);
    }

    /// Ends the current function: checks its gotos, resolves slots and
    /// captures in its body, and returns to the enclosing function.
    fn close_func(
        &mut self,
        name: String,
        line: u32,
        last_line: u32,
        stats: Vec<Stat>,
    ) -> PResult<Rc<Function>> {
        tri!(self.leave_block());
        let enclosing = self.outer.pop().unwrap_or_else(|| FuncState::new(0, false));
        let fs = std::mem::replace(&mut self.cur, enclosing);
        Ok(Rc::new(self.finish(fs, name, line, last_line, stats)))
    }

    fn finish(
        &self,
        fs: FuncState,
        name: String,
        line: u32,
        last_line: u32,
        stats: Vec<Stat>,
    ) -> Function {
        let mut body = Block { stats };
        let fix = Fixup {
            vars: &fs.vars,
            labels: &fs.label_map,
        };
        fix.block(&mut body);
        Function {
            name,
            source: self.source.clone(),
            line,
            last_line,
            params: fs.params,
            is_vararg: fs.is_vararg,
            slots: fs.max_slots,
            upvalues: fs.upvals.iter().map(|u| u.capture).collect(),
            upvalue_names: fs.upvals.iter().map(|u| u.name.clone()).collect(),
            has_env: fs.has_env,
            body,
        }
    }

    fn main_func(&mut self) -> PResult<Rc<Function>> {
        self.cur = FuncState::new(0, true);
        self.cur.has_env = true;
        if self.env_upvalue {
            // A real upvalue instead (its capture is filled by the loader).
            self.cur.has_env = false;
            self.cur.upvals.push(UpvalDesc {
                name: self.name_env.clone(),
                capture: Capture::Local(0),
                kind: VarKind::Reg,
            });
        }
        self.enter_block(false);
        tri!(self.next());
        let stats = tri!(self.statlist());
        tri!(self.check(&Tok::Eos));
        tri!(self.leave_block());
        let fs = std::mem::replace(&mut self.cur, FuncState::new(0, false));
        Ok(Rc::new(self.finish(
            fs,
            "main chunk".to_string(),
            0,
            0,
            stats,
        )))
    }

    // ---------------------------------------------------------------
    // Statements

    fn block_follow(&self, with_until: bool) -> bool {
        match self.tok.tok {
            Tok::Else | Tok::ElseIf | Tok::End | Tok::Eos => true,
            Tok::Until => with_until,
            _ => false,
        }
    }

    fn statlist(&mut self) -> PResult<Vec<Stat>> {
        let mut out = Vec::new();
        while !self.block_follow(true) {
            if self.tok.tok == Tok::Return {
                tri!(self.statement(&mut out));
                break; // 'return' must be the last statement
            }
            tri!(self.statement(&mut out));
        }
        Ok(out)
    }

    fn block(&mut self) -> PResult<Block> {
        self.enter_block(false);
        let stats = tri!(self.statlist());
        tri!(self.leave_block());
        Ok(Block { stats })
    }

    fn statement(&mut self, out: &mut Vec<Stat>) -> PResult<()> {
        let line = self.line();
        tri!(self.enter_level());
        let result = match self.tok.tok {
            Tok::Char(b';') => self.next(),
            Tok::If => self.ifstat(line, out),
            Tok::While => self.whilestat(line, out),
            Tok::Do => self.dostat(line, out),
            Tok::For => self.forstat(line, out),
            Tok::Repeat => self.repeatstat(line, out),
            Tok::Function => self.funcstat(line, out),
            Tok::Local => self.localstat(line, out),
            Tok::DbColon => self.labelstat(line, out),
            Tok::Return => self.retstat(line, out),
            Tok::Break => self.breakstat(line, out),
            Tok::Goto => self.gotostat(out),
            _ => self.exprstat(line, out),
        };
        self.leave_levels(1);
        result
    }

    fn dostat(&mut self, line: u32, out: &mut Vec<Stat>) -> PResult<()> {
        tri!(self.next());
        let body = tri!(self.block());
        tri!(self.check_match(&Tok::End, &Tok::Do, line));
        out.push(Stat::Do(body));
        Ok(())
    }

    fn ifstat(&mut self, line: u32, out: &mut Vec<Stat>) -> PResult<()> {
        let mut arms = Vec::new();
        loop {
            arms.push(tri!(self.test_then_block()));
            if self.tok.tok != Tok::ElseIf {
                break;
            }
        }
        let otherwise = if tri!(self.test_next(&Tok::Else)) {
            Some(tri!(self.block()))
        } else {
            None
        };
        tri!(self.check_match(&Tok::End, &Tok::If, line));
        push_if(out, arms, otherwise);
        Ok(())
    }

    /// `[if | elseif] cond then block`
    fn test_then_block(&mut self) -> PResult<(Expr, Block)> {
        tri!(self.next());
        let cond = tri!(self.expr());
        tri!(self.check_next(&Tok::Then));
        self.enter_block(false);
        let stats = tri!(self.statlist());
        tri!(self.leave_block());
        Ok((cond, Block { stats }))
    }

    fn whilestat(&mut self, line: u32, out: &mut Vec<Stat>) -> PResult<()> {
        tri!(self.next());
        let cond = tri!(self.expr());
        self.enter_block(true);
        tri!(self.check_next(&Tok::Do));
        let body = tri!(self.block());
        tri!(self.check_match(&Tok::End, &Tok::While, line));
        tri!(self.leave_block());
        push_while(out, cond, body);
        Ok(())
    }

    fn repeatstat(&mut self, line: u32, out: &mut Vec<Stat>) -> PResult<()> {
        self.enter_block(true); // loop block
        self.enter_block(false); // scope block
        tri!(self.next());
        let stats = tri!(self.statlist());
        tri!(self.check_match(&Tok::Until, &Tok::Repeat, line));
        let cond = tri!(self.expr()); // sees the body's locals
        tri!(self.leave_block());
        tri!(self.leave_block());
        push_repeat(out, stats, cond);
        Ok(())
    }

    fn forstat(&mut self, line: u32, out: &mut Vec<Stat>) -> PResult<()> {
        self.enter_block(true);
        tri!(self.next());
        let name = tri!(self.str_checkname());
        match self.tok.tok {
            Tok::Char(b'=') => tri!(self.fornum(name, line, out)),
            Tok::Char(b',') | Tok::In => tri!(self.forlist(name, line, out)),
            _ => return Err(self.syntax_error("'=' or 'in' expected")),
        }
        tri!(self.check_match(&Tok::End, &Tok::For, line));
        self.leave_block()
    }

    fn fornum(&mut self, name: Bytes, line: u32, out: &mut Vec<Stat>) -> PResult<()> {
        for _ in 0..3 {
            tri!(self.new_localvar(self.name_for_state.clone(), VarKind::Hidden));
        }
        let id = tri!(self.new_localvar(name.clone(), VarKind::Reg));
        tri!(self.check_next_char(b'='));
        let start = tri!(self.expr());
        tri!(self.check_next_char(b','));
        let limit = tri!(self.expr());
        let step = if tri!(self.test_next_char(b',')) {
            Some(tri!(self.expr()))
        } else {
            None
        };
        self.adjust_local_vars(3);
        let body = tri!(self.forbody(1));
        push_numeric_for(out, decl(name, id, false), [start, limit], step, body, line);
        Ok(())
    }

    fn forlist(&mut self, first: Bytes, line: u32, out: &mut Vec<Stat>) -> PResult<()> {
        for _ in 0..4 {
            tri!(self.new_localvar(self.name_for_state.clone(), VarKind::HiddenSlot));
        }
        let id = tri!(self.new_localvar(first.clone(), VarKind::Reg));
        let mut vars = vec![decl(first, id, false)];
        while tri!(self.test_next_char(b',')) {
            let name = tri!(self.str_checkname());
            let id = tri!(self.new_localvar(name.clone(), VarKind::Reg));
            vars.push(decl(name, id, false));
        }
        tri!(self.check_next(&Tok::In));
        let exprs = tri!(self.explist());
        let hidden = self.adjust_local_vars(4);
        let body = tri!(self.forbody(vars.len()));
        push_generic_for(out, vars, exprs, hidden, body, line);
        Ok(())
    }

    fn forbody(&mut self, nvars: usize) -> PResult<Block> {
        tri!(self.check_next(&Tok::Do));
        self.enter_block(false);
        self.adjust_local_vars(nvars);
        let body = tri!(self.block());
        tri!(self.leave_block());
        Ok(body)
    }

    fn funcstat(&mut self, line: u32, out: &mut Vec<Stat>) -> PResult<()> {
        tri!(self.next()); // 'function'
        let (target, is_method, name) = tri!(self.funcname());
        let func = tri!(self.body(is_method, line, name));
        tri!(self.check_readonly(&target));
        let Some(mut place) = to_place(target) else {
            return Err(self.syntax_error("syntax error"));
        };
        set_place_line(&mut place, line);
        push_assign(out, vec![place], vec![Expr::Function(func)], line);
        Ok(())
    }

    /// `funcname -> NAME {'.' NAME} [':' NAME]`: the target, whether it is
    /// a method, and the function's name for messages.
    fn funcname(&mut self) -> PResult<(Expr, bool, String)> {
        let first = tri!(self.str_checkname());
        let mut target = tri!(self.singlevar(first.clone()));
        let kind = match target {
            Expr::Local { .. } => "local",
            Expr::Upvalue { .. } => "upvalue",
            _ => "function",
        };
        let mut full = show(&first);
        let mut dotted = false;
        let mut method = None;
        let mut levels = 0;
        while self.is_char(b'.') || self.is_char(b':') {
            let is_method = self.is_char(b':');
            tri!(self.enter_level());
            levels += 1;
            let l = self.line();
            tri!(self.next());
            let key = tri!(self.str_checkname());
            if is_method {
                method = Some(key.clone());
            } else {
                dotted = true;
                full.push('.');
                full.push_str(&show(&key));
            }
            target = index(target, Expr::Str(key), l);
            if is_method {
                break;
            }
        }
        self.leave_levels(levels);
        let name = match &method {
            Some(m) => format!("method '{}'", show(m)),
            None if dotted => format!("function '{full}'"),
            None => format!("{kind} '{full}'"),
        };
        Ok((target, method.is_some(), name))
    }

    fn localstat(&mut self, line: u32, out: &mut Vec<Stat>) -> PResult<()> {
        tri!(self.next()); // 'local'
        if tri!(self.test_next(&Tok::Function)) {
            self.localfunc(out)
        } else {
            self.localvars(line, out)
        }
    }

    fn localfunc(&mut self, out: &mut Vec<Stat>) -> PResult<()> {
        let name = tri!(self.str_checkname());
        let id = tri!(self.new_localvar(name.clone(), VarKind::Reg));
        self.adjust_local_vars(1);
        let fname = format!("local '{}'", show(&name));
        let line = self.line();
        let func = tri!(self.body(false, line, fname));
        out.push(Stat::LocalFunction {
            decl: decl(name, id, false),
            func,
        });
        Ok(())
    }

    fn local_attribute(&mut self) -> PResult<VarKind> {
        if !tri!(self.test_next_char(b'<')) {
            return Ok(VarKind::Reg);
        }
        let attr = tri!(self.str_checkname());
        tri!(self.check_next_char(b'>'));
        match &*attr {
            b"const" => Ok(VarKind::Const),
            b"close" => Ok(VarKind::Close),
            _ => Err(self.sem_error(&format!("unknown attribute '{}'", show(&attr)))),
        }
    }

    fn localvars(&mut self, line: u32, out: &mut Vec<Stat>) -> PResult<()> {
        let mut decls = Vec::new();
        let mut has_close = false;
        loop {
            let name = tri!(self.str_checkname());
            let id = tri!(self.new_localvar(name.clone(), VarKind::Reg));
            let kind = tri!(self.local_attribute());
            if let Some(v) = self.cur.vars.get_mut(id as usize) {
                v.kind = kind;
            }
            if kind == VarKind::Close {
                if has_close {
                    return Err(self.sem_error("multiple to-be-closed variables in local list"));
                }
                has_close = true;
            }
            decls.push(decl(name, id, kind == VarKind::Close));
            if !tri!(self.test_next_char(b',')) {
                break;
            }
        }
        let exprs = if tri!(self.test_next_char(b'=')) {
            tri!(self.explist())
        } else {
            Vec::new()
        };
        self.adjust_local_vars(decls.len());
        out.push(Stat::Local { decls, exprs, line });
        Ok(())
    }

    fn labelstat(&mut self, line: u32, out: &mut Vec<Stat>) -> PResult<()> {
        tri!(self.next()); // '::'
        let name = tri!(self.str_checkname());
        tri!(self.check_next(&Tok::DbColon));
        while self.is_char(b';') || self.tok.tok == Tok::DbColon {
            tri!(self.statement(out)); // other no-op statements
        }
        if let Some(lb) = self.cur.find_label(&name) {
            let msg = format!(
                "label '{}' already defined on line {}",
                show(&name),
                lb.line
            );
            return Err(self.sem_error(&msg));
        }
        let last = self.block_follow(false);
        let id = tri!(self.create_label(name, line, last, false));
        out.push(Stat::Label { label: id });
        Ok(())
    }

    fn gotostat(&mut self, out: &mut Vec<Stat>) -> PResult<()> {
        tri!(self.next()); // 'goto'
        let line = self.line();
        let name = tri!(self.str_checkname());
        let fs = &mut self.cur;
        let label = match fs.find_label(&name) {
            Some(lb) => lb.id, // backward jump
            None => {
                let id = fs.label_map.len() as u32;
                fs.label_map.push(u32::MAX);
                fs.gotos.push(GotoDesc {
                    name,
                    line,
                    nactvar: fs.nactvar,
                    id,
                });
                id
            }
        };
        out.push(Stat::Goto { label, line });
        Ok(())
    }

    fn breakstat(&mut self, line: u32, out: &mut Vec<Stat>) -> PResult<()> {
        let fs = &mut self.cur;
        fs.gotos.push(GotoDesc {
            name: self.name_break.clone(),
            line,
            nactvar: fs.nactvar,
            id: u32::MAX,
        });
        tri!(self.next());
        out.push(Stat::Break);
        Ok(())
    }

    fn retstat(&mut self, line: u32, out: &mut Vec<Stat>) -> PResult<()> {
        tri!(self.next()); // 'return'
        let exprs = if self.block_follow(true) || self.is_char(b';') {
            Vec::new()
        } else {
            tri!(self.explist())
        };
        tri!(self.test_next_char(b';'));
        out.push(Stat::Return { exprs, line });
        Ok(())
    }

    fn exprstat(&mut self, line: u32, out: &mut Vec<Stat>) -> PResult<()> {
        let (e, assignable) = tri!(self.suffixedexp());
        if self.is_char(b'=') || self.is_char(b',') {
            return self.restassign(line, e, assignable, out);
        }
        if !matches!(e, Expr::Call { .. } | Expr::Method { .. }) {
            return Err(self.syntax_error("syntax error"));
        }
        out.push(Stat::Call(e));
        Ok(())
    }

    fn restassign(
        &mut self,
        line: u32,
        first: Expr,
        assignable: bool,
        out: &mut Vec<Stat>,
    ) -> PResult<()> {
        let mut targets = Vec::new();
        let (mut e, mut assignable) = (first, assignable);
        let mut levels = 0;
        loop {
            if !assignable {
                return Err(self.syntax_error("syntax error"));
            }
            tri!(self.check_readonly(&e));
            match to_place(e) {
                Some(p) => targets.push(p),
                None => return Err(self.syntax_error("syntax error")),
            }
            if tri!(self.test_next_char(b',')) {
                (e, assignable) = tri!(self.suffixedexp());
                tri!(self.enter_level());
                levels += 1;
            } else {
                tri!(self.check_next_char(b'='));
                break;
            }
        }
        let exprs = tri!(self.explist());
        self.leave_levels(levels);
        for t in &mut targets {
            set_place_line(t, self.lastline);
        }
        push_assign(out, targets, exprs, line);
        Ok(())
    }

    // ---------------------------------------------------------------
    // Functions and expressions

    fn body(&mut self, is_method: bool, line: u32, name: String) -> PResult<Rc<Function>> {
        self.open_func(line);
        tri!(self.check_next_char(b'('));
        if is_method {
            tri!(self.new_localvar(self.name_self.clone(), VarKind::Reg));
            self.adjust_local_vars(1);
        }
        tri!(self.parlist());
        tri!(self.check_next_char(b')'));
        let stats = tri!(self.statlist());
        let last_line = self.line();
        tri!(self.check_match(&Tok::End, &Tok::Function, line));
        self.close_func(name, line, last_line, stats)
    }

    fn parlist(&mut self) -> PResult<()> {
        let mut nparams = 0;
        let mut is_vararg = false;
        if !self.is_char(b')') {
            loop {
                match self.tok.tok {
                    Tok::Name(_) => {
                        let name = tri!(self.str_checkname());
                        tri!(self.new_localvar(name, VarKind::Reg));
                        nparams += 1;
                    }
                    Tok::Dots => {
                        tri!(self.next());
                        is_vararg = true;
                    }
                    _ => return Err(self.syntax_error("<name> or '...' expected")),
                }
                if is_vararg || !tri!(self.test_next_char(b',')) {
                    break;
                }
            }
        }
        self.adjust_local_vars(nparams);
        self.cur.params = self.cur.nactvar as u32;
        self.cur.is_vararg = is_vararg;
        Ok(())
    }

    fn explist(&mut self) -> PResult<Vec<Expr>> {
        let mut list = Vec::new();
        loop {
            list.push(tri!(self.expr()));
            if !tri!(self.test_next_char(b',')) {
                return Ok(list);
            }
        }
    }

    // The functions on the recursive paths below are kept small, with the
    // node building in helpers: unoptimized builds give every temporary its
    // own stack slot, so this keeps each nesting level's stack use low.

    fn expr(&mut self) -> PResult<Expr> {
        self.subexpr(0).map(|(e, _)| e)
    }

    /// `subexpr -> (simpleexp | unop subexpr) { binop subexpr }` for binary
    /// operators whose left priority is above `limit`; also returns the
    /// first operator not handled.
    fn subexpr(&mut self, limit: u8) -> PResult<(Expr, Option<OpInfo>)> {
        tri!(self.enter_level());
        let first = match unary_operator(&self.tok.tok) {
            Some(op) => self.unary_expr(op),
            None => self.simpleexp(),
        };
        let result = match first {
            Ok(e) => self.binary_chain(e, limit),
            Err(err) => Err(err),
        };
        self.leave_levels(1);
        result
    }

    fn unary_expr(&mut self, op: UnOp) -> PResult<Expr> {
        let line = self.line();
        tri!(self.next());
        let (operand, _) = tri!(self.subexpr(UNARY_PRIORITY));
        Ok(unary(op, operand, line))
    }

    /// The binary operators after a first operand. Each link of a chain
    /// after the first counts as a level (the tree gets one deeper).
    fn binary_chain(&mut self, first: Expr, limit: u8) -> PResult<(Expr, Option<OpInfo>)> {
        let mut e = first;
        let mut op = binary_operator(&self.tok.tok);
        let mut links: u32 = 0;
        while let Some(info) = op {
            if info.1 <= limit {
                break;
            }
            if links > 0 {
                tri!(self.enter_level());
            }
            links += 1;
            (e, op) = tri!(self.binary_step(e, info));
        }
        self.leave_levels(links.saturating_sub(1));
        Ok((e, op))
    }

    fn binary_step(&mut self, lhs: Expr, info: OpInfo) -> PResult<(Expr, Option<OpInfo>)> {
        let line = self.line();
        tri!(self.next());
        let (rhs, next) = tri!(self.subexpr(info.2));
        Ok((binary(info.0, lhs, rhs, line), next))
    }

    fn simpleexp(&mut self) -> PResult<Expr> {
        match self.tok.tok {
            Tok::Char(b'{') => self.constructor(),
            Tok::Function => self.function_expr(),
            Tok::Float(_)
            | Tok::Int(_)
            | Tok::Str(_)
            | Tok::Nil
            | Tok::True
            | Tok::False
            | Tok::Dots => self.literal(),
            _ => self.suffixedexp().map(|(e, _)| e),
        }
    }

    fn literal(&mut self) -> PResult<Expr> {
        let e = match &self.tok.tok {
            Tok::Float(f) => Expr::Float(*f),
            Tok::Int(i) => Expr::Int(*i),
            Tok::Str(s) => Expr::Str(s.clone()),
            Tok::Nil => Expr::Nil,
            Tok::True => Expr::True,
            Tok::False => Expr::False,
            _ => {
                if !self.cur.is_vararg {
                    return Err(self.syntax_error("cannot use '...' outside a vararg function"));
                }
                Expr::Vararg
            }
        };
        tri!(self.next());
        Ok(e)
    }

    fn function_expr(&mut self) -> PResult<Expr> {
        tri!(self.next());
        let line = self.line();
        let name = format!("function <{}:{}>", self.source, line);
        self.body(false, line, name).map(Expr::Function)
    }

    /// `primaryexp -> NAME | '(' expr ')'`; also says whether it can be
    /// assigned to.
    fn primaryexp(&mut self) -> PResult<(Expr, bool)> {
        match self.tok.tok {
            Tok::Char(b'(') => self.paren_expr().map(|e| (e, false)),
            Tok::Name(_) => self.name_expr().map(|e| (e, true)),
            _ => Err(self.syntax_error("unexpected symbol")),
        }
    }

    fn paren_expr(&mut self) -> PResult<Expr> {
        let line = self.line();
        tri!(self.next());
        let e = tri!(self.expr());
        tri!(self.check_match(&Tok::Char(b')'), &Tok::Char(b'('), line));
        Ok(paren(e))
    }

    fn name_expr(&mut self) -> PResult<Expr> {
        let name = tri!(self.str_checkname());
        self.singlevar(name)
    }

    /// `suffixedexp -> primaryexp { '.' NAME | '[' exp ']' | ':' NAME
    /// funcargs | funcargs }`; also says whether it can be assigned to.
    fn suffixedexp(&mut self) -> PResult<(Expr, bool)> {
        let line = self.line();
        let (e, assignable) = tri!(self.primaryexp());
        self.suffixes(e, assignable, line)
    }

    /// The suffixes after a primary expression that started on `line`. Each
    /// link of a chain after the first counts as a level.
    fn suffixes(&mut self, first: Expr, assignable: bool, line: u32) -> PResult<(Expr, bool)> {
        let (mut e, mut assignable) = (first, assignable);
        let mut links: u32 = 0;
        loop {
            let kind = match self.tok.tok {
                Tok::Char(b'.') => Suffix::Field,
                Tok::Char(b'[') => Suffix::Index,
                Tok::Char(b':') => Suffix::Method,
                Tok::Char(b'(' | b'{') | Tok::Str(_) => Suffix::Call,
                _ => break,
            };
            if links > 0 {
                tri!(self.enter_level());
            }
            links += 1;
            e = tri!(self.suffix(kind, e, line));
            assignable = matches!(kind, Suffix::Field | Suffix::Index);
        }
        self.leave_levels(links.saturating_sub(1));
        Ok((e, assignable))
    }

    fn suffix(&mut self, kind: Suffix, e: Expr, line: u32) -> PResult<Expr> {
        match kind {
            Suffix::Field => self.field_suffix(e),
            Suffix::Index => self.index_suffix(e),
            Suffix::Method => self.method_suffix(e, line),
            Suffix::Call => self.call_suffix(e, line),
        }
    }

    fn field_suffix(&mut self, obj: Expr) -> PResult<Expr> {
        let line = self.line();
        tri!(self.next());
        let key = tri!(self.str_checkname());
        Ok(index(obj, Expr::Str(key), line))
    }

    fn index_suffix(&mut self, obj: Expr) -> PResult<Expr> {
        let line = self.line();
        tri!(self.next());
        let key = tri!(self.expr());
        tri!(self.check_next_char(b']'));
        Ok(index(obj, key, line))
    }

    fn method_suffix(&mut self, obj: Expr, line: u32) -> PResult<Expr> {
        tri!(self.next());
        let name = tri!(self.str_checkname());
        let args = tri!(self.funcargs(line));
        Ok(method(obj, name, args, line))
    }

    fn call_suffix(&mut self, func: Expr, line: u32) -> PResult<Expr> {
        let args = tri!(self.funcargs(line));
        Ok(call(func, args, line))
    }

    fn funcargs(&mut self, line: u32) -> PResult<Vec<Expr>> {
        match self.tok.tok {
            Tok::Char(b'(') => self.paren_args(line),
            Tok::Char(b'{') => self.constructor().map(|t| vec![t]),
            Tok::Str(_) => self.literal().map(|s| vec![s]),
            _ => Err(self.syntax_error("function arguments expected")),
        }
    }

    fn paren_args(&mut self, line: u32) -> PResult<Vec<Expr>> {
        tri!(self.next());
        let args = if self.is_char(b')') {
            Vec::new()
        } else {
            tri!(self.explist())
        };
        tri!(self.check_match(&Tok::Char(b')'), &Tok::Char(b'('), line));
        Ok(args)
    }

    fn constructor(&mut self) -> PResult<Expr> {
        let line = self.line();
        tri!(self.check_next_char(b'{'));
        let mut items = Vec::new();
        loop {
            if self.is_char(b'}') {
                break;
            }
            items.push(tri!(self.field()));
            if !(tri!(self.test_next_char(b',')) || tri!(self.test_next_char(b';'))) {
                break;
            }
        }
        tri!(self.check_match(&Tok::Char(b'}'), &Tok::Char(b'{'), line));
        Ok(Expr::Table { items, line })
    }

    fn field(&mut self) -> PResult<TableItem> {
        let keyed = match self.tok.tok {
            Tok::Name(_) => *tri!(self.lookahead()) == Tok::Char(b'='),
            Tok::Char(b'[') => true,
            _ => false,
        };
        if keyed {
            self.recfield()
        } else {
            self.expr().map(TableItem::Positional)
        }
    }

    fn recfield(&mut self) -> PResult<TableItem> {
        let key = if let Tok::Name(_) = self.tok.tok {
            Expr::Str(tri!(self.str_checkname()))
        } else {
            tri!(self.next()); // '['
            let key = tri!(self.expr());
            tri!(self.check_next_char(b']'));
            key
        };
        tri!(self.check_next_char(b'='));
        let value = tri!(self.expr());
        Ok(TableItem::Keyed(key, value))
    }
}

fn decl(name: Bytes, id: u32, close: bool) -> LocalDecl {
    LocalDecl {
        name,
        slot: id,
        captured: false,
        close,
    }
}

// Statement builders, out of the recursive functions' frames.

fn push_if(out: &mut Vec<Stat>, arms: Vec<(Expr, Block)>, otherwise: Option<Block>) {
    out.push(Stat::If { arms, otherwise });
}

fn push_while(out: &mut Vec<Stat>, cond: Expr, body: Block) {
    out.push(Stat::While { cond, body });
}

fn push_repeat(out: &mut Vec<Stat>, stats: Vec<Stat>, cond: Expr) {
    out.push(Stat::Repeat {
        body: Block { stats },
        cond,
    });
}

fn push_numeric_for(
    out: &mut Vec<Stat>,
    var: LocalDecl,
    [start, limit]: [Expr; 2],
    step: Option<Expr>,
    body: Block,
    line: u32,
) {
    out.push(Stat::NumericFor {
        var,
        start,
        limit,
        step,
        body,
        line,
    });
}

fn push_generic_for(
    out: &mut Vec<Stat>,
    vars: Vec<LocalDecl>,
    exprs: Vec<Expr>,
    hidden: u32,
    body: Block,
    line: u32,
) {
    out.push(Stat::GenericFor {
        vars,
        exprs,
        hidden,
        body,
        line,
    });
}

fn push_assign(out: &mut Vec<Stat>, targets: Vec<Place>, exprs: Vec<Expr>, line: u32) {
    out.push(Stat::Assign {
        targets,
        exprs,
        line,
    });
}

#[derive(Clone, Copy)]
enum Suffix {
    Field,
    Index,
    Method,
    Call,
}

// Node builders, out of the recursive functions' frames.

fn unary(op: UnOp, operand: Expr, line: u32) -> Expr {
    // A negated numeric literal is a constant (as `luac` folds it): no
    // metamethod can apply to a number. Integers wrap, as Lua's do.
    match (op, &operand) {
        (UnOp::Neg, Expr::Int(i)) => return Expr::Int(i.wrapping_neg()),
        (UnOp::Neg, Expr::Float(f)) => return Expr::Float(-f),
        _ => {}
    }
    Expr::Unary {
        op,
        operand: Box::new(operand),
        line,
    }
}

fn binary(op: BinOpr, lhs: Expr, rhs: Expr, line: u32) -> Expr {
    let (lhs, rhs) = (Box::new(lhs), Box::new(rhs));
    match op {
        BinOpr::Op(op) => Expr::Binary { op, lhs, rhs, line },
        BinOpr::And => Expr::And(lhs, rhs),
        BinOpr::Or => Expr::Or(lhs, rhs),
    }
}

fn paren(e: Expr) -> Expr {
    if is_multi(&e) {
        Expr::Paren(Box::new(e))
    } else {
        e
    }
}

fn index(obj: Expr, key: Expr, line: u32) -> Expr {
    Expr::Index {
        obj: Box::new(obj),
        key: Box::new(key),
        line,
    }
}

fn method(obj: Expr, name: Bytes, args: Vec<Expr>, line: u32) -> Expr {
    Expr::Method {
        obj: Box::new(obj),
        name,
        args,
        line,
    }
}

fn call(func: Expr, args: Vec<Expr>, line: u32) -> Expr {
    Expr::Call {
        func: Box::new(func),
        args,
        line,
    }
}

/// Replaces the local ids and provisional label ids of a finished
/// function's body by slots, captured flags and final label ids.
struct Fixup<'f> {
    vars: &'f [VarInfo],
    labels: &'f [u32],
}

impl Fixup<'_> {
    fn block(&self, b: &mut Block) {
        for s in &mut b.stats {
            self.stat(s);
        }
    }

    fn var(&self, slot: &mut u32, captured: &mut bool) {
        if let Some(v) = self.vars.get(*slot as usize) {
            *slot = v.slot;
            *captured = v.captured;
        }
    }

    fn decl(&self, d: &mut LocalDecl) {
        self.var(&mut d.slot, &mut d.captured);
    }

    fn label(&self, id: &mut u32) {
        if let Some(&l) = self.labels.get(*id as usize) {
            *id = l;
        }
    }

    fn exprs(&self, es: &mut [Expr]) {
        for e in es {
            self.expr(e);
        }
    }

    fn stat(&self, s: &mut Stat) {
        match s {
            Stat::Local { decls, exprs, .. } => {
                decls.iter_mut().for_each(|d| self.decl(d));
                self.exprs(exprs);
            }
            Stat::LocalFunction { decl, .. } => self.decl(decl),
            Stat::Assign { targets, exprs, .. } => {
                for t in targets {
                    self.place(t);
                }
                self.exprs(exprs);
            }
            Stat::Call(e) => self.expr(e),
            Stat::Do(b) => self.block(b),
            Stat::While { cond, body } => {
                self.expr(cond);
                self.block(body);
            }
            Stat::Repeat { body, cond } => {
                self.block(body);
                self.expr(cond);
            }
            Stat::If { arms, otherwise } => {
                for (c, b) in arms {
                    self.expr(c);
                    self.block(b);
                }
                if let Some(b) = otherwise {
                    self.block(b);
                }
            }
            Stat::NumericFor {
                var,
                start,
                limit,
                step,
                body,
                ..
            } => {
                self.decl(var);
                self.expr(start);
                self.expr(limit);
                if let Some(s) = step {
                    self.expr(s);
                }
                self.block(body);
            }
            Stat::GenericFor {
                vars, exprs, body, ..
            } => {
                vars.iter_mut().for_each(|d| self.decl(d));
                self.exprs(exprs);
                self.block(body);
            }
            Stat::Return { exprs, .. } => self.exprs(exprs),
            Stat::Break => {}
            Stat::Goto { label, .. } | Stat::Label { label } => self.label(label),
        }
    }

    fn place(&self, p: &mut Place) {
        match p {
            Place::Local { slot, captured } => self.var(slot, captured),
            Place::Upvalue(_) | Place::Global(_) => {}
            Place::Index { obj, key, .. } => {
                self.expr(obj);
                self.expr(key);
            }
        }
    }

    fn expr(&self, e: &mut Expr) {
        match e {
            Expr::Nil
            | Expr::True
            | Expr::False
            | Expr::Int(_)
            | Expr::Float(_)
            | Expr::Str(_)
            | Expr::Vararg
            | Expr::Upvalue { .. }
            | Expr::Global(_)
            | Expr::Function(_) => {}
            Expr::Local { slot, captured, .. } => self.var(slot, captured),
            Expr::Index { obj, key, .. } => {
                self.expr(obj);
                self.expr(key);
            }
            Expr::Call { func, args, .. } => {
                self.expr(func);
                self.exprs(args);
            }
            Expr::Method { obj, args, .. } => {
                self.expr(obj);
                self.exprs(args);
            }
            Expr::Binary { lhs, rhs, .. } | Expr::And(lhs, rhs) | Expr::Or(lhs, rhs) => {
                self.expr(lhs);
                self.expr(rhs);
            }
            Expr::Unary { operand, .. } => self.expr(operand),
            Expr::Table { items, .. } => {
                for item in items {
                    match item {
                        TableItem::Positional(v) => self.expr(v),
                        TableItem::Keyed(k, v) => {
                            self.expr(k);
                            self.expr(v);
                        }
                    }
                }
            }
            Expr::Paren(inner) => self.expr(inner),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Rc<Function> {
        match parse_chunk("t.lua", src.as_bytes()) {
            Ok(f) => f,
            Err(e) => panic!("{src:?}: {}", e.message),
        }
    }

    fn err(src: &str) -> String {
        match parse_chunk("t.lua", src.as_bytes()) {
            Ok(_) => panic!("{src:?} parsed"),
            Err(e) => e.message,
        }
    }

    fn s(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    /// A compact rendering of an expression.
    fn ex(e: &Expr) -> String {
        match e {
            Expr::Nil => "nil".into(),
            Expr::True => "true".into(),
            Expr::False => "false".into(),
            Expr::Int(i) => i.to_string(),
            Expr::Float(f) => format!("{f:?}"),
            Expr::Str(b) => format!("{:?}", s(b)),
            Expr::Vararg => "...".into(),
            Expr::Local {
                slot,
                captured,
                name,
            } => format!("{}@{}{}", s(name), slot, if *captured { "*" } else { "" }),
            Expr::Upvalue { index, name } => format!("{}^{}", s(name), index),
            Expr::Global(n) => format!("G.{}", s(n)),
            Expr::Index { obj, key, .. } => format!("{}[{}]", ex(obj), ex(key)),
            Expr::Call { func, args, .. } => format!("{}({})", ex(func), exs(args)),
            Expr::Method {
                obj, name, args, ..
            } => format!("{}:{}({})", ex(obj), s(name), exs(args)),
            Expr::Function(f) => format!("<{}>", f.name),
            Expr::Binary { op, lhs, rhs, .. } => format!("({:?} {} {})", op, ex(lhs), ex(rhs)),
            Expr::Unary { op, operand, .. } => format!("({:?} {})", op, ex(operand)),
            Expr::And(a, b) => format!("(and {} {})", ex(a), ex(b)),
            Expr::Or(a, b) => format!("(or {} {})", ex(a), ex(b)),
            Expr::Table { items, .. } => {
                let items: Vec<String> = items
                    .iter()
                    .map(|i| match i {
                        TableItem::Positional(v) => ex(v),
                        TableItem::Keyed(k, v) => format!("[{}]={}", ex(k), ex(v)),
                    })
                    .collect();
                format!("{{{}}}", items.join(", "))
            }
            Expr::Paren(e) => format!("paren({})", ex(e)),
        }
    }

    fn exs(es: &[Expr]) -> String {
        es.iter().map(ex).collect::<Vec<_>>().join(", ")
    }

    fn pl(p: &Place) -> String {
        match p {
            Place::Local { slot, captured } => {
                format!("@{}{}", slot, if *captured { "*" } else { "" })
            }
            Place::Upvalue(i) => format!("^{i}"),
            Place::Global(n) => format!("G.{}", s(n)),
            Place::Index { obj, key, .. } => format!("{}[{}]", ex(obj), ex(key)),
        }
    }

    fn dl(d: &LocalDecl) -> String {
        format!(
            "{}@{}{}{}",
            s(&d.name),
            d.slot,
            if d.captured { "*" } else { "" },
            if d.close { "!" } else { "" }
        )
    }

    /// A compact rendering of a statement (bodies included).
    fn st(x: &Stat) -> String {
        let blk = |b: &Block| b.stats.iter().map(st).collect::<Vec<_>>().join("; ");
        match x {
            Stat::Local { decls, exprs, .. } => format!(
                "local {} = {}",
                decls.iter().map(dl).collect::<Vec<_>>().join(", "),
                exs(exprs)
            ),
            Stat::LocalFunction { decl, func } => {
                format!("local function {} {}", dl(decl), func.name)
            }
            Stat::Assign { targets, exprs, .. } => format!(
                "{} = {}",
                targets.iter().map(pl).collect::<Vec<_>>().join(", "),
                exs(exprs)
            ),
            Stat::Call(e) => ex(e),
            Stat::Do(b) => format!("do {} end", blk(b)),
            Stat::While { cond, body } => format!("while {} do {} end", ex(cond), blk(body)),
            Stat::Repeat { body, cond } => format!("repeat {} until {}", blk(body), ex(cond)),
            Stat::If { arms, otherwise } => {
                let mut out = String::new();
                for (i, (c, b)) in arms.iter().enumerate() {
                    out += &format!(
                        "{} {} then {} ",
                        if i == 0 { "if" } else { "elseif" },
                        ex(c),
                        blk(b)
                    );
                }
                if let Some(b) = otherwise {
                    out += &format!("else {} ", blk(b));
                }
                out + "end"
            }
            Stat::NumericFor {
                var,
                start,
                limit,
                step,
                body,
                ..
            } => format!(
                "for {} = {}, {}, {} do {} end",
                dl(var),
                ex(start),
                ex(limit),
                step.as_ref().map_or("-".into(), ex),
                blk(body)
            ),
            Stat::GenericFor {
                vars,
                exprs,
                hidden,
                body,
                ..
            } => format!(
                "for[{}] {} in {} do {} end",
                hidden,
                vars.iter().map(dl).collect::<Vec<_>>().join(", "),
                exs(exprs),
                blk(body)
            ),
            Stat::Return { exprs, .. } => format!("return {}", exs(exprs)),
            Stat::Break => "break".into(),
            Stat::Goto { label, .. } => format!("goto {label}"),
            Stat::Label { label } => format!("::{label}::"),
        }
    }

    fn body(f: &Function) -> String {
        f.body.stats.iter().map(st).collect::<Vec<_>>().join("; ")
    }

    fn code(src: &str) -> String {
        body(&parse(src))
    }

    /// The expression of `return EXPR`.
    fn e(src: &str) -> String {
        let f = parse(&format!("return {src}"));
        match &f.body.stats[..] {
            [Stat::Return { exprs, .. }] if exprs.len() == 1 => ex(&exprs[0]),
            _ => panic!("{src}"),
        }
    }

    /// The `n`th function nested in the statements (depth first).
    fn functions(f: &Rc<Function>) -> Vec<Rc<Function>> {
        fn walk_e(e: &Expr, out: &mut Vec<Rc<Function>>) {
            match e {
                Expr::Function(f) => {
                    out.push(f.clone());
                    for st in &f.body.stats {
                        walk_s(st, out);
                    }
                }
                Expr::Index { obj, key, .. } => {
                    walk_e(obj, out);
                    walk_e(key, out);
                }
                Expr::Call { func, args, .. } => {
                    walk_e(func, out);
                    args.iter().for_each(|a| walk_e(a, out));
                }
                Expr::Method { obj, args, .. } => {
                    walk_e(obj, out);
                    args.iter().for_each(|a| walk_e(a, out));
                }
                Expr::Binary { lhs, rhs, .. } | Expr::And(lhs, rhs) | Expr::Or(lhs, rhs) => {
                    walk_e(lhs, out);
                    walk_e(rhs, out);
                }
                Expr::Unary { operand, .. } | Expr::Paren(operand) => walk_e(operand, out),
                Expr::Table { items, .. } => {
                    for i in items {
                        match i {
                            TableItem::Positional(v) => walk_e(v, out),
                            TableItem::Keyed(k, v) => {
                                walk_e(k, out);
                                walk_e(v, out);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        fn walk_b(b: &Block, out: &mut Vec<Rc<Function>>) {
            b.stats.iter().for_each(|s| walk_s(s, out));
        }
        fn walk_s(x: &Stat, out: &mut Vec<Rc<Function>>) {
            match x {
                Stat::Local { exprs, .. } | Stat::Return { exprs, .. } => {
                    exprs.iter().for_each(|e| walk_e(e, out))
                }
                Stat::LocalFunction { func, .. } => {
                    out.push(func.clone());
                    walk_b(&func.body, out);
                }
                Stat::Assign { exprs, .. } => exprs.iter().for_each(|e| walk_e(e, out)),
                Stat::Call(e) => walk_e(e, out),
                Stat::Do(b) => walk_b(b, out),
                Stat::While { cond, body } | Stat::Repeat { body, cond } => {
                    walk_e(cond, out);
                    walk_b(body, out);
                }
                Stat::If { arms, otherwise } => {
                    for (c, b) in arms {
                        walk_e(c, out);
                        walk_b(b, out);
                    }
                    if let Some(b) = otherwise {
                        walk_b(b, out);
                    }
                }
                Stat::NumericFor { body, .. } => walk_b(body, out),
                Stat::GenericFor { exprs, body, .. } => {
                    exprs.iter().for_each(|e| walk_e(e, out));
                    walk_b(body, out);
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk_b(&f.body, &mut out);
        out
    }

    #[test]
    fn precedence() {
        assert_eq!(e("1 + 2 * 3"), "(Add 1 (Mul 2 3))");
        assert_eq!(e("1 - 2 - 3"), "(Sub (Sub 1 2) 3)");
        assert_eq!(e("(1 - 2) * 3"), "(Mul (Sub 1 2) 3)");
        assert_eq!(e("-x^2"), "(Neg (Pow G.x 2))");
        // A negated literal is folded into a constant.
        assert_eq!(e("2^-3"), "(Pow 2 -3)");
        assert_eq!(e("2^-x"), "(Pow 2 (Neg G.x))");
        assert_eq!(e("2^3^2"), "(Pow 2 (Pow 3 2))");
        assert_eq!(e("-2^-2"), "(Neg (Pow 2 -2))");
        assert_eq!(e("a .. b .. c"), "(Concat G.a (Concat G.b G.c))");
        assert_eq!(e("a or b and c"), "(or G.a (and G.b G.c))");
        assert_eq!(e("a and b or c"), "(or (and G.a G.b) G.c)");
        assert_eq!(e("a < b == c"), "(Eq (Lt G.a G.b) G.c)");
        assert_eq!(e("not a == b"), "(Eq (Not G.a) G.b)");
        assert_eq!(e("#t + 1"), "(Add (Len G.t) 1)");
        assert_eq!(e("~x ~ y"), "(BXor (BNot G.x) G.y)");
        assert_eq!(
            e("a // b % c * d / e"),
            "(Div (Mul (Mod (IDiv G.a G.b) G.c) G.d) G.e)"
        );
        assert_eq!(
            e("a | b ~ c & d << e .. f + g * h ^ i"),
            "(BOr G.a (BXor G.b (BAnd G.c (Shl G.d (Concat G.e (Add G.f (Mul G.g (Pow G.h G.i))))))))"
        );
        assert_eq!(e("1 << 2 >> 3"), "(Shr (Shl 1 2) 3)");
        assert_eq!(e("a .. b == c"), "(Eq (Concat G.a G.b) G.c)");
        assert_eq!(e("1 + 2 .. 3"), "(Concat (Add 1 2) 3)");
        assert_eq!(
            e("a <= b ~= c >= d > e"),
            "(Gt (Ge (Ne (Le G.a G.b) G.c) G.d) G.e)"
        );
        assert_eq!(e("- - x"), "(Neg (Neg G.x))");
        assert_eq!(e("not not x"), "(Not (Not G.x))");
        assert_eq!(e("-x .. y"), "(Concat (Neg G.x) G.y)");
        assert_eq!(e("2 ^ x .. y"), "(Concat (Pow 2 G.x) G.y)");
    }

    #[test]
    fn primary_and_suffixes() {
        assert_eq!(e("a.b.c"), "G.a[\"b\"][\"c\"]");
        assert_eq!(e("a[1][x]"), "G.a[1][G.x]");
        assert_eq!(e("f(1, 2)(3)"), "G.f(1, 2)(3)");
        assert_eq!(e("o:m(1):n()"), "G.o:m(1):n()");
        assert_eq!(e("f\"s\""), "G.f(\"s\")");
        assert_eq!(e("f[[long]]"), "G.f(\"long\")");
        assert_eq!(e("f{1, x = 2}"), "G.f({1, [\"x\"]=2})");
        assert_eq!(e("o:m'x'"), "G.o:m(\"x\")");
        assert_eq!(e("(f())"), "paren(G.f())");
        assert_eq!(e("(...)"), "paren(...)");
        assert_eq!(e("(a)"), "G.a");
        assert_eq!(e("(a).b"), "G.a[\"b\"]");
        assert_eq!(e("{f(), ...}"), "{G.f(), ...}");
        assert_eq!(e("{[1] = 2; 3, x = y,}"), "{[1]=2, 3, [\"x\"]=G.y}");
        assert_eq!(e("{x}"), "{G.x}");
        assert_eq!(e("{x == 1}"), "{(Eq G.x 1)}");
        assert_eq!(e("{}"), "{}");
        assert_eq!(e("1.5"), "1.5");
        assert_eq!(e("'a\\n'"), "\"a\\n\"");
        // a '(' on a new line continues the call
        assert_eq!(code("f\n(g)\n(h)"), "G.f(G.g)(G.h)");
        assert_eq!(code("local x = f\n(1)"), "local x@0 = G.f(1)");
    }

    #[test]
    fn statements() {
        assert_eq!(code("x = 1; y, z = 2"), "G.x = 1; G.y, G.z = 2");
        assert_eq!(code("a.b, a[1] = f()"), "G.a[\"b\"], G.a[1] = G.f()");
        assert_eq!(code("f() o:m()"), "G.f(); G.o:m()");
        assert_eq!(code(";;do ; end;"), "do  end");
        assert_eq!(code("while x do break end"), "while G.x do break end");
        assert_eq!(
            code("repeat local a until a"),
            "repeat local a@0 =  until a@0"
        );
        assert_eq!(
            code("if a then x() elseif b then y() else z() end"),
            "if G.a then G.x() elseif G.b then G.y() else G.z() end"
        );
        assert_eq!(code("if a then end"), "if G.a then  end");
        assert_eq!(code("return"), "return ");
        assert_eq!(code("return;"), "return ");
        assert_eq!(code("return 1, 2;"), "return 1, 2");
        assert_eq!(code("do return end x = 1"), "do return  end; G.x = 1");
        assert_eq!(
            code("for i = 1, 10 do local y = i end"),
            "for i@0 = 1, 10, - do local y@1 = i@0 end"
        );
        assert_eq!(
            code("for i = 1, 10, 2 do end"),
            "for i@0 = 1, 10, 2 do  end"
        );
        assert_eq!(
            code("for k, v in pairs(t) do local z = k end"),
            "for[0] k@4, v@5 in G.pairs(G.t) do local z@6 = k@4 end"
        );
        assert_eq!(
            code("local a <const>, b <close> = 1, 2"),
            "local a@0, b@1! = 1, 2"
        );
    }

    #[test]
    fn function_statements() {
        let f = parse("function a.b.c:m(x, ...) return self, x end");
        let st0 = &f.body.stats[0];
        assert_eq!(st(st0), "G.a[\"b\"][\"c\"][\"m\"] = <method 'm'>");
        let m = &functions(&f)[0];
        assert_eq!(m.params, 2);
        assert!(m.is_vararg);
        assert_eq!(m.slots, 2);
        assert_eq!(body(m), "return self@0, x@1");
        assert_eq!(m.line, 1);
        assert_eq!(m.source.as_ref(), "t.lua");
        let names = |src: &str| -> Vec<String> {
            functions(&parse(src))
                .iter()
                .map(|f| f.name.clone())
                .collect()
        };
        assert_eq!(names("function f() end"), vec!["function 'f'"]);
        assert_eq!(names("function t.a.b() end"), vec!["function 't.a.b'"]);
        assert_eq!(names("function obj:m() end"), vec!["method 'm'"]);
        assert_eq!(names("local function f() end"), vec!["local 'f'"]);
        assert_eq!(names("local f; function f() end"), vec!["local 'f'"]);
        assert_eq!(
            names("local f; function g() function f() end end"),
            vec!["function 'g'", "upvalue 'f'"]
        );
        assert_eq!(
            names("x = function() end\n\nlocal y = {function()\nend}"),
            vec!["function <t.lua:1>", "function <t.lua:3>"]
        );
        let f = parse("\nlocal function f(a, b)\n\nend");
        let g = &functions(&f)[0];
        assert_eq!(
            (g.line, g.last_line, g.params, g.is_vararg),
            (2, 4, 2, false)
        );
        let main = parse("return ...");
        assert_eq!(main.name, "main chunk");
        assert!(main.is_vararg);
        assert_eq!((main.line, main.params, main.slots), (0, 0, 0));
        assert!(main.upvalues.is_empty());
    }

    #[test]
    fn slots_and_scopes() {
        let f = parse("local a, b = 1, 2 do local c end do local d, e end local f");
        assert_eq!(
            body(&f),
            "local a@0, b@1 = 1, 2; do local c@2 =  end; do local d@2, e@3 =  end; local f@2 = "
        );
        assert_eq!(f.slots, 4);
        // shadowing: a new slot, the old local stays in its own
        assert_eq!(
            code("local x = 1 local x = x"),
            "local x@0 = 1; local x@1 = x@0"
        );
        // `local x = x`: the new x is not visible in its initializer
        assert_eq!(code("local x = x"), "local x@0 = G.x");
        // `local function`: visible in its own body
        let f = parse("local function f() return f end");
        assert_eq!(body(&f), "local function f@0* local 'f'");
        let inner = &functions(&f)[0];
        assert_eq!(inner.upvalues, vec![Capture::Local(0)]);
        assert_eq!(body(inner), "return f^0");
        // the generic for's hidden slots are 4 consecutive ones
        let f = parse("local a for k in x do end local b for i = 1, 2 do local c end");
        assert_eq!(
            body(&f),
            "local a@0 = ; for[1] k@5 in G.x do  end; local b@1 = ; for i@2 = 1, 2, - do local c@3 =  end"
        );
        assert_eq!(f.slots, 6);
    }

    #[test]
    fn captures() {
        // every reference agrees on `captured`, even the ones before the
        // capturing function
        let f = parse("local x = 1 print(x) x = 2 local f = function() x = x + 1 end return x");
        assert_eq!(
            body(&f),
            "local x@0* = 1; G.print(x@0*); @0* = 2; local f@1 = <function <t.lua:1>>; return x@0*"
        );
        let inner = &functions(&f)[0];
        assert_eq!(inner.upvalues, vec![Capture::Local(0)]);
        assert_eq!(inner.upvalue_names, vec![Rc::from(&b"x"[..])]);
        assert_eq!(body(inner), "^0 = (Add x^0 1)");
        // not captured
        assert_eq!(
            code("local y = 1 y = y + 1"),
            "local y@0 = 1; @0 = (Add y@0 1)"
        );
        // loop variables captured by closures
        let f = parse("for i = 1, 3 do local j = i fs[i] = function() return i + j end end");
        assert_eq!(
            body(&f),
            "for i@0* = 1, 3, - do local j@1* = i@0*; G.fs[i@0*] = <function <t.lua:1>> end"
        );
        // sibling scopes reusing a slot: only the captured one is marked
        let f = parse("do local a = 1 end do local b = 2 g = function() return b end end");
        assert_eq!(
            body(&f),
            "do local a@0 = 1 end; do local b@0* = 2; G.g = <function <t.lua:1>> end"
        );
    }

    #[test]
    fn upvalue_chains() {
        let f = parse(
            "local a, b = 1, 2
             local function f()
               local c = 3
               return function() return a, c, b, a end
             end",
        );
        let fs = functions(&f);
        let (outer, inner) = (&fs[0], &fs[1]);
        assert_eq!(
            body(&f),
            "local a@0*, b@1* = 1, 2; local function f@2 local 'f'"
        );
        // outer gets a (for the inner one), then b; c is its own local
        assert_eq!(outer.upvalues, vec![Capture::Local(0), Capture::Local(1)]);
        assert_eq!(body(outer), "local c@0* = 3; return <function <t.lua:4>>");
        assert_eq!(
            inner.upvalues,
            vec![Capture::Upvalue(0), Capture::Local(0), Capture::Upvalue(1)]
        );
        let names: Vec<String> = inner.upvalue_names.iter().map(|n| s(n)).collect();
        assert_eq!(names, vec!["a", "c", "b"]);
        assert_eq!(body(inner), "return a^0, c^1, b^2, a^0");
        // a global stays global at any depth
        let f = parse("local function f() return function() return g end end");
        let fs = functions(&f);
        assert_eq!(body(&fs[1]), "return G.g");
        assert!(fs[0].upvalues.is_empty() && fs[1].upvalues.is_empty());
        // parameters are locals too
        let f = parse("function f(p) return function() p = 1 end end");
        let fs = functions(&f);
        assert_eq!(fs[1].upvalues, vec![Capture::Local(0)]);
        assert_eq!(body(&fs[1]), "^0 = 1");
    }

    #[test]
    fn parameters_captured() {
        let f = parse("function f(a, b, c) local d = function() return c, a end return b end");
        let g = &functions(&f)[0];
        assert_eq!(captured_params(g), vec![true, false, true]);
        assert_eq!(captured_params(&functions(&f)[1]), Vec::<bool>::new());
        let f = parse("function t:m(x) if x then return {function() return self end} end end");
        assert_eq!(captured_params(&functions(&f)[0]), vec![true, false]);
        let f =
            parse("local function f(p) return function() return function() return p end end end");
        let fs = functions(&f);
        assert_eq!(captured_params(&fs[0]), vec![true]);
        assert_eq!(body(&fs[0]), "return <function <t.lua:1>>");
    }

    #[test]
    fn env() {
        assert_eq!(code("x = y"), "G.x = G.y");
        assert_eq!(code("return _ENV"), "return G._ENV");
        assert_eq!(
            code("local _ENV = {} x = y"),
            "local _ENV@0 = {}; _ENV@0[\"x\"] = _ENV@0[\"y\"]"
        );
        let f = parse("local _ENV = t function f() return x end");
        let inner = &functions(&f)[0];
        assert_eq!(body(inner), "return _ENV^0[\"x\"]");
        assert_eq!(inner.upvalues, vec![Capture::Local(0)]);
    }

    #[test]
    fn gotos_and_labels() {
        assert_eq!(code("goto a ::a::"), "goto 0; ::0::");
        assert_eq!(code("::top:: goto top"), "::0::; goto 0");
        assert_eq!(
            code("::a:: do goto b end ::b:: goto a"),
            "::0::; do goto 1 end; ::1::; goto 0"
        );
        // the continue idiom: a label at the end of the block may follow locals
        assert_eq!(
            code("for i = 1, 3 do if i then goto continue end local x ::continue:: end"),
            "for i@0 = 1, 3, - do if i@0 then goto 0 end; local x@1 = ; ::0:: end"
        );
        // same label name in sibling blocks
        assert_eq!(
            code("do goto l ::l:: end do goto l ::l:: end"),
            "do goto 0; ::0:: end; do goto 1; ::1:: end"
        );
        // nested functions have their own labels
        let f = parse("::a:: function f() goto a ::a:: end");
        assert_eq!(body(&functions(&f)[0]), "goto 0; ::0::");
        assert_eq!(
            err("goto a local x ::a:: print(x)"),
            "t.lua:1: <goto a> at line 1 jumps into the scope of local 'x'"
        );
        assert_eq!(
            err("repeat goto cont local x ::cont:: until x"),
            "t.lua:1: <goto cont> at line 1 jumps into the scope of local 'x'"
        );
        assert_eq!(
            err("goto nowhere"),
            "t.lua:1: no visible label 'nowhere' for <goto> at line 1"
        );
        assert_eq!(
            err("do ::a:: end goto a"),
            "t.lua:1: no visible label 'a' for <goto> at line 1"
        );
        assert_eq!(
            err("::a:: ::a::"),
            "t.lua:1: label 'a' already defined on line 1"
        );
        assert_eq!(
            err("::a:: do ::a:: end"),
            "t.lua:1: label 'a' already defined on line 1"
        );
        assert_eq!(err("break"), "t.lua:1: break outside loop at line 1");
        assert_eq!(
            err("function f()\n break\nend\n"),
            "t.lua:4: break outside loop at line 2"
        );
    }

    #[test]
    fn errors() {
        assert_eq!(err("x = = 1"), "t.lua:1: unexpected symbol near '='");
        assert_eq!(
            err("local x = 1 +"),
            "t.lua:1: unexpected symbol near <eof>"
        );
        assert_eq!(err("x"), "t.lua:1: syntax error near <eof>");
        assert_eq!(err("(a) = 1"), "t.lua:1: syntax error near '='");
        assert_eq!(err("f() = 1"), "t.lua:1: syntax error near '='");
        assert_eq!(err("local 1"), "t.lua:1: <name> expected near '1'");
        assert_eq!(
            err("local function f(a,) end"),
            "t.lua:1: <name> or '...' expected near ')'"
        );
        assert_eq!(
            err("function f()\n  x = 1\n"),
            "t.lua:3: 'end' expected (to close 'function' at line 1) near <eof>"
        );
        assert_eq!(err("f(1"), "t.lua:1: ')' expected near <eof>");
        assert_eq!(
            err("f(1\n"),
            "t.lua:2: ')' expected (to close '(' at line 1) near <eof>"
        );
        assert_eq!(err("return 1 x = 2"), "t.lua:1: <eof> expected near 'x'");
        assert_eq!(
            err("for i do end"),
            "t.lua:1: '=' or 'in' expected near 'do'"
        );
        assert!(parse_chunk("t", b"x = ...").is_ok());
        assert!(parse_chunk("t", b"function f(...) return ... end").is_ok());
        assert_eq!(
            err("function f() return ... end"),
            "t.lua:1: cannot use '...' outside a vararg function near '...'"
        );
        assert_eq!(
            err("a:b"),
            "t.lua:1: function arguments expected near <eof>"
        );
        assert_eq!(err("local x <foo> = 1"), "t.lua:1: unknown attribute 'foo'");
        assert_eq!(
            err("local x <close>, y <close> = 1"),
            "t.lua:1: multiple to-be-closed variables in local list"
        );
        assert_eq!(
            err("local x <const> = 1; x = 2"),
            "t.lua:1: attempt to assign to const variable 'x'"
        );
        assert_eq!(
            err("local x <close> = nil\nfunction f() x = 1 end"),
            "t.lua:2: attempt to assign to const variable 'x'"
        );
        assert_eq!(
            err("local x <const> = 1\nfunction x() end"),
            "t.lua:2: attempt to assign to const variable 'x'"
        );
        assert_eq!(err("x = 1 @"), "t.lua:1: unexpected symbol near '@'");
        assert_eq!(err("x = \u{1}"), "t.lua:1: unexpected symbol near '<\\1>'");
        assert_eq!(err("x = \0"), "t.lua:1: unexpected symbol");
        assert_eq!(err("x = 3x"), "t.lua:1: malformed number near '3x'");
        assert_eq!(err("x = 'abc"), "t.lua:1: unfinished string near <eof>");
        assert_eq!(
            err("if x then\nelse\nelse end"),
            "t.lua:3: 'end' expected (to close 'if' at line 1) near 'else'"
        );
        assert_eq!(err("{x y}"), "t.lua:1: unexpected symbol near '{'");
        assert_eq!(err("t = {x y}"), "t.lua:1: '}' expected near 'y'");
        assert_eq!(
            err("local t <const> = 1 t.x = 2 t = 3"),
            "t.lua:1: attempt to assign to const variable 't'"
        );
    }

    #[test]
    fn limits() {
        let locals: String = (0..200).map(|i| format!("local v{i} ")).collect();
        assert!(parse_chunk("t.lua", locals.as_bytes()).is_ok());
        let locals: String = (0..201).map(|i| format!("local v{i} ")).collect();
        assert_eq!(
            err(&locals),
            "t.lua:1: too many local variables (limit is 200) in main function near <eof>"
        );
        let mut src = String::from("local function f()\n");
        src += &(0..201)
            .map(|i| format!("local v{i}\n"))
            .collect::<String>();
        src += "end";
        assert_eq!(
            err(&src),
            "t.lua:203: too many local variables (limit is 200) in function at line 1 near 'end'"
        );
        // upvalues: 255 at most
        let decls: String = (0..256)
            .map(|i| format!("local v{i} = {i}\n"))
            .collect::<String>();
        let mut ok = String::from("local t = {}\n");
        ok += &decls.lines().take(150).collect::<Vec<_>>().join("\n");
        ok += "\nfunction f() return ";
        ok += &(0..150)
            .map(|i| format!("v{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        ok += " end";
        assert!(parse_chunk("t.lua", ok.as_bytes()).is_ok());
    }

    #[test]
    fn deep_nesting() {
        // 200 levels of each kind of nesting are fine
        let n = 200;
        for src in [
            format!("x = {}1{}", "(".repeat(n), ")".repeat(n)),
            format!("x = {}1{}", "f(".repeat(n), ")".repeat(n)),
            format!("x = {}1{}", "{".repeat(n), "}".repeat(n)),
            format!("{}{}", "do ".repeat(n), " end".repeat(n)),
            format!("{}{}", "while x do ".repeat(n), " end".repeat(n)),
            format!("{}{}", "local function f() ".repeat(n), " end".repeat(n)),
            format!("x = {}1", "- ".repeat(n)),
            format!("x = 1{}", " .. 1".repeat(n)),
            format!("x = a{}", ".b".repeat(n)),
            format!("x = 1{}", " + 1".repeat(n)),
        ] {
            let run = std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || parse_chunk("t.lua", src.as_bytes()).map(|_| ()))
                .unwrap();
            assert_eq!(run.join().unwrap(), Ok(()));
        }
        // much deeper fails cleanly
        let n = 100_000;
        for src in [
            format!("x = {}1{}", "(".repeat(n), ")".repeat(n)),
            format!("x = {}", "{".repeat(n)),
            "do ".repeat(n),
            format!("x = {}1", "- ".repeat(n)),
            format!("x = 1{}", " ^ 1".repeat(n)),
            format!("x = a{}", ".b".repeat(n)),
            format!("x = a{}", "()".repeat(n)),
            format!("x = 1{}", " + 1".repeat(n)),
            format!("{} = 1", vec!["a"; n].join(",")),
            format!("function a{}() end", ".b".repeat(n)),
            format!("x = {}", "function() return ".repeat(n)),
        ] {
            let run = std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || parse_chunk("t.lua", src.as_bytes()).map(|_| ()))
                .unwrap();
            let err = run.join().unwrap().unwrap_err();
            assert_eq!(err.message, "C stack overflow");
        }
    }
}
