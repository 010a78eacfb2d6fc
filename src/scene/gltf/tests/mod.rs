//! Hand-made glTFs, one per quirk the loader tolerates (`leniency.rs`), per error it reports
//! (`errors.rs`) and per user glTF feature (`user_gltf.rs`). Real Drake output is tested in
//! `tests/scene/`. Every test builds its document with the one `Doc` helper below and reads as a
//! short list of edits to it.
#![allow(clippy::unwrap_used)]

mod errors;
mod leniency;
mod user_gltf;

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use glam::{DMat4, DVec3, Vec3};
use serde_json::{json, Value};

use super::images::tests::png_rgba as png;
use super::*;
use crate::scene::{Filter, Material, Sampler, Texture, TextureRef, Wrap};

fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn f32_bytes(values: impl IntoIterator<Item = f32>) -> Vec<u8> {
    values.into_iter().flat_map(f32::to_le_bytes).collect()
}

/// A glTF document built the way VTK writes them: one buffer per bufferView, `data:` URIs.
struct Doc {
    json: Value,
}

impl Doc {
    fn new() -> Self {
        Self {
            json: json!({
                "asset": {"version": "2.0"},
                "accessors": [], "bufferViews": [], "buffers": [], "meshes": [], "nodes": [],
                "materials": [], "textures": [], "images": [], "samplers": [],
                "scene": 0, "scenes": [{"nodes": []}]
            }),
        }
    }

    fn push(&mut self, key: &str, value: Value) -> usize {
        let array = self.json[key].as_array_mut().unwrap();
        array.push(value);
        array.len() - 1
    }

    /// A buffer holding `bytes` and a bufferView over all of it; returns the view.
    fn view(&mut self, bytes: &[u8]) -> usize {
        let uri = data_uri("application/octet-stream", bytes);
        let buffer = self.push("buffers", json!({"byteLength": bytes.len(), "uri": uri}));
        self.push(
            "bufferViews",
            json!({"buffer": buffer, "byteLength": bytes.len(), "byteOffset": 0, "target": 34962}),
        )
    }

    fn accessor(&mut self, bytes: &[u8], component_type: u32, count: usize, kind: &str) -> usize {
        let view = self.view(bytes);
        self.push(
            "accessors",
            json!({"bufferView": view, "byteOffset": 0, "componentType": component_type,
                   "count": count, "type": kind}),
        )
    }

    fn positions(&mut self, positions: &[[f32; 3]]) -> usize {
        let bytes = f32_bytes(positions.iter().flatten().copied());
        self.accessor(&bytes, 5126, positions.len(), "VEC3")
    }

    fn indices_u32(&mut self, indices: &[u32]) -> usize {
        let bytes: Vec<u8> = indices.iter().flat_map(|i| i.to_le_bytes()).collect();
        self.accessor(&bytes, 5125, indices.len(), "SCALAR")
    }

    /// A root node holding a one-primitive mesh; returns the node.
    fn mesh_node(&mut self, primitive: Value, node: Value) -> usize {
        let mesh = self.push("meshes", json!({"primitives": [primitive]}));
        let mut node = node;
        node["mesh"] = json!(mesh);
        let node = self.push("nodes", node);
        self.root(node);
        node
    }

    fn root(&mut self, node: usize) {
        self.json["scenes"][0]["nodes"]
            .as_array_mut()
            .unwrap()
            .push(json!(node));
    }

    /// One triangle (indexed, u32) under a root node with `node` fields; returns the node.
    fn triangle(&mut self, node: Value) -> usize {
        let position = self.positions(&TRIANGLE);
        let indices = self.indices_u32(&[0, 1, 2]);
        self.mesh_node(
            json!({"attributes": {"POSITION": position}, "indices": indices, "mode": 4}),
            node,
        )
    }

    fn load_with(&self, options: &LoadOptions) -> Result<Scene, SceneError> {
        load(&serde_json::to_vec(&self.json).unwrap(), options)
    }

    fn load(&self) -> Result<Scene, SceneError> {
        self.load_with(&LoadOptions::default())
    }

    fn error(&self) -> String {
        self.load().unwrap_err().to_string()
    }
}

const TRIANGLE: [[f32; 3]; 3] = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];

/// One instance flattened to the world frame, the way the loader built meshes before instancing:
/// world positions, world normals, the winding swapped under mirroring. The assertions on
/// transforms below are about what gets drawn, whichever layer applies the transform.
#[derive(Debug)]
struct WorldMesh {
    positions: Vec<[f32; 3]>,
    normals: Vec<[f32; 3]>,
    tex_coords: Option<Vec<[f32; 2]>>,
    indices: Vec<u32>,
    material: Material,
}

fn world(scene: &Scene) -> Vec<WorldMesh> {
    scene
        .instances
        .iter()
        .map(|instance| {
            let mesh = &scene.meshes[instance.mesh];
            let normal_matrix = instance.normal_matrix().unwrap();
            let mut indices = mesh.indices.clone();
            if instance.mirrors() {
                indices.chunks_exact_mut(3).for_each(|t| t.swap(1, 2));
            }
            WorldMesh {
                positions: instance.world_positions(mesh).collect(),
                normals: (mesh.normals.iter())
                    .map(|n| (normal_matrix * DVec3::from(n.map(f64::from))).normalize())
                    .map(|n| n.as_vec3().to_array())
                    .collect(),
                tex_coords: mesh.tex_coords.clone(),
                indices,
                material: instance.material.clone(),
            }
        })
        .collect()
}

fn assert_close(actual: [f32; 3], expected: [f32; 3]) {
    let distance = Vec3::from(actual).distance(Vec3::from(expected));
    assert!(distance < 1e-5, "{actual:?} != {expected:?}");
}

/// Runs `f` with a subscriber that records formatted log lines, and returns them.
fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    (result, text)
}
