//! Charts the repository keeps are rendered (`fixtures/charts/`): an Argo
//! CD Application of a local umbrella chart with a `file://` subchart, a
//! remote dependency and named templates; an app-of-apps chart whose
//! template ranges over Applications; a Flux HelmRelease of a chart path
//! whose backup template uses a function lifeboat does not know. Each
//! asserts what is found and snapshots the real binary's output.

mod common;

use common::{json_report, run, stdout};
use std::path::Path;

fn findings(tree: &str) -> Vec<(String, String)> {
    common::finding_keys(&json_report(Path::new(tree), &[]))
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

fn inventory(tree: &str) -> serde_json::Value {
    let out = run(&["inventory", tree, "--format", "json"]);
    serde_json::from_slice(&out.stdout).expect("inventory JSON parses")
}

/// The inventory item named `name` (null when there is none).
fn item(inv: &serde_json::Value, name: &str) -> serde_json::Value {
    inv["items"].as_array().into_iter().flatten().find(|i| i["name"] == name).cloned().unwrap_or_default()
}

/// Two fields of every inventory item, in order.
fn fields(inv: &serde_json::Value, a: &str, b: &str) -> Vec<(String, String)> {
    inv["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| (i[a].as_str().unwrap_or("").to_string(), i[b].as_str().unwrap_or("").to_string()))
        .collect()
}

fn snapshots(name: &str, tree: &str) {
    let human = run(&["check", tree, "--verbose", "--fail-on", "never"]);
    insta::assert_snapshot!(format!("{name}.check"), stdout(&human));
    let inventory = run(&["inventory", tree]);
    insta::assert_snapshot!(format!("{name}.inventory"), stdout(&inventory));
}

#[test]
fn a_local_umbrella_chart_is_rendered_with_its_subchart_and_values() {
    let tree = "fixtures/charts/argo-local-chart";
    // The data PVC is backed up by the chart's own ReplicationSource (named
    // by `include "notes.fullname"`); the uploads PVC (20Gi from the
    // Application's valuesObject over the chart's 5Gi) is not; the `db`
    // alias of the file:// pg subchart renders a Cluster without WAL
    // archiving; the remote app-template dependency is not rendered, so its
    // values are read as chart persistence; redis is disabled by its condition.
    assert_eq!(
        findings(tree),
        pairs(&[
            ("cnpg-no-wal-archive", "notes/notes-pg"),
            ("pvc-unprotected", "argocd/notes"),
            ("pvc-unprotected", "notes/notes-uploads"),
        ])
    );
    let inv = inventory(tree);
    let uploads = inv["items"].as_array().into_iter().flatten().find(|i| i["name"] == "notes-uploads").cloned();
    assert_eq!(uploads.as_ref().map(|u| u["size"].clone()), Some(serde_json::json!("20Gi")), "{inv}");
    assert_eq!(uploads.map(|u| u["file"].clone()), Some(serde_json::json!("apps/notes/templates/data-pvc.yaml")));
    let report = json_report(Path::new(tree), &[]);
    assert!(report["summary"]["partial"].is_null(), "every template rendered: {}", report["summary"]);
    // The uploads finding names the app's one ReplicationSource, which backs
    // up another claim.
    let uploads =
        report["findings"].as_array().into_iter().flatten().find(|f| f["resource"]["name"] == "notes-uploads");
    let message = uploads.map(|f| f["message"].to_string()).unwrap_or_default();
    assert!(
        message.contains("ReplicationSource `notes-data`, deployed with it by `notes`, backs up `notes-data`"),
        "{message}"
    );
    snapshots("argo-local-chart", tree);
}

#[test]
fn an_app_of_apps_chart_renders_the_applications_it_deploys() {
    let tree = "fixtures/charts/app-of-apps";
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "wiki/wiki-data")]));
    let unreached = inventory(tree)["unreached"].clone();
    assert!(unreached.to_string().contains("paste-data"), "paste is disabled in the chart's values: {unreached}");
    snapshots("app-of-apps", tree);
}

