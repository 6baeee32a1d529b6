//! Logical backups: CronJobs that run `pg_dump`/`pg_dumpall` against a CNPG
//! Cluster's `-rw`/`-r`/`-ro` service. They give a dump, not point-in-time
//! recovery.

use crate::model::Resource;
use crate::yaml::{Node, Span};

#[derive(Debug, Clone)]
pub struct DumpJob<'m> {
    pub index: usize,
    pub res: &'m Resource,
    /// `(namespace, cluster name)` of each service the job connects to.
    pub targets: Vec<(Option<String>, String)>,
    /// Where `pg_dump` is written.
    pub span: Span,
}

pub fn read(index: usize, res: &Resource) -> Option<DumpJob<'_>> {
    if !(res.kind == "CronJob" && res.group() == "batch") {
        return None;
    }
    let template = res.spec()?.get("jobTemplate")?;
    let mut dump_span = None;
    let mut targets = Vec::new();
    template.walk(&mut |node: &Node| {
        let Some(text) = node.as_str() else { return };
        if dump_span.is_none() && (text.contains("pg_dump") || text.contains("pg_dumpall")) {
            dump_span = Some(node.span);
        }
        for host in service_hosts(text) {
            let (cluster, namespace) = host;
            let ns = namespace.map(str::to_string).or_else(|| res.namespace.clone());
            if !targets.iter().any(|(n, c)| n == &ns && c == cluster) {
                targets.push((ns, cluster.to_string()));
            }
        }
    });
    let span = dump_span?;
    Some(DumpJob { index, res, targets, span })
}

/// Find `<cluster>-rw`, `<cluster>-r`, `<cluster>-ro` host names in `text`,
/// with the namespace when written `<svc>.<ns>[.svc…]`.
fn service_hosts(text: &str) -> Vec<(&str, Option<&str>)> {
    let mut out = Vec::new();
    let is_host_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    for token in text.split(|c: char| !is_host_char(c)) {
        let mut parts = token.split('.');
        let Some(service) = parts.next() else {
            continue;
        };
        let namespace = parts.next().filter(|ns| !ns.is_empty() && *ns != "svc");
        for suffix in ["-rw", "-ro", "-r"] {
            if let Some(cluster) = service.strip_suffix(suffix) {
                if !cluster.is_empty() {
                    out.push((cluster, namespace));
                }
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::service_hosts;

    #[test]
    fn finds_cluster_services() {
        assert_eq!(service_hosts("pg_dump -h airflow-db-rw.airflow.svc -U app"), vec![("airflow-db", Some("airflow"))]);
        assert_eq!(service_hosts("host=warehouse-ro port=5432"), vec![("warehouse", None)]);
        assert!(service_hosts("pg_dump -h postgres").is_empty());
    }
}
