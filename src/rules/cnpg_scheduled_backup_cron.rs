//! `cnpg-scheduled-backup-cron`: a schedule CNPG rejects, or reads differently
//! from what was meant (five fields, read seconds first).

use super::{Check, Rule, RuleMeta};
use crate::cron;
use crate::finding::{Finding, Severity};
use crate::inventory::Inventory;
use crate::model::is_unresolved;

pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "cnpg-scheduled-backup-cron",
        severity: Severity::Error,
        summary: "ScheduledBackup schedule that is invalid, or five-field (CNPG reads seconds first)",
        doc: include_str!("../../rules/cnpg-scheduled-backup-cron.md"),
        coverage: false,
    },
    check: Check::Inventory(check),
};

fn check(inv: &Inventory, out: &mut Vec<Finding>) {
    for sb in &inv.scheduled_backups {
        let Some(node) = sb.schedule else {
            let span = sb.res.spec_span();
            out.push(
                RULE.meta
                    .finding(format!("ScheduledBackup `{}` has no `spec.schedule`: CNPG rejects it", sb.res.qualified_name()), span, "no schedule")
                    .help("Add a six-field schedule (seconds first), e.g. `schedule: \"0 0 3 * * *\"` for 03:00 every day.")
                    .on(sb.index, sb.res),
            );
            continue;
        };
        let Some(expr) = node.as_str().map(str::trim) else {
            continue;
        };
        if is_unresolved(expr) {
            continue;
        }
        let five = !expr.starts_with('@') && cron::field_count(expr) == 5;
        let fix = format!("0 {expr}");
        let intended = cron::parse_standard(expr).ok().map(|(s, _)| cron::describe(&s, false));
        let fix_ok = five && cron::parse_cnpg(&fix).is_ok();
        let finding = match cron::parse_cnpg(expr) {
            Ok(schedule) if five => {
                let actual = cron::describe(&schedule, true);
                let meant = intended.as_deref().map(|m| format!(", not {m} as in a crontab")).unwrap_or_default();
                RULE.meta
                    .finding(
                        format!("schedule `\"{expr}\"` has five fields; CNPG reads them seconds first, so this backup runs {actual}{meant}"),
                        node.span,
                        format!("runs {actual}"),
                    )
                    .help(format!("CNPG schedules have six fields, seconds first: write `\"{fix}\"`."))
            }
            Ok(_) => continue,
            Err(e) if five => {
                let meant = intended.as_deref().map(|m| format!(" (a crontab would read it as {m})")).unwrap_or_default();
                let mut f = RULE.meta.finding(
                    format!("schedule `\"{expr}\"` is rejected by CNPG: read seconds first, its fifth field is the month ({e}){meant}"),
                    node.span,
                    "CNPG rejects this schedule",
                );
                if fix_ok {
                    f = f.help(format!("CNPG schedules have six fields, seconds first: write `\"{fix}\"`."));
                }
                f
            }
            Err(e) => RULE.meta
                .finding(format!("schedule `\"{expr}\"` is rejected by CNPG: {e}"), node.span, "CNPG rejects this schedule")
                .help("CNPG schedules have six fields, seconds first (`\"0 0 3 * * *\"` is 03:00 daily), or a descriptor such as `@daily`; no `TZ=` prefix."),
        };
        out.push(finding.on(sb.index, sb.res));
    }
}
