//! `yaml-syntax`: a file that does not parse.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;
use crate::yaml::{Pos, Span};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "yaml-syntax",
        severity: Severity::Error,
        summary: "a YAML file that does not parse",
        doc: include_str!("../../rules/yaml-syntax.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for (file, error) in inv.load_errors {
        let end = Pos { offset: error.pos.offset, line: error.pos.line, col: error.pos.col + 1 };
        let span = Span { file: *file, start: error.pos, end };
        out.push(
            RULE.meta
                .finding(format!("this file is not valid YAML: {}", error.message), span, "the parser stopped here")
                .help("Fix the syntax. Until then lifeboat (like kubectl, kustomize and Flux) cannot read any document of this file."),
        );
    }
}
