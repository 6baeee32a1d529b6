//! A `Resource` is one deployed instance of a Kubernetes object: the YAML
//! document it comes from, the namespace it really lands in, and how it got
//! there.

use std::sync::Arc;

use crate::yaml::{Document, FileId, Node, Span};

/// How an instance was produced: one step of the chain (a kustomization's
/// `resources:` entry, the `namespace:` that overrode the object's own …).
#[derive(Debug, Clone, PartialEq)]
pub struct Via {
    pub span: Span,
    /// Shared by every object one step built (an `Arc`, not a copy each).
    pub message: Arc<str>,
    /// Shown with findings as a related location (a Flux Kustomization that
    /// instantiated a component is; a plain `resources:` entry is not).
    pub shown: bool,
    /// For a patch: the text its values come from (the inline patch, or the
    /// whole patch file). The human report shows a patch under a finding
    /// only when the place the finding points at is in that text — a patch
    /// that does not set the field the finding is about (a cluster-wide
    /// defaults patch) does not follow every finding; JSON and SARIF keep
    /// every related location.
    pub patch: Option<Span>,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub api_version: String,
    pub kind: String,
    /// `metadata.name` ("" when absent).
    pub name: String,
    /// The effective namespace (kustomize `namespace:` over `metadata.namespace`).
    pub namespace: Option<String>,
    pub root: Arc<Node>,
    pub file: FileId,
    pub doc_index: usize,
    pub via: Vec<Via>,
    /// The document is SOPS-encrypted (a top-level `sops:` key).
    pub sops: bool,
    /// Name and namespace before any kustomize transformer (patch targets
    /// and replacements match either, as kustomize does).
    pub original_name: String,
    pub original_namespace: Option<String>,
    /// Made by a kustomize generator whose name gets a content hash.
    pub hashed_name: bool,
    /// Made by a kustomize generator from inputs lifeboat does not read
    /// (a `.env` file, say): its data is incomplete.
    pub partial: bool,
    /// The Flux Kustomization or Argo CD Application that deployed it (its
    /// name: usually the app's).
    pub deployed_by: Option<String>,
    /// The Kubernetes cluster it lands on, when the repository deploys more
    /// than one (the Flux entry point or Argo CD destination it came from);
    /// `None` in a repository of one cluster.
    pub cluster: Option<Arc<str>>,
    /// For a Helm release whose chart lifeboat rendered (a chart of the
    /// repository): what it could not render. `None` when the chart was not
    /// rendered (its values are read for persistence as they are).
    pub rendered_chart: Option<Arc<RenderedChart>>,
    /// Why lifeboat cannot see everything that deploys with this object (a
    /// chart of the repository some of whose templates it could not render:
    /// they may hold its backup). Items it declares are not judged.
    pub blind: Option<Arc<str>>,
}

/// A dependency of a repository chart (`Chart.yaml` `dependencies`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dependency {
    /// Its values key: the alias, else the chart's name.
    pub alias: String,
    pub chart: String,
    pub repository: String,
    /// The version (or range) it asks for.
    pub version: String,
}

/// What rendering a repository chart left unread, so the inventory reads
/// those values for persistence instead.
#[derive(Debug, Clone, Default)]
pub struct RenderedChart {
    /// Dependencies that are not in the repository and not in the chart
    /// catalogue.
    pub unrendered: Vec<Dependency>,
    /// Some template of the chart could not be rendered: all its values
    /// are read as well.
    pub failed: bool,
    /// The chart's own `values.yaml` (the defaults under the release's values).
    pub defaults: Option<Arc<Node>>,
}

