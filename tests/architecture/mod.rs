//! The crate's architecture as tests (`docs/architecture.md`): the layers between top-level
//! modules, no import cycle among the modules inside them, roles that never import each other,
//! and no source file over 600 lines. Read from `src/` as text; a folder counts as one module
//! wherever its siblings are compared.

mod modules;
mod tokens;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use modules::{Crate, ModulePath, Reference};

/// The top-level modules, lowest first: each may use only those of a lower rank. `render` and
/// `supervisor` share a rank, so neither uses the other.
const LAYERS: &[(&str, u8)] = &[
    ("core", 0),
    ("scene", 1),
    ("protocol", 2),
    ("render", 3),
    ("supervisor", 3),
    ("roles", 4),
    ("fuzzing", 5),
    ("cli", 6),
];

/// The trees inside which no module may depend on one that depends on it back.
const ACYCLIC: &[&str] = &["render", "scene", "roles", "core", "protocol", "supervisor"];

const MAX_LINES: usize = 600;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

/// `from → to` between the children of one parent, with the first place it is written.
type Edges = BTreeMap<(String, String), String>;

/// The references between siblings, grouped by their parent.
fn sibling_edges(references: &[Reference]) -> BTreeMap<ModulePath, Edges> {
    let mut parents: BTreeMap<ModulePath, Edges> = BTreeMap::new();
    for reference in references {
        let common = (reference.from.iter().zip(&reference.to))
            .take_while(|(a, b)| a == b)
            .count();
        let edge = (reference.from[common].clone(), reference.to[common].clone());
        let place = format!("{}:{}", reference.file.display(), reference.line);
        let edges = parents
            .entry(reference.from[..common].to_vec())
            .or_default();
        edges.entry(edge).or_insert(place);
    }
    parents
}

/// The groups of modules that reach each other (strongly connected, more than one module).
fn cycles(edges: &Edges) -> Vec<BTreeSet<String>> {
    let nodes: BTreeSet<&String> = edges.keys().flat_map(|(a, b)| [a, b]).collect();
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(node) = stack.pop() {
            for (_, to) in edges.keys().filter(|(a, _)| *a == node) {
                if seen.insert(to.clone()) {
                    stack.push(to.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|&node| (node, reach(node))).collect();
    let mut groups: Vec<BTreeSet<String>> = Vec::new();
    for &node in &nodes {
        if !reached[node].contains(node) || groups.iter().any(|g| g.contains(node)) {
            continue;
        }
        let group = (reached[node].iter())
            .filter(|other| reached[*other].contains(node))
            .cloned()
            .collect();
        groups.push(group);
    }
    groups
}

#[test]
fn no_module_depends_on_one_that_depends_on_it_back() {
    let krate = Crate::read(&src());
    let parents = sibling_edges(&krate.references());
    let mut failures = Vec::new();
    for root in ACYCLIC {
        let checked: BTreeSet<&ModulePath> = krate.modules_under(root).collect();
        for (parent, edges) in parents.iter().filter(|(p, _)| checked.contains(p)) {
            for group in cycles(edges) {
                let within = edges
                    .iter()
                    .filter(|((a, b), _)| group.contains(a) && group.contains(b))
                    .map(|((a, b), place)| format!("    {a} → {b}  ({place})"))
                    .collect::<Vec<_>>()
                    .join("\n");
                let members = group.iter().cloned().collect::<Vec<_>>().join(", ");
                failures.push(format!(
                    "in {}: {members} depend on each other:\n{within}",
                    name(parent)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "import cycles (a folder counts as one module):\n{}",
        failures.join("\n")
    );
}

#[test]
fn top_level_modules_use_only_lower_layers() {
    let krate = Crate::read(&src());
    let parents = sibling_edges(&krate.references());
    let rank = |module: &str| LAYERS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r);
    let mut failures = Vec::new();
    for ((from, to), place) in parents.get(&Vec::new()).into_iter().flatten() {
        match (rank(from), rank(to)) {
            (Some(a), Some(b)) if b < a => {}
            (Some(_), Some(_)) => failures.push(format!("{from} → {to} points up ({place})")),
            _ => failures.push(format!(
                "{from} → {to}: give every top-level module a layer in LAYERS ({place})"
            )),
        }
    }
    for ((from, to), place) in parents.get(&vec!["roles".to_owned()]).into_iter().flatten() {
        failures.push(format!(
            "roles never import each other: {from} → {to} ({place})"
        ));
    }
    assert!(
        failures.is_empty(),
        "layers (core → scene → protocol → render, supervisor → roles → fuzzing → cli):\n{}",
        failures.join("\n")
    );
}

#[test]
fn no_source_file_is_over_600_lines() {
    let mut files = Vec::new();
    modules::files_under(&src(), &mut files);
    let failures: Vec<String> = (files.iter())
        .filter_map(|path| {
            let lines = std::fs::read(path)
                .expect("a readable source file")
                .split(|&b| b == b'\n')
                .count()
                - 1;
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", path.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "source files over {MAX_LINES} lines; split them along their seams:\n{}",
        failures.join("\n")
    );
}

/// The reader resolves what it must: re-exports, `super::`, inline modules, groups, aliases and
/// macros' `$crate`, and ignores comments, visibilities and other crates.
#[test]
fn references_resolve_to_the_module_that_defines_the_item() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join("src").join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("lib.rs", "pub mod a;\npub mod b;\npub mod c;\npub mod d;\n");
    write("a/mod.rs", "mod inner;\npub use inner::Thing;\n");
    write("a/inner.rs", "pub struct Thing;\n");
    write(
        "b.rs",
        "use crate::a::Thing; // crate::d::X in a comment\n\
         pub(in crate::b) struct Y;\n\
         mod tests { use super::super::c::{self as see, Z}; }\n",
    );
    write(
        "c.rs",
        "use std::fmt; pub struct Z;\nmacro_rules! m { () => { $crate::a::Thing } }\n",
    );
    write("d.rs", "fn f() { let s = \"crate::b::Y\"; }\n");
    let krate = Crate::read(&dir.path().join("src"));
    let mut found: Vec<(String, String)> = krate
        .references()
        .iter()
        .map(|r| (name(&r.from), name(&r.to)))
        .collect();
    found.sort();
    found.dedup();
    let expected = [("b", "a::inner"), ("b::tests", "c"), ("c", "a::inner")];
    let expected: Vec<(String, String)> = (expected.iter())
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(found, expected);
    let parents = sibling_edges(&krate.references());
    let root: Vec<_> = parents[&Vec::new()].keys().cloned().collect();
    let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(root, pairs(&[("b", "a"), ("b", "c"), ("c", "a")]));
}

#[test]
fn modules_that_reach_each_other_form_one_cycle() {
    let edge = |a: &str, b: &str| ((a.to_owned(), b.to_owned()), String::new());
    let edges: Edges = [
        edge("a", "b"),
        edge("b", "c"),
        edge("c", "a"),
        edge("c", "d"),
        edge("d", "e"),
    ]
    .into_iter()
    .collect();
    let cycle: BTreeSet<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    assert_eq!(cycles(&edges), vec![cycle]);
}
