//! The personality: what vmkit asks of luavm.

use crate::value::ENCODING;
use vmkit::{ObjectModel, SlotVisitor, ValueEncoding, VirtualMachine};

/// luavm's personality. Its roots are all on the interpreter's root stack
/// (the substrate scans it), so it reports no globals of its own.
pub struct LuaVm;

impl ObjectModel for LuaVm {
    fn scan_globals(&self, _visit: &mut SlotVisitor<'_>) {}

    fn value_encoding(&self) -> ValueEncoding {
        ENCODING
    }

    fn finalizers_pending(&self) {
        crate::stdlib::finalize::notify();
    }
}

impl VirtualMachine for LuaVm {}

/// The one instance.
pub static VM: LuaVm = LuaVm;
