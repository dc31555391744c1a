//! The memory manager: MMTk set up for the personality, plus the services around it
//! (statistics, global roots, plan selection).

mod binding;
pub mod early;
pub mod global_roots;
pub(crate) mod mutators;
pub(crate) mod options;
pub mod roots;
pub mod stats;
pub mod trigger;
pub mod weak;
pub mod workers;

pub use binding::VMKitBinding;

use crate::object::ObjectModel;
use mmtk::util::options::GCTriggerSelector;
use mmtk::{MMTKBuilder, MMTK};
use mutators::Mutators;
use std::cell::Cell;
use std::sync::OnceLock;

pub use options::{
    check_heap_size, parse_size, GcOptions, InitError, Plan, MAX_HEAP_SIZE, MIN_HEAP_SIZE,
};

/// What [`crate::vm::start`] knows at once: the options and the plan's constraints.
struct Config {
    heap_size: usize,
    stress_gc: bool,
    plan: Plan,
    facts: PlanFacts,
    /// Whether threads allocate in the early region while MMTk comes up.
    early: bool,
}

/// What the JIT and the runtime need of a plan's constraints. Known from the plan
/// alone, before MMTk is up, so compiling an allocation site or a write barrier
/// does not wait for it; [`bring_up`] checks them against the live plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PlanFacts {
    needs_barrier: bool,
    satb_barrier: bool,
    forward_after_liveness: bool,
    max_non_los: usize,
}

impl PlanFacts {
    fn of(c: &mmtk::plan::PlanConstraints) -> PlanFacts {
        use mmtk::plan::BarrierSelector;
        PlanFacts {
            needs_barrier: !matches!(c.barrier, BarrierSelector::NoBarrier),
            satb_barrier: matches!(c.barrier, BarrierSelector::SATBBarrier),
            forward_after_liveness: c.needs_forward_after_liveness,
            max_non_los: c.max_non_los_default_alloc_bytes,
        }
    }

    fn of_plan(plan: Plan) -> PlanFacts {
        use mmtk::plan as p;
        match plan {
            Plan::NoGC => Self::of(&p::NOGC_CONSTRAINTS),
            Plan::SemiSpace => Self::of(&p::SS_CONSTRAINTS),
            Plan::Immix => Self::of(&p::IMMIX_CONSTRAINTS),
            Plan::StickyImmix => Self::of(&p::STICKY_IMMIX_CONSTRAINTS),
            Plan::GenImmix => Self::of(&p::GENIMMIX_CONSTRAINTS),
            Plan::GenCopy => Self::of(&p::GENCOPY_CONSTRAINTS),
            Plan::MarkSweep => Self::of(&p::MS_CONSTRAINTS),
            Plan::MarkCompact => Self::of(&p::MARKCOMPACT_CONSTRAINTS),
            Plan::PageProtect => Self::of(&p::PP_CONSTRAINTS),
            // mmtk 0.33 does not export these two plans' constraints: they are
            // written out from its sources (and checked in `bring_up`).
            Plan::Compressor => PlanFacts {
                needs_barrier: false,
                satb_barrier: false,
                forward_after_liveness: true,
                max_non_los: p::SS_CONSTRAINTS.max_non_los_default_alloc_bytes,
            },
            Plan::ConcurrentImmix => PlanFacts {
                needs_barrier: true,
                satb_barrier: true,
                forward_after_liveness: false,
                max_non_los: p::IMMIX_CONSTRAINTS.max_non_los_default_alloc_bytes,
            },
        }
    }
}

/// What exists once MMTk is up.
struct Heap {
    mmtk: &'static MMTK<VMKitBinding>,
}

static CONFIG: OnceLock<Config> = OnceLock::new();
static HEAP: OnceLock<Heap> = OnceLock::new();
/// Guards the wait for [`HEAP`]; holds the reason MMTk failed to come up, if it did.
static HEAP_WAIT: parking_lot::Mutex<Option<String>> = parking_lot::Mutex::new(None);
static HEAP_READY: parking_lot::Condvar = parking_lot::Condvar::new();

/// The options of [`crate::vm::start`] while its initializer is not spawned yet (with early
/// objects, it is spawned when the heap is first wanted).
static PENDING_START: parking_lot::Mutex<Option<GcOptions>> = parking_lot::Mutex::new(None);

