//! The model stage on fixture trees, one per mechanism: a kustomize overlay
//! whose patch adds `spec.backup`, replacements (and namePrefix) naming
//! PVCs, an Argo CD ApplicationSet with an exclude, a Flux component with
//! two levels of substitution and a dead copy (and a Flux Kustomization's
//! namePrefix and commonMetadata). Each asserts the findings
//! and what is not deployed, and snapshots the real binary's output.

mod common;

use common::{json_report, run, stdout};
use std::path::Path;

/// `(rule, namespace/name, file)` of every finding, sorted.
fn findings(report: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let r = &f["resource"];
            (
                f["rule"].as_str().unwrap_or("").to_string(),
                format!("{}/{}", r["namespace"].as_str().unwrap_or(""), r["name"].as_str().unwrap_or("")),
                f["file"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn related(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["related"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r["message"].as_str().map(str::to_string))
        .collect()
}

fn unreached(tree: &str) -> Vec<String> {
    let out = run(&["inventory", tree, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inventory JSON parses");
    report["unreached"].as_array().into_iter().flatten().filter_map(|u| u.as_str().map(str::to_string)).collect()
}

fn snapshots(name: &str, tree: &str) {
    let human = run(&["check", tree, "--verbose", "--fail-on", "never"]);
    insta::assert_snapshot!(format!("{name}.check"), stdout(&human));
    let inventory = run(&["inventory", tree, "--format", "json"]);
    insta::assert_snapshot!(format!("{name}.inventory"), stdout(&inventory));
}

const OVERLAY: &str = "fixtures/model/overlay-patch";
const REPLACEMENTS: &str = "fixtures/model/replacements";
const ARGO: &str = "fixtures/model/argo-appset";
const FLUX: &str = "fixtures/model/flux-component";

#[test]
fn an_overlay_patch_adds_the_backup() {
    let report = json_report(Path::new(OVERLAY), &[]);
    let base = "base/cluster.yaml".to_string();
    let patch = "overlays/prod/backup-patch.yaml".to_string();
    assert_eq!(
        findings(&report),
        vec![
            ("cnpg-credentials-missing".into(), "prod/app-db".into(), patch),
            ("cnpg-no-wal-archive".into(), "staging/app-db".into(), base),
        ],
        "prod archives WAL through its patch (and the patch's Secret is not deployed); staging has no backup"
    );
    let related = related(&report);
    assert!(related.iter().any(|m| m.contains("patched by") && m.contains("backup-patch.yaml")), "{related:?}");
    assert!(related.iter().any(|m| m == "patched by an inline patch"), "{related:?}");
    assert!(unreached(OVERLAY).iter().any(|u| u.contains("secret.yaml") && u.contains("not listed by")));
    snapshots("overlay-patch", OVERLAY);
}

#[test]
fn replacements_and_name_prefix_name_the_claims() {
    let report = json_report(Path::new(REPLACEMENTS), &[]);
    let pvc = "pvc.yaml".to_string();
    let rs = "replicationsource.yaml".to_string();
    assert_eq!(
        findings(&report),
        vec![
            ("pvc-backup-source-missing".into(), "photos/photos-thumbnails".into(), rs),
            ("pvc-unprotected".into(), "photos/photos-thumbnails".into(), pvc),
        ],
        "library and cache get their claim names from replacements; thumbnails' hand-written name misses the prefix"
    );
    snapshots("replacements", REPLACEMENTS);
}

#[test]
fn argo_cd_applications_and_an_application_set_with_an_exclude() {
    let report = json_report(Path::new(ARGO), &[]);
    assert_eq!(
        findings(&report),
        vec![
            // A matrix of a clusters generator (unknown here) and git directories.
            ("pvc-unprotected".into(), "cache/cache-data".into(), "shared/cache/pvc.yaml".to_string()),
            ("pvc-unprotected".into(), "databases/db-data".into(), "standalone/db/pvc.yaml".to_string()),
            // The chart is rendered: its PVC (enabled by the in-repo value file).
            ("pvc-unprotected".into(), "media/media".into(), "charts/media/templates/pvc.yaml".to_string()),
            ("pvc-unprotected".into(), "photos/photos-data".into(), "apps/photos/pvc.yaml".to_string()),
            // A recursive directory source; its excluded `old/` is not deployed.
            ("pvc-unprotected".into(), "tools/tools-data".into(), "standalone/tools/jobs/pvc.yaml".to_string()),
        ],
        "notes is backed up; legacy is excluded from the generator, so not deployed; db takes the \
         Application's kustomize namePrefix and namespace; media's claim comes from an in-repo value file"
    );
    // `upstream-photos` points at another repository's apps/photos: not
    // built from this one (no `upstream/photos-data`).
    let related = related(&report);
    assert!(related.iter().any(|m| m == "deployed by Argo CD Application `photos`"), "{related:?}");
    assert!(related.iter().any(|m| m == "rendered by Argo CD ApplicationSet `apps`"), "{related:?}");
    let unreached = unreached(ARGO);
    assert_eq!(unreached.len(), 2, "{unreached:?}");
    assert!(unreached.iter().any(|u| u.contains("apps/legacy/pvc.yaml")), "{unreached:?}");
    assert!(unreached.iter().any(|u| u.contains("standalone/tools/old/pvc.yaml")), "{unreached:?}");
    snapshots("argo-appset", ARGO);
}

#[test]
fn a_flux_component_is_instantiated_with_its_variables_and_the_dead_copy_is_not() {
    let report = json_report(Path::new(FLUX), &[]);
    assert_eq!(findings(&report), Vec::new(), "the component's Cluster is fully backed up once substituted");
    let out = run(&["inventory", FLUX, "--format", "json"]);
    let inventory: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inventory JSON parses");
    let items = inventory["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2, "{items:?}");
    let cluster = items.iter().find(|i| i["kind"] == "CNPG Cluster").expect("the component's Cluster");
    assert_eq!(cluster["namespace"], "wiki", "targetNamespace");
    assert_eq!(cluster["name"], "wiki-postgres", "${{APP}} substituted");
    let protection = cluster["protection"].to_string();
    assert!(
        protection.contains("s3://homelab-backups/wiki"),
        "a variable substituted by the parent first: {protection}"
    );
    assert!(unreached(FLUX).iter().any(|u| u.contains("archive/old-wiki-cluster.yaml")));
    // Another Kustomization's namePrefix and commonMetadata: the claim is
    // renamed and excluded, with the reason its annotation gives.
    let cache = items.iter().find(|i| i["kind"] == "PVC").expect("the scratch claim");
    assert_eq!((&cache["namespace"], &cache["name"]), (&"scratch".into(), &"scratch-cache".into()));
    assert_eq!(cache["excluded"], "build cache, rebuilt from the registry");
    snapshots("flux-component", FLUX);
}

#[test]
fn a_value_from_an_inline_patch_points_into_the_kustomization() {
    // The same overlay, with the inline JSON 6902 patch adding a retention
    // CNPG rejects: the finding points at the value inside the block scalar.
    let dir = tempfile::tempdir().expect("a temporary directory");
    for rel in ["base/kustomization.yaml", "base/cluster.yaml", "overlays/prod/backup-patch.yaml"] {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().expect("a parent")).expect("mkdir");
        std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join(OVERLAY).join(rel), &to).expect("copy");
    }
    let kustomization = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(OVERLAY).join("overlays/prod/kustomization.yaml"),
    )
    .expect("read")
    .replace("  - scheduledbackup.yaml\n", "")
    .replace("value: 30d", "value: 30days");
    std::fs::write(dir.path().join("overlays/prod/kustomization.yaml"), &kustomization).expect("write");
    let report = json_report(dir.path(), &["--select", "cnpg-retention-invalid"]);
    let f = &report["findings"][0];
    assert!(f["file"].as_str().is_some_and(|p| p.ends_with("overlays/prod/kustomization.yaml")), "{f}");
    let line = kustomization.lines().position(|l| l.contains("value: 30days")).map(|i| i + 1);
    let column =
        kustomization.lines().find(|l| l.contains("value: 30days")).and_then(|l| l.find("30days")).map(|c| c + 1);
    assert_eq!((f["line"].as_u64(), f["column"].as_u64()), (line.map(|l| l as u64), column.map(|c| c as u64)), "{f}");
    assert_eq!(f["end_column"].as_u64(), column.map(|c| c as u64 + 6));
}

#[test]
fn two_overlays_of_one_base_in_one_namespace_are_two_instances() {
    // Told apart by their namePrefix only: both claims are inventoried.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    for (rel, text) in [
        ("base/kustomization.yaml", "resources: [pvc.yaml]\n"),
        ("base/pvc.yaml", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\n"),
        ("a/kustomization.yaml", "namespace: apps\nnamePrefix: a-\nresources: [../base]\n"),
        ("b/kustomization.yaml", "namespace: apps\nnamePrefix: b-\nresources: [../base]\n"),
    ] {
        std::fs::create_dir_all(d.join(rel).parent().expect("a parent")).expect("mkdir");
        std::fs::write(d.join(rel), text).expect("write");
    }
    let report = json_report(d, &["--select", "pvc-unprotected"]);
    let names: Vec<String> = findings(&report).into_iter().map(|(_, name, _)| name).collect();
    assert_eq!(names, vec!["apps/a-data".to_string(), "apps/b-data".to_string()]);
}

#[test]
fn flux_kustomizations_that_deploy_each_other_are_still_expanded() {
    // `a` deploys apps/ (which holds `b`), `b` deploys clusters/ (which holds
    // `a`): each is produced by the other, neither is on top.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    let ks = |name: &str, path: &str| {
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: {name}, namespace: flux-system}}\nspec:\n  path: {path}\n  targetNamespace: media\n")
    };
    for (rel, text) in [
        ("clusters/a.yaml", ks("a", "./apps")),
        ("apps/b.yaml", ks("b", "./clusters")),
        ("apps/pvc.yaml", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: library}\n".to_string()),
    ] {
        std::fs::create_dir_all(d.join(rel).parent().expect("a parent")).expect("mkdir");
        std::fs::write(d.join(rel), text).expect("write");
    }
    let report = json_report(d, &["--select", "pvc-unprotected"]);
    let names: Vec<String> = findings(&report).into_iter().map(|(_, name, _)| name).collect();
    assert_eq!(names, vec!["media/library".to_string()]);
}

