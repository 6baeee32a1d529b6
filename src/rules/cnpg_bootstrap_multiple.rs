//! `cnpg-bootstrap-multiple`: more than one bootstrap method.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cnpg-bootstrap-multiple",
        severity: Severity::Error,
        summary: "CNPG Cluster with more than one bootstrap method",
        doc: include_str!("../../rules/cnpg-bootstrap-multiple.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for cluster in &inv.clusters {
        let [(first, first_key, _), rest @ ..] = cluster.bootstrap.as_slice() else {
            continue;
        };
        let Some((_, second_key, _)) = rest.first() else {
            continue;
        };
        let methods: Vec<String> = cluster.bootstrap.iter().map(|(m, _, _)| format!("`{m}`")).collect();
        out.push(
            RULE.meta
                .finding(
                    format!(
                        "Cluster `{}` has {} bootstrap methods ({}): CNPG rejects it (\"Only one bootstrap method can be specified at a time\")",
                        cluster.res.qualified_name(),
                        methods.len(),
                        methods.join(", ")
                    ),
                    second_key.span,
                    "a second bootstrap method",
                )
                .related(first_key.span, format!("`{first}` is already set"))
                .help("Keep exactly one of `initdb`, `recovery`, `pg_basebackup`.")
                .on(cluster.index, cluster.res),
        );
    }
}
