//! Argo CD: `Application`s and `ApplicationSet`s (`argoproj.io`) are roots.
//!
//! An Application deploys each source `path` in this repository: a
//! kustomization is built, a Helm chart's files are read as they are (charts
//! are not rendered), a plain directory gives its YAML files (and its
//! subdirectories' with `directory.recurse`). `destination.namespace` is the
//! namespace of objects that set none. In-repo Helm `valueFiles` are merged
//! under `valuesObject` so the inventory sees the values the chart gets.
//!
//! An ApplicationSet renders its `template` once per parameter set of its
//! `git` directory and file generators (with `exclude`s and `selector`) and
//! `list` generators; other generators are noted, not modelled. Go templates
//! and fasttemplate placeholders that name a parameter are filled; anything
//! else (functions, pipelines) is left as written, and unresolved.
//!
//! In a repository with Argo CD roots, what no root reaches is not deployed.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use globset::{GlobBuilder, GlobMatcher};
use regex::Regex;

use super::generate::finish_build;
use super::kustomize::{Patch, PatchBody, Selector};
use super::patch::strategic_merge;
use super::transform::{add_metadata, add_prefix_suffix, set_namespace};
use super::{is_cluster_scoped, Builder, Resource, Unreached, Via};
use crate::yaml::{str_at, str_with_span, FileId, Node, Value};

const ARGO_GROUP: &str = "argoproj.io";

pub fn is_argo_root(r: &Resource) -> bool {
    r.is(ARGO_GROUP, "Application") || r.is(ARGO_GROUP, "ApplicationSet")
}

/// One parameter set of an ApplicationSet generator: flat, dotted keys
/// (`path.basename`, `namespace`, `values.appName`).
type Params = BTreeMap<String, String>;

static PLACEHOLDER: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\{\{-?\s*(.*?)\s*-?\}\}").ok());

/// Parameter sets a matrix generator may give (a product of many children
/// multiplies: hostile input could ask for billions).
const MAX_PARAMETER_SETS: usize = 10_000;

