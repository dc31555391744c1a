//! luavm's JIT: compiles Lua functions to machine code through vmkit's
//! materializer (Cranelift).
//!
//! A compiled function runs on the same frame as the interpreter would: its
//! slots are on the value stack ([`crate::stack`]) at `fpos + 1..`, so the
//! collector finds every value it holds there, and the interpreter's
//! operations can run on it. The compiled code does itself what is common and
//! cheap: locals, upvalues and constants, integer and float arithmetic and
//! comparisons, truth tests, `if`, `while`, `repeat`, numeric and generic `for`,
//! `break`, `return` (tail calls included). Everything else goes to a runtime
//! function ([`hosts`]) that runs the interpreter's own code for that operation
//! on this frame: calls, table access, globals, metamethods, concatenation,
//! closures, table constructors, multiple assignment.
//!
//! Locals live in registers (Cranelift variables) and are written through
//! to their frame slots. The slots are the collector's view of them (the value
//! stack is a root, read through the personality's value encoding) and the
//! interpreter's, whose operations run on this frame. After every call that may
//! collect or run Lua code, each local is read from its slot again (a
//! collection may have moved what it refers to; the interpreter may have set
//! it); a reload nothing reads is removed by Cranelift.
//!
//! This is cheaper here than Cranelift's stack maps. Those spill every value
//! live across any call at its definition and reload it at every use, and
//! luavm's compiled code has a call on the slow path of nearly every
//! operation. With write-through, a loop that makes no call keeps its locals
//! in registers, with one store per assignment.
//!
//! Other values held in registers never outlive a call that may collect: what
//! must survive one is kept in a temporary slot of the frame.
//!
//! Functions the compiler does not take run on the interpreter, whole:
//! functions with `<close>` variables, functions of more than [`MAX_NODES`]
//! syntax nodes (`--jit-stats` counts them).
//!
//! A vararg function (every main chunk) is entered through `Interp::call`,
//! which lays its frame out as lua5.4 does: the varargs stay where the caller
//! put them, then a slot holding their count, then the closure and the fixed
//! parameters copied above them; the compiled code runs on that upper frame
//! and reads the varargs below it ([`hosts::h_varargs`]).
//!
//! Calling convention: `fn(thread, interp, fpos, nargs) -> r`, the callee at
//! stack index `fpos` and its arguments above it. `r > 0`: `r - 1` results at
//! `fpos..` (the stack's top); `r == 0`: an error was raised (the error value
//! and traceback are on the interpreter); `r < 0`: a tail call, the callee and
//! its `-r - 1` arguments at `fpos..`.

pub mod hosts;

use crate::interp::{Interp, CONSTS};
use crate::lang::ast::*;
use crate::value::Value as LValue;
use std::rc::Rc;
use vmkit::jit::cranelift_codegen::ir::{
    self, condcodes::FloatCC, condcodes::IntCC, types, InstBuilder, MemFlagsData, StackSlotData,
    StackSlotKind,
};
use vmkit::jit::cranelift_frontend::Variable;
use vmkit::jit::{EntryPoint, FnCtx, HostId, JitOptions, Materializer, Sig, ValType};

type V = ir::Value;

const NIL: i64 = (0xFFF9u64 << 48) as i64;
const FALSE: i64 = (0xFFFAu64 << 48) as i64;
const TRUE: i64 = FALSE | 1;
const INT_TAG: i64 = 0xFFFB;
const INT_BITS: i64 = (0xFFFBu64 << 48) as i64;
const PAYLOAD: i64 = (1 << 48) - 1;
const REF_BITS: i64 = ((crate::value::REF_TAG as u64) << 48) as i64;

/// Constructors with at most this many positional (or string-keyed) items
/// store them inline.
const INLINE_ITEMS: usize = 12;

/// The code of compiled prototypes, by prototype index (0: not compiled),
/// where compiled code reads it for direct calls: the table's address and
/// length.
static CODES: [std::sync::atomic::AtomicUsize; 2] = [
    std::sync::atomic::AtomicUsize::new(0),
    std::sync::atomic::AtomicUsize::new(0),
];

