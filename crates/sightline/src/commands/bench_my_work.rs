//! `sightline bench my-work`: how long My work takes over HTTP for a duty
//! worker whose team holds many open alerts and whose agency holds many
//! children.
//!
//! The fixture is one local authority's children's social care (`bench-la`):
//! every child has a referral decided for assessment; the first `--alerts`
//! children have no completed assessment, so their 45-working-day assessment
//! clock is overdue and its alert is routed to the duty team
//! (`team:bench-la/duty`); every other child's assessment was completed in
//! time. So the duty worker's My work lists `--alerts` open alerts, and the
//! agency holds `--children` children whose clocks My work reads. Synthetic
//! people only (NHS numbers from the 999 test range).

use anyhow::Context;
use chrono::{Days, NaiveDate, Utc};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// The bench's agency and the team its worker is in.
const AGENCY: &str = "bench-la";
const TEAM: &str = "duty";

/// What `sightline bench my-work` does.
pub struct MyWorkBench {
    pub children: u64,
    pub alerts: u64,
    pub requests: u64,
    pub work_dir: PathBuf,
    pub db: Option<String>,
    pub write_only: bool,
}

const GIVEN: [&str; 24] = [
    "Ava", "Ben", "Cara", "Dev", "Ella", "Finn", "Gita", "Hugo", "Isla", "Jude", "Kai", "Lena",
    "Milo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tess", "Umar", "Vera", "Wren",
    "Yusuf",
];
const FAMILY: [&str; 20] = [
    "Archer", "Bennett", "Clarke", "Dawson", "Ellis", "Fraser", "Gill", "Hale", "Iqbal", "Jarvis",
    "Khan", "Lowe", "Marsh", "Nolan", "Osei", "Patel", "Reid", "Shaw", "Turner", "Walsh",
];
/// Letters a postcode's inward code may use.
const INWARD: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

/// The `n`th valid NHS number of the 999 test range (`999` and six digits, with
/// the check digit; stems whose check digit would be 10 are skipped).
fn nhs_numbers(n: u64) -> Vec<String> {
    let mut numbers = Vec::new();
    let mut stem: u64 = 0;
    while (numbers.len() as u64) < n && stem < 1_000_000 {
        let text = format!("999{stem:06}");
        let digits: Vec<u8> = text.bytes().map(|byte| byte - b'0').collect();
        if let Some(check) = sightline_core::NhsNumber::check_digit(&digits) {
            numbers.push(format!("{text}{check}"));
        }
        stem += 1;
    }
    numbers
}

/// Writes the fixture's records (JSON Lines) into `dir`: the referrals, then the
/// assessments.
fn write_fixture(
    dir: &Path,
    children: u64,
    alerts: u64,
    today: NaiveDate,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let numbers = nhs_numbers(children);
    anyhow::ensure!(
        numbers.len() as u64 == children,
        "the 999 test range holds {} NHS numbers, fewer than {children} children",
        numbers.len()
    );
    let referrals_path = dir.join("referrals.jsonl");
    let assessments_path = dir.join("assessments.jsonl");
    let mut referrals = std::io::BufWriter::new(std::fs::File::create(&referrals_path)?);
    let mut assessments = std::io::BufWriter::new(std::fs::File::create(&assessments_path)?);
    for (idx, nhs) in numbers.iter().enumerate() {
        let idx_u64 = idx as u64;
        let given = GIVEN[idx % GIVEN.len()];
        let family = FAMILY[(idx / GIVEN.len()) % FAMILY.len()];
        let dob = today
            .checked_sub_days(Days::new(400 + (idx_u64 * 37) % (16 * 365)))
            .context("date of birth")?;
        let inward = |k: usize| char::from(INWARD[(idx / k) % INWARD.len()]);
        let postcode = format!(
            "BN{} {}{}{}",
            1 + idx % 98,
            idx % 10,
            inward(10),
            inward(200)
        );
        // Referred 200 days ago; assessed (in time) 30 days later, except the
        // first `alerts` children.
        let referred = today
            .checked_sub_days(Days::new(200 + idx_u64 % 50))
            .context("date")?;
        let person = serde_json::json!({
            "ref": "c", "role": "subject", "nhs_number": nhs,
            "given_names": given, "family_name": family, "dob": dob.to_string(),
            "address": {"lines": [format!("{} Bench Street", idx + 1)], "postcode": postcode},
        });
        let referral = serde_json::json!({
            "source": {"agency": AGENCY, "record_id": format!("REF-{idx}")},
            "kind": "social_care.referral",
            "occurred_at": referred.to_string(),
            "recorded_at": format!("{referred}T09:00:00Z"),
            "persons": [person.clone()],
            "outcome": {"referrer_agency": "bench-school", "decision": "assessment"},
        });
        writeln!(referrals, "{referral}")?;
        if idx_u64 >= alerts {
            let assessed = referred.checked_add_days(Days::new(30)).context("date")?;
            let assessment = serde_json::json!({
                "source": {"agency": AGENCY, "record_id": format!("ASM-{idx}")},
                "kind": "social_care.assessment",
                "occurred_at": assessed.to_string(),
                "recorded_at": format!("{assessed}T16:00:00Z"),
                "persons": [person],
                "outcome": {"status": "completed"},
            });
            writeln!(assessments, "{assessment}")?;
        }
    }
    referrals.flush()?;
    assessments.flush()?;
    Ok(vec![referrals_path, assessments_path])
}

