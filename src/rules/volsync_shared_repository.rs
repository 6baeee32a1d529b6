//! `volsync-shared-repository`: two ReplicationSources write into one restic
//! repository (or one rclone destination). VolSync's restic mover backs up
//! every PVC as host `volsync`, path `.`, so their snapshots mix: `forget`
//! prunes one with the other's policy and a restore takes "latest" of either.

use std::collections::BTreeMap;

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::volsync::ReplicationSource;
use crate::inventory::Inventory;
use crate::model::is_unresolved;
use crate::yaml::{Node, Span};

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "volsync-shared-repository",
        severity: Severity::Error,
        summary: "two ReplicationSources use one restic repository or rclone destination",
        doc: include_str!("../../rules/volsync-shared-repository.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

/// One way two sources can be the same repository, and how to say it.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Shared {
    /// The same `restic.repository` Secret in one namespace of one cluster
    /// (the same name in two clusters is two Secrets).
    Secret(Option<String>, Option<String>, String),
    /// The same `RESTIC_REPOSITORY` value (never printed).
    Url(String),
    /// The same rclone config section and destination path (the section
    /// is a Secret's: one cluster's).
    Rclone(Option<String>, String, String),
}

fn known(text: &str) -> bool {
    !text.trim().is_empty() && !is_unresolved(text)
}

fn keys(inv: &Inventory, rs: &ReplicationSource) -> Vec<(Shared, Span)> {
    let Some((mover, section)) = rs.mover else { return Vec::new() };
    let ns = rs.res.namespace.clone();
    let cluster = rs.res.cluster.as_deref().map(str::to_string);
    let get = |k: &str| section.get(k).and_then(Node::as_str).filter(|t| known(t));
    let mut out = Vec::new();
    match mover {
        "restic" => {
            if let (Some(secret), Some(node)) = (get("repository"), section.get("repository")) {
                out.push((Shared::Secret(cluster.clone(), ns.clone(), secret.to_string()), node.span));
                if let Some(url) = inv.secret_value(cluster.as_deref(), ns.as_deref(), secret, "RESTIC_REPOSITORY") {
                    out.push((Shared::Url(url.trim_end_matches('/').to_string()), node.span));
                }
            }
        }
        "rclone" => {
            if let (Some(conf), Some(dest), Some(node)) =
                (get("rcloneConfigSection"), get("rcloneDestPath"), section.get("rcloneDestPath"))
            {
                out.push((
                    Shared::Rclone(cluster, conf.to_string(), dest.trim_end_matches('/').to_string()),
                    node.span,
                ));
            }
        }
        _ => {}
    }
    out
}

/// A restic `retain` policy as text (`daily: 14, weekly: 8`), keys sorted;
/// empty when there is none (then the mover runs no `forget`).
fn retain_policy(rs: &ReplicationSource) -> String {
    let mut keys: Vec<String> = rs
        .retain
        .map(Node::as_map)
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, v)| Some(format!("{}: {}", k.as_str()?, v.as_str().unwrap_or("?"))))
        .collect();
    keys.sort();
    keys.join(", ")
}

/// Both back up the same PVC (same cluster and namespace, same known `sourcePVC`).
fn same_volume(a: &ReplicationSource, b: &ReplicationSource) -> bool {
    a.res.cluster == b.res.cluster
        && a.res.namespace == b.res.namespace
        && matches!((a.source_pvc_name(), b.source_pvc_name()), (Some(x), Some(y)) if x == y && known(x))
}

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<Shared, Vec<(usize, Span)>> = BTreeMap::new();
    for (i, rs) in inv.replication_sources.iter().enumerate() {
        for (key, span) in keys(inv, rs) {
            groups.entry(key).or_default().push((i, span));
        }
    }
    let mut reported = std::collections::HashSet::new();
    for (key, members) in &groups {
        let Some(&(first, first_span)) = members.first() else { continue };
        let Some(owner) = inv.replication_sources.get(first) else { continue };
        for &(i, span) in members.iter().skip(1) {
            let Some(rs) = inv.replication_sources.get(i) else { continue };
            if i == first || reported.contains(&i) {
                continue;
            }
            if same_volume(rs, owner) {
                // One volume's snapshots in one repository are one history
                // (a scheduled source and a manual pre-upgrade one). It goes
                // wrong only when both prune it, each by its own policy.
                let (mine, theirs) = (retain_policy(rs), retain_policy(owner));
                let owner_name = owner.res.qualified_name();
                if mine.is_empty() || theirs.is_empty() || mine == theirs {
                    continue;
                }
                reported.insert(i);
                out.push(
                    RULE.meta
                        .finding(
                            format!(
                                "ReplicationSource `{}` backs up PVC `{}` into the same repository as ReplicationSource `{owner_name}` with another `retain` ({mine}; `{owner_name}`: {theirs}): each run's `forget` prunes every snapshot of the PVC by its own policy, so the shorter policy deletes what the longer one keeps",
                                rs.res.qualified_name(),
                                rs.source_pvc_name().unwrap_or_default(),
                            ),
                            span,
                            "shared repository, another retention",
                        )
                        .severity(Severity::Warning)
                        .related(first_span, format!("`{owner_name}` writes here too"))
                        .help("Give both the same `retain`, or leave `retain` out of the one that should not prune (VolSync runs `restic forget` only when `retain` is set).")
                        .on(rs.index, rs.res),
                );
                continue;
            }
            reported.insert(i);
            let how = match key {
                Shared::Secret(_, _, secret) => format!("the same restic repository Secret `{secret}`"),
                Shared::Url(_) => "the same `RESTIC_REPOSITORY` (from their repository Secrets)".to_string(),
                Shared::Rclone(_, conf, dest) => format!("the same rclone destination `{conf}:{dest}`"),
            };
            let (consequence, help) = match key {
                Shared::Rclone(..) => (
                    "each sync overwrites the other's copy",
                    "Give each ReplicationSource its own `rcloneDestPath` (end it in the PVC's name).",
                ),
                _ => (
                    "VolSync backs up every PVC as host `volsync`, path `.`, so their snapshots mix: `forget` prunes one with the other's policy and a restore may bring back the wrong volume",
                    "Give each ReplicationSource its own repository: a Secret per PVC whose `RESTIC_REPOSITORY` ends in the PVC's name (VolSync: \"shared backup repositories are not currently supported\").",
                ),
            };
            out.push(
                RULE.meta
                    .finding(
                        format!(
                            "ReplicationSource `{}` uses {how} as ReplicationSource `{}`: {consequence}",
                            rs.res.qualified_name(),
                            owner.res.qualified_name()
                        ),
                        span,
                        "shared repository",
                    )
                    .related(first_span, format!("`{}` writes here too", owner.res.qualified_name()))
                    .help(help)
                    .on(rs.index, rs.res),
            );
        }
    }
}
