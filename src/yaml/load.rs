//! Build the span-aware tree from `saphyr-parser`'s event stream.
//!
//! Anchors and aliases are expanded (with a bound, so a "billion laughs" file
//! cannot exhaust memory), merge keys (`<<`) are applied, and every node gets
//! its byte range, line and column. Loading never panics: a file that does not
//! parse gives a [`LoadError`] at the parser's position.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle};

use super::tree::{Document, FileId, Node, Pos, Span, Value};

/// How many nodes alias expansion may create in one file.
pub const ALIAS_EXPANSION_LIMIT: usize = 250_000;

/// Deepest nesting accepted; deeper input is reported, not recursed into.
const MAX_DEPTH: usize = 512;

#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    pub pos: Pos,
    pub message: String,
}

/// The documents of one file, or the error that stopped it.
#[derive(Debug, Clone, Default)]
pub struct LoadedFile {
    pub documents: Vec<Document>,
    pub error: Option<LoadError>,
}

/// Turns parser markers (line, char column) into positions with byte offsets.
///
/// Linear over a whole file: the char column of a marker is turned into a
/// byte offset from the previous marker on the same line (markers come in
/// order), not by counting from the start of the line each time, so one
/// long line (a flow sequence of 100k items) is not quadratic.
struct Positions<'s> {
    src: &'s str,
    ascii: bool,
    line_starts: Vec<usize>,
    /// Spaces inserted into the parsed text, by line: (1-based line, char
    /// column), in text order.
    inserted: Vec<(usize, usize)>,
    /// The last conversion: (line, char column, byte column).
    cursor: std::cell::Cell<(usize, usize, usize)>,
}

impl<'s> Positions<'s> {
    fn new(src: &'s str) -> Self {
        // The parser breaks lines at `\n`, `\r\n` and a lone `\r` (old Mac
        // files): so must the byte offsets.
        let mut line_starts = vec![0];
        let bytes = src.as_bytes();
        line_starts.extend(
            bytes
                .iter()
                .enumerate()
                .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
                .map(|(i, _)| i + 1),
        );
        Positions {
            src,
            ascii: src.is_ascii(),
            line_starts,
            inserted: Vec::new(),
            cursor: std::cell::Cell::new((0, 0, 0)),
        }
    }

    fn pos(&self, marker: &Marker) -> Pos {
        let line = marker.line().max(1);
        // Spaces inserted on this line before the marker's column.
        let first = self.inserted.partition_point(|&(l, _)| l < line);
        let before = self.inserted.partition_point(|&(l, c)| l < line || (l == line && c < marker.col()));
        let shift = before.saturating_sub(first);
        let col_chars = marker.col().saturating_sub(shift);
        let line_start = self.line_starts.get(line - 1).copied().unwrap_or(self.src.len());
        let rest = self.src.get(line_start..).unwrap_or("");
        let byte_col = if self.ascii { col_chars.min(rest.len()) } else { self.byte_col(line, rest, col_chars) };
        Pos {
            offset: u32::try_from(line_start + byte_col).unwrap_or(u32::MAX),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col_chars + 1).unwrap_or(u32::MAX),
        }
    }

    /// The byte offset in `rest` (the text from the start of `line`) of char
    /// column `col`, counting on from the last conversion when it is on the
    /// same line and not past `col`.
    fn byte_col(&self, line: usize, rest: &str, col: usize) -> usize {
        let (last_line, last_col, last_byte) = self.cursor.get();
        let (done, from) = if last_line == line && last_col <= col { (last_col, last_byte) } else { (0, 0) };
        let tail = rest.get(from..).unwrap_or("");
        let byte = tail.char_indices().nth(col - done).map_or(rest.len(), |(i, _)| from + i);
        self.cursor.set((line, col, byte));
        byte
    }
}

impl Positions<'_> {
    /// Where a double-quoted scalar starting at `start` really ends (just
    /// past its closing quote): saphyr-parser's span runs on over trailing
    /// blanks and a comment.
    fn double_quoted_end(&self, start: Pos) -> Option<Pos> {
        let rest = self.src.get(start.byte()..)?;
        let mut chars = rest.char_indices();
        if chars.next()?.1 != '"' {
            return None;
        }
        let (mut line, mut col) = (start.line, start.col + 1);
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                    col += 2;
                }
                '"' => return Some(Pos::at(start.byte() + i + 1, line, col + 1)),
                '\n' => {
                    line += 1;
                    col = 1;
                }
                _ => col += 1,
            }
        }
        None
    }
}

