//! What the audio of two episodes has in common, from their chromaprint fingerprints.
//!
//! A fingerprint is one 32-bit point per `POINT_S` of audio; two points are alike when
//! they differ in at most `ALIKE_BITS` bits. To line two prints up, the points of one that
//! equal a point of the other (within ±`VALUE_SHIFT` in value) vote for the shift between
//! them; at each of the most voted shifts the aligned points are compared, and the longest
//! run of alike points with gaps of at most `MAX_GAP_S` is what the two share. The method and
//! its numbers are those of Jellyfin's intro-skipper plugin, which does this for local
//! libraries; `consensus` (a vote over all the pairs an episode is in) is ours. `compare`
//! does it for a season.
use std::collections::HashMap;

/// Seconds of audio per fingerprint point (chromaprint's default: frames of 4096 samples
/// at 11025 Hz, a third of a frame apart).
pub const POINT_S: f64 = 0.1238;
/// Points differing in at most this many of their 32 bits sound alike.
const ALIKE_BITS: u32 = 6;
/// Gaps of unlike points a shared segment may have (a sound effect over the theme).
const MAX_GAP_S: f64 = 3.5;
/// Index lookups also try values this close: noise flips the lowest bits.
const VALUE_SHIFT: i32 = 2;
/// Shifts compared point by point, the most voted first; the right one has by far the
/// most votes, and this bounds the work on long prints.
const SHIFTS_TRIED: usize = 64;
/// Positions kept per point value in the index: silence repeats one value thousands of
/// times, and each copy would vote.
const POSITIONS_PER_VALUE: usize = 8;
/// A point at an edge of a run further than this from the next is a chance likeness
/// beside the shared audio, not part of it.
const EDGE_GAP_S: f64 = 0.5;
/// A point sums up the audio from its time to a little after, and is alike while most of
/// that is shared: the first alike point starts about `POINT_LEAD_S` before the shared
/// audio, the last about `POINT_SPAN_S` before its end. Measured on synthetic themes at
/// several offsets (uncorrected, starts came 0.3–1.2 s early and ends 1.1–1.8 s early).
const POINT_LEAD_S: f64 = 0.5;
const POINT_SPAN_S: f64 = 1.3;

/// Intros last this long (intro-skipper's bounds: shorter is a jingle, longer is not an
/// intro)...
const INTRO_MIN_S: f64 = 15.0;
const INTRO_MAX_S: f64 = 120.0;
/// ...and credits at least this long.
const CREDITS_MIN_S: f64 = 15.0;
/// Credits ending this close to the end run to it (the last points are lost to the
/// fingerprint's window).
const CREDITS_TO_END_S: f64 = 5.0;
/// An intro starting this early starts the episode.
const STARTS_AT_ONCE_S: f64 = 1.0;
/// Each episode is compared with this many neighbours on each side at most: a season of
/// hundreds of episodes stays a bounded job.
const NEIGHBOURS: usize = 10;

/// One episode's fingerprints: of its first seconds (`head`), and of its last from
/// `tail_start`.
#[derive(Debug)]
pub struct Prints {
    pub duration: f64,
    pub head: Vec<u32>,
    pub tail: Vec<u32>,
    pub tail_start: f64,
}

/// What a season's comparison found for one episode: times in seconds from its start,
/// and the share of the episodes it was compared with that agree.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Detection {
    pub intro: Option<(f64, f64)>,
    pub credits: Option<(f64, f64)>,
    pub confidence: f64,
}

