//! PROPFIND, answered straight from the share's tree.
//!
//! dav-server's generic PROPFIND parses every extra property back through an XML reader
//! and allocates per property; with 10,000 entries in `/Movies` that was ~250 ms a listing.
//! Library scans (Infuse, Plex, Kodi) list folders constantly, so this writes the
//! multistatus directly. Unknown properties are left out (as dav-server does), since some
//! clients drop a whole response that carries a 404 propstat.
use std::fmt::Write;
use std::time::UNIX_EPOCH;

use crate::vfs::{Node, Tree};

/// What the client asked for in the PROPFIND body.
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    AllProp,
    PropName,
    /// Local names of the requested `DAV:` properties; others are unknown to us.
    Props(Vec<String>),
}

/// Properties we have, in output order.
const PROPS: &[&str] = &[
    "displayname",
    "resourcetype",
    "getcontentlength",
    "getcontenttype",
    "getlastmodified",
    "getetag",
    // Not in RFC 4918; Infuse tells folders from files by it (nzbdav PR #271).
    "iscollection",
];

/// Parses a PROPFIND body; an empty body means allprop (RFC 4918 9.1).
pub fn parse(body: &[u8]) -> Result<Wanted, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Wanted::AllProp);
    }
    let text = std::str::from_utf8(body).map_err(|_| "PROPFIND body is not UTF-8".to_string())?;
    let doc =
        roxmltree::Document::parse(text).map_err(|e| format!("PROPFIND body is not XML: {e}"))?;
    let root = doc.root_element();
    if !root.has_tag_name(("DAV:", "propfind")) {
        return Err("PROPFIND body must be a DAV: propfind element".into());
    }
    for child in root.children().filter(|n| n.is_element()) {
        if child.has_tag_name(("DAV:", "allprop")) {
            return Ok(Wanted::AllProp);
        }
        if child.has_tag_name(("DAV:", "propname")) {
            return Ok(Wanted::PropName);
        }
        if child.has_tag_name(("DAV:", "prop")) {
            let names = child
                .children()
                .filter(|n| n.is_element() && n.tag_name().namespace() == Some("DAV:"))
                .map(|n| n.tag_name().name().to_string())
                .collect();
            return Ok(Wanted::Props(names));
        }
    }
    Err("PROPFIND body has no allprop, propname or prop".into())
}

/// The multistatus document for `node` (and its children when `depth1`), or None if the
/// path is not in the tree. `path` is the decoded request path.
/// The 207 body for `path` (and its children with `depth1`); None when there is no such
/// node. Files for which `present` is false are left out (a 404 when asked for directly).
pub fn multistatus(
    tree: &Tree,
    path: &str,
    depth1: bool,
    wanted: &Wanted,
    present: impl Fn(&Node) -> bool,
) -> Option<String> {
    let node = tree.lookup(path).filter(|n| present(n))?;
    let mut base = path.trim_end_matches('/').to_string();
    let mut out = String::with_capacity(512);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus xmlns:D=\"DAV:\">\n");
    response(&mut out, &base, node, wanted);
    if let (true, Node::Dir(dir)) = (depth1, node) {
        out.reserve(dir.children.len() * 480);
        let len = base.len();
        for child in dir.children.iter().filter(|c| present(c)) {
            base.push('/');
            base.push_str(child.name());
            response(&mut out, &base, child, wanted);
            base.truncate(len);
        }
    }
    out.push_str("</D:multistatus>\n");
    Some(out)
}

fn response(out: &mut String, path: &str, node: &Node, wanted: &Wanted) {
    out.push_str("<D:response><D:href>");
    push_href(out, path);
    if matches!(node, Node::Dir(_)) {
        out.push('/');
    }
    out.push_str("</D:href><D:propstat><D:prop>");
    match wanted {
        Wanted::PropName => {
            for p in PROPS {
                let _ = write!(out, "<D:{p}/>");
            }
        }
        Wanted::AllProp => {
            for p in PROPS {
                prop(out, p, node);
            }
        }
        Wanted::Props(names) => {
            for p in names {
                prop(out, p, node);
            }
        }
    }
    out.push_str("</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>\n");
}

