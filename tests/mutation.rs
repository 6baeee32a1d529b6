//! Mutation testing on the stable toolchain: real trees (`fixtures/`,
//! `examples/`, and `../shared/corpus` when it is there) are damaged in
//! bounded, deterministic ways (lines deleted, duplicated, swapped; the
//! file truncated; `[`, `{`, `*a`, `&a`, `<<:`, a tab, invalid UTF-8
//! inserted; a `resources` entry repeated or pointed at itself; a long
//! flow sequence), and the real binary is run on each with `--format json`.
//! Every run must exit 0, 1 or 2, print valid JSON when it exits 0 or 1,
//! and finish within a generous bound (a hang detector, not a timing: a run
//! that does not finish is killed and the test fails).

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::lifeboat;

const SEED: u64 = 0x11fe_b0a7;
/// Far above any run's time on these trees, even in debug on a busy machine.
const HANG_BOUND: Duration = Duration::from_secs(60);

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// The trees to mutate, with how many mutations each gets.
fn trees() -> Vec<(PathBuf, usize)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![(root.join("examples/homelab"), 30), (root.join("fixtures/clean"), 4)];
    for group in ["fixtures/model", "fixtures/rules"] {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join(group))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect())
            .unwrap_or_default();
        dirs.sort();
        out.extend(dirs.into_iter().map(|d| (d, 3)));
    }
    let corpus = root.join("../shared/corpus");
    match std::fs::read_dir(&corpus) {
        Ok(entries) => {
            let mut repos: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
            repos.sort();
            out.extend(repos.into_iter().map(|r| (r, 8)));
        }
        Err(e) => println!("skipping the corpus: {} is not readable ({e})", corpus.display()),
    }
    out
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') && name != ".lifeboat.yaml" {
            continue;
        }
        let meta = std::fs::symlink_metadata(&p);
        if meta.as_ref().is_ok_and(|m| m.is_dir()) {
            yaml_files(&p, out);
        } else if meta.is_ok_and(|m| m.is_file()) && (name.ends_with(".yaml") || name.ends_with(".yml")) {
            out.push(p);
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    let Ok(entries) = std::fs::read_dir(from) else { return };
    for e in entries.filter_map(Result::ok) {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        match std::fs::symlink_metadata(&src) {
            Ok(m) if m.is_dir() => {
                std::fs::create_dir_all(&dst).expect("mkdir");
                copy_tree(&src, &dst);
            }
            Ok(m) if m.is_file() => {
                std::fs::copy(&src, &dst).expect("copy");
            }
            _ => {}
        }
    }
}

/// One damaged version of `text`, and what was done.
fn mutate(text: &[u8], rng: &mut Rng) -> (Vec<u8>, &'static str) {
    let mut lines: Vec<Vec<u8>> = text.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    if lines.is_empty() {
        lines.push(Vec::new());
    }
    let at = rng.below(lines.len());
    let join = |lines: &[Vec<u8>]| lines.concat();
    let insert_at = |text: &[u8], rng: &mut Rng, what: &[u8]| {
        let pos = rng.below(text.len() + 1);
        [&text[..pos], what, &text[pos..]].concat()
    };
    match rng.below(15) {
        0 => {
            lines.remove(at);
            (join(&lines), "delete a line")
        }
        1 => {
            let line = lines[at].clone();
            lines.insert(at, line);
            (join(&lines), "duplicate a line")
        }
        2 => {
            let other = rng.below(lines.len());
            lines.swap(at, other);
            (join(&lines), "swap two lines")
        }
        3 => (text[..rng.below(text.len() + 1)].to_vec(), "truncate"),
        4 => (insert_at(text, rng, b"["), "insert ["),
        5 => (insert_at(text, rng, b"{"), "insert {"),
        6 => (insert_at(text, rng, b"*a"), "insert *a"),
        7 => (insert_at(text, rng, b"&a "), "insert &a"),
        8 => {
            let indent: Vec<u8> = lines[at].iter().take_while(|b| **b == b' ').copied().collect();
            lines.insert(at, [&indent[..], b"<<: *a\n"].concat());
            (join(&lines), "insert <<: *a")
        }
        9 => {
            // Point a list entry at its own directory, twice (a cycle of
            // duplicates: `resources: [., .]`).
            let entries: Vec<usize> =
                (0..lines.len()).filter(|&i| lines[i].trim_ascii_start().starts_with(b"- ")).collect();
            match entries.get(rng.below(entries.len())) {
                Some(&i) => {
                    let indent: Vec<u8> = lines[i].iter().take_while(|b| **b == b' ').copied().collect();
                    for _ in 0..2 {
                        lines.insert(i, [&indent[..], b"- .\n"].concat());
                    }
                    (join(&lines), "list the directory itself twice")
                }
                None => ([text, b"\nresources: [., .]\n"].concat(), "list the directory itself twice"),
            }
        }
        10 => {
            // Repeat a list entry (a `resources:` entry in a kustomization),
            // or, with none, make the file list itself.
            let entries: Vec<usize> =
                (0..lines.len()).filter(|&i| lines[i].trim_ascii_start().starts_with(b"- ")).collect();
            match entries.get(rng.below(entries.len())) {
                Some(&i) => {
                    let line = lines[i].clone();
                    let times = 1 + rng.below(3);
                    for _ in 0..times {
                        lines.insert(i, line.clone());
                    }
                    (join(&lines), "repeat a list entry")
                }
                None => (
                    [text, b"\nresources: [., ., ../, ../..]\n"].concat(),
                    "add resources that repeat and include themselves",
                ),
            }
        }
        11 => (insert_at(text, rng, b"\t"), "insert a tab"),
        12 => (insert_at(text, rng, &[0xff, 0xfe]), "insert invalid UTF-8"),
        13 => {
            let long = format!("k: [{}]\n", vec!["1"; 20_000].join(","));
            lines.insert(at, long.into_bytes());
            (join(&lines), "insert a long flow sequence")
        }
        _ => (insert_at(text, rng, b"\n---\n"), "insert a document separator"),
    }
}

