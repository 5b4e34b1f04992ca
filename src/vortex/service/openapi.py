"""Print the service's OpenAPI document (``python -m vortex.service.openapi > docs/openapi.json``).

It is generated from the routes and the recipe schema in the code; a test keeps the committed
copy in sync.
"""

from __future__ import annotations

import json


def openapi_text() -> str:
    from vortex.service.app import create_app

    return json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(openapi_text())
