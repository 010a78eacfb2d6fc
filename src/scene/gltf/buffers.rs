//! glTF binary data: `data:` URIs decoded once per buffer, bufferView slices and typed accessor
//! reads, every offset checked before it is used; and the content keys of accessors, hashed from
//! the URIs' text before (and instead of, on a cache hit) decoding them.
//!
//! Only `data:` URIs are accepted: the render server never reads its own filesystem or the network
//! on behalf of a request (drake-gltf-protocol §3.1: Drake inlines everything).

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use super::json;
use super::SceneError;
use crate::core::quote::quote;
use crate::scene::cache::{ContentKey, KeyHasher};

/// Standard base64, indifferent to missing `=` padding: some exporters drop it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes a base64 `data:` URI; the declared mime type is ignored (Drake's often lies).
///
/// The base64 text decodes straight into one buffer of the exact size: no intermediate copy.
pub fn decode_data_uri(uri: &str, path: &str) -> Result<Vec<u8>, SceneError> {
    BASE64
        .decode(data_uri_payload(uri, path)?)
        .map_err(|err| SceneError::invalid(path, format!("invalid base64: {err}")))
}

/// The base64 text of a `data:` URI, or why it is not one we read.
pub fn data_uri_payload<'u>(uri: &'u str, path: &str) -> Result<&'u str, SceneError> {
    let is_data_uri = uri
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"));
    if !is_data_uri {
        return Err(SceneError::ExternalUri {
            path: path.to_owned(),
        });
    }
    let Some((header, payload)) = uri.split_once(',') else {
        return Err(SceneError::invalid(
            path,
            "data: URI has no ',' before its data",
        ));
    };
    let is_base64 = header
        .len()
        .checked_sub(7)
        .and_then(|start| header.get(start..))
        .is_some_and(|suffix| suffix.eq_ignore_ascii_case(";base64"));
    if !is_base64 {
        return Err(SceneError::invalid(
            path,
            "only base64 data: URIs are accepted",
        ));
    }
    Ok(payload)
}

/// The glTF's buffers, each decoded on first use and kept, so a buffer shared by many accessors is
/// decoded once and a buffer nobody reads (textures of a depth image) never is.
pub struct Buffers<'j, 'a> {
    buffers: &'j [json::Buffer<'a>],
    views: &'j [json::BufferView],
    accessors: &'j [json::Accessor],
    decoded: Vec<Option<Vec<u8>>>,
    /// Each buffer's [`ContentKey`], hashed from its data URI's text on first use.
    keys: Vec<Option<ContentKey>>,
    /// Reads each buffer may still serve: references from primitives and images, counted up front
    /// and counted down by [`Self::release`]. At zero the decoded bytes are dropped, so a scene's
    /// decoded buffers do not all stay alive beside the meshes made from them (Drake writes one
    /// buffer per accessor). Reads never exceed references; a read after a miscount decodes again.
    remaining: Vec<usize>,
}

impl<'j, 'a> Buffers<'j, 'a> {
    pub fn new(root: &'j json::Root<'a>) -> Self {
        Self {
            buffers: &root.buffers,
            views: &root.buffer_views,
            accessors: &root.accessors,
            decoded: root.buffers.iter().map(|_| None).collect(),
            keys: root.buffers.iter().map(|_| None).collect(),
            remaining: references(root),
        }
    }

