//! LibraryVfs: the share's tree, built from the database alone (listings never touch a
//! torrent or a disk):
//!
//! ```text
//! /Movies/Fight Club (1999)/Fight Club (1999).mkv
//! /TV Shows/Breaking Bad (2008)/Season 01/Breaking Bad (2008) - S01E01 - Pilot.mkv
//! ```
//!
//! Only movies and episodes with an active source appear; folders left empty are hidden
//! (the two top folders always exist). Names are sanitised (`sanitize`); two items that would
//! get the same name are both shown, each with a `{tmdb-ID}` (or `{id-N}`) suffix.
//!
//! The tree is cached and rebuilt only after the library changed (`Store::generation`).
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::error::Result;
use crate::library::model::{Item, Markers, SourceFile, Subtitle};
use crate::store::{ShareEpisode, ShareMovie, ShareRows, ShareSource, Store};
use crate::subtitles::{Files, Sidecar, sidecar_names};

pub const MOVIES: &str = "Movies";
pub const TV_SHOWS: &str = "TV Shows";
/// Longest name segment in bytes (most file systems allow 255).
const MAX_NAME_BYTES: usize = 255;
/// What a subtitle's name adds to its video's: ".pt-br.forced.sdh 99.srt".
const SIDECAR_ROOM: usize = 32;

#[derive(Debug)]
pub struct FileNode {
    pub name: String,
    pub size: u64,
    pub modified: SystemTime,
    /// Stable while the assignment stays: players' If-Range and caches rely on it.
    pub etag: String,
    /// Where its bytes come from.
    pub file: SourceFile,
    /// For an episode: the next one with a source, in library order (next in the season,
    /// then the first of the next season; specials stand apart). Warmed up near the end.
    pub next: Option<NextFile>,
    /// The movie or episode a video plays (None for a subtitle).
    pub item: Option<Item>,
    /// Bytes the share makes itself (an EDL), served from memory; `file` is then unused.
    pub content: Option<bytes::Bytes>,
}

#[derive(Debug, Clone)]
pub struct NextFile {
    pub file: SourceFile,
    pub size: u64,
}

#[derive(Debug)]
pub struct DirNode {
    pub name: String,
    pub modified: SystemTime,
    pub children: Vec<Node>,
}

#[derive(Debug, Clone)]
pub enum Node {
    Dir(Arc<DirNode>),
    File(Arc<FileNode>),
}

impl Node {
    pub fn name(&self) -> &str {
        match self {
            Node::Dir(d) => &d.name,
            Node::File(f) => &f.name,
        }
    }
    pub fn modified(&self) -> SystemTime {
        match self {
            Node::Dir(d) => d.modified,
            Node::File(f) => f.modified,
        }
    }
}

/// One immutable snapshot of the share.
#[derive(Debug)]
pub struct Tree {
    /// "" for the root, else "/Movies/Title (Year)" etc. (no trailing slash, NFC).
    by_path: HashMap<String, Node>,
    /// Where each item with a source appears.
    item_paths: HashMap<Item, String>,
    /// Where each subtitle appears (beside its item's video).
    subtitle_paths: HashMap<i64, String>,
}

impl Tree {
    /// The node at a decoded request path ("/Movies/", "/Movies/X (1999)/X (1999).mkv").
    pub fn lookup(&self, path: &str) -> Option<&Node> {
        let trimmed = path.trim_end_matches('/');
        match self.by_path.get(trimmed) {
            Some(n) => Some(n),
            // macOS sends decomposed Unicode (NFD); our names are NFC.
            None => self.by_path.get(&trimmed.nfc().collect::<String>()),
        }
    }

    /// The share path of an item, if it has an active source.
    pub fn path_of(&self, item: Item) -> Option<&str> {
        self.item_paths.get(&item).map(String::as_str)
    }

    /// The share path of a subtitle, if its item has a source.
    pub fn path_of_subtitle(&self, id: i64) -> Option<&str> {
        self.subtitle_paths.get(&id).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.by_path.len()
    }
}

/// The cached tree, rebuilt when the database's write generation moves.
pub struct Vfs {
    store: Store,
    subtitles: Files,
    cached: Mutex<Option<(u64, Arc<Tree>)>>,
    /// Serialises rebuilds so a burst of requests after a change builds once.
    building: tokio::sync::Mutex<()>,
}

