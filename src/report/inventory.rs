//! `lifeboat inventory`: what holds data and what protects it, as the table
//! people keep by hand in their backup plans.

use crate::model::operators::UnmodelledStorage;
use serde_json::json;

use crate::cron;
use std::collections::HashMap;

use crate::inventory::cnpg::{Archiver, Cluster};
use crate::inventory::dumps::DumpJob;
use crate::inventory::pgo::PgoCluster;
use crate::inventory::stateful::{ItemKind, StatefulItem};
use crate::inventory::Inventory;
use crate::model::Resource;
use crate::yaml::{str_at, Node, Sources};
use crate::{Options, RunError};

/// One stateful item and its protection.
#[derive(Debug, Clone)]
pub struct Row {
    /// The Kubernetes cluster, in a repository that deploys several.
    pub cluster: Option<String>,
    pub app: String,
    /// A PVC manifest that no workload or release of the repository mounts.
    pub unmounted: bool,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub size: String,
    pub storage_class: String,
    /// Mechanisms, each "what (schedule, retention)".
    pub protection: Vec<String>,
    /// At least one mechanism really runs (none paused, suspended or on a
    /// schedule that never fires).
    pub protected: bool,
    /// Where the data lives when on storage outside the cluster.
    pub external: Option<String>,
    /// Why lifeboat cannot judge its protection (a chart not fully rendered).
    pub unseen: Option<String>,
    pub excluded: Option<String>,
    /// `Kind/name` the claim is restored from when created.
    pub restored_from: Option<String>,
    /// CronJobs that mount it read-only with a tool lifeboat does not know:
    /// possibly a backup, not counted.
    pub possible: Vec<String>,
    pub file: String,
    pub line: u32,
    /// The Flux Kustomization that deploys it (whose substitution sources
    /// its unresolved values come from).
    pub deployed_by: Option<String>,
}

impl Row {
    /// The App column: "sonarr", or "sonarr (not mounted)".
    pub fn app_cell(&self) -> String {
        if self.unmounted {
            format!("{} (not mounted)", self.app)
        } else {
            self.app.clone()
        }
    }

    /// `namespace/name`, or `(no namespace)/name` for an object without one.
    pub fn qualified(&self) -> String {
        let ns = if self.namespace.is_empty() { "(no namespace)" } else { self.namespace.as_str() };
        format!("{ns}/{}", self.name)
    }

    pub fn status(&self) -> String {
        match (&self.excluded, self.protection.is_empty()) {
            (Some(reason), _) => format!("excluded: {reason}"),
            (None, true) if self.external.is_some() => {
                format!(
                    "external storage ({}): its server's backup is not visible",
                    self.external.as_deref().unwrap_or("")
                )
            }
            (None, true) if self.unseen.is_some() => {
                format!("NOT JUDGED: {}", self.unseen.as_deref().unwrap_or(""))
            }
            (None, true) if !self.possible.is_empty() => {
                format!("NOT PROTECTED — possibly a backup (unrecognised tool): {}", self.possible.join("; "))
            }
            (None, true) => "NOT PROTECTED".to_string(),
            (None, false) if !self.protected => format!("NOT PROTECTED: {}", self.protection.join("; ")),
            (None, false) => self.protection.join("; "),
        }
    }
}

#[derive(Debug, Default)]
pub struct InventoryReport {
    pub rows: Vec<Row>,
    pub unreached: Vec<String>,
    /// Releases of charts lifeboat neither knows nor renders: what they make
    /// is not in the inventory.
    pub unknown_charts: Vec<UnknownChart>,
    /// Custom resources that ask for storage lifeboat does not model.
    pub unmodelled: Vec<Unmodelled>,
}

#[derive(Debug, Clone)]
pub struct Unmodelled {
    pub storage: UnmodelledStorage,
    pub file: String,
    pub line: u32,
}

impl Unmodelled {
    fn text(&self) -> String {
        let u = &self.storage;
        let at = if u.at.is_empty() { "by its operator's default".to_string() } else { format!("at `{}`", u.at) };
        format!(
            "{} `{}` ({}) asks for storage {at}: lifeboat does not model this operator, so the claims it makes and whether they are backed up are not judged ({}:{})",
            u.kind, u.name, u.api_version, self.file, self.line
        )
    }
}

