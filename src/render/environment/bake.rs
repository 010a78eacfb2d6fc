//! The GPU textures of an environment map, made once at start (vtk-effects.md §6): the
//! equirectangular image with its mips (the skybox and the bakes read it), the irradiance cube
//! map of an 8-bit map, the prefiltered specular cube map and the split-sum BRDF table. Compute
//! passes do the sums: VTK's own irradiance bake takes about 55 s on the CPU.

use bytemuck::{Pod, Zeroable};
use half::f16;

use super::equirect::{Encoding, Equirect};
use crate::render::formats::BAKED_FORMAT;

/// Side of the irradiance cube map's faces. VTK bakes 256² faces; irradiance is a cosine-weighted
/// average over a hemisphere, so 32² faces read bilinearly differ from it by far less than one
/// 8-bit level, at 1/64 of VTK's 1.6·10⁹ texture reads.
const IRRADIANCE_FACE_SIZE: u32 = 32;

/// Mips of the prefiltered map; mip m is prefiltered at roughness m/5 and the scene shader reads
/// it at lod roughness·4, as VTK does.
pub(super) const PREFILTER_MIPS: u32 = 5;

/// VTK's prefilter size is the equirect's height; capped here because the GGX sums grow with its
/// square: a 1024×512 map took 16 s to read and bake on lavapipe (debug build) at 512² faces,
/// mostly mip 1's 84 M samples, and 8 s at 256² (of which 2.5 s is the BRDF table). Only the
/// sharpest mips lose detail, which shows in mirror-like reflections alone.
const PREFILTER_MAX_SIZE: u32 = 256;

/// The BRDF table's side, VTK's.
const BRDF_LUT_SIZE: u32 = 512;

/// Mirrors `Bake` in `bake.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct BakeUniform {
    source_gamma: f32,
    roughness: f32,
    sample_count: u32,
    face_size: u32,
    source_texel_solid_angle: f32,
    source_mip_count: f32,
    _padding: [u32; 2],
}

/// The baked textures of one environment map.
pub(super) struct Baked {
    /// The equirectangular image (values as in [`Equirect`]), with mips.
    pub equirect: wgpu::TextureView,
    /// How the skybox and the bakes read it: longitude wraps, latitude clamps, trilinear.
    pub equirect_sampler: wgpu::Sampler,
    /// `Some` for an 8-bit map; HDR maps use spherical harmonics instead.
    pub irradiance: Option<wgpu::TextureView>,
    pub prefiltered: wgpu::TextureView,
    pub brdf_lut: wgpu::TextureView,
}

/// Uploads `image` and runs every bake; returns once the GPU has finished.
pub(super) fn bake(device: &wgpu::Device, queue: &wgpu::Queue, image: &Equirect) -> Baked {
    let (equirect_texture, mip_count) = upload_equirect(device, queue, image);
    let equirect = equirect_texture.create_view(&wgpu::TextureViewDescriptor::default());
    let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
        label: Some("environment bake"),
        // Longitude wraps around; latitude stops at the poles.
        address_mode_u: wgpu::AddressMode::Repeat,
        address_mode_v: wgpu::AddressMode::ClampToEdge,
        mag_filter: wgpu::FilterMode::Linear,
        min_filter: wgpu::FilterMode::Linear,
        mipmap_filter: wgpu::MipmapFilterMode::Linear,
        ..Default::default()
    });
    let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("environment bake"),
        source: wgpu::ShaderSource::Wgsl(
            concat!(include_str!("direction.wgsl"), include_str!("bake.wgsl")).into(),
        ),
    });
    let pass = BakePass {
        device,
        queue,
        shader: &shader,
        equirect: &equirect,
        sampler: &sampler,
        base: BakeUniform {
            source_gamma: match image.encoding {
                Encoding::Gamma => 2.2,
                Encoding::Linear => 1.0,
            },
            roughness: 0.0,
            sample_count: 1,
            face_size: 1,
            source_texel_solid_angle: 4.0 * std::f32::consts::PI
                / (image.width as f32 * image.height as f32),
            source_mip_count: mip_count as f32,
            _padding: [0; 2],
        },
    };
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("environment bake"),
    });
    let irradiance = (image.encoding == Encoding::Gamma).then(|| {
        let cube = cube_texture(device, "irradiance", IRRADIANCE_FACE_SIZE, 1);
        pass.run(
            &mut encoder,
            "irradiance",
            &cube,
            0,
            IRRADIANCE_FACE_SIZE,
            0.0,
            1,
        );
        cube_view(&cube)
    });
    let size = image
        .height
        .clamp(1 << (PREFILTER_MIPS - 1), PREFILTER_MAX_SIZE);
    let prefiltered = cube_texture(device, "prefiltered environment", size, PREFILTER_MIPS);
    for mip in 0..PREFILTER_MIPS {
        let roughness = mip as f32 / PREFILTER_MIPS as f32;
        // VTK's count: int(r·512 / (0.65·r + 0.35)) + 1.
        let samples = (roughness * 512.0 / (0.65 * roughness + 0.35)) as u32 + 1;
        pass.run(
            &mut encoder,
            "prefilter",
            &prefiltered,
            mip,
            size >> mip,
            roughness,
            samples,
        );
    }
    let brdf_lut = brdf_lut(device, &mut encoder);
    let submission = queue.submit([encoder.finish()]);
    // Start-up only: the caller times the bake, so wait for it here.
    let _ = device.poll(wgpu::PollType::Wait {
        submission_index: Some(submission),
        timeout: None,
    });
    Baked {
        equirect,
        equirect_sampler: sampler,
        irradiance,
        prefiltered: cube_view(&prefiltered),
        brdf_lut,
    }
}

