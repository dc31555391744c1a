//! The reference interpreter: walks the resolved syntax tree. Frame slots,
//! varargs and temporaries live on the thread's root stack (every word a value
//! the collector reads through the encoding), so a collection anywhere finds
//! and updates every reference the interpreter holds.

use crate::heap::{self, *};
use crate::lang::ast::*;
use crate::stdlib;
use crate::table::{self, KeyError};
use crate::value::Value;
use std::rc::Rc;
use vmkit::{ObjectReference, Thread};

/// Lua calls nested deeper than this raise "stack overflow" (about where
/// lua5.4's 1,000,000-slot stack ends for simple recursion).
pub const MAX_DEPTH: u32 = 200_000;

/// Stack the interpreter keeps free below its deepest call (for the Rust code
/// a call runs: built-ins, metamethods, error reporting).
pub(crate) const STACK_RESERVE: usize = 512 << 10;

/// An address in the current stack frame (the stack grows down).
#[inline(always)]
fn stack_pointer() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// Root-stack slots the interpreter keeps for itself.
const GLOBALS: usize = 0;
const ERROR: usize = 1;
pub(crate) const STRING_META: usize = 2;
/// The string constants of the loaded code (a value array).
pub(crate) const CONSTS: usize = 3;
/// The message "not enough memory", made before the heap can run out.
const NO_MEMORY: usize = 4;
/// The standard library's own table (no Lua code sees it).
const LIBRARY: usize = 5;
/// The main thread's object (nil until `coroutine.running` makes it).
pub(crate) const MAIN_THREAD: usize = 6;
/// Index in the constants array of the one-byte string `\0` (the others
/// follow, by byte).
pub(crate) const ONE_BYTE_STRINGS: usize = 2;

/// Positional items of a table constructor stored at once (lua5.4's
/// `LFIELDS_PER_FLUSH`).
pub(crate) const FIELDS_PER_FLUSH: usize = 50;

/// Slots before the first frame.
pub const RESERVED: usize = 7;

/// A numeric `for` loop, prepared ([`Interp::for_prep`]).
pub(crate) enum ForLoop {
    /// It runs no iteration.
    Skip,
    /// Integers from `first`, `count` more iterations after the first.
    Int { first: i64, count: u64, step: i64 },
    /// Floats from `first` while not past `limit`.
    Float { first: f64, limit: f64, step: f64 },
}

/// What running a block did.
pub(crate) enum Flow {
    Normal,
    Break,
    /// `return`: the values are the top `n` of the root stack.
    Return(usize),
    Goto(u32),
    /// `return f(args)` of a Lua function: the callee at this root-stack
    /// index, its arguments above it; the caller's frame is replaced.
    TailCall(usize, usize),
}

/// A running function: where its slots and varargs are.
pub(crate) struct Frame {
    /// Root-stack index of the running closure.
    pub(crate) func: usize,
    /// Root-stack index of slot 0.
    pub(crate) base: usize,
    /// Root-stack index and count of the varargs.
    pub(crate) varargs: (usize, usize),
    pub(crate) proto: Rc<Function>,
    /// `tbc`'s length when the function started (a `return f()` with
    /// to-be-closed variables of its own in scope is not a tail call).
    pub(crate) tbc_base: usize,
    /// The line being run (for messages and tracebacks).
    pub(crate) line: std::cell::Cell<u32>,
}

/// The interpreter state of one thread.
pub struct Interp<'t> {
    /// The thread.
    pub t: &'t Thread,
    /// Function prototypes, by index (a closure holds its index), with which
    /// of their parameters inner functions capture (those live in cells).
    pub(crate) protos: Vec<(Rc<Function>, Vec<bool>)>,
    /// Prototype index by address.
    proto_ids: std::collections::HashMap<usize, usize, FastHash>,
    /// String constants of the syntax tree (by the address and length of their
    /// bytes) -> their index in the constants array: a literal or a field name
    /// is made a string once.
    pub(crate) consts: std::collections::HashMap<(usize, usize), usize, FastHash>,
    /// The same by contents: equal names are one string object, so table
    /// lookups by a constant key find it by identity.
    const_by_bytes: std::collections::HashMap<Vec<u8>, usize>,
    pub(crate) depth: u32,
    /// lua5.4's count of nested calls made by C code (`nCcalls`): calls of Lua
    /// functions by built-ins, metamethods and protected calls (not Lua's own
    /// calls); at [`MAX_C_CALLS`] a call fails with "C stack overflow", as in
    /// lua5.4. Starts at 2: the standalone `lua` runs the main chunk two
    /// protected calls deep.
    pub(crate) c_calls: u32,
    /// Set in a coroutine that `coroutine.close` unwinds: protected calls do
    /// not catch the unwinding, `yield` refuses.
    pub(crate) closing: bool,
    /// Where Lua code runs an operation that may call a metamethod: the call
    /// site that metamethod gets (so that `error(msg, 2)` in it points at the
    /// operation, as in lua5.4). Set by the operations that have a frame,
    /// taken by the metamethod call, cleared by every built-in call.
    pub(crate) meta_site: crate::sites::Site,
    /// Traceback lines gathered while an error unwinds.
    pub traceback: Vec<String>,
    /// The lines the last error caught by a protected call had gathered.
    pub(crate) caught_traceback: Vec<String>,
    /// The `xpcall` message handlers running, innermost last: the index of
    /// the call record of each handler's call, and the traceback lines of
    /// the frames the error unwound (what lua5.4's handler still sees on its
    /// stack, for `debug.traceback`).
    pub(crate) handlers: Vec<(usize, Vec<String>)>,
    /// [`Interp::loaded_function_name`]'s answers for the traceback being
    /// made (an error through a million frames of one function looks its
    /// name up once), by prototype address.
    traceback_names: std::collections::HashMap<usize, Option<String>>,
    /// Whether the traceback of the current error is complete (caught errors
    /// drop theirs).
    pub(crate) tracing: bool,
    /// Buffered standard output.
    pub out: Vec<u8>,
    /// The lowest stack address a call may start at (0: no limit known).
    pub(crate) stack_floor: usize,
    /// To-be-closed variables in scope (`local x <close>`), innermost last:
    /// the root-stack index of the slot and whether it holds a cell.
    pub(crate) tbc: Vec<(usize, bool)>,
    /// Each call in progress, innermost last: `SOURCE:LINE:` of a call from
    /// Lua code (`None` for a call made by a built-in), where a built-in's
    /// error, or `error` at a level, points; and the name the caller used for
    /// the callee (`rep` for `string.rep(...)`, whether a method call), for
    /// "bad argument" messages.
    /// The JIT (`None`: every function runs on the interpreter).
    pub jit: Option<crate::jit::Jit>,
    /// Constants made by the runtime itself (their bytes key the constants
    /// cache by address, so they must stay allocated).
    keep_alive: Vec<Bytes>,
}

/// Whether `v` is a built-in bound to a value ([`Interp::bound_builtin`]).
/// lua5.4's `LUAI_MAXCCALLS`: nested calls made by C code (see
/// [`Interp::c_calls`]).
pub const MAX_C_CALLS: u32 = 200;

pub(crate) fn is_bound_builtin(v: Value) -> bool {
    v.as_object().is_some_and(|o| {
        kind(o) == Kind::Function && get(o, elem(0)).as_small_int().is_some_and(|w| w < 0)
    })
}

/// A description of an expression for messages: `global 'x'`, `local 'x'`, ...
pub(crate) fn describe(e: &Expr) -> Option<String> {
    let name = |b: &Bytes| String::from_utf8_lossy(b).into_owned();
    match e {
        Expr::Local { name: n, .. } => Some(format!("local '{}'", name(n))),
        Expr::Upvalue { name: n, .. } => Some(format!("upvalue '{}'", name(n))),
        Expr::Global(n) => Some(format!("global '{}'", name(n))),
        Expr::Index { obj, key, .. } => match &**key {
            // A field of a local or upvalue named _ENV is a global to lua5.4.
            Expr::Str(k) => match &**obj {
                Expr::Local { name: e, .. } | Expr::Upvalue { name: e, .. }
                    if &e[..] == b"_ENV" =>
                {
                    Some(format!("global '{}'", name(k)))
                }
                _ => Some(format!("field '{}'", name(k))),
            },
            // As lua5.4 names what its instructions fetched: a small integer
            // constant key is `OP_GETI` ("integer index"), any other key a
            // register it cannot name ("?").
            Expr::Int(i) if (0..=255).contains(i) => Some("field 'integer index'".into()),
            _ => match &**obj {
                Expr::Local { name: e, .. } | Expr::Upvalue { name: e, .. }
                    if &e[..] == b"_ENV" =>
                {
                    Some("global '?'".into())
                }
                _ => Some("field '?'".into()),
            },
        },
        Expr::Method { name: n, .. } => Some(format!("method '{}'", name(n))),
        // lua5.4 names a string constant loaded into a register.
        Expr::Str(k) => Some(format!("constant '{}'", name(k))),
        Expr::Int(_) | Expr::Float(_) | Expr::Nil | Expr::True | Expr::False => None,
        _ => None,
    }
}

/// `msg` about the callee of call `call` (an `Expr::Call` or `Expr::Method`),
/// named as lua5.4 names it: a method call's method, a plain call's function
/// expression, nothing for the result of another call (`t:f()()`).
pub(crate) fn call_desc(msg: String, call: &Expr) -> String {
    match call {
        Expr::Call { func, .. } if matches!(**func, Expr::Method { .. }) => msg,
        Expr::Call { func, .. } => with_desc(msg, func),
        _ => with_desc(msg, call),
    }
}

pub(crate) fn with_desc(msg: String, e: &Expr) -> String {
    match describe(e) {
        Some(d) => format!("{msg} ({d})"),
        None => msg,
    }
}

