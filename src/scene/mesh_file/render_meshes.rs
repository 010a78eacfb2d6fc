//! Drake's `LoadRenderMeshesFromObj` (`geometry/render/render_mesh.cc`) over our OBJ reader:
//!
//! 1. An OBJ without faces, without any `vn`, or with a face corner without a normal is refused,
//!    with Drake's reasons.
//! 2. Corners become vertices: one per distinct (position, normal, texture coordinate) index
//!    triple, in order of first use over the whole file.
//! 3. Triangles are grouped by material index, groups in increasing order (faces without a
//!    material first); each group is one part, its vertices renumbered in order of first use.
//! 4. A part's texture coordinates count as full when every corner of its faces has one; only
//!    then does a texture apply.
//!
//! Positions are rounded to f32 as VTK's mapper sends them, normals normalised (the shader
//! normalises anyway), texture coordinates flipped to the scene's top-row origin. Triangles two
//! of whose corners have equal positions are not drawn, as VTK's mapper leaves them out.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use glam::DMat4;

use super::{Budget, MeshFile, MeshFileSource, MeshPart, PartMaterial};
use crate::scene::obj::{self, Corner, ObjFile, ReadContext};
use crate::scene::{Mesh, SceneError};

/// Bytes one output vertex and one triangle cost (the mesh and the renumbering maps).
const PART_VERTEX_BYTES: u64 = 64;
const PART_TRIANGLE_BYTES: u64 = 24;

/// Reads the OBJ for a `Convex`: every `v`, without materials.
pub(super) fn vertices(
    source: &MeshFileSource,
    budget: &mut Budget,
) -> Result<Vec<[f64; 3]>, SceneError> {
    Ok(read(source, budget, false)?.vertices)
}

fn read(
    source: &MeshFileSource,
    budget: &mut Budget,
    materials: bool,
) -> Result<ObjFile, SceneError> {
    let resolve = source.resolve;
    let mut library = |name: &str| resolve(name);
    let mut admit = |triangles: u64, bytes: u64| {
        budget.triangles(triangles)?;
        budget.hold(bytes)
    };
    let mut context = ReadContext {
        name: source.name,
        materials,
        library: &mut library,
        admit: &mut admit,
    };
    obj::read(source.main, &mut context)
}

/// The parts RenderEngineVtk draws for an OBJ `Mesh`.
pub(super) fn load(source: &MeshFileSource, budget: &mut Budget) -> Result<MeshFile, SceneError> {
    let file = read(source, budget, true)?;
    let refuse = |reason: &str| SceneError::invalid(source.name, reason);
    if file.triangles.is_empty() {
        return Err(refuse(
            "the OBJ data has no faces (Drake: it could be missing faces or might not be an OBJ file)",
        ));
    }
    if file.normals.is_empty() {
        return Err(refuse("the OBJ has no normals (Drake requires them)"));
    }
    if (file.triangles.iter()).any(|t| t.corners.iter().any(|c| c.normal < 0)) {
        return Err(refuse(
            "not all faces reference normals (Drake requires them)",
        ));
    }
    let triangle_count = file.triangles.len() as u64;
    budget.charge(triangle_count * (3 * PART_VERTEX_BYTES + PART_TRIANGLE_BYTES))?;

    // (2) One vertex per distinct corner, in order of first use.
    let mut vertex_of: HashMap<Corner, u32> = HashMap::new();
    let mut corners: Vec<Corner> = Vec::new();
    // (3) Triangles by material, as vertex triples; texture coordinates counted per material.
    let mut groups: BTreeMap<i64, (Vec<[u32; 3]>, usize)> = BTreeMap::new();
    for triangle in &file.triangles {
        let ids = triangle.corners.map(|corner| {
            *vertex_of.entry(corner).or_insert_with(|| {
                corners.push(corner);
                corners.len() as u32 - 1
            })
        });
        let material = triangle.material.map_or(-1, |m| m as i64);
        let (triangles, with_uv) = groups.entry(material).or_default();
        triangles.push(ids);
        *with_uv += triangle.corners.iter().filter(|c| c.texcoord >= 0).count();
    }
    let sibling_png = if groups.contains_key(&-1) {
        budget.texture(&sibling_png_name(source.name), source.resolve)?
    } else {
        None
    };
    let mut parts = Vec::with_capacity(groups.len());
    for (material, (triangles, with_uv)) in groups {
        let full_tex_coords = with_uv == 3 * triangles.len();
        let part_material = if material < 0 {
            PartMaterial::FromProperties {
                full_tex_coords,
                sibling_png: sibling_png.clone(),
            }
        } else {
            let mtl = &file.materials[material as usize];
            let texture = match (&mtl.diffuse_texture, full_tex_coords) {
                (Some(name), true) => budget.texture(name, source.resolve)?,
                _ => None,
            };
            let [r, g, b] = mtl.diffuse;
            PartMaterial::Mtl {
                diffuse: [r, g, b, mtl.dissolve],
                texture,
            }
        };
        parts.push(MeshPart {
            mesh: Arc::new(part_mesh(&file, &corners, &triangles, full_tex_coords)),
            part_to_geometry: DMat4::IDENTITY,
            material: part_material,
        });
    }
    Ok(MeshFile {
        parts,
        user_gltf: false,
    })
}

/// `<stem>.png` beside the OBJ (Drake's legacy texture for faces without a material), named
/// as the resolver names files: relative to the OBJ's folder.
fn sibling_png_name(obj_name: &str) -> String {
    let stem = Path::new(obj_name).file_stem().unwrap_or_default();
    format!("{}.png", stem.to_string_lossy())
}

/// One part: its vertices renumbered in order of first use by its triangles.
fn part_mesh(file: &ObjFile, corners: &[Corner], triangles: &[[u32; 3]], uv: bool) -> Mesh {
    let mut renumbered: HashMap<u32, u32> = HashMap::new();
    let mut used: Vec<u32> = Vec::new();
    let mut indices = Vec::with_capacity(3 * triangles.len());
    let mut positions_f64: Vec<[f64; 3]> = Vec::new();
    for triangle in triangles {
        let local = triangle.map(|full| {
            *renumbered.entry(full).or_insert_with(|| {
                used.push(full);
                positions_f64.push(file.vertices[corners[full as usize].vertex as usize]);
                used.len() as u32 - 1
            })
        });
        // VTK's points are doubles here (Drake's `DrakeObjSource`); the mapper compares those.
        let [a, b, c] = local.map(|i| positions_f64[i as usize]);
        if a != b && a != c && b != c {
            indices.extend(local);
        }
    }
    let corner = |full: &u32| corners[*full as usize];
    let positions = positions_f64.iter().map(|p| p.map(|c| c as f32)).collect();
    let normals = (used.iter())
        .map(|full| unit(file.normals[corner(full).normal as usize]))
        .collect();
    let tex_coords = uv.then(|| {
        (used.iter())
            .map(|full| {
                let [u, v] = file.texcoords[corner(full).texcoord as usize];
                [u as f32, (1.0 - v) as f32]
            })
            .collect()
    });
    Mesh::new(positions, normals, tex_coords, indices)
}

fn unit(normal: [f64; 3]) -> [f32; 3] {
    let length = (normal[0] * normal[0] + normal[1] * normal[1] + normal[2] * normal[2]).sqrt();
    if length == 0.0 || !length.is_finite() {
        return [0.0; 3];
    }
    normal.map(|c| (c / length) as f32)
}