#[test]
fn a_template_that_cannot_be_rendered_is_named_and_its_chart_is_not_judged() {
    let tree = "fixtures/charts/helmrelease-local";
    // The backup template uses a function the engine does not know: the
    // PVC is not called unprotected (its backup may be what was not
    // rendered), the inventory says "not judged", and the run warns.
    assert_eq!(findings(tree), pairs(&[]));
    let inv = inventory(tree);
    let item = inv["items"].as_array().and_then(|i| i.first()).cloned().unwrap_or_default();
    assert_eq!(item["name"], "recipes-media");
    assert_eq!(item["size"], "3Gi", "the HelmRelease's values win over the chart's");
    assert_eq!(item["app"], "recipes", "the release is the app");
    assert!(item["notJudged"].as_str().is_some_and(|w| w.contains("not fully rendered")), "{item}");
    let report = json_report(Path::new(tree), &[]);
    let partial = &report["summary"]["partial"];
    assert_eq!(partial["unrendered_templates"], 1, "{partial}");
    let human = run(&["check", tree]);
    assert_eq!(human.status.code(), Some(1), "a partly rendered chart is a warning, not a clean pass");
    snapshots("helmrelease-local", tree);
}

#[test]
fn a_subchart_vendored_as_an_archive_is_rendered_as_helm_unpacks_it() {
    let tree = "fixtures/charts/vendored-dependency";
    // Before: "chart dependency `storage` … is not in the repository".
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "food/recipes-data")]));
    let report = json_report(Path::new(tree), &[]);
    let f = &report["findings"][0];
    assert_eq!(f["file"], "charts/recipes/charts/storage-1.0.0.tgz/storage/templates/pvc.yaml", "{f}");
    let item = inventory(tree)["items"][0].clone();
    assert_eq!(item["size"], "3Gi", "the parent's values under `storage:` win: {item}");
    assert!(!report["notes"].to_string().contains("not in the repository"), "{}", report["notes"]);
    // A broken archive: skipped and said, its subchart's contents unknown;
    // never a failed run.
    let dir = tempfile::tempdir().expect("temp dir");
    for rel in [
        "flux-system/gotk-sync.yaml",
        "flux-system/kustomization.yaml",
        "apps/kustomization.yaml",
        "apps/recipes.yaml",
        "charts/recipes/Chart.yaml",
        "charts/recipes/values.yaml",
    ] {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().expect("a parent")).expect("mkdir");
        std::fs::copy(Path::new(tree).join(rel), &to).expect("copy");
    }
    std::fs::create_dir_all(dir.path().join("charts/recipes/charts")).expect("mkdir");
    std::fs::write(dir.path().join("charts/recipes/charts/storage-1.0.0.tgz"), b"\x1f\x8bnot gzip").expect("write");
    let out = run(&["check", &dir.path().to_string_lossy(), "--verbose"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("a chart archive lifeboat could not read"), "{}", stdout(&out));
    let unknown = inventory(&dir.path().to_string_lossy())["unknownCharts"].to_string();
    assert!(unknown.contains("storage"), "{unknown}");
    snapshots("vendored-dependency", tree);
}

