//! Benchmark 5's breakdown: where the hydrate bundle's code bytes go, by crate.
//!
//! `bench-wasm <file.wasm>` reads a WASM file that still has its `name` section (wasm-bindgen's
//! output before wasm-opt; wasm-bindgen demangles the names), adds up each function body's
//! size in the code section by the crate its name starts with, and prints the largest.
//!
//! `bench-wasm --first-load <label>=<url> …` measures a first page load: the page at each
//! `url` and every `/pkg/` file it links (stylesheet, JS, WASM), fetched as a browser does
//! with `Accept-Encoding: br, gzip`, counting the bytes of each body as sent (compressed), and
//! the same without compression for comparison.

use bench::report::{at_most, md, md_row, md_table, summary};
use std::collections::HashMap;

fn leb(b: &[u8], i: &mut usize) -> Result<u64, String> {
    let (mut r, mut shift) = (0u64, 0);
    loop {
        let x = *b.get(*i).ok_or("truncated LEB128")?;
        *i += 1;
        r |= u64::from(x & 0x7f) << shift;
        shift += 7;
        if x < 0x80 {
            return Ok(r);
        }
        if shift > 63 {
            return Err("LEB128 too long".into());
        }
    }
}

fn name<'a>(b: &'a [u8], i: &mut usize) -> Result<&'a str, String> {
    let n = leb(b, i)? as usize;
    let s = b.get(*i..*i + n).ok_or("truncated name")?;
    *i += n;
    std::str::from_utf8(s).map_err(|e| e.to_string())
}

fn limits(b: &[u8], i: &mut usize) -> Result<(), String> {
    let flags = *b.get(*i).ok_or("truncated limits")?;
    *i += 1;
    leb(b, i)?;
    if flags & 1 != 0 {
        leb(b, i)?;
    }
    Ok(())
}

struct Module {
    imported_funcs: u64,
    bodies: Vec<usize>,
    names: HashMap<u64, String>,
    custom: Vec<(String, usize)>,
}

fn parse(b: &[u8]) -> Result<Module, String> {
    if b.get(..4) != Some(b"\0asm") {
        return Err("not a WASM file".into());
    }
    let mut m = Module {
        imported_funcs: 0,
        bodies: vec![],
        names: HashMap::new(),
        custom: vec![],
    };
    let mut i = 8;
    while i < b.len() {
        let id = b[i];
        i += 1;
        let size = leb(b, &mut i)? as usize;
        let end = i + size;
        let s = b.get(..end).ok_or("truncated section")?;
        let mut j = i;
        match id {
            0 => {
                let section = name(s, &mut j)?.to_string();
                if section == "name" {
                    while j < end {
                        let sub = s[j];
                        j += 1;
                        let sub_size = leb(s, &mut j)? as usize;
                        let sub_end = j + sub_size;
                        if sub == 1 {
                            let n = leb(s, &mut j)?;
                            for _ in 0..n {
                                let idx = leb(s, &mut j)?;
                                let f = name(s, &mut j)?;
                                m.names.insert(idx, f.to_string());
                            }
                        }
                        j = sub_end;
                    }
                }
                m.custom.push((section, size));
            }
            2 => {
                let n = leb(s, &mut j)?;
                for _ in 0..n {
                    name(s, &mut j)?;
                    name(s, &mut j)?;
                    let kind = *s.get(j).ok_or("truncated import")?;
                    j += 1;
                    match kind {
                        0 => {
                            leb(s, &mut j)?;
                            m.imported_funcs += 1;
                        }
                        1 => {
                            j += 1;
                            limits(s, &mut j)?;
                        }
                        2 => limits(s, &mut j)?,
                        3 => j += 2,
                        4 => {
                            j += 1;
                            leb(s, &mut j)?;
                        }
                        k => return Err(format!("unknown import kind {k}")),
                    }
                }
            }
            10 => {
                let n = leb(s, &mut j)?;
                for _ in 0..n {
                    let body = leb(s, &mut j)? as usize;
                    m.bodies.push(body);
                    j += body;
                }
            }
            _ => {}
        }
        i = end;
    }
    Ok(m)
}

