//! Coverage: which mechanisms protect each stateful item.

use std::collections::HashMap;

use crate::cron;
use crate::yaml::{Node, Span};

use super::schedules::{describe_map, BackupSchedule, Selector};
use super::stateful::{Claim, StatefulItem};
use super::volsync::ReplicationSource;
use super::{same_namespace, Inventory};

/// One mechanism protecting one item.
#[derive(Debug, Clone)]
pub struct Protection {
    /// "VolSync restic ReplicationSource `gitea-data` ("15 */6 * * *": …)".
    pub what: String,
    /// The mechanism's resource.
    pub resource: usize,
    pub span: Span,
    /// Why the mechanism never runs (paused, suspended, an invalid
    /// schedule): listed, but it protects nothing.
    pub not_running: Option<&'static str>,
}

/// Whether a standard five-field schedule can never fire as written (a
/// `${VAR}` left to substitution is not judged).
fn never_fires(schedule: Option<&Node>) -> bool {
    schedule.and_then(Node::as_str).is_some_and(|t| !crate::model::is_unresolved(t) && cron::parse_standard(t).is_err())
}

/// Whether any of `protections` really runs.
pub fn any_running(protections: &[Protection]) -> bool {
    protections.iter().any(|p| p.not_running.is_none())
}

/// "every day at 03:00" for a standard five-field schedule.
pub fn describe_standard(schedule: Option<&Node>) -> String {
    let Some(text) = schedule.and_then(Node::as_str) else {
        return "no schedule".into();
    };
    match cron::parse_standard(text) {
        Ok((s, tz)) => {
            let zone = tz.map(|z| format!(" ({z})")).unwrap_or_default();
            format!("\"{text}\": {}{zone}", cron::describe(&s, false))
        }
        Err(_) => format!("\"{text}\": invalid schedule — never runs"),
    }
}

fn retain_text(node: Option<&Node>) -> String {
    describe_map(node).map_or_else(|| "no retention".into(), |r| format!("retain {r}"))
}

fn replication_source(rs: &ReplicationSource) -> Protection {
    let when = match (rs.manual.and_then(Node::as_str), rs.schedule) {
        (Some(manual), None) if rs.is_manual() => format!("manual trigger \"{manual}\" — runs once per new value"),
        (Some(manual), Some(_)) if rs.is_manual() => {
            format!("manual trigger \"{manual}\" — runs once per new value; its schedule is ignored")
        }
        (_, Some(_)) => describe_standard(rs.schedule),
        (_, None) => "no trigger: back to back".into(),
    };
    let not_running = if rs.is_paused() {
        Some("PAUSED — does not run")
    } else if rs.is_manual() {
        Some("manual trigger — runs once per new value, on no schedule")
    } else if never_fires(rs.schedule) {
        Some("invalid schedule — never runs")
    } else {
        None
    };
    let paused = if rs.is_paused() { ", PAUSED — does not run" } else { "" };
    Protection {
        not_running,
        what: format!(
            "VolSync {} ReplicationSource `{}` ({when}; {}{paused})",
            rs.mover_name(),
            rs.res.name,
            retain_text(rs.retain)
        ),
        resource: rs.index,
        span: rs.source_pvc.map_or(rs.res.name_span(), |n| n.span),
    }
}

fn schedule(s: &BackupSchedule) -> Protection {
    let when = match s.schedule {
        Some(_) => describe_standard(s.schedule),
        None => "its SnapshotSchedule".into(),
    };
    let retention = s.retention.clone().unwrap_or_else(|| "no retention".into());
    let not_running = never_fires(s.schedule).then_some("invalid schedule — never runs");
    Protection {
        not_running,
        what: format!("{} `{}` ({when}; {retention})", s.what, s.res.name),
        resource: s.index,
        span: s.res.name_span(),
    }
}

/// Longhorn's CSI driver, which provisions its volumes.
const LONGHORN_DRIVER: &str = "driver.longhorn.io";

