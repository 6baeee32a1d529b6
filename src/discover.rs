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

/// The paths to walk, each once: a path that names the same file or
/// directory as an earlier one (`repo`, `./repo`, `/abs/repo`), or lies
/// inside another one, is dropped, so no file is read twice. Paths that do
/// not exist stay (discovery reports them).
pub fn distinct_roots(paths: &[PathBuf]) -> Vec<PathBuf> {
    let canonical: Vec<Option<PathBuf>> = paths.iter().map(|p| std::fs::canonicalize(p).ok()).collect();
    let mut kept = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let Some(Some(me)) = canonical.get(i) else {
            kept.push(path.clone());
            continue;
        };
        let covered = canonical.iter().enumerate().any(|(j, other)| {
            let Some(other) = other.as_ref().filter(|_| j != i) else { return false };
            let same = me == other && j < i;
            let inside = me != other && me.starts_with(other) && paths.get(j).is_some_and(|p| p.is_dir());
            same || inside
        });
        if !covered {
            kept.push(path.clone());
        }
    }
    kept
}

/// Why a path a kustomization, Flux or Argo CD names was not read, when it
/// is on disk: a symlink, not a regular file, outside `roots`, unreadable,
/// left out by discovery (`skipped`), or ignored by the walk (`.gitignore`,
/// a hidden path). `None` when nothing is there.
pub fn why_not_read(path: &Path, roots: &[PathBuf], skipped: &[(PathBuf, &'static str)]) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if meta.file_type().is_symlink() {
        return Some("a symlink (lifeboat never follows symlinks)".into());
    }
    if !meta.is_file() && !meta.is_dir() {
        return Some("not a regular file (a FIFO, socket or device)".into());
    }
    let canonical = std::fs::canonicalize(path).ok()?;
    let inside = roots.iter().filter_map(|r| std::fs::canonicalize(r).ok()).any(|r| canonical.starts_with(r));
    if !inside {
        return Some("outside the paths checked".into());
    }
    let readable = if meta.is_dir() { std::fs::read_dir(path).is_ok() } else { std::fs::File::open(path).is_ok() };
    if !readable {
        return Some("unreadable (permission denied or an I/O error)".into());
    }
    if let Some((_, why)) = skipped.iter().find(|(p, _)| std::fs::canonicalize(p).is_ok_and(|p| p == canonical)) {
        return Some((*why).to_string());
    }
    if meta.is_dir() {
        return Some("a directory holding no YAML file lifeboat read (ignored, hidden, symlinked or not .yaml)".into());
    }
    if !is_yaml(path) {
        return Some("not a .yaml or .yml file".into());
    }
    Some("ignored by the walk (.gitignore, .ignore or a hidden path)".into())
}

/// Walk `roots`. `ignore` globs match paths relative to `base` (the config
/// file's directory).
pub fn discover(roots: &[PathBuf], base: &Path, ignore: &GlobSet) -> Result<Discovered, String> {
    let mut out = Discovered::default();
    for root in &distinct_roots(roots) {
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
            let entry = match entry {
                Ok(entry) => entry,
                // An unreadable directory below the root: said, not fatal.
                Err(e) if entry_path(&e).is_some() => {
                    out.skipped
                        .push((entry_path(&e).unwrap_or_default(), "unreadable (permission denied or an I/O error)"));
                    continue;
                }
                Err(e) => return Err(format!("cannot read {}: {e}", root.display())),
            };
            let kind = entry.file_type();
            let path = entry.into_path();
            if !is_yaml(&path) {
                continue;
            }
            if kind.is_some_and(|t| t.is_symlink()) {
                out.skipped.push((path, "a symlink (lifeboat never follows symlinks)"));
                continue;
            }
            if !kind.is_some_and(|t| t.is_file()) {
                if !kind.is_some_and(|t| t.is_dir()) {
                    out.skipped.push((path, "not a regular file (a FIFO, socket or device)"));
                }
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

/// The path an error of the walk is about (an unreadable directory).
fn entry_path(e: &ignore::Error) -> Option<PathBuf> {
    match e {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => entry_path(err),
        _ => None,
    }
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
