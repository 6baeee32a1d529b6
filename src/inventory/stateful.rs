//! What holds data: `PersistentVolumeClaim`s, StatefulSet
//! `volumeClaimTemplates`, and persistence declared in the Helm values of a
//! Flux `HelmRelease` or an Argo CD `Application`. CNPG Clusters hold data
//! too; they are read by [`super::cnpg`] and covered by the `cnpg-*` rules.

use crate::model::patch::strategic_merge;
use crate::model::Resource;
use crate::yaml::{str_at, Node, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// A `PersistentVolumeClaim` manifest.
    Pvc,
    /// One `volumeClaimTemplates[]` entry of a StatefulSet.
    ClaimTemplate,
    /// One persistence entry in a Helm release's values.
    HelmPersistence,
    /// An app-template persistence entry mounted straight from an NFS share
    /// or a node's directory (`type: nfs`/`hostPath`, read-write): no
    /// claim; listed with where it lives, not judged.
    DirectVolume,
}

impl ItemKind {
    pub fn label(self) -> &'static str {
        match self {
            ItemKind::Pvc => "PersistentVolumeClaim",
            ItemKind::ClaimTemplate => "StatefulSet volumeClaimTemplate",
            ItemKind::HelmPersistence => "Helm persistence",
            ItemKind::DirectVolume => "Helm volume",
        }
    }
}

/// How the claim that holds an item's data is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Exactly this name.
    Exact(String),
    /// `<template>-<statefulset>-<ordinal>`: this prefix, then digits.
    Ordinal(String),
    /// Created by a Helm chart: the exact name is unknown, but it is made of
    /// the release name (and the persistence key for the bjw-s app-template).
    /// `sole`: the only claim of its release's values (the bjw-s common
    /// library then names it after the release alone; with several, each
    /// is `<release>-<key>`).
    Chart { release: String, key: Option<String>, sole: bool },
    /// Made by a chart for one of its components (`storegateway.persistence`
    /// of a chart lifeboat does not know): the claim carries the release's
    /// name, how the chart composes the rest is unknown.
    Component { release: String, component: String },
}

impl Claim {
    /// Does a PVC called `name` hold this item's data?
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Claim::Exact(n) => n == name,
            Claim::Ordinal(prefix) => name
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())),
            Claim::Chart { release, key, sole } => {
                if release.is_empty() {
                    return false;
                }
                match key {
                    Some(key) => {
                        (*sole && name == release)
                            || (name.starts_with(release.as_str()) && name.ends_with(key.as_str()))
                            || name.strip_prefix(key.as_str()).and_then(|r| r.strip_prefix('-')) == Some(release)
                    }
                    None => name == release || contains_token(name, release),
                }
            }
            Claim::Component { release, .. } => !release.is_empty() && contains_token(name, release),
        }
    }

    /// A name the claim most likely has: `data-db-0`, `<release>-<key>`.
    pub fn likely_name(&self) -> String {
        match self {
            Claim::Exact(n) => n.clone(),
            Claim::Ordinal(prefix) => format!("{prefix}0"),
            Claim::Chart { release, key: Some(key), sole: false } => format!("{release}-{key}"),
            Claim::Chart { release, .. } | Claim::Component { release, .. } => release.clone(),
        }
    }

    /// The name as people write it: `data-db-N` for a claim template.
    pub fn display(&self) -> String {
        match self {
            Claim::Exact(n) => n.clone(),
            Claim::Ordinal(prefix) => format!("{prefix}N"),
            Claim::Chart { release, key: Some(key), .. } => format!("{release} ({key})"),
            Claim::Chart { release, key: None, .. } => release.clone(),
            Claim::Component { release, component } => format!("{release} ({component})"),
        }
    }

    /// Is this a claim a chart makes, whose exact name lifeboat does not know?
    pub fn is_chart_made(&self) -> bool {
        matches!(self, Claim::Chart { .. } | Claim::Component { .. })
    }
}

/// `needle` stands in `name` between `-`/`.` separators (or at its ends).
pub fn contains_token(name: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    name.match_indices(needle).any(|(i, _)| {
        let before = name[..i].chars().next_back();
        let after = name[i + needle.len()..].chars().next();
        before.is_none_or(|c| c == '-' || c == '.') && after.is_none_or(|c| c == '-' || c == '.')
    })
}