impl Vfs {
    pub fn new(store: Store, subtitles: Files) -> Vfs {
        Vfs {
            store,
            subtitles,
            cached: Mutex::new(None),
            building: tokio::sync::Mutex::new(()),
        }
    }

    /// The current tree, built from the database if it changed since the last build.
    pub async fn tree(&self) -> Result<Arc<Tree>> {
        if let Some(tree) = self.fresh() {
            return Ok(tree);
        }
        let _building = self.building.lock().await;
        if let Some(tree) = self.fresh() {
            return Ok(tree);
        }
        // Read the generation before the rows: a write landing during the build leaves the
        // cache marked older, so the next call rebuilds.
        let generation = self.store.generation();
        let started = std::time::Instant::now();
        let rows = self.store.share_rows().await?;
        let tree = Arc::new(build(rows, &self.subtitles));
        tracing::debug!(entries = tree.len(), elapsed = ?started.elapsed(), "share tree built");
        *self.cached.lock().expect("vfs cache lock") = Some((generation, tree.clone()));
        Ok(tree)
    }

    fn fresh(&self) -> Option<Arc<Tree>> {
        let cached = self.cached.lock().expect("vfs cache lock");
        match &*cached {
            Some((generation, tree)) if *generation == self.store.generation() => {
                Some(tree.clone())
            }
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------- names

/// Makes a title safe as one path segment on every client: `:` → ` -`, `/` and `\` → `-`,
/// `? * " < > |`, control and format characters dropped, spaces collapsed, no leading dots, no
/// trailing dots or spaces, NFC, at most `max` bytes. Never empty.
pub fn sanitize(name: &str, max: usize) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            ':' => out.push_str(" -"),
            '/' | '\\' => out.push('-'),
            '?' | '*' | '"' | '<' | '>' | '|' => {}
            // Tabs and newlines are whitespace before they are control characters.
            c if c.is_whitespace() => out.push(' '),
            c if c.is_control() => {}
            // Invisible format characters (Unicode Cf): bidi overrides that make
            // `Holiday \u{202e}vkm.exe` read as `Holiday exe.mkv`, zero-width spaces, BOMs.
            c if c.general_category() == GeneralCategory::Format => {}
            c => out.push(c),
        }
    }
    // NFC after the filtering: dropping a character can bring two combining marks together,
    // which NFC then reorders.
    let out: String = out.nfc().collect();
    let mut collapsed = String::with_capacity(out.len());
    for word in out.split(' ').filter(|w| !w.is_empty()) {
        if !collapsed.is_empty() {
            collapsed.push(' ');
        }
        collapsed.push_str(word);
    }
    let mut s = collapsed.trim_start_matches(['.', ' ']).to_string();
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    let s = s.trim_end_matches(['.', ' ']);
    if s.is_empty() {
        "Untitled".to_string()
    } else {
        s.to_string()
    }
}

/// "Title (Year)" or "Title".
fn title_year(title: &str, year: Option<i32>) -> String {
    match year {
        Some(y) => format!("{title} ({y})"),
        None => title.to_string(),
    }
}

/// ".mkv" from the source file's name ("" when it has none).
fn extension(path: &str) -> String {
    Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| sanitize(e, 16))
        .filter(|e| e != "Untitled")
        .map(|e| format!(".{e}"))
        .unwrap_or_default()
}

/// Folder names for items that share a base name get a distinguishing suffix. Compared
/// case-insensitively: macOS and Windows clients would merge "Alien" and "ALIEN".
fn disambiguate<T>(items: &mut [(String, T)], suffix: impl Fn(&T) -> String) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (name, _) in items.iter() {
        *seen.entry(name.to_lowercase()).or_default() += 1;
    }
    for (name, item) in items.iter_mut() {
        if seen[&name.to_lowercase()] > 1 {
            *name = format!("{name} {}", suffix(item));
        }
    }
}

// ---------------------------------------------------------------------- building

fn file_node(name: String, s: &ShareSource) -> FileNode {
    FileNode {
        name,
        size: s.size,
        modified: UNIX_EPOCH + Duration::from_secs(s.created_at.max(0) as u64),
        etag: format!("{:x}-{:x}-{:x}", s.assignment_id, s.size, s.created_at),
        file: s.file.clone(),
        next: None,
        item: None,
        content: None,
    }
}

