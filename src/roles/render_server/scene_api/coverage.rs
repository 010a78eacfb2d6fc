//! The covered-pixel bound of a resident scene's image, computed per frame in time proportional to
//! the number of geometries, not triangles.
//!
//! Drake's front door walks every triangle of every request (`budget::covered_pixels`), which a
//! resident scene must not: its point is that a frame costs the client and the server only what
//! changed. So each mesh is summarised once, at registration, as a few [`Cluster`]s (its triangles
//! grouped by where their centroids lie in a 3×3×3 grid over the mesh's bounds): a bounding
//! sphere, the triangle count and the summed area. Per frame, per camera, each cluster's bound is
//!
//! `min(T · W·H, A · fx · fy · k / z²)`, with `z = max(near, z_centre − r)`,
//!
//! and nothing for a cluster wholly before the near plane or beyond the far one. Why it bounds the
//! rasterizer's work: a surface element dA at depth z, seen along p, covers
//! `fx·fy·|n·p| / z³ · dA ≤ fx·fy·(|p|/z) / z² · dA` pixels, and inside the image
//! `|p|/z ≤ k = sqrt(1 + tx² + ty²)` with `tx = max(cx, W − cx)/fx`, `ty = max(cy, H − cy)/fy`;
//! every fragment drawn lies beyond the near plane, so z ≥ the clamped z above. And no triangle
//! covers more than the whole image. The bound is conservative (it never admits more work than
//! `maxCoveredPixels` allows), looser than the per-triangle count for a cluster close to the
//! camera, and exact enough for real scenes: a 100 000-triangle mesh a metre away is bounded by
//! its area, not its triangle count.

use glam::{DMat4, DVec3};

use crate::scene::camera::Intrinsics;
use crate::scene::Mesh;

/// Grid cells per axis the triangles are grouped by.
const GRID: usize = 3;
/// Meshes up to this many triangles are one cluster.
const SMALL_MESH_TRIANGLES: usize = 256;

/// Some of a mesh's triangles, summarised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cluster {
    /// In the geometry's frame (the mesh's scale applied).
    pub centre: DVec3,
    pub radius: f64,
    pub triangles: u64,
    /// Summed triangle area, m².
    pub area: f64,
}

/// The clusters of `mesh` placed by `transform` (the geometry frame from the mesh's: its scale).
pub fn clusters(mesh: &Mesh, transform: &DMat4) -> Vec<Cluster> {
    let positions: Vec<DVec3> = (mesh.positions.iter())
        .map(|p| transform.transform_point3(DVec3::from(p.map(f64::from))))
        .collect();
    let triangles: Vec<[DVec3; 3]> = (mesh.indices.chunks_exact(3))
        .filter_map(|t| {
            Some([
                *positions.get(t[0] as usize)?,
                *positions.get(t[1] as usize)?,
                *positions.get(t[2] as usize)?,
            ])
        })
        .collect();
    if triangles.is_empty() {
        return Vec::new();
    }
    let centroid = |t: &[DVec3; 3]| (t[0] + t[1] + t[2]) / 3.0;
    let (min, max) = (triangles.iter()).fold(
        (DVec3::splat(f64::INFINITY), DVec3::splat(f64::NEG_INFINITY)),
        |(min, max), t| (min.min(centroid(t)), max.max(centroid(t))),
    );
    let cells = if triangles.len() <= SMALL_MESH_TRIANGLES {
        1
    } else {
        GRID
    };
    let cell_of = |t: &[DVec3; 3]| {
        let relative = (centroid(t) - min) / (max - min).max(DVec3::splat(1e-12));
        let axis = |v: f64| ((v * cells as f64) as usize).min(cells - 1);
        (axis(relative.x) * cells + axis(relative.y)) * cells + axis(relative.z)
    };
    let mut groups: Vec<Vec<&[DVec3; 3]>> = vec![Vec::new(); cells * cells * cells];
    for triangle in &triangles {
        groups[cell_of(triangle)].push(triangle);
    }
    groups
        .into_iter()
        .filter(|group| !group.is_empty())
        .map(|group| {
            let (lo, hi) = (group.iter().flat_map(|t| t.iter())).fold(
                (DVec3::splat(f64::INFINITY), DVec3::splat(f64::NEG_INFINITY)),
                |(lo, hi), p| (lo.min(*p), hi.max(*p)),
            );
            let centre = (lo + hi) / 2.0;
            let radius = (group.iter().flat_map(|t| t.iter()))
                .map(|p| p.distance(centre))
                .fold(0.0, f64::max);
            let area = (group.iter())
                .map(|t| (t[1] - t[0]).cross(t[2] - t[0]).length() / 2.0)
                .sum();
            Cluster {
                centre,
                radius,
                triangles: group.len() as u64,
                area,
            }
        })
        .collect()
}

