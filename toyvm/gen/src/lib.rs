//! A generator of random, well-typed, terminating Toy programs, driven by bytes
//! (a fuzzer's input, or a seeded generator in tests). Programs use structs,
//! arrays, strings, floats, loops, calls, allocation, exceptions (thrown and from
//! runtime errors), `sync` and `gc()`, and print what they compute, so that the
//! interpreter and the JIT can be compared on them.
//!
//! Termination: functions only call functions declared before them (no recursion),
//! loops have small constant bounds, and a cost budget caps calls inside loops.
//!
//! A crate of its own, so that `arbitrary` stays out of toyvm's production build:
//! `toyvm/tests/differential.rs` and the `codegen` fuzz target use it.

use arbitrary::Unstructured;

#[derive(Clone, PartialEq, Debug)]
enum T {
    Int,
    Float,
    Bool,
    Str,
    Arr,
    S(usize),
}

struct Func {
    params: Vec<T>,
    cost: u64,
}

/// Generates a program from `data`. Always returns a program the checker accepts.
pub fn program(data: &[u8]) -> String {
    let mut g = Gen {
        u: Unstructured::new(data),
        out: String::new(),
        structs: Vec::new(),
        funcs: Vec::new(),
        scopes: Vec::new(),
        next: 0,
        cost: 0,
        loop_mult: 1,
    };
    g.program();
    g.out
}

struct Gen<'a> {
    u: Unstructured<'a>,
    out: String,
    structs: Vec<Vec<T>>,
    funcs: Vec<Func>,
    scopes: Vec<Vec<(String, T)>>,
    next: usize,
    cost: u64,
    loop_mult: u64,
}

const MAX_COST: u64 = 20_000;

