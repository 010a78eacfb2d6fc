//! A checked geometry → what it draws, once, at registration: its meshes in its own frame G
//! (RenderEngineVtk's tessellation, `scene::shapes`; its mesh files, `scene::mesh_file`), their
//! materials by Drake's rules (`scene::appearance`), its label, and the coverage clusters of
//! [`super::coverage`]. And per frame, the scene one image draws ([`frame_scene`]): every
//! geometry's content placed at its pose, coloured as the image type wants.
//!
//! Equal primitives share one mesh, and one mesh file (at any scale), convex hull or texture is
//! decoded once, across registrations too: what is decoded goes into the scene cache by content
//! (the assets' SHA-256 names), so a second scene of the same robot, or the same scene registered
//! again on this replica, reuses the meshes and their GPU buffers. Everything a scene holds counts,
//! for the scene as a whole, against `maxDecodedBytes` and `maxTriangles`; what is decoded here is
//! also charged to the request's ticket before it is allocated, where the loaders allow.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use glam::DMat4;

use super::assets::AssetStore;
use super::coverage::{self, Cluster};
use super::error::SceneApiError;
use crate::core::config::config_key;
use crate::protocol::drake::label::{to_red_green, LABEL_DONT_CARE};
use crate::protocol::scene_api::check::{CheckedGeometry, CheckedShape, LABEL_DO_NOT_RENDER};
use crate::protocol::scene_api::error::{FieldError, Reason};
use crate::protocol::scene_api::scene::{MeshFormat as WireFormat, MeshSource};
use crate::render::VTK_DEFAULT_DIFFUSE;
use crate::roles::render_server::Config;
use crate::scene::appearance::{resolve_material, DiffuseMap, PhongProperties, Surface};
use crate::scene::cache::{Cached, ContentKey, Derived, KeyHasher};
use crate::scene::camera::drake_to_node_rotation;
use crate::scene::gltf::images;
use crate::scene::merge::{self, StaticScene};
use crate::scene::mesh_file::{self, MeshFile, MeshFileSource, MeshFormat};
use crate::scene::shapes::{self, Shape};
use crate::scene::{
    CameraNode, Instance, LoadOptions, Material, Mesh, Scene, SceneCache, SceneError,
};

/// What one geometry draws, in its own frame.
pub struct GeometryContent {
    /// Meshes placed in G (a mesh's scale and a file part's own transform), with the materials
    /// of colour images.
    pub scene: Scene,
    pub label: i16,
    /// Its triangles summarised in G, for the per-frame coverage bound.
    pub clusters: Vec<Cluster>,
}

/// A geometry's content and where it is now.
#[derive(Clone)]
pub struct Placed {
    pub content: Arc<GeometryContent>,
    /// `X_WG`.
    pub pose: DMat4,
}

/// How an image type draws the geometries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appearance {
    /// Their materials and textures.
    Color,
    /// Untextured: depth reads no material.
    Depth,
    /// Each in its label's colour; `kDoNotRender` geometry left out.
    Label,
}

/// The scene one image draws: every geometry at its pose, then the static scene, seen from
/// `x_wc` (Drake's camera frame). In label images the static scene is `kDontCare`, as Drake's
/// path draws it (there by white, here by that label's own colour: see `frames::labels`).
pub fn frame_scene(
    geometries: &[Placed],
    static_scene: &StaticScene,
    appearance: Appearance,
    x_wc: &DMat4,
    near: f64,
) -> Scene {
    let mut scene = Scene::default();
    let materials = match appearance {
        Appearance::Color => merge::Appearance::Materials,
        Appearance::Depth | Appearance::Label => merge::Appearance::White,
    };
    for placed in geometries {
        let content = &placed.content;
        if appearance == Appearance::Label && content.label == LABEL_DO_NOT_RENDER {
            continue;
        }
        let first = scene.instances.len();
        merge::append(&mut scene, &content.scene, materials);
        for instance in &mut scene.instances[first..] {
            instance.model_to_world = placed.pose * instance.model_to_world;
            if appearance == Appearance::Label {
                instance.material.base_color = label_colour(content.label);
            }
        }
        scene.user_gltf |= content.scene.user_gltf;
    }
    let first = scene.instances.len();
    static_scene.merge_into(&mut scene, materials);
    if appearance == Appearance::Label {
        for instance in &mut scene.instances[first..] {
            instance.material.base_color = label_colour(LABEL_DONT_CARE);
        }
    }
    let rotation = drake_to_node_rotation(glam::DMat3::from_mat4(*x_wc));
    let mut camera_to_world = DMat4::from_mat3(rotation);
    camera_to_world.w_axis = x_wc.w_axis;
    scene.camera = Some(CameraNode {
        camera_to_world,
        znear: near,
        zfar: None,
    });
    scene
}

