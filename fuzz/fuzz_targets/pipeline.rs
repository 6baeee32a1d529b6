//! The whole pipeline (discover, load, model, inventory, rules and every
//! report format) on a small repository made of the input: the input is cut
//! at lines `%%` into the files below, so one input is a kustomize overlay
//! over a base, a Flux Kustomization, a CNPG Cluster, a VolSync
//! ReplicationSource and an Argo CD Application that reach one another.
#![no_main]

use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;

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

fn repo_dir() -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    base.join(format!("lifeboat-fuzz-{}", std::process::id()))
}

fuzz_target!(|data: &[u8]| {
    let dir = repo_dir();
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["apps/db", "base"] {
        if std::fs::create_dir_all(dir.join(sub)).is_err() {
            return;
        }
    }
    let mut parts = Vec::new();
    let mut rest = data;
    while parts.len() + 1 < FILES.len() {
        match rest.windows(4).position(|w| w == b"\n%%\n") {
            Some(at) => {
                parts.push(&rest[..at]);
                rest = &rest[at + 4..];
            }
            None => break,
        }
    }
    parts.push(rest);
    for (name, bytes) in FILES.iter().zip(parts) {
        if std::fs::write(dir.join(name), bytes).is_err() {
            return;
        }
    }
    let opts = lifeboat::Options { paths: vec![dir.clone()], allow_empty: true, ..Default::default() };
    if let Ok(run) = lifeboat::run(&opts) {
        let _ = lifeboat::report::human::render(&run, false, true);
        let json = lifeboat::report::json::render(&run);
        assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok(), "the JSON report is not JSON");
        let _ = lifeboat::report::sarif::render(&run);
        let _ = lifeboat::report::github::render(&run);
        let _ = lifeboat::report::markdown::render(&run);
    }
    // The inventory report on every 16th input: it runs the pipeline again.
    if data.len() % 16 == 0 {
        if let Ok(inventory) = lifeboat::report::inventory::collect(&opts) {
            let _ = inventory.table();
            let _ = inventory.json();
        }
    }
});
