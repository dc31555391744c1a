//! The materializer's public face and its compilation pipeline: declaring
//! functions and hosts, compiling on first call (or at once), finishing code into
//! executable memory with its stack maps and code map, and calling compiled code
//! from Rust.

use super::builder::reload_thread_pointer;
use super::runtime::{rt_alloc, rt_barrier_log, rt_compile, rt_safepoint, rt_stack_check};
use super::*;

impl Materializer {
    /// Creates a materializer for the host machine and registers the substrate's own
    /// runtime functions (safepoint, stack overflow, allocation, write barrier, lazy
    /// compilation).
    ///
    /// What compiled code needs of the collector (write barrier, inline allocation)
    /// is taken from the plan now ([`crate::gc::code_facts`]): the substrate must be
    /// initialized ([`crate::vm::init`]). [`Materializer::with_plan`] takes it from
    /// the caller.
    pub fn new(options: JitOptions) -> Result<&'static Materializer, CompileError> {
        if !crate::gc::is_initialized() {
            return Err(CompileError(
                "vmkit is not initialized: call vmkit::vm::init before building a materializer"
                    .into(),
            ));
        }
        Self::with_plan(options, crate::gc::code_facts())
    }

    /// A materializer for code that runs under a plan with the facts `plan`.
    pub fn with_plan(
        options: JitOptions,
        plan: CodeFacts,
    ) -> Result<&'static Materializer, CompileError> {
        crate::thread::manager::set_frame_scanner(frames::scan_frames);
        let isa = build_isa(&options, options.opt_level)?;
        let ptr = isa.pointer_type();
        let mut builder = JITBuilder::with_isa(isa, cranelift_module::default_libcall_names());
        builder.symbol_lookup_fn(Box::new(libcall_address));
        let module = JITModule::new(builder);
        let ctx = module.make_context();
        let m: &'static Materializer = Box::leak(Box::new(Materializer {
            inner: Mutex::new(Inner {
                module,
                ctx,
                fctx: FunctionBuilderContext::new(),
                funcs: Vec::new(),
                hosts: Vec::new(),
                entries: HashMap::new(),
                compile_host: None,
                poll_preserving: 0,
                barrier_log: 0,
                overflow_host: None,
                alloc_host: None,
                big_isa: None,
                stats: JitStats::default(),
                pending: Vec::new(),
            }),
            sigs: RwLock::new(Vec::new()),
            options,
            plan,
            ptr,
            compiled_insts: AtomicU64::new(0),
        }));
        let compile = m.register_host(
            "vmkit_compile",
            Sig::new(&[ValType::I64, ValType::I64], &[ValType::I64]),
            rt_compile as *const u8,
            true,
        )?;
        let overflow = m.register_host(
            "vmkit_stack_check",
            Sig::new(&[ValType::I64], &[ValType::I64]),
            rt_stack_check as *const u8,
            true,
        )?;
        let alloc = m.register_host(
            "vmkit_alloc",
            Sig::new(&[ValType::I64, ValType::I64], &[ValType::Ref]),
            rt_alloc as *const u8,
            true,
        )?;
        {
            let mut g = m.inner.lock();
            // The substrate's own trampolines are built now: stubs, prologues and
            // allocation sites use them by address.
            for h in [compile, overflow, alloc] {
                m.queue_trampoline(&mut g, h.0 as usize)?;
            }
            g.compile_host = Some(compile);
            g.poll_preserving = m.build_exit_trampoline_cc(
                &mut g,
                "vmkit_safepoint (preserve_all)",
                &Sig::new(&[], &[]),
                rt_safepoint as *const u8 as usize,
                cranelift_codegen::isa::CallConv::PreserveAll,
            )?;
            if plan.write_barrier {
                g.barrier_log = m.build_exit_trampoline_cc(
                    &mut g,
                    "vmkit_barrier_log (preserve_all)",
                    &Sig::new(&[ValType::I64, ValType::I64, ValType::I64], &[]),
                    rt_barrier_log as *const u8 as usize,
                    cranelift_codegen::isa::CallConv::PreserveAll,
                )?;
            }
            g.overflow_host = Some(overflow);
            g.alloc_host = Some(alloc);
        }
        Ok(m)
    }

    /// The options this materializer was built with.
    pub fn options(&self) -> &JitOptions {
        &self.options
    }

    /// Registers a runtime function JIT code may call. `ptr` must be an
    /// `extern "C"` function taking the thread pointer first, then `sig`'s
    /// parameters, and returning `sig`'s results (at most one, or two integers).
    /// With `may_gc`, calls go through an exit trampoline so the function may collect,
    /// throw, walk the stack or block; reference arguments are then only valid until
    /// it allocates (root them in handles first).
    ///
    /// Host functions must not unwind: wrap their bodies in [`host_guard`].
    pub fn register_host(
        &self,
        name: &str,
        sig: Sig,
        ptr: *const u8,
        may_gc: bool,
    ) -> Result<HostId, CompileError> {
        let mut g = self.inner.lock();
        let idx = g.hosts.len();
        g.hosts.push(HostEntry {
            name: name.to_owned(),
            sig,
            ptr: ptr as usize,
            may_gc,
            trampoline: None,
        });
        Ok(HostId(idx as u32))
    }

    /// Defines the exit trampoline of host `idx` (finalized by the next `flush`).
    fn queue_trampoline(&self, g: &mut Inner, idx: usize) -> Result<(), CompileError> {
        let (name, sig, ptr) = {
            let e = &g.hosts[idx];
            (e.name.clone(), e.sig.clone(), e.ptr)
        };
        let cc = Self::call_conv(g);
        self.exit_trampoline_body(g, &sig, ptr, cc);
        self.finish_later(
            g,
            &format!("exit trampoline {name}"),
            CodeKind::Trampoline,
            Dest::Host(idx),
        )
    }

    /// Puts the barrier's logging call in each slow path `FnCtx::barriered_store`
    /// left for it, now that the function is built: a call of the preserve-all
    /// trampoline of `rt_barrier_log` with the arguments of the two placeholders,
    /// which go. The frontend has already placed the references live across
    /// safepoints in stack slots, and this call is not one of them: it cannot
    /// collect (the barrier only logs the object), so it needs no stack map, and
    /// the values live across it stay in registers (it clobbers none). Built
    /// into the function before, it was a safepoint like any call, and every
    /// reference live across any reference store lived in a stack slot.
    fn patch_barrier_calls(&self, g: &mut Inner, sites: &[(ir::Inst, ir::Inst)]) {
        use cranelift_codegen::cursor::{Cursor, FuncCursor};
        let adapter = g.barrier_log;
        assert_ne!(adapter, 0, "a barrier under a plan without one");
        let func = &mut g.ctx.func;
        let mut sig = Signature::new(cranelift_codegen::isa::CallConv::PreserveAll);
        for _ in 0..4 {
            sig.params.push(AbiParam::new(self.ptr));
        }
        let sref = func.import_signature(sig);
        for &(a, b) in sites {
            let arg = |func: &ir::Function, i: ir::Inst, k: usize| {
                func.dfg.resolve_aliases(func.dfg.inst_args(i)[k])
            };
            let args = [
                arg(func, a, 0),
                arg(func, a, 1),
                arg(func, b, 0),
                arg(func, b, 1),
            ];
            let mut pos = FuncCursor::new(func).at_inst(b);
            let callee = pos.ins().iconst(self.ptr, adapter as i64);
            pos.ins().call_indirect(sref, callee, &args);
            func.layout.remove_inst(a);
            func.layout.remove_inst(b);
        }
    }

    /// Builds the trampolines of the hosts a function just built calls without
    /// one yet, and patches their addresses into its call sites (the
    /// `iconst 0` placeholders of [`FnCtx::call_host`]). The function waits in
    /// `g.ctx` meanwhile.
    fn patch_lazy_hosts(
        &self,
        g: &mut Inner,
        sites: &[(ir::Inst, usize)],
    ) -> Result<(), CompileError> {
        let func = std::mem::replace(&mut g.ctx.func, ir::Function::new());
        let mut queued = Vec::new();
        for &(_, h) in sites {
            if g.hosts[h].trampoline.is_none() && !queued.contains(&h) {
                self.queue_trampoline(g, h)?;
                queued.push(h);
            }
        }
        self.flush(g)?;
        g.ctx.func = func;
        for &(inst, h) in sites {
            let addr = g.hosts[h].trampoline.expect("trampoline just built");
            g.ctx.func.replace(inst).iconst(self.ptr, addr as i64);
        }
        Ok(())
    }

    /// Declares a function; it is compiled lazily on its first call.
    pub fn declare(
        &self,
        name: &str,
        file: &str,
        sig: Sig,
        body: BodyBuilder,
    ) -> Result<FuncId, CompileError> {
        let mut g = self.inner.lock();
        let id = FuncId(g.funcs.len() as u32);
        let slot: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
        self.sigs.write().push(sig);
        g.funcs.push(FuncEntry {
            name: name.to_owned(),
            file: file.to_owned(),
            body: Some(body),
            slot,
            compiled: false,
            line: 0,
        });
        self.build_stub(&mut g, id)?;
        Ok(id)
    }

    /// Sets the source line reported for `f`'s prologue (its stack-limit check and
    /// entry safepoint), usually the line of its declaration.
    pub fn set_decl_line(&self, f: FuncId, line: u32) {
        self.inner.lock().funcs[f.0 as usize].line = line;
    }

    /// Compiles `f` now if it is not compiled yet.
    pub fn compile(&self, f: FuncId) -> Result<(), CompileError> {
        let mut g = self.inner.lock();
        self.compile_locked(&mut g, f).map(|_| ())
    }

    /// Whether `f` has been compiled.
    pub fn is_compiled(&self, f: FuncId) -> bool {
        self.inner.lock().funcs[f.0 as usize].compiled
    }

    /// The current entry address of `f` (its stub until compiled).
    pub fn entry_address(&self, f: FuncId) -> usize {
        let mut g = self.inner.lock();
        self.flush(&mut g).expect("cannot finalize stubs");
        g.funcs[f.0 as usize].slot.load(Ordering::SeqCst)
    }

    /// Compilation statistics so far.
    pub fn stats(&self) -> JitStats {
        self.inner.lock().stats
    }

    /// Calls `f` from Rust on `thread` (which must be the current, managed thread)
    /// with `args` as raw 64-bit words (floats as their bits, references as
    /// values of the personality's encoding); returns the results the same way.
    ///
    /// # Safety
    /// Every argument is a word of the type `f`'s signature declares: a
    /// [`ValType::Ref`] argument is 0 or a live object's reference (as the
    /// compiled code will load its fields without checking), taken after the last
    /// safepoint (the call keeps it in a handle from here on). The compiled body
    /// must itself be sound for such arguments.
    pub unsafe fn invoke(&self, thread: &Thread, f: FuncId, args: &[u64]) -> Vec<u64> {
        let prepare = |g: &mut Inner| -> (usize, usize, usize) {
            self.flush(g).expect("cannot finalize stubs");
            let fe = &g.funcs[f.0 as usize];
            let sig = self.sigs.read()[f.0 as usize].clone();
            assert_eq!(
                sig.params.len(),
                args.len(),
                "wrong argument count for {}",
                fe.name
            );
            let code = fe.slot.load(Ordering::SeqCst);
            let entry = match g.entries.get(&sig) {
                Some(&e) => e,
                None => {
                    let e = self
                        .build_entry_trampoline(g, &sig)
                        .expect("cannot build an entry trampoline");
                    g.entries.insert(sig.clone(), e);
                    e
                }
            };
            (entry, code, sig.results.len())
        };
        let (entry, code, nres, args) = match self.inner.try_lock() {
            // No safepoint between the caller's reading `args` and the call.
            Some(mut g) => {
                let (e, c, n) = prepare(&mut g);
                (e, c, n, args.to_vec())
            }
            // Another thread holds the lock, maybe for a whole compilation: wait
            // for it in native state, so that a collection does not wait for this
            // thread, with the reference arguments in handles (it may move them).
            None => {
                let is_ref: Vec<bool> = self.sigs.read()[f.0 as usize]
                    .params
                    .iter()
                    .map(|t| *t == ValType::Ref)
                    .collect();
                let scope = thread.scope();
                let handles: Vec<Option<Handle<'_>>> = args
                    .iter()
                    .zip(&is_ref)
                    .map(|(&w, &r)| r.then(|| scope.handle(object::word_to_ref(w as usize))))
                    .collect();
                let (e, c, n) = thread.native(|| prepare(&mut self.inner.lock()));
                let args = args
                    .iter()
                    .zip(&handles)
                    .map(|(&w, h)| h.map_or(w, |h| object::ref_to_word(h.get()) as u64))
                    .collect();
                (e, c, n, args)
            }
        };
        let mut results = vec![0u64; nres.max(1)];
        let saved = thread.frame_anchor[0].swap(0, Ordering::SeqCst);
        thread.jit_segments().push(saved);
        type Entry = unsafe extern "C" fn(*const Thread, usize, *const u64, *mut u64);
        // SAFETY: `entry` is the entry trampoline for this signature: it reads
        // exactly `args.len()` words, calls `code` (a function or its stub of the
        // same signature) and writes `nres` words into `results`.
        unsafe {
            let entry: Entry = std::mem::transmute::<usize, Entry>(entry);
            entry(thread, code, args.as_ptr(), results.as_mut_ptr());
        }
        let saved = thread.jit_segments().pop().unwrap_or(0);
        thread.frame_anchor[0].store(saved, Ordering::SeqCst);
        results.truncate(nres);
        results
    }

    /// A prepared way into `f` for a caller that enters it often (a
    /// personality's interpreter calling compiled code at every call): the
    /// entry trampoline of its signature and its code slot, looked up once, so
    /// that [`EntryPoint::call`] takes no lock and allocates nothing.
    pub fn entry_point(&self, f: FuncId) -> Result<EntryPoint, CompileError> {
        let mut g = self.inner.lock();
        self.flush(&mut g)?;
        let sig = self.sigs.read()[f.0 as usize].clone();
        let trampoline = match g.entries.get(&sig) {
            Some(&e) => e,
            None => {
                let e = self.build_entry_trampoline(&mut g, &sig)?;
                g.entries.insert(sig.clone(), e);
                e
            }
        };
        Ok(EntryPoint {
            trampoline,
            slot: g.funcs[f.0 as usize].slot,
            params: sig.params.len(),
            results: sig.results.len(),
        })
    }

    pub(super) fn call_conv(g: &Inner) -> cranelift_codegen::isa::CallConv {
        g.module.isa().default_call_conv()
    }

    /// Compiles `ctx.func`, registers it in the code map, returns its address.
    pub(super) fn finish(
        &self,
        g: &mut Inner,
        name: &str,
        file: &str,
        kind: CodeKind,
        positions: (Vec<(u32, u32, bool)>, Vec<codemap::InlineScope>),
        declared: Option<cranelift_module::FuncId>,
    ) -> Result<usize, CompileError> {
        let (id, mut info) = self.define(g, name, file, kind, positions, declared)?;
        // Anything deferred is made executable in the same step.
        self.finalize_all(g)?;
        info.start = g.module.get_finalized_function(id) as usize;
        let addr = info.start;
        codemap::register(info);
        Ok(addr)
    }

    /// Like `finish`, but the code is only made executable (one `mprotect` for the
    /// lot) by the next `flush`, which stores its address in `dest`. Start-up
    /// defines dozens of trampolines and stubs: finalizing each on its own costs a
    /// system call and a TLB shootdown per piece while other threads run.
    pub(super) fn finish_later(
        &self,
        g: &mut Inner,
        name: &str,
        kind: CodeKind,
        dest: Dest,
    ) -> Result<(), CompileError> {
        let (id, info) = self.define(g, name, "", kind, (Vec::new(), Vec::new()), None)?;
        g.pending.push(Pending { id, info, dest });
        Ok(())
    }

    /// Finalizes the deferred code and stores each address where it belongs.
    pub(super) fn flush(&self, g: &mut Inner) -> Result<(), CompileError> {
        if g.pending.is_empty() {
            return Ok(());
        }
        self.finalize_all(g)
    }

    /// Finalizes everything defined so far, deferred code included.
    fn finalize_all(&self, g: &mut Inner) -> Result<(), CompileError> {
        g.module
            .finalize_definitions()
            .map_err(|e| CompileError(format!("finalizing trampolines: {e}")))?;
        for mut p in std::mem::take(&mut g.pending) {
            let addr = g.module.get_finalized_function(p.id) as usize;
            p.info.start = addr;
            codemap::register(p.info);
            match p.dest {
                Dest::Host(i) => g.hosts[i].trampoline = Some(addr),
                Dest::Slot(slot) => slot.store(addr, Ordering::SeqCst),
            }
        }
        Ok(())
    }

    /// Compiles `ctx.func` into the module (not finalized): its id and code-map
    /// entry (without its address).
    fn define(
        &self,
        g: &mut Inner,
        name: &str,
        file: &str,
        kind: CodeKind,
        (locs, scopes): (Vec<(u32, u32, bool)>, Vec<codemap::InlineScope>),
        declared: Option<cranelift_module::FuncId>,
    ) -> Result<(cranelift_module::FuncId, CodeInfo), CompileError> {
        let start = Instant::now();
        let insts = g.ctx.func.dfg.num_insts() as u64;
        if self.options.dump_clif && kind == CodeKind::Function {
            eprintln!("; function {name} ({file})\n{}", g.ctx.func.display());
        }
        let id = match declared {
            Some(id) => id,
            None => self.declare_code(g, name)?,
        };
        let inner = &mut *g;
        let dump_asm = self.options.dump_asm && kind == CodeKind::Function;
        inner.ctx.set_disasm(dump_asm);
        if insts as usize > self.options.big_function_insts {
            reload_thread_pointer(&mut inner.ctx.func);
            if inner.big_isa.is_none() {
                inner.big_isa = Some(build_isa(&self.options, "none")?);
            }
            let big_isa = inner.big_isa.as_deref().expect("built above");
            // As `define_function`, with the ISA that skips the e-graph pass.
            inner
                .ctx
                .compile(
                    big_isa,
                    &mut cranelift_codegen::control::ControlPlane::default(),
                )
                .map_err(|e| CompileError(format!("{name}: {:?}", e.inner)))?;
            let res = inner.ctx.compiled_code().expect("compiled");
            let align = (res.buffer.alignment as u64)
                .max(big_isa.function_alignment().minimum as u64)
                .max(big_isa.symbol_alignment());
            let relocs: Vec<_> = res
                .buffer
                .relocs()
                .iter()
                .map(|r| cranelift_module::ModuleReloc::from_mach_reloc(r, &inner.ctx.func, id))
                .collect();
            let bytes = res.buffer.data().to_vec();
            inner
                .module
                .define_function_bytes(id, align, &bytes, &relocs)
                .map_err(|e| CompileError(format!("{name}: {e:?}")))?;
        } else {
            inner
                .module
                .define_function(id, &mut inner.ctx)
                .map_err(|e| CompileError(format!("{name}: {e:?}")))?;
        }
        let (stack_maps, lines, handled, len) = {
            let code = inner.ctx.compiled_code().expect("compiled");
            if dump_asm {
                if let Some(asm) = &code.vcode {
                    eprintln!("; machine code of {name} ({file})\n{asm}");
                }
            }
            let mut maps: HashMap<u32, Vec<u32>> = HashMap::new();
            for (off, _span, map) in code.buffer.user_stack_maps() {
                maps.insert(*off, map.entries().map(|(_, o)| o).collect());
            }
            let mut handled: Vec<(u32, u32)> = Vec::new();
            let lines: Vec<(u32, u32, u32, u32)> = code
                .buffer
                .get_srclocs_sorted()
                .iter()
                .map(|l| {
                    (
                        l.start,
                        l.end,
                        if l.loc.is_default() {
                            u32::MAX
                        } else {
                            l.loc.bits()
                        },
                    )
                })
                .filter(|l| l.2 != u32::MAX)
                .map(|(s, e, ix)| {
                    let (scope, line, h) = locs.get(ix as usize).copied().unwrap_or((0, 0, false));
                    if h {
                        match handled.last_mut() {
                            Some(last) if last.1 == s => last.1 = e,
                            _ => handled.push((s, e)),
                        }
                    }
                    (s, e, scope, line)
                })
                .collect();
            (maps, lines, handled, code.buffer.data().len())
        };
        inner.module.clear_context(&mut inner.ctx);
        let info = CodeInfo {
            start: 0,
            len,
            name: name.to_owned(),
            file: file.to_owned(),
            kind,
            stack_maps,
            lines,
            handled,
            scopes,
        };
        if kind == CodeKind::Function {
            let st = &mut inner.stats;
            st.functions += 1;
            st.clif_insts += insts;
            st.code_bytes += len as u64;
            st.compile_time += start.elapsed();
            self.compiled_insts.fetch_add(insts, Ordering::Relaxed);
        }
        Ok((id, info))
    }

    /// Declares the function being built in `g.ctx` in the module. Named
    /// (uniquely), so that cranelift-jit's perf map (written when running under
    /// `perf record`) names the code.
    fn declare_code(
        &self,
        g: &mut Inner,
        name: &str,
    ) -> Result<cranelift_module::FuncId, CompileError> {
        let sig = g.ctx.func.signature.clone();
        g.module
            .declare_function(
                &format!("{name}#{}", inner_count(&mut g.stats)),
                cranelift_module::Linkage::Local,
                &sig,
            )
            .map_err(|e| CompileError(format!("{name}: {e}")))
    }

    pub(super) fn compile_locked(&self, g: &mut Inner, f: FuncId) -> Result<usize, CompileError> {
        // The helpers below read trampoline addresses.
        self.flush(g)?;
        let fe = &mut g.funcs[f.0 as usize];
        if fe.compiled {
            return Ok(fe.slot.load(Ordering::SeqCst));
        }
        let body = fe.body.take().expect("function body already taken");
        let (name, file, line) = (fe.name.clone(), fe.file.clone(), fe.line);
        let sig = self.sigs.read()[f.0 as usize].clone();
        let cc = Self::call_conv(g);
        g.ctx.func.signature = clif_sig(cc, &sig);
        let helpers = self.helpers(g);
        // Declared before its body is built, so that its calls to itself are
        // direct (`call rel32`, resolved when the module is finalized) rather
        // than through its table slot.
        let declared = self.declare_code(g, &name)?;
        let self_ref = g.module.declare_func_in_func(declared, &mut g.ctx.func);
        let result = {
            let inner = &mut *g;
            let frontend_config = inner.module.isa().frontend_config();
            let mut b = FunctionBuilder::new(&mut inner.ctx.func, &mut inner.fctx);
            // Each stack-map spill slot is its own alias region, so the spills
            // (stores) of one reference do not count as writes to the heap or
            // to the other slots: Cranelift's redundant-load elimination then
            // merges the reloads of a reference between two safepoints, and the
            // field loads through them. Calls still clobber every region, so
            // nothing is reused across a safepoint, where objects may move.
            b.make_stack_map_alias_region(Box::new(|regions, _ty, slot, _offset| {
                Some(regions.insert(ir::AliasRegionData {
                    user_id: slot.as_u32(),
                    description: "stack map slot".into(),
                }))
            }));
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let params = b.block_params(entry).to_vec();
            let thread = params[0];
            for (v, t) in params[1..].iter().zip(&sig.params) {
                if *t == ValType::Ref {
                    b.declare_value_needs_stack_map(*v);
                }
            }
            let mut cx = FnCtx {
                b,
                thread,
                params: params[1..].to_vec(),
                helpers,
                ptr: self.ptr,
                cc,
                results: sig.results.clone(),
                inl: InlineState::default(),
                safepoints: 0,
                checks: Vec::new(),
                lazy_hosts: Vec::new(),
                barrier_calls: Vec::new(),
                self_call: (f, self_ref),
                _m: std::marker::PhantomData,
            };
            if line != 0 {
                cx.set_line(line);
            }
            cx.prologue();
            let r = body(&mut cx);
            if r.is_ok() {
                if cx.inl.cur != 0 {
                    return Err(CompileError(format!(
                        "{name}: push_inline without pop_inline"
                    )));
                }
                seal_in_order(&mut cx.b);
                cx.elide_checks();
                cx.b.finalize(frontend_config);
            }
            r.map(|()| {
                (
                    (
                        std::mem::take(&mut cx.inl.locs),
                        std::mem::take(&mut cx.inl.scopes),
                    ),
                    std::mem::take(&mut cx.lazy_hosts),
                    std::mem::take(&mut cx.barrier_calls),
                )
            })
        };
        let (positions, lazy_hosts, barrier_calls) = match result {
            Ok(p) => p,
            Err(e) => {
                g.ctx.clear();
                g.funcs[f.0 as usize].body = None;
                return Err(CompileError(format!("{name}: {e}")));
            }
        };
        if !barrier_calls.is_empty() {
            self.patch_barrier_calls(g, &barrier_calls);
        }
        if !lazy_hosts.is_empty() {
            if let Err(e) = self.patch_lazy_hosts(g, &lazy_hosts) {
                g.ctx.clear();
                return Err(e);
            }
        }
        let addr = self.finish(
            g,
            &name,
            &file,
            CodeKind::Function,
            positions,
            Some(declared),
        )?;
        let fe = &mut g.funcs[f.0 as usize];
        fe.compiled = true;
        fe.slot.store(addr, Ordering::SeqCst);
        Ok(addr)
    }

    fn helpers(&self, g: &Inner) -> Helpers {
        assert!(g.pending.is_empty(), "trampolines not finalized");
        // A `may_gc` host without its trampoline yet is at address 0: calls to it
        // are patched once the function is built (`patch_lazy_hosts`).
        let addr = |e: &HostEntry| {
            if e.may_gc {
                e.trampoline.unwrap_or(0)
            } else {
                e.ptr
            }
        };
        let h = |id: Option<HostId>| {
            let e = &g.hosts[id.expect("substrate hosts").0 as usize];
            let a = addr(e);
            assert_ne!(a, 0, "the substrate's trampolines are built at start-up");
            (a, e.sig.clone())
        };
        Helpers {
            hosts: g.hosts.iter().map(|e| (addr(e), e.sig.clone())).collect(),
            funcs: g
                .funcs
                .iter()
                .zip(self.sigs.read().iter())
                .map(|(f, sig)| (f.slot as *const AtomicUsize as usize, sig.clone()))
                .collect(),
            poll: (g.poll_preserving, Sig::new(&[], &[])),
            overflow: h(g.overflow_host),
            alloc: h(g.alloc_host),
            plan: self.plan,
        }
    }
}

