//! The untyped syntax tree produced by the parser.

/// A source position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
}

/// A type as written.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeAst {
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
    Array(Box<TypeAst>),
    /// a struct name
    Named(String, Pos),
}

/// Binary operators as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
    /// `&`
    BitAnd,
    /// `|`
    BitOr,
    /// `^`
    BitXor,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `&&`
    And,
    /// `||`
    Or,
}

/// An expression.
#[derive(Debug, Clone)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is.
    pub pos: Pos,
}

/// Expression forms.
#[derive(Debug, Clone)]
pub enum ExprKind {
    /// integer literal (magnitude; a negated `1 << 63` is folded by the parser)
    Int(i64),
    /// float literal
    Float(f64),
    /// string literal
    Str(Vec<u8>),
    /// `true` / `false`
    Bool(bool),
    /// `null`
    Null,
    /// a name
    Var(String),
    /// binary operation
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `-e`
    Neg(Box<Expr>),
    /// `!e`
    Not(Box<Expr>),
    /// `f(args)`
    Call(String, Vec<Expr>),
    /// `a[i]`
    Index(Box<Expr>, Box<Expr>),
    /// `e.f`
    Field(Box<Expr>, String),
    /// `Name { f: e, ... }`
    StructLit(String, Vec<(String, Pos, Expr)>),
    /// `new [T](n)`
    NewArray(TypeAst, Box<Expr>),
    /// `[a, b, c]`
    ArrayLit(Vec<Expr>),
    /// `spawn f(args)`
    Spawn(String, Vec<Expr>),
}

/// A statement.
#[derive(Debug, Clone)]
pub struct Stmt {
    /// What it is.
    pub kind: StmtKind,
    /// Where it starts.
    pub pos: Pos,
}

/// Statement forms.
#[derive(Debug, Clone)]
pub enum StmtKind {
    /// `let x (: T)? (= e)?;`
    Let(String, Option<TypeAst>, Option<Expr>),
    /// `place = e;`
    Assign(Expr, Expr),
    /// `place op= e;`
    Compound(BinOp, Expr, Expr),
    /// `e;`
    Expr(Expr),
    /// `if c { } else ...`
    If(Expr, Vec<Stmt>, Option<Vec<Stmt>>),
    /// `while c { }`
    While(Expr, Vec<Stmt>),
    /// `for i in a..b { }`
    For(String, Expr, Expr, Vec<Stmt>),
    /// `break;`
    Break,
    /// `continue;`
    Continue,
    /// `return e?;`
    Return(Option<Expr>),
    /// `throw e;`
    Throw(Expr),
    /// `try { } catch e { }`
    Try(Vec<Stmt>, String, Pos, Vec<Stmt>),
    /// `sync (e) { }`
    Sync(Expr, Vec<Stmt>),
    /// `{ }`
    Block(Vec<Stmt>),
}

/// A top-level declaration.
#[derive(Debug, Clone)]
pub enum Item {
    /// `struct Name { f: T, ... }`
    Struct {
        /// name
        name: String,
        /// position of the name
        pos: Pos,
        /// fields
        fields: Vec<(String, TypeAst, Pos)>,
    },
    /// `global name: T = e;`
    Global {
        /// name
        name: String,
        /// position of the name
        pos: Pos,
        /// declared type
        ty: Option<TypeAst>,
        /// initializer
        init: Option<Expr>,
    },
    /// `fn name(params) -> T { body }`
    Fn {
        /// name
        name: String,
        /// position of the name
        pos: Pos,
        /// parameters
        params: Vec<(String, TypeAst, Pos)>,
        /// result type
        ret: Option<TypeAst>,
        /// body
        body: Vec<Stmt>,
    },
}
