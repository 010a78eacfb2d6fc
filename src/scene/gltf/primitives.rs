//! Mesh primitives: limits checked from accessor counts before anything is read, then the mesh
//! from the cache or read in model space (validated indices as a counter-clockwise triangle list,
//! normals), and the instance that places it.

use std::sync::Arc;

use glam::{DMat4, DVec3};
use tracing::warn;

use super::{json, normals, LoadOptions, Loader, SceneError};
use crate::core::config::config_key;
use crate::scene::cache::{Cached, ContentKey, KeyHasher};
use crate::scene::{Instance, Material, Mesh};

impl Loader<'_, '_> {
    pub(super) fn add_mesh(
        &mut self,
        index: usize,
        node: usize,
        mesh_to_world: DMat4,
        user: bool,
    ) -> Result<(), SceneError> {
        let mesh = self.root.meshes.get(index).ok_or_else(|| {
            SceneError::out_of_range(format!("nodes[{node}].mesh"), "mesh", index)
        })?;
        for (slot, primitive) in mesh.primitives.iter().enumerate() {
            let path = format!("meshes[{index}].primitives[{slot}]");
            if let Some(instance) = self.primitive(primitive, &path, mesh_to_world, user)? {
                self.scene.user_gltf |= user;
                self.scene.instances.push(instance);
            }
        }
        Ok(())
    }

    /// One primitive placed in the world; `None` (with a warning) for what is not drawn. `user`:
    /// it belongs to a merged user glTF.
    fn primitive(
        &mut self,
        primitive: &json::Primitive,
        path: &str,
        mesh_to_world: DMat4,
        user: bool,
    ) -> Result<Option<Instance>, SceneError> {
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
        self.check_accessor_data(position_accessor, &position_path)?;
        if let Some(accessor) = primitive.indices {
            self.check_accessor_data(accessor, &index_path)?;
        }
        self.charge_geometry(
            vertex_count,
            index_count.max(triangle_count.saturating_mul(3)),
        )?;

        let tex_coord_0 = primitive
            .attributes
            .tex_coord_0
            .filter(|_| self.options.decode_textures);
        let color_0 = primitive
            .attributes
            .color_0
            .filter(|_| self.options.decode_textures);
        let key = self.mesh_key(primitive, mode, tex_coord_0, color_0, path)?;
        let mesh_index = match self.mesh_slots.get(&key) {
            Some(&slot) => slot,
            None => {
                let cached = self.cache.and_then(|cache| cache.get(&key));
                let mesh = match cached {
                    Some(Cached::Mesh(mesh)) => mesh,
                    _ => {
                        let mesh = Arc::new(self.read_mesh(key, primitive, mode, path)?);
                        if let Some(cache) = self.cache {
                            cache.insert(key, Cached::Mesh(Arc::clone(&mesh)));
                        }
                        mesh
                    }
                };
                self.scene.meshes.push(mesh);
                self.mesh_slots.insert(key, self.scene.meshes.len() - 1);
                self.scene.meshes.len() - 1
            }
        };
        let mesh = &self.scene.meshes[mesh_index];
        if mesh.indices.is_empty() {
            return Ok(None);
        }
        check_world_finite(mesh, mesh_to_world, &position_path)?;
        let has_tex_coords = mesh.tex_coords.is_some();
        let material = match primitive.material {
            Some(index) => self.material(index, path, has_tex_coords, user)?,
            // VTK's importer applies no material to a user primitive without one: VTK's
            // defaults, both sides drawn.
            None if user => Material {
                double_sided: true,
                from_user_gltf: true,
                ..Material::default()
            },
            None => Material::default(),
        };
        Ok(Some(Instance {
            mesh: mesh_index,
            model_to_world: mesh_to_world,
            material,
        }))
    }

    /// The key of everything [`Self::read_mesh`] reads, in the order it reads it.
    fn mesh_key(
        &mut self,
        primitive: &json::Primitive,
        mode: u32,
        tex_coord_0: Option<usize>,
        color_0: Option<usize>,
        path: &str,
    ) -> Result<ContentKey, SceneError> {
        let mut hasher = KeyHasher::new("gltf primitive");
        hasher.number(u64::from(mode));
        let attributes = [
            (primitive.attributes.position, "attributes.POSITION"),
            (primitive.indices, "indices"),
            (primitive.attributes.normal, "attributes.NORMAL"),
            (tex_coord_0, "attributes.TEXCOORD_0"),
            (color_0, "attributes.COLOR_0"),
        ];
        for (accessor, field) in attributes {
            match accessor {
                Some(accessor) => {
                    hasher.number(1);
                    let field_path = format!("{path}.{field}");
                    self.buffers
                        .hash_accessor(accessor, &field_path, &mut hasher)?;
                }
                None => {
                    hasher.number(0);
                }
            }
        }
        Ok(hasher.finish())
    }

