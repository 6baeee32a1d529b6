//! Inline patches: YAML held in a string of a kustomization (or a Flux
//! Kustomization). A literal block scalar's nodes get spans inside the file
//! that holds it, so a value an inline patch brings is reported where it
//! is written.

use std::collections::HashMap;
use std::sync::Arc;

use super::Builder;
use crate::yaml::{load_str, Node, Span};

/// The cache of parsed inline patches, by the span of their text.
pub(super) type InlineCache = HashMap<Span, Vec<Arc<Node>>>;

impl Builder<'_> {
    /// Parse YAML held in a string (an inline patch), with spans pointing
    /// into the file that holds it when it is a literal block scalar.
    pub(super) fn parse_inline(&mut self, node: &Node) -> Vec<Arc<Node>> {
        let Some(text) = node.as_str() else { return Vec::new() };
        let loaded = load_str(node.span.file, text);
        if let Some(error) = &loaded.error {
            self.note(node.span, format!("inline patch does not parse: {}", error.message));
            return Vec::new();
        }
        let source = self.sources.file(node.span.file).map_or("", |f| f.text.as_str());
        let map = BlockMap::new(source, node.span, text);
        loaded
            .documents
            .into_iter()
            .map(|d| {
                let mut root = (*d.root).clone();
                root.map_spans(&mut |span| map.map(span));
                Arc::new(root)
            })
            .collect()
    }
}

/// How lines of an inline block scalar map to lines of its file.
pub(super) struct BlockMap {
    /// 1-based line of the file where the text's first line is, and the
    /// columns of indentation before it; `None`: not mappable (folded or
    /// quoted text), so every node points at the whole string.
    start: Option<(u32, u32)>,
    file_line_starts: Vec<usize>,
    text_line_starts: Vec<usize>,
    whole: Span,
}

impl BlockMap {
    pub(super) fn new(source: &str, span: Span, text: &str) -> BlockMap {
        let starts = |s: &str| {
            let mut v = vec![0];
            v.extend(s.match_indices('\n').map(|(i, _)| i + 1));
            v
        };
        let file_line_starts = starts(source);
        let text_line_starts = starts(text);
        // A literal block scalar's span starts at its first content line;
        // each text line is that file line less the indentation. Anything
        // else (folded, quoted, leading blank lines) does not verify.
        let start = (|| {
            let first = text.lines().next()?;
            let line = span.start.line;
            let indent = usize::try_from(span.start.col).ok()?.checked_sub(1)?;
            let at = *file_line_starts.get(usize::try_from(line).ok()?.checked_sub(1)?)?;
            let rest = source.get(at..)?.lines().next()?;
            let verified = !first.is_empty()
                && rest.get(..indent).is_some_and(|p| p.chars().all(|c| c == ' '))
                && rest.get(indent..)? == first;
            verified.then_some((line, u32::try_from(indent).ok()?))
        })();
        BlockMap { start, file_line_starts, text_line_starts, whole: span }
    }

    pub(super) fn map(&self, span: Span) -> Span {
        let Some((first_line, indent)) = self.start else { return self.whole };
        let pos = |p: crate::yaml::Pos| -> Option<crate::yaml::Pos> {
            let line = first_line + p.line.checked_sub(1)?;
            let text_start = *self.text_line_starts.get(usize::try_from(p.line).ok()?.checked_sub(1)?)?;
            let file_start = *self.file_line_starts.get(usize::try_from(line).ok()?.checked_sub(1)?)?;
            Some(crate::yaml::Pos {
                offset: u32::try_from(file_start + indent as usize + p.byte().checked_sub(text_start)?).ok()?,
                line,
                col: p.col.saturating_add(indent),
            })
        };
        match (pos(span.start), pos(span.end)) {
            (Some(start), Some(end)) => Span { file: self.whole.file, start, end },
            _ => self.whole,
        }
    }
}
