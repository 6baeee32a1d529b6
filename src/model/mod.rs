//! The model stage: turn documents into deployed `Resource` instances.
//!
//! kustomizations that nothing includes are roots; every file they reach
//! (through `resources:`, `bases:` and `components:`, recursively) becomes an
//! instance in the namespace kustomize would give it. Files named only as
//! patches are not resources. A YAML file in a directory whose
//! kustomization does not list it is not deployed: it is counted as
//! unreached, never linted and never silently dropped. Files outside any
//! kustomization are read one by one.

pub mod kustomize;
mod resource;

use std::collections::{HashMap, HashSet};
use std::path::Path;

pub use resource::{is_cluster_scoped, is_unresolved, Resource, Via};

use crate::yaml::{Document, FileId, Sources, Span};
use kustomize::{Kustomization, PathIndex};

/// A document that is not deployed, and why.
#[derive(Debug, Clone)]
pub struct Unreached {
    pub file: FileId,
    pub kind: String,
    pub name: String,
    pub reason: String,
}

/// Something the model could not follow (a remote base, a missing path).
#[derive(Debug, Clone)]
pub struct ModelNote {
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Model {
    pub resources: Vec<Resource>,
    pub unreached: Vec<Unreached>,
    pub notes: Vec<ModelNote>,
}

struct Builder<'s> {
    sources: &'s Sources,
    index: PathIndex,
    kustomizations: HashMap<FileId, Kustomization>,
    docs_by_file: HashMap<FileId, Vec<&'s Document>>,
    model: Model,
    seen_instances: HashSet<(FileId, usize, Option<String>)>,
    reached_files: HashSet<FileId>,
}

pub fn build(sources: &Sources) -> Model {
    let index = PathIndex::new(&sources.files);
    let mut docs_by_file: HashMap<FileId, Vec<&Document>> = HashMap::new();
    for doc in &sources.documents {
        docs_by_file.entry(doc.file).or_default().push(doc);
    }
    let mut kustomizations = HashMap::new();
    for &id in index.kustomization_dirs.values() {
        let (Some(source), Some(doc)) = (sources.file(id), docs_by_file.get(&id).and_then(|d| d.first())) else {
            continue;
        };
        if let Some(k) = kustomize::parse(id, source, &doc.root) {
            kustomizations.insert(id, k);
        }
    }
    let mut b = Builder {
        sources,
        index,
        kustomizations,
        docs_by_file,
        model: Model::default(),
        seen_instances: HashSet::new(),
        reached_files: HashSet::new(),
    };
    b.run();
    b.model
}

impl Builder<'_> {
    fn run(&mut self) {
        let mut included: HashSet<FileId> = HashSet::new();
        let mut patches: HashSet<FileId> = HashSet::new();
        let mut notes = Vec::new();
        for k in self.kustomizations.values() {
            for entry in k.resources.iter().chain(&k.components) {
                if let Some(&kid) = self.index.kustomization_dirs.get(&entry.path) {
                    included.insert(kid);
                } else if !self.index.files.contains_key(&entry.path) {
                    notes.push(ModelNote {
                        span: entry.span,
                        message: format!("`{}` is not a file or kustomization lifeboat read", entry.path.display()),
                    });
                }
            }
            for entry in &k.remote {
                notes.push(ModelNote {
                    span: entry.span,
                    message: format!(
                        "remote base `{}` is not fetched (lifeboat never uses the network)",
                        entry.path.display()
                    ),
                });
            }
            patches.extend(k.patches.iter().filter_map(|p| self.index.files.get(p).copied()));
        }
        self.model.notes = notes;

        let mut roots: Vec<FileId> = self
            .kustomizations
            .values()
            .filter(|k| !k.is_component && !included.contains(&k.file))
            .map(|k| k.file)
            .collect();
        roots.sort_unstable();
        for root in roots {
            self.visit(root, None, &mut Vec::new());
        }

        let kustomization_files: HashSet<FileId> = self.kustomizations.keys().copied().collect();
        let file_count = FileId::try_from(self.sources.files.len()).unwrap_or(FileId::MAX);
        for id in 0..file_count {
            if self.reached_files.contains(&id) || kustomization_files.contains(&id) || patches.contains(&id) {
                continue;
            }
            let Some(source) = self.sources.file(id) else {
                continue;
            };
            let dir = kustomize::normalize(source.path.parent().unwrap_or(Path::new("")));
            let docs = self.docs_by_file.get(&id).cloned().unwrap_or_default();
            match self.index.kustomization_dirs.get(&dir) {
                Some(&kid) => {
                    let kfile = self.sources.file(kid).map_or(String::new(), |f| f.display.clone());
                    let reason = match self.kustomizations.get(&kid) {
                        Some(k) if k.is_component && !included.contains(&kid) => {
                            format!("in a kustomize Component ({kfile}) that no kustomization includes")
                        }
                        _ => format!("not listed by {kfile}"),
                    };
                    for doc in docs {
                        if let Some(r) = Resource::from_document(doc) {
                            self.model.unreached.push(Unreached {
                                file: id,
                                kind: r.kind,
                                name: r.name,
                                reason: reason.clone(),
                            });
                        }
                    }
                }
                None => {
                    for doc in docs {
                        if let Some(r) = Resource::from_document(doc) {
                            self.push_instance(r);
                        }
                    }
                }
            }
        }
    }

    /// Instantiate kustomization `kid` under the namespace its includers set.
    fn visit(&mut self, kid: FileId, outer_ns: Option<(String, Span)>, stack: &mut Vec<FileId>) {
        if stack.contains(&kid) {
            return; // a cycle: kustomize would refuse it; nothing more to add
        }
        let Some(k) = self.kustomizations.get(&kid).cloned() else {
            return;
        };
        stack.push(kid);
        let ns = outer_ns.or_else(|| k.namespace.clone());
        for entry in k.resources.iter().chain(&k.components) {
            if let Some(&child) = self.index.kustomization_dirs.get(&entry.path) {
                self.visit(child, ns.clone(), stack);
            } else if let Some(&file) = self.index.files.get(&entry.path) {
                if self.kustomizations.contains_key(&file) {
                    continue;
                }
                self.reached_files.insert(file);
                let docs = self.docs_by_file.get(&file).cloned().unwrap_or_default();
                for doc in docs {
                    let Some(mut r) = Resource::from_document(doc) else {
                        continue;
                    };
                    r.via.push(Via { span: entry.span, message: "included here".into() });
                    if let Some((namespace, span)) = &ns {
                        if !is_cluster_scoped(&r.kind) && r.namespace.as_deref() != Some(namespace) {
                            r.namespace = Some(namespace.clone());
                            r.via.push(Via { span: *span, message: format!("namespace `{namespace}` set here") });
                        }
                    }
                    self.push_instance(r);
                }
            }
        }
        stack.pop();
    }

    fn push_instance(&mut self, r: Resource) {
        if self.seen_instances.insert((r.file, r.doc_index, r.namespace.clone())) {
            self.model.resources.push(r);
        }
    }
}
