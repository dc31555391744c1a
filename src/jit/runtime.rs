//! The runtime entry points JIT code calls (through exit trampolines): lazy
//! compilation, safepoints, stack overflow, allocation, the write barrier.

use super::*;

/// Runs a host function body, turning a panic (a bug in the VM) into a report and
/// exit status 70 instead of unwinding into JIT frames.
pub fn host_guard<R>(f: impl FnOnce() -> R) -> R {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            eprintln!("internal error: the VM panicked in a runtime function; please file a bug");
            std::process::exit(70);
        }
    }
}

pub(super) extern "C" fn rt_compile(thread: &Thread, mat: &Materializer, f: u64) -> usize {
    host_guard(|| {
        let r = thread.native(|| {
            let mut g = mat.inner.lock();
            mat.compile_locked(&mut g, FuncId(f as u32))
        });
        match r {
            Ok(a) => a,
            Err(e) => {
                eprintln!("internal error: JIT compilation failed: {e}; please file a bug");
                std::process::exit(70);
            }
        }
    })
}

pub(super) extern "C" fn rt_safepoint(thread: &Thread) {
    host_guard(|| thread.safepoint_slow())
}

/// The prologue's slow path: parks at a requested safepoint, then raises
/// StackOverflow if `sp` is below the thread's stack limit. Returns 1 if it raised.
pub(super) extern "C" fn rt_stack_check(thread: &Thread, sp: usize) -> u64 {
    host_guard(|| {
        thread.safepoint();
        if sp >= thread.stack_limit() {
            return 0;
        }
        let exc = crate::vm::vm().new_exception(thread, ErrorKind::StackOverflow, "stack overflow");
        thread.set_pending_exception(exc);
        1
    })
}

pub(super) extern "C" fn rt_alloc(thread: &Thread, ti: &'static TypeInfo, size: usize) -> usize {
    host_guard(|| match thread.alloc(ti, size) {
        Ok(o) => o.to_raw_address().as_usize(),
        Err(e) => {
            let exc = crate::vm::vm().new_exception(thread, ErrorKind::OutOfMemory, &e.to_string());
            thread.set_pending_exception(exc);
            0
        }
    })
}

/// The barrier's logging, before compiled code stores `target` (in the
/// personality's encoding) into `slot` of `src` itself: what the plan's barrier
/// does for that store (a snapshot-at-the-beginning barrier records `src`'s
/// fields as they are before it; an object-remembering generational barrier
/// records `src`, which may come before the store as no collection can run
/// between). It never collects: compiled code calls it without a stack map.
pub(super) extern "C" fn rt_barrier_log(thread: &Thread, src: usize, slot: usize, target: usize) {
    host_guard(|| {
        crate::gc::stats::record_barrier_slow_path();
        if let Some(src) = crate::object::word_to_ref(src) {
            // SAFETY: `slot` is the address of a reference field of `src`.
            let slot = unsafe { mmtk::util::Address::from_usize(slot) };
            thread.log_before_store(src, slot, target as u64);
        }
    })
}
