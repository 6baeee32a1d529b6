//! Crunchy Data PGO (`postgres-operator.crunchydata.com/v1beta1`)
//! `PostgresCluster`s and their pgBackRest repositories.
//!
//! From PGO v5's API and docs: `spec.backups.pgbackrest.repos[]` (one to
//! four, named `repo1`…`repo4`) are where pgBackRest keeps backups and the
//! WAL archive; each is a `volume` (a PVC the operator names
//! `<cluster>-<repo>`, in the cluster), or `s3`, `gcs` or `azure`. WAL is
//! pushed to every repository as soon as one is configured. Backups are
//! taken on `repos[].schedules` (`full`, `differential`, `incremental`:
//! five-field cron, run as Kubernetes CronJobs), or by hand
//! (`spec.backups.pgbackrest.manual`, with an annotation). Since v5.7
//! `spec.backups` may be left out: the cluster then archives nothing and
//! has no backups. A standby cluster (`spec.standby.enabled`) replays
//! another cluster's archive or stream and takes no backups of its own.

use crate::cron;
use crate::model::{is_unresolved, Resource};
use crate::yaml::{Node, Span};

pub const PGO_GROUP: &str = "postgres-operator.crunchydata.com";

/// Where a repository keeps its copy.
#[derive(Debug, Clone)]
pub enum Storage<'m> {
    /// A PVC in the cluster, `<cluster>-<repo>`.
    Volume(String),
    /// An object store: `s3`/`gcs`/`azure`, and its bucket (or container).
    Object { kind: &'static str, bucket: Option<&'m str>, endpoint: Option<&'m str> },
    /// None of the four (a repository PGO rejects).
    Unknown,
}

/// One of `repos[].schedules`.
#[derive(Debug, Clone)]
pub struct Schedule<'m> {
    /// `full`, `differential` or `incremental`.
    pub kind: &'static str,
    pub node: &'m Node,
}

impl Schedule<'_> {
    pub fn text(&self) -> &str {
        self.node.as_str().unwrap_or("")
    }

    /// It makes a CronJob that fires: valid five-field cron, or a `${VAR}`
    /// Flux fills (judged by `flux-substitution-undefined`).
    pub fn runs(&self) -> bool {
        let text = self.text();
        is_unresolved(text) || cron::parse_standard(text).is_ok()
    }
}

#[derive(Debug, Clone)]
pub struct Repo<'m> {
    pub node: &'m Node,
    pub name: &'m str,
    pub storage: Storage<'m>,
    pub schedules: Vec<Schedule<'m>>,
    /// `global.<repo>-path` (PGO's default is `/pgbackrest/<repo>`).
    pub path: Option<&'m str>,
    /// `global.<repo>-retention-full`, with its type when given.
    pub retention: Option<String>,
}

impl Repo<'_> {
    /// "repo1 (s3 bucket `pg`)", "repo1 (volume `db-repo1`, in the cluster)".
    pub fn describe(&self) -> String {
        match &self.storage {
            Storage::Volume(claim) => format!("{} (volume `{claim}`, in the cluster)", self.name),
            Storage::Object { kind, bucket, endpoint } => {
                let bucket = bucket.map(|b| format!(" `{b}`")).unwrap_or_default();
                let endpoint = endpoint.map(|e| format!(" at {e}")).unwrap_or_default();
                let path = self.path.map(|p| format!(" path {p}")).unwrap_or_default();
                format!("{} ({kind}{bucket}{endpoint}{path})", self.name)
            }
            Storage::Unknown => format!("{} (no volume, s3, gcs or azure)", self.name),
        }
    }

    pub fn runs(&self) -> bool {
        self.schedules.iter().any(Schedule::runs)
    }
}

