//! `compare`: one file from one shaped swarm, served in turn by momod (WebDAV), rqbit (its
//! HTTP API) and webtorrent-cli (its HTTP server), each starting fresh with a torrent it
//! has never seen. Needs root (a network namespace) and the tools `scripts/bench-deps`
//! installs.
//!
//! The swarm lives in the network namespace `momobench`, reached through a veth pair whose
//! swarm→host direction is shaped by a `tbf` qdisc (`--link-mbit`): opentracker and three
//! aria2c seeders, each capped so they upload `--seed-mib-s` in total. The torrent is a
//! season folder: episode 1 (`--size-mb`), episode 2 (64 MiB) and an .nfo, 1 MiB pieces,
//! announced to the tracker only (no DHT, no peer hints), so every client finds the seeders
//! the same way. Bytes that cross the link are read from the veth's counters.
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use momo_tests::swarm::pattern;
use momo_tests::{Daemon, DaemonConfig, url_path};

const MIB: u64 = 1024 * 1024;
const NS: &str = "momobench";
const HOST_IF: &str = "mbh0";
const SWARM_IF: &str = "mbs0";
const HOST_IP: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 1);
const SWARM_IP: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 2);
const TRACKER_PORT: u16 = 6969;
/// The player of the playback row: 8 Mbit/s.
const BITRATE: f64 = 1_000_000.0;

#[derive(clap::Args)]
pub struct CompareArgs {
    /// Size of episode 1, the file most rows read (MiB).
    #[arg(long, default_value_t = 600)]
    size_mb: u64,
    /// The shaped link from the swarm (Mbit/s).
    #[arg(long, default_value_t = 40)]
    link_mbit: u32,
    /// What the three seeders upload in total (MiB/s).
    #[arg(long, default_value_t = 5)]
    seed_mib_s: u32,
    /// momod's disk budget for the cache row (MiB); the row reads three times as much.
    #[arg(long, default_value_t = 100)]
    cache_mb: u64,
    /// Which systems, in order.
    #[arg(long, default_value = "momod,rqbit,webtorrent", value_delimiter = ',')]
    systems: Vec<String>,
    /// Where `scripts/bench-deps` put rqbit and webtorrent.
    #[arg(long, default_value = "target/bench-tools")]
    tools: PathBuf,
    /// Extra settings for momod, as `MOMO_KEY=value` (to compare settings).
    #[arg(long = "momod-env")]
    momod_env: Vec<String>,
    /// Keep the working directory (data dirs, momod's logs) and print where it is.
    #[arg(long)]
    keep: bool,
    /// Skip the rows before the disk-budget playthrough.
    #[arg(long)]
    only_cache: bool,
}