#[test]
fn a_flux_kustomization_whose_source_is_another_repository_deploys_nothing_here() {
    // `app` reads ./deploy of github.com/other/app; this repository's own
    // deploy/ is another directory altogether.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    let git = |name: &str, url: &str| {
        format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {{name: {name}, namespace: flux-system}}\nspec: {{url: \"{url}\"}}\n")
    };
    let ks = |name: &str, path: &str, source: &str| {
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: {name}, namespace: flux-system}}\nspec:\n  path: {path}\n  targetNamespace: apps\n  sourceRef: {{kind: GitRepository, name: {source}}}\n")
    };
    for (rel, text) in [
        (
            "clusters/main/sync.yaml",
            format!(
                "{}---\n{}",
                git("flux-system", "ssh://git@github.com/me/home.git"),
                ks("flux-system", "./clusters/main", "flux-system")
            ),
        ),
        (
            "clusters/main/app.yaml",
            format!("{}---\n{}", git("upstream", "https://github.com/other/app"), ks("app", "./deploy", "upstream")),
        ),
        ("clusters/main/mine.yaml", ks("mine", "./mine", "flux-system")),
        ("deploy/pvc.yaml", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: theirs}\n".to_string()),
        ("mine/pvc.yaml", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: ours}\n".to_string()),
    ] {
        std::fs::create_dir_all(d.join(rel).parent().expect("a parent")).expect("mkdir");
        std::fs::write(d.join(rel), text).expect("write");
    }
    let report = json_report(d, &["--select", "pvc-unprotected"]);
    let names: Vec<String> = findings(&report).into_iter().map(|(_, name, _)| name).collect();
    assert_eq!(names, vec!["apps/ours".to_string()], "deploy/ here is not what `app` deploys");
    let out = run(&["check", &d.to_string_lossy(), "--verbose", "--fail-on", "never"]);
    let text = stdout(&out);
    assert!(
        text.contains("its source GitRepository `upstream` (https://github.com/other/app) is another repository"),
        "{text}"
    );
    assert!(
        text.contains("PersistentVolumeClaim theirs") && text.contains("not deployed by any Flux Kustomization"),
        "{text}"
    );
    // Without --verbose the summary still says there is something to read.
    let quiet = stdout(&run(&["check", &d.to_string_lossy(), "--fail-on", "never"]));
    assert!(quiet.contains("1 note on what lifeboat could not follow (--verbose lists them)."), "{quiet}");
}

