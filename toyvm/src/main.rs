//! The `toyvm` command: runs a Toy program on the vmkit substrate.

use clap::Parser;
use std::process::exit;
use std::sync::atomic::{AtomicBool, Ordering};
use toyvm::engine::{self, Engine, RunOptions, EXIT_INTERNAL, EXIT_USAGE};
use vmkit::gc::{GcOptions, Plan};

/// Whether file descriptor 1 was open when the process started. Rust's runtime
/// reopens a closed standard descriptor on /dev/null before `main`, which then
/// cannot be told from a /dev/null the caller chose: this is read earlier, by a
/// constructor in `.init_array` (run by the C runtime before Rust's start-up).
static STDOUT_OPEN_AT_START: AtomicBool = AtomicBool::new(true);

extern "C" fn record_stdout_state() {
    // SAFETY: `fcntl(F_GETFD)` only reads the flags of a descriptor number; on a
    // closed one it fails with EBADF and touches nothing.
    let open = unsafe { libc::fcntl(1, libc::F_GETFD) } != -1;
    STDOUT_OPEN_AT_START.store(open, Ordering::Relaxed);
}

#[used]
#[link_section = ".init_array"]
static RECORD_STDOUT_STATE: extern "C" fn() = record_stdout_state;

/// Runs a Toy program (see the Toy language reference).
#[derive(Parser, Debug)]
#[command(name = "toyvm", version, about, long_about = None)]
struct Cli {
    /// Run on the reference interpreter instead of the JIT.
    #[arg(long)]
    interp: bool,
    /// How many calls of a function without loops the main thread interprets
    /// before the JIT compiles the function (a function with a loop, and every
    /// function compiled code calls, is compiled on its first call); 0 compiles
    /// every function on its first call.
    #[arg(long, value_name = "N", default_value = "1", value_parser = clap::value_parser!(u32).range(0..=1000))]
    calls_before_jit: u32,
    /// MMTk plan: Immix (default), StickyImmix, SemiSpace, MarkSweep, GenImmix, GenCopy,
    /// Compressor, ConcurrentImmix.
    #[arg(long, value_name = "NAME", default_value = "Immix", value_parser = parse_plan)]
    plan: Plan,
    /// Fixed heap size, e.g. 64M, 2G. Without it the heap starts at --min-heap and
    /// grows (and shrinks) as the program needs, up to --max-heap.
    #[arg(long, value_name = "SIZE", value_parser = parse_heap)]
    heap: Option<usize>,
    /// Where the heap starts when --heap is not given (it grows from there, and
    /// never shrinks below it) [default: 32M, or --max-heap if that is smaller]
    #[arg(long, value_name = "SIZE", value_parser = parse_heap)]
    min_heap: Option<usize>,
    /// The most the heap may grow to when --heap is not given.
    #[arg(long, value_name = "SIZE", default_value = "2G", value_parser = parse_heap)]
    max_heap: usize,
    /// The stack each thread's Toy calls may use before StackOverflowError (as
    /// Java's -Xss; the interpreter gets 16 times it: its frames are larger).
    #[arg(long, value_name = "SIZE", default_value = "1M", value_parser = parse_stack)]
    stack: usize,
    /// Ask the kernel for transparent huge pages on the heap, where Linux offers
    /// them (fewer page faults, but on a VM whose host backs memory lazily each
    /// fresh huge page can take milliseconds to touch).
    #[arg(long, overrides_with = "no_huge_pages")]
    huge_pages: bool,
    /// Do not ask for transparent huge pages (the default; overrides an earlier
    /// --huge-pages).
    #[arg(long, overrides_with = "huge_pages")]
    no_huge_pages: bool,
    /// Allocate nothing before the heap is up (by default, objects made while the
    /// memory manager starts go to a 1 MiB region where they never move); with
    /// this, every object can move: for testing the collector.
    #[arg(long)]
    no_early_objects: bool,
    /// Print collection count, pause times and heap use to stderr at exit.
    #[arg(long)]
    gc_stats: bool,
    /// Print a line to stderr at the end of every collection (pause, heap in use
    /// before and after, heap size, GC workers used).
    #[arg(long)]
    gc_log: bool,
    /// GC worker threads (by default chosen from the CPUs the process may run on).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    gc_threads: Option<u16>,
    /// Collect at every safepoint that allocates (slow; finds root bugs).
    #[arg(long)]
    stress_gc: bool,
    /// Make every Immix collection move objects (defragment every block).
    #[arg(long)]
    gc_move: bool,
    /// Collect each time SIZE bytes have been allocated (testing: makes a program
    /// that allocates collect, whatever the heap size; every allocation then takes
    /// the slow path).
    #[arg(long, value_name = "SIZE", value_parser = vmkit::gc::parse_size)]
    gc_every: Option<usize>,
    /// Print the Cranelift IR of every compiled function to stderr.
    #[arg(long)]
    dump_clif: bool,
    /// Print the machine code of every compiled function to stderr.
    #[arg(long)]
    dump_asm: bool,
    /// Run the Cranelift verifier on every compiled function.
    #[arg(long)]
    verify_clif: bool,

