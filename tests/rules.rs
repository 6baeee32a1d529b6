//! Every rule: its fixtures that must trigger it and that must stay silent,
//! snapshots of the real binary's human and JSON output, and its
//! documentation (with the examples in it executed).

mod common;

use std::path::{Path, PathBuf};

use common::{json_report, rules_of, run, stdout};

fn fixture(id: &str, kind: &str) -> PathBuf {
    PathBuf::from("fixtures/rules").join(id).join(kind)
}

fn check_rule(id: &str) {
    let bad = fixture(id, "bad");
    let good = fixture(id, "good");
    let abs = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(abs.join(&bad).is_dir() && abs.join(&good).is_dir(), "{id}: fixtures/rules/{id}/{{bad,good}} must exist");

    let report = json_report(&bad, &["--select", id]);
    let found = rules_of(&report);
    assert!(!found.is_empty(), "{id}: the bad fixture must trigger the rule");
    assert!(found.iter().all(|r| r == id), "{id}: --select must report only this rule, got {found:?}");
    for f in report["findings"].as_array().into_iter().flatten() {
        assert!(
            f["line"].as_u64().unwrap_or(0) >= 1 && f["column"].as_u64().unwrap_or(0) >= 1,
            "{id}: every finding has a position"
        );
        // Relative to the fixture (its own repository root).
        assert!(
            f["file"].as_str().is_some_and(|p| !p.starts_with("fixtures/") && !p.starts_with('/') && !p.is_empty()),
            "{id}: file is relative to the repository root: {f}"
        );
    }

    let quiet = json_report(&good, &["--select", id]);
    assert!(rules_of(&quiet).is_empty(), "{id}: the good fixture must stay silent, got {}", quiet["findings"]);

    let bad_s = bad.to_string_lossy().into_owned();
    let human = run(&["check", &bad_s, "--select", id, "--fail-on", "never"]);
    insta::assert_snapshot!(format!("{id}.human"), stdout(&human));
    let json = run(&["check", &bad_s, "--select", id, "--format", "json", "--fail-on", "never"]);
    insta::assert_snapshot!(format!("{id}.json"), stdout(&json));
}

