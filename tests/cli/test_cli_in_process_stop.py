"""``vortex.cli.main`` called inside a long-lived process: a stop signal ends the command, not
the caller's garbage collection.

A stop pauses garbage collection (a full collection of a loaded pipeline took 0.4-0.8 s inside
a 2 s stop) and remembers the signal so the ``vortex`` command can exit without finalizing. A
caller that goes on after ``main`` returned (a notebook, a service wrapping the CLI) must get
both back as they were. Run in a child process so the signal cannot reach pytest.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


CHILD = textwrap.dedent("""
    import gc, json, os, signal, sys, threading, time
    from pathlib import Path
    from vortex import signals
    from vortex.cli import main

    script, out = Path(sys.argv[1]), Path(sys.argv[2])

    def stop_once_handlers_are_in():
        while signals._active is None:   # StopOnSignals sets it after installing its handlers
            time.sleep(0.002)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_once_handlers_are_in, daemon=True).start()
    before = gc.isenabled()
    code = main(["say", "--text-file", str(script), "-o", str(out), "--quiet"])
    print(json.dumps({"code": code, "gc_before": before, "gc_after": gc.isenabled(),
                      "stop_after": signals.stop_received(), "written": out.exists()}))
""")


def test_a_stopped_command_gives_the_caller_its_process_back(tmp_path):
    script = tmp_path / "script.txt"
    script.write_text("The quick brown fox jumps over the lazy dog. " * 200)
    out = tmp_path / "speech.wav"
    child = subprocess.run([sys.executable, "-c", CHILD, str(script), str(out)],
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-2000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["code"] == 143, (result, child.stderr[-2000:])
    assert result["gc_before"] is True
    assert result["gc_after"] is True
    assert result["stop_after"] is None
    assert result["written"] is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["script.txt"]
