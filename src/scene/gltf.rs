//! The lenient glTF loader: the JSON Drake's `RenderEngineGltfClient` sends → a flattened
//! world-space [`Scene`].
//!
//! # Why not the `gltf` crate
//! `gltf-json` deserializes into owned `String`s and typed `Vec`s: Drake's empty scene
//! (`"nodes":null`, drake-gltf-protocol §3.3) is a hard error there, and a fix-up pass would have
//! to rebuild the document as a `serde_json::Value`, copying tens of MB of base64. So `json.rs` is a
//! small serde model of only the fields drawn, where `null` reads as empty and `uri`s borrow from
//! the request body; `target` on image bufferViews (§3.2) is simply never looked at.
//!
//! # Order of work
//! 1. Parse; refuse `extensionsRequired` entries that would change geometry we cannot decode.
//! 2. Walk `scenes[scene]` depth-first with an explicit stack (no recursion: a malicious depth
//!    cannot overflow the stack), each node visited once, so cycles and shared subtrees are errors
//!    instead of infinite or exponential work.
//! 3. Per mesh primitive: check the limits from the accessor counts *before* reading, then read,
//!    transform to the world frame, validate indices, flip the winding under mirroring matrices and
//!    compute normals. Buffers are base64-decoded once, on first use; images are decoded once,
//!    only in color scenes, after their header passed the pixel limit.
//!
//! Everything is deterministic: output order is traversal order, and no hash map is iterated.

mod buffers;
mod images;
mod json;
mod normals;
#[cfg(test)]
mod tests;

use glam::{DMat3, DMat4, DQuat, DVec3};
use tracing::warn;

use super::{CameraNode, Filter, Material, Mesh, Sampler, Scene, TextureRef, Wrap};
use crate::core::config::config_key;
use crate::core::limits;
use crate::core::quote::quote;
use buffers::Buffers;

/// What the loader may allocate and do; the render server fills it from its config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Config key `maxTriangles`. Vertices are bounded at three per allowed triangle too, so a
    /// mesh instanced by many nodes cannot multiply a small file into gigabytes.
    pub max_triangles: usize,
    /// Config key `maxTextures`: distinct images the materials reference.
    pub max_textures: usize,
    /// Config key `maxTexturePixels`, summed over the decoded textures.
    pub max_texture_pixels: u64,
    /// false for depth/label images: skip decoding textures (they are never sampled there).
    /// `TEXCOORD_0` is not read either, and materials carry no texture.
    pub decode_textures: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            max_triangles: limits::MAX_TRIANGLES,
            max_textures: limits::MAX_TEXTURES,
            max_texture_pixels: limits::MAX_TEXTURE_PIXELS,
            decode_textures: true,
        }
    }
}

/// Why a glTF was refused. Every variant is the client's fault (HTTP 400); `Display` is one short
/// line naming the glTF path at fault, fit for Drake's exception text.
#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    /// Not JSON, or a field of the wrong JSON type.
    #[error("invalid glTF JSON: {0}")]
    Json(String),
    /// An index past the end of the array it refers to.
    #[error("{path}: {kind} {index} out of range")]
    OutOfRange {
        path: String,
        kind: &'static str,
        index: usize,
    },
    /// A `uri` that is not a `data:` URI: the server never reads files or the network for a scene.
    #[error("{path}: external URIs are refused (only data: URIs are accepted)")]
    ExternalUri { path: String },
    /// An `extensionsRequired` entry the loader cannot honour (Draco, meshopt, KTX2, ...).
    #[error("extensionsRequired: {0} is not supported")]
    UnsupportedExtension(String),
    /// A configured limit was exceeded; names the config key that raises it.
    #[error("scene has {count} {what}; the limit is {limit} (config key {config_key})")]
    LimitExceeded {
        what: &'static str,
        count: u64,
        limit: u64,
        config_key: &'static str,
    },
    /// A node is its own ancestor.
    #[error("{path}: node {node} is its own ancestor (the node graph has a cycle)")]
    NodeCycle { path: String, node: usize },
    /// Any other malformed content at `path`.
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
}

impl SceneError {
    fn invalid(path: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }
}

/// `extensionsRequired` entries that only change looks (or that the accessor reader already
/// handles, like quantized attributes): drawing without them is close enough, refusing is not.
fn is_tolerated_extension(name: &str) -> bool {
    name.starts_with("KHR_materials_")
        || matches!(
            name,
            "KHR_texture_transform" | "KHR_lights_punctual" | "KHR_mesh_quantization"
        )
}

