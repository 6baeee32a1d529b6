//! `--format gitlab`: GitLab's code quality report (a Code Climate subset),
//! for the merge request's code quality widget.

use serde_json::{json, Value};

use super::{fingerprint, location};
use crate::finding::Severity;
use crate::Run;

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "critical",
        Severity::Warning => "major",
        Severity::Info => "info",
    }
}

pub fn render(run: &Run) -> String {
    let issues: Vec<Value> = run
        .findings
        .iter()
        .map(|f| {
            let l = location(run, f.primary.span);
            json!({
                "type": "issue",
                "check_name": f.rule,
                "description": f.message,
                "content": { "body": f.help.clone().unwrap_or_default() },
                "categories": ["Bug Risk"],
                "severity": severity(f.severity),
                "fingerprint": fingerprint(run, f),
                "location": { "path": l.file, "lines": { "begin": l.line, "end": l.end_line } },
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&issues).unwrap_or_default();
    text.push('\n');
    text
}