/// The crate a demangled Rust function name belongs to (`<T as Trait>` counts for T's crate,
/// or the trait's when T is a bare generic).
fn crate_of(f: &str) -> String {
    let mut s = f.trim_start_matches(['<', '&', '*', '(', '[']);
    for p in ["mut ", "const ", "dyn "] {
        s = s.trim_start_matches(p);
    }
    if let Some((ty, rest)) = s.split_once(" as ")
        && !ty.contains("::")
    {
        s = rest;
    }
    match s.find("::") {
        // v0-mangled names carry a disambiguator: `core[c5930c85a12de822]::...`.
        Some(end) if !s[..end].contains([' ', '<', '>']) => {
            s[..end].split('[').next().unwrap_or_default().to_string()
        }
        _ => "(no crate path: runtime, allocator, glue)".into(),
    }
}

/// The most a first page load may transfer (issue 14, target 5).
const FIRST_LOAD_TARGET: usize = 1_000_000;

/// The `/pkg/` addresses a page links (`href="/pkg/…"`, in the order they appear, once each).
fn pkg_links(html: &str) -> Vec<String> {
    let mut links: Vec<String> = Vec::new();
    for part in html.split("\"/pkg/").skip(1) {
        let Some(end) = part.find('"') else { continue };
        let link = format!("/pkg/{}", &part[..end]);
        if !links.contains(&link) {
            links.push(link);
        }
    }
    links
}

/// One body's bytes as sent with `accept` as `Accept-Encoding` (reqwest here decompresses
/// nothing), and the encoding the server chose.
async fn fetch(
    client: &reqwest::Client,
    url: &str,
    accept: &str,
) -> Result<(Vec<u8>, String), String> {
    let r = client
        .get(url)
        .header("accept-encoding", accept)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !r.status().is_success() {
        return Err(format!("{url}: {}", r.status()));
    }
    let enc = r
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
        .to_string();
    let body = r.bytes().await.map_err(|e| format!("{url}: {e}"))?;
    Ok((body.to_vec(), enc))
}