impl<'t> Interp<'t> {
    /// An interpreter on `t`, with the globals table and the string metatable
    /// made (the standard library installed).
    pub fn new(t: &'t Thread) -> LResult<Interp<'t>> {
        let mut it = Interp {
            t,
            protos: Vec::new(),
            proto_ids: std::collections::HashMap::default(),
            consts: std::collections::HashMap::default(),
            const_by_bytes: std::collections::HashMap::new(),
            depth: 0,
            c_calls: 2,
            meta_site: crate::sites::Site::NONE,
            traceback: Vec::new(),
            caught_traceback: Vec::new(),
            handlers: Vec::new(),
            traceback_names: std::collections::HashMap::new(),
            tracing: true,
            out: Vec::new(),
            stack_floor: 0,
            closing: false,
            tbc: Vec::new(),
            jit: None,
            keep_alive: Vec::new(),
        };
        register_types().map_err(|_| Thrown)?;
        crate::stack::init(t);
        crate::stack::limit_regions(crate::sites::init(crate::stack::regions()));
        roots(t).truncate(0);
        for _ in 0..RESERVED {
            push(t, Value::NIL);
        }
        let m = new_string(t, b"not enough memory").map_err(|_| Thrown)?;
        set_at(t, NO_MEMORY, m);
        let g = it.mem(new_table(t, 0, 64))?;
        set_at(t, GLOBALS, g);
        // "__index" and "__newindex" are constants 0 and 1: metatables made
        // by constructors hold the same string objects (constants are one
        // object per contents), so lookups find them by identity.
        for name in [&b"__index"[..], &b"__newindex"[..]] {
            let b: Bytes = Rc::from(name);
            it.constant(&b)?;
            it.keep_alive.push(b);
        }
        // Every one-byte string is made once (constants 2..258): a scan with
        // `s:sub(i, i)` allocates nothing, and compares by identity.
        for c in 0..=255u8 {
            let b: Bytes = Rc::from(&[c][..]);
            it.constant(&b)?;
            it.keep_alive.push(b);
        }
        // The type names `type` returns, made now as lua5.4 makes them with
        // the state: `type` allocates nothing, even with the heap full.
        for name in [
            "nil", "boolean", "number", "string", "table", "function", "thread", "userdata",
        ] {
            it.constant_bytes(name.as_bytes())?;
        }
        stdlib::install(&mut it)?;
        Ok(it)
    }

    // ------------------------------------------------------------ helpers

    /// Tells the interpreter that the calling thread's stack has `bytes` left
    /// below this point: deep recursion then raises "stack overflow" instead
    /// of running out of it.
    pub fn set_stack_size(&mut self, bytes: usize) {
        self.stack_floor = stack_pointer().saturating_sub(bytes.saturating_sub(STACK_RESERVE));
    }

    /// The globals table.
    pub fn globals(&self) -> Value {
        at(self.t, GLOBALS)
    }

    /// The name lua5.4.4's tracebacks give a function stored in a loaded
    /// module (`package.loaded[mod][name]`, `_G`'s fields by their bare name),
    /// which comes before the name its caller used: here for a closure of
    /// `proto` (closures of one prototype are not told apart).
    pub(crate) fn loaded_function_name(&mut self, proto: &Function) -> Option<String> {
        if self.traceback.is_empty() {
            // A new traceback: the globals may have changed since the last.
            self.traceback_names.clear();
        }
        let key = proto as *const Function as usize;
        if let Some(n) = self.traceback_names.get(&key) {
            return n.clone();
        }
        let n = self.find_loaded_function(proto);
        self.traceback_names.insert(key, n.clone());
        n
    }

    fn find_loaded_function(&self, proto: &Function) -> Option<String> {
        let package = as_table(at(self.t, GLOBALS))
            .map(|g| crate::table::raw_get_str(g, b"package"))
            .and_then(as_table)?;
        let loaded = as_table(crate::table::raw_get_str(package, b"loaded"))?;
        let is_proto = |v: Value| {
            v.as_object()
                .filter(|o| kind(*o) == Kind::Function)
                .and_then(|o| get(o, elem(0)).as_small_int())
                .and_then(|pi| self.protos.get(pi as usize))
                .is_some_and(|(p, _)| std::ptr::eq(Rc::as_ptr(p), proto))
        };
        let mut m = Value::NIL;
        while let Ok(Some((mk, mv))) = crate::table::next(loaded, m) {
            m = mk;
            let (Some(ms), Some(mt)) = (as_str(mk), as_table(mv)) else {
                continue;
            };
            let mut f = Value::NIL;
            while let Ok(Some((fk, fv))) = crate::table::next(mt, f) {
                f = fk;
                if let (Some(fs), true) = (as_str(fk), is_proto(fv)) {
                    let (ms, fs) = (str_bytes(ms), str_bytes(fs));
                    let name = if ms == b"_G" {
                        String::from_utf8_lossy(fs).into_owned()
                    } else {
                        format!(
                            "{}.{}",
                            String::from_utf8_lossy(ms),
                            String::from_utf8_lossy(fs)
                        )
                    };
                    return Some(name);
                }
            }
        }
        None
    }

    /// The standard library's hidden table (nil until it makes it).
    pub fn library(&self) -> Value {
        at(self.t, LIBRARY)
    }

    /// Sets the standard library's hidden table.
    pub fn set_library(&self, v: Value) {
        set_at(self.t, LIBRARY, v);
    }

    /// Sets the string metatable.
    pub fn set_string_meta(&self, v: Value) {
        set_at(self.t, STRING_META, v);
    }

    /// The value of the pending error.
    pub fn error_value(&self) -> Value {
        at(self.t, ERROR)
    }

    /// Raises `v` as the error value.
    pub fn throw(&mut self, v: Value) -> Thrown {
        set_at(self.t, ERROR, v);
        self.traceback.clear();
        self.tracing = true;
        Thrown
    }

    /// Raises `msg` with the position of the Lua code that called the running
    /// built-in (`SOURCE:LINE: msg`).
    pub fn throw_here(&mut self, msg: &str) -> Thrown {
        let m = match crate::sites::last().and_then(|s| s.position()) {
            Some(w) => format!("{w} {msg}"),
            None => msg.to_string(),
        };
        self.throw_msg(&m)
    }

    /// Raises the message `msg` (a string error value, no position added).
    pub fn throw_msg(&mut self, msg: &str) -> Thrown {
        match new_string(self.t, msg.as_bytes()) {
            Ok(v) => self.throw(v),
            Err(_) => self.no_memory(),
        }
    }

    /// Turns an allocation failure into the Lua error "not enough memory"
    /// (its message made in advance: nothing can be allocated now).
    pub fn mem<T>(&mut self, r: Result<T, NoMemory>) -> LResult<T> {
        r.map_err(|_| self.no_memory())
    }

    /// Raises "not enough memory".
    pub fn no_memory(&mut self) -> Thrown {
        let m = at(self.t, NO_MEMORY);
        self.throw(m)
    }

    /// A string value.
    pub fn string(&mut self, b: &[u8]) -> LResult<Value> {
        if let [c] = b {
            let arr = at(self.t, CONSTS).as_object().expect("the constants");
            return Ok(get(arr, elem(ONE_BYTE_STRINGS + *c as usize)));
        }
        let r = new_string(self.t, b);
        self.mem(r)
    }

    /// The string value of a constant of the syntax tree (made once).
    pub(crate) fn constant(&mut self, b: &Bytes) -> LResult<Value> {
        let t = self.t;
        let key = (b.as_ptr() as usize, b.len());
        if let Some(&i) = self.consts.get(&key) {
            let arr = at(t, CONSTS).as_object().expect("the constants");
            return Ok(get(arr, elem(i)));
        }
        let i = self.const_index(b)?;
        self.consts.insert(key, i);
        let arr = at(t, CONSTS).as_object().expect("the constants");
        Ok(get(arr, elem(i)))
    }

    /// The constant string with these bytes, made once (what `type` returns:
    /// lua5.4's type names are fixed strings, which a program can ask for in a
    /// loop or with the heap full).
    pub(crate) fn constant_bytes(&mut self, b: &[u8]) -> LResult<Value> {
        let i = self.const_index(b)?;
        let arr = at(self.t, CONSTS).as_object().expect("the constants");
        Ok(get(arr, elem(i)))
    }

    /// The index in the constants array of the string with these bytes, made
    /// there if it is not yet.
    fn const_index(&mut self, b: &[u8]) -> LResult<usize> {
        let t = self.t;
        if let Some(&i) = self.const_by_bytes.get(b) {
            return Ok(i);
        }
        let v = new_string(t, b);
        let v = self.mem(v)?;
        push(t, v);
        let n = self.const_by_bytes.len();
        let cap = at(t, CONSTS).as_object().map_or(0, heap::len);
        if n == cap {
            let bigger = new_values(t, (cap * 2).max(64));
            let bigger = self.mem(bigger)?.as_object().expect("an array");
            if let Some(old) = at(t, CONSTS).as_object() {
                for i in 0..n {
                    heap::set(t, bigger, elem(i), get(old, elem(i)));
                }
            }
            set_at(t, CONSTS, Value::object(bigger));
        }
        let v = pop(t);
        let arr = at(t, CONSTS).as_object().expect("the constants");
        heap::set(t, arr, elem(n), v);
        self.const_by_bytes.insert(b.to_vec(), n);
        Ok(n)
    }

    /// An integer value.
    pub fn int(&mut self, i: i64) -> LResult<Value> {
        let r = new_int(self.t, i);
        self.mem(r)
    }

    /// A number value.
    pub fn num(&mut self, n: Num) -> LResult<Value> {
        match n {
            Num::Int(i) => self.int(i),
            Num::Float(x) => Ok(Value::float(x)),
        }
    }

    fn where_(&self, f: &Frame) -> String {
        format!("{}:{}:", f.proto.source, f.line.get())
    }

    /// Raises `msg` with the position of the running Lua function.
    pub(crate) fn rt_error(&mut self, f: &Frame, msg: String) -> Thrown {
        let m = format!("{} {msg}", self.where_(f));
        self.throw_msg(&m)
    }

    /// The `type()` name of a value.
    pub fn type_name(v: Value) -> &'static str {
        if v.is_nil() {
            return "nil";
        }
        if v.as_bool().is_some() {
            return "boolean";
        }
        if v.as_float().is_some() || v.as_small_int().is_some() {
            return "number";
        }
        if v.as_builtin().is_some() {
            return "function";
        }
        match v.as_object().map(kind) {
            Some(Kind::Str) => "string",
            Some(Kind::BigInt) => "number",
            Some(Kind::Table) if v.as_object().is_some_and(heap::is_file) => "userdata",
            Some(Kind::Table) => "table",
            Some(Kind::Function) => "function",
            Some(Kind::Thread) => "thread",
            _ => "userdata",
        }
    }

    /// The type name in runtime error messages: the metatable's `__name` if
    /// it is a string (lua5.4's `luaT_objtypename`), else the type.
    pub fn obj_type_name(&self, v: Value) -> String {
        match self
            .metatable_of(v)
            .map(|mt| table::raw_get_str(mt, b"__name"))
            .and_then(as_str)
        {
            Some(s) => String::from_utf8_lossy(str_bytes(s)).into_owned(),
            None => Self::type_name(v).to_string(),
        }
    }

    /// The metatable of any value (tables' own, the string metatable).
    pub fn metatable_of(&self, v: Value) -> Option<ObjectReference> {
        let o = v.as_object()?;
        match kind(o) {
            Kind::Table => table::metatable(o),
            Kind::Str => as_table(at(self.t, STRING_META)),
            _ => None,
        }
    }

    /// The interned string `__index` (`which` 0) or `__newindex` (1).
    #[inline]
    fn mm_key(&self, which: usize) -> Value {
        let arr = at(self.t, CONSTS).as_object().expect("the constants");
        get(arr, elem(which))
    }

    /// `mt[name]` for the value's metatable, if any and not nil.
    pub fn metamethod(&self, v: Value, name: &[u8]) -> Option<Value> {
        let mt = self.metatable_of(v)?;
        let m = table::raw_get_str(mt, name);
        (!m.is_nil()).then_some(m)
    }

    // ------------------------------------------------------------ running

    /// Runs the main chunk `main` with `args` as its varargs; returns how many
    /// values it returned (on the root stack's top).
    pub fn run_main(&mut self, main: Rc<Function>, args: &[Vec<u8>]) -> LResult<usize> {
        let fpos = top(self.t);
        let f = self.closure_of(main, None)?;
        push(self.t, f);
        for a in args {
            let s = self.string(a)?;
            push(self.t, s);
        }
        crate::sites::push(crate::sites::Site::NONE);
        let r = self.call(fpos, args.len(), 0);
        crate::sites::pop();
        r
    }

