//! Dates and times for `os.date` and `os.time`, without libc: the proleptic
//! Gregorian calendar in 64-bit arithmetic (what glibc's `gmtime`, `mktime`
//! and `strftime` in the C locale compute), and the local time zone from the
//! system's zone files through `tz-rs` (`TZ`, else `/etc/localtime`).
//!
//! Pure logic on plain Rust values; the built-ins that use it are in
//! [`super`].

/// A broken-down time (`struct tm`, with the calendar fields as Lua shows
/// them: `month` 1-12, `yday` 1-366).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tm {
    /// The year (not offset by 1900).
    pub year: i64,
    /// 1-12.
    pub month: i64,
    /// 1-31.
    pub day: i64,
    /// 0-23.
    pub hour: i64,
    /// 0-59.
    pub min: i64,
    /// 0-60.
    pub sec: i64,
    /// 0 (Sunday) - 6.
    pub wday: i64,
    /// 1-366.
    pub yday: i64,
    /// Daylight saving time in effect.
    pub isdst: bool,
    /// Seconds east of UTC.
    pub gmtoff: i64,
    /// The zone's abbreviation (`%Z`).
    pub zone: String,
}

/// Days since 1970-01-01 of a date (month 1-12; day may be any integer).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (days since 1970-01-01).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// The broken-down time of `t` seconds after the epoch shifted by `gmtoff`;
/// `None` where glibc fails too (the year does not fit `tm_year`, an int).
fn broken_down(t: i64, gmtoff: i64, isdst: bool, zone: &str) -> Option<Tm> {
    let local = t.checked_add(gmtoff)?;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if year - 1900 > i32::MAX as i64 || year - 1900 < i32::MIN as i64 {
        return None;
    }
    Some(Tm {
        year,
        month,
        day,
        hour: secs / 3600,
        min: secs / 60 % 60,
        sec: secs % 60,
        wday: (days + 4).rem_euclid(7),
        yday: days - days_from_civil(year, 1, 1) + 1,
        isdst,
        gmtoff,
        zone: zone.to_string(),
    })
}

/// `gmtime`: UTC (glibc names the zone "GMT").
pub fn gmtime(t: i64) -> Option<Tm> {
    // Days beyond any representable year would overflow the day arithmetic.
    if t.unsigned_abs() > 1 << 56 {
        return None;
    }
    broken_down(t, 0, false, "GMT")
}

/// The local time zone: `TZ` if set (a zone name, `:path` or a POSIX rule),
/// else `/etc/localtime`, else UTC.
fn local_zone() -> tz::TimeZone {
    let zone = match std::env::var("TZ") {
        Ok(s) if !s.is_empty() => tz::TimeZone::from_posix_tz(&s),
        _ => tz::TimeZone::local(),
    };
    zone.unwrap_or_else(|_| tz::TimeZone::utc())
}

thread_local! {
    static LOCAL_ZONE: tz::TimeZone = local_zone();
}

/// The offset, DST flag and abbreviation of the local zone at `t`.
fn local_type(t: i64) -> Option<(i64, bool, String)> {
    LOCAL_ZONE.with(|z| {
        z.find_local_time_type(t).ok().map(|l| {
            (
                l.ut_offset() as i64,
                l.is_dst(),
                l.time_zone_designation().to_string(),
            )
        })
    })
}

/// `localtime`.
pub fn localtime(t: i64) -> Option<Tm> {
    if t.unsigned_abs() > 1 << 56 {
        return None;
    }
    let (off, dst, zone) = local_type(t)?;
    broken_down(t, off, dst, &zone)
}

/// The fields `os.time` reads (`month` 1-based, any values: normalized).
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// The year.
    pub year: i64,
    /// The month (1 = January; may be out of 1-12).
    pub month: i64,
    /// The day of the month.
    pub day: i64,
    /// The hour.
    pub hour: i64,
    /// The minutes.
    pub min: i64,
    /// The seconds.
    pub sec: i64,
    /// `isdst`: `None` to let the zone decide.
    pub isdst: Option<bool>,
}

