//! A small dynamically typed personality on the substrate: every slot holds a
//! *value*, a tagged integer (`n << 1 | 1`) or a reference (an aligned pointer,
//! tag 0), told apart only by the personality's [`ValueEncoding`]. Pairs, boxed
//! floats, closures sharing an upvalue cell, a value vector; JIT code that builds
//! a list in a polling loop with mixed values live in its stack maps, walks it,
//! and bumps a closure's shared upvalue.
//!
//! Each scenario runs in a child process under a plan that moves objects at every
//! collection (SemiSpace, Immix with forced defragmentation, GenCopy's nursery)
//! and checks that every reference moved and still reads right, and that every
//! tagged integer (one of them with the bits of a moved object's address plus
//! one) was left alone: in globals, object fields, an interpreter root stack, JIT
//! frames. A control child reports plain pointers instead of the encoding and must
//! fail: the test catches an ignored encoding hook.

use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, MemFlagsData};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::Instant;
use vmkit::gc::{stats, GcOptions, Plan};
use vmkit::jit::{cranelift_codegen, FnCtx, FuncId, JitOptions, Materializer, Sig, ValType};
use vmkit::{
    thread, Address, Layout, ObjectModel, ObjectReference, SlotVisitor, Thread, TypeInfo,
    ValueEncoding, VirtualMachine, HEADER_SIZE,
};

const H: usize = HEADER_SIZE;
const HI: i32 = H as i32;

/// `(car, cdr)`: two value slots.
static PAIR: TypeInfo = TypeInfo::new(
    "Pair",
    Layout::Fixed {
        size: H + 16,
        ref_offsets: &[H, H + 8],
    },
    0,
);
/// A boxed float: no value slot.
static FLOAT: TypeInfo = TypeInfo::new(
    "Float",
    Layout::Fixed {
        size: H + 8,
        ref_offsets: &[],
    },
    1,
);
/// An upvalue cell: one value slot, shared by the closures that capture it.
static CELL: TypeInfo = TypeInfo::new(
    "Cell",
    Layout::Fixed {
        size: H + 8,
        ref_offsets: &[H],
    },
    2,
);
/// `(function index, upvalue cell)`: two value slots.
static CLOSURE: TypeInfo = TypeInfo::new(
    "Closure",
    Layout::Fixed {
        size: H + 16,
        ref_offsets: &[H, H + 8],
    },
    3,
);
/// A vector of values.
static VECTOR: TypeInfo = TypeInfo::new(
    "Vector",
    Layout::Array {
        elem_size: 8,
        elem_is_ref: true,
    },
    4,
);

fn int(n: i64) -> u64 {
    ((n << 1) | 1) as u64
}
fn untag(v: u64) -> i64 {
    assert_eq!(v & 1, 1, "{v:#x} is not an integer");
    (v as i64) >> 1
}
fn reference(v: u64) -> ObjectReference {
    assert_eq!(v & 1, 0, "{v:#x} is not a reference");
    vmkit::object::word_to_ref(v as usize).expect("a reference, not nil")
}
fn word(o: ObjectReference) -> u64 {
    o.to_raw_address().as_usize() as u64
}

// The raw accessors are `unsafe fn`s: every object read here is live (in a global,
// a handle or the root stack, read after the last safepoint) and every offset is
// inside its type's layout.
fn read(o: ObjectReference, off: usize) -> u64 {
    // SAFETY: see above.
    unsafe { vmkit::object::read_word(o, off) as u64 }
}
fn write_ref(t: &Thread, o: ObjectReference, off: usize, v: Option<ObjectReference>) {
    // SAFETY: see above; `off` is a reference field of `o`'s type.
    unsafe { t.write_ref(o, off, v) }
}
fn write_value(t: &Thread, o: ObjectReference, off: usize, v: u64) {
    // SAFETY: see above; `off` is a value field of `o`'s type.
    unsafe { t.write_value(o, off, v) }
}
fn type_of(o: ObjectReference) -> &'static TypeInfo {
    // SAFETY: see above.
    unsafe { vmkit::object::type_info(o) }
}

