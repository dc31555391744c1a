//! The personality: what vmkit asks of luavm.

use crate::value::ENCODING;
use vmkit::{ObjectModel, SlotVisitor, Thread, ValueEncoding, VirtualMachine};

/// luavm's personality. Its roots are all on the value stack ([`crate::stack`]),
/// which it reports as the Lua thread's roots (the regions of the running
/// coroutine and of those that resumed it; a suspended coroutine's region
/// is scanned with its object, [`crate::coro`]).
pub struct LuaVm;

impl ObjectModel for LuaVm {
    fn scan_globals(&self, _visit: &mut SlotVisitor<'_>) {}

    fn value_encoding(&self) -> ValueEncoding {
        ENCODING
    }

    fn scan_object(&self, object: vmkit::ObjectReference, visit: &mut SlotVisitor<'_>) {
        // Only coroutines have the custom layout.
        crate::coro::scan_object(object, visit);
    }

    fn object_size(&self, _object: vmkit::ObjectReference) -> usize {
        crate::coro::object_size()
    }

    fn finalizers_pending(&self) {
        crate::stdlib::finalize::notify();
    }

    fn pause_ended(&self) {
        // The JIT's inline caches hold raw addresses of tables' value words.
        crate::table::invalidate_caches();
    }
}

impl VirtualMachine for LuaVm {
    fn scan_thread_roots(&self, thread: &Thread, visit: &mut SlotVisitor<'_>) {
        // Only the Lua thread runs Lua code (and so only it has a stack).
        crate::stack::scan(thread, visit);
    }
}

/// The one instance.
pub static VM: LuaVm = LuaVm;
