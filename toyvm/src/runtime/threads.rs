//! Toy threads: the record behind a `thread` value, and program output.

use parking_lot::{Condvar, Mutex};
use std::cell::Cell;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use vmkit::Thread;

/// How a Toy thread ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Returned this value (0 for functions without a result).
    Value(i64),
    /// Died of an exception: its message and backtrace lines.
    Died(Vec<u8>, Vec<String>),
}

/// The state of a spawned Toy thread.
pub struct Record {
    outcome: Mutex<Option<Outcome>>,
    cv: Condvar,
    joined: Mutex<bool>,
    /// The record this thread is joining (`NONE` when it is not in `join`).
    joining: AtomicUsize,
}

const NONE: usize = usize::MAX;

thread_local! {
    /// The record of the Toy thread running on this OS thread (`NONE` on main).
    static CURRENT: Cell<usize> = const { Cell::new(NONE) };
}

/// Held while a join checks the wait-for chain and adds its edge to it.
static JOINS: Mutex<()> = Mutex::new(());

/// Says that this OS thread runs the Toy thread of record `index` (for `join`).
pub fn set_current(index: usize) {
    CURRENT.with(|c| c.set(index));
}

static RECORDS: Mutex<Vec<&'static Record>> = Mutex::new(Vec::new());

/// Creates a record; returns its index (stored in the Toy `thread` object).
pub fn new_record() -> usize {
    let r: &'static Record = Box::leak(Box::new(Record {
        outcome: Mutex::new(None),
        cv: Condvar::new(),
        joined: Mutex::new(false),
        joining: AtomicUsize::new(NONE),
    }));
    let mut rs = RECORDS.lock();
    rs.push(r);
    rs.len() - 1
}

/// The record at `index`.
pub fn record(index: usize) -> &'static Record {
    RECORDS.lock()[index]
}

impl Record {
    /// Publishes the outcome and wakes joiners.
    pub fn finish(&self, o: Outcome) {
        *self.outcome.lock() = Some(o);
        self.cv.notify_all();
    }

    /// Finishes the record of a thread that could not start: nobody waits for
    /// it and it reports nothing.
    pub fn finish_unstarted(&self) {
        *self.joined.lock() = true;
        self.finish(Outcome::Value(0));
    }

    /// Waits for the outcome (call in native state) and marks the thread joined.
    pub fn join(&self) -> Outcome {
        *self.joined.lock() = true;
        let mut g = self.outcome.lock();
        while g.is_none() {
            self.cv.wait(&mut g);
        }
        g.clone().expect("outcome")
    }
}

/// `join(t)` for the thread of record `index`, called from the thread running
/// it (in native state): its outcome, or a `ThreadError` when waiting would
/// never end because the joined thread is this one or is (through a chain of
/// joins) waiting for it.
pub fn join(index: usize) -> Outcome {
    let me = CURRENT.with(Cell::get);
    if me != NONE {
        let _g = JOINS.lock();
        let mut r = index;
        // Every edge was added without closing a cycle, so the chain ends.
        while r != NONE {
            if r == me {
                let e = if index == me {
                    super::errors::join_self()
                } else {
                    super::errors::join_cycle()
                };
                return Outcome::Died(e.into_message(), Vec::new());
            }
            r = record(r).joining.load(Ordering::SeqCst);
        }
        record(me).joining.store(index, Ordering::SeqCst);
    }
    let o = record(index).join();
    if me != NONE {
        let _g = JOINS.lock();
        record(me).joining.store(NONE, Ordering::SeqCst);
    }
    o
}

/// Waits for every spawned thread; returns the deaths of the threads nobody
/// joined, in spawn order.
pub fn wait_all_unjoined() -> Vec<(Vec<u8>, Vec<String>)> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let r = {
            let rs = RECORDS.lock();
            match rs.get(i) {
                Some(r) => *r,
                None => break,
            }
        };
        let joined = *r.joined.lock();
        let mut g = r.outcome.lock();
        while g.is_none() {
            r.cv.wait(&mut g);
        }
        if let (false, Some(Outcome::Died(m, bt))) = (joined, g.as_ref()) {
            out.push((m.clone(), bt.clone()));
        }
        i += 1;
    }
    out
}

