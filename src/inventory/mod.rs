//! The inventory stage: typed views over the model's resources: what holds
//! data, what protects it, what is excluded, which Secrets exist. Rules ask
//! the inventory; it knows nothing of rules.

pub mod cnpg;
pub mod conventions;
pub mod coverage;
pub mod dumps;
pub mod exclusions;
pub mod external;
pub mod jobs;
pub mod pgo;
pub mod replicators;
pub mod schedules;
pub mod secrets;
pub mod stateful;
pub mod url_credentials;
pub mod volsync;

use std::collections::HashMap;

use crate::config::Config;
use crate::model::{self, Model, Resource};
use crate::yaml::{FileId, LoadError, Node, Span};
use cnpg::{
    ArchiveId, Archiver, Cluster, External, ObjectStore, ScheduledBackup, BARMAN_CLOUD_GROUP, BARMAN_PLUGIN, CNPG_GROUP,
};
use coverage::Protection;
use dumps::DumpJob;
use exclusions::Exclusions;
use jobs::BackupJob;
use schedules::BackupSchedule;
use secrets::Secrets;
use stateful::StatefulItem;
use volsync::{ReplicationSource, VOLSYNC_GROUP};

pub struct Inventory<'m> {
    pub resources: &'m [Resource],
    /// `${VAR}`s with no value in what Flux Kustomizations build.
    pub substitution_gaps: &'m [model::SubstitutionGap],
    /// Documents of the repository nothing deploys.
    pub unreached: &'m [model::Unreached],
    /// Substitution variables whose value is in a source lifeboat cannot read.
    pub hidden_variables: &'m model::HiddenVariables,
    /// What a webhook adds to every Flux Kustomization's substitution.
    pub injected_substitution: Option<&'m str>,
    pub load_errors: &'m [(FileId, LoadError)],
    pub clusters: Vec<Cluster<'m>>,
    pub scheduled_backups: Vec<ScheduledBackup<'m>>,
    pub object_stores: Vec<ObjectStore<'m>>,
    pub dump_jobs: Vec<DumpJob<'m>>,
    /// Crunchy PGO `PostgresCluster`s.
    pub pgo_clusters: Vec<pgo::PgoCluster<'m>>,
    /// What holds data (besides CNPG Clusters).
    pub items: Vec<StatefulItem<'m>>,
    pub replication_sources: Vec<ReplicationSource<'m>>,
    pub backup_jobs: Vec<BackupJob<'m>>,
    /// CronJobs that mount PVCs read-only and run no tool lifeboat knows.
    pub possible_backups: Vec<jobs::PossibleBackup<'m>>,
    /// Sidecars that replicate what they mount as it changes (Litestream).
    pub replicators: Vec<replicators::Replicator<'m>>,
    /// K8up, Velero, Longhorn and kopiur schedules.
    pub schedules: Vec<BackupSchedule<'m>>,
    /// For each of `items`, what protects it.
    pub coverage: Vec<Vec<Protection>>,
    /// Parallel to `items`: where the data lives when that is storage
    /// outside the cluster (an NFS share, a node's disk).
    pub external: Vec<Option<String>>,
    pub secrets: Secrets,
    pub exclusions: Exclusions,
    clusters_by_name: HashMap<(Option<&'m str>, &'m str), usize>,
    /// `clusters` by their name alone, in order.
    clusters_named: HashMap<&'m str, Vec<usize>>,
    stores_by_name: HashMap<(Option<&'m str>, &'m str), usize>,
    /// `items` whose claim is an exact name, by that name; the others
    /// (ordinal and chart claims) are matched one by one.
    claims_by_name: HashMap<String, Vec<usize>>,
    inexact_claims: Vec<usize>,
    /// `scheduled_backups` by the Cluster name they back up.
    backups_by_cluster: HashMap<&'m str, Vec<usize>>,
}

/// Two namespaces are the same when equal, or when either is not known yet.
pub fn same_namespace(a: Option<&str>, b: Option<&str>) -> bool {
    a == b || a.is_none() || b.is_none()
}

/// Key of a namespaced lookup.
type Key<'a> = (Option<&'a str>, &'a str);