pub fn compare(args: &CompareArgs) {
    let tmp = tempfile::tempdir().unwrap();
    let (_cleanup, root) = if args.keep {
        let root = tmp.keep();
        println!("working directory (kept): {}", root.display());
        (None, root)
    } else {
        let root = tmp.path().to_path_buf();
        (Some(tmp), root)
    };
    let swarm = Swarm::start(&root, args);
    println!(
        "swarm: {} MiB episode in a 3-file torrent, 1 MiB pieces, 3 aria2c seeders at {} MiB/s in total, link {} Mbit/s\n",
        args.size_mb, args.seed_mib_s, args.link_mbit
    );
    let mut results = Vec::new();
    for name in &args.systems {
        let dir = root.join(format!("client-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let r = run_system(name, &dir, &swarm, args);
        print_one(name, &r);
        results.push((name.clone(), r));
    }
    print_table(&results);
}

// ---------------------------------------------------------------------- the swarm

struct Swarm {
    magnet: String,
    /// librqbit's file index of episode 1 and 2 (the order inside the torrent).
    ep1: usize,
    ep2: usize,
    /// The episodes' bytes: every range read is checked against them.
    ep1_data: Arc<Vec<u8>>,
    ep2_data: Arc<Vec<u8>>,
    children: Vec<Child>,
}

impl Swarm {
    fn start(dir: &Path, args: &CompareArgs) -> Swarm {
        teardown();
        sh(&format!("ip netns add {NS}"));
        sh(&format!(
            "ip link add {HOST_IF} type veth peer name {SWARM_IF} && ip link set {SWARM_IF} netns {NS}"
        ));
        sh(&format!(
            "ip addr add {HOST_IP}/24 dev {HOST_IF} && ip link set {HOST_IF} up"
        ));
        ns(&format!(
            "ip addr add {SWARM_IP}/24 dev {SWARM_IF} && ip link set {SWARM_IF} up && ip link set lo up"
        ));
        // Shape what leaves the swarm: that is the download direction of every client.
        ns(&format!(
            "tc qdisc add dev {SWARM_IF} root tbf rate {}mbit burst 64kb latency 100ms",
            args.link_mbit
        ));

        let content = dir.join("content").join("Bench.Show.S01");
        std::fs::create_dir_all(&content).unwrap();
        let ep1_data = Arc::new(pattern((args.size_mb * MIB) as usize, 1));
        let ep2_data = Arc::new(pattern((64 * MIB) as usize, 2));
        std::fs::write(content.join("Bench.Show.S01E01.mkv"), ep1_data.as_slice()).unwrap();
        std::fs::write(content.join("Bench.Show.S01E02.mkv"), ep2_data.as_slice()).unwrap();
        std::fs::write(content.join("Bench.Show.S01.nfo"), b"benchmark release").unwrap();
        let tracker = format!("http://{SWARM_IP}:{TRACKER_PORT}/announce");
        let (info_hash, torrent, files) = make_torrent(&content, &tracker);
        let torrent_path = dir.join("bench.torrent");
        std::fs::write(&torrent_path, &torrent).unwrap();
        let index = |name: &str| files.iter().position(|f| f.ends_with(name)).unwrap();

        // Debian's opentracker serves whitelisted torrents only; the list's path is
        // relative to its chroot (-d).
        let tracker_dir = dir.join("tracker");
        std::fs::create_dir_all(&tracker_dir).unwrap();
        std::fs::write(tracker_dir.join("whitelist.txt"), format!("{info_hash}\n")).unwrap();
        sh(&format!("chmod 755 {}", tracker_dir.display()));
        let mut children = vec![ns_spawn(&format!(
            "exec opentracker -i {SWARM_IP} -p {TRACKER_PORT} -P {TRACKER_PORT} -d {} -u nobody -w whitelist.txt",
            tracker_dir.display()
        ))];
        let per_seeder_kib = args.seed_mib_s * 1024 / 3;
        for i in 0..3 {
            // Each seeder has its own (hard-linked) copy: aria2c keeps per-download state.
            let seed_dir = dir.join(format!("seed{i}"));
            std::fs::create_dir_all(&seed_dir).unwrap();
            sh(&format!(
                "cp -al {} {}/",
                content.display(),
                seed_dir.display()
            ));
            children.push(ns_spawn(&format!(
                "exec aria2c --dir={} --listen-port={} --dht-listen-port={} --enable-dht=false \
                 --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false \
                 --disable-ipv6=true --seed-ratio=0.0 --check-integrity=true \
                 --bt-seed-unverified=false --max-upload-limit={per_seeder_kib}K \
                 --file-allocation=none --summary-interval=0 --console-log-level=warn \
                 --enable-rpc=false --quiet=true {}",
                seed_dir.display(),
                6881 + i,
                6991 + i,
                torrent_path.display()
            )));
        }
        // Let the seeders check their data and announce.
        std::thread::sleep(Duration::from_secs(3 + args.size_mb / 200));
        Swarm {
            magnet: format!(
                "magnet:?xt=urn:btih:{info_hash}&dn=Bench.Show.S01&tr={}",
                percent_encoding::utf8_percent_encode(&tracker, percent_encoding::NON_ALPHANUMERIC)
            ),
            ep1: index("Bench.Show.S01E01.mkv"),
            ep2: index("Bench.Show.S01E02.mkv"),
            ep1_data,
            ep2_data,
            children,
        }
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        teardown();
    }
}

/// Removes what a previous run may have left (quietly: usually there is nothing).
fn teardown() {
    let _ = Command::new("ip")
        .args(["netns", "pids", NS])
        .output()
        .map(|o| {
            for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                let _ = Command::new("kill").arg("-9").arg(pid).status();
            }
        });
    for args in [["link", "del", HOST_IF], ["netns", "del", NS]] {
        let _ = Command::new("ip").args(args).stderr(Stdio::null()).status();
    }
}

/// (info hash, .torrent bytes, file paths in torrent order).
fn make_torrent(dir: &Path, tracker: &str) -> (String, Vec<u8>, Vec<String>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let spawner = librqbit::spawn_utils::BlockingSpawner::new(2);
        let created = librqbit::create_torrent(
            dir,
            librqbit::CreateTorrentOptions {
                name: None,
                trackers: vec![tracker.to_string()],
                piece_length: Some(MIB as u32),
            },
            &spawner,
        )
        .await
        .expect("create torrent");
        let files = created
            .as_info()
            .info
            .data
            .clone()
            .validate()
            .expect("valid torrent")
            .iter_file_details()
            .map(|f| f.filename.to_vec().join("/"))
            .collect();
        (
            created.info_hash().as_string(),
            created.as_bytes().unwrap().to_vec(),
            files,
        )
    })
}

