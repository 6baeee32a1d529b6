//! The pipeline on a generated repository: `cargo bench --bench pipeline`.
//!
//! Generates a kustomize-style GitOps repo (N apps; each a kustomization with
//! a CNPG Cluster, ObjectStore, ScheduledBackup, ExternalSecret, a PVC and a
//! Deployment, some of them with deliberate gaps) and reports, best and median
//! of several runs, a parse-only pass over the same files next to the whole
//! `lifeboat check` (discover, load, model, inventory, rules) and the JSON
//! report. `LIFEBOAT_BENCH_APPS` sets N (default 1000, i.e. 3,000+ files).
//!
//! A second, Flux-style repo measures the model where it works hardest: N
//! apps in namespace groups, each a Flux `Kustomization` that instantiates
//! shared components (a CNPG Cluster, a VolSync PVC + ReplicationSource) with
//! `postBuild` substitution from a cluster ConfigMap, a parent whose
//! `spec.patches` set defaults on every child, a strategic-merge patch per
//! app on the component's Cluster, and kustomize `replacements` that copy
//! each group's namespace into its Kustomizations' `targetNamespace`.

use std::path::Path;
use std::time::{Duration, Instant};

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

/// The whole `lifeboat check` on `root`, printed; the last run's result.
fn measure_check(root: &Path, runs: usize) -> lifeboat::Run {
    let opts = lifeboat::Options { paths: vec![root.to_path_buf()], ..lifeboat::Options::default() };
    let (best, median, run) = measure(runs, || lifeboat::run(&opts).expect("run"));
    println!(
        "lifeboat check (whole pipeline)      best {:>7.1} ms   median {:>7.1} ms   {} findings",
        ms(best),
        ms(median),
        run.findings.len()
    );
    run
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let apps: usize = std::env::var("LIFEBOAT_BENCH_APPS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let dir = tempfile::tempdir().expect("temp dir");
    let files = generate(dir.path(), apps);
    let root = dir.path().to_path_buf();
    let runs = 10;
    println!("generated repo: {apps} apps, {files} files, {} threads", rayon::current_num_threads());

    let found =
        lifeboat::discover::discover(std::slice::from_ref(&root), &root, &globset::GlobSet::empty()).expect("discover");
    let (best, median, sources) = measure(runs, || lifeboat::yaml::load_files(&found.files));
    println!(
        "parse only (read + parse, parallel)  best {:>7.1} ms   median {:>7.1} ms   {} documents",
        ms(best),
        ms(median),
        sources.documents.len()
    );

    let (best, median, model) = measure(runs, || lifeboat::model::build(&sources, &root));
    println!(
        "model (kustomize, namespaces)        best {:>7.1} ms   median {:>7.1} ms   {} resources",
        ms(best),
        ms(median),
        model.resources.len()
    );

    let config = lifeboat::config::Config::default();
    let (best, median, (clusters, items)) = measure(runs, || {
        let inv = lifeboat::inventory::Inventory::build(&model, &sources.errors, &config);
        (inv.clusters.len(), inv.items.len())
    });
    println!(
        "inventory (+ coverage links)         best {:>7.1} ms   median {:>7.1} ms   {clusters} clusters, {items} stateful items",
        ms(best),
        ms(median)
    );

    let run = measure_check(&root, runs);

    let (best, median, bytes) = measure(runs, || lifeboat::report::json::render(&run).len());
    println!(
        "JSON report                          best {:>7.1} ms   median {:>7.1} ms   {bytes} bytes",
        ms(best),
        ms(median)
    );

    let flux_dir = tempfile::tempdir().expect("temp dir");
    // `LIFEBOAT_BENCH_FLUX_DIR` keeps the generated repo there for a look.
    let root = std::env::var("LIFEBOAT_BENCH_FLUX_DIR").map_or_else(|_| flux_dir.path().to_path_buf(), Into::into);
    let files = generate_flux(&root, apps);
    println!("\nFlux-style repo: {apps} apps with components, {files} files");
    let found =
        lifeboat::discover::discover(std::slice::from_ref(&root), &root, &globset::GlobSet::empty()).expect("discover");
    let sources = lifeboat::yaml::load_files(&found.files);
    let (best, median, model) = measure(runs, || lifeboat::model::build(&sources, &root));
    let clusters = model.resources.iter().filter(|r| r.kind == "Cluster").count();
    println!(
        "model (Flux, components, patches)    best {:>7.1} ms   median {:>7.1} ms   {} resources, {clusters} Clusters",
        ms(best),
        ms(median),
        model.resources.len()
    );
    assert_eq!(clusters, apps, "every app's component Cluster is instantiated");
    measure_check(&root, runs);
}