#[test]
fn the_chart_catalogue_makes_what_charts_make_from_their_values() {
    let tree = "fixtures/charts/catalogue";
    // vault's defaults (data) and its audit storage; kube-prometheus-stack's
    // Alertmanager (Prometheus' claim is backed up under its exact name);
    // the Velero chart's schedules cover media (by namespace) and wiki (by
    // label), not the disabled one's archive; app-template's cronjob
    // controller backs up `config`, never `buildcache`; the CNPG cluster
    // chart without backups makes a Cluster that does not archive WAL.
    assert_eq!(
        findings(tree),
        pairs(&[
            ("cnpg-no-wal-archive", "db/postgres-cluster"),
            ("pvc-unprotected", "ai/ollama"),
            ("pvc-unprotected", "archive/old-photos"),
            ("pvc-unprotected", "audit/audit-logs-loki"),
            ("pvc-unprotected", "cache/sessions-redis-master"),
            ("pvc-unprotected", "cache/sessions-redis-replicas"),
            ("pvc-unprotected", "cache/tokens-redis-master"),
            ("pvc-unprotected", "ci/oldpecker-server"),
            ("pvc-unprotected", "ci/woodpecker-agent"),
            ("pvc-unprotected", "ci/woodpecker-server"),
            ("pvc-unprotected", "code/gitea-postgresql-ha-postgresql"),
            ("pvc-unprotected", "code/gitea-shared-storage"),
            ("pvc-unprotected", "dev/forge"),
            ("pvc-unprotected", "files/cloud-redis-master"),
            ("pvc-unprotected", "forge10/gitea-postgresql"),
            ("pvc-unprotected", "forge10/gitea-shared-storage"),
            ("pvc-unprotected", "forge12/forgejo-postgresql-ha-postgresql"),
            ("pvc-unprotected", "forge12/gitea-shared-storage"),
            ("pvc-unprotected", "git/forgejo-data"),
            ("pvc-unprotected", "gitops/konflate-cache"),
            ("pvc-unprotected", "harbor/harbor-jobservice"),
            ("pvc-unprotected", "harbor/harbor-redis"),
            ("pvc-unprotected", "harbor/harbor-trivy"),
            ("pvc-unprotected", "identity/authentik-postgresql"),
            ("pvc-unprotected", "iot/mosquitto"),
            ("pvc-unprotected", "ledger/ledger-db"),
            ("pvc-unprotected", "logs/loki"),
            ("pvc-unprotected", "logs/loki-mid"),
            ("pvc-unprotected", "logs/loki-s3-backend"),
            ("pvc-unprotected", "metrics-a/vmsingle-vm-victoria-metrics-k8s-stack"),
            ("pvc-unprotected", "metrics-p/prometheus-alertmanager"),
            ("pvc-unprotected", "metrics-p/prometheus-server"),
            ("pvc-unprotected", "metrics-sh/thanos-rule"),
            ("pvc-unprotected", "metrics/batch-prometheus-pushgateway"),
            ("pvc-unprotected", "metrics/prometheus-pushgateway"),
            ("pvc-unprotected", "metrics/thanos"),
            ("pvc-unprotected", "monitoring/alertmanager-kube-prometheus-stack"),
            ("pvc-unprotected", "mqtt/emqx"),
            ("pvc-unprotected", "observe/loki"),
            ("pvc-unprotected", "observe/tempo"),
            ("pvc-unprotected", "observe/thanos-ruler"),
            ("pvc-unprotected", "queue/nats"),
            ("pvc-unprotected", "registry/oldzot-pvc"),
            ("pvc-unprotected", "registry/registry-zot"),
            ("pvc-unprotected", "secops/openbao"),
            ("pvc-unprotected", "secops/openbao"),
            ("pvc-unprotected", "security/crowdsec-agent-config-pvc"),
            ("pvc-unprotected", "security/crowdsec-db-pvc"),
            ("pvc-unprotected", "security/vault"),
            ("pvc-unprotected", "security/vault"),
            ("pvc-unprotected", "web/blog-mariadb"),
        ])
    );
    // kps in thanos-monitoring: its Prometheus' Thanos sidecar uploads the
    // blocks (protected, no finding); it makes no Alertmanager storage.
    let thanos = item(
        &inventory(tree),
        "prometheus-kps-kube-prometheus-stack-prometheus-db-prometheus-kps-kube-prometheus-stack-prometheus-N",
    );
    assert_eq!(thanos["protected"], true, "{thanos}");
    assert!(thanos["protection"].to_string().contains("Thanos sidecar uploads each 2-hour block"), "{thanos}");
    let inv = inventory(tree);
    let item = |name: &str| item(&inv, name);
    let prometheus = item("prometheus-kube-prometheus-stack-db-prometheus-kube-prometheus-stack-N");
    assert_eq!(prometheus["protected"], true, "{prometheus}");
    assert_eq!(prometheus["app"], "kube-prometheus-stack");
    assert!(item("forge (config)")["protection"].to_string().contains("CronJob `forge-backup` (restic"), "{inv}");
    assert!(item("library")["protection"].to_string().contains("Velero Schedule `velero-media`"), "{inv}");
    assert!(item("wiki-data")["protection"].to_string().contains("velero-labelled"), "{inv}");
    // A Velero release with snapshots off and no node agent copies no
    // volume data: its Schedule is not protection, and the finding says why.
    assert_eq!(item("ledger-db")["protected"], false, "{inv}");
    assert_eq!(item("journal-db")["protected"], true, "a node agent backs up pods that opt in: {inv}");
    let report = json_report(Path::new(tree), &[]);
    let ledger = report["findings"].as_array().into_iter().flatten().find(|f| f["resource"]["name"] == "ledger-db");
    let message = ledger.map(|f| f["message"].to_string()).unwrap_or_default();
    assert!(message.contains("selects it, but the release sets `snapshotsEnabled: false`"), "{message}");
    // Bitnami thanos: the compactor's and store gateway's volumes are
    // working copies of the bucket, excluded by the catalogue with why; the
    // store gateway's size is the chart's default.
    for name in ["thanos-compactor", "data-thanos-storegateway-N"] {
        let excluded = item(name)["excluded"].as_str().unwrap_or("").to_string();
        assert!(excluded.contains("rebuilt from the bucket") && excluded.contains("chart catalogue"), "{name}: {inv}");
    }
    assert_eq!(item("data-thanos-storegateway-N")["size"], "8Gi", "{inv}");
    assert!(item("data-thanos-receive-N").is_null(), "the receiver is off: {inv}");
    // nats: JetStream's file store, named `<fullname>-js`; the resolver is off.
    assert_eq!(item("nats-js-nats-N")["storageClass"], "ceph-block", "{inv}");
    assert!(item("nats-resolver-nats-N").is_null(), "{inv}");
    // app-template 1.x: the top-level claim templates of a statefulset controller.
    assert_eq!(item("data-mosquitto-N")["size"], "1Gi", "{inv}");
    // harbor: an external database has no claim template.
    assert!(item("database-data-harbor-database-N").is_null(), "{inv}");
    // Bitnami's commonLabels are on the wordpress claim: Velero's label Schedule covers it.
    assert!(item("blog-wordpress")["protection"].to_string().contains("velero-labelled"), "{inv}");
    // forgejo with `persistence.create: false` makes no claim: the one it
    // mounts is the repository's PVC, one item.
    let forgejo = inv["items"].as_array().into_iter().flatten().filter(|i| i["namespace"] == "git").count();
    assert_eq!(forgejo, 1, "{inv}");
    // gitea and forgejo by chart version: their Bitnami subcharts' claims
    // under the names Helm gives a subchart of the release, with the sizes
    // the parent's values give them; the Valkey/Redis that holds Gitea's
    // cache, sessions and queues is excluded (rebuilt), not flagged.
    let in_ns = |ns: &str| -> Vec<String> {
        let items = inv["items"].as_array().into_iter().flatten().filter(|i| i["namespace"] == ns);
        let mut names: Vec<String> = items.map(|i| i["name"].as_str().unwrap_or("").to_string()).collect();
        names.sort();
        names
    };
    assert_eq!(
        in_ns("code"),
        ["data-gitea-postgresql-ha-postgresql-N", "gitea-shared-storage", "valkey-data-gitea-valkey-cluster-N"]
    );
    assert_eq!(
        in_ns("forge10"),
        ["data-gitea-postgresql-N", "gitea-shared-storage", "redis-data-gitea-redis-master-N"]
    );
    assert_eq!(
        in_ns("forge12"),
        ["data-forgejo-postgresql-ha-postgresql-N", "gitea-shared-storage", "redis-data-forgejo-redis-cluster-N"]
    );
    assert_eq!(item("data-gitea-postgresql-ha-postgresql-N")["size"], "10Gi", "{inv}");
    for cache in
        ["valkey-data-gitea-valkey-cluster-N", "redis-data-gitea-redis-master-N", "redis-data-forgejo-redis-cluster-N"]
    {
        let excluded = item(cache)["excluded"].as_str().unwrap_or("").to_string();
        assert!(excluded.contains("cache, sessions and queues"), "{cache}: {inv}");
    }
    // stevehipwell's thanos: the compactor's and store gateway's working
    // copies of the bucket are excluded, the ruler's blocks are data.
    for name in ["data-thanos-compact-N", "data-thanos-store-gateway-N"] {
        let excluded = item(name)["excluded"].as_str().unwrap_or("").to_string();
        assert!(excluded.contains("rebuilt from the bucket"), "{name}: {inv}");
    }
    assert_eq!(item("data-thanos-rule-N")["protected"], false, "{inv}");
    // harbor with its job logs to stdout (and everything else external)
    // makes no claim at all.
    assert!(in_ns("registry-stdout").is_empty(), "{inv}");
    // gitea 9.x is a version the catalogue does not describe: said so.
    assert!(in_ns("forge9").is_empty(), "{inv}");
    let unknown = inv["unknownCharts"].as_array().into_iter().flatten().find(|c| c["version"] == "9.6.1");
    assert!(unknown.is_some_and(|c| c["chart"] == "gitea"), "{inv}");
    // Bitnami's `redis` (its HelmRepository's URL says so) is the
    // catalogue's, under the claim name Bitnami gives it; OT's `redis` is
    // another chart of the same name, whose contents lifeboat does not know.
    assert_eq!(item("redis-data-sessions-redis-master-N")["size"], "2Gi", "{inv}");
    // Bitnami redis replicates by default: its replicas keep data too.
    assert!(item("redis-data-sessions-redis-replicas-N")["kind"].is_string(), "{inv}");
    // … unless there are none.
    assert!(item("redis-data-tokens-redis-replicas-N").is_null(), "{inv}");
    // zot 0.1.68+ names its claim template after the release; openbao keeps
    // data on claims in HA mode only with raft, none in dev mode; a
    // crowdsec release without the LAPI makes no claim.
    assert_eq!(item("registry-pvc-registry-zot-N")["size"], "20Gi", "{inv}");
    for absent in ["mounted-pvc", "nopersist-pvc", "data-bao-consul-N", "data-bao-dev-N", "crowdsec-agents-db-pvc"] {
        assert!(item(absent).is_null(), "{absent} is not made: {inv}");
    }
    assert_eq!(item("data-woodpecker-server-N")["size"], "5Gi", "{inv}");
    assert_eq!(item("emqx-data-emqx-N")["storageClass"], "local-hostpath", "{inv}");
    // app-template volumes straight from a share or a node: listed with
    // where they live; a read-only share, a device, /etc, the kubelet's
    // directories are not.
    assert_eq!(item("paperless (data)")["externalStorage"], "NFS nas.lan:/tank/documents/paperless", "{inv}");
    assert_eq!(item("paperless (db)")["externalStorage"], "hostPath /tank/k8s/paperless-db on a node", "{inv}");
    assert_eq!(item("paperless (db)")["kind"], "Helm volume", "{inv}");
    assert_eq!(item("paperless (inbox)")["externalStorage"], "NFS nas.lan:/tank/inbox", "{inv}");
    assert_eq!(item("paperless (db)")["storageClass"], "", "no claim, no class: {inv}");
    for absent in ["paperless (library)", "paperless (usb)", "paperless (localtime)", "paperless (device-plugins)"] {
        assert!(item(absent).is_null(), "{absent} is not data: {inv}");
    }
    // Subcharts: authentik's postgresql (on), nextcloud's redis (standalone:
    // the master only); sso's postgresql is off by default.
    assert_eq!(item("data-authentik-postgresql-N")["size"], "4Gi", "{inv}");
    assert!(item("redis-data-cloud-redis-replicas-N").is_null(), "{inv}");
    assert!(item("data-sso-postgresql-N").is_null(), "{inv}");
    assert!(item("agent-config-oldpecker-agent-N").is_null(), "before 1.2.0 the agent has no claim: {inv}");
    let unknown = inv["unknownCharts"].clone();
    let charts: Vec<(&str, &str)> = unknown
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| (u["release"].as_str().unwrap_or(""), u["chart"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        charts,
        [
            // gitea 9.x: a version the catalogue does not describe.
            ("HelmRelease `forge9/oldgitea`", "gitea"),
            // loki in a mode the catalogue's entry does not read.
            ("HelmRelease `logs/loki-micro`", "loki"),
            // loki-stack's prometheus subchart, turned on, is not catalogued.
            ("HelmRelease `observe/loki`", "prometheus"),
            ("HelmRelease `cache/queue`", "redis"),
            ("HelmRelease `tools/mystery`", "mystery-app"),
            // Read by the common `persistence` shape alone: partly unknown.
            ("HelmRelease `metrics/thanos`", "thanos"),
            ("HelmRelease `logs/loki-five`", "loki")
        ],
        "{unknown}"
    );
    assert_eq!(unknown[5]["readByCommonShape"], 1, "{unknown}");
    assert_eq!(inv["summary"]["unknownCharts"], 7);
    let micro = unknown[1]["undescribedValues"].as_str().unwrap_or("");
    assert!(micro.starts_with("`deploymentMode: Distributed`") && micro.contains("`SingleBinary`"), "{unknown}");
    // Each `loki` release is read with the entry for its version: 2.x's
    // claim template `storage` (persistence off by default, so
    // `loki-scratch` has none), 6.x from an OCIRepository's tag; 5.x is
    // described by neither and says so.
    assert_eq!(item("storage-loki-N")["size"], "5Gi", "{inv}");
    assert!(item("storage-audit-logs-loki-N").is_object(), "{inv}");
    assert!(!inv.to_string().contains("loki-scratch"), "{inv}");
    // 5.1+: a single binary on a filesystem; simple scalable on S3 (the
    // write path's claims turned off, the backend's by default).
    assert_eq!(item("storage-loki-mid-N")["size"], "20Gi", "{inv}");
    assert!(item("data-loki-mid-write-N").is_null(), "{inv}");
    assert_eq!(item("data-loki-s3-backend-N")["size"], "10Gi", "{inv}");
    assert!(item("data-loki-s3-write-N").is_null(), "{inv}");
    assert!(item("storage-loki-s3-N").is_null(), "{inv}");
    // A component's persistence of a chart lifeboat does not know: the claim
    // is named as the component's, never as the release's bare name.
    assert_eq!(item("thanos (storegateway)")["size"], "10Gi", "{inv}");
    // `k8s-resource` makes its values: a PVC inline, and (from a ConfigMap's
    // `values.yaml`) the ReplicationSource that backs it up.
    let ledger = item("ledger-data");
    assert_eq!(ledger["protected"], true, "{ledger}");
    assert!(ledger["protection"].to_string().contains("ReplicationSource `ledger-data`"), "{ledger}");
    // victoria-metrics-k8s-stack writes a VMSingle (20Gi unless the values
    // say otherwise); the operator names its claim `vmsingle-<cr>`. A
    // VMCluster from it is listed as storage lifeboat does not model.
    assert_eq!(item("vmsingle-vm-victoria-metrics-k8s-stack")["size"], "20Gi", "{inv}");
    let sized = item("vmsingle-victoria-metrics-k8s-stack");
    assert_eq!((sized["size"].as_str(), sized["protected"].as_bool()), (Some("50Gi"), Some(true)), "{sized}");
    assert!(
        inv["unmodelledStorage"].to_string().contains("vmc-victoria-metrics-k8s-stack"),
        "{}",
        inv["unmodelledStorage"]
    );
    // konflate's cache claim, only where persistence is turned on.
    assert_eq!(item("konflate-cache")["size"], "2Gi", "{inv}");
    assert!(!inv.to_string().contains("konflate-scratch-cache"), "{inv}");
    // The pushgateway's PVC `<fullname>`, or as a StatefulSet its claim
    // template `storage-volume` (and then no PVC).
    assert!(item("prometheus-pushgateway").is_object(), "{inv}");
    assert_eq!(item("storage-volume-batch-prometheus-pushgateway-N")["size"], "1Gi", "{inv}");
    assert!(!item("batch-prometheus-pushgateway").is_object(), "{inv}");
    // otwld's ollama (its repository's URL says so): the models PVC, and
    // none where the release brings its own claim.
    assert_eq!(item("ollama")["size"], "40Gi", "{inv}");
    assert!(!inv.to_string().contains("ollama-mine"), "{inv}");
    let five = unknown.as_array().and_then(|u| u.last()).cloned().unwrap_or_default();
    assert_eq!(five["version"], "5.x");
    assert_eq!(five["catalogueVersions"], "<3.0.0` or `>=5.1.0, <6.0.0` or `>=6.0.0");
    snapshots("catalogue", tree);
}

#[test]
fn a_users_own_chart_entry_is_read_from_the_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::write(
        root.join("release.yaml"),
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: wiki\n  namespace: docs\nspec:\n  chart:\n    spec:\n      chart: mystery-wiki\n  values:\n    storage:\n      size: 3Gi\n",
    )
    .expect("write");
    std::fs::write(
        root.join(".lifeboat.yaml"),
        "charts:\n  - chart: mystery-wiki\n    source: our own chart, values.yaml `storage`\n    names: [mystery-wiki]\n    volumes:\n      - at: storage\n        claim: \"{fullname}-data\"\n        size: size\n",
    )
    .expect("write");
    let report = json_report(root, &[]);
    assert_eq!(common::finding_keys(&report), pairs(&[("pvc-unprotected", "docs/wiki-mystery-wiki-data")]));
    // The fixture's entry also bundles Bitnami's postgresql as `db`, which
    // its release turns on: the subchart's StatefulSet `wiki-postgresql`.
    let report = json_report(Path::new("fixtures/charts/own-chart"), &[]);
    assert_eq!(
        common::finding_keys(&report),
        pairs(&[("pvc-unprotected", "docs/wiki-mystery-wiki-data"), ("pvc-unprotected", "docs/wiki-postgresql")])
    );
    std::fs::write(root.join(".lifeboat.yaml"), "charts:\n  - names: [x]\n").expect("write");
    let out = run(&["check", &root.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2), "an entry without `chart` is a config error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs `chart`"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_kustomize_helm_charts_entry_of_a_local_chart_is_rendered_with_its_inline_values() {
    let tree = "fixtures/charts/kustomize-helmcharts";
    // valuesInline turns the chart's backup off and sets the size: the
    // chart's PVC is rendered with the release's name and flagged.
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "paste/pastebin-data")]));
    let inv = inventory(tree);
    let item = inv["items"].as_array().and_then(|i| i.first()).cloned().unwrap_or_default();
    assert_eq!(item["size"], "4Gi", "{item}");
    assert_eq!(item["file"], "apps/pastebin/charts/paste/templates/pvc.yaml", "{item}");
}

