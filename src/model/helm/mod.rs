//! Rendering the Helm charts a repository keeps itself (a directory with
//! `Chart.yaml`), with Helm's semantics: values coalesced from the chart's
//! `values.yaml`, its parents' and the release's, subcharts from `charts/`
//! and `file://` dependencies (with their `condition`), `global`, the
//! built-in objects (`.Release`, `.Chart`, `.Capabilities` defaults,
//! `.Template`), and the template language of [`exec`].
//!
//! lifeboat does not run `helm`: nothing of the repository is executed,
//! and the run works on a machine without it. A template that uses
//! something this engine does not know is not rendered, and the report
//! says so by name (never a silent gap).

pub(super) mod build;
pub mod exec;
pub mod parse;
pub mod value;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::yaml::{Document, FileId, Node, Pos, Sources, Span};
use value::{Map, Value};

/// What rendering needs of the repository: files by normalised path and
/// the documents of each YAML file.
pub struct ChartFiles<'a> {
    pub sources: &'a Sources,
    pub by_path: &'a HashMap<PathBuf, FileId>,
    pub docs: &'a HashMap<FileId, Vec<&'a Document>>,
}

/// The release a chart is installed as.
pub struct Release<'a> {
    pub name: &'a str,
    pub namespace: Option<&'a str>,
}

/// A chart's rendered documents (positioned in their template files), the
/// templates that could not be rendered and why, and the dependencies that
/// are not in the repository.
#[derive(Default)]
pub struct Rendered {
    pub chart: String,
    pub docs: Vec<Document>,
    pub failures: Vec<(Span, String)>,
    /// Dependencies not in the repository, with the merged values each gets.
    pub missing: Vec<(crate::model::resource::Dependency, Value)>,
    /// Template files rendered (or tried).
    pub templates: Vec<FileId>,
}

struct Chart {
    dir: PathBuf,
    name: String,
    meta: Value,
    /// Values after coalescing (the chart's defaults under its parents').
    values: Value,
    templates: Vec<(FileId, String)>,
    subcharts: Vec<Chart>,
}

/// Charts nested deeper than this are not followed.
const MAX_CHART_DEPTH: usize = 8;

pub fn is_chart_dir(by_path: &HashMap<PathBuf, FileId>, dir: &Path) -> bool {
    by_path.contains_key(&dir.join("Chart.yaml")) || by_path.contains_key(&dir.join("Chart.yml"))
}

/// Render the chart in `dir` as `release`, with the release's values over
/// the chart's.
pub fn render(files: &ChartFiles, dir: &Path, release: &Release, user: Option<&Value>) -> Rendered {
    let mut out = Rendered::default();
    let Some(chart) = load_over(files, dir, user, 0, &mut out) else { return out };
    out.chart = chart.name.clone();
    // One set of named templates for the chart and all its subcharts.
    let mut parsed = Vec::new();
    let mut defines: HashMap<String, Vec<parse::Node>> = HashMap::new();
    collect(files, &chart, &mut parsed, &mut defines, &mut out);
    let capabilities = capabilities();
    for (file, name, nodes, values, meta) in &parsed {
        if name.rsplit('/').next().is_some_and(|base| base.starts_with('_')) || !is_manifest(name) {
            continue;
        }
        out.templates.push(*file);
        let mut top = Map::new();
        top.insert("Values".into(), values.clone());
        top.insert("Release".into(), release_value(release));
        top.insert("Chart".into(), meta.clone());
        top.insert("Capabilities".into(), capabilities.clone());
        top.insert("Files".into(), Value::Map(Map::new()));
        let base = name.rsplit_once('/').map_or("", |(b, _)| b).to_string();
        top.insert(
            "Template".into(),
            Value::Map(
                [("Name".to_string(), Value::Str(name.clone())), ("BasePath".to_string(), Value::Str(base))]
                    .into_iter()
                    .collect(),
            ),
        );
        let mut exec = exec::Exec::new(&defines);
        match exec.render(nodes, &Value::Map(top)) {
            Ok((text, segs)) => place(files, *file, &text, &segs, &mut out),
            Err(e) => {
                let span = span_at(files, *file, e.pos);
                out.failures.push((span, format!("template `{name}` is not rendered: {}", e.message)));
            }
        }
    }
    out
}

type ParsedTemplate = (FileId, String, Vec<parse::Node>, Value, Value);