/// The personality's globals: value slots holding whatever the program put there.
static GLOBALS: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
/// Control: report plain pointers instead of the tagged encoding.
static IGNORE_ENCODING: AtomicBool = AtomicBool::new(false);

struct Dyn;
impl ObjectModel for Dyn {
    fn scan_globals(&self, visit: &mut SlotVisitor<'_>) {
        for g in &GLOBALS {
            visit(Address::from_ptr(g.as_ptr()));
        }
    }
    fn value_encoding(&self) -> ValueEncoding {
        if IGNORE_ENCODING.load(SeqCst) {
            ValueEncoding::POINTERS
        } else {
            ValueEncoding::low_tags(1, 0)
        }
    }
}
impl VirtualMachine for Dyn {}

// Global slots.
const G_INT: usize = 0;
const G_LIST: usize = 1;
const G_ADDER_A: usize = 2;
const G_ADDER_B: usize = 3;
const G_ADDRESS_LIKE: usize = 4;
const G_VECTOR: usize = 5;

fn global(i: usize) -> u64 {
    GLOBALS[i].load(SeqCst)
}
fn set_global(i: usize, v: u64) {
    GLOBALS[i].store(v, SeqCst);
}

struct Funcs {
    build: FuncId,
    sum: FuncId,
    bump: FuncId,
}

/// Builds a Cons value: `(car . cdr)`, both stored with the write barrier.
/// The pair comes from the personality-level inline path
/// ([`FnCtx::alloc_inline`]) when the plan has one and the buffer has room;
/// its slow path here is the substrate's full allocation.
fn store_pair(
    cx: &mut FnCtx,
    car: cranelift_codegen::ir::Value,
    cdr: cranelift_codegen::ir::Value,
) -> cranelift_codegen::ir::Value {
    let slow = cx.b.create_block();
    let done = cx.b.create_block();
    cx.b.append_block_param(done, types::I64);
    match cx.alloc_inline(&PAIR, PAIR.instance_size(0), 0, None, slow) {
        Some(p) => cx.b.ins().jump(done, &[p.into()]),
        None => cx.b.ins().jump(slow, &[]),
    };
    cx.b.switch_to_block(slow);
    let p = cx.alloc_fixed(&PAIR, None);
    cx.b.ins().jump(done, &[p.into()]);
    cx.b.switch_to_block(done);
    let p = cx.b.block_params(done)[0];
    cx.declare_ref(p);
    cx.store_ref(p, HI, car);
    cx.store_ref(p, HI + 8, cdr);
    p
}

/// Collects every 256th call: JIT frames are then stopped with integers and
/// references live in the same kind of stack-map slot.
extern "C" fn host_maybe_gc(t: &Thread, i: u64) {
    vmkit::jit::host_guard(|| {
        if i.is_multiple_of(256) {
            t.collect();
        }
    })
}