impl Builder<'_> {
    /// Argo CD mode: what Applications and ApplicationSets deploy replaces
    /// the file-by-file reading (or adds to what Flux deploys). Returns
    /// false when there is no Argo root, or none resolves in this repository.
    pub(super) fn run_argo(&mut self, flux_ran: bool) -> bool {
        let mut roots: Vec<Resource> = self.model.resources.iter().filter(|r| is_argo_root(r)).cloned().collect();
        // Without an Application anywhere, a chart of the repository whose
        // templates are Applications, which nothing here deploys, is the
        // app of apps installed by hand (`helm template | kubectl apply`).
        let mut from_charts: Vec<Resource> = Vec::new();
        if roots.is_empty() && !flux_ran {
            for r in self.application_charts() {
                if is_argo_root(&r) {
                    roots.push(r);
                } else {
                    from_charts.push(r);
                }
            }
        }
        if roots.is_empty() {
            return false;
        }
        self.argo_own_repository = own_repository(&roots);
        let mut queue = self.order_by_instance(&roots);
        let mut built: Vec<Resource> = Vec::new();
        let mut apps: Vec<Resource> = Vec::new();
        let mut seen: HashSet<(FileId, usize, String)> = HashSet::new();
        let mut rounds = 0;
        // Some Application's source is a directory of this repository (a
        // chart of values only renders nothing, yet is deployed from here).
        let mut resolved = false;
        while let Some(r) = queue.pop() {
            rounds += 1;
            if rounds > 100_000 || !seen.insert((r.file, r.doc_index, application_identity(&r))) {
                continue;
            }
            if r.is(ARGO_GROUP, "ApplicationSet") {
                // Its Applications are objects of the instance it is in.
                queue.extend(self.render_application_set(&r).into_iter().map(|mut app| {
                    app.cluster.clone_from(&r.cluster);
                    app
                }));
                continue;
            }
            // The Argo CD instance this Application lives in (when the
            // repository bootstraps several), and where it deploys.
            let instance = r.cluster.clone();
            let destination = match (destination_cluster(&r), &instance) {
                (d, Some(instance)) if d == IN_CLUSTER => instance.clone(),
                (d, _) => Arc::from(d.as_str()),
            };
            let (app, children, local) = self.expand_application(r);
            resolved |= local;
            for mut child in children {
                if is_argo_root(&child) {
                    // An Application object: of the instance that applies it.
                    child.cluster.clone_from(&instance);
                    queue.push(child.clone());
                } else {
                    // What an Application deploys lands on its destination
                    // (kept only when there are several, below).
                    child.cluster = Some(destination.clone());
                }
                built.push(child);
            }
            apps.push(app);
        }
        built.extend(from_charts);
        let destinations: HashSet<&str> = built.iter().chain(&apps).filter_map(|r| r.cluster.as_deref()).collect();
        if destinations.len() < 2 {
            for r in built.iter_mut().chain(&mut apps) {
                r.cluster = None;
            }
        }
        let reached: HashSet<FileId> = built.iter().map(|r| r.file).collect();
        let root_files: HashSet<FileId> = roots.iter().map(|r| r.file).collect();
        if reached.is_subset(&root_files) && !resolved {
            return false; // nothing but the roots themselves: their sources live elsewhere
        }
        let mut keep: HashSet<super::flux::InstanceKey> = HashSet::new();
        let mut resources: Vec<Resource> = Vec::new();
        let previous = std::mem::take(&mut self.model.resources);
        let app_keys: HashSet<(FileId, usize)> = apps.iter().map(|a| (a.file, a.doc_index)).collect();
        for r in apps.into_iter().chain(built) {
            if keep.insert((r.cluster.clone(), r.file, r.doc_index, r.namespace.clone(), r.name.clone())) {
                resources.push(r);
            }
        }
        let reached_all: HashSet<FileId> = resources.iter().map(|r| r.file).collect();
        let mut unreached = Vec::new();
        // Argo built the same object again: drop the plain instance.
        let built_keys: HashSet<(FileId, usize)> = resources.iter().map(|r| (r.file, r.doc_index)).collect();
        for r in previous {
            if app_keys.contains(&(r.file, r.doc_index)) || built_keys.contains(&(r.file, r.doc_index)) {
                continue;
            }
            // Flux deployed it, or it is applied with the roots (an
            // ApplicationSet, the bootstrap file's other documents).
            if flux_ran || root_files.contains(&r.file) {
                if keep.insert((r.cluster.clone(), r.file, r.doc_index, r.namespace.clone(), r.name.clone())) {
                    resources.push(r);
                }
                continue;
            }
            unreached.push(Unreached::of(r, "not deployed by any Argo CD Application".into()));
        }
        self.model.unreached.retain(|u| !reached_all.contains(&u.file));
        self.model.unreached.extend(unreached);
        self.model.resources = resources;
        true
    }

    /// The roots in the order they are expanded, each top one (that no other
    /// root's literal source path covers) tagged with the Argo CD instance
    /// it bootstraps when the repository holds several: one Argo CD cannot
    /// hold two Applications of one name, so top roots of one name in
    /// different files are applied to different instances (an overlay per
    /// cluster). An instance is named by the directory that tells its files
    /// apart (`argocd/overlays/home` → `home`). Top roots come last, so they
    /// are expanded first and what they deploy is reached with their tag,
    /// not as an untagged root of its own.
    fn order_by_instance(&self, roots: &[Resource]) -> Vec<Resource> {
        let covered: Vec<(usize, PathBuf)> = roots
            .iter()
            .enumerate()
            .flat_map(|(i, r)| self.literal_source_dirs(r).into_iter().map(move |d| (i, d)))
            .collect();
        let dir_of_file = |file: FileId| {
            self.sources.file(file).map(|f| super::kustomize::normalize(f.path.parent().unwrap_or(Path::new(""))))
        };
        let dir_of = |r: &Resource| dir_of_file(r.file);
        // A root is covered when its file, or a file that built it (the
        // kustomization of an overlay, a patch), is in a directory another
        // root deploys.
        let top: Vec<bool> = roots
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let dirs: Vec<PathBuf> =
                    std::iter::once(r.file).chain(r.via.iter().map(|v| v.span.file)).filter_map(dir_of_file).collect();
                !covered.iter().any(|(j, d)| *j != i && dirs.iter().any(|dir| dir.starts_with(d)))
            })
            .collect();
        let mut groups: BTreeMap<(&str, &str, Option<&str>), Vec<usize>> = BTreeMap::new();
        for (i, r) in roots.iter().enumerate().filter(|(i, _)| top.get(*i) == Some(&true)) {
            groups.entry((r.kind.as_str(), r.name.as_str(), r.namespace.as_deref())).or_default().push(i);
        }
        let mut instance: BTreeMap<usize, Arc<str>> = BTreeMap::new();
        for members in groups.values().filter(|m| m.len() > 1) {
            let dirs: Vec<Vec<String>> = members
                .iter()
                .map(|&i| {
                    let dir = roots.get(i).and_then(dir_of).unwrap_or_default();
                    dir.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect()
                })
                .collect();
            let depth = dirs.iter().map(Vec::len).max().unwrap_or(0);
            let Some(at) = (0..depth).find(|&k| dirs.iter().any(|d| d.get(k) != dirs.first().and_then(|f| f.get(k))))
            else {
                continue; // one file patched per build: nothing names the instances
            };
            for (&i, d) in members.iter().zip(&dirs) {
                let name = d.get(at).cloned().unwrap_or_else(|| d.join("/"));
                instance.entry(i).or_insert_with(|| Arc::from(name.as_str()));
            }
        }
        // Other top roots in an instance's directory belong to it.
        let named: Vec<(PathBuf, Arc<str>)> =
            instance.iter().filter_map(|(&i, n)| Some((roots.get(i).and_then(dir_of)?, n.clone()))).collect();
        let mut first = Vec::new();
        let mut last = Vec::new();
        for (i, r) in roots.iter().enumerate() {
            let mut r = r.clone();
            if top.get(i) == Some(&true) {
                if r.cluster.is_none() {
                    let here = dir_of(&r);
                    r.cluster = instance
                        .get(&i)
                        .cloned()
                        .or_else(|| named.iter().find(|(d, _)| Some(d) == here.as_ref()).map(|(_, n)| n.clone()));
                }
                last.push(r);
            } else {
                first.push(r);
            }
        }
        first.extend(last);
        first
    }

    /// The directories of this repository an Application's sources name by
    /// a literal path (no placeholder; not a chart from a Helm repository).
    fn literal_source_dirs(&self, app: &Resource) -> Vec<PathBuf> {
        let spec = app.spec();
        let sources = spec
            .and_then(|s| s.get("source"))
            .into_iter()
            .chain(spec.and_then(|s| s.get("sources")).map_or(&[][..], Node::as_seq));
        sources.filter_map(|source| self.local_source_dir(source).ok().flatten()).collect()
    }

    /// The directory of this repository an Application source deploys:
    /// `None` for a source with no path or a chart from a Helm repository;
    /// an error (what to note) for a path not resolved, another
    /// repository, or a directory lifeboat did not read.
    fn local_source_dir(&self, source: &Node) -> Result<Option<PathBuf>, String> {
        let Some(path) = source.get("path").and_then(Node::as_str) else { return Ok(None) };
        if source.get("chart").is_some() {
            return Ok(None);
        }
        if super::is_unresolved(path) {
            return Err(format!("source path `{path}` is not resolved"));
        }
        let repo = source.get("repoURL").and_then(Node::as_str).filter(|u| !super::is_unresolved(u));
        if let (Some(url), Some(own)) = (repo, &self.argo_own_repository) {
            if super::repository_id(url) != *own {
                return Err(format!("its source {url} is another repository: not read"));
            }
        }
        match self.flux_dir(path) {
            Some(dir) => Ok(Some(dir)),
            None => Err(format!("path `{path}` is not a directory lifeboat read")),
        }
    }

    /// What one Application deploys; the Application comes back with the
    /// in-repo `valueFiles` merged into its `valuesObject`, and whether a
    /// source is a directory of this repository.
    fn expand_application(&mut self, mut app: Resource) -> (Resource, Vec<Resource>, bool) {
        let label = format!("Argo CD Application `{}`", app.name);
        let span = app.name_span();
        let spec = app.spec().cloned();
        // A namespace left as a placeholder (a cluster generator's) is unknown.
        let destination = str_at(spec.as_ref(), &["destination", "namespace"])
            .filter(|ns| !super::is_unresolved(ns))
            .map(str::to_string);
        let single = spec.as_ref().and_then(|s| s.get("source")).cloned();
        let many: Vec<Node> = spec.as_ref().and_then(|s| s.get("sources")).map_or(&[][..], Node::as_seq).to_vec();
        // `$ref/…` value files name the root of the source with that `ref`.
        let refs: Vec<String> =
            many.iter().filter_map(|s| s.get("ref").and_then(Node::as_str)).map(|r| format!("${r}/")).collect();
        let mut out = Vec::new();
        let mut local = false;
        for (index, source) in
            single.iter().map(|s| (None, s)).chain(many.iter().enumerate().map(|(i, s)| (Some(i), s)))
        {
            let dir = match self.local_source_dir(source) {
                Ok(Some(dir)) => dir,
                Ok(None) => continue,
                Err(why) => {
                    self.note(span, format!("{label}: {why}"));
                    continue;
                }
            };
            local = true;
            let mut built = Vec::new();
            let recurse = source.path(&["directory", "recurse"]).and_then(Node::as_bool) == Some(true);
            if let Some(&kid) = self.index.kustomization_dirs.get(&dir) {
                self.accumulate(kid, &mut Vec::new(), &mut built);
                if let Some(options) = source.get("kustomize") {
                    self.argo_kustomize_options(options, &mut built);
                }
                finish_build(&mut built);
            } else if self.is_chart(&dir) {
                // A chart of the repository: rendered with the release's values.
                let files = self.value_files(&dir, source, &refs);
                let values = super::helm::build::argo_values(files.clone(), source);
                let release = str_at(Some(source), &["helm", "releaseName"]).unwrap_or(&app.name).to_string();
                let render = self.render_chart(&dir, &release, destination.as_deref(), &values, &label, span);
                built.extend(render.resources);
                app.rendered_chart = Some(render.left);
                app.blind = render.blind;
                if let Some(values) = files {
                    merge_values(&mut app, index, values);
                }
            } else {
                // A plain directory: its files (and its subdirectories' with
                // `recurse`), filtered by `directory.include`/`exclude`.
                let mut files = Vec::new();
                self.files_below(&dir, recurse, &mut files);
                let pattern = |key: &str| source.path(&["directory", key]).and_then(Node::as_nonempty_str);
                let include = pattern("include").map(|p| Globs::new(&[p]));
                let exclude = pattern("exclude").map(|p| Globs::new(&[p]));
                for file in files {
                    let Some(rel) = self.sources.file(file).and_then(|f| {
                        let rel = super::kustomize::normalize(&f.path);
                        rel.strip_prefix(&dir).ok().map(|r| r.to_string_lossy().replace('\\', "/"))
                    }) else {
                        continue;
                    };
                    if include.as_ref().is_none_or(|g| g.any(&rel)) && !exclude.as_ref().is_some_and(|g| g.any(&rel)) {
                        self.instantiate_file(file, None, &mut built);
                    }
                }
            }
            let rendered: Vec<Via> = app.via.iter().filter(|v| v.shown).cloned().collect();
            let deployed: Arc<str> = format!("deployed by {label}").into();
            for r in &mut built {
                r.via.push(Via { span, message: deployed.clone(), shown: true, patch: None });
                r.deployed_by = Some(app.name.clone());
                r.via.extend(rendered.iter().cloned());
                if let Some(ns) = &destination {
                    if r.namespace.is_none() && !is_cluster_scoped(&r.kind) {
                        r.namespace = Some(ns.clone());
                    }
                }
            }
            out.extend(built);
        }
        (app, out, local)
    }

    /// A kustomize source's own options, which Argo CD adds to the
    /// kustomization it builds: patches, namespace, name prefix and suffix,
    /// common labels and annotations.
    fn argo_kustomize_options(&mut self, options: &Node, built: &mut Vec<Resource>) {
        for item in options.get("patches").map_or(&[][..], Node::as_seq) {
            if let Some(inline) = item.get("patch").filter(|p| p.as_str().is_some()) {
                let patch = Patch {
                    body: PatchBody::Inline(inline.clone()),
                    target: item.get("target").map(Selector::parse),
                    span: item.span,
                };
                self.apply_patch(&patch, built, false);
            }
        }
        let string = |key: &str| str_with_span(Some(options), key);
        if let Some(ns) = string("namespace") {
            set_namespace(built, &ns, "Argo CD kustomize namespace");
        }
        add_prefix_suffix(built, string("namePrefix").as_ref(), string("nameSuffix").as_ref());
        for (key, field) in [("commonLabels", "labels"), ("commonAnnotations", "annotations")] {
            if let Some(pairs) = options.get(key) {
                add_metadata(built, field, pairs, key == "commonLabels");
            }
        }
    }

    /// The objects of each chart of the repository whose templates write
    /// Argo CD Applications or ApplicationSets, rendered as a release named
    /// after the chart with its own values (said in the summary: the roots
    /// are guessed).
    fn application_charts(&mut self) -> Vec<Resource> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        for &file in &self.sources.templates {
            let Some(f) = self.sources.file(file) else { continue };
            let argo = f.text.contains("argoproj.io")
                && (f.text.contains("kind: Application") || f.text.contains("kind: ApplicationSet"));
            if !argo {
                continue;
            }
            let path = super::kustomize::normalize(&f.path);
            // `<chart>/templates/…`: the nearest directory holding Chart.yaml.
            if let Some(dir) = path.ancestors().skip(1).find(|d| self.is_chart(d)) {
                // A subchart (`<parent>/charts/<name>`) renders with its parent.
                let sub = dir.parent().and_then(Path::file_name).is_some_and(|n| n == "charts");
                if !sub && !dirs.iter().any(|d| d == dir) {
                    dirs.push(dir.to_path_buf());
                }
            }
        }
        dirs.sort();
        let mut out = Vec::new();
        for dir in dirs {
            let chart_file =
                ["Chart.yaml", "Chart.yml"].iter().find_map(|n| self.index.files.get(&dir.join(n)).copied());
            let Some(doc) = chart_file.and_then(|f| self.docs_by_file.get(&f)).and_then(|d| d.first()) else {
                continue;
            };
            let span = doc.root.span;
            let name = doc.root.get("name").and_then(Node::as_nonempty_str).map(str::to_string);
            let display = self
                .sources
                .file(doc.file)
                .and_then(|f| f.display.rsplit_once('/'))
                .map_or_else(|| dir.display().to_string(), |(d, _)| d.to_string());
            let release = name.unwrap_or_else(|| display.rsplit('/').next().unwrap_or("root").to_string());
            let label = format!("chart `{display}` (no Application deploys it)");
            let empty = Node::mapping(Vec::new(), span);
            let values = super::helm::build::argo_values(None, &empty);
            let render = self.render_chart(&dir, &release, None, &values, &label, span);
            self.model.guessed_roots.push(format!("chart `{display}`"));
            out.extend(render.resources);
        }
        out
    }

    fn is_chart(&self, dir: &Path) -> bool {
        ["Chart.yaml", "Chart.yml"].iter().any(|name| self.index.files.contains_key(&dir.join(name)))
    }

    /// The YAML files of `dir` (and below it, with `recursive`).
    fn files_below(&self, dir: &Path, recursive: bool, out: &mut Vec<FileId>) {
        out.extend(self.dirs.get(dir).map_or(&[][..], Vec::as_slice));
        if recursive {
            for sub in self.subdirs.get(dir).map_or(&[][..], Vec::as_slice) {
                self.files_below(sub, true, out);
            }
        }
    }

    /// The in-repo `helm.valueFiles` of a chart source, merged in order.
    fn value_files(&mut self, dir: &Path, source: &Node, refs: &[String]) -> Option<Node> {
        let files = source.path(&["helm", "valueFiles"]).map_or(&[][..], Node::as_seq);
        let mut merged: Option<Node> = None;
        for entry in files.iter().filter_map(Node::as_str) {
            let path = match refs.iter().find_map(|r| entry.strip_prefix(r.as_str())) {
                Some(rest) => self.flux_dir(".").map(|root| root.join(rest)),
                None => Some(dir.join(entry)),
            };
            let Some(path) = path.map(|p| super::kustomize::normalize(&p)) else { continue };
            let Some(doc) = self.index.files.get(&path).and_then(|f| self.docs_by_file.get(f)).and_then(|d| d.first())
            else {
                continue;
            };
            let values = (*doc.root).clone();
            match &mut merged {
                Some(m) => strategic_merge(m, &values, false),
                None => merged = Some(values),
            }
        }
        merged
    }

    /// The Applications an ApplicationSet renders.
    fn render_application_set(&mut self, set: &Resource) -> Vec<Resource> {
        let label = format!("Argo CD ApplicationSet `{}`", set.name);
        let span = set.name_span();
        let Some(spec) = set.spec().cloned() else { return Vec::new() };
        let Some(template) = spec.get("template").filter(|t| t.is_map()) else { return Vec::new() };
        let mut apps = Vec::new();
        for generator in spec.get("generators").map_or(&[][..], Node::as_seq) {
            for params in self.generator_params(generator, &label, span, 0) {
                let mut root = template.clone();
                render(&mut root, &params);
                if let Some(patch) = spec.get("templatePatch").and_then(Node::as_str) {
                    self.template_patch(&mut root, patch, &params, &label, span);
                }
                // An Application left without a path deploys the generator's
                // directory, what git generators are for.
                let has_path = root.path(&["spec", "source", "path"]).is_some()
                    || root.path(&["spec", "sources"]).is_some_and(|s| !s.as_seq().is_empty());
                if let (false, Some(dir)) = (has_path, params.get("path.path")) {
                    if let Some(spec) = root.entry_map("spec") {
                        if let Some(source) = spec.entry_map("source") {
                            source.set("path", Node::string(dir.clone(), span));
                        }
                    }
                }
                let mut entries = vec![
                    (Node::string("apiVersion", span), Node::string("argoproj.io/v1alpha1", span)),
                    (Node::string("kind", span), Node::string("Application", span)),
                ];
                entries.extend(root.as_map().iter().cloned());
                if let Some(mut app) = Resource::synthesized(set.file, set.doc_index, Node::mapping(entries, root.span))
                {
                    app.via.push(Via {
                        span,
                        message: format!("rendered by {label}").into(),
                        shown: true,
                        patch: None,
                    });
                    apps.push(app);
                }
            }
        }
        apps
    }

    /// `templatePatch`: Go-templated YAML over the parameters, merged into
    /// the rendered template (positioned at the ApplicationSet's name).
    fn template_patch(&mut self, root: &mut Node, patch: &str, params: &Params, label: &str, span: crate::yaml::Span) {
        use super::helm::value::{Map, Value as V};
        let mut data = V::Map(Map::new());
        for (key, value) in params {
            let mut cur = &mut data;
            let parts: Vec<&str> = key.split('.').collect();
            for (i, part) in parts.iter().enumerate() {
                let V::Map(m) = cur else { break };
                if i + 1 == parts.len() {
                    m.insert((*part).to_string(), V::Str(value.clone()));
                    break;
                }
                let slot = m.entry((*part).to_string()).or_insert_with(|| V::Map(Map::new()));
                if !matches!(slot, V::Map(_)) {
                    *slot = V::Map(Map::new());
                }
                cur = slot;
            }
        }
        let rendered = super::helm::parse::parse(patch).map_err(|e| e.message).and_then(|parsed| {
            let mut exec = super::helm::exec::Exec::new(&parsed.defines);
            exec.render(&parsed.nodes, &data).map(|(text, _)| text).map_err(|e| e.message)
        });
        match rendered {
            Ok(text) => {
                let loaded = crate::yaml::load_str(span.file, &text);
                for doc in &loaded.documents {
                    let mut node = (*doc.root).clone();
                    node.map_spans(&mut |_| span);
                    if node.is_map() {
                        strategic_merge(root, &node, false);
                    }
                }
            }
            Err(message) => self.note(span, format!("{label}: its templatePatch is not applied: {message}")),
        }
    }

    /// The parameter sets of one generator, its `values` and `selector`
    /// applied. `matrix` crosses its two children, `merge` keeps its base's
    /// sets; a generator whose parameters come from the cluster or an
    /// outside service (`clusters`, `scmProvider`, `pullRequest` …) gives one
    /// set with nothing known, so placeholders naming them stay unresolved.
    fn generator_params(
        &mut self,
        generator: &Node,
        label: &str,
        span: crate::yaml::Span,
        depth: usize,
    ) -> Vec<Params> {
        let children = |key: &str| generator.path(&[key, "generators"]).map_or(&[][..], Node::as_seq).to_vec();
        let (sets, spec) = if let Some(git) = generator.get("git") {
            let mut sets = self.git_directories(git);
            sets.extend(self.git_files(git));
            (sets, Some(git))
        } else if let Some(list) = generator.get("list") {
            let sets = list
                .get("elements")
                .map_or(&[][..], Node::as_seq)
                .iter()
                .map(|element| {
                    let mut params = Params::new();
                    flatten("", element, &mut params);
                    params
                })
                .collect();
            (sets, Some(list))
        } else if generator.get("matrix").is_some() && depth < 4 {
            let mut sets = vec![Params::new()];
            for child in children("matrix") {
                let mut child_sets = self.generator_params(&child, label, span, depth + 1);
                // A product of many children multiplies: bounded, with a note.
                let room = MAX_PARAMETER_SETS / sets.len().max(1);
                if child_sets.len() > room {
                    self.note(
                        span,
                        format!("{label}: the matrix generator gives more than {MAX_PARAMETER_SETS} parameter sets; the rest are not read"),
                    );
                    child_sets.truncate(room);
                }
                sets = sets
                    .iter()
                    .flat_map(|a| {
                        child_sets.iter().map(move |b| a.iter().chain(b).map(|(k, v)| (k.clone(), v.clone())).collect())
                    })
                    .collect();
            }
            (sets, generator.get("matrix"))
        } else if generator.get("merge").is_some() && depth < 4 {
            let base = children("merge").first().map(|g| self.generator_params(g, label, span, depth + 1));
            (base.unwrap_or_default(), generator.get("merge"))
        } else {
            let kind = generator.as_map().first().and_then(|(k, _)| k.as_str()).unwrap_or("?");
            self.note(
                span,
                format!("{label}: the `{kind}` generator's parameters are not known here; placeholders naming them stay unresolved"),
            );
            (vec![Params::new()], generator.as_map().first().map(|(_, v)| v))
        };
        let values = spec.and_then(|g| g.get("values"));
        sets.into_iter()
            .map(|mut params| {
                for (k, v) in values.map_or(&[][..], Node::as_map) {
                    if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
                        let rendered = render_text(v, &params);
                        params.insert(format!("values.{k}"), rendered);
                    }
                }
                params
            })
            .filter(|params| selected(generator.get("selector"), params))
            .collect()
    }

    /// Directories of this repository relative to its root (the scanned path
    /// or the parent where the generator's globs match).
    fn repo_dirs(&self, patterns: &Globs) -> Vec<(String, PathBuf)> {
        let mut all: Vec<&PathBuf> =
            self.dirs.keys().chain(self.subdirs.keys()).chain(self.index.kustomization_dirs.keys()).collect();
        all.sort();
        all.dedup();
        for base in self.root.ancestors().take(8) {
            let rel: Vec<(String, PathBuf)> = all
                .iter()
                .filter_map(|d| {
                    let r = d.strip_prefix(base).ok()?.to_string_lossy().replace('\\', "/");
                    (!r.is_empty()).then(|| (r, (*d).clone()))
                })
                .collect();
            if rel.iter().any(|(r, _)| patterns.any(r)) {
                return rel;
            }
        }
        Vec::new()
    }

    fn git_directories(&self, git: &Node) -> Vec<Params> {
        let entries = git.get("directories").map_or(&[][..], Node::as_seq);
        let include: Vec<&str> = entries
            .iter()
            .filter(|e| e.get("exclude").and_then(Node::as_bool) != Some(true))
            .filter_map(|e| e.get("path").and_then(Node::as_str))
            .collect();
        let exclude: Vec<&str> = entries
            .iter()
            .filter(|e| e.get("exclude").and_then(Node::as_bool) == Some(true))
            .filter_map(|e| e.get("path").and_then(Node::as_str))
            .collect();
        if include.is_empty() {
            return Vec::new();
        }
        let (include, exclude) = (Globs::new(&include), Globs::new(&exclude));
        self.repo_dirs(&include)
            .into_iter()
            .filter(|(rel, _)| include.any(rel) && !exclude.any(rel))
            .map(|(rel, _)| path_params(&rel))
            .collect()
    }

    fn git_files(&self, git: &Node) -> Vec<Params> {
        let patterns: Vec<&str> = git
            .get("files")
            .map_or(&[][..], Node::as_seq)
            .iter()
            .filter_map(|e| e.get("path").and_then(Node::as_str))
            .collect();
        if patterns.is_empty() {
            return Vec::new();
        }
        let json = patterns.iter().any(|p| p.ends_with(".json"));
        let dirs: Vec<&str> = patterns.iter().map(|p| p.rsplit_once('/').map_or("", |(d, _)| d)).collect();
        let (patterns, dirs) = (Globs::new(&patterns), Globs::new(&dirs));
        let mut out = Vec::new();
        for (rel_dir, dir) in self.repo_dirs(&dirs) {
            for &file in self.dirs.get(&dir).map_or(&[][..], Vec::as_slice) {
                let Some(name) =
                    self.sources.file(file).and_then(|f| f.path.file_name()).map(|n| n.to_string_lossy().into_owned())
                else {
                    continue;
                };
                let rel = format!("{rel_dir}/{name}");
                if !patterns.any(&rel) {
                    continue;
                }
                for doc in self.docs_by_file.get(&file).map_or(&[][..], Vec::as_slice) {
                    file_params(&rel_dir, &name, &doc.root, &mut out);
                }
            }
            // JSON files (`config.json`): lifeboat reads only YAML, so they
            // are read here, from the directory, as Argo CD reads them.
            if !json {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json") && patterns.any(&format!("{rel_dir}/{n}")))
                .collect();
            names.sort();
            for name in names {
                let text = std::fs::File::open(dir.join(&name)).ok().and_then(|f| {
                    use std::io::Read;
                    let mut text = String::new();
                    f.take(MAX_JSON_BYTES).read_to_string(&mut text).ok().map(|_| text)
                });
                let Some(value) = text.and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()) else {
                    continue;
                };
                file_params(&rel_dir, &name, &json_node(&value, git.span, 0), &mut out);
            }
        }
        out
    }
}