/// What the JIT knows of a prototype.
#[derive(Clone, Copy)]
pub enum State {
    /// Not called yet.
    Untried,
    /// Called once, on the interpreter: it has no loop (see [`has_loop`]).
    CalledOnce,
    /// Being compiled on the compiler thread ([`Worker`]); its calls run on
    /// the interpreter until the code is installed.
    Queued,
    /// Compiled: the way in.
    Compiled(EntryPoint),
    /// Runs on the interpreter (why).
    Interpreted(&'static str),
}

#[derive(Clone, Copy)]
struct Hosts {
    eval: HostId,
    exec: HostId,
    call: HostId,
    tail: HostId,
    ret: HostId,
    arith: HostId,
    unary: HostId,
    index: HostId,
    setindex: HostId,
    getglobal: HostId,
    setglobal: HostId,
    closure: HostId,
    newcell: HostId,
    setcell: HostId,
    bigint: HostId,
    forprep: HostId,
    forinit: HostId,
    forcall: HostId,
    overflow: HostId,
    cellparam: HostId,
    lookup: HostId,
    failed: HostId,
    newtable: HostId,
    tset: HostId,
    tsetpos: HostId,
    varargs: HostId,
    fastcall: HostId,
    strcmp: HostId,
    /// The value stack's base address and the address of its length word,
    /// and the same of the call-site buffer: fixed once made (before the
    /// first call), read here on the Lua thread so that code generation on
    /// the compiler thread does not touch the buffers' Lua-thread-only
    /// statics.
    stack_base: i64,
    stack_len: i64,
    /// Address of the running thread's frame limit ([`crate::stack::limit_address`]).
    stack_limit: i64,
    sites_base: i64,
    sites_len: i64,
}

/// The JIT of one interpreter.
pub struct Jit {
    /// The materializer and the runtime functions registered with it, made
    /// at the first compilation (a program whose functions all run once
    /// never pays for them: 0.7 ms of start-up).
    /// (`Err`: why it could not be made; not tried again.)
    backend: Option<Result<(&'static Materializer, Hosts), String>>,
    dump_clif: bool,
    /// By prototype index.
    pub state: Vec<State>,
    /// Functions compiled.
    pub compiled: usize,
    /// Functions left to the interpreter, by reason.
    pub interpreted: Vec<(&'static str, usize)>,
    /// Code addresses by prototype index (see [`CODES`]).
    codes: Vec<usize>,
    /// Compile every function on its first call, loops or not (`--jit-eager`).
    pub eager: bool,
    /// The compiler thread, started with the backend (`None` before, or when
    /// it could not start: then every compilation runs on the Lua thread).
    worker: Option<Worker>,
    /// Functions compiled on the compiler thread (and installed).
    pub compiled_in_background: usize,
    /// Of those, the ones still being compiled when the program ended
    /// (installed by [`Jit::wait_for_compiler`]).
    pub compiled_at_exit: usize,
    /// Compilations sent to the compiler thread and not installed yet.
    queued: usize,
}

/// A compilation for the compiler thread: the prototype's index, whether it
/// is a vararg function, the function's name, file and line, and its body
/// builder.
struct Job {
    pi: usize,
    vararg: bool,
    name: String,
    source: String,
    line: u32,
    body: vmkit::jit::BodyBuilder,
}

/// A finished compilation: the prototype's index, whether it is a vararg
/// function, and its way in and code address, or why it could not be
/// compiled.
type Done = (usize, bool, Result<(EntryPoint, usize), String>);

/// The compiler thread: a function without loops is compiled there on its
/// second call while the interpreter keeps running it (as HotSpot's compiler
/// threads do), and installed by the Lua thread the next time it calls a
/// function that is not compiled yet. Compiling only reads the prototype and
/// the constants made for it beforehand; it allocates nothing in the heap, so
/// the thread is no mutator and collections never wait for it.
struct Worker {
    jobs: std::sync::mpsc::Sender<Job>,
    done: std::sync::mpsc::Receiver<Done>,
    /// Set when the interpreter goes away: the thread drops the jobs still
    /// queued instead of compiling them.
    cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Worker {
    fn start(m: &'static Materializer) -> Option<Worker> {
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        let (tx, done) = std::sync::mpsc::channel::<Done>();
        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let cancelled = cancel.clone();
        std::thread::Builder::new()
            .name("lua-jit".into())
            .spawn(move || {
                for job in rx {
                    if cancelled.load(std::sync::atomic::Ordering::Acquire) {
                        break;
                    }
                    let Job {
                        pi,
                        vararg,
                        name,
                        source,
                        line,
                        body,
                    } = job;
                    let r = compile_now(m, &name, &source, line, body);
                    if tx.send((pi, vararg, r)).is_err() {
                        break;
                    }
                }
            })
            .ok()?;
        Some(Worker { jobs, done, cancel })
    }

    /// Stops the thread: the compilation under way finishes (it reads
    /// prototypes the interpreter owns), the queued ones are dropped.
    fn stop(self) {
        self.cancel
            .store(true, std::sync::atomic::Ordering::Release);
        drop(self.jobs);
        // The thread drops its sender when it leaves its loop.
        while self.done.recv().is_ok() {}
    }
}

/// Declares and compiles one function: its way in and code address.
fn compile_now(
    m: &'static Materializer,
    name: &str,
    source: &str,
    line: u32,
    body: vmkit::jit::BodyBuilder,
) -> Result<(EntryPoint, usize), String> {
    let sig = Sig::new(&[ValType::I64; 3], &[ValType::I64]);
    let f = m.declare(name, source, sig, body).map_err(|e| e.0)?;
    m.set_decl_line(f, line);
    m.compile(f).map_err(|e| e.0)?;
    Ok((m.entry_point(f).map_err(|e| e.0)?, m.entry_address(f)))
}

impl Jit {
    /// A JIT (after `vmkit::vm::start`); its materializer is made at the
    /// first compilation ([`Jit::backend`]). Checks now that Cranelift
    /// supports this machine, so that a JIT that cannot start is reported
    /// before the program runs.
    pub fn new(dump_clif: bool) -> Result<Jit, String> {
        vmkit::jit::check_host_isa().map_err(|e| e.0)?;
        Ok(Jit {
            backend: None,
            dump_clif,
            state: Vec::new(),
            compiled: 0,
            interpreted: Vec::new(),
            codes: Vec::new(),
            eager: false,
            worker: None,
            compiled_in_background: 0,
            compiled_at_exit: 0,
            queued: 0,
        })
    }

    /// The materializer and the registered runtime functions, made now if
    /// this is the first compilation. The first failure is said (Cranelift
    /// supports this machine, checked at start-up, so it is a bug of ours);
    /// every function then runs on the interpreter.
    fn backend(&mut self) -> Option<(&'static Materializer, Hosts)> {
        let dump_clif = self.dump_clif;
        let mut started = false;
        let b = self.backend.get_or_insert_with(|| {
            let b = Self::make_backend(dump_clif);
            if let Err(e) = &b {
                eprintln!(
                    "luavm: internal error: the JIT cannot start: {e}; running on the interpreter"
                );
            }
            started = true;
            b
        });
        let b = b.as_ref().ok().copied();
        if started && !self.eager {
            // Without a compiler thread (the system refused one) every
            // compilation runs on the Lua thread, as under --jit-eager.
            self.worker = b.and_then(|(m, _)| Worker::start(m));
        }
        b
    }

    /// Waits for the compiler thread to finish what it was given, and
    /// installs it (for statistics that count every compilation).
    pub fn wait_for_compiler(&mut self) {
        self.install_finished(true);
    }

    /// Installs what the compiler thread has finished; with `wait`, all it
    /// was given (counted as finished after the program).
    fn install_finished(&mut self, wait: bool) {
        while self.queued > 0 {
            let Some(w) = &self.worker else { return };
            let done = if wait {
                w.done.recv().ok()
            } else {
                w.done.try_recv().ok()
            };
            let Some((pi, vararg, r)) = done else { return };
            if wait {
                self.compiled_at_exit += r.is_ok() as usize;
            }
            self.install(pi, vararg, r);
        }
    }

    /// The way into prototype `pi` if it is compiled.
    fn entry(&self, pi: usize) -> Option<EntryPoint> {
        match self.state[pi] {
            State::Compiled(e) => Some(e),
            _ => None,
        }
    }

    /// Installs a finished compilation of prototype `pi` (from either thread).
    fn install(&mut self, pi: usize, vararg: bool, r: Result<(EntryPoint, usize), String>) {
        if let State::Queued = self.state[pi] {
            self.queued -= 1;
            self.compiled_in_background += r.is_ok() as usize;
        }
        match r {
            Ok((e, code)) => {
                self.state[pi] = State::Compiled(e);
                if self.codes.len() <= pi {
                    self.codes.resize(pi + 1, 0);
                }
                // A vararg function is entered through `Interp::call`, which
                // moves its fixed parameters above the varargs: compiled code
                // does not call it directly (its entry stays 0 here).
                if !vararg {
                    self.codes[pi] = code;
                }
                use std::sync::atomic::Ordering::Relaxed;
                CODES[0].store(self.codes.as_ptr() as usize, Relaxed);
                CODES[1].store(self.codes.len(), Relaxed);
                self.compiled += 1;
            }
            Err(msg) => {
                if std::env::var_os("LUAVM_JIT_DEBUG").is_some() {
                    eprintln!("luavm: JIT: prototype {pi}: {msg}");
                }
                self.state[pi] = State::Interpreted("compile error");
                self.note_interpreted("compile error");
            }
        }
    }

    fn make_backend(dump_clif: bool) -> Result<(&'static Materializer, Hosts), String> {
        let opts = JitOptions {
            dump_clif,
            ..JitOptions::default()
        };
        let m = Materializer::new(opts).map_err(|e| e.0)?;
        use ValType::I64;
        let reg = |name: &str, params: usize, results: usize, ptr: *const u8, gc: bool| {
            m.register_host(
                name,
                Sig::new(&vec![I64; params], &vec![I64; results]),
                ptr,
                gc,
            )
            .map_err(|e| e.0)
        };
        use hosts::*;
        let h = Hosts {
            eval: reg("lua_eval", 5, 2, h_eval as *const u8, true)?,
            exec: reg("lua_exec", 5, 2, h_exec as *const u8, true)?,
            call: reg("lua_call", 8, 1, h_call as *const u8, true)?,
            tail: reg("lua_tail", 7, 2, h_tail as *const u8, true)?,
            ret: reg("lua_ret", 3, 0, h_ret as *const u8, false)?,
            arith: reg("lua_arith", 7, 2, h_arith as *const u8, true)?,
            unary: reg("lua_unary", 6, 2, h_unary as *const u8, true)?,
            index: reg("lua_index", 8, 2, h_index as *const u8, true)?,
            setindex: reg("lua_setindex", 8, 1, h_setindex as *const u8, true)?,
            getglobal: reg("lua_getglobal", 5, 2, h_getglobal as *const u8, true)?,
            setglobal: reg("lua_setglobal", 6, 1, h_setglobal as *const u8, true)?,
            closure: reg("lua_closure", 5, 2, h_closure as *const u8, true)?,
            newcell: reg("lua_newcell", 5, 2, h_newcell as *const u8, true)?,
            setcell: reg("lua_setcell", 2, 0, h_setcell as *const u8, true)?,
            bigint: reg("lua_bigint", 5, 2, h_bigint as *const u8, true)?,
            forprep: reg("lua_forprep", 6, 1, h_forprep as *const u8, true)?,
            forinit: reg("lua_forinit", 5, 1, h_forinit as *const u8, true)?,
            forcall: reg("lua_forcall", 5, 1, h_forcall as *const u8, true)?,
            overflow: reg("lua_overflow", 4, 1, h_overflow as *const u8, true)?,
            cellparam: reg("lua_cellparam", 4, 1, h_cellparam as *const u8, true)?,
            lookup: reg("lua_lookup_ic", 3, 2, h_lookup_ic as *const u8, false)?,
            failed: reg("lua_failed", 4, 0, h_failed as *const u8, true)?,
            newtable: reg("lua_newtable", 6, 2, h_newtable as *const u8, true)?,
            tset: reg("lua_tset", 7, 1, h_tset as *const u8, true)?,
            tsetpos: reg("lua_tsetpos", 7, 1, h_tsetpos as *const u8, true)?,
            varargs: reg("lua_varargs", 5, 1, h_varargs as *const u8, false)?,
            fastcall: reg("lua_fastcall", 3, 1, h_fastcall as *const u8, false)?,
            strcmp: reg("lua_strcmp", 2, 1, h_strcmp as *const u8, false)?,
            stack_base: crate::stack::base_address() as i64,
            stack_len: crate::stack::len_address() as i64,
            stack_limit: crate::stack::limit_address() as i64,
            sites_base: crate::sites::base_address() as i64,
            sites_len: crate::sites::len_address() as i64,
        };
        Ok((m, h))
    }

    /// The materializer's statistics (zeros before the first compilation).
    pub fn stats(&self) -> vmkit::jit::JitStats {
        match &self.backend {
            Some(Ok((m, _))) => m.stats(),
            _ => vmkit::jit::JitStats::default(),
        }
    }

    fn note_interpreted(&mut self, why: &'static str) {
        match self.interpreted.iter_mut().find(|(w, _)| *w == why) {
            Some((_, n)) => *n += 1,
            None => self.interpreted.push((why, 1)),
        }
    }
}

/// Why a prototype cannot be compiled, if it cannot.
fn unsupported(p: &Function) -> Option<&'static str> {
    fn block(b: &Block) -> Option<&'static str> {
        b.stats.iter().find_map(stat)
    }
    fn stat(s: &Stat) -> Option<&'static str> {
        match s {
            Stat::Local { decls, .. } if decls.iter().any(|d| d.close) => Some("<close> variable"),
            Stat::Do(b) | Stat::While { body: b, .. } | Stat::Repeat { body: b, .. } => block(b),
            Stat::NumericFor { body, .. } | Stat::GenericFor { body, .. } => block(body),
            Stat::If { arms, otherwise } => arms
                .iter()
                .find_map(|(_, b)| block(b))
                .or_else(|| otherwise.as_ref().and_then(block)),
            _ => None,
        }
    }
    if let Some(why) = block(&p.body) {
        return Some(why);
    }
    if size(&p.body) > MAX_NODES {
        return Some("more than 8,000 syntax nodes");
    }
    None
}

/// A function of more syntax nodes than this runs its first call on the
/// interpreter, loops or not: compile time grows faster than the code (a
/// generated 370-line main chunk of 3,000 nodes took 0.54 s to compile, and
/// ran once), and a big function is most often a main chunk or a module body.
const FIRST_CALL_NODES: usize = 1500;

/// Whether a block has a loop (not counting nested functions).
fn has_loop(b: &Block) -> bool {
    b.stats.iter().any(|s| match s {
        Stat::While { .. }
        | Stat::Repeat { .. }
        | Stat::NumericFor { .. }
        | Stat::GenericFor { .. }
        | Stat::Goto { .. } => true,
        Stat::Do(b) => has_loop(b),
        Stat::If { arms, otherwise } => {
            arms.iter().any(|(_, b)| has_loop(b)) || otherwise.as_ref().is_some_and(has_loop)
        }
        _ => false,
    })
}

/// Functions of more syntax nodes than this run on the interpreter: compile
/// time and memory grow faster than the code (a function of 20,000 statements
/// took a minute and 1.5 GB to compile), as HotSpot declines huge methods.
const MAX_NODES: usize = 8000;

/// Syntax nodes of a block (statements and expressions, not counting nested
/// functions, which are compiled on their own).
fn size(b: &Block) -> usize {
    fn expr(e: &Expr) -> usize {
        1 + match e {
            Expr::Index { obj, key, .. } => expr(obj) + expr(key),
            Expr::Call { func, args, .. } => expr(func) + args.iter().map(expr).sum::<usize>(),
            Expr::Method { obj, args, .. } => expr(obj) + args.iter().map(expr).sum::<usize>(),
            Expr::Binary { lhs, rhs, .. } => expr(lhs) + expr(rhs),
            Expr::Unary { operand, .. } => expr(operand),
            Expr::And(a, b) | Expr::Or(a, b) => expr(a) + expr(b),
            Expr::Paren(e) => expr(e),
            Expr::Table { items, .. } => items
                .iter()
                .map(|i| match i {
                    TableItem::Positional(e) => expr(e),
                    TableItem::Keyed(k, v) => expr(k) + expr(v),
                })
                .sum(),
            _ => 0,
        }
    }
    fn exprs(es: &[Expr]) -> usize {
        es.iter().map(expr).sum()
    }
    b.stats
        .iter()
        .map(|s| {
            1 + match s {
                Stat::Local { exprs: es, .. } | Stat::Return { exprs: es, .. } => exprs(es),
                Stat::Assign {
                    targets, exprs: es, ..
                } => {
                    exprs(es)
                        + targets
                            .iter()
                            .map(|t| match t {
                                Place::Index { obj, key, .. } => expr(obj) + expr(key),
                                _ => 1,
                            })
                            .sum::<usize>()
                }
                Stat::Call(e) => expr(e),
                Stat::Do(b) => size(b),
                Stat::While { cond, body } | Stat::Repeat { body, cond } => expr(cond) + size(body),
                Stat::If { arms, otherwise } => {
                    arms.iter().map(|(c, b)| expr(c) + size(b)).sum::<usize>()
                        + otherwise.as_ref().map_or(0, size)
                }
                Stat::NumericFor {
                    start,
                    limit,
                    step,
                    body,
                    ..
                } => expr(start) + expr(limit) + step.as_ref().map_or(0, expr) + size(body),
                Stat::GenericFor {
                    exprs: es, body, ..
                } => exprs(es) + size(body),
                _ => 0,
            }
        })
        .sum()
}

/// Every string constant a prototype's compiled code loads: literals, global
/// names, field and method names (the strings are made before compiling).
fn strings<'a>(p: &'a Function, out: &mut Vec<&'a Bytes>) {
    fn expr<'a>(e: &'a Expr, out: &mut Vec<&'a Bytes>) {
        match e {
            Expr::Str(s) | Expr::Global(s) => out.push(s),
            Expr::Index { obj, key, .. } => {
                expr(obj, out);
                expr(key, out);
            }
            Expr::Call { func, args, .. } => {
                expr(func, out);
                args.iter().for_each(|a| expr(a, out));
            }
            Expr::Method {
                obj, name, args, ..
            } => {
                expr(obj, out);
                out.push(name);
                args.iter().for_each(|a| expr(a, out));
            }
            Expr::Binary { lhs, rhs, .. } => {
                expr(lhs, out);
                expr(rhs, out);
            }
            Expr::Unary { operand, .. } => expr(operand, out),
            Expr::And(a, b) | Expr::Or(a, b) => {
                expr(a, out);
                expr(b, out);
            }
            Expr::Paren(e) => expr(e, out),
            Expr::Table { items, .. } => {
                for i in items {
                    match i {
                        TableItem::Positional(e) => expr(e, out),
                        TableItem::Keyed(k, v) => {
                            expr(k, out);
                            expr(v, out);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    fn block<'a>(b: &'a Block, out: &mut Vec<&'a Bytes>) {
        for s in &b.stats {
            match s {
                Stat::Local { exprs, .. } => exprs.iter().for_each(|e| expr(e, out)),
                Stat::Assign { targets, exprs, .. } => {
                    for t in targets {
                        match t {
                            Place::Global(n) => out.push(n),
                            Place::Index { obj, key, .. } => {
                                expr(obj, out);
                                expr(key, out);
                            }
                            _ => {}
                        }
                    }
                    exprs.iter().for_each(|e| expr(e, out));
                }
                Stat::Call(e) => expr(e, out),
                Stat::Do(b) => block(b, out),
                Stat::While { cond, body } | Stat::Repeat { body, cond } => {
                    expr(cond, out);
                    block(body, out);
                }
                Stat::If { arms, otherwise } => {
                    for (c, b) in arms {
                        expr(c, out);
                        block(b, out);
                    }
                    if let Some(b) = otherwise {
                        block(b, out);
                    }
                }
                Stat::NumericFor {
                    start,
                    limit,
                    step,
                    body,
                    ..
                } => {
                    expr(start, out);
                    expr(limit, out);
                    if let Some(s) = step {
                        expr(s, out);
                    }
                    block(body, out);
                }
                Stat::GenericFor { body, .. } => block(body, out),
                Stat::Return { exprs, .. } => exprs.iter().for_each(|e| expr(e, out)),
                _ => {}
            }
        }
    }
    block(&p.body, out);
}

struct SendPtr(*const Function, Vec<(usize, usize, u32, bool)>);

impl SendPtr {
    fn get(&self) -> (&Function, &[(usize, usize, u32, bool)]) {
        // SAFETY: the prototype is kept by `Interp::protos` until the
        // interpreter is dropped, which first stops the compiler thread and
        // waits for the compilation under way (`Drop for Interp`); nothing
        // writes a syntax tree after parsing, and code generation only reads
        // it (it clones no `Rc` of it).
        (unsafe { &*self.0 }, &self.1)
    }
}
// SAFETY: the body builder runs inside `Materializer::compile`, on the Lua
// thread or on the compiler thread ([`Worker`]); either way it only reads the
// prototype (see `get`), which outlives it.
unsafe impl Send for SendPtr {}
// SAFETY: as above.
unsafe impl Sync for SendPtr {}

impl Drop for Interp<'_> {
    fn drop(&mut self) {
        // The compiler thread reads prototypes this interpreter owns: stop it
        // (a program that made thousands of functions must not wait at its
        // end for them to be compiled).
        if let Some(w) = self.jit.as_mut().and_then(|j| j.worker.take()) {
            w.stop();
        }
    }
}

impl Interp<'_> {
    /// The compiled code of prototype `pi`, compiling it on its first call;
    /// `None` when it runs on the interpreter.
    #[inline]
    pub(crate) fn jit_entry(&mut self, pi: usize) -> Option<EntryPoint> {
        let jit = self.jit.as_mut()?;
        if let Some(State::Compiled(e)) = jit.state.get(pi) {
            return Some(*e);
        }
        self.jit_entry_slow(pi)
    }

    fn jit_entry_slow(&mut self, pi: usize) -> Option<EntryPoint> {
        let jit = self.jit.as_mut()?;
        if jit.state.len() <= pi {
            jit.state.resize(pi + 1, State::Untried);
        }
        // Install whatever the compiler thread finished meanwhile.
        jit.install_finished(false);
        let second_call = match jit.state[pi] {
            State::Compiled(e) => return Some(e),
            State::Interpreted(_) | State::Queued => return None,
            State::Untried => {
                // A function without loops, or a big one, runs its first call
                // on the interpreter: most such functions run once (main
                // chunks and modules that define things), and compiling them
                // costs more than interpreting them (DeltaBlue's harness and
                // modules: 1.5% of the run). The second call compiles it.
                let body = &self.protos[pi].0.body;
                if std::env::var_os("LUAVM_JIT_DEBUG").is_some() {
                    eprintln!(
                        "luavm: JIT: {}: {} nodes",
                        self.protos[pi].0.name,
                        size(body)
                    );
                }
                if !jit.eager && (!has_loop(body) || size(body) > FIRST_CALL_NODES) {
                    jit.state[pi] = State::CalledOnce;
                    return None;
                }
                false
            }
            State::CalledOnce => true,
        };
        let proto = self.protos[pi].0.clone();
        if let Some(why) = unsupported(&proto) {
            let jit = self.jit.as_mut().expect("checked");
            jit.state[pi] = State::Interpreted(why);
            jit.note_interpreted(why);
            return None;
        }
        // The string constants the code loads, made now (compiling must not
        // allocate): their indices in the constants array.
        let mut strs = Vec::new();
        strings(&proto, &mut strs);
        let mut consts = Vec::new();
        for s in strs {
            if self.constant(s).is_err() {
                // Out of memory: this call runs on the interpreter (which
                // raises it when it needs the string); the next one tries
                // again.
                return None;
            }
            let key = (s.as_ptr() as usize, s.len());
            let idx = self.consts[&key];
            let v = self.constant(s).expect("made above");
            let hash = crate::heap::str_hash(v.as_object().expect("a string"));
            // A constant longer than an interned string may be equal to a
            // key that is another object: its probes compare hashes.
            consts.push((key.0, idx, hash, s.len() > crate::heap::INTERN_MAX));
        }
        let jit = self.jit.as_mut().expect("checked");
        let (m, hosts) = match jit.backend() {
            Some(b) => b,
            None => {
                jit.state[pi] = State::Interpreted("the JIT cannot start");
                jit.note_interpreted("the JIT cannot start");
                return None;
            }
        };
        let captured = self.protos[pi].1.clone();
        let data = SendPtr(Rc::as_ptr(&proto), consts);
        let body: vmkit::jit::BodyBuilder = Box::new(move |fx: &mut FnCtx<'_, '_>| {
            let (p, consts) = data.get();
            Cg::compile(fx, p, pi, hosts, consts, &captured)
        });
        let name = format!("{} ({}:{})", proto.name, proto.source, proto.line);
        let vararg = proto.is_vararg;
        // A function's second call (it has no loop, or is big) hands it to the
        // compiler thread and runs on the interpreter; a function with a loop
        // is compiled now, on its first call: its loop may be where the
        // program spends its time, and a running call cannot switch to
        // compiled code.
        let mut job = Job {
            pi,
            vararg,
            name,
            source: proto.source.to_string(),
            line: proto.line,
            body,
        };
        if second_call {
            if let Some(w) = &jit.worker {
                match w.jobs.send(job) {
                    Ok(()) => {
                        jit.state[pi] = State::Queued;
                        jit.queued += 1;
                        return None;
                    }
                    // The thread is gone: compile here from now on.
                    Err(e) => {
                        jit.worker = None;
                        job = e.0;
                    }
                }
            }
        }
        let r = compile_now(m, &job.name, &job.source, job.line, job.body);
        jit.install(pi, vararg, r);
        jit.entry(pi)
    }
}

/// The code generator of one function.
struct Cg<'f, 'a, 'b> {
    fx: &'f mut FnCtx<'a, 'b>,
    p: &'f Function,
    pi: i64,
    h: Hosts,
    consts: &'f [(usize, usize, u32, bool)],
    it: V,
    fpos: V,
    /// Address of slot 0.
    bp: V,
    /// Stack index one past the frame's last slot (patched at the end).
    frame_end: V,
    frame_end_inst: ir::Inst,
    /// Temporaries in use (slots `p.slots + k`) and the most ever.
    temps: u32,
    max_temps: u32,
    /// Exit blocks of the enclosing loops, innermost last.
    breaks: Vec<ir::Block>,
    /// The block of each label, by id (made at the first `goto` or the label,
    /// whichever comes first: the parser checked that each `goto` sees its
    /// label).
    labels: std::collections::HashMap<u32, ir::Block>,
    /// The block returning 0 (an error was raised).
    fail: ir::Block,
    line: u32,
    /// Scratch words for the numeric `for` preparation.
    scratch: ir::StackSlot,
    /// The locals (slots `0..p.slots`) as variables: read from registers,
    /// written through to their slots (what the collector scans and the
    /// interpreter's operations read), defined again from the slots after
    /// every call that may collect or run Lua code ([`Cg::reload_locals`]).
    lvars: Vec<Variable>,
    /// Slots `0..nactive` may hold locals in scope: the ones
    /// [`Cg::reload_locals`] reloads (a local out of scope is not read again
    /// before it is set anew).
    nactive: u32,
    /// Temporaries kept in registers (by temporary index): a value that only
    /// has to survive the evaluation of another expression lives in a
    /// variable; its slot is written only before a call that may collect
    /// ([`Cg::spill_temps`]), and the variable is defined again from the slot
    /// after it, as the locals are. The fast paths then neither store nor
    /// reload it.
    tvars: Vec<Variable>,
    /// The temporaries whose value is in their variable, not yet in their
    /// slot (those at or past `temps` were released).
    lazy: Vec<u32>,
    /// Direct calls whose caller uses at most one result: the block that
    /// sets the frame's slots above the call's position to nil after the call
    /// returns (filled in at the end, when the frame's size is known), the
    /// block it continues in, and the call's slot ([`Cg::fill_above`]).
    fills: Vec<(ir::Block, ir::Block, u32)>,
}

/// The most slots [`Cg::fill_above`] sets to nil with one store each (more
/// in a loop).
const MAX_UNROLLED_FILL: u32 = 24;

fn fl() -> MemFlagsData {
    MemFlagsData::trusted()
}

impl<'f, 'a, 'b> Cg<'f, 'a, 'b> {
    fn compile(
        fx: &'f mut FnCtx<'a, 'b>,
        p: &'f Function,
        pi: usize,
        h: Hosts,
        consts: &'f [(usize, usize, u32, bool)],
        captured: &[bool],
    ) -> Result<(), String> {
        let params = fx.params().to_vec();
        let (it, fpos, nargs) = (params[0], params[1], params[2]);
        let b = &mut fx.b;
        let frame_end = b.ins().iconst(types::I64, 0);
        let frame_end_inst = b.func.dfg.value_def(frame_end).unwrap_inst();
        let frame_end = b.ins().iadd(fpos, frame_end);
        let base_addr = b.ins().iconst(types::I64, h.stack_base);
        let off = b.ins().imul_imm_s(fpos, 8);
        let bp = b.ins().iadd(base_addr, off);
        let bp = b.ins().iadd_imm_s(bp, 8);
        // The frame's address as one opaque value: Cranelift's x64 lowering
        // otherwise folds `base + fpos * 8 + 8` into every slot access, which
        // keeps both the stack's base and `fpos` live across the function
        // (a register more, and `fpos` spilled and reloaded at each access in
        // loops with calls). `select_spectre_guard` of two different values
        // on a condition not known at compile time is never simplified away
        // (`fpos` is never -1).
        let never = b.ins().icmp_imm_s(IntCC::Equal, fpos, -1);
        let bp = b.ins().select_spectre_guard(never, base_addr, bp);
        let fail = b.create_block();
        b.set_cold_block(fail);
        let init = b.create_block();
        let body = b.create_block();
        b.ins().jump(init, &[]);
        let scratch =
            b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 24, 3));
        let mut cg = Cg {
            fx,
            p,
            pi: pi as i64,
            h,
            consts,
            it,
            fpos,
            bp,
            frame_end,
            frame_end_inst,
            temps: 0,
            max_temps: 0,
            breaks: Vec::new(),
            labels: std::collections::HashMap::new(),
            fail,
            line: p.line,
            scratch,
            lvars: Vec::new(),
            nactive: p.params,
            tvars: Vec::new(),
            lazy: Vec::new(),
            fills: Vec::new(),
        };
        for _ in 0..p.slots {
            let v = cg.fx.b.declare_var(types::I64);
            cg.lvars.push(v);
        }
        cg.fx.b.switch_to_block(body);
        cg.block(&p.body)?;
        if !cg.terminated() {
            // Falling off the end: no results.
            cg.set_len(cg.fpos);
            let one = cg.iconst(1);
            cg.fx.b.ins().return_(&[one]);
        }
        // The error exit.
        cg.fx.b.switch_to_block(fail);
        let zero = cg.iconst(0);
        cg.fx.b.ins().return_(&[zero]);
        // Frame set-up, now that the frame's size is known.
        let size = p.slots + cg.max_temps + 1;
        for (fill, cont, callpos) in std::mem::take(&mut cg.fills) {
            cg.fill_above(fill, cont, callpos, size);
        }
        cg.fx
            .b
            .func
            .replace(cg.frame_end_inst)
            .iconst(types::I64, size as i64 + 1);
        cg.fx.b.switch_to_block(init);
        // The running thread's limit (each coroutine's region has its own).
        let la = cg.iconst(cg.h.stack_limit);
        let limit = cg.fx.b.ins().load(types::I64, fl(), la, 0);
        let over = cg
            .fx
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThan, cg.frame_end, limit);
        let overflow = cg.fx.b.create_block();
        let fill = cg.fx.b.create_block();
        cg.fx.b.set_cold_block(overflow);
        cg.fx.b.ins().brif(over, overflow, &[], fill, &[]);
        cg.fx.b.switch_to_block(overflow);
        let (it, fpos) = (cg.it, cg.fpos);
        let pi = cg.iconst(cg.pi);
        let line = cg.iconst(p.line as i64);
        cg.fx.call_host(h.overflow, &[it, fpos, pi, line]);
        cg.fx.b.ins().jump(fail, &[]);
        cg.fx.b.switch_to_block(fill);
        // Missing parameters and every other slot start nil.
        let nil = cg.iconst(NIL);
        for i in 0..size {
            let addr_off = (8 * i) as i32;
            if i < p.params {
                let have = cg
                    .fx
                    .b
                    .ins()
                    .icmp_imm_s(IntCC::UnsignedGreaterThan, nargs, i as i64);
                let cur = cg.fx.b.ins().load(types::I64, fl(), cg.bp, addr_off);
                let v = cg.fx.b.ins().select(have, cur, nil);
                cg.fx.b.ins().store(fl(), v, cg.bp, addr_off);
            } else {
                cg.fx.b.ins().store(fl(), nil, cg.bp, addr_off);
            }
        }
        let fe = cg.frame_end;
        cg.set_len(fe);
        for (i, c) in captured.iter().enumerate() {
            if *c {
                let slot = cg.fx.b.ins().iadd_imm_s(cg.fpos, 1 + i as i64);
                let pi = cg.iconst(cg.pi);
                let r = cg.fx.call_host(h.cellparam, &[it, fpos, pi, slot])[0];
                cg.check(r);
            }
        }
        // Every local's variable starts from its slot (nil but the
        // parameters).
        cg.nactive = p.slots;
        cg.reload_locals();
        cg.fx.b.ins().jump(body, &[]);
        Ok(())
    }

    // ------------------------------------------------------------ helpers

    /// Continues in a new block when `cond` holds, else goes to `otherwise`.
    fn guard(&mut self, cond: V, otherwise: ir::Block) {
        let ok = self.fx.b.create_block();
        self.fx.b.ins().brif(cond, ok, &[], otherwise, &[]);
        self.fx.b.switch_to_block(ok);
    }

    /// Non-zero when `v` is a reference (an object).
    fn is_ref(&mut self, v: V) -> V {
        let tag = self.tag(v);
        self.fx.b.ins().icmp_imm_s(IntCC::Equal, tag, 0xFFFC)
    }

    fn iconst(&mut self, x: i64) -> V {
        self.fx.b.ins().iconst(types::I64, x)
    }

    fn terminated(&self) -> bool {
        let b = self.fx.b.current_block().expect("a block");
        self.fx
            .b
            .func
            .layout
            .last_inst(b)
            .is_some_and(|i| self.fx.b.func.dfg.insts[i].opcode().is_terminator())
    }

    /// Starts a new block if the current one ended (code after `break` or
    /// `return` in the same block is unreachable but still compiled).
    fn ensure_open(&mut self) {
        if self.terminated() {
            let b = self.fx.b.create_block();
            self.fx.b.switch_to_block(b);
        }
    }

    fn set_len(&mut self, len: V) {
        let addr = self.iconst(self.h.stack_len);
        self.fx.b.ins().store(fl(), len, addr, 0);
    }

    /// Continues when `r` (a host's status) is not 0, else goes to the error exit.
    fn check(&mut self, r: V) {
        let ok = self.fx.b.create_block();
        self.fx.b.ins().brif(r, ok, &[], self.fail, &[]);
        self.fx.b.switch_to_block(ok);
        self.fx.b.seal_block(ok);
    }

    /// The common leading host arguments: interp, fpos, prototype, line.
    fn head(&mut self) -> Vec<V> {
        let pi = self.iconst(self.pi);
        let line = self.iconst(self.line as i64);
        vec![self.it, self.fpos, pi, line]
    }

    fn ptr<T>(&mut self, r: &T) -> V {
        self.iconst(r as *const T as i64)
    }

    /// Calls a host returning (status, value); the value, after the check.
    fn host_value(&mut self, h: HostId, extra: &[V]) -> V {
        let mut args = self.head();
        args.extend_from_slice(extra);
        let r = self.call_host(h, &args);
        self.check(r[0]);
        r[1]
    }

    fn slot_off(slot: u32) -> i32 {
        (8 * slot) as i32
    }

    fn load_slot(&mut self, slot: u32) -> V {
        self.fx
            .b
            .ins()
            .load(types::I64, fl(), self.bp, Self::slot_off(slot))
    }

    fn store_slot(&mut self, slot: u32, v: V) {
        self.fx
            .b
            .ins()
            .store(fl(), v, self.bp, Self::slot_off(slot));
    }

    /// Local `slot`'s value (from its variable).
    fn local_load(&mut self, slot: u32) -> V {
        let var = self.lvars[slot as usize];
        self.fx.b.use_var(var)
    }

    /// Sets local `slot`: its variable, and its slot (written through).
    fn local_store(&mut self, slot: u32, v: V) {
        let var = self.lvars[slot as usize];
        self.fx.b.def_var(var, v);
        self.store_slot(slot, v);
    }

    /// Defines every local's variable from its slot: after a call that may
    /// have collected (moving objects: the collector updated the slots) or
    /// run the interpreter's code on this frame (which may have set a local).
    /// A reload nothing reads is dead code, which Cranelift removes.
    fn reload_locals(&mut self) {
        for slot in 0..self.nactive.min(self.lvars.len() as u32) {
            let v = self.load_slot(slot);
            let var = self.lvars[slot as usize];
            self.fx.b.def_var(var, v);
        }
        self.reload_temps();
    }

    /// Defines the variables of the temporaries kept in registers from their
    /// slots (after a call that may collect: see [`Cg::spill_temps`]).
    fn reload_temps(&mut self) {
        for i in 0..self.lazy.len() {
            let k = self.lazy[i];
            if k < self.temps {
                let v = self.load_slot(self.p.slots + k);
                self.fx.b.def_var(self.tvars[k as usize], v);
            }
        }
    }

    /// Writes the temporaries kept in registers to their slots, where the
    /// collector finds (and updates) them: before a call that may collect.
    fn spill_temps(&mut self) {
        for i in 0..self.lazy.len() {
            let k = self.lazy[i];
            if k < self.temps {
                let v = self.fx.b.use_var(self.tvars[k as usize]);
                self.store_slot(self.p.slots + k, v);
            }
        }
    }

    /// Calls a host; then the locals are read from their slots again, unless
    /// the host is one that neither collects nor writes the value stack.
    fn call_host(&mut self, h: HostId, args: &[V]) -> Vec<V> {
        let quiet =
            h == self.h.lookup || h == self.h.ret || h == self.h.fastcall || h == self.h.strcmp;
        if !quiet {
            self.spill_temps();
        }
        let r = self.fx.call_host(h, args);
        if !quiet {
            self.reload_locals();
        }
        r
    }

    fn alloc_temp(&mut self) -> u32 {
        let t = self.temps;
        self.temps += 1;
        self.max_temps = self.max_temps.max(self.temps);
        // A fresh use of the slot: whatever was kept for it before is gone.
        self.lazy.retain(|&k| k != t);
        self.p.slots + t
    }

    /// A temporary (slot from [`Cg::alloc_temp`]) holding `v` in a register
    /// (see [`Cg::tvars`]).
    fn temp_set(&mut self, slot: u32, v: V) {
        let k = slot - self.p.slots;
        while self.tvars.len() <= k as usize {
            let var = self.fx.b.declare_var(types::I64);
            self.tvars.push(var);
        }
        self.fx.b.def_var(self.tvars[k as usize], v);
        if !self.lazy.contains(&k) {
            self.lazy.push(k);
        }
    }

    /// The value of a temporary set by [`Cg::temp_set`].
    fn temp_get(&mut self, slot: u32) -> V {
        let k = slot - self.p.slots;
        self.fx.b.use_var(self.tvars[k as usize])
    }

    /// Stack index of a frame slot, as a value.
    fn abs(&mut self, slot: u32) -> V {
        self.fx.b.ins().iadd_imm_s(self.fpos, 1 + slot as i64)
    }

    fn unbox_ptr(&mut self, v: V) -> V {
        self.fx.b.ins().band_imm_s(v, PAYLOAD)
    }

    fn tag(&mut self, v: V) -> V {
        self.fx.b.ins().ushr_imm_s(v, 48)
    }

    /// The globals table (value stack slot 0).
    fn global_table(&mut self) -> V {
        let base = self.iconst(self.h.stack_base);
        self.fx.b.ins().load(types::I64, fl(), base, 0)
    }

    /// A string constant's index in the constants array and its hash.
    fn const_info(&self, s: &Bytes) -> (usize, u32) {
        self.consts
            .iter()
            .find(|(p, _, _, _)| *p == s.as_ptr() as usize)
            .map(|(_, i, h, _)| (*i, *h))
            .expect("constants made before compiling")
    }

    fn constant(&mut self, s: &Bytes) -> V {
        let idx = self.const_info(s).0;
        self.const_at(idx)
    }

    /// Constant `idx` of the constants array.
    fn const_at(&mut self, idx: usize) -> V {
        let base = self.iconst(self.h.stack_base);
        let arr = self
            .fx
            .b
            .ins()
            .load(types::I64, fl(), base, (8 * CONSTS) as i32);
        let arr = self.unbox_ptr(arr);
        self.fx
            .b
            .ins()
            .load(types::I64, fl(), arr, crate::heap::elem(idx) as i32)
    }

    // ------------------------------------------------------------ statements

    fn label_block(&mut self, label: u32) -> ir::Block {
        if let Some(&b) = self.labels.get(&label) {
            return b;
        }
        let b = self.fx.b.create_block();
        self.labels.insert(label, b);
        b
    }

    /// A block, its locals in scope until its end ([`Cg::nactive`]).
    fn block(&mut self, b: &Block) -> Result<(), String> {
        let saved = self.nactive;
        self.stats(b)?;
        self.nactive = saved;
        Ok(())
    }

    fn stats(&mut self, b: &Block) -> Result<(), String> {
        for s in &b.stats {
            self.ensure_open();
            self.stat(s)?;
        }
        Ok(())
    }

    /// Local `slot` comes into scope.
    fn activate(&mut self, slot: u32) {
        self.nactive = self.nactive.max(slot + 1);
    }

    fn exec_in_interp(&mut self, s: &Stat) {
        // The interpreter sets the locals the statement declares: in scope
        // (and so reloaded) from the call on.
        match s {
            Stat::Local { decls, .. } => decls.iter().for_each(|d| self.activate(d.slot)),
            Stat::LocalFunction { decl, .. } => self.activate(decl.slot),
            _ => {}
        }
        let sp = self.ptr(s);
        let mut args = self.head();
        args.push(sp);
        let r = self.call_host(self.h.exec, &args);
        // (1: normal; 2: returned r[1] values; 3: tail call.)
        self.check(r[0]);
        let normal = self.fx.b.create_block();
        let other = self.fx.b.create_block();
        let is_normal = self.fx.b.ins().icmp_imm_s(IntCC::Equal, r[0], 1);
        self.fx.b.ins().brif(is_normal, normal, &[], other, &[]);
        self.fx.b.switch_to_block(other);
        let is_ret = self.fx.b.ins().icmp_imm_s(IntCC::Equal, r[0], 2);
        let n1 = self.fx.b.ins().iadd_imm_s(r[1], 1);
        let neg = self.fx.b.ins().ineg(n1);
        let code = self.fx.b.ins().select(is_ret, n1, neg);
        self.fx.b.ins().return_(&[code]);
        self.fx.b.switch_to_block(normal);
    }

    fn stat(&mut self, s: &Stat) -> Result<(), String> {
        match s {
            Stat::Local { decls, exprs, line } => {
                self.line = *line;
                if decls.len() == 1 && exprs.len() <= 1 {
                    let v = match exprs.first() {
                        Some(e) => self.eval(e)?,
                        None => self.iconst(NIL),
                    };
                    self.set_local(&decls[0], v);
                } else if decls.len() <= exprs.len() || !exprs.last().is_some_and(is_multi) {
                    // No call's results to spread: each expression gives one
                    // value (extra ones are evaluated and dropped; missing
                    // ones are nil).
                    let t0 = self.temps;
                    let slots = self.values_to_temps(exprs)?;
                    for (i, d) in decls.iter().enumerate() {
                        let v = match slots.get(i) {
                            Some(&t) => self.temp_get(t),
                            None => self.iconst(NIL),
                        };
                        self.set_local(d, v);
                    }
                    self.temps = t0;
                } else {
                    self.exec_in_interp(s);
                }
            }
            Stat::LocalFunction { .. } => self.exec_in_interp(s),
            Stat::Assign {
                targets,
                exprs,
                line,
            } => {
                self.line = *line;
                if targets.len() == 1 && exprs.len() == 1 {
                    self.assign(&targets[0], &exprs[0])?;
                } else if targets.iter().all(|p| !matches!(p, Place::Index { .. }))
                    && (targets.len() <= exprs.len() || !exprs.last().is_some_and(is_multi))
                {
                    // Locals, upvalues and globals: the values first, then
                    // the stores, right to left (as the interpreter does).
                    let t0 = self.temps;
                    let slots = self.values_to_temps(exprs)?;
                    for (i, p) in targets.iter().enumerate().rev() {
                        let v = match slots.get(i) {
                            Some(&t) => self.temp_get(t),
                            None => self.iconst(NIL),
                        };
                        self.store_place(p, v);
                    }
                    self.temps = t0;
                } else {
                    self.exec_in_interp(s);
                }
            }
            Stat::Call(e) => {
                self.call(e, false)?;
            }
            Stat::Do(b) => self.block(b)?,
            Stat::While { cond, body } => {
                let head = self.fx.b.create_block();
                let bodyb = self.fx.b.create_block();
                let exit = self.fx.b.create_block();
                self.fx.b.ins().jump(head, &[]);
                self.fx.b.switch_to_block(head);
                let c = self.cond(cond)?;
                self.fx.b.ins().brif(c, bodyb, &[], exit, &[]);
                self.fx.b.switch_to_block(bodyb);
                self.breaks.push(exit);
                self.block(body)?;
                self.breaks.pop();
                if !self.terminated() {
                    self.fx.b.ins().jump(head, &[]);
                }
                self.fx.b.switch_to_block(exit);
            }
            Stat::Repeat { body, cond } => {
                let head = self.fx.b.create_block();
                let exit = self.fx.b.create_block();
                self.fx.b.ins().jump(head, &[]);
                self.fx.b.switch_to_block(head);
                self.breaks.push(exit);
                // The condition sees the body's locals.
                let saved = self.nactive;
                self.stats(body)?;
                self.breaks.pop();
                if !self.terminated() {
                    let c = self.cond(cond)?;
                    self.fx.b.ins().brif(c, exit, &[], head, &[]);
                }
                self.nactive = saved;
                self.fx.b.switch_to_block(exit);
            }
            Stat::If { arms, otherwise } => {
                let end = self.fx.b.create_block();
                for (c, b) in arms {
                    self.ensure_open();
                    let v = self.cond(c)?;
                    let then = self.fx.b.create_block();
                    let next = self.fx.b.create_block();
                    self.fx.b.ins().brif(v, then, &[], next, &[]);
                    self.fx.b.switch_to_block(then);
                    self.block(b)?;
                    if !self.terminated() {
                        self.fx.b.ins().jump(end, &[]);
                    }
                    self.fx.b.switch_to_block(next);
                }
                if let Some(b) = otherwise {
                    self.block(b)?;
                }
                if !self.terminated() {
                    self.fx.b.ins().jump(end, &[]);
                }
                self.fx.b.switch_to_block(end);
            }
            Stat::NumericFor {
                var,
                start,
                limit,
                step,
                body,
                line,
            } => self.numeric_for(var, start, limit, step.as_ref(), body, *line)?,
            Stat::GenericFor {
                body,
                line,
                vars,
                hidden,
                ..
            } => {
                self.line = *line;
                // The interpreter sets the hidden slots and the variables.
                self.activate(hidden + 3);
                vars.iter().for_each(|d| self.activate(d.slot));
                let sp = self.ptr(s);
                let mut args = self.head();
                args.push(sp);
                let r = self.call_host(self.h.forinit, &args)[0];
                self.check(r);
                let head = self.fx.b.create_block();
                let bodyb = self.fx.b.create_block();
                let exit = self.fx.b.create_block();
                self.fx.b.ins().jump(head, &[]);
                self.fx.b.switch_to_block(head);
                self.line = *line;
                if vars.len() <= 2 && vars.iter().all(|d| !d.captured) {
                    let general = self.fx.b.create_block();
                    self.ipairs_step(*hidden, vars, bodyb, general);
                    self.fx.b.switch_to_block(general);
                }
                let mut args = self.head();
                args.push(sp);
                let r = self.call_host(self.h.forcall, &args)[0];
                self.check(r);
                let go = self.fx.b.ins().icmp_imm_s(IntCC::Equal, r, 1);
                self.fx.b.ins().brif(go, bodyb, &[], exit, &[]);
                self.fx.b.switch_to_block(bodyb);
                self.breaks.push(exit);
                self.block(body)?;
                self.breaks.pop();
                if !self.terminated() {
                    self.fx.b.ins().jump(head, &[]);
                }
                self.fx.b.switch_to_block(exit);
            }
            Stat::Return { exprs, line } => {
                self.line = *line;
                self.ret(exprs)?;
            }
            Stat::Break => {
                let exit = *self.breaks.last().ok_or("break outside a loop")?;
                self.fx.b.ins().jump(exit, &[]);
            }
            Stat::Goto { label, line } => {
                // A jump, out of loops and blocks as `break` leaves them.
                self.line = *line;
                let b = self.label_block(*label);
                self.fx.b.ins().jump(b, &[]);
            }
            Stat::Label { label } => {
                let b = self.label_block(*label);
                if !self.terminated() {
                    self.fx.b.ins().jump(b, &[]);
                }
                self.fx.b.switch_to_block(b);
            }
        }
        Ok(())
    }

    /// One step of a generic `for` over `ipairs` inline: when the iterator
    /// (hidden slot `hidden`) is the built-in `ipairs` iterator, its state a
    /// table without a metatable (and so not weak), and the next index
    /// within the array part, with a value that is not nil: the control and
    /// the loop's variables (at most two, none captured) set, then `body`.
    /// Anything else (the loop's end too) goes to `general`, the iterator's
    /// call by the interpreter's rules (`for_step`).
    fn ipairs_step(
        &mut self,
        hidden: u32,
        vars: &[LocalDecl],
        body: ir::Block,
        general: ir::Block,
    ) {
        let iter = self.local_load(hidden);
        let ipairs = LValue::builtin(crate::stdlib::index_of("ipairs_iter")).0 as i64;
        let is_ipairs = self.fx.b.ins().icmp_imm_s(IntCC::Equal, iter, ipairs);
        self.guard(is_ipairs, general);
        let state = self.local_load(hidden + 1);
        let tp = self.table_ptr(state, general);
        let mt = self
            .fx
            .b
            .ins()
            .load(types::I64, fl(), tp, crate::heap::T_META as i32);
        let no_mt = self.fx.b.ins().icmp_imm_s(IntCC::Equal, mt, NIL);
        self.guard(no_mt, general);
        let ctl = self.local_load(hidden + 2);
        let is_int = self.is_int(ctl);
        self.guard(is_int, general);
        // The next index as a value: an index below the array part's length
        // (under 2^47) plus one stays an inline integer.
        let key = self.fx.b.ins().iadd_imm_s(ctl, 1);
        let (_, addr) = self.array_slot(tp, key, general);
        let v = self.fx.b.ins().load(types::I64, fl(), addr, 0);
        let present = self.fx.b.ins().icmp_imm_s(IntCC::NotEqual, v, NIL);
        self.guard(present, general);
        self.local_store(hidden + 2, key);
        self.local_store(vars[0].slot, key);
        if let Some(d) = vars.get(1) {
            self.local_store(d.slot, v);
        }
        self.fx.b.ins().jump(body, &[]);
    }

    fn set_local(&mut self, d: &LocalDecl, v: V) {
        self.activate(d.slot);
        if d.captured {
            let c = self.host_value(self.h.newcell, &[v]);
            self.local_store(d.slot, c);
        } else {
            self.local_store(d.slot, v);
        }
    }

    fn cell_store(&mut self, cell: V, v: V) {
        self.call_host(self.h.setcell, &[cell, v]);
    }

    fn assign(&mut self, target: &Place, e: &Expr) -> Result<(), String> {
        match target {
            Place::Local { .. } | Place::Upvalue(_) | Place::Global(_) => {
                let v = self.eval(e)?;
                self.store_place(target, v);
            }
            Place::Index { obj, key, line } => {
                let line = *line;
                let t0 = self.temps;
                let o = self.eval(obj)?;
                let (o, k) = if let Expr::Str(s) = key {
                    let (o, v) = self.keep(o, e)?;
                    let k = self.constant(s);
                    (o, (k, v))
                } else {
                    let ot = self.alloc_temp();
                    self.temp_set(ot, o);
                    let k = self.eval(key)?;
                    let (k, v) = self.keep(k, e)?;
                    let o = self.temp_get(ot);
                    (o, (k, v))
                };
                self.temps = t0;
                self.line = line;
                let hash = match key {
                    Expr::Str(s) => Some(self.const_info(s).1),
                    _ => None,
                };
                self.set_index(o, k.0, k.1, hash, obj);
            }
        }
        Ok(())
    }

    /// Fills `fill` (reached after a direct call at `callpos` returned, its
    /// caller using at most its first result, which stays at `callpos`): the
    /// frame's slots above `callpos` (what the callee left there: it must not
    /// be seen again) set to nil by stores of known count and address, and
    /// the value stack's length set to the frame's end; then `cont`. Unlike
    /// [`Cg::refill`], it neither reads the length nor loops over the slots
    /// the results left (the frame's `size` is known only once the body is
    /// compiled: the block is filled then).
    fn fill_above(&mut self, fill: ir::Block, cont: ir::Block, callpos: u32, size: u32) {
        self.fx.b.switch_to_block(fill);
        let nil = self.iconst(NIL);
        if size - callpos - 1 <= MAX_UNROLLED_FILL {
            for i in callpos + 1..size {
                self.fx.b.ins().store(fl(), nil, self.bp, 8 * i as i32);
            }
        } else {
            let first = self
                .fx
                .b
                .ins()
                .iadd_imm_s(self.bp, 8 * (callpos as i64 + 1));
            let end = self.fx.b.ins().iadd_imm_s(self.bp, 8 * size as i64);
            self.nil_words(first, end);
        }
        let fe = self.frame_end;
        self.set_len(fe);
        self.fx.b.ins().jump(cont, &[]);
    }

    /// After a direct call: the value stack reaches `frame_end` again, the
    /// slots it grows over set to nil (what the callee left there is not
    /// scanned while below the length; it must not be seen again).
    fn refill(&mut self, frame_end: V) {
        let la = self.iconst(self.h.stack_len);
        let base = self.iconst(self.h.stack_base);
        let len = self.fx.b.ins().load(types::I64, fl(), la, 0);
        let off = self.fx.b.ins().ishl_imm_s(len, 3);
        let first = self.fx.b.ins().iadd(base, off);
        let off = self.fx.b.ins().ishl_imm_s(frame_end, 3);
        let end = self.fx.b.ins().iadd(base, off);
        self.nil_words(first, end);
        let fin = self.fx.b.ins().umax(len, frame_end);
        self.fx.b.ins().store(fl(), fin, la, 0);
    }

    /// Stores nil in the words from address `first` up to `end` (none if
    /// `end` is not above `first`), in a loop; continues after it.
    fn nil_words(&mut self, first: V, end: V) {
        let head = self.fx.b.create_block();
        let body = self.fx.b.create_block();
        let out = self.fx.b.create_block();
        self.fx.b.append_block_param(head, types::I64);
        self.fx.b.ins().jump(head, &[first.into()]);
        self.fx.b.switch_to_block(head);
        let a = self.fx.b.block_params(head)[0];
        let more = self.fx.b.ins().icmp(IntCC::UnsignedLessThan, a, end);
        self.fx.b.ins().brif(more, body, &[], out, &[]);
        self.fx.b.switch_to_block(body);
        let nil = self.iconst(NIL);
        self.fx.b.ins().store(fl(), nil, a, 0);
        let a1 = self.fx.b.ins().iadd_imm_s(a, 8);
        self.fx.b.ins().jump(head, &[a1.into()]);
        self.fx.b.switch_to_block(out);
    }

    /// Stores `v` into a local, upvalue or global.
    fn store_place(&mut self, target: &Place, v: V) {
        match target {
            Place::Local { slot, captured } => {
                if *captured {
                    let c = self.local_load(*slot);
                    self.cell_store(c, v);
                } else {
                    self.local_store(*slot, v);
                }
            }
            Place::Upvalue(u) => {
                let cell = self.upvalue_cell(*u);
                self.cell_store(cell, v);
            }
            Place::Global(name) => {
                let (ki, kh) = self.const_info(name);
                let k = self.const_at(ki);
                // An existing global is overwritten inline; the rest by the
                // host (a global named `__index`, too: the inline caches hear
                // of its stores there, should the globals table be on a chain).
                let slow = self.fx.b.create_block();
                let done = self.fx.b.create_block();
                self.fx.b.set_cold_block(slow);
                if kh == index_hash() {
                    self.fx.b.ins().jump(slow, &[]);
                    let dead = self.fx.b.create_block();
                    self.fx.b.switch_to_block(dead);
                }
                let g = self.global_table();
                let gp = self.table_ptr(g, slow);
                let (hp, va) = self.probe(gp, k, kh, slow, slow, true);
                let cur = self.fx.b.ins().load(types::I64, fl(), va, 0);
                let is_nil = self.fx.b.ins().icmp_imm_s(IntCC::Equal, cur, NIL);
                let store = self.fx.b.create_block();
                self.fx.b.ins().brif(is_nil, slow, &[], store, &[]);
                self.fx.b.switch_to_block(store);
                self.fx.store_ref_at(hp, va, v);
                self.fx.b.ins().jump(done, &[]);
                self.fx.b.switch_to_block(slow);
                let mut args = self.head();
                args.extend_from_slice(&[k, v]);
                let r = self.call_host(self.h.setglobal, &args)[0];
                self.check(r);
                self.fx.b.ins().jump(done, &[]);
                self.fx.b.switch_to_block(done);
            }
            Place::Index { .. } => unreachable!("stored by the caller"),
        }
    }

    /// Evaluates every expression (each to one value) into consecutive
    /// temporaries: their slots (still allocated; the caller resets `temps`).
    fn values_to_temps(&mut self, es: &[Expr]) -> Result<Vec<u32>, String> {
        let mut slots = Vec::with_capacity(es.len());
        for e in es {
            let v = self.eval(e)?;
            let t = self.alloc_temp();
            self.temp_set(t, v);
            slots.push(t);
        }
        Ok(slots)
    }

    /// Evaluates `e` while `v` stays valid: `v` goes through a temporary slot
    /// when `e` may collect. Returns (v, value of e).
    fn keep(&mut self, v: V, e: &Expr) -> Result<(V, V), String> {
        if !may_collect(e) {
            let x = self.eval(e)?;
            return Ok((v, x));
        }
        let t = self.alloc_temp();
        self.temp_set(t, v);
        let x = self.eval(e)?;
        let v = self.temp_get(t);
        self.temps -= 1;
        Ok((v, x))
    }

    fn ret(&mut self, exprs: &[Expr]) -> Result<(), String> {
        match exprs {
            [] => {
                let fpos = self.fpos;
                self.set_len(fpos);
                let one = self.iconst(1);
                self.fx.b.ins().return_(&[one]);
            }
            [e @ (Expr::Call { .. } | Expr::Method { .. })] => {
                let t0 = self.temps;
                let (callpos, nargs) = self.call_setup(e)?;
                self.temps = t0;
                let host = self.fx.b.create_block();
                if let Some(n) = static_args(e) {
                    self.inline_tail(callpos, n, host);
                } else {
                    self.fx.b.ins().jump(host, &[]);
                }
                self.fx.b.switch_to_block(host);
                let cp = self.abs(callpos);
                let callp = self.ptr(e);
                let mut args = self.head();
                args.extend_from_slice(&[cp, nargs, callp]);
                let r = self.call_host(self.h.tail, &args);
                self.check(r[0]);
                let is_tail = self.fx.b.ins().icmp_imm_s(IntCC::Equal, r[0], 2);
                let n1 = self.fx.b.ins().iadd_imm_s(r[1], 1);
                let neg = self.fx.b.ins().ineg(n1);
                let code = self.fx.b.ins().select(is_tail, neg, n1);
                self.fx.b.ins().return_(&[code]);
            }
            [e] if !matches!(e, Expr::Vararg) => {
                let v = self.eval(e)?;
                let base = self.iconst(self.h.stack_base);
                let off = self.fx.b.ins().imul_imm_s(self.fpos, 8);
                let addr = self.fx.b.ins().iadd(base, off);
                self.fx.b.ins().store(fl(), v, addr, 0);
                let len = self.fx.b.ins().iadd_imm_s(self.fpos, 1);
                self.set_len(len);
                let two = self.iconst(2);
                self.fx.b.ins().return_(&[two]);
            }
            _ => {
                let t0 = self.temps;
                let (first, n) = self.list_to_temps(exprs)?;
                self.temps = t0;
                let from = self.abs(first);
                let fpos = self.fpos;
                self.call_host(self.h.ret, &[from, fpos, n]);
                let n1 = self.fx.b.ins().iadd_imm_s(n, 1);
                self.fx.b.ins().return_(&[n1]);
            }
        }
        Ok(())
    }

    /// The first word of function object `fv` (a Lua function's prototype
    /// index, a bound built-in's negative index); a jump to `otherwise` when
    /// `fv` is no function object.
    fn function_word(&mut self, fv: V, otherwise: ir::Block) -> V {
        let p = self.object_ptr(fv, crate::heap::Kind::Function, otherwise);
        self.fx
            .b
            .ins()
            .load(types::I64, fl(), p, crate::heap::elem(0) as i32)
    }

    /// `return f(...)` with `n` arguments, `f` and the arguments at `callpos`:
    /// when `f` is a Lua function (not a bound built-in), they move down to
    /// this frame's callee slot and the frame returns the tail-call code
    /// `-(n + 1)` (the caller makes the call), as `hosts::h_tail` would have
    /// done; anything else goes to `host`.
    fn inline_tail(&mut self, callpos: u32, n: usize, host: ir::Block) {
        let fv = self.load_slot(callpos);
        // A Lua function's first word is its prototype's index; a bound
        // built-in's is negative.
        let w = self.function_word(fv, host);
        let int = self.is_int(w);
        self.guard(int, host);
        let pi = self.unbox_int(w);
        let lua = self
            .fx
            .b
            .ins()
            .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, pi, 0);
        self.guard(lua, host);
        // The destination is below the source: copy upwards.
        for i in 0..=n as u32 {
            let v = self.load_slot(callpos + i);
            self.fx
                .b
                .ins()
                .store(fl(), v, self.bp, Self::slot_off(i) - 8);
        }
        let len = self.fx.b.ins().iadd_imm_s(self.fpos, 1 + n as i64);
        self.set_len(len);
        let code = self.iconst(-(n as i64 + 1));
        self.fx.b.ins().return_(&[code]);
    }

    /// Evaluates a list into consecutive temporaries, the last expression
    /// expanded: (first temporary slot, count as a value). The temporaries stay
    /// allocated (the caller resets `temps`).
    fn list_to_temps(&mut self, es: &[Expr]) -> Result<(u32, V), String> {
        let first = self.p.slots + self.temps;
        let mut fixed = 0i64;
        for (i, e) in es.iter().enumerate() {
            if i + 1 == es.len() && matches!(e, Expr::Vararg) {
                // Every vararg, copied above the fixed values (the stack
                // grows past the frame if they do not fit, as a call's
                // results do).
                let dst = first + fixed as u32;
                let dst = self.abs(dst);
                let fe = self.frame_end;
                let mut args = self.head();
                args.truncate(3);
                args.extend_from_slice(&[dst, fe]);
                let nv = self.call_host(self.h.varargs, &args)[0];
                let n = self.fx.b.ins().iadd_imm_s(nv, fixed);
                return Ok((first, n));
            }
            if i + 1 == es.len() && is_multi(e) {
                let (callpos, nres) = self.call(e, true)?;
                debug_assert_eq!(callpos, first + fixed as u32);
                // The results stay where the call was.
                let n = self.fx.b.ins().iadd_imm_s(nres, fixed);
                // Reserve the callee's slot so that later temporaries do not
                // overlap a single result (more results reach past the frame:
                // the stack keeps them, `h_call` does not cut it).
                return Ok((first, n));
            }
            let v = self.eval(e)?;
            let t = self.alloc_temp();
            self.store_slot(t, v);
            fixed += 1;
        }
        let n = self.iconst(fixed);
        Ok((first, n))
    }

    fn numeric_for(
        &mut self,
        var: &LocalDecl,
        start: &Expr,
        limit: &Expr,
        step: Option<&Expr>,
        body: &Block,
        line: u32,
    ) -> Result<(), String> {
        self.line = line;
        let t0 = self.temps;
        let ta = self.alloc_temp();
        let tb = self.alloc_temp();
        let tc = self.alloc_temp();
        let a = self.eval(start)?;
        self.store_slot(ta, a);
        let b = self.eval(limit)?;
        self.store_slot(tb, b);
        let c = match step {
            Some(s) => self.eval(s)?,
            None => self.iconst(INT_BITS | 1),
        };
        self.store_slot(tc, c);
        self.line = line;
        let (x0, lim, st, kind) = self.for_prep(ta, a, b, c);
        self.temps = t0;
        let exit = self.fx.b.create_block();
        let go = self.fx.b.create_block();
        let skip = self.fx.b.ins().icmp_imm_s(IntCC::Equal, kind, 1);
        self.fx.b.ins().brif(skip, exit, &[], go, &[]);
        self.fx.b.switch_to_block(go);
        // An integer initial value and step make an integer loop whatever the
        // limit is (lua5.4 clips a float limit): integer literals there (the
        // common `for i = 1, n`) leave the float path out of the loop.
        let int_lit = |e: &Expr| matches!(e, Expr::Int(i) if (crate::value::INLINE_MIN..=crate::value::INLINE_MAX).contains(i));
        let static_int = int_lit(start) && step.is_none_or(int_lit);
        let is_int = (!static_int).then(|| self.fx.b.ins().icmp_imm_s(IntCC::Equal, kind, 2));
        let xv = self.fx.b.declare_var(types::I64);
        let cv = self.fx.b.declare_var(types::I64);
        self.fx.b.def_var(xv, x0);
        self.fx.b.def_var(cv, lim);
        let head = self.fx.b.create_block();
        let bodyb = self.fx.b.create_block();
        let next = self.fx.b.create_block();
        self.fx.b.ins().jump(head, &[]);
        // head: the loop variable's value (an int boxed, or a float's bits).
        self.fx.b.switch_to_block(head);
        let x = self.fx.b.use_var(xv);
        let hi = self.fx.b.create_block();
        let hf = self.fx.b.create_block();
        let merged = self.fx.b.create_block();
        self.fx.b.append_block_param(merged, types::I64);
        match is_int {
            Some(is_int) => self.fx.b.ins().brif(is_int, hi, &[], hf, &[]),
            None => self.fx.b.ins().jump(hi, &[]),
        };
        self.fx.b.switch_to_block(hi);
        let boxed = self.box_int(x);
        self.fx.b.ins().jump(merged, &[boxed.into()]);
        if is_int.is_some() {
            self.fx.b.switch_to_block(hf);
            self.fx.b.ins().jump(merged, &[x.into()]);
        }
        self.fx.b.switch_to_block(merged);
        let v = self.fx.b.block_params(merged)[0];
        self.set_local(var, v);
        self.fx.b.ins().jump(bodyb, &[]);
        self.fx.b.switch_to_block(bodyb);
        self.breaks.push(exit);
        self.block(body)?;
        self.breaks.pop();
        if !self.terminated() {
            self.fx.b.ins().jump(next, &[]);
        }
        // next: advance, or leave.
        self.fx.b.switch_to_block(next);
        let int_next = self.fx.b.create_block();
        let float_next = self.fx.b.create_block();
        match is_int {
            Some(is_int) => self.fx.b.ins().brif(is_int, int_next, &[], float_next, &[]),
            None => self.fx.b.ins().jump(int_next, &[]),
        };
        self.fx.b.switch_to_block(int_next);
        let count = self.fx.b.use_var(cv);
        self.guard(count, exit);
        let c1 = self.fx.b.ins().iadd_imm_s(count, -1);
        self.fx.b.def_var(cv, c1);
        let x = self.fx.b.use_var(xv);
        let x1 = self.fx.b.ins().iadd(x, st);
        self.fx.b.def_var(xv, x1);
        self.fx.b.ins().jump(head, &[]);
        if is_int.is_none() {
            self.fx.b.switch_to_block(exit);
            return Ok(());
        }
        self.fx.b.switch_to_block(float_next);
        let x = self.fx.b.use_var(xv);
        let xf = self.fx.b.ins().bitcast(types::F64, MemFlagsData::new(), x);
        let sf = self.fx.b.ins().bitcast(types::F64, MemFlagsData::new(), st);
        let lf = self
            .fx
            .b
            .ins()
            .bitcast(types::F64, MemFlagsData::new(), lim);
        let x1 = self.fx.b.ins().fadd(xf, sf);
        let zero = self.fx.b.ins().f64const(0.0);
        let up = self.fx.b.ins().fcmp(FloatCC::GreaterThan, sf, zero);
        let le = self.fx.b.ins().fcmp(FloatCC::LessThanOrEqual, x1, lf);
        let ge = self.fx.b.ins().fcmp(FloatCC::GreaterThanOrEqual, x1, lf);
        let inside = self.fx.b.ins().select(up, le, ge);
        let x1b = self.fx.b.ins().bitcast(types::I64, MemFlagsData::new(), x1);
        self.fx.b.def_var(xv, x1b);
        self.fx.b.ins().brif(inside, head, &[], exit, &[]);
        self.fx.b.switch_to_block(exit);
        Ok(())
    }

    /// The numeric `for` loop's preparation of start, limit and step (`a`,
    /// `b`, `c`, also stored in the value-stack slots from `ta` on): returns
    /// (first value, iterations after the first or the float limit, step, kind)
    /// with kind 1 when the loop does not run, 2 for an integer loop, 3 for a
    /// float loop (values as in `h_forprep`). Three inline integers and a
    /// non-zero step are prepared inline; everything else (floats, strings,
    /// boxed integers, errors) by the host, with the same rules.
    fn for_prep(&mut self, ta: u32, a: V, b: V, c: V) -> (V, V, V, V) {
        let slow = self.fx.b.create_block();
        let done = self.fx.b.create_block();
        for _ in 0..4 {
            self.fx.b.append_block_param(done, types::I64);
        }
        self.fx.b.set_cold_block(slow);
        // All three inline integers? (`a` and `b` were computed before later
        // operands that may have collected; only their tags are read before
        // the host path reloads them from their slots, and an integer's bits
        // do not move.)
        let iab = self.both_int(a, b);
        let ic = self.is_int(c);
        let all = self.fx.b.ins().band(iab, ic);
        self.guard(all, slow);
        let x0 = self.unbox_int(a);
        let lim = self.unbox_int(b);
        let st = self.unbox_int(c);
        // A zero step is an error: the host raises it.
        self.guard(st, slow);
        let up = self.fx.b.ins().icmp_imm_s(IntCC::SignedGreaterThan, st, 0);
        // Distance to the limit in the loop's direction, and the step's size
        // (48-bit values: neither overflows).
        let d_up = self.fx.b.ins().isub(lim, x0);
        let d_down = self.fx.b.ins().isub(x0, lim);
        let dist = self.fx.b.ins().select(up, d_up, d_down);
        let neg = self.fx.b.ins().ineg(st);
        let size = self.fx.b.ins().select(up, st, neg);
        let runs = self
            .fx
            .b
            .ins()
            .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, dist, 0);
        let skip = self.fx.b.create_block();
        let count = self.fx.b.create_block();
        self.fx.b.ins().brif(runs, count, &[], skip, &[]);
        self.fx.b.switch_to_block(skip);
        let one = self.iconst(1);
        self.fx
            .b
            .ins()
            .jump(done, &[x0.into(), x0.into(), st.into(), one.into()]);
        // Iterations after the first: the distance over the step's size,
        // without a division for a step of 1 or -1.
        self.fx.b.switch_to_block(count);
        let unit = self.fx.b.ins().icmp_imm_s(IntCC::Equal, size, 1);
        let divide = self.fx.b.create_block();
        let two = self.iconst(2);
        self.fx.b.ins().brif(
            unit,
            done,
            &[x0.into(), dist.into(), st.into(), two.into()],
            divide,
            &[],
        );
        self.fx.b.switch_to_block(divide);
        let n = self.fx.b.ins().udiv(dist, size);
        self.fx
            .b
            .ins()
            .jump(done, &[x0.into(), n.into(), st.into(), two.into()]);
        // The host: the interpreter's rules for everything else.
        self.fx.b.switch_to_block(slow);
        let out = self.fx.b.ins().stack_addr(types::I64, self.scratch, 0);
        let abc = self.fx.b.ins().iadd_imm_s(self.bp, 8 * ta as i64);
        let mut args = self.head();
        args.extend_from_slice(&[abc, out]);
        let kind = self.call_host(self.h.forprep, &args)[0];
        self.check(kind);
        let mut vals = Vec::with_capacity(4);
        for off in [0, 8, 16] {
            let v = self
                .fx
                .b
                .ins()
                .stack_load(types::I64, types::I64, self.scratch, off);
            vals.push(v.into());
        }
        vals.push(kind.into());
        self.fx.b.ins().jump(done, &vals);
        self.fx.b.switch_to_block(done);
        let p = self.fx.b.block_params(done);
        (p[0], p[1], p[2], p[3])
    }

    /// An integer as a value: inline when it fits, else a boxed one.
    fn box_int(&mut self, i: V) -> V {
        let sh = self.fx.b.ins().ishl_imm_s(i, 16);
        let back = self.fx.b.ins().sshr_imm_s(sh, 16);
        let fits = self.fx.b.ins().icmp(IntCC::Equal, back, i);
        let small = self.fx.b.create_block();
        let big = self.fx.b.create_block();
        let done = self.fx.b.create_block();
        self.fx.b.append_block_param(done, types::I64);
        self.fx.b.set_cold_block(big);
        self.fx.b.ins().brif(fits, small, &[], big, &[]);
        self.fx.b.switch_to_block(small);
        let p = self.fx.b.ins().band_imm_s(i, PAYLOAD);
        let v = self.fx.b.ins().bor_imm_s(p, INT_BITS);
        self.fx.b.ins().jump(done, &[v.into()]);
        self.fx.b.switch_to_block(big);
        let v = self.host_value(self.h.bigint, &[i]);
        self.fx.b.ins().jump(done, &[v.into()]);
        self.fx.b.switch_to_block(done);
        self.fx.b.block_params(done)[0]
    }

    // ------------------------------------------------------------ tables

    /// The raw address of `v` if it is an object of kind `kind`, else a jump
    /// to `slow`.
    fn object_ptr(&mut self, v: V, kind: crate::heap::Kind, slow: ir::Block) -> V {
        let is_ref = self.is_ref(v);
        self.guard(is_ref, slow);
        let p = self.unbox_ptr(v);
        let id = self.fx.b.ins().uload32(fl(), p, 0);
        let want = crate::heap::kind_id(kind) as i64;
        let is_kind = self.fx.b.ins().icmp_imm_s(IntCC::Equal, id, want);
        self.guard(is_kind, slow);
        p
    }

    /// The raw address of `v` if it is a table (not a weak one), else a jump
    /// to `slow`.
    fn table_ptr(&mut self, v: V, slow: ir::Block) -> V {
        let p = self.object_ptr(v, crate::heap::Kind::Table, slow);
        // A weak table (`__mode`) holds weak references: the host reads it.
        let status = self.fx.b.ins().uload32(fl(), p, 4);
        let weak_bits = (crate::heap::WEAK_KEYS | crate::heap::WEAK_VALUES) as i64;
        let weak = self.fx.b.ins().band_imm_s(status, weak_bits);
        let ok3 = self.fx.b.create_block();
        self.fx.b.ins().brif(weak, slow, &[], ok3, &[]);
        self.fx.b.switch_to_block(ok3);
        p
    }

    /// The first probe for string constant `k` (hash `hash`) in the hash part
    /// of the table at `tp`: (the hash part's address, the address of the
    /// key's value word) when the probed slot holds `k`; a jump to `absent`
    /// when the slot is empty or there is no hash part (the key is not
    /// there), to `slow` when it holds another key.
    ///
    /// Each probe site remembers the node where it last found its key and
    /// looks there first: tables made alike (the objects of one class, built
    /// by one constructor) hold their keys in the same nodes, so a key that
    /// collided into a chain is found without walking it.
    /// Without `cache` (a probe that mostly misses, or of a table with one
    /// key), the walk only.
    fn probe(
        &mut self,
        tp: V,
        k: V,
        hash: u32,
        absent: ir::Block,
        slow: ir::Block,
        cache: bool,
    ) -> (V, V) {
        let (hp, cap) = self.hash_part(tp, absent);
        let (found, empty) = if cache {
            self.cached_probe(hp, cap, k, hash, slow)
        } else {
            let (found, empty, _) = self.probe_loop(hp, cap, k, hash, slow);
            (found, empty)
        };
        self.fx.b.switch_to_block(empty);
        self.fx.b.ins().jump(absent, &[]);
        self.fx.b.switch_to_block(found);
        let pair = self.fx.b.block_params(found)[0];
        let data = vmkit::object::ARRAY_DATA_OFFSET as i64;
        let va = self.fx.b.ins().iadd_imm_s(pair, data + 8);
        (hp, va)
    }

    /// [`Cg::probe_loop`] after a look at the node this site found its key in
    /// last time: (found block with the pair's address, empty block).
    fn cached_probe(
        &mut self,
        hp: V,
        cap: V,
        k: V,
        hash: u32,
        slow: ir::Block,
    ) -> (ir::Block, ir::Block) {
        // The site's node index: an integer (nothing for the collector), read
        // and written by compiled code on the one thread that runs Lua.
        let cell: &'static mut u64 = Box::leak(Box::new(u64::MAX));
        let cp = self.ptr(cell);
        let ci = self.fx.b.ins().load(types::I64, fl(), cp, 0);
        let inside = self.fx.b.ins().icmp(IntCC::UnsignedLessThan, ci, cap);
        let try_cached = self.fx.b.create_block();
        let walk = self.fx.b.create_block();
        let hit = self.fx.b.create_block();
        self.fx.b.append_block_param(hit, types::I64);
        self.fx.b.ins().brif(inside, try_cached, &[], walk, &[]);
        self.fx.b.switch_to_block(try_cached);
        let off = self.fx.b.ins().ishl_imm_s(ci, 4);
        let pair = self.fx.b.ins().iadd(hp, off);
        let data = vmkit::object::ARRAY_DATA_OFFSET as i32;
        let key = self.fx.b.ins().load(types::I64, fl(), pair, data);
        let same = self.fx.b.ins().icmp(IntCC::Equal, key, k);
        self.fx.b.ins().brif(same, hit, &[pair.into()], walk, &[]);
        self.fx.b.switch_to_block(walk);
        let (found, empty, _) = self.probe_loop(hp, cap, k, hash, slow);
        self.fx.b.switch_to_block(found);
        let pair = self.fx.b.block_params(found)[0];
        let off = self.fx.b.ins().isub(pair, hp);
        let i = self.fx.b.ins().ushr_imm_s(off, 4);
        self.fx.b.ins().store(fl(), i, cp, 0);
        self.fx.b.ins().jump(hit, &[pair.into()]);
        (hit, empty)
    }

    /// The address of the hash part of the table at `tp` and its number of
    /// nodes; a jump to `none` when the table has no hash part.
    fn hash_part(&mut self, tp: V, none: ir::Block) -> (V, V) {
        let a = self
            .fx
            .b
            .ins()
            .load(types::I64, fl(), tp, crate::heap::T_HASH as i32);
        let is_ref = self.is_ref(a);
        self.guard(is_ref, none);
        let hp = self.unbox_ptr(a);
        let cap = self
            .fx
            .b
            .ins()
            .load(types::I64, fl(), tp, crate::heap::T_HASH_SIZE as i32);
        (hp, cap)
    }

    /// The address of the value array in field `field` of the table at `tp`
    /// (its array or hash part) and its length in words; a jump to `none`
    /// when the table has no such part.
    fn part(&mut self, tp: V, field: usize, none: ir::Block) -> (V, V) {
        let a = self.fx.b.ins().load(types::I64, fl(), tp, field as i32);
        let is_ref = self.is_ref(a);
        self.guard(is_ref, none);
        let ap = self.unbox_ptr(a);
        let n = self.fx.b.ins().load(
            types::I64,
            fl(),
            ap,
            vmkit::object::ARRAY_LENGTH_OFFSET as i32,
        );
        (ap, n)
    }

    /// The chain walk of lua5.4's node part at `hp` (`cap` nodes) for the
    /// string constant `k` from its main position (its hash's node), until
    /// `k` (the `found` block, given the node's pair address) or the chain's
    /// end (`empty`). A string with the same contents is the same key: for a
    /// short constant (interned, `heap::INTERN_MAX`) that string is `k`
    /// itself; for a long one, a key object whose cached hash (the header's
    /// status word) is `hash` goes to `slow`, which compares the bytes.
    /// Returns the two blocks and the main position's pair address; leaves
    /// the builder in no block.
    fn probe_loop(
        &mut self,
        hp: V,
        cap: V,
        k: V,
        hash: u32,
        slow: ir::Block,
    ) -> (ir::Block, ir::Block, V) {
        let mask = self.fx.b.ins().iadd_imm_s(cap, -1);
        let i0 = self.fx.b.ins().band_imm_s(mask, hash as i64);
        let off0 = self.fx.b.ins().ishl_imm_s(i0, 4);
        let mp = self.fx.b.ins().iadd(hp, off0);
        let head = self.fx.b.create_block();
        self.fx.b.append_block_param(head, types::I64);
        let found = self.fx.b.create_block();
        self.fx.b.append_block_param(found, types::I64);
        let empty = self.fx.b.create_block();
        self.fx.b.ins().jump(head, &[i0.into()]);
        self.fx.b.switch_to_block(head);
        let i = self.fx.b.block_params(head)[0];
        let off = self.fx.b.ins().ishl_imm_s(i, 4);
        let pair = self.fx.b.ins().iadd(hp, off);
        let data = vmkit::object::ARRAY_DATA_OFFSET as i32;
        let key = self.fx.b.ins().load(types::I64, fl(), pair, data);
        let same = self.fx.b.ins().icmp(IntCC::Equal, key, k);
        let other = self.fx.b.create_block();
        self.fx
            .b
            .ins()
            .brif(same, found, &[pair.into()], other, &[]);
        self.fx.b.switch_to_block(other);
        let step = self.fx.b.create_block();
        if self.consts.iter().any(|c| c.3 && c.2 == hash) {
            // A long string constant: a key that is another string with the
            // same hash may have the same bytes (the host compares them).
            let kref = self.is_ref(key);
            let check = self.fx.b.create_block();
            self.fx.b.ins().brif(kref, check, &[], step, &[]);
            self.fx.b.switch_to_block(check);
            let kp = self.unbox_ptr(key);
            let kh = self.fx.b.ins().uload32(fl(), kp, 4);
            let same_hash = self.fx.b.ins().icmp_imm_s(IntCC::Equal, kh, hash as i64);
            self.fx.b.ins().brif(same_hash, slow, &[], step, &[]);
        } else {
            // An interned string (`heap::INTERN_MAX`): another object is
            // another key.
            self.fx.b.ins().jump(step, &[]);
        }
        self.fx.b.switch_to_block(step);
        // The `next` offsets follow the `cap` pairs: node i's at 2 cap + i.
        let ci = self.fx.b.ins().ishl_imm_s(cap, 1);
        let ci = self.fx.b.ins().iadd(ci, i);
        let loff = self.fx.b.ins().ishl_imm_s(ci, 3);
        let la = self.fx.b.ins().iadd(hp, loff);
        let link = self.fx.b.ins().load(types::I64, fl(), la, data);
        let end = self.fx.b.ins().icmp_imm_s(IntCC::Equal, link, NIL);
        let follow = self.fx.b.create_block();
        self.fx.b.ins().brif(end, empty, &[], follow, &[]);
        self.fx.b.switch_to_block(follow);
        let d = self.unbox_int(link);
        let i1 = self.fx.b.ins().iadd(i, d);
        self.fx.b.ins().jump(head, &[i1.into()]);
        (found, empty, mp)
    }

    /// The address of element `k` (an integer value) of the array part of the
    /// table at `tp`, with the part's address; a jump to `slow` when `k` is
    /// not an integer inside it.
    fn array_slot(&mut self, tp: V, k: V, slow: ir::Block) -> (V, V) {
        self.array_slot_or(tp, k, slow, slow)
    }

    /// Like [`Cg::array_slot`], but an integer key past the array part goes
    /// to `outside`.
    fn array_slot_or(&mut self, tp: V, k: V, slow: ir::Block, outside: ir::Block) -> (V, V) {
        let is_int = self.is_int(k);
        self.guard(is_int, slow);
        let i = self.unbox_int(k);
        let idx = self.fx.b.ins().iadd_imm_s(i, -1);
        let n = self
            .fx
            .b
            .ins()
            .load(types::I64, fl(), tp, crate::heap::T_ARRAY_LEN as i32);
        let inside = self.fx.b.ins().icmp(IntCC::UnsignedLessThan, idx, n);
        self.guard(inside, outside);
        let a = self
            .fx
            .b
            .ins()
            .load(types::I64, fl(), tp, crate::heap::T_ARRAY as i32);
        let ap = self.unbox_ptr(a);
        let off = self.fx.b.ins().ishl_imm_s(idx, 3);
        let e = self.fx.b.ins().iadd(ap, off);
        let addr = self
            .fx
            .b
            .ins()
            .iadd_imm_s(e, vmkit::object::ARRAY_DATA_OFFSET as i64);
        (ap, addr)
    }

    /// `o[k]`: a string constant key (`hash` given) or an integer key in the
    /// array part, present and not nil, inline; a string key the table does
    /// not have is looked up along its metatables' `__index` tables (the way
    /// classes are made) by a plain call. Everything else (other keys,
    /// `__index` functions, errors) goes to the host.
    fn index(&mut self, o: V, k: V, hash: Option<u32>, obj: &Expr) -> V {
        self.index_or_method(o, k, hash, obj, false)
    }

    /// [`Cg::index`]; with `method`, a string's methods are also found inline.
    fn index_or_method(&mut self, o: V, k: V, hash: Option<u32>, obj: &Expr, method: bool) -> V {
        let slow = self.fx.b.create_block();
        let done = self.fx.b.create_block();
        self.fx.b.append_block_param(done, types::I64);
        self.fx.b.set_cold_block(slow);
        let not_table = match hash {
            Some(_) if method => self.fx.b.create_block(),
            _ => slow,
        };
        let tp = self.table_ptr(o, not_table);
        if let (Some(h), true) = (hash, method) {
            // A string (`s:sub(...)`): its metatable's `__index` table.
            let here = self.fx.b.current_block().expect("a block");
            self.fx.b.switch_to_block(not_table);
            self.object_ptr(o, crate::heap::Kind::Str, slow);
            let base = self.iconst(self.h.stack_base);
            let mt = self.fx.b.ins().load(
                types::I64,
                fl(),
                base,
                (8 * crate::interp::STRING_META) as i32,
            );
            let mtp = self.table_ptr(mt, slow);
            let idx_key = self.const_at(0);
            let va = self.probe(mtp, idx_key, index_hash(), slow, slow, false).1;
            let lib = self.fx.b.ins().load(types::I64, fl(), va, 0);
            let lp = self.table_ptr(lib, slow);
            let va = self.probe(lp, k, h, slow, slow, true).1;
            let m = self.fx.b.ins().load(types::I64, fl(), va, 0);
            let is_nil = self.fx.b.ins().icmp_imm_s(IntCC::Equal, m, NIL);
            self.fx.b.ins().brif(is_nil, slow, &[], done, &[m.into()]);
            self.fx.b.switch_to_block(here);
        }
        match hash {
            Some(h) => self.chain(tp, k, h, slow, done, method),
            None => {
                let va = self.array_slot(tp, k, slow).1;
                let v = self.fx.b.ins().load(types::I64, fl(), va, 0);
                let is_nil = self.fx.b.ins().icmp_imm_s(IntCC::Equal, v, NIL);
                self.fx.b.ins().brif(is_nil, slow, &[], done, &[v.into()]);
            }
        }
        self.fx.b.switch_to_block(slow);
        let objp = self.ptr(obj);
        let konst = self.iconst(hash.is_some() as i64);
        let v = self.host_value(self.h.index, &[o, k, objp, konst]);
        self.fx.b.ins().jump(done, &[v.into()]);
        self.fx.b.switch_to_block(done);
        self.fx.b.block_params(done)[0]
    }

    /// Looks `k` up in the table at `tp` (inline), then, when the table does
    /// not have it, along its `__index` chain through this site's inline
    /// cache ([`hosts::Ic`]): the class (metatable's `__index` table) read
    /// inline, and when it is the one the entry was filled for and nothing
    /// the entry relied on changed since ([`crate::table::IC_EPOCH`]), the
    /// value read from where the chain found it. A miss fills the entry by a
    /// plain call ([`hosts::h_lookup_ic`]: no exit trampoline, it neither
    /// allocates nor runs Lua code). Jumps to `done` with the value or to
    /// `slow` (an `__index` function, a weak table).
    fn chain(&mut self, tp: V, k: V, hash: u32, slow: ir::Block, done: ir::Block, method: bool) {
        let absent = self.fx.b.create_block();
        let va = self.probe(tp, k, hash, absent, slow, !method).1;
        let v = self.fx.b.ins().load(types::I64, fl(), va, 0);
        let is_nil = self.fx.b.ins().icmp_imm_s(IntCC::Equal, v, NIL);
        self.fx.b.ins().brif(is_nil, absent, &[], done, &[v.into()]);
        // Not in the table (or nil there): its metatable's `__index`.
        self.fx.b.switch_to_block(absent);
        let mt = self
            .fx
            .b
            .ins()
            .load(types::I64, fl(), tp, crate::heap::T_META as i32);
        let nil = self.iconst(NIL);
        let no_mt = self.fx.b.ins().icmp_imm_s(IntCC::Equal, mt, NIL);
        let has_mt = self.fx.b.create_block();
        self.fx
            .b
            .ins()
            .brif(no_mt, done, &[nil.into()], has_mt, &[]);
        self.fx.b.switch_to_block(has_mt);
        let mtp = self.table_ptr(mt, slow);
        let idx_key = self.const_at(0);
        let no_index = self.fx.b.create_block();
        let va = self
            .probe(mtp, idx_key, index_hash(), no_index, slow, false)
            .1;
        let class = self.fx.b.ins().load(types::I64, fl(), va, 0);
        let is_nil = self.fx.b.ins().icmp_imm_s(IntCC::Equal, class, NIL);
        let has_index = self.fx.b.create_block();
        self.fx.b.ins().brif(is_nil, no_index, &[], has_index, &[]);
        self.fx.b.switch_to_block(no_index);
        let nil = self.iconst(NIL);
        self.fx.b.ins().jump(done, &[nil.into()]);
        // The inline cache.
        self.fx.b.switch_to_block(has_index);
        let ic: &'static mut hosts::Ic = Box::leak(Box::default());
        let icp = self.ptr(ic);
        let miss = self.fx.b.create_block();
        self.fx.b.set_cold_block(miss);
        let ea = self.iconst(crate::table::IC_EPOCH.as_ptr() as i64);
        let epoch = self.fx.b.ins().load(types::I64, fl(), ea, 0);
        let ic_epoch = self
            .fx
            .b
            .ins()
            .load(types::I64, fl(), icp, hosts::IC_EPOCH_OFF);
        let ic_class = self
            .fx
            .b
            .ins()
            .load(types::I64, fl(), icp, hosts::IC_CLASS_OFF);
        let same_epoch = self.fx.b.ins().icmp(IntCC::Equal, epoch, ic_epoch);
        let same_class = self.fx.b.ins().icmp(IntCC::Equal, class, ic_class);
        let hit = self.fx.b.ins().band(same_epoch, same_class);
        self.guard(hit, miss);
        let at = self
            .fx
            .b
            .ins()
            .load(types::I64, fl(), icp, hosts::IC_VALUE_OFF);
        let present = self.fx.b.create_block();
        let nil = self.iconst(NIL);
        self.fx.b.ins().brif(at, present, &[], done, &[nil.into()]);
        self.fx.b.switch_to_block(present);
        let v = self.fx.b.ins().load(types::I64, fl(), at, 0);
        let is_nil = self.fx.b.ins().icmp_imm_s(IntCC::Equal, v, NIL);
        // A value removed since: the chain afresh.
        self.fx.b.ins().brif(is_nil, miss, &[], done, &[v.into()]);
        self.fx.b.switch_to_block(miss);
        let r = self.call_host(self.h.lookup, &[class, k, icp]);
        self.fx.b.ins().brif(r[0], done, &[r[1].into()], slow, &[]);
    }

    /// `o:name`: looked up like `o.name` ([`Cg::index`]).
    fn method(&mut self, o: V, name: &Bytes, obj: &Expr) -> V {
        let (ki, kh) = self.const_info(name);
        let k = self.const_at(ki);
        self.index_or_method(o, k, Some(kh), obj, true)
    }

    /// `o[k] = v`: an existing non-nil entry (string constant key at the
    /// first probe, or integer key in the array part) is overwritten inline,
    /// with the write barrier; everything else by the host.
    fn set_index(&mut self, o: V, k: V, v: V, hash: Option<u32>, obj: &Expr) {
        let slow = self.fx.b.create_block();
        let done = self.fx.b.create_block();
        self.fx.b.set_cold_block(slow);
        let store = self.fx.b.create_block();
        let (part, va) = match hash {
            Some(h) => {
                // A key of the hash part: its value word is stored, nil
                // included (a dead key, as the host leaves it). A key whose
                // value is nil meets `__newindex` first: stored inline when
                // the table has no metatable or its metatable no `__newindex`.
                //
                // A store the inline caches must hear of goes to the host
                // ([`crate::table::IC_EPOCH`]): of `__index` (by its hash:
                // another key with that hash only takes the slow path), or a
                // revived key in a table they rely on.
                if h == index_hash() {
                    self.fx.b.ins().jump(slow, &[]);
                    let dead = self.fx.b.create_block();
                    self.fx.b.switch_to_block(dead);
                }
                let tp = self.table_ptr(o, slow);
                let (part, va) = self.probe(tp, k, h, slow, slow, true);
                let cur = self.fx.b.ins().load(types::I64, fl(), va, 0);
                let is_nil = self.fx.b.ins().icmp_imm_s(IntCC::Equal, cur, NIL);
                let check = self.fx.b.create_block();
                self.fx.b.ins().brif(is_nil, check, &[], store, &[]);
                self.fx.b.switch_to_block(check);
                let status = self.fx.b.ins().uload32(fl(), tp, 4);
                let proto = self
                    .fx
                    .b
                    .ins()
                    .band_imm_s(status, crate::heap::PROTO as i64);
                let plain = self.fx.b.create_block();
                self.fx.b.ins().brif(proto, slow, &[], plain, &[]);
                self.fx.b.switch_to_block(plain);
                let mt = self
                    .fx
                    .b
                    .ins()
                    .load(types::I64, fl(), tp, crate::heap::T_META as i32);
                let no_mt = self.fx.b.ins().icmp_imm_s(IntCC::Equal, mt, NIL);
                let has_mt = self.fx.b.create_block();
                self.fx.b.ins().brif(no_mt, store, &[], has_mt, &[]);
                self.fx.b.switch_to_block(has_mt);
                let mtp = self.object_ptr(mt, crate::heap::Kind::Table, slow);
                let ni_key = self.const_at(1);
                let ni = self
                    .probe(mtp, ni_key, newindex_hash(), store, slow, false)
                    .1;
                let m = self.fx.b.ins().load(types::I64, fl(), ni, 0);
                let none = self.fx.b.ins().icmp_imm_s(IntCC::Equal, m, NIL);
                self.fx.b.ins().brif(none, store, &[], slow, &[]);
                (part, va)
            }
            None => {
                // Storing nil in the array part may shorten it: the host.
                let v_nil = self.fx.b.ins().icmp_imm_s(IntCC::Equal, v, NIL);
                let not_nil = self.fx.b.create_block();
                self.fx.b.ins().brif(v_nil, slow, &[], not_nil, &[]);
                self.fx.b.switch_to_block(not_nil);
                let tp = self.table_ptr(o, slow);
                let append = self.fx.b.create_block();
                let r = self.array_slot_or(tp, k, slow, append);
                self.append(tp, k, v, append, slow, done);
                let cur = self.fx.b.ins().load(types::I64, fl(), r.1, 0);
                let is_nil = self.fx.b.ins().icmp_imm_s(IntCC::Equal, cur, NIL);
                self.fx.b.ins().brif(is_nil, slow, &[], store, &[]);
                r
            }
        };
        self.fx.b.switch_to_block(store);
        self.fx.store_ref_at(part, va, v);
        self.fx.b.ins().jump(done, &[]);
        self.fx.b.switch_to_block(slow);
        let objp = self.ptr(obj);
        let mut args = self.head();
        args.extend_from_slice(&[o, k, v, objp]);
        let r = self.call_host(self.h.setindex, &args)[0];
        self.check(r);
        self.fx.b.ins().jump(done, &[]);
        self.fx.b.switch_to_block(done);
    }

    /// `t[n + 1] = v` (`v` not nil) in the `append` block, for the table at
    /// `tp` whose array part has `n` elements: inline when the array part has
    /// room, the table has no metatable (a new key could meet `__newindex`)
    /// and no hash part (keys `n + 2, ...` would have to move over); else to
    /// `slow`. Leaves the builder where it was.
    fn append(&mut self, tp: V, k: V, v: V, append: ir::Block, slow: ir::Block, done: ir::Block) {
        let here = self.fx.b.current_block().expect("a block");
        self.fx.b.switch_to_block(append);
        let mt = self
            .fx
            .b
            .ins()
            .load(types::I64, fl(), tp, crate::heap::T_META as i32);
        let h = self
            .fx
            .b
            .ins()
            .load(types::I64, fl(), tp, crate::heap::T_HASH as i32);
        let no_mt = self.fx.b.ins().icmp_imm_s(IntCC::Equal, mt, NIL);
        let no_hash = self.fx.b.ins().icmp_imm_s(IntCC::Equal, h, NIL);
        let plain = self.fx.b.ins().band(no_mt, no_hash);
        self.guard(plain, slow);
        let i = self.unbox_int(k);
        let n = self
            .fx
            .b
            .ins()
            .load(types::I64, fl(), tp, crate::heap::T_ARRAY_LEN as i32);
        let next = self.fx.b.ins().iadd_imm_s(n, 1);
        let is_next = self.fx.b.ins().icmp(IntCC::Equal, i, next);
        self.guard(is_next, slow);
        let ap = self.array_room(tp, n, slow);
        let off = self.fx.b.ins().ishl_imm_s(n, 3);
        let e = self.fx.b.ins().iadd(ap, off);
        let addr = self
            .fx
            .b
            .ins()
            .iadd_imm_s(e, vmkit::object::ARRAY_DATA_OFFSET as i64);
        self.fx.store_ref_at(ap, addr, v);
        self.fx
            .b
            .ins()
            .store(fl(), next, tp, crate::heap::T_ARRAY_LEN as i32);
        self.fx.b.ins().jump(done, &[]);
        self.fx.b.switch_to_block(here);
    }

    // ------------------------------------------------------------ calls

    /// Evaluates the callee and arguments of a call node into temporaries:
    /// (callee's slot, argument count as a value). The temporaries stay
    /// allocated.
    fn call_setup(&mut self, e: &Expr) -> Result<(u32, V), String> {
        match e {
            Expr::Call { func, args, line } => {
                let fv = self.eval(func)?;
                let callpos = self.alloc_temp();
                self.store_slot(callpos, fv);
                let (_, n) = self.list_to_temps(args)?;
                self.line = *line;
                Ok((callpos, n))
            }
            Expr::Method {
                obj,
                name,
                line,
                args,
            } => {
                let o = self.eval(obj)?;
                let callpos = self.alloc_temp();
                let selfpos = self.alloc_temp();
                self.store_slot(selfpos, o);
                self.line = *line;
                let m = self.method(o, name, obj);
                self.store_slot(callpos, m);
                let (_, n) = self.list_to_temps(args)?;
                let n = self.fx.b.ins().iadd_imm_s(n, 1);
                self.line = *line;
                Ok((callpos, n))
            }
            _ => Err("not a call".into()),
        }
    }

    /// A call: (its slot, results as a value). With `keep`, the callee's slot
    /// stays allocated (its results are used in place by the caller, which
    /// resets `temps`); else the temporaries are released.
    fn call(&mut self, e: &Expr, keep: bool) -> Result<(u32, V), String> {
        let t0 = self.temps;
        let (callpos, nargs) = self.call_setup(e)?;
        let cp = self.abs(callpos);
        let callp = self.ptr(e);
        let fe = self.frame_end;
        // The argument count: the call's, then a tail-called callee's (the
        // callee left its own callee and arguments at `callpos`: called from
        // here, in a loop).
        let nv = self.fx.b.declare_var(types::I64);
        self.fx.b.def_var(nv, nargs);
        // `dispatch` makes the call; its parameters are the call record's
        // three words (see `crate::sites`): this call's, or `Site::TAIL`'s
        // when the call being made is a tail call of the last callee.
        let dispatch = self.fx.b.create_block();
        for _ in 0..3 {
            self.fx.b.append_block_param(dispatch, types::I64);
        }
        let first = self.fx.b.create_block();
        let join = self.fx.b.create_block();
        self.fx.b.append_block_param(join, types::I64);
        if let Expr::Method { name, args, .. } = e {
            if &name[..] == b"sub" && args.len() == 2 && !args.iter().any(is_multi) {
                self.one_byte_sub(callpos, first, join);
            }
        }
        self.fx.b.ins().jump(first, &[]);
        self.fx.b.switch_to_block(first);
        let proto = self.iconst(self.p as *const Function as i64);
        let line = self.iconst(self.line as i64);
        self.fx
            .b
            .ins()
            .jump(dispatch, &[proto.into(), line.into(), callp.into()]);
        self.fx.b.switch_to_block(dispatch);
        let (proto, line, callee) = {
            let ps = self.fx.b.block_params(dispatch);
            (ps[0], ps[1], ps[2])
        };
        let nargs = self.fx.b.use_var(nv);
        let fv = self.load_slot(callpos);
        let slow = self.fx.b.create_block();
        // A Lua function with compiled code is called directly.
        let piv = self.function_word(fv, slow);
        let pi = self.unbox_int(piv);
        let codes = self.iconst(CODES.as_ptr() as i64);
        let base = self.fx.b.ins().load(types::I64, fl(), codes, 0);
        let len = self.fx.b.ins().load(types::I64, fl(), codes, 8);
        let inside = self.fx.b.ins().icmp(IntCC::UnsignedLessThan, pi, len);
        self.guard(inside, slow);
        let off = self.fx.b.ins().ishl_imm_s(pi, 3);
        let slot = self.fx.b.ins().iadd(base, off);
        let code = self.fx.b.ins().load(types::I64, fl(), slot, 0);
        self.guard(code, slow);
        // The call's site record (see `crate::sites`).
        let sb = self.iconst(self.h.sites_base);
        let sl = self.iconst(self.h.sites_len);
        let n = self.fx.b.ins().load(types::I64, fl(), sl, 0);
        let so = self
            .fx
            .b
            .ins()
            .imul_imm_s(n, crate::sites::SITE_SIZE as i64);
        let rec = self.fx.b.ins().iadd(sb, so);
        self.fx.b.ins().store(fl(), proto, rec, 0);
        self.fx.b.ins().store(fl(), line, rec, 8);
        self.fx.b.ins().store(fl(), callee, rec, 16);
        let n1 = self.fx.b.ins().iadd_imm_s(n, 1);
        self.fx.b.ins().store(fl(), n1, sl, 0);
        let cc = self.fx.b.func.signature.call_conv;
        let mut sig = ir::Signature::new(cc);
        for _ in 0..4 {
            sig.params.push(ir::AbiParam::new(types::I64));
        }
        sig.returns.push(ir::AbiParam::new(types::I64));
        let sref = self.fx.b.import_signature(sig);
        let thread = self.fx.thread();
        self.spill_temps();
        let call = self
            .fx
            .b
            .ins()
            .call_indirect(sref, code, &[thread, self.it, cp, nargs]);
        let r = self.fx.b.inst_results(call)[0];
        self.reload_temps();
        let n = self.fx.b.ins().load(types::I64, fl(), sl, 0);
        let n1 = self.fx.b.ins().iadd_imm_s(n, -1);
        self.fx.b.ins().store(fl(), n1, sl, 0);
        let ok = self.fx.b.create_block();
        let err = self.fx.b.create_block();
        self.fx.b.set_cold_block(err);
        self.fx.b.ins().brif(r, ok, &[], err, &[]);
        self.fx.b.switch_to_block(err);
        let mut args = self.head();
        args.truncate(4);
        self.call_host(self.h.failed, &args);
        self.fx.b.ins().jump(self.fail, &[]);
        self.fx.b.switch_to_block(ok);
        let tail = self.fx.b.ins().icmp_imm_s(IntCC::SignedLessThan, r, 0);
        let tailb = self.fx.b.create_block();
        let fill = self.fx.b.create_block();
        self.fx.b.ins().brif(tail, tailb, &[], fill, &[]);
        self.fx.b.switch_to_block(fill);
        if keep {
            // The results may reach past `callpos + 1` (and past the frame).
            self.refill(fe);
        } else {
            let above = self.fx.b.create_block();
            let cont = self.fx.b.create_block();
            self.fx.b.ins().jump(above, &[]);
            self.fills.push((above, cont, callpos));
            self.fx.b.switch_to_block(cont);
        }
        self.reload_locals();
        self.fx.b.ins().jump(join, &[r.into()]);
        // The callee ended in a tail call: its callee and arguments are at
        // `callpos`; that call is made from here, the same way.
        self.fx.b.switch_to_block(tailb);
        let r1 = self.fx.b.ins().iadd_imm_s(r, 1);
        let targs = self.fx.b.ins().ineg(r1);
        self.fx.b.def_var(nv, targs);
        let tail = crate::sites::Site::TAIL;
        let words = [tail.proto as i64, tail.line as i64, tail.callee as i64];
        let words = words.map(|w| ir::BlockArg::from(self.iconst(w)));
        self.fx.b.ins().jump(dispatch, &words);
        // A built-in: a few common cases by a plain call (`hosts::h_fastcall`).
        self.fx.b.switch_to_block(slow);
        let general = self.fx.b.create_block();
        let tag = self.tag(fv);
        let builtin_tag = (crate::value::BUILTIN_BITS >> 48) as i64;
        let is_builtin = self.fx.b.ins().icmp_imm_s(IntCC::Equal, tag, builtin_tag);
        self.guard(is_builtin, general);
        let nargs = self.fx.b.use_var(nv);
        let at = self.fx.b.ins().iadd_imm_s(self.bp, 8 * callpos as i64);
        let r = self.call_host(self.h.fastcall, &[at, nargs, fv])[0];
        self.fx.b.ins().brif(r, join, &[r.into()], general, &[]);
        // Anything else: the host.
        self.fx.b.switch_to_block(general);
        let nargs = self.fx.b.use_var(nv);
        let mut args = self.head();
        args.extend_from_slice(&[cp, nargs, fe, callp]);
        let r = self.call_host(self.h.call, &args)[0];
        self.check(r);
        self.fx.b.ins().jump(join, &[r.into()]);
        self.fx.b.switch_to_block(join);
        let r = self.fx.b.block_params(join)[0];
        self.temps = if keep { t0 + 1 } else { t0 };
        let n = self.fx.b.ins().iadd_imm_s(r, -1);
        Ok((callpos, n))
    }

    /// `s:sub(i, i)` of the built-in `string.sub` with `i` an integer inside
    /// `s`: the one-byte string (made once, in the constants array) without a
    /// call; jumps to `join` with one result at `callpos`, else to `general`.
    /// The callee, `s`, `i` and `j` are in slots `callpos..callpos + 4`.
    fn one_byte_sub(&mut self, callpos: u32, general: ir::Block, join: ir::Block) {
        let fv = self.load_slot(callpos);
        let sub = LValue::builtin(crate::stdlib::index_of("sub")).0 as i64;
        let is_sub = self.fx.b.ins().icmp_imm_s(IntCC::Equal, fv, sub);
        self.guard(is_sub, general);
        let s = self.load_slot(callpos + 1);
        let p = self.object_ptr(s, crate::heap::Kind::Str, general);
        let i = self.load_slot(callpos + 2);
        let j = self.load_slot(callpos + 3);
        let same = self.fx.b.ins().icmp(IntCC::Equal, i, j);
        self.guard(same, general);
        let is_int = self.is_int(i);
        self.guard(is_int, general);
        let i = self.unbox_int(i);
        let len = self.fx.b.ins().load(
            types::I64,
            fl(),
            p,
            vmkit::object::ARRAY_LENGTH_OFFSET as i32,
        );
        let i0 = self.fx.b.ins().iadd_imm_s(i, -1);
        let inside = self.fx.b.ins().icmp(IntCC::UnsignedLessThan, i0, len);
        self.guard(inside, general);
        let at = self.fx.b.ins().iadd(p, i0);
        let byte = self.fx.b.ins().uload8(
            types::I64,
            fl(),
            at,
            vmkit::object::ARRAY_DATA_OFFSET as i32,
        );
        let base = self.iconst(self.h.stack_base);
        let arr = self
            .fx
            .b
            .ins()
            .load(types::I64, fl(), base, (8 * CONSTS) as i32);
        let arr = self.unbox_ptr(arr);
        let off = self.fx.b.ins().ishl_imm_s(byte, 3);
        let slot = self.fx.b.ins().iadd(arr, off);
        let first = crate::heap::elem(crate::interp::ONE_BYTE_STRINGS) as i32;
        let v = self.fx.b.ins().load(types::I64, fl(), slot, first);
        self.store_slot(callpos, v);
        let two = self.iconst(2);
        self.fx.b.ins().jump(join, &[two.into()]);
        // Nothing reaches this block: the caller's jump to `general` ends it.
        let after = self.fx.b.create_block();
        self.fx.b.switch_to_block(after);
    }

    // ------------------------------------------------------------ expressions

    fn upvalue_cell(&mut self, u: u32) -> V {
        let base = self.iconst(self.h.stack_base);
        let off = self.fx.b.ins().imul_imm_s(self.fpos, 8);
        let addr = self.fx.b.ins().iadd(base, off);
        let cl = self.fx.b.ins().load(types::I64, fl(), addr, 0);
        let cl = self.unbox_ptr(cl);
        self.fx.b.ins().load(
            types::I64,
            fl(),
            cl,
            crate::heap::elem(1 + u as usize) as i32,
        )
    }

    fn cell_load(&mut self, cell: V) -> V {
        let c = self.unbox_ptr(cell);
        self.fx
            .b
            .ins()
            .load(types::I64, fl(), c, vmkit::HEADER_SIZE as i32)
    }

    fn eval(&mut self, e: &Expr) -> Result<V, String> {
        Ok(match e {
            Expr::Nil => self.iconst(NIL),
            Expr::True => self.iconst(TRUE),
            Expr::False => self.iconst(FALSE),
            Expr::Int(i) => match LValue::small_int(*i) {
                Some(v) => self.iconst(v.0 as i64),
                None => {
                    let i = self.iconst(*i);
                    self.host_value(self.h.bigint, &[i])
                }
            },
            Expr::Float(x) => self.iconst(LValue::float(*x).0 as i64),
            Expr::Str(s) => self.constant(s),
            Expr::Local { slot, captured, .. } => {
                let v = self.local_load(*slot);
                if *captured {
                    self.cell_load(v)
                } else {
                    v
                }
            }
            Expr::Upvalue { index, .. } => {
                let c = self.upvalue_cell(*index);
                self.cell_load(c)
            }
            Expr::Global(name) if &name[..] != b"_ENV" => {
                // Found in the globals table inline; missing (nil, or
                // `__index` on the globals' metatable) by the host.
                let (ki, kh) = self.const_info(name);
                let k = self.const_at(ki);
                let slow = self.fx.b.create_block();
                let done = self.fx.b.create_block();
                self.fx.b.append_block_param(done, types::I64);
                self.fx.b.set_cold_block(slow);
                let g = self.global_table();
                let gp = self.table_ptr(g, slow);
                let va = self.probe(gp, k, kh, slow, slow, true).1;
                let v = self.fx.b.ins().load(types::I64, fl(), va, 0);
                let is_nil = self.fx.b.ins().icmp_imm_s(IntCC::Equal, v, NIL);
                self.fx.b.ins().brif(is_nil, slow, &[], done, &[v.into()]);
                self.fx.b.switch_to_block(slow);
                let v = self.host_value(self.h.getglobal, &[k]);
                self.fx.b.ins().jump(done, &[v.into()]);
                self.fx.b.switch_to_block(done);
                self.fx.b.block_params(done)[0]
            }
            Expr::Index { obj, key, line } => {
                let o = self.eval(obj)?;
                let (o, k, hash) = match &**key {
                    Expr::Str(s) => {
                        let k = self.constant(s);
                        (o, k, Some(self.const_info(s).1))
                    }
                    _ => {
                        let (o, k) = self.keep(o, key)?;
                        (o, k, None)
                    }
                };
                self.line = *line;
                self.index(o, k, hash, obj)
            }
            Expr::Call { .. } | Expr::Method { .. } => {
                let (callpos, n) = self.call(e, false)?;
                // The first result, or nil.
                let v = self.load_slot(callpos);
                let nil = self.iconst(NIL);
                self.fx.b.ins().select(n, v, nil)
            }
            Expr::Function(p) => {
                let pp = self.ptr(p);
                self.host_value(self.h.closure, &[pp])
            }
            Expr::And(a, b) | Expr::Or(a, b) => {
                let is_and = matches!(e, Expr::And(..));
                let x = self.eval(a)?;
                let t = self.truthy(x);
                let rhs = self.fx.b.create_block();
                let done = self.fx.b.create_block();
                self.fx.b.append_block_param(done, types::I64);
                if is_and {
                    self.fx.b.ins().brif(t, rhs, &[], done, &[x.into()]);
                } else {
                    self.fx.b.ins().brif(t, done, &[x.into()], rhs, &[]);
                }
                self.fx.b.switch_to_block(rhs);
                let y = self.eval(b)?;
                self.fx.b.ins().jump(done, &[y.into()]);
                self.fx.b.switch_to_block(done);
                self.fx.b.block_params(done)[0]
            }
            Expr::Paren(inner) => self.eval(inner)?,
            Expr::Unary { op, operand, line } => {
                let v = self.eval(operand)?;
                self.line = *line;
                match op {
                    UnOp::Not => {
                        let t = self.truthy(v);
                        let tr = self.iconst(TRUE);
                        let fa = self.iconst(FALSE);
                        self.fx.b.ins().select(t, fa, tr)
                    }
                    UnOp::Neg => {
                        // Floats and inline integers inline; the rest (and
                        // -(-2^47), which needs a box) by the host.
                        let isf = self.is_float(v);
                        let fast = self.fx.b.create_block();
                        let not_float = self.fx.b.create_block();
                        let int_b = self.fx.b.create_block();
                        let slow = self.fx.b.create_block();
                        let done = self.fx.b.create_block();
                        self.fx.b.append_block_param(done, types::I64);
                        self.fx.b.set_cold_block(slow);
                        self.fx.b.ins().brif(isf, fast, &[], not_float, &[]);
                        self.fx.b.switch_to_block(fast);
                        let r = self.fx.b.ins().bxor_imm_s(v, i64::MIN);
                        self.fx.b.ins().jump(done, &[r.into()]);
                        self.fx.b.switch_to_block(not_float);
                        let ii = self.is_int(v);
                        self.fx.b.ins().brif(ii, int_b, &[], slow, &[]);
                        self.fx.b.switch_to_block(int_b);
                        let x = self.unbox_int(v);
                        let n = self.fx.b.ins().ineg(x);
                        let fits = self.fx.b.ins().icmp_imm_s(
                            IntCC::NotEqual,
                            x,
                            crate::value::INLINE_MIN,
                        );
                        let p = self.fx.b.ins().band_imm_s(n, PAYLOAD);
                        let r = self.fx.b.ins().bor_imm_s(p, INT_BITS);
                        self.fx.b.ins().brif(fits, done, &[r.into()], slow, &[]);
                        self.fx.b.switch_to_block(slow);
                        let ep = self.ptr(e);
                        let r = self.host_value(self.h.unary, &[v, ep]);
                        self.fx.b.ins().jump(done, &[r.into()]);
                        self.fx.b.switch_to_block(done);
                        self.fx.b.block_params(done)[0]
                    }
                    UnOp::Len => {
                        // A string's length, or the array part's of a table
                        // without a metatable, inline.
                        let slow = self.fx.b.create_block();
                        let done = self.fx.b.create_block();
                        let not_str = self.fx.b.create_block();
                        self.fx.b.append_block_param(done, types::I64);
                        self.fx.b.set_cold_block(slow);
                        let sp = self.object_ptr(v, crate::heap::Kind::Str, not_str);
                        let n = self.fx.b.ins().load(
                            types::I64,
                            fl(),
                            sp,
                            vmkit::object::ARRAY_LENGTH_OFFSET as i32,
                        );
                        let boxed = self.fx.b.ins().bor_imm_s(n, INT_BITS);
                        self.fx.b.ins().jump(done, &[boxed.into()]);
                        self.fx.b.switch_to_block(not_str);
                        let tp = self.table_ptr(v, slow);
                        let mt =
                            self.fx
                                .b
                                .ins()
                                .load(types::I64, fl(), tp, crate::heap::T_META as i32);
                        let no_mt = self.fx.b.ins().icmp_imm_s(IntCC::Equal, mt, NIL);
                        self.guard(no_mt, slow);
                        // The array part's length, when the table has no
                        // hash part (where the next key could wait).
                        let h =
                            self.fx
                                .b
                                .ins()
                                .load(types::I64, fl(), tp, crate::heap::T_HASH as i32);
                        let no_hash = self.fx.b.ins().icmp_imm_s(IntCC::Equal, h, NIL);
                        self.guard(no_hash, slow);
                        // Nils below the length: lua5.4's search, by the host.
                        let status = self.fx.b.ins().uload32(fl(), tp, 4);
                        let holes = self
                            .fx
                            .b
                            .ins()
                            .band_imm_s(status, crate::heap::HOLES as i64);
                        let no_holes = self.fx.b.ins().icmp_imm_s(IntCC::Equal, holes, 0);
                        self.guard(no_holes, slow);
                        let n = self.fx.b.ins().load(
                            types::I64,
                            fl(),
                            tp,
                            crate::heap::T_ARRAY_LEN as i32,
                        );
                        let boxed = self.fx.b.ins().bor_imm_s(n, INT_BITS);
                        self.fx.b.ins().brif(n, done, &[boxed.into()], slow, &[]);
                        self.fx.b.switch_to_block(slow);
                        let ep = self.ptr(e);
                        let r = self.host_value(self.h.unary, &[v, ep]);
                        self.fx.b.ins().jump(done, &[r.into()]);
                        self.fx.b.switch_to_block(done);
                        self.fx.b.block_params(done)[0]
                    }
                    _ => {
                        let ep = self.ptr(e);
                        self.host_value(self.h.unary, &[v, ep])
                    }
                }
            }
            Expr::Binary { op, lhs, rhs, line } => {
                let a = self.eval(lhs)?;
                let (a, b) = self.keep(a, rhs)?;
                self.line = *line;
                self.binary(*op, a, b, e)
            }
            Expr::Table { items, line }
                if !items
                    .last()
                    .is_some_and(|i| matches!(i, TableItem::Positional(e) if is_multi(e))) =>
            {
                self.line = *line;
                self.constructor(items, *line)?
            }
            // `_ENV`, constructors ending in a call or `...`, `...`: the
            // interpreter.
            _ => {
                let ep = self.ptr(e);
                self.host_value(self.h.eval, &[ep])
            }
        })
    }

    /// A table constructor whose items are single values: the table in a
    /// temporary while the items are evaluated and stored in order (as the
    /// interpreter does).
    fn constructor(&mut self, items: &[TableItem], line: u32) -> Result<V, String> {
        let npos = items
            .iter()
            .filter(|i| matches!(i, TableItem::Positional(_)))
            .count();
        // Keyed items all strings: a roomy hash part (`heap::new_table_for`).
        let roomy = items.iter().all(|i| match i {
            TableItem::Keyed(k, _) => matches!(k, Expr::Str(_)),
            TableItem::Positional(_) => true,
        });
        let tab = self.new_table(npos, items.len() - npos, roomy);
        let t0 = self.temps;
        let tt = self.alloc_temp();
        self.store_slot(tt, tab);
        // Positional values go to the array part inline while the hash part
        // can hold no integer key (one would have to move over as the array
        // part grows): only string constants are keyed in this constructor.
        // Big constructors (data, mostly run once) take the host for all:
        // each inline store is some 20 to 50 instructions to compile.
        let inline_appends = npos <= INLINE_ITEMS
            && items.iter().all(|i| match i {
                TableItem::Keyed(k, _) => matches!(k, Expr::Str(_)),
                TableItem::Positional(_) => true,
            });
        let inline_keys = items.len() - npos <= INLINE_ITEMS;
        // Positional values wait in temporaries and are stored in batches, as
        // the interpreter (and lua5.4) does.
        let mut index = 1i64;
        let mut pending: Vec<u32> = Vec::new();
        for item in items {
            match item {
                TableItem::Positional(e) => {
                    let v = self.eval(e)?;
                    let t = self.alloc_temp();
                    self.store_slot(t, v);
                    pending.push(t);
                    if pending.len() == crate::interp::FIELDS_PER_FLUSH {
                        self.flush_items(tt, &mut pending, &mut index, line, inline_appends);
                    }
                }
                TableItem::Keyed(Expr::Str(name), v) if inline_keys => {
                    let (ki, kh) = self.const_info(name);
                    let v = self.eval(v)?;
                    self.line = line;
                    let k = self.const_at(ki);
                    let tab = self.load_slot(tt);
                    self.insert_fresh(tab, k, kh, v);
                }
                TableItem::Keyed(k, v) => {
                    let kv = self.eval(k)?;
                    let (k, v) = self.keep(kv, v)?;
                    self.line = line;
                    let tab = self.load_slot(tt);
                    self.tset(tab, k, v);
                }
            }
        }
        self.flush_items(tt, &mut pending, &mut index, line, inline_appends);
        let tab = self.load_slot(tt);
        self.temps = t0;
        Ok(tab)
    }

    /// A constructor's new table with room for `narray` positional and
    /// `nhash` keyed items, made as `heap::new_table_for` makes it: inline from
    /// the thread's allocation buffer when it is small and the plan allows,
    /// else (or when the buffer has no room) by the host.
    fn new_table(&mut self, narray: usize, nhash: usize, roomy: bool) -> V {
        let slow = self.fx.b.create_block();
        self.fx.b.set_cold_block(slow);
        let done = self.fx.b.create_block();
        self.fx.b.append_block_param(done, types::I64);
        let nodes = if nhash > 0 {
            crate::heap::hash_nodes(nhash, roomy)
        } else {
            0
        };
        let inline = narray <= INLINE_ITEMS && nodes <= INLINE_ITEMS.next_power_of_two() * 2;
        let made = if inline {
            self.new_table_inline(narray, nodes, roomy, slow)
        } else {
            None
        };
        match made {
            Some(tab) => {
                self.fx.b.ins().jump(done, &[tab.into()]);
            }
            None => {
                self.fx.b.ins().jump(slow, &[]);
            }
        }
        self.fx.b.switch_to_block(slow);
        let np = self.iconst(narray as i64);
        let nh = (nhash as u64) | (u64::from(roomy) << 63);
        let nh = self.iconst(nh as i64);
        let tab = self.host_value(self.h.newtable, &[np, nh]);
        self.fx.b.ins().jump(done, &[tab.into()]);
        self.fx.b.switch_to_block(done);
        self.fx.b.block_params(done)[0]
    }

    /// The inline path of [`Cg::new_table`]: the table, then its array part
    /// (`narray` nils) and hash part (`nodes` free nodes), each bump-allocated
    /// (a jump to `slow` when the buffer runs out; what was allocated before
    /// is garbage then). `None` when the plan has no inline allocation.
    fn new_table_inline(
        &mut self,
        narray: usize,
        nodes: usize,
        roomy: bool,
        slow: ir::Block,
    ) -> Option<V> {
        use crate::heap::{TABLE, VALUES};
        let status = if roomy && nodes > 0 {
            crate::heap::SCATTERED
        } else {
            0
        };
        let size = TABLE.instance_size(0);
        let tp = self.fx.alloc_inline(&TABLE, size, status, None, slow)?;
        let nil = self.iconst(NIL);
        for f in [
            crate::heap::T_ARRAY,
            crate::heap::T_HASH,
            crate::heap::T_META,
        ] {
            self.fx.b.ins().store(fl(), nil, tp, f as i32);
        }
        let part = |cg: &mut Self, words: usize, field: usize| -> Option<()> {
            let bytes = vmkit::object::array_size(8, words);
            let ap = cg.fx.alloc_inline(&VALUES, bytes, 0, Some(words), slow)?;
            for i in 0..words {
                let off = crate::heap::elem(i) as i32;
                cg.fx.b.ins().store(fl(), nil, ap, off);
            }
            let boxed = cg.fx.b.ins().bor_imm_s(ap, REF_BITS);
            cg.fx.store_ref(tp, field as i32, boxed);
            Some(())
        };
        if narray > 0 {
            part(self, narray, crate::heap::T_ARRAY)?;
        }
        if nodes > 0 {
            part(self, 3 * nodes, crate::heap::T_HASH)?;
            let n = self.iconst(nodes as i64);
            self.fx
                .b
                .ins()
                .store(fl(), n, tp, crate::heap::T_HASH_SIZE as i32);
            self.fx
                .b
                .ins()
                .store(fl(), n, tp, crate::heap::T_LASTFREE as i32);
        }
        Some(self.fx.b.ins().bor_imm_s(tp, REF_BITS))
    }

    /// Stores the waiting positional values of a constructor (with
    /// `inline`, each that is not nil and is the next element of an array
    /// part with room, inline).
    fn flush_items(
        &mut self,
        tt: u32,
        pending: &mut Vec<u32>,
        index: &mut i64,
        line: u32,
        inline: bool,
    ) {
        for t in pending.drain(..) {
            self.line = line;
            let v = self.load_slot(t);
            let tab = self.load_slot(tt);
            let slow = self.fx.b.create_block();
            let done = self.fx.b.create_block();
            self.fx.b.set_cold_block(slow);
            if inline {
                // The table is this constructor's own (no metatable, not
                // weak): element `index` when it is the next one and fits.
                let v_nil = self.fx.b.ins().icmp_imm_s(IntCC::Equal, v, NIL);
                let not_nil = self.fx.b.create_block();
                self.fx.b.ins().brif(v_nil, slow, &[], not_nil, &[]);
                self.fx.b.switch_to_block(not_nil);
                let tp = self.unbox_ptr(tab);
                let n = self
                    .fx
                    .b
                    .ins()
                    .load(types::I64, fl(), tp, crate::heap::T_ARRAY_LEN as i32);
                let is_next = self.fx.b.ins().icmp_imm_s(IntCC::Equal, n, *index - 1);
                self.guard(is_next, slow);
                let ap = self.array_room(tp, n, slow);
                let e = self
                    .fx
                    .b
                    .ins()
                    .iadd_imm_s(ap, crate::heap::elem(*index as usize - 1) as i64);
                self.fx.store_ref_at(ap, e, v);
                let n1 = self.iconst(*index);
                self.fx
                    .b
                    .ins()
                    .store(fl(), n1, tp, crate::heap::T_ARRAY_LEN as i32);
                self.fx.b.ins().jump(done, &[]);
            } else {
                self.fx.b.ins().jump(slow, &[]);
            }
            // As lua5.4's SETLIST: into the array part, holes and all.
            self.fx.b.switch_to_block(slow);
            let i = self.iconst(*index);
            *index += 1;
            let mut args = self.head();
            args.extend_from_slice(&[tab, i, v]);
            let r = self.call_host(self.h.tsetpos, &args)[0];
            self.check(r);
            self.fx.b.ins().jump(done, &[]);
            self.fx.b.switch_to_block(done);
        }
        self.temps = tt + 1 - self.p.slots;
    }

    /// The address of the array part of the table at `tp` when it has room
    /// for element `n + 1` (`n` its length, raw); else a jump to `slow`.
    fn array_room(&mut self, tp: V, n: V, slow: ir::Block) -> V {
        let (ap, cap) = self.part(tp, crate::heap::T_ARRAY, slow);
        let room = self.fx.b.ins().icmp(IntCC::UnsignedLessThan, n, cap);
        self.guard(room, slow);
        ap
    }

    /// `tab[k] = v` for a constructor's item `name = v` (`k` the string
    /// constant, `hash` its hash) into the constructor's own table (no
    /// metatable, not weak): inline into the hash part when `v` is not nil
    /// and the key is there (its value overwritten) or its main position is
    /// free (lua5.4's `luaH_newkey` without a collision); else by the host.
    fn insert_fresh(&mut self, tab: V, k: V, hash: u32, v: V) {
        let slow = self.fx.b.create_block();
        let done = self.fx.b.create_block();
        self.fx.b.set_cold_block(slow);
        let v_nil = self.fx.b.ins().icmp_imm_s(IntCC::Equal, v, NIL);
        let go = self.fx.b.create_block();
        self.fx.b.ins().brif(v_nil, slow, &[], go, &[]);
        self.fx.b.switch_to_block(go);
        let tp = self.unbox_ptr(tab);
        let (hp, cap) = self.hash_part(tp, slow);
        let (found, empty, mp) = self.probe_loop(hp, cap, k, hash, slow);
        let data = vmkit::object::ARRAY_DATA_OFFSET as i64;
        // The same constant again: its value overwritten.
        self.fx.b.switch_to_block(found);
        let pair = self.fx.b.block_params(found)[0];
        let va = self.fx.b.ins().iadd_imm_s(pair, data + 8);
        self.fx.store_ref_at(hp, va, v);
        self.fx.b.ins().jump(done, &[]);
        // A new key at its main position, when that node's value is nil
        // (a never-used node, or a dead key whose link stays).
        self.fx.b.switch_to_block(empty);
        let mv = self
            .fx
            .b
            .ins()
            .load(types::I64, fl(), mp, (data + 8) as i32);
        let free = self.fx.b.ins().icmp_imm_s(IntCC::Equal, mv, NIL);
        self.guard(free, slow);
        let ka = self.fx.b.ins().iadd_imm_s(mp, data);
        let va = self.fx.b.ins().iadd_imm_s(mp, data + 8);
        self.fx.store_ref_at(hp, ka, k);
        self.fx.store_ref_at(hp, va, v);
        self.fx.b.ins().jump(done, &[]);
        self.tset_slow(slow, done, tab, k, v);
    }

    /// The `slow` block of a constructor's store: `tab[k] = v` by the host,
    /// then `done`, where the builder is left.
    fn tset_slow(&mut self, slow: ir::Block, done: ir::Block, tab: V, k: V, v: V) {
        self.fx.b.switch_to_block(slow);
        self.tset(tab, k, v);
        self.fx.b.ins().jump(done, &[]);
        self.fx.b.switch_to_block(done);
    }

    /// A constructor's `tab[k] = v` (raw) by the host.
    fn tset(&mut self, tab: V, k: V, v: V) {
        let mut args = self.head();
        args.extend_from_slice(&[tab, k, v]);
        let r = self.call_host(self.h.tset, &args)[0];
        self.check(r);
    }

    /// Non-zero (an `i8`) when `v` is neither nil nor false.
    fn truthy(&mut self, v: V) -> V {
        let n = self.fx.b.ins().icmp_imm_s(IntCC::NotEqual, v, NIL);
        let f = self.fx.b.ins().icmp_imm_s(IntCC::NotEqual, v, FALSE);
        self.fx.b.ins().band(n, f)
    }

    fn is_float(&mut self, v: V) -> V {
        self.fx.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, v, NIL)
    }

    /// Non-zero when `v` is an inline integer.
    fn is_int(&mut self, v: V) -> V {
        let tag = self.tag(v);
        self.fx.b.ins().icmp_imm_s(IntCC::Equal, tag, INT_TAG)
    }

    fn both_int(&mut self, a: V, b: V) -> V {
        let x = self.is_int(a);
        let y = self.is_int(b);
        self.fx.b.ins().band(x, y)
    }

    fn both_float(&mut self, a: V, b: V) -> V {
        let x = self.is_float(a);
        let y = self.is_float(b);
        self.fx.b.ins().band(x, y)
    }

    fn unbox_int(&mut self, v: V) -> V {
        let s = self.fx.b.ins().ishl_imm_s(v, 16);
        self.fx.b.ins().sshr_imm_s(s, 16)
    }

    fn as_f64(&mut self, v: V) -> V {
        self.fx.b.ins().bitcast(types::F64, MemFlagsData::new(), v)
    }

    fn bool_value(&mut self, c: V) -> V {
        let c = self.fx.b.ins().uextend(types::I64, c);
        self.fx.b.ins().bor_imm_s(c, FALSE)
    }

    /// A binary operation: integer and float fast paths inline where they
    /// are simple, the host otherwise (and for every other operand type).
    fn binary(&mut self, op: BinOp, a: V, b: V, e: &Expr) -> V {
        use BinOp::*;
        let done = self.fx.b.create_block();
        self.fx.b.append_block_param(done, types::I64);
        let slow = self.fx.b.create_block();
        self.fx.b.set_cold_block(slow);
        let int_op = matches!(
            op,
            Add | Sub | Mul | Mod | IDiv | Eq | Ne | Lt | Le | Gt | Ge | BAnd | BOr | BXor
        );
        let float_op = matches!(op, Add | Sub | Mul | Div | Eq | Ne | Lt | Le | Gt | Ge);
        if int_op {
            let ii = self.both_int(a, b);
            let int_b = self.fx.b.create_block();
            let next = self.fx.b.create_block();
            self.fx.b.ins().brif(ii, int_b, &[], next, &[]);
            self.fx.b.switch_to_block(int_b);
            let x = self.unbox_int(a);
            let y = self.unbox_int(b);
            match op {
                Add | Sub | Mul => {
                    let r = match op {
                        Add => self.fx.b.ins().iadd(x, y),
                        Sub => self.fx.b.ins().isub(x, y),
                        _ => {
                            let (r, of) = self.fx.b.ins().smul_overflow(x, y);
                            let ok = self.fx.b.create_block();
                            self.fx.b.ins().brif(of, slow, &[], ok, &[]);
                            self.fx.b.switch_to_block(ok);
                            r
                        }
                    };
                    let sh = self.fx.b.ins().ishl_imm_s(r, 16);
                    let back = self.fx.b.ins().sshr_imm_s(sh, 16);
                    let fits = self.fx.b.ins().icmp(IntCC::Equal, back, r);
                    let p = self.fx.b.ins().band_imm_s(r, PAYLOAD);
                    let v = self.fx.b.ins().bor_imm_s(p, INT_BITS);
                    self.fx.b.ins().brif(fits, done, &[v.into()], slow, &[]);
                }
                Mod | IDiv => {
                    self.guard(y, slow);
                    let q = self.fx.b.ins().sdiv(x, y);
                    let r = self.fx.b.ins().srem(x, y);
                    // Floor: adjust when the remainder is non-zero and its
                    // sign differs from the divisor's.
                    let xr = self.fx.b.ins().bxor(r, y);
                    let diff = self.fx.b.ins().icmp_imm_s(IntCC::SignedLessThan, xr, 0);
                    let nz = self.fx.b.ins().icmp_imm_s(IntCC::NotEqual, r, 0);
                    let adj = self.fx.b.ins().band(diff, nz);
                    let res = if op == Mod {
                        let r2 = self.fx.b.ins().iadd(r, y);
                        self.fx.b.ins().select(adj, r2, r)
                    } else {
                        let q2 = self.fx.b.ins().iadd_imm_s(q, -1);
                        self.fx.b.ins().select(adj, q2, q)
                    };
                    let p = self.fx.b.ins().band_imm_s(res, PAYLOAD);
                    let v = self.fx.b.ins().bor_imm_s(p, INT_BITS);
                    self.fx.b.ins().jump(done, &[v.into()]);
                }
                BAnd | BOr | BXor => {
                    let r = match op {
                        BAnd => self.fx.b.ins().band(x, y),
                        BOr => self.fx.b.ins().bor(x, y),
                        _ => self.fx.b.ins().bxor(x, y),
                    };
                    let p = self.fx.b.ins().band_imm_s(r, PAYLOAD);
                    let v = self.fx.b.ins().bor_imm_s(p, INT_BITS);
                    self.fx.b.ins().jump(done, &[v.into()]);
                }
                _ => {
                    let cc = match op {
                        Eq => IntCC::Equal,
                        Ne => IntCC::NotEqual,
                        Lt => IntCC::SignedLessThan,
                        Le => IntCC::SignedLessThanOrEqual,
                        Gt => IntCC::SignedGreaterThan,
                        _ => IntCC::SignedGreaterThanOrEqual,
                    };
                    let c = self.fx.b.ins().icmp(cc, x, y);
                    let v = self.bool_value(c);
                    self.fx.b.ins().jump(done, &[v.into()]);
                }
            }
            self.fx.b.switch_to_block(next);
        }
        if float_op {
            let ff = self.both_float(a, b);
            let fb = self.fx.b.create_block();
            let next = self.fx.b.create_block();
            self.fx.b.ins().brif(ff, fb, &[], next, &[]);
            self.fx.b.switch_to_block(fb);
            let x = self.as_f64(a);
            let y = self.as_f64(b);
            let v = match op {
                Add | Sub | Mul | Div => {
                    let r = match op {
                        Add => self.fx.b.ins().fadd(x, y),
                        Sub => self.fx.b.ins().fsub(x, y),
                        Mul => self.fx.b.ins().fmul(x, y),
                        _ => self.fx.b.ins().fdiv(x, y),
                    };
                    // The result's bits are the value: both operands are
                    // floats, so any NaN among them is canonical, and the
                    // hardware's result NaN is then one of the operands'
                    // (quieted: still canonical) or its default NaN
                    // (0xFFF8.. on x86-64, 0x7FF8.. on AArch64 and RISC-V),
                    // canonical too.
                    self.fx.b.ins().bitcast(types::I64, MemFlagsData::new(), r)
                }
                _ => {
                    let cc = match op {
                        Eq => FloatCC::Equal,
                        Ne => FloatCC::NotEqual,
                        Lt => FloatCC::LessThan,
                        Le => FloatCC::LessThanOrEqual,
                        Gt => FloatCC::GreaterThan,
                        _ => FloatCC::GreaterThanOrEqual,
                    };
                    let c = self.fx.b.ins().fcmp(cc, x, y);
                    self.bool_value(c)
                }
            };
            self.fx.b.ins().jump(done, &[v.into()]);
            self.fx.b.switch_to_block(next);
        }
        if matches!(op, Eq | Ne) {
            // Identical words that are not floats (handled above) are equal:
            // the same object, string, boolean or nil.
            let same = self.fx.b.ins().icmp(IntCC::Equal, a, b);
            let yes = self.fx.b.create_block();
            let next = self.fx.b.create_block();
            self.fx.b.ins().brif(same, yes, &[], next, &[]);
            self.fx.b.switch_to_block(yes);
            let v = self.iconst(if op == Eq { TRUE } else { FALSE });
            self.fx.b.ins().jump(done, &[v.into()]);
            self.fx.b.switch_to_block(next);
            // Different words, one of them nil or a boolean: unequal (no
            // metamethod applies).
            let ta = self.tag(a);
            let tb = self.tag(b);
            let da = self.fx.b.ins().iadd_imm_s(ta, -0xFFF9);
            let db = self.fx.b.ins().iadd_imm_s(tb, -0xFFF9);
            let sa = self.fx.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, da, 2);
            let sb = self.fx.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, db, 2);
            let simple = self.fx.b.ins().bor(sa, sb);
            let no = self.iconst(if op == Eq { FALSE } else { TRUE });
            let next = self.fx.b.create_block();
            self.fx.b.ins().brif(simple, done, &[no.into()], next, &[]);
            self.fx.b.switch_to_block(next);
            // Two different strings whose cached hashes differ.
            let ra = self.fx.b.ins().icmp_imm_s(IntCC::Equal, ta, 0xFFFC);
            let rb = self.fx.b.ins().icmp_imm_s(IntCC::Equal, tb, 0xFFFC);
            let both = self.fx.b.ins().band(ra, rb);
            self.guard(both, slow);
            let (pa, pb) = self.both_strings(a, b, slow);
            let ha = self.fx.b.ins().uload32(fl(), pa, 4);
            let hb = self.fx.b.ins().uload32(fl(), pb, 4);
            let za = self.fx.b.ins().icmp_imm_s(IntCC::NotEqual, ha, 0);
            let zb = self.fx.b.ins().icmp_imm_s(IntCC::NotEqual, hb, 0);
            let differ = self.fx.b.ins().icmp(IntCC::NotEqual, ha, hb);
            let known = self.fx.b.ins().band(za, zb);
            let unequal = self.fx.b.ins().band(known, differ);
            let v = self.iconst(if op == Eq { FALSE } else { TRUE });
            self.fx.b.ins().brif(unequal, done, &[v.into()], slow, &[]);
            let after = self.fx.b.create_block();
            self.fx.b.switch_to_block(after);
        }
        if matches!(op, Lt | Le | Gt | Ge) {
            // Two strings: the order of their bytes, by a plain call
            // (`hosts::h_strcmp`: no frame, nothing collected).
            let ra = self.is_ref(a);
            let rb = self.is_ref(b);
            let both = self.fx.b.ins().band(ra, rb);
            self.guard(both, slow);
            self.both_strings(a, b, slow);
            let r = self.call_host(self.h.strcmp, &[a, b])[0];
            let c = match op {
                Lt => self.fx.b.ins().icmp_imm_s(IntCC::Equal, r, 0),
                Le => self
                    .fx
                    .b
                    .ins()
                    .icmp_imm_s(IntCC::UnsignedLessThanOrEqual, r, 1),
                Gt => self.fx.b.ins().icmp_imm_s(IntCC::Equal, r, 2),
                _ => self
                    .fx
                    .b
                    .ins()
                    .icmp_imm_s(IntCC::UnsignedGreaterThanOrEqual, r, 1),
            };
            let v = self.bool_value(c);
            self.fx.b.ins().jump(done, &[v.into()]);
            let after = self.fx.b.create_block();
            self.fx.b.switch_to_block(after);
        }
        self.fx.b.ins().jump(slow, &[]);
        self.fx.b.switch_to_block(slow);
        let ep = self.ptr(e);
        let v = self.host_value(self.h.arith, &[a, b, ep]);
        self.fx.b.ins().jump(done, &[v.into()]);
        self.fx.b.switch_to_block(done);
        self.fx.b.block_params(done)[0]
    }

    /// The addresses of references `a` and `b` when both are strings; a jump
    /// to `slow` otherwise.
    fn both_strings(&mut self, a: V, b: V, slow: ir::Block) -> (V, V) {
        let pa = self.unbox_ptr(a);
        let pb = self.unbox_ptr(b);
        let ia = self.fx.b.ins().uload32(fl(), pa, 0);
        let ib = self.fx.b.ins().uload32(fl(), pb, 0);
        let sid = crate::heap::kind_id(crate::heap::Kind::Str) as i64;
        let sa = self.fx.b.ins().icmp_imm_s(IntCC::Equal, ia, sid);
        let sb = self.fx.b.ins().icmp_imm_s(IntCC::Equal, ib, sid);
        let strs = self.fx.b.ins().band(sa, sb);
        self.guard(strs, slow);
        (pa, pb)
    }

    /// A condition as an `i8` (comparisons without making a boolean value).
    fn cond(&mut self, e: &Expr) -> Result<V, String> {
        let v = self.eval(e)?;
        Ok(self.truthy(v))
    }
}

