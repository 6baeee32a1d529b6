//! The CI gate: a baseline of accepted findings, and the files a pull
//! request changed.
//!
//! A baseline is versioned JSON, one entry per accepted finding, sorted so a
//! diff of it reads as the findings that came and went. A finding is matched
//! by its fingerprint (rule, resource identity, what is wrong: never a line
//! or a path), as a multiset: two accepted findings with one fingerprint
//! accept two.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

/// The version of the baseline file format.
pub const BASELINE_VERSION: u64 = 1;

/// The fingerprint a baseline gives the warning that the run modelled only
/// part of the repository (accepting it accepts that warning).
pub const PARTIAL_FINGERPRINT: &str = "partial-model";

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub file: String,
    pub rule: String,
    pub resource: Option<String>,
    pub message: String,
    pub fingerprint: String,
}

impl Entry {
    fn json(&self) -> Value {
        json!({
            "rule": self.rule,
            "resource": self.resource,
            "file": self.file,
            "message": self.message,
            "fingerprint": self.fingerprint,
        })
    }
}

/// A baseline file, read.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    /// As the user gave it (for messages).
    pub path: String,
    pub entries: Vec<Entry>,
}

/// A message cut to one line of at most `max` characters.
pub fn short(message: &str, max: usize) -> String {
    let line = message.lines().next().unwrap_or("").trim();
    // The statement, without its explanation after `: ` (outside backticks).
    let mut inside = false;
    let mut cut = None;
    for (i, c) in line.char_indices() {
        match c {
            '`' => inside = !inside,
            ':' if !inside && i >= 20 && line.get(i..).is_some_and(|rest| rest.starts_with(": ")) => {
                cut = Some(i);
                break;
            }
            _ => {}
        }
    }
    let line = cut.and_then(|i| line.get(..i)).unwrap_or(line);
    if line.chars().count() <= max {
        return line.to_string();
    }
    let cut: String = line.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

/// The baseline file's text for `entries` (sorted here).
pub fn render(entries: &[Entry]) -> String {
    let mut sorted = entries.to_vec();
    sorted.sort();
    let doc = json!({
        "version": BASELINE_VERSION,
        "tool": "lifeboat",
        "comment": "Findings accepted on this repository: `lifeboat check --baseline FILE` reports only the others. Regenerate with `lifeboat baseline --output FILE`.",
        "findings": sorted.iter().map(Entry::json).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

impl Baseline {
    /// Read and check a baseline file.
    pub fn load(path: &Path, shown: &str) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the baseline {shown}: {e}"))?;
        Self::parse(&text, shown)
    }

    pub fn parse(text: &str, shown: &str) -> Result<Baseline, String> {
        let doc: Value =
            serde_json::from_str(text).map_err(|e| format!("the baseline {shown} is not valid JSON: {e}"))?;
        let bad = |what: &str| format!("the baseline {shown} is not a lifeboat baseline: {what}");
        match doc.get("version").and_then(Value::as_u64) {
            Some(BASELINE_VERSION) => {}
            Some(v) => {
                return Err(format!(
                    "the baseline {shown} has version {v}; this lifeboat reads version {BASELINE_VERSION} (regenerate it with `lifeboat baseline --output {shown}`)"
                ))
            }
            None => return Err(bad("no `version`")),
        }
        let list = doc.get("findings").and_then(Value::as_array).ok_or_else(|| bad("no `findings` list"))?;
        let mut entries = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_string);
            let fingerprint =
                text("fingerprint").ok_or_else(|| bad(&format!("entry {} has no `fingerprint`", i + 1)))?;
            entries.push(Entry {
                file: text("file").unwrap_or_default(),
                rule: text("rule").unwrap_or_default(),
                resource: text("resource"),
                message: text("message").unwrap_or_default(),
                fingerprint,
            });
        }
        Ok(Baseline { path: shown.to_string(), entries })
    }

    /// Does it accept the partial-model warning?
    pub fn accepts_partial(&self) -> bool {
        self.entries.iter().any(|e| e.fingerprint == PARTIAL_FINGERPRINT)
    }

    /// Match `fingerprints` (one per finding) against the entries: which
    /// findings the baseline accepts, and the entries nothing matched.
    pub fn matches(&self, fingerprints: &[&str]) -> (Vec<bool>, Vec<Entry>) {
        let mut left: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, e) in self.entries.iter().enumerate() {
            left.entry(e.fingerprint.as_str()).or_default().push(i);
        }
        let accepted: Vec<bool> =
            fingerprints.iter().map(|fp| left.get_mut(fp).and_then(|v| v.pop()).is_some()).collect();
        let mut unmatched: Vec<usize> = left.into_values().flatten().collect();
        unmatched.sort_unstable();
        let stale = unmatched
            .into_iter()
            .filter_map(|i| self.entries.get(i).cloned())
            .filter(|e| e.fingerprint != PARTIAL_FINGERPRINT)
            .collect();
        (accepted, stale)
    }
}

