//! Trampolines and stubs: the exit trampolines through which JIT code calls the
//! runtime (they anchor the frame walk), the entry trampolines through which Rust
//! calls JIT code, and the stubs that compile a function on its first call.

use super::*;

impl Materializer {
    /// An exit trampoline, `tramp(thread, args...)`: records its frame pointer as
    /// the thread's anchor, then calls the host function. JIT code calls it with
    /// convention `outer`: with
    /// `PreserveAll`, the call site clobbers no register (the trampoline saves
    /// what the host call clobbers), so a cold call does not force the values
    /// live across it out of registers in the hot path.
    pub(super) fn build_exit_trampoline_cc(
        &self,
        g: &mut Inner,
        name: &str,
        sig: &Sig,
        target: usize,
        outer: cranelift_codegen::isa::CallConv,
    ) -> Result<usize, CompileError> {
        self.exit_trampoline_body(g, sig, target, outer);
        self.finish(
            g,
            &format!("exit trampoline {name}"),
            "<vmkit>",
            CodeKind::Trampoline,
            Default::default(),
            None,
        )
    }

    /// Builds the body of an exit trampoline in `g.ctx`.
    pub(super) fn exit_trampoline_body(
        &self,
        g: &mut Inner,
        sig: &Sig,
        target: usize,
        outer: cranelift_codegen::isa::CallConv,
    ) {
        let cc = Self::call_conv(g);
        g.ctx.func.signature = clif_sig(outer, sig);
        {
            let inner = &mut *g;
            let frontend_config = inner.module.isa().frontend_config();
            let mut b = FunctionBuilder::new(&mut inner.ctx.func, &mut inner.fctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let params = b.block_params(entry).to_vec();
            let fp = b.ins().get_frame_pointer(self.ptr);
            b.ins().store(
                MemFlagsData::trusted(),
                fp,
                params[0],
                Thread::FRAME_ANCHOR_OFFSET as i32,
            );
            let sref = b.import_signature(clif_sig(cc, sig));
            let callee = b.ins().iconst(self.ptr, target as i64);
            let call = b.ins().call_indirect(sref, callee, &params);
            let rets = b.inst_results(call).to_vec();
            b.ins().return_(&rets);
            b.seal_all_blocks();
            b.finalize(frontend_config);
        }
    }

    /// `entry(thread, code, args, results)`: calls `code` with arguments loaded from
    /// `args` and stores its results in `results`.
    pub(super) fn build_entry_trampoline(
        &self,
        g: &mut Inner,
        sig: &Sig,
    ) -> Result<usize, CompileError> {
        let cc = Self::call_conv(g);
        let mut s = Signature::new(cc);
        for _ in 0..4 {
            s.params.push(AbiParam::new(types::I64));
        }
        g.ctx.func.signature = s;
        {
            let inner = &mut *g;
            let frontend_config = inner.module.isa().frontend_config();
            let mut b = FunctionBuilder::new(&mut inner.ctx.func, &mut inner.fctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let p = b.block_params(entry).to_vec();
            let mut args = vec![p[0]];
            for (i, t) in sig.params.iter().enumerate() {
                args.push(
                    b.ins()
                        .load(t.clif(), MemFlagsData::trusted(), p[2], (i * 8) as i32),
                );
            }
            let sref = b.import_signature(clif_sig(cc, sig));
            let call = b.ins().call_indirect(sref, p[1], &args);
            let rets = b.inst_results(call).to_vec();
            for (i, r) in rets.iter().enumerate() {
                b.ins()
                    .store(MemFlagsData::trusted(), *r, p[3], (i * 8) as i32);
            }
            b.ins().return_(&[]);
            b.seal_all_blocks();
            b.finalize(frontend_config);
        }
        self.finish(
            g,
            "entry trampoline",
            "<vmkit>",
            CodeKind::Trampoline,
            Default::default(),
            None,
        )
    }

    /// The lazy-compilation stub of `f`: compiles `f` (the runtime patches the slot),
    /// then calls it with the same arguments.
    pub(super) fn build_stub(&self, g: &mut Inner, f: FuncId) -> Result<(), CompileError> {
        let (name, file, slot) = {
            let fe = &g.funcs[f.0 as usize];
            (fe.name.clone(), fe.file.clone(), fe.slot)
        };
        let sig = self.sigs.read()[f.0 as usize].clone();
        let cc = Self::call_conv(g);
        let compile_host = g.compile_host.expect("compile host").0 as usize;
        if g.hosts[compile_host].trampoline.is_none() {
            // Its address goes into the stub.
            self.flush(g)?;
        }
        let compile = {
            let e = &g.hosts[compile_host];
            (e.trampoline.expect("trampoline"), e.sig.clone())
        };
        g.ctx.func.signature = clif_sig(cc, &sig);
        {
            let inner = &mut *g;
            let frontend_config = inner.module.isa().frontend_config();
            let mut b = FunctionBuilder::new(&mut inner.ctx.func, &mut inner.fctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let params = b.block_params(entry).to_vec();
            for (v, t) in params[1..].iter().zip(&sig.params) {
                if *t == ValType::Ref {
                    b.declare_value_needs_stack_map(*v);
                }
            }
            let me = b.ins().iconst(types::I64, f.0 as i64);
            let mat = b
                .ins()
                .iconst(types::I64, self as *const Materializer as i64);
            let csig = b.import_signature(clif_sig(cc, &compile.1));
            let callee = b.ins().iconst(self.ptr, compile.0 as i64);
            let call = b.ins().call_indirect(csig, callee, &[params[0], mat, me]);
            let code = b.inst_results(call)[0];
            let sref = b.import_signature(clif_sig(cc, &sig));
            let call = b.ins().call_indirect(sref, code, &params);
            let rets = b.inst_results(call).to_vec();
            b.ins().return_(&rets);
            b.seal_all_blocks();
            b.finalize(frontend_config);
        }
        let _ = file;
        self.finish_later(g, &format!("stub {name}"), CodeKind::Stub, Dest::Slot(slot))
    }
}