impl Resource {
    /// Make a resource of a document that has `apiVersion` and `kind`.
    pub fn from_document(doc: &Document) -> Option<Resource> {
        let root = &doc.root;
        let api_version = root.get("apiVersion")?.as_str()?.to_string();
        // A Kubernetes object's apiVersion is `v1` or `<group>/<version>`
        // (kustomize's own generators say `builtin`); a bare `v1alpha1` is
        // another tool's document (Talos' machine
        // configuration: `HostnameConfig`, `LinkConfig` …), not one to deploy.
        if api_version != "v1" && is_bare_version(&api_version) {
            return None;
        }
        let kind = root.get("kind")?.as_str()?.to_string();
        let metadata = root.get("metadata");
        let name = metadata.and_then(|m| m.get("name")).and_then(Node::as_str).unwrap_or("").to_string();
        let namespace = metadata.and_then(|m| m.get("namespace")).and_then(Node::as_nonempty_str).map(str::to_string);
        Some(Resource {
            api_version,
            kind,
            original_name: name.clone(),
            original_namespace: namespace.clone(),
            hashed_name: false,
            partial: false,
            deployed_by: None,
            cluster: None,
            rendered_chart: None,
            blind: None,
            name,
            namespace,
            root: Arc::clone(&doc.root),
            file: doc.file,
            doc_index: doc.index,
            via: Vec::new(),
            sops: root.get("sops").is_some_and(Node::is_map),
        })
    }

    /// A resource lifeboat makes rather than reads (a generated ConfigMap, a
    /// rendered Application): `root` stands as document `index` of `file`.
    pub fn synthesized(file: FileId, index: usize, root: Node) -> Option<Resource> {
        Resource::from_document(&Document { file, index, root: Arc::new(root) })
    }

    /// An object a chart or an operator makes for `parent`: in its file at
    /// the synthetic document `index`, said to be made as `via` says (then
    /// how `parent` came to be), in `namespace` unless cluster-scoped, on
    /// `parent`'s cluster, deployed by `deployed_by`.
    pub fn made_for(
        parent: &Resource,
        index: usize,
        root: Node,
        via: Via,
        namespace: Option<&str>,
        deployed_by: Option<String>,
    ) -> Option<Resource> {
        let mut m = Resource::synthesized(parent.file, index, root)?;
        m.via.push(via);
        if m.namespace.is_none() && !is_cluster_scoped(&m.kind) {
            m.namespace = namespace.map(str::to_string);
            m.original_namespace.clone_from(&m.namespace);
        }
        m.cluster.clone_from(&parent.cluster);
        m.deployed_by = deployed_by;
        m.via.extend(parent.via.iter().filter(|v| v.shown).cloned());
        Some(m)
    }

    /// Read kind, apiVersion, name and namespace again from `r.root` (after
    /// substitution).
    pub fn from_root(r: &Resource) -> Option<Resource> {
        Resource::from_document(&Document { file: r.file, index: r.doc_index, root: Arc::clone(&r.root) })
    }

    /// The API group (`postgresql.cnpg.io` of `postgresql.cnpg.io/v1`; "" for core).
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }

    pub fn is(&self, group: &str, kind: &str) -> bool {
        self.kind == kind && self.group() == group
    }

    pub fn spec(&self) -> Option<&Node> {
        self.root.get("spec")
    }

    /// `metadata.annotations` as (key node, value node) pairs.
    pub fn annotations(&self) -> &[(Node, Node)] {
        self.root.path(&["metadata", "annotations"]).map_or(&[], Node::as_map)
    }

    pub fn annotation(&self, key: &str) -> Option<&Node> {
        self.root.path(&["metadata", "annotations", key])
    }

    /// Where to point for "this resource": the `name:` entry under metadata
    /// (key through value), else the document itself.
    pub fn name_span(&self) -> Span {
        let metadata = self.root.get("metadata");
        match (metadata.and_then(|m| m.key_node("name")), metadata.and_then(|m| m.get("name"))) {
            (Some(key), Some(value)) => key.span.through(value.span),
            _ => self.kind_span(),
        }
    }

    /// The `kind:` entry (always present on a resource).
    pub fn kind_span(&self) -> Span {
        match (self.root.key_node("kind"), self.root.get("kind")) {
            (Some(key), Some(value)) => key.span.through(value.span),
            _ => self.root.span,
        }
    }

    /// The `spec:` key, else the `kind:` entry: where to point when a
    /// required field of the spec is missing.
    pub fn spec_span(&self) -> Span {
        self.root.key_node("spec").map_or(self.kind_span(), |k| k.span)
    }

    /// Made by an operator or by a chart for what it runs (not a manifest
    /// a chart only writes out): its `via` says so.
    pub fn made_by_chart_or_operator(&self) -> bool {
        self.via.iter().any(|v| v.message.starts_with("made by the ") || v.message.starts_with("made by chart"))
    }

    /// `namespace/name`, or `name` when the namespace is unknown.
    pub fn qualified_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }

    /// Whether the same namespace as `other` (both unset counts as the same).
    pub fn same_namespace(&self, namespace: Option<&str>) -> bool {
        self.namespace.as_deref() == namespace
    }
}

