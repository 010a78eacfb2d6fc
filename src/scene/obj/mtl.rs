//! Material libraries as tinyobjloader's `LoadMtl` reads them for Drake, limited to what
//! RenderEngineVtk uses: `Kd`, `d` / `Tr` (opacity) and `map_Kd`'s file name.
//!
//! tinyobjloader's rules kept: a material is kept when the next `newmtl` starts (if it has a name)
//! and at the end of the file (always, even unnamed); a name already defined keeps its first
//! definition; `d` wins over `Tr` (opacity 1 − Tr); `map_Kd` takes its options (`-s 1 1 1`, ...)
//! and then the rest of the line as the file name, spaces included; with Drake's patch, a
//! material with `map_Kd` but no `Kd` is white so the image shows as it is. A missing value reads
//! as 0.

use std::collections::HashMap;

use super::tokens::{is_space, Cursor};

/// What RenderEngineVtk reads of an MTL material.
#[derive(Debug, Clone, PartialEq)]
pub struct MtlMaterial {
    pub name: String,
    /// `Kd`.
    pub diffuse: [f64; 3],
    /// `d`, or `1 − Tr`.
    pub dissolve: f64,
    /// `map_Kd`'s file name, as written.
    pub diffuse_texture: Option<String>,
}

impl MtlMaterial {
    /// tinyobjloader's `InitMaterial`: black, opaque, no texture.
    fn new() -> Self {
        Self {
            name: String::new(),
            diffuse: [0.0; 3],
            dissolve: 1.0,
            diffuse_texture: None,
        }
    }
}

/// Every material of every library an OBJ loaded, and the index each name resolves to.
#[derive(Debug, Default)]
pub struct Materials {
    pub list: Vec<MtlMaterial>,
    by_name: HashMap<String, usize>,
}

impl Materials {
    pub fn index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// `material_map->insert(...)` then `push_back`: a repeated name keeps its first index.
    fn keep(&mut self, material: MtlMaterial) {
        self.by_name
            .entry(material.name.clone())
            .or_insert(self.list.len());
        self.list.push(material);
    }

    /// `LoadMtl` over one library's bytes.
    pub fn load(&mut self, library: &[u8]) {
        let mut material = MtlMaterial::new();
        let (mut has_d, mut has_kd) = (false, false);
        for raw in super::lines(library) {
            // `LoadMtl` trims trailing blanks before reading a line.
            let end = raw.iter().rposition(|&b| !is_space(b)).map_or(0, |i| i + 1);
            let mut token = Cursor::new(&raw[..end]);
            token.skip_any(b" \t");
            let at = |cursor: &Cursor, text: &[u8]| cursor.rest().starts_with(text);
            match token.peek(0) {
                0 | b'#' => continue,
                _ => {}
            }
            if at(&token, b"newmtl") && is_space(token.peek(6)) {
                if !material.name.is_empty() {
                    self.keep(std::mem::replace(&mut material, MtlMaterial::new()));
                } else {
                    material = MtlMaterial::new();
                }
                (has_d, has_kd) = (false, false);
                token.advance(7);
                material.name = token.string();
            } else if at(&token, b"Kd") && is_space(token.peek(2)) {
                token.advance(2);
                material.diffuse = [token.real(0.0), token.real(0.0), token.real(0.0)];
                has_kd = true;
            } else if token.peek(0) == b'd' && is_space(token.peek(1)) {
                token.advance(1);
                material.dissolve = token.real(0.0);
                has_d = true;
            } else if at(&token, b"Tr") && is_space(token.peek(2)) {
                token.advance(2);
                if !has_d {
                    material.dissolve = 1.0 - token.real(0.0);
                }
            } else if at(&token, b"map_Kd") && is_space(token.peek(6)) {
                token.advance(7);
                if let Some(name) = texture_name(token) {
                    material.diffuse_texture = Some(name);
                }
                if !has_kd {
                    material.diffuse = [1.0; 3];
                }
            }
        }
        self.keep(material);
    }
}

