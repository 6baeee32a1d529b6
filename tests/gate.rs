//! The CI gate through the real binary: one repository root whatever the
//! arguments, stable fingerprints, the baseline, pull-request mode, and no
//! silent green.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::{lifeboat, run, stderr, stdout};
use serde_json::Value;

const DEMO: &str = "examples/homelab";

fn demo_abs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(DEMO)
}

fn in_dir(dir: &Path, args: &[&str]) -> Output {
    lifeboat().current_dir(dir).args(args).output().expect("the lifeboat binary runs")
}

fn json_in(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["check", "--format", "json", "--fail-on", "never"];
    all.extend_from_slice(args);
    let out = in_dir(dir, &all);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("the JSON report parses")
}

fn findings(report: &Value) -> Vec<Value> {
    report["findings"].as_array().cloned().unwrap_or_default()
}

fn files_of(report: &Value) -> Vec<String> {
    findings(report).iter().filter_map(|f| f["file"].as_str().map(str::to_string)).collect()
}

fn fingerprints(report: &Value) -> Vec<String> {
    let mut fps: Vec<String> =
        findings(report).iter().filter_map(|f| f["fingerprint"].as_str().map(str::to_string)).collect();
    fps.sort();
    fps
}

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

const PVC: &str = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: NAME\n  namespace: apps\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n";

fn pvc(name: &str) -> String {
    PVC.replace("NAME", name)
}

/// A small kustomize repository: two apps, each one unprotected PVC.
fn small_repo(dir: &Path) {
    write(&dir.join("kustomization.yaml"), "resources: [apps/a, apps/b]\n");
    write(&dir.join("apps/a/kustomization.yaml"), "resources: [pvc.yaml]\n");
    write(&dir.join("apps/a/pvc.yaml"), &pvc("a-data"));
    write(&dir.join("apps/b/kustomization.yaml"), "resources: [pvc.yaml]\n");
    write(&dir.join("apps/b/pvc.yaml"), &pvc("b-data"));
}

// 1. One repository root, whatever the arguments.

#[test]
fn a_subtree_or_one_file_gives_the_whole_run_s_findings_for_its_files() {
    let whole = json_in(Path::new(env!("CARGO_MANIFEST_DIR")), &[DEMO]);
    for (path, prefix) in [
        ("examples/homelab/apps/linkding", "apps/linkding/"),
        ("examples/homelab/apps/linkding/backup-cronjob.yaml", "apps/linkding/backup-cronjob.yaml"),
        ("examples/homelab/databases", "databases/"),
    ] {
        let part = json_in(Path::new(env!("CARGO_MANIFEST_DIR")), &[path]);
        let expected: Vec<Value> = findings(&whole)
            .into_iter()
            .filter(|f| f["file"].as_str().is_some_and(|p| p.starts_with(prefix)))
            .collect();
        assert!(!expected.is_empty(), "{path}: the demo has findings there");
        assert_eq!(findings(&part), expected, "{path}: the same findings as the whole run, for its files");
        assert_eq!(part["gate"]["scope"][0], prefix.trim_end_matches('/'), "{path}");
        // No cascade: what siblings hold was read.
        assert!(!findings(&part).iter().any(|f| f["rule"] == "exclusion-unused"), "{path}");
    }
}

#[test]
fn paths_are_relative_to_the_root_whatever_the_working_directory() {
    let demo = demo_abs();
    let from_project = json_in(Path::new(env!("CARGO_MANIFEST_DIR")), &[DEMO]);
    let from_root = json_in(&demo, &[]);
    let from_inside = json_in(&demo.join("apps"), &[".."]);
    let tmp = tempfile::tempdir().expect("temp dir");
    let demo_text = demo.to_string_lossy().into_owned();
    let from_elsewhere = json_in(tmp.path(), &[&demo_text]);
    for other in [&from_root, &from_inside, &from_elsewhere] {
        assert_eq!(findings(other), findings(&from_project));
    }
    assert!(files_of(&from_project).iter().all(|f| !f.starts_with('/') && !f.starts_with("examples")));
    // A subdirectory given from inside the repository: its findings, same paths.
    let apps = json_in(&demo.join("apps"), &["."]);
    assert!(!files_of(&apps).is_empty());
    assert!(files_of(&apps).iter().all(|f| f.starts_with("apps/")), "{:?}", files_of(&apps));
}

