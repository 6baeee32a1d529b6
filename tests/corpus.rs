//! lifeboat on the real repositories of `../shared/corpus` (hand-labelled in
//! each LABELS.md). The corpus is only on developer and CI machines: without
//! it this test says so and passes.
//!
//! What is asserted is the complete list of findings per repository, so a
//! false alarm fails the test as surely as a missed gap. Gaps that need Flux
//! modelling (`spec.components`, postBuild substitution, targetNamespace) are
//! listed in each repository's comment and are not expected yet.

mod common;

use std::path::Path;

use common::json_report;

fn corpus() -> Option<&'static Path> {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"));
    if path.is_dir() {
        Some(path)
    } else {
        println!("skipped: {} not found (the shared corpus exists only on developer and CI machines)", path.display());
        None
    }
}

/// `(rule, [cluster:]namespace/name)` of every finding, sorted.
fn findings(repo: &str, args: &[&str]) -> Option<Vec<(String, String)>> {
    let root = corpus()?.join(repo);
    Some(common::finding_keys(&json_report(&root, args)))
}

/// `flux-substitution-undefined` is asserted where the repository is clean
/// of it (joryirving) and judged by hand elsewhere (Grafana dashboards and
/// shell scripts with `${var}` that Flux would substitute; see the notes);
/// every other rule is asserted exactly.
const JUDGED: &[&str] = &["--ignore", "flux-substitution-undefined"];

fn expect(repo: &str, expected: &[(&str, &str)]) {
    let Some(actual) = findings(repo, JUDGED) else { return };
    let mut expected: Vec<(String, String)> = expected.iter().map(|(r, n)| (r.to_string(), n.to_string())).collect();
    expected.sort();
    assert_eq!(actual, expected, "{repo}: findings differ from LABELS.md");
}

fn many<'a>(rule: &'a str, names: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    names.iter().map(|n| (rule, *n)).collect()
}

#[test]
fn joryirving_fourteen_component_clusters() {
    // LABELS: one Cluster and one ScheduledBackup in a Flux component, 14
    // instances; every one keeps bootstrap.recovery (deliberately, with
    // skipEmptyWalArchiveCheck: so no writes-to-source) and has the
    // five-field schedule `40 4 * * *`. PVC gaps: the 8 plain PVCs LABELS
    // lists, plus gatus-sidecar's chart persistence (common chart shape,
    // `persistence.enabled: true`, which LABELS' table did not read). The
    // games PVCs are in directories no Flux Kustomization reaches. Three
    // clusters (kubernetes/clusters/{main,test,utility}, each a
    // flux-instance HelmRelease's sync path): alert-triage and gatus-sidecar
    // are deployed to main and utility, and unprotected in both.
    let Some(actual) = findings("joryirving__home-ops", &["--select", "cnpg-recovery-left-in"]) else { return };
    assert_eq!(actual.len(), 14, "{actual:?}");
    let crons = findings("joryirving__home-ops", &["--select", "cnpg-scheduled-backup-cron"]).unwrap_or_default();
    assert_eq!(crons.len(), 14, "{crons:?}");
    // `${CLUSTER}` in the app Kustomizations is defined by the cluster
    // Kustomization's `spec.patches` (it patches `postBuild.substitute` into
    // every child): applying Flux patches leaves no variable undefined.
    let undefined = findings("joryirving__home-ops", &["--select", "flux-substitution-undefined"]);
    assert_eq!(undefined, Some(Vec::new()));
    let pvcs = findings("joryirving__home-ops", &["--select", "pvc-unprotected,pvc-backup-source-missing"]);
    let mut expected: Vec<(String, String)> = many(
        "pvc-unprotected",
        &[
            "main:downloads/radarr",
            "main:downloads/sonarr",
            "utility:home-automation/home-assistant-cache",
            "main:llm/llmkube-skirk-cache",
            "main:observability/alert-triage",
            "utility:observability/alert-triage",
            "main:observability/gatus-sidecar",
            "utility:observability/gatus-sidecar",
            "main:observability/server-volume-victoria-logs-server-0",
            "utility:self-hosted/acars-processor",
            "main:self-hosted/archiveteam",
            // kube-prometheus-stack's Prometheus and Alertmanager claim
            // templates (chart catalogue, cleanPrometheusOperatorObjectNames):
            // no backup covers them. victoria-logs' claim template is the
            // PVC written ahead of it (one item, above).
            "main:observability/prometheus-kube-prometheus-stack",
            "main:observability/alertmanager-kube-prometheus-stack",
            "utility:observability/prometheus-kube-prometheus-stack",
            "utility:observability/alertmanager-kube-prometheus-stack",
            // The grafana-operator's claim of the `Grafana` instance
            // (`spec.persistentVolumeClaim` makes `grafana-pvc`, which its
            // deployment mounts): nothing backs it up. LABELS.md does not
            // list operator-made claims.
            "main:observability/grafana-pvc",
            // app-template `type: statefulset` controller with the claim
            // template `config` (5Gi, mosquitto's persistence_location):
            // claims config-mosquitto-N, no VolSync component, no exclusion.
            // LABELS.md did not list app-template claim templates.
            "utility:home-automation/mosquitto",
        ],
    )
    .into_iter()
    .map(|(r, n)| (r.to_string(), n.to_string()))
    .collect();
    expected.sort();
    assert_eq!(pvcs, Some(expected));
}

