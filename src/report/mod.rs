//! The report stage: findings are already sorted; each formatter prints them.

pub mod concise;
pub mod github;
pub mod gitlab;
pub mod human;
pub mod inventory;
pub mod json;
pub mod markdown;
pub mod sarif;

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

/// The custom resources asking for storage lifeboat does not model, in the
/// report's scope, with where each asks.
pub fn unmodelled_storage(run: &Run) -> Vec<(&crate::model::operators::UnmodelledStorage, Location)> {
    run.model
        .unmodelled_storage
        .iter()
        .map(|u| (u, location(run, u.span)))
        .filter(|(_, l)| crate::in_scope(&l.file, &run.gate.scope))
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

/// A finding's stable identity (see [`Finding::fingerprint_of`]).
pub fn fingerprint(run: &Run, f: &Finding) -> String {
    if f.fingerprint.is_empty() {
        return f.fingerprint_of(&location(run, f.primary.span).file);
    }
    f.fingerprint.clone()
}

/// The text of a file with every clear-text secret value replaced by `*`
/// (byte for byte, so spans stay valid).
pub fn masked_text(run: &Run, file: crate::yaml::FileId) -> String {
    let Some(source) = run.sources.file(file) else {
        return String::new();
    };
    let mut bytes = source.text.clone().into_bytes();
    let lines = LineStarts::new(&source.text);
    for span in run.sensitive.iter().filter(|s| s.file == file) {
        // Both offsets: the span's own and where its line and column are
        // (a value of a substituted file), so no byte of it is left shown.
        let anchored = lines.anchored(&source.text, *span);
        for span in [*span, anchored] {
            let end = span.end.byte().min(bytes.len());
            if let Some(range) = bytes.get_mut(span.start.byte()..end) {
                for b in range.iter_mut().filter(|b| !b.is_ascii_whitespace()) {
                    *b = b'*';
                }
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Where each line of a text starts: a line and column placed in O(1).
pub(crate) struct LineStarts(Vec<usize>);

impl LineStarts {
    pub(crate) fn new(text: &str) -> LineStarts {
        LineStarts(std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect())
    }

    /// `span` with its byte offsets taken from its line and column in
    /// `text` (the text these line starts are of). They agree but for a
    /// node read from text that substitution changed (a values file with
    /// `${VAR}`s filled in): its line and column are the file's, its
    /// offsets the substituted text's.
    pub(crate) fn anchored(&self, text: &str, span: crate::yaml::Span) -> crate::yaml::Span {
        let start = (|| {
            let line = usize::try_from(span.start.line).ok()?.checked_sub(1)?;
            let line_start = *self.0.get(line)?;
            let rest = text.get(line_start..)?;
            let line_text = rest.split('\n').next().unwrap_or(rest);
            let col = usize::try_from(span.start.col).ok()?.saturating_sub(1);
            let within = line_text.char_indices().nth(col).map_or(line_text.len(), |(i, _)| i);
            Some(line_start + within)
        })();
        let Some(start) = start.filter(|&s| s != span.start.byte()) else { return span };
        let len = span.end.byte().saturating_sub(span.start.byte());
        let end = (start + len).min(text.len());
        let mut out = span;
        out.start.offset = u32::try_from(start).unwrap_or(u32::MAX);
        out.end.offset = u32::try_from(end).unwrap_or(u32::MAX);
        out
    }
}

/// How a report for people is shown.
#[derive(Debug, Clone, Copy, Default)]
pub struct View {
    pub color: bool,
    pub verbose: bool,
    /// The findings and nothing else.
    pub quiet: bool,
}

/// `Kind namespace/name` (and the cluster, in a repository of several).
pub fn resource_text(r: &crate::finding::ResourceRef) -> String {
    let mut text = match &r.namespace {
        Some(ns) => format!("{} {ns}/{}", r.kind, r.name),
        None => format!("{} {}", r.kind, r.name),
    };
    if let Some(c) = &r.cluster {
        text.push_str(&format!(" (cluster {c})"));
    }
    text
}

/// The baseline entries of a run's findings (and of its partial-model
/// warning, which a baseline can accept too).
pub fn baseline_entries(run: &Run) -> Vec<crate::gate::Entry> {
    let mut entries: Vec<crate::gate::Entry> = run
        .findings
        .iter()
        .map(|f| crate::gate::Entry {
            file: location(run, f.primary.span).file,
            rule: f.rule.to_string(),
            resource: f.resource.as_ref().map(resource_text),
            message: crate::gate::short(&f.message, 120),
            fingerprint: fingerprint(run, f),
        })
        .collect();
    if let Some(p) = &run.partial {
        entries.push(crate::gate::Entry {
            file: ".".into(),
            rule: crate::gate::PARTIAL_FINGERPRINT.into(),
            resource: None,
            message: crate::gate::short(&p.message(), 120),
            fingerprint: crate::gate::PARTIAL_FINGERPRINT.into(),
        });
    }
    entries.sort();
    entries
}

/// What lifeboat had to guess about the repository, one sentence each,
/// shown in every format's summary (not only under `--verbose`): roots
/// taken without an entry point to start from.
pub fn guess_lines(run: &Run) -> Vec<String> {
    let mut out = Vec::new();
    if !run.model.guessed_roots.is_empty() {
        let n = run.model.guessed_roots.len();
        out.push(format!(
            "Roots guessed: no Argo CD Application in the repository deploys {}, whose templates are Applications: {} rendered with {} own values as the root{} (installed by hand or a bootstrap script, presumably). Name the real ones with `roots:` in .lifeboat.yaml.",
            run.model.guessed_roots.join(", "),
            if n == 1 { "it is" } else { "they are" },
            if n == 1 { "its" } else { "their" },
            if n == 1 { "" } else { "s" },
        ));
    }
    if run.model.entry_source == crate::model::EntrySource::Fallback {
        let mut labels: Vec<&str> = run.model.entries.iter().map(|e| e.label.as_str()).collect();
        labels.dedup();
        let shown: Vec<String> = labels.iter().take(5).map(|l| l.to_string()).collect();
        let more = labels.len().saturating_sub(shown.len());
        let why = match &run.model.idle_entry {
            Some(idle) => format!("the Flux entry point, {idle}"),
            None => "no Flux entry point found (a Kustomization that deploys itself, a FluxInstance, a flux-instance HelmRelease)".to_string(),
        };
        out.push(format!(
            "Roots guessed: {why}, so {} that nothing deploys {} linted as {}: {}{}. Name the real ones with `roots:` in .lifeboat.yaml.",
            if labels.len() == 1 { "the one Flux Kustomization".to_string() } else { format!("the {} Flux Kustomizations", labels.len()) },
            if labels.len() == 1 { "is" } else { "are" },
            if labels.len() == 1 { "the root" } else { "roots" },
            shown.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() },
        ));
    }
    out
}

/// The charts of the repository that nothing renders (their templates are
/// skipped): the directories above each skipped template's `templates/`.
/// How many Helm releases the run could not look into (a chart neither in
/// the catalogue nor rendered), within the report's scope: one per release
/// as written, however many clusters deploy it.
pub fn unknown_chart_count(run: &Run) -> usize {
    let scope: Vec<String> = run.gate.scope.iter().filter(|s| *s != ".").cloned().collect();
    let mut seen: Vec<(&str, &str, &str, crate::yaml::Span)> = run
        .model
        .releases
        .iter()
        .filter(|r| r.known == crate::model::charts::Known::Unknown)
        .filter(|r| {
            let file = run.sources.file(r.span.file).map(|f| f.display.as_str()).unwrap_or("");
            crate::in_scope(file, &scope)
        })
        .map(|r| (r.label.as_str(), r.chart.as_str(), r.version.as_str(), r.span))
        .collect();
    seen.sort_by(|a, b| (a.0, a.1, a.2, a.3.start.offset, a.3.file).cmp(&(b.0, b.1, b.2, b.3.start.offset, b.3.file)));
    seen.dedup();
    seen.len()
}

pub fn unrendered_charts(run: &Run) -> Vec<String> {
    let mut dirs: Vec<String> = run
        .skipped
        .iter()
        .filter(|(_, why)| *why == crate::UNRENDERED_CHART_TEMPLATE)
        .filter_map(|(path, _)| {
            let shown = crate::yaml::display_path(path);
            shown.rsplit_once("/templates/").map(|(dir, _)| dir.to_string())
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// What the gate left out, in one sentence each (empty when nothing): for
/// the human, concise and markdown reports.
pub fn gate_lines(run: &Run) -> Vec<String> {
    let g = &run.gate;
    let mut out = Vec::new();
    if !g.scope.is_empty() && g.out_of_scope > 0 {
        out.push(format!(
            "Reported: findings under {}; {} more elsewhere in the repository (run on the root to see them).",
            g.scope.join(", "),
            g.out_of_scope
        ));
    }
    if let Some((source, files)) = &g.changed {
        out.push(format!(
            "Pull-request mode: {files} changed file{} ({source}); {} finding{} about unchanged files not shown.",
            if *files == 1 { "" } else { "s" },
            g.unchanged,
            if g.unchanged == 1 { "" } else { "s" }
        ));
    }
    if let Some(path) = &g.baseline {
        let mut line =
            format!("Baseline {path}: {} finding{} accepted.", g.baselined, if g.baselined == 1 { "" } else { "s" });
        if !g.stale.is_empty() {
            line.push_str(&format!(
                " {} entr{} no longer occur{} (fixed or gone): shrink it with `lifeboat baseline --output {path}`.",
                g.stale.len(),
                if g.stale.len() == 1 { "y" } else { "ies" },
                if g.stale.len() == 1 { "s" } else { "" }
            ));
        }
        out.push(line);
    }
    out
}

/// The baseline entries that no longer occur, one a line.
pub fn stale_lines(run: &Run) -> Vec<String> {
    run.gate
        .stale
        .iter()
        .map(|e| match &e.resource {
            Some(r) => format!("{}: {} on {r} ({})", e.file, e.rule, e.fingerprint),
            None => format!("{}: {} ({})", e.file, e.rule, e.fingerprint),
        })
        .collect()
}

/// Write `skeleton` — pretty JSON in which the array under `key` was left
/// empty — with that array's elements serialized one at a time from
/// `items`. The bytes are those `serde_json::to_string_pretty` gives for the
/// filled document, but neither every element nor the whole text is held at
/// once (a report of 100k findings is written as they are serialized).
///
/// `key` is found as the first `"key": []` of the text: a string value can
/// not contain it, as its quotes would be escaped.
pub fn write_streamed(
    w: &mut dyn std::io::Write,
    skeleton: &str,
    key: &str,
    items: impl Iterator<Item = serde_json::Value>,
) -> std::io::Result<()> {
    let marker = format!("\"{key}\": []");
    let Some(at) = skeleton.find(&marker) else {
        return Err(std::io::Error::other(format!("the report has no `{key}` array to write into")));
    };
    let line_start = skeleton.get(..at).and_then(|t| t.rfind('\n')).map_or(0, |i| i + 1);
    let indent = skeleton.get(line_start..at).unwrap_or("");
    let inner = format!("{indent}  ");
    // The text before the `]` of `[]`, and from it.
    let (head, tail) = skeleton.as_bytes().split_at_checked(at + marker.len() - 1).unwrap_or((b"", b""));
    w.write_all(head)?;
    let mut any = false;
    for item in items {
        w.write_all(if any { b",\n" } else { b"\n" })?;
        any = true;
        let text = serde_json::to_string_pretty(&item).map_err(std::io::Error::other)?;
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                w.write_all(b"\n")?;
            }
            w.write_all(inner.as_bytes())?;
            w.write_all(line.as_bytes())?;
        }
    }
    if any {
        w.write_all(b"\n")?;
        w.write_all(indent.as_bytes())?;
    }
    w.write_all(tail)
}

#[cfg(test)]
mod tests {
    use super::LineStarts;
    use crate::yaml::{Pos, Span};

    fn anchored(text: &str, span: Span) -> Span {
        LineStarts::new(text).anchored(text, span)
    }

    fn span(offset: usize, line: u32, col: u32, len: usize) -> Span {
        Span { file: 0, start: Pos::at(offset, line, col), end: Pos::at(offset + len, line, col + 6) }
    }

    #[test]
    fn offsets_follow_line_and_column() {
        let text = "a: 1\nkey: ${VAR}\n  config: x\n";
        // Consistent: unchanged.
        let right = span(19, 3, 3, 6);
        assert_eq!(anchored(text, right), right);
        // Offsets of the substituted text (two bytes further): moved back.
        let moved = anchored(text, span(21, 3, 3, 6));
        assert_eq!((moved.start.byte(), moved.end.byte()), (19, 25));
        assert_eq!(text.get(moved.start.byte()..moved.end.byte()), Some("config"));
        // A line the text does not have: left alone, never out of range.
        let beyond = span(3, 40, 1, 2);
        assert_eq!(anchored(text, beyond), beyond);
    }
}
