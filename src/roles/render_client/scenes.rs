//! Built-in scenes with analytic answers, written as Drake's exporter writes them (Z-up world, one
//! buffer per accessor as a `data:` URI, per-image-type materials, node matrices): boxes placed in
//! the camera frame, so their projection and planar depth follow from the pinhole model alone.

use base64::Engine;
use glam::{DMat3, DVec3};
use serde_json::{json, Value};

use crate::protocol::drake::camera::CameraPose;
use crate::protocol::drake::image::ImageType;
use crate::protocol::drake::label;

/// Drake's export of a scene with nothing in it (protocol §3.3): every array `null`, no camera.
pub const DRAKE_EMPTY_SCENE: &str = r#"{"accessors":null,"asset":{"generator":"VTK","version":"2.0"},"bufferViews":null,"buffers":null,"cameras":null,"materials":null,"meshes":null,"nodes":null,"scene":0,"scenes":[{"name":"Layer 0","nodes":null}]}"#;

/// glTF component type and buffer targets used by VTK's exporter.
const FLOAT: u32 = 5126;
const UNSIGNED_INT: u32 = 5125;
const ARRAY_BUFFER: u32 = 34962;
const ELEMENT_ARRAY_BUFFER: u32 = 34963;

/// An axis-aligned box in the Drake camera frame (X right, Y down, Z forward).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraBox {
    pub center: DVec3,
    pub half_size: DVec3,
    /// Phong diffuse RGBA, used in color scenes.
    pub diffuse: [f64; 4],
    /// The render label, used in label scenes.
    pub label: i16,
}

impl CameraBox {
    /// The planar depth of the face the camera sees.
    pub fn front_depth(&self) -> f64 {
        self.center.z - self.half_size.z
    }
}

/// Boxes and the camera pose they are placed relative to.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticScene {
    pub pose: CameraPose,
    pub boxes: Vec<CameraBox>,
}

impl AnalyticScene {
    /// The glTF Drake would export for `image_type` (the camera node is added by
    /// [`super::camera::Camera::write_into`]).
    pub fn gltf(&self, image_type: ImageType) -> Vec<u8> {
        let mut document = GltfWriter::default();
        for item in &self.boxes {
            let base_color = match image_type {
                ImageType::Color => item.diffuse,
                ImageType::Depth => [1.0; 4],
                ImageType::Label => {
                    let [r, g] = label::to_red_green(item.label);
                    [f64::from(r) / 255.0, f64::from(g) / 255.0, 0.0, 1.0]
                }
            };
            let center_w = self.pose.to_world(item.center);
            document.add_box(item.half_size, self.pose.rotation, center_w, base_color);
        }
        document.finish()
    }
}

/// Accumulates glTF arrays the way VTK's exporter lays them out.
#[derive(Default)]
pub(super) struct GltfWriter {
    accessors: Vec<Value>,
    buffer_views: Vec<Value>,
    buffers: Vec<Value>,
    materials: Vec<Value>,
    meshes: Vec<Value>,
    nodes: Vec<Value>,
}

