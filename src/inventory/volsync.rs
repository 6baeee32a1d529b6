//! VolSync `ReplicationSource`s (`volsync.backube/v1alpha1`): the mover
//! (restic, kopia, rclone, rsync …) copies `spec.sourcePVC` on a trigger.

use crate::model::Resource;
use crate::yaml::Node;

pub const VOLSYNC_GROUP: &str = "volsync.backube";

/// The mover sections a ReplicationSource can have.
pub const MOVERS: &[&str] = &["restic", "kopia", "rclone", "rsync", "rsyncTLS", "syncthing", "external"];

#[derive(Debug, Clone)]
pub struct ReplicationSource<'m> {
    pub index: usize,
    pub res: &'m Resource,
    pub source_pvc: Option<&'m Node>,
    /// The mover's name and section.
    pub mover: Option<(&'static str, &'m Node)>,
    pub trigger: Option<&'m Node>,
    pub schedule: Option<&'m Node>,
    pub manual: Option<&'m Node>,
    pub paused: Option<&'m Node>,
    /// The mover's `retain` block (restic, kopia).
    pub retain: Option<&'m Node>,
    /// The restic/kopia `repository` Secret name.
    pub repository: Option<&'m Node>,
}

impl<'m> ReplicationSource<'m> {
    pub fn read(index: usize, res: &'m Resource) -> ReplicationSource<'m> {
        let spec = res.spec();
        let get = |path: &[&str]| spec.and_then(|s| s.path(path));
        let mover = MOVERS.iter().find_map(|m| Some((*m, spec?.get(m).filter(|n| n.is_map())?)));
        let section = |key: &str| mover.and_then(|(_, n)| n.get(key));
        ReplicationSource {
            index,
            res,
            source_pvc: get(&["sourcePVC"]),
            mover,
            trigger: get(&["trigger"]),
            schedule: get(&["trigger", "schedule"]).filter(|n| !n.is_null()),
            manual: get(&["trigger", "manual"]).filter(|n| !n.is_null()),
            paused: get(&["paused"]),
            retain: section("retain"),
            repository: section("repository"),
        }
    }

    pub fn source_pvc_name(&self) -> Option<&'m str> {
        self.source_pvc.and_then(Node::as_nonempty_str)
    }

    pub fn mover_name(&self) -> &'static str {
        self.mover.map_or("no mover", |(m, _)| m)
    }

    /// `trigger.manual` is set: VolSync syncs once per new value of it and
    /// ignores any `schedule` beside it.
    pub fn is_manual(&self) -> bool {
        self.manual.is_some_and(|m| m.as_str().is_none_or(|t| !t.is_empty()))
    }

    pub fn is_paused(&self) -> bool {
        self.paused.and_then(Node::as_bool) == Some(true)
    }
}
