//! Continuous replicators: a container of a long-running workload that
//! copies the data it mounts off the cluster as it changes. Litestream
//! (`litestream replicate`) streams the SQLite databases its configuration
//! names to object storage, a sidecar beside the app that writes them. It
//! protects the claims its container mounts — their SQLite databases, not
//! every file on them, which the inventory says.

use crate::model::Resource;
use crate::yaml::{Node, Span};

#[derive(Debug, Clone)]
pub struct Replicator<'m> {
    pub index: usize,
    pub res: &'m Resource,
    /// "Litestream".
    pub tool: &'static str,
    /// The container that replicates.
    pub container: &'m str,
    /// The claims it replicates databases of.
    pub claims: Vec<ReplicatedClaim>,
}

/// A claim a replicator's container mounts and replicates from.
#[derive(Debug, Clone)]
pub struct ReplicatedClaim {
    /// A pod volume's `claimName`, or a StatefulSet's claim of ordinal 0
    /// (`<template>-<statefulset>-0`) for a claim template it mounts.
    pub name: String,
    /// Where it is named.
    pub span: Span,
    /// The databases on it its configuration names; empty when lifeboat
    /// cannot read which (every claim it mounts then counts).
    pub databases: Vec<String>,
}

/// The pod spec of a workload: a Pod's own, or its template's.
fn pod_spec(res: &Resource) -> Option<&Node> {
    match (res.group(), res.kind.as_str()) {
        ("", "Pod") => res.spec(),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => res.spec()?.path(&["template", "spec"]),
        _ => None,
    }
}

/// Whether a container runs `litestream replicate`: the Litestream image
/// with the `replicate` subcommand, or any image whose command runs it
/// (`litestream replicate -exec "app"`).
fn runs_litestream(container: &Node) -> bool {
    let words: Vec<&str> = ["command", "args"]
        .iter()
        .filter_map(|k| container.get(k))
        .flat_map(|n| match n.as_seq() {
            [] => n.as_str().into_iter().collect::<Vec<_>>(),
            items => items.iter().filter_map(Node::as_str).collect(),
        })
        .collect();
    if words.iter().any(|w| w.contains("litestream replicate")) {
        return true;
    }
    let image = container.get("image").and_then(Node::as_str).unwrap_or("");
    let repository = image.split('@').next().unwrap_or(image);
    // `docker.io/litestream/litestream:0.5`: the last path segment, untagged.
    let last = repository.rsplit('/').next().unwrap_or(repository);
    let name = last.split(':').next().unwrap_or(last);
    name == "litestream" && words.iter().flat_map(|w| w.split_whitespace()).any(|w| w == "replicate")
}

