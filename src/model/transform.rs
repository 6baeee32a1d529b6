//! kustomize's generators and transformers, run on what one kustomization
//! has accumulated, in the order kustomize runs them: generators, then
//! `patchesStrategicMerge`, `patches`, `namespace`, `namePrefix`/
//! `nameSuffix`, labels, annotations, `patchesJson6902`, `replacements`.
//! Generated ConfigMaps and Secrets get kustomize's content hash when the
//! build ends, and references to renamed objects in pod specs follow.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use regex::Regex;
use sha2::{Digest, Sha256};

use super::kustomize::{generator_file, normalize, Kustomization, Patch, PatchBody, Replacement, Selector};
use super::patch::{is_json6902, json6902, strategic_merge};
use super::{Builder, ModelNote, Resource, Via};
use crate::yaml::{load_str, Node, Span, Value};

/// A rename kustomize makes (prefix, suffix, hash) that references follow.
struct Rename {
    kind: String,
    namespace: Option<String>,
    from: String,
    to: String,
}

impl Builder<'_> {
    /// Generators, then transformers, of kustomization `k` over `acc`.
    pub(super) fn generate_and_transform(&mut self, k: &Kustomization, acc: &mut Vec<Resource>) {
        self.generate(k, acc);
        self.helm_charts(k, acc);
        // With a remote base, patch targets may be in what was not fetched.
        let quiet = self.builds_remote(k, 0);
        for p in &k.strategic_merge_patches {
            self.apply_patch(p, acc, quiet);
        }
        for p in &k.patches {
            self.apply_patch(p, acc, quiet);
        }
        if let Some(ns) = &k.namespace {
            set_namespace(acc, ns, "namespace");
        }
        add_prefix_suffix(acc, k.name_prefix.as_ref(), k.name_suffix.as_ref());
        if let Some(labels) = &k.common_labels {
            add_metadata(acc, "labels", labels, true);
        }
        for entry in &k.labels {
            if let Some(pairs) = entry.get("pairs") {
                let templates = ["includeTemplates", "includeSelectors"]
                    .iter()
                    .any(|key| entry.get(key).and_then(Node::as_bool) == Some(true));
                add_metadata(acc, "labels", pairs, templates);
            }
        }
        if let Some(annotations) = &k.common_annotations {
            add_metadata(acc, "annotations", annotations, true);
        }
        for p in &k.json6902_patches {
            self.apply_patch(p, acc, quiet);
        }
        for replacement in &k.replacements {
            match replacement {
                Replacement::Inline(node) => self.replace(node, acc),
                Replacement::File(path, span) => {
                    let Some(file) = self.index.files.get(path).copied() else {
                        self.note(*span, format!("replacements file `{}` is not a file lifeboat read", path.display()));
                        continue;
                    };
                    let docs: Vec<Arc<Node>> = self
                        .docs_by_file
                        .get(&file)
                        .map_or(Vec::new(), |d| d.iter().map(|d| Arc::clone(&d.root)).collect());
                    for doc in docs {
                        match &doc.value {
                            Value::Seq(items) => items.iter().for_each(|r| self.replace(r, acc)),
                            Value::Map(_) => self.replace(&doc, acc),
                            Value::Scalar { .. } => {}
                        }
                    }
                }
            }
        }
    }

    /// Whether `k` or what it includes names a remote base.
    fn builds_remote(&self, k: &Kustomization, depth: usize) -> bool {
        !k.remote.is_empty()
            || (depth < 32
                && k.resources.iter().chain(&k.components).any(|e| {
                    self.index
                        .kustomization_dirs
                        .get(&e.path)
                        .and_then(|id| self.kustomizations.get(id))
                        .is_some_and(|child| self.builds_remote(child, depth + 1))
                }))
    }

    /// The text of a file of the run, by path.
    fn file_text(&self, path: &Path) -> Option<String> {
        let id = self.index.files.get(&normalize(path))?;
        self.sources.file(*id).map(|f| f.text.clone())
    }

    pub(super) fn note(&mut self, span: Span, message: String) {
        self.model.notes.push(ModelNote { span, message });
    }

    /// `configMapGenerator` and `secretGenerator`.
    fn generate(&mut self, k: &Kustomization, acc: &mut Vec<Resource>) {
        let global = k.generator_options.as_ref();
        for (i, (kind, item)) in k.generators.iter().enumerate() {
            let Some(name) = item.get("name").and_then(Node::as_nonempty_str) else { continue };
            let span = item.span;
            let mut data: Vec<(Node, Node)> = Vec::new();
            let mut known = true;
            for literal in item.get("literals").map_or(&[][..], Node::as_seq) {
                let Some((key, value)) = literal.as_str().and_then(|t| t.split_once('=')) else { continue };
                let value = encode(kind, unquote(value));
                data.push((Node::string(key.trim(), literal.span), Node::string(value, literal.span)));
            }
            // `files:` and `envs:` are read when lifeboat loaded them (YAML
            // files); others leave the content, and so the hash, unknown.
            let dir =
                self.sources.file(k.file).and_then(|f| f.path.parent()).map(Path::to_path_buf).unwrap_or_default();
            for entry in item.get("files").map_or(&[][..], Node::as_seq) {
                let Some(text) = entry.as_str() else { continue };
                let file = generator_file(text);
                let key = text.split_once('=').map_or_else(
                    || Path::new(file).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                    |(key, _)| key.trim().to_string(),
                );
                match self.file_text(&dir.join(file)) {
                    Some(content) => {
                        data.push((Node::string(key, entry.span), Node::string(encode(kind, &content), entry.span)))
                    }
                    None => known = false,
                }
            }
            for entry in ["envs", "env"].iter().flat_map(|f| match item.get(f) {
                Some(n) if n.as_str().is_some() => std::slice::from_ref(n),
                Some(n) => n.as_seq(),
                None => &[],
            }) {
                let Some(content) = entry.as_str().and_then(|f| self.file_text(&dir.join(f.trim()))) else {
                    known = false;
                    continue;
                };
                for line in content.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                    if let Some((key, value)) = line.split_once('=') {
                        data.push((
                            Node::string(key.trim(), entry.span),
                            Node::string(encode(kind, value), entry.span),
                        ));
                    }
                }
            }
            let option = |key: &str| item.path(&["options", key]).or_else(|| global.and_then(|g| g.get(key)));
            let behavior = item.get("behavior").and_then(Node::as_str).unwrap_or("create");
            if behavior != "create" {
                let existing = acc.iter_mut().find(|r| r.kind == *kind && r.original_name == name);
                if let Some(r) = existing {
                    let root = Arc::make_mut(&mut r.root);
                    if behavior == "replace" {
                        root.set("data", Node::mapping(data, span));
                    } else if let Some(target) = root.entry_map("data") {
                        for (key, value) in data {
                            target.set(key.as_str().unwrap_or(""), value);
                        }
                    }
                    r.hashed_name &= known;
                    continue;
                }
            }
            let mut metadata = vec![(Node::string("name", span), Node::string(name, span))];
            if let Some(ns) = item.get("namespace").filter(|n| n.as_nonempty_str().is_some()) {
                metadata.push((Node::string("namespace", ns.span), ns.clone()));
            }
            for key in ["labels", "annotations"] {
                if let Some(map) = option(key).filter(|n| n.is_map()) {
                    metadata.push((Node::string(key, map.span), map.clone()));
                }
            }
            let mut entries = vec![
                (Node::string("apiVersion", span), Node::string("v1", span)),
                (Node::string("kind", span), Node::string(*kind, span)),
                (Node::string("metadata", span), Node::mapping(metadata, span)),
                (Node::string("data", span), Node::mapping(data, span)),
            ];
            if *kind == "Secret" {
                let t = item.get("type").cloned().unwrap_or_else(|| Node::string("Opaque", span));
                entries.push((Node::string("type", span), t));
            }
            let doc = crate::yaml::Document {
                file: k.file,
                index: usize::MAX - i,
                root: Arc::new(Node::mapping(entries, span)),
            };
            if let Some(mut r) = Resource::from_document(&doc) {
                let disabled = option("disableNameSuffixHash").and_then(Node::as_bool) == Some(true);
                r.hashed_name = known && !disabled;
                r.via.push(Via { span, message: format!("generated by this {kind} generator"), shown: false });
                acc.push(r);
            }
        }
    }

    /// `helmCharts`: charts are not inflated (that needs the chart), but each
    /// becomes a `HelmChartInflationGenerator` instance (kustomize's own
    /// name for it) holding the release and its values (`valuesFile` under
    /// `valuesInline`), so the inventory sees what the chart persists.
    fn helm_charts(&mut self, k: &Kustomization, acc: &mut Vec<Resource>) {
        let dir = self.sources.file(k.file).and_then(|f| f.path.parent()).map(Path::to_path_buf).unwrap_or_default();
        for (i, chart) in k.helm_charts.iter().enumerate() {
            let span = chart.span;
            let Some(name) = chart.get("name").and_then(Node::as_nonempty_str) else { continue };
            let release = chart.get("releaseName").and_then(Node::as_nonempty_str).unwrap_or(name);
            let mut values = chart
                .get("valuesFile")
                .and_then(Node::as_str)
                .and_then(|f| self.index.files.get(&normalize(&dir.join(f))))
                .and_then(|id| self.docs_by_file.get(id))
                .and_then(|d| d.first())
                .map_or_else(|| Node::mapping(Vec::new(), span), |d| (*d.root).clone());
            if let Some(inline) = chart.get("valuesInline") {
                strategic_merge(&mut values, inline, false);
            }
            let mut metadata = vec![(Node::string("name", span), Node::string(release, span))];
            if let Some(ns) = chart.get("namespace").filter(|n| n.as_nonempty_str().is_some()) {
                metadata.push((Node::string("namespace", ns.span), ns.clone()));
            }
            let entries = vec![
                (Node::string("apiVersion", span), Node::string("builtin", span)),
                (Node::string("kind", span), Node::string("HelmChartInflationGenerator", span)),
                (Node::string("metadata", span), Node::mapping(metadata, span)),
                (Node::string("name", span), Node::string(name, span)),
                (Node::string("releaseName", span), Node::string(release, span)),
                (Node::string("valuesInline", span), values),
            ];
            let doc = crate::yaml::Document {
                file: k.file,
                index: usize::MAX - k.generators.len() - i,
                root: Arc::new(Node::mapping(entries, span)),
            };
            if let Some(mut r) = Resource::from_document(&doc) {
                r.via.push(Via { span, message: "helm chart (not rendered)".into(), shown: false });
                acc.push(r);
            }
        }
    }

    /// The documents of a patch (a file's, or inline text's).
    fn patch_documents(&mut self, body: &PatchBody, span: Span) -> Vec<Arc<Node>> {
        match body {
            PatchBody::File(path) => match self.index.files.get(path) {
                Some(file) => {
                    self.docs_by_file.get(file).map_or(Vec::new(), |d| d.iter().map(|d| Arc::clone(&d.root)).collect())
                }
                None => {
                    self.note(span, format!("patch `{}` is not a file lifeboat read", path.display()));
                    Vec::new()
                }
            },
            PatchBody::Inline(node) => {
                if let Some(docs) = self.inline_cache.get(&node.span) {
                    return docs.clone();
                }
                let docs = self.parse_inline(node);
                self.inline_cache.insert(node.span, docs.clone());
                docs
            }
        }
    }

    /// Parse YAML held in a string (an inline patch), with spans pointing
    /// into the file that holds it when it is a literal block scalar.
    fn parse_inline(&mut self, node: &Node) -> Vec<Arc<Node>> {
        let Some(text) = node.as_str() else { return Vec::new() };
        let loaded = load_str(node.span.file, text);
        if let Some(error) = &loaded.error {
            self.note(node.span, format!("inline patch does not parse: {}", error.message));
            return Vec::new();
        }
        let source = self.sources.file(node.span.file).map_or("", |f| f.text.as_str());
        let map = BlockMap::new(source, node.span, text);
        loaded
            .documents
            .into_iter()
            .map(|d| {
                let mut root = (*d.root).clone();
                remap(&mut root, &map);
                Arc::new(root)
            })
            .collect()
    }

    /// Apply one patch entry to the resources it targets.
    pub(super) fn apply_patch(&mut self, p: &Patch, acc: &mut Vec<Resource>, quiet: bool) {
        let label = match &p.body {
            PatchBody::File(path) => {
                let display = self.index.files.get(path).and_then(|f| self.sources.file(*f)).map(|f| f.display.clone());
                format!("patched by {}", display.unwrap_or_else(|| path.display().to_string()))
            }
            PatchBody::Inline(_) => "patched by an inline patch".to_string(),
        };
        for doc in self.patch_documents(&p.body, p.span) {
            if is_json6902(&doc) {
                let Some(target) = &p.target else {
                    self.note(p.span, "a JSON 6902 patch needs a `target`".into());
                    continue;
                };
                let mut failures = Vec::new();
                for r in acc.iter_mut() {
                    if !self.selects(target, r) {
                        continue;
                    }
                    match json6902(Arc::make_mut(&mut r.root), &doc) {
                        Ok(()) => {
                            refresh_identity(r);
                            r.via.push(Via { span: p.span, message: label.clone(), shown: true });
                        }
                        Err(e) => failures.push(format!("patch not applied to {} `{}`: {e}", r.kind, r.name)),
                    }
                }
                failures.into_iter().for_each(|m| self.note(p.span, m));
                continue;
            }
            let kind = doc.get("kind").and_then(Node::as_str);
            let name = doc.path(&["metadata", "name"]).and_then(Node::as_str);
            let by_id = |r: &Resource| {
                let group =
                    doc.get("apiVersion").and_then(Node::as_str).map(|a| a.rsplit_once('/').map_or("", |(g, _)| g));
                let namespace = doc.path(&["metadata", "namespace"]).and_then(Node::as_str);
                kind == Some(r.kind.as_str())
                    && group.is_none_or(|g| g == r.group())
                    && (name == Some(r.name.as_str()) || name == Some(r.original_name.as_str()))
                    && namespace.is_none_or(|ns| {
                        r.namespace.as_deref() == Some(ns) || r.original_namespace.as_deref() == Some(ns)
                    })
            };
            let selected: Vec<bool> = acc
                .iter()
                .map(|r| match &p.target {
                    Some(target) => self.selects(target, r),
                    None => by_id(r),
                })
                .collect();
            if !selected.contains(&true) {
                if p.target.is_none() && !quiet {
                    let what = format!("{} `{}`", kind.unwrap_or("?"), name.unwrap_or("?"));
                    self.note(p.span, format!("patch for {what} matches nothing this kustomization builds"));
                }
                continue;
            }
            if doc.get("$patch").and_then(Node::as_str) == Some("delete") {
                let mut keep = selected.iter().map(|s| !s);
                acc.retain(|_| keep.next().unwrap_or(true));
                continue;
            }
            let mut body = (*doc).clone();
            for key in ["apiVersion", "kind"] {
                body.remove(key);
            }
            if let Some(metadata) = body.get_mut("metadata") {
                metadata.remove("name");
                metadata.remove("namespace");
            }
            for (r, _) in acc.iter_mut().zip(&selected).filter(|(_, s)| **s) {
                let builtin = is_builtin_group(r.group());
                strategic_merge(Arc::make_mut(&mut r.root), &body, builtin);
                r.via.push(Via { span: p.span, message: label.clone(), shown: true });
            }
        }
    }

    /// Whether selector `s` picks `r` (original or current name and
    /// namespace, as kustomize matches them).
    fn selects(&mut self, s: &Selector, r: &Resource) -> bool {
        let version = r.api_version.rsplit('/').next().unwrap_or("");
        if s.group.as_deref().is_some_and(|g| g != r.group())
            || s.version.as_deref().is_some_and(|v| v != version)
            || s.kind.as_deref().is_some_and(|k| k != r.kind)
        {
            return false;
        }
        if let Some(name) = &s.name {
            if !self.pattern(name, &r.name) && !self.pattern(name, &r.original_name) {
                return false;
            }
        }
        if let Some(ns) = &s.namespace {
            let current = r.namespace.as_deref().unwrap_or("default");
            let original = r.original_namespace.as_deref().unwrap_or("default");
            if !self.pattern(ns, current) && !self.pattern(ns, original) {
                return false;
            }
        }
        let matches_selector = |selector: &Option<String>, key: &str| {
            selector.as_deref().is_none_or(|sel| label_selector_matches(sel, r.root.path(&["metadata", key])))
        };
        matches_selector(&s.label_selector, "labels") && matches_selector(&s.annotation_selector, "annotations")
    }

    /// kustomize's anchored regular expression match (`^(?:p)$`).
    fn pattern(&mut self, pattern: &str, text: &str) -> bool {
        if pattern == text {
            return true;
        }
        let re =
            self.regex_cache.entry(pattern.to_string()).or_insert_with(|| Regex::new(&format!("^(?:{pattern})$")).ok());
        re.as_ref().is_some_and(|re| re.is_match(text))
    }

    /// One `replacements` entry: copy the source field into the targets.
    fn replace(&mut self, rep: &Node, acc: &mut [Resource]) {
        let Some(source) = rep.get("source") else { return };
        let select = Selector::parse(source);
        let field = source.get("fieldPath").and_then(Node::as_str).unwrap_or("metadata.name");
        let found: Vec<usize> =
            (0..acc.len()).filter(|&i| acc.get(i).is_some_and(|r| self.selects(&select, r))).collect();
        let [one] = found.as_slice() else {
            let what = found.len();
            self.note(rep.span, format!("replacement source matches {what} resources (kustomize needs exactly one)"));
            return;
        };
        let Some(value) = acc.get(*one).and_then(|r| get_field(r, field)) else {
            self.note(rep.span, format!("replacement source field `{field}` is not set"));
            return;
        };
        let value = match delimited(source.get("options"), &value) {
            Some(v) => v,
            None => return,
        };
        for target in rep.get("targets").map_or(&[][..], Node::as_seq) {
            let select = target.get("select").map(Selector::parse).unwrap_or_default();
            let rejects: Vec<Selector> =
                target.get("reject").map_or(&[][..], Node::as_seq).iter().map(Selector::parse).collect();
            let options = target.get("options");
            let create = options.and_then(|o| o.get("create")).and_then(Node::as_bool) == Some(true);
            for r in acc.iter_mut() {
                if !self.selects(&select, r) || rejects.iter().any(|s| self.selects(s, r)) {
                    continue;
                }
                for path in target.get("fieldPaths").map_or(&[][..], Node::as_seq).iter().filter_map(Node::as_str) {
                    set_field(r, path, &value, options, create);
                }
            }
        }
    }
}

