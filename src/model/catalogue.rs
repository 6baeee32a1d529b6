//! The chart catalogue (`charts/*.yaml`, embedded): how to recognise a Helm
//! chart and what it makes from its values — the stateful objects, with the
//! names the chart gives them, the Velero Schedules, raw manifests
//! (`extraObjects`), and, for shapes read by code, the bjw-s app-template's
//! cronjob controllers and the CloudNativePG cluster chart's Cluster and
//! ScheduledBackups. A release of a chart in the catalogue gets those
//! objects in the model, made at the values that ask for them, so every
//! rule and the inventory treat them as any manifest.

use std::sync::LazyLock;

use crate::yaml::{str_at, Node, Span};

/// The embedded entries (a test checks that every file of `charts/` is here).
pub const FILES: &[(&str, &str)] = &[
    ("alertmanager.yaml", include_str!("../../charts/alertmanager.yaml")),
    ("app-template.yaml", include_str!("../../charts/app-template.yaml")),
    ("authentik.yaml", include_str!("../../charts/authentik.yaml")),
    ("backstage.yaml", include_str!("../../charts/backstage.yaml")),
    ("bitnami-mariadb.yaml", include_str!("../../charts/bitnami-mariadb.yaml")),
    ("bitnami-mongodb.yaml", include_str!("../../charts/bitnami-mongodb.yaml")),
    ("bitnami-postgresql-ha.yaml", include_str!("../../charts/bitnami-postgresql-ha.yaml")),
    ("bitnami-postgresql.yaml", include_str!("../../charts/bitnami-postgresql.yaml")),
    ("bitnami-redis-cluster.yaml", include_str!("../../charts/bitnami-redis-cluster.yaml")),
    ("bitnami-redis.yaml", include_str!("../../charts/bitnami-redis.yaml")),
    ("bitnami-thanos.yaml", include_str!("../../charts/bitnami-thanos.yaml")),
    ("bitnami-valkey-cluster.yaml", include_str!("../../charts/bitnami-valkey-cluster.yaml")),
    ("bitnami-valkey.yaml", include_str!("../../charts/bitnami-valkey.yaml")),
    ("bitnami-wordpress.yaml", include_str!("../../charts/bitnami-wordpress.yaml")),
    ("cnpg-cluster.yaml", include_str!("../../charts/cnpg-cluster.yaml")),
    ("crowdsec.yaml", include_str!("../../charts/crowdsec.yaml")),
    ("csi-driver-nfs.yaml", include_str!("../../charts/csi-driver-nfs.yaml")),
    ("democratic-csi.yaml", include_str!("../../charts/democratic-csi.yaml")),
    ("emqx.yaml", include_str!("../../charts/emqx.yaml")),
    ("forgejo-13.yaml", include_str!("../../charts/forgejo-13.yaml")),
    ("forgejo-6.yaml", include_str!("../../charts/forgejo-6.yaml")),
    ("forgejo.yaml", include_str!("../../charts/forgejo.yaml")),
    ("gitea-10.yaml", include_str!("../../charts/gitea-10.yaml")),
    ("gitea.yaml", include_str!("../../charts/gitea.yaml")),
    ("grafana.yaml", include_str!("../../charts/grafana.yaml")),
    ("harbor.yaml", include_str!("../../charts/harbor.yaml")),
    ("immich.yaml", include_str!("../../charts/immich.yaml")),
    ("k8s-resource.yaml", include_str!("../../charts/k8s-resource.yaml")),
    ("konflate.yaml", include_str!("../../charts/konflate.yaml")),
    ("kube-prometheus-stack.yaml", include_str!("../../charts/kube-prometheus-stack.yaml")),
    ("loki-2.yaml", include_str!("../../charts/loki-2.yaml")),
    ("loki-5.yaml", include_str!("../../charts/loki-5.yaml")),
    ("loki-stack.yaml", include_str!("../../charts/loki-stack.yaml")),
    ("loki.yaml", include_str!("../../charts/loki.yaml")),
    ("longhorn.yaml", include_str!("../../charts/longhorn.yaml")),
    ("minio.yaml", include_str!("../../charts/minio.yaml")),
    ("nats.yaml", include_str!("../../charts/nats.yaml")),
    ("nextcloud.yaml", include_str!("../../charts/nextcloud.yaml")),
    ("nfs-subdir-external-provisioner.yaml", include_str!("../../charts/nfs-subdir-external-provisioner.yaml")),
    ("ollama.yaml", include_str!("../../charts/ollama.yaml")),
    ("openbao.yaml", include_str!("../../charts/openbao.yaml")),
    ("prometheus-pushgateway.yaml", include_str!("../../charts/prometheus-pushgateway.yaml")),
    ("prometheus.yaml", include_str!("../../charts/prometheus.yaml")),
    ("renovate.yaml", include_str!("../../charts/renovate.yaml")),
    ("rook-ceph-cluster.yaml", include_str!("../../charts/rook-ceph-cluster.yaml")),
    ("seaweedfs.yaml", include_str!("../../charts/seaweedfs.yaml")),
    ("stateless.yaml", include_str!("../../charts/stateless.yaml")),
    ("tempo.yaml", include_str!("../../charts/tempo.yaml")),
    ("thanos.yaml", include_str!("../../charts/thanos.yaml")),
    ("valkey.yaml", include_str!("../../charts/valkey.yaml")),
    ("vault.yaml", include_str!("../../charts/vault.yaml")),
    ("velero.yaml", include_str!("../../charts/velero.yaml")),
    ("victoria-logs-single.yaml", include_str!("../../charts/victoria-logs-single.yaml")),
    ("victoria-metrics-k8s-stack.yaml", include_str!("../../charts/victoria-metrics-k8s-stack.yaml")),
    ("victoria-metrics-single.yaml", include_str!("../../charts/victoria-metrics-single.yaml")),
    ("woodpecker-1.1.yaml", include_str!("../../charts/woodpecker-1.1.yaml")),
    ("woodpecker.yaml", include_str!("../../charts/woodpecker.yaml")),
    ("zot-0.1.67.yaml", include_str!("../../charts/zot-0.1.67.yaml")),
    ("zot.yaml", include_str!("../../charts/zot.yaml")),
];

/// The annotation that makes a StorageClass the one a claim naming none gets.
pub const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fullname {
    /// `helm create`'s helper.
    Standard,
    /// The release name.
    Release,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    AppTemplate,
    CnpgCluster,
}

#[derive(Debug, Clone)]
pub struct Mode {
    path: Vec<String>,
    /// The value must be one of these (none: any)…
    is: Vec<String>,
    /// … and none of these.
    is_not: Vec<String>,
    default: String,
}

#[derive(Debug, Clone)]
pub struct Volume {
    at: Vec<String>,
    each: bool,
    /// Made whenever `at` is set (no `enabled` key).
    presence: bool,
    enabled_key: String,
    enabled_default: bool,
    modes: Vec<Mode>,
    /// Made only when these values paths are all true as Helm's `if` reads
    /// them (`if`: one path or a list), and none of these is (`unless`).
    if_set: Vec<Vec<String>>,
    unless_set: Vec<Vec<String>>,
    /// A values path whose value, when set, is the StatefulSet's (or the
    /// claim's) name instead (`server.fullnameOverride`).
    name_override: Option<Vec<String>>,
    type_key: Option<String>,
    types: Vec<String>,
    type_default: Option<String>,
    claim: Option<String>,
    statefulset: Option<String>,
    template: Option<String>,
    size: Option<String>,
    /// The chart's size when the values set none (`defaultSize: 8Gi`).
    default_size: Option<String>,
    storage_class: Option<String>,
    existing_claim: Option<String>,
    /// Values paths (under the volume's node) of maps the chart puts on the
    /// claim (or its claim template) as labels and annotations
    /// (`extraPvcLabels`, `volumeClaimTemplate.metadata.labels`).
    labels: Vec<Vec<String>>,
    annotations: Vec<Vec<String>>,
    /// Values paths from the release's root of labels the chart puts on
    /// every object it makes, its claims included (Bitnami's `commonLabels`).
    root_labels: Vec<Vec<String>>,
    /// The values path of a Prometheus spec whose Thanos sidecar copies the
    /// claim's data off the cluster (`offsite: {thanos: prometheus.prometheusSpec}`).
    offsite_thanos: Option<Vec<String>>,
    /// Why losing the claim loses nothing: the object rebuilds its data by
    /// itself (`rebuilt: "…"`); the claim is excluded with that reason.
    rebuilt: Option<String>,
}

/// StorageClasses a storage provisioner's chart makes from its values.
#[derive(Debug, Clone)]
pub struct StorageClasses {
    /// A list of classes, or one class (a map).
    at: Vec<String>,
    provisioner: String,
    /// Templates filled per class (`{values:name|nfs-client}`,
    /// `{root:nfs.server}`).
    name: String,
    server: Option<String>,
    share: Option<String>,
    /// A class whose `<enabledKey>` is false is not made; when the values
    /// do not say, `enabledDefault` decides (a missing `at` too).
    enabled_key: Option<Vec<String>>,
    enabled_default: bool,
    /// Made whatever the values say (Longhorn's `longhorn` class).
    always: bool,
    /// The chart's own value at `at`, used when the release leaves it out
    /// (rook-ceph-cluster's default block pool, file system and store).
    if_absent: Option<Node>,
    /// Filled in as the class's `is-default-class` annotation ("true" makes
    /// it the cluster's default class).
    default: Option<String>,
    /// More parameters (templates), each kept when it is not empty and, if
    /// it names one, its condition's values path is true.
    parameters: Vec<(String, String, Option<Vec<String>>)>,
}

