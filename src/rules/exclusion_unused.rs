//! `exclusion-unused`: a config exclusion that matches nothing, or an
//! `ignore-check` annotation that silences nothing.

use std::collections::BTreeMap;

use super::{find, Check, Rule, RuleMeta, Usage};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;
use crate::yaml::Span;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "exclusion-unused",
        severity: Severity::Warning,
        summary: "config exclusion that matches nothing, or ignore-check that silences nothing",
        doc: include_str!("../../rules/exclusion-unused.md"),
        coverage: false,
    },
    check: Check::Usage(check),
};

fn check(inv: &Inventory, usage: &Usage, out: &mut Vec<Finding>) {
    for (i, e) in inv.exclusions.config.iter().enumerate() {
        if !inv.exclusions.config_used(i) {
            let kind = e.kind.as_deref().unwrap_or("resource");
            let ns = e.namespace.as_ref().map(|p| format!(" in namespace `{}`", p.text)).unwrap_or_default();
            out.push(
                RULE.meta
                    .finding(
                        format!("the config exclusion of {kind} `{}`{ns} matches nothing lifeboat found", e.name.text),
                        e.span,
                        "matches nothing",
                    )
                    .help("Remove the entry, or fix its kind, namespace or name (names are globs)."),
            );
        }
    }
    // An annotation in a shared file is used if any of its instances used it.
    let mut by_span: BTreeMap<Span, (bool, usize)> = BTreeMap::new();
    for (i, a) in inv.exclusions.annotations.iter().enumerate() {
        let Some(rule) = &a.rule else { continue };
        if find(rule).is_some() && !usage.enabled.contains(rule.as_str()) {
            continue;
        }
        let used = usage.used_annotations.contains(&i);
        let entry = by_span.entry(a.span).or_insert((false, i));
        entry.0 |= used;
        if find(rule).is_none() {
            entry.0 = false;
        }
    }
    for (span, (used, i)) in by_span {
        let Some(a) = inv.exclusions.annotations.get(i) else {
            continue;
        };
        let (Some(rule), Some(res), false) = (&a.rule, inv.resources.get(a.resource), used) else {
            continue;
        };
        let message = if find(rule).is_none() {
            format!(
                "`ignore-check.lifeboat.dev/{rule}` on {} `{}` names no lifeboat rule",
                res.kind,
                res.qualified_name()
            )
        } else {
            format!(
                "`{rule}` reports nothing on {} `{}`, so this ignore-check silences nothing",
                res.kind,
                res.qualified_name()
            )
        };
        out.push(
            RULE.meta
                .finding(message, span, "silences nothing")
                .help("Remove the annotation (or fix the rule id: `lifeboat rules` lists them).")
                .on(a.resource, res),
        );
    }
}
