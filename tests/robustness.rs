//! Hostile input: lifeboat must not panic, hang or skip anything silently.
//! Every broken file gets a `yaml-syntax` finding and the run goes on.

mod common;

use std::time::{Duration, Instant};

use common::lifeboat;

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write");
}

/// Hostile files a kustomization lists (so they are meant to be deployed):
/// each broken one is a yaml-syntax finding, none crashes or hangs.
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
    write(d, "kustomization.yaml", b"resources:\n  - ../../../../etc\n  - https://github.com/example/repo//base?ref=v1\n  - missing.yaml\n  - weird-shapes.yaml\n  - laughs.yaml\n  - deep.yaml\n  - binary.yaml\n  - tabs.yaml\n  - unknown-alias.yaml\n  - .\n");

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
    write(d, "apps/x/app.yaml", b"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x}\nspec: {source: {path: apps/x}, sources: [{path: ../../..}, {chart: c}, {path: c}]}\n");
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

/// Run lifeboat with `args`; kill it and fail when it does not finish within
/// `bound` (a hang detector, not a timing: the bound is generous).
fn run_bounded(args: &[&std::ffi::OsStr], bound: Duration) -> std::process::Output {
    let mut child = lifeboat()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Read the pipes on threads so a large report cannot block the child.
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut out_pipe, &mut v).map(|_| v).unwrap_or_default()
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut err_pipe, &mut v).map(|_| v).unwrap_or_default()
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            panic!("lifeboat {args:?} did not finish within {bound:?}: a hang");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
    }
}

fn check_verbose(d: &std::path::Path) -> String {
    let args = ["check".as_ref(), "--verbose".as_ref(), "--fail-on".as_ref(), "never".as_ref(), d.as_os_str()];
    let out = run_bounded(&args, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "no crash: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const PVC: &str = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: NAME}\nspec: {resources: {requests: {storage: 1Gi}}}\n";

/// Entries listed twice inside cycles (`resources: [., .]`; a→[b,b],
/// b→[a,c], c→a) made the build exponential: now each is a note and the
/// build finishes with every object once.
#[test]
fn duplicate_entries_in_cycles_build_once_with_notes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    for sub in ["a", "b", "c", "self"] {
        std::fs::create_dir_all(d.join(sub)).expect("mkdir");
    }
    write(
        d,
        "flux.yaml",
        b"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec: {path: ./a, sourceRef: {kind: GitRepository, name: flux-system}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: self, namespace: flux-system}\nspec: {path: ./self, sourceRef: {kind: GitRepository, name: flux-system}}\n",
    );
    write(d, "a/kustomization.yaml", b"resources: [../b, ../b]\n");
    write(d, "b/kustomization.yaml", b"resources: [../a, ../c, pvc.yaml]\n");
    write(d, "c/kustomization.yaml", b"resources: [../a]\ncomponents: [../c, ../c]\n");
    write(d, "b/pvc.yaml", PVC.replace("NAME", "in-b").as_bytes());
    write(d, "self/kustomization.yaml", b"resources: [., ., pvc.yaml]\n");
    write(d, "self/pvc.yaml", PVC.replace("NAME", "in-self").as_bytes());
    let text = check_verbose(d);
    assert!(text.contains("is listed twice (kustomize refuses it): read once"), "{text}");
    assert!(text.contains("leads back to this kustomization (a cycle: kustomize refuses it): not followed"), "{text}");
    for name in ["in-b", "in-self"] {
        let n = text.matches(&format!("PersistentVolumeClaim `{name}` holds data")).count();
        assert_eq!(n, 1, "{name} is deployed once: {text}");
    }
}

/// `depth` diamonds of shared bases: `top{i}` lists `left{i}`, `right{i}`
/// and a PVC `data-{i}`; both sides list `top{i+1}`, each with its own
/// namePrefix when one is given.
fn write_diamonds(d: &std::path::Path, depth: usize, left_prefix: &str, right_prefix: &str) {
    for i in 0..depth {
        let top = if i + 1 < depth {
            format!("resources: [../left{i}, ../right{i}, pvc.yaml]\n")
        } else {
            "resources: [pvc.yaml]\n".to_string()
        };
        let side = |prefix: &str| {
            let rename = if prefix.is_empty() { String::new() } else { format!("namePrefix: {prefix}\n") };
            format!("resources: [../top{}]\n{rename}", i + 1)
        };
        for (name, body) in [("top", top), ("left", side(left_prefix)), ("right", side(right_prefix))] {
            let sub = d.join(format!("{name}{i}"));
            std::fs::create_dir_all(&sub).expect("mkdir");
            write(&sub, "kustomization.yaml", body.as_bytes());
        }
        write(&d.join(format!("top{i}")), "pvc.yaml", PVC.replace("NAME", &format!("data-{i}")).as_bytes());
    }
}

/// Thousands of diamonds of shared bases (top → [left, right], both → the
/// next top): each shared base is built once and its objects counted once.
#[test]
fn deep_diamonds_of_shared_bases_finish() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write_diamonds(d, 2_000, "", "");
    let text = check_verbose(d);
    assert!(text.contains("brings objects this build already has (kustomize refuses it): counted once"), "{text}");
    for i in [0, 1, 10, 40] {
        let n = text.matches(&format!("PersistentVolumeClaim `data-{i}` holds data")).count();
        assert_eq!(n, 1, "data-{i} is deployed once");
    }
}