/// Accumulates folders by path, then freezes them into `Node`s bottom-up.
#[derive(Default)]
struct Builder {
    files: HashMap<String, Vec<FileNode>>,
    item_paths: HashMap<Item, String>,
    /// Each item's folder and its video's name without the extension, for its sidecars.
    bases: HashMap<Item, (String, String)>,
    subtitle_paths: HashMap<i64, String>,
    /// Each item's video mtime, for its sidecars.
    modified: HashMap<Item, SystemTime>,
}

impl Builder {
    /// Adds an item's video; `ext` is the extension its name ends with.
    fn add(&mut self, dir: String, mut file: FileNode, item: Item, ext: &str) {
        file.item = Some(item);
        self.modified.insert(item, file.modified);
        self.item_paths.insert(item, format!("{dir}/{}", file.name));
        let base = file
            .name
            .strip_suffix(ext)
            .unwrap_or(&file.name)
            .to_string();
        self.bases.insert(item, (dir.clone(), base));
        self.files.entry(dir).or_default().push(file);
    }

    /// Puts an EDL of each item's skip markers beside its video (`<video base>.edl`).
    fn add_markers(&mut self, markers: Vec<Markers>) {
        for m in markers {
            let (Some((dir, base)), Some(edl)) = (self.bases.get(&m.item).cloned(), m.edl()) else {
                continue;
            };
            use sha2::Digest;
            let digest = sha2::Sha256::digest(edl.as_bytes());
            let etag: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            let modified = self.modified.get(&m.item).copied().unwrap_or(UNIX_EPOCH);
            self.files.entry(dir).or_default().push(FileNode {
                name: format!("{base}.edl"),
                size: edl.len() as u64,
                modified,
                etag: format!("e{etag}"),
                file: SourceFile::Local {
                    path: String::new(),
                },
                next: None,
                item: None,
                content: Some(bytes::Bytes::from(edl)),
            });
        }
    }

    /// Puts each subtitle beside its item's video (items without a source have none shown).
    fn add_subtitles(&mut self, subtitles: Vec<Subtitle>, files: &Files) {
        let mut by_item: HashMap<Item, Vec<Subtitle>> = HashMap::new();
        for s in subtitles {
            if self.bases.contains_key(&s.item) {
                by_item.entry(s.item).or_default().push(s);
            }
        }
        for (item, subs) in by_item {
            let (dir, base) = self.bases[&item].clone();
            let sidecars: Vec<Sidecar> = subs
                .iter()
                .map(|s| Sidecar {
                    language: s.language.clone(),
                    forced: s.forced,
                    sdh: s.sdh,
                    format: s.format,
                })
                .collect();
            for (s, name) in subs.iter().zip(sidecar_names(&base, &sidecars)) {
                self.subtitle_paths.insert(s.id, format!("{dir}/{name}"));
                let path = files
                    .path(&s.sha256, s.format)
                    .to_string_lossy()
                    .to_string();
                self.files.entry(dir.clone()).or_default().push(FileNode {
                    name,
                    size: s.size,
                    modified: UNIX_EPOCH + Duration::from_secs(s.created_at.max(0) as u64),
                    etag: format!("s{:x}-{:x}-{:x}", s.id, s.size, s.created_at),
                    file: SourceFile::Local { path },
                    next: None,
                    item: None,
                    content: None,
                });
            }
        }
    }
}

