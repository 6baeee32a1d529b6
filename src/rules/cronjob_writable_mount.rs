//! `cronjob-writable-mount`: a backup CronJob mounts the PVC it copies
//! read-write.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cronjob-writable-mount",
        severity: Severity::Warning,
        summary: "backup CronJob mounts the PVC it copies read-write",
        doc: include_str!("../../rules/cronjob-writable-mount.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for job in &inv.backup_jobs {
        // A job that mounts one PVC read-only and another read-write copies
        // the first into the second: the writable one is its destination —
        // unless the tool sends the copy off the cluster, when every mount
        // is a source.
        if !job.offsite && job.mounts.iter().any(|m| m.read_only) {
            continue;
        }
        for m in job.sources().filter(|m| !m.read_only) {
            let claim = m.claim_name().unwrap_or("?");
            let span = m.mount.map_or(m.volume.span, |n| n.span);
            out.push(
                RULE.meta
                    .finding(
                        format!("backup CronJob `{}` copies PVC `{claim}` but mounts it read-write: a bug in the script, or a restore run by mistake, can change the data it is meant to protect", job.res.qualified_name()),
                        span,
                        "mounted read-write",
                    )
                    .help("Set `readOnly: true` on the container's volumeMount (or on the volume's `persistentVolumeClaim`).")
                    .on(job.index, job.res)
                    .key(claim),
            );
        }
    }
}
