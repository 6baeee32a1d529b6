//! Inputs the fuzz targets (`fuzz/`) found a crash or a hang with, kept as
//! regressions: `fixtures/fuzz/load/*` must load with every span inside the
//! text, on char boundaries and not running backwards (the `load` target's
//! checks); `fixtures/fuzz/pipeline/*` are cut into a repository the way the
//! `pipeline` target does and checked by the binary without a hang.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::lifeboat;
use lifeboat::yaml::load_str;

fn inputs(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fuzz").join(kind);
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    files.sort();
    files
}

#[test]
fn loader_regressions_give_sound_spans() {
    let files = inputs("load");
    assert!(!files.is_empty(), "fixtures/fuzz/load holds the regressions");
    for path in files {
        let bytes = std::fs::read(&path).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        let loaded = load_str(0, &text);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        for doc in &loaded.documents {
            doc.root.walk(&mut |n| {
                let (start, end) = (n.span.start.byte(), n.span.end.byte());
                assert!(start <= end && end <= text.len(), "{}: span {:?}", path.display(), n.span);
                assert!(text.is_char_boundary(start) && text.is_char_boundary(end), "{}", path.display());
                assert!(n.span.start.line <= n.span.end.line, "{}: span {:?}", path.display(), n.span);
            });
        }
    }
}

/// The files the `pipeline` target cuts its input into, in order.
const FILES: [&str; 8] = [
    "kustomization.yaml",
    "flux.yaml",
    "apps/db/kustomization.yaml",
    "apps/db/cluster.yaml",
    "apps/db/volsync.yaml",
    "base/kustomization.yaml",
    "base/pvc.yaml",
    "argo.yaml",
];

#[test]
fn pipeline_regressions_finish() {
    for path in inputs("pipeline") {
        let data = std::fs::read(&path).expect("read");
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in ["apps/db", "base"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        let mut parts: Vec<&[u8]> = Vec::new();
        let mut rest = &data[..];
        while parts.len() + 1 < FILES.len() {
            let Some(at) = rest.windows(4).position(|w| w == b"\n%%\n") else { break };
            parts.push(&rest[..at]);
            rest = &rest[at + 4..];
        }
        parts.push(rest);
        for (name, bytes) in FILES.iter().zip(parts) {
            std::fs::write(dir.path().join(name), bytes).expect("write");
        }
        let mut child = lifeboat()
            .args(["check", "--format", "json"])
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if start.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{}: lifeboat did not finish (a hang)", path.display());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(matches!(status.code(), Some(0..=2)), "{}: {status:?}", path.display());
    }
}