fn declare(m: &'static Materializer) -> Funcs {
    let maybe_gc = m
        .register_host(
            "maybe_gc",
            Sig::new(&[ValType::I64], &[]),
            host_maybe_gc as *const u8,
            true,
        )
        .unwrap();
    // build(n) -> list: for i in 0..n, conses `i` (a tagged integer, or every third
    // one a boxed float i + 0.5) onto the list; `car` and `last` are values live
    // across the allocations (safepoints) in stack-map slots that hold integers
    // as often as references. Ends with `(last . list)`.
    let build = m
        .declare(
            "build",
            "dyn.lisp",
            Sig::new(&[ValType::I64], &[ValType::Ref]),
            Box::new(move |cx: &mut FnCtx| {
                let n = cx.params()[0];
                let list = cx.var(ValType::Ref);
                let last = cx.var(ValType::Ref);
                let car = cx.var(ValType::Ref);
                let i = cx.var(ValType::I64);
                let zero = cx.b.ins().iconst(types::I64, 0);
                cx.b.def_var(list, zero);
                cx.b.def_var(i, zero);
                let nil_int = cx.b.ins().iconst(types::I64, int(0) as i64);
                cx.b.def_var(last, nil_int);
                cx.b.def_var(car, nil_int);
                let (head, body, boxed, tagged, join, exit) = (
                    cx.b.create_block(),
                    cx.b.create_block(),
                    cx.b.create_block(),
                    cx.b.create_block(),
                    cx.b.create_block(),
                    cx.b.create_block(),
                );
                cx.b.ins().jump(head, &[]);
                cx.b.switch_to_block(head);
                let iv = cx.b.use_var(i);
                let done = cx.b.ins().icmp(IntCC::SignedGreaterThanOrEqual, iv, n);
                cx.b.ins().brif(done, exit, &[], body, &[]);
                cx.b.switch_to_block(body);
                let iv = cx.b.use_var(i);
                let three = cx.b.ins().iconst(types::I64, 3);
                let r = cx.b.ins().srem(iv, three);
                let is_box = cx.b.ins().icmp_imm_s(IntCC::Equal, r, 0);
                cx.b.ins().brif(is_box, boxed, &[], tagged, &[]);
                cx.b.switch_to_block(boxed);
                let f = cx.alloc_fixed(&FLOAT, None);
                let iv = cx.b.use_var(i);
                let x = cx.b.ins().fcvt_from_sint(types::F64, iv);
                let half = cx.b.ins().f64const(0.5);
                let x = cx.b.ins().fadd(x, half);
                cx.b.ins().store(MemFlagsData::trusted(), x, f, HI);
                cx.b.def_var(car, f);
                cx.b.ins().jump(join, &[]);
                cx.b.switch_to_block(tagged);
                let iv = cx.b.use_var(i);
                let t = cx.b.ins().ishl_imm_u(iv, 1);
                let t = cx.b.ins().bor_imm_u(t, 1);
                cx.b.def_var(car, t);
                cx.b.ins().jump(join, &[]);
                cx.b.switch_to_block(join);
                let iv = cx.b.use_var(i);
                cx.call_host(maybe_gc, &[iv]);
                let (c, l) = (cx.b.use_var(car), cx.b.use_var(list));
                let p = store_pair(cx, c, l);
                cx.b.def_var(list, p);
                let c = cx.b.use_var(car);
                cx.b.def_var(last, c);
                let iv = cx.b.use_var(i);
                let i2 = cx.b.ins().iadd_imm_s(iv, 1);
                cx.b.def_var(i, i2);
                cx.poll();
                cx.b.ins().jump(head, &[]);
                cx.b.switch_to_block(exit);
                let (c, l) = (cx.b.use_var(last), cx.b.use_var(list));
                let p = store_pair(cx, c, l);
                cx.b.ins().return_(&[p]);
                Ok(())
            }),
        )
        .unwrap();

    // sum(list) -> integer value: integers as they are, boxed floats truncated.
    let sum = m
        .declare(
            "sum",
            "dyn.lisp",
            Sig::new(&[ValType::Ref], &[ValType::Ref]),
            Box::new(|cx: &mut FnCtx| {
                let p = cx.var(ValType::Ref);
                let acc = cx.var(ValType::I64);
                let l = cx.params()[0];
                cx.b.def_var(p, l);
                let zero = cx.b.ins().iconst(types::I64, 0);
                cx.b.def_var(acc, zero);
                let (head, body, is_int, is_box, next, exit) = (
                    cx.b.create_block(),
                    cx.b.create_block(),
                    cx.b.create_block(),
                    cx.b.create_block(),
                    cx.b.create_block(),
                    cx.b.create_block(),
                );
                cx.b.ins().jump(head, &[]);
                cx.b.switch_to_block(head);
                let pv = cx.b.use_var(p);
                let nil = cx.b.ins().icmp_imm_s(IntCC::Equal, pv, 0);
                cx.b.ins().brif(nil, exit, &[], body, &[]);
                cx.b.switch_to_block(body);
                let pv = cx.b.use_var(p);
                let car = cx.b.ins().load(types::I64, MemFlagsData::trusted(), pv, HI);
                let tag = cx.b.ins().band_imm_u(car, 1);
                cx.b.ins().brif(tag, is_int, &[], is_box, &[]);
                cx.b.switch_to_block(is_int);
                let v = cx.b.ins().sshr_imm_u(car, 1);
                let a = cx.b.use_var(acc);
                let a = cx.b.ins().iadd(a, v);
                cx.b.def_var(acc, a);
                cx.b.ins().jump(next, &[]);
                cx.b.switch_to_block(is_box);
                let x =
                    cx.b.ins()
                        .load(types::F64, MemFlagsData::trusted(), car, HI);
                let v = cx.b.ins().fcvt_to_sint_sat(types::I64, x);
                let a = cx.b.use_var(acc);
                let a = cx.b.ins().iadd(a, v);
                cx.b.def_var(acc, a);
                cx.b.ins().jump(next, &[]);
                cx.b.switch_to_block(next);
                let pv = cx.b.use_var(p);
                let cdr =
                    cx.b.ins()
                        .load(types::I64, MemFlagsData::trusted(), pv, HI + 8);
                cx.b.def_var(p, cdr);
                cx.poll();
                cx.b.ins().jump(head, &[]);
                cx.b.switch_to_block(exit);
                let a = cx.b.use_var(acc);
                let t = cx.b.ins().ishl_imm_u(a, 1);
                let t = cx.b.ins().bor_imm_u(t, 1);
                cx.b.ins().return_(&[t]);
                Ok(())
            }),
        )
        .unwrap();

    // bump(closure) -> value: adds one to the integer in the closure's upvalue
    // cell (shared with the other closure that captured it) and returns it.
    let bump = m
        .declare(
            "bump",
            "dyn.lisp",
            Sig::new(&[ValType::Ref], &[ValType::Ref]),
            Box::new(|cx: &mut FnCtx| {
                let c = cx.params()[0];
                let cell =
                    cx.b.ins()
                        .load(types::I64, MemFlagsData::trusted(), c, HI + 8);
                let v =
                    cx.b.ins()
                        .load(types::I64, MemFlagsData::trusted(), cell, HI);
                let v = cx.b.ins().iadd_imm_s(v, 2);
                cx.store_ref(cell, HI, v);
                cx.b.ins().return_(&[v]);
                Ok(())
            }),
        )
        .unwrap();
    Funcs { build, sum, bump }
}