/// The shader, source texture and uniform template every bake dispatch shares.
struct BakePass<'a> {
    device: &'a wgpu::Device,
    queue: &'a wgpu::Queue,
    shader: &'a wgpu::ShaderModule,
    equirect: &'a wgpu::TextureView,
    sampler: &'a wgpu::Sampler,
    base: BakeUniform,
}

impl BakePass<'_> {
    /// Dispatches `entry` over the six faces of mip `mip` of `target`.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        entry: &str,
        target: &wgpu::Texture,
        mip: u32,
        face_size: u32,
        roughness: f32,
        sample_count: u32,
    ) {
        let device = self.device;
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: None,
            module: self.shader,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
        let uniform = BakeUniform {
            roughness,
            sample_count,
            face_size,
            ..self.base
        };
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("bake uniform"),
            size: std::mem::size_of::<BakeUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.queue
            .write_buffer(&buffer, 0, bytemuck::bytes_of(&uniform));
        let output = target.create_view(&wgpu::TextureViewDescriptor {
            label: Some(entry),
            dimension: Some(wgpu::TextureViewDimension::D2Array),
            base_mip_level: mip,
            mip_level_count: Some(1),
            ..Default::default()
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(entry),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(self.equirect),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::Sampler(self.sampler),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: buffer.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: wgpu::BindingResource::TextureView(&output),
                },
            ],
        });
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(entry),
            timestamp_writes: None,
        });
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        let groups = face_size.div_ceil(8);
        pass.dispatch_workgroups(groups, groups, 6);
    }
}

fn brdf_lut(device: &wgpu::Device, encoder: &mut wgpu::CommandEncoder) -> wgpu::TextureView {
    let texture = device.create_texture(&wgpu::TextureDescriptor {
        label: Some("BRDF table"),
        size: wgpu::Extent3d {
            width: BRDF_LUT_SIZE,
            height: BRDF_LUT_SIZE,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: BAKED_FORMAT,
        // COPY_SRC: the tests read values back.
        usage: wgpu::TextureUsages::STORAGE_BINDING
            | wgpu::TextureUsages::TEXTURE_BINDING
            | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
    let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("BRDF table"),
        source: wgpu::ShaderSource::Wgsl(
            concat!(
                include_str!("direction.wgsl"),
                include_str!("brdf_lut.wgsl")
            )
            .into(),
        ),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("BRDF table"),
        layout: None,
        module: &shader,
        entry_point: Some("brdf_lut"),
        compilation_options: Default::default(),
        cache: None,
    });
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("BRDF table"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::TextureView(&view),
        }],
    });
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some("BRDF table"),
        timestamp_writes: None,
    });
    pass.set_pipeline(&pipeline);
    pass.set_bind_group(0, &bind_group, &[]);
    let groups = BRDF_LUT_SIZE.div_ceil(8);
    pass.dispatch_workgroups(groups, groups, 1);
    drop(pass);
    view
}

fn cube_texture(device: &wgpu::Device, label: &str, size: u32, mips: u32) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d {
            width: size,
            height: size,
            depth_or_array_layers: 6,
        },
        mip_level_count: mips,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: BAKED_FORMAT,
        usage: wgpu::TextureUsages::STORAGE_BINDING | wgpu::TextureUsages::TEXTURE_BINDING,
        view_formats: &[],
    })
}

pub(super) fn cube_view(texture: &wgpu::Texture) -> wgpu::TextureView {
    texture.create_view(&wgpu::TextureViewDescriptor {
        dimension: Some(wgpu::TextureViewDimension::Cube),
        ..Default::default()
    })
}