/// The hash of the string `__index` (what `heap::str_hash` gives it).
fn index_hash() -> u32 {
    crate::heap::bytes_hash(b"__index")
}

/// The hash of the string `__newindex`.
fn newindex_hash() -> u32 {
    crate::heap::bytes_hash(b"__newindex")
}

/// Whether evaluating `e` may allocate or run Lua code (and so collect).
fn may_collect(e: &Expr) -> bool {
    match e {
        Expr::Nil | Expr::True | Expr::False | Expr::Float(_) | Expr::Str(_) => false,
        Expr::Int(i) => LValue::small_int(*i).is_none(),
        Expr::Local { .. } | Expr::Upvalue { .. } => false,
        Expr::Paren(e) => may_collect(e),
        _ => true,
    }
}

/// How many arguments call `e` passes (a method call's object included) when
/// none of them expands to several values; `None` when the count is known
/// only at run time.
fn static_args(e: &Expr) -> Option<usize> {
    let (args, extra) = match e {
        Expr::Call { args, .. } => (args, 0),
        Expr::Method { args, .. } => (args, 1),
        _ => return None,
    };
    if args.last().is_some_and(is_multi) {
        return None;
    }
    Some(args.len() + extra)
}

fn is_multi(e: &Expr) -> bool {
    matches!(e, Expr::Call { .. } | Expr::Method { .. } | Expr::Vararg)
}