/// An open collection. Its children so far are the tail of the builder's
/// scratch vector from `base` (nested collections are closed first, so
/// each one's children are contiguous); closing it moves them into a
/// vector of exactly their number, not one grown by doubling.
enum Frame {
    Seq { start: Pos, anchor: usize, base: usize },
    Map { start: Pos, anchor: usize, base: usize, pending_key: Option<Node> },
}

struct Builder {
    file: FileId,
    stack: Vec<Frame>,
    items: Vec<Node>,
    entries: Vec<(Node, Node)>,
    anchors: HashMap<usize, (Arc<Node>, usize)>,
    expanded: usize,
    documents: Vec<Document>,
}

impl Builder {
    fn span(&self, start: Pos, end: Pos) -> Span {
        Span { file: self.file, start, end }
    }

    /// Attach a finished node to its parent (or finish the document).
    fn push(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            let size = count_nodes(&node);
            self.anchors.insert(anchor, (Arc::new(node.clone()), size));
        }
        match self.stack.last_mut() {
            Some(Frame::Seq { .. }) => self.items.push(node),
            Some(Frame::Map { pending_key, .. }) => match pending_key.take() {
                Some(key) => self.entries.push((key, node)),
                None => *pending_key = Some(node),
            },
            None => {
                if !node.is_null() {
                    let index = self.documents.len();
                    self.documents.push(Document { file: self.file, index, root: Arc::new(node) });
                }
            }
        }
    }
}

fn count_nodes(node: &Node) -> usize {
    let mut n = 0;
    node.walk(&mut |_| n += 1);
    n
}

/// Apply YAML merge keys (`<<: *base` or `<<: [*a, *b]`): explicit keys win,
/// then earlier merged maps win over later ones.
fn apply_merge_keys(entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
    if !entries.iter().any(|(k, _)| is_merge_key(k)) {
        return entries;
    }
    let (merges, mut own): (Vec<_>, Vec<_>) = entries.into_iter().partition(|(k, _)| is_merge_key(k));
    let mut keys: HashSet<String> = own.iter().filter_map(|(k, _)| k.as_str()).map(str::to_string).collect();
    for (_, value) in merges {
        let sources: Vec<Node> = match value.value {
            Value::Map(_) => vec![value],
            Value::Seq(items) => items,
            Value::Scalar { .. } => vec![],
        };
        for source in sources {
            if let Value::Map(source_entries) = source.value {
                for (k, v) in source_entries {
                    // A set, not a scan of `own`: a merged map of many keys stays linear.
                    let fresh = match k.as_str() {
                        Some(key) => keys.insert(key.to_string()),
                        None => true,
                    };
                    if fresh {
                        own.push((k, v));
                    }
                }
            }
        }
    }
    own
}

fn is_merge_key(node: &Node) -> bool {
    matches!(&node.value, Value::Scalar { text, plain: true } if text == "<<")
}

/// How many lines of flow collections one file may have re-indented (each
/// is one more parse, on the error path only).
const MAX_REINDENTS: usize = 64;

/// Parse `src` (already decoded; a BOM is skipped) into documents of `file`.
///
/// Kubernetes tools read YAML with Go's yaml (a port of libyaml), which is
/// lenient where YAML 1.2 is strict: an alias name ends at `:` (`*app:`),
/// and the lines inside a flow collection may sit at any indentation (a
/// multi-line `args: [ … ]` whose closing `]` is at the key's own
/// indentation). When the strict parse fails on such a shape, the text is
/// parsed again with spaces inserted (and positions mapped back to the
/// original text); if that still fails, the first error is reported.
pub fn load_str(file: FileId, src: &str) -> LoadedFile {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let first = parse(file, src, Positions::new(src));
    let Some(first_error) = first.error.clone() else {
        return first;
    };
    let mut text = src.to_string();
    let mut inserted: Vec<(usize, usize)> = Vec::new();
    let mut spaced = false;
    let mut error = first_error;
    for _ in 0..MAX_REINDENTS {
        if error.message.contains("unknown anchor") && !spaced {
            // Go's YAML (libyaml) ends an anchor name at `:`, so `*app:` is
            // the alias `app` as a key; a YAML 1.2 parser reads the name
            // `app:`. Parse again with a space after such names (earlier
            // re-indents are redone on the new text).
            let (with_spaces, at) = space_after_anchor_names(src);
            if at.is_empty() {
                break;
            }
            (text, inserted, spaced) = (with_spaces, at, true);
        } else if error.message.contains("indentation") {
            let line = usize::try_from(error.pos.line).unwrap_or(usize::MAX);
            let Some(fixed) = reindent_flow_line(&text, line, &mut inserted) else {
                break;
            };
            text = fixed;
        } else {
            break;
        }
        let mut positions = Positions::new(src);
        positions.inserted = inserted.clone();
        let again = parse(file, &text, positions);
        match again.error {
            None => return again,
            Some(e) => error = e,
        }
    }
    first
}