impl<'m> Inventory<'m> {
    pub fn build(model: &'m Model, load_errors: &'m [(FileId, LoadError)], config: &Config) -> Inventory<'m> {
        let resources = &model.resources[..];
        let mut inv = Inventory {
            resources,
            substitution_gaps: &model.substitution_gaps,
            unreached: &model.unreached,
            hidden_variables: &model.hidden_variables,
            injected_substitution: model.injected_substitution.as_deref(),
            load_errors,
            clusters: Vec::new(),
            scheduled_backups: Vec::new(),
            object_stores: Vec::new(),
            dump_jobs: Vec::new(),
            pgo_clusters: Vec::new(),
            items: Vec::new(),
            replication_sources: Vec::new(),
            backup_jobs: Vec::new(),
            possible_backups: Vec::new(),
            replicators: Vec::new(),
            schedules: Vec::new(),
            coverage: Vec::new(),
            external: Vec::new(),
            secrets: Secrets::build(resources),
            exclusions: Exclusions::build(resources, &config.exclude, &config.conventions, &model.dev_clusters),
            clusters_by_name: HashMap::new(),
            clusters_named: HashMap::new(),
            stores_by_name: HashMap::new(),
            claims_by_name: HashMap::new(),
            inexact_claims: Vec::new(),
            backups_by_cluster: HashMap::new(),
        };
        let config_maps = crate::model::charts::config_maps(resources);
        let script = |ns: Option<&str>, name: &str| {
            config_maps.get(&(ns, name)).copied().or_else(|| {
                config_maps.iter().find(|((n, m), _)| *m == name && same_namespace(*n, ns)).map(|(_, d)| *d)
            })
        };
        for (i, r) in resources.iter().enumerate() {
            match (r.group(), r.kind.as_str()) {
                (CNPG_GROUP, "Cluster") => inv.clusters.push(Cluster::read(i, r)),
                (CNPG_GROUP, "ScheduledBackup") => inv.scheduled_backups.push(ScheduledBackup::read(i, r)),
                (BARMAN_CLOUD_GROUP, "ObjectStore") => inv.object_stores.push(ObjectStore::read(i, r)),
                (VOLSYNC_GROUP, "ReplicationSource") => inv.replication_sources.push(ReplicationSource::read(i, r)),
                (pgo::PGO_GROUP, "PostgresCluster") => inv.pgo_clusters.push(pgo::PgoCluster::read(i, r)),
                _ => {
                    if let Some(job) = dumps::read(i, r, &script) {
                        inv.dump_jobs.push(job);
                    }
                    if let Some(job) = jobs::read(i, r, &script) {
                        inv.backup_jobs.push(job);
                    } else if let Some(job) = jobs::possible(i, r) {
                        inv.possible_backups.push(job);
                    }
                    if let Some(replicator) = replicators::read(i, r, &script) {
                        inv.replicators.push(replicator);
                    }
                    if let Some(schedule) = schedules::read(i, r) {
                        inv.schedules.push(schedule);
                    }
                    stateful::read(i, r, &config_maps, &mut inv.items);
                }
            }
        }
        stateful::merge_existing_claims(&mut inv.items);
        stateful::apply_default_classes(resources, &mut inv.items);
        for (i, item) in inv.items.iter().enumerate() {
            match &item.claim {
                stateful::Claim::Exact(name) => inv.claims_by_name.entry(name.clone()).or_default().push(i),
                _ => inv.inexact_claims.push(i),
            }
        }
        for (i, b) in inv.scheduled_backups.iter().enumerate() {
            if let Some(name) = b.cluster_name.and_then(Node::as_str) {
                inv.backups_by_cluster.entry(name).or_default().push(i);
            }
        }
        inv.coverage = coverage::link(&inv);
        inv.external = external::find(inv.resources, &inv.items);
        inv.exclusions.match_items(&inv.items);
        for (i, c) in inv.clusters.iter().enumerate() {
            inv.clusters_by_name.entry((c.res.namespace.as_deref(), c.res.name.as_str())).or_insert(i);
            inv.clusters_named.entry(c.res.name.as_str()).or_default().push(i);
        }
        for (i, s) in inv.object_stores.iter().enumerate() {
            inv.stores_by_name.entry((s.res.namespace.as_deref(), s.res.name.as_str())).or_insert(i);
        }
        inv
    }

    /// The Cluster `name` in `namespace`. A side whose namespace is not known
    /// (only a Flux Kustomization would set it) matches any namespace.
    pub fn cluster(&self, namespace: Option<&str>, name: &str) -> Option<&Cluster<'m>> {
        let key: Key = (namespace, name);
        match self.clusters_by_name.get(&key) {
            Some(&i) => self.clusters.get(i),
            None => self.clusters_named(name).find(|c| same_namespace(c.namespace(), namespace)),
        }
    }

    /// The Clusters called `name`, in any namespace, in order.
    pub fn clusters_named<'s>(&'s self, name: &str) -> impl Iterator<Item = &'s Cluster<'m>> + 's {
        let indices = self.clusters_named.get(name).map_or(&[][..], Vec::as_slice);
        indices.iter().filter_map(|&i| self.clusters.get(i))
    }

    /// The ObjectStore `name` in `namespace` (unknown namespaces match any).
    pub fn object_store(&self, namespace: Option<&str>, name: &str) -> Option<&ObjectStore<'m>> {
        let key: Key = (namespace, name);
        match self.stores_by_name.get(&key) {
            Some(&i) => self.object_stores.get(i),
            None => self
                .object_stores
                .iter()
                .find(|s| s.res.name == name && same_namespace(s.res.namespace.as_deref(), namespace)),
        }
    }

    /// "; it leaves PersistentVolumeClaim `a/b` without a running backup":
    /// the items whose only mechanisms do not run, among those mechanism
    /// `resource` is listed for (empty when it leaves none).
    pub fn left_without_backup(&self, resource: usize) -> String {
        let mut names: Vec<String> = self
            .items
            .iter()
            .zip(&self.coverage)
            .filter(|(_, c)| c.iter().any(|p| p.resource == resource) && !coverage::any_running(c))
            .map(|(item, _)| item.describe())
            .collect();
        // The CNPG Clusters it is a pg_dump or base backup of, when nothing
        // else of theirs runs.
        for c in &self.clusters {
            let dumps = self.dump_jobs_for(c);
            let backups = self.scheduled_backups_for(c);
            let mine = dumps.iter().any(|d| d.index == resource) || backups.iter().any(|b| b.index == resource);
            if mine && !self.cluster_backup_runs(c) {
                names.push(format!("Cluster `{}`", c.res.qualified_name()));
            }
        }
        if names.is_empty() {
            String::new()
        } else {
            format!("; it leaves {} without a running backup", names.join(", "))
        }
    }

    /// Whether something that protects `c` really runs: a WAL archive, a
    /// replica, or a ScheduledBackup or pg_dump CronJob that is neither
    /// suspended nor on a schedule that never fires.
    pub fn cluster_backup_runs(&self, c: &Cluster) -> bool {
        let off = |n: Option<&Node>| n.and_then(Node::as_bool) == Some(true);
        c.replica
            || c.archiver.is_some()
            || self.scheduled_backups_for(c).iter().any(|sb| {
                !off(sb.suspend) && crate::cron::parse_cnpg(sb.schedule.and_then(Node::as_str).unwrap_or("")).is_ok()
            })
            || self.dump_jobs_for(c).iter().any(|d| {
                let spec = d.res.spec();
                let schedule = spec.and_then(|s| s.get("schedule")).and_then(Node::as_str).unwrap_or("");
                !off(spec.and_then(|s| s.get("suspend")))
                    && (crate::model::is_unresolved(schedule) || crate::cron::parse_standard(schedule).is_ok())
            })
    }

    /// The ScheduledBackups whose `spec.cluster.name` is this Cluster.
    pub fn scheduled_backups_for(&self, cluster: &Cluster) -> Vec<&ScheduledBackup<'m>> {
        let Some(indices) = self.backups_by_cluster.get(cluster.name()) else { return Vec::new() };
        indices
            .iter()
            .filter_map(|&i| self.scheduled_backups.get(i))
            .filter(|b| {
                same_namespace(b.res.namespace.as_deref(), cluster.namespace())
                    && b.cluster_name.and_then(Node::as_str) == Some(cluster.name())
                    && b.res.cluster == cluster.res.cluster
            })
            .collect()
    }

    /// The store configuration a barman plugin entry points at (the
    /// ObjectStore's `spec.configuration`), in `namespace`.
    pub fn plugin_store(&self, namespace: Option<&str>, plugin: &cnpg::Plugin) -> Option<(&ObjectStore<'m>, &'m Node)> {
        if plugin.name != BARMAN_PLUGIN {
            return None;
        }
        let name = plugin.barman_object_name?.as_str()?;
        let store = self.object_store(namespace, name)?;
        Some((store, store.configuration?))
    }

    /// The archive a barman plugin entry of `cluster` names (serverName
    /// defaults to the Cluster's name, in `spec.plugins` and in
    /// `externalClusters[].plugin` alike).
    fn plugin_archive_id(&self, cluster: &Cluster<'m>, plugin: &cnpg::Plugin) -> Option<ArchiveId> {
        let (_, store) = self.plugin_store(cluster.namespace(), plugin)?;
        let server = plugin.server_name.and_then(Node::as_nonempty_str).unwrap_or(cluster.name());
        ArchiveId::new(store, server)
    }

    /// Where the Cluster writes its WAL archive, and the place that says so.
    pub fn archive_id(&self, cluster: &Cluster<'m>) -> Option<(ArchiveId, Span)> {
        match cluster.archiver.as_ref()? {
            Archiver::InTree(store) => Some((ArchiveId::of_store(store, cluster.name())?, store.span)),
            Archiver::Plugin(p) => Some((self.plugin_archive_id(cluster, p)?, p.node.span)),
        }
    }

    /// The archive a Cluster would write to through its barman plugin entry,
    /// even when the entry is disabled (the plugin still checks it on restore).
    pub fn plugin_archive_ids(&self, cluster: &Cluster<'m>) -> Vec<(ArchiveId, Span)> {
        cluster.plugins.iter().filter_map(|p| Some((self.plugin_archive_id(cluster, p)?, p.node.span))).collect()
    }

    /// The archive an `externalClusters[]` entry reads from (serverName
    /// defaults: in-tree → the entry's name; plugin → the recovering Cluster's name).
    pub fn source_archive_id(&self, cluster: &Cluster<'m>, external: &External<'m>) -> Option<ArchiveId> {
        match (external.barman_object_store, &external.plugin) {
            (Some(store), _) => ArchiveId::of_store(store, external.name),
            (None, Some(plugin)) => self.plugin_archive_id(cluster, plugin),
            (None, None) => None,
        }
    }

    /// The archive a Cluster recovers from when it is the one it writes to
    /// itself (through `spec.backup` or a barman plugin entry, enabled or
    /// not): what to call it and the place that writes it. Known by the
    /// archive's identity when every part of it is resolved; otherwise by
    /// the plugin entries naming one ObjectStore with one serverName (a
    /// bucket filled in by substitution is the same bucket for both).
    pub fn own_recovery_archive(&self, cluster: &Cluster<'m>, external: &External<'m>) -> Option<(String, Span)> {
        if let Some(source) = self.source_archive_id(cluster, external) {
            let mut own = Vec::new();
            own.extend(self.archive_id(cluster));
            own.extend(self.plugin_archive_ids(cluster));
            return own.into_iter().find(|(id, _)| *id == source).map(|(id, span)| (format!("`{id}`"), span));
        }
        let reads = external.plugin.as_ref()?;
        let (store, _) = self.plugin_store(cluster.namespace(), reads)?;
        fn server<'a>(p: &cnpg::Plugin<'a>, cluster: &'a Cluster<'a>) -> &'a str {
            p.server_name.and_then(Node::as_nonempty_str).unwrap_or(cluster.name())
        }
        let read_server = server(reads, cluster);
        cluster
            .plugins
            .iter()
            .filter(|p| {
                self.plugin_store(cluster.namespace(), p).is_some_and(|(s, _)| std::ptr::eq(s, store))
                    && server(p, cluster) == read_server
            })
            .map(|p| (format!("ObjectStore `{}` (serverName `{read_server}`)", store.res.name), p.node.span))
            .next()
    }

    /// pg_dump CronJobs that target this Cluster.
    pub fn dump_jobs_for(&self, cluster: &Cluster) -> Vec<&DumpJob<'m>> {
        self.dump_jobs
            .iter()
            .filter(|j| j.postgres())
            .filter(|j| {
                j.targets
                    .iter()
                    .any(|(ns, name)| same_namespace(ns.as_deref(), cluster.namespace()) && name == cluster.name())
                    && j.res.cluster == cluster.res.cluster
            })
            .collect()
    }

    /// pg_dump CronJobs that connect to a PGO cluster's services.
    pub fn dump_jobs_for_pgo(&self, cluster: &pgo::PgoCluster) -> Vec<&DumpJob<'m>> {
        let services = cluster.services();
        self.dump_jobs
            .iter()
            .filter(|j| j.postgres() && j.res.cluster == cluster.res.cluster)
            .filter(|j| services.iter().any(|s| j.reads(cluster.namespace(), s)))
            .collect()
    }

    /// CronJobs that mount `item` read-only and run no tool lifeboat
    /// recognises: possibly its backup, never counted as one.
    pub fn possible_backups_of(&self, item: &stateful::StatefulItem) -> Vec<&jobs::PossibleBackup<'m>> {
        self.possible_backups
            .iter()
            .filter(|p| {
                same_namespace(p.res.namespace.as_deref(), item.namespace()) && p.res.cluster == item.res.cluster
            })
            .filter(|p| p.claims.iter().any(|c| item.claim.matches(c)))
            .collect()
    }

    /// Why item `i` is deliberately not backed up, if it is.
    pub fn item_exclusion(&self, i: usize) -> Option<exclusions::ExclusionRef<'_>> {
        let item = self.items.get(i)?;
        self.exclusions.item_exclusion(i, item.index, item)
    }

    /// Is there a claim called `name` in `namespace`: a PVC manifest, a
    /// StatefulSet claim, or a Helm `existingClaim` (which says it exists)?
    pub fn claim_exists(&self, namespace: Option<&str>, name: &str) -> bool {
        self.claim_candidates(name).any(|item| {
            !item.claim.is_chart_made() && item.claim.matches(name) && same_namespace(item.namespace(), namespace)
        })
    }

    /// A resource in `namespace` that may create the claim `name` although no
    /// manifest declares it: a Helm release with persistence (or whose name
    /// the claim carries), a StatefulSet, or an operator's custom resource
    /// with storage in its spec and its name in the claim's.
    pub fn claim_creator(&self, namespace: Option<&str>, name: &str) -> Option<&'m Resource> {
        if let Some(item) = self.claim_candidates(name).find(|item| {
            item.claim.is_chart_made() && item.claim.matches(name) && same_namespace(item.namespace(), namespace)
        }) {
            return Some(item.res);
        }
        self.resources.iter().find(|r| {
            same_namespace(r.namespace.as_deref(), namespace)
                && stateful::contains_token(name, &r.name)
                && (r.is("helm.toolkit.fluxcd.io", "HelmRelease")
                    || r.is("argoproj.io", "Application")
                    || r.is("apps", "StatefulSet")
                    || stateful::operator_with_storage(r))
        })
    }

    /// The items whose claim may be called `name`: those of exactly that
    /// name, then every ordinal and chart claim (`matches` decides).
    fn claim_candidates<'s>(&'s self, name: &str) -> impl Iterator<Item = &'s StatefulItem<'m>> + 's {
        let exact = self.claims_by_name.get(name).map_or(&[][..], Vec::as_slice);
        exact.iter().chain(&self.inexact_claims).filter_map(|&i| self.items.get(i))
    }

    /// Names of the claims declared in `namespace` (for "did you mean").
    pub fn claim_names(&self, namespace: Option<&str>) -> Vec<String> {
        let mut names: Vec<String> =
            self.items.iter().filter(|i| same_namespace(i.namespace(), namespace)).map(|i| i.claim.display()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// The value of `key` in the Secret `name`, when the repo shows it in
    /// clear text (a plain Secret, or an ExternalSecret template without
    /// `{{ }}`), in `cluster` (a Secret of that name in another cluster
    /// says nothing). Only ever compared, never printed.
    pub fn secret_value(
        &self,
        cluster: Option<&str>,
        namespace: Option<&str>,
        name: &str,
        key: &str,
    ) -> Option<String> {
        let index = match self.secrets.find(namespace, name)? {
            secrets::SecretSource::Plain { index, .. } => *index,
            secrets::SecretSource::Generated { index, kind } if kind == "ExternalSecret" => *index,
            _ => return None,
        };
        let r = self.resources.get(index).filter(|r| r.cluster.as_deref() == cluster)?;
        let value = if r.is("", "Secret") {
            r.root.path(&["stringData", key]).and_then(Node::as_str).map(str::to_string).or_else(|| {
                use base64::Engine;
                let data = r.root.path(&["data", key]).and_then(Node::as_str)?;
                let bytes = base64::engine::general_purpose::STANDARD.decode(data.trim()).ok()?;
                String::from_utf8(bytes).ok()
            })
        } else {
            r.spec()?.path(&["target", "template", "data", key]).and_then(Node::as_str).map(str::to_string)
        }?;
        let known = !value.trim().is_empty() && !value.contains("{{") && !model::is_unresolved(&value);
        known.then(|| value.trim().to_string())
    }
}