/// `mktime` in the local zone: the time of the (normalized) fields and its
/// broken-down form, or `None` when it cannot be represented.
pub fn mktime(f: Fields) -> Option<(i64, Tm)> {
    let months = f.year * 12 + (f.month - 1);
    let (y, m) = (months.div_euclid(12), months.rem_euclid(12) + 1);
    let days = days_from_civil(y, m, 1) + f.day - 1;
    let local = days * 86_400 + f.hour * 3600 + f.min * 60 + f.sec;
    let off_at = |t: i64| local_type(t).map(|(o, d, _)| (o, d));
    // The instants whose offset maps them to `local`.
    let mut found: Vec<(i64, bool)> = Vec::new();
    for probe in [local - 86_400, local, local + 86_400] {
        let (o, _) = off_at(probe)?;
        let t = local - o;
        if let Some((o2, d2)) = off_at(t) {
            if o2 == o && !found.iter().any(|(x, _)| *x == t) {
                found.push((t, d2));
            }
        }
    }
    found.sort();
    let t = match (found.first(), f.isdst) {
        // In a gap (clocks jumped forward): the offset from before it.
        (None, _) => local - off_at(local - 86_400)?.0,
        // An hour that happens twice (clocks set back): standard time, as
        // glibc picks.
        (Some(&(t, _)), None) => found.iter().find(|(_, d)| !d).map_or(t, |x| x.0),
        (Some(&(t, _)), Some(want)) => {
            if let Some(&(t2, _)) = found.iter().find(|(_, d)| *d == want) {
                t2
            } else {
                // Asked for the other DST state than the zone has then: as
                // glibc, the time is read with the offset that state has
                // nearest in time (an hour more for DST when there is none).
                let (o, _) = off_at(t)?;
                let other = (1..=18)
                    .flat_map(|k| [t - k * 30 * 86_400, t + k * 30 * 86_400])
                    .find_map(|p| off_at(p).filter(|(_, d)| *d == want).map(|x| x.0));
                match other {
                    Some(o2) => local - o2,
                    None if want => local - (o + 3600),
                    None => local - (o - 3600),
                }
            }
        }
    };
    let tm = localtime(t)?;
    Some((t, tm))
}

const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The conversions lua5.4 accepts (C99): one letter, then `E` and `O`
/// modified ones (`LUA_STRFTIMEOPTIONS`).
const ONE: &[u8] = b"aAbBcCdDeFgGhHIjmMnprRStTuUVwWxXyYzZ%";
const TWO: &[&[u8]] = &[
    b"Ec", b"EC", b"Ex", b"EX", b"Ey", b"EY", b"Od", b"Oe", b"OH", b"OI", b"Om", b"OM", b"OS",
    b"Ou", b"OU", b"OV", b"Ow", b"OW", b"Oy",
];

/// The ISO 8601 week-based year and week number.
fn iso_week(tm: &Tm) -> (i64, i64) {
    let yday0 = tm.yday - 1;
    // Monday-based weekday 0-6.
    let wd = (tm.wday + 6) % 7;
    // Day number of this week's Thursday.
    let thursday = yday0 - wd + 3;
    let len = |y: i64| if is_leap(y) { 366 } else { 365 };
    if thursday < 0 {
        let y = tm.year - 1;
        let t = thursday + len(y);
        (y, t / 7 + 1)
    } else if thursday >= len(tm.year) {
        (tm.year + 1, 1)
    } else {
        (tm.year, thursday / 7 + 1)
    }
}

