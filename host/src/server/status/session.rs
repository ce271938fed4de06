//! The status page's login: an admin key posted from a form, kept by the
//! browser in an `HttpOnly`, `SameSite=Strict` cookie and checked again on
//! every request, in constant time against every configured key (as
//! [`crate::server::auth`] does for headers). A key removed from the
//! configuration logs its browsers out at once; nothing is kept server-side.

use axum::http::header::{COOKIE, HeaderMap};
use cookie::{Cookie, SameSite};
use subtle::ConstantTimeEq;

use crate::config::Role;
use crate::service::Service;

/// The cookie holding the admin key.
pub const COOKIE_NAME: &str = "sonde_admin";

/// Whether `key` is one of the configured admin keys.
pub fn is_admin_key(service: &Service, key: &str) -> bool {
    if key.is_empty() {
        return false;
    }
    // Compare with every key, so timing does not tell which one matched.
    let mut admin = false;
    for k in service.keys() {
        let equal: bool = k.secret.as_bytes().ct_eq(key.as_bytes()).into();
        admin |= equal && k.role == Role::Admin;
    }
    admin
}

/// The admin key presented in the request's cookie, if it is one.
pub fn admin_from_cookie(service: &Service, headers: &HeaderMap) -> bool {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse_encoded)
        .filter_map(Result::ok)
        .filter(|c| c.name() == COOKIE_NAME)
        .any(|c| is_admin_key(service, c.value()))
}

fn base(value: String) -> cookie::CookieBuilder<'static> {
    Cookie::build((COOKIE_NAME, value)).http_only(true).same_site(SameSite::Strict).path("/")
}

/// `Set-Cookie` value that logs the browser in with `key`.
pub fn login_cookie(key: &str) -> String {
    base(key.to_string()).build().encoded().to_string()
}

/// `Set-Cookie` value that logs the browser out.
pub fn logout_cookie() -> String {
    base(String::new()).max_age(cookie::time::Duration::ZERO).build().encoded().to_string()
}
