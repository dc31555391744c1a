//! Materializer tests with CLIF built by hand through the public API (no Toy):
//! references live across calls and loops while moving collections happen, threads
//! in call-free loops reaching safepoints, backtraces through JIT frames. Each
//! (scenario, plan) runs in a child process (one MMTk per process).

use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, MemFlagsData, Value};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use vmkit::gc::{stats, GcOptions, Plan};
use vmkit::jit::{FnCtx, FrameInfo, FuncId, HostId, JitOptions, Materializer, Sig, ValType};
use vmkit::{
    thread, Layout, ObjectModel, ObjectReference, SlotVisitor, Thread, TypeInfo, VirtualMachine,
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

// The raw accessors are `unsafe fn`s; every object this test touches is live (in a
// handle or just allocated, nothing collected since) and every offset is inside it.
fn read_word(o: ObjectReference, off: usize) -> usize {
    // SAFETY: see above.
    unsafe { vmkit::object::read_word(o, off) }
}
fn write_word(o: ObjectReference, off: usize, v: usize) {
    // SAFETY: see above.
    unsafe { vmkit::object::write_word(o, off, v) }
}
fn read_ref(o: ObjectReference, off: usize) -> Option<ObjectReference> {
    // SAFETY: see above.
    unsafe { vmkit::object::read_ref(o, off) }
}

/// `Materializer::invoke`, whose promise every call here keeps: the test's
/// functions take integers, or lists the test built and holds in handles, passed
/// right after they were read.
fn call(m: &Materializer, t: &Thread, f: FuncId, args: &[u64]) -> Vec<u64> {
    // SAFETY: see above.
    unsafe { m.invoke(t, f, args) }
}

struct TestVm;
impl ObjectModel for TestVm {
    fn scan_globals(&self, _visit: &mut SlotVisitor<'_>) {}
}
impl VirtualMachine for TestVm {
    fn new_exception(
        &self,
        t: &Thread,
        kind: vmkit::ErrorKind,
        _msg: &str,
    ) -> Option<ObjectReference> {
        // The exception object is a node whose value tells the kind.
        let e = t.alloc(&NODE, HEADER_SIZE + 16).ok()?;
        write_word(e, VALUE as usize, 1000 + kind as usize);
        Some(e)
    }
}

/// Builds `for i in 0..n { body(cx, i) }` in `cx` (signed compare), with a
/// safepoint poll on the back edge when `poll`; continues after the loop.
fn counted_loop(cx: &mut FnCtx, n: Value, poll: bool, body: impl FnOnce(&mut FnCtx, Value)) {
    let i = cx.var(ValType::I64);
    let z = cx.b.ins().iconst(types::I64, 0);
    cx.b.def_var(i, z);
    let head = cx.b.create_block();
    let body_block = cx.b.create_block();
    let exit = cx.b.create_block();
    cx.b.ins().jump(head, &[]);
    cx.b.switch_to_block(head);
    let iv = cx.b.use_var(i);
    let done = cx.b.ins().icmp(IntCC::SignedGreaterThanOrEqual, iv, n);
    cx.b.ins().brif(done, exit, &[], body_block, &[]);
    cx.b.switch_to_block(body_block);
    let iv = cx.b.use_var(i);
    body(cx, iv);
    let i2 = cx.b.ins().iadd_imm_s(iv, 1);
    cx.b.def_var(i, i2);
    if poll {
        cx.poll();
    }
    cx.b.ins().jump(head, &[]);
    cx.b.switch_to_block(exit);
}

fn init(plan: Plan) -> &'static Materializer {
    // The cheap check a lazy personality makes at start-up agrees with the
    // materializer built below.
    vmkit::jit::check_host_isa().expect("Cranelift supports this machine");
    let o = GcOptions {
        plan,
        heap_size: 32 << 20,
        gc_threads: Some(2),
        ..GcOptions::default()
    };
    let o = if plan == Plan::Immix {
        o.force_moving()
    } else {
        o
    };
    vmkit::vm::init(&TestVm, &o).unwrap();
    Materializer::new(JitOptions {
        verify: true,
        ..JitOptions::default()
    })
    .unwrap()
}

static COLLECT_EVERY: AtomicU64 = AtomicU64::new(16);

/// Host: collect when `n` is a multiple of COLLECT_EVERY.
extern "C" fn host_maybe_gc(t: &Thread, n: u64) {
    vmkit::jit::host_guard(|| {
        if n.is_multiple_of(COLLECT_EVERY.load(Ordering::Relaxed)) {
            t.collect();
        }
    })
}

static TRACE: Mutex<Vec<FrameInfo>> = Mutex::new(Vec::new());

extern "C" fn host_capture(t: &Thread) {
    vmkit::jit::host_guard(|| *TRACE.lock().unwrap() = vmkit::jit::backtrace(t))
}

static MAT: OnceLock<&'static Materializer> = OnceLock::new();
static BUILD: OnceLock<FuncId> = OnceLock::new();

/// Host: re-enters JIT code (`build(300)`, which collects) and returns its sum of
/// values, checked on the Rust side.
extern "C" fn host_reenter(t: &Thread) -> u64 {
    vmkit::jit::host_guard(|| {
        let m = MAT.get().unwrap();
        let l = call(m, t, *BUILD.get().unwrap(), &[300])[0];
        check_list(Some(as_ref(l)), 300);
        l
    })
}

struct Funcs {
    outer: FuncId,
    deep: FuncId,
    build: FuncId,
    sum: FuncId,
    churn: FuncId,
    spin: FuncId,
    spin_nopoll: FuncId,
    f1: FuncId,
    fi: FuncId,
}

fn declare(m: &'static Materializer) -> Funcs {
    let gc_host = m
        .register_host(
            "maybe_gc",
            Sig::new(&[ValType::I64], &[]),
            host_maybe_gc as *const u8,
            true,
        )
        .unwrap();
    let capture = m
        .register_host(
            "capture",
            Sig::new(&[], &[]),
            host_capture as *const u8,
            true,
        )
        .unwrap();

    // build(n) -> Node: the list n, n-1, ..., 1, built recursively; `rest` is live
    // across a call that collects.
    let me = Arc::new(OnceLock::<FuncId>::new());
    let me2 = me.clone();
    let build = m
        .declare(
            "build",
            "test.clif",
            Sig::new(&[ValType::I64], &[ValType::Ref]),
            Box::new(move |cx: &mut FnCtx| {
                let n = cx.params()[0];
                let base = cx.b.create_block();
                let rec = cx.b.create_block();
                let is0 = cx.b.ins().icmp_imm_s(IntCC::Equal, n, 0);
                cx.b.ins().brif(is0, base, &[], rec, &[]);
                cx.b.switch_to_block(base);
                let null = cx.b.ins().iconst(types::I64, 0);
                cx.b.ins().return_(&[null]);
                cx.b.switch_to_block(rec);
                let n1 = cx.b.ins().iadd_imm_s(n, -1);
                let rest = cx.call_function(*me2.get().unwrap(), &[n1])[0];
                cx.call_host(gc_host, &[n]);
                let node = cx.alloc_fixed(&NODE, None);
                cx.b.ins().store(MemFlagsData::trusted(), n, node, VALUE);
                cx.store_ref(node, NEXT, rest);
                cx.b.ins().return_(&[node]);
                Ok(())
            }),
        )
        .unwrap();
    me.set(build).unwrap();

    // sum(list) -> int: walks the list in a loop with a poll on the back-edge.
    let sum = m
        .declare(
            "sum",
            "test.clif",
            Sig::new(&[ValType::Ref], &[ValType::I64]),
            Box::new(|cx: &mut FnCtx| {
                let p = cx.var(ValType::Ref);
                let acc = cx.var(ValType::I64);
                let l = cx.params()[0];
                cx.b.def_var(p, l);
                let z = cx.b.ins().iconst(types::I64, 0);
                cx.b.def_var(acc, z);
                let head = cx.b.create_block();
                let body = cx.b.create_block();
                let exit = cx.b.create_block();
                cx.b.ins().jump(head, &[]);
                cx.b.switch_to_block(head);
                let pv = cx.b.use_var(p);
                let null = cx.b.ins().icmp_imm_s(IntCC::Equal, pv, 0);
                cx.b.ins().brif(null, exit, &[], body, &[]);
                cx.b.switch_to_block(body);
                let pv = cx.b.use_var(p);
                let v =
                    cx.b.ins()
                        .load(types::I64, MemFlagsData::trusted(), pv, VALUE);
                let a = cx.b.use_var(acc);
                let a2 = cx.b.ins().iadd(a, v);
                cx.b.def_var(acc, a2);
                let nx =
                    cx.b.ins()
                        .load(types::I64, MemFlagsData::trusted(), pv, NEXT);
                cx.b.def_var(p, nx);
                cx.poll();
                cx.b.ins().jump(head, &[]);
                cx.b.switch_to_block(exit);
                let a = cx.b.use_var(acc);
                cx.b.ins().return_(&[a]);
                Ok(())
            }),
        )
        .unwrap();

    // churn(list, k) -> list: allocates k garbage nodes inline while `list` is live
    // in a variable; returns it (at its new address).
    let churn = m
        .declare(
            "churn",
            "test.clif",
            Sig::new(&[ValType::Ref, ValType::I64], &[ValType::Ref]),
            Box::new(|cx: &mut FnCtx| {
                let keep = cx.var(ValType::Ref);
                let (l, k) = (cx.params()[0], cx.params()[1]);
                cx.b.def_var(keep, l);
                counted_loop(cx, k, true, |cx, iv| {
                    let g = cx.alloc_fixed(&NODE, None);
                    cx.b.ins().store(MemFlagsData::trusted(), iv, g, VALUE);
                });
                let kv = cx.b.use_var(keep);
                cx.b.ins().return_(&[kv]);
                Ok(())
            }),
        )
        .unwrap();

    // spin(n) -> int: a call-free loop; only the back-edge poll lets a collection in.
    let spin_body = |poll: bool| -> vmkit::jit::BodyBuilder {
        Box::new(move |cx: &mut FnCtx| {
            let n = cx.params()[0];
            let acc = cx.var(ValType::I64);
            let z = cx.b.ins().iconst(types::I64, 0);
            cx.b.def_var(acc, z);
            counted_loop(cx, n, poll, |cx, iv| {
                let a = cx.b.use_var(acc);
                let x = cx.b.ins().imul_imm_s(iv, 3);
                let x = cx.b.ins().bxor(a, x);
                let a2 = cx.b.ins().iadd_imm_s(x, 1);
                cx.b.def_var(acc, a2);
            });
            let a = cx.b.use_var(acc);
            cx.b.ins().return_(&[a]);
            Ok(())
        })
    };
    let spin = m
        .declare(
            "spin",
            "test.clif",
            Sig::new(&[ValType::I64], &[ValType::I64]),
            spin_body(true),
        )
        .unwrap();
    let spin_nopoll = m
        .declare(
            "spin_nopoll",
            "test.clif",
            Sig::new(&[ValType::I64], &[ValType::I64]),
            spin_body(false),
        )
        .unwrap();

    // f1 -> f2 -> f3 -> capture, each call on its own line.
    let chain = |name: &str, line: u32, next: Option<FuncId>, host: HostId| {
        m.declare(
            name,
            "chain.toy",
            Sig::new(&[ValType::I64], &[ValType::I64]),
            Box::new(move |cx: &mut FnCtx| {
                let x = cx.params()[0];
                cx.set_line(line);
                let r = match next {
                    Some(f) => {
                        let x1 = cx.b.ins().iadd_imm_s(x, 1);
                        cx.call_function(f, &[x1])[0]
                    }
                    None => {
                        cx.call_host(host, &[]);
                        x
                    }
                };
                cx.b.ins().return_(&[r]);
                Ok(())
            }),
        )
        .unwrap()
    };
    let f3 = chain("f3", 30, None, capture);
    let f2 = chain("f2", 20, Some(f3), capture);
    let f1 = chain("f1", 10, Some(f2), capture);
    // fi -> (g -> h inlined into fi) -> f3: virtual frames for g and h.
    let fi = m
        .declare(
            "fi",
            "chain.toy",
            Sig::new(&[ValType::I64], &[ValType::I64]),
            Box::new(move |cx: &mut FnCtx| {
                let x = cx.params()[0];
                cx.set_line(50);
                cx.push_inline("g", "inl.toy");
                cx.set_line(60);
                cx.push_inline("h", "inl.toy");
                cx.set_line(70);
                let r = cx.call_function(f3, &[x])[0];
                cx.pop_inline();
                cx.pop_inline();
                let r = cx.b.ins().iadd_imm_s(r, 1);
                cx.b.ins().return_(&[r]);
                Ok(())
            }),
        )
        .unwrap();
    MAT.set(m).ok();
    BUILD.set(build).ok();
    let reenter = m
        .register_host(
            "reenter",
            Sig::new(&[], &[ValType::Ref]),
            host_reenter as *const u8,
            true,
        )
        .unwrap();
    // outer(n) -> int: holds list(n) across a host call that re-enters JIT code and
    // collects, then sums both lists.
    let outer = m
        .declare(
            "outer",
            "test.clif",
            Sig::new(&[ValType::I64], &[ValType::I64]),
            Box::new(move |cx: &mut FnCtx| {
                let n = cx.params()[0];
                let mine = cx.call_function(build, &[n])[0];
                let theirs = cx.call_host(reenter, &[])[0];
                let a = cx.call_function(sum, &[mine])[0];
                let b = cx.call_function(sum, &[theirs])[0];
                let r = cx.b.ins().iadd(a, b);
                cx.b.ins().return_(&[r]);
                Ok(())
            }),
        )
        .unwrap();
    // deep(n) -> int: unbounded recursion with an exception check after the call.
    let me = Arc::new(OnceLock::<FuncId>::new());
    let me2 = me.clone();
    let deep = m
        .declare(
            "deep",
            "test.clif",
            Sig::new(&[ValType::I64], &[ValType::I64]),
            Box::new(move |cx: &mut FnCtx| {
                let n = cx.params()[0];
                let base = cx.b.create_block();
                let rec = cx.b.create_block();
                let is0 = cx.b.ins().icmp_imm_s(IntCC::Equal, n, 0);
                cx.b.ins().brif(is0, base, &[], rec, &[]);
                cx.b.switch_to_block(base);
                cx.b.ins().return_(&[n]);
                cx.b.switch_to_block(rec);
                let n1 = cx.b.ins().iadd_imm_s(n, -1);
                let r = cx.call_function(*me2.get().unwrap(), &[n1])[0];
                let unwind = cx.b.create_block();
                cx.check_exception(unwind);
                let r1 = cx.b.ins().iadd_imm_s(r, 1);
                cx.b.ins().return_(&[r1]);
                cx.b.switch_to_block(unwind);
                let d = cx.default_results();
                cx.b.ins().return_(&d);
                Ok(())
            }),
        )
        .unwrap();
    me.set(deep).unwrap();
    Funcs {
        outer,
        deep,
        build,
        sum,
        churn,
        spin,
        spin_nopoll,
        f1,
        fi,
    }
}

fn as_ref(w: u64) -> ObjectReference {
    vmkit::object::word_to_ref(w as usize).expect("null")
}

fn check_list(mut p: Option<ObjectReference>, n: usize) {
    for v in (1..=n).rev() {
        let node = p.expect("list too short");
        assert_eq!(read_word(node, VALUE as usize), v);
        p = read_ref(node, NEXT as usize);
    }
    assert!(p.is_none());
}

/// References held in JIT frames (recursion, loops) survive moving collections.
fn scenario_moving(plan: Plan) {
    let m = init(plan);
    let f = declare(m);
    let t = thread::attach("main").unwrap();
    let s = t.scope();
    assert!(!m.is_compiled(f.build));
    let before = stats::snapshot().collections;
    let list = s.handle(Some(as_ref(call(m, &t, f.build, &[2000])[0])));
    assert!(
        m.is_compiled(f.build),
        "lazy compilation did not patch the slot"
    );
    let during_build = stats::snapshot().collections - before;
    assert!(
        during_build >= 100,
        "only {during_build} collections while building"
    );
    check_list(list.get(), 2000);
    let sum = call(
        m,
        &t,
        f.sum,
        &[list.obj().to_raw_address().as_usize() as u64],
    )[0];
    assert_eq!(sum, 2000 * 2001 / 2);
    // Churn allocates ~30x the heap while the list is live in a JIT variable.
    let addr_before = list.obj();
    let k = 30_000_000u64;
    let back = call(
        m,
        &t,
        f.churn,
        &[list.obj().to_raw_address().as_usize() as u64, k],
    )[0];
    let back = as_ref(back);
    assert_eq!(
        back,
        list.obj(),
        "JIT variable and handle disagree after moving"
    );
    check_list(Some(back), 2000);
    let st = stats::snapshot();
    if matches!(plan, Plan::SemiSpace) {
        assert_ne!(addr_before, back, "SemiSpace never moved the list");
    }
    if matches!(plan, Plan::SemiSpace | Plan::Immix) {
        assert!(st.bytes_copied > 0, "nothing was copied");
    }
    println!(
        "collections={} copied={} moved={}",
        st.collections,
        st.bytes_copied,
        addr_before != back
    );
}

/// Four threads in call-free JIT loops reach safepoints while a fifth allocates and
/// collects.
fn scenario_threads(plan: Plan) {
    let m = init(plan);
    let f = declare(m);
    let stop = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = (0..4)
        .map(|_| {
            let stop = stop.clone();
            let spin = f.spin;
            std::thread::spawn(move || {
                let t = thread::attach("spinner").unwrap();
                let mut rounds = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let r = call(m, &t, spin, &[5_000_000])[0];
                    assert_ne!(r, 0);
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    let t = thread::attach("main").unwrap();
    let s = t.scope();
    COLLECT_EVERY.store(64, Ordering::Relaxed);
    for round in 0..20 {
        let l = s.handle(Some(as_ref(call(m, &t, f.build, &[500])[0])));
        let back = as_ref(
            call(
                m,
                &t,
                f.churn,
                &[l.obj().to_raw_address().as_usize() as u64, 200_000],
            )[0],
        );
        check_list(Some(back), 500);
        t.collect();
        check_list(l.get(), 500);
        let _ = round;
    }
    stop.store(true, Ordering::SeqCst);
    let rounds: u64 = t.native(|| spinners.into_iter().map(|h| h.join().unwrap()).sum());
    let st = stats::snapshot();
    assert!(st.collections >= 20);
    assert!(rounds >= 4);
    println!(
        "collections={} spinner_rounds={rounds} max_ttsp={:?} mean_pause={:?} max_pause={:?}",
        st.collections,
        st.ttsp_max,
        st.pause_mean(),
        st.pause_max
    );
}

/// A loop-free recursive function (naive Fibonacci: no loop polls, 10^8 calls)
/// reaches safepoints through its prologue: a collection requested while it runs
/// completes long before it returns.
fn scenario_entry_poll(plan: Plan) {
    let m = init(plan);
    let me = Arc::new(OnceLock::<FuncId>::new());
    let me2 = me.clone();
    let fib = m
        .declare(
            "fib",
            "test.clif",
            Sig::new(&[ValType::I64], &[ValType::I64]),
            Box::new(move |cx: &mut FnCtx| {
                let n = cx.params()[0];
                let small = cx.b.ins().icmp_imm_s(IntCC::SignedLessThan, n, 2);
                let base = cx.b.create_block();
                let rec = cx.b.create_block();
                cx.b.ins().brif(small, base, &[], rec, &[]);
                cx.b.switch_to_block(base);
                cx.b.ins().return_(&[n]);
                cx.b.switch_to_block(rec);
                let f = *me2.get().unwrap();
                let n1 = cx.b.ins().iadd_imm_s(n, -1);
                let a = cx.call_function(f, &[n1])[0];
                let n2 = cx.b.ins().iadd_imm_s(n, -2);
                let b = cx.call_function(f, &[n2])[0];
                let r = cx.b.ins().iadd(a, b);
                cx.b.ins().return_(&[r]);
                Ok(())
            }),
        )
        .unwrap();
    me.set(fib).unwrap();
    static STARTED: AtomicBool = AtomicBool::new(false);
    static DONE: AtomicBool = AtomicBool::new(false);
    let worker = std::thread::spawn(move || {
        let t = thread::attach("fib").unwrap();
        m.compile(fib).unwrap();
        STARTED.store(true, Ordering::SeqCst);
        let r = call(m, &t, fib, &[40])[0];
        DONE.store(true, Ordering::SeqCst);
        r
    });
    let t = thread::attach("main").unwrap();
    while !STARTED.load(Ordering::SeqCst) {
        std::hint::spin_loop();
    }
    let before = stats::snapshot().collections;
    t.collect();
    let collected_early = !DONE.load(Ordering::SeqCst);
    assert!(stats::snapshot().collections > before);
    let r = t.native(|| worker.join().unwrap());
    assert_eq!(r, 102_334_155);
    assert!(
        collected_early,
        "the collection waited for fib(40) to return: no safepoint at function entry"
    );
    println!(
        "collection during fib(40) ok, max time-to-safepoint {:?}",
        stats::snapshot().ttsp_max
    );
}

/// A backtrace taken in a runtime call three JIT frames deep, and one through
/// two inlined (virtual) frames.
fn scenario_backtrace(plan: Plan) {
    let m = init(plan);
    let f = declare(m);
    let t = thread::attach("main").unwrap();
    let r = call(m, &t, f.f1, &[40])[0];
    assert_eq!(r, 42);
    let trace = TRACE.lock().unwrap().clone();
    let got: Vec<(String, String, Option<u32>)> = trace
        .into_iter()
        .map(|fr| (fr.function, fr.file, fr.line))
        .collect();
    let want: Vec<(String, String, Option<u32>)> = [("f3", 30), ("f2", 20), ("f1", 10)]
        .iter()
        .map(|(n, l)| (n.to_string(), "chain.toy".to_string(), Some(*l)))
        .collect();
    assert_eq!(got, want);
    println!("backtrace ok: {got:?}");
    // With inlined bodies: one frame per inline scope, lines of the calls.
    assert_eq!(call(m, &t, f.fi, &[1])[0], 2);
    let got: Vec<(String, String, Option<u32>)> = TRACE
        .lock()
        .unwrap()
        .iter()
        .map(|fr| (fr.function.clone(), fr.file.clone(), fr.line))
        .collect();
    let want: Vec<(String, String, Option<u32>)> = [
        ("f3", "chain.toy", 30),
        ("h", "inl.toy", 70),
        ("g", "inl.toy", 60),
        ("fi", "chain.toy", 50),
    ]
    .iter()
    .map(|(n, f, l)| (n.to_string(), f.to_string(), Some(*l)))
    .collect();
    assert_eq!(got, want);
    println!("inlined backtrace ok: {got:?}");
}

/// JIT -> host -> JIT re-entry: the outer stretch of JIT frames is still scanned
/// (and updated) while the inner one collects.
fn scenario_reentry(plan: Plan) {
    let m = init(plan);
    let f = declare(m);
    let t = thread::attach("main").unwrap();
    COLLECT_EVERY.store(8, Ordering::Relaxed);
    let r = call(m, &t, f.outer, &[1000])[0];
    assert_eq!(r, 1000 * 1001 / 2 + 300 * 301 / 2);
    let st = stats::snapshot();
    assert!(st.collections > 100);
    println!("collections={} copied={}", st.collections, st.bytes_copied);
}

/// `Materializer::entry_point` (the lock-free, allocation-free way in for an
/// interpreter calling compiled code at every call): through the stub before
/// the first call compiles the function, its code after, with collections that
/// move objects inside the calls; results agree with `invoke`.
fn scenario_entry_point(plan: Plan) {
    let m = init(plan);
    let f = declare(m);
    let t = thread::attach("main").unwrap();
    let build = m.entry_point(f.build).expect("an entry point");
    let sum = m.entry_point(f.sum).expect("an entry point");
    assert!(!m.is_compiled(f.build));
    let before = stats::snapshot();
    for round in 0..20u64 {
        let n = 200 + round;
        let mut out = [0u64; 1];
        // SAFETY: `build` takes an integer and returns a list; nothing collects
        // between the call and the handle below.
        unsafe { build.call(&t, &[n], &mut out) };
        let s = t.scope();
        let list = s.handle(Some(as_ref(out[0])));
        check_list(list.get(), n as usize);
        let mut total = [0u64; 1];
        let arg = list.obj().to_raw_address().as_usize() as u64;
        // SAFETY: `sum` takes a list reference read just now, after the last
        // safepoint.
        unsafe { sum.call(&t, &[arg], &mut total) };
        assert_eq!(total[0], n * (n + 1) / 2);
        assert_eq!(call(m, &t, f.sum, &[arg])[0], total[0]);
    }
    assert!(m.is_compiled(f.build) && m.is_compiled(f.sum));
    let st = stats::snapshot();
    assert!(st.collections > before.collections, "nothing collected");
    assert!(st.bytes_copied > before.bytes_copied, "nothing moved");
    println!(
        "collections={} copied={}",
        st.collections - before.collections,
        st.bytes_copied - before.bytes_copied
    );
}

/// The prologue's stack-limit check turns unbounded recursion into a pending
/// exception (no SIGSEGV); afterwards the thread can recurse again.
fn scenario_overflow(plan: Plan) {
    let m = init(plan);
    let f = declare(m);
    let handle = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            let t = thread::attach("deep").unwrap();
            t.set_stack_size_from_here(8 << 20);
            call(m, &t, f.deep, &[100_000_000]);
            let e = t
                .take_pending_exception()
                .expect("no StackOverflow exception");
            assert_eq!(
                read_word(e, VALUE as usize),
                1000 + vmkit::ErrorKind::StackOverflow as usize
            );
            // Recursing again works, to a depth that fits.
            assert_eq!(call(m, &t, f.deep, &[10_000])[0], 10_000);
            assert!(!t.has_pending_exception());
            call(m, &t, f.deep, &[100_000_000]);
            assert!(t.take_pending_exception().is_some());
        })
        .unwrap();
    handle.join().expect("overflow thread failed");
    println!("stack overflow caught twice");
}

/// Numbers for the record (not asserted): compile speed, poll cost, allocation cost.
fn scenario_measure(plan: Plan) {
    let m = init(plan);
    let f = declare(m);
    let t = thread::attach("main").unwrap();
    for id in [f.build, f.sum, f.churn, f.spin, f.spin_nopoll, f.f1] {
        m.compile(id).unwrap();
    }
    let js = m.stats();
    let n = 200_000_000u64;
    let time = |id| {
        call(m, &t, id, &[1000]);
        let s = Instant::now();
        let r = call(m, &t, id, &[n])[0];
        (s.elapsed().as_secs_f64() * 1e9 / n as f64, r)
    };
    let (with_poll, r1) = time(f.spin);
    let (without, r2) = time(f.spin_nopoll);
    assert_eq!(r1, r2);
    let k = 50_000_000u64;
    let l = call(m, &t, f.build, &[10])[0];
    let s = Instant::now();
    call(m, &t, f.churn, &[l, k]);
    let alloc_ns = s.elapsed().as_secs_f64() * 1e9 / k as f64;
    println!(
        "compile: {} functions, {} CLIF insts in {:?} = {:.0} insts/s; loop: {:.3} ns/iter with poll, {:.3} without (poll {:+.3} ns); alloc: {:.2} ns/object",
        js.functions,
        js.clif_insts,
        js.compile_time,
        js.clif_insts as f64 / js.compile_time.as_secs_f64(),
        with_poll,
        without,
        with_poll - without,
        alloc_ns
    );
}

/// Host: writes `v` into `o`'s value field behind the JIT code's back.
extern "C" fn host_set_value(_t: &Thread, o: u64, v: u64) {
    vmkit::jit::host_guard(|| write_word(as_ref(o), VALUE as usize, v as usize))
}

/// Loads and stores in alias classes (`FnCtx::alias_class`) reuse loaded values
/// only where that is right: a store of the same class through another
/// reference (which may be the same object), a store on one side of a branch
/// inside a loop, and a call that writes the field are all seen by the loads
/// after them; stores of another class are not. `mix(a, b, n)` is checked
/// against the same computation in Rust, with `a` and `b` the same object and
/// two different ones.
fn scenario_alias_classes(plan: Plan) {
    let m = init(plan);
    let set = m
        .register_host(
            "set_value",
            Sig::new(&[ValType::Ref, ValType::I64], &[]),
            host_set_value as *const u8,
            false,
        )
        .unwrap();
    let mix = m
        .declare(
            "mix",
            "test.clif",
            Sig::new(&[ValType::Ref, ValType::Ref, ValType::I64], &[ValType::I64]),
            Box::new(move |cx: &mut FnCtx| {
                let (a, b, n) = (cx.params()[0], cx.params()[1], cx.params()[2]);
                let value = cx.alias_class(1);
                let next = cx.alias_class(2);
                let acc = cx.var(ValType::I64);
                let z = cx.b.ins().iconst(types::I64, 0);
                cx.b.def_var(acc, z);
                // acc += a.value; odd i: b.value = i; b.next = null (another
                // class); acc += 3 * a.value; every fourth i: set_value(a, i +
                // 100) by a call, acc += 7 * a.value.
                counted_loop(cx, n, true, |cx, iv| {
                    let odd = cx.b.create_block();
                    let join = cx.b.create_block();
                    let call = cx.b.create_block();
                    let latch = cx.b.create_block();
                    let w = cx.b.ins().load(types::I64, value, a, VALUE);
                    let s0 = cx.b.use_var(acc);
                    let s1 = cx.b.ins().iadd(s0, w);
                    cx.b.def_var(acc, s1);
                    let bit = cx.b.ins().band_imm_u(iv, 1);
                    cx.b.ins().brif(bit, odd, &[], join, &[]);
                    cx.b.switch_to_block(odd);
                    cx.b.ins().store(value, iv, b, VALUE);
                    cx.b.ins().jump(join, &[]);
                    cx.b.switch_to_block(join);
                    let null = cx.b.ins().iconst(types::I64, 0);
                    cx.store_ref_flags(b, NEXT, null, next);
                    let w3 = cx.b.ins().load(types::I64, value, a, VALUE);
                    let t3 = cx.b.ins().imul_imm_s(w3, 3);
                    let s2 = cx.b.use_var(acc);
                    let s3 = cx.b.ins().iadd(s2, t3);
                    cx.b.def_var(acc, s3);
                    let q = cx.b.ins().band_imm_u(iv, 3);
                    cx.b.ins().brif(q, latch, &[], call, &[]);
                    cx.b.switch_to_block(call);
                    let v = cx.b.ins().iadd_imm_s(iv, 100);
                    cx.call_host(set, &[a, v]);
                    let w7 = cx.b.ins().load(types::I64, value, a, VALUE);
                    let t7 = cx.b.ins().imul_imm_s(w7, 7);
                    let s4 = cx.b.use_var(acc);
                    let s5 = cx.b.ins().iadd(s4, t7);
                    cx.b.def_var(acc, s5);
                    cx.b.ins().jump(latch, &[]);
                    cx.b.switch_to_block(latch);
                });
                let r = cx.b.use_var(acc);
                cx.b.ins().return_(&[r]);
                Ok(())
            }),
        )
        .unwrap();
    let t = thread::attach("main").unwrap();
    let expect = |same: bool, n: u64| {
        let (mut av, mut bv, mut acc) = (5u64, 9u64, 0u64);
        for i in 0..n {
            acc = acc.wrapping_add(av);
            if i & 1 == 1 {
                bv = i;
                if same {
                    av = i;
                }
            }
            acc = acc.wrapping_add(av.wrapping_mul(3));
            if i & 3 == 0 {
                av = i + 100;
                if same {
                    bv = av;
                }
                acc = acc.wrapping_add(av.wrapping_mul(7));
            }
        }
        (acc, av, bv)
    };
    for same in [true, false] {
        let x = t.alloc(&NODE, HEADER_SIZE + 16).unwrap();
        write_word(x, VALUE as usize, 5);
        let y = if same {
            x
        } else {
            let y = t.alloc(&NODE, HEADER_SIZE + 16).unwrap();
            write_word(y, VALUE as usize, 9);
            y
        };
        let (xw, yw) = (x.to_raw_address().as_usize(), y.to_raw_address().as_usize());
        let r = call(m, &t, mix, &[xw as u64, yw as u64, 1000])[0];
        let (acc, av, bv) = expect(same, 1000);
        assert_eq!(r, acc, "same object: {same}");
        assert_eq!(read_word(x, VALUE as usize) as u64, av);
        if !same {
            assert_eq!(read_word(y, VALUE as usize) as u64, bv);
        }
    }
    println!("mix checked with one object and with two");
}

/// Ends the (child) process if a scenario that could deadlock has not finished
/// within a minute.
fn watchdog(what: &'static str) {
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(60));
        eprintln!("{what}: still running after 60 s (deadlock?)");
        std::process::exit(3);
    });
}

