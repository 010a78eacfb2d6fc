//! Which repositories may run here: the original's allowed list, then idle-time sharing for
//! isolated servers, then the blocked list, with the original's messages.

use super::SetupError;
use crate::core::config::config_key;
use crate::protocol::webots::pyfloat;
use crate::roles::simulation_server::config::Config;

/// The repository rules applied to a start URL, with the original's messages; the order of the
/// checks is the original's. A prefix matches only at a `/` boundary, so allowing
/// `https://github.com/cyberbotics` no longer allows `https://github.com/cyberbotics-fake`.
pub struct AccessRules<'a> {
    pub allowed: Option<&'a [String]>,
    pub blocked: &'a [String],
    /// Whether the launch template isolates simulations (config key `docker`).
    pub isolated: bool,
    pub share_idle_time: f64,
}

impl AccessRules<'_> {
    /// # Errors
    /// [`SetupError::Refused`] with the reason.
    pub fn check(&self, url: &str, current_load: f64) -> Result<(), SetupError> {
        let allowed = self
            .allowed
            .is_some_and(|list| list.iter().any(|prefix| has_prefix(url, prefix)));
        if allowed {
            return Ok(());
        }
        if !self.isolated {
            return Err(SetupError::Refused(format!(
                "Docker not enabled: cannot host simulations from repositories outside of \"{}\".",
                config_key!(Config, allowed_repositories)
            )));
        }
        if self.share_idle_time <= 0.0 {
            return Err(SetupError::Refused(
                "This simulation server is not configured to share idle time.".to_owned(),
            ));
        }
        if current_load > self.share_idle_time {
            return Err(SetupError::Refused(format!(
                "Cannot share idle time when current load is above threshold: {}.",
                pyfloat::format(current_load)
            )));
        }
        if self.blocked.iter().any(|prefix| has_prefix(url, prefix)) {
            return Err(SetupError::Refused(format!(
                "Cannot run simulation from blocked repository: {url}"
            )));
        }
        Ok(())
    }
}

fn has_prefix(url: &str, prefix: &str) -> bool {
    match url.strip_prefix(prefix) {
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn access_rules_follow_the_original_order_with_boundary_prefixes() {
        let allowed = vec!["https://github.com/cyberbotics".to_owned()];
        let blocked = vec!["https://github.com/evil".to_owned()];
        let mut rules = AccessRules {
            allowed: Some(&allowed),
            blocked: &blocked,
            isolated: false,
            share_idle_time: 50.0,
        };
        assert!(rules
            .check(
                "https://github.com/cyberbotics/webots/blob/v/worlds/w.wbt",
                99.0
            )
            .is_ok());
        let refused = rules
            .check(
                "https://github.com/cyberbotics-fake/x/blob/v/worlds/w.wbt",
                0.0,
            )
            .unwrap_err()
            .to_string();
        assert!(refused.starts_with("Docker not enabled"), "{refused}");
        rules.isolated = true;
        assert!(rules
            .check("https://github.com/other/x/blob/v/worlds/w.wbt", 10.0)
            .is_ok());
        assert_eq!(
            rules
                .check("https://github.com/other/x/blob/v/worlds/w.wbt", 60.0)
                .unwrap_err()
                .to_string(),
            "Cannot share idle time when current load is above threshold: 60.0."
        );
        assert_eq!(
            rules.check("https://github.com/evil/x/blob/v/worlds/w.wbt", 0.0).unwrap_err().to_string(),
            "Cannot run simulation from blocked repository: https://github.com/evil/x/blob/v/worlds/w.wbt"
        );
        rules.share_idle_time = 0.0;
        assert_eq!(
            rules
                .check("https://github.com/other/x/blob/v/worlds/w.wbt", 0.0)
                .unwrap_err()
                .to_string(),
            "This simulation server is not configured to share idle time."
        );
    }
}