impl GltfWriter {
    /// One accessor backed by its own bufferView and `data:` buffer, as VTK writes them.
    fn add_accessor(&mut self, bytes: &[u8], target: u32, accessor: Value) -> usize {
        self.buffers.push(json!({
            "byteLength": bytes.len(),
            "uri": format!(
                "data:application/octet-stream;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            ),
        }));
        self.buffer_views.push(json!({
            "buffer": self.buffers.len() - 1,
            "byteLength": bytes.len(),
            "byteOffset": 0,
            "target": target,
        }));
        let mut accessor = accessor;
        accessor["bufferView"] = json!(self.buffer_views.len() - 1);
        accessor["byteOffset"] = json!(0);
        self.accessors.push(accessor);
        self.accessors.len() - 1
    }

    /// A box mesh in its local frame, placed by the node matrix `[rotation | center]`.
    fn add_box(&mut self, half: DVec3, rotation: DMat3, center: DVec3, base_color: [f64; 4]) {
        let (positions, indices) = box_mesh(half);
        let (x, y, z) = (rotation.x_axis, rotation.y_axis, rotation.z_axis);
        let matrix = [
            x.x, x.y, x.z, 0.0, y.x, y.y, y.z, 0.0, z.x, z.y, z.z, 0.0, center.x, center.y,
            center.z, 1.0,
        ];
        self.add_mesh(&positions, None, &indices, matrix, base_color);
    }

    /// A triangle mesh in its local frame (with normals, as VTK exports a shape's polydata),
    /// placed by the column-major node `matrix`.
    pub(super) fn add_mesh(
        &mut self,
        positions: &[[f32; 3]],
        normals: Option<&[[f32; 3]]>,
        indices: &[u32],
        matrix: [f64; 16],
        base_color: [f64; 4],
    ) {
        let vec3_bytes = |values: &[[f32; 3]]| -> Vec<u8> {
            values
                .iter()
                .flat_map(|p| p.iter().flat_map(|c| c.to_le_bytes()))
                .collect()
        };
        let index_bytes: Vec<u8> = indices.iter().flat_map(|i| i.to_le_bytes()).collect();
        let (min, max) =
            positions
                .iter()
                .fold(([f32::MAX; 3], [f32::MIN; 3]), |(mut min, mut max), p| {
                    for axis in 0..3 {
                        min[axis] = min[axis].min(p[axis]);
                        max[axis] = max[axis].max(p[axis]);
                    }
                    (min, max)
                });
        let position = self.add_accessor(
            &vec3_bytes(positions),
            ARRAY_BUFFER,
            json!({"componentType": FLOAT, "count": positions.len(), "type": "VEC3",
                   "min": min, "max": max}),
        );
        let mut attributes = json!({"POSITION": position});
        if let Some(normals) = normals {
            attributes["NORMAL"] = json!(self.add_accessor(
                &vec3_bytes(normals),
                ARRAY_BUFFER,
                json!({"componentType": FLOAT, "count": normals.len(), "type": "VEC3"}),
            ));
        }
        let index = self.add_accessor(
            &index_bytes,
            ELEMENT_ARRAY_BUFFER,
            json!({"componentType": UNSIGNED_INT, "count": indices.len(), "type": "SCALAR"}),
        );
        self.materials.push(json!({"pbrMetallicRoughness": {
            "baseColorFactor": base_color, "metallicFactor": 0.0, "roughnessFactor": 1.0}}));
        self.meshes.push(json!({
            "name": format!("mesh{}", self.meshes.len()),
            "primitives": [{"attributes": attributes, "indices": index,
                            "material": self.materials.len() - 1, "mode": 4}],
        }));
        self.nodes.push(json!({
            "matrix": matrix,
            "mesh": self.meshes.len() - 1,
            "name": format!("mesh{}", self.meshes.len() - 1),
        }));
    }

    pub(super) fn finish(self) -> Vec<u8> {
        let children: Vec<usize> = (1..=self.nodes.len()).collect();
        let mut nodes = vec![json!({"children": children, "name": "Renderer Node"})];
        nodes.extend(self.nodes);
        let document = json!({
            "accessors": self.accessors,
            "asset": {"generator": "VTK", "version": "2.0"},
            "bufferViews": self.buffer_views,
            "buffers": self.buffers,
            "materials": self.materials,
            "meshes": self.meshes,
            "nodes": nodes,
            "scene": 0,
            "scenes": [{"name": "Layer 0", "nodes": [0]}],
        });
        document.to_string().into_bytes()
    }
}

/// 24 vertices (four per face, so faces stay flat) and 12 counter-clockwise triangles.
pub(super) fn box_mesh(half: DVec3) -> (Vec<[f32; 3]>, Vec<u32>) {
    let mut positions = Vec::with_capacity(24);
    let mut indices = Vec::with_capacity(36);
    for axis in 0..3 {
        for sign in [1.0, -1.0] {
            let normal = DVec3::AXES[axis] * sign;
            let u = DVec3::AXES[(axis + 1) % 3] * sign;
            let v = normal.cross(u);
            let base = u32::try_from(positions.len()).unwrap_or(0);
            for (a, b) in [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)] {
                let corner = (normal + u * a + v * b) * half;
                positions.push(corner.as_vec3().to_array());
            }
            indices.extend([base, base + 1, base + 2, base, base + 2, base + 3]);
        }
    }
    (positions, indices)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every triangle winds counter-clockwise seen from outside: its normal points away from the
    /// centre, so servers that cull back faces still draw the visible side.
    #[test]
    fn box_triangles_face_outwards() {
        let (positions, indices) = box_mesh(DVec3::new(1.0, 2.0, 3.0));
        for triangle in indices.chunks_exact(3) {
            let p: Vec<DVec3> = triangle
                .iter()
                .map(|&i| DVec3::from(positions[i as usize].map(f64::from)))
                .collect();
            let normal = (p[1] - p[0]).cross(p[2] - p[0]);
            let centroid = (p[0] + p[1] + p[2]) / 3.0;
            assert!(normal.dot(centroid) > 0.0, "{p:?}");
        }
    }

    #[test]
    fn label_material_uses_drakes_colour_encoding() {
        let scene = AnalyticScene {
            pose: CameraPose::from_rpy(0.0, 0.0, 0.0, DVec3::ZERO),
            boxes: vec![CameraBox {
                center: DVec3::new(0.0, 0.0, 2.0),
                half_size: DVec3::splat(0.1),
                diffuse: [1.0; 4],
                label: 300,
            }],
        };
        let bytes = scene.gltf(ImageType::Label);
        // Compared as text: the shortest round-trip digits Drake (Python's repr) writes too.
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.contains(r#""baseColorFactor":[0.17254901960784313,0.00392156862745098,0.0,1.0]"#),
            "{text}"
        );
        let gltf: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(gltf.get("cameras").is_none());
    }
}
