//! `cnpg-no-wal-archive`: a Cluster that archives no WAL.

use super::{named, Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cnpg-no-wal-archive",
        severity: Severity::Error,
        summary: "CNPG Cluster with no WAL archive: no point-in-time recovery",
        doc: include_str!("../../rules/cnpg-no-wal-archive.md"),
        coverage: true,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for cluster in inv.clusters.iter().filter(|c| c.archiver.is_none() && !c.replica) {
        let mut message = format!(
            "{} does not archive WAL: it has no `spec.backup.barmanObjectStore` and no enabled WAL-archiving plugin, so nothing can restore it to a point in time",
            named("Cluster", cluster.res)
        );
        let mut finding = RULE.meta.finding(String::new(), cluster.res.name_span(), "archives no WAL");
        finding = super::mention_dumps(&inv.dump_jobs_for(cluster), &mut message, finding);
        if let Some(snap) = cluster.volume_snapshot {
            message.push_str("; `spec.backup.volumeSnapshot` takes volume snapshots, which without a WAL archive restore only to the snapshot");
            finding = finding.related(snap.span, "volume snapshots without WAL");
        }
        for p in cluster.plugins.iter().filter(|p| !p.archives_wal()) {
            let why = if p.enabled {
                "not a known WAL-archiving plugin (set `isWALArchiver: true` if it is one)"
            } else {
                "disabled (`enabled: false`)"
            };
            finding = finding.related(p.node.span, format!("plugin `{}` is {why}", p.name));
        }
        finding.message = message;
        out.push(
            finding
                .help("Archive WAL with the Barman Cloud plugin (`spec.plugins: [{name: barman-cloud.cloudnative-pg.io, isWALArchiver: true, parameters: {barmanObjectName: <ObjectStore>}}]`) or `spec.backup.barmanObjectStore`. If this database is deliberately not backed up, say why with the annotation `lifeboat.dev/exclude: \"<reason>\"`.")
                .on(cluster.index, cluster.res),
        );
    }
}
