//! Printing values as the spec says (`print`, `write`, `str`).

use super::format::float_repr;
use super::object::{self as tobj, ElemKind, STRUCT_BASE};
use crate::lang::ir::{Program, Ty};
use crate::runtime::object::{array_len, read_word};
use std::sync::OnceLock;
use vmkit::object;
use vmkit::ObjectReference;

/// What printing needs to know about a struct.
pub struct StructInfo {
    /// struct name
    pub name: String,
    /// field names and kinds
    pub fields: Vec<(String, ElemKind)>,
}

static STRUCTS: OnceLock<Vec<StructInfo>> = OnceLock::new();

/// The element kind of a static type.
pub fn kind_of(t: &Ty) -> ElemKind {
    match t {
        Ty::Int => ElemKind::Int,
        Ty::Float => ElemKind::Float,
        Ty::Bool => ElemKind::Bool,
        Ty::Str => ElemKind::Str,
        _ => ElemKind::Ref,
    }
}

/// Records the program's structs for printing (once per process).
pub fn init(p: &Program) {
    let _ = STRUCTS.set(
        p.structs
            .iter()
            .map(|s| StructInfo {
                name: s.name.clone(),
                fields: s
                    .fields
                    .iter()
                    .map(|(n, t)| (n.clone(), kind_of(t)))
                    .collect(),
            })
            .collect(),
    );
}

fn structs() -> &'static [StructInfo] {
    STRUCTS.get().map_or(&[], |v| v.as_slice())
}

/// Appends a value of kind `k` (a raw word) as `print` writes it; `nested` writes
/// structs and arrays as `Name{...}` / `[...]`.
pub fn write_word(out: &mut Vec<u8>, k: ElemKind, w: u64, nested: bool) {
    match k {
        ElemKind::Int => {
            let mut buf = [0u8; 20];
            out.extend_from_slice(crate::runtime::builtins::int_text(w as i64, &mut buf))
        }
        ElemKind::Float => out.extend_from_slice(float_repr(f64::from_bits(w)).as_bytes()),
        ElemKind::Bool => out.extend_from_slice(if w != 0 { b"true" } else { b"false" }),
        ElemKind::Str | ElemKind::Ref => match object::word_to_ref(w as usize) {
            None => out.extend_from_slice(b"null"),
            Some(o) => write_obj(out, o, nested),
        },
    }
}

fn write_obj(out: &mut Vec<u8>, o: ObjectReference, nested: bool) {
    let ti = tobj::type_info(o);
    if tobj::is_str(o) {
        out.extend_from_slice(tobj::str_bytes(o));
    } else if std::ptr::eq(ti, &tobj::THREAD) {
        out.extend_from_slice(b"thread");
    } else if ti.user >= STRUCT_BASE {
        let Some(si) = structs().get(ti.user - STRUCT_BASE) else {
            out.extend_from_slice(ti.name.as_bytes());
            return;
        };
        out.extend_from_slice(si.name.as_bytes());
        if nested {
            out.extend_from_slice(b"{...}");
            return;
        }
        out.push(b'{');
        for (i, (name, k)) in si.fields.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            write_word(out, *k, read_word(o, tobj::field_offset(i)) as u64, true);
        }
        out.push(b'}');
    } else {
        // an array
        if nested {
            out.extend_from_slice(b"[...]");
            return;
        }
        let k = ElemKind::from_index(ti.user);
        out.push(b'[');
        for i in 0..array_len(o) {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            write_word(out, k, read_word(o, tobj::elem_offset(i)) as u64, true);
        }
        out.push(b']');
    }
}
