//! `sightline bench serve`: a load test of the real server.
//!
//! It takes a database (`--db URL` of an existing one, made by `bench ingest`
//! or `ingest` from a synthetic region whose directory it reads), or makes one
//! (`--children N`: a synthetic region ingested through the engine); starts
//! `sightline serve` on it as a child process on a free port (or uses `--url`
//! of a running one); creates accounts and agency tokens with the real CLI
//! (`sightline user create`, `sightline token create`); adds one child with
//! `--big-child-records` records through the intake API; then drives it for
//! `--seconds`: signed-in users (cookies and the login form's CSRF token, as a
//! browser) reading My work, alerts, Find a child, the child page, chronology
//! and their API equivalents, and agency feeds posting batches of new records
//! about existing children. It reports per route count, errors and
//! percentiles, the server's resident memory (VmRSS every second, VmHWM at the
//! end) and, for each `--follower`, its lag as its `/readyz` reports it.
//! Synthetic people only.

use anyhow::Context;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What `sightline bench serve` does.
pub struct ServeBench {
    pub db: Option<String>,
    pub children: Option<u64>,
    pub seed: u64,
    pub work_dir: PathBuf,
    pub region: Option<PathBuf>,
    pub org: Option<PathBuf>,
    pub url: Option<String>,
    pub seconds: u64,
    pub users: usize,
    pub feeds: usize,
    pub batch_records: usize,
    pub feed_interval_ms: u64,
    pub think_ms: u64,
    pub big_child_records: usize,
    pub invalid_token_feeds: usize,
    pub followers: Vec<String>,
    pub json: Option<PathBuf>,
    pub allow_errors: bool,
    pub server_log: Option<String>,
}

/// Record templates read from the region: the first lines of each agency's
/// file.
const TEMPLATES_PER_AGENCY: usize = 4_000;
/// Children remembered for Find a child.
const SEARCH_POOL_MAX: usize = 5_000;

/// The routes a run reports, in order (a route no request reached is still
/// listed, with count 0).
pub const MY_WORK_LEAD: &str = "GET /my-work (safeguarding lead)";
pub const MY_WORK_DUTY: &str = "GET /my-work (duty team)";
pub const MY_WORK_OTHER: &str = "GET /my-work (other practitioners)";
pub const ALERT_PAGE: &str = "GET /alerts/{id}";
pub const SEARCH_PAGE: &str = "GET /search (Find a child: name + DOB)";
pub const CHILD_PAGE: &str = "GET /children/{id}";
pub const CHRONOLOGY: &str = "GET /children/{id}/chronology";
pub const BIG_CHILD_PAGE: &str = "GET /children/{id} (child with many records)";
pub const BIG_CHRONOLOGY: &str = "GET /children/{id}/chronology (child with many records)";
pub const API_ALERTS: &str = "GET /api/v1/alerts";
pub const API_ALERT: &str = "GET /api/v1/alerts/{id}";
pub const API_SEARCH: &str = "GET /api/v1/persons (name + DOB)";
pub const API_PERSON: &str = "GET /api/v1/persons/{id}";
pub const API_CLOCKS: &str = "GET /api/v1/children/{id}/clocks";
pub const INTAKE: &str = "POST /api/v1/records (batch)";
pub const LOGIN: &str = "POST /login";

const ROUTES: &[&str] = &[
    LOGIN,
    MY_WORK_LEAD,
    MY_WORK_DUTY,
    MY_WORK_OTHER,
    ALERT_PAGE,
    SEARCH_PAGE,
    CHILD_PAGE,
    CHRONOLOGY,
    BIG_CHILD_PAGE,
    BIG_CHRONOLOGY,
    API_ALERTS,
    API_ALERT,
    API_SEARCH,
    API_PERSON,
    API_CLOCKS,
    INTAKE,
];

/// Times and errors of one route.
#[derive(Default)]
struct RouteStats {
    ms: Vec<f64>,
    errors: u64,
    /// The first few error statuses or messages (no personal data: statuses
    /// and transport errors only).
    error_examples: Vec<String>,
}

#[derive(Default, Clone)]
struct Stats(Arc<Mutex<BTreeMap<&'static str, RouteStats>>>);

impl Stats {
    fn record(&self, route: &'static str, ms: f64, error: Option<String>) {
        let Ok(mut routes) = self.0.lock() else {
            return;
        };
        let stats = routes.entry(route).or_default();
        stats.ms.push(ms);
        if let Some(error) = error {
            stats.errors += 1;
            if stats.error_examples.len() < 5 {
                stats.error_examples.push(error);
            }
        }
    }
}

/// One account the bench signs in with.
#[derive(Clone)]
struct BenchUser {
    username: String,
    password: String,
    agency: String,
    my_work_route: &'static str,
    /// Reads the child with many records (social care, whose records about
    /// that child give it the relationship).
    reads_big_child: bool,
}

/// A child to look for: "given family" and date of birth.
#[derive(Clone)]
struct Wanted {
    name: String,
    dob: String,
}

/// What the bench read from the region's files.
struct Region {
    /// Agency id -> (records in its file, template records).
    agencies: BTreeMap<String, (usize, Vec<Value>)>,
    search_pool: Vec<Wanted>,
}

fn read_region(dir: &Path) -> anyhow::Result<Region> {
    let mut agencies: BTreeMap<String, (usize, Vec<Value>)> = BTreeMap::new();
    let mut search_pool = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot read the region directory", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    paths.sort();
    anyhow::ensure!(
        !paths.is_empty(),
        "{}: no region files (*.jsonl)",
        dir.display()
    );
    for path in paths {
        let reader = std::io::BufReader::new(
            std::fs::File::open(&path).with_context(|| format!("{}", path.display()))?,
        );
        let mut n_lines = 0;
        let mut templates = Vec::new();
        let mut agency = None;
        for line in reader.lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            n_lines += 1;
            if templates.len() >= TEMPLATES_PER_AGENCY {
                continue;
            }
            let record: Value = serde_json::from_str(&line)
                .with_context(|| format!("{}: a line is not JSON", path.display()))?;
            if agency.is_none() {
                agency = record["source"]["agency"].as_str().map(str::to_owned);
            }
            if search_pool.len() < SEARCH_POOL_MAX
                && let Some(wanted) = subject_of(&record)
                && seen.insert((wanted.name.clone(), wanted.dob.clone()))
            {
                search_pool.push(wanted);
            }
            templates.push(record);
        }
        if let Some(agency) = agency {
            let entry = agencies.entry(agency).or_default();
            entry.0 += n_lines;
            entry.1.extend(templates);
        }
    }
    anyhow::ensure!(
        !search_pool.is_empty(),
        "{}: no child with a name and a date of birth in the region",
        dir.display()
    );
    Ok(Region {
        agencies,
        search_pool,
    })
}

