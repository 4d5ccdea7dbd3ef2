//! Display names: what may be one, and when two are "the same name".
//!
//! A name is shown as typed (trimmed), but it is refused when it hides
//! characters (format characters, default-ignorable code points, line and
//! paragraph separators, controls) or shows nothing at all. Two names clash
//! when they look alike: they are compared after NFKC normalisation, case
//! folding and the Unicode confusable skeleton (UTS #39), so `Ａｎｎ`, `ANN`
//! and a Cyrillic `Аnn` all clash with `Ann`.

use icu_casemap::CaseMapper;
use icu_properties::props::{DefaultIgnorableCodePoint, Emoji, GeneralCategory, WhiteSpace};
use icu_properties::{CodePointMapData, CodePointSetData};
use unicode_normalization::UnicodeNormalization as _;
use unicode_security::confusable_detection::skeleton;

/// Longest accepted display name, in characters.
pub const MAX_NAME_CHARS: usize = 32;

/// Why a requested display name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing but white space.
    #[error("name must not be empty")]
    Empty,
    /// Longer than its limit ([`MAX_NAME_CHARS`] for people).
    #[error("name must be at most {0} characters")]
    TooLong(usize),
    /// Contains control, formatting or invisible characters.
    #[error("name may only contain visible characters")]
    Unprintable,
    /// Made only of characters that show as blank space.
    #[error("name must contain a visible character")]
    Invisible,
}

/// Trims and checks a display name: 1 to 32 characters, none hidden, at
/// least one visible.
pub fn validate_name(raw: &str) -> Result<String, NameError> {
    validate_label(raw, MAX_NAME_CHARS)
}

/// [`validate_name`] with another length limit: the rules rooms' names
/// share with people's.
pub fn validate_label(raw: &str, max_chars: usize) -> Result<String, NameError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().count() > max_chars {
        return Err(NameError::TooLong(max_chars));
    }
    if hides_characters(name) {
        return Err(NameError::Unprintable);
    }
    if !name.chars().any(is_visible) {
        return Err(NameError::Invisible);
    }
    Ok(name.to_owned())
}

/// The form names are compared in: two names with the same key would be
/// mistaken for each other.
pub fn name_key(name: &str) -> String {
    let compatible: String = name.nfkc().collect();
    let folded = CaseMapper::new().fold_string(&compatible);
    // Dropped before the skeleton, so a name with an emoji presentation
    // selector still clashes with the same name without it.
    let normalized: String = folded
        .nfkc()
        .filter(|c| !CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(*c))
        .collect();
    skeleton(&normalized).collect()
}

/// Whether the name has a hidden character. The one exception is the emoji
/// presentation selector (U+FE0F) right after an emoji, which emoji keyboards
/// insert (`❤️`); it cannot disguise a name, since it changes only how that
/// emoji is drawn.
fn hides_characters(name: &str) -> bool {
    let mut previous = None;
    name.chars().any(|c| {
        let after_emoji = previous.is_some_and(|p| CodePointSetData::new::<Emoji>().contains(p));
        previous = Some(c);
        is_hidden(c) && !(c == EMOJI_PRESENTATION && after_emoji)
    })
}

/// VARIATION SELECTOR-16: draw the preceding character as an emoji.
const EMOJI_PRESENTATION: char = '\u{FE0F}';

/// Characters that change or hide what a name shows without showing
/// themselves: controls, format characters (Cf: bidi marks, joiners, tags,
/// the soft hyphen…), default-ignorable code points (fillers, variation
/// selectors, the combining grapheme joiner…) and the line and paragraph
/// separators.
pub fn is_hidden(c: char) -> bool {
    let category = CodePointMapData::<GeneralCategory>::new().get(c);
    c.is_control()
        || matches!(
            category,
            GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
                | GeneralCategory::Surrogate
                | GeneralCategory::PrivateUse
                | GeneralCategory::Unassigned
        )
        || CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
}

/// Whether a character leaves a mark: not white space, not hidden, and not
/// one of the symbols that render as an empty cell.
pub(crate) fn is_visible(c: char) -> bool {
    // U+2800 BRAILLE PATTERN BLANK is a symbol (So) that draws nothing.
    const BLANK_SYMBOLS: [char; 1] = ['\u{2800}'];
    !CodePointSetData::new::<WhiteSpace>().contains(c)
        && !is_hidden(c)
        && !BLANK_SYMBOLS.contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(validate_name("  Ann "), Ok("Ann".into()));
        assert_eq!(validate_name("   "), Err(NameError::Empty));
        assert_eq!(validate_name(&"x".repeat(33)), Err(NameError::TooLong(32)));
        assert_eq!(validate_name(&"é".repeat(32)), Ok("é".repeat(32)));
        assert_eq!(validate_name("Zoë 🎉"), Ok("Zoë 🎉".into()));
        assert_eq!(validate_name("山田"), Ok("山田".into()));
        assert_eq!(validate_name("Ann ❤\u{FE0F}"), Ok("Ann ❤\u{FE0F}".into()));
        assert_eq!(validate_name("a\u{7}b"), Err(NameError::Unprintable));
        assert_eq!(validate_name("a\u{202E}b"), Err(NameError::Unprintable));
    }

    #[test]
    fn hidden_characters_are_refused() {
        for hidden in [
            '\u{2060}',
            '\u{061C}',
            '\u{034F}',
            '\u{00AD}',
            '\u{180E}',
            '\u{E0041}',
            '\u{3164}',
            '\u{200B}',
            '\u{200D}',
            '\u{FEFF}',
            '\u{2028}',
            '\u{2029}',
            '\u{FE0F}',
            '\u{115F}',
            '\u{FFA0}',
        ] {
            let name = format!("An{hidden}n");
            assert_eq!(
                validate_name(&name),
                Err(NameError::Unprintable),
                "U+{:04X}",
                u32::from(hidden)
            );
        }
    }

    #[test]
    fn names_that_show_nothing_are_refused() {
        assert!(validate_name("\u{3164}\u{3164}").is_err());
        assert_eq!(validate_name("\u{2800}\u{2800}"), Err(NameError::Invisible));
        assert_eq!(validate_name("\u{3000}"), Err(NameError::Empty));
    }

    #[test]
    fn look_alike_names_share_a_key() {
        let ann = name_key("Ann");
        for alike in ["ann", "ANN", "Ａｎｎ", "\u{410}nn", "Аnn"] {
            assert_eq!(name_key(alike), ann, "{alike}");
        }
        assert_eq!(name_key("Straße"), name_key("STRASSE"));
        assert_ne!(name_key("Ann"), name_key("Anne"));
        assert_ne!(name_key("Bob"), name_key("Ann"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn valid_names_are_trimmed_bounded_visible_and_stable(raw in "\\PC{0,40}|.{0,40}") {
            if let Ok(name) = validate_name(&raw) {
                prop_assert_eq!(name.trim(), name.as_str());
                prop_assert!(!name.is_empty());
                prop_assert!(name.chars().count() <= MAX_NAME_CHARS);
                prop_assert!(name.chars().any(is_visible));
                prop_assert_eq!(validate_name(&name), Ok(name.clone()));
            }
        }

        #[test]
        fn keys_ignore_case(name in "[a-zA-Z]{1,20}") {
            prop_assert_eq!(name_key(&name), name_key(&name.to_uppercase()));
        }
    }
}
