//! `cnpg-recovery-left-in`: `bootstrap.recovery`/`pg_basebackup` committed
//! on a Cluster that is not a replica.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cnpg-recovery-left-in",
        severity: Severity::Warning,
        summary: "bootstrap.recovery (or pg_basebackup) left in a live Cluster's manifest",
        doc: include_str!("../../rules/cnpg-recovery-left-in.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for cluster in inv.clusters.iter().filter(|c| !c.replica) {
        for method in ["recovery", "pg_basebackup"] {
            let Some((key, value)) = cluster.bootstrap_method(method) else {
                continue;
            };
            let source = value
                .get("source")
                .and_then(Node::as_str)
                .map(|s| format!(" from external cluster `{s}`"))
                .or_else(|| {
                    value.path(&["backup", "name"]).and_then(Node::as_str).map(|b| format!(" from Backup `{b}`"))
                })
                .unwrap_or_default();
            let what = if method == "recovery" { "restores" } else { "clones" };
            // Recovering from the archive it writes itself: a deliberate
            // "rebuild restores itself" pattern, whose risk is different.
            let own = method == "recovery"
                && value
                    .get("source")
                    .and_then(Node::as_str)
                    .and_then(|s| cluster.external(s))
                    .and_then(|e| inv.own_recovery_archive(cluster, e))
                    .is_some();
            // Without `cnpg.io/skipEmptyWalArchiveCheck: enabled` such a
            // restore does not run at all: it finds WAL where it will
            // archive (`cnpg-recovery-writes-to-source` says so).
            let skips_check =
                cluster.res.annotation("cnpg.io/skipEmptyWalArchiveCheck").and_then(Node::as_str) == Some("enabled");
            let outcome = if skips_check {
                "CNPG silently restores the archive's latest state instead of keeping its current data — and if archiving had stopped unnoticed, the rebuild loses everything since"
            } else {
                "CNPG restores from that archive instead of keeping its current data, and since it archives there too the restore stops at \"Expected empty archive\" (cnpg-recovery-writes-to-source) until that check is skipped"
            };
            let (message, help) = if own {
                (
                    format!(
                        "Cluster `{}` keeps `bootstrap.recovery` in Git, recovering from the archive it writes itself (external cluster `{}`): whenever it is re-created (namespace wipe, prune, rebuild) {outcome}",
                        cluster.res.qualified_name(),
                        value.get("source").and_then(Node::as_str).unwrap_or("")
                    ),
                    "If restoring itself on a rebuild is deliberate, alert on failed WAL archiving (the `cnpg_pg_stat_archiver_failed_count` metric, the ScheduledBackups' status) and say so with `ignore-check.lifeboat.dev/cnpg-recovery-left-in: \"<reason>\"`; otherwise replace it with `initdb` once the recovery has completed.".to_string(),
                )
            } else {
                (
                    format!(
                        "Cluster `{}` keeps `bootstrap.{method}` in Git: whenever it is re-created (namespace wipe, prune, rebuild) CNPG silently {what} it{source} instead of keeping its current data",
                        cluster.res.qualified_name()
                    ),
                    format!(
                        "Once the {method} has completed, replace it with `initdb` (or remove `bootstrap`). If the stanza is kept on purpose for rebuilds, guard the Cluster against deletion and say why with `ignore-check.lifeboat.dev/cnpg-recovery-left-in: \"<reason>\"`."
                    ),
                )
            };
            out.push(
                RULE.meta
                    .finding(message, key.span, format!("{what}{source} on every re-creation"))
                    .help(help)
                    .key(method)
                    .on(cluster.index, cluster.res),
            );
        }
    }
}
