//! State-change alerts about simulation servers: always logged, and sent by e-mail (the original's
//! `administrator`/`mail*` keys and texts) and to a webhook when configured.
//!
//! Each delivery runs in its own task bounded by [`limits::NOTIFY_TIMEOUT`], so a dead mail server delays
//! nothing: the poller hands an event over and moves on. Failures are logged, never fatal.

use std::sync::Arc;

use hyper::Uri;
use tokio_util::task::TaskTracker;

use super::config::Config;
use super::smtp::{self, Mail, SmtpSettings};
use crate::core::config::config_key;
use crate::core::http_client::HttpClient;
use crate::core::limits;
use crate::protocol::webots::address;
use crate::protocol::webots::alert::{self, Change};

/// SMTP's standard port, which the original's `SMTP(port=0)` also means.
const SMTP_PORT: u16 = 25;

struct Email {
    smtp: SmtpSettings,
    sender: String,
    administrator: String,
}

/// Delivers [`Change`]s; cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    email: Option<Arc<Email>>,
    webhook: Option<(Uri, HttpClient)>,
    /// "Check it at https://host:port/monitor", the original's e-mail footer.
    monitor_url: Arc<str>,
    tasks: TaskTracker,
}

impl Notifier {
    /// Sets up the channels `config` enables. `own_port` is the port this server listens on.
    ///
    /// # Errors
    /// A `webhookUrl` that is not an http(s) URL.
    pub fn new(
        config: &Config,
        own_port: u16,
        client: HttpClient,
        tls: tokio_rustls::TlsConnector,
    ) -> anyhow::Result<Self> {
        let email = match (
            &config.administrator,
            &config.mail_server,
            &config.mail_sender,
        ) {
            (Some(administrator), Some(host), Some(sender)) => Some(Arc::new(Email {
                smtp: SmtpSettings {
                    host: host.clone(),
                    port: config
                        .mail_server_port
                        .filter(|&p| p != 0)
                        .unwrap_or(SMTP_PORT),
                    credentials: config.mail_sender_password.as_ref().map(|password| {
                        let user = config.mail_sender_user.as_ref().unwrap_or(sender);
                        (user.clone(), password.clone())
                    }),
                    client_name: config.server_name.clone(),
                    tls,
                },
                sender: sender.clone(),
                administrator: administrator.clone(),
            })),
            (Some(administrator), _, _) => {
                tracing::info!(
                    %administrator,
                    "{} or {} missing in the configuration: e-mail notifications disabled",
                    config_key!(Config, mail_server),
                    config_key!(Config, mail_sender)
                );
                None
            }
            _ => None,
        };
        let webhook = match &config.webhook_url {
            Some(url) => {
                let key = config_key!(Config, webhook_url);
                let uri: Uri = url
                    .parse()
                    .map_err(|e| anyhow::anyhow!("{key} {url:?}: {e}"))?;
                anyhow::ensure!(
                    matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some(),
                    "{key} {url:?} must be an http:// or https:// URL"
                );
                Some((uri, client))
            }
            None => None,
        };
        let own_address = address::host_port(&config.server_name, own_port, config.port_rewrite);
        let monitor_url = format!("{}/monitor", address::http_url(config.ssl, &own_address));
        Ok(Self {
            email,
            webhook,
            monitor_url: monitor_url.into(),
            tasks: TaskTracker::new(),
        })
    }

    /// Logs `change` and starts its deliveries in the background.
    pub fn notify(&self, server: &str, change: Change) {
        let description = change.describe(server);
        match change {
            Change::NotResponding => tracing::warn!(simulation_server = server, "{description}"),
            _ => tracing::info!(simulation_server = server, "{description}"),
        }
        let text = alert::mail_body(&description, &self.monitor_url);
        if let Some(email) = &self.email {
            let email = Arc::clone(email);
            let mail = Mail {
                from: email.sender.clone(),
                to: email.administrator.clone(),
                subject: change.subject().to_owned(),
                body: text.clone(),
            };
            self.tasks.spawn(async move {
                match tokio::time::timeout(limits::NOTIFY_TIMEOUT, smtp::send(&email.smtp, &mail)).await {
                    Ok(Ok(())) => tracing::debug!(to = %mail.to, subject = %mail.subject, "e-mail sent"),
                    Ok(Err(e)) => tracing::error!(to = %mail.to, cause = %e, "unable to send e-mail"),
                    Err(_) => tracing::error!(to = %mail.to, "unable to send e-mail: mail server timed out"),
                }
            });
        }
        if let Some((url, client)) = &self.webhook {
            let url = url.clone();
            let client = client.clone();
            let payload = serde_json::json!({
                "event": change.event_name(),
                "subject": change.subject(),
                "simulationServer": server,
                "load": change.load(),
                "message": text,
            })
            .to_string();
            self.tasks.spawn(async move {
                match tokio::time::timeout(limits::NOTIFY_TIMEOUT, client.post(&url, "application/json", payload)).await {
                    Ok(Ok(answer)) if answer.status.is_success() => {
                        tracing::debug!(%url, "webhook notified");
                    }
                    Ok(Ok(answer)) => {
                        tracing::error!(%url, status = answer.status.as_u16(), "webhook refused the notification");
                    }
                    Ok(Err(e)) => tracing::error!(%url, cause = %e, "webhook unreachable"),
                    Err(_) => tracing::error!(%url, "webhook timed out"),
                }
            });
        }
    }

    /// Waits for deliveries in flight (each bounded by [`limits::NOTIFY_TIMEOUT`]), at shutdown.
    pub async fn finish(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}
