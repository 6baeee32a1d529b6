//! `--format concise`: one line per finding, `file:line:col: rule-id message`
//! (as ruff's concise output), and `--statistics`: how many findings each
//! rule has.

use std::collections::BTreeMap;

use super::location;
use crate::Run;

pub fn render(run: &Run) -> String {
    render_with(run, &super::View::default())
}

pub fn render_with(run: &Run, view: &super::View) -> String {
    let mut out = String::new();
    if let Some(p) = run.partial.as_ref().filter(|_| !view.quiet) {
        out.push_str(&format!("warning: {}\n", p.message()));
    }
    for f in &run.findings {
        let l = location(run, f.primary.span);
        let message = f.message.replace('\n', " ");
        out.push_str(&format!("{}:{}:{}: {} [{}] {message}\n", l.file, l.line, l.column, f.rule, f.severity));
    }
    if view.quiet {
        return out;
    }
    out.push_str(&summary(run));
    for line in super::guess_lines(run).into_iter().chain(super::gate_lines(run)) {
        out.push_str(&line);
        out.push('\n');
    }
    for line in super::stale_lines(run) {
        out.push_str(&format!("  no longer occurs: {line}\n"));
    }
    out
}

/// Findings per rule, most first (ties by id), with the rule's severity.
pub fn statistics(run: &Run) -> String {
    let mut counts: BTreeMap<&str, (usize, String)> = BTreeMap::new();
    for f in &run.findings {
        let entry = counts.entry(f.rule).or_insert((0, f.severity.to_string()));
        entry.0 += 1;
    }
    let mut rows: Vec<(&str, usize, String)> = counts.into_iter().map(|(r, (n, s))| (r, n, s)).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let width = rows.iter().map(|r| r.1.to_string().len()).max().unwrap_or(1);
    let id_width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let mut out = String::new();
    if let Some(p) = &run.partial {
        out.push_str(&format!("warning: {}\n", p.message()));
    }
    for (rule, n, severity) in rows {
        out.push_str(&format!("{n:>width$}  {rule:<id_width$}  {severity}\n"));
    }
    out.push_str(&summary(run));
    out
}

fn summary(run: &Run) -> String {
    let n = run.findings.len();
    let word = if n == 1 { "finding" } else { "findings" };
    let unknown = match super::unknown_chart_count(run) {
        0 => String::new(),
        1 => "; 1 Helm release of unknown contents, not judged (`lifeboat inventory` lists it)".to_string(),
        n => format!("; {n} Helm releases of unknown contents, not judged (`lifeboat inventory` lists them)"),
    };
    format!("{n} {word} in {} files ({} resources){unknown}\n", run.file_count(), run.model.resources.len())
}
