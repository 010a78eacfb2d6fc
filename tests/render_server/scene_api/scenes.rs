//! `/v1/scenes`: registration with every shape type, missing assets, bad fields, edits, delete,
//! idle expiry and the caps.

use super::{assert_refused, box_shape, geometry, sha256, Api};
use crate::common;

use gltf_cloud::roles::render_server::Config;
use serde_json::{json, Value};

/// A 2×2 RGBA PNG.
fn png() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, 2, 2);
        encoder.set_color(png::ColorType::Rgba);
        let mut writer = encoder.write_header().unwrap();
        writer
            .write_image_data(&[
                255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255,
            ])
            .unwrap();
    }
    out
}

const QUAD_OBJ: &str = "mtllib quad.mtl\nv -0.1 -0.1 0\nv 0.1 -0.1 0\nv 0.1 0.1 0\nv -0.1 0.1 0\n\
vt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nvn 0 0 1\nusemtl red\nf 1/1/1 2/2/1 3/3/1 4/4/1\n";
const QUAD_MTL: &str = "newmtl red\nKd 1 0 0\nmap_Kd textures/wood.png\n";
const TETRA_OBJ: &str = "v 0 0 0\nv 0.1 0 0\nv 0 0.1 0\nv 0 0 0.1\nvn 0 0 1\n\
f 1//1 2//1 3//1\nf 1//1 2//1 4//1\nf 1//1 3//1 4//1\nf 2//1 3//1 4//1\n";

/// One triangle in a glTF whose buffer is the external file `tri.bin`.
fn triangle_gltf() -> (Vec<u8>, Vec<u8>) {
    let buffer: Vec<u8> = [0.0f32, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 0.1, 0.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let gltf = json!({
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                       "min": [0, 0, 0], "max": [0.1, 0.1, 0]}],
        "bufferViews": [{"buffer": 0, "byteLength": 36}],
        "buffers": [{"byteLength": 36, "uri": "tri.bin"}],
    });
    (gltf.to_string().into_bytes(), buffer)
}

/// Uploads the mesh files and returns one geometry of every shape type, ids 1 to 9.
async fn every_shape(api: &Api) -> Vec<Value> {
    let (gltf, bin) = triangle_gltf();
    for asset in [
        QUAD_OBJ.as_bytes(),
        QUAD_MTL.as_bytes(),
        &png(),
        TETRA_OBJ.as_bytes(),
        &gltf,
        &bin,
    ] {
        assert!([200, 201].contains(&api.put_asset(asset).await.status));
    }
    let quad = json!({"format": "obj", "name": "quad.obj", "asset": sha256(QUAD_OBJ.as_bytes()),
        "files": {"quad.mtl": sha256(QUAD_MTL.as_bytes()), "textures/wood.png": sha256(&png())}});
    let tetra =
        json!({"format": "obj", "name": "tetra.obj", "asset": sha256(TETRA_OBJ.as_bytes())});
    let triangle = json!({"format": "gltf", "name": "tri.gltf", "asset": sha256(&gltf),
        "files": {"tri.bin": sha256(&bin)}});
    let red = json!({"phong/diffuse": [0.9, 0.1, 0.1, 1.0], "label/id": 5});
    vec![
        geometry(1, box_shape(0.1), [0.0, 0.0, 0.0], red.clone()),
        geometry(
            2,
            json!({"type": "sphere", "radius": 0.05}),
            [0.2, 0.0, 0.0],
            red,
        ),
        geometry(
            3,
            json!({"type": "cylinder", "radius": 0.05, "length": 0.1}),
            [0.4, 0.0, 0.0],
            json!({}),
        ),
        geometry(
            4,
            json!({"type": "capsule", "radius": 0.05, "length": 0.1}),
            [0.6, 0.0, 0.0],
            json!({}),
        ),
        geometry(
            5,
            json!({"type": "ellipsoid", "a": 0.05, "b": 0.06, "c": 0.07}),
            [0.8, 0.0, 0.0],
            json!({}),
        ),
        geometry(
            6,
            json!({"type": "half_space"}),
            [0.0, 0.0, -1.0],
            json!({"phong/diffuse_map": {"asset": sha256(&png()), "name": "wood.png"},
                   "phong/diffuse_scale": [2, 2]}),
        ),
        geometry(
            7,
            json!({"type": "mesh", "source": quad, "scale": [1, 2, 1]}),
            [0.0, 0.2, 0.0],
            json!({}),
        ),
        geometry(
            8,
            json!({"type": "convex", "source": tetra, "scale": 0.5}),
            [0.2, 0.2, 0.0],
            json!({}),
        ),
        geometry(
            9,
            json!({"type": "mesh", "source": triangle, "scale": 1}),
            [0.4, 0.2, 0.0],
            json!({}),
        ),
    ]
}