/// Compares a season's episodes: what each shares with the others. A segment counts when
/// the episodes sharing it agree where it is (`consensus`), and when two of them do once an
/// episode was compared with three or more: one chance likeness among many pairs is not an
/// intro (Kodi would skip real content).
pub fn compare(season: &[&Prints]) -> Vec<Detection> {
    let n = season.len();
    let mut intros = vec![Vec::new(); n];
    let mut endings = vec![Vec::new(); n];
    let mut compared = vec![0usize; n];
    for i in 0..n {
        for j in (i + 1)..n.min(i + 1 + NEIGHBOURS) {
            compared[i] += 1;
            compared[j] += 1;
            let (a, b) = (season[i], season[j]);
            if let Some((x, y)) = shared(&a.head, &b.head, INTRO_MIN_S, INTRO_MAX_S) {
                intros[i].push(x);
                intros[j].push(y);
            }
            let longest = a.duration.min(b.duration);
            if let Some((x, y)) = shared(&a.tail, &b.tail, CREDITS_MIN_S, longest) {
                endings[i].push(x);
                endings[j].push(y);
            }
        }
    }
    (0..n)
        .map(|i| {
            let needed = if compared[i] >= 3 { 2 } else { 1 };
            let intro = agreed(&intros[i], INTRO_MIN_S, needed);
            let credits = agreed(&endings[i], CREDITS_MIN_S, needed);
            let e = season[i];
            // The share of the compared episodes that agree on its intro (or, lacking one,
            // its credits).
            let agreeing = intro.or(credits).map(|(_, k)| k).unwrap_or(0);
            Detection {
                intro: intro.map(|(s, _)| {
                    let start = if s.start < STARTS_AT_ONCE_S {
                        0.0
                    } else {
                        s.start
                    };
                    (start, s.end.min(e.duration))
                }),
                credits: credits.map(|(s, _)| {
                    let end = (e.tail_start + s.end).min(e.duration);
                    let end = if e.duration - end < CREDITS_TO_END_S {
                        e.duration
                    } else {
                        end
                    };
                    (e.tail_start + s.start, end)
                }),
                confidence: if compared[i] == 0 {
                    0.0
                } else {
                    (agreeing as f64 / compared[i] as f64 * 100.0).round() / 100.0
                },
            }
        })
        .collect()
}

/// The consensus of `spans` and how many of them overlap it, if at least `needed` do.
fn agreed(spans: &[Span], min_s: f64, needed: usize) -> Option<(Span, usize)> {
    let c = consensus(spans, min_s)?;
    let agreeing = spans
        .iter()
        .filter(|s| s.start < c.end && c.start < s.end)
        .count();
    (agreeing >= needed).then_some((c, agreeing))
}

/// A stretch of a scanned window, in seconds from the window's start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub start: f64,
    pub end: f64,
}

impl Span {
    pub fn len(&self) -> f64 {
        self.end - self.start
    }
}

/// The longest stretch of audio `a` and `b` share that lasts `min_s` to `max_s`: where it
/// lies in `a`, and where in `b`.
pub fn shared(a: &[u32], b: &[u32], min_s: f64, max_s: f64) -> Option<(Span, Span)> {
    let mut index: HashMap<u32, Vec<usize>> = HashMap::new();
    for (j, &p) in b.iter().enumerate() {
        let at = index.entry(p).or_default();
        if at.len() < POSITIONS_PER_VALUE {
            at.push(j);
        }
    }
    let mut votes: HashMap<isize, u32> = HashMap::new();
    for (i, &p) in a.iter().enumerate() {
        for d in -VALUE_SHIFT..=VALUE_SHIFT {
            for &j in index.get(&p.wrapping_add_signed(d)).into_iter().flatten() {
                *votes.entry(j as isize - i as isize).or_default() += 1;
            }
        }
    }
    let mut shifts: Vec<(isize, u32)> = votes.into_iter().collect();
    shifts.sort_by_key(|&(shift, n)| (std::cmp::Reverse(n), shift));
    shifts.truncate(SHIFTS_TRIED);
    let mut best: Option<(Span, Span)> = None;
    for (shift, _) in shifts {
        let alike: Vec<usize> = (0..a.len())
            .filter(|&i| {
                let j = i as isize + shift;
                j >= 0
                    && (j as usize) < b.len()
                    && (a[i] ^ b[j as usize]).count_ones() <= ALIKE_BITS
            })
            .collect();
        let Some((first, last)) = longest_run(&alike) else {
            continue;
        };
        let in_a = Span {
            start: first as f64 * POINT_S + POINT_LEAD_S,
            end: last as f64 * POINT_S + POINT_SPAN_S,
        };
        if in_a.len() < min_s || in_a.len() > max_s {
            continue;
        }
        if best.is_none_or(|(s, _)| in_a.len() > s.len()) {
            let offset = shift as f64 * POINT_S;
            let in_b = Span {
                start: in_a.start + offset,
                end: in_a.end + offset,
            };
            best = Some((in_a, in_b));
        }
    }
    best
}

