//! Argo CD objects written as Helm values of the `argocd-apps` chart.
//!
//! A repository often installs Argo CD from a chart it keeps itself (a
//! `Chart.yaml` with the `argo-cd` and `argocd-apps` dependencies) and
//! writes its root `Application`s and `ApplicationSet`s as that chart's
//! values (`argocd-apps.applicationsets.root: {generators, template}`).
//! Those values are the repository's real entry point: nothing else in
//! the YAML deploys its apps. Each becomes a document of the values file,
//! positioned at its entry, so root discovery and the Argo CD expansion
//! treat it as the manifest the chart renders from it.
//!
//! The shapes follow argo-helm's argocd-apps chart: 2.x maps entries by
//! name (`applications: {name: {…}}`), 1.x lists them (`- name: …`);
//! `namespace`, `additionalLabels`, `additionalAnnotations` and
//! `finalizers` are metadata, everything else is the spec
//! (templates/applications.yaml, applicationsets.yaml, projects.yaml).

use std::path::Path;
use std::sync::Arc;

use crate::yaml::{str_at, Document, FileId, Node, Sources, Span};

/// The chart's name in a `dependencies:` entry.
const CHART: &str = "argocd-apps";

/// Values keys of the chart, with the object each entry becomes.
const KINDS: &[(&str, &str)] = &[("applications", "Application"), ("applicationsets", "ApplicationSet")];

/// Entry keys the chart puts in `metadata`, not in `spec`.
const METADATA: &[&str] = &["name", "namespace", "additionalLabels", "additionalAnnotations", "finalizers"];

/// Add, to the values file of every repository chart that depends on
/// `argocd-apps`, the Applications and ApplicationSets its values hold.
pub fn add_value_objects(sources: &mut Sources) {
    let mut added: Vec<Document> = Vec::new();
    for doc in &sources.documents {
        let Some(file) = sources.file(doc.file) else { continue };
        let is_chart = matches!(file.path.file_name().and_then(|n| n.to_str()), Some("Chart.yaml" | "Chart.yml"));
        if !is_chart || doc.index != 0 {
            continue;
        }
        let Some(dir) = file.path.parent() else { continue };
        for dep in doc.root.get("dependencies").map_or(&[][..], Node::as_seq) {
            if str_at(Some(dep), &["name"]) != Some(CHART) {
                continue;
            }
            let key = str_at(Some(dep), &["alias"]).unwrap_or(CHART);
            let Some((values_id, values)) = values_of(sources, dir) else { continue };
            let Some(apps) = values.get(key) else { continue };
            let count = sources.documents.iter().filter(|d| d.file == values_id).count() + added.len();
            for (n, root) in objects(apps).into_iter().enumerate() {
                added.push(Document { file: values_id, index: count + n, root: Arc::new(root) });
            }
        }
    }
    sources.documents.extend(added);
}

/// The first document of the chart's `values.yaml`.
fn values_of<'s>(sources: &'s Sources, dir: &Path) -> Option<(FileId, &'s Node)> {
    let id = ["values.yaml", "values.yml"]
        .iter()
        .find_map(|name| sources.files.iter().position(|f| f.path == dir.join(name)))?;
    let id = FileId::try_from(id).ok()?;
    let doc = sources.documents.iter().find(|d| d.file == id && d.index == 0)?;
    Some((id, &doc.root))
}

/// The objects of the chart's values (`argocd-apps:` of the parent chart).
fn objects(apps: &Node) -> Vec<Node> {
    let mut out = Vec::new();
    for (key, kind) in KINDS {
        let Some(entries) = apps.get(key) else { continue };
        // 2.x: a map of name → entry; 1.x: a list of entries with `name`.
        let named: Vec<(&str, Span, &Node)> = if entries.is_map() {
            entries.as_map().iter().filter_map(|(k, v)| Some((k.as_str()?, k.span, v))).collect()
        } else {
            entries
                .as_seq()
                .iter()
                .filter_map(|e| {
                    let name = e.get("name")?;
                    Some((name.as_str()?, name.span, e))
                })
                .collect()
        };
        for (name, name_span, entry) in named {
            if entry.is_map() {
                out.push(object(kind, name, name_span, entry));
            }
        }
    }
    out
}

fn object(kind: &str, name: &str, name_span: Span, entry: &Node) -> Node {
    let span = entry.span;
    // The made keys and scalars point at the entry's name, as a manifest's
    // `kind:` and `name:` would (findings and notes quote one line).
    let s = |text: &str| Node::string(text, name_span);
    let mut metadata = vec![(s("name"), s(name))];
    for (from, to) in
        [("namespace", "namespace"), ("additionalLabels", "labels"), ("additionalAnnotations", "annotations")]
    {
        if let Some(v) = entry.get(from) {
            metadata.push((s(to), v.clone()));
        }
    }
    let spec: Vec<(Node, Node)> =
        entry.as_map().iter().filter(|(k, _)| !k.as_str().is_some_and(|k| METADATA.contains(&k))).cloned().collect();
    Node::mapping(
        vec![
            (s("apiVersion"), s("argoproj.io/v1alpha1")),
            (s("kind"), s(kind)),
            (s("metadata"), Node::mapping(metadata, span)),
            (s("spec"), Node::mapping(spec, span)),
        ],
        span,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds_and_names(values: &str) -> Vec<(String, String)> {
        let loaded = crate::yaml::load_str(0, values);
        let Some(doc) = loaded.documents.first() else { return Vec::new() };
        objects(&doc.root)
            .iter()
            .map(|o| {
                let kind = str_at(Some(o), &["kind"]).unwrap_or("").to_string();
                (kind, str_at(Some(o), &["metadata", "name"]).unwrap_or("").to_string())
            })
            .collect()
    }

    #[test]
    fn both_shapes_of_the_chart() {
        let v2 = "applicationsets:\n  root:\n    namespace: argocd\n    generators: []\napplications:\n  infra:\n    project: default\n";
        assert_eq!(
            kinds_and_names(v2),
            [("Application".into(), "infra".into()), ("ApplicationSet".into(), "root".into())]
        );
        let v1 = "applications:\n  - name: apps\n    project: default\n  - project: no-name\n";
        assert_eq!(kinds_and_names(v1), [("Application".to_string(), "apps".to_string())]);
    }
}
