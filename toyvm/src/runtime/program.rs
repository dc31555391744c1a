//! The program as both engines run it: the checked program and what the
//! runtime derived from it (struct descriptors, string constants), installed
//! once per process.

use super::object as tobj;
use super::ToyVm;
use crate::lang::ir::*;
use std::sync::OnceLock;
use vmkit::{Thread, TypeInfo};

/// An array or struct literal of more elements than this is allocated before
/// its elements are computed, and each is stored as soon as it is (in both
/// engines, so that both do things in the same order): computing them all
/// first keeps each one live across the computation of the next, and register
/// allocation over thousands of values live at once takes time quadratic in
/// their number (issue 21). A small literal's values stay in registers.
pub const ALLOC_FIRST: usize = 64;

/// Program-wide state shared by all interpreter threads.
pub struct Shared {
    /// The program.
    pub prog: Program,
    /// Struct descriptors, by struct index.
    pub struct_types: Vec<&'static TypeInfo>,
    /// Command-line arguments of the program.
    pub args: Vec<String>,
    /// The personality (globals live there).
    pub vm: &'static ToyVm,
    /// Stack size of spawned threads (besides their Toy stack).
    pub thread_stack: usize,
    /// The stack Toy calls may use on each thread (`--stack`).
    pub toy_stack: usize,
    /// Index of each string literal's interned constant, by the literal's address.
    pub const_ix: std::collections::HashMap<usize, usize>,
    /// The bytes of each string constant, by index.
    pub literals: Vec<std::sync::Arc<[u8]>>,
}

impl Shared {
    /// String constant `k` as a word: allocated on first use (a program that
    /// never uses its constants never needs the heap for them), then kept in the
    /// constant table, a root.
    pub fn constant(&self, t: &Thread, k: usize) -> Result<u64, vmkit::OutOfMemory> {
        let slot = &self.vm.consts.get().expect("constants")[k];
        let w = slot.load(std::sync::atomic::Ordering::Acquire);
        if w != 0 {
            return Ok(w);
        }
        let s = tobj::rword(tobj::new_str(t, &self.literals[k])?);
        // Another thread may have made it meanwhile (no safepoint between the
        // allocation and this exchange, so `s` cannot have moved): keep theirs.
        Ok(
            match slot.compare_exchange(
                0,
                s,
                std::sync::atomic::Ordering::AcqRel,
                std::sync::atomic::Ordering::Acquire,
            ) {
                Ok(_) => s,
                Err(theirs) => theirs,
            },
        )
    }

    /// For `print(c)` / `write(c)` of a string constant: its index and whether a
    /// newline follows. Both engines write such a constant's bytes directly, with
    /// no string object (so such a call never needs the heap).
    pub fn printed_constant(&self, b: &Builtin, args: &[Expr]) -> Option<(usize, bool)> {
        match (b, args) {
            (
                Builtin::Print(_) | Builtin::Write(_),
                [Expr {
                    kind: EK::Str(s), ..
                }],
            ) => Some((self.const_index(s), matches!(b, Builtin::Print(_)))),
            _ => None,
        }
    }

    /// The constant index of a string literal of the program.
    pub fn const_index(&self, s: &std::sync::Arc<[u8]>) -> usize {
        self.const_ix[&(s.as_ptr() as usize)]
    }
}

/// Collects the string literals of a program, in a fixed order.
pub fn string_literals(p: &Program) -> Vec<std::sync::Arc<[u8]>> {
    let mut out = Vec::new();
    let mut f = |n: Node<'_>| {
        if let Node::Expr(Expr {
            kind: EK::Str(s), ..
        }) = n
        {
            out.push(s.clone());
        }
    };
    for g in &p.globals {
        if let Some(x) = &g.init {
            crate::lang::ir::visit_expr(x, &mut f);
        }
    }
    for func in &p.funcs {
        crate::lang::ir::visit(&func.body, &mut f);
    }
    out
}

static SHARED: OnceLock<&'static Shared> = OnceLock::new();

/// The shared state installed by [`install`].
pub fn shared() -> &'static Shared {
    SHARED.get().expect("program not installed")
}

/// Installs the shared state (once per process).
pub fn install(s: Shared) -> &'static Shared {
    let s: &'static Shared = Box::leak(Box::new(s));
    let _ = SHARED.set(s);
    s
}
