"""The import direction between the speech stage and the models registry.

Data flows one way (recipe -> speech/actor -> motion -> animator -> media); the models registry
lists, fetches and checks official files. The Kokoro voice tables are speech's and the registry
reads them to list the voice files; a speech backend reaches the registry only through
``vortex.models`` when it loads (as the flux actor does), never at import. Checked on the source
with ``ast``, so a new module-level import fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import vortex

SRC = Path(vortex.__file__).parent


def module_level_imports(path: Path) -> set[str]:
    """The modules ``path`` imports at its top level (not inside functions)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_speech_module_imports_the_models_registry_at_import():
    offenders = {path.name: sorted(n for n in module_level_imports(path) if n.startswith("vortex.models"))
                 for path in sorted((SRC / "speech").glob("*.py"))}
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_the_registry_lists_the_voice_files_speech_knows():
    from vortex.models import get_backend
    from vortex.speech.voices import ENGLISH_FOR_PACK, KOKORO_ENGLISH_VOICES

    files = {f.local_path: f.required for f in get_backend("kokoro").files if f.local_path.startswith("voices/")}
    assert set(files) == {f"voices/{v}.pt" for v in KOKORO_ENGLISH_VOICES}
    assert {path for path, required in files.items() if required} == {f"voices/{v}.pt" for v in ENGLISH_FOR_PACK.values()}
    assert not any(n.startswith("vortex.animators") for n in module_level_imports(SRC / "models" / "registry.py"))
