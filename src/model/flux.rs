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
use super::{Builder, DevCluster, Resource, Via};
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
    /// The object the reference is in.
    pub resource: crate::finding::ResourceRef,
}

/// A `substituteFrom` source found in the repository.
struct Found {
    /// Its `data`/`stringData`, merged across definitions.
    data: Node,
    /// Its values are hidden (SOPS, base64 `data`): keys known, values not.
    hidden: bool,
    /// Values known although `hidden` (an ExternalSecret template's
    /// literal values).
    literal: Vec<(String, String)>,
    /// Made by a generator from files lifeboat does not read: it may hold
    /// more keys than lifeboat sees.
    partial: bool,
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
    /// A directory given in `roots:` (no path to resolve).
    dir: Option<PathBuf>,
    /// Its source is an artifact (`OCIRepository`, `Bucket`,
    /// `ExternalArtifact`), which may be pushed from a subdirectory of this
    /// repository: its path may name a directory by its end. A
    /// GitRepository's path is from the repository's root, exactly.
    artifact: bool,
    /// Where a FluxInstance (or flux-instance release) syncs from.
    source_url: Option<String>,
}

impl Root {
    fn empty() -> Root {
        Root {
            label: String::new(),
            name: None,
            span: Span::default(),
            path: String::new(),
            components: Vec::new(),
            target_namespace: None,
            vars: None,
            name_prefix: None,
            name_suffix: None,
            common_metadata: None,
            patches: Vec::new(),
            external: None,
            dir: None,
            artifact: false,
            source_url: None,
        }
    }

    /// A directory named in `roots:`, built as Flux builds a path.
    pub(super) fn directory(dir: PathBuf, span: Span) -> Root {
        Root { label: format!("root `{}` (.lifeboat.yaml)", dir.display()), span, dir: Some(dir), ..Root::empty() }
    }
}

pub fn is_flux_root(r: &Resource) -> bool {
    r.is(FLUX_KUSTOMIZE_GROUP, "Kustomization")
        || r.is("fluxcd.controlplane.io", "FluxInstance")
        || instance_sync(r).is_some()
}

/// A HelmRelease whose `instance.sync` is in a `valuesFrom` ConfigMap of the
/// repository (a values file put in by a `configMapGenerator`), with those
/// values written into `spec.values` so that it reads as the entry point it is.
fn with_values_from(r: &Resource, config_maps: &super::charts::ConfigMaps) -> Option<Resource> {
    if !r.is("helm.toolkit.fluxcd.io", "HelmRelease") || r.spec().and_then(|s| s.get("valuesFrom")).is_none() {
        return None;
    }
    let from = super::charts::values_from(r, config_maps)?;
    from.path(&["instance", "sync", "path"]).and_then(Node::as_str)?;
    let mut values = from;
    if let Some(own) = r.root.path(&["spec", "values"]) {
        super::patch::strategic_merge(&mut values, own, false);
    }
    let mut out = r.clone();
    std::sync::Arc::make_mut(&mut out.root).entry_map("spec")?.set("values", values);
    Some(out)
}

/// The key under which [`Builder::find_documents`] indexes what makes a
/// Secret in the cluster.
const SECRET_MAKER: &str = "(makes a Secret)";

/// The keys of the Secret an ExternalSecret makes, when its template
/// writes them all (`target.template.data`, merged by the default `Replace`
/// policy, no `templateFrom`), each with its value when the template writes
/// it literally (no `{{`: it is in Git, not in the store); `None` when the
/// keys come from the store.
fn made_secret_keys(root: &Node) -> Option<Vec<(Node, Option<String>)>> {
    if root.get("kind").and_then(Node::as_str) != Some("ExternalSecret") {
        return None;
    }
    let template = root.path(&["spec", "target", "template"])?;
    let merge = template.get("mergePolicy").and_then(Node::as_str).unwrap_or("Replace");
    if merge != "Replace" || template.get("templateFrom").is_some() {
        return None;
    }
    let data = template.get("data").filter(|d| d.is_map())?;
    Some(
        data.as_map()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().filter(|v| !v.contains("{{")).map(str::to_string)))
            .collect(),
    )
}

/// Whether a Flux source kind is an artifact (anything but a GitRepository,
/// the default).
fn is_artifact(kind: Option<&str>) -> bool {
    kind.is_some_and(|k| k != "GitRepository")
}

/// The `instance.sync` of a HelmRelease of the flux-operator's
/// `flux-instance` chart: the FluxInstance it makes syncs that path.
fn instance_sync(r: &Resource) -> Option<&Node> {
    release_instance_sync(&r.root).filter(|s| s.get("path").and_then(Node::as_str).is_some())
}

/// `spec.values.instance.sync` of a HelmRelease document (with or without a
/// path).
fn release_instance_sync(root: &Node) -> Option<&Node> {
    let group = str_at(Some(root), &["apiVersion"]).and_then(|a| a.rsplit_once('/')).map(|(g, _)| g);
    let release = group == Some("helm.toolkit.fluxcd.io") && str_at(Some(root), &["kind"]) == Some("HelmRelease");
    root.path(&["spec", "values", "instance", "sync"]).filter(|_| release)
}

/// Directory names that say what a directory holds, not which cluster it is
/// (`kubernetes/main/flux` is cluster `main`).
const GENERIC_SEGMENTS: &[&str] =
    &["flux", "flux-system", "bootstrap", "config", "apps", "kubernetes", "k8s", "cluster", "clusters", "base", "oci"];

/// The cluster an entry point's path names: the directory after a
/// `clusters`/`cluster` segment (`kubernetes/clusters/main` → `main`), else
/// its last segment that is not a generic one (`kubernetes/main/flux` →
/// `main`), else its last segment.
fn cluster_name(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let after = parts.windows(2).find(|w| matches!(w.first(), Some(&("clusters" | "cluster")))).and_then(|w| w.get(1));
    let specific = || parts.iter().rev().find(|p| !GENERIC_SEGMENTS.contains(&p.to_ascii_lowercase().as_str()));
    after.or_else(specific).or(parts.last()).map_or_else(|| "(root)".to_string(), |p| (*p).to_string())
}

/// Is `url` served from the machine Flux runs beside, not from a shared
/// server: a loopback host, Docker's host alias, or a registry on a
/// container network (`kind-registry:5000`: one label and a port, as kind's
/// local-registry setup names it)? A cluster synced from there is a local
/// development cluster.
fn local_source(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or((v6, ""), |(h, p)| (h, p.trim_start_matches(':'))),
        None => host_port.rsplit_once(':').map_or((host_port, ""), |(h, p)| (h, p)),
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "host.docker.internal"
        || host.starts_with("127.")
        || host == "::1"
        || (!host.is_empty() && !host.contains('.') && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
}

/// An entry point: where a cluster is bootstrapped, and what it deploys.
#[derive(Debug, Clone)]
pub struct Entry {
    /// "Flux Kustomization `flux-system/flux-system` (deploys itself)" …
    pub label: String,
    pub span: Span,
    /// The cluster it bootstraps (shown when there are several).
    pub cluster: String,
    /// How many documents it deployed.
    pub deployed: usize,
}

/// How the entry points were chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EntrySource {
    /// No Flux or Argo CD roots: plain kustomize and files.
    #[default]
    Kustomize,
    /// `roots:` in `.lifeboat.yaml`.
    Configured,
    /// Found where Flux is bootstrapped (a Kustomization that deploys
    /// itself, a FluxInstance, a flux-instance HelmRelease).
    Bootstrap,
    /// No bootstrap found: every Flux Kustomization nothing deploys.
    Fallback,
    /// Argo CD Applications.
    Argo,
}