#[derive(Debug, Clone)]
pub struct UnknownChart {
    pub release: String,
    pub chart: String,
    /// The version the release asks for ("" when none).
    pub version: String,
    /// The versions the catalogue describes, when not this one.
    pub other_versions: Option<String>,
    /// Values the catalogue's entry does not describe (a mode it does not know).
    pub undescribed: Option<String>,
    pub file: String,
    pub line: u32,
    /// Items read from its values by the common `persistence` shape alone
    /// (0: none): what else the chart makes is unknown all the same.
    pub generic_items: usize,
    /// The clusters it is deployed to, when the repository has several
    /// (one entry for a release every cluster deploys alike).
    pub clusters: Vec<String>,
}

impl UnknownChart {
    /// The release, with the clusters it is deployed to.
    fn release_text(&self) -> String {
        match self.clusters.as_slice() {
            [] => self.release.clone(),
            [one] => format!("{} [cluster `{one}`]", self.release),
            many => format!(
                "{} [clusters {}]",
                self.release,
                many.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
            ),
        }
    }

    fn text(&self) -> String {
        if let Some(values) = &self.undescribed {
            let version = if self.version.is_empty() { String::new() } else { format!(" {}", self.version) };
            let generic = match self.generic_items {
                0 => String::new(),
                n => format!(
                    "; its values were read by the common `persistence` shape alone, {n} item{}",
                    if n == 1 { "" } else { "s" }
                ),
            };
            return format!(
                "{}: chart `{}`{version}: contents unknown (it sets {values}{generic}; describe it under `charts:` in .lifeboat.yaml) ({}:{})",
                self.release_text(),
                self.chart,
                self.file,
                self.line
            );
        }
        if self.generic_items > 0 {
            let version = if self.version.is_empty() { String::new() } else { format!(" {}", self.version) };
            return format!(
                "{}: chart `{}`{version}: contents partly unknown (not in lifeboat's chart catalogue: its values were read by the common `persistence` shape alone, {} item{}; the claim names are guesses and what else it makes is unknown; describe it under `charts:` in .lifeboat.yaml) ({}:{})",
                self.release_text(),
                self.chart,
                self.generic_items,
                if self.generic_items == 1 { "" } else { "s" },
                self.file,
                self.line
            );
        }
        let why = match &self.other_versions {
            Some(range) => format!(
                "lifeboat's chart catalogue describes versions `{range}` of it, not this one; describe it under `charts:` in .lifeboat.yaml"
            ),
            None => "not in lifeboat's chart catalogue, not in the repository; describe it under `charts:` in .lifeboat.yaml".to_string(),
        };
        let version = if self.version.is_empty() { String::new() } else { format!(" {}", self.version) };
        format!(
            "{}: chart `{}`{version}: contents unknown ({why}) ({}:{})",
            self.release_text(),
            self.chart,
            self.file,
            self.line
        )
    }
}

/// Directory names that say nothing about the app (`apps/paperless/app`).
const GENERIC_DIRS: &[&str] = &["app", "apps", "base", "resources", "config", "manifests", "deploy", "templates", "."];

/// Which app an item belongs to: the Helm release that declares it, else the
/// Helm release or workload that mounts its claim (a HelmRelease's
/// `existingClaim`, a pod's `claimName`), else the Flux Kustomization or
/// Argo CD Application that deployed it, else the directory's name. A PVC
/// manifest that nothing in the repository mounts says so ("(not mounted)")
/// rather than borrowing a neighbour's name.
struct Apps<'a> {
    /// (namespace, claim) -> the app of what mounts it.
    mounts: HashMap<(Option<String>, String), Option<String>>,
    _files: std::marker::PhantomData<&'a ()>,
}

