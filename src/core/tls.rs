//! TLS (rustls, no OpenSSL): server configs from PEM files for every listener, client settings
//! for outbound connections, and self-signed development certificates.
//!
//! Only `http/1.1` is offered through ALPN: browsers open WebSockets over HTTP/1.1, and Drake's
//! libcurl client speaks HTTP/1.1, so HTTP/2 would add a code path no peer uses.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file is missing, unreadable or holds nothing usable.
    #[error("{path}: {message}")]
    Pem { path: PathBuf, message: String },
    /// rustls rejected the certificate/key pair (e.g. they do not match).
    #[error("TLS configuration rejected: {0}")]
    Rustls(#[from] rustls::Error),
    /// Certificate generation failed.
    #[error("cannot generate certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// Writing the generated files failed.
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file to write exists, and replacing it was not asked for.
    #[error(
        "{0} exists; a server using it keeps the pair it read at start until restarted, so \
         nothing was written: pass --force to replace the pair, or choose another --out-dir"
    )]
    Exists(PathBuf),
}

/// Builds a rustls server config from a PEM certificate chain and a PEM private key.
///
/// # Errors
/// [`TlsError::Pem`] naming the file at fault, or [`TlsError::Rustls`] when the pair is unusable.
pub fn server_config(
    cert_path: &Path,
    key_path: &Path,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let pem_error = |path: &Path, message: String| TlsError::Pem {
        path: path.to_owned(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| pem_error(cert_path, e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(cert_path, e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_error(
            cert_path,
            "no CERTIFICATE block found".to_owned(),
        ));
    }
    let key =
        PrivateKeyDer::from_pem_file(key_path).map_err(|e| pem_error(key_path, e.to_string()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Error building the TLS client settings.
#[derive(Debug, thiserror::Error)]
pub enum ClientTlsError {
    /// The extra root file is unreadable or holds no usable certificate.
    #[error("{path}: {message}")]
    Roots { path: String, message: String },
    /// rustls refused the settings.
    #[error("TLS client configuration rejected: {0}")]
    Rustls(#[from] rustls::Error),
}

/// TLS client settings trusting the public web roots plus the PEM certificates in `extra_roots`
/// (e.g. a private CA, or a development certificate from `gltf-cloud make-cert`), offering
/// `http/1.1` through ALPN like the servers.
///
/// # Errors
/// [`ClientTlsError::Roots`] naming a bad extra-roots file.
pub fn client_connector(
    extra_roots: Option<&Path>,
) -> Result<tokio_rustls::TlsConnector, ClientTlsError> {
    let mut roots =
        rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = extra_roots {
        let roots_error = |message: String| ClientTlsError::Roots {
            path: path.display().to_string(),
            message,
        };
        let certificates = CertificateDer::pem_file_iter(path)
            .map_err(|e| roots_error(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| roots_error(e.to_string()))?;
        if certificates.is_empty() {
            return Err(roots_error("no CERTIFICATE block found".to_owned()));
        }
        for certificate in certificates {
            roots.add(certificate)?;
        }
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// The two files a self-signed development certificate is written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Writes `cert.pem` and `key.pem` for `hosts` (DNS names or IP addresses) into `dir`; an existing
/// pair is replaced only when `force` says so.
///
/// The key file is created with mode 0600 so a shared machine's other users cannot read it.
///
/// # Errors
/// [`TlsError::Generate`] for an invalid host name, [`TlsError::Exists`] for a file there without
/// `force`, [`TlsError::Write`] for file errors.
pub fn write_self_signed(hosts: &[String], dir: &Path, force: bool) -> Result<CertFiles, TlsError> {
    let files = CertFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    if !force {
        if let Some(existing) = [&files.cert, &files.key].into_iter().find(|p| p.exists()) {
            return Err(TlsError::Exists(existing.clone()));
        }
    }
    let certified = rcgen::generate_simple_self_signed(hosts.to_vec())?;
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| TlsError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(write_error(dir))?;
    std::fs::write(&files.cert, certified.cert.pem()).map_err(write_error(&files.cert))?;
    write_private(&files.key, certified.signing_key.serialize_pem().as_bytes())
        .map_err(write_error(&files.key))?;
    Ok(files)
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_loads() {
        let dir = tempfile::tempdir().unwrap();
        let files = write_self_signed(&["localhost".into(), "127.0.0.1".into()], dir.path(), false)
            .unwrap();
        server_config(&files.cert, &files.key).unwrap();
    }

    #[test]
    fn missing_or_empty_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let err = server_config(&empty, &empty).unwrap_err().to_string();
        assert!(err.contains("empty.pem"), "{err}");
        let err = server_config(&dir.path().join("nope.pem"), &empty)
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope.pem"), "{err}");
    }
}
