//! Helm releases and the chart catalogue: which chart each HelmRelease,
//! Argo CD Helm source, kustomize `helmCharts` entry or unrendered
//! dependency of a repository chart installs, and the objects the catalogue
//! says it makes from its values (joined to the model where the values ask
//! for them). A release of a chart that is neither in the catalogue nor
//! rendered is recorded, so the report can say its contents are unknown.

use std::collections::HashMap;
use std::sync::Arc;

use super::catalogue::{self, Entry, Release};
use super::patch::strategic_merge;
use super::{Builder, RenderedChart, Resource, Via};
use crate::yaml::{str_at, Node, Span};

/// ConfigMap `data` by (namespace, name).
pub type ConfigMaps<'m> = HashMap<(Option<&'m str>, &'m str), &'m Node>;

/// How lifeboat knows what a release's chart makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// From the chart catalogue.
    Catalogue,
    /// The catalogue says the chart holds no data.
    Stateless,
    /// The chart is in the repository and was rendered.
    Rendered,
    /// Neither: only the common `persistence` shape of its values is read.
    Unknown,
}

/// One Helm release of the deployed model.
#[derive(Debug, Clone)]
pub struct ChartRelease {
    /// `HelmRelease `media/plex``, `Argo CD Application `x``.
    pub label: String,
    pub chart: String,
    pub known: Known,
    pub span: Span,
    pub namespace: Option<String>,
    pub cluster: Option<Arc<str>>,
    /// The release name (the inventory's app).
    pub release: String,
    /// The chart version (or range) the release asks for, as written.
    pub version: String,
    /// The versions the catalogue's entries of this chart describe, when
    /// none describes this release's.
    pub other_versions: Option<String>,
    /// The values the catalogue's entry does not describe (a mode of the
    /// chart it does not know), so it did not read them.
    pub undescribed: Option<String>,
}

/// The ConfigMaps of `resources` by namespace and name (and, for a
/// generated one, the name before kustomize's hash: what a HelmRelease's
/// `valuesFrom` or a custom resource names, kustomize rewriting only the
/// references it is configured for).
pub fn config_maps(resources: &[Resource]) -> ConfigMaps<'_> {
    let mut out: ConfigMaps = HashMap::new();
    for r in resources.iter().filter(|r| r.is("", "ConfigMap")) {
        if let Some(data) = r.root.get("data") {
            out.entry((r.namespace.as_deref(), r.name.as_str())).or_insert(data);
        }
    }
    for r in resources.iter().filter(|r| r.is("", "ConfigMap") && r.original_name != r.name) {
        if let Some(data) = r.root.get("data") {
            out.entry((r.namespace.as_deref(), r.original_name.as_str())).or_insert(data);
        }
    }
    out
}

/// The values a HelmRelease's `valuesFrom` ConfigMaps in the repository hold,
/// merged in order (`None` when it names none lifeboat has). A value that
/// is a whole values file of the repository keeps that file's positions.
pub fn values_from(res: &Resource, config_maps: &ConfigMaps) -> Option<Node> {
    let mut merged: Option<Node> = None;
    for source in res.spec().and_then(|s| s.get("valuesFrom")).map_or(&[][..], Node::as_seq) {
        let kind = source.get("kind").and_then(Node::as_str).unwrap_or("ConfigMap");
        if kind != "ConfigMap" || source.get("targetPath").is_some() {
            continue;
        }
        let Some(name) = source.get("name").and_then(Node::as_str) else { continue };
        let key = source.get("valuesKey").and_then(Node::as_str).unwrap_or("values.yaml");
        // A ConfigMap written without a namespace is applied into the release's.
        let data = config_maps.get(&(res.namespace.as_deref(), name)).or_else(|| config_maps.get(&(None, name)));
        let Some(text) = data.and_then(|data| data.get(key)) else {
            continue;
        };
        let Some(src) = text.as_str() else { continue };
        let loaded = crate::yaml::load_str(text.span.file, src);
        let whole_file = text.span.start.offset == 0 && text.span.end.byte() == src.len();
        // A whole file that Flux's substitution changed (`${MAIN_SC}` filled
        // in) but whose lines are still the file's: its nodes keep their
        // lines and columns, which the reports place them by.
        let same_lines = text.span.start.offset == 0
            && text.span.start.line == 1
            && u32::try_from(src.matches('\n').count())
                .is_ok_and(|n| n == text.span.end.line || n + 1 == text.span.end.line);
        for doc in &loaded.documents {
            let mut values = (*doc.root).clone();
            if !whole_file && !same_lines {
                values.map_spans(&mut |_| text.span);
            }
            match &mut merged {
                Some(m) => strategic_merge(m, &values, false),
                None => merged = Some(values),
            }
        }
    }
    merged
}

