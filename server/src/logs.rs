//! The last stop before a log line is written: setup-link tokens are cut out of every line,
//! whoever logged it (Tessera, or a library logging a request path), in both log formats.
//! A token opens a setup page that can re-point an org's single sign-on; logs are read and
//! shipped by more people than should hold one.

use app::ssr::setup_links::redact_tokens;
use std::borrow::Cow;
use std::io::Write;
use tracing_subscriber::fmt::MakeWriter;

/// Standard error, with setup-link tokens redacted (`/setup/<token>` -> `/setup/…`).
#[derive(Clone, Copy, Debug, Default)]
pub struct RedactedStderr;

impl<'a> MakeWriter<'a> for RedactedStderr {
    type Writer = Redacting<std::io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        Redacting(std::io::stderr())
    }
}

/// A writer that redacts setup-link tokens in what passes through it. The formatter hands it
/// each event whole, in one `write_all`, so a token is never split between two writes.
#[derive(Debug)]
pub struct Redacting<W>(pub W);

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match std::str::from_utf8(buf).map(redact_tokens) {
            Ok(Cow::Owned(redacted)) => self.0.write_all(redacted.as_bytes())?,
            Ok(Cow::Borrowed(_)) => self.0.write_all(buf)?,
            Err(_) => self
                .0
                .write_all(redact_tokens(&String::from_utf8_lossy(buf)).as_bytes())?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_lose_their_tokens() {
        let token = app::ssr::setup_links::new_token();
        let mut w = Redacting(Vec::new());
        let line = format!(
            "INFO tessera::csrf: refused a cross-site request method=POST path=/setup/{token}/test\n"
        );
        w.write_all(line.as_bytes()).unwrap();
        w.write_all(b"plain line\n").unwrap();
        let out = String::from_utf8(w.0).unwrap();
        assert!(!out.contains(&token), "{out}");
        assert_eq!(
            out,
            "INFO tessera::csrf: refused a cross-site request method=POST path=/setup/…/test\nplain line\n"
        );
    }
}
