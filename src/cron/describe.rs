//! Say in words when a parsed schedule runs.

use super::{Field, Schedule};

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
const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

fn values(f: &Field) -> Vec<u32> {
    (0..64).filter(|i| f.bits & (1u64 << i) != 0).collect()
}

fn single(f: &Field) -> Option<u32> {
    let v = values(f);
    match v.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// `*/N` over the whole range: every N units.
fn step_of(f: &Field) -> Option<u32> {
    let rest = f.text.strip_prefix("*/")?;
    rest.parse().ok().filter(|n| *n > 1)
}

/// Name a set of values: `Monday–Friday`, `January, March`.
fn names(f: &Field, table: &[&str], offset: u32) -> String {
    let v = values(f);
    let name = |x: u32| table.get(x.saturating_sub(offset) as usize).copied().unwrap_or("?").to_string();
    let contiguous = v.windows(2).all(|w| w[1] == w[0] + 1);
    match (v.first(), v.last()) {
        (Some(a), Some(b)) if contiguous && v.len() > 2 => format!("{}–{}", name(*a), name(*b)),
        _ => v.into_iter().map(name).collect::<Vec<_>>().join(", "),
    }
}

/// Describe a schedule. CNPG schedules are told with seconds
/// (`with_seconds`); standard five-field ones, whose second is always 0, without.
pub fn describe(schedule: &Schedule, with_seconds: bool) -> String {
    let f = match schedule {
        Schedule::Every(d) => return format!("every {d}"),
        Schedule::Fields(f) => f,
    };
    let [sec, min, hour, dom, month, dow] = &**f;
    let show_seconds = with_seconds || sec.text != "0";
    let clock = |h: &str, m: u32, s: u32| {
        if show_seconds {
            format!("{h}:{m:02}:{s:02}")
        } else {
            format!("{h}:{m:02}")
        }
    };
    let mut text = match (single(sec), single(min), single(hour)) {
        (Some(s), Some(m), Some(h)) => format!("every day at {}", clock(&format!("{h:02}"), m, s)),
        (Some(s), Some(m), None) if hour.star => format!("every hour at {}", clock("hh", m, s)),
        (Some(s), Some(m), None) => {
            format!("at {} past hours {}", clock("hh", m, s).trim_start_matches("hh"), hour.text)
        }
        (Some(s), None, None) if min.star && hour.star => {
            if show_seconds {
                format!("every minute at second {s}")
            } else {
                "every minute".to_string()
            }
        }
        (None, None, None) if sec.star && min.star && hour.star => "every second".to_string(),
        (None, None, None) if min.star && hour.star => match step_of(sec) {
            Some(n) => format!("every {n} seconds"),
            None => format!("at seconds {} of every minute", sec.text),
        },
        (Some(0), None, None) if hour.star => match step_of(min) {
            Some(n) => format!("every {n} minutes"),
            None => format!("at minutes {} of every hour", min.text),
        },
        _ => format!("at second {}, minute {}, hour {}", sec.text, min.text, hour.text),
    };
    if !dom.star {
        text.push_str(&format!(", on day {} of the month", dom.text));
    }
    if !month.star {
        text.push_str(&format!(", only in {}", names(month, &MONTHS, 1)));
    }
    if !dow.star {
        let days = names(dow, &DAYS, 0);
        match text.strip_prefix("every day at ") {
            Some(time) if dom.star && month.star => text = format!("every {days} at {time}"),
            _ => text.push_str(&format!(", on {days}")),
        }
    }
    text
}
