//! What the frame walker must know of the target's frame records. Cranelift
//! keeps frame pointers in all JIT code (`preserve_frame_pointers`), and on both
//! supported targets a frame record is two words at the frame pointer: the
//! caller's frame pointer, then the return address; the caller's stack pointer
//! at the return (what stack-map offsets are relative to) is just above the
//! record.

#[cfg(target_arch = "x86_64")]
mod target {
    // `push rbp; mov rbp, rsp`: [rbp] = caller's rbp, [rbp + 8] = return address
    // (pushed by `call`), and the caller's rsp before the call = rbp + 16.
    pub const SAVED_FP: usize = 0;
    pub const RETURN_PC: usize = 8;
    pub const CALLER_SP: usize = 16;
}

#[cfg(target_arch = "aarch64")]
mod target {
    // `stp x29, x30, [sp, #-16]!; mov x29, sp`: [x29] = caller's x29, [x29 + 8] =
    // x30 (the return address), and the caller's sp = x29 + 16.
    pub const SAVED_FP: usize = 0;
    pub const RETURN_PC: usize = 8;
    pub const CALLER_SP: usize = 16;
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!(
    "vmkit's frame walker knows the frame records of x86-64 and AArch64 only \
     (fp, then return address, caller's SP = fp + 16)"
);

/// Offset from a frame pointer of the saved caller's frame pointer.
pub const SAVED_FP: usize = target::SAVED_FP;
/// Offset from a frame pointer of the return address into the caller.
pub const RETURN_PC: usize = target::RETURN_PC;
/// Offset from a callee's frame pointer of the caller's stack pointer at the
/// return address.
pub const CALLER_SP: usize = target::CALLER_SP;