fn dir_of(file: &str) -> &str {
    file.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Every string value under a key naming a claim (`claimName`,
/// `existingClaim` …) in `node`.
fn claim_refs<'n>(node: &'n Node, out: &mut Vec<&'n str>) {
    for (k, v) in node.as_map() {
        match (k.as_str(), v.as_nonempty_str()) {
            (Some(key), Some(name)) if key.to_ascii_lowercase().contains("claim") => out.push(name),
            _ => claim_refs(v, out),
        }
    }
    for item in node.as_seq() {
        claim_refs(item, out);
    }
}

impl<'a> Apps<'a> {
    fn new(inv: &'a Inventory, _files: &'a Sources) -> Apps<'a> {
        let mut mounts: HashMap<(Option<String>, String), Option<String>> = HashMap::new();
        let release =
            |r: &Resource| r.is("helm.toolkit.fluxcd.io", "HelmRelease") || r.is("argoproj.io", "Application");
        // A job (a backup or dump CronJob) mounts a claim but is not its
        // app: it counts as mounting, and names the app only if nothing else
        // mounts it. Releases name their app before workloads.
        let job = |r: &Resource| matches!(r.kind.as_str(), "CronJob" | "Job");
        let mut users: Vec<&Resource> = inv.resources.iter().filter(|r| r.kind != "PersistentVolumeClaim").collect();
        users.sort_by_key(|r| (job(r), !release(r)));
        for r in users {
            let Some(spec) = r.spec() else { continue };
            let mut refs = Vec::new();
            claim_refs(spec, &mut refs);
            let app = if job(r) {
                None
            } else if release(r) {
                Some(r.name.clone())
            } else {
                Some(r.deployed_by.clone().unwrap_or_else(|| r.name.clone()))
            };
            let ns = if r.is("helm.toolkit.fluxcd.io", "HelmRelease") {
                spec.get("targetNamespace").and_then(Node::as_str).or(r.namespace.as_deref())
            } else {
                r.namespace.as_deref()
            };
            // A release may name the claim by its own name (`existingClaim:
            // "{{ .Release.Name }}"`), as Helm renders it.
            let release_name = release(r).then(|| {
                str_at(Some(spec), &["releaseName"])
                    .or_else(|| str_at(Some(spec), &["source", "helm", "releaseName"]))
                    .unwrap_or(&r.name)
            });
            for name in refs {
                let name = match release_name {
                    Some(rel) if name.contains("{{") => crate::inventory::stateful::release_template(name, rel, ns),
                    _ => name.to_string(),
                };
                mounts.entry((ns.map(str::to_string), name)).or_insert_with(|| app.clone());
            }
        }
        Apps { mounts, _files: std::marker::PhantomData }
    }

    /// `None`: nothing mounts it; `Some(None)`: only jobs do.
    fn mounted_by(&self, namespace: Option<&str>, claim: &str) -> Option<Option<&str>> {
        self.mounts
            .get(&(namespace.map(str::to_string), claim.to_string()))
            .or_else(|| {
                self.mounts
                    .iter()
                    .find(|((n, c), _)| c == claim && (n.is_none() || namespace.is_none()))
                    .map(|(_, a)| a)
            })
            .map(|a| a.as_deref())
    }

    fn app(&self, release: Option<&str>, deployed_by: Option<&str>, file: &str) -> String {
        if let Some(r) = release {
            return r.to_string();
        }
        if let Some(owner) = deployed_by {
            return owner.to_string();
        }
        let dir = dir_of(file);
        // Paths are relative to the repository root: a file at the top is
        // named by the root directory's own name.
        let full = std::path::absolute(if dir.is_empty() { "." } else { dir })
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_else(|_| dir.to_string());
        full.split('/')
            .rev()
            .find(|seg| !seg.is_empty() && !GENERIC_DIRS.contains(seg) && !seg.starts_with(".."))
            .unwrap_or(dir)
            .to_string()
    }

    /// The app of a PVC manifest (what mounts it, else what deployed it),
    /// and whether nothing mounts it.
    fn pvc_app(&self, item: &StatefulItem, file: &str) -> (String, bool) {
        let claim = item.claim.likely_name();
        match self.mounted_by(item.namespace(), &claim) {
            Some(Some(app)) => (app.to_string(), false),
            Some(None) => (self.app(None, item.res.deployed_by.as_deref(), file), false),
            // A claim an operator or a chart makes is mounted by what they
            // run (the VMSingle's Deployment, konflate's own Deployment), not
            // by a workload written here; one a chart only writes out (a
            // manifest chart's values) is like one written here.
            None => (self.app(None, item.res.deployed_by.as_deref(), file), !item.res.made_by_chart_or_operator()),
        }
    }
}

/// The release a chart-made object belongs to (the catalogue or a rendered
/// chart made it): that release is its app.
fn chart_release(res: &crate::model::Resource) -> Option<&str> {
    let made = res
        .via
        .iter()
        .any(|v| ["made by chart", "written by chart", "rendered from chart"].iter().any(|p| v.message.starts_with(p)));
    if made {
        res.deployed_by.as_deref()
    } else {
        None
    }
}

