//! `pvc-backup-source-missing`: a mechanism names a PVC that does not exist
//! in its namespace, so it backs up nothing.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::schedules::Selector;
use crate::inventory::Inventory;
use crate::model::{is_unresolved, Resource};
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "pvc-backup-source-missing",
        severity: Severity::Error,
        summary: "backup that names a PVC which does not exist in its namespace",
        doc: include_str!("../../rules/pvc-backup-source-missing.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    let mut blind: Vec<Option<&str>> =
        inv.resources.iter().filter(|r| r.blind.is_some()).map(|r| r.namespace.as_deref()).collect();
    blind.sort_unstable();
    blind.dedup();
    let scope = Scope { inv, blind };
    for rs in &inv.replication_sources {
        if let Some(node) = rs.source_pvc {
            scope.missing(out, rs.index, rs.res, "ReplicationSource", "sourcePVC", node);
        }
    }
    for job in &inv.backup_jobs {
        for m in job.sources() {
            scope.missing(out, job.index, job.res, "CronJob", "claimName", m.claim);
        }
    }
    for s in &inv.schedules {
        if let Selector::Kopiur { names, .. } = &s.selector {
            for node in names {
                scope.missing(out, s.index, s.res, "SnapshotPolicy", "pvc.name", node);
            }
        }
    }
}

/// The inventory, and the namespaces of charts lifeboat could not fully
/// render (`None`: one whose namespace is not known, which may be any).
struct Scope<'a, 'm> {
    inv: &'a Inventory<'m>,
    blind: Vec<Option<&'a str>>,
}

impl Scope<'_, '_> {
    fn missing(&self, out: &mut Vec<Finding>, index: usize, res: &Resource, kind: &str, field: &str, node: &Node) {
        let Scope { inv, blind } = self;
        let Some(name) = node.as_nonempty_str() else { return };
        let ns = res.namespace.as_deref();
        // A chart deployed there that lifeboat could not fully render may make it.
        let blind = || blind.iter().any(|b| crate::inventory::same_namespace(*b, ns));
        if is_unresolved(name) || inv.claim_exists(ns, name) || inv.claim_creator(ns, name).is_some() || blind() {
            return;
        }
        let where_ = ns.map(|n| format!("namespace `{n}`")).unwrap_or_else(|| "its namespace".into());
        let known = inv.claim_names(ns);
        let hint = if known.is_empty() {
            format!("no PVC, claim template or Helm persistence is declared in {where_}")
        } else {
            let list: Vec<String> = known.iter().take(5).map(|k| format!("`{k}`")).collect();
            format!("the claims declared there are {}", list.join(", "))
        };
        out.push(
        RULE.meta
            .finding(
                format!("{kind} `{}` backs up PVC `{name}`, which does not exist in {where_}: it protects nothing ({hint})", res.qualified_name()),
                node.span,
                "no such PVC",
            )
            .help(format!("Point `{field}` at the claim the app really mounts (`kubectl get pvc -n <namespace>` on the cluster), or declare that PVC in the repo."))
            .on(index, res)
            .key(name),
    );
    }
}
