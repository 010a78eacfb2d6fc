//! Assets: mesh files, textures and environment maps, held in memory under the SHA-256 of their
//! bytes, so a client uploads each file at most once per server (`PUT`, `HEAD`,
//! `POST /v1/assets/missing`). A cache, not a store: within `assetCacheBytes`, least recently
//! used first out. A scene keeps what it decoded, so an evicted asset never breaks a registered
//! scene; it is only uploaded again by the next client that needs it.
//!
//! An upload is hashed while it streams in and refused the moment it passes `maxAssetBytes`.
//! Bytes still arriving count against `assetCacheBytes` too (a separate tally, since they cannot
//! be evicted): many slow uploads get 503 instead of growing the server, and they never take the
//! render memory (`maxInFlightBytes`) of requests that are complete.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::error::SceneApiError;
use super::{read_body, SceneApi};
use crate::core::config::config_key;
use crate::core::sync::lock;
use crate::protocol::scene_api::check::{check_asset_name, read_json};
use crate::protocol::scene_api::error::{FieldError, Reason};
use crate::protocol::scene_api::scene::{AssetList, MissingAssets};
use crate::roles::render_server::Config;

/// The assets held, and the bytes of uploads in progress.
pub struct AssetStore {
    /// `assetCacheBytes`.
    limit: u64,
    /// The largest asset accepted: `maxAssetBytes`, and never more than the whole cache.
    max_asset: u64,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Use order: the smallest tick is the least recently used.
    order: BTreeMap<u64, String>,
    tick: u64,
    bytes: u64,
    uploading: u64,
    evictions: u64,
}

struct Entry {
    data: Bytes,
    tick: u64,
}

/// What the status page and `/metrics` show of the assets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssetStats {
    pub count: usize,
    pub bytes: u64,
    pub limit: u64,
    pub uploading: u64,
    pub evictions: u64,
}

/// Whether an upload was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    AlreadyHeld,
}

/// An upload's share of the arriving bytes, given back when dropped.
struct Upload<'a> {
    store: &'a AssetStore,
    held: u64,
}

impl Upload<'_> {
    fn grow(&mut self, bytes: u64) -> Result<(), ()> {
        let mut inner = lock(&self.store.inner);
        if inner.uploading + bytes > self.store.limit {
            return Err(());
        }
        inner.uploading += bytes;
        self.held += bytes;
        Ok(())
    }
}

impl Drop for Upload<'_> {
    fn drop(&mut self) {
        lock(&self.store.inner).uploading -= self.held;
    }
}

impl AssetStore {
    pub fn new(limit: u64, max_asset: u64) -> Self {
        Self {
            limit,
            max_asset: max_asset.min(limit),
            inner: Mutex::default(),
        }
    }

    /// The asset's bytes, marked used.
    pub fn get(&self, name: &str) -> Option<Bytes> {
        let mut inner = lock(&self.inner);
        let inner = &mut *inner;
        let entry = inner.entries.get_mut(name)?;
        inner.tick += 1;
        inner.order.remove(&entry.tick);
        entry.tick = inner.tick;
        inner.order.insert(entry.tick, name.to_owned());
        Some(entry.data.clone())
    }

