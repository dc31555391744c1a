//! Handles: a scoped root set so Rust code can hold references across allocations
//! while the collector moves objects (HotSpot's `HandleMark`/`Handle`).

use super::Thread;
use crate::object;
use mmtk::util::ObjectReference;
use std::marker::PhantomData;

/// A scope of handles on a thread. Handles made in it stay roots until it drops;
/// scopes nest and must be dropped in LIFO order (as Rust locals are).
pub struct HandleScope<'t> {
    thread: &'t Thread,
    base: usize,
}

/// A root holding one (nullable) reference; [`Handle::get`] reads the object's
/// current address.
#[derive(Clone, Copy)]
pub struct Handle<'s> {
    thread: &'s Thread,
    index: usize,
    _scope: PhantomData<&'s HandleScope<'s>>,
}

impl<'t> HandleScope<'t> {
    pub(super) fn new(thread: &'t Thread) -> Self {
        let base = thread.handles_mut().len();
        HandleScope { thread, base }
    }

    /// Makes a handle for `obj`.
    pub fn handle(&self, obj: Option<ObjectReference>) -> Handle<'_> {
        let hs = self.thread.handles_mut();
        hs.push(object::ref_to_word(obj));
        Handle {
            thread: self.thread,
            index: hs.len() - 1,
            _scope: PhantomData,
        }
    }
}

impl Drop for HandleScope<'_> {
    fn drop(&mut self) {
        self.thread.handles_mut().truncate(self.base);
    }
}

impl Handle<'_> {
    /// The referent at its current address.
    pub fn get(&self) -> Option<ObjectReference> {
        object::word_to_ref(self.thread.handles_mut()[self.index])
    }

    /// The referent, which must not be null.
    pub fn obj(&self) -> ObjectReference {
        self.get().expect("null handle")
    }

    /// Replaces the referent.
    pub fn set(&self, obj: Option<ObjectReference>) {
        self.thread.handles_mut()[self.index] = object::ref_to_word(obj);
    }
}