fn cluster_row(inv: &Inventory, c: &Cluster, files: &Sources, apps: &Apps) -> Row {
    let spec = c.res.spec();
    let text = |path: &[&str]| spec.and_then(|s| s.path(path)).and_then(Node::as_str).unwrap_or("").to_string();
    let mut protection = Vec::new();
    // A WAL archive or a replica protects; a suspended or never-firing
    // schedule does not.
    let mut running = c.replica || c.archiver.is_some();
    if c.replica {
        protection.push("replica cluster (reads its source's archive)".to_string());
    }
    let archive = inv.archive_id(c).map(|(id, _)| id.to_string());
    match &c.archiver {
        Some(Archiver::InTree(_)) => {
            let retention = c.retention.and_then(Node::as_str).unwrap_or("no retention");
            protection.push(format!("WAL archive: barmanObjectStore {} ({retention})", archive.unwrap_or_default()));
        }
        Some(Archiver::Plugin(p)) => {
            let store = inv.plugin_store(c.namespace(), p);
            let retention = store.and_then(|(s, _)| s.retention).and_then(Node::as_str).unwrap_or("no retention");
            let object = p.barman_object_name.and_then(Node::as_str).unwrap_or("?");
            let target = archive.map(|a| format!(" {a}")).unwrap_or_default();
            protection.push(format!("WAL archive: plugin {} ObjectStore {object}{target} ({retention})", p.name));
        }
        None => {}
    }
    for sb in inv.scheduled_backups_for(c) {
        let schedule = sb.schedule.and_then(Node::as_str).unwrap_or("");
        let when =
            cron::parse_cnpg(schedule).map(|s| cron::describe(&s, true)).unwrap_or_else(|_| "invalid schedule".into());
        let off = sb.suspend.and_then(Node::as_bool) == Some(true);
        let suspended = if off { ", SUSPENDED — does not run" } else { "" };
        running |= !off && cron::parse_cnpg(schedule).is_ok();
        protection.push(format!("base backups: ScheduledBackup {} \"{schedule}\" ({when}{suspended})", sb.res.name));
    }
    running |= dump_protection(&inv.dump_jobs_for(c), &mut protection);
    Row {
        deployed_by: c.res.deployed_by.clone(),
        size: text(&["storage", "size"]),
        storage_class: text(&["storage", "storageClass"]),
        protection,
        protected: running,
        ..database_row(inv, c.index, c.res, "CNPG Cluster", files, apps)
    }
}

/// pg_dump CronJobs as protection entries; whether one of them runs.
fn dump_protection(dumps: &[&DumpJob], protection: &mut Vec<String>) -> bool {
    let mut running = false;
    for d in dumps {
        let schedule = d.res.spec().and_then(|s| s.get("schedule")).and_then(Node::as_str).unwrap_or("");
        let off = d.res.spec().and_then(|s| s.get("suspend")).and_then(Node::as_bool) == Some(true);
        let suspended = if off { ", SUSPENDED — does not run" } else { "" };
        running |= !off && (crate::model::is_unresolved(schedule) || cron::parse_standard(schedule).is_ok());
        protection.push(format!("pg_dump (logical only): CronJob {} \"{schedule}\"{suspended}", d.res.name));
    }
    running
}

/// The row of a database resource (a CNPG Cluster, a PGO PostgresCluster)
/// without its size, class or protection, which the caller fills.
fn database_row(inv: &Inventory, index: usize, res: &Resource, kind: &str, files: &Sources, apps: &Apps) -> Row {
    let file = files.file(res.file).map(|f| f.display.clone()).unwrap_or_default();
    Row {
        deployed_by: res.deployed_by.clone(),
        cluster: res.cluster.as_deref().map(str::to_string),
        app: apps.app(chart_release(res), res.deployed_by.as_deref(), &file),
        unmounted: false,
        kind: kind.into(),
        namespace: res.namespace.clone().unwrap_or_default(),
        name: res.name.clone(),
        size: String::new(),
        storage_class: String::new(),
        protection: Vec::new(),
        protected: false,
        external: None,
        unseen: None,
        excluded: inv.exclusions.exclusion(index).map(|e| e.describe()),
        restored_from: None,
        possible: Vec::new(),
        file,
        line: res.name_span().start.line,
    }
}

