//! lifeboat: a linter that keeps GitOps repositories honest about their
//! backups.
//!
//! The pipeline: discover → load → model → inventory → rules → report. Each
//! stage is one module; data flows one way through them.

pub mod config;
pub mod cron;
pub mod discover;
pub mod finding;
pub mod gate;
pub mod inventory;
pub mod model;
pub mod report;
pub mod root;
pub mod rules;
pub mod selector;
pub mod yaml;

use std::path::PathBuf;

use config::{Config, ConfigError, RuleSetting};
use finding::{Finding, Severity};
use inventory::Inventory;
use model::Model;
use rules::{Check, RuleMeta, Usage};
use yaml::{Sources, Span};

/// Where the rule documentation is published (`<base>/<rule-id>.md`).
pub const DOCS_BASE_URL: &str = "https://github.com/lifeboat-dev/lifeboat/blob/main/rules";

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// What to read (the repository root, from the command line).
    pub paths: Vec<PathBuf>,
    pub config: Option<PathBuf>,
    /// Rule ids, `ALL` or group prefixes (`cnpg`, `pvc` …).
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    /// Report only findings whose primary location is under one of these
    /// (relative to the current directory, `/`-separated; empty or `.`:
    /// everything read).
    pub scope: Vec<String>,
    /// Pull-request mode: report only findings about these files.
    pub changed: Option<gate::Changed>,
    /// Report only findings this baseline does not accept.
    pub baseline: Option<gate::Baseline>,
    /// A run that finds no Kubernetes document is not an error.
    pub allow_empty: bool,
    /// Use no config unless `config` names one (the command line looked
    /// for one already, no higher than the git work tree).
    pub no_config: bool,
}

/// Why a run could not be made (exit code 2).
#[derive(Debug)]
pub enum RunError {
    Usage(String),
    Config(ConfigError),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Usage(m) => f.write_str(m),
            RunError::Config(e) => write!(f, "{e}"),
        }
    }
}

/// Everything a run produced: what the reports print.
pub struct Run {
    pub sources: Sources,
    pub model: Model,
    pub config: Config,
    /// Enabled rules with their effective severity, in id order.
    pub rules: Vec<RuleMeta>,
    /// Sorted: file, line, column, rule.
    pub findings: Vec<Finding>,
    pub suppressed: usize,
    /// Spans holding clear-text secret values: never printed.
    pub sensitive: Vec<Span>,
    /// Files discovery passed over on purpose, with why.
    pub skipped: Skipped,
    /// Set when lifeboat linted only part of the repository.
    pub partial: Option<Partial>,
    /// Paths the repository references that lifeboat skipped, with why
    /// (shown in every human report, not only with `--verbose`).
    pub not_read: Vec<NotRead>,
    /// What the gate left out of `findings` (scope, baseline, pull request).
    pub gate: Gate,
}

/// What the gate did: findings left out of the report, and why.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    /// The PATH arguments the report is restricted to (empty: all).
    pub scope: Vec<String>,
    /// Findings whose primary location is outside `scope`.
    pub out_of_scope: usize,
    /// The baseline used, the findings it accepted, and its entries that
    /// no longer occur.
    pub baseline: Option<String>,
    pub baselined: usize,
    pub stale: Vec<gate::Entry>,
    /// The baseline accepts the partial-model warning.
    pub partial_accepted: bool,
    /// Pull-request mode: where the changed files came from, how many, and
    /// the findings about no changed file.
    pub changed: Option<(String, usize)>,
    pub unchanged: usize,
}

/// A path a kustomization or Flux Kustomization names that is on disk but
/// was not read.
#[derive(Debug, Clone)]
pub struct NotRead {
    pub path: PathBuf,
    pub why: String,
    /// Where the repository names it.
    pub span: Span,
}

/// Share of the repository's documents above which a run warns that it
/// linted only part of it (more than half not deployed from the roots found).
pub const PARTIAL_SHARE: f64 = 0.5;

