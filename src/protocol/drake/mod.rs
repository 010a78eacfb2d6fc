//! Drake's glTF render protocol (`docs/upstream/drake-render-protocol.md`), spoken by the render
//! server and the render client:
//! - [`image`]: the `image_type` values, the depth range and Drake's millimetre depth;
//! - [`fields`]: the form's field names, their `%f` text, and reading them back;
//! - [`intrinsics`]: Drake's camera rules (`CameraInfo`, `ClippingRange`, `DepthRange`);
//! - [`error_body`]: which error bodies Drake shows, and the JSON error body;
//! - [`label`]: render labels as colours and back;
//! - [`preview`]: depth and label images in colours people read;
//! - [`encode`] and [`decode`]: the PNG/TIFF answers, written and read back by Drake's rules;
//! - [`camera`]: Drake's camera pose and how its exporter writes it into the glTF;
//! - [`vtk_params`]: `RenderEngineVtkParams`, the look a Drake user tuned RenderEngineVtk with.

pub mod camera;
pub mod decode;
pub mod encode;
pub mod error_body;
pub mod fields;
pub mod image;
pub mod intrinsics;
pub mod label;
pub mod preview;
pub mod vtk_params;
