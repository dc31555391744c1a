//! Random sequences of materializer API calls: a function body built from random
//! operations on four reference variables (allocate, link, follow, read, poll,
//! collect, loops), compiled with the Cranelift verifier on, run under SemiSpace
//! (every collection moves every object), and checked against a Rust model of the
//! same heap. A missing or wrong stack-map entry shows up as a wrong sum or a crash.
#![no_main]
use arbitrary::Arbitrary;
use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, MemFlagsData, Value};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use vmkit::jit::{FnCtx, HostId, JitOptions, Materializer, Sig, ValType};
use vmkit::{
    GcOptions, Layout, ObjectModel, Plan, SlotVisitor, Thread, TypeInfo, VirtualMachine,
    HEADER_SIZE,
};

static NODE: TypeInfo = TypeInfo::new(
    "Node",
    Layout::Fixed {
        size: HEADER_SIZE + 16,
        ref_offsets: &[HEADER_SIZE + 8],
    },
    0,
);
const VALUE: i32 = HEADER_SIZE as i32;
const NEXT: i32 = HEADER_SIZE as i32 + 8;

struct Vm;
impl ObjectModel for Vm {
    fn scan_globals(&self, _visit: &mut SlotVisitor<'_>) {}
}
impl VirtualMachine for Vm {}

#[derive(Arbitrary, Debug, Clone)]
enum Op {
    New(u8, i8),
    Link(u8, u8),
    Follow(u8),
    Read(u8),
    Copy(u8, u8),
    Poll,
    Collect,
    Loop(u8, Vec<Op>),
}

extern "C" fn collect(t: &Thread) {
    vmkit::jit::host_guard(|| t.collect())
}

struct Env {
    mat: &'static Materializer,
    collect: HostId,
    thread: &'static Thread,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        vmkit::vm::init(
            &Vm,
            &GcOptions {
                plan: Plan::SemiSpace,
                heap_size: 64 << 20,
                gc_threads: Some(1),
                ..GcOptions::default()
            },
        )
        .unwrap();
        let mat = Materializer::new(JitOptions {
            verify: true,
            ..JitOptions::default()
        })
        .unwrap();
        let collect = mat
            .register_host("collect", Sig::new(&[], &[]), collect as *const u8, true)
            .unwrap();
        // The fuzzing thread stays attached for the whole process.
        let t = Box::leak(Box::new(vmkit::attach("fuzz").unwrap()));
        Env {
            mat,
            collect,
            thread: t,
        }
    })
}

// ---- the model
#[derive(Clone, Copy)]
struct MNode {
    value: i64,
    next: Option<usize>,
}

struct Model {
    heap: Vec<MNode>,
    r: [Option<usize>; 4],
    acc: i64,
    budget: u32,
}

impl Model {
    fn run(&mut self, ops: &[Op]) {
        for op in ops {
            if self.budget == 0 {
                return;
            }
            self.budget -= 1;
            match op {
                Op::New(k, v) => {
                    let k = (*k % 4) as usize;
                    let next = self.r[(k + 1) % 4];
                    self.heap.push(MNode {
                        value: *v as i64,
                        next,
                    });
                    self.r[k] = Some(self.heap.len() - 1);
                }
                Op::Link(a, b) => {
                    if let Some(x) = self.r[(*a % 4) as usize] {
                        self.heap[x].next = self.r[(*b % 4) as usize];
                    }
                }
                Op::Follow(k) => {
                    let k = (*k % 4) as usize;
                    self.r[k] = self.r[k].and_then(|x| self.heap[x].next);
                }
                Op::Read(k) => {
                    if let Some(x) = self.r[(*k % 4) as usize] {
                        self.acc = self.acc.wrapping_mul(31).wrapping_add(self.heap[x].value);
                    }
                }
                Op::Copy(a, b) => self.r[(*a % 4) as usize] = self.r[(*b % 4) as usize],
                Op::Poll | Op::Collect => {}
                Op::Loop(n, body) => {
                    for _ in 0..(*n % 4) {
                        self.run(body);
                    }
                }
            }
        }
    }
}

// ---- the code generator (mirrors the model, with the same budget)
struct Gen<'x, 'a, 'b> {
    cx: &'x mut FnCtx<'a, 'b>,
    r: [cranelift_frontend::Variable; 4],
    acc: cranelift_frontend::Variable,
    collect: HostId,
    budget: u32,
}

