//! Syntax errors: for each bad program below, luavm's parser must report the
//! very message `lua5.4 FILE` prints (after `lua5.4: `, before the
//! traceback). Valid programs must parse, as `lua5.4` agrees.
//!
//! `LUAVM_SHOW_MESSAGES=1` (with `--nocapture`) prints every message
//! compared. Needs `lua5.4` on the `PATH`. Without it the test is skipped,
//! loudly on stderr, unless `LUAVM_REQUIRE_LUA` is set: then it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

/// (what, source) of programs lua5.4 rejects at load time.
fn bad_programs() -> Vec<(&'static str, Vec<u8>)> {
    let mut cases: Vec<(&'static str, Vec<u8>)> = [
        // expressions and statements
        ("double =", "x = = 1"),
        ("missing operand", "local x = 1 +"),
        ("lone name", "x"),
        ("name then name", "x = y z"),
        ("parenthesized target", "(a) = 1"),
        ("call target", "f() = 1"),
        ("method target", "a.b:c = 1"),
        ("local number", "local 1"),
        ("local function number", "local function 1() end"),
        ("bad parameter", "local function f(a,) end"),
        ("unclosed function", "function f()\n  x = 1\n"),
        ("unclosed call same line", "f(1"),
        ("unclosed call other line", "f(1\n\n"),
        ("return not last", "return 1 x = 2"),
        ("return return", "return return"),
        ("for without = or in", "for i do end"),
        ("for missing comma", "for i = 1 do end"),
        ("if without then", "if x y"),
        ("extra end", "while true do end end"),
        (
            "vararg outside vararg function",
            "function f() return ... end",
        ),
        ("method without args", "a:b"),
        ("double else", "if x then\nelse\nelse end"),
        ("table missing separator", "t = {x y}"),
        ("table double comma", "local t = {1, 2,, 3}"),
        ("table unclosed", "f{"),
        ("table bad key", "x = {[1] 2}"),
        ("field number", "x = a.1"),
        ("assign after local function", "local function f() end = 1"),
        ("unexpected @", "x = 1 @"),
        ("control character", "x = \u{1}"),
        ("long string as statement", "x = 1 [[a\nb]]"),
        ("repeat without until", "repeat x = 1"),
        ("unclosed do", "do\n\nlocal x = 1\n"),
        ("unclosed paren", "x = (1 + 2\n"),
        ("unclosed index", "x = t[1"),
        ("integer division operator alone", "x = 5 // / 2"),
        ("shebang keeps lines", "#!/usr/bin/lua\nx = = 1"),
        // attributes
        ("unknown attribute", "local x <foo> = 1"),
        ("two to-be-closed", "local x <close>, y <close> = 1"),
        ("attribute with >=", "local x <const>= 1"),
        ("assign to const", "local x <const> = 1; x = 2"),
        (
            "assign to close upvalue",
            "local x <close> = nil\nfunction f() x = 1 end",
        ),
        (
            "function named like a const",
            "local x <const> = 1\nfunction x() end",
        ),
        (
            "const upvalue in nested function",
            "local a <const> = 1 local function f() return function() a = 2 end end",
        ),
        (
            "const in multiple assignment",
            "local a, b <const> = 1, 2\na, b = 3, 4",
        ),
        // goto and labels
        ("goto into local scope", "goto a local x ::a:: print(x)"),
        (
            "goto continue in repeat",
            "repeat goto cont local x ::cont:: until x",
        ),
        ("goto undefined", "goto nowhere"),
        ("goto into a block", "do ::a:: end goto a"),
        (
            "goto out of function",
            "::top:: local function f() goto top end",
        ),
        ("duplicate label", "::a:: ::a::"),
        ("duplicate label nested", "::a:: do ::a:: end"),
        ("duplicate label lines", "::lbl:: x = 1\n\n::lbl::"),
        ("break outside loop", "break"),
        ("break in function", "function f()\n break\nend\n"),
        ("break after loop", "while x do end\nbreak\n"),
        // lexical errors
        ("malformed number", "x = 3x"),
        ("malformed hex", "x = 0x"),
        ("malformed exponent", "x = 1e+"),
        ("malformed dots", "x = 1..2"),
        ("malformed hex exponent", "x = 0x1p"),
        ("unfinished string eof", "x = 'abc"),
        ("unfinished string newline", "x = 'abc\ndef'"),
        ("unfinished string after zap", "x = \"\\z  \n  abc"),
        ("unfinished long string", "x = [[abc\n\n"),
        ("unfinished long comment", "--[==[ comment\n]]"),
        ("invalid long delimiter", "x = [==x"),
        ("invalid escape", "x = '\\q'"),
        ("bad hex escape", "x = '\\xZZ'"),
        ("decimal escape too large", "x = '\\256'"),
        ("utf8 escape too large", "x = '\\u{80000000}'"),
        ("utf8 escape unclosed", "x = '\\u{41'"),
        ("utf8 escape without brace", "x = '\\u41'"),
        ("string with NUL near", "x = 'a\\0b\n'"),
        ("escaped NUL then error", "x = 1 'a\\0b'"),
    ]
    .into_iter()
    .map(|(what, src)| (what, src.as_bytes().to_vec()))
    .collect();

    cases.push(("NUL byte", b"x = \0".to_vec()));
    cases.push(("high byte", b"x = \xff".to_vec()));
    // limits
    let locals: String = (0..201).map(|i| format!("local v{i} ")).collect();
    cases.push(("too many locals in main", locals.into_bytes()));
    let mut src = String::from("local function f()\n");
    src += &(0..201)
        .map(|i| format!("local v{i}\n"))
        .collect::<String>();
    src += "end";
    cases.push(("too many locals in function", src.into_bytes()));
    // 150 locals in the main chunk, 150 in f: g needs 300 upvalues
    let mut src: String = (0..150).map(|i| format!("local a{i} = {i}\n")).collect();
    src += "local function f()\n";
    src += &(0..150)
        .map(|i| format!("local b{i} = {i}\n"))
        .collect::<String>();
    src += "return function()\nlocal z\n";
    for i in 0..150 {
        src += &format!("z = a{i} z = b{i}\n");
    }
    src += "end\nend\n";
    cases.push(("too many upvalues", src.into_bytes()));
    // the implicit _ENV counts as an upvalue too
    let mut src: String = (0..150).map(|i| format!("local a{i} = {i}\n")).collect();
    src += "local function f()\n";
    src += &(0..105)
        .map(|i| format!("local b{i} = {i}\n"))
        .collect::<String>();
    src += "return function()\nlocal z = print\n";
    for i in 0..150 {
        src += &format!("z = a{i}\n");
    }
    for i in 0..105 {
        src += &format!("z = b{i}\n");
    }
    src += "end\nend\n";
    cases.push(("too many upvalues with _ENV", src.into_bytes()));
    // (luavm accepts deeper nesting than lua5.4, not this deep)
    let n = 1000;
    cases.push((
        "deep parentheses",
        format!("x = {}1{}", "(".repeat(n), ")".repeat(n)).into_bytes(),
    ));
    cases.push((
        "deep blocks",
        format!("{}{}", "do ".repeat(n), " end".repeat(n)).into_bytes(),
    ));
    cases.push((
        "deep tables",
        format!("x = {}{}", "{".repeat(n), "}".repeat(n)).into_bytes(),
    ));
    cases
}

