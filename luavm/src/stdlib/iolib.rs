//! Files for the `io` library, as lua5.4's `liolib.c`: `io.open`,
//! `io.lines`, `io.close`, `io.input`, `io.output`, `io.flush`, the standard
//! files, the file methods (`read`, `write`, `lines`, `seek`, `flush`,
//! `setvbuf`, `close`), and `os.remove`, `os.rename`, `os.tmpname`.
//!
//! A file is a table flagged [`heap::FILE`] (`type` says "userdata") with the
//! shared metatable `FILE*` (its `__index` holds the methods) and, under a
//! key no Lua code can make (a built-in that is installed nowhere), the index
//! of its stream in this thread's table of streams. Standard output goes
//! through the interpreter's output buffer, which `print` shares.

use super::{arg_error, check_int, check_str, index_of, opt_str, ret, set_raw, Args};
use crate::heap::{self, as_table, push, LResult};
use crate::interp::Interp;
use crate::table;
use crate::value::Value;
use std::cell::RefCell;
use std::io::{BufRead, Read, Seek, SeekFrom, Write};

/// The stream indexes of the standard files.
const STDIN: usize = 0;
const STDOUT: usize = 1;
const STDERR: usize = 2;

/// Bytes buffered before a write reaches the file.
const BUFFER: usize = 1 << 16;

enum Stream {
    Stdin,
    Stdout,
    Stderr,
    Disk(std::fs::File),
    Closed,
}

/// A stream and its buffers: bytes read ahead (`rbuf[rpos..]` not yet
/// consumed) or written and not yet passed on (`wbuf`); never both.
struct File {
    stream: Stream,
    rbuf: Vec<u8>,
    rpos: usize,
    wbuf: Vec<u8>,
    /// The mode allows writing (a file opened `r` does not: C's `fwrite`
    /// fails on it at once).
    writable: bool,
    /// The error a read met (C's `ferror`): the reader saw the end of the
    /// file, and the read reports it.
    read_error: Option<std::io::Error>,
}

impl File {
    fn new(stream: Stream) -> File {
        File {
            stream,
            rbuf: Vec::new(),
            rpos: 0,
            wbuf: Vec::new(),
            writable: true,
            read_error: None,
        }
    }

    fn disk(&mut self) -> std::io::Result<&mut std::fs::File> {
        match &mut self.stream {
            Stream::Disk(f) => Ok(f),
            _ => Err(std::io::Error::from_raw_os_error(9)),
        }
    }

    /// Passes the written bytes on.
    fn flush_writes(&mut self) -> std::io::Result<()> {
        if !self.wbuf.is_empty() {
            let w = std::mem::take(&mut self.wbuf);
            let r = self.disk()?.write_all(&w);
            r?;
        }
        Ok(())
    }

    /// Gives back the bytes read ahead (the file position goes back to the
    /// reader's).
    fn drop_read_ahead(&mut self) -> std::io::Result<()> {
        let ahead = self.rbuf.len() - self.rpos;
        self.rbuf.clear();
        self.rpos = 0;
        if ahead > 0 {
            self.disk()?.seek(SeekFrom::Current(-(ahead as i64)))?;
        }
        Ok(())
    }

    fn write(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self.stream {
            Stream::Stderr => {
                let mut e = std::io::stderr().lock();
                e.write_all(b)?;
                e.flush()
            }
            Stream::Disk(_) if !self.writable => Err(std::io::Error::from_raw_os_error(9)),
            Stream::Disk(_) => {
                self.drop_read_ahead()?;
                self.wbuf.extend_from_slice(b);
                if self.wbuf.len() >= BUFFER {
                    self.flush_writes()?;
                }
                Ok(())
            }
            _ => Err(std::io::Error::from_raw_os_error(9)),
        }
    }

    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.flush_writes()?;
        let ahead = (self.rbuf.len() - self.rpos) as i64;
        self.rbuf.clear();
        self.rpos = 0;
        let to = match to {
            SeekFrom::Current(d) => SeekFrom::Current(d - ahead),
            other => other,
        };
        self.disk()?.seek(to)
    }
}

impl Read for File {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for File {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.rpos >= self.rbuf.len() {
            self.flush_writes()?;
            self.rbuf.resize(BUFFER, 0);
            self.rpos = 0;
            let n = match &mut self.stream {
                Stream::Disk(f) => f.read(&mut self.rbuf),
                _ => Err(std::io::Error::from_raw_os_error(9)),
            };
            match n {
                Ok(n) => self.rbuf.truncate(n),
                Err(e) => {
                    self.rbuf.clear();
                    self.read_error = Some(e);
                }
            }
        }
        Ok(&self.rbuf[self.rpos..])
    }

