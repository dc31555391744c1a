//! The frame walker: finds JIT frames on a thread's stack by frame pointers, for
//! root scanning (stack maps) and backtraces.
//!
//! Every call from JIT code into a runtime function that may collect, throw or
//! inspect the stack goes through an exit trampoline that stores its own frame
//! pointer in the thread's anchor. From that frame, `[fp]` is the caller's frame
//! pointer and `[fp + 8]` the return address into the caller; the caller's stack
//! pointer at that return address (what stack-map offsets are relative to) is
//! `fp + 16` (the [`arch`] facts). A return address in no compiled code is a
//! broken chain: reported as an internal error, never skipped. With
//! `VMKIT_TRACE_FRAMES` set in the environment, every walk prints its frames. Each entry into JIT code from the host ([`super::Materializer::invoke`])
//! saves the previous anchor, so stretches of JIT code separated by host frames are
//! walked one after the other.

use super::codemap::{self, CodeInfo, CodeKind};
use crate::thread::Thread;
use mmtk::util::Address;
use std::collections::VecDeque;
use std::sync::Arc;

/// One frame of a backtrace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    /// Function name.
    pub function: String,
    /// Source file.
    pub file: String,
    /// Source line of the call the frame is suspended at, if known.
    pub line: Option<u32>,
}

pub use super::arch;

fn read(addr: usize) -> usize {
    // SAFETY: `addr` is a frame-pointer-relative slot of a JIT frame that is live
    // on a stopped (or the current) thread: frame pointers are preserved in all JIT
    // code, so the chain is well formed.
    unsafe { *(addr as *const usize) }
}

/// A return address in the frame chain of JIT code that is in no code the
/// materializer emitted: the chain is broken (a bug of vmkit's or of the
/// personality's host functions). The walk stops there; the frames beyond it
/// would be missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownPc {
    /// The return address.
    pub pc: usize,
    /// The frame pointer of the frame whose record held it.
    pub frame_pointer: usize,
    /// How many managed frames the walk had passed in this stretch of JIT code.
    pub depth: usize,
}

/// What the walker needs to know of a return address: not JIT code, an entry
/// trampoline (the end of a stretch of JIT frames), or a managed frame.
#[derive(Debug)]
enum Code<T> {
    Unknown,
    Trampoline,
    Managed(T),
}

/// Walks the frame chains starting at each anchor (a frame pointer whose record
/// returns into JIT code), calling `f(frame_pointer_of_callee, return_pc, code)`
/// for each managed frame, innermost first, until an entry trampoline or until
/// `f` returns `false`. `read` reads a stack word, `lookup` classifies a return
/// address.
fn walk_chains<T>(
    anchors: impl IntoIterator<Item = usize>,
    read: impl Fn(usize) -> usize,
    lookup: impl Fn(usize) -> Code<T>,
    mut f: impl FnMut(usize, usize, &T) -> bool,
) -> Result<(), UnknownPc> {
    for mut callee_fp in anchors {
        let mut depth = 0;
        while callee_fp != 0 {
            let pc = read(callee_fp + arch::RETURN_PC);
            match lookup(pc) {
                Code::Trampoline => break,
                Code::Unknown => {
                    return Err(UnknownPc {
                        pc,
                        frame_pointer: callee_fp,
                        depth,
                    })
                }
                Code::Managed(code) => {
                    if !f(callee_fp, pc, &code) {
                        return Ok(());
                    }
                }
            }
            depth += 1;
            callee_fp = read(callee_fp + arch::SAVED_FP);
        }
    }
    Ok(())
}

/// Whether `VMKIT_TRACE_FRAMES` is set: every walk prints its frames to stderr.
fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("VMKIT_TRACE_FRAMES").is_some())
}