/// Programs lua5.4 loads: they must parse.
const GOOD_PROGRAMS: &[&str] = &[
    "local x <const>, y <close> = 1, nil",
    "local a = 0x1p4 + 0x.8 + 0xA.8p1 + 1e10 + .5 + 3. + 0xffffffffffffffffff",
    "local s = 'a\\z\n   b\\x41\\65\\u{10FFFF}\\\n'",
    "local s = [==[\n]] ]=] ]==]",
    "for i = 1, 3 do if i == 2 then goto continue end ::continue:: end",
    "do goto e; local x; ::e:: end",
    "::a:: ::b:: goto a",
    "while true do if x then break end; break end",
    "repeat local x = 1 until x == 1",
    "function a.b.c:d(...) return self, ... end",
    "local function f(...) local t = {..., n = select('#', ...)} return t end",
    "f{} f'' f[[x]] a.b:c{} a:b'x' (f)()",
    "f\n(1)",
    "local t = {[1] = 1; 2, x = 3,}",
    "x = 1 // 2 % 3 ^ -4 .. 5 << 6 >> 7 & 8 | 9 ~ ~10",
    "return",
    "return;",
    "local _ENV = {} x = 1",
    "#!/usr/bin/env lua\nreturn 1",
    ";;; local x ;;;",
];

/// Written straight to the process's stderr, so the test harness's output
/// capture does not hide it.
fn skip_notice(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\n*** {msg} ***\n");
}

fn lua5_4() -> Option<&'static str> {
    let ok = Command::new("lua5.4")
        .arg("-v")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    ok.then_some("lua5.4")
}

