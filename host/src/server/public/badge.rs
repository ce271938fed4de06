//! Shields-style SVG badges (a grey label, a coloured value) for a page's
//! overall state and for one source's status. Plain markup: no script, no
//! external font or image, so it is safe to embed anywhere as an `img`.

use maud::{Markup, html};

use super::data::Overall;
use crate::model::CheckStatus;

const GREEN: &str = "#1a7f37";
const RED: &str = "#cf222e";
const ORANGE: &str = "#b35900";
const PURPLE: &str = "#8250df";
const GREY: &str = "#6e7781";

/// A rough width of `text` at 11 px Verdana, plus padding: badges need
/// no exact metrics, only room.
fn width(text: &str) -> usize {
    text.chars().count() * 7 + 12
}

/// A badge reading `label | value`, the value on `color`.
pub fn badge(label: &str, value: &str, color: &str) -> Markup {
    let (lw, vw) = (width(label), width(value));
    let total = lw + vw;
    let said = format!("{label}: {value}");
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(total) height="20" viewBox={ "0 0 " (total) " 20" }
            role="img" aria-label=(said) {
            title { (said) }
            rect width=(lw) height="20" fill="#555" {}
            rect x=(lw) width=(vw) height="20" fill=(color) {}
            g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" {
                text x=(lw / 2) y="14" { (label) }
                text x=(lw + vw / 2) y="14" { (value) }
            }
        }
    }
}

/// The page's badge: its title and `up`, `down`, `pending` or `unknown`.
pub fn overall(title: &str, state: Overall) -> Markup {
    let color = match state {
        Overall::Up => GREEN,
        Overall::Down => RED,
        Overall::Pending | Overall::Unknown => GREY,
    };
    badge(title, state.as_str(), color)
}

/// `OK`, `ERROR`, ... as everywhere in Sonde; `pending` before a first check.
pub fn status_text(status: Option<CheckStatus>) -> &'static str {
    match status {
        Some(s) if s.is_finished() => s.as_str(),
        _ => "pending",
    }
}

/// A source's badge: its name and its newest status.
pub fn source(name: &str, status: Option<CheckStatus>) -> Markup {
    let color = match status {
        Some(CheckStatus::Ok) => GREEN,
        Some(CheckStatus::Error) => RED,
        Some(CheckStatus::Timeout) => ORANGE,
        Some(CheckStatus::Failed) => PURPLE,
        _ => GREY,
    };
    badge(name, status_text(status), color)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_badge_is_label_and_value_and_escapes_both() {
        let svg = badge("a<b", "up", GREEN).into_string();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{svg}");
        assert!(svg.contains("a&lt;b") && !svg.contains("a<b"), "{svg}");
        assert!(svg.contains(">up<") && svg.contains(GREEN), "{svg}");
        let s = source("db", None).into_string();
        assert!(s.contains(">pending<") && s.contains(GREY), "{s}");
    }
}
