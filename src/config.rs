//! `.lifeboat.yaml`: rule severities, exclusions (always with a reason) and
//! ignored paths. Parsed with the span-aware loader so every mistake is
//! reported with its line; an unknown key or rule id is an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher, GlobSet, GlobSetBuilder};

use crate::finding::Severity;
use crate::yaml::{load_str, FileId, Node, Span, Value};

pub const CONFIG_FILE_NAME: &str = ".lifeboat.yaml";

/// The names a config is found by, in order of preference (in one
/// directory, `.lifeboat.yaml` wins over `.lifeboat.yml`).
pub const CONFIG_FILE_NAMES: [&str; 2] = [CONFIG_FILE_NAME, ".lifeboat.yml"];

/// A file id for the config before it joins the run's file table.
const PENDING_FILE: FileId = FileId::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSetting {
    Off,
    Severity(Severity),
}

#[derive(Debug, Clone)]
pub struct Pattern {
    pub text: String,
    matcher: GlobMatcher,
}

impl Pattern {
    fn new(text: &str) -> Result<Self, String> {
        let glob = Glob::new(text).map_err(|e| format!("invalid glob `{text}`: {e}"))?;
        Ok(Pattern { text: text.to_string(), matcher: glob.compile_matcher() })
    }

    pub fn matches(&self, value: &str) -> bool {
        self.matcher.is_match(value)
    }
}

/// One `exclude:` entry.
#[derive(Debug, Clone)]
pub struct Exclusion {
    pub kind: Option<String>,
    pub namespace: Option<Pattern>,
    pub name: Pattern,
    pub reason: Option<String>,
    /// The whole entry, and its `reason:` (or the entry when it has none).
    pub span: Span,
    pub reason_span: Span,
}

impl Exclusion {
    pub fn matches(&self, kind: &str, namespace: Option<&str>, name: &str) -> bool {
        self.kind.as_deref().is_none_or(|k| k == kind)
            && self.namespace.as_ref().is_none_or(|p| p.matches(namespace.unwrap_or("")))
            && self.name.matches(name)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it came from (`None`: defaults).
    pub path: Option<PathBuf>,
    pub text: String,
    /// Where paths in the config are relative to.
    pub base: PathBuf,
    pub rules: BTreeMap<String, RuleSetting>,
    pub exclude: Vec<Exclusion>,
    pub ignore: GlobSet,
    /// `roots:` the entry points to model from, replacing the inferred ones.
    pub roots: Vec<RootEntry>,
    /// `charts:` chart catalogue entries of the user's own, in the shape of
    /// `charts/*.yaml` (they win over the built-in ones).
    pub charts: Vec<crate::model::catalogue::Entry>,
    /// `exclusionConventions:` the repository's own labels or annotations
    /// that mean "not backed up, on purpose".
    pub conventions: Vec<Convention>,
}

/// Where a convention's key is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConventionOn {
    Label,
    Annotation,
}

impl ConventionOn {
    pub fn word(self) -> &'static str {
        match self {
            ConventionOn::Label => "label",
            ConventionOn::Annotation => "annotation",
        }
    }
}

/// One `exclusionConventions:` entry: a label or annotation key (exact)
/// whose value (`value:`, else any truthy value) excludes the resource from
/// backup, and the annotation that holds the reason.
#[derive(Debug, Clone)]
pub struct Convention {
    pub on: ConventionOn,
    pub key: String,
    pub value: Option<String>,
    pub reason_annotation: Option<String>,
    pub span: Span,
}

/// One `roots:` entry: a path (a file or directory, relative to the config)
/// or the name of a Flux Kustomization or Argo CD Application
/// (`name` or `namespace/name`), and optionally the cluster it is.
#[derive(Debug, Clone)]
pub struct RootEntry {
    pub target: RootTarget,
    pub cluster: Option<String>,
    /// Where it is written.
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootTarget {
    /// Relative to the config's directory, as written.
    Path(String),
    Name(String),
    /// A plain string: a path when one exists there, else a name.
    Either(String),
}

impl RootTarget {
    pub fn text(&self) -> &str {
        match self {
            RootTarget::Path(t) | RootTarget::Name(t) | RootTarget::Either(t) => t,
        }
    }
}

/// A config mistake, with its place.
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}", self.path.display(), self.line, self.col, self.message)
    }
}

/// The nearest `.lifeboat.yaml` (or `.lifeboat.yml`) in `start` or a
/// directory above it.
pub fn find_config(start: &Path) -> Option<PathBuf> {
    let start = if start.is_file() { start.parent()? } else { start };
    let abs = std::path::absolute(start).ok()?;
    abs.ancestors().find_map(crate::root::config_in)
}