static COMPILING: AtomicBool = AtomicBool::new(false);
static RELEASE: AtomicBool = AtomicBool::new(false);

/// One thread compiles a function (lazily, through its stub) whose body builder
/// waits; meanwhile another collects (the compiler holds the materializer in
/// native state, so the collection does not wait for it), then calls into JIT
/// code with a reference argument: it waits for the materializer in native state
/// while a third thread's collection moves the argument, and the call sees the
/// moved object.
fn scenario_compile_contention(plan: Plan) {
    watchdog("compile_contention");
    let m = init(plan);
    let f = declare(m);
    let slow = m
        .declare(
            "slow",
            "test.clif",
            Sig::new(&[ValType::I64], &[ValType::I64]),
            Box::new(|cx: &mut FnCtx| {
                COMPILING.store(true, Ordering::SeqCst);
                while !RELEASE.load(Ordering::SeqCst) {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                let x = cx.params()[0];
                let r = cx.b.ins().iadd_imm_s(x, 1);
                cx.b.ins().return_(&[r]);
                Ok(())
            }),
        )
        .unwrap();
    let t = thread::attach("main").unwrap();
    let s = t.scope();
    let list = s.handle(Some(as_ref(call(m, &t, f.build, &[200])[0])));
    let compiler = std::thread::spawn(move || {
        let t = thread::attach("compiler").unwrap();
        call(m, &t, slow, &[41])[0]
    });
    t.native(|| {
        while !COMPILING.load(Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    });
    let before = stats::snapshot().collections;
    t.collect();
    assert!(stats::snapshot().collections > before);
    let collector = std::thread::spawn(move || {
        let t = thread::attach("collector").unwrap();
        // Main waits for the materializer by now (its next safepoint is there).
        t.native(|| std::thread::sleep(std::time::Duration::from_millis(200)));
        t.collect();
        RELEASE.store(true, Ordering::SeqCst);
    });
    let old = list.obj();
    // churn(list, 0) returns its argument.
    let back = as_ref(call(m, &t, f.churn, &[old.to_raw_address().as_usize() as u64, 0])[0]);
    assert_ne!(
        old,
        list.obj(),
        "the collection during the wait moved nothing"
    );
    assert_eq!(back, list.obj(), "the call saw the argument's old address");
    check_list(Some(back), 200);
    t.native(|| collector.join().unwrap());
    assert_eq!(t.native(|| compiler.join().unwrap()), 42);
    println!("collections={}", stats::snapshot().collections);
}

/// The barrier's slow path from compiled code: `relink(holder, k)` puts a new
/// node in front of the list in `holder`, an old object (two collections made
/// it so), and cuts the list to two nodes, `k` times, with a poll after each;
/// whatever the poll collects, both nodes must stay reachable (the barrier
/// logged the holder: a young node reachable only from an old object is found
/// through that log, and the node the store overwrote, reachable only from a
/// node allocated while marking runs, is marked through it), and the loop reads
/// their values back after the next allocations. Without the log the
/// generational plans lose the young nodes (GenImmix and GenCopy then copy
/// nothing); under ConcurrentImmix the marking usually reaches the holder (a
/// root) before the loop overwrites its field, so there this checks that the
/// slow path runs while marking does and that the data and registers survive
/// it, not that the log is needed. Values live across the barrier's logging call
/// (`i`, the count of bad reads, `holder`) stay in registers across it: its
/// trampoline preserves every register.
fn scenario_barrier(plan: Plan) {
    let m = init(plan);
    let relink = m
        .declare(
            "relink",
            "test.clif",
            Sig::new(&[ValType::Ref, ValType::I64], &[ValType::I64]),
            Box::new(|cx: &mut FnCtx| {
                let keep = cx.var(ValType::Ref);
                let bad = cx.var(ValType::I64);
                let (h, k) = (cx.params()[0], cx.params()[1]);
                cx.b.def_var(keep, h);
                let z = cx.b.ins().iconst(types::I64, 0);
                cx.b.def_var(bad, z);
                counted_loop(cx, k, false, |cx, iv| {
                    let fl = MemFlagsData::trusted();
                    let n = cx.alloc_fixed(&NODE, None);
                    cx.b.ins().store(fl, iv, n, VALUE);
                    // holder -> n -> old -> null: n, new, takes the last node; the
                    // store into the holder overwrites it (a snapshot-at-the-beginning
                    // barrier logs it, as n is not scanned by the marking under way).
                    let hv = cx.b.use_var(keep);
                    let old = cx.b.ins().load(types::I64, fl, hv, NEXT);
                    cx.store_ref(n, NEXT, old);
                    cx.store_ref(hv, NEXT, n);
                    let null = cx.b.ins().iconst(types::I64, 0);
                    cx.store_ref(old, NEXT, null);
                    cx.poll();
                    // After whatever the poll collected (and the next allocations
                    // reused): holder.next.value == i, holder.next.next.value == i - 1.
                    let hv = cx.b.use_var(keep);
                    let nx = cx.b.ins().load(types::I64, fl, hv, NEXT);
                    let v = cx.b.ins().load(types::I64, fl, nx, VALUE);
                    let ne = cx.b.ins().icmp(IntCC::NotEqual, v, iv);
                    let ne = cx.b.ins().uextend(types::I64, ne);
                    let nn = cx.b.ins().load(types::I64, fl, nx, NEXT);
                    let v2 = cx.b.ins().load(types::I64, fl, nn, VALUE);
                    let im1 = cx.b.ins().iadd_imm_s(iv, -1);
                    let ne2 = cx.b.ins().icmp(IntCC::NotEqual, v2, im1);
                    let ne2 = cx.b.ins().uextend(types::I64, ne2);
                    let b = cx.b.use_var(bad);
                    let b2 = cx.b.ins().iadd(b, ne);
                    let b2 = cx.b.ins().iadd(b2, ne2);
                    cx.b.def_var(bad, b2);
                });
                let b = cx.b.use_var(bad);
                cx.b.ins().return_(&[b]);
                Ok(())
            }),
        )
        .unwrap();
    let t = thread::attach("main").unwrap();
    let s = t.scope();
    let holder = s.handle(Some(t.alloc(&NODE, HEADER_SIZE + 16).unwrap()));
    let first = t.alloc(&NODE, HEADER_SIZE + 16).unwrap();
    write_word(first, VALUE as usize, usize::MAX);
    // SAFETY: both live (nothing collected since they were allocated); `NEXT` is
    // the node's reference field.
    unsafe { t.write_ref(holder.obj(), NEXT as usize, Some(first)) };
    // Ballast: 200,000 live nodes, so that a marking takes long enough for the
    // loop to store into the holder while it runs (with next to nothing live,
    // ConcurrentImmix may reach its final mark at the allocation that began it).
    let ballast = s.handle(None);
    for v in 0..200_000usize {
        let n = t.alloc(&NODE, HEADER_SIZE + 16).unwrap();
        write_word(n, VALUE as usize, v);
        // SAFETY: both live; `NEXT` is the node's reference field.
        unsafe { t.write_ref(n, NEXT as usize, ballast.get()) };
        ballast.set(Some(n));
    }
    // Two collections: the holder is old (promoted, or marked old).
    t.collect();
    t.collect();
    let before = stats::snapshot();
    let k = 6_000_000u64;
    let bad = call(
        m,
        &t,
        relink,
        &[holder.obj().to_raw_address().as_usize() as u64, k],
    )[0];
    let after = stats::snapshot();
    assert_eq!(bad, 0, "reads through the old object saw a lost node");
    let last = read_ref(holder.obj(), NEXT as usize).expect("the last node");
    assert_eq!(read_word(last, VALUE as usize), k as usize - 1);
    let collections = after.collections - before.collections;
    assert!(collections > 0, "nothing collected");
    if plan == Plan::ConcurrentImmix {
        assert!(
            after.marking_cycles > before.marking_cycles,
            "no marking ran"
        );
    }
    if matches!(plan, Plan::GenCopy | Plan::GenImmix) {
        assert!(after.bytes_copied > before.bytes_copied, "nothing moved");
    }
    let mut p = ballast.get();
    for v in (0..200_000usize).rev() {
        let n = p.expect("ballast too short");
        assert_eq!(read_word(n, VALUE as usize), v);
        p = read_ref(n, NEXT as usize);
    }
    let slow = after.barrier_slow_paths - before.barrier_slow_paths;
    assert!(slow > 0, "the barrier never took its slow path");
    println!("collections={collections} slow_paths={slow}");
}

type Scenario = (&'static str, fn(Plan), &'static [Plan]);
const SCENARIOS: &[Scenario] = &[
    (
        "moving",
        scenario_moving,
        &[
            Plan::Immix,
            Plan::SemiSpace,
            Plan::StickyImmix,
            Plan::MarkSweep,
        ],
    ),
    ("threads", scenario_threads, &[Plan::Immix, Plan::SemiSpace]),
    ("backtrace", scenario_backtrace, &[Plan::Immix]),
    ("entry_poll", scenario_entry_poll, &[Plan::Immix]),
    ("reentry", scenario_reentry, &[Plan::Immix, Plan::SemiSpace]),
    ("entry_point", scenario_entry_point, &[Plan::SemiSpace]),
    ("overflow", scenario_overflow, &[Plan::Immix]),
    ("measure", scenario_measure, &[Plan::Immix]),
    ("alias_classes", scenario_alias_classes, &[Plan::Immix]),
    (
        "barrier",
        scenario_barrier,
        &[
            Plan::StickyImmix,
            Plan::GenImmix,
            Plan::GenCopy,
            Plan::ConcurrentImmix,
        ],
    ),
    (
        "compile_contention",
        scenario_compile_contention,
        &[Plan::Immix, Plan::SemiSpace],
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let plan: Plan = args[i + 2].parse().unwrap();
        let f = SCENARIOS
            .iter()
            .find(|s| s.0 == args[i + 1])
            .expect("scenario")
            .1;
        f(plan);
        return;
    }
    let filter = args.iter().skip(1).find(|a| !a.starts_with('-'));
    let exe = std::env::current_exe().unwrap();
    let (mut passed, mut failed) = (0, 0);
    for (name, _, plans) in SCENARIOS {
        for plan in *plans {
            let id = format!("{name}/{plan}");
            if filter.is_some_and(|f| !id.contains(f.as_str())) {
                continue;
            }
            let start = Instant::now();
            let out = Command::new(&exe)
                .args(["--child", name, &plan.to_string()])
                .output()
                .unwrap();
            let secs = start.elapsed().as_secs_f64();
            if out.status.success() {
                passed += 1;
                println!(
                    "test {id} ... ok ({secs:.1}s) {}",
                    String::from_utf8_lossy(&out.stdout).trim()
                );
            } else {
                failed += 1;
                println!("test {id} ... FAILED ({secs:.1}s, {})", out.status);
                println!("{}", String::from_utf8_lossy(&out.stdout));
                println!("{}", String::from_utf8_lossy(&out.stderr));
            }
        }
    }
    println!("\n{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
