//! A random well-typed Toy program (from `toyvm-gen`) must compile, and run with
//! the same stdout, stderr and exit status on the JIT (every function compiled
//! through the materializer with the Cranelift verifier on) and on the reference
//! interpreter, under a small heap where every collection moves objects.
//!
//! Runs the `toyvm` binary (built by `fuzz/run.sh`, or `$TOYVM`), one MMTk
//! instance per process; every generated program terminates by construction, and
//! a watchdog kills a run after 20 s (reported as a finding).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn toyvm() -> String {
    std::env::var("TOYVM").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/toyvm").to_string()
    })
}

fn run(flags: &[&str], file: &std::path::Path) -> (Option<i32>, Vec<u8>, Vec<u8>) {
    let mut child = Command::new(toyvm())
        .args(flags)
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run toyvm (set TOYVM or build it with fuzz/run.sh)");
    // Drain both pipes while the program runs: a program that prints more than a
    // pipe holds (64 KiB) would otherwise block on write and look like a hang.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            r.read_to_end(&mut v).unwrap();
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(20) {
            // A hang: record every thread's stack (if gdb is there) before killing.
            let stacks = Command::new("gdb")
                .args([
                    "-batch",
                    "-p",
                    &child.id().to_string(),
                    "-ex",
                    "thread apply all bt",
                ])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_else(|e| format!("(no stacks: {e})"));
            let _ = child.kill();
            panic!("toyvm {flags:?} did not finish in 20 s; its threads:\n{stacks}");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    (status.code(), out.join().unwrap(), err.join().unwrap())
}

fuzz_target!(|data: &[u8]| {
    let src = toyvm_gen::program(data);
    if let Err(d) = toyvm::lang::compile("gen.toy", src.as_bytes()) {
        panic!("generated program does not compile: {d:?}\n{src}");
    }
    let file = std::env::temp_dir().join(format!("toyvm-fuzz-{}.toy", std::process::id()));
    std::fs::write(&file, &src).unwrap();
    // Alternate the moving plans: Immix with forced defragmentation, SemiSpace.
    let plan = if data.first().is_some_and(|b| b & 1 == 1) {
        "SemiSpace"
    } else {
        "Immix"
    };
    let i = run(
        &["--interp", "--plan", plan, "--heap", "16M", "--gc-move"],
        &file,
    );
    // Alternate the engine's tiers too: every function compiled on its first
    // call, or the default (the main thread interprets first calls of
    // functions without loops).
    let calls_before_jit = if data.first().is_some_and(|b| b & 2 == 2) {
        "0"
    } else {
        "1"
    };
    let j = run(
        &[
            "--verify-clif",
            "--calls-before-jit",
            calls_before_jit,
            "--plan",
            plan,
            "--heap",
            "16M",
            "--gc-move",
        ],
        &file,
    );
    assert!(
        matches!(i.0, Some(0) | Some(1)),
        "interpreter exit {:?}: {}\n{src}",
        i.0,
        String::from_utf8_lossy(&i.2)
    );
    if i != j {
        panic!(
            "engines differ: interp {:?} jit {:?}\n--- interp\n{}{}\n--- jit\n{}{}\n--- program\n{src}",
            i.0,
            j.0,
            String::from_utf8_lossy(&i.1),
            String::from_utf8_lossy(&i.2),
            String::from_utf8_lossy(&j.1),
            String::from_utf8_lossy(&j.2)
        );
    }
});
