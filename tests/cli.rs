//! The command-line contract: exit codes, formats, config errors, the
//! default command, and secrets never printed.

mod common;

use common::{json_report, lifeboat, rules_of, run, stderr, stdout};
use std::path::Path;

const DEMO: &str = "examples/homelab";
const CLEAN: &str = "fixtures/clean";

#[test]
fn exit_codes_follow_fail_on() {
    assert_eq!(run(&["check", CLEAN]).status.code(), Some(0), "a clean repo exits 0");
    assert_eq!(run(&["check", DEMO]).status.code(), Some(1), "findings at or above warning exit 1");
    assert_eq!(run(&["check", DEMO, "--fail-on", "never"]).status.code(), Some(0));
    // only warnings: --fail-on error passes
    let warn_only =
        ["check", "fixtures/rules/cnpg-scheduled-backup-suspended/bad", "--select", "cnpg-scheduled-backup-suspended"];
    assert_eq!(run(&[&warn_only[..], &["--fail-on", "error"]].concat()).status.code(), Some(0));
    assert_eq!(run(&[&warn_only[..], &["--fail-on", "warning"]].concat()).status.code(), Some(1));
}

#[test]
fn a_failed_run_exits_2_and_says_why() {
    let out = run(&["check", "no/such/path"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no such file or directory: no/such/path"), "{}", stderr(&out));

    let out = run(&["check", CLEAN, "--select", "cnpg-no-such-rule"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown rule id `cnpg-no-such-rule`"));

    let out = run(&["check", CLEAN, "--format", "xml"]);
    assert_eq!(out.status.code(), Some(2));

    let out = run(&["check", CLEAN, "--config", "no-such-config.yaml"]);
    assert_eq!(out.status.code(), Some(2));
}

fn with_config(config: &str) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(".lifeboat.yaml"), config).expect("write config");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules/cnpg-recovery-left-in/bad/cluster.yaml"),
        dir.path().join("cluster.yaml"),
    )
    .expect("copy");
    let out = lifeboat().args(["check", &dir.path().to_string_lossy(), "--format", "json"]).output().expect("runs");
    (dir, out)
}

#[test]
fn config_errors_name_their_line() {
    let (_d, out) = with_config("rules:\n  cnpg-recovery-left-in: error\nexlude: []\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(":3:1: unknown key `exlude`"), "{}", stderr(&out));

    let (_d, out) = with_config("rules:\n  cnpg-recovery-leftin: off\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(":2:3: unknown rule id `cnpg-recovery-leftin`"), "{}", stderr(&out));

    let (_d, out) = with_config("rules:\n  cnpg-recovery-left-in: loud\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`loud` is not a severity"), "{}", stderr(&out));

    let (_d, out) = with_config("exclude:\n  - kind: Cluster\n    nmae: x\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(":3:5: unknown key `nmae`"), "{}", stderr(&out));
}

#[test]
fn config_changes_severity_and_turns_rules_off() {
    let (_d, out) = with_config("rules:\n  cnpg-recovery-left-in: error\n");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let severities: Vec<_> =
        report["findings"].as_array().into_iter().flatten().map(|f| f["severity"].clone()).collect();
    assert!(!severities.is_empty() && severities.iter().all(|s| s == "error"), "{severities:?}");

    let (_d, out) = with_config("rules:\n  cnpg-recovery-left-in: off\n  cnpg-no-wal-archive: off\n");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let rules = rules_of(&report);
    assert!(!rules.iter().any(|r| r == "cnpg-recovery-left-in" || r == "cnpg-no-wal-archive"), "{rules:?}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn the_default_command_is_check() {
    let a = run(&[CLEAN, "--format", "json"]);
    let b = run(&["check", CLEAN, "--format", "json"]);
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(stdout(&a), stdout(&b));
}

#[test]
fn output_goes_to_the_file_and_nowhere_else() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("report.sarif");
    let out = run(&["check", DEMO, "--format", "sarif", "--output", &file.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing on stdout with --output");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("written")).expect("json");
    assert_eq!(sarif["version"], "2.1.0");
}

#[test]
fn json_report_follows_the_contract() {
    let report = json_report(Path::new(DEMO), &[]);
    assert_eq!(report["version"], 1);
    assert_eq!(report["tool"]["name"], "lifeboat");
    let findings = report["findings"].as_array().expect("findings");
    for f in findings {
        for key in ["rule", "severity", "message", "file", "line", "column", "end_line", "end_column", "fingerprint"] {
            assert!(!f[key].is_null(), "finding lacks {key}: {f}");
        }
        // Relative to the repository root (the config's directory), whatever the working directory.
        assert!(f["file"]
            .as_str()
            .is_some_and(|p| !p.starts_with("examples/") && !p.starts_with('/') && !p.contains('\\')));
    }
    let fps: std::collections::HashSet<_> = findings.iter().map(|f| f["fingerprint"].as_str()).collect();
    assert_eq!(fps.len(), findings.len(), "fingerprints are unique");
    assert_eq!(report["summary"]["suppressed"], 1, "warehouse-dev is excluded by .lifeboat.yaml");
    assert_eq!(
        report["summary"]["errors"].as_u64().unwrap_or(0)
            + report["summary"]["warnings"].as_u64().unwrap_or(0)
            + report["summary"]["infos"].as_u64().unwrap_or(0),
        findings.len() as u64
    );
}

/// Rules the demo does not show: it parses, its config is sound, and it is
/// plain kustomize (no Flux substitution).
const NOT_IN_DEMO: &[&str] =
    &["exclusion-missing-reason", "exclusion-unused", "flux-substitution-undefined", "yaml-syntax"];

#[test]
fn the_demo_shows_every_rule_once() {
    let report = json_report(Path::new(DEMO), &[]);
    let found = rules_of(&report);
    let inventory: serde_json::Value =
        serde_json::from_slice(&run(&["inventory", DEMO, "--format", "json"]).stdout).expect("json");
    // Rows with no mechanism at all: a paused or suspended one is its own
    // rule's finding, not a second pvc-unprotected.
    let bare = inventory["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["kind"] != "CNPG Cluster" && i["kind"] != "PGO PostgresCluster" && i["excluded"].is_null())
        .filter(|i| i["protection"].as_array().is_none_or(Vec::is_empty) && i["externalStorage"].is_null())
        .count();
    for rule in lifeboat::rules::RULES {
        let id = rule.meta.id;
        let count = found.iter().filter(|r| r.as_str() == id).count();
        if NOT_IN_DEMO.contains(&id) {
            assert_eq!(count, 0, "{id} fires on the demo");
        } else if id == "pvc-unprotected" {
            assert_eq!(count, bare, "one pvc-unprotected per NOT PROTECTED inventory row");
        } else {
            assert_eq!(count, 1, "{id} should fire exactly once on the demo");
        }
    }
    insta::assert_snapshot!("demo.human", stdout(&run(&["check", DEMO])));
    insta::assert_snapshot!("demo.github", stdout(&run(&["check", DEMO, "--format", "github"])));
    insta::assert_snapshot!("demo.markdown", stdout(&run(&["check", DEMO, "--format", "markdown"])));
}

#[test]
fn fingerprints_do_not_depend_on_line_numbers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules/cnpg-bootstrap-multiple/bad/cluster.yaml"),
    )
    .expect("read");
    std::fs::write(dir.path().join("c.yaml"), &src).expect("write");
    let before = json_report(dir.path(), &[]);
    std::fs::write(dir.path().join("c.yaml"), format!("# a comment\n# another\n{src}")).expect("write");
    let after = json_report(dir.path(), &[]);
    let fps = |r: &serde_json::Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| f["fingerprint"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(fps(&before), fps(&after));
    assert_ne!(before["findings"][0]["line"], after["findings"][0]["line"]);
}

#[test]
fn secret_values_are_never_printed() {
    let bad = "fixtures/rules/cnpg-credentials-plaintext/bad";
    for format in ["human", "json", "sarif", "github", "markdown"] {
        let out = stdout(&run(&["check", bad, "--format", format]));
        assert!(out.contains("cnpg-credentials-plaintext"), "{format}: the finding is reported");
        assert!(
            !out.contains("AKIAFIXTURE") && !out.contains("fixture-secret-value"),
            "{format} prints a secret:\n{out}"
        );
    }
    let demo = stdout(&run(&["check", DEMO, "--verbose"]));
    assert!(!demo.contains("bm90LWEtcmVhbC1rZXktZGVtby1vbmx5"), "the demo's committed key is never printed");
}

#[test]
fn github_annotations_are_escaped_workflow_commands() {
    let out = stdout(&run(&["check", DEMO, "--format", "github"]));
    let (annotations, summary) = out.trim_end().rsplit_once('\n').expect("annotations, then a summary line");
    assert!(summary.starts_with("lifeboat: 25 errors, 10 warnings, 1 info in "), "{summary}");
    for line in annotations.lines() {
        let multi_line = line.contains(",endLine=");
        assert!(!(multi_line && line.contains(",col=")), "no columns on a finding over several lines: {line}");
        assert!(
            line.starts_with("::error file=")
                || line.starts_with("::warning file=")
                || line.starts_with("::notice file="),
            "{line}"
        );
        assert!(!line.contains('\n') && line.contains(",title=lifeboat "), "{line}");
    }
}

#[test]
fn rules_and_explain() {
    let out = run(&["rules", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(lifeboat::rules::RULES.len()));
    let table = stdout(&run(&["rules"]));
    assert!(table.contains("cnpg-no-wal-archive") && table.contains("error"));

    let out = run(&["explain", "cnpg-scheduled-backup-cron"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("# cnpg-scheduled-backup-cron"));
    assert_eq!(run(&["explain", "nope"]).status.code(), Some(2));
}

#[test]
fn sarif_validates_against_the_schema() {
    let mut schema: serde_json::Value =
        serde_json::from_str(include_str!("data/sarif-schema-2.1.0.json")).expect("the vendored schema parses");
    // The official schema's `language` patterns have a stray `]` that is not a
    // valid ECMA 262 regex, so the schema fails its own meta-schema; use the
    // pattern they evidently mean (lifeboat writes no `language`).
    fn fix_patterns(v: &mut serde_json::Value, fixed: &mut usize) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, child) in map.iter_mut() {
                    if k == "pattern" && child == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$" {
                        *child = serde_json::json!("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
                        *fixed += 1;
                    } else {
                        fix_patterns(child, fixed);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|c| fix_patterns(c, fixed)),
            _ => {}
        }
    }
    let mut fixed = 0;
    fix_patterns(&mut schema, &mut fixed);
    assert!(fixed > 0, "the vendored schema changed: revisit this fix-up");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    for path in [DEMO, CLEAN] {
        let out = run(&["check", path, "--format", "sarif"]);
        let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let errors: Vec<String> =
            validator.iter_errors(&sarif).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{path}: SARIF is invalid: {errors:#?}");
        let run0 = &sarif["runs"][0];
        assert!(run0["results"].is_array(), "results is present even when empty");
        assert_eq!(run0["tool"]["driver"]["rules"].as_array().map(Vec::len), Some(lifeboat::rules::RULES.len()));
        for r in run0["results"].as_array().into_iter().flatten() {
            let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap_or("");
            assert!(!uri.starts_with("examples/") && !uri.starts_with('/'), "repo-relative uri: {uri}");
            assert_eq!(r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"], "%SRCROOT%");
            assert!(r["partialFingerprints"].is_object());
        }
    }
}

fn rows<'a>(items: &'a [serde_json::Value], app: &str) -> Vec<&'a serde_json::Value> {
    items.iter().filter(|i| i["app"] == app).collect()
}

fn gib(size: &serde_json::Value) -> u64 {
    size.as_str().and_then(|s| s.strip_suffix("Gi")).and_then(|n| n.parse().ok()).expect("a size in Gi")
}

/// The seed's "Current State" table (data-resilience-plan.md): Audiobookshelf
/// 4 PVCs (22 Gi) not backed up; Linkding 1 PVC (1 Gi) not backed up; Actual
/// Budget 1 PVC (20 Gi, Helm) backed up to Azure Blob weekly; Airflow's 2 Gi
/// CNPG volume; warehouse-dev excluded.
#[test]
fn inventory_reproduces_the_seed_table() {
    let out = run(&["inventory", DEMO, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let inv: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let items = inv["items"].as_array().expect("items");

    let abs = rows(items, "audiobookshelf");
    assert_eq!(abs.len(), 4);
    assert_eq!(abs.iter().map(|r| gib(&r["size"])).sum::<u64>(), 22);
    assert!(abs.iter().all(|r| r["kind"] == "PVC" && r["protected"] == false));

    let linkding: Vec<_> = rows(items, "linkding").into_iter().filter(|r| r["kind"] == "PVC").collect();
    assert_eq!(linkding.len(), 1);
    assert_eq!(gib(&linkding[0]["size"]), 1);
    assert_eq!(linkding[0]["protected"], false, "its backup CronJob names the wrong claim");

    let actual = rows(items, "actualbudget");
    assert_eq!(actual.len(), 1);
    assert_eq!((actual[0]["kind"].as_str(), gib(&actual[0]["size"])), (Some("Helm persistence"), 20));
    let how = actual[0]["protection"][0].as_str().expect("protected");
    assert!(how.contains("az storage") && how.contains("every Sunday"), "{how}");

    let airflow = rows(items, "airflow");
    assert_eq!((airflow[0]["kind"].as_str(), gib(&airflow[0]["size"])), (Some("CNPG Cluster"), 2));

    let dev = items.iter().find(|i| i["name"] == "warehouse-db-dev-cnpg-v1").expect("warehouse-dev listed");
    assert!(dev["excluded"].as_str().is_some_and(|r| r.starts_with("dev data")));
    let paperless = items.iter().find(|i| i["name"] == "paperless-db").expect("paperless listed");
    assert_eq!(paperless["protected"], false, "its pg_dump job is suspended: listed, but it protects nothing");
    assert!(paperless["protection"][0].as_str().is_some_and(|p| p.contains("SUSPENDED — does not run")));
    let summary = &inv["summary"];
    assert_eq!(summary["items"].as_u64(), Some(items.len() as u64));
    insta::assert_snapshot!("demo.inventory", stdout(&run(&["inventory", DEMO, "--format", "markdown"])));
    insta::assert_snapshot!("demo.inventory.table", stdout(&run(&["inventory", DEMO])));
}

#[test]
fn the_readme_shows_the_current_inventory() {
    let markdown = stdout(&run(&["inventory", DEMO, "--format", "markdown"]));
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README");
    assert!(readme.contains(&markdown), "README.md's inventory table is out of date: paste\n{markdown}");
}

#[test]
fn a_config_with_a_bom_points_at_the_right_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join(".lifeboat.yaml"),
        "\u{feff}exclude:\n  - kind: Cluster\n    name: nothing-matches\n    reason: gone\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
        .expect("write");
    let out = lifeboat().args(["check", &dir.path().to_string_lossy(), "--fail-on", "never"]).output().expect("runs");
    let text = stdout(&out);
    assert!(text.contains("exclusion-unused"), "{text}");
    assert!(text.contains(".lifeboat.yaml:2:5]"), "the snippet starts at the entry, not 3 bytes early:\n{text}");
}

#[test]
fn concise_is_one_line_per_finding_and_statistics_count_per_rule() {
    let concise = stdout(&run(&["check", "examples/homelab", "--format", "concise"]));
    let json = common::json_report(std::path::Path::new("examples/homelab"), &[]);
    let count = json["findings"].as_array().map_or(0, Vec::len);
    let lines: Vec<&str> = concise.lines().collect();
    assert_eq!(lines.len(), count + 1, "one line per finding and a summary line");
    for line in &lines[..count] {
        let mut parts = line.splitn(4, ':');
        let (file, l, c) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        assert!(file.ends_with(".yaml") && l.parse::<u32>().is_ok() && c.parse::<u32>().is_ok(), "{line}");
    }
    insta::assert_snapshot!("demo.concise", concise);
    let stats = stdout(&run(&["check", "examples/homelab", "--statistics"]));
    assert!(stats.lines().next().is_some_and(|l| l.trim_start().starts_with("6  pvc-unprotected")), "{stats}");
    insta::assert_snapshot!("demo.statistics", stats);
}

/// One base deployed by four overlays: four findings at one line. The human
/// report shows the first whole and folds the other three into a line that
/// names them; `--verbose`, JSON and concise keep every one.
#[test]
fn findings_of_one_template_fold_into_one_line() {
    const FOLD: &str = "fixtures/report/fold";
    let human = stdout(&run(&["check", FOLD]));
    insta::assert_snapshot!("fold.human", human);
    assert_eq!(human.matches("× PersistentVolumeClaim").count(), 1, "{human}");
    assert!(
        human.contains("… and 3 more pvc-unprotected findings at base/pvc.yaml:4:3")
            && human.contains("`team-b/wiki-data`, `team-c/wiki-data`, `team-d/wiki-data`"),
        "{human}"
    );
    assert!(human.contains("Found 4 errors"), "the summary counts every finding: {human}");
    let verbose = stdout(&run(&["check", FOLD, "--verbose"]));
    assert_eq!(verbose.matches("× PersistentVolumeClaim").count(), 4, "{verbose}");
    assert!(!verbose.contains("more pvc-unprotected findings"), "{verbose}");
    let concise = stdout(&run(&["check", FOLD, "--format", "concise"]));
    assert_eq!(concise.matches("pvc-unprotected [error]").count(), 4, "{concise}");
    assert_eq!(rules_of(&json_report(Path::new(FOLD), &[])).len(), 4);
}

/// Two findings at one place stay whole: folding starts at three.
#[test]
fn two_findings_at_one_place_are_both_shown() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/report/fold");
    for rel in
        ["base/kustomization.yaml", "base/pvc.yaml", "overlays/a/kustomization.yaml", "overlays/b/kustomization.yaml"]
    {
        let to = tmp.path().join(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(src.join(rel), to).expect("copy");
    }
    let dir = tmp.path().to_string_lossy().into_owned();
    let human = stdout(&run(&["check", &dir]));
    assert_eq!(human.matches("× PersistentVolumeClaim").count(), 2, "{human}");
    assert!(!human.contains("more pvc-unprotected"), "{human}");
}

/// A rule may report a lesser case below its default level; a severity set
/// in `.lifeboat.yaml` applies to every finding of the rule all the same.
#[test]
fn a_configured_severity_applies_to_every_finding_of_the_rule() {
    const BAD: &str = "fixtures/rules/volsync-shared-repository/bad";
    let levels = |report: &serde_json::Value| -> Vec<String> {
        let mut l: Vec<String> = report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["severity"].as_str().map(str::to_string))
            .collect();
        l.sort();
        l.dedup();
        l
    };
    let default = json_report(Path::new(BAD), &["--select", "volsync-shared-repository"]);
    assert_eq!(levels(&default), ["error", "warning"], "{}", default["findings"]);
    let tmp = tempfile::tempdir().expect("temp dir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(BAD).join("sources.yaml");
    std::fs::copy(src, tmp.path().join("sources.yaml")).expect("copy");
    std::fs::write(tmp.path().join(".lifeboat.yaml"), "rules:\n  volsync-shared-repository: info\n").expect("write");
    let set = json_report(tmp.path(), &["--select", "volsync-shared-repository"]);
    assert_eq!(levels(&set), ["info"], "{}", set["findings"]);
}
