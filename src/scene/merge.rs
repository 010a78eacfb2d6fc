//! The server-side static scene (what drake-blender's `--blend_file` is): glTF files the operator
//! names at start, loaded once and appended to every request's [`Scene`].
//!
//! Appending copies no geometry: the static meshes and textures are the same `Arc`s in every
//! merged scene, so their GPU copies ([`super::GpuSlot`]) are uploaded once and stay resident for
//! the server's life. They are never put in the [`super::SceneCache`], so its LRU can never evict
//! them and they do not take the requests' share of `cacheBytes`.
//!
//! The static files are the operator's, read from the server's own disk. So, unlike a request's
//! glTF (data URIs only), they may name external files by relative URI, as glTF exporters write
//! them: each is read from the glTF's own folder (never above it: no `..`, no absolute paths, no
//! symbolic link out of it) within `maxDecodedBytes`, inlined as a data URI, and the document is
//! then loaded by the request loader with the same limits.

use std::path::{Path, PathBuf};

use base64::Engine as _;

use super::gltf::{load, LoadOptions};
use super::{Material, Scene};

/// Why a static scene file cannot be used; names the file.
#[derive(Debug, thiserror::Error)]
#[error("static scene {}: {reason}", path.display())]
pub struct StaticSceneError {
    pub path: PathBuf,
    pub reason: String,
}

/// How the static instances look in a merged scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appearance {
    /// Their own materials and textures (colour images).
    Materials,
    /// Opaque white without textures: label images, where white is Drake's "don't care"
    /// (drake-blender draws its blend-file meshes white too), and depth images, which read no
    /// material.
    White,
}

/// The static scene's content, in Drake's world frame as its files place it (Z-up, metres: the
/// glTF is read as-is, like a request's, without the glTF spec's Y-up conversion).
#[derive(Debug, Default)]
pub struct StaticScene {
    scene: Scene,
}

impl StaticScene {
    /// Loads each file in turn with `options` (each file alone within the limits), textures
    /// decoded. No files: an empty static scene, which merging leaves out.
    ///
    /// # Errors
    /// The first file that cannot be read, refers to a file it may not, or does not load.
    pub fn load(files: &[PathBuf], options: &LoadOptions) -> Result<Self, StaticSceneError> {
        let options = LoadOptions {
            decode_textures: true,
            ..options.clone()
        };
        let mut scene = Scene::default();
        for file in files {
            let error = |reason: String| StaticSceneError {
                path: file.clone(),
                reason,
            };
            let document = inline_external_files(file, options.max_decoded_bytes).map_err(error)?;
            let loaded = load(&document, &options).map_err(|e| error(e.to_string()))?;
            append(&mut scene, &loaded, Appearance::Materials);
        }
        Ok(Self { scene })
    }

    pub fn is_empty(&self) -> bool {
        self.scene.instances.is_empty()
    }

    /// Meshes, instances, textures and triangles drawn, for the start-up log.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let scene = &self.scene;
        let triangles = (scene.instances.iter())
            .map(|instance| scene.meshes[instance.mesh].indices.len() / 3)
            .sum();
        (
            scene.meshes.len(),
            scene.instances.len(),
            scene.textures.len(),
            triangles,
        )
    }

    /// Appends the static instances to a request's scene. The request's camera, and every
    /// scene-level flag (what decides PBR, for one), stay the request's: the static scene never
    /// changes how the request's own geometry is drawn.
    pub fn merge_into(&self, scene: &mut Scene, appearance: Appearance) {
        append(scene, &self.scene, appearance);
    }
}

/// Appends `addition`'s meshes, textures and instances to `scene`, sharing their `Arc`s, with the
/// instances' indices moved past `scene`'s own.
pub fn append(scene: &mut Scene, addition: &Scene, appearance: Appearance) {
    let mesh_offset = scene.meshes.len();
    let texture_offset = scene.textures.len();
    scene.meshes.extend(addition.meshes.iter().cloned());
    if appearance == Appearance::Materials {
        scene.textures.extend(addition.textures.iter().cloned());
    }
    scene
        .instances
        .extend(addition.instances.iter().map(|instance| {
            let mut instance = instance.clone();
            instance.mesh += mesh_offset;
            restyle(&mut instance.material, appearance, texture_offset);
            instance
        }));
}

/// Moves a material's texture references by `texture_offset`, or makes it white. Destructured
/// without `..` on purpose: a texture reference added to [`Material`] must be handled here, or
/// it would point at the wrong texture in merged scenes.
fn restyle(material: &mut Material, appearance: Appearance, texture_offset: usize) {
    let Material {
        base_color,
        base_color_texture,
        blend,
        double_sided: _,
        from_user_gltf: _,
        metallic: _,
        roughness: _,
        emissive: _,
        alpha_cutoff: _,
        metallic_roughness_texture,
        normal_texture,
        normal_scale: _,
        occlusion_texture,
        occlusion_strength: _,
        emissive_texture,
    } = material;
    let textures = [
        base_color_texture,
        metallic_roughness_texture,
        normal_texture,
        occlusion_texture,
        emissive_texture,
    ];
    match appearance {
        Appearance::Materials => {
            for texture in textures.into_iter().flatten() {
                texture.texture += texture_offset;
            }
        }
        Appearance::White => {
            *base_color = [1.0; 4];
            *blend = false;
            for texture in textures {
                *texture = None;
            }
        }
    }
}

