//! Bounds on kustomize expansion, so that no repository can make a build
//! hang: a kustomization that several others include is built once and
//! reused (a diamond of shared bases thousands deep stays linear), an entry
//! listed twice or a cycle is a model note (kustomize refuses both), and
//! the instances all builds produce together are capped in proportion to
//! the documents read, per root and over all roots (a diamond whose sides
//! rename what they include doubles at every level: past the cap it is cut
//! off with a note).

use std::collections::{HashMap, HashSet};

use super::kustomize::{Kustomization, PathIndex};
use super::{ModelNote, Resource};
use crate::yaml::FileId;

/// Instances all builds may produce, per document read, before lifeboat
/// stops expanding (plus a fixed allowance for small repositories).
const INSTANCES_PER_DOCUMENT: usize = 16;
const INSTANCES_BASE: usize = 10_000;
/// How many roots' budgets all builds together may spend.
const TOTAL_BUDGETS: usize = 8;

/// A finished build of one kustomization on its own: what it produced and
/// the notes it made on the way (made again on every reuse).
struct Built {
    resources: Vec<Resource>,
    notes: Vec<ModelNote>,
    /// The kustomizations the build built (itself and what it includes).
    kustomizations: Vec<FileId>,
}

pub(super) struct Expansions {
    /// Kustomizations listed by more than one entry: their builds are kept.
    shared: HashSet<FileId>,
    memo: HashMap<FileId, Built>,
    /// Instances produced by the current root's builds of what it includes.
    made: usize,
    /// Instances produced by the roots before it.
    total: usize,
    budget: usize,
    /// The budget ran out: nothing more is expanded.
    pub exhausted: bool,
    /// Whether a kustomization builds a remote base, by kustomization.
    pub remote: HashMap<FileId, bool>,
}

impl Expansions {
    pub(super) fn new<'a>(
        kustomizations: impl Iterator<Item = &'a Kustomization>,
        index: &PathIndex,
        documents: usize,
    ) -> Expansions {
        let mut listed: HashMap<FileId, usize> = HashMap::new();
        for k in kustomizations {
            for entry in k.resources.iter().chain(&k.components) {
                if let Some(&kid) = index.kustomization_dirs.get(&entry.path) {
                    *listed.entry(kid).or_default() += 1;
                }
            }
        }
        Expansions {
            shared: listed.into_iter().filter(|&(_, n)| n > 1).map(|(kid, _)| kid).collect(),
            memo: HashMap::new(),
            made: 0,
            total: 0,
            budget: INSTANCES_BASE.saturating_add(documents.saturating_mul(INSTANCES_PER_DOCUMENT)),
            exhausted: false,
            remote: HashMap::new(),
        }
    }

    /// A kept build of `kid`, if there is one.
    pub(super) fn reuse(&self, kid: FileId) -> Option<(&[Resource], &[ModelNote], &[FileId])> {
        if self.exhausted {
            return None;
        }
        self.memo.get(&kid).map(|b| (b.resources.as_slice(), b.notes.as_slice(), b.kustomizations.as_slice()))
    }

    /// Keep the build of `kid` when other entries will ask for it again.
    pub(super) fn keep(&mut self, kid: FileId, resources: &[Resource], notes: &[ModelNote], built: &[FileId]) {
        if self.shared.contains(&kid) {
            let mut notes = notes.to_vec();
            notes.sort_by(|a, b| (a.span, &a.message).cmp(&(b.span, &b.message)));
            notes.dedup_by(|a, b| a.span == b.span && a.message == b.message);
            let mut kustomizations = built.to_vec();
            kustomizations.sort_unstable();
            kustomizations.dedup();
            self.memo.insert(kid, Built { resources: resources.to_vec(), notes, kustomizations });
        }
    }

    /// A root's build starts: its budget is whole again, unless all builds
    /// together have spent [`TOTAL_BUDGETS`] budgets.
    pub(super) fn start_root(&mut self) {
        self.total = self.total.saturating_add(self.made);
        self.made = 0;
        self.exhausted = self.total > self.budget.saturating_mul(TOTAL_BUDGETS);
    }

    /// Count `n` more instances; false when that passes the budget.
    pub(super) fn spend(&mut self, n: usize) -> bool {
        self.made = self.made.saturating_add(n);
        if self.made > self.budget && !self.exhausted {
            self.exhausted = true;
            // What was kept is what ran over: let it go.
            self.memo.clear();
        }
        !self.exhausted
    }

    pub(super) fn budget(&self) -> usize {
        self.budget
    }
}

/// What identifies an instance in one build: kustomize refuses a build
/// that holds one object twice.
pub(super) fn identity(r: &Resource) -> (FileId, usize, String, Option<String>, String) {
    (r.file, r.doc_index, r.kind.clone(), r.namespace.clone(), r.name.clone())
}
