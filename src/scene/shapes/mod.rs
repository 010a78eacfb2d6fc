//! Drake's primitive shapes tessellated exactly as RenderEngineVtk (pydrake 1.51.1, its VTK)
//! tessellates them, so a scene built from shapes draws the triangles RenderEngineVtk draws.
//!
//! | shape | VTK source (Drake's code) | points | triangles drawn |
//! |---|---|---|---|
//! | `Box` | `DrakeCubeSource`: 4 points per face, 6 quads | 24 | 12 |
//! | `Sphere` | `vtkTexturedSphereSource`, theta × phi resolution 50 × 50 | 2601 | 4950 |
//! | `Ellipsoid` | the unit 50 × 50 textured sphere through `Scale(a, b, c)` | 2601 | 4950 |
//! | `Cylinder` | `vtkCylinderSource`, resolution 50, capped, turned from Y to Z | 200 | 196 |
//! | `Capsule` | `vtkCylinderSource` with `CapsuleCapOn()`, resolution 50, turned | 4902 | 9600 |
//! | `HalfSpace` | `vtkPlaneSource`: one quad 100 m on a side in z = 0 of G | 4 | 2 |
//!
//! Triangles are what VTK's OpenGL mapper makes of the cells: each polygon as a fan around its
//! first point, without the triangles two of whose points coincide (the sphere's north pole).
//! Meshes are in the geometry's frame G; the pose `X_WG` (and a mesh's scale) belong to the
//! instance. Texture coordinates are the scene's (origin at the image's top row): VTK's v flipped.
//! A `Box`'s `phong/diffuse_scale`, which Drake bakes into its texture coordinates, is the
//! material's texture transform instead ([`super::appearance`]), so boxes of one size share one
//! mesh. Each shape's [`Shape::key`] names its mesh: equal shapes, one GPU copy.
//!
//! `Convex` is the hull of a mesh file's vertices ([`convex_hull`]), `Mesh` the file itself
//! ([`super::mesh_file`]).

mod convex;
mod cube;
mod cylinder;
mod plane;
mod sphere;
mod vtk;

pub use convex::convex_hull;
pub use plane::TERRAIN_SIZE;

use crate::scene::cache::{ContentKey, KeyHasher};
use crate::scene::Mesh;

/// A Drake primitive with its parameters (Drake's names, metres).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    Box { width: f64, depth: f64, height: f64 },
    Sphere { radius: f64 },
    Cylinder { radius: f64, length: f64 },
    Capsule { radius: f64, length: f64 },
    Ellipsoid { a: f64, b: f64, c: f64 },
    HalfSpace,
}

/// A parameter Drake's constructor would refuse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field} must be finite and {rule} (given {value})")]
pub struct ShapeError {
    /// The parameter's name, as Drake spells it.
    pub field: &'static str,
    pub rule: &'static str,
    pub value: f64,
}