fn sh(cmd: &str) {
    let ok = Command::new("sh").arg("-c").arg(cmd).status().unwrap();
    assert!(ok.success(), "failed: {cmd}");
}

fn ns(cmd: &str) {
    sh(&format!("ip netns exec {NS} sh -c '{cmd}'"));
}

fn ns_spawn(cmd: &str) -> Child {
    Command::new("ip")
        .args(["netns", "exec", NS, "sh", "-c", cmd])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn in the namespace")
}

/// Bytes that came over the shaped link so far.
fn link_bytes() -> u64 {
    std::fs::read_to_string(format!("/sys/class/net/{HOST_IF}/statistics/rx_bytes"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Allocated bytes under `dir`.
fn disk_use(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                total += meta.blocks() * 512;
            }
        }
    }
    total
}

// ---------------------------------------------------------------------- the systems

/// One system under test: how to add the torrent and where each episode is served.
struct Client {
    /// Keeps momod running.
    _daemon: Option<Daemon>,
    /// rqbit or webtorrent.
    child: Option<Child>,
    ep1_url: String,
    ep2_url: String,
    /// Where its downloaded data lives, for the cache row.
    data: PathBuf,
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts `name` fresh in `dir` and adds the torrent; returns it with how long the add took
/// (for momod the assignment, which includes the metadata fetch).
fn start_client(
    name: &str,
    dir: &Path,
    swarm: &Swarm,
    args: &CompareArgs,
    cache_mb: u64,
) -> (Client, Duration) {
    let tools = std::fs::canonicalize(&args.tools)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/bench-deps)", args.tools.display()));
    match name {
        "momod" => {
            let mut config = DaemonConfig::new()
                .env("MOMO_TORRENT_TRACKERS", "true")
                .env("MOMO_TORRENT_METADATA_TIMEOUT_S", "60")
                .env("MOMO_TORRENT_READ_TIMEOUT_S", "60")
                .env("MOMO_TORRENT_CACHE_MAX_MB", cache_mb.to_string())
                .env("RUST_LOG", "warn");
            for kv in &args.momod_env {
                let (k, v) = kv.split_once('=').expect("--momod-env MOMO_KEY=value");
                config = config.env(k, v);
            }
            let d = Daemon::start_in(&dir.join("data"), config);
            let show = d.ctl_json(&["show", "add", "--title", "Bench Show", "--episodes", "1:2"]);
            let show_id = show["id"].to_string();
            let t = Instant::now();
            let pack = d.ctl_json(&["assign", "season", &show_id, "1", &swarm.magnet]);
            let took = t.elapsed();
            let base = format!("http://{}", d.webdav_addr());
            let path = |n: usize| {
                format!(
                    "{base}{}",
                    url_path(
                        pack["matched"][n]["share_path"]
                            .as_str()
                            .expect("both episodes matched")
                    )
                )
            };
            let client = Client {
                ep1_url: path(0),
                ep2_url: path(1),
                data: dir.join("data").join("torrents"),
                _daemon: Some(d),
                child: None,
            };
            (client, took)
        }
        "rqbit" => {
            let port = momo_tests::swarm::free_port();
            let bin = tools.join("bin/rqbit");
            let data = dir.join("downloads");
            std::fs::create_dir_all(&data).unwrap();
            let child = Command::new(&bin)
                .args(rqbit_server_args(port, &data))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("{}: {e} (run scripts/bench-deps)", bin.display()));
            let api = format!("http://127.0.0.1:{port}");
            wait_http(&api);
            let t = Instant::now();
            let id = rqbit_add(&api, &swarm.magnet);
            let took = t.elapsed();
            let client = Client {
                ep1_url: format!("{api}/torrents/{id}/stream/{}", swarm.ep1),
                ep2_url: format!("{api}/torrents/{id}/stream/{}", swarm.ep2),
                data,
                _daemon: None,
                child: Some(child),
            };
            (client, took)
        }
        "webtorrent" => {
            let port = momo_tests::swarm::free_port();
            let lib =
                tools.join("npm/lib/node_modules/webtorrent-cli/node_modules/webtorrent/index.js");
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/webtorrent-stream.mjs");
            let data = dir.join("downloads");
            std::fs::create_dir_all(&data).unwrap();
            let t = Instant::now();
            let mut child = Command::new("node")
                .arg(&script)
                .args([
                    swarm.magnet.clone(),
                    port.to_string(),
                    data.display().to_string(),
                ])
                .env("WEBTORRENT_MODULE", &lib)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("node (run scripts/bench-deps)");
            // Adding is starting it: it prints its files once the metadata is in.
            let mut line = String::new();
            std::io::BufRead::read_line(
                &mut std::io::BufReader::new(child.stdout.take().unwrap()),
                &mut line,
            )
            .unwrap();
            let took = t.elapsed();
            let ready: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| {
                panic!("webtorrent did not start: {line:?} (run scripts/bench-deps)")
            });
            let url = |i: usize| ready["files"][i]["url"].as_str().unwrap().to_string();
            let (ep1_url, ep2_url) = (url(swarm.ep1), url(swarm.ep2));
            let client = Client {
                ep1_url,
                ep2_url,
                data,
                _daemon: None,
                child: Some(child),
            };
            (client, took)
        }
        other => panic!("unknown system {other} (momod, rqbit, webtorrent)"),
    }
}

