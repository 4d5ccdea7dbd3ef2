//! The bytes of uploaded files, kept by content hash: one copy however many
//! times a file is sent. The database says which uploads (names) point at
//! which hash; this only stores and removes the bytes.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

/// The folder inside the data directory that holds the files.
pub const FILES_DIR: &str = "files";

/// The bytes of one file, ready to be read: a file on disk is streamed,
/// never read whole into memory.
#[derive(Debug)]
pub enum Blob {
    /// Kept in memory (shared, not copied).
    Memory(Bytes),
    /// An open file on disk.
    File(fs::File),
}

/// Where the bytes of uploaded files live.
#[derive(Debug, Clone)]
pub enum Blobs {
    /// In memory, for an ephemeral room.
    Memory(Arc<Mutex<HashMap<String, Bytes>>>),
    /// One file per hash in this folder.
    Dir(PathBuf),
}

impl Blobs {
    /// Blobs in memory.
    pub fn memory() -> Self {
        Blobs::Memory(Arc::default())
    }

    /// The content hash a blob is kept under: SHA-256, in hex.
    pub fn hash(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    /// Keeps `bytes` under `hash` unless already kept. Written to a
    /// temporary file and renamed, so a crash never leaves half a file
    /// under a hash.
    pub fn put(&self, hash: &str, bytes: &Bytes) -> io::Result<()> {
        match self {
            Blobs::Memory(map) => {
                map.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry(hash.to_owned())
                    .or_insert_with(|| bytes.clone());
                Ok(())
            }
            Blobs::Dir(dir) => {
                let path = dir.join(hash);
                if path.exists() {
                    return Ok(());
                }
                fs::create_dir_all(dir)?;
                let partial = dir.join(format!("{hash}.partial"));
                let mut file = fs::File::create(&partial)?;
                file.write_all(bytes)?;
                file.sync_data()?;
                fs::rename(&partial, &path)
            }
        }
    }

    /// Free space on the disk that holds the files, where there is a disk
    /// (`None` in memory, or when the system cannot tell).
    pub fn free_space(&self) -> Option<u64> {
        match self {
            Blobs::Memory(_) => None,
            Blobs::Dir(dir) => {
                // The folder may not exist before the first file.
                let existing = dir.ancestors().find(|path| path.exists())?;
                fs4::available_space(existing).ok()
            }
        }
    }

    /// The bytes kept under `hash`, to be read.
    pub fn open(&self, hash: &str) -> io::Result<Blob> {
        match self {
            Blobs::Memory(map) => map
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(hash)
                .cloned()
                .map(Blob::Memory)
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound)),
            Blobs::Dir(dir) => fs::File::open(dir.join(hash)).map(Blob::File),
        }
    }

    /// Removes what is kept under `hash`; a missing blob is not an error.
    pub fn remove(&self, hash: &str) {
        match self {
            Blobs::Memory(map) => {
                map.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(hash);
            }
            Blobs::Dir(dir) => match fs::remove_file(dir.join(hash)) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => log::warn!("could not remove the file {hash}: {err}"),
            },
        }
    }

    /// Removes every blob (the host cleared the conversation).
    pub fn remove_all(&self) {
        match self {
            Blobs::Memory(map) => map.lock().unwrap_or_else(PoisonError::into_inner).clear(),
            Blobs::Dir(dir) => match fs::remove_dir_all(dir) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => log::warn!("could not remove {}: {err}", dir.display()),
            },
        }
    }
}

/// What kind of file `bytes` are, told by their first bytes only (never by
/// the name or what the browser claims): one of the four picture types a
/// page may show inline, or `application/octet-stream`, which is only ever
/// downloaded.
pub fn sniff(bytes: &[u8]) -> &'static str {
    if infer::image::is_png(bytes) {
        "image/png"
    } else if infer::image::is_jpeg(bytes) {
        "image/jpeg"
    } else if infer::image::is_gif(bytes) {
        "image/gif"
    } else if infer::image::is_webp(bytes) {
        "image/webp"
    } else {
        "application/octet-stream"
    }
}

/// Most characters kept of an uploaded file's name.
const MAX_NAME_CHARS: usize = 120;

/// A file name safe to show and to offer as a download name: the last path
/// segment, without control or bidi characters, at most
/// [`MAX_NAME_CHARS`]; `file` when nothing is left.
pub fn clean_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned = crate::model::clean_text(last).unwrap_or_default();
    let name: String = cleaned
        .chars()
        .filter(|c| !matches!(c, '\n' | '\t'))
        .take(MAX_NAME_CHARS)
        .collect();
    let name = name.trim();
    if name.is_empty() || name == "." || name == ".." {
        "file".to_owned()
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_told_by_their_bytes_only() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), "image/gif");
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\0\x10JFIF"), "image/jpeg");
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), "image/webp");
        assert_eq!(
            sniff(b"<html><script>alert(1)</script>"),
            "application/octet-stream"
        );
        assert_eq!(
            sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            "application/octet-stream"
        );
        assert_eq!(sniff(b""), "application/octet-stream");
    }

    #[test]
    fn file_names_lose_paths_and_controls() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\Users\\a\\cat.png"), "cat.png");
        assert_eq!(clean_file_name("evil\u{202e}gnp.exe"), "evilgnp.exe");
        assert_eq!(clean_file_name(".."), "file");
        assert_eq!(clean_file_name(""), "file");
        assert_eq!(
            clean_file_name(&"a".repeat(500)).chars().count(),
            MAX_NAME_CHARS
        );
    }

    #[test]
    fn memory_blobs_are_kept_once_and_removed() {
        let blobs = Blobs::memory();
        let bytes = Bytes::from_static(b"hello");
        let hash = Blobs::hash(&bytes);
        blobs.put(&hash, &bytes).expect("put");
        assert!(matches!(blobs.open(&hash), Ok(Blob::Memory(kept)) if kept == bytes));
        blobs.remove(&hash);
        assert!(blobs.open(&hash).is_err());
    }
}
