//! Entry points, clusters and selectors on fixture trees shaped like real
//! repositories (`fixtures/roots/`): a `flux bootstrap` layout, a
//! FluxInstance, a flux-instance HelmRelease, a root over subdirectories
//! that deploys itself beside an OCIRepository of upstream manifests, two
//! clusters sharing a base, a `notin` patch target, and `roots:` naming the
//! wrong directory. Each asserts what is deployed and found, and snapshots
//! the real binary's output.

mod common;

use common::{json_report, run, stdout};
use std::path::Path;

/// `(rule, [cluster:]namespace/name)` of every finding, sorted.
fn findings(tree: &str) -> Vec<(String, String)> {
    common::finding_keys(&json_report(Path::new(tree), &[]))
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

fn unreached(tree: &str) -> Vec<String> {
    let out = run(&["inventory", tree, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inventory JSON parses");
    report["unreached"].as_array().into_iter().flatten().filter_map(|u| u.as_str().map(str::to_string)).collect()
}

fn summary(tree: &str) -> serde_json::Value {
    json_report(Path::new(tree), &[])["summary"].clone()
}

fn snapshots(name: &str, tree: &str) {
    let human = run(&["check", tree, "--verbose", "--fail-on", "never"]);
    insta::assert_snapshot!(format!("{name}.check"), stdout(&human));
    let inventory = run(&["inventory", tree]);
    insta::assert_snapshot!(format!("{name}.inventory"), stdout(&inventory));
}

#[test]
fn flux_bootstrap_deploys_what_gotk_sync_reaches_and_not_an_unlisted_ks() {
    let tree = "fixtures/roots/bootstrap";
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "wiki/wiki-data")]));
    let roots = summary(tree)["roots"].clone();
    assert_eq!(roots[0]["root"], "Flux Kustomization `flux-system/flux-system`", "{roots}");
    let u = unreached(tree);
    assert!(
        u.iter().any(|u| u.starts_with("Kustomization scratch") && u.contains("no entry point deploys")),
        "the unlisted ks.yaml is not a root: {u:?}"
    );
    assert!(u.iter().any(|u| u.starts_with("PersistentVolumeClaim scratch-data")), "{u:?}");
    // Notes on what lifeboat could not follow: the deployed wiki's remote
    // base; not the undeployed scratch app's missing file.
    let notes: Vec<String> = json_report(Path::new(tree), &[])["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| format!("{}: {}", n["file"].as_str().unwrap_or(""), n["message"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes.iter().all(|n| n.starts_with("apps/wiki/app/kustomization.yaml: remote base")), "{notes:?}");
    snapshots("bootstrap", tree);
}

#[test]
fn a_flux_instance_is_the_entry_point() {
    let tree = "fixtures/roots/flux-instance";
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "media/media-config")]));
    assert_eq!(summary(tree)["roots"][0]["root"], "FluxInstance `flux-system/flux`");
    assert!(unreached(tree).iter().any(|u| u.starts_with("PersistentVolumeClaim old-data")));
    snapshots("flux-instance", tree);
}

#[test]
fn a_flux_instance_helm_release_is_the_entry_point_and_a_commented_out_ks_is_not_deployed() {
    let tree = "fixtures/roots/flux-instance-helm";
    assert_eq!(findings(tree), pairs(&[("cnpg-no-wal-archive", "db/postgres")]));
    assert_eq!(summary(tree)["roots"][0]["root"], "HelmRelease `flux-instance` (flux-instance chart)");
    let u = unreached(tree);
    assert!(
        u.iter().any(|u| u.starts_with("Kustomization games") && u.contains("not listed by")),
        "the commented-out line leaves games undeployed, and says where: {u:?}"
    );
    snapshots("flux-instance-helm", tree);
}

