//! The memory manager: MMTk set up for the personality, plus the services around it
//! (statistics, global roots, plan selection).

mod binding;
pub mod global_roots;
pub mod stats;
pub mod trigger;
pub mod weak;

pub use binding::VMKitBinding;

use crate::vm::VirtualMachine;
use mmtk::util::options::PlanSelector;
use mmtk::{MMTKBuilder, MMTK};
use std::cell::Cell;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// A garbage collection plan offered by MMTk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Allocation only; the heap is never collected.
    NoGC,
    /// Copying collector over two semispaces: every collection moves every live object.
    SemiSpace,
    /// Mark-region collector with opportunistic defragmentation (the default).
    Immix,
    /// Immix with sticky mark bits: generational without a copying nursery.
    StickyImmix,
    /// Generational with a copying nursery and an Immix mature space.
    GenImmix,
    /// Generational with a copying nursery and a semispace mature space.
    GenCopy,
    /// Non-moving mark-sweep with segregated free lists.
    MarkSweep,
    /// Lisp-2 mark-compact.
    MarkCompact,
    /// Debugging collector that protects freed pages.
    PageProtect,
    /// Lisp-2-style compaction with Compressor bitmaps.
    Compressor,
    /// Concurrent (SATB) non-moving Immix.
    ConcurrentImmix,
}

impl Plan {
    /// Every plan, in the order the documentation lists them.
    pub const ALL: [Plan; 11] = [
        Plan::NoGC,
        Plan::SemiSpace,
        Plan::Immix,
        Plan::StickyImmix,
        Plan::GenImmix,
        Plan::GenCopy,
        Plan::MarkSweep,
        Plan::MarkCompact,
        Plan::PageProtect,
        Plan::Compressor,
        Plan::ConcurrentImmix,
    ];

