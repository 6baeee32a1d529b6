//! Helpers shared by the integration tests: run the real binary.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The binary, run from the project directory. Each fixture directory is
/// a repository of its own: `GIT_CEILING_DIRECTORIES` keeps lifeboat from
/// taking this project's git work tree as their repository root (it stops
/// below the project directory, as git does).
pub fn lifeboat() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lifeboat"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("GIT_CEILING_DIRECTORIES", env!("CARGO_MANIFEST_DIR"))
        .env_remove("FORCE_COLOR")
        .env_remove("CLICOLOR_FORCE");
    cmd
}

pub fn run(args: &[&str]) -> Output {
    lifeboat().args(args).output().expect("the lifeboat binary runs")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `check --format json` on `path` with extra args; the parsed report.
pub fn json_report(path: &Path, extra: &[&str]) -> serde_json::Value {
    let path = path.to_string_lossy();
    let mut args = vec!["check", &path, "--format", "json", "--fail-on", "never"];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "lifeboat failed: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("the JSON report parses")
}

/// The rule ids of a JSON report's findings.
pub fn rules_of(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .map(|f| f.iter().filter_map(|x| x["rule"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// `(rule, [cluster:]namespace/name)` of every finding of a JSON report,
/// sorted (`name` alone for an object without a namespace; the cluster only
/// in a repository of several).
pub fn finding_keys(report: &serde_json::Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let r = &f["resource"];
            let name = match r["namespace"].as_str() {
                Some(ns) => format!("{ns}/{}", r["name"].as_str().unwrap_or("")),
                None => r["name"].as_str().unwrap_or("").to_string(),
            };
            let name = match r["cluster"].as_str() {
                Some(cluster) => format!("{cluster}:{name}"),
                None => name,
            };
            (f["rule"].as_str().unwrap_or("").to_string(), name)
        })
        .collect();
    out.sort();
    out
}
