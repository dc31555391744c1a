//! Substrate tests with a small test personality (lists, trees, arrays of
//! references), no JIT. MMTk allows one instance per process, so the driver runs
//! each (scenario, plan) pair in a child process of this same binary.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vmkit::gc::{self, global_roots::GlobalRoot, stats, GcOptions, Plan};
use vmkit::object::{self, ARRAY_DATA_OFFSET};
use vmkit::{
    thread, Layout, ObjectModel, ObjectReference, SlotVisitor, Thread, TypeInfo, VirtualMachine,
    HEADER_SIZE,
};

// ---------------------------------------------------------------- personality

/// `Node { value: int, next: Node }`
static NODE: TypeInfo = TypeInfo::new(
    "Node",
    Layout::Fixed {
        size: HEADER_SIZE + 16,
        ref_offsets: &[HEADER_SIZE + 8],
    },
    0,
);
const NODE_VALUE: usize = HEADER_SIZE;
const NODE_NEXT: usize = HEADER_SIZE + 8;

/// `Tree { left: Tree, right: Tree, depth: int }`
static TREE: TypeInfo = TypeInfo::new(
    "Tree",
    Layout::Fixed {
        size: HEADER_SIZE + 24,
        ref_offsets: &[HEADER_SIZE, HEADER_SIZE + 8],
    },
    1,
);
const TREE_LEFT: usize = HEADER_SIZE;
const TREE_RIGHT: usize = HEADER_SIZE + 8;
const TREE_DEPTH: usize = HEADER_SIZE + 16;

/// `[ref]`
static REFS: TypeInfo = TypeInfo::new(
    "[ref]",
    Layout::Array {
        elem_size: 8,
        elem_is_ref: true,
    },
    2,
);
/// `[int]`
static INTS: TypeInfo = TypeInfo::new(
    "[int]",
    Layout::Array {
        elem_size: 8,
        elem_is_ref: false,
    },
    3,
);

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
fn write_ref(t: &Thread, o: ObjectReference, off: usize, v: Option<ObjectReference>) {
    // SAFETY: see above; `off` is a reference field of `o`'s type.
    unsafe { t.write_ref(o, off, v) }
}
fn type_info(o: ObjectReference) -> &'static TypeInfo {
    // SAFETY: see above.
    unsafe { vmkit::object::type_info(o) }
}
fn cas_status(o: ObjectReference, old: u32, new: u32) -> Result<u32, u32> {
    // SAFETY: see above.
    unsafe { vmkit::object::cas_status(o, old, new) }
}
fn status_of(o: ObjectReference) -> u32 {
    // SAFETY: see above; the reference does not outlive the load.
    unsafe { vmkit::object::status_word(o) }.load(Ordering::Acquire)
}
fn weak_get(w: ObjectReference) -> Option<ObjectReference> {
    // SAFETY: see above; `w` is a weak reference object.
    unsafe { vmkit::gc::weak::weak_get(w) }
}

/// The test personality: one global slot, plus a per-thread root slot (its typed
/// per-thread data, `Thread::set_data`) reported through `scan_thread_roots`.
struct TestVm {
    global: AtomicUsize,
}

impl ObjectModel for TestVm {
    fn scan_globals(&self, visit: &mut SlotVisitor<'_>) {
        visit(vmkit::Address::from_ptr(self.global.as_ptr()));
    }

    fn pause_ended(&self) {
        PAUSES_ENDED.fetch_add(1, Ordering::SeqCst);
    }
}

/// Calls of [`ObjectModel::pause_ended`].
static PAUSES_ENDED: AtomicUsize = AtomicUsize::new(0);

impl VirtualMachine for TestVm {
    fn scan_thread_roots(&self, thread: &Thread, visit: &mut SlotVisitor<'_>) {
        if let Some(slot) = thread.data::<AtomicUsize>() {
            visit(vmkit::Address::from_ptr(slot.as_ptr()));
        }
    }
}

static VM: TestVm = TestVm {
    global: AtomicUsize::new(0),
};

fn new_node(t: &Thread, value: usize, next: Option<ObjectReference>) -> ObjectReference {
    let s = t.scope();
    let next = s.handle(next);
    let n = t.alloc(&NODE, HEADER_SIZE + 16).expect("out of memory");
    write_word(n, NODE_VALUE, value);
    write_ref(t, n, NODE_NEXT, next.get());
    n
}

/// A list `seed, seed+1, ..., seed+len-1`.
fn make_list(t: &Thread, seed: usize, len: usize) -> ObjectReference {
    let s = t.scope();
    let head = s.handle(None);
    for i in (0..len).rev() {
        head.set(Some(new_node(t, seed + i, head.get())));
        t.safepoint();
    }
    head.obj()
}

fn check_list(mut n: Option<ObjectReference>, seed: usize, len: usize) {
    for i in 0..len {
        let node = n.unwrap_or_else(|| panic!("list {seed} cut at {i}"));
        assert!(std::ptr::eq(type_info(node), &NODE), "not a node");
        assert_eq!(
            read_word(node, NODE_VALUE),
            seed + i,
            "list {seed} element {i}"
        );
        n = read_ref(node, NODE_NEXT);
    }
    assert!(n.is_none(), "list {seed} too long");
}

fn make_tree(t: &Thread, depth: usize) -> ObjectReference {
    let s = t.scope();
    let (l, r) = if depth == 0 {
        (s.handle(None), s.handle(None))
    } else {
        let l = s.handle(Some(make_tree(t, depth - 1)));
        (l, s.handle(Some(make_tree(t, depth - 1))))
    };
    let n = t.alloc(&TREE, HEADER_SIZE + 24).expect("out of memory");
    write_ref(t, n, TREE_LEFT, l.get());
    write_ref(t, n, TREE_RIGHT, r.get());
    write_word(n, TREE_DEPTH, depth);
    n
}

