//! The Toy JIT: compiles each checked Toy function to Cranelift IR through the
//! substrate's [`Materializer`], lazily on first call.
//!
//! Ints and bools are `i64`, floats `f64`, references `i64` values declared for
//! stack maps. Exceptions use the thread's pending-exception word: every call that
//! may throw is followed by a check that branches to the innermost handler (a
//! `catch` block, a `sync` block's unlock-and-rethrow block, or the function's
//! unwind block, which returns default values to a caller that checks in turn).
//! Runtime errors, `throw`, and every runtime function that may collect go
//! through the materializer's exit trampolines, so backtraces and stack maps see
//! every JIT frame. Line rules mirror the interpreter's exactly.

mod hosts;

use crate::lang::ir::*;
use crate::runtime::errors::code as err;
use crate::runtime::object as tobj;
use crate::runtime::print::kind_of;
use crate::runtime::program::{shared, ALLOC_FIRST};
use crate::runtime::threads::Outcome;
use crate::runtime::trace::{take_trace, Trace};
use hosts::Hosts;
use std::sync::OnceLock;
use vmkit::jit::cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use vmkit::jit::cranelift_codegen::ir::{types, Block, InstBuilder, MemFlagsData, Value};
use vmkit::jit::cranelift_frontend::Variable;
use vmkit::jit::{FnCtx, FuncId, HostId, JitOptions, Materializer, Sig, ValType};
use vmkit::object::{ARRAY_DATA_OFFSET, ARRAY_LENGTH_OFFSET, TYPE_OFFSET};
use vmkit::Thread;

/// The compiled program.
pub struct ToyJit {
    mat: &'static Materializer,
    funcs: Vec<FuncId>,
    /// Body sizes, for inlining.
    sizes: Vec<usize>,
    globals_init: FuncId,
    /// Globals that are constants (see [`constant_globals`]).
    consts: Vec<Option<Konst>>,
    h: Hosts,
}

/// The value of a global that never changes.
#[derive(Clone, Copy)]
enum Konst {
    Int(i64),
    Float(f64),
}

/// The globals that keep their initial value for the whole run, so functions
/// may use the value instead of loading the global (Java's `static final`):
/// initialized by a literal int, float or bool and assigned nowhere. Only
/// while no global initializer calls a function: the initializers run in file
/// order, and a function called from one could read a later global before its
/// initialization (as its default value).
fn constant_globals(prog: &Program) -> Vec<Option<Konst>> {
    let mut calls = false;
    for def in &prog.globals {
        if let Some(init) = &def.init {
            visit_expr(init, &mut |n| {
                if let Node::Expr(Expr {
                    kind: EK::Call(..) | EK::Spawn(..),
                    ..
                }) = n
                {
                    calls = true;
                }
            });
        }
    }
    if calls {
        return vec![None; prog.globals.len()];
    }
    let mut consts: Vec<Option<Konst>> = prog
        .globals
        .iter()
        .map(|def| match def.init.as_ref().map(|e| &e.kind) {
            Some(EK::Int(v)) => Some(Konst::Int(*v)),
            Some(EK::Bool(b)) => Some(Konst::Int(*b as i64)),
            Some(EK::Float(v)) => Some(Konst::Float(*v)),
            _ => None,
        })
        .collect();
    for f in &prog.funcs {
        visit(&f.body, &mut |n| {
            if let Node::Place(Place::Global(g)) = n {
                consts[*g] = None;
            }
        });
    }
    consts
}

static JIT: OnceLock<Result<&'static ToyJit, String>> = OnceLock::new();

/// The options [`ToyJit::get`] sets the JIT up with (see [`configure`]).
static OPTIONS: OnceLock<JitOptions> = OnceLock::new();

/// Sets the options the JIT will be set up with, on its first use.
pub fn configure(options: JitOptions) {
    let _ = OPTIONS.set(options);
}

/// The JIT, once set up (by [`ToyJit::get`]; JIT code runs only after that).
pub fn jit() -> &'static ToyJit {
    match JIT.get() {
        Some(Ok(j)) => j,
        _ => panic!("JIT not set up"),
    }
}

/// The JIT's statistics, if it was set up.
pub fn stats() -> Option<vmkit::jit::JitStats> {
    match JIT.get() {
        Some(Ok(j)) => Some(j.stats()),
        _ => None,
    }
}

fn vt(t: &Ty) -> ValType {
    match t {
        Ty::Float => ValType::F64,
        t if t.is_ref() => ValType::Ref,
        _ => ValType::I64,
    }
}

impl ToyJit {
    /// The JIT for the installed program, set up on the first call with the
    /// options given to [`configure`]: the runtime registered and every
    /// function declared (each compiled on its first call). A program that the
    /// interpreter runs to the end never sets it up: building Cranelift's ISA
    /// and the substrate's trampolines is most of a short program's start-up.
    pub fn get() -> Result<&'static ToyJit, String> {
        JIT.get_or_init(|| Self::setup(OPTIONS.get().cloned().unwrap_or_default()))
            .clone()
    }

    /// [`ToyJit::get`], or the end of the run (exit status 70, one line
    /// saying why) when the JIT cannot be set up on this machine.
    pub fn get_or_exit() -> &'static ToyJit {
        match Self::get() {
            Ok(j) => j,
            Err(e) => {
                eprintln!("toyvm: JIT setup failed: {e}");
                std::process::exit(crate::engine::EXIT_INTERNAL)
            }
        }
    }

    fn setup(options: JitOptions) -> Result<&'static ToyJit, String> {
        let sh = shared();
        let mat = Materializer::new(options).map_err(|e| e.to_string())?;
        let h = hosts::register(mat)?;
        let mut funcs = Vec::new();
        for (i, f) in sh.prog.funcs.iter().enumerate() {
            let params: Vec<ValType> = f.locals[..f.nparams].iter().map(vt).collect();
            let results: Vec<ValType> = if f.ret == Ty::Void {
                vec![]
            } else {
                vec![vt(&f.ret)]
            };
            let id = mat
                .declare(
                    &f.name,
                    &sh.prog.file,
                    Sig::new(&params, &results),
                    Box::new(move |cx| Gen::function(cx, i)),
                )
                .map_err(|e| e.to_string())?;
            mat.set_decl_line(id, f.line);
            funcs.push(id);
        }
        let globals_init = mat
            .declare(
                "<global>",
                &sh.prog.file,
                Sig::new(&[], &[]),
                Box::new(Gen::globals),
            )
            .map_err(|e| e.to_string())?;
        let j: &'static ToyJit = Box::leak(Box::new(ToyJit {
            mat,
            funcs,
            sizes: sh.prog.funcs.iter().map(|f| body_size(&f.body)).collect(),
            globals_init,
            consts: constant_globals(&sh.prog),
            h,
        }));
        Ok(j)
    }

    /// Runs the globals' initializers, then `main`: the exit status, or the death.
    pub fn run_main(&self, t: &Thread) -> Result<i64, (Vec<u8>, Vec<String>)> {
        let sh = shared();
        // Globals without initializers leave nothing to run before `main` (and
        // no function to compile for it).
        if sh.prog.globals.iter().any(|g| g.init.is_some()) {
            // SAFETY: the initializer takes no argument.
            unsafe { self.mat.invoke(t, self.globals_init, &[]) };
            if t.has_pending_exception() {
                return Err(death(t));
            }
        }
        // SAFETY: `main` takes no argument.
        let r = unsafe { self.mat.invoke(t, self.funcs[sh.prog.main], &[]) };
        if t.has_pending_exception() {
            return Err(death(t));
        }
        Ok(if sh.prog.funcs[sh.prog.main].ret == Ty::Int {
            r[0] as i64
        } else {
            0
        })
    }

    /// Runs function `f` with `args` on thread `t` (a spawned thread's body).
    pub fn run(&self, t: &Thread, f: usize, args: &[u64]) -> Outcome {
        // SAFETY: the spawn checked `args` against `f`'s parameter types (the
        // checker typed the call), and its references were taken from the
        // handles that held them, after the thread's last safepoint.
        let r = unsafe { self.mat.invoke(t, self.funcs[f], args) };
        if t.has_pending_exception() {
            let (m, tr) = death(t);
            return Outcome::Died(m, tr);
        }
        Outcome::Value(if shared().prog.funcs[f].ret == Ty::Int {
            r[0] as i64
        } else {
            0
        })
    }

    /// Calls function `f` for the interpreter, with `args` (its parameters'
    /// words, read from the interpreter's root stack since its last
    /// safepoint): the result word (0 for a function without one), or the
    /// backtrace of the exception it threw (pending on `t`).
    pub fn call(&self, t: &Thread, f: usize, args: &[u64]) -> Result<u64, Trace> {
        // SAFETY: the checker typed the call, so `args` match `f`'s parameter
        // types, and the caller read the reference words after the thread's
        // last safepoint (none happens before the call takes them).
        let r = unsafe { self.mat.invoke(t, self.funcs[f], args) };
        if t.has_pending_exception() {
            return Err(take_trace());
        }
        Ok(r.first().copied().unwrap_or(0))
    }

    /// Compilation statistics.
    pub fn stats(&self) -> vmkit::jit::JitStats {
        self.mat.stats()
    }
}