fn collect(
    files: &ChartFiles,
    chart: &Chart,
    parsed: &mut Vec<ParsedTemplate>,
    defines: &mut HashMap<String, Vec<parse::Node>>,
    out: &mut Rendered,
) {
    for (file, name) in &chart.templates {
        let Some(text) = files.sources.file(*file).map(|f| f.text.as_str()) else { continue };
        match parse::parse(text) {
            Ok(p) => {
                if !p.defines.is_empty() {
                    out.templates.push(*file);
                }
                defines.extend(p.defines);
                parsed.push((*file, name.clone(), p.nodes, chart.values.clone(), chart.meta.clone()));
            }
            Err(e) => {
                if is_manifest(name) || name.ends_with(".tpl") {
                    let span = span_at(files, *file, e.offset);
                    out.templates.push(*file);
                    out.failures.push((span, format!("template `{name}` does not parse: {}", e.message)));
                }
            }
        }
    }
    for sub in &chart.subcharts {
        collect(files, sub, parsed, defines, out);
    }
}

fn is_manifest(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".tpl") && !name.contains("/_")
}

/// Load the chart in `dir` with its `values.yaml`, and `over` (the
/// release's or the parent's values for it) coalesced over them.
fn load_over(files: &ChartFiles, dir: &Path, over: Option<&Value>, depth: usize, out: &mut Rendered) -> Option<Chart> {
    let mut values = yaml_value(files, &dir.join("values.yaml")).unwrap_or(Value::Map(Map::new()));
    if let Some(over) = over {
        value::coalesce(&mut values, over);
    }
    load(files, dir, values, depth, out)
}

fn load(files: &ChartFiles, dir: &Path, values: Value, depth: usize, out: &mut Rendered) -> Option<Chart> {
    let meta_node = ["Chart.yaml", "Chart.yml"]
        .iter()
        .find_map(|n| files.by_path.get(&dir.join(n)))
        .and_then(|id| files.docs.get(id))
        .and_then(|d| d.first())
        .map(|d| value::from_node(&d.root))?;
    let name = meta_node.get("name").map(Value::to_text).unwrap_or_default();
    let meta = chart_meta(&meta_node);
    let prefix = dir.join("templates");
    let mut templates: Vec<(FileId, String)> = files
        .by_path
        .iter()
        .filter(|(p, _)| p.starts_with(&prefix))
        .filter_map(|(p, id)| {
            let rel = p.strip_prefix(dir).ok()?.to_string_lossy().replace('\\', "/");
            Some((*id, format!("{name}/{rel}")))
        })
        .collect();
    templates.sort_by(|a, b| a.1.cmp(&b.1));
    let mut chart = Chart { dir: dir.to_path_buf(), name, meta, values, templates, subcharts: Vec::new() };
    if depth >= MAX_CHART_DEPTH {
        return Some(chart);
    }
    // Dependencies: `file://` ones and those unpacked under `charts/`.
    let deps = meta_node.get("dependencies").and_then(|d| match d {
        Value::List(l) => Some(l.clone()),
        _ => None,
    });
    let mut seen_dirs: Vec<PathBuf> = Vec::new();
    let deps = deps.unwrap_or_default();
    // Subcharts the dependencies name (by name), switched off or not.
    let declared: Vec<String> = deps.iter().filter_map(|d| d.get("name")).map(Value::to_text).collect();
    for dep in deps {
        let dep_name = dep.get("name").map(Value::to_text).unwrap_or_default();
        let alias = dep.get("alias").map(Value::to_text).filter(|a| !a.is_empty()).unwrap_or_else(|| dep_name.clone());
        let repository = dep.get("repository").map(Value::to_text).unwrap_or_default();
        if !enabled(&chart.values, dep.get("condition")) {
            continue;
        }
        let local = repository
            .strip_prefix("file://")
            .map(|p| super::kustomize::normalize(&chart.dir.join(p)))
            .filter(|p| is_chart_dir(files.by_path, p))
            .or_else(|| Some(chart.dir.join("charts").join(&dep_name)).filter(|p| is_chart_dir(files.by_path, p)));
        let sub_values = sub_values(&chart.values, &alias);
        match local {
            Some(sub_dir) if !seen_dirs.contains(&sub_dir) || alias != dep_name => {
                seen_dirs.push(sub_dir.clone());
                if let Some(mut sub) = load_over(files, &sub_dir, Some(&sub_values), depth + 1, out) {
                    // A subchart's templates see its alias as `.Chart.Name`.
                    if let Value::Map(m) = &mut sub.meta {
                        m.insert("Name".into(), Value::Str(alias.clone()));
                    }
                    chart.subcharts.push(sub);
                }
            }
            Some(_) => {}
            None => {
                let version = dep.get("version").map(Value::to_text).unwrap_or_default();
                let dependency =
                    crate::model::resource::Dependency { alias, chart: dep_name.clone(), repository, version };
                out.missing.push((dependency, sub_values));
            }
        }
    }
    // Helm loads every chart under `charts/`, listed as a dependency or not.
    let charts_dir = chart.dir.join("charts");
    let mut undeclared: Vec<PathBuf> = files
        .by_path
        .keys()
        .filter(|p| p.file_name().is_some_and(|n| n == "Chart.yaml"))
        .filter_map(|p| p.parent())
        .filter(|d| d.parent() == Some(charts_dir.as_path()) && !seen_dirs.iter().any(|s| s == d))
        .map(Path::to_path_buf)
        .collect();
    undeclared.sort();
    for sub_dir in undeclared {
        let name = sub_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let chart_name = yaml_value(files, &sub_dir.join("Chart.yaml"))
            .and_then(|m| m.get("name").map(Value::to_text))
            .unwrap_or_else(|| name.clone());
        if chart.subcharts.iter().any(|c| c.dir == sub_dir)
            || declared.contains(&chart_name)
            || declared.contains(&name)
        {
            continue;
        }
        let sub_values = sub_values(&chart.values, &chart_name);
        if let Some(sub) = load_over(files, &sub_dir, Some(&sub_values), depth + 1, out) {
            chart.subcharts.push(sub);
        }
    }
    Some(chart)
}