/// A fresh empty directory for one case.
fn case_dir(i: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("luavm-syntax-{}-{i}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What `lua5.4 t.lua` prints for a load error: the message between
/// `lua5.4: ` and the traceback; `None` if it ran fine.
fn lua_message(lua: &str, dir: &Path, src: &[u8]) -> Option<String> {
    std::fs::write(dir.join("t.lua"), src).unwrap();
    let out = Command::new(lua)
        .current_dir(dir)
        .arg("t.lua")
        .output()
        .unwrap();
    if out.status.success() {
        return None;
    }
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let msg = stderr.split_once(": ").map_or(&*stderr, |(_, m)| m);
    let msg = msg.split("\nstack traceback:").next().unwrap_or(msg);
    Some(msg.trim_end_matches('\n').to_string())
}

fn lua_loads(lua: &str, dir: &Path, src: &[u8]) -> Result<(), String> {
    std::fs::write(dir.join("t.lua"), src).unwrap();
    let out = Command::new(lua)
        .current_dir(dir)
        .args([
            "-e",
            "local f, e = loadfile('t.lua') io.write(f and '' or e)",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() && stdout.is_empty() {
        Ok(())
    } else {
        Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
    }
}

#[test]
fn syntax_errors_match_lua() {
    let Some(lua) = lua5_4() else {
        if std::env::var_os("LUAVM_REQUIRE_LUA").is_some() {
            panic!("lua5.4 not found, and LUAVM_REQUIRE_LUA is set");
        }
        skip_notice("SKIPPED syntax_errors_match_lua: lua5.4 not found on PATH");
        return;
    };
    let mut failures = Vec::new();
    let cases = bad_programs();
    for (i, (what, src)) in cases.iter().enumerate() {
        let dir = case_dir(i);
        let theirs = lua_message(lua, &dir, src);
        let _ = std::fs::remove_dir_all(&dir);
        let ours = luavm::lang::parse("t.lua", src).err().map(|e| e.message);
        match theirs {
            None => failures.push(format!("{what}: lua5.4 accepts it (case is wrong)")),
            Some(theirs) if Some(&theirs) != ours.as_ref() => {
                failures.push(format!("{what}:\n  lua5.4: {theirs:?}\n  luavm:  {ours:?}"))
            }
            Some(theirs) => {
                if std::env::var_os("LUAVM_SHOW_MESSAGES").is_some() {
                    eprintln!("{what}: {theirs}");
                }
            }
        }
    }
    let matched = cases.len() - failures.len();
    eprintln!(
        "{matched}/{} syntax error messages identical to lua5.4",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn good_programs_parse() {
    let lua = lua5_4();
    if lua.is_none() {
        if std::env::var_os("LUAVM_REQUIRE_LUA").is_some() {
            panic!("lua5.4 not found, and LUAVM_REQUIRE_LUA is set");
        }
        skip_notice("good_programs_parse: lua5.4 not found, not cross-checking with it");
    }
    for (i, src) in GOOD_PROGRAMS.iter().enumerate() {
        if let Some(lua) = lua {
            let dir = case_dir(1000 + i);
            let theirs = lua_loads(lua, &dir, src.as_bytes());
            let _ = std::fs::remove_dir_all(&dir);
            assert_eq!(theirs, Ok(()), "lua5.4 rejects {src:?}");
        }
        if let Err(e) = luavm::lang::parse("t.lua", src.as_bytes()) {
            panic!("{src:?}: {}", e.message);
        }
    }
}

/// A bad command line gets a message and status 1, never a run: an unknown
/// option (clap would otherwise take it for the script), a bad size, an
/// unknown plan, and `--jit-eager` with `--interp`.
#[test]
fn bad_command_lines_are_refused() {
    let luavm = env!("CARGO_BIN_EXE_luavm");
    for (args, want) in [
        (&["--foo", "t.lua"][..], "unrecognized option '--foo'"),
        (&["-x"][..], "unrecognized option '-x'"),
        (&["--heap", "12Q", "t.lua"][..], "bad size '12Q'"),
        (&["--plan", "NoSuchPlan", "t.lua"][..], "NoSuchPlan"),
        (
            &["--interp", "--jit-eager", "t.lua"][..],
            "--jit-eager needs the JIT",
        ),
    ] {
        let out = Command::new(luavm).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // A script's own arguments may look like options.
    let dir = case_dir(9999);
    std::fs::write(dir.join("t.lua"), "print(arg[1], arg[2])").unwrap();
    let out = Command::new(luavm)
        .current_dir(&dir)
        .args(["t.lua", "--foo", "-x"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "--foo\t-x\n");
    let _ = std::fs::remove_dir_all(&dir);
}
