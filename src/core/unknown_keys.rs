//! Keys a config file (or a look's YAML) has that nothing reads, each with the known name nearest
//! to it ("did you mean `renderWorkers`?"): a server starts with a warning naming them, since real
//! Webots configs and newer Drake files carry keys this version does not use, and `--check-config`
//! refuses them, since a typo there would otherwise pass a deploy gate unnoticed.

use std::fmt;

/// Lowest similarity (normalised Damerau–Levenshtein, 0 to 1) at which a known name is offered:
/// one slip in five characters (`light` → `lights`, `colour` → `color`), never an unrelated name.
const MIN_SIMILARITY: f64 = 0.7;

/// One unknown key: its dotted path (`vtkParams.lights[0].colour`) and the known names beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    pub path: String,
    /// The keys known at the same level, which the suggestion is chosen from.
    candidates: Vec<String>,
}

impl UnknownKey {
    /// `path`, with the names known at its level.
    pub fn new(path: String, candidates: Vec<String>) -> Self {
        Self { path, candidates }
    }

    /// The key's own name: the last segment of its path, without an index.
    pub fn name(&self) -> &str {
        let last = self.path.rsplit('.').next().unwrap_or(&self.path);
        last.split('[').next().unwrap_or(last)
    }

    /// The known name this one most likely meant, if one is close enough.
    pub fn suggestion(&self) -> Option<&str> {
        nearest(self.name(), self.candidates.iter().map(String::as_str))
    }

    /// Adds the names another view of the same file knows at this key's level.
    pub fn merge_candidates(&mut self, other: &UnknownKey) {
        for candidate in &other.candidates {
            if !self.candidates.contains(candidate) {
                self.candidates.push(candidate.clone());
            }
        }
    }
}

/// `path (did you mean known?)`, or the path alone.
impl fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.suggestion() {
            Some(known) => write!(f, "{} (did you mean {known}?)", self.path),
            None => f.write_str(&self.path),
        }
    }
}

/// Tests and callers compare an unknown key with the path they expect.
impl PartialEq<&str> for UnknownKey {
    fn eq(&self, other: &&str) -> bool {
        self.path == *other
    }
}

/// The name in `known` nearest to `given`, ignoring case, `_` and `-` (so `max_body_bytes` finds
/// `maxBodyBytes`), when it is similar enough to be a slip.
pub fn nearest<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let squash = |name: &str| -> String {
        name.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let given = squash(given);
    known
        .into_iter()
        .map(|name| {
            let similarity = strsim::normalized_damerau_levenshtein(&given, &squash(name));
            (similarity, name)
        })
        .filter(|(similarity, _)| *similarity >= MIN_SIMILARITY)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name)
}

/// The keys of `given` (what the file holds) that `known` (what was read from it, serialised back)
/// lacks, as dotted paths under `prefix`, each with the keys `known` has at its level.
pub fn collect(
    given: &serde_json::Value,
    known: &serde_json::Value,
    prefix: &str,
    out: &mut Vec<UnknownKey>,
) {
    use serde_json::Value;
    if let (Value::Array(given), Value::Array(known)) = (given, known) {
        for (index, (value, known_value)) in given.iter().zip(known).enumerate() {
            collect(value, known_value, &format!("{prefix}[{index}]"), out);
        }
        return;
    }
    let (Value::Object(given), Value::Object(known)) = (given, known) else {
        return;
    };
    for (key, value) in given {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match known.get(key) {
            None => out.push(UnknownKey::new(path, known.keys().cloned().collect())),
            Some(known_value) => collect(value, known_value, &path, out),
        }
    }
}