#[test]
fn a_kustomize_helm_chart_is_matched_to_its_vendor_and_version() {
    // `repo` and `version` of a helmCharts entry pick the catalogue entry:
    // valkey.io's valkey and Bitnami's are different charts of one name, and
    // zot changed from a PVC to a StatefulSet at 0.1.68.
    let tree = "fixtures/charts/helmcharts-catalogue";
    assert_eq!(
        findings(tree),
        pairs(&[
            ("pvc-unprotected", "auth/cache-valkey-node"),
            ("pvc-unprotected", "auth/registry-pvc"),
            ("pvc-unprotected", "auth/sessions-valkey"),
        ])
    );
    let inv = inventory(tree);
    assert!(inv["unknownCharts"].as_array().is_none_or(Vec::is_empty), "{inv}");
    snapshots("helmcharts-catalogue", tree);
}

#[test]
fn a_claim_naming_no_class_gets_the_default_class_a_chart_or_the_repository_marks() {
    // Longhorn's chart makes `longhorn`, the default class unless
    // persistence.defaultClass is false: a class-less claim is a Longhorn
    // volume, so the `default`-group RecurringJob backs it up.
    let tree = "fixtures/charts/longhorn-default";
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "docs/archive"), ("pvc-unprotected", "docs/scratch")]));
    let inv = inventory(tree);
    let item = |name: &str| item(&inv, name);
    let data = item("paperless-data");
    assert_eq!((data["storageClass"].as_str(), data["protected"].as_bool()), (Some("longhorn"), Some(true)), "{data}");
    assert!(data["protection"].to_string().contains("RecurringJob `daily-backup`"), "{data}");
    let archive = item("archive");
    assert_eq!(
        (archive["storageClass"].as_str(), archive["protected"].as_bool()),
        (Some(""), Some(false)),
        "{archive}"
    );
    snapshots("longhorn-default", tree);
    // With Longhorn not the default and the repository's local-path marked
    // so, the claim is on local-path, which the job does not reach.
    let tree = "fixtures/charts/longhorn-not-default";
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "docs/paperless-data")]));
    let inv = inventory(tree);
    let data = inv["items"].as_array().and_then(|i| i.first()).cloned().unwrap_or_default();
    assert_eq!(data["storageClass"], "local-path", "{data}");
}

