//! `--format markdown`: a table for a pull-request comment or a job summary.

use super::{location, related_text};
use crate::finding::Severity;
use crate::Run;

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn render(run: &Run) -> String {
    let mut out = String::from("## lifeboat\n\n");
    if let Some(p) = &run.partial {
        out.push_str(&format!("> [!WARNING]\n> {}\n\n", cell(&p.message())));
    }
    for u in &run.model.unrendered {
        let l = location(run, u.span);
        out.push_str(&format!(
            "> [!WARNING]\n> ResourceSet `{}` (`{}:{}`) is not rendered, so what it generates is not linted: {}\n\n",
            u.name,
            l.file,
            l.line,
            cell(&u.why)
        ));
    }
    if run.findings.is_empty() {
        out.push_str("No backup gaps found.\n\n");
    } else {
        out.push_str("| Severity | Rule | Location | Finding |\n|---|---|---|---|\n");
        for f in &run.findings {
            let l = location(run, f.primary.span);
            let mut finding = cell(&f.message);
            for related in related_text(run, f) {
                finding.push_str(&format!("<br>↳ {}", cell(&related)));
            }
            out.push_str(&format!(
                "| {} | [`{}`]({}) | `{}:{}` | {} |\n",
                f.severity,
                f.rule,
                crate::rules::doc_url(f.rule),
                l.file,
                l.line,
                finding
            ));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "{} errors, {} warnings, {} infos; {} suppressed. {} files, {} resources.\n",
        run.count(Severity::Error),
        run.count(Severity::Warning),
        run.count(Severity::Info),
        run.suppressed,
        run.file_count(),
        run.model.resources.len()
    ));
    for line in super::guess_lines(run).into_iter().chain(super::gate_lines(run)) {
        out.push_str(&format!("\n{}\n", cell(&line)));
    }
    let stale = super::stale_lines(run);
    if !stale.is_empty() {
        out.push_str("\n<details><summary>Baseline entries that no longer occur</summary>\n\n");
        for line in stale {
            out.push_str(&format!("- `{}`\n", line.replace('`', "'")));
        }
        out.push_str("\n</details>\n");
    }
    out
}
