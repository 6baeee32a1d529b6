//! `volsync-schedule-invalid`: a ReplicationSource schedule that VolSync's
//! CRD or its controller rejects (six fields, names, `?` …).

use std::sync::LazyLock;

use regex::Regex;

use super::{Check, Rule, RuleMeta};
use crate::cron;
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;
use crate::model::is_unresolved;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "volsync-schedule-invalid",
        severity: Severity::Error,
        summary: "ReplicationSource schedule with six fields, or otherwise invalid",
        doc: include_str!("../../rules/volsync-schedule-invalid.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

/// The pattern of `spec.trigger.schedule` in VolSync's CRD, as written there
/// (its alternation is only half anchored, which is why six fields pass).
static CRD_PATTERN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^(@(annually|yearly|monthly|weekly|daily|hourly))|((((\d+,)*\d+|(\d+(\/|-)\d+)|\*(\/\d+)?)\s?){5})$")
        .ok()
});

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for rs in &inv.replication_sources {
        let Some(node) = rs.schedule else { continue };
        let Some(expr) = node.as_str().map(str::trim) else { continue };
        if is_unresolved(expr) {
            continue;
        }
        let crd_ok = CRD_PATTERN.as_ref().is_none_or(|re| re.is_match(expr));
        let fields = cron::field_count(expr);
        let parsed = cron::parse_standard(expr);
        let (message, label, help) = if !crd_ok {
            let why = match &parsed {
                Ok(_) => "VolSync's CRD allows only numbers, `*`, `*/n`, `a-b`, `a/b` and lists of numbers per field (no names like MON, no `?`, no `@every`/`@midnight`)".to_string(),
                Err(e) => e.to_string(),
            };
            (
                format!("schedule `\"{expr}\"` of ReplicationSource `{}` is rejected by the API server: {why}", rs.res.qualified_name()),
                "rejected by the CRD",
                "Write five numeric fields (minute hour day-of-month month day-of-week), e.g. `\"0 3 * * *\"`, or a descriptor such as `@daily`.".to_string(),
            )
        } else if fields == 6 && !expr.starts_with('@') {
            let fix = cron::without_seconds(expr);
            (
                format!(
                    "schedule `\"{expr}\"` of ReplicationSource `{}` has six fields: VolSync's CRD lets it through, but the controller parses five (`expected exactly 5 fields, found 6`), so no scheduled sync ever runs",
                    rs.res.qualified_name()
                ),
                "six fields",
                format!("VolSync schedules are standard five-field cron without seconds: write `\"{fix}\"`."),
            )
        } else {
            match parsed {
                Ok(_) => continue,
                Err(e) => (
                    format!("schedule `\"{expr}\"` of ReplicationSource `{}` is invalid: {e}; the controller never syncs it on schedule", rs.res.qualified_name()),
                    "invalid schedule",
                    "Write a five-field cron (minute hour day-of-month month day-of-week), e.g. `\"0 3 * * *\"`.".to_string(),
                ),
            }
        };
        let message = format!("{message}{}", inv.left_without_backup(rs.index));
        out.push(RULE.meta.finding(message, node.span, label).help(help).on(rs.index, rs.res));
    }
}

#[cfg(test)]
mod tests {
    use super::CRD_PATTERN;

    fn crd(expr: &str) -> bool {
        CRD_PATTERN.as_ref().is_some_and(|re| re.is_match(expr))
    }

    #[test]
    fn crd_pattern_is_half_anchored() {
        assert!(crd("0 4,16 * * *"));
        assert!(crd("*/15 * * * *"));
        assert!(crd("@daily"));
        assert!(crd("0 0 3 * * *"), "six fields pass the CRD");
        assert!(!crd("0 3 * * MON"));
        assert!(!crd("0 3 ? * *"));
        assert!(!crd("@every 1h"));
        assert!(!crd("@midnight"));
    }
}
