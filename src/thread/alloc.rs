//! A thread's allocation and stores into the heap: its MMTk mutator's allocators
//! (with the early region while the heap comes up), out-of-memory, and the plan's
//! write barriers.

use super::*;

impl Thread {
    /// Allocates an object of `size` bytes (header included) with type `ty`.
    /// Its fields are zero (null). May collect: hold other references in handles.
    pub fn alloc(
        &self,
        ty: &'static TypeInfo,
        size: usize,
    ) -> Result<ObjectReference, OutOfMemory> {
        let header = ty.header().ok_or(OutOfMemory { requested: size })?;
        let obj = self.alloc_raw(size)?;
        // SAFETY: a fresh object of `size` >= HEADER_SIZE bytes.
        unsafe { object::write_word(obj, object::TYPE_OFFSET, header) };
        Ok(obj)
    }

    /// Allocates an array of `len` elements of an [`object::Layout::Array`] type.
    pub fn alloc_array(
        &self,
        ty: &'static TypeInfo,
        len: usize,
    ) -> Result<ObjectReference, OutOfMemory> {
        let elem_size = match ty.layout {
            object::Layout::Array { elem_size, .. } => elem_size,
            _ => panic!("alloc_array on non-array type {}", ty.name),
        };
        let size = elem_size
            .checked_mul(len)
            .and_then(|b| b.checked_add(object::ARRAY_DATA_OFFSET + OBJECT_ALIGN))
            .ok_or(OutOfMemory {
                requested: usize::MAX,
            })?
            & !(OBJECT_ALIGN - 1);
        let obj = self.alloc(ty, size)?;
        // SAFETY: a fresh array: its length word is inside it.
        unsafe { object::write_word(obj, object::ARRAY_LENGTH_OFFSET, len) };
        Ok(obj)
    }

    /// Allocates an object as [`Thread::alloc`] does, but only if it fits in
    /// the thread's allocation buffer: this never collects (no safepoint, no
    /// object moves), so references the caller holds in locals stay valid
    /// across it. `None` when the object does not fit (or the heap is not up,
    /// or `--stress-gc`-style collection at every allocation is on, or the
    /// plan has no bump-pointer buffer): then use [`Thread::alloc`], with
    /// handles. For the runtime's many small objects, whose handles cost more
    /// than the allocation.
    pub fn try_alloc_without_gc(
        &self,
        ty: &'static TypeInfo,
        size: usize,
    ) -> Option<ObjectReference> {
        let header = ty.header()?;
        if !self.bound.load(Acquire)
            || HEAP_HOOK.load(Acquire) != HOOK_DONE
            || gc::stress_gc()
            || gc::plan() == gc::Plan::NoGC
        {
            return None;
        }
        let size = (size.max(HEADER_SIZE) + OBJECT_ALIGN - 1) & !(OBJECT_ALIGN - 1);
        let obj = self.bump_alloc(size)?;
        // SAFETY: a fresh object of `size` >= HEADER_SIZE bytes.
        unsafe { object::write_word(obj, object::TYPE_OFFSET, header) };
        Some(obj)
    }

    /// [`Thread::try_alloc_without_gc`] for an array of `len` elements of an
    /// [`object::Layout::Array`] type (as [`Thread::alloc_array`]).
    pub fn try_alloc_array_without_gc(
        &self,
        ty: &'static TypeInfo,
        len: usize,
    ) -> Option<ObjectReference> {
        let elem_size = match ty.layout {
            object::Layout::Array { elem_size, .. } => elem_size,
            _ => panic!("alloc_array on non-array type {}", ty.name),
        };
        let size = elem_size
            .checked_mul(len)?
            .checked_add(object::ARRAY_DATA_OFFSET + OBJECT_ALIGN - 1)?
            & !(OBJECT_ALIGN - 1);
        let obj = self.try_alloc_without_gc(ty, size)?;
        // SAFETY: a fresh array: its length word is inside it.
        unsafe { object::write_word(obj, object::ARRAY_LENGTH_OFFSET, len) };
        Some(obj)
    }

    /// The bump-pointer fast path (the one JIT code inlines): `size` zeroed
    /// bytes from the thread's allocation buffer if they fit, counted as
    /// allocated; `None` otherwise. Never collects.
    #[inline]
    fn bump_alloc(&self, size: usize) -> Option<ObjectReference> {
        if !(gc::inline_alloc_supported() && size <= gc::max_non_los_bytes()) {
            return None;
        }
        let bp = self.frame_anchor[1].load(std::sync::atomic::Ordering::Relaxed);
        if bp == 0 {
            return None;
        }
        // SAFETY: `bp` is the address of this thread's MMTk bump pointer
        // `[cursor, limit]` (see `bump_pointer_address`); only the owning
        // thread, which is managed here, reads or writes it.
        unsafe {
            let cursor = *(bp as *const usize);
            let limit = *((bp + 8) as *const usize);
            if cursor != 0 && cursor + size <= limit {
                *(bp as *mut usize) = cursor + size;
                // No clearing: the buffer is zeroed already, as the JIT's
                // inline path (`FnCtx::alloc_fixed`) relies on (every space is
                // created `zeroed`; Immix clears recycled lines when it takes
                // them into the buffer).
                self.count_alloc(size);
                return Some(ObjectReference::from_raw_address_unchecked(
                    Address::from_usize(cursor),
                ));
            }
        }
        None
    }

