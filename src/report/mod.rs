//! The report stage: findings are already sorted; each formatter prints them.

pub mod concise;
pub mod github;
pub mod human;
pub mod inventory;
pub mod json;
pub mod markdown;
pub mod sarif;

use sha2::{Digest, Sha256};

use crate::finding::Finding;
use crate::yaml::Span;
use crate::Run;

/// A span as reports show it: 1-based, columns in characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

/// A finding's related places as text (`patched by … (file:line)`), for the
/// formats that have no structured field for them.
pub fn related_text(run: &Run, f: &crate::finding::Finding) -> Vec<String> {
    f.related
        .iter()
        .map(|r| {
            let l = location(run, r.span);
            format!("{} ({}:{})", r.message, l.file, l.line)
        })
        .collect()
}

pub fn location(run: &Run, span: Span) -> Location {
    let file = run.sources.file(span.file).map(|f| f.display.clone()).unwrap_or_default();
    let (end_line, end_column) = if span.end.line == 0 || span.end < span.start {
        (span.start.line, span.start.col)
    } else {
        (span.end.line, span.end.col)
    };
    Location {
        file,
        line: span.start.line.max(1),
        column: span.start.col.max(1),
        end_line: end_line.max(1),
        end_column: end_column.max(1),
    }
}

/// A stable identity for a finding: rule, resource identity, file and the
/// rule's discriminator; never the line, so an edit elsewhere in the file
/// keeps it.
pub fn fingerprint(run: &Run, f: &Finding) -> String {
    let mut h = Sha256::new();
    h.update(f.rule.as_bytes());
    h.update([0]);
    if let Some(r) = &f.resource {
        for part in [&r.api_version, &r.kind, r.namespace.as_deref().unwrap_or(""), &r.name] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        if let Some(cluster) = &r.cluster {
            h.update(cluster.as_bytes());
            h.update([0]);
        }
    }
    h.update(location(run, f.primary.span).file.as_bytes());
    h.update([0]);
    h.update(f.key.as_bytes());
    if f.resource.is_none() {
        // Findings on no resource (a syntax error, a config entry) are told
        // apart by their message.
        h.update(f.message.as_bytes());
    }
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The text of a file with every clear-text secret value replaced by `*`
/// (byte for byte, so spans stay valid).
pub fn masked_text(run: &Run, file: crate::yaml::FileId) -> String {
    let Some(source) = run.sources.file(file) else {
        return String::new();
    };
    let mut bytes = source.text.clone().into_bytes();
    for span in run.sensitive.iter().filter(|s| s.file == file) {
        let end = span.end.offset.min(bytes.len());
        if let Some(range) = bytes.get_mut(span.start.offset..end) {
            for b in range.iter_mut().filter(|b| !b.is_ascii_whitespace()) {
                *b = b'*';
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