#[test]
fn a_default_group_job_with_no_known_default_class_is_named_not_counted() {
    // No StorageClass in the repository is the default: whether the claim
    // is a Longhorn volume is unknown, so it is not counted, and the
    // finding says which job would hold it.
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("all.yaml"),
        "apiVersion: longhorn.io/v1beta2\nkind: RecurringJob\nmetadata:\n  name: daily-backup\n  namespace: longhorn-system\nspec:\n  task: backup\n  cron: \"0 3 * * *\"\n  retain: 14\n  groups: [default]\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: wiki-data\n  namespace: docs\nspec:\n  resources:\n    requests:\n      storage: 1Gi\n",
    )
    .expect("write");
    let report = json_report(dir.path(), &[]);
    assert_eq!(common::finding_keys(&report), pairs(&[("pvc-unprotected", "docs/wiki-data")]));
    let message = report["findings"][0]["message"].as_str().unwrap_or_default().to_string();
    assert!(
        message.contains("RecurringJob `longhorn-system/daily-backup` backs up the `default` group")
            && message.contains("is-default-class"),
        "{message}"
    );
}

#[test]
fn rook_ceph_cluster_makes_storage_classes_and_no_claims() {
    // The release's SSD pool class is the default; the chart's own
    // ceph-filesystem class stands (cephFileSystems is not written); the
    // chart is known, so it is not "contents unknown".
    let tree = "fixtures/charts/rook-ceph";
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "media/photos-library")]));
    let inv = inventory(tree);
    assert_eq!(inv["unknownCharts"].as_array().map(Vec::len), Some(0), "{}", inv["unknownCharts"]);
    let classes = fields(&inv, "name", "storageClass");
    assert_eq!(classes, pairs(&[("photos-cache", "ceph-filesystem"), ("photos-library", "ceph-block-ssd")]));
    let report = json_report(Path::new(tree), &["--verbose"]);
    assert!(report["summary"]["partial"].is_null(), "{}", report["summary"]);
    snapshots("rook-ceph", tree);
}