/// Whether 1-based `line` of `text` starts inside an open flow collection
/// (`[` or `{` not yet closed; a scan that skips quoted scalars on one line
/// and comments): the indentation of the line that opened the outermost
/// open collection, or `None` outside one.
fn flow_state_at(text: &str, line: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut opener_indent = 0usize;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return (depth > 0).then_some(opener_indent);
        }
        let indent = l.len() - l.trim_start_matches(' ').len();
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        let mut chars = l.chars().peekable();
        while let Some(c) = chars.next() {
            match quote {
                Some('"') if c == '\\' => {
                    chars.next();
                }
                Some(q) if c == q => {
                    if q == '\'' && chars.peek() == Some(&'\'') {
                        chars.next();
                    } else {
                        quote = None;
                    }
                }
                Some(_) => {}
                None => match c {
                    '#' if prev.is_whitespace() => break,
                    '"' | '\'' if prev.is_whitespace() || matches!(prev, '[' | '{' | ',' | ':') => quote = Some(c),
                    '[' | '{' => {
                        if depth == 0 {
                            opener_indent = indent;
                        }
                        depth += 1;
                    }
                    ']' | '}' => depth = depth.saturating_sub(1),
                    _ => {}
                },
            }
            prev = c;
        }
    }
    None
}

/// Indent 1-based `line` of `text` (a line inside a flow collection, which
/// Go's YAML reads at any indentation) to one column past the line that
/// opened the collection; records the inserted spaces. `None` when the line
/// is not inside a flow collection or is indented enough already.
fn reindent_flow_line(text: &str, line: usize, inserted: &mut Vec<(usize, usize)>) -> Option<String> {
    let opener_indent = flow_state_at(text, line)?;
    let target = text.split_inclusive('\n').nth(line.checked_sub(1)?)?;
    let indent = target.len() - target.trim_start_matches(' ').len();
    let add = (opener_indent + 1).checked_sub(indent).filter(|n| *n > 0)?;
    let mut out = String::with_capacity(text.len() + add);
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            out.extend(std::iter::repeat_n(' ', add));
        }
        out.push_str(l);
    }
    // Spaces already inserted on this line move right; the new ones are at
    // columns 0..add of the new text.
    for entry in inserted.iter_mut().filter(|(l, _)| *l == line) {
        entry.1 += add;
    }
    inserted.extend((0..add).map(|c| (line, c)));
    inserted.sort_unstable();
    Some(out)
}

/// Insert a space between `*name`/`&name` and a following `:`; returns the
/// text and where spaces went (1-based line, char column in the new text).
fn space_after_anchor_names(src: &str) -> (String, Vec<(usize, usize)>) {
    let mut out = String::with_capacity(src.len() + 16);
    let mut inserted = Vec::new();
    for (i, line) in src.split_inclusive('\n').enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut col = 0;
        let mut j = 0;
        while let Some(&c) = chars.get(j) {
            out.push(c);
            col += 1;
            let prev_ok = j == 0 || chars.get(j - 1).is_some_and(|p| p.is_whitespace() || matches!(p, '[' | '{' | ','));
            if (c == '*' || c == '&') && prev_ok {
                let mut k = j + 1;
                while let Some(&n) = chars.get(k).filter(|n| n.is_alphanumeric() || **n == '_' || **n == '-') {
                    out.push(n);
                    col += 1;
                    k += 1;
                }
                if k > j + 1 && chars.get(k) == Some(&':') {
                    out.push(' ');
                    inserted.push((i + 1, col));
                    col += 1;
                }
                j = k;
                continue;
            }
            j += 1;
        }
    }
    (out, inserted)
}