/// A label as the colour the label pass writes back: `round(colour · 255)` is its red and green.
fn label_colour(label: i16) -> [f32; 4] {
    let [red, green] = to_red_green(label);
    [f32::from(red) / 255.0, f32::from(green) / 255.0, 0.0, 1.0]
}

/// The static scene's clusters in the world (it never moves).
pub fn static_clusters(static_scene: &StaticScene) -> Vec<Cluster> {
    let mut scene = Scene::default();
    static_scene.merge_into(&mut scene, merge::Appearance::White);
    scene_clusters(&scene)
}

fn scene_clusters(scene: &Scene) -> Vec<Cluster> {
    (scene.instances.iter())
        .flat_map(|instance| {
            coverage::clusters(&scene.meshes[instance.mesh], &instance.model_to_world)
        })
        .collect()
}

/// Builds every geometry of one registration or edit, `(path, geometry)` with the path that names
/// it in errors. `reserve` is offered every allocation (the request's ticket).
///
/// # Errors
/// 409 when an asset was evicted since it was checked, 413 over a limit, 400 for a file that
/// cannot be read as its format, 503 when the memory for requests in flight is taken.
pub fn build_all(
    geometries: &[(String, CheckedGeometry)],
    assets: &AssetStore,
    cache: &SceneCache,
    config: &Config,
    reserve: impl FnMut(u64) -> Result<(), SceneError>,
) -> Result<Vec<GeometryContent>, SceneApiError> {
    // Taken now, so an asset evicted while this builds is still read.
    let mut held = HashMap::new();
    let mut missing = Vec::new();
    for name in geometries
        .iter()
        .flat_map(|(_, geometry)| geometry.assets())
    {
        if held.contains_key(name) || missing.iter().any(|m| m == name) {
            continue;
        }
        match assets.get(name) {
            Some(bytes) => drop(held.insert(name.to_owned(), bytes)),
            None => missing.push(name.to_owned()),
        }
    }
    if !missing.is_empty() {
        return Err(SceneApiError::missing_assets(missing));
    }
    let mut builder = Builder {
        held,
        cache,
        spend: Spend {
            options: config.load_options(true),
            reserve: Box::new(reserve),
            charged: 0,
            triangles: 0,
        },
        primitives: HashMap::new(),
        files: HashMap::new(),
        hulls: HashMap::new(),
        maps: HashMap::new(),
    };
    geometries
        .iter()
        .map(|(path, geometry)| {
            builder
                .geometry(geometry)
                .map_err(|error| scene_error(error, path))
        })
        .collect()
}

/// A loader's refusal as the scene API answers it, naming the geometry.
fn scene_error(error: SceneError, path: &str) -> SceneApiError {
    match error {
        SceneError::Refused(message) => SceneApiError::new(Reason::Busy, message),
        limit @ SceneError::LimitExceeded { .. } => {
            SceneApiError::field(Reason::TooLarge, FieldError::new(path, limit.to_string()))
        }
        other => FieldError::new(path, other.to_string()).into(),
    }
}

/// One registration's decoding: the assets it reads, what it has spent, what it decoded.
struct Builder<'r> {
    held: HashMap<String, Bytes>,
    cache: &'r SceneCache,
    spend: Spend<'r>,
    primitives: HashMap<ContentKey, Arc<Mesh>>,
    files: HashMap<MeshSource, Arc<MeshFile>>,
    hulls: HashMap<MeshSource, Arc<Mesh>>,
    /// Decoded `phong/diffuse_map` images by asset.
    maps: HashMap<String, DiffuseMap>,
}

