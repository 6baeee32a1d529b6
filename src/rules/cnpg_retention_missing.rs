//! `cnpg-retention-missing`: an archive nothing ever prunes.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::cnpg::Archiver;
use crate::inventory::Inventory;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cnpg-retention-missing",
        severity: Severity::Warning,
        summary: "WAL archive with no retention policy",
        doc: include_str!("../../rules/cnpg-retention-missing.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

const HELP: &str = "Set a retention policy such as `\"30d\"`; CNPG prunes base backups and WAL older than the window after each backup.";

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    // ObjectStores used as a WAL archive, with the Clusters that write to them.
    let mut stores: Vec<(usize, Vec<usize>)> = Vec::new();
    for cluster in inv.clusters.iter().filter(|c| !c.replica) {
        match &cluster.archiver {
            Some(Archiver::InTree(store)) if cluster.retention.is_none() => {
                let misplaced = store.get("retentionPolicy").is_some();
                let span = cluster.backup_key.map_or(store.span, |k| k.span);
                let mut finding = RULE.meta.finding(
                    format!(
                        "Cluster `{}` archives WAL with no `spec.backup.retentionPolicy`: base backups and WAL are never pruned and the bucket grows forever",
                        cluster.res.qualified_name()
                    ),
                    span,
                    "no retentionPolicy",
                );
                if misplaced {
                    finding.message.push_str(" (`barmanObjectStore.retentionPolicy` is not a field: CNPG drops it)");
                }
                out.push(finding.help(HELP).on(cluster.index, cluster.res));
            }
            Some(Archiver::Plugin(p)) => {
                if let Some((store, _)) = inv.plugin_store(cluster.namespace(), p) {
                    match stores.iter_mut().find(|(s, _)| *s == store.index) {
                        Some((_, users)) => users.push(cluster.index),
                        None => stores.push((store.index, vec![cluster.index])),
                    }
                }
            }
            _ => {}
        }
    }
    for store in &inv.object_stores {
        let Some((_, users)) = stores.iter().find(|(s, _)| *s == store.index) else {
            continue;
        };
        if store.retention.is_some() {
            continue;
        }
        let misplaced = store.configuration.and_then(|c| c.get("retentionPolicy"));
        let mut message = format!(
            "ObjectStore `{}` holds a WAL archive but has no `spec.retentionPolicy`: base backups and WAL are never pruned",
            store.res.qualified_name()
        );
        if misplaced.is_some() {
            message.push_str(" (`spec.configuration.retentionPolicy` is not a field: the plugin ignores it; move it to `spec.retentionPolicy`)");
        }
        // A Cluster that kept its in-tree `spec.backup.retentionPolicy` when it
        // moved to the plugin: CNPG uses it only for `barmanObjectStore`.
        let left_behind: Vec<(&crate::inventory::cnpg::Cluster, &crate::yaml::Node)> = users
            .iter()
            .filter_map(|&u| inv.clusters.iter().find(|c| c.index == u))
            .filter_map(|c| c.retention.map(|r| (c, r)))
            .collect();
        if let Some((cluster, retention)) = left_behind.first() {
            let value = retention.as_str().unwrap_or("…");
            message.push_str(&format!(
                " (Cluster `{}` sets `spec.backup.retentionPolicy: {value}`, which only the in-tree `barmanObjectStore` uses: the plugin ignores it)",
                cluster.res.qualified_name()
            ));
        }
        let span = misplaced.map_or(store.res.name_span(), |n| n.span);
        let mut finding = RULE.meta.finding(message, span, "no spec.retentionPolicy");
        for &user in users {
            if let Some(c) = inv.resources.get(user) {
                finding = finding.related(c.name_span(), format!("Cluster `{}` archives here", c.qualified_name()));
            }
        }
        for (cluster, retention) in &left_behind {
            finding = finding.related(
                retention.span,
                format!(
                    "Cluster `{}`: ignored with a plugin; move it to the ObjectStore",
                    cluster.res.qualified_name()
                ),
            );
        }
        out.push(finding.help(HELP).on(store.index, store.res));
    }
}
