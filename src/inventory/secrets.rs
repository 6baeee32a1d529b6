//! The Secrets the repository defines, directly or through a generator
//! (ExternalSecret, SealedSecret, SOPS, 1Password, Vault, Infisical …).

use std::collections::{BTreeMap, HashMap};

use crate::model::Resource;
use crate::yaml::Node;

/// How a Secret comes to exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A `Secret` manifest committed in clear text, with the keys that hold values.
    Plain { index: usize, keys: Vec<String> },
    /// A SOPS-encrypted `Secret`.
    Sops { index: usize },
    /// Made by an operator from another resource (kind given).
    Generated { index: usize, kind: String },
}

#[derive(Debug, Default)]
pub struct Secrets {
    /// name → namespace → how it is defined (first definition wins).
    by_name: HashMap<String, BTreeMap<Option<String>, SecretSource>>,
    /// Names made in every namespace (ClusterExternalSecret).
    any_namespace: BTreeMap<String, SecretSource>,
}

impl Secrets {
    pub fn build(resources: &[Resource]) -> Secrets {
        let mut s = Secrets::default();
        for (index, r) in resources.iter().enumerate() {
            let generated = |kind: &str| SecretSource::Generated { index, kind: kind.to_string() };
            match (r.group(), r.kind.as_str()) {
                ("", "Secret") => {
                    let source = if r.sops { SecretSource::Sops { index } } else { plain(index, r) };
                    s.add(r, &r.name, source);
                }
                (group, kind) => {
                    if let Some((name, everywhere)) = crate::model::made_secret(group, kind, &r.name, &r.root) {
                        if everywhere {
                            s.any_namespace.entry(name).or_insert_with(|| generated(kind));
                        } else {
                            s.add(r, &name, generated(kind));
                        }
                    }
                }
            }
        }
        s
    }

    fn add(&mut self, r: &Resource, name: &str, source: SecretSource) {
        self.by_name.entry(name.to_string()).or_default().entry(r.namespace.clone()).or_insert(source);
    }

    /// How the Secret `name` in `namespace` is defined, if the repo defines it.
    /// An unknown namespace (on either side) matches any.
    pub fn find(&self, namespace: Option<&str>, name: &str) -> Option<&SecretSource> {
        let named = self.by_name.get(name);
        named
            .and_then(|by_ns| by_ns.get(&namespace.map(str::to_string)))
            .or_else(|| self.any_namespace.get(name))
            .or_else(|| {
                named?.iter().find(|(ns, _)| crate::inventory::same_namespace(ns.as_deref(), namespace)).map(|(_, s)| s)
            })
    }
}

/// A clear-text Secret: the keys of `data`/`stringData` that carry a value
/// (a `${VAR}` placeholder is not a value).
fn plain(index: usize, r: &Resource) -> SecretSource {
    let mut keys = Vec::new();
    for section in ["data", "stringData"] {
        for (k, v) in r.root.get(section).map_or(&[][..], Node::as_map) {
            let has_value = v.as_nonempty_str().is_some_and(|t| !is_placeholder(t));
            if let (true, Some(key)) = (has_value, k.as_str()) {
                keys.push(key.to_string());
            }
        }
    }
    SecretSource::Plain { index, keys }
}

fn is_placeholder(text: &str) -> bool {
    let t = text.trim();
    (t.starts_with("${") && t.ends_with('}')) || (t.starts_with('<') && t.ends_with('>'))
}

/// Every span in `resources` that holds a clear-text secret value: reports
/// must never print these bytes.
pub fn sensitive_spans(resources: &[Resource]) -> Vec<crate::yaml::Span> {
    let mut spans = Vec::new();
    for r in resources.iter().filter(|r| r.group().is_empty() && r.kind == "Secret") {
        for section in ["data", "stringData"] {
            for (_, v) in r.root.get(section).map_or(&[][..], Node::as_map) {
                spans.push(v.span);
            }
        }
    }
    spans
}
