//! `cronjob-suspended`: a backup CronJob with `suspend: true` committed.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cronjob-suspended",
        severity: Severity::Warning,
        summary: "backup CronJob is suspended",
        doc: include_str!("../../rules/cronjob-suspended.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for job in &inv.backup_jobs {
        let Some(node) = job.suspend.filter(|_| job.is_suspended()) else { continue };
        let span = job.res.spec().and_then(|s| s.key_node("suspend")).map_or(node.span, |k| k.span.through(node.span));
        let what = if job.dump { "database dump".to_string() } else { format!("backup ({})", job.tool) };
        out.push(
            RULE.meta
                .finding(
                    format!("backup CronJob `{}` is suspended: its {what} does not run while this is committed{}", job.res.qualified_name(), inv.left_without_backup(job.index)),
                    span,
                    "suspended",
                )
                .help("Remove `suspend: true` once the maintenance is over; if the pause is deliberate, say why with `ignore-check.lifeboat.dev/cronjob-suspended: \"<reason>\"`.")
                .on(job.index, job.res),
        );
    }
}
