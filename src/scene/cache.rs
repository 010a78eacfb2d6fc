//! The content-addressed scene cache: what loading a glTF produces (model-space meshes with their
//! normals, decoded textures) and what uploading them produced (GPU buffers and textures, attached
//! to the same entries), shared across requests and clients and bounded in bytes.
//!
//! Drake re-sends the whole scene with every image, for every camera and image type. Keys are
//! BLAKE3 digests of the bytes an entry was derived from (the data URIs' text, hashed before any
//! base64 is decoded, and the accessor layout read from them), so a changed byte is a different
//! key: a stale entry can never be served, by construction, and nothing is ever invalidated.
//! BLAKE3 because a key must stay collision-resistant (a collision would serve another scene's
//! mesh) and it is that at several times SHA-256's speed: a repeated 58 MiB scene hashed its
//! data URIs for tens of milliseconds with SHA-256.
//!
//! # One budget for CPU and GPU bytes
//! The renderer attaches what it uploads to the entry it came from ([`GpuSlot`]): evicting an entry
//! frees both copies together once the last scene using it is dropped, and one LRU over one
//! budget (`cacheBytes`) counts both. On a software adapter "GPU memory" is system memory too.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::{Mesh, Texture};
use crate::core::sync::lock;

/// A BLAKE3 digest naming content.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentKey(pub [u8; 32]);

impl fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in &self.0[..6] {
            write!(f, "{byte:02x}")?;
        }
        f.write_str("…")
    }
}

/// Builds a [`ContentKey`] from tagged parts; the domain tag keeps a mesh and a texture derived
/// from the same bytes apart.
pub struct KeyHasher(blake3::Hasher);

impl KeyHasher {
    pub fn new(domain: &str) -> Self {
        let mut hasher = Self(blake3::Hasher::new());
        hasher.bytes(domain.as_bytes());
        hasher
    }

    /// Adds a length-prefixed byte string, so concatenations cannot collide.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    pub fn number(&mut self, value: u64) -> &mut Self {
        self.0.update(&value.to_le_bytes());
        self
    }

    pub fn key(&mut self, key: &ContentKey) -> &mut Self {
        self.0.update(&key.0);
        self
    }

    pub fn finish(self) -> ContentKey {
        ContentKey(self.0.finalize().into())
    }
}

/// What the renderer uploaded for a mesh or texture, kept with it. The scene layer knows no GPU
/// types, so the value is opaque here; only its size is counted.
#[derive(Default)]
pub struct GpuSlot(OnceLock<GpuPart>);

struct GpuPart {
    bytes: u64,
    value: Box<dyn Any + Send + Sync>,
}

impl GpuSlot {
    /// The uploaded value, uploading it first if nobody has; concurrent callers wait for the
    /// first. `None` only if the slot holds a value of another type, which one renderer never
    /// causes.
    pub fn get_or_upload<T: Any + Send + Sync>(
        &self,
        upload: impl FnOnce() -> (T, u64),
    ) -> Option<&T> {
        let part = self.0.get_or_init(|| {
            let (value, bytes) = upload();
            GpuPart {
                bytes,
                value: Box::new(value),
            }
        });
        part.value.downcast_ref()
    }

    /// The uploaded value, if any.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.0.get().and_then(|part| part.value.downcast_ref())
    }

    /// Bytes uploaded so far (0 before the first upload).
    pub fn bytes(&self) -> u64 {
        self.0.get().map_or(0, |part| part.bytes)
    }
}

impl fmt::Debug for GpuSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GpuSlot({} bytes)", self.bytes())
    }
}

/// A fresh copy of data has not been uploaded yet.
impl Clone for GpuSlot {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// Uploads are derived from the content; equal content is equal whatever was uploaded.
impl PartialEq for GpuSlot {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for GpuSlot {}

/// A cached value.
#[derive(Clone)]
pub enum Cached {
    Mesh(Arc<Mesh>),
    Texture(Arc<Texture>),
}

impl Cached {
    fn cpu_bytes(&self) -> u64 {
        match self {
            Self::Mesh(mesh) => mesh.cpu_bytes(),
            Self::Texture(texture) => texture.rgba.len() as u64,
        }
    }

    /// What is uploaded so far.
    fn gpu_bytes(&self) -> u64 {
        match self {
            Self::Mesh(mesh) => mesh.gpu.bytes(),
            Self::Texture(texture) => texture.gpu.bytes(),
        }
    }