fn run_bounded(dir: &Path) -> Result<(Option<i32>, Vec<u8>), String> {
    let mut child = lifeboat()
        .args(["check", "--format", "json"])
        .arg(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut pipe = child.stdout.take().ok_or("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut pipe, &mut v).map(|_| v).unwrap_or_default()
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok((status.code(), reader.join().unwrap_or_default()));
        }
        if start.elapsed() > HANG_BOUND {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("did not finish within {HANG_BOUND:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn mutated_trees_never_crash_hang_or_print_broken_json() {
    let trees = trees();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let runs = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((tree, count)) = trees.get(i) else { break };
                let tmp = tempfile::tempdir().expect("temp dir");
                let copy = tmp.path().join(tree.file_name().unwrap_or_default());
                std::fs::create_dir_all(&copy).expect("mkdir");
                copy_tree(tree, &copy);
                let mut files = Vec::new();
                yaml_files(&copy, &mut files);
                let mut rng = Rng(SEED ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                for _ in 0..*count {
                    let Some(file) = files.get(rng.below(files.len())) else { break };
                    let original = std::fs::read(file).expect("read");
                    let (damaged, what) = mutate(&original, &mut rng);
                    std::fs::write(file, &damaged).expect("write");
                    let shown = format!("{} ({what})", file.strip_prefix(tmp.path()).unwrap_or(file).display());
                    runs.fetch_add(1, Ordering::SeqCst);
                    let problem = match run_bounded(&copy) {
                        Err(e) => Some(e),
                        Ok((Some(0 | 1), out)) => serde_json::from_slice::<serde_json::Value>(&out)
                            .err()
                            .map(|e| format!("stdout is not JSON: {e}")),
                        Ok((Some(2), _)) => None,
                        Ok((code, _)) => Some(format!("exit code {code:?}")),
                    };
                    if let Some(problem) = problem {
                        let keep = std::env::temp_dir()
                            .join(format!("lifeboat-mutation-{}", failures.lock().map_or(0, |f| f.len())));
                        let _ = std::fs::write(&keep, &damaged);
                        failures
                            .lock()
                            .expect("lock")
                            .push(format!("{shown}: {problem} (input kept in {})", keep.display()));
                    }
                    std::fs::write(file, &original).expect("restore");
                }
            });
        }
    });
    let failures = failures.into_inner().expect("lock");
    println!("{} mutated runs over {} trees", runs.load(Ordering::SeqCst), trees.len());
    assert!(failures.is_empty(), "{} mutated runs failed:\n{}", failures.len(), failures.join("\n"));
}