/// Says that the heap is needed now: spawns [`crate::vm::start`]'s initializer if it is
/// still pending.
pub(crate) fn want_heap() {
    let pending = PENDING_START.lock().take();
    if let Some(options) = pending {
        if let Err(e) = spawn_initializer(options) {
            fail_start(e.to_string());
        }
    }
}

/// Records why MMTk could not come up; whoever waits for the heap reports it.
fn fail_start(why: String) {
    *HEAP_WAIT.lock() = Some(why);
    HEAP_READY.notify_all();
}

fn config() -> &'static Config {
    CONFIG.get().expect("vmkit::gc::init has not been called")
}

/// The heap, waiting for a background initialization ([`crate::vm::start`]) to finish.
fn heap() -> &'static Heap {
    if let Some(h) = HEAP.get() {
        return h;
    }
    config();
    want_heap();
    let mut failed = HEAP_WAIT.lock();
    loop {
        if let Some(h) = HEAP.get() {
            return h;
        }
        if let Some(why) = failed.as_ref() {
            // Not a bug of ours: the operating system refused the memory
            // manager its address space. The same status as a heap the OS
            // refuses to map later (`out_of_memory`).
            eprintln!("vmkit: fatal: the memory manager could not start: {why}");
            std::process::exit(3);
        }
        HEAP_READY.wait(&mut failed);
    }
}

pub(crate) fn mmtk() -> &'static MMTK<VMKitBinding> {
    heap().mmtk
}

/// Whether [`crate::vm::init`] or [`crate::vm::start`] has run (the heap may still be coming up: see
/// [`is_heap_ready`]).
pub fn is_initialized() -> bool {
    CONFIG.get().is_some()
}

/// Whether MMTk is up: allocation and collection do not wait.
pub fn is_heap_ready() -> bool {
    HEAP.get().is_some()
}

/// Waits until MMTk is up (returns at once after [`crate::vm::init`]).
pub fn wait_heap_ready() {
    heap();
}

/// The plan chosen at [`crate::vm::init`].
pub fn plan() -> Plan {
    config().plan
}

/// Whether the plan needs the write barrier on reference stores into the heap
/// (generational and sticky plans).
pub fn needs_write_barrier() -> bool {
    config().facts.needs_barrier
}

/// What compiled code reads to test a reference store's barrier inline. MMTk's
/// barriers (the object-remembering post-barrier of generational and sticky plans,
/// the snapshot-at-the-beginning pre-barrier of concurrent ones) take their slow
/// path only when the *unlog bit* of the object written into is set: bit
/// `(o >> 3) & 7` of the byte at `unlog_table + (o >> 6)` (global side metadata,
/// one bit per 8 bytes of heap). Objects outside `heap_start..heap_start +
/// heap_size` (early objects) have no unlog bit and need no barrier. Under a
/// snapshot-at-the-beginning plan, compiled code tests `active` first: outside
/// marking no unlog bit is set, and the store is a plain store after one load and
/// a branch. The words are 0 until MMTk is up: no object is in the heap before
/// then, and code compiled before then must still work after, so the words are
/// read when the store runs ([`BARRIER_FACTS`]).
#[repr(C)]
#[derive(Debug)]
pub struct BarrierFacts {
    /// Start of MMTk's heap range.
    pub heap_start: std::sync::atomic::AtomicUsize,
    /// Its size in bytes.
    pub heap_size: std::sync::atomic::AtomicUsize,
    /// Address of the unlog bit table.
    pub unlog_table: std::sync::atomic::AtomicUsize,
    /// Nonzero while an unlog bit may be set: always under a generational plan;
    /// under a snapshot-at-the-beginning plan only while marking runs (MMTk sets
    /// the bits of every object at the initial mark and clears them all at the
    /// final mark). It changes only while the world is stopped, so code that
    /// reads it zero may store without the barrier until its next safepoint.
    pub active: std::sync::atomic::AtomicUsize,
}

/// This process's [`BarrierFacts`], set when MMTk comes up.
pub static BARRIER_FACTS: BarrierFacts = BarrierFacts {
    heap_start: std::sync::atomic::AtomicUsize::new(0),
    heap_size: std::sync::atomic::AtomicUsize::new(0),
    unlog_table: std::sync::atomic::AtomicUsize::new(0),
    active: std::sync::atomic::AtomicUsize::new(0),
};

