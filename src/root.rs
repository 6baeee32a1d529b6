//! The repository root: one directory a run models whatever its arguments.
//!
//! It is the directory of the config the run uses (`--config`, else the
//! nearest `.lifeboat.yaml`/`.lifeboat.yml` upward from the first PATH,
//! searched no higher than the enclosing git work tree), else the enclosing
//! git work tree (a directory holding `.git`; `GIT_CEILING_DIRECTORIES` is
//! honoured as git honours it), else the PATH given (the directory holding
//! it, for a file; the deepest directory holding them all, for several).
//! Nothing runs to find it: the file system is read, git is not started.

use std::path::{Component, Path, PathBuf};

use crate::config::CONFIG_FILE_NAMES;

/// How the root was chosen (said with `--verbose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootSource {
    Config,
    Git,
    Paths,
}

/// The root, the config to use, and the PATH arguments as absolute paths.
#[derive(Debug, Clone)]
pub struct Located {
    /// Absolute.
    pub root: PathBuf,
    /// Absolute; `None`: no config (defaults).
    pub config: Option<PathBuf>,
    pub how: RootSource,
    /// The PATH arguments, absolute (`["<root>"]` when none was given).
    pub paths: Vec<PathBuf>,
}

impl Located {
    /// The PATH arguments relative to the root, `/`-separated (`.` for the
    /// root itself): what the report is restricted to.
    pub fn scope(&self) -> Vec<String> {
        self.paths.iter().map(|p| relative_to(p, &self.root)).collect()
    }
}

/// `path` relative to `root` (both absolute), `/`-separated; `.` for the
/// root itself, and the absolute path when it is not below the root.
pub fn relative_to(path: &Path, root: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".to_string(),
        Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
        Err(_) => path.to_string_lossy().replace('\\', "/"),
    }
}