/// Link every stateful item of `inv` to what protects it.
pub fn link(inv: &Inventory) -> Vec<Vec<Protection>> {
    // Longhorn jobs a StorageClass attaches to its volumes.
    let mut class_jobs: HashMap<&str, Vec<(String, bool)>> = HashMap::new();
    // Longhorn's classes (its CSI driver provisions them), by name.
    let mut longhorn_classes: std::collections::HashSet<&str> = std::collections::HashSet::new();
    // Static Longhorn volumes (a PersistentVolume of Longhorn's CSI driver):
    // by name, and by the claim reserved for them.
    let mut longhorn_volumes: std::collections::HashSet<(Option<&str>, Option<&str>, &str)> =
        std::collections::HashSet::new();
    for r in inv.resources.iter().filter(|r| r.kind == "PersistentVolume" && r.api_version == "v1") {
        if r.root.path(&["spec", "csi", "driver"]).and_then(Node::as_str) == Some(LONGHORN_DRIVER) {
            let cluster = r.cluster.as_deref();
            longhorn_volumes.insert((cluster, None, r.name.as_str()));
            if let Some(claim) = r.root.path(&["spec", "claimRef", "name"]).and_then(Node::as_str) {
                let ns = r.root.path(&["spec", "claimRef", "namespace"]).and_then(Node::as_str);
                longhorn_volumes.insert((cluster, Some(ns.unwrap_or("")), claim));
            }
        }
    }
    // A claim bound to one (by `volumeName`, or the volume's `claimRef`).
    let on_longhorn_volume = |item: &super::stateful::StatefulItem| {
        if item.kind != super::stateful::ItemKind::Pvc {
            return false;
        }
        let cluster = item.res.cluster.as_deref();
        let by_volume = item
            .res
            .spec()
            .and_then(|s| s.get("volumeName"))
            .and_then(Node::as_str)
            .is_some_and(|v| longhorn_volumes.contains(&(cluster, None, v)));
        by_volume || longhorn_volumes.contains(&(cluster, Some(item.namespace().unwrap_or("")), &item.res.name))
    };
    for r in inv.resources.iter().filter(|r| r.is("storage.k8s.io", "StorageClass")) {
        if r.root.get("provisioner").and_then(Node::as_str) == Some(LONGHORN_DRIVER) {
            longhorn_classes.insert(r.name.as_str());
        }
        let selector = r.root.path(&["parameters", "recurringJobSelector"]).and_then(Node::as_str);
        let Some(Ok(serde_json::Value::Array(entries))) = selector.map(serde_json::from_str::<serde_json::Value>)
        else {
            continue;
        };
        let jobs = entries
            .iter()
            .filter_map(|e| {
                let name = e.get("name")?.as_str()?.to_string();
                Some((name, e.get("isGroup").and_then(serde_json::Value::as_bool).unwrap_or(false)))
            })
            .collect();
        class_jobs.insert(r.name.as_str(), jobs);
    }
    // Mechanisms that name their claim, by that name: linking stays linear.
    let mut by_claim: HashMap<&str, Vec<Named>> = HashMap::new();
    for (i, rs) in inv.replication_sources.iter().enumerate() {
        if let Some(name) = rs.source_pvc_name() {
            by_claim.entry(name).or_default().push(Named::Source(i));
        }
    }
    for (i, job) in inv.backup_jobs.iter().enumerate() {
        for (m, mount) in job.sources().enumerate() {
            if let Some(name) = mount.claim_name() {
                by_claim.entry(name).or_default().push(Named::Job(i, m));
            }
        }
    }
    for (i, r) in inv.replicators.iter().enumerate() {
        for (c, claim) in r.claims.iter().enumerate() {
            by_claim.entry(claim.name.as_str()).or_default().push(Named::Replicator(i, c));
        }
    }
    let mut selecting = Vec::new();
    for (i, s) in inv.schedules.iter().enumerate() {
        match &s.selector {
            Selector::Kopiur { names, labels } if labels.is_empty() => {
                for n in names.iter().filter_map(|n| n.as_nonempty_str()) {
                    by_claim.entry(n).or_default().push(Named::Schedule(i));
                }
            }
            _ => selecting.push(i),
        }
    }
    inv.items
        .iter()
        .map(|item| {
            // Mounted straight from a share or a node's directory: no
            // claim any mechanism names or selects (listed, not judged).
            if item.kind == super::stateful::ItemKind::DirectVolume {
                return Vec::new();
            }
            let mut named: Vec<Named> = match &item.claim {
                Claim::Exact(name) => by_claim.get(name.as_str()).cloned().unwrap_or_default(),
                _ => by_claim.iter().filter(|(n, _)| item.claim.matches(n)).flat_map(|(_, v)| v.clone()).collect(),
            };
            named.sort_unstable();
            named.dedup();
            let ns = item.namespace();
            let mut out = Vec::new();
            for n in named {
                match n {
                    Named::Source(i) => {
                        if let Some(rs) = inv.replication_sources.get(i) {
                            if same_namespace(rs.res.namespace.as_deref(), ns) && rs.res.cluster == item.res.cluster {
                                out.push(replication_source(rs));
                            }
                        }
                    }
                    Named::Job(i, m) => {
                        let Some(job) = inv.backup_jobs.get(i) else { continue };
                        let Some(mount) = job.sources().nth(m) else { continue };
                        if !same_namespace(job.res.namespace.as_deref(), ns) || job.res.cluster != item.res.cluster {
                            continue;
                        }
                        let suspended = if job.is_suspended() { ", SUSPENDED — does not run" } else { "" };
                        let not_running = if job.is_suspended() {
                            Some("SUSPENDED — does not run")
                        } else if never_fires(job.schedule) {
                            Some("invalid schedule — never runs")
                        } else {
                            None
                        };
                        out.push(Protection {
                            not_running,
                            what: format!(
                                "CronJob `{}` ({}, {}{suspended})",
                                job.res.name,
                                job.tool,
                                describe_standard(job.schedule)
                            ),
                            resource: job.index,
                            span: mount.claim.span,
                        });
                    }
                    Named::Replicator(i, c) => {
                        let Some(r) = inv.replicators.get(i) else { continue };
                        let Some(claim) = r.claims.get(c) else { continue };
                        if same_namespace(r.res.namespace.as_deref(), ns) && r.res.cluster == item.res.cluster {
                            let what = match claim.databases.as_slice() {
                                [] => {
                                    "the SQLite databases its configuration, not in the repository, names".to_string()
                                }
                                dbs => dbs.iter().map(|d| format!("`{d}`")).collect::<Vec<_>>().join(", "),
                            };
                            out.push(Protection {
                                not_running: None,
                                what: format!(
                                    "{} sidecar `{}` of {} `{}` (streams {what}; not the other files on it)",
                                    r.tool, r.container, r.res.kind, r.res.name
                                ),
                                resource: r.index,
                                span: claim.span,
                            });
                        }
                    }
                    Named::Schedule(i) => {
                        if let Some(s) = inv.schedules.get(i).filter(|s| {
                            same_namespace(s.res.namespace.as_deref(), ns) && s.res.cluster == item.res.cluster
                        }) {
                            out.push(schedule(s));
                        }
                    }
                }
            }
            let jobs = item.storage_class.as_deref().and_then(|c| class_jobs.get(c)).map_or(&[][..], Vec::as_slice);
            for s in selecting.iter().filter_map(|&i| inv.schedules.get(i)) {
                // Backup operators act on the cluster they run in.
                let longhorn = item
                    .storage_class
                    .as_deref()
                    .is_some_and(|c| longhorn_classes.contains(c) || c.contains("longhorn"))
                    || on_longhorn_volume(item);
                if s.res.cluster == item.res.cluster && s.covers(item, jobs, longhorn) {
                    out.push(schedule(s));
                }
            }
            // A database dump of the server this claim holds: by the
            // StatefulSet's or the release's name as the host it connects to.
            let servers = [
                matches!(item.kind, super::stateful::ItemKind::ClaimTemplate).then_some(item.res.name.as_str()),
                item.release.as_deref(),
            ];
            for d in inv.dump_jobs.iter().filter(|d| d.res.cluster == item.res.cluster) {
                if let Some(server) = servers.iter().flatten().find(|s| d.reads(ns, s)) {
                    out.push(dump_job(d, server));
                }
            }
            // The object that makes the claim copies its data off the cluster
            // by itself (a Prometheus with a Thanos sidecar).
            let offsite =
                item.annotations.iter().find(|(k, _)| k.as_str() == Some(crate::model::OFFSITE_COPY_ANNOTATION));
            if let Some(text) = offsite.and_then(|(_, v)| v.as_str()) {
                out.push(Protection {
                    not_running: None,
                    what: text.to_string(),
                    resource: item.index,
                    span: item.span,
                });
            }
            // One protection per mechanism (a job mounting a claim twice).
            out.dedup_by_key(|p| p.resource);
            out
        })
        .collect()
}

