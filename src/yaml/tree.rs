//! The node types of the span-aware tree.

use std::sync::Arc;

pub use compact_str::CompactString;

/// Index of a loaded file in the run's file table.
pub type FileId = u32;

/// A position in a source file. `line` and `col` are 1-based; `col` counts
/// characters, `offset` counts bytes (`u32`, as files over 4 GiB are not
/// read: a node is then 64 bytes, not 72; read it with [`Pos::byte`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub offset: u32,
    pub line: u32,
    pub col: u32,
}

impl Pos {
    /// The position at byte `offset` (saturating; no file read is that long).
    pub fn at(offset: usize, line: u32, col: u32) -> Pos {
        Pos { offset: u32::try_from(offset).unwrap_or(u32::MAX), line, col }
    }

    /// The byte offset, for slicing the file's text.
    pub fn byte(self) -> usize {
        self.offset as usize
    }
}

/// A range in one file (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    /// From the start of `self` to the end of `other` (a key through its value).
    pub fn through(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// One YAML node and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar's text; `plain` is true for an unquoted scalar (only those can
    /// be `null`, `true`, numbers …).
    Scalar {
        text: CompactString,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Keys in document order. Merge keys (`<<`) are already applied.
    Map(Vec<(Node, Node)>),
}

/// One document of a file (multi-document files hold several).
#[derive(Debug, Clone)]
pub struct Document {
    pub file: FileId,
    /// 0-based position of the document in its file.
    pub index: usize,
    pub root: Arc<Node>,
}

impl Node {
    /// The value under `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The key node for `key` (to point at `schedule:` rather than its value).
    pub fn key_node(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(k, _)| k),
            _ => None,
        }
    }

    /// Follow a dotted path of mapping keys: `node.path(&["spec", "backup"])`.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    /// The scalar text, unless the scalar is a YAML null.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, plain } if !(*plain && is_null(text)) => Some(text),
            _ => None,
        }
    }

    /// A non-empty string value.
    pub fn as_nonempty_str(&self) -> Option<&str> {
        self.as_str().filter(|s| !s.trim().is_empty())
    }

    /// A YAML 1.2 core boolean (`true`/`false`, any case of the first letter);
    /// quoted strings are not booleans.
    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Scalar { text, plain: true } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if is_null(text))
    }

    pub fn as_seq(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn as_map(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// A string scalar (quoted, so never read as null, a number or a bool).
    pub fn string(text: impl Into<CompactString>, span: Span) -> Node {
        Node { value: Value::Scalar { text: text.into(), plain: false }, span }
    }

    /// A mapping of `entries`.
    pub fn mapping(entries: Vec<(Node, Node)>, span: Span) -> Node {
        Node { value: Value::Map(entries), span }
    }

    /// The value under `key`, mutable.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Map(entries) => entries.iter_mut().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Set `key` to `value` in a mapping (replacing in place, else appending;
    /// a new key takes the value's span). No effect on a non-mapping.
    pub fn set(&mut self, key: &str, value: Node) {
        if let Value::Map(entries) = &mut self.value {
            match entries.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
                Some((_, v)) => *v = value,
                None => entries.push((Node::string(key, value.span), value)),
            }
        }
    }

    /// Remove `key` from a mapping, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        match &mut self.value {
            Value::Map(entries) => {
                let at = entries.iter().position(|(k, _)| k.as_str() == Some(key))?;
                Some(entries.remove(at).1)
            }
            _ => None,
        }
    }

    /// The mapping under `key`, created (empty, at this node's span) when
    /// absent or not a mapping. `None` when this node is not a mapping.
    pub fn entry_map(&mut self, key: &str) -> Option<&mut Node> {
        if !self.is_map() {
            return None;
        }
        let span = self.span;
        if !self.get(key).is_some_and(Node::is_map) {
            self.set(key, Node::mapping(Vec::new(), span));
        }
        self.get_mut(key)
    }

    /// The value under `key`, a new empty mapping when absent; `None` when
    /// this node is not a mapping. (Unlike [`Node::entry_map`], a value that
    /// is there is kept, whatever it is.)
    pub fn entry_map_if_absent(&mut self, key: &str) -> Option<&mut Node> {
        if !self.is_map() {
            return None;
        }
        if self.get(key).is_none() {
            let span = self.span;
            self.set(key, Node::mapping(Vec::new(), span));
        }
        self.get_mut(key)
    }

    /// Rewrite the span of every node of the subtree (YAML parsed from a
    /// string: moved to where the string stands in its file).
    pub fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        self.span = f(self.span);
        match &mut self.value {
            Value::Scalar { .. } => {}
            Value::Seq(items) => items.iter_mut().for_each(|n| n.map_spans(f)),
            Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                k.map_spans(f);
                v.map_spans(f);
            }),
        }
    }

    /// Visit every node of the subtree, depth first, this one included.
    pub fn walk<'a>(&'a self, visit: &mut dyn FnMut(&'a Node)) {
        visit(self);
        match &self.value {
            Value::Scalar { .. } => {}
            Value::Seq(items) => items.iter().for_each(|n| n.walk(visit)),
            Value::Map(entries) => entries.iter().for_each(|(k, v)| {
                k.walk(visit);
                v.walk(visit);
            }),
        }
    }
}

/// The non-empty string under `key` of `node` with where it is written (a
/// setting whose span a provenance note points at).
pub fn str_with_span(node: Option<&Node>, key: &str) -> Option<(String, Span)> {
    let value = node?.get(key)?;
    Some((value.as_nonempty_str()?.to_string(), value.span))
}

/// The non-empty string at `path` below `node`, if any.
pub fn str_at<'a>(node: Option<&'a Node>, path: &[&str]) -> Option<&'a str> {
    node?.path(path).and_then(Node::as_nonempty_str)
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}
