//! The store's rules, on a real SQLite file: one active source per item, all-or-nothing
//! writes, season filters kept, pack results written as one batch.
use diesel::RunQueryDsl;

use super::*;
use crate::library::model::{
    Item, Labels, MediaKind, NewSource, SeasonFilter, SourceFile, SourceKind,
};
use crate::tmdb::{EpisodeInfo, SeasonInfo};
use crate::torrent::InfoHash;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

fn local(path: &str, size: u64) -> NewSource {
    NewSource {
        file: SourceFile::Local { path: path.into() },
        size,
        labels: Labels::default(),
    }
}

fn torrent(hash: &InfoHash, index: usize, path: &str) -> NewSource {
    NewSource {
        file: SourceFile::Torrent {
            info_hash: hash.clone(),
            magnet: format!("magnet:?xt=urn:btih:{hash}"),
            index,
            path: path.into(),
        },
        size: 1000,
        labels: Labels {
            resolution: Some("1080p".into()),
            release: Some("WEB-DL".into()),
        },
    }
}

fn season(number: i32, episodes: i32) -> SeasonInfo {
    SeasonInfo {
        season_number: number,
        episodes: (1..=episodes)
            .map(|n| EpisodeInfo {
                episode_number: n,
                name: Some(format!("Ep {n}")),
                air_date: None,
            })
            .collect(),
    }
}

async fn add_show(store: &Store, tmdb_id: Option<i64>, filter: SeasonFilter) -> i64 {
    store
        .insert_show(
            NewShowRecord {
                tmdb_id,
                title: "Show".into(),
                year: Some(2008),
                filter,
            },
            vec![season(1, 3), season(2, 2)],
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn an_item_has_one_active_source_and_replaced_ones_stay() {
    let (_dir, store) = open();
    let movie = store
        .insert_movie(Some(550), "Fight Club".into(), Some(1999))
        .await
        .unwrap();
    let item = Item::Movie(movie.id);

    let first = store
        .attach(vec![(item, local("/m/a.mkv", 10))])
        .await
        .unwrap()
        .remove(0);
    assert_eq!(first.replaced_id, None);
    assert_eq!(first.file.kind(), SourceKind::Local);
    let second = store
        .attach(vec![(item, local("/m/b.mkv", 20))])
        .await
        .unwrap()
        .remove(0);
    assert_eq!(second.replaced_id, Some(first.id));

    // The share sees only the newer one.
    let rows = store.share_rows().await.unwrap();
    assert_eq!(rows.movies.len(), 1);
    assert_eq!(rows.movies[0].source.file.path(), "/m/b.mkv");
    assert_eq!(rows.movies[0].source.size, 20);
    assert!(store.movies(Some(movie.id)).await.unwrap()[0].assigned);

    // Detaching returns what was active; a second detach finds nothing.
    let removed = store.detach(item).await.unwrap().unwrap();
    assert_eq!(removed.id, second.id);
    let generation = store.generation();
    assert!(store.detach(item).await.unwrap().is_none());
    assert_eq!(
        store.generation(),
        generation,
        "detaching nothing is no write"
    );
    assert!(matches!(
        store.detach(Item::Movie(999)).await,
        Err(Error::NotFound(_))
    ));
    assert!(store.share_rows().await.unwrap().movies.is_empty());
    assert!(!store.movies(Some(movie.id)).await.unwrap()[0].assigned);
    assert_eq!(store.counts().await.unwrap().assigned, 0);
}

#[tokio::test]
async fn a_batch_with_an_unknown_item_stores_nothing() {
    let (_dir, store) = open();
    let show = add_show(&store, None, SeasonFilter::default()).await;
    let detail = store.show(show).await.unwrap().unwrap();
    let episodes: Vec<i64> = detail.seasons[0].episodes.iter().map(|e| e.id).collect();
    let hash = InfoHash::parse(&"ab".repeat(20)).unwrap();
    let before = store.generation();

    let err = store
        .attach(vec![
            (Item::Episode(episodes[0]), torrent(&hash, 0, "S01E01.mkv")),
            (Item::Episode(999_999), torrent(&hash, 1, "S01E02.mkv")),
        ])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::NotFound(ref m) if m.contains("episode with id 999999")),
        "{err}"
    );
    assert!(store.torrent_sources().await.unwrap().is_empty());
    assert_eq!(
        store.generation(),
        before,
        "a rolled-back write is no change"
    );

    // The same batch without the bad row lands whole, and reads back as written.
    let attached = store
        .attach(
            episodes
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    (
                        Item::Episode(*id),
                        torrent(&hash, i, &format!("S01E0{}.mkv", i + 1)),
                    )
                })
                .collect(),
        )
        .await
        .unwrap();
    assert_eq!(attached.len(), 3);
    assert_eq!(attached[1].labels.release.as_deref(), Some("WEB-DL"));
    let sources = store.torrent_sources().await.unwrap();
    assert_eq!(sources.len(), 3);
    assert!(sources.iter().all(|(h, ..)| h == &hash));
    let share = store.share_rows().await.unwrap();
    assert!(matches!(
        &share.episodes.iter().find(|e| e.episode_number == 2).unwrap().source.file,
        SourceFile::Torrent { index: 1, path, .. } if path == "S01E02.mkv"
    ));

    // Removing the torrent's sources leaves the episodes without one.
    assert_eq!(store.detach_torrent(&hash).await.unwrap(), 3);
    assert_eq!(
        store
            .show(show)
            .await
            .unwrap()
            .unwrap()
            .summary
            .assigned_count,
        0
    );
}

