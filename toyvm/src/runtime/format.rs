//! Number formatting exactly as the Toy spec says: floats as Python's `repr`, `fmt`
//! as C's `%.*f`.

/// Writes `x` as Python's `repr(float)`: the shortest text that reads back to the
/// same double, in fixed notation when the decimal exponent is in `-4..16`, else in
/// scientific notation with a signed, at least two-digit exponent.
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "d.ddde-N".
    let s = format!("{x:e}");
    let (mant, exp) = s.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("exponent digits");
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        if exp >= 0 {
            let int_len = exp + 1;
            if n <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', (int_len - n) as usize));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len as usize]);
                out.push('.');
                out.push_str(&digits[int_len as usize..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    }
    out
}

/// The most digits `fmt` writes after the point (a megabyte of text).
pub const MAX_FMT_DIGITS: i64 = 1 << 20;

/// `fmt(x, d)`: `x` with exactly `d` digits after the point, like C's `%.*f`
/// (exact decimal value, ties to even); a `ValueError` for a `d` that is
/// negative or more than [`MAX_FMT_DIGITS`].
pub fn fmt_fixed(x: f64, d: i64) -> Result<String, super::errors::RuntimeError> {
    if !(0..=MAX_FMT_DIGITS).contains(&d) {
        return Err(super::errors::fmt_digit_count(d, MAX_FMT_DIGITS));
    }
    if x.is_nan() {
        return Ok(if x.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        });
    }
    if x.is_infinite() {
        return Ok(if x > 0.0 { "inf".into() } else { "-inf".into() });
    }
    // A double's exact decimal value ends within 1074 digits after the point
    // (2^-1074): past that, the digits are zeros (and Rust's precision stops
    // at 65535).
    const EXACT: usize = 1100;
    let d = d as usize;
    if d <= EXACT {
        return Ok(format!("{x:.d$}"));
    }
    let mut s = format!("{x:.EXACT$}");
    s.extend(std::iter::repeat_n('0', d - EXACT));
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_matches_python() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (1e16, "1e+16"),
            (1.5e-5, "1.5e-05"),
            (1e15, "1000000000000000.0"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1.0 / 3.0, "0.3333333333333333"),
            (2.0 / 3.0, "0.6666666666666666"),
            (6.02e23, "6.02e+23"),
            (1e-7, "1e-07"),
            (123.456, "123.456"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (9999999999999998.0, "9999999999999998.0"),
            (0.30000000000000004, "0.30000000000000004"),
        ];
        for (x, want) in cases {
            assert_eq!(float_repr(*x), *want, "repr({x:?})");
        }
    }

    #[test]
    fn fixed_matches_c() {
        let cases: &[(f64, i64, &str)] = &[
            (1.23456, 2, "1.23"),
            (0.5, 0, "0"),
            (1.5, 0, "2"),
            (2.5, 0, "2"),
            (0.125, 2, "0.12"),
            (0.375, 2, "0.38"),
            (-1.0, 3, "-1.000"),
            (1e20, 1, "100000000000000000000.0"),
            (0.1, 20, "0.10000000000000000555"),
            (f64::INFINITY, 2, "inf"),
            (-0.0, 1, "-0.0"),
        ];
        for (x, d, want) in cases {
            assert_eq!(fmt_fixed(*x, *d).unwrap(), *want, "fmt({x}, {d})");
        }
    }

    #[test]
    fn fixed_gives_every_digit_asked_or_an_error() {
        let s = fmt_fixed(1.0, 100_000).unwrap();
        assert_eq!(s.len(), 2 + 100_000);
        assert!(s.starts_with("1.000") && s.ends_with('0'));
        assert_eq!(
            fmt_fixed(1.0, MAX_FMT_DIGITS).unwrap().len() as i64,
            2 + MAX_FMT_DIGITS
        );
        for d in [-1, i64::MIN, MAX_FMT_DIGITS + 1, i64::MAX] {
            let e = fmt_fixed(1.0, d).unwrap_err().to_string();
            assert!(e.starts_with("ValueError: "), "{e}");
        }
        assert!(fmt_fixed(f64::NAN, -1).is_err());
        // The exact value of the smallest subnormal, then zeros.
        let tiny = fmt_fixed(f64::from_bits(1), 5000).unwrap();
        assert_eq!(tiny.len(), 5002);
        assert!(tiny[2..].starts_with(&"0".repeat(323)));
        assert!(tiny[2 + 1074..].bytes().all(|b| b == b'0'));
        assert!(tiny.as_bytes()[2 + 1073] != b'0');
        assert_eq!(
            fmt_fixed(f64::from_bits(1), 1074).unwrap(),
            tiny[..2 + 1074]
        );
    }
}
