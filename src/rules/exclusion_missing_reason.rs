//! `exclusion-missing-reason`: an exclusion or suppression that does not say why.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "exclusion-missing-reason",
        severity: Severity::Warning,
        summary: "exclusion or ignore-check annotation without a reason",
        doc: include_str!("../../rules/exclusion-missing-reason.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    let mut seen = Vec::new();
    let by_items = inv.exclusions.item_conventions.iter().map(|(_, a)| a);
    for a in inv.exclusions.annotations.iter().chain(by_items).filter(|a| a.reason.is_none()) {
        // One annotation in a shared file is one finding, however many instances.
        if seen.contains(&a.span) {
            continue;
        }
        seen.push(a.span);
        let Some(res) = inv.resources.get(a.resource) else {
            continue;
        };
        if let Some(by) = &a.convention {
            out.push(
                RULE.meta
                    .finding(
                        format!(
                            "the {by} on {} `{}` excludes it from backup (a repository convention) without saying why",
                            res.kind,
                            res.qualified_name()
                        ),
                        a.span,
                        "no reason given",
                    )
                    .help(
                        "Say why in a sibling annotation whose key contains `reason` (e.g. `backup-exempt-reason: \"cache, rebuilt on start\"`), or name the reason annotation of the convention in `.lifeboat.yaml` `exclusionConventions:`.",
                    )
                    .on(a.resource, res),
            );
            continue;
        }
        let what = match &a.rule {
            None => "excludes it from backup".to_string(),
            Some(rule) => format!("silences `{rule}` on it"),
        };
        out.push(
            RULE.meta
                .finding(format!("an annotation on {} `{}` {what} without saying why", res.kind, res.qualified_name()), a.span, "no reason given")
                .help("Write the reason as the annotation's value, e.g. `\"dev data, rebuilt from fixtures\"`: the next reader needs it.")
                .on(a.resource, res),
        );
    }
    for e in inv.exclusions.config.iter().filter(|e| e.reason.is_none()) {
        out.push(
            RULE.meta
                .finding(
                    format!("the config exclusion of `{}` says no `reason`", e.name.text),
                    e.span,
                    "no reason given",
                )
                .help("Add `reason:` to the entry: why this data needs no backup."),
        );
    }
}