    /// The program to run.
    file: std::path::PathBuf,
    /// Arguments for the program (`args()`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// The most `--stack` may be (the interpreter's is 16 times it).
const MAX_STACK: usize = 1 << 30;

fn parse_heap(s: &str) -> Result<usize, String> {
    let n = vmkit::gc::parse_size(s)?;
    if vmkit::gc::check_heap_size(n).is_err() {
        return Err(format!(
            "heap size '{s}' out of range: from {}M to {}G",
            vmkit::gc::MIN_HEAP_SIZE >> 20,
            vmkit::gc::MAX_HEAP_SIZE >> 30
        ));
    }
    Ok(n)
}

fn parse_stack(s: &str) -> Result<usize, String> {
    let n = vmkit::gc::parse_size(s)?;
    if !(64 << 10..=MAX_STACK).contains(&n) {
        return Err(format!(
            "stack size '{s}' out of range: from 64K to {}G",
            MAX_STACK >> 30
        ));
    }
    Ok(n)
}

fn parse_plan(s: &str) -> Result<Plan, String> {
    let p: Plan = s.parse()?;
    if p == Plan::NoGC {
        return Err(
            "plan NoGC is not supported by toyvm: it never reclaims memory, so a \
                    program cannot recover from an OutOfMemoryError"
                .into(),
        );
    }
    match p.unsupported_reason() {
        Some(why) => Err(format!("plan {p} is not supported: {why}")),
        None => Ok(p),
    }
}

fn main() {
    if !STDOUT_OPEN_AT_START.load(Ordering::Relaxed) {
        toyvm::runtime::threads::stdout_closed_at_start();
    }
    std::panic::set_hook(Box::new(|info| {
        eprintln!("toyvm: internal error: {info}\nThis is a bug in toyvm; please file a bug report with the program that triggered it.");
        exit(EXIT_INTERNAL);
    }));
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            if e.use_stderr() {
                // clap's message is a paragraph (for a missing argument, a line
                // ending in ':' and the arguments on the next lines), then usage:
                // say the whole paragraph on one line.
                let msg = e.to_string();
                let para: Vec<&str> = msg
                    .lines()
                    .take_while(|l| !l.trim().is_empty())
                    .map(str::trim)
                    .collect();
                let line = if para.is_empty() {
                    "bad command line".to_string()
                } else {
                    para.join(" ")
                };
                eprintln!("toyvm: {}", line.trim_start_matches("error: "));
                // A bad value names its option and the accepted range: one line.
                if e.kind() != clap::error::ErrorKind::ValueValidation {
                    eprintln!("Usage: toyvm [OPTIONS] FILE [ARGS]... (try 'toyvm --help')");
                }
                exit(EXIT_USAGE);
            }
            let _ = e.print();
            exit(0);
        }
    };
    // One thread reads and checks the program, then runs it as the main Toy
    // thread: the front end recurses over the program's trees (at most
    // `parser::MAX_TREE_DEPTH` deep), and the program needs the runtime's and
    // the JIT's room below its Toy stack. (A second thread with a large stack
    // cost 0.6 ms of start-up: the first touch of its stack faults in a huge
    // page.)
    let engine = if cli.interp {
        Engine::Interp
    } else {
        Engine::Jit
    };
    let stack = engine::main_thread_stack(MAIN_STACK, cli.stack, engine, cli.calls_before_jit);
    let front = std::thread::Builder::new()
        .name("toy-main".into())
        .stack_size(stack)
        .spawn(move || run(cli, engine));
    match front.map(|h| h.join()) {
        Ok(Ok(never)) => match never {},
        Ok(Err(_)) => exit(EXIT_INTERNAL),
        Err(e) => {
            eprintln!("toyvm: cannot start: {e}");
            exit(EXIT_INTERNAL)
        }
    }
}

