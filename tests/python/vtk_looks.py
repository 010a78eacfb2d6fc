"""The RenderEngineVtkParams sets the looks conformance test, `make gallery` and `make bench` share.

Each set is a Drake user's own parameters: RenderEngineVtk gets them in-process, our render server
gets the very same ones as the YAML pydrake writes (`yaml_dump_typed`) through `--vtk-params FILE`.
`color_limit` is the fraction of colour values allowed to differ by more than 20 (Drake's limit,
5%, where the look is reproduced formula by formula; a measured bound, with its reason in `why`,
where VTK's result depends on sampling we do not copy bit for bit). `color_mean_limit` bounds the
mean |difference| where the > 20 count cannot see the feature (SSAO's few levels of darkening).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image
from pydrake.common.yaml import yaml_dump_typed
from pydrake.geometry import (
    Box,
    EnvironmentMap,
    EquirectangularMap,
    LightParameter,
    Mesh,
    RenderEngineVtkParams,
    Rgba,
    SsaoParameter,
)

from drake_scenes import at, primitives, props, write_gltf
from image_compare import LIMITS

DRAKE_COLOR_LIMIT = 0.05


def light(kind: str, frame: str = "world", **fields) -> LightParameter:
    """A LightParameter; `color` as an (r, g, b) tuple."""
    color = fields.pop("color", (1.0, 1.0, 1.0))
    return LightParameter(type=kind, frame=frame, color=Rgba(*color, 1.0), **fields)


# Four lights of every kind and both frames, aimed at the primitives scene (objects within ±0.3 m).
MIXED_LIGHTS = [
    light("directional", direction=[-0.4, -0.3, -1.0], intensity=0.55, color=(1.0, 0.9, 0.8)),
    light("point", position=[0.3, -0.3, 0.45], attenuation_values=[1.0, 0.0, 2.0], intensity=0.6, color=(0.6, 0.8, 1.0)),
    light("spot", position=[-0.3, 0.3, 0.8], direction=[0.2, -0.2, -0.8], cone_angle=25.0, intensity=0.9,
          attenuation_values=[1.0, 0.0, 0.0], color=(1.0, 0.6, 0.6)),
    light("directional", frame="camera", direction=[0.0, 0.0, 1.0], intensity=0.35),
]

# A sun 33° above the horizon: long shadows, and surfaces it cannot reach are black under PBR.
LOW_SUN = light("directional", direction=[0.5, -0.8, -0.55], intensity=1.2, color=(1.0, 0.95, 0.85))


def sky(width: int, height: int) -> np.ndarray:
    """Linear radiance of a small outdoor environment (RGB float, rows top = up), laid out as
    RenderEngineVtk reads an equirectangular map: column u looks along azimuth (0.5 − u)·2π from
    +x_W, row v (0 = top of the file) at elevation (0.5 − (v + 0.5)/height)·π."""
    u = (np.arange(width) + 0.5) / width
    v = (np.arange(height) + 0.5) / height
    azimuth = (0.5 - u)[None, :] * 2 * np.pi
    elevation = (0.5 - v)[:, None] * np.pi
    d = np.stack(np.broadcast_arrays(np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth),
                                     np.sin(elevation) + 0 * azimuth), axis=-1)
    up = np.clip(d[..., 2:3], 0, 1)
    radiance = np.where(d[..., 2:3] > 0, (1 - up) * [0.9, 0.85, 0.8] + up * [0.35, 0.5, 0.9], [0.3, 0.25, 0.2])
    sun = np.array([0.5, -0.4, 0.77]) / np.linalg.norm([0.5, -0.4, 0.77])
    lobe = np.exp((d @ sun - 1) / 0.08)[..., None]
    return (radiance + 2.0 * lobe * [1.0, 0.95, 0.85]).astype(np.float32)


def write_hdr(path: Path, radiance: np.ndarray) -> Path:
    """Radiance RGBE (flat scanlines, `-Y H +X W`), as VTK's vtkHDRReader reads it."""
    height, width, _ = radiance.shape
    peak = radiance.max(axis=-1)
    exponent = np.where(peak > 1e-32, np.floor(np.log2(np.maximum(peak, 1e-32))) + 1, -128)
    scale = np.ldexp(1.0, (-exponent + 8).astype(int))[..., None]
    mantissa = np.where(peak[..., None] > 1e-32, np.floor(radiance * scale), 0)
    rgbe = np.concatenate([mantissa, (exponent + 128)[..., None]], axis=-1).clip(0, 255).astype(np.uint8)
    header = f"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y {height} +X {width}\n".encode()
    path.write_bytes(header + rgbe.tobytes())
    return path


