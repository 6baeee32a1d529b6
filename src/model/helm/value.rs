//! The values a Helm template sees: JSON-like data (Helm decodes values
//! through JSON, so maps are ordered by key, as Go ranges and `toYaml` see them).

use std::collections::BTreeMap;

use crate::yaml::{Node, Value as Yaml};

pub type Map = BTreeMap<String, Value>;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Map(Map),
}

impl Value {
    /// Go's truth: false, 0, nil and empty strings and collections are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// The text `{{ x }}` prints: Go's `%v` of the value (`<no value>` for
    /// a missing value is printed by the caller, which knows it is missing).
    pub fn to_text(&self) -> String {
        match self {
            Value::Nil => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::Str(s) => s.clone(),
            Value::List(items) => {
                let parts: Vec<String> = items.iter().map(Value::to_text).collect();
                format!("[{}]", parts.join(" "))
            }
            Value::Map(m) => {
                let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{}", v.to_text())).collect();
                format!("map[{}]", parts.join(" "))
            }
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => s.trim().parse().ok(),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Nil => Some(0.0),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.is_finite() => Some(*f as i64),
            Value::Str(s) => s.trim().parse::<i64>().ok().or_else(|| s.trim().parse::<f64>().ok().map(|f| f as i64)),
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Nil => Some(0),
            _ => None,
        }
    }
}

/// Go's `%v` of a float64: integers without a fraction, others shortest.
pub fn format_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 {
        if f.abs() >= 1e21 {
            return format!("{f:e}");
        }
        return format!("{}", f as i64);
    }
    format!("{f}")
}

/// A YAML node as Helm values: plain scalars typed as YAML 1.1/JSON do
/// (null, booleans, numbers), quoted ones strings.
pub fn from_node(node: &Node) -> Value {
    match &node.value {
        Yaml::Scalar { text, plain } => {
            if !*plain {
                return Value::Str(text.to_string());
            }
            scalar(text)
        }
        Yaml::Seq(items) => Value::List(items.iter().map(from_node).collect()),
        Yaml::Map(entries) => {
            let mut map = Map::new();
            for (k, v) in entries {
                let key = match &k.value {
                    Yaml::Scalar { text, .. } => text.clone(),
                    _ => continue,
                };
                map.insert(key.into(), from_node(v));
            }
            Value::Map(map)
        }
    }
}

/// A plain scalar's type.
pub fn scalar(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Nil,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::Int(i);
    }
    let numeric = text.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'-' || b == b'+' || b == b'.');
    if numeric && !text.ends_with('.') {
        if let Ok(f) = text.parse::<f64>() {
            if f.is_finite() {
                return Value::Float(f);
            }
        }
    }
    Value::Str(text.to_string())
}

