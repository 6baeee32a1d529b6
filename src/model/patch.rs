//! Patch semantics as kustomize applies them.
//!
//! - A strategic-merge patch on a custom resource behaves as a JSON merge
//!   patch (RFC 7386): mappings merge, `null` deletes, lists are replaced.
//! - On built-in kinds, lists with a merge key (`name` for containers and
//!   volumes, `mountPath` for volume mounts …) merge item by item; new items
//!   go first, as kustomize puts them. `$patch: delete` and `$patch: replace`
//!   are honoured.
//! - JSON 6902 operations (`add`, `remove`, `replace`, `move`, `copy`,
//!   `test`) apply all or nothing, as kustomize refuses a patch that fails.
//!
//! Values a patch brings keep their spans in the patch file, so a finding on
//! a patched field points at the patch.

use crate::yaml::{Node, Value};

/// Apply a strategic-merge patch to `target`; `builtin` selects merge-key
/// semantics for lists (Kubernetes built-in kinds) over list replacement.
pub fn strategic_merge(target: &mut Node, patch: &Node, builtin: bool) {
    if !patch.is_map() || directive(patch) == Some("replace") || !target.is_map() {
        *target = clean(patch);
        return;
    }
    for (k, v) in patch.as_map() {
        let Some(key) = k.as_str() else { continue };
        if key.starts_with('$') {
            continue;
        }
        if v.is_null() || (v.is_map() && directive(v) == Some("delete")) {
            target.remove(key);
            continue;
        }
        let is_seq = |n: &Node| matches!(n.value, Value::Seq(_));
        match target.get_mut(key) {
            Some(existing) if v.is_map() && existing.is_map() => strategic_merge(existing, v, builtin),
            Some(existing) if builtin && is_seq(v) && is_seq(existing) => merge_list(existing, v, key),
            Some(existing) => *existing = clean(v),
            None => {
                if let Value::Map(entries) = &mut target.value {
                    entries.push((k.clone(), clean(v)));
                }
            }
        }
    }
}

/// The `$patch` directive of a mapping.
fn directive(node: &Node) -> Option<&str> {
    node.get("$patch").and_then(Node::as_str)
}

/// The merge key of a built-in list field, as the Kubernetes API declares it.
fn merge_key(field: &str, items: &[Node]) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        "conditions" => "type",
        "ports" if items.iter().any(|i| i.get("containerPort").is_some()) => "containerPort",
        "ports" => "port",
        _ => return None,
    })
}

fn merge_list(existing: &mut Node, patch: &Node, field: &str) {
    let items = patch.as_seq();
    let key = merge_key(field, items);
    let replace = items.iter().any(|i| directive(i) == Some("replace"));
    let (Some(key), false) = (key, replace) else {
        let kept: Vec<Node> = items.iter().filter(|i| directive(i) != Some("replace")).map(clean).collect();
        *existing = Node { value: Value::Seq(kept), span: patch.span };
        return;
    };
    let Value::Seq(list) = &mut existing.value else { return };
    let mut new_items = Vec::new();
    for item in items {
        let id = item.get(key).map(scalar_text);
        let at = id.as_ref().and_then(|id| list.iter().position(|t| t.get(key).map(scalar_text).as_ref() == Some(id)));
        match (at, directive(item)) {
            (Some(at), Some("delete")) => {
                list.remove(at);
            }
            (None, Some("delete")) => {}
            (Some(at), _) => {
                if let Some(slot) = list.get_mut(at) {
                    strategic_merge(slot, item, true);
                }
            }
            (None, _) => new_items.push(clean(item)),
        }
    }
    list.splice(0..0, new_items);
}

fn scalar_text(node: &Node) -> String {
    match &node.value {
        Value::Scalar { text, .. } => text.to_string(),
        _ => String::new(),
    }
}

/// A copy of `node` without strategic-merge directives (`$patch`,
/// `$retainKeys`, `$setElementOrder/…`, `$deleteFromPrimitiveList/…`).
fn clean(node: &Node) -> Node {
    match &node.value {
        Value::Scalar { .. } => node.clone(),
        Value::Seq(items) => Node {
            value: Value::Seq(items.iter().filter(|i| directive(i) != Some("delete")).map(clean).collect()),
            span: node.span,
        },
        Value::Map(entries) => Node {
            value: Value::Map(
                entries
                    .iter()
                    .filter(|(k, _)| !k.as_str().is_some_and(|k| k.starts_with('$')))
                    .map(|(k, v)| (k.clone(), clean(v)))
                    .collect(),
            ),
            span: node.span,
        },
    }
}

