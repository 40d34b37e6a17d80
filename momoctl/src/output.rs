//! Printing results: human tables by default, one JSON document with `-o json`. Commands
//! build a shape from `json` and hand it to `emit` with the way to draw it for people; the
//! JSON side is always the shape itself.
use clap::ValueEnum;
use comfy_table::{Table, presets};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Prints `value`: as pretty JSON with `-o json`, else as `table` draws it.
pub fn emit<T: Serialize>(format: Format, value: &T, table: impl FnOnce(&T)) {
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(value).expect("serialisable output")
        ),
        Format::Table => table(value),
    }
}

/// Text from the daemon as a terminal may show it: control characters (ESC, BEL, C1…)
/// written as `\u{1b}` escapes, so a title cannot move the cursor, retitle the window or
/// hide a link. JSON output stays exact; this is for tables and messages.
pub fn shown(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A table with a header row, no borders, aligned like `kubectl get`; cells are `shown`.
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Table {
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    t.set_header(header.to_vec());
    for row in rows {
        t.add_row(row.iter().map(|cell| shown(cell)).collect::<Vec<_>>());
    }
    t
}

/// Key/value lines for a single object.
pub fn fields(rows: &[(&str, String)]) {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        println!("{k:width$}  {}", shown(v));
    }
}

/// `Some(1999)` → "1999", `None` → "-" (text `shown`).
pub fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| shown(&v.to_string()))
        .unwrap_or_else(|| "-".into())
}

/// "yes" or "-".
pub fn yes(b: bool) -> String {
    if b { "yes".into() } else { "-".into() }
}

/// "Fight Club (1999)", or just the title without a year.
pub fn title_year(title: &str, year: Option<i32>) -> String {
    let title = shown(title);
    match year {
        Some(y) => format!("{title} ({y})"),
        None => title,
    }
}

/// " [tmdb 550]", or nothing without a TMDB id.
pub fn tmdb_tag(tmdb_id: Option<i64>) -> String {
    tmdb_id.map(|t| format!(" [tmdb {t}]")).unwrap_or_default()
}

/// 1536 → "1.5 KiB".
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Says on stderr what we are waiting for, for people only.
pub fn waiting(format: Format, what: &str) {
    use std::io::IsTerminal;
    if format == Format::Table && std::io::stderr().is_terminal() {
        eprintln!("{what}…");
    }
}

/// Unix seconds as "2026-12-01 14:03:07 UTC".
pub fn when(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn when_reads_as_a_utc_date() {
        assert_eq!(super::when(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::when(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(super::when(1_795_000_000), "2026-11-18 11:06:40 UTC");
    }
}
