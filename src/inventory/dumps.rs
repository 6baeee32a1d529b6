//! Logical backups: CronJobs that dump a database (`pg_dump`/`pg_dumpall`,
//! the `postgres-backup-local` image, `mysqldump`/`mariadb-dump`,
//! `mongodump`) or ask a server for a snapshot over the network (`influx
//! backup`, `vault operator raft snapshot save`, `etcdctl snapshot save`,
//! `redis-cli --rdb`). They give a copy as of the last run, not
//! point-in-time recovery. What a job dumps is read from where it connects,
//! in its commands and in the scripts it mounts from ConfigMaps: a CNPG
//! Cluster's `-rw`/`-r`/`-ro` service anywhere in the job, and the host of
//! `-h`/`--host`, of a `postgres://…`-style URI or of a
//! `PGHOST`/`MYSQL_HOST`/`DB_HOST`/`INFLUX_HOST`/`VAULT_ADDR`-style
//! environment variable.

use std::sync::LazyLock;

use regex::Regex;

use crate::model::Resource;
use crate::yaml::{Node, Span};

#[derive(Debug, Clone)]
pub struct DumpJob<'m> {
    pub index: usize,
    pub res: &'m Resource,
    /// "pg_dump", "mysqldump", "mongodump", "pg_dump (postgres-backup-local)",
    /// "influx backup", "vault raft snapshot" …
    pub tool: &'static str,
    /// `(namespace, cluster name)` of each CNPG service the job connects to.
    pub targets: Vec<(Option<String>, String)>,
    /// `(namespace, service)` of every database host the job names.
    pub hosts: Vec<(Option<String>, String)>,
    /// Where the tool is written.
    pub span: Span,
}

impl DumpJob<'_> {
    /// Whether it runs `pg_dump` (so it can dump a CNPG Cluster).
    pub fn postgres(&self) -> bool {
        self.tool.starts_with("pg_dump")
    }

    /// Whether it writes a logical dump (SQL or BSON statements), not a
    /// snapshot the server makes of itself.
    pub fn logical(&self) -> bool {
        SNAPSHOT_TOOLS.iter().all(|(_, t)| *t != self.tool)
    }

    /// Whether it dumps a database served as `service` in `namespace`.
    pub fn reads(&self, namespace: Option<&str>, service: &str) -> bool {
        self.hosts.iter().any(|(ns, s)| s == service && super::same_namespace(ns.as_deref(), namespace))
    }
}

/// A dump tool as a word of a command.
static DUMP_TOOL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?:^|[\s/;&|(`"'$])(?P<tool>pg_dumpall|pg_dump|mysqldump|mariadb-dump|mongodump)(?:$|[\s;&|)`"'])"#)
        .ok()
});

/// Commands that have a server write a snapshot of itself over the network,
/// and the tool's name in the inventory.
const SNAPSHOT_TOOLS: &[(&str, &str)] = &[
    (r"influx\s+backup", "influx backup"),
    (r"vault\s+operator\s+raft\s+snapshot\s+save", "vault raft snapshot"),
    (r"etcdctl\b[^\n;&|]*\bsnapshot\s+save", "etcdctl snapshot"),
    (r"redis-cli\b[^\n;&|]*\s--rdb\b", "redis-cli --rdb"),
];

/// [`SNAPSHOT_TOOLS`] as one expression, each its own group.
static SNAPSHOT_TOOL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let alternatives: Vec<String> = SNAPSHOT_TOOLS.iter().map(|(re, _)| format!("({re})")).collect();
    Regex::new(&format!(r#"(?:^|[\s/;&|(`"'$])(?:{})"#, alternatives.join("|"))).ok()
});

/// Images whose entry point dumps a database.
const DUMP_IMAGES: &[(&str, &str)] =
    &[("postgres-backup-local", "pg_dump (postgres-backup-local)"), ("mysql-backup", "mysqldump (mysql-backup)")];

/// The dump tool `text` runs, if any.
pub fn dump_tool(text: &str) -> Option<&'static str> {
    if let Some(c) = SNAPSHOT_TOOL.as_ref().and_then(|re| re.captures(text)) {
        // Group i + 1 is SNAPSHOT_TOOLS[i].
        let found = SNAPSHOT_TOOLS.iter().enumerate().find(|(i, _)| c.get(i + 1).is_some());
        if let Some((_, (_, tool))) = found {
            return Some(tool);
        }
    }
    let m = DUMP_TOOL.as_ref()?.captures(text)?.name("tool")?;
    Some(match m.as_str() {
        "pg_dumpall" | "pg_dump" => "pg_dump",
        "mysqldump" => "mysqldump",
        "mariadb-dump" => "mariadb-dump",
        _ => "mongodump",
    })
}

