//! Foreign opt-outs: the labels and annotations other tools and repositories
//! use to say "not backed up, on purpose" (`backup-exempt: "true"`,
//! `velero.io/exclude-from-backup: "true"`, `k8up.io/backup: "false"`,
//! `backup: "false"`), and
//! the ones a repository maps in `.lifeboat.yaml` `exclusionConventions:`.
//! Each is an exclusion like `lifeboat.dev/exclude`; its reason is read from
//! a sibling annotation whose key contains `reason`.

use crate::config::{Convention, ConventionOn};
use crate::yaml::{Node, Span};

/// Key names (the part after any `prefix/`) that mean "do not back this up"
/// when their value is truthy.
const OPT_OUT_NAMES: &[&str] = &["backup-exempt", "exclude-from-backup", "no-backup", "skip-backup"];

/// Keys whose value `false` means "do not back this up" (K8up's, and a
/// bare `backup: "false"` label).
const OPT_IN_FALSE: &[&str] = &["k8up.io/backup", "backup"];

/// An exclusion by convention found on one object.
#[derive(Debug, Clone)]
pub struct ConventionMatch {
    /// How it is written, for people: "label `backup-exempt: true`".
    pub by: String,
    pub reason: Option<String>,
    /// The label or annotation entry, key through value.
    pub span: Span,
}

/// The scalar text of a label or annotation value (a plain `true` too).
fn value_text(v: &Node) -> Option<String> {
    v.as_str().map(|s| s.trim().to_string()).or_else(|| v.as_bool().map(|b| b.to_string()))
}

fn truthy(text: &str) -> bool {
    matches!(text.to_ascii_lowercase().as_str(), "true" | "yes" | "on" | "1" | "y" | "enabled")
}

fn falsy(text: &str) -> bool {
    matches!(text.to_ascii_lowercase().as_str(), "false" | "no" | "off" | "0" | "n" | "disabled")
}

fn name_part(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// Does a built-in convention say `key: value` excludes the object?
fn builtin(key: &str, value: &str) -> bool {
    let name = name_part(key).to_ascii_lowercase();
    (OPT_OUT_NAMES.contains(&name.as_str()) && truthy(value))
        || (OPT_IN_FALSE.iter().any(|k| k.eq_ignore_ascii_case(key)) && falsy(value))
}

/// Does a configured convention say `key: value` on `on` excludes it?
fn configured(c: &Convention, on: ConventionOn, key: &str, value: &str) -> bool {
    c.on == on && c.key == key && c.value.as_deref().map_or(truthy(value), |v| v == value)
}

/// The reason a sibling annotation gives: the configured `reasonAnnotation`,
/// else an annotation whose key contains `reason`, preferring one that also
/// names the convention (`…/backup-exempt-reason`) or backups.
fn reason(annotations: &[(Node, Node)], key: &str, reason_annotation: Option<&str>) -> Option<String> {
    let nonblank = |v: &Node| v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(wanted) = reason_annotation {
        return annotations.iter().find(|(k, _)| k.as_str() == Some(wanted)).and_then(|(_, v)| nonblank(v));
    }
    let name = name_part(key).to_ascii_lowercase();
    let candidates: Vec<(String, &Node)> = annotations
        .iter()
        .filter_map(|(k, v)| k.as_str().map(|k| (k.to_ascii_lowercase(), v)))
        .filter(|(k, _)| k.contains("reason"))
        .collect();
    let rank = |k: &str| {
        if k.contains(&name) {
            0
        } else if k.contains("backup") || k.contains("exclu") || k.contains("exempt") {
            1
        } else {
            2
        }
    };
    candidates.iter().min_by_key(|(k, _)| rank(k)).and_then(|(_, v)| nonblank(v))
}

/// The first exclusion by convention among an object's labels and
/// annotations: configured conventions first, then the built-in ones.
pub fn find(labels: &[(Node, Node)], annotations: &[(Node, Node)], config: &[Convention]) -> Option<ConventionMatch> {
    let places = [(ConventionOn::Label, labels), (ConventionOn::Annotation, annotations)];
    let entries = || {
        places.iter().flat_map(|(on, pairs)| {
            pairs.iter().filter_map(move |(k, v)| Some((*on, k.as_str()?, value_text(v)?, k.span.through(v.span))))
        })
    };
    let hit = |on: ConventionOn, key: &str, value: &str, span: Span, reason_annotation: Option<&str>| ConventionMatch {
        by: format!("{} `{key}: {value}`", on.word()),
        reason: reason(annotations, key, reason_annotation),
        span,
    };
    for c in config {
        if let Some((on, key, value, span)) = entries().find(|(on, k, v, _)| configured(c, *on, k, v)) {
            return Some(hit(on, key, &value, span, c.reason_annotation.as_deref()));
        }
    }
    entries().find(|(_, k, v, _)| builtin(k, v)).map(|(on, key, value, span)| hit(on, key, &value, span, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::load_str;

    fn meta(text: &str, config: &[Convention]) -> Option<ConventionMatch> {
        let loaded = load_str(0, text);
        let doc = loaded.documents.first()?;
        let at = |k: &str| doc.root.path(&["metadata", k]).map_or(&[][..], Node::as_map);
        find(at("labels"), at("annotations"), config)
    }

    #[test]
    fn builtin_opt_outs() {
        let m = meta(
            "metadata:\n  labels: {backup-exempt: \"true\"}\n  annotations:\n    other/restart-reason: no\n    storage.x.dev/backup-exempt-reason: cache\n",
            &[],
        );
        let m = m.expect("backup-exempt is a convention");
        assert_eq!(m.by, "label `backup-exempt: true`");
        assert_eq!(m.reason.as_deref(), Some("cache"));
        assert!(meta("metadata:\n  labels: {velero.io/exclude-from-backup: \"true\"}\n", &[]).is_some());
        assert!(meta("metadata:\n  annotations: {k8up.io/backup: \"false\"}\n", &[]).is_some());
        assert!(meta("metadata:\n  annotations: {k8up.io/backup: \"true\"}\n", &[]).is_none());
        assert!(meta("metadata:\n  labels: {backup-exempt: \"false\"}\n", &[]).is_none());
        assert!(meta("metadata:\n  labels: {backup: hourly}\n", &[]).is_none());
        assert!(meta("metadata:\n  labels: {backup: \"false\"}\n", &[]).is_some());
        assert!(meta("metadata:\n  labels: {backup: \"true\"}\n", &[]).is_none());
        assert!(meta("metadata:\n  labels: {example.dev/backup: \"false\"}\n", &[]).is_none());
        let bare = meta("metadata:\n  labels: {no-backup: yes}\n", &[]).expect("truthy yes");
        assert_eq!(bare.reason, None);
    }

    #[test]
    fn configured_convention_and_reason_annotation() {
        let c = Convention {
            on: ConventionOn::Label,
            key: "example.dev/tier".into(),
            value: Some("scratch".into()),
            reason_annotation: Some("example.dev/why".into()),
            span: Span::default(),
        };
        let text =
            "metadata:\n  labels: {example.dev/tier: scratch}\n  annotations: {example.dev/why: rebuilt nightly}\n";
        let m = meta(text, std::slice::from_ref(&c)).expect("configured");
        assert_eq!(m.reason.as_deref(), Some("rebuilt nightly"));
        assert!(meta("metadata:\n  labels: {example.dev/tier: gold}\n", &[c]).is_none());
    }
}