fn check_tree(n: ObjectReference, depth: usize) -> usize {
    assert_eq!(read_word(n, TREE_DEPTH), depth);
    match (read_ref(n, TREE_LEFT), read_ref(n, TREE_RIGHT)) {
        (Some(l), Some(r)) => 1 + check_tree(l, depth - 1) + check_tree(r, depth - 1),
        (None, None) => {
            assert_eq!(depth, 0);
            1
        }
        _ => panic!("half a tree"),
    }
}

fn array_slot(i: usize) -> usize {
    ARRAY_DATA_OFFSET + 8 * i
}

fn options(plan: Plan, heap: usize) -> GcOptions {
    let o = GcOptions {
        plan,
        heap_size: heap,
        gc_threads: Some(2),
        ..GcOptions::default()
    };
    if plan == Plan::Immix {
        o.force_moving()
    } else {
        o
    }
}

/// NoGC never frees: it gets a heap large enough for each scenario's total
/// allocation (memory is reserved lazily).
fn init(plan: Plan, heap: usize) {
    let heap = if plan == Plan::NoGC {
        heap.max(1 << 30)
    } else {
        heap
    };
    vmkit::vm::init(&VM, &options(plan, heap)).expect("init");
}

/// Collections expected of a scenario that allocates well beyond its heap.
fn assert_collected(plan: Plan, at_least: u64) {
    let n = stats::snapshot().collections;
    if plan == Plan::NoGC {
        assert_eq!(n, 0, "NoGC collected");
    } else {
        assert!(n >= at_least, "only {n} collections");
    }
}

// ---------------------------------------------------------------- scenarios

/// Lists, trees and arrays of references, kept in handles, a global, a thread root
/// and a global handle, while allocating many times the heap; every value checked
/// after objects moved.
fn scenario_structures(plan: Plan) {
    const HEAP: usize = 24 << 20;
    init(plan, HEAP);
    let t = thread::attach("main").unwrap();
    let s = t.scope();
    let list = s.handle(Some(make_list(&t, 1000, 2000)));
    let tree = s.handle(Some(make_tree(&t, 12)));
    let arr = s.handle(Some(t.alloc_array(&REFS, 64).unwrap()));
    for i in 0..64 {
        let l = make_list(&t, i * 100, 50);
        write_ref(&t, arr.obj(), array_slot(i), Some(l));
    }
    // An array filled only by `copy_fields`, from young arrays and from itself
    // (overlapping): after the collection below it is old, so under a
    // generational plan its young referents live only if the copy logged it.
    let copied = s.handle(Some(t.alloc_array(&REFS, 64).unwrap()));
    let mut copied_seeds = vec![None::<usize>; 64];
    let ints = s.handle(Some(t.alloc_array(&INTS, 1000).unwrap()));
    for i in 0..1000 {
        write_word(ints.obj(), array_slot(i), i * i);
    }
    VM.global.store(
        make_list(&t, 7, 300).to_raw_address().as_usize(),
        Ordering::SeqCst,
    );
    let slot = AtomicUsize::new(make_list(&t, 9, 300).to_raw_address().as_usize());
    assert!(t.set_data(slot).is_ok());
    assert!(t.set_data(AtomicUsize::new(0)).is_err(), "data is set once");
    assert!(t.data::<u32>().is_none(), "data of another type");
    // The interpreter root stack: a reference between two integers, one of them
    // the very address of an object (it must be left alone).
    let decoy = make_list(&t, 5, 10);
    {
        // SAFETY: this thread's own root stack, one reference at a time.
        let rs = unsafe { t.root_stack() };
        rs.push(decoy.to_raw_address().as_usize() as u64, false);
        rs.push(
            make_list(&t, 11, 300).to_raw_address().as_usize() as u64,
            true,
        );
        rs.push(12_345, false);
    }
    let decoy_word = decoy.to_raw_address().as_usize() as u64;
    let groot = GlobalRoot::new(Some(make_tree(&t, 8)));

    let before = list.obj();
    t.collect();
    let moved_list = list.obj() != before;

    // Churn: allocate ~20x the heap in short-lived lists and trees, replacing some
    // array elements (old-to-young stores exercise the write barrier).
    let mut allocated = 0usize;
    let mut round = 0usize;
    while allocated < 20 * HEAP {
        let garbage = make_list(&t, round, 500);
        allocated += 500 * (HEADER_SIZE + 16);
        if round.is_multiple_of(7) {
            let i = round % 64;
            let l = make_list(&t, i * 100, 50);
            write_ref(&t, arr.obj(), array_slot(i), Some(l));
            allocated += 50 * (HEADER_SIZE + 16);
        }
        if round.is_multiple_of(11) {
            let at = (round / 11) % 57;
            let inner = t.scope();
            let fresh = inner.handle(Some(t.alloc_array(&REFS, 8).unwrap()));
            for j in 0..8 {
                let l = make_list(&t, 5000 + round + j, 20);
                write_ref(&t, fresh.obj(), array_slot(j), Some(l));
            }
            // SAFETY: slots `at..at + 8` of a 64-slot reference array, from
            // the 8 slots of another, all references to live lists.
            unsafe { t.copy_fields(copied.obj(), array_slot(at), fresh.obj(), array_slot(0), 8) };
            for j in 0..8 {
                copied_seeds[at + j] = Some(5000 + round + j);
            }
            if round.is_multiple_of(33) {
                // Within the array, overlapping: slots 0..8 move up to 3..11.
                // SAFETY: as above, one array for both ranges.
                unsafe {
                    t.copy_fields(copied.obj(), array_slot(3), copied.obj(), array_slot(0), 8)
                };
                copied_seeds.copy_within(0..8, 3);
            }
            allocated += 8 * 20 * (HEADER_SIZE + 16);
        }
        if round.is_multiple_of(50) {
            check_tree(make_tree(&t, 6), 6);
            allocated += 127 * (HEADER_SIZE + 24);
        }
        let _ = garbage;
        round += 1;
    }
    t.collect();

    check_list(list.get(), 1000, 2000);
    assert_eq!(check_tree(tree.obj(), 12), (1 << 13) - 1);
    for i in 0..64 {
        check_list(read_ref(arr.obj(), array_slot(i)), i * 100, 50);
    }
    for (i, seed) in copied_seeds.iter().enumerate() {
        match seed {
            Some(seed) => check_list(read_ref(copied.obj(), array_slot(i)), *seed, 20),
            None => assert_eq!(read_ref(copied.obj(), array_slot(i)), None),
        }
    }
    assert!(
        copied_seeds.iter().all(Option::is_some),
        "every slot was copied into"
    );
    for i in 0..1000 {
        assert_eq!(read_word(ints.obj(), array_slot(i)), i * i);
    }
    check_list(
        object::word_to_ref(VM.global.load(Ordering::SeqCst)),
        7,
        300,
    );
    let slot = t.data::<AtomicUsize>().expect("data");
    check_list(object::word_to_ref(slot.load(Ordering::SeqCst)), 9, 300);
    {
        // SAFETY: as above.
        let rs = unsafe { t.root_stack() };
        assert_eq!(rs.len(), 3);
        assert_eq!(rs.words[0], decoy_word, "a non-reference word was changed");
        check_list(object::word_to_ref(rs.words[1] as usize), 11, 300);
        assert_eq!(rs.words[2], 12_345);
        rs.truncate(0);
    }
    assert_eq!(check_tree(groot.get().unwrap(), 8), (1 << 9) - 1);
    groot.release();

    let st = stats::snapshot();
    assert_collected(plan, 10);
    // Every pause (`collections` counts pauses) ended with the hook, once,
    // before the mutators resumed.
    let ended = PAUSES_ENDED.load(Ordering::SeqCst) as u64;
    assert_eq!(ended, st.collections, "pause_ended calls");
    if plan == Plan::SemiSpace {
        assert!(moved_list, "SemiSpace did not move a rooted object");
    }
    if matches!(plan, Plan::SemiSpace | Plan::Immix) {
        assert!(
            st.bytes_copied > 1 << 20,
            "only {} bytes copied",
            st.bytes_copied
        );
    }
    println!(
        "collections={} copied={} moved_list={moved_list}",
        st.collections, st.bytes_copied
    );
}

