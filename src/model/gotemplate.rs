//! A small Go `text/template` evaluator with flux-operator's `<< >>`
//! delimiters, for ResourceSet templates: text, `<< pipeline >>` actions
//! (with `<<-`/`->>` trimming and `<</* comments */>>`), variables
//! (`$x := …`), `range` (with `$i, $v :=` and `else`), `if`/`else if`/
//! `else`, `with`, and the common functions (get, default, printf, quote,
//! squote, lower, upper, trim, replace, toYaml, toJson, eq, ne, not, and,
//! or, hasKey, len, index, join, contains, hasPrefix, hasSuffix, indent,
//! nindent, toString, empty, list, dict). Anything else is an error that
//! says what it could not evaluate: a template is rendered exactly or not
//! at all. A missing field is an error, as flux-operator's
//! `missingkey=error` makes it.

use crate::yaml::{Node, Value};

/// A template value.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Null,
    Bool(bool),
    Str(String),
    Int(i64),
    List(Vec<V>),
    Map(Vec<(String, V)>),
}

impl V {
    pub fn from_node(node: &Node) -> V {
        match &node.value {
            Value::Scalar { .. } if node.is_null() => V::Null,
            Value::Scalar { text, .. } => node.as_bool().map_or_else(|| V::Str(text.clone()), V::Bool),
            Value::Seq(items) => V::List(items.iter().map(V::from_node).collect()),
            Value::Map(entries) => {
                V::Map(entries.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), V::from_node(v)))).collect())
            }
        }
    }

    fn truthy(&self) -> bool {
        match self {
            V::Null => false,
            V::Bool(b) => *b,
            V::Str(s) => !s.is_empty(),
            V::Int(i) => *i != 0,
            V::List(l) => !l.is_empty(),
            V::Map(m) => !m.is_empty(),
        }
    }

    fn get(&self, key: &str) -> Option<&V> {
        match self {
            V::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// How `<< v >>` prints it.
    fn text(&self) -> String {
        match self {
            V::Null => "<no value>".into(),
            V::Bool(b) => b.to_string(),
            V::Str(s) => s.clone(),
            V::Int(i) => i.to_string(),
            V::List(l) => format!("[{}]", l.iter().map(V::text).collect::<Vec<_>>().join(" ")),
            V::Map(m) => {
                format!("map[{}]", m.iter().map(|(k, v)| format!("{k}:{}", v.text())).collect::<Vec<_>>().join(" "))
            }
        }
    }
}

type R<T> = Result<T, String>;

#[derive(Debug, Clone)]
enum Term {
    Var(String, Vec<String>),
    Dot(Vec<String>),
    Ident(String, Vec<String>),
    Lit(V),
    Paren(Box<Pipeline>, Vec<String>),
}

#[derive(Debug, Clone)]
struct Pipeline {
    decl: Vec<String>,
    assign: bool,
    cmds: Vec<Vec<Term>>,
}

#[derive(Debug, Clone)]
enum Item {
    /// Literal text and its offset in the template.
    Text(String, usize),
    Action(Pipeline, usize),
    Range {
        pipe: Pipeline,
        body: Vec<Item>,
        other: Vec<Item>,
    },
    If {
        pipe: Pipeline,
        body: Vec<Item>,
        other: Vec<Item>,
        with: bool,
    },
}

/// A rendered template: the text and, for each piece of it, where in the
/// template it came from: (offset in the output, offset in the template,
/// literal text (maps byte by byte) or an action's output).
#[derive(Debug, Default)]
pub struct Rendered {
    pub text: String,
    pub pieces: Vec<(usize, usize, bool)>,
}

impl Rendered {
    /// The template offset an output offset came from.
    pub fn source_offset(&self, out: usize) -> usize {
        let i = self.pieces.partition_point(|(o, _, _)| *o <= out);
        match i.checked_sub(1).and_then(|i| self.pieces.get(i)) {
            Some((o, s, true)) => s + (out - o),
            Some((_, s, false)) => *s,
            None => 0,
        }
    }
}

/// Render `template` with `dot` as `.` and `inputs`.
pub fn render(template: &str, inputs: &V) -> R<Rendered> {
    let items = parse(template)?;
    let dot = V::Map(vec![("inputs".into(), inputs.clone())]);
    let mut ev = Eval { vars: vec![("$".into(), dot.clone())], inputs, out: Rendered::default(), steps: 0 };
    ev.items(&items, &dot)?;
    Ok(ev.out)
}

// ---- lexing the template into text and actions ----

enum Block {
    Range(Pipeline),
    If(Pipeline, bool),
}

struct Frame {
    block: Block,
    body: Vec<Item>,
    /// Set once `else` is seen: the body so far, and (for `else if`) the
    /// chain's frames are closed by one `end`.
    before_else: Option<Vec<Item>>,
    else_ifs: usize,
}

fn parse(src: &str) -> R<Vec<Item>> {
    let mut top: Vec<Item> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut at = 0;
    let mut trim_next = false;
    fn push(stack: &mut [Frame], top: &mut Vec<Item>, item: Item) {
        match stack.last_mut() {
            Some(f) => f.body.push(item),
            None => top.push(item),
        }
    }
    while at <= src.len() {
        let rest = src.get(at..).unwrap_or("");
        let open = rest.find("<<");
        let mut text = match open {
            Some(i) => rest.get(..i).unwrap_or(""),
            None => rest,
        };
        let mut text_at = at;
        if trim_next {
            let trimmed = text.trim_start();
            text_at += text.len() - trimmed.len();
            text = trimmed;
        }
        let Some(i) = open else {
            if !text.is_empty() {
                push(&mut stack, &mut top, Item::Text(text.to_string(), text_at));
            }
            break;
        };
        let action_start = at + i;
        let inner_start = action_start + 2;
        let after = src.get(inner_start..).unwrap_or("");
        let trim_before = after.starts_with("- ") || after.starts_with("-\n") || after.starts_with("-\t");
        if trim_before {
            text = text.trim_end();
        }
        if !text.is_empty() {
            push(&mut stack, &mut top, Item::Text(text.to_string(), text_at));
        }
        let close = after.find(">>").ok_or_else(|| format!("unclosed action at offset {action_start}"))?;
        let mut inner = after.get(..close).unwrap_or("");
        if trim_before {
            inner = inner.get(1..).unwrap_or("");
        }
        trim_next = inner.ends_with(" -") || inner.ends_with("\n-") || inner.ends_with("\t-");
        if trim_next {
            inner = inner.get(..inner.len() - 1).unwrap_or("");
        }
        at = inner_start + close + 2;
        let inner = inner.trim();
        if inner.starts_with("/*") && inner.ends_with("*/") {
            continue;
        }
        let (word, rest) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
        match word {
            "range" => stack.push(Frame {
                block: Block::Range(pipeline(rest)?),
                body: Vec::new(),
                before_else: None,
                else_ifs: 0,
            }),
            "if" | "with" => stack.push(Frame {
                block: Block::If(pipeline(rest)?, word == "with"),
                body: Vec::new(),
                before_else: None,
                else_ifs: 0,
            }),
            "else" => {
                let f = stack.last_mut().ok_or("`else` outside a block")?;
                let rest = rest.trim();
                if let Some(cond) = rest.strip_prefix("if ") {
                    // `else if c` is `else` then a nested `if c` that the
                    // same `end` closes.
                    f.before_else = Some(std::mem::take(&mut f.body));
                    let depth = f.else_ifs + 1;
                    stack.push(Frame {
                        block: Block::If(pipeline(cond)?, false),
                        body: Vec::new(),
                        before_else: None,
                        else_ifs: depth,
                    });
                } else if rest.is_empty() {
                    f.before_else = Some(std::mem::take(&mut f.body));
                } else {
                    return Err(format!("`else {rest}` is not supported"));
                }
            }
            "end" => loop {
                let f = stack.pop().ok_or("`end` outside a block")?;
                let chained = f.else_ifs > 0;
                let (body, other) = match f.before_else {
                    Some(before) => (before, f.body),
                    None => (f.body, Vec::new()),
                };
                let item = match f.block {
                    Block::Range(pipe) => Item::Range { pipe, body, other },
                    Block::If(pipe, with) => Item::If { pipe, body, other, with },
                };
                push(&mut stack, &mut top, item);
                if !chained {
                    break;
                }
            },
            "define" | "template" | "block" | "break" | "continue" => {
                return Err(format!("`{word}` is not supported"));
            }
            _ => push(&mut stack, &mut top, Item::Action(pipeline(inner)?, action_start)),
        }
    }
    if !stack.is_empty() {
        return Err("a `range`, `if` or `with` has no `end`".into());
    }
    Ok(top)
}

// ---- pipelines ----

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Pipe,
    Open,
    Close,
    Decl,
    Assign,
    Comma,
}

