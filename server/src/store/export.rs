//! The conversation written out for people (Markdown) or programs (JSON),
//! streamed row by row so a long history never sits in memory at once.

use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::open::{open_read_only, StorageError};
use crate::model::ChatMessage;

/// The `format` field of a JSON export.
pub const EXPORT_FORMAT: &str = "hearth-conversation";

/// The version of the JSON export's shape.
pub const EXPORT_VERSION: u32 = 2;

/// How to write the conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// A readable document.
    #[default]
    Markdown,
    /// Every message with all its fields, for programs; see [`Exported`].
    Json,
}

/// A JSON export, as written and as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exported {
    /// Always [`EXPORT_FORMAT`].
    pub format: String,
    /// Always [`EXPORT_VERSION`] for this shape.
    pub version: u32,
    /// The room's id (the `room` of `welcome`).
    pub room: String,
    /// When the export was made, milliseconds since the Unix epoch.
    pub exported_at: u64,
    /// The conversations the messages are in (version 2 on).
    #[serde(default)]
    pub rooms: Vec<ExportedRoom>,
    /// Every stored message exported, by conversation, oldest first.
    pub messages: Vec<ChatMessage>,
}

/// A conversation in an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedRoom {
    /// Its id (the `room` of its messages).
    pub id: u64,
    /// `room` or `direct`.
    pub kind: String,
    /// A room's name; a direct conversation's two people's latest names.
    pub name: String,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The database could not be opened.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Reading it failed.
    #[error("cannot read the conversation: {0}")]
    Read(#[from] rusqlite::Error),
    /// Writing the export failed.
    #[error("cannot write the export: {0}")]
    Write(#[from] io::Error),
}

/// Writes the conversation kept in the data directory `dir` to `out`;
/// returns how many messages were written. Reads alongside a running room.
pub fn export(
    dir: &Path,
    format: ExportFormat,
    include_direct: bool,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    let conn = open_read_only(dir)?;
    write_conversation(&conn, format, include_direct, out)
}

/// Writes every message `conn` holds to `out`, oldest first.
pub fn write_conversation(
    conn: &Connection,
    format: ExportFormat,
    include_direct: bool,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    // One read transaction: the export is a consistent snapshot.
    conn.execute_batch("BEGIN")?;
    let result = write_snapshot(conn, format, include_direct, out);
    let _ = conn.execute_batch("COMMIT");
    result
}

fn write_snapshot(
    conn: &Connection,
    format: ExportFormat,
    include_direct: bool,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    let room: String = conn.query_row("SELECT value FROM meta WHERE key = 'room'", [], |r| {
        r.get(0)
    })?;
    let exported_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let rooms = exported_rooms(conn, include_direct)?;
    let select = if rooms.is_empty() {
        // A database from before rooms (export never migrates): all General.
        format!(
            "{} ORDER BY m.id",
            super::queries::SELECT_MESSAGES.replace("m.room", "1")
        )
    } else {
        format!(
            "{} WHERE m.room IN (SELECT value FROM json_each(?1)) ORDER BY m.room, m.id",
            super::queries::SELECT_MESSAGES
        )
    };
    let ids = serde_json::to_string(&rooms.iter().map(|r| r.id).collect::<Vec<_>>())
        .map_err(io::Error::from)?;
    let mut rows = conn.prepare(&select)?;
    let rows = if rooms.is_empty() {
        rows.query_map([], super::queries::message)?
    } else {
        rows.query_map([&ids], super::queries::message)?
    };
    let names: std::collections::HashMap<u64, String> =
        rooms.iter().map(|r| (r.id, r.name.clone())).collect();
    let messages = decorated(conn, rows);
    let mut count = 0;
    match format {
        ExportFormat::Json => {
            // The envelope of `Exported`, with the messages streamed into it.
            let mut head = serde_json::to_string(&Exported {
                format: EXPORT_FORMAT.into(),
                version: EXPORT_VERSION,
                room,
                exported_at,
                rooms,
                messages: Vec::new(),
            })
            .map_err(io::Error::from)?;
            head.truncate(head.len() - "]}".len());
            out.write_all(head.as_bytes())?;
            for message in messages {
                if count > 0 {
                    out.write_all(b",")?;
                }
                out.write_all(b"\n")?;
                serde_json::to_writer(&mut *out, &message?).map_err(io::Error::from)?;
                count += 1;
            }
            out.write_all(b"\n]}\n")?;
        }
        ExportFormat::Markdown => {
            writeln!(out, "# Hearth conversation\n")?;
            writeln!(out, "Room `{room}`, exported {}.\n", rfc3339(exported_at))?;
            let mut current = None;
            for message in messages {
                let message = message?;
                if current != Some(message.room) {
                    current = Some(message.room);
                    let name = names.get(&message.room).map_or("General", String::as_str);
                    writeln!(out, "## {}\n", escape_markdown(name))?;
                }
                write_markdown(out, &message)?;
                count += 1;
            }
        }
    }
    out.flush()?;
    Ok(count)
}

/// One message in the Markdown export: who and when, the quote, the text
/// (written literally), the files.
fn write_markdown(out: &mut dyn Write, message: &ChatMessage) -> io::Result<()> {
    writeln!(
        out,
        "**{}** · {}\n",
        escape_markdown(&message.from.name),
        rfc3339(message.ts)
    )?;
    if let Some(quote) = &message.reply_to {
        writeln!(
            out,
            "> {}: {}\n",
            escape_markdown(&quote.from.name),
            escape_markdown(&quote.excerpt.replace(['\n', '\r'], " "))
        )?;
    }
    if message.deleted {
        writeln!(out, "_message deleted_\n")?;
    } else if message.edited_ts.is_some() {
        writeln!(out, "{} _(edited)_\n", literal_text(&message.text))?;
    } else if !message.text.is_empty() {
        writeln!(out, "{}\n", literal_text(&message.text))?;
    }
    for file in &message.files {
        writeln!(
            out,
            "- file: {} ({} bytes)\n",
            escape_markdown(&file.name),
            file.size
        )?;
    }
    Ok(())
}

/// Messages read per batch of [`decorated`].
const EXPORT_CHUNK: usize = 256;

/// `rows` with their files and reactions, decorated a chunk at a time: the
/// export streams, at two queries per chunk rather than per message. The
/// first error ends it.
fn decorated<'a>(
    conn: &'a Connection,
    mut rows: impl Iterator<Item = rusqlite::Result<ChatMessage>> + 'a,
) -> impl Iterator<Item = rusqlite::Result<ChatMessage>> + 'a {
    std::iter::from_fn(move || {
        let chunk: rusqlite::Result<Vec<ChatMessage>> = rows.by_ref().take(EXPORT_CHUNK).collect();
        let mut chunk = match chunk {
            Ok(chunk) if chunk.is_empty() => return None,
            Ok(chunk) => chunk,
            Err(err) => return Some(vec![Err(err)]),
        };
        Some(match super::queries::decorate(conn, &mut chunk) {
            Ok(()) => chunk.into_iter().map(Ok).collect(),
            Err(err) => vec![Err(err)],
        })
    })
    .flatten()
}

