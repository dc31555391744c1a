//! The frame walker: finds JIT frames on a thread's stack by frame pointers, for
//! root scanning (stack maps) and backtraces.
//!
//! Every call from JIT code into a runtime function that may collect, throw or
//! inspect the stack goes through an exit trampoline that stores its own frame
//! pointer in the thread's anchor. From that frame, `[fp]` is the caller's frame
//! pointer and `[fp + 8]` the return address into the caller; the caller's stack
//! pointer at that return address (what stack-map offsets are relative to) is
//! `fp + 16`. Each entry into JIT code from the host ([`super::Materializer::invoke`])
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

fn read(addr: usize) -> usize {
    // SAFETY: `addr` is a frame-pointer-relative slot of a JIT frame that is live
    // on a stopped (or the current) thread: frame pointers are preserved in all JIT
    // code, so the chain is well formed.
    unsafe { *(addr as *const usize) }
}

/// Calls `f(frame_pointer_of_callee, return_pc)` for each managed frame, innermost
/// first; the managed frame's SP at `return_pc` is `callee_fp + 16`.
fn walk(thread: &Thread, mut f: impl FnMut(usize, usize, &Arc<CodeInfo>)) {
    let mut anchors = vec![thread.frame_anchor[0].load(std::sync::atomic::Ordering::SeqCst)];
    anchors.extend(thread.jit_segments().iter().rev().copied());
    for mut callee_fp in anchors {
        while callee_fp != 0 {
            let pc = read(callee_fp + 8);
            let Some(info) = codemap::lookup(pc) else {
                break;
            };
            if info.kind == CodeKind::Trampoline {
                break;
            }
            f(callee_fp, pc, &info);
            callee_fp = read(callee_fp);
        }
    }
}

/// Reports the stack slots holding live references in every JIT frame of `thread`.
pub(crate) fn scan_frames(thread: &Thread, visit: &mut dyn FnMut(Address)) {
    walk(thread, |callee_fp, pc, info| {
        let off = (pc - info.start) as u32;
        if let Some(slots) = info.stack_maps.get(&off) {
            let sp = callee_fp + 16;
            for &s in slots {
                // SAFETY: an Address is only a number; the collector dereferences it
                // as the live stack slot the stack map says it is.
                visit(unsafe { Address::from_usize(sp + s as usize) });
            }
        }
    });
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
            return;
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
    });
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