/// A run that modelled only part of the repository: most documents are not
/// deployed from the roots it found, or a root deploys nothing. Every format
/// says so, and it counts as a warning for `--fail-on`, so a run that
/// cannot see the repository is never a silent pass.
#[derive(Debug, Clone)]
pub struct Partial {
    pub deployed: usize,
    pub not_deployed: usize,
    /// The entry points used ("Flux Kustomization `flux-system/flux-system`").
    pub roots: Vec<String>,
    /// Entry points that deploy nothing.
    pub empty_roots: Vec<String>,
    /// How the roots were chosen ("inferred", "configured", "fallback").
    pub how: &'static str,
    /// Helm chart templates lifeboat skipped (it does not render charts).
    pub chart_templates: usize,
    /// Templates of rendered charts that could not be rendered.
    pub unrendered: usize,
}

impl Partial {
    fn of(model: &Model, files: usize, skipped: &Skipped) -> Option<Partial> {
        let (deployed, not_deployed) = model.document_counts();
        let total = deployed + not_deployed;
        let share = if total == 0 { 0.0 } else { not_deployed as f64 / total as f64 };
        let empty_roots: Vec<String> =
            model.entries.iter().filter(|e| e.deployed == 0).map(|e| e.label.clone()).collect();
        let chart_templates = skipped.iter().filter(|(_, why)| why.starts_with("Helm chart template")).count();
        // YAML files but not one deployed Kubernetes document (local Helm
        // charts, say) is not a clean repository either.
        let nothing = deployed == 0 && (files > 0 || chart_templates > 0);
        let unrendered = model.chart_failures.len();
        if share <= PARTIAL_SHARE && empty_roots.is_empty() && !nothing && unrendered == 0 {
            return None;
        }
        let how = match model.entry_source {
            model::EntrySource::Configured => "from `roots:` in .lifeboat.yaml",
            model::EntrySource::Bootstrap => "where Flux is bootstrapped",
            model::EntrySource::Fallback => "Flux Kustomizations nothing deploys (no entry point found)",
            model::EntrySource::Argo => "Argo CD Applications",
            model::EntrySource::Kustomize => "kustomizations nothing includes",
        };
        let mut roots: Vec<String> = model.entries.iter().map(|e| e.label.clone()).collect();
        roots.dedup();
        Some(Partial { deployed, not_deployed, roots, empty_roots, how, chart_templates, unrendered })
    }

    /// The percentage of documents not deployed.
    pub fn percent_not_deployed(&self) -> usize {
        let total = self.deployed + self.not_deployed;
        (self.not_deployed * 100).checked_div(total).unwrap_or(0)
    }

    /// One paragraph: what was linted, what was not, and what to do.
    pub fn message(&self) -> String {
        let whole = self.deployed + self.not_deployed;
        let only_charts = self.unrendered > 0
            && self.empty_roots.is_empty()
            && self.deployed > 0
            && (self.not_deployed as f64) <= PARTIAL_SHARE * whole as f64;
        if only_charts {
            return format!(
                "lifeboat could not render {} template(s) of charts this repository keeps (each is named in --verbose): what they create is not linted, and what those charts make is listed as \"not judged\" in `lifeboat inventory`",
                self.unrendered
            );
        }
        let mut text = if self.deployed == 0 && self.not_deployed == 0 {
            "lifeboat found no Kubernetes document to lint in this repository (".to_string() + self.how
        } else {
            format!(
            "lifeboat linted only part of this repository: {} of {} Kubernetes documents ({}%) are not deployed from the roots it found ({}",
            self.not_deployed,
            self.deployed + self.not_deployed,
            self.percent_not_deployed(),
            self.how
        )
        };
        if self.roots.is_empty() {
            text.push(')');
        } else {
            let shown: Vec<&str> = self.roots.iter().take(5).map(String::as_str).collect();
            text.push_str(&format!(": {}", shown.join(", ")));
            if self.roots.len() > 5 {
                text.push_str(&format!(" and {} more", self.roots.len() - 5));
            }
            text.push(')');
        }
        if !self.empty_roots.is_empty() {
            text.push_str(&format!("; deploying nothing: {}", self.empty_roots.join(", ")));
        }
        if self.chart_templates > 0 {
            text.push_str(&format!(
                "; {} Helm chart template file(s) were skipped, not rendered (what those charts create is not linted)",
                self.chart_templates
            ));
        }
        if self.unrendered > 0 {
            text.push_str(&format!("; {} template(s) of charts it renders could not be rendered", self.unrendered));
        }
        if self.deployed == 0 && self.not_deployed == 0 {
            text.push_str(": nothing here was linted");
            return text;
        }
        text.push_str(
            ". If these are not the entry points of your clusters, name them with `roots:` in .lifeboat.yaml (paths, or Flux Kustomization / Argo CD Application names); if the rest is dead, list it under `paths.ignore`",
        );
        text
    }
}

