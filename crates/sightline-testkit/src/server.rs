//! The real server for the web and API test suites (feature `server`): started
//! on a free port over a fresh database, with staff accounts signed in the way
//! the login page signs them in. One place for what every web and API test
//! needs, so a change to start-up or login touches one function.

use sightline_access::Role;
use sightline_app::accounts::{LoginOutcome, NewAccount, Password, Team, Username};
use sightline_app::audit::AuditActor;
use sightline_core::AgencyId;
use sightline_server::AppState;
/// The server's settings, for [`TestServer::start_configured`].
pub use sightline_server::ServerConfig;
use sightline_store::Store;
use std::sync::Arc;

use crate::TestDatabase;

/// The password of every account [`TestServer::staff`] creates.
pub const STAFF_PASSWORD: &str = "correct horse battery staple";

/// A running server: the whole application (API and web UI) with its ticker.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub store: Arc<dyn Store>,
    pub state: AppState,
    /// The database's backend.
    pub backend: crate::TestBackend,
    /// The database (removed when the server is dropped).
    db: Option<TestDatabase>,
}

/// Runs synchronous store work from async test code. PostgreSQL's synchronous
/// client runs its own runtime, which may not start inside a tokio worker, so
/// on a multi-threaded runtime (`#[tokio::test(flavor = "multi_thread")]`, as
/// every test on PostgreSQL needs) the work leaves the runtime first.
pub fn sync<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

impl std::ops::Deref for StaffSession {
    type Target = str;

    /// The session secret, as a bearer token or cookie value.
    fn deref(&self) -> &str {
        &self.secret
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let db = self.db.take();
        sync(move || drop(db));
    }
}

/// A signed-in staff member: the session secret (cookie value or bearer token)
/// and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct StaffSession {
    pub username: String,
    pub secret: String,
    pub csrf: String,
}

impl TestServer {
    /// Starts the server over `db` (empty).
    pub async fn start(db: TestDatabase) -> TestServer {
        TestServer::start_with(db, |_| {}).await
    }

    /// Opens `db`, lets `seed` write to it (records, accounts, tokens) before the
    /// engine loads the log, then serves on a free port.
    pub async fn start_with(db: TestDatabase, seed: impl FnOnce(&dyn Store)) -> TestServer {
        TestServer::start_configured(db, ServerConfig::default(), seed).await
    }

    /// [`TestServer::start_with`] with the server's settings.
    pub async fn start_configured(
        db: TestDatabase,
        config: ServerConfig,
        seed: impl FnOnce(&dyn Store),
    ) -> TestServer {
        let (store, state) = sync(|| {
            let store: Arc<dyn Store> =
                Arc::from(sightline_store::open(&db.url).expect("open the test store"));
            seed(store.as_ref());
            let state = AppState::load(store.clone(), config).expect("load engine");
            (store, state)
        });
        // The store is never dropped: PostgreSQL's synchronous client closes its
        // connections with a blocking call, which panics on a runtime thread,
        // and the server's tasks (holding the last references) end there. The
        // database itself is dropped (with FORCE) by `TestDatabase`.
        std::mem::forget(store.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        tokio::spawn(sightline_server::serve(
            listener,
            state.clone(),
            std::future::pending(),
        ));
        TestServer {
            base,
            store,
            state,
            backend: db.backend,
            db: Some(db),
        }
    }

    /// The URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates an account (no team) and signs it in.
    pub fn staff(&self, username: &str, role: Role, agency: &str) -> StaffSession {
        self.staff_in_team(username, role, agency, None)
    }

    /// Creates an account in `team` and signs it in.
    pub fn staff_in_team(
        &self,
        username: &str,
        role: Role,
        agency: &str,
        team: Option<&str>,
    ) -> StaffSession {
        sync(|| {
            create_staff(self.store.as_ref(), username, role, agency, team);
            sign_in(self.store.as_ref(), username, STAFF_PASSWORD)
        })
    }
}

/// Creates an account with [`STAFF_PASSWORD`].
pub fn create_staff(
    store: &dyn Store,
    username: &str,
    role: Role,
    agency: &str,
    team: Option<&str>,
) {
    sightline_app::accounts::create_account(
        store,
        &NewAccount {
            username: Username::parse(username).expect("username"),
            password: Password::parse(STAFF_PASSWORD).expect("password"),
            role,
            agency: AgencyId::parse(agency).expect("agency"),
            team: team.map(|team| Team::parse(team).expect("team")),
        },
        &AuditActor::cli(),
        chrono::Utc::now(),
    )
    .expect("create the account");
}

/// Signs an existing account in, as the login page does.
pub fn sign_in(store: &dyn Store, username: &str, password: &str) -> StaffSession {
    match sightline_app::accounts::login(
        store,
        username,
        password,
        None,
        chrono::Utc::now(),
        &sightline_web::WebConfig::default().session,
    )
    .expect("login")
    {
        LoginOutcome::SignedIn { secret, .. } => StaffSession {
            username: username.to_owned(),
            secret: secret.as_str().to_owned(),
            csrf: secret.csrf_token(),
        },
        LoginOutcome::Refused { .. } => panic!("login refused for {username}"),
    }
}

/// Declares a `mod every_backend` with one `#[tokio::test]` per named async
/// test function `fn name(db: TestDatabase)`, run once on each database of
/// [`all_databases`] (SQLite, and PostgreSQL when it can run; mandatory with
/// `CI=true`).
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod every_backend {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    let mut databases = $crate::server::Databases::all();
                    while let Some(db) = databases.next() {
                        super::$name(db).await;
                    }
                }
            )*
        }
    };
}

/// [`crate::all_databases`] from async test code (see [`sync`]).
pub fn all_databases() -> Vec<TestDatabase> {
    sync(crate::all_databases)
}

/// The databases a test has yet to run on. When a test fails on one, the rest
/// are dropped through [`sync`]: dropping a PostgreSQL database on a runtime
/// thread panics, and a panic while unwinding aborts the test binary instead
/// of reporting the failure.
pub struct Databases(std::vec::IntoIter<TestDatabase>);

impl Databases {
    pub fn all() -> Databases {
        Databases(all_databases().into_iter())
    }
}

impl Iterator for Databases {
    type Item = TestDatabase;

    fn next(&mut self) -> Option<TestDatabase> {
        self.0.next()
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        let rest: Vec<TestDatabase> = self.0.by_ref().collect();
        sync(move || drop(rest));
    }
}

// ---- a browser's requests, for the web UI's tests ----

/// A client that keeps cookies and does not follow redirects, like a browser
/// whose every step a test checks.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// Posts a url-encoded form to `url`.
pub async fn post_form(
    client: &reqwest::Client,
    url: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(url)
        .form(fields)
        .send()
        .await
        .expect("the form was sent")
}

/// The CSRF token in a page's form.
pub fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page
        .find(marker)
        .unwrap_or_else(|| panic!("no CSRF token in {page}"))
        + marker.len();
    page[start..start + 64].to_owned()
}

/// Signs in through the login page (its double-submit CSRF token included);
/// the answer to the form.
pub async fn login_form(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("the login page")
        .text()
        .await
        .expect("its text");
    let token = csrf_of(&page);
    post_form(
        client,
        &format!("{base}/login"),
        &[
            ("csrf_token", &token),
            ("username", username),
            ("password", password),
        ],
    )
    .await
}
