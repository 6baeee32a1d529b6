//! The pipeline on a generated repository: `cargo bench --bench pipeline`.
//!
//! Generates a kustomize-style GitOps repo (N apps; each a kustomization with
//! a CNPG Cluster, ObjectStore, ScheduledBackup, ExternalSecret, a PVC and a
//! Deployment, some of them with deliberate gaps) and reports, best and median
//! of several runs, a parse-only pass over the same files next to the whole
//! `lifeboat check` (discover, load, model, inventory, rules) and the JSON
//! report. `LIFEBOAT_BENCH_APPS` sets N (default 1000, i.e. 3,000+ files).
//!
//! Each repo gets a stage table (walk, read, parse, model, inventory,
//! rules, the JSON and the human report, and the whole check), best and
//! median of several runs; then one file of 4×N unprotected PVCs times both
//! reports of its findings.
//! A scale table then generates Flux-style repos of about 1k, 10k and 100k
//! files (`LIFEBOAT_BENCH_SCALE=1000,10000,100000` to choose) and checks
//! each in a child process of this bench, printing its wall time and peak
//! RSS (`VmHWM`), next to the input's bytes (`LIFEBOAT_BENCH_SCALE_ONLY=1`
//! prints that table alone; `LIFEBOAT_BENCH_GENERATE=DIR` writes the
//! Flux-style repo of `LIFEBOAT_BENCH_APPS` apps into DIR and stops).
//!
//! The Flux-style repo measures the model where it works hardest: N
//! apps in namespace groups, each a Flux `Kustomization` that instantiates
//! shared components (a CNPG Cluster, a VolSync PVC + ReplicationSource) with
//! `postBuild` substitution from a cluster ConfigMap, a parent whose
//! `spec.patches` set defaults on every child, a strategic-merge patch per
//! app on the component's Cluster, and kustomize `replacements` that copy
//! each group's namespace into its Kustomizations' `targetNamespace`.

use std::path::Path;
use std::time::{Duration, Instant};

// The binary's allocator (src/main.rs), so the stages time what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create dir");
    }
    std::fs::write(path, text).expect("write");
}

