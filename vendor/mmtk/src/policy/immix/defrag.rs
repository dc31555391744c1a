use super::{
    block::{Block, BlockState},
    line::Line,
    ImmixSpace,
};
use crate::util::linear_scan::Region;
use crate::{policy::space::Space, Plan};
use crate::{util::constants::LOG_BYTES_IN_PAGE, vm::*};
use spin::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub type Histogram = [usize; Defrag::NUM_BINS];

/// vmkit patch 8: bytes of the free lines in the blocks the last sweep of an
/// Immix space kept (the room the mutators reuse before they ask for pages).
pub(crate) static FREE_LINE_BYTES: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug)]
pub struct Defrag {
    /// Is current GC a defrag GC?
    in_defrag_collection: AtomicBool,
    /// Is defrag space exhausted?
    defrag_space_exhausted: AtomicBool,
    /// A list of completed mark histograms reported by workers
    pub mark_histograms: Mutex<Vec<Histogram>>,
    /// A block with number of holes greater than this threshold will be defragmented.
    pub defrag_spill_threshold: AtomicUsize,
    /// The number of remaining clean pages in defrag space.
    available_clean_pages_for_defrag: AtomicUsize,
    /// vmkit patch 8: bytes the copy contexts copied in this defrag
    /// collection (added as each worker releases its context).
    copied_bytes: AtomicUsize,
    /// vmkit patch 8: the lines the previous collection marked in the blocks
    /// this defrag collection chose as sources.
    source_marked_lines: AtomicUsize,
    /// vmkit patch 8: the copy space a marked line of a source block needs,
    /// in thousandths of a line, learned from the last defrag collection that
    /// evacuated all of its sources (1000 until then).
    density_permille: AtomicUsize,
    /// vmkit patch 8: lines of the blocks the last sweep kept (with a marked
    /// line), and the marked lines among them.
    kept_block_lines: AtomicUsize,
    kept_marked_lines: AtomicUsize,
    /// vmkit patch 8: the last sweep found the kept blocks fragmented (at most
    /// half of their lines marked): the next full-heap collection defragments.
    fragmented: AtomicBool,
}

pub struct StatsForDefrag {
    total_pages: usize,
    reserved_pages: usize,
    collection_reserved_pages: usize,
}

impl StatsForDefrag {
    pub fn new<VM: VMBinding>(plan: &dyn Plan<VM = VM>) -> Self {
        Self {
            total_pages: plan.get_total_pages(),
            reserved_pages: plan.get_reserved_pages(),
            collection_reserved_pages: plan.get_collection_reserved_pages(),
        }
    }
}

impl Default for Defrag {
    fn default() -> Self {
        Self {
            in_defrag_collection: AtomicBool::new(false),
            defrag_space_exhausted: AtomicBool::new(false),
            mark_histograms: Mutex::new(Vec::new()),
            defrag_spill_threshold: AtomicUsize::new(0),
            available_clean_pages_for_defrag: AtomicUsize::new(0),
            copied_bytes: AtomicUsize::new(0),
            source_marked_lines: AtomicUsize::new(0),
            density_permille: AtomicUsize::new(Self::DENSITY_ONE),
            kept_block_lines: AtomicUsize::new(0),
            kept_marked_lines: AtomicUsize::new(0),
            fragmented: AtomicBool::new(false),
        }
    }
}

impl Defrag {
    /// vmkit patch 8: a density of one: every marked line needs a line.
    const DENSITY_ONE: usize = 1000;
    /// vmkit patch 8: the lowest density assumed (a sixteenth).
    const DENSITY_MIN: usize = Self::DENSITY_ONE / 16;
    const NUM_BINS: usize = (Block::LINES >> 1) + 1;
    const DEFRAG_LINE_REUSE_RATIO: f32 = 0.99;
    const MIN_SPILL_THRESHOLD: usize = 2;

    /// Allocate a new local histogram.
    pub const fn new_histogram(&self) -> Histogram {
        [0; Self::NUM_BINS]
    }

    /// Report back a completed mark histogram
    pub fn add_completed_mark_histogram(&self, histogram: Histogram) {
        self.mark_histograms.lock().push(histogram)
    }

    /// Check if the current GC is a defrag GC.
    pub fn in_defrag(&self) -> bool {
        self.in_defrag_collection.load(Ordering::Acquire)
    }