fn build(rows: ShareRows, subtitle_files: &Files) -> Tree {
    let mut b = Builder::default();

    // Movies: one folder each.
    let mut movies: Vec<(String, ShareMovie)> = rows
        .movies
        .into_iter()
        .map(|m| {
            (
                sanitize(&title_year(&m.title, m.year), MAX_NAME_BYTES - 40),
                m,
            )
        })
        .collect();
    disambiguate(&mut movies, |m| match m.tmdb_id {
        Some(t) => format!("{{tmdb-{t}}}"),
        None => format!("{{id-{}}}", m.id),
    });
    for (folder, m) in movies {
        let ext = extension(m.source.file.path());
        let name = format!("{folder}{ext}");
        b.add(
            format!("/{MOVIES}/{folder}"),
            file_node(name, &m.source),
            Item::Movie(m.id),
            &ext,
        );
    }

    // Shows: folder names decided per show, then seasons and episodes.
    let mut show_names: HashMap<i64, String> = HashMap::new();
    let mut shows: Vec<(String, (i64, Option<i64>))> = Vec::new();
    for e in &rows.episodes {
        if let std::collections::hash_map::Entry::Vacant(v) = show_names.entry(e.show_id) {
            v.insert(String::new());
            let name = sanitize(&title_year(&e.show_title, e.show_year), MAX_NAME_BYTES - 80);
            shows.push((name, (e.show_id, e.show_tmdb_id)));
        }
    }
    disambiguate(&mut shows, |(id, tmdb)| match tmdb {
        Some(t) => format!("{{tmdb-{t}}}"),
        None => format!("{{id-{id}}}"),
    });
    for (name, (id, _)) in shows {
        show_names.insert(id, name);
    }
    let mut episodes: Vec<ShareEpisode> = rows.episodes;
    episodes.sort_by_key(|e| (e.show_id, e.season_number, e.episode_number, e.episode_id));
    // Each episode's successor: the following row of the same show, specials (season 0)
    // neither having one nor being one.
    let nexts: Vec<Option<NextFile>> = (0..episodes.len())
        .map(|i| {
            let (e, n) = (&episodes[i], episodes.get(i + 1)?);
            (n.show_id == e.show_id && e.season_number > 0 && n.season_number > 0).then(|| {
                NextFile {
                    file: n.source.file.clone(),
                    size: n.source.size,
                }
            })
        })
        .collect();
    for (e, next) in episodes.into_iter().zip(nexts) {
        let show = &show_names[&e.show_id];
        let prefix = format!(
            "{show} - S{:02}E{:02} - ",
            e.season_number, e.episode_number
        );
        let ext = extension(e.source.file.path());
        // The episode name gets what is left of the 255 bytes a file name may have.
        let room = MAX_NAME_BYTES
            .saturating_sub(prefix.len() + ext.len() + SIDECAR_ROOM)
            .clamp(16, 120);
        let episode_name = match &e.name {
            Some(n) if !n.trim().is_empty() => sanitize(n, room),
            _ => format!("Episode {}", e.episode_number),
        };
        let name = format!("{prefix}{episode_name}{ext}");
        let dir = format!("/{TV_SHOWS}/{show}/Season {:02}", e.season_number);
        let node = FileNode {
            next,
            ..file_node(name, &e.source)
        };
        b.add(dir, node, Item::Episode(e.episode_id), &ext);
    }
    b.add_subtitles(rows.subtitles, subtitle_files);
    b.add_markers(rows.markers);

    freeze(b)
}

