//! The rule registry. Each rule is one file: its metadata, its documentation
//! (`rules/<id>.md`, compiled in) and a check over the inventory. Rules never
//! parse YAML and never touch the file system.

mod cnpg_archive_collision;
mod cnpg_bootstrap_multiple;
mod cnpg_credentials_missing;
mod cnpg_credentials_plaintext;
mod cnpg_no_scheduled_backup;
mod cnpg_no_wal_archive;
mod cnpg_object_store_missing;
mod cnpg_recovery_left_in;
mod cnpg_recovery_source_unresolved;
mod cnpg_recovery_writes_to_source;
mod cnpg_retention_invalid;
mod cnpg_retention_missing;
mod cnpg_scheduled_backup_cron;
mod cnpg_scheduled_backup_method_mismatch;
mod cnpg_scheduled_backup_orphan;
mod cnpg_scheduled_backup_suspended;
mod cronjob_schedule_invalid;
mod cronjob_suspended;
mod cronjob_writable_mount;
mod exclusion_missing_reason;
mod exclusion_unused;
mod flux_substitution_undefined;
mod pgo_no_backup_repo;
mod pgo_no_scheduled_backup;
mod pvc_backup_source_missing;
mod pvc_external_storage;
mod pvc_restore_source_missing;
mod pvc_unprotected;
mod volsync_manual_trigger;
mod volsync_no_retention;
mod volsync_no_trigger;
mod volsync_paused;
mod volsync_schedule_invalid;
mod volsync_shared_repository;
mod yaml_syntax;

use std::collections::HashSet;

use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;
use crate::yaml::Span;

/// What every rule declares about itself.
#[derive(Debug, Clone, Copy)]
pub struct RuleMeta {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    /// The Markdown documentation (`rules/<id>.md`).
    pub doc: &'static str,
    /// A coverage rule says "this data is not backed up": an exclusion of the
    /// resource (it is deliberately not backed up) silences it.
    pub coverage: bool,
}

impl RuleMeta {
    pub fn finding(&self, message: impl Into<String>, span: Span, label: impl Into<String>) -> Finding {
        Finding::new(self.id, self.severity, message, span, label)
    }
}

/// Which suppression annotations took effect in this run.
#[derive(Debug, Default)]
pub struct Usage {
    /// Indexes into `Inventory::exclusions.annotations`.
    pub used_annotations: HashSet<usize>,
    /// The rules that ran: an annotation for a rule that is off is not "unused".
    pub enabled: HashSet<&'static str>,
}

#[derive(Clone, Copy)]
pub enum Check {
    /// A check over the inventory.
    Inventory(fn(&Inventory, &mut Vec<Finding>)),
    /// A check over how exclusions and suppressions were used; runs last.
    Usage(fn(&Inventory, &Usage, &mut Vec<Finding>)),
}

#[derive(Clone, Copy)]
pub struct Rule {
    pub meta: RuleMeta,
    pub check: Check,
}

/// Every rule, in id order.
pub static RULES: &[Rule] = &[
    cnpg_archive_collision::RULE,
    cnpg_bootstrap_multiple::RULE,
    cnpg_credentials_missing::RULE,
    cnpg_credentials_plaintext::RULE,
    cnpg_no_scheduled_backup::RULE,
    cnpg_no_wal_archive::RULE,
    cnpg_object_store_missing::RULE,
    cnpg_recovery_left_in::RULE,
    cnpg_recovery_source_unresolved::RULE,
    cnpg_recovery_writes_to_source::RULE,
    cnpg_retention_invalid::RULE,
    cnpg_retention_missing::RULE,
    cnpg_scheduled_backup_cron::RULE,
    cnpg_scheduled_backup_method_mismatch::RULE,
    cnpg_scheduled_backup_orphan::RULE,
    cnpg_scheduled_backup_suspended::RULE,
    cronjob_schedule_invalid::RULE,
    cronjob_suspended::RULE,
    cronjob_writable_mount::RULE,
    exclusion_missing_reason::RULE,
    exclusion_unused::RULE,
    flux_substitution_undefined::RULE,
    pgo_no_backup_repo::RULE,
    pgo_no_scheduled_backup::RULE,
    pvc_backup_source_missing::RULE,
    pvc_external_storage::RULE,
    pvc_restore_source_missing::RULE,
    pvc_unprotected::RULE,
    volsync_manual_trigger::RULE,
    volsync_no_retention::RULE,
    volsync_no_trigger::RULE,
    volsync_paused::RULE,
    volsync_schedule_invalid::RULE,
    volsync_shared_repository::RULE,
    yaml_syntax::RULE,
];

pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.meta.id == id)
}

pub fn ids() -> Vec<&'static str> {
    RULES.iter().map(|r| r.meta.id).collect()
}

/// Where a rule's documentation is published.
pub fn doc_url(id: &str) -> String {
    format!("{}/{id}.md", crate::DOCS_BASE_URL)
}

/// Say, on a finding that a database is not archived, which pg_dump
/// CronJobs dump it: a copy as of the last dump, no point-in-time recovery.
pub fn mention_dumps(
    dumps: &[&crate::inventory::dumps::DumpJob],
    message: &mut String,
    mut finding: Finding,
) -> Finding {
    if !dumps.is_empty() {
        let names: Vec<_> = dumps.iter().map(|d| format!("`{}`", d.res.name)).collect();
        message.push_str(&format!(
            "; CronJob {} dumps it with pg_dump, which restores only to the moment of the last dump",
            names.join(", ")
        ));
        for d in dumps {
            finding = finding.related(d.span, "pg_dump: a logical dump, no point-in-time recovery");
        }
    }
    finding
}

/// "Cluster `ns/name`": how messages name a resource.
pub fn named(kind: &str, r: &crate::model::Resource) -> String {
    format!("{kind} `{}`", r.qualified_name())
}
