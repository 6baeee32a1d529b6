//! CloudNative-PG views: Clusters with their archive, ScheduledBackups,
//! barman-cloud ObjectStores, and the effective archive identity.

use crate::model::{is_unresolved, Resource};
use crate::yaml::{Node, Span};

pub const CNPG_GROUP: &str = "postgresql.cnpg.io";
pub const BARMAN_CLOUD_GROUP: &str = "barmancloud.cnpg.io";
pub const BARMAN_PLUGIN: &str = "barman-cloud.cloudnative-pg.io";
/// Plugins known to archive WAL when listed (enabled) in `spec.plugins`.
pub const WAL_PLUGINS: [&str; 3] = [BARMAN_PLUGIN, "pgbackrest.dalibo.com", "pgbackrest.cnpg.opera.com"];

/// One `spec.plugins[]` entry.
#[derive(Debug, Clone)]
pub struct Plugin<'m> {
    pub node: &'m Node,
    pub name: &'m str,
    pub enabled: bool,
    pub is_wal_archiver: bool,
    pub barman_object_name: Option<&'m Node>,
    pub server_name: Option<&'m Node>,
}

impl<'m> Plugin<'m> {
    fn read(node: &'m Node) -> Option<Plugin<'m>> {
        let name = node.get("name")?.as_str()?;
        let params = node.get("parameters");
        Some(Plugin {
            node,
            name,
            enabled: node.get("enabled").and_then(Node::as_bool) != Some(false),
            is_wal_archiver: node.get("isWALArchiver").and_then(Node::as_bool) == Some(true),
            barman_object_name: params.and_then(|p| p.get("barmanObjectName")),
            server_name: params.and_then(|p| p.get("serverName")),
        })
    }

    /// Archives WAL: enabled and either a known WAL plugin or flagged as archiver.
    pub fn archives_wal(&self) -> bool {
        self.enabled && (self.is_wal_archiver || WAL_PLUGINS.contains(&self.name))
    }
}

/// What archives a Cluster's WAL.
#[derive(Debug, Clone)]
pub enum Archiver<'m> {
    /// `spec.backup.barmanObjectStore` (the node of that key's value).
    InTree(&'m Node),
    /// `spec.plugins[i]`.
    Plugin(Plugin<'m>),
}

/// One `externalClusters[]` entry.
#[derive(Debug, Clone)]
pub struct External<'m> {
    pub node: &'m Node,
    pub name: &'m str,
    pub barman_object_store: Option<&'m Node>,
    pub plugin: Option<Plugin<'m>>,
    pub connection_parameters: bool,
}

#[derive(Debug, Clone)]
pub struct Cluster<'m> {
    pub index: usize,
    pub res: &'m Resource,
    pub plugins: Vec<Plugin<'m>>,
    pub archiver: Option<Archiver<'m>>,
    /// `spec.backup` (key node), when present.
    pub backup_key: Option<&'m Node>,
    pub in_tree: Option<&'m Node>,
    pub volume_snapshot: Option<&'m Node>,
    pub retention: Option<&'m Node>,
    pub replica: bool,
    /// `spec.bootstrap` methods present: (method, key node, value node).
    pub bootstrap: Vec<(&'m str, &'m Node, &'m Node)>,
    pub externals: Vec<External<'m>>,
}

impl<'m> Cluster<'m> {
    pub fn read(index: usize, res: &'m Resource) -> Cluster<'m> {
        let spec = res.spec();
        let backup = spec.and_then(|s| s.get("backup"));
        let in_tree = backup.and_then(|b| b.get("barmanObjectStore")).filter(|n| n.is_map());
        let plugins: Vec<Plugin> =
            spec.and_then(|s| s.get("plugins")).map_or(&[][..], Node::as_seq).iter().filter_map(Plugin::read).collect();
        // The operator prefers the plugin flagged `isWALArchiver`, then the
        // in-tree store; other enabled WAL-capable plugins still archive.
        let archiver = plugins
            .iter()
            .find(|p| p.enabled && p.is_wal_archiver)
            .cloned()
            .map(Archiver::Plugin)
            .or_else(|| in_tree.map(Archiver::InTree))
            .or_else(|| plugins.iter().find(|p| p.archives_wal()).cloned().map(Archiver::Plugin));
        let replica_node = spec.and_then(|s| s.get("replica"));
        let replica = replica_node.is_some_and(|r| {
            let enabled = r.get("enabled").and_then(Node::as_bool);
            enabled == Some(true) || (enabled.is_none() && r.get("source").is_some())
        });
        let bootstrap = spec
            .and_then(|s| s.get("bootstrap"))
            .map_or(&[][..], Node::as_map)
            .iter()
            .filter_map(|(k, v)| {
                let method = k.as_str()?;
                ["initdb", "recovery", "pg_basebackup"].contains(&method).then_some((method, k, v))
            })
            .collect();
        let externals = spec
            .and_then(|s| s.get("externalClusters"))
            .map_or(&[][..], Node::as_seq)
            .iter()
            .filter_map(|node| {
                Some(External {
                    node,
                    name: node.get("name")?.as_str()?,
                    barman_object_store: node.get("barmanObjectStore").filter(|n| n.is_map()),
                    plugin: node.get("plugin").and_then(Plugin::read),
                    connection_parameters: node.get("connectionParameters").is_some(),
                })
            })
            .collect();
        Cluster {
            index,
            res,
            plugins,
            archiver,
            backup_key: spec.and_then(|s| s.key_node("backup")),
            in_tree,
            volume_snapshot: backup.and_then(|b| b.get("volumeSnapshot")),
            retention: backup.and_then(|b| b.get("retentionPolicy")),
            replica,
            bootstrap,
            externals,
        }
    }

    pub fn name(&self) -> &str {
        &self.res.name
    }

    pub fn namespace(&self) -> Option<&str> {
        self.res.namespace.as_deref()
    }

    /// Where the archive is configured (for related locations).
    pub fn archiver_span(&self) -> Option<Span> {
        match &self.archiver {
            Some(Archiver::InTree(node)) => Some(node.span),
            Some(Archiver::Plugin(p)) => Some(p.node.span),
            None => None,
        }
    }

    pub fn bootstrap_method(&self, method: &str) -> Option<(&'m Node, &'m Node)> {
        self.bootstrap.iter().find(|(m, _, _)| *m == method).map(|(_, k, v)| (*k, *v))
    }

    pub fn external(&self, name: &str) -> Option<&External<'m>> {
        self.externals.iter().find(|e| e.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct ScheduledBackup<'m> {
    pub index: usize,
    pub res: &'m Resource,
    pub cluster_name: Option<&'m Node>,
    pub schedule: Option<&'m Node>,
    pub method: Option<&'m Node>,
    pub plugin_name: Option<&'m Node>,
    pub suspend: Option<&'m Node>,
}

impl<'m> ScheduledBackup<'m> {
    pub fn read(index: usize, res: &'m Resource) -> Self {
        let spec = res.spec();
        let get = |path: &[&str]| spec.and_then(|s| s.path(path));
        ScheduledBackup {
            index,
            res,
            cluster_name: get(&["cluster", "name"]),
            schedule: get(&["schedule"]),
            method: get(&["method"]),
            plugin_name: get(&["pluginConfiguration", "name"]),
            suspend: get(&["suspend"]),
        }
    }

    /// `spec.method`, defaulting to `barmanObjectStore` as CNPG does.
    pub fn method_name(&self) -> &str {
        self.method.and_then(Node::as_str).unwrap_or("barmanObjectStore")
    }
}

#[derive(Debug, Clone)]
pub struct ObjectStore<'m> {
    pub index: usize,
    pub res: &'m Resource,
    pub configuration: Option<&'m Node>,
    pub retention: Option<&'m Node>,
}

impl<'m> ObjectStore<'m> {
    pub fn read(index: usize, res: &'m Resource) -> Self {
        let spec = res.spec();
        ObjectStore {
            index,
            res,
            configuration: spec.and_then(|s| s.get("configuration")),
            retention: spec.and_then(|s| s.get("retentionPolicy")),
        }
    }
}

/// Where barman writes: `(endpointURL, destinationPath, serverName)`. Two
/// writers with equal identities corrupt each other's archive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArchiveId {
    pub endpoint: String,
    pub destination: String,
    pub server_name: String,
}

impl ArchiveId {
    /// Build from a barman store configuration and the effective server
    /// name; `None` while any part is an unresolved `${VAR}` or missing.
    pub fn new(store: &Node, server_name: &str) -> Option<ArchiveId> {
        let destination = store.get("destinationPath")?.as_nonempty_str()?;
        let endpoint = store.get("endpointURL").and_then(Node::as_str).unwrap_or("");
        if [destination, endpoint, server_name].iter().any(|s| is_unresolved(s)) || server_name.is_empty() {
            return None;
        }
        Some(ArchiveId {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            destination: destination.trim_end_matches('/').to_string(),
            server_name: server_name.to_string(),
        })
    }
}

impl ArchiveId {
    /// A `barmanObjectStore` block: its own `serverName`, else `default_server`.
    pub fn of_store(store: &Node, default_server: &str) -> Option<ArchiveId> {
        let server = store.get("serverName").and_then(Node::as_nonempty_str).unwrap_or(default_server);
        ArchiveId::new(store, server)
    }
}

impl std::fmt::Display for ArchiveId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.destination, self.server_name)?;
        if !self.endpoint.is_empty() {
            write!(f, " at {}", self.endpoint)?;
        }
        Ok(())
    }
}

/// The `{name, key}` Secret references of a barman store configuration.
pub fn secret_refs(store: &Node) -> Vec<&Node> {
    let mut refs = credential_refs(store);
    if let Some(name) = store.path(&["endpointCA", "name"]) {
        refs.push(name);
    }
    refs
}

/// The Secret names an object store's credentials are read from (not its
/// `endpointCA`, which holds a public certificate).
pub fn credential_refs(store: &Node) -> Vec<&Node> {
    let mut refs = Vec::new();
    for section in ["s3Credentials", "azureCredentials", "googleCredentials"] {
        for (_, value) in store.get(section).map_or(&[][..], Node::as_map) {
            if let Some(name) = value.get("name") {
                refs.push(name);
            }
        }
    }
    refs
}