/// The rule ids `selectors` name: `ALL`, an id, or a group prefix (`cnpg`,
/// `cnpg-recovery`: every id starting with it and a `-`). An unknown one is
/// an error naming the nearest id.
pub fn resolve_rules(selectors: &[String], flag: &str) -> Result<Vec<&'static str>, RunError> {
    let mut out = Vec::new();
    for sel in selectors.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if sel.eq_ignore_ascii_case("all") {
            out.extend(rules::ids());
            continue;
        }
        if rules::find(sel).is_some() {
            out.extend(rules::find(sel).map(|r| r.meta.id));
            continue;
        }
        let prefix = format!("{}-", sel.trim_end_matches('-'));
        let group: Vec<&'static str> = rules::ids().into_iter().filter(|id| id.starts_with(&prefix)).collect();
        if group.is_empty() {
            return Err(RunError::Usage(format!("{flag}: {}", unknown_rule(sel))));
        }
        out.extend(group);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// "unknown rule id `x`", with the nearest id or group when one is close.
pub fn unknown_rule(id: &str) -> String {
    let mut candidates: Vec<String> = rules::ids().iter().map(|s| s.to_string()).collect();
    let mut groups: Vec<String> =
        rules::ids().iter().filter_map(|id| id.split('-').next()).map(str::to_string).collect();
    groups.dedup();
    candidates.extend(groups);
    let best = candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(id, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, c)) => format!("unknown rule id `{id}`; did you mean `{c}`? (see `lifeboat rules`)"),
        None => format!("unknown rule id `{id}` (see `lifeboat rules`)"),
    }
}

/// Load the config the options name, or the nearest `.lifeboat.yaml`.
pub fn load_config(opts: &Options) -> Result<Config, RunError> {
    let first = opts.paths.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    let path = match &opts.config {
        Some(p) if !p.is_file() => return Err(RunError::Usage(format!("config file not found: {}", p.display()))),
        Some(p) => Some(p.clone()),
        None if opts.no_config => None,
        None => config::find_config(&first),
    };
    match path {
        Some(p) => Config::load(&p, &rules::ids()).map_err(RunError::Config),
        None => Ok(Config { base: first, ..Config::default() }),
    }
}

/// Does `span` lie within `extent` (same file, byte range inside)?
fn inside(span: yaml::Span, extent: yaml::Span) -> bool {
    span.file == extent.file && extent.start.offset <= span.start.offset && span.end.offset <= extent.end.offset
}

/// Why a generator input that does not parse as YAML is not `yaml-syntax`.
pub const RAW_INPUT: &str =
    "kustomize generator input (configMapGenerator/secretGenerator files:): raw text, not parsed as a manifest";

