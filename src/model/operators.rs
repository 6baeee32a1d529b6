//! What operators make from their custom resources: the claims a
//! `Grafana` (grafana-operator), a `VMSingle` or `VMAlertmanager`
//! (VictoriaMetrics operator), a `Prometheus` or `Alertmanager`
//! (prometheus-operator) ask for, under the exact names the operator gives
//! them. Each becomes an object of the model (a PVC, or a StatefulSet with
//! its claim template) that says which resource made it, so coverage,
//! exclusions and the inventory treat it as any other claim.
//!
//! Names, from the operators' sources:
//! - grafana-operator v5 `GetGrafanaDataPVC`: `<name>-pvc`, from
//!   `spec.persistentVolumeClaim` (`spec` a PVC spec);
//! - VictoriaMetrics operator `VMSingle.PrefixedName`: `vmsingle-<name>`,
//!   from `spec.storage` (a PVC spec; none with `spec.storage` unset);
//! - VictoriaMetrics `VMAlertmanager`: StatefulSet `vmalertmanager-<name>`,
//!   template `vmalertmanager-<name>-db` from `spec.storage.volumeClaimTemplate`;
//! - prometheus-operator: StatefulSet `prometheus-<name>` /
//!   `alertmanager-<name>`, template `<sts>-db` (or the template's own
//!   `metadata.name`) from `spec.storage.volumeClaimTemplate`;
//! - dragonfly-operator (internal/resources/resources.go): StatefulSet
//!   `<name>` with the template `df` from `spec.snapshot.persistentVolumeClaimSpec`
//!   (a PVC spec; the snapshots the server writes and loads at start).

use super::catalogue::{map, merged_maps, metadata, object_with, s};
use super::{Builder, Resource, Via};
use crate::yaml::{str_at, Node, Span};

/// How one kind of custom resource asks for storage.
struct Maker {
    group: &'static str,
    kind: &'static str,
    operator: &'static str,
    /// Where the storage is asked for, in `spec`.
    at: &'static [&'static str],
    made: Made,
}

enum Made {
    /// One PVC `<prefix><name><suffix>`; the node at `at` is a PVC spec,
    /// or holds one under `spec`.
    Claim { prefix: &'static str, suffix: &'static str },
    /// A StatefulSet `<prefix><name>` whose claim template (the node at
    /// `at`) is named `template`, or else `<sts>-db` unless it names itself.
    Template { prefix: &'static str, template: Option<&'static str> },
}

const MAKERS: &[Maker] = &[
    Maker {
        group: "grafana.integreatly.org",
        kind: "Grafana",
        operator: "grafana-operator",
        at: &["persistentVolumeClaim"],
        made: Made::Claim { prefix: "", suffix: "-pvc" },
    },
    Maker {
        group: "operator.victoriametrics.com",
        kind: "VMSingle",
        operator: "VictoriaMetrics operator",
        at: &["storage"],
        made: Made::Claim { prefix: "vmsingle-", suffix: "" },
    },
    Maker {
        group: "operator.victoriametrics.com",
        kind: "VMAlertmanager",
        operator: "VictoriaMetrics operator",
        at: &["storage", "volumeClaimTemplate"],
        made: Made::Template { prefix: "vmalertmanager-", template: None },
    },
    Maker {
        group: "monitoring.coreos.com",
        kind: "Prometheus",
        operator: "prometheus-operator",
        at: &["storage", "volumeClaimTemplate"],
        made: Made::Template { prefix: "prometheus-", template: None },
    },
    Maker {
        group: "monitoring.coreos.com",
        kind: "Alertmanager",
        operator: "prometheus-operator",
        at: &["storage", "volumeClaimTemplate"],
        made: Made::Template { prefix: "alertmanager-", template: None },
    },
    Maker {
        group: "dragonflydb.io",
        kind: "Dragonfly",
        operator: "Dragonfly operator",
        at: &["snapshot", "persistentVolumeClaimSpec"],
        made: Made::Template { prefix: "", template: Some("df") },
    },
];

/// The PVC spec a storage request holds (`resources` and
/// `storageClassName`), at its own level or under `spec`.
fn claim_spec(node: &Node) -> Node {
    let inner = node.get("spec").filter(|n| n.is_map()).unwrap_or(node);
    let mut fields = Vec::new();
    for key in ["accessModes", "resources", "storageClassName", "volumeName", "dataSource", "dataSourceRef"] {
        if let Some(v) = inner.get(key) {
            fields.push((key, v.clone()));
        }
    }
    map(fields, inner.span)
}

