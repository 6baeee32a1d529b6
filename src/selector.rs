//! Kubernetes label selectors, in both of their forms: the string form of
//! `kubectl -l` and kustomize `labelSelector`s (`tier=db,env in (prod,staging),!legacy`)
//! and the structured form of `matchLabels`/`matchExpressions`. One parser
//! serves every place lifeboat reads a selector, with the semantics of
//! `k8s.io/apimachinery/pkg/labels`: requirements are ANDed; `!=`, `notin`
//! and `!key` match an object that lacks the key; `=`, `in` and `key` need
//! it; an empty selector matches everything.

use crate::yaml::Node;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    pub requirements: Vec<Requirement>,
}

impl Requirement {
    fn matches(&self, value: Option<&str>) -> bool {
        let listed = |v: &str| self.values.iter().any(|x| x == v);
        let number = |v: &str| v.trim().parse::<i64>().ok();
        let bound = self.values.first().and_then(|b| number(b));
        match self.operator {
            Operator::Equals | Operator::In => value.is_some_and(listed),
            Operator::NotEquals | Operator::NotIn => !value.is_some_and(listed),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan => matches!((value.and_then(number), bound), (Some(v), Some(b)) if v > b),
            Operator::LessThan => matches!((value.and_then(number), bound), (Some(v), Some(b)) if v < b),
        }
    }
}