/// Builds the scene to draw from glTF JSON bytes.
///
/// # Errors
/// Any [`SceneError`]: malformed or unsupported content, an external URI, or a limit in `options`.
pub fn load(gltf_json: &[u8], options: &LoadOptions) -> Result<Scene, SceneError> {
    if gltf_json.starts_with(b"glTF") {
        return Err(SceneError::Json(
            "binary glTF (.glb) is not accepted; Drake sends glTF JSON".to_owned(),
        ));
    }
    let root: json::Root = serde_json::from_slice(gltf_json).map_err(|err| {
        // serde_json quotes offending strings whole: shorten the message, keep the position.
        let position = format!(" at line {} column {}", err.line(), err.column());
        let text = err.to_string();
        let message = text.strip_suffix(&position).unwrap_or(&text);
        SceneError::Json(format!("{}{position}", quote(message)))
    })?;
    if let Some(name) = root
        .extensions_required
        .iter()
        .find(|name| !is_tolerated_extension(name))
    {
        return Err(SceneError::UnsupportedExtension(quote(name)));
    }
    let mut loader = Loader {
        root: &root,
        options,
        buffers: Buffers::new(&root),
        scene: Scene::default(),
        scene_textures: vec![None; root.images.len()],
        texture_pixels: 0,
        triangles: 0,
        vertices: 0,
    };
    if options.decode_textures {
        loader.check_texture_count()?;
    }
    loader.walk_nodes()?;
    Ok(loader.scene)
}

/// Where a node index was found, to name it in errors.
#[derive(Clone, Copy)]
enum Referrer {
    Scene { scene: usize, slot: usize },
    Parent { parent: usize, slot: usize },
    Orphan,
}

impl Referrer {
    fn path(self, orphan: usize) -> String {
        match self {
            Self::Scene { scene, slot } => format!("scenes[{scene}].nodes[{slot}]"),
            Self::Parent { parent, slot } => format!("nodes[{parent}].children[{slot}]"),
            Self::Orphan => format!("nodes[{orphan}]"),
        }
    }
}

struct Loader<'j, 'a> {
    root: &'j json::Root<'a>,
    options: &'j LoadOptions,
    buffers: Buffers<'j, 'a>,
    scene: Scene,
    /// `images[i]` → its index in `scene.textures`, once decoded.
    scene_textures: Vec<Option<usize>>,
    texture_pixels: u64,
    triangles: usize,
    vertices: usize,
}

impl Loader<'_, '_> {
    /// Counts the distinct images the materials reference, before decoding any.
    fn check_texture_count(&self) -> Result<(), SceneError> {
        let mut referenced = vec![false; self.root.images.len()];
        for material in &self.root.materials {
            let source = material
                .pbr_metallic_roughness
                .as_ref()
                .and_then(|pbr| pbr.base_color_texture.as_ref())
                .and_then(|info| self.root.textures.get(info.index))
                .and_then(|texture| texture.source);
            if let Some(flag) = source.and_then(|image| referenced.get_mut(image)) {
                *flag = true;
            }
        }
        let count = referenced.iter().filter(|&&flag| flag).count();
        if count > self.options.max_textures {
            return Err(SceneError::LimitExceeded {
                what: "textures",
                count: count as u64,
                limit: self.options.max_textures as u64,
                config_key: config_key!(LoadOptions, max_textures),
            });
        }
        Ok(())
    }

    /// The roots of `scenes[scene]`, or of the whole node forest when there are no scenes.
    fn roots(&self) -> Result<Vec<(usize, Referrer)>, SceneError> {
        let root = self.root;
        if root.scenes.is_empty() {
            let mut has_parent = vec![false; root.nodes.len()];
            for node in &root.nodes {
                for &child in &node.children {
                    if let Some(flag) = has_parent.get_mut(child) {
                        *flag = true;
                    }
                }
            }
            return Ok((0..root.nodes.len())
                .filter(|&node| !has_parent[node])
                .map(|node| (node, Referrer::Orphan))
                .collect());
        }
        let scene = root.scene.unwrap_or(0);
        let nodes = &root
            .scenes
            .get(scene)
            .ok_or(SceneError::OutOfRange {
                path: "scene".to_owned(),
                kind: "scene",
                index: scene,
            })?
            .nodes;
        Ok(nodes
            .iter()
            .enumerate()
            .map(|(slot, &node)| (node, Referrer::Scene { scene, slot }))
            .collect())
    }