/// The subject of a record when it is a child with given names, a family name
/// and a full date of birth.
fn subject_of(record: &Value) -> Option<Wanted> {
    let persons = record["persons"].as_array()?;
    let subject = persons
        .iter()
        .find(|person| person["role"].as_str() == Some("subject"))?;
    let given = subject["given_names"].as_str()?;
    let family = subject["family_name"].as_str()?;
    let dob = subject["dob"].as_str()?;
    let year: i32 = dob.get(..4)?.parse().ok()?;
    (dob.len() == 10 && year >= 2006).then(|| Wanted {
        name: format!("{given} {family}"),
        dob: dob.to_owned(),
    })
}

/// The key of a record's subject (NHS number, else source person id).
fn subject_key(record: &Value) -> Option<String> {
    let persons = record["persons"].as_array()?;
    let subject = persons
        .iter()
        .find(|person| person["role"].as_str() == Some("subject"))?;
    subject["nhs_number"]
        .as_str()
        .or_else(|| subject["source_person_id"].as_str())
        .map(|key| key.replace(' ', ""))
}

/// `template` as a new record: the same content under `record_id`.
fn renamed(template: &Value, record_id: &str) -> Value {
    let mut record = template.clone();
    record["source"]["record_id"] = Value::String(record_id.to_owned());
    if let Some(source) = record["source"].as_object_mut() {
        source.remove("version");
    }
    record
}

