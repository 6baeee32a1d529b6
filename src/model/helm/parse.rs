//! Go's text/template syntax, as Helm charts write it: text, `{{ }}`
//! actions with `-` trim markers and comments, pipelines, variables,
//! `if`/`else if`/`with`/`range`/`define`/`template`/`block`, `break`
//! and `continue`. Every node keeps its byte offset in the template file so
//! rendered objects point back at the template line.

use std::collections::HashMap;

#[derive(Debug, Clone)]
pub enum Node {
    /// Literal text; `start` is its offset in the file.
    Text {
        start: usize,
        text: String,
    },
    Action {
        pos: usize,
        pipe: Pipe,
    },
    If {
        pos: usize,
        pipe: Pipe,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
    With {
        pos: usize,
        pipe: Pipe,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
    Range {
        pos: usize,
        pipe: Pipe,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

#[derive(Debug, Clone, Default)]
pub struct Pipe {
    /// `$x :=` / `$i, $v :=` (declared), or `$x =` (assigned).
    pub vars: Vec<String>,
    pub declare: bool,
    pub cmds: Vec<Cmd>,
}

#[derive(Debug, Clone)]
pub struct Cmd {
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone)]
pub enum Arg {
    /// `.` followed by fields (`.Values.x`); empty for `.` itself.
    Field(Vec<String>),
    /// `$x.a.b` (`$` alone is the name "").
    Var(String, Vec<String>),
    Ident(String),
    /// A function's result and fields after it (`inputs.app`).
    Chain(String, Vec<String>),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    /// `( pipeline )` and the fields after it: `(index . 0).name`.
    Sub(Box<Pipe>, Vec<String>),
}

#[derive(Debug)]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

/// A parsed file: its top-level nodes and the templates it defines.
#[derive(Debug, Default)]
pub struct Parsed {
    pub nodes: Vec<Node>,
    pub defines: HashMap<String, Vec<Node>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Ident(String),
    Chain(String, Vec<String>),
    Str(String),
    Int(i64),
    Float(f64),
    LParen,
    /// `)` and the fields written right after it.
    RParen(Vec<String>),
    Pipe,
    Declare,
    Assign,
    Comma,
}

/// One `{{ … }}` between texts.
struct Action {
    pos: usize,
    toks: Vec<Tok>,
}

enum Piece {
    Text(usize, String),
    Action(Action),
}

pub fn parse(src: &str) -> Result<Parsed, ParseError> {
    parse_with(src, Delims::GO)
}

/// The action delimiters: Go's `{{ }}`, or flux-operator's `<< >>`.
#[derive(Debug, Clone, Copy)]
pub struct Delims {
    pub open: [u8; 2],
    pub close: [u8; 2],
}

impl Delims {
    pub const GO: Delims = Delims { open: *b"{{", close: *b"}}" };
    pub const FLUX_OPERATOR: Delims = Delims { open: *b"<<", close: *b">>" };

    fn open_str(&self) -> &str {
        std::str::from_utf8(&self.open).unwrap_or("{{")
    }
    fn close_str(&self) -> &str {
        std::str::from_utf8(&self.close).unwrap_or("}}")
    }
}

pub fn parse_with(src: &str, delims: Delims) -> Result<Parsed, ParseError> {
    let pieces = split(src, delims)?;
    let mut parser = Parser { pieces, at: 0, defines: HashMap::new() };
    let (nodes, end) = parser.list(&[])?;
    if let Some(end) = end {
        return Err(ParseError { offset: end.1, message: format!("unexpected `{{{{{}}}}}`", end.0) });
    }
    Ok(Parsed { nodes, defines: parser.defines })
}

/// Cut the source into texts and actions, applying trim markers.
fn split(src: &str, d: Delims) -> Result<Vec<Piece>, ParseError> {
    let mut pieces = Vec::new();
    let mut rest_start = 0usize;
    let bytes = src.as_bytes();
    let mut trim_next = false;
    while rest_start <= src.len() {
        let Some(rel) = src.get(rest_start..).and_then(|r| r.find(d.open_str())) else {
            let text = src.get(rest_start..).unwrap_or("");
            let text = if trim_next { text.trim_start() } else { text };
            let start = src.len() - text.len();
            if !text.is_empty() {
                pieces.push(Piece::Text(start, text.to_string()));
            }
            break;
        };
        let open = rest_start + rel;
        let left_trim = bytes.get(open + 2) == Some(&b'-') && bytes.get(open + 3).is_some_and(u8::is_ascii_whitespace);
        let mut text = src.get(rest_start..open).unwrap_or("");
        let mut start = rest_start;
        if trim_next {
            let trimmed = text.trim_start();
            start += text.len() - trimmed.len();
            text = trimmed;
        }
        if left_trim {
            text = text.trim_end();
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(start, text.to_string()));
        }
        let inner_start = if left_trim { open + 3 } else { open + 2 };
        // A comment: `{{/* … */}}`, possibly with trim markers.
        let after = src.get(inner_start..).unwrap_or("");
        let after_ws = after.trim_start();
        if after_ws.starts_with("/*") {
            let comment_start = inner_start + (after.len() - after_ws.len());
            let Some(end_rel) = src.get(comment_start..).and_then(|r| r.find("*/")) else {
                return Err(ParseError { offset: open, message: "unclosed comment".into() });
            };
            let mut close = comment_start + end_rel + 2;
            let tail = src.get(close..).unwrap_or("");
            let tail_ws = tail.trim_start();
            let trimmed_close = format!("-{}", d.close_str());
            let (right_trim, skip) = if let Some(t) = tail_ws.strip_prefix(trimmed_close.as_str()) {
                (true, tail.len() - t.len())
            } else if let Some(t) = tail_ws.strip_prefix(d.close_str()) {
                (false, tail.len() - t.len())
            } else {
                return Err(ParseError { offset: open, message: "comment ends without `}}`".into() });
            };
            close += skip;
            trim_next = right_trim;
            rest_start = close;
            continue;
        }
        let (toks, close, right_trim) =
            lex(src, inner_start, d.close).map_err(|(offset, message)| ParseError { offset, message })?;
        pieces.push(Piece::Action(Action { pos: open, toks }));
        trim_next = right_trim;
        rest_start = close;
    }
    Ok(pieces)
}

/// Tokens of one action from `start` to its `}}`; the offset after it, and
/// whether it ends with ` -}}`.
fn lex(src: &str, start: usize, close: [u8; 2]) -> Result<(Vec<Tok>, usize, bool), (usize, String)> {
    let bytes = src.as_bytes();
    let mut i = start;
    let mut toks = Vec::new();
    loop {
        let Some(&b) = bytes.get(i) else {
            return Err((start, "action without `}}`".into()));
        };
        if b.is_ascii_whitespace() {
            // ` -}}` ends the action, trimming the text after it.
            if bytes.get(i + 1) == Some(&b'-')
                && bytes.get(i + 2) == Some(&close[0])
                && bytes.get(i + 3) == Some(&close[1])
            {
                return Ok((toks, i + 4, true));
            }
            i += 1;
            continue;
        }
        if b == close[0] && bytes.get(i + 1) == Some(&close[1]) {
            return Ok((toks, i + 2, false));
        }
        match b {
            b'(' => {
                toks.push(Tok::LParen);
                i += 1;
            }
            b')' => {
                i += 1;
                let (fields, next) = fields_at(src, i);
                toks.push(Tok::RParen(fields));
                i = next;
            }
            b'|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            b',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            b':' if bytes.get(i + 1) == Some(&b'=') => {
                toks.push(Tok::Declare);
                i += 2;
            }
            b'=' => {
                toks.push(Tok::Assign);
                i += 1;
            }
            b'"' => {
                let (s, next) = quoted(src, i).ok_or((i, "unterminated string".to_string()))?;
                toks.push(Tok::Str(s));
                i = next;
            }
            b'`' => {
                let end =
                    src.get(i + 1..).and_then(|r| r.find('`')).ok_or((i, "unterminated raw string".to_string()))?;
                toks.push(Tok::Str(src.get(i + 1..i + 1 + end).unwrap_or("").to_string()));
                i = i + end + 2;
            }
            b'\'' => {
                // A character constant: its code point as a number.
                let rest = src.get(i + 1..).unwrap_or("");
                let c = rest.chars().next().ok_or((i, "bad character constant".to_string()))?;
                toks.push(Tok::Int(c as i64));
                i += 1 + c.len_utf8();
                if bytes.get(i) == Some(&b'\'') {
                    i += 1;
                }
            }
            b'.' => {
                let (fields, next) = fields_at(src, i);
                if fields.is_empty() {
                    // `.` alone, or a number like `.5`.
                    if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                        let (tok, next) = number(src, i)?;
                        toks.push(tok);
                        i = next;
                    } else {
                        toks.push(Tok::Field(Vec::new()));
                        i += 1;
                    }
                } else {
                    toks.push(Tok::Field(fields));
                    i = next;
                }
            }
            b'$' => {
                let name_end = ident_end(src, i + 1);
                let name = src.get(i + 1..name_end).unwrap_or("").to_string();
                let (fields, next) = fields_at(src, name_end);
                toks.push(Tok::Var(name, fields));
                i = next;
            }
            b'-' | b'+' | b'0'..=b'9' => {
                let (tok, next) = number(src, i)?;
                toks.push(tok);
                i = next;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let end = ident_end(src, i);
                let word = src.get(i..end).unwrap_or("").to_string();
                let (fields, next) = fields_at(src, end);
                if fields.is_empty() {
                    toks.push(Tok::Ident(word));
                    i = end;
                } else {
                    toks.push(Tok::Chain(word, fields));
                    i = next;
                }
            }
            _ => return Err((i, format!("unexpected character `{}`", char::from(b)))),
        }
    }
}

fn ident_end(src: &str, from: usize) -> usize {
    let bytes = src.as_bytes();
    let mut end = from;
    while bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
        end += 1;
    }
    end
}