fn death(t: &Thread) -> (Vec<u8>, Vec<String>) {
    let msg = crate::runtime::errors::take_pending_message(t);
    (msg, take_trace().format(&shared().prog.file))
}

enum Scope {
    Loop { brk: Block, cont: Block },
    Sync { var: Variable },
}

struct Gen<'c, 'a, 'b> {
    cx: &'c mut FnCtx<'a, 'b>,
    vars: Vec<Variable>,
    locals: Vec<Ty>,
    /// Where an exception goes: innermost last. The first is only a marker for
    /// "leave the function": see [`Gen::handler`].
    handlers: Vec<Block>,
    /// How many of `handlers` are `try` bodies' catch blocks: inside one, the
    /// code is marked handled ([`FnCtx::set_handled`]), so a raise there
    /// records no backtrace (the exception will be caught).
    tries: usize,
    /// The blocks that leave the function with an exception, one per place that
    /// may throw outside any `try` (filled at the end).
    exits: Vec<Block>,
    scopes: Vec<Scope>,
    ret: Ty,
    filled: bool,
    /// The function being compiled, then the functions inlined into it, innermost
    /// last.
    chain: Vec<usize>,
    /// IR nodes that may still be inlined into this function.
    budget: usize,
    /// Inside an inlined body: where its `return` goes (with the value as the
    /// block parameter), and the depth of `scopes` at the call.
    ret_target: Option<Block>,
    scope_base: usize,
    /// Per local of the current frame: what is known of its value.
    known: Vec<Known>,
    /// Loops around the code being generated (in this function and the inlined
    /// bodies around it).
    loops: usize,
}

/// Facts about a local that is assigned once (by its `let`) and never again.
#[derive(Clone, Copy, Default)]
struct Known {
    /// Assigned only once: facts about its initial value hold at every use.
    immutable: bool,
    /// Holds a new object or array (never null).
    nonnull: bool,
    /// Holds an array (or null) whose length (0 for null) is in this variable.
    len: Option<Variable>,
    /// Used as the array of an index expression.
    indexed: bool,
}

/// Locals used as the array of an index expression (`a[i]`) in `body`.
fn indexed_locals(body: &[Stmt]) -> Vec<usize> {
    let mut out = Vec::new();
    visit(body, &mut |n| {
        let arr: &Expr = match n {
            Node::Expr(Expr {
                kind: EK::Index(a, _),
                ..
            }) => a,
            Node::Place(Place::Index(a, _)) => a,
            _ => return,
        };
        if let EK::Local(l) = arr.kind {
            out.push(l);
        }
    });
    out
}

/// Locals that are assigned exactly once: parameters never assigned, and `let`s
/// whose local is never assigned again.
fn knowns(def_locals: usize, nparams: usize, body: &[Stmt]) -> Vec<Known> {
    let mut defs = vec![0usize; def_locals];
    for d in defs.iter_mut().take(nparams) {
        *d = 1;
    }
    visit(body, &mut |n| {
        let Node::Stmt(s) = n else { return };
        match &s.kind {
            SK::Let(l, _) => defs[*l] += 1,
            SK::Assign(Place::Local(l), _) | SK::Compound(Place::Local(l), ..) => defs[*l] += 2,
            SK::For { var, end_slot, .. } => {
                defs[*var] += 2;
                defs[*end_slot] += 2;
            }
            SK::Sync(_, slot, _) | SK::Try(_, slot, _) => defs[*slot] += 2,
            _ => {}
        }
    });
    let mut known: Vec<Known> = defs
        .iter()
        .map(|&d| Known {
            immutable: d == 1,
            ..Known::default()
        })
        .collect();
    for l in indexed_locals(body) {
        known[l].indexed = true;
    }
    known
}

type G = Result<(), String>;

/// Inlining: a callee of at most `INLINE_MAX_NODES` IR nodes is inlined, a
/// function at most twice in one inlining chain (a recursive function is unrolled
/// once; in its own body five times, unrolled four times, if it is at most
/// `INLINE_TINY` nodes: with its base case tested at the call sites, see
/// [`entry_guard`], that leaves a sixteenth of fib's calls), at most
/// `INLINE_MAX_DEPTH` deep, and at most `INLINE_BUDGET` nodes are inlined into
/// one compiled function. Nothing is inlined in the straight-line code of `main`
/// and the global initializers, which runs once.
const INLINE_MAX_NODES: usize = 40;
const INLINE_MAX_DEPTH: usize = 5;
const INLINE_BUDGET: usize = 800;
/// A callee this small is inlined even over the budget (its body is about as
/// small as the call).
const INLINE_FREE: usize = 12;
/// A recursive function this small is unrolled four times.
const INLINE_TINY: usize = 20;

/// A function's entry guard: its body starts with `if COND { return VALUE; }`
/// where COND and VALUE read only parameters and constants, cannot throw, call
/// or allocate, and VALUE is not a reference (the base case of a recursion, as in
/// `if n < 2 { return n; }`). Calls to it test COND themselves
/// ([`Gen::guarded_call`]).
fn entry_guard(def: &FuncDef) -> Option<(&Expr, &Expr)> {
    let SK::If(cond, then, els) = &def.body.first()?.kind else {
        return None;
    };
    let [Stmt {
        kind: SK::Return(Some(value)),
        ..
    }] = then.as_slice()
    else {
        return None;
    };
    let simple = |e: &Expr| pure_expr(e, def.nparams);
    (els.is_empty() && !value.ty.is_ref() && simple(cond) && simple(value)).then_some((cond, value))
}

/// Whether `e` reads only the first `nparams` locals and constants, and cannot
/// throw, call, allocate or reach a safepoint.
fn pure_expr(e: &Expr, nparams: usize) -> bool {
    match &e.kind {
        EK::Int(_) | EK::Float(_) | EK::Bool(_) => true,
        EK::Local(l) => *l < nparams && !e.ty.is_ref(),
        EK::Bin(op, a, b) => {
            !matches!(op, Op::IDiv | Op::IRem | Op::Concat | Op::SEq | Op::SNe)
                && pure_expr(a, nparams)
                && pure_expr(b, nparams)
        }
        EK::INeg(a) | EK::FNeg(a) | EK::Not(a) => pure_expr(a, nparams),
        EK::And(a, b) | EK::Or(a, b) => pure_expr(a, nparams) && pure_expr(b, nparams),
        _ => false,
    }
}

/// The size of a function body in IR nodes (statements, assignment targets and
/// expressions).
pub fn body_size(body: &[Stmt]) -> usize {
    let mut n = 0;
    visit(body, &mut |_| n += 1);
    n
}

impl<'c, 'a, 'b> Gen<'c, 'a, 'b> {
    fn function(cx: &mut FnCtx<'_, '_>, fi: usize) -> G {
        let sh = shared();
        let def = &sh.prog.funcs[fi];
        let unwind = cx.b.create_block();
        let mut g = Gen {
            cx,
            vars: Vec::new(),
            locals: def.locals.clone(),
            handlers: vec![unwind],
            tries: 0,
            exits: Vec::new(),
            scopes: Vec::new(),
            ret: def.ret.clone(),
            filled: false,
            chain: vec![fi],
            budget: INLINE_BUDGET,
            ret_target: None,
            scope_base: 0,
            known: Vec::new(),
            loops: 0,
        };
        g.known = knowns(def.locals.len(), def.nparams, &def.body);
        for (i, t) in def.locals.iter().enumerate() {
            let v = g.cx.var(vt(t));
            g.vars.push(v);
            let init = if i < def.nparams {
                g.cx.params()[i]
            } else {
                g.zero(t)
            };
            g.cx.b.def_var(v, init);
        }
        for i in 0..def.nparams {
            g.param_facts(i, &def.locals[i]);
        }
        g.block(&def.body)?;
        if !g.filled {
            let d = g.cx.default_results();
            g.cx.b.ins().return_(&d);
        }
        for b in std::iter::once(unwind).chain(std::mem::take(&mut g.exits)) {
            g.cx.b.switch_to_block(b);
            g.cx.b.set_cold_block(b);
            let d = g.cx.default_results();
            g.cx.b.ins().return_(&d);
        }
        Ok(())
    }

    fn globals(cx: &mut FnCtx<'_, '_>) -> G {
        let sh = shared();
        let unwind = cx.b.create_block();
        let mut g = Gen {
            cx,
            vars: Vec::new(),
            locals: Vec::new(),
            handlers: vec![unwind],
            tries: 0,
            exits: Vec::new(),
            scopes: Vec::new(),
            ret: Ty::Void,
            filled: false,
            chain: Vec::new(),
            budget: INLINE_BUDGET,
            ret_target: None,
            scope_base: 0,
            known: Vec::new(),
            loops: 0,
        };
        for (gi, def) in sh.prog.globals.iter().enumerate() {
            if let Some(init) = &def.init {
                g.cx.set_line(def.line);
                let v = g.expr(init)?;
                g.store_global(gi, v);
            }
        }
        g.cx.b.ins().return_(&[]);
        for b in std::iter::once(unwind).chain(std::mem::take(&mut g.exits)) {
            g.cx.b.switch_to_block(b);
            g.cx.b.set_cold_block(b);
            g.cx.b.ins().return_(&[]);
        }
        Ok(())
    }

