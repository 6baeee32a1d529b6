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
    /// Where the containers mount it (`volumeMounts[].mountPath`).
    pub paths: Vec<&'m str>,
    /// The job writes its copy here: a path its commands write to (`tar
    /// -czf`, `>`, the last argument of `cp`/`rsync`, a local restic or
    /// borg repository) is in it, or it is read-write beside a read-only
    /// mount, or it is named as a backup target (`/backup`). Not a source.
    pub destination: bool,
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
    /// The PVCs this job copies off (none for a pg_dump job; not the one it
    /// writes its copy into).
    pub fn sources(&self) -> impl Iterator<Item = &PvcMount<'m>> {
        self.mounts.iter().filter(move |m| !self.dump && !m.destination)
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
    for name in config_map_volumes(volumes) {
        let Some(data) = script(res.namespace.as_deref(), name) else { continue };
        for (key, value) in data.as_map() {
            let Some(text) = value.as_str() else { continue };
            if !shell_script(key.as_str().unwrap_or(""), text) {
                continue;
            }
            texts.push(text);
            if let Some(tool) = find_tool(text) {
                note(tool, value.span);
            }
        }
    }
    let (tool, tool_span) = found?;
    // Every copy it makes comes *from* the remote into a local path (`mc
    // mirror s3/… /config/…`): it fills its volumes, it backs none up.
    if !dump && downloads_only(&texts) {
        return None;
    }
    let offsite = !dump && sends_offsite(&tool, &texts);
    let mut mounts = pvc_mounts(&containers, volumes);
    if !dump && !offsite {
        mark_destinations(&mut mounts, &texts, &env_values(&containers));
    }
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

/// Whether every transfer these commands make (`mc cp|mirror`, `aws s3
/// cp|sync`, `rclone copy|sync|move|copyto`, `gsutil cp|rsync`, `azcopy
/// copy|sync`, `s3cmd get|sync`) copies from a remote location into a
/// local path; false when there is none, or one whose direction is not
/// plain (an argument in a variable).
fn downloads_only(texts: &[&str]) -> bool {
    let (mut transfers, mut downloads) = (0, 0);
    for text in texts {
        for command in text.split(['\n', ';', '|', '&']) {
            let words: Vec<&str> = command
                .split_whitespace()
                .map(|w| w.trim_matches(|c| c == '"' || c == '\''))
                .filter(|w| !w.is_empty())
                .collect();
            let Some(at) = words.iter().position(|w| {
                matches!(w.rsplit('/').next(), Some("mc" | "aws" | "rclone" | "gsutil" | "azcopy" | "s3cmd"))
            }) else {
                continue;
            };
            let program = words.get(at).and_then(|w| w.rsplit('/').next()).unwrap_or("");
            let rest = words.get(at + 1..).unwrap_or(&[]);
            let (sub, args) = match (program, rest) {
                ("aws", [s3, sub, args @ ..]) if *s3 == "s3" => (*sub, args),
                (_, [sub, args @ ..]) => (*sub, args),
                _ => continue,
            };
            let transfer = match program {
                "mc" => matches!(sub, "cp" | "mirror"),
                "aws" => matches!(sub, "cp" | "sync"),
                "rclone" => matches!(sub, "copy" | "sync" | "move" | "copyto"),
                "gsutil" => matches!(sub, "cp" | "rsync"),
                "azcopy" => matches!(sub, "copy" | "sync"),
                "s3cmd" => matches!(sub, "get" | "sync"),
                _ => false,
            };
            if !transfer {
                continue;
            }
            transfers += 1;
            let positional: Vec<&str> = args.iter().copied().filter(|a| !a.starts_with('-')).collect();
            let [.., from, to] = positional.as_slice() else { continue };
            let local = |p: &str| p.starts_with('/') || p.starts_with("./");
            let remote = |p: &str| match program {
                "mc" => !local(p) && !p.contains('$') && p.contains('/'),
                "rclone" => p.split('/').next().is_some_and(|head| head.contains(':')) && !p.contains('$'),
                _ => p.contains("://") && !p.contains('$'),
            };
            if local(to) && !to.contains('$') && remote(from) {
                downloads += 1;
            }
        }
    }
    transfers > 0 && downloads == transfers
}