#[test]
fn mirceanton_ten_component_clusters() {
    // LABELS: 10 component Clusters, all keeping recovery (deliberate,
    // skipEmptyWalArchiveCheck), one shared bucket with distinct serverNames
    // (no collision); the patchesStrategicMerge files are patches. PVC gaps:
    // the 4 LABELS lists, plus renovate-cache (a plain PVC LABELS' sample
    // left out) and 3 chart-created claims: konflate's `konflate-cache`
    // (its own chart, catalogued: persistence.enabled, openebs-zfs-cache),
    // and the bjw-s releases' immich-machine-learning and
    // speedtest-exporter caches. buildkit's is not
    // deployed: `./buildkit` is commented out of
    // apps/github-actions/kustomization.yaml (LABELS missed the `#`).
    let mut expected = many(
        "cnpg-recovery-left-in",
        &[
            "ai/litellm-postgres",
            "development/atuin-postgres",
            "finance/firefly-postgres",
            "fitness/sparkyfitness-postgres",
            "media/bookorbit-postgres",
            "media/immich-postgres",
            "media/paperless-postgres",
            "productivity/affine-postgres",
            "productivity/vikunja-postgres",
            "youtube/davinci-postgres",
        ],
    );
    expected.extend(many(
        "pvc-unprotected",
        &[
            "games/steam-sunshine-cache",
            "games/steam-sunshine-games",
            "github-actions/github-runners-cache",
            "github-actions/konflate-cache",
            "github-actions/renovate-cache",
            "home-automation/home-assistant-cache",
            "media/immich-machine-learning",
            "monitoring-system/speedtest-exporter",
            // kube-prometheus-stack's claim templates (chart catalogue).
            "monitoring-system/alertmanager-kube-prometheus-stack",
            "monitoring-system/prometheus-kube-prometheus-stack",
            // The grafana-operator's `grafana-pvc` (Grafana
            // `spec.persistentVolumeClaim`): not backed up.
            "monitoring-system/grafana-pvc",
            // app-template StatefulSet claim template `config` (5Gi
            // openebs-zfs, /config holds mosquitto's persistence): no backup.
            "home-automation/mosquitto",
            // The Dragonfly operator's snapshot claim template `df`
            // (components/dragonfly: `spec.snapshot.persistentVolumeClaimSpec`
            // on openebs-zfs-cache, a dump every two hours): no backup, not
            // marked.
            "github-actions/renovate-dragonfly",
            "media/immich-dragonfly",
            "media/paperless-dragonfly",
            "productivity/affine-dragonfly",
        ],
    ));
    expect("mirceanton__home-ops", &expected);
}

#[test]
fn rafaribe_two_plain_clusters_keep_recovery() {
    // LABELS: 5 Cluster documents, 2 deployed (immich-v4, home-ops), both
    // keeping bootstrap.recovery from a versioned serverName (v3 → v4: no
    // collision, no writes-to-source). PVC gaps: the caches LABELS lists,
    // plus 3 chart-created claims (rkllama models, soulsync config and data,
    // gatus). ai/ollama-models is not deployed: `./ollama/ks.yaml` is
    // commented out of kubernetes/apps/ai/kustomization.yaml (LABELS missed
    // the `#`).
    let Some(actual) = findings("rafaribe__home-ops", &["--select", "cnpg-recovery-left-in"]) else { return };
    assert_eq!(actual.len(), 2, "{actual:?}");
    assert!(
        actual.iter().any(|(_, n)| n.ends_with("immich-v4")) && actual.iter().any(|(_, n)| n.ends_with("home-ops"))
    );
    let pvcs = findings("rafaribe__home-ops", &["--select", "pvc-unprotected"]).unwrap_or_default();
    let names: std::collections::BTreeSet<&str> = pvcs.iter().map(|(_, n)| n.as_str()).collect();
    for labelled in [
        "actions-runner-system/actions-runner-controller-cache",
        "downloads/sonarr-cache",
        "home/home-assistant-cache",
        "home/immich-ml-cache",
        "media/jellyseerr-cache",
        "media/plex-cache",
        "media/tautulli-cache",
    ] {
        assert!(names.contains(labelled), "rafaribe: {labelled} should be reported unprotected: {names:?}");
    }
    assert!(!names.contains("ai/ollama-models"), "its Kustomization is commented out: {names:?}");
    for chart_made in [
        "observability/alertmanager-kube-prometheus-stack",
        "observability/prometheus-kube-prometheus-stack",
        "observability/victoria-logs-server",
    ] {
        assert!(names.contains(chart_made), "rafaribe: the chart catalogue's {chart_made}: {names:?}");
    }
    assert_eq!(names.len(), 13, "7 labelled + rkllama, soulsync, gatus + 3 chart-made: {names:?}");
}

