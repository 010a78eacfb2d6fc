//! The camera a request renders from: intrinsics, depth range and pose, and writing the pose into
//! the glTF the way Drake's exporter does (drake-gltf-protocol §3.3): one `cameras` entry and a
//! `"Camera Node"` whose matrix is [`CameraPose::gltf_matrix`].

use serde_json::{json, Map, Value};

use crate::protocol::drake::camera::{CameraPose, DegenerateLookAt};
use crate::protocol::drake::image::DepthRange;
use crate::scene::camera::Intrinsics;

/// Why a scene cannot be sent with this camera.
#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    #[error("the scene is not glTF JSON")]
    NotJson(#[from] serde_json::Error),
    #[error("the scene is not glTF JSON: {0}")]
    Malformed(&'static str),
    #[error("the scene has no camera node: give --camera-position and --camera-target")]
    NoCamera,
    #[error(transparent)]
    DegenerateLookAt(#[from] DegenerateLookAt),
}

/// Everything about the camera a request carries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    pub intrinsics: Intrinsics,
    /// Sent for depth images only.
    pub depth_range: DepthRange,
    /// `None`: use the scene's own camera node.
    pub pose: Option<CameraPose>,
}

impl Camera {
    /// Writes this camera into a glTF document, as Drake's exporter would have: the `cameras` entry
    /// gets these intrinsics, and with a pose the camera node is replaced by a new top-level
    /// `"Camera Node"`. Without a pose the scene's own camera node is kept.
    ///
    /// # Errors
    /// Not a glTF JSON object, or no camera pose from either the scene or `self`.
    pub fn write_into(&self, gltf: &[u8]) -> Result<Vec<u8>, SceneError> {
        let mut document: Value = serde_json::from_slice(gltf)?;
        let root = document
            .as_object_mut()
            .ok_or(SceneError::Malformed("the top level is not an object"))?;
        let perspective = self.perspective();
        match self.pose {
            None => {
                let camera = scene_camera(root).ok_or(SceneError::NoCamera)?;
                let cameras = array_field(root, "cameras")?;
                let entry = cameras.get_mut(camera).ok_or(SceneError::Malformed(
                    "a node names a camera that does not exist",
                ))?;
                *entry = perspective;
            }
            Some(pose) => {
                for node in array_field(root, "nodes")?.iter_mut() {
                    if let Some(node) = node.as_object_mut() {
                        node.remove("camera");
                    }
                }
                let cameras = array_field(root, "cameras")?;
                cameras.push(perspective);
                let camera = cameras.len() - 1;
                let nodes = array_field(root, "nodes")?;
                nodes.push(
                    json!({"camera": camera, "matrix": pose.gltf_matrix(), "name": "Camera Node"}),
                );
                let node = nodes.len() - 1;
                let scene = default_scene(root)?;
                let scene_nodes = scene
                    .entry("nodes")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if scene_nodes.is_null() {
                    *scene_nodes = Value::Array(Vec::new());
                }
                scene_nodes
                    .as_array_mut()
                    .ok_or(SceneError::Malformed("scene nodes is not an array"))?
                    .push(json!(node));
            }
        }
        Ok(serde_json::to_vec(&document)?)
    }

    fn perspective(&self) -> Value {
        let k = &self.intrinsics;
        json!({
            "type": "perspective",
            "perspective": {
                "aspectRatio": f64::from(k.width) / f64::from(k.height),
                "yfov": k.fov_y(),
                "zfar": k.far,
                "znear": k.near,
            }
        })
    }
}

/// The array at `key`, created when missing or `null` (Drake writes `null` for empty arrays).
fn array_field<'a>(
    root: &'a mut Map<String, Value>,
    key: &str,
) -> Result<&'a mut Vec<Value>, SceneError> {
    let value = root.entry(key).or_insert_with(|| Value::Array(Vec::new()));
    if value.is_null() {
        *value = Value::Array(Vec::new());
    }
    value.as_array_mut().ok_or(SceneError::Malformed(
        "a top-level glTF array is not an array",
    ))
}