/// A Crunchy PGO PostgresCluster: its pgBackRest repositories, their
/// schedules and retention, and pg_dump jobs.
fn pgo_row(inv: &Inventory, c: &PgoCluster, files: &Sources, apps: &Apps) -> Row {
    let mut protection = Vec::new();
    let mut running = c.standby;
    if c.standby {
        protection.push("standby cluster (replays its source's archive or stream)".to_string());
    }
    for repo in &c.repos {
        let retention = repo.retention.as_deref().unwrap_or("default retention");
        let schedules: Vec<String> = repo
            .schedules
            .iter()
            .map(|s| {
                let text = s.text();
                let when = if crate::model::is_unresolved(text) {
                    "set by substitution".to_string()
                } else {
                    cron::parse_standard(text)
                        .map(|(sched, _)| cron::describe(&sched, false))
                        .unwrap_or_else(|_| "invalid schedule — does not run".into())
                };
                format!("{} \"{text}\" ({when})", s.kind)
            })
            .collect();
        running |= repo.runs();
        let backups = if schedules.is_empty() {
            "no scheduled backups".to_string()
        } else {
            format!("backups {}", schedules.join(", "))
        };
        protection.push(format!("pgBackRest {}: WAL archive, {backups}; {retention}", repo.describe()));
    }
    running |= dump_protection(&inv.dump_jobs_for_pgo(c), &mut protection);
    let first = c.res.spec().and_then(|s| s.get("instances")).and_then(|i| i.as_seq().first());
    let text = |path: &[&str]| str_at(first, path).unwrap_or("").to_string();
    Row {
        deployed_by: c.res.deployed_by.clone(),
        size: text(&["dataVolumeClaimSpec", "resources", "requests", "storage"]),
        storage_class: text(&["dataVolumeClaimSpec", "storageClassName"]),
        protection,
        protected: running,
        ..database_row(inv, c.index, c.res, "PGO PostgresCluster", files, apps)
    }
}

fn item_row(inv: &Inventory, i: usize, item: &StatefulItem, files: &Sources, apps: &Apps) -> Row {
    let file = files.file(item.span.file).map(|f| f.display.clone()).unwrap_or_default();
    let (app, unmounted) = match item.kind {
        ItemKind::Pvc => apps.pvc_app(item, &file),
        _ => (
            apps.app(item.release.as_deref().or(chart_release(item.res)), item.res.deployed_by.as_deref(), &file),
            false,
        ),
    };
    let kind = match item.kind {
        ItemKind::Pvc => "PVC",
        ItemKind::ClaimTemplate => "StatefulSet claim",
        ItemKind::HelmPersistence => "Helm persistence",
        ItemKind::DirectVolume => "Helm volume",
    };
    Row {
        deployed_by: item.res.deployed_by.clone(),
        cluster: item.res.cluster.as_deref().map(str::to_string),
        app,
        unmounted,
        kind: kind.into(),
        namespace: item.namespace().unwrap_or("").to_string(),
        name: item.claim.display(),
        size: item.size.clone().unwrap_or_default(),
        storage_class: item.storage_class.clone().unwrap_or_default(),
        protection: inv.coverage.get(i).map_or_else(Vec::new, |c| c.iter().map(|p| p.what.clone()).collect()),
        protected: inv.coverage.get(i).is_some_and(|c| crate::inventory::coverage::any_running(c)),
        external: inv.external.get(i).cloned().flatten(),
        unseen: item.unseen.map(str::to_string),
        excluded: inv.item_exclusion(i).map(|e| e.describe()),
        restored_from: item.restored_from.clone(),
        possible: inv
            .possible_backups_of(item)
            .iter()
            .map(|p| format!("CronJob `{}` mounts it read-only", p.res.name))
            .collect(),
        file,
        line: item.span.start.line,
    }
}

