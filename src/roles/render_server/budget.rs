//! One render request's budget, from admission to the last byte of its answer: the queue slot it
//! holds, the memory it holds (body, decoded scene, image) within `maxInFlightBytes` and its
//! client address's share of it (`maxInFlightBytesPerClient`), whether its client is still there,
//! and the cost of its image estimated before it is rendered.
//!
//! GPU work cannot be interrupted once submitted, so what a render costs is bounded before it
//! starts ([`covered_pixels`] against `maxCoveredPixels`); everything else is checked between
//! stages through the [`Ticket`].

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use glam::{DMat4, DVec4};
use tokio::sync::OwnedSemaphorePermit;

use super::Config;
use crate::core::config::config_key;
use crate::core::sync::lock;
use crate::scene::cache::{ContentKey, KeyHasher};
use crate::scene::camera::Intrinsics;
use crate::scene::Scene;

/// Views [`CoverageMemo`] remembers; the oldest is forgotten first.
const COVERAGE_MEMO_VIEWS: usize = 4096;

/// Bytes every request in flight holds together, against one limit, and what each client
/// address holds, against its share.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    per_client: u64,
    used: AtomicU64,
    /// Bytes held by each address with requests in flight; an address holding nothing leaves.
    clients: Mutex<HashMap<IpAddr, u64>>,
}

impl MemoryBudget {
    pub fn new(limit: u64, per_client: u64) -> Self {
        Self {
            limit,
            per_client,
            used: AtomicU64::new(0),
            clients: Mutex::default(),
        }
    }

    /// Bytes held now by all requests.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Gives back `bytes` that `client` held.
    fn give_back(&self, client: IpAddr, bytes: u64) {
        if bytes == 0 {
            return;
        }
        self.used.fetch_sub(bytes, Ordering::AcqRel);
        let mut clients = lock(&self.clients);
        if let Some(held) = clients.get_mut(&client) {
            *held = held.saturating_sub(bytes);
            if *held == 0 {
                clients.remove(&client);
            }
        }
    }
}

/// An admitted request: its queue slot and its share of the memory budget, both released when the
/// last holder lets go. The handler, the queued job and the answer's body each hold it, so a
/// request counts from admission until its answer is written or abandoned and its render (which
/// cannot be interrupted) is over.
#[derive(Debug)]
pub struct Ticket {
    _permit: OwnedSemaphorePermit,
    budget: Arc<MemoryBudget>,
    /// The address of the request's client, whose share it counts against.
    client: IpAddr,
    held: AtomicU64,
    abandoned: AtomicBool,
}

/// The budget had no room for more: the server's whole budget (`limit` bytes), or the client
/// address's share of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget {
    pub limit: u64,
    pub client_share: bool,
}

impl OverBudget {
    /// The message of the 503, naming the key that bounds what was short.
    pub fn message(&self) -> String {
        if self.client_share {
            format!(
                "requests in flight from this address already hold its share of the server's \
                 memory ({} bytes); retry shortly (config key {})",
                self.limit,
                config_key!(Config, max_in_flight_bytes_per_client)
            )
        } else {
            format!(
                "the server's memory for requests in flight ({} bytes) is taken; retry shortly \
                 (config key {})",
                self.limit,
                config_key!(Config, max_in_flight_bytes)
            )
        }
    }
}

impl Ticket {
    pub fn new(permit: OwnedSemaphorePermit, budget: Arc<MemoryBudget>, client: IpAddr) -> Self {
        Self {
            _permit: permit,
            budget,
            client,
            held: AtomicU64::new(0),
            abandoned: AtomicBool::new(false),
        }
    }