/// Helm's values coalescing: `over` wins, maps merge deeply, and a `null`
/// in `over` deletes the key.
pub fn coalesce(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Map(b), Value::Map(o)) => {
            for (k, v) in o {
                if *v == Value::Nil {
                    b.remove(k);
                    continue;
                }
                match b.get_mut(k) {
                    Some(existing @ Value::Map(_)) if matches!(v, Value::Map(_)) => coalesce(existing, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// sprig's `merge`: keys of `over` only where `base` has none (deeply).
pub fn merge_missing(base: &mut Map, over: &Map) {
    for (k, v) in over {
        match base.get_mut(k) {
            Some(Value::Map(b)) => {
                if let Value::Map(o) = v {
                    merge_missing(b, o);
                }
            }
            Some(_) => {}
            None => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// sprig's `mergeOverwrite`: keys of `over` replace those of `base` (deeply).
pub fn merge_overwrite(base: &mut Map, over: &Map) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(Value::Map(b)), Value::Map(o)) => merge_overwrite(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `toYaml`: block YAML, keys sorted, as Helm's sigs.k8s.io/yaml writes it.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Map(m) if m.is_empty() => out.push_str("{}"),
        Value::List(l) if l.is_empty() => out.push_str("[]"),
        Value::Map(_) | Value::List(_) => write_block(v, 0, &mut out),
        other => out.push_str(&yaml_scalar(other)),
    }
    while out.ends_with('\n') {
        out.pop();
    }
    out
}

fn write_block(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Map(m) => {
            for (k, val) in m {
                out.push_str(&pad);
                out.push_str(&yaml_key(k));
                out.push(':');
                write_child(val, indent, out, false);
            }
        }
        Value::List(items) => {
            for item in items {
                out.push_str(&pad);
                out.push('-');
                write_child(item, indent, out, true);
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&yaml_scalar(other));
            out.push('\n');
        }
    }
}

/// After `key:` or `-`: a scalar on the same line, a collection below.
fn write_child(v: &Value, indent: usize, out: &mut String, in_list: bool) {
    match v {
        Value::Map(m) if !m.is_empty() => {
            if in_list {
                // `- a: 1` with the rest of the map aligned under `a`.
                let mut first = true;
                for (k, val) in m {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        out.push_str(&" ".repeat(indent + 2));
                    }
                    out.push_str(&yaml_key(k));
                    out.push(':');
                    write_child(val, indent + 2, out, false);
                }
            } else {
                out.push('\n');
                write_block(v, indent + 2, out);
            }
        }
        Value::List(l) if !l.is_empty() => {
            out.push('\n');
            write_block(v, if in_list { indent + 2 } else { indent }, out);
        }
        Value::Str(s) if s.contains('\n') => {
            let keep = if s.ends_with('\n') { "" } else { "-" };
            out.push_str(&format!(" |{keep}\n"));
            let body_pad = " ".repeat(indent + 2);
            for line in s.trim_end_matches('\n').split('\n') {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    out.push_str(&body_pad);
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        other => {
            out.push(' ');
            out.push_str(&yaml_scalar(other));
            out.push('\n');
        }
    }
}

fn yaml_key(k: &str) -> String {
    if needs_quotes(k) {
        quote_double(k)
    } else {
        k.to_string()
    }
}

fn yaml_scalar(v: &Value) -> String {
    match v {
        Value::Nil => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_float(*f),
        Value::Str(s) => {
            if needs_quotes(s) {
                quote_double(s)
            } else {
                s.clone()
            }
        }
        Value::Map(_) => "{}".into(),
        Value::List(_) => "[]".into(),
    }
}

fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return true;
    }
    if !matches!(scalar(s), Value::Str(_)) {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(lower.as_str(), "yes" | "no" | "on" | "off" | "y" | "n") {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return true;
    }
    s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.chars().any(|c| c.is_control())
}

pub fn quote_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `toJson`: compact JSON.
pub fn to_json(v: &Value) -> String {
    match v {
        Value::Nil => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_float(*f),
        Value::Str(s) => serde_json::Value::String(s.clone()).to_string(),
        Value::List(items) => format!("[{}]", items.iter().map(to_json).collect::<Vec<_>>().join(",")),
        Value::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}:{}", serde_json::Value::String(k.clone()), to_json(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

pub fn from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n.as_i64().map_or_else(|| Value::Float(n.as_f64().unwrap_or(0.0)), Value::Int),
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(a) => Value::List(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => Value::Map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, Value)]) -> Value {
        Value::Map(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    #[test]
    fn yaml_round_trip_shapes() {
        let v = map(&[
            ("b", Value::List(vec![map(&[("x", Value::Int(1)), ("y", Value::Str("on".into()))])])),
            ("a", Value::Str("multi\nline".into())),
            ("c", map(&[])),
        ]);
        assert_eq!(to_yaml(&v), "a: |-\n  multi\n  line\nb:\n- x: 1\n  \"y\": \"on\"\nc: {}");
    }

    #[test]
    fn coalesce_deletes_null() {
        let mut base = map(&[("a", Value::Int(1)), ("b", map(&[("c", Value::Int(2))]))]);
        coalesce(&mut base, &map(&[("a", Value::Nil), ("b", map(&[("d", Value::Int(3))]))]));
        assert_eq!(base, map(&[("b", map(&[("c", Value::Int(2)), ("d", Value::Int(3))]))]));
    }

    #[test]
    fn scalars() {
        assert_eq!(scalar("3"), Value::Int(3));
        assert_eq!(scalar("1.5"), Value::Float(1.5));
        assert_eq!(scalar("10Gi"), Value::Str("10Gi".into()));
        assert_eq!(scalar("~"), Value::Nil);
        assert_eq!(format_float(3.0), "3");
    }
}
