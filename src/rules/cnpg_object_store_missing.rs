//! `cnpg-object-store-missing`: a barman plugin names an ObjectStore that is
//! not in the Cluster's namespace.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::cnpg::{Plugin, BARMAN_PLUGIN};
use crate::inventory::Inventory;
use crate::model::is_unresolved;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cnpg-object-store-missing",
        severity: Severity::Error,
        summary: "barmanObjectName names no ObjectStore in the Cluster's namespace",
        doc: include_str!("../../rules/cnpg-object-store-missing.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for cluster in &inv.clusters {
        let ns = cluster.namespace();
        let mut seen: Vec<&str> = Vec::new();
        let external_plugins = cluster.externals.iter().filter_map(|e| e.plugin.as_ref());
        let all: Vec<&Plugin> = cluster.plugins.iter().chain(external_plugins).collect();
        for p in all.into_iter().filter(|p| p.name == BARMAN_PLUGIN) {
            let Some(node) = p.barman_object_name else {
                continue;
            };
            let Some(name) = node.as_str() else { continue };
            if is_unresolved(name) || seen.contains(&name) || inv.object_store(ns, name).is_some() {
                continue;
            }
            seen.push(name);
            let elsewhere: Vec<_> = inv.object_stores.iter().filter(|s| s.res.name == name).collect();
            let mut finding = RULE.meta.finding(
                format!(
                    "Cluster `{}` uses ObjectStore `{name}`, but there is no ObjectStore of that name in namespace `{}`: the plugin cannot archive or restore",
                    cluster.res.qualified_name(),
                    ns.unwrap_or("(none)")
                ),
                node.span,
                "no such ObjectStore here",
            );
            for s in &elsewhere {
                finding = finding.related(
                    s.res.name_span(),
                    format!(
                        "an ObjectStore `{name}` in namespace `{}`",
                        s.res.namespace.as_deref().unwrap_or("(none)")
                    ),
                );
            }
            out.push(
                finding
                    .help("Define an ObjectStore (`barmancloud.cnpg.io/v1`) with this name in the Cluster's namespace; the plugin looks nowhere else.")
                    .key(name)
                    .on(cluster.index, cluster.res),
            );
        }
    }
}
