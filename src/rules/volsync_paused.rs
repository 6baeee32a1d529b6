//! `volsync-paused`: `spec.paused: true` committed.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "volsync-paused",
        severity: Severity::Warning,
        summary: "ReplicationSource is paused",
        doc: include_str!("../../rules/volsync-paused.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for rs in &inv.replication_sources {
        let Some(node) = rs.paused.filter(|_| rs.is_paused()) else { continue };
        let span = rs.res.spec().and_then(|s| s.key_node("paused")).map_or(node.span, |k| k.span.through(node.span));
        let pvc = rs.source_pvc_name().unwrap_or("its PVC");
        out.push(
            RULE.meta
                .finding(
                    format!("ReplicationSource `{}` is paused: no backup of `{pvc}` is taken while this is committed (the mover job is created with parallelism 0)", rs.res.qualified_name()),
                    span,
                    "paused",
                )
                .help("Remove `paused: true` once the maintenance is over; if the pause is deliberate, say why with `ignore-check.lifeboat.dev/volsync-paused: \"<reason>\"`.")
                .on(rs.index, rs.res),
        );
    }
}