/// Program output not written yet. It is only ever held to append or take bytes,
/// never across a write, so a thread in managed state waits on it only for a
/// copy.
static OUT: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// Held across each write to stdout, in native state: a reader that stops reading
/// blocks the writer here (and threads that flush after it), never a collection.
static WRITER: Mutex<()> = Mutex::new(());

/// Appends program output (stdout), flushing when the buffer is large.
pub fn out(t: &Thread, bytes: &[u8]) {
    out_line(t, bytes, false)
}

/// Appends `bytes`, and a newline if `nl`, to the program's output; flushes (in
/// native state) when the buffer is large. `t` is the calling thread, managed.
pub fn out_line(t: &Thread, bytes: &[u8], nl: bool) {
    let full = {
        let mut o = OUT.lock();
        o.extend_from_slice(bytes);
        if nl {
            o.push(b'\n');
        }
        o.len() > 1 << 16
    };
    if full {
        t.native(flush_out);
    }
}

/// Whether stdout was closed when the process started (see
/// [`stdout_closed_at_start`]).
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Says that file descriptor 1 was closed when the process started (Rust's
/// runtime has since opened /dev/null there): the program's first output is
/// then an output error.
pub fn stdout_closed_at_start() {
    STDOUT_CLOSED.store(true, Ordering::Relaxed);
}

/// The first error writing the program's output (later output is dropped).
static OUT_ERROR: Mutex<Option<String>> = Mutex::new(None);

/// Writes out the program output buffered so far, recording the first write
/// error. It may block on the reader: call it in native state (or from a
/// thread that is not attached).
pub fn flush_out() {
    let _w = WRITER.lock();
    let o = std::mem::take(&mut *OUT.lock());
    if OUT_ERROR.lock().is_some() || o.is_empty() {
        return;
    }
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        *OUT_ERROR.lock() = Some("stdout was closed when toyvm started".into());
        return;
    }
    let mut so = std::io::stdout().lock();
    if let Err(e) = so.write_all(&o).and_then(|()| so.flush()) {
        *OUT_ERROR.lock() = Some(e.to_string());
    }
}

/// Why the program's output could not be written, if it could not (after
/// [`flush_out`]): the program ends with a status of 1 and this said once.
pub fn output_error() -> Option<String> {
    OUT_ERROR.lock().clone()
}

/// Prints an uncaught exception report to stderr.
pub fn report_uncaught(msg: &[u8], trace: &[String]) {
    flush_out();
    let mut e = Vec::new();
    e.extend_from_slice(b"error: ");
    e.extend_from_slice(msg);
    e.push(b'\n');
    for l in trace {
        e.extend_from_slice(l.as_bytes());
        e.push(b'\n');
    }
    let _ = std::io::stderr().write_all(&e);
}

/// Frames kept at each end of a long backtrace.
pub const TRACE_KEEP: usize = 20;

/// Formats a backtrace cut into `head`, `omitted` frames left out, and
/// `tail` (see [`super::trace::Trace`]), each frame `(function, line)`,
/// innermost first, as `  at FUNCTION (FILE:LINE)`.
pub fn format_trace_parts(
    file: &str,
    head: &[(String, u32)],
    omitted: usize,
    tail: &[(String, u32)],
) -> Vec<String> {
    let line = |(f, l): &(String, u32)| format!("  at {f} ({file}:{l})");
    let mut out: Vec<String> = head.iter().map(line).collect();
    if omitted > 0 {
        out.push(format!("  ... {omitted} frames left out ..."));
    }
    out.extend(tail.iter().map(line));
    out
}