#[test]
fn a_kustomization_of_another_repositorys_git_source_deploys_nothing_here() {
    let tree = "fixtures/roots/foreign-git-source";
    // Before: the flux-instance release's URL was not read as this
    // repository's, so `multus-crd` built this repository's root.
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "wiki/wiki-data")]));
    let notes = json_report(Path::new(tree), &[])["notes"].to_string();
    assert!(
        notes.contains("its source GitRepository `multus-crd`") && notes.contains("is another repository"),
        "{notes}"
    );
    // Without an entry point: `multus-crd` is not the source most
    // Kustomizations deploy from (`flux-system`).
    let dir = tempfile::tempdir().expect("temp dir");
    for rel in ["apps/kustomization.yaml", "apps/net/crd.yaml", "apps/wiki/pvc.yaml", "flux/ks.yaml", "hack/pvc.yaml"] {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().expect("a parent")).expect("mkdir");
        std::fs::copy(Path::new(tree).join(rel), &to).expect("copy");
    }
    let guessed = common::finding_keys(&json_report(dir.path(), &[]));
    assert_eq!(guessed, pairs(&[("pvc-unprotected", "wiki/wiki-data")]));
    snapshots("foreign-git-source", tree);
}

#[test]
fn an_archived_cluster_whose_path_only_ends_a_directory_deploys_nothing() {
    let tree = "fixtures/roots/archived-cluster";
    // Before: `path: ./clusters/old` was matched to `archive/clusters/old`
    // by its end, and the archived PVC was flagged in a cluster `old`.
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "home:wiki/wiki-data")]));
    assert!(unreached(tree).iter().any(|u| u.starts_with("PersistentVolumeClaim legacy-data")));
    let notes = json_report(Path::new(tree), &[])["notes"].to_string();
    assert!(
        notes.contains("path `./clusters/old` is not a directory lifeboat read (`archive/clusters/old` ends with it"),
        "{notes}"
    );
    snapshots("archived-cluster", tree);
}

#[test]
fn a_root_over_subdirectories_deploys_itself_and_an_oci_sibling_deploys_nothing_here() {
    let tree = "fixtures/roots/self-deploying";
    // Before: the OCIRepository's `path: ./` built the whole repository and
    // the real root was lost; only the commented-out app was linted.
    assert_eq!(
        findings(tree),
        pairs(&[("cnpg-no-wal-archive", "db/postgres"), ("pvc-unprotected", "media/media-config")])
    );
    let report = run(&["check", tree, "--verbose", "--fail-on", "never"]);
    assert!(stdout(&report).contains("its source OCIRepository `flux-manifests`"), "{}", stdout(&report));
    assert!(unreached(tree).iter().any(|u| u.starts_with("Kustomization legacy")));
    snapshots("self-deploying", tree);
}

#[test]
fn two_clusters_are_linted_each_on_its_own() {
    let tree = "fixtures/roots/multi-cluster";
    // main's ReplicationSource does not cover staging's claim of the same name.
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "staging:gitea/gitea-data")]));
    let s = summary(tree);
    assert_eq!(s["clusters"], serde_json::json!(["main", "staging"]));
    let report = json_report(Path::new(tree), &[]);
    let message = report["findings"][0]["message"].as_str().unwrap_or("");
    assert!(message.starts_with("[cluster `staging`]"), "{message}");
    let inventory = stdout(&run(&["inventory", tree, "--format", "json"]));
    assert!(inventory.contains("\"cluster\": \"staging\""), "{inventory}");
    // The entry points have one name: each says its cluster.
    let u = unreached(tree);
    assert!(
        u.iter().any(|u| u.starts_with("Kustomization old-app")
            && u.contains("of cluster `main`")
            && u.contains("of cluster `staging`")),
        "{u:?}"
    );
    snapshots("multi-cluster", tree);
}

#[test]
fn a_notin_patch_target_selects_what_kubernetes_selects() {
    let tree = "fixtures/roots/notin-target";
    let found = findings(tree);
    // `tier notin (scratch)`: orders-db (prod) and audit-db (no tier: a
    // missing key matches notin) archive WAL; scratch-db does not.
    assert!(found.contains(&("cnpg-no-wal-archive".into(), "shop/scratch-db".into())), "{found:?}");
    for archived in ["shop/orders-db", "shop/audit-db"] {
        assert!(!found.contains(&("cnpg-no-wal-archive".into(), archived.into())), "{archived}: {found:?}");
        assert!(found.contains(&("cnpg-no-scheduled-backup".into(), archived.into())), "{archived}: {found:?}");
    }
    snapshots("notin-target", tree);
}