/// The glTF JSON of `file`, with every relative `uri` of its buffers and images replaced by a
/// data URI of the file it names. At most `max_bytes` are read, the document included.
fn inline_external_files(file: &Path, max_bytes: u64) -> Result<Vec<u8>, String> {
    let size = std::fs::metadata(file)
        .map_err(|e| format!("cannot read it: {e}"))?
        .len();
    if size > max_bytes {
        return Err(over_limit(max_bytes));
    }
    let text = std::fs::read(file).map_err(|e| format!("cannot read it: {e}"))?;
    if text.starts_with(b"glTF") {
        return Err("binary glTF (.glb) is not read; give the .gltf (JSON) form".to_owned());
    }
    let mut root: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| format!("invalid glTF JSON: {e}"))?;
    let folder = file
        .parent()
        .map(|parent| parent.join("."))
        .unwrap_or_else(|| PathBuf::from("."))
        .canonicalize()
        .map_err(|e| format!("cannot resolve its folder: {e}"))?;
    let mut budget = max_bytes - size;
    for list in ["buffers", "images"] {
        let Some(serde_json::Value::Array(items)) = root.get_mut(list) else {
            continue;
        };
        for (index, item) in items.iter_mut().enumerate() {
            let Some(serde_json::Value::String(uri)) = item.get_mut("uri") else {
                continue;
            };
            let is_data_uri = uri
                .get(..5)
                .is_some_and(|s| s.eq_ignore_ascii_case("data:"));
            if is_data_uri {
                continue;
            }
            let bytes = read_relative(&folder, uri, &mut budget)
                .map_err(|e| format!("{list}[{index}].uri {uri:?}: {e}"))?;
            *uri = format!(
                "data:application/octet-stream;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            );
        }
    }
    serde_json::to_vec(&root).map_err(|e| format!("cannot re-encode it: {e}"))
}

/// Reads the file a relative URI names inside `folder` (canonical), charging `budget`.
fn read_relative(folder: &Path, uri: &str, budget: &mut u64) -> Result<Vec<u8>, String> {
    let outside = || "only relative paths inside the glTF's folder are read".to_owned();
    let has_scheme = uri
        .split('/')
        .next()
        .is_some_and(|first| first.contains(':'));
    if has_scheme || uri.starts_with('/') || uri.contains(['\\', '?', '#']) {
        return Err(outside());
    }
    let relative = percent_decode(uri).ok_or("invalid %-escape in the URI")?;
    if relative.split('/').any(|part| part == "..") || relative.starts_with('/') {
        return Err(outside());
    }
    let path = folder
        .join(&relative)
        .canonicalize()
        .map_err(|e| format!("cannot read {relative}: {e}"))?;
    if !path.starts_with(folder) {
        return Err(outside());
    }
    let size = std::fs::metadata(&path)
        .map_err(|e| format!("cannot read {relative}: {e}"))?
        .len();
    *budget = budget.checked_sub(size).ok_or_else(|| over_limit(size))?;
    std::fs::read(&path).map_err(|e| format!("cannot read {relative}: {e}"))
}

fn over_limit(bytes: u64) -> String {
    format!(
        "its files ({bytes} bytes and more) exceed what loading may read \
         (config key maxDecodedBytes)"
    )
}

