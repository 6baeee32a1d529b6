//! Exclusions (this data is deliberately not backed up) and suppressions
//! (this rule does not apply here), from annotations and `.lifeboat.yaml`.

use crate::config;
use crate::inventory::conventions;
use crate::inventory::stateful::{ItemKind, StatefulItem};
use crate::model::{DevCluster, Resource};
use crate::yaml::Span;

pub const EXCLUDE_ANNOTATION: &str = "lifeboat.dev/exclude";
pub const IGNORE_CHECK_PREFIX: &str = "ignore-check.lifeboat.dev/";

/// Who excludes what the chart catalogue says a chart rebuilds by itself.
const BY_CATALOGUE: &str = "lifeboat's chart catalogue";

/// The exclusion of a claim the chart catalogue says its object rebuilds by
/// itself (the internal `rebuilt` annotation lifeboat put on it).
fn rebuilt(resource: usize, key: &crate::yaml::Node, value: &crate::yaml::Node) -> Annotation {
    Annotation {
        resource,
        rule: None,
        reason: reason_of(value).map(str::to_string),
        span: key.span.through(value.span),
        convention: Some(BY_CATALOGUE.to_string()),
    }
}

/// The reason an annotation gives (blank is none).
fn reason_of(value: &crate::yaml::Node) -> Option<&str> {
    value.as_str().map(str::trim).filter(|s| !s.is_empty())
}

/// A `lifeboat.dev/exclude` or `ignore-check.lifeboat.dev/<rule>` annotation.
#[derive(Debug, Clone)]
pub struct Annotation {
    pub resource: usize,
    /// `None` for `lifeboat.dev/exclude`; the rule id for `ignore-check…`.
    pub rule: Option<String>,
    pub reason: Option<String>,
    /// The annotation entry, key through value.
    pub span: Span,
    /// For an exclusion by a repository convention (a label or annotation
    /// other than `lifeboat.dev/exclude`), how it is written.
    pub convention: Option<String>,
}

#[derive(Debug, Default)]
pub struct Exclusions {
    pub annotations: Vec<Annotation>,
    pub config: Vec<config::Exclusion>,
    /// For each config entry, the resources it matches.
    pub config_matches: Vec<Vec<usize>>,
    /// For each config entry of kind `PersistentVolumeClaim` (or no kind),
    /// the claim templates and Helm persistence items (by index into
    /// `Inventory::items`) whose claim it names.
    pub item_matches: Vec<Vec<usize>>,
    /// Exclusions by convention on the claims of items that are not PVC
    /// manifests (a claim template's labels): (item, exclusion).
    pub item_conventions: Vec<(usize, Annotation)>,
    conventions: Vec<config::Convention>,
}

