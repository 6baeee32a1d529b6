//! The load stage: read every discovered file and parse it, in parallel.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::load::{load_str, LoadError};
use super::tree::{Document, FileId, Pos};

/// One file of the run: where it is, how to name it in a report, its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    /// Relative to the current directory, `/`-separated (the report's `file`).
    pub display: String,
    pub text: String,
}

/// Every file of the run, indexed by [`FileId`], and what loading found.
#[derive(Debug, Default)]
pub struct Sources {
    pub files: Vec<SourceFile>,
    pub documents: Vec<Document>,
    /// Files that could not be read or parsed, with the position of the error.
    pub errors: Vec<(FileId, LoadError)>,
    /// Encrypted files (git-crypt, ansible-vault, age, or not YAML under a
    /// `.gitattributes` filter): not read, their text never kept, and why.
    pub encrypted: Vec<(FileId, &'static str)>,
    /// Helm chart templates, kept as text (rendered by the model when a
    /// release uses their chart; never parsed as YAML on their own).
    pub templates: Vec<FileId>,
    /// Files that could not be read at all (permission denied, an I/O
    /// error), with why: a run error, not a finding.
    pub unreadable: Vec<(FileId, String)>,
}

/// Why a file's bytes are an encrypted payload, not YAML (`filtered`: a
/// `.gitattributes` filter applies to it, and it does not load as YAML).
fn encrypted(bytes: &[u8], filtered: bool, loads: impl FnOnce() -> bool) -> Option<&'static str> {
    if bytes.starts_with(b"\0GITCRYPT") {
        return Some("git-crypt encrypted (not read; its content is never printed)");
    }
    if bytes.starts_with(b"$ANSIBLE_VAULT;") {
        return Some("ansible-vault encrypted (not read; its content is never printed)");
    }
    if bytes.starts_with(b"age-encryption.org/v1") || bytes.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----") {
        return Some("age encrypted (not read; its content is never printed)");
    }
    if filtered && !loads() {
        return Some(
            "not YAML under a .gitattributes filter, likely encrypted (not read; its content is never printed)",
        );
    }
    None
}

impl Sources {
    pub fn file(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id as usize)
    }

    /// Add one more file (the config) and parse it; returns its id.
    pub fn add(&mut self, path: &Path, text: String) -> FileId {
        let id = FileId::try_from(self.files.len()).unwrap_or(FileId::MAX);
        self.files.push(SourceFile { path: path.to_path_buf(), display: display_path(path), text: without_bom(text) });
        id
    }
}

impl Sources {
    /// Read Helm chart templates as text (in parallel); a file that cannot
    /// be read or is not UTF-8 is recorded as an error, not lost.
    pub fn add_templates(&mut self, paths: &[PathBuf]) {
        let read: Vec<(PathBuf, Result<String, String>)> = paths
            .par_iter()
            .map(|p| {
                let text = std::fs::read(p)
                    .map_err(|e| format!("cannot read: {e}"))
                    .and_then(|b| String::from_utf8(b).map_err(|_| "not UTF-8 text".to_string()));
                (p.clone(), text)
            })
            .collect();
        for (path, text) in read {
            match text {
                Ok(text) => {
                    let id = self.add(&path, text);
                    self.templates.push(id);
                }
                Err(message) => {
                    let id = self.add(&path, String::new());
                    self.errors.push((id, LoadError { pos: Pos { offset: 0, line: 1, col: 1 }, message }));
                }
            }
        }
    }
}

/// Read and parse `paths` in parallel; the order of the result is the order
/// of `paths`, so ids and output are deterministic.
pub fn load_files(paths: &[PathBuf]) -> Sources {
    load_files_filtered(paths, &std::collections::HashSet::new())
}

/// [`load_files`], knowing which files a `.gitattributes` filter applies to.
pub fn load_files_filtered(paths: &[PathBuf], filtered: &std::collections::HashSet<PathBuf>) -> Sources {
    let loaded: Vec<_> = paths
        .par_iter()
        .enumerate()
        .map(|(i, path)| {
            let id = FileId::try_from(i).unwrap_or(FileId::MAX);
            match std::fs::read(path) {
                // Positions hold 32-bit byte offsets.
                Ok(bytes) if u32::try_from(bytes.len()).is_err() => {
                    (path, String::new(), Vec::new(), None, Some(Err("the file is larger than 4 GiB".to_string())))
                }
                Ok(bytes) => {
                    let loads = || std::str::from_utf8(&bytes).is_ok_and(|t| load_str(id, t).error.is_none());
                    if let Some(why) = encrypted(&bytes, filtered.contains(path), loads) {
                        return (path, String::new(), Vec::new(), None, Some(Ok(why)));
                    }
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    match std::str::from_utf8(&bytes) {
                        Ok(_) => {
                            let parsed = load_str(id, &text);
                            (path, text, parsed.documents, parsed.error, None)
                        }
                        // A file that does not decode yields no resources: a
                        // half-read document (a name with U+FFFD) is not what
                        // the repository deploys.
                        Err(e) => {
                            let pos = utf8_error_pos(&text, &bytes, e.valid_up_to());
                            let message = "file is not valid UTF-8: not read".to_string();
                            (path, text, Vec::new(), Some(LoadError { pos, message }), None)
                        }
                    }
                }
                Err(e) => (path, String::new(), Vec::new(), None, Some(Err(e.to_string()))),
            }
        })
        .collect();
    let mut sources = Sources::default();
    for (i, (path, text, documents, error, encrypted)) in loaded.into_iter().enumerate() {
        let id = FileId::try_from(i).unwrap_or(FileId::MAX);
        match encrypted {
            Some(Ok(why)) => sources.encrypted.push((id, why)),
            Some(Err(e)) => sources.unreadable.push((id, e)),
            None => {}
        }
        sources.files.push(SourceFile { path: path.clone(), display: display_path(path), text: without_bom(text) });
        sources.documents.extend(documents);
        if let Some(error) = error {
            sources.errors.push((id, error));
        }
    }
    sources
}

/// Where the first invalid byte is, in `text` (the lossily decoded bytes:
/// the valid prefix is the same in both).
fn utf8_error_pos(text: &str, bytes: &[u8], valid_up_to: usize) -> Pos {
    let valid = bytes.get(..valid_up_to).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("");
    let valid = valid.strip_prefix('\u{feff}').unwrap_or(valid);
    let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
    let line = valid.matches('\n').count() + 1;
    let col = valid.get(line_start..).map_or(0, |l| l.chars().count()) + 1;
    let offset = valid.len().min(without_bom_len(text));
    Pos::at(offset, u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(col).unwrap_or(u32::MAX))
}

fn without_bom_len(text: &str) -> usize {
    text.strip_prefix('\u{feff}').unwrap_or(text).len()
}

/// The text as the loader sees it (`load_str` skips a BOM), so byte offsets
/// of spans index the stored text.
fn without_bom(text: String) -> String {
    match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

/// A path as the report shows it: relative to the current directory when it
/// is below it, with `/` separators.
pub fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let shown = cwd
        .as_deref()
        .and_then(|cwd| {
            let abs = if path.is_absolute() { path.to_path_buf() } else { cwd.join(path) };
            abs.strip_prefix(cwd).ok().map(Path::to_path_buf)
        })
        .unwrap_or_else(|| path.to_path_buf());
    let text = shown.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").map(str::to_owned).unwrap_or(text)
}