#[test]
fn the_git_work_tree_is_the_root_without_a_config() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("repo");
    small_repo(&repo);
    std::fs::create_dir_all(repo.join(".git")).expect("a .git directory");
    let report = json_in(&repo.join("apps/a"), &[]);
    assert_eq!(files_of(&report), vec!["apps/a/pvc.yaml".to_string()]);
    // GIT_CEILING_DIRECTORIES is honoured as git honours it.
    let ceiling = repo.to_string_lossy().into_owned();
    let out = lifeboat()
        .current_dir(repo.join("apps/a"))
        .env("GIT_CEILING_DIRECTORIES", &ceiling)
        .args(["check", "--format", "json", "--fail-on", "never"])
        .output()
        .expect("runs");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(files_of(&report), vec!["pvc.yaml".to_string()], "below the ceiling, the path is the root");
}

#[test]
fn paths_ignore_matches_relative_absolute_and_dotted_paths() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("repo");
    small_repo(&repo);
    write(&repo.join(".lifeboat.yaml"), "paths:\n  ignore: [\"archive/**\", \"apps/b/**\"]\n");
    write(&repo.join("archive/old.yaml"), &pvc("old-data"));
    let abs = repo.to_string_lossy().into_owned();
    for (dir, arg) in [
        (tmp.path(), "repo"),
        (tmp.path(), "./repo"),
        (tmp.path(), abs.as_str()),
        (repo.as_path(), "."),
        (repo.as_path(), abs.as_str()),
        (repo.join("apps").as_path(), ".."),
    ] {
        let report = json_in(dir, &["--verbose", arg]);
        assert_eq!(files_of(&report), vec!["apps/a/pvc.yaml".to_string()], "{arg} from {}", dir.display());
        let skipped: Vec<&str> = report["skipped"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["reason"] == "matched paths.ignore")
            .filter_map(|s| s["file"].as_str())
            .collect();
        assert_eq!(skipped, vec!["apps/b/kustomization.yaml", "apps/b/pvc.yaml", "archive/old.yaml"], "{arg}");
    }
}

#[test]
fn a_yml_config_and_a_config_directory_are_found() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("repo");
    small_repo(&repo);
    write(&repo.join(".lifeboat.yml"), "rules:\n  pvc-unprotected: off\n");
    let report = json_in(&repo.join("apps"), &[]);
    assert!(findings(&report).is_empty(), ".lifeboat.yml is read: {report}");
    std::fs::remove_file(repo.join(".lifeboat.yml")).expect("rm");
    write(&tmp.path().join("conf/.lifeboat.yaml"), "rules:\n  pvc-unprotected: info\n");
    let out = in_dir(tmp.path(), &["check", "repo", "--config", "conf", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "repo is outside the root the config in conf/ makes");
    assert!(stderr(&out).contains("outside the repository root"), "{}", stderr(&out));
    // `--config DIR`: the config in DIR, and DIR the root.
    std::fs::rename(tmp.path().join("conf/.lifeboat.yaml"), repo.join(".lifeboat.yaml")).expect("mv");
    let report = json_in(tmp.path(), &["repo/apps", "--config", "repo"]);
    assert_eq!(report["summary"]["infos"], 2, "the config in repo/ is used: {report}");
    let out = in_dir(&repo, &["check", "--config", "nowhere"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("config file not found"), "{}", stderr(&out));
}

// 2. Stable fingerprints.

#[test]
fn fingerprints_survive_edits_above_a_move_and_another_working_directory() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("repo");
    small_repo(&repo);
    let before = json_in(&repo, &[]);
    let fps = fingerprints(&before);
    assert_eq!(fps.len(), 2);
    // Edits above the finding: a comment and another document first.
    let text = std::fs::read_to_string(repo.join("apps/a/pvc.yaml")).expect("read");
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: apps}\n";
    write(&repo.join("apps/a/pvc.yaml"), &format!("# the app's data\n# (edited)\n{cm}---\n{text}"));
    let edited = json_in(&repo, &[]);
    assert_ne!(findings(&edited)[0]["line"], findings(&before)[0]["line"], "the line moved");
    assert_eq!(fingerprints(&edited), fps, "an edit above keeps the fingerprint");
    // A move of the file (the kustomization follows it).
    std::fs::rename(repo.join("apps/a/pvc.yaml"), repo.join("apps/a/claims.yaml")).expect("mv");
    write(&repo.join("apps/a/kustomization.yaml"), "resources: [claims.yaml]\n");
    let moved = json_in(&repo, &[]);
    assert!(files_of(&moved).contains(&"apps/a/claims.yaml".to_string()));
    assert_eq!(fingerprints(&moved), fps, "a move keeps the fingerprint");
    // Another working directory, relative or absolute.
    let abs = repo.to_string_lossy().into_owned();
    assert_eq!(fingerprints(&json_in(tmp.path(), &["repo"])), fps);
    assert_eq!(fingerprints(&json_in(&repo.join("apps/b"), &[&abs])), fps);
    // SARIF carries the same fingerprint.
    let out = in_dir(&repo, &["check", "--format", "sarif", "--fail-on", "never"]);
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("sarif");
    let mut sarif_fps: Vec<String> = sarif["runs"][0]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["partialFingerprints"]["lifeboatFingerprint/v2"].as_str().map(str::to_string))
        .collect();
    sarif_fps.sort();
    assert_eq!(sarif_fps, fps);
}

