//! The layers of ARCHITECTURE.md, held to the code: every `crate::` path a
//! module names (outside its `#[cfg(test)]` tests) must point inward.
//!
//! - `domain` names only itself.
//! - The core (`triage`, `access`, `actions`, `assess`, `policy`, `card`, `followup`,
//!   `audit`, `plan`, `reports`) names the domain and the core, never the
//!   shell, the adapters or the process plumbing.
//! - The adapters (`stripe`, `store`, `slack`, `http`, `witness`) name the domain, each
//!   other and `metrics`, never the core, `workflow` or `handlers`: what
//!   they hand on goes through a port they define (`slack::Handler`).
//! - `workflow` never names `handlers`, which sit above it.

use std::path::{Path, PathBuf};

const CORE: [&str; 10] = [
    "triage", "access", "actions", "assess", "policy", "card", "followup", "audit", "plan",
    "reports",
];
const ADAPTERS: [&str; 5] = ["stripe", "store", "slack", "http", "witness"];

/// The top-level module a file of `src/` belongs to (`src/card/mod.rs` →
/// `card`, `src/policy.rs` → `policy`).
fn layer_of(file: &Path, src: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let first = rel
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    first.trim_end_matches(".rs").to_owned()
}

/// What `layer` may name besides itself.
fn allowed(layer: &str) -> Option<Vec<&'static str>> {
    if layer == "domain" {
        return Some(vec![]);
    }
    if CORE.contains(&layer) {
        let mut ok = vec!["domain"];
        ok.extend(CORE);
        return Some(ok);
    }
    if ADAPTERS.contains(&layer) {
        let mut ok = vec!["domain", "metrics"];
        ok.extend(ADAPTERS);
        return Some(ok);
    }
    None
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `crate::<module>` names in `text`'s code, with their line numbers
/// (`crate::{a, b::c}` names `a` and `b`): comments are skipped, and the
/// file is read only up to its unit tests (`#[cfg(test)]` followed by
/// `mod …`).
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            break;
        }
        if !trimmed.starts_with("//") {
            code.push_str(trimmed.split("//").next().unwrap_or(""));
        }
        code.push('\n');
    }
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let line = code[..at].matches('\n').count() + 1;
        let rest = &code[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => {
                let (mut depth, mut start) = (0usize, 0usize);
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            found.push((line, ident(&group[start..i])));
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            found.push((line, ident(&group[start..i])));
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
            }
            None => found.push((line, ident(rest))),
        }
    }
    found.retain(|(_, name)| !name.is_empty() && name != "self");
    found
}

/// Every import that points the wrong way, as `file:line: layer → module`.
fn outward_imports(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // Test modules (`tests.rs`, `grounding_tests.rs`, `fuzz_tests.rs`)
        // and the test builders may name anything.
        if name.ends_with("tests.rs")
            || name == "testing.rs"
            || file.components().any(|c| c.as_os_str() == "tests")
        {
            continue;
        }
        let layer = layer_of(&file, src);
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        for (line, module) in crate_paths(&text) {
            if module == layer {
                continue;
            }
            let refused = match allowed(&layer) {
                Some(ok) => !ok.contains(&module.as_str()),
                None => layer == "workflow" && module == "handlers",
            };
            if refused {
                wrong.push(format!("{}:{line}: {layer} → {module}", file.display()));
            }
        }
    }
    wrong
}

#[test]
fn every_import_points_inward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let wrong = outward_imports(&src);
    assert!(
        wrong.is_empty(),
        "imports that point outward (ARCHITECTURE.md, \"Layers\"):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_check_finds_an_adapter_that_names_the_workflow() {
    let dir = std::env::temp_dir().join(format!("layers-{}", std::process::id()));
    let store = dir.join("store");
    std::fs::create_dir_all(&store).expect("temp dir");
    std::fs::write(
        store.join("mod.rs"),
        "//! crate::workflow in a comment is fine\nuse crate::domain::CaseId;\nuse crate::{\n    domain::Money,\n    workflow::{now, Deps},\n};\n#[cfg(test)]\nmod tests {\n    use crate::handlers::Handlers;\n}\n",
    )
    .expect("write");
    std::fs::write(dir.join("policy.rs"), "use crate::config::Config;\n").expect("write");
    let wrong = outward_imports(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let names: Vec<&str> = wrong
        .iter()
        .map(|w| w.rsplit(": ").next().unwrap_or(""))
        .collect();
    assert_eq!(names, ["policy → config", "store → workflow"], "{wrong:?}");
}
