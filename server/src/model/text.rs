//! What message text may hold.

/// Cleans message text: drops control characters other than newline and tab
/// (they would garble other people's screens) and the bidi embedding,
/// override and isolate controls (they would reorder the text around a
/// message), and refuses text that is empty once trimmed. Joiners stay: emoji
/// sequences and several scripts need them.
pub fn clean_text(raw: &str) -> Option<String> {
    let text: String = raw
        .chars()
        .filter(|c| matches!(c, '\n' | '\t') || !is_unprintable(*c))
        .collect();
    if text.trim().is_empty() {
        None
    } else {
        Some(text)
    }
}

/// Control characters, plus the bidi controls that reorder what surrounds
/// them.
fn is_unprintable(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_keeps_newlines_and_drops_controls() {
        assert_eq!(clean_text("a\nb\u{1b}[31m"), Some("a\nb[31m".into()));
        assert_eq!(clean_text(" \n\t "), None);
    }

    proptest! {
        #[test]
        fn cleaned_text_has_no_controls_but_newlines_and_tabs(raw in ".{0,200}") {
            if let Some(text) = clean_text(&raw) {
                prop_assert!(text.chars().all(|c| matches!(c, '\n' | '\t') || !is_unprintable(c)));
                prop_assert!(!text.trim().is_empty());
            }
        }
    }
}
