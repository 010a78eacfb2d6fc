//! Reading the scene API's JSON and checking its values: serde checks structure and types (its
//! path names the field: [`read_json`]), then [`check_geometry`] checks values and the parameters
//! each shape type takes, returning a [`CheckedGeometry`] the server builds meshes from. Every
//! refusal names the field by its path (`geometries[3].shape.radius`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::error::FieldError;
use super::pose::{self, Pose};
use super::scene::{AssetFile, Geometry, MeshSource, Scale, Shape, ShapeType};
use crate::core::quote::quote;
/// The geometry is left out of label images.
pub use crate::protocol::drake::label::LABEL_DO_NOT_RENDER;
use crate::protocol::drake::label::{LABEL_DONT_CARE, LABEL_EMPTY};
use crate::protocol::drake::vtk_params::{EnvironmentMap, EnvironmentTexture, VtkParams};

/// A shape whose parameters were checked.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckedShape {
    Box {
        width: f64,
        depth: f64,
        height: f64,
    },
    Sphere {
        radius: f64,
    },
    Cylinder {
        radius: f64,
        length: f64,
    },
    Capsule {
        radius: f64,
        length: f64,
    },
    Ellipsoid {
        a: f64,
        b: f64,
        c: f64,
    },
    HalfSpace,
    /// A mesh file; `convex`: drawn as its convex hull.
    Mesh {
        source: MeshSource,
        scale: [f64; 3],
        convex: bool,
    },
}

/// A geometry whose every field was checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedGeometry {
    pub id: u64,
    pub shape: CheckedShape,
    pub pose: Pose,
    pub diffuse: Option<[f64; 4]>,
    pub diffuse_map: Option<AssetFile>,
    pub diffuse_scale: Option<[f64; 2]>,
    pub label: i16,
}

impl CheckedGeometry {
    /// Every asset it names (the mesh's files and its texture), main file first.
    pub fn assets(&self) -> Vec<&str> {
        let mut assets = Vec::new();
        if let CheckedShape::Mesh { source, .. } = &self.shape {
            assets.push(source.asset.as_str());
            assets.extend(source.files.values().map(String::as_str));
        }
        if let Some(map) = &self.diffuse_map {
            assets.push(map.asset.as_str());
        }
        assets
    }
}

/// Reads a JSON body into `T`; the error names the field at fault by its path
/// (`geometries[3].shape.radius`), or the body when it is not JSON at all.
///
/// # Errors
/// The first field serde could not read.
pub fn read_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, FieldError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        FieldError::new(quote(&field), quote(&error.inner().to_string()))
    })?;
    deserializer
        .end()
        .map_err(|e| FieldError::new("body", format!("trailing bytes after the JSON: {e}")))?;
    Ok(value)
}

/// Whether `text` names an asset: 64 lowercase hexadecimal characters (a SHA-256).
pub fn is_asset_name(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Checks an asset name at `field`.
///
/// # Errors
/// Anything but 64 lowercase hexadecimal characters.
pub fn check_asset_name(text: &str, field: &str) -> Result<(), FieldError> {
    if is_asset_name(text) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!(
                "{:?} is not an asset name (the lowercase hex SHA-256 of its bytes)",
                quote(text)
            ),
        ))
    }
}

