//! `flux-substitution-undefined`: a `${VAR}` with no default that the Flux
//! Kustomization instantiating it does not define.

use std::collections::HashSet;

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "flux-substitution-undefined",
        severity: Severity::Error,
        summary: "`${VAR}` without a default that the Flux Kustomization does not provide",
        doc: include_str!("../../rules/flux-substitution-undefined.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    let mut seen = HashSet::new();
    for gap in inv.substitution_gaps {
        if !seen.insert((&gap.var, gap.span, gap.kustomization_span, &gap.resource.cluster)) {
            continue;
        }
        let var = &gap.var;
        let injected = inv.injected_substitution.map(|i| format!(", nor in {i}")).unwrap_or_default();
        out.push(
            RULE.meta
                .finding(
                    format!(
                        "`${{{var}}}` has no value: {} defines no `{var}` in `postBuild.substitute` or `substituteFrom`{injected}, and the reference has no default; Flux substitutes an empty string (and, with strict substitution, the default since Flux 2.9, fails the reconciliation)",
                        gap.kustomization
                    ),
                    gap.span,
                    format!("`{var}` is undefined"),
                )
                .related(gap.kustomization_span, "the Kustomization that builds it")
                .help(format!("Add `{var}: <value>` under `spec.postBuild.substitute` of that Kustomization, or give the reference a default: `${{{var}:=<value>}}`. If the text is for the app itself (a Grafana dashboard's `${{{var}}}`), escape it as `$${{{var}}}` or annotate the object `kustomize.toolkit.fluxcd.io/substitute: disabled`."))
                .key(format!("{var}@{}", gap.kustomization))
                .about(gap.resource.clone()),
        );
    }
}