/// The cache of parsed inline patches, by the span of their text.
pub(super) type InlineCache = HashMap<Span, Vec<Arc<Node>>>;

/// A generated value: as is in a ConfigMap, base64 in a Secret, wrapped as
/// kustomize (kyaml's `encodeBase64`) wraps it: 70 characters a line, every
/// line ended by a newline once there is more than one.
fn encode(kind: &str, value: &str) -> String {
    if kind != "Secret" {
        return value.to_string();
    }
    const LINE: usize = 70;
    let encoded = base64::engine::general_purpose::STANDARD.encode(value.as_bytes());
    if encoded.len() / LINE == 0 {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / LINE + 1);
    for chunk in encoded.as_bytes().chunks(LINE) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

/// kustomize strips one pair of surrounding double quotes from a literal value.
fn unquote(value: &str) -> &str {
    value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value)
}

/// Groups whose kinds are Kubernetes built-ins (strategic merge by merge key).
fn is_builtin_group(group: &str) -> bool {
    !group.contains('.') || group.ends_with(".k8s.io")
}

/// Re-read name and namespace after a JSON 6902 patch that may change them.
fn refresh_identity(r: &mut Resource) {
    if let Some(name) = r.root.path(&["metadata", "name"]).and_then(Node::as_str) {
        if name != r.original_name && name != r.name {
            r.name = name.to_string();
        }
    }
}