/// Built-in Kubernetes kinds that are cluster-scoped: what kustomize's
/// namespace transformer knows to leave alone (it namespaces every other
/// kind, custom ones included).
pub const BUILTIN_CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "PersistentVolume",
    "PriorityClass",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "IngressClass",
    "APIService",
    "RuntimeClass",
    "CSIDriver",
    "CSINode",
    "VolumeAttachment",
    "Node",
    "CertificateSigningRequest",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "ComponentStatus",
    "PodSecurityPolicy",
    "TokenReview",
    "SelfSubjectAccessReview",
    "SubjectAccessReview",
];

/// Custom kinds of the backup stack's neighbours that are cluster-scoped.
const CUSTOM_CLUSTER_SCOPED: &[&str] =
    &["ClusterIssuer", "ClusterSecretStore", "ClusterExternalSecret", "VolumeSnapshotClass", "ClusterImageCatalog"];

/// Whether objects of `kind` live outside namespaces (as the cluster sees
/// it, so a namespace given to them means nothing).
pub fn is_cluster_scoped(kind: &str) -> bool {
    BUILTIN_CLUSTER_SCOPED.contains(&kind) || CUSTOM_CLUSTER_SCOPED.contains(&kind)
}

/// The annotation lifeboat puts on a claim (template) it makes for an object
/// that copies the claim's data off the cluster by itself (a Prometheus
/// with a Thanos sidecar uploading its blocks): its value says how. The
/// inventory lists it as the claim's protection.
pub const OFFSITE_COPY_ANNOTATION: &str = "internal.lifeboat.dev/offsite-copy";

/// The annotation lifeboat puts on a claim (template) it makes for data the
/// object rebuilds by itself from elsewhere (a Thanos compactor's or store
/// gateway's working copy of its bucket), from the chart catalogue's
/// `rebuilt:`: its value is the reason, and the claim is excluded with it.
pub const REBUILT_ANNOTATION: &str = "internal.lifeboat.dev/rebuilt";

/// The annotation lifeboat puts on a Velero Schedule a chart release makes
/// when the release's values say it copies no volume data (snapshots off,
/// no node agent): its value says why.
pub const NO_VOLUME_DATA_ANNOTATION: &str = "internal.lifeboat.dev/no-volume-data";

/// How a Prometheus `spec` (a Prometheus custom resource's, or a chart's
/// `prometheusSpec`) copies its data off the cluster: a Thanos sidecar with
/// an object storage configuration uploads every completed 2-hour block.
pub fn thanos_upload(spec: &Node) -> Option<String> {
    let thanos = spec.get("thanos")?;
    let config = thanos.get("objectStorageConfig").filter(|n| !n.is_null());
    let file = thanos.get("objectStorageConfigFile").and_then(Node::as_nonempty_str);
    let secret = config.and_then(|c| c.get("name")).and_then(Node::as_nonempty_str);
    match (config, file, secret) {
        (_, _, Some(secret)) => {
            Some(format!("Thanos sidecar uploads each 2-hour block to object storage (Secret `{secret}`); the newest ~2 hours are only on the volume"))
        }
        (Some(_), _, None) | (None, Some(_), None) => Some(
            "Thanos sidecar uploads each 2-hour block to object storage; the newest ~2 hours are only on the volume".into(),
        ),
        (None, None, None) => None,
    }
}

