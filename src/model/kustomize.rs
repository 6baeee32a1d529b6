//! kustomize files: what each `kustomization.yaml` includes, which of its
//! files are patches, and the namespace it sets.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::yaml::{FileId, Node, SourceFile, Span};

pub const KUSTOMIZATION_FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// One entry of `resources:` or `components:`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Kustomization {
    pub file: FileId,
    pub is_component: bool,
    pub namespace: Option<(String, Span)>,
    pub resources: Vec<Entry>,
    pub components: Vec<Entry>,
    /// Files named by `patches[].path`, `patchesStrategicMerge` and `patchesJson6902[].path`.
    pub patches: Vec<PathBuf>,
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
    let mut k = Kustomization {
        file,
        is_component,
        namespace: root.get("namespace").and_then(|n| n.as_nonempty_str().map(|s| (s.to_string(), n.span))),
        resources: Vec::new(),
        components: Vec::new(),
        patches: Vec::new(),
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
    for key in ["patches", "patchesJson6902"] {
        for item in root.get(key).map_or(&[][..], Node::as_seq) {
            if let Some(path) = item.get("path").and_then(Node::as_str) {
                k.patches.push(normalize(&dir.join(path)));
            }
        }
    }
    for item in root.get("patchesStrategicMerge").map_or(&[][..], Node::as_seq) {
        // An entry is a file path, or an inline patch (YAML text with a newline).
        if let Some(text) = item.as_str().filter(|t| !t.contains('\n')) {
            k.patches.push(normalize(&dir.join(text.trim())));
        }
    }
    Some(k)
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