/// Turns the per-folder file lists into the node map, creating parent folders; a folder's
/// mtime is its newest child's, so it is stable across restarts.
fn freeze(b: Builder) -> Tree {
    let mut dirs: HashMap<String, Vec<Node>> = HashMap::new();
    dirs.entry(String::new()).or_default();
    dirs.entry(format!("/{MOVIES}")).or_default();
    dirs.entry(format!("/{TV_SHOWS}")).or_default();
    for (dir, files) in b.files {
        dirs.entry(dir)
            .or_default()
            .extend(files.into_iter().map(|f| Node::File(Arc::new(f))));
    }
    // Make sure every ancestor exists (deepest first is not needed: paths are created whole).
    let paths: Vec<String> = dirs.keys().cloned().collect();
    for path in paths {
        let mut p = path.as_str();
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            dirs.entry(p.to_string()).or_default();
        }
    }
    // Build bottom-up: longest paths (deepest) first.
    let mut order: Vec<String> = dirs.keys().cloned().collect();
    order.sort_by_key(|p| std::cmp::Reverse(p.matches('/').count()));
    let mut by_path: HashMap<String, Node> = HashMap::new();
    for path in order {
        let mut children = dirs.remove(&path).unwrap_or_default();
        children.sort_by(|a, b| {
            a.name()
                .to_lowercase()
                .cmp(&b.name().to_lowercase())
                .then_with(|| a.name().cmp(b.name()))
        });
        let modified = children
            .iter()
            .map(Node::modified)
            .max()
            .unwrap_or(UNIX_EPOCH);
        for child in &children {
            if let Node::File(_) = child {
                by_path.insert(format!("{path}/{}", child.name()), child.clone());
            }
        }
        let name = path.rsplit('/').next().unwrap_or_default().to_string();
        let node = Node::Dir(Arc::new(DirNode {
            name,
            modified,
            children,
        }));
        if let Some(parent) = path.rfind('/').map(|i| path[..i].to_string()) {
            dirs.entry(parent).or_default().push(node.clone());
        }
        by_path.insert(path, node);
    }
    Tree {
        by_path,
        item_paths: b.item_paths,
        subtitle_paths: b.subtitle_paths,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitising_follows_the_naming_rules() {
        let s = |n: &str| sanitize(n, 255);
        assert_eq!(s("Mission: Impossible"), "Mission - Impossible");
        assert_eq!(s("AC/DC\\Live"), "AC-DC-Live");
        assert_eq!(s("Who? What* \"Why\" <a|b>"), "Who What Why ab");
        assert_eq!(s("...And Justice for All"), "And Justice for All");
        assert_eq!(s(".hidden"), "hidden");
        assert_eq!(s("Trailing dots... "), "Trailing dots");
        assert_eq!(s("tab\there\u{7}bell"), "tab herebell");
        assert_eq!(s("  many   spaces  "), "many spaces");
        assert_eq!(s("Amélie"), "Amélie");
        // NFD in, NFC out.
        assert_eq!(s("Ame\u{301}lie"), "Amélie");
        assert_eq!(s("???"), "Untitled");
        // Format characters are dropped: no bidi tricks, no invisible differences.
        assert_eq!(s("Holiday \u{202e}vkm.exe"), "Holiday vkm.exe");
        assert_eq!(s("Zero\u{200b}Width\u{feff}"), "ZeroWidth");
        assert_eq!(s("\u{2066}Isolated\u{2069}"), "Isolated");
        assert!(sanitize(&"é".repeat(300), 255).len() <= 255);
    }

    #[test]
    fn extensions_come_from_the_source() {
        assert_eq!(extension("/a/b/Movie.2019.1080p.mkv"), ".mkv");
        assert_eq!(extension("Show/S01E01.MP4"), ".MP4");
        assert_eq!(extension("noext"), "");
    }

    fn cols(id: i64, path: &str) -> ShareSource {
        ShareSource {
            assignment_id: id,
            file: SourceFile::Local { path: path.into() },
            size: 100 + id as u64,
            created_at: 1_700_000_000 + id,
        }
    }

    fn movie(id: i64, tmdb: Option<i64>, title: &str, year: Option<i32>) -> ShareMovie {
        ShareMovie {
            id,
            tmdb_id: tmdb,
            title: title.into(),
            year,
            source: cols(id, "/m/x.mkv"),
        }
    }

    fn episode(show: i64, title: &str, season: i32, ep: i32, name: Option<&str>) -> ShareEpisode {
        ShareEpisode {
            show_id: show,
            show_tmdb_id: Some(show * 10),
            show_title: title.into(),
            show_year: Some(2008),
            season_number: season,
            episode_id: show * 1000 + i64::from(season) * 100 + i64::from(ep),
            episode_number: ep,
            name: name.map(str::to_string),
            source: cols(show * 1000 + i64::from(ep), "/t/e.mp4"),
        }
    }

    fn names(tree: &Tree, path: &str) -> Vec<String> {
        match tree.lookup(path) {
            Some(Node::Dir(d)) => d.children.iter().map(|c| c.name().to_string()).collect(),
            other => panic!("{path}: {other:?}"),
        }
    }

    fn subtitle(id: i64, item: Item, language: &str, forced: bool) -> Subtitle {
        Subtitle {
            id,
            item,
            language: language.into(),
            forced,
            sdh: false,
            format: crate::subtitles::Format::Srt,
            origin: crate::library::model::SubtitleOrigin::Local,
            sha256: format!("{id:064}"),
            size: 1000 + id as u64,
            source_name: "x.srt".into(),
            provider_id: None,
            created_at: 1_600_000_000,
            share_path: String::new(),
        }
    }

    #[test]
    fn the_tree_has_the_player_layout() {
        let tmp = tempfile::TempDir::new().unwrap();
        let files = Files::new(tmp.path()).unwrap();
        let tree = build(
            ShareRows {
                movies: vec![
                    movie(1, Some(550), "Fight Club", Some(1999)),
                    movie(2, Some(1), "Solaris", Some(1972)),
                    movie(3, Some(2), "Solaris", Some(1972)),
                    movie(4, None, "solaris", Some(1972)),
                ],
                episodes: vec![
                    episode(1, "Breaking Bad", 1, 1, Some("Pilot")),
                    episode(1, "Breaking Bad", 1, 2, None),
                    episode(1, "Breaking Bad", 0, 1, Some("Good Cop / Bad Cop")),
                ],
                subtitles: vec![
                    subtitle(1, Item::Movie(1), "en", false),
                    subtitle(2, Item::Movie(1), "en", true),
                    subtitle(3, Item::Episode(1101), "de", false),
                    subtitle(4, Item::Movie(99), "en", false),
                ],
                markers: vec![
                    Markers {
                        item: Item::Movie(1),
                        intro: None,
                        credits: Some((5000.0, Some(5100.0))),
                        origin: crate::library::model::MarkerOrigin::Manual,
                        confidence: 1.0,
                    },
                    // Credits without an end make no EDL.
                    Markers {
                        item: Item::Movie(2),
                        intro: None,
                        credits: Some((5000.0, None)),
                        origin: crate::library::model::MarkerOrigin::Detected,
                        confidence: 0.8,
                    },
                ],
            },
            &files,
        );
        assert_eq!(names(&tree, "/"), ["Movies", "TV Shows"]);
        assert_eq!(
            names(&tree, "/Movies/"),
            [
                "Fight Club (1999)",
                "solaris (1972) {id-4}",
                "Solaris (1972) {tmdb-1}",
                "Solaris (1972) {tmdb-2}"
            ]
        );
        // Subtitles and the EDL sit beside their video; a subtitle of an item with no
        // source is not shown, nor an EDL with nothing to skip (credits without an end).
        assert_eq!(
            names(&tree, "/Movies/Fight Club (1999)"),
            [
                "Fight Club (1999).edl",
                "Fight Club (1999).en.forced.srt",
                "Fight Club (1999).en.srt",
                "Fight Club (1999).mkv"
            ]
        );
        let Some(Node::File(edl)) = tree.lookup("/Movies/Fight Club (1999)/Fight Club (1999).edl")
        else {
            panic!("edl")
        };
        assert_eq!(
            edl.content.as_deref(),
            Some(&b"5000.000\t5100.000\t3\n"[..])
        );
        assert!(
            !names(&tree, "/Movies/Solaris (1972) {tmdb-1}")
                .iter()
                .any(|n| n.ends_with(".edl"))
        );
        assert_eq!(
            tree.path_of_subtitle(2),
            Some("/Movies/Fight Club (1999)/Fight Club (1999).en.forced.srt")
        );
        assert_eq!(tree.path_of_subtitle(4), None);
        let Some(Node::File(sub)) =
            tree.lookup("/Movies/Fight Club (1999)/Fight Club (1999).en.srt")
        else {
            panic!("subtitle")
        };
        assert_eq!(sub.size, 1001);
        assert_eq!(
            sub.file,
            SourceFile::Local {
                path: files
                    .path(&format!("{:064}", 1), crate::subtitles::Format::Srt)
                    .to_string_lossy()
                    .to_string()
            }
        );
        assert_eq!(
            names(&tree, "/TV Shows/Breaking Bad (2008)"),
            ["Season 00", "Season 01"]
        );
        assert_eq!(
            names(&tree, "/TV Shows/Breaking Bad (2008)/Season 01"),
            [
                "Breaking Bad (2008) - S01E01 - Pilot.de.srt",
                "Breaking Bad (2008) - S01E01 - Pilot.mp4",
                "Breaking Bad (2008) - S01E02 - Episode 2.mp4"
            ]
        );
        assert_eq!(
            names(&tree, "/TV Shows/Breaking Bad (2008)/Season 00"),
            ["Breaking Bad (2008) - S00E01 - Good Cop - Bad Cop.mp4"]
        );
        assert_eq!(
            tree.path_of(Item::Movie(1)),
            Some("/Movies/Fight Club (1999)/Fight Club (1999).mkv")
        );
        let Some(Node::File(f)) = tree.lookup("/Movies/Fight Club (1999)/Fight Club (1999).mkv")
        else {
            panic!("file")
        };
        assert_eq!(f.size, 101);
        assert_eq!(
            f.file,
            SourceFile::Local {
                path: "/m/x.mkv".into()
            }
        );
        // Folder mtimes come from their content, not from "now".
        let Some(Node::Dir(d)) = tree.lookup("/Movies") else {
            panic!("dir")
        };
        assert_eq!(d.modified, UNIX_EPOCH + Duration::from_secs(1_700_000_004));
    }

    #[test]
    fn empty_library_has_just_the_top_folders() {
        let tmp = tempfile::TempDir::new().unwrap();
        let tree = build(ShareRows::default(), &Files::new(tmp.path()).unwrap());
        assert_eq!(names(&tree, "/"), ["Movies", "TV Shows"]);
        assert!(names(&tree, "/Movies").is_empty());
        assert!(tree.lookup("/Movies/nothing").is_none());
    }
}
