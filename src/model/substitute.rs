//! Flux `postBuild` variable substitution (drone/envsubst, as
//! kustomize-controller uses it): `${VAR}`, `${VAR:=default}`,
//! `${VAR:-default}`, `${VAR=default}`, `${VAR-default}`, nested defaults
//! (`${CLAIM:=${APP}}`), and `$${VAR}` for a literal `${VAR}`.

use std::collections::BTreeMap;

use crate::yaml::{Node, Value};

/// What a variable is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    Value(String),
    /// Defined in a source whose values lifeboat cannot read (a SOPS Secret):
    /// left as written, never compared, never reported.
    Unknown,
}

#[derive(Debug, Clone, Default)]
pub struct Vars {
    pub values: BTreeMap<String, Binding>,
    /// Some source could not be read (missing, SOPS): an undefined variable
    /// may come from it, so none is reported.
    pub incomplete: bool,
}

/// The result of substituting one string.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Substituted {
    pub text: String,
    /// Variables with no value and no default (Flux: empty string, or a
    /// failed reconciliation with strict substitution; kept as written here).
    pub undefined: Vec<String>,
    /// Kept `${…}` because a variable's value is unknown.
    pub unknown: bool,
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

/// Substitute `text`. Depth-bounded for nested defaults.
pub fn substitute(text: &str, vars: &Vars) -> Substituted {
    let mut out = Substituted::default();
    out.text = expand(text, vars, &mut out.undefined, &mut out.unknown, 0);
    out
}

fn expand(text: &str, vars: &Vars, undefined: &mut Vec<String>, unknown: &mut bool, depth: usize) -> String {
    let mut result = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        result.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(escaped) = after.strip_prefix("${") {
            // `$${VAR}` is a literal `${VAR}`.
            result.push_str("${");
            rest = escaped;
            continue;
        }
        let Some(body_start) = after.strip_prefix('{') else {
            result.push('$');
            rest = after;
            continue;
        };
        let Some(end) = closing_brace(body_start) else {
            result.push('$');
            rest = after;
            continue;
        };
        let body = &body_start[..end];
        let whole = &rest[i..i + 2 + end + 1];
        rest = &body_start[end + 1..];
        let name_len = body.find(|c: char| !is_name_char(c)).unwrap_or(body.len());
        let name = &body[..name_len];
        if name.is_empty() || !name.starts_with(is_name_start) {
            result.push_str(whole);
            continue;
        }
        let op = &body[name_len..];
        let (default, when_empty) = if let Some(d) = op.strip_prefix(":=").or_else(|| op.strip_prefix(":-")) {
            (Some(d), true)
        } else if let Some(d) = op.strip_prefix('=').or_else(|| op.strip_prefix('-')) {
            (Some(d), false)
        } else if op.is_empty() {
            (None, false)
        } else {
            // `${VAR/x/y}`, `${VAR:0:2}` …: not substituted by lifeboat.
            result.push_str(whole);
            continue;
        };
        match (vars.values.get(name), default) {
            (Some(Binding::Value(v)), Some(d)) if when_empty && v.is_empty() => {
                result.push_str(&expand_default(d, vars, undefined, unknown, depth));
            }
            (Some(Binding::Value(v)), _) => result.push_str(v),
            (Some(Binding::Unknown), _) => {
                *unknown = true;
                result.push_str(whole);
            }
            (None, Some(d)) => result.push_str(&expand_default(d, vars, undefined, unknown, depth)),
            (None, None) => {
                // Flux writes an empty string (or fails, with strict
                // substitution); lifeboat keeps the reference, so no other
                // rule judges a value that is really a missing variable,
                // and `flux-substitution-undefined` reports it once.
                if vars.incomplete {
                    *unknown = true;
                } else {
                    undefined.push(name.to_string());
                }
                result.push_str(whole);
            }
        }
    }
    result.push_str(rest);
    result
}

fn expand_default(d: &str, vars: &Vars, undefined: &mut Vec<String>, unknown: &mut bool, depth: usize) -> String {
    if depth >= 16 {
        return d.to_string();
    }
    expand(d, vars, undefined, unknown, depth + 1)
}