/// The SQLite databases a Litestream container replicates: the database
/// path its `replicate` arguments name (`replicate /data/db.sqlite3
/// s3://…`), and the `dbs[].path` of the configuration files of the
/// ConfigMaps the pod mounts, but for a database whose every replica is a
/// local file. `None` when it says none lifeboat can read (its
/// configuration is not in the repository).
fn databases<'m>(
    container: &'m Node,
    volumes: &'m [Node],
    namespace: Option<&str>,
    script: &dyn Fn(Option<&str>, &str) -> Option<&'m Node>,
) -> Option<Vec<String>> {
    let args: Vec<&str> = ["command", "args"]
        .iter()
        .filter_map(|k| container.get(k))
        .flat_map(|n| n.as_seq().iter().filter_map(Node::as_str))
        .flat_map(str::split_whitespace)
        .collect();
    let mut out = Vec::new();
    // Whether a configuration says which databases (even none off the
    // cluster).
    let mut configured = false;
    if let Some(at) = args.iter().position(|a| *a == "replicate") {
        let mut rest = args.iter().skip(at + 1);
        while let Some(a) = rest.next() {
            if *a == "-config" || *a == "-exec" || *a == "-addr" {
                rest.next();
            } else if !a.starts_with('-') {
                if a.starts_with('/') {
                    out.push((*a).to_string());
                }
                break;
            }
        }
    }
    for name in super::jobs::config_map_volumes(volumes) {
        let Some(data) = script(namespace, name) else { continue };
        for (_, value) in data.as_map() {
            let Some(text) = value.as_str().filter(|t| t.contains("dbs")) else { continue };
            let loaded = crate::yaml::load_str(value.span.file, text);
            for doc in &loaded.documents {
                configured |= doc.root.get("dbs").is_some();
                for db in doc.root.get("dbs").map_or(&[][..], Node::as_seq) {
                    // A database whose every replica is a local file copy
                    // (`type: file`, a `file://` URL) stays on the cluster.
                    let replicas: Vec<&Node> =
                        db.get("replicas").map_or(&[][..], Node::as_seq).iter().chain(db.get("replica")).collect();
                    let local = |r: &&Node| {
                        let url = r.get("url").and_then(Node::as_str).unwrap_or("");
                        match r.get("type").and_then(Node::as_str) {
                            Some(t) => t == "file",
                            None => url.starts_with("file://") || (url.is_empty() && r.get("path").is_some()),
                        }
                    };
                    if !replicas.is_empty() && replicas.iter().all(local) {
                        continue;
                    }
                    if let Some(path) = db.get("path").and_then(Node::as_nonempty_str) {
                        out.push(path.to_string());
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    (configured || !out.is_empty()).then_some(out)
}

/// Whether `db` lies under the mount point `mount`.
fn under(db: &str, mount: &str) -> bool {
    let mount = mount.trim_end_matches('/');
    db.strip_prefix(mount).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')) || mount.is_empty()
}

pub fn read<'m>(
    index: usize,
    res: &'m Resource,
    script: &dyn Fn(Option<&str>, &str) -> Option<&'m Node>,
) -> Option<Replicator<'m>> {
    let pod = pod_spec(res)?;
    // Containers, and native sidecars (init containers that keep running).
    let sidecars = pod
        .get("initContainers")
        .map_or(&[][..], Node::as_seq)
        .iter()
        .filter(|c| c.get("restartPolicy").and_then(Node::as_str) == Some("Always"));
    let container =
        pod.get("containers").map_or(&[][..], Node::as_seq).iter().chain(sidecars).find(|c| runs_litestream(c))?;
    let volumes = pod.get("volumes").map_or(&[][..], Node::as_seq);
    let databases = databases(container, volumes, res.namespace.as_deref(), script);
    let templates: &[Node] = if res.kind == "StatefulSet" {
        res.spec().and_then(|s| s.get("volumeClaimTemplates")).map_or(&[][..], Node::as_seq)
    } else {
        &[]
    };
    let mut claims = Vec::new();
    for mount in container.get("volumeMounts").map_or(&[][..], Node::as_seq) {
        let Some(name) = mount.get("name").and_then(Node::as_str) else { continue };
        // Only a claim holding a database it replicates, when it says which.
        let path = mount.get("mountPath").and_then(Node::as_str).unwrap_or("");
        let replicated: Vec<String> = match &databases {
            Some(dbs) => dbs.iter().filter(|db| under(db, path)).cloned().collect(),
            None => Vec::new(),
        };
        if databases.is_some() && replicated.is_empty() {
            continue;
        }
        let volume = volumes.iter().find(|v| v.get("name").and_then(Node::as_str) == Some(name));
        if let Some(claim) = volume.and_then(|v| v.path(&["persistentVolumeClaim", "claimName"])) {
            if let Some(text) = claim.as_nonempty_str() {
                claims.push(ReplicatedClaim { name: text.to_string(), span: claim.span, databases: replicated });
            }
        } else if volume.is_none() {
            let template =
                templates.iter().find(|t| t.path(&["metadata", "name"]).and_then(Node::as_str) == Some(name));
            if let Some(t) = template {
                claims.push(ReplicatedClaim {
                    name: format!("{name}-{}-0", res.name),
                    span: t.path(&["metadata", "name"]).map_or(t.span, |n| n.span),
                    databases: replicated,
                });
            }
        }
    }
    let name = container.get("name").and_then(Node::as_str).unwrap_or("litestream");
    Some(Replicator { index, res, tool: "Litestream", container: name, claims })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(text: &str) -> Node {
        crate::yaml::load_str(0, text).documents.first().map(|d| (*d.root).clone()).expect("one document")
    }

    #[test]
    fn litestream_replicate_is_recognised_by_image_and_by_command() {
        assert!(runs_litestream(&container("image: docker.io/litestream/litestream:0.5.16\nargs: [replicate]\n")));
        assert!(runs_litestream(&container(
            "image: litestream/litestream\nargs: [\"replicate\", \"-config\", \"/etc/l.yml\"]\n"
        )));
        assert!(runs_litestream(&container(
            "image: ghcr.io/me/app:1\ncommand: [sh, -c, \"litestream replicate -exec app\"]\n"
        )));
        // A restore (an init container's) replicates nothing.
        assert!(!runs_litestream(&container(
            "image: litestream/litestream:0.5\nargs: [restore, -if-db-not-exists, /data/db]\n"
        )));
        assert!(!runs_litestream(&container("image: ghcr.io/paperless-ngx/paperless-ngx:2\n")));
    }
}
