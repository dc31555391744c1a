//! Name resolution and type checking: untyped AST in, [`Program`] out.

use super::ast::{self, BinOp, ExprKind, Item, Pos, StmtKind, TypeAst};
use super::ir::*;
use super::Diag;
use std::collections::HashMap;
use std::sync::Arc as Rc;

/// Names of the built-in functions (no Toy function may take one).
pub const BUILTINS: &[&str] = &[
    "print",
    "write",
    "str",
    "fmt",
    "len",
    "float",
    "int",
    "sqrt",
    "abs",
    "floor",
    "min",
    "max",
    "byte",
    "chr",
    "substr",
    "parse_int",
    "args",
    "clock",
    "write_bytes",
    "join",
    "gc",
];

struct Sig {
    params: Vec<Ty>,
    ret: Ty,
}

struct Checker<'a> {
    diags: &'a mut Vec<Diag>,
    structs: Vec<StructDef>,
    struct_ix: HashMap<String, usize>,
    globals: Vec<GlobalDef>,
    global_ix: HashMap<String, usize>,
    /// Every global's declaration line, known before any initializer is checked.
    global_lines: HashMap<String, u32>,
    sigs: Vec<Sig>,
    func_ix: HashMap<String, usize>,
    // per function
    locals: Vec<Ty>,
    scopes: Vec<Vec<(String, usize)>>,
    ret: Ty,
    loops: u32,
}

/// The display name of a type.
pub fn ty_name(structs: &[StructDef], t: &Ty) -> String {
    match t {
        Ty::Int => "int".into(),
        Ty::Float => "float".into(),
        Ty::Bool => "bool".into(),
        Ty::Str => "str".into(),
        Ty::Thread => "thread".into(),
        Ty::Array(e) => format!("[{}]", ty_name(structs, e)),
        Ty::Struct(i) => structs.get(*i).map_or("?".into(), |s| s.name.clone()),
        Ty::Null => "null".into(),
        Ty::Void => "nothing".into(),
    }
}

