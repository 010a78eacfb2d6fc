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
//! # Whole scenes
//! A document seen before (the same digest of the whole body, loaded with the same options) is
//! not parsed again: [`SceneCache::scene`] rebuilds it from what the first load produced. That
//! record holds its meshes and textures weakly, so it keeps no content alive and costs only its
//! instances; once any part is evicted the record is dropped and the document is loaded again.
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

use std::sync::Weak;

use super::{CameraNode, Instance, Mesh, Scene, Texture};
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
/// from the same bytes apart. The key of a whole document ([`KeyHasher::document`]) is the
/// loader's, in [`gltf`](super::gltf): it knows which options change what loading produces.
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
    /// What loading a whole document produced; see [`SceneCache::scene`].
    Scene(Arc<SceneRecord>),
    /// What another loader produced from content (a mesh file's parts), sized by itself: the
    /// cache sits below the loaders and knows none of their types.
    Derived(Arc<dyn Derived>),
}

/// A loader's result kept in the cache: its bytes as [`Cached`] counts a mesh's or a texture's.
pub trait Derived: Any + Send + Sync {
    /// Bytes held on the CPU.
    fn cpu_bytes(&self) -> u64;
    /// Bytes the renderer has uploaded for it so far.
    fn gpu_bytes(&self) -> u64;
    /// Bytes its GPU copy will take once drawn.
    fn gpu_bytes_once_drawn(&self) -> u64;
    /// Itself as `Any`, for the loader to take its own type back.
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

/// A loaded [`Scene`] with its meshes and textures held weakly (and their keys, to mark them used
/// when the record is).
pub struct SceneRecord {
    meshes: Vec<(ContentKey, Weak<Mesh>)>,
    textures: Vec<(Option<ContentKey>, Weak<Texture>)>,
    instances: Vec<Instance>,
    camera: Option<CameraNode>,
    user_gltf: bool,
}

impl SceneRecord {
    fn bytes(&self) -> u64 {
        (std::mem::size_of::<Self>()
            + self.meshes.len() * std::mem::size_of::<(ContentKey, Weak<Mesh>)>()
            + self.textures.len() * std::mem::size_of::<(Option<ContentKey>, Weak<Texture>)>()
            + self.instances.len() * std::mem::size_of::<Instance>()) as u64
    }

    /// The scene again, unless a part has been dropped since.
    fn rebuild(&self) -> Option<Scene> {
        Some(Scene {
            meshes: (self.meshes.iter())
                .map(|(_, mesh)| mesh.upgrade())
                .collect::<Option<_>>()?,
            textures: (self.textures.iter())
                .map(|(_, texture)| texture.upgrade())
                .collect::<Option<_>>()?,
            instances: self.instances.clone(),
            camera: self.camera,
            user_gltf: self.user_gltf,
        })
    }
}

impl Cached {
    fn cpu_bytes(&self) -> u64 {
        match self {
            Self::Mesh(mesh) => mesh.cpu_bytes(),
            Self::Texture(texture) => texture.rgba.len() as u64,
            Self::Scene(record) => record.bytes(),
            Self::Derived(value) => value.cpu_bytes(),
        }
    }