/// `annotations` with `key: value` added (when there is a value).
pub(super) fn with_annotation(annotations: Option<Node>, key: &str, value: Option<String>, span: Span) -> Option<Node> {
    let Some(value) = value else { return annotations };
    let mut pairs = annotations.as_ref().map(|n| n.as_map().to_vec()).unwrap_or_default();
    pairs.push((s(key, span), s(&value, span)));
    Some(Node::mapping(pairs, span))
}

/// The object the operator makes for `r`, the spec path it comes from,
/// and the operator.
fn make(r: &Resource) -> Option<(Node, String, &'static str)> {
    let maker = MAKERS.iter().find(|m| r.is(m.group, m.kind))?;
    let node = r.spec().and_then(|spec| spec.path(maker.at)).filter(|n| n.is_map())?;
    let from = format!("spec.{}", maker.at.join("."));
    // The key that asks for it (`persistentVolumeClaim:`), where findings point.
    let span: Span = maker
        .at
        .split_last()
        .and_then(|(last, parent)| r.spec()?.path(parent)?.key_node(last).map(|k| k.span))
        .unwrap_or(node.span);
    let instance = || vec![(s("app.kubernetes.io/instance", span), s(&r.name, span))];
    // The claim's own labels and annotations (an exclusion label set on
    // the template applies to the claim the operator makes).
    let own = |key: &str| merged_maps(Vec::new(), node, &[vec!["metadata".to_string(), key.to_string()]], span);
    let root = match maker.made {
        Made::Claim { prefix, suffix } => {
            let name = format!("{prefix}{}{suffix}", r.name);
            let labels = merged_maps(instance(), node, &[vec!["metadata".into(), "labels".into()]], span);
            let meta = metadata(&name, span, labels, own("annotations"));
            object_with("v1", "PersistentVolumeClaim", meta, claim_spec(node))
        }
        Made::Template { prefix, template } => {
            let sts = format!("{prefix}{}", r.name);
            let template = match template {
                Some(fixed) => fixed.to_string(),
                None => str_at(Some(node), &["metadata", "name"]).map_or_else(|| format!("{sts}-db"), str::to_string),
            };
            // A Prometheus whose Thanos sidecar uploads its blocks says so on
            // the claim (the inventory lists it as the claim's protection).
            let offsite = if r.kind == "Prometheus" { r.spec().and_then(super::resource::thanos_upload) } else { None };
            let annotations =
                with_annotation(own("annotations"), super::resource::OFFSITE_COPY_ANNOTATION, offsite, span);
            let meta = metadata(&template, span, own("labels"), annotations);
            let vct = map(vec![("metadata", meta), ("spec", claim_spec(node))], span);
            let spec =
                map(vec![("volumeClaimTemplates", Node { value: crate::yaml::Value::Seq(vec![vct]), span })], span);
            object_with(
                "apps/v1",
                "StatefulSet",
                metadata(&sts, span, Some(Node::mapping(instance(), span)), None),
                spec,
            )
        }
    };
    Some((root, from, maker.operator))
}

/// The PVCs Crunchy PGO makes for a `PostgresCluster`'s pgBackRest
/// repositories of type `volume`: `<cluster>-<repo>` (PGO
/// `naming.PGBackRestRepoVolume`), labelled as PGO labels them.
fn pgo_repo_volumes(r: &Resource) -> Vec<(Node, String, &'static str)> {
    if !r.is("postgres-operator.crunchydata.com", "PostgresCluster") {
        return Vec::new();
    }
    let repos = r.spec().and_then(|s| s.path(&["backups", "pgbackrest", "repos"])).map_or(&[][..], Node::as_seq);
    let mut out = Vec::new();
    for (i, repo) in repos.iter().enumerate() {
        let (Some(name), Some(volume)) = (str_at(Some(repo), &["name"]), repo.get("volume")) else { continue };
        let span = repo.key_node("volume").map_or(volume.span, |k| k.span);
        let claim = volume.get("volumeClaimSpec").unwrap_or(volume);
        let labels = vec![
            (s("postgres-operator.crunchydata.com/cluster", span), s(&r.name, span)),
            (s("postgres-operator.crunchydata.com/pgbackrest-repo", span), s(name, span)),
            (s("postgres-operator.crunchydata.com/pgbackrest-volume", span), s("", span)),
        ];
        let meta = metadata(&format!("{}-{name}", r.name), span, Some(Node::mapping(labels, span)), None);
        out.push((
            object_with("v1", "PersistentVolumeClaim", meta, claim_spec(claim)),
            format!("spec.backups.pgbackrest.repos[{i}].volume"),
            "Crunchy Postgres operator (PGO)",
        ));
    }
    out
}