    fn walk_nodes(&mut self) -> Result<(), SceneError> {
        let nodes = &self.root.nodes;
        let mut parent_of: Vec<Option<usize>> = vec![None; nodes.len()];
        let mut visited = vec![false; nodes.len()];
        let mut stack: Vec<(usize, Referrer, DMat4)> = self
            .roots()?
            .into_iter()
            .rev()
            .map(|(node, referrer)| (node, referrer, DMat4::IDENTITY))
            .collect();
        while let Some((index, referrer, parent_to_world)) = stack.pop() {
            let node = nodes.get(index).ok_or_else(|| SceneError::OutOfRange {
                path: referrer.path(index),
                kind: "node",
                index,
            })?;
            if visited[index] {
                return Err(revisit_error(index, referrer, &parent_of));
            }
            visited[index] = true;
            if let Referrer::Parent { parent, .. } = referrer {
                parent_of[index] = Some(parent);
            }
            let node_to_world = parent_to_world * local_transform(node, index)?;
            if let Some(camera) = node.camera {
                if self.scene.camera.is_none() {
                    self.scene.camera = Some(self.camera(camera, index, node_to_world)?);
                }
            }
            if let Some(mesh) = node.mesh {
                self.add_mesh(mesh, index, node_to_world)?;
            }
            for (slot, &child) in node.children.iter().enumerate().rev() {
                let referrer = Referrer::Parent {
                    parent: index,
                    slot,
                };
                stack.push((child, referrer, node_to_world));
            }
        }
        Ok(())
    }

    fn camera(
        &self,
        index: usize,
        node: usize,
        camera_to_world: DMat4,
    ) -> Result<CameraNode, SceneError> {
        let camera = self
            .root
            .cameras
            .get(index)
            .ok_or_else(|| SceneError::OutOfRange {
                path: format!("nodes[{node}].camera"),
                kind: "camera",
                index,
            })?;
        let clip = camera
            .perspective
            .as_ref()
            .or(camera.orthographic.as_ref())
            .ok_or_else(|| {
                SceneError::invalid(
                    &format!("cameras[{index}]"),
                    "has neither perspective nor orthographic",
                )
            })?;
        if !camera_to_world.is_finite() {
            return Err(SceneError::invalid(
                &format!("nodes[{node}]"),
                "camera world matrix is not finite",
            ));
        }
        Ok(CameraNode {
            camera_to_world,
            znear: clip.znear,
            zfar: clip.zfar,
        })
    }

    fn add_mesh(
        &mut self,
        index: usize,
        node: usize,
        mesh_to_world: DMat4,
    ) -> Result<(), SceneError> {
        let mesh = self
            .root
            .meshes
            .get(index)
            .ok_or_else(|| SceneError::OutOfRange {
                path: format!("nodes[{node}].mesh"),
                kind: "mesh",
                index,
            })?;
        for (slot, primitive) in mesh.primitives.iter().enumerate() {
            let path = format!("meshes[{index}].primitives[{slot}]");
            if let Some(mesh) = self.primitive(primitive, &path, mesh_to_world)? {
                self.scene.meshes.push(mesh);
            }
        }
        Ok(())
    }

