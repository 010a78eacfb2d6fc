//! The texture formats the render targets, the passes' pipelines and the uploaded textures agree on.

pub(super) const COLOR_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
pub(super) const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;
/// Planar depth's f32 bits: exact, and renderable where R32Float is not (GL on llvmpipe).
pub(super) const PLANAR_DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::R32Uint;