/// kustomize's namespace transformer: namespaced objects move, and a
/// `Namespace` object takes the name.
pub(super) fn set_namespace(acc: &mut [Resource], ns: &(String, Span), what: &str) {
    let (namespace, span) = ns;
    for r in acc.iter_mut() {
        if r.kind == "Namespace" && r.group().is_empty() {
            if r.name != *namespace {
                r.name = namespace.clone();
                r.via.push(Via { span: *span, message: format!("named by {what} `{namespace}`"), shown: false });
            }
        } else if !kustomize_cluster_scoped(r) && r.namespace.as_deref() != Some(namespace) {
            r.namespace = Some(namespace.clone());
            r.via.push(Via { span: *span, message: format!("{what} `{namespace}` set here"), shown: false });
        }
    }
}

/// kustomize's prefix/suffix transformer (not on CRDs, APIServices and
/// Namespaces); pod-spec references to renamed objects follow.
pub(super) fn add_prefix_suffix(
    acc: &mut [Resource],
    prefix: Option<&(String, Span)>,
    suffix: Option<&(String, Span)>,
) {
    let Some(span) = prefix.or(suffix).map(|p| p.1) else { return };
    let mut renames = Vec::new();
    for r in acc.iter_mut() {
        if matches!(r.kind.as_str(), "CustomResourceDefinition" | "APIService" | "Namespace") {
            continue;
        }
        let to = format!("{}{}{}", prefix.map_or("", |p| p.0.as_str()), r.name, suffix.map_or("", |s| s.0.as_str()));
        r.via.push(Via { span, message: format!("renamed `{to}` here"), shown: false });
        renames.push(Rename {
            kind: r.kind.clone(),
            namespace: r.namespace.clone(),
            from: std::mem::replace(&mut r.name, to.clone()),
            to,
        });
    }
    fix_references(acc, &renames);
}