fn generate(root: &Path, apps: usize) -> usize {
    let mut names = Vec::new();
    for i in 0..apps {
        let app = format!("app{i:04}");
        let dir = root.join("apps").join(&app);
        write(
            &dir.join("kustomization.yaml"),
            &format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: {app}\nresources:\n  - database.yaml\n  - workload.yaml\n  - secret.yaml\n"),
        );
        let archive = if i % 10 == 0 {
            String::new() // a gap: no archive
        } else {
            format!("  plugins:\n    - name: barman-cloud.cloudnative-pg.io\n      isWALArchiver: true\n      parameters: {{barmanObjectName: {app}-store}}\n")
        };
        let schedule = if i % 7 == 0 { "0 3 * * *" } else { "0 0 3 * * *" };
        write(
            &dir.join("database.yaml"),
            &format!(
                "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: {app}-db\nspec:\n  instances: 2\n  storage: {{size: 5Gi}}\n{archive}  bootstrap:\n    initdb: {{database: {app}}}\n---\napiVersion: barmancloud.cnpg.io/v1\nkind: ObjectStore\nmetadata:\n  name: {app}-store\nspec:\n  retentionPolicy: \"30d\"\n  configuration:\n    destinationPath: s3://pg-backups/{app}\n    s3Credentials:\n      accessKeyId: {{name: {app}-s3, key: ID}}\n      secretAccessKey: {{name: {app}-s3, key: KEY}}\n---\napiVersion: postgresql.cnpg.io/v1\nkind: ScheduledBackup\nmetadata:\n  name: {app}-daily\nspec:\n  schedule: \"{schedule}\"\n  method: plugin\n  pluginConfiguration: {{name: barman-cloud.cloudnative-pg.io}}\n  cluster: {{name: {app}-db}}\n"
            ),
        );
        // A third of the apps back their PVC up with VolSync, a third with a
        // CronJob, a third not at all.
        let backup = match i % 3 {
            0 => format!("apiVersion: volsync.backube/v1alpha1\nkind: ReplicationSource\nmetadata:\n  name: {app}-data\nspec:\n  sourcePVC: {app}-data\n  trigger: {{schedule: \"0 * * * *\"}}\n  restic: {{repository: {app}-restic, retain: {{daily: 7}}}}\n"),
            1 => format!("apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: {app}-backup\nspec:\n  schedule: \"0 3 * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n            - name: backup\n              image: rclone/rclone:1.68\n              args: [copy, /data, \"remote:{app}\"]\n              volumeMounts: [{{name: data, mountPath: /data, readOnly: true}}]\n          volumes:\n            - name: data\n              persistentVolumeClaim: {{claimName: {app}-data}}\n"),
            _ => String::new(),
        };
        write(
            &dir.join("workload.yaml"),
            &format!(
                "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {app}-data\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {{requests: {{storage: 1Gi}}}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\nspec:\n  template:\n    spec:\n      containers:\n        - &c\n          name: {app}\n          image: ghcr.io/example/{app}:1.0.0\n          env:\n            - {{name: DB_HOST, value: {app}-db-rw}}\n      volumes:\n        - name: data\n          persistentVolumeClaim: {{claimName: {app}-data}}\n---\n{backup}---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {app}-web\nspec:\n  values:\n    persistence:\n      data: {{existingClaim: {app}-data}}\n      cache: {{size: 2Gi}}\n      tmp: {{type: emptyDir}}\n"
            ),
        );
        write(
            &dir.join("secret.yaml"),
            &format!("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: {app}-s3\nspec:\n  target: {{name: {app}-s3}}\n"),
        );
        names.push(format!("  - {app}\n"));
    }
    write(
        &root.join("apps/kustomization.yaml"),
        &format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{}", names.concat()),
    );
    apps * 4 + 1
}

