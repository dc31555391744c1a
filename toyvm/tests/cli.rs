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
    let (code, out, err) = toyvm(&["--gc-stats", "--dump-clif", "examples/hello.toy"]);
    assert_eq!(code, 0);
    assert_eq!(out, "hello, world\n");
    assert!(err.contains("gc: plan Immix"), "{err}");
    assert!(err.contains("jit: "), "{err}");
    assert!(err.contains("; function main"), "{err}");
    // Hello allocates nothing: MMTk is never started.
    assert!(err.contains("gc: plan Immix heap not started"), "{err}");
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
    // 3M nodes of 32 bytes: 96 MB live, past a 64M heap.
    let (code, out, err) = toyvm(&["--gc-stats", "--max-heap", "64M", p, "3000000"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("error: OutOfMemoryError"), "{err}");
    // Raised by the JIT's allocation slow path: the backtrace is the program's.
    assert!(err.contains("\n  at main ("), "{err}");
    // The maximum is below the 256M start: the heap is that size from the start.
    assert!(err.contains("gc: plan Immix heap 64 MiB"), "{err}");
    // With room to grow it completes.
    let (code, out, err) = toyvm(&["--gc-stats", "--max-heap", "512M", p, "3000000"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "4499998500000\n");
    assert!(err.contains("growing heap"), "{err}");
    // Starting small (and without huge pages), it grows past the 96 MB live.
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
    assert!((96..=512).contains(&peak), "{err}");
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
        let (code, out, err) = run(&["--heap", "8K", "examples/hello.toy"]);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (0, "hello, world\n", "")
        );
        let (code, out, err) = run(&["--heap", "8K", "bench/programs/fib/fib.toy", "10"]);
        assert_eq!(code, 1, "{out}{err}");
        assert_eq!(err, "toyvm: the heap is too small to start\n");
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
