//! `cnpg-recovery-writes-to-source`: a Cluster recovers from the archive it
//! then archives into.

use super::{Check, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;
use crate::yaml::Node;

/// The annotation that turns off CNPG's "Expected empty archive" check.
const SKIP_EMPTY_CHECK: &str = "cnpg.io/skipEmptyWalArchiveCheck";

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cnpg-recovery-writes-to-source",
        severity: Severity::Error,
        summary: "CNPG Cluster recovers from the same archive it writes to",
        doc: include_str!("../../rules/cnpg-recovery-writes-to-source.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for cluster in inv.clusters.iter().filter(|c| !c.replica) {
        // `cnpg.io/skipEmptyWalArchiveCheck: enabled` says the rebuild in
        // place is deliberate (the stanza itself is `cnpg-recovery-left-in`'s).
        if cluster.res.annotation(SKIP_EMPTY_CHECK).and_then(Node::as_str) == Some("enabled") {
            continue;
        }
        let Some((_, recovery)) = cluster.bootstrap_method("recovery") else {
            continue;
        };
        let Some(source_node) = recovery.get("source") else {
            continue;
        };
        let Some(external) = source_node.as_str().and_then(|s| cluster.external(s)) else {
            continue;
        };
        let Some((source_id, own_span)) = inv.own_recovery_archive(cluster, external) else {
            continue;
        };
        let server = external
            .plugin
            .as_ref()
            .and_then(|p| p.server_name)
            .or_else(|| external.barman_object_store.and_then(|s| s.get("serverName")))
            .and_then(Node::as_str);
        let implicit =
            if server.is_none() { " (its serverName is not set, so it defaults to the same name)" } else { "" };
        out.push(
            RULE.meta
                .finding(
                    format!(
                        "Cluster `{}` recovers from {source_id}, the archive it also writes to{implicit}: the restore stops with \"Expected empty archive\", and skipping that check mixes the new timeline into the backup it came from",
                        cluster.res.qualified_name()
                    ),
                    source_node.span,
                    "recovers from its own archive",
                )
                .related(own_span, "and archives to the same place")
                .related(external.node.span, "the recovery source")
                .help(format!(
                    "Bump the serverName the Cluster writes to (e.g. `{}-v2`) and keep the source's serverName pointing at the old archive.",
                    cluster.name()
                ))
                .on(cluster.index, cluster.res),
        );
    }
}