/// Calls `f(frame_pointer_of_callee, return_pc)` for each managed frame, innermost
/// first, while it returns `true`; the managed frame's SP at `return_pc` is
/// `callee_fp + arch::CALLER_SP`.
/// A return address in no JIT code is a broken chain: the roots of the frames
/// beyond it would be missed, so it is reported as an internal error and the
/// process exits with status 70.
fn walk(thread: &Thread, mut f: impl FnMut(usize, usize, &Arc<CodeInfo>) -> bool) {
    let mut anchors = vec![thread.frame_anchor[0].load(std::sync::atomic::Ordering::SeqCst)];
    anchors.extend(thread.jit_segments().iter().rev().copied());
    let trace = tracing();
    let lookup = |pc| match codemap::lookup(pc) {
        None => Code::Unknown,
        Some(info) if info.kind == CodeKind::Trampoline => Code::Trampoline,
        Some(info) => Code::Managed(info),
    };
    let r = walk_chains(anchors, read, lookup, |fp, pc, info| {
        if trace {
            eprintln!(
                "vmkit frames: thread {} fp {fp:#x} pc {pc:#x} {} +{:#x} ({:?})",
                thread.name(),
                info.name,
                pc - info.start,
                info.kind
            );
        }
        f(fp, pc, info)
    });
    if let Err(e) = r {
        eprintln!(
            "internal error: vmkit's frame walker met return address {:#x} (frame \
             pointer {:#x}, {} JIT frames in) in no compiled code on thread {}; \
             please file a bug",
            e.pc,
            e.frame_pointer,
            e.depth,
            thread.name()
        );
        std::process::exit(70);
    }
}

/// Reports the stack slots holding live references in every JIT frame of `thread`.
pub(crate) fn scan_frames(thread: &Thread, visit: &mut dyn FnMut(Address)) {
    walk(thread, |callee_fp, pc, info| {
        let off = (pc - info.start) as u32;
        if let Some(slots) = info.stack_maps.get(&off) {
            let sp = callee_fp + arch::CALLER_SP;
            for &s in slots {
                // SAFETY: an Address is only a number; the collector dereferences it
                // as the live stack slot the stack map says it is.
                visit(unsafe { Address::from_usize(sp + s as usize) });
            }
        }
        true
    });
}

/// Managed frames visited by backtrace walks ([`backtrace_bounded`],
/// [`exception_is_handled`]) in this process.
static FRAMES_WALKED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many managed frames backtrace walks ([`backtrace`], [`backtrace_bounded`],
/// [`exception_is_handled`]) have visited in this process: what raising
/// exceptions has cost in stack walking (collections' root scans not counted).
pub fn frames_walked() -> u64 {
    FRAMES_WALKED.load(std::sync::atomic::Ordering::Relaxed)
}

fn count_walked(n: u64) {
    FRAMES_WALKED.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
}

/// Whether an exception raised now on the calling thread will be caught by a
/// JIT frame: some frame, walking out from the innermost, is suspended at a
/// call inside a region its code catches ([`super::FnCtx::set_handled`]). The
/// walk stops at the first such frame, so inside a `try` this costs a frame or
/// two however deep the stack is. `false` when no JIT frame catches it (host
/// code beyond them may still). Call it from a runtime function reached
/// through an exit trampoline, as [`backtrace`].
pub fn exception_is_handled(thread: &Thread) -> bool {
    let mut handled = false;
    let mut n = 0;
    walk(thread, |_, pc, code| {
        n += 1;
        if code.kind == CodeKind::Function && code.handled_at((pc - code.start - 1) as u32) {
            handled = true;
        }
        !handled
    });
    count_walked(n);
    handled
}

/// The JIT frames of the calling thread, innermost first, with a frame for each
/// inlined function (see [`super::FnCtx::push_inline`]). Call it from a runtime
/// function reached through an exit trampoline (any host function registered with
/// `may_gc`).
pub fn backtrace(thread: &Thread) -> Vec<FrameInfo> {
    let b = backtrace_bounded(thread, usize::MAX, 0);
    b.head
}

/// A backtrace cut to its innermost and outermost frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedBacktrace {
    /// The innermost frames (all of them when nothing is left out).
    pub head: Vec<FrameInfo>,
    /// How many frames between `head` and `tail` were left out.
    pub omitted: usize,
    /// The outermost frames, when some were left out.
    pub tail: Vec<FrameInfo>,
}