#[test]
fn helm_values_from_a_generated_config_map_are_read_where_they_are_written() {
    // values.yaml becomes a ConfigMap through configMapGenerator; the
    // HelmRelease reads it with valuesFrom and overrides the size inline.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    for (rel, text) in [
        (
            "app/kustomization.yaml",
            "namespace: media\nresources: [helmrelease.yaml]\nconfigMapGenerator:\n  - name: jellyfin-values\n    files: [values.yaml]\n",
        ),
        (
            "app/helmrelease.yaml",
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: jellyfin}\nspec:\n  valuesFrom:\n    - kind: ConfigMap\n      name: jellyfin-values\n  values:\n    persistence:\n      size: 30Gi\n",
        ),
        ("app/values.yaml", "image: {tag: 10.10}\npersistence:\n  enabled: true\n  size: 10Gi\n"),
    ] {
        std::fs::create_dir_all(d.join(rel).parent().expect("a parent")).expect("mkdir");
        std::fs::write(d.join(rel), text).expect("write");
    }
    let out = run(&["inventory", &d.to_string_lossy(), "--format", "json"]);
    let inventory: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inventory JSON parses");
    let items = inventory["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{items:?}");
    let item = &items[0];
    assert_eq!(
        (&item["kind"], &item["namespace"], &item["name"]),
        (&"Helm persistence".into(), &"media".into(), &"jellyfin".into())
    );
    assert_eq!(item["size"], "30Gi", "the inline values win over valuesFrom");
    assert!(item["file"].as_str().is_some_and(|f| f.ends_with("app/values.yaml")), "{item}");
    assert_eq!(item["line"], 2, "points at `persistence:` in values.yaml");
}