    fn consume(&mut self, n: usize) {
        self.rpos = (self.rpos + n).min(self.rbuf.len());
    }
}

thread_local! {
    static FILES: RefCell<Vec<File>> = RefCell::new(vec![
        File::new(Stream::Stdin),
        File::new(Stream::Stdout),
        File::new(Stream::Stderr),
    ]);
}

fn with_file<R>(id: usize, f: impl FnOnce(&mut File) -> R) -> R {
    FILES.with(|files| f(&mut files.borrow_mut()[id]))
}

fn is_closed(id: usize) -> bool {
    with_file(id, |f| matches!(f.stream, Stream::Closed))
}

/// Writes every file's buffered bytes out (at exit).
pub(crate) fn flush_files() {
    FILES.with(|files| {
        if let Ok(mut files) = files.try_borrow_mut() {
            for f in files.iter_mut() {
                let _ = f.flush_writes();
            }
        }
    });
}

/// The message and error number of an I/O error: C's `strerror` text.
pub(super) fn os_error(e: &std::io::Error) -> (String, i64) {
    let code = e.raw_os_error().unwrap_or(5);
    let text = std::io::Error::from_raw_os_error(code).to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    (text, code as i64)
}

/// `luaL_fileresult` for a failure: fail, the message (after `name: `
/// when given) and the error number.
fn fail(it: &mut Interp<'_>, e: &std::io::Error, name: Option<&[u8]>) -> LResult<usize> {
    let (text, code) = os_error(e);
    let mut msg = Vec::new();
    if let Some(n) = name {
        msg.extend_from_slice(n);
        msg.extend_from_slice(b": ");
    }
    msg.extend_from_slice(text.as_bytes());
    push(it.t, Value::NIL);
    let m = it.string(&msg)?;
    push(it.t, m);
    let c = it.int(code)?;
    push(it.t, c);
    Ok(3)
}

/// `luaL_fileresult`: true, or fail, the message (after `name: ` when
/// given) and the error number.
fn result(it: &mut Interp<'_>, r: std::io::Result<()>, name: Option<&[u8]>) -> LResult<usize> {
    match r {
        Ok(()) => ret(it, Value::TRUE),
        Err(e) => fail(it, &e, name),
    }
}

/// The key of a file's stream index.
fn handle_key() -> Value {
    Value::builtin(index_of("file_handle"))
}

/// The stream index of file `v`, if it is a file.
fn file_of(v: Value) -> Option<usize> {
    let t = as_table(v).filter(|t| heap::is_file(*t))?;
    heap::as_int(table::raw_get(t, handle_key())).map(|i| i as usize)
}

/// The library's hidden table's entry `k`.
fn hidden(it: &Interp<'_>, k: &[u8]) -> Value {
    as_table(it.library()).map_or(Value::NIL, |l| table::raw_get_str(l, k))
}

fn set_hidden(it: &mut Interp<'_>, k: &[u8], v: Value) -> LResult<()> {
    push(it.t, v);
    let key = it.string(k)?;
    push(it.t, key);
    let lib = super::finalize::list(it)?;
    let key = heap::pop(it.t);
    let v = heap::pop(it.t);
    set_raw(it, lib, key, v)
}

/// A new file object for stream `id`.
fn new_file(it: &mut Interp<'_>, id: usize) -> LResult<Value> {
    let t = it.t;
    let f = heap::new_table(t, 0, 2);
    let f = it.mem(f)?;
    push(t, f);
    let idv = it.int(id as i64)?;
    set_raw(it, heap::at(t, heap::top(t) - 1), handle_key(), idv)?;
    let f = heap::pop(t);
    let o = as_table(f).expect("a table");
    heap::mark_file(o);
    let mt = hidden(it, b"FILE*");
    table::set_metatable(t, o, mt);
    Ok(f)
}

