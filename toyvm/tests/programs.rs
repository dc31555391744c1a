//! Runs every Toy program of `tests/toy/` and `examples/` through the `toyvm`
//! command under several engine and GC configurations, comparing stdout, stderr
//! and exit status with the expected files:
//!
//! - `NAME.out`: expected stdout (empty if absent), `NAME.err`: expected stderr
//!   (empty if absent), `NAME.code`: expected exit status (0 if absent);
//! - `NAME.flags`: extra toyvm options, `NAME.args`: program arguments.
//!
//! Expected files of `examples/NAME.toy` live in `tests/examples/`.
//!
//! The moving configurations (every collection moves objects) also check that
//! the run moved something: `--gc-stats` must report collections and bytes
//! copied, which `--gc-every` (a collection every 64 KiB allocated, or at every
//! allocation for a program that allocates less) makes happen in every program
//! that allocates at all.

mod common;

use common::{check_moved, run_moving, split_stats};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// (name, toyvm options, moving): every program runs under each. In a moving
/// configuration every collection moves objects; the run adds `--gc-stats` and
/// `--gc-every`, and fails unless it collected and copied bytes (see
/// [`check_moved`]).
///
/// `jit/` is the default engine: the main thread interprets the first call of
/// each function without loops, and compiled code runs the rest. `jit0/`
/// compiles every function on its first call (`--calls-before-jit 0`), so
/// that the plans with barriers and the other collectors see every function
/// of even the smallest program as compiled code.
const CONFIGS: &[(&str, &[&str], bool)] = &[
    ("interp/Immix", &["--interp"], false),
    ("interp/Immix-move", &["--interp", "--gc-move"], true),
    (
        "interp/SemiSpace",
        &["--interp", "--plan", "SemiSpace", "--no-early-objects"],
        true,
    ),
    ("jit/Immix", &[], false),
    ("jit/Immix-move", &["--gc-move"], true),
    (
        "jit/SemiSpace",
        &["--plan", "SemiSpace", "--no-early-objects"],
        true,
    ),
    ("jit0/Immix", &["--calls-before-jit", "0"], false),
    // (and on transparent huge pages, which are asked for only on request)
    (
        "jit0/Immix-move",
        &["--calls-before-jit", "0", "--gc-move", "--huge-pages"],
        true,
    ),
    (
        "jit0/StickyImmix",
        &["--calls-before-jit", "0", "--plan", "StickyImmix"],
        false,
    ),
    (
        "jit0/GenImmix",
        &["--calls-before-jit", "0", "--plan", "GenImmix"],
        false,
    ),
    (
        "jit0/GenCopy",
        &[
            "--calls-before-jit",
            "0",
            "--plan",
            "GenCopy",
            "--no-early-objects",
        ],
        true,
    ),
    (
        "jit0/MarkSweep",
        &["--calls-before-jit", "0", "--plan", "MarkSweep"],
        false,
    ),
    // A compactor moves an object only when garbage lies below it: a program
    // with little garbage may legitimately copy nothing.
    (
        "jit0/Compressor",
        &[
            "--calls-before-jit",
            "0",
            "--plan",
            "Compressor",
            "--no-early-objects",
        ],
        false,
    ),
    (
        "jit0/ConcurrentImmix",
        &["--calls-before-jit", "0", "--plan", "ConcurrentImmix"],
        false,
    ),
    (
        "interp/StickyImmix",
        &["--interp", "--plan", "StickyImmix"],
        false,
    ),
    (
        "interp/GenCopy",
        &["--interp", "--plan", "GenCopy", "--no-early-objects"],
        true,
    ),
];

/// Extra configurations for programs marked with a `NAME.stress` file: a
/// collection before every allocation, on a moving plan.
const STRESS_CONFIGS: &[(&str, &[&str], bool)] = &[
    (
        "interp/SemiSpace-stress",
        &["--interp", "--plan", "SemiSpace", "--stress-gc"],
        true,
    ),
    (
        "jit/SemiSpace-stress",
        &["--plan", "SemiSpace", "--stress-gc"],
        true,
    ),
    (
        "jit0/Immix-move-stress",
        &["--calls-before-jit", "0", "--gc-move", "--stress-gc"],
        true,
    ),
];

struct Case {
    program: PathBuf,
    expected: PathBuf,
}

fn read(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok()
}

fn cases(root: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    for (dir, exp) in [("tests/toy", "tests/toy"), ("examples", "tests/examples")] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toy"))
            .collect();
        files.sort();
        for f in files {
            let stem = f.file_stem().unwrap().to_owned();
            let expected = root.join(exp).join(&stem);
            if exp == "tests/examples" && !expected.with_extension("out").exists() {
                continue;
            }
            out.push(Case {
                program: Path::new(dir).join(f.file_name().unwrap()),
                expected,
            });
        }
    }
    out
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let exe = env!("CARGO_BIN_EXE_toyvm");
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let (mut passed, mut failed) = (0, 0);
    for case in cases(&root) {
        let ext = |e: &str| case.expected.with_extension(e);
        let want_out = read(&ext("out")).unwrap_or_default();
        let want_err = read(&ext("err")).unwrap_or_default();
        let want_code: i32 =
            read(&ext("code")).map_or(0, |s| s.trim().parse().expect("bad .code file"));
        let flags: Vec<String> = read(&ext("flags"))
            .map(|s| s.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        let args: Vec<String> = read(&ext("args"))
            .map(|s| s.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        let stress = ext("stress").exists();
        let configs = CONFIGS
            .iter()
            .chain(STRESS_CONFIGS.iter().filter(|_| stress));
        for (cname, copts, moving) in configs {
            let id = format!("{} [{cname}]", case.program.display());
            if filter.as_ref().is_some_and(|f| !id.contains(f.as_str())) {
                continue;
            }
            let start = Instant::now();
            let run = |every: &str| {
                let mut extra: Vec<&str> = Vec::new();
                if *moving {
                    extra.push("--gc-stats");
                    // A stress configuration collects at every allocation already.
                    if !copts.contains(&"--stress-gc") {
                        extra.extend(["--gc-every", every]);
                    }
                }
                Command::new(exe)
                    .current_dir(&root)
                    .args(*copts)
                    .args(&extra)
                    .args(&flags)
                    .arg(&case.program)
                    .args(&args)
                    .output()
                    .expect("cannot run toyvm")
            };
            let (out, got_err, moved) = if *moving {
                run_moving(run)
            } else {
                let out = run("");
                let (err, moved) = split_stats(&String::from_utf8_lossy(&out.stderr));
                (out, err, moved)
            };
            let secs = start.elapsed().as_secs_f64();
            let got_out = String::from_utf8_lossy(&out.stdout);
            let code = out.status.code().unwrap_or(-1);
            let mut problems = Vec::new();
            if got_out != want_out {
                problems.push(format!(
                    "stdout differs:\n--- want\n{want_out}--- got\n{got_out}---"
                ));
            }
            if got_err != want_err {
                problems.push(format!(
                    "stderr differs:\n--- want\n{want_err}--- got\n{got_err}---"
                ));
            }
            if code != want_code {
                problems.push(format!(
                    "exit status {code}, want {want_code} ({})",
                    out.status
                ));
            }
            if *moving {
                if let Err(e) = check_moved(&moved, code) {
                    problems.push(e);
                }
            }
            if problems.is_empty() {
                passed += 1;
                println!("test {id} ... ok ({secs:.2}s)");
            } else {
                failed += 1;
                println!("test {id} ... FAILED ({secs:.2}s)\n{}", problems.join("\n"));
            }
        }
    }
    println!("\n{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
