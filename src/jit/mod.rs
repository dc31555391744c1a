//! The JIT: a materializer over `cranelift-jit` (VMKit's `GVMaterializer`).
//!
//! A personality [declares](Materializer::declare) functions with a signature and a
//! body builder; the materializer compiles each one on its first call through a
//! stub (or eagerly with [`Materializer::compile`]), and afterwards calls go
//! straight to the code through the function's table slot. Reference-typed values
//! are declared to need stack maps ([`FnCtx::declare_ref`], [`FnCtx::var`] with [`ValType::Ref`]);
//! after compiling, the materializer records each call site's stack map, so the
//! collector finds, and updates, every live reference in JIT frames.
//!
//! Conventions of JIT code built here:
//! - every function's first parameter is the current [`Thread`] pointer;
//! - runtime functions that may collect, throw or walk the stack are registered
//!   with `may_gc` and called through an exit trampoline that records the frame
//!   anchor for the walker ([`frames`]);
//! - exceptions are a pending-exception word in the thread
//!   ([`Thread::PENDING_EXCEPTION_OFFSET`]), checked after calls that may throw.

pub mod codemap;
pub mod frames;

use crate::gc::CodeFacts;
use crate::object::{self, TypeInfo, HEADER_SIZE};
use crate::thread::{Handle, Thread};
use crate::ErrorKind;
use codemap::{CodeInfo, CodeKind};
use cranelift_codegen::entity::EntityRef;
use cranelift_codegen::ir::{self, types, AbiParam, InstBuilder, MemFlagsData, Signature, Value};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::Module;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub use frames::{backtrace, backtrace_bounded, BoundedBacktrace, FrameInfo};

/// The Cranelift crates the materializer builds with, re-exported so that a
/// personality emits IR with exactly these versions (`vmkit::jit::cranelift_codegen::ir`,
/// `vmkit::jit::cranelift_frontend::Variable`) instead of pinning its own.
pub use cranelift_codegen;
pub use cranelift_frontend;

/// Machine type of a JIT value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValType {
    /// 64-bit integer (also used for booleans and raw words).
    I64,
    /// IEEE double.
    F64,
    /// A (nullable) heap reference: an `i64` that needs stack maps.
    Ref,
}

impl ValType {
    /// The Cranelift type.
    pub fn clif(self) -> ir::Type {
        match self {
            ValType::I64 | ValType::Ref => types::I64,
            ValType::F64 => types::F64,
        }
    }
}

/// Parameters and results of a function, not counting the thread parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Sig {
    /// Parameter types.
    pub params: Vec<ValType>,
    /// Result types.
    pub results: Vec<ValType>,
}

impl Sig {
    /// A signature from parameter and result types.
    pub fn new(params: &[ValType], results: &[ValType]) -> Sig {
        Sig {
            params: params.to_vec(),
            results: results.to_vec(),
        }
    }
}

/// A function known to the materializer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FuncId(pub u32);

/// A runtime (host) function JIT code may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HostId(pub u32);

/// Builds the body of a function. Called once, when the function is compiled.
pub type BodyBuilder = Box<dyn Fn(&mut FnCtx<'_, '_>) -> Result<(), String> + Send + Sync>;

/// Materializer settings.
#[derive(Debug, Clone)]
pub struct JitOptions {
    /// Cranelift optimization level: `"none"`, `"speed"` or `"speed_and_size"`.
    pub opt_level: &'static str,
    /// Run the Cranelift verifier on every function.
    pub verify: bool,
    /// Print the IR of every compiled function to stderr.
    pub dump_clif: bool,
    /// Print the machine code (Cranelift's disassembly) of every compiled function
    /// to stderr.
    pub dump_asm: bool,
    /// Functions of more CLIF instructions than this are compiled with
    /// `opt_level` `none`: Cranelift's e-graph pass places each pure value at
    /// its first use, so in a long straight-line function (`total += f(k);`
    /// thousands of times) every call's result stays live until the end, and
    /// register allocation is quadratic in the function's size (issue 21).
    /// Without the pass, compile time and memory are linear in it.
    pub big_function_insts: usize,
}

impl Default for JitOptions {
    fn default() -> Self {
        JitOptions {
            opt_level: "speed",
            verify: cfg!(debug_assertions),
            dump_clif: false,
            dump_asm: false,
            big_function_insts: 5000,
        }
    }
}

fn inner_count(st: &mut JitStats) -> u64 {
    st.code_objects += 1;
    st.code_objects
}

/// Seals every block of a finished function body, latest-created first. A loop
/// header is created before its body, so sealing it after the body lets the SSA
/// builder drop most block parameters of variables the loop does not change
/// (sealing in creation order keeps one per variable used in the loop). Measured
/// against sealing in reverse post-order with headers last, which leaves the
/// fewest parameters, this order was 3-7% faster on three of four loop
/// benchmarks: a reference that stays a block parameter is reloaded once per
/// iteration instead of at every use (see `bench/RESULTS.md`).
fn seal_in_order(b: &mut FunctionBuilder<'_>) {
    let n = b.func.dfg.num_blocks();
    for i in (0..n).rev() {
        b.seal_block(ir::Block::new(i));
    }
    b.seal_all_blocks();
}

/// Arrays of at most this many elements are allocated inline by
/// [`FnCtx::alloc_array`].
pub const INLINE_ARRAY_MAX: usize = 512;

/// Why a function could not be compiled.
#[derive(Debug, Clone)]
pub struct CompileError(pub String);

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CompileError {}

/// Compilation statistics.
#[derive(Debug, Clone, Copy, Default)]
pub struct JitStats {
    /// Functions compiled (stubs and trampolines not counted).
    pub functions: u64,
    /// Pieces of code generated: functions, stubs and trampolines.
    pub code_objects: u64,
    /// CLIF instructions compiled.
    pub clif_insts: u64,
    /// Bytes of machine code.
    pub code_bytes: u64,
    /// Time spent compiling.
    pub compile_time: Duration,
}

struct FuncEntry {
    name: String,
    file: String,
    body: Option<BodyBuilder>,
    /// The code every call goes through: the stub, then the compiled code.
    slot: &'static AtomicUsize,
    compiled: bool,
    /// Source line given to the prologue (stack-limit check and entry poll).
    line: u32,
}

struct HostEntry {
    name: String,
    sig: Sig,
    ptr: usize,
    may_gc: bool,
    /// The exit trampoline of a `may_gc` function, once built: the substrate's
    /// own at start-up, a personality's when the first function calling it is
    /// compiled.
    trampoline: Option<usize>,
}

struct Inner {
    module: JITModule,
    ctx: Context,
    fctx: FunctionBuilderContext,
    funcs: Vec<FuncEntry>,
    hosts: Vec<HostEntry>,
    entries: HashMap<Sig, usize>,
    compile_host: Option<HostId>,
    /// The safepoint's exit trampoline with the `PreserveAll` convention.
    poll_preserving: usize,
    overflow_host: Option<HostId>,
    alloc_host: Option<HostId>,
    barrier_host: Option<HostId>,
    /// The ISA for functions over `JitOptions::big_function_insts` (no e-graph
    /// optimization), built when the first such function is compiled.
    big_isa: Option<cranelift_codegen::isa::OwnedTargetIsa>,
    stats: JitStats,
    /// Trampolines and stubs defined but not finalized yet (see `flush`).
    pending: Vec<Pending>,
}

/// Where the address of a piece of code goes once it is finalized.
enum Dest {
    Host(usize),
    Slot(&'static AtomicUsize),
}

/// A trampoline or stub waiting for `Materializer::flush`.
struct Pending {
    id: cranelift_module::FuncId,
    info: CodeInfo,
    dest: Dest,
}

/// The JIT compiler of a VM: one per process is typical, shared by all threads.
pub struct Materializer {
    inner: Mutex<Inner>,
    /// Each function's signature, by `FuncId`: kept outside `inner` so that a
    /// thread can read it while another holds `inner` for a whole compilation.
    sigs: RwLock<Vec<Sig>>,
    options: JitOptions,
    /// What code needs of the plan, handed in when the materializer is built.
    plan: CodeFacts,
    ptr: ir::Type,
    compiled_insts: AtomicU64,
}

/// The host ISA with the materializer's settings at `opt_level`.
fn build_isa(
    options: &JitOptions,
    opt_level: &str,
) -> Result<cranelift_codegen::isa::OwnedTargetIsa, CompileError> {
    let mut flags = settings::builder();
    let set = |f: &mut settings::Builder, k: &str, v: &str| {
        f.set(k, v)
            .map_err(|e| CompileError(format!("cranelift setting {k}={v}: {e}")))
    };
    set(&mut flags, "opt_level", opt_level)?;
    set(&mut flags, "preserve_frame_pointers", "true")?;
    set(
        &mut flags,
        "enable_verifier",
        if options.verify { "true" } else { "false" },
    )?;
    set(&mut flags, "is_pic", "false")?;
    set(&mut flags, "use_colocated_libcalls", "false")?;
    cranelift_native::builder()
        .map_err(|e| CompileError(format!("host machine not supported: {e}")))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| CompileError(format!("cannot build the ISA: {e}")))
}

