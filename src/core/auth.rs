//! Access tokens: a role that has them answers its own routes only to requests carrying one
//! (`Authorization: Bearer <token>`, RFC 6750) and everything else 401 with the JSON error body.
//! The bootstrap's probes and `/metrics` are added after this layer by [`super::server::serve`],
//! so orchestrators and Prometheus keep working without a token.
//!
//! Several tokens may be valid at once, so one can be rotated: add the new one, move the clients
//! over, remove the old one. They come from a file or the environment, never from the command
//! line, where any user of the machine could read them in the process list. Only their SHA-256
//! digests are kept, compared in constant time.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error_body;

/// The servers' variable: tokens separated by commas or white space, added to those of the file.
pub const TOKENS_ENV: &str = "GLTF_CLOUD_ACCESS_TOKENS";

/// The clients' variable: the one token they send, when no token file is given.
pub const TOKEN_ENV: &str = "GLTF_CLOUD_ACCESS_TOKEN";

/// Shortest token accepted: a guessable token protects nothing.
const MIN_TOKEN_CHARS: usize = 16;

/// Why tokens could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read access token file {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// `origin` names the file and line, or the variable.
    #[error("{origin}: {reason}")]
    Invalid { origin: String, reason: String },
    #[error("{0} holds no access token (a token per line; # starts a comment)")]
    Empty(String),
}

/// The tokens in `text`: one per line, or separated by commas or white space; blank lines and
/// lines starting with `#` are skipped. `origin` names the source in errors.
///
/// # Errors
/// [`TokenError::Invalid`] for a token too short or with a character a header cannot carry,
/// [`TokenError::Empty`] when there is none.
pub fn parse(text: &str, origin: &str) -> Result<Vec<String>, TokenError> {
    let mut tokens = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        for token in line.split(|c: char| c == ',' || c.is_whitespace()) {
            if token.is_empty() {
                continue;
            }
            check(token).map_err(|reason| TokenError::Invalid {
                origin: format!("{origin}, line {}", index + 1),
                reason,
            })?;
            tokens.push(token.to_owned());
        }
    }
    if tokens.is_empty() {
        return Err(TokenError::Empty(origin.to_owned()));
    }
    Ok(tokens)
}

/// RFC 6750's `b64token` characters, and a length nobody guesses.
fn check(token: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
    if let Some(bad) = token.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "a token may hold letters, digits and -._~+/= only, not {bad:?}"
        ));
    }
    if token.chars().count() < MIN_TOKEN_CHARS {
        return Err(format!(
            "a token needs at least {MIN_TOKEN_CHARS} characters (e.g. `openssl rand -hex 32`)"
        ));
    }
    Ok(())
}

/// The tokens of the file at `path` (see [`parse`]).
///
/// # Errors
/// See [`TokenError`].
pub fn read_file(path: &Path) -> Result<Vec<String>, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|cause| TokenError::Read {
        path: path.to_owned(),
        cause,
    })?;
    parse(&text, &format!("access token file {}", path.display()))
}

/// The token a client sends: the first of `file`'s, else [`TOKEN_ENV`]'s value, else none.
///
/// # Errors
/// An unreadable or invalid file, or an invalid variable.
pub fn client_token(file: Option<&Path>) -> Result<Option<String>, TokenError> {
    let tokens = match file {
        Some(path) => read_file(path)?,
        None => match std::env::var(TOKEN_ENV) {
            Ok(value) if !value.trim().is_empty() => parse(&value, TOKEN_ENV)?,
            _ => return Ok(None),
        },
    };
    Ok(tokens.into_iter().next())
}

/// The `Authorization` header value that carries `token`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The tokens a server accepts.
#[derive(Clone)]
pub struct AccessTokens {
    digests: Arc<Vec<[u8; 32]>>,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccessTokens({} tokens)", self.digests.len())
    }
}

impl AccessTokens {
    /// The tokens given, or `None` when there are none (the server is open).
    pub fn new<S: AsRef<str>>(tokens: &[S]) -> Option<Self> {
        if tokens.is_empty() {
            return None;
        }
        let digests = tokens.iter().map(|t| digest(t.as_ref())).collect();
        Some(Self {
            digests: Arc::new(digests),
        })
    }