/// The first and last point of the longest run of `alike` positions (ascending) whose gaps
/// are at most `MAX_GAP_S`, its stray edge points dropped.
fn longest_run(alike: &[usize]) -> Option<(usize, usize)> {
    let max_gap = (MAX_GAP_S / POINT_S) as usize;
    let edge_gap = (EDGE_GAP_S / POINT_S) as usize;
    let mut best: Option<&[usize]> = None;
    let mut start = 0;
    for k in 1..=alike.len() {
        if k == alike.len() || alike[k] - alike[k - 1] > max_gap {
            let run = &alike[start..k];
            let len = |r: &[usize]| r[r.len() - 1] - r[0];
            if !run.is_empty() && best.is_none_or(|b| len(run) > len(b)) {
                best = Some(run);
            }
            start = k;
        }
    }
    let mut run = best?;
    while run.len() > 1 && run[1] - run[0] > edge_gap {
        run = &run[1..];
    }
    while run.len() > 1 && run[run.len() - 1] - run[run.len() - 2] > edge_gap {
        run = &run[..run.len() - 1];
    }
    Some((run[0], run[run.len() - 1]))
}

/// Where one episode's part of the season's shared audio lies, from the spans it shares
/// with each episode it shares any with: the longest stretch more than half of them
/// cover, if it lasts `min_s`. One pair can share a little more than the season does (a
/// chance likeness at an edge); the vote leaves that out.
pub fn consensus(spans: &[Span], min_s: f64) -> Option<Span> {
    let mut edges: Vec<(f64, i32)> = spans
        .iter()
        .flat_map(|s| [(s.start, 1), (s.end, -1)])
        .collect();
    // Ends before starts at the same time: touching spans do not overlap.
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let needed = spans.len() as i32 / 2 + 1;
    let (mut covering, mut from, mut best) = (0, None, None::<Span>);
    for (at, step) in edges {
        covering += step;
        match from {
            None if covering >= needed => from = Some(at),
            Some(start) if covering < needed => {
                let span = Span { start, end: at };
                if best.is_none_or(|b| span.len() > b.len()) {
                    best = Some(span);
                }
                from = None;
            }
            _ => {}
        }
    }
    best.filter(|b| b.len() >= min_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic stream of unrelated points.
    fn noise(seed: u32, n: usize) -> Vec<u32> {
        let mut x = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x
            })
            .collect()
    }

    fn seconds(points: usize) -> f64 {
        points as f64 * POINT_S
    }

    #[test]
    fn a_theme_at_two_offsets_is_found_in_both() {
        let theme = noise(7, 200);
        let mut a = noise(1, 100);
        a.extend(&theme);
        a.extend(noise(2, 300));
        let mut b = noise(3, 400);
        // A few bits of noise on every other point of the second copy: still alike.
        b.extend(
            theme
                .iter()
                .enumerate()
                .map(|(i, p)| if i % 2 == 0 { p ^ 0b1010_0000_0001 } else { *p }),
        );
        b.extend(noise(4, 100));
        let (in_a, in_b) = shared(&a, &b, 15.0, 120.0).expect("the theme");
        assert!(
            (in_a.start - seconds(100) - POINT_LEAD_S).abs() < 0.2,
            "{in_a:?}"
        );
        assert!(
            (in_b.start - seconds(400) - POINT_LEAD_S).abs() < 0.2,
            "{in_b:?}"
        );
        let len = seconds(199) + POINT_SPAN_S - POINT_LEAD_S;
        assert!((in_a.len() - len).abs() < 0.2, "{in_a:?}");
    }

    #[test]
    fn unrelated_audio_shares_nothing() {
        assert_eq!(shared(&noise(1, 2000), &noise(2, 2000), 15.0, 120.0), None);
    }

    #[test]
    fn segments_too_short_or_too_long_are_not_intros() {
        let theme = noise(7, 80); // ~10 s
        let mut a = noise(1, 100);
        a.extend(&theme);
        let mut b = theme.clone();
        b.extend(noise(2, 100));
        assert_eq!(shared(&a, &b, 15.0, 120.0), None);
        assert!(shared(&a, &b, 5.0, 120.0).is_some());
        assert_eq!(shared(&a, &b, 1.0, 5.0), None);
    }

    #[test]
    fn a_gap_in_the_theme_is_bridged_and_a_stray_match_is_not_kept() {
        let theme = noise(7, 200);
        let mut a = noise(1, 50);
        a.extend(&theme);
        a.extend(noise(2, 50));
        let mut b = noise(3, 50);
        let mut copy = theme.clone();
        // A sound effect over 2 s of the theme...
        for p in &mut copy[90..106] {
            *p = !*p;
        }
        b.extend(copy);
        // ...and one point alike by chance, 2 s after its end.
        b.extend(noise(4, 50));
        b[50 + 200 + 16] = a[50 + 200 + 16];
        let (in_a, _) = shared(&a, &b, 15.0, 120.0).expect("the theme");
        assert!(
            (in_a.start - seconds(50) - POINT_LEAD_S).abs() < 0.2,
            "{in_a:?}"
        );
        assert!(
            (in_a.end - (seconds(249) + POINT_SPAN_S)).abs() < 0.2,
            "{in_a:?}"
        );
    }

    fn prints(head: Vec<u32>) -> Prints {
        Prints {
            duration: 600.0,
            tail: Vec::new(),
            tail_start: 600.0,
            head,
        }
    }

    #[test]
    fn one_chance_likeness_among_many_pairs_is_not_an_intro() {
        let theme = noise(7, 200);
        let with = |seed| {
            let mut p = noise(seed, 100);
            p.extend(&theme);
            p.extend(noise(seed + 50, 100));
            prints(p)
        };
        // Episode 1 shares the theme with episode 2 only; 3 and 4 share nothing.
        let season = [
            with(1),
            with(2),
            prints(noise(3, 400)),
            prints(noise(4, 400)),
        ];
        let found = compare(&season.iter().collect::<Vec<_>>());
        assert_eq!(found[0].intro, None, "{found:?}");
        assert_eq!(found[2].intro, None);
        // With three of four sharing it, each has two partners that agree.
        let season = [with(1), with(2), with(3), prints(noise(4, 400))];
        let found = compare(&season.iter().collect::<Vec<_>>());
        let (start, end) = found[0].intro.expect("the theme");
        assert!(
            (start - seconds(100) - POINT_LEAD_S).abs() < 0.2,
            "{found:?}"
        );
        assert!((end - seconds(299) - POINT_SPAN_S).abs() < 0.2, "{found:?}");
        assert_eq!(found[0].confidence, 0.67);
        assert_eq!(found[3].intro, None);
    }

    #[test]
    fn the_vote_keeps_what_most_pairs_share() {
        let span = |start, end| Span { start, end };
        // Two partners: both must cover it.
        let two = [span(28.2, 56.0), span(29.3, 54.8)];
        assert_eq!(consensus(&two, 15.0), Some(span(29.3, 54.8)));
        // Three: two of them suffice.
        let three = [span(10.0, 40.0), span(11.0, 41.0), span(30.0, 70.0)];
        assert_eq!(consensus(&three, 15.0), Some(span(11.0, 41.0)));
        assert_eq!(consensus(&[span(0.0, 30.0)], 15.0), Some(span(0.0, 30.0)));
        assert_eq!(consensus(&[span(0.0, 10.0)], 15.0), None);
        assert_eq!(consensus(&[span(0.0, 20.0), span(30.0, 50.0)], 15.0), None);
        assert_eq!(consensus(&[], 15.0), None);
    }
}