fn generate_flux(root: &Path, apps: usize) -> usize {
    let groups = (apps / 25).max(1);
    let mut files = 0;
    let mut put = |rel: &str, text: &str| {
        write(&root.join(rel), text);
        files += 1;
    };
    put(
        "clusters/main/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: cluster-apps\n  namespace: flux-system\nspec:\n  path: ./apps\n  sourceRef: {kind: GitRepository, name: flux-system}\n  postBuild:\n    substituteFrom:\n      - {kind: ConfigMap, name: cluster-settings}\n  patches:\n    - target: {group: kustomize.toolkit.fluxcd.io, kind: Kustomization}\n      patch: |-\n        apiVersion: kustomize.toolkit.fluxcd.io/v1\n        kind: Kustomization\n        metadata:\n          name: not-used\n        spec:\n          postBuild:\n            substitute:\n              BUCKET: ${BUCKET}\n",
    );
    put(
        "clusters/main/cluster-settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-settings\n  namespace: flux-system\ndata:\n  BUCKET: s3://backups\n",
    );
    put(
        "components/namespace/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [namespace.yaml]\n",
    );
    put("components/namespace/namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: not-used\n");
    put(
        "components/replacements/ks.yaml",
        "- source: {kind: Namespace, fieldPath: metadata.name}\n  targets:\n    - select: {group: kustomize.toolkit.fluxcd.io, kind: Kustomization}\n      fieldPaths: [spec.targetNamespace]\n      options: {create: true}\n",
    );
    put(
        "components/postgres/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [cluster.yaml, scheduledbackup.yaml, externalsecret.yaml]\n",
    );
    put(
        "components/postgres/externalsecret.yaml",
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: ${APP}-s3\nspec:\n  target:\n    name: ${APP}-s3\n",
    );
    put(
        "components/postgres/cluster.yaml",
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: ${APP}-postgres\nspec:\n  instances: 2\n  storage: {size: 5Gi}\n  backup:\n    retentionPolicy: 30d\n    barmanObjectStore:\n      destinationPath: ${BUCKET}/${APP}\n      s3Credentials:\n        accessKeyId:\n          name: ${APP}-s3\n          key: ID\n        secretAccessKey:\n          name: ${APP}-s3\n          key: KEY\n",
    );
    put(
        "components/postgres/scheduledbackup.yaml",
        "apiVersion: postgresql.cnpg.io/v1\nkind: ScheduledBackup\nmetadata:\n  name: ${APP}-postgres\nspec:\n  schedule: \"0 0 3 * * *\"\n  cluster:\n    name: ${APP}-postgres\n",
    );
    put(
        "components/volsync/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [pvc.yaml, replicationsource.yaml]\n",
    );
    put(
        "components/volsync/pvc.yaml",
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: ${APP}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n",
    );
    put(
        "components/volsync/replicationsource.yaml",
        "apiVersion: volsync.backube/v1alpha1\nkind: ReplicationSource\nmetadata:\n  name: ${APP}\nspec:\n  sourcePVC: ${APP}\n  trigger: {schedule: \"0 * * * *\"}\n  restic:\n    repository: ${APP}-restic\n    retain: {daily: 7}\n",
    );
    let mut group_names = Vec::new();
    for g in 0..groups {
        let group = format!("group{g:02}");
        let members: Vec<usize> = (0..apps).filter(|i| i % groups == g).collect();
        let list: String = members.iter().map(|i| format!("  - ./app{i:04}.yaml\n")).collect();
        put(
            &format!("apps/{group}/kustomization.yaml"),
            &format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: {group}\ncomponents: [../../components/namespace]\nreplacements:\n  - path: ../../components/replacements/ks.yaml\nresources:\n{list}"),
        );
        for i in members {
            let app = format!("app{i:04}");
            put(
                &format!("apps/{group}/{app}.yaml"),
                &format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {app}\nspec:\n  path: ./apps/{group}/{app}/app\n  components:\n    - ../../../../components/postgres\n    - ../../../../components/volsync\n  sourceRef: {{kind: GitRepository, name: flux-system, namespace: flux-system}}\n  postBuild:\n    substitute:\n      APP: {app}\n"),
            );
            put(
                &format!("apps/{group}/{app}/app/kustomization.yaml"),
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [helmrelease.yaml]\npatches:\n  - path: cluster-patch.yaml\n",
            );
            put(
                &format!("apps/{group}/{app}/app/cluster-patch.yaml"),
                "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: ${APP}-postgres\nspec:\n  instances: 3\n",
            );
            put(
                &format!("apps/{group}/{app}/app/helmrelease.yaml"),
                &format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {app}\nspec:\n  values:\n    persistence:\n      data: {{existingClaim: {app}}}\n"),
            );
        }
        group_names.push(format!("  - ./{group}\n"));
    }
    put(
        "apps/kustomization.yaml",
        &format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{}",
            group_names.concat()
        ),
    );
    files
}