/// Fills [`BARRIER_FACTS`] (MMTk is initialized, nothing allocated in it yet).
fn set_barrier_facts() {
    use mmtk::vm::ObjectModel;
    use std::sync::atomic::Ordering::Release;
    let spec =
        <binding::ObjectModelImpl as ObjectModel<binding::VMKitBinding>>::GLOBAL_LOG_BIT_SPEC
            .as_spec()
            .extract_side_spec();
    // The inline test hard-codes one bit per 8-byte region.
    assert!(
        spec.log_num_of_bits == 0 && spec.log_bytes_in_region == 3,
        "unexpected unlog bit layout: {spec:?}"
    );
    let start = mmtk::memory_manager::starting_heap_address().as_usize();
    let end = mmtk::memory_manager::last_heap_address().as_usize();
    BARRIER_FACTS
        .unlog_table
        .store(spec.get_starting_address().as_usize(), Release);
    BARRIER_FACTS.heap_start.store(start, Release);
    BARRIER_FACTS.heap_size.store(end - start, Release);
    BARRIER_FACTS
        .active
        .store(usize::from(!satb_barrier()), Release);
}

/// Records whether marking runs (a snapshot-at-the-beginning plan's barrier is
/// active only then), as the world resumes from a pause.
pub(crate) fn set_marking_barrier(marking: bool) {
    if satb_barrier() {
        BARRIER_FACTS
            .active
            .store(usize::from(marking), std::sync::atomic::Ordering::Release);
    }
}

/// Whether the plan's barrier is a snapshot-at-the-beginning pre-write barrier
/// (otherwise an object-remembering post-write barrier, when there is one).
pub(crate) fn satb_barrier() -> bool {
    config().facts.satb_barrier
}

/// Whether the plan marks beside the mutators (ConcurrentImmix): its
/// collections are an initial-mark and a final-mark pause with marking between.
pub fn is_concurrent_plan() -> bool {
    plan() == Plan::ConcurrentImmix
}

/// Whether the plan assigns new addresses only after the liveness closure.
pub(crate) fn forwards_after_liveness() -> bool {
    config().facts.forward_after_liveness
}

/// Whether an allocation before MMTk is up goes to the early region
/// ([`early`]) instead of waiting (not in stress mode, nor with a small heap).
pub(crate) fn early_allocation() -> bool {
    config().early
}

/// Whether every allocation collects first (`GcOptions::stress_gc`).
pub fn stress_gc() -> bool {
    config().stress_gc
}

/// Whether JIT code may allocate inline from the bump-pointer buffer (plans whose
/// default space is bump-allocated and needs no post-allocation work; not in
/// stress mode).
pub fn inline_alloc_supported() -> bool {
    !stress_gc()
        && matches!(
            plan(),
            Plan::Immix
                | Plan::StickyImmix
                | Plan::SemiSpace
                | Plan::GenImmix
                | Plan::GenCopy
                | Plan::ConcurrentImmix
        )
}

/// What compiled code needs of the plan, handed to the JIT when it builds a
/// materializer (not read while compiling).
#[derive(Debug, Clone, Copy)]
pub struct CodeFacts {
    /// Reference stores into the heap need the write barrier.
    pub write_barrier: bool,
    /// The barrier is a snapshot-at-the-beginning pre-write barrier (else an
    /// object-remembering post-write barrier).
    pub satb_barrier: bool,
    /// Code may bump-allocate inline ([`inline_alloc_supported`]).
    pub inline_alloc: bool,
    /// Largest object the default space takes ([`max_non_los_bytes`]).
    pub max_non_los: usize,
    /// Where compiled code reads the barrier's heap range and unlog table when a
    /// store runs ([`BARRIER_FACTS`]: filled when MMTk comes up, which may be after
    /// the code is compiled).
    pub barrier_facts: &'static BarrierFacts,
}

/// The [`CodeFacts`] of the plan chosen at start-up.
pub fn code_facts() -> CodeFacts {
    CodeFacts {
        write_barrier: needs_write_barrier(),
        satb_barrier: satb_barrier(),
        inline_alloc: inline_alloc_supported(),
        max_non_los: max_non_los_bytes(),
        barrier_facts: &BARRIER_FACTS,
    }
}