/// rqbit as a server: no DHT, local discovery or UPnP, IPv4, TCP only (uTP listens only
/// when asked), no persistence; peers from the tracker, like the others.
fn rqbit_server_args(port: u16, data: &Path) -> Vec<String> {
    let peer_port = momo_tests::swarm::free_port().to_string();
    [
        "-v",
        "warn",
        "--disable-dht",
        "--disable-dht-persistence",
        "--disable-lsd",
        "--disable-upnp-port-forward",
        "--ipv4-only",
        "--listen-port",
        &peer_port,
        "--http-api-listen-addr",
        &format!("127.0.0.1:{port}"),
        "server",
        "start",
        "--disable-persistence",
        &data.display().to_string(),
    ]
    .map(String::from)
    .to_vec()
}

/// POST /torrents with the magnet: the id of the added torrent.
fn rqbit_add(api: &str, magnet: &str) -> u64 {
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "120",
            "-X",
            "POST",
            "--data-binary",
            magnet,
        ])
        .arg(format!("{api}/torrents?overwrite=true"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("rqbit add: {}", String::from_utf8_lossy(&out.stdout)));
    v["id"].as_u64().unwrap_or_else(|| panic!("rqbit add: {v}"))
}

/// Waits until `url` answers 2xx, for up to 2 minutes.
fn wait_http(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let out = Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-r",
                "0-0",
                "-w",
                "%{http_code}",
                "--max-time",
                "5",
                url,
            ])
            .output()
            .unwrap();
        let code = String::from_utf8_lossy(&out.stdout);
        if code.starts_with('2') {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{url} never answered");
}

