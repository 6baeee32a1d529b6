//! What a rule reports: a message, the exact place, related places.

use std::fmt;

use crate::model::Resource;
use crate::yaml::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A place in a file and what it has to do with the finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// The object a finding is about (the JSON report's `resource`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceRef {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// The Kubernetes cluster, in a repository that deploys several.
    pub cluster: Option<String>,
}

impl ResourceRef {
    pub fn of(r: &Resource) -> Self {
        ResourceRef {
            api_version: r.api_version.clone(),
            kind: r.kind.clone(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
            cluster: r.cluster.as_deref().map(str::to_string),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    pub primary: Label,
    pub related: Vec<Label>,
    pub help: Option<String>,
    pub resource: Option<ResourceRef>,
    /// Index of the resource in the model: what suppressions and exclusions
    /// on that resource apply to.
    pub subject: Option<usize>,
    /// Tells apart two findings of one rule on one resource (fingerprint input).
    pub key: String,
    /// The data this finding is about is excluded by an exclusion the rule
    /// matched itself (a config entry naming a chart's or template's claim).
    pub excluded: bool,
    /// Related locations the human report leaves out: patches that do not
    /// set the field the finding points at (JSON and SARIF keep them).
    pub human_hidden: Vec<Span>,
    /// Stable identity (see [`Finding::fingerprint_of`]), set by the run.
    pub fingerprint: String,
}

impl Finding {
    pub fn new(
        rule: &'static str,
        severity: Severity,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Finding {
            rule,
            severity,
            message: message.into(),
            primary: Label { span, message: label.into() },
            related: Vec::new(),
            help: None,
            resource: None,
            subject: None,
            key: String::new(),
            excluded: false,
            human_hidden: Vec::new(),
            fingerprint: String::new(),
        }
    }

    /// A stable identity: the rule, the resource's identity (kind,
    /// namespace, name, cluster; not its apiVersion, which an upgrade
    /// changes), the rule's discriminator and what is wrong (the primary
    /// label). Never a line, a column, the working directory or, for a
    /// finding on a resource, its file: it survives edits above it, a move
    /// of the file and a run from elsewhere. A finding on no resource (a
    /// syntax error, a config entry) is told apart by its file (relative to
    /// the repository root) and message.
    pub fn fingerprint_of(&self, file: &str) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let mut part = |text: &str| {
            h.update(text.as_bytes());
            h.update([0]);
        };
        part("v2");
        part(self.rule);
        match &self.resource {
            Some(r) => {
                part(&r.kind);
                part(r.namespace.as_deref().unwrap_or(""));
                part(&r.name);
                part(r.cluster.as_deref().unwrap_or(""));
            }
            None => {
                part(file);
                part(&self.message);
            }
        }
        part(&self.key);
        part(&self.primary.message);
        h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
    }

    pub fn on(mut self, index: usize, resource: &Resource) -> Self {
        self.subject = Some(index);
        self.resource = Some(ResourceRef::of(resource));
        self
    }

    /// The object the finding is about, when it is not an inventory item.
    pub fn about(mut self, resource: ResourceRef) -> Self {
        self.resource = Some(resource);
        self
    }

    pub fn related(mut self, span: Span, message: impl Into<String>) -> Self {
        self.related.push(Label { span, message: message.into() });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn excluded(mut self, excluded: bool) -> Self {
        self.excluded = excluded;
        self
    }

    /// A lesser case of the rule, reported below the rule's default level
    /// (a configured severity still applies to it).
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }
}
