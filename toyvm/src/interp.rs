//! The reference interpreter: walks the checked program. Every value lives in the
//! thread's root stack ([`RootStack`]), so every reference it holds is a precise
//! GC root that moving collectors update.

use crate::engine::Engine;
use crate::lang::ir::*;
use crate::runtime::builtins;
use crate::runtime::errors::{self, RuntimeError};
use crate::runtime::object::{self as tobj, oref, rword};
use crate::runtime::object::{read_word, write_word as wword};
use crate::runtime::print::kind_of;
use crate::runtime::program::{Shared, ALLOC_FIRST};
use crate::runtime::trace::Trace;
use crate::runtime::RootStack;
use vmkit::{ObjectReference, Thread};

/// Marker: an exception is propagating (its value is the thread's pending
/// exception; its backtrace is in [`Interp::trace`]).
#[derive(Debug)]
pub struct Unwind;

type R<T> = Result<T, Unwind>;

enum Flow {
    Normal,
    Break,
    Continue,
    Return,
}

struct Frame {
    func: usize,
    base: usize,
    line: u32,
}

/// One interpreter thread.
pub struct Interp<'a> {
    sh: &'static Shared,
    t: &'a Thread,
    frames: Vec<Frame>,
    /// Backtrace of the propagating exception.
    pub trace: Trace,
    /// `try` bodies running on this thread: while one is, an exception will be
    /// caught and gets no backtrace (copying every frame's name at each raise
    /// made a rethrow from every frame of a deep recursion quadratic).
    tries: usize,
    /// Running ahead of the JIT (see [`Interp::ahead_of_jit`]).
    tier: Option<Tier>,
}

/// What decides, when the interpreter runs ahead of the JIT, which calls it
/// makes itself and which go to compiled code.
struct Tier {
    /// Calls of a function without loops the interpreter makes before it
    /// hands the function to the JIT.
    calls_before_jit: u32,
    /// Per function: the calls the interpreter made.
    calls: Vec<u32>,
    /// Per function: whether its body has a loop.
    has_loop: Vec<bool>,
}

/// The most interpreted frames a thread running ahead of the JIT keeps on its
/// stack: deeper calls go to the JIT, whose frames are far smaller (a chain of
/// thousands of functions, each called once, would otherwise use 16 times the
/// stack the JIT needs for it).
const MAX_FRAMES_AHEAD_OF_JIT: usize = 64;

fn f2w(x: f64) -> u64 {
    x.to_bits()
}
fn w2f(w: u64) -> f64 {
    f64::from_bits(w)
}

