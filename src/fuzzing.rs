//! The bodies of the fuzz targets: each takes arbitrary bytes as a network peer could send them
//! and runs one parser on them, panicking only where our own code is wrong.
//!
//! They live in the library, not in `fuzz/`, so that two harnesses share one body: `cargo fuzz`
//! (nightly, sanitizers, `make fuzz`) and the plain test `tests/fuzz`, which replays the seed
//! corpus in `fuzz/corpus/<target>/` plus deterministic mutations on every `cargo test`, where a
//! sanitizer build of wgpu and every dependency would not fit CI's time. The module sits at the
//! top of the layer list, beside `cli`, because the multipart reader belongs to a role.

use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart};

use crate::protocol::drake::fields;
use crate::protocol::scene_api::{check, frame, scene};
use crate::protocol::webots::{client, load, pyfloat};
use crate::roles::render_server::form::{self, FormLimits};
use std::sync::Arc;

use crate::scene::gltf::images;
use crate::scene::mesh_file::{load_convex, load_mesh_file, MeshFileSource, MeshFormat};
use crate::scene::{LoadOptions, SceneError};

/// A fuzz target's body: any bytes in, a panic only on a bug.
pub type Target = fn(&[u8]);

/// Every target, by the name its corpus folder and `cargo fuzz` use.
pub const TARGETS: [(&str, Target); 9] = [
    ("drake_fields", drake_fields),
    ("multipart_form", multipart_form),
    ("scene_api_frame", scene_api_frame),
    ("scene_api_scene", scene_api_scene),
    ("gltf_load", gltf_load),
    ("mesh_file", mesh_file),
    ("image_decode", image_decode),
    ("webots_client_message", webots_client_message),
    ("pyfloat", pyfloat),
];

/// The boundary the multipart target's bodies are framed with (the seed corpus uses it).
pub const BOUNDARY: &str = "fuzzboundary";

/// Limits far below the server's defaults: what a fuzzer must find is a panic or a cost out of
/// proportion to the input, not the (configurable) cost of a scene the limits admit.
const FUZZ_LOAD_OPTIONS: LoadOptions = LoadOptions {
    max_triangles: 100_000,
    max_textures: 8,
    max_texture_pixels: 1 << 20,
    max_nodes: 10_000,
    max_draw_calls: 10_000,
    max_decoded_bytes: 64 << 20,
    decode_textures: true,
};

/// Largest image the image target lets the decoder allocate for.
const FUZZ_IMAGE_PIXELS: u64 = 1 << 20;

/// Largest multipart body the form target reads, as `maxBodyBytes`.
const FUZZ_MAX_BODY_BYTES: usize = 1 << 20;

/// Drake's render fields as `name=value` lines (a field's text is any UTF-8), read with the
/// server's rules, then the checksum rule on the rest of the input.
pub fn drake_fields(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let pairs: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|line| line.split_once('='))
        .collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
    };
    let _ = fields::read(get, 8192);
    if let Some(expected) = get(fields::SCENE_SHA256) {
        let _ = fields::verify_sha256(expected, data);
    }
}

/// A multipart body (boundary [`BOUNDARY`]) through axum's reader and the render server's form
/// rules, as `POST /render` reads it.
pub fn multipart_form(data: &[u8]) {
    let request = axum::http::Request::builder()
        .method("POST")
        .header(
            axum::http::header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(data.to_vec()));
    let Ok(request) = request else { return };
    runtime().block_on(async {
        let Ok(multipart) = Multipart::from_request(request, &()).await else {
            return;
        };
        if let Ok(form) = form::read(multipart, FUZZ_MAX_BODY_BYTES).await {
            let _ = form.into_request(FormLimits {
                max_image_dimension: 8192,
            });
        }
    });
}

