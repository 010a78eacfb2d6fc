//! The library's modules and which modules each one's code names: every `use` declaration and
//! every path rooted at `crate::`, `super::` or `self::`, resolved through the modules' own `use`
//! declarations (re-exports included), so `crate::render::Gpu` counts as a use of the module that
//! defines `Gpu`. A module is a file (`x.rs` or `x/mod.rs`) or an inline `mod x { … }`.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::tokens::{tokens, Token};

/// A module's path from the crate root: `["render", "scene_pass"]`.
pub type ModulePath = Vec<String>;

/// A path as written in a module, with the module and place it was written in.
#[derive(Debug)]
struct Written {
    module: ModulePath,
    segments: Vec<String>,
    file: PathBuf,
    line: usize,
}

/// One module naming another: where, and which module it names.
#[derive(Debug)]
pub struct Reference {
    pub from: ModulePath,
    pub to: ModulePath,
    pub file: PathBuf,
    pub line: usize,
}

/// The library crate under `src/` (not `main.rs`, which is the binary's own crate).
pub struct Crate {
    modules: BTreeSet<ModulePath>,
    /// Per module, the names its own item-level `use` declarations bring in, and what they name.
    names: HashMap<ModulePath, HashMap<String, Vec<String>>>,
    written: Vec<Written>,
}

impl Crate {
    /// Reads every `.rs` file under `src`.
    pub fn read(src: &Path) -> Self {
        let mut files = Vec::new();
        files_under(src, &mut files);
        files.retain(|path| path.extension().is_some_and(|e| e == "rs"));
        let mut krate = Crate {
            modules: BTreeSet::new(),
            names: HashMap::new(),
            written: Vec::new(),
        };
        for file in files {
            let Some(module) = file_module(src, &file) else {
                continue;
            };
            let text = std::fs::read_to_string(&file).expect("a readable source file");
            let relative = file
                .strip_prefix(src.parent().unwrap_or(src))
                .unwrap_or(&file);
            krate.scan(module, &text, relative);
        }
        krate
    }

    /// The top-level module `root` and every module inside it.
    pub fn modules_under<'a>(&'a self, root: &'a str) -> impl Iterator<Item = &'a ModulePath> {
        (self.modules.iter()).filter(move |module| module.first().is_some_and(|m| m == root))
    }

    /// Every reference from one module to another module of this crate (not to itself, its
    /// ancestors or descendants, which are the same branch of the tree).
    pub fn references(&self) -> Vec<Reference> {
        self.written
            .iter()
            .filter_map(|written| {
                let to = self.resolve(&written.module, &written.segments, 0)?.0;
                let related = |a: &ModulePath, b: &ModulePath| b.starts_with(a);
                (!related(&to, &written.module) && !related(&written.module, &to)).then(|| {
                    Reference {
                        from: written.module.clone(),
                        to,
                        file: written.file.clone(),
                        line: written.line,
                    }
                })
            })
            .collect()
    }

