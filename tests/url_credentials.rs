//! A password inside a URL (`https://user:password@host`) is a
//! `cnpg-credentials-plaintext` finding on archive URLs, and is never
//! printed: not in any report format, not in the inventory, not in a
//! snippet, not in a model note.

mod common;

use common::{lifeboat, stdout};

const BAD: &str = "fixtures/rules/cnpg-credentials-plaintext/bad";

#[test]
fn url_passwords_are_findings_and_never_printed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in ["store.yaml", "url.yaml"] {
        std::fs::copy(root.join(BAD).join(file), d.join(file)).expect("copy");
    }
    std::fs::write(
        d.join("objectstore.yaml"),
        "apiVersion: barmancloud.cnpg.io/v1\nkind: ObjectStore\nmetadata: {name: s, namespace: shop}\nspec:\n  configuration:\n    destinationPath: s3://bucket/x\n    endpointURL: 'https://key:store-url-password@minio:9000'\n",
    )
    .expect("write");
    // Not CNPG: not a finding, but still masked wherever it is printed.
    std::fs::write(
        d.join("kustomization.yaml"),
        "resources:\n  - store.yaml\n  - url.yaml\n  - objectstore.yaml\n  - https://bot:remote-base-token@github.com/o/r//base?ref=v1\n",
    )
    .expect("write");
    let passwords = ["url-fixture-password", "store-url-password", "remote-base-token"];
    let path = d.to_string_lossy();
    let mut runs: Vec<Vec<&str>> = ["human", "json", "sarif", "github", "markdown"]
        .iter()
        .map(|f| vec!["check", &path, "--format", f, "--verbose"])
        .collect();
    for f in ["table", "markdown", "json"] {
        runs.push(vec!["inventory", &path, "--format", f]);
    }
    for args in &runs {
        let out = lifeboat().args(args).output().expect("runs");
        let text = stdout(&out) + &String::from_utf8_lossy(&out.stderr);
        for p in passwords {
            assert!(!text.contains(p), "{args:?} prints the password {p}:\n{text}");
        }
        if args[0] == "check" {
            assert!(text.contains("has a password in its URL"), "{args:?}: {text}");
        }
    }
    let out = lifeboat().args(["check", &path, "--format", "json", "--fail-on", "never"]).output().expect("runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut url_findings: Vec<(String, String)> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| {
            f["rule"] == "cnpg-credentials-plaintext" && f["message"].as_str().is_some_and(|m| m.contains("URL"))
        })
        .map(|f| (f["file"].as_str().unwrap_or("").rsplit('/').next().unwrap_or("").to_string(), f["line"].to_string()))
        .collect();
    url_findings.sort();
    let expected = [("objectstore.yaml", "7"), ("url.yaml", "11"), ("url.yaml", "12")];
    assert_eq!(url_findings, expected.map(|(f, l)| (f.to_string(), l.to_string())));
    let human = stdout(&lifeboat().args(["check", &path, "--verbose"]).output().expect("runs"));
    let messages = report["findings"].to_string();
    assert!(messages.contains("https://key:****@minio:9000"), "the message shows the URL masked: {messages}");
    assert!(human.contains("https://bot:****@github.com"), "the note shows the URL masked: {human}");
}
