//! The function builder: [`FnCtx`], through which a personality emits a
//! function's body (calls, safepoint polls, checks, allocation, barriered
//! stores), and the passes the materializer runs on what it built.

use super::elide::{self, CheckKey};
use super::*;

/// In a big function (see `JitOptions::big_function_insts`), stores the thread
/// pointer (the first parameter) in a stack slot on entry and reloads it before
/// each use: otherwise it is one value live in every block, and regalloc2 clears
/// a map per value sized by the blocks of the largest one, a cost in
/// values x blocks (issue 21).
pub(super) fn reload_thread_pointer(func: &mut ir::Function) {
    use cranelift_codegen::cursor::{Cursor, FuncCursor};
    let Some(entry) = func.layout.entry_block() else {
        return;
    };
    let Some(&thread) = func.dfg.block_params(entry).first() else {
        return;
    };
    let Some(first) = func.layout.first_inst(entry) else {
        return;
    };
    let ty = func.dfg.value_type(thread);
    let mut uses = Vec::new();
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            if func.dfg.inst_values(inst).any(|v| v == thread) {
                uses.push(inst);
            }
        }
    }
    let slot = func.create_sized_stack_slot(ir::StackSlotData::new(
        ir::StackSlotKind::ExplicitSlot,
        ty.bytes(),
        ty.bytes().trailing_zeros() as u8,
    ));
    let mut pos = FuncCursor::new(func).at_inst(first);
    pos.ins().stack_store(ty, thread, slot, 0);
    for inst in uses {
        pos.goto_inst(inst);
        let t = pos.ins().stack_load(ty, ty, slot, 0);
        pos.func
            .dfg
            .map_inst_values(inst, |v| if v == thread { t } else { v });
    }
}

/// The bit that sets a personality's alias classes ([`FnCtx::alias_class`])
/// apart from the stack-map slots' regions.
const HEAP_CLASS_BIT: u32 = 1 << 31;

/// The header word to store when bump-allocating objects of `ti` of up to
/// `size` bytes inline, if the plan allows it. Without a type id (the type table
/// is full) there is no inline path: the runtime call fails with OutOfMemory.
fn inline_header(plan: &CodeFacts, ti: &'static TypeInfo, size: usize) -> Option<usize> {
    if plan.inline_alloc && size <= plan.max_non_los {
        ti.header()
    } else {
        None
    }
}

impl FnCtx<'_, '_> {
    /// The current thread pointer (the hidden first parameter).
    pub fn thread(&self) -> Value {
        self.thread
    }

    /// The function's parameters (without the thread).
    pub fn params(&self) -> &[Value] {
        &self.params
    }

    /// Declares that `v` is a heap reference: it is kept in a stack slot across calls
    /// and updated if the collector moves its referent.
    pub fn declare_ref(&mut self, v: Value) {
        self.b.declare_value_needs_stack_map(v);
    }

    /// Memory flags (trusted: aligned, cannot trap) for a heap access in alias
    /// class `class`: type-based alias analysis. Accesses in different classes
    /// are known not to touch the same memory, so Cranelift reuses a loaded
    /// value across stores of other classes (with unclassified flags, every
    /// store is a barrier to every load). A personality gives each field of
    /// each object type, or each kind of array element, a class of its own.
    ///
    /// The contract: every *load* the function makes of a location uses that
    /// location's one class. A store may leave its class out (an unclassified
    /// store counts as a write to every class: safe, only slower); a load may
    /// not, since it would miss the classified stores before it. Calls and
    /// safepoints write every class (the runtime, other threads, the collector
    /// moving objects), so nothing is reused across them. Classes are numbers
    /// below 2^31; two locations sharing a class is always correct.
    pub fn alias_class(&mut self, class: u32) -> MemFlagsData {
        let region = self.b.func.dfg.alias_regions.insert(ir::AliasRegionData {
            // Stack-map spill slots use their slot number: the top bit keeps
            // the personality's classes apart from them.
            user_id: HEAP_CLASS_BIT | (class & !HEAP_CLASS_BIT),
            description: std::borrow::Cow::Borrowed("heap class"),
        });
        MemFlagsData::trusted().with_alias_region(Some(region))
    }

