//! The cases about resources: the version, assets by hash, registering a scene, edits and the
//! refusals (each a 4xx with the API's reason, naming the field).

use serde_json::json;

use super::{failed, refused, Outcome, Suite};
use crate::protocol::scene_api::scene::{
    Geometry, MeshFormat, MeshSource, PatchRequest, SceneRequest, Shape, ShapeType,
};
use crate::roles::render_client::scene_api::builtin;
use crate::roles::render_client::scene_api::client::asset_name;

pub(super) async fn api_version(suite: &Suite<'_>) -> Outcome {
    let info = suite.client.info().await.map_err(|e| failed(&e))?;
    if info.version != 1 {
        return Err(format!("GET /v1 says version {}, expected 1", info.version));
    }
    if info.limits.max_cameras_per_frame == 0 || info.limits.max_image_dimension == 0 {
        return Err(format!("GET /v1 allows no frame at all: {:?}", info.limits));
    }
    Ok(format!(
        "version 1, up to {} cameras a frame",
        info.limits.max_cameras_per_frame
    ))
}

/// `HEAD` unknown → 404; `PUT` → 201, again → 200; `HEAD` → 200; the missing list names only
/// what was never sent.
pub(super) async fn asset_upload(suite: &Suite<'_>) -> Outcome {
    let client = suite.client;
    let bytes = suite.nonce(300);
    let never_sent = asset_name(&suite.nonce(32));
    let path = format!("/assets/{}", asset_name(&bytes));
    let status = |answer: crate::roles::render_client::wire::Answer| answer.status;
    let head_before = client
        .raw("HEAD", &path, None, Vec::new())
        .await
        .map(status)
        .map_err(|e| failed(&e))?;
    let mut puts = Vec::new();
    for _ in 0..2 {
        let answer = client
            .raw(
                "PUT",
                &path,
                Some("application/octet-stream"),
                bytes.clone(),
            )
            .await
            .map_err(|e| failed(&e))?;
        puts.push(answer.status);
    }
    let head_after = client
        .raw("HEAD", &path, None, Vec::new())
        .await
        .map(status)
        .map_err(|e| failed(&e))?;
    let names = json!({"sha256": [asset_name(&bytes), never_sent]});
    let missing = client
        .raw(
            "POST",
            "/assets/missing",
            Some("application/json"),
            names.to_string().into_bytes(),
        )
        .await
        .map_err(|e| failed(&e))?;
    let listed: serde_json::Value = serde_json::from_slice(&missing.body).unwrap_or_default();
    let seen = (head_before, puts.as_slice(), head_after);
    if seen != (404, &[201, 200][..], 200) {
        return Err(format!(
            "HEAD, PUT, PUT, HEAD answered {head_before}, {puts:?}, {head_after}; expected 404, \
             201, 200, 200"
        ));
    }
    if missing.status != 200 || listed["missing"] != json!([never_sent]) {
        return Err(format!(
            "POST /v1/assets/missing answered {} {listed}; expected only the hash never sent",
            missing.status
        ));
    }
    Ok("HEAD 404 → PUT 201 → PUT 200 → HEAD 200; missing lists only the unsent hash".to_owned())
}

/// A body under another body's hash is refused with `hash_mismatch`, and nothing is stored.
pub(super) async fn asset_hash_mismatch(suite: &Suite<'_>) -> Outcome {
    let client = suite.client;
    let name = asset_name(&suite.nonce(64));
    let path = format!("/assets/{name}");
    let answer = client
        .raw(
            "PUT",
            &path,
            Some("application/octet-stream"),
            suite.nonce(64),
        )
        .await
        .map_err(|e| failed(&e))?;
    let verdict = refused(&answer, 400, "hash_mismatch", None)?;
    let head = client
        .raw("HEAD", &path, None, Vec::new())
        .await
        .map_err(|e| failed(&e))?;
    if head.status != 404 {
        return Err(format!(
            "the refused body was kept: HEAD answered {}",
            head.status
        ));
    }
    Ok(format!("{verdict}; HEAD afterwards 404"))
}

