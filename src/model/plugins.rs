//! kustomize's `generators:` and `transformers:` fields: plugin
//! configurations, run after the built-in generators and transformers as
//! kustomize runs them. The built-in plugins (`apiVersion: builtin`) are
//! the same code as the fields they stand for (a `NamespaceTransformer` is
//! `namespace:` with its own field specs); KSOPS's `files:` are the SOPS
//! manifests it decrypts, read as they are. Any other plugin is a program
//! lifeboat does not run: it is noted, never passed over.

use std::sync::Arc;

use super::kustomize::{normalize, Kustomization, Patch, PatchBody, PluginEntry, Selector};
use super::transform::{add_metadata, add_prefix_suffix, move_to_namespace};
use super::{Builder, FileId, Resource, Via};
use crate::yaml::{Node, Span, Value};

/// One plugin configuration, with the namespace its build gave it.
struct Config {
    root: Arc<Node>,
    namespace: Option<String>,
}

impl Config {
    fn kind(&self) -> &str {
        self.root.get("kind").and_then(Node::as_str).unwrap_or("")
    }

    fn api_version(&self) -> &str {
        self.root.get("apiVersion").and_then(Node::as_str).unwrap_or("")
    }

    fn is_builtin(&self) -> bool {
        self.api_version() == "builtin"
    }

    fn get(&self, key: &str) -> Option<&Node> {
        self.root.get(key)
    }

    fn span(&self) -> Span {
        self.root.span
    }

    fn label(&self) -> String {
        let name = self.root.path(&["metadata", "name"]).and_then(Node::as_str).unwrap_or("");
        if name.is_empty() {
            format!("`{}`", self.kind())
        } else {
            format!("{} `{name}`", self.kind())
        }
    }
}

/// A `fieldSpecs` entry: where a transformer writes, on which kinds.
struct FieldSpec {
    path: Vec<String>,
    kind: Option<String>,
    group: Option<String>,
    create: bool,
}

impl FieldSpec {
    fn all(config: &Config) -> Vec<FieldSpec> {
        config
            .get("fieldSpecs")
            .map_or(&[][..], Node::as_seq)
            .iter()
            .filter_map(|fs| {
                let path = fs.get("path").and_then(Node::as_nonempty_str)?;
                let field = |key: &str| fs.get(key).and_then(Node::as_nonempty_str).map(str::to_string);
                Some(FieldSpec {
                    path: path.split('/').filter(|p| !p.is_empty()).map(str::to_string).collect(),
                    kind: field("kind"),
                    group: field("group"),
                    create: fs.get("create").and_then(Node::as_bool) == Some(true),
                })
            })
            .collect()
    }

    fn is(&self, path: &str) -> bool {
        self.path.iter().map(String::as_str).eq(path.split('/'))
    }

    fn selects(&self, r: &Resource) -> bool {
        self.kind.as_deref().is_none_or(|k| k == r.kind) && self.group.as_deref().is_none_or(|g| g == r.group())
    }
}

/// Set `value` at `path` under `node` (`name[]` walks a list's items);
/// missing fields are made only when `create`. Returns whether it wrote.
fn set_field(node: &mut Node, path: &[String], value: &Node, create: bool, unset_only: bool) -> bool {
    let Some((first, rest)) = path.split_first() else { return false };
    if let Some(key) = first.strip_suffix("[]") {
        let Some(Value::Seq(items)) = node.get_mut(key).map(|n| &mut n.value) else { return false };
        let mut wrote = false;
        for item in items {
            wrote |= set_field(item, rest, value, create, unset_only);
        }
        return wrote;
    }
    if rest.is_empty() {
        let present = node.get(first).is_some_and(|n| !n.is_null() && n.as_str() != Some(""));
        if (present && unset_only) || (node.get(first).is_none() && !create) || !node.is_map() {
            return false;
        }
        node.set(first, value.clone());
        return true;
    }
    let child = if create { node.entry_map(first) } else { node.get_mut(first).filter(|n| n.is_map()) };
    child.is_some_and(|c| set_field(c, rest, value, create, unset_only))
}