/// Uploads `image` as half floats with a full mip chain (2×2 box filter, the last row or column
/// folded in on odd sides); returns the texture and its mip count.
fn upload_equirect(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    image: &Equirect,
) -> (wgpu::Texture, u32) {
    let mips = equirect_mips(image);
    let texture = device.create_texture(&wgpu::TextureDescriptor {
        label: Some("environment map"),
        size: wgpu::Extent3d {
            width: image.width,
            height: image.height,
            depth_or_array_layers: 1,
        },
        mip_level_count: mips.len() as u32,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: BAKED_FORMAT,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    for (level, (width, height, rgb)) in mips.iter().enumerate() {
        let texels: Vec<f16> = rgb
            .iter()
            // A sun brighter than half floats reach stays the brightest value, not infinity.
            .flat_map(|&[r, g, b]| [r, g, b, 1.0].map(|c| f16::from_f32(c.min(f16::MAX.to_f32()))))
            .collect();
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &texture,
                mip_level: level as u32,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            bytemuck::cast_slice(&texels),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(width * 8),
                rows_per_image: Some(*height),
            },
            wgpu::Extent3d {
                width: *width,
                height: *height,
                depth_or_array_layers: 1,
            },
        );
    }
    (texture, mips.len() as u32)
}

type Level = (u32, u32, Vec<[f32; 3]>);

fn equirect_mips(image: &Equirect) -> Vec<Level> {
    let mut levels: Vec<Level> = vec![(image.width, image.height, image.rgb.clone())];
    while let Some((w, h, rgb)) = levels.last().filter(|(w, h, _)| *w > 1 || *h > 1) {
        let (nw, nh) = ((w / 2).max(1), (h / 2).max(1));
        let mut next = vec![[0.0f32; 3]; (nw * nh) as usize];
        let mut counts = vec![0u32; next.len()];
        for y in 0..*h {
            for x in 0..*w {
                let i = ((y / 2).min(nh - 1) * nw + (x / 2).min(nw - 1)) as usize;
                let texel = rgb[(y * w + x) as usize];
                for c in 0..3 {
                    next[i][c] += texel[c];
                }
                counts[i] += 1;
            }
        }
        for (texel, count) in next.iter_mut().zip(counts) {
            *texel = texel.map(|c| c / count as f32);
        }
        levels.push((nw, nh, next));
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Gpu, GpuOptions};

    /// Texel (x, y) of mip 0, layer 0 of an Rgba16Float texture.
    fn read_texel(gpu: &Gpu, texture: &wgpu::Texture, x: u32, y: u32) -> [f32; 4] {
        let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: 256,
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture,
                mip_level: 0,
                origin: wgpu::Origin3d { x, y, z: 0 },
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: &buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(256),
                    rows_per_image: Some(1),
                },
            },
            wgpu::Extent3d {
                width: 1,
                height: 1,
                depth_or_array_layers: 1,
            },
        );
        gpu.queue.submit([encoder.finish()]);
        buffer
            .slice(..)
            .map_async(wgpu::MapMode::Read, |r| r.expect("map"));
        gpu.device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("poll");
        let bytes = buffer
            .slice(..8)
            .get_mapped_range()
            .expect("mapped")
            .to_vec();
        let texel: &[f16] = bytemuck::cast_slice(&bytes);
        std::array::from_fn(|i| texel[i].to_f32())
    }

    #[test]
    fn brdf_table_matches_vtk_offline_values() {
        let Ok(gpu) = Gpu::new(&GpuOptions::default()) else {
            eprintln!("skipped: no graphics adapter");
            return;
        };
        let started = std::time::Instant::now();
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        let view = brdf_lut(&gpu.device, &mut encoder);
        gpu.queue.submit([encoder.finish()]);
        let texture = view.texture();
        // vtk-effects.md §6: (N·V ≈ 1, r 0.5) → (0.8953, 0.0000); (0.5, 0.5) → (0.7272, 0.0185).
        let at = |n_dot_v: f32, r: f32| {
            let texel = |v: f32| ((v * BRDF_LUT_SIZE as f32 - 0.5).round() as u32).min(511);
            read_texel(&gpu, texture, texel(n_dot_v), texel(r))
        };
        let [a, b, ..] = at(1.0, 0.5);
        eprintln!("BRDF table: {:?} ms", started.elapsed().as_millis());
        assert!((a - 0.8953).abs() < 2e-3 && b.abs() < 2e-3, "{a} {b}");
        let [a, b, ..] = at(0.5, 0.5);
        assert!(
            (a - 0.7272).abs() < 2e-3 && (b - 0.0185).abs() < 2e-3,
            "{a} {b}"
        );
    }

    #[test]
    fn mips_average_down_to_one_texel_keeping_the_mean() {
        let rgb = (0..15).map(|i| [i as f32, 0.0, 1.0]).collect();
        let image = Equirect {
            width: 5,
            height: 3,
            rgb,
            encoding: Encoding::Linear,
        };
        let mips = equirect_mips(&image);
        let sizes: Vec<_> = mips.iter().map(|(w, h, _)| (*w, *h)).collect();
        assert_eq!(sizes, vec![(5, 3), (2, 1), (1, 1)]);
        // Columns {0, 1} and {2, 3, 4}: the odd column folds into the last texel.
        assert_eq!(mips[1].2, vec![[5.5, 0.0, 1.0], [8.0, 0.0, 1.0]]);
        assert_eq!(mips[2].2, vec![[6.75, 0.0, 1.0]]);
    }
}
