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

pub mod arch;
mod builder;
pub mod codemap;
mod elide;
pub mod frames;
mod materializer;
mod runtime;
mod trampolines;

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

use elide::Check;
pub use frames::{
    backtrace, backtrace_bounded, exception_is_handled, frames_walked, BoundedBacktrace, FrameInfo,
};
pub use materializer::EntryPoint;
pub use runtime::host_guard;

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
    /// The preserve-all exit trampoline of the barrier's logging call
    /// (`rt_barrier_log`); 0 under a plan without a barrier.
    barrier_log: usize,
    overflow_host: Option<HostId>,
    alloc_host: Option<HostId>,
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

/// Whether Cranelift can generate code for this machine: the cheap part of
/// building a [`Materializer`] (no code memory, no trampolines), for a
/// personality that makes its materializer lazily, at its first compilation,
/// and wants to know at start-up that it will be able to.
pub fn check_host_isa() -> Result<(), CompileError> {
    cranelift_native::builder()
        .map(|_| ())
        .map_err(|e| CompileError(format!("host machine not supported: {e}")))
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

#[derive(Clone)]
struct Helpers {
    hosts: Vec<(usize, Sig)>,
    funcs: Vec<(usize, Sig)>,
    poll: (usize, Sig),
    overflow: (usize, Sig),
    alloc: (usize, Sig),
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
    /// Barrier slow paths whose logging call is inserted once the function is
    /// built: the two placeholder instructions holding its arguments (see
    /// `patch_barrier_calls`).
    barrier_calls: Vec<(ir::Inst, ir::Inst)>,
    /// The function being built and its reference to itself, for direct
    /// recursive calls.
    self_call: (FuncId, ir::FuncRef),
    #[allow(dead_code)]
    _m: std::marker::PhantomData<&'b ()>,
}

/// A loop poll whose slow path is built once the loop body is known
/// ([`FnCtx::loop_poll_begin`]).
#[must_use = "finish the poll with loop_poll_end"]
pub struct LoopPoll {
    slow: ir::Block,
    cont: ir::Block,
    safepoints: usize,
}

/// Source positions of a function being built: `(scope, line, handled)` triples interned as
/// Cranelift source locations, and the inline scopes they refer to (scope 0 is the
/// function itself).
#[derive(Default)]
struct InlineState {
    scopes: Vec<codemap::InlineScope>,
    /// `(scope, line, handled)` of each source location.
    locs: Vec<(u32, u32, bool)>,
    loc_ix: HashMap<(u32, u32, bool), u32>,
    cur: u32,
    line: u32,
    /// The instructions built next are inside a region whose exceptions
    /// this frame catches ([`FnCtx::set_handled`]).
    handled: bool,
}
