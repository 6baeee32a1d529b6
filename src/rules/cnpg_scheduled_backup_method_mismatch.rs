//! `cnpg-scheduled-backup-method-mismatch`: the backup method is one the
//! Cluster is not configured for, so every Backup fails.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::cnpg::Cluster;
use crate::inventory::Inventory;
use crate::model::is_unresolved;
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cnpg-scheduled-backup-method-mismatch",
        severity: Severity::Error,
        summary: "ScheduledBackup method not backed by its Cluster's configuration",
        doc: include_str!("../../rules/cnpg-scheduled-backup-method-mismatch.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

/// The Cluster has some backup configuration (else `cnpg-no-wal-archive` speaks).
fn has_backup_config(c: &Cluster) -> bool {
    c.archiver.is_some() || c.in_tree.is_some() || c.volume_snapshot.is_some() || !c.plugins.is_empty()
}

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for sb in &inv.scheduled_backups {
        let Some(name) = sb.cluster_name.and_then(Node::as_str) else {
            continue;
        };
        let Some(cluster) = inv.cluster(sb.res.namespace.as_deref(), name) else {
            continue;
        };
        if !has_backup_config(cluster) {
            continue;
        }
        let method = sb.method_name();
        if is_unresolved(method) {
            continue;
        }
        let plugin_names: Vec<&str> = cluster.plugins.iter().map(|p| p.name).collect();
        let cluster_text = format!("Cluster `{}`", cluster.res.qualified_name());
        let problem: Option<(String, String)> = match method {
            "barmanObjectStore" if cluster.in_tree.is_none() => Some((
                format!(
                    "{}method `barmanObjectStore`, but {cluster_text} has no `spec.backup.barmanObjectStore`: every Backup fails with \"no barmanObjectStore section defined on the target cluster\"",
                    if sb.method.is_none() { "no method is set, so CNPG uses " } else { "" }
                ),
                match plugin_names.first() {
                    Some(p) => format!("The Cluster archives through plugin `{p}`: set `method: plugin` and `pluginConfiguration: {{name: {p}}}`."),
                    None => "Configure `spec.backup.barmanObjectStore` on the Cluster, or pick the method it supports.".to_string(),
                },
            )),
            "volumeSnapshot" if cluster.volume_snapshot.is_none() => Some((
                format!("method `volumeSnapshot`, but {cluster_text} has no `spec.backup.volumeSnapshot`: every Backup fails"),
                "Add `spec.backup.volumeSnapshot` (with a VolumeSnapshotClass) to the Cluster, or pick the method it supports.".to_string(),
            )),
            "plugin" => match sb.plugin_name.and_then(Node::as_str) {
                None => Some((
                    "method `plugin` without `pluginConfiguration.name`: every Backup fails".to_string(),
                    match plugin_names.first() {
                        Some(p) => format!("Add `pluginConfiguration: {{name: {p}}}`."),
                        None => "Add the plugin to the Cluster's `spec.plugins` and name it in `pluginConfiguration.name`.".to_string(),
                    },
                )),
                Some(p) if !is_unresolved(p) && !plugin_names.contains(&p) => Some((
                    format!("method `plugin` with plugin `{p}`, which is not in the `spec.plugins` of {cluster_text}: every Backup fails"),
                    if plugin_names.is_empty() {
                        "The Cluster lists no plugins: add it there, or use the method the Cluster supports.".to_string()
                    } else {
                        format!("The Cluster lists {}: name one of them.", plugin_names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "))
                    },
                )),
                _ => None,
            },
            "barmanObjectStore" | "volumeSnapshot" => None,
            other => Some((
                format!("`{other}` is not a backup method: CNPG accepts barmanObjectStore, volumeSnapshot or plugin"),
                "Use one of barmanObjectStore, volumeSnapshot, plugin.".to_string(),
            )),
        };
        let Some((message, help)) = problem else {
            continue;
        };
        let (span, label) = match (sb.method, sb.res.root.path(&["spec", "pluginConfiguration", "name"])) {
            (Some(_), Some(p)) if method == "plugin" => (p.span, "not a plugin of the Cluster".to_string()),
            (Some(m), _) => (m.span, "the Cluster cannot take this kind of backup".to_string()),
            (None, _) => (sb.res.spec_span(), "method defaults to barmanObjectStore".to_string()),
        };
        let mut finding =
            RULE.meta.finding(format!("ScheduledBackup `{}`: {message}", sb.res.qualified_name()), span, label);
        let target = cluster.archiver_span().or(cluster.volume_snapshot.map(|n| n.span));
        if let Some(t) = target {
            finding = finding.related(t, "what the Cluster is configured with");
        }
        out.push(finding.help(help).on(sb.index, sb.res));
    }
}
