//! Links into the history, `hindsight://conversation/ID#MESSAGE`, and one window per data
//! folder. The desktop starts `hindsight URL` for a link (the package's desktop entry handles
//! the `hindsight` scheme); the window already open for that data folder takes it over a local
//! socket in the folder (`window.sock`) and opens the conversation at the message, and the new
//! process exits. A plain second start brings the open window to the front the same way. With
//! no window open, the link opens in the window it starts.
//!
//! Why a socket in the data folder and not tauri-plugin-single-instance: that plugin names the
//! app on the D-Bus session bus, which a test machine under Xvfb (and WSL) may not have, and it
//! allows one window per user, where the store's rule is one window per database: windows on
//! two data folders (the E2E tests run several) are fine.
use std::path::{Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;

/// The scheme of links into the history.
pub const SCHEME: &str = "hindsight://";
/// The event a link opened while the window runs is sent as.
pub const LINK_EVENT: &str = "open-link";
/// What a second start sends when it has no link: bring the window to the front.
const FOCUS: &str = "focus";
const SOCKET: &str = "window.sock";
/// A request longer than this is not a link.
const MAX_LINE: u64 = 1024;

/// Where a link points: a conversation, and a message in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Link {
    pub conversation_id: String,
    pub message_id: Option<String>,
}

impl Link {
    pub fn to_url(&self) -> String {
        match &self.message_id {
            Some(m) => format!("{SCHEME}conversation/{}#{m}", self.conversation_id),
            None => format!("{SCHEME}conversation/{}", self.conversation_id),
        }
    }
}

/// An id as stored (a UUID, or an imported chat's own id): letters, digits, `-` and `_`.
fn plain_id(s: &str) -> Option<String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    ok.then(|| s.to_owned())
}

/// Reads `hindsight://conversation/ID` or `hindsight://conversation/ID#MESSAGE` (a trailing
/// `/` allowed); anything else is `None`. The URL comes from outside (a web page, another
/// app): only plain ids pass.
pub fn parse(url: &str) -> Option<Link> {
    let rest = url.trim().strip_prefix(SCHEME)?;
    let rest = rest.strip_prefix("conversation/")?;
    let (conversation, message) = match rest.split_once('#') {
        Some((c, m)) => (c, Some(m)),
        None => (rest, None),
    };
    let conversation_id = plain_id(conversation.trim_end_matches('/'))?;
    let message_id = match message {
        None | Some("") => None,
        Some(m) => Some(plain_id(m)?),
    };
    Some(Link {
        conversation_id,
        message_id,
    })
}

/// Takes a `hindsight://` argument out of the command line (the desktop passes the link as
/// the only argument): the link, if any, and the other arguments for the CLI parser.
pub fn split_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> (Option<String>, Vec<std::ffi::OsString>) {
    let mut link = None;
    let mut rest = Vec::new();
    for arg in args {
        match arg.to_str() {
            Some(s) if s.starts_with(SCHEME) && link.is_none() => link = Some(s.to_owned()),
            _ => rest.push(arg),
        }
    }
    (link, rest)
}

fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

/// Hands `link` (or, without one, "come to the front") to the window open on `data_dir`.
/// True if a window took it: this process has nothing left to do.
#[cfg(unix)]
pub fn hand_over(data_dir: &Path, link: Option<&Link>) -> bool {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixStream;
    let Ok(mut stream) = UnixStream::connect(socket_path(data_dir)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let line = link.map_or_else(|| FOCUS.to_owned(), Link::to_url);
    if writeln!(stream, "{line}").is_err() {
        return false;
    }
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).is_ok() && reply.trim() == "ok"
}

#[cfg(not(unix))]
pub fn hand_over(_data_dir: &Path, _link: Option<&Link>) -> bool {
    false
}