pub fn collect(opts: &Options) -> Result<InventoryReport, RunError> {
    let mut config = crate::load_config(opts)?;
    let (sources, model, _) = crate::load(opts, &mut config)?;
    let inv = Inventory::build(&model, &sources.errors, &config);
    let apps = Apps::new(&inv, &sources);
    let mut rows: Vec<Row> = inv.clusters.iter().map(|c| cluster_row(&inv, c, &sources, &apps)).collect();
    rows.extend(inv.pgo_clusters.iter().map(|c| pgo_row(&inv, c, &sources, &apps)));
    rows.extend(inv.items.iter().enumerate().map(|(i, item)| item_row(&inv, i, item, &sources, &apps)));
    rows.sort_by(|a, b| {
        (&a.cluster, &a.app, &a.namespace, &a.kind, &a.name).cmp(&(&b.cluster, &b.app, &b.namespace, &b.kind, &b.name))
    });
    // An archive URL's password is never printed.
    for text in rows.iter_mut().flat_map(|r| r.protection.iter_mut().chain(&mut r.excluded).chain(&mut r.restored_from))
    {
        crate::mask_urls(text);
    }
    // A value lifeboat could not resolve is shown as its reference, and
    // said to be unresolved.
    for r in &mut rows {
        let by = r.deployed_by.clone();
        for text in r.protection.iter_mut().chain(&mut r.external).chain([&mut r.size, &mut r.storage_class]) {
            crate::model::say_unresolved_with(text, &model.hidden_variables, by.as_deref());
        }
    }
    // The whole repository is modelled; the PATH arguments choose the rows.
    let scope: Vec<String> = opts.scope.iter().filter(|s| *s != ".").cloned().collect();
    rows.retain(|r| crate::in_scope(&r.file, &scope));
    let unreached = model
        .unreached
        .iter()
        .filter(|u| crate::in_scope(sources.file(u.file).map_or("", |f| f.display.as_str()), &scope))
        .map(|u| {
            let file = sources.file(u.file).map(|f| f.display.as_str()).unwrap_or("");
            format!("{} {} in {file}: {}", u.kind, u.name, u.reason)
        })
        .collect();
    // A release of a chart nobody knows: say so, and how many items were
    // read from its values by the common shape alone.
    let unknown_charts = model
        .releases
        .iter()
        .filter(|r| r.known == crate::model::charts::Known::Unknown)
        .map(|r| {
            let generic = inv
                .items
                .iter()
                .filter(|i| {
                    i.kind == ItemKind::HelmPersistence
                        && i.release.as_deref() == Some(r.release.as_str())
                        && crate::inventory::same_namespace(i.namespace(), r.namespace.as_deref())
                })
                .count();
            (r, generic)
        })
        .map(|(r, generic_items)| UnknownChart {
            generic_items,
            release: r.label.clone(),
            chart: r.chart.clone(),
            version: r.version.clone(),
            other_versions: r.other_versions.clone(),
            undescribed: r.undescribed.clone(),
            file: sources.file(r.span.file).map(|f| f.display.clone()).unwrap_or_default(),
            line: r.span.start.line,
            clusters: r.cluster.iter().map(|c| c.to_string()).collect(),
        })
        .filter(|u: &UnknownChart| crate::in_scope(&u.file, &scope))
        .fold(Vec::<UnknownChart>::new(), |mut out, u| {
            // One release written once and deployed to several clusters is
            // one entry that names them.
            let same = out.iter_mut().find(|o| {
                (&o.release, &o.chart, &o.version, &o.file, o.line)
                    == (&u.release, &u.chart, &u.version, &u.file, u.line)
            });
            match same {
                Some(o) => {
                    o.clusters.extend(u.clusters);
                    o.generic_items = o.generic_items.max(u.generic_items);
                }
                None => out.push(u),
            }
            out
        });
    let unmodelled = model
        .unmodelled_storage
        .iter()
        .map(|u| Unmodelled {
            storage: u.clone(),
            file: sources.file(u.span.file).map(|f| f.display.clone()).unwrap_or_default(),
            line: u.span.start.line,
        })
        .filter(|u| crate::in_scope(&u.file, &scope))
        .collect();
    Ok(InventoryReport { rows, unreached, unknown_charts, unmodelled })
}

impl InventoryReport {
    fn counts(&self) -> (usize, usize, usize) {
        let excluded = self.rows.iter().filter(|r| r.excluded.is_some()).count();
        let bare = self.rows.iter().filter(|r| r.excluded.is_none() && !r.protected && !self.is_external(r)).count();
        (self.rows.len() - excluded - bare - self.external_count(), excluded, bare)
    }

    /// Unprotected here, on storage outside the cluster.
    fn is_external(&self, r: &Row) -> bool {
        r.excluded.is_none() && r.protection.is_empty() && (r.external.is_some() || r.unseen.is_some())
    }

