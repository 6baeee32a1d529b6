//! `cnpg-no-scheduled-backup`: WAL is archived but no base backup is ever taken.

use super::{named, Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::cnpg::Archiver;
use crate::inventory::Inventory;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cnpg-no-scheduled-backup",
        severity: Severity::Error,
        summary: "CNPG Cluster archives WAL but no ScheduledBackup takes base backups",
        doc: include_str!("../../rules/cnpg-no-scheduled-backup.md"),
        coverage: true,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for cluster in inv.clusters.iter().filter(|c| c.archiver.is_some() && !c.replica) {
        if !inv.scheduled_backups_for(cluster).is_empty() {
            continue;
        }
        let mut finding = RULE.meta.finding(
            format!(
                "{} archives WAL but no ScheduledBackup targets it: with no base backup there is nothing to replay the WAL onto, and the archive's retention never prunes",
                named("Cluster", cluster.res)
            ),
            cluster.res.name_span(),
            "no ScheduledBackup names this Cluster",
        );
        if let Some(span) = cluster.archiver_span() {
            finding = finding.related(span, "WAL is archived here");
        }
        let method = match &cluster.archiver {
            Some(Archiver::Plugin(p)) => format!("`method: plugin`, `pluginConfiguration: {{name: {}}}`", p.name),
            _ => "`method: barmanObjectStore`".to_string(),
        };
        out.push(
            finding
                .help(format!(
                    "Add a ScheduledBackup in namespace `{}` with `cluster: {{name: {}}}`, {method}, a six-field schedule such as `\"0 0 3 * * *\"` (03:00 daily) and `immediate: true`.",
                    cluster.namespace().unwrap_or("default"),
                    cluster.name()
                ))
                .on(cluster.index, cluster.res),
        );
    }
}
