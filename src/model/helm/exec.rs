//! Executing a parsed template: Go's text/template semantics with Helm's
//! functions (`include`, `tpl`, `required`, `toYaml` …) and the sprig
//! functions charts use. Work is bounded (steps, output size, include
//! depth), so no chart can hang a run.

use std::collections::HashMap;

use super::parse::{Arg, Cmd, Node, Pipe};
use super::value::{self, Map, Value};

/// Where one piece of the output came from: bytes from `out` on map to the
/// template from `src` (text, one to one) or to the action at `src`.
#[derive(Debug, Clone, Copy)]
pub struct Seg {
    pub out: usize,
    pub src: usize,
    pub literal: bool,
}

#[derive(Debug)]
pub struct RenderError {
    pub pos: usize,
    pub message: String,
}

/// Rendering stops after this many steps or this much output.
const STEPS: usize = 2_000_000;
const OUTPUT: usize = 16 << 20;
const DEPTH: usize = 64;

pub struct Exec<'t> {
    pub defines: &'t HashMap<String, Vec<Node>>,
    steps: usize,
    depth: usize,
    /// The action of the current file being executed (for errors and
    /// output positions of included text).
    pos: usize,
    /// Regexes compiled once per render.
    regexes: HashMap<String, Option<regex::Regex>>,
    /// The data the render started with (`$`).
    data: Value,
}

enum Flow {
    Normal,
    Break,
    Continue,
}

struct Out {
    text: String,
    segs: Vec<Seg>,
}

impl Out {
    fn push(&mut self, s: &str, src: usize, literal: bool) {
        if s.is_empty() {
            return;
        }
        self.segs.push(Seg { out: self.text.len(), src, literal });
        self.text.push_str(s);
    }
}

struct Scope {
    vars: Vec<(String, Value)>,
}

impl Scope {
    fn get(&self, name: &str) -> Option<&Value> {
        self.vars.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v)
    }
    fn set(&mut self, name: &str, v: Value) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = v;
        }
    }
}