/// A custom resource the chart writes from a values block (a `VMSingle`
/// from `vmsingle.spec`); what its operator makes of it is modelled as for
/// one written in the repository.
#[derive(Debug, Clone)]
pub struct Object {
    at: Vec<String>,
    /// `<at>.enabled` when the values do not say.
    enabled_default: bool,
    api_version: String,
    kind: String,
    /// `{fullname}`-style template of its name, unless a name key is set.
    name: String,
    /// Values paths under `at` whose value, when set, is its name.
    name_keys: Vec<Vec<String>>,
    /// The path under `at` copied as its `spec`.
    spec: Vec<String>,
    /// The chart's own values under that path, beneath the release's.
    defaults: Option<Node>,
    /// Not made when this values path is true (the chart refuses both: a
    /// VMSingle beside a VMCluster).
    unless_set: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Schedules {
    at: Vec<String>,
    name: String,
    /// Values path of the release's switch for volume snapshots
    /// (`snapshotsEnabled`; unset is on).
    snapshots: Option<Vec<String>>,
    /// Values paths of the release's switches for the node agent that copies
    /// files (`deployNodeAgent`, `deployRestic`; unset is off). `None`: the
    /// chart does not say.
    node_agent: Option<Vec<Vec<String>>>,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub chart: String,
    pub names: Vec<String>,
    pub repositories: Vec<String>,
    /// The chart versions the entry describes (`versions: ">=6.0.0"`); a
    /// release of another version is not read with it.
    pub versions: Option<(semver::VersionReq, String)>,
    pub fullname: Fullname,
    pub fullname_max: usize,
    pub stateless: bool,
    pub shape: Option<Shape>,
    pub volumes: Vec<Volume>,
    pub schedules: Vec<Schedules>,
    pub storage_classes: Vec<StorageClasses>,
    pub objects: Vec<Object>,
    pub manifests: Vec<String>,
    pub dependencies: Vec<Dependency>,
    /// Values paths that choose what the chart makes (loki's
    /// `deploymentMode`), with the values the entry describes: a release
    /// that sets another is not read with the entry (its contents unknown).
    pub described: Vec<(Vec<String>, Vec<String>)>,
}

/// Why a Velero Schedule a release makes copies no volume data, from the
/// release's values: snapshots switched off (by the release or the
/// schedule's template) and no node agent deployed (so no file-system
/// backup, not even of pods that opt in with `backup.velero.io/backup-volumes`).
fn schedule_without_data(sched: &Schedules, values: &Node, entry: &Node) -> Option<String> {
    let agents = sched.node_agent.as_ref()?;
    let template = entry.get("template");
    let template_flag = |k: &str| template.and_then(|t| t.get(k)).and_then(Node::as_bool);
    let release_snapshots = sched.snapshots.as_ref().and_then(|p| get_path(values, p)).and_then(Node::as_bool);
    let agent = agents.iter().any(|p| get_path(values, p).and_then(Node::as_bool) == Some(true));
    let snapshots_off = if release_snapshots == Some(false) {
        Some("the release sets `snapshotsEnabled: false`")
    } else if template_flag("snapshotVolumes") == Some(false) {
        Some("its template sets `snapshotVolumes: false`")
    } else {
        None
    };
    // With a node agent, pods that opt in (`backup.velero.io/backup-volumes`)
    // get a file-system backup whatever the template says.
    let fs_off = (!agent).then_some("deploys no node agent (`deployNodeAgent`), which file-system backup needs");
    match (snapshots_off, fs_off) {
        (Some(a), Some(b)) => Some(format!("{a} and {b}: its backups hold Kubernetes objects, no volume data")),
        _ => None,
    }
}

/// A subchart the chart installs from a catalogued chart (Bitnami's
/// postgresql under `postgresql:`), made from the values under its key as
/// that chart's entry says, when its condition holds.
#[derive(Debug, Clone)]
pub struct Dependency {
    /// The values key (the dependency's name or alias).
    key: String,
    /// The chart name and repository its entry is found by.
    chart: String,
    repository: String,
    version: String,
    /// Its `condition`, and whether it holds when the values do not say.
    condition: Option<Vec<String>>,
    enabled_default: bool,
    /// The values the parent chart's own values.yaml gives the subchart
    /// (gitea sets `valkey.architecture: standalone`): under the release's.
    values: Option<Node>,
    /// Losing what it stores loses nothing: the parent rebuilds it (a
    /// cache, sessions and queues). Its claims are excluded with this reason.
    rebuilt: Option<String>,
}

static CATALOGUE: LazyLock<Vec<Entry>> =
    LazyLock::new(|| FILES.iter().filter_map(|(_, text)| parse_entry(text).ok()).collect());

/// Parse one catalogue file (also used for `charts:` of `.lifeboat.yaml`).
pub fn parse_entry(text: &str) -> Result<Entry, String> {
    let loaded = crate::yaml::load_str(0, text);
    if let Some(e) = loaded.error {
        return Err(format!("line {}: {}", e.pos.line, e.message));
    }
    let root = loaded.documents.first().map(|d| d.root.clone()).ok_or("empty entry")?;
    entry_of(&root)
}

pub fn entry_of(root: &Node) -> Result<Entry, String> {
    let chart = str_at(Some(root), &["chart"]).ok_or("an entry needs `chart`")?.to_string();
    let names = strings(root.get("names"));
    if names.is_empty() {
        return Err(format!("chart `{chart}`: `names` lists no chart name"));
    }
    let fullname = match str_at(Some(root), &["fullname"]).unwrap_or("standard") {
        "standard" => Fullname::Standard,
        "release" => Fullname::Release,
        other => return Err(format!("chart `{chart}`: unknown fullname `{other}` (standard or release)")),
    };
    let shape = match str_at(Some(root), &["shape"]) {
        None => None,
        Some("app-template") => Some(Shape::AppTemplate),
        Some("cnpg-cluster") => Some(Shape::CnpgCluster),
        Some(other) => return Err(format!("chart `{chart}`: unknown shape `{other}`")),
    };
    let mut volumes = Vec::new();
    for v in root.get("volumes").map_or(&[][..], Node::as_seq) {
        let at = path_of(str_at(Some(v), &["at"]).ok_or_else(|| format!("chart `{chart}`: a volume needs `at`"))?);
        let text = |k: &str| str_at(Some(v), &[k]).map(str::to_string);
        if text("claim").is_none() && text("template").is_none() && text("existingClaim").is_none() {
            return Err(format!(
                "chart `{chart}`: volume `{}` needs `claim` or `statefulset` and `template`",
                at.join(".")
            ));
        }
        // `mode`: one {path, is, default}, or a list of them (each must hold).
        let mode_of = |m: &Node| Mode {
            path: path_of(str_at(Some(m), &["path"]).unwrap_or("")),
            is: strings(m.get("is")),
            is_not: strings(m.get("isNot")),
            default: str_at(Some(m), &["default"]).unwrap_or("").to_string(),
        };
        let modes: Vec<Mode> = match v.get("mode") {
            Some(m) if m.is_map() => vec![mode_of(m)],
            Some(m) => m.as_seq().iter().map(mode_of).collect(),
            None => Vec::new(),
        };
        volumes.push(Volume {
            at,
            each: v.get("each").and_then(Node::as_bool) == Some(true),
            presence: v.get("presence").and_then(Node::as_bool) == Some(true),
            enabled_key: text("enabledKey").unwrap_or_else(|| "enabled".into()),
            enabled_default: v.get("enabled").and_then(Node::as_bool).unwrap_or(true),
            modes,
            if_set: paths(v.get("if")),
            unless_set: paths(v.get("unless")),
            name_override: text("nameOverride").map(|p| path_of(&p)),
            type_key: text("typeKey"),
            types: strings(v.get("types")),
            type_default: text("typeDefault"),
            claim: text("claim"),
            statefulset: text("statefulset"),
            template: text("template"),
            size: text("size"),
            default_size: text("defaultSize"),
            storage_class: text("storageClass"),
            existing_claim: text("existingClaim"),
            labels: paths(v.get("labels")),
            annotations: paths(v.get("annotations")),
            root_labels: paths(v.get("rootLabels")),
            offsite_thanos: str_at(Some(v), &["offsite", "thanos"]).map(path_of),
            rebuilt: text("rebuilt"),
        });
    }
    let schedules = root
        .get("schedules")
        .map_or(&[][..], Node::as_seq)
        .iter()
        .map(|s| Schedules {
            at: path_of(str_at(Some(s), &["at"]).unwrap_or("schedules")),
            name: str_at(Some(s), &["name"]).unwrap_or("{fullname}-{key}").to_string(),
            snapshots: str_at(Some(s), &["snapshots"]).map(path_of),
            node_agent: s.get("nodeAgent").map(|_| paths(s.get("nodeAgent"))),
        })
        .collect();
    let storage_classes = root
        .get("storageClasses")
        .map_or(&[][..], Node::as_seq)
        .iter()
        .map(|c| {
            let text = |k: &str| str_at(Some(c), &[k]).map(str::to_string);
            StorageClasses {
                at: path_of(str_at(Some(c), &["at"]).unwrap_or("storageClasses")),
                provisioner: text("provisioner").unwrap_or_default(),
                name: text("name").unwrap_or_else(|| "{values:name}".into()),
                server: text("server"),
                share: text("share"),
                enabled_key: text("enabledKey").as_deref().map(path_of),
                enabled_default: c.get("enabledDefault").and_then(Node::as_bool).unwrap_or(true),
                always: c.get("always").and_then(Node::as_bool) == Some(true),
                if_absent: c.get("ifAbsent").cloned(),
                default: text("default"),
                parameters: c
                    .get("parameters")
                    .map_or(&[][..], Node::as_map)
                    .iter()
                    .filter_map(|(k, v)| {
                        let key = k.as_str()?.to_string();
                        match v.as_str() {
                            Some(t) => Some((key, t.to_string(), None)),
                            None => Some((
                                key,
                                str_at(Some(v), &["value"])?.to_string(),
                                str_at(Some(v), &["if"]).map(path_of),
                            )),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let mut objects = Vec::new();
    for o in root.get("objects").map_or(&[][..], Node::as_seq) {
        let text = |k: &str| str_at(Some(o), &[k]).map(str::to_string);
        let (Some(at), Some(api_version), Some(kind)) = (text("at"), text("apiVersion"), text("kind")) else {
            return Err(format!("chart `{chart}`: an object needs `at`, `apiVersion` and `kind`"));
        };
        objects.push(Object {
            at: path_of(&at),
            enabled_default: o.get("enabled").and_then(Node::as_bool).unwrap_or(true),
            api_version,
            kind,
            name: text("name").unwrap_or_else(|| "{fullname}".into()),
            name_keys: paths(o.get("nameKeys")),
            spec: path_of(&text("spec").unwrap_or_else(|| "spec".into())),
            defaults: o.get("defaults").filter(|d| d.is_map()).cloned(),
            unless_set: text("unless").map(|p| path_of(&p)),
        });
    }
    let versions = match str_at(Some(root), &["versions"]) {
        None => None,
        Some(text) => Some((
            semver::VersionReq::parse(text)
                .map_err(|e| format!("chart `{chart}`: `versions: {text}` is not a version range: {e}"))?,
            text.to_string(),
        )),
    };
    let dependencies = dependencies_of(&chart, root)?;
    Ok(Entry {
        chart,
        names,
        repositories: strings(root.get("repositories")),
        versions,
        fullname,
        fullname_max: root.get("fullnameMax").and_then(Node::as_str).and_then(|s| s.parse().ok()).unwrap_or(63),
        stateless: root.get("stateless").and_then(Node::as_bool) == Some(true),
        shape,
        volumes,
        schedules,
        storage_classes,
        objects,
        manifests: strings(root.get("manifests")),
        dependencies,
        described: root
            .get("described")
            .map_or(&[][..], Node::as_map)
            .iter()
            .filter_map(|(k, v)| Some((path_of(k.as_str()?), strings(Some(v)))))
            .collect(),
    })
}

/// Why `entry` cannot read a release of these values: they choose what the
/// chart makes by a value it does not describe (`deploymentMode:
/// Monolithic`); `None` when it can.
pub fn undescribed(entry: &Entry, values: &Node) -> Option<String> {
    entry.described.iter().find_map(|(path, known)| {
        let actual = get_path(values, path).and_then(Node::as_str)?;
        if known.iter().any(|k| k == actual) {
            return None;
        }
        let known: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
        Some(format!(
            "`{}: {actual}`, which lifeboat's chart catalogue does not describe for it (it reads {})",
            path.join("."),
            known.join(", ")
        ))
    })
}

fn dependencies_of(chart: &str, root: &Node) -> Result<Vec<Dependency>, String> {
    let mut out = Vec::new();
    for d in root.get("dependencies").map_or(&[][..], Node::as_seq) {
        let text = |k: &str| str_at(Some(d), &[k]).map(str::to_string);
        let Some(dep_chart) = text("chart") else {
            return Err(format!("chart `{chart}`: a dependency needs `chart`"));
        };
        out.push(Dependency {
            key: text("key").unwrap_or_else(|| dep_chart.clone()),
            repository: text("repository").unwrap_or_default(),
            version: text("version").unwrap_or_default(),
            condition: text("condition").map(|c| path_of(&c)),
            enabled_default: d.get("enabled").and_then(Node::as_bool).unwrap_or(true),
            values: d.get("values").filter(|v| v.is_map()).cloned(),
            rebuilt: text("rebuilt"),
            chart: dep_chart,
        });
    }
    Ok(out)
}

fn strings(node: Option<&Node>) -> Vec<String> {
    node.map_or(&[][..], Node::as_seq).iter().filter_map(Node::as_str).map(str::to_string).collect()
}

/// One values path or a list of them.
fn paths(node: Option<&Node>) -> Vec<Vec<String>> {
    match node.and_then(Node::as_str) {
        Some(one) => vec![path_of(one)],
        None => strings(node).iter().map(|p| path_of(p)).collect(),
    }
}

/// A bjw-s common persistence `type` that is a claim: `persistentVolumeClaim`
/// (common 2.x and later) or `pvc` (app-template 1.x).
pub fn is_claim_type(kind: &str) -> bool {
    kind == "persistentVolumeClaim" || kind == "pvc"
}

/// What Helm's `if` makes of a value: false, null, zero, an empty string
/// and an empty list or map are false, anything else true (a quoted
/// `"false"` is a non-empty string, so true).
fn helm_truthy(node: &Node) -> bool {
    match &node.value {
        // `as_str` already reads a plain null (`~`, `null`, empty) as none.
        crate::yaml::Value::Scalar { text, plain: true } => {
            node.as_str().is_some() && node.as_bool() != Some(false) && !is_zero(text)
        }
        crate::yaml::Value::Scalar { text, plain: false } => !text.is_empty(),
        crate::yaml::Value::Seq(items) => !items.is_empty(),
        crate::yaml::Value::Map(entries) => !entries.is_empty(),
    }
}

fn is_zero(text: &str) -> bool {
    text.parse::<f64>().is_ok_and(|n| n == 0.0)
}

fn path_of(text: &str) -> Vec<String> {
    text.split('.').filter(|p| !p.is_empty()).map(str::to_string).collect()
}

/// What the catalogue says about a chart.
#[derive(Debug, Clone)]
pub enum Lookup<'a> {
    /// The entry that describes it.
    Entry(&'a Entry),
    /// Entries describe the chart, none this version of it (the ranges
    /// they cover: `>=6.0.0`, `<3.0.0`).
    OtherVersions(String),
    /// No entry names the chart.
    Unknown,
}

impl<'a> Lookup<'a> {
    pub fn entry(&self) -> Option<&'a Entry> {
        match self {
            Lookup::Entry(e) => Some(*e),
            _ => None,
        }
    }
}

/// The entry for a chart name (and repository URL, when an entry needs
/// one) at the version a release asks for (`6.x`, `~2.12`, `v1.2.3`); a
/// release whose version lifeboat cannot read (none, `*`, a variable) is
/// taken to be of the newest, which every entry without an upper bound
/// describes.
pub fn find<'a>(extra: &'a [Entry], chart: &str, repository: &str, version: &str) -> Lookup<'a> {
    let chart = chart.to_ascii_lowercase();
    let repo = repository.to_ascii_lowercase();
    let named = |e: &&Entry| {
        e.names.iter().any(|n| n.eq_ignore_ascii_case(&chart))
            && (e.repositories.is_empty() || e.repositories.iter().any(|r| repo.contains(&r.to_ascii_lowercase())))
    };
    let newest = semver::Version::new(u64::from(u32::MAX), 0, 0);
    let wanted = lowest_version(version).unwrap_or(newest);
    let in_range = |e: &&Entry| e.versions.as_ref().is_none_or(|(range, _)| range.matches(&wanted));
    let all = || extra.iter().chain(CATALOGUE.iter());
    if let Some(e) = all().filter(named).find(in_range) {
        return Lookup::Entry(e);
    }
    let ranges: Vec<&str> = all().filter(named).filter_map(|e| e.versions.as_ref().map(|(_, t)| t.as_str())).collect();
    if ranges.is_empty() {
        Lookup::Unknown
    } else {
        Lookup::OtherVersions(ranges.join("` or `"))
    }
}

/// The lowest version a release's version or range admits (`6.x` → 6.0.0,
/// `>=5.2 <6` → 5.2.0, `v2.12.2` → 2.12.2); `None` when it says none.
pub fn lowest_version(text: &str) -> Option<semver::Version> {
    let text = text.trim();
    if text.contains("${") || text.contains("{{") || text.starts_with('<') {
        return None;
    }
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let rest = text.get(start..)?;
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'x' || c == 'X' || c == '*'))
        .unwrap_or(rest.len());
    let mut parts = rest.get(..end)?.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    Some(semver::Version::new(parts.next()?, parts.next().unwrap_or(0), parts.next().unwrap_or(0)))
}

pub fn builtin() -> &'static [Entry] {
    &CATALOGUE
}

/// What a release is: its name, namespace, the chart's name as matched.
pub struct Release<'a> {
    pub name: &'a str,
    pub namespace: Option<&'a str>,
    pub chart: &'a str,
}

