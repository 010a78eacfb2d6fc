//! Reading, validating and describing pydrake 1.51.1's own files (tests/fixtures/vtk_params).

use std::path::{Path, PathBuf};

use super::*;

/// A fixture written by pydrake 1.51.1's `yaml_dump_typed` (tests/fixtures/vtk_params).
fn fixture(name: &str) -> (String, PathBuf) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vtk_params")
        .join(name);
    (std::fs::read_to_string(&path).unwrap(), path)
}

fn read(name: &str) -> VtkParams {
    let (text, path) = fixture(name);
    let (params, unknown) = VtkParams::from_yaml(&text, &path).unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");
    params
}

/// `text` as if it were the file `params.yaml`.
fn parse(text: &str) -> Result<(VtkParams, Vec<String>), VtkParamsError> {
    VtkParams::from_yaml(text, Path::new("params.yaml"))
}

fn error(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn drakes_default_params_read_as_the_default() {
    let params = read("default.yaml");
    assert_eq!(
        params,
        VtkParams {
            gltf_extensions: serde_json::json!({
                "KHR_texture_basisu": {"warn_unimplemented": false}
            }),
            ..VtkParams::default()
        }
    );
    // Drake always writes gltf_extensions: a note, not a warning.
    assert!(params.warnings().is_empty());
    assert_eq!(params.not_applicable().len(), 1);
    assert!(params.not_applicable()[0].starts_with("gltf_extensions is not applicable"));
}

#[test]
fn lights_exposure_and_diffuse_read_field_for_field() {
    let params = read("lights.yaml");
    assert_eq!(params.default_diffuse, Some([0.8, 0.6, 0.4, 1.0]));
    assert_eq!(params.default_clear_color, [0.0; 3]);
    assert_eq!(params.exposure, Some(0.5));
    let kinds: Vec<_> = params.lights.iter().map(|l| (l.kind, l.frame)).collect();
    assert_eq!(
        kinds,
        [
            (LightKind::Directional, LightFrame::World),
            (LightKind::Point, LightFrame::Camera),
            (LightKind::Spot, LightFrame::World),
        ]
    );
    assert_eq!(params.lights[0].color.rgba, [1.0, 0.5, 0.25, 1.0]);
    assert_eq!(params.lights[0].direction, [0.866, 0.0, -0.5]);
    assert_eq!(params.lights[1].attenuation_values, [0.5, 0.5, 0.0]);
    assert_eq!(params.lights[1].intensity, 2.0);
    assert_eq!(
        (params.lights[2].position, params.lights[2].cone_angle),
        ([0.0, 0.0, 1.0], 30.0)
    );
    assert_eq!(
        params.summary(),
        "lights: directional/world, point/camera, spot/world; pbr: per scene (user glTF \
         meshes); exposure: 0.5; shadows: off; environment: none; ssao: off"
    );
}

#[test]
fn effects_read_and_a_missing_environment_image_is_named() {
    let params = read("effects.yaml");
    assert_eq!(
        params.environment_map,
        Some(EnvironmentMap {
            skybox: false,
            texture: EnvironmentTexture::EquirectangularMap {
                path: "/missing/sky.hdr".into()
            },
        })
    );
    let ssao = params.ssao.clone().unwrap();
    assert_eq!(
        (ssao.radius, ssao.sample_count, ssao.blur),
        (0.1, 64, false)
    );
    assert!(params.cast_shadows && params.force_to_pbr);
    assert_eq!(params.shadow_map_size, 512);
    assert!(params.summary().contains("pbr: forced"));
    let missing = params.check_environment_map("effects.yaml").unwrap_err();
    assert!(
        missing.to_string().starts_with(
            "RenderEngineVtkParams from effects.yaml: environment_map.texture.path: cannot \
             read /missing/sky.hdr: "
        ),
        "{missing}"
    );
    assert!(params.check_shadow_map_size("x", 512).is_ok());
    assert_eq!(
        params
            .check_shadow_map_size("x", 256)
            .unwrap_err()
            .to_string(),
        "RenderEngineVtkParams from x: shadow_map_size: 512 is larger than this adapter's \
         largest texture (256)"
    );
}

#[test]
fn an_empty_texture_reads_and_warns_as_vtk_behaves() {
    let params = read("null_texture.yaml");
    assert_eq!(
        params.environment_map,
        Some(EnvironmentMap {
            skybox: true,
            texture: EnvironmentTexture::NullTexture {},
        })
    );
    assert!(params.warnings()[0].contains("ignores exposure, ssao and cast_shadows"));
    assert!(params.check_environment_map("x").is_ok());
    let tagged = parse("environment_map: {texture: !NullTexture {}}")
        .unwrap()
        .0;
    assert_eq!(tagged.environment_map, params.environment_map);
}

/// The config file's `vtkParams` is JSON, which has no tags: the variant is the one key.
#[test]
fn json_names_the_texture_variant_as_its_key() {
    let params: VtkParams = serde_json::from_str(
        r#"{"environment_map": {"texture": {"EquirectangularMap": {"path": "/x.png"}}},
            "lights": [{"type": "point", "color": {"rgba": [1, 0, 0]}}]}"#,
    )
    .unwrap();
    assert_eq!(
        params.environment_map.unwrap().texture,
        EnvironmentTexture::EquirectangularMap {
            path: "/x.png".into()
        }
    );
    assert_eq!(params.lights[0].color.rgba, [1.0, 0.0, 0.0, 1.0]);
    let error =
        serde_json::from_str::<VtkParams>(r#"{"environment_map": {"texture": {"CubeMap": {}}}}"#)
            .unwrap_err();
    assert!(
        error.to_string().contains("unknown variant `CubeMap`"),
        "{error}"
    );
}

#[test]
fn unknown_fields_are_warnings_naming_their_path() {
    let (text, path) = fixture("lights.yaml");
    let text = text
        .replacen(
            "  cone_angle: 30.0\n",
            "  cone_angle: 30.0\n  penumbra: 5\n",
            1,
        )
        .replacen(
            "backend: ''",
            "backend: ''\nfuture_option: true\nexposur: 2",
            1,
        );
    let (params, unknown) = VtkParams::from_yaml(&text, &path).unwrap();
    assert_eq!(params.lights[2].cone_angle, 30.0);
    let origin = path.display();
    assert_eq!(
        unknown,
        [
            format!(
                "{origin}: unknown field lights[2].penumbra ignored (written by a newer Drake?)"
            ),
            format!("{origin}: unknown field future_option ignored (written by a newer Drake?)"),
            format!("{origin}: unknown field exposur ignored (did you mean exposure?)"),
        ]
    );
}

/// Parse errors name the file, the line and column, and the field.
#[test]
fn an_unknown_light_type_or_malformed_yaml_names_file_line_and_field() {
    let (text, path) = fixture("lights.yaml");
    let text = text.replacen("- type: spot\n", "- type: spotlight\n", 1);
    let line = 1 + text.lines().position(|l| l == "- type: spotlight").unwrap();
    let unknown = VtkParams::from_yaml(&text, &path).unwrap_err();
    assert_eq!(unknown.position, Some((line, 9)));
    assert_eq!(
        unknown.to_string(),
        format!(
            "RenderEngineVtkParams from {}, line {line} column 9: lights[2].type: unknown \
             variant `spotlight`, expected one of `directional`, `point`, `spot`",
            path.display()
        )
    );
    assert_eq!(
        error("lights: [\n"),
        "RenderEngineVtkParams from params.yaml, line 2 column 1: did not find expected \
         node content"
    );
    assert!(error("shadow_map_size: big").starts_with(
        "RenderEngineVtkParams from params.yaml, line 1 column 18: shadow_map_size: invalid type"
    ));
    assert_eq!(
        error("lights:\n- color: {rgba: [2, 0, 0]}"),
        "RenderEngineVtkParams from params.yaml, line 2 column 3: lights[0]: rgba values \
         must lie in 0..=1 (given [2.0, 0.0, 0.0, 1.0])"
    );
}

#[test]
fn values_no_look_can_be_made_of_are_refused_by_field() {
    for (text, message) in [
        ("lights: [{intensity: -1}]", "lights[0].intensity: must be 0 or more (given -1)"),
        ("lights: [{type: spot}]", "lights[0].cone_angle: a spot light's half-angle must lie in (0, 90] degrees (given 0)"),
        ("lights: [{type: spot, cone_angle: 91}]", "lights[0].cone_angle: a spot light's half-angle must lie in (0, 90] degrees (given 91)"),
        ("lights: [{type: point, attenuation_values: [0, 0, 0]}]", "lights[0].attenuation_values: must be 0 or more and not all 0 (given [0.0, 0.0, 0.0])"),
        ("lights: [{}, {direction: [0, 0, 0]}]", "lights[1].direction: must be a finite, non-zero vector (given [0.0, 0.0, 0.0])"),
        ("default_clear_color: [1.5, 0, 0]", "default_clear_color: values must lie in 0..=1 (given [1.5, 0.0, 0.0])"),
        ("default_diffuse: [0, 0, 0, -1]", "default_diffuse: values must lie in 0..=1 (given [0.0, 0.0, 0.0, -1.0])"),
        ("exposure: 0", "exposure: must be above 0 (given 0)"),
        ("ssao: {sample_count: 0}", "ssao.sample_count: must lie in 1..=1000 (given 0)"),
        ("ssao: {radius: 0}", "ssao.radius: must be above 0 (given 0)"),
        ("cast_shadows: true\nshadow_map_size: 0", "shadow_map_size: must be at least 1 with cast_shadows"),
        ("environment_map: {texture: !EquirectangularMap {path: sky.exr}}", "environment_map.texture.path: sky.exr is not one of the formats read (.hdr, .pic, .png, .jpg, .jpeg)"),
    ] {
        assert_eq!(
            error(text),
            format!("RenderEngineVtkParams from params.yaml: {message}"),
            "{text}"
        );
    }
    // Without cast_shadows the size is not used, as in Drake; a point light's cone is unused.
    assert!(parse("shadow_map_size: 0\nlights: [{type: point}]").is_ok());
}

#[test]
fn backend_is_noted_as_not_applicable() {
    let params = parse("backend: GLX").unwrap().0;
    assert_eq!(
        params.not_applicable(),
        ["backend \"GLX\" is not applicable (VTK's OpenGL backend choice); ignored"]
    );
}
