//! `cnpg-scheduled-backup-orphan`: a ScheduledBackup whose Cluster does not exist.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;
use crate::model::is_unresolved;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cnpg-scheduled-backup-orphan",
        severity: Severity::Error,
        summary: "ScheduledBackup names no Cluster in its namespace",
        doc: include_str!("../../rules/cnpg-scheduled-backup-orphan.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for sb in &inv.scheduled_backups {
        let namespace = sb.res.namespace.as_deref();
        let Some(name_node) = sb.cluster_name else {
            let span = sb.res.spec_span();
            out.push(
                RULE.meta
                    .finding(
                        format!("ScheduledBackup `{}` has no `spec.cluster.name`", sb.res.qualified_name()),
                        span,
                        "backs up no Cluster",
                    )
                    .on(sb.index, sb.res),
            );
            continue;
        };
        let Some(name) = name_node.as_str() else {
            continue;
        };
        let here = inv
            .clusters_named(name)
            .any(|c| crate::inventory::same_namespace(c.namespace(), namespace) && c.res.cluster == sb.res.cluster);
        if is_unresolved(name) || is_unresolved(&sb.res.name) || here {
            continue;
        }
        let elsewhere: Vec<_> = inv.clusters_named(name).collect();
        let ns_text = namespace.map_or("its namespace".to_string(), |n| format!("namespace `{n}`"));
        let mut finding = RULE.meta.finding(
            format!(
                "ScheduledBackup `{}` backs up Cluster `{name}`, but there is no such Cluster in {ns_text}: every Backup it creates stays pending",
                sb.res.qualified_name()
            ),
            name_node.span,
            "no Cluster of this name here",
        );
        for c in &elsewhere {
            finding = finding.related(
                c.res.name_span(),
                format!("a Cluster `{name}` in namespace `{}`", c.namespace().unwrap_or("(none)")),
            );
        }
        let help = if elsewhere.is_empty() {
            "Point `spec.cluster.name` at an existing Cluster, or delete this ScheduledBackup.".to_string()
        } else {
            "A ScheduledBackup only finds a Cluster in its own namespace: move it next to the Cluster.".to_string()
        };
        out.push(finding.help(help).on(sb.index, sb.res));
    }
}