#[test]
fn an_existing_claim_made_by_another_release_is_one_item() {
    let tree = "fixtures/charts/existing-claim-of-another-release";
    let inv = inventory(tree);
    assert_eq!(fields(&inv, "app", "name"), pairs(&[("gluetun-update", "gluetun-update (gluetun-update)")]), "{inv}");
    let report = json_report(Path::new(tree), &[]);
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(1), "one gap, reported once: {report}");
}

#[test]
fn a_chart_nothing_renders_is_said_in_the_summary_not_passed_as_clean() {
    let tree = "fixtures/charts/unrendered-chart";
    let human = stdout(&run(&["check", tree]));
    assert!(human.contains("1 chart no release, Application or helmCharts entry renders, so not linted"), "{human}");
    let report = json_report(Path::new(tree), &[]);
    assert_eq!(report["summary"]["unrendered_charts"], serde_json::json!(["charts/db"]), "{report}");
}

#[test]
fn helm_globals_chart_home_finds_the_local_chart() {
    let tree = "fixtures/charts/helmcharts-chart-home";
    assert_eq!(findings(tree), pairs(&[("pvc-unprotected", "foo/nfs-foo")]));
    let inv = inventory(tree);
    assert_eq!(inv["summary"]["unknownCharts"], 0, "{inv}");
    assert_eq!(inv["summary"]["protected"], 1, "bar's claim: {inv}");
}

