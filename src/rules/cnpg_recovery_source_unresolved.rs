//! `cnpg-recovery-source-unresolved`: a recovery or pg_basebackup source that
//! names no usable `externalClusters[]` entry.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;
use crate::model::is_unresolved;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cnpg-recovery-source-unresolved",
        severity: Severity::Error,
        summary: "recovery/pg_basebackup source names no usable externalClusters entry",
        doc: include_str!("../../rules/cnpg-recovery-source-unresolved.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for cluster in &inv.clusters {
        let qn = cluster.res.qualified_name();
        for method in ["recovery", "pg_basebackup"] {
            let Some((key, value)) = cluster.bootstrap_method(method) else {
                continue;
            };
            let source = value.get("source");
            let Some(source) = source else {
                let other_source = value.get("backup").is_some() || value.get("volumeSnapshots").is_some();
                if !other_source {
                    out.push(
                        RULE.meta
                            .finding(
                                format!("Cluster `{qn}`: `bootstrap.{method}` names no `source` to bootstrap from"),
                                key.span,
                                "no source",
                            )
                            .help("Name an `externalClusters[]` entry in `source`.")
                            .key(method)
                            .on(cluster.index, cluster.res),
                    );
                }
                continue;
            };
            let Some(name) = source.as_str() else {
                continue;
            };
            if is_unresolved(name) {
                continue;
            }
            let known: Vec<String> = cluster.externals.iter().map(|e| format!("`{}`", e.name)).collect();
            let (message, help, related) = match cluster.external(name) {
                None => (
                    format!("Cluster `{qn}`: `bootstrap.{method}.source` is `{name}`, but no `externalClusters[]` entry has that name: CNPG rejects the Cluster"),
                    if known.is_empty() {
                        "Add an `externalClusters[]` entry with this name and the archive (plugin or barmanObjectStore) to recover from.".to_string()
                    } else {
                        format!("The entries are {}.", known.join(", "))
                    },
                    None,
                ),
                Some(e) if method == "recovery" && e.barman_object_store.is_none() && e.plugin.is_none() && value.get("volumeSnapshots").is_none() => (
                    format!("Cluster `{qn}`: recovery source `{name}` has no `barmanObjectStore` or `plugin` to restore from (connection parameters only serve pg_basebackup)"),
                    "Give the entry the archive to recover from: `plugin: {name: barman-cloud.cloudnative-pg.io, parameters: {barmanObjectName: …, serverName: …}}` or `barmanObjectStore`.".to_string(),
                    Some(e.node.span),
                ),
                Some(e) if method == "pg_basebackup" && !e.connection_parameters => (
                    format!("Cluster `{qn}`: pg_basebackup source `{name}` has no `connectionParameters` to clone from"),
                    "Give the entry `connectionParameters` (host, user, dbname) of the running source.".to_string(),
                    Some(e.node.span),
                ),
                Some(_) => continue,
            };
            let mut finding = RULE.meta.finding(message, source.span, "cannot be resolved").help(help).key(method);
            if let Some(span) = related {
                finding = finding.related(span, "this entry");
            }
            out.push(finding.on(cluster.index, cluster.res));
        }
    }
}