impl LabelSelector {
    /// Whether an object whose labels `get` reads is selected.
    pub fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.requirements.iter().all(|r| r.matches(get(&r.key)))
    }

    /// Whether a label map (`metadata.labels`, absent = no labels) is selected.
    pub fn matches_map(&self, labels: Option<&Node>) -> bool {
        self.matches(|k| labels.and_then(|l| l.get(k)).and_then(Node::as_str))
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The string form. An error names what is wrong (kustomize and
    /// kubectl refuse such a selector).
    pub fn parse(text: &str) -> Result<LabelSelector, String> {
        let mut requirements = Vec::new();
        let mut rest = text.trim();
        while !rest.is_empty() {
            let (requirement, after) = parse_requirement(rest)?;
            requirements.push(requirement);
            rest = after.trim_start();
            match rest.strip_prefix(',') {
                Some(after) => {
                    rest = after.trim_start();
                    if rest.is_empty() {
                        return Err(format!("`{text}`: a requirement is missing after the last `,`"));
                    }
                }
                None if rest.is_empty() => {}
                None => return Err(format!("`{text}`: expected `,` before `{rest}`")),
            }
        }
        Ok(LabelSelector { requirements })
    }

    /// The structured form: `matchLabels` and `matchExpressions` (operators
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`).
    pub fn from_node(node: &Node) -> Result<LabelSelector, String> {
        let mut requirements = Vec::new();
        for (k, v) in node.get("matchLabels").map_or(&[][..], Node::as_map) {
            let (Some(key), Some(value)) = (k.as_str(), v.as_str()) else {
                return Err("matchLabels holds a key or value that is not a string".into());
            };
            requirements.push(Requirement { key: key.into(), operator: Operator::Equals, values: vec![value.into()] });
        }
        for e in node.get("matchExpressions").map_or(&[][..], Node::as_seq) {
            let key = e.get("key").and_then(Node::as_str).ok_or("a matchExpression has no `key`")?;
            let values: Vec<String> = e
                .get("values")
                .map_or(&[][..], Node::as_seq)
                .iter()
                .filter_map(Node::as_str)
                .map(String::from)
                .collect();
            let operator = match e.get("operator").and_then(Node::as_str) {
                Some("In") => Operator::In,
                Some("NotIn") => Operator::NotIn,
                Some("Exists") => Operator::Exists,
                Some("DoesNotExist") => Operator::DoesNotExist,
                other => return Err(format!("matchExpression on `{key}`: unknown operator {other:?}")),
            };
            if matches!(operator, Operator::In | Operator::NotIn) && values.is_empty() {
                return Err(format!("matchExpression on `{key}`: `{operator:?}` needs values"));
            }
            requirements.push(Requirement { key: key.into(), operator, values });
        }
        Ok(LabelSelector { requirements })
    }
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')
}

/// One requirement at the start of `text`, and what follows it.
fn parse_requirement(text: &str) -> Result<(Requirement, &str), String> {
    let (negated, text) = match text.strip_prefix('!') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, text),
    };
    let end = text.find(|c: char| !is_key_char(c)).unwrap_or(text.len());
    let (key, rest) = text.split_at(end);
    if key.is_empty() {
        return Err(format!("expected a label key at `{text}`"));
    }
    let key = key.to_string();
    let rest = rest.trim_start();
    if negated {
        return Ok((Requirement { key, operator: Operator::DoesNotExist, values: Vec::new() }, rest));
    }
    // One value after the operator: the requirement and the length of what follows.
    let single = |operator, rest: &str| -> Result<(Requirement, usize), String> {
        let rest = rest.trim_start();
        let end = rest.find(|c: char| c == ',' || c.is_whitespace()).unwrap_or(rest.len());
        let (value, after) = rest.split_at(end);
        if value.chars().any(|c| !is_key_char(c)) {
            return Err(format!("`{value}` is not a label value"));
        }
        Ok((Requirement { key: key.clone(), operator, values: vec![value.to_string()] }, after.len()))
    };
    let (requirement, after_len) = if let Some(r) = rest.strip_prefix("==") {
        single(Operator::Equals, r)?
    } else if let Some(r) = rest.strip_prefix("!=") {
        single(Operator::NotEquals, r)?
    } else if let Some(r) = rest.strip_prefix('=') {
        single(Operator::Equals, r)?
    } else if let Some(r) = rest.strip_prefix('>') {
        single(Operator::GreaterThan, r)?
    } else if let Some(r) = rest.strip_prefix('<') {
        single(Operator::LessThan, r)?
    } else if let Some(r) = word(rest, "notin") {
        set(key, Operator::NotIn, r)?
    } else if let Some(r) = word(rest, "in") {
        set(key, Operator::In, r)?
    } else {
        return Ok((Requirement { key, operator: Operator::Exists, values: Vec::new() }, rest));
    };
    let consumed = text.len() - after_len;
    Ok((requirement, text.get(consumed..).unwrap_or("")))
}

/// `rest` after the operator word `op` (followed by a space or `(`).
fn word<'t>(rest: &'t str, op: &str) -> Option<&'t str> {
    let after = rest.strip_prefix(op)?;
    after.starts_with(|c: char| c.is_whitespace() || c == '(').then_some(after)
}

/// `(a, b, c)` after `in`/`notin`: the requirement and the length of what follows.
fn set(key: String, operator: Operator, rest: &str) -> Result<(Requirement, usize), String> {
    let rest = rest.trim_start();
    let inner = rest.strip_prefix('(').ok_or_else(|| format!("`{key}`: expected `(` after the operator"))?;
    let close = inner.find(')').ok_or_else(|| format!("`{key}`: the value set has no closing `)`"))?;
    let (list, after) = inner.split_at(close);
    let values: Vec<String> = list.split(',').map(str::trim).filter(|v| !v.is_empty()).map(String::from).collect();
    if let Some(bad) = values.iter().find(|v| v.chars().any(|c| !is_key_char(c))) {
        return Err(format!("`{bad}` is not a label value"));
    }
    let after = after.get(1..).unwrap_or("");
    Ok((Requirement { key, operator, values }, after.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn check(selector: &str, labels: &[(&str, &str)]) -> bool {
        let map: HashMap<&str, &str> = labels.iter().copied().collect();
        LabelSelector::parse(selector).map(|s| s.matches(|k| map.get(k).copied())).unwrap_or(false)
    }

    #[test]
    fn equality_and_inequality() {
        assert!(check("tier=db", &[("tier", "db")]));
        assert!(check("tier==db", &[("tier", "db")]));
        assert!(!check("tier=db", &[("tier", "web")]));
        assert!(!check("tier=db", &[]));
        assert!(check("tier!=db", &[("tier", "web")]));
        assert!(check("tier!=db", &[]), "a key absent matches !=");
        assert!(!check("tier!=db", &[("tier", "db")]));
    }

    #[test]
    fn sets() {
        assert!(check("env in (prod, staging)", &[("env", "prod")]));
        assert!(check("env in(prod,staging)", &[("env", "staging")]));
        assert!(!check("env in (prod,staging)", &[("env", "dev")]));
        assert!(!check("env in (prod)", &[]));
        assert!(check("env notin (dev,test)", &[("env", "prod")]));
        assert!(check("env notin (dev,test)", &[]), "a key absent matches notin");
        assert!(!check("env notin (dev,test)", &[("env", "dev")]));
    }

    #[test]
    fn existence() {
        assert!(check("backup", &[("backup", "")]));
        assert!(!check("backup", &[]));
        assert!(check("!legacy", &[]));
        assert!(!check("!legacy", &[("legacy", "true")]));
    }

    #[test]
    fn joined_requirements_are_all_needed() {
        let labels = [("app", "gitea"), ("env", "prod")];
        assert!(check("app=gitea,env in (prod,staging),!legacy", &labels));
        assert!(!check("app=gitea,env notin (prod),!legacy", &labels));
        assert!(check("app = gitea , env != dev", &labels));
    }

    #[test]
    fn numbers() {
        assert!(check("replicas>1", &[("replicas", "3")]));
        assert!(!check("replicas<1", &[("replicas", "3")]));
        assert!(!check("replicas>1", &[]));
    }

    #[test]
    fn empty_matches_everything_and_bad_input_is_an_error() {
        assert!(check("", &[]));
        for bad in ["=x", "a in x", "a in (x", "a=b,", "a b", "a=(x)"] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn structured_form() {
        let yaml = "matchLabels: {app: db}\nmatchExpressions:\n  - {key: tier, operator: NotIn, values: [cache]}\n  - {key: legacy, operator: DoesNotExist}\n";
        let loaded = crate::yaml::load_str(0, yaml);
        let node = &loaded.documents.first().expect("one document").root;
        let s = LabelSelector::from_node(node).expect("valid");
        let map: HashMap<&str, &str> = [("app", "db")].into_iter().collect();
        assert!(s.matches(|k| map.get(k).copied()));
        let map: HashMap<&str, &str> = [("app", "db"), ("tier", "cache")].into_iter().collect();
        assert!(!s.matches(|k| map.get(k).copied()));
    }
}
