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
    /// Sorted `(start, end, line)` ranges of code offsets.
    pub(crate) lines: Vec<(u32, u32, u32)>,
}

impl CodeInfo {
    /// The source line of the instruction at code offset `off`, if recorded.
    pub fn line_at(&self, off: u32) -> Option<u32> {
        let i = self.lines.partition_point(|&(s, _, _)| s <= off);
        let (s, e, line) = *self.lines.get(i.checked_sub(1)?)?;
        (s <= off && off < e && line != u32::MAX).then_some(line)
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
