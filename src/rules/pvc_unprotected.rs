//! `pvc-unprotected`: data that no mechanism backs up and no exclusion names.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::coverage::near_misses;
use crate::inventory::stateful::Claim;
use crate::inventory::Inventory;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "pvc-unprotected",
        severity: Severity::Error,
        summary: "PVC, claim template or Helm persistence that nothing backs up",
        doc: include_str!("../../rules/pvc-unprotected.md"),
        coverage: true,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    // The help proposes the mechanism the repository already uses: kopiur
    // when it writes more SnapshotPolicies than ReplicationSources.
    let kopiur = inv
        .schedules
        .iter()
        .filter(|s| matches!(s.selector, crate::inventory::schedules::Selector::Kopiur { .. }))
        .count();
    let kopiur_first = kopiur > inv.replication_sources.len();
    for (i, item) in inv.items.iter().enumerate() {
        // Data on an NFS share or a node's disk is pvc-external-storage's.
        // Made by a chart lifeboat could not fully render: the inventory says
        // it is not judged (its backup may be in what was not rendered).
        if inv.coverage.get(i).is_some_and(|c| !c.is_empty())
            || inv.external.get(i).is_some_and(Option::is_some)
            || item.unseen.is_some()
        {
            continue;
        }
        let mut message = format!(
            "{} holds data that nothing backs up: no VolSync ReplicationSource, kopiur SnapshotPolicy, backup CronJob, K8up, Velero or Longhorn backup job covers it",
            item.describe()
        );
        for hint in near_misses(inv, item) {
            message.push_str("; ");
            message.push_str(&hint);
        }
        let claim = item.claim.likely_name();
        let source = match (&item.claim, kopiur_first) {
            // lifeboat does not know how the chart names a component's claim.
            (Claim::Component { release, component }, false) => {
                format!("a VolSync ReplicationSource with `sourcePVC:` the claim release `{release}` makes for `{component}.persistence`")
            }
            (Claim::Component { release, component }, true) => format!(
                "a kopiur SnapshotPolicy, as this repository's other claims have, with `sources: [{{pvc: {{name: …}}}}]` the claim release `{release}` makes for `{component}.persistence`"
            ),
            (_, false) => format!("a VolSync ReplicationSource with `sourcePVC: {claim}`"),
            (_, true) => format!(
                "a kopiur SnapshotPolicy, as this repository's other claims have, with `sources: [{{pvc: {{name: {claim}}}}}]`"
            ),
        };
        let excluded = inv.item_exclusion(i).is_some();
        out.push(
            RULE.meta
                .finding(message, item.span, "not backed up")
                .help(format!(
                    "Back it up (e.g. {source}), or, if losing it is fine (a cache, re-downloadable media), say so: annotate the resource `lifeboat.dev/exclude: \"<reason>\"` or add an `exclude:` entry with a `reason` to `.lifeboat.yaml`."
                ))
                .on(item.index, item.res)
                .key(claim)
                .excluded(excluded),
        );
    }
}