/// A way into one compiled function from Rust, made by
/// [`Materializer::entry_point`].
#[derive(Debug, Clone, Copy)]
pub struct EntryPoint {
    trampoline: usize,
    slot: &'static AtomicUsize,
    params: usize,
    results: usize,
}

impl EntryPoint {
    /// Calls the function on `thread` like [`Materializer::invoke`], with
    /// `args` as raw words, writing its results into `results`.
    ///
    /// # Safety
    /// `thread` is the current, managed thread; `args` has exactly the
    /// function's parameter count and `results` room for its result count;
    /// every argument is a word of the declared type, a [`ValType::Ref`]
    /// argument a live reference taken after the last safepoint (nothing
    /// between here and the call can collect). The compiled body must be sound
    /// for such arguments.
    pub unsafe fn call(&self, thread: &Thread, args: &[u64], results: &mut [u64]) {
        assert!(args.len() == self.params && results.len() >= self.results);
        let saved = thread.frame_anchor[0].swap(0, Ordering::SeqCst);
        thread.jit_segments().push(saved);
        type Entry = unsafe extern "C" fn(*const Thread, usize, *const u64, *mut u64);
        let code = self.slot.load(Ordering::Acquire);
        // SAFETY: `trampoline` is the entry trampoline of the function's
        // signature: it reads `params` words, calls `code` (the function or its
        // stub) and writes `results` words (the caller's promise covers the
        // arguments).
        unsafe {
            let entry: Entry = std::mem::transmute::<usize, Entry>(self.trampoline);
            entry(thread, code, args.as_ptr(), results.as_mut_ptr());
        }
        let saved = thread.jit_segments().pop().unwrap_or(0);
        thread.frame_anchor[0].store(saved, Ordering::SeqCst);
    }
}

