//! The command line: argument parsing and exit codes only.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use lifeboat::finding::Severity;
use lifeboat::{gate, report, root, rules, Options, RunError};

// glibc's malloc serialises the parser threads on its arena locks (a
// third of the time of a 20k-file run was in futex waits); mimalloc keeps
// a heap per thread.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The JSON Schema of `.lifeboat.yaml` (`lifeboat config-schema`).
const CONFIG_SCHEMA: &str = include_str!("../schema/lifeboat-config.schema.json");

#[derive(Parser)]
#[command(
    name = "lifeboat",
    version,
    about = "Keeps GitOps repositories honest about their backups",
    long_about = "Keeps GitOps repositories honest about their backups.\n\n`lifeboat [PATH...]` is `lifeboat check [PATH...]`.",
    after_help = "Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 the run itself failed."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Each finding with the lines it is about (for people).
    Human,
    /// One line per finding: `file:line:col: rule-id message`.
    Concise,
    /// The versioned JSON report.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
    /// A table for a pull-request comment or a job summary.
    Markdown,
    /// GitLab's code quality report (the merge request widget).
    Gitlab,
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

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Color {
    /// Colour on a terminal, unless NO_COLOR, CLICOLOR=0 or TERM=dumb say
    /// otherwise (CLICOLOR_FORCE or FORCE_COLOR force it).
    Auto,
    Always,
    Never,
}

/// What a run reads and which rules it runs (`check` and `baseline`).
#[derive(Args)]
struct Selection {
    /// Files or directories to report on [default: .]. The whole repository
    /// is read whatever they are; they choose which findings are reported.
    paths: Vec<PathBuf>,
    /// The config: a file, or a directory holding .lifeboat.yaml or
    /// .lifeboat.yml [default: the nearest one upward from the first PATH].
    /// Its directory is the repository root.
    #[arg(long, value_name = "FILE|DIR")]
    config: Option<PathBuf>,
    /// Run only these rules: ids, group prefixes (cnpg, pvc, volsync …) or ALL.
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    select: Vec<String>,
    /// Do not run these rules: ids, group prefixes or ALL.
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    ignore: Vec<String>,
    /// Accept a run that finds no Kubernetes document (otherwise exit 2).
    #[arg(long)]
    allow_empty: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Lint the repository (the default command).
    Check {
        #[command(flatten)]
        selection: Selection,
        /// How to print the report.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Write the report to FILE instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Exit 1 when a finding is at or above this severity.
        #[arg(long, value_enum, default_value = "warning")]
        fail_on: FailOn,
        /// Report only findings this baseline file does not accept (see
        /// `lifeboat baseline`); its entries that no longer occur are listed.
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
        /// Pull-request mode: report only findings about files changed since
        /// the merge base of REF and the working tree (read with git).
        #[arg(long, value_name = "REF", conflicts_with = "changed_files")]
        diff_base: Option<String>,
        /// Pull-request mode: report only findings about the files listed in
        /// FILE (one a line, relative to the current directory; `-` reads
        /// standard input).
        #[arg(long, value_name = "FILE|-")]
        changed_files: Option<PathBuf>,
        /// Also list skipped files, undeployed documents and model notes.
        #[arg(long, short, conflicts_with = "quiet")]
        verbose: bool,
        /// Print the findings and nothing else (no summary, no notes).
        #[arg(long, short)]
        quiet: bool,
        /// Print how many findings each rule has instead of the findings.
        #[arg(long)]
        statistics: bool,
        /// Colour the human report.
        #[arg(long, value_enum, default_value = "auto")]
        color: Color,
    },
    /// Write a baseline: the findings of today, accepted, so `check
    /// --baseline FILE` fails only on new ones.
    Baseline {
        #[command(flatten)]
        selection: Selection,
        /// Write the baseline to FILE instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print what holds data and what protects it.
    Inventory {
        /// Files or directories to read [default: .]
        paths: Vec<PathBuf>,
        /// How to print the inventory.
        #[arg(long, value_enum, default_value = "table")]
        format: InventoryFormat,
        /// The config: a file, or a directory holding one.
        #[arg(long, value_name = "FILE|DIR")]
        config: Option<PathBuf>,
    },
    /// List the rules.
    Rules {
        /// How to print the list.
        #[arg(long, value_enum, default_value = "table")]
        format: RulesFormat,
    },
    /// Show a rule's documentation.
    Explain {
        /// The rule id (`lifeboat rules` lists them).
        #[arg(value_name = "RULE-ID")]
        rule: String,
    },
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the JSON Schema of .lifeboat.yaml (for editors and CI checks).
    ConfigSchema,
}

const SUBCOMMANDS: [&str; 8] =
    ["check", "baseline", "inventory", "rules", "explain", "completions", "config-schema", "help"];

/// `lifeboat [PATH…]` means `lifeboat check [PATH…]`.
fn with_default_command(mut args: Vec<String>) -> Vec<String> {
    let first = args.get(1).map(String::as_str);
    let is_top_level_flag = matches!(first, Some("-h" | "--help" | "-V" | "--version"));
    if !first.is_some_and(|a| SUBCOMMANDS.contains(&a)) && !is_top_level_flag {
        args.insert(1.min(args.len()), "check".to_string());
    }
    args
}

/// Write the report; a closed pipe (`| head`) is not an error.
fn emit(text: &str, output: Option<&PathBuf>) -> Result<(), String> {
    match output {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(format!("cannot write the report: {e}")),
                Ok(()) => Ok(()),
            }
        }
    }
}

