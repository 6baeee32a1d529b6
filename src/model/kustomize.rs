//! kustomize files: what each `kustomization.yaml` includes, which of its
//! files are patches, and the namespace it sets.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::yaml::{str_at, str_with_span, FileId, Node, SourceFile, Span};

pub const KUSTOMIZATION_FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// One entry of `resources:` or `components:`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub span: Span,
}

/// Which resources a patch or replacement applies to (`target:`/`select:`).
/// `name` and `namespace` are regular expressions, anchored as kustomize does.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub label_selector: Option<String>,
    pub annotation_selector: Option<String>,
}

impl Selector {
    pub fn parse(node: &Node) -> Selector {
        let field = |key: &str| node.get(key).and_then(Node::as_nonempty_str).map(str::to_string);
        Selector {
            group: field("group"),
            version: field("version"),
            kind: field("kind"),
            name: field("name"),
            namespace: field("namespace"),
            label_selector: field("labelSelector"),
            annotation_selector: field("annotationSelector"),
        }
    }
}

/// Where a patch's text is.
#[derive(Debug, Clone)]
pub enum PatchBody {
    /// A file of the repository.
    File(PathBuf),
    /// Inline YAML (`patch: |`), with the node that holds it.
    Inline(Node),
}

#[derive(Debug, Clone)]
pub struct Patch {
    pub body: PatchBody,
    pub target: Option<Selector>,
    /// The entry in the kustomization (for provenance and notes).
    pub span: Span,
}

/// A `generators:` or `transformers:` entry: a file or a kustomization
/// directory of plugin configurations, or configuration written inline.
#[derive(Debug, Clone)]
pub enum PluginEntry {
    Path(PathBuf, Span),
    Inline(Node),
}

/// A `replacements:` entry: inline, or a file holding a list of them.
#[derive(Debug, Clone)]
pub enum Replacement {
    Inline(Node),
    File(PathBuf, Span),
}

#[derive(Debug, Clone)]
pub struct Kustomization {
    pub file: FileId,
    pub is_component: bool,
    pub namespace: Option<(String, Span)>,
    pub name_prefix: Option<(String, Span)>,
    pub name_suffix: Option<(String, Span)>,
    pub resources: Vec<Entry>,
    pub components: Vec<Entry>,
    /// `patchesStrategicMerge`, then `patches`, then `patchesJson6902`: the
    /// order kustomize runs them in (the last after namespace and prefix).
    pub strategic_merge_patches: Vec<Patch>,
    pub patches: Vec<Patch>,
    pub json6902_patches: Vec<Patch>,
    /// Files the kustomization reads that are not resources: patches,
    /// replacements, generator inputs.
    pub input_files: Vec<PathBuf>,
    /// `configMapGenerator`/`secretGenerator` `files:` and `envs:`: raw
    /// text, not manifests.
    pub generator_inputs: Vec<PathBuf>,
    pub replacements: Vec<Replacement>,
    /// `commonLabels` (also on selectors and templates) and `labels` entries.
    pub common_labels: Option<Node>,
    pub labels: Vec<Node>,
    pub common_annotations: Option<Node>,
    /// `configMapGenerator` and `secretGenerator` entries with their kind.
    pub generators: Vec<(&'static str, Node)>,
    pub generator_options: Option<Node>,
    /// `helmCharts` entries (inflated charts are not rendered; their values
    /// are read for the inventory).
    pub helm_charts: Vec<Node>,
    /// `helmGlobals.chartHome`: where local charts are (default `charts`).
    pub chart_home: Option<String>,
    /// `generators:` and `transformers:` plugin configurations (run after
    /// the built-in generators and transformers, as kustomize does).
    pub generator_plugins: Vec<PluginEntry>,
    pub transformer_plugins: Vec<PluginEntry>,
    /// Entries that point outside the repository (URLs, git refs): not fetched.
    pub remote: Vec<Entry>,
}

pub fn is_kustomization_file(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| KUSTOMIZATION_FILE_NAMES.contains(&n))
}