    /// Reads the primitive as a model-space mesh with normals.
    fn read_mesh(
        &mut self,
        key: ContentKey,
        primitive: &json::Primitive,
        mode: u32,
        path: &str,
    ) -> Result<Mesh, SceneError> {
        let position_path = format!("{path}.attributes.POSITION");
        let index_path = format!("{path}.indices");
        let Some(position_accessor) = primitive.attributes.position else {
            return Err(SceneError::invalid(path, "no POSITION"));
        };
        let positions = self
            .buffers
            .read_floats::<3>(position_accessor, &position_path, "VEC3")?;
        if let Some(element) = positions
            .iter()
            .position(|p| !p.iter().all(|c| c.is_finite()))
        {
            return Err(not_finite(&position_path, element));
        }
        let vertex_count = positions.len();
        let raw_indices = self.raw_indices(primitive.indices, &index_path, vertex_count)?;
        let indices = triangle_list(raw_indices, mode, path);
        let given_normals = match primitive.attributes.normal {
            Some(accessor) => {
                let normal_path = format!("{path}.attributes.NORMAL");
                let normals =
                    self.vertex_attribute::<3>(accessor, &normal_path, "VEC3", vertex_count)?;
                Some(normals::unit(&normals))
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
        // Vertex colours only tint colour images, like textures.
        let colors = match primitive.attributes.color_0 {
            Some(accessor) if self.options.decode_textures => {
                let color_path = format!("{path}.attributes.COLOR_0");
                Some(self.vertex_colors(accessor, &color_path, vertex_count)?)
            }
            _ => None,
        };
        let mut mesh = Mesh::keyed(key, positions, normals, tex_coords, indices);
        mesh.colors = colors;
        Ok(mesh)
    }

    /// `COLOR_0`: RGB or RGBA, float or normalized integers; RGB gets alpha 1.
    fn vertex_colors(
        &mut self,
        accessor: usize,
        path: &str,
        vertex_count: usize,
    ) -> Result<Vec<[f32; 4]>, SceneError> {
        let element_type = self
            .buffers
            .accessor(accessor, path, &["VEC3", "VEC4"])?
            .element_type
            .clone();
        if element_type == "VEC3" {
            let rgb = self.vertex_attribute::<3>(accessor, path, "VEC3", vertex_count)?;
            return Ok(rgb.into_iter().map(|[r, g, b]| [r, g, b, 1.0]).collect());
        }
        self.vertex_attribute::<4>(accessor, path, "VEC4", vertex_count)
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
        SceneError::check_limit(
            "triangles",
            self.triangles as u64,
            max_triangles as u64,
            config_key!(LoadOptions, max_triangles),
        )?;
        self.vertices = self.vertices.saturating_add(vertices);
        let max_vertices = max_triangles.saturating_mul(3);
        SceneError::check_limit(
            "vertices",
            self.vertices as u64,
            max_vertices as u64,
            config_key!(LoadOptions, max_triangles, ", 3 vertices per triangle"),
        )?;
        Ok(())
    }
}

fn not_finite(path: &str, element: usize) -> SceneError {
    SceneError::invalid(
        path,
        format!("element {element} is not finite (in world coordinates)"),
    )
}

/// Refuses an instance whose world coordinates would overflow f32. A bound from the mesh's extent
/// settles nearly every case without transforming a vertex; only beyond it is each one checked.
fn check_world_finite(mesh: &Mesh, mesh_to_world: DMat4, path: &str) -> Result<(), SceneError> {
    let extent = f64::from(mesh.extent);
    let bound = (0..3)
        .map(|row| {
            let linear = DVec3::new(
                mesh_to_world.col(0)[row],
                mesh_to_world.col(1)[row],
                mesh_to_world.col(2)[row],
            );
            linear.abs().element_sum() * extent + mesh_to_world.col(3)[row].abs()
        })
        .fold(0.0, f64::max);
    if bound < f64::from(f32::MAX) / 2.0 {
        return Ok(());
    }
    let instance = Instance {
        mesh: 0,
        model_to_world: mesh_to_world,
        material: Material::default(),
    };
    match instance
        .world_positions(mesh)
        .position(|p| !p.iter().all(|c| c.is_finite()))
    {
        Some(element) => Err(not_finite(path, element)),
        None => Ok(()),
    }
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