fn tokens(s: &str) -> R<Vec<Tok>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '|' => {
                chars.next();
                out.push(Tok::Pipe);
            }
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                // `(…).field`: the fields stick to the close.
                out.push(Tok::Close);
            }
            ',' => {
                chars.next();
                out.push(Tok::Comma);
            }
            ':' => {
                chars.next();
                if chars.next() != Some('=') {
                    return Err("expected `:=`".into());
                }
                out.push(Tok::Decl);
            }
            '=' => {
                chars.next();
                out.push(Tok::Assign);
            }
            '"' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next().ok_or("unterminated string")? {
                        '\\' => match chars.next().ok_or("unterminated string")? {
                            'n' => text.push('\n'),
                            't' => text.push('\t'),
                            other => text.push(other),
                        },
                        '"' => break,
                        other => text.push(other),
                    }
                }
                out.push(Tok::Str(text));
            }
            '`' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next().ok_or("unterminated raw string")? {
                        '`' => break,
                        other => text.push(other),
                    }
                }
                out.push(Tok::Str(text));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace()
                        || matches!(c, '|' | '(' | ')' | ',' | '"' | '`' | '=')
                        || (c == ':' && word.starts_with('$'))
                    {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(Tok::Word(word));
            }
        }
    }
    Ok(out)
}

