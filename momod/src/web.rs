//! What the clients of outside web services (TMDB, OpenSubtitles, Trakt, the *arr APIs, a
//! `.torrent` or playlist URL) share: reading a bounded answer, fetching a whole file,
//! naming why a request failed and showing a URL without what can hold a secret.

use std::time::Duration;

use crate::error::{Error, Result};

/// How long a 429 answer asks to wait: the first of `headers` that holds seconds, else 1 s.
pub fn retry_wait(resp: &reqwest::Response, headers: &[&str]) -> Duration {
    headers
        .iter()
        .find_map(|h| resp.headers().get(*h)?.to_str().ok()?.trim().parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1))
}

/// After a 429 on attempt `attempt` of `attempts`: waits `wait` and returns, so the caller
/// tries again, or says `ResourceExhausted` when no attempt is left or the wait is longer
/// than `max_wait`.
pub async fn wait_out_rate_limit(
    service: &str,
    what: &str,
    (attempt, attempts): (u32, u32),
    wait: Duration,
    max_wait: Duration,
) -> Result<()> {
    if attempt >= attempts || wait > max_wait {
        return Err(Error::ResourceExhausted(format!(
            "{service}'s rate limit was reached for {what}; retry in {} s",
            wait.as_secs().max(1)
        )));
    }
    tracing::warn!(?wait, "{service} rate limit hit, waiting");
    tokio::time::sleep(wait).await;
    Ok(())
}

/// The body of an answer from `service`, refused past `max` bytes without reading it all.
pub async fn read_body(
    mut resp: reqwest::Response,
    service: &str,
    what: &str,
    max: usize,
) -> Result<Vec<u8>> {
    let too_big = || {
        Error::Unavailable(format!(
            "{service}'s answer for {what} is larger than {max} bytes"
        ))
    };
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| {
        Error::Unavailable(format!(
            "{service}'s answer for {what} broke off: {}",
            root_cause(&e.without_url())
        ))
    })? {
        if body.len() + chunk.len() > max {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Why a request to `service` got no answer, for `what`: Unavailable.
pub fn unreachable(service: &str, what: &str, e: reqwest::Error) -> Error {
    let e = e.without_url();
    let reason = if e.is_timeout() {
        "it did not answer in time".to_string()
    } else if e.is_connect() {
        format!("cannot connect ({})", root_cause(&e))
    } else {
        root_cause(&e)
    };
    Error::Unavailable(format!("{service} is unreachable for {what}: {reason}"))
}

/// A URL as it may be shown: its host and last path segment only (user, password, query
/// and the rest of the path can hold a tracker's passkey).
pub fn shown_url(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("?");
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let segments: Vec<&str> = url.path_segments().map(|s| s.collect()).unwrap_or_default();
    // The last segment only when it looks like a file's name: IPTV URLs end in
    // `user/password` as often as in `1234.mkv`.
    let last = segments
        .last()
        .copied()
        .filter(|l| {
            l.rsplit_once('.')
                .is_some_and(|(stem, ext)| !stem.is_empty() && !ext.is_empty())
        })
        .unwrap_or("");
    let hidden = if segments.len() > 1
        || url.query().is_some()
        || (last.is_empty() && segments.iter().any(|s| !s.is_empty()))
    {
        "…/"
    } else {
        ""
    };
    format!("{}://{host}{port}/{hidden}{last}", url.scheme())
}

/// A whole file by GET (a `.torrent`, a playlist): within `timeout`, at most `max` bytes, a
/// success status. `what` names it in errors ("the playlist"), with the URL as it may be
/// shown.
pub async fn fetch_file(
    url: &reqwest::Url,
    what: &str,
    timeout: Duration,
    max: usize,
) -> Result<Vec<u8>> {
    let what = format!("{what} {}", shown_url(url));
    let host = url.host_str().unwrap_or("the server").to_string();
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("momoshtrem/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Internal(format!("HTTP client: {e}")))?;
    let resp = http
        .get(url.clone())
        .send()
        .await
        .map_err(|e| unreachable(&host, &what, e))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(Error::FailedPrecondition(format!(
            "{what} cannot be had: the server answered HTTP {status}"
        )));
    }
    read_body(resp, &host, &what, max).await
}

/// The innermost error message ("Connection refused (os error 111)").
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}

#[cfg(test)]
mod tests {
    use super::shown_url;

    #[test]
    fn urls_are_shown_without_what_can_hold_a_secret() {
        let shown = |u: &str| shown_url(&reqwest::Url::parse(u).unwrap());
        assert_eq!(
            shown("http://alice:pw@vod.example:8080/movie/alice/pw/4711.mkv?token=t"),
            "http://vod.example:8080/…/4711.mkv"
        );
        // A last segment that is no file name may be the password itself.
        assert_eq!(shown("http://h/good/USER/PASS"), "http://h/…/");
        assert_eq!(shown("http://h/PASS"), "http://h/…/");
        assert_eq!(shown("https://h/film.mp4"), "https://h/film.mp4");
        assert_eq!(shown("https://h/"), "https://h/");
    }
}
