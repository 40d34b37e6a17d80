//! Skip markers set by hand with the real momod and momoctl, served as a Kodi EDL beside
//! the video over WebDAV.
use momo_tests::swarm::pattern;
use momo_tests::{Daemon, DaemonConfig, curl_get, stderr};
use tempfile::TempDir;

#[test]
fn markers_are_served_as_an_edl_beside_the_video() {
    let tmp = TempDir::new().unwrap();
    let video = tmp.path().join("e1.mkv");
    std::fs::write(&video, pattern(100_000, 4)).unwrap();
    let d = Daemon::start(
        DaemonConfig::new().env("MOMO_LIBRARY_LOCAL_ROOTS", tmp.path().display().to_string()),
    );
    let show = d.ctl_json(&["show", "add", "--title", "Home Videos", "--episodes", "1:2"]);
    let show_id = show["id"].to_string();
    let episode = show["seasons"][0]["episodes"][0]["id"].to_string();
    let a = d.ctl_json(&[
        "assign",
        "episode",
        &episode,
        "--local",
        video.to_str().unwrap(),
    ]);
    let share_path = a["share_path"].as_str().unwrap().to_string();
    let edl_path = format!("{}.edl", share_path.strip_suffix(".mkv").unwrap());
    let addr = d.webdav_addr();
    assert_eq!(
        curl_get(&addr, &edl_path, None, 10).0,
        404,
        "no markers, no EDL"
    );

    let m = d.ctl_json(&[
        "intro",
        "set",
        "episode",
        &episode,
        "--start",
        "0:45",
        "--end",
        "1:30",
        "--credits",
        "20:00-21:30",
    ]);
    assert_eq!(
        (m["intro_start_s"].as_f64(), m["intro_end_s"].as_f64()),
        (Some(45.0), Some(90.0))
    );
    assert_eq!(m["origin"], "manual");
    let (status, body, _) = curl_get(&addr, &edl_path, None, 10);
    assert_eq!(status, 200);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "45.000\t90.000\t3\n1200.000\t1290.000\t3\n"
    );
    let listed = d.ctl_json(&["intro", "ls", &show_id, "--season", "1"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["item_id"].to_string(), episode);

    // Bad input changes nothing.
    for (args, code, says) in [
        (
            vec![
                "intro", "set", "episode", &episode, "--start", "90", "--end", "45",
            ],
            1,
            "must end after",
        ),
        (
            vec![
                "intro", "set", "episode", "99999", "--start", "1", "--end", "2",
            ],
            1,
            "no episode",
        ),
        (
            vec!["intro", "set", "episode", &episode, "--start", "1"],
            2,
            "--end",
        ),
        (
            vec![
                "intro", "set", "episode", &episode, "--start", "1:75", "--end", "2:00",
            ],
            2,
            "not a time",
        ),
        (
            vec!["intro", "set", "episode", &episode],
            1,
            "give the intro",
        ),
    ] {
        let out = d.ctl(&args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(
        String::from_utf8(curl_get(&addr, &edl_path, None, 10).1).unwrap(),
        "45.000\t90.000\t3\n1200.000\t1290.000\t3\n"
    );

    d.ctl_json(&["intro", "rm", "episode", &episode]);
    assert_eq!(curl_get(&addr, &edl_path, None, 10).0, 404);
    let out = d.ctl(&["intro", "rm", "episode", &episode]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("has no markers"), "{}", stderr(&out));
}