    /// Determine whether the current GC should do defragmentation.
    #[allow(clippy::too_many_arguments)]
    pub fn decide_whether_to_defrag(
        &self,
        defrag_enabled: bool,
        emergency_collection: bool,
        collect_whole_heap: bool,
        collection_attempts: usize,
        user_triggered: bool,
        exhausted_reusable_space: bool,
        full_heap_system_gc: bool,
        stress_defrag: bool,
    ) {
        // vmkit patch 8: also when the last sweep found the heap fragmented
        // (with a growing heap no collection is an emergency one, and a
        // fragmented heap grew instead of being compacted).
        let in_defrag = defrag_enabled
            && (emergency_collection
                || (collect_whole_heap && self.fragmented.load(Ordering::Relaxed))
                || (collection_attempts > 1)
                || !exhausted_reusable_space
                || stress_defrag
                || (collect_whole_heap && user_triggered && full_heap_system_gc));

        {
            // These details are useful for debugging why a debug GC is triggered or not triggered.
            // We encode those conditions into a bitfield because we can't pass too many args to the
            // eBPF tracer via the USDT arguments.
            let decision_word = (defrag_enabled as u32)
                | (emergency_collection as u32) << 1
                | (collect_whole_heap as u32) << 2
                | (user_triggered as u32) << 3
                | (exhausted_reusable_space as u32) << 4
                | (full_heap_system_gc as u32) << 5
                | (stress_defrag as u32) << 6;

            info!(
                "Defrag: {i}, collection_attempts: {c}, decision_word: 0b{d:b}",
                i = in_defrag,
                c = collection_attempts,
                d = decision_word,
            );

            probe!(
                mmtk,
                immix_defrag,
                in_defrag,
                collection_attempts,
                decision_word
            );
        }

        self.in_defrag_collection
            .store(in_defrag, Ordering::Release)
    }

    /// Get the number of defrag headroom pages.
    pub fn defrag_headroom_pages<VM: VMBinding>(&self, space: &ImmixSpace<VM>) -> usize {
        space.get_page_resource().reserved_pages()
            * (*space.common().options.immix_defrag_headroom_percent)
            / 100
    }

    /// Check if the defrag space is exhausted.
    pub fn space_exhausted(&self) -> bool {
        self.defrag_space_exhausted.load(Ordering::Acquire)
    }

    /// Update available_clean_pages_for_defrag counter when a clean block is allocated.
    pub fn notify_new_clean_block(&self, copy: bool) {
        if copy {
            let available_clean_pages_for_defrag =
                self.available_clean_pages_for_defrag.fetch_update(
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                    |available_clean_pages_for_defrag| {
                        if available_clean_pages_for_defrag <= Block::PAGES {
                            Some(0)
                        } else {
                            Some(available_clean_pages_for_defrag - Block::PAGES)
                        }
                    },
                );
            if available_clean_pages_for_defrag.unwrap() <= Block::PAGES {
                self.defrag_space_exhausted.store(true, Ordering::SeqCst);
            }
        }
    }

    /// Prepare work. Should be called in ImmixSpace::prepare.
    pub fn prepare<VM: VMBinding>(&self, space: &ImmixSpace<VM>, plan_stats: StatsForDefrag) {
        debug_assert!(space.is_defrag_enabled());
        self.defrag_space_exhausted.store(false, Ordering::Release);
        self.copied_bytes.store(0, Ordering::Relaxed);
        self.source_marked_lines.store(0, Ordering::Relaxed);

        // Calculate available free space for defragmentation.

        let mut available_clean_pages_for_defrag = plan_stats.total_pages as isize
            - plan_stats.reserved_pages as isize
            + self.defrag_headroom_pages(space) as isize;
        if available_clean_pages_for_defrag < 0 {
            available_clean_pages_for_defrag = 0
        };

        self.available_clean_pages_for_defrag
            .store(available_clean_pages_for_defrag as usize, Ordering::Release);

        if self.in_defrag() {
            self.establish_defrag_spill_threshold(space)
        }

        self.available_clean_pages_for_defrag.store(
            available_clean_pages_for_defrag as usize + plan_stats.collection_reserved_pages,
            Ordering::Release,
        );
    }

    /// Get the numebr of all the recyclable lines in all the reusable blocks.
    fn get_available_lines<VM: VMBinding>(
        &self,
        space: &ImmixSpace<VM>,
        spill_avail_histograms: &mut Histogram,
    ) -> usize {
        let mut total_available_lines = 0;
        space.reusable_blocks.iterate_blocks(|block| {
            let bucket = block.get_holes();
            let unavailable_lines = match block.get_state() {
                BlockState::Reusable { unavailable_lines } => unavailable_lines as usize,
                s => unreachable!("{:?} {:?}", block, s),
            };
            let available_lines = Block::LINES - unavailable_lines;
            spill_avail_histograms[bucket] += available_lines;
            total_available_lines += available_lines;
        });
        total_available_lines
    }