    fn alloc_raw(&self, size: usize) -> Result<ObjectReference, OutOfMemory> {
        debug_assert_eq!(
            self.state(),
            ThreadState::Managed,
            "allocation outside managed state"
        );
        let size = (size.max(HEADER_SIZE) + OBJECT_ALIGN - 1) & !(OBJECT_ALIGN - 1);
        if !self.bound.load(Acquire) {
            if gc::early_allocation() {
                if let Some(obj) = gc::early::alloc(size) {
                    self.count_alloc(size);
                    return Ok(obj);
                }
            }
            self.wait_bound();
        }
        if HEAP_HOOK.load(Acquire) != HOOK_DONE {
            self.run_heap_hook();
        }
        if size > gc::total_bytes() {
            return Err(OutOfMemory { requested: size });
        }
        if gc::stress_gc() {
            self.collect();
        }
        if gc::plan() == gc::Plan::NoGC && gc::used_bytes() + size > gc::total_bytes() {
            // NoGC cannot collect: report exhaustion before MMTk tries to.
            return Err(OutOfMemory { requested: size });
        }
        // The JIT's fast path, for the runtime's own allocations (strings,
        // arrays): bump the thread's allocation buffer when the object fits.
        if let Some(obj) = self.bump_alloc(size) {
            return Ok(obj);
        }
        let semantics = if size > gc::max_non_los_bytes() {
            AllocationSemantics::Los
        } else {
            AllocationSemantics::Default
        };
        let m = self.mutator_mut();
        let addr = mmtk::memory_manager::alloc(m, size, OBJECT_ALIGN, 0, semantics);
        // Load first: the flag is almost never set, and a swap is a locked RMW.
        let oom = self.out_of_memory.load(SeqCst) && self.out_of_memory.swap(false, SeqCst);
        if addr.is_zero() || oom {
            return Err(OutOfMemory { requested: size });
        }
        // Every plan's large-object space takes fresh pages for each object and
        // zeroes them (`zeroed` space); other spaces may hand out used memory.
        if semantics != AllocationSemantics::Los {
            // SAFETY: MMTk returned `size` writable bytes at `addr`.
            unsafe { std::ptr::write_bytes(addr.to_mut_ptr::<u8>(), 0, size) };
        }
        let obj = ObjectReference::from_raw_address(addr).expect("nonzero address");
        mmtk::memory_manager::post_alloc(m, obj, size, semantics);
        self.count_alloc(size);
        Ok(obj)
    }

    fn count_alloc(&self, size: usize) {
        let n = self.allocated.load(Relaxed) + size as u64;
        self.allocated.store(n, Relaxed);
    }

    /// Bytes allocated through the runtime by this thread.
    pub(crate) fn allocated_bytes(&self) -> u64 {
        self.allocated.load(Relaxed)
    }

    pub(crate) fn set_out_of_memory(&self) {
        self.out_of_memory.store(true, SeqCst);
    }

    /// Stores a reference into field `offset` of `obj`, with the plan's write
    /// barrier. The field gets the reference as a value of the personality's
    /// [`ValueEncoding`] (its reference tag added; 0 for `None`).
    ///
    /// # Safety
    /// `obj` is a live object and `offset` one of its reference (value) fields, as
    /// its [`TypeInfo`]'s layout declares; `value`, if any, is a live object.
    #[inline]
    pub unsafe fn write_ref(
        &self,
        obj: ObjectReference,
        offset: usize,
        value: Option<ObjectReference>,
    ) {
        let word = value.map_or(0, |o| ValueEncoding::current().reference(o));
        self.write_value_at(obj, obj.to_raw_address() + offset, word);
    }

    /// Stores `target` into `slot` (a reference field of `src`) with the plan's
    /// write barrier, which logs before the store: the pre-write barrier of
    /// snapshot-at-the-beginning plans, and the object-remembering post-write
    /// barrier of the generational and sticky plans (it records `src`, whose
    /// fields the next collection reads; no collection runs between).
    ///
    /// # Safety
    /// As [`Thread::write_ref`], with `slot` the address of the field.
    #[inline]
    pub unsafe fn write_ref_at(
        &self,
        src: ObjectReference,
        slot: Address,
        target: Option<ObjectReference>,
    ) {
        let word = target.map_or(0, |o| ValueEncoding::current().reference(o));
        self.write_value_at(src, slot, word);
    }

