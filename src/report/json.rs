//! `--format json`: the versioned report of DESIGN.md.

use serde_json::{json, Value};

use super::{fingerprint, location};
use crate::finding::Severity;
use crate::Run;

pub fn render(run: &Run) -> String {
    let findings: Vec<Value> = run
        .findings
        .iter()
        .map(|f| {
            let loc = location(run, f.primary.span);
            let related: Vec<Value> = f
                .related
                .iter()
                .map(|r| {
                    let l = location(run, r.span);
                    json!({ "file": l.file, "line": l.line, "column": l.column, "message": r.message })
                })
                .collect();
            let resource = f.resource.as_ref().map(
                |r| json!({ "apiVersion": r.api_version, "kind": r.kind, "namespace": r.namespace, "name": r.name }),
            );
            json!({
                "rule": f.rule,
                "severity": f.severity.as_str(),
                "message": f.message,
                "file": loc.file,
                "line": loc.line,
                "column": loc.column,
                "end_line": loc.end_line,
                "end_column": loc.end_column,
                "resource": resource,
                "related": related,
                "help": f.help,
                "fingerprint": fingerprint(run, f),
            })
        })
        .collect();
    let report = json!({
        "version": 1,
        "tool": { "name": "lifeboat", "version": env!("CARGO_PKG_VERSION") },
        "findings": findings,
        "summary": {
            "files": run.file_count(),
            "resources": run.model.resources.len(),
            "errors": run.count(Severity::Error),
            "warnings": run.count(Severity::Warning),
            "infos": run.count(Severity::Info),
            "suppressed": run.suppressed,
            "unreached": run.model.unreached.len(),
        }
    });
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    text
}