/// A scene API frame request (`GCF1`: header, JSON, pose records) through its parser and checks,
/// and the same bytes as an answer (`GCI1`), which the client parses. A request that parses must
/// parse again once written back with the same poses bit for bit, so the two sides agree on the
/// layout (the header's numbers go through decimal JSON, which may move the last bit).
pub fn scene_api_frame(data: &[u8]) {
    let limits = frame::FrameLimits {
        max_cameras: 16,
        max_image_dimension: 8192,
    };
    if let Ok(parsed) = frame::parse_request(data, limits) {
        let written = frame::write_request(&parsed.header, &parsed.poses);
        let again = frame::parse_request(&written, limits);
        assert!(
            again.as_ref().is_ok_and(|again| again.poses == parsed.poses
                && again.header.cameras.len() == parsed.header.cameras.len()),
            "a parsed frame written back reads as {again:?}"
        );
    }
    let _ = frame::parse_answer(data);
}

/// A scene API JSON body: a scene (every geometry checked, as `POST /v1/scenes` does) and an edit
/// (`PATCH`).
pub fn scene_api_scene(data: &[u8]) {
    if let Ok(request) = check::read_json::<scene::SceneRequest>(data) {
        for (index, geometry) in request.geometries.iter().enumerate() {
            let _ = check::check_geometry(geometry, &format!("geometries[{index}]"));
        }
    }
    if let Ok(patch) = check::read_json::<scene::PatchRequest>(data) {
        for (index, geometry) in patch.add.iter().enumerate() {
            let _ = check::check_geometry(geometry, &format!("add[{index}]"));
        }
    }
}

/// glTF JSON (with its base64 buffers and images) through the loader, colour scenes, so
/// textures are decoded too.
pub fn gltf_load(data: &[u8]) {
    let _ = crate::scene::load(data, &FUZZ_LOAD_OPTIONS);
}

/// The line that separates an OBJ from the MTL library after it in a [`mesh_file`] input.
pub const MTL_SEPARATOR: &[u8] = b"\n#mtl\n";

/// A scene-API mesh file: an OBJ (its `mtllib` names all resolving to what follows a
/// [`MTL_SEPARATOR`] line) read as a `Mesh` and as a `Convex` (the hull of its vertices), or,
/// starting `glTF`, a GLB read as a `Mesh`.
pub fn mesh_file(data: &[u8]) {
    let (main, library) = match data
        .windows(MTL_SEPARATOR.len())
        .position(|w| w == MTL_SEPARATOR)
    {
        Some(at) => (&data[..at], &data[at + MTL_SEPARATOR.len()..]),
        None => (data, &[][..]),
    };
    let library: Arc<[u8]> = Arc::from(library);
    let resolve = |name: &str| name.ends_with(".mtl").then(|| library.clone());
    let format = if data.starts_with(b"glTF") {
        MeshFormat::Glb
    } else {
        MeshFormat::Obj
    };
    let source = MeshFileSource {
        format,
        name: "fuzz",
        main,
        resolve: &resolve,
    };
    let _ = load_mesh_file(&source, &FUZZ_LOAD_OPTIONS);
    if format == MeshFormat::Obj {
        let _ = load_convex(&source, &FUZZ_LOAD_OPTIONS);
    }
}

/// A PNG or JPEG through the texture decoder; the header check refuses what is too large.
pub fn image_decode(data: &[u8]) {
    let _ = images::decode_rgba8(data, "images[0]", |width, height| {
        if u64::from(width) * u64::from(height) > FUZZ_IMAGE_PIXELS {
            Err(SceneError::LimitExceeded {
                what: "texture pixels",
                count: u64::from(width) * u64::from(height),
                limit: FUZZ_IMAGE_PIXELS,
                config_key: "maxTexturePixels",
            })
        } else {
            Ok(())
        }
    });
}

/// A text frame on the simulation server's `/client` WebSocket (frames are UTF-8 by the
/// WebSocket protocol, so other bytes never reach the parser).
pub fn webots_client_message(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = client::parse(text);
    }
}

/// Python float text, as in a peer's `/load` body, which the session server reads; a value read
/// must survive a round trip through our own `str(float)`.
pub fn pyfloat(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = load::parse(&text);
    if let Some(value) = pyfloat::parse(&text) {
        let written = pyfloat::format(value);
        let again = pyfloat::parse(&written);
        assert!(
            again.is_some_and(|v| v == value || (v.is_nan() && value.is_nan())),
            "{value:?} written as {written:?} reads back as {again:?}"
        );
    }
}

/// One current-thread runtime per process: building one per input would dominate the target.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("cannot build the fuzzing runtime: {e}"))
    })
}
