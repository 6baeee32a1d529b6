//! `--format json`: the versioned report of DESIGN.md.

use serde_json::{json, Value};

use super::{fingerprint, location};
use crate::finding::Severity;
use crate::Run;

pub fn render(run: &Run) -> String {
    let mut out = Vec::new();
    // Writing into memory fails only if serialization does, which a
    // `Value` cannot.
    let _ = write(run, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// The report, written to `w` finding by finding.
pub fn write(run: &Run, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let findings = run.findings.iter().map(|f| finding(run, f));
    super::write_streamed(w, &skeleton(run), "findings", findings)
}

fn finding(run: &Run, f: &crate::finding::Finding) -> Value {
    let loc = location(run, f.primary.span);
    let related: Vec<Value> = f
        .related
        .iter()
        .map(|r| {
            let l = location(run, r.span);
            json!({ "file": l.file, "line": l.line, "column": l.column, "message": r.message })
        })
        .collect();
    let resource = f.resource.as_ref().map(|r| {
        let mut v = json!({ "apiVersion": r.api_version, "kind": r.kind, "namespace": r.namespace, "name": r.name });
        if let Some(c) = &r.cluster {
            v["cluster"] = json!(c);
        }
        v
    });
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
}

/// The report with an empty `findings` array.
fn skeleton(run: &Run) -> String {
    let skipped: Vec<Value> = run
        .skipped
        .iter()
        .map(|(path, why)| json!({ "file": crate::yaml::display_path(path), "reason": why }))
        .collect();
    let unrendered: Vec<Value> = run
        .model
        .unrendered
        .iter()
        .map(|u| {
            let l = super::location(run, u.span);
            json!({ "kind": "ResourceSet", "name": u.name, "file": l.file, "line": l.line, "reason": u.why })
        })
        .collect();
    // What lifeboat could not follow (a plugin it does not run, a file a
    // kustomization names that it did not read): the human report's notes.
    let notes: Vec<Value> = run
        .model
        .notes
        .iter()
        .map(|n| {
            let l = super::location(run, n.span);
            json!({ "file": l.file, "line": l.line, "column": l.column, "message": n.message })
        })
        .collect();
    let g = &run.gate;
    let gate = json!({
        "scope": g.scope,
        "out_of_scope": g.out_of_scope,
        "baseline": g.baseline.as_ref().map(|path| json!({
            "file": path,
            "accepted": g.baselined,
            "partial_accepted": g.partial_accepted,
            "stale": g.stale.iter().map(|e| json!({
                "rule": e.rule, "resource": e.resource, "file": e.file,
                "message": e.message, "fingerprint": e.fingerprint,
            })).collect::<Vec<_>>(),
        })),
        "changed": g.changed.as_ref().map(|(source, files)| json!({
            "source": source, "files": files, "unchanged": g.unchanged,
        })),
    });
    let mut report = json!({
        "version": 1,
        "gate": gate,
        "skipped": skipped,
        "notes": notes,
        "tool": { "name": "lifeboat", "version": env!("CARGO_PKG_VERSION") },
        "findings": [],
        "summary": {
            "files": run.file_count(),
            "resources": run.model.resources.len(),
            "errors": run.count(Severity::Error),
            "warnings": run.count(Severity::Warning),
            "infos": run.count(Severity::Info),
            "suppressed": run.suppressed,
            "unreached": run.model.unreached.len(),
            "notes": run.model.notes.len(),
            "unrendered_charts": super::unrendered_charts(run),
            "partial": run.partial.as_ref().map(|p| json!({
                "message": p.message(),
                "deployed": p.deployed,
                "not_deployed": p.not_deployed,
                "roots": p.roots,
                "empty_roots": p.empty_roots,
                "unrendered_templates": p.unrendered,
            })),
            "roots_from": match run.model.entry_source {
                crate::model::EntrySource::Kustomize => "kustomize",
                crate::model::EntrySource::Configured => "configured",
                crate::model::EntrySource::Bootstrap => "bootstrap",
                crate::model::EntrySource::Fallback => "guessed",
                crate::model::EntrySource::Argo if !run.model.guessed_roots.is_empty() => "guessed",
                crate::model::EntrySource::Argo => "argo",
            },
            "roots": run.model.entries.iter().map(|e| json!({
                "root": e.label,
                "cluster": e.cluster,
                "deployed": e.deployed,
            })).collect::<Vec<_>>(),
            "clusters": run.model.clusters(),
        }
    });
    // Only present when a ResourceSet could not be rendered.
    if !unrendered.is_empty() {
        report["unrendered"] = Value::Array(unrendered);
    }
    // Only present when a custom resource asks for storage lifeboat does
    // not model (`lifeboat inventory` lists them too).
    let unmodelled: Vec<Value> =
        super::unmodelled_storage(run).into_iter().map(|(u, l)| u.json(&l.file, l.line)).collect();
    if !unmodelled.is_empty() {
        report["unmodelledStorage"] = Value::Array(unmodelled);
    }
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    text
}