/// Four threads allocate and mutate a shared array of lists (under a lock taken in
/// native state), while a fifth sits in native code holding handles the whole time;
/// threads come and go in several rounds.
fn scenario_threads(plan: Plan) {
    const HEAP: usize = 32 << 20;
    const SLOTS: usize = 32;
    const LEN: usize = 40;
    init(plan, HEAP);
    let main = thread::attach("main").unwrap();
    let shared = Arc::new(GlobalRoot::new(Some(
        main.alloc_array(&REFS, SLOTS).unwrap(),
    )));
    for i in 0..SLOTS {
        let l = make_list(&main, i * 1000, LEN);
        write_ref(&main, shared.get().unwrap(), array_slot(i), Some(l));
    }
    let lock = Arc::new(parking_lot::Mutex::new(()));
    let stop_native = Arc::new(std::sync::atomic::AtomicBool::new(false));

    // The native sitter: builds a structure, then blocks in native code until the
    // end, and checks its structure after objects moved around it.
    let sitter = {
        let stop = stop_native.clone();
        std::thread::spawn(move || {
            let t = thread::attach("sitter").unwrap();
            let s = t.scope();
            let mine = s.handle(Some(make_list(&t, 424242, 1000)));
            let before = mine.obj();
            t.native(|| {
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(2));
                }
            });
            check_list(mine.get(), 424242, 1000);
            mine.obj() != before
        })
    };

    main.native(|| {
        for round in 0..4 {
            let workers: Vec<_> = (0..4)
                .map(|w| {
                    let shared = shared.clone();
                    let lock = lock.clone();
                    std::thread::spawn(move || {
                        let t = thread::attach(&format!("worker-{round}-{w}")).unwrap();
                        let mut rng = (w as u64 + 1) * 0x9E37_79B9_7F4A_7C15 + round as u64;
                        for iter in 0..1500 {
                            rng ^= rng << 13;
                            rng ^= rng >> 7;
                            rng ^= rng << 17;
                            let slot = (rng % SLOTS as u64) as usize;
                            // Build the replacement outside the lock (allocates, may GC).
                            let s = t.scope();
                            let fresh = s.handle(Some(make_list(&t, slot * 1000, LEN)));
                            let _garbage = make_list(&t, iter, 100);
                            let guard = t.native(|| lock.lock());
                            let arr = shared.get().unwrap();
                            check_list(read_ref(arr, array_slot(slot)), slot * 1000, LEN);
                            write_ref(&t, arr, array_slot(slot), fresh.get());
                            drop(guard);
                            if iter.is_multiple_of(500) {
                                t.collect();
                            }
                        }
                    })
                })
                .collect();
            for w in workers {
                w.join().expect("worker panicked");
            }
        }
    });
    stop_native.store(true, Ordering::SeqCst);
    let sitter_moved = main.native(|| sitter.join().expect("sitter panicked"));
    for i in 0..SLOTS {
        check_list(
            read_ref(shared.get().unwrap(), array_slot(i)),
            i * 1000,
            LEN,
        );
    }
    let st = stats::snapshot();
    assert_collected(plan, 8);
    if plan == Plan::SemiSpace {
        assert!(sitter_moved, "the native thread's objects never moved");
    }
    println!(
        "collections={} copied={} sitter_moved={sitter_moved} max_ttsp={:?} max_pause={:?}",
        st.collections, st.bytes_copied, st.ttsp_max, st.pause_max
    );
}