/// A git files generator's JSON file is read up to this size.
const MAX_JSON_BYTES: u64 = 1 << 20;

/// One parameter set per object of a git files generator's file (a list
/// of them: one each).
fn file_params(rel_dir: &str, name: &str, root: &Node, out: &mut Vec<Params>) {
    let items: Vec<&Node> = match &root.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![root],
    };
    for item in items {
        let mut params = path_params(rel_dir);
        params.insert("path.filename".into(), name.to_string());
        params.insert("path.filenameNormalized".into(), normalized(name));
        flatten("", item, &mut params);
        out.push(params);
    }
}

/// A JSON value as a YAML node (at `span`: the generator that read it),
/// nested at most 64 deep.
fn json_node(value: &serde_json::Value, span: crate::yaml::Span, depth: usize) -> Node {
    use serde_json::Value as J;
    let scalar = |text: String, plain: bool| Node { value: Value::Scalar { text: text.into(), plain }, span };
    match value {
        J::Null => scalar("null".into(), true),
        J::Bool(b) => scalar(b.to_string(), true),
        J::Number(n) => scalar(n.to_string(), true),
        J::String(t) => scalar(t.clone(), false),
        _ if depth >= 64 => scalar(String::new(), false),
        J::Array(items) => {
            Node { value: Value::Seq(items.iter().map(|v| json_node(v, span, depth + 1)).collect()), span }
        }
        J::Object(map) => Node::mapping(
            map.iter().map(|(k, v)| (Node::string(k.as_str(), span), json_node(v, span, depth + 1))).collect(),
            span,
        ),
    }
}

