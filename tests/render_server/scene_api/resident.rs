//! What resident scenes hold: meshes shared between scenes through the scene cache, counted once,
//! and the cap on all of it (`maxResidentBytes`).

use super::{assert_refused, box_shape, geometry, sha256, Api};
use crate::common;

use gltf_cloud::roles::render_server::Config;
use serde_json::{json, Value};

/// A `cells`×`cells` grid of quads at height `z` as OBJ text: a mesh large enough that its bytes
/// dominate what a scene holds.
fn grid_obj(cells: usize, z: f64) -> String {
    let mut obj = String::from("vn 0 0 1\n");
    for row in 0..=cells {
        for col in 0..=cells {
            obj += &format!("v {} {} {z}\n", col as f64 / 100.0, row as f64 / 100.0);
        }
    }
    let index = |row: usize, col: usize| row * (cells + 1) + col + 1;
    for row in 0..cells {
        for col in 0..cells {
            let (a, b) = (index(row, col), index(row, col + 1));
            let (c, d) = (index(row + 1, col + 1), index(row + 1, col));
            obj += &format!("f {a}//1 {b}//1 {c}//1 {d}//1\n");
        }
    }
    obj
}

/// Uploads `obj` and returns a scene of one geometry drawing it.
async fn mesh_scene(api: &Api, obj: &str) -> Value {
    assert!([200, 201].contains(&api.put_asset(obj.as_bytes()).await.status));
    let source = json!({"format": "obj", "name": "grid.obj", "asset": sha256(obj.as_bytes())});
    json!({"geometries": [geometry(1, json!({"type": "mesh", "source": source, "scale": 1}),
                                   [0.0; 3], json!({}))]})
}

#[tokio::test]
async fn scenes_of_the_same_mesh_share_it_and_it_counts_once() {
    common::require_adapter!();
    let api = Api::start(Config::default()).await;
    let (first, second) = (grid_obj(60, 0.0), grid_obj(60, 0.5));
    let a = api.create(mesh_scene(&api, &first).await).await;
    let one = api.metric("scene_api_resident_bytes").await;
    assert!(
        one > 60.0 * 60.0 * 2.0 * 3.0 * 4.0,
        "{one} bytes for 7 200 triangles"
    );
    let b = api.create(mesh_scene(&api, &first).await).await;
    assert_eq!(
        api.metric("scene_api_resident_bytes").await,
        one,
        "the same mesh twice"
    );
    let c = api.create(mesh_scene(&api, &second).await).await;
    assert_eq!(
        api.metric("scene_api_resident_bytes").await,
        2.0 * one,
        "another mesh"
    );
    // An edit that swaps a's mesh for a box gives nothing back (b still draws the mesh); one that
    // swaps b's too gives the mesh back.
    let to_box = json!({"remove": [1], "add": [geometry(1, box_shape(0.1), [0.0; 3], json!({}))]});
    for scene in [&a, &b] {
        let reply = api
            .call(
                "PATCH",
                &format!("/v1/scenes/{scene}"),
                Some(to_box.clone()),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    let with_boxes = api.metric("scene_api_resident_bytes").await;
    assert!(
        with_boxes > one && with_boxes < 1.1 * one,
        "the other mesh and one shared box: {with_boxes} bytes against {one}"
    );
    for scene in [&a, &b] {
        api.delete(scene).await;
    }
    assert_eq!(
        api.metric("scene_api_resident_bytes").await,
        one,
        "only the other mesh: the shared box went with a and b"
    );
    api.delete(&c).await;
    assert_eq!(api.metric("scene_api_resident_bytes").await, 0.0);
    api.stop().await;
}

#[tokio::test]
async fn resident_bytes_are_capped_with_shared_meshes_counted_once() {
    common::require_adapter!();
    let (first, second) = (grid_obj(60, 0.0), grid_obj(60, 0.5));
    let one = {
        let api = Api::start(Config::default()).await;
        api.create(mesh_scene(&api, &first).await).await;
        let bytes = api.metric("scene_api_resident_bytes").await;
        api.stop().await;
        bytes
    };
    let cap = (1.5 * one) as u64;
    let api = Api::start(Config {
        max_resident_bytes: Some(cap),
        ..Config::default()
    })
    .await;
    assert_eq!(
        api.metric("scene_api_resident_limit_bytes").await,
        cap as f64
    );
    // Both meshes in one scene could never fit.
    let mut both = mesh_scene(&api, &first).await;
    let other = mesh_scene(&api, &second).await["geometries"][0].clone();
    let geometries = both["geometries"].as_array_mut().unwrap();
    geometries
        .push(json!({"id": 2, "shape": other["shape"], "X_WG": other["X_WG"], "properties": {}}));
    let reply = api.call("POST", "/v1/scenes", Some(both)).await;
    let refused = assert_refused(&reply, 413, "too_large", None);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("maxResidentBytes"),
        "{refused}"
    );
    // One mesh fits, twice (shared); the other does not fit beside it, until it is gone.
    let a = api.create(mesh_scene(&api, &first).await).await;
    let b = api.create(mesh_scene(&api, &first).await).await;
    let reply = api
        .call("POST", "/v1/scenes", Some(mesh_scene(&api, &second).await))
        .await;
    let refused = assert_refused(&reply, 503, "busy", None);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("maxResidentBytes"),
        "{refused}"
    );
    assert_eq!(reply.headers["retry-after"], "1");
    assert_eq!(
        api.metric("scene_api_scenes").await,
        2.0,
        "the refused scene is not kept"
    );
    for scene in [&a, &b] {
        api.delete(scene).await;
    }
    api.create(mesh_scene(&api, &second).await).await;
    api.stop().await;
}