    /// A function value for a loaded chunk (no upvalues: globals are the
    /// globals table).
    pub fn load_function(&mut self, f: Rc<Function>) -> LResult<Value> {
        self.closure_of(f, None)
    }

    /// Built-in `b` bound to `state`: a function whose calls call `b` with
    /// `state` before their arguments (what a C closure's upvalue is to
    /// lua5.4; the iterators of `string.gmatch` are made so). Its first word
    /// is `-1 - b`: no prototype index is negative, and compiled code's direct
    /// calls, which take that word for one, leave it to the interpreter.
    pub(crate) fn bound_builtin(&mut self, b: u32, state: Value) -> LResult<Value> {
        let t = self.t;
        push(t, state);
        let o = t.alloc_array(&FUNCTION, 2).map_err(|_| NoMemory);
        let state = pop(t);
        let o = self.mem(o)?;
        heap::set_word(
            o,
            elem(0),
            Value::small_int(-1 - b as i64).expect("small").0,
        );
        heap::set_word(o, elem(1), Value::NIL.0);
        heap::set(t, o, elem(1), state);
        Ok(Value::object(o))
    }

    /// Makes a closure of `proto` (upvalues captured from `frame`); pushes
    /// nothing, returns it (valid until the next allocation). With no frame
    /// (the main chunk) it has no upvalues.
    pub(crate) fn closure_of(
        &mut self,
        proto: Rc<Function>,
        frame: Option<&Frame>,
    ) -> LResult<Value> {
        let index = self.proto_index(&proto);
        let n = proto.upvalues.len();
        let caps = proto.upvalues.clone();
        // Placeholder for the new closure while it is filled.
        let t = self.t;
        let slot = top(t);
        push(t, Value::NIL);
        let o = t.alloc_array(&FUNCTION, 1 + n).map_err(|_| NoMemory);
        let o = self.mem(o)?;
        heap::set_word(
            o,
            elem(0),
            Value::small_int(index as i64).expect("a small index").0,
        );
        for i in 0..n {
            heap::set_word(o, elem(1 + i), Value::NIL.0);
        }
        set_at(t, slot, Value::object(o));
        if let Some(f) = frame {
            for (i, c) in caps.iter().enumerate() {
                let cell = match *c {
                    Capture::Local(s) => at(t, f.base + s as usize),
                    Capture::Upvalue(u) => {
                        let cl = at(t, f.func).as_object().expect("a closure");
                        get(cl, elem(1 + u as usize))
                    }
                };
                let o = at(t, slot).as_object().expect("a closure");
                heap::set(t, o, elem(1 + i), cell);
            }
        }
        Ok(pop(t))
    }

    /// Makes the closures of a prototype in a new index only once per
    /// prototype: prototypes are registered once (by pointer).
    pub(crate) fn proto_index(&mut self, p: &Rc<Function>) -> usize {
        let key = Rc::as_ptr(p) as usize;
        if let Some(&i) = self.proto_ids.get(&key) {
            return i;
        }
        let captured = crate::lang::parser::captured_params(p);
        self.protos.push((p.clone(), captured));
        self.proto_ids.insert(key, self.protos.len() - 1);
        self.protos.len() - 1
    }

    /// Calls the value at root index `fpos` with the `nargs` values above it;
    /// leaves its results at `fpos..` (the root stack's new top) and returns
    /// how many. `line` is the caller's line (for "in function" messages it is
    /// set on the caller's frame).
    pub fn call(&mut self, fpos: usize, nargs: usize, line: u32) -> LResult<usize> {
        let mut nargs = nargs;
        loop {
            match self.call_once(fpos, nargs, line)? {
                Ok(n) => return Ok(n),
                Err((p, n)) => {
                    // A tail call: the callee and its arguments replace the
                    // finished frame at `fpos`, which the call record no longer
                    // names.
                    crate::sites::mark_tail();
                    let t = self.t;
                    for i in 0..=n {
                        let v = at(t, p + i);
                        set_at(t, fpos + i, v);
                    }
                    roots(t).truncate(fpos + 1 + n);
                    nargs = n;
                }
            }
        }
    }

    /// One call: `Ok(Ok(results))`, or `Ok(Err((callee, nargs)))` when the
    /// function ended in a tail call.
    #[allow(clippy::type_complexity)]
    fn call_once(
        &mut self,
        fpos: usize,
        nargs: usize,
        _line: u32,
    ) -> LResult<Result<usize, (usize, usize)>> {
        let t = self.t;
        let fv = at(t, fpos);
        if let Some(b) = fv.as_builtin() {
            // Its arguments must fit under the value stack's limit too.
            if top(t) > crate::stack::stack().limit() {
                return Err(self.throw_here("stack overflow"));
            }
            let n = stdlib::call_builtin(self, b, fpos + 1, nargs)?;
            // Results are the top n: move them to fpos.
            let from = top(t) - n;
            for i in 0..n {
                let v = at(t, from + i);
                set_at(t, fpos + i, v);
            }
            roots(t).truncate(fpos + n);
            return Ok(Ok(n));
        }
        let Some(cl) = fv.as_object().filter(|o| kind(*o) == Kind::Function) else {
            // __call: the callee becomes the first argument.
            if let Some(m) = self.metamethod(fv, b"__call") {
                roots(t).insert(fpos, m.0);
                return self.call(fpos, nargs + 1, _line).map(Ok);
            }
            return Err(self.throw_msg(&format!(
                "attempt to call a {} value",
                self.obj_type_name(fv)
            )));
        };
        let word0 = get(cl, elem(0)).as_small_int().expect("a prototype index");
        if word0 < 0 {
            // A bound built-in (`Interp::bound_builtin`): its value goes in as
            // the first argument.
            let state = get(cl, elem(1));
            roots(t).insert(fpos + 1, state.0);
            set_at(t, fpos, Value::builtin((-1 - word0) as u32));
            return self.call_once(fpos, nargs + 1, _line);
        }
        let pi = word0 as usize;
        // The frame must fit under the value stack's limit (varargs passed
        // down call after call count too).
        let slots = self.protos[pi].0.slots as usize;
        if self.depth >= MAX_DEPTH
            || stack_pointer() < self.stack_floor
            || top(t) + slots + 2 > crate::stack::stack().limit()
        {
            return Err(self.throw_here("stack overflow"));
        }
        if let Some(entry) = self.jit_entry(pi) {
            // A vararg function runs on a frame above its varargs (lua5.4's
            // layout): the varargs stay where they are, their count goes in
            // the next slot, then the closure and the fixed parameters.
            let params = self.protos[pi].0.params as usize;
            let (cpos, cargs) = if self.protos[pi].0.is_vararg {
                let nvar = nargs.saturating_sub(params);
                roots(t).truncate(fpos + 1 + nargs);
                push(
                    t,
                    Value::small_int(nvar as i64).expect("a stack-sized count"),
                );
                let cpos = top(t);
                // Read again: compiling may have allocated (and moved it).
                let f = at(t, fpos);
                push(t, f);
                for i in 0..nargs.min(params) {
                    let v = at(t, fpos + 1 + i);
                    push(t, v);
                }
                (cpos, nargs.min(params))
            } else {
                (fpos, nargs)
            };
            self.depth += 1;
            let mut res = [0u64; 1];
            let args = [self as *mut Self as u64, cpos as u64, cargs as u64];
            // SAFETY: compiled Lua functions take the interpreter, the callee's
            // stack index and the argument count (all plain words); the
            // interpreter is not used while they run except through that
            // pointer.
            unsafe { entry.call(t, &args, &mut res) };
            self.depth -= 1;
            let r = res[0] as i64;
            // Results (or a tail call's callee and arguments) at `cpos..`
            // come down to `fpos..`.
            let down = |n: usize| {
                if cpos != fpos {
                    for i in 0..n {
                        let v = at(t, cpos + i);
                        set_at(t, fpos + i, v);
                    }
                    roots(t).truncate(fpos + n);
                }
            };
            return match r {
                0 => Err(Thrown),
                r if r > 0 => {
                    down((r - 1) as usize);
                    Ok(Ok((r - 1) as usize))
                }
                r => {
                    down((-r - 1) as usize + 1);
                    Ok(Err((fpos, (-r - 1) as usize)))
                }
            };
        }
        let (proto, captured) = self.protos[pi].clone();
        let params = proto.params as usize;
        let (base, varargs) = if proto.is_vararg {
            let nvar = nargs.saturating_sub(params);
            let vstart = fpos + 1 + params;
            let base = top(t);
            for i in 0..params {
                let v = if i < nargs {
                    at(t, fpos + 1 + i)
                } else {
                    Value::NIL
                };
                push(t, v);
            }
            (base, (vstart, nvar))
        } else {
            let base = fpos + 1;
            roots(t).truncate(base + nargs.min(params));
            (base, (0, 0))
        };
        let want = base + proto.slots as usize;
        while top(t) < want {
            push(t, Value::NIL);
        }
        // Parameters captured by inner functions live in cells.
        for (i, c) in captured.iter().enumerate() {
            if *c {
                let v = at(t, base + i);
                push(t, v);
                let cell = t.alloc(&CELL, vmkit::HEADER_SIZE + 8).map_err(|_| NoMemory);
                let cell = self.mem(cell)?;
                let v = pop(t);
                heap::set_word(cell, vmkit::HEADER_SIZE, v.0);
                set_at(t, base + i, Value::object(cell));
            }
        }
        let frame = Frame {
            func: fpos,
            base,
            varargs,
            proto: proto.clone(),
            tbc_base: self.tbc.len(),
            line: std::cell::Cell::new(proto.line),
        };
        self.depth += 1;
        let r = self.exec_block(&frame, &proto.body);
        self.depth -= 1;
        match r {
            Ok(Flow::Return(n)) => {
                let from = top(t) - n;
                for i in 0..n {
                    let v = at(t, from + i);
                    set_at(t, fpos + i, v);
                }
                roots(t).truncate(fpos + n);
                Ok(Ok(n))
            }
            Ok(Flow::TailCall(p, n)) => Ok(Err((p, n))),
            Ok(_) => {
                roots(t).truncate(fpos);
                Ok(Ok(0))
            }
            Err(e) => {
                if self.tracing {
                    let global = self.loaded_function_name(&proto);
                    self.traceback.push(crate::sites::traceback_line(
                        &proto,
                        frame.line.get(),
                        global,
                    ));
                }
                Err(e)
            }
        }
    }

    /// Calls `f` with `args` in protected mode-free style: pushes f and args,
    /// calls, returns the number of results on the top.
    pub fn call_value(&mut self, f: Value, args: &[Value]) -> LResult<usize> {
        self.call_with_site(crate::sites::Site::NONE, f, args)
    }

    /// The `__call` handler of `v` when `v` is not a function and the handler
    /// is a Lua function.
    pub(crate) fn lua_call_handler(&mut self, v: Value) -> Option<Value> {
        if v.as_builtin().is_some() || v.as_object().is_some_and(|o| kind(o) == Kind::Function) {
            return None;
        }
        self.metamethod(v, b"__call")
            .filter(|m| m.as_object().is_some_and(|o| kind(o) == Kind::Function))
    }

