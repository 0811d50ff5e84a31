//! Benchmark 5's breakdown: where the hydrate bundle's code bytes go, by crate.
//!
//! `bench-wasm <file.wasm>` reads a WASM file that still has its `name` section (wasm-bindgen's
//! output before wasm-opt; wasm-bindgen demangles the names), adds up each function body's
//! size in the code section by the crate its name starts with, and prints the largest.

use bench::report::{md, md_row, md_table};
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

fn main() -> std::process::ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: bench-wasm <file.wasm with a name section>");
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
    use super::crate_of;

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