/// Checks `items`; returns the program if there were no errors.
pub fn check(file: &str, items: &[Item], diags: &mut Vec<Diag>) -> Option<Program> {
    let before = diags.len();
    let mut c = Checker {
        diags,
        structs: Vec::new(),
        struct_ix: HashMap::new(),
        globals: Vec::new(),
        global_ix: HashMap::new(),
        global_lines: HashMap::new(),
        sigs: Vec::new(),
        func_ix: HashMap::new(),
        locals: Vec::new(),
        scopes: Vec::new(),
        ret: Ty::Void,
        loops: 0,
    };
    // Pass 1: names of structs, globals and functions.
    let mut top: HashMap<String, Pos> = HashMap::new();
    let mut fn_items = Vec::new();
    for it in items {
        let (name, pos) = match it {
            Item::Struct { name, pos, .. }
            | Item::Global { name, pos, .. }
            | Item::Fn { name, pos, .. } => (name, *pos),
        };
        if let Some(prev) = top.get(name) {
            c.err(
                pos,
                format!("'{name}' is already declared (at line {})", prev.line),
            );
            continue;
        }
        top.insert(name.clone(), pos);
        match it {
            Item::Struct { name, .. } => {
                c.struct_ix.insert(name.clone(), c.structs.len());
                c.structs.push(StructDef {
                    name: name.clone(),
                    fields: Vec::new(),
                });
            }
            Item::Fn { name, pos, .. } => {
                if BUILTINS.contains(&name.as_str()) {
                    c.err(
                        *pos,
                        format!("'{name}' is a built-in function and cannot be redefined"),
                    );
                }
                c.func_ix.insert(name.clone(), fn_items.len());
                fn_items.push(it);
            }
            Item::Global { name, pos, .. } => {
                c.global_lines.insert(name.clone(), pos.line);
            }
        }
    }
    // Pass 2: struct fields and function signatures.
    for it in items {
        if let Item::Struct { name, fields, .. } = it {
            let Some(&si) = c.struct_ix.get(name) else {
                continue;
            };
            if !c.structs[si].fields.is_empty() {
                continue;
            }
            let mut seen: HashMap<&str, ()> = HashMap::new();
            let mut fs = Vec::new();
            for (f, t, p) in fields {
                if seen.insert(f, ()).is_some() {
                    c.err(*p, format!("duplicate field '{f}' in struct '{name}'"));
                }
                let ty = c.resolve(t, *p);
                fs.push((f.clone(), ty));
            }
            c.structs[si].fields = fs;
        }
    }
    for it in &fn_items {
        if let Item::Fn {
            params, ret, pos, ..
        } = it
        {
            let ps = params.iter().map(|(_, t, p)| c.resolve(t, *p)).collect();
            let r = ret.as_ref().map_or(Ty::Void, |t| c.resolve(t, *pos));
            c.sigs.push(Sig { params: ps, ret: r });
        }
    }
    // Pass 3: globals, in file order (each sees the globals declared before it
    // and every function).
    for it in items {
        if let Item::Global {
            name,
            pos,
            ty,
            init,
        } = it
        {
            if c.global_ix.contains_key(name)
                || c.func_ix.contains_key(name)
                || c.struct_ix.contains_key(name)
            {
                // duplicate already reported
                if top.get(name).is_some_and(|p| p != pos) {
                    continue;
                }
            }
            c.begin_fn(Ty::Void);
            let declared = ty.as_ref().map(|t| c.resolve(t, *pos));
            let init_e = init.as_ref().map(|e| c.expr(e));
            let gty = match (declared, &init_e) {
                (Some(t), Some(e)) => {
                    c.expect_assignable(&t, e, "global initializer");
                    t
                }
                (Some(t), None) => t,
                (None, Some(e)) => {
                    if e.ty == Ty::Null {
                        c.err(
                            *pos,
                            format!("cannot infer the type of global '{name}' from null"),
                        );
                    }
                    e.ty.clone()
                }
                (None, None) => {
                    c.err(
                        *pos,
                        format!("global '{name}' needs a type or an initializer"),
                    );
                    Ty::Int
                }
            };
            if !c.locals.is_empty() {
                c.err(*pos, "a global initializer cannot declare variables".into());
            }
            c.global_ix.insert(name.clone(), c.globals.len());
            c.globals.push(GlobalDef {
                name: name.clone(),
                ty: gty,
                init: init_e,
                line: pos.line,
            });
        }
    }
    // Pass 4: function bodies.
    let mut funcs = Vec::new();
    for (fi, it) in fn_items.iter().enumerate() {
        let Item::Fn {
            name,
            pos,
            params,
            body,
            ..
        } = it
        else {
            continue;
        };
        let ret = c.sigs[fi].ret.clone();
        c.begin_fn(ret.clone());
        for (i, (p, _, ppos)) in params.iter().enumerate() {
            let t = c.sigs[fi].params[i].clone();
            if c.scopes[0].iter().any(|(n, _)| n == p) {
                c.err(*ppos, format!("duplicate parameter '{p}'"));
            }
            c.declare(p, t);
        }
        let b = c.block(body);
        if ret != Ty::Void && !returns(&b) {
            c.err(
                *pos,
                format!(
                    "function '{name}' must return a value of type {} on every path",
                    c.tn(&ret)
                ),
            );
        }
        funcs.push(FuncDef {
            name: name.clone(),
            nparams: params.len(),
            locals: std::mem::take(&mut c.locals),
            ret,
            body: b,
            line: pos.line,
        });
    }
    let main = match c.func_ix.get("main") {
        Some(&m) => {
            let (nparams, ret) = (c.sigs[m].params.len(), c.sigs[m].ret.clone());
            let p = match fn_items[m] {
                Item::Fn { pos, .. } => *pos,
                _ => Pos::default(),
            };
            if nparams != 0 {
                c.err(p, "'main' must not take parameters".into());
            }
            if ret != Ty::Void && ret != Ty::Int {
                c.err(p, "'main' must return nothing or int".into());
            }
            m
        }
        // After a syntax error, `main` may be the item that did not parse:
        // saying it is missing would be a follow-on error.
        None if before > 0 => 0,
        None => {
            c.err(Pos { line: 1, col: 1 }, "no 'main' function".into());
            0
        }
    };
    if c.diags.len() > before {
        return None;
    }
    Some(Program {
        file: file.to_string(),
        structs: c.structs,
        globals: c.globals,
        funcs,
        main,
    })
}

/// Whether a statement list never completes normally (returns or throws on every
/// path).
fn returns(stmts: &[Stmt]) -> bool {
    stmts.iter().any(stmt_returns)
}

fn stmt_returns(s: &Stmt) -> bool {
    match &s.kind {
        SK::Return(_) | SK::Throw(_) => true,
        SK::If(_, a, b) => returns(a) && returns(b),
        SK::Block(b) | SK::Sync(_, _, b) => returns(b),
        SK::Try(a, _, b) => returns(a) && returns(b),
        SK::While(c, body) => matches!(c.kind, EK::Bool(true)) && !breaks(body),
        _ => false,
    }
}

/// Whether a loop body contains a `break` that targets this loop.
fn breaks(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|s| match &s.kind {
        SK::Break => true,
        SK::If(_, a, b) | SK::Try(a, _, b) => breaks(a) || breaks(b),
        SK::Block(b) | SK::Sync(_, _, b) => breaks(b),
        _ => false,
    })
}