/// Read a kustomization document. `None` when the document is not one (a Flux
/// `Kustomization` stored under that file name, say).
pub fn parse(file: FileId, source: &SourceFile, root: &Node) -> Option<Kustomization> {
    if let Some(api) = root.get("apiVersion").and_then(Node::as_str) {
        if !api.starts_with("kustomize.config.k8s.io/") {
            return None;
        }
    }
    let dir = source.path.parent().map(Path::to_path_buf).unwrap_or_default();
    let is_component = root.get("kind").and_then(Node::as_str) == Some("Component");
    let string_at = |key: &str| str_with_span(Some(root), key);
    let mut k = Kustomization {
        file,
        is_component,
        namespace: string_at("namespace"),
        name_prefix: string_at("namePrefix"),
        name_suffix: string_at("nameSuffix"),
        resources: Vec::new(),
        components: Vec::new(),
        strategic_merge_patches: Vec::new(),
        patches: Vec::new(),
        json6902_patches: Vec::new(),
        input_files: Vec::new(),
        generator_inputs: Vec::new(),
        replacements: Vec::new(),
        common_labels: root.get("commonLabels").filter(|n| n.is_map()).cloned(),
        labels: root.get("labels").map_or(&[][..], Node::as_seq).to_vec(),
        common_annotations: root.get("commonAnnotations").filter(|n| n.is_map()).cloned(),
        generators: Vec::new(),
        generator_options: root.get("generatorOptions").cloned(),
        helm_charts: root.get("helmCharts").map_or(&[][..], Node::as_seq).to_vec(),
        chart_home: str_at(Some(root), &["helmGlobals", "chartHome"]).map(str::to_string),
        generator_plugins: plugin_entries(&dir, root.get("generators")),
        transformer_plugins: plugin_entries(&dir, root.get("transformers")),
        remote: Vec::new(),
    };
    // `bases:` is the deprecated spelling of directory resources.
    for key in ["resources", "bases"] {
        for item in root.get(key).map_or(&[][..], Node::as_seq) {
            push_entry(&dir, item, &mut k.resources, &mut k.remote);
        }
    }
    for item in root.get("components").map_or(&[][..], Node::as_seq) {
        push_entry(&dir, item, &mut k.components, &mut k.remote);
    }
    for item in root.get("patchesStrategicMerge").map_or(&[][..], Node::as_seq) {
        // An entry is a file path, or an inline patch (YAML text with a newline).
        let body = match item.as_str() {
            Some(text) if !text.contains('\n') => PatchBody::File(normalize(&dir.join(text.trim()))),
            Some(_) => PatchBody::Inline(item.clone()),
            None => continue,
        };
        k.strategic_merge_patches.push(Patch { body, target: None, span: item.span });
    }
    for (key, json6902) in [("patches", false), ("patchesJson6902", true)] {
        for item in root.get(key).map_or(&[][..], Node::as_seq) {
            let body = match (item.get("path").and_then(Node::as_str), item.get("patch")) {
                (Some(path), _) => PatchBody::File(normalize(&dir.join(path))),
                (None, Some(inline)) if inline.as_str().is_some() => PatchBody::Inline(inline.clone()),
                _ => continue,
            };
            let patch = Patch { body, target: item.get("target").map(Selector::parse), span: item.span };
            if json6902 {
                k.json6902_patches.push(patch);
            } else {
                k.patches.push(patch);
            }
        }
    }
    for p in k.strategic_merge_patches.iter().chain(&k.patches).chain(&k.json6902_patches) {
        if let PatchBody::File(path) = &p.body {
            k.input_files.push(path.clone());
        }
    }
    for item in root.get("replacements").map_or(&[][..], Node::as_seq) {
        match item.get("path").and_then(Node::as_str) {
            Some(path) => {
                let path = normalize(&dir.join(path));
                k.input_files.push(path.clone());
                k.replacements.push(Replacement::File(path, item.span));
            }
            None => k.replacements.push(Replacement::Inline(item.clone())),
        }
    }
    for entry in k.generator_plugins.iter().chain(&k.transformer_plugins) {
        if let PluginEntry::Path(path, _) = entry {
            k.input_files.push(path.clone());
        }
    }
    for chart in &k.helm_charts {
        if let Some(file) = chart.get("valuesFile").and_then(Node::as_str) {
            k.input_files.push(normalize(&dir.join(file)));
        }
        for file in chart.get("additionalValuesFiles").map_or(&[][..], Node::as_seq).iter().filter_map(Node::as_str) {
            k.input_files.push(normalize(&dir.join(file)));
        }
    }
    for (key, kind) in [("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")] {
        for item in root.get(key).map_or(&[][..], Node::as_seq) {
            for source in ["files", "envs"].iter().flat_map(|f| item.get(f).map_or(&[][..], Node::as_seq)) {
                if let Some(path) = source.as_str().map(generator_file) {
                    k.input_files.push(normalize(&dir.join(path)));
                    k.generator_inputs.push(normalize(&dir.join(path)));
                }
            }
            k.generators.push((kind, item.clone()));
        }
    }
    Some(k)
}

/// `generators:`/`transformers:` entries: a path, or (text with a newline)
/// inline configuration.
fn plugin_entries(dir: &Path, list: Option<&Node>) -> Vec<PluginEntry> {
    let mut out = Vec::new();
    for item in list.map_or(&[][..], Node::as_seq) {
        match item.as_nonempty_str() {
            Some(text) if text.contains('\n') => out.push(PluginEntry::Inline(item.clone())),
            Some(text) => out.push(PluginEntry::Path(normalize(&dir.join(text.trim())), item.span)),
            None => {}
        }
    }
    out
}

/// The file of a generator `files:` entry (`key=path` or `path`).
pub fn generator_file(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(_, path)| path).trim()
}

fn push_entry(dir: &Path, item: &Node, local: &mut Vec<Entry>, remote: &mut Vec<Entry>) {
    let Some(text) = item.as_nonempty_str() else {
        return;
    };
    let entry = |path: PathBuf| Entry { path, span: item.span };
    if is_remote(text) {
        remote.push(entry(PathBuf::from(text)));
    } else {
        local.push(entry(normalize(&dir.join(text))));
    }
}

fn is_remote(text: &str) -> bool {
    text.contains("://") || text.starts_with("github.com/") || text.starts_with("git@") || text.contains("?ref=")
}

/// Lexically normalise a path: drop `.`, resolve `..` against earlier parts.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                _ => out.push(part),
            },
            other => out.push(other),
        }
    }
    out.iter().collect()
}

/// Maps of the run's files by normalised path and of kustomizations by directory.
pub struct PathIndex {
    pub files: HashMap<PathBuf, FileId>,
    pub kustomization_dirs: HashMap<PathBuf, FileId>,
}

impl PathIndex {
    pub fn new(files: &[SourceFile]) -> Self {
        let mut index = PathIndex { files: HashMap::new(), kustomization_dirs: HashMap::new() };
        for (i, f) in files.iter().enumerate() {
            let id = FileId::try_from(i).unwrap_or(FileId::MAX);
            let path = normalize(&f.path);
            if is_kustomization_file(&path) {
                if let Some(dir) = path.parent() {
                    index.kustomization_dirs.entry(dir.to_path_buf()).or_insert(id);
                }
            }
            index.files.insert(path, id);
        }
        index
    }
}