    /// Why the substrate refuses this plan, or `None` if it is supported.
    pub fn unsupported_reason(self) -> Option<&'static str> {
        match self {
            Plan::PageProtect => Some(
                "PageProtect gives every object its own pages (a debugging plan for \
                 dangling references): programs exhaust any practical heap",
            ),
            Plan::MarkCompact => Some(
                "MarkCompact in mmtk 0.33 corrupts its page accounting when the heap \
                 is exhausted, so a program cannot allocate again after an OutOfMemoryError",
            ),
            _ => None,
        }
    }

    /// The plans [`init`] accepts.
    pub fn supported() -> impl Iterator<Item = Plan> {
        Plan::ALL
            .into_iter()
            .filter(|p| p.unsupported_reason().is_none())
    }

    fn selector(self) -> PlanSelector {
        match self {
            Plan::NoGC => PlanSelector::NoGC,
            Plan::SemiSpace => PlanSelector::SemiSpace,
            Plan::Immix => PlanSelector::Immix,
            Plan::StickyImmix => PlanSelector::StickyImmix,
            Plan::GenImmix => PlanSelector::GenImmix,
            Plan::GenCopy => PlanSelector::GenCopy,
            Plan::MarkSweep => PlanSelector::MarkSweep,
            Plan::MarkCompact => PlanSelector::MarkCompact,
            Plan::PageProtect => PlanSelector::PageProtect,
            Plan::Compressor => PlanSelector::Compressor,
            Plan::ConcurrentImmix => PlanSelector::ConcurrentImmix,
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl FromStr for Plan {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Plan::ALL
            .iter()
            .copied()
            .find(|p| p.to_string().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<String> = Plan::ALL.iter().map(|p| p.to_string()).collect();
                format!(
                    "unknown GC plan '{s}' (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// How the heap is set up. Build with [`GcOptions::default`] and adjust.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// The collector.
    pub plan: Plan,
    /// Heap size in bytes: the fixed size, or the maximum when `min_heap_size` is
    /// set.
    pub heap_size: usize,
    /// Let the heap grow and shrink between this size and `heap_size`: after each
    /// collection it is resized to twice what is in use (see [`trigger`]); `None`:
    /// a fixed size. A small heap that grows on demand keeps a program's memory in
    /// pages it has already touched, and Immix's sweep (proportional to the heap
    /// size) short.
    pub min_heap_size: Option<usize>,
    /// GC worker threads (default: number of CPUs).
    pub gc_threads: Option<usize>,
    /// Immix: make every collection a defragmenting one (moves objects; for testing).
    pub immix_always_defrag: bool,
    /// Immix: make every block a defragmentation source (moves most objects).
    pub immix_defrag_every_block: bool,
    /// Collect every this many bytes allocated (MMTk's precise stress mode); 0 = off.
    pub stress_factor: usize,
    /// Collect before every allocation (and disable inline allocation in JIT code):
    /// very slow, flushes out stale references held across allocations.
    pub stress_gc: bool,
    /// Ask Linux for transparent huge pages on the heap (`madvise(MADV_HUGEPAGE)`,
    /// MMTk's `transparent_hugepages`), when the kernel offers them: a fresh heap
    /// then faults in 2 MiB at a time instead of 4 KiB. On by default; it costs
    /// up to one huge page of resident memory per space in use.
    pub transparent_huge_pages: bool,
}

impl Default for GcOptions {
    fn default() -> Self {
        GcOptions {
            plan: Plan::Immix,
            heap_size: 512 << 20,
            min_heap_size: None,
            gc_threads: None,
            immix_always_defrag: false,
            immix_defrag_every_block: false,
            stress_factor: 0,
            stress_gc: false,
            transparent_huge_pages: true,
        }
    }
}

impl GcOptions {
    /// Sets the options that make every Immix collection move objects.
    pub fn force_moving(mut self) -> Self {
        self.immix_always_defrag = true;
        self.immix_defrag_every_block = true;
        self
    }
}

/// Whether the kernel lets a process ask for transparent huge pages: Linux, with
/// THP built in and not set to `never`.
fn thp_available() -> bool {
    cfg!(target_os = "linux")
        && std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .is_ok_and(|s| !s.contains("[never]"))
}

/// Parses a heap size such as `64M`, `2G`, `512K` or `1048576`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (digits, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: usize = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                _ => return Err(format!("bad size '{s}': unit must be K, M or G")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("bad size '{s}': expected a number with an optional K, M or G"))?;
    n.checked_mul(mult)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("bad size '{s}': out of range"))
}

/// Why [`init`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitError {
    /// The substrate is already running in this process (MMTk allows one instance).
    AlreadyInitialized,
    /// MMTk rejected an option.
    BadOption(String),
    /// The plan exists in MMTk but the substrate does not support it.
    UnsupportedPlan(Plan, &'static str),
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::AlreadyInitialized => {
                write!(f, "the VM is already initialized in this process")
            }
            InitError::BadOption(s) => write!(f, "bad GC option: {s}"),
            InitError::UnsupportedPlan(p, why) => write!(f, "GC plan {p} is not supported: {why}"),
        }
    }
}

impl std::error::Error for InitError {}

struct Runtime {
    heap_size: usize,
    stress_gc: bool,
    mmtk: &'static MMTK<VMKitBinding>,
    vm: &'static dyn VirtualMachine,
    plan: Plan,
    needs_barrier: bool,
    satb_barrier: bool,
    forward_after_liveness: bool,
    max_non_los: usize,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

fn runtime() -> &'static Runtime {
    RUNTIME.get().expect("vmkit::gc::init has not been called")
}

pub(crate) fn mmtk() -> &'static MMTK<VMKitBinding> {
    runtime().mmtk
}

/// The personality installed by [`init`].
pub fn vm() -> &'static dyn VirtualMachine {
    runtime().vm
}

/// Whether [`init`] has run.
pub fn is_initialized() -> bool {
    RUNTIME.get().is_some()
}

