//! `pvc-external-storage`: data on storage outside the cluster (an NFS or
//! SMB share, iSCSI, a node's disk) that no mechanism here backs up: its
//! backup is the storage server's, which lifeboat cannot see.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "pvc-external-storage",
        severity: Severity::Info,
        summary: "PVC on external storage (NFS, SMB, iSCSI, a node's disk) whose backup lifeboat cannot see",
        doc: include_str!("../../rules/pvc-external-storage.md"),
        coverage: true,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for (i, item) in inv.items.iter().enumerate() {
        let Some(place) = inv.external.get(i).and_then(Option::as_ref) else { continue };
        // A share or node directory mounted straight into the app is listed
        // in the inventory, not flagged (most are media libraries on the NAS).
        if item.kind == crate::inventory::stateful::ItemKind::DirectVolume {
            continue;
        }
        if inv.coverage.get(i).is_some_and(|c| !c.is_empty()) {
            continue;
        }
        let excluded = inv.item_exclusion(i).is_some();
        let mut place = place.clone();
        crate::model::say_unresolved_with(&mut place, inv.hidden_variables, item.res.deployed_by.as_deref());
        out.push(
            RULE.meta
                .finding(
                    format!(
                        "{} lives on external storage ({place}): lifeboat cannot see whether that server's data is backed up",
                        item.describe()
                    ),
                    item.span,
                    "external storage",
                )
                .help("Make sure the storage server backs this share up (snapshots, replication, an offsite copy), then say so: annotate the claim `lifeboat.dev/exclude: \"backed up by the NAS (…)\"` or add an `exclude:` entry with that reason.")
                .on(item.index, item.res)
                .key(item.claim.likely_name())
                .excluded(excluded),
        );
    }
}