/// The address of the C function a Cranelift libcall names (`memcpy`, `ceil`,
/// `fma`, ...), as linked into this program: cranelift-jit's own lookup is
/// `dlsym`, which finds nothing in a statically linked executable (the
/// `toyvm` and `luavm` commands are; see `.cargo/config.toml`).
fn libcall_address(name: &str) -> Option<*const u8> {
    extern "C" {
        fn ceil(x: f64) -> f64;
        fn ceilf(x: f32) -> f32;
        fn floor(x: f64) -> f64;
        fn floorf(x: f32) -> f32;
        fn trunc(x: f64) -> f64;
        fn truncf(x: f32) -> f32;
        fn nearbyint(x: f64) -> f64;
        fn nearbyintf(x: f32) -> f32;
        fn fma(x: f64, y: f64, z: f64) -> f64;
        fn fmaf(x: f32, y: f32, z: f32) -> f32;
    }
    Some(match name {
        "memcpy" => libc::memcpy as *const u8,
        "memset" => libc::memset as *const u8,
        "memmove" => libc::memmove as *const u8,
        "memcmp" => libc::memcmp as *const u8,
        "ceil" => ceil as *const u8,
        "ceilf" => ceilf as *const u8,
        "floor" => floor as *const u8,
        "floorf" => floorf as *const u8,
        "trunc" => trunc as *const u8,
        "truncf" => truncf as *const u8,
        "nearbyint" => nearbyint as *const u8,
        "nearbyintf" => nearbyintf as *const u8,
        "fma" => fma as *const u8,
        "fmaf" => fmaf as *const u8,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::libcall_address;
    use cranelift_codegen::ir::LibCall;

    /// Every libcall that names a C function resolves without `dlsym`, to
    /// that function.
    #[test]
    fn libcalls_resolve_to_the_linked_c_functions() {
        let names = cranelift_module::default_libcall_names();
        for lc in [
            LibCall::CeilF32,
            LibCall::CeilF64,
            LibCall::FloorF32,
            LibCall::FloorF64,
            LibCall::TruncF32,
            LibCall::TruncF64,
            LibCall::NearestF32,
            LibCall::NearestF64,
            LibCall::FmaF32,
            LibCall::FmaF64,
            LibCall::Memcpy,
            LibCall::Memset,
            LibCall::Memmove,
            LibCall::Memcmp,
        ] {
            assert!(libcall_address(&names(lc)).is_some(), "{lc:?}");
        }
        assert!(libcall_address("__cranelift_probestack").is_none());
        let f64_of = |name: &str| {
            let p = libcall_address(name).unwrap();
            // SAFETY: `name` is a C function of one double returning one.
            unsafe { std::mem::transmute::<*const u8, extern "C" fn(f64) -> f64>(p) }
        };
        assert_eq!(f64_of("ceil")(1.25), 2.0);
        assert_eq!(f64_of("floor")(-1.25), -2.0);
        assert_eq!(f64_of("trunc")(-1.75), -1.0);
        assert_eq!(f64_of("nearbyint")(2.5), 2.0);
        let p = libcall_address("fma").unwrap();
        // SAFETY: `fma` takes three doubles and returns one.
        let fma =
            unsafe { std::mem::transmute::<*const u8, extern "C" fn(f64, f64, f64) -> f64>(p) };
        assert_eq!(fma(2.0, 3.0, 1.0), 7.0);
    }
}
