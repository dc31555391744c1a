//! `luavm`: run Lua 5.4 programs like `lua`.

use clap::Parser;
use luavm::heap::{self, Thrown};
use luavm::interp::Interp;
use std::io::{BufRead, Write};
use std::process::exit;
use vmkit::gc::{GcOptions, Plan};

/// The interpreter thread's stack (reserved, committed as used).
const MAIN_STACK: usize = 1 << 30;

/// Exit status of a usage error.
const EXIT_USAGE: i32 = 1;

#[derive(Parser, Debug)]
#[command(
    name = "luavm",
    about = "Lua 5.4 on vmkit",
    override_usage = "luavm [options] [script [args]]"
)]
struct Cli {
    /// Run CODE (may be repeated; before the script).
    #[arg(short = 'e', value_name = "CODE")]
    exec: Vec<String>,
    /// Run every function on the interpreter (the default compiles Lua
    /// functions with the JIT: on their first call, or, for a function without
    /// loops, on a compiler thread from its second call on).
    #[arg(long)]
    interp: bool,
    /// Compile every function on its first call, loops or not (testing: the
    /// compiled paths of functions that run once).
    #[arg(long)]
    jit_eager: bool,
    /// Print JIT statistics to stderr at exit (functions compiled, functions
    /// left to the interpreter and why); it first waits for the compilations
    /// the compiler thread was given (without it, they are dropped at exit).
    #[arg(long)]
    jit_stats: bool,
    /// Garbage collection plan.
    #[arg(long, default_value = "Immix")]
    plan: String,
    /// Heap size (fixed, or the growing heap's maximum).
    #[arg(long, value_name = "SIZE")]
    heap: Option<String>,
    /// The growing heap's starting size.
    #[arg(long, value_name = "SIZE")]
    min_heap: Option<String>,
    /// The growing heap's maximum.
    #[arg(long, value_name = "SIZE")]
    max_heap: Option<String>,
    /// Print garbage collection statistics to stderr at exit.
    #[arg(long)]
    gc_stats: bool,
    /// Print a line to stderr at the end of every collection (pause, heap in use
    /// before and after, heap size, GC workers used).
    #[arg(long)]
    gc_log: bool,
    /// Ask the kernel for transparent huge pages on the heap, where Linux
    /// offers them (off by default: on a VM whose host backs memory lazily each
    /// fresh huge page can take milliseconds to touch).
    #[arg(long)]
    huge_pages: bool,
    /// Collect before every allocation (slow; for testing).
    #[arg(long)]
    stress_gc: bool,
    /// Make every Immix collection move objects (for testing).
    #[arg(long)]
    gc_move: bool,
    /// Print the Cranelift IR of every compiled function to stderr.
    #[arg(long)]
    dump_clif: bool,
    /// The script (`-` for standard input) and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

fn usage(msg: &str) -> ! {
    eprintln!("luavm: {msg}");
    exit(EXIT_USAGE)
}

fn size(s: &str) -> usize {
    vmkit::gc::parse_size(s).unwrap_or_else(|e| usage(&e))
}

fn main() {
    let cli = Cli::parse();
    vmkit::gc::stats::set_log(cli.gc_log);
    if cli.dump_clif && cli.interp {
        usage("--dump-clif needs the JIT (not --interp)");
    }
    if let Some(first) = cli.rest.first() {
        // An option clap does not know lands here (the script's place).
        if first.len() > 1 && first.starts_with('-') && first != "--" {
            usage(&format!("unrecognized option '{first}' (see --help)"));
        }
    }
    if cli.jit_eager && cli.interp {
        usage("--jit-eager needs the JIT (not --interp)");
    }
    let plan: Plan = cli
        .plan
        .parse()
        .unwrap_or_else(|e: <Plan as std::str::FromStr>::Err| usage(&e.to_string()));
    let mut gc = GcOptions {
        plan,
        stress_gc: cli.stress_gc,
        transparent_huge_pages: cli.huge_pages,
        ..GcOptions::default()
    };
    let fixed = cli.heap.as_deref().map(size);
    let max = cli.max_heap.as_deref().map(size);
    let min = cli.min_heap.as_deref().map(size);
    if let (Some(lo), Some(hi)) = (min, max) {
        if lo > hi {
            usage("--min-heap is larger than --max-heap");
        }
    }
    match (fixed, max) {
        (Some(h), None) => {
            gc.heap_size = h;
            gc.min_heap_size = min;
        }
        (_, Some(m)) => {
            gc.heap_size = m;
            gc.min_heap_size = Some(min.unwrap_or(32 << 20).min(m));
        }
        (None, None) => {
            gc.heap_size = 4 << 30;
            gc.min_heap_size = Some(min.unwrap_or(32 << 20));
        }
    }
    if cli.gc_move {
        gc = gc.force_moving();
    }
    if let Err(e) = vmkit::vm::start(&luavm::vm::VM, &gc) {
        usage(&e.to_string());
    }
    // The interpreter recurses on the Rust stack: a big one (reserved, not
    // committed) for deep Lua recursion.
    let runner = std::thread::Builder::new()
        .name("lua-main".into())
        .stack_size(MAIN_STACK)
        .spawn(move || run(cli))
        .unwrap_or_else(|e| usage(&format!("cannot start the main thread: {e}")));
    let code = runner.join().unwrap_or(70);
    exit(code)
}

fn run(cli: Cli) -> i32 {
    let t = match vmkit::attach("lua-main") {
        Ok(t) => t,
        Err(e) => {
            eprintln!("luavm: cannot attach: {e:?}");
            return 70;
        }
    };
    let mut it = match Interp::new(&t) {
        Ok(mut it) => {
            // Most of the stack (the thread started a few frames up).
            it.set_stack_size(MAIN_STACK - (64 << 10));
            if !cli.interp {
                match luavm::jit::Jit::new(cli.dump_clif) {
                    Ok(mut j) => {
                        j.eager = cli.jit_eager;
                        it.jit = Some(j);
                    }
                    Err(e) => {
                        eprintln!("luavm: cannot start the JIT: {e}");
                        return 70;
                    }
                }
            }
            it
        }
        Err(Thrown) => {
            eprintln!("luavm: not enough memory");
            return 1;
        }
    };
    // `arg`: the script at 0, its arguments from 1, the interpreter at -1.
    let (script, args) = match cli.rest.split_first() {
        Some((s, a)) => (Some(s.clone()), a.to_vec()),
        None => (None, Vec::new()),
    };
    if set_arg(&mut it, script.as_deref(), &args).is_err() {
        eprintln!("luavm: not enough memory");
        return 1;
    }
    for code in &cli.exec {
        let status = run_chunk(
            &mut it,
            "(command line)".into(),
            code.as_bytes(),
            &[],
            false,
        );
        if status != 0 {
            return finish(&mut it, &cli, status);
        }
    }
    let status = match script.as_deref() {
        Some("-") => {
            let mut src = Vec::new();
            if std::io::Read::read_to_end(&mut std::io::stdin(), &mut src).is_err() {
                eprintln!("luavm: cannot read stdin");
                return 1;
            }
            run_chunk(&mut it, "stdin".into(), &src, &args, true)
        }
        Some(path) => match std::fs::read(path) {
            Ok(src) => run_chunk(&mut it, path.to_string(), &src, &args, true),
            Err(e) => {
                eprintln!("luavm: cannot open {path}: {}", io_reason(&e));
                1
            }
        },
        None if cli.exec.is_empty() => repl(&mut it),
        None => 0,
    };
    finish(&mut it, &cli, status)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => e.to_string(),
    }
}

