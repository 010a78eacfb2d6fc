//! The order instances are drawn in: opaque ones in scene order, then translucent ones back to
//! front, so each blends over what lies behind it (see the translucency notes in [`super`]).

use std::ops::Range;

use glam::DVec3;

use crate::scene::{Instance, Mesh, Scene};

/// One instance's draw call: its mesh's indices, and where upload (`upload.rs`) put its
/// uniform and texture.
#[derive(Debug)]
pub(super) struct Draw {
    /// Index into [`Scene::meshes`].
    pub mesh: usize,
    /// Index into [`Scene::instances`].
    pub instance: usize,
    pub indices: Range<u32>,
    pub uniform_offset: u32,
    /// Index into the request's texture bind groups; `None` draws with the white placeholder.
    pub texture: Option<usize>,
    /// The faces culled (colour only): see `ColourVariant::cull`.
    pub cull: Option<wgpu::Face>,
    /// The faces of a closed mesh the camera cannot see, skipped in every image type
    /// (`upload::hidden_faces`).
    pub hidden: Option<wgpu::Face>,
    /// alphaMode MASK (colour only).
    pub masked: bool,
    /// The mesh has `COLOR_0` (colour only).
    pub vertex_colors: bool,
}

/// The draw calls of one request, in the order the scene pass issues them.
#[derive(Debug, Default)]
pub(super) struct DrawList {
    pub opaque: Vec<Draw>,
    pub blended: Vec<Draw>,
}

impl DrawList {
    /// Orders `draws`, given in scene order: opaque meshes keep it, blended ones are sorted by
    /// the distance of their bounding box centre from the camera, farthest first.
    pub fn new(scene: &Scene, draws: Vec<Draw>) -> Self {
        let camera_position = scene
            .camera
            .map_or(DVec3::ZERO, |c| c.camera_to_world.w_axis.truncate());
        let mut list = Self::default();
        let mut blended = Vec::new();
        for draw in draws {
            let instance = &scene.instances[draw.instance];
            if instance.material.blend {
                let mesh = &scene.meshes[draw.mesh];
                blended.push((centre(instance, mesh).distance(camera_position), draw));
            } else {
                list.opaque.push(draw);
            }
        }
        // Back to front; the stable sort keeps scene order between equally distant meshes.
        blended.sort_by(|(a, _), (b, _)| b.total_cmp(a));
        list.blended = blended.into_iter().map(|(_, draw)| draw).collect();
        list
    }

    pub fn is_empty(&self) -> bool {
        self.opaque.is_empty() && self.blended.is_empty()
    }
}

/// The centre of the instance's world-space bounding box.
fn centre(instance: &Instance, mesh: &Mesh) -> DVec3 {
    let (min, max) = instance.world_positions(mesh).fold(
        (DVec3::splat(f64::INFINITY), DVec3::splat(f64::NEG_INFINITY)),
        |(min, max), p| {
            let p = DVec3::new(f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
            (min.min(p), max.max(p))
        },
    );
    (min + max) / 2.0
}
