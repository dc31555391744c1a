//! The checked, typed and resolved program that both engines run.

use std::sync::Arc as Rc;

/// A Toy type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ty {
    /// `int`
    Int,
    /// `float`
    Float,
    /// `bool`
    Bool,
    /// `str`
    Str,
    /// `thread`
    Thread,
    /// `[T]`
    Array(Rc<Ty>),
    /// a struct, by index into [`Program::structs`]
    Struct(usize),
    /// the type of `null` before it meets a reference type
    Null,
    /// no value (functions without a result)
    Void,
}

impl Ty {
    /// Whether values of this type are heap references.
    pub fn is_ref(&self) -> bool {
        matches!(
            self,
            Ty::Str | Ty::Thread | Ty::Array(_) | Ty::Struct(_) | Ty::Null
        )
    }
}

/// Typed binary operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// int +
    IAdd,
    /// int -
    ISub,
    /// int *
    IMul,
    /// int / (throws on 0)
    IDiv,
    /// int % (throws on 0)
    IRem,
    /// int <<
    IShl,
    /// int >> (arithmetic)
    IShr,
    /// int &
    IAnd,
    /// int |
    IOr,
    /// int ^
    IXor,
    /// float +
    FAdd,
    /// float -
    FSub,
    /// float *
    FMul,
    /// float /
    FDiv,
    /// int ==
    IEq,
    /// int !=
    INe,
    /// int <
    ILt,
    /// int <=
    ILe,
    /// int >
    IGt,
    /// int >=
    IGe,
    /// float ==
    FEq,
    /// float !=
    FNe,
    /// float <
    FLt,
    /// float <=
    FLe,
    /// float >
    FGt,
    /// float >=
    FGe,
    /// bool ==
    BEq,
    /// bool !=
    BNe,
    /// reference identity ==
    REq,
    /// reference identity !=
    RNe,
    /// string content ==
    SEq,
    /// string content !=
    SNe,
    /// string concatenation
    Concat,
}

/// Built-in functions, resolved by argument types.
#[derive(Debug, Clone, PartialEq)]
pub enum Builtin {
    /// `print(v)` of the given static type
    Print(Ty),
    /// `write(v)`
    Write(Ty),
    /// `str(v)`
    ToStr(Ty),
    /// `fmt(x, d)`
    Fmt,
    /// `len(s)`
    LenStr,
    /// `len(a)`
    LenArray,
    /// `float(i)`
    ToFloat,
    /// `int(x)`
    ToInt,
    /// `sqrt(x)`
    Sqrt,
    /// `abs(i)`
    AbsInt,
    /// `abs(x)`
    AbsFloat,
    /// `floor(x)`
    Floor,
    /// `min(a, b)` on ints
    MinInt,
    /// `min(a, b)` on floats
    MinFloat,
    /// `max(a, b)` on ints
    MaxInt,
    /// `max(a, b)` on floats
    MaxFloat,
    /// `byte(s, i)`
    Byte,
    /// `chr(b)`
    Chr,
    /// `substr(s, from, to)`
    Substr,
    /// `parse_int(s)`
    ParseInt,
    /// `args()`
    Args,
    /// `clock()`
    Clock,
    /// `write_bytes(path, data)`
    WriteBytes,
    /// `join(t)`
    Join,
    /// `gc()`
    Gc,
}

/// A typed expression.
#[derive(Debug, Clone)]
pub struct Expr {
    /// What it computes.
    pub kind: EK,
    /// Its type.
    pub ty: Ty,
    /// Source line (for errors and backtraces).
    pub line: u32,
}

/// Expression forms.
#[derive(Debug, Clone)]
pub enum EK {
    /// integer constant
    Int(i64),
    /// float constant
    Float(f64),
    /// bool constant
    Bool(bool),
    /// string constant
    Str(Rc<[u8]>),
    /// `null`
    Null,
    /// a local slot
    Local(usize),
    /// a global
    Global(usize),
    /// binary operation
    Bin(Op, Box<Expr>, Box<Expr>),
    /// int negation (wrapping)
    INeg(Box<Expr>),
    /// float negation
    FNeg(Box<Expr>),
    /// `!`
    Not(Box<Expr>),
    /// `&&`
    And(Box<Expr>, Box<Expr>),
    /// `||`
    Or(Box<Expr>, Box<Expr>),
    /// call of a Toy function
    Call(usize, Vec<Expr>),
    /// built-in call
    Builtin(Builtin, Vec<Expr>),
    /// `spawn f(args)`
    Spawn(usize, Vec<Expr>),
    /// `obj.field` (struct index, field index)
    Field(Box<Expr>, usize, usize),
    /// `arr[i]`
    Index(Box<Expr>, Box<Expr>),
    /// struct constructor: field initializers in the order written
    NewStruct(usize, Vec<(usize, Expr)>),
    /// `new [T](n)`: element type
    NewArray(Ty, Box<Expr>),
    /// `[a, b]`: element type
    ArrayLit(Ty, Vec<Expr>),
}

/// An assignable place.
#[derive(Debug, Clone)]
pub enum Place {
    /// local slot
    Local(usize),
    /// global
    Global(usize),
    /// `obj.field`
    Field(Expr, usize, usize),
    /// `arr[i]`
    Index(Expr, Expr),
}

/// A statement with its line.
#[derive(Debug, Clone)]
pub struct Stmt {
    /// What it does.
    pub kind: SK,
    /// Source line.
    pub line: u32,
}

