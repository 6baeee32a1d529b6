//! `--format human`: each finding with a snippet of the lines it is about,
//! labels, help and the rule's documentation link (rendered with miette).

use std::collections::HashMap;
use std::fmt;

use std::sync::Arc;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents, SourceCode,
    SourceSpan, SpanContents,
};

use super::masked_text;
use crate::finding::{Finding, Severity};
use crate::yaml::{FileId, Span};
use crate::Run;

/// One finding (or one of its related places in another file) for miette.
#[derive(Debug)]
struct Shown {
    message: String,
    code: Option<String>,
    url: Option<String>,
    severity: miette::Severity,
    help: Option<String>,
    source: FileText,
    labels: Vec<LabeledSpan>,
    related: Vec<Shown>,
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Shown {}

impl Diagnostic for Shown {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code.as_ref().map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.url.as_ref().map(|u| Box::new(u) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|r| r as &dyn Diagnostic)))
    }
}

/// A file's masked text as miette reads it, shared by every finding that
/// shows it (not copied). A snippet is found from where the file's lines
/// start, not by scanning from the top of the file for each one (which made
/// the report quadratic in findings × file size).
#[derive(Clone)]
struct FileText {
    name: Arc<str>,
    text: Arc<str>,
    /// Where each line starts, with miette's line breaks (`\n`, `\r\n`
    /// and a lone `\r`), so its line numbers are the ones miette counts.
    breaks: Arc<[usize]>,
}

impl FileText {
    fn new(name: &str, text: String) -> FileText {
        let bytes = text.as_bytes();
        let breaks = std::iter::once(0)
            .chain(bytes.iter().enumerate().filter_map(|(i, &b)| {
                let lone_cr = b == b'\r' && bytes.get(i + 1) != Some(&b'\n');
                (b == b'\n' || lone_cr).then_some(i + 1)
            }))
            .collect();
        FileText { name: Arc::from(name), text: Arc::from(text), breaks }
    }
}

impl fmt::Debug for FileText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileText").field("name", &self.name).finish_non_exhaustive()
    }
}

impl SourceCode for FileText {
    /// miette's own reading of a text, begun at the first line it shows
    /// (`before` lines above the span's) instead of at the top of the file;
    /// lines and offsets are then moved back to the whole file's.
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        // The line of the byte before the span: miette's reading of a span
        // of no length at a line start depends on the line break before it.
        let before_span = span.offset().saturating_sub(1);
        let line = self.breaks.partition_point(|&start| start <= before_span).saturating_sub(1);
        let first = line.saturating_sub(before);
        let base = self.breaks.get(first).copied().unwrap_or(0);
        // Past the end, miette's own reading slices out of range (a panic).
        if span.offset() > self.text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let rest = self.text.as_bytes().get(base..).ok_or(MietteError::OutOfBounds)?;
        let within =
            SourceSpan::new(span.offset().checked_sub(base).ok_or(MietteError::OutOfBounds)?.into(), span.len());
        let read = <[u8] as SourceCode>::read_span(rest, &within, before, after)?;
        let shown = SourceSpan::new((read.span().offset() + base).into(), read.span().len());
        Ok(Box::new(
            MietteSpanContents::new_named(
                self.name.to_string(),
                read.data(),
                shown,
                read.line() + first,
                read.column(),
                read.line_count() + first,
            )
            .with_language("yaml"),
        ))
    }
}

struct Texts<'r> {
    run: &'r Run,
    /// Each file's masked text and where its lines start.
    cache: HashMap<FileId, (FileText, super::LineStarts)>,
}

impl Texts<'_> {
    fn text(&mut self, file: FileId) -> &(FileText, super::LineStarts) {
        let run = self.run;
        self.cache.entry(file).or_insert_with(|| {
            let text = masked_text(run, file);
            let lines = super::LineStarts::new(&text);
            let name = run.sources.file(file).map(|f| f.display.as_str()).unwrap_or_default();
            (FileText::new(name, text), lines)
        })
    }

    fn source(&mut self, file: FileId) -> FileText {
        self.text(file).0.clone()
    }

    fn anchored(&mut self, span: Span) -> Span {
        let (text, lines) = self.text(span.file);
        lines.anchored(&text.text, span)
    }
}

fn label(span: Span, text: &str, primary: bool) -> LabeledSpan {
    let len = span.end.byte().saturating_sub(span.start.byte()).max(1);
    let s = SourceSpan::new(span.start.byte().into(), len);
    let text = (!text.is_empty()).then(|| text.to_string());
    if primary {
        LabeledSpan::new_primary_with_span(text, s)
    } else {
        LabeledSpan::new_with_span(text, s)
    }
}

