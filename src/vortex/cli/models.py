"""``vortex models list|download|verify``: manage the official weights of the production backends."""

from __future__ import annotations

import argparse

from vortex.errors import InvalidInputError, MissingResourceError, ModelIntegrityError

EPILOG = """\
examples:
  vortex models list                          which files each backend needs, present or missing
  vortex models download kokoro               fetch Kokoro-82M and its English voices (~340 MB)
  vortex models download flux-schnell        FLUX.1-schnell in diffusers layout (~34 GB)
  vortex models download all --required-only
  vortex models verify                        check sizes, formats and sha256 of present files
  vortex models list --models-dir /data/vortex-models

The models directory is --models-dir, else $VORTEX_MODELS_DIR, else ~/.cache/vortex/models.
Each backend has its own folder there (kokoro/, flux-schnell/, liveportrait/). Without
internet, `download` names every file, its URL and the path to copy it to.
"""


def register(subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "models",
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="list, download and verify official model weights",
        description="List, download and verify the official weights used by the production backends\n"
        "(Kokoro-82M PyTorch + English voices, FLUX.1-schnell, LivePortrait).",
        epilog=EPILOG,
    )
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION")
    for name, help_text in (
        ("list", "each backend, its files, sizes, present or missing"),
        ("download", "fetch missing files from the Hugging Face hub"),
        ("verify", "check present files: size, format, sha256"),
    ):
        sub = actions.add_parser(
            name, parents=[common], help=help_text, description=help_text,
            formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        )
        sub.add_argument("backends", nargs="*", metavar="BACKEND", help="kokoro, flux-schnell, liveportrait (default: all)")
        sub.add_argument("--models-dir", metavar="D", help="models directory (default: $VORTEX_MODELS_DIR or the user cache)")
        if name == "download":
            sub.add_argument("--required-only", action="store_true", help="skip optional files (extra voices)")
        if name == "verify":
            sub.add_argument("--no-hash", action="store_true", help="skip sha256 (fast: sizes and formats only)")
        sub.set_defaults(func=globals()[f"_{name}"])
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _selected(args):
    from vortex.models import BACKENDS, get_backend

    return [get_backend(n) for n in args.backends] if args.backends else list(BACKENDS.values())


def _size(n: int | None, approx: bool = False) -> str:
    if n is None:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{'~' if approx else ''}{n / scale:.1f} {unit}"
    return f"{'~' if approx else ''}{n} B"


def _list(args) -> int:
    from vortex.models import backend_dir, file_statuses

    for backend in _selected(args):
        statuses = file_statuses(backend, args.models_dir)
        missing = [s for s in statuses if s.file.required and not s.present]
        state = "ready" if not missing else f"{len(missing)} required file(s) missing"
        print(f"{backend.name} [{backend.stage}] {backend.title}")
        print(f"  hub: {backend.repo_id}   license: {backend.license}")
        print(f"  dir: {backend_dir(backend, args.models_dir)}   {state}")
        if backend.note:
            print(f"  {backend.note}")
        for s in statuses:
            size = _size(s.size) if s.present else _size(s.file.approx_bytes, approx=True)
            kind = "" if s.file.required else " (optional)"
            print(f"    {'present' if s.present else 'missing':8} {size:>10}  {s.file.local_path}{kind}")
    from vortex.backends import select_actor_backend, select_animator_backend, select_speech_backend

    print("best available backend per stage (what automatic selection picks here):")
    for select in (select_speech_backend, select_actor_backend, select_animator_backend):
        print(f"  {select(None, args.models_dir)}")
    return 0


def _download(args) -> int:
    from vortex.models import BACKENDS, download, file_statuses

    if not args.backends:
        sizes = ", ".join(f"{b.name} ({_size(sum(f.approx_bytes for f in b.files), approx=True)})" for b in BACKENDS.values())
        raise InvalidInputError(f"name what to download: {sizes}, or 'all'")
    if args.backends == ["all"]:
        args.backends = []
    progress = None if args.quiet else print
    failures: list[str] = []
    for backend in _selected(args):
        todo = [s for s in file_statuses(backend, args.models_dir)
                if not s.present and (s.file.required or not args.required_only)]
        if not todo:
            if progress:
                progress(f"{backend.name}: all files present")
            continue
        if progress:
            total = sum(s.file.approx_bytes for s in todo)
            progress(f"{backend.name}: downloading {len(todo)} file(s), {_size(total, approx=True)}")
        try:
            done = download(
                backend, args.models_dir, include_optional=not args.required_only,
                on_file=(lambda f, p: progress(f"  {f.local_path} -> {p}")) if progress else None,
            )
        except MissingResourceError as exc:  # offline: try the others, then report all at once
            failures.append(str(exc))
            continue
        if progress:
            progress(f"{backend.name}: {len(done)} file(s) downloaded")
    if failures:
        raise MissingResourceError("\n".join(failures))
    return 0


def _verify(args) -> int:
    from vortex.models import verify

    bad = 0
    for backend in _selected(args):
        results = verify(backend, args.models_dir, hashes=not args.no_hash)
        present = [r for r in results if r.state != "missing"]
        failed = [r for r in present if not r.ok]
        bad += len(failed)
        missing_required = sum(1 for r in results if r.state == "missing" and r.status.file.required)
        print(f"{backend.name}: {len(present) - len(failed)}/{len(present)} present file(s) ok, "
              f"{missing_required} required file(s) missing")
        for r in present:
            if not args.quiet or not r.ok:
                print(f"    {r.state:14} {r.status.file.local_path}: {r.detail}")
    if bad:
        raise ModelIntegrityError(f"{bad} model file(s) failed verification; delete them and run `vortex models download`")
    return 0