#[test]
fn onedr0p_monosense_mmalyska() {
    // onedr0p: no CNPG; kopiur covers the component PVCs; gaps:
    // home-assistant-cache and gatus-sidecar's chart persistence.
    // The chart catalogue adds the claim templates of kube-prometheus-stack
    // (Prometheus, Alertmanager) and victoria-logs-single
    // (`server.fullnameOverride: victoria-logs`): nothing backs them up.
    expect(
        "onedr0p__home-ops",
        &[
            ("pvc-unprotected", "default/home-assistant-cache"),
            ("pvc-unprotected", "o11y/alertmanager-kube-prometheus-stack"),
            ("pvc-unprotected", "o11y/gatus-sidecar"),
            // The grafana-operator's `grafana-pvc` (Grafana
            // `spec.persistentVolumeClaim`): not backed up.
            ("pvc-unprotected", "o11y/grafana-pvc"),
            ("pvc-unprotected", "o11y/prometheus-kube-prometheus-stack"),
            ("pvc-unprotected", "o11y/victoria-logs"),
        ],
    );
    // monosense: two clusters (kubernetes/clusters/{apps,infra}, each
    // bootstrapped by its flux-system Kustomization). The one Cluster is
    // `${CNPG_SHARED_CLUSTER_NAME}` from infra's cluster-settings ConfigMap:
    // shared-postgres, archiving, with its ScheduledBackup; no CNPG finding.
    // The apps cluster deploys the same Kustomization, but its own
    // cluster-settings has no CNPG variables: that instance keeps its
    // `${…}` name (flux-substitution-undefined says so, judged below). One chart
    // persistence (VictoriaMetrics' Grafana) is unprotected.
    // Both clusters deploy VictoriaMetrics' Grafana persistence.
    // The chart catalogue adds victoria-logs-single's claim template
    // (`fullnameOverride: victoria-logs`, persistence on), in both clusters.
    // victoria-metrics-k8s-stack 0.61.11: the `victoria-metrics` release
    // (vmagent only) leaves `vmsingle.enabled` at its default, true, so the
    // chart writes a VMSingle with 20Gi of storage (`vmsingle-victoria-metrics`);
    // `victoria-metrics-global` asks for Alertmanager storage (StatefulSet
    // `vmalertmanager-victoria-metrics-global`) and the grafana subchart's
    // PVC, named `<release>-grafana` (LABELS.md names the release). Its
    // VMCluster is listed as storage lifeboat does not model.
    expect(
        "monosense-io__k8s-gitops",
        &[
            ("pvc-unprotected", "apps:observability/victoria-logs-server"),
            ("pvc-unprotected", "apps:observability/victoria-metrics-global-grafana"),
            ("pvc-unprotected", "apps:observability/vmalertmanager-victoria-metrics-global"),
            ("pvc-unprotected", "apps:observability/vmsingle-victoria-metrics"),
            ("pvc-unprotected", "infra:observability/victoria-logs-server"),
            ("pvc-unprotected", "infra:observability/victoria-metrics-global-grafana"),
            ("pvc-unprotected", "infra:observability/vmalertmanager-victoria-metrics-global"),
            ("pvc-unprotected", "infra:observability/vmsingle-victoria-metrics"),
        ],
    );
    // mmalyska: every app is a local umbrella chart that an ApplicationSet
    // (with a Go-templated templatePatch for `appSubfolder`) deploys, and
    // lifeboat renders them. The six enabled pgsql-cnpg Clusters render
    // with their ObjectStores and ScheduledBackups: no CNPG finding (their
    // barman-cloud plugin entry lacks `isWALArchiver: true`, which LABELS
    // calls a WAL gap; CNPG still archives through every enabled WAL-capable
    // plugin (research/backup-semantics.md §2.1), and RULES.md's
    // cnpg-no-wal-archive counts such a plugin, so it is not flagged).
    // Rendered PVCs with no backup: anytype's redis-data and onlyoffice-data
    // (neither has a ReplicationSource in its templates). anytype's five
    // ReplicationSources share one restic Secret (volsync-shared-repository,
    // four findings against the first). Values of remote dependencies are
    // read as chart persistence: piper and whisper (app-template `data`);
    // those of catalogued charts become their objects (below); none is
    // backed up. Five NFS
    // PVCs are external storage. Charts whose templates need helpers the
    // corpus does not hold (`_helpers.tpl` is not YAML, so not kept) are
    // partly rendered: their items are "not judged", never a finding.
    let mut expected = many(
        "pvc-external-storage",
        &[
            "bookorbit/bookorbit-ebooks-pvc",
            "jellyfin/jellyfin-movies",
            "jellyfin/jellyfin-music",
            "jellyfin/jellyfin-tv-shows",
            "nextcloud/nextcloud-data-pvc",
        ],
    );
    expected.extend(many(
        "pvc-unprotected",
        &[
            "anytype/redis-data",
            "argocd/piper",
            "argocd/whisper",
            // Remote dependencies in the chart catalogue: kube-prometheus-stack
            // (release prometheus-stack: fullname truncated to 26,
            // `prometheus-stack-kube-prom`) with its Grafana, and Loki.
            "monitoring/alertmanager-prometheus-stack-kube-prom-alertmanager",
            "monitoring/loki",
            "monitoring/prometheus-prometheus-stack-kube-prom-prometheus",
            "monitoring/prometheus-stack-grafana",
            "nextcloud/onlyoffice-data",
            // otwld's ollama dependency (catalogued): its models PVC
            // `ollama` (persistentVolume enabled, 20Gi), no ReplicationSource.
            "ollama/ollama",
        ],
    ));
    expected.extend(many(
        "volsync-shared-repository",
        &[
            "anytype/anytype-consensusnode",
            "anytype/anytype-coordinator",
            "anytype/anytype-filenode",
            "anytype/anytype-syncnode",
        ],
    ));
    expect("mmalyska__home-ops", &expected);
}
#[test]
fn xunholy_uncovered_pvcs_match_the_labels() {
    // LABELS: 13 deployed PVCs with no backup (game servers, a cache, and
    // kguardian-db, a database volume; one of them is not deployed, below).
    // The 20 PVCs its explicit
    // ReplicationSources cover are silent, and so are the 4 sources whose
    // claims Helm charts or operators create (prometheus, alertmanager,
    // grafana, n8n): none is called missing.
    // One more than LABELS lists: open-webui's chart persistence
    // (`persistence: {enabled: true, size: 8Gi}`, the common chart shape),
    // which nothing backs up either; LABELS' table only knew app-template.
    let labelled = [
        "game-servers/azerothcore-client-data",
        "game-servers/azerothcore-cores",
        "game-servers/cmangos-cores",
        "game-servers/cmangos-data",
        "game-servers/cmangos-mangosd-logs",
        "game-servers/cmangos-ptr-cores",
        "game-servers/cmangos-ptr-data",
        "game-servers/cmangos-ptr-mangosd-logs",
        "game-servers/enemy-territory",
        "game-servers/geyser-data-ceph",
        "home-system/jellyseerr-cache-ceph",
        "kguardian/kguardian-db",
    ];
    let mut expected: Vec<(&str, &str)> = labelled.iter().map(|n| ("pvc-unprotected", *n)).collect();
    expected.push(("pvc-unprotected", "ai-system/open-webui"));
    // And otwld's ollama chart (catalogued): its PVC `ollama` (30Gi
    // ceph-block, persistentVolume enabled), nothing backs it up.
    expected.push(("pvc-unprotected", "ai-system/ollama"));
    // Not deployed, though LABELS' script (which took every Flux
    // Kustomization nothing deploys as a root) counts them: xunholy's
    // bootstrap is not in the repository, so lifeboat guesses the roots too,
    // but the overlay `apps/overlays/cluster-00`, which the root `cluster`
    // builds, leaves them out: minecraft-witherstorm and loki are commented
    // out there ("Disabled: corrupted EXT4 …"), crowdsec is never listed.
    expect("xunholy__k8s-gitops", &expected);
}

