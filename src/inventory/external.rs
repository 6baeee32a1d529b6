//! Storage that lives on another machine: a PVC bound to a static
//! PersistentVolume of the repository (NFS, SMB/CIFS, iSCSI, a node's
//! `hostPath` or `local` disk), or provisioned by an NFS/SMB StorageClass the
//! repository defines. Backing such data up is the storage server's job,
//! which lifeboat cannot see.

use std::collections::HashMap;

use crate::model::Resource;
use crate::yaml::{str_at, Node};

use super::stateful::{ItemKind, StatefulItem};

/// Provisioners whose volumes are directories of a file server.
const FILE_SERVER_PROVISIONERS: &[&str] = &[
    "nfs.csi.k8s.io",
    "smb.csi.k8s.io",
    "nfs-subdir-external-provisioner",
    "democratic-csi.nfs",
    "org.democratic-csi.nfs",
    "cluster.local/nfs",
    "nfs-provisioner",
    "nfs.csi.synology.com",
    "csi.trident.netapp.io/nfs",
];

/// The Ceph clusters a cluster's repository runs with Rook: whether one
/// holds its data on the cluster's own disks (`CephCluster` without
/// `spec.external.enable`), whether one only connects to a Ceph cluster
/// elsewhere (Rook's external mode).
#[derive(Debug, Default, Clone, Copy)]
struct RookClusters {
    in_cluster: bool,
    external: bool,
}

impl RookClusters {
    /// Whether a static volume of this Ceph CSI driver points into a Ceph
    /// cluster outside Kubernetes. The plain ceph-csi driver names
    /// (`cephfs.csi.ceph.com`, `rbd.csi.ceph.com`) are the standalone
    /// ceph-csi charts', which connect to an existing Ceph cluster (a
    /// Proxmox one, say); Rook's drivers are prefixed with its operator's
    /// namespace (`rook-ceph.cephfs.csi.ceph.com`) and are external only
    /// in Rook's external mode. A repository that runs a Ceph cluster of
    /// its own keeps any static volume's data on the cluster's disks.
    fn external(self, driver: &str) -> bool {
        if self.in_cluster {
            return false;
        }
        let plain =
            matches!(driver, "cephfs.csi.ceph.com" | "rbd.csi.ceph.com" | "kubernetes.io/cephfs" | "kubernetes.io/rbd");
        plain || self.external
    }
}

/// A static Ceph volume's place (`CephFS cephfs:/k8s/media`), when it lies
/// in a Ceph cluster outside Kubernetes.
fn ceph_volume(spec: Option<&Node>, rook: RookClusters) -> Option<String> {
    let at = |path: &[&str]| str_at(spec, path);
    let monitors = |source: &str| {
        let list: Vec<&str> = spec
            .and_then(|s| s.path(&[source, "monitors"]))
            .map_or(&[][..], Node::as_seq)
            .iter()
            .filter_map(Node::as_str)
            .collect();
        if list.is_empty() {
            String::new()
        } else {
            format!(" on monitors {}", list.join(", "))
        }
    };
    if let Some(cephfs) = spec.and_then(|s| s.get("cephfs")).filter(|_| rook.external("kubernetes.io/cephfs")) {
        let path = cephfs.get("path").and_then(Node::as_nonempty_str).unwrap_or("/");
        return Some(format!("CephFS {path}{}", monitors("cephfs")));
    }
    if spec.and_then(|s| s.get("rbd")).is_some() && rook.external("kubernetes.io/rbd") {
        let pool = at(&["rbd", "pool"]).unwrap_or("rbd");
        return Some(format!("Ceph RBD image {pool}/{}{}", at(&["rbd", "image"]).unwrap_or("?"), monitors("rbd")));
    }
    let driver = at(&["csi", "driver"])?;
    let attr = |k: &str| at(&["csi", "volumeAttributes", k]);
    // A static volume names existing data (`staticVolume: "true"`, a
    // CephFS `rootPath`); a provisioned one's attributes say neither.
    let fixed = attr("staticVolume") == Some("true") || attr("rootPath").is_some();
    if !fixed || !rook.external(driver) {
        return None;
    }
    let cluster = attr("clusterID").map(|id| format!(" on Ceph cluster {id}")).unwrap_or_default();
    if driver.ends_with("cephfs.csi.ceph.com") {
        let fs = attr("fsName").map(|f| format!("{f}:")).unwrap_or_default();
        return Some(format!("CephFS {fs}{}{cluster}", attr("rootPath").unwrap_or("/")));
    }
    if driver.ends_with("rbd.csi.ceph.com") {
        let pool = attr("pool").unwrap_or("?");
        return Some(format!("Ceph RBD image {pool}/{}{cluster}", at(&["csi", "volumeHandle"]).unwrap_or("?")));
    }
    None
}