/// The `q` quantile (0..=1) of sorted milliseconds.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    super::bench::quantile(sorted, q)
}

pub fn run(bench: MyWorkBench) -> anyhow::Result<ExitCode> {
    let MyWorkBench {
        children,
        alerts,
        requests,
        work_dir,
        db,
        write_only,
    } = bench;
    anyhow::ensure!(alerts <= children, "--alerts must not exceed --children");
    if work_dir.exists() {
        std::fs::remove_dir_all(&work_dir)
            .with_context(|| format!("{}: cannot remove", work_dir.display()))?;
    }
    let today = Utc::now().date_naive();
    let files = write_fixture(&work_dir.join("fixture"), children, alerts, today)?;
    if write_only {
        for file in &files {
            outln!("{}", file.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let db_url =
        db.unwrap_or_else(|| format!("sqlite://{}", work_dir.join("sightline.db").display()));
    let store: std::sync::Arc<dyn sightline_store::Store> = std::sync::Arc::from(
        sightline_store::open(&db_url).context("could not open the benchmark database")?,
    );
    let engine = super::load_engine(store.as_ref())?;
    eoutln!("ingesting {children} children through the engine ...");
    let started = Instant::now();
    let summary = super::ingest::ingest_files(store.as_ref(), Some(&engine), &files)?.map_err(
        |n_problems| anyhow::anyhow!("the fixture failed validation with {n_problems} problem(s)"),
    )?;
    eoutln!(
        "stored {} records in {:.1} s; {} alerts raised",
        summary.stored,
        started.elapsed().as_secs_f64(),
        summary.alerts.raised
    );
    let agency =
        sightline_core::AgencyId::parse(AGENCY).map_err(|error| anyhow::anyhow!("{error}"))?;
    let session = super::bench::bench_session_in(store.as_ref(), &agency, TEAM)?;
    let cookie = format!("{}={session}", sightline_server::SESSION_COOKIE);
    let state = sightline_server::AppState::new(
        store.clone(),
        sightline_server::ServerConfig::default(),
        engine,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let expected = format!("{alerts} open alerts");
    let (first_ms, filtered_ms, page_bytes) = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(sightline_server::serve(
            listener,
            state,
            std::future::pending(),
        ));
        let mut client = super::http::Connection::open(addr).await?;
        // The server's first tick (at start) evaluates every child; wait for it
        // and warm up.
        let mut page_bytes = 0;
        for _ in 0..5 {
            let (status, body) = client.get_with_cookie("/my-work", &cookie).await?;
            anyhow::ensure!(status.is_success(), "My work answered {status}");
            let text = String::from_utf8_lossy(&body);
            anyhow::ensure!(text.contains(&expected), "My work does not list {expected}");
            page_bytes = body.len();
        }
        let mut first_ms = Vec::new();
        let mut filtered_ms = Vec::new();
        for request_idx in 0..requests {
            // Alternately the first page and a filtered one (overdue, one rule).
            let (path, times) = if request_idx % 2 == 0 {
                ("/my-work", &mut first_ms)
            } else {
                (
                    "/my-work?severity=medium&rule=assessment_overdue&whose=all",
                    &mut filtered_ms,
                )
            };
            let started = Instant::now();
            let (status, _) = client.get_with_cookie(path, &cookie).await?;
            times.push(started.elapsed().as_secs_f64() * 1_000.0);
            anyhow::ensure!(status.is_success(), "My work answered {status}");
        }
        Ok::<_, anyhow::Error>((first_ms, filtered_ms, page_bytes))
    })?;
    let report = |name: &str, mut times: Vec<f64>| {
        times.sort_by(f64::total_cmp);
        outln!(
            "| {name} | {children} | {alerts} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            times.len(),
            quantile(&times, 0.5),
            quantile(&times, 0.95),
            quantile(&times, 0.99),
            times.last().copied().unwrap_or(f64::NAN)
        );
    };
    outln!("My work page: {page_bytes} bytes");
    outln!(
        "| page | children of the agency | open alerts of the team | requests | p50 ms | p95 ms | p99 ms | max ms |"
    );
    outln!("|---|---|---|---|---|---|---|---|");
    report("/my-work", first_ms);
    report("/my-work?severity=medium&rule=...", filtered_ms);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_is_valid_synthetic_interchange() {
        let numbers = nhs_numbers(50);
        assert_eq!(numbers.len(), 50);
        assert!(
            numbers.iter().all(|number| number.starts_with("999")
                && sightline_core::NhsNumber::parse(number).is_ok())
        );
        let dir = tempfile::tempdir().unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let files = write_fixture(dir.path(), 30, 10, today).unwrap();
        let mut n_records = 0;
        for file in &files {
            let bytes = std::fs::read(file).unwrap();
            let parsed = sightline_core::interchange::parse_batch(
                &bytes,
                sightline_core::interchange::Format::JsonLines,
                Utc::now(),
                &sightline_core::interchange::Limits::default(),
            )
            .unwrap();
            n_records += parsed.len();
        }
        assert_eq!(
            n_records,
            30 + 20,
            "a referral each; an assessment for those without an alert"
        );
    }
}
