import sys

from vortex.cli import main

sys.exit(main())
