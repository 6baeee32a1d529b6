//! Differential test against real kustomize: for every kustomization
//! directory of `../shared/corpus` that `kubectl kustomize` builds offline,
//! lifeboat's instances must have the same (apiVersion, kind, namespace,
//! name) set, and every CNPG `Cluster` the same backup fields.
//!
//! Runs whenever `kubectl` and the corpus are present; says why it skipped
//! otherwise. Directories kustomize cannot build here (a remote base, a
//! generator file that is not YAML and so not in the corpus, a Helm chart)
//! are counted and listed, not compared.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use lifeboat::model::{build_kustomization, kustomize::is_kustomization_file};
use lifeboat::yaml::{Node, Value};
use rayon::prelude::*;
use yaml_rust2::{Yaml, YamlLoader};

type Id = (String, String, String, String);

/// What one build gives: identities, and canonical CNPG backup fields by Cluster.
#[derive(Debug, Default, PartialEq)]
struct Build {
    ids: BTreeSet<Id>,
    cnpg: BTreeMap<Id, String>,
}

/// Fields of a CNPG Cluster that decide its backups and recovery.
const CNPG_FIELDS: &[&str] = &["backup", "plugins", "bootstrap", "externalClusters"];

fn corpus() -> Option<PathBuf> {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus")).to_path_buf();
    path.is_dir().then_some(path)
}

fn kubectl() -> bool {
    Command::new("kubectl").args(["version", "--client"]).output().is_ok_and(|o| o.status.success())
}

fn canonical_yaml(y: &Yaml) -> String {
    match y {
        Yaml::Real(s) | Yaml::String(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Null => "null".into(),
        Yaml::Array(items) => format!("[{}]", items.iter().map(canonical_yaml).collect::<Vec<_>>().join(",")),
        Yaml::Hash(map) => {
            let mut entries: Vec<String> =
                map.iter().map(|(k, v)| format!("{}:{}", canonical_yaml(k), canonical_yaml(v))).collect();
            entries.sort();
            format!("{{{}}}", entries.join(","))
        }
        _ => "?".into(),
    }
}

fn canonical_node(n: &Node) -> String {
    match &n.value {
        Value::Scalar { .. } if n.is_null() => "null".into(),
        Value::Scalar { text, .. } => text.to_string(),
        Value::Seq(items) => format!("[{}]", items.iter().map(canonical_node).collect::<Vec<_>>().join(",")),
        Value::Map(entries) => {
            let mut out: Vec<String> =
                entries.iter().map(|(k, v)| format!("{}:{}", canonical_node(k), canonical_node(v))).collect();
            out.sort();
            format!("{{{}}}", out.join(","))
        }
    }
}

fn cnpg_fields(get: impl Fn(&str) -> Option<String>) -> String {
    CNPG_FIELDS.iter().map(|f| format!("{f}={}", get(f).unwrap_or_default())).collect::<Vec<_>>().join(";")
}

fn is_cnpg_cluster(id: &Id) -> bool {
    id.0.starts_with("postgresql.cnpg.io/") && id.1 == "Cluster"
}

fn kustomize_build(dir: &Path) -> Result<Build, String> {
    let out = Command::new("kubectl")
        .args(["kustomize", "--load-restrictor", "LoadRestrictionsNone"])
        .arg(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().find(|l| l.contains("err") || l.contains("Error")).unwrap_or("failed").to_string());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let docs = YamlLoader::load_from_str(&text).map_err(|e| format!("kubectl output does not parse: {e}"))?;
    let mut build = Build::default();
    for doc in docs {
        let s = |y: &Yaml| y.as_str().unwrap_or("").to_string();
        let id =
            (s(&doc["apiVersion"]), s(&doc["kind"]), s(&doc["metadata"]["namespace"]), s(&doc["metadata"]["name"]));
        if is_cnpg_cluster(&id) {
            let spec = &doc["spec"];
            let fields = cnpg_fields(|f| (!spec[f].is_badvalue()).then(|| canonical_yaml(&spec[f])));
            build.cnpg.insert(id.clone(), fields);
        }
        build.ids.insert(id);
    }
    Ok(build)
}

fn lifeboat_build(sources: &lifeboat::yaml::Sources, dir: &Path) -> Option<Build> {
    let (resources, _notes) = build_kustomization(sources, dir)?;
    let mut build = Build::default();
    for r in resources {
        let id = (r.api_version.clone(), r.kind.clone(), r.namespace.clone().unwrap_or_default(), r.name.clone());
        if is_cnpg_cluster(&id) {
            let spec = r.spec();
            build.cnpg.insert(id.clone(), cnpg_fields(|f| spec.and_then(|s| s.get(f)).map(canonical_node)));
        }
        build.ids.insert(id);
    }
    Some(build)
}

#[test]
fn instances_match_kubectl_kustomize() {
    let Some(corpus) = corpus() else {
        println!("skipped: ../shared/corpus not found (it exists only on developer and CI machines)");
        return;
    };
    if !kubectl() {
        println!("skipped: `kubectl` is not installed (the differential test needs `kubectl kustomize`)");
        return;
    }
    let mut repos: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    repos.sort();
    let (mut compared, mut skipped, mut mismatches) = (0, Vec::new(), Vec::new());
    for repo in repos {
        let opts = lifeboat::Options { paths: vec![repo.clone()], ..Default::default() };
        let mut config = lifeboat::config::Config::default();
        let (sources, _, _) = lifeboat::load(&opts, &mut config).expect("the corpus repository loads");
        let mut dirs: Vec<PathBuf> = sources
            .files
            .iter()
            .filter(|f| is_kustomization_file(&f.path))
            .filter_map(|f| f.path.parent().map(Path::to_path_buf))
            .collect();
        dirs.sort();
        dirs.dedup();
        let results: Vec<(PathBuf, Result<Build, String>, Option<Build>)> =
            dirs.par_iter().map(|dir| (dir.clone(), kustomize_build(dir), lifeboat_build(&sources, dir))).collect();
        for (dir, expected, actual) in results {
            match (expected, actual) {
                (Err(reason), _) => skipped.push(format!("{}: {reason}", dir.display())),
                (Ok(_), None) => {
                    // kustomize built it but lifeboat did not see a kustomization:
                    // only a Flux `Kustomization` stored as kustomization.yaml does that.
                    skipped.push(format!("{}: not a kustomize kustomization", dir.display()));
                }
                (Ok(expected), Some(actual)) => {
                    compared += 1;
                    if expected != actual {
                        let missing: Vec<_> = expected.ids.difference(&actual.ids).collect();
                        let extra: Vec<_> = actual.ids.difference(&expected.ids).collect();
                        let cnpg: Vec<_> = expected
                            .cnpg
                            .iter()
                            .filter(|(id, f)| actual.cnpg.get(*id) != Some(f))
                            .map(|(id, f)| {
                                format!("{id:?}\n      kustomize: {f}\n      lifeboat:  {:?}", actual.cnpg.get(id))
                            })
                            .collect();
                        mismatches.push(format!(
                            "{}\n    missing: {missing:?}\n    extra: {extra:?}\n    cnpg: {cnpg:#?}",
                            dir.display()
                        ));
                    }
                }
            }
        }
    }
    println!("compared {compared} kustomization directories with kubectl kustomize; skipped {}", skipped.len());
    for s in &skipped {
        println!("  skipped {s}");
    }
    assert!(compared >= 100, "too few directories built to compare ({compared}): is kubectl working?");
    assert!(mismatches.is_empty(), "{} of {compared} differ:\n{}", mismatches.len(), mismatches.join("\n"));
}
