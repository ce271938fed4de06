//! Accounts on the shared MariaDB (127.0.0.1:3306, root without a password),
//! made through the `mariadb` client and dropped again when the guard goes.

use std::process::Command;

/// A MariaDB account `name`@`%` with a password and SELECT on `test`,
/// created idempotently (its password reset if it already existed).
pub struct MariaDbUser {
    pub name: String,
    pub password: String,
}

impl MariaDbUser {
    /// `name` must be a plain identifier (it is spliced into SQL).
    pub fn create(name: &str, password: &str) -> Self {
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "plain user names only");
        assert!(!password.contains(['\'', '\\']), "plain passwords only");
        let user = Self { name: name.to_string(), password: password.to_string() };
        user.sql(&format!(
            "CREATE USER IF NOT EXISTS '{name}'@'%' IDENTIFIED BY '{password}';\
             ALTER USER '{name}'@'%' IDENTIFIED BY '{password}';\
             GRANT SELECT ON test.* TO '{name}'@'%';"
        ));
        user
    }

    fn sql(&self, sql: &str) {
        shared_sql(sql);
    }
}

impl Drop for MariaDbUser {
    fn drop(&mut self) {
        let _ = client(&format!("DROP USER IF EXISTS '{}'@'%';", self.name));
    }
}

/// Runs SQL as root on the shared MariaDB (in `test` by default); a
/// failure fails the test.
pub fn shared_sql(sql: &str) {
    let out = client(sql);
    assert!(out.status.success(), "mariadb {sql:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The `mariadb` client as root on the shared server, database `test`.
pub fn client(sql: &str) -> std::process::Output {
    Command::new("mariadb")
        .args(["-uroot", "-h127.0.0.1", "-P3306", "-Dtest", "-e", sql])
        .output()
        .expect("running the mariadb client")
}
