//! `cnpg-scheduled-backup-suspended`: `spec.suspend: true` committed.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cnpg-scheduled-backup-suspended",
        severity: Severity::Warning,
        summary: "ScheduledBackup is suspended",
        doc: include_str!("../../rules/cnpg-scheduled-backup-suspended.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for sb in &inv.scheduled_backups {
        let Some(node) = sb.suspend.filter(|n| n.as_bool() == Some(true)) else {
            continue;
        };
        let span = sb
            .res
            .root
            .path(&["spec"])
            .and_then(|s| s.key_node("suspend"))
            .map_or(node.span, |k| k.span.through(node.span));
        let target = sb.cluster_name.and_then(Node::as_str).unwrap_or("its Cluster");
        out.push(
            RULE.meta
                .finding(
                    format!("ScheduledBackup `{}` is suspended: no base backup of `{target}` is taken while this is committed", sb.res.qualified_name()),
                    span,
                    "suspended",
                )
                .help("Remove `suspend: true` once the maintenance is over; if the pause is deliberate, say why with `ignore-check.lifeboat.dev/cnpg-scheduled-backup-suspended: \"<reason>\"`.")
                .on(sb.index, sb.res),
        );
    }
}