/// Makes the `FILE*` metatable, the standard files, and the default input
/// and output; `io` is the library table.
pub(super) fn install(it: &mut Interp<'_>, io: Value) -> LResult<()> {
    let t = it.t;
    push(t, io);
    let methods = it.mem(heap::new_table(t, 0, 8))?;
    push(t, methods);
    for (name, b) in [
        ("close", "file_close"),
        ("flush", "file_flush"),
        ("lines", "file_lines"),
        ("read", "file_read"),
        ("seek", "file_seek"),
        ("setvbuf", "file_setvbuf"),
        ("write", "file_write"),
    ] {
        let k = it.string(name.as_bytes())?;
        set_raw(
            it,
            heap::at(t, heap::top(t) - 1),
            k,
            Value::builtin(index_of(b)),
        )?;
    }
    let mt = it.mem(heap::new_table(t, 0, 4))?;
    push(t, mt);
    let k = it.string(b"__index")?;
    let methods = heap::at(t, heap::top(t) - 2);
    set_raw(it, heap::at(t, heap::top(t) - 1), k, methods)?;
    let name = it.string(b"FILE*")?;
    push(t, name);
    let k = it.string(b"__name")?;
    let name = heap::pop(t);
    set_raw(it, heap::at(t, heap::top(t) - 1), k, name)?;
    let k = it.string(b"__tostring")?;
    let ts = Value::builtin(index_of("file_tostring"));
    set_raw(it, heap::at(t, heap::top(t) - 1), k, ts)?;
    let mt = heap::pop(t);
    heap::pop(t);
    set_hidden(it, b"FILE*", mt)?;
    for (id, name) in [(STDIN, "stdin"), (STDOUT, "stdout"), (STDERR, "stderr")] {
        let f = new_file(it, id)?;
        push(t, f);
        let k = it.string(name.as_bytes())?;
        let f = heap::pop(t);
        set_raw(it, heap::at(t, heap::top(t) - 1), k, f)?;
        match id {
            STDIN => set_hidden(it, b"input", f)?,
            STDOUT => set_hidden(it, b"output", f)?,
            _ => {}
        }
    }
    heap::pop(t);
    Ok(())
}

/// How an argument error of a file method names it when its caller gave no
/// name (lua5.4 finds the methods under no global name).
const METHOD: &str = "?";

/// The open file in argument `i` of built-in `name`.
fn check_file(it: &mut Interp<'_>, a: Args, i: usize, name: &str) -> LResult<usize> {
    let Some(id) = file_of(a.get(it, i)) else {
        let g = super::got(it, a, i);
        return Err(arg_error(it, i, name, &format!("FILE* expected, got {g}")));
    };
    if is_closed(id) {
        return Err(it.throw_here("attempt to use a closed file"));
    }
    Ok(id)
}

/// The default input or output (`which`), which must be open.
fn default_file(it: &mut Interp<'_>, which: &str) -> LResult<(usize, Value)> {
    let f = hidden(it, which.as_bytes());
    let id = file_of(f).expect("a default file");
    if is_closed(id) {
        return Err(it.throw_here(&format!("default {which} file is closed")));
    }
    Ok((id, f))
}

/// Writes arguments `from..` to stream `id`; the write's error, if any.
fn write_to(
    it: &mut Interp<'_>,
    a: Args,
    from: usize,
    id: usize,
) -> LResult<Option<std::io::Error>> {
    if id == STDOUT {
        super::write_args(it, a, from)?;
        return Ok(None);
    }
    let mut err = None;
    for i in from..a.n {
        let bytes = super::write_piece(it, a, i)?;
        if let Err(e) = with_file(id, |f| f.write(&bytes)) {
            err.get_or_insert(e);
        }
    }
    Ok(err)
}

/// `io.write(...)`: to the default output; returns it.
pub(super) fn io_write(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let (id, f) = default_file(it, "output")?;
    match write_to(it, a, 0, id)? {
        None => ret(it, f),
        Some(e) => fail(it, &e, None),
    }
}

/// `file:write(...)`: returns the file.
pub(super) fn file_write(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let id = check_file(it, a, 0, METHOD)?;
    match write_to(it, a, 1, id)? {
        None => ret(it, a.get(it, 0)),
        Some(e) => fail(it, &e, None),
    }
}