// ---------------------------------------------------------------------- measures

#[derive(Default)]
struct Result {
    add: Duration,
    cold_first_byte: Duration,
    warm: Duration,
    probe: Duration,
    seek_p50: Duration,
    seek_p95: Duration,
    /// Bytes over the link in the 3 s after each seek's 64 KiB (median), beyond it.
    past_seek: u64,
    startup: Duration,
    stalls: usize,
    stall_time: Duration,
    /// Time to play again after each jump (worst).
    rebuffer: Duration,
    sequential_mib_s: f64,
    next_episode: Duration,
    cache_peak: u64,
    cache_budget: u64,
    /// Everything that came over the link while the system ran.
    link_total: u64,
}

fn run_system(name: &str, dir: &Path, swarm: &Swarm, args: &CompareArgs) -> Result {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let mut r = Result::default();
    let ep1 = swarm.ep1_data.as_slice();
    let len = ep1.len() as u64;
    let link_before = link_bytes();
    if !args.only_cache {
        let (client, add) = start_client(name, &dir.join("main"), swarm, args, 0);
        r.add = add;
        let url = &client.ep1_url;
        r.cold_first_byte = rt.block_on(ranged(&http, url, 0, 64 * 1024, ep1)).0;
        let mut warm: Vec<Duration> = (0..5)
            .map(|_| rt.block_on(ranged(&http, url, 0, 64 * 1024, ep1)).0)
            .collect();
        r.warm = percentile(&mut warm, 0.5);
        r.probe = rt.block_on(probe(&http, url, ep1));
        // Seeks: 8 places from 15 % to 95 %, 64 KiB each, the reader gone after each.
        let mut seeks = Vec::new();
        let mut past = Vec::new();
        for i in 0..8u64 {
            let at = len * (15 + i * 80 / 7) / 100 / MIB * MIB + 12_345;
            let (first, _) = rt.block_on(ranged(&http, url, at, 64 * 1024, ep1));
            seeks.push(first);
            let before = link_bytes();
            std::thread::sleep(Duration::from_secs(3));
            past.push(link_bytes().saturating_sub(before));
        }
        r.seek_p50 = percentile(&mut seeks, 0.5);
        r.seek_p95 = percentile(&mut seeks, 0.95);
        past.sort();
        r.past_seek = past[past.len() / 2];
        let p = rt.block_on(playback(&http, url, len));
        (r.startup, r.stalls, r.stall_time, r.rebuffer) = p;
        // Next episode: episode 1 read from 70 % to its end, then the first byte of 2.
        rt.block_on(ranged(
            &http,
            url,
            len * 70 / 100,
            len - len * 70 / 100,
            ep1,
        ));
        std::thread::sleep(Duration::from_secs(2));
        r.next_episode = rt
            .block_on(ranged(
                &http,
                &client.ep2_url,
                0,
                64 * 1024,
                &swarm.ep2_data,
            ))
            .0;
    }
    if !args.only_cache {
        // Sequential: a fresh start, 200 MB from the first byte on, none of it on disk.
        let (client, _) = start_client(name, &dir.join("sequential"), swarm, args, 0);
        let n = (200 * MIB).min(len);
        rt.block_on(ranged(&http, &client.ep1_url, 0, 64 * 1024, ep1));
        let (_, took) = rt.block_on(ranged(&http, &client.ep1_url, 64 * 1024, n, ep1));
        r.sequential_mib_s = n as f64 / MIB as f64 / took.as_secs_f64();
    }
    {
        // A fresh start (for momod with a disk budget): a playthrough of three times the
        // budget from the start; the peak of what is on disk meanwhile.
        let budget = args.cache_mb * MIB;
        let (client, _) = start_client(name, &dir.join("cache"), swarm, args, args.cache_mb);
        let n = (3 * budget).min(len);
        let data = client.data.clone();
        let url = client.ep1_url.clone();
        let reading = rt.spawn({
            let (http, bytes) = (http.clone(), swarm.ep1_data.clone());
            async move { ranged(&http, &url, 0, n, &bytes).await }
        });
        let mut peak = 0;
        while !reading.is_finished() {
            peak = peak.max(disk_use(&data));
            std::thread::sleep(Duration::from_millis(200));
        }
        rt.block_on(reading).expect("the playthrough");
        r.cache_peak = peak;
        r.cache_budget = if name == "momod" { budget } else { 0 };
    }
    r.link_total = link_bytes().saturating_sub(link_before);
    r
}

