use super::*;
use crate::scene::LoadOptions;

/// The scene loader names its limits by its own struct's fields, which must stay this config's
/// keys (the form's: `form.rs`).
#[test]
fn keys_named_in_messages_are_serde_keys() {
    let keys = crate::core::config::serde_keys::<Config>();
    for key in [
        config_key!(Config, endpoint),
        config_key!(Config, max_body_bytes),
        config_key!(Config, cache_bytes),
        config_key!(LoadOptions, max_triangles),
        config_key!(LoadOptions, max_textures),
        config_key!(LoadOptions, max_texture_pixels),
        config_key!(LoadOptions, max_nodes),
        config_key!(LoadOptions, max_draw_calls),
        config_key!(LoadOptions, max_decoded_bytes),
        config_key!(Config, max_covered_pixels),
        config_key!(Config, max_in_flight_bytes),
        config_key!(Config, max_in_flight_bytes_per_client),
        config_key!(Config, render_timeout_seconds),
        config_key!(Config, vtk_params),
        config_key!(Config, max_scenes),
        config_key!(Config, max_resident_bytes),
        config_key!(Config, max_scene_geometries),
        config_key!(Config, asset_cache_bytes),
        config_key!(Config, max_asset_bytes),
        config_key!(Config, max_cameras_per_frame),
        config_key!(Config, status_previews),
    ] {
        assert!(
            keys.iter().any(|k| k == key),
            "{key} is not a key of {keys:?}"
        );
    }
}

/// The scene API's paths are the server's own: an endpoint may not take them.
#[test]
fn the_scene_api_prefix_is_reserved() {
    for endpoint in ["v1", "/v1/scenes", "v1/"] {
        let config = Config {
            endpoint: endpoint.to_owned(),
            ..Config::default()
        };
        assert!(config.endpoint_path().is_err(), "{endpoint}");
    }
    let config = Config {
        endpoint: "v1render".to_owned(),
        ..Config::default()
    };
    assert_eq!(config.endpoint_path().unwrap(), "/v1render");
}

fn parse(json: &str) -> crate::core::config::Loaded<Config> {
    crate::core::config::parse::<Config>(json, std::path::Path::new("render.json")).unwrap()
}

/// The key takes Drake's snake_case fields; an unknown one, in a light too, is named.
#[test]
fn vtk_params_key_reads_drakes_fields_and_names_unknown_ones() {
    let loaded = parse(
        r#"{"vtkParams": {"exposure": 2, "lights": [{"type": "spot", "cone_angle": 20,
            "colour": 1}], "shadowMapSize": 3}}"#,
    );
    assert_eq!(
        loaded.unknown_keys,
        ["vtkParams.lights[0].colour", "vtkParams.shadowMapSize"]
    );
    let look = loaded.value.look_params().unwrap();
    assert_eq!(look.origin, "config key vtkParams");
    assert_eq!(look.params.exposure, Some(2.0));
    assert_eq!(look.params.lights[0].cone_angle, 20.0);

    let invalid = parse(r#"{"vtkParams": {"lights": [{"intensity": -2}]}}"#).value;
    assert_eq!(
        invalid.look_params().unwrap_err().to_string(),
        "RenderEngineVtkParams from config key vtkParams: lights[0].intensity: must be 0 or \
         more (given -2)"
    );
    let error = crate::core::config::parse::<Config>(
        "{\"vtkParams\": {\n \"lights\": [{\"type\": \"sun\"}]}}",
        std::path::Path::new("render.json"),
    )
    .unwrap_err();
    assert!(
        error.to_string().starts_with(
            "config file render.json, line 2 column 26: vtkParams.lights[0].type: unknown \
             variant `sun`"
        ),
        "{error}"
    );
}

