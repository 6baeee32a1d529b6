//! `pvc-restore-source-missing`: a PVC is restored by a populator object
//! (a VolSync `ReplicationDestination`, a kopiur `Restore`) that is not
//! deployed in its namespace, so a claim created anew stays Pending.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::stateful::ItemKind;
use crate::inventory::{same_namespace, Inventory};
use crate::model::is_unresolved;
use crate::yaml::str_at;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "pvc-restore-source-missing",
        severity: Severity::Error,
        summary: "PVC restored from a ReplicationDestination or Restore that is not deployed in its namespace",
        doc: include_str!("../../rules/pvc-restore-source-missing.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

/// The populators whose objects a repository declares beside the claim:
/// (API group, kind, what fills the claim).
const POPULATORS: &[(&str, &str, &str)] = &[
    ("volsync.backube", "ReplicationDestination", "VolSync's volume populator"),
    ("kopiur.home-operations.com", "Restore", "kopiur"),
];

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    // Namespaces of charts lifeboat could not fully render: they may make it.
    let blind: Vec<Option<&str>> =
        inv.resources.iter().filter(|r| r.blind.is_some()).map(|r| r.namespace.as_deref()).collect();
    for item in inv.items.iter().filter(|i| i.kind == ItemKind::Pvc) {
        let spec = item.res.spec();
        // Pre-bound to a static volume (`volumeName`): it binds to that
        // volume's existing data, and no populator runs.
        if str_at(spec, &["volumeName"]).is_some_and(|v| !v.is_empty()) {
            continue;
        }
        let Some((field, source)) = ["dataSourceRef", "dataSource"]
            .iter()
            .find_map(|k| spec.and_then(|s| s.get(k)).filter(|n| n.is_map()).map(|n| (*k, n)))
        else {
            continue;
        };
        let group = str_at(Some(source), &["apiGroup"]).unwrap_or("");
        let kind = str_at(Some(source), &["kind"]).unwrap_or("");
        let Some(&(_, _, filler)) = POPULATORS.iter().find(|(g, k, _)| *g == group && *k == kind) else { continue };
        let Some(name_node) = source.get("name") else { continue };
        let Some(name) = name_node.as_nonempty_str().filter(|n| !is_unresolved(n)) else { continue };
        // A populator object in another namespace (`dataSourceRef.namespace`,
        // cross-namespace populating) is looked up there.
        let ns = str_at(Some(source), &["namespace"]).or(item.namespace());
        let exists = inv.resources.iter().any(|r| {
            r.is(group, kind)
                && r.name == name
                && same_namespace(r.namespace.as_deref(), ns)
                && r.cluster == item.res.cluster
        });
        if exists || blind.iter().any(|b| same_namespace(*b, ns)) {
            continue;
        }
        let where_ = ns.map(|n| format!("namespace `{n}`")).unwrap_or_else(|| "its namespace".into());
        // Written, but nothing deploys it: say why (the likeliest fix).
        let written = inv
            .unreached
            .iter()
            .find(|u| u.kind == kind && u.name == name && same_namespace(u.namespace.as_deref(), ns));
        let why = match written {
            Some(u) => format!("is written but not deployed ({})", u.reason),
            None => format!("does not exist in {where_}"),
        };
        out.push(
            RULE.meta
                .finding(
                    format!(
                        "PersistentVolumeClaim `{}` is restored from {kind} `{name}` (`spec.{field}`), which {why}: when the claim is created anew (a rebuild, a restore), nothing populates it and it stays Pending, so the app does not start",
                        item.res.qualified_name()
                    ),
                    name_node.span,
                    "nothing deploys it",
                )
                .help(format!(
                    "Deploy the {kind} `{name}` beside the claim ({filler} fills the claim from it), or point `{field}` at the restore object this repository does deploy, or remove `{field}` if the claim should start empty."
                ))
                .on(item.index, item.res)
                .key(name),
        );
    }
}
