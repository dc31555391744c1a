//! The resolved syntax tree of a Lua 5.4 chunk, as the parser hands it to the
//! engines: every name is already resolved to a frame slot, an upvalue or a
//! global (a field of `_ENV`), and every function prototype knows how many frame
//! slots it needs and how to capture its upvalues.

use std::rc::Rc;

/// A string constant (bytes: Lua strings are byte strings).
pub type Bytes = Rc<[u8]>;

/// A function prototype (the main chunk is one: vararg, no parameter, `_ENV` as
/// its only upvalue, implicit).
#[derive(Debug)]
pub struct Function {
    /// For messages and tracebacks: `main chunk`, `function 'name'`, `local
    /// 'name'`, `method 'name'`, `field 'name'`, or `function <FILE:LINE>`.
    pub name: String,
    /// The chunk name as lua5.4 prints it in messages (`t.lua`, `[string "..."]`).
    pub source: Rc<str>,
    /// Line of `function` (0 for the main chunk).
    pub line: u32,
    /// Line of its `end` (for `function <FILE:LINE>` descriptions).
    pub last_line: u32,
    /// Number of fixed parameters; they are frame slots `0..params`.
    pub params: u32,
    /// Whether it ends in `...`.
    pub is_vararg: bool,
    /// Frame slots needed: parameters, locals of every scope (a slot may be
    /// reused by sibling scopes), hidden loop state.
    pub slots: u32,
    /// How each upvalue of a closure of this prototype is captured when the
    /// closure is created, by index.
    pub upvalues: Vec<Capture>,
    /// Upvalue names (for messages), same order.
    pub upvalue_names: Vec<Bytes>,
    /// Whether lua5.4 would give it an `_ENV` upvalue (it or a function in
    /// it names a global): `debug.getinfo` counts it.
    pub has_env: bool,
    /// The body.
    pub body: Block,
}

/// Where a closure's upvalue comes from in the function that creates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// The creator's local in frame slot `n` (a captured local: it lives in a
    /// cell, shared by every closure that captures it).
    Local(u32),
    /// The creator's own upvalue `n`.
    Upvalue(u32),
}

/// A sequence of statements (one scope).
#[derive(Debug, Default)]
pub struct Block {
    /// The statements, in order.
    pub stats: Vec<Stat>,
}

/// A local variable's declaration.
#[derive(Debug, Clone)]
pub struct LocalDecl {
    /// Its name (for messages).
    pub name: Bytes,
    /// Its frame slot.
    pub slot: u32,
    /// Whether an inner function captures it: it then lives in a cell (a new
    /// cell each time the declaration runs, so each loop iteration's closures
    /// get their own).
    pub captured: bool,
    /// `<close>`: its `__close` metamethod runs when the scope ends.
    pub close: bool,
}

/// A statement. `line` fields are where the statement (or the relevant
/// operator) starts, for error messages.
#[derive(Debug)]
pub enum Stat {
    /// `local a, b <const>, c = exprs` (`<const>` locals are ordinary locals
    /// here: the parser has already rejected assignments to them).
    Local {
        /// The declared locals.
        decls: Vec<LocalDecl>,
        /// The values (adjusted to the number of locals at run time).
        exprs: Vec<Expr>,
        /// Line.
        line: u32,
    },
    /// `local function f ... end`: `decl` is visible inside `func`.
    LocalFunction {
        /// The local.
        decl: LocalDecl,
        /// The function.
        func: Rc<Function>,
    },
    /// `targets = exprs` (and `function a.b:c() end`, desugared).
    Assign {
        /// Assigned places, left to right.
        targets: Vec<Place>,
        /// Values.
        exprs: Vec<Expr>,
        /// Line.
        line: u32,
    },
    /// A call used as a statement (`Expr::Call` or `Expr::Method`).
    Call(Expr),
    /// `do ... end`.
    Do(Block),
    /// `while cond do body end`.
    While {
        /// Condition.
        cond: Expr,
        /// Body.
        body: Block,
    },
    /// `repeat body until cond` (`cond` sees the body's locals).
    Repeat {
        /// Body.
        body: Block,
        /// Condition.
        cond: Expr,
    },
    /// `if c1 then b1 elseif c2 then b2 ... else e end`.
    If {
        /// Conditions and their blocks.
        arms: Vec<(Expr, Block)>,
        /// The `else` block.
        otherwise: Option<Block>,
    },
    /// `for v = start, limit, step do body end`.
    NumericFor {
        /// The loop variable (a fresh local each iteration).
        var: LocalDecl,
        /// Start.
        start: Expr,
        /// Limit.
        limit: Expr,
        /// Step (1 when absent).
        step: Option<Expr>,
        /// Body.
        body: Block,
        /// Line of `for`.
        line: u32,
    },
    /// `for v1, v2, ... in exprs do body end`.
    GenericFor {
        /// The loop variables.
        vars: Vec<LocalDecl>,
        /// The iterator expressions (adjusted to 4 values: function, state,
        /// control, closing value).
        exprs: Vec<Expr>,
        /// Four hidden frame slots holding the iterator function, state,
        /// control variable and closing value: `hidden..hidden + 4`.
        hidden: u32,
        /// Body.
        body: Block,
        /// Line of `for`.
        line: u32,
    },
    /// `return exprs` (the last statement of its block).
    Return {
        /// Values.
        exprs: Vec<Expr>,
        /// Line.
        line: u32,
    },
    /// `break`.
    Break,
    /// `goto name`: jumps to the label with this id (resolved by the parser,
    /// visible from here under Lua's rules).
    Goto {
        /// Label id (unique in the function).
        label: u32,
        /// Line.
        line: u32,
    },
    /// `::name::`.
    Label {
        /// Label id.
        label: u32,
    },
}