    /// Records the modules, `use` names and paths of one file, whose module is `module`.
    fn scan(&mut self, module: ModulePath, text: &str, file: &Path) {
        let tokens = tokens(text);
        self.modules.insert(module.clone());
        // Inline modules open at a brace depth; items of a module sit at its own depth.
        let mut open: Vec<(ModulePath, usize)> = vec![(module, 0)];
        let mut depth = 0;
        let mut i = 0;
        while i < tokens.len() {
            let (current, item_depth) = open.last().cloned().unwrap_or_default();
            let ident = |k: usize| match tokens.get(k) {
                Some((Token::Ident(name), _)) => Some(name.as_str()),
                _ => None,
            };
            let line = tokens[i].1;
            match &tokens[i].0 {
                Token::Punct('{') => depth += 1,
                Token::Punct('}') => {
                    depth -= 1;
                    while open.len() > 1 && open.last().is_some_and(|(_, d)| *d > depth) {
                        open.pop();
                    }
                }
                Token::Ident(word) if word == "mod" => {
                    if let (Some(name), Some((Token::Punct('{'), _))) =
                        (ident(i + 1), tokens.get(i + 2))
                    {
                        let mut inline = current.clone();
                        inline.push(name.to_owned());
                        self.modules.insert(inline.clone());
                        open.push((inline, depth + 1));
                    }
                }
                Token::Ident(word) if word == "use" && is_use_declaration(&tokens, i) => {
                    let mut paths = Vec::new();
                    i = use_tree(&tokens, i + 1, Vec::new(), &mut paths);
                    for (segments, alias) in paths {
                        if depth == item_depth {
                            let name = alias.or_else(|| segments.last().cloned());
                            if let Some(name) = name.filter(|name| name != "*") {
                                let names = self.names.entry(current.clone()).or_default();
                                names.insert(name, segments.clone());
                            }
                        }
                        self.write(&current, segments, file, line);
                    }
                    continue;
                }
                Token::Ident(word) if is_path_root(word) && is_path_start(&tokens, i) => {
                    let mut segments = vec![word.clone()];
                    let mut k = i + 1;
                    while let (Some((Token::PathSeparator, _)), Some(next)) =
                        (tokens.get(k), ident(k + 1))
                    {
                        segments.push(next.to_owned());
                        k += 2;
                    }
                    self.write(&current, segments, file, line);
                    i = k;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }

    fn write(&mut self, module: &ModulePath, segments: Vec<String>, file: &Path, line: usize) {
        self.written.push(Written {
            module: module.clone(),
            segments,
            file: file.to_owned(),
            line,
        });
    }

    /// The module `segments`, written in `module`, lead to, and whether every segment was a
    /// module (so the path names a module, not an item in it); `None` outside this crate.
    fn resolve(
        &self,
        module: &ModulePath,
        segments: &[String],
        hops: usize,
    ) -> Option<(ModulePath, bool)> {
        let (mut current, rest) = match segments.first()?.as_str() {
            "crate" | "$crate" => (Vec::new(), &segments[1..]),
            "self" => (module.clone(), &segments[1..]),
            "super" => {
                let supers = segments.iter().take_while(|s| *s == "super").count();
                let mut base = module.clone();
                for _ in 0..supers {
                    base.pop()?;
                }
                (base, &segments[supers..])
            }
            first => {
                let mut child = module.clone();
                child.push(first.to_owned());
                let named = self
                    .names
                    .get(module)
                    .is_some_and(|n| n.contains_key(first));
                if !self.modules.contains(&child) && !named {
                    return None; // another crate
                }
                (module.clone(), segments)
            }
        };
        for (index, segment) in rest.iter().enumerate() {
            let mut child = current.clone();
            child.push(segment.clone());
            if self.modules.contains(&child) {
                current = child;
                continue;
            }
            let target = self.names.get(&current).and_then(|n| n.get(segment));
            return match target {
                // A name `current` imports: a module (walk on) or an item (its module).
                Some(target) if hops < 16 => {
                    let (module, whole) = self.resolve(&current, target, hops + 1)?;
                    if whole && index + 1 < rest.len() {
                        let mut onward = vec!["crate".to_owned()];
                        onward.extend(module);
                        onward.extend(rest[index + 1..].iter().cloned());
                        self.resolve(&Vec::new(), &onward, hops + 1)
                    } else {
                        Some((module, whole && index + 1 == rest.len()))
                    }
                }
                _ => Some((current, false)), // an item defined in `current`
            };
        }
        Some((current, true))
    }
}

/// `use` starts a declaration (not `impl Trait + use<'a>`).
fn is_use_declaration(tokens: &[(Token, usize)], i: usize) -> bool {
    matches!(
        tokens.get(i + 1),
        Some((
            Token::Ident(_) | Token::PathSeparator | Token::Punct('{'),
            _
        ))
    )
}

fn is_path_root(word: &str) -> bool {
    matches!(word, "crate" | "super" | "self")
}

/// A path rooted at `tokens[i]` starts here: followed by `::`, not a visibility's
/// `pub(in crate::x)`, and not the tail of a longer path.
fn is_path_start(tokens: &[(Token, usize)], i: usize) -> bool {
    let followed = matches!(tokens.get(i + 1), Some((Token::PathSeparator, _)));
    let previous = i.checked_sub(1).and_then(|k| tokens.get(k)).map(|(t, _)| t);
    let visibility = matches!(previous, Some(Token::Ident(word)) if word == "in");
    let tail = matches!(previous, Some(Token::PathSeparator));
    let macro_crate = matches!(previous, Some(Token::Punct('$')));
    followed && !visibility && (!tail || macro_crate)
}

/// Flattens the use tree starting at `tokens[i]` into `(path, alias)` pairs; returns the index
/// after the tree.
fn use_tree(
    tokens: &[(Token, usize)],
    mut i: usize,
    mut prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) -> usize {
    loop {
        match tokens.get(i).map(|(t, _)| t) {
            Some(Token::PathSeparator) => i += 1,
            Some(Token::Punct('{')) => {
                i += 1;
                loop {
                    match tokens.get(i).map(|(t, _)| t) {
                        Some(Token::Punct('}')) => return i + 1,
                        Some(Token::Punct(',')) => i += 1,
                        None => return i,
                        _ => i = use_tree(tokens, i, prefix.clone(), out),
                    }
                }
            }
            Some(Token::Punct('*')) => {
                prefix.push("*".to_owned());
                out.push((prefix, None));
                return i + 1;
            }
            Some(Token::Ident(segment)) => {
                // `{self, …}` names the prefix itself.
                if segment != "self" || prefix.is_empty() {
                    prefix.push(segment.clone());
                }
                i += 1;
                match tokens.get(i).map(|(t, _)| t) {
                    Some(Token::PathSeparator) => i += 1,
                    Some(Token::Ident(word)) if word == "as" => {
                        let alias = match tokens.get(i + 1).map(|(t, _)| t) {
                            Some(Token::Ident(alias)) if alias != "_" => Some(alias.clone()),
                            _ => Some("_".to_owned()),
                        };
                        out.push((prefix, alias));
                        return i + 2;
                    }
                    _ => {
                        out.push((prefix, None));
                        return i;
                    }
                }
            }
            // `;` ends the declaration.
            Some(Token::Punct(';')) => return i + 1,
            _ => return i + 1,
        }
    }
}

/// Every file under `dir` (shaders too), sorted so reports are stable.
pub(super) fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("a readable source folder")
        .map(|entry| entry.expect("a readable folder entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The module a file under `src` is: `render/gpu.rs` and `render/gpu/mod.rs` are
/// `["render", "gpu"]`; `lib.rs` the root; `main.rs` (the binary's crate) none.
fn file_module(src: &Path, file: &Path) -> Option<ModulePath> {
    let relative = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    match last.as_str() {
        "main.rs" if parts.is_empty() => return None,
        "lib.rs" if parts.is_empty() => {}
        "mod.rs" => {}
        name => parts.push(name.strip_suffix(".rs")?.to_owned()),
    }
    Some(parts)
}
