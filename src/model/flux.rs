//! Flux: `Kustomization`s (`kustomize.toolkit.fluxcd.io`) and `FluxInstance`
//! sync paths are the roots of a Flux repository. Each one builds its
//! `spec.path` (a kustomization, or every YAML file below it), adds
//! `spec.components`, sets `spec.targetNamespace`, and substitutes
//! `postBuild` variables. A Kustomization it produces is expanded in turn.
//! In a Flux repository, what no Flux root reaches is not deployed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::kustomize::{normalize, Patch, PatchBody, Selector};
use super::substitute::{substitute, substitute_tree, Binding, UndefinedUse, Vars};
use super::{Builder, Resource, Via};
use crate::yaml::{str_at, str_with_span, FileId, Node, Span};

pub const FLUX_KUSTOMIZE_GROUP: &str = "kustomize.toolkit.fluxcd.io";
pub const SUBSTITUTE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// A `${VAR}` with no value and no default, in what a Flux Kustomization built.
#[derive(Debug, Clone)]
pub struct SubstitutionGap {
    pub var: String,
    pub span: Span,
    /// The Kustomization that instantiated it (`namespace/name`) and where.
    pub kustomization: String,
    pub kustomization_span: Span,
}

/// What one Flux root asks for.
#[derive(Debug, Clone)]
struct Root {
    label: String,
    /// The Kustomization's name (`None` for a FluxInstance).
    name: Option<String>,
    span: Span,
    path: String,
    components: Vec<String>,
    target_namespace: Option<(String, Span)>,
    vars: Option<Vars>,
    /// `spec.namePrefix`/`spec.nameSuffix`.
    name_prefix: Option<(String, Span)>,
    name_suffix: Option<(String, Span)>,
    /// `spec.commonMetadata` (labels and annotations on every object).
    common_metadata: Option<Node>,
    /// `spec.patches` (inline, with optional targets).
    patches: Vec<Patch>,
    /// Its source is another repository (the source and its URL): nothing
    /// here is what it deploys.
    external: Option<String>,
}

pub fn is_flux_root(r: &Resource) -> bool {
    r.is(FLUX_KUSTOMIZE_GROUP, "Kustomization") || r.is("fluxcd.controlplane.io", "FluxInstance")
}

