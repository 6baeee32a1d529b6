//! `cnpg-retention-invalid`: a retentionPolicy CNPG and the plugin reject.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;
use crate::model::{is_unresolved, Resource};
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cnpg-retention-invalid",
        severity: Severity::Error,
        summary: "retentionPolicy not of the form <number><d|w|m>",
        doc: include_str!("../../rules/cnpg-retention-invalid.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

/// `^[1-9][0-9]*[dwm]$`, the CRD pattern.
pub fn valid(text: &str) -> bool {
    let Some(number) = text.strip_suffix(['d', 'w', 'm']) else {
        return false;
    };
    number.starts_with(|c: char| ('1'..='9').contains(&c)) && number.chars().all(|c| c.is_ascii_digit())
}

fn push(out: &mut Vec<Finding>, index: usize, res: &Resource, node: &Node, what: &str) {
    let text = node.as_str().unwrap_or("");
    if is_unresolved(text) || valid(text) {
        return;
    }
    out.push(
        RULE.meta
            .finding(
                format!("{what} `{}` has retentionPolicy `\"{text}\"`, which CNPG rejects: it must be a number then `d`, `w` or `m` (months)", res.qualified_name()),
                node.span,
                "not <number><d|w|m>",
            )
            .help("Write e.g. `\"30d\"` (30 days), `\"4w\"` (4 weeks) or `\"6m\"` (6 months; `m` is months, not minutes).")
            .on(index, res),
    );
}

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for c in &inv.clusters {
        if let Some(node) = c.retention {
            push(out, c.index, c.res, node, "Cluster");
        }
    }
    for s in &inv.object_stores {
        if let Some(node) = s.retention {
            push(out, s.index, s.res, node, "ObjectStore");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pattern() {
        assert!(super::valid("30d") && super::valid("4w") && super::valid("12m"));
        assert!(
            !super::valid("0d")
                && !super::valid("30 days")
                && !super::valid("30")
                && !super::valid("d")
                && !super::valid("30h")
        );
    }
}