    /// Calculate the defrag threshold.
    fn establish_defrag_spill_threshold<VM: VMBinding>(&self, space: &ImmixSpace<VM>) {
        let mut spill_avail_histograms = self.new_histogram();
        let clean_lines = self.get_available_lines(space, &mut spill_avail_histograms);
        let available_lines = clean_lines
            + (self
                .available_clean_pages_for_defrag
                .load(Ordering::Acquire)
                << (LOG_BYTES_IN_PAGE as usize - Line::LOG_BYTES));

        // Number of lines we will evacuate.
        let mut required_lines = 0isize;
        // Number of to-space free lines we can use for defragmentation.
        let mut limit = (available_lines as f32 / Self::DEFRAG_LINE_REUSE_RATIO) as isize;
        let mut threshold = Block::LINES >> 1;
        let mark_histograms = self.mark_histograms.lock();
        // vmkit patch 8: a marked line is a line, but the live objects in it
        // may fill a fraction of it (a small object that survives among dead
        // ones marks its whole line). Scale what a source block is expected to
        // need by the density the last complete defrag collection measured, so
        // that a heap whose survivors are spread one per line or two is
        // evacuated in one collection instead of a few blocks at a time.
        let density = self.density_permille.load(Ordering::Relaxed) as isize;
        // Blocks are grouped by buckets, indexed by the number of holes in the block.
        // `mark_histograms` remembers the number of live lines for each bucket.
        // Here, reversely iterate all the bucket to find a threshold that all buckets above this
        // threshold can be evacuated, without causing to-space overflow.
        for index in (Self::MIN_SPILL_THRESHOLD..Self::NUM_BINS).rev() {
            threshold = index;
            // Calculate total number of live lines in this bucket.
            let this_bucket_mark = mark_histograms
                .iter()
                .map(|v| v[threshold] as isize)
                .sum::<isize>();
            // Calculate the number of free lines in this bucket.
            let this_bucket_avail = spill_avail_histograms[threshold] as isize;
            // Update counters
            limit -= this_bucket_avail;
            required_lines += this_bucket_mark * density / Self::DENSITY_ONE as isize;
            // Stop scanning. Lines to evacuate exceeds the free to-space lines.
            if limit < required_lines {
                break;
            }
        }
        // println!("threshold: {}", threshold);
        debug_assert!(threshold >= Self::MIN_SPILL_THRESHOLD);
        // vmkit patch 8: what the chosen sources (more holes than the
        // threshold) marked, to learn the density from at the end.
        let source_marked: usize = mark_histograms
            .iter()
            .map(|v| v[threshold + 1..].iter().sum::<usize>())
            .sum();
        self.source_marked_lines
            .store(source_marked, Ordering::Relaxed);
        self.defrag_spill_threshold
            .store(threshold, Ordering::Release);
    }

    /// vmkit patch 8: a sweep is about to start.
    pub fn begin_sweep(&self) {
        self.kept_block_lines.store(0, Ordering::Relaxed);
        self.kept_marked_lines.store(0, Ordering::Relaxed);
    }

    /// vmkit patch 8: a sweep packet kept `blocks` blocks with `marked_lines`
    /// marked lines among them.
    pub fn add_kept_blocks(&self, blocks: usize, marked_lines: usize) {
        self.kept_block_lines
            .fetch_add(blocks * Block::LINES, Ordering::Relaxed);
        self.kept_marked_lines
            .fetch_add(marked_lines, Ordering::Relaxed);
    }

    /// vmkit patch 8: after a sweep, whether the blocks it kept hold at least
    /// 2 MiB of free lines and at most half of their lines are marked. Such a
    /// heap is sized (by pages in use) at twice its marked lines or more.
    pub fn end_sweep(&self) {
        let lines = self.kept_block_lines.load(Ordering::Relaxed);
        let marked = self.kept_marked_lines.load(Ordering::Relaxed);
        let free = lines - marked.min(lines);
        FREE_LINE_BYTES.store(free << Line::LOG_BYTES, Ordering::Relaxed);
        let fragmented = free >= marked && free >= (2 << 20) >> Line::LOG_BYTES;
        self.fragmented.store(fragmented, Ordering::Relaxed);
    }

    /// vmkit patch 8: counts bytes a worker copied in this defrag collection.
    pub fn add_copied_bytes(&self, bytes: usize) {
        self.copied_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// vmkit patch 8: at the end of a defrag collection, learn how much copy
    /// space a marked line of a source block needed. If the copy space ran
    /// out, the sources needed more than assumed: double the density. If not,
    /// every source was evacuated, and the bytes copied over the bytes of the
    /// lines the sources had marked is the density (with a quarter more as a
    /// margin for the ends of lines and holes, and no lower than a sixteenth).
    pub fn learn_density(&self) {
        let marked = self.source_marked_lines.load(Ordering::Relaxed);
        if marked == 0 {
            return;
        }
        let old = self.density_permille.load(Ordering::Relaxed);
        let new = if self.space_exhausted() {
            old * 2
        } else {
            let copied = self.copied_bytes.load(Ordering::Relaxed);
            copied * Self::DENSITY_ONE * 5 / 4 / (marked * Line::BYTES)
        };
        self.density_permille.store(
            new.clamp(Self::DENSITY_MIN, Self::DENSITY_ONE),
            Ordering::Relaxed,
        );
    }

    /// Reset the in-defrag state.
    pub fn reset_in_defrag(&self) {
        self.in_defrag_collection.store(false, Ordering::Release);
    }
}
