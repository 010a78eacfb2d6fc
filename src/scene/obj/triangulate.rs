//! How tinyobjloader (as Drake builds it: double precision, its own ear clipping rather than
//! earcut) splits a face of more than three corners, so an OBJ's polygons become the triangles
//! RenderEngineVtk draws:
//! - a quad is cut along its shorter diagonal: (0, 1, 2) (0, 2, 3) when |v2 − v0|² < |v3 − v1|²,
//!   else (0, 1, 3) (1, 2, 3);
//! - a larger polygon is projected on the coordinate plane its first corner's normal leans to
//!   least, then ear-clipped starting at corner 0; what the clipping cannot finish is dropped.
//!
//! Triangles are returned as positions in the face's corner list.

/// The triangles of a face whose corners sit at `corners` (one position each, in order).
pub fn triangulate(corners: &[[f64; 3]]) -> Vec<[usize; 3]> {
    match corners.len() {
        0..=2 => Vec::new(),
        3 => vec![[0, 1, 2]],
        4 => quad(corners),
        _ => ear_clip(corners),
    }
}

fn squared_distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    let d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
}

fn quad(c: &[[f64; 3]]) -> Vec<[usize; 3]> {
    if squared_distance(c[0], c[2]) < squared_distance(c[1], c[3]) {
        vec![[0, 1, 2], [0, 2, 3]]
    } else {
        vec![[0, 1, 3], [1, 2, 3]]
    }
}

/// The two coordinate axes tinyobjloader projects on: from the first corner triple (in order)
/// that is not straight, the plane across the largest component of its edge cross product.
fn projection_axes(c: &[[f64; 3]]) -> [usize; 2] {
    let n = c.len();
    for k in 0..n {
        let (v0, v1, v2) = (c[k], c[(k + 1) % n], c[(k + 2) % n]);
        let e0 = [v1[0] - v0[0], v1[1] - v0[1], v1[2] - v0[2]];
        let e1 = [v2[0] - v1[0], v2[1] - v1[1], v2[2] - v1[2]];
        let cx = (e0[1] * e1[2] - e0[2] * e1[1]).abs();
        let cy = (e0[2] * e1[0] - e0[0] * e1[2]).abs();
        let cz = (e0[0] * e1[1] - e0[1] * e1[0]).abs();
        if cx > f64::EPSILON || cy > f64::EPSILON || cz > f64::EPSILON {
            if cx > cy && cx > cz {
                return [1, 2];
            }
            return if cz > cx && cz > cy { [0, 1] } else { [0, 2] };
        }
    }
    [1, 2]
}

/// Whether (x, y) is inside the polygon (W. Randolph Franklin's `pnpoly`, as tinyobjloader has it).
fn inside(xs: &[f64; 3], ys: &[f64; 3], x: f64, y: f64) -> bool {
    let mut inside = false;
    let mut j = 2;
    for i in 0..3 {
        if (ys[i] > y) != (ys[j] > y) && x < (xs[j] - xs[i]) * (y - ys[i]) / (ys[j] - ys[i]) + xs[i]
        {
            inside = !inside;
        }
        j = i;
    }
    inside
}

fn ear_clip(c: &[[f64; 3]]) -> Vec<[usize; 3]> {
    let [ax, ay] = projection_axes(c);
    let mut remaining: Vec<usize> = (0..c.len()).collect();
    let mut triangles = Vec::with_capacity(c.len() - 2);
    let mut guess = 0;
    let mut iterations_left = c.len();
    let mut previous_count = remaining.len();
    while remaining.len() > 3 && iterations_left > 0 {
        let count = remaining.len();
        if guess >= count {
            guess -= count;
        }
        if previous_count != count {
            previous_count = count;
            iterations_left = count;
        } else {
            iterations_left -= 1;
        }
        let ear: [usize; 3] = std::array::from_fn(|k| remaining[(guess + k) % count]);
        let xs = ear.map(|i| c[i][ax]);
        let ys = ear.map(|i| c[i][ay]);
        let cross = (xs[1] - xs[0]) * (ys[2] - ys[1]) - (ys[1] - ys[0]) * (xs[2] - xs[1]);
        // tinyobjloader's "area" is the first edge's cross product with the origin.
        let area = (xs[0] * ys[1] - ys[0] * xs[1]) * 0.5;
        if cross * area < 0.0 {
            guess += 1;
            continue;
        }
        let overlaps = (3..count)
            .map(|other| remaining[(guess + other) % count])
            .any(|i| inside(&xs, &ys, c[i][ax], c[i][ay]));
        if overlaps {
            guess += 1;
            continue;
        }
        triangles.push(ear);
        remaining.remove((guess + 1) % count);
    }
    if let [a, b, c] = remaining[..] {
        triangles.push([a, b, c]);
    }
    triangles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quads_split_along_the_shorter_diagonal() {
        // v1–v3 is the shorter diagonal here.
        let kite = [
            [0.0, 0.0, 0.0],
            [1.0, -0.2, 0.0],
            [3.0, 0.0, 0.0],
            [1.0, 0.2, 0.0],
        ];
        assert_eq!(triangulate(&kite), [[0, 1, 3], [1, 2, 3]]);
        let other = [
            [1.0, -0.2, 0.0],
            [3.0, 0.0, 0.0],
            [1.0, 0.2, 0.0],
            [0.0, 0.0, 0.0],
        ];
        assert_eq!(triangulate(&other), [[0, 1, 2], [0, 2, 3]]);
        // A square's diagonals are equal: the second split.
        let square = [
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],
        ];
        assert_eq!(triangulate(&square), [[0, 1, 3], [1, 2, 3]]);
    }

    /// A convex pentagon clips ears from corner 0 on: (0 1 2), (0 2 3), then the rest.
    #[test]
    fn convex_polygons_clip_from_the_first_corner() {
        let pentagon: Vec<[f64; 3]> = (0..5)
            .map(|i| {
                let a = f64::from(i) * std::f64::consts::TAU / 5.0;
                [a.cos() + 2.0, a.sin() + 2.0, 0.0]
            })
            .collect();
        assert_eq!(triangulate(&pentagon), [[0, 1, 2], [0, 2, 3], [0, 3, 4]]);
    }

    /// An L-shaped hexagon in the x-z plane: every corner appears, the reflex one is never an
    /// ear's tip, and the triangles cover the L's area.
    #[test]
    fn concave_polygons_skip_reflex_corners() {
        let l = [
            [1.0, 0.0, 1.0],
            [3.0, 0.0, 1.0],
            [3.0, 0.0, 2.0],
            [2.0, 0.0, 2.0],
            [2.0, 0.0, 3.0],
            [1.0, 0.0, 3.0],
        ];
        let triangles = triangulate(&l);
        assert_eq!(triangles.len(), 4);
        let area: f64 = triangles
            .iter()
            .map(|t| {
                let [a, b, c] = t.map(|i| [l[i][0], l[i][2]]);
                ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])).abs() / 2.0
            })
            .sum();
        assert!((area - 3.0).abs() < 1e-12, "{area}: {triangles:?}");
    }
}