    /// Counts one finished read of `bufferViews[view]`'s buffer; frees it after its last.
    pub fn release(&mut self, view: usize) {
        let Some(buffer) = self.views.get(view).map(|view| view.buffer) else {
            return;
        };
        if let Some(remaining) = self.remaining.get_mut(buffer) {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                self.decoded[buffer] = None;
            }
        }
    }

    /// [`Self::release`] for the view behind `accessors[index]`, if any.
    fn release_accessor(&mut self, index: usize) {
        if let Some(view) = self.accessors.get(index).and_then(|a| a.buffer_view) {
            self.release(view);
        }
    }

    /// `buffers[index]` as declared, its data URI checked to be one we read.
    fn declared(&self, index: usize) -> Result<(&'j json::Buffer<'a>, &'j str), SceneError> {
        let path = || format!("buffers[{index}]");
        let declared = self
            .buffers
            .get(index)
            .ok_or_else(|| SceneError::out_of_range(path(), "buffer", index))?;
        let Some(uri) = &declared.uri else {
            return Err(SceneError::invalid(
                &path(),
                "no uri (GLB binary chunks are not accepted)",
            ));
        };
        data_uri_payload(&uri.0, &format!("{}.uri", path()))?;
        Ok((declared, &uri.0))
    }

    /// The key of `buffers[index]`: a hash of its data URI's text, computed without decoding it,
    /// so content already cached is never decoded again.
    fn buffer_key(&mut self, index: usize) -> Result<ContentKey, SceneError> {
        if let Some(Some(key)) = self.keys.get(index) {
            return Ok(*key);
        }
        let (declared, uri) = self.declared(index)?;
        let mut hasher = KeyHasher::new("gltf buffer");
        hasher
            .bytes(uri.as_bytes())
            .number(declared.byte_length as u64);
        let key = hasher.finish();
        self.keys[index] = Some(key);
        Ok(key)
    }

    /// `bufferViews[index]`, checked to exist and to name an existing buffer.
    fn checked_view(&self, index: usize, path: &str) -> Result<&'j json::BufferView, SceneError> {
        let view = self
            .views
            .get(index)
            .ok_or_else(|| SceneError::out_of_range(path.to_owned(), "bufferView", index))?;
        if view.buffer >= self.buffers.len() {
            return Err(SceneError::out_of_range(
                format!("bufferViews[{index}].buffer"),
                "buffer",
                view.buffer,
            ));
        }
        Ok(view)
    }

    /// Adds to `hasher` everything `bufferViews[index]` reads: its range, stride and buffer.
    pub fn hash_view(
        &mut self,
        index: usize,
        path: &str,
        hasher: &mut KeyHasher,
    ) -> Result<(), SceneError> {
        let view = self.checked_view(index, path)?;
        let buffer = self.buffer_key(view.buffer)?;
        hasher
            .key(&buffer)
            .number(view.byte_offset as u64)
            .number(view.byte_length as u64)
            .number(view.byte_stride.map_or(0, |stride| stride as u64 + 1));
        Ok(())
    }

    /// Adds to `hasher` everything reading `accessors[index]` depends on: its layout, its view
    /// and the bytes behind them.
    pub fn hash_accessor(
        &mut self,
        index: usize,
        path: &str,
        hasher: &mut KeyHasher,
    ) -> Result<(), SceneError> {
        let accessor = self
            .accessors
            .get(index)
            .ok_or_else(|| SceneError::out_of_range(path.to_owned(), "accessor", index))?;
        hasher
            .bytes(accessor.element_type.as_bytes())
            .number(u64::from(accessor.component_type))
            .number(u64::from(accessor.normalized))
            .number(accessor.count as u64)
            .number(accessor.byte_offset as u64)
            .number(u64::from(accessor.sparse.is_some()));
        match accessor.buffer_view {
            Some(view) => {
                hasher.number(1);
                self.hash_view(view, &format!("accessors[{index}].bufferView"), hasher)
            }
            None => {
                hasher.number(0);
                Ok(())
            }
        }
    }

    fn buffer(&mut self, index: usize) -> Result<&[u8], SceneError> {
        let (declared, uri) = self.declared(index)?;
        let slot = &mut self.decoded[index];
        if slot.is_none() {
            let path = format!("buffers[{index}]");
            let bytes = decode_data_uri(uri, &format!("{path}.uri"))?;
            if bytes.len() < declared.byte_length {
                return Err(SceneError::invalid(
                    &path,
                    format!(
                        "data is {} bytes, shorter than byteLength {}",
                        bytes.len(),
                        declared.byte_length
                    ),
                ));
            }
            *slot = Some(bytes);
        }
        let bytes = slot.as_deref().expect("UNWRAP: filled just above");
        Ok(&bytes[..declared.byte_length])
    }

    /// The bytes of `bufferViews[index]`; `path` names the field that referenced it.
    pub fn view(&mut self, index: usize, path: &str) -> Result<&[u8], SceneError> {
        let view = self.checked_view(index, path)?;
        let (start, length) = (view.byte_offset, view.byte_length);
        let buffer = self.buffer(view.buffer)?;
        start
            .checked_add(length)
            .and_then(|end| buffer.get(start..end))
            .ok_or_else(|| {
                SceneError::invalid(
                    &format!("bufferViews[{index}]"),
                    format!(
                        "bytes {start}..+{length} lie outside buffer {} ({} bytes)",
                        view.buffer,
                        buffer.len()
                    ),
                )
            })
    }

    /// The accessor behind `index`, checked to be one of `expected_types`.
    pub fn accessor(
        &self,
        index: usize,
        path: &str,
        expected_types: &[&str],
    ) -> Result<&'j json::Accessor, SceneError> {
        let accessor = self
            .accessors
            .get(index)
            .ok_or_else(|| SceneError::out_of_range(path.to_owned(), "accessor", index))?;
        if !expected_types.contains(&accessor.element_type.as_str()) {
            return Err(SceneError::invalid(
                path,
                format!(
                    "accessor {index} has type {}, expected {}",
                    quote(&accessor.element_type),
                    expected_types.join(" or ")
                ),
            ));
        }
        if accessor.sparse.is_some() {
            return Err(SceneError::invalid(
                path,
                format!("accessor {index} is sparse, which is not supported"),
            ));
        }
        Ok(accessor)
    }

    /// Reads `N`-component float vectors from `accessors[index]`, converting integer components
    /// (normalized or not), as `TEXCOORD_0` and KHR_mesh_quantization allow.
    pub fn read_floats<const N: usize>(
        &mut self,
        index: usize,
        path: &str,
        expected_type: &str,
    ) -> Result<Vec<[f32; N]>, SceneError> {
        let accessor = self.accessor(index, path, &[expected_type])?;
        let normalized = accessor.normalized;
        let elements = self.elements(index, accessor, N)?;
        let Some(elements) = elements else {
            return Ok(vec![[0.0; N]; accessor.count]);
        };
        let floats = match accessor.component_type {
            5126 => elements.read(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            5121 if normalized => elements.read(|b| f32::from(b[0]) / 255.0),
            5121 => elements.read(|b| f32::from(b[0])),
            5120 if normalized => elements.read(|b| (f32::from(b[0] as i8) / 127.0).max(-1.0)),
            5120 => elements.read(|b| f32::from(b[0] as i8)),
            5123 if normalized => {
                elements.read(|b| f32::from(u16::from_le_bytes([b[0], b[1]])) / 65535.0)
            }
            5123 => elements.read(|b| f32::from(u16::from_le_bytes([b[0], b[1]]))),
            5122 if normalized => {
                elements.read(|b| (f32::from(i16::from_le_bytes([b[0], b[1]])) / 32767.0).max(-1.0))
            }
            5122 => elements.read(|b| f32::from(i16::from_le_bytes([b[0], b[1]]))),
            // UNSIGNED_INT is valid for indices only.
            other => return Err(component_type_error(path, index, other)),
        };
        self.release_accessor(index);
        Ok(floats)
    }

    /// Reads an index accessor (`UNSIGNED_BYTE`, `UNSIGNED_SHORT` or `UNSIGNED_INT` scalars).
    pub fn read_indices(&mut self, index: usize, path: &str) -> Result<Vec<u32>, SceneError> {
        let accessor = self.accessor(index, path, &["SCALAR"])?;
        if !matches!(accessor.component_type, 5121 | 5123 | 5125) {
            return Err(SceneError::invalid(
                path,
                format!(
                    "accessor {index} has componentType {}; indices must be UNSIGNED_BYTE, \
                     UNSIGNED_SHORT or UNSIGNED_INT",
                    accessor.component_type
                ),
            ));
        }
        let Some(elements) = self.elements(index, accessor, 1)? else {
            return Ok(vec![0; accessor.count]);
        };
        let indices = match accessor.component_type {
            5121 => elements.read::<1, _>(|b| u32::from(b[0])),
            5123 => elements.read::<1, _>(|b| u32::from(u16::from_le_bytes([b[0], b[1]]))),
            _ => elements.read::<1, _>(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        }
        .into_iter()
        .map(|[value]| value)
        .collect();
        self.release_accessor(index);
        Ok(indices)
    }

    /// The accessor's bytes with its stride, range-checked; `None` for an accessor without a
    /// bufferView (all zeros, per the spec).
    fn elements(
        &mut self,
        index: usize,
        accessor: &json::Accessor,
        components: usize,
    ) -> Result<Option<Elements<'_>>, SceneError> {
        let path = format!("accessors[{index}]");
        let component_size = match accessor.component_type {
            5120 | 5121 => 1,
            5122 | 5123 => 2,
            5125 | 5126 => 4,
            other => return Err(component_type_error(&path, index, other)),
        };
        let Some(view_index) = accessor.buffer_view else {
            return Ok(None);
        };
        let stride_declared = self.views.get(view_index).and_then(|view| view.byte_stride);
        let bytes = self.view(view_index, &format!("{path}.bufferView"))?;
        let element_size = component_size * components;
        let stride = stride_declared.unwrap_or(element_size);
        if stride < element_size {
            return Err(SceneError::invalid(
                &format!("bufferViews[{view_index}].byteStride"),
                format!("{stride} is smaller than accessor {index}'s element size {element_size}"),
            ));
        }
        let end = match accessor.count {
            0 => Some(accessor.byte_offset),
            count => (count - 1)
                .checked_mul(stride)
                .and_then(|span| span.checked_add(element_size))
                .and_then(|span| span.checked_add(accessor.byte_offset)),
        };
        let bytes = end
            .and_then(|end| bytes.get(accessor.byte_offset..end))
            .ok_or_else(|| {
                SceneError::invalid(
                    &path,
                    format!(
                        "{} elements at byteOffset {} with stride {stride} overrun bufferView \
                         {view_index} ({} bytes)",
                        accessor.count,
                        accessor.byte_offset,
                        bytes.len()
                    ),
                )
            })?;
        Ok(Some(Elements {
            bytes,
            stride,
            count: accessor.count,
            component_size,
        }))
    }
}