/// The values a subchart gets from its parent: `parent[alias]`, plus `global`.
fn sub_values(parent: &Value, alias: &str) -> Value {
    let mut v = parent.get(alias).cloned().filter(|v| matches!(v, Value::Map(_))).unwrap_or(Value::Map(Map::new()));
    if let (Some(global), Value::Map(m)) = (parent.get("global"), &mut v) {
        let mut g = m.get("global").cloned().unwrap_or(Value::Map(Map::new()));
        value::coalesce(&mut g, global);
        m.insert("global".into(), g);
    }
    v
}

/// A dependency's `condition` (`a.enabled,b.enabled`: the first path that
/// is set decides); absent means enabled.
fn enabled(values: &Value, condition: Option<&Value>) -> bool {
    let Some(cond) = condition.map(Value::to_text) else { return true };
    for path in cond.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut cur = Some(values);
        for key in path.split('.') {
            cur = cur.and_then(|c| c.get(key));
        }
        if let Some(Value::Bool(b)) = cur {
            return *b;
        }
    }
    true
}

fn yaml_value(files: &ChartFiles, path: &Path) -> Option<Value> {
    let id = files.by_path.get(path)?;
    let doc = files.docs.get(id)?.first()?;
    Some(value::from_node(&doc.root))
}

/// `.Chart`: Chart.yaml with Helm's capitalised field names.
fn chart_meta(meta: &Value) -> Value {
    let mut m = Map::new();
    for (key, field) in [
        ("name", "Name"),
        ("version", "Version"),
        ("appVersion", "AppVersion"),
        ("type", "Type"),
        ("description", "Description"),
        ("kubeVersion", "KubeVersion"),
        ("annotations", "Annotations"),
    ] {
        m.insert(field.into(), meta.get(key).cloned().unwrap_or(Value::Str(String::new())));
    }
    Value::Map(m)
}

fn release_value(release: &Release) -> Value {
    let mut m = Map::new();
    m.insert("Name".into(), Value::Str(release.name.to_string()));
    m.insert("Namespace".into(), Value::Str(release.namespace.unwrap_or("default").to_string()));
    m.insert("Service".into(), Value::Str("Helm".into()));
    m.insert("IsInstall".into(), Value::Bool(true));
    m.insert("IsUpgrade".into(), Value::Bool(false));
    m.insert("Revision".into(), Value::Int(1));
    Value::Map(m)
}

/// `helm template`'s defaults: a recent Kubernetes, built-in APIs only.
fn capabilities() -> Value {
    let kube: Map = [("Version", "v1.31.0"), ("GitVersion", "v1.31.0"), ("Major", "1"), ("Minor", "31")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::Str(v.into())))
        .collect();
    let mut m = Map::new();
    m.insert("KubeVersion".into(), Value::Map(kube));
    m.insert("APIVersions".into(), Value::Map(Map::new()));
    m.insert(
        "HelmVersion".into(),
        Value::Map([("Version".to_string(), Value::Str("v3.16.0".into()))].into_iter().collect()),
    );
    Value::Map(m)
}

