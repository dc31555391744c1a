//! Generated programs, differential: a small seeded generator writes Lua
//! programs (many short snippets each, to amortize process start) that
//! exercise integer and float arithmetic (wraparound, `//` and `%` with
//! negative and zero operands, float formatting), comparisons, concatenation
//! and string<->number coercions, locals, upvalues and closures made in loops,
//! tables (array and hash parts, `#` on sequences, the table library),
//! multiple results, varargs and `select`, and `pcall` of code that raises
//! (the message text compared, its `SOURCE:LINE:` prefix cut). Every program
//! prints its results; luavm (default, `--interp`, and a moving collector for
//! a subset) must print what `lua5.4` prints, with the same exit status.
//!
//! Seeds are fixed: a failure is reproducible. `LUAVM_GEN_PROGRAMS=N` runs N
//! programs instead of the default; `LUAVM_GEN_SEED=S` starts at seed S. A
//! differing program is written to the test's temporary directory and the
//! message names its first differing snippet.
//!
//! Without `lua5.4` the test fails when `LUAVM_REQUIRE_LUA` is set and
//! otherwise says loudly that it compared nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Programs per run (each of [`SNIPPETS`] snippets).
const PROGRAMS: u64 = 240;
const SNIPPETS: usize = 36;
/// Every `MOVING_EVERY`th program also runs under a moving collector.
const MOVING_EVERY: u64 = 4;

// ------------------------------------------------------------------ PRNG

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

// ------------------------------------------------------------------ generator

/// Integer literals (as Lua source).
const INTS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "3",
    "-3",
    "5",
    "-7",
    "10",
    "16",
    "100",
    "255",
    "-256",
    "1000000",
    "2147483647",
    "4294967296",
    "9007199254740993",
    "math.maxinteger",
    "math.mininteger",
    "(math.maxinteger - 1)",
    "(math.mininteger + 1)",
    "0x7fffffffffffffff",
    "0xffffffffffffffff",
    "0x10",
    "-0x80",
];

/// Float literals.
const FLOATS: &[&str] = &[
    "0.0",
    "-0.0",
    "0.5",
    "-0.5",
    "1.5",
    "2.5",
    "-2.5",
    "3.0",
    "-7.25",
    "0.1",
    "1e15",
    "1e16",
    "123456789012.5",
    "1e100",
    "-1e308",
    "2^53",
    "2^63",
    "-2^63",
    "9223372036854775808",
    "1/3",
    "math.huge",
    "-math.huge",
    "math.pi",
    "0x1p-2",
    "5e-324",
    "3.14159",
];

/// Strings that convert (or do not) to numbers.
const NUMSTRS: &[&str] = &[
    "\"10\"",
    "\" 7 \"",
    "\"0x10\"",
    "\"1e2\"",
    "\"3.0\"",
    "\"-2\"",
    "\"0.5\"",
    "\"9223372036854775807\"",
    "\"9223372036854775808\"",
    "\"abc\"",
    "\"\"",
    "\"1e\"",
    "\" 0x1p4 \"",
    "\"inf\"",
    "\"nan\"",
    "\"10 x\"",
    "\"0x\"",
    "\".5\"",
    "\"5.\"",
    "\"1 2\"",
];

/// Plain strings.
const STRS: &[&str] = &[
    "\"\"",
    "\"a\"",
    "\"b\"",
    "\"ab\"",
    "\"abc\"",
    "\"B\"",
    "\"a\\0b\"",
    "\"10\"",
    "\"9\"",
    "\"-1\"",
    "\"Z\"",
    "\"hello world\"",
];

fn number(r: &mut Rng) -> String {
    match r.below(10) {
        0..=4 => r.pick(INTS).to_string(),
        5..=7 => r.pick(FLOATS).to_string(),
        8 => r.range(-20, 20).to_string(),
        _ => format!("{}.{}", r.range(-50, 50), r.range(0, 99)),
    }
}

fn operand(r: &mut Rng) -> String {
    match r.below(12) {
        0 => r.pick(NUMSTRS).to_string(),
        _ => number(r),
    }
}

const ARITH: &[&str] = &["+", "-", "*", "/", "//", "%", "^"];
const BITS: &[&str] = &["&", "|", "~", "<<", ">>"];