    /// A new variable of type `t` (references are tracked in stack maps).
    pub fn var(&mut self, t: ValType) -> Variable {
        let v = self.b.declare_var(t.clif());
        if t == ValType::Ref {
            self.b.declare_var_needs_stack_map(v);
        }
        v
    }

    /// Sets the source line of the instructions built next (in the current inline
    /// scope, see [`FnCtx::push_inline`]).
    pub fn set_line(&mut self, line: u32) {
        let st = &mut self.inl;
        st.line = line;
        let key = (st.cur, line, st.handled);
        let n = st.locs.len() as u32;
        let ix = *st.loc_ix.entry(key).or_insert(n);
        if ix == n {
            st.locs.push(key);
        }
        self.b.set_srcloc(ir::SourceLoc::new(ix));
    }

    /// Says whether the instructions built next are inside a region whose
    /// exceptions this function's own code catches (a `try` body, in this
    /// function or in one it was inlined into): [`crate::jit::exception_is_handled`]
    /// then knows, without walking the whole stack, that an exception raised
    /// from a call there will be caught (a personality can skip recording a
    /// backtrace nobody will print). Off at the start of each function.
    pub fn set_handled(&mut self, on: bool) {
        if self.inl.handled != on {
            self.inl.handled = on;
            let line = self.inl.line;
            self.set_line(line);
        }
    }

    /// Starts the body of function `name` (from `file`) inlined at the current
    /// line: instructions built until the matching [`FnCtx::pop_inline`] belong to
    /// a virtual frame of `name`, which backtraces show above the frame of the
    /// code it was inlined into, exactly as if it had been called. The inlined body
    /// has no prologue (no stack-limit check, no entry poll); its loops must poll.
    pub fn push_inline(&mut self, name: &str, file: &str) {
        let st = &mut self.inl;
        st.scopes.push(codemap::InlineScope {
            name: name.to_owned(),
            file: file.to_owned(),
            parent: st.cur,
            call_line: st.line,
        });
        st.cur = st.scopes.len() as u32;
    }

    /// Ends the innermost inlined body; the line is the call's line again.
    pub fn pop_inline(&mut self) {
        let scope = &self.inl.scopes[self.inl.cur as usize - 1];
        let (parent, line) = (scope.parent, scope.call_line);
        self.inl.cur = parent;
        self.set_line(line);
    }

    fn call_addr(&mut self, addr: usize, sig: &Sig, args: &[Value]) -> Vec<Value> {
        let callee = self.b.ins().iconst(self.ptr, addr as i64);
        self.emit_call(self.cc, callee, sig, args)
    }

    /// Calls `callee(thread, args...)` with convention `cc`; reference results are
    /// declared for stack maps.
    fn emit_call(
        &mut self,
        cc: cranelift_codegen::isa::CallConv,
        callee: Value,
        sig: &Sig,
        args: &[Value],
    ) -> Vec<Value> {
        let sref = self.b.import_signature(clif_sig(cc, sig));
        let mut all = vec![self.thread];
        all.extend_from_slice(args);
        let call = self.b.ins().call_indirect(sref, callee, &all);
        self.call_results(call, sig)
    }

    /// The results of `call` (a call of a function of signature `sig`), reference
    /// results declared for stack maps.
    fn call_results(&mut self, call: ir::Inst, sig: &Sig) -> Vec<Value> {
        self.safepoints += 1;
        let rets = self.b.inst_results(call).to_vec();
        for (r, t) in rets.iter().zip(&sig.results) {
            if *t == ValType::Ref {
                self.b.declare_value_needs_stack_map(*r);
            }
        }
        rets
    }

    /// Calls a registered runtime function.
    pub fn call_host(&mut self, h: HostId, args: &[Value]) -> Vec<Value> {
        let (addr, sig) = self.helpers.hosts[h.0 as usize].clone();
        if addr == 0 {
            let callee = self.b.ins().iconst(self.ptr, 0);
            let inst = self.b.func.dfg.value_def(callee).unwrap_inst();
            self.lazy_hosts.push((inst, h.0 as usize));
            return self.emit_call(self.cc, callee, &sig, args);
        }
        self.call_addr(addr, &sig, args)
    }