/// The last segment of a chart reference (`oci://ghcr.io/bjw-s/helm/app-template` → `app-template`).
fn chart_name(reference: &str) -> &str {
    reference.trim_end_matches('/').rsplit('/').next().unwrap_or(reference)
}

impl Builder<'_> {
    /// Give every deployed release the objects the catalogue says its chart
    /// makes, and record each release and how its contents are known.
    pub(super) fn catalogue_releases(&mut self) {
        let config_maps = config_maps(&self.model.resources);
        let mut source_urls: SourceUrls = HashMap::new();
        for r in &self.model.resources {
            if r.is("source.toolkit.fluxcd.io", "OCIRepository") || r.is("source.toolkit.fluxcd.io", "HelmRepository") {
                if let Some(url) = str_at(r.spec(), &["url"]) {
                    // An OCIRepository's tag (or semver range) is its chart's version.
                    let version = str_at(r.spec(), &["ref", "tag"]).or_else(|| str_at(r.spec(), &["ref", "semver"]));
                    source_urls
                        .entry((r.kind.as_str(), r.namespace.as_deref(), r.name.as_str()))
                        .or_insert((url, version.unwrap_or("")));
                }
            }
        }
        let extra: Vec<Entry> = self.chart_entries.clone();
        let mut releases = Vec::new();
        let mut made: Vec<Resource> = Vec::new();
        let mut catalogued: Vec<(usize, Arc<RenderedChart>)> = Vec::new();
        for (i, r) in self.model.resources.iter().enumerate() {
            for found in release_sources(r, &config_maps, &source_urls) {
                let label = found.label(r);
                let known;
                if let Some(rendered) = &r.rendered_chart {
                    // A repository chart: the dependencies it could not render.
                    let mut left = (**rendered).clone();
                    let mut kept = Vec::new();
                    for dep in &rendered.unrendered {
                        let (values, at) = rendered_values(rendered, found.values.as_ref(), &dep.alias);
                        let lookup = catalogue::find(&extra, &dep.chart, &dep.repository, &dep.version);
                        // What the dependency makes is declared at its values key.
                        let sub =
                            Found { span: at.unwrap_or(found.span), version: dep.version.clone(), ..found.clone() };
                        let (entry, undescribed) = readable(&lookup, &values);
                        let sub_known = apply(entry, r, &sub, &dep.chart, &values, &label, &mut made);
                        // app-template's persistence is read by its common shape.
                        let generic = entry.is_some_and(|e| e.shape == Some(catalogue::Shape::AppTemplate));
                        if sub_known == Known::Unknown || generic {
                            kept.push(dep.clone());
                        }
                        releases.extend(unknown_subcharts(entry, &values, r, &sub, &label));
                        releases.push(ChartRelease {
                            undescribed,
                            ..record(r, &sub, &dep.chart, sub_known, &label, lookup)
                        });
                    }
                    left.unrendered = kept;
                    catalogued.push((i, Arc::new(left)));
                    known = Known::Rendered;
                    releases.push(record(r, &found, &found.chart, known, &label, catalogue::Lookup::Unknown));
                    continue;
                }
                let lookup = catalogue::find(&extra, &found.chart, &found.repository, &found.version);
                let values = found.values.clone().unwrap_or_else(|| Node::mapping(Vec::new(), found.span));
                let (entry, undescribed) = readable(&lookup, &values);
                known = apply(entry, r, &found, &found.chart, &values, &label, &mut made);
                releases.extend(unknown_subcharts(entry, &values, r, &found, &label));
                if known != Known::Unknown
                    && entry.is_some_and(|e| e.shape.is_none() || e.shape == Some(catalogue::Shape::CnpgCluster))
                {
                    // The catalogue replaces the generic reading of its values.
                    catalogued.push((i, Arc::new(RenderedChart::default())));
                }
                releases.push(ChartRelease { undescribed, ..record(r, &found, &found.chart, known, &label, lookup) });
            }
        }
        for (i, left) in catalogued {
            if let Some(r) = self.model.resources.get_mut(i) {
                r.rendered_chart = Some(left);
            }
        }
        self.model.releases = releases;
        for r in made {
            self.push_instance(r);
        }
    }
}