/// The references in `text` lifeboat could not resolve (`${VAR}`, `{{ … }}`).
pub fn unresolved_refs(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        let two = (bytes.get(i).copied(), bytes.get(i + 1).copied());
        let (open, close) = match two {
            (Some(b'$'), Some(b'{')) => (b'{', b'}'),
            (Some(b'{'), Some(b'{')) => (b'{', b'}'),
            _ => {
                i += 1;
                continue;
            }
        };
        // The matching close, nested references included.
        let mut depth = 0usize;
        let mut end = None;
        for (j, &b) in bytes.iter().enumerate().skip(i + 1) {
            if b == open {
                depth += 1;
            } else if b == close {
                depth = depth.saturating_sub(1);
                if depth == 0 && (two.0 == Some(b'$') || bytes.get(j + 1) == Some(&b'}')) {
                    end = Some(if two.0 == Some(b'$') { j + 1 } else { j + 2 });
                    break;
                }
            }
        }
        let Some(end) = end else { break };
        if let Some(r) = text.get(i..end) {
            if !out.contains(&r) {
                out.push(r);
            }
        }
        i = end;
    }
    out
}

/// `text` with what it leaves unresolved said so: "s3://${BUCKET}/db
/// (`${BUCKET}` unresolved)".
pub fn say_unresolved(text: &mut String) {
    let refs = unresolved_refs(text);
    if !refs.is_empty() {
        let list = refs.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ");
        text.push_str(&format!(" ({list} unresolved)"));
    }
}

/// As [`say_unresolved`], saying where a variable's value is when it is in
/// a source lifeboat cannot read (`hidden`: variable → "Secret `x`").
pub fn say_unresolved_with(text: &mut String, hidden: &HiddenVariables, kustomization: Option<&str>) {
    let refs = unresolved_refs(text);
    let name_of = |r: &str| -> String {
        r.strip_prefix("${").unwrap_or("").chars().take_while(|c| *c == '_' || c.is_ascii_alphanumeric()).collect()
    };
    if !refs.iter().any(|r| hidden.0.contains_key(&name_of(r))) {
        say_unresolved(text);
        return;
    }
    let said: Vec<String> = refs
        .iter()
        .map(|r| match hidden.source(&name_of(r), kustomization) {
            Some(source) => format!("`{r}`: its value is in {source}, which lifeboat cannot read"),
            None => format!("`{r}` unresolved"),
        })
        .collect();
    text.push_str(&format!(" ({})", said.join("; ")));
}

/// Substitution variables whose value is in a source lifeboat cannot read
/// (a key of a SOPS-encrypted Secret): for each, the Flux Kustomizations
/// that substitute it (by name) and the source each reads it from
/// (`Secret \`cluster-secrets\``).
#[derive(Debug, Default, Clone)]
pub struct HiddenVariables(pub std::collections::BTreeMap<String, Vec<(String, String)>>);