    /// One primitive as a world-space triangle list; `None` (with a warning) for what is not drawn.
    fn primitive(
        &mut self,
        primitive: &json::Primitive,
        path: &str,
        mesh_to_world: DMat4,
    ) -> Result<Option<Mesh>, SceneError> {
        let mode = primitive.mode.unwrap_or(4);
        if !matches!(mode, 4..=6) {
            warn!(
                path,
                mode, "skipping primitive: only triangles, strips and fans are drawn"
            );
            return Ok(None);
        }
        let Some(position_accessor) = primitive.attributes.position else {
            warn!(path, "skipping primitive without POSITION");
            return Ok(None);
        };
        let position_path = format!("{path}.attributes.POSITION");
        let index_path = format!("{path}.indices");
        let vertex_count = self
            .buffers
            .accessor(position_accessor, &position_path, &["VEC3"])?
            .count;
        let index_count = match primitive.indices {
            Some(accessor) => {
                self.buffers
                    .accessor(accessor, &index_path, &["SCALAR"])?
                    .count
            }
            None => vertex_count,
        };
        let triangle_count = match mode {
            4 => index_count / 3,
            _ => index_count.saturating_sub(2),
        };
        self.admit_geometry(vertex_count, triangle_count)?;

        let local_positions =
            self.buffers
                .read_floats::<3>(position_accessor, &position_path, "VEC3")?;
        let positions = world_positions(&local_positions, mesh_to_world, &position_path)?;
        let raw_indices = self.raw_indices(primitive.indices, &index_path, vertex_count)?;
        let mut indices = triangle_list(raw_indices, mode, path);
        if indices.is_empty() {
            return Ok(None);
        }
        let linear = DMat3::from_mat4(mesh_to_world);
        if linear.determinant() < 0.0 {
            // A mirroring transform turns counter-clockwise faces clockwise; swap two corners back.
            for triangle in indices.chunks_exact_mut(3) {
                triangle.swap(1, 2);
            }
        }

        let given_normals = match primitive.attributes.normal {
            Some(accessor) => {
                let normal_path = format!("{path}.attributes.NORMAL");
                let normals =
                    self.vertex_attribute::<3>(accessor, &normal_path, "VEC3", vertex_count)?;
                normals::transform(&normals, linear)
            }
            None => None,
        };
        let normals = given_normals.unwrap_or_else(|| normals::area_weighted(&positions, &indices));

        let tex_coords = match primitive.attributes.tex_coord_0 {
            Some(accessor) if self.options.decode_textures => {
                let tex_path = format!("{path}.attributes.TEXCOORD_0");
                Some(self.vertex_attribute::<2>(accessor, &tex_path, "VEC2", vertex_count)?)
            }
            _ => None,
        };
        let material = match primitive.material {
            Some(index) => self.material(index, path, tex_coords.is_some())?,
            None => Material::default(),
        };
        Ok(Some(Mesh {
            positions,
            normals,
            tex_coords,
            indices,
            material,
        }))
    }

    /// The primitive's indices, each checked against the vertex count; `0..n` when unindexed.
    fn raw_indices(
        &mut self,
        accessor: Option<usize>,
        path: &str,
        vertex_count: usize,
    ) -> Result<Vec<u32>, SceneError> {
        let Some(accessor) = accessor else {
            let count = u32::try_from(vertex_count)
                .map_err(|_| SceneError::invalid(path, "too many vertices for 32-bit indices"))?;
            return Ok((0..count).collect());
        };
        let indices = self.buffers.read_indices(accessor, path)?;
        let past_the_end = indices
            .iter()
            .enumerate()
            .find(|&(_, &value)| value as usize >= vertex_count);
        if let Some((element, value)) = past_the_end {
            return Err(SceneError::invalid(
                path,
                format!("index {value} at element {element} is out of range for {vertex_count} vertices"),
            ));
        }
        Ok(indices)
    }

    /// Reads a per-vertex attribute, its count checked against POSITION's before anything is
    /// allocated (an accessor without bufferView could claim any count).
    fn vertex_attribute<const N: usize>(
        &mut self,
        accessor: usize,
        path: &str,
        expected_type: &str,
        vertex_count: usize,
    ) -> Result<Vec<[f32; N]>, SceneError> {
        let count = self
            .buffers
            .accessor(accessor, path, &[expected_type])?
            .count;
        if count != vertex_count {
            return Err(SceneError::invalid(
                path,
                format!("accessor {accessor} has {count} elements but POSITION has {vertex_count}"),
            ));
        }
        self.buffers.read_floats::<N>(accessor, path, expected_type)
    }

    /// Refuses a primitive that would take the scene over its limits, before its data is read.
    fn admit_geometry(&mut self, vertices: usize, triangles: usize) -> Result<(), SceneError> {
        let max_triangles = self.options.max_triangles;
        self.triangles = self.triangles.saturating_add(triangles);
        if self.triangles > max_triangles {
            return Err(SceneError::LimitExceeded {
                what: "triangles",
                count: self.triangles as u64,
                limit: max_triangles as u64,
                config_key: config_key!(LoadOptions, max_triangles),
            });
        }
        self.vertices = self.vertices.saturating_add(vertices);
        let max_vertices = max_triangles.saturating_mul(3);
        if self.vertices > max_vertices {
            return Err(SceneError::LimitExceeded {
                what: "vertices",
                count: self.vertices as u64,
                limit: max_vertices as u64,
                config_key: config_key!(LoadOptions, max_triangles, ", 3 vertices per triangle"),
            });
        }
        Ok(())
    }