/// Whether a ConfigMap entry can be a shell script its commands run: not
/// a program of another language or a data file (`generate.py`,
/// `mkdocs.yml`: a Python `tar = tarfile.open(…)` runs no `tar`), by its
/// name's extension or its `#!` line.
fn shell_script(key: &str, text: &str) -> bool {
    const NOT_SHELL: &[&str] = &[
        "py", "js", "mjs", "ts", "rb", "pl", "lua", "go", "php", "yaml", "yml", "json", "toml", "ini", "conf", "cfg",
        "xml", "html", "md", "txt", "css", "csv", "tpl", "j2",
    ];
    let extension = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    if extension.is_some_and(|e| NOT_SHELL.contains(&e.as_str())) {
        return false;
    }
    match text.trim_start().strip_prefix("#!") {
        Some(rest) => {
            let line = rest.lines().next().unwrap_or("");
            ["sh", "bash", "ash", "dash", "zsh", "ksh"]
                .iter()
                .any(|shell| line.split(['/', ' ', '\t']).any(|word| word == *shell))
        }
        None => true,
    }
}

/// The ConfigMaps a pod's `volumes` mount (as a `configMap` volume or in a
/// `projected` one): where its scripts come from.
pub(super) fn config_map_volumes(volumes: &[Node]) -> impl Iterator<Item = &str> {
    volumes.iter().flat_map(|v| {
        v.path(&["configMap", "name"])
            .into_iter()
            .chain(
                v.path(&["projected", "sources"])
                    .map_or(&[][..], Node::as_seq)
                    .iter()
                    .filter_map(|s| s.path(&["configMap", "name"])),
            )
            .filter_map(Node::as_nonempty_str)
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
            let paths = entries.iter().filter_map(|m| m.get("mountPath").and_then(Node::as_nonempty_str)).collect();
            Some(PvcMount {
                claim,
                volume: v,
                read_only: source_ro || mounts_ro,
                mount: entries.first().copied(),
                paths,
                destination: false,
            })
        })
        .collect()
}

/// The literal values of the containers' `env` (`BACKUP_DIR=/backup`).
fn env_values(containers: &[&Node]) -> Vec<(String, String)> {
    containers
        .iter()
        .flat_map(|c| c.get("env").map_or(&[][..], Node::as_seq))
        .filter_map(|e| {
            Some((e.get("name")?.as_nonempty_str()?.to_string(), e.get("value")?.as_nonempty_str()?.to_string()))
        })
        .collect()
}

/// Mark the mounts a local copy is written into (see
/// [`PvcMount::destination`]). The job writes nowhere else it mounts:
/// the rest are its sources.
fn mark_destinations(mounts: &mut [PvcMount<'_>], texts: &[&str], env: &[(String, String)]) {
    let targets = write_targets(texts, env);
    let owner = |target: &str, mount: &PvcMount<'_>| {
        mount
            .paths
            .iter()
            .map(|p| p.trim_end_matches('/'))
            .filter(|p| !p.is_empty() && (target == *p || target.strip_prefix(*p).is_some_and(|r| r.starts_with('/'))))
            .map(str::len)
            .max()
    };
    let mut found = false;
    for target in &targets {
        // The mount with the longest path holding the target writes it.
        let best = mounts.iter().enumerate().filter_map(|(i, m)| Some((owner(target, m)?, i))).max();
        if let Some(m) = best.and_then(|(_, i)| mounts.get_mut(i)) {
            m.destination = true;
            found = true;
        }
    }
    if found {
        return;
    }
    if mounts.iter().any(|m| m.read_only) {
        // One read-only beside read-write ones: it copies into those.
        for m in mounts.iter_mut().filter(|m| !m.read_only) {
            m.destination = true;
        }
        return;
    }
    for m in mounts.iter_mut() {
        m.destination = m.paths.iter().any(|p| backup_named(p)) || m.claim_name().is_some_and(backup_named);
    }
}

/// A path or claim named as where backups go: its last word is `backup`,
/// `backups`, `dumps` or `archive` (`/backup`, `nfs-media-app-backup`).
fn backup_named(name: &str) -> bool {
    let last = name.trim_end_matches('/').rsplit(['/', '-', '_']).next().unwrap_or("");
    matches!(last.to_ascii_lowercase().as_str(), "backup" | "backups" | "dump" | "dumps" | "archive" | "archives")
}

