//! Backtraces of exceptions raised in JIT code: recorded when the exception is
//! raised (from the JIT frames on the stack, walked by the substrate), kept
//! per thread until it is caught or reported.

use super::threads;
use std::cell::RefCell;
use vmkit::Thread;

/// A backtrace as kept for an exception: the innermost frames, how many were
/// left out, the outermost frames (`(function, line)` each).
#[derive(Default)]
pub struct Trace {
    head: Vec<(String, u32)>,
    omitted: usize,
    tail: Vec<(String, u32)>,
}

impl Trace {
    /// The trace of `frames` (innermost first): one longer than 40 frames keeps
    /// the 20 innermost and the 20 outermost, and says how many were left out.
    pub fn of_frames(mut frames: Vec<(String, u32)>) -> Trace {
        let keep = threads::TRACE_KEEP;
        if frames.len() <= 2 * keep {
            return Trace {
                head: frames,
                ..Trace::default()
            };
        }
        let tail = frames.split_off(frames.len() - keep);
        let omitted = frames.len() - keep;
        frames.truncate(keep);
        Trace {
            head: frames,
            omitted,
            tail,
        }
    }

    /// This trace followed by the frames `outer` (innermost first) of the
    /// callers below it: an exception from JIT code that an interpreted frame
    /// called. Cut as if the whole stack had been one trace.
    pub fn then(self, outer: &[(String, u32)]) -> Trace {
        if self.omitted == 0 {
            let mut all = self.head;
            all.extend(self.tail);
            all.extend_from_slice(outer);
            return Trace::of_frames(all);
        }
        let keep = threads::TRACE_KEEP;
        let mut tail = self.tail;
        tail.extend_from_slice(outer);
        let cut = tail.len().saturating_sub(keep);
        Trace {
            head: self.head,
            omitted: self.omitted + cut,
            tail: tail.split_off(cut),
        }
    }

    /// The lines `toyvm` prints for it.
    pub fn format(&self, file: &str) -> Vec<String> {
        threads::format_trace_parts(file, &self.head, self.omitted, &self.tail)
    }
}

thread_local! {
    /// Backtrace of the exception propagating on this thread.
    static TRACE: RefCell<Trace> = RefCell::new(Trace::default());
}

/// Records the JIT backtrace of the calling thread as the propagating exception's
/// (only the frames that will be printed: a stack overflow leaves millions).
/// An exception a `try` of a JIT frame will catch gets none: its trace would
/// be dropped at the catch, and walking the whole stack at each raise made a
/// rethrow from every frame of a deep recursion quadratic.
pub fn capture_trace(t: &Thread) {
    if vmkit::jit::exception_is_handled(t) {
        TRACE.with(|tr| *tr.borrow_mut() = Trace::default());
        return;
    }
    let keep = threads::TRACE_KEEP;
    let b = vmkit::jit::backtrace_bounded(t, keep, keep);
    let conv = |v: Vec<vmkit::jit::FrameInfo>| -> Vec<(String, u32)> {
        v.into_iter()
            .map(|f| (f.function, f.line.unwrap_or(0)))
            .collect()
    };
    let trace = Trace {
        head: conv(b.head),
        omitted: b.omitted,
        tail: conv(b.tail),
    };
    TRACE.with(|tr| *tr.borrow_mut() = trace);
}

/// Takes the propagating exception's backtrace.
pub fn take_trace() -> Trace {
    TRACE.with(|tr| std::mem::take(&mut *tr.borrow_mut()))
}