/// The dump tool an image runs, by its name.
pub fn image_dump_tool(image: &str) -> Option<&'static str> {
    let repo = image.split(['@', ':']).next().unwrap_or(image);
    let last = repo.rsplit('/').next().unwrap_or(repo);
    DUMP_IMAGES.iter().find(|(i, _)| last.contains(i)).map(|(_, t)| *t)
}

/// Read a `batch` CronJob as a dump job. `script` gives the `data` of a
/// ConfigMap in the job's namespace, for scripts mounted from one.
pub fn read<'m>(
    index: usize,
    res: &'m Resource,
    script: &dyn Fn(Option<&str>, &str) -> Option<&'m Node>,
) -> Option<DumpJob<'m>> {
    if !(res.kind == "CronJob" && res.group() == "batch") {
        return None;
    }
    let template = res.spec()?.get("jobTemplate")?;
    let mut found: Option<(&'static str, Span)> = None;
    let mut targets = Vec::new();
    let mut hosts: Vec<(Option<String>, String)> = Vec::new();
    let namespace = res.namespace.as_deref();
    let add_host = |host: &str, hosts: &mut Vec<(Option<String>, String)>| {
        if let Some((service, ns)) = service_of(host) {
            let ns = ns.map(str::to_string).or_else(|| namespace.map(str::to_string));
            if !hosts.iter().any(|(n, s)| n == &ns && s == service) {
                hosts.push((ns, service.to_string()));
            }
        }
    };
    let mut visit = |node: &Node| {
        // `env: [{name: PGHOST, value: db-rw}]`.
        if let (Some(name), Some(value)) =
            (node.get("name").and_then(Node::as_str), node.get("value").and_then(Node::as_str))
        {
            if is_host_variable(name) {
                add_host(value, &mut hosts);
            }
        }
        let Some(text) = node.as_str() else { return };
        if found.is_none() {
            if let Some(tool) = dump_tool(text) {
                found = Some((tool, node.span));
            }
        }
        for (cluster, ns) in service_hosts(text) {
            let ns = ns.map(str::to_string).or_else(|| res.namespace.clone());
            if !targets.iter().any(|(n, c)| n == &ns && c == cluster) {
                targets.push((ns, cluster.to_string()));
            }
        }
        for host in host_arguments(text) {
            add_host(host, &mut hosts);
        }
    };
    template.walk(&mut visit);
    let pod = template.path(&["spec", "template", "spec"]);
    // Scripts mounted from ConfigMaps.
    let volumes = pod.and_then(|p| p.get("volumes")).map_or(&[][..], Node::as_seq);
    for name in super::jobs::config_map_volumes(volumes) {
        if let Some(data) = script(namespace, name) {
            data.walk(&mut visit);
        }
    }
    if found.is_none() {
        let containers = ["initContainers", "containers"]
            .iter()
            .flat_map(|k| pod.and_then(|p| p.get(k)).map_or(&[][..], Node::as_seq));
        for image in containers.filter_map(|c| c.get("image")) {
            if let Some(tool) = image.as_str().and_then(image_dump_tool) {
                found = Some((tool, image.span));
                break;
            }
        }
    }
    let (tool, span) = found?;
    // A CNPG service named as a host is a target as well as a host.
    for (ns, service) in &hosts {
        for suffix in ["-rw", "-ro", "-r"] {
            if let Some(cluster) = service.strip_suffix(suffix).filter(|c| !c.is_empty()) {
                if !targets.iter().any(|(n, c)| n == ns && c == cluster) {
                    targets.push((ns.clone(), cluster.to_string()));
                }
                break;
            }
        }
    }
    if !tool.starts_with("pg_dump") {
        targets.clear();
    }
    Some(DumpJob { index, res, tool, targets, hosts, span })
}

/// `PGHOST`, `MYSQL_HOST`, `DB_HOST`, `POSTGRES_HOST`, `DATABASE_HOSTNAME`,
/// `INFLUX_HOST`, `VAULT_ADDR`, `REDIS_URL` …
fn is_host_variable(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let Some(prefix) = ["HOSTNAME", "HOST", "ADDRESS", "ADDR", "URL"].iter().find_map(|s| upper.strip_suffix(s)) else {
        return false;
    };
    let prefix = prefix.trim_end_matches('_');
    [
        "PG",
        "DB",
        "POSTGRES",
        "POSTGRESQL",
        "MYSQL",
        "MARIADB",
        "MONGO",
        "MONGODB",
        "DATABASE",
        "INFLUX",
        "INFLUXDB",
        "VAULT",
        "REDIS",
        "ETCD",
    ]
    .iter()
    .any(|p| prefix == *p || prefix.ends_with(&format!("_{p}")))
}

