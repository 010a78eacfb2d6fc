//! What colour and texture RenderEngineVtk (Drake 1.51.1) gives a geometry: one pure function,
//! [`resolve_material`], from the geometry's perception properties and what its mesh file says.
//!
//! # The rules, from Drake's source
//! - **Primitives** (`DefineMaterial`): `phong/diffuse_map` is the texture; `phong/diffuse` the
//!   colour, which multiplies the texture. Without `phong/diffuse`, the colour is white when a
//!   map is declared (even one that cannot be read: Drake warns and draws white) and the look's
//!   `default_diffuse` otherwise.
//! - **Convex**: drawn without texture coordinates, so a map is dropped; any `phong` property
//!   makes the colour `phong/diffuse` or white, none the default.
//! - **OBJ faces with an MTL material**: the MTL decides (`Kd` and `d`/`Tr` as RGBA, `map_Kd` the
//!   texture when the faces have texture coordinates at every corner); the geometry's `phong`
//!   properties are ignored (Drake warns). One part per material: several materials, several
//!   parts.
//! - **OBJ faces without a material** (no `usemtl`, a name no library defines, a missing MTL):
//!   the geometry's properties as for a primitive, but white rather than the default under a map,
//!   and the map only with full texture coordinates; else, for a mesh read from disk, a PNG
//!   beside it with its name (`robot.obj` → `robot.png`, Drake's legacy rule; the client sends it
//!   when Drake would find it) as an untinted texture (flat white without full texture
//!   coordinates); else the default.
//! - **glTF**: its own materials, always; the properties are ignored (Drake warns).
//! - **`phong/diffuse_scale`** `[s, t]`: textures repeat when s or t exceeds 1 and are clamped
//!   to the edge otherwise, on every geometry (VTK's `SetRepeat`); only a `Box` also multiplies
//!   its texture coordinates by it (Drake bakes it into `DrakeCubeSource`), which here is the
//!   texture transform, so boxes share meshes whatever their scale.
//!
//! Textures are sampled linearly without mipmaps (`InterpolateOn`, VTK's default no mipmap), and
//! the colour's alpha below 1 makes the part translucent.

use std::sync::Arc;

use super::mesh_file::{MeshPart, PartMaterial};
use super::{Filter, Material, Sampler, Texture, TextureRef, Wrap};

/// A geometry's `phong` perception properties, as far as RenderEngineVtk reads them.
#[derive(Debug, Clone, Default)]
pub struct PhongProperties {
    /// `phong/diffuse`, RGBA in 0..1.
    pub diffuse: Option<[f64; 4]>,
    /// `phong/diffuse_map`, when declared.
    pub diffuse_map: Option<DiffuseMap>,
    /// `phong/diffuse_scale`.
    pub diffuse_scale: Option<[f64; 2]>,
}

/// A declared `phong/diffuse_map`.
#[derive(Debug, Clone)]
pub enum DiffuseMap {
    Image(Arc<Texture>),
    /// Declared but not readable: Drake draws the geometry white, untextured.
    Unreadable,
}

impl PhongProperties {
    fn declares_material(&self) -> bool {
        self.diffuse.is_some() || self.diffuse_map.is_some()
    }

    fn image(&self) -> Option<&Arc<Texture>> {
        match &self.diffuse_map {
            Some(DiffuseMap::Image(texture)) => Some(texture),
            _ => None,
        }
    }

    /// `DefineMaterial`: the colour (`fallback` when no diffuse is given and no map declared)
    /// and the map's image.
    fn define(&self, fallback: [f64; 4]) -> ([f64; 4], Option<&Arc<Texture>>) {
        let white = [1.0; 4];
        let colour = (self.diffuse).unwrap_or(if self.diffuse_map.is_some() {
            white
        } else {
            fallback
        });
        (colour, self.image())
    }
}

/// What is being drawn, as far as its material goes.
#[derive(Debug, Clone, Copy)]
pub enum Surface<'a> {
    /// A `Box`: `phong/diffuse_scale` also scales its texture coordinates.
    Box,
    /// `Sphere`, `Cylinder`, `Capsule`, `Ellipsoid`, `HalfSpace`.
    Primitive,
    /// A `Convex` hull.
    Convex,
    /// One part of a `Mesh` file.
    MeshPart(&'a MeshPart),
}