/// An assignable place.
#[derive(Debug)]
pub enum Place {
    /// A local in a frame slot (`captured`: the slot holds its cell).
    Local {
        /// Slot.
        slot: u32,
        /// Lives in a cell.
        captured: bool,
    },
    /// An upvalue of the running closure.
    Upvalue(u32),
    /// A global: field `name` of `_ENV`.
    Global(Bytes),
    /// `obj[key]` (also `obj.name`).
    Index {
        /// The table (or value with `__newindex`).
        obj: Expr,
        /// The key.
        key: Expr,
        /// Line.
        line: u32,
    },
}

/// Binary operators (`and`/`or` are [`Expr::And`]/[`Expr::Or`]).
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
    /// `//`
    IDiv,
    /// `%`
    Mod,
    /// `^`
    Pow,
    /// `..`
    Concat,
    /// `==`
    Eq,
    /// `~=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `&`
    BAnd,
    /// `|`
    BOr,
    /// `~`
    BXor,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `-`
    Neg,
    /// `not`
    Not,
    /// `#`
    Len,
    /// `~`
    BNot,
}

/// An expression. Expressions that can produce several values (`Call`,
/// `Method`, `Vararg`) do so only as the last of a list; elsewhere, and inside
/// parentheses, they are truncated to one value.
#[derive(Debug)]
pub enum Expr {
    /// `nil`
    Nil,
    /// `true`
    True,
    /// `false`
    False,
    /// An integer literal (hex literals wrap around, as in Lua).
    Int(i64),
    /// A float literal (decimal or hex).
    Float(f64),
    /// A string literal (escapes decoded).
    Str(Bytes),
    /// `...`
    Vararg,
    /// A local: its frame slot, whether it lives in a cell, its name.
    Local {
        /// Slot.
        slot: u32,
        /// Lives in a cell.
        captured: bool,
        /// Name (for messages: `local 'x'`).
        name: Bytes,
    },
    /// An upvalue of the running closure (name for messages: `upvalue 'x'`).
    Upvalue {
        /// Index.
        index: u32,
        /// Name.
        name: Bytes,
    },
    /// A global: field `name` of `_ENV` (`global 'x'` in messages).
    Global(Bytes),
    /// `obj[key]`; `obj.name` has a `Str` key (`field 'name'` in messages).
    Index {
        /// Indexed value.
        obj: Box<Expr>,
        /// Key.
        key: Box<Expr>,
        /// Line.
        line: u32,
    },
    /// `f(args)`.
    Call {
        /// Callee.
        func: Box<Expr>,
        /// Arguments.
        args: Vec<Expr>,
        /// Line of the call (the `(`, or the argument string/table).
        line: u32,
    },
    /// `obj:name(args)`.
    Method {
        /// Receiver.
        obj: Box<Expr>,
        /// Method name (`method 'name'` in messages).
        name: Bytes,
        /// Arguments (after the receiver).
        args: Vec<Expr>,
        /// Line.
        line: u32,
    },
    /// `function ... end`.
    Function(Rc<Function>),
    /// A binary operation.
    Binary {
        /// Operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
        /// Line of the operator.
        line: u32,
    },
    /// A unary operation.
    Unary {
        /// Operator.
        op: UnOp,
        /// Operand.
        operand: Box<Expr>,
        /// Line.
        line: u32,
    },
    /// `lhs and rhs`.
    And(Box<Expr>, Box<Expr>),
    /// `lhs or rhs`.
    Or(Box<Expr>, Box<Expr>),
    /// `{ ... }`: items evaluated in order.
    Table {
        /// The items (a positional last item may expand to several values).
        items: Vec<TableItem>,
        /// Line.
        line: u32,
    },
    /// `(e)`: one value.
    Paren(Box<Expr>),
}

/// An item of a table constructor.
#[derive(Debug)]
pub enum TableItem {
    /// A positional value (`1`, `2`, ... in order).
    Positional(Expr),
    /// `[key] = value`, or `name = value` (a `Str` key).
    Keyed(Expr, Expr),
}
