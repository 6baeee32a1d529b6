//! Encrypted files under `.yaml` names (git-crypt, ansible-vault, and
//! non-YAML under a `.gitattributes` filter) are skipped with a reason, in
//! `--verbose` and the JSON `skipped` list: never a `yaml-syntax` error, and
//! never a byte of them in any format.

mod common;

use common::{run, stdout};

const TREE: &str = "fixtures/encrypted";
const MARKERS: &[&str] = &["SECRET-BYTES", "SECRETVAULT", "SECRET-FILTERED", "GITCRYPT"];

#[test]
fn encrypted_files_are_skipped_with_a_reason_and_never_printed() {
    let report = common::json_report(std::path::Path::new(TREE), &[]);
    assert_eq!(common::rules_of(&report), Vec::<String>::new(), "{report}");
    let skipped: Vec<(String, String)> = report["skipped"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| (s["file"].as_str().unwrap_or("").to_string(), s["reason"].as_str().unwrap_or("").to_string()))
        .collect();
    let reason = |file: &str| skipped.iter().find(|(f, _)| f.ends_with(file)).map(|(_, r)| r.clone());
    assert!(reason("secrets/db-credentials.yaml").is_some_and(|r| r.starts_with("git-crypt")), "{skipped:?}");
    assert!(reason("apps/vault.yaml").is_some_and(|r| r.starts_with("ansible-vault")), "{skipped:?}");
    assert!(reason("secrets/garbled.yaml").is_some_and(|r| r.contains(".gitattributes filter")), "{skipped:?}");
    for format in ["human", "json", "sarif", "github", "markdown"] {
        let out = stdout(&run(&["check", TREE, "--format", format, "--verbose", "--fail-on", "never"]));
        for marker in MARKERS {
            assert!(!out.contains(marker), "{format} printed encrypted bytes ({marker})");
        }
    }
    let human = run(&["check", TREE, "--verbose", "--fail-on", "never"]);
    insta::assert_snapshot!("encrypted.check", stdout(&human));
}

#[test]
fn a_filtered_file_that_is_yaml_still_loads() {
    // A `.gitattributes` filter on a file that decrypts to YAML in the
    // working tree (git-crypt unlocked) reads as usual.
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join(".gitattributes"), "*.yaml filter=git-crypt diff=git-crypt\n").expect("write");
    std::fs::write(
        dir.path().join("pvc.yaml"),
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: x\nspec:\n  resources:\n    requests:\n      storage: 1Gi\n",
    )
    .expect("write");
    let report = common::json_report(dir.path(), &[]);
    assert_eq!(common::rules_of(&report), vec!["pvc-unprotected".to_string()], "{report}");
}
