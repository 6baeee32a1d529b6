//! Backup operators that select PVCs rather than name one: K8up `Schedule`,
//! Velero `Schedule`, Longhorn `RecurringJob` (and StorageClass job
//! selectors), kopiur `SnapshotPolicy`.

use crate::model::Resource;
use crate::selector::LabelSelector;
use crate::yaml::Node;

use super::stateful::StatefulItem;

pub const LONGHORN_SOURCE_LABEL: &str = "recurring-job.longhorn.io/source";
pub const LONGHORN_JOB_PREFIX: &str = "recurring-job.longhorn.io/";
pub const LONGHORN_GROUP_PREFIX: &str = "recurring-job-group.longhorn.io/";
pub const K8UP_ANNOTATION: &str = "k8up.io/backup";

/// What selects PVCs for backup, and how.
#[derive(Debug, Clone)]
pub enum Selector<'m> {
    /// K8up: every PVC of its namespace, unless annotated `k8up.io/backup`
    /// with a value Go's `ParseBool` does not read as true.
    /// Its `labelSelectors` are ORed (none: every PVC); one that is not
    /// valid selects nothing.
    K8up { label_selectors: Vec<Option<LabelSelector>> },
    /// Velero: namespaces (empty = all) minus exclusions, and labels.
    /// `labelSelector` or the ORed `orLabelSelectors` (none: every PVC).
    /// `no_data`: why it copies no volume data (snapshots and file-system
    /// backup both off), so it protects nothing.
    Velero {
        included: Vec<&'m str>,
        excluded: Vec<&'m str>,
        labels: Vec<Option<LabelSelector>>,
        no_data: Option<String>,
    },
    /// Longhorn `backup` RecurringJob: its name and groups.
    Longhorn { groups: Vec<&'m str> },
    /// kopiur SnapshotPolicy: PVC names and label selectors.
    Kopiur { names: Vec<&'m Node>, labels: Vec<Option<LabelSelector>> },
}

#[derive(Debug, Clone)]
pub struct BackupSchedule<'m> {
    pub index: usize,
    pub res: &'m Resource,
    /// "K8up Schedule", "Velero Schedule", "Longhorn RecurringJob", "kopiur SnapshotPolicy".
    pub what: &'static str,
    pub schedule: Option<&'m Node>,
    pub retention: Option<String>,
    pub selector: Selector<'m>,
}

fn strs(node: Option<&Node>) -> Vec<&str> {
    node.map_or(&[][..], Node::as_seq).iter().filter_map(Node::as_nonempty_str).collect()
}

/// "daily 7, weekly 4": a retention block in words (`None` when empty).
pub fn describe_map(node: Option<&Node>) -> Option<String> {
    let pairs: Vec<String> =
        node?.as_map().iter().filter_map(|(k, v)| Some(format!("{} {}", k.as_str()?, v.as_str()?))).collect();
    (!pairs.is_empty()).then(|| pairs.join(", "))
}

pub fn read(index: usize, res: &Resource) -> Option<BackupSchedule<'_>> {
    let spec = res.spec();
    let at = |path: &[&str]| spec.and_then(|s| s.path(path));
    let schedule =
        |what, schedule, retention, selector| Some(BackupSchedule { index, res, what, schedule, retention, selector });
    match (res.group(), res.kind.as_str()) {
        ("k8up.io", "Schedule") => {
            let backup = at(&["backup"])?;
            let retention = describe_map(at(&["prune", "retention"]));
            let label_selectors =
                backup.get("labelSelectors").map_or(&[][..], Node::as_seq).iter().map(structured).collect();
            schedule("K8up Schedule", backup.get("schedule"), retention, Selector::K8up { label_selectors })
        }
        ("velero.io", "Schedule") => {
            let template = at(&["template"]);
            let t = |k: &str| template.and_then(|t| t.get(k));
            let snapshots = t("snapshotVolumes").and_then(Node::as_bool) != Some(false);
            let fs_backup = t("defaultVolumesToFsBackup").and_then(Node::as_bool) == Some(true);
            let no_data = match res.annotation(crate::model::NO_VOLUME_DATA_ANNOTATION).and_then(Node::as_str) {
                Some(why) => Some(why.to_string()),
                None if !snapshots && !fs_backup => Some(
                    "its template sets `snapshotVolumes: false` and not `defaultVolumesToFsBackup: true`: its backups hold Kubernetes objects, no volume data"
                        .to_string(),
                ),
                None => None,
            };
            let ttl = t("ttl").and_then(Node::as_str).map(|ttl| format!("ttl {ttl}"));
            schedule(
                "Velero Schedule",
                at(&["schedule"]),
                ttl,
                Selector::Velero {
                    included: strs(t("includedNamespaces")),
                    excluded: strs(t("excludedNamespaces")),
                    labels: t("labelSelector")
                        .into_iter()
                        .chain(t("orLabelSelectors").map_or(&[][..], Node::as_seq))
                        .map(structured)
                        .collect(),
                    no_data,
                },
            )
        }
        ("longhorn.io", "RecurringJob") => {
            let task = at(&["task"]).and_then(Node::as_str)?;
            if !task.starts_with("backup") {
                return None;
            }
            let retain = at(&["retain"]).and_then(Node::as_str).map(|r| format!("retain {r}"));
            schedule(
                "Longhorn RecurringJob",
                at(&["cron"]),
                retain,
                Selector::Longhorn { groups: strs(at(&["groups"])) },
            )
        }
        ("kopiur.home-operations.com", "SnapshotPolicy") => {
            let sources = at(&["sources"]).map_or(&[][..], Node::as_seq);
            let names = sources.iter().filter_map(|s| s.path(&["pvc", "name"])).collect();
            let labels = sources.iter().filter_map(|s| s.path(&["pvc", "selector"])).map(structured).collect();
            let retention = describe_map(at(&["retention"]));
            schedule("kopiur SnapshotPolicy", None, retention, Selector::Kopiur { names, labels })
        }
        _ => None,
    }
}