    fn unseen_count(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.excluded.is_none() && r.protection.is_empty() && r.external.is_none() && r.unseen.is_some())
            .count()
    }

    /// On external storage or not judged: neither protected nor bare.
    fn external_count(&self) -> usize {
        self.rows.iter().filter(|r| self.is_external(r)).count()
    }

    fn summary(&self) -> String {
        let (protected, excluded, bare) = self.counts();
        let unseen = self.unseen_count();
        let external = match self.external_count() - unseen {
            0 => String::new(),
            n => format!(", {n} on external storage"),
        };
        let external = match unseen {
            0 => external,
            n => format!("{external}, {n} not judged (made by charts lifeboat could not fully render)"),
        };
        let unknown = match self.unknown_charts.len() {
            0 => String::new(),
            n => format!("; {n} Helm {} of unknown contents", if n == 1 { "release" } else { "releases" }),
        };
        let unmodelled = match self.unmodelled.len() {
            0 => String::new(),
            n => format!(
                "; {n} custom {} asking for storage lifeboat does not model",
                if n == 1 { "resource" } else { "resources" }
            ),
        };
        format!(
            "{} stateful items: {protected} protected, {excluded} excluded{external}, {bare} NOT PROTECTED{unknown}{unmodelled}",
            self.rows.len()
        )
    }

    /// Whether rows name their cluster (the repository deploys several).
    fn multi_cluster(&self) -> bool {
        self.rows.iter().any(|r| r.cluster.is_some())
    }

    pub fn table(&self) -> String {
        let multi = self.multi_cluster();
        let mut header = vec!["APP", "KIND", "NAMESPACE/NAME", "SIZE", "CLASS", "PROTECTION"];
        if multi {
            header.insert(0, "CLUSTER");
        }
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let mut row = vec![
                    r.app_cell(),
                    r.kind.clone(),
                    r.qualified(),
                    r.size.clone(),
                    r.storage_class.clone(),
                    r.status(),
                ];
                if multi {
                    row.insert(0, r.cluster.clone().unwrap_or_default());
                }
                row
            })
            .collect();
        let columns = header.len();
        let width = |i: usize| {
            cells
                .iter()
                .filter_map(|c| c.get(i))
                .map(|c| c.chars().count())
                .chain(header.get(i).map(|h| h.len()))
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..columns.saturating_sub(1)).map(width).collect();
        let line = |c: &[&str]| {
            let mut s = String::new();
            for (text, w) in c.iter().zip(&widths) {
                s.push_str(&format!("{text:<w$}  "));
            }
            s.push_str(c.last().copied().unwrap_or(""));
            s.push('\n');
            s
        };
        let mut out = line(&header);
        for c in &cells {
            let refs: Vec<&str> = c.iter().map(String::as_str).collect();
            out.push_str(&line(&refs));
        }
        out.push_str(&format!("\n{}\n", self.summary()));
        let n = self.unknown_charts.len();
        let title =
            format!("{n} Helm {} whose contents lifeboat does not know:", if n == 1 { "release" } else { "releases" });
        push_list(&mut out, &title, "  ", self.unknown_charts.iter().map(UnknownChart::text));
        let n = self.unmodelled.len();
        let title = format!(
            "{n} custom {} asking for storage lifeboat does not model:",
            if n == 1 { "resource" } else { "resources" }
        );
        push_list(&mut out, &title, "  ", self.unmodelled.iter().map(Unmodelled::text));
        let n = self.unreached.len();
        let title = format!("{n} {} not deployed:", if n == 1 { "document is" } else { "documents are" });
        push_list(&mut out, &title, "  ", self.unreached.iter().cloned());
        out
    }

    /// A table ready to paste into a runbook, as the seeds keep them.
    pub fn markdown(&self) -> String {
        let cell = |t: &str| t.replace('|', "\\|");
        let multi = self.multi_cluster();
        let mut out = String::from(if multi {
            "| Cluster | App | Kind | Namespace/Name | Size | Storage class | Backed up? |\n|---|---|---|---|---|---|---|\n"
        } else {
            "| App | Kind | Namespace/Name | Size | Storage class | Backed up? |\n|---|---|---|---|---|---|\n"
        });
        for r in &self.rows {
            if multi {
                out.push_str(&format!("| {} ", cell(r.cluster.as_deref().unwrap_or(""))));
            }
            let status = match (&r.excluded, r.protection.is_empty()) {
                (Some(reason), _) => format!("Excluded: {}", cell(reason)),
                (None, true) if r.external.is_some() => {
                    format!(
                        "External storage ({}): its server's backup is not visible",
                        cell(r.external.as_deref().unwrap_or(""))
                    )
                }
                (None, true) => "**NOT PROTECTED**".to_string(),
                (None, false) if !r.protected => format!("**No**: {}", cell(&r.protection.join("; "))),
                (None, false) => format!("Yes: {}", cell(&r.protection.join("; "))),
            };
            out.push_str(&format!(
                "| {} | {} | `{}` | {} | {} | {status} |\n",
                cell(&r.app_cell()),
                r.kind,
                cell(&r.qualified()),
                cell(&r.size),
                cell(&r.storage_class),
            ));
        }
        out.push_str(&format!("\n**{}**\n", self.summary()));
        let title = format!("Charts of unknown contents ({}):", self.unknown_charts.len());
        push_list(&mut out, &title, "- ", self.unknown_charts.iter().map(|u| cell(&u.text())));
        let title = format!("Storage lifeboat does not model ({}):", self.unmodelled.len());
        push_list(&mut out, &title, "- ", self.unmodelled.iter().map(|u| cell(&u.text())));
        let title = format!("Not deployed ({}):", self.unreached.len());
        push_list(&mut out, &title, "- ", self.unreached.iter().map(|u| cell(u)));
        out
    }

    pub fn json(&self) -> String {
        let items: Vec<_> = self
            .rows
            .iter()
            .map(|r| {
                let mut v = json!({
                    "app": r.app, "kind": r.kind, "namespace": r.namespace, "name": r.name,
                    "size": r.size, "storageClass": r.storage_class,
                    "protected": r.protected,
                    "protection": r.protection, "excluded": r.excluded,
                    "restoredFrom": r.restored_from,
                    "externalStorage": r.external,
                    "file": r.file, "line": r.line,
                });
                if let Some(why) = &r.unseen {
                    v["notJudged"] = json!(why);
                }
                if r.unmounted {
                    v["mounted"] = json!(false);
                }
                if !r.possible.is_empty() {
                    v["possibleBackups"] = json!(r.possible);
                }
                if let Some(c) = &r.cluster {
                    v["cluster"] = json!(c);
                }
                v
            })
            .collect();
        let (protected, excluded, bare) = self.counts();
        let summary = json!({ "items": self.rows.len(), "protected": protected, "excluded": excluded, "external": self.external_count(), "unprotected": bare, "unknownCharts": self.unknown_charts.len(), "unmodelledStorage": self.unmodelled.len() });
        let unknown: Vec<_> = self
            .unknown_charts
            .iter()
            .map(|u| {
                let mut j = json!({ "release": u.release, "chart": u.chart, "file": u.file, "line": u.line });
                if !u.clusters.is_empty() {
                    j["clusters"] = json!(u.clusters);
                }
                if !u.version.is_empty() {
                    j["version"] = json!(u.version);
                }
                if let Some(range) = &u.other_versions {
                    j["catalogueVersions"] = json!(range);
                }
                if let Some(values) = &u.undescribed {
                    j["undescribedValues"] = json!(values);
                }
                if u.generic_items > 0 {
                    j["readByCommonShape"] = json!(u.generic_items);
                }
                j
            })
            .collect();
        let unmodelled: Vec<_> = self.unmodelled.iter().map(|u| u.storage.json(&u.file, u.line)).collect();
        let mut t = serde_json::to_string_pretty(&json!({
            "version": 1, "items": items, "summary": summary, "unreached": self.unreached,
            "unknownCharts": unknown, "unmodelledStorage": unmodelled,
        }))
        .unwrap_or_default();
        t.push('\n');
        t
    }
}

/// A titled list under the table, each line after `prefix`: nothing when
/// there are no lines.
fn push_list(out: &mut String, title: &str, prefix: &str, lines: impl Iterator<Item = String>) {
    let mut lines = lines.peekable();
    if lines.peek().is_none() {
        return;
    }
    out.push_str(&format!("\n{title}\n"));
    for line in lines {
        out.push_str(&format!("{prefix}{line}\n"));
    }
}