fn pipeline(s: &str) -> R<Pipeline> {
    let toks = tokens(s)?;
    let mut pos = 0;
    let p = parse_pipeline(&toks, &mut pos)?;
    if pos != toks.len() {
        return Err(format!("cannot read `{s}`"));
    }
    Ok(p)
}

fn parse_pipeline(toks: &[Tok], pos: &mut usize) -> R<Pipeline> {
    let mut decl = Vec::new();
    let mut assign = false;
    // `$a := …`, `$i, $v := …`, `$a = …`
    let mut look = *pos;
    let mut names = Vec::new();
    while let Some(Tok::Word(w)) = toks.get(look) {
        if !w.starts_with('$') || w.contains('.') {
            break;
        }
        names.push(w.clone());
        look += 1;
        match toks.get(look) {
            Some(Tok::Comma) => look += 1,
            Some(Tok::Decl) | Some(Tok::Assign) => {
                assign = toks.get(look) == Some(&Tok::Assign);
                decl = std::mem::take(&mut names);
                *pos = look + 1;
                break;
            }
            _ => break,
        }
    }
    let mut cmds = Vec::new();
    let mut cmd = Vec::new();
    while let Some(t) = toks.get(*pos) {
        match t {
            Tok::Pipe => {
                *pos += 1;
                if cmd.is_empty() {
                    return Err("empty command in a pipeline".into());
                }
                cmds.push(std::mem::take(&mut cmd));
            }
            Tok::Close => break,
            Tok::Open => {
                *pos += 1;
                let inner = parse_pipeline(toks, pos)?;
                if toks.get(*pos) != Some(&Tok::Close) {
                    return Err("unclosed `(`".into());
                }
                *pos += 1;
                let mut fields = Vec::new();
                if let Some(Tok::Word(w)) = toks.get(*pos) {
                    if w.starts_with('.') {
                        fields = w.split('.').filter(|f| !f.is_empty()).map(str::to_string).collect();
                        *pos += 1;
                    }
                }
                cmd.push(Term::Paren(Box::new(inner), fields));
            }
            Tok::Str(s) => {
                *pos += 1;
                cmd.push(Term::Lit(V::Str(s.clone())));
            }
            Tok::Word(w) => {
                *pos += 1;
                cmd.push(term(w)?);
            }
            Tok::Comma | Tok::Decl | Tok::Assign => return Err("unexpected `,`, `:=` or `=`".into()),
        }
    }
    if !cmd.is_empty() {
        cmds.push(cmd);
    }
    if cmds.is_empty() {
        return Err("empty pipeline".into());
    }
    Ok(Pipeline { decl, assign, cmds })
}