/// Exhausting the heap is an error returned to the caller, after which the program
/// drops its data and allocates again.
fn scenario_oom(plan: Plan) {
    vmkit::vm::init(&VM, &options(plan, 8 << 20)).expect("init");
    let t = thread::attach("main").unwrap();
    let s = t.scope();
    let keep = s.handle(None);
    let start = Instant::now();
    let mut n = 0usize;
    let err = loop {
        match t.alloc(&NODE, HEADER_SIZE + 16) {
            Ok(node) => {
                write_word(node, NODE_VALUE, n);
                write_ref(&t, node, NODE_NEXT, keep.get());
                keep.set(Some(node));
                n += 1;
            }
            Err(e) => break e,
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no OOM after {n} nodes"
        );
    };
    assert_eq!(err.requested, HEADER_SIZE + 16);
    assert!(n > 50_000, "OOM too early, after {n} nodes");
    // The retained list is intact.
    let mut cur = keep.get();
    for i in (0..n).rev() {
        let node = cur.unwrap();
        assert_eq!(read_word(node, NODE_VALUE), i);
        cur = read_ref(node, NODE_NEXT);
    }
    // A too-large request fails without collecting everything away.
    assert!(t.alloc_array(&INTS, 1 << 40).is_err());
    // Let go, and allocation works again (NoGC never reclaims: it stays full).
    keep.set(None);
    if plan == Plan::NoGC {
        assert!(t.alloc(&NODE, HEADER_SIZE + 16).is_err());
        println!("oom after {n} nodes (NoGC stays full): {err}");
        return;
    }
    let l = make_list(&t, 5, 10_000);
    check_list(Some(l), 5, 10_000);
    println!("oom after {n} nodes: {err}");
}

/// The growing heap: starts at 4 MiB, grows past it to hold a 9.6 MB live list,
/// reports exhaustion at its 48 MiB maximum, and shrinks again once the list dies.
fn scenario_growing(plan: Plan) {
    if plan == Plan::NoGC {
        // NoGC never collects, so the heap is never resized: nothing to test.
        println!("NoGC: fixed heap only");
        return;
    }
    let o = GcOptions {
        min_heap_size: Some(4 << 20),
        ..options(plan, 48 << 20)
    };
    vmkit::vm::init(&VM, &o).expect("init");
    assert_eq!(gc::trigger::current_heap_size(), Some(4 << 20));
    let t = thread::attach("main").unwrap();
    let s = t.scope();
    let keep = s.handle(None);
    let grow = |n: usize, keep: &vmkit::Handle<'_>| -> Result<(), vmkit::OutOfMemory> {
        for i in 0..n {
            let node = t.alloc(&NODE, HEADER_SIZE + 16)?;
            write_word(node, NODE_VALUE, i);
            write_ref(&t, node, NODE_NEXT, keep.get());
            keep.set(Some(node));
        }
        Ok(())
    };
    // 400k nodes of 24 bytes: 9.6 MB live.
    grow(400_000, &keep).expect("the heap must grow to hold 9.6 MB");
    let grown = gc::trigger::current_heap_size().unwrap();
    assert!(grown > 4 << 20, "the heap did not grow: {grown}");
    let mut cur = keep.get();
    for i in (0..400_000).rev() {
        let node = cur.unwrap();
        assert_eq!(read_word(node, NODE_VALUE), i);
        cur = read_ref(node, NODE_NEXT);
    }
    // Retain until exhaustion: the maximum holds.
    let err = grow(10_000_000, &keep).expect_err("no OOM at the 48 MiB maximum");
    assert_eq!(err.requested, HEADER_SIZE + 16);
    assert!(gc::trigger::peak_heap_size().unwrap() <= 48 << 20);
    // Let go: allocation works again and the heap shrinks back.
    keep.set(None);
    for _ in 0..3 {
        t.collect();
    }
    let shrunk = gc::trigger::current_heap_size().unwrap();
    assert!(
        shrunk < grown,
        "the heap did not shrink: {shrunk} >= {grown}"
    );
    let l = make_list(&t, 5, 10_000);
    check_list(Some(l), 5, 10_000);
    // The address space MMTk reserved (its spaces, and about 15 TiB for the
    // side metadata) is recorded in a few state tables, not one per 32 GiB of
    // it: a few spaces and their mapped metadata touch a few slabs.
    let tables = gc::address_space_tables();
    assert!(
        (1..=24).contains(&tables),
        "{tables} address-space state tables (8 KiB each)"
    );
    println!(
        "grew to {} KiB for 12.8 MB live, peak {} KiB, OOM at the maximum, shrank to {} KiB, {tables} address-space state tables",
        grown >> 10,
        gc::trigger::peak_heap_size().unwrap() >> 10,
        shrunk >> 10
    );
}

