//! The command line: argument parsing and exit codes only.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use lifeboat::finding::Severity;
use lifeboat::{report, rules, Options, RunError};

#[derive(Parser)]
#[command(name = "lifeboat", version, about = "Keeps GitOps repositories honest about their backups")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    /// One line per finding: `file:line:col: rule-id message`.
    Concise,
    Json,
    Sarif,
    Github,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum InventoryFormat {
    Table,
    Markdown,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum RulesFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Lint the repository (the default command).
    Check {
        /// Files or directories to read [default: .]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Write the report to FILE instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Config file [default: nearest .lifeboat.yaml upward from PATH]
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Exit 1 when a finding is at or above this severity.
        #[arg(long, value_enum, default_value = "warning")]
        fail_on: FailOn,
        /// Run only these rules (comma-separated ids).
        #[arg(long, value_delimiter = ',', value_name = "ID,...")]
        select: Vec<String>,
        /// Do not run these rules (comma-separated ids).
        #[arg(long, value_delimiter = ',', value_name = "ID,...")]
        ignore: Vec<String>,
        /// Also list skipped files, undeployed documents and model notes.
        #[arg(long, short)]
        verbose: bool,
        /// Print how many findings each rule has instead of the findings.
        #[arg(long)]
        statistics: bool,
    },
    /// Print what holds data and what protects it.
    Inventory {
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: InventoryFormat,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// List the rules.
    Rules {
        #[arg(long, value_enum, default_value = "table")]
        format: RulesFormat,
    },
    /// Show a rule's documentation.
    Explain {
        #[arg(value_name = "RULE-ID")]
        rule: String,
    },
}

const SUBCOMMANDS: [&str; 5] = ["check", "inventory", "rules", "explain", "help"];

/// `lifeboat [PATH…]` means `lifeboat check [PATH…]`.
fn with_default_command(mut args: Vec<String>) -> Vec<String> {
    let first = args.get(1).map(String::as_str);
    let is_top_level_flag = matches!(first, Some("-h" | "--help" | "-V" | "--version"));
    if !first.is_some_and(|a| SUBCOMMANDS.contains(&a)) && !is_top_level_flag {
        args.insert(1.min(args.len()), "check".to_string());
    }
    args
}

fn emit(text: &str, output: Option<&PathBuf>) -> Result<(), String> {
    match output {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| format!("cannot write the report: {e}"))
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("lifeboat: error: {message}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(with_default_command(std::env::args().collect())) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Check { paths, format, output, config, fail_on, select, ignore, verbose, statistics } => {
            let opts = Options { paths, config, select, ignore };
            let run = match lifeboat::run(&opts) {
                Ok(run) => run,
                Err(e @ (RunError::Usage(_) | RunError::Config(_))) => return fail(&e.to_string()),
            };
            let color = output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            let text = match format {
                _ if statistics => report::concise::statistics(&run),
                Format::Concise => report::concise::render(&run),
                Format::Human => report::human::render(&run, color, verbose),
                Format::Json => report::json::render(&run),
                Format::Sarif => report::sarif::render(&run),
                Format::Github => report::github::render(&run),
                Format::Markdown => report::markdown::render(&run),
            };
            if let Err(e) = emit(&text, output.as_ref()) {
                return fail(&e);
            }
            let threshold = match fail_on {
                FailOn::Error => Some(Severity::Error),
                FailOn::Warning => Some(Severity::Warning),
                FailOn::Info => Some(Severity::Info),
                FailOn::Never => None,
            };
            match (threshold, run.max_severity()) {
                (Some(t), Some(max)) if max >= t => ExitCode::from(1),
                _ => ExitCode::SUCCESS,
            }
        }
        Command::Inventory { paths, format, config } => {
            let opts = Options { paths, config, ..Options::default() };
            let inv = match report::inventory::collect(&opts) {
                Ok(inv) => inv,
                Err(e) => return fail(&e.to_string()),
            };
            let text = match format {
                InventoryFormat::Table => inv.table(),
                InventoryFormat::Markdown => inv.markdown(),
                InventoryFormat::Json => inv.json(),
            };
            match emit(&text, None) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
        Command::Rules { format } => {
            let text = match format {
                RulesFormat::Table => {
                    let width = rules::RULES.iter().map(|r| r.meta.id.len()).max().unwrap_or(0);
                    rules::RULES
                        .iter()
                        .map(|r| {
                            format!("{:<width$}  {:<7}  {}\n", r.meta.id, r.meta.severity.as_str(), r.meta.summary)
                        })
                        .collect::<String>()
                }
                RulesFormat::Json => {
                    let list: Vec<_> = rules::RULES
                        .iter()
                        .map(|r| {
                            serde_json::json!({
                                "id": r.meta.id,
                                "severity": r.meta.severity.as_str(),
                                "summary": r.meta.summary,
                                "coverage": r.meta.coverage,
                                "url": rules::doc_url(r.meta.id),
                            })
                        })
                        .collect();
                    let mut t = serde_json::to_string_pretty(&list).unwrap_or_default();
                    t.push('\n');
                    t
                }
            };
            match emit(&text, None) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
        Command::Explain { rule } => match rules::find(&rule) {
            Some(r) => match emit(r.meta.doc, None) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            },
            None => fail(&format!("unknown rule id `{rule}` (see `lifeboat rules`)")),
        },
    }
}
