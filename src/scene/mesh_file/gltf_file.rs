//! A user's glTF (or GLB) `Mesh` through the request loader ([`crate::scene::gltf`]), as
//! RenderEngineVtk's `ImplementGltf` draws it: each primitive where its nodes place it in the
//! file's frame F, turned into G by Drake's `R_GF` (y-up to z-up: columns x, z, −y), with the
//! file's own materials.
//!
//! The loader reads data URIs only, so the file's relative URIs (buffers, images; tried as
//! written, then percent-decoded) and a GLB's binary chunk are inlined as data URIs first, each
//! byte charged to the load's budget. The document is then marked as a user glTF the way Drake's
//! glTF merger marks one, which is what makes the loader apply glTF's material rules (PBR
//! factors, back faces culled unless double-sided) instead of VTK exporter's.

use std::sync::Arc;

use base64::Engine as _;
use glam::{DMat4, DVec4};
use serde_json::Value;

use super::{Budget, MeshFile, MeshFileSource, MeshFormat, MeshPart, PartMaterial};
use crate::scene::gltf::{load_within, MERGER_GENERATOR, VTK_ROOT};
use crate::scene::merge::percent_decode;
use crate::scene::{LoadOptions, Scene, SceneError};

/// Drake's `R_GF`: the file's y-up frame F in the geometry's z-up frame G.
pub const R_GF: DMat4 = DMat4::from_cols(
    DVec4::new(1.0, 0.0, 0.0, 0.0),
    DVec4::new(0.0, 0.0, 1.0, 0.0),
    DVec4::new(0.0, -1.0, 0.0, 0.0),
    DVec4::new(0.0, 0.0, 0.0, 1.0),
);

const GLB_MAGIC: &[u8; 4] = b"glTF";
const CHUNK_JSON: u32 = 0x4E4F_534A;
const CHUNK_BIN: u32 = 0x004E_4942;

/// The parts of a glTF `Mesh`.
pub(super) fn load(source: &MeshFileSource, budget: &mut Budget) -> Result<MeshFile, SceneError> {
    let scene = scene(source, budget, budget.options.decode_textures)?;
    let parts = (scene.instances.iter())
        .map(|instance| MeshPart {
            mesh: scene.meshes[instance.mesh].clone(),
            part_to_geometry: R_GF * instance.model_to_world,
            material: PartMaterial::Gltf {
                material: Box::new(instance.material.clone()),
                textures: scene.textures.clone(),
            },
        })
        .collect();
    Ok(MeshFile {
        parts,
        user_gltf: true,
    })
}

/// Every drawn vertex of the file in G, before scale, for a `Convex`.
pub(super) fn vertices(
    source: &MeshFileSource,
    budget: &mut Budget,
) -> Result<Vec<[f64; 3]>, SceneError> {
    let scene = scene(source, budget, false)?;
    let mut vertices = Vec::new();
    for instance in &scene.instances {
        let to_geometry = R_GF * instance.model_to_world;
        let mesh = &scene.meshes[instance.mesh];
        vertices.extend(mesh.positions.iter().map(|p| {
            to_geometry
                .transform_point3(p.map(f64::from).into())
                .to_array()
        }));
    }
    Ok(vertices)
}

/// The file loaded as one scene, in F.
fn scene(
    source: &MeshFileSource,
    budget: &mut Budget,
    decode_textures: bool,
) -> Result<Scene, SceneError> {
    let document = inlined(source, budget)?;
    let options = LoadOptions {
        decode_textures,
        max_decoded_bytes: (budget.options.max_decoded_bytes).saturating_sub(budget.charged),
        ..budget.options.clone()
    };
    load_within(&document, &options, None, budget.reserve).map_err(|error| match error {
        SceneError::Invalid { path, reason } => SceneError::Invalid {
            path: format!("{}: {path}", source.name),
            reason,
        },
        other => other,
    })
}