/// (first body byte, whole range) of a ranged GET that must return exactly bytes
/// `start..start + len` of `data`.
async fn ranged(
    http: &reqwest::Client,
    url: &str,
    start: u64,
    len: u64,
    data: &[u8],
) -> (Duration, Duration) {
    let t = Instant::now();
    let mut resp = http
        .get(url)
        .header("Range", format!("bytes={start}-{}", start + len - 1))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(resp.status().as_u16(), 206, "{url} at {start}");
    let mut first = None;
    let mut got = 0u64;
    while let Some(chunk) = resp.chunk().await.expect("body") {
        first.get_or_insert_with(|| t.elapsed());
        let at = (start + got) as usize;
        assert!(
            data.get(at..at + chunk.len()) == Some(&chunk[..]),
            "{url}: wrong bytes at {at}"
        );
        got += chunk.len() as u64;
    }
    assert_eq!(got, len, "{url} at {start}");
    (first.unwrap_or_default(), t.elapsed())
}

/// A player's open: HEAD, the first 64 KiB, the last 1 MiB, then 4 MiB from the start.
async fn probe(http: &reqwest::Client, url: &str, data: &[u8]) -> Duration {
    let len = data.len() as u64;
    let t = Instant::now();
    let head = http.head(url).send().await.expect("HEAD");
    assert!(head.status().is_success(), "HEAD {url}: {}", head.status());
    ranged(http, url, 0, 64 * 1024, data).await;
    ranged(http, url, len - MIB, MIB, data).await;
    ranged(http, url, 0, 4 * MIB, data).await;
    t.elapsed()
}

/// A player at 8 Mbit/s: plays from 0 for 60 s, jumping to 50 % at 20 s and to 80 % at
/// 40 s; it starts (and restarts after a jump or a stall) once 2 s are buffered and keeps
/// at most 10 s buffered. (startup, stalls, total stall time, worst time to play after a
/// jump).
async fn playback(
    http: &reqwest::Client,
    url: &str,
    len: u64,
) -> (Duration, usize, Duration, Duration) {
    let start_buffer = 2.0 * BITRATE;
    let max_buffer = 10.0 * BITRATE;
    let tick = Duration::from_millis(20);
    let jumps = [(20.0, len / 2), (40.0, len * 8 / 10)];
    let mut played_s = 0.0;
    let mut startup = Duration::ZERO;
    let mut stalls = 0;
    let mut stall_time = Duration::ZERO;
    let mut rebuffer = Duration::ZERO;
    let mut jump = 0;
    let mut offset = 0u64;
    'segments: loop {
        let resp = http
            .get(url)
            .header("Range", format!("bytes={offset}-"))
            .send()
            .await
            .expect("GET");
        let mut body = resp;
        let mut buffer = 0.0f64;
        let waiting_since = Instant::now();
        let mut playing = false;
        let mut stalled_since: Option<Instant> = None;
        let mut last = Instant::now();
        loop {
            // Read when there is room, else just let time pass.
            if buffer < max_buffer {
                match tokio::time::timeout(tick, body.chunk()).await {
                    Ok(Ok(Some(c))) => buffer += c.len() as f64,
                    Ok(_) => break 'segments,
                    Err(_) => {}
                }
            } else {
                tokio::time::sleep(tick).await;
            }
            let now = Instant::now();
            let dt = now.duration_since(last).as_secs_f64();
            last = now;
            if !playing {
                if buffer >= start_buffer {
                    playing = true;
                    if let Some(since) = stalled_since.take() {
                        stall_time += since.elapsed();
                    } else if played_s == 0.0 {
                        startup = waiting_since.elapsed();
                    } else {
                        rebuffer = rebuffer.max(waiting_since.elapsed());
                    }
                }
                continue;
            }
            let need = BITRATE * dt;
            if buffer >= need {
                buffer -= need;
                played_s += dt;
            } else {
                played_s += buffer / BITRATE;
                buffer = 0.0;
                playing = false;
                stalls += 1;
                stalled_since = Some(now);
            }
            if jump < jumps.len() && played_s >= jumps[jump].0 {
                offset = jumps[jump].1;
                jump += 1;
                continue 'segments;
            }
            if played_s >= 60.0 {
                break 'segments;
            }
        }
    }
    (startup, stalls, stall_time, rebuffer)
}