/// This repository, as Argo CD roots name it: the repository most of their
/// path sources (`repoURL` with a `path`) point at.
fn own_repository(roots: &[Resource]) -> Option<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in roots {
        let mut sources: Vec<&Node> = Vec::new();
        for spec in [r.spec(), r.spec().and_then(|s| s.path(&["template", "spec"]))].into_iter().flatten() {
            sources.extend(spec.get("source"));
            sources.extend(spec.get("sources").map_or(&[][..], Node::as_seq));
        }
        let mut generators: Vec<&Node> = Vec::new();
        r.spec().and_then(|s| s.get("generators")).inspect(|g| g.walk(&mut |n: &Node| generators.extend(n.get("git"))));
        for (url, has_path) in sources
            .iter()
            .map(|s| (s.get("repoURL"), s.get("path").is_some()))
            .chain(generators.iter().map(|g| (g.get("repoURL"), true)))
        {
            if let Some(url) = url.and_then(Node::as_str).filter(|u| has_path && !super::is_unresolved(u)) {
                *counts.entry(super::repository_id(url)).or_default() += 1;
            }
        }
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(id, _)| id)
}

/// Argo's globs: `*` stays within one path segment, `**` crosses them. A
/// pattern that does not compile matches nothing.
struct Globs(Vec<GlobMatcher>);

