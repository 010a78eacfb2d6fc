//! `/v1/assets`: stored by content hash, checked while streaming, bounded and evicted.

use super::{assert_refused, sha256, Api};
use crate::common;

use gltf_cloud::roles::render_server::Config;
use serde_json::{json, Value};

#[tokio::test]
async fn put_reput_head_get_and_the_missing_list() {
    common::require_adapter!();
    let api = Api::start(Config::default()).await;
    let mesh = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n".to_vec();
    let name = sha256(&mesh);

    let info: Value = serde_json::from_slice(&api.call("GET", "/v1", None).await.body).unwrap();
    assert_eq!(info["version"], 1);
    assert_eq!(info["limits"]["maxScenes"], 64, "{info}");
    assert_eq!(info["limits"]["maxCamerasPerFrame"], 16, "{info}");

    let missing = json!({"sha256": [name, "0".repeat(64)]});
    let reply = api
        .call("POST", "/v1/assets/missing", Some(missing.clone()))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let listed: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(listed["missing"], json!([name, "0".repeat(64)]));

    assert_eq!(api.put_asset(&mesh).await.status, 201);
    // Held already: read and checked again, answered 200.
    assert_eq!(api.put_asset(&mesh).await.status, 200);
    let head = api.call("HEAD", &format!("/v1/assets/{name}"), None).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.headers["content-length"], mesh.len().to_string());
    let get = api.call("GET", &format!("/v1/assets/{name}"), None).await;
    assert_eq!((get.status, get.body), (200, mesh.clone()));

    let reply = api.call("POST", "/v1/assets/missing", Some(missing)).await;
    let listed: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(listed["missing"], json!(["0".repeat(64)]));

    assert_eq!(api.metric("scene_api_assets").await, 1.0);
    assert_eq!(api.metric("scene_api_asset_bytes").await, mesh.len() as f64);
    api.stop().await;
}

#[tokio::test]
async fn bad_names_mismatched_bodies_and_unknown_assets_are_refused() {
    common::require_adapter!();
    let api = Api::start(Config::default()).await;
    let body = b"some bytes".to_vec();
    let wrong = sha256(b"other bytes");
    let reply = common::call(
        api.0.addr,
        "PUT",
        &format!("/v1/assets/{wrong}"),
        Some("application/octet-stream"),
        body.clone(),
    )
    .await;
    let refused = assert_refused(&reply, 400, "hash_mismatch", Some("sha256"));
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains(&sha256(&body)),
        "{refused}"
    );
    // Nothing was kept under either name.
    let listed: Value = serde_json::from_slice(
        &api.call(
            "POST",
            "/v1/assets/missing",
            Some(json!({"sha256": [wrong, sha256(&body)]})),
        )
        .await
        .body,
    )
    .unwrap();
    assert_eq!(listed["missing"].as_array().unwrap().len(), 2);

    let upper = sha256(&body).to_uppercase();
    let reply = common::call(
        api.0.addr,
        "PUT",
        &format!("/v1/assets/{upper}"),
        None,
        body.clone(),
    )
    .await;
    assert_refused(&reply, 400, "bad_request", Some("sha256"));
    let reply = api
        .call("POST", "/v1/assets/missing", Some(json!({"sha256": ["x"]})))
        .await;
    assert_refused(&reply, 400, "bad_request", Some("sha256[0]"));
    let reply = api
        .call("GET", &format!("/v1/assets/{}", sha256(&body)), None)
        .await;
    assert_refused(&reply, 404, "unknown_asset", None);
    assert_eq!(
        api.call("HEAD", &format!("/v1/assets/{}", sha256(&body)), None)
            .await
            .status,
        404
    );
    let reply = api.call("DELETE", "/v1/assets/missing", None).await;
    assert_refused(&reply, 405, "method_not_allowed", None);
    let reply = api.call("GET", "/v1/nothing/here", None).await;
    assert_refused(&reply, 404, "not_found", None);
    api.stop().await;
}

/// An asset over `maxAssetBytes` is refused with 413 naming the key, and the cache keeps within
/// `assetCacheBytes` by evicting the least recently used.
#[tokio::test]
async fn assets_are_bounded_and_the_least_recently_used_is_evicted() {
    common::require_adapter!();
    let api = Api::start(Config {
        max_asset_bytes: 1000,
        asset_cache_bytes: 2500,
        ..Config::default()
    })
    .await;
    let reply = api.put_asset(&[1; 1001]).await;
    let refused = assert_refused(&reply, 413, "too_large", None);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("maxAssetBytes"),
        "{refused}"
    );
    let (a, b, c) = (vec![1; 1000], vec![2; 1000], vec![3; 1000]);
    for asset in [&a, &b] {
        assert_eq!(api.put_asset(asset).await.status, 201);
    }
    // `a` used again, so `b` is the least recently used when `c` needs room.
    assert_eq!(
        api.call("HEAD", &format!("/v1/assets/{}", sha256(&a)), None)
            .await
            .status,
        200
    );
    assert_eq!(api.put_asset(&c).await.status, 201);
    let reply = api
        .call(
            "POST",
            "/v1/assets/missing",
            Some(json!({"sha256": [sha256(&a), sha256(&b), sha256(&c)]})),
        )
        .await;
    let listed: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(listed["missing"], json!([sha256(&b)]));
    assert_eq!(api.metric("scene_api_asset_evictions_total").await, 1.0);
    assert_eq!(api.metric("scene_api_asset_bytes").await, 2000.0);
    api.stop().await;
}