/// What `sum(build(n))` must return.
fn expected_sum(n: i64) -> i64 {
    let car = |i: i64| {
        if i % 3 == 0 {
            (i as f64 + 0.5) as i64
        } else {
            i
        }
    };
    (0..n).map(car).sum::<i64>() + if n > 0 { car(n - 1) } else { 0 }
}

/// Calls a JIT function of one value argument.
fn call(m: &Materializer, t: &Thread, f: FuncId, arg: u64) -> u64 {
    // SAFETY: every function here takes a count or a value of the right kind,
    // read from a root right before the call.
    let r = unsafe { m.invoke(t, f, &[arg]) };
    r[0]
}

/// Allocates a closure for function `index` over `cell`.
fn closure(t: &Thread, index: i64, cell: ObjectReference) -> ObjectReference {
    let s = t.scope();
    let cell = s.handle(Some(cell));
    let c = t.alloc(&CLOSURE, H + 16).expect("heap");
    write_value(t, c, H, int(index));
    write_ref(t, c, H + 8, cell.get());
    c
}

/// Objects whose address the scenario follows, and whether each has moved.
struct Tracked {
    names: Vec<&'static str>,
    first: Vec<u64>,
    moved: Vec<bool>,
}

impl Tracked {
    fn see(&mut self, now: &[u64]) {
        for (k, w) in now.iter().enumerate() {
            if *w != self.first[k] {
                self.moved[k] = true;
            }
        }
    }
}