#[test]
fn roots_that_deploy_little_are_said_in_every_format_and_fail_the_run() {
    let tree = "fixtures/roots/wrong-roots";
    let s = summary(tree);
    assert!(s["partial"]["message"].as_str().unwrap_or("").contains("linted only part"), "{s}");
    assert_eq!(s["partial"]["not_deployed"], 3);
    let human = run(&["check", tree]);
    let text = stdout(&human);
    assert!(text.starts_with("warning: lifeboat linted only part of this repository: 3 of 4"), "{text}");
    assert!(text.contains("root `clusters/home/infra` (.lifeboat.yaml)") && text.contains("roots:"), "{text}");
    assert_eq!(human.status.code(), Some(1), "a partial run is a warning under the default --fail-on");
    assert_eq!(run(&["check", tree, "--fail-on", "error"]).status.code(), Some(0));
    let github = stdout(&run(&["check", tree, "--format", "github"]));
    assert!(github.starts_with("::warning title=lifeboat partial model::"), "{github}");
    let sarif: serde_json::Value =
        serde_json::from_slice(&run(&["check", tree, "--format", "sarif"]).stdout).expect("SARIF parses");
    let notes = &sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    assert_eq!(notes[0]["level"], "warning", "{sarif}");
    snapshots("wrong-roots", tree);
    // No corpus-shaped fixture warns.
    for quiet in ["fixtures/roots/bootstrap", "fixtures/roots/multi-cluster", "examples/homelab"] {
        assert!(summary(quiet)["partial"].is_null(), "{quiet} should not warn");
    }
}

#[test]
fn a_root_that_names_nothing_is_a_config_error_with_its_line() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = dir.path().join(".lifeboat.yaml");
    std::fs::write(&config, "rules: {}\nroots:\n  - nowhere/at-all\n").expect("write config");
    std::fs::write(dir.path().join("pvc.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
        .expect("write manifest");
    let out = run(&["check", &dir.path().to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(err.contains(".lifeboat.yaml:3:5") && err.contains("root `nowhere/at-all`"), "{err}");
    std::fs::write(&config, "roots:\n  - {path: a, name: b}\n").expect("write config");
    let err = common::stderr(&run(&["check", &dir.path().to_string_lossy()]));
    assert!(err.contains(":2:") && err.contains("one `path` or one `name`"), "{err}");
}

#[test]
fn argo_applications_land_on_their_destination_cluster() {
    let tree = "fixtures/roots/argo-destinations";
    // The in-cluster ReplicationSource does not cover edge's claim.
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "edge:wiki/wiki-data")]));
    assert_eq!(summary(tree)["clusters"], serde_json::json!(["edge", "in-cluster"]));
    snapshots("argo-destinations", tree);
}

#[test]
fn clusters_keep_their_own_names_and_a_local_dev_cluster_is_excluded_with_its_reason() {
    let tree = "fixtures/roots/dev-cluster";
    // Three FluxInstances all named `flux`: the clusters are named by their
    // sync paths (`kubernetes/main/flux` is `main`), not merged as one.
    assert_eq!(
        findings(tree),
        pairs(&[("pvc-unprotected", "main:wiki/wiki-data"), ("pvc-unprotected", "utility:registry/registry-data")])
    );
    let out = run(&["inventory", tree, "--format", "json"]);
    let inv: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inventory JSON parses");
    let dev: Vec<&serde_json::Value> =
        inv["items"].as_array().into_iter().flatten().filter(|i| i["cluster"] == "devenv").collect();
    assert_eq!(dev.len(), 1, "{inv}");
    let reason = dev[0]["excluded"].as_str().unwrap_or_default();
    assert!(reason.contains("local development cluster") && reason.contains("oci://kind-registry:5000"), "{inv}");
    snapshots("dev-cluster", tree);
}

