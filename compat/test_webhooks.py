"""MLflow 3's webhook API through the real client: create, list, get, update, test, delete, and a
delivery caused by a registry change, checked with the HMAC signature MLflow defines."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from _support import MLFLOW_MAJOR, error_code, unique_name
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.skipif(MLFLOW_MAJOR < 3, reason="webhooks exist only in the MLflow 3 client")

# The upstream reference server (COMPAT_SERVER=mlflow) accepts only public https receivers by
# default; these tests use a plain-http receiver on 127.0.0.1. Collection imports this module
# before the session's server starts, so the server inherits these. Trove allows http by default.
os.environ.setdefault("MLFLOW_WEBHOOK_ALLOWED_SCHEMES", "http,https")
os.environ.setdefault("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS", "true")

SECRET = "compat-webhook-secret"


class Receiver:
    """A local HTTP receiver that records every request."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server API)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                with receiver.lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                    )
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"received")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, predicate, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [r for r in self.requests if predicate(r)]
            if found:
                return found
            time.sleep(0.05)
        pytest.fail(f"no matching webhook request within {timeout}s; got {self.requests!r}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.close()


def expected_signature(secret: str, delivery_id: str, timestamp: str, body: str) -> str:
    """MLflow's `_generate_hmac_signature`: v1,<base64(HMAC-SHA256(secret, id.timestamp.body))>."""
    digest = hmac.new(secret.encode(), f"{delivery_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def assert_signed(request: dict, secret: str) -> None:
    headers = request["headers"]
    assert headers["content-type"] == "application/json"
    delivery_id = headers["x-mlflow-delivery-id"]
    timestamp = headers["x-mlflow-timestamp"]
    assert timestamp.isdigit()
    assert headers["x-mlflow-signature"] == expected_signature(secret, delivery_id, timestamp, request["body"])


def test_webhook_lifecycle_through_the_client(receiver):
    from mlflow.entities.webhook import WebhookEvent, WebhookStatus

    client = MlflowClient()
    name = unique_name("hook")
    url = f"{receiver.url}/lifecycle"
    created = client.create_webhook(
        name=name,
        url=url,
        events=["model_version.created", "model_version_alias.created"],
        description="compat webhook",
        secret=SECRET,
    )
    assert created.webhook_id
    assert created.name == name
    assert created.url == url
    assert created.description == "compat webhook"
    assert created.status == WebhookStatus.ACTIVE
    assert set(created.events) == {
        WebhookEvent("model_version", "created"),
        WebhookEvent("model_version_alias", "created"),
    }
    assert created.secret is None, "the secret never comes back"
    assert created.creation_timestamp > 0
    assert created.last_updated_timestamp == created.creation_timestamp

    fetched = client.get_webhook(created.webhook_id)
    assert fetched.webhook_id == created.webhook_id
    assert set(fetched.events) == set(created.events)

    listed = client.list_webhooks(max_results=1000)
    assert created.webhook_id in [w.webhook_id for w in listed]

    updated = client.update_webhook(
        created.webhook_id,
        name=f"{name}-renamed",
        events=["registered_model.created"],
        status="DISABLED",
    )
    assert updated.name == f"{name}-renamed"
    assert updated.status == WebhookStatus.DISABLED
    assert updated.events == [WebhookEvent("registered_model", "created")]
    assert updated.description == "compat webhook"
    assert updated.last_updated_timestamp >= created.last_updated_timestamp

    result = client.test_webhook(created.webhook_id)
    assert result.success is True
    assert result.response_status == 200
    assert result.response_body == "received"
    assert result.error_message is None
    [request] = receiver.wait_for(lambda r: r["path"] == "/lifecycle")
    assert_signed(request, SECRET)
    payload = json.loads(request["body"])
    assert (payload["entity"], payload["action"]) == ("registered_model", "created")
    assert payload["data"]["name"] == "example_model"

    tag_result = client.test_webhook(created.webhook_id, event=WebhookEvent("model_version_tag", "set"))
    assert tag_result.success is True

    client.delete_webhook(created.webhook_id)
    with pytest.raises(Exception) as info:
        client.get_webhook(created.webhook_id)
    assert error_code(info.value) == "RESOURCE_DOES_NOT_EXIST"
    assert created.webhook_id not in [w.webhook_id for w in client.list_webhooks(max_results=1000)]


def test_invalid_webhooks_are_refused(receiver):
    client = MlflowClient()
    with pytest.raises(Exception) as info:
        client.create_webhook(name=unique_name("bad"), url="ftp://example.com/hook", events=["model_version.created"])
    assert error_code(info.value) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(Exception) as info:
        client.create_webhook(name="not a valid name!", url=receiver.url, events=["model_version.created"])
    assert error_code(info.value) == "INVALID_PARAMETER_VALUE"


def test_a_registry_change_is_delivered_signed(receiver):
    client = MlflowClient()
    model_name = unique_name("webhooked-model")
    path = f"/delivery-{model_name}"
    webhook = client.create_webhook(
        name=unique_name("delivery"),
        url=f"{receiver.url}{path}",
        events=["registered_model.created"],
        secret=SECRET,
    )
    try:
        client.create_registered_model(model_name, tags={"team": "growth"}, description="delivered")
        [request] = receiver.wait_for(lambda r: r["path"] == path)
        assert_signed(request, SECRET)
        payload = json.loads(request["body"])
        assert payload["entity"] == "registered_model"
        assert payload["action"] == "created"
        assert payload["data"] == {"name": model_name, "tags": {"team": "growth"}, "description": "delivered"}
        # ISO-8601 UTC, as Python's datetime reads it
        from datetime import datetime

        assert datetime.fromisoformat(payload["timestamp"]).utcoffset().total_seconds() == 0
    finally:
        client.delete_webhook(webhook.webhook_id)