/// API groups of backup mechanisms and secret generators: their resources
/// are named after the claim they protect, never create one.
const NOT_CREATORS: &[&str] = &[
    "volsync.backube",
    "kopiur.home-operations.com",
    "k8up.io",
    "velero.io",
    "longhorn.io",
    "external-secrets.io",
    "bitnami.com",
    "kustomize.toolkit.fluxcd.io",
    "source.toolkit.fluxcd.io",
    "snapshot.storage.k8s.io",
];

/// Keys that say a custom resource asks its operator for storage.
const STORAGE_KEYS: &[&str] =
    &["persistentVolumeClaim", "volumeClaimTemplate", "volumeClaimTemplates", "storageSpec", "persistence", "storage"];

/// An operator's custom resource that declares storage in its spec (a
/// `Grafana` with `persistentVolumeClaim`, a `Prometheus` with `storage` …).
pub fn operator_with_storage(r: &Resource) -> bool {
    let group = r.group();
    if !group.contains('.') || group.ends_with("k8s.io") || NOT_CREATORS.contains(&group) {
        return false;
    }
    let mut found = false;
    if let Some(spec) = r.spec() {
        spec.walk(&mut |n: &Node| {
            found = found || n.as_map().iter().any(|(k, _)| k.as_str().is_some_and(|k| STORAGE_KEYS.contains(&k)));
        });
    }
    found
}

#[derive(Debug, Clone)]
pub struct StatefulItem<'m> {
    /// Index of the resource that declares it.
    pub index: usize,
    pub res: &'m Resource,
    pub kind: ItemKind,
    pub claim: Claim,
    pub size: Option<String>,
    pub storage_class: Option<String>,
    /// `storage_class` is the cluster's default class: the claim names none.
    pub default_class: bool,
    /// Where it is declared: `metadata.name`, the template's name, the
    /// persistence entry.
    pub span: Span,
    /// Labels the claim carries (a PVC's or a claim template's).
    pub labels: &'m [(Node, Node)],
    /// Annotations the claim carries.
    pub annotations: &'m [(Node, Node)],
    /// `spec.dataSourceRef`/`dataSource` (`Kind/name`): the claim is restored
    /// from a backup when it is created.
    pub restored_from: Option<String>,
    /// The Helm release that declares or mounts it (`existingClaim`).
    pub release: Option<String>,
    /// Where the claim lives: the resource's namespace, or the one a Helm
    /// release installs into (`targetNamespace`, Argo `destination.namespace`).
    pub ns: Option<&'m str>,
    /// Why its protection cannot be judged (part of the chart that makes it
    /// was not rendered).
    pub unseen: Option<&'m str>,
    /// For a [`ItemKind::DirectVolume`]: where its data lives (`NFS
    /// nas:/export/docs`, `hostPath /tank/db on a node`).
    pub direct: Option<String>,
}

impl<'m> StatefulItem<'m> {
    pub fn namespace(&self) -> Option<&'m str> {
        self.ns
    }

    /// "PersistentVolumeClaim `media/books`", "Helm persistence `media/abs (config)`".
    pub fn describe(&self) -> String {
        let ns = self.namespace().map(|n| format!("{n}/")).unwrap_or_default();
        match self.kind {
            ItemKind::Pvc => format!("PersistentVolumeClaim `{ns}{}`", self.claim.display()),
            ItemKind::ClaimTemplate => {
                format!("StatefulSet `{ns}{}` volumeClaimTemplate (claims `{}`)", self.res.name, self.claim.display())
            }
            ItemKind::DirectVolume => {
                format!("{} `{}` volume `{}`", self.res.kind, self.res.qualified_name(), self.claim.display())
            }
            ItemKind::HelmPersistence => {
                if let Claim::Component { component, .. } = &self.claim {
                    return format!(
                        "{} `{}` `{component}.persistence` (a claim whose name the chart composes)",
                        self.res.kind,
                        self.res.qualified_name()
                    );
                }
                format!(
                    "{} `{}` persistence (claim `{ns}{}`)",
                    self.res.kind,
                    self.res.qualified_name(),
                    self.claim.display()
                )
            }
        }
    }

    pub fn label(&self, key: &str) -> Option<&'m str> {
        lookup(self.labels, key)
    }

    pub fn annotation(&self, key: &str) -> Option<&'m str> {
        lookup(self.annotations, key)
    }
}