/// Statement forms.
#[derive(Debug, Clone)]
pub enum SK {
    /// declare a local, with an initializer or the type's default
    Let(usize, Option<Expr>),
    /// `place = e`
    Assign(Place, Expr),
    /// `place op= e` (the place is evaluated once)
    Compound(Place, Op, Expr),
    /// expression statement
    Expr(Expr),
    /// `if`
    If(Expr, Vec<Stmt>, Vec<Stmt>),
    /// `while`
    While(Expr, Vec<Stmt>),
    /// `for var in start..end` with a hidden local holding `end`
    For {
        /// loop variable slot
        var: usize,
        /// hidden slot holding the end bound
        end_slot: usize,
        /// start bound
        start: Expr,
        /// end bound
        end: Expr,
        /// body
        body: Vec<Stmt>,
    },
    /// `break`
    Break,
    /// `continue`
    Continue,
    /// `return`
    Return(Option<Expr>),
    /// `throw`
    Throw(Expr),
    /// `try { body } catch var { handler }`
    Try(Vec<Stmt>, usize, Vec<Stmt>),
    /// `sync (obj) { body }` with a hidden slot holding the object
    Sync(Expr, usize, Vec<Stmt>),
    /// nested block
    Block(Vec<Stmt>),
}

/// A struct declaration.
#[derive(Debug, Clone)]
pub struct StructDef {
    /// name
    pub name: String,
    /// fields in declaration order
    pub fields: Vec<(String, Ty)>,
}

/// A global declaration.
#[derive(Debug, Clone)]
pub struct GlobalDef {
    /// name
    pub name: String,
    /// type
    pub ty: Ty,
    /// initializer (default value when absent)
    pub init: Option<Expr>,
    /// line
    pub line: u32,
}

/// A function.
#[derive(Debug, Clone)]
pub struct FuncDef {
    /// name
    pub name: String,
    /// number of parameters: they are locals `0..nparams`
    pub nparams: usize,
    /// type of every local slot (parameters first)
    pub locals: Vec<Ty>,
    /// result type (`Void` for none)
    pub ret: Ty,
    /// body
    pub body: Vec<Stmt>,
    /// line of the declaration
    pub line: u32,
}

/// A checked program.
#[derive(Debug, Clone)]
pub struct Program {
    /// source file name
    pub file: String,
    /// structs
    pub structs: Vec<StructDef>,
    /// globals in file order
    pub globals: Vec<GlobalDef>,
    /// functions
    pub funcs: Vec<FuncDef>,
    /// index of `main`
    pub main: usize,
}

/// A node of a function body, as [`visit`] presents it.
#[derive(Clone, Copy)]
pub enum Node<'a> {
    /// A statement (before the nodes inside it).
    Stmt(&'a Stmt),
    /// An expression (before its operands).
    Expr(&'a Expr),
    /// An assignment target (before the expressions inside it).
    Place(&'a Place),
}

/// Calls `f` on every statement, assignment target and expression of `body`,
/// each before the nodes inside it, in source order.
pub fn visit<'a>(body: &'a [Stmt], f: &mut impl FnMut(Node<'a>)) {
    for s in body {
        visit_stmt(s, f);
    }
}

/// [`visit`] for one expression and the expressions inside it.
pub fn visit_expr<'a>(x: &'a Expr, f: &mut impl FnMut(Node<'a>)) {
    f(Node::Expr(x));
    match &x.kind {
        EK::Bin(_, a, b) | EK::And(a, b) | EK::Or(a, b) | EK::Index(a, b) => {
            visit_expr(a, f);
            visit_expr(b, f);
        }
        EK::INeg(a) | EK::FNeg(a) | EK::Not(a) | EK::Field(a, ..) | EK::NewArray(_, a) => {
            visit_expr(a, f)
        }
        EK::Call(_, xs) | EK::Builtin(_, xs) | EK::Spawn(_, xs) | EK::ArrayLit(_, xs) => {
            xs.iter().for_each(|x| visit_expr(x, f))
        }
        EK::NewStruct(_, fs) => fs.iter().for_each(|(_, x)| visit_expr(x, f)),
        EK::Int(_)
        | EK::Float(_)
        | EK::Bool(_)
        | EK::Str(_)
        | EK::Null
        | EK::Local(_)
        | EK::Global(_) => {}
    }
}

fn visit_stmt<'a>(s: &'a Stmt, f: &mut impl FnMut(Node<'a>)) {
    f(Node::Stmt(s));
    match &s.kind {
        SK::Let(_, x) | SK::Return(x) => x.iter().for_each(|x| visit_expr(x, f)),
        SK::Assign(p, x) | SK::Compound(p, _, x) => {
            f(Node::Place(p));
            match p {
                Place::Field(o, ..) => visit_expr(o, f),
                Place::Index(a, i) => {
                    visit_expr(a, f);
                    visit_expr(i, f);
                }
                Place::Local(_) | Place::Global(_) => {}
            }
            visit_expr(x, f);
        }
        SK::Expr(x) | SK::Throw(x) => visit_expr(x, f),
        SK::If(c, a, b) => {
            visit_expr(c, f);
            visit(a, f);
            visit(b, f);
        }
        SK::While(c, b) => {
            visit_expr(c, f);
            visit(b, f);
        }
        SK::For {
            start, end, body, ..
        } => {
            visit_expr(start, f);
            visit_expr(end, f);
            visit(body, f);
        }
        SK::Try(a, _, b) => {
            visit(a, f);
            visit(b, f);
        }
        SK::Sync(x, _, b) => {
            visit_expr(x, f);
            visit(b, f);
        }
        SK::Block(b) => visit(b, f),
        SK::Break | SK::Continue => {}
    }
}