/// Largest object the default space takes; larger ones go to the large-object space.
pub fn max_non_los_bytes() -> usize {
    config().facts.max_non_los
}

thread_local! {
    static IS_GC_WORKER: Cell<bool> = const { Cell::new(false) };
}

fn mark_gc_worker() {
    IS_GC_WORKER.with(|w| w.set(true));
}

/// Whether the calling thread is one of MMTk's GC workers.
pub fn is_gc_worker() -> bool {
    IS_GC_WORKER.with(|w| w.get())
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if BRINGING_UP.with(|b| b.get()) {
            // MMTk refused to start: `bring_up_caught` reports it.
            return;
        }
        if is_gc_worker() {
            // A GC worker that unwinds would leave every mutator parked forever.
            eprintln!(
                "vmkit: fatal: a garbage collector thread panicked: {info}\n{}",
                std::backtrace::Backtrace::force_capture()
            );
            std::process::abort();
        }
        previous(info);
    }));
}

/// Starts the memory manager with the personality's object model and the thread
/// manager above it, and waits until it is up ([`crate::vm::init`]).
pub(crate) fn init(
    model: &'static dyn ObjectModel,
    threads: &'static dyn Mutators,
    options: &GcOptions,
) -> Result<(), InitError> {
    check(options)?;
    let builder = mmtk_builder(options)?;
    claim(model, threads, options)?;
    bring_up_caught(builder).map_err(InitError::NoAddressSpace)
}

thread_local! {
    /// Set while this thread brings MMTk up: a panic there is reported by
    /// [`bring_up_caught`], not by the panic hook.
    static BRINGING_UP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// [`bring_up`], with MMTk's panics made an error. MMTk 0.33 panics when the
/// operating system refuses the address space it reserves up front (about
/// 16 TiB for side metadata and an extent per space, none of it committed), as
/// under a virtual-memory limit (`ulimit -v`, valgrind): that is the
/// environment's refusal, reported as such, not a crash.
fn bring_up_caught(builder: MMTKBuilder) -> Result<(), String> {
    BRINGING_UP.with(|b| b.set(true));
    let up = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| bring_up(builder)));
    BRINGING_UP.with(|b| b.set(false));
    up.map_err(|payload| {
        let what = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("MMTk's initialization panicked");
        format!("{what}{}", address_space_hint())
    })
}

/// What to tell a user whose process has a virtual-memory limit.
fn address_space_hint() -> String {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the limit into `r`, a valid rlimit.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut r) } == 0;
    if ok && r.rlim_cur != libc::RLIM_INFINITY {
        format!(
            " (this process may use {} MiB of address space (`ulimit -v`); the memory \
             manager reserves about 16 TiB of it up front, committing only what the heap \
             uses: run without the limit)",
            r.rlim_cur >> 20
        )
    } else {
        String::new()
    }
}

/// Like [`crate::vm::init`], but MMTk comes up on a helper thread (MMTk 0.33 takes about
/// 5 ms to set up its side-metadata address space, and building its options
/// most of a millisecond): threads may attach and run at once. Until it is up,
/// their allocations go to the early region ([`early`]; not with a heap under
/// 64 MiB, nor in stress mode), and what needs the heap itself (an allocation
/// once the region is full, a collection) waits. A program that allocates less
/// than a megabyte in its first milliseconds never waits. With early objects,
/// MMTk's start is itself deferred until the heap is wanted (an eighth of the
/// region used, an allocation that does not fit, a collection, a question only
/// the heap answers such as [`used_bytes`]): a program that allocates little
/// never pays for it (a thread, about 6 ms of CPU, tearing its mappings down at
/// exit) nor shares a CPU with it. The options a caller controls are checked
/// before this returns.
pub(crate) fn start(
    model: &'static dyn ObjectModel,
    threads: &'static dyn Mutators,
    options: &GcOptions,
) -> Result<(), InitError> {
    check(options)?;
    claim(model, threads, options)?;
    if early_allocation() {
        *PENDING_START.lock() = Some(options.clone());
        return Ok(());
    }
    spawn_initializer(options.clone())
}

