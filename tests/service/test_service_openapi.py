"""The committed OpenAPI document is the one the code generates, and the live server keeps it."""

from __future__ import annotations

from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_matches_the_code():
    from vortex.service.openapi import openapi_text

    assert DOC.read_text() == openapi_text(), "regenerate: python -m vortex.service.openapi > docs/openapi.json"


@pytest.mark.slow
def test_contract_holds_under_generated_requests(start_server):
    """Schemathesis: generated requests for every operation (a bounded number each); the server
    never answers 5xx, and status codes, content types and bodies match the document."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    # a queue of one and a one-second deadline: generated recipes that are valid cost little
    srv = start_server("--max-queue", "1", "--slot-deadline", "1", "--max-slot-seconds", "2").wait_ready()
    schema = schemathesis.openapi.from_path(str(DOC))
    failures = []
    for operation in schema.get_all_operations():
        op = operation.ok()

        @given(op.as_strategy())
        @settings(
            max_examples=8, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
        )
        def check(case):
            response = case.call(base_url=srv.url, timeout=30)
            case.validate_response(
                response,
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - every operation is tried; failures are reported together
            failures.append(f"{op.method.upper()} {op.path}: {exc}")
    assert srv.process.poll() is None, srv.log
    assert not failures, "\n\n".join(failures)