/// A GLB's JSON and binary chunks.
fn split_glb<'b>(bytes: &'b [u8], name: &str) -> Result<(&'b [u8], Option<&'b [u8]>), SceneError> {
    let bad = |reason: &str| SceneError::invalid(name, format!("bad GLB: {reason}"));
    let word = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if !bytes.starts_with(GLB_MAGIC) || word(4) != Some(2) {
        return Err(bad("not a version 2 GLB header"));
    }
    let total = word(8).ok_or_else(|| bad("truncated header"))? as usize;
    let bytes = bytes
        .get(..total)
        .ok_or_else(|| bad("shorter than its header says"))?;
    let mut chunks = Vec::new();
    let mut at = 12;
    while at < bytes.len() {
        let (Some(length), Some(kind)) = (word(at), word(at + 4)) else {
            return Err(bad("truncated chunk header"));
        };
        let start = at + 8;
        let data = (start.checked_add(length as usize))
            .and_then(|end| bytes.get(start..end))
            .ok_or_else(|| bad("a chunk runs past the end"))?;
        chunks.push((kind, data));
        at = start + length as usize;
    }
    match chunks[..] {
        [(CHUNK_JSON, json), ref rest @ ..] => Ok((
            json,
            rest.first()
                .filter(|(kind, _)| *kind == CHUNK_BIN)
                .map(|&(_, data)| data),
        )),
        _ => Err(bad("the first chunk is not JSON")),
    }
}

fn data_uri(bytes: &[u8]) -> String {
    format!(
        "data:application/octet-stream;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The document with every external file and the GLB chunk inlined, marked as a user glTF.
fn inlined(source: &MeshFileSource, budget: &mut Budget) -> Result<Vec<u8>, SceneError> {
    let (json, binary) = match source.format {
        MeshFormat::Glb => split_glb(source.main, source.name)?,
        _ => (source.main, None),
    };
    budget.charge(json.len() as u64)?;
    let mut root: Value = serde_json::from_slice(json)
        .map_err(|err| SceneError::Json(format!("{}: {err}", source.name)))?;
    for list in ["buffers", "images"] {
        let Some(Value::Array(items)) = root.get_mut(list) else {
            continue;
        };
        for (index, item) in items.iter_mut().enumerate() {
            let Value::Object(item) = item else { continue };
            let path = format!("{}: {list}[{index}].uri", source.name);
            let bytes: Arc<[u8]> = match item.get("uri") {
                Some(Value::String(uri))
                    if uri
                        .get(..5)
                        .is_some_and(|s| s.eq_ignore_ascii_case("data:")) =>
                {
                    continue
                }
                Some(Value::String(uri)) => (source.resolve)(uri)
                    .or_else(|| percent_decode(uri).and_then(|decoded| (source.resolve)(&decoded)))
                    .ok_or_else(|| {
                        SceneError::invalid(&path, format!("{uri:?} was not sent with the mesh"))
                    })?,
                None if list == "buffers" && index == 0 => match binary {
                    Some(chunk) => Arc::from(chunk),
                    None => continue,
                },
                _ => continue,
            };
            // The file, its base64 text, and the document's copy of that text.
            budget.charge(bytes.len() as u64 * 3)?;
            item.insert("uri".to_owned(), Value::String(data_uri(&bytes)));
        }
    }
    mark_as_user_gltf(&mut root);
    serde_json::to_vec(&root).map_err(|err| SceneError::Json(format!("{}: {err}", source.name)))
}

/// Drake's merger's generator, and no root the loader would take for VTK's exporter's.
fn mark_as_user_gltf(root: &mut Value) {
    if let Value::Object(fields) = root {
        let asset = fields
            .entry("asset")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(asset) = asset {
            asset.insert(
                "generator".to_owned(),
                Value::String(MERGER_GENERATOR.to_owned()),
            );
        }
    }
    if let Some(Value::Array(nodes)) = root.get_mut("nodes") {
        for node in nodes {
            if node.get("name").and_then(Value::as_str) == Some(VTK_ROOT) {
                node["name"] = Value::String(format!("{VTK_ROOT} (user)"));
            }
        }
    }
}