/// The rows of the markdown table in LABELS.md section `heading` (cells
/// trimmed), or nothing when the section is absent.
fn label_rows(labels: &str, heading: &str) -> Vec<Vec<String>> {
    let Some(start) = labels.find(heading) else { return Vec::new() };
    let section = &labels[start..];
    let section = &section[..section[heading.len()..].find("\n## ").map_or(section.len(), |i| i + heading.len())];
    section
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---"))
        .map(|l| l.split('|').map(|c| c.trim().to_string()).collect::<Vec<_>>())
        .collect()
}

/// Rows LABELS calls deployed whose Flux Kustomization is commented out of
/// the kustomization that would list it (`#- ./ollama/ks.yaml`): Flux never
/// applies them (repository, namespace, name).
const COMMENTED_OUT: &[(&str, &str, &str)] = &[
    ("rafaribe__home-ops", "ai", "ollama-models"),
    ("rafaribe__home-ops", "ai", "ollama"),
    ("rafaribe__home-ops", "ai", "ollama-dns-router"),
    ("rafaribe__home-ops", "downloads", "recyclarr"),
    ("rafaribe__home-ops", "games", "minecraft"),
    ("xunholy__k8s-gitops", "game-servers", "minecraft-witherstorm-data"),
    ("xunholy__k8s-gitops", "home-system", "zigbee2mqtt-cache-ceph"),
];

