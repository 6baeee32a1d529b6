//! A span-aware YAML tree: every node knows the file, byte range, line and
//! column it came from, so a finding can point at the exact key or value.
//! This is also the load stage: [`load_files`] reads and parses in parallel.

mod files;
mod load;
mod tree;

mod archive;
pub use files::{display_path, load_files, load_files_filtered, SourceFile, Sources};
pub use load::{load_str, LoadError, LoadedFile, ALIAS_EXPANSION_LIMIT};
pub use tree::{str_at, str_with_span, CompactString, Document, FileId, Node, Pos, Span, Value};