/// Checks one geometry's values, `path` naming it (`geometries[3]`, `add[0]`).
///
/// # Errors
/// The first field out of range, or a shape parameter missing or not taken by its type.
pub fn check_geometry(geometry: &Geometry, path: &str) -> Result<CheckedGeometry, FieldError> {
    let shape = check_shape(&geometry.shape, &format!("{path}.shape"))?;
    pose::check(&geometry.x_wg).map_err(|e| FieldError::new(format!("{path}.X_WG"), e))?;
    let properties = &geometry.properties;
    let field = |name: &str| format!("{path}.properties.{name}");
    if let Some(diffuse) = &properties.diffuse {
        if !diffuse.iter().all(|v| (0.0..=1.0).contains(v)) {
            return Err(FieldError::new(
                field("phong/diffuse"),
                format!("values must lie in 0..=1 (given {diffuse:?})"),
            ));
        }
    }
    if let Some(map) = &properties.diffuse_map {
        check_asset_name(&map.asset, &field("phong/diffuse_map.asset"))?;
        check_file_name(&map.name, &field("phong/diffuse_map.name"))?;
    }
    if let Some(scale) = &properties.diffuse_scale {
        if !scale.iter().all(|v| v.is_finite()) {
            return Err(FieldError::new(
                field("phong/diffuse_scale"),
                "values must be finite",
            ));
        }
    }
    let label = match properties.label {
        None => LABEL_DONT_CARE,
        Some(label) => check_label(label).map_err(|e| FieldError::new(field("label/id"), e))?,
    };
    Ok(CheckedGeometry {
        id: geometry.id,
        shape,
        pose: geometry.x_wg,
        diffuse: properties.diffuse,
        diffuse_map: properties.diffuse_map.clone(),
        diffuse_scale: properties.diffuse_scale,
        label,
    })
}

/// A `RenderLabel` a geometry may carry: 0 up to `kDontCare` and `kDoNotRender`; never
/// `kEmpty` or `kUnspecified`, which Drake reserves for pixels.
fn check_label(label: i64) -> Result<i16, String> {
    match i16::try_from(label) {
        Ok(value) if (0..=LABEL_DO_NOT_RENDER).contains(&value) => Ok(value),
        _ => Err(format!(
            "{label} is not a RenderLabel a geometry may carry (0..={LABEL_DO_NOT_RENDER}; \
             {LABEL_EMPTY} and above are reserved)"
        )),
    }
}

/// The parameters each shape type takes.
fn parameters(kind: ShapeType) -> &'static [&'static str] {
    match kind {
        ShapeType::Box => &["width", "depth", "height"],
        ShapeType::Sphere => &["radius"],
        ShapeType::Cylinder | ShapeType::Capsule => &["radius", "length"],
        ShapeType::Ellipsoid => &["a", "b", "c"],
        ShapeType::HalfSpace => &[],
        ShapeType::Mesh | ShapeType::Convex => &["source", "scale"],
    }
}