#[test]
fn a_kustomization_of_another_repository_without_a_path_deploys_nothing_here() {
    // The own source is `home-ops-kubernetes` (not `flux-system`): the one
    // most Kustomizations deploy from. `gateway-api` builds the root of
    // github.com/kubernetes-sigs/gateway-api, not of this repository, so
    // `_archive/` stays undeployed.
    let tree = "fixtures/roots/external-source";
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "network/unifi-data")]));
    assert!(unreached(tree).iter().any(|u| u.starts_with("PersistentVolumeClaim old-data")), "{:?}", unreached(tree));
}

#[test]
fn an_application_set_written_as_argocd_apps_values_is_the_entry_point() {
    // Nothing but the argocd-apps values of system/argocd deploys apps/*;
    // the hand-applied benchmark under test/ is not deployed. The app
    // charts render nothing themselves (values of remote dependencies
    // only), and still count as sources in this repository.
    let tree = "fixtures/roots/argocd-apps-values";
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "auth/auth"), ("pvc-unprotected", "wiki")]));
    assert!(unreached(tree).iter().any(|u| u.starts_with("PersistentVolumeClaim dbench")), "{:?}", unreached(tree));
    snapshots("argocd-apps-values", tree);
}

#[test]
fn a_flux_instance_helm_release_with_its_values_in_a_generated_config_map_is_the_entry_point() {
    let tree = "fixtures/roots/flux-instance-values-from";
    assert_eq!(findings(tree), pairs(&[("cnpg-no-wal-archive", "db/postgres")]));
    let s = summary(tree);
    assert_eq!(s["roots"].as_array().map(Vec::len), Some(1), "{s}");
    assert_eq!(s["roots"][0]["root"], "HelmRelease `flux-instance` (flux-instance chart)");
    assert!(unreached(tree).iter().any(|u| u.starts_with("Kustomization games")), "games is not a root");
    snapshots("flux-instance-values-from", tree);
}

#[test]
fn without_an_entry_point_roots_are_guessed_in_the_summary_and_an_unlisted_ks_is_not_one() {
    let tree = "fixtures/roots/no-entry-point";
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "media/media-data")]), "games is not deployed");
    let s = summary(tree);
    assert_eq!(s["roots_from"], "guessed", "{s}");
    assert_eq!(s["roots"].as_array().map(Vec::len), Some(1), "{s}");
    let u = unreached(tree);
    assert!(
        u.iter()
            .any(|u| u.starts_with("Kustomization games")
                && u.contains("not listed by kubernetes/apps/kustomization.yaml")),
        "{u:?}"
    );
    let human = run(&["check", tree, "--fail-on", "never"]);
    assert!(stdout(&human).contains("Roots guessed: no Flux entry point found"), "said without --verbose");
    let sarif = run(&["check", tree, "--format", "sarif", "--fail-on", "never"]);
    assert!(stdout(&sarif).contains("roots-guessed"));
    snapshots("no-entry-point", tree);
}

#[test]
fn a_flux_instance_release_is_the_entry_point_beside_an_upstream_git_repository() {
    let tree = "fixtures/roots/flux-instance-beside-upstream-source";
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "default/a-data")]));
    let s = summary(tree);
    assert_eq!(s["roots_from"], "bootstrap", "{s}");
    assert!(unreached(tree).iter().any(|u| u.starts_with("PersistentVolumeClaim old-data")), "old is not deployed");
}