/// Runs the CLI (this executable) with `args`, `stdin` on its standard input;
/// its standard output.
fn cli(args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
    let exe = std::env::current_exe().context("where this executable is")?;
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("could not run sightline")?;
    if let Some(mut pipe) = child.stdin.take()
        && let Some(text) = stdin
    {
        pipe.write_all(text.as_bytes())?;
        pipe.write_all(b"\n")?;
    }
    let output = child.wait_with_output()?;
    anyhow::ensure!(
        output.status.success(),
        "sightline {} failed: {}",
        args.first().copied().unwrap_or(""),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The accounts: a safeguarding lead of the social-care agency, duty workers
/// (a fifth), then practitioners across every agency and team in turn.
fn plan_users(
    organisation: &sightline_core::org::Organisation,
    n_users: usize,
    run: &str,
) -> anyhow::Result<Vec<(BenchUser, String, Option<String>)>> {
    use sightline_core::org::AgencyType;
    let social_care = organisation
        .agencies()
        .find(|agency| agency.agency_type == AgencyType::SocialCare)
        .context("the organisation has no social-care agency")?;
    let duty = social_care
        .teams
        .iter()
        .find(|team| team.id.contains("duty"))
        .or_else(|| social_care.teams.first())
        .map(|team| team.id.clone());
    let mut slots: Vec<(String, Option<String>)> = Vec::new();
    for agency in organisation.agencies() {
        if agency.teams.is_empty() {
            slots.push((agency.id.as_str().to_owned(), None));
        } else {
            for team in &agency.teams {
                slots.push((agency.id.as_str().to_owned(), Some(team.id.clone())));
            }
        }
    }
    let n_duty = (n_users / 5).max(1);
    let mut users = Vec::new();
    for idx in 0..n_users {
        let (role, agency, team, route) = if idx == 0 {
            (
                "safeguarding_lead",
                social_care.id.as_str().to_owned(),
                None,
                MY_WORK_LEAD,
            )
        } else if idx <= n_duty {
            (
                "practitioner",
                social_care.id.as_str().to_owned(),
                duty.clone(),
                MY_WORK_DUTY,
            )
        } else {
            let (agency, team) = slots[(idx - n_duty - 1) % slots.len()].clone();
            ("practitioner", agency, team, MY_WORK_OTHER)
        };
        let user = BenchUser {
            username: format!("lt{run}-{idx}"),
            password: sightline_app::accounts::random_token(),
            reads_big_child: agency == social_care.id.as_str(),
            agency,
            my_work_route: route,
        };
        users.push((user, role.to_owned(), team));
    }
    Ok(users)
}

/// Resident memory of a process in MB (`VmRSS`, `VmHWM` from its status).
fn process_memory_mb(pid: u32) -> Option<(f64, f64)> {
    super::bench::memory_mb_of(&format!("/proc/{pid}/status"))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "n/a".to_owned())
}

/// The server the bench started; killed (SIGTERM, then SIGKILL) when dropped.
struct ServerProcess {
    child: Child,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let pid = self.child.id();
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `sightline serve` on a free port; waits for `/healthz`.
fn start_server(
    db: &str,
    org: &Path,
    log_path: &Path,
    log_level: &str,
) -> anyhow::Result<(ServerProcess, String, f64)> {
    let exe = std::env::current_exe().context("where this executable is")?;
    let log = std::fs::File::create(log_path)
        .with_context(|| format!("{}: cannot create", log_path.display()))?;
    let started = Instant::now();
    let child = Command::new(exe)
        .args(["serve", "--db", db, "--org"])
        .arg(org)
        .args(["--addr", "127.0.0.1:0"])
        .env("SIGHTLINE_LOG", log_level)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("could not start sightline serve")?;
    let mut server = ServerProcess { child };
    let marker = "Sightline is serving on http://";
    let base = loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            anyhow::bail!(
                "sightline serve exited ({status}) before serving; see {}",
                log_path.display()
            );
        }
        let text = std::fs::read_to_string(log_path).unwrap_or_default();
        if let Some(at) = text.find(marker) {
            let rest = &text[at + marker.len()..];
            let addr = rest.split_whitespace().next().unwrap_or("");
            break format!("http://{addr}");
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1_800),
            "sightline serve did not start within 30 minutes"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    loop {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .is_ok_and(|response| response.status().is_success())
        {
            break;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            anyhow::bail!(
                "sightline serve exited ({status}); see {}",
                log_path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok((server, base, started.elapsed().as_secs_f64()))
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    super::bench::quantile(sorted, q)
}

pub fn run(bench: ServeBench) -> anyhow::Result<ExitCode> {
    let run = format!("{:x}", chrono::Utc::now().timestamp() % 0xff_ffff);
    anyhow::ensure!(bench.users >= 1, "--users must be at least 1");
    anyhow::ensure!(
        bench.feeds >= 1 && bench.invalid_token_feeds <= bench.feeds,
        "--feeds must be at least 1, and --invalid-token-feeds at most --feeds"
    );
    anyhow::ensure!(
        (1..=10_000).contains(&bench.batch_records),
        "--batch-records must be from 1 to 10,000"
    );
    // The database and the region it was made from.
    let (db, region_dir) = match bench.children {
        Some(children) => {
            if bench.work_dir.exists() {
                std::fs::remove_dir_all(&bench.work_dir)
                    .with_context(|| format!("{}: cannot remove", bench.work_dir.display()))?;
            }
            let region_dir = bench.work_dir.join("region");
            eoutln!("generating a region of {children} children ...");
            let (_, files) = super::synth::generate_region(children, bench.seed, &region_dir)?;
            let db = bench.db.clone().unwrap_or_else(|| {
                format!("sqlite://{}", bench.work_dir.join("sightline.db").display())
            });
            let org_path = region_dir.join("organisation.toml");
            let store: Arc<dyn sightline_store::Store> =
                Arc::from(sightline_store::open(&db).context("could not open the database")?);
            // Record bodies held as serve holds them (the others read back on
            // demand), so intake at a million records fits beside the server.
            let config = sightline_app::EngineConfig {
                organisation: Arc::new(sightline_app::organisation::read_organisation(&org_path)?),
                record_cache: Some(sightline_app::bodies::BodyCacheConfig {
                    store: store.clone(),
                    records_max: sightline_app::bodies::RECORD_CACHE_DEFAULT,
                }),
                ..sightline_app::EngineConfig::default()
            };
            let engine = super::load_engine_with(store.as_ref(), config)?;
            eoutln!("ingesting the region through the engine ...");
            let started = Instant::now();
            let summary = super::ingest::ingest_files(store.as_ref(), Some(&engine), &files)?
                .map_err(|n_problems| {
                    anyhow::anyhow!("the region failed validation with {n_problems} problem(s)")
                })?;
            eoutln!(
                "stored {} records in {:.1} s",
                summary.stored,
                started.elapsed().as_secs_f64()
            );
            (db, region_dir)
        }
        None => {
            let db = bench.db.clone().context(
                "give --db URL of an existing database (with --region DIR of the region it was made from) or --children N to make one",
            )?;
            let region_dir = bench
                .region
                .clone()
                .unwrap_or_else(|| bench.work_dir.join("region"));
            std::fs::create_dir_all(&bench.work_dir)
                .with_context(|| format!("{}: cannot create", bench.work_dir.display()))?;
            (db, region_dir)
        }
    };
    let org_path = bench
        .org
        .clone()
        .unwrap_or_else(|| region_dir.join("organisation.toml"));
    let organisation = sightline_app::organisation::read_organisation(&org_path)?;
    eoutln!("reading the region's records ...");
    let region = read_region(&region_dir)?;
    let backend = if db.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };

    // Accounts and tokens, with the real CLI.
    eoutln!(
        "creating {} accounts and {} agency tokens with the CLI ...",
        bench.users,
        bench.feeds
    );
    let org_arg = org_path.display().to_string();
    let planned = plan_users(&organisation, bench.users, &run)?;
    let mut users = Vec::new();
    for (user, role, team) in planned {
        let mut args = vec![
            "user",
            "create",
            "--role",
            &role,
            "--agency",
            &user.agency,
            "--username",
            &user.username,
            "--db",
            &db,
            "--org",
            &org_arg,
        ];
        if let Some(team) = &team {
            args.extend(["--team", team.as_str()]);
        }
        cli(&args, Some(&user.password))?;
        users.push(user);
    }
    // The feeds: the agencies with the most records, each its own token.
    let mut by_size: Vec<(&String, &(usize, Vec<Value>))> = region
        .agencies
        .iter()
        .filter(|(agency, (_, templates))| {
            !templates.is_empty() && organisation.agency(agency).is_some()
        })
        .collect();
    by_size.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
    anyhow::ensure!(!by_size.is_empty(), "no agency of the region sends records");
    let social_care: Vec<String> = organisation
        .agencies()
        .filter(|agency| agency.agency_type == sightline_core::org::AgencyType::SocialCare)
        .map(|agency| agency.id.as_str().to_owned())
        .collect();
    let mut feed_agencies: Vec<String> = Vec::new();
    for idx in 0..bench.feeds {
        feed_agencies.push(by_size[idx % by_size.len()].0.clone());
    }
    let mut tokens: HashMap<String, String> = HashMap::new();
    let mut feed_tokens = Vec::new();
    for (idx, agency) in feed_agencies.iter().enumerate() {
        let secret = if idx >= bench.feeds - bench.invalid_token_feeds {
            // A token the server never issued: every batch must be refused.
            format!("sl_{}", sightline_app::accounts::random_token())
        } else {
            let out = cli(&["token", "create", "--agency", agency, "--db", &db], None)?;
            let secret = out
                .lines()
                .map(str::trim)
                .rfind(|line| !line.is_empty())
                .context("token create printed no token")?
                .to_owned();
            tokens
                .entry(agency.clone())
                .or_insert_with(|| secret.clone());
            secret
        };
        feed_tokens.push(secret);
    }

    // The child with many records: the social-care child with the most
    // records among the templates of agencies with a token.
    let mut counts: HashMap<String, usize> = HashMap::new();
    for agency in tokens.keys() {
        for template in &region.agencies[agency].1 {
            if let Some(key) = subject_key(template)
                && subject_of(template).is_some()
            {
                *counts.entry(key).or_default() += 1;
            }
        }
    }
    let social_care_subjects: std::collections::HashSet<String> = social_care
        .iter()
        .filter_map(|agency| region.agencies.get(agency))
        .flat_map(|(_, templates)| templates.iter().filter_map(subject_key))
        .collect();
    let big_key = counts
        .iter()
        .filter(|(key, _)| social_care_subjects.contains(*key))
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .or_else(|| counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))))
        .map(|(key, _)| key.clone());
    let mut big_templates: Vec<(String, Value)> = Vec::new();
    if let Some(big_key) = &big_key {
        for agency in tokens.keys() {
            for template in &region.agencies[agency].1 {
                if subject_key(template).as_ref() == Some(big_key) {
                    big_templates.push((agency.clone(), template.clone()));
                }
            }
        }
        big_templates.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let big_wanted = big_templates
        .first()
        .and_then(|(_, template)| subject_of(template));

    // The server.
    let log_path = bench.work_dir.join("serve.log");
    let load_before = load_average();
    let (server, base, start_seconds) = match &bench.url {
        Some(url) => (None, url.trim_end_matches('/').to_owned(), 0.0),
        None => {
            eoutln!("starting sightline serve ...");
            let level = bench
                .server_log
                .clone()
                .unwrap_or_else(|| "warn".to_owned());
            let (server, base, seconds) = start_server(&db, &org_path, &log_path, &level)?;
            eoutln!("serving on {base} after {seconds:.1} s");
            (Some(server), base, seconds)
        }
    };
    let pid = server.as_ref().map(|server| server.child.id());
    let memory_at_start = pid.and_then(process_memory_mb);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let stats = Stats::default();
    let setup = Arc::new(Setup {
        base: base.clone(),
        users,
        feed_agencies,
        feed_tokens,
        region,
        big_templates,
        big_wanted,
        tokens,
        run: run.clone(),
    });

    // The child with many records, through the intake API.
    let big_child = runtime.block_on(add_big_child(&setup, bench.big_child_records))?;

    // Resident memory, every second.
    let stop = Arc::new(AtomicBool::new(false));
    let rss_samples = Arc::new(Mutex::new(Vec::<f64>::new()));
    let sampler = pid.map(|pid| {
        let stop = stop.clone();
        let samples = rss_samples.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some((rss, _)) = process_memory_mb(pid)
                    && let Ok(mut samples) = samples.lock()
                {
                    samples.push(rss);
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    });

    let (lags, elapsed) = runtime.block_on(drive(
        setup.clone(),
        stats.clone(),
        big_child.clone(),
        &bench,
    ))?;
    stop.store(true, Ordering::Relaxed);
    if let Some(sampler) = sampler {
        let _ = sampler.join();
    }
    let memory_at_end = pid.and_then(process_memory_mb);
    let load_after = load_average();
    drop(server);

    // The report.
    let routes = stats
        .0
        .lock()
        .map_err(|_| anyhow::anyhow!("a load task panicked"))?;
    let rss = rss_samples
        .lock()
        .map_err(|_| anyhow::anyhow!("the sampler panicked"))?
        .clone();
    let mut total_requests = 0usize;
    let mut total_errors = 0u64;
    let mut route_rows = Vec::new();
    outln!("| route | count | errors | p50 ms | p95 ms | p99 ms | max ms | per s |");
    outln!("|---|---|---|---|---|---|---|---|");
    let empty = RouteStats::default();
    for route in ROUTES {
        let stats = routes.get(route).unwrap_or(&empty);
        let times = sorted(stats.ms.clone());
        total_requests += times.len();
        total_errors += stats.errors;
        let row = json!({
            "route": route,
            "count": times.len(),
            "errors": stats.errors,
            "error_examples": stats.error_examples,
            "p50_ms": quantile(&times, 0.5),
            "p95_ms": quantile(&times, 0.95),
            "p99_ms": quantile(&times, 0.99),
            "max_ms": times.last().copied().unwrap_or(f64::NAN),
            "per_second": times.len() as f64 / elapsed,
        });
        outln!(
            "| {route} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            times.len(),
            stats.errors,
            quantile(&times, 0.5),
            quantile(&times, 0.95),
            quantile(&times, 0.99),
            times.last().copied().unwrap_or(f64::NAN),
            times.len() as f64 / elapsed
        );
        route_rows.push(row);
    }
    outln!(
        "{total_requests} requests in {elapsed:.1} s ({:.1} per s), {total_errors} errors; {} users, {} feeds of {} records every {} ms; backend {backend}; load average {load_before} before, {load_after} after",
        total_requests as f64 / elapsed,
        setup.users.len(),
        setup.feed_tokens.len(),
        bench.batch_records,
        bench.feed_interval_ms
    );
    if let Some(big) = &big_child {
        outln!(
            "child with many records: {} records of this run added through the API ({} mentions linked)",
            big.added,
            big.mentions
        );
    }
    for (route, examples) in ROUTES.iter().filter_map(|route| {
        routes
            .get(route)
            .filter(|stats| stats.errors > 0)
            .map(|stats| (route, &stats.error_examples))
    }) {
        outln!("errors of {route}: {}", examples.join("; "));
    }
    let memory = match pid {
        Some(_) => {
            let max = rss.iter().copied().fold(f64::NAN, f64::max);
            let end = memory_at_end.map(|(rss, _)| rss);
            let hwm = memory_at_end.map(|(_, hwm)| hwm);
            outln!(
                "server resident memory (VmRSS, {} samples one a second): {:.0} MB at the start of the load, {:.0} MB at most, {:.0} MB at the end; VmHWM {:.0} MB; started in {start_seconds:.1} s",
                rss.len(),
                memory_at_start.map_or(f64::NAN, |(rss, _)| rss),
                max,
                end.unwrap_or(f64::NAN),
                hwm.unwrap_or(f64::NAN)
            );
            json!({
                "samples_mb": rss,
                "start_mb": memory_at_start.map(|(rss, _)| rss),
                "max_mb": max,
                "end_mb": end,
                "hwm_mb": hwm,
                "start_seconds": start_seconds,
            })
        }
        None => {
            outln!("server resident memory: n/a (--url: not started by the bench)");
            Value::Null
        }
    };
    let mut follower_rows = Vec::new();
    for (url, samples) in &lags {
        let times = sorted(samples.iter().filter_map(|sample| *sample).collect());
        let unreadable = samples.iter().filter(|sample| sample.is_none()).count();
        outln!(
            "follower {url}: lag p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} samples, {unreadable} without a lag)",
            quantile(&times, 0.5),
            quantile(&times, 0.95),
            quantile(&times, 0.99),
            times.last().copied().unwrap_or(f64::NAN),
            samples.len()
        );
        follower_rows.push(json!({
            "url": url,
            "samples": samples.len(),
            "without_lag": unreadable,
            "lag_p50_ms": quantile(&times, 0.5),
            "lag_p95_ms": quantile(&times, 0.95),
            "lag_p99_ms": quantile(&times, 0.99),
            "lag_max_ms": times.last().copied().unwrap_or(f64::NAN),
        }));
    }
    // Against the targets of issue #16.
    let pooled = |names: &[&str], q: f64| {
        let times = sorted(
            names
                .iter()
                .filter_map(|name| routes.get(name))
                .flat_map(|stats| stats.ms.iter().copied())
                .collect(),
        );
        quantile(&times, q)
    };
    let targets = [
        (
            "My work p95 (every user)",
            pooled(&[MY_WORK_LEAD, MY_WORK_DUTY, MY_WORK_OTHER], 0.95),
            150.0,
        ),
        (
            "My work p95 (safeguarding lead)",
            pooled(&[MY_WORK_LEAD], 0.95),
            150.0,
        ),
        (
            "child page of the child with many records p99",
            pooled(&[BIG_CHILD_PAGE], 0.99),
            20.0,
        ),
        (
            "chronology of the child with many records p99",
            pooled(&[BIG_CHRONOLOGY], 0.99),
            20.0,
        ),
        ("Find a child p99", pooled(&[SEARCH_PAGE], 0.99), 50.0),
        ("intake batch p99", pooled(&[INTAKE], 0.99), 100.0),
    ];
    let mut target_rows = Vec::new();
    outln!("| target | measured ms | target ms | |");
    outln!("|---|---|---|---|");
    for (name, measured, target) in targets {
        let verdict = if measured.is_nan() {
            "not measured"
        } else if measured <= target {
            "met"
        } else {
            "missed"
        };
        outln!("| {name} | {measured:.1} | {target:.0} | {verdict} |");
        target_rows.push(json!({"target": name, "measured_ms": measured, "target_ms": target, "verdict": verdict}));
    }
    if let Some(path) = &bench.json {
        let report = json!({
            "backend": backend,
            "seconds": elapsed,
            "users": setup.users.len(),
            "feeds": setup.feed_tokens.len(),
            "batch_records": bench.batch_records,
            "feed_interval_ms": bench.feed_interval_ms,
            "think_ms": bench.think_ms,
            "requests": total_requests,
            "errors": total_errors,
            "per_second": total_requests as f64 / elapsed,
            "load_average_before": load_before,
            "load_average_after": load_after,
            "big_child": big_child.as_ref().map(|big| json!({"records_added": big.added, "mentions": big.mentions})),
            "routes": route_rows,
            "memory": memory,
            "followers": follower_rows,
            "targets": target_rows,
        });
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    if total_errors > 0 && !bench.allow_errors {
        eoutln!("{total_errors} requests failed (--allow-errors to exit 0 all the same)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// What the load tasks share.
struct Setup {
    base: String,
    users: Vec<BenchUser>,
    feed_agencies: Vec<String>,
    feed_tokens: Vec<String>,
    region: Region,
    big_templates: Vec<(String, Value)>,
    big_wanted: Option<Wanted>,
    /// Agency -> a valid token.
    tokens: HashMap<String, String>,
    run: String,
}

/// The child with many records, as the server knows them.
#[derive(Clone)]
struct BigChild {
    person_id: String,
    added: usize,
    mentions: u64,
}

fn http_client() -> anyhow::Result<reqwest::Client> {
    http_client_waiting(Duration::from_secs(60))
}

/// A client whose requests wait at most `timeout` for the whole answer.
fn http_client_waiting(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .context("could not build the HTTP client")
}

/// Posts `n` records about the big child (copies of its records, under new
/// ids), in batches of 100 per agency; then finds its person id.
async fn add_big_child(setup: &Setup, n: usize) -> anyhow::Result<Option<BigChild>> {
    let (Some(wanted), false) = (&setup.big_wanted, setup.big_templates.is_empty()) else {
        eoutln!("no child to give many records to (no template about one child)");
        return Ok(None);
    };
    eoutln!("adding {n} records about one child through the intake API ...");
    // Before the load: the server's first pass over every child (at start)
    // may still hold the engine, for minutes at a million records.
    let client = http_client_waiting(Duration::from_secs(1_800))?;
    let started = Instant::now();
    let mut by_agency: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for idx in 0..n {
        let (agency, template) = &setup.big_templates[idx % setup.big_templates.len()];
        by_agency
            .entry(agency)
            .or_default()
            .push(renamed(template, &format!("LT{}-B{idx}", setup.run)));
    }
    for (agency, records) in by_agency {
        let token = &setup.tokens[agency];
        for batch in records.chunks(100) {
            let response = client
                .post(format!("{}/api/v1/records", setup.base))
                .bearer_auth(token)
                .json(&batch)
                .send()
                .await?;
            let status = response.status();
            anyhow::ensure!(
                status.is_success(),
                "adding the child's records: POST answered {status}: {}",
                response.text().await.unwrap_or_default()
            );
        }
    }
    eoutln!("added in {:.1} s", started.elapsed().as_secs_f64());
    // Find it as a safeguarding lead would.
    let lead = setup.users.first().context("no user")?;
    login(&client, &setup.base, lead).await?;
    let response = client
        .get(format!("{}/api/v1/persons", setup.base))
        .query(&[("name", wanted.name.as_str()), ("dob", wanted.dob.as_str())])
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "searching for the child answered {}",
        response.status()
    );
    let found: Value = response.json().await?;
    let best = found["persons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|person| person["identity"]["is_child"].as_bool() == Some(true))
        .max_by_key(|person| person["n_mentions"].as_u64().unwrap_or(0))
        .context("the child with many records was not found by name and date of birth")?;
    let person_id = best["id"]
        .as_str()
        .context("a hit without an id")?
        .to_owned();
    Ok(Some(BigChild {
        person_id,
        added: n,
        mentions: best["n_mentions"].as_u64().unwrap_or(0),
    }))
}

/// Signs in through the login form (its CSRF token included).
async fn login(client: &reqwest::Client, base: &str, user: &BenchUser) -> anyhow::Result<()> {
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await?
        .text()
        .await?;
    let marker = "name=\"csrf_token\" value=\"";
    let start = page
        .find(marker)
        .context("no CSRF token on the login page")?
        + marker.len();
    let token = page
        .get(start..)
        .and_then(|rest| rest.split('"').next())
        .context("no CSRF token on the login page")?
        .to_owned();
    let response = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", user.username.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_redirection(),
        "signing in answered {}",
        response.status()
    );
    Ok(())
}

/// GETs `path`, timed into `route`; the body when the answer was 2xx or 3xx.
async fn timed_get(
    client: &reqwest::Client,
    stats: &Stats,
    route: &'static str,
    url: String,
    query: &[(&str, &str)],
) -> Option<String> {
    let started = Instant::now();
    let result = async {
        let response = client.get(url).query(query).send().await?;
        let status = response.status();
        let body = response.text().await?;
        Ok::<_, reqwest::Error>((status, body))
    }
    .await;
    let ms = started.elapsed().as_secs_f64() * 1_000.0;
    match result {
        Ok((status, body)) if status.is_success() || status.is_redirection() => {
            stats.record(route, ms, None);
            Some(body)
        }
        Ok((status, _)) => {
            stats.record(route, ms, Some(format!("HTTP {}", status.as_u16())));
            None
        }
        Err(error) => {
            stats.record(route, ms, Some(transport_error(&error)));
            None
        }
    }
}

/// A transport error without its URL (which may hold a name being searched).
fn transport_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        "transport error".to_owned()
    }
}

/// The id of the first hit of a search answer that is a child.
fn first_child(found: &Value) -> Option<String> {
    found["persons"]
        .as_array()?
        .iter()
        .find(|person| person["identity"]["is_child"].as_bool() == Some(true))
        .and_then(|person| person["id"].as_str().map(str::to_owned))
}

/// A pseudo-random index (xorshift), so each task walks its own order.
struct Walk(u64);

impl Walk {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// Signs a user in through the login form, timed into `LOGIN`; the client
/// holding its session cookie.
async fn sign_in(setup: Arc<Setup>, stats: Stats, idx: usize) -> Option<reqwest::Client> {
    let client = http_client().ok()?;
    let started = Instant::now();
    let signed_in = login(&client, &setup.base, &setup.users[idx]).await;
    let failed = signed_in.is_err();
    stats.record(
        LOGIN,
        started.elapsed().as_secs_f64() * 1_000.0,
        signed_in.err().map(|error| error.to_string()),
    );
    (!failed).then_some(client)
}

/// One user's rounds until the deadline (at least one whole round): My work,
/// their alerts (API) and one of them (page and API), Find a child (page and
/// API) and the first hit's child page, chronology, person (API) and clocks
/// (API); for social care, the child with many records too. `think` between
/// two requests.
async fn user_loop(
    setup: Arc<Setup>,
    stats: Stats,
    idx: usize,
    client: reqwest::Client,
    deadline: Instant,
    big_child: Option<BigChild>,
    think: Duration,
) {
    let user = &setup.users[idx];
    let base = &setup.base;
    let mut walk = Walk(0x9e37_79b9_7f4a_7c15 ^ ((idx as u64 + 1) * 0x1000_0001));
    let mut first_round = true;
    // Whether to go on: always within the first round, then until the deadline.
    let go_on = |first_round: bool| first_round || Instant::now() < deadline;
    while go_on(first_round) {
        timed_get(
            &client,
            &stats,
            user.my_work_route,
            format!("{base}/my-work"),
            &[],
        )
        .await;
        tokio::time::sleep(think).await;
        let alert_ids: Vec<String> = timed_get(
            &client,
            &stats,
            API_ALERTS,
            format!("{base}/api/v1/alerts"),
            &[("limit", "50")],
        )
        .await
        .and_then(|body| serde_json::from_str::<Value>(&body).ok())
        .map(|page| {
            page["alerts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|alert| alert["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
        if !alert_ids.is_empty() && go_on(first_round) {
            let id = &alert_ids[walk.next(alert_ids.len())];
            tokio::time::sleep(think).await;
            timed_get(
                &client,
                &stats,
                ALERT_PAGE,
                format!("{base}/alerts/{id}"),
                &[],
            )
            .await;
            tokio::time::sleep(think).await;
            timed_get(
                &client,
                &stats,
                API_ALERT,
                format!("{base}/api/v1/alerts/{id}"),
                &[],
            )
            .await;
        }
        if !go_on(first_round) {
            break;
        }
        let pool = &setup.region.search_pool;
        let wanted = &pool[walk.next(pool.len())];
        let query = [("name", wanted.name.as_str()), ("dob", wanted.dob.as_str())];
        tokio::time::sleep(think).await;
        timed_get(
            &client,
            &stats,
            SEARCH_PAGE,
            format!("{base}/search"),
            &query,
        )
        .await;
        tokio::time::sleep(think).await;
        // The first hit that is a child; then the person (API), whose view
        // says whether the clocks may be read.
        let id = timed_get(
            &client,
            &stats,
            API_SEARCH,
            format!("{base}/api/v1/persons"),
            &query,
        )
        .await
        .and_then(|body| serde_json::from_str::<Value>(&body).ok())
        .and_then(|found| first_child(&found));
        if let Some(id) = id
            && go_on(first_round)
        {
            tokio::time::sleep(think).await;
            let full = timed_get(
                &client,
                &stats,
                API_PERSON,
                format!("{base}/api/v1/persons/{id}"),
                &[],
            )
            .await
            .and_then(|body| serde_json::from_str::<Value>(&body).ok())
            .is_some_and(|person| person["view"].as_str() == Some("full"));
            let mut reads = vec![
                (CHILD_PAGE, format!("{base}/children/{id}")),
                (CHRONOLOGY, format!("{base}/children/{id}/chronology")),
            ];
            // Without a relationship the API refuses the clocks (403) where
            // the pages show the minimal view: a browser would not ask.
            if full {
                reads.push((API_CLOCKS, format!("{base}/api/v1/children/{id}/clocks")));
            }
            for (route, url) in reads {
                tokio::time::sleep(think).await;
                timed_get(&client, &stats, route, url, &[]).await;
            }
        }
        if let (Some(big), true) = (&big_child, user.reads_big_child)
            && go_on(first_round)
        {
            let id = &big.person_id;
            tokio::time::sleep(think).await;
            timed_get(
                &client,
                &stats,
                BIG_CHILD_PAGE,
                format!("{base}/children/{id}"),
                &[],
            )
            .await;
            tokio::time::sleep(think).await;
            timed_get(
                &client,
                &stats,
                BIG_CHRONOLOGY,
                format!("{base}/children/{id}/chronology"),
                &[],
            )
            .await;
            tokio::time::sleep(think).await;
            let full = timed_get(
                &client,
                &stats,
                API_PERSON,
                format!("{base}/api/v1/persons/{id}"),
                &[],
            )
            .await
            .and_then(|body| serde_json::from_str::<Value>(&body).ok())
            .is_some_and(|person| person["view"].as_str() == Some("full"));
            if full {
                tokio::time::sleep(think).await;
                timed_get(
                    &client,
                    &stats,
                    API_CLOCKS,
                    format!("{base}/api/v1/children/{id}/clocks"),
                    &[],
                )
                .await;
            }
        }
        first_round = false;
        tokio::time::sleep(think).await;
    }
}

async fn feed_loop(
    setup: Arc<Setup>,
    stats: Stats,
    idx: usize,
    deadline: Instant,
    batch_records: usize,
    interval: Duration,
) {
    let Ok(client) = http_client() else {
        return;
    };
    let agency = &setup.feed_agencies[idx];
    let token = &setup.feed_tokens[idx];
    let templates = &setup.region.agencies[agency].1;
    let mut next_record = 0usize;
    // The feeds start spread over one interval (never past the deadline).
    let offset = interval.mul_f64(idx as f64 / setup.feed_tokens.len().max(1) as f64);
    tokio::time::sleep_until(tokio::time::Instant::from_std(
        (Instant::now() + offset).min(deadline),
    ))
    .await;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if Instant::now() >= deadline {
            break;
        }
        let batch: Vec<Value> = (0..batch_records)
            .map(|_| {
                let template = &templates[next_record % templates.len()];
                next_record += 1;
                renamed(template, &format!("LT{}-F{idx}-{next_record}", setup.run))
            })
            .collect();
        let started = Instant::now();
        let result = client
            .post(format!("{}/api/v1/records", setup.base))
            .bearer_auth(token)
            .json(&batch)
            .send()
            .await;
        let outcome = match result {
            Ok(response) => {
                let status = response.status();
                let _ = response.bytes().await;
                (!status.is_success()).then(|| format!("HTTP {}", status.as_u16()))
            }
            Err(error) => Some(transport_error(&error)),
        };
        stats.record(INTAKE, started.elapsed().as_secs_f64() * 1_000.0, outcome);
    }
}

/// Polls each follower's `/readyz` every second until the deadline; its lag in
/// ms per sample (`None` when the answer holds none).
async fn follower_loop(url: String, deadline: Instant) -> (String, Vec<Option<f64>>) {
    let mut samples = Vec::new();
    let Ok(client) = http_client() else {
        return (url, samples);
    };
    let base = url.trim_end_matches('/').to_owned();
    while Instant::now() < deadline {
        let lag = match client.get(format!("{base}/readyz")).send().await {
            Ok(response) => response
                .json::<Value>()
                .await
                .ok()
                .and_then(|body| lag_ms(&body)),
            Err(_) => None,
        };
        samples.push(lag);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    (url, samples)
}

/// The lag a `/readyz` answer reports, in ms: a field named `lag_ms` (or
/// `lag_seconds`), at the top or in an object under it.
pub fn lag_ms(body: &Value) -> Option<f64> {
    let in_object = |object: &Value| {
        object["lag_ms"].as_f64().or_else(|| {
            object["lag_seconds"]
                .as_f64()
                .map(|seconds| seconds * 1_000.0)
        })
    };
    in_object(body).or_else(|| {
        body.as_object()?
            .values()
            .filter(|value| value.is_object())
            .find_map(in_object)
    })
}

/// Signs every user in, then drives users, feeds and follower probes for
/// `seconds` from then; the followers' lag samples and the time driven.
async fn drive(
    setup: Arc<Setup>,
    stats: Stats,
    big_child: Option<BigChild>,
    bench: &ServeBench,
) -> anyhow::Result<(Vec<(String, Vec<Option<f64>>)>, f64)> {
    let think = Duration::from_millis(bench.think_ms);
    let mut sign_ins = Vec::new();
    for idx in 0..setup.users.len() {
        sign_ins.push(tokio::spawn(sign_in(setup.clone(), stats.clone(), idx)));
    }
    let mut clients = Vec::new();
    for sign_in in sign_ins {
        clients.push(sign_in.await.context("a sign-in task panicked")?);
    }
    // One My work each, untimed: the server's first pass over every child
    // (at start) is over before the clock starts.
    let warm_up = Instant::now();
    for client in clients.iter().flatten() {
        let _ = client
            .get(format!("{}/my-work", setup.base))
            .timeout(Duration::from_secs(1_800))
            .send()
            .await;
    }
    eoutln!(
        "signed in and warmed up in {:.1} s",
        warm_up.elapsed().as_secs_f64()
    );
    eoutln!(
        "driving {} users and {} feeds for {} s ...",
        setup.users.len(),
        setup.feed_tokens.len(),
        bench.seconds
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs(bench.seconds);
    let mut tasks = Vec::new();
    for (idx, client) in clients.into_iter().enumerate() {
        if let Some(client) = client {
            tasks.push(tokio::spawn(user_loop(
                setup.clone(),
                stats.clone(),
                idx,
                client,
                deadline,
                big_child.clone(),
                think,
            )));
        }
    }
    for idx in 0..setup.feed_tokens.len() {
        tasks.push(tokio::spawn(feed_loop(
            setup.clone(),
            stats.clone(),
            idx,
            deadline,
            bench.batch_records,
            Duration::from_millis(bench.feed_interval_ms.max(1)),
        )));
    }
    let followers: Vec<_> = bench
        .followers
        .iter()
        .map(|url| tokio::spawn(follower_loop(url.clone(), deadline)))
        .collect();
    for task in tasks {
        task.await.context("a load task panicked")?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut lags = Vec::new();
    for follower in followers {
        lags.push(follower.await.context("a follower task panicked")?);
    }
    Ok((lags, elapsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lag_is_read_in_ms_or_seconds_at_the_top_or_one_level_down() {
        assert_eq!(lag_ms(&json!({"lag_ms": 12})), Some(12.0));
        assert_eq!(
            lag_ms(&json!({"follower": {"lag_seconds": 0.5}})),
            Some(500.0)
        );
        assert_eq!(lag_ms(&json!({"status": "ready"})), None);
    }
}
