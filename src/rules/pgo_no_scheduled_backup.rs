//! `pgo-no-scheduled-backup`: a Crunchy PGO PostgresCluster archives WAL to
//! its pgBackRest repositories, but none takes backups on a schedule.

use super::{named, Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "pgo-no-scheduled-backup",
        severity: Severity::Error,
        summary: "Crunchy PGO PostgresCluster whose pgBackRest repositories take no scheduled backups",
        doc: include_str!("../../rules/pgo-no-scheduled-backup.md"),
        coverage: true,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for cluster in inv.pgo_clusters.iter().filter(|c| !c.repos.is_empty() && !c.standby && !c.scheduled()) {
        let repos: Vec<_> = cluster.repos.iter().map(|r| format!("`{}`", r.name)).collect();
        let invalid: Vec<_> = cluster.repos.iter().flat_map(|r| r.schedules.iter().map(move |s| (r, s))).collect();
        let why = if invalid.is_empty() {
            "no repository has `schedules`".to_string()
        } else {
            let list: Vec<_> =
                invalid.iter().map(|(r, s)| format!("{} `{}: \"{}\"`", r.name, s.kind, s.text())).collect();
            format!("no schedule is valid five-field cron, so PGO makes no CronJob that runs ({})", list.join(", "))
        };
        let mut finding = RULE.meta.finding(
            format!(
                "{} archives WAL to {} but takes no scheduled backup: {why}. Beyond a backup made by hand, a restore has nothing recent to replay WAL onto, and pgBackRest's retention, applied after each backup, never expires the archive",
                named("PostgresCluster", cluster.res),
                repos.join(", "),
            ),
            cluster.backups_span(),
            "no scheduled backup",
        );
        for (r, s) in &invalid {
            finding = finding.related(s.node.span, format!("{} `{}` schedule: not valid cron", r.name, s.kind));
        }
        let first = cluster.repos.first().map_or("repo1", |r| r.name);
        out.push(
            finding
                .help(format!(
                    "Give a repository five-field cron schedules, e.g. under `{first}`: `schedules: {{full: \"0 1 * * 0\", differential: \"0 1 * * 1-6\"}}` (weekly full, daily differential)."
                ))
                .on(cluster.index, cluster.res),
        );
    }
}