#[tokio::test]
async fn every_shape_type_registers_and_the_summary_counts_it() {
    common::require_adapter!();
    let api = Api::start(Config::default()).await;
    let geometries = every_shape(&api).await;
    let id = api.create(json!({"geometries": geometries})).await;
    assert_eq!(id.len(), 32, "128 bits in hex: {id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    let another = api.create(json!({"geometries": []})).await;
    assert_ne!(id, another);
    let summary: Value = serde_json::from_slice(
        &api.call("GET", &format!("/v1/scenes/{id}"), None)
            .await
            .body,
    )
    .unwrap();
    assert_eq!(
        summary,
        json!({"scene": id, "geometries": 9, "frames": 0, "idle_expiry_seconds": 600.0})
    );
    assert_eq!(api.metric("scene_api_scenes").await, 2.0);
    assert_eq!(api.metric("scene_api_geometries").await, 9.0);
    let status: Value =
        serde_json::from_str(&common::get(api.0.addr, "/status.json").await.text()).unwrap();
    assert_eq!(status["sceneApi"]["scenes"], 2, "{status}");
    assert_eq!(status["sceneApi"]["assets"], 6, "{status}");
    let page = common::get(api.0.addr, "/").await.text();
    assert!(
        page.contains("Scene API") && page.contains("<td id=scenes>2</td>"),
        "{page}"
    );
    api.stop().await;
}

#[tokio::test]
async fn missing_assets_bad_fields_and_duplicates_change_nothing() {
    common::require_adapter!();
    let api = Api::start(Config::default()).await;
    let (obj, mtl) = ("0".repeat(64), "1".repeat(64));
    let mesh = json!({"type": "mesh",
        "source": {"format": "obj", "name": "a.obj", "asset": obj, "files": {"a.mtl": mtl}}});
    let reply = api
        .call(
            "POST",
            "/v1/scenes",
            Some(json!({"geometries": [geometry(1, mesh, [0.0; 3], json!({}))]})),
        )
        .await;
    let refused = assert_refused(&reply, 409, "missing_assets", None);
    assert_eq!(refused["missing"], json!([obj, mtl]));

    for (scene, field) in [
        (
            json!({"geometries": [geometry(1, json!({"type": "sphere", "radius": -1}), [0.0; 3], json!({}))]}),
            "geometries[0].shape.radius",
        ),
        (
            json!({"geometries": [geometry(1, box_shape(0.1), [0.0; 3], json!({"phong/specular": 1}))]}),
            "geometries[0].properties.phong/specular",
        ),
        (
            json!({"geometries": [geometry(1, box_shape(0.1), [0.0; 3], json!({"label/id": 32767}))]}),
            "geometries[0].properties.label/id",
        ),
        (
            json!({"geometries": [{"id": 1, "shape": box_shape(0.1),
                "X_WG": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0]}]}),
            "geometries[0].X_WG",
        ),
        (
            json!({"geometries": [{"id": 1, "shape": box_shape(0.1)}]}),
            "geometries[0]",
        ),
        (json!({"geometry": []}), "geometry"),
    ] {
        let reply = api.call("POST", "/v1/scenes", Some(scene.clone())).await;
        assert_refused(&reply, 400, "bad_request", Some(field));
    }
    let twice = json!({"geometries": [geometry(4, box_shape(0.1), [0.0; 3], json!({})),
                                      geometry(4, box_shape(0.2), [0.0; 3], json!({}))]});
    let reply = api.call("POST", "/v1/scenes", Some(twice)).await;
    assert_refused(&reply, 409, "duplicate_geometry", Some("geometries[1].id"));
    let not_json = common::call(api.0.addr, "POST", "/v1/scenes", None, b"{".to_vec()).await;
    assert_refused(&not_json, 400, "bad_request", None);
    assert_eq!(api.metric("scene_api_scenes").await, 0.0);
    api.stop().await;
}

