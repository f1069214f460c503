"""The worker protocol v1 (docs/worker-protocol.md) over HTTP/1.1.

Built on the standard library's `http.server.ThreadingHTTPServer`: one thread
per connection parses and validates the JSON, then hands the call to a
`Batcher`, whose single thread runs batches on the model. The GPU is the
bottleneck and the HTTP side only moves a few kilobytes per call, so a
framework (FastAPI, uvicorn, aiohttp) would add dependencies without adding
throughput.

Endpoints: POST /v1/generate, /v1/decode, /v1/encode, /v1/chat/completions
(Janus understanding, OpenAI-style: chat.py); GET /v1/info, /v1/stats (the
batchers' counters, as the Go worker's), /v1/models, /healthz. Errors
answer ``{"error": {"message", "type"}}``: 400/404/405/413 with type
``invalid_request_error``, 503 with ``overloaded_error`` and Retry-After
(queue full, loading, shutting down), 500 with ``server_error``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .batcher import Batcher, Closed, QueueFull
from .common import RequestError

log = logging.getLogger("twig_janus")

INVALID = "invalid_request_error"
OVERLOADED = "overloaded_error"
SERVER = "server_error"

DEFAULT_MAX_BATCH = 64
DEFAULT_MAX_WAIT_MS = 20
DEFAULT_MAX_QUEUE = 1024
DEFAULT_CODEC_MAX_BATCH = 8
DEFAULT_MAX_BODY_BYTES = 64 << 20
# A body over the limit by at most this much is read and dropped before the
# 413, so that the client finishes sending and the connection stays usable;
# a larger one is not read, and the answer says "Connection: close".
DRAIN_BYTES = 64 << 20
DEFAULT_CHAT_MAX_BATCH = 16
DEFAULT_CHAT_MAX_TOKENS = 1024  # chat.DEFAULT_CHAT_MAX_TOKENS (not imported: chat.py imports torch)

ROUTES = {
    "/v1/generate": "POST",
    "/v1/decode": "POST",
    "/v1/encode": "POST",
    "/v1/chat/completions": "POST",
    "/v1/info": "GET",
    "/v1/models": "GET",
    "/v1/stats": "GET",
    "/healthz": "GET",
}


class HTTPError(Exception):
    def __init__(self, status: int, typ: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.type, self.message, self.retry_after = status, typ, message, retry_after


class Worker:
    """The protocol's state: the engine (None while loading) and its batchers."""

    def __init__(self, *, max_batch: int = DEFAULT_MAX_BATCH, max_wait_ms: float = DEFAULT_MAX_WAIT_MS,
                 max_queue: int = DEFAULT_MAX_QUEUE, codec_max_batch: int = DEFAULT_CODEC_MAX_BATCH,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, loading_retry_after: int = 10,
                 chat_max_batch: int = DEFAULT_CHAT_MAX_BATCH, chat_max_tokens: int = DEFAULT_CHAT_MAX_TOKENS):
        self.max_batch = max_batch
        self.max_wait_ms = max_wait_ms
        self.max_queue = max_queue
        self.codec_max_batch = codec_max_batch
        self.max_body_bytes = max_body_bytes
        self.loading_retry_after = loading_retry_after
        self.chat_max_batch = chat_max_batch
        self.chat_max_tokens = chat_max_tokens
        self.engine = None
        self.generator: Batcher | None = None
        self.decoder: Batcher | None = None
        self.encoder: Batcher | None = None
        self.chatter: Batcher | None = None
        self.closed = False
        self.load_error: str | None = None
        self._inflight = 0  # calls being answered (parsed, in a batch, or writing the answer)
        self._inflight_cond = threading.Condition()

    def set_engine(self, engine) -> None:
        """Makes the worker ready: starts the batchers on engine."""
        wait = max(self.max_wait_ms, 0) / 1000.0
        self.generator = Batcher(engine.generate_batch, max_batch=self.max_batch, max_wait=wait,
                                 max_queue=self.max_queue, name="generate")
        self.decoder = Batcher(engine.decode_batch, max_batch=self.codec_max_batch, max_wait=wait,
                               max_queue=self.max_queue, name="decode")
        self.encoder = Batcher(engine.encode_batch, max_batch=self.codec_max_batch, max_wait=wait,
                               max_queue=self.max_queue, name="encode")
        # Understanding calls queue apart from generate calls (their own
        # batches, max_batch and counters); the engine runs one GPU batch at a time.
        self.chatter = Batcher(engine.chat_batch, max_batch=self.chat_max_batch, max_wait=wait,
                               max_queue=self.max_queue, name="chat")
        self.engine = engine

    def close(self, timeout: float = 30) -> bool:
        """Stops taking calls: queued ones answer 503, running batches get up to
        timeout seconds in all to finish and their callers to get the answers.
        True if everything finished in time."""
        deadline = time.monotonic() + max(timeout, 0)
        self.closed = True
        batchers = [b for b in (self.generator, self.decoder, self.encoder, self.chatter) if b is not None]
        for b in batchers:
            b.close(timeout=0)  # closes all of them before waiting on any
        for b in batchers:
            b.close(timeout=max(deadline - time.monotonic(), 0))
        with self._inflight_cond:
            while self._inflight and time.monotonic() < deadline:
                self._inflight_cond.wait(max(min(deadline - time.monotonic(), 0.1), 0))
        return not self.busy()

    def busy(self) -> bool:
        """A batch is running or an answer is being written."""
        if any(b is not None and b.running() for b in (self.generator, self.decoder, self.encoder, self.chatter)):
            return True
        with self._inflight_cond:
            return self._inflight > 0

    def enter(self) -> None:
        with self._inflight_cond:
            self._inflight += 1

    def leave(self) -> None:
        with self._inflight_cond:
            self._inflight -= 1
            self._inflight_cond.notify_all()

    # -------------------------------------------------------------- handlers

    def _ready(self):
        if self.closed:
            raise HTTPError(503, OVERLOADED, "worker is shutting down", retry_after=1)
        if self.engine is None:
            msg = "model is loading" if self.load_error is None else f"model failed to load: {self.load_error}"
            raise HTTPError(503, OVERLOADED, msg, retry_after=self.loading_retry_after)
        return self.engine

    @staticmethod
    def _wait(batcher: Batcher, item):
        try:
            fut = batcher.submit(item)
        except (QueueFull, Closed) as e:
            raise HTTPError(503, OVERLOADED, str(e), retry_after=1) from None
        try:
            return fut.result()
        except RequestError as e:
            raise HTTPError(400, INVALID, str(e)) from None
        except Closed as e:
            raise HTTPError(503, OVERLOADED, str(e), retry_after=1) from None
        except Exception as e:  # noqa: BLE001 - server trouble: 500, retried by the client
            log.exception("%s batch failed", batcher.name)
            raise HTTPError(500, SERVER, f"{batcher.name} failed: {type(e).__name__}: {e}") from None

    def generate(self, body) -> dict:
        engine = self._ready()
        try:
            req = engine.parse_generate(body)
        except RequestError as e:
            raise HTTPError(400, INVALID, f"generate: {e}") from None
        res = self._wait(self.generator, req)
        return {"tokens": res.tokens, "model": engine.model_id,
                "usage": {"input_tokens": res.input_tokens, "output_tokens": res.output_tokens}}

    def decode(self, body) -> dict:
        engine = self._ready()
        if not isinstance(body, dict):
            raise HTTPError(400, INVALID, "decode: the body must be a JSON object")
        try:
            tokens = engine.check_tokens(body.get("tokens"), "tokens", exact=engine.num_tokens)
        except RequestError as e:
            raise HTTPError(400, INVALID, f"decode: {e}") from None
        png = self._wait(self.decoder, tokens)
        return {"png": base64.b64encode(png).decode("ascii"), "model": engine.model_id}

    def encode(self, body) -> dict:
        engine = self._ready()
        if not isinstance(body, dict):
            raise HTTPError(400, INVALID, "encode: the body must be a JSON object")
        data = body.get("png")
        if not isinstance(data, str) or not data:
            raise HTTPError(400, INVALID, "encode: png must be a base64 string")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as e:
            raise HTTPError(400, INVALID, f"encode: png is not valid base64: {e}") from None
        try:
            image = engine.load_image(raw)
        except RequestError as e:
            raise HTTPError(400, INVALID, f"encode: {e}") from None
        tokens = self._wait(self.encoder, image)
        return {"tokens": tokens, "model": engine.model_id}

    def chat(self, body) -> dict:
        """POST /v1/chat/completions: one OpenAI chat completion (see chat.py)."""
        engine = self._ready()
        if getattr(engine, "understanding", True) is None:
            raise HTTPError(404, INVALID, f"chat is not served: {getattr(engine, 'chat_error', '')}")
        try:
            req = engine.parse_chat(body, max_tokens_cap=self.chat_max_tokens)
        except RequestError as e:
            raise HTTPError(400, INVALID, f"chat: {e}") from None
        res = self._wait(self.chatter, req)
        return {
            "id": "chatcmpl-" + uuid.uuid4().hex,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": engine.model_name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": res.text},
                         "finish_reason": res.finish_reason}],
            "usage": {"prompt_tokens": res.prompt_tokens, "completion_tokens": res.completion_tokens,
                      "total_tokens": res.prompt_tokens + res.completion_tokens},
        }

    def models(self) -> dict:
        """GET /v1/models: the served model, as OpenAI lists models."""
        engine = self._ready()
        return {"object": "list", "data": [{"id": engine.model_name, "object": "model", "created": 0,
                                            "owned_by": "twig-janus"}]}

    def info(self) -> dict:
        engine = self._ready()
        # The engine's info includes prompt_wrapper: the text every region is
        # conditioned on ("{prefix}" where the prefix goes, the image-start
        # token included), which datasets record.
        out = dict(engine.info())
        out["max_batch"] = self.max_batch
        out["max_wait_ms"] = int(max(self.max_wait_ms, 0))
        if out.get("chat"):
            out["chat_max_batch"] = self.chat_max_batch
            out["chat_max_tokens"] = self.chat_max_tokens
        return out

    def stats(self) -> dict:
        self._ready()
        out = self.generator.stats()
        out["decode"] = self.decoder.stats()
        out["encode"] = self.encoder.stats()
        out["chat"] = self.chatter.stats()
        return out

    def health(self) -> dict:
        self._ready()
        return {"status": "ok"}


