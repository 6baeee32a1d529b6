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

/// Read and parse `paths` in parallel; the order of the result is the order
/// of `paths`, so ids and output are deterministic.
pub fn load_files(paths: &[PathBuf]) -> Sources {
    let loaded: Vec<_> = paths
        .par_iter()
        .enumerate()
        .map(|(i, path)| {
            let id = FileId::try_from(i).unwrap_or(FileId::MAX);
            match std::fs::read(path) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    let mut parsed = load_str(id, &text);
                    if std::str::from_utf8(&bytes).is_err() && parsed.error.is_none() {
                        parsed.error = Some(LoadError {
                            pos: Pos { offset: 0, line: 1, col: 1 },
                            message: "file is not valid UTF-8 (invalid bytes were replaced)".into(),
                        });
                    }
                    (path, text, parsed.documents, parsed.error)
                }
                Err(e) => (
                    path,
                    String::new(),
                    Vec::new(),
                    Some(LoadError {
                        pos: Pos { offset: 0, line: 1, col: 1 },
                        message: format!("cannot read file: {e}"),
                    }),
                ),
            }
        })
        .collect();
    let mut sources = Sources::default();
    for (i, (path, text, documents, error)) in loaded.into_iter().enumerate() {
        let id = FileId::try_from(i).unwrap_or(FileId::MAX);
        sources.files.push(SourceFile { path: path.clone(), display: display_path(path), text: without_bom(text) });
        sources.documents.extend(documents);
        if let Some(error) = error {
            sources.errors.push((id, error));
        }
    }
    sources
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