impl Builder<'_> {
    /// Add what operators make from the custom resources deployed.
    pub(super) fn operator_objects(&mut self) {
        let mut made = Vec::new();
        for (root, from, operator, r) in self
            .model
            .resources
            .iter()
            .flat_map(|r| make(r).into_iter().chain(pgo_repo_volumes(r)).map(move |(a, b, c)| (a, b, c, r)))
        {
            let index = usize::MAX / 4 - made.len() % (usize::MAX / 8);
            let via = Via {
                span: r.name_span(),
                message: format!("made by the {operator} from {} `{}` (`{from}`)", r.kind, r.qualified_name()).into(),
                shown: true,
                patch: None,
            };
            if let Some(m) = Resource::made_for(r, index, root, via, r.namespace.as_deref(), r.deployed_by.clone()) {
                made.push(m);
            }
        }
        for m in made {
            self.push_instance(m);
        }
    }
}

/// A custom resource that asks for storage in a way lifeboat does not model
/// (an operator it has no rule for): listed by `lifeboat inventory` so that
/// what it holds is seen, never passed over.
#[derive(Debug, Clone)]
pub struct UnmodelledStorage {
    /// The key that asks for it.
    pub span: Span,
    pub kind: String,
    pub api_version: String,
    /// `namespace/name`.
    pub name: String,
    /// The spec path of that key (`spec.nodeSets[0].volumeClaimTemplates`);
    /// empty when the operator makes claims by default.
    pub at: String,
}

impl UnmodelledStorage {
    /// As the JSON reports write it (`file`/`line`: where it asks).
    pub fn json(&self, file: &str, line: u32) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind, "apiVersion": self.api_version, "name": self.name,
            "at": self.at, "file": file, "line": line,
        })
    }
}

/// API groups whose objects lifeboat reads in their own right (GitOps
/// engines, whose values are a chart's; backup tools; storage providers,
/// whose storage is where claims live, not an app's data).
const NOT_APP_STORAGE: &[&str] = &[
    "helm.toolkit.fluxcd.io",
    "kustomize.toolkit.fluxcd.io",
    "source.toolkit.fluxcd.io",
    "fluxcd.controlplane.io",
    "argoproj.io",
    "postgresql.cnpg.io",
    "barmancloud.cnpg.io",
    "volsync.backube",
    "velero.io",
    "k8up.io",
    "longhorn.io",
    "kopiur.home-operations.com",
    "ceph.rook.io",
    "objectbucket.io",
    "openebs.io",
    "helm.cattle.io",
    "upgrade.cattle.io",
    "kustomize.config.k8s.io",
    // Crunchy PGO: read by the inventory (`inventory::pgo`), its repository
    // volumes made below.
    "postgres-operator.crunchydata.com",
];

/// Keys whose value is a claim (or claims) an operator makes.
const CLAIM_KEYS: &[&str] = &[
    "volumeClaimTemplate",
    "volumeClaimTemplates",
    "persistentVolumeClaim",
    "persistentVolumeClaimSpec",
    "persistentVolumeClaimTemplate",
    "datadirVolumeClaimTemplate",
    "pvc",
];

/// Kinds whose operator makes claims even when the spec says nothing of
/// storage (a default size): `(group, kind)`.
const STATEFUL_BY_DEFAULT: &[(&str, &str)] = &[
    ("mongodbcommunity.mongodb.com", "MongoDBCommunity"),
    ("rabbitmq.com", "RabbitmqCluster"),
    ("acid.zalan.do", "postgresql"),
    ("elasticsearch.k8s.elastic.co", "Elasticsearch"),
    ("k8s.mariadb.com", "MariaDB"),
    ("k8s.mariadb.com", "MaxScale"),
    ("pxc.percona.com", "PerconaXtraDBCluster"),
    ("psmdb.percona.com", "PerconaServerMongoDB"),
    ("pgv2.percona.com", "PerconaPGCluster"),
    ("mysql.oracle.com", "InnoDBCluster"),
    ("clickhouse.altinity.com", "ClickHouseInstallation"),
    ("kubegres.reactive-tech.io", "Kubegres"),
];

