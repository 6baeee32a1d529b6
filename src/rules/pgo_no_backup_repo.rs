//! `pgo-no-backup-repo`: a Crunchy PGO PostgresCluster with no pgBackRest
//! repository: no WAL archive, no backups.

use super::{named, Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "pgo-no-backup-repo",
        severity: Severity::Error,
        summary: "Crunchy PGO PostgresCluster with no pgBackRest repository: no WAL archive, no backups",
        doc: include_str!("../../rules/pgo-no-backup-repo.md"),
        coverage: true,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for cluster in inv.pgo_clusters.iter().filter(|c| c.repos.is_empty() && !c.standby) {
        let removed_by = cluster.backups_removed_by();
        let what = if cluster.backups_key.is_some() {
            "its `spec.backups` lists no pgBackRest repository"
        } else if removed_by.is_some() {
            "a patch removes its `spec.backups` (PGO 5.7 and later then run it without backups)"
        } else {
            "it has no `spec.backups` (PGO 5.7 and later then run it without backups)"
        };
        let mut message = format!(
            "{} is not backed up: {what}, so no WAL is archived and no backup is taken; a lost volume is a lost database",
            named("PostgresCluster", cluster.res)
        );
        let mut finding = RULE.meta.finding(String::new(), cluster.backups_span(), "no pgBackRest repository");
        if let Some(patch) = removed_by {
            finding = finding.related(patch, "this patch removes its backups");
        }
        finding = super::mention_dumps(&inv.dump_jobs_for_pgo(cluster), &mut message, finding);
        finding.message = message;
        out.push(
            finding
                .help("Add `spec.backups.pgbackrest.repos: [{name: repo1, s3: {bucket: …, endpoint: …, region: …}, schedules: {full: \"0 1 * * 0\", differential: \"0 1 * * 1-6\"}}]` with the credentials under `spec.backups.pgbackrest.configuration`. If this database is deliberately not backed up, say why with the annotation `lifeboat.dev/exclude: \"<reason>\"`.")
                .on(cluster.index, cluster.res),
        );
    }
}