fn shown(f: &Finding, texts: &mut Texts) -> Shown {
    let file = f.primary.span.file;
    let mut labels = vec![label(texts.anchored(f.primary.span), &f.primary.message, true)];
    let mut related = Vec::new();
    for r in f.related.iter().filter(|r| !f.human_hidden.contains(&r.span)) {
        if r.span.file == file {
            labels.push(label(texts.anchored(r.span), &r.message, false));
        } else {
            related.push(Shown {
                message: r.message.clone(),
                code: None,
                url: None,
                severity: miette::Severity::Advice,
                help: None,
                source: texts.source(r.span.file),
                labels: vec![label(texts.anchored(r.span), "", true)],
                related: Vec::new(),
            });
        }
    }
    Shown {
        message: f.message.clone(),
        code: Some(f.rule.to_string()),
        url: Some(crate::rules::doc_url(f.rule)),
        severity: match f.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        },
        help: f.help.clone(),
        source: texts.source(file),
        labels,
        related,
    }
}

/// From this many findings of one rule at one place, the report folds all
/// but the first into one line.
const FOLD_AT: usize = 3;

/// Two findings of one rule and level at one place (a shared template).
fn same_place(a: &Finding, b: &Finding) -> bool {
    a.rule == b.rule && a.severity == b.severity && a.primary.span == b.primary.span
}

/// The line that stands for the findings after the first of a group.
fn folded(run: &Run, group: &[Finding]) -> String {
    let Some(first) = group.first() else { return String::new() };
    let l = super::location(run, first.primary.span);
    let names: Vec<String> = group
        .iter()
        .skip(1)
        .map(|g| match &g.resource {
            Some(r) => match &r.namespace {
                Some(ns) => format!("`{ns}/{}`", r.name),
                None => format!("`{}`", r.name),
            },
            None => "(no resource)".to_string(),
        })
        .collect();
    const NAMED: usize = 6;
    let mut list = names.iter().take(NAMED).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > NAMED {
        list.push_str(&format!(" and {} more", names.len() - NAMED));
    }
    format!(
        "  … and {} more {} findings at {}:{}:{}, the same place in other instances: {list} (--verbose shows each)\n",
        names.len(),
        first.rule,
        l.file,
        l.line,
        l.column
    )
}

pub fn render(run: &Run, color: bool, verbose: bool) -> String {
    render_with(run, &super::View { color, verbose, quiet: false })
}

