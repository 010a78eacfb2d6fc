//! The node walk: `scenes[scene]` depth-first from its roots, each node's world transform, the
//! first camera node, and the meshes handed to [`primitives`](super::primitives).
//!
//! The walk uses an explicit stack (no recursion: a malicious depth cannot overflow the stack) and
//! visits each node once, so cycles and shared subtrees are errors instead of infinite or
//! exponential work.

use glam::{DMat4, DQuat, DVec3};

use super::{json, Loader, SceneError};
use crate::scene::CameraNode;

/// The root node of what VTK's exporter writes.
pub(crate) const VTK_ROOT: &str = "Renderer Node";
/// `asset.generator` of a document Drake merged user glTFs into.
pub(crate) const MERGER_GENERATOR: &str = "Drake glTF merger";

/// Where a node index was found, to name it in errors.
#[derive(Clone, Copy)]
enum Referrer {
    Scene { scene: usize, slot: usize },
    Parent { parent: usize, slot: usize },
    Orphan,
}

impl Referrer {
    fn path(self, orphan: usize) -> String {
        match self {
            Self::Scene { scene, slot } => format!("scenes[{scene}].nodes[{slot}]"),
            Self::Parent { parent, slot } => format!("nodes[{parent}].children[{slot}]"),
            Self::Orphan => format!("nodes[{orphan}]"),
        }
    }
}

impl Loader<'_, '_> {
    /// The roots of `scenes[scene]`, or of the whole node forest when there are no scenes.
    fn roots(&self) -> Result<Vec<(usize, Referrer)>, SceneError> {
        let root = self.root;
        if root.scenes.is_empty() {
            let mut has_parent = vec![false; root.nodes.len()];
            for node in &root.nodes {
                for &child in &node.children {
                    if let Some(flag) = has_parent.get_mut(child) {
                        *flag = true;
                    }
                }
            }
            return Ok((0..root.nodes.len())
                .filter(|&node| !has_parent[node])
                .map(|node| (node, Referrer::Orphan))
                .collect());
        }
        let scene = root.scene.unwrap_or(0);
        let nodes = &root
            .scenes
            .get(scene)
            .ok_or(SceneError::out_of_range("scene".to_owned(), "scene", scene))?
            .nodes;
        Ok(nodes
            .iter()
            .enumerate()
            .map(|(slot, &node)| (node, Referrer::Scene { scene, slot }))
            .collect())
    }

    pub(super) fn walk_nodes(&mut self) -> Result<(), SceneError> {
        let nodes = &self.root.nodes;
        let mut parent_of: Vec<Option<usize>> = vec![None; nodes.len()];
        let mut visited = vec![false; nodes.len()];
        let roots = self.roots()?;
        let user_root = self.user_roots(&roots);
        let mut stack: Vec<(usize, Referrer, DMat4, bool)> = roots
            .into_iter()
            .zip(user_root)
            .rev()
            .map(|((node, referrer), user)| (node, referrer, DMat4::IDENTITY, user))
            .collect();
        while let Some((index, referrer, parent_to_world, user)) = stack.pop() {
            let node = nodes
                .get(index)
                .ok_or_else(|| SceneError::out_of_range(referrer.path(index), "node", index))?;
            if visited[index] {
                return Err(revisit_error(index, referrer, &parent_of));
            }
            visited[index] = true;
            if let Referrer::Parent { parent, .. } = referrer {
                parent_of[index] = Some(parent);
            }
            let node_to_world = parent_to_world * local_transform(node, index)?;
            if let Some(camera) = node.camera {
                if self.scene.camera.is_none() {
                    self.scene.camera = Some(self.camera(camera, index, node_to_world)?);
                }
            }
            if let Some(mesh) = node.mesh {
                self.add_mesh(mesh, index, node_to_world, user)?;
            }
            for (slot, &child) in node.children.iter().enumerate().rev() {
                let referrer = Referrer::Parent {
                    parent: index,
                    slot,
                };
                stack.push((child, referrer, node_to_world, user));
            }
        }
        Ok(())
    }

    /// For each root, whether its subtree is a merged user glTF (drake-gltf-protocol §3.1, §3.6):
    /// in a document Drake merged (its generator says so, or VTK's root is there), every root but
    /// VTK's `"Renderer Node"`. Documents of any other shape are VTK's own throughout.
    fn user_roots(&self, roots: &[(usize, Referrer)]) -> Vec<bool> {
        let is_vtk_root = |node: usize| {
            self.root
                .nodes
                .get(node)
                .is_some_and(|node| node.name.as_deref() == Some(VTK_ROOT))
        };
        let merged = self.root.asset.generator.as_deref() == Some(MERGER_GENERATOR)
            || roots.iter().any(|&(node, _)| is_vtk_root(node));
        roots
            .iter()
            .map(|&(node, _)| merged && !is_vtk_root(node))
            .collect()
    }

    fn camera(
        &self,
        index: usize,
        node: usize,
        camera_to_world: DMat4,
    ) -> Result<CameraNode, SceneError> {
        let camera = self.root.cameras.get(index).ok_or_else(|| {
            SceneError::out_of_range(format!("nodes[{node}].camera"), "camera", index)
        })?;
        let clip = camera
            .perspective
            .as_ref()
            .or(camera.orthographic.as_ref())
            .ok_or_else(|| {
                SceneError::invalid(
                    &format!("cameras[{index}]"),
                    "has neither perspective nor orthographic",
                )
            })?;
        if !camera_to_world.is_finite() {
            return Err(SceneError::invalid(
                &format!("nodes[{node}]"),
                "camera world matrix is not finite",
            ));
        }
        Ok(CameraNode {
            camera_to_world,
            znear: clip.znear,
            zfar: clip.zfar,
        })
    }
}

/// Names a node reached a second time: its own ancestor (a cycle), or a second parent.
fn revisit_error(node: usize, referrer: Referrer, parent_of: &[Option<usize>]) -> SceneError {
    if let Referrer::Parent { parent, .. } = referrer {
        // parent_of links were set on first visits only, so this chain is acyclic and ends.
        let mut ancestor = Some(parent);
        while let Some(current) = ancestor {
            if current == node {
                return SceneError::NodeCycle {
                    path: referrer.path(node),
                    node,
                };
            }
            ancestor = parent_of[current];
        }
    }
    SceneError::invalid(
        &referrer.path(node),
        format!("node {node} is reached twice (glTF nodes must form trees)"),
    )
}

/// The node's `matrix`, or its translation × rotation × scale.
fn local_transform(node: &json::Node, index: usize) -> Result<DMat4, SceneError> {
    let transform = match &node.matrix {
        Some(matrix) => DMat4::from_cols_array(matrix),
        None => {
            let rotation = match node.rotation {
                Some([x, y, z, w]) => {
                    let quat = DQuat::from_xyzw(x, y, z, w);
                    if quat.length() == 0.0 {
                        return Err(SceneError::invalid(
                            &format!("nodes[{index}].rotation"),
                            "is a zero quaternion",
                        ));
                    }
                    quat.normalize()
                }
                None => DQuat::IDENTITY,
            };
            DMat4::from_scale_rotation_translation(
                DVec3::from(node.scale.unwrap_or([1.0; 3])),
                rotation,
                DVec3::from(node.translation.unwrap_or([0.0; 3])),
            )
        }
    };
    if !transform.is_finite() {
        return Err(SceneError::invalid(
            &format!("nodes[{index}]"),
            "transform is not finite",
        ));
    }
    Ok(transform)
}
