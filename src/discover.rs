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
    /// Files a `.gitattributes` gives a `filter=` (git-crypt, say): their
    /// content may not be what the repository holds in clear.
    pub filtered: std::collections::HashSet<PathBuf>,
    /// Files under a Helm chart's `templates/` (manifests and `_helpers.tpl`):
    /// Go templates, read as text and rendered when a release uses the chart.
    pub templates: Vec<PathBuf>,
    /// Subcharts vendored as archives (`<chart>/charts/<name>.tgz`): read
    /// as if unpacked beside them, as Helm does.
    pub archives: Vec<PathBuf>,
}

/// `.gitattributes` lines that set a `filter`, as (directory, matcher): a
/// pattern without `/` matches a name at any depth below the directory, one
/// with `/` is relative to it.
fn filter_rules(file: &Path) -> Vec<(PathBuf, globset::GlobMatcher)> {
    let Ok(text) = std::fs::read_to_string(file) else { return Vec::new() };
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let mut parts = line.split_whitespace();
            let pattern = parts.next().filter(|p| !p.starts_with('#'))?;
            if !parts.any(|a| a.starts_with("filter=")) {
                return None;
            }
            let trimmed = pattern.trim_start_matches('/');
            let glob = if pattern.contains('/') { trimmed.to_string() } else { format!("**/{trimmed}") };
            let glob = glob.strip_suffix('/').map_or(glob.clone(), |g| format!("{g}/**"));
            globset::Glob::new(&glob).ok().map(|g| (dir.clone(), g.compile_matcher()))
        })
        .collect()
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
        return Some("outside the repository root".into());
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
    let mut attributes: Vec<PathBuf> = Vec::new();
    // `paths.ignore` globs are relative to the config's directory, however
    // the paths were given (relative, absolute, `./`-prefixed).
    let base = crate::root::absolute_lexical(base);
    for root in &distinct_roots(roots) {
        // The repository's own `.gitattributes`, above the path checked.
        let start = if root.is_file() { root.parent().map(Path::to_path_buf) } else { Some(root.clone()) };
        if let Some(abs) = start.and_then(|s| std::path::absolute(s).ok()) {
            attributes.extend(abs.ancestors().take(9).map(|d| d.join(".gitattributes")).filter(|p| p.is_file()));
        }
        if !root.exists() {
            return Err(format!("no such file or directory: {}", root.display()));
        }
        if root.is_file() {
            out.files.push(root.clone());
            continue;
        }
        for entry in walk(root) {
            let (path, kind) = match entry {
                Ok(entry) => entry,
                // An unreadable directory below the root: said, not fatal.
                Err(e) if entry_path(&e).is_some() => {
                    out.skipped
                        .push((entry_path(&e).unwrap_or_default(), "unreadable (permission denied or an I/O error)"));
                    continue;
                }
                Err(e) => return Err(format!("cannot read {}: {e}", root.display())),
            };
            if path.file_name().is_some_and(|n| n == ".gitattributes") {
                attributes.push(path);
                continue;
            }
            let helper = is_helper(&path);
            let archive = is_chart_archive(&path);
            if !is_yaml(&path) && !helper && !archive {
                continue;
            }
            let template = in_chart_templates(&path);
            if helper && !template {
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
            let abs = crate::root::absolute_lexical(&path);
            let relative = abs.strip_prefix(&base).unwrap_or(&path);
            if ignore.is_match(relative) {
                out.skipped.push((path, "matched paths.ignore"));
            } else if archive {
                out.archives.push(path);
            } else if template {
                out.templates.push(path);
            } else {
                out.files.push(path);
            }
        }
    }
    out.files.sort();
    out.files.dedup();
    out.templates.sort();
    out.templates.dedup();
    out.archives.sort();
    out.archives.dedup();
    // The walk skips hidden files: a directory's own `.gitattributes`.
    let dirs: std::collections::BTreeSet<&Path> = out.files.iter().filter_map(|f| f.parent()).collect();
    attributes.extend(dirs.into_iter().map(|d| d.join(".gitattributes")).filter(|p| p.is_file()));
    attributes.sort();
    attributes.dedup();
    let rules: Vec<(PathBuf, globset::GlobMatcher)> = attributes.iter().flat_map(|a| filter_rules(a)).collect();
    if !rules.is_empty() {
        for file in &out.files {
            let abs = std::path::absolute(file).unwrap_or_else(|_| file.clone());
            let matched = rules.iter().any(|(dir, m)| {
                let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
                abs.strip_prefix(&dir).is_ok_and(|rel| m.is_match(rel))
            });
            if matched {
                out.filtered.insert(file.clone());
            }
        }
    }
    Ok(out)
}

/// A path the walk met and its file type, or why it could not go on.
type WalkEntry = Result<(PathBuf, Option<std::fs::FileType>), ignore::Error>;

/// Every entry under `root` the walk does not ignore, with its file type,
/// in path order. The directories are read on every core (a walk is mostly
/// `getdents` and the `.gitignore` lookups of each directory).
fn walk(root: &Path) -> Vec<WalkEntry> {
    let found = std::sync::Mutex::new(Vec::new());
    ignore::WalkBuilder::new(root)
        .follow_links(false)
        .require_git(false)
        .threads(rayon::current_num_threads().clamp(1, 8))
        .build_parallel()
        .run(|| {
            Box::new(|entry| {
                let item = entry.map(|e| {
                    let kind = e.file_type();
                    (e.into_path(), kind)
                });
                if let Ok(mut found) = found.lock() {
                    found.push(item);
                }
                ignore::WalkState::Continue
            })
        });
    let mut found = found.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    // Errors first (one without a path ends the run, as a sequential walk
    // meeting it would), then entries by path.
    found.sort_by(|a, b| match (a, b) {
        (Ok((a, _)), Ok((b, _))) => a.cmp(b),
        (Err(_), Ok(_)) => std::cmp::Ordering::Less,
        (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
        (Err(a), Err(b)) => entry_path(a).cmp(&entry_path(b)),
    });
    found
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

/// A subchart vendored as an archive: `<chart>/charts/<name>.tgz`, beside
/// the parent's `Chart.yaml`.
fn is_chart_archive(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "tgz")
        && path.parent().is_some_and(|charts| {
            charts.file_name().is_some_and(|n| n == "charts")
                && charts.parent().is_some_and(|chart| chart.join("Chart.yaml").is_file())
        })
}

/// A chart's named-template file (`_helpers.tpl`).
fn is_helper(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "tpl")
}

/// True for a file under `templates/` of a directory holding `Chart.yaml`.
fn in_chart_templates(path: &Path) -> bool {
    path.ancestors().skip(1).any(|dir| {
        dir.file_name().is_some_and(|n| n == "templates")
            && dir.parent().is_some_and(|chart| chart.join("Chart.yaml").is_file())
    })
}