fn mesh_naming(asset: String) -> Geometry {
    let mut shape = Shape::of(ShapeType::Mesh);
    shape.source = Some(MeshSource {
        format: MeshFormat::Obj,
        name: "absent.obj".to_owned(),
        asset,
        files: Default::default(),
    });
    Geometry {
        id: 1,
        shape,
        x_wg: crate::protocol::scene_api::pose::IDENTITY,
        properties: Default::default(),
    }
}

/// A scene naming an asset never uploaded: 409 `missing_assets` listing it.
pub(super) async fn missing_asset(suite: &Suite<'_>) -> Outcome {
    let absent = asset_name(&suite.nonce(32));
    let scene = SceneRequest {
        geometries: vec![mesh_naming(absent.clone())],
        look: None,
        look_files: Default::default(),
    };
    let answer = suite
        .client
        .raw(
            "POST",
            "/scenes",
            Some("application/json"),
            serde_json::to_vec(&scene).unwrap_or_default(),
        )
        .await
        .map_err(|e| failed(&e))?;
    let verdict = refused(&answer, 409, "missing_assets", None)?;
    let listed = crate::protocol::scene_api::error::ErrorBody::parse(&answer.body)
        .map(|b| b.missing)
        .unwrap_or_default();
    if listed != [absent] {
        return Err(format!("409 lists {listed:?}, not the one absent asset"));
    }
    Ok(format!("{verdict} listing the absent asset"))
}

/// The built-in scene, one geometry of every shape type, registered; its summary counts them.
pub(super) async fn every_shape(suite: &mut Suite<'_>) -> Outcome {
    let client = suite.client;
    let obj = builtin::cube_obj();
    let placed = builtin::scene(&asset_name(&obj));
    client
        .upload_missing(&[obj])
        .await
        .map_err(|e| failed(&e))?;
    let request = SceneRequest {
        geometries: placed.iter().map(|p| p.geometry.clone()).collect(),
        look: None,
        look_files: Default::default(),
    };
    let answer = client
        .raw(
            "POST",
            "/scenes",
            Some("application/json"),
            serde_json::to_vec(&request).unwrap_or_default(),
        )
        .await
        .map_err(|e| failed(&e))?;
    client
        .expect("POST", "/scenes", &answer, 201)
        .map_err(|e| failed(&e))?;
    let created: crate::protocol::scene_api::scene::SceneCreated =
        serde_json::from_slice(&answer.body).map_err(|e| format!("201 body: {e}"))?;
    let location = answer
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    suite.scene = Some(created.scene.clone());
    suite.placed = placed;
    let summary = client
        .scene_summary(&created.scene)
        .await
        .map_err(|e| failed(&e))?;
    let count = suite.placed.len();
    if created.geometries != count || summary.geometries != count || summary.frames != 0 {
        return Err(format!(
            "registered {count} geometries; 201 says {}, GET says {} with {} frames",
            created.geometries, summary.geometries, summary.frames
        ));
    }
    if location != format!("/v1/scenes/{}", created.scene) {
        return Err(format!("Location {location:?} is not the scene's path"));
    }
    if created.scene.len() < 32 {
        return Err(format!(
            "scene id {:?} is shorter than 128 bits in hex",
            created.scene
        ));
    }
    Ok(format!(
        "box, sphere, cylinder, capsule, ellipsoid, half_space, mesh, convex: {count} geometries"
    ))
}

/// Adding an id the scene holds: 409 `duplicate_geometry`, and the scene is unchanged.
pub(super) async fn patch_duplicate(suite: &Suite<'_>) -> Outcome {
    let id = suite.scene()?;
    let before = suite
        .client
        .scene_summary(id)
        .await
        .map_err(|e| failed(&e))?;
    let mut twice = suite
        .placed
        .iter()
        .find(|p| p.geometry.id == 4)
        .map(|p| p.geometry.clone())
        .ok_or("the built-in scene lost geometry 4")?;
    twice.properties.label = Some(99);
    let patch = PatchRequest {
        remove: Vec::new(),
        add: vec![twice],
    };
    let path = format!("/scenes/{id}");
    let answer = suite
        .client
        .raw(
            "PATCH",
            &path,
            Some("application/json"),
            serde_json::to_vec(&patch).unwrap_or_default(),
        )
        .await
        .map_err(|e| failed(&e))?;
    let verdict = refused(&answer, 409, "duplicate_geometry", None)?;
    let after = suite
        .client
        .scene_summary(id)
        .await
        .map_err(|e| failed(&e))?;
    if after.geometries != before.geometries {
        return Err(format!(
            "a refused PATCH changed the scene: {} → {} geometries",
            before.geometries, after.geometries
        ));
    }
    Ok(verdict)
}

