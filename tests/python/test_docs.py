"""The Python snippets of docs/render-server.md run as pasted, against a real render server; and
every document the code cites is in the repository.

Only the server's address is replaced (the snippets say Drake's default, the test server listens on
a free port); everything else, imports included, is the text a reader copies.
"""

import re
import subprocess
from pathlib import Path

import numpy as np

from render_server_process import server_binary

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "render-server.md"
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


CITED_DOCUMENT = re.compile(r"(?<![\w/.-])(?:docs/(?:upstream/)?)?[\w-]+\.md\b")
CITING_FILES = {".rs", ".wgsl", ".py", ".md"}
GONE = ("drake-gltf-protocol", "webots-cloud-protocol", "vtk-looks")


def cited_documents() -> dict[str, set[str]]:
    """Each document of this repository cited by the code, tests and docs (`docs/x.md`,
    `docs/upstream/x.md`, or a bare `x.md`), with the files citing it. The notes under
    docs/upstream/ are left out: they cite Drake's, VTK's and Webots' own files."""
    cited: dict[str, set[str]] = {}
    roots = [ROOT / "src", ROOT / "tests", ROOT / "python", ROOT / "docs", ROOT / "README.md"]
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*"):
            relative = str(path.relative_to(ROOT))
            if not path.is_file() or path.suffix not in CITING_FILES:
                continue
            if relative.startswith("docs/upstream/") or path == Path(__file__).resolve():
                continue
            for name in CITED_DOCUMENT.findall(path.read_text(errors="replace")):
                cited.setdefault(name, set()).add(relative)
    return cited


def test_every_cited_document_is_in_the_repository():
    """The facts the code relies on are in the repository: the reference notes that lived outside
    it (Drake's protocol, the Webots servers, RenderEngineVtk's effects) are in docs/upstream/."""
    documents = [p for p in (ROOT / "docs").rglob("*.md")] + [ROOT / "README.md"]
    by_name = {p.name for p in documents}
    by_path = {str(p.relative_to(ROOT)) for p in documents}
    cited = cited_documents()
    missing = {
        name: sorted(citers)
        for name, citers in cited.items()
        if name not in (by_path if "/" in name else by_name)
    }
    assert not missing, missing
    gone = {name: sorted(citers) for name, citers in cited.items() if name.rsplit("/")[-1][:-3] in GONE}
    assert not gone, gone
    assert "docs/upstream/vtk-effects.md" in cited or "vtk-effects.md" in cited