/// Starts the thread that brings MMTk up with `options`.
fn spawn_initializer(options: GcOptions) -> Result<(), InitError> {
    std::thread::Builder::new()
        .name("vmkit-gc-init".into())
        .spawn(move || {
            lower_priority();
            match mmtk_builder(&options) {
                Ok(b) => {
                    if let Err(why) = bring_up_caught(b) {
                        fail_start(why);
                    }
                }
                Err(e) => fail_start(e.to_string()),
            }
        })
        .map(drop)
        .map_err(|e| InitError::BadOption(format!("cannot start the GC initializer: {e}")))
}

/// Lets the initializer run beside the program's start, not in front of it: on
/// Linux a new thread tends to start on its parent's CPU and preempt it. The
/// thread becomes `SCHED_BATCH` (same share of the CPU as any other thread, so it
/// is not starved on a loaded machine, but it does not preempt on wake-up) and
/// yields once; another CPU, if idle, takes it over.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: both calls act on the calling thread only (id 0) and read only
        // `param`, which lives across the call.
        unsafe {
            libc::sched_setscheduler(0, libc::SCHED_BATCH, &param);
            libc::sched_yield();
        }
    }
}

/// The checks of [`crate::vm::init`] and [`crate::vm::start`] on what the caller chose.
fn check(options: &GcOptions) -> Result<(), InitError> {
    if CONFIG.get().is_some() {
        return Err(InitError::AlreadyInitialized);
    }
    if let Some(why) = options.plan.unsupported_reason() {
        return Err(InitError::UnsupportedPlan(options.plan, why));
    }
    if options.heap_size == 0 || options.gc_threads == Some(0) {
        return Err(InitError::BadOption(
            "the heap size and the GC thread count must be positive".into(),
        ));
    }
    for size in [Some(options.heap_size), options.min_heap_size]
        .into_iter()
        .flatten()
    {
        check_heap_size(size).map_err(InitError::BadOption)?;
    }
    Ok(())
}

/// Records the configuration: the substrate is initialized from here on.
fn claim(
    model: &'static dyn ObjectModel,
    threads: &'static dyn Mutators,
    options: &GcOptions,
) -> Result<(), InitError> {
    if let Err(why) = model.value_encoding().check() {
        return Err(InitError::BadOption(format!("value encoding: {why}")));
    }
    let config = Config {
        heap_size: options.heap_size,
        stress_gc: options.stress_gc,
        plan: options.plan,
        facts: PlanFacts::of_plan(options.plan),
        early: options.early_objects && !options.stress_gc && options.heap_size >= early::MIN_HEAP,
    };
    if CONFIG.set(config).is_err() {
        return Err(InitError::AlreadyInitialized);
    }
    mutators::install(threads);
    crate::object::set_model(model).expect("the object model is installed once, with CONFIG");
    roots::set_encoding(model.value_encoding());
    install_panic_hook();
    Ok(())
}

/// MMTk's options for `options`.
fn mmtk_builder(options: &GcOptions) -> Result<MMTKBuilder, InitError> {
    let mut builder = MMTKBuilder::new_no_env_vars();
    let set = |b: &mut MMTKBuilder, k: &str, v: &str| {
        if b.set_option(k, v) {
            Ok(())
        } else {
            Err(InitError::BadOption(format!("{k}={v}")))
        }
    };
    builder.options.plan.set(options.plan.selector());
    // NoGC never collects: give MMTk slack beyond the heap size so that the
    // substrate reports exhaustion (at the requested size) before MMTk would try to
    // schedule a collection, which NoGC cannot do.
    let mmtk_heap = if options.plan == Plan::NoGC {
        options.heap_size.saturating_add(256 << 20)
    } else {
        options.heap_size
    };
    // The trigger is set as a value, not parsed from a string: mmtk 0.33 parses
    // `gc_trigger` strings with two regular expressions, compiled on first use
    // (about 0.5 MB that stayed resident, and CPU time on the initializer
    // thread, in every process that started the heap).
    let trigger = match options.min_heap_size {
        Some(min) if min < mmtk_heap && options.plan != Plan::NoGC => {
            if trigger::LIMITS.set((min, mmtk_heap)).is_err() {
                return Err(InitError::AlreadyInitialized);
            }
            GCTriggerSelector::Delegated
        }
        _ => GCTriggerSelector::FixedHeapSize(mmtk_heap),
    };
    if !builder.options.gc_trigger.set(trigger) {
        return Err(InitError::BadOption(format!("gc_trigger={trigger:?}")));
    }
    let threads = workers::spawn_count(options.gc_threads);
    set(&mut builder, "threads", &threads.to_string())?;
    if options.immix_always_defrag {
        set(&mut builder, "immix_always_defrag", "true")?;
    }
    if options.immix_defrag_every_block {
        set(&mut builder, "immix_defrag_every_block", "true")?;
        set(&mut builder, "immix_defrag_headroom_percent", "50")?;
    }
    if options.plan == Plan::StickyImmix && !options.immix_defrag_every_block {
        // With mmtk 0.33's default 2% defragmentation headroom, StickyImmix can
        // overrun its page resource (a GC-thread panic) when a collection copies
        // with the heap exhausted. Reserve 10%, and at least 4 MiB (up to the
        // 50% maximum) on small heaps: enough in our OOM tests down to 8 MiB.
        let pct = (((4usize << 20) * 100).div_ceil(options.heap_size.max(1))).clamp(10, 50);
        set(
            &mut builder,
            "immix_defrag_headroom_percent",
            &pct.to_string(),
        )?;
    }
    if options.stress_factor > 0 {
        set(
            &mut builder,
            "stress_factor",
            &options.stress_factor.to_string(),
        )?;
    }
    if options.transparent_huge_pages && options::thp_available() {
        set(&mut builder, "transparent_hugepages", "true")?;
    }
    // The substrate processes weak references and finalizers itself.
    set(&mut builder, "no_reference_types", "true")?;
    set(&mut builder, "no_finalizer", "true")?;

    Ok(builder)
}