impl<'t> Exec<'t> {
    pub fn new(defines: &'t HashMap<String, Vec<Node>>) -> Exec<'t> {
        Exec { defines, steps: 0, depth: 0, pos: 0, regexes: HashMap::new(), data: Value::Nil }
    }

    /// Render `nodes` with `dot` (also `$`): the text and where it came from.
    pub fn render(&mut self, nodes: &[Node], dot: &Value) -> Result<(String, Vec<Seg>), RenderError> {
        let mut out = Out { text: String::new(), segs: Vec::new() };
        let mut scope = Scope { vars: vec![(String::new(), dot.clone())] };
        if self.data == Value::Nil {
            self.data = dot.clone();
        }
        self.nodes(nodes, dot, &mut scope, &mut out, true)?;
        Ok((out.text, out.segs))
    }

    fn err(&self, message: impl Into<String>) -> RenderError {
        RenderError { pos: self.pos, message: message.into() }
    }

    fn step(&mut self) -> Result<(), RenderError> {
        self.steps += 1;
        if self.steps > STEPS {
            return Err(self.err("the template does too much work (stopped)"));
        }
        Ok(())
    }

    /// `top`: nodes of the file being rendered (their positions are kept);
    /// otherwise an included template, whose output maps to `self.pos`.
    fn nodes(
        &mut self,
        nodes: &[Node],
        dot: &Value,
        scope: &mut Scope,
        out: &mut Out,
        top: bool,
    ) -> Result<Flow, RenderError> {
        let mark = scope.vars.len();
        let flow = self.nodes_inner(nodes, dot, scope, out, top);
        scope.vars.truncate(mark);
        flow
    }

    fn nodes_inner(
        &mut self,
        nodes: &[Node],
        dot: &Value,
        scope: &mut Scope,
        out: &mut Out,
        top: bool,
    ) -> Result<Flow, RenderError> {
        for node in nodes {
            self.step()?;
            if out.text.len() > OUTPUT {
                return Err(self.err("the template's output is too large (stopped)"));
            }
            match node {
                Node::Text { start, text } => out.push(text, if top { *start } else { self.pos }, top),
                Node::Action { pos, pipe } => {
                    if top {
                        self.pos = *pos;
                    }
                    let v = self.pipe(pipe, dot, scope)?;
                    if pipe.vars.is_empty() {
                        let text = v.to_text();
                        out.push(&text, self.pos, false);
                    }
                }
                Node::If { pos, pipe, then, otherwise } => {
                    if top {
                        self.pos = *pos;
                    }
                    let v = self.pipe(pipe, dot, scope)?;
                    let body = if v.truthy() { then } else { otherwise };
                    match self.nodes(body, dot, scope, out, top)? {
                        Flow::Normal => {}
                        other => return Ok(other),
                    }
                }
                Node::With { pos, pipe, then, otherwise } => {
                    if top {
                        self.pos = *pos;
                    }
                    let v = self.pipe(pipe, dot, scope)?;
                    let flow = if v.truthy() {
                        self.nodes(then, &v, scope, out, top)?
                    } else {
                        self.nodes(otherwise, dot, scope, out, top)?
                    };
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Range { pos, pipe, body, otherwise } => {
                    if top {
                        self.pos = *pos;
                    }
                    let mut inner = pipe.clone();
                    let vars = std::mem::take(&mut inner.vars);
                    let v = self.pipe(&inner, dot, scope)?;
                    let items: Vec<(Value, Value)> = match v {
                        Value::List(l) => l.into_iter().enumerate().map(|(i, v)| (Value::Int(i as i64), v)).collect(),
                        Value::Map(m) => m.into_iter().map(|(k, v)| (Value::Str(k), v)).collect(),
                        Value::Int(n) => (0..n.clamp(0, 100_000)).map(|i| (Value::Int(i), Value::Int(i))).collect(),
                        Value::Nil => Vec::new(),
                        other => return Err(self.err(format!("range can't iterate over {}", other.to_text()))),
                    };
                    if items.is_empty() {
                        self.nodes(otherwise, dot, scope, out, top)?;
                        continue;
                    }
                    for (key, item) in items {
                        let mark = scope.vars.len();
                        match vars.as_slice() {
                            [v] => scope.vars.push((v.clone(), item.clone())),
                            [k, v, ..] => {
                                scope.vars.push((k.clone(), key));
                                scope.vars.push((v.clone(), item.clone()));
                            }
                            [] => {}
                        }
                        let flow = self.nodes(body, &item, scope, out, top);
                        scope.vars.truncate(mark);
                        if let Flow::Break = flow? {
                            break;
                        }
                    }
                }
                Node::Template { pos, name, pipe } => {
                    if top {
                        self.pos = *pos;
                    }
                    let data = match pipe {
                        Some(p) => self.pipe(p, dot, scope)?,
                        None => Value::Nil,
                    };
                    let text = self.include(name, &data)?;
                    out.push(&text, self.pos, false);
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    fn include(&mut self, name: &str, data: &Value) -> Result<String, RenderError> {
        let Some(body) = self.defines.get(name) else {
            return Err(self.err(format!("no template named `{name}`")));
        };
        if self.depth >= DEPTH {
            return Err(self.err(format!("template `{name}` includes itself too deeply")));
        }
        self.depth += 1;
        let mut out = Out { text: String::new(), segs: Vec::new() };
        let mut scope = Scope { vars: vec![(String::new(), data.clone())] };
        let result = self.nodes(body, data, &mut scope, &mut out, false);
        self.depth -= 1;
        result?;
        Ok(out.text)
    }

    fn pipe(&mut self, pipe: &Pipe, dot: &Value, scope: &mut Scope) -> Result<Value, RenderError> {
        let mut last: Option<Value> = None;
        for cmd in &pipe.cmds {
            last = Some(self.cmd(cmd, dot, scope, last)?);
        }
        let v = last.unwrap_or(Value::Nil);
        if !pipe.vars.is_empty() {
            for name in &pipe.vars {
                if pipe.declare {
                    scope.vars.push((name.clone(), v.clone()));
                } else {
                    scope.set(name, v.clone());
                }
            }
        }
        Ok(v)
    }

    fn arg(&mut self, arg: &Arg, dot: &Value, scope: &mut Scope) -> Result<Value, RenderError> {
        Ok(match arg {
            Arg::Field(fields) => fields_of(dot, fields),
            Arg::Var(name, fields) => {
                let Some(v) = scope.get(name) else {
                    return Err(self.err(format!("undefined variable `${name}`")));
                };
                fields_of(v, fields)
            }
            Arg::Str(s) => Value::Str(s.clone()),
            Arg::Int(i) => Value::Int(*i),
            Arg::Float(f) => Value::Float(*f),
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Nil => Value::Nil,
            Arg::Sub(pipe, fields) => {
                let v = self.pipe(pipe, dot, scope)?;
                fields_of(&v, fields)
            }
            Arg::Ident(name) => self.call(name, &[], dot, scope, None)?,
            Arg::Chain(name, fields) => {
                let v = self.call(name, &[], dot, scope, None)?;
                fields_of(&v, fields)
            }
        })
    }

    fn cmd(&mut self, cmd: &Cmd, dot: &Value, scope: &mut Scope, piped: Option<Value>) -> Result<Value, RenderError> {
        self.step()?;
        let Some(first) = cmd.args.first() else { return Ok(Value::Nil) };
        let rest = cmd.args.get(1..).unwrap_or(&[]);
        match first {
            Arg::Ident(name) => self.call(name, rest, dot, scope, piped),
            // Methods of Helm's built-in objects.
            Arg::Field(path) | Arg::Var(_, path) if is_method(path) => {
                let mut args = Vec::new();
                for a in rest {
                    args.push(self.arg(a, dot, scope)?);
                }
                args.extend(piped);
                Ok(method(path, &args))
            }
            _ => {
                if !rest.is_empty() || piped.is_some() {
                    return Err(self.err("a value cannot take arguments"));
                }
                self.arg(first, dot, scope)
            }
        }
    }

    fn call(
        &mut self,
        name: &str,
        args: &[Arg],
        dot: &Value,
        scope: &mut Scope,
        piped: Option<Value>,
    ) -> Result<Value, RenderError> {
        // Short-circuit forms first.
        match name {
            "and" | "or" => {
                let mut last = Value::Nil;
                let n = args.len() + usize::from(piped.is_some());
                for i in 0..n {
                    let v = match args.get(i) {
                        Some(a) => self.arg(a, dot, scope)?,
                        None => piped.clone().unwrap_or(Value::Nil),
                    };
                    let t = v.truthy();
                    last = v;
                    if (name == "and" && !t) || (name == "or" && t) {
                        return Ok(last);
                    }
                }
                return Ok(last);
            }
            _ => {}
        }
        let mut vals = Vec::with_capacity(args.len() + 1);
        for a in args {
            vals.push(self.arg(a, dot, scope)?);
        }
        vals.extend(piped);
        self.func(name, vals)
    }

    fn regex(&mut self, pattern: &str) -> Result<regex::Regex, RenderError> {
        let compiled =
            self.regexes.entry(pattern.to_string()).or_insert_with(|| regex::Regex::new(pattern).ok()).clone();
        compiled.ok_or_else(|| self.err(format!("bad regular expression `{pattern}`")))
    }

    fn func(&mut self, name: &str, a: Vec<Value>) -> Result<Value, RenderError> {
        let s = |i: usize| a.get(i).map(Value::to_text).unwrap_or_default();
        let v = |i: usize| a.get(i).cloned().unwrap_or(Value::Nil);
        let int = |i: usize| a.get(i).and_then(Value::as_i64).unwrap_or(0);
        Ok(match name {
            "include" => {
                let text = self.include(&s(0), &v(1))?;
                Value::Str(text)
            }
            "tpl" => {
                let parsed = super::parse::parse(&s(0)).map_err(|e| self.err(format!("tpl: {}", e.message)))?;
                let mut defines = self.defines.clone();
                defines.extend(parsed.defines);
                let mut inner = Exec {
                    defines: &defines,
                    steps: self.steps,
                    depth: self.depth + 1,
                    pos: self.pos,
                    regexes: HashMap::new(),
                    data: self.data.clone(),
                };
                if inner.depth > DEPTH {
                    return Err(self.err("tpl nested too deeply"));
                }
                let (text, _) = inner.render(&parsed.nodes, &v(1))?;
                self.steps = inner.steps;
                Value::Str(text)
            }
            "required" => {
                let val = v(1);
                if val == Value::Nil || val == Value::Str(String::new()) {
                    return Err(self.err(format!("required value missing: {}", s(0))));
                }
                val
            }
            "fail" => return Err(self.err(format!("the chart fails: {}", s(0)))),
            "default" => {
                // sprig's `default` is variadic: the first given value counts.
                let given = v(1);
                if given.truthy() {
                    given
                } else {
                    v(0)
                }
            }
            "empty" => Value::Bool(!v(0).truthy()),
            "coalesce" => a.iter().find(|x| x.truthy()).cloned().unwrap_or(Value::Nil),
            "ternary" => {
                if v(2).truthy() {
                    v(0)
                } else {
                    v(1)
                }
            }
            "not" => Value::Bool(!v(0).truthy()),
            "eq" => {
                let first = v(0);
                Value::Bool(a.iter().skip(1).any(|x| loose_eq(&first, x)))
            }
            "ne" => Value::Bool(!loose_eq(&v(0), &v(1))),
            "lt" | "le" | "gt" | "ge" => {
                let ord = compare(&v(0), &v(1)).ok_or_else(|| self.err(format!("{name}: incomparable values")))?;
                Value::Bool(match name {
                    "lt" => ord.is_lt(),
                    "le" => ord.is_le(),
                    "gt" => ord.is_gt(),
                    _ => ord.is_ge(),
                })
            }
            "toYaml" | "toYamlPretty" | "mustToYaml" => Value::Str(value::to_yaml(&v(0))),
            "toJson" | "mustToJson" | "toRawJson" | "mustToRawJson" => Value::Str(value::to_json(&v(0))),
            "toPrettyJson" | "mustToPrettyJson" => Value::Str(
                serde_json::from_str::<serde_json::Value>(&value::to_json(&v(0)))
                    .ok()
                    .and_then(|j| serde_json::to_string_pretty(&j).ok())
                    .unwrap_or_default(),
            ),
            "fromYaml" | "fromYamlArray" => {
                let loaded = crate::yaml::load_str(0, &s(0));
                let doc = loaded.documents.first().map(|d| value::from_node(&d.root));
                match (name, doc) {
                    ("fromYamlArray", Some(v @ Value::List(_))) => v,
                    ("fromYamlArray", _) => Value::List(Vec::new()),
                    (_, Some(v @ Value::Map(_))) => v,
                    _ => Value::Map(Map::new()),
                }
            }
            "fromJson" | "mustFromJson" | "fromJsonArray" => serde_json::from_str::<serde_json::Value>(&s(0))
                .map(|j| value::from_json(&j))
                .unwrap_or(Value::Map(Map::new())),
            "toString" => Value::Str(s(0)),
            "toStrings" => Value::List(list_of(&v(0)).iter().map(|x| Value::Str(x.to_text())).collect()),
            "quote" => Value::Str(a.iter().map(|x| format!("{:?}", x.to_text())).collect::<Vec<_>>().join(" ")),
            "squote" => Value::Str(a.iter().map(|x| format!("'{}'", x.to_text())).collect::<Vec<_>>().join(" ")),
            "indent" | "nindent" => {
                let pad = " ".repeat(usize::try_from(int(0)).unwrap_or(0).min(256));
                let text = s(1);
                let body = text.split('\n').map(|l| format!("{pad}{l}")).collect::<Vec<_>>().join("\n");
                Value::Str(if name == "nindent" { format!("\n{body}") } else { body })
            }
            "print" => Value::Str(a.iter().map(Value::to_text).collect::<Vec<_>>().join("")),
            "println" => Value::Str(format!("{}\n", a.iter().map(Value::to_text).collect::<Vec<_>>().join(" "))),
            "printf" => Value::Str(printf(&s(0), a.get(1..).unwrap_or(&[]))),
            "trim" => Value::Str(s(0).trim().to_string()),
            "trimAll" => Value::Str(s(1).trim_matches(|c| s(0).contains(c)).to_string()),
            "trimSuffix" => Value::Str(s(1).strip_suffix(s(0).as_str()).map_or_else(|| s(1), str::to_string)),
            "trimPrefix" => Value::Str(s(1).strip_prefix(s(0).as_str()).map_or_else(|| s(1), str::to_string)),
            "trunc" => {
                let text = s(1);
                let n = int(0);
                let chars: Vec<char> = text.chars().collect();
                let n = usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX).min(chars.len());
                let kept: String = if int(0) >= 0 {
                    chars.iter().take(n).collect()
                } else {
                    chars.iter().skip(chars.len() - n).collect()
                };
                Value::Str(kept)
            }
            "lower" => Value::Str(s(0).to_lowercase()),
            "upper" => Value::Str(s(0).to_uppercase()),
            "title" => Value::Str(
                s(0).split(' ')
                    .map(|w| {
                        let mut c = w.chars();
                        c.next().map_or_else(String::new, |f| f.to_uppercase().collect::<String>() + c.as_str())
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            "replace" => Value::Str(s(2).replace(&s(0), &s(1))),
            "repeat" => Value::Str(s(1).repeat(usize::try_from(int(0)).unwrap_or(0).min(10_000))),
            "substr" => {
                let text: Vec<char> = s(2).chars().collect();
                let start = usize::try_from(int(0)).unwrap_or(0).min(text.len());
                let end = usize::try_from(int(1)).map_or(text.len(), |e| e.min(text.len())).max(start);
                Value::Str(text.get(start..end).unwrap_or(&[]).iter().collect())
            }
            "nospace" => Value::Str(s(0).split_whitespace().collect()),
            "cat" => {
                Value::Str(a.iter().filter(|x| **x != Value::Nil).map(Value::to_text).collect::<Vec<_>>().join(" "))
            }
            "contains" => Value::Bool(s(1).contains(&s(0))),
            "hasPrefix" => Value::Bool(s(1).starts_with(&s(0))),
            "hasSuffix" => Value::Bool(s(1).ends_with(&s(0))),
            "snakecase" | "kebabcase" | "camelcase" => Value::Str(case(&s(0), name)),
            "len" => Value::Int(match v(0) {
                Value::Str(x) => x.len() as i64,
                Value::List(l) => l.len() as i64,
                Value::Map(m) => m.len() as i64,
                _ => 0,
            }),
            "index" => {
                let mut cur = v(0);
                for key in a.iter().skip(1) {
                    cur = match (&cur, key) {
                        (Value::List(l), k) => usize::try_from(k.as_i64().unwrap_or(-1))
                            .ok()
                            .and_then(|i| l.get(i))
                            .cloned()
                            .unwrap_or(Value::Nil),
                        (Value::Map(m), k) => m.get(&k.to_text()).cloned().unwrap_or(Value::Nil),
                        _ => Value::Nil,
                    };
                }
                cur
            }
            "list" | "tuple" => Value::List(a),
            "dict" => {
                let mut m = Map::new();
                for pair in a.chunks(2) {
                    if let [k, val] = pair {
                        m.insert(k.to_text(), val.clone());
                    } else if let [k] = pair {
                        m.insert(k.to_text(), Value::Nil);
                    }
                }
                Value::Map(m)
            }
            // Maps are values here, so `set`/`unset` return the changed map
            // (charts use the result, or discard it with `$_ :=`).
            "set" => {
                let mut m = v(0).as_map().cloned().unwrap_or_default();
                m.insert(s(1), v(2));
                Value::Map(m)
            }
            "unset" => {
                let mut m = v(0).as_map().cloned().unwrap_or_default();
                m.remove(&s(1));
                Value::Map(m)
            }
            "hasKey" => Value::Bool(v(0).as_map().is_some_and(|m| m.contains_key(&s(1)))),
            "get" => v(0).get(&s(1)).cloned().unwrap_or(Value::Str(String::new())),
            "keys" => Value::List(
                a.iter().filter_map(Value::as_map).flat_map(|m| m.keys().cloned().map(Value::Str)).collect(),
            ),
            "values" => Value::List(v(0).as_map().map(|m| m.values().cloned().collect()).unwrap_or_default()),
            "pluck" => Value::List(a.iter().skip(1).filter_map(|m| m.get(&s(0)).cloned()).collect()),
            "pick" | "omit" => {
                let wanted: Vec<String> = a.iter().skip(1).map(Value::to_text).collect();
                let m = v(0).as_map().cloned().unwrap_or_default();
                Value::Map(m.into_iter().filter(|(k, _)| wanted.contains(k) == (name == "pick")).collect())
            }
            "dig" => {
                let n = a.len();
                let (keys, rest) = a.split_at(n.saturating_sub(2));
                let default = rest.first().cloned().unwrap_or(Value::Nil);
                let mut cur = rest.get(1).cloned().unwrap_or(Value::Nil);
                for k in keys {
                    match cur.get(&k.to_text()) {
                        Some(x) => cur = x.clone(),
                        None => return Ok(default),
                    }
                }
                cur
            }
            "merge" | "mustMerge" | "mergeOverwrite" | "mustMergeOverwrite" => {
                let mut base = v(0).as_map().cloned().unwrap_or_default();
                for other in a.iter().skip(1).filter_map(Value::as_map) {
                    if name.ends_with("verwrite") {
                        value::merge_overwrite(&mut base, other);
                    } else {
                        value::merge_missing(&mut base, other);
                    }
                }
                Value::Map(base)
            }
            "deepCopy" | "mustDeepCopy" => v(0),
            "int" | "int64" | "atoi" => Value::Int(int(0)),
            "float64" => Value::Float(a.first().and_then(Value::as_f64).unwrap_or(0.0)),
            "add" => arith(&a, |x, y| x + y, |x, y| x.checked_add(y)),
            "add1" => Value::Int(int(0).saturating_add(1)),
            "sub" => arith(&a, |x, y| x - y, |x, y| x.checked_sub(y)),
            "mul" => arith(&a, |x, y| x * y, |x, y| x.checked_mul(y)),
            "div" => {
                if int(1) == 0 {
                    return Err(self.err("div: division by zero"));
                }
                arith(&a, |x, y| x / y, |x, y| x.checked_div(y))
            }
            "mod" => {
                if int(1) == 0 {
                    return Err(self.err("mod: division by zero"));
                }
                Value::Int(int(0).checked_rem(int(1)).unwrap_or(0))
            }
            "max" => Value::Int(a.iter().filter_map(Value::as_i64).max().unwrap_or(0)),
            "min" => Value::Int(a.iter().filter_map(Value::as_i64).min().unwrap_or(0)),
            "ceil" => Value::Float(a.first().and_then(Value::as_f64).unwrap_or(0.0).ceil()),
            "floor" => Value::Float(a.first().and_then(Value::as_f64).unwrap_or(0.0).floor()),
            "round" => Value::Float(a.first().and_then(Value::as_f64).unwrap_or(0.0).round()),
            "until" => Value::List((0..int(0).clamp(0, 100_000)).map(Value::Int).collect()),
            "untilStep" => {
                let (start, stop, step) = (int(0), int(1), int(2));
                if step == 0 {
                    Value::List(Vec::new())
                } else {
                    let mut out = Vec::new();
                    let mut i = start;
                    while ((step > 0 && i < stop) || (step < 0 && i > stop)) && out.len() < 100_000 {
                        out.push(Value::Int(i));
                        i = i.saturating_add(step);
                    }
                    Value::List(out)
                }
            }
            "seq" => Value::Str((1..=int(0).clamp(0, 100_000)).map(|i| i.to_string()).collect::<Vec<_>>().join(" ")),
            "b64enc" => {
                use base64::Engine;
                Value::Str(base64::engine::general_purpose::STANDARD.encode(s(0)))
            }
            "b64dec" => {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD.decode(s(0)).unwrap_or_default();
                Value::Str(String::from_utf8_lossy(&bytes).into_owned())
            }
            // Digests only feed checksum annotations: one stands for all.
            "sha256sum" | "sha1sum" | "adler32sum" | "md5sum" => {
                use sha2::Digest;
                let digest = sha2::Sha256::digest(s(0).as_bytes());
                Value::Str(digest.iter().map(|b| format!("{b:02x}")).collect())
            }
            "randAlphaNum" | "randAlpha" | "randNumeric" | "randAscii" => {
                Value::Str("x".repeat(usize::try_from(int(0)).unwrap_or(0).min(256)))
            }
            "uuidv4" => Value::Str("00000000-0000-4000-8000-000000000000".into()),
            "now" => Value::Str("1970-01-01T00:00:00Z".into()),
            "date" | "dateInZone" | "htmlDate" => Value::Str("1970-01-01".into()),
            "splitList" => Value::List(s(1).split(s(0).as_str()).map(|x| Value::Str(x.to_string())).collect()),
            "split" => Value::Map(
                s(1).split(s(0).as_str())
                    .enumerate()
                    .map(|(i, x)| (format!("_{i}"), Value::Str(x.to_string())))
                    .collect(),
            ),
            "join" => Value::Str(list_of(&v(1)).iter().map(Value::to_text).collect::<Vec<_>>().join(&s(0))),
            "first" | "mustFirst" => list_of(&v(0)).first().cloned().unwrap_or(Value::Nil),
            "last" | "mustLast" => list_of(&v(0)).last().cloned().unwrap_or(Value::Nil),
            "rest" | "mustRest" => Value::List(list_of(&v(0)).into_iter().skip(1).collect()),
            "initial" | "mustInitial" => {
                let mut l = list_of(&v(0));
                l.pop();
                Value::List(l)
            }
            "append" | "push" | "mustAppend" | "mustPush" => {
                let mut l = list_of(&v(0));
                l.push(v(1));
                Value::List(l)
            }
            "prepend" | "mustPrepend" => {
                let mut l = list_of(&v(0));
                l.insert(0, v(1));
                Value::List(l)
            }
            "concat" => Value::List(a.iter().flat_map(list_of).collect()),
            "reverse" | "mustReverse" => Value::List(list_of(&v(0)).into_iter().rev().collect()),
            "uniq" | "mustUniq" => {
                let mut out: Vec<Value> = Vec::new();
                for x in list_of(&v(0)) {
                    if !out.contains(&x) {
                        out.push(x);
                    }
                }
                Value::List(out)
            }
            "compact" | "mustCompact" => Value::List(list_of(&v(0)).into_iter().filter(Value::truthy).collect()),
            "without" | "mustWithout" => {
                let drop: Vec<Value> = a.iter().skip(1).cloned().collect();
                Value::List(list_of(&v(0)).into_iter().filter(|x| !drop.contains(x)).collect())
            }
            "has" | "mustHas" => Value::Bool(list_of(&v(1)).contains(&v(0))),
            "sortAlpha" => {
                let mut l: Vec<String> = list_of(&v(0)).iter().map(Value::to_text).collect();
                l.sort();
                Value::List(l.into_iter().map(Value::Str).collect())
            }
            "slice" | "mustSlice" => {
                let l = list_of(&v(0));
                let start = usize::try_from(int(1)).unwrap_or(0).min(l.len());
                let end =
                    if a.len() > 2 { usize::try_from(int(2)).unwrap_or(0).min(l.len()) } else { l.len() }.max(start);
                Value::List(l.get(start..end).unwrap_or(&[]).to_vec())
            }
            "kindIs" => Value::Bool(v(1).kind() == s(0) || (s(0) == "int" && v(1).kind() == "int64")),
            "kindOf" => Value::Str(v(0).kind().into()),
            "typeOf" => Value::Str(
                match v(0) {
                    Value::Map(_) => "map[string]interface {}",
                    Value::List(_) => "[]interface {}",
                    other => other.kind(),
                }
                .into(),
            ),
            "typeIs" => Value::Bool(self.func("typeOf", vec![v(1)])?.to_text() == s(0)),
            "regexMatch" | "mustRegexMatch" => {
                let re = self.regex(&s(0))?;
                Value::Bool(re.is_match(&s(1)))
            }
            "regexFind" | "mustRegexFind" => {
                let re = self.regex(&s(0))?;
                Value::Str(re.find(&s(1)).map(|m| m.as_str().to_string()).unwrap_or_default())
            }
            "regexReplaceAll" | "mustRegexReplaceAll" => {
                let re = self.regex(&s(0))?;
                let repl = s(2).replace("${", "$\u{0}{").replace("$\u{0}{", "${");
                Value::Str(re.replace_all(&s(1), repl.as_str()).into_owned())
            }
            "regexReplaceAllLiteral" => {
                let re = self.regex(&s(0))?;
                Value::Str(re.replace_all(&s(1), regex::NoExpand(&s(2))).into_owned())
            }
            "regexSplit" => {
                let re = self.regex(&s(0))?;
                Value::List(re.split(&s(1)).map(|x| Value::Str(x.to_string())).collect())
            }
            // The cluster is not known: version constraints hold, lookups find nothing.
            "semverCompare" => Value::Bool(true),
            "semver" => Value::Map(Map::new()),
            "lookup" => Value::Map(Map::new()),
            "base" => Value::Str(s(0).rsplit('/').next().unwrap_or("").to_string()),
            "dir" => Value::Str(s(0).rsplit_once('/').map_or(".", |(d, _)| d).to_string()),
            "ext" => Value::Str(s(0).rsplit_once('.').map(|(_, e)| format!(".{e}")).unwrap_or_default()),
            "clean" => Value::Str(s(0)),
            "isAbs" => Value::Bool(s(0).starts_with('/')),
            "urlquery" => Value::Str(s(0)),
            "abbrev" => {
                let n = usize::try_from(int(0)).unwrap_or(0);
                let text = s(1);
                Value::Str(if text.chars().count() > n && n > 3 {
                    text.chars().take(n - 3).collect::<String>() + "..."
                } else {
                    text
                })
            }
            "plural" => Value::Str(if int(2) == 1 { s(0) } else { s(1) }),
            "genCA" | "genSelfSignedCert" | "genSignedCert" | "genPrivateKey" | "derivePassword" | "htpasswd"
            | "encryptAES" | "decryptAES" => Value::Map(
                [("Cert".to_string(), Value::Str(String::new())), ("Key".to_string(), Value::Str(String::new()))]
                    .into_iter()
                    .collect(),
            ),
            // A name of the data (flux-operator's `inputs`).
            other if self.data.get(other).is_some() => self.data.get(other).cloned().unwrap_or(Value::Nil),
            other => return Err(self.err(format!("function `{other}` is not supported"))),
        })
    }
}

fn is_method(path: &[String]) -> bool {
    matches!(path.last().map(String::as_str), Some("Has" | "Get" | "Glob" | "Lines" | "AsConfig" | "AsSecrets"))
        && path.len() >= 2
}

/// Helm's built-in methods: the cluster's API versions (built-in groups
/// only: CRDs are not known) and the chart's non-template files (not read).
fn method(path: &[String], args: &[Value]) -> Value {
    match path.last().map(String::as_str) {
        Some("Has") => {
            let api = args.first().map(Value::to_text).unwrap_or_default();
            let group = api.rsplit_once('/').map_or("", |(g, _)| g);
            Value::Bool(!group.contains('.') || group.ends_with(".k8s.io"))
        }
        Some("Glob") => Value::Map(Map::new()),
        Some("Lines") => Value::List(Vec::new()),
        _ => Value::Str(String::new()),
    }
}

fn fields_of(v: &Value, fields: &[String]) -> Value {
    let mut cur = v;
    for f in fields {
        match cur.get(f) {
            Some(next) => cur = next,
            None => return Value::Nil,
        }
    }
    cur.clone()
}

fn list_of(v: &Value) -> Vec<Value> {
    match v {
        Value::List(l) => l.clone(),
        Value::Nil => Vec::new(),
        other => vec![other.clone()],
    }
}

fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => a.as_f64() == b.as_f64(),
        (Value::Nil, Value::Str(s)) | (Value::Str(s), Value::Nil) => s.is_empty(),
        _ => a == b,
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn arith(a: &[Value], float: fn(f64, f64) -> f64, int: fn(i64, i64) -> Option<i64>) -> Value {
    let floats = a.iter().any(|x| matches!(x, Value::Float(f) if f.fract() != 0.0));
    let mut iter = a.iter();
    let Some(first) = iter.next() else { return Value::Int(0) };
    if floats {
        let mut acc = first.as_f64().unwrap_or(0.0);
        for x in iter {
            acc = float(acc, x.as_f64().unwrap_or(0.0));
        }
        return Value::Float(acc);
    }
    let mut acc = first.as_i64().unwrap_or(0);
    for x in iter {
        acc = int(acc, x.as_i64().unwrap_or(0)).unwrap_or(0);
    }
    Value::Int(acc)
}

fn case(text: &str, style: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c == '_' || c == '-' || c == ' ' {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
        } else if c.is_uppercase() && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
            cur.push(c);
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    match style {
        "snakecase" => words.iter().map(|w| w.to_lowercase()).collect::<Vec<_>>().join("_"),
        "kebabcase" => words.iter().map(|w| w.to_lowercase()).collect::<Vec<_>>().join("-"),
        _ => words
            .iter()
            .map(|w| {
                let mut c = w.chars();
                c.next().map_or_else(String::new, |f| f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase())
            })
            .collect(),
    }
}

/// Go's `fmt.Sprintf` for the verbs charts use.
fn printf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        // Flags, width and precision.
        let mut spec = String::new();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_digit() || n == '.' || n == '-' || n == '+' || n == '#' || n == ' ' {
                spec.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let Some(verb) = chars.next() else {
            out.push('%');
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        let precision = spec.split_once('.').and_then(|(_, p)| p.parse::<usize>().ok());
        let text = match verb {
            'd' => arg.as_i64().map_or_else(|| arg.to_text(), |i| i.to_string()),
            'f' | 'F' => format!("{:.*}", precision.unwrap_or(6), arg.as_f64().unwrap_or(0.0)),
            'q' => format!("{:?}", arg.to_text()),
            'x' => arg
                .as_i64()
                .map_or_else(|| arg.to_text().bytes().map(|b| format!("{b:02x}")).collect(), |i| format!("{i:x}")),
            't' => arg.truthy().to_string(),
            _ => arg.to_text(),
        };
        let width = spec.split('.').next().and_then(|w| w.trim_start_matches('-').parse::<usize>().ok()).unwrap_or(0);
        if text.chars().count() < width {
            let pad = " ".repeat(width - text.chars().count());
            if spec.starts_with('-') {
                out.push_str(&text);
                out.push_str(&pad);
            } else {
                out.push_str(&pad);
                out.push_str(&text);
            }
        } else {
            out.push_str(&text);
        }
    }
    for extra in args {
        out.push_str(&format!("%!(EXTRA {})", extra.to_text()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    fn render(src: &str, values: &str) -> String {
        let parsed = parse(src).expect("parses");
        let loaded = crate::yaml::load_str(0, values);
        let dot = loaded.documents.first().map_or(Value::Nil, |d| value::from_node(&d.root));
        let mut exec = Exec::new(&parsed.defines);
        exec.render(&parsed.nodes, &dot).map(|(t, _)| t).unwrap_or_else(|e| format!("ERROR: {}", e.message))
    }

    #[test]
    fn basics() {
        assert_eq!(render("{{ .a }}-{{ .b.c | default \"x\" }}", "a: 1\nb: {}"), "1-x");
        assert_eq!(render("{{ range $i, $v := .l }}{{ $i }}={{ $v }};{{ end }}", "l: [a, b]"), "0=a;1=b;");
        assert_eq!(render("{{ with .m }}{{ .k }}{{ else }}none{{ end }}", "m: {k: v}"), "v");
        assert_eq!(render("{{ if and .a (not .b) }}yes{{ end }}", "a: true\nb: false"), "yes");
        assert_eq!(render("{{ printf \"%s-%d\" .n 3 }}", "n: app"), "app-3");
        assert_eq!(render("{{ define \"n\" }}{{ .x }}!{{ end }}{{ include \"n\" . | upper }}", "x: hi"), "HI!");
        assert_eq!(render("a:\n{{- toYaml .m | nindent 2 }}", "m: {k: v, j: [1]}"), "a:\n  j:\n  - 1\n  k: v");
        assert_eq!(render("{{ $x := 1 }}{{ range .l }}{{ $x = . }}{{ end }}{{ $x }}", "l: [2, 3]"), "3");
        assert_eq!(render("{{ tpl .t . }}", "t: '{{ .n }}'\nn: z"), "z");
        assert!(render("{{ required \"need x\" .x }}", "{}").contains("need x"));
        assert!(render("{{ nosuchfn 1 }}", "{}").contains("not supported"));
    }

    #[test]
    fn bounded() {
        let out = render("{{ define \"r\" }}{{ include \"r\" . }}{{ end }}{{ include \"r\" . }}", "{}");
        assert!(out.starts_with("ERROR"), "{out}");
    }
}