/// `(namespace, name)` of the inventory's items of `kind` (an instance whose
/// name is an undefined `${VAR}` is left out: its finding is
/// flux-substitution-undefined).
fn inventoried(root: &Path, kind: &str) -> std::collections::BTreeSet<(String, String)> {
    let out = common::run(&["inventory", &root.to_string_lossy(), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inventory JSON parses");
    report["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["kind"] == kind && !i["name"].as_str().unwrap_or("").contains("${"))
        .map(|i| (i["namespace"].as_str().unwrap_or("").to_string(), i["name"].as_str().unwrap_or("").to_string()))
        .collect()
}

#[test]
fn every_labelled_cluster_and_pvc_is_deployed_where_labels_say() {
    // LABELS.md lists every CNPG Cluster instance (namespace, name) and a
    // sample of PVC manifests with whether they are deployed. lifeboat's
    // inventory must hold each deployed one under the same namespace and
    // name, and none of those LABELS calls not deployed.
    let Some(corpus) = corpus() else { return };
    let mut checked = 0;
    let mut repos: Vec<_> = std::fs::read_dir(corpus).into_iter().flatten().flatten().map(|e| e.path()).collect();
    repos.sort();
    for repo in repos.into_iter().filter(|p| p.join("LABELS.md").is_file()) {
        let labels = std::fs::read_to_string(repo.join("LABELS.md")).unwrap_or_default();
        let first_word = |cell: &str| cell.split(' ').next().unwrap_or("").to_string();
        let mut clusters: Vec<(String, String)> = label_rows(&labels, "## CNPG Clusters")
            .iter()
            .filter(|c| c.len() > 4 && c[1].parse::<u32>().is_ok())
            .map(|c| (first_word(&c[2]), c[3].trim_matches('`').to_string()))
            .collect();
        // Clusters a local chart renders: | app dir | namespace | enabled | key | name |
        clusters.extend(
            label_rows(&labels, "## CNPG clusters defined through the local")
                .iter()
                .filter(|c| c.len() > 5 && c[3] == "true" && c[5] != "—")
                .map(|c| (c[2].clone(), first_word(&c[5]))),
        );
        let have = inventoried(&repo, "CNPG Cluster");
        for cluster in &clusters {
            assert!(have.contains(cluster), "{}: Cluster {cluster:?} missing from {have:?}", repo.display());
        }
        assert_eq!(have.len(), clusters.len(), "{}: Clusters LABELS does not list: {have:?}", repo.display());
        let pvcs = inventoried(&repo, "PVC");
        for row in label_rows(&labels, "## PersistentVolumeClaim manifests")
            .iter()
            .filter(|c| c.len() > 6 && c[2].starts_with('`'))
            // LABELS' script did not render charts: its rows for templates
            // say "not listed"; lifeboat renders them (asserted above).
            .filter(|c| !c[3].contains("/templates/"))
        {
            let key = (first_word(&row[1]), row[2].trim_matches('`').to_string());
            let deployed = (row[5].starts_with("yes") || row[5] == "deployed")
                && !COMMENTED_OUT
                    .iter()
                    .any(|(r, ns, name)| repo.ends_with(r) && key == (ns.to_string(), name.to_string()));
            assert_eq!(pvcs.contains(&key), deployed, "{}: PVC {key:?} is {} in LABELS", repo.display(), row[5]);
            checked += 1;
        }
        checked += clusters.len();
    }
    assert!(checked > 150, "too few labelled rows checked ({checked}): did the LABELS format change?");
}