/// Reads the formats in arguments `from..` (none: a line) from stream `id`.
fn read_from(it: &mut Interp<'_>, a: Args, from: usize, id: usize) -> LResult<usize> {
    if id == STDIN {
        super::flush(it);
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        return super::read_formats(it, a, from, &mut input);
    }
    // The stream leaves the table while it is read (reading allocates the
    // strings it makes, which must not find the table borrowed).
    let mut file = with_file(id, |f| std::mem::replace(f, File::new(Stream::Closed)));
    let base = heap::top(it.t);
    let r = super::read_formats(it, a, from, &mut file);
    let error = file.read_error.take();
    with_file(id, |f| *f = file);
    let n = r?;
    match error {
        // As lua5.4's `g_read` after `ferror`: fail and why, not the values.
        Some(e) => {
            heap::roots(it.t).truncate(base);
            fail(it, &e, None)
        }
        None => Ok(n),
    }
}

/// `io.read(...)`: from the default input.
pub(super) fn io_read(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let (id, _) = default_file(it, "input")?;
    read_from(it, a, 0, id)
}

/// `file:read(...)`.
pub(super) fn file_read(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let id = check_file(it, a, 0, METHOD)?;
    read_from(it, a, 1, id)
}

/// The `fopen` options of a mode (`r`, `w`, `a`, each optionally with `+`,
/// then any number of `b`), or `None` for an invalid one.
fn open_options(mode: &[u8]) -> Option<std::fs::OpenOptions> {
    let (&first, rest) = mode.split_first()?;
    let (plus, rest) = match rest.split_first() {
        Some((b'+', r)) => (true, r),
        _ => (false, rest),
    };
    if !rest.iter().all(|&c| c == b'b') {
        return None;
    }
    let mut o = std::fs::OpenOptions::new();
    match first {
        b'r' => o.read(true).write(plus),
        b'w' => o.write(true).create(true).truncate(true).read(plus),
        b'a' => o.append(true).create(true).read(plus),
        _ => return None,
    };
    Some(o)
}

fn path_of(name: &[u8]) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStrExt;
    std::path::PathBuf::from(std::ffi::OsStr::from_bytes(name))
}

/// Opens `name` in `mode` as a new file object.
fn open(it: &mut Interp<'_>, name: &[u8], mode: &[u8]) -> LResult<Result<Value, std::io::Error>> {
    let opts = open_options(mode).expect("a checked mode");
    match opts.open(path_of(name)) {
        Ok(file) => {
            let mut f = File::new(Stream::Disk(file));
            f.writable = mode[0] != b'r' || mode.get(1) == Some(&b'+');
            let id = FILES.with(|files| {
                let mut files = files.borrow_mut();
                files.push(f);
                files.len() - 1
            });
            new_file(it, id).map(Ok)
        }
        Err(e) => Ok(Err(e)),
    }
}

/// `io.open(name [, mode])`.
pub(super) fn io_open(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let name = check_str(it, a, 0, "open")?;
    let mode = opt_str(it, a, 1, "open")?.unwrap_or_else(|| b"r".to_vec());
    if open_options(&mode).is_none() {
        return Err(arg_error(it, 1, "open", "invalid mode"));
    }
    match open(it, &name, &mode)? {
        Ok(f) => ret(it, f),
        Err(e) => fail(it, &e, Some(&name)),
    }
}

/// Opens `name` or raises lua5.4's "cannot open file" error.
fn open_check(it: &mut Interp<'_>, name: &[u8], mode: &[u8]) -> LResult<Value> {
    match open(it, name, mode)? {
        Ok(f) => Ok(f),
        Err(e) => {
            let (text, _) = os_error(&e);
            let n = String::from_utf8_lossy(name).into_owned();
            Err(it.throw_here(&format!("cannot open file '{n}' ({text})")))
        }
    }
}

/// Closes stream `id`: true, or fail and why.
fn close(it: &mut Interp<'_>, id: usize) -> LResult<usize> {
    if id <= STDERR {
        push(it.t, Value::NIL);
        let m = it.string(b"cannot close standard file")?;
        push(it.t, m);
        return Ok(2);
    }
    let r = with_file(id, |f| {
        let r = f.flush_writes();
        *f = File::new(Stream::Closed);
        r
    });
    result(it, r, None)
}

/// `file:close()`.
pub(super) fn file_close(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let id = check_file(it, a, 0, METHOD)?;
    close(it, id)
}

/// `io.close([file])`: the default output without a file.
pub(super) fn io_close(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let id = if a.get(it, 0).is_nil() {
        default_file(it, "output")?.0
    } else {
        check_file(it, a, 0, METHOD)?
    };
    close(it, id)
}

fn flush_stream(it: &mut Interp<'_>, id: usize) -> LResult<usize> {
    let r = if id == STDOUT {
        super::flush(it);
        Ok(())
    } else {
        with_file(id, |f| f.flush_writes())
    };
    result(it, r, None)
}