    /// The names of `names` not held, each once, in the order given.
    pub fn missing<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let inner = lock(&self.inner);
        let mut missing: Vec<String> = Vec::new();
        for name in names {
            if !inner.entries.contains_key(name) && !missing.iter().any(|m| m == name) {
                missing.push(name.to_owned());
            }
        }
        missing
    }

    /// Keeps `data` under `name`, evicting the least recently used assets to make room.
    fn insert(&self, name: &str, data: Bytes) -> Stored {
        let mut inner = lock(&self.inner);
        if inner.entries.contains_key(name) {
            drop(inner);
            self.get(name);
            return Stored::AlreadyHeld;
        }
        let size = data.len() as u64;
        while inner.bytes + size > self.limit {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            if let Some(evicted) = inner.entries.remove(&oldest) {
                inner.bytes -= evicted.data.len() as u64;
                inner.evictions += 1;
            }
        }
        inner.tick += 1;
        let tick = inner.tick;
        inner.order.insert(tick, name.to_owned());
        inner.entries.insert(name.to_owned(), Entry { data, tick });
        inner.bytes += size;
        Stored::New
    }

    pub fn stats(&self) -> AssetStats {
        let inner = lock(&self.inner);
        AssetStats {
            count: inner.entries.len(),
            bytes: inner.bytes,
            limit: self.limit,
            uploading: inner.uploading,
            evictions: inner.evictions,
        }
    }

    /// Reads an upload of `name`, hashing it as it streams; keeps it if it hashes to its name.
    async fn upload(
        &self,
        name: &str,
        length: Option<u64>,
        body: Body,
    ) -> Result<Stored, SceneApiError> {
        if length.is_some_and(|length| length > self.max_asset) {
            return Err(self.too_large());
        }
        let mut upload = Upload {
            store: self,
            held: 0,
        };
        let mut hasher = Sha256::new();
        let mut data = Vec::new();
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                SceneApiError::new(
                    Reason::BadRequest,
                    format!("the asset's body could not be read: {e}"),
                )
            })?;
            let size = chunk.len() as u64;
            if upload.held + size > self.max_asset {
                return Err(self.too_large());
            }
            upload.grow(size).map_err(|()| {
                SceneApiError::new(
                    Reason::Busy,
                    format!(
                        "asset uploads in progress fill the asset cache's {} bytes; retry \
                         shortly (config key {})",
                        self.limit,
                        config_key!(Config, asset_cache_bytes)
                    ),
                )
            })?;
            hasher.update(&chunk);
            data.extend_from_slice(&chunk);
        }
        let digest = hex::encode(hasher.finalize());
        if digest != name {
            return Err(SceneApiError::field(
                Reason::HashMismatch,
                FieldError::new(
                    "sha256",
                    format!("the body's SHA-256 is {digest}, not the name it was put under"),
                ),
            ));
        }
        // The bytes move from "arriving" to "held" under one lock each; briefly counted twice.
        let stored = self.insert(name, Bytes::from(data));
        drop(upload);
        Ok(stored)
    }

    fn too_large(&self) -> SceneApiError {
        SceneApiError::new(
            Reason::TooLarge,
            format!(
                "the asset exceeds the limit of {} bytes (config keys {} and {})",
                self.max_asset,
                config_key!(Config, max_asset_bytes),
                config_key!(Config, asset_cache_bytes)
            ),
        )
    }
}

/// The name in the path, checked.
fn asset_name(name: &str) -> Result<(), SceneApiError> {
    check_asset_name(name, "sha256").map_err(SceneApiError::from)
}

/// `PUT /v1/assets/{sha256}`: 201 when new, 200 when already held (read and checked all the same).
pub async fn put(
    State(api): State<Arc<SceneApi>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, SceneApiError> {
    asset_name(&name)?;
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let stored = api.assets.upload(&name, length, body).await?;
    Ok(match stored {
        Stored::New => StatusCode::CREATED,
        Stored::AlreadyHeld => StatusCode::OK,
    })
}

/// `GET` and `HEAD /v1/assets/{sha256}`: the bytes (HEAD: their length), or 404.
pub async fn get(
    State(api): State<Arc<SceneApi>>,
    Path(name): Path<String>,
) -> Result<Response, SceneApiError> {
    asset_name(&name)?;
    let data = api.assets.get(&name).ok_or_else(|| {
        SceneApiError::new(Reason::UnknownAsset, "this server does not hold the asset")
    })?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], data).into_response())
}

/// `POST /v1/assets/missing`: which of the named assets this server lacks.
pub async fn missing(
    State(api): State<Arc<SceneApi>>,
    body: Body,
) -> Result<axum::Json<MissingAssets>, SceneApiError> {
    let body = read_body(&api, body).await?;
    let list: AssetList = read_json(&body)?;
    for (index, name) in list.sha256.iter().enumerate() {
        check_asset_name(name, &format!("sha256[{index}]"))?;
    }
    Ok(axum::Json(MissingAssets {
        missing: api.assets.missing(list.sha256.iter().map(String::as_str)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize) -> Bytes {
        Bytes::from(vec![7; n])
    }

    #[test]
    fn the_least_recently_used_goes_first_and_a_read_counts_as_use() {
        let store = AssetStore::new(100, 100);
        assert_eq!(store.insert("a", bytes(40)), Stored::New);
        assert_eq!(store.insert("b", bytes(40)), Stored::New);
        assert!(store.get("a").is_some());
        assert_eq!(store.insert("c", bytes(40)), Stored::New);
        assert_eq!(store.missing(["a", "b", "c", "b"]), ["b"]);
        assert_eq!(store.insert("a", bytes(40)), Stored::AlreadyHeld);
        let stats = store.stats();
        assert_eq!((stats.count, stats.bytes, stats.evictions), (2, 80, 1));
    }

    #[test]
    fn arriving_bytes_are_bounded_and_given_back() {
        let store = AssetStore::new(100, 1000);
        assert_eq!(store.max_asset, 100);
        let mut first = Upload {
            store: &store,
            held: 0,
        };
        first.grow(60).unwrap();
        let mut second = Upload {
            store: &store,
            held: 0,
        };
        assert_eq!(second.grow(41), Err(()));
        second.grow(40).unwrap();
        drop(first);
        assert_eq!(store.stats().uploading, 40);
        drop(second);
        assert_eq!(store.stats().uploading, 0);
    }
}