    /// Finishes a loop's safepoint poll: in a loop without calls, the reference
    /// locals the loop reads or writes go through the poll's own roots, so that
    /// the loop keeps them in registers (see `FnCtx::loop_poll_end`). The others
    /// stay with the stack maps: redefined at the poll, a reference the loop
    /// does not use would become a loop-carried value, stored every iteration
    /// if a call after the loop needs it in a stack slot.
    fn loop_poll_end(&mut self, poll: vmkit::jit::LoopPoll, cond: Option<&Expr>, body: &[Stmt]) {
        let mut used = vec![false; self.vars.len()];
        let mut mark = |n: Node| match n {
            Node::Expr(Expr {
                kind: EK::Local(l), ..
            })
            | Node::Place(Place::Local(l)) => {
                if let Some(u) = used.get_mut(*l) {
                    *u = true;
                }
            }
            _ => {}
        };
        if let Some(c) = cond {
            visit_expr(c, &mut mark);
        }
        visit(body, &mut mark);
        let refs: Vec<Variable> = (0..self.vars.len())
            .filter(|&l| used[l] && self.locals[l].is_ref())
            .map(|l| self.vars[l])
            .collect();
        self.cx.loop_poll_end(poll, &refs);
    }

    fn zero(&mut self, t: &Ty) -> Value {
        match t {
            Ty::Float => self.cx.b.ins().f64const(0.0),
            _ => self.cx.b.ins().iconst(types::I64, 0),
        }
    }

    fn iconst(&mut self, v: i64) -> Value {
        self.cx.b.ins().iconst(types::I64, v)
    }

    /// Starts a fresh block if the current one is already terminated.
    fn ensure_open(&mut self) {
        if self.filled {
            let b = self.cx.b.create_block();
            self.cx.b.switch_to_block(b);
            self.filled = false;
        }
    }

    fn jump(&mut self, to: Block) {
        self.cx.b.ins().jump(to, &[]);
        self.filled = true;
    }

    /// Where an exception raised here goes. Outside any `try`, a block of its
    /// own that returns: a single exit block shared by every call of a long
    /// function would have thousands of predecessors, and register allocation
    /// time grows with their square (issue 21).
    fn handler(&mut self) -> Block {
        if self.handlers.len() > 1 {
            return *self.handlers.last().expect("handler");
        }
        let b = self.cx.b.create_block();
        self.exits.push(b);
        b
    }

    fn check_exc(&mut self) {
        let h = self.handler();
        self.cx.check_exception(h);
    }

    fn host(&mut self, h: HostId, args: &[Value]) -> Option<Value> {
        self.cx.call_host(h, args).first().copied()
    }

    /// A host call that may throw, followed by the exception check.
    fn host_t(&mut self, h: HostId, args: &[Value]) -> Option<Value> {
        let r = self.host(h, args);
        self.check_exc();
        r
    }

    /// Raises runtime error `code` (at the current line) and goes to the handler.
    fn error(&mut self, code: i64, a: Value, b: Value) {
        let c = self.iconst(code);
        let h = jit().h.error;
        self.host(h, &[c, a, b]);
        self.cx.raising_call();
        let hb = self.handler();
        self.jump(hb);
    }

    /// `if cond { raise code }` as a cold branch.
    fn error_if(&mut self, cond: Value, code: i64, a: Value, b: Value) {
        let bad = self.cx.b.create_block();
        let ok = self.cx.b.create_block();
        self.cx.b.set_cold_block(bad);
        self.cx.b.ins().brif(cond, bad, &[], ok, &[]);
        self.raise_then_continue(bad, ok, code, a, b);
    }

    /// Branches on condition `c` to `yes` or `no`. A test of a reference against
    /// `null` goes through a block of its own on the non-null side, which the
    /// null-check elision is told about ([`FnCtx::assume_nonnull`]): in
    /// `if x != null { x.f }` or `while p != null { p = p.next; }` the accesses
    /// through `x` and `p` need no check of their own.
    fn branch_on(&mut self, c: &Expr, yes: Block, no: Block) -> G {
        if let EK::Bin(op @ (Op::REq | Op::RNe), l, r) = &c.kind {
            let x = match (&l.kind, &r.kind) {
                (_, EK::Null) => Some(l),
                (EK::Null, _) => Some(r),
                _ => None,
            };
            if let Some(x) = x {
                let v = self.expr(x)?;
                let nonnull = self.cx.b.create_block();
                let is_null = self.cx.b.ins().icmp_imm_s(IntCC::Equal, v, 0);
                let (if_null, if_not) = if *op == Op::REq { (yes, no) } else { (no, yes) };
                self.cx.b.ins().brif(is_null, if_null, &[], nonnull, &[]);
                self.cx.b.switch_to_block(nonnull);
                self.cx.b.ins().jump(if_not, &[]);
                self.cx.assume_nonnull(v, nonnull);
                return Ok(());
            }
        }
        let cv = self.expr(c)?;
        self.cx.b.ins().brif(cv, yes, &[], no, &[]);
        Ok(())
    }

    /// Fills `bad` with the error, then goes on in `ok`.
    fn raise_then_continue(&mut self, bad: Block, ok: Block, code: i64, a: Value, b: Value) {
        self.cx.b.switch_to_block(bad);
        self.error(code, a, b);
        self.cx.b.switch_to_block(ok);
        self.filled = false;
    }

    fn null_check(&mut self, obj: Value, code: i64) {
        let z = self.iconst(0);
        let (bad, ok) = self.cx.null_branch(obj);
        self.raise_then_continue(bad, ok, code, z, z);
    }

    fn global_addr(&mut self, g: usize) -> Value {
        let a = shared().vm.globals.get().expect("globals")[g].as_ptr() as i64;
        self.iconst(a)
    }

    fn store_global(&mut self, g: usize, v: Value) {
        let a = self.global_addr(g);
        let fl = self.global_class(g);
        self.cx.b.ins().store(fl, v, a, 0);
    }

    // Alias classes (type-based alias analysis, see `FnCtx::alias_class`): a
    // field of a struct type, the elements of arrays of one element type, the
    // lengths of arrays (fixed at allocation), a global. Strings, constant
    // slots and the runtime's words stay unclassified: a built string's length
    // and bytes change in place. Numbers that collide share a class, which is
    // only slower.

    fn field_class(&mut self, si: usize, fi: usize) -> MemFlagsData {
        let c = 0x1000_0000 | ((si as u32 & 0xffff) << 12) | (fi as u32 & 0xfff);
        self.cx.alias_class(c)
    }

    fn elem_class(&mut self, et: &Ty) -> MemFlagsData {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        et.hash(&mut h);
        let c = 0x2000_0000 | (h.finish() as u32 & 0x0fff_ffff);
        self.cx.alias_class(c)
    }

    /// The length of array or string `v` (not null). An array's length is
    /// fixed at allocation and has its alias class; a built string's length
    /// changes in place, so a string's is loaded unclassified.
    fn load_len(&mut self, v: Value, of_string: bool) -> Value {
        let fl = if of_string {
            MemFlagsData::trusted()
        } else {
            self.cx.alias_class(0x3000_0000)
        };
        self.cx
            .b
            .ins()
            .load(types::I64, fl, v, ARRAY_LENGTH_OFFSET as i32)
    }

    fn global_class(&mut self, g: usize) -> MemFlagsData {
        self.cx.alias_class(0x4000_0000 | (g as u32 & 0x0fff_ffff))
    }

    fn load(&mut self, t: &Ty, fl: MemFlagsData, base: Value, off: i32) -> Value {
        let ty = if *t == Ty::Float {
            types::F64
        } else {
            types::I64
        };
        let v = self.cx.b.ins().load(ty, fl, base, off);
        if t.is_ref() {
            self.cx.declare_ref(v);
        }
        v
    }

    /// Word of a value for the runtime's `(kind, word)` interface.
    fn bool_val(&mut self, c: Value) -> Value {
        self.cx.b.ins().uextend(types::I64, c)
    }

    // ------------------------------------------------------------ statements

    fn block(&mut self, stmts: &[Stmt]) -> G {
        for s in stmts {
            self.ensure_open();
            self.stmt(s)?;
        }
        Ok(())
    }

    fn exit_syncs_to(&mut self, depth: usize) {
        let vars: Vec<Variable> = self.scopes[depth..]
            .iter()
            .rev()
            .filter_map(|s| match s {
                Scope::Sync { var } => Some(*var),
                _ => None,
            })
            .collect();
        for v in vars {
            let o = self.cx.b.use_var(v);
            let h = jit().h.exit;
            self.host(h, &[o]);
        }
    }