/// Diamonds whose sides rename what they include really double at every
/// level: the expansion stops at a budget with a note instead of running
/// for ever.
#[test]
fn renaming_diamonds_stop_at_the_instance_budget() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write_diamonds(d, 40, "l-", "r-");
    let args =
        ["check".as_ref(), "--format".as_ref(), "json".as_ref(), "--fail-on".as_ref(), "never".as_ref(), d.as_os_str()];
    let out = run_bounded(&args, Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let findings = report["findings"].as_array().map_or(0, Vec::len);
    assert!(findings > 1_000, "the first levels are expanded: {findings} findings");
    let human = check_verbose(d);
    assert!(human.contains("instances here: not followed further"), "the cut is noted");
}

/// One long single-line flow sequence or map loaded in quadratic time
/// (160k items took more than 20 s); each must load, with exact spans.
#[test]
fn long_flow_lines_load() {
    use lifeboat::yaml::load_str;
    let n = 160_000;
    let seq = format!("k: [{}]\n", vec!["1"; n].join(","));
    let loaded = load_str(0, &seq);
    assert!(loaded.error.is_none(), "{:?}", loaded.error);
    let items = loaded.documents.first().and_then(|d| d.root.get("k")).map(|k| k.as_seq().len());
    assert_eq!(items, Some(n));

    let map = format!("k: {{{}}}\n", (0..n).map(|i| format!("k{i}: v")).collect::<Vec<_>>().join(", "));
    let loaded = load_str(0, &map);
    assert!(loaded.error.is_none(), "{:?}", loaded.error);
    let root = loaded.documents.first().map(|d| d.root.clone()).expect("a document");
    let last = root.get("k").and_then(|k| k.get(&format!("k{}", n - 1))).expect("the last key");
    assert_eq!(&map[last.span.start.byte()..last.span.end.byte()], "v");

    // Multibyte text counts columns in characters: still linear.
    let wide = format!("k: [{}]\n", vec!["é"; n].join(", "));
    let loaded = load_str(0, &wide);
    let seq = loaded.documents.first().and_then(|d| d.root.get("k")).map(|k| k.as_seq().to_vec()).expect("k");
    let last = seq.last().expect("items");
    assert_eq!(&wide[last.span.start.byte()..last.span.end.byte()], "é");
    assert_eq!(last.span.start.col as usize, 5 + 3 * (n - 1));

    // Go-style alias keys (`*a:`) by the thousand take the re-parse path.
    let aliases = format!("a: &a x\nk: {{{}}}\n", (0..n / 4).map(|_| "*a: 1").collect::<Vec<_>>().join(", "));
    assert!(load_str(0, &aliases).error.is_none());

    // A merge key over a map of many keys.
    let merged = format!(
        "b: &b {{{}}}\nm: {{<<: *b, k0: own}}\n",
        (0..50_000).map(|i| format!("k{i}: v")).collect::<Vec<_>>().join(", ")
    );
    let loaded = load_str(0, &merged);
    let m = loaded.documents.first().and_then(|d| d.root.get("m").cloned()).expect("m");
    assert_eq!(m.as_map().len(), 50_000);
    assert_eq!(m.get("k0").and_then(|v| v.as_str()), Some("own"));
}

