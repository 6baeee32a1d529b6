//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning. Every enabled rule
//! is described (with help), every finding is one result with a repo-relative
//! location, related locations and a stable partial fingerprint; a clean run
//! writes `"results": []`.

use serde_json::{json, Value};

use super::{fingerprint, location, Location};
use crate::finding::Severity;
use crate::Run;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A relative path as a URI reference: every byte but the unreserved
/// characters and `/` percent-encoded (spaces, `%`, `#`, `?`, unicode).
pub fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The repository root (the current directory of the run) as a `file:` URI
/// ending in `/`.
fn root_uri() -> Option<String> {
    let root = std::path::absolute(".").ok()?;
    let text = root.to_string_lossy().replace('\\', "/");
    let text = text.strip_suffix("/.").unwrap_or(&text).trim_end_matches('/');
    let text = if text.starts_with('/') { text.to_string() } else { format!("/{text}") };
    Some(format!("file://{}/", uri_path(&text)))
}

fn physical(l: &Location) -> Value {
    json!({
        "artifactLocation": { "uri": uri_path(&l.file), "uriBaseId": "%SRCROOT%" },
        "region": {
            "startLine": l.line,
            "startColumn": l.column,
            "endLine": l.end_line,
            "endColumn": l.end_column.max(if l.end_line == l.line { l.column } else { 1 }),
        }
    })
}

/// `cnpg-no-wal-archive` → `CnpgNoWalArchive`: SARIF wants a readable
/// name distinct from the opaque id.
fn pascal_case(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// The doc without its title line: SARIF shows the rule id already.
fn help_markdown(doc: &str) -> String {
    doc.lines().skip_while(|l| l.starts_with("# ") || l.trim().is_empty()).collect::<Vec<_>>().join("\n")
}

pub fn render(run: &Run) -> String {
    let mut out = Vec::new();
    // Writing into memory fails only if serialization does, which a
    // `Value` cannot.
    let _ = write(run, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// The log, written to `w` result by result.
pub fn write(run: &Run, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let results = run.findings.iter().map(|f| result(run, f));
    super::write_streamed(w, &skeleton(run), "results", results)
}

/// The log with an empty `results` array.
fn skeleton(run: &Run) -> String {
    let rules: Vec<Value> = run
        .rules
        .iter()
        .map(|r| {
            let help = help_markdown(r.doc);
            json!({
                "id": r.id,
                "name": pascal_case(r.id),
                "shortDescription": { "text": r.summary },
                "fullDescription": { "text": r.summary },
                "help": { "text": help, "markdown": help },
                "helpUri": crate::rules::doc_url(r.id),
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": { "tags": ["backup", r.id.split('-').next().unwrap_or("lifeboat")] },
            })
        })
        .collect();
    let mut sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "lifeboat",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": crate::DOCS_BASE_URL.trim_end_matches("/blob/main/rules"),
                "rules": rules,
            }},
            "automationDetails": { "id": "lifeboat/" },
            "columnKind": "unicodeCodePoints",
            "results": [],
        }]
    });
    if let Some(uri) = root_uri() {
        sarif["runs"][0]["originalUriBaseIds"] = json!({
            "%SRCROOT%": { "uri": uri, "description": { "text": "The repository root" } }
        });
    }
    let mut notifications = Vec::new();
    if let Some(p) = &run.partial {
        // The run saw only part of the repository.
        notifications.push(json!({
            "level": if run.gate.partial_accepted { "note" } else { "warning" },
            "descriptor": { "id": "partial-model" },
            "message": { "text": p.message() },
        }));
    }
    for line in super::guess_lines(run) {
        notifications
            .push(json!({ "level": "warning", "descriptor": { "id": "roots-guessed" }, "message": { "text": line } }));
    }
    for line in super::gate_lines(run) {
        notifications.push(json!({ "level": "note", "descriptor": { "id": "gate" }, "message": { "text": line } }));
    }
    for line in super::stale_lines(run) {
        notifications.push(json!({
            "level": "note",
            "descriptor": { "id": "baseline-stale-entry" },
            "message": { "text": format!("baseline entry no longer occurs: {line}") },
        }));
    }
    if !notifications.is_empty() {
        sarif["runs"][0]["invocations"] =
            json!([{ "executionSuccessful": true, "toolExecutionNotifications": notifications }]);
    }
    let mut text = serde_json::to_string_pretty(&sarif).unwrap_or_default();
    text.push('\n');
    text
}

/// One finding as a SARIF result.
fn result(run: &Run, f: &crate::finding::Finding) -> Value {
    let loc = location(run, f.primary.span);
    let related: Vec<Value> = f
        .related
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut v = json!({ "id": i + 1, "physicalLocation": physical(&location(run, r.span)) });
            if !r.message.is_empty() {
                v["message"] = json!({ "text": r.message });
            }
            v
        })
        .collect();
    let mut text = f.message.clone();
    if let Some(help) = &f.help {
        text.push_str("\nHelp: ");
        text.push_str(help);
    }
    let mut result = json!({
        "ruleId": f.rule,
        "ruleIndex": run.rules.iter().position(|r| r.id == f.rule).unwrap_or(0),
        "level": level(f.severity),
        "message": { "text": text },
        "locations": [ { "physicalLocation": physical(&loc) } ],
        "partialFingerprints": { "lifeboatFingerprint/v2": fingerprint(run, f) },
    });
    if !related.is_empty() {
        result["relatedLocations"] = Value::Array(related);
    }
    result
}