/// `--vtk-params FILE` replaces the key whole, with a warning that says so.
#[test]
fn the_params_file_wins_over_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("params.yaml");
    std::fs::write(&file, "exposure: 0.5\n").unwrap();
    let mut config = parse(r#"{"vtkParams": {"exposure": 2, "force_to_pbr": true}}"#).value;
    Args {
        vtk_params: Some(file.clone()),
        ..Args::default()
    }
    .apply(&mut config, &LoggingArgs::default());
    let look = config.look_params().unwrap();
    assert_eq!(look.origin, file.display().to_string());
    assert_eq!(
        (look.params.exposure, look.params.force_to_pbr),
        (Some(0.5), false)
    );
    assert_eq!(
        look.warnings,
        [format!(
            "config key vtkParams ignored: --vtk-params {} replaces it",
            file.display()
        )]
    );
}

/// The deprecated keys are the clear colour and the one default light; beside vtkParams they
/// are refused rather than ranked.
#[test]
fn deprecated_look_keys_fold_into_the_params_or_conflict() {
    let config = parse(r#"{"background": [255, 0, 51], "lightIntensity": 2}"#).value;
    let look = config.look_params().unwrap();
    assert_eq!(look.params.default_clear_color, [1.0, 0.0, 0.2]);
    assert_eq!(look.params.lights.len(), 1);
    let light = &look.params.lights[0];
    assert_eq!((light.intensity, light.color.rgba), (2.0, [1.0; 4]));
    assert_eq!(light.kind, LightParameter::default().kind);
    assert!(look.warnings[0].starts_with("config keys background, lightIntensity are deprecated"));
    assert_eq!(
        parse("{}").value.look_params().unwrap().params,
        VtkParams::default()
    );

    let both = parse(r#"{"lightColor": [1, 0, 0], "vtkParams": {}}"#).value;
    assert_eq!(
        both.look_params().unwrap_err().to_string(),
        "config keys lightColor are deprecated and cannot be combined with config key \
         vtkParams: set default_clear_color and lights there instead"
    );
}

#[test]
fn static_scene_is_a_path_or_a_list_and_the_flag_replaces_it() {
    assert_eq!(
        parse(r#"{"staticScene": "floor.gltf"}"#).value.static_scene,
        [PathBuf::from("floor.gltf")]
    );
    let mut config = parse(r#"{"staticScene": ["a.gltf", "b.gltf"]}"#).value;
    assert_eq!(config.static_scene.len(), 2);
    Args {
        scene: vec!["c.gltf".into()],
        ..Args::default()
    }
    .apply(&mut config, &LoggingArgs::default());
    assert_eq!(config.static_scene, [PathBuf::from("c.gltf")]);
}

/// The shipped example of a look in the config file reads without unknown keys.
#[test]
fn the_example_look_config_reads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/render/look.json");
    let loaded = crate::core::config::load_with_server::<Config>(Some(&path)).unwrap();
    assert!(loaded.unknown_keys.is_empty(), "{:?}", loaded.unknown_keys);
    let look = loaded.value.0.look_params().unwrap();
    assert_eq!(look.params.lights.len(), 2);
    assert!(look.params.cast_shadows);
    assert!(look.warnings.is_empty() && look.notes.is_empty());
}

/// `statusPreviews` is a boolean, on unless turned off; anything else is refused, named.
#[test]
fn status_previews_is_a_boolean_on_by_default() {
    assert!(parse("{}").value.status_previews);
    assert!(!parse(r#"{"statusPreviews": false}"#).value.status_previews);
    let refused = crate::core::config::parse::<Config>(
        r#"{"statusPreviews": "off"}"#,
        std::path::Path::new("render.json"),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(refused.contains("statusPreviews"), "{refused}");
}

/// The status page's images are the server's own paths: an endpoint may not take them.
#[test]
fn the_preview_folder_is_reserved() {
    for endpoint in ["status/preview", "/status/preview/color.png"] {
        let config = Config {
            endpoint: endpoint.to_owned(),
            ..Config::default()
        };
        assert!(config.endpoint_path().is_err(), "{endpoint}");
    }
}