/// Kinds kustomize knows to be cluster-scoped (from the built-in API
/// schema). Custom kinds are namespaced to kustomize, whatever the cluster
/// says, so they take the namespace too.
fn kustomize_cluster_scoped(r: &Resource) -> bool {
    let builtin = is_builtin_group(r.group());
    builtin
        && matches!(
            r.kind.as_str(),
            "Namespace"
                | "ClusterRole"
                | "ClusterRoleBinding"
                | "CustomResourceDefinition"
                | "StorageClass"
                | "PersistentVolume"
                | "PriorityClass"
                | "MutatingWebhookConfiguration"
                | "ValidatingWebhookConfiguration"
                | "ValidatingAdmissionPolicy"
                | "ValidatingAdmissionPolicyBinding"
                | "IngressClass"
                | "APIService"
                | "RuntimeClass"
                | "CSIDriver"
                | "CSINode"
                | "VolumeAttachment"
                | "Node"
                | "CertificateSigningRequest"
                | "FlowSchema"
                | "PriorityLevelConfiguration"
                | "ComponentStatus"
                | "PodSecurityPolicy"
                | "TokenReview"
                | "SelfSubjectAccessReview"
                | "SubjectAccessReview"
        )
}

/// Add `pairs` to every object's metadata (and to pod templates and claim
/// templates when `templates`).
pub(super) fn add_metadata(acc: &mut [Resource], key: &str, pairs: &Node, templates: bool) {
    if pairs.as_map().is_empty() {
        return;
    }
    for r in acc.iter_mut() {
        let root = Arc::make_mut(&mut r.root);
        let mut targets: Vec<&mut Node> = Vec::new();
        if let Some(metadata) = root.entry_map("metadata") {
            targets.push(metadata);
        }
        for target in targets {
            if let Some(map) = target.entry_map(key) {
                merge_pairs(map, pairs);
            }
        }
        if templates {
            for path in [&["spec", "template"][..], &["spec", "jobTemplate", "spec", "template"]] {
                if let Some(meta) = walk_mut(root, path).and_then(|t| t.entry_map("metadata")) {
                    if let Some(map) = meta.entry_map(key) {
                        merge_pairs(map, pairs);
                    }
                }
            }
            if let Some(Value::Seq(items)) = walk_mut(root, &["spec", "volumeClaimTemplates"]).map(|n| &mut n.value) {
                for item in items {
                    if let Some(map) = item.entry_map("metadata").and_then(|m| m.entry_map(key)) {
                        merge_pairs(map, pairs);
                    }
                }
            }
        }
    }
}