/// What one registration has spent, against the scene's limits and the request's ticket.
struct Spend<'r> {
    options: LoadOptions,
    reserve: Box<dyn FnMut(u64) -> Result<(), SceneError> + 'r>,
    charged: u64,
    triangles: u64,
}

impl Spend<'_> {
    /// Charges `bytes` more to the scene (`maxDecodedBytes`) and to the request's ticket.
    fn charge(&mut self, bytes: u64) -> Result<(), SceneError> {
        self.count(bytes)?;
        (self.reserve)(bytes)
    }

    /// Counts `bytes` the scene holds but this request did not allocate (taken from the cache)
    /// against `maxDecodedBytes`.
    fn count(&mut self, bytes: u64) -> Result<(), SceneError> {
        self.charged = self.charged.saturating_add(bytes);
        SceneError::check_limit(
            "bytes once decoded (estimated)",
            self.charged,
            self.options.max_decoded_bytes,
            config_key!(LoadOptions, max_decoded_bytes),
        )
    }

    /// Adds one instance of `mesh` to `scene`, counting its triangles against `maxTriangles`
    /// for the whole scene.
    fn place(
        &mut self,
        scene: &mut Scene,
        mesh: &Arc<Mesh>,
        model_to_geometry: DMat4,
        material: Material,
    ) -> Result<(), SceneError> {
        self.triangles += (mesh.indices.len() / 3) as u64;
        SceneError::check_limit(
            "triangles",
            self.triangles,
            self.options.max_triangles as u64,
            config_key!(LoadOptions, max_triangles),
        )?;
        scene.meshes.push(Arc::clone(mesh));
        scene.instances.push(Instance {
            mesh: scene.meshes.len() - 1,
            model_to_world: model_to_geometry,
            material,
        });
        Ok(())
    }
}

