//! The substrate's layers: object model -> heap -> threads -> JIT. A module may
//! name its own layer and the ones below it, never one above: the import graph of
//! `src/` has no circle between layers. This test reads the sources and fails on
//! the first arrow that runs back up (a `crate::...` path in code, doc comments
//! aside), naming the file, the line and the path.

use std::path::{Path, PathBuf};

/// The layer of a top-level module of `src/`.
fn layer(module: &str) -> Option<usize> {
    Some(match module {
        "object" => 0,
        "gc" => 1,
        // `vm.rs` holds the personality trait, which names threads.
        "thread" | "vm" => 2,
        "jit" => 3,
        // The crate root re-exports everything.
        "lib" => 4,
        _ => return None,
    })
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src/ is readable") {
        let p = e.expect("a directory entry").path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules a line of code names through `crate::`.
fn named_modules(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::b, c}`: the first segment of each top-level item.
            let mut depth = 0;
            let mut item = String::new();
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.push(first_segment(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(ch);
                }
            }
            found.push(first_segment(&item));
        } else {
            found.push(first_segment(rest));
        }
    }
    found.retain(|m| !m.is_empty());
    found
}

/// How many of [`named_modules`]'s results belong to the path at the start of
/// `s` (the items of a group, or one).
fn group_len(s: &str) -> usize {
    let first = &s["crate::".len()..];
    if first.starts_with('{') {
        let end = matching_brace(first);
        named_modules(&s[.."crate::".len() + end]).len()
    } else {
        1
    }
}

/// The index just past the brace that closes the one `s` starts with.
fn matching_brace(s: &str) -> usize {
    let mut depth = 0;
    for (i, ch) in s.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    s.len()
}

fn first_segment(s: &str) -> String {
    s.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

#[test]
fn no_module_names_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    assert!(files.len() >= 15, "found only {} source files", files.len());
    let mut checked = 0;
    let mut violations = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).expect("under src/");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .expect("a file name")
            .trim_end_matches(".rs")
            .to_string();
        let own = layer(&top).unwrap_or_else(|| panic!("{} is in no layer", rel.display()));
        let text = std::fs::read_to_string(f).expect("readable source");
        // Comments stripped, lines kept (a `use` group may span lines).
        let code: Vec<&str> = text
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect();
        let joined = code.join("\n");
        let mut at = 0;
        while let Some(i) = joined[at..].find("crate::") {
            let start = at + i;
            at = start + "crate::".len();
            let line = joined[..start].matches('\n').count();
            for m in named_modules(&joined[start..])
                .into_iter()
                .take(group_len(&joined[start..]))
            {
                let Some(l) = layer(&m) else {
                    continue; // an item of lib.rs re-exported at the root
                };
                checked += 1;
                if l > own {
                    violations.push(format!(
                        "{}:{}: layer {own} ({top}) names crate::{m} (layer {l}): {}",
                        rel.display(),
                        line + 1,
                        code[line].trim()
                    ));
                }
            }
        }
    }
    assert!(
        checked > 40,
        "only {checked} crate:: paths seen: the scan is broken"
    );
    assert!(
        violations.is_empty(),
        "arrows running back up:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_scanner_sees_grouped_and_plain_paths() {
    assert_eq!(
        named_modules("use crate::{gc::{self, stats}, thread::Thread, object};"),
        ["gc", "thread", "object"]
    );
    assert_eq!(
        named_modules("let x = crate::jit::frames::scan(t);"),
        ["jit"]
    );
    assert!(named_modules("let y = 1;").is_empty());
}