/// `scenes[scene]`, created (with `scene: 0`) when the file has none.
fn default_scene(root: &mut Map<String, Value>) -> Result<&mut Map<String, Value>, SceneError> {
    let index = root.get("scene").and_then(Value::as_u64).unwrap_or(0);
    root.insert("scene".to_owned(), json!(index));
    let scenes = array_field(root, "scenes")?;
    let index = usize::try_from(index).map_err(|_| SceneError::Malformed("scene index"))?;
    while scenes.len() <= index {
        scenes.push(json!({"nodes": []}));
    }
    scenes[index]
        .as_object_mut()
        .ok_or(SceneError::Malformed("a scene is not an object"))
}

/// The camera index of the first camera node reachable from the default scene.
fn scene_camera(root: &Map<String, Value>) -> Option<usize> {
    let nodes = root.get("nodes")?.as_array()?;
    let index = root.get("scene").and_then(Value::as_u64).unwrap_or(0);
    let scene = root
        .get("scenes")?
        .as_array()?
        .get(usize::try_from(index).ok()?)?;
    let mut stack: Vec<u64> = scene
        .get("nodes")?
        .as_array()?
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    let mut visited = 0;
    while let Some(node) = stack.pop() {
        // A cyclic hierarchy is invalid glTF; stop instead of looping.
        visited += 1;
        if visited > nodes.len() {
            return None;
        }
        let node = nodes.get(usize::try_from(node).ok()?)?;
        if let Some(camera) = node.get("camera").and_then(Value::as_u64) {
            return usize::try_from(camera).ok();
        }
        if let Some(children) = node.get("children").and_then(Value::as_array) {
            stack.extend(children.iter().filter_map(Value::as_u64));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use glam::DVec3;

    use super::*;

    fn camera(pose: Option<CameraPose>) -> Camera {
        Camera {
            intrinsics: Intrinsics::from_fov_y(64, 48, std::f64::consts::FRAC_PI_4, 0.01, 10.0),
            depth_range: DepthRange {
                min_depth: 0.01,
                max_depth: 10.0,
            },
            pose,
        }
    }

    #[test]
    fn pose_is_written_into_drakes_empty_scene() {
        let empty = br#"{"accessors":null,"asset":{"generator":"VTK","version":"2.0"},"bufferViews":null,"buffers":null,"cameras":null,"materials":null,"meshes":null,"nodes":null,"scene":0,"scenes":[{"name":"Layer 0","nodes":null}]}"#;
        let pose = CameraPose::look_at(DVec3::new(1.0, 0.0, 0.0), DVec3::ZERO, DVec3::Z).unwrap();
        let out: Value =
            serde_json::from_slice(&camera(Some(pose)).write_into(empty).unwrap()).unwrap();
        assert_eq!(out["scenes"][0]["nodes"], json!([0]));
        assert_eq!(out["nodes"][0]["camera"], json!(0));
        assert_eq!(
            out["cameras"][0]["perspective"]["aspectRatio"],
            json!(64.0 / 48.0)
        );
        assert_eq!(
            camera(None).write_into(empty).unwrap_err().to_string(),
            SceneError::NoCamera.to_string()
        );
    }

    #[test]
    fn scene_camera_node_is_kept_and_its_intrinsics_updated() {
        let scene = br#"{"cameras":[{"type":"perspective","perspective":{"yfov":1.0,"znear":1.0}}],
            "nodes":[{"children":[1]},{"camera":0,"matrix":[1,0,0,0,0,1,0,0,0,0,1,0,0,0,5,1]}],
            "scene":0,"scenes":[{"nodes":[0]}]}"#;
        let out: Value = serde_json::from_slice(&camera(None).write_into(scene).unwrap()).unwrap();
        assert_eq!(out["nodes"][1]["matrix"][14], json!(5));
        assert_eq!(out["cameras"][0]["perspective"]["znear"], json!(0.01));
    }
}