/// Large (non-moving, large-object-space) arrays rooted in handles and pointing to
/// young objects, through many nursery collections: the shape of mmtk-core issue
/// 1560, which frees rooted non-moving objects in GenImmix/GenCopy nursery GCs.
fn scenario_large(plan: Plan) {
    init(plan, 32 << 20);
    let t = thread::attach("main").unwrap();
    let s = t.scope();
    const N: usize = 20_000;
    let bigs: Vec<_> = (0..4)
        .map(|_| s.handle(Some(t.alloc_array(&REFS, N).unwrap())))
        .collect();
    let ints = s.handle(Some(t.alloc_array(&INTS, N).unwrap()));
    for i in 0..N {
        write_word(ints.obj(), array_slot(i), 7 * i);
    }
    for round in 0..40 {
        for (b, big) in bigs.iter().enumerate() {
            for i in (round % 10..N).step_by(10) {
                let l = new_node(&t, b * 1_000_000 + i, None);
                write_ref(&t, big.obj(), array_slot(i), Some(l));
            }
        }
        // Garbage to drive nursery collections.
        for k in 0..4000 {
            make_list(&t, k, 20);
        }
        // Fresh large objects that die young. The runtime does not zero them
        // itself (MMTk zeroes large-object pages): each must read as zeros though
        // the previous round's, now dead, was filled with garbage.
        let fresh = t.alloc_array(&INTS, N).unwrap();
        for i in 0..N {
            assert_eq!(
                read_word(fresh, array_slot(i)),
                0,
                "round {round}: fresh large array not zeroed at {i}"
            );
            write_word(fresh, array_slot(i), usize::MAX - i);
        }
    }
    for (b, big) in bigs.iter().enumerate() {
        for i in 0..N {
            let node = read_ref(big.obj(), array_slot(i)).expect("lost element");
            assert_eq!(
                read_word(node, NODE_VALUE),
                b * 1_000_000 + i,
                "big {b} element {i}"
            );
        }
    }
    for i in 0..N {
        assert_eq!(read_word(ints.obj(), array_slot(i)), 7 * i);
    }
    let st = stats::snapshot();
    assert_collected(plan, 2);
    // 45 large arrays of N words, counted by the attached thread.
    assert!(
        st.bytes_allocated >= 45 * (N * 8) as u64,
        "bytes allocated {}",
        st.bytes_allocated
    );
    println!("collections={} copied={}", st.collections, st.bytes_copied);
}

/// `gc::start`: MMTk comes up on a helper thread while threads attach and run;
/// their first allocations wait for it. Four threads then build lists that must
/// survive (moving) collections; a fifth attaches and leaves without allocating.
fn scenario_background(plan: Plan) {
    let heap = if plan == Plan::NoGC {
        1 << 30
    } else {
        24 << 20
    };
    vmkit::vm::start(&VM, &options(plan, heap)).expect("start");
    assert!(gc::is_initialized());
    let ready_at_start = gc::is_heap_ready();
    assert_eq!(
        vmkit::vm::start(&VM, &options(plan, heap)),
        Err(gc::InitError::AlreadyInitialized)
    );
    let idle = std::thread::spawn(|| drop(thread::attach("idle").unwrap()));
    let go = Arc::new(std::sync::Barrier::new(4));
    let workers: Vec<_> = (0..4)
        .map(|k| {
            let go = go.clone();
            std::thread::spawn(move || {
                let t = thread::attach(&format!("worker{k}")).unwrap();
                go.wait();
                let s = t.scope();
                let keep = s.handle(Some(make_list(&t, k * 100_000, 1000)));
                for r in 0..150 {
                    make_list(&t, r, 2000);
                }
                check_list(keep.get(), k * 100_000, 1000);
            })
        })
        .collect();
    idle.join().expect("idle thread");
    for w in workers {
        w.join().expect("worker");
    }
    assert!(gc::is_heap_ready());
    assert_collected(plan, 1);
    let st = stats::snapshot();
    println!(
        "heap ready at start: {ready_at_start}; collections={} copied={}",
        st.collections, st.bytes_copied
    );
}

/// `gc::start` with early objects on (a heap of 64 MiB, the smallest with an
/// early region; 1 GiB under NoGC).
fn start_with_early_objects(plan: Plan) {
    let heap = if plan == Plan::NoGC {
        1 << 30
    } else {
        64 << 20
    };
    let opts = GcOptions {
        early_objects: true,
        ..options(plan, heap)
    };
    vmkit::vm::start(&VM, &opts).expect("start");
}

/// Objects allocated before the heap is up (held back with
/// `gc::hold_heap_start`) live in the early region: they survive every
/// collection, the heap objects stored in them later are kept alive and followed
/// when they move (nursery and full collections), and a weak reference to one
/// stays set.
fn scenario_early(plan: Plan) {
    const N: usize = 64;
    let gate = gc::hold_heap_start();
    start_with_early_objects(plan);
    let t = thread::attach("main").unwrap();
    let s = t.scope();
    // Before the heap: a list, an array that will hold heap lists, an int array.
    let early_list = s.handle(Some(make_list(&t, 7_000, 100)));
    let holder = s.handle(Some(t.alloc_array(&REFS, N).unwrap()));
    let ints = s.handle(Some(t.alloc_array(&INTS, N).unwrap()));
    for i in 0..N {
        write_word(ints.obj(), array_slot(i), i * 3);
    }
    assert!(!gc::is_heap_ready(), "the heap came up while held");
    assert_eq!(gc::early::allocated().0, 102, "early objects");
    // Only the early objects reference each other: drop the handle to the list
    // and keep it through the array.
    write_ref(&t, holder.obj(), array_slot(0), early_list.get());
    early_list.set(None);
    // Another thread fills the region, then waits for the heap in the middle of
    // building its list.
    let (full_tx, full_rx) = std::sync::mpsc::channel();
    let filler = std::thread::spawn(move || {
        let t = thread::attach("filler").unwrap();
        let s = t.scope();
        let list = s.handle(None);
        let mut n = 0;
        while gc::early::allocated().1 + HEADER_SIZE + 16 <= gc::early::CAPACITY {
            list.set(Some(new_node(&t, n, list.get())));
            n += 1;
        }
        full_tx.send(()).unwrap();
        for _ in 0..5_000 {
            list.set(Some(new_node(&t, n, list.get())));
            n += 1;
        }
        for k in 0..5_000 {
            make_list(&t, k, 50);
        }
        // Newest first: values n-1 down to 0.
        let mut node = list.get();
        for v in (0..n).rev() {
            let o = node.expect("filler list too short");
            assert_eq!(read_word(o, NODE_VALUE), v, "filler list corrupted");
            node = read_ref(o, NODE_NEXT);
        }
        assert!(node.is_none());
        n
    });
    full_rx.recv().unwrap();
    assert!(!gc::is_heap_ready(), "the heap came up while held");
    let (objects, bytes) = gc::early::allocated();
    assert!(
        bytes + HEADER_SIZE + 16 > gc::early::CAPACITY,
        "region not full: {bytes}"
    );
    drop(gate);
    gc::wait_heap_ready();
    // Heap objects stored into the early array (no barrier needed: early objects
    // are roots), young ones included.
    let w = t
        .new_weak_ref(read_ref(holder.obj(), array_slot(0)))
        .unwrap();
    let weak_h = s.handle(Some(w));
    for i in 1..N {
        let l = make_list(&t, i * 1000, 20);
        write_ref(&t, holder.obj(), array_slot(i), Some(l));
    }
    for k in 0..40_000 {
        let l = make_list(&t, k, 50);
        if k % 5_000 == 0 {
            // A fresh list replaces an old one in the early array.
            let i = 1 + (k / 5_000) % (N - 1);
            write_ref(&t, holder.obj(), array_slot(i), Some(l));
            check_list(Some(l), k, 50);
            write_ref(
                &t,
                holder.obj(),
                array_slot(i),
                Some(make_list(&t, i * 1000, 20)),
            );
        }
    }
    t.collect();
    t.collect();
    check_list(read_ref(holder.obj(), array_slot(0)), 7_000, 100);
    for i in 1..N {
        check_list(read_ref(holder.obj(), array_slot(i)), i * 1000, 20);
        assert_eq!(read_word(ints.obj(), array_slot(i)), i * 3);
    }
    assert_eq!(
        weak_get(weak_h.obj()),
        read_ref(holder.obj(), array_slot(0)),
        "weak reference to an early object cleared"
    );
    assert_eq!(
        gc::early::allocated().0,
        objects,
        "early allocation after the heap was up"
    );
    let filled = filler.join().expect("filler thread");
    assert!(filled > objects - 102, "filler built {filled} nodes");
    assert_collected(plan, 2);
    let st = stats::snapshot();
    if matches!(plan, Plan::SemiSpace | Plan::GenCopy | Plan::Immix) {
        assert!(st.bytes_copied > 0, "nothing moved");
    }
    println!(
        "early objects {objects} ({bytes} bytes); collections={} copied={}",
        st.collections, st.bytes_copied
    );
}