fn check_shape(shape: &Shape, path: &str) -> Result<CheckedShape, FieldError> {
    let numbers = [
        ("width", shape.width),
        ("depth", shape.depth),
        ("height", shape.height),
        ("radius", shape.radius),
        ("length", shape.length),
        ("a", shape.a),
        ("b", shape.b),
        ("c", shape.c),
    ];
    let given = numbers
        .iter()
        .filter(|(_, value)| value.is_some())
        .map(|(name, _)| *name)
        .chain(shape.source.as_ref().map(|_| "source"))
        .chain(shape.scale.as_ref().map(|_| "scale"));
    let taken = parameters(shape.kind);
    for name in given {
        if !taken.contains(&name) {
            return Err(FieldError::new(
                format!("{path}.{name}"),
                format!("not a parameter of a {:?} shape", shape.kind).to_lowercase(),
            ));
        }
    }
    // Drake's own rule: a sphere may have radius 0, every other length must be positive.
    let length = |name: &'static str, value: Option<f64>| -> Result<f64, FieldError> {
        let value = value.ok_or_else(|| FieldError::new(format!("{path}.{name}"), "missing"))?;
        let zero_allowed = shape.kind == ShapeType::Sphere;
        if value.is_finite() && (value > 0.0 || (zero_allowed && value == 0.0)) {
            Ok(value)
        } else {
            Err(FieldError::new(
                format!("{path}.{name}"),
                format!(
                    "must be a finite length {} 0 (given {value})",
                    if zero_allowed { "of at least" } else { "above" }
                ),
            ))
        }
    };
    Ok(match shape.kind {
        ShapeType::Box => CheckedShape::Box {
            width: length("width", shape.width)?,
            depth: length("depth", shape.depth)?,
            height: length("height", shape.height)?,
        },
        ShapeType::Sphere => CheckedShape::Sphere {
            radius: length("radius", shape.radius)?,
        },
        ShapeType::Cylinder => CheckedShape::Cylinder {
            radius: length("radius", shape.radius)?,
            length: length("length", shape.length)?,
        },
        ShapeType::Capsule => CheckedShape::Capsule {
            radius: length("radius", shape.radius)?,
            length: length("length", shape.length)?,
        },
        ShapeType::Ellipsoid => CheckedShape::Ellipsoid {
            a: length("a", shape.a)?,
            b: length("b", shape.b)?,
            c: length("c", shape.c)?,
        },
        ShapeType::HalfSpace => CheckedShape::HalfSpace,
        ShapeType::Mesh | ShapeType::Convex => {
            let source = shape
                .source
                .as_ref()
                .ok_or_else(|| FieldError::new(format!("{path}.source"), "missing"))?;
            check_source(source, &format!("{path}.source"))?;
            let scale = match shape.scale.unwrap_or(Scale::Uniform(1.0)) {
                Scale::Uniform(s) => [s; 3],
                Scale::PerAxis(scale) => scale,
            };
            if !scale.iter().all(|s| s.is_finite() && *s != 0.0) {
                return Err(FieldError::new(
                    format!("{path}.scale"),
                    format!("every factor must be finite and non-zero (given {scale:?})"),
                ));
            }
            CheckedShape::Mesh {
                source: source.clone(),
                scale,
                convex: shape.kind == ShapeType::Convex,
            }
        }
    })
}

fn check_source(source: &MeshSource, path: &str) -> Result<(), FieldError> {
    check_file_name(&source.name, &format!("{path}.name"))?;
    check_asset_name(&source.asset, &format!("{path}.asset"))?;
    for (name, asset) in &source.files {
        let field = format!("{path}.files.{}", quote(name));
        check_file_name(name, &field)?;
        check_asset_name(asset, &field)?;
    }
    Ok(())
}

/// A scene's own look, checked: Drake's params, and the environment map's file with the asset
/// that holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedLook {
    pub params: VtkParams,
    /// The path the params name, and its asset (from `look_files`).
    pub environment: Option<(PathBuf, String)>,
}

impl CheckedLook {
    /// The assets it needs.
    pub fn assets(&self) -> Vec<&str> {
        self.environment
            .iter()
            .map(|(_, asset)| asset.as_str())
            .collect()
    }
}

/// Reads `look` as pydrake's `yaml_dump_typed` writes `RenderEngineVtkParams`, with Drake's
/// rules, and finds the environment map among `look_files`. Fields a newer Drake writes are
/// ignored, as the server ignores them in its own params.
///
/// # Errors
/// `look` (with the line, column and field) for params no look can be made of; `look_files` for
/// an environment map it does not list, or an entry that is not an asset name.
pub fn check_look(text: &str, files: &BTreeMap<String, String>) -> Result<CheckedLook, FieldError> {
    for (path, asset) in files {
        check_asset_name(asset, &format!("look_files.{}", quote(path)))?;
    }
    let (params, _unknown) = VtkParams::from_yaml(text, Path::new("look"))
        .map_err(|error| FieldError::new("look", quote_long(&error.to_string())))?;
    let environment = match &params.environment_map {
        Some(EnvironmentMap {
            texture: EnvironmentTexture::EquirectangularMap { path },
            ..
        }) => {
            let asset = path
                .to_str()
                .and_then(|key| files.get(key))
                .ok_or_else(|| {
                    FieldError::new(
                        "look_files",
                        format!(
                            "the look's environment map {} is not listed (path → asset)",
                            quote(&path.display().to_string())
                        ),
                    )
                })?;
            Some((path.clone(), asset.clone()))
        }
        _ => None,
    };
    Ok(CheckedLook {
        params,
        environment,
    })
}

