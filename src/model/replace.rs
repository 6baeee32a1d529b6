//! kustomize `replacements`: copy one field of one resource into fields of
//! the resources a selector picks (`[key=value]` list steps, indexes,
//! `delimiter`/`index` options, `create`).

use std::sync::Arc;

use super::kustomize::Selector;
use super::{Builder, Resource};
use crate::yaml::{Node, Value};

impl Builder<'_> {
    /// One `replacements` entry: copy the source field into the targets.
    pub(super) fn replace(&mut self, rep: &Node, acc: &mut [Resource]) {
        let Some(source) = rep.get("source") else { return };
        let select = Selector::parse(source);
        let field = source.get("fieldPath").and_then(Node::as_str).unwrap_or("metadata.name");
        let found: Vec<usize> =
            (0..acc.len()).filter(|&i| acc.get(i).is_some_and(|r| self.selects(&select, r))).collect();
        let [one] = found.as_slice() else {
            let what = found.len();
            self.note(rep.span, format!("replacement source matches {what} resources (kustomize needs exactly one)"));
            return;
        };
        let Some(value) = acc.get(*one).and_then(|r| get_field(r, field)) else {
            self.note(rep.span, format!("replacement source field `{field}` is not set"));
            return;
        };
        let value = match delimited(source.get("options"), &value) {
            Some(v) => v,
            None => return,
        };
        for target in rep.get("targets").map_or(&[][..], Node::as_seq) {
            let select = target.get("select").map(Selector::parse).unwrap_or_default();
            let rejects: Vec<Selector> =
                target.get("reject").map_or(&[][..], Node::as_seq).iter().map(Selector::parse).collect();
            let options = target.get("options");
            let create = options.and_then(|o| o.get("create")).and_then(Node::as_bool) == Some(true);
            for r in acc.iter_mut() {
                if !self.selects(&select, r) || rejects.iter().any(|s| self.selects(s, r)) {
                    continue;
                }
                for path in target.get("fieldPaths").map_or(&[][..], Node::as_seq).iter().filter_map(Node::as_str) {
                    set_field(r, path, &value, options, create);
                }
            }
        }
    }
}

/// One step of a replacement field path.
enum Step {
    Key(String),
    /// `[name=value]`: the list item whose field has that value.
    Match(String, String),
    Index(usize),
}

fn field_steps(path: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in path.chars() {
        match c {
            '[' => {
                if depth == 0 && !current.is_empty() {
                    parts.push(std::mem::take(&mut current));
                }
                depth += 1;
                current.push(c);
            }
            ']' => {
                depth -= 1;
                current.push(c);
            }
            '.' if depth == 0 => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        if let Some(inner) = part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            match inner.split_once('=') {
                Some((k, v)) => steps.push(Step::Match(k.to_string(), v.to_string())),
                None => steps.push(Step::Key(inner.to_string())),
            }
        } else if let Ok(i) = part.parse::<usize>() {
            steps.push(Step::Index(i));
        } else {
            steps.push(Step::Key(part));
        }
    }
    steps
}

/// The value at a replacement field path (`metadata.name` and
/// `metadata.namespace` are the resource's current ones).
fn get_field(r: &Resource, path: &str) -> Option<Node> {
    let span = r.name_span();
    match path {
        "metadata.name" => return Some(Node::string(r.name.clone(), span)),
        "metadata.namespace" => return r.namespace.clone().map(|ns| Node::string(ns, span)),
        _ => {}
    }
    let mut node: &Node = &r.root;
    for step in field_steps(path) {
        node = match step {
            Step::Key(k) => node.get(&k)?,
            Step::Index(i) => node.as_seq().get(i)?,
            Step::Match(k, v) => node.as_seq().iter().find(|n| n.get(&k).and_then(Node::as_str) == Some(&v))?,
        };
    }
    Some(node.clone())
}

/// The source value after `options.delimiter`/`index` (`None`: index out of range).
fn delimited(options: Option<&Node>, value: &Node) -> Option<Node> {
    let Some(delimiter) = options.and_then(|o| o.get("delimiter")).and_then(Node::as_str) else {
        return Some(value.clone());
    };
    let index = options.and_then(|o| o.get("index")).and_then(Node::as_str).and_then(|i| i.parse::<usize>().ok());
    let text = value.as_str()?;
    let part = text.split(delimiter).nth(index.unwrap_or(0))?;
    Some(Node::string(part, value.span))
}

/// Write `value` at a replacement target field path.
fn set_field(r: &mut Resource, path: &str, value: &Node, options: Option<&Node>, create: bool) {
    let steps = field_steps(path);
    let delimiter = options.and_then(|o| o.get("delimiter")).and_then(Node::as_str);
    let index = options.and_then(|o| o.get("index")).and_then(Node::as_str).and_then(|i| i.parse::<usize>().ok());
    let new_text = |old: Option<&str>| -> Option<String> {
        let v = value.as_str()?;
        match (delimiter, old) {
            (Some(d), Some(old)) => {
                let mut parts: Vec<&str> = old.split(d).collect();
                let slot = parts.get_mut(index.unwrap_or(0))?;
                *slot = v;
                Some(parts.join(d))
            }
            _ => Some(v.to_string()),
        }
    };
    match path {
        "metadata.name" => {
            if let Some(t) = new_text(Some(&r.name)) {
                r.name = t;
            }
            return;
        }
        "metadata.namespace" => {
            if let Some(t) = new_text(r.namespace.as_deref()) {
                r.namespace = Some(t);
            }
            return;
        }
        _ => {}
    }
    let root = Arc::make_mut(&mut r.root);
    let Some((last, parents)) = steps.split_last() else { return };
    let mut node = root;
    for step in parents {
        node = match step {
            Step::Key(k) if create => match node.entry_map(k) {
                Some(n) => n,
                None => return,
            },
            Step::Key(k) => match node.get_mut(k) {
                Some(n) => n,
                None => return,
            },
            Step::Index(i) => match &mut node.value {
                Value::Seq(items) => match items.get_mut(*i) {
                    Some(n) => n,
                    None => return,
                },
                _ => return,
            },
            Step::Match(k, v) => match &mut node.value {
                Value::Seq(items) => match items.iter_mut().find(|n| n.get(k).and_then(Node::as_str) == Some(v)) {
                    Some(n) => n,
                    None => return,
                },
                _ => return,
            },
        };
    }
    let Step::Key(key) = last else { return };
    let existing = node.get(key);
    if existing.is_none() && !create {
        return;
    }
    let replacement = match (delimiter, existing.and_then(Node::as_str)) {
        (Some(_), old) => match new_text(old) {
            Some(t) => Node::string(t, value.span),
            None => return,
        },
        _ => value.clone(),
    };
    node.set(key, replacement);
}