    /// Stores the value `word` (in the personality's [`ValueEncoding`]: a tagged
    /// integer or a reference) into field `offset` of `obj`, with the plan's write
    /// barrier when it is a reference.
    ///
    /// # Safety
    /// As [`Thread::write_ref`]; a reference in `word` is to a live object.
    #[inline]
    pub unsafe fn write_value(&self, obj: ObjectReference, offset: usize, word: u64) {
        self.write_value_at(obj, obj.to_raw_address() + offset, word);
    }

    /// Copies `n` words of reference or value fields (or elements) from `src`,
    /// starting at byte `src_offset`, to `dst` from byte `dst_offset`: what `n`
    /// calls of [`Thread::write_value`] (or [`Thread::write_ref`]) would leave,
    /// with the plan's barrier taken once. MMTk's barriers are object-granular
    /// (a generational plan's remembers `dst` and rescans all of it; a
    /// snapshot-at-the-beginning one records all of `dst`'s fields as they were
    /// before the first store), so one logging of `dst` covers every store made
    /// before the next safepoint. A personality's array growth (luavm's) copies
    /// this way instead of element by element. The ranges may overlap (`src`
    /// may be `dst`).
    ///
    /// # Safety
    /// Both ranges lie within live objects; every word of `dst`'s range is a
    /// reference or value field of its type, and every word of `src`'s range a
    /// valid word for it (0, a live object's reference, or a non-reference
    /// value), as for [`Thread::write_value`].
    #[inline]
    pub unsafe fn copy_fields(
        &self,
        dst: ObjectReference,
        dst_offset: usize,
        src: ObjectReference,
        src_offset: usize,
        n: usize,
    ) {
        if n == 0 {
            return;
        }
        let to = dst.to_raw_address() + dst_offset;
        let from = src.to_raw_address() + src_offset;
        // The target does not matter to an object-granular barrier: the word
        // 0 is no reference in any encoding.
        self.log_before_store(dst, to, 0);
        // SAFETY: both ranges are `n` words inside live objects (the caller's
        // promise); `copy` allows them to overlap.
        unsafe { std::ptr::copy(from.to_ptr::<u64>(), to.to_mut_ptr::<u64>(), n) };
    }

    /// What the plan's barrier does for a store of `word` into `slot` of `src`,
    /// without the store, which the caller makes right after with no safepoint
    /// between (compiled code's barrier slow path, `rt_barrier_log`, and
    /// [`Thread::write_value_at`]): a snapshot-at-the-beginning barrier records
    /// `src`'s fields as they are before the store; an object-remembering
    /// generational barrier records `src`, whose fields the next collection reads
    /// then, so before the store is as good as after it. Early objects are roots
    /// of every collection: stores into them need no barrier (and MMTk has no
    /// metadata for them).
    #[inline]
    pub(crate) fn log_before_store(&self, src: ObjectReference, slot: Address, word: u64) {
        if gc::needs_write_barrier() && !gc::early::contains(src) {
            let s = VmSlot::value(slot);
            let m = self.mutator_mut();
            let target = ValueEncoding::current().decode(word);
            if gc::satb_barrier() {
                mmtk::memory_manager::object_reference_write_pre(m, src, s, target);
            } else {
                mmtk::memory_manager::object_reference_write_post(m, src, s, target);
            }
        }
    }

    /// The store of [`Thread::write_value`] at an address (the caller keeps its
    /// promise): the barrier's logging, then the store.
    #[inline]
    pub(crate) fn write_value_at(&self, src: ObjectReference, slot: Address, word: u64) {
        self.log_before_store(src, slot, word);
        // SAFETY: `slot` is a reference field of the live object `src`.
        unsafe { slot.store(word) };
    }

    /// Allocates a weak reference to `referent` ([`gc::weak`]).
    pub fn new_weak_ref(
        &self,
        referent: Option<ObjectReference>,
    ) -> Result<ObjectReference, OutOfMemory> {
        let s = self.scope();
        let r = s.handle(referent);
        let w = self.alloc(&gc::weak::WEAK_REF, HEADER_SIZE + 8)?;
        // SAFETY: `w` is a fresh WEAK_REF, registered once here.
        unsafe { gc::weak::register_weak_ref(w, r.get()) };
        Ok(w)
    }

    /// Requests a full collection now and waits for it (a no-op under NoGC).
    pub fn collect(&self) {
        if gc::plan() == gc::Plan::NoGC {
            return;
        }
        if !self.bound.load(Acquire) {
            self.wait_bound();
        }
        gc::mmtk().handle_user_collection_request(self.tls(), true, true);
    }

    /// The addresses `[cursor, limit]` of the bump-pointer allocation buffer of the
    /// default space, for an inline allocation fast path; `None` for plans whose
    /// default allocator is not a bump pointer (MarkSweep).
    pub fn bump_pointer_address(&self) -> Option<usize> {
        bump_pointer_of(gc::mmtk(), self.mutator_mut())
    }
}
