//! `Thread::swap_stack_context`: what a personality that runs several native
//! stacks on one thread (luavm's coroutines) exchanges at each switch.

use vmkit::jit::{FnCtx, JitOptions, Materializer, Sig, ValType};
use vmkit::{ObjectModel, SlotVisitor, StackContext, VirtualMachine};

struct TestVm;
impl ObjectModel for TestVm {
    fn scan_globals(&self, _visit: &mut SlotVisitor<'_>) {}
}
impl VirtualMachine for TestVm {}

static SEEN: std::sync::Mutex<Vec<(bool, usize)>> = std::sync::Mutex::new(Vec::new());

/// Host, called from JIT code: swaps in a fresh context (as a switch to a new
/// stack would), records what the swapped-out context holds and the limit now
/// in force, and swaps back.
extern "C" fn host_switch(t: &vmkit::Thread) {
    vmkit::jit::host_guard(|| {
        let mut ctx = StackContext::new(7777);
        // SAFETY: on the owning thread, swapped back before returning.
        unsafe { t.swap_stack_context(&mut ctx) };
        let limit_inside = t.stack_limit();
        let jit_outside = ctx.in_jit_code();
        // SAFETY: as above.
        unsafe { t.swap_stack_context(&mut ctx) };
        SEEN.lock().unwrap().push((jit_outside, limit_inside));
        SEEN.lock().unwrap().push((ctx.in_jit_code(), ctx.limit()));
    })
}

#[test]
fn a_swap_exchanges_the_stack_limit_and_the_jit_stretches() {
    vmkit::vm::init(&TestVm, &vmkit::GcOptions::default()).unwrap();
    let t = vmkit::attach("main").unwrap();
    t.set_stack_limit(1000);
    let mut ctx = StackContext::new(5000);
    assert!(!ctx.in_jit_code());
    // SAFETY: on the owning thread, outside JIT code.
    unsafe { t.swap_stack_context(&mut ctx) };
    assert_eq!(t.stack_limit(), 5000);
    assert_eq!(ctx.limit(), 1000);
    // SAFETY: as above.
    unsafe { t.swap_stack_context(&mut ctx) };
    assert_eq!(t.stack_limit(), 1000);
    assert_eq!(ctx.limit(), 5000);

    // From inside JIT code: the context swapped out holds the stretch of JIT
    // code in progress; the fresh one holds none and its own limit.
    let m = Materializer::new(JitOptions::default()).unwrap();
    let h = m
        .register_host("switch", Sig::new(&[], &[]), host_switch as *const u8, true)
        .unwrap();
    let f = m
        .declare(
            "f",
            "test.clif",
            Sig::new(&[], &[ValType::I64]),
            Box::new(move |cx: &mut FnCtx| {
                use vmkit::jit::cranelift_codegen::ir::{types, InstBuilder};
                cx.call_host(h, &[]);
                let r = cx.b.ins().iconst(types::I64, 42);
                cx.b.ins().return_(&[r]);
                Ok(())
            }),
        )
        .unwrap();
    // SAFETY: `f` takes no argument and returns one integer.
    let r = unsafe { m.invoke(&t, f, &[]) };
    assert_eq!(r, [42]);
    let seen = SEEN.lock().unwrap().clone();
    assert_eq!(seen, [(true, 7777), (false, 7777)]);
    assert_eq!(t.stack_limit(), 1000);
}