/// Stack of the main thread besides its Toy stack: room for the front end
/// (deep trees), the runtime and the JIT compiler.
const MAIN_STACK: usize = 256 << 20;

/// Runs the program of the command line `cli` on `engine`; never returns.
fn run(cli: Cli, engine: Engine) -> std::convert::Infallible {
    // Test hook for the internal-error path (a bug in toyvm must be reported as
    // one, with exit status 70, never as a crash).
    if std::env::var_os("TOYVM_TEST_INTERNAL_PANIC").is_some() {
        panic!("internal panic requested by TOYVM_TEST_INTERNAL_PANIC");
    }
    if cli.min_heap.is_some_and(|m| m > cli.max_heap) {
        eprintln!("toyvm: --min-heap is larger than --max-heap");
        exit(EXIT_USAGE);
    }
    let mut gc = GcOptions {
        plan: cli.plan,
        heap_size: cli.heap.unwrap_or(cli.max_heap),
        min_heap_size: match cli.heap {
            Some(_) => None,
            None => Some(cli.min_heap.unwrap_or(32 << 20).min(cli.max_heap)),
        },
        stress_gc: cli.stress_gc,
        transparent_huge_pages: cli.huge_pages && !cli.no_huge_pages,
        early_objects: !cli.no_early_objects,
        stress_factor: cli.gc_every.unwrap_or(0),
        gc_threads: cli.gc_threads.map(usize::from),
        ..GcOptions::default()
    };
    vmkit::gc::stats::set_log(cli.gc_log);
    if cli.gc_move {
        gc = gc.force_moving();
    }
    // MMTk's initialization runs while the program is read, checked and the JIT
    // is set up.
    if let Err(e) = engine::start_gc(&gc) {
        eprintln!("toyvm: {e}");
        exit(EXIT_USAGE);
    }
    let file = cli.file.display().to_string();
    let src = match std::fs::read(&cli.file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("toyvm: cannot read {file}: {e}");
            exit(EXIT_USAGE);
        }
    };
    let prog = match toyvm::lang::compile(&file, &src) {
        Ok(p) => p,
        Err(diags) => {
            for d in diags {
                eprintln!("{}", d.render(&file));
            }
            exit(EXIT_USAGE);
        }
    };
    let opts = RunOptions {
        gc,
        engine,
        gc_stats: cli.gc_stats,
        thread_stack: 64 << 20,
        toy_stack: cli.stack,
        jit: vmkit::jit::JitOptions {
            dump_clif: cli.dump_clif,
            dump_asm: cli.dump_asm,
            verify: cli.verify_clif || cfg!(debug_assertions),
            ..vmkit::jit::JitOptions::default()
        },
        calls_before_jit: cli.calls_before_jit,
    };
    let Err(e) = engine::run(prog, cli.args, opts);
    eprintln!("toyvm: {e}");
    exit(EXIT_USAGE)
}