    fn stmt(&mut self, s: &Stmt) -> G {
        self.cx.set_line(s.line);
        match &s.kind {
            SK::Let(slot, init) => {
                let v = match init {
                    Some(e) if self.known.get(*slot).is_some_and(|k| k.immutable) => {
                        self.let_known(*slot, e)?
                    }
                    Some(e) => self.expr(e)?,
                    None => {
                        let t = self.locals[*slot].clone();
                        self.zero(&t)
                    }
                };
                self.cx.b.def_var(self.vars[*slot], v);
            }
            SK::Assign(p, v) => self.assign(p, None, v, s.line)?,
            SK::Compound(p, op, v) => self.assign(p, Some(*op), v, s.line)?,
            SK::Expr(e) => {
                self.expr_any(e)?;
            }
            SK::If(c, a, b) => {
                let tb = self.cx.b.create_block();
                let eb = self.cx.b.create_block();
                let join = self.cx.b.create_block();
                self.branch_on(c, tb, eb)?;
                self.cx.b.switch_to_block(tb);
                self.filled = false;
                self.block(a)?;
                if !self.filled {
                    self.jump(join);
                }
                self.cx.b.switch_to_block(eb);
                self.filled = false;
                self.block(b)?;
                if !self.filled {
                    self.jump(join);
                }
                self.cx.b.switch_to_block(join);
                self.filled = false;
            }
            SK::While(c, body) => {
                let head = self.cx.b.create_block();
                let bb = self.cx.b.create_block();
                let exit = self.cx.b.create_block();
                self.jump(head);
                self.cx.b.switch_to_block(head);
                self.filled = false;
                self.cx.set_line(s.line);
                let poll = self.cx.loop_poll_begin();
                self.loops += 1;
                self.branch_on(c, bb, exit)?;
                self.cx.b.switch_to_block(bb);
                self.filled = false;
                self.scopes.push(Scope::Loop {
                    brk: exit,
                    cont: head,
                });
                self.block(body)?;
                self.loops -= 1;
                self.scopes.pop();
                if !self.filled {
                    self.jump(head);
                }
                self.cx.b.switch_to_block(exit);
                self.cx.set_line(s.line);
                self.loop_poll_end(poll, Some(c), body);
                self.filled = false;
            }
            SK::For {
                var,
                end_slot,
                start,
                end,
                body,
            } => {
                let a = self.expr(start)?;
                let b = self.expr(end)?;
                self.cx.b.def_var(self.vars[*end_slot], b);
                let i = self.cx.var(ValType::I64);
                self.cx.b.def_var(i, a);
                let head = self.cx.b.create_block();
                let bb = self.cx.b.create_block();
                let step = self.cx.b.create_block();
                let exit = self.cx.b.create_block();
                self.jump(head);
                self.cx.b.switch_to_block(head);
                self.filled = false;
                let iv = self.cx.b.use_var(i);
                let ev = self.cx.b.use_var(self.vars[*end_slot]);
                let more = self.cx.b.ins().icmp(IntCC::SignedLessThan, iv, ev);
                self.cx.b.ins().brif(more, bb, &[], exit, &[]);
                self.cx.b.switch_to_block(bb);
                self.filled = false;
                self.cx.set_line(s.line);
                let poll = self.cx.loop_poll_begin();
                let iv = self.cx.b.use_var(i);
                self.cx.b.def_var(self.vars[*var], iv);
                self.scopes.push(Scope::Loop {
                    brk: exit,
                    cont: step,
                });
                self.loops += 1;
                self.block(body)?;
                self.loops -= 1;
                self.scopes.pop();
                if !self.filled {
                    self.jump(step);
                }
                self.cx.b.switch_to_block(step);
                self.filled = false;
                let iv = self.cx.b.use_var(i);
                let i2 = self.cx.b.ins().iadd_imm_s(iv, 1);
                self.cx.b.def_var(i, i2);
                self.jump(head);
                self.cx.b.switch_to_block(exit);
                self.cx.set_line(s.line);
                self.loop_poll_end(poll, None, body);
                self.filled = false;
            }
            SK::Break | SK::Continue => {
                let (depth, target) = self
                    .scopes
                    .iter()
                    .enumerate()
                    .rev()
                    .find_map(|(d, sc)| match sc {
                        Scope::Loop { brk, cont } => Some((
                            d,
                            if matches!(s.kind, SK::Break) {
                                *brk
                            } else {
                                *cont
                            },
                        )),
                        _ => None,
                    })
                    .ok_or("break outside loop")?;
                self.exit_syncs_to(depth + 1);
                self.jump(target);
            }
            SK::Return(e) => {
                let v = match e {
                    Some(e) => Some(self.expr(e)?),
                    None => None,
                };
                self.exit_syncs_to(self.scope_base);
                if let Some(cont) = self.ret_target {
                    let args: Vec<vmkit::jit::cranelift_codegen::ir::BlockArg> = match v {
                        Some(v) if self.ret != Ty::Void => vec![v.into()],
                        _ => vec![],
                    };
                    self.cx.b.ins().jump(cont, &args);
                    self.filled = true;
                    return Ok(());
                }
                match v {
                    Some(v) if self.ret != Ty::Void => {
                        self.cx.b.ins().return_(&[v]);
                    }
                    _ => {
                        self.cx.b.ins().return_(&[]);
                    }
                }
                self.filled = true;
            }
            SK::Throw(e) => {
                let v = self.expr(e)?;
                self.cx.set_line(s.line);
                let h = jit().h.throw;
                self.host(h, &[v]);
                self.cx.raising_call();
                let hb = self.handler();
                self.jump(hb);
            }
            SK::Try(body, var, handler) => {
                let catch = self.cx.b.create_block();
                let after = self.cx.b.create_block();
                self.handlers.push(catch);
                self.tries += 1;
                self.cx.set_handled(true);
                let r = self.block(body);
                self.tries -= 1;
                self.cx.set_handled(self.tries > 0);
                r?;
                self.handlers.pop();
                if !self.filled {
                    self.jump(after);
                }
                self.cx.b.switch_to_block(catch);
                self.filled = false;
                let h = jit().h.catch;
                let exc = self.host(h, &[]).expect("exception");
                self.cx.declare_ref(exc);
                self.cx.b.def_var(self.vars[*var], exc);
                self.block(handler)?;
                if !self.filled {
                    self.jump(after);
                }
                self.cx.b.switch_to_block(after);
                self.filled = false;
            }
            SK::Sync(e, slot, body) => {
                let o = self.expr(e)?;
                self.cx.set_line(s.line);
                self.null_check(o, err::NULL_SYNC);
                let var = self.vars[*slot];
                self.cx.b.def_var(var, o);
                let h = jit().h.enter;
                let ov = self.cx.b.use_var(var);
                self.host(h, &[ov]);
                // An exception in the body unlocks, then goes to the outer handler.
                let unlock = self.cx.b.create_block();
                let outer = self.handler();
                self.handlers.push(unlock);
                self.scopes.push(Scope::Sync { var });
                self.block(body)?;
                self.scopes.pop();
                self.handlers.pop();
                if !self.filled {
                    let ov = self.cx.b.use_var(var);
                    let h = jit().h.exit;
                    self.host(h, &[ov]);
                    let after = self.cx.b.create_block();
                    self.jump(after);
                    self.emit_unlock(unlock, var, outer);
                    self.cx.b.switch_to_block(after);
                    self.filled = false;
                } else {
                    self.emit_unlock(unlock, var, outer);
                    self.filled = true;
                }
            }
            SK::Block(b) => self.block(b)?,
        }
        Ok(())
    }

    fn emit_unlock(&mut self, unlock: Block, var: Variable, outer: Block) {
        self.cx.b.switch_to_block(unlock);
        self.cx.b.set_cold_block(unlock);
        let ov = self.cx.b.use_var(var);
        let h = jit().h.exit;
        self.host(h, &[ov]);
        self.cx.b.ins().jump(outer, &[]);
    }

    /// What is known of the value of `e` (only locals assigned once have facts).
    fn facts(&self, e: &Expr) -> Known {
        match e.kind {
            EK::Local(l) => self.known.get(l).copied().unwrap_or_default(),
            _ => Known::default(),
        }
    }

    /// The initial value of a local assigned only here: records that a new
    /// object is not null and the length of a new array.
    fn let_known(&mut self, slot: usize, e: &Expr) -> Result<Value, String> {
        let (v, len) = match &e.kind {
            EK::NewArray(et, n) => {
                let nv = self.expr(n)?;
                (self.new_array(et, nv, e.line), Some(nv))
            }
            EK::ArrayLit(_, xs) => {
                let v = self.expr(e)?;
                let n = self.iconst(xs.len() as i64);
                (v, Some(n))
            }
            EK::NewStruct(..) => (self.expr(e)?, None),
            _ => {
                let v = self.expr(e)?;
                if matches!(e.ty, Ty::Array(_)) && self.known[slot].indexed {
                    let len = self.len_or_zero(v);
                    self.known[slot].len = Some(len);
                }
                return Ok(v);
            }
        };
        let k = &mut self.known[slot];
        k.nonnull = true;
        if let Some(n) = len {
            let var = self.cx.var(ValType::I64);
            self.cx.b.def_var(var, n);
            self.known[slot].len = Some(var);
        }
        Ok(v)
    }