fn clif_sig(call_conv: cranelift_codegen::isa::CallConv, sig: &Sig) -> Signature {
    let mut s = Signature::new(call_conv);
    s.params.push(AbiParam::new(types::I64));
    s.params
        .extend(sig.params.iter().map(|t| AbiParam::new(t.clif())));
    s.returns
        .extend(sig.results.iter().map(|t| AbiParam::new(t.clif())));
    s
}

impl Materializer {
    /// Creates a materializer for the host machine and registers the substrate's own
    /// runtime functions (safepoint, stack overflow, allocation, write barrier, lazy
    /// compilation).
    ///
    /// What compiled code needs of the collector (write barrier, inline allocation)
    /// is taken from the plan now ([`crate::gc::code_facts`]): the substrate must be
    /// initialized ([`crate::vm::init`]). [`Materializer::with_plan`] takes it from
    /// the caller.
    pub fn new(options: JitOptions) -> Result<&'static Materializer, CompileError> {
        if !crate::gc::is_initialized() {
            return Err(CompileError(
                "vmkit is not initialized: call vmkit::vm::init before building a materializer"
                    .into(),
            ));
        }
        Self::with_plan(options, crate::gc::code_facts())
    }

    /// A materializer for code that runs under a plan with the facts `plan`.
    pub fn with_plan(
        options: JitOptions,
        plan: CodeFacts,
    ) -> Result<&'static Materializer, CompileError> {
        crate::thread::manager::set_frame_scanner(frames::scan_frames);
        let isa = build_isa(&options, options.opt_level)?;
        let ptr = isa.pointer_type();
        let module = JITModule::new(JITBuilder::with_isa(
            isa,
            cranelift_module::default_libcall_names(),
        ));
        let ctx = module.make_context();
        let m: &'static Materializer = Box::leak(Box::new(Materializer {
            inner: Mutex::new(Inner {
                module,
                ctx,
                fctx: FunctionBuilderContext::new(),
                funcs: Vec::new(),
                hosts: Vec::new(),
                entries: HashMap::new(),
                compile_host: None,
                poll_preserving: 0,
                overflow_host: None,
                alloc_host: None,
                barrier_host: None,
                big_isa: None,
                stats: JitStats::default(),
                pending: Vec::new(),
            }),
            sigs: RwLock::new(Vec::new()),
            options,
            plan,
            ptr,
            compiled_insts: AtomicU64::new(0),
        }));
        let compile = m.register_host(
            "vmkit_compile",
            Sig::new(&[ValType::I64, ValType::I64], &[ValType::I64]),
            rt_compile as *const u8,
            true,
        )?;
        let overflow = m.register_host(
            "vmkit_stack_check",
            Sig::new(&[ValType::I64], &[ValType::I64]),
            rt_stack_check as *const u8,
            true,
        )?;
        let alloc = m.register_host(
            "vmkit_alloc",
            Sig::new(&[ValType::I64, ValType::I64], &[ValType::Ref]),
            rt_alloc as *const u8,
            true,
        )?;
        let barrier = m.register_host(
            "vmkit_write_barrier",
            Sig::new(&[ValType::Ref, ValType::I64, ValType::Ref], &[]),
            rt_write_barrier as *const u8,
            false,
        )?;
        {
            let mut g = m.inner.lock();
            // The substrate's own trampolines are built now: stubs, prologues and
            // allocation sites use them by address.
            for h in [compile, overflow, alloc] {
                m.queue_trampoline(&mut g, h.0 as usize)?;
            }
            g.compile_host = Some(compile);
            g.poll_preserving = m.build_exit_trampoline_cc(
                &mut g,
                "vmkit_safepoint (preserve_all)",
                &Sig::new(&[], &[]),
                rt_safepoint as *const u8 as usize,
                cranelift_codegen::isa::CallConv::PreserveAll,
            )?;
            g.overflow_host = Some(overflow);
            g.alloc_host = Some(alloc);
            g.barrier_host = Some(barrier);
        }
        Ok(m)
    }

    /// The options this materializer was built with.
    pub fn options(&self) -> &JitOptions {
        &self.options
    }

    /// Registers a runtime function JIT code may call. `ptr` must be an
    /// `extern "C"` function taking the thread pointer first, then `sig`'s
    /// parameters, and returning `sig`'s results (at most one, or two integers).
    /// With `may_gc`, calls go through an exit trampoline so the function may collect,
    /// throw, walk the stack or block; reference arguments are then only valid until
    /// it allocates (root them in handles first).
    ///
    /// Host functions must not unwind: wrap their bodies in [`host_guard`].
    pub fn register_host(
        &self,
        name: &str,
        sig: Sig,
        ptr: *const u8,
        may_gc: bool,
    ) -> Result<HostId, CompileError> {
        let mut g = self.inner.lock();
        let idx = g.hosts.len();
        g.hosts.push(HostEntry {
            name: name.to_owned(),
            sig,
            ptr: ptr as usize,
            may_gc,
            trampoline: None,
        });
        Ok(HostId(idx as u32))
    }

    /// Defines the exit trampoline of host `idx` (finalized by the next `flush`).
    fn queue_trampoline(&self, g: &mut Inner, idx: usize) -> Result<(), CompileError> {
        let (name, sig, ptr) = {
            let e = &g.hosts[idx];
            (e.name.clone(), e.sig.clone(), e.ptr)
        };
        let cc = Self::call_conv(g);
        self.exit_trampoline_body(g, &sig, ptr, cc);
        self.finish_later(
            g,
            &format!("exit trampoline {name}"),
            CodeKind::Trampoline,
            Dest::Host(idx),
        )
    }

    /// Builds the trampolines of the hosts a function just built calls without
    /// one yet, and patches their addresses into its call sites (the
    /// `iconst 0` placeholders of [`FnCtx::call_host`]). The function waits in
    /// `g.ctx` meanwhile.
    fn patch_lazy_hosts(
        &self,
        g: &mut Inner,
        sites: &[(ir::Inst, usize)],
    ) -> Result<(), CompileError> {
        let func = std::mem::replace(&mut g.ctx.func, ir::Function::new());
        let mut queued = Vec::new();
        for &(_, h) in sites {
            if g.hosts[h].trampoline.is_none() && !queued.contains(&h) {
                self.queue_trampoline(g, h)?;
                queued.push(h);
            }
        }
        self.flush(g)?;
        g.ctx.func = func;
        for &(inst, h) in sites {
            let addr = g.hosts[h].trampoline.expect("trampoline just built");
            g.ctx.func.replace(inst).iconst(self.ptr, addr as i64);
        }
        Ok(())
    }

    /// Declares a function; it is compiled lazily on its first call.
    pub fn declare(
        &self,
        name: &str,
        file: &str,
        sig: Sig,
        body: BodyBuilder,
    ) -> Result<FuncId, CompileError> {
        let mut g = self.inner.lock();
        let id = FuncId(g.funcs.len() as u32);
        let slot: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
        self.sigs.write().push(sig);
        g.funcs.push(FuncEntry {
            name: name.to_owned(),
            file: file.to_owned(),
            body: Some(body),
            slot,
            compiled: false,
            line: 0,
        });
        self.build_stub(&mut g, id)?;
        Ok(id)
    }

    /// Sets the source line reported for `f`'s prologue (its stack-limit check and
    /// entry safepoint), usually the line of its declaration.
    pub fn set_decl_line(&self, f: FuncId, line: u32) {
        self.inner.lock().funcs[f.0 as usize].line = line;
    }

    /// Compiles `f` now if it is not compiled yet.
    pub fn compile(&self, f: FuncId) -> Result<(), CompileError> {
        let mut g = self.inner.lock();
        self.compile_locked(&mut g, f).map(|_| ())
    }

    /// Whether `f` has been compiled.
    pub fn is_compiled(&self, f: FuncId) -> bool {
        self.inner.lock().funcs[f.0 as usize].compiled
    }

    /// The current entry address of `f` (its stub until compiled).
    pub fn entry_address(&self, f: FuncId) -> usize {
        let mut g = self.inner.lock();
        self.flush(&mut g).expect("cannot finalize stubs");
        g.funcs[f.0 as usize].slot.load(Ordering::SeqCst)
    }

    /// Compilation statistics so far.
    pub fn stats(&self) -> JitStats {
        self.inner.lock().stats
    }

    /// Calls `f` from Rust on `thread` (which must be the current, managed thread)
    /// with `args` as raw 64-bit words (floats as their bits, references as
    /// values of the personality's encoding); returns the results the same way.
    ///
    /// # Safety
    /// Every argument is a word of the type `f`'s signature declares: a
    /// [`ValType::Ref`] argument is 0 or a live object's reference (as the
    /// compiled code will load its fields without checking), taken after the last
    /// safepoint (the call keeps it in a handle from here on). The compiled body
    /// must itself be sound for such arguments.
    pub unsafe fn invoke(&self, thread: &Thread, f: FuncId, args: &[u64]) -> Vec<u64> {
        let prepare = |g: &mut Inner| -> (usize, usize, usize) {
            self.flush(g).expect("cannot finalize stubs");
            let fe = &g.funcs[f.0 as usize];
            let sig = self.sigs.read()[f.0 as usize].clone();
            assert_eq!(
                sig.params.len(),
                args.len(),
                "wrong argument count for {}",
                fe.name
            );
            let code = fe.slot.load(Ordering::SeqCst);
            let entry = match g.entries.get(&sig) {
                Some(&e) => e,
                None => {
                    let e = self
                        .build_entry_trampoline(g, &sig)
                        .expect("cannot build an entry trampoline");
                    g.entries.insert(sig.clone(), e);
                    e
                }
            };
            (entry, code, sig.results.len())
        };
        let (entry, code, nres, args) = match self.inner.try_lock() {
            // No safepoint between the caller's reading `args` and the call.
            Some(mut g) => {
                let (e, c, n) = prepare(&mut g);
                (e, c, n, args.to_vec())
            }
            // Another thread holds the lock, maybe for a whole compilation: wait
            // for it in native state, so that a collection does not wait for this
            // thread, with the reference arguments in handles (it may move them).
            None => {
                let is_ref: Vec<bool> = self.sigs.read()[f.0 as usize]
                    .params
                    .iter()
                    .map(|t| *t == ValType::Ref)
                    .collect();
                let scope = thread.scope();
                let handles: Vec<Option<Handle<'_>>> = args
                    .iter()
                    .zip(&is_ref)
                    .map(|(&w, &r)| r.then(|| scope.handle(object::word_to_ref(w as usize))))
                    .collect();
                let (e, c, n) = thread.native(|| prepare(&mut self.inner.lock()));
                let args = args
                    .iter()
                    .zip(&handles)
                    .map(|(&w, h)| h.map_or(w, |h| object::ref_to_word(h.get()) as u64))
                    .collect();
                (e, c, n, args)
            }
        };
        let mut results = vec![0u64; nres.max(1)];
        let saved = thread.frame_anchor[0].swap(0, Ordering::SeqCst);
        thread.jit_segments().push(saved);
        type Entry = unsafe extern "C" fn(*const Thread, usize, *const u64, *mut u64);
        // SAFETY: `entry` is the entry trampoline for this signature: it reads
        // exactly `args.len()` words, calls `code` (a function or its stub of the
        // same signature) and writes `nres` words into `results`.
        unsafe {
            let entry: Entry = std::mem::transmute::<usize, Entry>(entry);
            entry(thread, code, args.as_ptr(), results.as_mut_ptr());
        }
        let saved = thread.jit_segments().pop().unwrap_or(0);
        thread.frame_anchor[0].store(saved, Ordering::SeqCst);
        results.truncate(nres);
        results
    }

    fn call_conv(g: &Inner) -> cranelift_codegen::isa::CallConv {
        g.module.isa().default_call_conv()
    }

    /// Compiles `ctx.func`, registers it in the code map, returns its address.
    fn finish(
        &self,
        g: &mut Inner,
        name: &str,
        file: &str,
        kind: CodeKind,
        positions: (Vec<(u32, u32)>, Vec<codemap::InlineScope>),
        declared: Option<cranelift_module::FuncId>,
    ) -> Result<usize, CompileError> {
        let (id, mut info) = self.define(g, name, file, kind, positions, declared)?;
        // Anything deferred is made executable in the same step.
        self.finalize_all(g)?;
        info.start = g.module.get_finalized_function(id) as usize;
        let addr = info.start;
        codemap::register(info);
        Ok(addr)
    }

    /// Like `finish`, but the code is only made executable (one `mprotect` for the
    /// lot) by the next `flush`, which stores its address in `dest`. Start-up
    /// defines dozens of trampolines and stubs: finalizing each on its own costs a
    /// system call and a TLB shootdown per piece while other threads run.
    fn finish_later(
        &self,
        g: &mut Inner,
        name: &str,
        kind: CodeKind,
        dest: Dest,
    ) -> Result<(), CompileError> {
        let (id, info) = self.define(g, name, "", kind, (Vec::new(), Vec::new()), None)?;
        g.pending.push(Pending { id, info, dest });
        Ok(())
    }

    /// Finalizes the deferred code and stores each address where it belongs.
    fn flush(&self, g: &mut Inner) -> Result<(), CompileError> {
        if g.pending.is_empty() {
            return Ok(());
        }
        self.finalize_all(g)
    }

    /// Finalizes everything defined so far, deferred code included.
    fn finalize_all(&self, g: &mut Inner) -> Result<(), CompileError> {
        g.module
            .finalize_definitions()
            .map_err(|e| CompileError(format!("finalizing trampolines: {e}")))?;
        for mut p in std::mem::take(&mut g.pending) {
            let addr = g.module.get_finalized_function(p.id) as usize;
            p.info.start = addr;
            codemap::register(p.info);
            match p.dest {
                Dest::Host(i) => g.hosts[i].trampoline = Some(addr),
                Dest::Slot(slot) => slot.store(addr, Ordering::SeqCst),
            }
        }
        Ok(())
    }

    /// Compiles `ctx.func` into the module (not finalized): its id and code-map
    /// entry (without its address).
    fn define(
        &self,
        g: &mut Inner,
        name: &str,
        file: &str,
        kind: CodeKind,
        (locs, scopes): (Vec<(u32, u32)>, Vec<codemap::InlineScope>),
        declared: Option<cranelift_module::FuncId>,
    ) -> Result<(cranelift_module::FuncId, CodeInfo), CompileError> {
        let start = Instant::now();
        let insts = g.ctx.func.dfg.num_insts() as u64;
        if self.options.dump_clif && kind == CodeKind::Function {
            eprintln!("; function {name} ({file})\n{}", g.ctx.func.display());
        }
        let id = match declared {
            Some(id) => id,
            None => self.declare_code(g, name)?,
        };
        let inner = &mut *g;
        let dump_asm = self.options.dump_asm && kind == CodeKind::Function;
        inner.ctx.set_disasm(dump_asm);
        if insts as usize > self.options.big_function_insts {
            reload_thread_pointer(&mut inner.ctx.func);
            if inner.big_isa.is_none() {
                inner.big_isa = Some(build_isa(&self.options, "none")?);
            }
            let big_isa = inner.big_isa.as_deref().expect("built above");
            // As `define_function`, with the ISA that skips the e-graph pass.
            inner
                .ctx
                .compile(
                    big_isa,
                    &mut cranelift_codegen::control::ControlPlane::default(),
                )
                .map_err(|e| CompileError(format!("{name}: {:?}", e.inner)))?;
            let res = inner.ctx.compiled_code().expect("compiled");
            let align = (res.buffer.alignment as u64)
                .max(big_isa.function_alignment().minimum as u64)
                .max(big_isa.symbol_alignment());
            let relocs: Vec<_> = res
                .buffer
                .relocs()
                .iter()
                .map(|r| cranelift_module::ModuleReloc::from_mach_reloc(r, &inner.ctx.func, id))
                .collect();
            let bytes = res.buffer.data().to_vec();
            inner
                .module
                .define_function_bytes(id, align, &bytes, &relocs)
                .map_err(|e| CompileError(format!("{name}: {e:?}")))?;
        } else {
            inner
                .module
                .define_function(id, &mut inner.ctx)
                .map_err(|e| CompileError(format!("{name}: {e:?}")))?;
        }
        let (stack_maps, lines, len) = {
            let code = inner.ctx.compiled_code().expect("compiled");
            if dump_asm {
                if let Some(asm) = &code.vcode {
                    eprintln!("; machine code of {name} ({file})\n{asm}");
                }
            }
            let mut maps: HashMap<u32, Vec<u32>> = HashMap::new();
            for (off, _span, map) in code.buffer.user_stack_maps() {
                maps.insert(*off, map.entries().map(|(_, o)| o).collect());
            }
            let lines: Vec<(u32, u32, u32, u32)> = code
                .buffer
                .get_srclocs_sorted()
                .iter()
                .map(|l| {
                    (
                        l.start,
                        l.end,
                        if l.loc.is_default() {
                            u32::MAX
                        } else {
                            l.loc.bits()
                        },
                    )
                })
                .filter(|l| l.2 != u32::MAX)
                .map(|(s, e, ix)| {
                    let (scope, line) = locs.get(ix as usize).copied().unwrap_or((0, 0));
                    (s, e, scope, line)
                })
                .collect();
            (maps, lines, code.buffer.data().len())
        };
        inner.module.clear_context(&mut inner.ctx);
        let info = CodeInfo {
            start: 0,
            len,
            name: name.to_owned(),
            file: file.to_owned(),
            kind,
            stack_maps,
            lines,
            scopes,
        };
        if kind == CodeKind::Function {
            let st = &mut inner.stats;
            st.functions += 1;
            st.clif_insts += insts;
            st.code_bytes += len as u64;
            st.compile_time += start.elapsed();
            self.compiled_insts.fetch_add(insts, Ordering::Relaxed);
        }
        Ok((id, info))
    }

    /// Declares the function being built in `g.ctx` in the module. Named
    /// (uniquely), so that cranelift-jit's perf map (written when running under
    /// `perf record`) names the code.
    fn declare_code(
        &self,
        g: &mut Inner,
        name: &str,
    ) -> Result<cranelift_module::FuncId, CompileError> {
        let sig = g.ctx.func.signature.clone();
        g.module
            .declare_function(
                &format!("{name}#{}", inner_count(&mut g.stats)),
                cranelift_module::Linkage::Local,
                &sig,
            )
            .map_err(|e| CompileError(format!("{name}: {e}")))
    }

    fn compile_locked(&self, g: &mut Inner, f: FuncId) -> Result<usize, CompileError> {
        // The helpers below read trampoline addresses.
        self.flush(g)?;
        let fe = &mut g.funcs[f.0 as usize];
        if fe.compiled {
            return Ok(fe.slot.load(Ordering::SeqCst));
        }
        let body = fe.body.take().expect("function body already taken");
        let (name, file, line) = (fe.name.clone(), fe.file.clone(), fe.line);
        let sig = self.sigs.read()[f.0 as usize].clone();
        let cc = Self::call_conv(g);
        g.ctx.func.signature = clif_sig(cc, &sig);
        let helpers = self.helpers(g);
        // Declared before its body is built, so that its calls to itself are
        // direct (`call rel32`, resolved when the module is finalized) rather
        // than through its table slot.
        let declared = self.declare_code(g, &name)?;
        let self_ref = g.module.declare_func_in_func(declared, &mut g.ctx.func);
        let result = {
            let inner = &mut *g;
            let frontend_config = inner.module.isa().frontend_config();
            let mut b = FunctionBuilder::new(&mut inner.ctx.func, &mut inner.fctx);
            // Each stack-map spill slot is its own alias region, so the spills
            // (stores) of one reference do not count as writes to the heap or
            // to the other slots: Cranelift's redundant-load elimination then
            // merges the reloads of a reference between two safepoints, and the
            // field loads through them. Calls still clobber every region, so
            // nothing is reused across a safepoint, where objects may move.
            b.make_stack_map_alias_region(Box::new(|regions, _ty, slot, _offset| {
                Some(regions.insert(ir::AliasRegionData {
                    user_id: slot.as_u32(),
                    description: "stack map slot".into(),
                }))
            }));
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let params = b.block_params(entry).to_vec();
            let thread = params[0];
            for (v, t) in params[1..].iter().zip(&sig.params) {
                if *t == ValType::Ref {
                    b.declare_value_needs_stack_map(*v);
                }
            }
            let mut cx = FnCtx {
                b,
                thread,
                params: params[1..].to_vec(),
                helpers,
                ptr: self.ptr,
                cc,
                results: sig.results.clone(),
                inl: InlineState::default(),
                safepoints: 0,
                checks: Vec::new(),
                lazy_hosts: Vec::new(),
                self_call: (f, self_ref),
                _m: std::marker::PhantomData,
            };
            if line != 0 {
                cx.set_line(line);
            }
            cx.prologue();
            let r = body(&mut cx);
            if r.is_ok() {
                if cx.inl.cur != 0 {
                    return Err(CompileError(format!(
                        "{name}: push_inline without pop_inline"
                    )));
                }
                seal_in_order(&mut cx.b);
                cx.elide_checks();
                cx.b.finalize(frontend_config);
            }
            r.map(|()| {
                (
                    (
                        std::mem::take(&mut cx.inl.locs),
                        std::mem::take(&mut cx.inl.scopes),
                    ),
                    std::mem::take(&mut cx.lazy_hosts),
                )
            })
        };
        let (positions, lazy_hosts) = match result {
            Ok(p) => p,
            Err(e) => {
                g.ctx.clear();
                g.funcs[f.0 as usize].body = None;
                return Err(CompileError(format!("{name}: {e}")));
            }
        };
        if !lazy_hosts.is_empty() {
            if let Err(e) = self.patch_lazy_hosts(g, &lazy_hosts) {
                g.ctx.clear();
                return Err(e);
            }
        }
        let addr = self.finish(
            g,
            &name,
            &file,
            CodeKind::Function,
            positions,
            Some(declared),
        )?;
        let fe = &mut g.funcs[f.0 as usize];
        fe.compiled = true;
        fe.slot.store(addr, Ordering::SeqCst);
        Ok(addr)
    }

    fn helpers(&self, g: &Inner) -> Helpers {
        assert!(g.pending.is_empty(), "trampolines not finalized");
        // A `may_gc` host without its trampoline yet is at address 0: calls to it
        // are patched once the function is built (`patch_lazy_hosts`).
        let addr = |e: &HostEntry| {
            if e.may_gc {
                e.trampoline.unwrap_or(0)
            } else {
                e.ptr
            }
        };
        let h = |id: Option<HostId>| {
            let e = &g.hosts[id.expect("substrate hosts").0 as usize];
            let a = addr(e);
            assert_ne!(a, 0, "the substrate's trampolines are built at start-up");
            (a, e.sig.clone())
        };
        Helpers {
            hosts: g.hosts.iter().map(|e| (addr(e), e.sig.clone())).collect(),
            funcs: g
                .funcs
                .iter()
                .zip(self.sigs.read().iter())
                .map(|(f, sig)| (f.slot as *const AtomicUsize as usize, sig.clone()))
                .collect(),
            poll: (g.poll_preserving, Sig::new(&[], &[])),
            overflow: h(g.overflow_host),
            alloc: h(g.alloc_host),
            barrier: h(g.barrier_host),
            plan: self.plan,
        }
    }

    /// An exit trampoline, `tramp(thread, args...)`: records its frame pointer as
    /// the thread's anchor, then calls the host function. JIT code calls it with
    /// convention `outer`: with
    /// `PreserveAll`, the call site clobbers no register (the trampoline saves
    /// what the host call clobbers), so a cold call does not force the values
    /// live across it out of registers in the hot path.
    fn build_exit_trampoline_cc(
        &self,
        g: &mut Inner,
        name: &str,
        sig: &Sig,
        target: usize,
        outer: cranelift_codegen::isa::CallConv,
    ) -> Result<usize, CompileError> {
        self.exit_trampoline_body(g, sig, target, outer);
        self.finish(
            g,
            &format!("exit trampoline {name}"),
            "<vmkit>",
            CodeKind::Trampoline,
            Default::default(),
            None,
        )
    }

    /// Builds the body of an exit trampoline in `g.ctx`.
    fn exit_trampoline_body(
        &self,
        g: &mut Inner,
        sig: &Sig,
        target: usize,
        outer: cranelift_codegen::isa::CallConv,
    ) {
        let cc = Self::call_conv(g);
        g.ctx.func.signature = clif_sig(outer, sig);
        {
            let inner = &mut *g;
            let frontend_config = inner.module.isa().frontend_config();
            let mut b = FunctionBuilder::new(&mut inner.ctx.func, &mut inner.fctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let params = b.block_params(entry).to_vec();
            let fp = b.ins().get_frame_pointer(self.ptr);
            b.ins().store(
                MemFlagsData::trusted(),
                fp,
                params[0],
                Thread::FRAME_ANCHOR_OFFSET as i32,
            );
            let sref = b.import_signature(clif_sig(cc, sig));
            let callee = b.ins().iconst(self.ptr, target as i64);
            let call = b.ins().call_indirect(sref, callee, &params);
            let rets = b.inst_results(call).to_vec();
            b.ins().return_(&rets);
            b.seal_all_blocks();
            b.finalize(frontend_config);
        }
    }

    /// `entry(thread, code, args, results)`: calls `code` with arguments loaded from
    /// `args` and stores its results in `results`.
    fn build_entry_trampoline(&self, g: &mut Inner, sig: &Sig) -> Result<usize, CompileError> {
        let cc = Self::call_conv(g);
        let mut s = Signature::new(cc);
        for _ in 0..4 {
            s.params.push(AbiParam::new(types::I64));
        }
        g.ctx.func.signature = s;
        {
            let inner = &mut *g;
            let frontend_config = inner.module.isa().frontend_config();
            let mut b = FunctionBuilder::new(&mut inner.ctx.func, &mut inner.fctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let p = b.block_params(entry).to_vec();
            let mut args = vec![p[0]];
            for (i, t) in sig.params.iter().enumerate() {
                args.push(
                    b.ins()
                        .load(t.clif(), MemFlagsData::trusted(), p[2], (i * 8) as i32),
                );
            }
            let sref = b.import_signature(clif_sig(cc, sig));
            let call = b.ins().call_indirect(sref, p[1], &args);
            let rets = b.inst_results(call).to_vec();
            for (i, r) in rets.iter().enumerate() {
                b.ins()
                    .store(MemFlagsData::trusted(), *r, p[3], (i * 8) as i32);
            }
            b.ins().return_(&[]);
            b.seal_all_blocks();
            b.finalize(frontend_config);
        }
        self.finish(
            g,
            "entry trampoline",
            "<vmkit>",
            CodeKind::Trampoline,
            Default::default(),
            None,
        )
    }

    /// The lazy-compilation stub of `f`: compiles `f` (the runtime patches the slot),
    /// then calls it with the same arguments.
    fn build_stub(&self, g: &mut Inner, f: FuncId) -> Result<(), CompileError> {
        let (name, file, slot) = {
            let fe = &g.funcs[f.0 as usize];
            (fe.name.clone(), fe.file.clone(), fe.slot)
        };
        let sig = self.sigs.read()[f.0 as usize].clone();
        let cc = Self::call_conv(g);
        let compile_host = g.compile_host.expect("compile host").0 as usize;
        if g.hosts[compile_host].trampoline.is_none() {
            // Its address goes into the stub.
            self.flush(g)?;
        }
        let compile = {
            let e = &g.hosts[compile_host];
            (e.trampoline.expect("trampoline"), e.sig.clone())
        };
        g.ctx.func.signature = clif_sig(cc, &sig);
        {
            let inner = &mut *g;
            let frontend_config = inner.module.isa().frontend_config();
            let mut b = FunctionBuilder::new(&mut inner.ctx.func, &mut inner.fctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let params = b.block_params(entry).to_vec();
            for (v, t) in params[1..].iter().zip(&sig.params) {
                if *t == ValType::Ref {
                    b.declare_value_needs_stack_map(*v);
                }
            }
            let me = b.ins().iconst(types::I64, f.0 as i64);
            let mat = b
                .ins()
                .iconst(types::I64, self as *const Materializer as i64);
            let csig = b.import_signature(clif_sig(cc, &compile.1));
            let callee = b.ins().iconst(self.ptr, compile.0 as i64);
            let call = b.ins().call_indirect(csig, callee, &[params[0], mat, me]);
            let code = b.inst_results(call)[0];
            let sref = b.import_signature(clif_sig(cc, &sig));
            let call = b.ins().call_indirect(sref, code, &params);
            let rets = b.inst_results(call).to_vec();
            b.ins().return_(&rets);
            b.seal_all_blocks();
            b.finalize(frontend_config);
        }
        let _ = file;
        self.finish_later(g, &format!("stub {name}"), CodeKind::Stub, Dest::Slot(slot))
    }
}

#[derive(Clone)]
struct Helpers {
    hosts: Vec<(usize, Sig)>,
    funcs: Vec<(usize, Sig)>,
    poll: (usize, Sig),
    overflow: (usize, Sig),
    alloc: (usize, Sig),
    barrier: (usize, Sig),
    plan: CodeFacts,
}

/// The context a [`BodyBuilder`] builds a function in: the Cranelift
/// [`FunctionBuilder`] (positioned in the entry block, after the prologue) plus the
/// substrate's code-generation services.
pub struct FnCtx<'a, 'b> {
    /// The Cranelift function builder.
    pub b: FunctionBuilder<'a>,
    thread: Value,
    params: Vec<Value>,
    helpers: Helpers,
    ptr: ir::Type,
    cc: cranelift_codegen::isa::CallConv,
    results: Vec<ValType>,
    inl: InlineState,
    /// Calls emitted so far that return to the code after them (see
    /// [`FnCtx::raising_call`]): what [`FnCtx::loop_poll_end`] compares.
    safepoints: usize,
    /// Checks made with [`FnCtx::null_branch`] and [`FnCtx::bounds_branch`] (and
    /// facts from [`FnCtx::assume_nonnull`]), for `elide_checks`.
    checks: Vec<Check>,
    /// Calls to hosts whose trampoline is not built yet: the placeholder
    /// address's `iconst` and the host (see `patch_lazy_hosts`).
    lazy_hosts: Vec<(ir::Inst, usize)>,
    /// The function being built and its reference to itself, for direct
    /// recursive calls.
    self_call: (FuncId, ir::FuncRef),
    #[allow(dead_code)]
    _m: std::marker::PhantomData<&'b ()>,
}

/// In a big function (see `JitOptions::big_function_insts`), stores the thread
/// pointer (the first parameter) in a stack slot on entry and reloads it before
/// each use: otherwise it is one value live in every block, and regalloc2 clears
/// a map per value sized by the blocks of the largest one, a cost in
/// values x blocks (issue 21).
fn reload_thread_pointer(func: &mut ir::Function) {
    use cranelift_codegen::cursor::{Cursor, FuncCursor};
    let Some(entry) = func.layout.entry_block() else {
        return;
    };
    let Some(&thread) = func.dfg.block_params(entry).first() else {
        return;
    };
    let Some(first) = func.layout.first_inst(entry) else {
        return;
    };
    let ty = func.dfg.value_type(thread);
    let mut uses = Vec::new();
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            if func.dfg.inst_values(inst).any(|v| v == thread) {
                uses.push(inst);
            }
        }
    }
    let slot = func.create_sized_stack_slot(ir::StackSlotData::new(
        ir::StackSlotKind::ExplicitSlot,
        ty.bytes(),
        ty.bytes().trailing_zeros() as u8,
    ));
    let mut pos = FuncCursor::new(func).at_inst(first);
    pos.ins().stack_store(ty, thread, slot, 0);
    for inst in uses {
        pos.goto_inst(inst);
        let t = pos.ins().stack_load(ty, ty, slot, 0);
        pos.func
            .dfg
            .map_inst_values(inst, |v| if v == thread { t } else { v });
    }
}

