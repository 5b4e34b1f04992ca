from vortex.cli import entry

entry()