impl Builder<'_> {
    fn geometry(&mut self, geometry: &CheckedGeometry) -> Result<GeometryContent, SceneError> {
        let properties = PhongProperties {
            diffuse: geometry.diffuse,
            diffuse_map: match &geometry.diffuse_map {
                Some(map) => Some(self.diffuse_map(&map.asset, &map.name)?),
                None => None,
            },
            diffuse_scale: geometry.diffuse_scale,
        };
        let mut scene = Scene::default();
        let primitive = match geometry.shape {
            CheckedShape::Box {
                width,
                depth,
                height,
            } => Some((
                Shape::Box {
                    width,
                    depth,
                    height,
                },
                Surface::Box,
            )),
            CheckedShape::Sphere { radius } => Some((Shape::Sphere { radius }, Surface::Primitive)),
            CheckedShape::Cylinder { radius, length } => {
                Some((Shape::Cylinder { radius, length }, Surface::Primitive))
            }
            CheckedShape::Capsule { radius, length } => {
                Some((Shape::Capsule { radius, length }, Surface::Primitive))
            }
            CheckedShape::Ellipsoid { a, b, c } => {
                Some((Shape::Ellipsoid { a, b, c }, Surface::Primitive))
            }
            CheckedShape::HalfSpace => Some((Shape::HalfSpace, Surface::Primitive)),
            CheckedShape::Mesh { .. } => None,
        };
        match (&geometry.shape, primitive) {
            (_, Some((shape, surface))) => {
                let mesh = self.primitive(&shape)?;
                let material = resolve_material(
                    surface,
                    &properties,
                    VTK_DEFAULT_DIFFUSE,
                    &mut scene.textures,
                );
                self.spend
                    .place(&mut scene, &mesh, DMat4::IDENTITY, material)?;
            }
            (
                CheckedShape::Mesh {
                    source,
                    scale,
                    convex: true,
                },
                None,
            ) => {
                let hull = self.hull(source)?;
                let material = resolve_material(
                    Surface::Convex,
                    &properties,
                    VTK_DEFAULT_DIFFUSE,
                    &mut scene.textures,
                );
                let scale = DMat4::from_scale((*scale).into());
                self.spend.place(&mut scene, &hull, scale, material)?;
            }
            (CheckedShape::Mesh { source, scale, .. }, None) => {
                let file = self.mesh_file(source)?;
                let scale = DMat4::from_scale((*scale).into());
                for part in &file.parts {
                    let material = resolve_material(
                        Surface::MeshPart(part),
                        &properties,
                        VTK_DEFAULT_DIFFUSE,
                        &mut scene.textures,
                    );
                    let placement = scale * part.part_to_geometry;
                    self.spend
                        .place(&mut scene, &part.mesh, placement, material)?;
                }
                scene.user_gltf = file.user_gltf;
            }
            (_, None) => {}
        }
        let clusters = scene_clusters(&scene);
        Ok(GeometryContent {
            scene,
            label: geometry.label,
            clusters,
        })
    }

    fn primitive(&mut self, shape: &Shape) -> Result<Arc<Mesh>, SceneError> {
        let key = shape.key();
        if let Some(mesh) = self.primitives.get(&key) {
            return Ok(Arc::clone(mesh));
        }
        let mesh = cached_mesh(self.cache, &mut self.spend, key, |spend| {
            let mesh = shapes::tessellate(shape);
            spend.charge(mesh.cpu_bytes())?;
            Ok(mesh)
        })?;
        self.primitives.insert(key, Arc::clone(&mesh));
        Ok(mesh)
    }

    fn main_file(&self, source: &MeshSource) -> Result<Bytes, SceneError> {
        self.held
            .get(&source.asset)
            .cloned()
            .ok_or_else(|| SceneError::invalid(&source.name, "the asset is not held"))
    }

    fn mesh_file(&mut self, source: &MeshSource) -> Result<Arc<MeshFile>, SceneError> {
        if let Some(file) = self.files.get(source) {
            return Ok(Arc::clone(file));
        }
        let key = source_key("scene api mesh file v1", source);
        let cached = match self.cache.get(&key) {
            Some(Cached::Derived(value)) => value.as_any().downcast::<MeshFile>().ok(),
            _ => None,
        };
        let file = match cached {
            Some(file) => {
                self.spend.count(Derived::cpu_bytes(&*file))?;
                file
            }
            None => {
                let (main, resolve) = (self.main_file(source)?, resolver(source, &self.held));
                let spend = &mut self.spend;
                let options = spend.options.clone();
                let file = mesh_file::load_mesh_file_within(
                    &file_source(source, &main, &resolve),
                    &options,
                    &mut |bytes| spend.charge(bytes),
                )?;
                let file = Arc::new(file);
                self.cache.insert(key, Cached::Derived(file.clone()));
                file
            }
        };
        self.files.insert(source.clone(), Arc::clone(&file));
        Ok(file)
    }

    fn hull(&mut self, source: &MeshSource) -> Result<Arc<Mesh>, SceneError> {
        if let Some(hull) = self.hulls.get(source) {
            return Ok(Arc::clone(hull));
        }
        let (main, resolve) = (self.main_file(source)?, resolver(source, &self.held));
        let key = source_key("scene api convex hull v1", source);
        let hull = cached_mesh(self.cache, &mut self.spend, key, |spend| {
            let hull =
                mesh_file::load_convex(&file_source(source, &main, &resolve), &spend.options)?;
            spend.charge(hull.cpu_bytes())?;
            Ok(hull)
        })?;
        self.hulls.insert(source.clone(), Arc::clone(&hull));
        Ok(hull)
    }

    /// The `phong/diffuse_map` image: decoded once per asset within `maxTexturePixels`; one that
    /// is not a readable PNG or JPEG is drawn white, as Drake draws it (with a warning).
    fn diffuse_map(&mut self, asset: &str, name: &str) -> Result<DiffuseMap, SceneError> {
        if let Some(map) = self.maps.get(asset) {
            return Ok(map.clone());
        }
        let mut hasher = KeyHasher::new("scene api diffuse map v1");
        hasher.bytes(asset.as_bytes());
        let key = hasher.finish();
        if let Some(Cached::Texture(texture)) = self.cache.get(&key) {
            self.spend.count(texture.rgba.len() as u64)?;
            let map = DiffuseMap::Image(texture);
            self.maps.insert(asset.to_owned(), map.clone());
            return Ok(map);
        }
        let Some(bytes) = self.held.get(asset) else {
            return Err(SceneError::invalid(name, "the asset is not held"));
        };
        let spend = &mut self.spend;
        let max_pixels = spend.options.max_texture_pixels;
        let decoded = images::decode_rgba8(bytes, name, |width, height| {
            let pixels = u64::from(width) * u64::from(height);
            SceneError::check_limit(
                "texture pixels",
                pixels,
                max_pixels,
                config_key!(LoadOptions, max_texture_pixels),
            )?;
            spend.charge(pixels.saturating_mul(TEXEL_BYTES))
        });
        let map = match decoded {
            Ok(texture) => {
                let texture = Arc::new(texture);
                self.cache
                    .insert(key, Cached::Texture(Arc::clone(&texture)));
                DiffuseMap::Image(texture)
            }
            Err(refused @ (SceneError::LimitExceeded { .. } | SceneError::Refused(_))) => {
                return Err(refused)
            }
            Err(error) => {
                tracing::debug!(name, %error, "phong/diffuse_map is not a readable image; drawn white, as Drake does");
                DiffuseMap::Unreadable
            }
        };
        self.maps.insert(asset.to_owned(), map.clone());
        Ok(map)
    }
}