fn finish(it: &mut Interp<'_>, cli: &Cli, status: i32) -> i32 {
    // As lua_close: every finalizer still due runs.
    luavm::stdlib::finalize::close(it);
    luavm::stdlib::flush_at_exit(it);
    if cli.jit_stats {
        match &mut it.jit {
            Some(j) => {
                // Count what the compiler thread was given too.
                j.wait_for_compiler();
                let s = j.stats();
                eprintln!(
                    "jit: {} functions compiled ({} on the compiler thread, {} of them finished after the program; {} CLIF instructions, {} bytes of code, {:?}); on the interpreter: {}",
                    j.compiled,
                    j.compiled_in_background,
                    j.compiled_at_exit,
                    s.clif_insts,
                    s.code_bytes,
                    s.compile_time,
                    if j.interpreted.is_empty() {
                        "none".to_string()
                    } else {
                        j.interpreted
                            .iter()
                            .map(|(why, n)| format!("{n} ({why})"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                );
            }
            None => eprintln!("jit: off (--interp)"),
        }
    }
    if cli.gc_stats {
        let s = vmkit::gc::stats::snapshot();
        eprintln!(
            "gc: plan {} collections {} pause total {:?} max {:?} p50 {:?} p99 {:?} copied {} bytes heap peak {} bytes heap size {} bytes",
            vmkit::gc::plan(),
            s.collections,
            s.pause_total,
            s.pause_max,
            s.pause_p50,
            s.pause_p99,
            s.bytes_copied,
            s.heap_peak,
            // The growing heap's largest size, or the fixed heap's size.
            vmkit::gc::trigger::peak_heap_size().unwrap_or_else(vmkit::gc::total_bytes)
        );
    }
    status
}

fn set_arg(it: &mut Interp<'_>, script: Option<&str>, args: &[String]) -> Result<(), Thrown> {
    let t = it.t;
    let tab = it.mem(heap::new_table(t, args.len() + 1, 2))?;
    heap::push(t, tab);
    let mut items: Vec<(i64, &str)> = vec![(-1, "luavm")];
    if let Some(s) = script {
        items.push((0, s));
    }
    for (i, a) in args.iter().enumerate() {
        items.push((i as i64 + 1, a));
    }
    for (k, v) in items {
        let v = it.string(v.as_bytes())?;
        heap::push(t, v);
        let k = it.int(k)?;
        let v = heap::pop(t);
        let tab = heap::at(t, heap::top(t) - 1);
        luavm::table::raw_set(t, tab, k, v).map_err(|_| it.no_memory())?;
    }
    let k = it.string(b"arg")?;
    let tab = heap::pop(t);
    let g = it.globals();
    luavm::table::raw_set(t, g, k, tab).map_err(|_| it.no_memory())
}

/// Parses and runs a chunk; prints an error as lua5.4 does. The exit status.
fn run_chunk(it: &mut Interp<'_>, name: String, src: &[u8], args: &[String], file: bool) -> i32 {
    // Objects made before the heap is up (vmkit's early region) are immortal:
    // a program that may rely on collection (finalizers, weak tables) waits
    // for the heap first, so that its objects can die.
    if [&b"__gc"[..], b"__mode"]
        .iter()
        .any(|w| src.windows(w.len()).any(|x| x == *w))
    {
        vmkit::gc::wait_heap_ready();
    }
    let parsed = if file {
        luavm::lang::parse(&name, src)
    } else {
        luavm::lang::parser::parse_chunk(&name, src)
    };
    let f = match parsed {
        Ok(f) => f,
        Err(e) => {
            luavm::stdlib::flush(it);
            eprintln!("luavm: {}", e.message);
            return 1;
        }
    };
    let base = heap::top(it.t);
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    let r = it.run_main(f, &args);
    match r {
        Ok(_) => {
            heap::roots(it.t).truncate(base);
            0
        }
        Err(Thrown) => {
            luavm::stdlib::flush(it);
            report(it);
            heap::roots(it.t).truncate(base);
            1
        }
    }
}

/// Prints the pending error and its traceback to stderr.
fn report(it: &mut Interp<'_>) {
    let e = it.error_value();
    let msg = if let Some(s) = heap::as_str(e) {
        String::from_utf8_lossy(heap::str_bytes(s)).into_owned()
    } else if heap::as_num(e).is_some() {
        String::from_utf8_lossy(&it.tostring_raw(e)).into_owned()
    } else if it.metamethod(e, b"__tostring").is_some() {
        match it.tostring(e) {
            Ok(s) => String::from_utf8_lossy(&s).into_owned(),
            Err(_) => "(error object is not a string)".into(),
        }
    } else {
        format!("(error object is a {} value)", Interp::type_name(e))
    };
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "luavm: {msg}");
    let _ = writeln!(err, "stack traceback:");
    // As luaL_traceback: the first 10 levels and the last 11.
    let mut lines: Vec<&str> = it.traceback.iter().map(String::as_str).collect();
    lines.push("\t[C]: in ?");
    if lines.len() > 21 {
        for l in &lines[..10] {
            let _ = writeln!(err, "{l}");
        }
        let _ = writeln!(err, "\t...\t(skipping {} levels)", lines.len() - 21);
        for l in &lines[lines.len() - 11..] {
            let _ = writeln!(err, "{l}");
        }
    } else {
        for l in &lines {
            let _ = writeln!(err, "{l}");
        }
    }
}

/// The interactive prompt: each line runs as a statement, or as `return LINE`
/// to print its values.
fn repl(it: &mut Interp<'_>) -> i32 {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    let _ = writeln!(out, "luavm (Lua 5.4 on vmkit)");
    loop {
        let _ = write!(out, "> ");
        let _ = out.flush();
        let mut line = String::new();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => {
                let _ = writeln!(out);
                return 0;
            }
            Ok(_) => {}
        }
        let expr = format!("return {line}");
        let src = match luavm::lang::parser::parse_chunk("stdin", expr.as_bytes()) {
            Ok(_) => expr,
            Err(_) => line.clone(),
        };
        let f = match luavm::lang::parser::parse_chunk("stdin", src.as_bytes()) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("luavm: {}", e.message);
                continue;
            }
        };
        let base = heap::top(it.t);
        match it.run_main(f, &[]) {
            Ok(n) => {
                if n > 0 {
                    let print = luavm::value::Value::builtin(0);
                    let vals: Vec<luavm::value::Value> =
                        (0..n).map(|i| heap::at(it.t, base + i)).collect();
                    let _ = it.call_value(print, &vals);
                }
                luavm::stdlib::flush(it);
            }
            Err(Thrown) => {
                luavm::stdlib::flush(it);
                report(it);
            }
        }
        heap::roots(it.t).truncate(base);
    }
}
