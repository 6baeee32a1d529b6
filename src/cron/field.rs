//! One cron field, parsed as robfig/cron's `getField`/`getRange` do.

use super::{CronError, Field};

pub struct FieldSpec {
    pub min: u32,
    pub max: u32,
    pub names: &'static [&'static str],
}

pub const SECOND: FieldSpec = FieldSpec { min: 0, max: 59, names: &[] };
pub const MINUTE: FieldSpec = FieldSpec { min: 0, max: 59, names: &[] };
pub const HOUR: FieldSpec = FieldSpec { min: 0, max: 23, names: &[] };
pub const DOM: FieldSpec = FieldSpec { min: 1, max: 31, names: &[] };
/// Names are matched from `min` on: index 0 is month 1.
pub const MONTH: FieldSpec = FieldSpec {
    min: 1,
    max: 12,
    names: &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
};
pub const DOW: FieldSpec = FieldSpec { min: 0, max: 6, names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"] };

pub fn parse_field(text: &str, spec: &FieldSpec) -> Result<Field, CronError> {
    let mut bits = 0u64;
    let mut star = false;
    for range in text.split(',') {
        let (b, s) = parse_range(range, spec)?;
        bits |= b;
        star |= s;
    }
    Ok(Field { bits, star, text: text.to_string() })
}

fn parse_range(expr: &str, spec: &FieldSpec) -> Result<(u64, bool), CronError> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step.first().copied().unwrap_or("").split('-').collect();
    let single = low_and_high.len() == 1;
    let mut star = false;
    let (start, mut end) = match low_and_high.as_slice() {
        ["*"] | ["?"] => {
            star = true;
            (spec.min, spec.max)
        }
        [one] => {
            let v = int_or_name(one, spec)?;
            (v, v)
        }
        [low, high] => (int_or_name(low, spec)?, int_or_name(high, spec)?),
        _ => return Err(CronError(format!("Too many hyphens: {expr}"))),
    };
    let step = match range_and_step.as_slice() {
        [_] => 1,
        [_, step] => {
            let step = parse_int(step)?;
            // "N/step" means "N-max/step".
            if single && !star {
                end = spec.max;
            }
            step
        }
        _ => return Err(CronError(format!("Too many slashes: {expr}"))),
    };
    if start < spec.min {
        return Err(CronError(format!("Beginning of range ({start}) below minimum ({}): {expr}", spec.min)));
    }
    if end > spec.max {
        return Err(CronError(format!("End of range ({end}) above maximum ({}): {expr}", spec.max)));
    }
    if start > end {
        return Err(CronError(format!("Beginning of range ({start}) beyond end of range ({end}): {expr}")));
    }
    if step == 0 {
        return Err(CronError(format!("Step of range should be a positive number: {expr}")));
    }
    let mut bits = 0u64;
    let mut v = start;
    while v <= end {
        bits |= 1u64 << v;
        v = v.saturating_add(step);
    }
    // `*/2` is not "every value": only a bare star is.
    Ok((bits, star && step == 1))
}

fn int_or_name(text: &str, spec: &FieldSpec) -> Result<u32, CronError> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = spec.names.iter().position(|n| *n == lower) {
        return Ok(spec.min + u32::try_from(i).unwrap_or(0));
    }
    parse_int(text)
}

fn parse_int(text: &str) -> Result<u32, CronError> {
    match text.parse::<i64>() {
        Ok(n) if n < 0 => Err(CronError(format!("Negative number ({n}) not allowed: {text}"))),
        Ok(n) => {
            u32::try_from(n).map_err(|_| CronError(format!("Failed to parse int from {text}: value out of range")))
        }
        Err(e) => Err(CronError(format!("Failed to parse int from {text}: {e}"))),
    }
}