/// Absolute paths the job's commands and scripts write a copy to: a
/// created tar's file, a redirection, the last argument of `cp`, `rsync`
/// or `kubectl cp`, a local restic or borg repository. `$VAR` is read from
/// the containers' env and the script's own assignments.
fn write_targets(texts: &[&str], env: &[(String, String)]) -> Vec<String> {
    static ASSIGN: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r#"(?m)^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=["']?([^\s"';]+)"#).ok());
    static WRITES: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(
            r#"(?x)
            (?:^|[^0-9&>])>>?\s*["']?(?P<redirect>[^\s"';&|)]+)
            | \brestic\b[^\n;&|]*?\s(?:-r|--repo)[=\s]\s*["']?(?P<repo>/[^\s"';&|]+)
            | (?:^|[\s;&|(`])borg\s+create\s+(?:-\S+\s+)*["']?(?P<borg>/[^\s"':;&|]+)::
            "#,
        )
        .ok()
    });
    let mut vars: Vec<(String, String)> = env.to_vec();
    for text in texts {
        for c in ASSIGN.as_ref().map(|re| re.captures_iter(text).collect::<Vec<_>>()).unwrap_or_default() {
            if let (Some(k), Some(v)) = (c.get(1), c.get(2)) {
                vars.push((k.as_str().to_string(), v.as_str().to_string()));
            }
        }
    }
    let expand = |word: &str| -> String {
        let mut out = word.trim_matches(|c| c == '"' || c == '\'').to_string();
        for (k, v) in &vars {
            if v.contains('$') {
                continue;
            }
            out = out.replace(&format!("${{{k}}}"), v).replace(&format!("${k}"), v);
        }
        out
    };
    let mut out = Vec::new();
    for (k, v) in env {
        if k == "RESTIC_REPOSITORY" || k == "BORG_REPO" || k == "KOPIA_REPOSITORY" {
            out.push(expand(v));
        }
    }
    for text in texts {
        // One command per line: continuations joined, comments dropped.
        let joined = text.replace("\\\n", " ");
        for line in joined.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
            if let Some(re) = WRITES.as_ref() {
                for c in re.captures_iter(line) {
                    if let Some(m) = c.name("redirect").or_else(|| c.name("repo")).or_else(|| c.name("borg")) {
                        out.push(expand(m.as_str()));
                    }
                }
            }
            for command in line.split([';', '|', '&']) {
                let words: Vec<&str> = command.split_whitespace().collect();
                let Some(at) = words.iter().position(|w| matches!(*w, "tar" | "cp" | "rsync")) else { continue };
                let args = words.get(at + 1..).unwrap_or_default();
                let tool = words.get(at).copied().unwrap_or_default();
                if tool == "tar" {
                    out.extend(tar_created_file(args).map(expand));
                } else if let Some(last) = args.iter().rev().find(|a| !a.starts_with('-')) {
                    out.push(expand(last));
                }
            }
        }
    }
    out.retain(|t| t.starts_with('/') && !t.starts_with("/dev/"));
    out.sort();
    out.dedup();
    out
}

/// The archive file of a `tar` that creates one (`-czvf FILE`, `czf FILE`,
/// `--file=FILE`); `None` for an extraction or a listing, or `-` (stdout).
fn tar_created_file<'a>(args: &[&'a str]) -> Option<&'a str> {
    let first = args.first()?;
    let bundled = |a: &str| !a.starts_with("--") && a.trim_start_matches('-').chars().all(|c| c.is_ascii_alphabetic());
    let creates =
        args.iter().any(|a| *a == "--create" || (bundled(a) && a.contains('c') && a != first && a.starts_with('-')))
            || (bundled(first) && first.contains('c'));
    if !creates {
        return None;
    }
    let mut file = None;
    for (i, a) in args.iter().enumerate() {
        if let Some(f) = a.strip_prefix("--file=") {
            file = Some(f);
        } else if *a == "--file" || (bundled(a) && a.ends_with('f') && (a.starts_with('-') || i == 0)) {
            file = args.get(i + 1).copied();
        }
    }
    file.filter(|f| *f != "-")
}

#[cfg(test)]
mod tests {
    use super::{downloads_only, find_tool, image_tool, sends_offsite, shell_script, write_targets};

    #[test]
    fn where_a_local_copy_is_written() {
        let t = |text: &str| write_targets(&[text], &[]);
        assert_eq!(
            t("tar \\\n  --exclude 'x' \\\n  -czvf /backup/vol/b-$day.tgz /data/vol"),
            ["/backup/vol/b-$day.tgz"]
        );
        assert_eq!(t("tar czf /backup/x.tgz -C /data ."), ["/backup/x.tgz"]);
        assert_eq!(t("tar -xzf /backup/x.tgz -C /data"), Vec::<String>::new());
        assert_eq!(t("kubectl exec plex-0 -- tar czf - /config > /backup/plex.tgz"), ["/backup/plex.tgz"]);
        assert_eq!(t("kubectl cp -n media sab-0:/etc/. /backup/sab/."), ["/backup/sab/."]);
        assert_eq!(t("rsync -a --delete /data/ /mnt/dest/"), ["/mnt/dest/"]);
        assert_eq!(t("restic -r /repo backup /data 2>&1"), ["/repo"]);
        assert_eq!(t("echo x > /dev/null"), Vec::<String>::new());
        assert_eq!(t("# tar czf /data/x.tgz /backup"), Vec::<String>::new());
        assert_eq!(t("DEST=/srv/out\ncp -r /data \"$DEST/today\""), ["/srv/out/today"]);
        let env = [("BACKUP_DIR".to_string(), "/dumps".to_string())];
        assert_eq!(write_targets(&["tar czf ${BACKUP_DIR}/a.tgz /data"], &env), ["/dumps/a.tgz"]);
    }

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
        // The direction of a transfer: into a local path is a download.
        assert!(downloads_only(&[
            "mc alias set s3 https://x '' ''; mc mirror --overwrite s3/public/overlays/ /config/overlays/"
        ]));
        assert!(downloads_only(&["aws s3 sync s3://bucket/models /models --quiet"]));
        assert!(downloads_only(&["rclone copy remote:media/x /data/x"]));
        assert!(!downloads_only(&["mc mirror /data minio/backups"]));
        assert!(!downloads_only(&["aws s3 cp /backup/db.sql.gz s3://bucket/db/"]));
        assert!(!downloads_only(&["rclone sync /data b2:bucket/data"]));
        // One upload among downloads, or a path in a variable: not only downloads.
        assert!(!downloads_only(&["mc cp s3/a/x /tmp/x && mc mirror /data s3/backup"]));
        assert!(!downloads_only(&["mc mirror s3/a/b $TARGET"]));
        assert!(!downloads_only(&["tar czf /backup/x.tgz /data"]));
        assert_eq!(find_tool("pg_dump -h db-rw app > /backup/app.sql"), Some("pg_dump".into()));
        assert_eq!(find_tool("echo started; sleep 10"), None);
        assert_eq!(find_tool("tarball"), None);
        assert_eq!(find_tool("--target=/data"), None);
    }

    #[test]
    fn scripts_are_shell_scripts_only() {
        assert!(shell_script("backup.sh", "tar czf /backup/x.tgz /data"));
        assert!(shell_script("run", "#!/usr/bin/env bash\nrestic backup /data"));
        assert!(shell_script("run", "restic backup /data"));
        // A Python program's `tar = tarfile.open(…)` runs no tar; data files run nothing.
        assert!(!shell_script("generate.py", "tar = tarfile.open(fileobj=f)"));
        assert!(!shell_script("gen", "#!/usr/bin/env python3\ntar = tarfile.open(fileobj=f)"));
        assert!(!shell_script("mkdocs.yml", "plugins: [tar]"));
    }

    #[test]
    fn tools_in_images() {
        assert_eq!(image_tool("docker.io/restic/restic:0.17.3"), Some("restic".into()));
        assert_eq!(image_tool("ghcr.io/home-operations/busybox:1.37"), None);
        assert_eq!(image_tool("rclone/rclone@sha256:abc"), Some("rclone".into()));
    }
}
