//! What counts as a reaction: exactly one emoji, as a person sees it (one
//! grapheme), however many code points it takes (flags, skin tones, ZWJ
//! families, keycaps).

use icu_properties::props::{Emoji, EmojiComponent, ExtendedPictographic, RegionalIndicator};
use icu_properties::CodePointSetData;
use unicode_segmentation::UnicodeSegmentation as _;

use super::Refused;

/// Longest reaction accepted, in bytes: the longest emoji sequences (ZWJ
/// families with skin tones, subdivision flags) stay well under it.
const MAX_EMOJI_BYTES: usize = 64;

/// `raw`, trimmed, if it is exactly one emoji.
pub fn validate_emoji(raw: &str) -> Result<String, Refused> {
    let emoji = raw.trim();
    let mut graphemes = emoji.graphemes(true);
    let one = graphemes.next().is_some() && graphemes.next().is_none();
    if !one || emoji.len() > MAX_EMOJI_BYTES || !is_emoji(emoji) {
        return Err(Refused::InvalidEmoji);
    }
    Ok(emoji.to_owned())
}

/// Whether one grapheme is an emoji: every code point is part of emoji
/// (pictographs, components, joiners, variation selectors, tags), and at
/// least one is a pictograph, a flag letter or a keycap: digits and `#`
/// alone have the Emoji property but read as text.
fn is_emoji(grapheme: &str) -> bool {
    let pictographic = CodePointSetData::new::<ExtendedPictographic>();
    let emoji = CodePointSetData::new::<Emoji>();
    let component = CodePointSetData::new::<EmojiComponent>();
    let flag = CodePointSetData::new::<RegionalIndicator>();
    let is_part = |c: char| {
        emoji.contains(c)
            || component.contains(c)
            || pictographic.contains(c)
            || matches!(
                c,
                '\u{200D}' | '\u{FE0F}' | '\u{20E3}' | '\u{E0020}'..='\u{E007F}'
            )
    };
    let is_picture = |c: char| pictographic.contains(c) || flag.contains(c) || c == '\u{20E3}';
    grapheme.chars().all(is_part) && grapheme.chars().any(is_picture)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_emoji_of_any_shape_is_a_reaction() {
        for emoji in ["👍", "❤️", "🎉", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", " 😂 "]
        {
            assert!(validate_emoji(emoji).is_ok(), "{emoji:?}");
        }
    }

    #[test]
    fn text_or_two_emoji_are_not() {
        for text in ["", "a", "1", "#", "👍👍", "ok", "👍a", "<b>", "\u{200D}"] {
            assert_eq!(validate_emoji(text), Err(Refused::InvalidEmoji), "{text:?}");
        }
    }
}