def make_handler(worker: Worker, access_log: bool = False):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "twig-janus/1"

        def log_message(self, fmt, *args):  # noqa: N802 - http.server's name
            if access_log:
                sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

        def _send(self, status: int, obj, headers: dict | None = None) -> None:
            body = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _error(self, e: HTTPError) -> None:
            headers = {}
            if self.close_connection:  # an unread body: the client must not reuse the connection
                headers["Connection"] = "close"
            if e.retry_after is not None:
                headers["Retry-After"] = str(e.retry_after)
            if e.status == 405:
                headers["Allow"] = ROUTES.get(self._path(), "")
            self._send(e.status, {"error": {"message": e.message, "type": e.type}}, headers)

        def _path(self) -> str:
            return self.path.split("?", 1)[0]

        def _discard(self, n: int) -> None:
            while n > 0:
                got = self.rfile.read(min(n, 1 << 16))
                if not got:
                    self.close_connection = True
                    return
                n -= len(got)

        def _read_body(self) -> bytes:
            """The request body; 413 beyond the limit (having read and dropped
            it when it is at most DRAIN_BYTES over, else closing the connection)."""
            limit = worker.max_body_bytes
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks, total = [], 0
                while True:
                    line = self.rfile.readline(1024)
                    try:
                        size = int(line.split(b";", 1)[0].strip(), 16)
                    except ValueError:
                        self.close_connection = True
                        raise HTTPError(400, INVALID, "bad chunked encoding") from None
                    if size == 0:
                        while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                            pass
                        if total > limit:
                            raise HTTPError(413, INVALID, f"request body exceeds {limit} bytes")
                        return b"".join(chunks)
                    total += size
                    if total > limit + DRAIN_BYTES:
                        self.close_connection = True
                        raise HTTPError(413, INVALID, f"request body exceeds {limit} bytes")
                    if total > limit:
                        chunks = []
                        self._discard(size)
                    else:
                        chunks.append(self.rfile.read(size))
                    self.rfile.readline(1024)
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                self.close_connection = True
                raise HTTPError(400, INVALID, "bad Content-Length") from None
            if length < 0:
                self.close_connection = True
                raise HTTPError(400, INVALID, "bad Content-Length")
            if length > limit:
                if length <= limit + DRAIN_BYTES:
                    self._discard(length)
                else:
                    self.close_connection = True  # the unread body makes the connection unusable
                raise HTTPError(413, INVALID, f"request body exceeds {limit} bytes")
            return self.rfile.read(length) if length else b""

        def _drop_body(self) -> None:
            """Reads and drops a body the answer does not need (a 404 or a
            405), so that the connection stays usable."""
            try:
                self._read_body()
            except HTTPError:
                pass  # too large or malformed: close_connection is set where needed

        def _dispatch(self) -> None:
            path = self._path()
            try:
                want = ROUTES.get(path)
                if want is None:
                    self._drop_body()
                    raise HTTPError(404, INVALID, f"no endpoint {path}")
                if self.command != want:
                    self._drop_body()
                    raise HTTPError(405, INVALID, f"{path} wants {want}, not {self.command}")
                if want == "GET":
                    handler = {"/v1/info": worker.info, "/v1/stats": worker.stats,
                               "/v1/models": worker.models, "/healthz": worker.health}[path]
                    self._send(200, handler())
                    return
                raw = self._read_body()
                try:
                    body = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError) as e:
                    raise HTTPError(400, INVALID, f"bad JSON: {e}") from None
                handler = {"/v1/generate": worker.generate, "/v1/decode": worker.decode,
                           "/v1/encode": worker.encode, "/v1/chat/completions": worker.chat}[path]
                worker.enter()
                try:
                    self._send(200, handler(body))
                except HTTPError as e:
                    self._error(e)
                finally:
                    worker.leave()
            except HTTPError as e:
                self._error(e)
            except Exception as e:  # noqa: BLE001
                log.exception("unexpected error on %s %s", self.command, path)
                self._error(HTTPError(500, SERVER, f"{type(e).__name__}: {e}"))

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch  # noqa: N815

    return Handler


class Server:
    """An HTTP server for a Worker, serving from a background thread."""

    def __init__(self, worker: Worker, host: str = "127.0.0.1", port: int = 8420, access_log: bool = False):
        self.worker = worker
        self.httpd = ThreadingHTTPServer((host, port), make_handler(worker, access_log))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="http", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        return self.httpd.server_address[:2]

    def start(self) -> "Server":
        self.thread.start()
        return self

    def close(self, timeout: float = 30) -> bool:
        """Stops accepting connections, then stops the batchers, giving a
        running batch up to timeout seconds (see Worker.close)."""
        self.httpd.shutdown()
        self.httpd.server_close()  # handler threads are daemons: this joins none of them
        return self.worker.close(timeout=timeout)
