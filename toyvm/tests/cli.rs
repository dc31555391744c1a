//! Errors of the `toyvm` command itself: one clear line on stderr, exit status 2.

use std::process::Command;

fn toyvm(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_toyvm"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(args)
        .output()
        .expect("run toyvm");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn missing_file() {
    let (code, out, err) = toyvm(&["no/such/file.toy"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.starts_with("toyvm: cannot read no/such/file.toy:"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn bad_option_and_values() {
    for args in [
        &["--bogus", "examples/hello.toy"][..],
        &["--heap", "12Q", "examples/hello.toy"],
        &["--heap", "0", "examples/hello.toy"],
        &["--plan", "Nope", "examples/hello.toy"],
        &["--plan", "PageProtect", "examples/hello.toy"],
        &["--plan", "MarkCompact", "examples/hello.toy"],
        &["--plan", "NoGC", "examples/hello.toy"],
        &[],
    ] {
        let (code, out, err) = toyvm(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}");
        assert!(err.starts_with("toyvm: "), "{args:?}: {err}");
    }
}

#[test]
fn rejected_plan_says_why() {
    let (_, _, err) = toyvm(&["--plan", "MarkCompact", "examples/hello.toy"]);
    assert!(err.contains("OutOfMemoryError"), "{err}");
}

#[test]
fn program_arguments_and_options_after_file() {
    let (code, out, _) = toyvm(&["examples/fib.toy", "10"]);
    assert_eq!(code, 0);
    assert_eq!(out, "fib(10) = 55\n");
    // Everything after the file belongs to the program, even what looks like an option.
    let (code, out, err) = toyvm(&["--interp", "examples/fib.toy", "-3"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "fib(-3) = -3\n");
    let (code, out, _) = toyvm(&["examples/fib.toy", "--", "12"]);
    assert_eq!(code, 0);
    assert_eq!(out, "fib(12) = 144\n");
}

#[test]
fn gc_stats_and_dump_clif_go_to_stderr() {
    let (code, out, err) = toyvm(&["--gc-stats", "--dump-clif", "examples/hello.toy"]);
    assert_eq!(code, 0);
    assert_eq!(out, "hello, world\n");
    assert!(err.contains("gc: plan Immix"), "{err}");
    assert!(err.contains("jit: "), "{err}");
    assert!(err.contains("; function main"), "{err}");
}

#[test]
fn internal_errors_exit_70_with_a_bug_report_request() {
    let out = Command::new(env!("CARGO_BIN_EXE_toyvm"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("TOYVM_TEST_INTERNAL_PANIC", "1")
        .arg("examples/hello.toy")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(70));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("toyvm: internal error:"), "{err}");
    assert!(err.contains("file a bug"), "{err}");
}