/// The scene material RenderEngineVtk draws `surface` with; the textures it uses are appended
/// to `textures` (unless the same `Arc` is already there) and referenced by index.
/// `default_diffuse` is the look's `default_diffuse`, or RenderEngineVtk's own.
pub fn resolve_material(
    surface: Surface,
    properties: &PhongProperties,
    default_diffuse: [f32; 4],
    textures: &mut Vec<Arc<Texture>>,
) -> Material {
    let default = default_diffuse.map(f64::from);
    let white = [1.0; 4];
    let (colour, texture) = match surface {
        Surface::Box | Surface::Primitive => properties.define(default),
        Surface::Convex if properties.declares_material() => (properties.define(white).0, None),
        Surface::Convex => (default, None),
        Surface::MeshPart(part) => match &part.material {
            PartMaterial::Mtl { diffuse, texture } => (*diffuse, texture.as_ref()),
            PartMaterial::Gltf {
                material,
                textures: own,
            } => {
                return remapped(material, own, textures);
            }
            PartMaterial::FromProperties {
                full_tex_coords,
                sibling_png,
            } => {
                if properties.declares_material() {
                    let (colour, image) = properties.define(white);
                    (colour, image.filter(|_| *full_tex_coords))
                } else if let Some(png) = sibling_png {
                    (white, Some(png).filter(|_| *full_tex_coords))
                } else {
                    (default, None)
                }
            }
        },
    };
    let base_color = colour.map(|c| c as f32);
    let scale = properties.diffuse_scale.unwrap_or([1.0, 1.0]);
    let base_color_texture = texture.map(|texture| TextureRef {
        texture: index_of(texture, textures),
        sampler: vtk_sampler(scale),
        transform: match surface {
            Surface::Box => box_transform(scale),
            _ => TextureRef::IDENTITY,
        },
    });
    Material {
        base_color,
        base_color_texture,
        blend: base_color[3] < 1.0,
        ..Material::default()
    }
}

/// VTK's texture: linear, no mipmaps, repeating only when the scale exceeds 1 on an axis.
fn vtk_sampler([s, t]: [f64; 2]) -> Sampler {
    let wrap = if s > 1.0 || t > 1.0 {
        Wrap::Repeat
    } else {
        Wrap::ClampToEdge
    };
    Sampler {
        mag_filter: Filter::Linear,
        min_filter: Filter::Linear,
        wrap_s: wrap,
        wrap_t: wrap,
    }
}

/// Drake's box texture coordinates (u·s, v·t) in VTK's convention, for the scene's flipped v:
/// v' = 1 − t·(1 − v) = t·v + (1 − t).
fn box_transform([s, t]: [f64; 2]) -> [[f32; 3]; 2] {
    [[s as f32, 0.0, 0.0], [0.0, t as f32, (1.0 - t) as f32]]
}

fn index_of(texture: &Arc<Texture>, textures: &mut Vec<Arc<Texture>>) -> usize {
    match textures.iter().position(|t| Arc::ptr_eq(t, texture)) {
        Some(index) => index,
        None => {
            textures.push(texture.clone());
            textures.len() - 1
        }
    }
}

/// A glTF part's own material with its texture indices moved into `textures`. Destructured
/// without `..` so a texture added to [`Material`] cannot be forgotten here.
fn remapped(
    material: &Material,
    own: &[Arc<Texture>],
    textures: &mut Vec<Arc<Texture>>,
) -> Material {
    let mut material = material.clone();
    let Material {
        base_color_texture,
        metallic_roughness_texture,
        normal_texture,
        occlusion_texture,
        emissive_texture,
        base_color: _,
        blend: _,
        double_sided: _,
        from_user_gltf: _,
        metallic: _,
        roughness: _,
        emissive: _,
        alpha_cutoff: _,
        normal_scale: _,
        occlusion_strength: _,
    } = &mut material;
    for slot in [
        base_color_texture,
        metallic_roughness_texture,
        normal_texture,
        occlusion_texture,
        emissive_texture,
    ] {
        *slot = slot.and_then(|reference| {
            let texture = own.get(reference.texture)?;
            Some(TextureRef {
                texture: index_of(texture, textures),
                ..reference
            })
        });
    }
    material
}

#[cfg(test)]
mod tests;
