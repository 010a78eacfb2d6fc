//! Wavefront OBJ read as Drake 1.51 reads it for RenderEngineVtk: tinyobjloader (at the commit
//! Drake pins, built in double precision, with Drake's patches) through `LoadRenderMeshesFromObj`.
//!
//! # Why not the `tobj` crate
//! It triangulates every polygon as a fan; tinyobjloader cuts quads along their shorter diagonal
//! and ear-clips larger polygons ([`triangulate`]), which changes how a non-planar quad is shaded.
//! Its index, material and number rules differ in the corners Drake users hit (negative indices,
//! `Tr`, a `map_Kd` without `Kd`, several libraries), and it cannot be held to our limits while it
//! reads. So the reader here follows tinyobjloader line for line ([`tokens`], [`mtl`]).
//!
//! # What is read
//! `v` (x y z; more values ignored), `vn`, `vt` (u v), `f` (any number of `v`, `v/vt`, `v//vn`,
//! `v/vt/vn` corners, negative indices counting back from the last element read so far), `usemtl`,
//! `mtllib` (names split at spaces, `\ ` escapes one; of one line's names the first that loads is
//! used). `l` and `p` are parsed (a bad index there refuses the file, as it does in tinyobjloader)
//! but not drawn; everything else is skipped. A face of fewer than three corners is skipped.
//!
//! # Where we refuse what Drake would not survive
//! An index past the end of its list (tinyobjloader only warns, then Drake reads out of bounds)
//! is an error here, checked once the whole file is read (forward references are allowed, as in
//! tinyobjloader; a quad or polygon referring forward is triangulated with the final positions).

mod mtl;
mod tokens;
mod triangulate;

pub use mtl::MtlMaterial;

use std::sync::Arc;

use super::SceneError;
use mtl::Materials;
use tokens::{is_space, Cursor};

/// One face corner: 0-based indices, `-1` where the corner has no texture coordinate or normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Corner {
    pub vertex: i32,
    pub texcoord: i32,
    pub normal: i32,
}

/// A triangle after tinyobjloader's triangulation, with the material in effect for its face
/// (`None`: no `usemtl`, or one naming no loaded material).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Triangle {
    pub corners: [Corner; 3],
    pub material: Option<usize>,
}

/// What an OBJ file holds, as tinyobjloader returns it.
#[derive(Debug, Default)]
pub struct ObjFile {
    pub vertices: Vec<[f64; 3]>,
    pub normals: Vec<[f64; 3]>,
    pub texcoords: Vec<[f64; 2]>,
    pub triangles: Vec<Triangle>,
    pub materials: Vec<MtlMaterial>,
}

/// The limits and material libraries a read works within.
pub struct ReadContext<'a> {
    /// The file's name, to say where a problem is.
    pub name: &'a str,
    /// Read materials (`mtllib`, `usemtl`); off for a Convex, which needs only the vertices
    /// (Drake then reads without a material reader, which skips both).
    pub materials: bool,
    /// A material library's bytes by the name `mtllib` gives; `None` if there is no such file
    /// (Drake warns and the faces get no material).
    pub library: &'a mut dyn FnMut(&str) -> Option<Arc<[u8]>>,
    /// Called with the triangles and bytes read so far after every line that adds any; its error
    /// (a limit) stops the read.
    pub admit: &'a mut dyn FnMut(u64, u64) -> Result<(), SceneError>,
}

/// A face before triangulation.
struct Face {
    corners: Vec<Corner>,
    material: Option<usize>,
}

/// Estimated bytes one element of each list costs while reading.
const VERTEX_BYTES: u64 = 24;
const TEXCOORD_BYTES: u64 = 16;
const CORNER_BYTES: u64 = 12;
const FACE_BYTES: u64 = 40;
const TRIANGLE_BYTES: u64 = 48;

/// The lines of `text` as `safeGetline` splits them: at `\n`, `\r\n` or a lone `\r`.
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .unwrap_or(rest.len());
        let line = &rest[..end];
        let skip = match (rest.get(end), rest.get(end + 1)) {
            (Some(b'\r'), Some(b'\n')) => 2,
            (Some(_), _) => 1,
            (None, _) => 0,
        };
        rest = &rest[end + skip..];
        Some(line)
    })
}

/// tinyobjloader's `fixIndex`: 1-based, negative counts back from `count`; 0 is refused for a
/// vertex and means "none" (−1) elsewhere.
fn fix_index(index: i32, count: usize, allow_zero: bool) -> Option<i32> {
    match index {
        1.. => Some(index - 1),
        0 => allow_zero.then_some(-1),
        _ => {
            let resolved = i64::try_from(count).ok()? + i64::from(index);
            (resolved >= 0).then_some(resolved as i32)
        }
    }
}

/// `parseTriple`: one `v[/vt][/vn]` corner.
fn corner(token: &mut Cursor, counts: [usize; 3]) -> Option<Corner> {
    let [vertices, normals, texcoords] = counts;
    let stop = b"/ \t\r";
    let mut corner = Corner {
        vertex: fix_index(token.atoi(), vertices, false)?,
        texcoord: -1,
        normal: -1,
    };
    token.take_until(stop);
    if token.peek(0) != b'/' {
        return Some(corner);
    }
    token.advance(1);
    if token.peek(0) == b'/' {
        token.advance(1);
        corner.normal = fix_index(token.atoi(), normals, true)?;
        token.take_until(stop);
        return Some(corner);
    }
    corner.texcoord = fix_index(token.atoi(), texcoords, true)?;
    token.take_until(stop);
    if token.peek(0) != b'/' {
        return Some(corner);
    }
    token.advance(1);
    corner.normal = fix_index(token.atoi(), normals, true)?;
    token.take_until(stop);
    Some(corner)
}