#[tokio::test]
async fn shows_keep_their_season_filter_and_refresh_never_drops() {
    let (_dir, store) = open();
    let filter = SeasonFilter {
        only: Some([1].into()),
        specials: true,
    };
    let show = add_show(&store, Some(1396), filter.clone()).await;
    let (tmdb, stored) = store.show_origin(show).await.unwrap().unwrap();
    assert_eq!((tmdb, stored), (Some(1396), filter));
    assert_eq!(
        store.id_by_tmdb(MediaKind::Show, 1396).await.unwrap(),
        Some(show)
    );
    assert!(matches!(
        add_show_again(&store).await,
        Err(Error::AlreadyExists(m)) if m.contains("show with TMDB id 1396")
    ));

    let episode_1 = store.show(show).await.unwrap().unwrap().seasons[0].episodes[0].id;
    store
        .attach(vec![(Item::Episode(episode_1), local("/s/e1.mkv", 5))])
        .await
        .unwrap();
    // TMDB now lists season 1 with four episodes, one renamed, and nothing of season 2.
    let mut newer = season(1, 4);
    newer.episodes[2].name = Some("Renamed".into());
    let counts = store
        .refresh_show(show, "Show".into(), Some(2008), vec![newer])
        .await
        .unwrap();
    assert_eq!(counts, (0, 1, 1));
    let detail = store.show(show).await.unwrap().unwrap();
    assert_eq!(detail.seasons.len(), 2, "season 2 is kept");
    assert_eq!(detail.seasons[0].episodes.len(), 4);
    assert!(
        detail.seasons[0].episodes[0].assigned,
        "the source survives"
    );

    // Removing the show removes its sources with it.
    store.delete_show(show).await.unwrap().unwrap();
    assert!(store.share_rows().await.unwrap().episodes.is_empty());
    assert!(store.show(show).await.unwrap().is_none());
}

async fn add_show_again(store: &Store) -> Result<i64> {
    store
        .insert_show(
            NewShowRecord {
                tmdb_id: Some(1396),
                title: "Again".into(),
                year: None,
                filter: SeasonFilter::default(),
            },
            vec![],
        )
        .await
}

#[tokio::test]
async fn a_malformed_row_hides_its_item_not_the_share() {
    let (_dir, store) = open();
    let good = store.insert_movie(None, "Good".into(), None).await.unwrap();
    let bad = store.insert_movie(None, "Bad".into(), None).await.unwrap();
    store
        .attach(vec![(Item::Movie(good.id), local("/m/good.mkv", 1))])
        .await
        .unwrap();
    // 40 characters pass the schema's CHECK, but they are no hex hash.
    store
        .write(move |conn| {
            diesel::sql_query(format!(
                "INSERT INTO assignments (movie_id, kind, info_hash, magnet, file_index, \
                 file_path, file_size, is_active, created_at) \
                 VALUES ({}, 'torrent', '{}', 'magnet:?', 0, 'x.mkv', 1, 1, 0)",
                bad.id,
                "z".repeat(40)
            ))
            .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let rows = store.share_rows().await.unwrap();
    let titles: Vec<&str> = rows.movies.iter().map(|m| m.title.as_str()).collect();
    assert_eq!(titles, ["Good"]);
    assert!(store.torrent_sources().await.unwrap().is_empty());
}