    /// Records that frame `f` runs an operation that may call a metamethod
    /// (see [`Interp::meta_site`]).
    #[inline]
    pub(crate) fn at_frame(&mut self, f: &Frame) {
        self.meta_site = crate::sites::Site::at(&f.proto, f.line.get());
    }

    /// Calls metamethod `m` with `args` from the operation [`Interp::at_frame`]
    /// recorded (no position when none was).
    /// `event` (`__index`) names the frame in tracebacks.
    fn call_meta_value(&mut self, m: Value, args: &[Value], event: &[u8]) -> LResult<usize> {
        let site = std::mem::replace(&mut self.meta_site, crate::sites::Site::NONE);
        self.call_with_site(site.metamethod(event), m, args)
    }

    /// Calls `f` with `args` pushed, recording the call as `site`; returns the
    /// number of results on the top.
    fn call_with_site(
        &mut self,
        site: crate::sites::Site,
        f: Value,
        args: &[Value],
    ) -> LResult<usize> {
        self.enter_c_call(site.position())?;
        let fpos = top(self.t);
        push(self.t, f);
        for a in args {
            push(self.t, *a);
        }
        crate::sites::push(site);
        let r = self.call(fpos, args.len(), 0);
        crate::sites::pop();
        self.c_calls = self.c_calls.saturating_sub(1);
        r
    }

    /// Counts a call made by C code (see [`Interp::c_calls`]); at the limit,
    /// "C stack overflow" (after `position`, the Lua code's whose operation
    /// called a metamethod; none for a built-in's call, as in lua5.4).
    fn enter_c_call(&mut self, position: Option<String>) -> LResult<()> {
        if self.c_calls + 1 >= MAX_C_CALLS {
            let msg = match position {
                Some(w) => format!("{w} C stack overflow"),
                None => "C stack overflow".to_string(),
            };
            return Err(self.throw_msg(&msg));
        }
        self.c_calls += 1;
        Ok(())
    }

    /// A call made by a built-in (or a metamethod call): no position of its
    /// own in messages.
    pub fn call_from_builtin(&mut self, fpos: usize, nargs: usize) -> LResult<usize> {
        self.call_recorded(crate::sites::Site::NONE, fpos, nargs)
    }

    /// [`Interp::call_from_builtin`] with the call recorded as `site`.
    pub(crate) fn call_recorded(
        &mut self,
        site: crate::sites::Site,
        fpos: usize,
        nargs: usize,
    ) -> LResult<usize> {
        self.enter_c_call(None)?;
        crate::sites::push(site);
        let r = self.call(fpos, nargs, 0);
        crate::sites::pop();
        self.c_calls = self.c_calls.saturating_sub(1);
        r
    }

    /// Stops gathering the traceback (the error is caught).
    pub fn caught(&mut self) {
        self.tracing = false;
        self.caught_traceback = std::mem::take(&mut self.traceback);
    }

    // ------------------------------------------------------------ statements

    fn exec_block(&mut self, f: &Frame, b: &Block) -> LResult<Flow> {
        let mark = self.tbc.len();
        let r = self.exec_stats(f, b);
        if self.tbc.len() > mark {
            self.close_variables(mark, r)
        } else {
            r
        }
    }

    /// Runs the `__close` metamethods of the to-be-closed variables above
    /// `mark`, innermost first, with the error being raised (or nil); an error
    /// in one replaces the outcome.
    pub(crate) fn close_variables(&mut self, mark: usize, r: LResult<Flow>) -> LResult<Flow> {
        let t = self.t;
        let mut r = r;
        while self.tbc.len() > mark {
            let (idx, captured) = self.tbc.pop().expect("a variable");
            let mut v = at(t, idx);
            if captured {
                v = get(v.as_object().expect("a cell"), vmkit::HEADER_SIZE);
            }
            let Some(m) = self.metamethod(v, b"__close") else {
                continue;
            };
            let err = if r.is_err() {
                self.error_value()
            } else {
                Value::NIL
            };
            let base = top(t);
            match self.call_value(m, &[v, err]) {
                Ok(_) => {
                    roots(t).truncate(base);
                    if r.is_err() {
                        // A pcall inside the handler may have replaced it.
                        set_at(t, ERROR, err);
                    }
                }
                Err(e) => r = Err(e),
            }
        }
        r
    }