/// `SplitString(text, ' ', '\\')`: names separated by spaces, `\ ` and `\\` escaped; the last
/// (possibly empty) piece is always kept.
fn library_names(text: &[u8]) -> Vec<String> {
    let (mut names, mut name, mut escaping) = (Vec::new(), Vec::new(), false);
    for (i, &byte) in text.iter().enumerate() {
        if escaping {
            escaping = false;
        } else if byte == b'\\' && matches!(text.get(i + 1), Some(b' ' | b'\\')) {
            escaping = true;
            continue;
        } else if byte == b' ' {
            if !name.is_empty() {
                names.push(String::from_utf8_lossy(&name).into_owned());
            }
            name.clear();
            continue;
        }
        name.push(byte);
    }
    names.push(String::from_utf8_lossy(&name).into_owned());
    names
}

/// Reads an OBJ file.
///
/// # Errors
/// A corner tinyobjloader cannot parse (index 0, a relative index before the first element),
/// an index past the end of its list, or what `context.admit` refuses.
pub fn read(text: &[u8], context: &mut ReadContext) -> Result<ObjFile, SceneError> {
    let mut file = ObjFile::default();
    let mut faces: Vec<Face> = Vec::new();
    let mut materials = Materials::default();
    let mut loaded_libraries: Vec<String> = Vec::new();
    let mut material: Option<usize> = None;
    let (mut triangles, mut corners) = (0u64, 0u64);
    for (number, raw) in lines(text).enumerate() {
        let line_number = number + 1;
        let mut token = Cursor::new(raw);
        token.skip_any(b" \t");
        let starts = |token: &Cursor, keyword: &[u8]| token.rest().starts_with(keyword);
        let fail = |what: &str| {
            SceneError::invalid(
                context.name,
                format!("line {line_number}: cannot parse {what} (an index is 0 or before the first element)"),
            )
        };
        let counts = [
            file.vertices.len(),
            file.normals.len(),
            file.texcoords.len(),
        ];
        match (token.peek(0), token.peek(1), token.peek(2)) {
            (0 | b'#', _, _) => continue,
            (b'v', s, _) if is_space(s) => {
                token.advance(2);
                file.vertices
                    .push([token.real(0.0), token.real(0.0), token.real(0.0)]);
            }
            (b'v', b'n', s) if is_space(s) => {
                token.advance(3);
                file.normals
                    .push([token.real(0.0), token.real(0.0), token.real(0.0)]);
            }
            (b'v', b't', s) if is_space(s) => {
                token.advance(3);
                file.texcoords.push([token.real(0.0), token.real(0.0)]);
            }
            (kind @ (b'l' | b'p' | b'f'), s, _) if is_space(s) => {
                token.advance(2);
                token.skip_any(b" \t");
                let mut face = Vec::new();
                while !token.at_end() {
                    let what = match kind {
                        b'f' => "`f' line",
                        b'l' => "`l' line",
                        _ => "`p' line",
                    };
                    face.push(corner(&mut token, counts).ok_or_else(|| fail(what))?);
                    token.skip_any(b" \t\r");
                }
                if kind == b'f' && face.len() >= 3 {
                    triangles += face.len() as u64 - 2;
                    corners += face.len() as u64;
                    faces.push(Face {
                        corners: face,
                        material,
                    });
                }
            }
            _ if context.materials && starts(&token, b"usemtl") => {
                token.advance(6);
                material = materials.index(&token.string());
            }
            _ if context.materials && starts(&token, b"mtllib") && is_space(token.peek(6)) => {
                token.advance(7);
                for name in library_names(token.rest()) {
                    if loaded_libraries.contains(&name) {
                        continue;
                    }
                    if let Some(library) = (context.library)(&name) {
                        materials.load(&library);
                        loaded_libraries.push(name);
                        break;
                    }
                }
            }
            _ => continue,
        }
        let bytes = VERTEX_BYTES * (file.vertices.len() + file.normals.len()) as u64
            + TEXCOORD_BYTES * file.texcoords.len() as u64
            + CORNER_BYTES * corners
            + FACE_BYTES * faces.len() as u64
            + TRIANGLE_BYTES * triangles;
        (context.admit)(triangles, bytes)?;
    }
    file.materials = materials.list;
    check_indices(&file, &faces, context.name)?;
    file.triangles = triangulated(&file.vertices, faces);
    Ok(file)
}

/// Every index within its list, now that the whole file is read.
fn check_indices(file: &ObjFile, faces: &[Face], name: &str) -> Result<(), SceneError> {
    let lists = [
        ("vertex", file.vertices.len()),
        ("texture coordinate", file.texcoords.len()),
        ("normal", file.normals.len()),
    ];
    for corner in faces.iter().flat_map(|face| &face.corners) {
        let indices = [corner.vertex, corner.texcoord, corner.normal];
        for ((what, count), index) in lists.iter().zip(indices) {
            if index >= 0 && index as usize >= *count {
                return Err(SceneError::invalid(
                    name,
                    format!(
                        "a face refers to {what} {} but the file has {count}",
                        i64::from(index) + 1
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn triangulated(vertices: &[[f64; 3]], faces: Vec<Face>) -> Vec<Triangle> {
    let mut triangles = Vec::with_capacity(faces.iter().map(|f| f.corners.len() - 2).sum());
    for face in faces {
        let positions: Vec<[f64; 3]> = (face.corners.iter())
            .map(|c| vertices[c.vertex as usize])
            .collect();
        for [a, b, c] in triangulate::triangulate(&positions) {
            triangles.push(Triangle {
                corners: [face.corners[a], face.corners[b], face.corners[c]],
                material: face.material,
            });
        }
    }
    triangles
}

#[cfg(test)]
mod tests;
