//! The test harness: a server on either store, logged in with the testkit's REST client.

use hostplane_testkit::pg::TestDb;
use hostplane_testkit::server::{Server, ServerOptions};

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Generate `sqlite::name` and `postgres::name` tests from `fn name(db: Db)`.
#[macro_export]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name($crate::integration::common::Db::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name($crate::integration::common::Db::Postgres) } )*
        }
    };
}

pub use hostplane_testkit::api::{assert_error, sha512, Api, Resp};

/// A running server and a logged-in client.
pub struct Env {
    pub api: Api,
    pub server: Server,
    pub db: Option<TestDb>,
}

impl Env {
    pub fn start(db: Db) -> Env {
        Self::start_with(db, vec![])
    }

    pub fn start_with(db: Db, env: Vec<(String, String)>) -> Env {
        let pg = (db == Db::Postgres).then(TestDb::create);
        let opts = ServerOptions {
            database_url: pg.as_ref().map(|d| d.url.clone()),
            env,
            ..Default::default()
        };
        let server = Server::start(std::path::Path::new(env!("CARGO_BIN_EXE_hostplane")), opts);
        let mut api = Api::new(&server.base);
        api.login("admin", "password");
        Env {
            api,
            server,
            db: pg,
        }
    }
}