fn term(w: &str) -> R<Term> {
    let fields = |s: &str| s.split('.').filter(|f| !f.is_empty()).map(str::to_string).collect::<Vec<_>>();
    if let Some(var) = w.strip_prefix('$') {
        let (name, rest) = var.split_once('.').map_or((var, ""), |(n, r)| (n, r));
        return Ok(Term::Var(format!("${name}"), fields(rest)));
    }
    if w.starts_with('.') {
        return Ok(Term::Dot(fields(w)));
    }
    match w {
        "true" => return Ok(Term::Lit(V::Bool(true))),
        "false" => return Ok(Term::Lit(V::Bool(false))),
        "nil" => return Ok(Term::Lit(V::Null)),
        _ => {}
    }
    if let Ok(i) = w.parse::<i64>() {
        return Ok(Term::Lit(V::Int(i)));
    }
    if w.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') {
        let (name, rest) = w.split_once('.').map_or((w, ""), |(n, r)| (n, r));
        return Ok(Term::Ident(name.to_string(), fields(rest)));
    }
    Err(format!("cannot read `{w}`"))
}

// ---- evaluation ----

/// Bound on loop iterations and output size, so a template cannot run away.
const MAX_STEPS: usize = 100_000;
const MAX_OUTPUT: usize = 8 << 20;

struct Eval<'a> {
    vars: Vec<(String, V)>,
    inputs: &'a V,
    out: Rendered,
    steps: usize,
}

impl Eval<'_> {
    fn emit(&mut self, text: &str, src: usize, literal: bool) -> R<()> {
        if text.is_empty() {
            return Ok(());
        }
        self.out.pieces.push((self.out.text.len(), src, literal));
        self.out.text.push_str(text);
        if self.out.text.len() > MAX_OUTPUT {
            return Err("the template renders more than 8 MiB".into());
        }
        Ok(())
    }

    fn items(&mut self, items: &[Item], dot: &V) -> R<()> {
        for item in items {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return Err("the template runs too long".into());
            }
            match item {
                Item::Text(t, at) => self.emit(t, *at, true)?,
                Item::Action(p, at) => {
                    let v = self.pipeline(p, dot)?;
                    if p.decl.is_empty() {
                        self.emit(&v.text(), *at, false)?;
                    }
                }
                Item::If { pipe, body, other, with } => {
                    let mark = self.vars.len();
                    let v = self.pipeline(pipe, dot)?;
                    if v.truthy() {
                        let inner = if *with { v } else { dot.clone() };
                        self.items(body, &inner)?;
                    } else {
                        self.items(other, dot)?;
                    }
                    self.vars.truncate(mark);
                }
                Item::Range { pipe, body, other } => {
                    let mark = self.vars.len();
                    let mut p = pipe.clone();
                    let names = std::mem::take(&mut p.decl);
                    let v = self.pipeline(&p, dot)?;
                    let pairs: Vec<(V, V)> = match v {
                        V::List(l) => l.into_iter().enumerate().map(|(i, x)| (V::Int(i as i64), x)).collect(),
                        V::Map(mut m) => {
                            m.sort_by(|a, b| a.0.cmp(&b.0));
                            m.into_iter().map(|(k, x)| (V::Str(k), x)).collect()
                        }
                        V::Int(n) if n > MAX_STEPS as i64 => return Err(format!("range over {n} is too long")),
                        V::Int(n) => (0..n.max(0)).map(|i| (V::Int(i), V::Int(i))).collect(),
                        V::Null => Vec::new(),
                        other => return Err(format!("cannot range over {}", other.text())),
                    };
                    if pairs.is_empty() {
                        self.items(other, dot)?;
                    }
                    for (k, x) in pairs {
                        match names.as_slice() {
                            [] => {}
                            [v] => self.vars.push((v.clone(), x.clone())),
                            [i, v] => {
                                self.vars.push((i.clone(), k));
                                self.vars.push((v.clone(), x.clone()));
                            }
                            _ => return Err("range declares at most two variables".into()),
                        }
                        self.items(body, &x)?;
                        self.vars.truncate(mark);
                    }
                }
            }
        }
        Ok(())
    }

    fn var(&self, name: &str) -> R<V> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or(format!("undefined variable {name}"))
    }

    fn pipeline(&mut self, p: &Pipeline, dot: &V) -> R<V> {
        let mut last: Option<V> = None;
        for cmd in &p.cmds {
            last = Some(self.command(cmd, dot, last)?);
        }
        let v = last.unwrap_or(V::Null);
        match p.decl.as_slice() {
            [] => {}
            [name] if p.assign => match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = v.clone(),
                None => return Err(format!("undefined variable {name}")),
            },
            [name] => self.vars.push((name.clone(), v.clone())),
            _ => return Err("only `range` declares two variables".into()),
        }
        Ok(v)
    }

    fn command(&mut self, cmd: &[Term], dot: &V, piped: Option<V>) -> R<V> {
        let Some((first, args)) = cmd.split_first() else { return Err("empty command".into()) };
        if let Term::Ident(name, fields) = first {
            if name == "inputs" {
                if !args.is_empty() || piped.is_some() {
                    return Err("`inputs` takes no arguments".into());
                }
                return walk(self.inputs.clone(), fields);
            }
            let mut values = Vec::with_capacity(args.len() + 1);
            for a in args {
                values.push(self.term(a, dot)?);
            }
            values.extend(piped);
            let v = call(name, values)?;
            return walk(v, fields);
        }
        if !args.is_empty() || piped.is_some() {
            return Err("a value cannot be called with arguments".into());
        }
        self.term(first, dot)
    }

    fn term(&mut self, t: &Term, dot: &V) -> R<V> {
        match t {
            Term::Var(name, fields) => walk(self.var(name)?, fields),
            Term::Dot(fields) => walk(dot.clone(), fields),
            Term::Lit(v) => Ok(v.clone()),
            Term::Ident(name, fields) if name == "inputs" => walk(self.inputs.clone(), fields),
            Term::Ident(name, fields) => walk(call(name, Vec::new())?, fields),
            Term::Paren(p, fields) => {
                let v = self.pipeline(p, dot)?;
                walk(v, fields)
            }
        }
    }
}