impl Config {
    /// Read and check a config file. `known_rules` are the valid rule ids.
    pub fn load(path: &Path, known_rules: &[&str]) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: 1,
            col: 1,
            message: format!("cannot read config: {e}"),
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(path, &text, &base, known_rules)
    }

    pub fn parse(path: &Path, text: &str, base: &Path, known_rules: &[&str]) -> Result<Config, ConfigError> {
        let err = |span: Span, message: String| ConfigError {
            path: path.to_path_buf(),
            line: span.start.line,
            col: span.start.col,
            message,
        };
        let loaded = load_str(PENDING_FILE, text);
        if let Some(e) = loaded.error {
            return Err(ConfigError { path: path.to_path_buf(), line: e.pos.line, col: e.pos.col, message: e.message });
        }
        let mut config = Config {
            path: Some(path.to_path_buf()),
            text: text.to_string(),
            base: base.to_path_buf(),
            ..Config::default()
        };
        let Some(doc) = loaded.documents.first() else {
            return Ok(config);
        };
        let root = &doc.root;
        if !root.is_map() {
            return Err(err(root.span, "the config must be a mapping".into()));
        }
        for (key, value) in root.as_map() {
            match key.as_str().unwrap_or("") {
                "rules" => {
                    for (id, setting) in value.as_map() {
                        let id_text = id.as_str().unwrap_or("");
                        if !known_rules.contains(&id_text) {
                            return Err(err(id.span, format!("unknown rule id `{id_text}` (see `lifeboat rules`)")));
                        }
                        let parsed = match setting.as_str() {
                            Some("off") => RuleSetting::Off,
                            Some(s) => RuleSetting::Severity(Severity::parse(s).ok_or_else(|| {
                                err(setting.span, format!("`{s}` is not a severity: use error, warning, info or off"))
                            })?),
                            // YAML 1.1 readers take a bare `off` as false; accept it as "off".
                            None if setting.as_bool() == Some(false) => RuleSetting::Off,
                            None => return Err(err(setting.span, "expected error, warning, info or off".into())),
                        };
                        config.rules.insert(id_text.to_string(), parsed);
                    }
                    if !value.is_map() && !value.is_null() {
                        return Err(err(value.span, "`rules` must map rule ids to a severity".into()));
                    }
                }
                "exclude" => {
                    if !matches!(value.value, Value::Seq(_)) && !value.is_null() {
                        return Err(err(value.span, "`exclude` must be a list".into()));
                    }
                    for item in value.as_seq() {
                        config.exclude.push(parse_exclusion(item).map_err(|(span, m)| err(span, m))?);
                    }
                }
                "paths" => {
                    let mut globs = GlobSetBuilder::new();
                    for (k, v) in value.as_map() {
                        if k.as_str() != Some("ignore") {
                            return Err(err(
                                k.span,
                                format!("unknown key `paths.{}` (expected `ignore`)", k.as_str().unwrap_or("")),
                            ));
                        }
                        for g in v.as_seq() {
                            let text = g.as_str().ok_or_else(|| err(g.span, "expected a glob".into()))?;
                            globs.add(Glob::new(text).map_err(|e| err(g.span, format!("invalid glob `{text}`: {e}")))?);
                        }
                    }
                    config.ignore = globs.build().map_err(|e| err(value.span, e.to_string()))?;
                }
                "roots" => {
                    if !matches!(value.value, Value::Seq(_)) && !value.is_null() {
                        return Err(err(value.span, "`roots` must be a list of paths or names".into()));
                    }
                    for item in value.as_seq() {
                        config.roots.push(parse_root(item).map_err(|(span, m)| err(span, m))?);
                    }
                }
                "charts" => {
                    if !matches!(value.value, Value::Seq(_)) && !value.is_null() {
                        return Err(err(value.span, "`charts` must be a list of chart catalogue entries".into()));
                    }
                    for item in value.as_seq() {
                        let entry = crate::model::catalogue::entry_of(item).map_err(|m| err(item.span, m))?;
                        config.charts.push(entry);
                    }
                }
                "exclusionConventions" => {
                    if !matches!(value.value, Value::Seq(_)) && !value.is_null() {
                        return Err(err(
                            value.span,
                            "`exclusionConventions` must be a list of mappings with `label` or `annotation`".into(),
                        ));
                    }
                    for item in value.as_seq() {
                        config.conventions.push(parse_convention(item).map_err(|(span, m)| err(span, m))?);
                    }
                }
                other => {
                    return Err(err(
                        key.span,
                        format!(
                            "unknown key `{other}` (expected rules, exclude, exclusionConventions, paths, roots or charts)"
                        ),
                    ));
                }
            }
        }
        Ok(config)
    }

    /// Give the config's spans the id it got in the run's file table.
    pub fn set_file(&mut self, file: FileId) {
        for e in &mut self.exclude {
            e.span.file = file;
            e.reason_span.file = file;
        }
        for r in &mut self.roots {
            r.span.file = file;
        }
        for c in &mut self.conventions {
            c.span.file = file;
        }
    }
}

