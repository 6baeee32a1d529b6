//! kustomize's generators: `configMapGenerator` and `secretGenerator`
//! (with the content hash kustomize appends to their names when a build
//! ends), and `helmCharts` (not rendered: their values feed the inventory).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use sha2::{Digest, Sha256};

use super::kustomize::{generator_file, normalize, Kustomization};
use super::patch::strategic_merge;
use super::transform::{fix_references, Rename};
use super::{Builder, Resource, Via};
use crate::yaml::{Node, Pos, Span};

impl Builder<'_> {
    /// The text of a file of the run, by path.
    /// The text of a file of the run and a span covering all of it (so
    /// that YAML parsed from a value holding the whole file points into it).
    fn file_text(&self, path: &Path) -> Option<(String, Span)> {
        let id = *self.index.files.get(&normalize(path))?;
        let text = self.sources.file(id)?.text.clone();
        let lines = u32::try_from(text.lines().count()).unwrap_or(u32::MAX);
        let span =
            Span { file: id, start: Pos { offset: 0, line: 1, col: 1 }, end: Pos::at(text.len(), lines.max(1), 1) };
        Some((text, span))
    }

    /// The directory of kustomization `k`: what its paths are relative to.
    pub(super) fn kustomization_dir(&self, k: &Kustomization) -> PathBuf {
        self.sources.file(k.file).and_then(|f| f.path.parent()).map(Path::to_path_buf).unwrap_or_default()
    }

    /// `configMapGenerator` and `secretGenerator`.
    pub(super) fn generate(&mut self, k: &Kustomization, acc: &mut Vec<Resource>) {
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
            let dir = self.kustomization_dir(k);
            for entry in item.get("files").map_or(&[][..], Node::as_seq) {
                let Some(text) = entry.as_str() else { continue };
                let file = generator_file(text);
                let key = text.split_once('=').map_or_else(
                    || Path::new(file).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                    |(key, _)| key.trim().to_string(),
                );
                match self.file_text(&dir.join(file)) {
                    // A ConfigMap value that is a whole file spans that file.
                    Some((content, whole)) => {
                        let at = if *kind == "ConfigMap" { whole } else { entry.span };
                        data.push((Node::string(key, entry.span), Node::string(encode(kind, &content), at)))
                    }
                    None => known = false,
                }
            }
            for entry in ["envs", "env"].iter().flat_map(|f| match item.get(f) {
                Some(n) if n.as_str().is_some() => std::slice::from_ref(n),
                Some(n) => n.as_seq(),
                None => &[],
            }) {
                let Some((content, _)) = entry.as_str().and_then(|f| self.file_text(&dir.join(f.trim()))) else {
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
                    r.partial |= !known;
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
            if let Some(mut r) = Resource::synthesized(k.file, usize::MAX - i, Node::mapping(entries, span)) {
                let disabled = option("disableNameSuffixHash").and_then(Node::as_bool) == Some(true);
                r.hashed_name = known && !disabled;
                r.partial = !known;
                r.via.push(Via {
                    span,
                    message: format!("generated by this {kind} generator").into(),
                    shown: false,
                    patch: None,
                });
                acc.push(r);
            }
        }
    }

    /// `helmCharts`: each becomes a `HelmChartInflationGenerator` instance
    /// (kustomize's own name for it) holding the release and its values
    /// (`valuesFile` under `valuesInline`), so the inventory sees what the
    /// chart persists. A chart kept in the repository (no `repo`, in
    /// `<chartHome or charts>/<name>` beside the kustomization) is rendered
    /// and its objects join the build, as kustomize inflates it.
    pub(super) fn helm_charts(&mut self, k: &Kustomization, acc: &mut Vec<Resource>) {
        let dir = self.kustomization_dir(k);
        for (i, chart) in k.helm_charts.iter().enumerate() {
            let span = chart.span;
            let Some(name) = chart.get("name").and_then(Node::as_nonempty_str) else { continue };
            let release = chart.get("releaseName").and_then(Node::as_nonempty_str).unwrap_or(name);
            // A values file's first document, when lifeboat read it.
            let values_file = |file: &Node| {
                file.as_str()
                    .and_then(|f| self.index.files.get(&normalize(&dir.join(f))))
                    .and_then(|id| self.docs_by_file.get(id))
                    .and_then(|d| d.first())
                    .map(|d| &d.root)
            };
            let mut values = chart
                .get("valuesFile")
                .and_then(values_file)
                .map_or_else(|| Node::mapping(Vec::new(), span), |root| (**root).clone());
            // Then `additionalValuesFiles`, in order, then `valuesInline`.
            for root in chart.get("additionalValuesFiles").map_or(&[][..], Node::as_seq).iter().filter_map(values_file)
            {
                strategic_merge(&mut values, root, false);
            }
            if let Some(inline) = chart.get("valuesInline") {
                strategic_merge(&mut values, inline, false);
            }
            let mut metadata = vec![(Node::string("name", span), Node::string(release, span))];
            if let Some(ns) = chart.get("namespace").filter(|n| n.as_nonempty_str().is_some()) {
                metadata.push((Node::string("namespace", ns.span), ns.clone()));
            }
            let mut entries = vec![
                (Node::string("apiVersion", span), Node::string("builtin", span)),
                (Node::string("kind", span), Node::string("HelmChartInflationGenerator", span)),
                (Node::string("metadata", span), Node::mapping(metadata, span)),
                (Node::string("name", span), Node::string(name, span)),
                (Node::string("releaseName", span), Node::string(release, span)),
            ];
            // The chart's repository and version, which pick its catalogue
            // entry (a vendor's chart, a version range).
            for key in ["repo", "version"] {
                if let Some(v) = chart.get(key).filter(|v| v.as_nonempty_str().is_some()) {
                    entries.push((Node::string(key, v.span), v.clone()));
                }
            }
            entries.push((Node::string("valuesInline", span), values));
            let index = usize::MAX - k.generators.len() - i;
            let local = chart.get("repo").and_then(Node::as_nonempty_str).is_none();
            // `helmGlobals.chartHome` (relative to the kustomization), else `charts`.
            let home =
                chart.get("chartHome").and_then(Node::as_nonempty_str).or(k.chart_home.as_deref()).unwrap_or("charts");
            let chart_dir = normalize(&dir.join(home).join(name));
            let rendered = (local && super::helm::is_chart_dir(&self.index.files, &chart_dir)).then(|| {
                let values = entries.last().map_or(super::helm::value::Value::Map(Default::default()), |(_, v)| {
                    super::helm::value::from_node(v)
                });
                let namespace = chart.get("namespace").and_then(Node::as_nonempty_str);
                let label = format!("helmCharts entry `{release}`");
                self.render_chart(&chart_dir, release, namespace, &values, &label, span)
            });
            if let Some(mut r) = Resource::synthesized(k.file, index, Node::mapping(entries, span)) {
                let how = if rendered.is_some() { "helm chart (rendered)" } else { "helm chart (not rendered)" };
                r.via.push(Via { span, message: how.into(), shown: false, patch: None });
                if let Some(render) = rendered {
                    r.rendered_chart = Some(render.left);
                    r.blind = render.blind;
                    for mut made in render.resources {
                        made.deployed_by = Some(release.to_string());
                        acc.push(made);
                    }
                }
                acc.push(r);
            }
        }
    }
}

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

/// At the end of a build: generated ConfigMaps and Secrets take kustomize's
/// content hash as a name suffix, and references follow.
pub(super) fn finish_build(acc: &mut [Resource]) {
    let mut renames = Vec::new();
    for r in acc.iter_mut().filter(|r| r.hashed_name) {
        r.hashed_name = false;
        let Some(hash) = content_hash(r) else { continue };
        let to = format!("{}-{hash}", r.name);
        renames.push(Rename::of(r, to));
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
