"""The Python snippets of docs/render-server.md run as pasted, against a real render server.

Only the server's address is replaced (the snippets say Drake's default, the test server listens on
a free port); everything else, imports included, is the text a reader copies.
"""

import re
import subprocess
from pathlib import Path

import numpy as np

from render_server_process import server_binary

DOC = Path(__file__).resolve().parents[2] / "docs" / "render-server.md"
DEFAULT_URL = "http://127.0.0.1:8000"


def snippets(heading: str) -> list[str]:
    """The ```python blocks of the section under `heading`."""
    text = DOC.read_text()
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return re.findall(r"```python\n(.*?)```", text[start:end], re.S)


def test_the_pydrake_snippet_renders_on_the_server(render_server, tmp_path, monkeypatch, capsys):
    (code,) = snippets("### From pydrake")
    assert DEFAULT_URL in code
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code.replace(DEFAULT_URL, render_server), "render-server.md", "exec"), namespace)
    color = np.array(namespace["color"].data)
    assert color.shape == (480, 640, 4)
    red, green, blue, alpha = (int(v) for v in color[240, 320])
    assert alpha == 255 and red > 100 and red > 3 * green and red > 3 * blue, color[240, 320]
    assert capsys.readouterr().out.startswith("640 480 ["), "it prints what its comment says"


def test_the_look_snippet_writes_a_file_the_server_accepts(tmp_path, monkeypatch):
    (code,) = snippets("## Moving your RenderEngineVtkParams to the server")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "render-server.md", "exec"), {})
    result = subprocess.run(
        [str(server_binary()), "render-server", "--vtk-params", "my_look.yaml", "--check-config"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert '"exposure": 0.8' in result.stdout