/// An arithmetic expression over `vars` (names of locals/upvalues holding
/// numbers) and literals.
fn arith_expr(r: &mut Rng, vars: &[&str], depth: u32) -> String {
    if depth == 0 || r.chance(30) {
        return if !vars.is_empty() && r.chance(60) {
            r.pick(vars).to_string()
        } else {
            operand(r)
        };
    }
    match r.below(10) {
        0 => format!("(- {})", arith_expr(r, vars, depth - 1)),
        1 => {
            let op = r.pick(BITS);
            format!(
                "({} {op} {})",
                arith_expr(r, vars, depth - 1),
                arith_expr(r, vars, depth - 1)
            )
        }
        2 => format!("(~{})", arith_expr(r, vars, depth - 1)),
        3 => {
            let f = r.pick(&[
                "math.floor",
                "math.ceil",
                "math.abs",
                "math.tointeger",
                "math.type",
                "math.fmod",
                "math.max",
                "math.min",
                "math.ult",
                "math.sqrt",
            ]);
            let two = matches!(*f, "math.fmod" | "math.max" | "math.min" | "math.ult");
            if two {
                format!(
                    "{f}({}, {})",
                    arith_expr(r, vars, depth - 1),
                    arith_expr(r, vars, depth - 1)
                )
            } else {
                format!("{f}({})", arith_expr(r, vars, depth - 1))
            }
        }
        _ => {
            let op = r.pick(ARITH);
            format!(
                "({} {op} {})",
                arith_expr(r, vars, depth - 1),
                arith_expr(r, vars, depth - 1)
            )
        }
    }
}

fn snippet_arith(r: &mut Rng, out: &mut String) {
    let (a, b, c) = (operand(r), number(r), number(r));
    let _ = writeln!(out, "do local a, b, c = {a}, {b}, {c}");
    for _ in 0..r.range(2, 5) {
        let e = arith_expr(r, &["a", "b", "c"], 3);
        let _ = writeln!(out, "  try(function() return {e} end)");
    }
    // The same on constants (no locals) and through an upvalue chain.
    let e = arith_expr(r, &[], 2);
    let _ = writeln!(out, "  try(function() return {e} end)");
    let e = arith_expr(r, &["a", "b"], 2);
    let _ = writeln!(
        out,
        "  local function outer() return function() return {e} end end try(outer())"
    );
    let _ = writeln!(out, "end");
}

/// Integer division and modulo with signs and zeros, both subtypes.
fn snippet_divmod(r: &mut Rng, out: &mut String) {
    let pool = [
        "0",
        "-0.0",
        "0.0",
        "1",
        "-1",
        "3",
        "-3",
        "7",
        "-7",
        "2.5",
        "-2.5",
        "math.maxinteger",
        "math.mininteger",
        "math.huge",
        "-math.huge",
        "5.0",
        "-5.0",
        "0/0",
    ];
    let _ = write!(out, "do local xs = {{");
    for _ in 0..4 {
        let _ = write!(out, "{}, ", r.pick(&pool));
    }
    let _ = writeln!(out, "}}");
    let _ = writeln!(
        out,
        "  for i = 1, #xs do for j = 1, #xs do local x, y = xs[i], xs[j] \
         try(function() return x // y, x % y, x / y end) end end"
    );
    let _ = writeln!(out, "end");
}

fn compare_operand(r: &mut Rng) -> String {
    match r.below(6) {
        0 => r.pick(STRS).to_string(),
        1 if r.chance(30) => r.pick(&["nil", "true", "{}", "print"]).to_string(),
        _ => number(r),
    }
}

fn snippet_compare(r: &mut Rng, out: &mut String) {
    for _ in 0..r.range(2, 4) {
        let (a, b) = if r.chance(50) {
            (number(r), number(r))
        } else if r.chance(50) {
            (r.pick(STRS).to_string(), r.pick(STRS).to_string())
        } else {
            (compare_operand(r), compare_operand(r))
        };
        let _ = writeln!(
            out,
            "do local a, b = {a}, {b} try(function() return a < b, a <= b, a > b, a >= b end) \
             show(a == b, a ~= b, rawequal(a, b)) end"
        );
    }
    // Integers against floats near 2^53 and 2^63 (exact comparison).
    let big = r.pick(&[
        "2^53",
        "2^53 + 1",
        "2^63",
        "-2^63",
        "1e308",
        "0/0",
        "math.huge",
    ]);
    let int = r.pick(&[
        "9007199254740993",
        "9007199254740992",
        "math.maxinteger",
        "math.mininteger",
        "0",
    ]);
    let _ = writeln!(
        out,
        "do local f, i = {big}, {int} show(i < f, i <= f, f < i, f <= i, i == f) end"
    );
}

