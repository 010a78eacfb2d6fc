use std::collections::HashMap;

use super::*;

/// Reads `text` with `libraries` as the files beside it, without limits.
fn read_with(text: &str, libraries: &[(&str, &str)]) -> Result<ObjFile, SceneError> {
    let files: HashMap<String, Arc<[u8]>> = (libraries.iter())
        .map(|(name, text)| (name.to_string(), Arc::from(text.as_bytes())))
        .collect();
    let mut library = |name: &str| files.get(name).cloned();
    let mut admit = |_: u64, _: u64| Ok(());
    read(
        text.as_bytes(),
        &mut ReadContext {
            name: "test.obj",
            materials: true,
            library: &mut library,
            admit: &mut admit,
        },
    )
}

fn corner(vertex: i32, texcoord: i32, normal: i32) -> Corner {
    Corner {
        vertex,
        texcoord,
        normal,
    }
}

#[test]
fn corners_take_every_index_form_and_negative_indices_count_back() {
    let file = read_with(
        "v 0 0 0\nv 1 0 0\nv 1 1 0\nvt 0 0\nvt 1 0\nvn 0 0 1\n\
         f 1/1/1 2/2/1 3//1\nf -3 -2/-1 -1/-2/-1\n",
        &[],
    )
    .unwrap();
    assert_eq!(file.vertices.len(), 3);
    assert_eq!(file.triangles.len(), 2);
    assert_eq!(
        file.triangles[0].corners,
        [corner(0, 0, 0), corner(1, 1, 0), corner(2, -1, 0)]
    );
    assert_eq!(
        file.triangles[1].corners,
        [corner(0, -1, -1), corner(1, 1, -1), corner(2, 0, 0)]
    );
}

/// Line ends of every kind, comments, blank and unknown lines, missing values as 0, a value
/// that does not parse as 0, and `atoi`'s white-space skipping.
#[test]
fn lines_and_numbers_read_as_tinyobjloader_reads_them() {
    let file = read_with(
        "# c\r\nv 1 2\rv 1e0 x 3 9\n\n  g group\ns off\nvn 0 0 1\nvt 0.5\nvt 0 1\nf 1/ 2/ 1\n",
        &[],
    )
    .unwrap();
    assert_eq!(file.vertices, [[1.0, 2.0, 0.0], [1.0, 0.0, 3.0]]);
    assert_eq!(file.texcoords, [[0.5, 0.0], [0.0, 1.0]]);
    // `1/ 2/ 1`: after `1/`, atoi skips the space and reads 2 as the texture index; then the
    // `2/` and `1` are corners of their own.
    assert_eq!(file.triangles.len(), 1);
    assert_eq!(file.triangles[0].corners[0], corner(0, 1, -1));
    assert_eq!(file.triangles[0].corners[1], corner(1, 0, -1));
}

#[test]
fn polygons_are_split_as_tinyobjloader_splits_them() {
    let file = read_with(
        "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nv -0.5 0.5 0\nvn 0 0 1\n\
         f 1//1 2//1 3//1 4//1\nf 1//1 2//1 3//1 4//1 5//1\nf 1//1 2//1\n",
        &[],
    )
    .unwrap();
    let vertices: Vec<[i32; 3]> = (file.triangles.iter())
        .map(|t| t.corners.map(|c| c.vertex))
        .collect();
    // The square's diagonals are equal: (0 1 3) (1 2 3). The pentagon clips from corner 0;
    // the two-corner face is skipped.
    assert_eq!(&vertices[..2], [[0, 1, 3], [1, 2, 3]]);
    assert_eq!(vertices.len(), 2 + 3);
}

#[test]
fn materials_come_from_the_libraries_the_file_names() {
    let libraries = [
        (
            "my lib.mtl",
            "newmtl red\nKd 1 0 0\nnewmtl blue\nKd 0 0 1\n",
        ),
        ("second.mtl", "newmtl green\nKd 0 1 0\n"),
    ];
    let file = read_with(
        "mtllib missing.mtl my\\ lib.mtl second.mtl\nmtllib second.mtl\n\
         v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 0 0 1\n\
         f 1//1 2//1 3//1\nusemtl blue\nf 1//1 2//1 3//1\nusemtl nowhere\nf 1//1 2//1 3//1\n\
         usemtl green\nf 1//1 2//1 3//1\n",
        &libraries,
    )
    .unwrap();
    let materials: Vec<Option<&str>> = (file.triangles.iter())
        .map(|t| t.material.map(|m| file.materials[m].name.as_str()))
        .collect();
    // Of the first line's names, the first that loads is used (and `second.mtl` then by the
    // second line).
    assert_eq!(materials, [None, Some("blue"), None, Some("green")]);
}

#[test]
fn bad_indices_are_errors_that_name_the_line_or_the_index() {
    let error = |text: &str| read_with(text, &[]).unwrap_err().to_string();
    let zero = error("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n");
    assert!(
        zero.contains("test.obj") && zero.contains("line 4"),
        "{zero}"
    );
    let before_first = error("v 0 0 0\nf -2 1 1\n");
    assert!(before_first.contains("line 2"), "{before_first}");
    let past_end = error("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n");
    assert!(
        past_end.contains("vertex 9 but the file has 3"),
        "{past_end}"
    );
    let normal = error("v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 0 0 1\nf 1//1 2//1 3//2\n");
    assert!(normal.contains("normal 2 but the file has 1"), "{normal}");
    let line = error("v 0 0 0\nl 1 0\n");
    assert!(line.contains("`l' line"), "{line}");
}

/// Forward references are fine once the file has the element.
#[test]
fn faces_may_refer_to_vertices_defined_later() {
    let file = read_with(
        "vn 0 0 1\nf 1//1 2//1 3//1\nv 0 0 0\nv 1 0 0\nv 0 1 0\n",
        &[],
    )
    .unwrap();
    assert_eq!(file.triangles.len(), 1);
}

/// A Convex reads without materials: `mtllib` is never asked for.
#[test]
fn reading_for_vertices_only_asks_for_no_library() {
    let mut asked = false;
    let mut library = |_: &str| {
        asked = true;
        None
    };
    let mut admit = |_: u64, _: u64| Ok(());
    let file = read(
        b"mtllib a.mtl\nusemtl x\nv 1 2 3\nv 4 5 6\n",
        &mut ReadContext {
            name: "c.obj",
            materials: false,
            library: &mut library,
            admit: &mut admit,
        },
    )
    .unwrap();
    assert_eq!(file.vertices.len(), 2);
    assert!(!asked);
}

/// The limit callback sees triangles and bytes grow and its refusal ends the read.
#[test]
fn the_admit_callback_bounds_the_read() {
    let mut library = |_: &str| None;
    let mut admit = |triangles: u64, _: u64| {
        if triangles > 1 {
            Err(SceneError::invalid("test.obj", "too many"))
        } else {
            Ok(())
        }
    };
    let error = read(
        b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nf 1 2 3 4\n",
        &mut ReadContext {
            name: "test.obj",
            materials: true,
            library: &mut library,
            admit: &mut admit,
        },
    )
    .unwrap_err();
    assert!(error.to_string().contains("too many"));
}
