//! The silences page's HTML ([`super::silences`]): the list with an "End"
//! button each, and the form that creates one, with its errors.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::parts::{layout, time, when};
use crate::alerts::silences::Silence;

/// The create form's values, kept when it is refused, and its errors as
/// `(field, message)`.
#[derive(Debug, Default)]
pub struct Draft {
    pub organization: String,
    pub sources: String,
    pub starts_at: String,
    pub ends_at: String,
    pub comment: String,
    pub errors: Vec<(String, String)>,
}

impl Draft {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }
}

#[derive(Debug)]
pub struct SilencesPage {
    pub now: DateTime<Utc>,
    pub csrf: String,
    /// The key's organization; None for an admin key.
    pub organization: Option<String>,
    pub silences: Vec<Silence>,
    pub draft: Draft,
}

pub fn render(p: &SilencesPage) -> Markup {
    let body = html! {
        header {
            h1 { "Silences" }
            span.muted { "A silenced source is still checked and shown; its alerts wait until the silence ends." }
        }
        @if !p.draft.errors.is_empty() { p.flash role="alert" { "The silence was not created: see the form below." } }
        section {
            table #silences {
                thead { tr { th { "Organization" } th { "Sources" } th { "From" } th { "Until" } th { "Comment" } th {} } }
                tbody {
                    @for s in &p.silences { (row(p, s)) }
                    @if p.silences.is_empty() { tr { td colspan="6" .muted { "No silences." } } }
                }
            }
        }
        section {
            h2 { "New silence" }
            (form(p))
        }
    };
    layout("Sonde · silences", &p.csrf, body)
}

fn row(p: &SilencesPage, s: &Silence) -> Markup {
    let active = s.starts_at <= p.now && p.now < s.ends_at;
    html! {
        tr.silence data-silence=(s.id) data-active=(active) {
            td { @if let Some(o) = &s.organization { (o) } @else { em { "every organization" } } }
            td { @if let Some(names) = &s.sources { (names.join(", ")) } @else { em { "all" } } }
            td { span title=(time(s.starts_at)) { (time(s.starts_at)) } @if !active { div.muted { "not yet" } } }
            td { (time(s.ends_at)) div.muted { "ends " (when(p.now, s.ends_at)) } }
            td.message { (s.comment) }
            td {
                form method="post" action={ "/silences/" (s.id) "/end" } {
                    input type="hidden" name="csrf" value=(p.csrf);
                    button type="submit" { "End" }
                }
            }
        }
    }
}

fn field(p: &SilencesPage, name: &str, label: &str, input: Markup) -> Markup {
    html! {
        label for=(name) { (label) }
        (input)
        @if let Some(e) = p.draft.error(name) { span.error data-field=(name) { (e) } }
    }
}

fn form(p: &SilencesPage) -> Markup {
    let d = &p.draft;
    html! {
        form.silence #new-silence method="post" action="/silences" {
            input type="hidden" name="csrf" value=(p.csrf);
            @match &p.organization {
                Some(org) => { span { "Organization" } span { strong { (org) } } }
                None => (field(p, "organization", "Organization", html! {
                    input #organization name="organization" value=(d.organization) placeholder="org_… (empty: every organization)";
                })),
            }
            (field(p, "sources", "Sources", html! {
                input #sources name="sources" value=(d.sources) placeholder="names, comma-separated (empty: all)";
            }))
            (field(p, "starts_at", "Starts (UTC)", html! {
                input #starts_at name="starts_at" type="datetime-local" value=(d.starts_at) placeholder="empty: now";
            }))
            (field(p, "ends_at", "Ends (UTC)", html! {
                input #ends_at name="ends_at" type="datetime-local" value=(d.ends_at) required;
            }))
            (field(p, "comment", "Comment", html! {
                textarea #comment name="comment" rows="2" required { (d.comment) }
            }))
            button type="submit" { "Create silence" }
        }
    }
}