impl Gen<'_, '_, '_> {
    fn if_nonnull(&mut self, v: Value, f: impl FnOnce(&mut Self)) {
        let yes = self.cx.b.create_block();
        let join = self.cx.b.create_block();
        self.cx.b.ins().brif(v, yes, &[], join, &[]);
        self.cx.b.switch_to_block(yes);
        f(self);
        self.cx.b.ins().jump(join, &[]);
        self.cx.b.switch_to_block(join);
    }

    fn ops(&mut self, ops: &[Op]) {
        for op in ops {
            if self.budget == 0 {
                return;
            }
            self.budget -= 1;
            match op {
                Op::New(k, v) => {
                    let k = (*k % 4) as usize;
                    let next = self.cx.b.use_var(self.r[(k + 1) % 4]);
                    let o = self.cx.alloc_fixed(&NODE, None);
                    let vv = self.cx.b.ins().iconst(types::I64, *v as i64);
                    self.cx.b.ins().store(MemFlagsData::trusted(), vv, o, VALUE);
                    self.cx.store_ref(o, NEXT, next);
                    self.cx.b.def_var(self.r[k], o);
                }
                Op::Link(a, b) => {
                    let x = self.cx.b.use_var(self.r[(*a % 4) as usize]);
                    let y = self.cx.b.use_var(self.r[(*b % 4) as usize]);
                    self.if_nonnull(x, |g| g.cx.store_ref(x, NEXT, y));
                }
                Op::Follow(k) => {
                    let var = self.r[(*k % 4) as usize];
                    let x = self.cx.b.use_var(var);
                    let yes = self.cx.b.create_block();
                    let join = self.cx.b.create_block();
                    self.cx.b.append_block_param(join, types::I64);
                    self.cx.b.ins().brif(x, yes, &[], join, &[x.into()]);
                    self.cx.b.switch_to_block(yes);
                    let n = self
                        .cx
                        .b
                        .ins()
                        .load(types::I64, MemFlagsData::trusted(), x, NEXT);
                    self.cx.b.ins().jump(join, &[n.into()]);
                    self.cx.b.switch_to_block(join);
                    let p = self.cx.b.block_params(join)[0];
                    self.cx.declare_ref(p);
                    self.cx.b.def_var(var, p);
                }
                Op::Read(k) => {
                    let x = self.cx.b.use_var(self.r[(*k % 4) as usize]);
                    let acc = self.acc;
                    self.if_nonnull(x, |g| {
                        let v =
                            g.cx.b
                                .ins()
                                .load(types::I64, MemFlagsData::trusted(), x, VALUE);
                        let a = g.cx.b.use_var(acc);
                        let a = g.cx.b.ins().imul_imm_s(a, 31);
                        let a = g.cx.b.ins().iadd(a, v);
                        g.cx.b.def_var(acc, a);
                    });
                }
                Op::Copy(a, b) => {
                    let y = self.cx.b.use_var(self.r[(*b % 4) as usize]);
                    self.cx.b.def_var(self.r[(*a % 4) as usize], y);
                }
                Op::Poll => self.cx.poll(),
                Op::Collect => {
                    let h = self.collect;
                    self.cx.call_host(h, &[]);
                }
                Op::Loop(n, body) => {
                    let i = self.cx.var(ValType::I64);
                    let z = self.cx.b.ins().iconst(types::I64, 0);
                    self.cx.b.def_var(i, z);
                    let (head, bb, exit) = (
                        self.cx.b.create_block(),
                        self.cx.b.create_block(),
                        self.cx.b.create_block(),
                    );
                    self.cx.b.ins().jump(head, &[]);
                    self.cx.b.switch_to_block(head);
                    let iv = self.cx.b.use_var(i);
                    let more =
                        self.cx
                            .b
                            .ins()
                            .icmp_imm_s(IntCC::SignedLessThan, iv, (*n % 4) as i64);
                    self.cx.b.ins().brif(more, bb, &[], exit, &[]);
                    self.cx.b.switch_to_block(bb);
                    // The body is generated once but runs n times: the model runs
                    // it n times with the same budget accounting per iteration.
                    let saved = self.budget;
                    self.ops(body);
                    let used = saved - self.budget;
                    self.budget = saved
                        .saturating_sub(used.saturating_mul((*n % 4) as u32).saturating_sub(used));
                    let iv = self.cx.b.use_var(i);
                    let i2 = self.cx.b.ins().iadd_imm_s(iv, 1);
                    self.cx.b.def_var(i, i2);
                    self.cx.poll();
                    self.cx.b.ins().jump(head, &[]);
                    self.cx.b.switch_to_block(exit);
                }
            }
        }
    }
}

/// Whether the loop budgeting of code and model agree: only when every loop body
/// fits its budget completely (otherwise the program is skipped).
fn fits(ops: &[Op], budget: &mut u32) -> bool {
    for op in ops {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        if let Op::Loop(n, body) = op {
            for _ in 0..(*n % 4) {
                if !fits(body, budget) {
                    return false;
                }
            }
        }
    }
    true
}

fuzz_target!(|ops: Vec<Op>| {
    let mut b = 400u32;
    if !fits(&ops, &mut b) {
        return;
    }
    let e = env();
    let mut model = Model {
        heap: Vec::new(),
        r: [None; 4],
        acc: 0,
        budget: 10_000,
    };
    model.run(&ops);
    let collect = e.collect;
    let body = ops.clone();
    let f = e
        .mat
        .declare(
            "fuzzed",
            "clif.fuzz",
            Sig::new(&[], &[ValType::I64]),
            Box::new(move |cx: &mut FnCtx| {
                let r = [
                    cx.var(ValType::Ref),
                    cx.var(ValType::Ref),
                    cx.var(ValType::Ref),
                    cx.var(ValType::Ref),
                ];
                let acc = cx.var(ValType::I64);
                let z = cx.b.ins().iconst(types::I64, 0);
                for v in r {
                    cx.b.def_var(v, z);
                }
                cx.b.def_var(acc, z);
                let mut g = Gen {
                    cx,
                    r,
                    acc,
                    collect,
                    budget: 10_000,
                };
                g.ops(&body);
                // Collect once more and read every variable after the move.
                g.cx.call_host(collect, &[]);
                g.ops(&[Op::Read(0), Op::Read(1), Op::Read(2), Op::Read(3)]);
                let a = g.cx.b.use_var(acc);
                g.cx.b.ins().return_(&[a]);
                Ok(())
            }),
        )
        .unwrap();
    e.mat
        .compile(f)
        .expect("verifier rejected the generated IR");
    model.run(&[Op::Read(0), Op::Read(1), Op::Read(2), Op::Read(3)]);
    // SAFETY: `f` takes no argument, and its body touches only the objects it
    // allocates itself (the model's operations on its own nodes).
    let got = unsafe { e.mat.invoke(e.thread, f, &[]) };
    assert_eq!(
        got[0] as i64, model.acc,
        "JIT and model disagree for {ops:?}"
    );
});
