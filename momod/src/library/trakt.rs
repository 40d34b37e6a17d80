//! Trakt: signing in with the device flow (the wait for the user runs as a job), the
//! account, and signing out. Bringing its lists in is `import::trakt`.
use super::Library;
use crate::error::Result;
use crate::jobs::JobCtx;
use crate::trakt::{DeviceCode, Tokens};

impl Library {
    /// Starts a sign-in: the code the user enters on Trakt's site.
    pub async fn trakt_login_code(&self) -> Result<DeviceCode> {
        self.trakt.device_code().await
    }

    /// Waits until the code is entered and approved; the account is then kept.
    pub async fn trakt_wait_login(&self, code: DeviceCode, ctx: &JobCtx) -> Result<Tokens> {
        ctx.step(format!(
            "waiting for the code {} to be entered at {}",
            code.user_code, code.verification_url
        ));
        let tokens = self.trakt.wait_for_approval(&code).await?;
        ctx.step(format!(
            "signed in to Trakt as {}",
            tokens.username.as_deref().unwrap_or("(unknown)")
        ));
        Ok(tokens)
    }

    pub fn trakt_configured(&self) -> bool {
        self.trakt.configured()
    }

    /// The signed-in account, if any.
    pub async fn trakt_account(&self) -> Option<Tokens> {
        self.trakt.account().await
    }

    /// Signs out: the token is revoked and forgotten. None when nobody was signed in.
    pub async fn trakt_logout(&self) -> Result<Option<Tokens>> {
        self.trakt.logout().await
    }
}