def write_png(path: Path, radiance: np.ndarray) -> Path:
    """The same environment as an 8-bit PNG (VTK raises it to the power 2.2 when it lights)."""
    Image.fromarray((np.clip(radiance, 0, 1) ** (1 / 2.2) * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def primitives_and_unpainted(tmp):
    """The primitives scene plus a box with no diffuse colour (it shows `default_diffuse`)."""
    return primitives(tmp) + [("unpainted", Box(0.12, 0.12, 0.06), at(0.3, -0.05, 0.03, yaw=0.2), props(label=60))]


def primitives_and_gltf(tmp):
    """The primitives scene plus a user glTF mesh with its own PBR material (metallic 0,
    roughness 1): under PBR, VTK-exported primitives and user materials are shaded differently.
    The wedge floats 2 mm above the ground: its bottom face on the ground's top would z-fight,
    which decides pixels by rasteriser rounding, not by the look."""
    wedge = Mesh(str(write_gltf(tmp / "wedge.gltf")))
    return primitives(tmp) + [("gltf_wedge", wedge, at(0.3, -0.1, 0.002, yaw=0.6), props(label=22))]


@dataclass(frozen=True)
class LookSet:
    name: str
    what: str  # one line: what the set turns on (docs/looks.md, the gallery)
    params: Callable[[Path], RenderEngineVtkParams]  # tmp folder: where generated maps go
    scene: Callable[[Path], list]
    color_limit: float = DRAKE_COLOR_LIMIT
    color_mean_limit: float | None = None  # bound on the mean |difference| (image_compare)
    why: str = ""  # where color_limit is not Drake's: what remains and why

    def limits(self) -> dict:
        """This set's pass criteria for image_compare.compare_all."""
        extra = {} if self.color_mean_limit is None else {"color_mean": self.color_mean_limit}
        return {**LIMITS, "color": self.color_limit, **extra}


def _hdr_map(tmp: Path) -> str:
    return str(write_hdr(tmp / "sky.hdr", sky(64, 32)))


def _png_map(tmp: Path) -> str:
    return str(write_png(tmp / "sky.png", sky(32, 16)))


LOOKS = [
    LookSet("default", "Drake's defaults, written out as a file (the look without `--vtk-params`)",
            lambda tmp: RenderEngineVtkParams(), primitives_and_unpainted),
    LookSet("lights", "world directional + point + spot and a camera light (Phong), clear colour, default diffuse",
            lambda tmp: RenderEngineVtkParams(lights=MIXED_LIGHTS, default_clear_color=[0.25, 0.3, 0.35],
                                              default_diffuse=[0.7, 0.7, 0.2, 1.0]),
            primitives_and_unpainted),
    LookSet("pbr", "`force_to_pbr` with the four lights, primitives and a user glTF material",
            lambda tmp: RenderEngineVtkParams(lights=MIXED_LIGHTS, force_to_pbr=True), primitives_and_gltf),
    LookSet("pbr-shadows", "`force_to_pbr`, `cast_shadows` (map 512): a low world directional light and a spot",
            lambda tmp: RenderEngineVtkParams(lights=[LOW_SUN, MIXED_LIGHTS[2]], force_to_pbr=True, cast_shadows=True,
                                              shadow_map_size=512),
            primitives_and_gltf, color_limit=0.005,
            why="measured 0.002%; the bake culls a single-sided glTF mesh's faces as the colour pass does "
                "(VTK's BackfaceCullingOn holds in every pass), which the inside-out user glTF wedge shows: "
                "baking every face made 0.8% differ; with no shadow pass at all 4.7% differ"),
    LookSet("exposure-phong", "`exposure: 1.6` over Phong lights summing above 1 (HDR kept before tone mapping)",
            lambda tmp: RenderEngineVtkParams(lights=[MIXED_LIGHTS[0], light("directional", frame="camera",
                                                                               direction=[0, 0, 1], intensity=1.2)],
                                              exposure=1.6),
            primitives_and_unpainted),
    LookSet("exposure-pbr", "`force_to_pbr` and `exposure: 0.8` with Drake's default camera light",
            lambda tmp: RenderEngineVtkParams(force_to_pbr=True, exposure=0.8), primitives_and_gltf),
    LookSet("environment-hdr", "a 64×32 HDR sky (spherical-harmonics irradiance, prefiltered specular), skybox, no lights",
            lambda tmp: RenderEngineVtkParams(environment_map=EnvironmentMap(
                skybox=True, texture=EquirectangularMap(path=_hdr_map(tmp)))),
            primitives_and_gltf, color_limit=0.01,
            why="measured 0.00% (mean 0.07); VTK's prefiltered cubemap and half-float tables are not "
                "bit-matched, so a margin is kept"),
    LookSet("environment-png", "a 32×16 8-bit PNG sky (irradiance cubemap), no skybox, one directional light",
            lambda tmp: RenderEngineVtkParams(lights=MIXED_LIGHTS[:1], environment_map=EnvironmentMap(
                skybox=False, texture=EquirectangularMap(path=_png_map(tmp)))),
            primitives_and_gltf, color_limit=0.01,
            why="measured 0.00% (mean 0.48); VTK's 8-bit path bakes its irradiance cubemap by brute-force "
                "sampling, ours is not bit-matched, so a margin is kept"),
    LookSet("ssao", "Drake's default light with `ssao` at its defaults (radius 0.25, 128 samples, blur)",
            lambda tmp: RenderEngineVtkParams(ssao=SsaoParameter()), primitives_and_unpainted, color_mean_limit=2.2,
            why="SSAO darkens by 5-10 levels, under the > 20 count, so the mean |difference| is bounded: measured "
                "1.80, 3.67 with no SSAO; per-pixel noise remains (VTK's blue-noise JPEG rotation and half-float "
                "position mips are not reproduced sample for sample)"),
]


def write_params(params: RenderEngineVtkParams, path: Path) -> Path:
    """The file a Drake user hands to `render-server --vtk-params`."""
    path.write_text(yaml_dump_typed(params))
    return path
