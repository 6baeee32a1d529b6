//! kustomize's transformers, run on what one kustomization has accumulated,
//! in the order kustomize runs them: its generators (`generate.rs`), then
//! `patchesStrategicMerge`, `patches`, `namespace`, `namePrefix`/
//! `nameSuffix`, labels, annotations, `patchesJson6902` and `replacements`
//! (`replace.rs`). Target selection and the name-reference fixes for
//! renamed objects live here; patch semantics in `patch.rs`.

use std::collections::HashSet;
use std::sync::Arc;

use regex::Regex;

use super::kustomize::{Kustomization, Patch, PatchBody, Replacement, Selector};
use super::patch::{is_json6902, json6902, strategic_merge};
use super::resource::BUILTIN_CLUSTER_SCOPED;
use super::{Builder, ModelNote, Resource, Via};
use crate::yaml::{Node, Span, Value};

/// A rename kustomize makes (prefix, suffix, hash) that references follow.
pub(super) struct Rename {
    kind: String,
    namespace: Option<String>,
    from: String,
    to: String,
}

impl Rename {
    /// Rename `r` to `to`, remembering the old name for references.
    pub(super) fn of(r: &mut Resource, to: String) -> Rename {
        Rename {
            kind: r.kind.clone(),
            namespace: r.namespace.clone(),
            from: std::mem::replace(&mut r.name, to.clone()),
            to,
        }
    }
}

