//! Errors of the `toyvm` command itself: one clear line on stderr, exit status 2.

use std::process::Command;

fn toyvm(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_toyvm"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(args)
        .output()
        .expect("run toyvm");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn missing_file() {
    let (code, out, err) = toyvm(&["no/such/file.toy"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.starts_with("toyvm: cannot read no/such/file.toy:"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn bad_option_and_values() {
    for args in [
        &["--bogus", "examples/hello.toy"][..],
        &["--heap", "12Q", "examples/hello.toy"],
        &["--heap", "0", "examples/hello.toy"],
        &[
            "--min-heap",
            "100M",
            "--max-heap",
            "10M",
            "examples/hello.toy",
        ],
        &["--plan", "Nope", "examples/hello.toy"],
        &["--plan", "PageProtect", "examples/hello.toy"],
        &["--plan", "MarkCompact", "examples/hello.toy"],
        &["--plan", "NoGC", "examples/hello.toy"],
        &[],
    ] {
        let (code, out, err) = toyvm(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}");
        assert!(err.starts_with("toyvm: "), "{args:?}: {err}");
    }
}

#[test]
fn rejected_plan_says_why() {
    let (_, _, err) = toyvm(&["--plan", "MarkCompact", "examples/hello.toy"]);
    assert!(err.contains("OutOfMemoryError"), "{err}");
}

#[test]
fn program_arguments_and_options_after_file() {
    let (code, out, _) = toyvm(&["examples/fib.toy", "10"]);
    assert_eq!(code, 0);
    assert_eq!(out, "fib(10) = 55\n");
    // Everything after the file belongs to the program, even what looks like an option.
    let (code, out, err) = toyvm(&["--interp", "examples/fib.toy", "-3"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "fib(-3) = -3\n");
    let (code, out, _) = toyvm(&["examples/fib.toy", "--", "12"]);
    assert_eq!(code, 0);
    assert_eq!(out, "fib(12) = 144\n");
}

#[test]
fn gc_stats_and_dump_clif_go_to_stderr() {
    let (code, out, err) = toyvm(&[
        "--gc-stats",
        "--dump-clif",
        "--calls-before-jit",
        "0",
        "examples/hello.toy",
    ]);
    assert_eq!(code, 0);
    assert_eq!(out, "hello, world\n");
    assert!(err.contains("gc: plan Immix"), "{err}");
    assert!(err.contains("jit: 1 functions"), "{err}");
    assert!(err.contains("; function main"), "{err}");
    // Hello allocates nothing: MMTk is never started.
    assert!(err.contains("gc: plan Immix heap not started"), "{err}");
}

/// The number of functions the JIT compiled, from `--gc-stats`' `jit:` line.
fn compiled_functions(err: &str) -> u64 {
    let line = err
        .lines()
        .find(|l| l.starts_with("jit: "))
        .unwrap_or_else(|| panic!("no jit line in {err}"));
    line["jit: ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no function count in {line}"))
}

/// By default the main thread interprets the first call of each function
/// without loops: a program that ends there never starts the JIT, one with
/// a loop or a second call compiles, and `--calls-before-jit 0` compiles
/// everything it runs.
#[test]
fn the_interpreter_runs_first_calls_of_functions_without_loops() {
    let dir = std::env::temp_dir().join(format!("toyvm-tier-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, src: &str| {
        let p = dir.join(name);
        std::fs::write(&p, src).unwrap();
        p.display().to_string()
    };
    let once = write(
        "once.toy",
        "fn sq(x: int) -> int { return x * x; }\nfn main() { print(sq(7)); }\n",
    );
    let twice = write(
        "twice.toy",
        "fn sq(x: int) -> int { return x * x; }\nfn main() { print(sq(7) + sq(8)); }\n",
    );
    let looping = write(
        "looping.toy",
        "fn main() { let s = 0; for i in 0..10 { s = s + i; } print(s); }\n",
    );
    let run = |args: &[&str]| {
        let (code, out, err) = toyvm(args);
        assert_eq!(code, 0, "{err}");
        (out, compiled_functions(&err))
    };
    assert_eq!(run(&["--gc-stats", &once]), ("49\n".into(), 0));
    assert_eq!(run(&["--gc-stats", &twice]), ("113\n".into(), 1));
    assert_eq!(run(&["--gc-stats", &looping]), ("45\n".into(), 1));
    assert_eq!(
        run(&["--gc-stats", "--calls-before-jit", "0", &once]),
        ("49\n".into(), 2)
    );
    assert_eq!(
        run(&["--gc-stats", "--calls-before-jit", "2", &twice]),
        ("113\n".into(), 0)
    );
    let (code, _, err) = toyvm(&["--calls-before-jit", "5000", &once]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--calls-before-jit"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn internal_errors_exit_70_with_a_bug_report_request() {
    let out = Command::new(env!("CARGO_BIN_EXE_toyvm"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("TOYVM_TEST_INTERNAL_PANIC", "1")
        .arg("examples/hello.toy")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(70));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("toyvm: internal error:"), "{err}");
    assert!(err.contains("file a bug"), "{err}");
}

#[test]
fn dump_asm_and_verify_clif() {
    // fib(20): deep enough that main, with fib inlined into it, still calls fib
    // (and so compiles it).
    let (code, out, err) = toyvm(&["--dump-asm", "--verify-clif", "examples/fib.toy", "20"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "fib(20) = 6765\n");
    assert!(err.contains("; machine code of fib"), "{err}");
    // x86-64 disassembly of a prologue.
    assert!(err.contains("pushq %rbp"), "{err}");
}

/// Without --heap the heap grows; --max-heap caps it, and a program that keeps
/// more gets an OutOfMemoryError (status 1), not a crash.
#[test]
fn growing_heap_and_its_maximum() {
    let dir = std::env::temp_dir().join(format!("toyvm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prog = dir.join("keep.toy");
    std::fs::write(
        &prog,
        "struct N { v: int, next: N }\n\
         fn main() {\n\
           let n = parse_int(args()[0]);\n\
           let keep: N;\n\
           for i in 0..n { keep = N { v: i, next: keep }; }\n\
           let s = 0;\n\
           while keep != null { s += keep.v; keep = keep.next; }\n\
           print(s);\n\
         }\n",
    )
    .unwrap();
    let p = prog.to_str().unwrap();
    // 3M nodes of 24 bytes (a one-word header, two fields): 68.7 MiB live, past
    // a 64M heap.
    let (code, out, err) = toyvm(&["--gc-stats", "--max-heap", "64M", p, "3000000"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("error: OutOfMemoryError"), "{err}");
    // Raised by the JIT's allocation slow path: the backtrace is the program's.
    assert!(err.contains("\n  at main ("), "{err}");
    // The heap grew from its 32M start to the 64M maximum before giving up.
    assert!(
        err.contains("gc: plan Immix growing heap, at most 64 MiB (max 64 MiB)"),
        "{err}"
    );
    // With room to grow it completes.
    let (code, out, err) = toyvm(&["--gc-stats", "--max-heap", "512M", p, "3000000"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "4499998500000\n");
    assert!(err.contains("growing heap"), "{err}");
    // Starting small (and without huge pages), it grows past the 68.7 MiB live
    // (how far past depends on when the collections fell: 72 to 512 MiB seen).
    let (code, out, err) = toyvm(&[
        "--gc-stats",
        "--min-heap",
        "16M",
        "--max-heap",
        "512M",
        "--no-huge-pages",
        p,
        "3000000",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "4499998500000\n");
    let peak: usize = err
        .split("growing heap, at most ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no heap size in {err}"));
    assert!((69..=512).contains(&peak), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// An uncaught stack overflow in JIT code prints the innermost and outermost
/// frames (inlined ones included) and how many were left out, without building
/// the millions of frames in between.
#[test]
fn stack_overflow_backtrace_is_cut() {
    let dir = std::env::temp_dir().join(format!("toyvm-so-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prog = dir.join("down.toy");
    std::fs::write(
        &prog,
        "fn down(n: int) -> int {\n  return down(n + 1) + 1;\n}\nfn main() {\n  print(down(0));\n}\n",
    )
    .unwrap();
    for engine in [&[][..], &["--interp"]] {
        let mut args = engine.to_vec();
        args.push(prog.to_str().unwrap());
        let (code, out, err) = toyvm(&args);
        assert_eq!(code, 1, "{engine:?}: {err}");
        assert!(out.is_empty());
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines[0], "error: StackOverflowError: recursion too deep");
        assert_eq!(lines.len(), 1 + 20 + 1 + 20, "{engine:?}: {err}");
        // The overflow is raised on entry to `down`: its declaration line.
        assert!(lines[1].ends_with("down.toy:1)"), "{err}");
        assert!(
            lines[2..21].iter().all(|l| l.ends_with("down.toy:2)")),
            "{err}"
        );
        assert!(lines[21].starts_with("  ... ") && lines[21].ends_with(" frames left out ..."));
        assert!(lines[41].starts_with("  at main (") && lines[41].ends_with("down.toy:5)"));
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The heap comes up in the background and string constants are made on first
/// use: a program that allocates nothing runs in a heap too small for anything,
/// on both engines; one that allocates gets a clear error there, and its
/// constants (made lazily, from several threads at once) in a normal heap.
#[test]
fn programs_that_do_not_allocate_never_need_the_heap() {
    for engine in [&[][..], &["--interp"][..]] {
        let run = |extra: &[&str]| {
            let mut a: Vec<&str> = engine.to_vec();
            a.extend_from_slice(extra);
            toyvm(&a)
        };
        let (code, out, err) = run(&["--heap", "1M", "examples/hello.toy"]);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (0, "hello, world\n", "")
        );
        // A heap too small to start is a bad command line (see heap_limits).
        let (code, out, err) = run(&["--heap", "8K", "bench/programs/fib/fib.toy", "10"]);
        assert_eq!(code, 2, "{out}{err}");
        assert!(err.contains("out of range: from 1M to 1024G"), "{err}");
        let dir = std::env::temp_dir().join(format!("toyvm-lit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let prog = dir.join("lits.toy");
        std::fs::write(
            &prog,
            "fn w(k: int) -> int {\n\
               let s = \"\";\n\
               for i in 0..100 { s = s + \"ab\" + \"c\"; }\n\
               return len(s) + k;\n\
             }\n\
             fn main() {\n\
               let ts = new [thread](4);\n\
               for k in 0..4 { ts[k] = spawn w(k); }\n\
               let n = 0;\n\
               for k in 0..4 { n += join(ts[k]); }\n\
               write(\"total \");\n\
               print(n);\n\
             }\n",
        )
        .unwrap();
        let (code, out, err) = run(&[prog.to_str().unwrap()]);
        assert_eq!((code, out.as_str(), err.as_str()), (0, "total 1206\n", ""));
        std::fs::remove_dir_all(&dir).ok();
    }
}

/// A temporary directory for one test, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("toyvm-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
    /// Writes program `name` with `src`; its path.
    fn program(&self, name: &str, src: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, src).unwrap();
        p.to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

const ENGINES: [&[&str]; 2] = [&[], &["--interp"]];

fn run_on(engine: &[&str], args: &[&str]) -> (i32, String, String) {
    let mut a = engine.to_vec();
    a.extend_from_slice(args);
    toyvm(&a)
}

/// A syntax error inside `main` is not followed by "no 'main' function"; a
/// program that parses and has no `main` gets that error.
#[test]
fn no_main_is_not_a_follow_on_error() {
    let d = TempDir::new("nomain");
    let bad = d.program("bad.toy", "fn main() { let x = ; print(x); }\n");
    let (code, _, err) = run_on(&[], &[&bad]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("expected an expression"), "{err}");
    assert!(!err.contains("no 'main'"), "{err}");
    let none = d.program("none.toy", "fn f() { }\n");
    let (code, _, err) = run_on(&[], &[&none]);
    assert_eq!(code, 2, "{err}");
    assert!(err.ends_with(":1:1: error: no 'main' function\n"), "{err}");
}

/// `toyvm --interp` without a program names what is missing.
#[test]
fn missing_program_is_named() {
    for args in [&["--interp"][..], &[]] {
        let (code, out, err) = toyvm(args);
        assert_eq!(code, 2, "{err}");
        assert!(out.is_empty());
        assert!(
            err.starts_with("toyvm: the following required arguments were not provided: <FILE>\n"),
            "{err}"
        );
    }
}

/// Heap sizes outside what the collector can map or start in are bad command
/// lines: status 2 and one line that gives the range (they used to be an
/// MMTk panic, status 70, or "the heap is too small to start", status 1).
#[test]
fn heap_limits() {
    for args in [
        &["--heap", "99999999G"][..],
        &["--max-heap", "99999999G"],
        &["--min-heap", "99999999G"],
        &["--heap", "2048G"],
        &["--heap", "16"],
        &["--heap", "1K"],
        &["--max-heap", "1K"],
        &["--heap", "1023K"],
        &["--stack", "1K"],
        &["--stack", "2G"],
    ] {
        let mut a = args.to_vec();
        a.push("examples/hello.toy");
        let (code, out, err) = toyvm(&a);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("toyvm: invalid value"), "{err}");
        assert!(err.contains("out of range: from "), "{err}");
    }
    // The bounds themselves are accepted (a heap is only reserved, not used).
    let d = TempDir::new("heaps");
    let p = d.program(
        "alloc.toy",
        "fn main() { let s = 0; for i in 0..20000 { s += len(new [int](8)); } print(s); }\n",
    );
    for args in [
        &["--heap", "1M"][..],
        &["--heap", "1024G"],
        &["--max-heap", "1024G"],
    ] {
        let mut a = args.to_vec();
        a.push(&p);
        let (code, out, err) = toyvm(&a);
        assert_eq!((code, out.as_str()), (0, "160000\n"), "{args:?}: {err}");
    }
}

/// Long operator chains and `else if` chains: the value on both engines up to
/// the front end's depth limit (10,000), one positioned error past it (both
/// used to overflow the native stack: abort, status 134).
#[test]
fn long_chains_have_a_value_or_one_error() {
    let d = TempDir::new("chains");
    let sum = |n: usize| {
        format!(
            "fn main() {{ let x = 2;\n  print({});\n}}\n",
            vec!["x"; n].join("+")
        )
    };
    let chain = |n: usize| {
        let mut s = String::from("fn f(x: int) -> int {\n  if x == 0 { return 0; }\n");
        for i in 1..n {
            s += &format!("  else if x == {i} {{ return {}; }}\n", 2 * i);
        }
        s + "  else { return -1; }\n}\nfn main() { print(f(9999)); print(f(7)); print(f(123456)); }\n"
    };
    let ok = [
        (d.program("sum8000.toy", &sum(8000)), "16000\n"),
        (d.program("sum10000.toy", &sum(10_000)), "20000\n"),
        (
            d.program("chain10000.toy", &chain(10_000)),
            "19998\n14\n-1\n",
        ),
    ];
    let bad = [
        (
            d.program("sum10002.toy", &sum(10_002)),
            ":2:20010: error: expression too deep",
        ),
        (
            d.program("chain10002.toy", &chain(10_002)),
            ":10002:8: error: statements nested too deeply",
        ),
        (
            d.program("chain30000.toy", &chain(30_000)),
            ":10002:8: error: statements nested too deeply",
        ),
        // 10,000 nested parentheses: one error where they pass 200, none for the
        // closing ones that follow it.
        (
            d.program(
                "parens.toy",
                &format!(
                    "fn main() {{ print({}1{}); }}\n",
                    "(".repeat(10_000),
                    ")".repeat(10_000)
                ),
            ),
            ":1:217: error: expression nested too deeply",
        ),
        // 10,000 nested blocks: one error, none for the closing braces.
        (
            d.program(
                "blocks.toy",
                &format!(
                    "fn main() {{ {}{} }}\n",
                    "{".repeat(10_000),
                    "}".repeat(10_000)
                ),
            ),
            ":1:212: error: blocks nested too deeply",
        ),
    ];
    for engine in ENGINES {
        for (p, want) in &ok {
            let (code, out, err) = run_on(engine, &[p]);
            assert_eq!(
                (code, out.as_str(), err.as_str()),
                (0, *want, ""),
                "{engine:?} {p}"
            );
        }
        for (p, want) in &bad {
            let (code, out, err) = run_on(engine, &[p]);
            assert_eq!(code, 2, "{engine:?} {p}: {err}");
            assert!(out.is_empty());
            assert_eq!(err.lines().count(), 1, "{engine:?} {p}: {err}");
            assert!(err.contains(want), "{engine:?} {p}: {err}");
        }
    }
}

/// Deep recursion that allocates stops at a bounded depth, like Java's default
/// stack (it used to reach 20.9M frames of a 256 MiB stack in the JIT, 8-17 s
/// and 1.36 GB, with collections scanning all of it); `--stack` moves the bound.
#[test]
fn stack_overflow_is_bounded() {
    let d = TempDir::new("so");
    let p = d.program(
        "down.toy",
        "struct Node { next: Node, v: int }\n\
         global depth: int = 0;\n\
         fn down(n: Node, d: int) -> int {\n\
           depth = d;\n\
           let m = Node { next: n, v: d };\n\
           return down(m, d + 1) + 1;\n\
         }\n\
         fn main() {\n\
           let most = 0;\n\
           for i in 0..5 {\n\
             try { down(null, 0); } catch e { if i == 0 { print(e); } }\n\
             if depth > most { most = depth; }\n\
             gc();\n\
           }\n\
           print(most);\n\
         }\n",
    );
    for engine in ENGINES {
        let depth = |extra: &[&str]| -> u64 {
            let mut a = extra.to_vec();
            a.push(&p);
            let (code, out, err) = run_on(engine, &a);
            assert_eq!(code, 0, "{engine:?}: {err}");
            let mut lines = out.lines();
            assert_eq!(lines.next(), Some("StackOverflowError: recursion too deep"));
            lines.next().unwrap().parse().unwrap()
        };
        let dflt = depth(&[]);
        // Java's 1 MiB default allows 10-20k frames of a small function: Toy's
        // frames are smaller (the JIT unrolls recursion), so more fit.
        assert!((10_000..=500_000).contains(&dflt), "{engine:?}: {dflt}");
        let big = depth(&["--stack", "8M"]);
        assert!(big > 4 * dflt, "{engine:?}: {big} vs {dflt}");
    }
}

/// 20,000 live threads: spawn throws a catchable ThreadError past the limit
/// (it used to end the process: status 70, "failed to set up alternative stack
/// guard page").
#[test]
fn too_many_threads_is_a_thread_error() {
    let d = TempDir::new("threads");
    let p = d.program(
        "many.toy",
        "struct Gate { open: bool }\n\
         global gate: Gate = Gate { open: false };\n\
         fn wait() -> int {\n\
           sync (gate) { }\n\
           return 1;\n\
         }\n\
         fn main() {\n\
           let ts = new [thread](20000);\n\
           let n = 0;\n\
           sync (gate) {\n\
             try {\n\
               while n < 20000 { ts[n] = spawn wait(); n += 1; }\n\
             } catch e { print(e); }\n\
           }\n\
           let sum = 0;\n\
           for i in 0..n { sum += join(ts[i]); }\n\
           print(sum);\n\
         }\n",
    );
    for engine in ENGINES {
        let (code, out, err) = run_on(engine, &[&p]);
        assert_eq!(code, 0, "{engine:?}: {err}");
        assert_eq!(
            out, "ThreadError: too many threads: at most 4096 may run at once\n4096\n",
            "{engine:?}: {err}"
        );
    }
}

/// Output that cannot be written (a full disk, a closed pipe) ends the program
/// with status 1 and one line saying so (it used to be ignored: status 0).
#[test]
fn output_errors_are_reported() {
    let d = TempDir::new("out");
    let p = d.program(
        "out.toy",
        "fn main() { for i in 0..100000 { print(i); } }\n",
    );
    for engine in ENGINES {
        let mut a = engine.to_vec();
        a.push(&p);
        // /dev/full: every write fails with ENOSPC.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_toyvm"))
            .args(&a)
            .stdout(full)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{engine:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("toyvm: error writing the program's output: "),
            "{err}"
        );
        // A pipe nobody reads: EPIPE (toyvm ignores SIGPIPE, as Rust programs do).
        let mut child = Command::new(env!("CARGO_BIN_EXE_toyvm"))
            .args(&a)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{engine:?}: {err}");
        assert!(
            err.starts_with("toyvm: error writing the program's output: "),
            "{err}"
        );
        assert!(err.contains("Broken pipe"), "{err}");
        // A stdout closed before toyvm starts (Rust's runtime puts /dev/null
        // there): the program learns of it too, and a /dev/null the caller
        // opened is no error.
        let mut closed = vec!["-c", "exec \"$0\" \"$@\" >&-", env!("CARGO_BIN_EXE_toyvm")];
        closed.extend(&a);
        let out = Command::new("sh").args(&closed).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{engine:?}: {err}");
        assert_eq!(
            err,
            "toyvm: error writing the program's output: stdout was closed when toyvm started\n"
        );
        let out = Command::new(env!("CARGO_BIN_EXE_toyvm"))
            .args(&a)
            .stdout(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{engine:?}");
        assert!(out.stderr.is_empty());
    }
}

/// `write_bytes` writes to the path's bytes as given, even when they are not
/// UTF-8 (it used to write to a name with U+FFFD in it).
#[test]
fn write_bytes_path_is_the_bytes_given() {
    use std::os::unix::ffi::OsStrExt;
    let d = TempDir::new("bytes");
    let p = d.program(
        "w.toy",
        "fn main() {\n\
           let path = args()[0] + \"/x\" + chr(255) + chr(254);\n\
           print(write_bytes(path, [104, 105]));\n\
           try { write_bytes(args()[0] + \"/no/such/dir/f\", [1]); } catch e { print(substr(e, 0, 8)); }\n\
         }\n",
    );
    for engine in ENGINES {
        let dir = d.0.to_str().unwrap();
        let (code, out, err) = run_on(engine, &[&p, dir]);
        assert_eq!(
            (code, out.as_str()),
            (0, "2\nIOError:\n"),
            "{engine:?}: {err}"
        );
        let name = std::ffi::OsStr::from_bytes(b"x\xff\xfe");
        let f = d.0.join(name);
        assert_eq!(std::fs::read(&f).unwrap(), b"hi", "{engine:?}");
        std::fs::remove_file(&f).unwrap();
        let names: Vec<_> = std::fs::read_dir(&d.0)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| !n.to_string_lossy().contains('\u{fffd}')),
            "{names:?}"
        );
    }
}

/// A long straight-line `main` compiles in time linear in its size (8,000
/// calls took over 60 s and 4.1 GB; 20,000 string literals 14.5 GB; an array
/// literal of 20,000 calls about a minute): not a
/// timing test, a bound 100 times what it takes now, to catch a quadratic
/// blow-up coming back. bench/compile_scaling measures the scaling.
#[test]
fn long_functions_compile_in_linear_time() {
    let d = TempDir::new("long");
    let n = 8000;
    let mut calls =
        String::from("fn id(x: int) -> int { return x; }\nfn main() {\n  let total = 0;\n");
    let mut lits = String::from("fn main() {\n  let total = 0;\n");
    for k in 0..n {
        calls += &format!("  total += id({k});\n");
        lits += &format!("  total += len(\"lit{k}\");\n");
    }
    calls += "  print(total);\n}\n";
    lits += "  print(total);\n}\n";
    let digits: usize = (0..n).map(|k| 3 + k.to_string().len()).sum();
    // An array literal of 20,000 calls: computing every element before the
    // array kept them all live at once (10,000: 13.5 s).
    let m = 20_000;
    let elems: Vec<String> = (0..m).map(|k| format!("id({k})")).collect();
    let array = format!(
        "fn id(x: int) -> int {{ return x; }}\nfn main() {{\n  let a = [{}];\n  let t = 0;\n  for i in 0..len(a) {{ t += a[i]; }}\n  print(t);\n}}\n",
        elems.join(", ")
    );
    // 3,000 locals, each read after every later call: with the blocks after
    // the calls sealed only at the end of the function, each read made a block
    // parameter in every block back to the definition (2,500: 25 s).
    let l = 3000;
    let mut locals = String::from("fn id(x: int) -> int { return x; }\nfn main() {\n");
    for k in 0..l {
        locals += &format!("  let x{k} = id({k});\n");
    }
    locals += "  let t = 0;\n";
    for k in 0..l {
        locals += &format!("  t += x{k};\n");
    }
    locals += "  print(t);\n}\n";
    for (name, src, want) in [
        ("calls.toy", calls, format!("{}\n", n * (n - 1) / 2)),
        ("lits.toy", lits, format!("{digits}\n")),
        ("array.toy", array, format!("{}\n", m * (m - 1) / 2)),
        ("locals.toy", locals, format!("{}\n", l * (l - 1) / 2)),
    ] {
        let p = d.program(name, &src);
        for engine in ENGINES {
            let mut a = engine.to_vec();
            a.extend(["--verify-clif", &p]);
            let mut child = Command::new(env!("CARGO_BIN_EXE_toyvm"))
                .args(&a)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let start = std::time::Instant::now();
            while child.try_wait().unwrap().is_none() {
                if start.elapsed() > std::time::Duration::from_secs(30) {
                    child.kill().ok();
                    panic!("{engine:?} {name}: still compiling after 30 s");
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let out = child.wait_with_output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{engine:?} {name}");
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                want,
                "{engine:?} {name}"
            );
        }
    }
}

/// Under a virtual-memory limit (`ulimit -v`, as on some shared machines, or
/// valgrind) the memory manager cannot reserve its address space: that is one
/// clear line and exit status 3, never a panic; a program that never needs the
/// heap still runs.
/// Runs toyvm with the arguments `args` (words for `sh`) under `ulimit -v
/// limit_kb`: exit status, stdout, stderr.
fn toyvm_under_ulimit_v(limit_kb: u64, args: &str) -> (i32, String, String) {
    let out = Command::new("sh")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .arg("-c")
        .arg(format!(
            "ulimit -v {limit_kb} && exec {} {args}",
            env!("CARGO_BIN_EXE_toyvm")
        ))
        .output()
        .expect("run sh");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_virtual_memory_limit_is_a_clear_error() {
    let run = |prog: &str, args: &str| toyvm_under_ulimit_v(4194304, &format!("{prog} {args}"));
    let (code, out, err) = run("bench/programs/binarytrees/binarytrees.toy", "14");
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        err.starts_with("vmkit: fatal: the memory manager could not start: ")
            && err.contains("`ulimit -v`")
            && err.lines().count() == 1
            && !err.contains("panicked"),
        "{err}"
    );
    let (code, out, err) = run("examples/hello.toy", "");
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "hello, world\n", "")
    );
}

/// A rethrow from every frame of a recursion that overflows the stack costs a
/// frame or two of stack walking each (an exception inside a `try` records no
/// backtrace): the JIT's counter of frames walked for backtraces stays far
/// below the square of the depth (each raise had walked the whole stack: over
/// a minute for this program), and the output is the interpreter's.
#[test]
fn rethrowing_from_every_frame_walks_the_stack_once() {
    let p = "tests/toy/rethrow_deep.toy";
    let (code, out, err) = toyvm(&["--gc-stats", p]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "StackOverflowError: recursion too deep\n");
    let jit = err
        .lines()
        .find(|l| l.starts_with("jit: "))
        .expect("jit statistics");
    let walked: u64 = jit
        .split(", ")
        .find_map(|part| part.strip_suffix(" frames walked for backtraces"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no frame count in {jit}"));
    // The recursion is some tens of thousands of frames deep; a walk of the
    // whole stack at each rethrow is billions.
    assert!(walked > 1000 && walked < 2_000_000, "{jit}");
    let (icode, iout, ierr) = toyvm(&["--interp", p]);
    assert_eq!((icode, iout.as_str()), (code, out.as_str()));
    assert!(err.contains(&ierr), "{err}\n---\n{ierr}");
}

/// The main thread's stack is the JIT's `--stack` plus a fixed allowance for
/// the interpreted frames (not the interpreter's 16 times `--stack`): the
/// largest `--stack` still starts under a 4 GB address-space limit.
#[test]
fn the_largest_stack_starts_under_an_address_space_limit() {
    let (code, out, err) = toyvm_under_ulimit_v(4000000, "--stack 1G examples/hello.toy");
    assert_eq!((code, out.as_str()), (0, "hello, world\n"), "{err}");
}
