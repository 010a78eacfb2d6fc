//! Materials and their base colour textures: the texture-count limit checked before any image is
//! decoded, sampler states, and each image decoded once under the pixel limit (or taken from the
//! cache by the hash of its encoded bytes, and still counted against that limit).

use std::sync::Arc;

use tracing::warn;

use super::{buffers, images, json, LoadOptions, Loader, SceneError};
use crate::core::config::config_key;
use crate::scene::cache::{Cached, KeyHasher};
use crate::scene::{Filter, Material, Sampler, TextureRef, Wrap};

/// Every texture a material references, with the name of its field.
fn texture_infos(material: &json::Material) -> [(Option<&json::TextureInfo>, &'static str); 5] {
    let pbr = material.pbr_metallic_roughness.as_ref();
    [
        (
            pbr.and_then(|pbr| pbr.base_color_texture.as_ref()),
            "pbrMetallicRoughness.baseColorTexture",
        ),
        (
            pbr.and_then(|pbr| pbr.metallic_roughness_texture.as_ref()),
            "pbrMetallicRoughness.metallicRoughnessTexture",
        ),
        (material.normal_texture.as_ref(), "normalTexture"),
        (material.occlusion_texture.as_ref(), "occlusionTexture"),
        (material.emissive_texture.as_ref(), "emissiveTexture"),
    ]
}

impl Loader<'_, '_> {
    /// Counts the distinct images the materials reference (every texture kind), before decoding
    /// any.
    pub(super) fn check_texture_count(&self) -> Result<(), SceneError> {
        let mut referenced = vec![false; self.root.images.len()];
        for material in &self.root.materials {
            for (info, _) in texture_infos(material) {
                let source = info
                    .and_then(|info| self.root.textures.get(info.index))
                    .and_then(|texture| texture.source);
                if let Some(flag) = source.and_then(|image| referenced.get_mut(image)) {
                    *flag = true;
                }
            }
        }
        let count = referenced.iter().filter(|&&flag| flag).count();
        SceneError::check_limit(
            "textures",
            count as u64,
            self.options.max_textures as u64,
            config_key!(LoadOptions, max_textures),
        )?;
        Ok(())
    }

    /// `materials[index]` for a primitive; `user`: it belongs to a merged user glTF, whose
    /// PBR factors and textures apply (VTK's content keeps VTK's defaults, vtk-effects.md §3).
    pub(super) fn material(
        &mut self,
        index: usize,
        primitive_path: &str,
        has_tex_coords: bool,
        user: bool,
    ) -> Result<Material, SceneError> {
        let material = self.root.materials.get(index).ok_or_else(|| {
            SceneError::out_of_range(format!("{primitive_path}.material"), "material", index)
        })?;
        let pbr = material.pbr_metallic_roughness.as_ref();
        let base_color = pbr
            .and_then(|pbr| pbr.base_color_factor)
            .unwrap_or([1.0; 4])
            .map(|channel| channel as f32);
        let [base_color_texture, metallic_roughness_texture, normal_texture, occlusion_texture, emissive_texture] =
            texture_infos(material);
        let mut textures = [None; 5];
        let kinds = [
            base_color_texture,
            metallic_roughness_texture,
            normal_texture,
            occlusion_texture,
            emissive_texture,
        ];
        // VTK's exporter writes base colour textures only; the rest is user content's.
        let read = if user { kinds.len() } else { 1 };
        for (slot, (info, field)) in textures.iter_mut().zip(kinds).take(read) {
            if let Some(info) = info {
                let path = format!("materials[{index}].{field}");
                *slot = self.texture_info(info, &path, primitive_path, has_tex_coords)?;
            }
        }
        let alpha_cutoff = (material.alpha_mode.as_deref() == Some("MASK"))
            .then(|| material.alpha_cutoff.unwrap_or(0.5) as f32);
        // VTK's exported factors (metallic 0, roughness 1) are never read by RenderEngineVtk,
        // whose own actors keep VTK's defaults; user glTFs go through VTK's importer, which
        // applies glTF's (vtk-effects.md §3).
        let defaults = Material::default();
        let (metallic, roughness, emissive) = if user {
            (
                pbr.and_then(|pbr| pbr.metallic_factor).unwrap_or(1.0) as f32,
                pbr.and_then(|pbr| pbr.roughness_factor).unwrap_or(1.0) as f32,
                material
                    .emissive_factor
                    .unwrap_or([0.0; 3])
                    .map(|c| c as f32),
            )
        } else {
            (defaults.metallic, defaults.roughness, defaults.emissive)
        };
        let [base_color_texture, metallic_roughness_texture, normal_texture, occlusion_texture, emissive_texture] =
            textures;
        // VTK packs occlusion into its ORM texture, which exists only with a metallic-roughness
        // texture: measured, an occlusion texture alone changes nothing in RenderEngineVtk.
        let occlusion_texture = occlusion_texture.filter(|_| metallic_roughness_texture.is_some());
        Ok(Material {
            base_color,
            base_color_texture,
            // Drake writes no alphaMode for translucent geometry, but RenderEngineVtk blends.
            blend: alpha_cutoff.is_none()
                && (base_color[3] < 1.0 || material.alpha_mode.as_deref() == Some("BLEND")),
            double_sided: material.double_sided,
            from_user_gltf: user,
            metallic,
            roughness,
            emissive,
            alpha_cutoff,
            metallic_roughness_texture,
            normal_texture,
            normal_scale: material
                .normal_texture
                .as_ref()
                .and_then(|info| info.scale)
                .unwrap_or(1.0) as f32,
            occlusion_texture,
            occlusion_strength: material
                .occlusion_texture
                .as_ref()
                .and_then(|info| info.strength)
                .unwrap_or(1.0) as f32,
            emissive_texture,
        })
    }

    /// One texture of a material, with its `KHR_texture_transform`; `None` (with a warning) when
    /// it cannot be drawn: textures are not decoded for this image type, it reads another UV set
    /// than `TEXCOORD_0`, or the primitive has none.
    fn texture_info(
        &mut self,
        info: &json::TextureInfo,
        path: &str,
        primitive_path: &str,
        has_tex_coords: bool,
    ) -> Result<Option<TextureRef>, SceneError> {
        if !self.options.decode_textures {
            return Ok(None);
        }
        let transform = info.extensions.texture_transform.as_ref();
        let tex_coord = transform
            .and_then(|transform| transform.tex_coord)
            .unwrap_or(info.tex_coord);
        if tex_coord != 0 {
            warn!(path, tex_coord, "ignoring texture: only TEXCOORD_0 is read");
            return Ok(None);
        }
        if !has_tex_coords {
            warn!(
                path,
                primitive = primitive_path,
                "ignoring texture: primitive has no TEXCOORD_0"
            );
            return Ok(None);
        }
        let texture = self.texture(info.index, path)?;
        Ok(texture.map(|texture| TextureRef {
            transform: transform.map_or(TextureRef::IDENTITY, uv_transform),
            ..texture
        }))
    }

    fn texture(&mut self, index: usize, info_path: &str) -> Result<Option<TextureRef>, SceneError> {
        let texture = self.root.textures.get(index).ok_or_else(|| {
            SceneError::out_of_range(format!("{info_path}.index"), "texture", index)
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
                SceneError::out_of_range(format!("textures[{index}].sampler"), "sampler", sampler)
            })?),
            None => Sampler::default(),
        };
        let texture = self.decoded_image(image, &format!("textures[{index}].source"))?;
        Ok(Some(TextureRef::new(texture, sampler)))
    }

    /// `images[index]` decoded into `scene.textures` (once), returning its position there.
    fn decoded_image(&mut self, index: usize, source_path: &str) -> Result<usize, SceneError> {
        let image = self
            .root
            .images
            .get(index)
            .ok_or_else(|| SceneError::out_of_range(source_path.to_owned(), "image", index))?;
        if let Some(decoded) = self.scene_textures[index] {
            return Ok(decoded);
        }
        let path = format!("images[{index}]");
        let mut hasher = KeyHasher::new("gltf image");
        match (&image.uri, image.buffer_view) {
            (Some(uri), _) => {
                let payload = buffers::data_uri_payload(&uri.0, &format!("{path}.uri"))?;
                hasher.number(0).bytes(payload.as_bytes());
            }
            (None, Some(view)) => {
                hasher.number(1);
                self.buffers
                    .hash_view(view, &format!("{path}.bufferView"), &mut hasher)?;
            }
            (None, None) => {
                return Err(SceneError::invalid(&path, "has neither uri nor bufferView"))
            }
        }
        let key = hasher.finish();
        let (max_pixels, used_pixels) = (self.options.max_texture_pixels, self.texture_pixels);
        let spending = &mut self.spending;
        let mut admitted = 0;
        let mut admit = |width: u32, height: u32| {
            admitted = u64::from(width) * u64::from(height);
            let total = used_pixels.saturating_add(admitted);
            SceneError::check_limit(
                "texture pixels",
                total,
                max_pixels,
                config_key!(LoadOptions, max_texture_pixels),
            )?;
            spending.charge_texture(width, height)
        };
        let texture = match self.cache.and_then(|cache| cache.get(&key)) {
            Some(Cached::Texture(texture)) => {
                admit(texture.width, texture.height)?;
                texture
            }
            _ => {
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
                let texture = Arc::new(images::decode_rgba8(encoded, &path, admit)?);
                if let (None, Some(view)) = (&image.uri, image.buffer_view) {
                    self.buffers.release(view);
                }
                if let Some(cache) = self.cache {
                    cache.insert(key, Cached::Texture(Arc::clone(&texture)));
                }
                texture
            }
        };
        self.texture_pixels += admitted;
        self.scene.textures.push(texture);
        let position = self.scene.textures.len() - 1;
        self.scene_textures[index] = Some(position);
        Ok(position)
    }
}

/// KHR_texture_transform's matrix T(offset) · R(rotation) · S(scale) as two rows, with the
/// rotation RenderEngineVtk applies: measured against pydrake 1.51.1, VTK turns UVs by −rotation
/// relative to the spec's GLSL read as column-major (rotation 0.3 there drew what −0.3 draws
/// here, and vice versa; offset and scale matched as written).
fn uv_transform(transform: &json::TextureTransform) -> [[f32; 3]; 2] {
    let [ox, oy] = transform.offset.unwrap_or([0.0; 2]);
    let [sx, sy] = transform.scale.unwrap_or([1.0; 2]);
    let (sin, cos) = transform.rotation.unwrap_or(0.0).sin_cos();
    [
        [(cos * sx) as f32, (sin * sy) as f32, ox as f32],
        [(-sin * sx) as f32, (cos * sy) as f32, oy as f32],
    ]
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
