//! Arbitrary bytes into the Toy lexer, parser and checker: never a panic, never a
//! hang; a program either compiles or gets at least one positioned error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match toyvm::lang::compile("fuzz.toy", data) {
        Ok(p) => assert!(p.main < p.funcs.len()),
        Err(diags) => {
            assert!(!diags.is_empty());
            for d in diags {
                assert!(d.line >= 1 && !d.message.is_empty());
            }
        }
    }
});
