//! The reference interpreter: walks the checked program. Every value lives in the
//! thread's root stack ([`RootStack`]), so every reference it holds is a precise
//! GC root that moving collectors update.

use crate::lang::ir::*;
use crate::runtime::format::{float_repr, fmt_fixed};
use crate::runtime::object::{self as tobj, ElemKind};
use crate::runtime::print::{kind_of, write_word};
use crate::runtime::threads::{self, Outcome};
use crate::runtime::{monitor, RootStack, ToyVm};
use std::sync::OnceLock;
use vmkit::object::{array_len, read_u8, read_word, word_to_ref, write_word as wword};
use vmkit::{ObjectReference, Thread, TypeInfo};

/// An array or struct literal of more elements than this is allocated before
/// its elements are computed, and each is stored as soon as it is (in both
/// engines, so that both do things in the same order): computing them all
/// first keeps each one live across the computation of the next, and register
/// allocation over thousands of values live at once takes time quadratic in
/// their number (issue 21). A small literal's values stay in registers.
pub const ALLOC_FIRST: usize = 64;

/// Program-wide state shared by all interpreter threads.
pub struct Shared {
    /// The program.
    pub prog: Program,
    /// Struct descriptors, by struct index.
    pub struct_types: Vec<&'static TypeInfo>,
    /// Command-line arguments of the program.
    pub args: Vec<String>,
    /// The personality (globals live there).
    pub vm: &'static ToyVm,
    /// Stack size of spawned threads (besides their Toy stack).
    pub thread_stack: usize,
    /// The stack Toy calls may use on each thread (`--stack`).
    pub toy_stack: usize,
    /// Index of each string literal's interned constant, by the literal's address.
    pub const_ix: std::collections::HashMap<usize, usize>,
    /// The bytes of each string constant, by index.
    pub literals: Vec<std::sync::Arc<[u8]>>,
}

impl Shared {
    /// String constant `k` as a word: allocated on first use (a program that
    /// never uses its constants never needs the heap for them), then kept in the
    /// constant table, a root.
    pub fn constant(&self, t: &Thread, k: usize) -> Result<u64, vmkit::OutOfMemory> {
        let slot = &self.vm.consts.get().expect("constants")[k];
        let w = slot.load(std::sync::atomic::Ordering::Acquire);
        if w != 0 {
            return Ok(w);
        }
        let s = rword(tobj::new_str(t, &self.literals[k])?);
        // Another thread may have made it meanwhile (no safepoint between the
        // allocation and this exchange, so `s` cannot have moved): keep theirs.
        Ok(
            match slot.compare_exchange(
                0,
                s,
                std::sync::atomic::Ordering::AcqRel,
                std::sync::atomic::Ordering::Acquire,
            ) {
                Ok(_) => s,
                Err(theirs) => theirs,
            },
        )
    }

    /// For `print(c)` / `write(c)` of a string constant: its index and whether a
    /// newline follows. Both engines write such a constant's bytes directly, with
    /// no string object (so such a call never needs the heap).
    pub fn printed_constant(&self, b: &Builtin, args: &[Expr]) -> Option<(usize, bool)> {
        match (b, args) {
            (
                Builtin::Print(_) | Builtin::Write(_),
                [Expr {
                    kind: EK::Str(s), ..
                }],
            ) => Some((self.const_index(s), matches!(b, Builtin::Print(_)))),
            _ => None,
        }
    }

    /// The constant index of a string literal of the program.
    pub fn const_index(&self, s: &std::sync::Arc<[u8]>) -> usize {
        self.const_ix[&(s.as_ptr() as usize)]
    }
}

/// Collects the string literals of a program, in a fixed order.
pub fn string_literals(p: &Program) -> Vec<std::sync::Arc<[u8]>> {
    let mut out = Vec::new();
    let mut f = |n: Node<'_>| {
        if let Node::Expr(Expr {
            kind: EK::Str(s), ..
        }) = n
        {
            out.push(s.clone());
        }
    };
    for g in &p.globals {
        if let Some(x) = &g.init {
            crate::lang::ir::visit_expr(x, &mut f);
        }
    }
    for func in &p.funcs {
        crate::lang::ir::visit(&func.body, &mut f);
    }
    out
}