impl Globs {
    fn new(patterns: &[&str]) -> Globs {
        Globs(
            patterns
                .iter()
                .filter_map(|p| GlobBuilder::new(p.trim_start_matches("./")).literal_separator(true).build().ok())
                .map(|g| g.compile_matcher())
                .collect(),
        )
    }

    fn any(&self, path: &str) -> bool {
        self.0.iter().any(|g| g.is_match(path))
    }
}

fn normalized(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '-' }).collect()
}

/// The `path` parameters of a git generator for directory `rel`.
fn path_params(rel: &str) -> Params {
    let mut p = Params::new();
    let basename = rel.rsplit('/').next().unwrap_or(rel).to_string();
    p.insert("path".into(), rel.to_string());
    p.insert("path.path".into(), rel.to_string());
    p.insert("path.basenameNormalized".into(), normalized(&basename));
    p.insert("path.basename".into(), basename);
    for (i, segment) in rel.split('/').enumerate() {
        p.insert(format!("path.segments.{i}"), segment.to_string());
        p.insert(format!("path[{i}]"), segment.to_string());
    }
    p
}

/// Flatten a YAML value into dotted keys (`a.b.c`).
fn flatten(prefix: &str, node: &Node, out: &mut Params) {
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                if let Some(k) = k.as_str() {
                    let key = if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
                    flatten(&key, v, out);
                }
            }
        }
        Value::Scalar { text, .. } if !prefix.is_empty() => {
            out.insert(prefix.to_string(), text.to_string());
        }
        _ => {}
    }
}

