//! Lua values in one word, NaN-boxed: a float is its own bits (NaNs made
//! canonical, keeping their sign); every other value is a NaN with a 16-bit tag
//! no float has. References to heap objects carry tag [`REF_TAG`], which is what
//! the substrate's [`ValueEncoding`] is told: every value slot (frame slots,
//! table entries, upvalue cells) is then traced precisely, the collector moving
//! the objects and leaving numbers, booleans and nil alone.
//!
//! | top 16 bits | value |
//! |---|---|
//! | below `0xFFF9` | a float |
//! | `0xFFF9` | nil |
//! | `0xFFFA` | false (payload 0) / true (payload 1) |
//! | `0xFFFB` | an integer in -2^47..2^47 (48-bit two's complement payload) |
//! | `0xFFFC` | a heap object (48-bit address): string, table, function, big integer |
//! | `0xFFFD` | a built-in function (payload: its index) |
//!
//! Integers outside the inline range are boxed (a heap object holding the
//! 64-bit value): Lua's integers are 64-bit and wrap; the box is rare.

use vmkit::{ObjectReference, ValueEncoding};

/// The reference tag (top 16 bits of a reference value).
pub const REF_TAG: u16 = 0xFFFC;
const NIL_BITS: u64 = 0xFFF9 << 48;
const BOOL_BITS: u64 = 0xFFFA << 48;
const INT_BITS: u64 = 0xFFFB << 48;
const REF_BITS: u64 = (REF_TAG as u64) << 48;
/// The tag bits of a built-in function.
pub const BUILTIN_BITS: u64 = 0xFFFD << 48;
const PAYLOAD: u64 = (1 << 48) - 1;
const TAG_MASK: u64 = 0xFFFF << 48;
const CANONICAL_NAN: u64 = 0x7FF8 << 48;
const CANONICAL_NEG_NAN: u64 = 0xFFF8 << 48;

/// The encoding the substrate reads value slots with.
pub const ENCODING: ValueEncoding = ValueEncoding::high_tags(REF_TAG);

/// Smallest integer held inline.
pub const INLINE_MIN: i64 = -(1 << 47);
/// Largest integer held inline.
pub const INLINE_MAX: i64 = (1 << 47) - 1;

/// A Lua value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Value(pub u64);

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Value({:#018x})", self.0)
    }
}

impl Value {
    /// `nil`.
    pub const NIL: Value = Value(NIL_BITS);
    /// `false`.
    pub const FALSE: Value = Value(BOOL_BITS);
    /// `true`.
    pub const TRUE: Value = Value(BOOL_BITS | 1);

    /// A boolean.
    #[inline]
    pub fn boolean(b: bool) -> Value {
        Value(BOOL_BITS | b as u64)
    }

    /// A float (a NaN becomes the canonical NaN of its sign).
    #[inline]
    pub fn float(x: f64) -> Value {
        if x.is_nan() {
            Value(if x.is_sign_negative() {
                CANONICAL_NEG_NAN
            } else {
                CANONICAL_NAN
            })
        } else {
            Value(x.to_bits())
        }
    }

    /// An integer held inline, if it fits.
    #[inline]
    pub fn small_int(i: i64) -> Option<Value> {
        if (INLINE_MIN..=INLINE_MAX).contains(&i) {
            Some(Value(INT_BITS | (i as u64 & PAYLOAD)))
        } else {
            None
        }
    }

    /// A reference to a heap object.
    #[inline]
    pub fn object(o: ObjectReference) -> Value {
        Value(REF_BITS | o.to_raw_address().as_usize() as u64)
    }

    /// A built-in function.
    #[inline]
    pub fn builtin(index: u32) -> Value {
        Value(BUILTIN_BITS | index as u64)
    }

    #[inline]
    fn tag(self) -> u64 {
        self.0 & TAG_MASK
    }

    /// Whether it is `nil`.
    #[inline]
    pub fn is_nil(self) -> bool {
        self.0 == NIL_BITS
    }

    /// Whether it is false or nil (Lua's falsy values).
    #[inline]
    pub fn is_falsy(self) -> bool {
        self.0 == NIL_BITS || self.0 == BOOL_BITS
    }

    /// The boolean, if it is one.
    #[inline]
    pub fn as_bool(self) -> Option<bool> {
        (self.tag() == BOOL_BITS).then_some(self.0 & 1 != 0)
    }

    /// The float, if it is one.
    #[inline]
    pub fn as_float(self) -> Option<f64> {
        ((self.0 >> 48) < 0xFFF9).then(|| f64::from_bits(self.0))
    }

    /// The inline integer, if it is one (boxed integers are heap objects).
    #[inline]
    pub fn as_small_int(self) -> Option<i64> {
        (self.tag() == INT_BITS).then_some(((self.0 << 16) as i64) >> 16)
    }

    /// The heap object, if it is one.
    #[inline]
    pub fn as_object(self) -> Option<ObjectReference> {
        if self.tag() == REF_BITS {
            vmkit::object::word_to_ref((self.0 & PAYLOAD) as usize)
        } else {
            None
        }
    }

    /// The built-in function index, if it is one.
    #[inline]
    pub fn as_builtin(self) -> Option<u32> {
        (self.tag() == BUILTIN_BITS).then_some((self.0 & PAYLOAD) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kinds_do_not_overlap() {
        for x in [
            0.0,
            -0.0,
            1.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            let v = Value::float(x);
            assert_eq!(v.as_float(), Some(x));
            assert!(v.as_small_int().is_none() && v.as_object().is_none() && !v.is_nil());
            assert_eq!(ENCODING.decode(v.0), None);
        }
        let nan = Value::float(f64::NAN);
        assert!(nan.as_float().unwrap().is_nan());
        let neg_nan = Value::float(-f64::NAN);
        assert!(neg_nan.as_float().unwrap().is_sign_negative());
        assert_eq!(ENCODING.decode(neg_nan.0), None);
        for i in [0, 1, -1, INLINE_MAX, INLINE_MIN] {
            let v = Value::small_int(i).unwrap();
            assert_eq!(v.as_small_int(), Some(i));
            assert_eq!(v.as_float(), None);
            assert_eq!(ENCODING.decode(v.0), None);
        }
        assert!(Value::small_int(INLINE_MAX + 1).is_none());
        assert!(Value::NIL.is_falsy() && Value::FALSE.is_falsy() && !Value::TRUE.is_falsy());
        assert_eq!(Value::builtin(7).as_builtin(), Some(7));
        assert!(ENCODING.check().is_ok());
    }
}
