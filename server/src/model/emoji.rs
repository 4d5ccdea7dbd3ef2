//! What counts as a reaction: exactly one emoji of the Unicode RGI set
//! (what emoji keyboards offer: flags, skin tones, ZWJ families and
//! keycaps included), kept in its fully qualified form so that `❤` and
//! `❤️` are one reaction, not two.

/// `raw`, trimmed and fully qualified, if it is exactly one RGI emoji.
pub fn validate(raw: &str) -> Option<String> {
    let emoji = raw.trim();
    // Digits, `#` and `*` are the unqualified forms of keycap bases in the
    // emoji data, but read as text.
    if emoji.is_ascii() {
        return None;
    }
    emojis::get(emoji).map(|found| found.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_emoji_of_any_shape_is_a_reaction() {
        for emoji in ["👍", "❤️", "🎉", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", " 😂 "]
        {
            assert!(validate(emoji).is_some(), "{emoji:?}");
        }
    }

    #[test]
    fn text_or_two_emoji_are_not() {
        for text in [
            "", "a", "1", "#", "*", "👍👍", "ok", "👍a", "<b>", "\u{200D}",
        ] {
            assert_eq!(validate(text), None, "{text:?}");
        }
    }

    #[test]
    fn only_emoji_people_can_type_count() {
        // Issue 23.1: any run of pictographs joined by ZWJ passed as one
        // grapheme, so one person could make endless "different" reactions.
        for made_up in [
            "👍\u{200D}👍",
            "😀\u{200D}😀\u{200D}😀",
            "🐱\u{200D}🚀\u{200D}🎉",
            "👨\u{200D}👩\u{200D}👧\u{200D}👦\u{200D}👦",
            "🇫🇷🇩🇪",
            "👍\u{FE0F}\u{FE0F}",
        ] {
            assert_eq!(validate(made_up), None, "{made_up:?}");
        }
    }

    #[test]
    fn one_emoji_has_one_form() {
        assert_eq!(validate("❤"), validate("❤️"));
        assert_eq!(validate("❤").as_deref(), Some("❤️"));
    }
}