#[test]
fn substitute_from_a_generated_config_map() {
    // cluster-settings comes from a configMapGenerator literal (known) and
    // env-settings from a .env file lifeboat does not read (unknown: no
    // variable is called undefined for it).
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    let ks = |name: &str, path: &str, from: &str| {
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: {name}, namespace: flux-system}}\nspec:\n  path: {path}\n  targetNamespace: db\n  postBuild:\n    substituteFrom:\n      - {{kind: ConfigMap, name: {from}}}\n")
    };
    let cluster = |name: &str| {
        format!("apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {{name: {name}}}\nspec:\n  instances: 1\n  backup:\n    retentionPolicy: 30d\n    barmanObjectStore:\n      destinationPath: ${{BUCKET}}/{name}\n")
    };
    for (rel, text) in [
        (
            "clusters/main/kustomization.yaml",
            "namespace: flux-system\nresources: [apps.yaml]\ngeneratorOptions: {disableNameSuffixHash: true}\nconfigMapGenerator:\n  - name: cluster-settings\n    literals: [BUCKET=s3://generated-bucket]\n  - name: env-settings\n    envs: [settings.env]\n".to_string(),
        ),
        ("clusters/main/apps.yaml", format!("{}---\n{}", ks("one", "./apps/one", "cluster-settings"), ks("two", "./apps/two", "env-settings"))),
        ("apps/one/cluster.yaml", cluster("one")),
        ("apps/two/cluster.yaml", cluster("two")),
    ] {
        std::fs::create_dir_all(d.join(rel).parent().expect("a parent")).expect("mkdir");
        std::fs::write(d.join(rel), text).expect("write");
    }
    let out = run(&["inventory", &d.to_string_lossy(), "--format", "json"]);
    let inventory: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inventory JSON parses");
    let protection = inventory["items"].to_string();
    assert!(protection.contains("s3://generated-bucket/one"), "{protection}");
    let report = json_report(d, &["--select", "flux-substitution-undefined"]);
    assert_eq!(findings(&report), Vec::new(), "env-settings' values are unknown, not missing");
}