fn measure<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(f());
        times.push(start.elapsed());
    }
    times.sort();
    let best = times.first().copied().unwrap_or_default();
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    (best, median, last.expect("at least one run"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One row of a stage table.
fn row(stage: &str, best: Duration, median: Duration, what: &str) {
    println!("  {stage:<10} best {:>8.1} ms   median {:>8.1} ms   {what}", ms(best), ms(median));
}

/// Walk, read, parse, model, inventory, rules and report of `root`, one
/// stage at a time, then the whole check.
fn stages(root: &Path, runs: usize) -> lifeboat::Run {
    use rayon::prelude::*;
    let ignore = globset::GlobSet::empty();
    let roots = [root.to_path_buf()];
    let (b, m, found) = measure(runs, || lifeboat::discover::discover(&roots, root, &ignore).expect("discover"));
    row("walk", b, m, &format!("{} files", found.files.len()));
    let (b, m, texts) = measure(runs, || {
        found.files.par_iter().map(|p| std::fs::read_to_string(p).unwrap_or_default()).collect::<Vec<String>>()
    });
    let bytes: usize = texts.iter().map(String::len).sum();
    row("read", b, m, &format!("{bytes} bytes"));
    let (b, m, docs) =
        measure(runs, || texts.par_iter().map(|t| lifeboat::yaml::load_str(0, t).documents.len()).sum::<usize>());
    row("parse", b, m, &format!("{docs} documents"));
    let sources = lifeboat::yaml::load_files(&found.files);
    let (b, m, model) = measure(runs, || lifeboat::model::build(&sources, root));
    row("model", b, m, &format!("{} resources", model.resources.len()));
    let config = lifeboat::config::Config::default();
    let (b, m, inv) = measure(runs, || lifeboat::inventory::Inventory::build(&model, &sources.errors, &config));
    row("inventory", b, m, &format!("{} clusters, {} stateful items", inv.clusters.len(), inv.items.len()));
    let (b, m, findings) = measure(runs, || {
        let mut raw = Vec::new();
        let usage = lifeboat::rules::Usage {
            enabled: lifeboat::rules::RULES.iter().map(|r| r.meta.id).collect(),
            ..Default::default()
        };
        for rule in lifeboat::rules::RULES {
            match rule.check {
                lifeboat::rules::Check::Inventory(check) => check(&inv, &mut raw),
                lifeboat::rules::Check::Usage(check) => check(&inv, &usage, &mut raw),
            }
        }
        raw.len()
    });
    row("rules", b, m, &format!("{findings} raw findings"));
    drop(inv);
    let opts = lifeboat::Options { paths: vec![root.to_path_buf()], ..lifeboat::Options::default() };
    let run = lifeboat::run(&opts).expect("run");
    let (b, m, len) = measure(runs, || lifeboat::report::json::render(&run).len());
    row("report", b, m, &format!("JSON, {len} bytes"));
    let (b, m, len) = measure(runs, || lifeboat::report::human::render(&run, false, false).len());
    row("human", b, m, &format!("the default report, {len} bytes"));
    let (b, m, run) = measure(runs, || lifeboat::run(&opts).expect("run"));
    row("check", b, m, &format!("whole pipeline, {} findings", run.findings.len()));
    run
}

/// The human report of many findings in one large file: each snippet is
/// read from where its lines start, so this grows with the findings, not
/// with findings × file size.
fn one_file(pvcs: usize, runs: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut text = String::new();
    for i in 0..pvcs {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data-{i}\n  namespace: apps\n\
             spec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n"
        ));
    }
    write(&dir.path().join("pvcs.yaml"), &text);
    let opts = lifeboat::Options { paths: vec![dir.path().to_path_buf()], ..lifeboat::Options::default() };
    let run = lifeboat::run(&opts).expect("run");
    println!("\nOne file of {pvcs} unprotected PVCs ({} bytes), {} findings", text.len(), run.findings.len());
    let (b, m, len) = measure(runs, || lifeboat::report::json::render(&run).len());
    row("json", b, m, &format!("{len} bytes"));
    let (b, m, len) = measure(runs, || lifeboat::report::human::render(&run, false, false).len());
    row("human", b, m, &format!("{len} bytes"));
}

/// Child mode of the scale table: check the repo at `dir`, write the JSON
/// report nowhere, print wall milliseconds and peak RSS in KB.
fn scale_child(dir: &str) {
    let start = Instant::now();
    let opts = lifeboat::Options { paths: vec![dir.into()], ..lifeboat::Options::default() };
    let run = lifeboat::run(&opts).expect("run");
    let bytes = lifeboat::report::json::render(&run).len();
    let elapsed = start.elapsed();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).map_or("?", str::trim).trim_end_matches(" kB");
    println!("{:.1} {hwm} {} {} {bytes}", ms(elapsed), run.model.resources.len(), run.findings.len());
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => total += dir_bytes(&e.path()),
            Ok(_) => total += e.metadata().map_or(0, |m| m.len()),
            Err(_) => {}
        }
    }
    total
}