/// [`emit`] for a report written piece by piece into a buffered writer.
fn emit_with(
    output: Option<&PathBuf>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), String> {
    match output {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            let mut w = std::io::BufWriter::new(file);
            write(&mut w).and_then(|()| w.flush()).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            match write(&mut w).and_then(|()| w.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(format!("cannot write the report: {e}")),
                Ok(()) => Ok(()),
            }
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("lifeboat: error: {message}");
    ExitCode::from(2)
}

/// Whether the human report is coloured.
fn use_color(choice: Color, to_terminal: bool) -> bool {
    let force_color = std::env::var_os("FORCE_COLOR").is_some_and(|v| !v.is_empty() && v != "0");
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto if anstyle_query::no_color() => false,
        Color::Auto if anstyle_query::clicolor_force() || force_color => true,
        Color::Auto if anstyle_query::clicolor() == Some(false) => false,
        Color::Auto => to_terminal && anstyle_query::term_supports_color(),
    }
}

/// A path of the command line, absolute (it is read after the run moves to
/// the repository root).
fn absolute(path: &Path) -> PathBuf {
    root::absolute_lexical(path)
}

/// Find the repository root, move there, and make the options of the run.
fn prepare(selection: Selection, located: Option<root::Located>) -> Result<(Options, root::Located), String> {
    let located = match located {
        Some(l) => l,
        None => root::locate(&selection.paths, selection.config.as_deref())?,
    };
    std::env::set_current_dir(&located.root)
        .map_err(|e| format!("cannot enter the repository root {}: {e}", located.root.display()))?;
    let opts = Options {
        paths: vec![PathBuf::from(".")],
        config: located.config.clone(),
        select: selection.select,
        ignore: selection.ignore,
        scope: located.scope(),
        allow_empty: selection.allow_empty,
        no_config: located.config.is_none(),
        ..Options::default()
    };
    Ok((opts, located))
}

/// The changed files of pull-request mode (read before the run moves to
/// the repository root: a list is relative to the directory it was given in).
fn changed_files(
    diff_base: Option<&str>,
    list: Option<&Path>,
    located: &root::Located,
    cwd: &Path,
) -> Result<Option<gate::Changed>, String> {
    if let Some(base) = diff_base {
        return gate::changed_since(&located.root, base).map(Some);
    }
    let Some(list) = list else { return Ok(None) };
    let (text, source) = if list.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("--changed-files -: cannot read standard input: {e}"))?;
        (text, "standard input".to_string())
    } else {
        let text = std::fs::read_to_string(cwd.join(list))
            .map_err(|e| format!("--changed-files: cannot read {}: {e}", list.display()))?;
        (text, list.display().to_string())
    };
    Ok(Some(gate::changed_from_list(&text, cwd, &located.root, &source)))
}