/// What changes Flux Kustomizations when the cluster admits them, so that
/// their substitution is not only what the repository writes.
#[derive(Debug, Default)]
pub struct Mutators {
    /// Sources the kustomize-mutating-webhook chart adds to every
    /// Kustomization's `postBuild.substitute` (kind, name, the release's
    /// namespace), from its values `configMaps` and `secrets`.
    pub injected: Vec<(&'static str, String, Option<String>)>,
    /// What adds them (`HelmRelease \`flux-system/kustomize-mutating-webhook\``).
    pub injector: Option<String>,
    /// Another admission mutation of Kustomizations (a webhook, a
    /// MutatingAdmissionPolicy, a Kyverno mutate rule), as shown: what it
    /// adds is unknown, so no variable is said to be undefined.
    pub unknown: Option<String>,
}

/// Does an admission rule's `apiGroups` and `resources` take in Flux
/// Kustomizations?
fn rule_takes_kustomizations(rule: &Node) -> bool {
    let has = |key: &str, wanted: &str| {
        rule.get(key)
            .map_or(&[][..], Node::as_seq)
            .iter()
            .any(|v| v.as_str().is_some_and(|v| v == "*" || v == wanted || v.strip_suffix("/*") == Some(wanted)))
    };
    has("apiGroups", "kustomize.toolkit.fluxcd.io") && has("resources", "kustomizations")
}

/// What in these documents changes Flux Kustomizations at admission;
/// `values_of(name)` is the values a ConfigMap of that name holds (a
/// HelmRelease's `valuesFrom`).
fn find_mutators(documents: &[crate::yaml::Document], values_of: impl Fn(&str) -> Option<Node>) -> Mutators {
    let mut out = Mutators::default();
    for d in documents {
        let root = &d.root;
        let kind = root.get("kind").and_then(Node::as_str).unwrap_or("");
        let api = root.get("apiVersion").and_then(Node::as_str).unwrap_or("");
        let name = root.path(&["metadata", "name"]).and_then(Node::as_str).unwrap_or("");
        let spec = root.get("spec");
        let chart = spec.and_then(|s| s.path(&["chart", "spec", "chart"])).and_then(Node::as_str);
        let is_webhook_chart = api.starts_with("helm.toolkit.fluxcd.io/")
            && kind == "HelmRelease"
            && (chart == Some("kustomize-mutating-webhook")
                || (chart.is_none() && name == "kustomize-mutating-webhook"));
        if is_webhook_chart {
            let namespace = root.path(&["metadata", "namespace"]).and_then(Node::as_str).map(str::to_string);
            // Its values: inline, then each `valuesFrom` ConfigMap's.
            let mut values: Vec<Node> = spec.and_then(|s| s.get("values")).into_iter().cloned().collect();
            let mut unread = false;
            for source in spec.and_then(|s| s.get("valuesFrom")).map_or(&[][..], Node::as_seq) {
                let of_kind = source.get("kind").and_then(Node::as_str).unwrap_or("ConfigMap") == "ConfigMap";
                match source.get("name").and_then(Node::as_str).filter(|_| of_kind).and_then(&values_of) {
                    Some(v) => values.push(v),
                    None => unread = true,
                }
            }
            let before = out.injected.len();
            for (key, kind) in [("configMaps", "ConfigMap"), ("secrets", "Secret")] {
                for source in values.iter().flat_map(|v| v.get(key).map_or(&[][..], Node::as_seq)) {
                    if let Some(source) = source.get("name").and_then(Node::as_str) {
                        out.injected.push((kind, source.to_string(), namespace.clone()));
                    }
                }
            }
            if out.injected.len() > before {
                let ns = namespace.as_deref().map(|n| format!("{n}/")).unwrap_or_default();
                out.injector.get_or_insert_with(|| format!("HelmRelease `{ns}{name}`"));
            }
            // What it adds is not known when its values are not read.
            if unread && out.injected.len() == before && out.unknown.is_none() {
                out.unknown = Some(format!("HelmRelease `{name}` (kustomize-mutating-webhook)"));
            }
            continue;
        }
        let takes = match (api.split('/').next().unwrap_or(""), kind) {
            ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") => root
                .get("webhooks")
                .map_or(&[][..], Node::as_seq)
                .iter()
                .flat_map(|w| w.get("rules").map_or(&[][..], Node::as_seq))
                .any(rule_takes_kustomizations),
            ("admissionregistration.k8s.io", "MutatingAdmissionPolicy") => spec
                .and_then(|s| s.path(&["matchConstraints", "resourceRules"]))
                .map_or(&[][..], Node::as_seq)
                .iter()
                .any(rule_takes_kustomizations),
            ("kyverno.io", "ClusterPolicy" | "Policy") => spec
                .and_then(|s| s.get("rules"))
                .map_or(&[][..], Node::as_seq)
                .iter()
                .filter(|rule| rule.get("mutate").is_some())
                .flat_map(|rule| {
                    let blocks = ["any", "all"].into_iter().flat_map(|k| {
                        rule.path(&["match", k]).map_or(&[][..], Node::as_seq).iter().filter_map(|m| m.get("resources"))
                    });
                    blocks.chain(rule.path(&["match", "resources"])).collect::<Vec<_>>()
                })
                .flat_map(|res| res.get("kinds").map_or(&[][..], Node::as_seq))
                .any(|k| k.as_str().is_some_and(|k| k == "Kustomization" || k.ends_with("/Kustomization"))),
            _ => false,
        };
        if takes && out.unknown.is_none() {
            out.unknown = Some(format!("{kind} `{name}`"));
        }
    }
    out
}

impl Builder<'_> {
    /// Where `${var}` is in a scalar of several lines (a block scalar that
    /// holds a dashboard's JSON): its own line and column, found in the
    /// file's text within the scalar's span; else the span as it is.
    fn reference_in_file(&self, span: crate::yaml::Span, var: &str) -> crate::yaml::Span {
        if span.start.line == span.end.line {
            return span;
        }
        let Some(text) = self.sources.file(span.file).map(|f| f.text.as_str()) else { return span };
        let Some(scalar) = text.get(span.start.byte()..span.end.byte().min(text.len())) else { return span };
        let pattern = format!("${{{var}");
        let found = scalar.match_indices(&pattern).map(|(i, _)| i).find(|&i| {
            scalar
                .get(i + pattern.len()..)
                .is_some_and(|rest| !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
        });
        let Some(at) = found else { return span };
        let before = scalar.get(..at).unwrap_or("");
        let newlines = before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(nl) => before.get(nl + 1..).map_or(0, |t| t.chars().count()) + 1,
            None => usize::try_from(span.start.col).unwrap_or(1) + before.chars().count(),
        };
        let len = scalar.get(at..).and_then(|rest| rest.find('}')).map_or(pattern.len(), |end| end + 1);
        let start = span.start.byte() + at;
        let line = usize::try_from(span.start.line).unwrap_or(0) + newlines;
        let pos = |offset: usize, col: usize| crate::yaml::Pos {
            offset: u32::try_from(offset).unwrap_or(u32::MAX),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col).unwrap_or(u32::MAX),
        };
        crate::yaml::Span { file: span.file, start: pos(start, col), end: pos(start + len, col + len) }
    }

    /// What changes Flux Kustomizations at admission (found once).
    pub(super) fn mutators(&self) -> &Mutators {
        self.mutators.get_or_init(|| find_mutators(&self.sources.documents, |name| self.config_map_values(name)))
    }

    /// The Helm values a ConfigMap named `name` holds (its `values.yaml`):
    /// one in the repository, or one a kustomize `configMapGenerator` makes
    /// from a file lifeboat read.
    fn config_map_values(&self, name: &str) -> Option<Node> {
        let parse = |text: &str, file: FileId| {
            crate::yaml::load_str(file, text).documents.first().map(|d| (*d.root).clone()).filter(Node::is_map)
        };
        if let Some(doc) = self.find_documents("ConfigMap", name, None).first() {
            let text = doc.root.path(&["data", "values.yaml"]).and_then(Node::as_str);
            return text.and_then(|t| parse(t, doc.file));
        }
        for k in self.kustomizations.values() {
            let generated = k
                .generators
                .iter()
                .find(|(kind, g)| *kind == "ConfigMap" && g.get("name").and_then(Node::as_str) == Some(name));
            let Some((_, g)) = generated else { continue };
            let dir = self.kustomization_dir(k);
            for entry in g.get("files").map_or(&[][..], Node::as_seq).iter().filter_map(Node::as_str) {
                let path =
                    crate::model::kustomize::normalize(&dir.join(crate::model::kustomize::generator_file(entry)));
                let Some(&id) = self.index.files.get(&path) else { continue };
                if let Some(text) = self.sources.file(id).map(|f| f.text.as_str()) {
                    return parse(text, id);
                }
            }
        }
        None
    }

    /// The sources a Flux Kustomization substitutes from, in order (later
    /// ones win): what a webhook adds to every Kustomization, then its own
    /// `postBuild.substituteFrom`; each as (kind, name, namespace).
    fn substitution_sources<'r>(&'r self, r: &'r Resource) -> Vec<(&'r str, &'r str, Option<&'r str>)> {
        let injected = self.mutators().injected.iter().map(|(kind, name, ns)| (*kind, name.as_str(), ns.as_deref()));
        let own = r.spec().and_then(|s| s.path(&["postBuild", "substituteFrom"])).map_or(&[][..], Node::as_seq);
        let own = own.iter().filter_map(|source| {
            let kind = source.get("kind").and_then(Node::as_str).unwrap_or("ConfigMap");
            Some((kind, source.get("name").and_then(Node::as_str)?, r.namespace.as_deref()))
        });
        injected.chain(own).collect()
    }

    /// Variables of a Flux Kustomization's `postBuild` (`None`: no postBuild,
    /// so Flux substitutes nothing — unless a webhook adds one).
    fn flux_vars(&self, r: &Resource) -> Option<Vars> {
        let mutators = self.mutators();
        let post = r.spec().and_then(|s| s.get("postBuild"));
        if post.is_none() && mutators.injected.is_empty() {
            return None;
        }
        let mut vars = Vars::default();
        for (k, v) in post.and_then(|p| p.get("substitute")).map_or(&[][..], Node::as_map) {
            if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
                vars.values.insert(k.to_string(), Binding::Value(v.to_string()));
            }
        }
        // `substituteFrom`: later sources win over earlier ones, and
        // `substitute` wins over all. What a webhook adds comes first.
        let mut from = Vars::default();
        for (kind, name, namespace) in self.substitution_sources(r) {
            match self.find_config(kind, name, namespace) {
                // Encrypted (SOPS, base64 `data`): its keys are known by
                // name, their values are not.
                Some(Found { data, hidden: true, literal, partial }) => {
                    for (k, _) in data.as_map() {
                        if let Some(k) = k.as_str() {
                            from.values.insert(k.to_string(), Binding::Unknown);
                        }
                    }
                    for (k, v) in literal {
                        from.values.insert(k, Binding::Value(v));
                    }
                    from.incomplete |= partial;
                }
                Some(Found { data, hidden: false, partial, .. }) => {
                    for (k, v) in data.as_map() {
                        if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
                            from.values.insert(k.to_string(), Binding::Value(v.to_string()));
                        }
                    }
                    from.incomplete |= partial;
                }
                // Not in the repository: made in the cluster (an
                // ExternalSecret, a SOPS secret decrypted there, by hand), so
                // any variable may come from it (even an `optional` one may
                // be there): unknown, not undefined.
                None => from.incomplete = true,
            }
        }
        for (k, v) in from.values {
            vars.values.entry(k).or_insert(v);
        }
        vars.incomplete = from.incomplete || mutators.unknown.is_some();
        Some(vars)
    }

    /// Where each variable whose value lifeboat cannot read comes from (a
    /// key of a SOPS-encrypted Secret a Flux Kustomization substitutes
    /// from), for the reports to say so: "`${NFS_SERVER}`: its value is in
    /// Secret `cluster-secrets`, which lifeboat cannot read".
    fn record_hidden_variables(&mut self) {
        let mut hidden: std::collections::BTreeMap<String, Vec<(String, String)>> = std::collections::BTreeMap::new();
        for r in self.model.resources.iter().filter(|r| r.is("kustomize.toolkit.fluxcd.io", "Kustomization")) {
            for (kind, name, namespace) in self.substitution_sources(r) {
                if let Some(Found { data, hidden: true, .. }) = self.find_config(kind, name, namespace) {
                    for k in data.as_map().iter().filter_map(|(k, _)| k.as_str()) {
                        let by = hidden.entry(k.to_string()).or_default();
                        if !by.iter().any(|(ks, _)| *ks == r.name) {
                            by.push((r.name.clone(), format!("{kind} `{name}`")));
                        }
                    }
                }
            }
        }
        self.model.hidden_variables = super::HiddenVariables(hidden);
        let m = self.mutators();
        if let Some(by) = &m.injector {
            let sources: Vec<String> = m.injected.iter().map(|(kind, name, _)| format!("{kind} `{name}`")).collect();
            self.model.injected_substitution = Some(format!("{} (added by {by})", sources.join(", ")));
        }
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
                // What makes a Secret in the cluster, by the Secret's name.
                let group = d.root.get("apiVersion").and_then(Node::as_str).and_then(|a| a.rsplit_once('/'));
                let made =
                    kind.and_then(|k| super::made_secret(group.map_or("", |(g, _)| g), k, name.unwrap_or(""), &d.root));
                if let Some((made, _)) = made {
                    index.entry((SECRET_MAKER.to_string(), made)).or_default().push(i);
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
    fn find_config(&self, kind: &str, name: &str, namespace: Option<&str>) -> Option<Found> {
        // Several clusters in one repo often each define it (one per cluster
        // directory): their keys are merged, the first definition of a key wins.
        let mut merged: Vec<(Node, Node)> = Vec::new();
        let mut hidden = false;
        let mut incomplete = false;
        let mut literal = Vec::new();
        let mut docs = self.find_documents(kind, name, namespace);
        // In a repository of several clusters, a cluster's own definition.
        if let Some(files) = &self.cluster_files {
            if docs.iter().any(|d| files.contains(&d.file)) {
                docs.retain(|d| files.contains(&d.file));
            }
        }
        let mut roots: Vec<(&Node, bool)> = docs.into_iter().map(|d| (&*d.root, false)).collect();
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
        let mut found = !roots.is_empty();
        // A Secret an ExternalSecret (or the like) makes: its keys are the
        // cluster's, whatever a copy in the repository lists; known only
        // when the maker writes them all (an ExternalSecret's template).
        if kind == "Secret" {
            for maker in self.find_documents(SECRET_MAKER, name, namespace) {
                found = true;
                hidden = true;
                match made_secret_keys(&maker.root) {
                    Some(keys) => {
                        for (key, value) in keys {
                            if !merged.iter().any(|(m, _)| m.as_str() == key.as_str()) {
                                if let (Some(k), Some(v)) = (key.as_str(), value) {
                                    literal.push((k.to_string(), v));
                                }
                                merged.push((key.clone(), Node::string("", key.span)));
                            }
                        }
                    }
                    None => incomplete = true,
                }
            }
        }
        for (root, partial) in roots {
            incomplete |= partial;
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
        found.then_some(Found {
            data: Node { value: crate::yaml::Value::Map(merged), span },
            hidden,
            literal,
            partial: incomplete,
        })
    }

    fn flux_root(&self, r: &Resource) -> Option<Root> {
        let spec = r.spec();
        if let Some(sync) = instance_sync(r) {
            let url = sync.get("url").and_then(Node::as_str);
            // Another repository only when this one's URL is known (its
            // flux-system GitRepository or FluxInstance), not guessed from
            // the GitRepositories it happens to define: a release syncing
            // the flux-instance chart is this repository's entry point.
            let own = self.known_flux_url();
            let external = match (url, own) {
                (Some(u), Some(o)) if super::repository_id(u) != super::repository_id(&o) => Some(u.to_string()),
                _ => None,
            };
            return Some(Root {
                label: format!("HelmRelease `{}` (flux-instance chart)", r.qualified_name()),
                name: None,
                span: r.name_span(),
                path: str_at(Some(sync), &["path"])?.to_string(),
                source_url: url.map(str::to_string),
                artifact: is_artifact(str_at(Some(sync), &["kind"])),
                external,
                ..Root::empty()
            });
        }
        if r.is("fluxcd.controlplane.io", "FluxInstance") {
            return Some(Root {
                label: format!("FluxInstance `{}`", r.qualified_name()),
                name: None,
                span: r.name_span(),
                path: str_at(spec, &["sync", "path"])?.to_string(),
                source_url: str_at(spec, &["sync", "url"]).map(str::to_string),
                artifact: is_artifact(str_at(spec, &["sync", "kind"])),
                ..Root::empty()
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
            dir: None,
            artifact: is_artifact(str_at(spec, &["sourceRef", "kind"])),
            source_url: None,
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
        let name = source.get("name").and_then(Node::as_str)?;
        let url = |kind: &str, name: &str, path: &[&str]| self.document_text(kind, name, path);
        match source.get("kind").and_then(Node::as_str) {
            Some("GitRepository") | None => {
                if name == "flux-system" {
                    return None;
                }
                let theirs = url("GitRepository", name, &["spec", "url"])?;
                let other = match self.own_flux_url() {
                    Some(own) => super::repository_id(&theirs) != super::repository_id(&own),
                    // This repository's URL is not written here: a source
                    // other than the one most Kustomizations deploy from
                    // (`flux-system`, made by bootstrap or a FluxInstance)
                    // is another repository.
                    None => self.most_used_git_source_name().is_some_and(|most| most != name),
                };
                other.then(|| format!("GitRepository `{name}` ({theirs})"))
            }
            Some(kind @ ("OCIRepository" | "Bucket")) => {
                // `flux-system` is the source a FluxInstance or bootstrap
                // makes of this repository (pushed as an artifact, say).
                if name == "flux-system" {
                    return None;
                }
                let theirs = url(kind, name, &["spec", "url"]);
                let own = self.own_flux_url();
                if theirs.is_some() && theirs == own {
                    return None;
                }
                // Upstream manifests (`path: ./` of someone's artifact) are
                // nothing here; a path naming a directory of this repository
                // may be this repository pushed as an artifact.
                let path = str_at(r.spec(), &["path"]).unwrap_or("./");
                let names_a_directory = !normalize(Path::new(path.trim_start_matches('/'))).as_os_str().is_empty()
                    && self.source_dir(path, true).is_some();
                (!names_a_directory).then(|| match theirs {
                    Some(u) => format!("{kind} `{name}` ({u})"),
                    None => format!("{kind} `{name}`"),
                })
            }
            // An ExternalArtifact (made by an ArtifactGenerator from this
            // repository's sources, typically) resolves by its path.
            Some(_) => None,
        }
    }

    /// The URL this repository is synced from: the `flux-system`
    /// GitRepository's or a FluxInstance's.
    /// Without either, the GitRepository that most Flux Kustomizations
    /// deploy from: a repository's own source is the one it is built from.
    fn own_flux_url(&self) -> Option<String> {
        self.flux_own_url.get_or_init(|| self.known_flux_url().or_else(|| self.most_used_git_source())).clone()
    }

    /// The URL this repository is synced from when the repository says so:
    /// its `flux-system` GitRepository's, its FluxInstance's, or the sync
    /// of a flux-instance chart's release.
    fn known_flux_url(&self) -> Option<String> {
        self.document_text("GitRepository", "flux-system", &["spec", "url"])
            .or_else(|| self.document_text("FluxInstance", "flux", &["spec", "sync", "url"]))
            .or_else(|| {
                self.sources.documents.iter().find_map(|d| {
                    let sync = release_instance_sync(&d.root)?;
                    str_at(Some(sync), &["url"]).filter(|u| !super::is_unresolved(u)).map(str::to_string)
                })
            })
    }

    /// The URL of the GitRepository most Flux Kustomizations name as their
    /// `sourceRef`, if it is defined here.
    fn most_used_git_source(&self) -> Option<String> {
        let name = self.most_used_git_source_name()?;
        self.document_text("GitRepository", &name, &["spec", "url"])
    }

    /// The GitRepository most Flux Kustomizations name as their `sourceRef`
    /// (ties: the first name in order).
    fn most_used_git_source_name(&self) -> Option<String> {
        let mut uses: HashMap<&str, usize> = HashMap::new();
        for d in &self.sources.documents {
            let root = &d.root;
            let api = str_at(Some(root), &["apiVersion"]).unwrap_or("");
            if !api.starts_with(FLUX_KUSTOMIZE_GROUP) || str_at(Some(root), &["kind"]) != Some("Kustomization") {
                continue;
            }
            let source = root.path(&["spec", "sourceRef"]);
            if str_at(source, &["kind"]).unwrap_or("GitRepository") != "GitRepository" {
                continue;
            }
            if let Some(name) = str_at(source, &["name"]) {
                *uses.entry(name).or_default() += 1;
            }
        }
        let mut ranked: Vec<(&str, usize)> = uses.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        ranked.first().map(|(name, _)| (*name).to_string())
    }

    /// The string at `path` of the first document of `kind` named `name`
    /// anywhere in the repository (a source's URL, say).
    fn document_text(&self, kind: &str, name: &str, path: &[&str]) -> Option<String> {
        self.find_documents(kind, name, None).iter().find_map(|d| str_at(Some(&d.root), path).map(str::to_string))
    }

    /// The directory a path from this repository's root names (the scanned
    /// path or one of its parents is that root): a GitRepository's or an
    /// Argo CD source's path.
    pub(super) fn flux_dir(&self, path: &str) -> Option<PathBuf> {
        self.source_dir(path, false)
    }

    /// The directory a Flux path names. Paths are relative to the source's
    /// root: this repository's root (the scanned path or one of its parents),
    /// or, for an artifact (`by_end`: an `OCIRepository` pushed from a
    /// subdirectory, say), the one directory whose path ends with it.
    fn source_dir(&self, path: &str, by_end: bool) -> Option<PathBuf> {
        self.exact_dir(path).or_else(|| if by_end { self.dirs_ending_with(path).into_iter().next() } else { None })
    }

    /// The directory `path` names from this repository's root.
    fn exact_dir(&self, path: &str) -> Option<PathBuf> {
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
        None
    }

    /// The directories whose path ends with `path`, shallowest first.
    fn dirs_ending_with(&self, path: &str) -> Vec<PathBuf> {
        let rel = normalize(Path::new(path.trim_start_matches('/')));
        if rel.as_os_str().is_empty() {
            return Vec::new();
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
        matches.into_iter().cloned().collect()
    }

    /// Build one root: its path, its components, then substitution and
    /// targetNamespace on every instance.
    fn expand_root(&mut self, root: &Root, gaps: &mut Vec<SubstitutionGap>) -> Vec<Resource> {
        let mut out = Vec::new();
        if let Some(source) = &root.external {
            self.note(root.span, format!("{}: its source {source} is another repository: not read", root.label));
            return out;
        }
        let Some(dir) = root.dir.clone().or_else(|| self.source_dir(&root.path, root.artifact)) else {
            let rel = normalize(Path::new(root.path.trim_start_matches('/')));
            let candidates = self.root.ancestors().take(8).map(|base| normalize(&base.join(&rel))).collect();
            self.model.not_read.push((root.span, candidates));
            // A directory elsewhere that ends with the path (an archived
            // copy of the cluster, say) is not what a GitRepository builds.
            let elsewhere = match self.dirs_ending_with(&root.path).first() {
                Some(d) => format!(
                    " (`{}` ends with it, but a GitRepository's path is from the repository's root: not read as it)",
                    d.strip_prefix(&self.root).unwrap_or(d).display()
                ),
                None => String::new(),
            };
            self.model.notes.push(super::ModelNote {
                span: root.span,
                message: format!("{}: path `{}` is not a directory lifeboat read{elsewhere}", root.label, root.path),
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
        let instantiated: Arc<str> = format!("instantiated by {}", root.label).into();
        for r in &mut out {
            r.via.push(Via { span: root.span, message: instantiated.clone(), shown: true, patch: None });
            if root.name.is_some() {
                r.deployed_by.clone_from(&root.name);
            }
            if let Some(vars) = &root.vars {
                let disabled = r.annotation(SUBSTITUTE_ANNOTATION).and_then(Node::as_str) == Some("disabled");
                if !disabled {
                    let mut undefined: Vec<UndefinedUse> = Vec::new();
                    // A tree without a `$` is kept as it is (shared, not copied).
                    if has_dollar(&r.root) {
                        r.root = Arc::new(substitute_tree(&r.root, vars, &mut undefined));
                    }
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
                        span: self.reference_in_file(u.span, &u.var),
                        var: u.var,
                        kustomization: root.label.clone(),
                        kustomization_span: root.span,
                        resource: crate::finding::ResourceRef::of(r),
                    }));
                }
            }
        }
        out
    }

    /// Without an entry point, a Flux Kustomization that nothing deploys is
    /// still not a root when a kustomization over its directory, which
    /// another root builds, leaves it out: its line was commented out or
    /// never added (the report then says which kustomization does not list
    /// it). Kept when that would leave no root.
    fn drop_unlisted_roots(&self, top: &mut Vec<usize>, raw: &[Resource], graph: &RootGraph) {
        let reached: Vec<HashSet<FileId>> = top
            .iter()
            .map(|&i| graph.roots.get(i).and_then(Option::as_ref).map(|root| self.reach(root).1).unwrap_or_default())
            .collect();
        let mut by: HashMap<FileId, usize> = HashMap::new();
        for kid in reached.iter().flatten() {
            *by.entry(*kid).or_default() += 1;
        }
        let unlisted = |n: usize| -> bool {
            let (Some(&i), Some(own)) = (top.get(n), reached.get(n)) else { return false };
            let Some(path) = raw.get(i).and_then(|r| self.sources.file(r.file)).map(|f| normalize(&f.path)) else {
                return false;
            };
            path.ancestors().skip(1).any(|dir| {
                self.index.kustomization_dirs.get(dir).is_some_and(|kid| {
                    let count = by.get(kid).copied().unwrap_or(0);
                    count > usize::from(own.contains(kid))
                })
            })
        };
        let keep: Vec<usize> = (0..top.len()).filter(|&n| !unlisted(n)).filter_map(|n| top.get(n).copied()).collect();
        if !keep.is_empty() {
            *top = keep;
        }
    }

    /// The files a root's path and components reach (what it would build,
    /// without building it).
    fn files_reached(&self, root: &Root) -> HashSet<FileId> {
        self.reach(root).0
    }

    /// The files a root's path and components reach, and the
    /// kustomizations on the way.
    fn reach(&self, root: &Root) -> (HashSet<FileId>, HashSet<FileId>) {
        let mut files = HashSet::new();
        let mut seen = HashSet::new();
        if root.external.is_some() {
            return (files, seen);
        }
        let Some(dir) = root.dir.clone().or_else(|| self.source_dir(&root.path, root.artifact)) else {
            return (files, seen);
        };
        self.reach_dir(&dir, &mut files, &mut seen);
        for c in &root.components {
            if let Some(&kid) = self.index.kustomization_dirs.get(&normalize(&dir.join(c))) {
                self.reach_kustomization(kid, &mut files, &mut seen);
            }
        }
        (files, seen)
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

    /// The Flux Kustomizations, FluxInstances and flux-instance releases
    /// of the plain-kustomize pass (a release's values read through its
    /// `valuesFrom` ConfigMaps too).
    fn flux_root_candidates(&self) -> Vec<Resource> {
        let config_maps = super::charts::config_maps(&self.model.resources);
        self.model
            .resources
            .iter()
            .filter_map(|r| if is_flux_root(r) { Some(r.clone()) } else { with_values_from(r, &config_maps) })
            .collect()
    }

    /// Flux mode: replace the plain-kustomize instances by what the entry
    /// points deploy. Entry points are the `roots:` of `.lifeboat.yaml`, else
    /// where Flux is bootstrapped (a Kustomization whose path holds its own
    /// file, a FluxInstance, a flux-instance HelmRelease), else every Flux
    /// Kustomization that no other deploys (said in a note). Each entry point
    /// not deployed by another is a cluster. Returns false (nothing changed)
    /// when there is nothing to start from, or no inferred root resolves.
    pub(super) fn run_flux(&mut self) -> bool {
        let raw = self.flux_root_candidates();
        let configured = std::mem::take(&mut self.configured);
        if raw.is_empty() && configured.is_empty() {
            return false;
        }
        let roots: Vec<Option<Root>> = raw.iter().map(|r| self.flux_root(r)).collect();
        let reach: Vec<HashSet<FileId>> =
            roots.iter().map(|r| r.as_ref().map(|r| self.files_reached(r)).unwrap_or_default()).collect();
        let mut by_file: HashMap<FileId, Vec<usize>> = HashMap::new();
        for (i, r) in raw.iter().enumerate() {
            by_file.entry(r.file).or_default().push(i);
        }
        // Which roots each root deploys (only the files matter, not the build).
        let children: Vec<Vec<usize>> = reach
            .iter()
            .enumerate()
            .map(|(i, files)| {
                let mut c: Vec<usize> = files
                    .iter()
                    .flat_map(|f| by_file.get(f).map_or(&[][..], Vec::as_slice))
                    .copied()
                    .filter(|&j| j != i)
                    .collect();
                c.sort_unstable();
                c.dedup();
                c
            })
            .collect();
        // Notes of the plain-kustomize pass do not hold for what Flux builds
        // (components it adds, say); those about the files themselves do.
        self.model.notes.truncate(self.static_notes);

        let mut starts: Vec<Start> = Vec::new();
        let mut source = EntrySource::Configured;
        if configured.is_empty() {
            let entries: Vec<usize> = (0..raw.len())
                .filter(|&i| {
                    let r = raw.get(i);
                    r.is_some_and(|r| {
                        r.is("fluxcd.controlplane.io", "FluxInstance")
                            || instance_sync(r).is_some()
                            || reach.get(i).is_some_and(|f| f.contains(&r.file))
                    })
                })
                .collect();
            starts = self.group_entries(&entries, &raw, &roots, &children);
            source = EntrySource::Bootstrap;
            // A cluster directory (`clusters/<name>/`) no entry point is
            // for, bootstrapped in a way lifeboat does not see: its
            // Kustomizations that nothing deploys are its roots.
            if !starts.is_empty() {
                let known: HashSet<String> = starts.iter().filter_map(|s| s.cluster.clone()).collect();
                let produced: HashSet<usize> = children.iter().flatten().copied().collect();
                let mut extra: Vec<Start> = Vec::new();
                for (i, r) in raw.iter().enumerate() {
                    if produced.contains(&i) || entries.contains(&i) {
                        continue;
                    }
                    let path = self.sources.file(r.file).map_or(String::new(), |f| f.display.clone());
                    if !path.contains("clusters/") {
                        continue;
                    }
                    let cluster = cluster_name(&path);
                    if known.contains(&cluster) {
                        continue;
                    }
                    let label =
                        roots.get(i).and_then(Option::as_ref).map_or_else(|| r.qualified_name(), |x| x.label.clone());
                    let message = format!(
                        "{label}: cluster `{cluster}` has no Flux entry point lifeboat recognises: the Kustomizations nothing deploys in its directory are taken as its roots (name them with `roots:` in .lifeboat.yaml)"
                    );
                    self.note(r.name_span(), message);
                    extra.push(Start {
                        seeds: vec![Seed::Raw(i)],
                        cluster: Some(cluster),
                        local: None,
                        labels: vec![(label, r.name_span())],
                    });
                }
                starts.extend(extra);
                merge_clusters(&mut starts);
            }
        } else {
            for c in configured {
                let seeds = match c.target {
                    ConfiguredTarget::Directory(dir) => vec![Seed::Dir(Box::new(Root::directory(dir, c.span)))],
                    ConfiguredTarget::Resources(keys) => keys
                        .into_iter()
                        .filter_map(|key| match raw.iter().position(|r| (r.file, r.doc_index) == key) {
                            Some(i) => Some(Seed::Raw(i)),
                            None => self
                                .model
                                .resources
                                .iter()
                                .find(|r| (r.file, r.doc_index) == key)
                                .cloned()
                                .map(|r| Seed::Plain(Box::new(r))),
                        })
                        .collect(),
                };
                let label = format!("root `{}` (.lifeboat.yaml)", c.text);
                starts.push(Start { seeds, cluster: c.cluster, local: None, labels: vec![(label, c.span)] });
            }
            merge_clusters(&mut starts);
        }
        let graph = RootGraph { files: raw.iter().map(|r| r.file).collect(), roots, reach, children };
        let mut expanded = self.expand_starts(&starts, &raw, &graph);
        if source == EntrySource::Bootstrap && expanded.deploys_nothing() {
            if let Some(first) = starts.first().and_then(|s| s.labels.first()) {
                let message = format!(
                    "{}: a Flux entry point that deploys nothing lifeboat read; every Flux Kustomization that no other deploys is taken as a root instead",
                    first.0
                );
                let prefix = format!("{}: ", first.0);
                let why = self
                    .model
                    .notes
                    .iter()
                    .find(|n| n.span == first.1 && n.message.contains("is not a directory lifeboat read"))
                    .map(|n| n.message.strip_prefix(&prefix).unwrap_or(&n.message).to_string());
                self.model.idle_entry = Some(match why {
                    Some(why) => format!("{} deploys nothing lifeboat read ({why})", first.0),
                    None => format!("{} deploys nothing lifeboat read", first.0),
                });
                self.note(first.1, message);
            }
            starts.clear();
        }
        if starts.is_empty() {
            if raw.is_empty() {
                return false;
            }
            let produced: HashSet<usize> = graph.children.iter().flatten().copied().collect();
            let mut top: Vec<usize> = (0..raw.len()).filter(|i| !produced.contains(i)).collect();
            if top.is_empty() {
                top = (0..raw.len()).collect(); // roots that all deploy one another (a cycle)
            }
            self.drop_unlisted_roots(&mut top, &raw, &graph);
            for &i in &top {
                let Some(r) = raw.get(i) else { continue };
                let path = self.sources.file(r.file).map_or(String::new(), |f| f.display.clone());
                let cluster = path.contains("clusters/").then(|| cluster_name(&path));
                let label =
                    graph.roots.get(i).and_then(Option::as_ref).map_or_else(|| r.qualified_name(), |x| x.label.clone());
                starts.push(Start {
                    seeds: vec![Seed::Raw(i)],
                    cluster,
                    local: None,
                    labels: vec![(label, r.name_span())],
                });
            }
            // One `clusters/<x>` directory among loose roots is one cluster.
            let named: HashSet<&str> = starts.iter().filter_map(|s| s.cluster.as_deref()).collect();
            if named.len() < 2 {
                for s in &mut starts {
                    s.cluster = None;
                }
            }
            merge_clusters(&mut starts);
            if let Some(first) = raw.get(top.first().copied().unwrap_or(0)) {
                let message = format!(
                    "no Flux entry point found (a flux-system Kustomization that deploys itself, a FluxInstance, a flux-instance HelmRelease): the {} Flux Kustomization(s) that no other deploys are taken as roots; name the real ones with `roots:` in .lifeboat.yaml",
                    top.len()
                );
                self.note(first.name_span(), message);
            }
            source = EntrySource::Fallback;
            expanded = self.expand_starts(&starts, &raw, &graph);
            if expanded.deploys_nothing() {
                return false; // no root resolved to anything but itself: not a Flux repo we can read
            }
        }

        let reached: HashSet<FileId> = expanded.resources.iter().map(|r| r.file).collect();
        self.model.unreached.retain(|u| !reached.contains(&u.file));
        self.reword_included_components(&reached);
        self.record_hidden_variables();
        // Several clusters: each entry point says whose it is.
        let clusters: HashSet<&str> = expanded.entries.iter().map(|e| e.cluster.as_str()).collect();
        let entry_points: Vec<String> = expanded
            .entries
            .iter()
            .map(|e| match (clusters.len() > 1, e.cluster.is_empty()) {
                (true, false) => format!("{} of cluster `{}`", e.label, e.cluster),
                _ => e.label.clone(),
            })
            .collect();
        let entry_points = entry_points.join(", ");
        let old = std::mem::take(&mut self.model.resources);
        for r in old {
            if reached.contains(&r.file) {
                continue;
            }
            let reason = if is_flux_root(&r) {
                let listed = self.listing_kustomization(r.file);
                format!("a Flux root that no entry point deploys ({entry_points}){listed}")
            } else if source == EntrySource::Configured {
                "not deployed from the `roots:` of .lifeboat.yaml".into()
            } else {
                "not deployed by any Flux Kustomization".into()
            };
            self.model.unreached.push(super::Unreached::of(r, reason));
        }
        self.model.unreached.sort_by_key(|u| u.file);
        self.model.resources = expanded.resources;
        self.model.substitution_gaps = expanded.gaps;
        self.model.entries = expanded.entries;
        self.model.dev_clusters = expanded.dev_clusters;
        self.model.entry_source = source;
        true
    }

    /// Why a file is not reached: the nearest kustomization above it that
    /// does not list it (", not listed by `x/kustomization.yaml`").
    fn listing_kustomization(&self, file: FileId) -> String {
        let Some(path) = self.sources.file(file).map(|f| normalize(&f.path)) else { return String::new() };
        let mut child: &Path = &path;
        for dir in path.ancestors().skip(1) {
            if let Some(k) = self.index.kustomization_dirs.get(dir).and_then(|k| self.kustomizations.get(k)) {
                if !k.resources.iter().chain(&k.components).any(|e| e.path == child) {
                    let shown = self.sources.file(k.file).map_or(String::new(), |f| f.display.clone());
                    return format!("; not listed by {shown}");
                }
            }
            child = dir;
        }
        String::new()
    }
    /// The files a start reaches through its roots and every root they deploy.
    fn start_files(&self, start: &Start, graph: &RootGraph) -> HashSet<FileId> {
        let mut files = HashSet::new();
        let mut todo: Vec<usize> = Vec::new();
        for seed in &start.seeds {
            match seed {
                Seed::Raw(i) => todo.push(*i),
                Seed::Dir(root) => files.extend(self.files_reached(root)),
                Seed::Plain(r) => {
                    files.insert(r.file);
                }
            }
        }
        // Roots in the files a directory seed reaches.
        todo.extend(graph.files.iter().enumerate().filter(|(_, f)| files.contains(f)).map(|(i, _)| i));
        let mut seen = HashSet::new();
        while let Some(i) = todo.pop() {
            if !seen.insert(i) {
                continue;
            }
            files.extend(graph.reach.get(i).into_iter().flatten().copied());
            todo.extend(graph.children.get(i).map_or(&[][..], Vec::as_slice));
        }
        files
    }

    /// Inferred entry points, grouped into clusters: an entry point that
    /// another deploys (and that does not deploy it back) is part of that
    /// one's cluster, not a cluster of its own.
    fn group_entries(
        &self,
        entries: &[usize],
        raw: &[Resource],
        roots: &[Option<Root>],
        children: &[Vec<usize>],
    ) -> Vec<Start> {
        let closure = |i: usize| -> HashSet<usize> {
            let mut seen = HashSet::new();
            let mut todo = vec![i];
            while let Some(j) = todo.pop() {
                if seen.insert(j) {
                    todo.extend(children.get(j).map_or(&[][..], Vec::as_slice));
                }
            }
            seen
        };
        let closures: Vec<HashSet<usize>> = entries.iter().map(|&i| closure(i)).collect();
        let mut starts: Vec<Start> = Vec::new();
        for (a, &i) in entries.iter().enumerate() {
            let absorbed = entries.iter().enumerate().any(|(b, &j)| {
                j != i
                    && closures.get(b).is_some_and(|c| c.contains(&i))
                    && !closures.get(a).is_some_and(|c| c.contains(&j))
            });
            if absorbed {
                continue;
            }
            let (Some(r), Some(Some(root))) = (raw.get(i), roots.get(i)) else { continue };
            // Entry points in one cycle (each deploys the other) are one cluster.
            if let Some(start) = starts.iter_mut().find(|s| {
                s.seeds.iter().any(|seed| match seed {
                    Seed::Raw(j) => closures.get(a).is_some_and(|c| c.contains(j)),
                    _ => false,
                })
            }) {
                start.seeds.push(Seed::Raw(i));
                start.labels.push((root.label.clone(), r.name_span()));
                continue;
            }
            let path = root.dir.as_ref().map_or_else(|| root.path.clone(), |d| d.display().to_string());
            let local = root.source_url.as_ref().filter(|u| local_source(u)).map(|u| (u.clone(), root.span));
            starts.push(Start {
                seeds: vec![Seed::Raw(i)],
                cluster: Some(cluster_name(&path)),
                local,
                labels: vec![(root.label.clone(), r.name_span())],
            });
        }
        merge_clusters(&mut starts);
        starts
    }

    /// Expand every start, each as its cluster (tagged when there are several).
    fn expand_starts(&mut self, starts: &[Start], raw: &[Resource], graph: &RootGraph) -> Expanded {
        let names: HashSet<Option<&str>> = starts.iter().map(|s| s.cluster.as_deref()).collect();
        let multi = names.len() > 1;
        let mut out = Expanded::default();
        let mut seen: HashSet<InstanceKey> = HashSet::new();
        for start in starts {
            let tag: Option<Arc<str>> = multi.then(|| Arc::from(start.cluster.as_deref().unwrap_or("default")));
            // A local development cluster beside real ones: what it holds is
            // inventoried, and excluded with that reason.
            if let (Some(tag), Some((url, span))) = (&tag, &start.local) {
                out.dev_clusters.push(DevCluster { cluster: tag.clone(), url: url.clone(), span: *span });
            }
            // Substitution sources are looked up in the cluster's own files first.
            self.cluster_files = multi.then(|| self.start_files(start, graph));
            let gaps_before = out.gaps.len();
            let fresh: Vec<Option<Root>>;
            let roots: &[Option<Root>] = if multi {
                fresh = raw.iter().map(|r| self.flux_root(r)).collect();
                &fresh
            } else {
                &graph.roots
            };
            let mut queue: Vec<Resource> = Vec::new();
            let mut seen_roots: HashSet<InstanceKey> = HashSet::new();
            let mut built: Vec<Resource> = Vec::new();
            // The seeds themselves, then what they build.
            for seed in &start.seeds {
                match seed {
                    Seed::Raw(i) => {
                        let Some(mut r) = raw.get(*i).cloned() else { continue };
                        r.cluster.clone_from(&tag);
                        seen_roots.insert(instance_key(&r));
                        if seen.insert(instance_key(&r)) {
                            out.resources.push(r);
                        }
                        if let Some(root) = roots.get(*i).and_then(Option::as_ref) {
                            built.extend(self.expand_root(root, &mut out.gaps));
                        }
                    }
                    Seed::Plain(r) => {
                        let mut r = (**r).clone();
                        r.cluster.clone_from(&tag);
                        if seen.insert(instance_key(&r)) {
                            out.resources.push(r);
                        }
                    }
                    Seed::Dir(root) => built.extend(self.expand_root(root, &mut out.gaps)),
                }
            }
            let before = out.resources.len();
            let mut rounds = 0;
            loop {
                for mut child in built.drain(..) {
                    child.cluster.clone_from(&tag);
                    if seen.insert(instance_key(&child)) {
                        if is_flux_root(&child) {
                            queue.push(child.clone());
                        }
                        out.resources.push(child);
                    }
                }
                let Some(r) = queue.pop() else { break };
                rounds += 1;
                if rounds > 100_000 || !seen_roots.insert(instance_key(&r)) {
                    continue;
                }
                if let Some(root) = self.flux_root(&r) {
                    built = self.expand_root(&root, &mut out.gaps);
                }
            }
            self.cluster_files = None;
            for gap in out.gaps.iter_mut().skip(gaps_before) {
                gap.resource.cluster = tag.as_deref().map(str::to_string);
            }
            let entry_roots: Vec<&Resource> = start
                .seeds
                .iter()
                .filter_map(|seed| match seed {
                    Seed::Raw(i) => raw.get(*i),
                    _ => None,
                })
                .collect();
            let notes = unmet_dependencies(out.resources.get(before..).unwrap_or(&[]), &entry_roots);
            self.model.notes.extend(notes);
            let deployed = out.resources.len() - before;
            let cluster = start.cluster.clone().unwrap_or_default();
            for (label, span) in &start.labels {
                out.entries.push(Entry { label: label.clone(), span: *span, cluster: cluster.clone(), deployed });
            }
        }
        out
    }
}

/// A Flux Kustomization an entry point deploys whose `dependsOn` names one
/// that entry point does not deploy waits for it: Flux does not apply it
/// until that one is ready. Said as a note (lifeboat still lints what it
/// holds: the dependency may be made outside the repository).
fn unmet_dependencies(deployed: &[Resource], entry_roots: &[&Resource]) -> Vec<super::ModelNote> {
    let kustomizations: Vec<&Resource> =
        deployed.iter().filter(|r| r.is(FLUX_KUSTOMIZE_GROUP, "Kustomization")).collect();
    let known: HashSet<(Option<&str>, &str)> =
        kustomizations.iter().chain(entry_roots).map(|r| (r.namespace.as_deref(), r.name.as_str())).collect();
    let mut notes = Vec::new();
    for r in &kustomizations {
        for dep in r.spec().and_then(|s| s.get("dependsOn")).map_or(&[][..], Node::as_seq) {
            let Some(name) = dep.get("name").and_then(Node::as_nonempty_str) else { continue };
            let namespace = dep.get("namespace").and_then(Node::as_nonempty_str).or(r.namespace.as_deref());
            // `flux-system` is made by bootstrap or a FluxInstance.
            if name == "flux-system" || super::is_unresolved(name) || namespace.is_some_and(super::is_unresolved) {
                continue;
            }
            if !known.contains(&(namespace, name)) {
                let shown = namespace.map_or(name.to_string(), |ns| format!("{ns}/{name}"));
                notes.push(super::ModelNote {
                    span: dep.span,
                    message: format!(
                        "Flux Kustomization `{}` depends on `{shown}`, which this entry point does not deploy: Flux does not apply it until `{shown}` exists and is ready",
                        r.qualified_name()
                    ),
                });
            }
        }
    }
    notes
}

pub(super) type InstanceKey = (Option<Arc<str>>, FileId, usize, Option<String>, String);

/// The Flux roots the plain pass found, what each reaches, and which roots
/// each deploys.
struct RootGraph {
    /// The file of each root.
    files: Vec<FileId>,
    roots: Vec<Option<Root>>,
    reach: Vec<HashSet<FileId>>,
    children: Vec<Vec<usize>>,
}

/// Does any scalar of `node` (keys included) hold a `$`?
fn has_dollar(node: &Node) -> bool {
    match &node.value {
        crate::yaml::Value::Scalar { text, .. } => text.contains('$'),
        crate::yaml::Value::Seq(items) => items.iter().any(has_dollar),
        crate::yaml::Value::Map(entries) => entries.iter().any(|(k, v)| has_dollar(k) || has_dollar(v)),
    }
}

fn instance_key(r: &Resource) -> InstanceKey {
    (r.cluster.clone(), r.file, r.doc_index, r.namespace.clone(), r.name.clone())
}

/// A `roots:` entry of `.lifeboat.yaml`, resolved against the repository.
#[derive(Debug, Clone)]
pub(super) struct Configured {
    pub text: String,
    pub span: Span,
    pub cluster: Option<String>,
    pub target: ConfiguredTarget,
}

#[derive(Debug, Clone)]
pub(super) enum ConfiguredTarget {
    /// Built as Flux builds a path.
    Directory(PathBuf),
    /// These documents (a file's, or the Kustomization or Application named).
    Resources(Vec<(FileId, usize)>),
}

/// Where one cluster starts.
struct Start {
    seeds: Vec<Seed>,
    cluster: Option<String>,
    /// The local source it syncs from (a development cluster), and where
    /// that is said.
    local: Option<(String, Span)>,
    /// The entry points, as the report names them.
    labels: Vec<(String, Span)>,
}

enum Seed {
    /// A Flux root the plain pass found.
    Raw(usize),
    /// Another document named in `roots:` (an Argo CD Application, say).
    Plain(Box<Resource>),
    Dir(Box<Root>),
}

#[derive(Default)]
struct Expanded {
    resources: Vec<Resource>,
    gaps: Vec<SubstitutionGap>,
    entries: Vec<Entry>,
    dev_clusters: Vec<DevCluster>,
}

impl Expanded {
    /// Nothing but the entry points themselves.
    fn deploys_nothing(&self) -> bool {
        self.entries.iter().all(|e| e.deployed == 0)
    }
}

/// Starts naming the same cluster are one.
fn merge_clusters(starts: &mut Vec<Start>) {
    let mut merged: Vec<Start> = Vec::new();
    for s in starts.drain(..) {
        match merged.iter_mut().find(|m| m.cluster == s.cluster) {
            Some(m) => {
                m.seeds.extend(s.seeds);
                m.labels.extend(s.labels);
                if m.local.is_none() {
                    m.local = s.local;
                }
            }
            None => merged.push(s),
        }
    }
    *starts = merged;
}