/// What discovery passed over on purpose: the file and why.
pub type Skipped = Vec<(PathBuf, &'static str)>;

/// Why a template of a chart that nothing renders was skipped (the
/// report counts those charts by it).
pub const UNRENDERED_CHART_TEMPLATE: &str = "Helm chart template of a chart no release renders";

/// Read the repository and model it (no rules): what `check` and `inventory` share.
pub fn load(opts: &Options, config: &mut Config) -> Result<(Sources, Model, Skipped), RunError> {
    let paths = roots(opts);
    let base = if config.path.is_some() { config.base.clone() } else { paths.first().cloned().unwrap_or_default() };
    let mut found = discover::discover(&paths, &base, &config.ignore).map_err(RunError::Usage)?;
    let mut sources = yaml::load_files_filtered(&found.files, &found.filtered);
    for (id, why) in &sources.encrypted {
        if let Some(f) = sources.file(*id) {
            found.skipped.push((f.path.clone(), why));
        }
    }
    sources.add_templates(&found.templates);
    for (path, _why) in sources.add_chart_archives(&found.archives) {
        found.skipped.push((
            path,
            "a chart archive lifeboat could not read (not a gzipped tar of text): its subchart is not rendered",
        ));
    }
    // Argo CD objects a repository chart holds as `argocd-apps` values.
    model::argocd_apps::add_value_objects(&mut sources);
    if let Some(path) = &config.path {
        let id = sources.add(path, config.text.clone());
        config.set_file(id);
    }
    let root = paths.first().cloned().unwrap_or_default();
    let options = model::Options { roots: &config.roots, base: config.base.clone(), charts: &config.charts };
    let model = model::build_with(&sources, &root, &options);
    // Templates of charts no release renders stay unread: say so.
    let failed: std::collections::HashSet<yaml::FileId> = model.chart_failures.iter().map(|n| n.span.file).collect();
    for id in &sources.templates {
        if !model.rendered_templates.contains(id) {
            if let Some(f) = sources.file(*id) {
                let why = if failed.contains(id) {
                    "Helm chart template lifeboat could not render (a note says why)"
                } else {
                    UNRENDERED_CHART_TEMPLATE
                };
                found.skipped.push((f.path.clone(), why));
            }
        }
    }
    // Files whose syntax is not a manifest's: a generator's input is raw
    // text that Flux substitutes before anything parses it
    // (`[vault.${DOMAIN}:8200]` is not YAML until then), and a Jinja2
    // template (an Ansible role's, say) is YAML only once another tool
    // renders it.
    let loaded_errors = std::mem::take(&mut sources.errors);
    for (id, error) in loaded_errors {
        let skipped = sources.file(id).and_then(|f| {
            let why = if model.raw_inputs.contains(&id) {
                RAW_INPUT
            } else if jinja_template(&f.text) {
                JINJA_TEMPLATE
            } else if !model.referenced.contains(&id) && go_template_at(&f.text, error.pos.line) {
                GO_TEMPLATE
            } else if !model.referenced.contains(&id) && !manifest_like(&f.text) {
                NOT_A_MANIFEST
            } else {
                return None;
            };
            Some((f.path.clone(), why))
        });
        match skipped {
            Some(skip) => found.skipped.push(skip),
            None => sources.errors.push((id, error)),
        }
    }
    if let Some((index, message)) = model.root_errors.first() {
        let span = config.roots.get(*index).map(|r| r.span).unwrap_or_default();
        return Err(RunError::Config(ConfigError {
            path: config.path.clone().unwrap_or_default(),
            line: span.start.line,
            col: span.start.col,
            message: message.clone(),
        }));
    }
    Ok((sources, model, found.skipped))
}

const NOT_A_MANIFEST: &str = "not valid YAML to lifeboat's parser, not a Kubernetes manifest (no `apiVersion` and `kind`) and nothing deploys it (an Ansible playbook, a CI workflow): nothing in it is lost";

/// Does `text` read like a Kubernetes manifest: a line starting with
/// `apiVersion:` and one with `kind:` (at any indentation, as in a `List`)?
fn manifest_like(text: &str) -> bool {
    let key = |k: &str| text.lines().any(|l| l.trim_start().trim_start_matches("- ").trim_start().starts_with(k));
    key("apiVersion:") && key("kind:")
}

const GO_TEMPLATE: &str =
    "a Go template (`{{ … }}`) that nothing deploys (a scaffolding tool's, say), YAML only once rendered";

/// Does the line of a YAML error (or the one before it) hold a Go template
/// action (`{{ .app_name }}`, `{{- if … }}`)?
fn go_template_at(text: &str, line: u32) -> bool {
    let line = usize::try_from(line).unwrap_or(usize::MAX);
    let action = |l: &str| {
        l.match_indices("{{").any(|(i, _)| {
            let rest = l.get(i + 2..).unwrap_or("").trim_start_matches('-').trim_start();
            rest.contains("}}")
                && (rest.starts_with(['.', '$', '"']) || rest.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        })
    };
    let first = line.saturating_sub(2);
    text.lines().skip(first).take(line - first).any(action)
}

const JINJA_TEMPLATE: &str = "a Jinja2 template (`{% … %}`), YAML only once another tool renders it";

/// Does `text` hold Jinja2 statements (`{% for … %}`, `{%- if … -%}`)?
fn jinja_template(text: &str) -> bool {
    text.match_indices("{%").any(|(i, _)| {
        let rest = text.get(i + 2..).unwrap_or("").trim_start_matches(['-', '+']).trim_start();
        let word: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
        matches!(word.as_str(), "for" | "if" | "set" | "macro" | "raw" | "block" | "include" | "import" | "with")
            && rest.contains("%}")
    })
}

/// The paths to check, each once (`repo`, `./repo` and `/abs/repo` are one;
/// a path inside another is part of it).
fn roots(opts: &Options) -> Vec<PathBuf> {
    let paths = if opts.paths.is_empty() { vec![PathBuf::from(".")] } else { opts.paths.clone() };
    discover::distinct_roots(&paths)
}

/// The model's references to paths it did not read that discovery can
/// explain (on disk, but skipped), once each, in path order.
fn not_read(model: &Model, roots: &[PathBuf], skipped: &Skipped) -> Vec<NotRead> {
    let mut out: Vec<NotRead> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (span, candidates) in &model.not_read {
        let found = candidates.iter().find_map(|p| discover::why_not_read(p, roots, skipped).map(|why| (p, why)));
        if let Some((path, why)) = found {
            if seen.insert(path.clone()) {
                out.push(NotRead { path: path.clone(), why, span: *span });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

pub fn run(opts: &Options) -> Result<Run, RunError> {
    let select = resolve_rules(&opts.select, "--select")?;
    let ignore = resolve_rules(&opts.ignore, "--ignore")?;
    let mut config = load_config(opts)?;
    let (sources, mut model, skipped) = load(opts, &mut config)?;
    if let Some((id, why)) = sources.unreadable.first() {
        let file = sources.file(*id).map_or(String::new(), |f| f.display.clone());
        let more = sources.unreadable.len() - 1;
        let more = if more > 0 { format!(" (and {more} more unreadable files)") } else { String::new() };
        return Err(RunError::Usage(format!("cannot read {file}: {why}{more}")));
    }
    for n in &mut model.notes {
        mask_urls(&mut n.message);
    }
    let not_read = not_read(&model, &roots(opts), &skipped);

    // The rule's severity, and whether the configuration set it: a set one
    // applies to every finding of the rule; otherwise a finding keeps its own
    // (a rule may report a lesser case at a lower level).
    let enabled: Vec<(&rules::Rule, Severity, bool)> = rules::RULES
        .iter()
        .filter(|r| opts.select.is_empty() || select.contains(&r.meta.id))
        .filter(|r| !ignore.contains(&r.meta.id))
        .filter_map(|r| match config.rules.get(r.meta.id) {
            Some(RuleSetting::Off) => None,
            Some(RuleSetting::Severity(s)) => Some((r, *s, true)),
            None => Some((r, r.meta.severity, false)),
        })
        .collect();

    let inventory = Inventory::build(&model, &sources.errors, &config);
    let mut usage = Usage::default();
    let mut findings = Vec::new();
    let mut suppressed = 0;
    for phase in 0..2 {
        let mut raw = Vec::new();
        for (rule, severity, configured) in &enabled {
            let start = raw.len();
            match (phase, rule.check) {
                (0, Check::Inventory(check)) => check(&inventory, &mut raw),
                (1, Check::Usage(check)) => check(&inventory, &usage, &mut raw),
                _ => {}
            }
            if *configured {
                for f in raw.iter_mut().skip(start) {
                    f.severity = *severity;
                }
            }
        }
        for f in raw {
            if is_suppressed(&f, &inventory, &mut usage) {
                suppressed += 1;
            } else {
                findings.push(f);
            }
        }
        if phase == 0 {
            usage.enabled = enabled.iter().map(|(r, _, _)| r.meta.id).collect();
        }
    }
    let mut sensitive = inventory::secrets::sensitive_spans(&model.resources);
    sensitive.extend(inventory::url_credentials::spans(&sources));
    // A URL's password is never printed, whatever message quotes the URL.
    for f in &mut findings {
        mask_urls(&mut f.message);
        mask_urls(&mut f.primary.message);
        if let Some(help) = &mut f.help {
            mask_urls(help);
        }
        for l in &mut f.related {
            mask_urls(&mut l.message);
        }
    }
    drop(inventory);

    let display = |f: &Finding| sources.file(f.primary.span.file).map_or("", |s| s.display.as_str());
    findings.sort_by(|a, b| {
        (display(a), a.primary.span.start.line, a.primary.span.start.col, a.rule, &a.message).cmp(&(
            display(b),
            b.primary.span.start.line,
            b.primary.span.start.col,
            b.rule,
            &b.message,
        ))
    });
    // Provenance: what instantiated the resource (a Flux Kustomization).
    for f in &mut findings {
        let Some(r) = f.subject.and_then(|i| model.resources.get(i)) else { continue };
        let own: Vec<yaml::Span> = std::iter::once(f.primary.span).chain(f.related.iter().map(|l| l.span)).collect();
        for via in r.via.iter().filter(|v| v.shown) {
            if !f.related.iter().any(|l| l.span == via.span) {
                f.related.push(finding::Label { span: via.span, message: via.message.to_string() });
                // A patch that wrote none of the places the finding points
                // at does not set the field it is about.
                if via.patch.is_some_and(|extent| !own.iter().any(|s| inside(*s, extent))) {
                    f.human_hidden.push(via.span);
                }
            }
        }
    }
    // In a repository of several clusters, a finding names its cluster.
    for f in &mut findings {
        if let Some(cluster) = f.resource.as_ref().and_then(|r| r.cluster.as_deref()) {
            f.message = format!("[cluster `{cluster}`] {}", f.message);
        }
    }
    // One finding per instance: ten instances of one component file are ten.
    findings.dedup_by(|a, b| {
        a.rule == b.rule && a.primary.span == b.primary.span && a.message == b.message && a.resource == b.resource
    });

    for f in &mut findings {
        let file = sources.file(f.primary.span.file).map_or("", |s| s.display.as_str());
        f.fingerprint = f.fingerprint_of(file);
    }

    let rules: Vec<RuleMeta> = enabled.iter().map(|(r, s, _)| RuleMeta { severity: *s, ..r.meta }).collect();
    let files = sources.files.len().saturating_sub(usize::from(config.path.is_some()));
    let partial = Partial::of(&model, files, &skipped);
    let gate = apply_gate(opts, &sources, &model, &config, &rules, &mut findings)?;
    Ok(Run { sources, model, config, rules, findings, suppressed, sensitive, skipped, partial, not_read, gate })
}

/// Is the `/`-separated relative `file` at or under one of `scope`?
pub fn in_scope(file: &str, scope: &[String]) -> bool {
    scope.is_empty()
        || scope.iter().any(|s| {
            let s = s.trim_end_matches('/');
            s == "." || s.is_empty() || file == s || file.strip_prefix(s).is_some_and(|rest| rest.starts_with('/'))
        })
}

/// The gate: keep the findings under the PATH arguments, drop those the
/// baseline accepts (noting its entries that no longer occur), and in
/// pull-request mode those about no changed file. An empty run is an error.
fn apply_gate(
    opts: &Options,
    sources: &Sources,
    model: &Model,
    config: &Config,
    rules: &[RuleMeta],
    findings: &mut Vec<Finding>,
) -> Result<Gate, RunError> {
    let mut scope: Vec<String> =
        opts.scope.iter().map(|s| s.trim_start_matches("./").trim_end_matches('/').to_string()).collect();
    // The root among the paths: everything is reported.
    if scope.iter().any(|s| s == "." || s.is_empty()) {
        scope.clear();
    }
    let mut gate = Gate { scope: scope.clone(), ..Gate::default() };
    let display = |id: yaml::FileId| sources.file(id).map_or("", |s| s.display.as_str());
    let before = findings.len();
    findings.retain(|f| in_scope(display(f.primary.span.file), &scope));
    gate.out_of_scope = before - findings.len();

    if !opts.allow_empty && findings.is_empty() {
        let documents = sources
            .documents
            .iter()
            .filter(|d| d.root.get("kind").is_some() && d.root.get("apiVersion").is_some())
            .filter(|d| in_scope(display(d.file), &scope))
            .count();
        if documents == 0 {
            let yaml = sources
                .files
                .iter()
                .filter(|f| config.path.as_ref() != Some(&f.path) && in_scope(&f.display, &scope))
                .count();
            let shown = match std::path::absolute(".") {
                _ if !scope.is_empty() => scope.join(", "),
                Ok(root) => format!("the repository {}", root.display()),
                Err(_) => "the repository".to_string(),
            };
            return Err(RunError::Usage(format!(
                "no Kubernetes document found in {shown} ({yaml} YAML files read): nothing was linted. Check the path (and `paths.ignore`), or pass --allow-empty to accept an empty run"
            )));
        }
    }

    if let Some(baseline) = &opts.baseline {
        let fingerprints: Vec<&str> = findings.iter().map(|f| f.fingerprint.as_str()).collect();
        let (accepted, stale) = baseline.matches(&fingerprints);
        let mut keep = accepted.iter().map(|a| !a);
        findings.retain(|_| keep.next().unwrap_or(true));
        gate.baselined = accepted.iter().filter(|a| **a).count();
        // An entry is stale only where this run looked: under the PATH
        // arguments, for a rule that ran.
        gate.stale =
            stale.into_iter().filter(|e| in_scope(&e.file, &scope) && rules.iter().any(|r| r.id == e.rule)).collect();
        gate.partial_accepted = baseline.accepts_partial();
        gate.baseline = Some(baseline.path.clone());
    }

    if let Some(changed) = &opts.changed {
        gate.changed = Some((changed.source.clone(), changed.files.len()));
        let config_changed = config.path.as_ref().is_some_and(|p| changed.files.contains(&yaml::display_path(p)));
        if !config_changed {
            let deleted_dirs = changed.deleted_dirs(|f| std::path::Path::new(f).exists());
            let before = findings.len();
            findings.retain(|f| {
                let mut files: Vec<&str> = vec![display(f.primary.span.file)];
                files.extend(f.related.iter().map(|l| display(l.span.file)));
                // What built the resource: the kustomizations and Flux
                // Kustomizations whose entries instantiated it.
                if let Some(r) = f.subject.and_then(|i| model.resources.get(i)) {
                    files.push(display(r.file));
                    files.extend(r.via.iter().map(|v| display(v.span.file)));
                }
                files.iter().any(|file| changed.files.contains(*file) || deleted_dirs.contains(gate::parent(file)))
            });
            gate.unchanged = before - findings.len();
            // A finding reported for a change to what built its resource
            // (a kustomization that no longer lists a ScheduledBackup, say)
            // points at that change.
            for f in findings.iter_mut() {
                let direct =
                    std::iter::once(&f.primary).chain(&f.related).any(|l| changed.files.contains(display(l.span.file)));
                if direct {
                    continue;
                }
                let Some(r) = f.subject.and_then(|i| model.resources.get(i)) else { continue };
                if let Some(v) = r.via.iter().find(|v| changed.files.contains(display(v.span.file))) {
                    f.related
                        .push(finding::Label { span: v.span, message: "changed: this builds the resource".into() });
                }
            }
        }
    }
    Ok(gate)
}

/// Replace the password of every URL in `text` by `****`.
pub fn mask_urls(text: &mut String) {
    if text.contains("://") {
        *text = inventory::url_credentials::mask(text);
    }
}

/// An exclusion silences coverage rules on its resource; an `ignore-check`
/// annotation silences its rule on its resource (and is then "used").
fn is_suppressed(f: &Finding, inv: &Inventory, usage: &mut Usage) -> bool {
    let Some(subject) = f.subject else {
        return false;
    };
    if f.rule.starts_with("exclusion-") && f.rule != "exclusion-unused" {
        return false;
    }
    if let Some(i) = inv.exclusions.suppression(subject, f.rule) {
        usage.used_annotations.insert(i);
        return true;
    }
    let coverage = rules::find(f.rule).is_some_and(|r| r.meta.coverage);
    coverage && (f.excluded || inv.exclusions.exclusion(subject).is_some())
}

impl Run {
    /// The highest severity among the findings, a partial model counting
    /// as a warning.
    pub fn max_severity(&self) -> Option<Severity> {
        let partial = self.partial.as_ref().filter(|_| !self.gate.partial_accepted).map(|_| Severity::Warning);
        self.findings.iter().map(|f| f.severity).chain(partial).max()
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }

    /// Files read (the config not counted).
    pub fn file_count(&self) -> usize {
        self.sources.files.len().saturating_sub(usize::from(self.config.path.is_some()))
    }
}
