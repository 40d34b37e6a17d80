//! Trakt: signing in with the device flow (the wait for the user runs as a job), the
//! account, and signing out. Bringing its lists in is `import::trakt`.
use super::Library;
use crate::error::Result;
use crate::jobs::JobCtx;
use crate::store::{TmdbRef, Watch};
use crate::trakt::{DeviceCode, LastScrobble, Scrobble, Tokens};

/// Local watches, and what a sync did.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub watches: Vec<Watch>,
    pub pushed: u32,
    pub not_found: u32,
}

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

    pub fn trakt_last_scrobble(&self) -> Option<LastScrobble> {
        self.trakt.last_scrobble()
    }

    /// The local watches; with `sync`, those Trakt lacks are added to its history first
    /// (items without TMDB ids cannot be, and stay unsynced).
    pub async fn trakt_history(&self, sync: bool) -> Result<History> {
        let mut history = History::default();
        if sync {
            let mut sent = Vec::new();
            let mut ids = Vec::new();
            for w in self.store.watches(true).await? {
                let what = match self.store.tmdb_ref(w.item).await {
                    Ok(TmdbRef::Movie(Some(id))) => Scrobble::Movie(id),
                    Ok(TmdbRef::Episode(Some(show), s, e)) => Scrobble::Episode(show, s, e),
                    _ => continue,
                };
                sent.push((what, w.watched_at));
                ids.push(w.id);
            }
            if !sent.is_empty() {
                let missing = self.trakt.add_history(&sent).await?;
                // What Trakt did not find stays unsynced.
                let found: Vec<i64> = ids
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !missing.contains(i))
                    .map(|(_, id)| *id)
                    .collect();
                history.pushed = found.len() as u32;
                history.not_found = missing.len() as u32;
                self.store.mark_synced(found).await?;
            }
        }
        history.watches = self.store.watches(false).await?;
        Ok(history)
    }

    /// Signs out: the token is revoked and forgotten. None when nobody was signed in.
    pub async fn trakt_logout(&self) -> Result<Option<Tokens>> {
        self.trakt.logout().await
    }
}