fn parse(file: FileId, text: &str, positions: Positions) -> LoadedFile {
    let mut builder = Builder {
        file,
        stack: Vec::new(),
        items: Vec::new(),
        entries: Vec::new(),
        anchors: HashMap::new(),
        expanded: 0,
        documents: Vec::new(),
    };
    // A file that fails keeps none of its documents: a tool applying it
    // would reject it whole.
    let fail = |_builder: Builder, pos: Pos, message: String| LoadedFile {
        documents: Vec::new(),
        error: Some(LoadError { pos, message }),
    };

    for event in Parser::new_from_str(text) {
        let (event, span) = match event {
            Ok(ok) => ok,
            Err(err) => {
                let pos = positions.pos(err.marker());
                return fail(builder, pos, err.info().to_string());
            }
        };
        let start = positions.pos(&span.start);
        let end = positions.pos(&span.end);
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::DocumentStart(_) => builder.anchors.clear(),
            Event::DocumentEnd => {}
            Event::Scalar(text, style, anchor, _tag) => {
                let end = match style {
                    ScalarStyle::DoubleQuoted => positions.double_quoted_end(start).unwrap_or(end),
                    _ => end,
                };
                let node = Node {
                    value: Value::Scalar {
                        text: crate::yaml::CompactString::from(text),
                        plain: matches!(style, ScalarStyle::Plain),
                    },
                    span: builder.span(start, end),
                };
                builder.push(node, anchor);
            }
            Event::Alias(id) => {
                let Some((node, size)) = builder.anchors.get(&id).cloned() else {
                    return fail(builder, start, format!("alias refers to an unknown anchor (id {id})"));
                };
                builder.expanded = builder.expanded.saturating_add(size);
                if builder.expanded > ALIAS_EXPANSION_LIMIT {
                    return fail(
                        builder,
                        start,
                        format!(
                            "aliases expand to more than {ALIAS_EXPANSION_LIMIT} nodes; refusing to expand further"
                        ),
                    );
                }
                // The alias is where it is used (`persistence: *persistence`):
                // its own span; what it expands to keeps the anchor's lines.
                let mut node = (*node).clone();
                node.span = builder.span(start, end);
                builder.push(node, 0);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if builder.stack.len() >= MAX_DEPTH {
                    return fail(builder, start, format!("nesting deeper than {MAX_DEPTH} levels"));
                }
                let frame = if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq { start, anchor, base: builder.items.len() }
                } else {
                    Frame::Map { start, anchor, base: builder.entries.len(), pending_key: None }
                };
                builder.stack.push(frame);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = builder.stack.pop() else {
                    return fail(builder, start, "unbalanced collection end".to_string());
                };
                let (value, node_start, anchor, last_end) = match frame {
                    Frame::Seq { start, anchor, base } => {
                        let items = builder.items.drain(base.min(builder.items.len())..).collect::<Vec<_>>();
                        let last = items.last().map(|n| n.span.end);
                        (Value::Seq(items), start, anchor, last)
                    }
                    Frame::Map { start, anchor, base, .. } => {
                        let entries = builder.entries.drain(base.min(builder.entries.len())..).collect::<Vec<_>>();
                        let last = entries.last().map(|(_, v)| v.span.end);
                        (Value::Map(apply_merge_keys(entries)), start, anchor, last)
                    }
                };
                // A block collection "ends" where the next token starts; its
                // last child's end is the honest end of the node.
                let node_end = last_end.map_or(end, |last| {
                    // An alias child keeps its anchor's span (earlier in
                    // the file): never an end before the node's start.
                    if end.offset > last.offset && end.line > last.line && last.offset >= node_start.offset {
                        last
                    } else {
                        end
                    }
                });
                let node = Node { value, span: builder.span(node_start, node_end) };
                builder.push(node, anchor);
            }
        }
    }
    LoadedFile { documents: builder.documents, error: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(src: &str) -> Node {
        let loaded = load_str(0, src);
        assert!(loaded.error.is_none(), "{:?}", loaded.error);
        loaded.documents.first().map(|d| (*d.root).clone()).expect("one document")
    }

    #[test]
    fn spans_are_exact() {
        let r = root("a: \"0 3 * * *\"  # comment\nb: plain  # c\nc: 'q'\n");
        let a = r.get("a").expect("a");
        assert_eq!((a.span.start.line, a.span.start.col, a.span.end.col), (1, 4, 15));
        assert_eq!(a.span.end.byte() - a.span.start.byte(), "\"0 3 * * *\"".len());
        let b = r.get("b").expect("b");
        assert_eq!((b.span.start.line, b.span.start.col, b.span.end.col), (2, 4, 9));
        let k = r.key_node("c").expect("c");
        assert_eq!((k.span.start.line, k.span.start.col), (3, 1));
    }

    #[test]
    fn escaped_quotes_and_multibyte_text() {
        let src = "é: \"a \\\" b\" # x\n";
        let r = root(src);
        let v = r.get("é").expect("key");
        assert_eq!(v.as_str(), Some("a \" b"));
        assert_eq!(&src[v.span.start.byte()..v.span.end.byte()], "\"a \\\" b\"");
        assert_eq!(v.span.start.col, 4, "columns count characters, not bytes");
    }

    #[test]
    fn merge_keys_and_aliases() {
        let r = root("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n");
        let m = r.get("m").expect("m");
        assert_eq!(m.get("x").and_then(Node::as_str), Some("1"));
        assert_eq!(m.get("y").and_then(Node::as_str), Some("3"), "explicit keys win over merged ones");
        assert!(m.get("<<").is_none());
    }

    #[test]
    fn an_alias_is_where_it_is_used_and_its_contents_where_they_are_written() {
        let r = root("a:\n  p: &p {size: 1Gi}\nb:\n  p: *p\n");
        let used = r.path(&["b", "p"]).expect("b.p");
        assert_eq!((used.span.start.line, used.span.start.col), (4, 6));
        let size = used.get("size").expect("size");
        assert_eq!(size.span.start.line, 2, "the expanded value keeps the anchor's line");
    }

    #[test]
    fn go_style_alias_keys_parse() {
        let r = root("app: &app web\ncontrollers:\n  *app:\n    replicas: 1\n");
        let c = r.get("controllers").expect("controllers");
        let (k, v) = c.as_map().first().expect("one entry");
        assert_eq!(k.as_str(), Some("web"));
        assert_eq!(v.get("replicas").and_then(Node::as_str), Some("1"));
        assert_eq!(v.span.start.line, 4);
    }

    #[test]
    fn crlf_bom_and_multiple_documents() {
        let loaded = load_str(0, "\u{feff}a: 1\r\nb: 2\r\n---\r\nc: 3\r\n---\r\n");
        assert!(loaded.error.is_none());
        assert_eq!(loaded.documents.len(), 2, "the empty last document is dropped");
        let b = loaded.documents[0].root.get("b").expect("b");
        assert_eq!((b.span.start.line, b.span.start.col), (2, 4));
    }

    #[test]
    fn a_collection_ending_in_an_alias_ends_after_it_starts() {
        let r = root("base: &b\n  x: 1\nm:\n  <<: *b\nn:\n  - *b\nlast: 1\n");
        for key in ["m", "n"] {
            let v = r.get(key).expect("key");
            assert!(v.span.start.byte() <= v.span.end.byte(), "{key}: {:?}", v.span);
            assert!(v.span.start.line <= v.span.end.line, "{key}: {:?}", v.span);
        }
    }

    #[test]
    fn a_lone_carriage_return_ends_a_line() {
        let src = "a: 1\rb: two\r\nc: 3\n";
        let r = root(src);
        for (key, text, line) in [("b", "two", 2), ("c", "3", 3)] {
            let v = r.get(key).expect("key");
            assert_eq!(&src[v.span.start.byte()..v.span.end.byte()], text);
            assert_eq!(v.span.start.line, line);
        }
    }

    #[test]
    fn billion_laughs_is_bounded() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            src.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
        }
        let loaded = load_str(0, &src);
        let err = loaded.error.expect("refused");
        assert!(err.message.contains("expand"), "{}", err.message);
        assert!(loaded.documents.is_empty());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = "[".repeat(5000) + &"]".repeat(5000);
        let loaded = load_str(0, &src);
        assert!(loaded.error.is_some());
    }

    #[test]
    fn flow_lines_at_any_indentation_parse_as_go_yaml_reads_them() {
        // The closing `]` at the key's own indentation, and below it.
        for src in [
            "a:\n  b:\n    args: [\n      \"x\", \"y\",\n      \"z\"\n    ]\n    env: 1\n",
            "a:\n  b:\n    args: [\n      x\n   ]\n",
            "a:\n  b:\n    m: {\n  k: v,\n  l: w\n    }\n    after: 2\n",
        ] {
            let loaded = load_str(0, src);
            assert!(loaded.error.is_none(), "{src}: {:?}", loaded.error);
            let b = loaded.documents[0].root.path(&["a", "b"]).expect("a.b");
            let seq_or_map = b.get("args").or_else(|| b.get("m")).expect("the flow collection");
            assert!(!seq_or_map.as_seq().is_empty() || !seq_or_map.as_map().is_empty(), "{src}");
        }
        // Positions stay those of the original text.
        let src = "a:\n  b:\n    args: [\n      x\n    ]\n    env: here\n";
        let loaded = load_str(0, src);
        let env = loaded.documents[0].root.path(&["a", "b", "env"]).expect("env");
        assert_eq!((env.span.start.line, env.span.start.col), (6, 10));
        assert_eq!(&src[env.span.start.byte()..env.span.end.byte()], "here");
        // A real indentation error outside flow collections still fails.
        assert!(load_str(0, "a:\n  b: 1\n c: 2\n").error.is_some());
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let loaded = load_str(0, "a: 1\nb: \"open\n");
        let err = loaded.error.expect("error");
        assert!(err.pos.line >= 2, "{err:?}");
    }
}