/// The block parameters that always hold one other value (every incoming edge
/// passes that value, or the parameter itself around a loop), mapped to it: the
/// SSA builder leaves such parameters where it seals blocks before their
/// predecessors are complete. Each round resolves at least one more level of
/// parameters passed on to parameters; what is left after a few rounds stays
/// distinct (fewer checks elided, never a wrong one).
fn same_values(
    func: &ir::Function,
    cfg: &cranelift_codegen::flowgraph::ControlFlowGraph,
) -> HashMap<Value, Value> {
    let mut same: HashMap<Value, Value> = HashMap::new();
    let find = |same: &HashMap<Value, Value>, v: Value| resolve_same(func, same, v);
    for _round in 0..8 {
        let mut changed = false;
        for block in func.layout.blocks() {
            for (i, &param) in func.dfg.block_params(block).iter().enumerate() {
                let me = find(&same, param);
                let mut only: Option<Value> = None;
                let mut unique = true;
                'preds: for pred in cfg.pred_iter(block) {
                    for call in func.dfg.insts[pred.inst]
                        .branch_destination(&func.dfg.jump_tables, &func.dfg.exception_tables)
                    {
                        if call.block(&func.dfg.value_lists) != block {
                            continue;
                        }
                        let arg = match call.args(&func.dfg.value_lists).nth(i) {
                            Some(ir::BlockArg::Value(a)) => find(&same, a),
                            _ => {
                                unique = false;
                                break 'preds;
                            }
                        };
                        if arg == me {
                            continue;
                        }
                        match only {
                            None => only = Some(arg),
                            Some(o) if o == arg => {}
                            Some(_) => {
                                unique = false;
                                break 'preds;
                            }
                        }
                    }
                }
                if let (true, Some(o)) = (unique, only) {
                    if o != me {
                        same.insert(me, o);
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    same
}

/// `v` with aliases resolved and followed through `same` ([`same_values`]).
fn resolve_same(func: &ir::Function, same: &HashMap<Value, Value>, v: Value) -> Value {
    let mut v = func.dfg.resolve_aliases(v);
    while let Some(&w) = same.get(&v) {
        v = w;
    }
    v
}

/// The header word to store when bump-allocating objects of `ti` of up to
/// `size` bytes inline, if the plan allows it. Without a type id (the type table
/// is full) there is no inline path: the runtime call fails with OutOfMemory.
fn inline_header(plan: &CodeFacts, ti: &'static TypeInfo, size: usize) -> Option<usize> {
    if plan.inline_alloc && size <= plan.max_non_los {
        ti.header()
    } else {
        None
    }
}

/// A block reached only when a condition holds: the `ok` block of a check
/// (`branch`, which may be elided) or one the personality vouches for
/// ([`FnCtx::assume_nonnull`]; no branch).
struct Check {
    key: CheckKey,
    branch: Option<ir::Inst>,
    ok: ir::Block,
}

/// What a [`Check`] establishes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum CheckKey {
    /// The reference is not null.
    NonNull(Value),
    /// `index < len`, unsigned.
    InBounds(Value, Value),
}

/// Value numbering of pure integer arithmetic, for comparing checks: two values
/// computed by the same operation on the same (numbered) operands are one.
#[derive(Default)]
struct PureExprs {
    memo: HashMap<Value, Value>,
    table: HashMap<(ir::InstructionData, ir::Type), Value>,
}

impl PureExprs {
    fn canon(
        &mut self,
        func: &ir::Function,
        same: &HashMap<Value, Value>,
        v: Value,
        depth: u32,
    ) -> Value {
        let v = resolve_same(func, same, v);
        if let Some(&c) = self.memo.get(&v) {
            return c;
        }
        let Some(inst) = func.dfg.value_def(v).inst() else {
            return v;
        };
        use ir::{InstructionData as D, Opcode as O};
        let mut data = func.dfg.insts[inst];
        let pure = match &mut data {
            D::Binary { opcode, args } => {
                matches!(
                    opcode,
                    O::Iadd
                        | O::Isub
                        | O::Imul
                        | O::Band
                        | O::Bor
                        | O::Bxor
                        | O::Ishl
                        | O::Ushr
                        | O::Sshr
                ) && depth < 16
                    && {
                        for a in args.iter_mut() {
                            *a = self.canon(func, same, *a, depth + 1);
                        }
                        true
                    }
            }
            D::UnaryImm {
                opcode: O::Iconst, ..
            } => true,
            _ => false,
        };
        let c = if pure {
            let ty = func.dfg.value_type(v);
            *self.table.entry((data, ty)).or_insert(v)
        } else {
            v
        };
        self.memo.insert(v, c);
        c
    }
}

/// A loop poll whose slow path is built once the loop body is known
/// ([`FnCtx::loop_poll_begin`]).
#[must_use = "finish the poll with loop_poll_end"]
pub struct LoopPoll {
    slow: ir::Block,
    cont: ir::Block,
    safepoints: usize,
}

/// Source positions of a function being built: `(scope, line)` pairs interned as
/// Cranelift source locations, and the inline scopes they refer to (scope 0 is the
/// function itself).
#[derive(Default)]
struct InlineState {
    scopes: Vec<codemap::InlineScope>,
    locs: Vec<(u32, u32)>,
    loc_ix: HashMap<(u32, u32), u32>,
    cur: u32,
    line: u32,
}

impl FnCtx<'_, '_> {
    /// The current thread pointer (the hidden first parameter).
    pub fn thread(&self) -> Value {
        self.thread
    }

    /// The function's parameters (without the thread).
    pub fn params(&self) -> &[Value] {
        &self.params
    }

    /// Declares that `v` is a heap reference: it is kept in a stack slot across calls
    /// and updated if the collector moves its referent.
    pub fn declare_ref(&mut self, v: Value) {
        self.b.declare_value_needs_stack_map(v);
    }

    /// A new variable of type `t` (references are tracked in stack maps).
    pub fn var(&mut self, t: ValType) -> Variable {
        let v = self.b.declare_var(t.clif());
        if t == ValType::Ref {
            self.b.declare_var_needs_stack_map(v);
        }
        v
    }

    /// Sets the source line of the instructions built next (in the current inline
    /// scope, see [`FnCtx::push_inline`]).
    pub fn set_line(&mut self, line: u32) {
        let st = &mut self.inl;
        st.line = line;
        let key = (st.cur, line);
        let n = st.locs.len() as u32;
        let ix = *st.loc_ix.entry(key).or_insert(n);
        if ix == n {
            st.locs.push(key);
        }
        self.b.set_srcloc(ir::SourceLoc::new(ix));
    }

    /// Starts the body of function `name` (from `file`) inlined at the current
    /// line: instructions built until the matching [`FnCtx::pop_inline`] belong to
    /// a virtual frame of `name`, which backtraces show above the frame of the
    /// code it was inlined into, exactly as if it had been called. The inlined body
    /// has no prologue (no stack-limit check, no entry poll); its loops must poll.
    pub fn push_inline(&mut self, name: &str, file: &str) {
        let st = &mut self.inl;
        st.scopes.push(codemap::InlineScope {
            name: name.to_owned(),
            file: file.to_owned(),
            parent: st.cur,
            call_line: st.line,
        });
        st.cur = st.scopes.len() as u32;
    }

    /// Ends the innermost inlined body; the line is the call's line again.
    pub fn pop_inline(&mut self) {
        let scope = &self.inl.scopes[self.inl.cur as usize - 1];
        let (parent, line) = (scope.parent, scope.call_line);
        self.inl.cur = parent;
        self.set_line(line);
    }

    fn call_addr(&mut self, addr: usize, sig: &Sig, args: &[Value]) -> Vec<Value> {
        let callee = self.b.ins().iconst(self.ptr, addr as i64);
        self.emit_call(self.cc, callee, sig, args)
    }

    /// Calls `callee(thread, args...)` with convention `cc`; reference results are
    /// declared for stack maps.
    fn emit_call(
        &mut self,
        cc: cranelift_codegen::isa::CallConv,
        callee: Value,
        sig: &Sig,
        args: &[Value],
    ) -> Vec<Value> {
        let sref = self.b.import_signature(clif_sig(cc, sig));
        let mut all = vec![self.thread];
        all.extend_from_slice(args);
        let call = self.b.ins().call_indirect(sref, callee, &all);
        self.call_results(call, sig)
    }

    /// The results of `call` (a call of a function of signature `sig`), reference
    /// results declared for stack maps.
    fn call_results(&mut self, call: ir::Inst, sig: &Sig) -> Vec<Value> {
        self.safepoints += 1;
        let rets = self.b.inst_results(call).to_vec();
        for (r, t) in rets.iter().zip(&sig.results) {
            if *t == ValType::Ref {
                self.b.declare_value_needs_stack_map(*r);
            }
        }
        rets
    }

    /// Calls a registered runtime function.
    pub fn call_host(&mut self, h: HostId, args: &[Value]) -> Vec<Value> {
        let (addr, sig) = self.helpers.hosts[h.0 as usize].clone();
        if addr == 0 {
            let callee = self.b.ins().iconst(self.ptr, 0);
            let inst = self.b.func.dfg.value_def(callee).unwrap_inst();
            self.lazy_hosts.push((inst, h.0 as usize));
            return self.emit_call(self.cc, callee, &sig, args);
        }
        self.call_addr(addr, &sig, args)
    }

    /// Calls a declared JIT function through its table slot (its stub before the
    /// first call compiles it, its code afterwards).
    pub fn call_function(&mut self, f: FuncId, args: &[Value]) -> Vec<Value> {
        let (slot, sig) = self.helpers.funcs[f.0 as usize].clone();
        let (me, fref) = self.self_call;
        if me == f {
            let mut all = vec![self.thread];
            all.extend_from_slice(args);
            let call = self.b.ins().call(fref, &all);
            return self.call_results(call, &sig);
        }
        let slot_addr = self.b.ins().iconst(self.ptr, slot as i64);
        let code = self
            .b
            .ins()
            .load(self.ptr, MemFlagsData::trusted(), slot_addr, 0);
        self.emit_call(self.cc, code, &sig, args)
    }

    /// Default values (zero / null) of the function's results, for an early return
    /// when an exception is pending.
    pub fn default_results(&mut self) -> Vec<Value> {
        let rs = self.results.clone();
        rs.iter()
            .map(|t| match t {
                ValType::F64 => self.b.ins().f64const(0.0),
                _ => self.b.ins().iconst(types::I64, 0),
            })
            .collect()
    }

    /// Branches to `handler` if an exception is pending on the thread, else continues
    /// in a new block.
    pub fn check_exception(&mut self, handler: ir::Block) {
        let exc = self.b.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            self.thread,
            Thread::PENDING_EXCEPTION_OFFSET as i32,
        );
        let cont = self.b.create_block();
        self.b.ins().brif(exc, handler, &[], cont, &[]);
        self.b.switch_to_block(cont);
        // Its only predecessor is known: sealed now, a variable read after the
        // call is looked up through it instead of becoming a block parameter
        // here (and in every block before it, back to the definition, when the
        // blocks are sealed at the end: quadratic in a long function).
        self.b.seal_block(cont);
    }

    /// A safepoint poll: one load and a branch to a cold call. Emit it on loop
    /// back-edges (function entries get one automatically). The references live
    /// across it are in stack slots; see [`FnCtx::loop_poll_begin`] for a loop
    /// poll that keeps them in registers.
    pub fn poll(&mut self) {
        let poll = self.loop_poll_begin();
        self.poll_slow_path(poll, &[]);
    }

    /// Says that the call just emitted does not return to the code after it
    /// (it raises an exception; control goes to a handler), so it does not make
    /// the enclosing loop one with calls (see [`FnCtx::loop_poll_end`]).
    pub fn raising_call(&mut self) {
        self.safepoints = self.safepoints.saturating_sub(1);
    }

    /// Tests `obj` (a reference) for null: branches to the first block returned
    /// (new, cold, empty: the caller fills it, e.g. raises an error) when it is
    /// null, else to the second (new, empty), and leaves the current block
    /// terminated. Before the function is compiled, a check is dropped when the
    /// same value was checked on every path to it (the `ok` block of another check
    /// of it dominates this one), so personalities may check every use.
    pub fn null_branch(&mut self, obj: Value) -> (ir::Block, ir::Block) {
        let bad = self.b.create_block();
        let ok = self.b.create_block();
        self.b.set_cold_block(bad);
        let branch = self.b.ins().brif(obj, ok, &[], bad, &[]);
        self.checks.push(Check {
            key: CheckKey::NonNull(obj),
            branch: Some(branch),
            ok,
        });
        (bad, ok)
    }

    /// Tests `index < len` (unsigned, so a negative index fails too): branches to
    /// the first block returned (new, cold, empty) when it does not hold, else to
    /// the second (new, empty). Like [`FnCtx::null_branch`], a test is dropped
    /// before compilation when the same test succeeded on every path to it: same
    /// `index` and `len`, values computed by the same pure arithmetic on the same
    /// operands counting as the same (`a[i]` read then written, or `a[k - i]`
    /// twice).
    pub fn bounds_branch(&mut self, index: Value, len: Value) -> (ir::Block, ir::Block) {
        let bad = self.b.create_block();
        let ok = self.b.create_block();
        self.b.set_cold_block(bad);
        let inb = self
            .b
            .ins()
            .icmp(ir::condcodes::IntCC::UnsignedLessThan, index, len);
        // Success first, as in `null_branch` and the prologue: Cranelift's alias
        // analysis visits the else target first (see `prologue`), and with the
        // failure first its register allocator spilled fannkuch's loop counter.
        let branch = self.b.ins().brif(inb, ok, &[], bad, &[]);
        self.checks.push(Check {
            key: CheckKey::InBounds(index, len),
            branch: Some(branch),
            ok,
        });
        (bad, ok)
    }

    /// States that `obj` is not null in `block` and wherever it dominates:
    /// `block` must be entered only from a branch that found `obj` non-null (as
    /// the target of the non-null edge of `if x != null`, with no other
    /// predecessor). The null checks of `obj` it dominates are then dropped
    /// ([`FnCtx::null_branch`]).
    pub fn assume_nonnull(&mut self, obj: Value, block: ir::Block) {
        self.checks.push(Check {
            key: CheckKey::NonNull(obj),
            branch: None,
            ok: block,
        });
    }

    /// Turns each check whose condition is known to hold (see
    /// [`FnCtx::null_branch`], [`FnCtx::bounds_branch`]) into a jump to its `ok`
    /// block. Runs on the sealed function, before the safepoint spiller gives
    /// each use of a reference its own reload: a check's values are compared
    /// after resolving aliases, block parameters that carry one value, and
    /// pure arithmetic (`same_values`, `PureExprs`).
    fn elide_checks(&mut self) {
        if self.checks.len() < 2 || self.checks.iter().all(|c| c.branch.is_none()) {
            return;
        }
        let func = &mut self.b.func;
        let cfg = cranelift_codegen::flowgraph::ControlFlowGraph::with_function(func);
        let same = same_values(func, &cfg);
        let mut exprs = PureExprs::default();
        let mut by_key: HashMap<CheckKey, Vec<usize>> = HashMap::new();
        for (i, c) in self.checks.iter().enumerate() {
            let mut canon = |v| exprs.canon(func, &same, v, 0);
            let key = match c.key {
                CheckKey::NonNull(v) => CheckKey::NonNull(canon(v)),
                CheckKey::InBounds(i, l) => CheckKey::InBounds(canon(i), canon(l)),
            };
            by_key.entry(key).or_default().push(i);
        }
        if by_key.values().all(|v| v.len() < 2) {
            return;
        }
        let dt = cranelift_codegen::dominator_tree::DominatorTree::with_function(func, &cfg);
        let mut redundant = Vec::new();
        for checks in by_key.values().filter(|v| v.len() > 1) {
            for &c in checks {
                let Some(branch) = self.checks[c].branch else {
                    continue;
                };
                let Some(at) = func.layout.inst_block(branch) else {
                    continue;
                };
                if checks
                    .iter()
                    .any(|&p| p != c && dt.dominates(self.checks[p].ok, at, &func.layout))
                {
                    redundant.push(c);
                }
            }
        }
        for c in redundant {
            if let Check {
                branch: Some(branch),
                ok,
                ..
            } = self.checks[c]
            {
                func.replace(branch).jump(ok, &[]);
            }
        }
    }

    /// The safepoint poll at the head of a loop: the test of the yieldpoint flag
    /// now, the slow path when the body is built ([`FnCtx::loop_poll_end`]).
    pub fn loop_poll_begin(&mut self) -> LoopPoll {
        let flag = self.b.ins().load(
            types::I8,
            MemFlagsData::trusted(),
            self.thread,
            Thread::YIELDPOINT_OFFSET as i32,
        );
        let slow = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.ins().brif(flag, slow, &[], cont, &[]);
        self.b.switch_to_block(cont);
        LoopPoll {
            slow,
            cont,
            safepoints: self.safepoints,
        }
    }

    /// Builds the slow path of `poll`, after the loop's body. If the loop made
    /// no call that returns into it (its only safepoint is this poll), the
    /// references in `vars` (reference variables; at most
    /// [`crate::thread::POLL_ROOTS`], the rest stay with the stack maps) go to
    /// the collector through the thread's poll roots
    /// ([`Thread::POLL_ROOTS_OFFSET`]) and each variable is defined anew from
    /// what the collector left there: they are not live across any safepoint,
    /// so they stay in registers in the loop. (Cranelift spills a stack-mapped
    /// value live across a safepoint at its definition and reloads it at every
    /// use: a store and a load per iteration.) A loop with calls gets a plain
    /// poll: its references are in stack slots anyway, and redefining them
    /// would add a spill per iteration.
    pub fn loop_poll_end(&mut self, poll: LoopPoll, vars: &[Variable]) {
        let leaf = self.safepoints == poll.safepoints;
        if leaf {
            self.poll_slow_path(poll, &vars[..vars.len().min(crate::thread::POLL_ROOTS)]);
            // No reference is live across this call: no spill point for an
            // enclosing loop either.
            self.safepoints -= 1;
        } else {
            self.poll_slow_path(poll, &[]);
        }
    }

    /// Builds the cold path of `poll`: `vars` to the poll roots, the call to the
    /// safepoint (`PreserveAll`: it clobbers no register), `vars` back from the
    /// poll roots; then returns to the block being built.
    fn poll_slow_path(&mut self, poll: LoopPoll, vars: &[Variable]) {
        let here = self.b.current_block();
        self.b.switch_to_block(poll.slow);
        let flags = MemFlagsData::trusted();
        let count = Thread::POLL_ROOT_COUNT_OFFSET as i32;
        for (i, &v) in vars.iter().enumerate() {
            let val = self.b.use_var(v);
            let off = (Thread::POLL_ROOTS_OFFSET + 8 * i) as i32;
            self.b.ins().store(flags, val, self.thread, off);
        }
        if !vars.is_empty() {
            let n = self.b.ins().iconst(types::I64, vars.len() as i64);
            self.b.ins().store(flags, n, self.thread, count);
        }
        let (addr, sig) = self.helpers.poll.clone();
        let callee = self.b.ins().iconst(self.ptr, addr as i64);
        self.emit_call(
            cranelift_codegen::isa::CallConv::PreserveAll,
            callee,
            &sig,
            &[],
        );
        if !vars.is_empty() {
            for (i, &v) in vars.iter().enumerate() {
                let off = (Thread::POLL_ROOTS_OFFSET + 8 * i) as i32;
                let val = self.b.ins().load(self.ptr, flags, self.thread, off);
                self.b.def_var(v, val);
            }
            let zero = self.b.ins().iconst(types::I64, 0);
            self.b.ins().store(flags, zero, self.thread, count);
        }
        self.b.ins().jump(poll.cont, &[]);
        if let Some(b) = here {
            self.b.switch_to_block(b);
        }
    }

    fn prologue(&mut self) {
        // One compare is both the stack-overflow check and the entry safepoint
        // poll: a safepoint request sets the compared limit to usize::MAX. The slow
        // path parks if a safepoint is requested, then raises StackOverflow (and
        // returns default values) only if SP is really below the limit.
        let sp = self.b.ins().get_stack_pointer(self.ptr);
        let limit = self.b.ins().load(
            self.ptr,
            MemFlagsData::trusted(),
            self.thread,
            Thread::STACK_LIMIT_OFFSET as i32,
        );
        let ok = self
            .b
            .ins()
            .icmp(ir::condcodes::IntCC::UnsignedGreaterThanOrEqual, sp, limit);
        let slow = self.b.create_block();
        let overflow = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.set_cold_block(overflow);
        // The slow path is the *else* target on purpose: Cranelift's alias
        // analysis visits a branch's else target first, so it sees the slow
        // path rejoin `cont` before it walks the body, and the body's blocks get
        // their final memory state on the first visit. With the slow path
        // visited last, every block of the body would end up a merge point of
        // its own, and no load could be reused from one block to the next.
        self.b.ins().brif(ok, cont, &[], slow, &[]);
        self.b.switch_to_block(slow);
        let (addr, sig) = self.helpers.overflow.clone();
        let raised = self.call_addr(addr, &sig, &[sp])[0];
        self.b.ins().brif(raised, overflow, &[], cont, &[]);
        self.b.switch_to_block(overflow);
        let d = self.default_results();
        self.b.ins().return_(&d);
        self.b.switch_to_block(cont);
    }

    /// Allocates a fixed-size object of type `ti` (its layout's size), zeroed
    /// but for its header: inline bump pointer when the plan has one, runtime
    /// call otherwise. The result is a reference. On failure (only the runtime
    /// call fails: null, with an `OutOfMemory` exception pending) the code
    /// branches to `handler` if one is given, from the slow path only; without
    /// one, the caller checks.
    ///
    /// The inline path stores only the header word: MMTk hands out zeroed memory
    /// (every space of every plan is created `zeroed`: fresh blocks are cleared
    /// when acquired, and Immix clears recycled lines before it bumps into them).
    pub fn alloc_fixed(&mut self, ti: &'static TypeInfo, handler: Option<ir::Block>) -> Value {
        let size = ti.instance_size(0);
        let tiv = self
            .b
            .ins()
            .iconst(types::I64, ti as *const TypeInfo as i64);
        let done = self.b.create_block();
        self.b.append_block_param(done, types::I64);
        if let Some(header) = inline_header(&self.helpers.plan, ti, size) {
            let sizev = self.b.ins().iconst(types::I64, size as i64);
            let slow = self.b.create_block();
            self.b.set_cold_block(slow);
            let cursor = self.bump(sizev, slow);
            let hv = self.b.ins().iconst(types::I64, header as i64);
            self.b.ins().store(MemFlagsData::trusted(), hv, cursor, 0);
            self.b.ins().jump(done, &[cursor.into()]);
            self.b.switch_to_block(slow);
        }
        let sizev = self.b.ins().iconst(types::I64, size as i64);
        let (addr, sig) = self.helpers.alloc.clone();
        let r = self.call_addr(addr, &sig, &[tiv, sizev])[0];
        if let Some(h) = handler {
            self.check_exception(h);
        }
        self.b.ins().jump(done, &[r.into()]);
        self.b.switch_to_block(done);
        let obj = self.b.block_params(done)[0];
        self.b.declare_value_needs_stack_map(obj);
        obj
    }

    /// Allocates an array of type `ti` (an [`crate::Layout::Array`] of 8-byte
    /// elements) with `len` zeroed elements. Small arrays (at most
    /// [`INLINE_ARRAY_MAX`] elements) are bump-allocated inline when the plan
    /// allows (storing only the header and length words: see
    /// [`FnCtx::alloc_fixed`] on zeroed memory); others, and a `len` that is
    /// negative, take the personality's `slow` path, which must return the array
    /// (or null with an exception pending). The result is a reference; with a
    /// `handler`, the slow path branches there when an exception is pending.
    pub fn alloc_array(
        &mut self,
        ti: &'static TypeInfo,
        len: Value,
        handler: Option<ir::Block>,
        slow: &mut dyn FnMut(&mut Self) -> Value,
    ) -> Value {
        assert!(
            matches!(ti.layout, crate::Layout::Array { elem_size: 8, .. }),
            "alloc_array needs an array type with 8-byte elements"
        );
        let done = self.b.create_block();
        self.b.append_block_param(done, types::I64);
        let size_max = crate::object::array_size(8, INLINE_ARRAY_MAX);
        if let Some(header) = inline_header(&self.helpers.plan, ti, size_max) {
            let slow_b = self.b.create_block();
            let try_b = self.b.create_block();
            self.b.set_cold_block(slow_b);
            let small = self.b.ins().icmp_imm_u(
                ir::condcodes::IntCC::UnsignedLessThanOrEqual,
                len,
                INLINE_ARRAY_MAX as i64,
            );
            self.b.ins().brif(small, try_b, &[], slow_b, &[]);
            self.b.switch_to_block(try_b);
            let bytes = self.b.ins().ishl_imm_u(len, 3);
            let size = self
                .b
                .ins()
                .iadd_imm_s(bytes, crate::object::ARRAY_DATA_OFFSET as i64);
            let cursor = self.bump(size, slow_b);
            let hv = self.b.ins().iconst(types::I64, header as i64);
            let fl = MemFlagsData::trusted();
            self.b.ins().store(fl, hv, cursor, 0);
            self.b
                .ins()
                .store(fl, len, cursor, crate::object::ARRAY_LENGTH_OFFSET as i32);
            self.b.ins().jump(done, &[cursor.into()]);
            self.b.switch_to_block(slow_b);
        }
        let r = slow(self);
        if let Some(h) = handler {
            self.check_exception(h);
        }
        self.b.ins().jump(done, &[r.into()]);
        self.b.switch_to_block(done);
        let obj = self.b.block_params(done)[0];
        self.b.declare_value_needs_stack_map(obj);
        obj
    }

    /// The inline bump-pointer fast path: if `size` bytes fit in the thread's
    /// allocation buffer, bumps the cursor and continues (in a new block) with the
    /// old cursor as the result; otherwise branches to `slow`.
    fn bump(&mut self, size: Value, slow: ir::Block) -> Value {
        let fl = MemFlagsData::trusted();
        let bp = self.b.ins().load(
            types::I64,
            fl,
            self.thread,
            Thread::ALLOC_BUFFER_OFFSET as i32,
        );
        let cursor = self.b.ins().load(types::I64, fl, bp, 0);
        let limit = self.b.ins().load(types::I64, fl, bp, 8);
        let end = self.b.ins().iadd(cursor, size);
        let fits = self
            .b
            .ins()
            .icmp(ir::condcodes::IntCC::UnsignedLessThanOrEqual, end, limit);
        let fast = self.b.create_block();
        self.b.ins().brif(fits, fast, &[], slow, &[]);
        self.b.switch_to_block(fast);
        self.b.ins().store(fl, end, bp, 0);
        cursor
    }

    /// Stores reference `value` into field `offset` of `obj`, with the plan's write
    /// barrier.
    pub fn store_ref(&mut self, obj: Value, offset: i32, value: Value) {
        if self.helpers.plan.write_barrier {
            let slot = self.b.ins().iadd_imm_s(obj, offset as i64);
            self.barriered_store(obj, slot, value);
        } else {
            self.b
                .ins()
                .store(MemFlagsData::trusted(), value, obj, offset);
        }
    }

    /// Stores reference `value` at address `slot` inside `obj` (array elements).
    pub fn store_ref_at(&mut self, obj: Value, slot: Value, value: Value) {
        if self.helpers.plan.write_barrier {
            self.barriered_store(obj, slot, value);
        } else {
            self.b.ins().store(MemFlagsData::trusted(), value, slot, 0);
        }
    }

    /// A reference store under the plan's barrier. Inline, the store itself when
    /// `obj` is outside the heap (an early object, or the heap is not up) or its
    /// unlog bit is clear (see [`crate::gc::BarrierFacts`]: a young object, or no
    /// concurrent marking under way); otherwise the runtime's
    /// [`Thread::write_ref_at`] does the store, in the order the plan needs (a
    /// snapshot-at-the-beginning pre-barrier sees the old value before the store
    /// overwrites it; a generational post-barrier runs after it). No safepoint lies
    /// between the test and the store, so a collection cannot set the bit between.
    fn barriered_store(&mut self, obj: Value, slot: Value, value: Value) {
        let ty = self.ptr;
        let facts = &crate::gc::BARRIER_FACTS as *const crate::gc::BarrierFacts as i64;
        let slow = self.b.create_block();
        let check = self.b.create_block();
        let fast = self.b.create_block();
        let done = self.b.create_block();
        self.b.set_cold_block(slow);
        let fl = MemFlagsData::trusted();
        let facts = self.b.ins().iconst(ty, facts);
        let start = self.b.ins().load(ty, fl, facts, 0);
        let size = self.b.ins().load(ty, fl, facts, 8);
        let off = self.b.ins().isub(obj, start);
        let in_heap = self
            .b
            .ins()
            .icmp(ir::condcodes::IntCC::UnsignedLessThan, off, size);
        self.b.ins().brif(in_heap, check, &[], fast, &[]);
        self.b.switch_to_block(check);
        self.b.seal_block(check);
        let table = self.b.ins().load(ty, fl, facts, 16);
        let idx = self.b.ins().ushr_imm_u(obj, 6i64);
        let byte_addr = self.b.ins().iadd(idx, table);
        let byte = self.b.ins().uload8(ty, fl, byte_addr, 0);
        let shift = self.b.ins().ushr_imm_u(obj, 3i64);
        let shift = self.b.ins().band_imm_u(shift, 7i64);
        let bits = self.b.ins().ushr(byte, shift);
        let bit = self.b.ins().band_imm_u(bits, 1i64);
        self.b.ins().brif(bit, slow, &[], fast, &[]);
        self.b.switch_to_block(slow);
        self.b.seal_block(slow);
        let (addr, sig) = self.helpers.barrier.clone();
        self.call_addr(addr, &sig, &[obj, slot, value]);
        self.b.ins().jump(done, &[]);
        self.b.switch_to_block(fast);
        self.b.seal_block(fast);
        self.b.ins().store(fl, value, slot, 0);
        self.b.ins().jump(done, &[]);
        self.b.switch_to_block(done);
        self.b.seal_block(done);
    }

    /// The object header size, for field offsets.
    pub const HEADER: i32 = HEADER_SIZE as i32;
}

/// Runs a host function body, turning a panic (a bug in the VM) into a report and
/// exit status 70 instead of unwinding into JIT frames.
pub fn host_guard<R>(f: impl FnOnce() -> R) -> R {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            eprintln!("internal error: the VM panicked in a runtime function; please file a bug");
            std::process::exit(70);
        }
    }
}

