//! lifeboat on the wider hand-checked corpus: public GitOps repositories
//! lifeboat was not developed on. What was checked by hand is kept here, in
//! `tests/wider-corpus/<owner+repo>/`: `SOURCE.txt` (repository and commit),
//! `VERDICTS.md` and `expected.tsv`, the verified list of its findings
//! (rule, key, verdict `true` or `false-alarm`, reason; the key is
//! `[cluster:]namespace/name`, or the file for a finding on no resource).
//!
//! The repositories' YAML lives outside this repository (`../wider-corpus`,
//! or the directory `LIFEBOAT_WIDER_CORPUS` names), put there by
//! `tests/wider-corpus/materialise.sh` from the commit SOURCE.txt records; a
//! fresh clone and CI do not have it, and then this test says so and passes.
//!
//! Asserted: on each repository the findings are exactly the verified list
//! (a new false alarm fails as surely as a lost true finding), overall
//! precision is at least 90%, and no rule has more than one false alarm in
//! one repository.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::json_report;

fn corpus() -> Option<PathBuf> {
    let path = match std::env::var_os("LIFEBOAT_WIDER_CORPUS") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../wider-corpus"),
    };
    if path.is_dir() {
        Some(path)
    } else {
        println!(
            "skipped: {} not found (the wider corpus exists only on developer machines; set LIFEBOAT_WIDER_CORPUS to point at it)",
            path.display()
        );
        None
    }
}

/// `(rule, key)` of every finding of the real binary on `repo`, sorted.
fn actual(repo: &Path) -> Vec<(String, String)> {
    // A repository lifeboat models nothing of (khuedoan) is asserted as such.
    let report = json_report(repo, &["--allow-empty"]);
    // `file` is relative to the test's directory: keep what follows the
    // repository's own directory.
    let prefix = format!("{}/", repo.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
    let mut out: Vec<(String, String)> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let r = &f["resource"];
            let key = match r["name"].as_str().filter(|n| !n.is_empty()) {
                Some(name) => {
                    let name = match r["namespace"].as_str() {
                        Some(ns) => format!("{ns}/{name}"),
                        None => name.to_string(),
                    };
                    match r["cluster"].as_str() {
                        Some(c) => format!("{c}:{name}"),
                        None => name,
                    }
                }
                None => {
                    let file = f["file"].as_str().unwrap_or("");
                    file.split_once(&prefix).map_or(file, |(_, rest)| rest).to_string()
                }
            };
            (f["rule"].as_str().unwrap_or("").to_string(), key)
        })
        .collect();
    out.sort();
    out
}

struct Verdict {
    rule: String,
    key: String,
    true_finding: bool,
    reason: String,
}

fn expected(repo: &Path) -> Vec<Verdict> {
    let text = std::fs::read_to_string(repo.join("expected.tsv")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            let cell = |i: usize| cells.get(i).copied().unwrap_or("").to_string();
            let verdict = cell(2);
            assert!(
                verdict == "true" || verdict == "false-alarm",
                "{}: verdict must be true or false-alarm: {l}",
                repo.display()
            );
            Verdict { rule: cell(0), key: cell(1), true_finding: verdict == "true", reason: cell(3) }
        })
        .collect()
}

#[test]
fn findings_on_the_wider_corpus_are_the_hand_checked_ones() {
    let Some(root) = corpus() else { return };
    let checked = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wider-corpus");
    let mut names: Vec<String> = std::fs::read_dir(&checked)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().join("expected.tsv").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    println!("{} hand-checked repositories in tests/wider-corpus", names.len());
    let absent: Vec<&String> = names.iter().filter(|n| !root.join(n).is_dir()).collect();
    assert!(
        absent.is_empty(),
        "{} holds some of the wider corpus but not {absent:?}: run tests/wider-corpus/materialise.sh for them",
        root.display()
    );
    let repos: Vec<(PathBuf, PathBuf)> = names.iter().map(|n| (root.join(n), checked.join(n))).collect();
    let (mut total, mut true_total) = (0usize, 0usize);
    let mut failures = Vec::new();
    for (repo, verdict_dir) in &repos {
        let name = repo.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let verdicts = expected(verdict_dir);
        let mut want: Vec<(String, String)> = verdicts.iter().map(|v| (v.rule.clone(), v.key.clone())).collect();
        want.sort();
        let got = actual(repo);
        if got != want {
            let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).collect();
            let new: Vec<_> = got.iter().filter(|g| !want.contains(g)).collect();
            failures.push(format!("{name}: findings differ from expected.tsv\n  new: {new:?}\n  gone: {missing:?}"));
        }
        for v in verdicts.iter().filter(|v| v.reason.trim().is_empty()) {
            failures.push(format!("{name}: {} {} has no reason: every verdict says why", v.rule, v.key));
        }
        let trues = verdicts.iter().filter(|v| v.true_finding).count();
        total += verdicts.len();
        true_total += trues;
        let mut false_by_rule: BTreeMap<&str, usize> = BTreeMap::new();
        for v in verdicts.iter().filter(|v| !v.true_finding) {
            *false_by_rule.entry(v.rule.as_str()).or_default() += 1;
        }
        for (rule, n) in false_by_rule.iter().filter(|(_, n)| **n > 1) {
            failures.push(format!("{name}: {n} false alarms of {rule} (at most 1 per rule per repository)"));
        }
        println!("{name}: {trues}/{} true", verdicts.len());
    }
    let precision = if total == 0 { 1.0 } else { true_total as f64 / total as f64 };
    println!("overall: {true_total}/{total} true ({:.1}%)", precision * 100.0);
    if precision < 0.9 {
        failures.push(format!("precision {:.1}% is below 90% ({true_total}/{total})", precision * 100.0));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