/// The parameter a placeholder names (`.path.basename`, `path.basename`,
/// `path[0]`, `index .path.segments 0`), if it is only that.
fn placeholder_value<'p>(expr: &str, params: &'p Params) -> Option<&'p String> {
    let expr = expr.trim();
    if let Some(rest) = expr.strip_prefix("index ") {
        let mut parts = rest.split_whitespace();
        let (list, at) = (parts.next()?, parts.next()?);
        return params.get(&format!("{}.{at}", list.trim_start_matches('.')));
    }
    if expr.contains(char::is_whitespace) || expr.contains('|') {
        return None;
    }
    params.get(expr.trim_start_matches('.'))
}

fn render_text(text: &str, params: &Params) -> String {
    let Some(re) = PLACEHOLDER.as_ref() else { return text.to_string() };
    re.replace_all(text, |c: &regex::Captures| {
        let whole = c.get(0).map_or("", |m| m.as_str());
        c.get(1).and_then(|e| placeholder_value(e.as_str(), params)).cloned().unwrap_or_else(|| whole.to_string())
    })
    .into_owned()
}

fn render(node: &mut Node, params: &Params) {
    match &mut node.value {
        Value::Scalar { text, .. } if text.contains("{{") => *text = render_text(text, params).into(),
        Value::Scalar { .. } => {}
        Value::Seq(items) => items.iter_mut().for_each(|n| render(n, params)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            render(k, params);
            render(v, params);
        }),
    }
}