/// A message that may quote a line of the client's YAML: cut, like any quoted text.
fn quote_long(text: &str) -> String {
    text.chars().take(1000).collect()
}

/// Longest file name a mesh source or texture may give.
const MAX_FILE_NAME_BYTES: usize = 1024;

/// A file name: not empty, not absurdly long, no NUL.
fn check_file_name(name: &str, field: &str) -> Result<(), FieldError> {
    if name.is_empty() || name.len() > MAX_FILE_NAME_BYTES || name.contains('\0') {
        Err(FieldError::new(
            field,
            format!("a file name of 1 to {MAX_FILE_NAME_BYTES} bytes without NUL"),
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::scene_api::scene::{Properties, SceneRequest};
    use std::collections::BTreeMap;

    fn geometry(shape: serde_json::Value) -> serde_json::Value {
        serde_json::json!({"id": 7, "shape": shape, "X_WG": pose::IDENTITY})
    }

    fn checked(value: serde_json::Value) -> Result<CheckedGeometry, FieldError> {
        let geometry: Geometry = read_json(value.to_string().as_bytes())?;
        check_geometry(&geometry, "geometries[0]")
    }

    fn field_of(value: serde_json::Value) -> String {
        checked(value).unwrap_err().field
    }

    #[test]
    fn every_shape_type_reads() {
        let sha = "ab".repeat(32);
        for (shape, expected) in [
            (
                serde_json::json!({"type": "box", "width": 1, "depth": 2, "height": 3}),
                CheckedShape::Box {
                    width: 1.0,
                    depth: 2.0,
                    height: 3.0,
                },
            ),
            (
                serde_json::json!({"type": "sphere", "radius": 0}),
                CheckedShape::Sphere { radius: 0.0 },
            ),
            (
                serde_json::json!({"type": "cylinder", "radius": 1, "length": 2}),
                CheckedShape::Cylinder {
                    radius: 1.0,
                    length: 2.0,
                },
            ),
            (
                serde_json::json!({"type": "capsule", "radius": 1, "length": 2}),
                CheckedShape::Capsule {
                    radius: 1.0,
                    length: 2.0,
                },
            ),
            (
                serde_json::json!({"type": "ellipsoid", "a": 1, "b": 2, "c": 3}),
                CheckedShape::Ellipsoid {
                    a: 1.0,
                    b: 2.0,
                    c: 3.0,
                },
            ),
            (
                serde_json::json!({"type": "half_space"}),
                CheckedShape::HalfSpace,
            ),
        ] {
            assert_eq!(checked(geometry(shape)).unwrap().shape, expected);
        }
        let mesh = checked(geometry(
            serde_json::json!({"type": "convex", "scale": [1, 2, -3],
            "source": {"format": "obj", "name": "a.obj", "asset": sha,
                       "files": {"a.mtl": sha}}}),
        ))
        .unwrap();
        assert!(matches!(
            mesh.shape,
            CheckedShape::Mesh { convex: true, scale, .. } if scale == [1.0, 2.0, -3.0]
        ));
        assert_eq!(mesh.assets(), [sha.as_str(), sha.as_str()]);
        assert_eq!(mesh.label, LABEL_DONT_CARE);
    }

    #[test]
    fn each_bad_field_is_named_by_its_path() {
        let sha = "ab".repeat(32);
        for (value, field) in [
            (
                geometry(serde_json::json!({"type": "sphere", "radius": -1})),
                "geometries[0].shape.radius",
            ),
            (
                geometry(serde_json::json!({"type": "box", "width": 1, "depth": 2})),
                "geometries[0].shape.height",
            ),
            (
                geometry(
                    serde_json::json!({"type": "box", "width": 1, "depth": 2, "height": 3,
                    "radius": 1}),
                ),
                "geometries[0].shape.radius",
            ),
            (
                geometry(serde_json::json!({"type": "sphere", "radius": "big"})),
                "shape.radius",
            ),
            (geometry(serde_json::json!({"type": "torus"})), "shape.type"),
            (
                geometry(serde_json::json!({"type": "mesh", "scale": 0, "source":
                    {"format": "obj", "name": "a.obj", "asset": sha}})),
                "geometries[0].shape.scale",
            ),
            (
                geometry(serde_json::json!({"type": "mesh", "source":
                    {"format": "obj", "name": "a.obj", "asset": "ABC"}})),
                "geometries[0].shape.source.asset",
            ),
            (
                serde_json::json!({"id": 1, "shape": {"type": "half_space"},
                    "X_WG": [2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]}),
                "geometries[0].X_WG",
            ),
            (
                serde_json::json!({"id": 1, "shape": {"type": "half_space"},
                    "X_WG": pose::IDENTITY, "properties": {"label/id": 32766}}),
                "geometries[0].properties.label/id",
            ),
            (
                serde_json::json!({"id": 1, "shape": {"type": "half_space"},
                    "X_WG": pose::IDENTITY, "properties": {"phong/diffuse": [2, 0, 0, 1]}}),
                "geometries[0].properties.phong/diffuse",
            ),
            (
                serde_json::json!({"id": 1, "shape": {"type": "half_space"},
                    "X_WG": pose::IDENTITY, "properties": {"phong/specular": 1}}),
                "properties.phong/specular",
            ),
        ] {
            assert_eq!(field_of(value.clone()), field, "{value}");
        }
    }

    #[test]
    fn a_request_round_trips_through_json() {
        let request = SceneRequest {
            geometries: vec![Geometry {
                id: 3,
                shape: Shape {
                    radius: Some(0.5),
                    ..Shape::of(ShapeType::Sphere)
                },
                x_wg: pose::IDENTITY,
                properties: Properties {
                    label: Some(5),
                    ..Properties::default()
                },
            }],
            look: None,
            look_files: BTreeMap::new(),
        };
        let json = serde_json::to_string(&request).unwrap();
        assert_eq!(
            json,
            r#"{"geometries":[{"id":3,"shape":{"type":"sphere","radius":0.5},"X_WG":[1.0,0.0,0.0,0.0,0.0,1.0,0.0,0.0,0.0,0.0,1.0,0.0],"properties":{"label/id":5}}]}"#
        );
        assert_eq!(read_json::<SceneRequest>(json.as_bytes()), Ok(request));
        let error = read_json::<SceneRequest>(b"{\"geometries\": [] } x").unwrap_err();
        assert_eq!(error.field, "body");
    }

    #[test]
    fn a_look_reads_as_drake_writes_it_and_its_environment_map_is_an_asset() {
        let sha = "cd".repeat(32);
        let files = BTreeMap::from([("/home/me/sky.hdr".to_owned(), sha.clone())]);
        let look = check_look(
            "exposure: 0.5\nenvironment_map:\n  skybox: false\n  texture: !EquirectangularMap\n    path: /home/me/sky.hdr\n",
            &files,
        )
        .unwrap();
        assert_eq!(look.params.exposure, Some(0.5));
        assert_eq!(look.assets(), [sha.as_str()]);
        let unlisted = check_look(
            "environment_map: {texture: !EquirectangularMap {path: /other.hdr}}",
            &files,
        )
        .unwrap_err();
        assert_eq!(unlisted.field, "look_files");
        let bad = check_look("lights: [{type: sun}]", &BTreeMap::new()).unwrap_err();
        assert_eq!(bad.field, "look");
        assert!(bad.message.contains("line 1"), "{}", bad.message);
        let not_asset = BTreeMap::from([("/x.hdr".to_owned(), "x".to_owned())]);
        assert_eq!(
            check_look("{}", &not_asset).unwrap_err().field,
            "look_files./x.hdr"
        );
    }
}
