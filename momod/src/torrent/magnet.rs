//! Magnet links: `xt=urn:btih:` (40 hex or 32 base32 characters), `dn`, `tr` and `x.pe`
//! peer hints, which librqbit ignores (its issue #494) and we pass as initial peers; and
//! `InfoHash`, parsed once wherever a hash comes in.
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use librqbit::dht::Id20;

/// A BitTorrent v1 info hash, held as 40 lower-case hex characters: the one form stored,
/// compared, logged and shown.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfoHash(String);

impl InfoHash {
    /// 40 hex or 32 base32 (RFC 4648) characters, either case, surrounding spaces ignored.
    pub fn parse(text: &str) -> Result<InfoHash, MagnetError> {
        let s = text.trim();
        if s.len() != 40 && s.len() != 32 {
            return Err(MagnetError(format!(
                "info hash `{}` must be 40 hex or 32 base32 characters (it has {})",
                crate::error::echo(s),
                s.len()
            )));
        }
        // Only letters and digits reach librqbit: its base32 decoder accepts `=` padding,
        // decodes a padded 32-character string to fewer than 20 bytes, and then panics.
        if !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(MagnetError(format!(
                "info hash `{s}` must be 40 hex or 32 base32 characters, letters and digits only"
            )));
        }
        // Id20 reads hex, and base32 in upper case only.
        let id = Id20::from_str(&s.to_ascii_uppercase()).map_err(|_| {
            MagnetError(format!(
                "info hash `{s}` is not valid {}",
                if s.len() == 40 { "hex" } else { "base32" }
            ))
        })?;
        Ok(InfoHash(id.as_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Id20> for InfoHash {
    fn from(id: Id20) -> InfoHash {
        InfoHash(id.as_string())
    }
}

impl fmt::Display for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A parsed magnet link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Magnet {
    pub info_hash: InfoHash,
    pub name: Option<String>,
    pub trackers: Vec<String>,
    pub peers: Vec<SocketAddr>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct MagnetError(pub String);

impl fmt::Display for MagnetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad magnet link: {}", self.0)
    }
}

/// Longest magnet accepted. Real ones, with a few dozen trackers, stay under 4 KiB.
pub const MAX_MAGNET_BYTES: usize = 16 * 1024;
/// Most `tr=` trackers and `x.pe=` peer hints accepted in one magnet.
pub const MAX_TRACKERS: usize = 64;
pub const MAX_PEER_HINTS: usize = 64;
/// Longest `dn=` display name and tracker URL.
const MAX_FIELD_BYTES: usize = 1024;

impl Magnet {
    /// A magnet from a user. Checks the size before anything else: a megabyte of `tr=` must
    /// be refused at once, not parsed (it froze the API for seconds and kept half a gigabyte).
    pub fn parse(text: &str) -> Result<Magnet, MagnetError> {
        Magnet::parse_with(text, true)
    }

    /// A magnet the library stored (our own `to_uri`, which percent-encodes and so may be
    /// longer than what the user gave, or one stored before the caps existed).
    pub fn parse_stored(text: &str) -> Result<Magnet, MagnetError> {
        Magnet::parse_with(text, false)
    }

    fn parse_with(text: &str, bounded: bool) -> Result<Magnet, MagnetError> {
        let err = |m: &str| Err(MagnetError(m.to_string()));
        let text = text.trim();
        if bounded && text.len() > MAX_MAGNET_BYTES {
            return Err(MagnetError(format!(
                "it is {} bytes long; at most {MAX_MAGNET_BYTES} are accepted",
                text.len()
            )));
        }
        let Some(query) = text.strip_prefix("magnet:?") else {
            return err("it must start with `magnet:?`");
        };
        let mut info_hash = None;
        let mut name = None;
        let mut trackers = Vec::new();
        let mut peers = Vec::new();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "xt" => {
                    let Some(hash) = value.strip_prefix("urn:btih:") else {
                        // v2-only (btmh) or other hashes: not something we can stream.
                        continue;
                    };
                    let hex = InfoHash::parse(hash)?;
                    if info_hash.as_ref().is_some_and(|h| h != &hex) {
                        return err("it has two different btih info hashes");
                    }
                    info_hash = Some(hex);
                }
                "dn" if bounded && value.len() > MAX_FIELD_BYTES => {
                    return err("its name (dn=) is longer than 1024 bytes");
                }
                "dn" if !value.trim().is_empty() => name = Some(value.trim().to_string()),
                "tr" => {
                    let tr = value.trim();
                    if bounded && tr.len() > MAX_FIELD_BYTES {
                        return err("a tracker URL (tr=) is longer than 1024 bytes");
                    }
                    if !(tr.starts_with("http://")
                        || tr.starts_with("https://")
                        || tr.starts_with("udp://"))
                    {
                        return Err(MagnetError(format!(
                            "tracker `{}` is not an http(s):// or udp:// URL",
                            crate::error::echo(tr)
                        )));
                    }
                    if !trackers.iter().any(|t| t == tr) {
                        if bounded && trackers.len() == MAX_TRACKERS {
                            return Err(MagnetError(format!(
                                "it lists more than {MAX_TRACKERS} trackers (tr=)"
                            )));
                        }
                        trackers.push(tr.to_string());
                    }
                }
                "x.pe" => {
                    let addr = value.trim();
                    // IP literals only: resolving a host name here would block.
                    let resolved: SocketAddr = addr.parse().map_err(|_| {
                        MagnetError(format!(
                            "peer hint x.pe=`{}` is not IP:port",
                            crate::error::echo(addr)
                        ))
                    })?;
                    if !peers.contains(&resolved) {
                        if bounded && peers.len() == MAX_PEER_HINTS {
                            return Err(MagnetError(format!(
                                "it lists more than {MAX_PEER_HINTS} peer hints (x.pe=)"
                            )));
                        }
                        peers.push(resolved);
                    }
                }
                _ => {}
            }
        }
        let Some(info_hash) = info_hash else {
            return err("it has no `xt=urn:btih:` info hash");
        };
        Ok(Magnet {
            info_hash,
            name,
            trackers,
            peers,
        })
    }