impl Builder<'_> {
    /// Generators, then transformers, of kustomization `k` over `acc`.
    pub(super) fn generate_and_transform(
        &mut self,
        k: &Kustomization,
        stack: &mut Vec<super::FileId>,
        acc: &mut Vec<Resource>,
    ) {
        self.generate(k, acc);
        self.helm_charts(k, acc);
        self.run_generator_plugins(k, stack, acc);
        // With a remote base, patch targets may be in what was not fetched.
        let quiet = self.builds_remote(k);
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
                        self.model.not_read.push((*span, vec![path.clone()]));
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
        self.run_transformer_plugins(k, stack, acc, quiet);
    }

    /// Whether `k` or what it includes names a remote base.
    fn builds_remote(&mut self, k: &Kustomization) -> bool {
        if !k.remote.is_empty() {
            return true;
        }
        if let Some(&known) = self.expansions.remote.get(&k.file) {
            return known;
        }
        // A worklist with a visited set, stopping at kustomizations already
        // answered (builds finish children first): linear, whatever the
        // shape of the include graph.
        let mut seen = HashSet::from([k.file]);
        let mut todo = vec![k.file];
        let mut found = false;
        while let Some(kid) = todo.pop() {
            let Some(kust) = self.kustomizations.get(&kid) else { continue };
            if !kust.remote.is_empty() {
                found = true;
                break;
            }
            for e in kust.resources.iter().chain(&kust.components) {
                let Some(&child) = self.index.kustomization_dirs.get(&e.path) else { continue };
                match self.expansions.remote.get(&child) {
                    Some(true) => {
                        found = true;
                        break;
                    }
                    Some(false) => {}
                    None if seen.insert(child) => todo.push(child),
                    None => {}
                }
            }
            if found {
                break;
            }
        }
        self.expansions.remote.insert(k.file, found);
        found
    }

    pub(super) fn note(&mut self, span: Span, message: String) {
        self.model.notes.push(ModelNote { span, message });
    }

    /// The documents of a patch (a file's, or inline text's).
    fn patch_documents(&mut self, body: &PatchBody, span: Span) -> Vec<Arc<Node>> {
        match body {
            PatchBody::File(path) => match self.index.files.get(path) {
                Some(file) => {
                    self.docs_by_file.get(file).map_or(Vec::new(), |d| d.iter().map(|d| Arc::clone(&d.root)).collect())
                }
                None => {
                    self.model.not_read.push((span, vec![path.clone()]));
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

    /// Apply one patch entry to the resources it targets.
    pub(super) fn apply_patch(&mut self, p: &Patch, acc: &mut Vec<Resource>, quiet: bool) {
        let label: Arc<str> = match &p.body {
            PatchBody::File(path) => {
                let display = self.index.files.get(path).and_then(|f| self.sources.file(*f)).map(|f| f.display.clone());
                format!("patched by {}", display.unwrap_or_else(|| path.display().to_string())).into()
            }
            PatchBody::Inline(_) => Arc::from("patched by an inline patch"),
        };
        // The text the patch's values come from.
        let extent = match &p.body {
            PatchBody::File(path) => self.index.files.get(path).and_then(|&id| {
                let text = &self.sources.file(id)?.text;
                let end = crate::yaml::Pos::at(text.len(), u32::MAX, 1);
                Some(Span { file: id, start: crate::yaml::Pos { offset: 0, line: 1, col: 1 }, end })
            }),
            PatchBody::Inline(node) => Some(node.span),
        };
        for doc in self.patch_documents(&p.body, p.span) {
            if is_json6902(&doc) {
                let Some(target) = &p.target else {
                    self.note(p.span, "a JSON 6902 patch needs a `target`".into());
                    continue;
                };
                let mut failures = Vec::new();
                // What it removes is said: a finding about a field that is
                // not there can point at the patch that took it out.
                let removed: Vec<&str> = doc
                    .as_seq()
                    .iter()
                    .filter(|op| op.get("op").and_then(Node::as_str) == Some("remove"))
                    .filter_map(|op| op.get("path").and_then(Node::as_str))
                    .collect();
                let message: Arc<str> = if removed.is_empty() {
                    label.clone()
                } else {
                    let paths: Vec<String> = removed.iter().map(|p| format!("`{p}`")).collect();
                    format!("{label} (removes {})", paths.join(", ")).into()
                };
                for r in acc.iter_mut() {
                    if !self.selects(target, r) {
                        continue;
                    }
                    match json6902(Arc::make_mut(&mut r.root), &doc) {
                        Ok(()) => {
                            refresh_identity(r);
                            r.via.push(Via { span: p.span, message: message.clone(), shown: true, patch: extent });
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
                r.via.push(Via { span: p.span, message: label.clone(), shown: true, patch: extent });
            }
        }
    }

    /// Whether selector `s` picks `r` (original or current name and
    /// namespace, as kustomize matches them).
    pub(super) fn selects(&mut self, s: &Selector, r: &Resource) -> bool {
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
    move_to_namespace(acc, ns, what, true, false);
}

/// [`set_namespace`] as a `NamespaceTransformer` configures it: a
/// `Namespace` takes the name only when `rename_namespaces`, and with
/// `unset_only` an object that has a namespace keeps it.
pub(super) fn move_to_namespace(
    acc: &mut [Resource],
    ns: &(String, Span),
    what: &str,
    rename_namespaces: bool,
    unset_only: bool,
) {
    let (namespace, span) = ns;
    let named: Arc<str> = format!("named by {what} `{namespace}`").into();
    let set_here: Arc<str> = format!("{what} `{namespace}` set here").into();
    for r in acc.iter_mut() {
        if r.kind == "Namespace" && r.group().is_empty() {
            if rename_namespaces && r.name != *namespace {
                r.name = namespace.clone();
                r.via.push(Via { span: *span, message: named.clone(), shown: false, patch: None });
            }
        } else if !(kustomize_cluster_scoped(r) || unset_only && r.namespace.is_some())
            && r.namespace.as_deref() != Some(namespace)
        {
            r.namespace = Some(namespace.clone());
            r.via.push(Via { span: *span, message: set_here.clone(), shown: false, patch: None });
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
        r.via.push(Via { span, message: format!("renamed `{to}` here").into(), shown: false, patch: None });
        renames.push(Rename::of(r, to));
    }
    fix_references(acc, &renames);
}

/// Kinds kustomize knows to be cluster-scoped (from the built-in API
/// schema). Custom kinds are namespaced to kustomize, whatever the cluster
/// says, so they take the namespace too.
fn kustomize_cluster_scoped(r: &Resource) -> bool {
    is_builtin_group(r.group()) && BUILTIN_CLUSTER_SCOPED.contains(&r.kind.as_str())
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
pub(super) fn fix_references(acc: &mut [Resource], renames: &[Rename]) {
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
                slot.value = Value::Scalar { text: to.into(), plain: false };
            }
        }
    }
}

/// A label or annotation selector (the string form, `a=b,c notin (d),!e`)
/// against a map; one that does not parse selects nothing (kustomize
/// refuses the build).
fn label_selector_matches(selector: &str, labels: Option<&Node>) -> bool {
    crate::selector::LabelSelector::parse(selector).is_ok_and(|s| s.matches_map(labels))
}
