//! Find the YAML files to read: walk each path with the `ignore` crate
//! (honours `.gitignore`, skips hidden files and `.git`, never follows a
//! symlink), keep `*.yaml`/`*.yml`, drop `paths.ignore` globs and Helm chart
//! templates (Go templates, not YAML).

use std::path::{Path, PathBuf};

use globset::GlobSet;

/// A file discovery kept, and files it passed over on purpose.
#[derive(Debug, Default)]
pub struct Discovered {
    pub files: Vec<PathBuf>,
    /// Files left out, with the reason (shown with `--verbose`).
    pub skipped: Vec<(PathBuf, &'static str)>,
}

/// Walk `roots`. `ignore` globs match paths relative to `base` (the config
/// file's directory).
pub fn discover(roots: &[PathBuf], base: &Path, ignore: &GlobSet) -> Result<Discovered, String> {
    let mut out = Discovered::default();
    for root in roots {
        if !root.exists() {
            return Err(format!("no such file or directory: {}", root.display()));
        }
        if root.is_file() {
            out.files.push(root.clone());
            continue;
        }
        let walker = ignore::WalkBuilder::new(root)
            .follow_links(false)
            .require_git(false)
            .sort_by_file_name(|a, b| a.cmp(b))
            .build();
        for entry in walker {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", root.display()))?;
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let path = entry.into_path();
            if !is_yaml(&path) {
                continue;
            }
            let relative = path.strip_prefix(base).unwrap_or(&path);
            if ignore.is_match(relative) {
                out.skipped.push((path, "matched paths.ignore"));
            } else if in_chart_templates(&path) {
                out.skipped.push((path, "Helm chart template (not YAML until rendered)"));
            } else {
                out.files.push(path);
            }
        }
    }
    out.files.sort();
    out.files.dedup();
    Ok(out)
}

fn is_yaml(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

/// True for a file under `templates/` of a directory holding `Chart.yaml`.
fn in_chart_templates(path: &Path) -> bool {
    path.ancestors().skip(1).any(|dir| {
        dir.file_name().is_some_and(|n| n == "templates")
            && dir.parent().is_some_and(|chart| chart.join("Chart.yaml").is_file())
    })
}
