//! Findings a user trusts (issue 12): foreign opt-out conventions,
//! flux-operator ResourceSets, YAML that go-yaml accepts, and the human
//! report's short form. Each runs the real binary on a fixture under
//! fixtures/trust/ and asserts the findings, with snapshots of the output.

mod common;

use common::{finding_keys, json_report, run, stderr, stdout};
use std::path::Path;

fn keys(tree: &str, extra: &[&str]) -> Vec<(String, String)> {
    finding_keys(&json_report(Path::new(tree), extra))
}

/// The one finding of the real binary on `tree` (failing when there are
/// more or none).
fn only_finding(tree: &str) -> serde_json::Value {
    let report = json_report(Path::new(tree), &[]);
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    let [f] = findings.as_slice() else { panic!("one finding: {findings:?}") };
    f.clone()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = expected.iter().map(|(r, n)| (r.to_string(), n.to_string())).collect();
    v.sort();
    v
}

const CONVENTIONS: &str = "fixtures/trust/conventions";

#[test]
fn foreign_opt_outs_exclude_and_a_bare_one_asks_for_its_reason() {
    assert_eq!(
        keys(CONVENTIONS, &[]),
        pairs(&[("exclusion-missing-reason", "ai/scratch"), ("pvc-unprotected", "media/library")])
    );
    let inventory = run(&["inventory", CONVENTIONS, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&inventory.stdout).expect("inventory JSON parses");
    let excluded: Vec<(String, String)> = report["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r["name"].as_str()?.to_string(), r["excluded"].as_str()?.to_string())))
        .collect();
    assert!(
        excluded.iter().any(|(n, e)| n == "model-cache" && e.contains("label `backup-exempt: true`")),
        "{excluded:?}"
    );
    assert!(excluded.iter().any(|(n, e)| n == "tmp-render" && e.starts_with("render scratch space")), "{excluded:?}");
    assert_eq!(excluded.len(), 5, "{excluded:?}");
    insta::assert_snapshot!("conventions.check", stdout(&run(&["check", CONVENTIONS, "--fail-on", "never"])));
    insta::assert_snapshot!("conventions.inventory", stdout(&run(&["inventory", CONVENTIONS])));
}

#[test]
fn a_malformed_exclusion_convention_is_a_config_error_with_its_line() {
    let dir = std::env::temp_dir().join(format!("lifeboat-conventions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cases = [
        (
            "exclusionConventions:\n  - label: a\n    annotation: b\n",
            ":3:5: a convention has one `label` or one `annotation`",
        ),
        ("exclusionConventions:\n  - value: \"true\"\n", ":2:5: an exclusion convention is a mapping with `label`"),
        (
            "exclusionConventions:\n  - label: a\n    reason: x\n",
            ":3:5: unknown key `reason` in an exclusion convention",
        ),
        ("exclusionConventions: backup-exempt\n", ":1:23: `exclusionConventions` must be a list"),
    ];
    for (text, expected) in cases {
        let config = dir.join(".lifeboat.yaml");
        std::fs::write(&config, text).expect("write config");
        let config = config.to_string_lossy().into_owned();
        let out = run(&["check", &dir.to_string_lossy(), "--config", &config]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(stderr(&out).contains(expected), "{text}: {}", stderr(&out));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

const GO_LENIENT: &str = "fixtures/trust/yaml-go-lenient";

#[test]
fn yaml_that_go_yaml_reads_is_not_a_syntax_error_and_generator_inputs_are_raw_text() {
    let report = json_report(Path::new(GO_LENIENT), &[]);
    let syntax: Vec<&str> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["rule"] == "yaml-syntax")
        .filter_map(|f| f["file"].as_str())
        .collect();
    assert_eq!(syntax, vec!["broken.yaml"], "only the really broken file");
    // The Deployment with the lenient flow sequence is modelled.
    assert_eq!(report["summary"]["resources"], 2, "{}", report["summary"]);
    let skipped = report["skipped"].as_array().cloned().unwrap_or_default();
    assert!(
        skipped
            .iter()
            .any(|s| s["file"] == "values.yaml" && s["reason"].as_str().is_some_and(|r| r.contains("generator input"))),
        "{skipped:?}"
    );
    let verbose = run(&["check", GO_LENIENT, "--verbose", "--fail-on", "never"]);
    insta::assert_snapshot!("yaml-go-lenient.check", stdout(&verbose));
}

const RESOURCESET: &str = "fixtures/trust/resourceset";

#[test]
fn resource_sets_render_and_what_they_generate_joins_the_model() {
    // sonarr-config and plex-data are covered by SnapshotPolicies the
    // template generates from a Static provider; lidarr-config by a
    // ReplicationSource of inline inputs; the per-app cache claims it
    // generates are not backed up; preview-data depends on a provider whose
    // inputs are made in the cluster.
    let report = json_report(Path::new(RESOURCESET), &[]);
    assert_eq!(
        finding_keys(&report),
        pairs(&[
            ("pvc-unprotected", "media/plex-cache"),
            ("pvc-unprotected", "media/radarr-config"),
            ("pvc-unprotected", "media/sonarr-cache"),
            ("pvc-unprotected", "previews/preview-data"),
        ])
    );
    // A generated object is reported at its template line.
    let cache = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["resource"]["name"] == "sonarr-cache")
        .cloned()
        .unwrap_or_default();
    assert_eq!((cache["file"].as_str(), cache["line"].as_u64()), (Some("snapshots.yaml"), Some(37)));
    let unrendered = report["unrendered"].as_array().cloned().unwrap_or_default();
    assert_eq!(unrendered.len(), 1, "{unrendered:?}");
    assert_eq!(unrendered[0]["name"], "previews/previews");
    assert!(unrendered[0]["reason"].as_str().is_some_and(|r| r.contains("GitHubPullRequest")));
    let human = stdout(&run(&["check", RESOURCESET, "--fail-on", "never"]));
    assert!(human.contains("Not rendered, so what they generate is not linted (1 ResourceSet)"), "{human}");
    insta::assert_snapshot!("resourceset.check", human);
    insta::assert_snapshot!("resourceset.inventory", stdout(&run(&["inventory", RESOURCESET])));
}

const RELATED: &str = "fixtures/trust/related-patches";

#[test]
fn a_patch_follows_a_finding_in_the_human_report_only_when_it_sets_the_field() {
    let report = json_report(Path::new(RELATED), &[]);
    let related = |rule: &str| -> Vec<String> {
        report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["rule"] == rule)
            .flat_map(|f| f["related"].as_array().cloned().unwrap_or_default())
            .filter_map(|r| r["message"].as_str().map(str::to_string))
            .collect()
    };
    // JSON keeps every related location.
    assert!(related("pvc-unprotected").contains(&"patched by an inline patch".to_string()));
    assert!(related("cnpg-scheduled-backup-cron").iter().any(|m| m.contains("schedule-patch.yaml")));
    let human = stdout(&run(&["check", RELATED, "--fail-on", "never"]));
    assert!(!human.contains("patched by an inline patch"), "the labels-on-every-claim patch is not shown:\n{human}");
    assert!(human.contains("patched by overlay/schedule-patch.yaml"), "{human}");
    insta::assert_snapshot!("related-patches.check", human);
}

#[test]
fn a_reference_in_a_generated_config_map_is_reported_at_its_line() {
    let report = json_report(Path::new("fixtures/trust/generated-reference"), &[]);
    let f = report["findings"].as_array().and_then(|f| f.first()).cloned().unwrap_or_default();
    assert_eq!(f["rule"], "flux-substitution-undefined");
    assert_eq!(
        (f["file"].as_str(), f["line"].as_u64(), f["column"].as_u64()),
        (Some("app/config.yaml"), Some(3), Some(14)),
        "the line of `${{API_HOST}}`, not the whole file: {f}"
    );
}

#[test]
fn the_inventory_says_what_it_cannot_resolve_and_what_nothing_mounts() {
    // A PVC nothing mounts says so; one a Deployment mounts takes its app.
    let inv = stdout(&run(&["inventory", "examples/homelab"]));
    assert!(inv.contains("audiobookshelf (not mounted)"), "{inv}");
    assert!(inv.lines().any(|l| l.starts_with("linkding ") && l.contains("linkding/linkding-data-pvc")), "{inv}");
    // A suspended pg_dump CronJob names the Cluster it leaves bare.
    let check = stdout(&run(&["check", "examples/homelab", "--format", "concise", "--fail-on", "never"]));
    assert!(
        check.lines().any(|l| l.contains("cronjob-suspended")
            && l.contains("it leaves Cluster `paperless/paperless-db` without a running backup")),
        "{check}"
    );
}

#[test]
fn unresolved_values_and_missing_namespaces_are_said_so() {
    let inv = stdout(&run(&["inventory", "fixtures/trust/unresolved"]));
    assert!(inv.contains("(no namespace)/scratch"), "{inv}");
    assert!(inv.contains("${SIZE} (`${SIZE}` unresolved)"), "{inv}");
    assert!(inv.contains("${STORAGE_CLASS} (`${STORAGE_CLASS}` unresolved)"), "{inv}");
    insta::assert_snapshot!("unresolved.inventory", inv);
}

#[test]
fn an_unrendered_resource_set_is_named_in_markdown_and_github_output() {
    let md = stdout(&run(&["check", RESOURCESET, "--format", "markdown", "--fail-on", "never"]));
    assert!(md.contains("> ResourceSet `previews/previews` (`previews.yaml:15`) is not rendered"), "{md}");
    let gh = stdout(&run(&["check", RESOURCESET, "--format", "github", "--fail-on", "never"]));
    assert!(gh.lines().any(|l| l.starts_with("::warning file=previews.yaml,line=15,")), "{gh}");
}

/// Backup tools recognised by what they are: a postgres-backup-local image
/// dumps a CNPG Cluster through `POSTGRES_HOST`, a mysqldump CronJob dumps
/// the MariaDB StatefulSet it connects to (both logical only), and a CronJob
/// of an unknown image that mounts a PVC read-only is possibly a backup:
/// shown, not counted, and said in the PVC's finding. Servers snapshotted
/// over the network (`influx backup`, a Vault raft snapshot) are covered.
#[test]
fn dump_tools_cover_what_they_read_and_unknown_jobs_are_possible_backups() {
    const DIR: &str = "fixtures/trust/backup-tools";
    let inventory = run(&["inventory", DIR, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&inventory.stdout).expect("inventory JSON parses");
    let item = |name: &str| {
        report["items"].as_array().into_iter().flatten().find(|i| i["name"] == name).cloned().unwrap_or_default()
    };
    let mariadb = item("data-mariadb-N");
    assert_eq!(mariadb["protected"], true, "{mariadb}");
    assert!(mariadb["protection"][0]
        .as_str()
        .is_some_and(|p| p.contains("mysqldump of `mariadb`") && p.contains("logical only")));
    let cluster = item("wiki-db");
    assert!(cluster["protection"][0]
        .as_str()
        .is_some_and(|p| p.starts_with("pg_dump (logical only): CronJob wiki-db-dump")));
    // Snapshots a server writes when asked over the network: `influx
    // backup` from a script mounted from a ConfigMap (the host in a URL),
    // Vault's raft snapshot (the server in VAULT_ADDR).
    for (name, tool) in
        [("data-influxdb-N", "influx backup of `influxdb`"), ("data-vault-N", "vault raft snapshot of `vault`")]
    {
        let it = item(name);
        assert_eq!(it["protected"], true, "{it}");
        assert!(
            it["protection"][0].as_str().is_some_and(|p| p.starts_with("snapshot: CronJob") && p.contains(tool)),
            "{it}"
        );
    }
    let photos = item("photos");
    assert_eq!(photos["protected"], false, "{photos}");
    assert_eq!(photos["possibleBackups"][0], "CronJob `photos-sync` mounts it read-only");

    let findings = json_report(Path::new(DIR), &[]);
    let unprotected: Vec<&serde_json::Value> =
        findings["findings"].as_array().into_iter().flatten().filter(|f| f["rule"] == "pvc-unprotected").collect();
    assert_eq!(unprotected.len(), 1, "only the photos PVC: {unprotected:?}");
    assert!(unprotected[0]["message"].as_str().is_some_and(|m| m.contains("possibly a backup (unrecognised tool)")));
    insta::assert_snapshot!("backup-tools.inventory", stdout(&run(&["inventory", DIR])));
}

#[test]
fn a_claim_a_release_mounts_by_its_own_name_is_mounted_by_it() {
    let tree = "fixtures/report/release-name-claim";
    let inv = stdout(&run(&["inventory", tree]));
    let row = inv.lines().find(|l| l.contains("default/recyclarr")).unwrap_or_default();
    assert!(row.starts_with("recyclarr ") && !row.contains("not mounted"), "{inv}");
}

#[test]
fn a_claim_one_release_makes_and_another_mounts_is_one_item() {
    let tree = "fixtures/trust/shared-chart-claim";
    let out = run(&["inventory", tree, "--format", "json"]);
    let inv: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inventory JSON parses");
    let names: Vec<&str> = inv["items"].as_array().into_iter().flatten().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(names, ["plex (config)"], "{inv}");
    let report = json_report(Path::new(tree), &[]);
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(1), "{}", report["findings"]);
}

const KYVERNO: &str = "fixtures/trust/kyverno-generate";

/// Kyverno generate rules make one backup object per claim they match:
/// those claims are protected by what the policy generates, under the
/// names it gives; a claim the rule does not match (a missing label, an
/// excluded namespace) is not; a rule whose object lifeboat cannot name
/// is said in a note and credits nothing.
#[test]
fn what_kyverno_policies_generate_for_a_claim_protects_it() {
    let report = json_report(Path::new(KYVERNO), &[]);
    assert_eq!(
        finding_keys(&report),
        pairs(&[
            ("pvc-unprotected", "apps/wiki-data"),
            ("pvc-unprotected", "media/sonarr-config"),
            ("pvc-unprotected", "scratch/tmp-data"),
        ])
    );
    let notes: Vec<&str> =
        report["notes"].as_array().into_iter().flatten().filter_map(|n| n["message"].as_str()).collect();
    assert_eq!(
        notes,
        vec![
            "Kyverno ClusterPolicy `from-the-api` rule `lookup` names its object with `{{ prefix }}`, which lifeboat \
             cannot read: what it generates is not modelled, so nothing counts as protected by it"
        ]
    );
    let out = run(&["inventory", KYVERNO, "--format", "json"]);
    let inv: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inventory JSON");
    let protection = |name: &str| -> String {
        inv["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["name"] == name)
            .and_then(|i| i["protection"].as_array())
            .map(|p| p.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("; "))
            .unwrap_or_default()
    };
    assert!(protection("jellyfin-config").contains("CronJob `jellyfin-jellyfin-config-snapshot`"), "{inv}");
    assert!(protection("paperless-data").contains("ReplicationSource `paperless-data-backup`"), "{inv}");
    // The `||` fallback gave the schedule.
    assert!(protection("paperless-data").contains("0 2 * * *"), "{inv}");
    assert_eq!(protection("sonarr-config"), "");
    insta::assert_snapshot!(
        "kyverno-generate.check",
        stdout(&run(&["check", KYVERNO, "--fail-on", "never", "--verbose"]))
    );
    insta::assert_snapshot!("kyverno-generate.inventory", stdout(&run(&["inventory", KYVERNO])));
}

#[test]
fn a_finding_on_removed_pgo_backups_names_the_patch_that_removed_them() {
    let tree = "fixtures/trust/pgo-backups-removed";
    let report = json_report(Path::new(tree), &[]);
    let finding = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["rule"] == "pgo-no-backup-repo")
        .cloned()
        .unwrap_or_default();
    assert!(finding["message"].as_str().is_some_and(|m| m.contains("a patch removes its `spec.backups`")), "{finding}");
    let related: Vec<(&str, u64)> = finding["related"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r["message"].as_str()?, r["line"].as_u64()?)))
        .collect();
    assert!(related.contains(&("this patch removes its backups", 8)), "{related:?}");
    let human = stdout(&run(&["check", tree, "--fail-on", "never"]));
    assert!(human.contains("this patch removes its backups"), "the human report shows the patch:\n{human}");
}

/// A values file that Flux's substitution changes (`${MAIN_SC}` filled in)
/// keeps its positions: the finding is on the persistence entry's line,
/// in every format, not at the top of the file.
#[test]
fn a_substituted_values_file_keeps_its_lines() {
    let tree = "fixtures/trust/substituted-values";
    let f = only_finding(tree);
    assert_eq!(f["rule"], "pvc-unprotected");
    assert_eq!(f["file"], "apps/media/tautulli/values.yaml");
    assert_eq!((f["line"].as_u64(), f["column"].as_u64()), (Some(12), Some(3)), "{f}");
    // The substitution did happen: the claim is on the class it names.
    let inventory = run(&["inventory", tree]);
    assert!(stdout(&inventory).contains("iscsi-delete"), "{}", stdout(&inventory));
    // The snippet shows that line, its key underlined.
    let human = run(&["check", tree, "--fail-on", "never"]);
    let text = stdout(&human);
    assert!(text.contains("values.yaml:12:3]") && text.contains("12 │   config:"), "{text}");
}

/// The help proposes the backup the repository already uses.
#[test]
fn the_help_proposes_the_mechanism_the_repository_uses() {
    let f = only_finding("fixtures/trust/kopiur-help");
    assert_eq!(f["resource"]["name"], "slskd");
    let help = f["help"].as_str().unwrap_or("");
    assert!(help.contains("kopiur SnapshotPolicy") && help.contains("{pvc: {name: slskd}}"), "{help}");
    assert!(!help.contains("ReplicationSource"), "{help}");
}

/// A static Ceph volume of the Ceph cluster Rook's chart runs here is
/// cluster data: unprotected, not external storage.
#[test]
fn a_static_volume_of_the_repositorys_own_ceph_is_cluster_storage() {
    assert_eq!(keys("fixtures/trust/rook-chart-static-pv", &[]), pairs(&[("pvc-unprotected", "media/media")]));
}

/// A variable whose value is in a SOPS-encrypted Secret is said to be
/// there, in the finding and the inventory, not only "unresolved".
#[test]
fn an_unreadable_variable_says_where_its_value_is() {
    let tree = "fixtures/trust/hidden-variable";
    let f = only_finding(tree);
    let said = "`${NFS_SERVER}`: its value is in Secret `cluster-secrets`, which lifeboat cannot read";
    assert!(f["message"].as_str().is_some_and(|m| m.contains(said)), "{f}");
    assert!(stdout(&run(&["inventory", tree])).contains(said));
}

/// A claim bound to a static Longhorn volume (by `volumeName` or the
/// volume's `claimRef`) is Longhorn's whatever its class is called: the
/// `default` group's RecurringJobs back it up. Another driver's is not.
#[test]
fn a_static_longhorn_volume_is_in_the_default_group() {
    let f = only_finding("fixtures/trust/longhorn-static-volume");
    assert_eq!(
        (f["rule"].as_str(), f["resource"]["name"].as_str()),
        (Some("pvc-unprotected"), Some("lidarr-config-pvc"))
    );
    let out = run(&["inventory", "--format", "json", "fixtures/trust/longhorn-static-volume"]);
    let inv: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap_or_default();
    for name in ["sonarr-config-pvc", "radarr-config-pvc"] {
        let item = inv["items"].as_array().into_iter().flatten().find(|i| i["name"] == name);
        let protection = item.map(|i| i["protection"].to_string()).unwrap_or_default();
        assert!(protection.contains("weekly-backups"), "{name}: {inv}");
    }
}

/// kustomize-mutating-webhook adds the keys of the sources its values name
/// to every Flux Kustomization's substitution (one without `postBuild`
/// too); another admission mutation of Kustomizations makes what they
/// substitute unknown, so no variable is said to be undefined.
#[test]
fn what_a_webhook_adds_to_flux_substitution_is_read_or_said_unknown() {
    let f = only_finding("fixtures/trust/mutating-webhook");
    assert_eq!(f["rule"], "flux-substitution-undefined");
    let message = f["message"].as_str().unwrap_or("");
    assert!(message.starts_with("`${NOPE}` has no value"), "{message}");
    assert!(
        message.contains("nor in ConfigMap `cluster-config` (added by HelmRelease `kustomize-mutating-webhook`)"),
        "{message}"
    );
    assert!(keys("fixtures/trust/mutating-policy", &[]).is_empty());
}

/// Two Flux Kustomizations that substitute the same variable from their own
/// Secrets: each finding and inventory row names the Secret of the
/// Kustomization that deploys it, not the first one found.
#[test]
fn a_hidden_variable_is_said_to_be_in_its_own_kustomizations_source() {
    let tree = "fixtures/trust/hidden-variable-per-kustomization";
    let report = json_report(Path::new(tree), &[]);
    for app in ["av1corrector", "videodupfinder"] {
        let f =
            report["findings"].as_array().into_iter().flatten().find(|f| f["resource"]["name"] == format!("{app}-pvc"));
        let message = f.map(|f| f["message"].to_string()).unwrap_or_default();
        assert!(message.contains(&format!("`${{NFS_HOST}}`: its value is in Secret `{app}-secret`")), "{message}");
        let other = if app == "av1corrector" { "videodupfinder" } else { "av1corrector" };
        assert!(!message.contains(&format!("{other}-secret")), "{message}");
    }
    let inv = stdout(&run(&["inventory", tree]));
    let row = inv.lines().find(|l| l.contains("media/videodupfinder-pvc")).unwrap_or("");
    assert!(row.contains("in Secret `videodupfinder-secret`") && !row.contains("av1corrector-secret"), "{inv}");
}

/// A `${VAR}` inside a block scalar of many lines (a dashboard's JSON in a
/// ConfigMap) is reported at its own line and column, not at the top of
/// the block.
#[test]
fn a_reference_in_a_block_scalar_is_reported_at_its_line() {
    let f = only_finding("fixtures/trust/substitution-in-block");
    assert_eq!(f["rule"], "flux-substitution-undefined");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64(), f["end_column"].as_u64()),
        (Some(11), Some(26), Some(42)),
        "{f}"
    );
}