    /// Takes `bytes` more from the shared budget and from the client's share, or nothing when
    /// they do not fit in either.
    pub fn reserve(&self, bytes: u64) -> Result<(), OverBudget> {
        let budget = &self.budget;
        let mut clients = lock(&budget.clients);
        let client_held = clients.get(&self.client).copied().unwrap_or(0);
        if client_held.saturating_add(bytes) > budget.per_client {
            return Err(OverBudget {
                limit: budget.per_client,
                client_share: true,
            });
        }
        let limit = budget.limit;
        budget
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= limit)
            })
            .map_err(|_| OverBudget {
                limit,
                client_share: false,
            })?;
        *clients.entry(self.client).or_insert(0) += bytes;
        drop(clients);
        self.held.fetch_add(bytes, Ordering::AcqRel);
        Ok(())
    }

    /// Gives back up to `bytes` of what this request holds (its body once the scene is loaded).
    pub fn release(&self, bytes: u64) {
        let released = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                Some(held.saturating_sub(bytes))
            })
            .map_or(0, |held| held.min(bytes));
        self.budget.give_back(self.client, released);
    }

    /// Keeps only `bytes` of what this request holds: once its answer is encoded, the answer is
    /// all it still has (the body, the scene and the read-back image are gone), and an answer
    /// waiting for its client should count for what it is.
    pub fn hold_only(&self, bytes: u64) {
        let held = self.held.load(Ordering::Acquire);
        self.release(held.saturating_sub(bytes));
    }

    /// Marks the requester gone: queued work for it is skipped, a load in progress stops at its
    /// next allocation.
    pub fn abandon(&self) {
        self.abandoned.store(true, Ordering::Release);
    }

    pub fn is_abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let held = *self.held.get_mut();
        self.budget.give_back(self.client, held);
    }
}

/// Abandons the ticket when the handler's future is dropped (the client hung up, or the deadline
/// passed) before the request finished.
pub struct AbandonOnDrop(pub Arc<Ticket>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.abandon();
    }
}

/// [`covered_pixels`] of views already seen, by document and intrinsics. Drake asks for the same
/// scene through the same camera again and again, and the count is a pass over every triangle
/// (tens of milliseconds at 1.5 M triangles: most of a repeated large scene's load stage). The
/// document key ([`KeyHasher::document`]) names the scene exactly, and the server's static scene
/// and limit never change, so a remembered count is the count.
#[derive(Default)]
pub struct CoverageMemo {
    counts: Mutex<(HashMap<ContentKey, u64>, VecDeque<ContentKey>)>,
}

impl CoverageMemo {
    /// The count for `document` seen through `intrinsics`, from `count` the first time.
    pub fn covered(
        &self,
        document: &ContentKey,
        intrinsics: &Intrinsics,
        count: impl FnOnce() -> u64,
    ) -> u64 {
        let mut hasher = KeyHasher::new("covered pixels");
        hasher
            .key(document)
            .number(u64::from(intrinsics.width))
            .number(u64::from(intrinsics.height));
        let floats = [
            intrinsics.focal_x,
            intrinsics.focal_y,
            intrinsics.center_x,
            intrinsics.center_y,
            intrinsics.near,
            intrinsics.far,
        ];
        for value in floats {
            hasher.number(value.to_bits());
        }
        let view = hasher.finish();
        if let Some(&covered) = lock(&self.counts).0.get(&view) {
            return covered;
        }
        let covered = count();
        let mut memo = lock(&self.counts);
        let (counts, order) = &mut *memo;
        if counts.insert(view, covered).is_none() {
            order.push_back(view);
        }
        while order.len() > COVERAGE_MEMO_VIEWS {
            if let Some(oldest) = order.pop_front() {
                counts.remove(&oldest);
            }
        }
        covered
    }
}

