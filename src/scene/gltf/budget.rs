//! What a scene will cost, checked before it is allocated: node and draw-call counts before the
//! walk, the count of each accessor without data against the bytes actually sent, and every large allocation
//! (vertex and index arrays, decoded textures) charged against `maxDecodedBytes` and the caller's
//! own budget first.
//!
//! A glTF is a few bytes of JSON that can claim gigabytes (a count without data, a tiny JPEG
//! claiming 16k×16k pixels, 200 000 one-triangle nodes): every check here compares a claim with
//! what was sent or with a configured limit, so the work done stays tied to the request's size.

use super::{LoadOptions, Loader, SceneError};
use crate::core::config::config_key;

/// Bytes the loader holds per vertex at its peak: the accessor read and the world positions
/// (12 + 12), normals (12) and texture coordinates (8).
const BYTES_PER_VERTEX: u64 = 44;

/// Bytes per index: the accessor read, then the triangle list built from it (4 + 4).
const BYTES_PER_INDEX: u64 = 8;

/// Decoded RGBA8 texels are 4 bytes, and the decoder's own output exists alongside them once.
const BYTES_PER_TEXEL_DECODING: u64 = 8;

impl Loader<'_, '_> {
    /// Refuses a document with more nodes or draw calls than allowed, before any node is walked.
    /// Draw calls are counted over every node with a mesh, drawn or not: an upper bound, and free.
    pub(super) fn check_node_counts(&self) -> Result<(), SceneError> {
        let nodes = self.root.nodes.len();
        SceneError::check_limit(
            "nodes",
            nodes as u64,
            self.options.max_nodes as u64,
            config_key!(LoadOptions, max_nodes),
        )?;
        let draw_calls: usize = self
            .root
            .nodes
            .iter()
            .filter_map(|node| self.root.meshes.get(node.mesh?))
            .map(|mesh| mesh.primitives.len())
            .sum();
        SceneError::check_limit(
            "draw calls (mesh primitives placed by nodes)",
            draw_calls as u64,
            self.options.max_draw_calls as u64,
            config_key!(LoadOptions, max_draw_calls),
        )?;
        Ok(())
    }

    /// Checks that an accessor without a bufferView (all zeros by the spec, so nothing was sent
    /// for it) claims no more elements than the document has bytes. Accessors with data are
    /// range-checked against their bufferView by the reader before anything is allocated.
    pub(super) fn check_accessor_data(&self, index: usize, path: &str) -> Result<(), SceneError> {
        let Some(accessor) = self.root.accessors.get(index) else {
            return Ok(()); // the reader names the missing accessor
        };
        let (count, sent) = (accessor.count as u64, self.document_bytes as u64);
        if accessor.buffer_view.is_none() && count > sent {
            return Err(SceneError::invalid(
                path,
                format!(
                    "accessor {index} claims {count} elements without a bufferView, more than \
                     the {sent} bytes of the whole document"
                ),
            ));
        }
        Ok(())
    }

    /// Charges a primitive's arrays before they are read.
    pub(super) fn charge_geometry(
        &mut self,
        vertices: usize,
        indices: usize,
    ) -> Result<(), SceneError> {
        let bytes = (vertices as u64)
            .saturating_mul(BYTES_PER_VERTEX)
            .saturating_add((indices as u64).saturating_mul(BYTES_PER_INDEX));
        self.spending.charge(bytes)
    }
}

/// What one load has charged, and to whom: `maxDecodedBytes` first, then the caller's budget.
/// A struct of its own so an image decoder's callback can charge while the loader's buffers are
/// borrowed.
pub(super) struct Spending<'r> {
    pub charged: u64,
    pub limit: u64,
    pub reserve: &'r mut dyn FnMut(u64) -> Result<(), SceneError>,
}

impl Spending<'_> {
    /// Charges a texture from its header's size, before its pixels are decoded.
    pub fn charge_texture(&mut self, width: u32, height: u32) -> Result<(), SceneError> {
        let pixels = u64::from(width) * u64::from(height);
        self.charge(pixels.saturating_mul(BYTES_PER_TEXEL_DECODING))
    }

    /// Adds `bytes` to what this load holds, refused over `maxDecodedBytes` (the client's 400) or
    /// by the caller's budget (the server's 503).
    fn charge(&mut self, bytes: u64) -> Result<(), SceneError> {
        let total = self.charged.saturating_add(bytes);
        SceneError::check_limit(
            "bytes once decoded (estimated)",
            total,
            self.limit,
            config_key!(LoadOptions, max_decoded_bytes),
        )?;
        (self.reserve)(bytes)?;
        self.charged = total;
        Ok(())
    }
}