/// Writes one property if the node has it; unknown names write nothing.
fn prop(out: &mut String, name: &str, node: &Node) {
    match (name, node) {
        ("displayname", _) => {
            out.push_str("<D:displayname>");
            push_escaped(out, node.name());
            out.push_str("</D:displayname>");
        }
        ("resourcetype", Node::Dir(_)) => {
            out.push_str("<D:resourcetype><D:collection/></D:resourcetype>")
        }
        ("resourcetype", Node::File(_)) => out.push_str("<D:resourcetype/>"),
        ("getcontentlength", Node::File(f)) => {
            let _ = write!(out, "<D:getcontentlength>{}</D:getcontentlength>", f.size);
        }
        // Infuse wants a length on folders too.
        ("getcontentlength", Node::Dir(_)) => {
            out.push_str("<D:getcontentlength>0</D:getcontentlength>")
        }
        ("getcontenttype", Node::File(f)) => {
            // The same table dav-server uses for GET's Content-Type.
            let mime = mime_guess::from_path(&f.name).first_or_octet_stream();
            let _ = write!(out, "<D:getcontenttype>{mime}</D:getcontenttype>");
        }
        ("getlastmodified", _) => {
            let _ = write!(
                out,
                "<D:getlastmodified>{}</D:getlastmodified>",
                httpdate::fmt_http_date(node.modified())
            );
        }
        ("getetag", Node::File(f)) => {
            out.push_str("<D:getetag>\"");
            push_escaped(out, &f.etag);
            out.push_str("\"</D:getetag>");
        }
        ("getetag", Node::Dir(d)) => {
            let secs = d
                .modified
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let _ = write!(
                out,
                "<D:getetag>\"{}\"</D:getetag>",
                dir_etag(d.children.len(), secs)
            );
        }
        ("iscollection", Node::Dir(_)) => out.push_str("<D:iscollection>1</D:iscollection>"),
        ("iscollection", Node::File(_)) => out.push_str("<D:iscollection>0</D:iscollection>"),
        _ => {}
    }
}

/// A folder's ETag: changes when a child is added or removed, not only when one is newer.
pub fn dir_etag(children: usize, modified_secs: u64) -> String {
    format!("d-{children:x}-{modified_secs:x}")
}

/// Percent-encodes every byte except unreserved characters and `/`.
pub(super) fn push_href(out: &mut String, path: &str) {
    if path.is_empty() {
        return;
    }
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies() {
        assert_eq!(parse(b"").unwrap(), Wanted::AllProp);
        assert_eq!(
            parse(br#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>"#)
                .unwrap(),
            Wanted::AllProp
        );
        assert_eq!(
            parse(br#"<propfind xmlns="DAV:"><propname/></propfind>"#).unwrap(),
            Wanted::PropName
        );
        let w = parse(
            br#"<D:propfind xmlns:D="DAV:" xmlns:X="urn:x"><D:prop><D:getcontentlength/><X:foo/><D:resourcetype/></D:prop></D:propfind>"#,
        )
        .unwrap();
        assert_eq!(
            w,
            Wanted::Props(vec!["getcontentlength".into(), "resourcetype".into()])
        );
        assert!(parse(b"<not-xml").is_err());
        assert!(parse(br#"<x xmlns="urn:y"/>"#).is_err());
    }

    #[test]
    fn hrefs_are_percent_encoded() {
        let mut s = String::new();
        push_href(
            &mut s,
            "/TV Shows/Weird - Show #1 (2021)/100% «Ünï» & a+b.mkv",
        );
        assert_eq!(
            s,
            "/TV%20Shows/Weird%20-%20Show%20%231%20%282021%29/100%25%20%C2%AB%C3%9Cn%C3%AF%C2%BB%20%26%20a%2Bb.mkv"
        );
    }
}
