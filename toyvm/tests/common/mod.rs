//! What the program tests share: reading `--gc-stats`' figures and checking
//! that a moving configuration moved something.

// Each test crate that includes this module uses a part of it.
#![allow(dead_code)]

/// What `--gc-stats` said: collections, bytes copied, whether the heap started.
pub struct Moved {
    /// Completed collections.
    pub collections: u64,
    /// Bytes copied by moving collections.
    pub copied: u64,
    /// Objects scanned while the program ran (concurrent marking).
    pub concurrent: u64,
    /// Whether anything was allocated in MMTk's heap (a program that allocates
    /// only early objects, or nothing, never needs it; MMTk may still have come
    /// up on its own thread while the program ran, and `--gc-stats` then says
    /// that nothing was allocated in it).
    pub heap_started: bool,
    /// Immix chunks (4 MiB) whose mark table and block states were reset.
    pub chunks_prepared: u64,
    /// Immix chunks swept.
    pub chunks_swept: u64,
    /// Collections whose marking ran beside the program.
    pub marking_cycles: u64,
    /// Collections done whole while the world was stopped.
    pub full_pauses: u64,
}

/// Splits `--gc-stats`' lines (at the end of stderr) from the program's stderr.
pub fn split_stats(stderr: &str) -> (String, Option<Moved>) {
    let mut moved = None;
    let mut kept = String::new();
    for line in stderr.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("gc: plan ") {
            let number_before = |suffix: &str| -> u64 {
                let end = rest.find(suffix).expect("a --gc-stats figure");
                let start = rest[..end]
                    .rfind(|c: char| !c.is_ascii_digit())
                    .map_or(0, |i| i + 1);
                rest[start..end].parse().expect("a number")
            };
            moved = Some(Moved {
                collections: number_before(" collections"),
                copied: number_before(" bytes copied"),
                concurrent: number_before(" objects marked while the program ran"),
                heap_started: !rest.contains("heap not started")
                    && !rest.contains("nothing allocated in it"),
                chunks_prepared: number_before(" chunks prepared"),
                chunks_swept: number_before(" swept"),
                marking_cycles: number_before(" concurrent marking cycles"),
                full_pauses: number_before(" full stop-the-world collections"),
            });
        } else if !line.starts_with("jit: ") {
            kept.push_str(line);
        }
    }
    (kept, moved)
}

/// Runs toyvm in a moving configuration: `run` does one run with `--gc-stats`
/// and `--gc-every` set to the size it is given. First every 64 KiB allocated;
/// when that run started the heap but moved nothing (a program that allocates
/// little), again collecting at every allocation. Returns the last run's output
/// and its stderr split from the statistics.
pub fn run_moving(
    run: impl Fn(&str) -> std::process::Output,
) -> (std::process::Output, String, Option<Moved>) {
    let once = |every: &str| {
        let out = run(every);
        let (err, moved) = split_stats(&String::from_utf8_lossy(&out.stderr));
        (out, err, moved)
    };
    let first = once("64K");
    match &first.2 {
        Some(m) if m.heap_started && (m.collections == 0 || m.copied == 0) => once("1"),
        _ => first,
    }
}

/// A moving configuration proves something only if the run moved objects: it
/// must have collected and copied bytes. A program that allocates nothing in
/// the heap (no object exists there to move) is the one exception, and
/// `--gc-stats` must say so.
pub fn check_moved(moved: &Option<Moved>, code: i32) -> Result<(), String> {
    match moved {
        // A program that does not compile never runs.
        None if code == 2 => Ok(()),
        None => Err("no --gc-stats line".into()),
        Some(m) if !m.heap_started && m.collections == 0 => Ok(()),
        Some(m) if m.collections > 0 && m.copied > 0 => Ok(()),
        Some(m) => Err(format!(
            "a moving configuration that moved nothing: {} collections, {} bytes copied",
            m.collections, m.copied
        )),
    }
}
