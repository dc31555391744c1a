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

use super::codemap::{self, CodeKind};
use crate::thread::Thread;
use mmtk::util::Address;

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
fn walk(thread: &Thread, mut f: impl FnMut(usize, usize, &codemap::CodeInfo)) {
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
    let mut out = Vec::new();
    walk(thread, |_, pc, info| {
        if info.kind == CodeKind::Function {
            for (function, file, line) in info.frames_at((pc - info.start - 1) as u32) {
                out.push(FrameInfo {
                    function: function.to_owned(),
                    file: file.to_owned(),
                    line,
                });
            }
        }
    });
    out
}