    fn material(
        &mut self,
        index: usize,
        primitive_path: &str,
        has_tex_coords: bool,
    ) -> Result<Material, SceneError> {
        let material = self
            .root
            .materials
            .get(index)
            .ok_or_else(|| SceneError::OutOfRange {
                path: format!("{primitive_path}.material"),
                kind: "material",
                index,
            })?;
        let pbr = material.pbr_metallic_roughness.as_ref();
        let base_color = pbr
            .and_then(|pbr| pbr.base_color_factor)
            .unwrap_or([1.0; 4])
            .map(|channel| channel as f32);
        let base_color_texture = match pbr.and_then(|pbr| pbr.base_color_texture.as_ref()) {
            Some(info) if self.options.decode_textures => {
                let path = format!("materials[{index}].pbrMetallicRoughness.baseColorTexture");
                if info.tex_coord != 0 {
                    warn!(
                        path,
                        tex_coord = info.tex_coord,
                        "ignoring texture: only TEXCOORD_0 is read"
                    );
                    None
                } else if !has_tex_coords {
                    warn!(
                        path,
                        primitive = primitive_path,
                        "ignoring texture: primitive has no TEXCOORD_0"
                    );
                    None
                } else {
                    self.texture(info.index, &path)?
                }
            }
            _ => None,
        };
        Ok(Material {
            base_color,
            base_color_texture,
            blend: base_color[3] < 1.0 || material.alpha_mode.as_deref() == Some("BLEND"),
            double_sided: material.double_sided,
        })
    }

    fn texture(&mut self, index: usize, info_path: &str) -> Result<Option<TextureRef>, SceneError> {
        let texture = self
            .root
            .textures
            .get(index)
            .ok_or_else(|| SceneError::OutOfRange {
                path: format!("{info_path}.index"),
                kind: "texture",
                index,
            })?;
        let Some(image) = texture.source else {
            warn!(
                path = format!("textures[{index}]"),
                "ignoring texture without source"
            );
            return Ok(None);
        };
        let sampler = match texture.sampler {
            Some(sampler) => convert_sampler(self.root.samplers.get(sampler).ok_or_else(|| {
                SceneError::OutOfRange {
                    path: format!("textures[{index}].sampler"),
                    kind: "sampler",
                    index: sampler,
                }
            })?),
            None => Sampler::default(),
        };
        let texture = self.decoded_image(image, &format!("textures[{index}].source"))?;
        Ok(Some(TextureRef { texture, sampler }))
    }

    /// `images[index]` decoded into `scene.textures` (once), returning its position there.
    fn decoded_image(&mut self, index: usize, source_path: &str) -> Result<usize, SceneError> {
        let image = self
            .root
            .images
            .get(index)
            .ok_or_else(|| SceneError::OutOfRange {
                path: source_path.to_owned(),
                kind: "image",
                index,
            })?;
        if let Some(decoded) = self.scene_textures[index] {
            return Ok(decoded);
        }
        let path = format!("images[{index}]");
        let encoded_owned;
        let encoded: &[u8] = match (&image.uri, image.buffer_view) {
            (Some(uri), _) => {
                encoded_owned = buffers::decode_data_uri(&uri.0, &format!("{path}.uri"))?;
                &encoded_owned
            }
            (None, Some(view)) => self.buffers.view(view, &format!("{path}.bufferView"))?,
            (None, None) => {
                return Err(SceneError::invalid(&path, "has neither uri nor bufferView"))
            }
        };
        let (max_pixels, used_pixels) = (self.options.max_texture_pixels, self.texture_pixels);
        let mut admitted = 0;
        let texture = images::decode_rgba8(encoded, &path, |width, height| {
            admitted = u64::from(width) * u64::from(height);
            let total = used_pixels.saturating_add(admitted);
            if total > max_pixels {
                return Err(SceneError::LimitExceeded {
                    what: "texture pixels",
                    count: total,
                    limit: max_pixels,
                    config_key: config_key!(LoadOptions, max_texture_pixels),
                });
            }
            Ok(())
        })?;
        self.texture_pixels += admitted;
        self.scene.textures.push(texture);
        let position = self.scene.textures.len() - 1;
        self.scene_textures[index] = Some(position);
        Ok(position)
    }
}

