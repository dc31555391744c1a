//! The Toy language front end: lexer, parser, checker, and the typed program.

pub mod ast;
pub mod check;
pub mod ir;
pub mod lexer;
pub mod parser;

/// A compile-time error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diag {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (0 when only the line is known).
    pub col: u32,
    /// What is wrong.
    pub message: String,
}

impl Diag {
    /// A diagnostic at a position.
    pub fn new(line: u32, col: u32, message: &str) -> Diag {
        Diag {
            line,
            col,
            message: message.to_string(),
        }
    }

    /// `FILE:LINE:COL: error: MESSAGE`.
    pub fn render(&self, file: &str) -> String {
        format!(
            "{file}:{}:{}: error: {}",
            self.line,
            self.col.max(1),
            self.message
        )
    }
}

/// Lexes, parses and checks a program: the program, or every error found, in
/// source order.
pub fn compile(file: &str, src: &[u8]) -> Result<ir::Program, Vec<Diag>> {
    let mut diags = Vec::new();
    let toks = lexer::lex(src, &mut diags);
    let items = parser::parse(&toks, &mut diags);
    let prog = check::check(file, &items, &mut diags);
    diags.sort_by_key(|d| (d.line, d.col));
    diags.dedup();
    match prog {
        Some(p) if diags.is_empty() => Ok(p),
        _ => Err(diags),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
    }

    fn corpus() -> Vec<Vec<u8>> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
        let mut v: Vec<Vec<u8>> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn examples_compile() {
        for src in corpus() {
            if let Err(d) = compile("x.toy", &src) {
                panic!("{:?}", d);
            }
        }
    }

    #[test]
    fn never_panics_on_garbage_or_mutations() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let corpus = corpus();
        let mut runs = 0;
        for round in 0..3000 {
            let src: Vec<u8> = if round % 3 == 0 {
                (0..rng.next() % 200).map(|_| rng.next() as u8).collect()
            } else {
                let base = &corpus[(rng.next() as usize) % corpus.len()];
                let mut s = base.clone();
                for _ in 0..1 + rng.next() % 8 {
                    if s.is_empty() {
                        break;
                    }
                    let i = (rng.next() as usize) % s.len();
                    match rng.next() % 4 {
                        0 => s[i] = rng.next() as u8,
                        1 => {
                            s.remove(i);
                        }
                        2 => s.insert(i, b"{}()[];,.=+-*/<>!&|\"x0"[(rng.next() % 22) as usize]),
                        _ => s.truncate(i),
                    }
                }
                s
            };
            let _ = compile("fuzz.toy", &src);
            runs += 1;
        }
        assert_eq!(runs, 3000);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!(
            "fn main() {{ let x = {}1{}; }}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        let e = compile("d.toy", deep.as_bytes()).unwrap_err();
        assert!(
            e.iter().any(|d| d.message.contains("nested too deeply")),
            "{e:?}"
        );
        let blocks = format!("fn main() {}{}", "{".repeat(50_000), "}".repeat(50_000));
        assert!(compile("b.toy", blocks.as_bytes()).is_err());
    }

    /// Runs `f` on a thread with the stack the `toyvm` command gives the
    /// front end (its trees are up to `parser::MAX_TREE_DEPTH` deep).
    fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn operator_chains_up_to_the_limit_compile() {
        let n = parser::MAX_TREE_DEPTH as usize;
        on_big_stack(move || {
            // `n` operands: n - 1 operators under the call.
            let src = format!("fn main() {{ print({}); }}", vec!["1"; n].join(" + "));
            assert!(compile("c.toy", src.as_bytes()).is_ok());
            let src = format!("fn main() {{ print({}); }}", vec!["1"; n + 2].join(" - "));
            let e = compile("c.toy", src.as_bytes()).unwrap_err();
            assert_eq!(e.len(), 1, "{e:?}");
            assert!(e[0].message.starts_with("expression too deep"), "{e:?}");
            // Field and index chains are as deep as they are long.
            let src = format!(
                "struct N {{ n: N }}\nfn main() {{ let x: N; print(x{}); }}",
                ".n".repeat(n + 1)
            );
            let e = compile("c.toy", src.as_bytes()).unwrap_err();
            assert_eq!(e.len(), 1, "{e:?}");
            assert!(e[0].message.starts_with("expression too deep"), "{e:?}");
        });
    }

    #[test]
    fn else_if_chains_up_to_the_limit_compile() {
        let n = parser::MAX_TREE_DEPTH as usize;
        let chain = |branches: usize| {
            let mut s = String::from("fn f(x: int) -> int {\n  if x == 0 { return 0; }\n");
            for i in 1..branches {
                s += &format!("  else if x == {i} {{ return {i}; }}\n");
            }
            s + "  else { return -1; }\n}\nfn main() { print(f(3)); }\n"
        };
        on_big_stack(move || {
            assert!(compile("e.toy", chain(n).as_bytes()).is_ok());
            let e = compile("e.toy", chain(n + 5).as_bytes()).unwrap_err();
            assert_eq!(e.len(), 1, "{e:?}");
            assert_eq!((e[0].line, e[0].col), (n as u32 + 2, 8), "{e:?}");
            assert!(e[0].message.starts_with("statements nested too deeply"));
        });
    }

    #[test]
    fn forward_global_reference_is_one_error() {
        let e = compile(
            "g.toy",
            b"global a: int = b + 1;\nglobal b: int = 5;\nfn main() { print(a); }\n",
        )
        .unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!((e[0].line, e[0].col), (1, 17));
        assert!(e[0]
            .message
            .starts_with("global 'b' is used before it is initialized"));
        // An undefined name in an initializer: no follow-on type mismatch.
        let e = compile("g.toy", b"global a: int = zz + 1;\nfn main() { }\n").unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].message, "undefined variable 'zz'");
        // Functions see every global.
        assert!(compile(
            "g.toy",
            b"fn main() { print(late); }\nglobal late: int = 3;\n"
        )
        .is_ok());
    }

    #[test]
    fn errors_carry_positions() {
        let e = compile("p.toy", b"fn main() {\n  let x: int = 1.5;\n}\n").unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].line, e[0].col), (2, 3));
        assert_eq!(
            e[0].render("p.toy"),
            "p.toy:2:3: error: type mismatch: cannot initialize int with float"
        );
    }

    #[test]
    fn struct_literal_not_allowed_in_conditions() {
        let src = b"struct P { x: int }\nfn main() {\n  let p = P { x: 1 };\n  let q = p;\n  if p == q { print(1); }\n  if (p == P { x: 1 }) { print(2); }\n}\n";
        assert!(compile("s.toy", src).is_ok());
    }

    #[test]
    fn precedence() {
        let p = compile(
            "q.toy",
            b"fn main() { print(1 + 2 * 3 << 1 & 12 | 1 ^ 3); }",
        )
        .unwrap();
        let body = &p.funcs[p.main].body;
        assert_eq!(body.len(), 1);
        // ((1 + 2*3) << 1) & 12 = 14 & 12 = 12; 1 ^ 3 = 2; 12 | 2 = 14: `|` binds loosest.
        let ir::SK::Expr(e) = &body[0].kind else {
            panic!()
        };
        let ir::EK::Builtin(_, args) = &e.kind else {
            panic!()
        };
        assert!(matches!(args[0].kind, ir::EK::Bin(ir::Op::IOr, _, _)));
    }
}