/// Hosts given as `-h X`, `--host=X`, `--host X` or in a database URI.
fn host_arguments(text: &str) -> Vec<&str> {
    static HOST: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(
            r"(?:(?:^|\s)(?:-h\s*|--host(?:=|\s+)|--endpoints(?:=|\s+)|-address(?:=|\s+))(?:[a-z][a-z0-9+.-]*://)?|(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss)://(?:[^@/\s]*@)?)(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*)",
        )
        .ok()
    });
    HOST.as_ref()
        .map(|re| re.captures_iter(text).filter_map(|c| c.name("host")).map(|m| m.as_str()).collect())
        .unwrap_or_default()
}

/// `(service, namespace)` of a host name: `db.apps.svc.cluster.local` is
/// service `db` in `apps`; an IP address or `localhost` is no service.
fn service_of(host: &str) -> Option<(&str, Option<&str>)> {
    // `http://user@vault.vault.svc:8200/v1` names `vault.vault.svc`.
    let host = host.split_once("://").map_or(host, |(_, rest)| rest);
    let host = host.split('/').next().unwrap_or(host);
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next().unwrap_or(host);
    if host.is_empty()
        || host == "localhost"
        || host.contains("${")
        || host.chars().all(|c| c.is_ascii_digit() || c == '.')
    {
        return None;
    }
    let mut parts = host.split('.');
    let service = parts.next().filter(|s| !s.is_empty())?;
    let namespace = parts.next().filter(|ns| !ns.is_empty() && *ns != "svc");
    Some((service, namespace))
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
    use super::{dump_tool, host_arguments, image_dump_tool, is_host_variable, service_hosts, service_of};

    #[test]
    fn finds_cluster_services() {
        assert_eq!(service_hosts("pg_dump -h airflow-db-rw.airflow.svc -U app"), vec![("airflow-db", Some("airflow"))]);
        assert_eq!(service_hosts("host=warehouse-ro port=5432"), vec![("warehouse", None)]);
        assert!(service_hosts("pg_dump -h postgres").is_empty());
    }

    #[test]
    fn dump_tools() {
        assert_eq!(dump_tool("pg_dumpall -h db > /backup/all.sql"), Some("pg_dump"));
        assert_eq!(dump_tool("mysqldump --all-databases -h mariadb"), Some("mysqldump"));
        assert_eq!(dump_tool("/usr/bin/mariadb-dump -h db"), Some("mariadb-dump"));
        assert_eq!(dump_tool("mongodump --uri=$URI"), Some("mongodump"));
        assert_eq!(dump_tool("echo pg_dumped"), None);
        assert_eq!(dump_tool("influx backup /backup/x --host http://influxdb:8086"), Some("influx backup"));
        assert_eq!(dump_tool("vault operator raft snapshot save /tmp/v.snap"), Some("vault raft snapshot"));
        assert_eq!(
            dump_tool("ETCDCTL_API=3 etcdctl --endpoints=https://etcd:2379 snapshot save /b/s.db"),
            Some("etcdctl snapshot")
        );
        assert_eq!(dump_tool("redis-cli -h redis-master --rdb /backup/dump.rdb"), Some("redis-cli --rdb"));
        assert_eq!(dump_tool("influx query 'from(bucket: \"backup\")'"), None);
        assert_eq!(
            image_dump_tool("prodrigestivill/postgres-backup-local:16"),
            Some("pg_dump (postgres-backup-local)")
        );
        assert_eq!(image_dump_tool("postgres:16"), None);
    }

    #[test]
    fn hosts() {
        assert_eq!(host_arguments("mysqldump -h mariadb -u root"), vec!["mariadb"]);
        assert_eq!(host_arguments("pg_dump --host=db.apps.svc.cluster.local"), vec!["db.apps.svc.cluster.local"]);
        assert_eq!(host_arguments("pg_dump postgresql://app:secret@immich-db:5432/immich"), vec!["immich-db"]);
        assert_eq!(service_of("db.apps.svc.cluster.local"), Some(("db", Some("apps"))));
        assert_eq!(service_of("http://vault.vault.svc:8200/v1"), Some(("vault", Some("vault"))));
        assert_eq!(service_of("https://admin@influxdb:8086"), Some(("influxdb", None)));
        assert_eq!(host_arguments("influx backup /b --host http://influxdb.metrics:8086"), vec!["influxdb.metrics"]);
        assert!(is_host_variable("VAULT_ADDR") && is_host_variable("INFLUX_HOST") && is_host_variable("DATABASE_URL"));
        assert!(!is_host_variable("WEBHOOK_URL") && !is_host_variable("S3_ADDR"));
        assert_eq!(service_of("mariadb:3306"), Some(("mariadb", None)));
        assert_eq!(service_of("10.0.0.5"), None);
        assert_eq!(service_of("localhost"), None);
        assert!(is_host_variable("PGHOST"));
        assert!(is_host_variable("POSTGRES_HOST"));
        assert!(is_host_variable("MYSQL_HOST"));
        assert!(is_host_variable("APP_DB_HOST"));
        assert!(!is_host_variable("GHOST"));
        assert!(!is_host_variable("HOST"));
    }
}
