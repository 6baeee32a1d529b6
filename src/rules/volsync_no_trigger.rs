//! `volsync-no-trigger`: a ReplicationSource with neither a schedule nor a
//! manual trigger syncs back to back, forever.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "volsync-no-trigger",
        severity: Severity::Warning,
        summary: "ReplicationSource with neither `trigger.schedule` nor `trigger.manual`",
        doc: include_str!("../../rules/volsync-no-trigger.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for rs in &inv.replication_sources {
        if rs.schedule.is_some() || rs.manual.is_some() {
            continue;
        }
        let span = rs
            .res
            .spec()
            .and_then(|s| s.key_node("trigger"))
            .map(|k| rs.trigger.map_or(k.span, |t| k.span.through(t.span)))
            .unwrap_or_else(|| rs.res.spec_span());
        out.push(
            RULE.meta
                .finding(
                    format!("ReplicationSource `{}` has no trigger: VolSync starts the next sync as soon as one ends, so the mover runs back to back and hammers the repository", rs.res.qualified_name()),
                    span,
                    "no schedule, no manual trigger",
                )
                .help("Add `trigger: {schedule: \"0 * * * *\"}` (five-field cron), or `trigger: {manual: <id>}` for on-demand syncs.")
                .on(rs.index, rs.res),
        );
    }
}