/// `path` made absolute against the current directory, with `.` and `..`
/// removed lexically (for paths that may not exist: a deleted file).
pub fn absolute_lexical(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// An existing path, absolute and with symlinks of its directories resolved
/// (the path itself is kept when it is a symlink, so it is reported as one).
pub fn absolute_existing(path: &Path) -> PathBuf {
    let abs = absolute_lexical(path);
    let (Some(parent), Some(name)) = (abs.parent(), abs.file_name()) else {
        return std::fs::canonicalize(&abs).unwrap_or(abs);
    };
    match std::fs::canonicalize(parent) {
        Ok(p) => p.join(name),
        Err(_) => abs,
    }
}

/// What is wrong with a PATH argument, if anything: it must be an existing
/// file or directory (not `-`, standard input, a device or a dangling
/// symlink).
pub fn check_path(path: &Path) -> Result<(), String> {
    let shown = path.display();
    if path.as_os_str() == "-" {
        return Err("`-`: lifeboat does not read standard input; give the repository's files or directories".into());
    }
    let text = path.to_string_lossy();
    if text == "/dev/stdin" || text.starts_with("/dev/fd/") || text.starts_with("/proc/self/fd/") {
        return Err(format!(
            "{shown}: lifeboat does not read standard input; give the repository's files or directories"
        ));
    }
    // A redirected standard input or a device resolves into /dev or /proc:
    // not a repository (its directory would be walked as one).
    if std::fs::canonicalize(path).is_ok_and(|c| c.starts_with("/dev") || c.starts_with("/proc")) {
        return Err(format!(
            "{shown} is not a regular file or directory of a repository (a device, a pipe or a process's file)"
        ));
    }
    let Ok(link) = std::fs::symlink_metadata(path) else {
        return Err(format!("no such file or directory: {shown}"));
    };
    match std::fs::metadata(path) {
        Err(_) if link.file_type().is_symlink() => {
            Err(format!("{shown} is a symlink whose target does not exist (a dangling symlink)"))
        }
        Err(e) => Err(format!("cannot read {shown}: {e}")),
        Ok(meta) if !meta.is_file() && !meta.is_dir() => Err(format!(
            "{shown} is not a regular file or directory (lifeboat reads the repository's files, not standard input, a pipe or a device)"
        )),
        Ok(_) => Ok(()),
    }
}

/// The config file in `dir`: `.lifeboat.yaml`, else `.lifeboat.yml`.
pub fn config_in(dir: &Path) -> Option<PathBuf> {
    CONFIG_FILE_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

/// The directories git would not enter looking for a repository
/// (`GIT_CEILING_DIRECTORIES`, `:`-separated absolute paths).
fn ceilings() -> Vec<PathBuf> {
    std::env::var_os("GIT_CEILING_DIRECTORIES")
        .map(|v| std::env::split_paths(&v).filter(|p| p.is_absolute()).map(|p| absolute_lexical(&p)).collect())
        .unwrap_or_default()
}

/// The git work tree holding `dir` (absolute): the nearest directory at or
/// above it holding `.git` (a directory, or a file as in a worktree).
pub fn git_work_tree(dir: &Path) -> Option<PathBuf> {
    let ceilings = ceilings();
    for (i, d) in dir.ancestors().enumerate() {
        if i > 0 && ceilings.iter().any(|c| c == d) {
            return None;
        }
        if d.join(".git").exists() {
            return Some(d.to_path_buf());
        }
    }
    None
}

/// The nearest config at or above `dir`, no higher than `stop`.
fn find_config_upward(dir: &Path, stop: Option<&Path>) -> Option<PathBuf> {
    for d in dir.ancestors() {
        if let Some(c) = config_in(d) {
            return Some(c);
        }
        if stop.is_some_and(|s| s == d) {
            return None;
        }
    }
    None
}

/// The directory a path stands for: itself, or the one holding a file.
fn dir_of(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_else(|| path.to_path_buf())
    }
}

/// The deepest directory holding every one of `dirs`.
fn common_ancestor(dirs: &[PathBuf]) -> PathBuf {
    let mut common = dirs.first().cloned().unwrap_or_default();
    for d in dirs.iter().skip(1) {
        while !d.starts_with(&common) {
            if !common.pop() {
                break;
            }
        }
    }
    common
}

/// Find the root for `paths` (relative to the current directory; none means
/// `.`) and `config` (`--config`: a file, or a directory holding one).
pub fn locate(paths: &[PathBuf], config: Option<&Path>) -> Result<Located, String> {
    let given: Vec<PathBuf> = if paths.is_empty() { vec![PathBuf::from(".")] } else { paths.to_vec() };
    for p in &given {
        check_path(p)?;
    }
    let abs: Vec<PathBuf> = given.iter().map(|p| absolute_existing(p)).collect();
    let first_dir = abs.first().map(|p| dir_of(p)).unwrap_or_default();
    let git = git_work_tree(&first_dir);
    let config = match config {
        Some(c) if c.is_dir() => Some(config_in(c).map(|f| absolute_existing(&f)).ok_or_else(|| {
            format!(
                "no {} in {} (--config takes a file or the directory holding one)",
                CONFIG_FILE_NAMES.join(" or "),
                c.display()
            )
        })?),
        Some(c) if c.is_file() => Some(absolute_existing(c)),
        Some(c) => return Err(format!("config file not found: {}", c.display())),
        None => find_config_upward(&first_dir, git.as_deref()),
    };
    let (root, how) = match (&config, git) {
        (Some(c), _) => (c.parent().map(Path::to_path_buf).unwrap_or_default(), RootSource::Config),
        (None, Some(g)) => (g, RootSource::Git),
        (None, None) => {
            let dirs: Vec<PathBuf> = abs.iter().map(|p| dir_of(p)).collect();
            (common_ancestor(&dirs), RootSource::Paths)
        }
    };
    if let Some(outside) = abs.iter().zip(&given).find(|(a, _)| !a.starts_with(&root)) {
        return Err(format!(
            "{} is outside the repository root {} (the directory of {}); check one repository per run",
            outside.1.display(),
            root.display(),
            match how {
                RootSource::Config => "the config",
                RootSource::Git => "the git work tree",
                RootSource::Paths => "the paths",
            }
        ));
    }
    Ok(Located { root, config, how, paths: abs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_absolute_drops_dots() {
        let p = absolute_lexical(Path::new("/a/./b/../c"));
        assert_eq!(p, PathBuf::from("/a/c"));
    }

    #[test]
    fn common_ancestor_of_siblings() {
        let dirs = [PathBuf::from("/r/apps/a"), PathBuf::from("/r/apps/b/c"), PathBuf::from("/r/apps")];
        assert_eq!(common_ancestor(&dirs), PathBuf::from("/r/apps"));
    }

    #[test]
    fn relative_paths() {
        assert_eq!(relative_to(Path::new("/r"), Path::new("/r")), ".");
        assert_eq!(relative_to(Path::new("/r/a/b.yaml"), Path::new("/r")), "a/b.yaml");
    }
}