macro_rules! rule_tests {
    ($($name:ident => $id:literal),* $(,)?) => {
        $( #[test] fn $name() { check_rule($id); } )*
        const TESTED: &[&str] = &[$($id),*];
    };
}

rule_tests! {
    cnpg_archive_collision => "cnpg-archive-collision",
    cnpg_bootstrap_multiple => "cnpg-bootstrap-multiple",
    cnpg_credentials_missing => "cnpg-credentials-missing",
    cnpg_credentials_plaintext => "cnpg-credentials-plaintext",
    cnpg_no_scheduled_backup => "cnpg-no-scheduled-backup",
    cnpg_no_wal_archive => "cnpg-no-wal-archive",
    cnpg_object_store_missing => "cnpg-object-store-missing",
    cnpg_recovery_left_in => "cnpg-recovery-left-in",
    cnpg_recovery_source_unresolved => "cnpg-recovery-source-unresolved",
    cnpg_recovery_writes_to_source => "cnpg-recovery-writes-to-source",
    cnpg_retention_invalid => "cnpg-retention-invalid",
    cnpg_retention_missing => "cnpg-retention-missing",
    cnpg_scheduled_backup_cron => "cnpg-scheduled-backup-cron",
    cnpg_scheduled_backup_method_mismatch => "cnpg-scheduled-backup-method-mismatch",
    cnpg_scheduled_backup_orphan => "cnpg-scheduled-backup-orphan",
    cnpg_scheduled_backup_suspended => "cnpg-scheduled-backup-suspended",
    cronjob_schedule_invalid => "cronjob-schedule-invalid",
    cronjob_suspended => "cronjob-suspended",
    cronjob_writable_mount => "cronjob-writable-mount",
    exclusion_missing_reason => "exclusion-missing-reason",
    exclusion_unused => "exclusion-unused",
    flux_substitution_undefined => "flux-substitution-undefined",
    pgo_no_backup_repo => "pgo-no-backup-repo",
    pgo_no_scheduled_backup => "pgo-no-scheduled-backup",
    pvc_backup_source_missing => "pvc-backup-source-missing",
    pvc_external_storage => "pvc-external-storage",
    pvc_restore_source_missing => "pvc-restore-source-missing",
    pvc_unprotected => "pvc-unprotected",
    volsync_no_retention => "volsync-no-retention",
    volsync_manual_trigger => "volsync-manual-trigger",
    volsync_no_trigger => "volsync-no-trigger",
    volsync_paused => "volsync-paused",
    volsync_schedule_invalid => "volsync-schedule-invalid",
    volsync_shared_repository => "volsync-shared-repository",
    yaml_syntax => "yaml-syntax",
}

#[test]
fn every_registered_rule_is_tested_and_documented() {
    for rule in lifeboat::rules::RULES {
        let id = rule.meta.id;
        assert!(TESTED.contains(&id), "{id} has no fixture test in tests/rules.rs");
        let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules").join(format!("{id}.md"));
        let doc = std::fs::read_to_string(&doc_path).expect("rules/<id>.md exists");
        assert_eq!(doc, rule.meta.doc, "{id}: the compiled doc is rules/{id}.md");
        assert!(doc.starts_with(&format!("# {id}\n")), "{id}: doc starts with its id");
        for section in ["## What it flags", "## Why it matters", "## Example"] {
            assert!(doc.contains(section), "{id}: doc lacks `{section}`");
        }
        assert!(id.split('-').next().is_some_and(|g| [
            "cnpg",
            "volsync",
            "pvc",
            "cronjob",
            "exclusion",
            "yaml",
            "flux",
            "pgo"
        ]
        .contains(&g)));
    }
    assert_eq!(TESTED.len(), lifeboat::rules::RULES.len(), "tests/rules.rs lists a rule that is not registered");
}

/// The ```yaml bad / ```yaml good blocks of a doc; an optional third word
/// names the file (e.g. `.lifeboat.yaml`).
fn examples(doc: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String, String)> = None;
    for line in doc.lines() {
        match &mut current {
            None => {
                let words: Vec<&str> = line.strip_prefix("```").unwrap_or("").split_whitespace().collect();
                if let ["yaml", kind @ ("bad" | "good"), rest @ ..] = words.as_slice() {
                    let file = rest.first().copied().unwrap_or("example.yaml").to_string();
                    current = Some((kind.to_string(), file, String::new()));
                }
            }
            Some((_, _, body)) => {
                if line.starts_with("```") {
                    out.extend(current.take());
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    out
}

#[test]
fn documentation_examples_do_what_they_say() {
    for rule in lifeboat::rules::RULES {
        let id = rule.meta.id;
        let blocks = examples(rule.meta.doc);
        assert!(blocks.iter().any(|(k, _, _)| k == "bad"), "{id}: doc has no ```yaml bad example");
        assert!(blocks.iter().any(|(k, _, _)| k == "good"), "{id}: doc has no ```yaml good example");
        let dir = tempfile::tempdir().expect("a temp dir");
        for (kind, file, body) in &blocks {
            let sub = dir.path().join(kind);
            std::fs::create_dir_all(&sub).expect("create");
            let path = sub.join(file);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create");
            }
            let mut text = std::fs::read_to_string(&path).unwrap_or_default();
            if !text.is_empty() {
                text.push_str("---\n");
            }
            text.push_str(body);
            std::fs::write(&path, text).expect("write");
        }
        let bad = json_report(&dir.path().join("bad"), &["--select", id]);
        assert!(!rules_of(&bad).is_empty(), "{id}: the doc's bad example does not trigger the rule");
        let good = json_report(&dir.path().join("good"), &["--select", id]);
        assert!(rules_of(&good).is_empty(), "{id}: the doc's good example triggers the rule: {}", good["findings"]);
    }
}