/// `gc::start` with early objects defers MMTk's start until the heap is wanted:
/// a thread that allocates a little never starts it; allocating past an eighth of
/// the early region does, without filling the region or waiting; the early list
/// then survives collections of the heap.
fn scenario_lazy(plan: Plan) {
    start_with_early_objects(plan);
    let t = thread::attach("main").unwrap();
    let s = t.scope();
    let list = s.handle(Some(make_list(&t, 0, 100)));
    std::thread::sleep(Duration::from_millis(200));
    assert!(!gc::is_heap_ready(), "MMTk started while nothing needed it");
    let mut n = 100;
    while gc::early::allocated().1 <= gc::early::CAPACITY / 8 {
        list.set(Some(new_node(&t, n, list.get())));
        n += 1;
    }
    // Nothing here asks for the heap: it comes up on its own.
    let start = Instant::now();
    while !gc::is_heap_ready() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "MMTk did not start past an eighth of the early region"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let (objects, bytes) = gc::early::allocated();
    assert_eq!(objects, n, "every node so far is an early object");
    assert!(bytes < gc::early::CAPACITY / 4, "{bytes} early bytes");
    for k in 0..20_000 {
        make_list(&t, k, 50);
    }
    t.collect();
    assert_eq!(
        gc::early::allocated().0,
        n,
        "early allocation after the heap was up"
    );
    // Newest first: n-1 down to 100, then the first list (0..100).
    let mut node = list.get();
    for v in (100..n).rev() {
        let o = node.expect("list too short");
        assert_eq!(read_word(o, NODE_VALUE), v, "early list corrupted");
        node = read_ref(o, NODE_NEXT);
    }
    check_list(node, 0, 100);
    assert_collected(plan, 1);
    println!("early objects {objects} ({bytes} bytes) before MMTk started");
}

/// The one-word header: the type id and the status word (a personality's lock
/// word) survive moving collections, and the old copy's header, which held the
/// forwarding pointer, is not what the program sees. Then the type table: past
/// [`object::MAX_TYPES`] types, allocating an object of a new type fails with
/// OutOfMemory (no panic), and known types still allocate.
fn scenario_header(plan: Plan) {
    const N: usize = 20_000;
    init(plan, 24 << 20);
    let t = thread::attach("main").unwrap();
    let s = t.scope();
    let arr = s.handle(Some(t.alloc_array(&REFS, N).unwrap()));
    for i in 0..N {
        let o = if i % 2 == 0 {
            new_node(&t, i, None)
        } else {
            t.alloc(&TREE, HEADER_SIZE + 24).unwrap()
        };
        let status = (i as u32).wrapping_mul(2_654_435_761) | 1;
        assert_eq!(cas_status(o, 0, status), Ok(0));
        write_ref(&t, arr.obj(), array_slot(i), Some(o));
    }
    // Garbage in between, then a collection that moves every object (SemiSpace,
    // GenCopy, and Immix with forced defragmentation).
    for k in 0..2_000 {
        make_list(&t, k, 100);
    }
    let addr = |i| read_ref(arr.obj(), array_slot(i)).map(|o| o.to_raw_address().as_usize());
    let before: Vec<_> = (0..N).map(addr).collect();
    t.collect();
    let mut moved = 0;
    for (i, &was) in before.iter().enumerate() {
        let o = read_ref(arr.obj(), array_slot(i)).expect("lost object");
        moved += usize::from(Some(o.to_raw_address().as_usize()) != was);
        let want: &TypeInfo = if i % 2 == 0 { &NODE } else { &TREE };
        assert!(
            std::ptr::eq(type_info(o), want),
            "object {i}: type {}",
            type_info(o).name
        );
        let status = (i as u32).wrapping_mul(2_654_435_761) | 1;
        assert_eq!(status_of(o), status, "object {i}: status word");
        if i % 2 == 0 {
            assert_eq!(read_word(o, NODE_VALUE), i);
        }
    }
    if matches!(plan, Plan::SemiSpace | Plan::GenCopy | Plan::Immix) {
        assert_eq!(moved, N, "only {moved} of {N} objects moved");
    }
    if plan == Plan::Immix {
        // Fill the type table (one process is enough: it is plan-independent).
        let fixed = Layout::Fixed {
            size: HEADER_SIZE + 8,
            ref_offsets: &[],
        };
        let mut registered = 0;
        loop {
            let ti = TypeInfo::leak("Filler", fixed, 0);
            if ti.header().is_none() {
                let err = t
                    .alloc(ti, HEADER_SIZE + 8)
                    .expect_err("a type past the table");
                assert_eq!(err.requested, HEADER_SIZE + 8);
                break;
            }
            registered += 1;
            assert!(registered < object::MAX_TYPES, "the type table never fills");
        }
        assert!(registered > object::MAX_TYPES - 100, "{registered} types");
        check_list(Some(make_list(&t, 7, 1000)), 7, 1000);
    }
    println!("{moved} of {N} objects moved");
}