/// One conversion (`c` its letter, a modifier dropped: the C locale has no
/// alternatives).
fn conversion(out: &mut String, c: u8, tm: &Tm) {
    use std::fmt::Write;
    let h12 = if tm.hour % 12 == 0 { 12 } else { tm.hour % 12 };
    let _ = match c {
        b'a' => write!(out, "{}", &DAYS[tm.wday as usize][..3]),
        b'A' => write!(out, "{}", DAYS[tm.wday as usize]),
        b'b' | b'h' => write!(out, "{}", &MONTHS[tm.month as usize - 1][..3]),
        b'B' => write!(out, "{}", MONTHS[tm.month as usize - 1]),
        b'c' => {
            for c in *b"a b e H:M:S Y" {
                if c.is_ascii_alphabetic() {
                    conversion(out, c, tm);
                } else {
                    out.push(c as char);
                }
            }
            Ok(())
        }
        b'C' => write!(out, "{}", tm.year.div_euclid(100)),
        b'd' => write!(out, "{:02}", tm.day),
        b'D' | b'x' => write!(
            out,
            "{:02}/{:02}/{:02}",
            tm.month,
            tm.day,
            tm.year.rem_euclid(100)
        ),
        b'e' => write!(out, "{:2}", tm.day),
        b'F' => write!(out, "{}-{:02}-{:02}", tm.year, tm.month, tm.day),
        b'g' => write!(out, "{:02}", iso_week(tm).0.rem_euclid(100)),
        b'G' => write!(out, "{}", iso_week(tm).0),
        b'H' => write!(out, "{:02}", tm.hour),
        b'I' => write!(out, "{h12:02}"),
        b'j' => write!(out, "{:03}", tm.yday),
        b'm' => write!(out, "{:02}", tm.month),
        b'M' => write!(out, "{:02}", tm.min),
        b'n' => writeln!(out),
        b'p' => write!(out, "{}", if tm.hour < 12 { "AM" } else { "PM" }),
        b'r' => write!(
            out,
            "{h12:02}:{:02}:{:02} {}",
            tm.min,
            tm.sec,
            if tm.hour < 12 { "AM" } else { "PM" }
        ),
        b'R' => write!(out, "{:02}:{:02}", tm.hour, tm.min),
        b'S' => write!(out, "{:02}", tm.sec),
        b't' => write!(out, "\t"),
        b'T' | b'X' => write!(out, "{:02}:{:02}:{:02}", tm.hour, tm.min, tm.sec),
        b'u' => write!(out, "{}", if tm.wday == 0 { 7 } else { tm.wday }),
        b'U' => write!(out, "{:02}", (tm.yday - 1 + 7 - tm.wday) / 7),
        b'V' => write!(out, "{:02}", iso_week(tm).1),
        b'w' => write!(out, "{}", tm.wday),
        b'W' => write!(out, "{:02}", (tm.yday - 1 + 7 - (tm.wday + 6) % 7) / 7),
        b'y' => write!(out, "{:02}", tm.year.rem_euclid(100)),
        b'Y' => write!(out, "{}", tm.year),
        b'z' => {
            let o = tm.gmtoff;
            let sign = if o < 0 { '-' } else { '+' };
            let o = o.abs() / 60;
            write!(out, "{sign}{:02}{:02}", o / 60, o % 60)
        }
        b'Z' => write!(out, "{}", tm.zone),
        _ => write!(out, "%"),
    };
}

/// `strftime` in the C locale over a format checked as lua5.4 does:
/// `Err(rest)` names an invalid conversion by the format's text from it on.
pub fn strftime(fmt: &[u8], tm: &Tm) -> Result<Vec<u8>, Vec<u8>> {
    let mut out = Vec::with_capacity(fmt.len() * 2);
    let mut i = 0;
    while i < fmt.len() {
        if fmt[i] != b'%' {
            out.push(fmt[i]);
            i += 1;
            continue;
        }
        let rest = &fmt[i + 1..];
        let len = if rest.first().is_some_and(|c| ONE.contains(c)) {
            1
        } else if rest.len() >= 2 && TWO.contains(&&rest[..2]) {
            2
        } else {
            // The message shows the text up to a NUL, as C's %s would.
            let shown = rest.split(|&b| b == 0).next().unwrap_or(b"");
            return Err(shown.to_vec());
        };
        let mut s = String::new();
        conversion(&mut s, rest[len - 1], tm);
        out.extend_from_slice(s.as_bytes());
        i += 1 + len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calendar_round_trips() {
        for z in [-1_000_000, -719_468, -1, 0, 1, 59, 365, 10_957, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        let tm = gmtime(951_782_400).expect("2000-02-29");
        assert_eq!(
            (tm.year, tm.month, tm.day, tm.wday, tm.yday),
            (2000, 2, 29, 2, 60)
        );
        assert!(gmtime(i64::MAX).is_none());
    }

    #[test]
    fn formats_as_the_c_locale() {
        let tm = gmtime(0).expect("the epoch");
        let f = |s: &str| String::from_utf8(strftime(s.as_bytes(), &tm).expect("valid")).unwrap();
        assert_eq!(f("%c"), "Thu Jan  1 00:00:00 1970");
        assert_eq!(
            f("%F %T %Z %z %j %U %W %V %G %u %w %p %I"),
            "1970-01-01 00:00:00 GMT +0000 001 00 00 01 1970 4 4 AM 12"
        );
        assert_eq!(strftime(b"%Ez x", &tm), Err(b"Ez x".to_vec()));
        assert_eq!(strftime(b"%", &tm), Err(Vec::new()));
        // ISO weeks at a year's edges: 2021-01-03 is in week 53 of 2020.
        let tm = gmtime(1_609_632_000).expect("2021-01-03");
        assert_eq!(
            String::from_utf8(strftime(b"%G-W%V-%u", &tm).unwrap()).unwrap(),
            "2020-W53-7"
        );
    }
}