fn snippet_concat(r: &mut Rng, out: &mut String) {
    for _ in 0..r.range(2, 4) {
        let pieces: Vec<String> = (0..r.range(2, 4))
            .map(|_| match r.below(5) {
                0 => r.pick(STRS).to_string(),
                1 => r.pick(NUMSTRS).to_string(),
                2 if r.chance(20) => r.pick(&["nil", "true", "{}"]).to_string(),
                _ => number(r),
            })
            .collect();
        let _ = writeln!(out, "try(function() return {} end)", pieces.join(" .. "));
    }
    let s = r.pick(NUMSTRS);
    let n = number(r);
    let base = r.pick(&["2", "8", "10", "16", "36"]);
    let _ = writeln!(
        out,
        "try(function() local s = {s} return tonumber(s), math.tointeger(s), s + 0 end)"
    );
    let _ = writeln!(
        out,
        "try(function() return tonumber({s}, {base}), tonumber(\"{}\", {base}) end)",
        r.pick(&[
            "ff",
            "-101",
            "zz",
            "777",
            " 10 ",
            "1.5",
            "7fffffffffffffff",
            "Z"
        ])
    );
    let _ = writeln!(
        out,
        "try(function() local n = {n} return tostring(n), #tostring(n), n .. \"\", string.format(\"%s|%d\", n, n) end)"
    );
    let _ = writeln!(
        out,
        "try(function() local s = {} return s:len(), s:upper(), s:rep(3, \",\"), s:sub({}, {}), s:byte(1, -1) end)",
        r.pick(STRS),
        r.range(-4, 4),
        r.range(-4, 4)
    );
}