/// Listens on the data folder's socket for links and "come to the front" from later starts;
/// each one is passed to `on_request` (`None`: just come to the front). A socket file left by
/// a window that died is replaced.
#[cfg(unix)]
pub fn listen(
    data_dir: &Path,
    on_request: impl Fn(Option<Link>) + Send + 'static,
) -> std::io::Result<()> {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::os::unix::net::{UnixListener, UnixStream};
    let path = socket_path(data_dir);
    if path.exists() && UnixStream::connect(&path).is_err() {
        std::fs::remove_file(&path)?;
    }
    let listener = UnixListener::bind(&path)?;
    // Only this user's processes may hand links over.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    std::thread::Builder::new()
        .name("links".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                let mut line = String::new();
                let Ok(reader) = stream.try_clone() else {
                    continue;
                };
                if BufReader::new(reader.take(MAX_LINE))
                    .read_line(&mut line)
                    .is_err()
                {
                    continue;
                }
                let line = line.trim();
                let request = if line == FOCUS {
                    Some(None)
                } else {
                    parse(line).map(Some)
                };
                let mut stream = stream;
                match request {
                    Some(link) => {
                        tracing::info!(link = link.is_some(), "a later start handed over");
                        on_request(link);
                        let _ = writeln!(stream, "ok");
                    }
                    None => {
                        let _ = writeln!(stream, "not a link");
                    }
                }
            }
        })?;
    Ok(())
}

#[cfg(not(unix))]
pub fn listen(
    _data_dir: &Path,
    _on_request: impl Fn(Option<Link>) + Send + 'static,
) -> std::io::Result<()> {
    Ok(())
}

/// Removes the socket when the window closes (a crash leaves it; the next window replaces it).
pub fn stop_listening(data_dir: &Path) {
    let _ = std::fs::remove_file(socket_path(data_dir));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn links_name_a_conversation_and_maybe_a_message() {
        let id = "0c1f8a52-9f0e-4c54-8f6b-2f4a1d0e7b11";
        assert_eq!(
            parse(&format!("hindsight://conversation/{id}")),
            Some(Link {
                conversation_id: id.into(),
                message_id: None
            })
        );
        let link = parse(&format!("hindsight://conversation/{id}/#m-2")).unwrap();
        assert_eq!(link.message_id.as_deref(), Some("m-2"));
        assert_eq!(
            parse(&link.to_url()),
            Some(link.clone()),
            "to_url reads back"
        );
        for bad in [
            "https://conversation/abc",
            "hindsight://settings",
            "hindsight://conversation/",
            "hindsight://conversation/a b",
            "hindsight://conversation/abc#<script>",
            "hindsight://conversation/../../etc#x",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(
            parse(&format!("hindsight://conversation/{}", "a".repeat(65))),
            None
        );
    }

    #[test]
    fn the_link_is_taken_out_of_the_arguments() {
        let args = [
            "hindsight",
            "--data-dir",
            "/d",
            "hindsight://conversation/x#y",
        ]
        .map(std::ffi::OsString::from);
        let (link, rest) = split_args(args);
        assert_eq!(link.as_deref(), Some("hindsight://conversation/x#y"));
        assert_eq!(
            rest,
            ["hindsight", "--data-dir", "/d"].map(std::ffi::OsString::from)
        );
        let (link, rest) = split_args(["hindsight", "list"].map(std::ffi::OsString::from));
        assert_eq!((link, rest.len()), (None, 2));
    }

    #[cfg(unix)]
    #[test]
    fn a_later_start_hands_its_link_to_the_open_window() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!hand_over(dir.path(), None), "no window: nobody takes it");
        // A socket file left by a window that died is replaced.
        std::fs::write(dir.path().join(SOCKET), b"").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        listen(dir.path(), move |link| tx.send(link).unwrap()).unwrap();
        let link = parse("hindsight://conversation/c1#m1").unwrap();
        assert!(hand_over(dir.path(), Some(&link)));
        assert_eq!(rx.recv().unwrap(), Some(link));
        assert!(hand_over(dir.path(), None));
        assert_eq!(rx.recv().unwrap(), None);
        stop_listening(dir.path());
        assert!(!dir.path().join(SOCKET).exists());
    }
}