// ---------------------------------------------------------------- driver

type Scenario = (&'static str, fn(Plan));
const SCENARIOS: &[Scenario] = &[
    ("structures", scenario_structures),
    ("threads", scenario_threads),
    ("oom", scenario_oom),
    ("growing", scenario_growing),
    ("large", scenario_large),
    ("background", scenario_background),
    ("early", scenario_early),
    ("lazy", scenario_lazy),
    ("weak", scenario_weak),
    ("stress", scenario_stress),
    ("rejected", scenario_rejected),
    ("header", scenario_header),
    ("spawn", scenario_spawn),
];

/// Managed threads (`thread::spawn`): each gets a list (a value argument, rooted
/// while the thread starts and updated if a collection moves it) and an integer
/// word, and reports back through `finish`; a body that panics is reported as a
/// death, not lost.
fn scenario_spawn(plan: Plan) {
    use vmkit::thread::{spawn, SpawnArg};
    init(plan, 32 << 20);
    let t = thread::attach("main").unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    const N: usize = 24;
    for i in 0..N {
        let list = make_list(&t, i * 100, 50);
        let arg = list.to_raw_address().as_usize() as u64;
        let tx = tx.clone();
        spawn(
            &format!("worker-{i}"),
            None,
            vec![SpawnArg::Value(arg), SpawnArg::Word(i as u64 * 7)],
            move |t, words| {
                if i == N - 1 {
                    panic!("worker {i} fails on purpose");
                }
                let list = vmkit::object::word_to_ref(words[0] as usize);
                // A collection here moves the list under the worker's handle.
                let s = t.scope();
                let h = s.handle(list);
                t.collect();
                check_list(h.get(), i * 100, 50);
                (words[1], h.get().is_some())
            },
            move |outcome| tx.send((i, outcome)).expect("the parent waits"),
        )
        .expect("the OS starts the thread");
        // The new thread may still be starting: this collection moves its list
        // while only the spawn's root holds it.
        t.collect();
    }
    drop(tx);
    let mut seen = 0;
    t.native(|| {
        for (i, outcome) in rx.iter() {
            seen += 1;
            match outcome {
                Ok((word, had_list)) => {
                    assert!(i < N - 1, "worker {i} should have died");
                    assert_eq!(word, i as u64 * 7, "worker {i}'s word argument");
                    assert!(had_list);
                }
                Err(died) => {
                    assert_eq!(i, N - 1, "worker {i} died: {died}");
                    assert!(died.reason.contains("fails on purpose"), "{died}");
                }
            }
        }
    });
    assert_eq!(seen, N, "every worker reported");
    assert_collected(plan, N as u64);
    let st = stats::snapshot();
    if plan == Plan::SemiSpace {
        assert!(st.bytes_copied > 0, "nothing moved");
    }
    println!("collections={} copied={}", st.collections, st.bytes_copied);
}
/// Weak references are cleared when their referent dies and follow it when it
/// moves; finalizable objects are queued, intact, once unreachable; under every
/// plan (nursery collections included).
/// A personality's weak table (`gc::weak::register_weak_processor`): list
/// addresses, 0 for a list the collector dropped.
static WEAK_SET: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());

fn process_weak_set(now: &dyn Fn(ObjectReference) -> Option<ObjectReference>) {
    for a in WEAK_SET.lock().unwrap().iter_mut() {
        if let Some(o) = vmkit::object::word_to_ref(*a) {
            *a = now(o).map_or(0, |n| n.to_raw_address().as_usize());
        }
    }
}