impl Shape {
    /// The parameters by Drake's names, in its constructor's order.
    fn parameters(&self) -> Vec<(&'static str, f64)> {
        match *self {
            Self::Box {
                width,
                depth,
                height,
            } => vec![("width", width), ("depth", depth), ("height", height)],
            Self::Sphere { radius } => vec![("radius", radius)],
            Self::Cylinder { radius, length } | Self::Capsule { radius, length } => {
                vec![("radius", radius), ("length", length)]
            }
            Self::Ellipsoid { a, b, c } => vec![("a", a), ("b", b), ("c", c)],
            Self::HalfSpace => Vec::new(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Box { .. } => "box",
            Self::Sphere { .. } => "sphere",
            Self::Cylinder { .. } => "cylinder",
            Self::Capsule { .. } => "capsule",
            Self::Ellipsoid { .. } => "ellipsoid",
            Self::HalfSpace => "half_space",
        }
    }

    /// Drake's rules (`shape_specification.cc`): every parameter finite and positive, but a
    /// sphere's radius may be zero.
    ///
    /// # Errors
    /// The first parameter that breaks them.
    pub fn check(&self) -> Result<(), ShapeError> {
        let zero_allowed = matches!(self, Self::Sphere { .. });
        for (field, value) in self.parameters() {
            let ok = value.is_finite() && (value > 0.0 || (zero_allowed && value == 0.0));
            if !ok {
                let rule = if zero_allowed { ">= 0" } else { "> 0" };
                return Err(ShapeError { field, rule, value });
            }
        }
        Ok(())
    }

    /// The key of the tessellated mesh: the shape and its parameters' exact bits (and the
    /// tessellation's version, should it ever change).
    pub fn key(&self) -> ContentKey {
        let mut hasher = KeyHasher::new("vtk shape v1");
        hasher.bytes(self.name().as_bytes());
        for (_, value) in self.parameters() {
            hasher.number(value.to_bits());
        }
        hasher.finish()
    }
}

/// The mesh RenderEngineVtk draws `shape` with, in the geometry's frame G, keyed by
/// [`Shape::key`]. Parameters are expected to pass [`Shape::check`]; others still give a mesh
/// (degenerate or not finite), never a panic.
pub fn tessellate(shape: &Shape) -> Mesh {
    let poly = match *shape {
        Shape::Box {
            width,
            depth,
            height,
        } => cube::cube([width, depth, height]),
        Shape::Sphere { radius } => {
            sphere::textured_sphere(radius, sphere::RESOLUTION, sphere::RESOLUTION)
        }
        Shape::Cylinder { radius, length } => cylinder::cylinder(radius, length),
        Shape::Capsule { radius, length } => cylinder::capsule(radius, length),
        Shape::Ellipsoid { a, b, c } => sphere::ellipsoid([a, b, c]),
        Shape::HalfSpace => plane::square_plane(TERRAIN_SIZE),
    };
    poly.into_mesh(shape.key())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drakes_parameter_rules_name_the_field() {
        assert!(Shape::Sphere { radius: 0.0 }.check().is_ok());
        let error = Shape::Capsule {
            radius: 0.1,
            length: 0.0,
        }
        .check()
        .unwrap_err();
        assert_eq!(error.to_string(), "length must be finite and > 0 (given 0)");
        let error = Shape::Box {
            width: f64::NAN,
            depth: 1.0,
            height: 1.0,
        }
        .check()
        .unwrap_err();
        assert_eq!(error.field, "width");
        assert!(Shape::HalfSpace.check().is_ok());
    }

    /// Equal shapes share a key; another parameter or another shape with the same numbers does
    /// not.
    #[test]
    fn keys_name_shape_and_parameters() {
        let cylinder = Shape::Cylinder {
            radius: 0.1,
            length: 0.2,
        };
        let capsule = Shape::Capsule {
            radius: 0.1,
            length: 0.2,
        };
        assert_eq!(cylinder.key(), cylinder.key());
        assert_ne!(cylinder.key(), capsule.key());
        assert_ne!(
            cylinder.key(),
            Shape::Cylinder {
                radius: 0.1,
                length: 0.3
            }
            .key()
        );
        assert_eq!(tessellate(&cylinder).key, cylinder.key());
    }

    #[test]
    fn meshes_flip_vtks_texture_v_and_keep_unit_normals() {
        let mesh = tessellate(&Shape::Sphere { radius: 1.0 });
        let uv = mesh.tex_coords.as_ref().unwrap();
        // VTK gives the north pole v = 1 (the image's top row): the scene's v = 0.
        assert_eq!(uv[0], [0.0, 0.0]);
        assert_eq!(mesh.indices.len() / 3, 4950);
        for normal in &mesh.normals {
            let length = normal.iter().map(|c| c * c).sum::<f32>().sqrt();
            assert!((length - 1.0).abs() < 1e-6);
        }
        let counts = |shape: Shape| {
            let mesh = tessellate(&shape);
            (mesh.positions.len(), mesh.indices.len() / 3)
        };
        assert_eq!(
            counts(Shape::Box {
                width: 1.0,
                depth: 2.0,
                height: 3.0
            }),
            (24, 12)
        );
        assert_eq!(
            counts(Shape::Capsule {
                radius: 0.1,
                length: 0.5
            }),
            (4902, 9600)
        );
        assert_eq!(counts(Shape::HalfSpace), (4, 2));
    }
}