#[tokio::test]
async fn edits_are_all_or_nothing_and_delete_forgets_the_scene() {
    common::require_adapter!();
    let api = Api::start(Config::default()).await;
    let id = api
        .create(json!({"geometries": [
            geometry(1, box_shape(0.1), [0.0; 3], json!({})),
            geometry(2, box_shape(0.1), [0.3, 0.0, 0.0], json!({})),
        ]}))
        .await;
    let path = format!("/v1/scenes/{id}");
    let geometries = |reply: &common::Reply| -> u64 {
        let summary: Value = serde_json::from_slice(&reply.body).unwrap();
        summary["geometries"].as_u64().unwrap()
    };
    // One addition names an asset this server lacks: nothing is removed or added.
    let missing = json!({"type": "mesh",
        "source": {"format": "obj", "name": "a.obj", "asset": "2".repeat(64)}});
    let edit = json!({"remove": [1], "add": [geometry(3, box_shape(0.1), [0.0; 3], json!({})),
                                             geometry(4, missing, [0.0; 3], json!({}))]});
    assert_refused(
        &api.call("PATCH", &path, Some(edit)).await,
        409,
        "missing_assets",
        None,
    );
    assert_eq!(geometries(&api.call("GET", &path, None).await), 2);
    // An existing id is added only when removed in the same edit.
    let clash = json!({"add": [geometry(2, box_shape(0.2), [0.0; 3], json!({}))]});
    assert_refused(
        &api.call("PATCH", &path, Some(clash)).await,
        409,
        "duplicate_geometry",
        Some("add[0].id"),
    );
    let unknown = json!({"remove": [99]});
    assert_refused(
        &api.call("PATCH", &path, Some(unknown)).await,
        400,
        "bad_request",
        Some("remove[0]"),
    );
    // Removed and re-added under its id (a changed geometry), plus a new one: 200 with the count.
    let edit = json!({"remove": [1, 2], "add": [geometry(2, box_shape(0.2), [0.0; 3], json!({})),
                                                geometry(5, box_shape(0.1), [0.0; 3], json!({}))]});
    let reply = api.call("PATCH", &path, Some(edit)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(geometries(&reply), 2);

    assert_eq!(api.call("DELETE", &path, None).await.status, 204);
    assert_refused(
        &api.call("GET", &path, None).await,
        404,
        "unknown_scene",
        None,
    );
    assert_refused(
        &api.call("DELETE", &path, None).await,
        404,
        "unknown_scene",
        None,
    );
    assert_refused(
        &api.call("POST", &format!("{path}/frames"), None).await,
        404,
        "unknown_scene",
        None,
    );
    api.stop().await;
}

#[tokio::test]
async fn an_idle_scene_expires_and_its_id_is_then_unknown() {
    common::require_adapter!();
    let api = Api::start(Config {
        scene_idle_seconds: 0.3,
        ..Config::default()
    })
    .await;
    let id = api
        .create(json!({"geometries": [geometry(1, box_shape(0.1), [0.0; 3], json!({}))]}))
        .await;
    // Watched through /metrics, which does not touch the scene.
    api.wait_for("scene_api_scenes", |v| v == 0.0).await;
    assert_eq!(api.metric("scene_api_scene_expirations_total").await, 1.0);
    assert_eq!(
        api.metric("scene_api_resident_bytes").await,
        0.0,
        "its box counted out"
    );
    let reply = api.call("GET", &format!("/v1/scenes/{id}"), None).await;
    assert_refused(&reply, 404, "unknown_scene", None);
    api.stop().await;
}

#[tokio::test]
async fn scene_and_geometry_caps_are_enforced() {
    common::require_adapter!();
    let api = Api::start(Config {
        max_scenes: 2,
        max_scene_geometries: 3,
        ..Config::default()
    })
    .await;
    let boxes = |n: u64| -> Vec<Value> {
        (1..=n)
            .map(|id| geometry(id, box_shape(0.1), [0.0; 3], json!({})))
            .collect()
    };
    let reply = api
        .call("POST", "/v1/scenes", Some(json!({"geometries": boxes(4)})))
        .await;
    let refused = assert_refused(&reply, 413, "too_large", Some("geometries"));
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("maxSceneGeometries"));
    let first = api.create(json!({"geometries": boxes(3)})).await;
    let reply = api
        .call(
            "PATCH",
            &format!("/v1/scenes/{first}"),
            Some(json!({"add": [geometry(9, box_shape(0.1), [0.0; 3], json!({}))]})),
        )
        .await;
    assert_refused(&reply, 413, "too_large", Some("add"));
    api.create(json!({"geometries": []})).await;
    let reply = api
        .call("POST", "/v1/scenes", Some(json!({"geometries": []})))
        .await;
    let refused = assert_refused(&reply, 503, "busy", None);
    assert!(refused["message"].as_str().unwrap().contains("maxScenes"));
    assert_eq!(reply.headers["retry-after"], "1");
    // Room again once one is deleted.
    api.delete(&first).await;
    api.create(json!({"geometries": []})).await;
    api.stop().await;
}