fn scale_table() {
    let sizes: Vec<usize> = std::env::var("LIFEBOAT_BENCH_SCALE")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000]);
    let exe = std::env::current_exe().expect("the bench binary");
    println!("\nScale: Flux-style repos, each checked in a child process (median of 3 runs)");
    println!(
        "  {:>7} {:>7} {:>11} {:>10} {:>11} {:>9} {:>9}",
        "files", "apps", "input MB", "time ms", "peak RSS MB", "RSS/input", "resources"
    );
    for target in sizes {
        let apps = (target / 4).max(1);
        let dir = tempfile::tempdir().expect("temp dir");
        let files = generate_flux(dir.path(), apps);
        let input = dir_bytes(dir.path());
        let mut results = Vec::new();
        for _ in 0..3 {
            let out = std::process::Command::new(&exe)
                .env("LIFEBOAT_BENCH_CHILD", dir.path())
                .output()
                .expect("the child runs");
            let text = String::from_utf8_lossy(&out.stdout);
            let fields: Vec<f64> = text.split_whitespace().filter_map(|f| f.parse().ok()).collect();
            if let [time, rss, resources, ..] = fields[..] {
                results.push((time, rss, resources));
            } else {
                println!("  child failed: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
        results.sort_by(|a, b| a.0.total_cmp(&b.0));
        if let Some(&(time, rss, resources)) = results.get(results.len() / 2) {
            let mb = |kb: f64| kb / 1024.0;
            let input_mb = input as f64 / 1e6;
            println!(
                "  {files:>7} {apps:>7} {input_mb:>11.1} {time:>10.1} {:>11.1} {:>9.1} {resources:>9}",
                mb(rss),
                rss * 1024.0 / input as f64
            );
        }
    }
}

fn main() {
    if let Ok(dir) = std::env::var("LIFEBOAT_BENCH_CHILD") {
        scale_child(&dir);
        return;
    }
    let apps: usize = std::env::var("LIFEBOAT_BENCH_APPS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    // `LIFEBOAT_BENCH_GENERATE=DIR`: write the Flux-style repo of
    // `LIFEBOAT_BENCH_APPS` apps there (to profile the binary on) and stop.
    if let Some(dir) = std::env::var_os("LIFEBOAT_BENCH_GENERATE") {
        let files = generate_flux(Path::new(&dir), apps);
        println!("{files} files in {}", Path::new(&dir).display());
        return;
    }
    // `LIFEBOAT_BENCH_SCALE_ONLY=1`: the scale table alone.
    if std::env::var_os("LIFEBOAT_BENCH_SCALE_ONLY").is_some() {
        scale_table();
        return;
    }
    let runs = 10;
    let dir = tempfile::tempdir().expect("temp dir");
    let files = generate(dir.path(), apps);
    println!("Kustomize-style repo: {apps} apps, {files} files, {} threads", rayon::current_num_threads());
    stages(dir.path(), runs);

    let flux_dir = tempfile::tempdir().expect("temp dir");
    // `LIFEBOAT_BENCH_FLUX_DIR` keeps the generated repo there for a look.
    let root = std::env::var("LIFEBOAT_BENCH_FLUX_DIR").map_or_else(|_| flux_dir.path().to_path_buf(), Into::into);
    let files = generate_flux(&root, apps);
    println!("\nFlux-style repo: {apps} apps with components, {files} files");
    let run = stages(&root, runs);
    let clusters = run.model.resources.iter().filter(|r| r.kind == "Cluster").count();
    assert_eq!(clusters, apps, "every app's component Cluster is instantiated");

    one_file(4 * apps, runs);

    scale_table();
}