fn loop_header(r: &mut Rng) -> String {
    match r.below(6) {
        0 => format!(
            "for i = {}, {}, {}",
            r.range(-3, 3),
            r.range(-3, 6),
            r.pick(&["1", "2", "-1", "-2", "3"])
        ),
        1 => format!(
            "for i = {}, {}, {}",
            r.pick(&["0.5", "1.0", "-1.5", "0"]),
            r.pick(&["3", "2.5", "-2", "4.0"]),
            r.pick(&["0.5", "1", "-0.75", "1.25"])
        ),
        2 => "for i = math.maxinteger - 2, math.maxinteger".to_string(),
        3 => "for i = math.mininteger, math.mininteger + 2".to_string(),
        4 => format!(
            "for i, v in ipairs({{{}}})",
            (0..r.range(0, 4))
                .map(|k| (k * 10).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => format!("for i = {}, 1, -1", r.range(-1, 4)),
    }
}

fn snippet_closures(r: &mut Rng, out: &mut String) {
    let start = r.range(-5, 5);
    let _ = writeln!(out, "do local fs, acc, n = {{}}, {start}, 0");
    let head = loop_header(r);
    let _ = writeln!(out, "  {head} do");
    let _ = writeln!(out, "    local j = i * 2 n = n + 1");
    match r.below(3) {
        0 => {
            let _ = writeln!(
                out,
                "    fs[n] = function(x) acc = acc + i j = j + 1 return i, j, acc, x end"
            );
        }
        1 => {
            let _ = writeln!(
                out,
                "    local k = n fs[n] = function(x) local function inner() k = k * 2 return k end return inner(), i, x end"
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "    fs[n] = function(...) local t = {{...}} acc = acc .. \"\" return #t, i, acc, ... end"
            );
        }
    }
    if r.chance(30) {
        let _ = writeln!(out, "    if n >= {} then break end", r.range(1, 3));
    }
    let _ = writeln!(out, "  end");
    let _ = writeln!(
        out,
        "  for k = 1, n do try(fs[k], k) end for k = n, 1, -1 do try(fs[k], -k) end show(acc, n)"
    );
    let _ = writeln!(out, "end");
    // goto: a backward loop and a `continue` label in nested loops.
    let _ = writeln!(
        out,
        "do local i, out = 1, {{}} ::top:: if i <= {} then out[#out + 1] = i i = i + {} goto top end \
         for j = 1, 3 do for k = 1, 3 do if k == {} then goto continue end out[#out + 1] = j * 10 + k ::continue:: end end \
         show(table.concat(out, ',')) end",
        r.range(0, 6),
        r.range(1, 3),
        r.range(0, 4)
    );
    // A counter factory with shared upvalues, and a while/repeat loop.
    let step = r.range(1, 3);
    let _ = writeln!(
        out,
        "do local function counter(s) local c = 0 return function() c = c + s return c end, function() return c end end \
         local inc, get = counter({step}) local inc2 = counter(-1) \
         local i = 0 while true do i = i + 1 inc() inc2() if i >= {} then break end end \
         repeat local z = get() i = i - 1 until z > {} or i <= 0 show(get(), inc2(), i) end",
        r.range(1, 6),
        r.range(0, 10)
    );
}

/// A key of a table operation (as Lua source) and its model key.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Key {
    Int(i64),
    Str(String),
    /// A float that is not an integer (the model only needs its text).
    Frac(String),
}

fn snippet_tables(r: &mut Rng, out: &mut String) {
    // Model: the array part as a sequence 1..=len, other keys apart.
    let mut seq: Vec<i64> = Vec::new();
    let mut other: BTreeMap<Key, i64> = BTreeMap::new();
    let mut next_val = 0i64;
    let _ = write!(out, "do local t = {{");
    for _ in 0..r.range(0, 4) {
        next_val += 1;
        seq.push(next_val);
        let _ = write!(out, "{next_val}, ");
    }
    let _ = writeln!(out, "}}");
    for _ in 0..r.range(3, 12) {
        next_val += 1;
        let v = next_val;
        match r.below(10) {
            0 => {
                let _ = writeln!(out, "  t[#t + 1] = {v}");
                seq.push(v);
            }
            1 => {
                let _ = writeln!(out, "  table.insert(t, {v})");
                seq.push(v);
            }
            2 => {
                let pos = r.range(1, seq.len() as i64 + 1);
                let _ = writeln!(out, "  table.insert(t, {pos}, {v})");
                seq.insert(pos as usize - 1, v);
            }
            3 if !seq.is_empty() => {
                let pos = r.range(1, seq.len() as i64);
                let _ = writeln!(out, "  show(table.remove(t, {pos}))");
                seq.remove(pos as usize - 1);
            }
            4 => {
                let _ = writeln!(out, "  show(table.remove(t))");
                seq.pop();
            }
            5 => {
                let name = r.pick(&["x", "y", "z", "len", "n"]).to_string();
                if r.chance(30) {
                    let _ = writeln!(out, "  t.{name} = nil");
                    other.remove(&Key::Str(name));
                } else {
                    let _ = writeln!(out, "  t.{name} = {v}");
                    other.insert(Key::Str(name), v);
                }
            }
            6 => {
                // An integral float key is the integer key.
                let pos = r.range(1, seq.len() as i64 + 1);
                let _ = writeln!(out, "  t[{pos}.0] = {v}");
                if pos as usize == seq.len() + 1 {
                    seq.push(v);
                } else {
                    seq[pos as usize - 1] = v;
                }
            }
            7 => {
                let k = *r.pick(&[0i64, -1, -100, i64::MIN]);
                let _ = writeln!(out, "  t[{k}] = {v}");
                other.insert(Key::Int(k), v);
            }
            8 => {
                let k = r.pick(&["1.5", "-0.25", "1e300"]).to_string();
                let _ = writeln!(out, "  t[{k}] = {v}");
                other.insert(Key::Frac(k), v);
            }
            _ if !seq.is_empty() => {
                let _ = writeln!(out, "  t[#t] = nil");
                seq.pop();
            }
            _ => {}
        }
    }
    // No positive integer key lies outside the sequence: `#t` has one border.
    assert!(other.keys().all(|k| !matches!(k, Key::Int(i) if *i > 0)));
    let _ = writeln!(out, "  show(#t, rawlen(t), select('#', table.unpack(t)))");
    let _ = writeln!(out, "  show(table.concat(t, \",\"), dump(t))");
    let _ = writeln!(
        out,
        "  local c = 0 for i, v in ipairs(t) do c = c + i * v end show(c, next({{}}), select('#', next(t)))"
    );
    // Fields assigned nil during the traversal (allowed).
    let _ = writeln!(
        out,
        "  local kept = 0 for k, v in pairs(t) do if v % {} == 0 then t[k] = nil else kept = kept + 1 end end show(kept, dump(t))",
        r.range(2, 4)
    );
    let _ = writeln!(out, "end");
    let _ = (seq, other);
    // Constructors with multiple results in the middle and at the end.
    let _ = writeln!(
        out,
        "do local function f(n) if n == 0 then return end return n, f(n - 1) end \
         local a, b, c = {{f({})}}, {{f({}), f({})}}, {{f({}), x = f(2), [f(1) + 10] = f(3), f({})}} \
         show(#a, #b, #c, dump(a), dump(b), dump(c)) end",
        r.range(0, 4),
        r.range(1, 3),
        r.range(0, 3),
        r.range(1, 3),
        r.range(0, 3)
    );
    // Sorting with and without a comparator; table.move.
    let n = r.range(0, 8);
    let vals: Vec<String> = (0..n).map(|_| r.range(-20, 20).to_string()).collect();
    let _ = writeln!(
        out,
        "do local t = {{{}}} table.sort(t) local u = {{{}}} table.sort(u, function(a, b) return a > b end) \
         show(table.concat(t, \" \"), table.concat(u, \" \"), dump(table.move(t, 1, #t, {}, {{}}))) end",
        vals.join(", "),
        vals.join(", "),
        r.range(-2, 3)
    );
}

fn vararg_values(r: &mut Rng) -> Vec<String> {
    (0..r.range(0, 5))
        .map(|_| match r.below(5) {
            0 => "nil".to_string(),
            1 => r.pick(STRS).to_string(),
            2 => "false".to_string(),
            _ => number(r),
        })
        .collect()
}

fn snippet_varargs(r: &mut Rng, out: &mut String) {
    let vs = vararg_values(r).join(", ");
    let k = r.range(-6, 6);
    let (i, j) = (r.range(-1, 4), r.range(-1, 6));
    let _ = writeln!(out, "do local function f(...) return ... end");
    let _ = writeln!(
        out,
        "  local function g(a, ...) local x, y = ... return select('#', ...), a, x, y, ... end"
    );
    let _ = writeln!(out, "  show(select('#', f({vs})), f({vs}))");
    let _ = writeln!(out, "  show(f({vs}), f({vs}))");
    let _ = writeln!(out, "  show((f({vs})))");
    let _ = writeln!(out, "  show(g({vs}))");
    let sel = if vs.is_empty() {
        k.to_string()
    } else {
        format!("{k}, {vs}")
    };
    let _ = writeln!(out, "  try(select, {sel})");
    let _ = writeln!(
        out,
        "  local p = table.pack({vs}) show(p.n, table.unpack(p, 1, p.n))"
    );
    let _ = writeln!(
        out,
        "  try(function() return table.unpack({{{vs}}}, {i}, {j}) end)"
    );
    let _ = writeln!(
        out,
        "  local function h(...) local a, b = ..., \"last\" return a, b, select(-1, \"x\", ...) end show(h({vs}))"
    );
    let _ = writeln!(out, "end");
}

/// Metamethods a generated metatable may have (name, Lua value).
const METAMETHODS: &[(&str, &str)] = &[
    ("__index", "function(t, k) return tostring(k) .. '!' end"),
    ("__index", "{x = 'from index', [1] = 'one'}"),
    (
        "__index",
        "setmetatable({}, {__index = function(_, k) return 'deep ' .. tostring(k) end})",
    ),
    (
        "__newindex",
        "function(t, k, v) rawset(t, k, tostring(v) .. '?') end",
    ),
    ("__newindex", "{}"),
    ("__add", "function(a, b) return 'add' end"),
    ("__sub", "function(a, b) return 7 end"),
    ("__mul", "function(a, b) return a, b end"),
    ("__div", "function(a, b) return nil end"),
    ("__mod", "function(a, b) return 'mod' end"),
    ("__idiv", "function(a, b) return 'idiv' end"),
    ("__pow", "function(a, b) return 'pow' end"),
    ("__unm", "function(a) return 'unm' end"),
    ("__band", "function(a, b) return 'band' end"),
    ("__shl", "function(a, b) return 'shl' end"),
    ("__bnot", "function(a) return 'bnot' end"),
    ("__concat", "function(a, b) return 'cat' end"),
    ("__len", "function(a) return 42 end"),
    ("__eq", "function(a, b) return true end"),
    ("__lt", "function(a, b) return true end"),
    ("__le", "function(a, b) return false end"),
    (
        "__call",
        "function(self, ...) return select('#', ...), ... end",
    ),
    (
        "__tostring",
        "function(a) return 'T' .. tostring(rawget(a, 'v')) end",
    ),
    ("__name", "'MyType'"),
    ("__metatable", "'locked'"),
];

/// Operations on `a` (a table with the generated metatable) and `b` (another).
const META_OPS: &[&str] = &[
    "return a.x, a[1], a.v, rawget(a, 'x')",
    "a.y = 5 return rawget(a, 'y'), a.y",
    "a[10] = false return rawget(a, 10)",
    "return a + 1",
    "return 1 + a",
    "return a - a",
    "return a * 2",
    "return a / 2",
    "return a % 2",
    "return a // 2",
    "return a ^ 2",
    "return -a",
    "return a & 1",
    "return 1 << a",
    "return ~a",
    "return a .. 's', 's' .. a, 1 .. a",
    "return #a, rawlen(a)",
    "return a == b, a ~= b, a == a, rawequal(a, b)",
    "return a < b, a <= b, a > b, a >= b",
    "return a < 1",
    "return a(1, nil, 3)",
    "return tostring(a) == tostring(a), type(a)",
    "return getmetatable(a) == getmetatable(b), type(getmetatable(a))",
    "return setmetatable(a, nil) == a",
    "return string.format('%s', a) == tostring(a)",
    "local n = 0 for k, v in pairs(a) do n = n + 1 end return n",
];

fn snippet_meta(r: &mut Rng, out: &mut String) {
    let mut fields = Vec::new();
    for _ in 0..r.range(1, 5) {
        let (k, v) = r.pick(METAMETHODS);
        if !fields.iter().any(|(f, _): &(&str, &str)| f == k) {
            fields.push((*k, *v));
        }
    }
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    let _ = writeln!(
        out,
        "do local mt = {{{}}} local a, b = setmetatable({{v = {}}}, mt), setmetatable({{v = 2}}, mt)",
        body.join(", "),
        r.range(-3, 3)
    );
    let printable = fields.iter().any(|(k, _)| *k == "__tostring");
    for _ in 0..r.range(3, 7) {
        let op = r.pick(META_OPS);
        if op.contains("tostring(a)") && !printable && !op.contains("==") {
            continue;
        }
        let _ = writeln!(out, "  try(function() {op} end)");
    }
    let _ = writeln!(out, "end");
}

/// `string.format` conversions and arguments.
const FORMATS: &[&str] = &[
    "%d", "%5d", "%-5d|", "%05d", "%+d", "%x", "%X", "%#x", "%o", "%c", "%e", "%.3e", "%10.2f",
    "%-10.1f|", "%g", "%.14g", "%.3g", "%G", "%a", "%s", "%10s|", "%-10s|", "%.2s", "%q", "%i",
    "%u", "%%", "%5.1s|",
];

const PATTERNS: &[&str] = &[
    "%d+",
    "%a+",
    "(%a)(%d)",
    "^%s*(.-)%s*$",
    "[aeiou]",
    "[^%w]",
    "%u%l*",
    "x*",
    ".-b",
    "(h)(e)",
    "%f[%w]%w+",
    "%b()",
    "()a",
    "[%d%.]+",
    "o",
    "l+",
    "%s",
];

const SUBJECTS: &[&str] = &[
    "\"hello world\"",
    "\"  padded  \"",
    "\"a1b2c3\"",
    "\"(x(y)z) (w)\"",
    "\"Hello There Friend\"",
    "\"3.14 and 2.71\"",
    "\"\"",
    "\"aaa\"",
    "\"x=1, y=2\"",
];

fn snippet_strings(r: &mut Rng, out: &mut String) {
    for _ in 0..r.range(1, 3) {
        let f = r.pick(FORMATS);
        let arg = match r.below(4) {
            0 => r.pick(STRS).to_string(),
            1 => r.pick(NUMSTRS).to_string(),
            _ => number(r),
        };
        let _ = writeln!(out, "try(string.format, \"[{f}]\", {arg})");
    }
    let subj = r.pick(SUBJECTS);
    let pat = r.pick(PATTERNS);
    let init = r.range(-3, 4);
    let _ = writeln!(
        out,
        "do local s, p = {subj}, \"{pat}\" try(string.find, s, p) try(string.find, s, p, {init}) \
         try(string.match, s, p) try(string.find, s, p, 1, true) \
         try(function() local n, t = 0, {{}} for a, b in s:gmatch(p) do n = n + 1 t[n] = tostring(a) .. '/' .. tostring(b) end return n, table.concat(t, ',') end)"
    );
    let repl = r.pick(&[
        "\"<%0>\"",
        "\"%1%1\"",
        "{hello = 'HI', a = false, l = 1}",
        "function(x) if x == 'o' then return nil end return x:upper() end",
        "\"%%\"",
        "\"%9\"",
    ]);
    let _ = writeln!(
        out,
        "  try(string.gsub, s, p, {repl}) try(string.gsub, s, p, {repl}, {}) end",
        r.range(-1, 3)
    );
    let _ = writeln!(
        out,
        "try(function() local s = {} return s:rep({}), s:rep(2, '-'), s:reverse(), s:lower(), s:byte({}, {}), #s end)",
        r.pick(SUBJECTS),
        r.range(-1, 3),
        r.range(-5, 5),
        r.range(-5, 5)
    );
    let _ = writeln!(
        out,
        "try(function() return string.char({}, {}), ('%d'):rep(3, ' '):format(1, 2, 3) end)",
        r.range(0, 255),
        r.range(32, 126)
    );
}

/// Code that raises, with the message (or error value) printed.
const RAISES: &[&str] = &[
    "local x return x.y",
    "local x return x[1]",
    "return undefined_global.field",
    "local t = {} return t.a.b",
    "local t = {} t.f()",
    "local t = {} t:m()",
    "undefined_fn()",
    "local s = 'x' return s:nomethod()",
    "return 1 + {}",
    "local t = {} return t + 1",
    "local x return -x",
    "local b = true return b * 2",
    "return 'abc' + 1",
    "return '10' + '0x' ",
    "return {} .. 'x'",
    "local n return 'x' .. n",
    "return 1 < 'x'",
    "return {} < {}",
    "return nil > 1",
    "return #nil",
    "local n = 5 return #n",
    "return 1 // 0",
    "return 1 % 0",
    "return math.mininteger // 0",
    "return 1.5 | 0",
    "return '3.5' & 1",
    "return 2^64 >> 1",
    "return ~1.25",
    "return {} & 1",
    "local t = {} t[nil] = 1",
    "local t = {} t[0/0] = 1",
    "error('plain')",
    "error('level0', 0)",
    "error('level2', 2)",
    "error()",
    "error(nil)",
    "error(42)",
    "error(4.5)",
    "error(true)",
    "error({code = 7})",
    "error(setmetatable({}, {__tostring = function() return 'custom' end}))",
    "assert(false)",
    "assert(nil, 'assert message')",
    "assert(1 == 2, 42)",
    "return math.floor('x')",
    "return math.floor({})",
    "return ('x'):rep()",
    "return string.rep('x', 2, {})",
    "return setmetatable(1, {})",
    "return tonumber('10', 99)",
    "return tonumber(10, 16)",
    "return select(0, 1)",
    "return select(-5, 1)",
    "return select('x')",
    "for i = 1, 10, 0 do end",
    "for i = 'a', 2 do end",
    "for i = 1, {} do end",
    "for i = 1.5, 2, 0 do end",
    "return ipairs()",
    "return table.concat({1, {}, 3})",
    "return table.insert({}, 1, 2, 3)",
    "return table.insert({}, 5, 2)",
    "return string.char(256)",
    "return string.format('%d', 1.5)",
    "return string.format('%d', '1.0')",
    "return ('x'):sub()",
    "return math.tointeger()",
    "return rawlen(5)",
    "return next({}, 'nokey')",
    "return pcall()",
    "local f = 5 f()",
    "local t = setmetatable({}, {__index = function(t, k) error('idx ' .. k) end}) return t.foo",
    "local t = setmetatable({}, {__add = function(a, b) return 'added' end}) return t + 1, 1 + t",
    "return select(2, pcall(error, 'inner')) .. '!'",
    "return pcall(pcall, error, 'x')",
    "return xpcall(error, function(m) return 'handled ' .. tostring(m) end, 'boom')",
    "local a <const> = 1 local b <close> = nil return a",
    "return tostring()",
    "return ('%d'):format(2^63)",
    "return math.random(3, 1)",
    "return string.sub()",
    "local t = setmetatable({}, {__newindex = function(t, k, v) rawset(t, k, v * 2) end}) t.x = 4 return t.x",
    "local t = setmetatable({}, {__call = function(self, a) return 'called', a end}) return t(9)",
];

fn snippet_errors(r: &mut Rng, out: &mut String) {
    for _ in 0..r.range(2, 5) {
        let code = r.pick(RAISES);
        let _ = writeln!(out, "try(function() {code} end)");
    }
    // Nested pcall: errors do not escape, results pass through.
    let code = r.pick(RAISES);
    let _ = writeln!(
        out,
        "show(pcall(function() local ok, e = pcall(function() {code} end) return ok, clean(e), 'after' end))"
    );
}

/// The helpers every program starts with: `show` prints values with their
/// number subtype; `try` calls a function in protected mode and prints its
/// results or its error (position cut); `dump` lists a table's entries in a
/// fixed order.
const PRELUDE: &str = r##"
local function fmt(v)
  local ty = math.type(v)
  if ty == "integer" then return "i:" .. tostring(v) end
  if ty == "float" then return "f:" .. tostring(v) end
  local t = type(v)
  if t == "string" then return "'" .. v .. "'" end
  if t == "table" or t == "function" then return t end
  return tostring(v)
end
local function show(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = fmt((select(i, ...))) end
  print(n, table.concat(parts, " "))
end
local function clean(e)
  if type(e) == "string" then return (e:gsub("^[^:\n]*:%d+: ", "")) end
  if type(e) == "table" then return "table:" .. tostring(e.code) end
  return e
end
local function try(f, ...)
  local r = table.pack(pcall(f, ...))
  if r[1] then show(table.unpack(r, 2, r.n)) else print("E", fmt(clean(r[2]))) end
end
local function dump(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    return a < b
  end)
  local parts = {}
  for i, k in ipairs(ks) do parts[i] = fmt(k) .. "=" .. fmt(t[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end
"##;

/// A program: the prelude and `SNIPPETS` snippets, each announced by a line
/// `-- #N` in the source and `#N` in the output.
fn program(seed: u64) -> String {
    let mut r = Rng::new(seed);
    let mut out = String::from(PRELUDE);
    for n in 0..SNIPPETS {
        let _ = writeln!(out, "-- #{n}\nprint('#{n}')");
        match r.below(11) {
            0 | 1 => snippet_arith(&mut r, &mut out),
            2 => snippet_divmod(&mut r, &mut out),
            3 => snippet_compare(&mut r, &mut out),
            4 => snippet_concat(&mut r, &mut out),
            5 => snippet_closures(&mut r, &mut out),
            6 => snippet_tables(&mut r, &mut out),
            7 => snippet_varargs(&mut r, &mut out),
            8 => snippet_meta(&mut r, &mut out),
            9 => snippet_strings(&mut r, &mut out),
            _ => snippet_errors(&mut r, &mut out),
        }
    }
    // The end: an uncaught error in some programs (status and stderr line).
    if r.chance(10) {
        let _ = writeln!(out, "error('the end', 0)");
    }
    out
}

/// The source of snippet `n` of a program (for a failure message).
fn snippet_source(src: &str, n: usize) -> &str {
    let start = src.find(&format!("-- #{n}\n")).unwrap_or(0);
    let end = src[start..]
        .find(&format!("-- #{}\n", n + 1))
        .map_or(src.len(), |e| start + e);
    &src[start..end]
}

// ------------------------------------------------------------------ running

struct Run {
    status: i32,
    stdout: Vec<u8>,
    stderr: String,
}

fn run(cmd: &str, args: &[&str], dir: &Path) -> Run {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn lua_available() -> bool {
    Command::new("lua5.4")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Where the programs are written.
fn work_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("generated-lua");
    std::fs::create_dir_all(&d).expect("a work directory");
    d
}

/// The first line where `got` and `want` differ, and the snippet it is in.
fn first_difference(got: &[u8], want: &[u8], src: &str) -> String {
    let (g, w) = (
        String::from_utf8_lossy(got).into_owned(),
        String::from_utf8_lossy(want).into_owned(),
    );
    let (gl, wl): (Vec<&str>, Vec<&str>) = (g.lines().collect(), w.lines().collect());
    let i = gl
        .iter()
        .zip(&wl)
        .position(|(a, b)| a != b)
        .unwrap_or(gl.len().min(wl.len()));
    let snippet = wl[..i.min(wl.len())]
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix('#').and_then(|n| n.parse::<usize>().ok()))
        .unwrap_or(0);
    format!(
        "line {}: luavm {:?}\n        lua5.4 {:?}\nin snippet #{snippet}:\n{}",
        i + 1,
        gl.get(i).copied().unwrap_or("<end>"),
        wl.get(i).copied().unwrap_or("<end>"),
        snippet_source(src, snippet)
    )
}

#[test]
fn the_generator_is_deterministic_and_covers_every_kind() {
    let a = program(7);
    assert_eq!(a, program(7));
    assert_ne!(a, program(8));
    let all: String = (0..20).map(program).collect();
    for needle in [
        "try(function() return x // y",
        "a < b",
        " .. ",
        "fs[n] = function",
        "table.insert(t",
        "select('#', f(",
        "try(function() error(",
    ] {
        assert!(all.contains(needle), "no {needle:?} in 20 programs");
    }
}

#[test]
fn generated_programs_match_lua54() {
    if !lua_available() {
        assert!(
            std::env::var_os("LUAVM_REQUIRE_LUA").is_none(),
            "lua5.4 is not installed and LUAVM_REQUIRE_LUA is set"
        );
        eprintln!(
            "\n*** lua5.4 NOT INSTALLED: generated_programs_match_lua54 compared NOTHING ***\n"
        );
        return;
    }
    let luavm = env!("CARGO_BIN_EXE_luavm");
    let dir = work_dir();
    let first = env_u64("LUAVM_GEN_SEED", 1);
    let count = env_u64("LUAVM_GEN_PROGRAMS", PROGRAMS);
    let mut failures = Vec::new();
    let mut runs = 0;
    let mut lines = 0;
    for seed in first..first + count {
        let src = program(seed);
        let name = format!("gen{seed}.lua");
        std::fs::write(dir.join(&name), &src).expect("the program is written");
        let want = run("lua5.4", &[&name], &dir);
        assert!(
            want.stdout.len() > 100,
            "lua5.4 printed almost nothing for {name}: {}",
            want.stderr
        );
        lines += want.stdout.iter().filter(|&&b| b == b'\n').count();
        // The JIT as it runs by default (a function without loops, or a big
        // one like these main chunks, compiled on its second call) and, for
        // one program in four, compiling every function on its first call
        // (the main chunk too: about 0.5 s of compilation each).
        let jit: &[&str] = if seed % 4 == 1 { &["--jit-eager"] } else { &[] };
        let mut configs: Vec<&[&str]> = vec![jit, &["--interp"]];
        if seed % MOVING_EVERY == 0 {
            configs.push(&["--jit-eager", "--plan", "SemiSpace", "--heap", "64M"]);
        }
        let mut differs = false;
        for cfg in configs {
            let mut args = cfg.to_vec();
            args.push(&name);
            let got = run(luavm, &args, &dir);
            runs += 1;
            let want_err = want
                .stderr
                .lines()
                .next()
                .unwrap_or("")
                .replacen("lua5.4:", "luavm:", 1);
            let got_err = got.stderr.lines().next().unwrap_or("").to_string();
            if got.stdout != want.stdout || got.status != want.status || got_err != want_err {
                differs = true;
                failures.push(format!(
                    "{} {cfg:?}: status {} vs {}; stderr {got_err:?} vs {want_err:?}\n{}",
                    dir.join(&name).display(),
                    got.status,
                    want.status,
                    first_difference(&got.stdout, &want.stdout, &src)
                ));
            }
        }
        if !differs {
            let _ = std::fs::remove_file(dir.join(&name));
        }
    }
    eprintln!(
        "generated: {count} programs, {lines} output lines, {runs} luavm runs compared with lua5.4"
    );
    assert!(lines > count as usize * 50, "only {lines} lines of output");
    assert!(
        failures.is_empty(),
        "{} of {runs} runs differ (first 10 shown):\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