fn current(rs_ref: u64) -> Vec<u64> {
    let list = reference(global(G_LIST));
    let a = reference(global(G_ADDER_A));
    let cell = reference(read(a, H + 8));
    let vector = reference(global(G_VECTOR));
    // The first boxed float in the list.
    let mut p = list;
    let boxed = loop {
        let car = read(p, H);
        if car & 1 == 0 {
            break car;
        }
        p = reference(read(p, H + 8));
    };
    vec![
        word(list),
        global(G_ADDER_A),
        global(G_ADDER_B),
        word(cell),
        word(vector),
        boxed,
        rs_ref,
    ]
}

fn scenario(plan: Plan) {
    let mut o = GcOptions {
        plan,
        heap_size: 24 << 20,
        ..GcOptions::default()
    };
    if plan == Plan::Immix {
        o = o.force_moving();
    }
    o.early_objects = false;
    vmkit::vm::init(&Dyn, &o).expect("init");
    let t = thread::attach("main").expect("attach");
    let m = Materializer::new(JitOptions {
        verify: true,
        ..JitOptions::default()
    })
    .expect("materializer");
    let f = declare(m);
    let n = 3000;

    // Globals: an integer, a list, two closures sharing a cell, a vector of mixed
    // values, and an integer whose bits are the list's address plus one.
    set_global(G_INT, int(-123_456_789));
    let list = call(m, &t, f.build, n as u64);
    set_global(G_LIST, list);
    set_global(G_ADDRESS_LIKE, list | 1);
    let cell = t.alloc(&CELL, H + 8).expect("heap");
    write_value(&t, cell, H, int(0));
    let a = closure(&t, 7, cell);
    set_global(G_ADDER_A, word(a));
    let cell = reference(read(reference(global(G_ADDER_A)), H + 8));
    let b = closure(&t, 8, cell);
    set_global(G_ADDER_B, word(b));
    let v = t.alloc_array(&VECTOR, 4).expect("heap");
    write_value(&t, v, vmkit::object::ARRAY_DATA_OFFSET, int(41));
    write_value(
        &t,
        v,
        vmkit::object::ARRAY_DATA_OFFSET + 8,
        global(G_ADDER_B),
    );
    write_value(
        &t,
        v,
        vmkit::object::ARRAY_DATA_OFFSET + 16,
        global(G_LIST) | 1,
    );
    set_global(G_VECTOR, word(v));

    // The interpreter's root stack: an integer and a reference, both marked as
    // values the collector must look at.
    // SAFETY: this thread's own root stack, one borrow at a time.
    unsafe { t.root_stack() }.push(int(99), true);
    unsafe { t.root_stack() }.push(global(G_LIST), true);
    let rs_ref = || unsafe { t.root_stack() }.words[1];

    let first = current(rs_ref());
    let mut tracked = Tracked {
        names: vec![
            "list",
            "closure a",
            "closure b",
            "cell",
            "vector",
            "boxed float",
            "root-stack list",
        ],
        moved: vec![false; first.len()],
        first,
    };
    let address_like = global(G_ADDRESS_LIKE);
    let before = stats::snapshot();
    let mut bumps = 0;
    for round in 0..30 {
        // Garbage from JIT code (its own polls and allocations collect), then a
        // collection on demand.
        let g = call(m, &t, f.build, 2000);
        assert_eq!(
            untag(call(m, &t, f.sum, g)),
            expected_sum(2000),
            "round {round}: fresh list"
        );
        if round % 3 == 0 {
            t.collect();
        }
        let closure = if round % 2 == 0 { G_ADDER_A } else { G_ADDER_B };
        bumps += 1;
        assert_eq!(untag(call(m, &t, f.bump, global(closure))), bumps);
        tracked.see(&current(rs_ref()));
    }
    let after = stats::snapshot();
    let collections = after.collections - before.collections;
    let copied = after.bytes_copied - before.bytes_copied;
    assert!(collections > 0, "no collection");
    assert!(copied > 0, "nothing copied");

    // References: moved, and still right.
    for (k, name) in tracked.names.iter().enumerate() {
        assert!(
            tracked.moved[k],
            "{name} never moved in {collections} collections"
        );
    }
    let list = reference(global(G_LIST));
    assert!(std::ptr::eq(type_of(list), &PAIR));
    assert_eq!(untag(call(m, &t, f.sum, global(G_LIST))), expected_sum(n));
    assert_eq!(
        rs_ref(),
        global(G_LIST),
        "the root stack's reference follows the list"
    );
    let (a, b) = (reference(global(G_ADDER_A)), reference(global(G_ADDER_B)));
    assert_eq!(untag(read(a, H)), 7);
    assert_eq!(untag(read(b, H)), 8);
    assert_eq!(
        read(a, H + 8),
        read(b, H + 8),
        "the closures share their cell"
    );
    assert_eq!(untag(read(reference(read(a, H + 8)), H)), bumps);
    let v = reference(global(G_VECTOR));
    assert_eq!(untag(read(v, vmkit::object::ARRAY_DATA_OFFSET)), 41);
    assert_eq!(
        read(v, vmkit::object::ARRAY_DATA_OFFSET + 8),
        global(G_ADDER_B)
    );

    // Integers: untouched, even the ones with an old address's bits.
    assert_eq!(untag(global(G_INT)), -123_456_789);
    assert_eq!(global(G_ADDRESS_LIKE), address_like);
    assert_ne!(
        address_like,
        global(G_LIST) | 1,
        "the list moved away from it"
    );
    assert_eq!(read(v, vmkit::object::ARRAY_DATA_OFFSET + 16), address_like);
    assert_eq!(unsafe { t.root_stack() }.words[0], int(99));
    println!(
        "plan={} collections={collections} copied={copied}",
        vmkit::gc::plan()
    );
}