    /// What the entry counts against the budget: its CPU bytes and the GPU copy it will get
    /// (interleaved vertices and 32-bit indices; RGBA8 texels), counted when it is inserted so
    /// the budget holds whether or not the upload has happened yet.
    fn budget_bytes(&self) -> u64 {
        self.cpu_bytes()
            + match self {
                Self::Mesh(mesh) => mesh.gpu_bytes(),
                Self::Texture(texture) => texture.rgba.len() as u64,
            }
    }
}

/// Counters and sizes, for `/metrics` and `GET /`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub entries: u64,
    pub cpu_bytes: u64,
    pub gpu_bytes: u64,
    pub limit_bytes: u64,
}

/// The cache. `limit_bytes` 0 disables it: every lookup misses and nothing is kept.
pub struct SceneCache {
    limit_bytes: u64,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<ContentKey, (Cached, u64)>,
    /// Last use → key; the first entry is the least recently used.
    order: BTreeMap<u64, ContentKey>,
    clock: u64,
    cpu_bytes: u64,
    /// Sum of the entries' [`Cached::budget_bytes`].
    budget_bytes: u64,
}

impl Inner {
    fn touch(&mut self, key: &ContentKey) -> Option<Cached> {
        self.clock += 1;
        let clock = self.clock;
        let (value, used) = self.entries.get_mut(key)?;
        self.order.remove(used);
        *used = clock;
        self.order.insert(clock, *key);
        Some(value.clone())
    }

    /// GPU bytes are attached after insertion, by the renderer: summed when asked for.
    fn gpu_bytes(&self) -> u64 {
        self.entries
            .values()
            .map(|(value, _)| value.gpu_bytes())
            .sum()
    }
}

impl SceneCache {
    pub fn new(limit_bytes: u64) -> Self {
        Self {
            limit_bytes,
            inner: Mutex::new(Inner::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    /// The entry under `key`, marked as just used; counts a hit or a miss.
    pub fn get(&self, key: &ContentKey) -> Option<Cached> {
        let found = lock(&self.inner).touch(key);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps `value` under `key`, evicting the least recently used entries until CPU and GPU
    /// bytes fit the limit. A value larger than the whole limit is not kept.
    pub fn insert(&self, key: ContentKey, value: Cached) {
        let size = value.budget_bytes();
        if size > self.limit_bytes {
            return;
        }
        let mut inner = lock(&self.inner);
        if inner.touch(&key).is_some() {
            return; // another request loaded the same content meanwhile
        }
        while inner.budget_bytes + size > self.limit_bytes {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            if let Some((evicted, _)) = inner.entries.remove(&oldest) {
                inner.cpu_bytes -= evicted.cpu_bytes();
                inner.budget_bytes -= evicted.budget_bytes();
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        let clock = inner.clock;
        inner.order.insert(clock, key);
        inner.cpu_bytes += value.cpu_bytes();
        inner.budget_bytes += size;
        inner.entries.insert(key, (value, clock));
    }

    pub fn stats(&self) -> CacheStats {
        let inner = lock(&self.inner);
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            entries: inner.entries.len() as u64,
            cpu_bytes: inner.cpu_bytes,
            gpu_bytes: inner.gpu_bytes(),
            limit_bytes: self.limit_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texture(bytes: usize) -> Cached {
        Cached::Texture(Arc::new(Texture::new(
            1,
            (bytes / 4) as u32,
            vec![0; bytes],
        )))
    }

    fn key(n: u64) -> ContentKey {
        let mut hasher = KeyHasher::new("test");
        hasher.number(n);
        hasher.finish()
    }

    /// A texture of `bytes` counts twice that: its pixels and their GPU copy.
    #[test]
    fn least_recently_used_entries_go_first_and_are_counted() {
        let cache = SceneCache::new(200);
        cache.insert(key(1), texture(40));
        cache.insert(key(2), texture(40));
        assert!(cache.get(&key(1)).is_some()); // 2 is now the oldest
        cache.insert(key(3), texture(40));
        assert!(cache.get(&key(2)).is_none());
        assert!(cache.get(&key(1)).is_some() && cache.get(&key(3)).is_some());
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.evictions), (3, 1, 1));
        assert_eq!((stats.entries, stats.cpu_bytes), (2, 80));
    }

    #[test]
    fn gpu_bytes_count_against_the_limit_before_and_after_the_upload() {
        let cache = SceneCache::new(100);
        cache.insert(key(1), texture(40)); // 80 of 100
        if let Some(Cached::Texture(texture)) = cache.get(&key(1)) {
            texture.gpu.get_or_upload(|| ((), 40));
        }
        assert_eq!(cache.stats().gpu_bytes, 40);
        cache.insert(key(2), texture(40)); // 80 + 80 > 100
        assert!(cache.get(&key(1)).is_none());
        assert_eq!(cache.stats().evictions, 1);
    }

    #[test]
    fn a_zero_limit_keeps_nothing() {
        let cache = SceneCache::new(0);
        cache.insert(key(1), texture(4));
        assert!(cache.get(&key(1)).is_none());
        assert_eq!(cache.stats().entries, 0);
    }
}