    /// The magnet in canonical form (hex hash; name, trackers, peer hints kept).
    pub fn to_uri(&self) -> String {
        let mut s = format!("magnet:?xt=urn:btih:{}", self.info_hash);
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(n) = &self.name {
            q.append_pair("dn", n);
        }
        for t in &self.trackers {
            q.append_pair("tr", t);
        }
        for p in &self.peers {
            q.append_pair("x.pe", &p.to_string());
        }
        let rest = q.finish();
        if !rest.is_empty() {
            s.push('&');
            s.push_str(&rest);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "c9e15763f722f23e98a29decdfae341b98d53056";

    #[test]
    fn hex_and_base32_give_the_same_hash() {
        let m = Magnet::parse(&format!("magnet:?xt=urn:btih:{}", HEX.to_uppercase())).unwrap();
        assert_eq!(m.info_hash.as_str(), HEX);
        // Base32 of the same 20 bytes.
        let b32 = "ZHQVOY7XELZD5GFCTXWN7LRUDOMNKMCW";
        assert_eq!(
            Magnet::parse(&format!("magnet:?xt=urn:btih:{b32}"))
                .unwrap()
                .info_hash
                .as_str(),
            HEX
        );
        assert_eq!(
            Magnet::parse(&format!("magnet:?xt=urn:btih:{}", b32.to_lowercase()))
                .unwrap()
                .info_hash
                .as_str(),
            HEX
        );
        // Spaces around a pasted hash are forgiven; the form is always lower-case hex.
        assert_eq!(
            InfoHash::parse(&format!("  {}\n", HEX.to_uppercase()))
                .unwrap()
                .as_str(),
            HEX
        );
    }

    #[test]
    fn names_trackers_and_peer_hints() {
        let m = Magnet::parse(&format!(
            "magnet:?xt=urn:btih:{HEX}&dn=Big+Buck%20Bunny&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce\
             &tr=udp://t.example:80&x.pe=127.0.0.1%3A51413&x.pe=127.0.0.1:6881"
        ))
        .unwrap();
        assert_eq!(m.name.as_deref(), Some("Big Buck Bunny"));
        assert_eq!(
            m.trackers,
            ["http://127.0.0.1:6969/announce", "udp://t.example:80"]
        );
        assert_eq!(
            m.peers,
            [
                "127.0.0.1:51413".parse().unwrap(),
                "127.0.0.1:6881".parse().unwrap()
            ]
        );
        // Round trip through the canonical form.
        assert_eq!(Magnet::parse(&m.to_uri()).unwrap(), m);
    }

    #[test]
    fn malformed_magnets_say_what_is_wrong() {
        let e = |s: &str| Magnet::parse(s).unwrap_err().to_string();
        assert!(e("http://example.com/x.torrent").contains("magnet:?"));
        assert!(e("magnet:?dn=x").contains("no `xt=urn:btih:`"));
        assert!(e("magnet:?xt=urn:btih:1234").contains("40 hex or 32 base32"));
        assert!(
            e("magnet:?xt=urn:btih:zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")
                .contains("not valid hex")
        );
        assert!(e("magnet:?xt=urn:btih:11111111111111111111111111111111").contains("base32"));
        // Padding, signs and spaces inside never reach the decoder (padding used to panic it).
        for bad in [
            format!("{}=", "A".repeat(31)),
            format!("{}====", "A".repeat(28)),
            format!("{}+", "a".repeat(39)),
            format!("{} {}", "a".repeat(20), "a".repeat(19)),
        ] {
            assert!(InfoHash::parse(&bad).is_err(), "{bad}");
        }
        assert!(e(&format!("magnet:?xt=urn:btih:{HEX}&x.pe=nohost")).contains("x.pe"));
        assert!(e(&format!("magnet:?xt=urn:btih:{HEX}&tr=ftp://x")).contains("tracker"));
        assert!(
            e(&format!(
                "magnet:?xt=urn:btih:{HEX}&xt=urn:btih:{}",
                "0".repeat(40)
            ))
            .contains("two different")
        );
    }
}