#[test]
fn substitution_sources_the_repository_does_not_hold_are_unknown_not_undefined() {
    let tree = "fixtures/model/substitute-sources";
    let report = json_report(Path::new(tree), &[]);
    let undefined: Vec<String> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["rule"] == "flux-substitution-undefined")
        .map(|f| f["message"].as_str().unwrap_or("").chars().take(120).collect())
        .collect();
    // Only the variable no source can provide: not one from a Secret an
    // ExternalSecret makes, nor from a missing optional ConfigMap, nor a key
    // of the SOPS Secret.
    // And one the templated ExternalSecret's Secret does not hold.
    assert_eq!(undefined.len(), 2, "{undefined:?}");
    assert!(undefined
        .iter()
        .any(|u| u.starts_with("`${SECRET_TYPO}` has no value: Flux Kustomization `flux-system/sops`")));
    assert!(undefined
        .iter()
        .any(|u| u.starts_with("`${SECRET_SMTP_PORT}` has no value: Flux Kustomization `flux-system/templated`")));
    let f = &report["findings"][0];
    assert_eq!((f["file"].as_str(), f["line"].as_u64()), (Some("app/configmap.yaml"), Some(7)));
    // A value the ExternalSecret's template writes literally is known.
    let out = run(&["inventory", tree, "--format", "json"]);
    let items = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(items.contains("NFS nas.example.lan:/export/mail"), "{items}");
    snapshots("substitute-sources", tree);
}

#[test]
fn storage_of_operators_lifeboat_does_not_model_is_listed_not_judged() {
    let tree = "fixtures/model/unmodelled-storage";
    // Elasticsearch's claim templates and MongoDBCommunity's default claims
    // are listed with where they are asked for; a pod volume that mounts an
    // existing claim, and persistence switched off, ask for nothing.
    let listed = |v: &serde_json::Value| -> Vec<(String, String)> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|u| (u["name"].as_str().unwrap_or("").to_string(), u["at"].as_str().unwrap_or("").to_string()))
            .collect()
    };
    let expected = vec![
        ("apps/chat".to_string(), String::new()),
        ("auth/auth-db".to_string(), String::new()),
        ("elastic/logs".to_string(), "spec.nodeSets[0].volumeClaimTemplates".to_string()),
    ];
    let out = run(&["inventory", tree, "--format", "json"]);
    let inv: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inventory JSON");
    assert_eq!(listed(&inv["unmodelledStorage"]), expected, "{inv}");
    assert_eq!(inv["summary"]["unmodelledStorage"], 3);
    assert_eq!(inv["summary"]["unprotected"], 0, "not judged is not unprotected");
    let report = json_report(Path::new(tree), &[]);
    assert_eq!(listed(&report["unmodelledStorage"]), expected, "{report}");
    assert!(report["findings"].as_array().is_some_and(Vec::is_empty), "{}", report["findings"]);
    snapshots("unmodelled-storage", tree);
}

#[test]
fn kustomize_plugins_set_namespaces_and_ksops_files_are_read() {
    let tree = "fixtures/model/kustomize-plugins";
    // A NamespaceTransformer built by its own kustomization moves the apps
    // into `media` and writes the Flux Kustomizations' targetNamespace;
    // KSOPS's file defines the database's S3 Secret; a plugin lifeboat does
    // not run is noted.
    let report = json_report(Path::new(tree), &[]);
    assert_eq!(
        findings(&report),
        vec![("pvc-unprotected".into(), "media/thumbnails".into(), "apps/media/cache/app/pvc.yaml".into())],
        "{report}"
    );
    let notes: Vec<&str> =
        report["notes"].as_array().into_iter().flatten().filter_map(|n| n["message"].as_str()).collect();
    assert!(
        notes.iter().any(|n| n.starts_with("transformer Frobnicator `frob` (`example.com/v1`) is a plugin")),
        "{notes:?}"
    );
    assert_eq!(report["summary"]["notes"].as_u64(), Some(notes.len() as u64));
    let out = run(&["inventory", tree, "--format", "json"]);
    let inv: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inventory JSON");
    let items: Vec<String> = inv["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| format!("{}/{}", i["namespace"].as_str().unwrap_or(""), i["name"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(items, vec!["media/thumbnails", "media/vault-db"], "{inv}");
    assert!(unreached(tree).is_empty(), "the transformer's files are inputs, not undeployed documents");
    snapshots("kustomize-plugins", tree);
}

#[test]
fn a_json6902_add_makes_the_maps_above_it_as_kustomize_does() {
    // `add /metadata/annotations/lifeboat.dev~1exclude` on a claim with no
    // annotations: kustomize makes the map, so the exclusion holds.
    let tree = "fixtures/model/json6902-add-parent";
    let report = json_report(Path::new(tree), &[]);
    assert_eq!(findings(&report), Vec::new(), "{report}");
    assert!(report["notes"].as_array().is_some_and(Vec::is_empty), "{}", report["notes"]);
}