/// [`backtrace`], keeping at most `head` innermost and `tail` outermost frames:
/// after a stack overflow the stack holds millions of frames, and only these are
/// turned into [`FrameInfo`]s (the walk itself allocates nothing per frame).
pub fn backtrace_bounded(thread: &Thread, head: usize, tail: usize) -> BoundedBacktrace {
    let info = |code: &CodeInfo, scope: u32, line: Option<u32>| {
        let (function, file) = code.scope_names(scope);
        FrameInfo {
            function: function.to_owned(),
            file: file.to_owned(),
            line,
        }
    };
    let mut first = Vec::new();
    let mut last: VecDeque<(Arc<CodeInfo>, u32, Option<u32>)> = VecDeque::new();
    let mut total = 0usize;
    walk(thread, |_, pc, code| {
        if code.kind != CodeKind::Function {
            return true;
        }
        code.for_each_frame_at((pc - code.start - 1) as u32, |scope, line| {
            if first.len() < head {
                first.push(info(code, scope, line));
            } else if tail > 0 {
                if last.len() == tail {
                    last.pop_front();
                }
                last.push_back((code.clone(), scope, line));
            }
            total += 1;
        });
        true
    });
    count_walked(total as u64);
    let kept: Vec<FrameInfo> = last.iter().map(|(c, s, l)| info(c, *s, *l)).collect();
    let omitted = total - first.len() - kept.len();
    if omitted == 0 {
        first.extend(kept);
        return BoundedBacktrace {
            head: first,
            omitted: 0,
            tail: Vec::new(),
        };
    }
    BoundedBacktrace {
        head: first,
        omitted,
        tail: kept,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A fake stack: frame records at fake frame pointers.
    fn stack(records: &[(usize, usize, usize)]) -> HashMap<usize, usize> {
        let mut m = HashMap::new();
        for &(fp, saved, pc) in records {
            m.insert(fp + arch::SAVED_FP, saved);
            m.insert(fp + arch::RETURN_PC, pc);
        }
        m
    }

    fn classify(pc: usize) -> Code<&'static str> {
        match pc {
            0x1000..=0x1fff => Code::Managed("f"),
            0x2000..=0x2fff => Code::Managed("g"),
            0x9000..=0x9fff => Code::Trampoline,
            _ => Code::Unknown,
        }
    }

    #[test]
    fn walks_each_stretch_to_its_entry_trampoline() {
        // Stretch 1: f <- g <- entry; stretch 2: g <- entry.
        let m = stack(&[
            (100, 200, 0x1010),
            (200, 300, 0x2020),
            (300, 0, 0x9000),
            (500, 600, 0x2030),
            (600, 0, 0x9010),
        ]);
        let mut seen = Vec::new();
        let r = walk_chains(
            [100, 0, 500],
            |a| m[&a],
            classify,
            |fp, pc, name| {
                seen.push((fp, pc, *name));
                true
            },
        );
        assert_eq!(r, Ok(()));
        assert_eq!(
            seen,
            [(100, 0x1010, "f"), (200, 0x2020, "g"), (500, 0x2030, "g")]
        );
    }

    #[test]
    fn a_walk_stops_where_its_visitor_says() {
        let m = stack(&[(100, 200, 0x1010), (200, 300, 0x2020), (300, 0, 0x9000)]);
        let mut seen = Vec::new();
        let r = walk_chains(
            [100],
            |a| m[&a],
            classify,
            |fp, _, name| {
                seen.push(fp);
                *name != "f"
            },
        );
        assert_eq!(r, Ok(()));
        assert_eq!(seen, [100]);
    }

    #[test]
    fn reports_a_return_address_in_no_code() {
        // f <- g <- (a pc in no code): the walk must not stop silently there.
        let m = stack(&[(100, 200, 0x1010), (200, 300, 0x2020), (300, 0, 0x5555)]);
        let mut seen = 0;
        let r = walk_chains(
            [100],
            |a| m[&a],
            classify,
            |_, _, _| {
                seen += 1;
                true
            },
        );
        assert_eq!(
            r,
            Err(UnknownPc {
                pc: 0x5555,
                frame_pointer: 300,
                depth: 2
            })
        );
        assert_eq!(seen, 2);
    }
}
