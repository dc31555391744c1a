//! Managed threads: an OS thread that attaches itself, takes the arguments its
//! parent handed over (kept as roots, and updated if the collector moves them,
//! until it takes them), runs its body, detaches, and hands its outcome to the
//! personality (what the body returned, or why the thread died).

use super::{attach, Thread};
use crate::gc::global_roots::GlobalRoot;
use std::fmt;

/// An argument handed to a managed thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnArg {
    /// A word the collector never looks at (an integer, a float's bits).
    Word(u64),
    /// A value of the personality's [`crate::ValueEncoding`]: if it is a reference,
    /// its referent is kept alive until the thread starts, and the thread gets its
    /// current address.
    Value(u64),
}

/// Why a managed thread did not complete its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadDied {
    /// What happened, for a message.
    pub reason: String,
}

impl fmt::Display for ThreadDied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ThreadDied {}

/// The arguments of a thread not started yet, rooted; released when dropped
/// (taken by the thread, or dropped with it if it cannot start).
struct HeldArgs(Vec<(Option<GlobalRoot>, u64)>);

impl HeldArgs {
    fn take(mut self) -> Vec<u64> {
        std::mem::take(&mut self.0)
            .into_iter()
            .map(|(root, w)| match root {
                Some(r) => {
                    let v = r.value();
                    r.release();
                    v
                }
                None => w,
            })
            .collect()
    }
}

impl Drop for HeldArgs {
    fn drop(&mut self) {
        for (root, _) in self.0.drain(..) {
            if let Some(r) = root {
                r.release();
            }
        }
    }
}

/// Starts a managed thread named `name` (with an OS stack of `stack_size`
/// bytes, or the platform's default). On it: attaches to the VM, takes `args`
/// (as words, references at their current address), runs `body`, detaches, then
/// calls `finish` with the outcome: `Ok` with what `body` returned, or
/// [`ThreadDied`] if it could not attach or `body` panicked (a bug of the
/// personality's; its message is in the reason). Call from a managed thread or
/// not: the arguments are roots from this call on.
///
/// `Err` if the OS refuses the thread; `finish` is not called then, and the
/// arguments are released.
pub fn spawn<R: Send + 'static>(
    name: &str,
    stack_size: Option<usize>,
    args: Vec<SpawnArg>,
    body: impl FnOnce(&Thread, Vec<u64>) -> R + Send + 'static,
    finish: impl FnOnce(Result<R, ThreadDied>) + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let held = HeldArgs(
        args.into_iter()
            .map(|a| match a {
                SpawnArg::Word(w) => (None, w),
                SpawnArg::Value(v) => (Some(GlobalRoot::new_value(v)), 0),
            })
            .collect(),
    );
    let mut builder = std::thread::Builder::new().name(name.to_owned());
    if let Some(size) = stack_size {
        builder = builder.stack_size(size);
    }
    let thread_name = name.to_owned();
    builder.spawn(move || {
        let outcome = match attach(&thread_name) {
            Err(e) => {
                drop(held);
                Err(ThreadDied {
                    reason: format!("cannot attach thread {thread_name}: {e:?}"),
                })
            }
            Ok(t) => {
                let words = held.take();
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&t, words)));
                drop(t);
                r.map_err(|p| ThreadDied {
                    reason: panic_message(&*p),
                })
            }
        };
        finish(outcome);
    })
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".into()
    }
}