/// How many state tables (8 KiB each) MMTk's chunk-state mmapper has made to
/// record what it reserved and mapped: one per 32 GiB of address space in
/// which something was mapped, or reserved in part. The side metadata's
/// reservation (about 15 TiB of address space) takes none: the vendored mmtk
/// records whole reserved slabs without a table (`vendor/mmtk/PATCHES.md`,
/// patch 10); unpatched, that reservation made 473 tables, 3.9 MB resident in
/// every process that started the heap.
pub fn address_space_tables() -> usize {
    mmtk::memory_manager::mmapper_state_tables()
}

/// Held while the heap started by [`crate::vm::start`] must not be published.
static START_GATE: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

/// Keeps the heap that [`crate::vm::start`] brings up from being published (threads keep
/// running without it, allocating early objects: see [`early`]) until the guard
/// is dropped. For tests and embedders that need a deterministic start-up; take
/// it before calling [`crate::vm::start`]. Whatever needs the heap meanwhile (a collection,
/// an allocation that does not fit in the early region) waits for the guard to
/// go: do not hold it on a thread that allocates past the early region.
pub fn hold_heap_start() -> parking_lot::MutexGuard<'static, ()> {
    START_GATE.lock()
}

/// Builds MMTk, starts its GC workers, then publishes the heap: binds the threads
/// that attached meanwhile and wakes whoever waits for it.
fn bring_up(builder: MMTKBuilder) {
    let mmtk: &'static MMTK<VMKitBinding> = Box::leak(mmtk::memory_manager::mmtk_init(&builder));
    let live = PlanFacts::of(mmtk.get_plan().constraints());
    assert_eq!(
        live,
        config().facts,
        "the constraints of plan {} differ from what vmkit assumed before MMTk was up",
        config().plan
    );
    let heap = Heap { mmtk };
    set_barrier_facts();
    // The workers wait in `heap()` until it is published below.
    mmtk::memory_manager::initialize_collection(
        mmtk,
        mmtk::util::opaque_pointer::VMThread::UNINITIALIZED,
    );
    drop(START_GATE.lock());
    let mut heap = Some(heap);
    mutators::mutators().bind_all(mmtk, &mut || {
        let first = heap.take().is_some_and(|h| HEAP.set(h).is_ok());
        assert!(first, "the heap is brought up once (CONFIG is set once)");
    });
    let _guard = HEAP_WAIT.lock();
    HEAP_READY.notify_all();
}

/// Bytes currently in use by the heap.
pub fn used_bytes() -> usize {
    mmtk::memory_manager::used_bytes(mmtk())
}

/// Total heap size in bytes (as requested at [`crate::vm::init`]).
pub fn total_bytes() -> usize {
    config().heap_size
}
