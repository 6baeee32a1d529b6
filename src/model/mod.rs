//! The model stage: turn documents into deployed `Resource` instances.
//!
//! First, kustomize: kustomizations that nothing includes are roots, each
//! built as `kustomize build` would (`transform.rs`, `generate.rs`,
//! `replace.rs`, `patch.rs`; checked against kubectl in
//! `tests/kustomize_diff.rs`). Files a kustomization reads but does not list
//! as resources (patches, replacements, generator inputs) are not resources.
//! A YAML file in a directory whose kustomization does not list it is not
//! deployed: it is counted as unreached, never linted and never silently
//! dropped. Files outside any kustomization are read one by one.
//!
//! Then, when the repository has them, Flux Kustomizations (`flux.rs`) and
//! Argo CD Applications and ApplicationSets (`argo.rs`) replace that reading
//! with what they deploy, and what none of them reaches is unreached.

mod argo;
pub mod argocd_apps;
pub mod catalogue;
pub mod charts;
mod expand;
mod flux;
mod generate;
pub mod helm;
mod inline;
pub mod kustomize;
pub mod operators;
pub mod patch;
mod plugins;
mod policies;
mod replace;
mod resource;
mod resourceset;
pub mod substitute;
mod transform;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use flux::{is_flux_root, Entry, EntrySource, SubstitutionGap};
pub use resource::{
    is_cluster_scoped, is_unresolved, made_secret, say_unresolved, say_unresolved_with, unresolved_refs,
    HiddenVariables, RenderedChart, Resource, Via, NO_VOLUME_DATA_ANNOTATION, OFFSITE_COPY_ANNOTATION,
    REBUILT_ANNOTATION,
};
pub use resourceset::Unrendered;

use crate::yaml::{Document, FileId, Sources, Span};
use kustomize::{Kustomization, PathIndex};

/// How deep kustomizations may include one another before lifeboat stops
/// following (real repositories nest a handful of levels; this bounds the
/// recursion on hostile input).
const MAX_NESTING: usize = 100;

/// A document that is not deployed, and why.
#[derive(Debug, Clone)]
pub struct Unreached {
    pub file: FileId,
    pub kind: String,
    pub name: String,
    pub reason: String,
    pub namespace: Option<String>,
    /// A ReplicationSource's `sourcePVC`, when written out: the claim it
    /// would back up if it were deployed.
    pub source_pvc: Option<String>,
}

/// The start of the reason a file of a Component nothing includes is not
/// deployed.
const COMPONENT_NOT_INCLUDED: &str = "in a kustomize Component";

impl Builder<'_> {
    /// A Component a Flux Kustomization includes (`spec.components`) is
    /// included after all: a file of it that is not deployed is one its
    /// kustomization does not list.
    pub(super) fn reword_included_components(&mut self, reached: &HashSet<FileId>) {
        let dir_of = |sources: &Sources, file: FileId| {
            sources.file(file).map(|f| kustomize::normalize(f.path.parent().unwrap_or(Path::new(""))))
        };
        let reached_dirs: HashSet<PathBuf> = reached.iter().filter_map(|&f| dir_of(self.sources, f)).collect();
        for u in &mut self.model.unreached {
            if !u.reason.starts_with(COMPONENT_NOT_INCLUDED) {
                continue;
            }
            // The Component's kustomization, as the reason was made from.
            let Some(dir) = dir_of(self.sources, u.file).filter(|d| reached_dirs.contains(d)) else { continue };
            let Some(kfile) = self.index.kustomization_dirs.get(&dir).and_then(|&k| self.sources.file(k)) else {
                continue;
            };
            u.reason = format!("not listed by {}", kfile.display);
        }
    }
}

