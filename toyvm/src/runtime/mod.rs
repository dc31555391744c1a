//! The Toy runtime shared by the interpreter and the JIT: object model, the
//! personality's [`VirtualMachine`] implementation, the installed program,
//! the builtins and runtime errors, formatting, monitors.

pub mod builtins;
pub mod errors;
pub mod format;
pub mod monitor;
pub mod object;
pub mod print;
pub mod program;
pub mod threads;
pub mod trace;

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use vmkit::gc::global_roots::GlobalRoot;
use vmkit::{
    Address, ErrorKind, ObjectModel, ObjectReference, SlotVisitor, Thread, VirtualMachine,
};

static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Monotonic seconds since the program started (`clock()`).
pub fn clock() -> f64 {
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64()
}

/// The path a Toy string names (`write_bytes`): its bytes as given, not
/// decoded (a file name need not be UTF-8), and how to show it in a message.
pub fn file_path(bytes: &[u8]) -> (std::path::PathBuf, String) {
    use std::os::unix::ffi::OsStrExt;
    (
        std::path::PathBuf::from(std::ffi::OsStr::from_bytes(bytes)),
        bytes.escape_ascii().to_string(),
    )
}

/// The interpreter's root stack is the substrate's ([`vmkit::thread::RootStack`]).
pub use vmkit::thread::RootStack;

/// The Toy personality.
pub struct ToyVm {
    /// Global variable values (GC roots where `global_is_ref`), at fixed
    /// addresses so JIT code can load and store them directly.
    pub globals: OnceLock<Box<[AtomicU64]>>,
    /// Which globals hold references.
    pub global_is_ref: OnceLock<Box<[bool]>>,
    /// Interned string constants of the program (all GC roots).
    pub consts: OnceLock<Box<[AtomicU64]>>,
    /// The preallocated `OutOfMemoryError` message (allocating it when the heap is
    /// exhausted could fail).
    oom_message: Mutex<Option<GlobalRoot>>,
    /// Number of live Toy threads besides main.
    pub live_threads: AtomicUsize,
}

impl ToyVm {
    /// A new personality with no globals.
    pub const fn new() -> ToyVm {
        ToyVm {
            globals: OnceLock::new(),
            global_is_ref: OnceLock::new(),
            consts: OnceLock::new(),
            oom_message: Mutex::new(None),
            live_threads: AtomicUsize::new(0),
        }
    }

    /// Preallocates what the runtime needs to report heap exhaustion (see
    /// `heap_ready`). A heap too small even for that (below the smallest heap
    /// the command line accepts) ends the process as a bad command line would.
    fn prepare(&self, t: &Thread) {
        match object::new_str(t, errors::OUT_OF_MEMORY.as_bytes()) {
            Ok(s) => *self.oom_message.lock() = Some(GlobalRoot::new(Some(s))),
            Err(_) => {
                threads::flush_out();
                eprintln!("toyvm: the heap is too small to start");
                std::process::exit(crate::engine::EXIT_USAGE);
            }
        }
    }

    /// The value of global `g`.
    pub fn global(&self, g: usize) -> u64 {
        self.globals.get().expect("globals")[g].load(Ordering::Relaxed)
    }

    /// Sets global `g`.
    pub fn set_global(&self, g: usize, w: u64) {
        self.globals.get().expect("globals")[g].store(w, Ordering::Relaxed)
    }

    /// The preallocated `OutOfMemoryError` message.
    pub fn new_exception_oom(&self) -> Option<ObjectReference> {
        self.oom_message.lock().as_ref().and_then(|r| r.get())
    }
}

impl Default for ToyVm {
    fn default() -> Self {
        ToyVm::new()
    }
}

impl ObjectModel for ToyVm {
    fn scan_globals(&self, visit: &mut SlotVisitor<'_>) {
        if let (Some(g), Some(is_ref)) = (self.globals.get(), self.global_is_ref.get()) {
            for (w, r) in g.iter().zip(is_ref.iter()) {
                if *r && w.load(Ordering::Relaxed) != 0 {
                    visit(Address::from_ptr(w.as_ptr()));
                }
            }
        }
        for w in self.consts.get().map_or(&[][..], |c| &c[..]) {
            if w.load(Ordering::Relaxed) != 0 {
                visit(Address::from_ptr(w.as_ptr()));
            }
        }
    }
}

impl VirtualMachine for ToyVm {
    fn heap_ready(&self, thread: &Thread) {
        self.prepare(thread);
    }

    fn new_exception(
        &self,
        thread: &Thread,
        kind: ErrorKind,
        message: &str,
    ) -> Option<ObjectReference> {
        // The substrate raises these from JIT code (allocation slow path, prologue
        // stack check), through an exit trampoline: the backtrace is walkable.
        trace::capture_trace(thread);
        match kind {
            ErrorKind::OutOfMemory => self.oom_message.lock().as_ref().and_then(|r| r.get()),
            ErrorKind::StackOverflow => object::new_str(thread, errors::STACK_OVERFLOW.as_bytes())
                .ok()
                .or_else(|| {
                    let _ = message;
                    self.oom_message.lock().as_ref().and_then(|r| r.get())
                }),
        }
    }
}