#[test]
fn a_chart_of_applications_nothing_deploys_is_the_guessed_argo_root() {
    let tree = "fixtures/roots/argo-app-of-apps-chart";
    assert_eq!(
        findings(tree),
        pairs(&[("pvc-unprotected", "bar/bar-data")]),
        "foo-data is Velero's, tests/ is not deployed"
    );
    assert_eq!(summary(tree)["roots_from"], "guessed");
    assert!(unreached(tree).iter().any(|u| u.starts_with("PersistentVolumeClaim test-claim")));
    let human = run(&["check", tree, "--fail-on", "never"]);
    assert!(
        stdout(&human)
            .contains("Roots guessed: no Argo CD Application in the repository deploys chart `bootstrap/root`"),
        "{}",
        stdout(&human)
    );
    snapshots("argo-app-of-apps-chart", tree);
}

#[test]
fn applications_generated_alike_from_one_document_by_two_patched_builds_are_each_expanded() {
    let tree = "fixtures/roots/argo-patched-appsets";
    assert_eq!(findings(tree), pairs(&[]), "each cluster's ReplicationSource covers its claim; no shared repository");
    assert_eq!(summary(tree)["clusters"], serde_json::json!(["cloud", "home"]), "one Argo CD per cluster");
    let out = run(&["inventory", tree, "--format", "json"]);
    let inventory: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let items: Vec<(String, String)> = inventory["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| (i["cluster"].as_str().unwrap_or("").into(), i["name"].as_str().unwrap_or("").into()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(items, pairs(&[("cloud", "data-cloud"), ("home", "data-home")]));
    assert!(unreached(tree).is_empty(), "{:?}", unreached(tree));
}

#[test]
fn a_depends_on_that_no_entry_point_deploys_is_said() {
    let tree = "fixtures/roots/unmet-depends-on";
    let notes = json_report(Path::new(tree), &[])["notes"].to_string();
    assert!(notes.contains("depends on `flux-system/cnpg`, which this entry point does not deploy"), "{notes}");
    // Said once, on the one unmet entry.
    assert_eq!(notes.matches("which this entry point does not deploy").count(), 1, "{notes}");
}

#[test]
fn an_entry_point_whose_sync_path_is_missing_is_named_when_roots_are_guessed() {
    let tree = "fixtures/roots/flux-instance-path-missing";
    let s = summary(tree);
    assert_eq!(s["roots_from"], "guessed", "{s}");
    let human = stdout(&run(&["check", tree, "--fail-on", "never"]));
    assert!(
        human.contains("Roots guessed: the Flux entry point, HelmRelease `flux-instance`")
            && human.contains("path `kubernetes/flux/cluster` is not a directory lifeboat read"),
        "{human}"
    );
    assert!(!human.contains("no Flux entry point found"), "{human}");
}

#[test]
fn a_file_a_flux_included_component_does_not_list_is_not_listed() {
    let u = unreached("fixtures/roots/flux-component-unlisted");
    let secret: Vec<&String> = u.iter().filter(|u| u.contains("volsync-backup")).collect();
    assert!(
        matches!(secret.as_slice(), [one] if one.contains("not listed by kubernetes/components/volsync/kustomization.yaml")),
        "{u:?}"
    );
    assert!(!u.iter().any(|u| u.contains("that no kustomization includes")), "{u:?}");
}

#[test]
fn talos_machine_configuration_is_not_a_kubernetes_document() {
    let tree = "fixtures/roots/talos-beside";
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "media/data")]));
    let u = unreached(tree);
    assert!(!u.iter().any(|u| u.contains("HostnameConfig") || u.contains("LinkConfig")), "{u:?}");
    let inventory = run(&["check", tree, "--format", "json", "--fail-on", "never"]);
    let report: serde_json::Value = serde_json::from_slice(&inventory.stdout).expect("json");
    assert_eq!(report["summary"]["resources"], 1, "{}", report["summary"]);
}

#[test]
fn an_application_set_reads_the_json_files_its_git_generator_names() {
    // `apps/**/config.json` (JSON, which lifeboat does not load as YAML):
    // read as Argo CD reads it, so the chart it names is deployed into the
    // namespace the file gives.
    let tree = "fixtures/roots/argo-appset-json-files";
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "foo/foo-data")]));
    assert!(unreached(tree).is_empty(), "{:?}", unreached(tree));
}
