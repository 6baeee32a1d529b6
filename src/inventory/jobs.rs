//! Backup CronJobs: a CronJob that mounts a PVC and runs a copy, archive or
//! upload tool (tar, rclone, restic, kopia, rsync, `az storage`, `aws s3`,
//! `mc` …) in its command, its args, or a script from a mounted ConfigMap.
//! A CronJob that dumps a database (`pg_dump`, `mysqldump` …) writes *into*
//! the PVCs it mounts: they are its destination, not what it protects. One
//! that sends its copy off the cluster (`az storage`, `aws s3`, rclone to a
//! remote, restic/kopia to a remote repository) has no destination among
//! its mounts: every PVC it mounts is a source.
//!
//! A CronJob that runs no tool lifeboat recognises but mounts a PVC
//! read-only is *possibly* a backup: listed, never counted as protection.

use std::sync::LazyLock;

use regex::Regex;

use crate::model::Resource;
use crate::yaml::{Node, Span};

/// A tool that copies data somewhere, as a word of a shell command.
static TOOL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?:^|[\s/;&|(`"'$])(?P<tool>tar|rclone|restic|kopia|rsync|azcopy|borg|gsutil|s3cmd|duplicity|rdiff-backup|zip|7z|az\s+storage|aws\s+s3|gcloud\s+storage|mc\s+(?:cp|mirror))(?:$|[\s;&|)`"'])"#,
    )
    .ok()
});

/// Images whose entry point is a copy tool.
const TOOL_IMAGES: &[&str] = &["restic", "rclone", "kopia", "rsync", "borg", "azcopy"];

/// One PVC the job's pod mounts.
#[derive(Debug, Clone)]
pub struct PvcMount<'m> {
    /// `persistentVolumeClaim.claimName`.
    pub claim: &'m Node,
    /// The pod volume entry.
    pub volume: &'m Node,
    /// Mounted read-only: by the volume source or by every container mount.
    pub read_only: bool,
    /// The first container `volumeMounts[]` entry for this volume.
    pub mount: Option<&'m Node>,
}

impl PvcMount<'_> {
    pub fn claim_name(&self) -> Option<&str> {
        self.claim.as_nonempty_str()
    }
}

#[derive(Debug, Clone)]
pub struct BackupJob<'m> {
    pub index: usize,
    pub res: &'m Resource,
    pub schedule: Option<&'m Node>,
    pub suspend: Option<&'m Node>,
    /// The tool it runs, and where that is written.
    pub tool: String,
    pub tool_span: Span,
    /// It dumps a database (`pg_dump`, `mysqldump` …): its PVCs are where
    /// dumps land.
    pub dump: bool,
    /// It sends the copy off the cluster: no mount is its destination.
    pub offsite: bool,
    pub mounts: Vec<PvcMount<'m>>,
}

/// A CronJob that mounts PVCs read-only and runs nothing lifeboat
/// recognises as a backup tool.
#[derive(Debug, Clone)]
pub struct PossibleBackup<'m> {
    pub index: usize,
    pub res: &'m Resource,
    /// The claims it mounts read-only.
    pub claims: Vec<&'m str>,
    /// Its first container's image, to name it.
    pub image: Option<&'m str>,
}

impl<'m> BackupJob<'m> {
    /// The PVCs this job copies off (none for a pg_dump job).
    pub fn sources(&self) -> impl Iterator<Item = &PvcMount<'m>> {
        self.mounts.iter().filter(move |_| !self.dump)
    }

    pub fn is_suspended(&self) -> bool {
        self.suspend.and_then(Node::as_bool) == Some(true)
    }
}