fn parse_root(item: &Node) -> Result<RootEntry, (Span, String)> {
    if let Some(text) = item.as_nonempty_str() {
        return Ok(RootEntry { target: RootTarget::Either(text.to_string()), cluster: None, span: item.span });
    }
    if !item.is_map() {
        return Err((item.span, "a root is a path or a name, or a mapping with `path` or `name` and `cluster`".into()));
    }
    let mut target = None;
    let mut cluster = None;
    for (k, v) in item.as_map() {
        let text = || v.as_nonempty_str().map(str::to_string).ok_or((v.span, "expected a string".to_string()));
        match k.as_str().unwrap_or("") {
            "path" if target.is_none() => target = Some(RootTarget::Path(text()?)),
            "name" if target.is_none() => target = Some(RootTarget::Name(text()?)),
            "path" | "name" => return Err((k.span, "a root has one `path` or one `name`".into())),
            "cluster" => cluster = Some(text()?),
            other => {
                return Err((k.span, format!("unknown key `{other}` in a root (expected path, name, cluster)")));
            }
        }
    }
    let target = target.ok_or((item.span, "a root needs a `path` or a `name`".to_string()))?;
    Ok(RootEntry { target, cluster, span: item.span })
}

fn parse_convention(item: &Node) -> Result<Convention, (Span, String)> {
    const SHAPE: &str = "an exclusion convention is a mapping with `label` or `annotation`, and optionally `value` and `reasonAnnotation`";
    if !item.is_map() {
        return Err((item.span, SHAPE.into()));
    }
    let mut key = None;
    let mut value = None;
    let mut reason_annotation = None;
    for (k, v) in item.as_map() {
        let text = || {
            v.as_nonempty_str()
                .map(|s| s.trim().to_string())
                .or_else(|| v.as_bool().map(|b| b.to_string()))
                .ok_or((v.span, "expected a non-empty string".to_string()))
        };
        match k.as_str().unwrap_or("") {
            "label" | "annotation" if key.is_some() => {
                return Err((k.span, "a convention has one `label` or one `annotation`".into()));
            }
            "label" => key = Some((ConventionOn::Label, text()?)),
            "annotation" => key = Some((ConventionOn::Annotation, text()?)),
            "value" => value = Some(text()?),
            "reasonAnnotation" => reason_annotation = Some(text()?),
            other => {
                return Err((
                    k.span,
                    format!(
                        "unknown key `{other}` in an exclusion convention (expected label, annotation, value, reasonAnnotation)"
                    ),
                ))
            }
        }
    }
    let (on, key) = key.ok_or((item.span, SHAPE.to_string()))?;
    if key.contains(char::is_whitespace) {
        return Err((item.span, format!("`{key}` is not a label or annotation key (it contains a space)")));
    }
    Ok(Convention { on, key, value, reason_annotation, span: item.span })
}

fn parse_exclusion(item: &Node) -> Result<Exclusion, (Span, String)> {
    if !item.is_map() {
        return Err((item.span, "an exclusion is a mapping with kind, namespace, name and reason".into()));
    }
    let mut kind = None;
    let mut namespace = None;
    let mut name = None;
    let mut reason = None;
    let mut reason_span = item.span;
    for (k, v) in item.as_map() {
        let text = || v.as_str().map(str::to_string).ok_or((v.span, "expected a string".to_string()));
        match k.as_str().unwrap_or("") {
            "kind" => kind = Some(text()?),
            "namespace" => namespace = Some(Pattern::new(&text()?).map_err(|m| (v.span, m))?),
            "name" => name = Some(Pattern::new(&text()?).map_err(|m| (v.span, m))?),
            "reason" => {
                reason = v.as_str().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
                reason_span = k.span.through(v.span);
            }
            other => {
                return Err((
                    k.span,
                    format!("unknown key `{other}` in an exclusion (expected kind, namespace, name, reason)"),
                ))
            }
        }
    }
    let name = name.ok_or((item.span, "an exclusion needs a `name` (a glob)".to_string()))?;
    Ok(Exclusion { kind, namespace, name, reason, span: item.span, reason_span })
}
