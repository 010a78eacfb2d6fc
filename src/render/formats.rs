//! The texture formats the render targets, the passes' pipelines and resources, and the uploaded
//! textures agree on.

pub(super) const COLOR_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
pub(super) const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;
/// Planar depth's f32 bits: exact, and renderable where R32Float is not (GL on llvmpipe).
pub(super) const PLANAR_DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::R32Uint;
/// The colour scene pass's target when tone mapping follows: values above 1 must survive until
/// the tone map, as in VTK's RGBA32F buffers (half floats carry 11 bits, well past 8-bit output).
pub(super) const SCENE_FLOAT_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba16Float;
/// Every baked environment map (and its placeholder): filterable everywhere and writable from
/// compute.
pub(super) const BAKED_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba16Float;
/// Shadow maps hold the f32 bits of exp(80·depth): R32Uint is renderable on every backend, where
/// R32Float is not (GL on llvmpipe), and the receiver filters by hand either way.
pub(super) const SHADOW_MAP_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::R32Uint;