fn merge_pairs(map: &mut Node, pairs: &Node) {
    for (k, v) in pairs.as_map() {
        if let Some(k) = k.as_str() {
            map.set(k, v.clone());
        }
    }
}

fn walk_mut<'a>(node: &'a mut Node, path: &[&str]) -> Option<&'a mut Node> {
    path.iter().try_fold(node, |n, key| n.get_mut(key))
}

/// Where pod specs sit in the workload kinds.
fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pod" => &["spec"],
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => &["spec", "template", "spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => return None,
    })
}

/// kustomize's name-reference transformer, for what matters to backups:
/// pod volumes, `env` and `envFrom` naming a renamed PVC, ConfigMap or Secret.
fn fix_references(acc: &mut [Resource], renames: &[Rename]) {
    if renames.is_empty() {
        return;
    }
    for r in acc.iter_mut() {
        let Some(path) = pod_spec_path(&r.kind) else { continue };
        let ns = r.namespace.clone();
        let lookup = |kind: &str, name: &str| {
            renames.iter().find(|n| n.kind == kind && n.from == name && n.namespace == ns).map(|n| n.to.clone())
        };
        let mut edits: Vec<(Vec<String>, String)> = Vec::new();
        let Some(spec) = r.root.path(path) else { continue };
        let mut refs: Vec<(Vec<String>, &str, &Node)> = Vec::new();
        for (i, v) in spec.get("volumes").map_or(&[][..], Node::as_seq).iter().enumerate() {
            let at = |a: &str, b: &str| vec!["volumes".to_string(), i.to_string(), a.to_string(), b.to_string()];
            for (field, key, kind) in [
                ("persistentVolumeClaim", "claimName", "PersistentVolumeClaim"),
                ("configMap", "name", "ConfigMap"),
                ("secret", "secretName", "Secret"),
            ] {
                if let Some(n) = v.path(&[field, key]) {
                    refs.push((at(field, key), kind, n));
                }
            }
        }
        for list in ["containers", "initContainers"] {
            for (c, container) in spec.get(list).map_or(&[][..], Node::as_seq).iter().enumerate() {
                for (e, from) in container.get("envFrom").map_or(&[][..], Node::as_seq).iter().enumerate() {
                    for (field, kind) in [("configMapRef", "ConfigMap"), ("secretRef", "Secret")] {
                        if let Some(n) = from.path(&[field, "name"]) {
                            let at = [list, &c.to_string(), "envFrom", &e.to_string(), field, "name"];
                            refs.push((at.iter().map(|s| s.to_string()).collect(), kind, n));
                        }
                    }
                }
                for (e, env) in container.get("env").map_or(&[][..], Node::as_seq).iter().enumerate() {
                    for (field, kind) in [("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")] {
                        if let Some(n) = env.path(&["valueFrom", field, "name"]) {
                            let at = [list, &c.to_string(), "env", &e.to_string(), "valueFrom", field, "name"];
                            refs.push((at.iter().map(|s| s.to_string()).collect(), kind, n));
                        }
                    }
                }
            }
        }
        for (at, kind, node) in refs {
            if let Some(to) = node.as_str().and_then(|name| lookup(kind, name)) {
                edits.push((at, to));
            }
        }
        if edits.is_empty() {
            continue;
        }
        let root = Arc::make_mut(&mut r.root);
        let Some(spec) = walk_mut(root, path) else { continue };
        for (at, to) in edits {
            if let Some(slot) = super::patch::lookup_mut(spec, &at) {
                slot.value = Value::Scalar { text: to, plain: false };
            }
        }
    }
}