    /// What is uploaded so far.
    fn gpu_bytes(&self) -> u64 {
        match self {
            Self::Mesh(mesh) => mesh.gpu.bytes(),
            Self::Texture(texture) => texture.gpu.bytes(),
            Self::Scene(_) => 0,
            Self::Derived(value) => value.gpu_bytes(),
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
                Self::Scene(_) => 0,
                Self::Derived(value) => value.gpu_bytes_once_drawn(),
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

    fn remove(&mut self, key: &ContentKey) {
        if let Some((value, used)) = self.entries.remove(key) {
            self.order.remove(&used);
            self.cpu_bytes -= value.cpu_bytes();
            self.budget_bytes -= value.budget_bytes();
        }
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

    /// The document loaded before under `document` ([`KeyHasher::document`]), rebuilt from the
    /// parts the cache still holds, each counted as a hit: no JSON parsed, no key hashed. `None`
    /// (counting nothing: the load that follows counts its parts) when it was never loaded, or
    /// when one of its parts has been dropped since, which forgets the record.
    pub fn scene(&self, document: &ContentKey) -> Option<Scene> {
        let mut inner = lock(&self.inner);
        let Some(Cached::Scene(record)) = inner.touch(document) else {
            return None;
        };
        let Some(scene) = record.rebuild() else {
            inner.remove(document);
            return None;
        };
        let parts = record.meshes.iter().map(|(key, _)| Some(key));
        let parts = parts.chain(record.textures.iter().map(|(key, _)| key.as_ref()));
        for key in parts.flatten() {
            if inner.touch(key).is_some() {
                self.hits.fetch_add(1, Ordering::Relaxed);
            }
        }
        Some(scene)
    }

    /// Remembers what loading `document` produced, for [`Self::scene`]; parts the cache does not
    /// hold (over its limit) are remembered too, and rebuilt while something else keeps them.
    pub fn keep_scene(&self, document: ContentKey, scene: &Scene) {
        let texture_keys: Vec<Option<ContentKey>> = {
            let inner = lock(&self.inner);
            (scene.textures.iter())
                .map(|texture| {
                    inner
                        .entries
                        .iter()
                        .find_map(|(key, (value, _))| match value {
                            Cached::Texture(held) if Arc::ptr_eq(held, texture) => Some(*key),
                            _ => None,
                        })
                })
                .collect()
        };
        let record = SceneRecord {
            meshes: (scene.meshes.iter())
                .map(|mesh| (mesh.key, Arc::downgrade(mesh)))
                .collect(),
            textures: (texture_keys.into_iter().zip(&scene.textures))
                .map(|(key, texture)| (key, Arc::downgrade(texture)))
                .collect(),
            instances: scene.instances.clone(),
            camera: scene.camera,
            user_gltf: scene.user_gltf,
        };
        self.insert(document, Cached::Scene(Arc::new(record)));
    }

    pub fn stats(&self) -> CacheStats {
        let inner = lock(&self.inner);
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            entries: (inner.entries.values())
                .filter(|(value, _)| !matches!(value, Cached::Scene(_)))
                .count() as u64,
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

    fn one_triangle_scene(mesh: &Arc<Mesh>) -> Scene {
        Scene {
            meshes: vec![Arc::clone(mesh)],
            instances: vec![Instance {
                mesh: 0,
                model_to_world: glam::DMat4::IDENTITY,
                material: crate::scene::Material::default(),
            }],
            textures: Vec::new(),
            camera: None,
            user_gltf: false,
        }
    }

    fn triangle() -> Arc<Mesh> {
        Arc::new(Mesh::new(
            vec![[0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
            vec![[0.0, 0.0, 1.0]; 3],
            None,
            vec![0, 1, 2],
        ))
    }

    /// A kept document comes back with its parts counted as hits, and is forgotten once a part
    /// is gone: the record never keeps content alive.
    #[test]
    fn a_kept_scene_is_rebuilt_while_its_parts_live() {
        let cache = SceneCache::new(1 << 20);
        let mesh = triangle();
        cache.insert(mesh.key, Cached::Mesh(Arc::clone(&mesh)));
        cache.keep_scene(key(1), &one_triangle_scene(&mesh));
        drop(mesh);
        let again = cache.scene(&key(1)).expect("kept");
        assert_eq!((again.meshes.len(), again.instances.len()), (1, 1));
        assert_eq!((cache.stats().hits, cache.stats().entries), (1, 1));
        assert!(cache.scene(&key(2)).is_none());

        let unkept = triangle(); // not in the cache: only the scene holds it
        cache.keep_scene(key(3), &one_triangle_scene(&unkept));
        assert!(cache.scene(&key(3)).is_some());
        drop(unkept);
        assert!(cache.scene(&key(3)).is_none());
        assert_eq!(cache.stats().misses, 0, "document lookups count no misses");
    }

    #[test]
    fn a_zero_limit_keeps_nothing() {
        let cache = SceneCache::new(0);
        cache.insert(key(1), texture(4));
        assert!(cache.get(&key(1)).is_none());
        assert_eq!(cache.stats().entries, 0);
    }
}
