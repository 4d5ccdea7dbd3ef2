//! What a person types into search: words, and the filters `in:ROOM`,
//! `from:NAME`, `has:file`, `has:image` and `has:link`. A name with spaces
//! goes in quotes: `in:"Track A"`.

/// A search as typed, taken apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// The words to find, as typed, filters removed.
    pub words: String,
    /// `in:`: one room, by name.
    pub room: Option<String>,
    /// `from:`: one person, by name.
    pub from: Option<String>,
    /// `has:file`.
    pub has_file: bool,
    /// `has:image`.
    pub has_image: bool,
    /// `has:link`.
    pub has_link: bool,
}

impl Filters {
    /// Takes the filters out of `typed`; anything that is not one stays a
    /// word (`has:cake` searches for "has:cake").
    pub fn parse(typed: &str) -> Self {
        let mut filters = Filters::default();
        let mut words = Vec::new();
        let mut rest = typed.trim_start();
        while !rest.is_empty() {
            let (token, after) = next_token(rest);
            rest = after.trim_start();
            let Some((key, value)) = token.split_once(':') else {
                words.push(token);
                continue;
            };
            let value = unquote(value);
            match (key.to_ascii_lowercase().as_str(), value) {
                (_, "") => words.push(token),
                ("in", room) => filters.room = Some(room.to_owned()),
                ("from", name) => filters.from = Some(name.to_owned()),
                ("has", what) => match what.to_ascii_lowercase().as_str() {
                    "file" | "files" => filters.has_file = true,
                    "image" | "images" | "picture" => filters.has_image = true,
                    "link" | "links" => filters.has_link = true,
                    _ => words.push(token),
                },
                _ => words.push(token),
            }
        }
        filters.words = words.join(" ");
        filters
    }
}

/// The first token of `s` (which starts with no white space): up to white
/// space, except inside `key:"quoted value"`.
fn next_token(s: &str) -> (&str, &str) {
    let quoted = s
        .find(":\"")
        .filter(|colon| !s[..*colon].contains(char::is_whitespace));
    if let Some(colon) = quoted {
        let open = colon + 2;
        if let Some(close) = s[open..].find('"') {
            let end = open + close + 1;
            return (&s[..end], &s[end..]);
        }
    }
    match s.find(char::is_whitespace) {
        Some(end) => (&s[..end], &s[end..]),
        None => (s, ""),
    }
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_come_out_and_words_stay() {
        let f = Filters::parse(r#"agenda in:"Track A" from:Ann has:image has:cake"#);
        assert_eq!(f.words, "agenda has:cake");
        assert_eq!(f.room.as_deref(), Some("Track A"));
        assert_eq!(f.from.as_deref(), Some("Ann"));
        assert!(f.has_image && !f.has_file && !f.has_link);
    }

    #[test]
    fn plain_words_are_only_words() {
        let f = Filters::parse("  time: 10:30 ");
        assert_eq!(f.words, "time: 10:30");
        assert_eq!(f.room, None);
        assert_eq!(Filters::parse("").words, "");
    }
}