fn lookup<'a>(pairs: &'a [(Node, Node)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k.as_str() == Some(key)).and_then(|(_, v)| v.as_str())
}

fn map_at<'a>(node: Option<&'a Node>, path: &[&str]) -> &'a [(Node, Node)] {
    node.and_then(|n| n.path(path)).map_or(&[], Node::as_map)
}

pub use crate::model::charts::{values_from, ConfigMaps};

/// The items `res` declares (none for most kinds).
pub fn read<'m>(index: usize, res: &'m Resource, config_maps: &ConfigMaps, out: &mut Vec<StatefulItem<'m>>) {
    match (res.group(), res.kind.as_str()) {
        ("", "PersistentVolumeClaim") => out.push(pvc(index, res)),
        ("apps", "StatefulSet") => claim_templates(index, res, out),
        ("helm.toolkit.fluxcd.io", "HelmRelease") => {
            let release = str_at(res.spec(), &["releaseName"]).unwrap_or(&res.name);
            let ns = str_at(res.spec(), &["targetNamespace"]).or(res.namespace.as_deref());
            let v = Values { index, res, at: None, ns };
            let inline = res.spec().and_then(|s| s.get("values"));
            match values_from(res, config_maps) {
                // `valuesFrom` first, `values` over them, as Flux merges them.
                Some(mut merged) => {
                    if let Some(inline) = inline {
                        strategic_merge(&mut merged, inline, false);
                    }
                    release_values(v, release, Some(&merged), out);
                }
                None => release_values(v, release, inline, out),
            }
        }
        ("", "HelmChartInflationGenerator") if res.api_version == "builtin" => {
            let release = str_at(Some(&res.root), &["releaseName"]).unwrap_or(&res.name);
            let v = Values { index, res, at: None, ns: res.namespace.as_deref() };
            // A catalogued or rendered chart's values are not read again.
            release_values(v, release, res.root.get("valuesInline"), out);
        }
        ("argoproj.io", "Application") => {
            let spec = res.spec();
            let sources = spec
                .and_then(|s| s.get("source"))
                .into_iter()
                .chain(spec.and_then(|s| s.get("sources")).map_or(&[][..], Node::as_seq).iter());
            for source in sources {
                let helm = source.get("helm");
                let release = str_at(helm, &["releaseName"]).unwrap_or(&res.name);
                let ns = str_at(spec, &["destination", "namespace"]).or(res.namespace.as_deref());
                let v = Values { index, res, at: None, ns };
                if let Some(values) = helm.and_then(|h| h.get("valuesObject")) {
                    release_values(v, release, Some(values), out);
                } else if let Some(text) = helm.and_then(|h| h.get("values")) {
                    helm_values_text(v, release, text, out);
                } else {
                    release_values(v, release, None, out);
                }
            }
        }
        _ => {}
    }
}

fn pvc(index: usize, res: &Resource) -> StatefulItem<'_> {
    let spec = res.spec();
    let source = spec.and_then(|s| s.get("dataSourceRef").or_else(|| s.get("dataSource")));
    StatefulItem {
        index,
        res,
        kind: ItemKind::Pvc,
        claim: Claim::Exact(res.name.clone()),
        size: str_at(spec, &["resources", "requests", "storage"]).map(str::to_string),
        storage_class: class_of(spec),
        default_class: false,
        span: res.name_span(),
        labels: map_at(Some(&res.root), &["metadata", "labels"]),
        annotations: map_at(Some(&res.root), &["metadata", "annotations"]),
        restored_from: source.map(|s| {
            format!("{}/{}", str_at(Some(s), &["kind"]).unwrap_or("?"), str_at(Some(s), &["name"]).unwrap_or("?"))
        }),
        release: None,
        ns: res.namespace.as_deref(),
        unseen: res.blind.as_deref(),
        direct: None,
    }
}

fn claim_templates<'m>(index: usize, res: &'m Resource, out: &mut Vec<StatefulItem<'m>>) {
    let templates = res.spec().and_then(|s| s.get("volumeClaimTemplates")).map_or(&[][..], Node::as_seq);
    for t in templates {
        let name = str_at(Some(t), &["metadata", "name"]).unwrap_or("");
        let span = t.path(&["metadata", "name"]).map_or(t.span, |n| n.span);
        out.push(StatefulItem {
            index,
            res,
            kind: ItemKind::ClaimTemplate,
            claim: Claim::Ordinal(format!("{name}-{}-", res.name)),
            size: str_at(Some(t), &["spec", "resources", "requests", "storage"]).map(str::to_string),
            storage_class: class_of(t.get("spec")),
            default_class: false,
            span,
            labels: map_at(Some(t), &["metadata", "labels"]),
            annotations: map_at(Some(t), &["metadata", "annotations"]),
            restored_from: None,
            release: None,
            ns: res.namespace.as_deref(),
            unseen: res.blind.as_deref(),
            direct: None,
        });
    }
}