#[test]
fn the_demo_s_fingerprints_are_unique_and_stable() {
    let report = json_in(Path::new(env!("CARGO_MANIFEST_DIR")), &[DEMO]);
    let fps = fingerprints(&report);
    let unique: std::collections::BTreeSet<&String> = fps.iter().collect();
    assert_eq!(unique.len(), fps.len(), "one fingerprint per finding");
}

// 3. Baseline.

#[test]
fn baseline_write_then_clean_then_a_new_finding_fails_and_fixed_ones_are_stale() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("repo");
    small_repo(&repo);
    assert_eq!(in_dir(&repo, &["check"]).status.code(), Some(1), "two unprotected PVCs");
    let out = in_dir(&repo, &["baseline", "--output", "lifeboat-baseline.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(repo.join("lifeboat-baseline.json")).expect("written");
    insta::assert_snapshot!("small-repo.baseline", text);
    // A baseline to stdout is the same file.
    assert_eq!(stdout(&in_dir(&repo, &["baseline"])), text);

    // Accepted: a clean run, from another directory too.
    let out = in_dir(&repo, &["check", "--baseline", "lifeboat-baseline.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("Baseline lifeboat-baseline.json: 2 findings accepted."), "{}", stdout(&out));
    let out = in_dir(tmp.path(), &["check", "repo", "--baseline", "repo/lifeboat-baseline.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // A new finding fails, and only it is reported.
    write(&repo.join("apps/b/pvc.yaml"), &format!("{}---\n{}", pvc("b-data"), pvc("b-cache")));
    let out = in_dir(&repo, &["check", "--baseline", "lifeboat-baseline.json", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    let names: Vec<String> =
        findings(&report).iter().filter_map(|f| f["resource"]["name"].as_str().map(str::to_string)).collect();
    assert_eq!(names, vec!["b-cache"]);
    assert_eq!(report["gate"]["baseline"]["accepted"], 2);

    // A fixed finding: its entry no longer occurs, and is said so.
    write(&repo.join("apps/a/pvc.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: apps}\n");
    let out = in_dir(&repo, &["check", "--baseline", "lifeboat-baseline.json", "--format", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    let stale = report["gate"]["baseline"]["stale"].as_array().cloned().unwrap_or_default();
    assert_eq!(stale.len(), 1, "{report}");
    assert_eq!(stale[0]["resource"], "PersistentVolumeClaim apps/a-data");
    let human = stdout(&in_dir(&repo, &["check", "--baseline", "lifeboat-baseline.json"]));
    assert!(human.contains("1 entry no longer occurs"), "{human}");
    assert!(human.contains("no longer occurs: apps/a/pvc.yaml: pvc-unprotected on PersistentVolumeClaim apps/a-data"));
    // Stale entries are not a failure: the exit code is the new finding's.
    let out = in_dir(&repo, &["check", "--baseline", "lifeboat-baseline.json", "--fail-on", "error"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_bad_baseline_is_a_run_error() {
    let tmp = tempfile::tempdir().expect("temp dir");
    small_repo(tmp.path());
    for (text, says) in [("not json", "not valid JSON"), ("{\"version\": 9, \"findings\": []}", "version 9")] {
        write(&tmp.path().join("b.json"), text);
        let out = in_dir(tmp.path(), &["check", "--baseline", "b.json"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
    }
    let out = in_dir(tmp.path(), &["check", "--baseline", "missing.json"]);
    assert_eq!(out.status.code(), Some(2));
}

// 4. Pull-request mode.

fn git(dir: &Path, args: &[&str]) -> bool {
    std::process::Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

const CLUSTER: &str = "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: db, namespace: shop}\nspec:\n  instances: 2\n  plugins:\n    - name: barman-cloud.cloudnative-pg.io\n      isWALArchiver: true\n      parameters: {barmanObjectName: store}\n";
const STORE: &str = "apiVersion: barmancloud.cnpg.io/v1\nkind: ObjectStore\nmetadata: {name: store, namespace: shop}\nspec:\n  retentionPolicy: 30d\n  configuration:\n    destinationPath: s3://backups/shop\n    s3Credentials:\n      inheritFromIAMRole: true\n";
const SCHEDULED: &str = "apiVersion: postgresql.cnpg.io/v1\nkind: ScheduledBackup\nmetadata: {name: db-daily, namespace: shop}\nspec:\n  schedule: \"0 0 3 * * *\"\n  method: plugin\n  pluginConfiguration: {name: barman-cloud.cloudnative-pg.io}\n  cluster: {name: db}\n";

/// A git repository: a backed-up database (`db/`) and an app (`apps/a`),
/// committed on `main`; returns false when git is not installed.
fn git_repo(repo: &Path) -> bool {
    small_repo(repo);
    write(&repo.join("kustomization.yaml"), "resources: [apps/a, apps/b, db]\n");
    write(&repo.join("db/kustomization.yaml"), "resources: [cluster.yaml, store.yaml, scheduledbackup.yaml]\n");
    write(&repo.join("db/cluster.yaml"), CLUSTER);
    write(&repo.join("db/store.yaml"), STORE);
    write(&repo.join("db/scheduledbackup.yaml"), SCHEDULED);
    git(repo, &["init", "-q", "-b", "main"]) && git(repo, &["add", "-A"]) && git(repo, &["commit", "-q", "-m", "init"])
}

fn rules_and_names(report: &Value) -> Vec<(String, String)> {
    findings(report)
        .iter()
        .map(|f| {
            (f["rule"].as_str().unwrap_or("").to_string(), f["resource"]["name"].as_str().unwrap_or("").to_string())
        })
        .collect()
}

#[test]
fn diff_base_reports_the_findings_of_changed_files_and_of_a_deleted_scheduled_backup() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("repo");
    if !git_repo(&repo) {
        println!("skipped: git is not installed");
        return;
    }
    let whole = json_in(&repo, &[]);
    assert_eq!(rules_and_names(&whole).len(), 2, "two PVCs unprotected, the database backed up: {whole}");
    let _ = git(&repo, &["checkout", "-q", "-b", "feature"]);
    // Nothing changed: nothing reported, and the run passes.
    let out = in_dir(&repo, &["check", "--diff-base", "main"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("Pull-request mode: 0 changed files"), "{}", stdout(&out));

    // One app changed (committed): its finding only.
    write(&repo.join("apps/b/pvc.yaml"), &format!("# resized\n{}", pvc("b-data")));
    let _ = git(&repo, &["commit", "-qam", "b"]);
    let report = json_in(&repo, &["--diff-base", "main"]);
    assert_eq!(rules_and_names(&report), vec![("pvc-unprotected".into(), "b-data".into())]);
    assert_eq!(report["gate"]["changed"]["unchanged"], 1);

    // The ScheduledBackup deleted (uncommitted, and unlisted from its
    // kustomization): the Cluster's new finding is reported though
    // cluster.yaml did not change.
    std::fs::remove_file(repo.join("db/scheduledbackup.yaml")).expect("rm");
    write(&repo.join("db/kustomization.yaml"), "resources: [cluster.yaml, store.yaml]\n");
    let report = json_in(&repo, &["--diff-base", "main"]);
    let found = rules_and_names(&report);
    assert!(found.contains(&("cnpg-no-scheduled-backup".into(), "db".into())), "{found:?}");
    let finding = findings(&report).into_iter().find(|f| f["rule"] == "cnpg-no-scheduled-backup").expect("found");
    let pointed = finding["related"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["file"] == "db/kustomization.yaml" && r["message"] == "changed: this builds the resource");
    assert!(pointed, "the finding points at the change that caused it: {finding}");
    assert!(!found.iter().any(|(_, n)| n == "a-data"), "apps/a did not change: {found:?}");
    // Deleted without touching the kustomization (a Flux directory without
    // one): the deleted file's directory holds the finding.
    write(&repo.join("db/kustomization.yaml"), "resources: [cluster.yaml, store.yaml, scheduledbackup.yaml]\n");
    let _ = git(&repo, &["add", "-A"]);
    let _ = git(&repo, &["commit", "-qm", "drop the schedule"]);
    std::fs::remove_file(repo.join("db/kustomization.yaml")).expect("rm");
    let _ = git(&repo, &["commit", "-qam", "flux builds db/ itself"]);
    let list = "db/kustomization.yaml\n";
    let out = lifeboat()
        .current_dir(&repo)
        .args(["check", "--changed-files", "-", "--format", "json", "--fail-on", "never"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(list.as_bytes())?;
            }
            child.wait_with_output()
        })
        .expect("runs");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(rules_and_names(&report).iter().any(|(r, _)| r == "cnpg-no-scheduled-backup"), "{report}");

    // A bad revision is a run error; nothing is run from the repository.
    let out = in_dir(&repo, &["check", "--diff-base", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("git diff"), "{}", stderr(&out));
    let out = in_dir(&repo, &["check", "--diff-base", "--output=x"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn changed_files_from_a_list_relative_to_the_working_directory() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("repo");
    small_repo(&repo);
    write(&tmp.path().join("changed.txt"), "# from the CI system\nrepo/apps/a/pvc.yaml\n\nelsewhere/x.yaml\n");
    let report = json_in(tmp.path(), &["repo", "--changed-files", "changed.txt"]);
    assert_eq!(files_of(&report), vec!["apps/a/pvc.yaml".to_string()]);
    assert_eq!(report["gate"]["changed"]["files"], 1, "a path outside the repository is dropped");
    // A changed config may change every finding: all are reported.
    write(&repo.join(".lifeboat.yaml"), "rules: {}\n");
    write(&repo.join("changed.txt"), ".lifeboat.yaml\n");
    let report = json_in(&repo, &["--changed-files", "changed.txt"]);
    assert_eq!(findings(&report).len(), 2);
}

// 6. SARIF that platforms keep.

fn validator() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/validate-sarif.sh");
    if !script.is_file() {
        println!("skipped: ../shared/tools/validate-sarif.sh is not there");
        return None;
    }
    if std::env::var_os("LIFEBOAT_SKIP_SARIF_VALIDATOR").is_some() {
        println!("skipped: LIFEBOAT_SKIP_SARIF_VALIDATOR is set");
        return None;
    }
    Some(script)
}

#[test]
fn sarif_is_valid_for_any_file_name_and_from_any_directory() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("my repo");
    for name in
        ["apps/with space/pvc one.yaml", "apps/100%/pvc.yaml", "apps/ünïcödé/データ.yaml", "apps/hash#q?/p.yaml"]
    {
        write(&repo.join(name), &pvc(&format!("d{}", name.len())));
    }
    // The config makes `my repo` the root from inside it too.
    write(&repo.join(".lifeboat.yaml"), "# defaults\n");
    let abs = repo.to_string_lossy().into_owned();
    let from_outside = in_dir(tmp.path(), &["check", &abs, "--format", "sarif", "--fail-on", "never"]);
    let from_inside = in_dir(&repo.join("apps"), &["check", "--format", "sarif", "--fail-on", "never"]);
    let a: Value = serde_json::from_slice(&from_outside.stdout).expect("sarif");
    let b: Value = serde_json::from_slice(&from_inside.stdout).expect("sarif");
    let uris = |s: &Value| -> Vec<String> {
        s["runs"][0]["results"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
            .map(str::to_string)
            .collect()
    };
    assert_eq!(uris(&a).len(), 4);
    assert_eq!(uris(&a), uris(&b), "the same relative URIs from anywhere");
    for uri in uris(&a) {
        assert!(!uri.starts_with('/') && !uri.contains(' ') && !uri.contains('#') && uri.is_ascii(), "{uri}");
    }
    assert!(uris(&a).contains(&"apps/100%25/pvc.yaml".to_string()), "{:?}", uris(&a));
    assert!(uris(&a).contains(&"apps/with%20space/pvc%20one.yaml".to_string()), "{:?}", uris(&a));
    let base = a["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"].as_str().unwrap_or("");
    assert!(base.starts_with("file:///") && base.ends_with("/my%20repo/"), "{base}");
    assert_eq!(a["runs"][0]["automationDetails"]["id"], "lifeboat/");
    let rule = &a["runs"][0]["tool"]["driver"]["rules"][0];
    assert!(rule["helpUri"].as_str().is_some_and(|u| u.starts_with("https://")), "{rule}");
    assert!(rule["help"]["markdown"].as_str().is_some_and(|m| !m.is_empty()));

    let Some(script) = validator() else { return };
    for (name, out) in [("outside", &from_outside), ("inside", &from_inside)] {
        let file = tmp.path().join(format!("{name}.sarif"));
        std::fs::write(&file, &out.stdout).expect("write");
        let v = std::process::Command::new("bash").arg(&script).arg(&file).output().expect("bash runs");
        let text = String::from_utf8_lossy(&v.stdout).into_owned() + &String::from_utf8_lossy(&v.stderr);
        if v.status.code() == Some(2) {
            println!("skipped: the SARIF validator could not install its tools: {text}");
            return;
        }
        assert!(v.status.success(), "SARIF from {name} is not valid: {text}");
    }
}

// 7. No silent green, no false red.

#[test]
fn an_empty_run_is_an_error_unless_allowed() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = in_dir(tmp.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no Kubernetes document found"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--allow-empty"));
    assert_eq!(in_dir(tmp.path(), &["check", "--allow-empty"]).status.code(), Some(0));
    // YAML that is not Kubernetes is empty too.
    write(&tmp.path().join("compose.yaml"), "services: {web: {image: nginx}}\n");
    assert_eq!(in_dir(tmp.path(), &["check"]).status.code(), Some(2));
    // A subtree with nothing in it, in a repository that has documents.
    small_repo(&tmp.path().join("repo"));
    std::fs::create_dir_all(tmp.path().join("repo/.git")).expect("a git work tree");
    write(&tmp.path().join("repo/docs/x.yaml"), "a: 1\n");
    let out = in_dir(&tmp.path().join("repo"), &["check", "docs"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no Kubernetes document found in docs"), "{}", stderr(&out));
}

#[cfg(unix)]
#[test]
fn stdin_devices_and_dangling_symlinks_are_clear_errors() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink("nowhere.yaml", tmp.path().join("dangling.yaml")).expect("symlink");
    for (arg, says) in [
        ("-", "does not read standard input"),
        ("dangling.yaml", "dangling symlink"),
        ("/dev/null", "not a regular file or directory"),
        ("/dev/stdin", "does not read standard input"),
        ("missing", "no such file or directory"),
    ] {
        let out = in_dir(tmp.path(), &["check", arg]);
        assert_eq!(out.status.code(), Some(2), "{arg}");
        assert!(stderr(&out).contains(says), "{arg}: {}", stderr(&out));
    }
    // Standard input redirected from a file resolves to a regular file.
    let input = std::fs::File::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).expect("open");
    let out = lifeboat().current_dir(tmp.path()).args(["check", "/dev/stdin"]).stdin(input).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not read standard input"), "{}", stderr(&out));
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_a_run_error_with_its_path() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("temp dir");
    small_repo(tmp.path());
    let file = tmp.path().join("apps/a/pvc.yaml");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    if std::fs::read(&file).is_ok() {
        println!("skipped: running as a user who reads files whatever their mode (root)");
        return;
    }
    let out = in_dir(tmp.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read apps/a/pvc.yaml"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "no report, no yaml-syntax finding");
}

#[test]
fn a_closed_pipe_ends_quietly_with_the_findings_exit_code() {
    let mut child = lifeboat()
        .args(["check", DEMO, "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("waits");
    assert_eq!(out.status.code(), Some(1), "the demo's findings: {}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

// 8. Command-line habits.

#[test]
fn select_takes_all_group_prefixes_and_suggests_the_nearest_id() {
    let all = json_in(Path::new(env!("CARGO_MANIFEST_DIR")), &[DEMO, "--select", "ALL"]);
    let plain = json_in(Path::new(env!("CARGO_MANIFEST_DIR")), &[DEMO]);
    assert_eq!(findings(&all), findings(&plain));
    let cnpg = json_in(Path::new(env!("CARGO_MANIFEST_DIR")), &[DEMO, "--select", "cnpg"]);
    assert!(!findings(&cnpg).is_empty());
    assert!(findings(&cnpg).iter().all(|f| f["rule"].as_str().is_some_and(|r| r.starts_with("cnpg-"))));
    let no_pvc = json_in(Path::new(env!("CARGO_MANIFEST_DIR")), &[DEMO, "--ignore", "pvc,volsync"]);
    assert!(findings(&no_pvc)
        .iter()
        .all(|f| { f["rule"].as_str().is_some_and(|r| !r.starts_with("pvc-") && !r.starts_with("volsync-")) }));
    let out = run(&["check", DEMO, "--select", "cnpg-no-wal-archiv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("did you mean `cnpg-no-wal-archive`?"), "{}", stderr(&out));
    let out = run(&["explain", "pvc-unprotectd"]);
    assert!(stderr(&out).contains("did you mean `pvc-unprotected`?"), "{}", stderr(&out));
    let out = run(&["check", DEMO, "--ignore", "zzzzzz"]);
    assert!(stderr(&out).contains("unknown rule id `zzzzzz` (see"), "{}", stderr(&out));
}

#[test]
fn quiet_prints_the_findings_only() {
    let out = run(&["check", DEMO, "--quiet", "--format", "concise"]);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 36, "{text}");
    assert!(!text.contains("findings in"));
    let out = run(&["check", "fixtures/clean", "--quiet"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

#[test]
fn color_follows_the_flag_and_the_environment() {
    let ansi = |out: &Output| stdout(out).contains("\u{1b}[");
    let base = ["check", "fixtures/rules/pvc-unprotected/bad", "--fail-on", "never"];
    let with = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = lifeboat();
        cmd.env_remove("NO_COLOR").args(base).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("runs")
    };
    assert!(ansi(&with(&["--color", "always"], &[("NO_COLOR", "1")])), "--color always wins");
    assert!(!ansi(&with(&["--color", "never"], &[("FORCE_COLOR", "1")])), "--color never wins");
    assert!(!ansi(&with(&[], &[])), "not a terminal: no colour");
    assert!(ansi(&with(&[], &[("FORCE_COLOR", "1")])));
    assert!(ansi(&with(&[], &[("CLICOLOR_FORCE", "1")])));
    assert!(!ansi(&with(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")])), "NO_COLOR first");
}

#[test]
fn completions_and_help_for_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(stdout(&out).contains("lifeboat"), "{shell}");
    }
    for sub in ["check", "baseline", "inventory", "rules", "explain", "completions", "config-schema"] {
        let out = run(&[sub, "-h"]);
        assert_eq!(out.status.code(), Some(0), "{sub}");
        let text = stdout(&out);
        let described = text
            .lines()
            .filter(|l| l.trim_start().starts_with('-'))
            .all(|l| l.trim().split("  ").filter(|s| !s.trim().is_empty()).count() > 1);
        assert!(described, "{sub}: every option has a description:\n{text}");
    }
    let top = stdout(&run(&["--help"]));
    for sub in ["check", "baseline", "completions", "config-schema"] {
        assert!(top.contains(sub), "{top}");
    }
}

/// YAML (the subset configs use) to JSON, with yaml-rust2.
fn yaml_to_json(y: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match y {
        Yaml::Hash(h) => Value::Object(
            h.iter().map(|(k, v)| (k.as_str().map(str::to_string).unwrap_or_default(), yaml_to_json(v))).collect(),
        ),
        Yaml::Array(a) => Value::Array(a.iter().map(yaml_to_json).collect()),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Real(r) => r.parse::<f64>().map(Value::from).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

#[test]
fn the_config_schema_accepts_every_example_config_and_names_every_rule() {
    let out = run(&["config-schema"]);
    assert_eq!(out.status.code(), Some(0));
    let schema: Value = serde_json::from_slice(&out.stdout).expect("the schema is JSON");
    let shipped: Value = serde_json::from_str(include_str!("../schema/lifeboat-config.schema.json")).expect("json");
    assert_eq!(schema, shipped, "config-schema prints the shipped file");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let mut ids: Vec<String> = lifeboat::rules::ids().iter().map(|s| s.to_string()).collect();
    ids.sort();
    let mut listed: Vec<String> = schema["properties"]["rules"]["propertyNames"]["enum"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    listed.sort();
    assert_eq!(listed, ids, "the schema lists every rule id (regenerate it when a rule is added)");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut configs = Vec::new();
    for dir in ["examples", "fixtures"] {
        let walk = ignore::WalkBuilder::new(root.join(dir)).hidden(false).build();
        for entry in walk.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == ".lifeboat.yaml" || name == ".lifeboat.yml" {
                configs.push(entry.into_path());
            }
        }
    }
    assert!(configs.len() >= 5, "{configs:?}");
    for path in configs {
        let text = std::fs::read_to_string(&path).expect("read");
        let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("YAML");
        let value = docs.first().map(yaml_to_json).unwrap_or(Value::Null);
        let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
        // A config lifeboat rejects must be rejected by the schema too, and
        // one it accepts accepted.
        let accepted = run(&["check", &path.parent().unwrap_or(root).to_string_lossy(), "--fail-on", "never"]);
        let lifeboat_ok = !stderr(&accepted).contains(&*path.to_string_lossy());
        assert_eq!(errors.is_empty(), lifeboat_ok, "{}: schema errors {errors:?}", path.display());
    }
    // Every built-in chart catalogue entry is in the shape `charts:` takes.
    let mut entries = 0;
    for entry in std::fs::read_dir(root.join("charts")).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("YAML");
        let value = serde_json::json!({ "charts": [docs.first().map(yaml_to_json).unwrap_or(Value::Null)] });
        let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        entries += 1;
    }
    assert!(entries >= 15, "{entries} chart entries");
    let bad: Value = serde_json::json!({ "rules": { "no-such-rule": "error" }, "paths": { "ignre": [] } });
    assert!(validator.iter_errors(&bad).count() >= 2);
}

#[test]
fn gitlab_code_quality_report() {
    let out = run(&["check", DEMO, "--format", "gitlab"]);
    assert_eq!(out.status.code(), Some(1));
    let issues: Value = serde_json::from_slice(&out.stdout).expect("a JSON array");
    let json = json_in(Path::new(env!("CARGO_MANIFEST_DIR")), &[DEMO]);
    let issues = issues.as_array().cloned().unwrap_or_default();
    assert_eq!(issues.len(), findings(&json).len());
    for (issue, finding) in issues.iter().zip(findings(&json)) {
        assert_eq!(issue["check_name"], finding["rule"]);
        assert_eq!(issue["fingerprint"], finding["fingerprint"]);
        assert_eq!(issue["location"]["path"], finding["file"]);
        assert_eq!(issue["location"]["lines"]["begin"], finding["line"]);
        assert!(["info", "minor", "major", "critical", "blocker"].contains(&issue["severity"].as_str().unwrap_or("")));
    }
}

#[test]
fn a_baseline_can_accept_the_partial_model_warning() {
    let tree = "fixtures/roots/wrong-roots";
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("b.json");
    let file = file.to_string_lossy();
    assert_eq!(run(&["check", tree]).status.code(), Some(1), "a partial model is a warning");
    let out = run(&["baseline", tree, "--output", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&*file).expect("written");
    assert!(text.contains("\"rule\": \"partial-model\""), "{text}");
    let out = run(&["check", tree, "--baseline", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("linted only part"), "the warning is still shown: {}", stdout(&out));
}

#[test]
fn inventory_of_a_subtree_is_the_whole_inventory_s_rows_for_it() {
    let items = |path: &str| -> Vec<Value> {
        let out = run(&["inventory", path, "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        v["items"].as_array().cloned().unwrap_or_default()
    };
    let whole = items(DEMO);
    let part = items("examples/homelab/apps/linkding");
    let expected: Vec<Value> =
        whole.into_iter().filter(|i| i["file"].as_str().is_some_and(|f| f.starts_with("apps/linkding/"))).collect();
    assert!(!expected.is_empty());
    assert_eq!(part, expected);
}

#[test]
fn a_subtree_run_says_how_many_findings_are_elsewhere() {
    let out = run(&["check", "examples/homelab/apps/linkding"]);
    let text = stdout(&out);
    assert!(text.contains("Reported: findings under apps/linkding; 34 more elsewhere in the repository"), "{text}");
}

#[test]
fn a_file_that_cannot_be_read_is_unreadable_not_a_syntax_error() {
    // As root every mode is readable: a path that vanished between the walk
    // and the read is the same case for the loader.
    let sources = lifeboat::yaml::load_files(&[PathBuf::from("/nonexistent/lifeboat/x.yaml")]);
    assert_eq!(sources.unreadable.len(), 1);
    assert!(sources.errors.is_empty(), "no yaml-syntax finding for it");
}

#[test]
fn human_output_never_wraps_inside_an_identifier_or_a_url() {
    let text = stdout(&run(&["check", DEMO]));
    for line in text.lines() {
        let last = line.trim_end().chars().last().unwrap_or(' ');
        assert!(!matches!(last, '-' | '/'), "split inside a word: {line}");
    }
}

#[test]
fn a_config_above_the_git_work_tree_is_not_used() {
    let tmp = tempfile::tempdir().expect("temp dir");
    write(&tmp.path().join(".lifeboat.yaml"), "rules:\n  pvc-unprotected: off\n");
    let repo = tmp.path().join("repo");
    small_repo(&repo);
    std::fs::create_dir_all(repo.join(".git")).expect("a git work tree");
    let report = json_in(&repo.join("apps"), &[]);
    assert_eq!(findings(&report).len(), 2, "the config outside the repository is not read: {report}");
}
