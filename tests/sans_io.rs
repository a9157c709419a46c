//! The sans-IO contract (DESIGN.md): code under src/proto/ and src/core/ names no I/O, no
//! threads, no clock, no OS randomness and no randomly-seeded hash containers, so that the
//! simulator's runs are deterministic. This test fails the build when one creeps in.

use std::path::Path;

const FORBIDDEN: &[&str] = &[
    "std::net",
    "std::thread",
    "std::fs",
    "std::process",
    "mio::",
    "tokio",
    "Instant::now",
    "SystemTime",
    "thread_rng",
    "OsRng",
    "getrandom",
    "HashMap",
    "HashSet",
    "RandomState",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn sans_io_core_names_no_io_clock_or_randomness() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for dir in ["proto", "core"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(!files.is_empty(), "the sans-IO directories moved: update this test");
    let mut bad = Vec::new();
    // Test modules and harnesses included: they take time from `crate::test_epoch`.
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            for word in FORBIDDEN {
                if line.contains(word) {
                    bad.push(format!("{}:{}: {word}: {line}", f.display(), i + 1));
                }
            }
        }
    }
    assert!(bad.is_empty(), "the sans-IO core names forbidden items:\n{}", bad.join("\n"));
}
