//! What all resident scenes hold, in bytes of decoded content, against `maxResidentBytes`: each
//! mesh (its CPU arrays and the GPU copy it gets once drawn) and each texture (RGBA8 on both
//! sides) counted once, however many geometries and scenes share it (the scene cache hands equal
//! content out as one `Arc`).
//!
//! A ledger kept as geometries come and go, so neither a registration nor a `/metrics` scrape
//! walks every scene, and room is taken in the same step that checks it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::build::GeometryContent;
use super::error::SceneApiError;
use crate::core::config::config_key;
use crate::core::sync::lock;
use crate::protocol::scene_api::error::Reason;
use crate::roles::render_server::Config;

pub struct ResidentBytes {
    limit: u64,
    ledger: Mutex<Ledger>,
}

#[derive(Default)]
struct Ledger {
    /// By the part's address: how many geometries hold it, and its bytes.
    parts: HashMap<usize, (usize, u64)>,
    total: u64,
}

impl ResidentBytes {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            ledger: Mutex::default(),
        }
    }

    pub fn total(&self) -> u64 {
        lock(&self.ledger).total
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Counts `contents` in when they fit beside what is held: 413 when they could never fit,
    /// 503 (retry once a scene expires or is deleted) when they do not fit now. Whatever is
    /// admitted is [`Self::release`]d when its geometries leave their scene.
    pub fn admit<'c>(
        &self,
        contents: impl Iterator<Item = &'c GeometryContent> + Clone,
    ) -> Result<(), SceneApiError> {
        let mut ledger = lock(&self.ledger);
        let mut distinct = HashMap::new();
        for (address, bytes) in contents.clone().flat_map(parts) {
            distinct.insert(address, bytes);
        }
        let alone: u64 = distinct.values().sum();
        let more: u64 = (distinct.iter())
            .filter(|(address, _)| !ledger.parts.contains_key(address))
            .map(|(_, bytes)| bytes)
            .sum();
        let key = config_key!(Config, max_resident_bytes);
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        if alone > self.limit {
            return Err(SceneApiError::new(
                Reason::TooLarge,
                format!(
                    "the geometry decodes to {:.1} MiB, more than all resident scenes may hold \
                     ({:.1} MiB, config key {key})",
                    mib(alone),
                    mib(self.limit)
                ),
            ));
        }
        if ledger.total + more > self.limit {
            return Err(SceneApiError::new(
                Reason::Busy,
                format!(
                    "resident scenes hold {:.1} MiB of {:.1} MiB and this needs {:.1} MiB more; \
                     retry once a scene expires or is deleted (config key {key})",
                    mib(ledger.total),
                    mib(self.limit),
                    mib(more)
                ),
            ));
        }
        for (address, bytes) in contents.flat_map(parts) {
            let holders = &mut ledger.parts.entry(address).or_insert((0, bytes)).0;
            *holders += 1;
        }
        ledger.total += more;
        Ok(())
    }

    /// Counts out what [`Self::admit`] counted in for `contents`.
    pub fn release<'c>(&self, contents: impl Iterator<Item = &'c GeometryContent>) {
        let mut ledger = lock(&self.ledger);
        for (address, _) in contents.flat_map(parts) {
            let Some((holders, bytes)) = ledger.parts.get_mut(&address) else {
                continue;
            };
            *holders -= 1;
            if *holders == 0 {
                let bytes = *bytes;
                ledger.parts.remove(&address);
                ledger.total -= bytes;
            }
        }
    }
}

/// Each mesh and texture a geometry holds, by address, with its bytes.
fn parts(content: &GeometryContent) -> impl Iterator<Item = (usize, u64)> + '_ {
    let meshes = (content.scene.meshes.iter()).map(|mesh| {
        (
            Arc::as_ptr(mesh) as usize,
            mesh.cpu_bytes() + mesh.gpu_bytes(),
        )
    });
    let textures = (content.scene.textures.iter())
        .map(|texture| (Arc::as_ptr(texture) as usize, 2 * texture.rgba.len() as u64));
    meshes.chain(textures)
}