/// Keys of a common chart's persistence block (as opposed to the bjw-s
/// app-template's map of named entries).
const COMMON_KEYS: &[&str] =
    &["enabled", "size", "storageClass", "storageClassName", "existingClaim", "accessMode", "accessModes"];

/// Keys that make a named persistence entry a volume.
const ENTRY_KEYS: &[&str] = &[
    "enabled",
    "existingClaim",
    "claimName",
    "size",
    "accessMode",
    "accessModes",
    "storageClass",
    "storageClassName",
    "globalMounts",
    "advancedMounts",
    "forceRename",
    "retain",
];

/// Volume types of the bjw-s app-template that are not claims.
const NOT_CLAIMS: &[&str] = &["emptyDir", "hostPath", "nfs", "configMap", "secret", "custom", "image"];

/// Where the items of one values tree are declared: in the resource itself,
/// or (for values written as a YAML string) the string as a whole.
#[derive(Clone, Copy)]
struct Values<'m> {
    index: usize,
    res: &'m Resource,
    /// Point every item at this span (values parsed from a string).
    at: Option<Span>,
    /// The namespace the release installs into.
    ns: Option<&'m str>,
}

/// The common `persistence` shape, where charts write it: at the values'
/// root or under one component key (`primary.persistence`,
/// `grafana.persistence`); deeper, `persistence` is an application's own
/// setting (Temporal's `server.config.persistence` is its database).
fn helm_values<'m>(v: Values<'m>, release: &str, values: &Node, out: &mut Vec<StatefulItem<'m>>) {
    let root = values.as_map().iter().map(|kv| (None, kv));
    let components =
        values.as_map().iter().flat_map(|(name, child)| child.as_map().iter().map(move |kv| (name.as_str(), kv)));
    for (component, (key, value)) in root.chain(components) {
        if key.as_str() == Some("persistence") && value.is_map() {
            persistence_block(v, release, component, key, value, out);
        }
    }
}

/// The persistence of a release's values. For a chart lifeboat rendered,
/// only what it could not render: the values of dependencies that are not
/// in the repository, or all of them (over the chart's defaults) when a
/// template failed.
fn release_values<'m>(v: Values<'m>, release: &str, values: Option<&Node>, out: &mut Vec<StatefulItem<'m>>) {
    let Some(rendered) = &v.res.rendered_chart else {
        if let Some(values) = values {
            helm_values(v, release, values, out);
        }
        return;
    };
    let mut merged: Option<Node> = rendered.defaults.as_deref().cloned();
    if let Some(values) = values {
        match &mut merged {
            Some(m) => strategic_merge(m, values, false),
            None => merged = Some(values.clone()),
        }
    }
    let Some(merged) = merged else { return };
    if rendered.failed {
        helm_values(v, release, &merged, out);
        return;
    }
    for dep in &rendered.unrendered {
        if let Some(sub) = merged.get(&dep.alias) {
            helm_values(v, release, sub, out);
        }
    }
}

/// Argo CD `helm.values`: Helm values written as a YAML string.
fn helm_values_text<'m>(v: Values<'m>, release: &str, text: &Node, out: &mut Vec<StatefulItem<'m>>) {
    let Some(src) = text.as_str() else { return };
    let loaded = crate::yaml::load_str(text.span.file, src);
    for doc in &loaded.documents {
        release_values(Values { at: Some(text.span), ..v }, release, Some(&doc.root), out);
    }
}

fn is_disabled(node: &Node) -> bool {
    node.get("enabled").and_then(Node::as_bool) == Some(false)
}