/// `.a.b.c` from `at`: the names and the offset after them.
fn fields_at(src: &str, at: usize) -> (Vec<String>, usize) {
    let bytes = src.as_bytes();
    let mut fields = Vec::new();
    let mut i = at;
    while bytes.get(i) == Some(&b'.') {
        let end = ident_end(src, i + 1);
        if end == i + 1 {
            break;
        }
        fields.push(src.get(i + 1..end).unwrap_or("").to_string());
        i = end;
    }
    (fields, i)
}

fn quoted(src: &str, at: usize) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = src.get(at + 1..)?.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, at + 1 + i + 1)),
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    '0' => out.push('\0'),
                    'u' => {
                        let hex: String = (0..4).filter_map(|_| chars.next().map(|(_, c)| c)).collect();
                        out.push(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).unwrap_or('?'));
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '\n' => return None,
            c => out.push(c),
        }
    }
    None
}

fn number(src: &str, at: usize) -> Result<(Tok, usize), (usize, String)> {
    let bytes = src.as_bytes();
    let mut end = at;
    if matches!(bytes.get(end), Some(b'-' | b'+')) {
        end += 1;
    }
    while bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_')) {
        end += 1;
    }
    let text = src.get(at..end).unwrap_or("").replace('_', "");
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16)
            .map(|v| (Tok::Int(v), end))
            .map_err(|_| (at, format!("bad number `{text}`")));
    }
    if let Ok(v) = text.parse::<i64>() {
        return Ok((Tok::Int(v), end));
    }
    text.parse::<f64>().map(|v| (Tok::Float(v), end)).map_err(|_| (at, format!("bad number `{text}`")))
}