impl Unreached {
    pub fn of(r: Resource, reason: String) -> Unreached {
        let source_pvc = (r.is("volsync.backube", "ReplicationSource"))
            .then(|| crate::yaml::str_at(r.spec(), &["sourcePVC"]))
            .flatten()
            .filter(|c| !is_unresolved(c))
            .map(str::to_string);
        Unreached { file: r.file, namespace: r.namespace, source_pvc, kind: r.kind, name: r.name, reason }
    }
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
    /// `${VAR}`s with no value that Flux Kustomizations substitute.
    pub substitution_gaps: Vec<SubstitutionGap>,
    /// Paths a kustomization or Flux Kustomization names that lifeboat did
    /// not read (each with the spellings it may have on disk): discovery
    /// says why when something is there (a symlink, an ignored file …).
    pub not_read: Vec<(Span, Vec<PathBuf>)>,
    /// The entry points the model started from, and how they were chosen.
    pub entries: Vec<Entry>,
    pub entry_source: EntrySource,
    /// The Flux entry point that was found but deploys nothing lifeboat
    /// read, and why (its sync path is not in the repository): roots were
    /// guessed instead.
    pub idle_entry: Option<String>,
    /// Substitution variables whose value is in a source lifeboat cannot
    /// read (a SOPS-encrypted Secret), and that source (`Secret \`x\``).
    pub hidden_variables: HiddenVariables,
    /// The substitution sources a webhook adds to every Flux Kustomization
    /// (`ConfigMap \`cluster-config\``…) and what adds them, as shown.
    pub injected_substitution: Option<String>,
    /// Roots lifeboat took without anything in the repository deploying
    /// them (a chart of Argo CD Applications installed by hand), as shown.
    pub guessed_roots: Vec<String>,
    /// `roots:` entries of the config that name nothing here (index, why).
    pub root_errors: Vec<(usize, String)>,
    /// Helm template files some release rendered (the rest were not).
    pub rendered_templates: HashSet<FileId>,
    /// Templates of rendered charts that could not be rendered, and why.
    pub chart_failures: Vec<ModelNote>,
    /// Every Helm release deployed, and how lifeboat knows what it makes.
    pub releases: Vec<charts::ChartRelease>,
    /// Files that kustomize generators read as raw text (`files:`,
    /// `envs:`) and no kustomization lists as a resource: not manifests.
    pub raw_inputs: HashSet<FileId>,
    /// flux-operator ResourceSets whose templates lifeboat could not render.
    pub unrendered: Vec<Unrendered>,
    /// Clusters synced from a local source (a kind cluster on a developer's
    /// machine) in a repository that also deploys real ones.
    pub dev_clusters: Vec<DevCluster>,
    /// Files something deploys or names: read as documents of a build, or
    /// listed by a kustomization (resources, patches, generator inputs).
    pub referenced: HashSet<FileId>,
    /// Custom resources deployed that ask for storage lifeboat does not
    /// model (an operator it has no rule for).
    pub unmodelled_storage: Vec<operators::UnmodelledStorage>,
}

/// A local development cluster: synced from `url` (said at `span`).
#[derive(Debug, Clone)]
pub struct DevCluster {
    pub cluster: Arc<str>,
    pub url: String,
    pub span: Span,
}

impl Model {
    /// Documents deployed (counted once however many instances they have)
    /// and documents not deployed.
    pub fn document_counts(&self) -> (usize, usize) {
        let deployed: HashSet<(FileId, usize)> = self.resources.iter().map(|r| (r.file, r.doc_index)).collect();
        (deployed.len(), self.unreached.len())
    }