fn persistence_block<'m>(
    v: Values<'m>,
    release: &str,
    component: Option<&str>,
    key: &Node,
    block: &Node,
    out: &mut Vec<StatefulItem<'m>>,
) {
    let common =
        block.as_map().iter().any(|(k, v)| k.as_str().is_some_and(|k| COMMON_KEYS.contains(&k)) && !v.is_map());
    if common {
        // `persistence: {enabled: true, size: …}` (Bitnami and most charts).
        // Without `enabled`, the chart's default decides: only a size or a
        // claim is evidence of data.
        let enabled = block.get("enabled").and_then(Node::as_bool);
        let evidence = block.get("size").is_some() || block.get("existingClaim").is_some();
        if enabled == Some(false) || (enabled.is_none() && !evidence) {
            return;
        }
        let mut item = helm_item(v, release, None, key.span.through(block.span), block, true);
        if let (Some(component), Claim::Chart { .. }) = (component, &item.claim) {
            // A component's claim: the chart composes its name
            // (`data-<fullname>-storegateway-0`), not the release alone.
            item.claim = Claim::Component { release: release.to_string(), component: component.to_string() };
        }
        out.push(item);
        return;
    }
    // bjw-s app-template: `persistence: {config: {existingClaim: …}, cache: {type: emptyDir}}`.
    let claims = block
        .as_map()
        .iter()
        .filter(|(_, e)| e.is_map() && !is_disabled(e) && e.get("existingClaim").is_none())
        .filter(|(_, e)| {
            crate::model::catalogue::is_claim_type(
                e.get("type").and_then(Node::as_str).unwrap_or("persistentVolumeClaim"),
            )
        })
        .count();
    for (name, entry) in block.as_map() {
        let Some(name_text) = name.as_str() else { continue };
        if !entry.is_map() || is_disabled(entry) {
            continue;
        }
        let kind = entry.get("type").and_then(Node::as_str).unwrap_or("persistentVolumeClaim");
        if let Some(place) = direct_volume(kind, entry) {
            let mut item = helm_item(v, release, Some(name_text), name.span, entry, false);
            item.kind = ItemKind::DirectVolume;
            item.storage_class = None;
            item.direct = Some(place);
            out.push(item);
            continue;
        }
        if NOT_CLAIMS.contains(&kind) {
            continue;
        }
        if !crate::model::catalogue::is_claim_type(kind) && entry.get("existingClaim").is_none() {
            continue;
        }
        // An entry is a volume: it says so by a volume's keys.
        let volume = entry.get("type").is_some()
            || entry.as_map().iter().any(|(k, _)| k.as_str().is_some_and(|k| ENTRY_KEYS.contains(&k)));
        if !volume {
            continue;
        }
        // app-template 1.x (type `pvc`) names every claim `<release>-<key>`
        // (common 1.x's pvc template), even a sole one; `nameOverride`
        // stands for the key, and `-` leaves the release's name alone.
        if kind == "pvc" {
            match entry.get("nameOverride").and_then(Node::as_nonempty_str) {
                Some("-") => out.push(helm_item(v, release, None, name.span, entry, true)),
                Some(other) => out.push(helm_item(v, release, Some(other), name.span, entry, false)),
                None => out.push(helm_item(v, release, Some(name_text), name.span, entry, false)),
            }
            continue;
        }
        let sole = claims <= 1;
        out.push(helm_item(v, release, Some(name_text), name.span, entry, sole));
    }
}

fn helm_item<'m>(
    v: Values<'m>,
    release: &str,
    key: Option<&str>,
    span: Span,
    entry: &Node,
    sole: bool,
) -> StatefulItem<'m> {
    // `existingClaim`, app-template's `forceRename`, a chart's `claimName`:
    // the claim's exact name.
    let existing = entry
        .get("existingClaim")
        .or_else(|| entry.get("forceRename"))
        .or_else(|| entry.get("claimName"))
        .and_then(Node::as_nonempty_str);
    let claim = match existing {
        Some(name) => Claim::Exact(release_template(name, release, v.res.namespace.as_deref())),
        None => {
            // bjw-s common's name (determineResourceNameFromValues): the
            // release, `-<key>` when the release makes several such claims,
            // then `-<suffix>` unless the name already ends with it.
            match entry.get("suffix").and_then(Node::as_nonempty_str) {
                Some(suffix) => {
                    let ends = |name: &str| name == suffix || name.ends_with(&format!("-{suffix}"));
                    match key {
                        Some(key) if !sole => {
                            let key = if ends(key) { key.to_string() } else { format!("{key}-{suffix}") };
                            Claim::Chart { release: release.to_string(), key: Some(key), sole: false }
                        }
                        _ if release.ends_with(&format!("-{suffix}")) => {
                            Claim::Chart { release: release.to_string(), key: key.map(str::to_string), sole: true }
                        }
                        _ => Claim::Chart { release: release.to_string(), key: Some(suffix.to_string()), sole: false },
                    }
                }
                None => Claim::Chart { release: release.to_string(), key: key.map(str::to_string), sole },
            }
        }
    };
    StatefulItem {
        index: v.index,
        res: v.res,
        kind: ItemKind::HelmPersistence,
        claim,
        size: entry.get("size").and_then(Node::as_nonempty_str).map(str::to_string),
        storage_class: entry
            .get("storageClass")
            .or_else(|| entry.get("storageClassName"))
            .and_then(Node::as_nonempty_str)
            .map(str::to_string),
        default_class: false,
        span: v.at.unwrap_or(span),
        labels: &[],
        annotations: &[],
        restored_from: None,
        release: Some(release.to_string()),
        ns: v.ns,
        unseen: v.res.blind.as_deref(),
        direct: None,
    }
}