#[test]
fn an_app_template_controller_named_as_its_release_adds_no_suffix() {
    // Two controllers, one named `paperless-ngx` like the release: its
    // StatefulSet is `paperless-ngx`, its claim data-paperless-ngx-0, which
    // the ReplicationSource backs up (bjw-s common's naming).
    let tree = "fixtures/charts/app-template-controller-name";
    assert_eq!(findings(tree), pairs(&[]));
    let inv = inventory(tree);
    assert_eq!(item(&inv, "data-paperless-ngx-N")["protected"], true, "{inv}");
}

#[test]
fn helm_charts_additional_values_files_are_merged() {
    // Only the overlay's additionalValuesFiles entry turns the claim on.
    let tree = "fixtures/charts/helmcharts-additional-values";
    let inv = inventory(tree);
    let names: Vec<&str> = inv["items"].as_array().into_iter().flatten().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(names, vec!["nfs-uptime-kuma"], "{inv}");
}

#[test]
fn a_claim_a_chart_makes_and_the_repository_writes_is_one_item() {
    let inv = inventory("fixtures/charts/claim-written-twice");
    let rows: Vec<&serde_json::Value> = inv["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["name"] == "forgejo" && i["namespace"] == "default")
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows.first().map(|r| r["size"].clone()), Some(serde_json::json!("10Gi")), "the written one: {rows:?}");
}

#[test]
fn a_dependency_in_a_mode_the_catalogue_does_not_read_is_of_unknown_contents() {
    // A repository chart over loki in the microservices mode: listed as of
    // unknown contents, saying which value, not read as making nothing.
    let inv = inventory("fixtures/charts/umbrella-undescribed");
    let unknown = inv["unknownCharts"].as_array().cloned().unwrap_or_default();
    let [loki] = unknown.as_slice() else { panic!("one unknown chart: {unknown:?}") };
    assert_eq!(loki["chart"], "loki");
    assert!(
        loki["undescribedValues"].as_str().is_some_and(|v| v.starts_with("`deploymentMode: Distributed`")),
        "{loki}"
    );
}