/// One camera as the bound needs it.
pub struct Camera {
    /// Drake's camera frame C (+Z forward) from the world.
    camera_from_world: DMat4,
    image_pixels: f64,
    /// `fx · fy · k`.
    area_scale: f64,
    near: f64,
    far: f64,
}

impl Camera {
    /// `x_wc`: the camera's pose in the world, Drake's camera frame.
    pub fn new(intrinsics: &Intrinsics, x_wc: &DMat4) -> Self {
        let k = intrinsics;
        let (width, height) = (f64::from(k.width), f64::from(k.height));
        let tx = k.center_x.max(width - k.center_x) / k.focal_x;
        let ty = k.center_y.max(height - k.center_y) / k.focal_y;
        Self {
            camera_from_world: x_wc.inverse(),
            image_pixels: width * height,
            area_scale: k.focal_x * k.focal_y * (1.0 + tx * tx + ty * ty).sqrt(),
            near: k.near,
            far: k.far,
        }
    }

    /// The bound for `clusters` of a geometry at `x_wg`.
    pub fn bound(&self, x_wg: &DMat4, clusters: &[Cluster]) -> f64 {
        let camera_from_geometry = self.camera_from_world * *x_wg;
        clusters
            .iter()
            .map(|cluster| {
                let z = camera_from_geometry.transform_point3(cluster.centre).z;
                if z + cluster.radius < self.near || z - cluster.radius > self.far {
                    return 0.0;
                }
                let nearest = (z - cluster.radius).max(self.near);
                let by_area = cluster.area * self.area_scale / (nearest * nearest);
                by_area.min(cluster.triangles as f64 * self.image_pixels)
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An n×n grid of quads (2n² triangles) of side `size` in z = 0, centred on the origin.
    fn plate(n: u32, size: f32) -> Mesh {
        let step = size / n as f32;
        let mut positions = Vec::new();
        for j in 0..=n {
            for i in 0..=n {
                positions.push([
                    i as f32 * step - size / 2.0,
                    j as f32 * step - size / 2.0,
                    0.0,
                ]);
            }
        }
        let mut indices = Vec::new();
        for j in 0..n {
            for i in 0..n {
                let a = j * (n + 1) + i;
                indices.extend([a, a + 1, a + n + 2, a, a + n + 2, a + n + 1]);
            }
        }
        let normals = vec![[0.0, 0.0, 1.0]; positions.len()];
        Mesh::new(positions, normals, None, indices)
    }

    #[test]
    fn clusters_keep_every_triangle_and_the_whole_area() {
        let mesh = plate(20, 2.0);
        let clusters = clusters(&mesh, &DMat4::from_scale(DVec3::new(2.0, 1.0, 1.0)));
        assert_eq!(
            clusters.len(),
            9,
            "a flat plate fills one layer of the grid"
        );
        let triangles: u64 = clusters.iter().map(|c| c.triangles).sum();
        let area: f64 = clusters.iter().map(|c| c.area).sum();
        assert_eq!(triangles, 800);
        assert!((area - 8.0).abs() < 1e-9, "{area}");
        assert_eq!(super::clusters(&plate(2, 1.0), &DMat4::IDENTITY).len(), 1);
    }

    /// A camera 2 m above a 1 m plate looking down at it: the bound is at least the pixels the
    /// plate really covers, and far below its triangles times the image.
    #[test]
    fn the_bound_covers_the_truth_and_is_not_the_triangle_count() {
        let intrinsics = Intrinsics::from_fov_y(640, 480, 0.8, 0.01, 10.0);
        // Drake's camera frame: +Z forward, so the camera looks along −Z of the world from z = 2.
        let x_wc = DMat4::from_translation(DVec3::new(0.0, 0.0, 2.0))
            * DMat4::from_rotation_x(std::f64::consts::PI);
        let camera = Camera::new(&intrinsics, &x_wc);
        let mesh = plate(100, 1.0);
        let clusters = clusters(&mesh, &DMat4::IDENTITY);
        let bound = camera.bound(&DMat4::IDENTITY, &clusters);
        let covered = (intrinsics.focal_x / 2.0) * (intrinsics.focal_y / 2.0);
        assert!(bound >= covered, "{bound} < {covered}");
        assert!(bound < 3.0 * covered, "{bound}");
        // Behind the camera, or beyond the far plane: nothing.
        let behind = DMat4::from_translation(DVec3::new(0.0, 0.0, 5.0));
        assert_eq!(camera.bound(&behind, &clusters), 0.0);
        let far = DMat4::from_translation(DVec3::new(0.0, 0.0, -20.0));
        assert_eq!(camera.bound(&far, &clusters), 0.0);
    }
}
