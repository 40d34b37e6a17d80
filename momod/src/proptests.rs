//! Property tests for everything that parses outside input: magnets, pack file names, Range
//! headers, share paths, config values, and the name cleaners. Each must take any input
//! without panicking, and keep its invariants (round trips, bounds) where it has them.
use proptest::prelude::*;

use crate::config::Config;
use crate::library::limits;
use crate::library::pack::parse_episode;
use crate::torrent::Magnet;
use crate::vfs::sanitize;
use crate::webdav::{repeats_bytes, share_path};

fn hash() -> impl Strategy<Value = String> {
    "[0-9a-f]{40}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn magnets_never_panic(text in "magnet:\\?[ -~]{0,300}", raw in any::<String>()) {
        let _ = Magnet::parse(&text);
        let _ = Magnet::parse(&raw);
    }

    #[test]
    fn magnets_round_trip(
        hash in hash(),
        name in proptest::option::of("[A-Za-z0-9 .&=%+_-]{1,40}"),
        trackers in proptest::collection::btree_set("(udp|http|https)://[a-z0-9.]{1,20}:[0-9]{2,5}/announce", 0..8),
        ports in proptest::collection::btree_set(1u16..65535, 0..8),
    ) {
        let mut uri = format!("magnet:?xt=urn:btih:{hash}");
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(n) = &name {
            q.append_pair("dn", n);
        }
        for t in &trackers {
            q.append_pair("tr", t);
        }
        for p in &ports {
            q.append_pair("x.pe", &format!("127.0.0.1:{p}"));
        }
        let rest = q.finish();
        if !rest.is_empty() {
            uri.push('&');
            uri.push_str(&rest);
        }
        let m = Magnet::parse(&uri).unwrap();
        prop_assert_eq!(m.info_hash.as_str(), hash.as_str());
        prop_assert_eq!(m.trackers.len(), trackers.len());
        prop_assert_eq!(m.peers.len(), ports.len());
        // The canonical form parses to the same magnet.
        prop_assert_eq!(Magnet::parse(&m.to_uri()).unwrap(), m);
    }

    #[test]
    fn pack_names_never_panic(path in any::<String>(), scene in "[A-Za-z0-9 ./_()\\[\\]-]{0,120}") {
        let _ = parse_episode(&path);
        let _ = parse_episode(&scene);
    }

    #[test]
    fn scene_names_give_their_episode(
        show in "[A-Z][a-z]{2,10}(\\.[A-Z][a-z]{2,10}){0,3}",
        season in 1i32..60,
        episode in 1i32..200,
        tail in "(\\.720p|\\.1080p|\\.2160p)?(\\.WEB-DL|\\.BluRay)?(\\.x264|\\.x265)?-[A-Z]{3,8}",
    ) {
        let path = format!("{show} Season {season}/{show}.S{season:02}E{episode:02}{tail}.mkv");
        let found = parse_episode(&path).unwrap();
        prop_assert_eq!(found.season, Some(season));
        prop_assert_eq!(found.episodes, vec![episode]);
    }

    #[test]
    fn ranges_never_panic(header in any::<Vec<u8>>(), text in "bytes=[0-9,\\- ]{0,200}") {
        let _ = repeats_bytes(&header);
        let _ = repeats_bytes(text.as_bytes());
    }

    #[test]
    fn disjoint_ranges_are_served_and_repeats_are_not(
        cuts in proptest::collection::btree_set(0u64..1_000_000, 2..32),
    ) {
        // Sorted distinct points paired up into disjoint closed ranges, given shuffled.
        let points: Vec<u64> = cuts.into_iter().collect();
        let mut ranges: Vec<(u64, u64)> = points.chunks_exact(2).map(|p| (p[0], p[1] - 1)).collect();
        ranges.reverse();
        let spec = |r: &[(u64, u64)]| {
            format!("bytes={}", r.iter().map(|(a, b)| format!("{a}-{b}")).collect::<Vec<_>>().join(","))
        };
        if ranges.len() <= 16 {
            prop_assert!(!repeats_bytes(spec(&ranges).as_bytes()));
        }
        // Any range given twice repeats bytes.
        let mut twice = ranges.clone();
        twice.push(ranges[0]);
        prop_assert!(repeats_bytes(spec(&twice).as_bytes()));
    }

    #[test]
    fn share_paths_hold_no_escape(raw in any::<String>(), encoded in "(/(%[0-9A-Fa-f]{2}|[A-Za-z0-9. ]){0,12}){0,6}/?") {
        for input in [raw, encoded] {
            if let Some(p) = share_path(&input) {
                prop_assert!(p.is_empty() || p.starts_with('/'));
                prop_assert!(!p.contains("//") && !p.ends_with('/') && !p.contains('\0'));
                prop_assert!(p.split('/').all(|s| s != "." && s != ".."));
            }
        }
    }

    #[test]
    fn share_paths_round_trip(segments in proptest::collection::vec("[^/\u{0}]{1,20}", 0..6)) {
        prop_assume!(segments.iter().all(|s| s != "." && s != ".."));
        let path: String = segments.iter().map(|s| format!("/{s}")).collect();
        let encoded: String = segments
            .iter()
            .map(|s| format!("/{}", percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)))
            .collect();
        prop_assert_eq!(share_path(&encoded), Some(path));
    }

    #[test]
    fn config_values_never_panic(key in "MOMO_(WEBDAV|TORRENT|TMDB|GRPC)_[A-Z_]{1,20}", value in any::<String>()) {
        let _ = Config::load(None, vec![(key, value)]);
    }

    #[test]
    fn numeric_config_values_are_range_checked(n in any::<i64>()) {
        let loaded = Config::load(None, vec![("MOMO_WEBDAV_MAX_CONNECTIONS".to_string(), n.to_string())]);
        prop_assert_eq!(loaded.is_ok(), (1..=100_000).contains(&n));
        if let Ok(c) = loaded {
            prop_assert_eq!(c.webdav.max_connections as i64, n);
        }
    }

    #[test]
    fn share_names_are_safe_and_stable(name in any::<String>(), max in 16usize..300) {
        let s = sanitize(&name, max);
        prop_assert!(!s.is_empty() && s.len() <= max);
        prop_assert!(!s.contains(['/', '\\', ':', '?', '*', '"', '<', '>', '|']));
        prop_assert!(!s.chars().any(char::is_control));
        prop_assert!(!s.starts_with('.') && !s.ends_with('.') && !s.ends_with(' '));
        prop_assert_eq!(sanitize(&s, max), s);
    }

    #[test]
    fn titles_are_clean_and_bounded(text in any::<String>()) {
        if let Ok(t) = limits::title(&text, limits::Origin::User) {
            prop_assert!(t.len() <= limits::MAX_NAME_BYTES);
            prop_assert!(!t.chars().any(char::is_control));
            prop_assert_eq!(t.trim(), t.as_str());
        }
    }
}