/// Bytes a decoded texel costs while decoding (the RGBA8 copy and the decoder's rows).
const TEXEL_BYTES: u64 = 8;

/// The mesh `cache` holds under `key` (counted against the scene's limit), else `make`'s, kept
/// there.
fn cached_mesh(
    cache: &SceneCache,
    spend: &mut Spend,
    key: ContentKey,
    make: impl FnOnce(&mut Spend) -> Result<Mesh, SceneError>,
) -> Result<Arc<Mesh>, SceneError> {
    if let Some(Cached::Mesh(mesh)) = cache.get(&key) {
        spend.count(mesh.cpu_bytes())?;
        return Ok(mesh);
    }
    let mesh = Arc::new(make(spend)?);
    cache.insert(key, Cached::Mesh(Arc::clone(&mesh)));
    Ok(mesh)
}

/// The cache key of what `domain` derives from a mesh file: the format, the names and the
/// assets (by SHA-256) of the main file and every file it may read.
fn source_key(domain: &str, source: &MeshSource) -> ContentKey {
    let mut hasher = KeyHasher::new(domain);
    hasher
        .bytes(format!("{:?}", source.format).as_bytes())
        .bytes(source.name.as_bytes())
        .bytes(source.asset.as_bytes());
    for (name, asset) in &source.files {
        hasher.bytes(name.as_bytes()).bytes(asset.as_bytes());
    }
    hasher.finish()
}

/// What the mesh loaders read: `source`'s main file and the files it names.
fn file_source<'a>(
    source: &'a MeshSource,
    main: &'a [u8],
    resolve: &'a dyn Fn(&str) -> Option<Arc<[u8]>>,
) -> MeshFileSource<'a> {
    MeshFileSource {
        format: format(source.format),
        name: &source.name,
        main,
        resolve,
    }
}

/// Looks a file the main file names up among the source's `files`, by the name exactly as written.
fn resolver<'a>(
    source: &'a MeshSource,
    held: &'a HashMap<String, Bytes>,
) -> impl Fn(&str) -> Option<Arc<[u8]>> + 'a {
    move |name| {
        let asset = source.files.get(name)?;
        held.get(asset).map(|bytes| Arc::from(&bytes[..]))
    }
}

fn format(format: WireFormat) -> MeshFormat {
    match format {
        WireFormat::Obj => MeshFormat::Obj,
        WireFormat::Gltf => MeshFormat::Gltf,
        WireFormat::Glb => MeshFormat::Glb,
    }
}