    /// Calls a declared JIT function through its table slot (its stub before the
    /// first call compiles it, its code afterwards).
    pub fn call_function(&mut self, f: FuncId, args: &[Value]) -> Vec<Value> {
        let (slot, sig) = self.helpers.funcs[f.0 as usize].clone();
        let (me, fref) = self.self_call;
        if me == f {
            let mut all = vec![self.thread];
            all.extend_from_slice(args);
            let call = self.b.ins().call(fref, &all);
            return self.call_results(call, &sig);
        }
        let slot_addr = self.b.ins().iconst(self.ptr, slot as i64);
        let code = self
            .b
            .ins()
            .load(self.ptr, MemFlagsData::trusted(), slot_addr, 0);
        self.emit_call(self.cc, code, &sig, args)
    }

    /// Default values (zero / null) of the function's results, for an early return
    /// when an exception is pending.
    pub fn default_results(&mut self) -> Vec<Value> {
        let rs = self.results.clone();
        rs.iter()
            .map(|t| match t {
                ValType::F64 => self.b.ins().f64const(0.0),
                _ => self.b.ins().iconst(types::I64, 0),
            })
            .collect()
    }

    /// Branches to `handler` if an exception is pending on the thread, else continues
    /// in a new block.
    pub fn check_exception(&mut self, handler: ir::Block) {
        let exc = self.b.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            self.thread,
            Thread::PENDING_EXCEPTION_OFFSET as i32,
        );
        let cont = self.b.create_block();
        self.b.ins().brif(exc, handler, &[], cont, &[]);
        self.b.switch_to_block(cont);
        // Its only predecessor is known: sealed now, a variable read after the
        // call is looked up through it instead of becoming a block parameter
        // here (and in every block before it, back to the definition, when the
        // blocks are sealed at the end: quadratic in a long function).
        self.b.seal_block(cont);
    }

    /// A safepoint poll: one load and a branch to a cold call. Emit it on loop
    /// back-edges (function entries get one automatically). The references live
    /// across it are in stack slots; see [`FnCtx::loop_poll_begin`] for a loop
    /// poll that keeps them in registers.
    pub fn poll(&mut self) {
        let poll = self.loop_poll_begin();
        self.poll_slow_path(poll, &[]);
    }

    /// Says that the call just emitted does not return to the code after it
    /// (it raises an exception; control goes to a handler), so it does not make
    /// the enclosing loop one with calls (see [`FnCtx::loop_poll_end`]).
    pub fn raising_call(&mut self) {
        self.safepoints = self.safepoints.saturating_sub(1);
    }

    /// Tests `obj` (a reference) for null: branches to the first block returned
    /// (new, cold, empty: the caller fills it, e.g. raises an error) when it is
    /// null, else to the second (new, empty), and leaves the current block
    /// terminated. Before the function is compiled, a check is dropped when the
    /// same value was checked on every path to it (the `ok` block of another check
    /// of it dominates this one), so personalities may check every use.
    pub fn null_branch(&mut self, obj: Value) -> (ir::Block, ir::Block) {
        let bad = self.b.create_block();
        let ok = self.b.create_block();
        self.b.set_cold_block(bad);
        let branch = self.b.ins().brif(obj, ok, &[], bad, &[]);
        self.checks.push(Check {
            key: CheckKey::NonNull(obj),
            branch: Some(branch),
            ok,
        });
        (bad, ok)
    }

    /// Tests `index < len` (unsigned, so a negative index fails too): branches to
    /// the first block returned (new, cold, empty) when it does not hold, else to
    /// the second (new, empty). Like [`FnCtx::null_branch`], a test is dropped
    /// before compilation when the same test succeeded on every path to it: same
    /// `index` and `len`, values computed by the same pure arithmetic on the same
    /// operands counting as the same (`a[i]` read then written, or `a[k - i]`
    /// twice).
    pub fn bounds_branch(&mut self, index: Value, len: Value) -> (ir::Block, ir::Block) {
        let bad = self.b.create_block();
        let ok = self.b.create_block();
        self.b.set_cold_block(bad);
        let inb = self
            .b
            .ins()
            .icmp(ir::condcodes::IntCC::UnsignedLessThan, index, len);
        // Success first, as in `null_branch` and the prologue: Cranelift's alias
        // analysis visits the else target first (see `prologue`), and with the
        // failure first its register allocator spilled fannkuch's loop counter.
        let branch = self.b.ins().brif(inb, ok, &[], bad, &[]);
        self.checks.push(Check {
            key: CheckKey::InBounds(index, len),
            branch: Some(branch),
            ok,
        });
        (bad, ok)
    }

    /// States that `obj` is not null in `block` and wherever it dominates:
    /// `block` must be entered only from a branch that found `obj` non-null (as
    /// the target of the non-null edge of `if x != null`, with no other
    /// predecessor). The null checks of `obj` it dominates are then dropped
    /// ([`FnCtx::null_branch`]).
    pub fn assume_nonnull(&mut self, obj: Value, block: ir::Block) {
        self.checks.push(Check {
            key: CheckKey::NonNull(obj),
            branch: None,
            ok: block,
        });
    }

    /// Turns each check whose condition is known to hold (see
    /// [`FnCtx::null_branch`], [`FnCtx::bounds_branch`]) into a jump to its `ok`
    /// block. Runs on the sealed function, before the safepoint spiller gives
    /// each use of a reference its own reload: a check's values are compared
    /// after resolving aliases, block parameters that carry one value, and
    /// pure arithmetic (`same_values`, `PureExprs`).
    pub(super) fn elide_checks(&mut self) {
        elide::elide(self.b.func, &self.checks);
    }

    /// The safepoint poll at the head of a loop: the test of the yieldpoint flag
    /// now, the slow path when the body is built ([`FnCtx::loop_poll_end`]).
    pub fn loop_poll_begin(&mut self) -> LoopPoll {
        let flag = self.b.ins().load(
            types::I8,
            MemFlagsData::trusted(),
            self.thread,
            Thread::YIELDPOINT_OFFSET as i32,
        );
        let slow = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.ins().brif(flag, slow, &[], cont, &[]);
        self.b.switch_to_block(cont);
        LoopPoll {
            slow,
            cont,
            safepoints: self.safepoints,
        }
    }

    /// Builds the slow path of `poll`, after the loop's body. If the loop made
    /// no call that returns into it (its only safepoint is this poll), the
    /// references in `vars` (reference variables; at most
    /// [`crate::thread::POLL_ROOTS`], the rest stay with the stack maps) go to
    /// the collector through the thread's poll roots
    /// ([`Thread::POLL_ROOTS_OFFSET`]) and each variable is defined anew from
    /// what the collector left there: they are not live across any safepoint,
    /// so they stay in registers in the loop. (Cranelift spills a stack-mapped
    /// value live across a safepoint at its definition and reloads it at every
    /// use: a store and a load per iteration.) A loop with calls gets a plain
    /// poll: its references are in stack slots anyway, and redefining them
    /// would add a spill per iteration.
    pub fn loop_poll_end(&mut self, poll: LoopPoll, vars: &[Variable]) {
        let leaf = self.safepoints == poll.safepoints;
        if leaf {
            self.poll_slow_path(poll, &vars[..vars.len().min(crate::thread::POLL_ROOTS)]);
            // No reference is live across this call: no spill point for an
            // enclosing loop either.
            self.safepoints -= 1;
        } else {
            self.poll_slow_path(poll, &[]);
        }
    }

    /// Builds the cold path of `poll`: `vars` to the poll roots, the call to the
    /// safepoint (`PreserveAll`: it clobbers no register), `vars` back from the
    /// poll roots; then returns to the block being built.
    fn poll_slow_path(&mut self, poll: LoopPoll, vars: &[Variable]) {
        let here = self.b.current_block();
        self.b.switch_to_block(poll.slow);
        let flags = MemFlagsData::trusted();
        let count = Thread::POLL_ROOT_COUNT_OFFSET as i32;
        for (i, &v) in vars.iter().enumerate() {
            let val = self.b.use_var(v);
            let off = (Thread::POLL_ROOTS_OFFSET + 8 * i) as i32;
            self.b.ins().store(flags, val, self.thread, off);
        }
        if !vars.is_empty() {
            let n = self.b.ins().iconst(types::I64, vars.len() as i64);
            self.b.ins().store(flags, n, self.thread, count);
        }
        let (addr, sig) = self.helpers.poll.clone();
        let callee = self.b.ins().iconst(self.ptr, addr as i64);
        self.emit_call(
            cranelift_codegen::isa::CallConv::PreserveAll,
            callee,
            &sig,
            &[],
        );
        if !vars.is_empty() {
            for (i, &v) in vars.iter().enumerate() {
                let off = (Thread::POLL_ROOTS_OFFSET + 8 * i) as i32;
                let val = self.b.ins().load(self.ptr, flags, self.thread, off);
                self.b.def_var(v, val);
            }
            let zero = self.b.ins().iconst(types::I64, 0);
            self.b.ins().store(flags, zero, self.thread, count);
        }
        self.b.ins().jump(poll.cont, &[]);
        if let Some(b) = here {
            self.b.switch_to_block(b);
        }
    }

    pub(super) fn prologue(&mut self) {
        // One compare is both the stack-overflow check and the entry safepoint
        // poll: a safepoint request sets the compared limit to usize::MAX. The slow
        // path parks if a safepoint is requested, then raises StackOverflow (and
        // returns default values) only if SP is really below the limit.
        let sp = self.b.ins().get_stack_pointer(self.ptr);
        let limit = self.b.ins().load(
            self.ptr,
            MemFlagsData::trusted(),
            self.thread,
            Thread::STACK_LIMIT_OFFSET as i32,
        );
        let ok = self
            .b
            .ins()
            .icmp(ir::condcodes::IntCC::UnsignedGreaterThanOrEqual, sp, limit);
        let slow = self.b.create_block();
        let overflow = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.set_cold_block(overflow);
        // The slow path is the *else* target on purpose: Cranelift's alias
        // analysis visits a branch's else target first, so it sees the slow
        // path rejoin `cont` before it walks the body, and the body's blocks get
        // their final memory state on the first visit. With the slow path
        // visited last, every block of the body would end up a merge point of
        // its own, and no load could be reused from one block to the next.
        self.b.ins().brif(ok, cont, &[], slow, &[]);
        self.b.switch_to_block(slow);
        let (addr, sig) = self.helpers.overflow.clone();
        let raised = self.call_addr(addr, &sig, &[sp])[0];
        self.b.ins().brif(raised, overflow, &[], cont, &[]);
        self.b.switch_to_block(overflow);
        let d = self.default_results();
        self.b.ins().return_(&d);
        self.b.switch_to_block(cont);
    }

    /// Allocates a fixed-size object of type `ti` (its layout's size), zeroed
    /// but for its header: inline bump pointer when the plan has one, runtime
    /// call otherwise. The result is a reference. On failure (only the runtime
    /// call fails: null, with an `OutOfMemory` exception pending) the code
    /// branches to `handler` if one is given, from the slow path only; without
    /// one, the caller checks.
    ///
    /// The inline path stores only the header word: MMTk hands out zeroed memory
    /// (every space of every plan is created `zeroed`: fresh blocks are cleared
    /// when acquired, and Immix clears recycled lines before it bumps into them).
    pub fn alloc_fixed(&mut self, ti: &'static TypeInfo, handler: Option<ir::Block>) -> Value {
        let size = ti.instance_size(0);
        let tiv = self
            .b
            .ins()
            .iconst(types::I64, ti as *const TypeInfo as i64);
        let done = self.b.create_block();
        self.b.append_block_param(done, types::I64);
        if let Some(header) = inline_header(&self.helpers.plan, ti, size) {
            let sizev = self.b.ins().iconst(types::I64, size as i64);
            let slow = self.b.create_block();
            self.b.set_cold_block(slow);
            let cursor = self.bump(sizev, slow);
            let hv = self.b.ins().iconst(types::I64, header as i64);
            self.b.ins().store(MemFlagsData::trusted(), hv, cursor, 0);
            self.b.ins().jump(done, &[cursor.into()]);
            self.b.switch_to_block(slow);
        }
        let sizev = self.b.ins().iconst(types::I64, size as i64);
        let (addr, sig) = self.helpers.alloc.clone();
        let r = self.call_addr(addr, &sig, &[tiv, sizev])[0];
        if let Some(h) = handler {
            self.check_exception(h);
        }
        self.b.ins().jump(done, &[r.into()]);
        self.b.switch_to_block(done);
        let obj = self.b.block_params(done)[0];
        self.b.declare_value_needs_stack_map(obj);
        obj
    }

    /// Allocates an array of type `ti` (an [`crate::Layout::Array`] of 8-byte
    /// or 1-byte elements) with `len` zeroed elements. Small arrays (at most
    /// [`INLINE_ARRAY_MAX`] elements) are bump-allocated inline when the plan
    /// allows (storing only the header and length words: see
    /// [`FnCtx::alloc_fixed`] on zeroed memory); others, and a `len` that is
    /// negative, take the personality's `slow` path, which must return the array
    /// (or null with an exception pending). The result is a reference; with a
    /// `handler`, the slow path branches there when an exception is pending.
    pub fn alloc_array(
        &mut self,
        ti: &'static TypeInfo,
        len: Value,
        handler: Option<ir::Block>,
        slow: &mut dyn FnMut(&mut Self) -> Value,
    ) -> Value {
        let elem_size = match ti.layout {
            crate::Layout::Array { elem_size, .. } if elem_size == 8 || elem_size == 1 => elem_size,
            _ => panic!("alloc_array needs an array type with 8-byte or 1-byte elements"),
        };
        let done = self.b.create_block();
        self.b.append_block_param(done, types::I64);
        let size_max = crate::object::array_size(elem_size, INLINE_ARRAY_MAX);
        if let Some(header) = inline_header(&self.helpers.plan, ti, size_max) {
            let slow_b = self.b.create_block();
            let try_b = self.b.create_block();
            self.b.set_cold_block(slow_b);
            let small = self.b.ins().icmp_imm_u(
                ir::condcodes::IntCC::UnsignedLessThanOrEqual,
                len,
                INLINE_ARRAY_MAX as i64,
            );
            self.b.ins().brif(small, try_b, &[], slow_b, &[]);
            self.b.switch_to_block(try_b);
            // Element bytes rounded up to the object alignment (8).
            let bytes = if elem_size == 8 {
                self.b.ins().ishl_imm_u(len, 3)
            } else {
                let up = self.b.ins().iadd_imm_s(len, 7);
                self.b.ins().band_imm_u(up, -8i64)
            };
            let size = self
                .b
                .ins()
                .iadd_imm_s(bytes, crate::object::ARRAY_DATA_OFFSET as i64);
            let cursor = self.bump(size, slow_b);
            let hv = self.b.ins().iconst(types::I64, header as i64);
            let fl = MemFlagsData::trusted();
            self.b.ins().store(fl, hv, cursor, 0);
            self.b
                .ins()
                .store(fl, len, cursor, crate::object::ARRAY_LENGTH_OFFSET as i32);
            self.b.ins().jump(done, &[cursor.into()]);
            self.b.switch_to_block(slow_b);
        }
        let r = slow(self);
        if let Some(h) = handler {
            self.check_exception(h);
        }
        self.b.ins().jump(done, &[r.into()]);
        self.b.switch_to_block(done);
        let obj = self.b.block_params(done)[0];
        self.b.declare_value_needs_stack_map(obj);
        obj
    }

    /// The inline bump-pointer path alone, for a personality that keeps its
    /// own slow path (its own runtime call and error handling): allocates an
    /// object of type `ti` of `size` bytes (a multiple of 8: e.g.
    /// [`crate::object::array_size`]) from the thread's allocation buffer and
    /// stores its header, `status` in the status word (and `len` as an
    /// array's length when given); branches to `slow` when the buffer has no
    /// room. The memory is zeroed but for what is stored here (see
    /// [`FnCtx::alloc_fixed`]). Returns the object's address (a raw
    /// reference; nothing declares it for stack maps), or `None`, emitting
    /// nothing, when the plan allocates only through the runtime, the size is
    /// beyond what the plan bump-allocates, or the type has no id: the caller
    /// then takes its slow path.
    pub fn alloc_inline(
        &mut self,
        ti: &'static TypeInfo,
        size: usize,
        status: u32,
        len: Option<usize>,
        slow: ir::Block,
    ) -> Option<Value> {
        debug_assert_eq!(size % crate::object::OBJECT_ALIGN, 0);
        let header = inline_header(&self.helpers.plan, ti, size)? as u64;
        let sizev = self.b.ins().iconst(types::I64, size as i64);
        let cursor = self.bump(sizev, slow);
        let word = header | (u64::from(status) << 32);
        let hv = self.b.ins().iconst(types::I64, word as i64);
        let fl = MemFlagsData::trusted();
        self.b.ins().store(fl, hv, cursor, 0);
        if let Some(n) = len {
            let nv = self.b.ins().iconst(types::I64, n as i64);
            self.b
                .ins()
                .store(fl, nv, cursor, crate::object::ARRAY_LENGTH_OFFSET as i32);
        }
        Some(cursor)
    }

    /// The inline bump-pointer fast path: if `size` bytes fit in the thread's
    /// allocation buffer, bumps the cursor and continues (in a new block) with the
    /// old cursor as the result; otherwise branches to `slow`.
    fn bump(&mut self, size: Value, slow: ir::Block) -> Value {
        let fl = MemFlagsData::trusted();
        let bp = self.b.ins().load(
            types::I64,
            fl,
            self.thread,
            Thread::ALLOC_BUFFER_OFFSET as i32,
        );
        let cursor = self.b.ins().load(types::I64, fl, bp, 0);
        let limit = self.b.ins().load(types::I64, fl, bp, 8);
        let end = self.b.ins().iadd(cursor, size);
        let fits = self
            .b
            .ins()
            .icmp(ir::condcodes::IntCC::UnsignedLessThanOrEqual, end, limit);
        let fast = self.b.create_block();
        self.b.ins().brif(fits, fast, &[], slow, &[]);
        self.b.switch_to_block(fast);
        self.b.ins().store(fl, end, bp, 0);
        cursor
    }

    /// Stores reference `value` into field `offset` of `obj`, with the plan's write
    /// barrier.
    pub fn store_ref(&mut self, obj: Value, offset: i32, value: Value) {
        self.store_ref_flags(obj, offset, value, MemFlagsData::trusted());
    }

    /// [`FnCtx::store_ref`] with the store's flags, e.g. an alias class
    /// ([`FnCtx::alias_class`]).
    pub fn store_ref_flags(&mut self, obj: Value, offset: i32, value: Value, fl: MemFlagsData) {
        if self.helpers.plan.write_barrier {
            let slot = self.b.ins().iadd_imm_s(obj, offset as i64);
            self.barriered_store(obj, slot, value, fl);
        } else {
            self.b.ins().store(fl, value, obj, offset);
        }
    }

    /// Stores reference `value` at address `slot` inside `obj` (array elements).
    pub fn store_ref_at(&mut self, obj: Value, slot: Value, value: Value) {
        self.store_ref_at_flags(obj, slot, value, MemFlagsData::trusted());
    }

    /// [`FnCtx::store_ref_at`] with the store's flags, e.g. an alias class
    /// ([`FnCtx::alias_class`]).
    pub fn store_ref_at_flags(&mut self, obj: Value, slot: Value, value: Value, fl: MemFlagsData) {
        if self.helpers.plan.write_barrier {
            self.barriered_store(obj, slot, value, fl);
        } else {
            self.b.ins().store(fl, value, slot, 0);
        }
    }

    /// A reference store under the plan's barrier. Inline, just the store when a
    /// snapshot-at-the-beginning plan is not marking, `obj` is outside the heap
    /// (an early object, or the heap is not up) or its unlog bit is clear (see
    /// [`crate::gc::BarrierFacts`]: a young object, or no concurrent marking
    /// under way); otherwise first a call that logs `obj` (`rt_barrier_log`:
    /// a snapshot-at-the-beginning barrier records its fields before the store
    /// overwrites one, a generational one records the object), then the store.
    /// No safepoint lies between the test and the store, so a collection cannot
    /// set the bit between; the logging call is none either (it is added once
    /// the function is built, `Materializer::patch_barrier_calls`).
    fn barriered_store(&mut self, obj: Value, slot: Value, value: Value, store_fl: MemFlagsData) {
        macro_rules! facts_off {
            ($f:ident) => {
                std::mem::offset_of!(crate::gc::BarrierFacts, $f) as i32
            };
        }
        let ty = self.ptr;
        let facts = self.helpers.plan.barrier_facts as *const crate::gc::BarrierFacts as i64;
        let slow = self.b.create_block();
        let check = self.b.create_block();
        let fast = self.b.create_block();
        let done = self.b.create_block();
        self.b.set_cold_block(slow);
        let fl = MemFlagsData::trusted();
        let facts = self.b.ins().iconst(ty, facts);
        if self.helpers.plan.satb_barrier {
            // Outside marking no unlog bit is set: a plain store.
            let active = self.b.ins().load(ty, fl, facts, facts_off!(active));
            let range = self.b.create_block();
            self.b.ins().brif(active, range, &[], fast, &[]);
            self.b.switch_to_block(range);
            self.b.seal_block(range);
        }
        let start = self.b.ins().load(ty, fl, facts, facts_off!(heap_start));
        let size = self.b.ins().load(ty, fl, facts, facts_off!(heap_size));
        let off = self.b.ins().isub(obj, start);
        let in_heap = self
            .b
            .ins()
            .icmp(ir::condcodes::IntCC::UnsignedLessThan, off, size);
        self.b.ins().brif(in_heap, check, &[], fast, &[]);
        self.b.switch_to_block(check);
        self.b.seal_block(check);
        let table = self.b.ins().load(ty, fl, facts, facts_off!(unlog_table));
        let idx = self.b.ins().ushr_imm_u(obj, 6i64);
        let byte_addr = self.b.ins().iadd(idx, table);
        let byte = self.b.ins().uload8(ty, fl, byte_addr, 0);
        let shift = self.b.ins().ushr_imm_u(obj, 3i64);
        let shift = self.b.ins().band_imm_u(shift, 7i64);
        let bits = self.b.ins().ushr(byte, shift);
        let bit = self.b.ins().band_imm_u(bits, 1i64);
        self.b.ins().brif(bit, slow, &[], fast, &[]);
        self.b.switch_to_block(slow);
        self.b.seal_block(slow);
        // The logging call, without the store (made in `fast`): inserted once
        // the function is built, in place of two placeholders that hold its
        // arguments (`patch_barrier_calls`), so that the frontend does not count
        // it as a safepoint.
        let a = self.b.ins().iadd(self.thread, obj);
        let a = self.b.func.dfg.value_def(a).unwrap_inst();
        let v = self.b.ins().iadd(slot, value);
        let v = self.b.func.dfg.value_def(v).unwrap_inst();
        self.barrier_calls.push((a, v));
        self.b.ins().jump(fast, &[]);
        self.b.switch_to_block(fast);
        self.b.seal_block(fast);
        self.b.ins().store(store_fl, value, slot, 0);
        self.b.ins().jump(done, &[]);
        self.b.switch_to_block(done);
        self.b.seal_block(done);
    }

    /// The object header size, for field offsets.
    pub const HEADER: i32 = HEADER_SIZE as i32;
}