struct Parser {
    pieces: Vec<Piece>,
    at: usize,
    defines: HashMap<String, Vec<Node>>,
}

/// How a list ended: the keyword (`end`, `else`, …), its offset, and for
/// `else` the tokens after it (`else if …`, `else with …`).
type End = (String, usize, Vec<Tok>);

/// A keyword that ended a list, and its offset.
type Keyword = (String, usize);

impl Parser {
    /// Nodes until one of `ends` (returned) or the end of the file.
    fn list(&mut self, ends: &[&str]) -> Result<(Vec<Node>, Option<Keyword>), ParseError> {
        let (nodes, end) = self.list_full(ends)?;
        Ok((nodes, end.map(|(k, p, _)| (k, p))))
    }

    fn list_full(&mut self, ends: &[&str]) -> Result<(Vec<Node>, Option<End>), ParseError> {
        let mut nodes = Vec::new();
        while let Some(piece) = self.pieces.get_mut(self.at) {
            self.at += 1;
            let action = match piece {
                Piece::Text(start, text) => {
                    nodes.push(Node::Text { start: *start, text: std::mem::take(text) });
                    continue;
                }
                Piece::Action(a) => Action { pos: a.pos, toks: std::mem::take(&mut a.toks) },
            };
            let pos = action.pos;
            let mut toks = action.toks;
            let keyword = match toks.first() {
                Some(Tok::Ident(w)) => w.clone(),
                _ => String::new(),
            };
            if ends.contains(&keyword.as_str()) {
                toks.remove(0);
                return Ok((nodes, Some((keyword, pos, toks))));
            }
            match keyword.as_str() {
                "end" | "else" => return Err(ParseError { offset: pos, message: format!("unexpected `{keyword}`") }),
                "if" | "with" | "range" => {
                    toks.remove(0);
                    nodes.push(self.control(&keyword, pos, toks)?);
                }
                "define" | "block" => {
                    toks.remove(0);
                    let name = match toks.first() {
                        Some(Tok::Str(s)) => s.clone(),
                        _ => return Err(ParseError { offset: pos, message: format!("`{keyword}` needs a name") }),
                    };
                    let (body, end) = self.list(&["end"])?;
                    if end.is_none() {
                        return Err(ParseError { offset: pos, message: format!("`{keyword}` without `end`") });
                    }
                    if keyword == "block" {
                        let rest = toks.get(1..).map(<[Tok]>::to_vec).unwrap_or_default();
                        let pipe = if rest.is_empty() { None } else { Some(pipeline(&rest, pos)?) };
                        nodes.push(Node::Template { pos, name: name.clone(), pipe });
                        self.defines.entry(name).or_insert(body);
                    } else {
                        self.defines.insert(name, body);
                    }
                }
                "template" => {
                    toks.remove(0);
                    let name = match toks.first() {
                        Some(Tok::Str(s)) => s.clone(),
                        _ => return Err(ParseError { offset: pos, message: "`template` needs a name".into() }),
                    };
                    let rest = toks.get(1..).map(<[Tok]>::to_vec).unwrap_or_default();
                    let pipe = if rest.is_empty() { None } else { Some(pipeline(&rest, pos)?) };
                    nodes.push(Node::Template { pos, name, pipe });
                }
                "break" => nodes.push(Node::Break),
                "continue" => nodes.push(Node::Continue),
                _ => nodes.push(Node::Action { pos, pipe: pipeline(&toks, pos)? }),
            }
        }
        Ok((nodes, None))
    }