/// Index of the `}` that closes a `${` whose body starts `body`, counting
/// nested `${ … }`.
fn closing_brace(body: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = body.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// A variable with no value, where it was used.
#[derive(Debug, Clone)]
pub struct UndefinedUse {
    pub var: String,
    pub span: crate::yaml::Span,
}

/// Where `${var}` is in a scalar that holds a whole file (a ConfigMap a
/// generator made from it spans that file): its own line and column, not
/// the whole file. Any other scalar keeps its span.
fn reference_span(span: crate::yaml::Span, text: &str, var: &str) -> crate::yaml::Span {
    let whole_file = span.start.offset == 0 && span.end.byte() == text.len() && text.contains('\n');
    let at = ["${", "$"].iter().find_map(|open| {
        let pattern = format!("{open}{var}");
        text.match_indices(&pattern).map(|(i, _)| i).find(|&i| {
            text.get(i + pattern.len()..).is_some_and(|r| !r.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
        })
    });
    let (true, Some(at)) = (whole_file, at) else { return span };
    let before = text.get(..at).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text.get(line_start..at).map_or(0, |t| t.chars().count()) + 1;
    let end_text = text.get(at..).unwrap_or("");
    let len = end_text.find('}').map_or(end_text.len(), |i| i + 1);
    let pos = |offset: usize, col: usize| crate::yaml::Pos {
        offset: u32::try_from(offset).unwrap_or(u32::MAX),
        line: u32::try_from(line).unwrap_or(u32::MAX),
        col: u32::try_from(col).unwrap_or(u32::MAX),
    };
    crate::yaml::Span { file: span.file, start: pos(at, col), end: pos(at + len, col + len) }
}

/// Substitute every scalar of `node` (keys included); spans stay those of
/// the source, so findings point at the line that holds the `${VAR}`.
pub fn substitute_tree(node: &Node, vars: &Vars, undefined: &mut Vec<UndefinedUse>) -> Node {
    let value = match &node.value {
        Value::Scalar { text, plain } => {
            if !text.contains('$') {
                return node.clone();
            }
            let s = substitute(text, vars);
            undefined.extend(s.undefined.into_iter().map(|var| {
                let span = reference_span(node.span, text, &var);
                UndefinedUse { var, span }
            }));
            Value::Scalar { text: s.text.into(), plain: *plain }
        }
        Value::Seq(items) => Value::Seq(items.iter().map(|n| substitute_tree(n, vars, undefined)).collect()),
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| (substitute_tree(k, vars, undefined), substitute_tree(v, vars, undefined)))
                .collect(),
        ),
    };
    Node { value, span: node.span }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        Vars {
            values: pairs.iter().map(|(k, v)| (k.to_string(), Binding::Value(v.to_string()))).collect(),
            incomplete: false,
        }
    }

    #[test]
    fn flux_variable_syntax() {
        let v = vars(&[("APP", "plex"), ("EMPTY", "")]);
        assert_eq!(substitute("${APP}", &v).text, "plex");
        assert_eq!(substitute("${APP}-config", &v).text, "plex-config");
        assert_eq!(substitute("${SIZE:=5Gi}", &v).text, "5Gi");
        assert_eq!(substitute("${SIZE:-5Gi}", &v).text, "5Gi");
        assert_eq!(substitute("${EMPTY:=x}", &v).text, "x");
        assert_eq!(substitute("${EMPTY=x}", &v).text, "");
        assert_eq!(substitute("${CLAIM:=${APP}}", &v).text, "plex");
        assert_eq!(substitute("$${APP}", &v).text, "${APP}");
        assert_eq!(substitute("cost: $5", &v).text, "cost: $5");
        let missing = substitute("${NOPE}-x", &v);
        assert_eq!((missing.text.as_str(), missing.undefined), ("${NOPE}-x", vec!["NOPE".to_string()]));
        assert_eq!(substitute("${APP", &v).text, "${APP");
    }

    #[test]
    fn a_reference_in_a_whole_file_value_points_at_its_line() {
        let text = "a: 1\nurl: http://${HOST}/x\n";
        let whole = crate::yaml::Span {
            file: 3,
            start: crate::yaml::Pos { offset: 0, line: 1, col: 1 },
            end: crate::yaml::Pos::at(text.len(), 2, 1),
        };
        let s = reference_span(whole, text, "HOST");
        assert_eq!((s.start.line, s.start.col, s.end.col), (2, 13, 20));
        assert_eq!(&text[s.start.byte()..s.end.byte()], "${HOST}");
        let short = crate::yaml::Span { end: crate::yaml::Pos { offset: 4, line: 1, col: 5 }, ..whole };
        assert_eq!(reference_span(short, text, "HOST"), short, "a scalar's own span is kept");
    }

    #[test]
    fn unknown_values_are_kept() {
        let mut v = vars(&[]);
        v.values.insert("SECRET_DOMAIN".into(), Binding::Unknown);
        let s = substitute("db.${SECRET_DOMAIN}", &v);
        assert_eq!(s.text, "db.${SECRET_DOMAIN}");
        assert!(s.unknown && s.undefined.is_empty());
        v.incomplete = true;
        let s = substitute("${OTHER}", &v);
        assert_eq!(s.text, "${OTHER}");
        assert!(s.undefined.is_empty());
    }
}