extern "C" fn rt_compile(thread: &Thread, mat: &Materializer, f: u64) -> usize {
    host_guard(|| {
        let r = thread.native(|| {
            let mut g = mat.inner.lock();
            mat.compile_locked(&mut g, FuncId(f as u32))
        });
        match r {
            Ok(a) => a,
            Err(e) => {
                eprintln!("internal error: JIT compilation failed: {e}; please file a bug");
                std::process::exit(70);
            }
        }
    })
}

extern "C" fn rt_safepoint(thread: &Thread) {
    host_guard(|| thread.safepoint_slow())
}

/// The prologue's slow path: parks at a requested safepoint, then raises
/// StackOverflow if `sp` is below the thread's stack limit. Returns 1 if it raised.
extern "C" fn rt_stack_check(thread: &Thread, sp: usize) -> u64 {
    host_guard(|| {
        thread.safepoint();
        if sp >= thread.stack_limit() {
            return 0;
        }
        let exc = crate::vm::vm().new_exception(thread, ErrorKind::StackOverflow, "stack overflow");
        thread.set_pending_exception(exc);
        1
    })
}

extern "C" fn rt_alloc(thread: &Thread, ti: &'static TypeInfo, size: usize) -> usize {
    host_guard(|| match thread.alloc(ti, size) {
        Ok(o) => o.to_raw_address().as_usize(),
        Err(e) => {
            let exc = crate::vm::vm().new_exception(thread, ErrorKind::OutOfMemory, &e.to_string());
            thread.set_pending_exception(exc);
            0
        }
    })
}

/// The barrier's slow path: the store of the value `target` (in the personality's
/// encoding) into `slot` of `src`, with the plan's barrier.
extern "C" fn rt_write_barrier(thread: &Thread, src: usize, slot: usize, target: usize) {
    host_guard(|| {
        if let Some(src) = crate::object::word_to_ref(src) {
            // SAFETY: `slot` is the address of a reference field of `src`.
            let slot = unsafe { mmtk::util::Address::from_usize(slot) };
            thread.write_value_at(src, slot, target as u64);
        }
    })
}