/// The subcharts a catalogued chart installs that the catalogue does not
/// describe: releases of unknown contents, listed as a repository chart's
/// unrendered dependencies are.
fn unknown_subcharts(
    entry: Option<&Entry>,
    values: &Node,
    r: &Resource,
    found: &Found,
    label: &str,
) -> Vec<ChartRelease> {
    let Some(entry) = entry else { return Vec::new() };
    catalogue::unknown_dependencies(entry, values)
        .into_iter()
        .map(|(chart, version)| {
            let sub = Found { version, ..found.clone() };
            record(r, &sub, &chart, Known::Unknown, label, catalogue::Lookup::Unknown)
        })
        .collect()
}

/// The catalogue entry to read a release's values with, and, when these
/// values choose a mode the entry does not describe, why not (the release
/// is then of unknown contents).
fn readable<'e>(lookup: &'e catalogue::Lookup, values: &Node) -> (Option<&'e Entry>, Option<String>) {
    let undescribed = lookup.entry().and_then(|e| catalogue::undescribed(e, values));
    (lookup.entry().filter(|_| undescribed.is_none()), undescribed)
}

fn record(
    r: &Resource,
    found: &Found,
    chart: &str,
    known: Known,
    label: &str,
    lookup: catalogue::Lookup,
) -> ChartRelease {
    let other_versions = match lookup {
        catalogue::Lookup::OtherVersions(ranges) => Some(ranges),
        _ => None,
    };
    ChartRelease {
        version: found.version.clone(),
        other_versions,
        label: label.to_string(),
        chart: chart.to_string(),
        known,
        span: found.span,
        namespace: found.namespace.clone(),
        cluster: r.cluster.clone(),
        release: found.release.clone(),
        undescribed: None,
    }
}

/// The catalogue's objects for one release; how its contents are known.
#[allow(clippy::too_many_arguments)]
fn apply(
    entry: Option<&Entry>,
    r: &Resource,
    found: &Found,
    chart: &str,
    values: &Node,
    label: &str,
    made: &mut Vec<Resource>,
) -> Known {
    let Some(entry) = entry else { return Known::Unknown };
    if entry.stateless {
        return Known::Stateless;
    }
    let release = Release { name: &found.release, namespace: found.namespace.as_deref(), chart };
    for (n, object) in catalogue::make(entry, &release, values, found.span).into_iter().enumerate() {
        let index = usize::MAX / 2 - (made.len() + n) % (usize::MAX / 4);
        let via = Via {
            span: found.span,
            message: format!(
                "{} by chart `{chart}` of {label} (values `{}`)",
                if object.written { "written" } else { "made" },
                object.from
            )
            .into(),
            shown: true,
            patch: None,
        };
        let namespace = found.namespace.as_deref();
        if let Some(m) = Resource::made_for(r, index, object.root, via, namespace, Some(found.release.clone())) {
            made.push(m);
        }
    }
    Known::Catalogue
}

/// A rendered chart's values for one dependency: the chart's defaults
/// with the release's values over them, at the dependency's key.
/// Also where the values key is written, when it is.
fn rendered_values(rendered: &RenderedChart, user: Option<&Node>, alias: &str) -> (Node, Option<Span>) {
    let mut merged =
        rendered.defaults.as_deref().cloned().unwrap_or_else(|| Node::mapping(Vec::new(), Span::default()));
    if let Some(user) = user {
        strategic_merge(&mut merged, user, false);
    }
    let at = merged.key_node(alias).map(|k| k.span);
    (merged.get(alias).cloned().unwrap_or_else(|| Node::mapping(Vec::new(), merged.span)), at)
}

/// One chart a resource installs, with the values it gets.
#[derive(Clone)]
struct Found {
    chart: String,
    repository: String,
    release: String,
    namespace: Option<String>,
    values: Option<Node>,
    span: Span,
    kind: &'static str,
    /// The chart version or range asked for ("" when none).
    version: String,
}

impl Found {
    fn label(&self, r: &Resource) -> String {
        format!("{} `{}`", self.kind, r.qualified_name())
    }
}

/// Flux `OCIRepository`/`HelmRepository` URLs (and an OCIRepository's
/// tag) by kind, namespace and name.
type SourceUrls<'a> = HashMap<(&'a str, Option<&'a str>, &'a str), (&'a str, &'a str)>;

