//! Running a program: VM start-up, the main thread, spawned threads, exit status.

use crate::interp::Interp;
use crate::runtime::errors::{self, RuntimeError};
use crate::runtime::program::{self, Shared};
use crate::runtime::threads::{self, Outcome};
use crate::runtime::{object as tobj, print, ToyVm};
use std::sync::atomic::{AtomicU64, Ordering};
use vmkit::gc::GcOptions;
use vmkit::thread::SpawnArg;
use vmkit::Thread;

/// Which engine runs a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// the reference interpreter
    Interp,
    /// the JIT
    Jit,
}

/// Exit status for an uncaught exception.
pub const EXIT_UNCAUGHT: i32 = 1;

/// Exit status for a bad command line (or a program that does not compile).
pub const EXIT_USAGE: i32 = 2;

/// Exit status for an internal error of `toyvm` (a bug, or a JIT that cannot
/// be set up on this machine).
pub const EXIT_INTERNAL: i32 = 70;

/// How to run a program.
pub struct RunOptions {
    /// GC settings.
    pub gc: GcOptions,
    /// Engine for every thread.
    pub engine: Engine,
    /// Print GC statistics at exit.
    pub gc_stats: bool,
    /// Stack size of spawned threads, besides their Toy stack.
    pub thread_stack: usize,
    /// The stack Toy calls may use on each thread (the JIT's frames; the
    /// interpreter, whose frames are larger, gets [`INTERP_STACK_FACTOR`]
    /// times it): past it, calls throw StackOverflowError.
    pub toy_stack: usize,
    /// JIT settings.
    pub jit: vmkit::jit::JitOptions,
    /// With the JIT: how many calls of a function without loops the main
    /// thread interprets before it compiles the function (see
    /// [`Interp::ahead_of_jit`]); 0 compiles every function on its first call.
    pub calls_before_jit: u32,
}

static VM: ToyVm = ToyVm::new();

/// Starts the garbage collector with `gc`. MMTk's own start-up (reserving and
/// recording its side-metadata address range, about 5 ms) runs on a helper
/// thread ([`vmkit::gc::start`]) while `toyvm` parses the program, sets up the
/// JIT and runs it: the program's first allocation waits for it, and a program
/// that allocates nothing never does.
pub fn start_gc(gc: &GcOptions) -> Result<(), String> {
    vmkit::vm::start(&VM, gc).map_err(|e| e.to_string())
}

/// Runs a checked program on the calling thread, which becomes the main Toy
/// thread, and exits the process with its status once the program is over;
/// returns only an error that kept it from running. The calling thread needs
/// [`main_thread_stack`] bytes of stack. Starts the collector with `opts.gc`
/// unless [`start_gc`] did.
pub fn run(
    prog: crate::lang::ir::Program,
    args: Vec<String>,
    opts: RunOptions,
) -> Result<std::convert::Infallible, String> {
    if !vmkit::gc::is_initialized() {
        start_gc(&opts.gc)?;
    }
    crate::runtime::clock();
    print::init(&prog);
    let _ = VM
        .globals
        .set(prog.globals.iter().map(|_| AtomicU64::new(0)).collect());
    let _ = VM
        .global_is_ref
        .set(prog.globals.iter().map(|d| d.ty.is_ref()).collect());
    let literals = program::string_literals(&prog);
    let const_ix = literals
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_ptr() as usize, i))
        .collect();
    let _ = VM
        .consts
        .set(literals.iter().map(|_| AtomicU64::new(0)).collect());
    let struct_types = prog
        .structs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let refs: Vec<bool> = s.fields.iter().map(|(_, t)| t.is_ref()).collect();
            tobj::struct_type(&s.name, i, &refs)
        })
        .collect();
    let sh = program::install(Shared {
        prog,
        struct_types,
        args,
        vm: &VM,
        thread_stack: opts.thread_stack,
        toy_stack: opts.toy_stack,
        const_ix,
        literals,
    });
    let engine = opts.engine;
    let ahead = ahead_of_jit(engine, opts.calls_before_jit);
    // Running ahead of the JIT, the main thread's limit leaves room for the
    // interpreted frames as well; each call of compiled code gets the JIT's
    // stack below the interpreter's frames (see `Interp::invoke_jit`).
    let toy_stack = main_toy_stack(opts.toy_stack, engine, opts.calls_before_jit);
    crate::jit::configure(opts.jit.clone());
    // A program that starts compiled sets the JIT up now (nothing here needs
    // the heap: this overlaps with MMTk's initialization); one that starts on
    // the interpreter when its first function is compiled, if ever.
    let jit = (engine == Engine::Jit && !ahead).then(crate::jit::ToyJit::get_or_exit);
    let gc_stats = opts.gc_stats;
    let t = vmkit::attach("main").expect("attach main thread");
    set_stack_limit(&t, toy_stack);
    // String constants are allocated when first used, and what the
    // runtime preallocates when the heap comes up (`ToyVm::heap_ready`).
    let result = match (engine, jit) {
        (Engine::Interp, _) => Interp::new(sh, &t).run_main(),
        (Engine::Jit, None) => Interp::ahead_of_jit(sh, &t, opts.calls_before_jit).run_main(),
        (Engine::Jit, Some(j)) => j.run_main(&t),
    };
    if gc_stats && engine == Engine::Jit {
        // (all zero when the interpreter ran the whole program)
        let js = crate::jit::stats().unwrap_or_default();
        eprintln!(
            "jit: {} functions, {} CLIF instructions, {} bytes of code, compiled in {:.3} ms, {} frames walked for backtraces",
            js.functions,
            js.clif_insts,
            js.code_bytes,
            js.compile_time.as_secs_f64() * 1e3,
            vmkit::jit::frames_walked()
        );
    }
    let status = match result {
        Ok(v) => v as i32,
        Err((msg, trace)) => {
            t.native(|| threads::report_uncaught(&msg, &trace));
            EXIT_UNCAUGHT
        }
    };
    let deaths = t.native(|| {
        let deaths = threads::wait_all_unjoined();
        for (m, tr) in &deaths {
            threads::report_uncaught(m, tr);
        }
        threads::flush_out();
        deaths
    });
    let status = if deaths.is_empty() {
        status
    } else {
        EXIT_UNCAUGHT
    };
    let status = match threads::output_error() {
        Some(e) => {
            eprintln!("toyvm: error writing the program's output: {e}");
            if status == 0 {
                EXIT_UNCAUGHT
            } else {
                status
            }
        }
        None => status,
    };
    if gc_stats {
        report_gc_stats();
    }
    // Exit from here: detaching, unmapping this thread's large stack and
    // joining cost more than the rest of a short program (the unmap
    // waits for MMTk's initialization, still mapping, when the program
    // never needed the heap).
    std::process::exit(status)
}