fn percentile(v: &mut [Duration], q: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1]
}

// ---------------------------------------------------------------------- report

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

fn mib(b: u64) -> String {
    format!("{:.1}", b as f64 / MIB as f64)
}

fn print_one(name: &str, r: &Result) {
    println!(
        "{name}: add {} ms, first byte {} ms, seek p50 {} ms, {} MiB over the link in all",
        ms(r.add),
        ms(r.cold_first_byte),
        ms(r.seek_p50),
        mib(r.link_total)
    );
}

fn print_table(results: &[(String, Result)]) {
    type Row = (&'static str, fn(&Result) -> String);
    let rows: [Row; 12] = [
        ("cold: add (ms)", |r| ms(r.add)),
        ("cold: then first byte (ms)", |r| ms(r.cold_first_byte)),
        ("warm TTFB (ms)", |r| ms(r.warm)),
        ("probe: HEAD, 64K, last 1M, 4M (ms)", |r| ms(r.probe)),
        ("seek 64 KiB p50 / p95 (ms)", |r| {
            format!("{} / {}", ms(r.seek_p50), ms(r.seek_p95))
        }),
        ("fetched in 3 s after a seek (MiB, median)", |r| {
            mib(r.past_seek.saturating_sub(64 * 1024))
        }),
        ("playback startup (ms)", |r| ms(r.startup)),
        ("playback stalls / stall time (ms)", |r| {
            format!("{} / {}", r.stalls, ms(r.stall_time))
        }),
        ("playback: play again after a jump, worst (ms)", |r| {
            ms(r.rebuffer)
        }),
        ("sequential 200 MB, fresh start (MiB/s)", |r| {
            format!("{:.1}", r.sequential_mib_s)
        }),
        ("next episode TTFB (ms)", |r| ms(r.next_episode)),
        ("cache: peak disk / budget (MiB)", |r| {
            if r.cache_budget == 0 {
                format!("{} / none", mib(r.cache_peak))
            } else {
                format!("{} / {}", mib(r.cache_peak), mib(r.cache_budget))
            }
        }),
    ];
    print!("\n{:<46}", "measure");
    for (name, _) in results {
        print!(" {name:>16}");
    }
    println!();
    for (label, f) in rows {
        print!("{label:<46}");
        for (_, r) in results {
            print!(" {:>16}", f(r));
        }
        println!();
    }
    // Ratios against rqbit where both ran: below 1 is momod faster (times) or smaller.
    let find = |n: &str| results.iter().find(|(name, _)| name == n).map(|(_, r)| r);
    if let (Some(m), Some(q)) = (find("momod"), find("rqbit")) {
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-6);
        println!("\nmomod / rqbit:");
        println!(
            "  cold add + first byte {:.2}, seek p50 {:.2}, probe {:.2}, sequential {:.2}",
            ratio(m.add + m.cold_first_byte, q.add + q.cold_first_byte),
            ratio(m.seek_p50, q.seek_p50),
            ratio(m.probe, q.probe),
            m.sequential_mib_s / q.sequential_mib_s.max(1e-6)
        );
    }
}