/// What a job runs, from the text of its command, args, image or a script.
fn find_tool(text: &str) -> Option<String> {
    if let Some(tool) = super::dumps::dump_tool(text) {
        return Some(tool.into());
    }
    // `tar … && az storage blob upload …`: name what takes the data off
    // the cluster, not what packs it.
    let tools = TOOL.as_ref()?.captures_iter(text).filter_map(|c| c.name("tool")).map(|m| m.as_str());
    let best = tools.min_by_key(|t| usize::from(ARCHIVERS.contains(t)))?;
    Some(best.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Tools that pack data but do not move it anywhere.
const ARCHIVERS: &[&str] = &["tar", "zip", "7z"];

fn image_tool(image: &str) -> Option<String> {
    if let Some(tool) = super::dumps::image_dump_tool(image) {
        return Some(tool.into());
    }
    let repo = image.split(['@', ':']).next().unwrap_or(image);
    let last = repo.rsplit('/').next().unwrap_or(repo);
    TOOL_IMAGES.iter().find(|t| last.contains(*t)).map(|t| (*t).to_string())
}

/// Tools that always send the copy off the cluster.
const OFFSITE_TOOLS: &[&str] =
    &["az storage", "aws s3", "gcloud storage", "gsutil", "azcopy", "s3cmd", "mc cp", "mc mirror"];

/// A remote repository or remote path, as restic, kopia, borg, duplicity
/// and rclone spell it.
static REMOTE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?:^|[\s=:"'])(?:s3|b2|azure|gs|gcs|swift|rest|sftp|rclone|webdav):[^\s/]|(?:s3|gs|ssh|sftp|https?)://|kopia\s+repository\s+(?:connect|create)\s+(?:s3|b2|gcs|azure|sftp|webdav|rclone)|rclone\s+(?:sync|copy|move|copyto)\b[^\n;&|]*\s[A-Za-z0-9_.-]+:"#,
    )
    .ok()
});

/// Whether the job with `tool` sends its copy off the cluster; `texts`
/// are its commands, scripts and environment values.
fn sends_offsite(tool: &str, texts: &[&str]) -> bool {
    if OFFSITE_TOOLS.contains(&tool) {
        return true;
    }
    matches!(tool, "restic" | "kopia" | "borg" | "duplicity" | "rclone")
        && REMOTE.as_ref().is_some_and(|re| texts.iter().any(|t| re.is_match(t)))
}

/// Read a `batch` CronJob as a backup job. `script` gives the `data` of a
/// ConfigMap in the job's namespace, for scripts mounted from one.
pub fn read<'m>(
    index: usize,
    res: &'m Resource,
    script: &dyn Fn(Option<&str>, &str) -> Option<&'m Node>,
) -> Option<BackupJob<'m>> {
    if !(res.kind == "CronJob" && res.group() == "batch") {
        return None;
    }
    let spec = res.spec()?;
    let pod = spec.path(&["jobTemplate", "spec", "template", "spec"])?;
    let containers: Vec<&Node> =
        ["initContainers", "containers"].iter().flat_map(|k| pod.get(k).map_or(&[][..], Node::as_seq)).collect();
    let volumes = pod.get("volumes").map_or(&[][..], Node::as_seq);

    let mut found: Option<(String, Span)> = None;
    let mut dump = false;
    let mut texts: Vec<&'m str> = Vec::new();
    let mut note = |tool: String, span: Span| {
        let is_dump = super::dumps::dump_tool(&tool).is_some() || super::dumps::image_dump_tool(&tool).is_some();
        dump |= is_dump;
        let rank = |t: &str| match t {
            _ if super::dumps::dump_tool(t).is_some() || super::dumps::image_dump_tool(t).is_some() => 0,
            t if ARCHIVERS.contains(&t) => 1,
            _ => 2,
        };
        if found.as_ref().is_none_or(|(t, _)| rank(t) < rank(&tool)) {
            found = Some((tool, span));
        }
    };
    for c in &containers {
        for key in ["command", "args", "env"] {
            if let Some(node) = c.get(key) {
                node.walk(&mut |n: &Node| {
                    let Some(text) = n.as_str() else { return };
                    texts.push(text);
                    if key != "env" {
                        if let Some(tool) = find_tool(text) {
                            note(tool, n.span);
                        }
                    }
                });
            }
        }
        if let Some(node) = c.get("image") {
            if let Some(tool) = node.as_str().and_then(image_tool) {
                note(tool, node.span);
            }
        }
    }
    for v in volumes {
        let names = v.path(&["configMap", "name"]).into_iter().chain(
            v.path(&["projected", "sources"])
                .map_or(&[][..], Node::as_seq)
                .iter()
                .filter_map(|s| s.path(&["configMap", "name"])),
        );
        for name in names.filter_map(Node::as_nonempty_str) {
            let Some(data) = script(res.namespace.as_deref(), name) else { continue };
            for (_, value) in data.as_map() {
                let Some(text) = value.as_str() else { continue };
                texts.push(text);
                if let Some(tool) = find_tool(text) {
                    note(tool, value.span);
                }
            }
        }
    }
    let (tool, tool_span) = found?;
    let offsite = !dump && sends_offsite(&tool, &texts);
    let mounts = pvc_mounts(&containers, volumes);
    Some(BackupJob {
        index,
        res,
        schedule: spec.get("schedule"),
        suspend: spec.get("suspend"),
        tool,
        tool_span,
        dump,
        offsite,
        mounts,
    })
}

