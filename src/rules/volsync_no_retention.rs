//! `volsync-no-retention`: a restic or kopia mover without `retain`.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "volsync-no-retention",
        severity: Severity::Warning,
        summary: "restic/kopia ReplicationSource without `retain` (snapshots never pruned)",
        doc: include_str!("../../rules/volsync-no-retention.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for rs in &inv.replication_sources {
        let Some((mover, section)) = rs.mover.filter(|(m, _)| matches!(*m, "restic" | "kopia")) else { continue };
        if rs.retain.is_some_and(|r| !r.as_map().is_empty()) {
            continue;
        }
        let span = rs.res.spec().and_then(|s| s.key_node(mover)).map_or(section.span, |k| k.span);
        let example =
            if mover == "restic" { "{hourly: 24, daily: 7, weekly: 4}" } else { "{hourly: 24, daily: 7, latest: 3}" };
        out.push(
            RULE.meta
                .finding(
                    format!("the {mover} mover of ReplicationSource `{}` has no `retain`: VolSync never prunes its snapshots, so the repository grows without bound", rs.res.qualified_name()),
                    span,
                    "no retain",
                )
                .help(format!("Add `retain: {example}` under `{mover}:`."))
                .on(rs.index, rs.res),
        );
    }
}