/// An upper bound on the pixels the rasterizer will touch for `scene` seen through `intrinsics`:
/// the sum over triangles of their screen-space area, each bounded by its clipped bounding box,
/// nothing for one wholly before the near plane and the whole image for one crossing it. Stops counting past `limit`.
pub fn covered_pixels(scene: &Scene, intrinsics: &Intrinsics, limit: u64) -> u64 {
    let Some(camera) = &scene.camera else {
        return 0; // nothing but the background is drawn
    };
    let view_proj = intrinsics.projection() * camera.camera_to_world.inverse();
    let (width, height) = (f64::from(intrinsics.width), f64::from(intrinsics.height));
    let image = width * height;
    let mut total = 0.0;
    for instance in &scene.instances {
        let Some(mesh) = scene.meshes.get(instance.mesh) else {
            continue;
        };
        let model_view_proj = view_proj * instance.model_to_world;
        let pixels: Vec<Option<(f64, f64)>> = mesh
            .positions
            .iter()
            .map(|p| to_pixel(model_view_proj, *p, width, height))
            .collect();
        for triangle in mesh.indices.chunks_exact(3) {
            let corners = [triangle[0], triangle[1], triangle[2]]
                .map(|i| pixels.get(i as usize).copied().flatten());
            total += match corners {
                [Some(a), Some(b), Some(c)] => triangle_pixels(a, b, c, width, height),
                // Wholly on the camera's side of the near plane: clipped away.
                [None, None, None] => 0.0,
                // Crossing the near plane: assume it covers everything.
                _ => image,
            };
            if total > limit as f64 {
                return total as u64;
            }
        }
    }
    total as u64
}

/// A model-space point's pixel coordinates through `model_view_proj`, `None` when it is not beyond
/// the near plane.
fn to_pixel(model_view_proj: DMat4, p: [f32; 3], width: f64, height: f64) -> Option<(f64, f64)> {
    let clip = model_view_proj * DVec4::new(f64::from(p[0]), f64::from(p[1]), f64::from(p[2]), 1.0);
    if clip.w <= 0.0 || clip.z < 0.0 {
        return None;
    }
    let x = (clip.x / clip.w + 1.0) / 2.0 * width;
    let y = (1.0 - clip.y / clip.w) / 2.0 * height;
    Some((x, y))
}