/// Where a CSI volume (of a PersistentVolume, or inline in a pod) keeps its
/// data when its driver mounts a file server's share: csi-driver-nfs,
/// csi-driver-smb, democratic-csi's node-manual over NFS or SMB. `None` for
/// any other driver.
pub(super) fn csi_share(csi: &Node) -> Option<String> {
    let driver = str_at(Some(csi), &["driver"])?;
    let attr = |k: &str| str_at(Some(csi), &["volumeAttributes", k]);
    // democratic-csi's node-manual driver mounts an existing share: by
    // `node_attach_driver` (nfs, smb) or the volume's `fsType`.
    let attach = attr("node_attach_driver").or_else(|| str_at(Some(csi), &["fsType"])).unwrap_or("");
    let attach = if driver.contains("democratic-csi") { attach.to_ascii_lowercase() } else { String::new() };
    if driver.contains("nfs") || attach.starts_with("nfs") {
        let server = attr("server").unwrap_or("?");
        return Some(format!("NFS {server}:{}", attr("share").or(attr("path")).unwrap_or("/")));
    }
    if driver.contains("smb") || driver.contains("cifs") || attach == "smb" || attach == "cifs" {
        let share = attr("source").or_else(|| attr("share")).unwrap_or("share");
        return Some(match attr("server").filter(|_| !share.starts_with("//")) {
            Some(server) => format!("SMB //{server}{share}"),
            None => format!("SMB {share}"),
        });
    }
    None
}

/// Where a PersistentVolume's data lives, when that is outside the cluster's
/// own volumes (`nfs nas.lan:/export/media`).
fn persistent_volume(spec: Option<&Node>, rook: RookClusters) -> Option<String> {
    let at = |path: &[&str]| str_at(spec, path);
    if let Some(server) = at(&["nfs", "server"]) {
        return Some(format!("NFS {server}:{}", at(&["nfs", "path"]).unwrap_or("/")));
    }
    if let Some(place) = ceph_volume(spec, rook) {
        return Some(place);
    }
    if let Some(place) = spec.and_then(|s| s.get("csi")).and_then(csi_share) {
        return Some(place);
    }
    if let Some(portal) = at(&["iscsi", "targetPortal"]) {
        return Some(format!("iSCSI {portal} {}", at(&["iscsi", "iqn"]).unwrap_or("")).trim_end().to_string());
    }
    if let Some(path) = at(&["hostPath", "path"]) {
        return Some(format!("hostPath {path} on a node"));
    }
    if let Some(path) = at(&["local", "path"]) {
        return Some(format!("local disk {path} on a node"));
    }
    let driver = at(&["flexVolume", "driver"]).unwrap_or("");
    (driver.contains("cifs") || driver.contains("smb")).then(|| format!("SMB ({driver})"))
}

/// A StorageClass whose volumes live on a file server.
fn storage_class(r: &Resource) -> Option<String> {
    let provisioner = r.root.get("provisioner").and_then(Node::as_str)?;
    // A provisioner named for NFS or SMB (a democratic-csi driver is named
    // by its user: `org.example.nfs`, and the chart's driver says `…-nfs`).
    let named = ["nfs", "smb", "cifs"].iter().any(|p| provisioner.to_ascii_lowercase().contains(p));
    let param = |k: &str| r.root.path(&["parameters", k]).and_then(Node::as_str);
    // A driver of several protocols says which in a parameter (TrueNAS's
    // `protocol: nfs`, democratic-csi's `fsType: nfs`).
    let file_protocol = ["protocol", "fsType"]
        .iter()
        .filter_map(|k| param(k))
        .any(|v| matches!(v.to_ascii_lowercase().as_str(), "nfs" | "nfs4" | "smb" | "cifs"));
    if !named && !file_protocol && !FILE_SERVER_PROVISIONERS.iter().any(|p| provisioner.contains(p)) {
        return None;
    }
    let place = match (param("server"), param("share").or(param("path"))) {
        (Some(server), Some(share)) => format!(" ({server}:{share})"),
        (Some(server), None) => format!(" ({server})"),
        _ => param("source").map(|s| format!(" ({s})")).unwrap_or_default(),
    };
    Some(format!("StorageClass `{}` ({provisioner}){place}", r.name))
}