/// `{fullname}` of a release.
pub fn fullname(entry: &Entry, release: &Release, values: &Node) -> String {
    if let Some(over) = values.get("fullnameOverride").and_then(Node::as_nonempty_str) {
        return trunc(over, entry.fullname_max);
    }
    if let Some(over) = values.path(&["global", "fullnameOverride"]).and_then(Node::as_nonempty_str) {
        return trunc(over, entry.fullname_max);
    }
    if entry.fullname == Fullname::Release {
        return trunc(release.name, entry.fullname_max);
    }
    let name = values.get("nameOverride").and_then(Node::as_nonempty_str).unwrap_or(release.chart);
    if release.name.contains(name) {
        trunc(release.name, entry.fullname_max)
    } else {
        trunc(&format!("{}-{name}", release.name), entry.fullname_max)
    }
}

fn trunc(s: &str, max: usize) -> String {
    let cut: String = s.chars().take(max).collect();
    cut.trim_end_matches('-').to_string()
}

/// `{release}`, `{fullname}`, `{namespace}`, `{key}`, `{chart}` and
/// `{values:key|default}` (a key of the entry's node).
fn fill(template: &str, ctx: &Ctx, key: Option<&str>, node: Option<&Node>) -> String {
    fill_in(template, ctx, key, node, None)
}

