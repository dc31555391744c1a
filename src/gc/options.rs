//! What a personality chooses of the memory manager: the [`Plan`] and the
//! [`GcOptions`], their parsing and their checks.

use mmtk::util::options::PlanSelector;
use std::fmt;
use std::str::FromStr;

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

    /// The plans [`crate::vm::init`] accepts.
    pub fn supported() -> impl Iterator<Item = Plan> {
        Plan::ALL
            .into_iter()
            .filter(|p| p.unsupported_reason().is_none())
    }

    pub(crate) fn selector(self) -> PlanSelector {
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
    /// collection it is resized to twice what is in use (see [`super::trigger`]); `None`:
    /// a fixed size. A small heap that grows on demand keeps a program's memory in
    /// pages it has already touched, and Immix's sweep (proportional to the heap
    /// size) short.
    pub min_heap_size: Option<usize>,
    /// GC worker threads, all of them active in every collection. By default one
    /// per CPU the process may run on, and each collection activates only as many
    /// as its work and the CPUs free at that moment call for (see [`super::workers`]).
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
    /// then faults in 2 MiB at a time instead of 4 KiB, and costs up to one huge
    /// page of resident memory per space in use. Off by default (as HotSpot's
    /// `UseTransparentHugePages`): on a VM whose host backs guest memory lazily
    /// (virtio-balloon free page reporting), each huge page comes from memory
    /// the host took back, and its first touch took milliseconds; a heap of
    /// 4 KiB pages reuses pages the guest already has.
    pub transparent_huge_pages: bool,
    /// Whether allocations made before MMTk is up ([`crate::vm::start`]) go to the early
    /// region ([`super::early`]) instead of waiting for it. Early objects never move:
    /// turn this off to test that a program's objects survive being moved.
    /// (There is no early region below a 64 MiB heap, nor in stress mode.)
    pub early_objects: bool,
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
            transparent_huge_pages: false,
            early_objects: true,
        }
    }
}

impl GcOptions {
    /// Sets the options that make every Immix collection move objects, and
    /// every object movable (no early objects).
    pub fn force_moving(mut self) -> Self {
        self.immix_always_defrag = true;
        self.immix_defrag_every_block = true;
        self.early_objects = false;
        self
    }
}

/// Whether the kernel lets a process ask for transparent huge pages: Linux, with
/// THP built in and not set to `never`.
pub(crate) fn thp_available() -> bool {
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

/// The smallest heap the substrate accepts: every plan starts in it (and runs
/// a small program).
pub const MIN_HEAP_SIZE: usize = 1 << 20;

/// The largest heap the substrate accepts: MMTk 0.33 gives each space 2 TiB of
/// address space on 64-bit, and a copying plan needs two spaces' worth.
pub const MAX_HEAP_SIZE: usize = 1 << 40;

/// Checks that `size` is a heap size the substrate accepts.
pub fn check_heap_size(size: usize) -> Result<(), String> {
    if (MIN_HEAP_SIZE..=MAX_HEAP_SIZE).contains(&size) {
        Ok(())
    } else {
        Err(format!(
            "heap size {size} bytes out of range: from {}M to {}G",
            MIN_HEAP_SIZE >> 20,
            MAX_HEAP_SIZE >> 30
        ))
    }
}

/// Why [`crate::vm::init`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitError {
    /// The substrate is already running in this process (MMTk allows one instance).
    AlreadyInitialized,
    /// MMTk rejected an option.
    BadOption(String),
    /// The plan exists in MMTk but the substrate does not support it.
    UnsupportedPlan(Plan, &'static str),
    /// MMTk could not come up: the operating system refused it the address
    /// space it reserves for the heap and its metadata (for example under a
    /// virtual-memory limit, `ulimit -v`). The text says what failed.
    NoAddressSpace(String),
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::AlreadyInitialized => {
                write!(f, "the VM is already initialized in this process")
            }
            InitError::BadOption(s) => write!(f, "bad GC option: {s}"),
            InitError::UnsupportedPlan(p, why) => write!(f, "GC plan {p} is not supported: {why}"),
            InitError::NoAddressSpace(why) => {
                write!(f, "the memory manager could not start: {why}")
            }
        }
    }
}

impl std::error::Error for InitError {}