impl Builder<'_> {
    /// The configurations `entries` name: a file's documents, a
    /// kustomization directory's build, or inline text.
    fn plugin_configs(&mut self, entries: &[PluginEntry], stack: &mut Vec<FileId>) -> Vec<Config> {
        let mut out = Vec::new();
        for entry in entries {
            match entry {
                PluginEntry::Inline(node) => {
                    out.extend(self.parse_inline(node).into_iter().map(|root| config_of(root, None)));
                }
                PluginEntry::Path(path, span) => {
                    if let Some(&child) = self.index.kustomization_dirs.get(path) {
                        if stack.contains(&child) {
                            self.note(
                                *span,
                                format!(
                                    "`{}` leads back to this kustomization (a cycle): not followed",
                                    path.display()
                                ),
                            );
                            continue;
                        }
                        let mut built = Vec::new();
                        self.accumulate(child, stack, &mut built);
                        out.extend(built.into_iter().map(|r| config_of(r.root, r.namespace)));
                    } else if let Some(&file) = self.index.files.get(path) {
                        let docs: Vec<Arc<Node>> = self
                            .docs_by_file
                            .get(&file)
                            .map_or(Vec::new(), |d| d.iter().map(|d| Arc::clone(&d.root)).collect());
                        out.extend(docs.into_iter().map(|root| config_of(root, None)));
                    } else {
                        self.model.not_read.push((*span, vec![path.clone()]));
                        self.note(
                            *span,
                            format!("plugin configuration `{}` is not a file lifeboat read", path.display()),
                        );
                    }
                }
            }
        }
        out
    }

    /// `generators:`: built-in ConfigMap, Secret and Helm chart generators,
    /// and KSOPS; other generators are noted.
    pub(super) fn run_generator_plugins(
        &mut self,
        k: &Kustomization,
        stack: &mut Vec<FileId>,
        acc: &mut Vec<Resource>,
    ) {
        if k.generator_plugins.is_empty() {
            return;
        }
        let dir = self.kustomization_dir(k);
        for config in self.plugin_configs(&k.generator_plugins, stack) {
            match (config.is_builtin(), config.kind()) {
                (true, kind @ ("ConfigMapGenerator" | "SecretGenerator")) => {
                    let kind = if kind == "SecretGenerator" { "Secret" } else { "ConfigMap" };
                    let mut item = (*config.root).clone();
                    if let Some(name) = config.root.path(&["metadata", "name"]).cloned() {
                        item.set("name", name);
                    }
                    if let Some(ns) = &config.namespace {
                        item.set("namespace", Node::string(ns.as_str(), config.span()));
                    }
                    let mut own = k.clone();
                    own.generators = vec![(kind, item)];
                    self.generate(&own, acc);
                }
                (true, "HelmChartInflationGenerator") => {
                    let mut own = k.clone();
                    own.helm_charts = vec![(*config.root).clone()];
                    self.helm_charts(&own, acc);
                }
                (false, "ksops") => {
                    for item in config.get("files").map_or(&[][..], Node::as_seq) {
                        let Some(text) = item.as_nonempty_str() else { continue };
                        let path = normalize(&dir.join(text.trim()));
                        match self.index.files.get(&path).copied() {
                            Some(file) => {
                                self.model.referenced.insert(file);
                                self.instantiate_file(file, Some(item.span), acc);
                            }
                            None => {
                                self.model.not_read.push((item.span, vec![path.clone()]));
                                self.note(
                                    item.span,
                                    format!("KSOPS file `{}` is not a file lifeboat read", path.display()),
                                );
                            }
                        }
                    }
                    if config.get("secretFrom").is_some() {
                        self.note(
                            config.span(),
                            format!("{}: `secretFrom` is not read: the Secrets it makes are unknown", config.label()),
                        );
                    }
                }
                _ => self.note(
                    config.span(),
                    format!(
                        "generator {} (`{}`) is a plugin lifeboat does not run: what it makes is unknown",
                        config.label(),
                        config.api_version()
                    ),
                ),
            }
        }
    }

    /// `transformers:`: the built-in transformers; others are noted.
    pub(super) fn run_transformer_plugins(
        &mut self,
        k: &Kustomization,
        stack: &mut Vec<FileId>,
        acc: &mut Vec<Resource>,
        quiet: bool,
    ) {
        if k.transformer_plugins.is_empty() {
            return;
        }
        let dir = self.kustomization_dir(k);
        for config in self.plugin_configs(&k.transformer_plugins, stack) {
            if !config.is_builtin() {
                self.note(
                    config.span(),
                    format!(
                        "transformer {} (`{}`) is a plugin lifeboat does not run: what it changes is unknown",
                        config.label(),
                        config.api_version()
                    ),
                );
                continue;
            }
            let span = config.span();
            let text = |key: &str| config.get(key).and_then(Node::as_nonempty_str).map(|t| (t.to_string(), span));
            match config.kind() {
                "NamespaceTransformer" => namespace_transformer(acc, &config),
                kind @ ("PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer") => {
                    let specs = FieldSpec::all(&config);
                    if specs.iter().any(|fs| fs.is("metadata/name")) {
                        let prefix = if kind == "SuffixTransformer" { None } else { text("prefix") };
                        let suffix = if kind == "PrefixTransformer" { None } else { text("suffix") };
                        add_prefix_suffix(acc, prefix.as_ref(), suffix.as_ref());
                    }
                }
                kind @ ("LabelTransformer" | "AnnotationsTransformer") => {
                    let key = if kind == "LabelTransformer" { "labels" } else { "annotations" };
                    if let Some(pairs) = config.get(key) {
                        metadata_transformer(acc, key, pairs, &FieldSpec::all(&config));
                    }
                }
                "PatchTransformer" | "PatchStrategicMergeTransformer" | "PatchJson6902Transformer" => {
                    for patch in patches_of(&config, &dir) {
                        if let PatchBody::File(path) = &patch.body {
                            if let Some(&file) = self.index.files.get(path) {
                                self.model.referenced.insert(file);
                            }
                        }
                        self.apply_patch(&patch, acc, quiet);
                    }
                }
                "ReplacementTransformer" => {
                    for replacement in config.get("replacements").map_or(&[][..], Node::as_seq) {
                        self.replace(replacement, acc);
                    }
                }
                // What they change (images, replicas, name hashes, order)
                // holds nothing lifeboat reads about backups.
                "ImageTagTransformer"
                | "ReplicaCountTransformer"
                | "HashTransformer"
                | "SortOrderTransformer"
                | "LegacyOrderTransformer"
                | "ValueAddTransformer" => {}
                _ => self.note(
                    span,
                    format!("transformer {} is not one lifeboat knows: what it changes is unknown", config.label()),
                ),
            }
        }
    }
}