pub fn render_with(run: &Run, view: &super::View) -> String {
    let (color, verbose) = (view.color, view.verbose);
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    // Lines wrap at spaces only: never inside a rule id, a resource name, a
    // URL or a command to copy (they hold `-`, `/` and `.`).
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .with_width(100)
        .with_context_lines(1)
        .with_break_words(false)
        .with_word_separator(textwrap::WordSeparator::AsciiSpace)
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation);
    let mut texts = Texts { run, cache: HashMap::new() };
    let mut out = String::new();
    if let Some(p) = run.partial.as_ref().filter(|_| !view.quiet) {
        out.push_str(&format!("warning: {}\n\n", p.message()));
    }
    let mut rest = run.findings.as_slice();
    while let Some(f) = rest.first() {
        // One template instantiated for many apps gives one finding per
        // instance at one place: the first is shown whole, the others
        // folded into a line naming them (`--verbose` shows each).
        let same = if verbose { 1 } else { rest.iter().take_while(|g| same_place(f, g)).count().max(1) };
        let (group, after) = rest.split_at(same.min(rest.len()));
        rest = after;
        let d = shown(f, &mut texts);
        if handler.render_report(&mut out, &d).is_err() {
            out.push_str(&format!("{}: {}\n", f.rule, f.message));
        }
        if group.len() >= FOLD_AT {
            out.push_str(&folded(run, group));
        }
        if group.len() > 1 && group.len() < FOLD_AT {
            for g in group.iter().skip(1) {
                out.push('\n');
                let d = shown(g, &mut texts);
                if handler.render_report(&mut out, &d).is_err() {
                    out.push_str(&format!("{}: {}\n", g.rule, g.message));
                }
            }
        }
        out.push('\n');
    }
    if verbose {
        for (path, why) in &run.skipped {
            out.push_str(&format!("skipped {}: {why}\n", crate::yaml::display_path(path)));
        }
        for u in &run.model.unreached {
            let file = run.sources.file(u.file).map(|f| f.display.as_str()).unwrap_or("");
            out.push_str(&format!("not deployed: {} {} in {file} ({})\n", u.kind, u.name, u.reason));
        }
        for n in &run.model.notes {
            let l = super::location(run, n.span);
            out.push_str(&format!("note: {}:{}:{}: {}\n", l.file, l.line, l.column, n.message));
        }
    }
    if view.quiet {
        return out;
    }
    let errors = run.count(Severity::Error);
    let warnings = run.count(Severity::Warning);
    let infos = run.count(Severity::Info);
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if run.findings.is_empty() && run.partial.is_some() {
        out.push_str("No backup gaps found in the part lifeboat linted");
    } else if run.findings.is_empty() {
        out.push_str("No backup gaps found");
    } else {
        out.push_str(&format!(
            "Found {}, {}, {}",
            plural(errors, "error"),
            plural(warnings, "warning"),
            plural(infos, "info")
        ));
    }
    out.push_str(&format!(
        " in {} ({}).",
        plural(run.file_count(), "file"),
        plural(run.model.resources.len(), "resource")
    ));
    if run.suppressed > 0 {
        out.push_str(&format!(" {} suppressed by exclusions or ignore-check annotations.", run.suppressed));
    }
    if !run.model.unreached.is_empty() && !verbose {
        out.push_str(&format!(
            " {} not deployed (--verbose lists them).",
            plural(run.model.unreached.len(), "document")
        ));
    }
    let charts = super::unrendered_charts(run);
    if !charts.is_empty() && !verbose {
        out.push_str(&format!(
            " {} no release, Application or helmCharts entry renders, so not linted (--verbose lists their templates).",
            plural(charts.len(), "chart")
        ));
    }
    let unknown = super::unknown_chart_count(run);
    if unknown > 0 {
        out.push_str(&format!(
            " {} of unknown contents, not judged (`lifeboat inventory` lists {}).",
            plural(unknown, "Helm release"),
            if unknown == 1 { "it" } else { "them" }
        ));
    }
    if !run.model.notes.is_empty() && !verbose {
        out.push_str(&format!(
            " {} on what lifeboat could not follow (--verbose lists them).",
            plural(run.model.notes.len(), "note")
        ));
    }
    out.push('\n');
    // Templates lifeboat could not render: what they generate is not linted.
    if !run.model.unrendered.is_empty() {
        out.push_str(&format!(
            "Not rendered, so what they generate is not linted ({}):\n",
            plural(run.model.unrendered.len(), "ResourceSet")
        ));
        for u in &run.model.unrendered {
            let l = super::location(run, u.span);
            out.push_str(&format!("  ResourceSet `{}` ({}:{}): {}\n", u.name, l.file, l.line, u.why));
        }
    }
    // Storage made by operators lifeboat does not model: not judged, said so.
    let unmodelled = super::unmodelled_storage(run);
    if !unmodelled.is_empty() {
        out.push_str(&format!(
            "Storage lifeboat does not model, so not judged ({}):\n",
            plural(unmodelled.len(), "custom resource")
        ));
        for (u, l) in &unmodelled {
            let at = if u.at.is_empty() { "its operator's default storage".to_string() } else { format!("`{}`", u.at) };
            out.push_str(&format!("  {} `{}` ({}:{}): {at}\n", u.kind, u.name, l.file, l.line));
        }
    }
    // Files the repository names that lifeboat skipped: always named.
    if !run.not_read.is_empty() {
        out.push_str(&format!("Referenced but not read ({}):\n", plural(run.not_read.len(), "path")));
        for n in &run.not_read {
            out.push_str(&format!("  {}: {}\n", crate::yaml::display_path(&n.path), n.why));
        }
    }
    for line in super::guess_lines(run).into_iter().chain(super::gate_lines(run)) {
        out.push_str(&line);
        out.push('\n');
    }
    for line in super::stale_lines(run) {
        out.push_str(&format!("  no longer occurs: {line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use miette::{SourceCode, SourceSpan, SpanContents};

    use super::FileText;

    type Read = (Vec<u8>, usize, usize, usize, usize, usize, Option<String>);

    fn facts(read: &dyn SpanContents<'_>) -> Read {
        let span = read.span();
        (
            read.data().to_vec(),
            span.offset(),
            span.len(),
            read.line(),
            read.column(),
            read.line_count(),
            read.name().map(str::to_string),
        )
    }

    /// Every span of a text with every kind of line break (and a
    /// multi-byte character) reads as miette reads the whole text.
    #[test]
    fn snippets_read_as_miette_reads_the_whole_text() {
        let text = "a: 1\nkey: ü\r\nlone: x\rlast: y\n\n  deep:\n    - z\nend";
        let file = FileText::new("f.yaml", text.to_string());
        let mut compared = 0;
        for offset in 0..=text.len() {
            for len in [0, 1, 3, 9, 40] {
                for context in [0, 1, 2, 5] {
                    let span = SourceSpan::new(offset.into(), len);
                    let whole = text.read_span(&span, context, context);
                    let ours = file.read_span(&span, context, context);
                    match (whole, ours) {
                        (Ok(whole), Ok(ours)) => {
                            let mut expected = facts(whole.as_ref());
                            expected.6 = Some("f.yaml".to_string());
                            assert_eq!(facts(ours.as_ref()), expected, "offset {offset} len {len} context {context}");
                            assert_eq!(ours.language(), Some("yaml"));
                            compared += 1;
                        }
                        (Err(_), Err(_)) => {}
                        (whole, ours) => {
                            panic!("offset {offset} len {len}: miette {:?}, ours {:?}", whole.is_ok(), ours.is_ok())
                        }
                    }
                }
            }
        }
        assert!(compared > 500, "{compared} spans compared");
        // Past the end of the text: an error, where miette's own reading
        // of the whole text slices out of range.
        for offset in [text.len() + 1, text.len() + 40, usize::MAX / 2] {
            assert!(file.read_span(&SourceSpan::new(offset.into(), 1), 2, 2).is_err());
        }
    }
}