/// Where an app-template `type: nfs` or `type: hostPath` entry's data lives,
/// when the app writes it: not a read-only mount, not a device, socket or
/// a system directory of the node (`/dev`, `/sys`, `/etc`, `/run` …).
fn direct_volume(kind: &str, entry: &Node) -> Option<String> {
    let mounts: Vec<&Node> = entry
        .get("globalMounts")
        .map_or(&[][..], Node::as_seq)
        .iter()
        .chain(entry.get("advancedMounts").map_or(&[][..], Node::as_map).iter().flat_map(|(_, controller)| {
            controller.as_map().iter().flat_map(|(_, container)| container.as_seq().iter())
        }))
        .collect();
    let read_only = entry.get("readOnly").and_then(Node::as_bool) == Some(true)
        || (!mounts.is_empty() && mounts.iter().all(|m| m.get("readOnly").and_then(Node::as_bool) == Some(true)));
    if read_only {
        return None;
    }
    // `type: custom` carries a Kubernetes volume source as it is
    // (`volumeSpec: {nfs: {server, path}}`, `{hostPath: {path, type}}`,
    // `{csi: {driver, volumeAttributes}}`).
    let custom = |source: &str| entry.path(&["volumeSpec", source]).filter(|_| kind == "custom");
    // An inline CSI volume of a file server's driver (csi-driver-nfs, -smb).
    if let Some(csi) = custom("csi") {
        return super::external::csi_share(csi);
    }
    let (kind, entry, host_path, host_path_type) = if let Some(nfs) = custom("nfs") {
        ("nfs", nfs, "", "")
    } else if let Some(host) = custom("hostPath") {
        ("hostPath", host, "path", "type")
    } else {
        (kind, entry, "hostPath", "hostPathType")
    };
    match kind {
        "nfs" => {
            let server = entry.get("server").and_then(Node::as_nonempty_str)?;
            let path = entry.get("path").and_then(Node::as_nonempty_str).unwrap_or("/");
            Some(format!("NFS {server}:{path}"))
        }
        "hostPath" => {
            let path = entry.get(host_path).and_then(Node::as_nonempty_str)?;
            let special = entry
                .get(host_path_type)
                .and_then(Node::as_str)
                .is_some_and(|t| matches!(t, "CharDevice" | "BlockDevice" | "Socket"));
            const SYSTEM: &[&str] = &[
                "/dev",
                "/sys",
                "/proc",
                "/run",
                "/var/run",
                "/etc",
                "/lib",
                "/usr",
                "/boot",
                "/tmp",
                "/var/log",
                "/var/lib/kubelet",
            ];
            let system = SYSTEM.iter().any(|s| path == *s || path.strip_prefix(s).is_some_and(|r| r.starts_with('/')));
            (!special && !system && path != "/").then(|| format!("hostPath {path} on a node"))
        }
        _ => None,
    }
}