async fn first_load(targets: &[String]) -> Result<(), String> {
    let client = reqwest::Client::new();
    md(
        "First load: the page and every `/pkg/` file it links, as a browser fetches them with \
        `Accept-Encoding: br, gzip` (bytes of the bodies as sent; headers not counted), and uncompressed; \
        the time is the compressed fetch's, on loopback, so it is the server's own (compressing included):",
    );
    md("");
    md_table(&[
        "front end",
        "file",
        "encoding",
        "transferred (bytes)",
        "uncompressed (bytes)",
        "time (ms)",
    ]);
    for target in targets {
        let (label, url) = target
            .split_once('=')
            .ok_or_else(|| format!("{target}: expected <label>=<url>"))?;
        let origin = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        let timed = |url: String| {
            let client = client.clone();
            async move {
                let t = std::time::Instant::now();
                let (body, enc) = fetch(&client, &url, "br, gzip").await?;
                Ok::<_, String>((body, enc, t.elapsed().as_secs_f64() * 1000.0))
            }
        };
        let (page, enc, ms) = timed(url.to_string()).await?;
        let (plain, _) = fetch(&client, url, "identity").await?;
        let html = String::from_utf8_lossy(&plain).into_owned();
        let mut rows = vec![(origin.path().to_string(), enc, page.len(), plain.len(), ms)];
        for link in pkg_links(&html) {
            let file = origin.join(&link).map_err(|e| format!("{link}: {e}"))?;
            let (sent, enc, ms) = timed(file.to_string()).await?;
            let (raw, _) = fetch(&client, file.as_str(), "identity").await?;
            rows.push((link, enc, sent.len(), raw.len(), ms));
        }
        let (sent, raw): (usize, usize) = rows
            .iter()
            .fold((0, 0), |(s, r), row| (s + row.2, r + row.3));
        let total_ms: f64 = rows.iter().map(|row| row.4).sum();
        for (file, enc, s, r, ms) in &rows {
            println!(
                "first load [{label}] {file}: {s} bytes sent ({enc}) in {ms:.1} ms, {r} uncompressed"
            );
            md_row(&[
                label.to_string(),
                format!("`{file}`"),
                enc.clone(),
                s.to_string(),
                r.to_string(),
                format!("{ms:.1}"),
            ]);
        }
        println!("first load [{label}]: {sent} bytes sent, {raw} uncompressed");
        md_row(&[
            format!("**{label}**"),
            "**total**".into(),
            String::new(),
            format!("**{sent}** ({} KiB)", sent / 1024),
            format!("{raw} ({} KiB)", raw / 1024),
            format!("{total_ms:.1}"),
        ]);
        summary(
            "5. first load",
            &format!("{label}: page + CSS + JS + WASM, br/gzip"),
            &format!("{sent} bytes ({} KiB)", sent / 1024),
            "≤ 1 MB",
            &at_most(sent as f64, FIRST_LOAD_TARGET as f64),
        );
    }
    md("");
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--first-load") {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        return match rt.block_on(first_load(&args[1..])) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench-wasm: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let Some(path) = std::env::args().nth(1) else {
        eprintln!(
            "usage: bench-wasm <file.wasm with a name section> | --first-load <label>=<url> …"
        );
        return std::process::ExitCode::FAILURE;
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("bench-wasm: {path}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let m = match parse(&bytes) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("bench-wasm: {path}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let total: usize = m.bodies.iter().sum();
    let mut by_crate: HashMap<String, (usize, usize)> = HashMap::new();
    for (k, size) in m.bodies.iter().enumerate() {
        let f = m.names.get(&(m.imported_funcs + k as u64));
        let c = f.map_or_else(|| "(unnamed)".to_string(), |f| crate_of(f));
        let e = by_crate.entry(c).or_default();
        e.0 += size;
        e.1 += 1;
    }
    let mut rows: Vec<(String, (usize, usize))> = by_crate.into_iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1.0));
    println!(
        "{path}: {} bytes, code section {total} bytes in {} functions; custom sections: {:?}",
        bytes.len(),
        m.bodies.len(),
        m.custom
    );
    md(format!(
        "Where the code goes (function bodies before wasm-opt, {} functions, {} KiB, by the crate their name starts with; \
         the data section and the JS glue come on top):",
        m.bodies.len(),
        total / 1024
    ));
    md("");
    md_table(&["crate", "code (KiB)", "share", "functions"]);
    for (c, (size, n)) in rows.iter().take(14) {
        println!(
            "{c:50} {size:>9} {:>5.1}% {n:>6}",
            100.0 * *size as f64 / total.max(1) as f64
        );
        md_row(&[
            format!("`{c}`"),
            format!("{:.1}", *size as f64 / 1024.0),
            format!("{:.1}%", 100.0 * *size as f64 / total.max(1) as f64),
            n.to_string(),
        ]);
    }
    let rest: usize = rows.iter().skip(14).map(|(_, (s, _))| s).sum();
    md_row(&[
        format!("{} other crates", rows.len().saturating_sub(14)),
        format!("{:.1}", rest as f64 / 1024.0),
        format!("{:.1}%", 100.0 * rest as f64 / total.max(1) as f64),
        String::new(),
    ]);
    md("");
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::{crate_of, pkg_links};

    #[test]
    fn links_to_the_site_files() {
        let html = r#"<link rel="stylesheet" href="/pkg/tessera.a.css"><link rel="modulepreload" href="/pkg/tessera.b.js"><script>import('/pkg/x.js')</script><link href="/pkg/tessera.a.css">"#;
        assert_eq!(pkg_links(html), ["/pkg/tessera.a.css", "/pkg/tessera.b.js"]);
    }

    #[test]
    fn crates_of_names() {
        assert_eq!(crate_of("leptos::mount::hydrate_body::h12"), "leptos");
        assert_eq!(
            crate_of("<alloc::vec::Vec<T> as core::fmt::Debug>::fmt::h1"),
            "alloc"
        );
        assert_eq!(crate_of("<T as core::any::Any>::type_id::h1"), "core");
        assert_eq!(
            crate_of("<&mut serde_json::de::Deserializer<R>>::parse::h1"),
            "serde_json"
        );
        assert_eq!(
            crate_of("dlmalloc"),
            "(no crate path: runtime, allocator, glue)"
        );
    }
}