#[derive(Debug, Clone)]
pub struct PgoCluster<'m> {
    pub index: usize,
    pub res: &'m Resource,
    /// The `spec.backups` key, when present.
    pub backups_key: Option<&'m Node>,
    pub repos: Vec<Repo<'m>>,
    /// `spec.standby.enabled: true`.
    pub standby: bool,
    /// `spec.dataSource` (key node): restored from a backup when created.
    pub data_source: Option<&'m Node>,
}

impl<'m> PgoCluster<'m> {
    pub fn read(index: usize, res: &'m Resource) -> PgoCluster<'m> {
        let spec = res.spec();
        let backups_key = spec.and_then(|s| s.key_node("backups"));
        let pgbackrest = spec.and_then(|s| s.path(&["backups", "pgbackrest"]));
        let global = pgbackrest.and_then(|p| p.get("global"));
        let repos = pgbackrest
            .and_then(|p| p.get("repos"))
            .map_or(&[][..], Node::as_seq)
            .iter()
            .filter_map(|node| Repo::read(node, &res.name, global))
            .collect();
        PgoCluster {
            index,
            res,
            backups_key,
            repos,
            standby: spec.and_then(|s| s.path(&["standby", "enabled"])).and_then(Node::as_bool) == Some(true),
            data_source: spec.and_then(|s| s.key_node("dataSource")),
        }
    }

    pub fn namespace(&self) -> Option<&'m str> {
        self.res.namespace.as_deref()
    }

    pub fn name(&self) -> &'m str {
        &self.res.name
    }

    /// Some repository takes backups on a schedule that fires.
    pub fn scheduled(&self) -> bool {
        self.repos.iter().any(Repo::runs)
    }

    /// The patch that removed `spec.backups` (a JSON 6902 `remove`), if one did.
    pub fn backups_removed_by(&self) -> Option<Span> {
        if self.backups_key.is_some() {
            return None;
        }
        let removes = |m: &str| {
            ["`/spec/backups`", "`/spec/backups/pgbackrest`", "`/spec/backups/pgbackrest/repos`"]
                .iter()
                .any(|p| m.contains(p))
        };
        self.res.via.iter().rev().find(|v| v.patch.is_some() && removes(&v.message)).map(|v| v.span)
    }

    /// Where a finding about its backups points: `spec.backups`, or the name.
    pub fn backups_span(&self) -> Span {
        self.backups_key.map_or_else(|| self.res.name_span(), |k| k.span)
    }

    /// The services a client connects to: `<name>-primary`, `<name>-ha`,
    /// `<name>-replicas`.
    pub fn services(&self) -> [String; 3] {
        let n = self.name();
        [format!("{n}-primary"), format!("{n}-ha"), format!("{n}-replicas")]
    }
}

impl<'m> Repo<'m> {
    fn read(node: &'m Node, cluster: &str, global: Option<&'m Node>) -> Option<Repo<'m>> {
        let name = node.get("name")?.as_str()?;
        let object = |kind: &'static str, bucket_key: &str| {
            node.get(kind).map(|o| Storage::Object {
                kind,
                bucket: o.get(bucket_key).and_then(Node::as_str),
                endpoint: o.get("endpoint").and_then(Node::as_str),
            })
        };
        let storage = if node.get("volume").is_some() {
            Storage::Volume(format!("{cluster}-{name}"))
        } else {
            object("s3", "bucket")
                .or_else(|| object("gcs", "bucket"))
                .or_else(|| object("azure", "container"))
                .unwrap_or(Storage::Unknown)
        };
        let schedules = ["full", "differential", "incremental"]
            .into_iter()
            .filter_map(|kind| node.path(&["schedules", kind]).map(|n| Schedule { kind, node: n }))
            .collect();
        let option = |key: &str| global.and_then(|g| g.get(&format!("{name}-{key}"))).and_then(Node::as_str);
        let retention = option("retention-full").map(|n| match option("retention-full-type") {
            Some("time") => format!("full backups kept {n} days"),
            _ => format!("{n} full backups kept"),
        });
        Some(Repo { node, name, storage, schedules, path: option("path"), retention })
    }
}
