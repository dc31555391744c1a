//! Where the JIT, the collector and the threads meet, under load: spawned threads
//! on JIT code, concurrent marking against the barrier order, allocations larger
//! than the heap the program started with, output whose reader stalls, and the
//! heap's footprint: memory given back to the OS, collections whose work does not
//! grow with the heap's size.
//! Each test runs `toyvm` in its own process (one MMTk per process) with a
//! deadline, so that a livelock or a stall fails the test instead of hanging it.

mod common;

use common::{split_stats, Moved};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn start(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_toyvm"))
        .current_dir(root())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run toyvm")
}

/// Reads a child's stdout and stderr to the end (on threads, so that neither
/// pipe fills) and waits for it, killing it after `limit`.
fn finish(mut child: Child, limit: Duration, what: &str) -> (i32, String, String) {
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        so.read_to_end(&mut v).ok();
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        se.read_to_end(&mut v).ok();
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("{what}: still running after {limit:?} (livelock or stall)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.join().unwrap()).into_owned(),
        String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
    )
}

fn toyvm(args: &[&str], limit: Duration) -> (i32, String, String) {
    finish(start(args), limit, &args.join(" "))
}

/// The figures of `--gc-stats`' line.
fn stats(stderr: &str) -> Moved {
    split_stats(stderr)
        .1
        .unwrap_or_else(|| panic!("no --gc-stats line in:\n{stderr}"))
}

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn spawned_threads_run_jit_code() {
    // The JIT compiles `spun` (it prints its IR) only if the spawned thread
    // runs JIT code; on the interpreter it would never be compiled.
    let (code, out, err) = toyvm(&["--dump-clif", "tests/glue/spawn_only.toy"], MINUTE);
    assert_eq!((code, out.as_str()), (0, "45\n"), "{err}");
    assert!(err.contains("; function spun ("), "{err}");
    let (code, out, err) = toyvm(
        &["--interp", "--dump-clif", "tests/glue/spawn_only.toy"],
        MINUTE,
    );
    assert_eq!((code, out.as_str()), (0, "45\n"), "{err}");
    assert!(!err.contains("; function"), "{err}");
}

#[test]
fn satb_barrier_sees_the_old_value_before_the_store() {
    // Fails (SIGSEGV, or lists found broken) when JIT code stores before
    // running the pre-write barrier.
    for engine in [&[][..], &["--interp"]] {
        let mut args = engine.to_vec();
        args.extend([
            "--plan",
            "ConcurrentImmix",
            "--heap",
            "64M",
            "--gc-stats",
            "tests/glue/satb_moves.toy",
        ]);
        let (code, out, err) = toyvm(&args, 2 * MINUTE);
        assert_eq!((code, out.as_str()), (0, "0\n"), "{args:?}: {err}");
        let st = stats(&err);
        assert!(st.collections >= 2, "{args:?}: {err}");
        assert!(
            st.concurrent > 0,
            "{args:?}: marking never ran beside the program: {err}"
        );
    }
}

#[test]
fn concurrent_marking_on_the_growing_heap_never_stops_the_world_for_a_whole_collection() {
    // binary-trees allocates faster than one worker marks: the growing heap
    // must grow while marking runs (MMTk would otherwise end the cycle with a
    // final mark and a full stop-the-world collection), and JIT code allocates
    // inline under the concurrent plan too.
    let (code, want, err) = toyvm(&["examples/binary_trees.toy", "14"], MINUTE);
    assert_eq!(code, 0, "{err}");
    let args = [
        "--plan",
        "ConcurrentImmix",
        "--gc-stats",
        "--gc-log",
        "examples/binary_trees.toy",
        "14",
    ];
    let (code, out, err) = toyvm(&args, 2 * MINUTE);
    assert_eq!((code, out.as_str()), (0, want.as_str()), "{err}");
    let st = stats(&err);
    assert!(st.marking_cycles >= 2, "{err}");
    assert!(
        st.concurrent > 0,
        "marking never ran beside the program: {err}"
    );
    assert_eq!(st.full_pauses, 0, "{err}");
    // Every pause an initial or a final mark (the program may end while its
    // last marking runs).
    let unfinished = st.collections - 2 * st.marking_cycles;
    assert!(unfinished <= 1, "{err}");
    assert!(err.contains(" (initial mark): pause "), "{err}");
    assert!(err.contains(" (final mark, after "), "{err}");
}

/// The expected output of `tests/toy/jit_threads.toy` with its default
/// arguments.
fn jit_threads_out() -> String {
    std::fs::read_to_string(root().join("tests/toy/jit_threads.out")).unwrap()
}

