"""Error answers: status codes and the protocol's error body."""

from __future__ import annotations

import base64
import http.client
import json

import pytest

GOOD = {"prefix": "A red apple.", "prior": [], "n": 4, "cfg": 5.0, "temperature": 1.0,
        "top_k": 0, "top_p": 1.0, "seed": 1}


def assert_error(resp, status, typ="invalid_request_error", contains=""):
    got_status, _, body = resp
    assert got_status == status, body
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type"}
    assert body["error"]["type"] == typ
    assert contains in body["error"]["message"]


@pytest.mark.parametrize("change, contains", [
    ({"n": 0}, "n must be a positive integer"),
    ({"n": -3}, "n must be a positive integer"),
    ({"n": "4"}, "n must be a positive integer"),
    ({"n": 2.5}, "n must be a positive integer"),
    ({"n": True}, "n must be a positive integer"),
    ({"n": None}, "n must be a positive integer"),
    ({"n": 17}, "run past the 16-token grid"),
    ({"prior": [1] * 10, "n": 7}, "positions [10,17) run past"),
    ({"prior": [64]}, "outside the codebook [0,64)"),
    ({"prior": [-1]}, "outside the codebook"),
    ({"prior": [1, "2"]}, "prior[1] is '2'"),
    ({"prior": [1.0]}, "not an integer"),
    ({"prior": "1,2"}, "prior must be a list"),
    ({"prefix": None}, "prefix must be a string"),
    ({"prefix": 5}, "prefix must be a string"),
    ({"cfg": -1}, "cfg -1 is outside"),
    ({"cfg": "5"}, "cfg must be a finite number"),
    ({"temperature": -0.5}, "temperature"),
    ({"top_k": -1}, "top_k -1 must be >= 0"),
    ({"top_k": 1.5}, "top_k must be an integer"),
    ({"top_p": 1.5}, "top_p 1.5 is outside"),
    ({"seed": "x"}, "seed must be an integer"),
    ({"seed": 1 << 70}, "does not fit in 64 bits"),
])
def test_bad_generate_requests_are_400(client, change, contains):
    assert_error(client.post("/v1/generate", {**GOOD, **change}), 400, contains=contains)


def test_optional_generate_fields_take_defaults(client):
    body = client.generate(prefix="Defaults.", n=3)
    assert len(body["tokens"]) == 3
    # Go clients send every field; unknown ones are ignored like Go's decoder does.
    assert len(client.generate(**GOOD, extra="ignored")["tokens"]) == 4


def test_extreme_seeds_are_accepted(client):
    for seed in (-(1 << 63), (1 << 64) - 1, 0):
        assert len(client.generate(**{**GOOD, "seed": seed})["tokens"]) == 4


def test_bad_json_and_bodies_are_400(client):
    assert_error(client.post("/v1/generate", raw=b"{not json"), 400, contains="bad JSON")
    assert_error(client.post("/v1/generate", raw=b"\xff\xfe"), 400, contains="bad JSON")
    assert_error(client.post("/v1/generate", raw=b""), 400, contains="bad JSON")
    assert_error(client.post("/v1/generate", [1, 2]), 400, contains="JSON object")
    assert_error(client.post("/v1/decode", "tokens"), 400, contains="JSON object")
    assert_error(client.post("/v1/encode", 3), 400, contains="JSON object")


@pytest.mark.parametrize("tokens, contains", [
    (list(range(15)), "has 15 tokens, want the full grid of 16 (4x4)"),
    ([0] * 17, "has 17 tokens"),
    ([0] * 15 + [64], "tokens[15] = 64 is outside the codebook"),
    ([0] * 15 + [-1], "outside the codebook"),
    ([0] * 15 + [None], "not an integer"),
    (None, "tokens must be a list"),
    ("abc", "tokens must be a list"),
])
def test_bad_decode_requests_are_400(client, tokens, contains):
    assert_error(client.post("/v1/decode", {"tokens": tokens}), 400, contains=contains)


@pytest.mark.parametrize("png, contains", [
    (None, "png must be a base64 string"),
    ("", "png must be a base64 string"),
    (123, "png must be a base64 string"),
    ("not base64!!", "not valid base64"),
    (base64.b64encode(b"definitely not an image").decode(), "cannot read the image"),
    (base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40).decode(), "cannot read the image"),
])
def test_bad_encode_requests_are_400(client, png, contains):
    assert_error(client.post("/v1/encode", {"png": png}), 400, contains=contains)


