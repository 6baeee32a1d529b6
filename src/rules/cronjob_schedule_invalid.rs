//! `cronjob-schedule-invalid`: a backup CronJob schedule Kubernetes rejects:
//! six fields (a CNPG habit), a `TZ=` prefix, or invalid cron.

use super::{Check, Rule, RuleMeta};
use crate::cron;
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;
use crate::model::is_unresolved;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cronjob-schedule-invalid",
        severity: Severity::Error,
        summary: "backup CronJob schedule with six fields, `TZ=`, or otherwise invalid",
        doc: include_str!("../../rules/cronjob-schedule-invalid.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for job in &inv.backup_jobs {
        let Some(node) = job.schedule else { continue };
        let Some(expr) = node.as_str().map(str::trim) else { continue };
        if is_unresolved(expr) {
            continue;
        }
        let name = job.res.qualified_name();
        let (message, label, help) = if expr.starts_with("TZ=") || expr.starts_with("CRON_TZ=") {
            let (zone, rest) = expr.split_once(char::is_whitespace).unwrap_or((expr, ""));
            let zone = zone.split_once('=').map_or("", |(_, z)| z);
            (
                format!("schedule `\"{expr}\"` of backup CronJob `{name}` has a time zone prefix: Kubernetes rejects it (\"cannot use TZ or CRON_TZ in schedule, use timeZone field instead\")"),
                "TZ in schedule",
                format!("Write `schedule: \"{}\"` and `timeZone: \"{zone}\"`.", rest.trim()),
            )
        } else if !expr.starts_with('@') && cron::field_count(expr) == 6 {
            let fix = cron::without_seconds(expr);
            (
                format!("schedule `\"{expr}\"` of backup CronJob `{name}` has six fields: Kubernetes CronJobs take five (no seconds) and the API server rejects it, so the backup never runs"),
                "six fields",
                format!("Drop the seconds: write `\"{fix}\"`."),
            )
        } else {
            match cron::parse_standard(expr) {
                Ok(_) => continue,
                Err(e) => (
                    format!("schedule `\"{expr}\"` of backup CronJob `{name}` is invalid: {e}; the API server rejects it, so the backup never runs"),
                    "invalid schedule",
                    "Write a five-field cron (minute hour day-of-month month day-of-week), e.g. `\"0 3 * * *\"`.".to_string(),
                ),
            }
        };
        let message = format!("{message}{}", inv.left_without_backup(job.index));
        out.push(RULE.meta.finding(message, node.span, label).help(help).on(job.index, job.res));
    }
}