fn walk(mut v: V, fields: &[String]) -> R<V> {
    for f in fields {
        v = match v.get(f) {
            Some(x) => x.clone(),
            None => return Err(format!("no field `{f}` (map has no such key)")),
        };
    }
    Ok(v)
}

fn s(v: &V) -> String {
    match v {
        V::Null => String::new(),
        other => other.text(),
    }
}

fn int(v: &V) -> R<i64> {
    match v {
        V::Int(i) => Ok(*i),
        V::Str(t) => t.trim().parse().map_err(|_| format!("`{t}` is not a number")),
        V::Bool(b) => Ok(i64::from(*b)),
        _ => Err("not a number".into()),
    }
}

fn loose_eq(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::Int(x), V::Str(y)) | (V::Str(y), V::Int(x)) => y.parse::<i64>().ok() == Some(*x),
        _ => a == b,
    }
}

fn call(name: &str, args: Vec<V>) -> R<V> {
    let arity = |n: usize| if args.len() == n { Ok(()) } else { Err(format!("`{name}` takes {n} arguments")) };
    let a = |i: usize| args.get(i).cloned().unwrap_or(V::Null);
    Ok(match name {
        "get" => {
            arity(2)?;
            a(0).get(&s(&a(1))).cloned().unwrap_or(V::Str(String::new()))
        }
        "hasKey" => {
            arity(2)?;
            V::Bool(a(0).get(&s(&a(1))).is_some())
        }
        "default" => {
            arity(2)?;
            if a(1).truthy() {
                a(1)
            } else {
                a(0)
            }
        }
        "empty" => {
            arity(1)?;
            V::Bool(!a(0).truthy())
        }
        "printf" => {
            let fmt = s(&a(0));
            V::Str(printf(&fmt, args.get(1..).unwrap_or(&[]))?)
        }
        "print" => V::Str(args.iter().map(s).collect::<Vec<_>>().join("")),
        "quote" => V::Str(args.iter().map(|v| format!("{:?}", s(v))).collect::<Vec<_>>().join(" ")),
        "squote" => V::Str(args.iter().map(|v| format!("'{}'", s(v))).collect::<Vec<_>>().join(" ")),
        "lower" => {
            arity(1)?;
            V::Str(s(&a(0)).to_lowercase())
        }
        "upper" => {
            arity(1)?;
            V::Str(s(&a(0)).to_uppercase())
        }
        "trim" => {
            arity(1)?;
            V::Str(s(&a(0)).trim().to_string())
        }
        "trimPrefix" => {
            arity(2)?;
            let t = s(&a(1));
            V::Str(t.strip_prefix(s(&a(0)).as_str()).unwrap_or(&t).to_string())
        }
        "trimSuffix" => {
            arity(2)?;
            let t = s(&a(1));
            V::Str(t.strip_suffix(s(&a(0)).as_str()).unwrap_or(&t).to_string())
        }
        "replace" => {
            arity(3)?;
            V::Str(s(&a(2)).replace(&s(&a(0)), &s(&a(1))))
        }
        "contains" => {
            arity(2)?;
            V::Bool(s(&a(1)).contains(&s(&a(0))))
        }
        "hasPrefix" => {
            arity(2)?;
            V::Bool(s(&a(1)).starts_with(&s(&a(0))))
        }
        "hasSuffix" => {
            arity(2)?;
            V::Bool(s(&a(1)).ends_with(&s(&a(0))))
        }
        "toString" => {
            arity(1)?;
            V::Str(s(&a(0)))
        }
        "int" | "atoi" => {
            arity(1)?;
            V::Int(int(&a(0))?)
        }
        "eq" => {
            let first = a(0);
            V::Bool(args.len() >= 2 && args.iter().skip(1).any(|x| loose_eq(&first, x)))
        }
        "ne" => {
            arity(2)?;
            V::Bool(!loose_eq(&a(0), &a(1)))
        }
        "not" => {
            arity(1)?;
            V::Bool(!a(0).truthy())
        }
        "and" => args.iter().find(|v| !v.truthy()).or(args.last()).cloned().unwrap_or(V::Null),
        "or" => args.iter().find(|v| v.truthy()).or(args.last()).cloned().unwrap_or(V::Null),
        "len" => {
            arity(1)?;
            V::Int(match a(0) {
                V::List(l) => l.len(),
                V::Map(m) => m.len(),
                V::Str(t) => t.len(),
                V::Null => 0,
                _ => return Err("`len` of a value with no length".into()),
            } as i64)
        }
        "index" => {
            let mut v = a(0);
            for k in args.iter().skip(1) {
                v = match (&v, k) {
                    (V::List(l), k) => l.get(usize::try_from(int(k)?).map_err(|_| "negative index")?).cloned(),
                    (V::Map(_), k) => v.get(&s(k)).cloned(),
                    _ => None,
                }
                .unwrap_or(V::Null);
            }
            v
        }
        "join" => {
            arity(2)?;
            match a(1) {
                V::List(l) => V::Str(l.iter().map(s).collect::<Vec<_>>().join(&s(&a(0)))),
                other => V::Str(s(&other)),
            }
        }
        "list" => V::List(args),
        "dict" => {
            let mut m = Vec::new();
            for pair in args.chunks(2) {
                let k = pair.first().map(s).unwrap_or_default();
                m.push((k, pair.get(1).cloned().unwrap_or(V::Null)));
            }
            V::Map(m)
        }
        "indent" | "nindent" => {
            arity(2)?;
            let pad = " ".repeat(usize::try_from(int(&a(0))?).unwrap_or(0).min(256));
            let body = s(&a(1)).lines().map(|l| format!("{pad}{l}")).collect::<Vec<_>>().join("\n");
            V::Str(if name == "nindent" { format!("\n{body}") } else { body })
        }
        "toYaml" => {
            arity(1)?;
            let mut out = String::new();
            yaml(&a(0), 0, &mut out);
            V::Str(out.trim_end().to_string())
        }
        "toJson" => {
            arity(1)?;
            V::Str(json(&a(0)))
        }
        other => return Err(format!("function `{other}` is not supported")),
    })
}