    /// For an array parameter that is never assigned and is indexed: its length
    /// (0 if null) in a variable, so index checks need neither a null check nor a
    /// load.
    fn param_facts(&mut self, slot: usize, ty: &Ty) {
        let k = self.known[slot];
        if k.immutable && k.indexed && matches!(ty, Ty::Array(_)) {
            let v = self.cx.b.use_var(self.vars[slot]);
            let len = self.len_or_zero(v);
            self.known[slot].len = Some(len);
        }
    }

    /// A variable holding the length of array `arr`, or 0 if it is null.
    fn len_or_zero(&mut self, arr: Value) -> Variable {
        let var = self.cx.var(ValType::I64);
        let join = self.cx.b.create_block();
        let load = self.cx.b.create_block();
        self.cx.b.append_block_param(join, types::I64);
        let zero = self.iconst(0);
        self.cx.b.ins().brif(arr, load, &[], join, &[zero.into()]);
        self.cx.b.switch_to_block(load);
        let len = self.load_len(arr, false);
        self.cx.b.ins().jump(join, &[len.into()]);
        self.cx.b.switch_to_block(join);
        let l = self.cx.b.block_params(join)[0];
        self.cx.b.def_var(var, l);
        var
    }

    /// Checks `arr[i]`: null and bounds; returns the element address (computed
    /// after the checks; recompute it after any call).
    /// `null_code`: the error for a null `arr` (index, or `byte` of a string).
    fn index_check(&mut self, arr: Value, i: Value, line: u32, facts: Known, null_code: i64) {
        self.cx.set_line(line);
        if let (Some(lv), false) = (facts.len, facts.nonnull) {
            // The length is 0 for null: one compare; the cold path tells null from
            // out of bounds.
            let len = self.cx.b.use_var(lv);
            let (bad, ok) = self.cx.bounds_branch(i, len);
            self.cx.b.switch_to_block(bad);
            self.filled = false;
            self.null_check(arr, null_code);
            self.error(err::INDEX, i, len);
            self.cx.b.switch_to_block(ok);
            self.filled = false;
            return;
        }
        if !facts.nonnull {
            self.null_check(arr, null_code);
        }
        let len = match facts.len {
            Some(v) => self.cx.b.use_var(v),
            // `byte` of a string checks against the string's length.
            None => self.load_len(arr, null_code == err::NULL_BYTE),
        };
        let (bad, ok) = self.cx.bounds_branch(i, len);
        self.raise_then_continue(bad, ok, err::INDEX, i, len);
    }

    fn elem_addr(&mut self, arr: Value, i: Value) -> Value {
        let off = self.cx.b.ins().ishl_imm_u(i, 3);
        let a = self.cx.b.ins().iadd(arr, off);
        self.cx.b.ins().iadd_imm_s(a, ARRAY_DATA_OFFSET as i64)
    }