    /// The tokens of `file` and of [`TOKENS_ENV`]'s value `env`, or `None` when neither is given.
    ///
    /// # Errors
    /// An unreadable or invalid file, or an invalid variable.
    pub fn from_sources(
        file: Option<&Path>,
        env: Option<&str>,
    ) -> Result<Option<Self>, TokenError> {
        let mut tokens = match file {
            Some(path) => read_file(path)?,
            None => Vec::new(),
        };
        if let Some(value) = env.filter(|v| !v.trim().is_empty()) {
            tokens.extend(parse(value, TOKENS_ENV)?);
        }
        Ok(Self::new(&tokens))
    }

    /// How many tokens are valid.
    pub fn count(&self) -> usize {
        self.digests.len()
    }

    /// Whether `token` is one of them. Every digest is compared, each in constant time, so the
    /// answer's timing says nothing about which token came close.
    pub fn accepts(&self, token: &str) -> bool {
        let presented = digest(token);
        self.digests
            .iter()
            .fold(subtle::Choice::from(0), |found, known| {
                found | known.ct_eq(&presented)
            })
            .into()
    }

    /// `router` with every route (and its fallback) behind the token check: the layer every front
    /// door of a role goes through, applied once to the role's whole router.
    pub fn protect(self, router: Router) -> Router {
        router.layer(middleware::from_fn(move |request: Request, next: Next| {
            let tokens = self.clone();
            async move { tokens.admit(request, next).await }
        }))
    }

    async fn admit(&self, request: Request, next: Next) -> Response {
        match presented(request.headers()) {
            Ok(token) if self.accepts(token) => next.run(request).await,
            Ok(_) => unauthorized(
                "the access token is not valid (expired or mistyped?); ask the server's operator \
                 for a current one",
                Some("invalid_token"),
            ),
            Err(why) => unauthorized(why, None),
        }
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The bearer token of a request, or why it has none.
fn presented(headers: &HeaderMap) -> Result<&str, &'static str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(
            "this server needs an access token: send Authorization: Bearer <token> \
             (gltf-cloud client --token-file FILE; Drake's client through gltf-cloud client \
             --forward --token-file FILE)",
        );
    };
    let value = value
        .to_str()
        .map_err(|_| "the Authorization header is not text")?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err("the Authorization header must read Bearer <token>"),
    }
}

/// 401 with the reason in the JSON error body and the challenge RFC 6750 asks for.
fn unauthorized(message: &str, error: Option<&str>) -> Response {
    let mut response =
        error_body::response_with_reason(StatusCode::UNAUTHORIZED, "unauthorized", message);
    let challenge = match error {
        Some(error) => format!("Bearer realm=\"gltf-cloud\", error=\"{error}\""),
        None => "Bearer realm=\"gltf-cloud\"".to_owned(),
    };
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef-A";
    const B: &str = "0123456789abcdef-B";

    #[test]
    fn files_hold_a_token_per_line_with_comments() {
        let tokens = parse(&format!("# rotated 2025-01\n{A}\n\n  {B}  \n"), "f").unwrap();
        assert_eq!(tokens, [A, B]);
        assert_eq!(parse(&format!("{A}, {B}"), "env").unwrap(), [A, B]);
    }

    #[test]
    fn weak_or_unsendable_tokens_and_empty_sources_are_refused() {
        let short = parse("# c\nshort", "f").unwrap_err().to_string();
        assert!(
            short.starts_with("f, line 2: a token needs at least 16"),
            "{short}"
        );
        let quote = parse("0123456789abcdef\"x", "f").unwrap_err().to_string();
        assert!(quote.contains("not '\"'"), "{quote}");
        let empty = parse("# only a comment\n", "f").unwrap_err().to_string();
        assert!(empty.contains("holds no access token"), "{empty}");
    }

    #[test]
    fn every_valid_token_is_accepted_and_nothing_else() {
        let tokens = AccessTokens::new(&[A, B]).unwrap();
        assert!(tokens.accepts(A) && tokens.accepts(B));
        assert!(!tokens.accepts("0123456789abcdef-C") && !tokens.accepts(""));
        assert!(AccessTokens::new::<&str>(&[]).is_none());
        assert_eq!(format!("{tokens:?}"), "AccessTokens(2 tokens)");
    }

    #[test]
    fn the_header_must_be_bearer() {
        let mut headers = HeaderMap::new();
        assert!(presented(&headers)
            .unwrap_err()
            .contains("needs an access token"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert!(presented(&headers).is_err());
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  tok "),
        );
        assert_eq!(presented(&headers), Ok("tok"));
    }
}