/// `fill`, with `{root:a.b}` read from the release's whole values.
fn fill_in(template: &str, ctx: &Ctx, key: Option<&str>, node: Option<&Node>, root: Option<&Node>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(rest.get(..start).unwrap_or(""));
        let Some(len) = rest.get(start..).and_then(|r| r.find('}')) else { break };
        let name = rest.get(start + 1..start + len).unwrap_or("");
        let value = match name {
            "release" => ctx.release.to_string(),
            "fullname" => ctx.fullname.clone(),
            "namespace" => ctx.namespace.unwrap_or("default").to_string(),
            "chart" => ctx.chart.to_string(),
            "key" => key.unwrap_or("").to_string(),
            other => {
                let (from, spec) = match (other.strip_prefix("values:"), other.strip_prefix("root:")) {
                    (Some(spec), _) => (node, spec),
                    (None, Some(spec)) => (root, spec),
                    (None, None) => (None, ""),
                };
                if spec.is_empty() {
                    format!("{{{other}}}")
                } else {
                    let (k, default) = spec.split_once('|').unwrap_or((spec, ""));
                    from.and_then(|n| get_path(n, &path_of(k)))
                        .and_then(Node::as_nonempty_str)
                        .unwrap_or(default)
                        .to_string()
                }
            }
        };
        out.push_str(&value);
        rest = rest.get(start + len + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

struct Ctx<'a> {
    release: &'a str,
    fullname: String,
    namespace: Option<&'a str>,
    chart: &'a str,
}

/// An object the chart makes, and the values node that asks for it.
pub struct Made {
    pub root: Node,
    /// The values key it comes from (`server.dataStorage`).
    pub from: String,
    /// Written as the values give it (a manifest chart's object), rather
    /// than made by the chart for what it runs: a claim the chart makes
    /// (`volumes`) is mounted by the chart's own workload; one it writes
    /// is mounted only if something else mounts it.
    pub written: bool,
}

pub(super) fn s(text: &str, span: Span) -> Node {
    Node::string(text, span)
}

pub(super) fn map(entries: Vec<(&str, Node)>, span: Span) -> Node {
    Node::mapping(entries.into_iter().map(|(k, v)| (s(k, span), v)).collect(), span)
}

pub(super) fn object(api: &str, kind: &str, name: &str, name_span: Span, labels: Option<Node>, spec: Node) -> Node {
    object_with(api, kind, metadata(name, name_span, labels, None), spec)
}

/// `metadata` of a made object: its name, labels and annotations.
pub(super) fn metadata(name: &str, name_span: Span, labels: Option<Node>, annotations: Option<Node>) -> Node {
    let mut metadata = vec![("name", s(name, name_span))];
    if let Some(l) = labels {
        metadata.push(("labels", l));
    }
    if let Some(a) = annotations {
        metadata.push(("annotations", a));
    }
    map(metadata, name_span)
}

/// The maps at `paths` under `node` merged (a later one's keys win), with
/// `base` first; `None` when there is nothing.
pub(super) fn merged_maps(base: Vec<(Node, Node)>, node: &Node, paths: &[Vec<String>], span: Span) -> Option<Node> {
    let mut pairs = base;
    for p in paths {
        for (k, v) in get_path(node, p).map_or(&[][..], Node::as_map) {
            match pairs.iter_mut().find(|(have, _)| have.as_str().is_some() && have.as_str() == k.as_str()) {
                Some(slot) => slot.1 = v.clone(),
                None => pairs.push((k.clone(), v.clone())),
            }
        }
    }
    (!pairs.is_empty()).then(|| Node::mapping(pairs, span))
}

pub(super) fn object_with(api: &str, kind: &str, metadata: Node, spec: Node) -> Node {
    let span = spec.span;
    map(vec![("apiVersion", s(api, span)), ("kind", s(kind, span)), ("metadata", metadata), ("spec", spec)], span)
}

fn get_path<'a>(node: &'a Node, path: &[String]) -> Option<&'a Node> {
    let mut cur = node;
    for p in path {
        cur = cur.get(p)?;
    }
    Some(cur)
}

/// The key node of `path` in `values` (where an item is declared).
fn key_span(values: &Node, path: &[String]) -> Option<Span> {
    let (last, parent) = path.split_last()?;
    let parent = get_path(values, parent)?;
    parent.key_node(last).map(|k| k.span)
}

/// Everything the entry makes from `values` for `release`.
pub fn make(entry: &Entry, release: &Release, values: &Node, fallback: Span) -> Vec<Made> {
    make_at(entry, release, values, fallback, 0)
}