/// The plan chosen at [`init`].
pub fn plan() -> Plan {
    runtime().plan
}

/// Whether the plan needs the write barrier on reference stores into the heap
/// (generational and sticky plans).
pub fn needs_write_barrier() -> bool {
    runtime().needs_barrier
}

/// Whether the plan's barrier is a snapshot-at-the-beginning pre-write barrier
/// (otherwise an object-remembering post-write barrier, when there is one).
pub(crate) fn satb_barrier() -> bool {
    runtime().satb_barrier
}

/// Whether the plan assigns new addresses only after the liveness closure.
pub(crate) fn forwards_after_liveness() -> bool {
    runtime().forward_after_liveness
}

/// Whether every allocation collects first (`GcOptions::stress_gc`).
pub fn stress_gc() -> bool {
    runtime().stress_gc
}

/// Whether JIT code may allocate inline from the bump-pointer buffer (plans whose
/// default space is bump-allocated and needs no post-allocation work; not in
/// stress mode).
pub fn inline_alloc_supported() -> bool {
    !stress_gc()
        && matches!(
            plan(),
            Plan::Immix | Plan::StickyImmix | Plan::SemiSpace | Plan::GenImmix | Plan::GenCopy
        )
}

/// Largest object the default space takes; larger ones go to the large-object space.
pub fn max_non_los_bytes() -> usize {
    runtime().max_non_los
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

/// Starts the memory manager with the personality `vm`. Call once per process,
/// before attaching any thread.
pub fn init(vm: &'static dyn VirtualMachine, options: &GcOptions) -> Result<(), InitError> {
    if RUNTIME.get().is_some() {
        return Err(InitError::AlreadyInitialized);
    }
    if let Some(why) = options.plan.unsupported_reason() {
        return Err(InitError::UnsupportedPlan(options.plan, why));
    }
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
    let trigger = match options.min_heap_size {
        Some(min) if min < mmtk_heap && options.plan != Plan::NoGC => {
            if trigger::LIMITS.set((min, mmtk_heap)).is_err() {
                return Err(InitError::AlreadyInitialized);
            }
            "Delegated".to_string()
        }
        _ => format!("FixedHeapSize:{mmtk_heap}"),
    };
    set(&mut builder, "gc_trigger", &trigger)?;
    let threads = options
        .gc_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
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
    if options.transparent_huge_pages && thp_available() {
        set(&mut builder, "transparent_hugepages", "true")?;
    }
    // The substrate processes weak references and finalizers itself.
    set(&mut builder, "no_reference_types", "true")?;
    set(&mut builder, "no_finalizer", "true")?;

    let mmtk: &'static MMTK<VMKitBinding> = Box::leak(mmtk::memory_manager::mmtk_init(&builder));
    let constraints = mmtk.get_plan().constraints();
    let rt = Runtime {
        heap_size: options.heap_size,
        stress_gc: options.stress_gc,
        mmtk,
        vm,
        plan: options.plan,
        needs_barrier: !matches!(constraints.barrier, mmtk::plan::BarrierSelector::NoBarrier),
        satb_barrier: matches!(
            constraints.barrier,
            mmtk::plan::BarrierSelector::SATBBarrier
        ),
        forward_after_liveness: constraints.needs_forward_after_liveness,
        max_non_los: constraints.max_non_los_default_alloc_bytes,
    };
    if RUNTIME.set(rt).is_err() {
        return Err(InitError::AlreadyInitialized);
    }
    install_panic_hook();
    mmtk::memory_manager::initialize_collection(
        mmtk,
        mmtk::util::opaque_pointer::VMThread::UNINITIALIZED,
    );
    Ok(())
}

/// Bytes currently in use by the heap.
pub fn used_bytes() -> usize {
    mmtk::memory_manager::used_bytes(mmtk())
}

/// Total heap size in bytes (as requested at [`init`]).
pub fn total_bytes() -> usize {
    runtime().heap_size
}