/// Keys whose value, when it sizes or classes a volume, asks for storage.
const STORAGE_KEYS: &[&str] = &["storage", "persistence", "persistentStorage", "dataVolume", "dataVolumeClaimSpec"];

/// Does the value of `key` ask for storage?
fn asks_for_storage(key: &str, v: &Node) -> bool {
    // A pod volume naming an existing claim mounts it, asks for none.
    if CLAIM_KEYS.contains(&key) {
        return (v.is_map() && v.get("claimName").is_none()) || !v.as_seq().is_empty();
    }
    STORAGE_KEYS.contains(&key)
        && v.is_map()
        && v.get("enabled").and_then(Node::as_bool) != Some(false)
        && (["size", "resources", "storageClassName", "storageClass", "capacity"].iter().any(|f| v.get(f).is_some())
            || CLAIM_KEYS.iter().any(|f| v.get(f).is_some())
            || matches!(str_at(Some(v), &["type"]), Some("persistent-claim" | "jbod")))
}

/// One step of a path in a spec: a key, or an index in a sequence.
#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Where in `node` (at most a few levels down) storage is asked for: the
/// steps to the key (borrowed, so the search allocates only when it finds).
fn storage_key<'a>(node: &'a Node, path: &mut Vec<Step<'a>>, depth: usize) -> Option<Span> {
    if depth > 5 {
        return None;
    }
    match &node.value {
        crate::yaml::Value::Map(entries) => {
            for (k, v) in entries {
                let Some(key) = k.as_str() else { continue };
                path.push(Step::Key(key));
                if asks_for_storage(key, v) {
                    return Some(k.span);
                }
                if let Some(found) = storage_key(v, path, depth + 1) {
                    return Some(found);
                }
                path.pop();
            }
            None
        }
        crate::yaml::Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                if let Some(found) = storage_key(item, path, depth + 1) {
                    return Some(found);
                }
                path.pop();
            }
            None
        }
        crate::yaml::Value::Scalar { .. } => None,
    }
}

/// `spec.nodeSets[0].volumeClaimTemplates`.
fn path_text(path: &[Step]) -> String {
    let mut out = String::from("spec");
    for step in path {
        match step {
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The custom resources deployed that ask for storage lifeboat does not
/// model, once each.
pub fn unmodelled_storage(resources: &[Resource]) -> Vec<UnmodelledStorage> {
    let mut out: Vec<UnmodelledStorage> = Vec::new();
    // Once each (a resource several clusters deploy is one).
    let mut seen: std::collections::HashSet<(&str, &str, String)> = std::collections::HashSet::new();
    for r in resources {
        let group = r.group();
        // Kubernetes' own kinds (`apps`, `batch`, `*.k8s.io`) are read as such.
        if !group.contains('.') || group.ends_with(".k8s.io") || NOT_APP_STORAGE.contains(&group) {
            continue;
        }
        if MAKERS.iter().any(|m| r.is(m.group, m.kind)) {
            continue;
        }
        let by_default = STATEFUL_BY_DEFAULT.iter().any(|(g, k)| r.is(g, k));
        let mut path = Vec::new();
        let found = r.spec().and_then(|spec| storage_key(spec, &mut path, 0));
        let (at, span) = match found {
            Some(span) => (path_text(&path), span),
            // Empty: the spec says nothing, the operator's default applies.
            None if by_default => (String::new(), r.name_span()),
            None => continue,
        };
        let name = r.qualified_name();
        if !seen.insert((r.kind.as_str(), r.api_version.as_str(), name.clone())) {
            continue;
        }
        out.push(UnmodelledStorage { span, kind: r.kind.clone(), api_version: r.api_version.clone(), name, at });
    }
    out.sort_by(|a, b| (&a.name, &a.kind).cmp(&(&b.name, &b.kind)));
    out
}