/// The names known beside `path` in `known`, a value serialised back from what was read
/// (`lights[2].penumbra` → the fields of the third light); empty when the path leaves `known`.
pub fn siblings(known: &serde_json::Value, path: &str) -> Vec<String> {
    let mut segments: Vec<&str> = path.split('.').collect();
    segments.pop();
    let mut at = known;
    for segment in segments {
        let (name, indexes) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        if !name.is_empty() {
            match at.get(name) {
                Some(next) => at = next,
                None => return Vec::new(),
            }
        }
        for index in indexes.split(['[', ']']).filter(|s| !s.is_empty()) {
            match index.parse::<usize>().ok().and_then(|i| at.get(i)) {
                Some(next) => at = next,
                None => return Vec::new(),
            }
        }
    }
    at.as_object()
        .map(|object| object.keys().cloned().collect())
        .unwrap_or_default()
}

/// The keys unknown to every view of one file: `views` are the unknown keys of each type the file
/// was parsed as. A nested key (`launch.extra`) counts as used by a view that left its whole
/// top-level key (`launch`) unused only if that view does not know the top-level key at all. Each
/// key kept offers the names every view knows at its level.
pub fn in_all(views: &[&[UnknownKey]]) -> Vec<UnknownKey> {
    let Some((first, rest)) = views.split_first() else {
        return Vec::new();
    };
    first
        .iter()
        .filter(|key| {
            let top = key.path.split('.').next().unwrap_or(&key.path);
            rest.iter()
                .all(|other| other.iter().any(|k| k.path == key.path || k.path == top))
        })
        .map(|key| {
            let mut merged = key.clone();
            for other in rest.iter().flat_map(|view| view.iter()) {
                if other.path == key.path {
                    merged.merge_candidates(other);
                }
            }
            merged
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slips_find_their_name_and_strangers_find_none() {
        let keys = ["renderWorkers", "maxImageDimension", "maxBodyBytes", "port"];
        assert_eq!(nearest("renderWorker", keys), Some("renderWorkers"));
        assert_eq!(
            nearest("maxImageDimensions", keys),
            Some("maxImageDimension")
        );
        assert_eq!(nearest("max_body_bytes", keys), Some("maxBodyBytes"));
        assert_eq!(nearest("webotsHome", keys), None);
        assert_eq!(nearest("host", keys), None);
        assert_eq!(
            nearest("intensty", ["intensity", "color"]),
            Some("intensity")
        );
        assert_eq!(nearest("light", ["lights", "exposure"]), Some("lights"));
    }

    #[test]
    fn unknown_keys_carry_their_level_and_say_what_they_meant() {
        let given =
            serde_json::json!({"port": 1, "prot": 2, "look": {"lights": [{"intensty": 1}]}});
        let known =
            serde_json::json!({"port": 1, "look": {"lights": [{"intensity": 0, "color": 0}]}});
        let mut out = Vec::new();
        collect(&given, &known, "", &mut out);
        assert_eq!(out, ["look.lights[0].intensty", "prot"]);
        assert_eq!(
            out[0].to_string(),
            "look.lights[0].intensty (did you mean intensity?)"
        );
        assert_eq!(out[1].to_string(), "prot (did you mean port?)");
        assert_eq!(out[0].name(), "intensty");
    }

    #[test]
    fn siblings_follow_the_path_into_lists() {
        let known =
            serde_json::json!({"lights": [{"type": "spot"}, {"type": "point", "intensity": 1}]});
        let mut names = siblings(&known, "lights[1].penumbra");
        names.sort();
        assert_eq!(names, ["intensity", "type"]);
        assert_eq!(siblings(&known, "light").len(), 1);
        assert!(siblings(&known, "lights[7].x").is_empty());
    }

    #[test]
    fn a_key_unknown_to_one_view_only_is_known() {
        let role = [
            UnknownKey::new("port".into(), vec!["endpoint".into()]),
            UnknownKey::new("prot".into(), vec!["endpoint".into()]),
        ];
        let shared = [UnknownKey::new("prot".into(), vec!["port".into()])];
        let unknown = in_all(&[&role, &shared]);
        assert_eq!(unknown, ["prot"]);
        assert_eq!(unknown[0].suggestion(), Some("port"));
    }
}
