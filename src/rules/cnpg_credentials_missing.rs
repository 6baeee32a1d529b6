//! `cnpg-credentials-missing`: an archive's credentials Secret is defined
//! nowhere in the repository for that namespace.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::cnpg::secret_refs;
use crate::inventory::Inventory;
use crate::model::{is_unresolved, Resource};
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cnpg-credentials-missing",
        severity: Severity::Warning,
        summary: "archive credentials Secret defined nowhere in the repo",
        doc: include_str!("../../rules/cnpg-credentials-missing.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

/// Each archive store configuration in the repo, with the resource holding it.
pub fn stores<'a>(inv: &'a Inventory) -> Vec<(usize, &'a Resource, &'a Node)> {
    let mut out = Vec::new();
    for c in &inv.clusters {
        if let Some(store) = c.in_tree {
            out.push((c.index, c.res, store));
        }
        for e in &c.externals {
            if let Some(store) = e.barman_object_store {
                out.push((c.index, c.res, store));
            }
        }
    }
    for s in &inv.object_stores {
        if let Some(conf) = s.configuration {
            out.push((s.index, s.res, conf));
        }
    }
    out
}

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    let mut seen: Vec<(usize, &str)> = Vec::new();
    for (index, res, store) in stores(inv) {
        for name_node in secret_refs(store) {
            let Some(name) = name_node.as_nonempty_str() else {
                continue;
            };
            if is_unresolved(name)
                || seen.contains(&(index, name))
                || inv.secrets.find(res.namespace.as_deref(), name).is_some()
            {
                continue;
            }
            seen.push((index, name));
            out.push(
                RULE.meta
                    .finding(
                        format!(
                            "{} `{}` reads archive credentials from Secret `{name}`, which no Secret, ExternalSecret, SealedSecret or SOPS file in the repository defines in namespace `{}`: without it the archive cannot be written or read",
                            res.kind,
                            res.qualified_name(),
                            res.namespace.as_deref().unwrap_or("(none)")
                        ),
                        name_node.span,
                        "defined nowhere in the repo",
                    )
                    .help("Commit the Secret (encrypted with SOPS or as a SealedSecret) or an ExternalSecret that creates it in this namespace. If it is created outside Git, say so with `ignore-check.lifeboat.dev/cnpg-credentials-missing: \"<reason>\"`.")
                    .key(name)
                    .on(index, res),
            );
        }
    }
}