fn line(p: Pos) -> u32 {
    p.line
}

impl Checker<'_> {
    fn err(&mut self, p: Pos, msg: String) {
        self.diags.push(Diag::new(p.line, p.col, &msg));
    }

    fn tn(&self, t: &Ty) -> String {
        ty_name(&self.structs, t)
    }

    fn resolve(&mut self, t: &TypeAst, _p: Pos) -> Ty {
        match t {
            TypeAst::Int => Ty::Int,
            TypeAst::Float => Ty::Float,
            TypeAst::Bool => Ty::Bool,
            TypeAst::Str => Ty::Str,
            TypeAst::Thread => Ty::Thread,
            TypeAst::Array(e) => Ty::Array(Rc::new(self.resolve(e, _p))),
            TypeAst::Named(n, np) => match self.struct_ix.get(n) {
                Some(&i) => Ty::Struct(i),
                None => {
                    self.err(*np, format!("unknown type '{n}'"));
                    Ty::Int
                }
            },
        }
    }

    fn begin_fn(&mut self, ret: Ty) {
        self.locals.clear();
        self.scopes = vec![Vec::new()];
        self.ret = ret;
        self.loops = 0;
    }

    fn declare(&mut self, name: &str, t: Ty) -> usize {
        let slot = self.locals.len();
        self.locals.push(t);
        self.scopes
            .last_mut()
            .expect("scope")
            .push((name.to_string(), slot));
        slot
    }

    fn hidden(&mut self, t: Ty) -> usize {
        self.locals.push(t);
        self.locals.len() - 1
    }

    fn lookup(&self, name: &str) -> Option<usize> {
        self.scopes
            .iter()
            .rev()
            .find_map(|s| s.iter().rev().find(|(n, _)| n == name).map(|(_, i)| *i))
    }

    fn assignable(to: &Ty, from: &Ty) -> bool {
        to == from || (*from == Ty::Null && to.is_ref())
    }

    fn expect_assignable(&mut self, to: &Ty, e: &Expr, what: &str) -> bool {
        if Self::assignable(to, &e.ty) || e.ty == Ty::Void && *to == Ty::Void {
            return true;
        }
        // An erroneous expression was reported where it is: no follow-on error.
        if !Self::is_bad(e) {
            let msg = format!(
                "type mismatch in {what}: expected {}, found {}",
                self.tn(to),
                self.tn(&e.ty)
            );
            self.diags.push(Diag::new(e.line, 0, &msg));
        }
        false
    }

    fn block(&mut self, stmts: &[ast::Stmt]) -> Vec<Stmt> {
        self.scopes.push(Vec::new());
        let out = stmts.iter().filter_map(|s| self.stmt(s)).collect();
        self.scopes.pop();
        out
    }

    fn cond(&mut self, e: &ast::Expr) -> Expr {
        let c = self.expr(e);
        if c.ty != Ty::Bool {
            let t = self.tn(&c.ty);
            self.err(e.pos, format!("condition must be bool, found {t}"));
        }
        c
    }

    fn stmt(&mut self, s: &ast::Stmt) -> Option<Stmt> {
        let ln = line(s.pos);
        let kind = match &s.kind {
            StmtKind::Let(name, ty, init) => {
                let declared = ty.as_ref().map(|t| self.resolve(t, s.pos));
                let init = init.as_ref().map(|e| self.expr(e));
                let t = match (declared, &init) {
                    (Some(t), Some(e)) => {
                        if !Self::assignable(&t, &e.ty) {
                            let msg = format!(
                                "type mismatch: cannot initialize {} with {}",
                                self.tn(&t),
                                self.tn(&e.ty)
                            );
                            self.err(s.pos, msg);
                        }
                        t
                    }
                    (Some(t), None) => t,
                    (None, Some(e)) => {
                        if e.ty == Ty::Null {
                            self.err(
                                s.pos,
                                format!("cannot infer the type of '{name}' from null; add a type"),
                            );
                            Ty::Str
                        } else if e.ty == Ty::Void {
                            if matches!(e.kind, EK::Call(..) | EK::Builtin(..)) {
                                self.err(s.pos, format!("'{name}' cannot be initialized with a call that returns nothing"));
                            }
                            Ty::Void
                        } else {
                            e.ty.clone()
                        }
                    }
                    (None, None) => {
                        self.err(s.pos, format!("'{name}' needs a type or an initializer"));
                        Ty::Int
                    }
                };
                // The initializer is checked before the name comes into scope.
                let slot = self.declare(name, t);
                SK::Let(slot, init)
            }
            StmtKind::Assign(place, value) => {
                let (p, t) = self.place(place)?;
                let v = self.expr(value);
                if !Self::assignable(&t, &v.ty) && t != Ty::Void && v.ty != Ty::Void {
                    let msg = format!(
                        "type mismatch: cannot assign {} to {}",
                        self.tn(&v.ty),
                        self.tn(&t)
                    );
                    self.err(value.pos, msg);
                }
                SK::Assign(p, v)
            }
            StmtKind::Compound(op, place, value) => {
                let (p, t) = self.place(place)?;
                let v = self.expr(value);
                let top = match (op, &t, &v.ty) {
                    (BinOp::Add, Ty::Int, Ty::Int) => Op::IAdd,
                    (BinOp::Sub, Ty::Int, Ty::Int) => Op::ISub,
                    (BinOp::Mul, Ty::Int, Ty::Int) => Op::IMul,
                    (BinOp::Div, Ty::Int, Ty::Int) => Op::IDiv,
                    (BinOp::Add, Ty::Float, Ty::Float) => Op::FAdd,
                    (BinOp::Sub, Ty::Float, Ty::Float) => Op::FSub,
                    (BinOp::Mul, Ty::Float, Ty::Float) => Op::FMul,
                    (BinOp::Div, Ty::Float, Ty::Float) => Op::FDiv,
                    (BinOp::Add, Ty::Str, Ty::Str) => Op::Concat,
                    _ => {
                        let msg = format!(
                            "operator {}= cannot be applied to {} and {}",
                            binop_text(*op),
                            self.tn(&t),
                            self.tn(&v.ty)
                        );
                        self.err(s.pos, msg);
                        return None;
                    }
                };
                SK::Compound(p, top, v)
            }
            StmtKind::Expr(e) => {
                if !matches!(e.kind, ExprKind::Call(..) | ExprKind::Spawn(..)) {
                    // Allowed, but only calls have an effect; accept any expression.
                }
                SK::Expr(self.expr(e))
            }
            StmtKind::If(c, a, b) => {
                let c = self.cond(c);
                let a = self.block(a);
                let b = b.as_ref().map(|b| self.block(b)).unwrap_or_default();
                SK::If(c, a, b)
            }
            StmtKind::While(c, body) => {
                let c = self.cond(c);
                self.loops += 1;
                let b = self.block(body);
                self.loops -= 1;
                SK::While(c, b)
            }
            StmtKind::For(v, a, b, body) => {
                let start = self.expr(a);
                let end = self.expr(b);
                for (e, src) in [(&start, a), (&end, b)] {
                    if e.ty != Ty::Int {
                        let t = self.tn(&e.ty);
                        self.err(src.pos, format!("range bound must be int, found {t}"));
                    }
                }
                self.scopes.push(Vec::new());
                let end_slot = self.hidden(Ty::Int);
                let var = self.declare(v, Ty::Int);
                self.loops += 1;
                let body = self.block(body);
                self.loops -= 1;
                self.scopes.pop();
                SK::For {
                    var,
                    end_slot,
                    start,
                    end,
                    body,
                }
            }
            StmtKind::Break | StmtKind::Continue => {
                if self.loops == 0 {
                    let w = if matches!(s.kind, StmtKind::Break) {
                        "break"
                    } else {
                        "continue"
                    };
                    self.err(s.pos, format!("'{w}' outside of a loop"));
                }
                if matches!(s.kind, StmtKind::Break) {
                    SK::Break
                } else {
                    SK::Continue
                }
            }
            StmtKind::Return(e) => {
                let e = e.as_ref().map(|e| self.expr(e));
                let ret = self.ret.clone();
                match (&e, &ret) {
                    (None, Ty::Void) => {}
                    (None, t) => {
                        let t = self.tn(t);
                        self.err(s.pos, format!("missing return value of type {t}"));
                    }
                    (Some(_), Ty::Void) => {
                        self.err(s.pos, "this function does not return a value".into())
                    }
                    (Some(v), t) => {
                        if !Self::assignable(t, &v.ty) {
                            let msg = format!(
                                "type mismatch: returning {} from a function of type {}",
                                self.tn(&v.ty),
                                self.tn(t)
                            );
                            self.err(s.pos, msg);
                        }
                    }
                }
                SK::Return(e)
            }
            StmtKind::Throw(e) => {
                let v = self.expr(e);
                if !Self::assignable(&Ty::Str, &v.ty) {
                    let t = self.tn(&v.ty);
                    self.err(e.pos, format!("throw needs a str, found {t}"));
                }
                SK::Throw(v)
            }
            StmtKind::Try(body, var, _vpos, handler) => {
                let b = self.block(body);
                self.scopes.push(Vec::new());
                let slot = self.declare(var, Ty::Str);
                let h = self.block(handler);
                self.scopes.pop();
                SK::Try(b, slot, h)
            }
            StmtKind::Sync(e, body) => {
                let o = self.expr(e);
                if !o.ty.is_ref() {
                    let t = self.tn(&o.ty);
                    self.err(e.pos, format!("sync needs a reference, found {t}"));
                }
                let slot = self.hidden(if o.ty == Ty::Null {
                    Ty::Str
                } else {
                    o.ty.clone()
                });
                let b = self.block(body);
                SK::Sync(o, slot, b)
            }
            StmtKind::Block(b) => SK::Block(self.block(b)),
        };
        Some(Stmt { kind, line: ln })
    }

    fn place(&mut self, e: &ast::Expr) -> Option<(Place, Ty)> {
        match &e.kind {
            ExprKind::Var(n) => {
                if let Some(l) = self.lookup(n) {
                    return Some((Place::Local(l), self.locals[l].clone()));
                }
                if let Some(&g) = self.global_ix.get(n) {
                    return Some((Place::Global(g), self.globals[g].ty.clone()));
                }
                self.err(e.pos, format!("undefined variable '{n}'"));
                None
            }
            ExprKind::Field(..) => {
                let x = self.expr(e);
                match x.kind {
                    EK::Field(o, s, f) => Some((Place::Field(*o, s, f), x.ty)),
                    _ => None,
                }
            }
            ExprKind::Index(..) => {
                let x = self.expr(e);
                match x.kind {
                    EK::Index(a, i) => Some((Place::Index(*a, *i), x.ty)),
                    _ => None,
                }
            }
            _ => {
                self.err(e.pos, "cannot assign to this expression".into());
                None
            }
        }
    }

    fn mk(kind: EK, ty: Ty, p: Pos) -> Expr {
        Expr {
            kind,
            ty,
            line: p.line,
        }
    }

    /// Whether `e` is [`Checker::bad`]'s (an `Int` is never typed `Void` otherwise).
    fn is_bad(e: &Expr) -> bool {
        e.ty == Ty::Void && matches!(e.kind, EK::Int(_))
    }

    fn bad(p: Pos) -> Expr {
        // An erroneous expression: typed as Void so that it produces no cascade
        // of mismatch errors (assignable() rejects it silently).
        Expr {
            kind: EK::Int(0),
            ty: Ty::Void,
            line: p.line,
        }
    }

    fn expr(&mut self, e: &ast::Expr) -> Expr {
        let p = e.pos;
        match &e.kind {
            ExprKind::Int(v) => Self::mk(EK::Int(*v), Ty::Int, p),
            ExprKind::Float(v) => Self::mk(EK::Float(*v), Ty::Float, p),
            ExprKind::Str(s) => Self::mk(EK::Str(Rc::from(s.as_slice())), Ty::Str, p),
            ExprKind::Bool(b) => Self::mk(EK::Bool(*b), Ty::Bool, p),
            ExprKind::Null => Self::mk(EK::Null, Ty::Null, p),
            ExprKind::Var(n) => {
                if let Some(l) = self.lookup(n) {
                    return Self::mk(EK::Local(l), self.locals[l].clone(), p);
                }
                if let Some(&g) = self.global_ix.get(n) {
                    return Self::mk(EK::Global(g), self.globals[g].ty.clone(), p);
                }
                match self.global_lines.get(n) {
                    // Only a global initializer gets here: function bodies are
                    // checked once every global is.
                    Some(line) => self.err(
                        p,
                        format!(
                            "global '{n}' is used before it is initialized: globals are \
                             initialized in file order, and '{n}' is declared at line {line}"
                        ),
                    ),
                    None => self.err(p, format!("undefined variable '{n}'")),
                }
                Self::bad(p)
            }
            ExprKind::Neg(x) => {
                let v = self.expr(x);
                match v.ty {
                    Ty::Int => Self::mk(EK::INeg(Box::new(v)), Ty::Int, p),
                    Ty::Float => Self::mk(EK::FNeg(Box::new(v)), Ty::Float, p),
                    Ty::Void => Self::bad(p),
                    _ => {
                        let t = self.tn(&v.ty);
                        self.err(p, format!("operator - cannot be applied to {t}"));
                        Self::bad(p)
                    }
                }
            }
            ExprKind::Not(x) => {
                let v = self.expr(x);
                if v.ty != Ty::Bool {
                    if v.ty != Ty::Void {
                        let t = self.tn(&v.ty);
                        self.err(p, format!("operator ! cannot be applied to {t}"));
                    }
                    return Self::bad(p);
                }
                Self::mk(EK::Not(Box::new(v)), Ty::Bool, p)
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b, p),
            ExprKind::Call(name, args) => self.call(name, args, p),
            ExprKind::Spawn(name, args) => {
                let Some(&f) = self.func_ix.get(name) else {
                    self.err(p, format!("undefined function '{name}'"));
                    return Self::bad(p);
                };
                let args = self.args_for(f, name, args, p);
                let r = self.sigs[f].ret.clone();
                if r != Ty::Int && r != Ty::Void {
                    let t = self.tn(&r);
                    self.err(
                        p,
                        format!("spawned function '{name}' must return int or nothing, not {t}"),
                    );
                }
                Self::mk(EK::Spawn(f, args), Ty::Thread, p)
            }
            ExprKind::Field(o, f) => {
                let ov = self.expr(o);
                match &ov.ty {
                    Ty::Struct(si) => {
                        let si = *si;
                        match self.structs[si].fields.iter().position(|(n, _)| n == f) {
                            Some(fi) => {
                                let t = self.structs[si].fields[fi].1.clone();
                                Self::mk(EK::Field(Box::new(ov), si, fi), t, p)
                            }
                            None => {
                                let sn = self.structs[si].name.clone();
                                self.err(p, format!("struct '{sn}' has no field '{f}'"));
                                Self::bad(p)
                            }
                        }
                    }
                    Ty::Void => Self::bad(p),
                    t => {
                        let t = self.tn(t);
                        self.err(p, format!("field access on a value of type {t}"));
                        Self::bad(p)
                    }
                }
            }
            ExprKind::Index(a, i) => {
                let av = self.expr(a);
                let iv = self.expr(i);
                if iv.ty != Ty::Int && iv.ty != Ty::Void {
                    let t = self.tn(&iv.ty);
                    self.err(i.pos, format!("array index must be int, found {t}"));
                }
                match &av.ty {
                    Ty::Array(el) => {
                        let t = (**el).clone();
                        Self::mk(EK::Index(Box::new(av), Box::new(iv)), t, p)
                    }
                    Ty::Void => Self::bad(p),
                    t => {
                        let t = self.tn(t);
                        self.err(p, format!("indexing a value of type {t}"));
                        Self::bad(p)
                    }
                }
            }
            ExprKind::StructLit(name, fields) => {
                let Some(&si) = self.struct_ix.get(name) else {
                    self.err(p, format!("unknown struct '{name}'"));
                    for (_, _, e) in fields {
                        self.expr(e);
                    }
                    return Self::bad(p);
                };
                let mut seen = vec![false; self.structs[si].fields.len()];
                let mut out = Vec::new();
                for (f, fpos, fe) in fields {
                    let v = self.expr(fe);
                    match self.structs[si].fields.iter().position(|(n, _)| n == f) {
                        Some(fi) => {
                            if seen[fi] {
                                self.err(*fpos, format!("field '{f}' given twice"));
                            }
                            seen[fi] = true;
                            let ft = self.structs[si].fields[fi].1.clone();
                            if !Self::assignable(&ft, &v.ty) && v.ty != Ty::Void {
                                let msg = format!(
                                    "type mismatch for field '{f}': expected {}, found {}",
                                    self.tn(&ft),
                                    self.tn(&v.ty)
                                );
                                self.err(fe.pos, msg);
                            }
                            out.push((fi, v));
                        }
                        None => self.err(*fpos, format!("struct '{name}' has no field '{f}'")),
                    }
                }
                let missing: Vec<String> = self.structs[si]
                    .fields
                    .iter()
                    .zip(&seen)
                    .filter(|(_, s)| !**s)
                    .map(|((n, _), _)| format!("'{n}'"))
                    .collect();
                if !missing.is_empty() {
                    self.err(
                        p,
                        format!(
                            "missing field {} in '{name}' constructor",
                            missing.join(", ")
                        ),
                    );
                }
                Self::mk(EK::NewStruct(si, out), Ty::Struct(si), p)
            }
            ExprKind::NewArray(t, n) => {
                let et = self.resolve(t, p);
                let nv = self.expr(n);
                if nv.ty != Ty::Int && nv.ty != Ty::Void {
                    let t = self.tn(&nv.ty);
                    self.err(n.pos, format!("array size must be int, found {t}"));
                }
                Self::mk(
                    EK::NewArray(et.clone(), Box::new(nv)),
                    Ty::Array(Rc::new(et)),
                    p,
                )
            }
            ExprKind::ArrayLit(elems) => {
                let vs: Vec<Expr> = elems.iter().map(|e| self.expr(e)).collect();
                let Some(et) = vs.iter().map(|v| v.ty.clone()).find(|t| *t != Ty::Null) else {
                    self.err(
                        p,
                        "cannot infer the element type of this array literal".into(),
                    );
                    return Self::bad(p);
                };
                if et == Ty::Void {
                    return Self::bad(p);
                }
                for (v, src) in vs.iter().zip(elems) {
                    if !Self::assignable(&et, &v.ty) && v.ty != Ty::Void {
                        let msg = format!(
                            "array elements must all have type {}, found {}",
                            self.tn(&et),
                            self.tn(&v.ty)
                        );
                        self.err(src.pos, msg);
                    }
                }
                Self::mk(EK::ArrayLit(et.clone(), vs), Ty::Array(Rc::new(et)), p)
            }
        }
    }

    fn binary(&mut self, op: BinOp, a: &ast::Expr, b: &ast::Expr, p: Pos) -> Expr {
        let x = self.expr(a);
        let y = self.expr(b);
        if x.ty == Ty::Void || y.ty == Ty::Void {
            return Self::bad(p);
        }
        use BinOp as B;
        use Ty as T;
        let (o, t) = match (op, &x.ty, &y.ty) {
            (B::And, T::Bool, T::Bool) => {
                return Self::mk(EK::And(Box::new(x), Box::new(y)), T::Bool, p)
            }
            (B::Or, T::Bool, T::Bool) => {
                return Self::mk(EK::Or(Box::new(x), Box::new(y)), T::Bool, p)
            }
            (B::Add, T::Int, T::Int) => (Op::IAdd, T::Int),
            (B::Sub, T::Int, T::Int) => (Op::ISub, T::Int),
            (B::Mul, T::Int, T::Int) => (Op::IMul, T::Int),
            (B::Div, T::Int, T::Int) => (Op::IDiv, T::Int),
            (B::Rem, T::Int, T::Int) => (Op::IRem, T::Int),
            (B::Shl, T::Int, T::Int) => (Op::IShl, T::Int),
            (B::Shr, T::Int, T::Int) => (Op::IShr, T::Int),
            (B::BitAnd, T::Int, T::Int) => (Op::IAnd, T::Int),
            (B::BitOr, T::Int, T::Int) => (Op::IOr, T::Int),
            (B::BitXor, T::Int, T::Int) => (Op::IXor, T::Int),
            (B::Add, T::Float, T::Float) => (Op::FAdd, T::Float),
            (B::Sub, T::Float, T::Float) => (Op::FSub, T::Float),
            (B::Mul, T::Float, T::Float) => (Op::FMul, T::Float),
            (B::Div, T::Float, T::Float) => (Op::FDiv, T::Float),
            (B::Add, T::Str, T::Str) => (Op::Concat, T::Str),
            (B::Lt, T::Int, T::Int) => (Op::ILt, T::Bool),
            (B::Le, T::Int, T::Int) => (Op::ILe, T::Bool),
            (B::Gt, T::Int, T::Int) => (Op::IGt, T::Bool),
            (B::Ge, T::Int, T::Int) => (Op::IGe, T::Bool),
            (B::Lt, T::Float, T::Float) => (Op::FLt, T::Bool),
            (B::Le, T::Float, T::Float) => (Op::FLe, T::Bool),
            (B::Gt, T::Float, T::Float) => (Op::FGt, T::Bool),
            (B::Ge, T::Float, T::Float) => (Op::FGe, T::Bool),
            (B::Eq | B::Ne, l, r) => {
                let eq = op == B::Eq;
                let o = match (l, r) {
                    (T::Int, T::Int) => Some(if eq { Op::IEq } else { Op::INe }),
                    (T::Float, T::Float) => Some(if eq { Op::FEq } else { Op::FNe }),
                    (T::Bool, T::Bool) => Some(if eq { Op::BEq } else { Op::BNe }),
                    (T::Str, T::Str) => Some(if eq { Op::SEq } else { Op::SNe }),
                    (l, r)
                        if l.is_ref()
                            && r.is_ref()
                            && (l == r || *l == T::Null || *r == T::Null) =>
                    {
                        Some(if eq { Op::REq } else { Op::RNe })
                    }
                    _ => None,
                };
                match o {
                    Some(o) => (o, T::Bool),
                    None => return self.op_error(op, &x.ty, &y.ty, p),
                }
            }
            _ => return self.op_error(op, &x.ty, &y.ty, p),
        };
        Self::mk(EK::Bin(o, Box::new(x), Box::new(y)), t, p)
    }

    fn op_error(&mut self, op: BinOp, l: &Ty, r: &Ty, p: Pos) -> Expr {
        let msg = format!(
            "operator {} cannot be applied to {} and {}",
            binop_text(op),
            self.tn(l),
            self.tn(r)
        );
        self.err(p, msg);
        Self::bad(p)
    }

    fn args_for(&mut self, f: usize, name: &str, args: &[ast::Expr], p: Pos) -> Vec<Expr> {
        let vs: Vec<Expr> = args.iter().map(|a| self.expr(a)).collect();
        let ps = self.sigs[f].params.clone();
        if ps.len() != vs.len() {
            self.err(
                p,
                format!(
                    "'{name}' takes {} argument(s), {} given",
                    ps.len(),
                    vs.len()
                ),
            );
            return vs;
        }
        for (i, (v, t)) in vs.iter().zip(&ps).enumerate() {
            if !Self::assignable(t, &v.ty) && v.ty != Ty::Void {
                let msg = format!(
                    "argument {} of '{name}': expected {}, found {}",
                    i + 1,
                    self.tn(t),
                    self.tn(&v.ty)
                );
                self.err(args[i].pos, msg);
            }
        }
        vs
    }

    fn call(&mut self, name: &str, args: &[ast::Expr], p: Pos) -> Expr {
        if let Some(&f) = self.func_ix.get(name) {
            let vs = self.args_for(f, name, args, p);
            let r = self.sigs[f].ret.clone();
            return Self::mk(EK::Call(f, vs), r, p);
        }
        if !BUILTINS.contains(&name) {
            self.err(p, format!("undefined function '{name}'"));
            for a in args {
                self.expr(a);
            }
            return Self::bad(p);
        }
        let vs: Vec<Expr> = args.iter().map(|a| self.expr(a)).collect();
        if vs.iter().any(|v| v.ty == Ty::Void) {
            return Self::bad(p);
        }
        let tys: Vec<Ty> = vs.iter().map(|v| v.ty.clone()).collect();
        use Builtin as Bi;
        use Ty as T;
        let arr = |t: &Ty| matches!(t, T::Array(_) | T::Null);
        let r: Option<(Bi, Ty)> = match (name, tys.as_slice()) {
            ("print", [t]) => Some((Bi::Print(t.clone()), T::Void)),
            ("write", [t]) => Some((Bi::Write(t.clone()), T::Void)),
            ("str", [t @ (T::Int | T::Float | T::Bool | T::Str | T::Null)]) => {
                Some((Bi::ToStr(t.clone()), T::Str))
            }
            ("fmt", [T::Float, T::Int]) => Some((Bi::Fmt, T::Str)),
            ("len", [T::Str]) => Some((Bi::LenStr, T::Int)),
            ("len", [t]) if arr(t) => Some((Bi::LenArray, T::Int)),
            ("float", [T::Int]) => Some((Bi::ToFloat, T::Float)),
            ("int", [T::Float]) => Some((Bi::ToInt, T::Int)),
            ("sqrt", [T::Float]) => Some((Bi::Sqrt, T::Float)),
            ("abs", [T::Int]) => Some((Bi::AbsInt, T::Int)),
            ("abs", [T::Float]) => Some((Bi::AbsFloat, T::Float)),
            ("floor", [T::Float]) => Some((Bi::Floor, T::Float)),
            ("min", [T::Int, T::Int]) => Some((Bi::MinInt, T::Int)),
            ("min", [T::Float, T::Float]) => Some((Bi::MinFloat, T::Float)),
            ("max", [T::Int, T::Int]) => Some((Bi::MaxInt, T::Int)),
            ("max", [T::Float, T::Float]) => Some((Bi::MaxFloat, T::Float)),
            ("byte", [T::Str | T::Null, T::Int]) => Some((Bi::Byte, T::Int)),
            ("chr", [T::Int]) => Some((Bi::Chr, T::Str)),
            ("substr", [T::Str | T::Null, T::Int, T::Int]) => Some((Bi::Substr, T::Str)),
            ("parse_int", [T::Str | T::Null]) => Some((Bi::ParseInt, T::Int)),
            ("args", []) => Some((Bi::Args, T::Array(Rc::new(T::Str)))),
            ("clock", []) => Some((Bi::Clock, T::Float)),
            ("write_bytes", [T::Str | T::Null, a])
                if *a == T::Array(Rc::new(T::Int)) || *a == T::Null =>
            {
                Some((Bi::WriteBytes, T::Int))
            }
            ("join", [T::Thread | T::Null]) => Some((Bi::Join, T::Int)),
            ("gc", []) => Some((Bi::Gc, T::Void)),
            _ => None,
        };
        match r {
            Some((b, t)) => Self::mk(EK::Builtin(b, vs), t, p),
            None => {
                let ts: Vec<String> = tys.iter().map(|t| self.tn(t)).collect();
                self.err(p, format!("no built-in '{name}' takes ({})", ts.join(", ")));
                Self::bad(p)
            }
        }
    }
}

fn binop_text(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Rem => "%",
        BinOp::Shl => "<<",
        BinOp::Shr => ">>",
        BinOp::BitAnd => "&",
        BinOp::BitOr => "|",
        BinOp::BitXor => "^",
        BinOp::Eq => "==",
        BinOp::Ne => "!=",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        BinOp::And => "&&",
        BinOp::Or => "||",
    }
}