def test_unknown_paths_are_404_and_wrong_methods_405(client):
    assert_error(client.get("/v2/generate"), 404, contains="no endpoint /v2/generate")
    assert_error(client.post("/", {}), 404)
    status, headers, body = client.get("/v1/generate")
    assert status == 405 and headers.get("Allow") == "POST"
    assert body["error"]["type"] == "invalid_request_error"
    status, headers, _ = client.post("/v1/info", {})
    assert status == 405 and headers.get("Allow") == "GET"
    assert_error(client.call("DELETE", "/healthz"), 405)


def test_too_large_bodies_are_413(engine, make_server):
    c = make_server(engine, max_body_bytes=1000)
    big = {**GOOD, "prefix": "x" * 2000}
    assert_error(c.post("/v1/generate", big), 413, contains="exceeds 1000 bytes")
    assert len(c.generate(**GOOD)["tokens"]) == 4


def test_keep_alive_connection_serves_several_calls(client):
    conn = http.client.HTTPConnection(client.host, client.port, timeout=30)
    try:
        for i in range(3):
            conn.request("POST", "/v1/generate", body=json.dumps({**GOOD, "seed": i}))
            resp = conn.getresponse()
            assert resp.status == 200 and len(json.loads(resp.read())["tokens"]) == 4
        conn.request("POST", "/v1/generate", body=b"{bad")
        resp = conn.getresponse()
        assert resp.status == 400
        resp.read()
        conn.request("GET", "/healthz")
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def test_chunked_request_body(client):
    conn = http.client.HTTPConnection(client.host, client.port, timeout=30)
    try:
        payload = json.dumps(GOOD).encode()
        conn.request("POST", "/v1/generate", body=iter([payload[:10], payload[10:]]),
                     headers={"Transfer-Encoding": "chunked"}, encode_chunked=True)
        resp = conn.getresponse()
        assert resp.status == 200 and len(json.loads(resp.read())["tokens"]) == 4
    finally:
        conn.close()


def _next_on_same_connection(client, method, path, body: bytes, headers=None):
    """Sends a request with a body, then GET /healthz on the same connection;
    returns (first status, first headers, second status or None if the
    server announced Connection: close)."""
    conn = http.client.HTTPConnection(client.host, client.port, timeout=30)
    try:
        chunked = "chunked" in (headers or {}).get("Transfer-Encoding", "")
        conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        resp = conn.getresponse()
        first = (resp.status, {k.lower(): v for k, v in resp.getheaders()})
        resp.read()
        if first[1].get("connection", "").lower() == "close":
            return first[0], first[1], None
        conn.request("GET", "/healthz")
        second = conn.getresponse()
        second.read()
        return first[0], first[1], second.status
    finally:
        conn.close()


@pytest.mark.parametrize("method, path, status", [
    ("POST", "/v2/generate", 404),
    ("POST", "/v1/generate/more", 404),
    ("PUT", "/v1/decode", 405),
    ("DELETE", "/v1/encode", 405),
    ("PATCH", "/v1/stats", 405),
    ("POST", "/v1/info", 405),
])
def test_refused_bodies_are_read_so_the_connection_stays_usable(client, method, path, status):
    assert _next_on_same_connection(client, method, path, b'{"prefix": "x", "n": 1}')[::2] == (status, 200)


def test_a_body_over_the_limit_is_dropped_and_the_connection_stays_usable(engine, make_server):
    c = make_server(engine, max_body_bytes=1000)
    for size in (1001, 4000):
        status, _, after = _next_on_same_connection(c, "POST", "/v1/generate", b" " * size)
        assert (status, after) == (413, 200)
    chunked = _next_on_same_connection(c, "POST", "/v1/generate", iter([b" " * 600, b" " * 600]),
                                       headers={"Transfer-Encoding": "chunked"})
    assert chunked[::2] == (413, 200)


def test_a_body_far_over_the_limit_closes_the_connection_with_a_header(engine, make_server):
    from twig_janus import server

    c = make_server(engine, max_body_bytes=1000)
    import socket

    with socket.create_connection((c.host, c.port), timeout=30) as sock:
        sock.sendall(b"POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n{}"
                     % (1000 + server.DRAIN_BYTES + 1))
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(4096)
    head = data.split(b"\r\n\r\n", 1)[0].decode().lower()
    assert head.startswith("http/1.1 413") and "connection: close" in head