static SHARED: OnceLock<&'static Shared> = OnceLock::new();

/// The shared state installed by [`install`].
pub fn shared() -> &'static Shared {
    SHARED.get().expect("program not installed")
}

/// Installs the shared state (once per process).
pub fn install(s: Shared) -> &'static Shared {
    let s: &'static Shared = Box::leak(Box::new(s));
    let _ = SHARED.set(s);
    s
}

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
    pub trace: Vec<(String, u32)>,
}

fn f2w(x: f64) -> u64 {
    x.to_bits()
}
fn w2f(w: u64) -> f64 {
    f64::from_bits(w)
}
fn oref(w: u64) -> Option<ObjectReference> {
    word_to_ref(w as usize)
}
fn rword(o: ObjectReference) -> u64 {
    o.to_raw_address().as_usize() as u64
}

impl<'a> Interp<'a> {
    /// An interpreter on attached thread `t` (which has a root stack).
    pub fn new(sh: &'static Shared, t: &'a Thread) -> Interp<'a> {
        Interp {
            sh,
            t,
            frames: Vec::new(),
            trace: Vec::new(),
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

    /// Throws a runtime error with message `msg` (e.g. `IndexError: ...`).
    fn throw(&mut self, msg: &str) -> Unwind {
        let exc = match tobj::new_str(self.t, msg.as_bytes()) {
            Ok(s) => Some(s),
            Err(_) => self.sh.vm.new_exception_oom(),
        };
        self.raise(exc)
    }

    fn raise(&mut self, exc: Option<ObjectReference>) -> Unwind {
        self.t.set_pending_exception(exc);
        let names = &self.sh.prog.funcs;
        self.trace = self
            .frames
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
            .collect();
        Unwind
    }

    fn oom(&mut self) -> Unwind {
        let e = self.sh.vm.new_exception_oom();
        self.raise(e)
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
            let u = self.throw("StackOverflowError: recursion too deep");
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
                return match oref(w) {
                    Some(o) => Err(self.raise(Some(o))),
                    None => Err(self.throw("NullError: throw of null")),
                };
            }
            SK::Try(body, var, handler) => {
                let depth = self.rs().len();
                let frames = self.frames.len();
                match self.block(body) {
                    Ok(f) => return Ok(f),
                    Err(Unwind) => {
                        self.truncate(depth);
                        self.frames.truncate(frames);
                        let exc = self.t.take_pending_exception();
                        self.trace.clear();
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
                let Some(o) = oref(w) else {
                    return Err(self.throw("NullError: sync on null"));
                };
                self.local_set(*slot, w);
                monitor::enter(self.t, o);
                let r = self.block(body);
                let o = oref(self.local_get(*slot)).expect("monitor object");
                monitor::exit(self.t, o);
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
                    return Err(self.throw("NullError: field access on null"));
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
            self.t.write_ref(o, off, oref(w));
        } else {
            wword(o, off, w as usize);
        }
    }

    /// Checks `arr[i]`; returns the element's offset.
    fn check_index(&mut self, arr: u64, i: i64, line: u32) -> R<usize> {
        let Some(a) = oref(arr) else {
            self.set_line(line);
            return Err(self.throw("NullError: index into null"));
        };
        let n = array_len(a);
        if i < 0 || i as u64 >= n as u64 {
            self.set_line(line);
            return Err(self.throw(&format!(
                "IndexError: index {i} out of bounds for length {n}"
            )));
        }
        Ok(tobj::elem_offset(i as usize))
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
                if bi == 0 {
                    self.pop();
                    self.pop();
                    return Err(self.throw("ArithmeticError: division by zero"));
                }
                if op == Op::IDiv {
                    ai.wrapping_div(bi) as u64
                } else {
                    ai.wrapping_rem(bi) as u64
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
            Op::SEq | Op::SNe => {
                let eq = match (oref(a), oref(b)) {
                    (None, None) => true,
                    (Some(x), Some(y)) => tobj::str_bytes(x) == tobj::str_bytes(y),
                    _ => false,
                };
                (eq == (op == Op::SEq)) as u64
            }
            Op::Concat => {
                let (Some(x), Some(y)) = (oref(a), oref(b)) else {
                    self.pop();
                    self.pop();
                    return Err(self.throw("NullError: string concatenation with null"));
                };
                let (lx, ly) = (array_len(x), array_len(y));
                let s = match self.t.alloc_array(&tobj::STR, lx + ly) {
                    Ok(s) => s,
                    Err(_) => {
                        self.pop();
                        self.pop();
                        return Err(self.oom());
                    }
                };
                // The operands may have moved: re-read them from the stack.
                let x = oref(self.peek(1)).expect("lhs");
                let y = oref(self.peek(0)).expect("rhs");
                let mut bytes = Vec::with_capacity(lx + ly);
                bytes.extend_from_slice(tobj::str_bytes(x));
                bytes.extend_from_slice(tobj::str_bytes(y));
                tobj::fill_str(s, &bytes);
                self.pop();
                self.pop();
                self.push(rword(s), true);
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
                match self.sh.constant(self.t, k) {
                    Ok(w) => self.push(w, true),
                    Err(_) => return Err(self.oom()),
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
                    return Err(self.throw("NullError: field access on null"));
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
                let ti = self.sh.struct_types[*si];
                self.set_line(e.line);
                let o = match self.t.alloc(ti, ti.instance_size(0)) {
                    Ok(o) => o,
                    Err(_) => return Err(self.oom()),
                };
                self.push(rword(o), true);
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
                let ti = self.sh.struct_types[*si];
                self.set_line(e.line);
                let o = match self.t.alloc(ti, ti.instance_size(0)) {
                    Ok(o) => o,
                    Err(_) => {
                        self.truncate(self.rs().len() - fields.len());
                        return Err(self.oom());
                    }
                };
                let n = fields.len();
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
                if n < 0 {
                    return Err(self.throw(&format!("IndexError: negative array size {n}")));
                }
                let o = match self
                    .t
                    .alloc_array(tobj::array_type(kind_of(et)), n as usize)
                {
                    Ok(o) => o,
                    Err(_) => return Err(self.oom()),
                };
                self.push(rword(o), true);
            }
            EK::ArrayLit(et, elems) if elems.len() > ALLOC_FIRST => {
                // Allocated first, each element stored as it is computed (both
                // engines: see ALLOC_FIRST).
                self.set_line(e.line);
                let o = match self
                    .t
                    .alloc_array(tobj::array_type(kind_of(et)), elems.len())
                {
                    Ok(o) => o,
                    Err(_) => return Err(self.oom()),
                };
                self.push(rword(o), true);
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
                let o = match self.t.alloc_array(tobj::array_type(kind_of(et)), n) {
                    Ok(o) => o,
                    Err(_) => {
                        self.truncate(self.rs().len() - n);
                        return Err(self.oom());
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
                    threads::out_line(self.t, &self.sh.literals[k], nl);
                    return Ok(());
                }
                for a in args {
                    self.eval(a)?;
                }
                self.set_line(e.line);
                self.builtin(b, args.len())?;
            }
        }
        Ok(())
    }

    fn new_str_push(&mut self, bytes: &[u8]) -> R<()> {
        match tobj::new_str(self.t, bytes) {
            Ok(s) => {
                self.push(rword(s), true);
                Ok(())
            }
            Err(_) => Err(self.oom()),
        }
    }

    /// Runs a built-in whose `n` arguments are on the stack.
    fn builtin(&mut self, b: &Builtin, n: usize) -> R<()> {
        let arg = |s: &Self, i: usize| s.peek(n - 1 - i);
        match b {
            Builtin::Print(t) | Builtin::Write(t) => {
                let mut out = Vec::new();
                write_word(
                    &mut out,
                    if *t == Ty::Null {
                        ElemKind::Ref
                    } else {
                        kind_of(t)
                    },
                    arg(self, 0),
                    false,
                );
                if matches!(b, Builtin::Print(_)) {
                    out.push(b'\n');
                }
                self.pop();
                threads::out(self.t, &out);
            }
            Builtin::ToStr(t) => {
                let mut out = Vec::new();
                write_word(
                    &mut out,
                    if *t == Ty::Null {
                        ElemKind::Ref
                    } else {
                        kind_of(t)
                    },
                    arg(self, 0),
                    false,
                );
                self.pop();
                self.new_str_push(&out)?;
            }
            Builtin::Fmt => {
                let s = fmt_fixed(w2f(arg(self, 0)), arg(self, 1) as i64);
                self.truncate(self.rs().len() - 2);
                match s {
                    Ok(s) => self.new_str_push(s.as_bytes())?,
                    Err(m) => return Err(self.throw(&m)),
                }
            }
            Builtin::LenStr | Builtin::LenArray => {
                let w = self.pop();
                let Some(o) = oref(w) else {
                    return Err(self.throw("NullError: len of null"));
                };
                self.push(array_len(o) as u64, false);
            }
            Builtin::ToFloat => {
                let v = self.pop() as i64;
                self.push(f2w(v as f64), false);
            }
            Builtin::ToInt => {
                let x = w2f(self.pop());
                match float_to_int(x) {
                    Some(v) => self.push(v as u64, false),
                    None => {
                        return Err(self.throw(&format!(
                            "ValueError: cannot convert {} to int",
                            float_repr(x)
                        )))
                    }
                }
            }
            Builtin::Sqrt => {
                let x = w2f(self.pop());
                self.push(f2w(x.sqrt()), false);
            }
            Builtin::AbsInt => {
                let x = self.pop() as i64;
                self.push(x.wrapping_abs() as u64, false);
            }
            Builtin::AbsFloat => {
                let x = w2f(self.pop());
                self.push(f2w(x.abs()), false);
            }
            Builtin::Floor => {
                let x = w2f(self.pop());
                self.push(f2w(x.floor()), false);
            }
            Builtin::MinInt | Builtin::MaxInt => {
                let y = self.pop() as i64;
                let x = self.pop() as i64;
                let r = if matches!(b, Builtin::MinInt) {
                    x.min(y)
                } else {
                    x.max(y)
                };
                self.push(r as u64, false);
            }
            Builtin::MinFloat | Builtin::MaxFloat => {
                let y = w2f(self.pop());
                let x = w2f(self.pop());
                let r = if matches!(b, Builtin::MinFloat) {
                    fmin(x, y)
                } else {
                    fmax(x, y)
                };
                self.push(f2w(r), false);
            }
            Builtin::Byte => {
                let i = self.pop() as i64;
                let w = self.pop();
                let Some(s) = oref(w) else {
                    return Err(self.throw("NullError: byte of null"));
                };
                let n = array_len(s);
                if i < 0 || i as u64 >= n as u64 {
                    return Err(self.throw(&format!(
                        "IndexError: index {i} out of bounds for length {n}"
                    )));
                }
                self.push(
                    read_u8(s, vmkit::object::ARRAY_DATA_OFFSET + i as usize) as u64,
                    false,
                );
            }
            Builtin::Chr => {
                let v = self.pop() as i64;
                if !(0..=255).contains(&v) {
                    return Err(
                        self.throw(&format!("ValueError: byte value {v} out of range 0..255"))
                    );
                }
                self.new_str_push(&[v as u8])?;
            }
            Builtin::Substr => {
                let to = self.pop() as i64;
                let from = self.pop() as i64;
                let w = self.pop();
                let Some(s) = oref(w) else {
                    return Err(self.throw("NullError: substr of null"));
                };
                let n = array_len(s) as i64;
                if from < 0 || to > n || from > to {
                    return Err(self.throw(&format!(
                        "IndexError: substring {from}..{to} out of bounds for length {n}"
                    )));
                }
                let bytes = tobj::str_bytes(s)[from as usize..to as usize].to_vec();
                self.new_str_push(&bytes)?;
            }
            Builtin::ParseInt => {
                let w = self.pop();
                let Some(s) = oref(w) else {
                    return Err(self.throw("NullError: parse_int of null"));
                };
                let bytes = tobj::str_bytes(s).to_vec();
                match parse_int(&bytes) {
                    Some(v) => self.push(v as u64, false),
                    None => {
                        let shown = String::from_utf8_lossy(&bytes).into_owned();
                        return Err(self.throw(&format!("ValueError: invalid integer '{shown}'")));
                    }
                }
            }
            Builtin::Args => {
                let args = self.sh.args.clone();
                let a = match self.t.alloc_array(&tobj::ARR_STR, args.len()) {
                    Ok(a) => a,
                    Err(_) => return Err(self.oom()),
                };
                self.push(rword(a), true);
                for (i, s) in args.iter().enumerate() {
                    self.new_str_push(s.as_bytes())?;
                    let so = oref(self.pop());
                    let a = oref(self.peek(0)).expect("args array");
                    self.t.write_ref(a, tobj::elem_offset(i), so);
                }
            }
            Builtin::Clock => self.push(f2w(crate::runtime::clock()), false),
            Builtin::WriteBytes => {
                let dw = self.peek(0);
                let pw = self.peek(1);
                let (Some(p), Some(d)) = (oref(pw), oref(dw)) else {
                    self.truncate(self.rs().len() - 2);
                    return Err(self.throw("NullError: write_bytes with null"));
                };
                let (path, shown) = crate::runtime::file_path(tobj::str_bytes(p));
                let data: Vec<u8> = (0..array_len(d))
                    .map(|i| read_word(d, tobj::elem_offset(i)) as u8)
                    .collect();
                self.truncate(self.rs().len() - 2);
                let r = self.t.native(|| std::fs::write(&path, &data));
                match r {
                    Ok(()) => self.push(data.len() as u64, false),
                    Err(err) => {
                        return Err(self.throw(&format!("IOError: cannot write '{shown}': {err}")))
                    }
                }
            }
            Builtin::Join => {
                let w = self.pop();
                let Some(th) = oref(w) else {
                    return Err(self.throw("NullError: join of null"));
                };
                let ix = read_word(th, tobj::field_offset(0));
                match self.t.native(|| threads::join(ix)) {
                    Outcome::Value(v) => self.push(v as u64, false),
                    Outcome::Died(msg, _) => {
                        let s = match tobj::new_str(self.t, &msg) {
                            Ok(s) => Some(s),
                            Err(_) => self.sh.vm.new_exception_oom(),
                        };
                        return Err(self.raise(s));
                    }
                }
            }
            Builtin::Gc => self.t.collect(),
        }
        Ok(())
    }

    /// `spawn f(args)` with the `n` arguments on the stack; pushes the thread.
    fn spawn(&mut self, f: usize, n: usize) -> R<()> {
        let th = match self.t.alloc(&tobj::THREAD, tobj::THREAD.instance_size(0)) {
            Ok(o) => o,
            Err(_) => {
                self.truncate(self.rs().len() - n);
                return Err(self.oom());
            }
        };
        let idx = threads::new_record();
        wword(th, tobj::field_offset(0), idx);
        let def = &self.sh.prog.funcs[f];
        let args: Vec<(u64, bool)> = (0..n)
            .map(|i| (self.peek(n - 1 - i), def.locals[i].is_ref()))
            .collect();
        self.truncate(self.rs().len() - n);
        self.push(rword(th), true);
        if let Err(m) = crate::engine::spawn_thread(self.sh, self.t, f, args, idx, Engine::Interp) {
            self.pop();
            return Err(self.throw(&m));
        }
        Ok(())
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
        let msg = self
            .t
            .take_pending_exception()
            .map(|o| tobj::str_bytes(o).to_vec())
            .unwrap_or_default();
        let trace = threads::format_trace(&self.sh.prog.file, &std::mem::take(&mut self.trace));
        (msg, trace)
    }
}

/// Which engine runs a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// the reference interpreter
    Interp,
    /// the JIT
    Jit,
}

/// `int(x)`: truncation toward zero; `None` for NaN or out of range.
pub fn float_to_int(x: f64) -> Option<i64> {
    if x.is_nan() || !(-9223372036854775808.0..9223372036854775808.0).contains(&x) {
        None
    } else {
        Some(x.trunc() as i64)
    }
}

/// `parse_int(s)`: optional sign and decimal digits, in range.
pub fn parse_int(b: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(b).ok()?;
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// `min` on floats as C's `fmin`-like: NaN-propagating like `a < b ? a : b`.
pub fn fmin(a: f64, b: f64) -> f64 {
    if a < b || a.is_nan() {
        a
    } else {
        b
    }
}

/// `max` on floats.
pub fn fmax(a: f64, b: f64) -> f64 {
    if a > b || a.is_nan() {
        a
    } else {
        b
    }
}
