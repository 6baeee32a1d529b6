//! Compare the two span-keeping YAML parsers considered for the loader on the
//! real repositories in `../shared/corpus` (skipped, with a reason, when that
//! directory is absent). Run with `cargo bench --bench parsers`.
//!
//! Both are driven at the event level with positions (what the loader needs);
//! `lifeboat tree` is the full loader (tree, merge keys, byte offsets).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(path);
        }
    }
}

fn best_of<F: FnMut() -> usize>(runs: usize, mut f: F) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut n = 0;
    for _ in 0..runs {
        let t = Instant::now();
        n = f();
        best = best.min(t.elapsed());
    }
    (best, n)
}

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !corpus.is_dir() {
        println!("skipped: {} not found (the shared corpus is only on developer and CI machines)", corpus.display());
        return;
    }
    let mut files = Vec::new();
    yaml_files(&corpus, &mut files);
    files.sort();
    let sources: Vec<String> = files.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect();
    let bytes: usize = sources.iter().map(String::len).sum();
    println!("corpus: {} files, {:.1} MiB", sources.len(), bytes as f64 / 1048576.0);

    let (t, n) = best_of(5, || {
        sources.iter().map(|s| saphyr_parser::Parser::new_from_str(s).take_while(Result::is_ok).count()).sum()
    });
    println!("saphyr-parser 0.3 events+spans   {:>8.1} ms  ({n} events)", t.as_secs_f64() * 1e3);

    let (t, n) = best_of(5, || {
        sources
            .iter()
            .map(|s| {
                let mut parser = yaml_rust2::parser::Parser::new_from_str(s);
                let mut count = 0usize;
                while let Ok((ev, _marker)) = parser.next_token() {
                    count += 1;
                    if ev == yaml_rust2::parser::Event::StreamEnd {
                        break;
                    }
                }
                count
            })
            .sum()
    });
    println!("yaml-rust2 0.10 events+markers   {:>8.1} ms  ({n} events)", t.as_secs_f64() * 1e3);

    let (t, n) = best_of(5, || {
        sources.iter().enumerate().map(|(i, s)| lifeboat::yaml::load_str(i as u32, s).documents.len()).sum()
    });
    println!("lifeboat tree (saphyr)           {:>8.1} ms  ({n} documents)", t.as_secs_f64() * 1e3);
}
