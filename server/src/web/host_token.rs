//! The headless host's key to its loopback host routes: a secret made at
//! each launch and written where only the host's own user can read it, so
//! another account on the same machine (which can reach loopback too)
//! cannot turn sharing on or read the invite.

use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use subtle::ConstantTimeEq;

use crate::store::{random_id, Storage};

/// The token's file name in the data directory.
pub const HOST_TOKEN_FILE: &str = "host-token";

/// Why the host token could not be made.
#[derive(Debug, thiserror::Error)]
pub enum HostTokenError {
    /// The OS gave no randomness for it.
    #[error("no randomness from the operating system for the host token: {0}")]
    NoRandomness(getrandom::Error),
    /// Its file (or the private directory for it) could not be written.
    #[error("cannot write the host token {path}: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
}

/// The current launch's host token and the file that holds it.
#[derive(Debug)]
pub struct HostToken {
    secret: String,
    path: PathBuf,
    /// For an ephemeral room: the private directory the file is in,
    /// removed with the token.
    _private_dir: Option<tempfile::TempDir>,
}

impl HostToken {
    /// Makes a new token and writes it, mode 0600, to `host-token` in the
    /// data directory, or for an ephemeral room in a new private (0700)
    /// temporary directory.
    pub fn create(storage: &Storage) -> Result<Self, HostTokenError> {
        let secret = random_id().map_err(HostTokenError::NoRandomness)?;
        let (dir, private_dir) = match storage.dir() {
            Some(dir) => (dir.to_owned(), None),
            None => {
                let mut builder = tempfile::Builder::new();
                builder.prefix("hearth-host-");
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt as _;
                    builder.permissions(fs::Permissions::from_mode(0o700));
                }
                let private = builder.tempdir().map_err(|source| HostTokenError::Write {
                    path: std::env::temp_dir(),
                    source,
                })?;
                (private.path().to_owned(), Some(private))
            }
        };
        let path = dir.join(HOST_TOKEN_FILE);
        write_private(&path, &secret).map_err(|source| HostTokenError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(Self {
            secret,
            path,
            _private_dir: private_dir,
        })
    }

    /// Where the token is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether an `Authorization` header carries this token as
    /// `Bearer TOKEN`, compared in constant time.
    pub fn authorizes(&self, authorization: Option<&str>) -> bool {
        authorization
            .and_then(|value| value.trim().strip_prefix("Bearer "))
            .is_some_and(|candidate| self.matches(candidate.trim()))
    }

    /// Whether `candidate` is the token, compared in constant time.
    pub fn matches(&self, candidate: &str) -> bool {
        candidate.as_bytes().ct_eq(self.secret.as_bytes()).into()
    }
}

/// Writes `secret` to a new file at `path` that only this user may read.
/// An older file is removed first rather than truncated, so neither its
/// permissions nor a link put in its place is inherited.
fn write_private(path: &Path, secret: &str) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(secret.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_written_for_this_user_only_and_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let token = HostToken::create(&Storage::Dir(dir.path().to_owned())).expect("token");
        assert_eq!(token.path(), dir.path().join(HOST_TOKEN_FILE));
        let written = fs::read_to_string(token.path()).expect("readable");
        assert_eq!(written.trim().len(), 32);
        assert!(token.authorizes(Some(&format!("Bearer {}", written.trim()))));
        assert!(
            !token.authorizes(Some(written.trim())),
            "the scheme is needed"
        );
        assert!(!token.authorizes(Some("Bearer 0123")));
        assert!(!token.authorizes(None));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(token.path())
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Each launch makes a new one.
        let again = HostToken::create(&Storage::Dir(dir.path().to_owned())).expect("token");
        assert!(!again.matches(written.trim()));
    }

    #[test]
    fn an_ephemeral_room_keeps_its_token_in_a_private_directory_while_it_runs() {
        let token = HostToken::create(&Storage::Ephemeral).expect("token");
        let dir = token.path().parent().expect("a directory").to_owned();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&dir).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        assert!(token.path().exists());
        drop(token);
        assert!(!dir.exists(), "removed with the token");
    }
}