impl Builder<'_> {
    /// Variables of a Flux Kustomization's `postBuild` (`None`: no postBuild,
    /// so Flux substitutes nothing).
    fn flux_vars(&self, r: &Resource) -> Option<Vars> {
        let post = r.spec().and_then(|s| s.get("postBuild"))?;
        let mut vars = Vars::default();
        for (k, v) in post.get("substitute").map_or(&[][..], Node::as_map) {
            if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
                vars.values.insert(k.to_string(), Binding::Value(v.to_string()));
            }
        }
        // `substituteFrom`: later sources win over earlier ones, and
        // `substitute` wins over all.
        let mut from = Vars::default();
        for source in post.get("substituteFrom").map_or(&[][..], Node::as_seq) {
            let kind = source.get("kind").and_then(Node::as_str).unwrap_or("ConfigMap");
            let Some(name) = source.get("name").and_then(Node::as_str) else { continue };
            let optional = source.get("optional").and_then(Node::as_bool) == Some(true);
            match self.find_config(kind, name, r.namespace.as_deref()).as_ref().map(|(n, h)| (n, *h)) {
                Some((node, true)) => {
                    for (k, _) in node.as_map() {
                        if let Some(k) = k.as_str() {
                            from.values.insert(k.to_string(), Binding::Unknown);
                        }
                    }
                    from.incomplete = true;
                }
                Some((node, false)) => {
                    for (k, v) in node.as_map() {
                        if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
                            from.values.insert(k.to_string(), Binding::Value(v.to_string()));
                        }
                    }
                }
                None => from.incomplete |= !optional || kind == "Secret",
            }
        }
        for (k, v) in from.values {
            vars.values.entry(k).or_insert(v);
        }
        vars.incomplete = from.incomplete;
        Some(vars)
    }

    /// The documents of a ConfigMap, Secret, GitRepository or FluxInstance named `name`
    /// anywhere in the repository, those in `namespace` first (then file order).
    fn find_documents(&self, kind: &str, name: &str, namespace: Option<&str>) -> Vec<&crate::yaml::Document> {
        let index = self.configs.get_or_init(|| {
            let mut index: HashMap<(String, String), Vec<usize>> = HashMap::new();
            for (i, d) in self.sources.documents.iter().enumerate() {
                let kind = d.root.get("kind").and_then(Node::as_str);
                let name = d.root.path(&["metadata", "name"]).and_then(Node::as_str);
                if let (Some(kind @ ("ConfigMap" | "Secret" | "GitRepository" | "FluxInstance")), Some(name)) =
                    (kind, name)
                {
                    index.entry((kind.to_string(), name.to_string())).or_default().push(i);
                }
            }
            index
        });
        let mut docs: Vec<&crate::yaml::Document> = index
            .get(&(kind.to_string(), name.to_string()))
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|&i| self.sources.documents.get(i))
            .collect();
        docs.sort_by_key(|d| d.root.path(&["metadata", "namespace"]).and_then(Node::as_str) != namespace);
        docs
    }

    /// The `data`/`stringData` of a ConfigMap or Secret anywhere in the repo
    /// (deployed or not: cluster settings often live beside the Flux roots),
    /// and whether its values are hidden (SOPS, or base64 `data`).
    fn find_config(&self, kind: &str, name: &str, namespace: Option<&str>) -> Option<(Node, bool)> {
        // Several clusters in one repo often each define it (one per cluster
        // directory): their keys are merged, the first definition of a key wins.
        let mut merged: Vec<(Node, Node)> = Vec::new();
        let mut hidden = false;
        let mut roots: Vec<(&Node, bool)> =
            self.find_documents(kind, name, namespace).into_iter().map(|d| (&*d.root, false)).collect();
        if roots.is_empty() {
            // One a kustomize generator makes (its data is unknown when it
            // was made from files lifeboat does not read).
            roots = self
                .model
                .resources
                .iter()
                .filter(|r| {
                    r.kind == kind
                        && self.kustomizations.contains_key(&r.file)
                        && (r.name == name || r.original_name == name)
                })
                .map(|r| (&*r.root, r.partial))
                .collect();
        }
        let found = !roots.is_empty();
        for (root, partial) in roots {
            hidden |= partial;
            let sops = root.get("sops").is_some_and(Node::is_map);
            let (data, secret_data) = match root.get("stringData") {
                Some(d) if kind == "Secret" => (Some(d), false),
                _ => (root.get("data"), kind == "Secret"),
            };
            hidden |= sops || secret_data;
            for (k, v) in data.map_or(&[][..], Node::as_map) {
                if !merged.iter().any(|(m, _)| m.as_str() == k.as_str()) {
                    merged.push((k.clone(), v.clone()));
                }
            }
        }
        let span = crate::yaml::Span::default();
        found.then_some((Node { value: crate::yaml::Value::Map(merged), span }, hidden))
    }

    fn flux_root(&self, r: &Resource) -> Option<Root> {
        let spec = r.spec();
        if r.is("fluxcd.controlplane.io", "FluxInstance") {
            return Some(Root {
                label: format!("FluxInstance `{}`", r.qualified_name()),
                name: None,
                span: r.name_span(),
                path: str_at(spec, &["sync", "path"])?.to_string(),
                components: Vec::new(),
                target_namespace: None,
                vars: None,
                name_prefix: None,
                name_suffix: None,
                common_metadata: None,
                patches: Vec::new(),
                external: None,
            });
        }
        if r.annotation("kustomize.toolkit.fluxcd.io/reconcile").and_then(Node::as_str) == Some("disabled") {
            return None;
        }
        if spec.and_then(|s| s.get("suspend")).and_then(Node::as_bool) == Some(true) {
            return None;
        }
        let path = str_at(spec, &["path"]).unwrap_or("./");
        let components = spec
            .and_then(|s| s.get("components"))
            .map_or(&[][..], Node::as_seq)
            .iter()
            .filter_map(Node::as_nonempty_str)
            .map(str::to_string)
            .collect();
        Some(Root {
            label: format!("Flux Kustomization `{}`", r.qualified_name()),
            name: Some(r.name.clone()),
            span: r.name_span(),
            path: path.to_string(),
            components,
            target_namespace: str_with_span(spec, "targetNamespace"),
            vars: self.flux_vars(r),
            name_prefix: str_with_span(spec, "namePrefix"),
            name_suffix: str_with_span(spec, "nameSuffix"),
            common_metadata: spec.and_then(|s| s.get("commonMetadata")).cloned(),
            external: self.external_source(r),
            patches: spec
                .and_then(|s| s.get("patches"))
                .map_or(&[][..], Node::as_seq)
                .iter()
                .filter_map(|item| {
                    let inline = item.get("patch").filter(|p| p.as_str().is_some())?;
                    Some(Patch {
                        body: PatchBody::Inline(inline.clone()),
                        target: item.get("target").map(Selector::parse),
                        span: item.span,
                    })
                })
                .collect(),
        })
    }

    /// The source of Kustomization `r` when it is a GitRepository defined
    /// here whose URL names another repository than this one's (the URL of
    /// the `flux-system` GitRepository or of the FluxInstance's sync); `None`
    /// when it is this repository or that cannot be told.
    fn external_source(&self, r: &Resource) -> Option<String> {
        let source = r.spec()?.get("sourceRef")?;
        if source.get("kind").and_then(Node::as_str) != Some("GitRepository") {
            return None;
        }
        let name = source.get("name").and_then(Node::as_str)?;
        if name == "flux-system" {
            return None;
        }
        let url = |kind: &str, name: &str, path: &[&str]| -> Option<String> {
            self.find_documents(kind, name, None).iter().find_map(|d| str_at(Some(&d.root), path).map(str::to_string))
        };
        let own = url("GitRepository", "flux-system", &["spec", "url"])
            .or_else(|| url("FluxInstance", "flux", &["spec", "sync", "url"]))?;
        let theirs = url("GitRepository", name, &["spec", "url"])?;
        (super::repository_id(&theirs) != super::repository_id(&own))
            .then(|| format!("GitRepository `{name}` ({theirs})"))
    }

    /// The directory a Flux path names. Paths are relative to the source's
    /// root: this repository's root (the scanned path or one of its parents),
    /// or, for an `OCIRepository` or another source rooted in a subdirectory,
    /// the one directory whose path ends with it.
    pub(super) fn flux_dir(&self, path: &str) -> Option<PathBuf> {
        let rel = normalize(Path::new(path.trim_start_matches('/')));
        let known = |d: &Path| {
            self.dirs.contains_key(d) || self.index.kustomization_dirs.contains_key(d) || self.subdirs.contains_key(d)
        };
        for base in self.root.ancestors().take(8) {
            let candidate = normalize(&base.join(&rel));
            if known(&candidate) {
                return Some(candidate);
            }
        }
        if rel.as_os_str().is_empty() {
            return None;
        }
        let mut matches: Vec<&PathBuf> = self
            .dirs
            .keys()
            .chain(self.subdirs.keys())
            .chain(self.index.kustomization_dirs.keys())
            .filter(|d| d.ends_with(&rel))
            .collect();
        matches.sort();
        matches.dedup();
        matches.sort_by_key(|d| d.components().count()); // stable: ties stay sorted by path
        matches.first().map(|d| (*d).clone())
    }

    /// Build one root: its path, its components, then substitution and
    /// targetNamespace on every instance.
    fn expand_root(&mut self, root: &Root, gaps: &mut Vec<SubstitutionGap>) -> Vec<Resource> {
        let mut out = Vec::new();
        if let Some(source) = &root.external {
            self.note(root.span, format!("{}: its source {source} is another repository: not read", root.label));
            return out;
        }
        let Some(dir) = self.flux_dir(&root.path) else {
            let rel = normalize(Path::new(root.path.trim_start_matches('/')));
            let candidates = self.root.ancestors().take(8).map(|base| normalize(&base.join(&rel))).collect();
            self.model.not_read.push((root.span, candidates));
            self.model.notes.push(super::ModelNote {
                span: root.span,
                message: format!("{}: path `{}` is not a directory lifeboat read", root.label, root.path),
            });
            return out;
        };
        let ns = root.target_namespace.clone();
        // Flux appends `spec.components` to the components of the
        // kustomization at the path (one it generates when there is none), so
        // they come before that kustomization's own patches and namespace.
        let mut components = Vec::new();
        for c in &root.components {
            let path = normalize(&dir.join(c));
            match self.index.kustomization_dirs.get(&path).copied() {
                Some(kid) => components.push(kid),
                None => {
                    self.model.not_read.push((root.span, vec![path]));
                    self.model.notes.push(super::ModelNote {
                        span: root.span,
                        message: format!("{}: component `{c}` is not a kustomization lifeboat read", root.label),
                    });
                }
            }
        }
        match self.index.kustomization_dirs.get(&dir).copied().filter(|k| self.kustomizations.contains_key(k)) {
            Some(kid) => self.accumulate_with(kid, &mut Vec::new(), &mut out, &components),
            None => {
                self.build_dir(&dir, &mut out);
                for kid in components {
                    self.accumulate(kid, &mut Vec::new(), &mut out);
                }
            }
        }
        // Flux adds its patches and targetNamespace to the kustomization it
        // builds; substitution comes after the build.
        for patch in &root.patches {
            self.apply_patch(patch, &mut out, false);
        }
        if let Some(target) = &ns {
            super::transform::set_namespace(&mut out, target, "targetNamespace");
        }
        super::transform::add_prefix_suffix(&mut out, root.name_prefix.as_ref(), root.name_suffix.as_ref());
        for key in ["labels", "annotations"] {
            if let Some(pairs) = root.common_metadata.as_ref().and_then(|m| m.get(key)) {
                super::transform::add_metadata(&mut out, key, pairs, false);
            }
        }
        super::generate::finish_build(&mut out);
        for r in &mut out {
            r.via.push(Via { span: root.span, message: format!("instantiated by {}", root.label), shown: true });
            if root.name.is_some() {
                r.deployed_by.clone_from(&root.name);
            }
            if let Some(vars) = &root.vars {
                let disabled = r.annotation(SUBSTITUTE_ANNOTATION).and_then(Node::as_str) == Some("disabled");
                if !disabled {
                    let mut undefined: Vec<UndefinedUse> = Vec::new();
                    let tree = substitute_tree(&r.root, vars, &mut undefined);
                    r.root = Arc::new(tree);
                    r.name = substitute(&r.name, vars).text;
                    if let Some(n) = &r.namespace {
                        r.namespace = Some(substitute(n, vars).text);
                    }
                    if let Some(fresh) = Resource::from_root(r) {
                        r.api_version = fresh.api_version;
                        r.kind = fresh.kind;
                        if ns.is_none() {
                            r.namespace = r.namespace.clone().or(fresh.namespace);
                        }
                    }
                    gaps.extend(undefined.into_iter().map(|u| SubstitutionGap {
                        var: u.var,
                        span: u.span,
                        kustomization: root.label.clone(),
                        kustomization_span: root.span,
                    }));
                }
            }
        }
        out
    }

    /// The files a root's path and components reach (what it would build,
    /// without building it).
    fn files_reached(&self, root: &Root) -> HashSet<FileId> {
        let mut files = HashSet::new();
        let mut seen = HashSet::new();
        let Some(dir) = self.flux_dir(&root.path) else { return files };
        self.reach_dir(&dir, &mut files, &mut seen);
        for c in &root.components {
            if let Some(&kid) = self.index.kustomization_dirs.get(&normalize(&dir.join(c))) {
                self.reach_kustomization(kid, &mut files, &mut seen);
            }
        }
        files
    }

    fn reach_dir(&self, dir: &Path, files: &mut HashSet<FileId>, seen: &mut HashSet<FileId>) {
        if let Some(&kid) = self.index.kustomization_dirs.get(dir).filter(|k| self.kustomizations.contains_key(k)) {
            self.reach_kustomization(kid, files, seen);
            return;
        }
        files.extend(self.dirs.get(dir).map_or(&[][..], Vec::as_slice));
        for sub in self.subdirs.get(dir).map_or(&[][..], Vec::as_slice) {
            self.reach_dir(sub, files, seen);
        }
    }

    fn reach_kustomization(&self, kid: FileId, files: &mut HashSet<FileId>, seen: &mut HashSet<FileId>) {
        // A worklist, not recursion: include chains can be long.
        let mut todo = vec![kid];
        while let Some(kid) = todo.pop() {
            if !seen.insert(kid) {
                continue;
            }
            let Some(k) = self.kustomizations.get(&kid) else { continue };
            for entry in k.resources.iter().chain(&k.components) {
                if let Some(&child) = self.index.kustomization_dirs.get(&entry.path) {
                    todo.push(child);
                } else if let Some(&file) = self.index.files.get(&entry.path) {
                    files.insert(file);
                }
            }
        }
    }

    /// A directory as Flux builds it: its kustomization, or (when it has
    /// none) every YAML file below it, with subdirectories that have a
    /// kustomization built as kustomizations.
    fn build_dir(&mut self, dir: &Path, out: &mut Vec<Resource>) {
        if let Some(&kid) = self.index.kustomization_dirs.get(dir) {
            if self.kustomizations.contains_key(&kid) {
                // A build of its own: its transformers touch only what it builds.
                let mut built = Vec::new();
                self.accumulate(kid, &mut Vec::new(), &mut built);
                out.extend(built);
                return;
            }
        }
        let files = self.dirs.get(dir).cloned().unwrap_or_default();
        for file in files {
            self.instantiate_file(file, None, out);
        }
        let subdirs = self.subdirs.get(dir).cloned().unwrap_or_default();
        for sub in subdirs {
            self.build_dir(&sub, out);
        }
    }

    /// Flux mode: replace the plain-kustomize instances by what the Flux
    /// roots deploy. Returns false (nothing changed) when the repository has
    /// no Flux root, or none of its roots resolves here.
    pub(super) fn run_flux(&mut self) -> bool {
        let raw: Vec<Resource> = self.model.resources.iter().filter(|r| is_flux_root(r)).cloned().collect();
        if raw.is_empty() {
            return false;
        }
        // A root that another root produces is expanded through it (with
        // its parent's substitution), not on its own.
        // Only which files each root reaches matters here, not the build.
        let mut roots_by_file: HashMap<FileId, Vec<usize>> = HashMap::new();
        for r in &raw {
            roots_by_file.entry(r.file).or_default().push(r.doc_index);
        }
        let mut produced: HashSet<(FileId, usize)> = HashSet::new();
        for r in &raw {
            let Some(root) = self.flux_root(r) else { continue };
            for file in self.files_reached(&root) {
                for &doc in roots_by_file.get(&file).map_or(&[][..], Vec::as_slice) {
                    if (file, doc) != (r.file, r.doc_index) {
                        produced.insert((file, doc));
                    }
                }
            }
        }
        // Notes of the plain-kustomize pass do not hold for what Flux builds
        // (components it adds, say); those about the files themselves do.
        self.model.notes.truncate(self.static_notes);
        let top: Vec<Resource> = raw.iter().filter(|r| !produced.contains(&(r.file, r.doc_index))).cloned().collect();
        // Roots that all produce one another (a cycle) start from all of them.
        let mut queue: Vec<Resource> = if top.is_empty() { raw } else { top };
        let mut resources: Vec<Resource> = queue.clone();
        let mut seen_roots: HashSet<(FileId, usize, Option<String>, String)> = HashSet::new();
        let mut seen: HashSet<(FileId, usize, Option<String>, String)> =
            queue.iter().map(|r| (r.file, r.doc_index, r.namespace.clone(), r.name.clone())).collect();
        let mut gaps = Vec::new();
        let mut rounds = 0;
        while let Some(r) = queue.pop() {
            rounds += 1;
            if rounds > 100_000 || !seen_roots.insert((r.file, r.doc_index, r.namespace.clone(), r.name.clone())) {
                continue;
            }
            let Some(root) = self.flux_root(&r) else { continue };
            for child in self.expand_root(&root, &mut gaps) {
                if !seen.insert((child.file, child.doc_index, child.namespace.clone(), child.name.clone())) {
                    continue;
                }
                if is_flux_root(&child) {
                    queue.push(child.clone());
                }
                resources.push(child);
            }
        }
        let reached: HashSet<FileId> = resources.iter().map(|r| r.file).collect();
        if reached.len() <= resources.iter().filter(|r| is_flux_root(r)).map(|r| r.file).collect::<HashSet<_>>().len() {
            // No root resolved to anything but itself: not a Flux repo we can read.
            return false;
        }
        self.model.unreached.retain(|u| !reached.contains(&u.file));
        let old = std::mem::take(&mut self.model.resources);
        let mut unreached_files: HashMap<FileId, Vec<Resource>> = HashMap::new();
        for r in old {
            if !reached.contains(&r.file) {
                unreached_files.entry(r.file).or_default().push(r);
            }
        }
        let mut files: Vec<_> = unreached_files.into_iter().collect();
        files.sort_by_key(|(f, _)| *f);
        for (file, rs) in files {
            for r in rs {
                self.model.unreached.push(super::Unreached {
                    file,
                    kind: r.kind,
                    name: r.name,
                    reason: "not deployed by any Flux Kustomization".into(),
                });
            }
        }
        self.model.resources = resources;
        self.model.substitution_gaps = gaps;
        true
    }
}
