"""Property-based API fuzzing: no client input may produce a server error.

schemathesis generates requests from the app's own OpenAPI schema (random
multipart uploads, query values, ids, headers); every response must be < 500
and every error must be problem+json.
"""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from diarize_service.app import create_app


def test_no_input_causes_a_server_error(settings, processor):
    app = create_app(settings, processor=processor)
    with TestClient(app):  # runs the lifespan: store, runner
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 7
        for operation in operations:

            @given(case=operation.as_strategy())
            @hypothesis_settings(
                max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
            )
            def check(case):
                response = case.call()
                assert response.status_code < 500, (case.method, case.path, response.text)
                if response.status_code >= 400:
                    content_type = response.headers["content-type"]
                    assert "application/problem+json" in str(content_type), response.text

            check()