/// Bad values in a scene: each a 400 `bad_request` naming its field.
pub(super) async fn bad_scene_fields(suite: &Suite<'_>) -> Outcome {
    let sphere = json!({"id": 1, "shape": {"type": "sphere", "radius": -1.0},
                        "X_WG": crate::protocol::scene_api::pose::IDENTITY});
    let misspelt = json!({"id": 1, "shape": {"type": "box", "width": 1, "depth": 1, "height": 1},
                          "X_WG": crate::protocol::scene_api::pose::IDENTITY,
                          "properties": {"phong/specular": [1, 1, 1, 1]}});
    let mut scaled = crate::protocol::scene_api::pose::IDENTITY;
    scaled[0] = 2.0;
    let bad_pose = json!({"id": 1, "shape": {"type": "sphere", "radius": 1.0}, "X_WG": scaled});
    let mut verdicts = Vec::new();
    for (geometry, field) in [
        (sphere, "geometries[0].shape.radius"),
        (misspelt, "geometries[0].properties.phong/specular"),
        (bad_pose, "geometries[0].X_WG"),
    ] {
        let body = json!({"geometries": [geometry]}).to_string().into_bytes();
        let answer = suite
            .client
            .raw("POST", "/scenes", Some("application/json"), body)
            .await
            .map_err(|e| failed(&e))?;
        refused(&answer, 400, "bad_request", Some(field)).map_err(|e| format!("{field}: {e}"))?;
        verdicts.push(field);
    }
    Ok(format!("400 bad_request naming {}", verdicts.join(", ")))
}

/// A scene id the server never gave: `GET`, `PATCH` and a frame all get 404 `unknown_scene`
/// (the reason a client registers its scene again on).
pub(super) async fn unknown_scene(suite: &Suite<'_>) -> Outcome {
    let id = hex::encode(suite.nonce(16));
    let client = suite.client;
    let scene = format!("/scenes/{id}");
    let frames = format!("/scenes/{id}/frames");
    let frame = crate::protocol::scene_api::frame::write_request(
        &crate::protocol::scene_api::frame::FrameHeader {
            poses: 0,
            encoding: Default::default(),
            cameras: vec![super::camera_above(
                &[crate::protocol::scene_api::frame::ImageName::Label],
                [0.1, 5.0],
            )],
        },
        &[],
    );
    let patch = serde_json::to_vec(&PatchRequest::default()).unwrap_or_default();
    for (method, path, content_type, body) in [
        ("GET", &scene, None, Vec::new()),
        ("PATCH", &scene, Some("application/json"), patch),
        ("POST", &frames, Some("application/octet-stream"), frame),
    ] {
        let answer = client
            .raw(method, path, content_type, body)
            .await
            .map_err(|e| failed(&e))?;
        refused(&answer, 404, "unknown_scene", None)
            .map_err(|e| format!("{method} {path}: {e}"))?;
    }
    Ok("GET, PATCH and a frame of an unknown id: 404 unknown_scene".to_owned())
}

/// `DELETE` answers 204, and the scene is then unknown.
pub(super) async fn delete_scene(suite: &Suite<'_>) -> Outcome {
    let id = suite.scene()?;
    suite
        .client
        .delete_scene(id)
        .await
        .map_err(|e| failed(&e))?;
    let answer = suite
        .client
        .raw("GET", &format!("/scenes/{id}"), None, Vec::new())
        .await
        .map_err(|e| failed(&e))?;
    let verdict = refused(&answer, 404, "unknown_scene", None)
        .map_err(|e| format!("after DELETE 204, GET: {e}"))?;
    Ok(format!("DELETE 204, then GET {verdict}"))
}
