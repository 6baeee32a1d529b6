//! `cnpg-archive-collision`: two Clusters write WAL to one archive.

use std::collections::BTreeMap;

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::cnpg::{ArchiveId, Cluster};
use crate::inventory::Inventory;
use crate::yaml::Span;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cnpg-archive-collision",
        severity: Severity::Error,
        summary: "two CNPG Clusters archive to the same destination and serverName",
        doc: include_str!("../../rules/cnpg-archive-collision.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

/// An archive, and the Kubernetes cluster when its endpoint is inside one.
type Writers<'i> = (ArchiveId, Option<&'i str>);

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    // A bucket is global: compare across namespaces. Replicas only read.
    // An endpoint inside the cluster (`minio.storage.svc`) is a different
    // store in each Kubernetes cluster; an outside one is shared by all.
    let mut writers: BTreeMap<Writers, Vec<(Span, &Cluster)>> = BTreeMap::new();
    for cluster in inv.clusters.iter().filter(|c| !c.replica) {
        if let Some((id, span)) = inv.archive_id(cluster) {
            let local = cluster_local(&id.endpoint).then_some(cluster.res.cluster.as_deref()).flatten();
            writers.entry((id, local)).or_default().push((span, cluster));
        }
    }
    for ((id, _), mut group) in writers {
        group.sort_by_key(|(span, _)| (span.file, span.start));
        let Some(((first_span, first), rest)) = group.split_first() else {
            continue;
        };
        for (span, cluster) in rest {
            out.push(
                RULE.meta
                    .finding(
                        format!(
                            "Cluster `{}` archives WAL to `{id}`, where Cluster `{}` archives too: barman refuses the second writer (\"Expected empty archive\") or mixes their timelines, and neither can be restored reliably",
                            cluster.res.qualified_name(),
                            first.res.qualified_name()
                        ),
                        *span,
                        "writes the same archive",
                    )
                    .related(*first_span, format!("Cluster `{}` writes here too", first.res.qualified_name()))
                    .help("Give each Cluster its own archive: a distinct `serverName` (plugin parameter or `barmanObjectStore.serverName`) or `destinationPath`.")
                    .key(id.to_string())
                    .on(cluster.index, cluster.res),
            );
        }
    }
}

/// Whether an endpoint URL names a service inside the Kubernetes cluster
/// (`http://minio.storage.svc:9000`, `http://minio:9000`).
fn cluster_local(endpoint: &str) -> bool {
    let host = endpoint.split("://").nth(1).unwrap_or(endpoint);
    let host = host.split(['/', ':', '@']).next().unwrap_or("");
    let host = host.trim_end_matches('.');
    !host.is_empty()
        && (host.ends_with(".svc")
            || host.ends_with(".svc.cluster.local")
            || host.ends_with(".cluster.local")
            || !host.contains('.'))
        && host != "localhost"
}
