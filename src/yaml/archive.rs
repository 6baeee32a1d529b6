//! Helm charts vendored as archives: a `.tgz` under a chart's `charts/`
//! (what `helm dependency build` leaves there). Helm reads such a subchart
//! as if it were unpacked beside it, so its files join the sources at the
//! paths they would unpack to (`charts/app/charts/common-4.0.1.tgz` holding
//! `common/templates/_pvc.tpl` gives `charts/app/charts/common/templates/_pvc.tpl`),
//! and are shown as inside the archive
//! (`charts/app/charts/common-4.0.1.tgz/common/templates/_pvc.tpl`).
//!
//! Only YAML and template helpers are kept; an archive is read within
//! bounds (entries, unpacked bytes), and one that cannot be read is said,
//! never half-used.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::files::{display_path, Sources};
use super::load::load_str;

/// At most this many entries are looked at in one archive.
const MAX_ENTRIES: usize = 4096;
/// At most this many unpacked bytes are kept from one archive.
const MAX_BYTES: u64 = 32 * 1024 * 1024;

/// One file of an archive: where it unpacks to, how it is shown, its text.
#[derive(Debug)]
pub struct ArchivedFile {
    pub path: PathBuf,
    pub display: String,
    pub text: String,
    /// Under a chart's `templates/`: a Go template, not YAML.
    pub template: bool,
}

/// The YAML files and template helpers of the chart archive at `path`.
pub fn read_chart_archive(path: &Path) -> Result<Vec<ArchivedFile>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let shown = display_path(path);
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let entries = archive.entries().map_err(|e| format!("not a gzipped tar archive: {e}"))?;
    let mut out = Vec::new();
    let mut kept: u64 = 0;
    for (n, entry) in entries.enumerate() {
        if n >= MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} entries: not read"));
        }
        let mut entry = entry.map_err(|e| format!("not a gzipped tar archive: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let inner = entry.path().map_err(|e| format!("an entry has no readable path: {e}"))?.into_owned();
        // Only plain relative paths (no `..`, no root): where Helm unpacks.
        if !inner.components().all(|c| matches!(c, Component::Normal(_))) {
            continue;
        }
        let name = inner.to_string_lossy().replace('\\', "/");
        let helper = name.ends_with(".tpl");
        if !(name.ends_with(".yaml") || name.ends_with(".yml") || helper) {
            continue;
        }
        let size = entry.header().size().unwrap_or(0);
        kept = kept.saturating_add(size);
        if kept > MAX_BYTES {
            return Err(format!("more than {} MiB of YAML: not read", MAX_BYTES / (1024 * 1024)));
        }
        let mut bytes = Vec::new();
        entry.by_ref().take(MAX_BYTES).read_to_end(&mut bytes).map_err(|e| format!("`{name}` cannot be read: {e}"))?;
        let Ok(text) = String::from_utf8(bytes) else {
            return Err(format!("`{name}` is not UTF-8 text"));
        };
        let template = inner.components().any(|c| c.as_os_str() == "templates");
        // A helper outside `templates/` is not used by Helm.
        if helper && !template {
            continue;
        }
        out.push(ArchivedFile { path: dir.join(&inner), display: format!("{shown}/{name}"), text, template });
    }
    Ok(out)
}

impl Sources {
    /// Add the files of the chart archives at `paths`; the archives that
    /// cannot be read come back with why (the report says they were
    /// skipped; their subcharts are not rendered, and the release says so).
    pub fn add_chart_archives(&mut self, paths: &[PathBuf]) -> Vec<(PathBuf, String)> {
        let mut failed = Vec::new();
        for path in paths {
            match read_chart_archive(path) {
                Ok(files) => {
                    for f in files {
                        let id = self.add(&f.path, f.text);
                        let Some(file) = self.files.get_mut(id as usize) else { continue };
                        file.display = f.display;
                        if f.template {
                            self.templates.push(id);
                        } else {
                            let loaded = load_str(id, &file.text);
                            self.documents.extend(loaded.documents);
                            if let Some(error) = loaded.error {
                                self.errors.push((id, error));
                            }
                        }
                    }
                }
                Err(why) => failed.push((path.clone(), why)),
            }
        }
        failed
    }
}

#[cfg(test)]
mod tests {
    use super::read_chart_archive;

    /// A gzipped tar of `entries` (path, text).
    fn tgz(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        for (path, text) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, text.as_bytes()).expect("append");
        }
        builder.into_inner().expect("tar").finish().expect("gzip")
    }

    #[test]
    fn a_chart_archive_unpacks_beside_itself_and_keeps_yaml_and_helpers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("common-1.0.0.tgz");
        let bytes = tgz(&[
            ("common/Chart.yaml", "name: common\nversion: 1.0.0\n"),
            ("common/templates/_pvc.tpl", "{{- define \"common.pvc\" }}{{ end }}"),
            ("common/README.md", "# not kept"),
            ("common/_outside.tpl", "{{/* not used by Helm */}}"),
        ]);
        std::fs::write(&path, bytes).expect("write");
        let files = read_chart_archive(&path).expect("reads");
        let kept: Vec<(String, bool)> = files
            .iter()
            .map(|f| (f.path.strip_prefix(dir.path()).unwrap_or(&f.path).display().to_string(), f.template))
            .collect();
        assert_eq!(kept, [("common/Chart.yaml".to_string(), false), ("common/templates/_pvc.tpl".to_string(), true)]);
        assert!(files.iter().all(|f| f.display.contains("common-1.0.0.tgz/common/")));
    }

    #[test]
    fn a_file_that_is_not_an_archive_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("broken.tgz");
        std::fs::write(&path, b"\x1f\x8b\x08garbage").expect("write");
        assert!(read_chart_archive(&path).is_err());
        std::fs::write(&path, b"plain text").expect("write");
        assert!(read_chart_archive(&path).is_err());
    }
}
