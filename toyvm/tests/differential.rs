//! Differential testing on generated programs (`toyvm-gen`): for a few hundred
//! fixed seeds, the interpreter and the JIT (compiling everything, or running
//! behind the interpreter's first calls) must print the same stdout and stderr
//! and exit with the same status, under a small heap where every collection moves
//! objects, and each run must have moved objects (collections and bytes copied
//! in its `--gc-stats`, with `--gc-every` making a program collect however
//! little it allocates). The same generator drives the `codegen` cargo-fuzz
//! target.

mod common;

use common::{check_moved, run_moving, Moved};
use std::process::Command;

fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 32) as u8
        })
        .collect()
}

/// Runs toyvm with `flags` and `--gc-stats`: exit status, stdout, stderr without
/// the statistics, and the statistics (see [`run_moving`]: a run that moved
/// nothing runs again, collecting at every allocation).
fn run(flags: &[&str], file: &std::path::Path) -> ((Option<i32>, String, String), Option<Moved>) {
    let (o, err, moved) = run_moving(|every| {
        Command::new(env!("CARGO_BIN_EXE_toyvm"))
            .args(flags)
            .args(["--gc-stats", "--gc-every", every])
            .arg(file)
            .output()
            .unwrap()
    });
    (
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            err,
        ),
        moved,
    )
}

#[test]
fn interpreter_and_jit_agree_on_generated_programs() {
    let dir = std::env::temp_dir().join(format!("toyvm-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    let mut uncaught = 0;
    for seed in 0..250u64 {
        let src = toyvm_gen::program(&bytes(seed, 4096));
        let file = dir.join(format!("g{seed}.toy"));
        std::fs::write(&file, &src).unwrap();
        let plan = if seed % 2 == 0 {
            ["--gc-move", "--plan", "Immix"]
        } else {
            ["--plan", "SemiSpace", "--gc-move"]
        };
        let (i, im) = run(
            &["--interp", "--heap", "16M", plan[0], plan[1], plan[2]],
            &file,
        );
        // Half the JIT runs compile every function on its first call, half
        // run the default engine (the main thread interprets the first call
        // of each function without loops), each under both plans.
        let calls_before_jit = if (seed / 2) % 2 == 0 { "0" } else { "1" };
        let (j, jm) = run(
            &[
                "--verify-clif",
                "--calls-before-jit",
                calls_before_jit,
                "--heap",
                "16M",
                plan[0],
                plan[1],
                plan[2],
            ],
            &file,
        );
        for (engine, m, status) in [("interp", &im, i.0), ("jit", &jm, j.0)] {
            if let Err(e) = check_moved(m, status.unwrap_or(-1)) {
                failures.push(format!("seed {seed}, {engine}: {e}\n{src}"));
            }
        }
        assert!(
            matches!(i.0, Some(0) | Some(1)),
            "seed {seed}: interpreter exit {:?}\n{}\n{src}",
            i.0,
            i.2
        );
        if i.0 == Some(1) {
            uncaught += 1;
        }
        if i != j {
            failures.push(format!(
                "seed {seed}: interp {:?} / jit {:?}\n--- interp stdout\n{}--- jit stdout\n{}--- interp stderr\n{}--- jit stderr\n{}--- program\n{src}",
                i.0, j.0, i.1, j.1, i.2, j.2
            ));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        failures.is_empty(),
        "{} of 250 differ; first:\n{}",
        failures.len(),
        failures[0]
    );
    // The generator exercises both normal exits and uncaught exceptions.
    assert!(uncaught > 5 && uncaught < 245, "uncaught = {uncaught}");
}
