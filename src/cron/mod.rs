//! The two cron dialects of the backup world, parsed exactly as their Go
//! parsers do, and described in words.
//!
//! - [`parse_cnpg`]: robfig/cron **v1.2.0** `cron.Parse` (CNPG
//!   `ScheduledBackup`): six fields, seconds first, day-of-week optional,
//!   descriptors; a five-field value is accepted and read seconds-first.
//! - [`parse_standard`]: robfig/cron **v3** `ParseStandard` (Kubernetes
//!   `CronJob`, VolSync, Velero, K8up, Longhorn): exactly five fields.

mod describe;
mod field;

pub use describe::describe;
use field::{parse_field, FieldSpec, DOM, DOW, HOUR, MINUTE, MONTH, SECOND};

/// One parsed field: the set of values it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub bits: u64,
    /// Written as `*` or `?` (every value).
    pub star: bool,
    pub text: String,
}

/// A parsed schedule: second, minute, hour, day-of-month, month, day-of-week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Fields(Box<[Field; 6]>),
    /// `@every <duration>`.
    Every(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronError(pub String);

impl std::fmt::Display for CronError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A six-field schedule (seconds first) written as the five fields a
/// standard cron parser expects: the seconds dropped.
pub fn without_seconds(expr: &str) -> String {
    expr.split_whitespace().skip(1).collect::<Vec<_>>().join(" ")
}

/// How many whitespace-separated fields `expr` has (Go's `strings.Fields`).
pub fn field_count(expr: &str) -> usize {
    expr.split_whitespace().count()
}

fn parse_fields(fields: &[&str; 6], specs: &[FieldSpec; 6]) -> Result<Schedule, CronError> {
    let mut parsed = Vec::with_capacity(6);
    for (text, spec) in fields.iter().zip(specs) {
        parsed.push(parse_field(text, spec)?);
    }
    let array: [Field; 6] = parsed.try_into().map_err(|_| CronError("internal: expected six fields".into()))?;
    Ok(Schedule::Fields(Box::new(array)))
}

const ALL_SPECS: [FieldSpec; 6] = [SECOND, MINUTE, HOUR, DOM, MONTH, DOW];

fn descriptor(expr: &str, error_prefix: &str) -> Result<Schedule, CronError> {
    let fields: [&str; 6] = match expr {
        "@yearly" | "@annually" => ["0", "0", "0", "1", "1", "*"],
        "@monthly" => ["0", "0", "0", "1", "*", "*"],
        "@weekly" => ["0", "0", "0", "*", "*", "0"],
        "@daily" | "@midnight" => ["0", "0", "0", "*", "*", "*"],
        "@hourly" => ["0", "0", "*", "*", "*", "*"],
        _ => {
            if let Some(duration) = expr.strip_prefix("@every ") {
                if go_duration_ok(duration.trim()) {
                    return Ok(Schedule::Every(duration.trim().to_string()));
                }
                return Err(CronError(format!("Failed to parse duration {expr}")));
            }
            return Err(CronError(format!("{error_prefix}{expr}")));
        }
    };
    parse_fields(&fields, &ALL_SPECS)
}

/// robfig/cron v1.2.0 `cron.Parse`, as CNPG uses it.
pub fn parse_cnpg(expr: &str) -> Result<Schedule, CronError> {
    let trimmed = expr.trim();
    if trimmed.starts_with('@') {
        return descriptor(trimmed, "Unrecognized descriptor: ");
    }
    let fields: Vec<&str> = trimmed.split_whitespace().collect();
    let six: [&str; 6] = match fields.as_slice() {
        [s, m, h, dom, mon] => [s, m, h, dom, mon, "*"],
        [s, m, h, dom, mon, dow] => [s, m, h, dom, mon, dow],
        _ => return Err(CronError(format!("Expected 5 to 6 fields, found {}: {trimmed}", fields.len()))),
    };
    parse_fields(&six, &ALL_SPECS)
}

/// robfig/cron v3 `ParseStandard`: five fields (seconds are always 0), a
/// `CRON_TZ=`/`TZ=` prefix, descriptors. Returns the schedule and the time
/// zone prefix, if any.
pub fn parse_standard(expr: &str) -> Result<(Schedule, Option<String>), CronError> {
    let mut rest = expr.trim();
    let mut tz = None;
    if rest.starts_with("CRON_TZ=") || rest.starts_with("TZ=") {
        let (prefix, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        tz = prefix.split_once('=').map(|(_, zone)| zone.to_string());
        rest = after.trim();
    }
    if rest.starts_with('@') {
        return descriptor(rest, "unrecognized descriptor: ").map(|s| (s, tz));
    }
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let [m, h, dom, mon, dow] = fields.as_slice() else {
        return Err(CronError(format!("expected exactly 5 fields, found {}: [{}]", fields.len(), fields.join(" "))));
    };
    parse_fields(&["0", m, h, dom, mon, dow], &ALL_SPECS).map(|s| (s, tz))
}

/// Enough of Go's `time.ParseDuration` to accept `1h30m`, `90s`, `1.5h`.
fn go_duration_ok(text: &str) -> bool {
    let mut rest = text;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit = ["ns", "us", "µs", "ms", "s", "m", "h"].iter().find(|u| rest.starts_with(*u));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(s: &Schedule, i: usize) -> u64 {
        match s {
            Schedule::Fields(f) => f[i].bits,
            Schedule::Every(_) => 0,
        }
    }

    #[test]
    fn five_fields_are_read_seconds_first() {
        let s = parse_cnpg("0 3 * * *").unwrap();
        assert_eq!(bits(&s, 0), 1); // second 0
        assert_eq!(bits(&s, 1), 1 << 3); // minute 3
        assert_eq!(describe(&s, true), "every hour at hh:03:00");
    }

    #[test]
    fn month_zero_is_rejected_like_robfig() {
        let e = parse_cnpg("0 1 * * 0").unwrap_err();
        assert_eq!(e.0, "Beginning of range (0) below minimum (1): 0");
        assert!(parse_cnpg("0 3 * * MON").is_err());
    }

    #[test]
    fn six_fields_and_descriptors() {
        assert_eq!(describe(&parse_cnpg("0 0 3 * * *").unwrap(), true), "every day at 03:00:00");
        assert_eq!(describe(&parse_cnpg("@daily").unwrap(), true), "every day at 00:00:00");
        assert_eq!(describe(&parse_cnpg("*/15 * * * *").unwrap(), true), "every 15 seconds");
        assert!(parse_cnpg("@fortnightly").unwrap_err().0.starts_with("Unrecognized descriptor"));
        assert!(parse_cnpg("@every 1h30m").is_ok());
        assert!(parse_cnpg("CRON_TZ=UTC 0 0 3 * * *").is_err());
        assert!(parse_cnpg("0 0 3 * * * *").is_err());
    }

    #[test]
    fn standard_dialect() {
        let (s, tz) = parse_standard("0 3 * * *").unwrap();
        assert_eq!(tz, None);
        assert_eq!(describe(&s, false), "every day at 03:00");
        assert!(parse_standard("0 0 3 * * *").unwrap_err().0.starts_with("expected exactly 5 fields, found 6"));
        assert_eq!(parse_standard("TZ=Europe/Paris 0 3 * * *").unwrap().1.as_deref(), Some("Europe/Paris"));
        assert_eq!(describe(&parse_standard("30 2 * * 1-5").unwrap().0, false), "every Monday–Friday at 02:30");
    }

    #[test]
    fn january_to_may_trap() {
        let s = parse_cnpg("30 2 * * 1-5").unwrap();
        assert_eq!(describe(&s, true), "every hour at hh:02:30, only in January–May");
    }
}