/// `ParseTextureNameAndOption`: options skipped as tinyobjloader parses them, then the rest of
/// the line is the name.
fn texture_name(mut token: Cursor) -> Option<String> {
    let mut name = None;
    while !token.at_end() {
        token.skip_any(b" \t");
        let option = |text: &[u8], token: &Cursor| {
            token.rest().starts_with(text) && is_space(token.peek(text.len()))
        };
        // (option, bytes its keyword takes, how many values follow)
        let options: [(&[u8], usize, usize); 13] = [
            (b"-blendu", 8, 1),
            (b"-blendv", 8, 1),
            (b"-clamp", 7, 1),
            (b"-boost", 7, 1),
            (b"-bm", 4, 1),
            (b"-o", 3, 3),
            (b"-s", 3, 3),
            (b"-t", 3, 3),
            (b"-type", 5, 1),
            (b"-texres", 7, 1),
            (b"-imfchan", 9, 1),
            (b"-mm", 4, 2),
            (b"-colorspace", 12, 1),
        ];
        match options.iter().find(|(text, _, _)| option(text, &token)) {
            Some(&(_, skip, values)) => {
                token.advance(skip);
                for _ in 0..values {
                    token.skip_any(b" \t");
                    token.take_until(b" \t\r");
                }
            }
            None => {
                let rest = token.rest();
                name = Some(String::from_utf8_lossy(rest).into_owned());
                token.advance(rest.len());
            }
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Materials {
        let mut materials = Materials::default();
        materials.load(text.as_bytes());
        materials
    }

    #[test]
    fn kd_d_tr_and_map_kd_are_read_with_tinyobjs_precedence() {
        let materials = load(
            "# comment\nnewmtl red\nKd 1 0 0\nTr 0.25\nnewmtl glass\nd 0.5\nTr 0.9\nKd 0 0 1\n\
             newmtl wood  \nmap_Kd -s 2 2 1 -clamp on textures/my wood.png  \n",
        );
        let names: Vec<&str> = materials.list.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["red", "glass", "wood"]);
        assert_eq!(materials.list[0].dissolve, 0.75);
        assert_eq!(materials.list[1].dissolve, 0.5);
        let wood = &materials.list[materials.index("wood").unwrap()];
        assert_eq!(
            wood.diffuse_texture.as_deref(),
            Some("textures/my wood.png")
        );
    }

    /// Drake's patch makes a texture-only material white, whatever the materials before it
    /// set (measured with pydrake 1.51.1: a `map_Kd`-only material after one with `Kd` renders
    /// its texture untinted; the older tinyobjloader this reader was first read from kept the
    /// earlier `Kd`'s flag and drew it black).
    #[test]
    fn map_kd_without_kd_is_white() {
        let first = load("newmtl tex\nmap_Kd a.png\n");
        assert_eq!(first.list[0].diffuse, [1.0; 3]);
        let after = load("newmtl red\nKd 1 0 0\nnewmtl tex\nmap_Kd a.png\n");
        assert_eq!(after.list[1].diffuse, [1.0; 3]);
    }

    #[test]
    fn the_first_definition_of_a_name_wins_and_the_last_material_is_kept_unnamed_too() {
        let materials = load("newmtl a\nKd 1 1 1\nnewmtl a\nKd 0 0 0\n");
        assert_eq!(materials.list.len(), 2);
        assert_eq!(materials.index("a"), Some(0));
        let unnamed = load("Kd 0.5 0.5 0.5\n");
        assert_eq!(unnamed.list.len(), 1);
        assert_eq!(unnamed.index(""), Some(0));
    }

    /// An option that eats the name leaves none (`-o` takes three values).
    #[test]
    fn options_consume_their_values() {
        let materials = load("newmtl m\nmap_Kd -o 1 tex.png\n");
        assert_eq!(materials.list[0].diffuse_texture, None);
    }
}