const PLANS: [Plan; 3] = [Plan::SemiSpace, Plan::Immix, Plan::GenCopy];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let plan: Plan = args[i + 1].parse().expect("a plan");
        if args.iter().any(|a| a == "--ignore-encoding") {
            IGNORE_ENCODING.store(true, SeqCst);
        }
        scenario(plan);
        return;
    }
    let exe = std::env::current_exe().expect("the test's own path");
    let (mut passed, mut failed) = (0, 0);
    let mut report = |id: String, ok: bool, detail: String| {
        if ok {
            passed += 1;
            println!("test {id} ... ok {detail}");
        } else {
            failed += 1;
            println!("test {id} ... FAILED\n{detail}");
        }
    };
    for plan in PLANS {
        let start = Instant::now();
        let out = Command::new(&exe)
            .args(["--child", &plan.to_string()])
            .output()
            .expect("the child runs");
        report(
            format!("tagged_values/{plan}"),
            out.status.success(),
            format!(
                "({:.1}s) {}{}",
                start.elapsed().as_secs_f64(),
                String::from_utf8_lossy(&out.stdout).trim(),
                if out.status.success() {
                    String::new()
                } else {
                    format!("\n{}\n{}", out.status, String::from_utf8_lossy(&out.stderr))
                }
            ),
        );
    }
    // The control: with the encoding ignored, a tagged integer is taken for an
    // object and the scenario must not pass.
    let out = Command::new(&exe)
        .args(["--child", "SemiSpace", "--ignore-encoding"])
        .output()
        .expect("the child runs");
    report(
        "ignored_encoding_is_caught/SemiSpace".into(),
        !out.status.success(),
        format!("(the child ended with {})", out.status),
    );
    println!("\n{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