fn make_at(entry: &Entry, release: &Release, values: &Node, fallback: Span, depth: usize) -> Vec<Made> {
    let ctx = Ctx {
        release: release.name,
        fullname: fullname(entry, release, values),
        namespace: release.namespace,
        chart: release.chart,
    };
    let labels = |span: Span| map(vec![("app.kubernetes.io/instance", s(release.name, span))], span);
    let mut out = Vec::new();
    // StatefulSets several volumes share (vault's data and audit) are one.
    let mut sets: Vec<(String, Span, Vec<Node>, String)> = Vec::new();
    for v in &entry.volumes {
        let nodes: Vec<(Option<String>, &Node, Span)> = match get_path(values, &v.at) {
            Some(node) if v.each => node
                .as_map()
                .iter()
                .filter_map(|(k, n)| k.as_str().map(|key| (Some(key.to_string()), n, k.span)))
                .collect(),
            Some(node) => vec![(None, node, key_span(values, &v.at).unwrap_or(node.span))],
            None if !v.presence && v.enabled_default && (v.claim.is_some() || v.template.is_some()) => {
                // Not in the values: the chart's default makes it.
                vec![(None, &EMPTY, fallback)]
            }
            None => Vec::new(),
        };
        let truthy = |p: &Vec<String>| get_path(values, p).is_some_and(helm_truthy);
        if !v.if_set.iter().all(truthy) || v.unless_set.iter().any(truthy) {
            continue;
        }
        // A list value (harbor's `jobservice.jobLoggers: [stdout]`) holds
        // when one of its items is one of `is` (and none is one of `isNot`).
        let holds = |mode: &Mode| {
            let node = get_path(values, &mode.path);
            let actual: Vec<&str> = match node.map(|n| &n.value) {
                Some(crate::yaml::Value::Seq(items)) => items.iter().filter_map(Node::as_str).collect(),
                _ => vec![node.and_then(Node::as_str).unwrap_or(&mode.default)],
            };
            (mode.is.is_empty() || actual.iter().any(|a| mode.is.iter().any(|m| m == a)))
                && !actual.iter().any(|a| mode.is_not.iter().any(|m| m == a))
        };
        if !v.modes.iter().all(holds) {
            continue;
        }
        for (key, node, span) in nodes {
            if !v.presence {
                let on = node.get(&v.enabled_key).and_then(Node::as_bool).unwrap_or(v.enabled_default);
                if !on {
                    continue;
                }
            }
            if let Some(type_key) = &v.type_key {
                let ty = node.get(type_key).and_then(Node::as_str).or(v.type_default.as_deref()).unwrap_or("");
                if !v.types.iter().any(|t| t == ty) {
                    continue;
                }
            }
            if v.existing_claim.as_ref().and_then(|k| node.get(k)).and_then(Node::as_nonempty_str).is_some() {
                continue; // the chart mounts a claim it does not make
            }
            let at = v.at.join(".");
            let overridden = v
                .name_override
                .as_ref()
                .and_then(|p| get_path(values, p))
                .and_then(Node::as_nonempty_str)
                .map(str::to_string);
            let sub = |path: &Option<String>| -> Option<Node> {
                let p = path_of(path.as_deref()?);
                get_path(node, &p).cloned()
            };
            let mut resources = Vec::new();
            if let Some(size) = sub(&v.size).or_else(|| v.default_size.as_deref().map(|d| s(d, span))) {
                resources.push(("storage", size));
            }
            let mut spec = vec![("resources", map(vec![("requests", map(resources, span))], span))];
            if let Some(class) = sub(&v.storage_class) {
                spec.push(("storageClassName", class));
            }
            let spec = map(spec, span);
            let common: Vec<(Node, Node)> =
                merged_maps(Vec::new(), values, &v.root_labels, span).map(|n| n.as_map().to_vec()).unwrap_or_default();
            let claim_labels = |span: Span| {
                let instance = (s("app.kubernetes.io/instance", span), s(release.name, span));
                let mut base = common.clone();
                base.push(instance);
                merged_maps(base, node, &v.labels, span)
            };
            match (&v.claim, &v.statefulset, &v.template) {
                (Some(claim), _, _) => {
                    let name = overridden.unwrap_or_else(|| fill(claim, &ctx, key.as_deref(), Some(node)));
                    let annotations = super::operators::with_annotation(
                        merged_maps(Vec::new(), node, &v.annotations, span),
                        super::resource::REBUILT_ANNOTATION,
                        v.rebuilt.clone(),
                        span,
                    );
                    let meta = metadata(&name, span, claim_labels(span), annotations);
                    out.push(Made {
                        root: object_with("v1", "PersistentVolumeClaim", meta, spec),
                        from: at,
                        written: false,
                    });
                }
                (None, Some(sts), Some(template)) => {
                    let sts = overridden.unwrap_or_else(|| fill(sts, &ctx, key.as_deref(), Some(node)));
                    let template = fill(template, &ctx, key.as_deref(), Some(node));
                    let offsite = v
                        .offsite_thanos
                        .as_ref()
                        .and_then(|p| get_path(values, p))
                        .and_then(super::resource::thanos_upload);
                    let meta = metadata(
                        &template,
                        span,
                        merged_maps(common.clone(), node, &v.labels, span),
                        super::operators::with_annotation(
                            super::operators::with_annotation(
                                merged_maps(Vec::new(), node, &v.annotations, span),
                                super::resource::OFFSITE_COPY_ANNOTATION,
                                offsite,
                                span,
                            ),
                            super::resource::REBUILT_ANNOTATION,
                            v.rebuilt.clone(),
                            span,
                        ),
                    );
                    let vct = map(vec![("metadata", meta), ("spec", spec)], span);
                    match sets.iter_mut().find(|(n, ..)| *n == sts) {
                        Some(set) => set.2.push(vct),
                        None => sets.push((sts, span, vec![vct], at)),
                    }
                }
                _ => {}
            }
        }
    }
    for (name, span, templates, from) in sets {
        let spec = map(vec![("volumeClaimTemplates", Node { value: crate::yaml::Value::Seq(templates), span })], span);
        out.push(Made {
            root: object("apps/v1", "StatefulSet", &name, span, Some(labels(span)), spec),
            from,
            written: false,
        });
    }
    for sched in &entry.schedules {
        let Some(node) = get_path(values, &sched.at) else { continue };
        for (k, entry_node) in node.as_map() {
            let Some(key) = k.as_str() else { continue };
            if entry_node.get("disabled").and_then(Node::as_bool) == Some(true) || !entry_node.is_map() {
                continue;
            }
            let mut spec = Vec::new();
            for field in ["schedule", "template", "paused", "useOwnerReferencesInBackup"] {
                if let Some(n) = entry_node.get(field) {
                    spec.push((field, n.clone()));
                }
            }
            let name = fill(&sched.name, &ctx, Some(key), Some(entry_node));
            let meta_annotations = schedule_without_data(sched, values, entry_node).map(|why| {
                Node::mapping(vec![(s(super::resource::NO_VOLUME_DATA_ANNOTATION, k.span), s(&why, k.span))], k.span)
            });
            let mut root = object("velero.io/v1", "Schedule", &name, k.span, None, map(spec, entry_node.span));
            if let (Some(a), Some(meta)) = (meta_annotations, root.entry_map("metadata")) {
                meta.set("annotations", a);
            }
            out.push(Made { written: false, root, from: format!("{}.{key}", sched.at.join(".")) });
        }
    }
    for class in &entry.storage_classes {
        // What the release does not write stands at the release (the
        // chart's values have no place in the repository).
        let (node, written) = match (get_path(values, &class.at), &class.if_absent) {
            (Some(node), _) => (node, true),
            (None, Some(chart)) => (chart, false),
            (None, None) if class.always || (class.enabled_default && class.enabled_key.is_some()) => (&*EMPTY, false),
            (None, None) => continue,
        };
        let items: Vec<&Node> = match &node.value {
            crate::yaml::Value::Seq(items) => items.iter().collect(),
            crate::yaml::Value::Map(_) => vec![node],
            crate::yaml::Value::Scalar { .. } => Vec::new(),
        };
        for item in items.into_iter().filter(|i| i.is_map()) {
            let on = class
                .enabled_key
                .as_ref()
                .and_then(|k| get_path(item, k))
                .and_then(Node::as_bool)
                .unwrap_or(class.enabled_default);
            let name = fill_in(&class.name, &ctx, None, Some(item), Some(values));
            if !on || name.is_empty() {
                continue;
            }
            let span = if written { item.span } else { fallback };
            let mut parameters = Vec::new();
            for (key, template) in [("server", &class.server), ("share", &class.share)] {
                let Some(template) = template else { continue };
                let value = fill_in(template, &ctx, None, Some(item), Some(values));
                if !value.is_empty() {
                    parameters.push((key, s(&value, span)));
                }
            }
            for (key, template, condition) in &class.parameters {
                if condition.as_ref().is_some_and(|p| get_path(values, p).and_then(Node::as_bool) != Some(true)) {
                    continue;
                }
                let value = fill_in(template, &ctx, None, Some(item), Some(values));
                if !value.is_empty() {
                    parameters.push((key.as_str(), s(&value, span)));
                }
            }
            let mut meta = vec![("name", s(&name, span))];
            if let Some(template) = &class.default {
                let is_default = fill_in(template, &ctx, None, Some(item), Some(values));
                meta.push(("annotations", map(vec![(DEFAULT_CLASS_ANNOTATION, s(&is_default, span))], span)));
            }
            let root = map(
                vec![
                    ("apiVersion", s("storage.k8s.io/v1", span)),
                    ("kind", s("StorageClass", span)),
                    ("metadata", map(meta, span)),
                    ("provisioner", s(&fill_in(&class.provisioner, &ctx, None, Some(item), Some(values)), span)),
                    ("parameters", map(parameters, span)),
                ],
                span,
            );
            out.push(Made { root, from: class.at.join("."), written: false });
        }
    }
    for o in &entry.objects {
        let node = get_path(values, &o.at);
        if !node.and_then(|n| n.get("enabled")).and_then(Node::as_bool).unwrap_or(o.enabled_default) {
            continue;
        }
        if o.unless_set.as_ref().is_some_and(|p| get_path(values, p).and_then(Node::as_bool) == Some(true)) {
            continue;
        }
        let span = key_span(values, &o.at).unwrap_or(fallback);
        let mut spec = o.defaults.clone().unwrap_or_else(|| Node::mapping(Vec::new(), span));
        // The chart's defaults stand where the release's values are written.
        spec.map_spans(&mut |_| span);
        if let Some(user) = node.and_then(|n| get_path(n, &o.spec)) {
            super::patch::strategic_merge(&mut spec, user, false);
        }
        let named = o.name_keys.iter().rev().find_map(|k| {
            node.and_then(|n| get_path(n, k)).and_then(Node::as_nonempty_str).filter(|t| !t.contains("{{"))
        });
        let name = named.map_or_else(|| fill_in(&o.name, &ctx, None, node, Some(values)), str::to_string);
        let meta = metadata(&name, span, Some(labels(span)), None);
        out.push(Made { root: object_with(&o.api_version, &o.kind, meta, spec), from: o.at.join("."), written: false });
    }
    for key in &entry.manifests {
        out.extend(manifests(values, key));
    }
    match entry.shape {
        Some(Shape::AppTemplate) => {
            out.extend(app_template_controllers(values, &ctx));
            out.extend(app_template_v1_statefulset(values, &ctx));
            out.extend(app_template_config_maps(values, &ctx));
        }
        Some(Shape::CnpgCluster) => out.extend(cnpg_cluster(values, &ctx, fallback)),
        None => {}
    }
    if depth < MAX_DEPENDENCY_DEPTH {
        for d in &entry.dependencies {
            out.extend(make_dependency(d, release, values, fallback, depth));
        }
    }
    out
}