fn config_of(root: Arc<Node>, namespace: Option<String>) -> Config {
    let namespace =
        namespace.or_else(|| root.path(&["metadata", "namespace"]).and_then(Node::as_nonempty_str).map(str::to_string));
    Config { root, namespace }
}

/// A `NamespaceTransformer`: the namespace is the configuration's own
/// (`metadata.namespace`). Namespaced objects move (unless `unsetOnly` and
/// they have one), a `Namespace` takes the name when a field spec says so,
/// and every other field spec (a Flux Kustomization's
/// `spec/targetNamespace`, say) is written.
fn namespace_transformer(acc: &mut [Resource], config: &Config) {
    let Some(namespace) = config.namespace.clone() else { return };
    let unset_only = config.get("unsetOnly").and_then(Node::as_bool) == Some(true);
    let span = config.root.path(&["metadata", "namespace"]).map_or(config.span(), |n| n.span);
    let specs = FieldSpec::all(config);
    let value = Node::string(namespace.as_str(), span);
    let via = |message: String| Via { span, message: message.into(), shown: false, patch: None };
    // A field spec of `metadata/name` on Namespaces renames them.
    let renames = specs.iter().any(|fs| {
        fs.is("metadata/name")
            && fs.kind.as_deref().is_none_or(|k| k == "Namespace")
            && fs.group.as_deref().is_none_or(str::is_empty)
    });
    let what = format!("the namespace of {}", config.label());
    move_to_namespace(acc, &(namespace.clone(), span), &what, renames && !unset_only, unset_only);
    for r in acc.iter_mut() {
        for fs in &specs {
            if fs.is("metadata/namespace") || fs.is("metadata/name") || !fs.selects(r) {
                continue;
            }
            if set_field(Arc::make_mut(&mut r.root), &fs.path, &value, fs.create, unset_only) {
                r.via.push(via(format!("`{}` set to `{namespace}` by {}", fs.path.join("."), config.label())));
            }
        }
    }
}

/// A `LabelTransformer` or `AnnotationsTransformer`: the pairs are merged
/// where each field spec says, on the kinds it selects.
fn metadata_transformer(acc: &mut [Resource], key: &str, pairs: &Node, specs: &[FieldSpec]) {
    let own = format!("metadata/{key}");
    for r in acc.iter_mut() {
        for fs in specs {
            if !fs.selects(r) {
                continue;
            }
            if fs.is(&own) {
                add_metadata(std::slice::from_mut(r), key, pairs, false);
                continue;
            }
            for (k, v) in pairs.as_map() {
                let Some(k) = k.as_str() else { continue };
                let mut path = fs.path.clone();
                path.push(k.to_string());
                set_field(Arc::make_mut(&mut r.root), &path, v, fs.create, false);
            }
        }
    }
}

/// The patches of a `Patch*Transformer` configuration (paths are the
/// kustomization's own, as kustomize reads them).
fn patches_of(config: &Config, dir: &std::path::Path) -> Vec<Patch> {
    let target = config.get("target").map(Selector::parse);
    let span = config.span();
    let mut out = Vec::new();
    let mut push = |body| out.push(Patch { body, target: target.clone(), span });
    if let Some(path) = config.get("path").and_then(Node::as_nonempty_str) {
        push(PatchBody::File(normalize(&dir.join(path))));
    }
    for key in ["patch", "patches", "jsonOp"] {
        if let Some(text) = config.get(key).filter(|n| n.as_str().is_some()) {
            push(PatchBody::Inline(text.clone()));
        }
    }
    for path in config.get("paths").map_or(&[][..], Node::as_seq).iter().filter_map(Node::as_nonempty_str) {
        push(PatchBody::File(normalize(&dir.join(path))));
    }
    out
}
