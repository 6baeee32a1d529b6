//! Paths as the user spells them: one repository named several ways is read
//! once, and files the repository references that lifeboat skipped are named
//! in the default report.

mod common;

use std::path::Path;

use common::{lifeboat, run, stderr, stdout};

const DEMO: &str = "examples/homelab";

fn json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["check", "--format", "json", "--fail-on", "never"];
    all.extend_from_slice(args);
    let out = run(&all);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("the JSON report parses")
}

#[test]
fn one_repository_spelled_several_ways_is_read_once() {
    let once = json(&[DEMO]);
    let absolute = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEMO);
    let absolute = absolute.to_string_lossy();
    let dotted = format!("./{DEMO}");
    let inner = format!("{DEMO}/apps");
    for spelled in [vec![DEMO, &absolute], vec![DEMO, &dotted], vec![&dotted], vec![DEMO, &inner], vec![&inner, DEMO]] {
        let report = json(&spelled);
        assert_eq!(report["findings"], once["findings"], "same findings for {spelled:?}");
        assert_eq!(report["summary"], once["summary"], "same summary for {spelled:?}");
    }
    // No self-collision: a ReplicationSource never shares a repository with itself.
    let messages = once["findings"].as_array().into_iter().flatten().filter_map(|f| f["message"].as_str());
    for m in messages.filter(|m| m.contains("uses the same repository as")) {
        let mut names = m.split('`').skip(1).step_by(2);
        assert_ne!(names.next(), names.next(), "{m}");
    }
    // Not deployed counts do not grow with a second spelling.
    let human = stdout(&run(&["check", DEMO, &dotted, "--fail-on", "never"]));
    assert!(!human.contains("not deployed"), "{human}");
}

#[cfg(unix)]
#[test]
fn referenced_files_lifeboat_skipped_are_named_in_the_summary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let app = d.join("repo/app");
    std::fs::create_dir_all(&app).expect("mkdir");
    let pvc = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: NAME}\n";
    std::fs::write(d.join("outside.yaml"), pvc.replace("NAME", "outside")).expect("write");
    std::fs::write(app.join("real.yaml"), pvc.replace("NAME", "real")).expect("write");
    std::fs::write(app.join("ignored.yaml"), pvc.replace("NAME", "ignored")).expect("write");
    std::fs::write(d.join("repo/.gitignore"), "ignored.yaml\n").expect("write");
    std::os::unix::fs::symlink("real.yaml", app.join("link.yaml")).expect("symlink");
    let fifo = std::process::Command::new("mkfifo").arg(app.join("fifo.yaml")).status().is_ok_and(|s| s.success());
    std::fs::write(
        app.join("kustomization.yaml"),
        "resources: [real.yaml, link.yaml, fifo.yaml, ignored.yaml, ../../outside.yaml, gone.yaml]\n",
    )
    .expect("write");
    // A Flux Kustomization whose path is a symlinked directory.
    std::os::unix::fs::symlink("app", d.join("repo/linked")).expect("symlink");
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: NAME, namespace: flux-system}\nspec: {path: ./PATH, sourceRef: {kind: GitRepository, name: flux-system}}\n";
    std::fs::write(
        d.join("repo/flux.yaml"),
        [flux.replace("NAME", "app").replace("PATH", "app"), flux.replace("NAME", "linked").replace("PATH", "linked")]
            .join("---\n"),
    )
    .expect("write");
    // Paths are relative to the repository root (`repo`, the path given).
    let out = lifeboat().current_dir(d).args(["check", "repo"]).output().expect("runs");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary = text.rsplit_once("Found ").map(|(_, s)| s).unwrap_or("");
    assert!(summary.contains("Referenced but not read"), "{text}");
    assert!(summary.contains("app/link.yaml: a symlink"), "{summary}");
    assert!(summary.contains("app/ignored.yaml: ignored by the walk"), "{summary}");
    assert!(summary.contains("outside.yaml: outside the repository root"), "{summary}");
    if fifo {
        assert!(summary.contains("app/fifo.yaml: not a regular file"), "{summary}");
    }
    assert!(summary.contains("linked: a symlink"), "{summary}");
    assert!(!summary.contains("gone.yaml"), "a path with nothing on disk stays a note: {summary}");
    assert!(!summary.contains("real.yaml:"), "{summary}");
}
