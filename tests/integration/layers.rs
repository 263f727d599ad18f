//! The module graph points one way: a module imports only modules of a lower
//! layer (docs/ARCHITECTURE.md, "Layers"), and the files inside a module
//! import each other without circles. Read from the sources, production
//! code only (unit tests may reach anywhere).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers from the bottom up; modules of one layer do not import each other.
const LAYERS: &[&[&str]] = &[
    &["taskdef"],
    &["source"],
    &["exit", "plan"],
    &["docker", "protocol"],
    &["aws"],
    &["output"],
    &["agent", "runner"],
    &["views"],
    &["commands"],
    &["cli"],
    &["app"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Every production source file under `src/`, with its text up to its unit tests.
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).expect("src is readable") {
            let path = entry.expect("a directory entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs")
                && name != "tests.rs"
                && !name.ends_with("_tests.rs")
            {
                let text = std::fs::read_to_string(&path).expect("a source file is text");
                let production = text
                    .split("#[cfg(test)]\nmod tests")
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                out.push((path, production));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&root, &mut out);
    out
}

/// The module path of a file below `src/`: `runner/supervise.rs` → `["runner", "supervise"]`.
fn module_path(file: &Path) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let relative = file.strip_prefix(&root).expect("below src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The names that follow `prefix` (`crate::`, `super::`) in `text`.
fn names_after<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.match_indices(prefix)
        .filter(|(at, _)| {
            // Not the tail of a longer path such as `ecs_run_local::crate::`.
            !text[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        })
        .map(|(at, _)| {
            let rest = &text[at + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn no_module_imports_one_above_it_or_beside_it() {
    let mut wrong = BTreeSet::new();
    for (file, text) in sources() {
        let path = module_path(&file);
        let Some(top) = path.first() else { continue };
        if top == "main" || top == "lib" {
            continue;
        }
        let from = layer_of(top).unwrap_or_else(|| panic!("`{top}` is in no layer"));
        for target in names_after(&text, "crate::") {
            if target == top {
                continue;
            }
            let to = layer_of(target).unwrap_or_else(|| panic!("`{target}` is in no layer"));
            if to >= from {
                wrong.insert(format!("{} -> {target}", file.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that point up or across a layer:\n{}",
        wrong.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_files_of_a_module_import_each_other_without_circles() {
    // (top-level module, child) -> the children of the same module it imports.
    let mut edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (file, text) in sources() {
        let path = module_path(&file);
        let (Some(top), Some(child)) = (path.first(), path.get(1)) else {
            continue;
        };
        let mut targets: Vec<&str> = names_after(&text, &format!("crate::{top}::"));
        if path.len() == 2 {
            targets.extend(names_after(&text, "super::"));
        }
        let entry = edges.entry((top.clone(), child.clone())).or_default();
        entry.extend(
            targets
                .into_iter()
                .filter(|t| t != child)
                .map(str::to_owned),
        );
    }
    let mut circles = Vec::new();
    for ((top, child), targets) in &edges {
        for target in targets {
            let back = edges
                .get(&(top.clone(), target.clone()))
                .is_some_and(|t| reaches(&edges, top, t, child, &mut BTreeSet::new()));
            if back {
                circles.push(format!("{top}: {child} -> {target} -> … -> {child}"));
            }
        }
    }
    assert!(
        circles.is_empty(),
        "circles inside modules:\n{}",
        circles.join("\n")
    );
}

/// Whether one of `from` (children of `top`) reaches `goal`.
fn reaches(
    edges: &BTreeMap<(String, String), BTreeSet<String>>,
    top: &str,
    from: &BTreeSet<String>,
    goal: &str,
    seen: &mut BTreeSet<String>,
) -> bool {
    from.iter().any(|next| {
        next == goal
            || (seen.insert(next.clone())
                && edges
                    .get(&(top.to_owned(), next.clone()))
                    .is_some_and(|t| reaches(edges, top, t, goal, seen)))
    })
}