impl HiddenVariables {
    /// Where `var`'s value is, for what Flux Kustomization `kustomization`
    /// deploys: its own source; else the one source every Kustomization
    /// reads it from, or all of them ("one of …").
    pub fn source(&self, var: &str, kustomization: Option<&str>) -> Option<String> {
        let sources = self.0.get(var)?;
        if let Some((_, own)) = sources.iter().find(|(k, _)| Some(k.as_str()) == kustomization) {
            return Some(own.clone());
        }
        let mut distinct: Vec<&str> = sources.iter().map(|(_, s)| s.as_str()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        match distinct.as_slice() {
            [] => None,
            [one] => Some((*one).to_string()),
            many => Some(format!("one of {}", many.join(", "))),
        }
    }
}

/// True when `text` still holds a Flux `${VAR}` placeholder or a template
/// expression (`{{ … }}` of Helm or an ApplicationSet): a value that is
/// unknown until rendering and so never equal to anything.
pub fn is_unresolved(text: &str) -> bool {
    text.contains("${") || text.contains("{{")
}

/// A Secret another object makes in the cluster (an ExternalSecret, a
/// SealedSecret, an ObjectBucketClaim, a cert-manager Certificate, a
/// 1Password, Vault, Infisical or Bitwarden object …), for an object of
/// `group`/`kind` named `name` with document `root`: the Secret's name, and
/// whether it is made in every namespace (a ClusterExternalSecret, a
/// trust-manager Bundle). The inventory's Secrets and Flux's substitution
/// sources both read it.
pub fn made_secret(group: &str, kind: &str, name: &str, root: &Node) -> Option<(String, bool)> {
    let spec = root.get("spec");
    let target = |path: &[&str]| spec.and_then(|s| s.path(path)).and_then(Node::as_nonempty_str);
    let or_own = |made: Option<&str>| made.unwrap_or(name).to_string();
    Some(match (group, kind) {
        ("external-secrets.io", "ExternalSecret") => (or_own(target(&["target", "name"])), false),
        ("external-secrets.io", "ClusterExternalSecret") => (
            or_own(target(&["externalSecretSpec", "target", "name"]).or_else(|| target(&["externalSecretName"]))),
            true,
        ),
        ("bitnami.com", "SealedSecret") => (or_own(target(&["template", "metadata", "name"])), false),
        // lib-bucket-provisioner (Rook, NooBaa): the claim's Secret,
        // named as the claim, holds AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
        ("objectbucket.io", "ObjectBucketClaim") => (name.to_string(), false),
        // Rook: `rook-ceph-object-user-<store>-<user>` (AccessKey, SecretKey, Endpoint).
        ("ceph.rook.io", "CephObjectStoreUser") => {
            (format!("rook-ceph-object-user-{}-{name}", target(&["store"])?), false)
        }
        // cert-manager: a Certificate's `secretName` (tls.crt, tls.key,
        // ca.crt); trust-manager: a Bundle with `target.secret` writes the
        // Secret `<bundle>` in the namespaces it selects.
        ("cert-manager.io", "Certificate") => (target(&["secretName"])?.to_string(), false),
        ("trust.cert-manager.io", "Bundle") if spec.and_then(|s| s.path(&["target", "secret"])).is_some() => {
            (name.to_string(), true)
        }
        ("onepassword.com", "OnePasswordItem") => (name.to_string(), false),
        ("secrets.hashicorp.com", k) if k.starts_with("Vault") => (or_own(target(&["destination", "name"])), false),
        ("secrets.infisical.com", "InfisicalSecret") => {
            (or_own(target(&["managedSecretReference", "secretName"])), false)
        }
        ("k8s.bitwarden.com", "BitwardenSecret") => (target(&["secretName"])?.to_string(), false),
        _ => return None,
    })
}

/// `v1alpha1`, `v2beta3`, `v3`: a version with no API group.
fn is_bare_version(api_version: &str) -> bool {
    let Some(rest) = api_version.strip_prefix('v') else { return false };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let Some(tail) = rest.get(digits..) else { return false };
    let level = tail.strip_prefix("alpha").or_else(|| tail.strip_prefix("beta")).unwrap_or(tail);
    digits > 0 && level.bytes().all(|b| b.is_ascii_digit()) && (level.is_empty() || level != tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_versions_are_not_kubernetes_api_versions() {
        for bare in ["v1alpha1", "v1beta2", "v2", "v1alpha"] {
            assert!(is_bare_version(bare), "{bare}");
        }
        for api in ["apps/v1", "builtin", "v1x", "kustomize.config.k8s.io/v1beta1", "", "v"] {
            assert!(!is_bare_version(api), "{api}");
        }
    }

    #[test]
    fn unresolved_values_are_named() {
        assert_eq!(unresolved_refs("s3://${BUCKET}/db at {{ .Values.host }}"), vec!["${BUCKET}", "{{ .Values.host }}"]);
        assert_eq!(unresolved_refs("${CLAIM:-${APP}}-data"), vec!["${CLAIM:-${APP}}"]);
        assert!(unresolved_refs("plain").is_empty());
        let mut t = "s3://${BUCKET}/db".to_string();
        say_unresolved(&mut t);
        assert_eq!(t, "s3://${BUCKET}/db (`${BUCKET}` unresolved)");
    }
}