    /// `if`/`with`/`range` after its keyword: body, `else` (or `else if`),
    /// `end`.
    fn control(&mut self, keyword: &str, pos: usize, toks: Vec<Tok>) -> Result<Node, ParseError> {
        let pipe = pipeline(&toks, pos)?;
        let (then, end) = self.list_full(&["end", "else"])?;
        let Some((which, else_pos, rest)) = end else {
            return Err(ParseError { offset: pos, message: format!("`{keyword}` without `end`") });
        };
        let otherwise = if which == "else" {
            match rest.first() {
                // `else if …` / `else with …`: a nested control that ends
                // with this one's `end`.
                Some(Tok::Ident(k)) if k == "if" || k == "with" => {
                    let k = k.clone();
                    let inner = rest.get(1..).map(<[Tok]>::to_vec).unwrap_or_default();
                    vec![self.control(&k, else_pos, inner)?]
                }
                _ => {
                    let (body, end) = self.list(&["end"])?;
                    if end.is_none() {
                        return Err(ParseError { offset: pos, message: format!("`{keyword}` without `end`") });
                    }
                    body
                }
            }
        } else {
            Vec::new()
        };
        Ok(match keyword {
            "if" => Node::If { pos, pipe, then, otherwise },
            "with" => Node::With { pos, pipe, then, otherwise },
            _ => Node::Range { pos, pipe, body: then, otherwise },
        })
    }
}