/// Expand the Helm templates charts allow in `existingClaim`
/// (`{{ .Release.Name }}-cache`, with or without spaces).
pub(crate) fn release_template(text: &str, release: &str, namespace: Option<&str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else { break };
        let inner = rest[start + 2..start + len].trim().trim_start_matches('-').trim_end_matches('-').trim();
        let value = match inner {
            ".Release.Name" => Some(release),
            ".Release.Namespace" => namespace,
            _ => None,
        };
        out.push_str(&rest[..start]);
        match value {
            Some(v) => out.push_str(v),
            None => out.push_str(&rest[start..start + len + 2]),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// A claim's StorageClass as written. `storageClassName: ""` asks for no
/// class at all (a claim bound to a static volume), so the cluster's default
/// class is not given to it: it is kept as the empty name.
fn class_of(spec: Option<&Node>) -> Option<String> {
    spec?.get("storageClassName")?.as_str().map(|class| class.trim().to_string())
}

/// Claims that name no StorageClass get their cluster's default: the one
/// class (written in the repository, or made by a chart such as Longhorn's)
/// annotated `storageclass.kubernetes.io/is-default-class: "true"`. With
/// none or several, the class stays unknown.
pub fn apply_default_classes(resources: &[Resource], items: &mut [StatefulItem]) {
    use std::collections::HashMap;
    let mut defaults: HashMap<Option<&str>, Vec<&str>> = HashMap::new();
    for r in resources.iter().filter(|r| r.is("storage.k8s.io", "StorageClass")) {
        let marked = r
            .root
            .path(&["metadata", "annotations", crate::model::catalogue::DEFAULT_CLASS_ANNOTATION])
            .and_then(Node::as_str)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if marked {
            let names = defaults.entry(r.cluster.as_deref()).or_default();
            if !names.contains(&r.name.as_str()) {
                names.push(r.name.as_str());
            }
        }
    }
    // A volume mounted straight from a share has no claim, so no class.
    for item in items.iter_mut().filter(|i| i.storage_class.is_none() && i.kind != ItemKind::DirectVolume) {
        if let Some([only]) = defaults.get(&item.res.cluster.as_deref()).map(Vec::as_slice) {
            item.storage_class = Some((*only).to_string());
            item.default_class = true;
        }
    }
}

/// A Helm persistence entry with `existingClaim` is the data of that PVC:
/// one item, not two. The PVC remembers the release that mounts it.
pub fn merge_existing_claims(items: &mut Vec<StatefulItem>) {
    use std::collections::HashMap;
    let mut pvcs: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, p) in items.iter().enumerate() {
        if let (ItemKind::Pvc, Claim::Exact(name)) = (p.kind, &p.claim) {
            pvcs.entry(name.as_str()).or_default().push(i);
        }
    }
    let likely: Vec<Option<String>> =
        items.iter().map(|c| c.claim.is_chart_made().then(|| c.claim.likely_name())).collect();
    let mut chart_made: HashMap<&str, Vec<usize>> = HashMap::new();
    for (j, name) in likely.iter().enumerate() {
        if let Some(name) = name {
            chart_made.entry(name.as_str()).or_default().push(j);
        }
    }
    let mut seen: HashMap<(Option<&str>, &str), ()> = HashMap::new();
    let mut releases: Vec<(usize, String)> = Vec::new();
    let mut merged = vec![false; items.len()];
    for (i, helm) in items.iter().enumerate() {
        let (ItemKind::HelmPersistence, Claim::Exact(name)) = (helm.kind, &helm.claim) else { continue };
        let ns = helm.namespace();
        let pvc = pvcs.get(name.as_str()).and_then(|candidates| {
            candidates.iter().copied().find(|&p| items.get(p).is_some_and(|p| super::same_namespace(p.namespace(), ns)))
        });
        // Two releases mounting one claim: one item too.
        let earlier = seen.insert((ns, name.as_str()), ()).is_some();
        if let (Some(p), Some(release)) = (pvc, &helm.release) {
            releases.push((p, release.clone()));
        }
        // A claim another release's chart makes, by the name it most
        // likely has (`existingClaim: gluetun-update`, the sole claim of
        // release gluetun-update): that item is the data, judged once.
        let made = pvc.is_none()
            && (chart_made.get(name.as_str()).is_some_and(|js| {
                js.iter().any(|&j| j != i && items.get(j).is_some_and(|c| super::same_namespace(c.namespace(), ns)))
            }) || items.iter().enumerate().any(|(j, c)| {
                // Another release's persistence whose claim has this name
                // (app-template's `<release>-<key>`).
                j != i
                    && c.kind == ItemKind::HelmPersistence
                    && !matches!(c.claim, Claim::Exact(_))
                    && super::same_namespace(c.namespace(), ns)
                    && c.claim.matches(name)
            }));
        if pvc.is_some() || earlier || made {
            if let Some(m) = merged.get_mut(i) {
                *m = true;
            }
        }
    }
    for (p, release) in releases {
        if let Some(item) = items.get_mut(p) {
            if item.release.is_none() {
                item.release = Some(release);
            }
        }
    }
    // A PVC written with a claim template's name (`data-db-0`, created
    // ahead of the StatefulSet) is that template's data: one item, the PVC.
    for (i, t) in items.iter().enumerate() {
        if t.kind != ItemKind::ClaimTemplate {
            continue;
        }
        let pvc = items.iter().any(|p| {
            p.kind == ItemKind::Pvc
                && super::same_namespace(p.namespace(), t.namespace())
                && matches!(&p.claim, Claim::Exact(name) if t.claim.matches(name))
        });
        if pvc {
            if let Some(m) = merged.get_mut(i) {
                *m = true;
            }
        }
    }
    // One claim written twice: a PVC manifest and the same PVC a chart
    // makes (the gitea chart's `persistence.claimName`), in one namespace
    // and cluster. One item, the written one.
    let made_by_chart = |item: &StatefulItem| item.res.made_by_chart_or_operator();
    let mut by_name: HashMap<(Option<&str>, Option<&str>, &str), usize> = HashMap::new();
    for (i, p) in items.iter().enumerate() {
        let (ItemKind::Pvc, Claim::Exact(name)) = (p.kind, &p.claim) else { continue };
        let key = (p.res.cluster.as_deref(), p.namespace(), name.as_str());
        match by_name.get(&key).copied() {
            None => {
                by_name.insert(key, i);
            }
            Some(first) => {
                // Keep the written one: drop whichever a chart made.
                let drop = if items.get(first).is_some_and(&made_by_chart) && !made_by_chart(p) {
                    by_name.insert(key, i);
                    first
                } else {
                    i
                };
                if let Some(m) = merged.get_mut(drop) {
                    *m = true;
                }
            }
        }
    }
    let mut flags = merged.into_iter();
    items.retain(|_| !flags.next().unwrap_or(false));
}

#[cfg(test)]
mod tests {
    use super::{contains_token, Claim};

    #[test]
    fn claim_names() {
        let ordinal = Claim::Ordinal("data-gitea-".into());
        assert!(ordinal.matches("data-gitea-0"));
        assert!(!ordinal.matches("data-gitea-"));
        assert!(!ordinal.matches("data-gitea-x"));
        let chart = Claim::Chart { release: "n8n".into(), key: None, sole: true };
        assert!(chart.matches("n8n-main-persistence"));
        assert!(chart.matches("data-n8n-0"));
        assert!(!chart.matches("n8nx"));
        let bjws = Claim::Chart { release: "abs".into(), key: Some("config".into()), sole: true };
        assert!(bjws.matches("abs-config"));
        assert!(bjws.matches("abs"));
        assert!(!bjws.matches("abs-cache"));
        // One of several: never the release's bare name (that is another's).
        let second = Claim::Chart { release: "abs".into(), key: Some("cache".into()), sole: false };
        assert!(second.matches("abs-cache"));
        assert!(!second.matches("abs"));
        let component = Claim::Component { release: "thanos".into(), component: "storegateway".into() };
        assert!(component.matches("data-thanos-storegateway-0"));
        assert!(!component.matches("data-loki-0"));
        assert_eq!(component.display(), "thanos (storegateway)");
        assert!(component.is_chart_made() && !Claim::Exact("x".into()).is_chart_made());
    }

    #[test]
    fn release_templates() {
        assert_eq!(super::release_template("{{ .Release.Name }}-cache", "plex", None), "plex-cache");
        assert_eq!(super::release_template("{{.Release.Name}}", "plex", None), "plex");
        assert_eq!(super::release_template("{{ .Values.x }}", "plex", None), "{{ .Values.x }}");
        assert_eq!(super::release_template("a{{ .Release.Name", "plex", None), "a{{ .Release.Name");
    }

    #[test]
    fn tokens() {
        assert!(contains_token("prometheus-kube-prometheus-stack-db-0", "kube-prometheus-stack"));
        assert!(!contains_token("grafana-pvc", "graf"));
        assert!(!contains_token("x", ""));
    }
}