/// `file:flush()`.
pub(super) fn file_flush(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let id = check_file(it, a, 0, METHOD)?;
    flush_stream(it, id)
}

/// `io.flush()`: the default output.
pub(super) fn io_flush(it: &mut Interp<'_>, _a: Args) -> LResult<usize> {
    let (id, _) = default_file(it, "output")?;
    flush_stream(it, id)
}

/// `file:seek([whence [, offset]])`: the new position from the start.
pub(super) fn file_seek(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let id = check_file(it, a, 0, METHOD)?;
    let whence = opt_str(it, a, 1, METHOD)?.unwrap_or_else(|| b"cur".to_vec());
    let off = super::opt_int(it, a, 2, METHOD, 0)?;
    let to = match &whence[..] {
        b"set" => SeekFrom::Start(off as u64),
        b"cur" => SeekFrom::Current(off),
        b"end" => SeekFrom::End(off),
        _ => {
            let w = String::from_utf8_lossy(&whence).into_owned();
            return Err(arg_error(it, 1, METHOD, &format!("invalid option '{w}'")));
        }
    };
    if whence == b"set" && off < 0 {
        let e = std::io::Error::from_raw_os_error(22);
        return fail(it, &e, None);
    }
    match with_file(id, |f| f.seek(to)) {
        Ok(p) => {
            let v = it.int(p as i64)?;
            ret(it, v)
        }
        Err(e) => fail(it, &e, None),
    }
}

/// `file:setvbuf(mode [, size])`: accepted (the buffering stays as it is).
pub(super) fn file_setvbuf(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    check_file(it, a, 0, METHOD)?;
    let mode = check_str(it, a, 1, METHOD)?;
    if !matches!(&mode[..], b"no" | b"full" | b"line") {
        let m = String::from_utf8_lossy(&mode).into_owned();
        return Err(arg_error(it, 1, METHOD, &format!("invalid option '{m}'")));
    }
    ret(it, Value::TRUE)
}

/// `tostring(file)`.
pub(super) fn file_tostring(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let v = a.get(it, 0);
    let Some(id) = file_of(v) else {
        let g = super::got(it, a, 0);
        return Err(arg_error(
            it,
            0,
            "tostring",
            &format!("FILE* expected, got {g}"),
        ));
    };
    let s = if is_closed(id) {
        "file (closed)".to_string()
    } else {
        let o = v.as_object().expect("a table");
        format!(
            "file ({:#014x})",
            0x5600_0000_0000u64 + heap::identity_hash(o) as u64
        )
    };
    let s = it.string(s.as_bytes())?;
    ret(it, s)
}

/// `io.type(v)`: "file", "closed file", or fail.
pub(super) fn io_type(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    if a.n == 0 {
        return Err(arg_error(it, 0, "type", "value expected"));
    }
    match file_of(a.get(it, 0)) {
        Some(id) => {
            let s = if is_closed(id) { "closed file" } else { "file" };
            let s = it.string(s.as_bytes())?;
            ret(it, s)
        }
        None => ret(it, Value::NIL),
    }
}

/// `io.input([file | name])` and `io.output(...)`: sets the default file
/// (a name is opened, for reading or writing); returns it.
fn set_default(it: &mut Interp<'_>, a: Args, which: &str, mode: &[u8]) -> LResult<usize> {
    let v = a.get(it, 0);
    if !v.is_nil() {
        let f = if heap::as_str(v).is_some() || heap::as_num(v).is_some() {
            let name = check_str(it, a, 0, which)?;
            open_check(it, &name, mode)?
        } else {
            check_file(it, a, 0, which)?;
            v
        };
        set_hidden(it, which.as_bytes(), f)?;
    }
    let f = hidden(it, which.as_bytes());
    ret(it, f)
}

pub(super) fn io_input(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    set_default(it, a, "input", b"r")
}

pub(super) fn io_output(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    set_default(it, a, "output", b"w")
}