/// A pipeline: optional variable declaration, then commands split by `|`.
fn pipeline(toks: &[Tok], pos: usize) -> Result<Pipe, ParseError> {
    let err = |message: &str| ParseError { offset: pos, message: message.to_string() };
    let mut pipe = Pipe::default();
    let mut rest = toks;
    // `$a := …`, `$a, $b := …`, `$a = …`
    let decl_at = rest.iter().position(|t| matches!(t, Tok::Declare | Tok::Assign));
    if let Some(at) = decl_at {
        let head = rest.get(..at).unwrap_or(&[]);
        let vars_only =
            !head.is_empty() && head.iter().all(|t| matches!(t, Tok::Var(_, f) if f.is_empty()) || *t == Tok::Comma);
        if vars_only {
            pipe.vars = head
                .iter()
                .filter_map(|t| match t {
                    Tok::Var(n, _) => Some(n.clone()),
                    _ => None,
                })
                .collect();
            pipe.declare = matches!(rest.get(at), Some(Tok::Declare));
            rest = rest.get(at + 1..).unwrap_or(&[]);
        }
    }
    let mut cmd = Vec::new();
    let mut i = 0;
    while let Some(tok) = rest.get(i) {
        match tok {
            Tok::Pipe => {
                if cmd.is_empty() {
                    return Err(err("empty command in pipeline"));
                }
                pipe.cmds.push(Cmd { args: std::mem::take(&mut cmd) });
                i += 1;
            }
            Tok::LParen => {
                // Find the matching `)`.
                let mut depth = 0usize;
                let mut j = i;
                let mut close = None;
                while let Some(t) = rest.get(j) {
                    match t {
                        Tok::LParen => depth += 1,
                        Tok::RParen(_) => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                close = Some(j);
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                let close = close.ok_or_else(|| err("unclosed `(`"))?;
                let inner = rest.get(i + 1..close).unwrap_or(&[]);
                let fields = match rest.get(close) {
                    Some(Tok::RParen(f)) => f.clone(),
                    _ => Vec::new(),
                };
                cmd.push(Arg::Sub(Box::new(pipeline(inner, pos)?), fields));
                i = close + 1;
            }
            Tok::RParen(_) => return Err(err("unexpected `)`")),
            Tok::Declare | Tok::Assign | Tok::Comma => return Err(err("unexpected `:=`, `=` or `,`")),
            Tok::Field(f) => {
                cmd.push(Arg::Field(f.clone()));
                i += 1;
            }
            Tok::Var(n, f) => {
                cmd.push(Arg::Var(n.clone(), f.clone()));
                i += 1;
            }
            Tok::Ident(w) => {
                cmd.push(match w.as_str() {
                    "true" => Arg::Bool(true),
                    "false" => Arg::Bool(false),
                    "nil" => Arg::Nil,
                    _ => Arg::Ident(w.clone()),
                });
                i += 1;
            }
            Tok::Chain(w, f) => {
                cmd.push(Arg::Chain(w.clone(), f.clone()));
                i += 1;
            }
            Tok::Str(s) => {
                cmd.push(Arg::Str(s.clone()));
                i += 1;
            }
            Tok::Int(v) => {
                cmd.push(Arg::Int(*v));
                i += 1;
            }
            Tok::Float(v) => {
                cmd.push(Arg::Float(*v));
                i += 1;
            }
        }
    }
    if !cmd.is_empty() {
        pipe.cmds.push(Cmd { args: cmd });
    }
    if pipe.cmds.is_empty() && pipe.vars.is_empty() {
        return Err(err("empty action"));
    }
    Ok(pipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_comments() {
        let p = parse("a  {{- /* c */ -}}  b {{ .x }}").expect("parses");
        let texts: Vec<String> = p
            .nodes
            .iter()
            .filter_map(|n| match n {
                Node::Text { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, vec!["a", "b "]);
    }

    #[test]
    fn control_and_defines() {
        let p =
            parse(r#"{{ define "x" }}X{{ end }}{{ if .a }}1{{ else if .b }}2{{ else }}3{{ end }}"#).expect("parses");
        assert!(p.defines.contains_key("x"));
        assert!(
            matches!(p.nodes.first(), Some(Node::If { otherwise, .. }) if matches!(otherwise.first(), Some(Node::If { .. })))
        );
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("ok\n{{ if .a }}never closed").expect_err("fails");
        assert_eq!(e.offset, 3);
        assert!(parse("{{ .a ").is_err());
        assert!(parse("{{ end }}").is_err());
    }

    #[test]
    fn pipelines() {
        let p = parse(r#"{{ $x := (index .a 0).name | default "d" | quote }}"#).expect("parses");
        let Some(Node::Action { pipe, .. }) = p.nodes.first() else { panic!("action") };
        assert_eq!(pipe.vars, vec!["x"]);
        assert_eq!(pipe.cmds.len(), 3);
    }
}
