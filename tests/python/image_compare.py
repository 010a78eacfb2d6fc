"""How an image of ours is compared with RenderEngineVtk's: the one comparison the conformance
tests, the looks tests, `make gallery` and the docs' numbers share.

Drake's limits (issue #3): color — at most 5% of channel values differ by more than 20; depth — at
most 2% of pixels differ by more than 1 mm (both non-finite counts as equal); label — at most 1% of
pixels differ.
"""

import os
from pathlib import Path

import numpy as np
from PIL import Image

K_EMPTY, K_DONT_CARE = 32766, 32764
LIMITS = {"color": 0.05, "depth": 0.02, "label": 0.01}
COLOR_TOLERANCE = 20
SAVE_DIR = os.environ.get("CONFORMANCE_SAVE_DIR")


def differing_fraction(image_type: str, ours: np.ndarray, vtk: np.ndarray, exact_labels: bool = False) -> float:
    """The fraction of values (color: channel values; depth, label: pixels) that count as different.
    `exact_labels`: the background must be kEmpty, as RenderEngineVtk's (the scene API answers
    Drake's label buffer); otherwise a glTF server's white background (kDontCare) counts as kEmpty."""
    if ours.shape != vtk.shape:
        raise ValueError(f"{image_type}: shape {ours.shape} != {vtk.shape}")
    if image_type == "color":
        return float(np.mean(np.abs(ours.astype(int) - vtk.astype(int)) > COLOR_TOLERANCE))
    if image_type == "depth":
        both_infinite = ~np.isfinite(ours) & ~np.isfinite(vtk)
        with np.errstate(invalid="ignore"):
            close = np.abs(ours - vtk) <= 0.001
        return float(np.mean(~(close | both_infinite)))
    if not exact_labels:
        # RenderEngineVtk reports the background as kEmpty; a glTF server's white means kDontCare.
        vtk = np.where(vtk == K_EMPTY, K_DONT_CARE, vtk)
    return float(np.mean(ours != vtk))


def color_difference_image(ours: np.ndarray, vtk: np.ndarray, gain: int = 4) -> np.ndarray:
    """|ours − vtk| per channel × gain (RGB, 8 bit), with values off by more than the tolerance
    marked pure magenta: what a person looks at to see where the two disagree."""
    delta = np.abs(ours[..., :3].astype(int) - vtk[..., :3].astype(int))
    picture = np.clip(delta * gain, 0, 255).astype(np.uint8)
    picture[(delta > COLOR_TOLERANCE).any(axis=-1)] = (255, 0, 255)
    return picture


def save_pair(name: str, image_type: str, ours: np.ndarray, vtk: np.ndarray) -> None:
    """For people debugging a mismatch: CONFORMANCE_SAVE_DIR=out/conformance make test-python."""
    directory = Path(SAVE_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    for who, image in (("ours", ours), ("vtk", vtk)):
        if image_type == "color":
            Image.fromarray(image.astype(np.uint8)).save(directory / f"{name}-color-{who}.png")
        else:
            values = image[..., 0].astype(float)
            values[~np.isfinite(values)] = 0
            scale = values.max() or 1.0
            Image.fromarray((values / scale * 255).astype(np.uint8)).save(directory / f"{name}-{image_type}-{who}.png")


def mean_color_difference(ours: np.ndarray, vtk: np.ndarray) -> float:
    """Mean |ours − vtk| over the RGB values: sensitive to a look-wide shift too small for the
    > 20 count (SSAO darkens a lit plane by 5–10 levels)."""
    return float(np.mean(np.abs(ours[..., :3].astype(int) - vtk[..., :3].astype(int))))


def compare_all(name: str, render, camera, limits: dict, ours_renderer: str = "gltf", exact_labels: bool = False) -> list[str]:
    """Renders color, depth and label with both engines (`render(renderer, image_type, camera)`,
    with renderer `ours_renderer` and "vtk"), prints each measured fraction against its limit, and
    returns the failures' descriptions. `limits` has a fraction per image type and optionally
    `color_mean`, a bound on mean_color_difference; `exact_labels` as in differing_fraction."""
    failures = []
    for image_type in ("color", "depth", "label"):
        ours = render(ours_renderer, image_type, camera)
        vtk = render("vtk", image_type, camera)
        fraction = differing_fraction(image_type, ours, vtk, exact_labels)
        limit = limits[image_type]
        verdict = "ok" if fraction <= limit else "FAIL"
        print(f"\n  {name:40} {image_type:5} differing {fraction:7.3%} (limit {limit:.1%}) {verdict}", end="")
        if image_type == "color":
            mean = mean_color_difference(ours, vtk)
            mean_limit = limits.get("color_mean")
            print(f"; mean |diff| {mean:.2f}", end="")
            if mean_limit is not None:
                print(f" (limit {mean_limit:.2f}) {'ok' if mean <= mean_limit else 'FAIL'}", end="")
                if mean > mean_limit:
                    failures.append(f"color: mean |diff| {mean:.2f} > {mean_limit:.2f}")
        if SAVE_DIR:
            save_pair(name, image_type, ours, vtk)
        if verdict != "ok":
            failures.append(f"{image_type}: {fraction:.3%} differing > {limit:.1%}")
    return failures