/// RFC 3986 `%XX` escapes decoded; `None` for a broken escape or bytes that are not UTF-8.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = text.get(at + 1..at + 3)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            decoded.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::scene::{Instance, Mesh, Sampler, Texture, TextureRef};

    /// A triangle glTF whose buffer is the external file `uri` (written by the caller).
    fn triangle_gltf(uri: &str) -> String {
        serde_json::json!({
            "asset": {"version": "2.0"},
            "scene": 0,
            "scenes": [{"nodes": [0]}],
            "nodes": [{"mesh": 0}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
            "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"}],
            "bufferViews": [{"buffer": 0, "byteLength": 36}],
            "buffers": [{"byteLength": 36, "uri": uri}],
        })
        .to_string()
    }

    fn triangle_bytes() -> Vec<u8> {
        [0.0f32, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    }

    /// A folder with `floor.gltf` naming `uri`, and `data/tri bin.bin` beside it.
    fn folder_with(uri: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/tri bin.bin"), triangle_bytes()).unwrap();
        let gltf = dir.path().join("floor.gltf");
        std::fs::write(&gltf, triangle_gltf(uri)).unwrap();
        (dir, gltf)
    }

    #[test]
    fn relative_files_in_the_folder_are_read_percent_escapes_too() {
        let (_dir, gltf) = folder_with("data/tri%20bin.bin");
        let scene = StaticScene::load(&[gltf], &LoadOptions::default()).unwrap();
        assert_eq!(scene.counts(), (1, 1, 0, 1));
        assert_eq!(scene.scene.meshes[0].positions[1], [1.0, 0.0, 0.0]);
    }

    #[test]
    fn files_outside_the_folder_are_refused_and_the_file_is_named() {
        let (dir, _) = folder_with("data/tri%20bin.bin");
        let outside = dir.path().join("secret.bin");
        std::fs::write(&outside, triangle_bytes()).unwrap();
        let inner = dir.path().join("data/inner.gltf");
        for uri in [
            "../secret.bin",
            "%2e%2e/secret.bin",
            "sub/../../secret.bin",
            outside.to_str().unwrap(),
            "file:///etc/passwd",
            "https://example.com/x.bin",
            "..\\secret.bin",
        ] {
            std::fs::write(&inner, triangle_gltf(uri)).unwrap();
            let error = StaticScene::load(std::slice::from_ref(&inner), &LoadOptions::default())
                .unwrap_err()
                .to_string();
            assert!(
                error.starts_with(&format!("static scene {}: buffers[0].uri", inner.display()))
                    && error.contains("only relative paths inside the glTF's folder"),
                "{uri}: {error}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_out_of_the_folder_is_refused() {
        let (dir, _) = folder_with("data/tri%20bin.bin");
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("x.bin"), triangle_bytes()).unwrap();
        std::os::unix::fs::symlink(outside.path().join("x.bin"), dir.path().join("link.bin"))
            .unwrap();
        let gltf = dir.path().join("linked.gltf");
        std::fs::write(&gltf, triangle_gltf("link.bin")).unwrap();
        let error = StaticScene::load(&[gltf], &LoadOptions::default()).unwrap_err();
        assert!(error.to_string().contains("only relative paths"), "{error}");
    }

    #[test]
    fn reading_is_bounded_by_max_decoded_bytes() {
        let (_dir, gltf) = folder_with("data/tri%20bin.bin");
        let document = std::fs::metadata(&gltf).unwrap().len();
        let options = LoadOptions {
            max_decoded_bytes: document + 35, // the buffer is 36 bytes
            ..LoadOptions::default()
        };
        let error = StaticScene::load(&[gltf], &options).unwrap_err();
        assert!(
            error.to_string().contains("config key maxDecodedBytes"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_file_is_named() {
        let error = StaticScene::load(
            &[PathBuf::from("/no/such/floor.gltf")],
            &LoadOptions::default(),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("static scene /no/such/floor.gltf: cannot read it"),
            "{error}"
        );
    }

    fn textured_scene(color: [f32; 4]) -> Scene {
        let mesh = Arc::new(Mesh::new(
            vec![[0.0; 3]; 3],
            vec![[0.0, 0.0, 1.0]; 3],
            None,
            vec![0, 1, 2],
        ));
        Scene {
            meshes: vec![mesh],
            instances: vec![Instance {
                mesh: 0,
                model_to_world: glam::DMat4::IDENTITY,
                material: Material {
                    base_color: color,
                    base_color_texture: Some(TextureRef::new(0, Sampler::default())),
                    blend: color[3] < 1.0,
                    ..Material::default()
                },
            }],
            textures: vec![Arc::new(Texture::new(1, 1, vec![255; 4]))],
            camera: None,
            user_gltf: false,
        }
    }

    /// Colour: indices move past the request's own, the same `Arc`s each time (uploaded once);
    /// white: no texture, opaque white, the request's instances untouched.
    #[test]
    fn merging_shares_content_and_moves_indices() {
        let fixed = StaticScene {
            scene: textured_scene([0.2, 0.4, 0.6, 0.5]),
        };
        let request = textured_scene([1.0, 0.0, 0.0, 1.0]);

        let mut first = request.clone();
        fixed.merge_into(&mut first, Appearance::Materials);
        let mut second = request.clone();
        fixed.merge_into(&mut second, Appearance::Materials);
        assert_eq!((first.meshes.len(), first.textures.len()), (2, 2));
        assert_eq!(first.instances[1].mesh, 1);
        let texture = first.instances[1].material.base_color_texture.unwrap();
        assert_eq!(texture.texture, 1);
        assert!(Arc::ptr_eq(&first.meshes[1], &fixed.scene.meshes[0]));
        assert!(Arc::ptr_eq(&first.meshes[1], &second.meshes[1]));
        assert!(Arc::ptr_eq(&first.textures[1], &second.textures[1]));
        assert_eq!(first.instances[0], request.instances[0]);

        let mut label = request.clone();
        fixed.merge_into(&mut label, Appearance::White);
        assert_eq!((label.meshes.len(), label.textures.len()), (2, 1));
        let white = &label.instances[1].material;
        assert_eq!(white.base_color, [1.0; 4]);
        assert!(white.base_color_texture.is_none() && !white.blend);
        assert_eq!(label.instances[0], request.instances[0]);
    }
}