impl<'a> Interp<'a> {
    /// An interpreter on attached thread `t` (which has a root stack).
    pub fn new(sh: &'static Shared, t: &'a Thread) -> Interp<'a> {
        Interp {
            sh,
            t,
            frames: Vec::new(),
            trace: Trace::default(),
            tries: 0,
            tier: None,
        }
    }

    /// An interpreter that runs ahead of the JIT on attached thread `t`: it
    /// interprets the first `calls_before_jit` calls of each function without
    /// loops (the globals' initializers too), and calls compiled code for
    /// every other call (a function with a loop from its first call; a
    /// function's code compiles its callees when they are first called). Each
    /// function body runs at most `calls_before_jit` times here, straight
    /// through, so the interpreted part of a run is bounded by the program's
    /// size; a program that ends within it never starts the JIT. A thread it
    /// spawns runs compiled code.
    pub fn ahead_of_jit(sh: &'static Shared, t: &'a Thread, calls_before_jit: u32) -> Interp<'a> {
        let has_loop = sh
            .prog
            .funcs
            .iter()
            .map(|f| {
                let mut lp = false;
                visit(&f.body, &mut |n| {
                    if let Node::Stmt(Stmt {
                        kind: SK::While(..) | SK::For { .. },
                        ..
                    }) = n
                    {
                        lp = true;
                    }
                });
                lp
            })
            .collect();
        Interp {
            tier: Some(Tier {
                calls_before_jit,
                calls: vec![0; sh.prog.funcs.len()],
                has_loop,
            }),
            ..Interp::new(sh, t)
        }
    }

    #[allow(clippy::mut_from_ref)]
    fn rs(&self) -> &mut RootStack {
        // SAFETY: `self.t` is the thread running this interpreter, and every use of
        // the reference ends within the helper that took it (none calls `rs` again
        // while holding one).
        unsafe { self.t.root_stack() }
    }
    fn push(&mut self, w: u64, is_ref: bool) {
        self.rs().push(w, is_ref);
    }
    fn pop(&mut self) -> u64 {
        self.rs().pop().expect("operand stack underflow")
    }
    fn peek(&self, k: usize) -> u64 {
        let rs = self.rs();
        rs.words[rs.words.len() - 1 - k]
    }
    fn truncate(&mut self, n: usize) {
        self.rs().truncate(n);
    }
    fn base(&self) -> usize {
        self.frames.last().map_or(0, |f| f.base)
    }
    fn set_line(&mut self, l: u32) {
        if let Some(f) = self.frames.last_mut() {
            f.line = l;
        }
    }

    /// Throws runtime error `e`.
    fn fail(&mut self, e: RuntimeError) -> Unwind {
        let exc = e.exception(self.t);
        self.raise(exc)
    }

    fn raise(&mut self, exc: Option<ObjectReference>) -> Unwind {
        self.t.set_pending_exception(exc);
        if self.tries > 0 {
            self.trace = Trace::default();
            return Unwind;
        }
        self.trace = Trace::of_frames(self.frame_names());
        Unwind
    }

    /// The interpreted frames `(function, line)`, innermost first.
    fn frame_names(&self) -> Vec<(String, u32)> {
        let names = &self.sh.prog.funcs;
        self.frames
            .iter()
            .rev()
            .map(|f| {
                (
                    names
                        .get(f.func)
                        .map_or("<global>".to_string(), |d| d.name.clone()),
                    f.line,
                )
            })
            .collect()
    }

    /// Whether a call of `f` goes to the JIT (counting it otherwise).
    fn goes_to_jit(&mut self, f: usize) -> bool {
        let depth = self.frames.len();
        let Some(tier) = &mut self.tier else {
            return false;
        };
        if tier.has_loop[f]
            || tier.calls[f] >= tier.calls_before_jit
            || depth >= MAX_FRAMES_AHEAD_OF_JIT
        {
            return true;
        }
        tier.calls[f] += 1;
        false
    }

    /// Calls compiled `f` with the top `nparams` words of the stack.
    fn invoke_jit(&mut self, f: usize) -> R<u64> {
        let jit = crate::jit::ToyJit::get_or_exit();
        let base = self.rs().len() - self.sh.prog.funcs[f].nparams;
        // Read after the last safepoint (the JIT's setup has none): the call
        // roots the references itself.
        let args = self.rs().words[base..].to_vec();
        // Compiled code gets the JIT's stack below this frame (the
        // interpreter's deep expressions may have used more than that), within
        // the interpreter's own limit: a recursion overflows at the depth it
        // would have with every function compiled.
        let limit = self.t.stack_limit();
        let marker = 0u8;
        let sp = &marker as *const u8 as usize;
        self.t
            .set_stack_limit(limit.max(sp.saturating_sub(self.sh.toy_stack)));
        let r = jit.call(self.t, f, &args);
        self.t.set_stack_limit(limit);
        self.truncate(base);
        r.map_err(|trace| {
            self.trace = if self.tries > 0 {
                Trace::default()
            } else {
                trace.then(&self.frame_names())
            };
            Unwind
        })
    }

    /// Runs function `f` with `args` (already typed words); returns its result word.
    pub fn call_with(&mut self, f: usize, args: &[u64]) -> R<u64> {
        let def = &self.sh.prog.funcs[f];
        for (i, a) in args.iter().enumerate() {
            self.push(*a, def.locals[i].is_ref());
        }
        self.invoke(f)
    }

    /// Calls `f` whose arguments are the top `nparams` words of the stack.
    fn invoke(&mut self, f: usize) -> R<u64> {
        if self.goes_to_jit(f) {
            return self.invoke_jit(f);
        }
        let sh = self.sh;
        let def = &sh.prog.funcs[f];
        let marker = 0u8;
        let sp = &marker as *const u8 as usize;
        let base = self.rs().len() - def.nparams;
        if sp < self.t.stack_limit() + 64 * 1024 {
            // Reported in the callee's frame at its declaration line, as the JIT's
            // prologue check does.
            self.frames.push(Frame {
                func: f,
                base,
                line: def.line,
            });
            let u = self.fail(errors::stack_overflow());
            self.frames.pop();
            self.truncate(base);
            return Err(u);
        }
        self.t.safepoint();
        for t in &def.locals[def.nparams..] {
            self.push(0, t.is_ref());
        }
        self.frames.push(Frame {
            func: f,
            base,
            line: def.line,
        });
        let r = self.block(&def.body);
        self.frames.pop();
        let ret = match r {
            Ok(Flow::Return) if def.ret != Ty::Void => self.pop(),
            Ok(_) => 0,
            Err(u) => {
                self.truncate(base);
                return Err(u);
            }
        };
        self.truncate(base);
        Ok(ret)
    }

    fn block(&mut self, stmts: &[Stmt]) -> R<Flow> {
        let r = self.block_stmts(stmts);
        self.end_scope(stmts);
        r
    }

    fn block_stmts(&mut self, stmts: &[Stmt]) -> R<Flow> {
        for s in stmts {
            match self.stmt(s)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    /// Clears the reference locals a block declared, however it ended: what
    /// they held is dead once their scope ends (the JIT's liveness frees it as
    /// well), as in each iteration of a loop whose body declares them.
    fn end_scope(&mut self, stmts: &[Stmt]) {
        let Some(fr) = self.frames.last() else { return };
        let Some(def) = self.sh.prog.funcs.get(fr.func) else {
            return;
        };
        let base = fr.base;
        for s in stmts {
            if let SK::Let(slot, _) = s.kind {
                if def.locals[slot].is_ref() {
                    self.rs().words[base + slot] = 0;
                }
            }
        }
    }

    fn local_set(&mut self, slot: usize, w: u64) {
        let b = self.base();
        self.rs().words[b + slot] = w;
    }
    fn local_get(&self, slot: usize) -> u64 {
        self.rs().words[self.base() + slot]
    }

    fn stmt(&mut self, s: &Stmt) -> R<Flow> {
        self.set_line(s.line);
        match &s.kind {
            SK::Let(slot, init) => {
                let w = match init {
                    Some(e) => {
                        self.eval(e)?;
                        self.pop()
                    }
                    None => 0,
                };
                self.local_set(*slot, w);
            }
            SK::Assign(place, v) => self.assign(place, None, v, s.line)?,
            SK::Compound(place, op, v) => self.assign(place, Some(*op), v, s.line)?,
            SK::Expr(e) => {
                self.eval(e)?;
                if e.ty != Ty::Void {
                    self.pop();
                }
            }
            SK::If(c, a, b) => {
                self.eval(c)?;
                let flow = if self.pop() != 0 {
                    self.block(a)?
                } else {
                    self.block(b)?
                };
                return Ok(flow);
            }
            SK::While(c, body) => loop {
                self.t.safepoint();
                self.set_line(s.line);
                self.eval(c)?;
                if self.pop() == 0 {
                    break;
                }
                match self.block(body)? {
                    Flow::Break => break,
                    Flow::Return => return Ok(Flow::Return),
                    _ => {}
                }
            },
            SK::For {
                var,
                end_slot,
                start,
                end,
                body,
            } => {
                self.eval(start)?;
                let a = self.pop();
                self.eval(end)?;
                let b = self.pop();
                self.local_set(*end_slot, b);
                let mut i = a as i64;
                while i < self.local_get(*end_slot) as i64 {
                    self.t.safepoint();
                    self.local_set(*var, i as u64);
                    match self.block(body)? {
                        Flow::Break => break,
                        Flow::Return => return Ok(Flow::Return),
                        _ => {}
                    }
                    i += 1;
                }
            }
            SK::Break => return Ok(Flow::Break),
            SK::Continue => return Ok(Flow::Continue),
            SK::Return(e) => {
                if let Some(e) = e {
                    self.eval(e)?;
                    // Keep the value on top of the stack for `invoke`.
                    let w = self.pop();
                    let b = self.base();
                    let def = &self.sh.prog.funcs[self.frames.last().expect("frame").func];
                    let n = def.locals.len();
                    self.truncate(b + n);
                    self.push(w, e.ty.is_ref() || def.ret.is_ref());
                }
                return Ok(Flow::Return);
            }
            SK::Throw(e) => {
                self.eval(e)?;
                let w = self.pop();
                self.set_line(s.line);
                return match builtins::thrown(w) {
                    Ok(o) => Err(self.raise(Some(o))),
                    Err(e) => Err(self.fail(e)),
                };
            }
            SK::Try(body, var, handler) => {
                let depth = self.rs().len();
                let frames = self.frames.len();
                self.tries += 1;
                let r = self.block(body);
                self.tries -= 1;
                match r {
                    Ok(f) => return Ok(f),
                    Err(Unwind) => {
                        self.truncate(depth);
                        self.frames.truncate(frames);
                        let exc = self.t.take_pending_exception();
                        self.trace = Trace::default();
                        self.local_set(*var, exc.map_or(0, rword));
                        let r = self.block(handler);
                        self.local_set(*var, 0);
                        return r;
                    }
                }
            }
            SK::Sync(e, slot, body) => {
                self.eval(e)?;
                self.set_line(s.line);
                let w = self.pop();
                self.local_set(*slot, w);
                if let Err(e) = builtins::monitor_enter(self.t, w) {
                    return Err(self.fail(e));
                }
                let r = self.block(body);
                builtins::monitor_exit(self.t, self.local_get(*slot));
                self.local_set(*slot, 0);
                return r;
            }
            SK::Block(b) => return self.block(b),
        }
        Ok(Flow::Normal)
    }

    /// `place = v` or `place op= v`; the place's object and index are evaluated once.
    fn assign(&mut self, place: &Place, op: Option<Op>, v: &Expr, line: u32) -> R<()> {
        match place {
            Place::Local(slot) => {
                if let Some(op) = op {
                    let cur = self.local_get(*slot);
                    self.push(cur, v.ty.is_ref());
                    self.eval(v)?;
                    self.set_line(line);
                    self.binop(op)?;
                } else {
                    self.eval(v)?;
                }
                let w = self.pop();
                self.local_set(*slot, w);
            }
            Place::Global(g) => {
                if let Some(op) = op {
                    let cur = self.sh.vm.global(*g);
                    self.push(cur, v.ty.is_ref());
                    self.eval(v)?;
                    self.set_line(line);
                    self.binop(op)?;
                } else {
                    self.eval(v)?;
                }
                let w = self.pop();
                self.sh.vm.set_global(*g, w);
            }
            Place::Field(obj, si, fi) => {
                self.eval(obj)?;
                if oref(self.peek(0)).is_none() {
                    self.pop();
                    self.set_line(obj.line);
                    return Err(self.fail(errors::null_field()));
                }
                let is_ref = self.sh.prog.structs[*si].fields[*fi].1.is_ref();
                if let Some(op) = op {
                    let o = oref(self.peek(0)).expect("object");
                    let cur = read_word(o, tobj::field_offset(*fi)) as u64;
                    self.push(cur, is_ref);
                    self.eval(v)?;
                    self.set_line(line);
                    self.binop(op)?;
                } else {
                    self.eval(v)?;
                }
                let w = self.pop();
                let o = oref(self.pop()).expect("object");
                self.store(o, tobj::field_offset(*fi), w, is_ref);
            }
            Place::Index(arr, idx) => {
                self.eval(arr)?;
                self.eval(idx)?;
                let i = self.peek(0) as i64;
                let off = self.check_index(self.peek(1), i, arr.line)?;
                let is_ref = v.ty.is_ref() || matches!(&arr.ty, Ty::Array(e) if e.is_ref());
                if let Some(op) = op {
                    let o = oref(self.peek(1)).expect("array");
                    let cur = read_word(o, off) as u64;
                    self.push(cur, is_ref);
                    self.eval(v)?;
                    self.set_line(line);
                    self.binop(op)?;
                } else {
                    self.eval(v)?;
                }
                let w = self.pop();
                self.pop();
                let o = oref(self.pop()).expect("array");
                self.store(o, off, w, is_ref);
            }
        }
        Ok(())
    }

    fn store(&mut self, o: ObjectReference, off: usize, w: u64, is_ref: bool) {
        if is_ref {
            tobj::write_ref(self.t, o, off, oref(w));
        } else {
            wword(o, off, w as usize);
        }
    }

    /// Checks `arr[i]`; returns the element's offset.
    fn check_index(&mut self, arr: u64, i: i64, line: u32) -> R<usize> {
        builtins::index_offset(arr, i).map_err(|e| {
            self.set_line(line);
            self.fail(e)
        })
    }

    /// Applies `op` to the two top words, leaving the result.
    fn binop(&mut self, op: Op) -> R<()> {
        let b = self.peek(0);
        let a = self.peek(1);
        let (ai, bi) = (a as i64, b as i64);
        let (af, bf) = (w2f(a), w2f(b));
        let r: u64 = match op {
            Op::IAdd => ai.wrapping_add(bi) as u64,
            Op::ISub => ai.wrapping_sub(bi) as u64,
            Op::IMul => ai.wrapping_mul(bi) as u64,
            Op::IDiv | Op::IRem => {
                let r = if op == Op::IDiv {
                    builtins::div_int(ai, bi)
                } else {
                    builtins::rem_int(ai, bi)
                };
                match r {
                    Ok(v) => v as u64,
                    Err(e) => {
                        self.pop();
                        self.pop();
                        return Err(self.fail(e));
                    }
                }
            }
            Op::IShl => ai.wrapping_shl((bi & 63) as u32) as u64,
            Op::IShr => ai.wrapping_shr((bi & 63) as u32) as u64,
            Op::IAnd => (ai & bi) as u64,
            Op::IOr => (ai | bi) as u64,
            Op::IXor => (ai ^ bi) as u64,
            Op::FAdd => f2w(af + bf),
            Op::FSub => f2w(af - bf),
            Op::FMul => f2w(af * bf),
            Op::FDiv => f2w(af / bf),
            Op::IEq | Op::BEq | Op::REq => (a == b) as u64,
            Op::INe | Op::BNe | Op::RNe => (a != b) as u64,
            Op::ILt => (ai < bi) as u64,
            Op::ILe => (ai <= bi) as u64,
            Op::IGt => (ai > bi) as u64,
            Op::IGe => (ai >= bi) as u64,
            Op::FEq => (af == bf) as u64,
            Op::FNe => (af != bf) as u64,
            Op::FLt => (af < bf) as u64,
            Op::FLe => (af <= bf) as u64,
            Op::FGt => (af > bf) as u64,
            Op::FGe => (af >= bf) as u64,
            Op::SEq | Op::SNe => (builtins::str_eq(a, b) == (op == Op::SEq)) as u64,
            Op::Concat => {
                // The operands stay on the stack (roots) while it allocates.
                let r = builtins::concat(self.t, a, b);
                self.pop();
                self.pop();
                match r {
                    Ok(s) => self.push(s, true),
                    Err(e) => return Err(self.fail(e)),
                }
                return Ok(());
            }
        };
        self.pop();
        self.pop();
        self.push(r, false);
        Ok(())
    }

    /// Evaluates `e`, pushing its value (nothing for `Void`).
    pub fn eval(&mut self, e: &Expr) -> R<()> {
        match &e.kind {
            EK::Int(v) => self.push(*v as u64, false),
            EK::Float(v) => self.push(f2w(*v), false),
            EK::Bool(b) => self.push(*b as u64, false),
            EK::Null => self.push(0, true),
            EK::Str(s) => {
                let k = self.sh.const_index(s);
                match builtins::literal(self.t, k) {
                    Ok(w) => self.push(w, true),
                    Err(e) => return Err(self.fail(e)),
                }
            }
            EK::Local(l) => {
                let w = self.local_get(*l);
                self.push(w, e.ty.is_ref());
            }
            EK::Global(g) => {
                let w = self.sh.vm.global(*g);
                self.push(w, e.ty.is_ref());
            }
            EK::Bin(op, a, b) => {
                self.eval(a)?;
                self.eval(b)?;
                self.set_line(e.line);
                self.binop(*op)?;
            }
            EK::INeg(a) => {
                self.eval(a)?;
                let v = self.pop() as i64;
                self.push(v.wrapping_neg() as u64, false);
            }
            EK::FNeg(a) => {
                self.eval(a)?;
                let v = w2f(self.pop());
                self.push(f2w(-v), false);
            }
            EK::Not(a) => {
                self.eval(a)?;
                let v = self.pop();
                self.push((v == 0) as u64, false);
            }
            EK::And(a, b) => {
                self.eval(a)?;
                if self.peek(0) != 0 {
                    self.pop();
                    self.eval(b)?;
                }
            }
            EK::Or(a, b) => {
                self.eval(a)?;
                if self.peek(0) == 0 {
                    self.pop();
                    self.eval(b)?;
                }
            }
            EK::Call(f, args) => {
                for a in args {
                    self.eval(a)?;
                }
                self.set_line(e.line);
                let r = self.invoke(*f)?;
                if e.ty != Ty::Void {
                    self.push(r, e.ty.is_ref());
                }
            }
            EK::Spawn(f, args) => {
                for a in args {
                    self.eval(a)?;
                }
                self.set_line(e.line);
                self.spawn(*f, args.len())?;
            }
            EK::Field(o, _, fi) => {
                self.eval(o)?;
                let w = self.pop();
                let Some(obj) = oref(w) else {
                    self.set_line(e.line);
                    return Err(self.fail(errors::null_field()));
                };
                self.push(
                    read_word(obj, tobj::field_offset(*fi)) as u64,
                    e.ty.is_ref(),
                );
            }
            EK::Index(a, i) => {
                self.eval(a)?;
                self.eval(i)?;
                let i = self.pop() as i64;
                let arr = self.pop();
                let off = self.check_index(arr, i, e.line)?;
                let o = oref(arr).expect("array");
                self.push(read_word(o, off) as u64, e.ty.is_ref());
            }
            EK::NewStruct(si, fields) if fields.len() > ALLOC_FIRST => {
                self.set_line(e.line);
                let o = match builtins::new_struct(self.t, *si) {
                    Ok(o) => o,
                    Err(e) => return Err(self.fail(e)),
                };
                self.push(o, true);
                for (fi, fe) in fields {
                    self.eval(fe)?;
                    let w = self.pop();
                    let o = oref(self.peek(0)).expect("struct");
                    let is_ref = self.sh.prog.structs[*si].fields[*fi].1.is_ref();
                    self.store(o, tobj::field_offset(*fi), w, is_ref);
                }
            }
            EK::NewStruct(si, fields) => {
                for (_, fe) in fields {
                    self.eval(fe)?;
                }
                self.set_line(e.line);
                let n = fields.len();
                let o = match builtins::new_struct(self.t, *si) {
                    Ok(o) => oref(o).expect("struct"),
                    Err(e) => {
                        self.truncate(self.rs().len() - n);
                        return Err(self.fail(e));
                    }
                };
                for (k, (fi, _)) in fields.iter().enumerate() {
                    let w = self.peek(n - 1 - k);
                    let is_ref = self.sh.prog.structs[*si].fields[*fi].1.is_ref();
                    self.store(o, tobj::field_offset(*fi), w, is_ref);
                }
                self.truncate(self.rs().len() - n);
                self.push(rword(o), true);
            }
            EK::NewArray(et, n) => {
                self.eval(n)?;
                let n = self.pop() as i64;
                self.set_line(e.line);
                match builtins::new_array(self.t, kind_of(et), n) {
                    Ok(o) => self.push(o, true),
                    Err(e) => return Err(self.fail(e)),
                }
            }
            EK::ArrayLit(et, elems) if elems.len() > ALLOC_FIRST => {
                // Allocated first, each element stored as it is computed (both
                // engines: see ALLOC_FIRST).
                self.set_line(e.line);
                match builtins::new_array(self.t, kind_of(et), elems.len() as i64) {
                    Ok(o) => self.push(o, true),
                    Err(e) => return Err(self.fail(e)),
                }
                for (k, x) in elems.iter().enumerate() {
                    self.eval(x)?;
                    let w = self.pop();
                    let o = oref(self.peek(0)).expect("array");
                    self.store(o, tobj::elem_offset(k), w, et.is_ref());
                }
            }
            EK::ArrayLit(et, elems) => {
                for x in elems {
                    self.eval(x)?;
                }
                let n = elems.len();
                self.set_line(e.line);
                let o = match builtins::new_array(self.t, kind_of(et), n as i64) {
                    Ok(o) => oref(o).expect("array"),
                    Err(e) => {
                        self.truncate(self.rs().len() - n);
                        return Err(self.fail(e));
                    }
                };
                for k in 0..n {
                    let w = self.peek(n - 1 - k);
                    self.store(o, tobj::elem_offset(k), w, et.is_ref());
                }
                self.truncate(self.rs().len() - n);
                self.push(rword(o), true);
            }
            EK::Builtin(b, args) => {
                if let Some((k, nl)) = self.sh.printed_constant(b, args) {
                    builtins::print_literal(self.t, k, nl);
                    return Ok(());
                }
                for a in args {
                    self.eval(a)?;
                }
                self.set_line(e.line);
                // The arguments, popped (no builtin takes more than three): a
                // builtin roots what it needs itself.
                let mut a = [0u64; 3];
                for w in a[..args.len()].iter_mut().rev() {
                    *w = self.pop();
                }
                match call_builtin(self.t, b, &a[..args.len()]) {
                    Ok(Some((w, is_ref))) => self.push(w, is_ref),
                    Ok(None) => {}
                    Err(e) => return Err(self.fail(e)),
                }
            }
        }
        Ok(())
    }

    /// `spawn f(args)` with the `n` arguments on the stack; pushes the thread.
    fn spawn(&mut self, f: usize, n: usize) -> R<()> {
        let engine = if self.tier.is_some() {
            // The thread will call compiled code: set the JIT up first.
            crate::jit::ToyJit::get_or_exit();
            Engine::Jit
        } else {
            Engine::Interp
        };
        let def = &self.sh.prog.funcs[f];
        let args: Vec<(u64, bool)> = (0..n)
            .map(|i| (self.peek(n - 1 - i), def.locals[i].is_ref()))
            .collect();
        let r = builtins::spawn(self.t, f, args, engine);
        self.truncate(self.rs().len() - n);
        match r {
            Ok(th) => {
                self.push(th, true);
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Runs `main` (after the globals' initializers): the exit status.
    pub fn run_main(&mut self) -> Result<i64, (Vec<u8>, Vec<String>)> {
        let sh = self.sh;
        for (g, def) in sh.prog.globals.iter().enumerate() {
            if let Some(init) = &def.init {
                self.frames.push(Frame {
                    func: usize::MAX,
                    base: self.rs().len(),
                    line: def.line,
                });
                let r = self.eval(init);
                self.frames.pop();
                if r.is_err() {
                    return Err(self.take_death());
                }
                let w = self.pop();
                sh.vm.set_global(g, w);
            }
        }
        match self.call_with(sh.prog.main, &[]) {
            Ok(v) => Ok(if sh.prog.funcs[sh.prog.main].ret == Ty::Int {
                v as i64
            } else {
                0
            }),
            Err(Unwind) => Err(self.take_death()),
        }
    }

    /// Takes the propagating exception as (message, formatted backtrace).
    pub fn take_death(&mut self) -> (Vec<u8>, Vec<String>) {
        let msg = errors::take_pending_message(self.t);
        let trace = std::mem::take(&mut self.trace).format(&self.sh.prog.file);
        (msg, trace)
    }
}

/// Runs builtin `b` on its argument words `a`: its result word and whether it
/// is a reference (`None` for a builtin without a result).
fn call_builtin(t: &Thread, b: &Builtin, a: &[u64]) -> Result<Option<(u64, bool)>, RuntimeError> {
    use builtins as bi;
    let f = |x: f64| Some((x.to_bits(), false));
    let i = |v: i64| Some((v as u64, false));
    let r = |w: u64| Some((w, true));
    let x = |k: usize| f64::from_bits(a[k]);
    Ok(match b {
        Builtin::Print(ty) | Builtin::Write(ty) => {
            bi::print(t, kind_of(ty), a[0], matches!(b, Builtin::Print(_)));
            None
        }
        Builtin::ToStr(ty) => r(bi::to_str(t, kind_of(ty), a[0])?),
        Builtin::Fmt => r(bi::fmt(t, x(0), a[1] as i64)?),
        Builtin::LenStr | Builtin::LenArray => i(bi::len(a[0])?),
        Builtin::ToFloat => f(bi::to_float(a[0] as i64)),
        Builtin::ToInt => i(bi::to_int(x(0))?),
        Builtin::Sqrt => f(bi::sqrt(x(0))),
        Builtin::AbsInt => i(bi::abs_int(a[0] as i64)),
        Builtin::AbsFloat => f(bi::abs_float(x(0))),
        Builtin::Floor => f(bi::floor(x(0))),
        Builtin::MinInt => i(bi::min_int(a[0] as i64, a[1] as i64)),
        Builtin::MaxInt => i(bi::max_int(a[0] as i64, a[1] as i64)),
        Builtin::MinFloat => f(bi::min_float(x(0), x(1))),
        Builtin::MaxFloat => f(bi::max_float(x(0), x(1))),
        Builtin::Byte => i(bi::byte(a[0], a[1] as i64)?),
        Builtin::Chr => r(bi::chr(t, a[0] as i64)?),
        Builtin::Substr => r(bi::substr(t, a[0], a[1] as i64, a[2] as i64)?),
        Builtin::ParseInt => i(bi::parse_int(a[0])?),
        Builtin::Args => r(bi::args(t)?),
        Builtin::Clock => f(bi::clock()),
        Builtin::WriteBytes => i(bi::write_bytes(t, a[0], a[1])?),
        Builtin::Join => i(bi::join(t, a[0])?),
        Builtin::Gc => {
            bi::gc(t);
            None
        }
    })
}