    /// The clusters the repository deploys, when there are several.
    pub fn clusters(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.resources.iter().filter_map(|r| r.cluster.as_deref()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// What the model is asked to start from.
#[derive(Debug, Clone, Default)]
pub struct Options<'c> {
    /// `roots:` of the config, and the directory its paths are relative to.
    pub roots: &'c [crate::config::RootEntry],
    pub base: PathBuf,
    /// `charts:` of the config: catalogue entries of the user's own.
    pub charts: &'c [catalogue::Entry],
}

struct Builder<'s> {
    sources: &'s Sources,
    /// Where Flux paths are relative to (the scanned path).
    root: PathBuf,
    index: PathIndex,
    /// YAML files (not kustomizations) by their directory.
    dirs: HashMap<PathBuf, Vec<FileId>>,
    /// Each directory's direct subdirectories that hold YAML.
    subdirs: HashMap<PathBuf, Vec<PathBuf>>,
    kustomizations: HashMap<FileId, Arc<Kustomization>>,
    /// How many notes are about files themselves (remote bases, missing
    /// paths), made before any build.
    static_notes: usize,
    /// ConfigMap and Secret documents by (kind, name), in file order, for
    /// `substituteFrom` (built on first use).
    configs: std::cell::OnceCell<HashMap<(String, String), Vec<usize>>>,
    /// What changes Flux Kustomizations when the cluster admits them (see
    /// `flux::Mutators`), found on first use.
    mutators: std::cell::OnceCell<flux::Mutators>,
    /// The URL Flux syncs this repository from (see `own_flux_url`).
    flux_own_url: std::cell::OnceCell<Option<String>>,
    /// Inline patches parsed once, by the span of their text.
    inline_cache: inline::InlineCache,
    /// This repository as Argo CD roots name it (`owner/repo`).
    argo_own_repository: Option<String>,
    /// Compiled patch-target patterns (`None`: not a valid expression).
    regex_cache: HashMap<String, Option<regex::Regex>>,
    docs_by_file: HashMap<FileId, Vec<&'s Document>>,
    /// `roots:` of the config, resolved (taken by the Flux pass).
    configured: Vec<flux::Configured>,
    /// While a cluster of several is expanded: the files it reaches.
    cluster_files: Option<HashSet<FileId>>,
    options: Vec<crate::config::RootEntry>,
    base: PathBuf,
    /// The user's catalogue entries (`charts:` in .lifeboat.yaml).
    chart_entries: Vec<catalogue::Entry>,
    model: Model,
    seen_instances: HashSet<(FileId, usize, Option<String>, String)>,
    reached_files: HashSet<FileId>,
    /// The kustomizations built, in order (a reused build adds what it
    /// built): after the plain pass, those the entry points deploy.
    built_log: Vec<FileId>,
    /// Reused builds and the instance budget (`expand.rs`).
    expansions: expand::Expansions,
}

/// Build the model of `sources`; `root` is the scanned path (Flux paths are
/// relative to the repository root: it or one of its parents).
pub fn build(sources: &Sources, root: &Path) -> Model {
    build_with(sources, root, &Options::default())
}

/// [`build`] from the entry points `options` name.
pub fn build_with(sources: &Sources, root: &Path, options: &Options) -> Model {
    let mut b = Builder::new(sources, root);
    b.options = options.roots.to_vec();
    b.base = options.base.clone();
    b.chart_entries = options.charts.to_vec();
    b.run();
    let reached = std::mem::take(&mut b.reached_files);
    b.model.referenced.extend(reached);
    b.model
}

/// What `kustomize build dir` gives: the kustomization in `dir` built on its
/// own (no Flux, no Argo CD), and the notes made on the way. `None` when
/// `dir` holds no kustomization lifeboat read.
pub fn build_kustomization(sources: &Sources, dir: &Path) -> Option<(Vec<Resource>, Vec<ModelNote>)> {
    let mut b = Builder::new(sources, dir);
    let kid = *b.index.kustomization_dirs.get(&kustomize::normalize(dir))?;
    let mut out = Vec::new();
    b.accumulate(kid, &mut Vec::new(), &mut out);
    generate::finish_build(&mut out);
    Some((out, b.model.notes))
}

impl<'s> Builder<'s> {
    fn new(sources: &'s Sources, root: &Path) -> Builder<'s> {
        let index = PathIndex::new(&sources.files);
        let mut dirs: HashMap<PathBuf, Vec<FileId>> = HashMap::new();
        let mut subdirs: HashMap<PathBuf, HashSet<PathBuf>> = HashMap::new();
        let mut paths: Vec<(&PathBuf, &FileId)> = index.files.iter().collect();
        paths.sort();
        for (path, &id) in paths {
            let Some(dir) = path.parent() else { continue };
            if !kustomize::is_kustomization_file(path) {
                dirs.entry(dir.to_path_buf()).or_default().push(id);
            }
            let mut child = dir;
            while let Some(parent) = child.parent() {
                if !subdirs.entry(parent.to_path_buf()).or_default().insert(child.to_path_buf()) {
                    break;
                }
                child = parent;
            }
        }
        let subdirs = subdirs
            .into_iter()
            .map(|(k, v)| {
                let mut v: Vec<PathBuf> = v.into_iter().collect();
                v.sort();
                (k, v)
            })
            .collect();
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
                kustomizations.insert(id, Arc::new(k));
            }
        }
        let expansions =
            expand::Expansions::new(kustomizations.values().map(|k| &**k), &index, sources.documents.len());
        Builder {
            expansions,
            sources,
            root: kustomize::normalize(root),
            index,
            dirs,
            subdirs,
            kustomizations,
            static_notes: 0,
            configs: std::cell::OnceCell::new(),
            mutators: std::cell::OnceCell::new(),
            flux_own_url: std::cell::OnceCell::new(),
            inline_cache: HashMap::new(),
            argo_own_repository: None,
            regex_cache: HashMap::new(),
            docs_by_file,
            configured: Vec::new(),
            cluster_files: None,
            options: Vec::new(),
            base: PathBuf::new(),
            chart_entries: Vec::new(),
            model: Model::default(),
            seen_instances: HashSet::new(),
            reached_files: HashSet::new(),
            built_log: Vec::new(),
        }
    }