/// The stack the thread that calls [`run`] needs: `main_stack` for the runtime
/// and the JIT compiler, plus the Toy stack of the engine for `--stack`.
pub fn main_thread_stack(
    main_stack: usize,
    toy_stack_size: usize,
    engine: Engine,
    calls_before_jit: u32,
) -> usize {
    main_stack.saturating_add(main_toy_stack(toy_stack_size, engine, calls_before_jit))
}

/// The Toy stack of the main thread (see [`RunOptions::calls_before_jit`]):
/// when the interpreter runs ahead of the JIT, the JIT's plus
/// [`AHEAD_OF_JIT_STACK`] for the interpreted frames above compiled code.
fn main_toy_stack(size: usize, engine: Engine, calls_before_jit: u32) -> usize {
    if ahead_of_jit(engine, calls_before_jit) {
        size.saturating_add(AHEAD_OF_JIT_STACK)
    } else {
        toy_stack(size, engine)
    }
}

/// Whether the main thread runs on the interpreter ahead of the JIT
/// ([`Interp::ahead_of_jit`]).
fn ahead_of_jit(engine: Engine, calls_before_jit: u32) -> bool {
    engine == Engine::Jit && calls_before_jit > 0
}

/// The stack the interpreted frames of a main thread running ahead of the JIT
/// may use: at most 64 frames of about 850 bytes, each in an expression that
/// may nest thousands deep (a chain of calls as deep as the JIT's stack allows
/// goes to the JIT after the 64th). Past it, StackOverflowError, as on the
/// interpreter.
pub const AHEAD_OF_JIT_STACK: usize = 16 << 20;

/// How many times the JIT's stack the interpreter gets: one Toy call takes
/// about 850 bytes of its (native, recursive) stack, 25 to 40 in JIT code.
pub const INTERP_STACK_FACTOR: usize = 16;

/// The stack Toy calls may use on `engine` for a `--stack` of `size`.
fn toy_stack(size: usize, engine: Engine) -> usize {
    match engine {
        Engine::Jit => size,
        Engine::Interp => size.saturating_mul(INTERP_STACK_FACTOR),
    }
}

/// Lets Toy calls on `t` use `size` bytes of stack below the caller's frame:
/// past it, they throw StackOverflowError (so the stack a collection scans and
/// the time to overflow it stay small, as with Java's default 1 MiB stacks).
fn set_stack_limit(t: &Thread, size: usize) {
    let here = &size as *const usize as usize;
    t.set_stack_limit(here.saturating_sub(size));
}

