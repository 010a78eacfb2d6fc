//! The look's GPU resources, bound as group 2 of every scene pipeline: shadow maps and
//! environment textures (the effects' part of the look). Until the effects fill it, the layout is
//! empty and the scene pass binds an empty placeholder group.

use crate::protocol::drake::vtk_params::VtkParams;

use super::error::RenderError;
use super::gpu::Gpu;

/// Group 2 of the scene pipelines.
pub(super) fn look_resources_layout(device: &wgpu::Device) -> wgpu::BindGroupLayout {
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("look resources"),
        entries: &[],
    })
}

/// The bind group over a look's resources.
#[derive(Debug)]
pub struct LookResources {
    pub(super) bind_group: wgpu::BindGroup,
}

impl LookResources {
    /// The resources `params` need; `None` when they need none (the placeholder is bound).
    ///
    /// # Errors
    /// None yet; the effects' loading errors (an unreadable environment map) go here.
    pub(super) fn new(_params: &VtkParams, _gpu: &Gpu) -> Result<Option<Self>, RenderError> {
        Ok(None)
    }
}