/// The line iterator of file `f` reading formats `a[from..]`, closing the
/// file at its end when `close`.
fn lines(it: &mut Interp<'_>, f: Value, a: Args, from: usize, close: bool) -> LResult<Value> {
    let t = it.t;
    push(t, f);
    let st = it.mem(heap::new_table(t, 3 + a.n.saturating_sub(from), 0))?;
    push(t, st);
    let f = heap::at(t, heap::top(t) - 2);
    let state = heap::at(t, heap::top(t) - 1);
    set_raw(it, state, Value::small_int(1).expect("1"), f)?;
    let state = heap::at(t, heap::top(t) - 1);
    set_raw(
        it,
        state,
        Value::small_int(2).expect("2"),
        Value::boolean(close),
    )?;
    for (k, i) in (from..a.n).enumerate() {
        let v = a.get(it, i);
        let state = heap::at(t, heap::top(t) - 1);
        set_raw(it, state, Value::small_int(3 + k as i64).expect("small"), v)?;
    }
    let state = heap::pop(t);
    heap::pop(t);
    it.bound_builtin(index_of("lines_iter"), state)
}

/// `file:lines(...)`.
pub(super) fn file_lines(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    check_file(it, a, 0, METHOD)?;
    let f = a.get(it, 0);
    let iter = lines(it, f, a, 1, false)?;
    ret(it, iter)
}

/// `io.lines([name, ...])`: a named file's lines (closed at the end; the
/// file is the fourth result, a `for`'s to-be-closed value), or the default
/// input's.
pub(super) fn io_lines(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    if a.get(it, 0).is_nil() {
        let (_, f) = default_file(it, "input")?;
        let iter = lines(it, f, a, 1, false)?;
        return ret(it, iter);
    }
    let name = check_str(it, a, 0, "lines")?;
    let f = open_check(it, &name, b"r")?;
    push(it.t, f);
    let iter = lines(it, f, a, 1, true)?;
    let f = heap::pop(it.t);
    push(it.t, iter);
    push(it.t, Value::NIL);
    push(it.t, Value::NIL);
    push(it.t, f);
    Ok(4)
}

/// The iterator of `lines`: its state `{file, close, formats...}` first.
pub(super) fn lines_iter(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let st = as_table(a.get(it, 0)).expect("the lines state");
    let f = table::raw_get_int(st, 1);
    let id = file_of(f).expect("a file");
    if is_closed(id) {
        return Err(it.throw_here("file is already closed"));
    }
    let close_at_end = !table::raw_get_int(st, 2).is_falsy();
    // The formats as the arguments of a read.
    let base = heap::top(it.t);
    let mut n = 0;
    loop {
        let v = table::raw_get_int(st, 3 + n as i64);
        if v.is_nil() {
            break;
        }
        push(it.t, v);
        n += 1;
    }
    let args = Args { base, n };
    let got = read_from(it, args, 0, id)?;
    let first = heap::at(it.t, heap::top(it.t) - got);
    if !first.is_falsy() {
        return Ok(got);
    }
    if close_at_end {
        let _ = close(it, id)?;
    }
    Ok(0)
}

/// `os.remove(name)`: true, or fail, `name: why` and the error number.
pub(super) fn os_remove(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let name = check_str(it, a, 0, "remove")?;
    let p = path_of(&name);
    let r = match std::fs::symlink_metadata(&p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir(&p),
        _ => std::fs::remove_file(&p),
    };
    result(it, r, Some(&name))
}

/// `os.rename(from, to)`: true, or fail, why (no name, as lua5.4) and the
/// error number.
pub(super) fn os_rename(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let from = check_str(it, a, 0, "rename")?;
    let to = check_str(it, a, 1, "rename")?;
    let r = std::fs::rename(path_of(&from), path_of(&to));
    result(it, r, None)
}

/// `os.tmpname()`: the name of a new empty file in the temporary directory.
pub(super) fn os_tmpname(it: &mut Interp<'_>, _a: Args) -> LResult<usize> {
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    for k in 0u32.. {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let p = dir.join(format!("lua_{pid:x}{nanos:x}{k:x}"));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
        {
            Ok(_) => {
                let s = it.string(p.to_string_lossy().as_bytes())?;
                return ret(it, s);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && k < 100 => continue,
            Err(_) => return Err(it.throw_here("unable to generate a unique filename")),
        }
    }
    unreachable!("the loop returns")
}

/// `os.difftime(t2, t1)`: `t2 - t1` in seconds, a float.
pub(super) fn os_difftime(it: &mut Interp<'_>, a: Args) -> LResult<usize> {
    let t2 = check_int(it, a, 0, "difftime")?;
    let t1 = check_int(it, a, 1, "difftime")?;
    ret(it, Value::float(t2 as f64 - t1 as f64))
}