impl Exclusions {
    pub fn build(
        resources: &[Resource],
        config: &[config::Exclusion],
        conventions: &[config::Convention],
        dev_clusters: &[DevCluster],
    ) -> Exclusions {
        let mut annotations = Vec::new();
        for (index, r) in resources.iter().enumerate() {
            // Everything a local development cluster holds is throwaway:
            // excluded, with the reason and the source that says so.
            if let Some(dev) = dev_clusters.iter().find(|d| r.cluster.as_ref() == Some(&d.cluster)) {
                annotations.push(Annotation {
                    resource: index,
                    rule: None,
                    reason: Some(format!(
                        "cluster `{}` is a local development cluster (synced from `{}`)",
                        dev.cluster, dev.url
                    )),
                    span: dev.span,
                    convention: None,
                });
            }
            let labels = r.root.path(&["metadata", "labels"]).map_or(&[][..], crate::yaml::Node::as_map);
            if r.annotation(EXCLUDE_ANNOTATION).is_none() {
                if let Some(m) = conventions::find(labels, r.annotations(), conventions) {
                    annotations.push(Annotation {
                        resource: index,
                        rule: None,
                        reason: m.reason,
                        span: m.span,
                        convention: Some(m.by),
                    });
                }
            }
            for (key, value) in r.annotations() {
                let Some(k) = key.as_str() else { continue };
                if k == crate::model::REBUILT_ANNOTATION {
                    annotations.push(rebuilt(index, key, value));
                    continue;
                }
                let rule = if k == EXCLUDE_ANNOTATION {
                    None
                } else if let Some(rule) = k.strip_prefix(IGNORE_CHECK_PREFIX) {
                    Some(rule.to_string())
                } else {
                    continue;
                };
                annotations.push(Annotation {
                    resource: index,
                    rule,
                    reason: reason_of(value).map(str::to_string),
                    span: key.span.through(value.span),
                    convention: None,
                });
            }
        }
        let config_matches = config
            .iter()
            .map(|e| {
                resources
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| e.matches(&r.kind, r.namespace.as_deref(), &r.name))
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        Exclusions {
            annotations,
            config: config.to_vec(),
            config_matches,
            item_matches: Vec::new(),
            item_conventions: Vec::new(),
            conventions: conventions.to_vec(),
        }
    }

    /// Match config entries against the claims of items that are not PVC
    /// manifests (their data is a PVC, whose name the user writes).
    pub fn match_items(&mut self, items: &[StatefulItem]) {
        self.item_matches = self
            .config
            .iter()
            .map(|e| {
                items
                    .iter()
                    .enumerate()
                    .filter(|(_, item)| {
                        item.kind != ItemKind::Pvc
                            && e.matches("PersistentVolumeClaim", item.namespace(), &item.claim.likely_name())
                    })
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        self.item_conventions = items
            .iter()
            .enumerate()
            .filter(|(_, item)| item.kind != ItemKind::Pvc)
            .filter(|(_, item)| !item.annotations.iter().any(|(k, _)| k.as_str() == Some(EXCLUDE_ANNOTATION)))
            .filter_map(|(i, item)| {
                let m = conventions::find(item.labels, item.annotations, &self.conventions)?;
                Some((
                    i,
                    Annotation {
                        resource: item.index,
                        rule: None,
                        reason: m.reason,
                        span: m.span,
                        convention: Some(m.by),
                    },
                ))
            })
            .collect();
    }

    /// Does a config entry match anything?
    pub fn config_used(&self, entry: usize) -> bool {
        let hit = |v: &Vec<Vec<usize>>| v.get(entry).is_some_and(|m| !m.is_empty());
        hit(&self.config_matches) || hit(&self.item_matches)
    }

    /// Why the stateful item `item` (declared by `resource`) is excluded from
    /// backup: the resource's own exclusion, an exclusion annotation on a
    /// claim template, or a config entry naming its claim.
    pub fn item_exclusion<'a>(
        &'a self,
        item: usize,
        resource: usize,
        own: &'a StatefulItem,
    ) -> Option<ExclusionRef<'a>> {
        if let Some(e) = self.exclusion(resource) {
            return Some(e);
        }
        if let Some((k, v)) = own.annotations.iter().find(|(k, _)| k.as_str() == Some(EXCLUDE_ANNOTATION)) {
            return Some(ExclusionRef { reason: reason_of(v), span: k.span.through(v.span), by: None });
        }
        if let Some((_, a)) = self.item_conventions.iter().find(|(i, _)| *i == item) {
            return Some(a.as_ref());
        }
        if let Some((k, v)) = own.annotations.iter().find(|(k, _)| k.as_str() == Some(crate::model::REBUILT_ANNOTATION))
        {
            return Some(ExclusionRef { reason: reason_of(v), span: k.span.through(v.span), by: Some(BY_CATALOGUE) });
        }
        self.config
            .iter()
            .zip(&self.item_matches)
            .find(|(_, matches)| matches.contains(&item))
            .map(|(e, _)| ExclusionRef { reason: e.reason.as_deref(), span: e.span, by: None })
    }

    /// Why `resource` is excluded from backup, if it is.
    pub fn exclusion(&self, resource: usize) -> Option<ExclusionRef<'_>> {
        if let Some(a) = self.annotations.iter().find(|a| a.resource == resource && a.rule.is_none()) {
            return Some(a.as_ref());
        }
        self.config
            .iter()
            .zip(&self.config_matches)
            .find(|(_, matches)| matches.contains(&resource))
            .map(|(e, _)| ExclusionRef { reason: e.reason.as_deref(), span: e.span, by: None })
    }

    /// The `ignore-check` annotation on `resource` for `rule`, by position.
    pub fn suppression(&self, resource: usize, rule: &str) -> Option<usize> {
        self.annotations.iter().position(|a| a.resource == resource && a.rule.as_deref() == Some(rule))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ExclusionRef<'a> {
    pub reason: Option<&'a str>,
    pub span: Span,
    /// The repository convention that excludes it, when not lifeboat's own.
    pub by: Option<&'a str>,
}

impl<'a> ExclusionRef<'a> {
    /// "reason (label `backup-exempt: true`)" for the inventory.
    pub fn describe(&self) -> String {
        let reason = self.reason.unwrap_or("(no reason given)");
        match self.by {
            Some(by) => format!("{reason} ({by})"),
            None => reason.to_string(),
        }
    }
}

impl Annotation {
    fn as_ref(&self) -> ExclusionRef<'_> {
        ExclusionRef { reason: self.reason.as_deref(), span: self.span, by: self.convention.as_deref() }
    }
}
