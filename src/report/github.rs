//! `--format github`: workflow commands that GitHub Actions turns into
//! annotations on the pull request.

use super::{location, related_text};
use crate::finding::Severity;
use crate::Run;

fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(run: &Run) -> String {
    let mut out = String::new();
    if let Some(p) = &run.partial {
        out.push_str(&format!(
            "::warning title={}::{}\n",
            escape_property("lifeboat partial model"),
            escape_data(&p.message())
        ));
    }
    for u in &run.model.unrendered {
        let l = location(run, u.span);
        out.push_str(&format!(
            "::warning file={},line={},title={}::{}\n",
            escape_property(&l.file),
            l.line,
            escape_property("lifeboat: ResourceSet not rendered"),
            escape_data(&format!(
                "ResourceSet `{}` is not rendered, so what it generates is not linted: {}",
                u.name, u.why
            ))
        ));
    }
    for f in &run.findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let l = location(run, f.primary.span);
        let mut message = f.message.clone();
        for related in related_text(run, f) {
            message.push_str("\n↳ ");
            message.push_str(&related);
        }
        if let Some(help) = &f.help {
            message.push_str("\n\nhelp: ");
            message.push_str(help);
        }
        // Columns only for a finding on one line: GitHub drops them (or
        // the annotation) otherwise.
        let place = if l.end_line == l.line {
            format!("line={},col={},endColumn={}", l.line, l.column, l.end_column.max(l.column))
        } else {
            format!("line={},endLine={}", l.line, l.end_line)
        };
        out.push_str(&format!(
            "::{level} file={},{place},title={}::{}\n",
            escape_property(&l.file),
            escape_property(&format!("lifeboat {}", f.rule)),
            escape_data(&message)
        ));
    }
    for line in super::guess_lines(run)
        .into_iter()
        .chain(super::gate_lines(run))
        .chain(super::stale_lines(run).into_iter().map(|l| format!("baseline entry no longer occurs: {l}")))
    {
        out.push_str(&format!("::notice title={}::{}\n", escape_property("lifeboat"), escape_data(&line)));
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    out.push_str(&format!(
        "lifeboat: {}, {}, {} in {}\n",
        plural(run.count(Severity::Error), "error"),
        plural(run.count(Severity::Warning), "warning"),
        plural(run.count(Severity::Info), "info"),
        plural(run.file_count(), "file")
    ));
    out
}
