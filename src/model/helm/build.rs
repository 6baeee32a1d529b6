//! Where rendered charts join the model: an Argo CD Application whose
//! source path is a chart of the repository, and a Flux HelmRelease whose
//! chart is a path of its GitRepository.

use std::path::Path;

use super::value::{self, Map, Value};
use super::{ChartFiles, Release};
use crate::model::{is_cluster_scoped, Builder, ModelNote, RenderedChart, Resource, Via};
use crate::yaml::{str_at, Node, Span};

/// What a release of a repository chart gave the model.
pub(in crate::model) struct ReleaseRender {
    pub resources: Vec<Resource>,
    pub left: std::sync::Arc<RenderedChart>,
    pub blind: Option<std::sync::Arc<str>>,
}

impl Builder<'_> {
    /// Render the chart in `dir` for a release, with `values` over the
    /// chart's own; failures become notes (and are counted in the report).
    pub(in crate::model) fn render_chart(
        &mut self,
        dir: &Path,
        release: &str,
        namespace: Option<&str>,
        values: &Value,
        label: &str,
        span: Span,
    ) -> ReleaseRender {
        let files = ChartFiles { sources: self.sources, by_path: &self.index.files, docs: &self.docs_by_file };
        let rendered = super::render(&files, dir, &Release { name: release, namespace }, Some(values));
        self.model.rendered_templates.extend(rendered.templates.iter().copied());
        for (at, message) in &rendered.failures {
            let note = ModelNote { span: *at, message: format!("chart `{}` ({label}): {message}", rendered.chart) };
            self.model.chart_failures.push(note.clone());
            self.model.notes.push(note);
        }
        for (dep, _) in &rendered.missing {
            let (name, repository) = (&dep.chart, &dep.repository);
            self.model.notes.push(ModelNote {
                span,
                message: format!(
                    "{label}: chart dependency `{name}` ({repository}) is not in the repository: it is not rendered"
                ),
            });
        }
        let message: std::sync::Arc<str> = format!("rendered from chart `{}` by {label}", rendered.chart).into();
        let blind: Option<std::sync::Arc<str>> = (!rendered.failures.is_empty()).then(|| {
            std::sync::Arc::from(format!(
                "chart `{}` ({label}) is not fully rendered: {} of its templates could not be, and may hold its backup",
                rendered.chart,
                rendered.failures.len()
            ))
        });
        let mut resources = Vec::new();
        for doc in &rendered.docs {
            let Some(mut r) = Resource::from_document(doc) else { continue };
            r.via.push(Via { span, message: message.clone(), shown: true, patch: None });
            if r.namespace.is_none() && !is_cluster_scoped(&r.kind) {
                r.namespace = namespace.map(str::to_string);
                r.original_namespace.clone_from(&r.namespace);
            }
            r.blind.clone_from(&blind);
            resources.push(r);
        }
        let defaults = ["values.yaml", "values.yml"]
            .iter()
            .find_map(|n| self.index.files.get(&dir.join(n)))
            .and_then(|id| self.docs_by_file.get(id))
            .and_then(|d| d.first())
            .map(|d| std::sync::Arc::clone(&d.root));
        let left = RenderedChart {
            unrendered: rendered.missing.into_iter().map(|(dep, _)| dep).collect(),
            failed: !rendered.failures.is_empty(),
            defaults,
        };
        ReleaseRender { resources, left: std::sync::Arc::new(left), blind }
    }

    /// HelmReleases of a chart kept in the repository (`spec.chart.spec.chart:
    /// ./charts/x` from a GitRepository): render them, after Flux and Argo CD
    /// decided what is deployed.
    pub(in crate::model) fn render_helm_releases(&mut self) {
        let mut added = Vec::new();
        for i in 0..self.model.resources.len() {
            let Some(hr) = self.model.resources.get(i) else { continue };
            if !hr.is("helm.toolkit.fluxcd.io", "HelmRelease") {
                continue;
            }
            let spec = hr.spec();
            let chart_spec = spec.and_then(|s| s.path(&["chart", "spec"]));
            let source_kind = str_at(chart_spec, &["sourceRef", "kind"]).unwrap_or("GitRepository");
            let Some(chart) = str_at(chart_spec, &["chart"]) else { continue };
            if source_kind != "GitRepository" || crate::model::is_unresolved(chart) {
                continue;
            }
            let Some(dir) = self.flux_dir(chart) else { continue };
            if !super::is_chart_dir(&self.index.files, &dir) {
                continue;
            }
            let hr = hr.clone();
            let spec = hr.spec();
            let release = str_at(spec, &["releaseName"]).unwrap_or(&hr.name).to_string();
            let namespace = str_at(spec, &["targetNamespace"]).or(hr.namespace.as_deref()).map(str::to_string);
            let values = spec.and_then(|s| s.get("values")).map_or(Value::Map(Map::new()), value::from_node);
            let label = format!("HelmRelease `{}`", hr.qualified_name());
            let render = self.render_chart(&dir, &release, namespace.as_deref(), &values, &label, hr.name_span());
            for mut r in render.resources {
                r.cluster.clone_from(&hr.cluster);
                // The app is the release (what the inventory's App column shows).
                r.deployed_by = Some(hr.name.clone());
                r.via.extend(hr.via.iter().filter(|v| v.shown).cloned());
                added.push(r);
            }
            if let Some(hr) = self.model.resources.get_mut(i) {
                hr.rendered_chart = Some(render.left);
                hr.blind = render.blind;
            }
        }
        for r in added {
            self.push_instance(r);
        }
    }
}

/// The values an Argo CD Helm source gives its chart: value files (already
/// merged), `valuesObject`, the `values` string, then `parameters`.
pub(in crate::model) fn argo_values(files: Option<Node>, source: &Node) -> Value {
    let mut values = files.as_ref().map_or(Value::Map(Map::new()), value::from_node);
    let helm = source.get("helm");
    if let Some(text) = helm.and_then(|h| h.get("values")).and_then(Node::as_str) {
        let loaded = crate::yaml::load_str(0, text);
        if let Some(doc) = loaded.documents.first() {
            value::coalesce(&mut values, &value::from_node(&doc.root));
        }
    }
    if let Some(object) = helm.and_then(|h| h.get("valuesObject")) {
        value::coalesce(&mut values, &value::from_node(object));
    }
    for p in helm.and_then(|h| h.get("parameters")).map_or(&[][..], Node::as_seq) {
        let (Some(name), Some(v)) = (str_at(Some(p), &["name"]), p.get("value").and_then(Node::as_str)) else {
            continue;
        };
        let mut cur = &mut values;
        let keys: Vec<&str> = name.split('.').collect();
        for (n, key) in keys.iter().enumerate() {
            let Value::Map(m) = cur else { break };
            if n + 1 == keys.len() {
                m.insert((*key).to_string(), value::scalar(v));
                break;
            }
            cur = m.entry((*key).to_string()).or_insert_with(|| Value::Map(Map::new()));
        }
    }
    values
}
