//! `[[status_pages]]`: public status pages (DESIGN §11), served without a
//! key at `/status/<slug>`. Each shows sources of one organization only;
//! the checks here make a wrong table an error at start (and on `SIGHUP`)
//! that names its key.

use serde::Deserialize;

use super::{Config, ConfigError};

/// Longest slug, in characters.
pub const MAX_SLUG: usize = 64;

/// One `[[status_pages]]` entry, as the file spells it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPageConfig {
    /// The page's path segment: lowercase letters, digits and `-`.
    pub slug: String,
    /// The only organization whose sources the page may show.
    pub organization: String,
    /// Names of that organization's sources to show, in this order;
    /// absent: every source of the organization, by name.
    pub sources: Option<Vec<String>>,
    /// The page's heading; default: the slug.
    pub title: Option<String>,
}

/// A checked public page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPage {
    pub slug: String,
    pub organization: String,
    pub sources: Option<Vec<String>>,
    pub title: String,
}

/// Whether `slug` is 1 to [`MAX_SLUG`] of `a-z`, `0-9` and `-`.
pub fn is_slug(slug: &str) -> bool {
    (1..=MAX_SLUG).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Config {
    /// The `[[status_pages]]`, checked.
    pub fn status_pages(&self) -> Result<Vec<StatusPage>, ConfigError> {
        let mut pages: Vec<StatusPage> = Vec::new();
        for (i, p) in self.status_pages.iter().enumerate() {
            let key = |k: &str| format!("status_pages[{i}].{k}");
            if !is_slug(&p.slug) {
                return Err(self.invalid(
                    key("slug"),
                    format!("{:?} must be 1 to {MAX_SLUG} lowercase letters, digits and `-`", p.slug),
                ));
            }
            if pages.iter().any(|q| q.slug == p.slug) {
                return Err(self.invalid(key("slug"), format!("{:?} is declared twice", p.slug)));
            }
            if !p.organization.starts_with("org_") {
                return Err(self.invalid(key("organization"), "must start with \"org_\""));
            }
            for (j, name) in p.sources.iter().flatten().enumerate() {
                if !crate::model::is_source_name(name) {
                    return Err(self.invalid(
                        format!("status_pages[{i}].sources[{j}]"),
                        "must be a source name (1 to 200 characters, not blank, no `/`)",
                    ));
                }
            }
            let title = p.title.clone().unwrap_or_else(|| p.slug.clone());
            if crate::model::is_blank(&title)
                || title.chars().count() > 200
                || title.chars().any(char::is_control)
            {
                return Err(self
                    .invalid(key("title"), "must be 1 to 200 characters, not blank, no control characters"));
            }
            pages.push(StatusPage {
                slug: p.slug.clone(),
                organization: p.organization.clone(),
                sources: p.sources.clone(),
                title,
            });
        }
        Ok(pages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, "t.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn a_page_defaults_its_title_to_the_slug() {
        let c = parse("[[status_pages]]\nslug = \"acme-1\"\norganization = \"org_acme\"\n").expect("valid");
        let pages = c.status_pages().expect("pages");
        assert_eq!(pages[0].title, "acme-1");
        assert_eq!(pages[0].sources, None);
    }

    #[test]
    fn each_wrong_key_is_named() {
        let page = |body: &str| format!("[[status_pages]]\n{body}\n");
        for (text, key) in [
            (page("slug = \"Acme\"\norganization = \"org_a\""), "status_pages[0].slug"),
            (page("slug = \"\"\norganization = \"org_a\""), "status_pages[0].slug"),
            (
                page(&format!("slug = \"{}\"\norganization = \"org_a\"", "a".repeat(65))),
                "status_pages[0].slug",
            ),
            (page("slug = \"a.json\"\norganization = \"org_a\""), "status_pages[0].slug"),
            (page("slug = \"a\"\norganization = \"acme\""), "status_pages[0].organization"),
            (
                page("slug = \"a\"\norganization = \"org_a\"\nsources = [\"x/y\"]"),
                "status_pages[0].sources[0]",
            ),
            (page("slug = \"a\"\norganization = \"org_a\"\ntitle = \" \""), "status_pages[0].title"),
            (
                format!(
                    "{}{}",
                    page("slug = \"a\"\norganization = \"org_a\""),
                    page("slug = \"a\"\norganization = \"org_b\"")
                ),
                "status_pages[1].slug",
            ),
        ] {
            let e = parse(&text).expect_err(&text);
            assert!(e.contains(&format!("`{key}`")), "{text}: {e}");
        }
        let e = parse(&page("slug = \"a\"\norganization = \"org_a\"\nsecret = 1")).expect_err("unknown key");
        assert!(e.contains("unknown field `secret`"), "{e}");
    }
}