/// Whether a patch document is a JSON 6902 operation list (else strategic merge).
pub fn is_json6902(patch: &Node) -> bool {
    matches!(&patch.value, Value::Seq(ops) if ops.iter().all(|op| op.get("op").is_some()))
}

/// Apply JSON 6902 operations to `target`, all or nothing.
pub fn json6902(target: &mut Node, ops: &Node) -> Result<(), String> {
    let Value::Seq(list) = &ops.value else {
        return Err("a JSON 6902 patch is a list of operations".into());
    };
    let mut work = target.clone();
    for op in list {
        let name = op.get("op").and_then(Node::as_str).ok_or("an operation has no `op`")?;
        let path = op.get("path").and_then(Node::as_str).ok_or_else(|| format!("`{name}` has no `path`"))?;
        let tokens = pointer(path)?;
        let value = || op.get("value").cloned().ok_or_else(|| format!("`{name} {path}` has no `value`"));
        let from = || -> Result<Vec<String>, String> {
            pointer(op.get("from").and_then(Node::as_str).ok_or_else(|| format!("`{name} {path}` has no `from`"))?)
        };
        match name {
            "add" => add(&mut work, &tokens, value()?)?,
            "remove" => {
                remove(&mut work, &tokens)?;
            }
            "replace" => {
                let v = value()?;
                *lookup_mut(&mut work, &tokens).ok_or_else(|| missing(path))? = v;
            }
            "move" => {
                let v = remove(&mut work, &from()?)?;
                add(&mut work, &tokens, v)?;
            }
            "copy" => {
                let from = from()?;
                let v = lookup(&work, &from).cloned().ok_or_else(|| missing(&from.join("/")))?;
                add(&mut work, &tokens, v)?;
            }
            "test" => {
                let found = lookup(&work, &tokens).ok_or_else(|| missing(path))?;
                if !same_value(found, &value()?) {
                    return Err(format!("test of `{path}` failed"));
                }
            }
            other => return Err(format!("unknown operation `{other}`")),
        }
    }
    *target = work;
    Ok(())
}

fn missing(path: &str) -> String {
    format!("path `{path}` does not exist")
}

/// The reference tokens of a JSON pointer (`~1` is `/`, `~0` is `~`).
fn pointer(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path.strip_prefix('/').ok_or_else(|| format!("`{path}` is not a JSON pointer"))?;
    Ok(rest.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect())
}

fn lookup<'a>(node: &'a Node, tokens: &[String]) -> Option<&'a Node> {
    tokens.iter().try_fold(node, |n, t| match &n.value {
        Value::Map(_) => n.get(t),
        Value::Seq(items) => t.parse::<usize>().ok().and_then(|i| items.get(i)),
        Value::Scalar { .. } => None,
    })
}

pub(super) fn lookup_mut<'a>(node: &'a mut Node, tokens: &[String]) -> Option<&'a mut Node> {
    let mut n = node;
    for t in tokens {
        n = if n.is_map() {
            n.get_mut(t)?
        } else {
            match &mut n.value {
                Value::Seq(items) => items.get_mut(t.parse::<usize>().ok()?)?,
                _ => return None,
            }
        };
    }
    Some(n)
}

fn add(node: &mut Node, tokens: &[String], value: Node) -> Result<(), String> {
    let Some((last, parent)) = tokens.split_last() else {
        *node = value;
        return Ok(());
    };
    // kustomize (evanphx/json-patch with EnsurePathExistsOnAdd) makes the
    // missing maps above an added value: `/metadata/annotations/x` on an
    // object with no annotations adds them.
    if lookup_mut(node, parent).is_none() {
        ensure_maps(node, parent);
    }
    let at = lookup_mut(node, parent).ok_or_else(|| missing(&format!("/{}", parent.join("/"))))?;
    match &mut at.value {
        Value::Map(_) => {
            at.set(last, value);
            Ok(())
        }
        Value::Seq(items) if last == "-" => {
            items.push(value);
            Ok(())
        }
        Value::Seq(items) => match last.parse::<usize>() {
            Ok(i) if i <= items.len() => {
                items.insert(i, value);
                Ok(())
            }
            _ => Err(format!("index `{last}` is out of range")),
        },
        Value::Scalar { .. } => Err(format!("cannot add `{last}` under a scalar")),
    }
}

/// Make the maps of `tokens` that do not exist, below maps that do (a list
/// index or a scalar on the way stops it).
fn ensure_maps(node: &mut Node, tokens: &[String]) {
    let Some((first, rest)) = tokens.split_first() else { return };
    if !node.is_map() || first.parse::<usize>().is_ok() || first == "-" {
        if let Value::Seq(items) = &mut node.value {
            if let Some(item) = first.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                ensure_maps(item, rest);
            }
        }
        return;
    }
    if let Some(child) = node.entry_map_if_absent(first) {
        ensure_maps(child, rest);
    }
}

