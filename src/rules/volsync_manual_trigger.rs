//! `volsync-manual-trigger`: a ReplicationSource whose `trigger.manual` is
//! set. VolSync then syncs once per new value of `manual` and ignores a
//! `schedule` beside it (`getTrigger` takes the manual trigger first), so
//! the backup is a one-off, however the schedule reads.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::volsync::ReplicationSource;
use crate::inventory::Inventory;
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "volsync-manual-trigger",
        severity: Severity::Warning,
        summary: "ReplicationSource has a manual trigger: it backs up once, and ignores its schedule",
        doc: include_str!("../../rules/volsync-manual-trigger.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

/// Another source backs up the same PVC on a schedule that runs: a manual
/// one beside it is a one-off by design (a copy before an upgrade).
fn scheduled_twin(inv: &Inventory, rs: &ReplicationSource) -> bool {
    let Some(pvc) = rs.source_pvc_name() else { return false };
    inv.replication_sources.iter().any(|other| {
        other.index != rs.index
            && other.res.cluster == rs.res.cluster
            && other.res.namespace == rs.res.namespace
            && other.source_pvc_name() == Some(pvc)
            && !other.is_manual()
            && !other.is_paused()
            && other.schedule.is_some()
    })
}

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for rs in &inv.replication_sources {
        let Some(manual) = rs.manual.filter(|_| rs.is_manual()) else { continue };
        let name = rs.res.qualified_name();
        let pvc = rs.source_pvc_name().unwrap_or("its PVC");
        let value = manual.as_str().unwrap_or("?");
        let finding = match rs.schedule.and_then(Node::as_str) {
            Some(schedule) => RULE.meta
                .finding(
                    format!("ReplicationSource `{name}` sets both `trigger.manual` (\"{value}\") and `trigger.schedule` (\"{schedule}\"): VolSync takes the manual trigger and ignores the schedule, so `{pvc}` is backed up once per new `manual` value, not on the schedule"),
                    manual.span,
                    "the schedule beside this is ignored",
                )
                .help("Remove `trigger.manual` so the schedule applies (a one-off backup belongs in its own ReplicationSource)."),
            None if scheduled_twin(inv, rs) => continue,
            None => RULE.meta
                .finding(
                    format!("ReplicationSource `{name}` has only a manual trigger (\"{value}\"): VolSync backs up `{pvc}` once per new value and then never again, so no backup is newer than the last time someone changed it"),
                    manual.span,
                    "manual trigger only",
                )
                .help("Give it `trigger.schedule` (and drop `manual`), or keep it as a one-off beside a scheduled ReplicationSource of the same PVC."),
        };
        out.push(finding.on(rs.index, rs.res));
    }
}
