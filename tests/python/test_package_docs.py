"""The gltf_cloud package's examples run as written: the doctests of its modules, and the examples
in `gltf_cloud.client`'s and `gltf_cloud.drake`'s docstrings and in python/README.md ("For Drake
users") against a scene API server, with its URL in place of the documented one."""

import doctest
import re
import textwrap
from pathlib import Path

import pytest

import gltf_cloud.client
import gltf_cloud.drake
from gltf_cloud import assets, wire

README = Path(__file__).resolve().parents[2] / "python" / "README.md"
DOCUMENTED_URL = "http://127.0.0.1:8000"


@pytest.mark.parametrize("module", [wire, assets], ids=lambda m: m.__name__)
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def indented_example(docstring: str) -> str:
    """The first block of lines indented by four spaces (after a blank line) in a docstring."""
    block = re.search(r"\n\n((?:    .*\n|\n)+)", docstring).group(1)
    return textwrap.dedent(block)


def run(code: str, url: str, capsys) -> str:
    assert DOCUMENTED_URL in code
    exec(compile(code.replace(DOCUMENTED_URL, url), "example", "exec"), {})
    return capsys.readouterr().out


def test_client_example(scene_api_server, capsys):
    run(indented_example(gltf_cloud.client.__doc__), scene_api_server, capsys)


def test_drake_example(scene_api_server, capsys):
    assert "(480, 640, 4)" in run(indented_example(gltf_cloud.drake.__doc__), scene_api_server, capsys)


def test_readme_example_matches_render_engine_vtk(scene_api_server, capsys):
    code = re.search(r"python3 - <<'EOF'\n(.*?)\nEOF\n", README.read_text(), re.S).group(1)
    printed = run(code, scene_api_server, capsys)
    fraction = float(printed.rsplit(":", 1)[1])
    print(f"\n  README example: {fraction:.3%} of colour values off by > 20 (limit 5%)", end="")
    assert fraction <= 0.05