/// A CronJob that is not a backup job lifeboat recognises but mounts PVCs
/// read-only: possibly a backup by a tool lifeboat does not know.
pub fn possible(index: usize, res: &Resource) -> Option<PossibleBackup<'_>> {
    if !(res.kind == "CronJob" && res.group() == "batch") {
        return None;
    }
    let pod = res.spec()?.path(&["jobTemplate", "spec", "template", "spec"])?;
    let containers: Vec<&Node> =
        ["initContainers", "containers"].iter().flat_map(|k| pod.get(k).map_or(&[][..], Node::as_seq)).collect();
    let volumes = pod.get("volumes").map_or(&[][..], Node::as_seq);
    let claims: Vec<&str> = pvc_mounts(&containers, volumes)
        .into_iter()
        .filter(|m| m.read_only)
        .filter_map(|m| m.claim.as_nonempty_str())
        .collect();
    if claims.is_empty() {
        return None;
    }
    let image =
        pod.path(&["containers"]).and_then(|c| c.as_seq().first()).and_then(|c| c.get("image")).and_then(Node::as_str);
    Some(PossibleBackup { index, res, claims, image })
}

/// The PVCs a pod's containers mount.
fn pvc_mounts<'m>(containers: &[&'m Node], volumes: &'m [Node]) -> Vec<PvcMount<'m>> {
    volumes
        .iter()
        .filter_map(|v| {
            let claim = v.path(&["persistentVolumeClaim", "claimName"])?;
            let volume_name = v.get("name").and_then(Node::as_str);
            let entries: Vec<&Node> = containers
                .iter()
                .flat_map(|c| c.get("volumeMounts").map_or(&[][..], Node::as_seq))
                .filter(|m| volume_name.is_some() && m.get("name").and_then(Node::as_str) == volume_name)
                .collect();
            let source_ro = v.path(&["persistentVolumeClaim", "readOnly"]).and_then(Node::as_bool) == Some(true);
            let mounts_ro =
                !entries.is_empty() && entries.iter().all(|m| m.get("readOnly").and_then(Node::as_bool) == Some(true));
            Some(PvcMount { claim, volume: v, read_only: source_ro || mounts_ro, mount: entries.first().copied() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{find_tool, image_tool, sends_offsite};

    #[test]
    fn copies_sent_off_the_cluster() {
        assert!(sends_offsite("aws s3", &["aws s3 cp /data s3://b"]));
        assert!(sends_offsite("restic", &["restic backup /data", "s3:https://s3.example.com/b"]));
        assert!(sends_offsite("restic", &["restic -r b2:bucket:/x backup /data"]));
        assert!(sends_offsite("rclone", &["rclone sync /data remote:bucket/path"]));
        assert!(sends_offsite("kopia", &["kopia repository connect s3 --bucket b"]));
        assert!(!sends_offsite("restic", &["restic -r /backup/repo backup /data"]));
        assert!(!sends_offsite("rclone", &["rclone sync /data /backup"]));
        assert!(!sends_offsite("tar", &["tar czf /backup/x.tgz /data"]));
        assert!(!sends_offsite("rsync", &["rsync -a /data/ /backup/"]));
    }

    #[test]
    fn tools_in_commands() {
        assert_eq!(find_tool("tar czf /tmp/x.tgz -C /data ."), Some("tar".into()));
        assert_eq!(
            find_tool("tar czf /tmp/x.tgz /data\naz storage blob upload -f /tmp/x.tgz"),
            Some("az storage".into())
        );
        assert_eq!(find_tool("set -e\naz  storage blob upload --file x"), Some("az storage".into()));
        assert_eq!(find_tool("/usr/bin/rclone sync /data remote:bucket"), Some("rclone".into()));
        assert_eq!(find_tool("aws s3 cp /data s3://b --recursive"), Some("aws s3".into()));
        assert_eq!(find_tool("mc mirror /data minio/backups"), Some("mc mirror".into()));
        assert_eq!(find_tool("pg_dump -h db-rw app > /backup/app.sql"), Some("pg_dump".into()));
        assert_eq!(find_tool("echo started; sleep 10"), None);
        assert_eq!(find_tool("tarball"), None);
        assert_eq!(find_tool("--target=/data"), None);
    }

    #[test]
    fn tools_in_images() {
        assert_eq!(image_tool("docker.io/restic/restic:0.17.3"), Some("restic".into()));
        assert_eq!(image_tool("ghcr.io/home-operations/busybox:1.37"), None);
        assert_eq!(image_tool("rclone/rclone@sha256:abc"), Some("rclone".into()));
    }
}