fn run_or_fail(opts: &Options) -> Result<lifeboat::Run, ExitCode> {
    lifeboat::run(opts).map_err(|e: RunError| fail(&e.to_string()))
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
    let cwd = std::env::current_dir().unwrap_or_default();
    match cli.command {
        Command::Check {
            selection,
            format,
            output,
            fail_on,
            baseline,
            diff_base,
            changed_files: list,
            verbose,
            quiet,
            statistics,
            color,
        } => {
            let output = output.map(|p| absolute(&p));
            let baseline = match baseline.map(|p| {
                let shown = p.display().to_string();
                gate::Baseline::load(&absolute(&p), &shown)
            }) {
                Some(Err(e)) => return fail(&e),
                Some(Ok(b)) => Some(b),
                None => None,
            };
            let located = match root::locate(&selection.paths, selection.config.as_deref()) {
                Ok(l) => l,
                Err(e) => return fail(&e),
            };
            let changed = match changed_files(diff_base.as_deref(), list.as_deref(), &located, &cwd) {
                Ok(c) => c,
                Err(e) => return fail(&e),
            };
            let (mut opts, located) = match prepare(selection, Some(located)) {
                Ok(x) => x,
                Err(e) => return fail(&e),
            };
            opts.baseline = baseline;
            opts.changed = changed;
            if verbose {
                let how = match located.how {
                    root::RootSource::Config => "the config's directory",
                    root::RootSource::Git => "the git work tree",
                    root::RootSource::Paths => "the path given",
                };
                eprintln!("lifeboat: repository root {} ({how})", located.root.display());
            }
            let run = match run_or_fail(&opts) {
                Ok(run) => run,
                Err(code) => return code,
            };
            let to_terminal = output.is_none() && std::io::stdout().is_terminal();
            let view = report::View { color: use_color(color, to_terminal), verbose, quiet };
            // JSON and SARIF are written as they are serialized (a report
            // of 100k findings is not held as one text besides the findings).
            let written = match format {
                _ if statistics => emit(&report::concise::statistics(&run), output.as_ref()),
                Format::Json => emit_with(output.as_ref(), |w| report::json::write(&run, w)),
                Format::Sarif => emit_with(output.as_ref(), |w| report::sarif::write(&run, w)),
                Format::Concise => emit(&report::concise::render_with(&run, &view), output.as_ref()),
                Format::Human => emit(&report::human::render_with(&run, &view), output.as_ref()),
                Format::Github => emit(&report::github::render(&run), output.as_ref()),
                Format::Markdown => emit(&report::markdown::render(&run), output.as_ref()),
                Format::Gitlab => emit(&report::gitlab::render(&run), output.as_ref()),
            };
            if let Err(e) = written {
                return fail(&e);
            }
            let threshold = match fail_on {
                FailOn::Error => Some(Severity::Error),
                FailOn::Warning => Some(Severity::Warning),
                FailOn::Info => Some(Severity::Info),
                FailOn::Never => None,
            };
            let code = match (threshold, run.max_severity()) {
                (Some(t), Some(max)) if max >= t => ExitCode::from(1),
                _ => ExitCode::SUCCESS,
            };
            // The process ends here: freeing the model's millions of small
            // allocations one by one would be 5% of a large run, for nothing.
            std::mem::forget(run);
            code
        }
        Command::Baseline { selection, output } => {
            let output = output.map(|p| absolute(&p));
            let (opts, _) = match prepare(selection, None) {
                Ok(x) => x,
                Err(e) => return fail(&e),
            };
            let run = match run_or_fail(&opts) {
                Ok(run) => run,
                Err(code) => return code,
            };
            let entries = report::baseline_entries(&run);
            if let Err(e) = emit(&gate::render(&entries), output.as_ref()) {
                return fail(&e);
            }
            if let Some(path) = &output {
                eprintln!("lifeboat: wrote {} baseline entries to {}", entries.len(), path.display());
            }
            ExitCode::SUCCESS
        }
        Command::Inventory { paths, format, config } => {
            let selection = Selection { paths, config, select: Vec::new(), ignore: Vec::new(), allow_empty: true };
            let (opts, _) = match prepare(selection, None) {
                Ok(x) => x,
                Err(e) => return fail(&e),
            };
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
            None => fail(&lifeboat::unknown_rule(&rule)),
        },
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "lifeboat", &mut script);
            match emit(&String::from_utf8_lossy(&script), None) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
        Command::ConfigSchema => match emit(CONFIG_SCHEMA, None) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        },
    }
}