/// The subcharts a release of `entry` installs (their conditions hold)
/// that the catalogue has no entry for: their contents are unknown, and
/// the release says so rather than passing them over.
pub fn unknown_dependencies(entry: &Entry, values: &Node) -> Vec<(String, String)> {
    entry
        .dependencies
        .iter()
        .filter(|d| dependency_on(d, values))
        .filter(|d| {
            matches!(find(&[], &d.chart, &d.repository, &d.version), Lookup::Unknown | Lookup::OtherVersions(_))
        })
        .map(|d| (d.chart.clone(), d.version.clone()))
        .collect()
}

fn dependency_on(d: &Dependency, values: &Node) -> bool {
    match &d.condition {
        Some(path) => get_path(values, path).and_then(Node::as_bool).unwrap_or(d.enabled_default),
        None => d.enabled_default,
    }
}

/// Subcharts of subcharts are followed this deep (the catalogue has no
/// cycle; a user's entry naming itself stops here).
const MAX_DEPENDENCY_DEPTH: usize = 3;

/// What a subchart makes: its entry read with the values under its key, as
/// a release of the parent's name (Helm names a subchart's objects after
/// the parent release: `<release>-postgresql`).
fn make_dependency(d: &Dependency, release: &Release, values: &Node, fallback: Span, depth: usize) -> Vec<Made> {
    let on = dependency_on(d, values);
    let Some(entry) = find(&[], &d.chart, &d.repository, &d.version).entry() else { return Vec::new() };
    if !on || entry.stateless || entry.shape.is_some() {
        return Vec::new();
    }
    let user = values.get(&d.key).filter(|v| v.is_map());
    let span = key_span(values, std::slice::from_ref(&d.key)).unwrap_or(fallback);
    // The parent's defaults for the subchart, under what the release sets.
    let merged;
    let sub_values = match (&d.values, user) {
        (Some(defaults), user) => {
            let mut base = defaults.clone();
            base.map_spans(&mut |_| span);
            if let Some(user) = user {
                super::patch::strategic_merge(&mut base, user, false);
            }
            merged = base;
            &merged
        }
        (None, Some(user)) => user,
        (None, None) => &EMPTY,
    };
    let sub = Release { name: release.name, namespace: release.namespace, chart: &d.chart };
    make_at(entry, &sub, sub_values, span, depth + 1)
        .into_iter()
        .map(|mut m| {
            m.from = format!("{}.{}", d.key, m.from);
            if let Some(reason) = &d.rebuilt {
                mark_rebuilt(&mut m.root, reason);
            }
            m
        })
        .collect()
}