fn remove(node: &mut Node, tokens: &[String]) -> Result<Node, String> {
    let (last, parent) = tokens.split_last().ok_or("cannot remove the whole document")?;
    let not_found = || missing(&format!("/{}", tokens.join("/")));
    let at = lookup_mut(node, parent).ok_or_else(not_found)?;
    match &mut at.value {
        Value::Map(_) => at.remove(last).ok_or_else(not_found),
        Value::Seq(items) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => Ok(items.remove(i)),
            _ => Err(not_found()),
        },
        Value::Scalar { .. } => Err(not_found()),
    }
}

/// Equality of YAML values, ignoring where they stand.
pub fn same_value(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Scalar { text: x, .. }, Value::Scalar { text: y, .. }) => x == y,
        (Value::Seq(x), Value::Seq(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b)),
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| y.iter().any(|(k2, v2)| k.as_str() == k2.as_str() && same_value(v, v2)))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::load_str;

    fn doc(text: &str) -> Node {
        let loaded = load_str(0, text);
        loaded.documents.first().map(|d| (*d.root).clone()).unwrap_or_else(|| Node::string("", Default::default()))
    }

    fn text(node: &Node) -> String {
        match &node.value {
            Value::Scalar { text, .. } => text.to_string(),
            Value::Seq(items) => format!("[{}]", items.iter().map(text).collect::<Vec<_>>().join(",")),
            Value::Map(entries) => format!(
                "{{{}}}",
                entries.iter().map(|(k, v)| format!("{}:{}", text(k), text(v))).collect::<Vec<_>>().join(",")
            ),
        }
    }

    #[test]
    fn custom_resources_replace_lists_and_null_deletes() {
        let mut t = doc("spec:\n  plugins: [{name: a, x: 1}]\n  keep: 1\n  drop: 2\n");
        strategic_merge(&mut t, &doc("spec:\n  plugins: [{name: b}]\n  drop: null\n"), false);
        assert_eq!(text(&t), "{spec:{plugins:[{name:b}],keep:1}}");
    }

    #[test]
    fn builtins_merge_lists_by_key_new_items_first() {
        let mut t = doc("containers: [{name: c1, image: x}]\nvolumes: [{name: v1}, {name: v2}]\n");
        let p =
            doc("containers: [{name: c2, image: y}, {name: c1, image: z}]\nvolumes: [{name: v1, $patch: delete}]\n");
        strategic_merge(&mut t, &p, true);
        assert_eq!(text(&t), "{containers:[{name:c2,image:y},{name:c1,image:z}],volumes:[{name:v2}]}");
    }

    #[test]
    fn replace_directive_replaces_the_map() {
        let mut t = doc("spec: {a: 1, b: 2}\n");
        strategic_merge(&mut t, &doc("spec: {$patch: replace, c: 3}\n"), true);
        assert_eq!(text(&t), "{spec:{c:3}}");
    }

    #[test]
    fn json6902_operations() {
        let mut t = doc("spec: {list: [a, b], x: 1}\n");
        let ops = doc("- {op: add, path: /spec/list/-, value: c}\n- {op: add, path: /spec/list/0, value: z}\n\
             - {op: replace, path: /spec/x, value: 2}\n- {op: move, from: /spec/x, path: /spec/y}\n\
             - {op: copy, from: /spec/y, path: /spec/a~1b}\n- {op: remove, path: /spec/list/1}\n\
             - {op: test, path: /spec/y, value: 2}\n");
        assert_eq!(json6902(&mut t, &ops), Ok(()));
        assert_eq!(text(&t), "{spec:{list:[z,b,c],y:2,a/b:2}}");
    }

    #[test]
    fn a_failing_operation_changes_nothing() {
        let mut t = doc("spec: {x: 1}\n");
        let ops = doc("- {op: add, path: /spec/y, value: 2}\n- {op: replace, path: /spec/missing/z, value: 3}\n");
        assert!(json6902(&mut t, &ops).is_err_and(|e| e.contains("does not exist")));
        assert_eq!(text(&t), "{spec:{x:1}}");
        assert!(json6902(&mut t, &doc("- {op: test, path: /spec/x, value: 9}\n")).is_err());
        assert!(json6902(&mut t, &doc("- {op: frob, path: /spec/x}\n")).is_err());
        assert!(json6902(&mut t, &doc("- {op: add, path: /spec/x/0/1, value: 1}\n")).is_err());
    }
}
