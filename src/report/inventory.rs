//! `lifeboat inventory`: what holds data and what protects it, as the table
//! people keep by hand in their backup plans.

use serde_json::json;

use crate::cron;
use crate::inventory::cnpg::{Archiver, Cluster};
use crate::inventory::Inventory;
use crate::yaml::Node;
use crate::{Options, RunError};

/// One stateful item and its protection.
#[derive(Debug, Clone)]
pub struct Row {
    pub app: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub size: String,
    pub storage_class: String,
    /// Mechanisms, each "what (schedule, retention)".
    pub protection: Vec<String>,
    pub excluded: Option<String>,
    pub file: String,
    pub line: u32,
}

impl Row {
    pub fn status(&self) -> String {
        match (&self.excluded, self.protection.is_empty()) {
            (Some(reason), _) => format!("excluded: {reason}"),
            (None, true) => "NOT PROTECTED".to_string(),
            (None, false) => self.protection.join("; "),
        }
    }
}

#[derive(Debug, Default)]
pub struct InventoryReport {
    pub rows: Vec<Row>,
    pub unreached: Vec<String>,
}

fn cluster_row(inv: &Inventory, c: &Cluster, files: &crate::yaml::Sources) -> Row {
    let spec = c.res.spec();
    let text = |path: &[&str]| spec.and_then(|s| s.path(path)).and_then(Node::as_str).unwrap_or("").to_string();
    let mut protection = Vec::new();
    if c.replica {
        protection.push("replica cluster (reads its source's archive)".to_string());
    }
    let archive = inv.archive_id(c).map(|(id, _)| id.to_string());
    match &c.archiver {
        Some(Archiver::InTree(_)) => {
            let retention = c.retention.and_then(Node::as_str).unwrap_or("no retention");
            protection.push(format!("WAL archive: barmanObjectStore {} ({retention})", archive.unwrap_or_default()));
        }
        Some(Archiver::Plugin(p)) => {
            let store = inv.plugin_store(c.namespace(), p);
            let retention = store.and_then(|(s, _)| s.retention).and_then(Node::as_str).unwrap_or("no retention");
            let object = p.barman_object_name.and_then(Node::as_str).unwrap_or("?");
            let target = archive.map(|a| format!(" {a}")).unwrap_or_default();
            protection.push(format!("WAL archive: plugin {} ObjectStore {object}{target} ({retention})", p.name));
        }
        None => {}
    }
    for sb in inv.scheduled_backups_for(c) {
        let schedule = sb.schedule.and_then(Node::as_str).unwrap_or("");
        let when =
            cron::parse_cnpg(schedule).map(|s| cron::describe(&s, true)).unwrap_or_else(|_| "invalid schedule".into());
        let suspended = if sb.suspend.and_then(Node::as_bool) == Some(true) { ", SUSPENDED" } else { "" };
        protection.push(format!("base backups: ScheduledBackup {} \"{schedule}\" ({when}{suspended})", sb.res.name));
    }
    for d in inv.dump_jobs_for(c) {
        let schedule = d.res.spec().and_then(|s| s.get("schedule")).and_then(Node::as_str).unwrap_or("");
        protection.push(format!("pg_dump: CronJob {} \"{schedule}\"", d.res.name));
    }
    let file = files.file(c.res.file).map(|f| f.display.clone()).unwrap_or_default();
    let app = file.rsplit_once('/').map_or(String::new(), |(dir, _)| dir.to_string());
    Row {
        app,
        kind: "Cluster".into(),
        namespace: c.namespace().unwrap_or("").to_string(),
        name: c.name().to_string(),
        size: text(&["storage", "size"]),
        storage_class: text(&["storage", "storageClass"]),
        protection,
        excluded: inv.exclusions.exclusion(c.index).map(|e| e.reason.unwrap_or("(no reason given)").to_string()),
        file,
        line: c.res.name_span().start.line,
    }
}

pub fn collect(opts: &Options) -> Result<InventoryReport, RunError> {
    let mut config = crate::load_config(opts)?;
    let (sources, model, _) = crate::load(opts, &mut config)?;
    let inv = Inventory::build(&model, &sources.errors, &config);
    let mut rows: Vec<Row> = inv.clusters.iter().map(|c| cluster_row(&inv, c, &sources)).collect();
    rows.sort_by(|a, b| (&a.app, &a.namespace, &a.name).cmp(&(&b.app, &b.namespace, &b.name)));
    let unreached = model
        .unreached
        .iter()
        .map(|u| {
            let file = sources.file(u.file).map(|f| f.display.as_str()).unwrap_or("");
            format!("{} {} in {file}: {}", u.kind, u.name, u.reason)
        })
        .collect();
    Ok(InventoryReport { rows, unreached })
}

impl InventoryReport {
    pub fn table(&self) -> String {
        let header = ["APP", "KIND", "NAMESPACE/NAME", "SIZE", "PROTECTION"];
        let cells: Vec<[String; 5]> = self
            .rows
            .iter()
            .map(|r| [r.app.clone(), r.kind.clone(), format!("{}/{}", r.namespace, r.name), r.size.clone(), r.status()])
            .collect();
        let width = |i: usize| cells.iter().map(|c| c[i].chars().count()).chain([header[i].len()]).max().unwrap_or(0);
        let widths: Vec<usize> = (0..4).map(width).collect();
        let line = |c: [&str; 5]| {
            let mut s = String::new();
            for (i, w) in widths.iter().enumerate() {
                s.push_str(&format!("{:<w$}  ", c[i]));
            }
            s.push_str(c[4]);
            s.push('\n');
            s
        };
        let mut out = line(header);
        for c in &cells {
            out.push_str(&line([&c[0], &c[1], &c[2], &c[3], &c[4]]));
        }
        if !self.unreached.is_empty() {
            out.push_str(&format!("\n{} documents are not deployed by any kustomization:\n", self.unreached.len()));
            for u in &self.unreached {
                out.push_str(&format!("  {u}\n"));
            }
        }
        out
    }

    pub fn markdown(&self) -> String {
        let mut out = String::from("| App | Kind | Namespace/Name | Size | Protected by |\n|---|---|---|---|---|\n");
        for r in &self.rows {
            let status = r.status().replace('|', "\\|");
            let status = if r.protection.is_empty() && r.excluded.is_none() { format!("**{status}**") } else { status };
            out.push_str(&format!(
                "| {} | {} | `{}/{}` | {} | {} |\n",
                r.app, r.kind, r.namespace, r.name, r.size, status
            ));
        }
        out
    }

    pub fn json(&self) -> String {
        let items: Vec<_> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "app": r.app, "kind": r.kind, "namespace": r.namespace, "name": r.name,
                    "size": r.size, "storageClass": r.storage_class,
                    "protection": r.protection, "excluded": r.excluded,
                    "protected": !r.protection.is_empty(),
                    "file": r.file, "line": r.line,
                })
            })
            .collect();
        let mut t = serde_json::to_string_pretty(&json!({ "version": 1, "items": items, "unreached": self.unreached }))
            .unwrap_or_default();
        t.push('\n');
        t
    }
}
