//! Hostile input: lifeboat must not panic, hang or skip anything silently.
//! Every broken file gets a `yaml-syntax` finding and the run goes on.

mod common;

use std::time::{Duration, Instant};

use common::lifeboat;

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write");
}

#[test]
fn hostile_files_are_reported_not_fatal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        laughs
            .push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    write(d, "laughs.yaml", laughs.as_bytes());
    write(d, "deep.yaml", ("[".repeat(20_000) + &"]".repeat(20_000)).as_bytes());
    write(d, "binary.yaml", &[0, 159, 146, 150, 255, 254, 0, 1, 2, 3, b'\n', b':', b':']);
    write(d, "empty.yaml", b"");
    write(d, "only-separators.yml", b"---\n---\n...\n");
    write(d, "tabs.yaml", b"a:\n\tb: 1\n");
    write(d, "unknown-alias.yaml", b"a: *nowhere\n");
    write(
        d,
        "long-scalar.yaml",
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big}}\ndata: {{x: \"{}\"}}\n",
            "y".repeat(2_000_000)
        )
        .as_bytes(),
    );
    write(d, "helm-ish.yaml", b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n");
    write(d, "weird-shapes.yaml", b"apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: [not, a, map]\nspec: 7\n---\napiVersion: postgresql.cnpg.io/v1\nkind: ScheduledBackup\nmetadata: {name: x}\nspec: {schedule: [1, 2], cluster: {name: {a: b}}, suspend: yes}\n---\napiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: y}\nspec: {bootstrap: [1], plugins: {a: b}, externalClusters: 3, backup: {barmanObjectStore: []}}\n");
    std::fs::create_dir(d.join("dir.yaml")).expect("a directory named like a file");
    write(d, "kustomization.yaml", b"resources:\n  - ../../../../etc\n  - https://github.com/example/repo//base?ref=v1\n  - missing.yaml\n  - weird-shapes.yaml\n  - .\n");

    let start = Instant::now();
    let mut child = lifeboat()
        .args(["check", &d.to_string_lossy(), "--format", "json", "--verbose"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "lifeboat hangs on hostile input");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "lifeboat panicked: {stderr}");
    assert_eq!(out.status.code(), Some(1), "findings, not a crash: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let syntax: Vec<String> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["rule"] == "yaml-syntax")
        .filter_map(|f| f["file"].as_str().map(|p| p.rsplit('/').next().unwrap_or(p).to_string()))
        .collect();
    for broken in ["laughs.yaml", "deep.yaml", "binary.yaml", "tabs.yaml", "unknown-alias.yaml"] {
        assert!(syntax.iter().any(|s| s == broken), "{broken} gets a yaml-syntax finding; got {syntax:?}");
    }
    for fine in ["empty.yaml", "only-separators.yml", "long-scalar.yaml", "weird-shapes.yaml", "helm-ish.yaml"] {
        assert!(!syntax.iter().any(|s| s == fine), "{fine} parses");
    }
}

/// Kustomizations, patches, replacements and Argo CD sets that kustomize or
/// Argo would refuse: each is a note (or nothing), never a crash or a hang.
#[test]
fn hostile_builds_are_notes_not_crashes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    for sub in ["a", "b", "c", "comp", "apps/x"] {
        std::fs::create_dir_all(d.join(sub)).expect("mkdir");
    }
    let k = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n";
    // a and b include each other; comp is its own component.
    write(d, "a/kustomization.yaml", format!("{k}resources: [../b, pvc.yaml]\n").as_bytes());
    write(d, "b/kustomization.yaml", format!("{k}resources: [../a]\nnamePrefix: p-\n").as_bytes());
    write(d, "a/pvc.yaml", b"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\n");
    write(
        d,
        "c/kustomization.yaml",
        format!(
            "{k}components: [../comp]\nresources: [cm.yaml]\n\
             patches:\n  - patch: \"not: [valid\"\n  - patch: |-\n      - op: replace\n        path: /nope/deeper\n        value: 1\n    target: {{kind: ConfigMap}}\n\
             \x20 - patch: |-\n      - op: move\n        from: /data\n        path: /data/inside\n    target: {{kind: ConfigMap}}\n\
             \x20 - target: {{kind: ConfigMap, name: \"[\"}}\n    patch: |-\n      - op: remove\n        path: /data\n\
             \x20 - path: missing-patch.yaml\n\
             replacements:\n  - source: {{kind: Nothing}}\n    targets: [{{select: {{kind: ConfigMap}}, fieldPaths: [data.x]}}]\n\
             \x20 - source: {{kind: ConfigMap, fieldPath: data.x, options: {{delimiter: '/', index: 99}}}}\n    targets: [{{select: {{kind: ConfigMap}}, fieldPaths: [\"a.[b=c].[d\", \"0.1.2\", \"\"]}}]\n  - path: missing.yaml\n\
             configMapGenerator:\n  - name: g\n    files: [missing.txt]\n    envs: [missing.env]\n    literals: [novalue, \"=\", \"k=v=w\"]\n    behavior: merge\n"
        )
        .as_bytes(),
    );
    write(
        d,
        "comp/kustomization.yaml",
        b"apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncomponents: [../comp]\nnamespace: x\n",
    );
    write(d, "c/cm.yaml", b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {x: a/b}\n");
    write(
        d,
        "appset.yaml",
        b"apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: s}\nspec:\n  generators:\n    - git: {directories: [{path: '['}, {path: 'apps/*'}], files: [{path: '**'}]}\n    - matrix: {}\n    - clusters: {}\n    - list: {elements: [1, {a: {b: c}}]}\n  template: {metadata: {name: '{{ .path.basename | upper }}{{'}, spec: {source: {path: '{{index .path.segments 99}}'}}}\n",
    );
    write(d, "apps/x/app.yaml", b"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x}\nspec: {source: {path: apps/x}, sources: [{path: ../../..}, {chart: c}]}\n");
    let start = Instant::now();
    let out = lifeboat().args(["check", "--verbose", "--fail-on", "never"]).arg(d).output().expect("runs");
    assert!(start.elapsed() < Duration::from_secs(20), "took {:?}", start.elapsed());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "no crash: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("inline patch does not parse"), "{text}");
    assert!(text.contains("patch not applied to ConfigMap `cm`"), "{text}");
    assert!(text.contains("is not a file lifeboat read"), "{text}");
    assert!(text.contains("the `clusters` generator's parameters are not known here"), "{text}");
}

/// A chain of kustomizations far deeper than any real repository: followed
/// to a bound, with a note, never to a stack overflow.
#[test]
fn a_very_deep_include_chain_is_bounded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let depth = 3_000;
    for i in 0..depth {
        let sub = d.join(format!("k{i}"));
        std::fs::create_dir_all(&sub).expect("mkdir");
        let next =
            if i + 1 < depth { format!("resources: [../k{}]\n", i + 1) } else { "resources: [pvc.yaml]\n".into() };
        write(&sub, "kustomization.yaml", next.as_bytes());
    }
    write(
        &d.join(format!("k{}", depth - 1)),
        "pvc.yaml",
        b"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: deep}\n",
    );
    let out = lifeboat().args(["check", "--verbose", "--fail-on", "never"]).arg(d).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "no crash: {stderr}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("kustomizations nest deeper than 100 levels here: not followed"), "{text}");
}