/// A generator `selector` (`matchLabels`, `matchExpressions`) on parameters
/// (one that is not valid selects nothing, as Argo CD refuses it).
fn selected(selector: Option<&Node>, params: &Params) -> bool {
    let Some(selector) = selector else { return true };
    crate::selector::LabelSelector::from_node(selector).is_ok_and(|s| s.matches(|k| params.get(k).map(String::as_str)))
}

/// Merge value files under a source's `helm.valuesObject` (which wins over them).
fn merge_values(app: &mut Resource, index: Option<usize>, mut values: Node) {
    let root = Arc::make_mut(&mut app.root);
    let Some(spec) = root.get_mut("spec") else { return };
    let source = match index {
        None => spec.get_mut("source"),
        Some(i) => match spec.get_mut("sources").map(|s| &mut s.value) {
            Some(Value::Seq(items)) => items.get_mut(i),
            _ => None,
        },
    };
    let Some(helm) = source.and_then(|s| s.entry_map("helm")) else { return };
    if let Some(object) = helm.get("valuesObject") {
        strategic_merge(&mut values, object, false);
    }
    helm.set("valuesObject", values);
}

/// Argo CD's name for the cluster it runs in.
const IN_CLUSTER: &str = "in-cluster";

/// The cluster an Application deploys to: `destination.name`, else
/// `destination.server`; Argo CD's own cluster (`in-cluster`,
/// `https://kubernetes.default.svc`) and an unresolved placeholder are
/// `in-cluster`.
fn destination_cluster(app: &Resource) -> String {
    let dest = app.spec().and_then(|s| s.get("destination"));
    let name = str_at(dest, &["name"]).filter(|n| !n.is_empty() && !super::is_unresolved(n));
    let server = str_at(dest, &["server"]).filter(|s| !s.is_empty() && !super::is_unresolved(s));
    match (name, server) {
        (Some(n), _) => n.to_string(),
        (None, Some(s)) if s.trim_end_matches('/') != "https://kubernetes.default.svc" => s.to_string(),
        _ => IN_CLUSTER.to_string(),
    }
}

/// What tells two Applications (or ApplicationSets) made from one document
/// apart: two kustomize builds of one ApplicationSet file, patched per
/// cluster, generate Applications of the same name from the same document,
/// with other sources and destinations.
fn application_identity(r: &Resource) -> String {
    let spec = r.spec();
    let mut id = vec![r.name.clone(), r.namespace.clone().unwrap_or_default()];
    for path in
        [&["source", "path"][..], &["destination", "server"], &["destination", "name"], &["destination", "namespace"]]
    {
        id.push(str_at(spec, path).unwrap_or("").to_string());
    }
    for source in spec.and_then(|s| s.get("sources")).map_or(&[][..], Node::as_seq) {
        id.push(str_at(Some(source), &["path"]).unwrap_or("").to_string());
    }
    // An ApplicationSet: its generators (a per-cluster patch changes them).
    if let Some(generators) = spec.and_then(|s| s.get("generators")) {
        let mut text = String::new();
        generators.walk(&mut |n| {
            if let Some(t) = n.as_str() {
                text.push_str(t);
                text.push('\u{1f}');
            }
        });
        id.push(text);
    }
    id.join("\u{0}")
}