fn printf(fmt: &str, args: &[V]) -> R<String> {
    let mut out = String::new();
    let mut next = args.iter();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('s') | Some('v') => out.push_str(&s(next.next().unwrap_or(&V::Null))),
            Some('d') => out.push_str(&int(next.next().unwrap_or(&V::Null))?.to_string()),
            Some('q') => out.push_str(&format!("{:?}", s(next.next().unwrap_or(&V::Null)))),
            other => return Err(format!("printf verb `%{}` is not supported", other.unwrap_or(' '))),
        }
    }
    Ok(out)
}

fn scalar_yaml(t: &str) -> String {
    let plain = !t.is_empty()
        && !t.starts_with(|c: char| c.is_whitespace() || "-?:,[]{}#&*!|>'\"%@`".contains(c))
        && !t.ends_with(char::is_whitespace)
        && !t.contains(": ")
        && !t.contains(" #")
        && !t.contains('\n')
        && !matches!(t, "true" | "false" | "null" | "~" | "yes" | "no" | "on" | "off")
        && t.parse::<f64>().is_err();
    if plain {
        t.to_string()
    } else {
        format!("{t:?}")
    }
}

fn yaml(v: &V, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        V::Map(m) if !m.is_empty() => {
            for (k, x) in m {
                match x {
                    V::Map(inner) if !inner.is_empty() => {
                        out.push_str(&format!("{pad}{}:\n", scalar_yaml(k)));
                        yaml(x, indent + 2, out);
                    }
                    V::List(inner) if !inner.is_empty() => {
                        out.push_str(&format!("{pad}{}:\n", scalar_yaml(k)));
                        yaml(x, indent, out);
                    }
                    _ => {
                        let mut one = String::new();
                        yaml(x, 0, &mut one);
                        out.push_str(&format!("{pad}{}: {}\n", scalar_yaml(k), one.trim_end()));
                    }
                }
            }
        }
        V::List(l) if !l.is_empty() => {
            for x in l {
                let mut one = String::new();
                yaml(x, indent + 2, &mut one);
                let body = one.get(indent + 2..).unwrap_or(one.trim_start());
                out.push_str(&format!("{pad}- {body}"));
                if !body.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
        V::Map(_) => out.push_str("{}\n"),
        V::List(_) => out.push_str("[]\n"),
        V::Null => out.push_str("null\n"),
        V::Bool(b) => out.push_str(&format!("{b}\n")),
        V::Int(i) => out.push_str(&format!("{i}\n")),
        V::Str(t) => out.push_str(&format!("{}\n", scalar_yaml(t))),
    }
}

fn json(v: &V) -> String {
    match v {
        V::Null => "null".into(),
        V::Bool(b) => b.to_string(),
        V::Int(i) => i.to_string(),
        V::Str(t) => serde_json::Value::String(t.clone()).to_string(),
        V::List(l) => format!("[{}]", l.iter().map(json).collect::<Vec<_>>().join(",")),
        V::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, x)| format!("{}:{}", serde_json::Value::String(k.clone()), json(x)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> V {
        let loaded = crate::yaml::load_str(
            0,
            "defaults: {suffix: config, user: \"1001\"}\napps:\n  - app: sonarr\n  - app: plex\n    suffix: data\n    namespace: media\n",
        );
        loaded.documents.first().map(|d| V::from_node(&d.root)).unwrap_or(V::Null)
    }

    fn r(t: &str) -> R<String> {
        render(t, &inputs()).map(|x| x.text)
    }

    #[test]
    fn range_get_default_printf() {
        let t = "<<- range $app := inputs.apps >>\n---\nname: << printf \"%s-%s\" $app.app (get $app \"suffix\" | default inputs.defaults.suffix) >>\nns: << get $app \"namespace\" | default \"default\" >>\n<<- end >>\n";
        assert_eq!(r(t).as_deref(), Ok("\n---\nname: sonarr-config\nns: default\n---\nname: plex-data\nns: media\n"));
    }

    #[test]
    fn if_else_with_quote_upper_and_comments() {
        let t = "<</* c */>><< range $i, $a := inputs.apps >><< if eq $a.app \"plex\" >><< $a.app | upper | quote >><< else >><< $i >><< end >>,<< end >>";
        assert_eq!(r(t).as_deref(), Ok("0,\"PLEX\","));
        assert_eq!(r("<< with inputs.defaults >><< .user >><< end >>").as_deref(), Ok("1001"));
        assert_eq!(r("<< inputs.defaults | toYaml >>").as_deref(), Ok("suffix: config\nuser: \"1001\""));
    }

    #[test]
    fn what_it_cannot_evaluate_is_an_error() {
        assert!(r("<< inputs.missing >>").is_err(), "missingkey=error");
        assert!(r("<< sha256sum inputs.defaults.user >>").is_err());
        assert!(r("<< range inputs.apps >>").is_err(), "no end");
        assert!(r("<< template \"x\" >>").is_err());
        assert!(r("<< range 1000000000000 >>x<< end >>").is_err(), "bounded");
        assert!(r("<< range $i := 100000 >><< $i >><< end >>").is_err(), "bounded output or steps");
    }

    #[test]
    fn output_maps_back_to_the_template() {
        let t = "a: << inputs.defaults.user >>\nb: c\n";
        let out = render(t, &inputs()).expect("renders");
        assert_eq!(out.text, "a: 1001\nb: c\n");
        let b = out.text.find("b: c").expect("b");
        assert_eq!(out.source_offset(b), t.find("b: c").expect("b in template"));
        assert_eq!(out.source_offset(3), 3, "an action's output maps to the action");
    }
}
