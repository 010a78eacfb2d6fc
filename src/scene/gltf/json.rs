//! The lenient serde model of the glTF JSON: only the fields the loader reads, borrowed from the
//! request body where that is free.
//!
//! Leniency, all of it deliberate (drake-gltf-protocol §3):
//! - every array and object may be JSON `null` (VTK's empty scene writes `"nodes":null`), read as
//!   empty / absent;
//! - unknown fields, `target` on image bufferViews, `extras` and extensions are ignored;
//! - `uri`s are borrowed from the body (`Cow::Borrowed`) unless JSON escapes force a copy, so tens of
//!   MB of base64 are never copied before they are decoded.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, Visitor};
use serde::Deserialize;

/// Reads JSON `null` or a missing field as the type's default (empty array, `None`, `false`).
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A JSON string borrowed from the input when it has no escapes, copied otherwise.
///
/// serde borrows a bare `Cow<str>` field only through `#[serde(borrow)]`, which does not reach into
/// `Option<Cow<str>>`; this visitor does.
#[derive(Debug)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }
            fn visit_string<E>(self, text: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(TextVisitor(std::marker::PhantomData))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Root<'a> {
    #[serde(default, deserialize_with = "null_as_default")]
    pub accessors: Vec<Accessor>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub asset: Asset,
    #[serde(default, deserialize_with = "null_as_default")]
    pub buffer_views: Vec<BufferView>,
    #[serde(default, deserialize_with = "null_as_default", borrow)]
    pub buffers: Vec<Buffer<'a>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub cameras: Vec<Camera>,
    #[serde(default, deserialize_with = "null_as_default", borrow)]
    pub images: Vec<Image<'a>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub materials: Vec<Material>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub meshes: Vec<Mesh>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub nodes: Vec<Node>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub samplers: Vec<Sampler>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub scene: Option<usize>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub scenes: Vec<SceneNodes>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub textures: Vec<Texture>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub extensions_required: Vec<String>,
}

/// `asset`: only the generator, which tells a document Drake merged user glTFs into.
#[derive(Debug, Default, Deserialize)]
pub struct Asset {
    #[serde(default, deserialize_with = "null_as_default")]
    pub generator: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Accessor {
    #[serde(default, deserialize_with = "null_as_default")]
    pub buffer_view: Option<usize>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub byte_offset: usize,
    pub component_type: u32,
    #[serde(default, deserialize_with = "null_as_default")]
    pub normalized: bool,
    pub count: usize,
    #[serde(rename = "type")]
    pub element_type: String,
    /// Only its presence matters: sparse accessors are refused rather than read wrongly.
    #[serde(default)]
    pub sparse: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BufferView {
    pub buffer: usize,
    #[serde(default, deserialize_with = "null_as_default")]
    pub byte_offset: usize,
    pub byte_length: usize,
    #[serde(default, deserialize_with = "null_as_default")]
    pub byte_stride: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Buffer<'a> {
    #[serde(default, borrow)]
    pub uri: Option<Text<'a>>,
    pub byte_length: usize,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image<'a> {
    #[serde(default, borrow)]
    pub uri: Option<Text<'a>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub buffer_view: Option<usize>,
}

#[derive(Debug, Deserialize)]
pub struct Camera {
    #[serde(default, deserialize_with = "null_as_default")]
    pub perspective: Option<ClipPlanes>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub orthographic: Option<ClipPlanes>,
}

#[derive(Debug, Deserialize)]
pub struct ClipPlanes {
    pub znear: f64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub zfar: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Material {
    #[serde(default, deserialize_with = "null_as_default")]
    pub pbr_metallic_roughness: Option<PbrMetallicRoughness>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub alpha_mode: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub alpha_cutoff: Option<f64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub double_sided: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub emissive_factor: Option<[f64; 3]>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub emissive_texture: Option<TextureInfo>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub normal_texture: Option<TextureInfo>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub occlusion_texture: Option<TextureInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PbrMetallicRoughness {
    #[serde(default, deserialize_with = "null_as_default")]
    pub base_color_factor: Option<[f64; 4]>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub base_color_texture: Option<TextureInfo>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metallic_factor: Option<f64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub roughness_factor: Option<f64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metallic_roughness_texture: Option<TextureInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextureInfo {
    pub index: usize,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tex_coord: usize,
    /// `normalTexture.scale`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub scale: Option<f64>,
    /// `occlusionTexture.strength`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub strength: Option<f64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub extensions: TextureInfoExtensions,
}

#[derive(Debug, Default, Deserialize)]
pub struct TextureInfoExtensions {
    #[serde(
        rename = "KHR_texture_transform",
        default,
        deserialize_with = "null_as_default"
    )]
    pub texture_transform: Option<TextureTransform>,
}

/// `KHR_texture_transform`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextureTransform {
    #[serde(default, deserialize_with = "null_as_default")]
    pub offset: Option<[f64; 2]>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub rotation: Option<f64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub scale: Option<[f64; 2]>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tex_coord: Option<usize>,
}

#[derive(Debug, Deserialize)]
pub struct Mesh {
    #[serde(default, deserialize_with = "null_as_default")]
    pub primitives: Vec<Primitive>,
}

#[derive(Debug, Deserialize)]
pub struct Primitive {
    pub attributes: Attributes,
    #[serde(default, deserialize_with = "null_as_default")]
    pub indices: Option<usize>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub material: Option<usize>,
    /// glTF's default is 4 (triangles).
    #[serde(default, deserialize_with = "null_as_default")]
    pub mode: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct Attributes {
    #[serde(rename = "POSITION", default, deserialize_with = "null_as_default")]
    pub position: Option<usize>,
    #[serde(rename = "NORMAL", default, deserialize_with = "null_as_default")]
    pub normal: Option<usize>,
    #[serde(rename = "TEXCOORD_0", default, deserialize_with = "null_as_default")]
    pub tex_coord_0: Option<usize>,
    #[serde(rename = "COLOR_0", default, deserialize_with = "null_as_default")]
    pub color_0: Option<usize>,
}

#[derive(Debug, Deserialize)]
pub struct Node {
    #[serde(default, deserialize_with = "null_as_default")]
    pub camera: Option<usize>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub children: Vec<usize>,
    /// Boxed: most nodes have none, and `"{}"` must not cost 136 bytes of parsed node.
    #[serde(default, deserialize_with = "null_as_default")]
    pub matrix: Option<Box<[f64; 16]>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub mesh: Option<usize>,
    /// Only VTK's root name matters: it separates VTK's content from merged user glTFs.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub rotation: Option<[f64; 4]>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub scale: Option<[f64; 3]>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub translation: Option<[f64; 3]>,
}

#[derive(Debug, Deserialize)]
pub struct SceneNodes {
    #[serde(default, deserialize_with = "null_as_default")]
    pub nodes: Vec<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sampler {
    #[serde(default, deserialize_with = "null_as_default")]
    pub mag_filter: Option<u32>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub min_filter: Option<u32>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub wrap_s: Option<u32>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub wrap_t: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct Texture {
    #[serde(default, deserialize_with = "null_as_default")]
    pub sampler: Option<usize>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub source: Option<usize>,
}