/// At the end of a build: generated ConfigMaps and Secrets take kustomize's
/// content hash as a name suffix, and references follow.
pub(super) fn finish_build(acc: &mut [Resource]) {
    let mut renames = Vec::new();
    for r in acc.iter_mut().filter(|r| r.hashed_name) {
        r.hashed_name = false;
        let Some(hash) = content_hash(r) else { continue };
        let to = format!("{}-{hash}", r.name);
        renames.push(Rename {
            kind: r.kind.clone(),
            namespace: r.namespace.clone(),
            from: std::mem::replace(&mut r.name, to.clone()),
            to,
        });
    }
    fix_references(acc, &renames);
}

/// kustomize's name hash: SHA-256 of the object encoded as Go's
/// `json.Marshal` would (keys sorted, HTML characters escaped), its first
/// ten hex digits with `0 1 3 a e` swapped for letters.
fn content_hash(r: &Resource) -> Option<String> {
    let string_map = |key: &str| -> Option<String> {
        let node = r.root.get(key);
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in node.map_or(&[][..], Node::as_map) {
            pairs.push((k.as_str()?.to_string(), v.as_str().unwrap_or("").to_string()));
        }
        pairs.sort();
        let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{}:{}", go_json(k), go_json(v))).collect();
        Some(format!("{{{}}}", body.join(",")))
    };
    let data = string_map("data")?;
    let binary = r.root.get("binaryData").map(|n| n.as_map().len()).unwrap_or(0);
    let encoded = match r.kind.as_str() {
        "ConfigMap" if binary > 0 => {
            format!(r#"{{"binaryData":{},"data":{data},"kind":"ConfigMap","name":""}}"#, string_map("binaryData")?)
        }
        "ConfigMap" => format!(r#"{{"data":{data},"kind":"ConfigMap","name":""}}"#),
        "Secret" => {
            let t = r.root.get("type").and_then(Node::as_str).unwrap_or("");
            format!(r#"{{"data":{data},"kind":"Secret","name":"","type":{}}}"#, go_json(t))
        }
        _ => return None,
    };
    let digest = Sha256::digest(encoded.as_bytes());
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    Some(
        hex.chars()
            .map(|c| match c {
                '0' => 'g',
                '1' => 'h',
                '3' => 'k',
                'a' => 'm',
                'e' => 't',
                other => other,
            })
            .collect(),
    )
}

/// A JSON string as Go's encoder writes it.
fn go_json(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A label or annotation selector (`a=b,c!=d,e,!f`) against a map.
fn label_selector_matches(selector: &str, labels: Option<&Node>) -> bool {
    let get = |key: &str| labels.and_then(|l| l.get(key)).and_then(Node::as_str);
    selector.split(',').map(str::trim).filter(|t| !t.is_empty()).all(|term| {
        if let Some((k, v)) = term.split_once("!=") {
            get(k.trim()) != Some(v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            get(k.trim()) == Some(v.trim())
        } else if let Some(k) = term.strip_prefix('!') {
            get(k.trim()).is_none()
        } else {
            get(term).is_some()
        }
    })
}

/// One step of a replacement field path.
enum Step {
    Key(String),
    /// `[name=value]`: the list item whose field has that value.
    Match(String, String),
    Index(usize),
}

fn field_steps(path: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in path.chars() {
        match c {
            '[' => {
                if depth == 0 && !current.is_empty() {
                    parts.push(std::mem::take(&mut current));
                }
                depth += 1;
                current.push(c);
            }
            ']' => {
                depth -= 1;
                current.push(c);
            }
            '.' if depth == 0 => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        if let Some(inner) = part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            match inner.split_once('=') {
                Some((k, v)) => steps.push(Step::Match(k.to_string(), v.to_string())),
                None => steps.push(Step::Key(inner.to_string())),
            }
        } else if let Ok(i) = part.parse::<usize>() {
            steps.push(Step::Index(i));
        } else {
            steps.push(Step::Key(part));
        }
    }
    steps
}

/// The value at a replacement field path (`metadata.name` and
/// `metadata.namespace` are the resource's current ones).
fn get_field(r: &Resource, path: &str) -> Option<Node> {
    let span = r.name_span();
    match path {
        "metadata.name" => return Some(Node::string(r.name.clone(), span)),
        "metadata.namespace" => return r.namespace.clone().map(|ns| Node::string(ns, span)),
        _ => {}
    }
    let mut node: &Node = &r.root;
    for step in field_steps(path) {
        node = match step {
            Step::Key(k) => node.get(&k)?,
            Step::Index(i) => node.as_seq().get(i)?,
            Step::Match(k, v) => node.as_seq().iter().find(|n| n.get(&k).and_then(Node::as_str) == Some(&v))?,
        };
    }
    Some(node.clone())
}

/// The source value after `options.delimiter`/`index` (`None`: index out of range).
fn delimited(options: Option<&Node>, value: &Node) -> Option<Node> {
    let Some(delimiter) = options.and_then(|o| o.get("delimiter")).and_then(Node::as_str) else {
        return Some(value.clone());
    };
    let index = options.and_then(|o| o.get("index")).and_then(Node::as_str).and_then(|i| i.parse::<usize>().ok());
    let text = value.as_str()?;
    let part = text.split(delimiter).nth(index.unwrap_or(0))?;
    Some(Node::string(part, value.span))
}

/// Write `value` at a replacement target field path.
fn set_field(r: &mut Resource, path: &str, value: &Node, options: Option<&Node>, create: bool) {
    let steps = field_steps(path);
    let delimiter = options.and_then(|o| o.get("delimiter")).and_then(Node::as_str);
    let index = options.and_then(|o| o.get("index")).and_then(Node::as_str).and_then(|i| i.parse::<usize>().ok());
    let new_text = |old: Option<&str>| -> Option<String> {
        let v = value.as_str()?;
        match (delimiter, old) {
            (Some(d), Some(old)) => {
                let mut parts: Vec<&str> = old.split(d).collect();
                let slot = parts.get_mut(index.unwrap_or(0))?;
                *slot = v;
                Some(parts.join(d))
            }
            _ => Some(v.to_string()),
        }
    };
    match path {
        "metadata.name" => {
            if let Some(t) = new_text(Some(&r.name)) {
                r.name = t;
            }
            return;
        }
        "metadata.namespace" => {
            if let Some(t) = new_text(r.namespace.as_deref()) {
                r.namespace = Some(t);
            }
            return;
        }
        _ => {}
    }
    let root = Arc::make_mut(&mut r.root);
    let Some((last, parents)) = steps.split_last() else { return };
    let mut node = root;
    for step in parents {
        node = match step {
            Step::Key(k) if create => match node.entry_map(k) {
                Some(n) => n,
                None => return,
            },
            Step::Key(k) => match node.get_mut(k) {
                Some(n) => n,
                None => return,
            },
            Step::Index(i) => match &mut node.value {
                Value::Seq(items) => match items.get_mut(*i) {
                    Some(n) => n,
                    None => return,
                },
                _ => return,
            },
            Step::Match(k, v) => match &mut node.value {
                Value::Seq(items) => match items.iter_mut().find(|n| n.get(k).and_then(Node::as_str) == Some(v)) {
                    Some(n) => n,
                    None => return,
                },
                _ => return,
            },
        };
    }
    let Step::Key(key) = last else { return };
    let existing = node.get(key);
    if existing.is_none() && !create {
        return;
    }
    let replacement = match (delimiter, existing.and_then(Node::as_str)) {
        (Some(_), old) => match new_text(old) {
            Some(t) => Node::string(t, value.span),
            None => return,
        },
        _ => value.clone(),
    };
    node.set(key, replacement);
}

/// How lines of an inline block scalar map to lines of its file.
struct BlockMap {
    /// 1-based line of the file where the text's first line is, and the
    /// columns of indentation before it; `None`: not mappable (folded or
    /// quoted text), so every node points at the whole string.
    start: Option<(u32, u32)>,
    file_line_starts: Vec<usize>,
    text_line_starts: Vec<usize>,
    whole: Span,
}

impl BlockMap {
    fn new(source: &str, span: Span, text: &str) -> BlockMap {
        let starts = |s: &str| {
            let mut v = vec![0];
            v.extend(s.match_indices('\n').map(|(i, _)| i + 1));
            v
        };
        let file_line_starts = starts(source);
        let text_line_starts = starts(text);
        // A literal block scalar's span starts at its first content line;
        // each text line is that file line less the indentation. Anything
        // else (folded, quoted, leading blank lines) does not verify.
        let start = (|| {
            let first = text.lines().next()?;
            let line = span.start.line;
            let indent = usize::try_from(span.start.col).ok()?.checked_sub(1)?;
            let at = *file_line_starts.get(usize::try_from(line).ok()?.checked_sub(1)?)?;
            let rest = source.get(at..)?.lines().next()?;
            let verified = !first.is_empty()
                && rest.get(..indent).is_some_and(|p| p.chars().all(|c| c == ' '))
                && rest.get(indent..)? == first;
            verified.then_some((line, u32::try_from(indent).ok()?))
        })();
        BlockMap { start, file_line_starts, text_line_starts, whole: span }
    }

    fn map(&self, span: Span) -> Span {
        let Some((first_line, indent)) = self.start else { return self.whole };
        let pos = |p: crate::yaml::Pos| -> Option<crate::yaml::Pos> {
            let line = first_line + p.line.checked_sub(1)?;
            let text_start = *self.text_line_starts.get(usize::try_from(p.line).ok()?.checked_sub(1)?)?;
            let file_start = *self.file_line_starts.get(usize::try_from(line).ok()?.checked_sub(1)?)?;
            Some(crate::yaml::Pos {
                offset: file_start + indent as usize + p.offset.checked_sub(text_start)?,
                line,
                col: p.col.saturating_add(indent),
            })
        };
        match (pos(span.start), pos(span.end)) {
            (Some(start), Some(end)) => Span { file: self.whole.file, start, end },
            _ => self.whole,
        }
    }
}

fn remap(node: &mut Node, map: &BlockMap) {
    node.span = map.map(node.span);
    match &mut node.value {
        Value::Scalar { .. } => {}
        Value::Seq(items) => items.iter_mut().for_each(|n| remap(n, map)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            remap(k, map);
            remap(v, map);
        }),
    }
}