/// A structured selector (`None`: not valid, so it selects nothing).
fn structured(node: &Node) -> Option<LabelSelector> {
    LabelSelector::from_node(node).ok()
}

/// Whether `item` is selected by any of `selectors` (all, when there are none).
fn any_selects(selectors: &[Option<LabelSelector>], item: &StatefulItem) -> bool {
    selectors.is_empty() || selectors.iter().flatten().any(|s| s.matches(|k| item.label(k)))
}

/// Go's `strconv.ParseBool`.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Longhorn reads a PVC's recurring-job labels only when it is the source.
pub fn longhorn_source(item: &StatefulItem) -> bool {
    item.label(LONGHORN_SOURCE_LABEL) == Some("enabled")
}

/// The PVC carries any recurring-job label (which drops it from `default`).
pub fn has_longhorn_labels(item: &StatefulItem) -> bool {
    item.labels.iter().any(|(k, _)| {
        k.as_str().is_some_and(|k| {
            (k.starts_with(LONGHORN_JOB_PREFIX) && k != LONGHORN_SOURCE_LABEL) || k.starts_with(LONGHORN_GROUP_PREFIX)
        })
    })
}

impl BackupSchedule<'_> {
    /// Does this Velero Schedule select `item` (whether or not it copies
    /// volume data)?
    fn velero_selects(&self, item: &StatefulItem) -> bool {
        let Selector::Velero { included, excluded, labels, .. } = &self.selector else { return false };
        let ns = item.namespace();
        let included = included.is_empty() || included.contains(&"*") || ns.is_none_or(|ns| included.contains(&ns));
        let excluded = ns.is_some_and(|ns| excluded.contains(&ns));
        included && !excluded && any_selects(labels, item)
    }

    /// Why this Velero Schedule, which selects `item`, does not protect it:
    /// it copies no volume data.
    pub fn selects_without_data(&self, item: &StatefulItem) -> Option<&str> {
        match &self.selector {
            Selector::Velero { no_data: Some(why), .. } if self.velero_selects(item) => Some(why),
            _ => None,
        }
    }

    /// Does this schedule back up `item`? `namespace_ok` is the lenient
    /// namespace comparison of the inventory.
    /// `longhorn`: the item's class is Longhorn's (by its provisioner, or
    /// by its name when the repository does not define it).
    pub fn covers(&self, item: &StatefulItem, storage_class_jobs: &[(String, bool)], longhorn: bool) -> bool {
        let same_ns = super::same_namespace(self.res.namespace.as_deref(), item.namespace());
        match &self.selector {
            Selector::K8up { label_selectors } => {
                let opted_out = item.annotation(K8UP_ANNOTATION).is_some_and(|v| parse_bool(v) != Some(true));
                let selected = any_selects(label_selectors, item);
                same_ns && !opted_out && selected
            }
            Selector::Velero { no_data, .. } => no_data.is_none() && self.velero_selects(item),
            Selector::Longhorn { groups } => {
                let job = &self.res.name;
                let labelled = longhorn_source(item)
                    && (item.label(&format!("{LONGHORN_JOB_PREFIX}{job}")) == Some("enabled")
                        || groups
                            .iter()
                            .any(|g| item.label(&format!("{LONGHORN_GROUP_PREFIX}{g}")) == Some("enabled")));
                let by_class = storage_class_jobs.iter().any(|(name, is_group)| {
                    if *is_group {
                        groups.contains(&name.as_str())
                    } else {
                        name == job
                    }
                });
                let default_group = groups.contains(&"default") && !has_longhorn_labels(item) && longhorn;
                labelled || by_class || default_group
            }
            Selector::Kopiur { names, labels } => {
                same_ns
                    && (names.iter().filter_map(|n| n.as_nonempty_str()).any(|n| item.claim.matches(n))
                        || labels.iter().flatten().any(|l| !l.is_empty() && l.matches(|k| item.label(k))))
            }
        }
    }
}