    fn assign(&mut self, p: &Place, op: Option<Op>, v: &Expr, line: u32) -> G {
        match p {
            Place::Local(slot) => {
                let val = match op {
                    Some(op) => {
                        let cur = self.cx.b.use_var(self.vars[*slot]);
                        let rhs = self.expr(v)?;
                        self.cx.set_line(line);
                        self.binop(op, cur, rhs)?
                    }
                    None => self.expr(v)?,
                };
                self.cx.b.def_var(self.vars[*slot], val);
            }
            Place::Global(g) => {
                let val = match op {
                    Some(op) => {
                        let t = shared().prog.globals[*g].ty.clone();
                        let a = self.global_addr(*g);
                        let fl = self.global_class(*g);
                        let cur = self.load(&t, fl, a, 0);
                        let rhs = self.expr(v)?;
                        self.cx.set_line(line);
                        self.binop(op, cur, rhs)?
                    }
                    None => self.expr(v)?,
                };
                self.store_global(*g, val);
            }
            Place::Field(obj, si, fi) => {
                let o = self.expr(obj)?;
                self.cx.set_line(obj.line);
                if !self.facts(obj).nonnull {
                    self.null_check(o, err::NULL_FIELD);
                }
                let ft = shared().prog.structs[*si].fields[*fi].1.clone();
                let off = tobj::field_offset(*fi) as i32;
                let fl = self.field_class(*si, *fi);
                let val = match op {
                    Some(op) => {
                        let cur = self.load(&ft, fl, o, off);
                        let rhs = self.expr(v)?;
                        self.cx.set_line(line);
                        self.binop(op, cur, rhs)?
                    }
                    None => self.expr(v)?,
                };
                self.store_value(o, off, val, ft.is_ref(), fl);
            }
            Place::Index(arr, idx) => {
                let a = self.expr(arr)?;
                let i = self.expr(idx)?;
                let facts = self.facts(arr);
                self.index_check(a, i, arr.line, facts, err::NULL_INDEX);
                let Ty::Array(et) = &arr.ty else {
                    return Err("index of non-array".into());
                };
                let et = (**et).clone();
                let fl = self.elem_class(&et);
                let val = match op {
                    Some(op) => {
                        let addr = self.elem_addr(a, i);
                        let cur = self.load(&et, fl, addr, 0);
                        let rhs = self.expr(v)?;
                        self.cx.set_line(line);
                        self.binop(op, cur, rhs)?
                    }
                    None => self.expr(v)?,
                };
                let addr = self.elem_addr(a, i);
                if et.is_ref() {
                    self.cx.store_ref_at_flags(a, addr, val, fl);
                } else {
                    self.cx.b.ins().store(fl, val, addr, 0);
                }
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------ expressions

    /// Compiles an expression that may have no value.
    fn expr_any(&mut self, e: &Expr) -> Result<Option<Value>, String> {
        if e.ty == Ty::Void {
            match &e.kind {
                EK::Call(f, args) => {
                    self.call(*f, args, e.line)?;
                }
                EK::Builtin(b, args) => {
                    self.builtin(b, args, e)?;
                }
                _ => return Err("void expression".into()),
            }
            return Ok(None);
        }
        Ok(Some(self.expr(e)?))
    }

    fn call(&mut self, f: usize, args: &[Expr], line: u32) -> Result<Option<Value>, String> {
        let mut vs = Vec::new();
        for a in args {
            vs.push(self.expr(a)?);
        }
        self.cx.set_line(line);
        if self.should_inline(f) {
            return self.inline_call(f, &vs);
        }
        if let Some((cond, value)) = entry_guard(&shared().prog.funcs[f]) {
            return self.guarded_call(f, &vs, cond, value, line).map(Some);
        }
        Ok(self.plain_call(f, &vs))
    }

    fn plain_call(&mut self, f: usize, args: &[Value]) -> Option<Value> {
        let id = jit().funcs[f];
        let r = self.cx.call_function(id, args).first().copied();
        self.check_exc();
        r
    }

    /// A call to `f`, whose body starts with `if COND { return VALUE; }` (see
    /// [`entry_guard`]), as `COND ? VALUE : f(args)` with COND and VALUE computed
    /// here from the arguments: the base case of a recursion costs no call (for
    /// fib, half the calls), and as neither can throw or allocate, no frame is
    /// ever missing from a backtrace.
    fn guarded_call(
        &mut self,
        f: usize,
        args: &[Value],
        cond: &Expr,
        value: &Expr,
        line: u32,
    ) -> Result<Value, String> {
        let def = &shared().prog.funcs[f];
        let mut vars = Vec::with_capacity(def.nparams);
        for (i, &a) in args.iter().enumerate() {
            let v = self.cx.var(vt(&def.locals[i]));
            self.cx.b.def_var(v, a);
            vars.push(v);
        }
        let saved = (
            std::mem::replace(&mut self.vars, vars),
            std::mem::replace(&mut self.locals, def.locals[..def.nparams].to_vec()),
            std::mem::take(&mut self.known),
        );
        let base = self.cx.b.create_block();
        let call = self.cx.b.create_block();
        let cont = self.cx.b.create_block();
        let result = self.cx.b.append_block_param(cont, vt(&def.ret).clif());
        let taken = self.expr(cond);
        let v = taken.and_then(|c| {
            self.cx.b.ins().brif(c, base, &[], call, &[]);
            self.cx.b.switch_to_block(base);
            self.expr(value)
        });
        (self.vars, self.locals, self.known) = saved;
        let v = v?;
        self.cx.b.ins().jump(cont, &[v.into()]);
        self.cx.b.switch_to_block(call);
        // The guard's expressions moved the source line: the call is at `line`.
        self.cx.set_line(line);
        let r = self
            .plain_call(f, args)
            .ok_or("a guarded call without a result")?;
        self.cx.b.ins().jump(cont, &[r.into()]);
        self.cx.b.switch_to_block(cont);
        Ok(result)
    }

    fn should_inline(&self, f: usize) -> bool {
        // Straight-line code of `main` and of the global initializers runs once:
        // inlining there saves one call and costs compile time.
        let once = match self.chain.first() {
            None => true,
            Some(&root) => root == shared().prog.main,
        };
        if once && self.loops == 0 {
            return false;
        }
        let size = jit().sizes[f];
        size <= INLINE_MAX_NODES
            && (size <= self.budget || size <= INLINE_FREE)
            && self.chain.len() <= INLINE_MAX_DEPTH
            && self.chain.iter().filter(|&&g| g == f).count()
                < if size <= INLINE_TINY && self.chain.first() == Some(&f) {
                    5
                } else {
                    2
                }
    }

    /// Builds `f`'s body in place of a call to it, in a virtual frame of its own
    /// (backtraces are the same as with a call). Its exceptions go to the caller's
    /// handler, its `return`s to the block after the call.
    fn inline_call(&mut self, f: usize, args: &[Value]) -> Result<Option<Value>, String> {
        let sh = shared();
        let def = &sh.prog.funcs[f];
        self.budget = self.budget.saturating_sub(jit().sizes[f]);
        self.chain.push(f);
        self.cx.push_inline(&def.name, &sh.prog.file);
        let cont = self.cx.b.create_block();
        let result = (def.ret != Ty::Void).then(|| {
            let t = vt(&def.ret).clif();
            self.cx.b.append_block_param(cont, t)
        });
        let mut vars = Vec::with_capacity(def.locals.len());
        for (i, t) in def.locals.iter().enumerate() {
            let v = self.cx.var(vt(t));
            let init = if i < def.nparams {
                args[i]
            } else {
                self.zero(t)
            };
            self.cx.b.def_var(v, init);
            vars.push(v);
        }
        let saved = (
            std::mem::replace(&mut self.vars, vars),
            std::mem::replace(&mut self.locals, def.locals.clone()),
            std::mem::replace(&mut self.ret, def.ret.clone()),
            self.ret_target.replace(cont),
            std::mem::replace(&mut self.scope_base, self.scopes.len()),
            std::mem::replace(
                &mut self.known,
                knowns(def.locals.len(), def.nparams, &def.body),
            ),
        );
        for i in 0..def.nparams {
            self.param_facts(i, &def.locals[i]);
        }
        let r = self.block(&def.body);
        if r.is_ok() && !self.filled {
            // Falling off the end: no value (a checked function with a result
            // returns on every path, but stay safe).
            let args: Vec<vmkit::jit::cranelift_codegen::ir::BlockArg> = match &result {
                Some(_) => {
                    let z = self.zero(&def.ret);
                    vec![z.into()]
                }
                None => vec![],
            };
            self.cx.b.ins().jump(cont, &args);
        }
        (
            self.vars,
            self.locals,
            self.ret,
            self.ret_target,
            self.scope_base,
            self.known,
        ) = saved;
        self.cx.pop_inline();
        self.chain.pop();
        r?;
        self.cx.b.switch_to_block(cont);
        self.filled = false;
        if let Some(v) = result {
            if def.ret.is_ref() {
                self.cx.declare_ref(v);
            }
        }
        Ok(result)
    }

    fn expr(&mut self, e: &Expr) -> Result<Value, String> {
        let v = match &e.kind {
            EK::Int(v) => self.iconst(*v),
            EK::Float(v) => self.cx.b.ins().f64const(*v),
            EK::Bool(b) => self.iconst(*b as i64),
            EK::Null => self.iconst(0),
            EK::Str(s) => {
                let sh = shared();
                let k = sh.const_index(s);
                let slot = &sh.vm.consts.get().expect("consts")[k];
                let av = self.iconst(slot.as_ptr() as i64);
                let v = self.load(&Ty::Str, MemFlagsData::trusted(), av, 0);
                if slot.load(std::sync::atomic::Ordering::Acquire) != 0 {
                    // Made already: constants never go back to null.
                    v
                } else {
                    // Made on first use: a cold call while the slot is null.
                    // The two values meet in a block parameter: a variable
                    // per literal would cost cranelift-frontend a map as
                    // large as the function's block count (quadratic memory
                    // in a long function of literals, issue 21).
                    let is_null = self.cx.b.ins().icmp_imm_s(IntCC::Equal, v, 0);
                    let slow = self.cx.b.create_block();
                    let done = self.cx.b.create_block();
                    let r = self.cx.b.append_block_param(done, types::I64);
                    self.cx.declare_ref(r);
                    self.cx.b.set_cold_block(slow);
                    self.cx.b.ins().brif(is_null, slow, &[], done, &[v.into()]);
                    self.cx.b.switch_to_block(slow);
                    let kv = self.iconst(k as i64);
                    let h = jit().h.literal;
                    let made = self.host_t(h, &[kv]).expect("literal returns a value");
                    self.cx.b.ins().jump(done, &[made.into()]);
                    self.cx.b.switch_to_block(done);
                    r
                }
            }
            EK::Local(l) => self.cx.b.use_var(self.vars[*l]),
            // In a function (not the initializers: they may read a global
            // before it is set), a constant global is its value.
            EK::Global(g) if !self.chain.is_empty() && jit().consts[*g].is_some() => {
                match jit().consts[*g].expect("checked") {
                    Konst::Int(v) => self.iconst(v),
                    Konst::Float(v) => self.cx.b.ins().f64const(v),
                }
            }
            EK::Global(g) => {
                let a = self.global_addr(*g);
                let fl = self.global_class(*g);
                self.load(&e.ty, fl, a, 0)
            }
            EK::Bin(op, a, b) => {
                let x = self.expr(a)?;
                let y = self.expr(b)?;
                self.cx.set_line(e.line);
                self.binop(*op, x, y)?
            }
            EK::INeg(a) => {
                let x = self.expr(a)?;
                self.cx.b.ins().ineg(x)
            }
            EK::FNeg(a) => {
                let x = self.expr(a)?;
                self.cx.b.ins().fneg(x)
            }
            EK::Not(a) => {
                let x = self.expr(a)?;
                self.cx.b.ins().bxor_imm_u(x, 1)
            }
            EK::And(a, b) | EK::Or(a, b) => {
                let x = self.expr(a)?;
                let rhs = self.cx.b.create_block();
                let join = self.cx.b.create_block();
                self.cx.b.append_block_param(join, types::I64);
                if matches!(e.kind, EK::And(..)) {
                    self.cx.b.ins().brif(x, rhs, &[], join, &[x.into()]);
                } else {
                    self.cx.b.ins().brif(x, join, &[x.into()], rhs, &[]);
                }
                self.cx.b.switch_to_block(rhs);
                let y = self.expr(b)?;
                self.cx.b.ins().jump(join, &[y.into()]);
                self.cx.b.switch_to_block(join);
                self.cx.b.block_params(join)[0]
            }
            EK::Call(f, args) => self.call(*f, args, e.line)?.ok_or("call without a value")?,
            EK::Builtin(b, args) => self.builtin(b, args, e)?.ok_or("builtin without a value")?,
            EK::Spawn(f, args) => {
                let def = &shared().prog.funcs[*f];
                let mut vs = Vec::new();
                for a in args {
                    vs.push(self.expr(a)?);
                }
                self.cx.set_line(e.line);
                for (i, v) in vs.iter().enumerate() {
                    let t = def.locals[i].clone();
                    let w = if t == Ty::Float {
                        self.cx.b.ins().bitcast(types::I64, MemFlagsData::new(), *v)
                    } else {
                        *v
                    };
                    let r = self.iconst(t.is_ref() as i64);
                    let h = jit().h.spawn_arg;
                    self.host(h, &[w, r]);
                }
                let fv = self.iconst(*f as i64);
                let h = jit().h.spawn;
                self.host_t(h, &[fv]).expect("thread")
            }
            EK::Field(o, si, fi) => {
                let ov = self.expr(o)?;
                self.cx.set_line(e.line);
                if !self.facts(o).nonnull {
                    self.null_check(ov, err::NULL_FIELD);
                }
                let ft = shared().prog.structs[*si].fields[*fi].1.clone();
                let fl = self.field_class(*si, *fi);
                self.load(&ft, fl, ov, tobj::field_offset(*fi) as i32)
            }
            EK::Index(a, i) => {
                let av = self.expr(a)?;
                let iv = self.expr(i)?;
                let facts = self.facts(a);
                self.index_check(av, iv, e.line, facts, err::NULL_INDEX);
                let addr = self.elem_addr(av, iv);
                let fl = self.elem_class(&e.ty);
                self.load(&e.ty, fl, addr, 0)
            }
            EK::NewStruct(si, fields) if fields.len() > ALLOC_FIRST => {
                self.cx.set_line(e.line);
                let ti = shared().struct_types[*si];
                let h = self.handler();
                let o = self.cx.alloc_fixed(ti, Some(h));
                for (fi, fe) in fields {
                    let v = self.expr(fe)?;
                    let is_ref = shared().prog.structs[*si].fields[*fi].1.is_ref();
                    let fl = self.field_class(*si, *fi);
                    self.store_value(o, tobj::field_offset(*fi) as i32, v, is_ref, fl);
                }
                o
            }
            EK::NewStruct(si, fields) => {
                let mut vs = Vec::new();
                for (fi, fe) in fields {
                    vs.push((*fi, self.expr(fe)?));
                }
                self.cx.set_line(e.line);
                let ti = shared().struct_types[*si];
                let h = self.handler();
                let o = self.cx.alloc_fixed(ti, Some(h));
                for (fi, v) in vs {
                    // A fresh object: no old value to log, no barrier needed.
                    let fl = self.field_class(*si, fi);
                    self.cx
                        .b
                        .ins()
                        .store(fl, v, o, tobj::field_offset(fi) as i32);
                }
                o
            }
            EK::NewArray(et, n) => {
                let nv = self.expr(n)?;
                self.new_array(et, nv, e.line)
            }
            EK::ArrayLit(et, elems) if elems.len() > ALLOC_FIRST => {
                self.cx.set_line(e.line);
                let a = self.literal_array(et, elems.len());
                let fl = self.elem_class(et);
                for (i, x) in elems.iter().enumerate() {
                    let v = self.expr(x)?;
                    self.store_value(a, tobj::elem_offset(i) as i32, v, et.is_ref(), fl);
                }
                a
            }
            EK::ArrayLit(et, elems) => {
                let mut vs = Vec::new();
                for x in elems {
                    vs.push(self.expr(x)?);
                }
                self.cx.set_line(e.line);
                let a = self.literal_array(et, vs.len());
                let fl = self.elem_class(et);
                for (i, v) in vs.into_iter().enumerate() {
                    self.cx.b.ins().store(fl, v, a, tobj::elem_offset(i) as i32);
                }
                a
            }
        };
        Ok(v)
    }

    /// The array of a literal of `n` elements of type `et` (by the runtime).
    fn literal_array(&mut self, et: &Ty, n: usize) -> Value {
        let k = self.iconst(kind_of(et) as i64);
        let n = self.iconst(n as i64);
        let h = jit().h.new_array;
        let a = self.host_t(h, &[k, n]).expect("array");
        self.cx.declare_ref(a);
        a
    }

    /// Stores field or element `v` at `off` of `obj`, with flags `fl`: a
    /// reference through the write barrier (an assignment to a field, or a big
    /// literal being filled: computing its elements may have collected and aged
    /// the object).
    fn store_value(&mut self, obj: Value, off: i32, v: Value, is_ref: bool, fl: MemFlagsData) {
        if is_ref {
            self.cx.store_ref_flags(obj, off, v, fl);
        } else {
            self.cx.b.ins().store(fl, v, obj, off);
        }
    }

    /// `x == y` of strings (1 or 0): the same object (or both null) is equal,
    /// one null or different lengths are not, inline; the bytes are compared
    /// by the runtime.
    fn str_eq(&mut self, x: Value, y: Value) -> Value {
        let check_b = self.cx.b.create_block();
        let len_b = self.cx.b.create_block();
        let bytes_b = self.cx.b.create_block();
        let done = self.cx.b.create_block();
        let r = self.cx.b.append_block_param(done, types::I64);
        let one = self.iconst(1);
        let zero = self.iconst(0);
        let same = self.cx.b.ins().icmp(IntCC::Equal, x, y);
        self.cx
            .b
            .ins()
            .brif(same, done, &[one.into()], check_b, &[]);
        self.cx.b.switch_to_block(check_b);
        let xz = self.cx.b.ins().icmp_imm_s(IntCC::Equal, x, 0);
        let yz = self.cx.b.ins().icmp_imm_s(IntCC::Equal, y, 0);
        let any_null = self.cx.b.ins().bor(xz, yz);
        self.cx
            .b
            .ins()
            .brif(any_null, done, &[zero.into()], len_b, &[]);
        self.cx.b.switch_to_block(len_b);
        let la = self.load_len(x, true);
        let lb = self.load_len(y, true);
        let same_len = self.cx.b.ins().icmp(IntCC::Equal, la, lb);
        self.cx
            .b
            .ins()
            .brif(same_len, bytes_b, &[], done, &[zero.into()]);
        self.cx.b.switch_to_block(bytes_b);
        let h = jit().h.str_eq;
        let e = self.host(h, &[x, y]).expect("bool");
        self.cx.b.ins().jump(done, &[e.into()]);
        self.cx.b.switch_to_block(done);
        r
    }

    /// `x + y` of strings. A short result (under `object::BUILD_MIN` bytes,
    /// so both operands are flat strings) is allocated inline and its bytes
    /// copied by inline loops; null operands, longer results (built strings:
    /// see `object::STR_SLICE`) and a full allocation buffer go to the runtime.
    fn concat(&mut self, x: Value, y: Value) -> Value {
        let h = jit().h.concat;
        let host_b = self.cx.b.create_block();
        let check_b = self.cx.b.create_block();
        let inline_b = self.cx.b.create_block();
        let done = self.cx.b.create_block();
        let r = self.cx.b.append_block_param(done, types::I64);
        self.cx.b.set_cold_block(host_b);
        let xz = self.cx.b.ins().icmp_imm_s(IntCC::Equal, x, 0);
        let yz = self.cx.b.ins().icmp_imm_s(IntCC::Equal, y, 0);
        let any_null = self.cx.b.ins().bor(xz, yz);
        self.cx.b.ins().brif(any_null, host_b, &[], check_b, &[]);

        self.cx.b.switch_to_block(check_b);
        let la = self.load_len(x, true);
        let lb = self.load_len(y, true);
        let n = self.cx.b.ins().iadd(la, lb);
        let short = self
            .cx
            .b
            .ins()
            .icmp_imm_u(IntCC::UnsignedLessThan, n, tobj::BUILD_MIN as i64);
        self.cx.b.ins().brif(short, inline_b, &[], host_b, &[]);

        self.cx.b.switch_to_block(inline_b);
        let handler = self.handler();
        // The runtime's slow path returns the whole concatenation; copying the
        // bytes again below is harmless (the operands are reloaded from the
        // stack maps if it collected).
        let s = self
            .cx
            .alloc_array(&tobj::STR, n, Some(handler), &mut |cx| {
                cx.call_host(h, &[x, y])[0]
            });
        let dst = self.cx.b.ins().iadd_imm_s(s, ARRAY_DATA_OFFSET as i64);
        let xs = self.cx.b.ins().iadd_imm_s(x, ARRAY_DATA_OFFSET as i64);
        self.copy_bytes(dst, xs, la);
        let dst2 = self.cx.b.ins().iadd(dst, la);
        let ys = self.cx.b.ins().iadd_imm_s(y, ARRAY_DATA_OFFSET as i64);
        self.copy_bytes(dst2, ys, lb);
        self.cx.b.ins().jump(done, &[s.into()]);

        self.cx.b.switch_to_block(host_b);
        let hr = self.host_t(h, &[x, y]).expect("str");
        self.cx.b.ins().jump(done, &[hr.into()]);

        self.cx.b.switch_to_block(done);
        self.cx.declare_ref(r);
        r
    }

    /// Copies `n` bytes from address `src` to address `dst` with a byte loop
    /// (short strings; no call, no safepoint: the addresses may point into
    /// objects).
    fn copy_bytes(&mut self, dst: Value, src: Value, n: Value) {
        let fl = MemFlagsData::trusted();
        let head = self.cx.b.create_block();
        let body = self.cx.b.create_block();
        let exit = self.cx.b.create_block();
        let i = self.cx.b.append_block_param(head, types::I64);
        let zero = self.iconst(0);
        self.cx.b.ins().jump(head, &[zero.into()]);
        self.cx.b.switch_to_block(head);
        let more = self.cx.b.ins().icmp(IntCC::UnsignedLessThan, i, n);
        self.cx.b.ins().brif(more, body, &[], exit, &[]);
        self.cx.b.switch_to_block(body);
        let sa = self.cx.b.ins().iadd(src, i);
        let byte = self.cx.b.ins().uload8(types::I64, fl, sa, 0);
        let da = self.cx.b.ins().iadd(dst, i);
        self.cx.b.ins().istore8(fl, byte, da, 0);
        let next = self.cx.b.ins().iadd_imm_s(i, 1);
        self.cx.b.ins().jump(head, &[next.into()]);
        self.cx.b.switch_to_block(exit);
    }

    /// A new zeroed array: inline for small ones, else (and for a negative size,
    /// which throws) by the runtime.
    fn new_array(&mut self, et: &Ty, n: Value, line: u32) -> Value {
        self.cx.set_line(line);
        let kind = kind_of(et);
        let h = jit().h.new_array;
        let handler = self.handler();
        self.cx
            .alloc_array(tobj::array_type(kind), n, Some(handler), &mut |cx| {
                let k = cx.b.ins().iconst(types::I64, kind as i64);
                cx.call_host(h, &[k, n])[0]
            })
    }

    fn binop(&mut self, op: Op, x: Value, y: Value) -> Result<Value, String> {
        let b = &mut self.cx.b;
        let v = match op {
            Op::IAdd => b.ins().iadd(x, y),
            Op::ISub => b.ins().isub(x, y),
            Op::IMul => b.ins().imul(x, y),
            Op::IDiv | Op::IRem => {
                let is0 = b.ins().icmp_imm_s(IntCC::Equal, y, 0);
                let z = self.iconst(0);
                self.error_if(is0, err::DIV_ZERO, z, z);
                // MIN / -1 and MIN % -1 trap in hardware: handle -1 apart.
                let b = &mut self.cx.b;
                let m1 = b.create_block();
                let norm = b.create_block();
                let join = b.create_block();
                b.append_block_param(join, types::I64);
                let is_m1 = b.ins().icmp_imm_s(IntCC::Equal, y, -1);
                b.ins().brif(is_m1, m1, &[], norm, &[]);
                b.switch_to_block(m1);
                let r1 = if op == Op::IDiv {
                    b.ins().ineg(x)
                } else {
                    b.ins().iconst(types::I64, 0)
                };
                b.ins().jump(join, &[r1.into()]);
                b.switch_to_block(norm);
                let r2 = if op == Op::IDiv {
                    b.ins().sdiv(x, y)
                } else {
                    b.ins().srem(x, y)
                };
                b.ins().jump(join, &[r2.into()]);
                b.switch_to_block(join);
                b.block_params(join)[0]
            }
            Op::IShl => b.ins().ishl(x, y),
            Op::IShr => b.ins().sshr(x, y),
            Op::IAnd => b.ins().band(x, y),
            Op::IOr => b.ins().bor(x, y),
            Op::IXor => b.ins().bxor(x, y),
            Op::FAdd => b.ins().fadd(x, y),
            Op::FSub => b.ins().fsub(x, y),
            Op::FMul => b.ins().fmul(x, y),
            Op::FDiv => b.ins().fdiv(x, y),
            Op::IEq | Op::BEq | Op::REq => {
                let c = b.ins().icmp(IntCC::Equal, x, y);
                self.bool_val(c)
            }
            Op::INe | Op::BNe | Op::RNe => {
                let c = b.ins().icmp(IntCC::NotEqual, x, y);
                self.bool_val(c)
            }
            Op::ILt | Op::ILe | Op::IGt | Op::IGe => {
                let cc = match op {
                    Op::ILt => IntCC::SignedLessThan,
                    Op::ILe => IntCC::SignedLessThanOrEqual,
                    Op::IGt => IntCC::SignedGreaterThan,
                    _ => IntCC::SignedGreaterThanOrEqual,
                };
                let c = b.ins().icmp(cc, x, y);
                self.bool_val(c)
            }
            Op::FEq | Op::FNe | Op::FLt | Op::FLe | Op::FGt | Op::FGe => {
                let cc = match op {
                    Op::FEq => FloatCC::Equal,
                    Op::FNe => FloatCC::NotEqual,
                    Op::FLt => FloatCC::LessThan,
                    Op::FLe => FloatCC::LessThanOrEqual,
                    Op::FGt => FloatCC::GreaterThan,
                    _ => FloatCC::GreaterThanOrEqual,
                };
                let c = b.ins().fcmp(cc, x, y);
                self.bool_val(c)
            }
            Op::SEq | Op::SNe => {
                let r = self.str_eq(x, y);
                if op == Op::SEq {
                    r
                } else {
                    self.cx.b.ins().bxor_imm_u(r, 1)
                }
            }
            Op::Concat => self.concat(x, y),
        };
        Ok(v)
    }

    fn builtin(&mut self, bi: &Builtin, args: &[Expr], e: &Expr) -> Result<Option<Value>, String> {
        if let Some((k, nl)) = shared().printed_constant(bi, args) {
            let k = self.iconst(k as i64);
            let nl = self.iconst(nl as i64);
            self.cx.set_line(e.line);
            self.host(jit().h.print_literal, &[k, nl]);
            return Ok(None);
        }
        let mut vs = Vec::new();
        for a in args {
            vs.push(self.expr(a)?);
        }
        self.cx.set_line(e.line);
        let h = &jit().h;
        let r = match bi {
            Builtin::Print(t) | Builtin::Write(t) => {
                let nl = self.iconst(matches!(bi, Builtin::Print(_)) as i64);
                if *t == Ty::Float {
                    self.host(h.print_f, &[vs[0], nl]);
                } else {
                    let k = self.iconst(kind_of(t) as i64);
                    self.host(h.print, &[k, vs[0], nl]);
                }
                None
            }
            Builtin::ToStr(t) => {
                if *t == Ty::Float {
                    self.host_t(h.to_str_f, &[vs[0]])
                } else {
                    let k = self.iconst(kind_of(t) as i64);
                    self.host_t(h.to_str, &[k, vs[0]])
                }
            }
            Builtin::Fmt => self.host_t(h.fmt, &[vs[0], vs[1]]),
            Builtin::LenArray if self.facts(&args[0]).len.is_some() => {
                let k = self.facts(&args[0]);
                if !k.nonnull {
                    self.null_check(vs[0], err::NULL_LEN);
                }
                Some(self.cx.b.use_var(k.len.expect("known length")))
            }
            Builtin::LenStr | Builtin::LenArray => {
                if !self.facts(&args[0]).nonnull {
                    self.null_check(vs[0], err::NULL_LEN);
                }
                Some(self.load_len(vs[0], matches!(bi, Builtin::LenStr)))
            }
            Builtin::ToFloat => Some(self.cx.b.ins().fcvt_from_sint(types::F64, vs[0])),
            Builtin::ToInt => self.host_t(h.to_int, &[vs[0]]),
            Builtin::Sqrt => Some(self.cx.b.ins().sqrt(vs[0])),
            Builtin::AbsInt => Some(self.cx.b.ins().iabs(vs[0])),
            Builtin::AbsFloat => Some(self.cx.b.ins().fabs(vs[0])),
            Builtin::Floor => Some(self.cx.b.ins().floor(vs[0])),
            Builtin::MinInt | Builtin::MaxInt => {
                let cc = if matches!(bi, Builtin::MinInt) {
                    IntCC::SignedLessThan
                } else {
                    IntCC::SignedGreaterThan
                };
                let c = self.cx.b.ins().icmp(cc, vs[0], vs[1]);
                Some(self.cx.b.ins().select(c, vs[0], vs[1]))
            }
            Builtin::MinFloat | Builtin::MaxFloat => {
                let cc = if matches!(bi, Builtin::MinFloat) {
                    FloatCC::LessThan
                } else {
                    FloatCC::GreaterThan
                };
                let c1 = self.cx.b.ins().fcmp(cc, vs[0], vs[1]);
                let c2 = self.cx.b.ins().fcmp(FloatCC::Unordered, vs[0], vs[0]);
                let c = self.cx.b.ins().bor(c1, c2);
                Some(self.cx.b.ins().select(c, vs[0], vs[1]))
            }
            Builtin::Byte => {
                // Inline: the checks of an array index (with byte's null error),
                // then one byte load.
                // A built string's bytes are in its buffer (see
                // `object::STR_SLICE`): one more load on that path. No
                // safepoint lies between the loads and the use.
                let (so, i) = (vs[0], vs[1]);
                let facts = self.facts(&args[0]);
                self.index_check(so, i, e.line, facts, err::NULL_BYTE);
                let fl = MemFlagsData::trusted();
                let slice_id = tobj::STR_SLICE
                    .header()
                    .map_or(i64::from(u32::MAX), |h| h as i64);
                let tid = self.cx.b.ins().uload32(fl, so, TYPE_OFFSET as i32);
                let is_slice = self.cx.b.ins().icmp_imm_s(IntCC::Equal, tid, slice_id);
                let built = self.cx.b.create_block();
                let done = self.cx.b.create_block();
                let base = self.cx.b.append_block_param(done, types::I64);
                let flat = self.cx.b.ins().iadd_imm_s(so, ARRAY_DATA_OFFSET as i64);
                self.cx
                    .b
                    .ins()
                    .brif(is_slice, built, &[], done, &[flat.into()]);
                self.cx.b.switch_to_block(built);
                let buf = self
                    .cx
                    .b
                    .ins()
                    .load(types::I64, fl, so, tobj::SLICE_BUF_OFFSET as i32);
                let bytes = self
                    .cx
                    .b
                    .ins()
                    .iadd_imm_s(buf, tobj::BUF_BYTES_OFFSET as i64);
                self.cx.b.ins().jump(done, &[bytes.into()]);
                self.cx.b.switch_to_block(done);
                let addr = self.cx.b.ins().iadd(base, i);
                let b = self.cx.b.ins().uload8(types::I64, fl, addr, 0);
                Some(b)
            }
            Builtin::Chr => self.host_t(h.chr, &[vs[0]]),
            Builtin::Substr => self.host_t(h.substr, &[vs[0], vs[1], vs[2]]),
            Builtin::ParseInt => self.host_t(h.parse_int, &[vs[0]]),
            Builtin::Args => self.host_t(h.args, &[]),
            Builtin::Clock => self.host(h.clock, &[]),
            Builtin::WriteBytes => self.host_t(h.write_bytes, &[vs[0], vs[1]]),
            Builtin::Join => self.host_t(h.join, &[vs[0]]),
            Builtin::Gc => {
                self.host(h.gc, &[]);
                None
            }
        };
        if let Some(v) = r {
            if e.ty.is_ref() {
                self.cx.declare_ref(v);
            }
        }
        Ok(r)
    }
}
