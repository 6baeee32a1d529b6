//! Passwords inside URLs (`scheme://user:password@host/…`): found in any
//! text, masked in every message and snippet lifeboat prints.

use std::ops::Range;

use crate::yaml::{FileId, Pos, Sources, Span};

/// The byte ranges of the passwords of every URL in `text` that carries one
/// (`://user:password@`; a `${VAR}` placeholder is not a password).
pub fn passwords(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text.get(from..).and_then(|t| t.find("://")) {
        let authority_start = from + at + 3;
        let rest = text.get(authority_start..).unwrap_or("");
        let authority_len =
            rest.find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace()).unwrap_or(rest.len());
        let authority = rest.get(..authority_len).unwrap_or("");
        if let Some(userinfo_len) = authority.rfind('@') {
            let userinfo = authority.get(..userinfo_len).unwrap_or("");
            if let Some(colon) = userinfo.find(':') {
                let password = userinfo.get(colon + 1..).unwrap_or("");
                if !password.is_empty() && !password.contains("${") && !password.chars().all(|c| c == '*') {
                    let start = authority_start + colon + 1;
                    out.push(start..start + password.len());
                }
            }
        }
        from = authority_start + authority_len; // past "://": always moves on
    }
    out
}

/// `text` with the password of every URL replaced by `****`.
pub fn mask(text: &str) -> String {
    let ranges = passwords(text);
    if ranges.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for r in ranges {
        out.push_str(text.get(last..r.start).unwrap_or(""));
        out.push_str("****");
        last = r.end;
    }
    out.push_str(text.get(last..).unwrap_or(""));
    out
}

/// The spans of every URL password in the files of `sources` (masked in
/// snippets, whatever holds them: a value, a comment, a broken file).
pub fn spans(sources: &Sources) -> Vec<Span> {
    let mut out = Vec::new();
    for (i, file) in sources.files.iter().enumerate() {
        let Ok(id) = FileId::try_from(i) else { break };
        if !file.text.contains("://") {
            continue;
        }
        for r in passwords(&file.text) {
            out.push(Span { file: id, start: pos(&file.text, r.start), end: pos(&file.text, r.end) });
        }
    }
    out
}

fn pos(text: &str, offset: usize) -> Pos {
    let before = text.get(..offset).unwrap_or("");
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let col = before.get(line_start..).map_or(0, |l| l.chars().count()) + 1;
    Pos::at(offset, u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(col).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_masks_url_passwords() {
        let t = "s3://bucket/x https://user:s3cr%40t@minio:9000/p?x=a@b ftp://anon@h postgres://u:${PASS}@db";
        let found: Vec<&str> = passwords(t).into_iter().filter_map(|r| t.get(r)).collect();
        assert_eq!(found, ["s3cr%40t"]);
        assert_eq!(mask(t), "s3://bucket/x https://user:****@minio:9000/p?x=a@b ftp://anon@h postgres://u:${PASS}@db");
        assert_eq!(mask("a://:p@h b://u:q@h"), "a://:****@h b://u:****@h");
        assert!(passwords("://").is_empty() && passwords("x://").is_empty() && passwords("é://u:é@").len() == 1);
    }
}
