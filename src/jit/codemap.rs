//! The code map: which JIT function an address belongs to, and for each call site
//! its stack map and source line.

use parking_lot::RwLock;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// What a piece of JIT code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// A personality function: its frames are managed and appear in backtraces.
    Function,
    /// A lazy-compilation stub: managed (it may hold references) but hidden from
    /// backtraces.
    Stub,
    /// A trampoline between host and JIT code: not a managed frame.
    Trampoline,
}

/// A compiled function's metadata.
#[derive(Debug)]
pub struct CodeInfo {
    /// First byte of its code.
    pub start: usize,
    /// Code size in bytes.
    pub len: usize,
    /// Function name.
    pub name: String,
    /// Source file the function came from.
    pub file: String,
    /// What kind of code it is.
    pub kind: CodeKind,
    /// Return-address offset -> offsets from the caller's SP of live reference slots.
    pub(crate) stack_maps: HashMap<u32, Vec<u32>>,
    /// Sorted `(start, end, scope, line)` ranges of code offsets: the source
    /// position of the instructions there, in inline scope `scope` (0: the
    /// function itself, `k`: `scopes[k - 1]`).
    pub(crate) lines: Vec<(u32, u32, u32, u32)>,
    /// Sorted `(start, end)` ranges of code offsets inside regions whose
    /// exceptions this code catches ([`crate::jit::FnCtx::set_handled`]).
    pub(crate) handled: Vec<(u32, u32)>,
    /// Functions inlined into this one.
    pub(crate) scopes: Vec<InlineScope>,
}

/// A function body inlined into a compiled function (a virtual frame).
#[derive(Debug, Clone)]
pub struct InlineScope {
    /// The inlined function's name.
    pub name: String,
    /// Its source file.
    pub file: String,
    /// The scope it was inlined into (0: the compiled function itself).
    pub parent: u32,
    /// The line of the call it replaces, in the parent scope.
    pub call_line: u32,
}

impl CodeInfo {
    /// Whether the instruction at code offset `off` is inside a region whose
    /// exceptions this code catches.
    pub(crate) fn handled_at(&self, off: u32) -> bool {
        let i = self.handled.partition_point(|&(s, _)| s <= off);
        i.checked_sub(1)
            .and_then(|i| self.handled.get(i))
            .is_some_and(|&(s, e)| s <= off && off < e)
    }

    /// The inline scope and source line of the instruction at code offset `off`.
    fn position_at(&self, off: u32) -> Option<(u32, u32)> {
        let i = self.lines.partition_point(|&(s, ..)| s <= off);
        let (s, e, scope, line) = *self.lines.get(i.checked_sub(1)?)?;
        (s <= off && off < e).then_some((scope, line))
    }

    /// The source line of the instruction at code offset `off`, if recorded (in
    /// the innermost inlined function there).
    pub fn line_at(&self, off: u32) -> Option<u32> {
        self.position_at(off).map(|(_, line)| line)
    }

    /// The source frames of the instruction at code offset `off`, innermost first:
    /// `(function, file, line)` for each inlined function it belongs to, then for
    /// the compiled function itself.
    pub fn frames_at(&self, off: u32) -> Vec<(&str, &str, Option<u32>)> {
        let mut out = Vec::new();
        self.for_each_frame_at(off, |scope, line| {
            let (name, file) = self.scope_names(scope);
            out.push((name, file, line));
        });
        out
    }

    /// Calls `f(scope, line)` for each source frame at code offset `off`,
    /// innermost first (see [`CodeInfo::frames_at`]), without allocating.
    pub(crate) fn for_each_frame_at(&self, off: u32, mut f: impl FnMut(u32, Option<u32>)) {
        let Some((mut scope, line)) = self.position_at(off) else {
            f(0, None);
            return;
        };
        let mut line = Some(line);
        while scope != 0 {
            let sc = &self.scopes[scope as usize - 1];
            f(scope, line);
            line = Some(sc.call_line);
            scope = sc.parent;
        }
        f(0, line);
    }

    /// The function name and file of inline scope `scope` (0: the function).
    pub(crate) fn scope_names(&self, scope: u32) -> (&str, &str) {
        match scope {
            0 => (&self.name, &self.file),
            k => {
                let sc = &self.scopes[k as usize - 1];
                (&sc.name, &sc.file)
            }
        }
    }
}

static MAP: RwLock<BTreeMap<usize, Arc<CodeInfo>>> = RwLock::new(BTreeMap::new());

pub(crate) fn register(info: CodeInfo) -> Arc<CodeInfo> {
    let info = Arc::new(info);
    MAP.write().insert(info.start, info.clone());
    info
}

/// The JIT code containing `pc`, if any.
pub fn lookup(pc: usize) -> Option<Arc<CodeInfo>> {
    let map = MAP.read();
    let (_, info) = map.range(..=pc).next_back()?;
    (pc < info.start + info.len).then(|| info.clone())
}