/// For each item, where its data lives when that is external storage.
pub fn find(resources: &[Resource], items: &[StatefulItem]) -> Vec<Option<String>> {
    let mut by_name: HashMap<(Option<&str>, &str), &Resource> = HashMap::new();
    let mut by_claim: HashMap<(Option<&str>, Option<&str>, &str), &Resource> = HashMap::new();
    let mut classes: HashMap<(Option<&str>, &str), String> = HashMap::new();
    // Static volumes no claim is reserved for, by class: Kubernetes binds a
    // claim of that class (and matching selector) to one of them.
    let mut unclaimed: HashMap<(Option<&str>, &str), Vec<&Resource>> = HashMap::new();
    let mut rook: HashMap<Option<&str>, RookClusters> = HashMap::new();
    for r in resources {
        let cluster = r.cluster.as_deref();
        // A CephCluster, or the rook-ceph-cluster chart's release, which
        // makes one from `cephClusterSpec`.
        let chart_release = r.is("helm.toolkit.fluxcd.io", "HelmRelease")
            && (str_at(r.spec(), &["chart", "spec", "chart"]) == Some("rook-ceph-cluster")
                || (r.name == "rook-ceph-cluster" && r.spec().is_some_and(|s| s.get("chartRef").is_some())));
        let external_path: &[&str] = if r.is("ceph.rook.io", "CephCluster") {
            &["external", "enable"]
        } else if chart_release {
            &["values", "cephClusterSpec", "external", "enable"]
        } else {
            continue;
        };
        let entry = rook.entry(cluster).or_default();
        if r.spec().and_then(|s| s.path(external_path)).and_then(Node::as_bool) == Some(true) {
            entry.external = true;
        } else {
            entry.in_cluster = true;
        }
    }
    for r in resources {
        let cluster = r.cluster.as_deref();
        if r.kind == "PersistentVolume" && r.api_version == "v1" {
            by_name.insert((cluster, r.name.as_str()), r);
            if let Some(name) = str_at(r.spec(), &["claimRef", "name"]) {
                by_claim.insert((cluster, str_at(r.spec(), &["claimRef", "namespace"]), name), r);
            } else if let Some(class) = str_at(r.spec(), &["storageClassName"]).filter(|c| !c.is_empty()) {
                unclaimed.entry((cluster, class)).or_default().push(r);
            }
        } else if r.is("storage.k8s.io", "StorageClass") {
            if let Some(text) = storage_class(r) {
                classes.insert((cluster, r.name.as_str()), text);
            }
        }
    }
    items
        .iter()
        .map(|item| {
            if let Some(place) = &item.direct {
                return Some(place.clone());
            }
            let cluster = item.res.cluster.as_deref();
            if item.kind == ItemKind::Pvc {
                let volume = str_at(item.res.spec(), &["volumeName"]).and_then(|v| by_name.get(&(cluster, v)));
                let bound = volume.or_else(|| by_claim.get(&(cluster, item.namespace(), item.res.name.as_str())));
                if let Some(pv) = bound {
                    let rook = rook.get(&cluster).copied().unwrap_or_default();
                    if let Some(place) = persistent_volume(pv.spec(), rook) {
                        return Some(format!("{place} (PersistentVolume `{}`)", pv.name));
                    }
                }
            }
            let rook = rook.get(&cluster).copied().unwrap_or_default();
            if let Some(place) = bound_by_class(item, &unclaimed, rook) {
                return Some(place);
            }
            let class = item.storage_class.as_deref()?;
            classes.get(&(cluster, class)).cloned()
        })
        .collect()
}

/// Where a claim with no `volumeName` and no volume reserved for it lives
/// when every static volume it can bind to by class (and by
/// `selector.matchLabels`) is external storage. A StatefulSet's claims bind
/// the same way.
fn bound_by_class(
    item: &StatefulItem,
    unclaimed: &HashMap<(Option<&str>, &str), Vec<&Resource>>,
    rook: RookClusters,
) -> Option<String> {
    let pvc = item.kind == ItemKind::Pvc;
    if pvc && str_at(item.res.spec(), &["volumeName"]).is_some() {
        return None;
    }
    let class = item.storage_class.as_deref().filter(|c| !c.is_empty())?;
    let selector = if pvc { item.res.root.path(&["spec", "selector", "matchLabels"]) } else { None };
    let wanted = selector.map_or(&[][..], Node::as_map);
    let labels = |pv: &Resource| pv.root.path(&["metadata", "labels"]).cloned();
    let candidates: Vec<&&Resource> = unclaimed
        .get(&(item.res.cluster.as_deref(), class))?
        .iter()
        .filter(|pv| {
            let have = labels(pv);
            wanted.iter().all(|(k, v)| {
                k.as_str().is_some_and(|k| have.as_ref().and_then(|l| l.get(k)).and_then(Node::as_str) == v.as_str())
            })
        })
        .collect();
    let places: Vec<String> = candidates.iter().map(|pv| persistent_volume(pv.spec(), rook)).collect::<Option<_>>()?;
    match (candidates.as_slice(), places.as_slice()) {
        ([pv], [place]) => Some(format!("{place} (PersistentVolume `{}`, bound by class `{class}`)", pv.name)),
        ([], _) => None,
        (pvs, _) => {
            let mut distinct: Vec<&String> = Vec::new();
            for place in &places {
                if !distinct.contains(&place) {
                    distinct.push(place);
                }
            }
            let list: Vec<&str> = distinct.iter().map(|p| p.as_str()).collect();
            Some(format!("one of {} static volumes of class `{class}`: {}", pvs.len(), list.join(", ")))
        }
    }
}