/// `jit_threads.toy`'s output without its number lines: the sum it prints
/// last depends on the rounds it was given.
fn without_sums(text: &str) -> String {
    text.lines()
        .filter(|l| l.parse::<i64>().is_err())
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn jit_threads_under_concurrent_marking() {
    // tests/toy/jit_threads.toy without gc() calls, in a heap small enough that
    // ConcurrentImmix starts concurrent marking cycles (two, here) while the 8
    // JIT threads allocate, lock and throw.
    let (code, out, err) = toyvm(
        &[
            "--plan",
            "ConcurrentImmix",
            "--heap",
            "64M",
            "--gc-stats",
            "tests/toy/jit_threads.toy",
            "20000",
            "0",
        ],
        2 * MINUTE,
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        without_sums(&out),
        without_sums(&jit_threads_out()),
        "{err}"
    );
    assert!(err.contains("error: worker 7 failed\n  at deep"), "{err}");
    let st = stats(&err);
    assert!(st.collections >= 2, "{err}");
    assert!(st.concurrent > 0, "no concurrent marking: {err}");
}

#[test]
fn immix_compacts_a_heap_its_survivors_fragment() {
    // tests/toy/jit_threads.toy without gc() calls: each thread's list node
    // shared under `sync` survives among the garbage of its round, so every
    // block keeps survivors and a collection that does not move objects frees
    // no block. In a fixed 24 MiB heap (about 4 MB live at the end) both
    // Immix plans must compact it (vendored MMTk, patch 8: defrag sources
    // chosen from the copy space survivors need, not their lines; reused
    // blocks keep their hole counts). Before, both reported OutOfMemoryError
    // (ConcurrentImmix in every run, Immix in one in six; both in every run at
    // 20 MiB).
    for plan in ["Immix", "ConcurrentImmix"] {
        let (code, out, err) = toyvm(
            &[
                "--plan",
                plan,
                "--heap",
                "24M",
                "--gc-stats",
                "tests/toy/jit_threads.toy",
                "20000",
                "0",
            ],
            2 * MINUTE,
        );
        assert_eq!(code, 1, "{plan}: {err}");
        assert!(!err.contains("OutOfMemoryError"), "{plan}: {err}");
        assert_eq!(
            without_sums(&out),
            without_sums(&jit_threads_out()),
            "{plan}: {err}"
        );
        let st = stats(&err);
        // Collections ran and moved objects (10 to 18 collections, as the
        // threads interleave).
        assert!(st.collections > 0 && st.copied > 0, "{plan}: {err}");
    }
}

#[test]
fn jit_threads_move_objects() {
    // The moving plans, with the program's own gc() calls.
    for plan in [
        &["--gc-move"][..],
        &["--plan", "SemiSpace", "--no-early-objects"],
        &["--plan", "GenCopy", "--no-early-objects"],
    ] {
        let mut args = plan.to_vec();
        args.extend(["--gc-stats", "tests/toy/jit_threads.toy"]);
        let (code, out, err) = toyvm(&args, 2 * MINUTE);
        let want = jit_threads_out();
        assert_eq!((code, out.as_str()), (1, want.as_str()), "{args:?}: {err}");
        let st = stats(&err);
        assert!(st.collections > 0 && st.copied > 0, "{args:?}: {err}");
    }
}

fn large(len: &str, flags: &[&str]) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!("toyvm-glue-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("large-{len}.toy"));
    std::fs::write(
        &file,
        format!(
            "fn main() {{\n  try {{\n    let a = new [int]({len});\n    a[{len} - 1] = 7;\n    print(len(a) + a[{len} - 1]);\n  }} catch e {{ print(e); }}\n  let small = new [int](10);\n  print(len(small));\n}}\n"
        ),
    )
    .unwrap();
    let mut args = flags.to_vec();
    let f = file.to_str().unwrap().to_owned();
    args.push(&f);
    toyvm(&args, MINUTE)
}

#[test]
fn large_allocations_grow_the_heap_or_raise_out_of_memory() {
    for engine in [&[][..], &["--interp"]] {
        // 320 MB, ten times the 32 MB the growing heap starts at: it grows.
        let (code, out, err) = large("40000000", engine);
        assert_eq!((code, out.as_str()), (0, "40000007\n10\n"), "{err}");
        // 24 MB in a heap that starts at 16 MB.
        let mut small = engine.to_vec();
        small.extend(["--min-heap", "16M"]);
        let (code, out, err) = large("3000000", &small);
        assert_eq!((code, out.as_str()), (0, "3000007\n10\n"), "{err}");
        // 80 MB with at most 64 MB to grow to, and 2.4 GB with the default
        // maximum: OutOfMemoryError, caught; the program goes on.
        let mut capped = small.clone();
        capped.extend(["--max-heap", "64M"]);
        for (len, flags) in [("10000000", &capped), ("300000000", &engine.to_vec())] {
            let (code, out, err) = large(len, flags);
            assert_eq!(code, 0, "{len} {flags:?}: {err}");
            assert!(
                out.starts_with("OutOfMemoryError") && out.ends_with("\n10\n"),
                "{len} {flags:?}: {out}{err}"
            );
        }
    }
}

#[test]
fn a_stalled_stdout_reader_does_not_stall_collections() {
    for engine in [&[][..], &["--interp"]] {
        let marker = std::env::temp_dir().join(format!(
            "toyvm-glue-marker-{}-{}",
            std::process::id(),
            engine.len()
        ));
        std::fs::remove_file(&marker).ok();
        let m = marker.to_str().unwrap().to_owned();
        let mut args = engine.to_vec();
        args.extend(["--gc-stats", "tests/glue/blocked_stdout.toy", &m]);
        let child = start(&args);
        // Nobody reads stdout until main has collected 20 times and written
        // the marker file.
        let deadline = Instant::now() + MINUTE;
        while !marker.exists() {
            assert!(
                Instant::now() < deadline,
                "{args:?}: collections stalled behind the blocked printer"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let (code, out, err) = finish(child, MINUTE, "blocked_stdout");
        std::fs::remove_file(&marker).ok();
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.lines().count(), 200_001);
        assert!(out.ends_with("line 199999 of the output that nobody reads yet\n200000\n"));
        assert!(stats(&err).collections >= 20, "{err}");
    }
}

/// `(VmRSS, VmHWM)` of process `pid` in bytes.
fn rss_and_peak(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let field = |name: &str| -> u64 {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"));
        let kb: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .unwrap();
        kb << 10
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[test]
fn memory_goes_back_to_the_os_when_the_heap_shrinks() {
    let marker = std::env::temp_dir().join(format!("toyvm-glue-shrink-{}", std::process::id()));
    std::fs::remove_file(&marker).ok();
    let m = marker.to_str().unwrap().to_owned();
    let mut child = start(&["tests/glue/shrink.toy", &m]);
    let deadline = Instant::now() + MINUTE;
    while !marker.exists() {
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            child.kill().ok();
            let (code, out, err) = finish(child, MINUTE, "shrink");
            panic!("shrink.toy never wrote its marker: exit {code}\n{out}{err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The program now only waits, with a few KB live.
    let (rss, peak) = rss_and_peak(child.id());
    child.kill().ok();
    finish(child, MINUTE, "shrink");
    std::fs::remove_file(&marker).ok();
    assert!(
        peak > 150 << 20,
        "the big structure was never resident (peak RSS {} MiB)",
        peak >> 20
    );
    // MMTk keeps freed memory resident; without the substrate handing it back,
    // the RSS stays at the peak. What stays: the 32 MB heap the program shrank
    // to, the side metadata of the chunks the big structure used, the code.
    assert!(
        rss < peak / 2,
        "RSS {} MiB after the heap shrank (peak {} MiB)",
        rss >> 20,
        peak >> 20
    );
}

#[test]
fn a_small_live_set_on_a_large_heap_collects_without_touching_it_all() {
    // 4 GiB of heap (1024 Immix chunks of 4 MiB), a few KB live, 2 MB of
    // garbage between collections: each collection must reset and sweep only
    // the chunks in use (at most a handful), never the whole heap.
    for heap in [
        &["--heap", "4G"][..],
        &["--min-heap", "4G", "--max-heap", "4G"],
    ] {
        let mut args = heap.to_vec();
        args.extend(["--gc-stats", "tests/toy/gc_small_live.toy", "50", "80000"]);
        let (code, out, err) = toyvm(&args, MINUTE);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert_eq!(out, "ok\n", "{args:?}: {err}");
        let st = stats(&err);
        assert!(st.collections >= 50, "{args:?}: {err}");
        assert!(st.chunks_swept > 0, "{args:?}: nothing swept: {err}");
        let per = |n: u64| n as f64 / st.collections as f64;
        assert!(
            per(st.chunks_swept) <= 4.0 && per(st.chunks_prepared) <= 4.0,
            "{args:?}: {:.1} chunks prepared and {:.1} swept per collection: {err}",
            per(st.chunks_prepared),
            per(st.chunks_swept)
        );
    }
}