/// A file that is not valid UTF-8 is a `yaml-syntax` finding and nothing
/// else: no half-read resource (a PVC named `caf\u{fffd}`).
#[test]
fn an_invalid_utf8_file_yields_no_resources() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "pvc.yaml", b"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: caf\xe9\n");
    let args =
        ["check".as_ref(), "--format".as_ref(), "json".as_ref(), "--fail-on".as_ref(), "never".as_ref(), d.as_os_str()];
    let out = run_bounded(&args, Duration::from_secs(60));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    let rules: Vec<&str> = findings.iter().filter_map(|f| f["rule"].as_str()).collect();
    assert_eq!(rules, ["yaml-syntax"], "{findings:?}");
    assert_eq!(findings[0]["line"], 4, "the first invalid byte's line");
    assert_eq!(report["summary"]["resources"], 0);
}

/// A matrix generator over many children multiplies (20^5 sets here):
/// bounded, with a note, instead of running for ever.
#[test]
fn a_huge_matrix_generator_is_bounded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("apps/x")).expect("mkdir");
    write(&d.join("apps/x"), "pvc.yaml", PVC.replace("NAME", "x").as_bytes());
    let list = format!(
        "        - list: {{elements: [{}]}}\n",
        (0..20).map(|i| format!("{{n: {i}}}")).collect::<Vec<_>>().join(", ")
    );
    let set = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {{name: s}}\nspec:\n  generators:\n  - matrix:\n      generators:\n{}  template:\n    metadata: {{name: 'app-{{{{n}}}}'}}\n    spec: {{source: {{repoURL: 'https://example.com/r.git', path: apps/x}}, destination: {{namespace: x}}}}\n",
        list.repeat(5)
    );
    write(d, "appset.yaml", set.as_bytes());
    let text = check_verbose(d);
    assert!(text.contains("the matrix generator gives more than 10000 parameter sets"), "{text}");
}

/// A scaffolding tool's Go template that nothing deploys is skipped with a
/// note (it is YAML only once rendered); the same template listed by a
/// kustomization is deployed as it is, and is a syntax error.
#[test]
fn a_go_template_nothing_deploys_is_skipped_but_a_listed_one_is_an_error() {
    let report = common::json_report(std::path::Path::new("fixtures/rules/yaml-syntax/good"), &[]);
    let skipped = report["skipped"].as_array().cloned().unwrap_or_default();
    assert!(
        skipped.iter().any(
            |s| s["file"] == "scaffold/app.yaml" && s["reason"].as_str().is_some_and(|r| r.contains("Go template"))
        ),
        "{skipped:?}"
    );
    // An Ansible playbook libyaml reads and lifeboat's parser does not: not
    // a manifest, deployed by nothing, so skipped with its reason.
    assert!(
        skipped.iter().any(|s| s["file"] == "ansible-playbook.yaml"
            && s["reason"].as_str().is_some_and(|r| r.contains("not a Kubernetes manifest"))),
        "{skipped:?}"
    );
    assert!(common::rules_of(&report).is_empty(), "{}", report["findings"]);
    let bad = common::json_report(std::path::Path::new("fixtures/rules/yaml-syntax/bad"), &["--select", "yaml-syntax"]);
    let files: Vec<&str> =
        bad["findings"].as_array().into_iter().flatten().filter_map(|f| f["file"].as_str()).collect();
    assert!(files.iter().any(|f| f.ends_with("templated/app.yaml")), "{files:?}");
}