fn rfc3339(millis: u64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(millis);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Keeps text literal in Markdown: every character that could start
/// markup (or HTML, or an entity) is escaped, so a name or a message can
/// never render as the export's own structure.
fn escape_markdown(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\`*_{}[]()<>#+-.!|~=&".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// A message's text as one literal paragraph of the export: each line
/// escaped, and lines joined by hard breaks (a backslash before the line
/// end) instead of blank lines, so no line of someone's message can stand
/// alone and pass for a message header, a heading or HTML.
fn literal_text(text: &str) -> String {
    text.lines()
        .map(|line| escape_markdown(line.trim_end_matches('\r')))
        .collect::<Vec<_>>()
        .join("\\\n")
}

/// The conversations to export, General first; none for a database from
/// before rooms. Direct conversations only when `include_direct`.
fn exported_rooms(conn: &Connection, include_direct: bool) -> rusqlite::Result<Vec<ExportedRoom>> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version < 4 {
        return Ok(Vec::new());
    }
    conn.prepare(
        "SELECT r.id, r.kind,
                CASE r.kind WHEN 'direct'
                    THEN coalesce(a.name, '?') || ' and ' || coalesce(b.name, '?')
                    ELSE r.name END
         FROM rooms r
         LEFT JOIN people a ON a.uid = r.direct_a
         LEFT JOIN people b ON b.uid = r.direct_b
         WHERE ?1 OR r.kind = 'room'
         ORDER BY r.id",
    )?
    .query_map([include_direct], |row| {
        Ok(ExportedRoom {
            id: row.get(0)?,
            kind: row.get(1)?,
            name: row.get(2)?,
        })
    })?
    .collect()
}