/// The files a change touched, relative to the repository root,
/// `/`-separated; a path that is not on disk was deleted (or renamed away).
#[derive(Debug, Clone, Default)]
pub struct Changed {
    pub files: BTreeSet<String>,
    /// Where the list came from ("git diff --merge-base main", "changed.txt").
    pub source: String,
}

impl Changed {
    /// The directories that held a deleted file: a finding in one of them may
    /// be about what that file held (a ScheduledBackup, say).
    pub fn deleted_dirs(&self, exists: impl Fn(&str) -> bool) -> BTreeSet<String> {
        self.files.iter().filter(|f| !exists(f)).map(|f| parent(f).to_string()).collect()
    }
}

/// The directory part of a `/`-separated relative path (`.` at the top).
pub fn parent(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some((dir, _)) if !dir.is_empty() => dir,
        _ => ".",
    }
}

/// Run git (never anything of the repository: no external diff, no textconv,
/// no fsmonitor hook, no pager) in `dir`; its standard output.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["--no-pager", "-c", "core.fsmonitor=false", "-c", "core.quotepath=false"])
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .output()
        .map_err(|e| format!("--diff-base needs git, which could not be started: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("git {} failed: {}", args.join(" "), err.trim()));
    }
    Ok(out.stdout)
}

fn nul_separated(bytes: &[u8]) -> impl Iterator<Item = String> + '_ {
    bytes.split(|b| *b == 0).filter(|p| !p.is_empty()).map(|p| String::from_utf8_lossy(p).into_owned())
}

/// The files changed since the merge base of `base` and the working tree
/// (committed, staged, unstaged and untracked), relative to `root`.
pub fn changed_since(root: &Path, base: &str) -> Result<Changed, String> {
    if base.starts_with('-') || base.is_empty() {
        return Err(format!("--diff-base: `{base}` is not a git revision"));
    }
    let diff = git(
        root,
        &[
            "diff",
            "--name-only",
            "--no-renames",
            "--relative",
            "--no-ext-diff",
            "--no-textconv",
            "-z",
            "--merge-base",
            base,
            "--",
        ],
    )?;
    let untracked = git(root, &["ls-files", "--others", "--exclude-standard", "-z", "--", "."])?;
    let files = nul_separated(&diff).chain(nul_separated(&untracked)).collect();
    Ok(Changed { files, source: format!("git diff --merge-base {base}") })
}

/// A list of changed files, one a line (blank lines and `#` comments
/// skipped), each relative to `cwd` or absolute, made relative to `root`
/// (both absolute); paths outside the root are dropped.
pub fn changed_from_list(text: &str, cwd: &Path, root: &Path, source: &str) -> Changed {
    let files = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let abs = crate::root::absolute_lexical(&cwd.join(l));
            let abs = parent_canonical(&abs);
            abs.strip_prefix(root).ok().map(|rel| rel.to_string_lossy().replace('\\', "/"))
        })
        .filter(|rel| !rel.is_empty())
        .collect();
    Changed { files, source: source.to_string() }
}

/// `path` with its nearest existing ancestor's symlinks resolved (a deleted
/// file keeps its name below its directory's real path).
fn parent_canonical(path: &Path) -> std::path::PathBuf {
    let mut tail = Vec::new();
    let mut cur = path.to_path_buf();
    loop {
        if let Ok(real) = std::fs::canonicalize(&cur) {
            let mut out = real;
            for part in tail.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (cur.file_name().map(|n| n.to_os_string()), cur.parent().map(Path::to_path_buf)) {
            (Some(name), Some(up)) => {
                tail.push(name);
                cur = up;
            }
            _ => return path.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_cuts_to_one_line() {
        assert_eq!(short("a b\nc", 80), "a b");
        assert_eq!(short("Cluster `a:b` is not archiving WAL: because", 80), "Cluster `a:b` is not archiving WAL");
        assert_eq!(short("abcdef", 4), "abc…");
    }

    #[test]
    fn baseline_round_trip_is_sorted_and_a_multiset() {
        let e = |file: &str, fp: &str| Entry {
            file: file.into(),
            rule: "r".into(),
            resource: None,
            message: "m".into(),
            fingerprint: fp.into(),
        };
        let text = render(&[e("b.yaml", "2"), e("a.yaml", "1"), e("a.yaml", "1")]);
        let b = Baseline::parse(&text, "b.json").unwrap_or_default();
        assert_eq!(b.entries.first().map(|x| x.file.as_str()), Some("a.yaml"));
        let (accepted, stale) = b.matches(&["1", "3", "1", "1"]);
        assert_eq!(accepted, vec![true, false, true, false]);
        assert_eq!(stale.len(), 1);
        assert_eq!(stale.first().map(|x| x.fingerprint.as_str()), Some("2"));
    }

    #[test]
    fn bad_baselines_are_errors() {
        assert!(Baseline::parse("[]", "x").is_err());
        assert!(Baseline::parse(r#"{"version": 2, "findings": []}"#, "x").is_err());
        assert!(Baseline::parse(r#"{"version": 1, "findings": [{}]}"#, "x").is_err());
    }

    #[test]
    fn parents() {
        assert_eq!(parent("a/b/c.yaml"), "a/b");
        assert_eq!(parent("c.yaml"), ".");
    }
}