/// A logical dump of the database served as `server`.
fn dump_job(d: &super::dumps::DumpJob, server: &str) -> Protection {
    let spec = d.res.spec();
    let schedule = spec.and_then(|s| s.get("schedule"));
    let suspended = spec.and_then(|s| s.get("suspend")).and_then(Node::as_bool) == Some(true);
    let not_running = if suspended {
        Some("SUSPENDED — does not run")
    } else if never_fires(schedule) {
        Some("invalid schedule — never runs")
    } else {
        None
    };
    let off = if suspended { ", SUSPENDED — does not run" } else { "" };
    let (copy, restores) = if d.logical() {
        ("logical dump", ", logical only — restores to the last dump")
    } else {
        ("snapshot", " — restores to the last snapshot")
    };
    Protection {
        not_running,
        what: format!(
            "{copy}: CronJob `{}` ({} of `{server}`{restores}; {}{off})",
            d.res.name,
            d.tool,
            describe_standard(schedule)
        ),
        resource: d.index,
        span: d.span,
    }
}

/// A mechanism that names a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Named {
    Source(usize),
    /// Backup job, and which of its source mounts.
    Job(usize, usize),
    /// Replicator, and which of its claims.
    Replicator(usize, usize),
    Schedule(usize),
}

/// Why an item's own labels or annotations protect nothing (the hint a
/// `pvc-unprotected` finding gives).
pub fn near_misses(inv: &Inventory, item: &StatefulItem) -> Vec<String> {
    use super::schedules::{has_longhorn_labels, longhorn_source, parse_bool, K8UP_ANNOTATION};
    let mut out: Vec<String> = inv
        .possible_backups_of(item)
        .iter()
        .map(|p| {
            let image = p.image.map(|i| format!(" (image `{i}`)")).unwrap_or_default();
            format!(
                "possibly a backup (unrecognised tool): CronJob `{}`{image} mounts it read-only but runs no backup tool lifeboat recognises, so it is not counted",
                p.res.qualified_name()
            )
        })
        .collect();
    // A backup written for it that nothing deploys (a replicationsource.yaml
    // its kustomization does not list): the likeliest fix.
    for u in inv.unreached {
        let Some(claim) = &u.source_pvc else { continue };
        if item.claim.matches(claim) && same_namespace(u.namespace.as_deref(), item.namespace()) {
            out.push(format!(
                "ReplicationSource `{}` names it as its `sourcePVC` but is not deployed ({})",
                u.name, u.reason
            ));
        }
    }
    for s in inv.schedules.iter().filter(|s| s.res.cluster == item.res.cluster) {
        if let Some(why) = s.selects_without_data(item) {
            out.push(format!("{} `{}` selects it, but {why}", s.what, s.res.qualified_name()));
        }
    }
    // The one ReplicationSource deployed with it (by the same Flux
    // Kustomization or Argo CD Application, in its namespace), when it backs
    // up another claim (an old claim the app no longer mounts, say).
    if let Some(owner) = item.res.deployed_by.as_deref() {
        let beside: Vec<_> = inv
            .replication_sources
            .iter()
            .filter(|rs| {
                rs.res.deployed_by.as_deref() == Some(owner)
                    && rs.res.cluster == item.res.cluster
                    && same_namespace(rs.res.namespace.as_deref(), item.namespace())
            })
            .collect();
        if let [rs] = beside.as_slice() {
            let claim = rs.source_pvc.and_then(Node::as_nonempty_str).unwrap_or("");
            if !claim.is_empty() && !item.claim.matches(claim) && !crate::model::is_unresolved(claim) {
                out.push(format!(
                    "ReplicationSource `{}`, deployed with it by `{owner}`, backs up `{claim}`, not this claim",
                    rs.res.name
                ));
            }
        }
    }
    if has_longhorn_labels(item) && !longhorn_source(item) {
        out.push(format!(
            "its Longhorn recurring-job labels are ignored without `{}: enabled`",
            super::schedules::LONGHORN_SOURCE_LABEL
        ));
    }
    // A claim naming no class, in a cluster whose default class lifeboat
    // cannot see, beside a Longhorn job for the `default` group: covered
    // if the default is Longhorn's. Say so rather than guess.
    if item.storage_class.is_none() && !has_longhorn_labels(item) {
        let default_job = inv.schedules.iter().find(|s| {
            s.res.cluster == item.res.cluster
                && matches!(&s.selector, Selector::Longhorn { groups } if groups.contains(&"default"))
        });
        if let Some(job) = default_job {
            out.push(format!(
                "Longhorn RecurringJob `{}` backs up the `default` group, which holds it if the cluster's default StorageClass is Longhorn's; it names no StorageClass and no class in the repository is marked `{}: \"true\"`, so it is not counted",
                job.res.qualified_name(),
                crate::model::catalogue::DEFAULT_CLASS_ANNOTATION
            ));
        }
    }
    if let Some(v) = item.annotation(K8UP_ANNOTATION) {
        let k8up_here = inv.schedules.iter().any(|s| {
            matches!(s.selector, Selector::K8up { .. }) && same_namespace(s.res.namespace.as_deref(), item.namespace())
        });
        if k8up_here && parse_bool(v).is_none() {
            out.push(format!(
                "its `{K8UP_ANNOTATION}: \"{v}\"` is not a Go boolean, so K8up reads it as false and skips it"
            ));
        }
    }
    out
}
