//! Which image types to ask for a scene file. Drake exports a different glTF per image type
//! (materials and textures for color, white for depth, label colours for label), so a file it
//! exported for one type gives wrong images for the others. A file whose name says its type (Drake
//! names what it saves `…-depth.gltf`; a folder named `depth/` says the same) is rendered as that
//! type unless `--image-type` asks otherwise; a file saved by Drake's exporter under another name
//! gets a note saying so.

use std::path::Path;

use crate::protocol::drake::image::ImageType;

/// The image type `path`'s name says it was exported for, and how it says so.
pub fn named_type(path: &Path) -> Option<(ImageType, String)> {
    let of = |name: &str| ImageType::ALL.into_iter().find(|t| t.as_str() == name);
    let stem = path.file_stem()?.to_str()?;
    if let Some(image_type) = stem.rsplit_once('-').and_then(|(_, last)| of(last)) {
        return Some((
            image_type,
            format!(
                "its name ends in -{}, as Drake names its exports",
                image_type.as_str()
            ),
        ));
    }
    let folder = path.parent()?.file_name()?.to_str()?;
    of(folder).map(|image_type| (image_type, format!("it lies in a folder named {folder}")))
}

/// Whether `gltf` was written by Drake's exporter (VTK's glTF writer names itself).
fn from_drakes_exporter(gltf: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(gltf)
        .ok()
        .and_then(|value| {
            value
                .pointer("/asset/generator")
                .and_then(|g| g.as_str().map(|g| g == "VTK"))
        })
        .unwrap_or(false)
}

/// The types to render `path` as: `requested`, or (none requested) the type its name says, else
/// all three; and the notes to print about the choice.
pub fn image_types(
    path: &Path,
    gltf: &[u8],
    requested: &[ImageType],
) -> (Vec<ImageType>, Vec<String>) {
    let file = path.display();
    let mut notes = Vec::new();
    match (named_type(path), requested.is_empty()) {
        (Some((exported, why)), true) => {
            let exported_name = exported.as_str();
            notes.push(format!(
                "note: {file} is Drake's export for {exported_name} images ({why}); rendering \
                 {exported_name} only, since Drake exports a different file per image type (--image-type asks \
                 for others anyway)"
            ));
            (vec![exported], notes)
        }
        (Some((exported, why)), false) => {
            for other in requested.iter().filter(|t| **t != exported) {
                notes.push(format!(
                    "warning: {file} is Drake's export for {} images ({why}): its {} image is not what Drake would render, since Drake exports a different file \
                     per image type",
                    exported.as_str(),
                    other.as_str()
                ));
            }
            (requested.to_vec(), notes)
        }
        (None, true) => {
            if from_drakes_exporter(gltf) {
                notes.push(format!(
                    "note: {file} was written by Drake's exporter, which writes a different file \
                     per image type (colours for color, white for depth, label colours for \
                     label); if it was exported for one type, the other images are not what \
                     Drake would render: --image-type chooses"
                ));
            }
            (ImageType::ALL.to_vec(), notes)
        }
        (None, false) => (requested.to_vec(), notes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_folders_say_the_type() {
        let named = |p: &str| named_type(Path::new(p)).map(|(t, _)| t);
        assert_eq!(
            named("/tmp/0000000000000000001-depth.gltf"),
            Some(ImageType::Depth)
        );
        assert_eq!(
            named("examples/label/tabletop.gltf"),
            Some(ImageType::Label)
        );
        assert_eq!(named("scene.gltf"), None);
        assert_eq!(named("my-scene.gltf"), None);
    }

    #[test]
    fn a_named_export_is_rendered_as_its_type_unless_asked_otherwise() {
        let path = Path::new("x-label.gltf");
        let (types, notes) = image_types(path, b"{}", &[]);
        assert_eq!(types, [ImageType::Label]);
        assert!(notes[0].contains("rendering label only"), "{notes:?}");
        let (types, notes) = image_types(path, b"{}", &[ImageType::Color, ImageType::Label]);
        assert_eq!(types, [ImageType::Color, ImageType::Label]);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].starts_with("warning:") && notes[0].contains("its color image"));
    }

    #[test]
    fn an_unnamed_drake_export_gets_a_note_and_other_files_none() {
        let drake = br#"{"asset": {"generator": "VTK", "version": "2.0"}}"#;
        let (types, notes) = image_types(Path::new("scene.gltf"), drake, &[]);
        assert_eq!(types, ImageType::ALL);
        assert_eq!(notes.len(), 1);
        let (_, notes) = image_types(Path::new("scene.gltf"), b"{\"asset\": {}}", &[]);
        assert!(notes.is_empty());
    }
}