    fn exec_stats(&mut self, f: &Frame, b: &Block) -> LResult<Flow> {
        let mut i = 0;
        while i < b.stats.len() {
            match self.exec(f, &b.stats[i])? {
                Flow::Normal => i += 1,
                Flow::Goto(l) => {
                    // A label in this block: continue after it.
                    match b
                        .stats
                        .iter()
                        .position(|s| matches!(s, Stat::Label { label } if *label == l))
                    {
                        Some(p) => i = p + 1,
                        None => return Ok(Flow::Goto(l)),
                    }
                }
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn set_local(&mut self, f: &Frame, d: &LocalDecl, v: Value) -> LResult<()> {
        let t = self.t;
        let slot = f.base + d.slot as usize;
        if d.captured {
            push(t, v);
            let c = t.alloc(&CELL, vmkit::HEADER_SIZE + 8).map_err(|_| NoMemory);
            let c = self.mem(c)?;
            let v = pop(t);
            heap::set_word(c, vmkit::HEADER_SIZE, v.0);
            set_at(t, slot, Value::object(c));
        } else {
            set_at(t, slot, v);
        }
        Ok(())
    }

    pub(crate) fn exec(&mut self, f: &Frame, s: &Stat) -> LResult<Flow> {
        let t = self.t;
        match s {
            Stat::Local { decls, exprs, line } => {
                f.line.set(*line);
                let base = top(t);
                let n = self.eval_list(f, exprs)?;
                for (i, d) in decls.iter().enumerate() {
                    let v = if i < n { at(t, base + i) } else { Value::NIL };
                    self.set_local(f, d, v)?;
                    if d.close && !v.is_falsy() {
                        if self.metamethod(v, b"__close").is_none() {
                            let name = String::from_utf8_lossy(&d.name).into_owned();
                            roots(t).truncate(base);
                            return Err(self.rt_error(
                                f,
                                format!("variable '{name}' got a non-closable value"),
                            ));
                        }
                        self.tbc.push((f.base + d.slot as usize, d.captured));
                    }
                }
                roots(t).truncate(base);
            }
            Stat::LocalFunction { decl, func } => {
                // The local exists (as nil, in its cell) before the closure
                // captures it.
                self.set_local(f, decl, Value::NIL)?;
                let c = self.closure_of(func.clone(), Some(f))?;
                self.assign_local(f, decl.slot, decl.captured, c);
            }
            Stat::Assign {
                targets,
                exprs,
                line,
            } => {
                f.line.set(*line);
                if targets.len() == 1 && exprs.len() == 1 {
                    return self
                        .assign_one(f, &targets[0], &exprs[0])
                        .map(|_| Flow::Normal);
                }
                // Evaluate the places' table and key, then the values, then
                // assign (right to left, as Lua does).
                let base = top(t);
                for p in targets {
                    if let Place::Index { obj, key, .. } = p {
                        let o = self.eval(f, obj)?;
                        push(t, o);
                        let k = self.eval(f, key)?;
                        push(t, k);
                    }
                }
                let vbase = top(t);
                let n = self.eval_list(f, exprs)?;
                let mut pi = base
                    + 2 * targets
                        .iter()
                        .filter(|p| matches!(p, Place::Index { .. }))
                        .count();
                for (i, p) in targets.iter().enumerate().rev() {
                    let v = if i < n { at(t, vbase + i) } else { Value::NIL };
                    match p {
                        Place::Index { obj, line, .. } => {
                            pi -= 2;
                            let (o, k) = (at(t, pi), at(t, pi + 1));
                            f.line.set(*line);
                            self.set_index(f, o, k, v, obj)?;
                        }
                        _ => self.assign_simple(f, p, v)?,
                    }
                }
                roots(t).truncate(base);
            }
            Stat::Call(e) => {
                let base = top(t);
                self.eval_multi(f, e)?;
                roots(t).truncate(base);
            }
            Stat::Do(b) => return self.exec_block(f, b),
            Stat::While { cond, body } => loop {
                let c = self.eval(f, cond)?;
                if c.is_falsy() {
                    break;
                }
                match self.exec_block(f, body)? {
                    Flow::Break => break,
                    Flow::Normal => {}
                    other => return Ok(other),
                }
            },
            Stat::Repeat { body, cond } => loop {
                match self.exec_block(f, body)? {
                    Flow::Break => break,
                    Flow::Normal => {}
                    other => return Ok(other),
                }
                if !self.eval(f, cond)?.is_falsy() {
                    break;
                }
            },
            Stat::If { arms, otherwise } => {
                for (c, b) in arms {
                    if !self.eval(f, c)?.is_falsy() {
                        return self.exec_block(f, b);
                    }
                }
                if let Some(b) = otherwise {
                    return self.exec_block(f, b);
                }
            }
            Stat::NumericFor {
                var,
                start,
                limit,
                step,
                body,
                line,
            } => {
                f.line.set(*line);
                return self.numeric_for(f, var, start, limit, step.as_ref(), body);
            }
            Stat::GenericFor {
                vars,
                exprs,
                hidden,
                body,
                line,
            } => {
                f.line.set(*line);
                self.for_init(f, exprs, *hidden)?;
                loop {
                    f.line.set(*line);
                    if !self.for_step(f, vars, *hidden)? {
                        break;
                    }
                    match self.exec_block(f, body)? {
                        Flow::Break => break,
                        Flow::Normal => {}
                        other => return Ok(other),
                    }
                }
            }
            Stat::Return { exprs, line } => {
                f.line.set(*line);
                if let [e @ (Expr::Call { .. } | Expr::Method { .. })] = &exprs[..] {
                    // A proper tail call when the callee is a Lua function (a
                    // built-in runs as an ordinary call: its errors name this
                    // call site).
                    let (fpos, mut n, callee) = self.prepare_call(f, e)?;
                    if self.tbc.len() == f.tbc_base {
                        // A `__call` handler that is a Lua function is
                        // tail-called too, the callee its first argument.
                        if let Some(m) = self.lua_call_handler(at(t, fpos)) {
                            roots(t).insert(fpos, m.0);
                            n += 1;
                        }
                        let callee = at(t, fpos);
                        if callee
                            .as_object()
                            .is_some_and(|o| kind(o) == Kind::Function)
                            && !is_bound_builtin(callee)
                        {
                            return Ok(Flow::TailCall(fpos, n));
                        }
                    }
                    let line = f.line.get();
                    let r = self.call_traced(f, fpos, n, line, callee)?;
                    return Ok(Flow::Return(r));
                }
                let n = self.eval_list(f, exprs)?;
                return Ok(Flow::Return(n));
            }
            Stat::Break => return Ok(Flow::Break),
            Stat::Goto { label, .. } => return Ok(Flow::Goto(*label)),
            Stat::Label { .. } => {}
        }
        Ok(Flow::Normal)
    }

    pub(crate) fn numeric_for(
        &mut self,
        f: &Frame,
        var: &LocalDecl,
        start: &Expr,
        limit: &Expr,
        step: Option<&Expr>,
        body: &Block,
    ) -> LResult<Flow> {
        let t = self.t;
        let a = self.eval(f, start)?;
        push(t, a);
        let b = self.eval(f, limit)?;
        push(t, b);
        let c = match step {
            Some(s) => self.eval(f, s)?,
            None => Value::small_int(1).expect("1"),
        };
        let b = pop(t);
        let a = pop(t);
        match self.for_prep(f, a, b, c)? {
            ForLoop::Skip => {}
            ForLoop::Int {
                first,
                mut count,
                step,
            } => {
                let mut i = first;
                loop {
                    let v = self.int(i)?;
                    self.set_local(f, var, v)?;
                    match self.exec_block(f, body)? {
                        Flow::Break => break,
                        Flow::Normal => {}
                        other => return Ok(other),
                    }
                    if count == 0 {
                        break;
                    }
                    count -= 1;
                    i = i.wrapping_add(step);
                }
            }
            ForLoop::Float {
                first: mut x,
                limit: lim,
                step: st,
            } => {
                // The first iteration was decided by the preparation; then,
                // as lua5.4's floatforloop, on while within the limit.
                loop {
                    self.set_local(f, var, Value::float(x))?;
                    match self.exec_block(f, body)? {
                        Flow::Break => break,
                        Flow::Normal => {}
                        other => return Ok(other),
                    }
                    x += st;
                    let within = if 0.0 < st { x <= lim } else { lim <= x };
                    if !within {
                        break;
                    }
                }
            }
        }
        Ok(Flow::Normal)
    }

    /// A numeric `for` loop's start, limit and step, checked and converted as
    /// Lua 5.4 does (both engines run the loop this describes).
    pub(crate) fn for_prep(&mut self, f: &Frame, a: Value, b: Value, c: Value) -> LResult<ForLoop> {
        // An integer loop when the initial value and the step are integers;
        // otherwise a float loop (numeric strings converted), its values
        // checked in lua5.4's order.
        let (a, b, c) = match (as_num(a), as_num(c)) {
            (Some(Num::Int(i0)), Some(Num::Int(st))) => {
                (Num::Int(i0), self.for_num(f, b, "limit")?, Num::Int(st))
            }
            _ => {
                let lim = self.for_num(f, b, "limit")?;
                let st = self.for_num(f, c, "step")?;
                let x = match self.for_num(f, a, "initial value")? {
                    Num::Int(i) => i as f64,
                    Num::Float(x) => x,
                };
                (Num::Float(x), lim, st)
            }
        };
        match (a, b, c) {
            (Num::Int(i0), lim, Num::Int(st)) => {
                if st == 0 {
                    return Err(self.rt_error(f, "'for' step is zero".into()));
                }
                // The limit, clipped to an integer (a float limit is floored or
                // ceiled toward the loop's direction).
                let lim = match lim {
                    Num::Int(l) => l,
                    Num::Float(x) => {
                        if x.is_nan() {
                            return Ok(ForLoop::Skip);
                        }
                        if st > 0 {
                            let x = x.floor();
                            if x >= TWO63_F {
                                i64::MAX
                            } else if x < -TWO63_F {
                                return Ok(ForLoop::Skip);
                            } else {
                                x as i64
                            }
                        } else {
                            let x = x.ceil();
                            if x < -TWO63_F {
                                i64::MIN
                            } else if x >= TWO63_F {
                                return Ok(ForLoop::Skip);
                            } else {
                                x as i64
                            }
                        }
                    }
                };
                if (st > 0 && i0 > lim) || (st < 0 && i0 < lim) {
                    return Ok(ForLoop::Skip);
                }
                // Iterations left, as an unsigned count (no overflow).
                let count = if st > 0 {
                    ((lim as i128 - i0 as i128) / st as i128) as u64
                } else {
                    ((i0 as i128 - lim as i128) / -(st as i128)) as u64
                };
                Ok(ForLoop::Int {
                    first: i0,
                    count,
                    step: st,
                })
            }
            (a, b, c) => {
                let to_f = |n: Num| match n {
                    Num::Int(i) => i as f64,
                    Num::Float(x) => x,
                };
                let (x, lim, st) = (to_f(a), to_f(b), to_f(c));
                if st == 0.0 {
                    return Err(self.rt_error(f, "'for' step is zero".into()));
                }
                // As lua5.4's forprep: skipped only when the limit is
                // already passed (a NaN start or limit runs once).
                let passed = if 0.0 < st { lim < x } else { x < lim };
                if !passed {
                    Ok(ForLoop::Float {
                        first: x,
                        limit: lim,
                        step: st,
                    })
                } else {
                    Ok(ForLoop::Skip)
                }
            }
        }
    }

    /// A generic `for` loop's explist, adjusted to four values in its hidden
    /// slots `hidden..hidden + 4` (iterator, state, control, closing value).
    pub(crate) fn for_init(&mut self, f: &Frame, exprs: &[Expr], hidden: u32) -> LResult<()> {
        let t = self.t;
        let base = top(t);
        let n = self.eval_list(f, exprs)?;
        let h = f.base + hidden as usize;
        for i in 0..4 {
            let v = if i < n { at(t, base + i) } else { Value::NIL };
            set_at(t, h + i, v);
        }
        roots(t).truncate(base);
        Ok(())
    }

    /// One step of a generic `for`: calls the iterator with the state and
    /// control variable; false when its first result is nil (the loop ends),
    /// else the control variable and `vars` are set.
    pub(crate) fn for_step(&mut self, f: &Frame, vars: &[LocalDecl], hidden: u32) -> LResult<bool> {
        let t = self.t;
        let h = f.base + hidden as usize;
        let fpos = top(t);
        let iter = at(t, h);
        if !is_function(iter) && self.metamethod(iter, b"__call").is_none() {
            let msg = format!(
                "attempt to call a {} value (for iterator 'for iterator')",
                self.obj_type_name(iter)
            );
            return Err(self.rt_error(f, msg));
        }
        push(t, at(t, h));
        push(t, at(t, h + 1));
        push(t, at(t, h + 2));
        crate::sites::push(crate::sites::Site::for_iterator(&f.proto, f.line.get()));
        let nr = self.call(fpos, 2, f.line.get());
        crate::sites::pop();
        let nr = nr?;
        let first = if nr > 0 { at(t, fpos) } else { Value::NIL };
        if first.is_nil() {
            roots(t).truncate(fpos);
            return Ok(false);
        }
        set_at(t, h + 2, first);
        for (i, d) in vars.iter().enumerate() {
            let v = if i < nr { at(t, fpos + i) } else { Value::NIL };
            self.set_local(f, d, v)?;
        }
        roots(t).truncate(fpos);
        Ok(true)
    }

    fn for_num(&mut self, f: &Frame, v: Value, what: &str) -> LResult<Num> {
        match Self::arith_num(v) {
            Some(n) => Ok(n),
            None => {
                let tn = self.obj_type_name(v);
                Err(self.rt_error(f, format!("bad 'for' {what} (number expected, got {tn})")))
            }
        }
    }

    fn assign_local(&mut self, f: &Frame, slot: u32, captured: bool, v: Value) {
        let t = self.t;
        let i = f.base + slot as usize;
        if captured {
            let c = at(t, i).as_object().expect("a cell");
            heap::set(t, c, vmkit::HEADER_SIZE, v);
        } else {
            set_at(t, i, v);
        }
    }

    fn assign_simple(&mut self, f: &Frame, p: &Place, v: Value) -> LResult<()> {
        let t = self.t;
        match p {
            Place::Local { slot, captured } => self.assign_local(f, *slot, *captured, v),
            Place::Upvalue(u) => {
                let cl = at(t, f.func).as_object().expect("a closure");
                let cell = get(cl, elem(1 + *u as usize)).as_object().expect("a cell");
                heap::set(t, cell, vmkit::HEADER_SIZE, v);
            }
            Place::Global(name) => {
                push(t, v);
                let k = self.constant(name)?;
                let v = pop(t);
                let g = self.globals();
                self.set_index(f, g, k, v, &Expr::Nil)?;
            }
            Place::Index { .. } => unreachable!("handled by the caller"),
        }
        Ok(())
    }

    fn assign_one(&mut self, f: &Frame, p: &Place, e: &Expr) -> LResult<()> {
        let t = self.t;
        match p {
            Place::Index { obj, key, line } => {
                let base = top(t);
                let o = self.eval(f, obj)?;
                push(t, o);
                let k = self.eval(f, key)?;
                push(t, k);
                let v = self.eval(f, e)?;
                let (o, k) = (at(t, base), at(t, base + 1));
                f.line.set(*line);
                let r = self.set_index(f, o, k, v, obj);
                roots(t).truncate(base);
                r
            }
            _ => {
                let v = self.eval(f, e)?;
                self.assign_simple(f, p, v)
            }
        }
    }

    /// `o[k] = v` with `__newindex`. `desc` describes `o` for messages.
    pub(crate) fn set_index(
        &mut self,
        f: &Frame,
        o: Value,
        k: Value,
        v: Value,
        desc: &Expr,
    ) -> LResult<()> {
        self.at_frame(f);
        let direct = as_table(o).is_none() && self.metamethod(o, b"__newindex").is_none();
        match self.set_index_value(o, k, v) {
            Ok(()) => Ok(()),
            Err(SetError::Thrown) => Err(Thrown),
            Err(SetError::Key(e)) => Err(self.key_error(f, e)),
            Err(e) => {
                let msg = e.message().expect("a message of its own");
                let named = direct && matches!(e, SetError::NotIndexable(_));
                let msg = if named { with_desc(msg, desc) } else { msg };
                Err(self.rt_error(f, msg))
            }
        }
    }

    /// `o[k] = v` with `__newindex`, for the library too (errors for the
    /// caller to word).
    pub fn set_index_value(&mut self, o: Value, k: Value, v: Value) -> Result<(), SetError> {
        let t = self.t;
        let mut o = o;
        for _ in 0..2000 {
            if let Some(tab) = as_table(o) {
                let existing = table::raw_get(tab, k);
                let mm = if existing.is_nil() {
                    table::metatable(tab)
                        .map(|mt| table::raw_get(mt, self.mm_key(1)))
                        .filter(|m| !m.is_nil())
                } else {
                    None
                };
                match mm {
                    None => return table::raw_set(t, o, k, v).map_err(SetError::Key),
                    Some(m) if is_function(m) => {
                        return self
                            .call_newindex(m, &[o, k, v])
                            .map_err(|_| SetError::Thrown)
                    }
                    Some(m) => {
                        o = m;
                        continue;
                    }
                }
            }
            match self.metamethod(o, b"__newindex") {
                Some(m) if is_function(m) => {
                    return self
                        .call_newindex(m, &[o, k, v])
                        .map_err(|_| SetError::Thrown)
                }
                Some(m) => o = m,
                None => return Err(SetError::NotIndexable(Self::type_name(o))),
            }
        }
        Err(SetError::Loop)
    }

    /// Calls `__newindex` function `f` with `args` and drops its results.
    fn call_newindex(&mut self, f: Value, args: &[Value]) -> LResult<()> {
        let base = top(self.t);
        self.call_meta_value(f, args, b"__newindex")?;
        roots(self.t).truncate(base);
        Ok(())
    }

    /// `o[k]` with `__index`; `desc` describes `o` for messages.
    pub(crate) fn index(&mut self, f: &Frame, o: Value, k: Value, desc: &Expr) -> LResult<Value> {
        self.at_frame(f);
        // Only `o` itself is named in the message, not a value met along its
        // `__index` chain.
        let direct = as_table(o).is_none() && self.metamethod(o, b"__index").is_none();
        match self.index_value(o, k) {
            Ok(v) => Ok(v),
            Err(IndexError::Thrown) => Err(Thrown),
            Err(e) => {
                let msg = e.message().expect("a message of its own");
                let named = direct && matches!(e, IndexError::NotIndexable(_));
                let msg = if named { with_desc(msg, desc) } else { msg };
                Err(self.rt_error(f, msg))
            }
        }
    }

    /// `o[k]` with `__index`, for the library too.
    pub fn index_value(&mut self, o: Value, k: Value) -> Result<Value, IndexError> {
        let mut o = o;
        for _ in 0..2000 {
            if let Some(tab) = as_table(o) {
                let v = table::raw_get(tab, k);
                if !v.is_nil() {
                    return Ok(v);
                }
                let Some(mt) = table::metatable(tab) else {
                    return Ok(Value::NIL);
                };
                let m = table::raw_get(mt, self.mm_key(0));
                if m.is_nil() {
                    return Ok(Value::NIL);
                }
                // As lua5.4: a function is called, anything else indexed
                // (a table, or a string through its metatable...).
                if is_function(m) {
                    return self.call_index(m, o, k);
                }
                o = m;
                continue;
            }
            match self.metamethod(o, b"__index") {
                None => return Err(IndexError::NotIndexable(Self::type_name(o))),
                Some(m) if is_function(m) => return self.call_index(m, o, k),
                Some(m) => o = m,
            }
        }
        Err(IndexError::Loop)
    }

    fn call_index(&mut self, m: Value, o: Value, k: Value) -> Result<Value, IndexError> {
        let t = self.t;
        let base = top(t);
        let n = self
            .call_meta_value(m, &[o, k], b"__index")
            .map_err(|_| IndexError::Thrown)?;
        let v = if n > 0 { at(t, base) } else { Value::NIL };
        roots(t).truncate(base);
        Ok(v)
    }

    // ------------------------------------------------------------ expressions

    /// Evaluates `e` to one value (valid until the next allocation).
    pub(crate) fn eval(&mut self, f: &Frame, e: &Expr) -> LResult<Value> {
        let t = self.t;
        Ok(match e {
            Expr::Nil => Value::NIL,
            Expr::True => Value::TRUE,
            Expr::False => Value::FALSE,
            Expr::Int(i) => self.int(*i)?,
            Expr::Float(x) => Value::float(*x),
            Expr::Str(s) => self.constant(s)?,
            Expr::Vararg => {
                if f.varargs.1 > 0 {
                    at(t, f.varargs.0)
                } else {
                    Value::NIL
                }
            }
            Expr::Local { slot, captured, .. } => {
                let v = at(t, f.base + *slot as usize);
                if *captured {
                    get(v.as_object().expect("a cell"), vmkit::HEADER_SIZE)
                } else {
                    v
                }
            }
            Expr::Upvalue { index, .. } => {
                let cl = at(t, f.func).as_object().expect("a closure");
                let cell = get(cl, elem(1 + *index as usize))
                    .as_object()
                    .expect("a cell");
                get(cell, vmkit::HEADER_SIZE)
            }
            Expr::Global(name) if &name[..] == b"_ENV" => self.globals(),
            Expr::Global(name) => {
                let k = self.constant(name)?;
                let g = as_table(self.globals()).expect("the globals table");
                let v = table::raw_get(g, k);
                if v.is_nil() && table::metatable(g).is_some() {
                    let k = self.constant(name)?;
                    let g = self.globals();
                    return self.index(f, g, k, &Expr::Nil);
                }
                v
            }
            Expr::Index { obj, key, line } => {
                let o = self.eval(f, obj)?;
                if let (Some(_), Expr::Str(k)) = (as_table(o), &**key) {
                    push(t, o);
                    let kv = self.constant(k)?;
                    let o = pop(t);
                    let tab = as_table(o).expect("a table");
                    let v = table::raw_get(tab, kv);
                    if !v.is_nil() || table::metatable(tab).is_none() {
                        return Ok(v);
                    }
                }
                push(t, o);
                let k = self.eval(f, key)?;
                let o = pop(t);
                f.line.set(*line);
                self.index(f, o, k, obj)?
            }
            Expr::Call { .. } | Expr::Method { .. } => {
                let base = top(t);
                let n = self.eval_multi(f, e)?;
                let v = if n > 0 { at(t, base) } else { Value::NIL };
                roots(t).truncate(base);
                v
            }
            Expr::Function(p) => self.closure_of(p.clone(), Some(f))?,
            Expr::And(a, b) => {
                let v = self.eval(f, a)?;
                if v.is_falsy() {
                    v
                } else {
                    self.eval(f, b)?
                }
            }
            Expr::Or(a, b) => {
                let v = self.eval(f, a)?;
                if !v.is_falsy() {
                    v
                } else {
                    self.eval(f, b)?
                }
            }
            Expr::Paren(e) => self.eval(f, e)?,
            Expr::Unary { op, operand, line } => {
                let v = self.eval(f, operand)?;
                f.line.set(*line);
                self.unary(f, *op, v, operand)?
            }
            Expr::Binary { op, lhs, rhs, line } => {
                let a = self.eval(f, lhs)?;
                push(t, a);
                let b = self.eval(f, rhs)?;
                let a = pop(t);
                f.line.set(*line);
                self.binary(f, *op, a, b, lhs, rhs)?
            }
            Expr::Table { items, line } => {
                f.line.set(*line);
                self.table_constructor(f, items)?
            }
        })
    }

    /// Evaluates `e`, pushing all its values (several for a call or `...`);
    /// returns how many.
    pub(crate) fn eval_multi(&mut self, f: &Frame, e: &Expr) -> LResult<usize> {
        let t = self.t;
        match e {
            Expr::Call { line, .. } | Expr::Method { line, .. } => {
                let (fpos, n, callee) = self.prepare_call(f, e)?;
                self.call_traced(f, fpos, n, *line, callee)
            }
            Expr::Vararg => {
                let (start, n) = f.varargs;
                for i in 0..n {
                    push(t, at(t, start + i));
                }
                Ok(n)
            }
            _ => {
                let v = self.eval(f, e)?;
                push(t, v);
                Ok(1)
            }
        }
    }

    /// Evaluates the callee and the arguments of a call (`Expr::Call` or
    /// `Expr::Method`) onto the root stack and checks the callee can be
    /// called: its root-stack index, the argument count, and the expression
    /// that names the callee (for messages).
    pub(crate) fn prepare_call<'e>(
        &mut self,
        f: &Frame,
        e: &'e Expr,
    ) -> LResult<(usize, usize, &'e Expr)> {
        let t = self.t;
        let callable = |it: &Self, v: Value| {
            v.as_builtin().is_some()
                || v.as_object().is_some_and(|o| kind(o) == Kind::Function)
                || it.metamethod(v, b"__call").is_some()
        };
        match e {
            Expr::Call { func, args, line } => {
                let fpos = top(t);
                let fv = self.eval(f, func)?;
                push(t, fv);
                let n = self.eval_list(f, args)?;
                f.line.set(*line);
                let fv = at(t, fpos);
                if !callable(self, fv) {
                    let msg = call_desc(
                        format!("attempt to call a {} value", self.obj_type_name(fv)),
                        e,
                    );
                    return Err(self.rt_error(f, msg));
                }
                Ok((fpos, n, func))
            }
            Expr::Method {
                obj,
                name,
                args,
                line,
            } => {
                let fpos = top(t);
                let o = self.eval(f, obj)?;
                push(t, o);
                push(t, o);
                let k = self.constant(name)?;
                let o = at(t, fpos);
                f.line.set(*line);
                let m = self.index(f, o, k, obj)?;
                set_at(t, fpos, m);
                let n = self.eval_list(f, args)?;
                f.line.set(*line);
                let fv = at(t, fpos);
                if !callable(self, fv) {
                    let msg = with_desc(
                        format!("attempt to call a {} value", self.obj_type_name(fv)),
                        e,
                    );
                    return Err(self.rt_error(f, msg));
                }
                Ok((fpos, n + 1, e))
            }
            _ => unreachable!("calls only"),
        }
    }

    /// A call from Lua code: a built-in's error gets the caller's position.
    pub(crate) fn call_traced(
        &mut self,
        f: &Frame,
        fpos: usize,
        nargs: usize,
        _line: u32,
        callee: &Expr,
    ) -> LResult<usize> {
        self.call_at(
            crate::sites::site(&f.proto, f.line.get(), callee),
            fpos,
            nargs,
        )
    }

    /// A call from Lua code (`site` says where; the callee at `fpos`).
    pub(crate) fn call_at(
        &mut self,
        site: crate::sites::Site,
        fpos: usize,
        nargs: usize,
    ) -> LResult<usize> {
        let callee = at(self.t, fpos);
        crate::sites::push(site);
        let r = self.call(fpos, nargs, site.line as u32);
        crate::sites::pop();
        match r {
            Ok(n) => Ok(n),
            Err(e) => {
                if self.tracing {
                    if let Some(b) = callee.as_builtin() {
                        self.traceback
                            .push(format!("\t[C]: in function '{}'", stdlib::builtin_name(b)));
                    } else if is_bound_builtin(callee) {
                        // Named by the call, as lua5.4 names a C closure.
                        self.traceback
                            .push(format!("\t[C]: in {}", site.builtin_frame_name()));
                    }
                }
                Err(e)
            }
        }
    }

    /// Evaluates a list, the last expression expanded; pushes the values and
    /// returns how many.
    fn eval_list(&mut self, f: &Frame, es: &[Expr]) -> LResult<usize> {
        let t = self.t;
        let mut n = 0;
        for (i, e) in es.iter().enumerate() {
            if i + 1 == es.len() {
                n += self.eval_multi(f, e)?;
            } else {
                let v = self.eval(f, e)?;
                push(t, v);
                n += 1;
            }
        }
        Ok(n)
    }

    pub(crate) fn table_constructor(&mut self, f: &Frame, items: &[TableItem]) -> LResult<Value> {
        let t = self.t;
        let npos = items
            .iter()
            .filter(|i| matches!(i, TableItem::Positional(_)))
            .count();
        let roomy = items.iter().all(|i| match i {
            TableItem::Keyed(k, _) => matches!(k, Expr::Str(_)),
            TableItem::Positional(_) => true,
        });
        let tab = heap::new_table_for(t, npos, items.len() - npos, roomy);
        let tab = self.mem(tab)?;
        let tpos = top(t);
        push(t, tab);
        // Positional values wait on the stack and are stored in batches of
        // FIELDS_PER_FLUSH and at the end, as lua5.4 does: a keyed item of
        // the same batch is stored before them (`{[1] = "k", "p"}` has "p").
        let mut index = 1i64;
        let mut pending = 0usize;
        let flush = |it: &mut Self, index: &mut i64, pending: &mut usize| -> LResult<()> {
            let base = top(t) - *pending;
            for k in 0..*pending {
                let v = at(t, base + k);
                if table::set_positional(t, at(t, tpos), *index, v).is_err() {
                    return Err(it.no_memory());
                }
                *index += 1;
            }
            roots(t).truncate(base);
            *pending = 0;
            Ok(())
        };
        for (j, item) in items.iter().enumerate() {
            match item {
                TableItem::Positional(e) => {
                    if j + 1 == items.len() {
                        pending += self.eval_multi(f, e)?;
                    } else {
                        let v = self.eval(f, e)?;
                        push(t, v);
                        pending += 1;
                        if pending == FIELDS_PER_FLUSH {
                            flush(self, &mut index, &mut pending)?;
                        }
                    }
                }
                TableItem::Keyed(k, v) => {
                    let kv = self.eval(f, k)?;
                    push(t, kv);
                    let vv = self.eval(f, v)?;
                    let kv = pop(t);
                    self.raw_set_or_raise(f, at(t, tpos), kv, vv)?;
                }
            }
        }
        flush(self, &mut index, &mut pending)?;
        Ok(pop(t))
    }

    pub(crate) fn raw_set_or_raise(
        &mut self,
        f: &Frame,
        tab: Value,
        k: Value,
        v: Value,
    ) -> LResult<()> {
        table::raw_set(self.t, tab, k, v).map_err(|e| self.key_error(f, e))
    }

    /// The error a failed [`table::raw_set`] raises. The set's operands may
    /// have moved when it failed for want of memory (it collected first): a
    /// caller raises this instead of trying the set again with them.
    pub(crate) fn key_error(&mut self, f: &Frame, e: KeyError) -> Thrown {
        match e {
            KeyError::Nil => self.rt_error(f, "table index is nil".into()),
            KeyError::NaN => self.rt_error(f, "table index is NaN".into()),
            KeyError::NoMemory => self.no_memory(),
        }
    }

    // ------------------------------------------------------------ operators

    /// The number a value stands for in arithmetic (strings coerced).
    pub fn arith_num(v: Value) -> Option<Num> {
        if let Some(n) = as_num(v) {
            return Some(n);
        }
        let s = as_str(v)?;
        match stdlib::lnum::str_to_number(str_bytes(s))? {
            stdlib::lnum::Num::Int(i) => Some(Num::Int(i)),
            stdlib::lnum::Num::Float(x) => Some(Num::Float(x)),
        }
    }

    pub(crate) fn unary(
        &mut self,
        f: &Frame,
        op: UnOp,
        v: Value,
        operand: &Expr,
    ) -> LResult<Value> {
        self.at_frame(f);
        match op {
            UnOp::Not => Ok(Value::boolean(v.is_falsy())),
            UnOp::Neg => match Self::arith_num(v) {
                Some(Num::Int(i)) => self.int(i.wrapping_neg()),
                Some(Num::Float(x)) => Ok(Value::float(-x)),
                None => self.meta_unary(f, v, b"__unm", "perform arithmetic on", operand),
            },
            UnOp::Len => {
                if let Some(s) = as_str(v) {
                    return self.int(heap::len(s) as i64);
                }
                if let Some(m) = self.metamethod(v, b"__len") {
                    return self.call_meta1(m, &[v, v], b"__len");
                }
                if let Some(tab) = as_table(v) {
                    return self.int(table::length(tab));
                }
                let msg = with_desc(
                    format!("attempt to get length of a {} value", self.obj_type_name(v)),
                    operand,
                );
                Err(self.rt_error(f, msg))
            }
            UnOp::BNot => match self.to_bits(v) {
                Ok(i) => self.int(!i),
                // A float without an integer value (a string is blamed as one).
                Err(true) if self.metamethod(v, b"__bnot").is_none() => {
                    Err(self.rt_error(f, no_integer_rep(operand)))
                }
                Err(_) => self.meta_unary(f, v, b"__bnot", "perform bitwise operation on", operand),
            },
        }
    }

    /// An integer for a bitwise operation: `Err(true)` for a float without
    /// one, `Err(false)` for a non-number (strings are not converted: lua5.4's
    /// string metamethods are arithmetic ones only).
    fn to_bits(&self, v: Value) -> Result<i64, bool> {
        match as_num(v) {
            Some(Num::Int(i)) => Ok(i),
            Some(Num::Float(x)) => stdlib::lnum::float_to_int_exact(x).ok_or(true),
            None => Err(false),
        }
    }

    fn meta_unary(
        &mut self,
        f: &Frame,
        v: Value,
        event: &[u8],
        what: &str,
        operand: &Expr,
    ) -> LResult<Value> {
        if let Some(m) = self.metamethod(v, event) {
            return self.call_meta1(m, &[v, v], event);
        }
        if event == b"__unm" && as_str(v).is_some() {
            return Err(self.rt_error(f, "attempt to unm a 'string' with a 'string'".into()));
        }
        let msg = with_desc(
            format!("attempt to {what} a {} value", self.obj_type_name(v)),
            operand,
        );
        Err(self.rt_error(f, msg))
    }

    /// Calls a metamethod and keeps its first result.
    fn call_meta1(&mut self, m: Value, args: &[Value], event: &[u8]) -> LResult<Value> {
        let t = self.t;
        let base = top(t);
        let n = self.call_meta_value(m, args, event)?;
        let v = if n > 0 { at(t, base) } else { Value::NIL };
        roots(t).truncate(base);
        Ok(v)
    }

    pub(crate) fn binary(
        &mut self,
        f: &Frame,
        op: BinOp,
        a: Value,
        b: Value,
        lhs: &Expr,
        rhs: &Expr,
    ) -> LResult<Value> {
        use BinOp::*;
        match op {
            Add | Sub | Mul | Div | IDiv | Mod | Pow => {
                // Fast path: two inline integers or floats.
                if let (Some(x), Some(y)) = (as_num(a), as_num(b)) {
                    if let Some(r) = self.arith(f, op, x, y)? {
                        return Ok(r);
                    }
                }
                match (Self::arith_num(a), Self::arith_num(b)) {
                    (Some(x), Some(y)) => Ok(self.arith(f, op, x, y)?.expect("numbers")),
                    _ => {
                        let ev: &[u8] = match op {
                            Add => b"__add",
                            Sub => b"__sub",
                            Mul => b"__mul",
                            Div => b"__div",
                            IDiv => b"__idiv",
                            Mod => b"__mod",
                            _ => b"__pow",
                        };
                        self.meta_binary(f, ev, a, b, lhs, rhs, "perform arithmetic on")
                    }
                }
            }
            BAnd | BOr | BXor | Shl | Shr => {
                let (x, y) = (self.to_bits(a), self.to_bits(b));
                match (x, y) {
                    (Ok(x), Ok(y)) => {
                        let r = match op {
                            BAnd => x & y,
                            BOr => x | y,
                            BXor => x ^ y,
                            Shl => shift_left(x, y),
                            _ => shift_left(x, y.wrapping_neg()),
                        };
                        self.int(r)
                    }
                    _ => {
                        let ev: &[u8] = match op {
                            BAnd => b"__band",
                            BOr => b"__bor",
                            BXor => b"__bxor",
                            Shl => b"__shl",
                            _ => b"__shr",
                        };
                        if self.metamethod(a, ev).is_some() || self.metamethod(b, ev).is_some() {
                            return self.meta_binary(
                                f,
                                ev,
                                a,
                                b,
                                lhs,
                                rhs,
                                "perform bitwise operation on",
                            );
                        }
                        // Two numbers, one without an integer value: it is named.
                        if as_num(a).is_some() && as_num(b).is_some() {
                            let e = if x.is_err() { lhs } else { rhs };
                            return Err(self.rt_error(f, no_integer_rep(e)));
                        }
                        self.meta_binary(f, ev, a, b, lhs, rhs, "perform bitwise operation on")
                    }
                }
            }
            Concat => self.concat(f, a, b, lhs, rhs),
            Eq | Ne => {
                if a != b && as_table(a).is_some() && as_table(b).is_some() {
                    // `__eq` may be called.
                    self.at_frame(f);
                }
                let eq = self.equals(a, b)?;
                Ok(Value::boolean(eq == (op == Eq)))
            }
            Lt => Ok(Value::boolean(self.less(f, a, b, false)?)),
            Le => Ok(Value::boolean(self.less(f, a, b, true)?)),
            Gt => Ok(Value::boolean(self.less(f, b, a, false)?)),
            Ge => Ok(Value::boolean(self.less(f, b, a, true)?)),
        }
    }

    /// Arithmetic on numbers; `None` never (kept for the shape of the fast path).
    fn arith(&mut self, f: &Frame, op: BinOp, x: Num, y: Num) -> LResult<Option<Value>> {
        use BinOp::*;
        let fl = |n: Num| match n {
            Num::Int(i) => i as f64,
            Num::Float(x) => x,
        };
        let r = match (op, x, y) {
            (Add, Num::Int(a), Num::Int(b)) => Num::Int(a.wrapping_add(b)),
            (Sub, Num::Int(a), Num::Int(b)) => Num::Int(a.wrapping_sub(b)),
            (Mul, Num::Int(a), Num::Int(b)) => Num::Int(a.wrapping_mul(b)),
            (IDiv, Num::Int(a), Num::Int(b)) => {
                if b == 0 {
                    return Err(self.rt_error(f, "attempt to divide by zero".into()));
                }
                Num::Int(
                    a.wrapping_div(b)
                        - if (a.wrapping_rem(b) != 0) && ((a < 0) != (b < 0)) {
                            1
                        } else {
                            0
                        },
                )
            }
            (Mod, Num::Int(a), Num::Int(b)) => {
                if b == 0 {
                    return Err(self.rt_error(f, "attempt to perform 'n%0'".into()));
                }
                let r = a.wrapping_rem(b);
                Num::Int(if r != 0 && (r ^ b) < 0 { r + b } else { r })
            }
            (Add, a, b) => Num::Float(fl(a) + fl(b)),
            (Sub, a, b) => Num::Float(fl(a) - fl(b)),
            (Mul, a, b) => Num::Float(fl(a) * fl(b)),
            (Div, a, b) => Num::Float(fl(a) / fl(b)),
            (Pow, a, b) => Num::Float(fl(a).powf(fl(b))),
            (IDiv, a, b) => Num::Float((fl(a) / fl(b)).floor()),
            (Mod, a, b) => {
                let (a, b) = (fl(a), fl(b));
                let m = a % b;
                Num::Float(if m != 0.0 && (m < 0.0) != (b < 0.0) {
                    m + b
                } else {
                    m
                })
            }
            _ => unreachable!("arithmetic operators only"),
        };
        Ok(Some(self.num(r)?))
    }

    #[allow(clippy::too_many_arguments)]
    fn meta_binary(
        &mut self,
        f: &Frame,
        ev: &[u8],
        a: Value,
        b: Value,
        lhs: &Expr,
        rhs: &Expr,
        what: &str,
    ) -> LResult<Value> {
        self.at_frame(f);
        let m = self.metamethod(a, ev).or_else(|| self.metamethod(b, ev));
        if let Some(m) = m {
            return self.call_meta1(m, &[a, b], ev);
        }
        // Arithmetic on a string that does not convert: lua5.4's string
        // metamethods raise "attempt to add a 'string' with a 'number'".
        if what == "perform arithmetic on" && (as_str(a).is_some() || as_str(b).is_some()) {
            let msg = format!(
                "attempt to {} a '{}' with a '{}'",
                String::from_utf8_lossy(&ev[2..]),
                Self::type_name(a),
                Self::type_name(b)
            );
            return Err(self.rt_error(f, msg));
        }
        // Blame the first operand unless it is a number (as luaG_opinterror).
        let (bad, e) = if as_num(a).is_none() {
            (a, lhs)
        } else {
            (b, rhs)
        };
        let msg = with_desc(
            format!("attempt to {what} a {} value", self.obj_type_name(bad)),
            e,
        );
        Err(self.rt_error(f, msg))
    }

    fn concat(&mut self, f: &Frame, a: Value, b: Value, lhs: &Expr, rhs: &Expr) -> LResult<Value> {
        if let (Some(x), Some(y)) = (as_str(a), as_str(b)) {
            if len(x) + len(y) > 1 {
                let r = heap::concat_strings(self.t, x, y);
                return self.mem(r);
            }
        }
        let sa = self.concat_piece(a);
        let sb = self.concat_piece(b);
        match (sa, sb) {
            (Some(x), Some(y)) => {
                let mut s = x;
                s.extend_from_slice(&y);
                self.string(&s)
            }
            (x, _) => {
                if let Some(m) = self
                    .metamethod(a, b"__concat")
                    .or_else(|| self.metamethod(b, b"__concat"))
                {
                    self.at_frame(f);
                    return self.call_meta1(m, &[a, b], b"__concat");
                }
                let (bad, e) = if x.is_none() { (a, lhs) } else { (b, rhs) };
                let msg = with_desc(
                    format!("attempt to concatenate a {} value", self.obj_type_name(bad)),
                    e,
                );
                Err(self.rt_error(f, msg))
            }
        }
    }

    /// The bytes a string or number contributes to a concatenation.
    pub fn concat_piece(&self, v: Value) -> Option<Vec<u8>> {
        if let Some(s) = as_str(v) {
            return Some(str_bytes(s).to_vec());
        }
        match as_num(v)? {
            Num::Int(i) => Some(i.to_string().into_bytes()),
            Num::Float(x) => Some(stdlib::lnum::fmt_float(x).into_bytes()),
        }
    }

    /// `a == b` with `__eq`.
    pub fn equals(&mut self, a: Value, b: Value) -> LResult<bool> {
        if raw_equal(a, b) {
            return Ok(true);
        }
        if let (Some(x), Some(y)) = (as_table(a), as_table(b)) {
            let m = table::metatable(x)
                .map(|mt| table::raw_get_str(mt, b"__eq"))
                .filter(|m| !m.is_nil())
                .or_else(|| {
                    table::metatable(y)
                        .map(|mt| table::raw_get_str(mt, b"__eq"))
                        .filter(|m| !m.is_nil())
                });
            if let Some(m) = m {
                return Ok(!self.call_meta1(m, &[a, b], b"__eq")?.is_falsy());
            }
        }
        Ok(false)
    }

    /// `a < b` (or `a <= b`) with `__lt`/`__le`.
    pub(crate) fn less(&mut self, f: &Frame, a: Value, b: Value, or_equal: bool) -> LResult<bool> {
        if let (Some(x), Some(y)) = (as_num(a), as_num(b)) {
            return Ok(num_less(x, y, or_equal));
        }
        self.at_frame(f);
        if let (Some(x), Some(y)) = (as_str(a), as_str(b)) {
            let (x, y) = (str_bytes(x), str_bytes(y));
            return Ok(if or_equal { x <= y } else { x < y });
        }
        let ev: &[u8] = if or_equal { b"__le" } else { b"__lt" };
        if let Some(m) = self.metamethod(a, ev).or_else(|| self.metamethod(b, ev)) {
            return Ok(!self.call_meta1(m, &[a, b], ev)?.is_falsy());
        }
        // lua5.4 as built (LUA_COMPAT_LT_LE): `a <= b` as `not (b < a)`.
        if or_equal {
            if let Some(m) = self
                .metamethod(b, b"__lt")
                .or_else(|| self.metamethod(a, b"__lt"))
            {
                return Ok(self.call_meta1(m, &[b, a], b"__le")?.is_falsy());
            }
        }
        let (ta, tb) = (self.obj_type_name(a), self.obj_type_name(b));
        let msg = if ta == tb {
            format!("attempt to compare two {ta} values")
        } else {
            format!("attempt to compare {ta} with {tb}")
        };
        Err(self.rt_error(f, msg))
    }

    /// `tostring(v)` with `__tostring` and `__name`.
    pub fn tostring(&mut self, v: Value) -> LResult<Vec<u8>> {
        if let Some(m) = self.metamethod(v, b"__tostring") {
            let r = self.call_meta1(m, &[v], b"__tostring")?;
            // As lua5.4 (`lua_isstring`): a number will do too.
            return match self.concat_piece(r) {
                Some(s) => Ok(s),
                None => Err(self.throw_msg("'__tostring' must return a string")),
            };
        }
        Ok(self.tostring_raw(v))
    }

    /// `tostring` without metamethods.
    pub fn tostring_raw(&self, v: Value) -> Vec<u8> {
        if let Some(p) = self.concat_piece(v) {
            return p;
        }
        if v.is_nil() {
            return b"nil".to_vec();
        }
        if let Some(b) = v.as_bool() {
            return if b {
                b"true".to_vec()
            } else {
                b"false".to_vec()
            };
        }
        let address = pseudo_address(v).expect("a function or an object");
        if v.as_builtin().is_some() {
            return format!("function: {address:#014x}").into_bytes();
        }
        let o = v.as_object().expect("an object");
        if kind(o) == Kind::Table && heap::is_file(o) {
            return format!("file ({address:#014x})").into_bytes();
        }
        let name = match self
            .metatable_of(v)
            .map(|mt| table::raw_get_str(mt, b"__name"))
            .and_then(as_str)
        {
            Some(s) => String::from_utf8_lossy(str_bytes(s)).into_owned(),
            None => Self::type_name(v).to_string(),
        };
        format!("{name}: {address:#014x}").into_bytes()
    }
}

/// The address `tostring` and `string.format("%p")` show for `v` (stable
/// while it lives: objects move, their identity hash does not); `None` for
/// a value that is no object nor function (lua5.4's `lua_topointer` is NULL).
pub fn pseudo_address(v: Value) -> Option<u64> {
    if let Some(b) = v.as_builtin() {
        return Some(0x5000_0000u64 + b as u64);
    }
    let o = v.as_object()?;
    // A string's status word caches its hash: that, not an identity hash
    // (which would overwrite a hash not computed yet).
    if let Some(s) = as_str(v) {
        return Some(0x5500_0000_0000u64 + heap::str_hash(s) as u64);
    }
    let base = if kind(o) == Kind::Table && heap::is_file(o) {
        0x5600_0000_0000u64
    } else {
        0x5500_0000_0000u64
    };
    Some(base + identity_hash(o) as u64)
}

/// "number has no integer representation", naming the operand as lua5.4 does.
fn no_integer_rep(operand: &Expr) -> String {
    match describe(operand) {
        Some(d) => format!("number ({d}) has no integer representation"),
        None => "number has no integer representation".into(),
    }
}

/// Whether `v` is a function (Lua or built-in).
pub fn is_function(v: Value) -> bool {
    v.as_builtin().is_some() || v.as_object().is_some_and(|o| kind(o) == Kind::Function)
}

/// Why `o[k] = v` failed ([`Interp::set_index_value`]).
#[derive(Debug)]
pub enum SetError {
    /// The value cannot be indexed (its type name).
    NotIndexable(&'static str),
    /// The key cannot be one (nil, NaN) or memory ran out.
    Key(KeyError),
    /// A metamethod raised an error.
    Thrown,
    /// `__newindex` chain too long.
    Loop,
}

/// Why `o[k]` failed ([`Interp::index_value`]).
#[derive(Debug)]
pub enum IndexError {
    /// The value cannot be indexed (its type name).
    NotIndexable(&'static str),
    /// A metamethod raised an error.
    Thrown,
    /// `__index` chain too long.
    Loop,
}

impl IndexError {
    /// lua5.4's message for it (without position or the value's name);
    /// `None` when a metamethod raised its own error.
    pub fn message(&self) -> Option<String> {
        match self {
            IndexError::NotIndexable(tn) => Some(format!("attempt to index a {tn} value")),
            IndexError::Loop => Some("'__index' chain too long; possible loop".into()),
            IndexError::Thrown => None,
        }
    }
}

impl SetError {
    /// lua5.4's message for it (without position or the value's name);
    /// `None` when a metamethod raised its own error or the key is the
    /// trouble (see [`Interp::key_error`]).
    pub fn message(&self) -> Option<String> {
        match self {
            SetError::NotIndexable(tn) => Some(format!("attempt to index a {tn} value")),
            SetError::Loop => Some("'__newindex' chain too long; possible loop".into()),
            SetError::Thrown | SetError::Key(_) => None,
        }
    }
}

fn shift_left(x: i64, n: i64) -> i64 {
    if n <= -64 || n >= 64 {
        0
    } else if n >= 0 {
        ((x as u64) << n) as i64
    } else {
        ((x as u64) >> (-n)) as i64
    }
}

/// `x < y` (or `<=`) across number subtypes, exactly.
pub fn num_less(x: Num, y: Num, or_equal: bool) -> bool {
    match (x, y) {
        (Num::Int(a), Num::Int(b)) => {
            if or_equal {
                a <= b
            } else {
                a < b
            }
        }
        (Num::Float(a), Num::Float(b)) => {
            if or_equal {
                a <= b
            } else {
                a < b
            }
        }
        (Num::Int(i), Num::Float(f)) => {
            if f.is_nan() {
                false
            } else if f >= TWO63_F {
                true
            } else if f < -TWO63_F {
                false
            } else if or_equal {
                i <= f.floor() as i64
            } else {
                i < f.ceil() as i64
            }
        }
        (Num::Float(f), Num::Int(i)) => {
            if f.is_nan() || f >= TWO63_F {
                false
            } else if f < -TWO63_F {
                true
            } else if or_equal {
                (f.ceil() as i64) <= i
            } else {
                (f.floor() as i64) < i
            }
        }
    }
}

/// A hasher for the interpreter's address-keyed maps (not exposed to input:
/// the keys are addresses of its own syntax tree).
#[derive(Default, Clone, Copy)]
pub struct FastHash;

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

/// The hasher of [`FastHash`]: multiply-rotate over the words written.
pub struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
}