/// How many reads each buffer can serve: one per primitive attribute or index accessor and per
/// image stored in one of its bufferViews.
fn references(root: &json::Root<'_>) -> Vec<usize> {
    let mut counts = vec![0; root.buffers.len()];
    let mut count_view = |view: usize| {
        if let Some(count) = root
            .buffer_views
            .get(view)
            .and_then(|view| counts.get_mut(view.buffer))
        {
            *count += 1;
        }
    };
    let primitives = root.meshes.iter().flat_map(|mesh| &mesh.primitives);
    for primitive in primitives {
        let attributes = &primitive.attributes;
        let accessors = [
            attributes.position,
            attributes.normal,
            attributes.tex_coord_0,
            primitive.indices,
        ];
        for accessor in accessors.into_iter().flatten() {
            if let Some(view) = root.accessors.get(accessor).and_then(|a| a.buffer_view) {
                count_view(view);
            }
        }
    }
    for image in &root.images {
        if let Some(view) = image.buffer_view {
            count_view(view);
        }
    }
    counts
}

fn component_type_error(path: &str, index: usize, component_type: u32) -> SceneError {
    SceneError::invalid(
        path,
        format!("accessor {index} has unsupported componentType {component_type}"),
    )
}

/// A range-checked run of accessor elements.
struct Elements<'b> {
    bytes: &'b [u8],
    stride: usize,
    count: usize,
    component_size: usize,
}

impl Elements<'_> {
    /// Converts each element's first `N` components with `component` (given the component's bytes).
    fn read<const N: usize, T>(&self, component: impl Fn(&[u8]) -> T) -> Vec<[T; N]> {
        (0..self.count)
            .map(|element| {
                let start = element * self.stride;
                std::array::from_fn(|c| component(&self.bytes[start + c * self.component_size..]))
            })
            .collect()
    }
}