/// Every claim `made` holds (a PVC, or a StatefulSet's claim templates)
/// marked as rebuilt by itself with `reason`, unless it says so already.
fn mark_rebuilt(made: &mut Node, reason: &str) {
    let claims: Vec<&mut Node> = match made.get("kind").and_then(Node::as_str) {
        Some("PersistentVolumeClaim") => vec![made],
        Some("StatefulSet") => match made.get_mut("spec").and_then(|s| s.get_mut("volumeClaimTemplates")) {
            Some(Node { value: crate::yaml::Value::Seq(templates), .. }) => templates.iter_mut().collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    for claim in claims {
        let span = claim.span;
        let Some(annotations) = claim.entry_map("metadata").and_then(|m| m.entry_map("annotations")) else { continue };
        if annotations.get(super::resource::REBUILT_ANNOTATION).is_none() {
            annotations.set(super::resource::REBUILT_ANNOTATION, Node::string(reason, span));
        }
    }
}

static EMPTY: LazyLock<Node> = LazyLock::new(|| Node::mapping(Vec::new(), Span::default()));

/// Raw manifests under `key`: a list of objects, or (bjw-s `rawResources`)
/// a map of named ones; text with Helm templates in it is not read. The key
/// `.` is the values themselves, as one manifest.
fn manifests(values: &Node, key: &str) -> Vec<Made> {
    if key == "." {
        // The values are the manifest (a chart whose template is
        // `toYaml .Values`), less Helm's `global`.
        let mut root = values.clone();
        root.remove("global");
        let is_manifest = root.get("apiVersion").and_then(Node::as_nonempty_str).is_some()
            && root.get("kind").and_then(Node::as_nonempty_str).is_some();
        return if is_manifest { vec![Made { root, from: "values".to_string(), written: true }] } else { Vec::new() };
    }
    let Some(node) = values.get(key) else { return Vec::new() };
    let items: Vec<&Node> = match &node.value {
        crate::yaml::Value::Seq(items) => items.iter().collect(),
        crate::yaml::Value::Map(entries) => entries.iter().map(|(_, v)| v).collect(),
        crate::yaml::Value::Scalar { .. } => Vec::new(),
    };
    let mut out = Vec::new();
    for item in items {
        let root = match item.as_str() {
            Some(text) if !text.contains("{{") => {
                let loaded = crate::yaml::load_str(item.span.file, text);
                let Some(doc) = loaded.documents.first() else { continue };
                let mut n = (*doc.root).clone();
                n.map_spans(&mut |_| item.span);
                n
            }
            Some(_) => continue,
            None => item.clone(),
        };
        if root.get("apiVersion").is_some() && root.get("kind").is_some() {
            out.push(Made { root, from: key.to_string(), written: true });
        }
    }
    out
}

/// bjw-s app-template's `controllers.<id>`, each the workload its `type`
/// makes, named as the common library names them (the release, with the
/// id as a suffix when there are several controllers), with its pod: its
/// containers and the persistence entries they mount (`globalMounts`, or
/// `advancedMounts.<controller>.<container>`).
/// - `cronjob`: a CronJob with `cronjob.schedule` and `cronjob.suspend`;
/// - `deployment` (the default) and `daemonset`: what a sidecar of theirs
///   does to the persistence they mount (a Litestream replica) is read as
///   for a workload written here;
/// - `statefulset`: with its `statefulset.volumeClaimTemplates` (each named
///   as written, so the claims are `<template>-<statefulset>-N`; the common
///   library's templates/classes/_statefulset.tpl).
fn app_template_controllers(values: &Node, ctx: &Ctx) -> Vec<Made> {
    let controllers = values.get("controllers").map_or(&[][..], Node::as_map);
    let count = controllers.iter().filter(|(_, c)| enabled(c)).count();
    let mut out = Vec::new();
    for (id_node, c) in controllers {
        let Some(id) = id_node.as_str() else { continue };
        if !enabled(c) {
            continue;
        }
        let span = id_node.span;
        let name = app_template_controller_name(c, id, count, ctx);
        let pod = || app_template_pod(values, c, id, span, ctx);
        match c.get("type").and_then(Node::as_str).unwrap_or("deployment") {
            "cronjob" => {
                let template = map(vec![("spec", pod())], span);
                let job = map(vec![("template", template)], span);
                let mut spec = vec![("jobTemplate", map(vec![("spec", job)], span))];
                if let Some(schedule) = c.path(&["cronjob", "schedule"]) {
                    spec.push(("schedule", schedule.clone()));
                }
                if let Some(suspend) = c.path(&["cronjob", "suspend"]) {
                    spec.push(("suspend", suspend.clone()));
                }
                out.push(Made {
                    written: false,
                    root: object("batch/v1", "CronJob", &name, span, None, map(spec, span)),
                    from: format!("controllers.{id}"),
                });
            }
            "statefulset" => {
                let templates = c.path(&["statefulset", "volumeClaimTemplates"]).map_or(&[][..], Node::as_seq);
                let from = if templates.is_empty() {
                    format!("controllers.{id}")
                } else {
                    format!("controllers.{id}.statefulset.volumeClaimTemplates")
                };
                out.extend(claim_template_statefulset(templates, &name, span, from, ctx, Some(pod())));
            }
            kind @ ("deployment" | "daemonset") => {
                let kind = if kind == "deployment" { "Deployment" } else { "DaemonSet" };
                let template = map(vec![("spec", pod())], span);
                let instance = map(vec![("app.kubernetes.io/instance", s(ctx.release, span))], span);
                out.push(Made {
                    written: false,
                    root: object("apps/v1", kind, &name, span, Some(instance), map(vec![("template", template)], span)),
                    from: format!("controllers.{id}"),
                });
            }
            _ => {}
        }
    }
    out
}

/// app-template 1.x (common 1.x): one controller, `controller.type:
/// statefulset`, and the claim templates at the top (`volumeClaimTemplates:
/// [{name, size, storageClass, accessMode, mountPath}]`), the StatefulSet
/// named as the release (templates/_statefulset.tpl).
fn app_template_v1_statefulset(values: &Node, ctx: &Ctx) -> Option<Made> {
    let statefulset = values.path(&["controller", "type"]).and_then(Node::as_str) == Some("statefulset")
        && values.path(&["controller", "enabled"]).and_then(Node::as_bool) != Some(false);
    if !statefulset {
        return None;
    }
    let templates = values.get("volumeClaimTemplates").map_or(&[][..], Node::as_seq);
    let span = values.key_node("volumeClaimTemplates").map_or(values.span, |k| k.span);
    claim_template_statefulset(templates, &ctx.fullname, span, "volumeClaimTemplates".into(), ctx, None)
}

/// A StatefulSet `name` with app-template's claim templates (`name`,
/// `size`, `storageClass`, `labels`, `annotations` each) and its pod, when
/// it is known; none without either.
fn claim_template_statefulset(
    templates: &[Node],
    name: &str,
    span: Span,
    from: String,
    ctx: &Ctx,
    pod: Option<Node>,
) -> Option<Made> {
    let vcts: Vec<Node> = templates
        .iter()
        .filter_map(|t| {
            let name = t.get("name")?;
            let span = name.span;
            let mut resources = Vec::new();
            if let Some(size) = t.get("size") {
                resources.push(("storage", size.clone()));
            }
            let mut spec = vec![("resources", map(vec![("requests", map(resources, span))], span))];
            if let Some(class) = t.get("storageClass").or_else(|| t.get("storageClassName")) {
                spec.push(("storageClassName", class.clone()));
            }
            let labels = t.get("labels").filter(|l| l.is_map()).cloned();
            let annotations = t.get("annotations").filter(|a| a.is_map()).cloned();
            let meta = metadata(name.as_str()?, span, labels, annotations);
            Some(map(vec![("metadata", meta), ("spec", map(spec, span))], span))
        })
        .collect();
    if vcts.is_empty() && pod.is_none() {
        return None;
    }
    let instance = map(vec![("app.kubernetes.io/instance", s(ctx.release, span))], span);
    let mut spec = Vec::new();
    if !vcts.is_empty() {
        spec.push(("volumeClaimTemplates", Node { value: crate::yaml::Value::Seq(vcts), span }));
    }
    if let Some(pod) = pod {
        spec.push(("template", map(vec![("spec", pod)], span)));
    }
    let spec = map(spec, span);
    Some(Made { written: false, root: object("apps/v1", "StatefulSet", name, span, Some(instance), spec), from })
}

/// The ConfigMaps of app-template's `configMaps.<id>` (with their
/// `data`), named as common names them: what the pods' `type: configMap`
/// persistence mounts (a sidecar's configuration, a job's script).
fn app_template_config_maps(values: &Node, ctx: &Ctx) -> Vec<Made> {
    let maps = values.get("configMaps").map_or(&[][..], Node::as_map);
    let count = maps.iter().filter(|(_, c)| enabled(c)).count();
    let mut out = Vec::new();
    for (id_node, c) in maps {
        let (Some(id), Some(data)) = (id_node.as_str(), c.get("data").filter(|d| d.is_map())) else { continue };
        if !enabled(c) {
            continue;
        }
        let name = app_template_controller_name(c, id, count, ctx);
        let meta = metadata(&name, id_node.span, None, None);
        let span = id_node.span;
        let root = map(
            vec![
                ("apiVersion", s("v1", span)),
                ("kind", s("ConfigMap", span)),
                ("metadata", meta),
                ("data", data.clone()),
            ],
            span,
        );
        out.push(Made { written: false, root, from: format!("configMaps.{id}") });
    }
    out
}

/// The ConfigMap a `type: configMap` persistence entry mounts: its `name`,
/// or the chart's own `configMaps.<identifier>`.
/// A `name` that is the chart's own map under another version's naming
/// (`<release>-<id>` where common 4 names a sole map `<release>`) is that
/// map.
fn app_template_config_map_name(values: &Node, entry: &Node, ctx: &Ctx) -> Option<String> {
    let maps = values.get("configMaps").map_or(&[][..], Node::as_map);
    let count = maps.iter().filter(|(_, c)| enabled(c)).count();
    let made = |id: &str| {
        let (_, c) = maps.iter().find(|(k, c)| k.as_str() == Some(id) && enabled(c))?;
        Some(app_template_controller_name(c, id, count, ctx))
    };
    if let Some(name) = entry.get("name").and_then(Node::as_nonempty_str) {
        let name = name.replace("{{ .Release.Name }}", ctx.release);
        let own = maps
            .iter()
            .filter_map(|(k, _)| k.as_str())
            .find(|id| name == format!("{}-{id}", ctx.fullname) || (count == 1 && name == ctx.fullname));
        return Some(own.and_then(made).unwrap_or(name));
    }
    made(entry.get("identifier").and_then(Node::as_nonempty_str)?)
}

fn enabled(n: &Node) -> bool {
    n.get("enabled").and_then(Node::as_bool) != Some(false)
}

/// The name common gives controller `id`: its `forceRename`, else the
/// release's fullname with the id as a suffix when there are several.
fn app_template_controller_name(c: &Node, id: &str, count: usize, ctx: &Ctx) -> String {
    c.get("forceRename")
        .and_then(Node::as_nonempty_str)
        .map(|n| n.replace("{{ .Release.Name }}", ctx.release))
        .unwrap_or_else(|| controller_name(&ctx.fullname, id, count))
}

/// The pod spec of app-template controller `id`: its init containers and
/// containers (image, command, args) with the persistence entries each
/// mounts (`advancedMounts.<controller>.<container>`, else `globalMounts`,
/// else everywhere at `/<entry>`), and a `persistentVolumeClaim` volume
/// for each claim entry (the chart's claim, named as common names it, or
/// its `existingClaim`), read-only when every mount of it is.
fn app_template_pod(values: &Node, c: &Node, id: &str, span: Span, ctx: &Ctx) -> Node {
    let persistence = values.get("persistence").map_or(&[][..], Node::as_map);
    let pvc_entries: Vec<&str> = persistence
        .iter()
        .filter(|(_, p)| enabled(p))
        .filter(|(_, p)| is_claim_type(p.get("type").and_then(Node::as_str).unwrap_or("persistentVolumeClaim")))
        .filter(|(_, p)| p.get("existingClaim").is_none())
        .filter_map(|(k, _)| k.as_str())
        .collect();
    let mut volumes: Vec<Node> = Vec::new();
    let mut pod = Vec::new();
    for list in ["initContainers", "containers"] {
        let mut containers = Vec::new();
        for (cid_node, container) in c.get(list).map_or(&[][..], Node::as_map) {
            let Some(cid) = cid_node.as_str() else { continue };
            let repo = str_at(Some(container), &["image", "repository"]).unwrap_or("");
            let tag = str_at(Some(container), &["image", "tag"]).unwrap_or("");
            let image_span = container.path(&["image", "repository"]).map_or(cid_node.span, |n| n.span);
            let image = if tag.is_empty() { repo.to_string() } else { format!("{repo}:{tag}") };
            let mut fields = vec![("name", s(cid, cid_node.span)), ("image", s(&image, image_span))];
            for key in ["command", "args", "restartPolicy"] {
                if let Some(n) = container.get(key) {
                    fields.push((key, n.clone()));
                }
            }
            let mut mounts = Vec::new();
            for (pid_node, p) in persistence {
                let Some(pid) = pid_node.as_str() else { continue };
                if !enabled(p) {
                    continue;
                }
                let advanced = p.path(&["advancedMounts", id, cid]).map(Node::as_seq);
                let global = p.get("globalMounts").map(Node::as_seq);
                // No mounts written: the common library mounts it everywhere at `/<id>`.
                let list: Vec<&Node> = match (advanced, global) {
                    (Some(a), _) => a.iter().collect(),
                    (None, Some(g)) => g.iter().collect(),
                    (None, None) if p.get("advancedMounts").is_none() => vec![&*EMPTY],
                    (None, None) => Vec::new(),
                };
                if list.is_empty() {
                    continue;
                }
                let read_only = list.iter().all(|m| m.get("readOnly").and_then(Node::as_bool) == Some(true));
                for m in &list {
                    let path = m.get("path").cloned().unwrap_or_else(|| s(&format!("/{pid}"), pid_node.span));
                    let mut mount = vec![("name", s(pid, pid_node.span)), ("mountPath", path)];
                    if let Some(ro) = m.get("readOnly") {
                        mount.push(("readOnly", ro.clone()));
                    }
                    mounts.push(map(mount, pid_node.span));
                }
                let kind = p.get("type").and_then(Node::as_str).unwrap_or("persistentVolumeClaim");
                if volumes.iter().any(|v| v.get("name").and_then(Node::as_str) == Some(pid)) {
                    continue;
                }
                // A ConfigMap entry: what a container reads its scripts
                // and configuration from.
                if kind == "configMap" {
                    if let Some(cm) = app_template_config_map_name(values, p, ctx) {
                        let source = map(vec![("name", s(&cm, pid_node.span))], pid_node.span);
                        volumes.push(map(vec![("name", s(pid, pid_node.span)), ("configMap", source)], pid_node.span));
                    }
                    continue;
                }
                if !is_claim_type(kind) {
                    continue;
                }
                let claim = match p.get("existingClaim") {
                    Some(existing) => existing.clone(),
                    None => {
                        let n = if pvc_entries.len() > 1 {
                            format!("{}-{pid}", ctx.fullname)
                        } else {
                            ctx.fullname.clone()
                        };
                        s(&n, pid_node.span)
                    }
                };
                let mut source = vec![("claimName", claim)];
                if read_only {
                    source.push(("readOnly", s("true", pid_node.span)));
                }
                volumes.push(map(
                    vec![("name", s(pid, pid_node.span)), ("persistentVolumeClaim", map(source, pid_node.span))],
                    pid_node.span,
                ));
            }
            // A `statefulset` controller's claim templates, mounted as its
            // persistence is (`advancedMounts.<controller>.<container>`, else
            // `globalMounts`); a StatefulSet mounts them by name, no volume.
            for t in c.path(&["statefulset", "volumeClaimTemplates"]).map_or(&[][..], Node::as_seq) {
                let Some(tname) = t.get("name").and_then(Node::as_str) else { continue };
                let list = t
                    .path(&["advancedMounts", id, cid])
                    .or_else(|| t.get("globalMounts"))
                    .map_or(&[][..], Node::as_seq);
                for m in list {
                    let path = m.get("path").cloned().unwrap_or_else(|| s(&format!("/{tname}"), t.span));
                    mounts.push(map(vec![("name", s(tname, t.span)), ("mountPath", path)], t.span));
                }
            }
            if !mounts.is_empty() {
                fields.push(("volumeMounts", Node { value: crate::yaml::Value::Seq(mounts), span: cid_node.span }));
            }
            containers.push(map(fields, cid_node.span));
        }
        if list == "containers" || !containers.is_empty() {
            pod.push((list, Node { value: crate::yaml::Value::Seq(containers), span }));
        }
    }
    pod.push(("volumes", Node { value: crate::yaml::Value::Seq(volumes), span }));
    map(pod, span)
}

/// The CloudNativePG `cluster` chart: a Cluster named by the standard
/// helper, archiving to `backups.*` when `backups.enabled`, with its
/// ScheduledBackups, and `bootstrap.recovery` in `mode: recovery`.
fn cnpg_cluster(values: &Node, ctx: &Ctx, fallback: Span) -> Vec<Made> {
    if str_at(Some(values), &["type"]).is_some_and(|t| t != "postgresql") {
        return Vec::new();
    }
    let span = values.key_node("cluster").map_or(fallback, |k| k.span);
    let cluster = values.get("cluster");
    let mut spec = Vec::new();
    if let Some(n) = cluster.and_then(|c| c.get("instances")) {
        spec.push(("instances", n.clone()));
    } else {
        spec.push(("instances", s("3", span)));
    }
    let size = cluster.and_then(|c| c.path(&["storage", "size"])).cloned().unwrap_or_else(|| s("8Gi", span));
    spec.push(("storage", map(vec![("size", size)], span)));
    let backups = values.get("backups");
    let enabled = backups.and_then(|b| b.get("enabled")).and_then(Node::as_bool) == Some(true);
    if enabled {
        let b = backups.unwrap_or(&EMPTY);
        let bspan = values.key_node("backups").map_or(span, |k| k.span);
        let destination = b.get("destinationPath").cloned().unwrap_or_else(|| {
            let bucket = str_at(Some(b), &["s3", "bucket"]).unwrap_or("");
            let path = str_at(Some(b), &["s3", "path"]).unwrap_or("/");
            s(&format!("s3://{bucket}{path}"), bspan)
        });
        let mut store = vec![("destinationPath", destination)];
        if let Some(endpoint) = b.get("endpointURL") {
            store.push(("endpointURL", endpoint.clone()));
        }
        store.push((
            "s3Credentials",
            map(
                vec![(
                    "accessKeyId",
                    map(
                        vec![
                            ("name", s(&format!("{}-backup-s3-creds", ctx.fullname), bspan)),
                            ("key", s("ACCESS_KEY_ID", bspan)),
                        ],
                        bspan,
                    ),
                )],
                bspan,
            ),
        ));
        let mut backup = vec![("barmanObjectStore", map(store, bspan))];
        let retention = b.get("retentionPolicy").cloned().unwrap_or_else(|| s("30d", bspan));
        backup.push(("retentionPolicy", retention));
        spec.push(("backup", map(backup, bspan)));
    }
    if str_at(Some(values), &["mode"]) == Some("recovery") {
        let rspan = values.key_node("mode").map_or(span, |k| k.span);
        spec.push(("bootstrap", map(vec![("recovery", map(vec![("source", s("origin", rspan))], rspan))], rspan)));
    }
    let mut out = vec![Made {
        written: false,
        root: object("postgresql.cnpg.io/v1", "Cluster", &ctx.fullname, span, None, map(spec, span)),
        from: "cluster".into(),
    }];
    if enabled {
        let b = backups.unwrap_or(&EMPTY);
        let listed = b.get("scheduledBackups");
        let defaults = [("daily-backup", "0 0 0 * * *")];
        let items: Vec<(String, Node, Node, Option<Node>)> = match listed {
            Some(list) => list
                .as_seq()
                .iter()
                .map(|sb| {
                    let name = str_at(Some(sb), &["name"]).unwrap_or("backup").to_string();
                    let schedule = sb.get("schedule").cloned().unwrap_or_else(|| s("0 0 0 * * *", sb.span));
                    (
                        name,
                        sb.get("name").cloned().unwrap_or_else(|| s("backup", sb.span)),
                        schedule,
                        sb.get("method").cloned(),
                    )
                })
                .collect(),
            None => defaults.iter().map(|(n, c)| (n.to_string(), s(n, span), s(c, span), None)).collect(),
        };
        for (name, name_node, schedule, method) in items {
            let full = format!("{}-{name}", ctx.fullname);
            let mut sb = vec![
                ("cluster", map(vec![("name", s(&ctx.fullname, name_node.span))], name_node.span)),
                ("schedule", schedule),
            ];
            if let Some(m) = method {
                sb.push(("method", m));
            }
            out.push(Made {
                written: false,
                root: object(
                    "postgresql.cnpg.io/v1",
                    "ScheduledBackup",
                    &full,
                    name_node.span,
                    None,
                    map(sb, name_node.span),
                ),
                from: "backups.scheduledBackups".into(),
            });
        }
    }
    out
}

/// bjw-s common's name for controller `id` of `count` enabled ones
/// (lib/common/_determineResourceNameFromValues.tpl): the release's
/// fullname, then `-<id>` when there are several, unless the fullname is
/// the identifier or already ends with `-<id>`.
fn controller_name(fullname: &str, id: &str, count: usize) -> String {
    if count > 1 && fullname != id && !fullname.ends_with(&format!("-{id}")) {
        format!("{fullname}-{id}")
    } else {
        fullname.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_entry_parses() {
        for (file, text) in FILES {
            if let Err(e) = parse_entry(text) {
                panic!("charts/{file}: {e}");
            }
        }
        assert_eq!(builtin().len(), FILES.len());
    }

    #[test]
    fn every_file_of_charts_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/charts");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| n.ends_with(".yaml"))
            .collect();
        on_disk.sort();
        let listed: Vec<String> = FILES.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(on_disk, listed);
    }

    #[test]
    fn a_release_version_is_read_as_its_lowest() {
        let v = |t: &str| lowest_version(t).map(|v| v.to_string());
        assert_eq!(v("2.12.2").as_deref(), Some("2.12.2"));
        assert_eq!(v("v6.16.0").as_deref(), Some("6.16.0"));
        assert_eq!(v("6.x").as_deref(), Some("6.0.0"));
        assert_eq!(v("~2.16").as_deref(), Some("2.16.0"));
        assert_eq!(v(">=5.2 <6").as_deref(), Some("5.2.0"));
        assert_eq!(v("6.0.0-rc.1").as_deref(), Some("6.0.0"));
        for none in ["", "*", "<6.0.0", "${LOKI_VERSION}", "HEAD", "main"] {
            assert_eq!(v(none), None, "{none}");
        }
        let loki = |version: &str| match find(&[], "loki", "", version) {
            Lookup::Entry(e) => e.chart.clone(),
            Lookup::OtherVersions(r) => format!("other: {r}"),
            Lookup::Unknown => "unknown".into(),
        };
        assert_eq!(loki("2.16.0"), "loki-2");
        assert_eq!(loki("6.x"), "loki");
        assert_eq!(loki(""), "loki", "no version is the newest");
        assert_eq!(loki("5.43.4"), "loki-5");
        assert_eq!(loki("4.0.0"), "other: <3.0.0` or `>=5.1.0, <6.0.0` or `>=6.0.0");
    }

    #[test]
    fn fullnames() {
        let entry = find(&[], "vault", "", "").entry().cloned().expect("vault is catalogued");
        let empty = Node::mapping(Vec::new(), Span::default());
        let r = |name| Release { name, namespace: None, chart: "vault" };
        assert_eq!(fullname(&entry, &r("vault"), &empty), "vault");
        assert_eq!(fullname(&entry, &r("secrets"), &empty), "secrets-vault");
        let kps = find(&[], "kube-prometheus-stack", "", "").entry().cloned().expect("catalogued");
        let r = Release { name: "kube-prometheus-stack", namespace: None, chart: "kube-prometheus-stack" };
        assert_eq!(fullname(&kps, &r, &empty), "kube-prometheus-stack");
        let long =
            Release { name: "monitoring-kube-prometheus-stack-x", namespace: None, chart: "kube-prometheus-stack" };
        assert_eq!(fullname(&kps, &long, &empty).len(), 26);
    }
}