/// Prints `--gc-stats`' collector line.
fn report_gc_stats() {
    let st = vmkit::gc::stats::snapshot();
    let heap = match vmkit::gc::trigger::peak_heap_size() {
        // Nothing needed more than the early region: MMTk never started.
        _ if !vmkit::gc::is_heap_ready() => format!(
            "heap not started (max {} MiB)",
            vmkit::gc::total_bytes() >> 20
        ),
        // MMTk came up (on its own thread, while the program ran) but nothing
        // was ever allocated in it: no collection, nothing in use.
        _ if st.collections == 0 && vmkit::gc::used_bytes() == 0 => format!(
            "heap started, nothing allocated in it (max {} MiB)",
            vmkit::gc::total_bytes() >> 20
        ),
        Some(peak) => format!(
            "growing heap, at most {} MiB (max {} MiB)",
            peak >> 20,
            vmkit::gc::total_bytes() >> 20
        ),
        None => format!("heap {} MiB", vmkit::gc::total_bytes() >> 20),
    };
    eprintln!(
        "gc: plan {} {heap}: {} collections, pause total {:.3} ms, mean {:.3} ms, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms, max time-to-safepoint {:.3} ms, {} bytes allocated by the runtime (not counting inline allocation), {} bytes copied, heap peak {} bytes, {} objects marked while the program ran, {} bytes returned to the OS, {} chunks prepared and {} swept, {} concurrent marking cycles, {} full stop-the-world collections, {} barrier slow paths in compiled code",
        vmkit::gc::plan(),
        st.collections,
        st.pause_total.as_secs_f64() * 1e3,
        st.pause_mean().as_secs_f64() * 1e3,
        st.pause_p50.as_secs_f64() * 1e3,
        st.pause_p99.as_secs_f64() * 1e3,
        st.pause_max.as_secs_f64() * 1e3,
        st.ttsp_max.as_secs_f64() * 1e3,
        st.bytes_allocated,
        st.bytes_copied,
        st.heap_peak,
        st.scanned_concurrently,
        st.bytes_returned_to_os,
        st.chunks_prepared,
        st.chunks_swept,
        st.marking_cycles,
        st.full_pauses,
        st.barrier_slow_paths
    );
}

/// The most Toy threads that may run at once: each takes an OS thread, its
/// stacks and a mutator, and the kernel's limits (memory maps, threads) end
/// the process if they are reached while a thread starts.
pub const MAX_LIVE_THREADS: usize = 4096;

/// Starts a Toy thread running `f(args)`; its outcome goes to record `idx`.
/// A `ThreadError` if it cannot start (the record is then finished, as if
/// the thread had been joined).
pub fn spawn_thread(
    sh: &'static Shared,
    _parent: &Thread,
    f: usize,
    args: Vec<(u64, bool)>,
    idx: usize,
    engine: Engine,
) -> Result<(), RuntimeError> {
    if VM.live_threads.fetch_add(1, Ordering::SeqCst) >= MAX_LIVE_THREADS {
        VM.live_threads.fetch_sub(1, Ordering::SeqCst);
        threads::record(idx).finish_unstarted();
        return Err(errors::too_many_threads(MAX_LIVE_THREADS));
    }
    // Reference arguments stay rooted (and updated) until the thread takes them.
    let args = args
        .into_iter()
        .map(|(w, r)| {
            if r {
                SpawnArg::Value(w)
            } else {
                SpawnArg::Word(w)
            }
        })
        .collect();
    let toy_stack = toy_stack(sh.toy_stack, engine);
    let stack = sh.thread_stack.saturating_add(toy_stack);
    let name = sh.prog.funcs[f].name.clone();
    let spawned = vmkit::thread::spawn(
        &format!("toy-{name}"),
        Some(stack),
        args,
        move |t, words| {
            threads::set_current(idx);
            set_stack_limit(t, toy_stack);
            match engine {
                // (set up by the thread that spawned this one)
                Engine::Jit => crate::jit::jit().run(t, f, &words),
                Engine::Interp => {
                    let mut it = Interp::new(sh, t);
                    match it.call_with(f, &words) {
                        Ok(v) => {
                            Outcome::Value(if sh.prog.funcs[f].ret == crate::lang::ir::Ty::Int {
                                v as i64
                            } else {
                                0
                            })
                        }
                        Err(_) => {
                            let (m, tr) = it.take_death();
                            Outcome::Died(m, tr)
                        }
                    }
                }
            }
        },
        move |outcome| {
            let outcome = outcome.unwrap_or_else(|died| {
                Outcome::Died(format!("internal error: {died}").into_bytes(), Vec::new())
            });
            threads::record(idx).finish(outcome);
            VM.live_threads.fetch_sub(1, Ordering::SeqCst);
        },
    );
    match spawned {
        Ok(_) => Ok(()),
        Err(e) => {
            VM.live_threads.fetch_sub(1, Ordering::SeqCst);
            threads::record(idx).finish_unstarted();
            Err(errors::cannot_start_thread(&e))
        }
    }
}