/// A triangle's area in pixels, at most its bounding box clipped to the image.
fn triangle_pixels(a: (f64, f64), b: (f64, f64), c: (f64, f64), width: f64, height: f64) -> f64 {
    let clamp = |value: f64, max: f64| value.clamp(0.0, max);
    let box_width = clamp(a.0.max(b.0).max(c.0), width) - clamp(a.0.min(b.0).min(c.0), width);
    let box_height = clamp(a.1.max(b.1).max(c.1), height) - clamp(a.1.min(b.1).min(c.1), height);
    let area = ((b.0 - a.0) * (c.1 - a.1) - (c.0 - a.0) * (b.1 - a.1)).abs() / 2.0;
    area.min(box_width * box_height)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::{CameraNode, Instance, Material, Mesh};
    use std::sync::Arc;
    use tokio::sync::Semaphore;

    fn ticket(budget: &Arc<MemoryBudget>, client: [u8; 4]) -> Ticket {
        let permit = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
        Ticket::new(permit, Arc::clone(budget), IpAddr::from(client))
    }

    #[test]
    fn tickets_share_the_budget_and_give_it_back_when_dropped() {
        let budget = Arc::new(MemoryBudget::new(100, 100));
        let first = ticket(&budget, [10, 0, 0, 1]);
        let second = ticket(&budget, [10, 0, 0, 2]);
        first.reserve(60).unwrap();
        let over = second.reserve(41).unwrap_err();
        assert_eq!((over.limit, over.client_share), (100, false));
        assert!(over.message().contains("maxInFlightBytes"));
        second.reserve(40).unwrap();
        first.release(1000);
        assert_eq!(budget.used(), 40);
        drop(second);
        assert_eq!(budget.used(), 0);
        assert!(lock(&budget.clients).is_empty());
    }

    #[test]
    fn one_address_holds_at_most_its_share_and_an_answer_counts_for_its_size() {
        let budget = Arc::new(MemoryBudget::new(100, 60));
        let (first, second) = (
            ticket(&budget, [10, 0, 0, 1]),
            ticket(&budget, [10, 0, 0, 1]),
        );
        let other = ticket(&budget, [10, 0, 0, 2]);
        first.reserve(50).unwrap();
        let over = second.reserve(20).unwrap_err();
        assert_eq!((over.limit, over.client_share), (60, true));
        assert!(over.message().contains("maxInFlightBytesPerClient"));
        other.reserve(50).unwrap();
        // Encoded, the first answer is 5 bytes: the rest of its estimate goes back.
        first.hold_only(5);
        second.reserve(20).unwrap();
        assert_eq!(budget.used(), 75);
        drop((first, second, other));
        assert_eq!(budget.used(), 0);
    }

    /// A camera at the origin looking down −Z (the glTF convention), 64×48.
    fn scene_with(positions: Vec<[f32; 3]>, indices: Vec<u32>) -> (Scene, Intrinsics) {
        let normals = vec![[0.0, 0.0, 1.0]; positions.len()];
        let scene = Scene {
            meshes: vec![Arc::new(Mesh::new(positions, normals, None, indices))],
            instances: vec![Instance {
                mesh: 0,
                model_to_world: DMat4::IDENTITY,
                material: Material::default(),
            }],
            textures: Vec::new(),
            camera: Some(CameraNode {
                camera_to_world: DMat4::IDENTITY,
                znear: 0.01,
                zfar: None,
            }),
            user_gltf: false,
        };
        let intrinsics = Intrinsics::from_fov_y(64, 48, std::f64::consts::FRAC_PI_2, 0.01, 10.0);
        (scene, intrinsics)
    }

    #[test]
    fn the_memo_counts_each_view_once() {
        let memo = CoverageMemo::default();
        let document = KeyHasher::new("test").finish();
        let view = Intrinsics::from_fov_y(64, 48, 1.0, 0.01, 10.0);
        let mut counted = 0;
        let mut count = || {
            counted += 1;
            7
        };
        assert_eq!(memo.covered(&document, &view, &mut count), 7);
        assert_eq!(memo.covered(&document, &view, &mut count), 7);
        let moved = Intrinsics {
            center_x: view.center_x + 0.5,
            ..view
        };
        assert_eq!(memo.covered(&document, &moved, &mut count), 7);
        assert_eq!(counted, 2);
    }

    #[test]
    fn a_full_screen_triangle_counts_the_whole_image_once() {
        let big = 100.0;
        let (scene, intrinsics) = scene_with(
            vec![[-big, -big, -1.0], [big, -big, -1.0], [0.0, big, -1.0]],
            vec![0, 1, 2, 0, 1, 2],
        );
        assert_eq!(covered_pixels(&scene, &intrinsics, u64::MAX), 2 * 64 * 48);
    }

    #[test]
    fn a_small_triangle_counts_its_area_one_behind_the_camera_nothing() {
        // At depth 1 with a 90° vertical field of view, 1 m is 24 pixels.
        let (scene, intrinsics) = scene_with(
            vec![[0.0, 0.0, -1.0], [0.5, 0.0, -1.0], [0.0, 0.5, -1.0]],
            vec![0, 1, 2],
        );
        assert_eq!(covered_pixels(&scene, &intrinsics, u64::MAX), 72);
        let (behind, intrinsics) = scene_with(
            vec![[0.0, 0.0, 1.0], [0.5, 0.0, 1.0], [0.0, 0.5, 1.0]],
            vec![0, 1, 2],
        );
        assert_eq!(covered_pixels(&behind, &intrinsics, u64::MAX), 0);
        let (crossing, intrinsics) = scene_with(
            vec![[0.0, 0.0, 1.0], [0.5, 0.0, -1.0], [0.0, 0.5, -1.0]],
            vec![0, 1, 2],
        );
        assert_eq!(covered_pixels(&crossing, &intrinsics, u64::MAX), 64 * 48);
    }
}
