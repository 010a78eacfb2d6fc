//! A minimal SMTP client for notification e-mails: EHLO, STARTTLS and AUTH PLAIN when a password
//! is configured (as the original's `smtplib` use: `starttls()` then `login()`), MAIL FROM, RCPT TO,
//! DATA, QUIT. The caller bounds the whole exchange with a timeout.

use base64::Engine;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::core::limits;

/// Why an e-mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("SMTP connection: {0}")]
    Io(#[from] std::io::Error),
    /// The server answered a command with an unexpected code.
    #[error("SMTP server refused {command}: {reply}")]
    Refused {
        command: &'static str,
        reply: String,
    },
    /// The server's reply was not SMTP.
    #[error("SMTP server sent a malformed reply: {0:?}")]
    Malformed(String),
    /// The mail server name is not valid for TLS.
    #[error("invalid mail server name for TLS: {0}")]
    ServerName(String),
}

/// Where and how to send.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// Login and password; when set, STARTTLS comes first, so the password never travels in clear.
    pub credentials: Option<(String, String)>,
    /// The name this client gives in EHLO.
    pub client_name: String,
    pub tls: TlsConnector,
}

/// One plain-text message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Sends `mail` through the server in `settings`.
///
/// # Errors
/// Any I/O failure, refusal or malformed reply, as [`SmtpError`].
pub async fn send(settings: &SmtpSettings, mail: &Mail) -> Result<(), SmtpError> {
    let tcp = TcpStream::connect((settings.host.as_str(), settings.port)).await?;
    let mut session = BufReader::new(tcp);
    expect_reply(&mut session, "greeting", 220).await?;
    command(
        &mut session,
        &format!("EHLO {}", settings.client_name),
        "EHLO",
        250,
    )
    .await?;
    let Some((user, password)) = &settings.credentials else {
        return deliver(&mut session, mail).await;
    };
    command(&mut session, "STARTTLS", "STARTTLS", 220).await?;
    let name = ServerName::try_from(settings.host.clone())
        .map_err(|_| SmtpError::ServerName(settings.host.clone()))?;
    // Nothing may follow the 220 before the handshake (RFC 3207), so no buffered bytes are lost.
    let tls = settings.tls.connect(name, session.into_inner()).await?;
    let mut session = BufReader::new(tls);
    command(
        &mut session,
        &format!("EHLO {}", settings.client_name),
        "EHLO",
        250,
    )
    .await?;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
    command(&mut session, &format!("AUTH PLAIN {token}"), "AUTH", 235).await?;
    deliver(&mut session, mail).await
}

async fn deliver<S>(session: &mut BufReader<S>, mail: &Mail) -> Result<(), SmtpError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let from = one_line(&mail.from);
    let to = one_line(&mail.to);
    command(session, &format!("MAIL FROM:<{from}>"), "MAIL FROM", 250).await?;
    let reply = command_reply(session, &format!("RCPT TO:<{to}>")).await?;
    if !matches!(reply.0, 250 | 251) {
        return Err(SmtpError::Refused {
            command: "RCPT TO",
            reply: reply.1,
        });
    }
    command(session, "DATA", "DATA", 354).await?;
    let message = format!(
        "From: Simulation Server <{from}>\r\nTo: Administrator <{to}>\r\nSubject: {}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n.\r\n",
        one_line(&mail.subject),
        dot_stuffed(&mail.body)
    );
    session.get_mut().write_all(message.as_bytes()).await?;
    expect_reply(session, "message", 250).await?;
    // The message is accepted; a failed QUIT changes nothing.
    let _ = command_reply(session, "QUIT").await;
    Ok(())
}

/// Header values and addresses come from the config; a newline in them must not start a header.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// CRLF line endings, and a second dot on lines starting with one (RFC 5321 §4.5.2), so the body
/// cannot end the DATA section early.
fn dot_stuffed(body: &str) -> String {
    body.lines()
        .map(|line| {
            if line.starts_with('.') {
                format!(".{line}")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

async fn command<S>(
    session: &mut BufReader<S>,
    line: &str,
    name: &'static str,
    wanted: u16,
) -> Result<(), SmtpError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (code, reply) = command_reply(session, line).await?;
    if code == wanted {
        Ok(())
    } else {
        Err(SmtpError::Refused {
            command: name,
            reply,
        })
    }
}

async fn command_reply<S>(
    session: &mut BufReader<S>,
    line: &str,
) -> Result<(u16, String), SmtpError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    session
        .get_mut()
        .write_all(format!("{line}\r\n").as_bytes())
        .await?;
    session.get_mut().flush().await?;
    read_reply(session).await
}

async fn expect_reply<S>(
    session: &mut BufReader<S>,
    what: &'static str,
    wanted: u16,
) -> Result<(), SmtpError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (code, reply) = read_reply(session).await?;
    if code == wanted {
        Ok(())
    } else {
        Err(SmtpError::Refused {
            command: what,
            reply,
        })
    }
}

/// Reads one reply, following `250-` continuation lines to the final `250 ` line.
async fn read_reply<S>(session: &mut BufReader<S>) -> Result<(u16, String), SmtpError>
where
    S: AsyncRead + Unpin,
{
    let mut text = String::new();
    for _ in 0..limits::MAX_SMTP_REPLY_LINES {
        let mut line = Vec::new();
        let read = AsyncReadExt::take(&mut *session, limits::MAX_SMTP_REPLY_LINE_BYTES as u64)
            .read_until(b'\n', &mut line)
            .await?;
        if read == 0 {
            return Err(SmtpError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        let line = String::from_utf8_lossy(&line).trim_end().to_owned();
        let malformed = || SmtpError::Malformed(line.clone());
        let code: u16 = line
            .get(..3)
            .and_then(|c| c.parse().ok())
            .ok_or_else(malformed)?;
        let last = match line.as_bytes().get(3) {
            None | Some(b' ') => true,
            Some(b'-') => false,
            Some(_) => return Err(malformed()),
        };
        text.push_str(&line);
        if last {
            return Ok((code, text));
        }
        text.push(' ');
    }
    Err(SmtpError::Malformed(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_lines_starting_with_a_dot_are_doubled() {
        assert_eq!(dot_stuffed("a\n.\n..b\nc"), "a\r\n..\r\n...b\r\nc");
        assert_eq!(one_line("x\r\nBcc: y"), "x  Bcc: y");
    }

    #[tokio::test]
    async fn multi_line_replies_are_joined_and_bad_ones_refused() {
        let (client, mut server) = tokio::io::duplex(1024);
        server
            .write_all(b"250-mail.example.org\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\nhello\r\n")
            .await
            .unwrap();
        let mut session = BufReader::new(client);
        let (code, text) = read_reply(&mut session).await.unwrap();
        assert_eq!(code, 250);
        assert!(text.contains("AUTH PLAIN"), "{text}");
        assert!(matches!(
            read_reply(&mut session).await,
            Err(SmtpError::Malformed(_))
        ));
    }
}