fn scenario_weak(plan: Plan) {
    use vmkit::gc::weak;
    init(plan, 32 << 20);
    weak::register_weak_processor(process_weak_set);
    let t = thread::attach("main").unwrap();
    let s = t.scope();
    const N: usize = 200;
    let keep = s.handle(Some(t.alloc_array(&REFS, N).unwrap()));
    let weaks = s.handle(Some(t.alloc_array(&REFS, N).unwrap()));
    for i in 0..N {
        let l = make_list(&t, i * 10, 5);
        if i % 2 == 0 {
            write_ref(&t, keep.obj(), array_slot(i), Some(l));
        }
        let w = t.new_weak_ref(Some(l)).unwrap();
        write_ref(&t, weaks.obj(), array_slot(i), Some(w));
        // (No safepoint between here and the allocation above.)
        let l = read_ref(w, weak::WEAK_REFERENT_OFFSET).unwrap();
        WEAK_SET.lock().unwrap().push(l.to_raw_address().as_usize());
    }
    // Finalizable: odd ones unreachable, even ones kept.
    let fin_keep = s.handle(Some(t.alloc_array(&REFS, N).unwrap()));
    for i in 0..N {
        let l = make_list(&t, 1_000_000 + i * 10, 3);
        weak::register_finalizer(l);
        if i % 2 == 0 {
            write_ref(&t, fin_keep.obj(), array_slot(i), Some(l));
        }
    }
    // Churn through nursery and full collections.
    for k in 0..60_000 {
        make_list(&t, k, 50);
    }
    t.collect();
    t.collect();
    for i in 0..N {
        let w = read_ref(weaks.obj(), array_slot(i)).unwrap();
        let referent = weak_get(w);
        if i % 2 == 0 {
            let kept = read_ref(keep.obj(), array_slot(i));
            assert_eq!(referent, kept, "weak ref {i} does not follow its referent");
            check_list(referent, i * 10, 5);
        } else if plan != Plan::NoGC {
            assert!(
                referent.is_none(),
                "weak ref {i} to a dead list not cleared"
            );
        }
    }
    // The registered set: kept lists at their (possibly new) addresses, dead
    // ones dropped.
    let set = WEAK_SET.lock().unwrap().clone();
    for (i, &a) in set.iter().enumerate() {
        if i % 2 == 0 {
            let kept = read_ref(keep.obj(), array_slot(i)).unwrap();
            assert_eq!(a, kept.to_raw_address().as_usize(), "set entry {i}");
        } else if plan != Plan::NoGC {
            assert_eq!(a, 0, "set entry {i} of a dead list not dropped");
        }
    }
    let mut finalized = Vec::new();
    while let Some(o) = weak::take_finalizable() {
        let v = read_word(o, NODE_VALUE);
        let i = (v - 1_000_000) / 10;
        check_list(Some(o), v, 3);
        finalized.push(i);
    }
    finalized.sort();
    if plan == Plan::NoGC {
        assert!(finalized.is_empty());
    } else {
        let odd: Vec<usize> = (0..N).filter(|i| i % 2 == 1).collect();
        assert_eq!(finalized, odd, "wrong set of finalized objects");
    }
    // Taken objects are ordinary objects again; finalizers run once.
    t.collect();
    assert!(weak::take_finalizable().is_none());
    let st = stats::snapshot();
    println!(
        "finalized={} collections={} copied={}",
        finalized.len(),
        st.collections,
        st.bytes_copied
    );
}

/// Stress mode: a collection before every allocation; structures built across
/// hundreds of collections stay intact.
fn scenario_stress(plan: Plan) {
    let o = GcOptions {
        stress_gc: true,
        ..options(plan, 32 << 20)
    };
    vmkit::vm::init(&VM, &o).expect("init");
    let t = thread::attach("main").unwrap();
    let s = t.scope();
    let l = s.handle(Some(make_list(&t, 3, 200)));
    let tree = s.handle(Some(make_tree(&t, 5)));
    check_list(l.get(), 3, 200);
    assert_eq!(check_tree(tree.obj(), 5), 63);
    assert_collected(plan, 263);
    println!("collections={}", stats::snapshot().collections);
}

/// Plans the substrate refuses must be refused with their reason, not crash.
fn scenario_rejected(plan: Plan) {
    match vmkit::vm::init(&VM, &options(plan, 32 << 20)) {
        Err(gc::InitError::UnsupportedPlan(p, why)) => {
            assert_eq!(p, plan);
            assert!(!why.is_empty());
            println!("rejected: {why}");
        }
        other => panic!("{plan} was not rejected: {other:?}"),
    }
}

/// How long one scenario may run before the driver kills it (a deadlock must
/// fail the test, not hang CI).
const CHILD_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs one (scenario, plan) pair in a child process, killed after
/// `CHILD_TIMEOUT` (it then fails with the signal).
fn run_child(exe: &std::path::Path, name: &str, plan: Plan) -> std::process::Output {
    let mut child = Command::new(exe)
        .args(["--child", name, &plan.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Drained on their own threads: a child blocked on a full pipe would look hung.
    let drain = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > CHILD_TIMEOUT {
            eprintln!("{name}/{plan}: no result after {CHILD_TIMEOUT:?}, killed");
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::process::Output {
        status: child.wait().unwrap(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let name = &args[i + 1];
        let plan: Plan = args[i + 2].parse().unwrap();
        let f = SCENARIOS
            .iter()
            .find(|(n, _)| n == name)
            .expect("scenario")
            .1;
        f(plan);
        return;
    }
    // `cargo test` passes filters and harness flags; honour a plain name filter.
    let filter = args.iter().skip(1).find(|a| !a.starts_with('-'));
    let exe = std::env::current_exe().unwrap();
    let (mut passed, mut failed) = (0, 0);
    let supported: Vec<Plan> = Plan::supported().collect();
    let rejected: Vec<Plan> = Plan::ALL
        .into_iter()
        .filter(|p| !supported.contains(p))
        .collect();
    let runs = SCENARIOS
        .iter()
        .filter(|(name, _)| *name != "rejected")
        .flat_map(|(name, _)| supported.iter().map(move |p| (*name, *p)))
        .chain(rejected.iter().map(|p| ("rejected", *p)));
    for (name, plan) in runs {
        let id = format!("{name}/{plan}");
        if filter.is_some_and(|f| !id.contains(f.as_str())) {
            continue;
        }
        let start = Instant::now();
        let out = run_child(&exe, name, plan);
        let secs = start.elapsed().as_secs_f64();
        if out.status.success() {
            passed += 1;
            let info = String::from_utf8_lossy(&out.stdout);
            println!("test {id} ... ok ({secs:.1}s) {}", info.trim());
        } else {
            failed += 1;
            println!("test {id} ... FAILED ({secs:.1}s, {})", out.status);
            println!("{}", String::from_utf8_lossy(&out.stdout));
            println!("{}", String::from_utf8_lossy(&out.stderr));
        }
    }
    println!("\n{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
