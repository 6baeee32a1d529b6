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
        // The mount a local copy is written into is its destination, not a
        // source (none is, when the tool sends the copy off the cluster).
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