impl Gen<'_> {
    fn n(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        self.u.int_in_range(0..=max).unwrap_or(0)
    }
    fn chance(&mut self, pct: u32) -> bool {
        self.n(99) < pct
    }
    fn fresh(&mut self, p: &str) -> String {
        self.next += 1;
        format!("{p}{}", self.next)
    }
    fn ty(&mut self) -> T {
        let ns = self.structs.len() as u32;
        match self.n(5 + ns) {
            0 | 1 => T::Int,
            2 => T::Float,
            3 => T::Bool,
            4 => T::Str,
            5 => T::Arr,
            k => T::S((k - 6) as usize),
        }
    }
    fn tname(&self, t: &T) -> String {
        match t {
            T::Int => "int".into(),
            T::Float => "float".into(),
            T::Bool => "bool".into(),
            T::Str => "str".into(),
            T::Arr => "[int]".into(),
            T::S(i) => format!("S{i}"),
        }
    }
    fn locals_of(&self, t: &T) -> Vec<String> {
        self.scopes
            .iter()
            .flatten()
            .filter(|(_, lt)| lt == t)
            .map(|(n, _)| n.clone())
            .collect()
    }
    fn declare(&mut self, name: &str, t: T) {
        self.scopes
            .last_mut()
            .expect("scope")
            .push((name.to_string(), t));
    }

    fn program(&mut self) {
        let ns = 1 + self.n(2) as usize;
        for i in 0..ns {
            let nf = 1 + self.n(3) as usize;
            let mut fields = Vec::new();
            for _ in 0..nf {
                let t = match self.n(5) {
                    0 | 1 => T::Int,
                    2 => T::Float,
                    3 => T::Str,
                    4 => T::Arr,
                    _ => T::S(self.n(i as u32) as usize),
                };
                fields.push(t);
            }
            let decl: Vec<String> = fields
                .iter()
                .enumerate()
                .map(|(k, t)| format!("f{k}: {}", self.tname_fwd(t, i)))
                .collect();
            self.out
                .push_str(&format!("struct S{i} {{ {} }}\n", decl.join(", ")));
            self.structs.push(fields);
        }
        let nfun = self.n(4) as usize;
        for fi in 0..nfun {
            let np = self.n(3) as usize;
            let params: Vec<T> = (0..np).map(|_| self.ty()).collect();
            self.scopes = vec![Vec::new()];
            let names: Vec<String> = (0..np).map(|k| format!("p{k}")).collect();
            for (n, t) in names.iter().zip(&params) {
                self.declare(n, t.clone());
            }
            let ps: Vec<String> = names
                .iter()
                .zip(&params)
                .map(|(n, t)| format!("{n}: {}", self.tname(t)))
                .collect();
            self.out
                .push_str(&format!("fn g{fi}({}) -> int {{\n", ps.join(", ")));
            self.cost = 1;
            self.loop_mult = 1;
            self.block_body(1, 4);
            let r = self.expr(&T::Int, 0);
            self.out.push_str(&format!("  return {r};\n}}\n"));
            let cost = self.cost;
            self.funcs.push(Func { params, cost });
        }
        // Every program has an object live across a collection, so that a moving
        // configuration always has something to move (and the program reads it
        // back after the move).
        self.out
            .push_str("fn main() {\n  let moved = [1, 2, 3];\n  gc();\n  print(moved);\n");
        self.scopes = vec![Vec::new()];
        self.cost = 1;
        self.loop_mult = 1;
        self.block_body(1, 10);
        self.out.push_str("}\n");
    }

    /// Struct field types may refer to any struct (declared later too).
    fn tname_fwd(&self, t: &T, _i: usize) -> String {
        self.tname(t)
    }

    fn indent(&mut self, d: u32) {
        for _ in 0..d {
            self.out.push_str("  ");
        }
    }

    fn block_body(&mut self, d: u32, max: u32) {
        let n = self.n(max);
        for _ in 0..n {
            if self.u.is_empty() {
                break;
            }
            self.stmt(d);
        }
    }

    fn stmt(&mut self, d: u32) {
        let nested = d < 4;
        match self.n(13) {
            0..=2 => {
                let t = self.ty();
                let name = self.fresh("v");
                let e = self.expr(&t, 0);
                self.indent(d);
                let tn = self.tname(&t);
                self.out.push_str(&format!("let {name}: {tn} = {e};\n"));
                self.declare(&name, t);
            }
            3 => {
                let t = self.ty();
                let ls = self.locals_of(&t);
                if let Some(l) = ls.first().cloned() {
                    let i = self.n(ls.len() as u32 - 1) as usize;
                    let l = ls.get(i).cloned().unwrap_or(l);
                    let e = self.expr(&t, 0);
                    self.indent(d);
                    self.out.push_str(&format!("{l} = {e};\n"));
                }
            }
            4 | 5 => {
                let t = self.ty();
                let e = self.expr(&t, 0);
                self.indent(d);
                self.out.push_str(&format!("print({e});\n"));
            }
            6 if nested => {
                let c = self.expr(&T::Bool, 0);
                self.indent(d);
                self.out.push_str(&format!("if {c} {{\n"));
                self.scoped(d + 1, 3);
                self.indent(d);
                self.out.push_str("} else {\n");
                self.scoped(d + 1, 3);
                self.indent(d);
                self.out.push_str("}\n");
            }
            7 if nested => {
                let k = 1 + self.n(4);
                let i = self.fresh("i");
                self.indent(d);
                self.out.push_str(&format!("for {i} in 0..{k} {{\n"));
                let saved = self.loop_mult;
                self.loop_mult *= k as u64;
                self.scopes.push(vec![(i.clone(), T::Int)]);
                self.block_body(d + 1, 3);
                if self.chance(20) {
                    let at = self.n(3);
                    self.indent(d + 1);
                    self.out.push_str(&format!("if {i} == {at} {{ break; }}\n"));
                }
                self.scopes.pop();
                self.loop_mult = saved;
                self.indent(d);
                self.out.push_str("}\n");
            }
            8 if nested => {
                let w = self.fresh("w");
                let k = 1 + self.n(3);
                self.indent(d);
                self.out.push_str(&format!("let {w} = 0;\n"));
                self.indent(d);
                self.out.push_str(&format!("while {w} < {k} {{\n"));
                self.indent(d + 1);
                self.out.push_str(&format!("{w} += 1;\n"));
                let saved = self.loop_mult;
                self.loop_mult *= k as u64;
                self.scoped(d + 1, 3);
                self.loop_mult = saved;
                self.indent(d);
                self.out.push_str("}\n");
            }
            9 if nested => {
                let e = self.fresh("e");
                self.indent(d);
                self.out.push_str("try {\n");
                self.scoped(d + 1, 3);
                self.indent(d);
                self.out.push_str(&format!("}} catch {e} {{\n"));
                self.indent(d + 1);
                self.out.push_str(&format!("print(\"caught \" + {e});\n"));
                self.indent(d);
                self.out.push_str("}\n");
            }
            10 => {
                let c = self.expr(&T::Bool, 0);
                let m = self.expr(&T::Str, 0);
                self.indent(d);
                self.out
                    .push_str(&format!("if {c} {{ throw \"thrown \" + {m}; }}\n"));
            }
            11 => {
                // field or element store
                let si = self.n(self.structs.len() as u32 - 1) as usize;
                let ls = self.locals_of(&T::S(si));
                if let Some(l) = ls.first().cloned() {
                    let fi = self.n(self.structs[si].len() as u32 - 1) as usize;
                    let ft = self.structs[si][fi].clone();
                    let e = self.expr(&ft, 0);
                    self.indent(d);
                    self.out.push_str(&format!("{l}.f{fi} = {e};\n"));
                } else if let Some(a) = self.locals_of(&T::Arr).first().cloned() {
                    let i = self.expr(&T::Int, 1);
                    let e = self.expr(&T::Int, 0);
                    self.indent(d);
                    self.out.push_str(&format!("{a}[{i}] = {e};\n"));
                }
            }
            12 if nested => {
                let si = self.n(self.structs.len() as u32 - 1) as usize;
                if let Some(l) = self.locals_of(&T::S(si)).first().cloned() {
                    self.indent(d);
                    self.out.push_str(&format!("sync ({l}) {{\n"));
                    self.scoped(d + 1, 2);
                    self.indent(d);
                    self.out.push_str("}\n");
                }
            }
            13 => {
                self.indent(d);
                self.out.push_str("gc();\n");
            }
            _ => {
                let e = self.expr(&T::Int, 0);
                self.indent(d);
                self.out.push_str(&format!("print({e});\n"));
            }
        }
    }

    fn scoped(&mut self, d: u32, max: u32) {
        self.scopes.push(Vec::new());
        self.block_body(d, max);
        self.scopes.pop();
    }

    fn local_or(&mut self, t: &T) -> Option<String> {
        let ls = self.locals_of(t);
        if ls.is_empty() || self.chance(40) {
            return None;
        }
        let i = self.n(ls.len() as u32 - 1) as usize;
        Some(ls[i].clone())
    }

    fn expr(&mut self, t: &T, depth: u32) -> String {
        if let Some(l) = self.local_or(t) {
            return l;
        }
        let leaf = depth >= 3 || self.u.is_empty();
        match t {
            T::Int => {
                if leaf {
                    return match self.n(5) {
                        0 => "9223372036854775807".into(),
                        1 => format!("(-{})", self.n(1000)),
                        _ => self.n(100).to_string(),
                    };
                }
                let d = depth + 1;
                match self.n(14) {
                    0..=4 => {
                        let ops = ["+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^"];
                        let op = ops[self.n(9) as usize];
                        let (a, b) = (self.expr(&T::Int, d), self.expr(&T::Int, d));
                        format!("({a} {op} {b})")
                    }
                    5 => {
                        let a = self.expr(&T::Arr, d);
                        format!("len({a})")
                    }
                    6 => {
                        let (a, i) = (self.base(&T::Arr, d), self.expr(&T::Int, d));
                        format!("{a}[{i}]")
                    }
                    7 => {
                        let si = self.n(self.structs.len() as u32 - 1) as usize;
                        match self.structs[si].iter().position(|f| *f == T::Int) {
                            Some(fi) => {
                                let s = self.base(&T::S(si), d);
                                format!("{s}.f{fi}")
                            }
                            None => self.n(9).to_string(),
                        }
                    }
                    8 | 9 => self.call(d),
                    10 => {
                        let x = self.expr(&T::Float, d);
                        format!("int({x})")
                    }
                    11 => {
                        let (a, b) = (self.expr(&T::Int, d), self.expr(&T::Int, d));
                        let f = ["min", "max"][self.n(1) as usize];
                        format!("{f}({a}, {b})")
                    }
                    12 => {
                        let (s, i) = (self.expr(&T::Str, d), self.expr(&T::Int, d));
                        format!("byte({s}, {i})")
                    }
                    13 => {
                        let a = self.expr(&T::Int, d);
                        format!("abs({a})")
                    }
                    _ => {
                        let a = self.expr(&T::Int, d);
                        format!("parse_int(str({a}))")
                    }
                }
            }
            T::Float => {
                if leaf {
                    return ["0.5", "1.0", "2.5e-3", "1e16", "(-3.25)", "0.1"][self.n(5) as usize]
                        .into();
                }
                let d = depth + 1;
                match self.n(4) {
                    0 | 1 => {
                        let op = ["+", "-", "*", "/"][self.n(3) as usize];
                        let (a, b) = (self.expr(&T::Float, d), self.expr(&T::Float, d));
                        format!("({a} {op} {b})")
                    }
                    2 => {
                        let a = self.expr(&T::Int, d);
                        format!("float({a})")
                    }
                    3 => {
                        let a = self.expr(&T::Float, d);
                        format!("sqrt(abs({a}))")
                    }
                    _ => {
                        let a = self.expr(&T::Float, d);
                        format!("floor({a})")
                    }
                }
            }
            T::Bool => {
                if leaf {
                    return ["true", "false"][self.n(1) as usize].into();
                }
                let d = depth + 1;
                match self.n(4) {
                    0 => {
                        let op = ["<", "<=", ">", ">=", "==", "!="][self.n(5) as usize];
                        let (a, b) = (self.expr(&T::Int, d), self.expr(&T::Int, d));
                        format!("({a} {op} {b})")
                    }
                    1 => {
                        let op = ["&&", "||"][self.n(1) as usize];
                        let (a, b) = (self.expr(&T::Bool, d), self.expr(&T::Bool, d));
                        format!("({a} {op} {b})")
                    }
                    2 => {
                        let a = self.expr(&T::Bool, d);
                        format!("!{a}")
                    }
                    3 => {
                        let (a, b) = (self.expr(&T::Str, d), self.expr(&T::Str, d));
                        format!("({a} == {b})")
                    }
                    _ => {
                        let si = self.n(self.structs.len() as u32 - 1) as usize;
                        let s = self.expr(&T::S(si), d);
                        format!("({s} == null)")
                    }
                }
            }
            T::Str => {
                if leaf {
                    return ["\"a\"", "\"xyz\"", "\"\"", "\"tab\\t\""][self.n(3) as usize].into();
                }
                let d = depth + 1;
                match self.n(3) {
                    0 => {
                        let (a, b) = (self.expr(&T::Str, d), self.expr(&T::Str, d));
                        format!("({a} + {b})")
                    }
                    1 => {
                        let a = self.expr(&T::Int, d);
                        format!("str({a})")
                    }
                    2 => {
                        let a = self.expr(&T::Float, d);
                        format!("str({a})")
                    }
                    _ => {
                        let a = self.expr(&T::Int, d);
                        format!("chr({a} & 127)")
                    }
                }
            }
            T::Arr => {
                if leaf {
                    return "[1, 2, 3]".into();
                }
                let d = depth + 1;
                match self.n(3) {
                    0 => {
                        let n = self.expr(&T::Int, d);
                        format!("new [int](({n}) % 8)")
                    }
                    1 => {
                        let (a, b) = (self.expr(&T::Int, d), self.expr(&T::Int, d));
                        format!("[{a}, {b}]")
                    }
                    2 => "null".into(),
                    _ => {
                        let si = self.n(self.structs.len() as u32 - 1) as usize;
                        match self.structs[si].iter().position(|f| *f == T::Arr) {
                            Some(fi) => {
                                let s = self.base(&T::S(si), d);
                                format!("{s}.f{fi}")
                            }
                            None => "[0]".into(),
                        }
                    }
                }
            }
            T::S(si) => {
                if leaf || self.chance(15) {
                    return "null".into();
                }
                let d = depth + 1;
                let fields = self.structs[*si].clone();
                let fs: Vec<String> = fields
                    .iter()
                    .enumerate()
                    .map(|(k, ft)| format!("f{k}: {}", self.expr(ft, d)))
                    .collect();
                format!("S{si} {{ {} }}", fs.join(", "))
            }
        }
    }

    /// An expression usable as the base of `.f` or `[i]`: never the bare `null`
    /// literal (which has no struct or array type); it may still evaluate to null.
    fn base(&mut self, t: &T, d: u32) -> String {
        let e = self.expr(t, d);
        if e != "null" {
            return e;
        }
        match t {
            T::S(si) => {
                let fields = self.structs[*si].clone();
                let fs: Vec<String> = fields
                    .iter()
                    .enumerate()
                    .map(|(k, ft)| format!("f{k}: {}", self.expr(ft, 3)))
                    .collect();
                format!("S{si} {{ {} }}", fs.join(", "))
            }
            _ => "[0]".into(),
        }
    }

    fn call(&mut self, d: u32) -> String {
        let n = self.funcs.len();
        if n == 0 {
            return "7".into();
        }
        let k = self.n(n as u32 - 1) as usize;
        let c = self.funcs[k].cost.saturating_mul(self.loop_mult);
        if self.cost.saturating_add(c) > MAX_COST {
            return "11".into();
        }
        self.cost += c;
        let ps = self.funcs[k].params.clone();
        let args: Vec<String> = ps.iter().map(|t| self.expr(t, d)).collect();
        format!("g{k}({})", args.join(", "))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_programs_type_check() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        for i in 0..300 {
            let bytes: Vec<u8> = (0..2000)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let src = super::program(&bytes);
            if let Err(d) = toyvm::lang::compile("gen.toy", src.as_bytes()) {
                panic!("seed {i}: generated program does not compile: {d:?}\n{src}");
            }
        }
    }
}