/// Names a node reached a second time: its own ancestor (a cycle), or a second parent.
fn revisit_error(node: usize, referrer: Referrer, parent_of: &[Option<usize>]) -> SceneError {
    if let Referrer::Parent { parent, .. } = referrer {
        // parent_of links were set on first visits only, so this chain is acyclic and ends.
        let mut ancestor = Some(parent);
        while let Some(current) = ancestor {
            if current == node {
                return SceneError::NodeCycle {
                    path: referrer.path(node),
                    node,
                };
            }
            ancestor = parent_of[current];
        }
    }
    SceneError::invalid(
        &referrer.path(node),
        format!("node {node} is reached twice (glTF nodes must form trees)"),
    )
}

/// The node's `matrix`, or its translation × rotation × scale.
fn local_transform(node: &json::Node, index: usize) -> Result<DMat4, SceneError> {
    let transform = match &node.matrix {
        Some(matrix) => DMat4::from_cols_array(matrix),
        None => {
            let rotation = match node.rotation {
                Some([x, y, z, w]) => {
                    let quat = DQuat::from_xyzw(x, y, z, w);
                    if quat.length() == 0.0 {
                        return Err(SceneError::invalid(
                            &format!("nodes[{index}].rotation"),
                            "is a zero quaternion",
                        ));
                    }
                    quat.normalize()
                }
                None => DQuat::IDENTITY,
            };
            DMat4::from_scale_rotation_translation(
                DVec3::from(node.scale.unwrap_or([1.0; 3])),
                rotation,
                DVec3::from(node.translation.unwrap_or([0.0; 3])),
            )
        }
    };
    if !transform.is_finite() {
        return Err(SceneError::invalid(
            &format!("nodes[{index}]"),
            "transform is not finite",
        ));
    }
    Ok(transform)
}

fn world_positions(
    local: &[[f32; 3]],
    mesh_to_world: DMat4,
    path: &str,
) -> Result<Vec<[f32; 3]>, SceneError> {
    local
        .iter()
        .enumerate()
        .map(|(element, position)| {
            let world = mesh_to_world
                .transform_point3(DVec3::from(position.map(f64::from)))
                .as_vec3();
            if world.is_finite() {
                Ok(world.to_array())
            } else {
                Err(SceneError::invalid(
                    path,
                    format!("element {element} is not finite (in world coordinates)"),
                ))
            }
        })
        .collect()
}

/// Turns mode 4/5/6 indices into a counter-clockwise triangle list (glTF spec §3.7.2.1).
fn triangle_list(indices: Vec<u32>, mode: u32, path: &str) -> Vec<u32> {
    match mode {
        5 => (0..indices.len().saturating_sub(2))
            .flat_map(|i| {
                if i % 2 == 0 {
                    [indices[i], indices[i + 1], indices[i + 2]]
                } else {
                    [indices[i + 1], indices[i], indices[i + 2]]
                }
            })
            .collect(),
        6 => (1..indices.len().saturating_sub(1))
            .flat_map(|i| [indices[i], indices[i + 1], indices[0]])
            .collect(),
        _ => {
            let mut indices = indices;
            if !indices.len().is_multiple_of(3) {
                warn!(
                    path,
                    count = indices.len(),
                    "ignoring trailing indices that make no triangle"
                );
                indices.truncate(indices.len() / 3 * 3);
            }
            indices
        }
    }
}

fn convert_sampler(sampler: &json::Sampler) -> Sampler {
    let filter = |code: Option<u32>| match code {
        // NEAREST, NEAREST_MIPMAP_NEAREST, NEAREST_MIPMAP_LINEAR
        Some(9728 | 9984 | 9986) => Filter::Nearest,
        _ => Filter::Linear,
    };
    let wrap = |code: Option<u32>| match code {
        Some(33071) => Wrap::ClampToEdge,
        Some(33648) => Wrap::MirroredRepeat,
        _ => Wrap::Repeat,
    };
    Sampler {
        mag_filter: filter(sampler.mag_filter),
        min_filter: filter(sampler.min_filter),
        wrap_s: wrap(sampler.wrap_s),
        wrap_t: wrap(sampler.wrap_t),
    }
}
