//! The inventory stage: typed views over the model's resources: what holds
//! data, what protects it, what is excluded, which Secrets exist. Rules ask
//! the inventory; it knows nothing of rules.

pub mod cnpg;
pub mod dumps;
pub mod exclusions;
pub mod secrets;

use std::collections::HashMap;

use crate::config::Config;
use crate::model::{Model, Resource};
use crate::yaml::{FileId, LoadError, Node, Span};
use cnpg::{
    ArchiveId, Archiver, Cluster, External, ObjectStore, ScheduledBackup, BARMAN_CLOUD_GROUP, BARMAN_PLUGIN, CNPG_GROUP,
};
use dumps::DumpJob;
use exclusions::Exclusions;
use secrets::Secrets;

pub struct Inventory<'m> {
    pub resources: &'m [Resource],
    pub load_errors: &'m [(FileId, LoadError)],
    pub clusters: Vec<Cluster<'m>>,
    pub scheduled_backups: Vec<ScheduledBackup<'m>>,
    pub object_stores: Vec<ObjectStore<'m>>,
    pub dump_jobs: Vec<DumpJob<'m>>,
    pub secrets: Secrets,
    pub exclusions: Exclusions,
    clusters_by_name: HashMap<(Option<&'m str>, &'m str), usize>,
    stores_by_name: HashMap<(Option<&'m str>, &'m str), usize>,
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
            load_errors,
            clusters: Vec::new(),
            scheduled_backups: Vec::new(),
            object_stores: Vec::new(),
            dump_jobs: Vec::new(),
            secrets: Secrets::build(resources),
            exclusions: Exclusions::build(resources, &config.exclude),
            clusters_by_name: HashMap::new(),
            stores_by_name: HashMap::new(),
        };
        for (i, r) in resources.iter().enumerate() {
            match (r.group(), r.kind.as_str()) {
                (CNPG_GROUP, "Cluster") => inv.clusters.push(Cluster::read(i, r)),
                (CNPG_GROUP, "ScheduledBackup") => inv.scheduled_backups.push(ScheduledBackup::read(i, r)),
                (BARMAN_CLOUD_GROUP, "ObjectStore") => inv.object_stores.push(ObjectStore::read(i, r)),
                _ => {
                    if let Some(job) = dumps::read(i, r) {
                        inv.dump_jobs.push(job);
                    }
                }
            }
        }
        for (i, c) in inv.clusters.iter().enumerate() {
            inv.clusters_by_name.entry((c.res.namespace.as_deref(), c.res.name.as_str())).or_insert(i);
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
            None => self.clusters.iter().find(|c| c.name() == name && same_namespace(c.namespace(), namespace)),
        }
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

    /// The ScheduledBackups whose `spec.cluster.name` is this Cluster.
    pub fn scheduled_backups_for(&self, cluster: &Cluster) -> Vec<&ScheduledBackup<'m>> {
        self.scheduled_backups
            .iter()
            .filter(|b| {
                same_namespace(b.res.namespace.as_deref(), cluster.namespace())
                    && b.cluster_name.and_then(Node::as_str) == Some(cluster.name())
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

    /// pg_dump CronJobs that target this Cluster.
    pub fn dump_jobs_for(&self, cluster: &Cluster) -> Vec<&DumpJob<'m>> {
        self.dump_jobs
            .iter()
            .filter(|j| {
                j.targets
                    .iter()
                    .any(|(ns, name)| same_namespace(ns.as_deref(), cluster.namespace()) && name == cluster.name())
            })
            .collect()
    }
}