/// The charts a resource installs: a HelmRelease's, each Helm source of an
/// Argo CD Application, a kustomize `helmCharts` entry.
fn release_sources(r: &Resource, config_maps: &ConfigMaps, source_urls: &SourceUrls) -> Vec<Found> {
    let spec = r.spec();
    match (r.group(), r.kind.as_str()) {
        ("helm.toolkit.fluxcd.io", "HelmRelease") => {
            let release = str_at(spec, &["releaseName"]).unwrap_or(&r.name).to_string();
            let namespace = str_at(spec, &["targetNamespace"]).or(r.namespace.as_deref()).map(str::to_string);
            let (chart, repository, version) = if let Some(c) = str_at(spec, &["chart", "spec", "chart"]) {
                // The source's name and, when the repository holds it, its URL
                // (an entry that needs a vendor's repository matches either).
                let repo = str_at(spec, &["chart", "spec", "sourceRef", "name"]).unwrap_or("");
                let ns = str_at(spec, &["chart", "spec", "sourceRef", "namespace"]).or(r.namespace.as_deref());
                let kind = str_at(spec, &["chart", "spec", "sourceRef", "kind"]).unwrap_or("HelmRepository");
                let (url, tag) = source_urls.get(&(kind, ns, repo)).copied().unwrap_or(("", ""));
                let version = str_at(spec, &["chart", "spec", "version"]).unwrap_or(tag);
                (chart_name(c).to_string(), format!("{repo} {url}").trim().to_string(), version)
            } else if let Some(name) = str_at(spec, &["chartRef", "name"]) {
                let ns = str_at(spec, &["chartRef", "namespace"]).or(r.namespace.as_deref());
                let (url, tag) = source_urls.get(&("OCIRepository", ns, name)).copied().unwrap_or(("", ""));
                let chart = if url.is_empty() { name } else { chart_name(url) };
                (chart.to_string(), url.to_string(), tag)
            } else {
                return Vec::new();
            };
            let inline = spec.and_then(|s| s.get("values"));
            let values = match values_from(r, config_maps) {
                Some(mut merged) => {
                    if let Some(inline) = inline {
                        strategic_merge(&mut merged, inline, false);
                    }
                    Some(merged)
                }
                None => inline.cloned(),
            };
            let version = version.to_string();
            vec![Found {
                chart,
                repository,
                release,
                namespace,
                values,
                span: r.name_span(),
                kind: "HelmRelease",
                version,
            }]
        }
        ("argoproj.io", "Application") => {
            let sources = spec
                .and_then(|s| s.get("source"))
                .into_iter()
                .chain(spec.and_then(|s| s.get("sources")).map_or(&[][..], Node::as_seq).iter());
            let namespace = str_at(spec, &["destination", "namespace"]).or(r.namespace.as_deref()).map(str::to_string);
            let mut out = Vec::new();
            for source in sources {
                let chart = str_at(Some(source), &["chart"]);
                if chart.is_none() && r.rendered_chart.is_none() {
                    continue;
                }
                let helm = source.get("helm");
                let release = str_at(helm, &["releaseName"]).unwrap_or(&r.name).to_string();
                let values = match (helm.and_then(|h| h.get("valuesObject")), helm.and_then(|h| h.get("values"))) {
                    (Some(object), _) => Some(object.clone()),
                    (None, Some(text)) => text.as_str().and_then(|t| {
                        let loaded = crate::yaml::load_str(text.span.file, t);
                        loaded.documents.first().map(|d| {
                            let mut n = (*d.root).clone();
                            n.map_spans(&mut |_| text.span);
                            n
                        })
                    }),
                    (None, None) => None,
                };
                let chart = chart
                    .map_or_else(|| str_at(Some(source), &["path"]).map_or("", chart_name).to_string(), str::to_string);
                out.push(Found {
                    chart,
                    repository: str_at(Some(source), &["repoURL"]).unwrap_or("").to_string(),
                    release,
                    namespace: namespace.clone(),
                    values,
                    span: r.name_span(),
                    kind: "Argo CD Application",
                    version: str_at(Some(source), &["targetRevision"]).unwrap_or("").to_string(),
                });
            }
            out
        }
        ("", "HelmChartInflationGenerator") if r.api_version == "builtin" => {
            let Some(chart) = str_at(Some(&r.root), &["name"]) else { return Vec::new() };
            vec![Found {
                chart: chart_name(chart).to_string(),
                repository: str_at(Some(&r.root), &["repo"]).unwrap_or("").to_string(),
                release: str_at(Some(&r.root), &["releaseName"]).unwrap_or(&r.name).to_string(),
                namespace: r.namespace.clone(),
                values: r.root.get("valuesInline").cloned(),
                span: r.name_span(),
                kind: "helmCharts entry",
                version: str_at(Some(&r.root), &["version"]).unwrap_or("").to_string(),
            }]
        }
        _ => Vec::new(),
    }
}