/// Parse rendered text and position its nodes in the template file.
fn place(files: &ChartFiles, file: FileId, text: &str, segs: &[exec::Seg], out: &mut Rendered) {
    if text.trim().is_empty() {
        return;
    }
    let Some(source) = files.sources.file(file) else { return };
    let lines = line_starts(&source.text);
    let loaded = crate::yaml::load_str(file, text);
    let map = |offset: usize| -> usize {
        let i = segs.partition_point(|s| s.out <= offset).saturating_sub(1);
        match segs.get(i) {
            Some(seg) if seg.literal => seg.src + (offset - seg.out.min(offset)),
            Some(seg) => seg.src,
            None => 0,
        }
    };
    // An end maps through its last byte: text one to one, a value written
    // by an action to the action's `{{`.
    let map_end = |start: usize, offset: usize| -> usize {
        if offset <= start {
            return map(start);
        }
        let last = offset - 1;
        let i = segs.partition_point(|s| s.out <= last).saturating_sub(1);
        match segs.get(i) {
            Some(seg) if seg.literal => seg.src + (last - seg.out.min(last)) + 1,
            Some(seg) => seg.src + 2,
            None => 0,
        }
    };
    let first = out.docs.iter().filter(|d| d.file == file).count();
    for (i, doc) in loaded.documents.into_iter().enumerate() {
        let mut root = (*doc.root).clone();
        root.map_spans(&mut |span| Span {
            file,
            start: pos(&lines, &source.text, map(span.start.byte())),
            end: pos(&lines, &source.text, map_end(span.start.byte(), span.end.byte()).max(map(span.start.byte()))),
        });
        out.docs.push(Document { file, index: first + i, root: Arc::new(root) });
    }
    if let Some(e) = loaded.error {
        let span = span_at(files, file, map(e.pos.byte()));
        out.failures.push((span, format!("the rendered YAML does not parse: {}", e.message)));
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

fn pos(lines: &[usize], text: &str, offset: usize) -> Pos {
    let offset = offset.min(text.len());
    let line = lines.partition_point(|&s| s <= offset).saturating_sub(1);
    let start = lines.get(line).copied().unwrap_or(0);
    let col = text.get(start..offset).map_or(0, |s| s.chars().count());
    Pos::at(offset, u32::try_from(line + 1).unwrap_or(u32::MAX), u32::try_from(col + 1).unwrap_or(u32::MAX))
}

fn span_at(files: &ChartFiles, file: FileId, offset: usize) -> Span {
    let Some(source) = files.sources.file(file) else { return Span { file, ..Span::default() } };
    let lines = line_starts(&source.text);
    let p = pos(&lines, &source.text, offset);
    Span { file, start: p, end: p }
}

/// Values of a release written as YAML (`valuesObject`, value files).
pub fn values_of(node: &Node) -> Value {
    value::from_node(node)
}

/// A chart directory rendered on its own, as `helm template RELEASE DIR
/// --namespace NAMESPACE` would (no values beyond the chart's): each
/// document as JSON, and the templates that could not be rendered (with
/// why). For comparing this engine with Helm's (tests/helm_diff.rs).
pub fn render_dir(dir: &Path, release: &str, namespace: &str) -> Result<(Vec<serde_json::Value>, Vec<String>), String> {
    let found = crate::discover::discover(&[dir.to_path_buf()], dir, &globset::GlobSet::empty())?;
    let mut sources = crate::yaml::load_files_filtered(&found.files, &found.filtered);
    sources.add_templates(&found.templates);
    sources.add_chart_archives(&found.archives);
    let index = super::kustomize::PathIndex::new(&sources.files);
    let mut docs: HashMap<FileId, Vec<&Document>> = HashMap::new();
    for d in &sources.documents {
        docs.entry(d.file).or_default().push(d);
    }
    let files = ChartFiles { sources: &sources, by_path: &index.files, docs: &docs };
    let dir = super::kustomize::normalize(dir);
    let rendered = render(&files, &dir, &Release { name: release, namespace: Some(namespace) }, None);
    let mut out = Vec::new();
    for doc in &rendered.docs {
        let json = value::to_json(&value::from_node(&doc.root));
        out.push(serde_json::from_str(&json).map_err(|e| format!("rendered document is not JSON: {e}"))?);
    }
    let failures = rendered.failures.iter().map(|(_, why)| why.clone()).collect();
    Ok((out, failures))
}