    fn run(&mut self) {
        let mut included: HashSet<FileId> = HashSet::new();
        let mut patches: HashSet<FileId> = HashSet::new();
        let mut notes = Vec::new();
        let mut listed: HashSet<FileId> = HashSet::new();
        for k in self.kustomizations.values() {
            let raw = k.generator_inputs.iter().filter_map(|p| self.index.files.get(p).copied());
            self.model.raw_inputs.extend(raw);
            listed.extend(k.resources.iter().filter_map(|e| self.index.files.get(&e.path).copied()));
            for entry in k.resources.iter().chain(&k.components) {
                if let Some(&kid) = self.index.kustomization_dirs.get(&entry.path) {
                    included.insert(kid);
                } else if !self.index.files.contains_key(&entry.path) {
                    self.model.not_read.push((entry.span, vec![entry.path.clone()]));
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
            // A directory of plugin configurations is built for them, not deployed.
            for entry in k.generator_plugins.iter().chain(&k.transformer_plugins) {
                if let kustomize::PluginEntry::Path(path, _) = entry {
                    if let Some(&kid) = self.index.kustomization_dirs.get(path) {
                        included.insert(kid);
                    }
                }
            }
            patches.extend(k.input_files.iter().filter_map(|p| self.index.files.get(p).copied()));
        }
        self.model.raw_inputs.retain(|f| !listed.contains(f));
        self.model.referenced.extend(listed.iter().chain(&patches).chain(&self.model.raw_inputs));
        self.static_notes = notes.len();
        self.model.notes = notes;

        let mut roots: Vec<FileId> = self
            .kustomizations
            .values()
            .filter(|k| !k.is_component && !included.contains(&k.file))
            .map(|k| k.file)
            .collect();
        roots.sort_unstable();
        for root in roots {
            let mut out = Vec::new();
            self.accumulate(root, &mut Vec::new(), &mut out);
            generate::finish_build(&mut out);
            // An instance of a shared base says which overlay built it.
            if let (Some(file), Some(doc)) =
                (self.sources.file(root), self.docs_by_file.get(&root).and_then(|d| d.first()))
            {
                // Paths come from one directory walk, so they compare as they are.
                let dir = file.path.parent().unwrap_or(Path::new(""));
                let span = doc.root.key_node("resources").map_or(doc.root.span, |k| k.span);
                let label: Arc<str> = Arc::from("built by this kustomization");
                for r in &mut out {
                    let inside = self.sources.file(r.file).is_some_and(|f| f.path.starts_with(dir));
                    if !inside {
                        r.via.push(Via { span, message: label.clone(), shown: true, patch: None });
                    }
                }
            }
            for r in out {
                self.push_instance(r);
            }
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
                            format!("{COMPONENT_NOT_INCLUDED} ({kfile}) that no kustomization includes")
                        }
                        _ => format!("not listed by {kfile}"),
                    };
                    for doc in docs {
                        if let Some(r) = Resource::from_document(doc) {
                            self.model.unreached.push(Unreached::of(r, reason.clone()));
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
        self.resolve_configured_roots();
        // From here on, what the entry points build.
        self.built_log.clear();
        let flux = self.run_flux();
        let argo = self.run_argo(flux);
        if argo && !flux {
            self.model.entry_source = EntrySource::Argo;
        }
        self.render_resource_sets();
        self.render_helm_releases();
        self.catalogue_releases();
        self.operator_objects();
        self.policy_objects();
        self.model.unmodelled_storage = operators::unmodelled_storage(&self.model.resources);
        // With entry points, a note on a kustomization none of them builds
        // is about a file that is not deployed (an archive, a commented-out
        // app): its documents are listed as not deployed instead.
        let known_roots =
            matches!(self.model.entry_source, EntrySource::Bootstrap | EntrySource::Configured | EntrySource::Argo);
        if (flux || argo) && known_roots && self.model.guessed_roots.is_empty() {
            let built: HashSet<FileId> = self.built_log.iter().copied().collect();
            let kustomizations = &self.kustomizations;
            self.model.notes.retain(|n| !kustomizations.contains_key(&n.span.file) || built.contains(&n.span.file));
        }
        // A kustomization built by several roots notes the same thing each time.
        self.model.notes.sort_by(|a, b| (a.span, &a.message).cmp(&(b.span, &b.message)));
        self.model.notes.dedup_by(|a, b| a.span == b.span && a.message == b.message);
    }

    /// Build kustomization `kid` into `acc`: its resources (each directory a
    /// build of its own), its components (which act on everything
    /// accumulated so far), then its generators and transformers. A build
    /// on its own (`acc` empty) of a kustomization several entries list is
    /// made once and reused.
    fn accumulate(&mut self, kid: FileId, stack: &mut Vec<FileId>, acc: &mut Vec<Resource>) {
        if !acc.is_empty() {
            self.accumulate_with(kid, stack, acc, &[]);
            return;
        }
        if let Some((resources, notes, built)) = self.expansions.reuse(kid) {
            acc.extend_from_slice(resources);
            self.model.notes.extend_from_slice(notes);
            self.built_log.extend_from_slice(built);
            return;
        }
        let notes_before = self.model.notes.len();
        let built_before = self.built_log.len();
        self.accumulate_with(kid, stack, acc, &[]);
        let notes = self.model.notes.get(notes_before..).unwrap_or(&[]);
        let built = self.built_log.get(built_before..).unwrap_or(&[]);
        self.expansions.keep(kid, acc, notes, built);
    }

    /// [`Self::accumulate`] with `extra` components appended to the
    /// kustomization's own (what Flux does with `spec.components`).
    fn accumulate_with(&mut self, kid: FileId, stack: &mut Vec<FileId>, acc: &mut Vec<Resource>, extra: &[FileId]) {
        if stack.is_empty() {
            self.expansions.start_root();
        }
        if stack.contains(&kid) || self.expansions.exhausted {
            return; // a cycle (noted where it is listed) or the budget is spent
        }
        self.built_log.push(kid);
        if stack.len() >= MAX_NESTING {
            if let Some(doc) = self.docs_by_file.get(&kid).and_then(|d| d.first()) {
                let span = doc.root.span;
                self.note(span, format!("kustomizations nest deeper than {MAX_NESTING} levels here: not followed"));
            }
            return;
        }
        let Some(k) = self.kustomizations.get(&kid).cloned() else {
            return;
        };
        stack.push(kid);
        // kustomize refuses an entry listed twice, a cycle and an object
        // built twice; lifeboat notes them and reads each once.
        let mut listed: HashSet<&Path> = HashSet::new();
        let mut have: HashSet<_> = acc.iter().map(expand::identity).collect();
        for entry in &k.resources {
            if !listed.insert(&entry.path) {
                self.note(
                    entry.span,
                    format!("`{}` is listed twice (kustomize refuses it): read once", entry.path.display()),
                );
                continue;
            }
            let mut built = Vec::new();
            if let Some(&child) = self.index.kustomization_dirs.get(&entry.path) {
                if stack.contains(&child) {
                    self.note(
                        entry.span,
                        format!(
                            "`{}` leads back to this kustomization (a cycle: kustomize refuses it): not followed",
                            entry.path.display()
                        ),
                    );
                    continue;
                }
                self.accumulate(child, stack, &mut built);
            } else if let Some(&file) = self.index.files.get(&entry.path) {
                if !self.kustomizations.contains_key(&file) {
                    self.instantiate_file(file, Some(entry.span), &mut built);
                }
            }
            let was_exhausted = self.expansions.exhausted;
            if !self.expansions.spend(built.len()) && !was_exhausted {
                let budget = self.expansions.budget();
                self.note(
                    entry.span,
                    format!("the build expands to more than {budget} instances here: not followed further"),
                );
            }
            let before = built.len();
            built.retain(|r| have.insert(expand::identity(r)));
            if built.len() < before {
                self.note(
                    entry.span,
                    format!(
                        "`{}` brings objects this build already has (kustomize refuses it): counted once",
                        entry.path.display()
                    ),
                );
            }
            acc.extend(built);
            if self.expansions.exhausted {
                break;
            }
        }
        let mut own = Vec::new();
        for e in &k.components {
            let Some(&child) = self.index.kustomization_dirs.get(&e.path) else { continue };
            if !listed.insert(&e.path) {
                self.note(e.span, format!("`{}` is listed twice (kustomize refuses it): read once", e.path.display()));
            } else if stack.contains(&child) {
                self.note(
                    e.span,
                    format!(
                        "`{}` leads back to this kustomization (a cycle: kustomize refuses it): not followed",
                        e.path.display()
                    ),
                );
            } else {
                own.push(child);
            }
        }
        for child in own.into_iter().chain(extra.iter().copied()) {
            self.accumulate_with(child, stack, acc, &[]);
        }
        self.generate_and_transform(&k, stack, acc);
        stack.pop();
    }

    /// The documents of `file` as instances.
    fn instantiate_file(&mut self, file: FileId, entry: Option<Span>, out: &mut Vec<Resource>) {
        self.reached_files.insert(file);
        let docs = self.docs_by_file.get(&file).cloned().unwrap_or_default();
        let included: Arc<str> = Arc::from("included here");
        for doc in docs {
            let Some(mut r) = Resource::from_document(doc) else {
                continue;
            };
            if let Some(span) = entry {
                r.via.push(Via { span, message: included.clone(), shown: false, patch: None });
            }
            out.push(r);
        }
    }

    /// Resolve `roots:` against the repository: a directory, a file (its
    /// documents), or the name of a Flux Kustomization or Argo CD
    /// Application (`name` or `namespace/name`).
    fn resolve_configured_roots(&mut self) {
        use crate::config::RootTarget;
        let options = std::mem::take(&mut self.options);
        for (index, entry) in options.iter().enumerate() {
            let text = entry.target.text();
            let as_path = !matches!(entry.target, RootTarget::Name(_));
            let as_name = !matches!(entry.target, RootTarget::Path(_));
            let path = if as_path { self.repository_path(text) } else { None };
            let target = match path {
                Some((p, None)) => Some(flux::ConfiguredTarget::Directory(p)),
                Some((_, Some(file))) => {
                    let docs = self.docs_by_file.get(&file).map_or(&[][..], Vec::as_slice);
                    Some(flux::ConfiguredTarget::Resources(docs.iter().map(|d| (d.file, d.index)).collect()))
                }
                None if as_name => {
                    let found: Vec<(FileId, usize)> = self
                        .model
                        .resources
                        .iter()
                        .filter(|r| is_flux_root(r) || argo::is_argo_root(r))
                        .filter(|r| r.name == text || r.qualified_name() == text)
                        .map(|r| (r.file, r.doc_index))
                        .collect();
                    (!found.is_empty()).then_some(flux::ConfiguredTarget::Resources(found))
                }
                None => None,
            };
            match target {
                Some(target) => self.configured.push(flux::Configured {
                    text: text.to_string(),
                    span: entry.span,
                    cluster: entry.cluster.clone(),
                    target,
                }),
                None => self.model.root_errors.push((
                    index,
                    format!(
                        "root `{text}` is not a file or directory lifeboat read, nor the name of a Flux Kustomization or Argo CD Application in this repository"
                    ),
                )),
            }
        }
    }

    /// A path of `roots:` (relative to the config) as the directory walk
    /// spelled it: the directory, and the file when it is one.
    fn repository_path(&self, text: &str) -> Option<(PathBuf, Option<FileId>)> {
        let joined = kustomize::normalize(&self.base.join(text));
        let mut candidates = vec![joined.clone()];
        if let Ok(cwd) = std::env::current_dir() {
            if let Ok(rel) = joined.strip_prefix(kustomize::normalize(&cwd)) {
                candidates.push(rel.to_path_buf());
            }
            if joined.is_relative() {
                candidates.push(kustomize::normalize(&cwd.join(&joined)));
            }
        }
        candidates.into_iter().find_map(|p| {
            if let Some(&file) = self.index.files.get(&p) {
                return Some((p, Some(file)));
            }
            let known = self.dirs.contains_key(&p)
                || self.subdirs.contains_key(&p)
                || self.index.kustomization_dirs.contains_key(&p);
            known.then_some((p, None))
        })
    }

    fn push_instance(&mut self, r: Resource) {
        if self.seen_instances.insert((r.file, r.doc_index, r.namespace.clone(), r.name.clone())) {
            self.model.resources.push(r);
        }
    }
}

/// `owner/repo` of a Git URL (`https://host/owner/repo.git`,
/// `ssh://git@host/owner/repo`, `git@host:owner/repo`), lowercased: what
/// tells this repository from another.
fn repository_id(url: &str) -> String {
    let url = url.trim().trim_end_matches('/').trim_end_matches(".git").to_lowercase().replace(':', "/");
    let parts: Vec<&str> = url.split('/').filter(|p| !p.is_empty()).collect();
    parts.iter().rev().take(2).rev().copied().collect::<Vec<_>>().join("/")
}
