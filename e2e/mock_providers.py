"""A mock model provider the gateway tests start on loopback: OpenAI's chat completions
(whole and streamed), embeddings and Responses API, Anthropic's messages and Gemini's
generateContent (whole and streamed) and embeddings, with models that
fail in the ways fallbacks and error handling must meet (`fail500` and any `fail500-*`,
`fail429`, `plain503`, `slow`, `slow-stream`), and `echo-stream`, which streams the echo of
the user's words three characters a chunk. It records every request it receives (path, headers, JSON body) so a
test can check exactly what the gateway sent upstream."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CREATED = 1700000000


def _chat(model, messages, tools):
    if tools:
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": tools[0]["function"]["name"], "arguments": "{\"city\": \"Paris\"}"}}]}
        finish = "tool_calls"
    else:
        text = " ".join(str(m.get("content")) for m in messages if m.get("role") == "user")
        message = {"role": "assistant", "content": f"echo: {text}"}
        finish = "stop"
    return {"id": "chatcmpl-mock", "object": "chat.completion", "created": CREATED, "model": model,
            "system_fingerprint": "fp-mock",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}}


def _chunk(model, delta, finish=None, usage=None, choices=True):
    return {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": CREATED, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else [],
            "usage": usage}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _send_json(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, events, delay=0.0):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for event in events:
                self.wfile.write(event.encode())
                self.wfile.flush()
                if delay:
                    time.sleep(delay)
        except (BrokenPipeError, ConnectionResetError):
            self.server.mock.disconnects += 1
        self.close_connection = True

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        mock = self.server.mock
        with mock.lock:
            mock.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                  "body": body})
        model = (body or {}).get("model", "")
        if model.startswith("fail500"):
            return self._send_json(500, {"error": {"message": "upstream exploded", "type": "server_error"}})
        if model == "fail429":
            return self._send_json(429, {"error": {"message": "rate limited upstream", "type": "rate_limit"}})
        if model == "plain503":
            return self._send_json(503, b"plain failure", "text/plain")
        if model == "slow":
            time.sleep(5)
        path = self.path.split("?")[0]
        if ":" in path.rsplit("/", 1)[-1]:
            return self._gemini(path, body)
        if path.endswith("/chat/completions"):
            if body.get("stream"):
                return self._stream_chat(model, body)
            return self._send_json(200, _chat(model, body.get("messages", []), body.get("tools")))
        if path.endswith("/embeddings"):
            inputs = body.get("input")
            inputs = inputs if isinstance(inputs, list) else [inputs]
            return self._send_json(200, {
                "object": "list", "model": model,
                "data": [{"object": "embedding", "embedding": [0.1, 0.2, 0.3], "index": i} for i in range(len(inputs))],
                "usage": {"prompt_tokens": 4, "total_tokens": 4}})
        if path.endswith("/responses/compact"):
            return self._send_json(200, {"id": "resp_compact", "object": "response.compaction", "model": model,
                                         "output": [{"type": "compaction", "encrypted_content": "opaque"}],
                                         "usage": {"input_tokens": 20, "output_tokens": 4, "total_tokens": 24}})
        if path.endswith("/responses"):
            return self._send_json(200, {"id": "resp_1", "object": "response", "model": model, "status": "completed",
                                         "output": [{"type": "message", "role": "assistant",
                                                     "content": [{"type": "output_text", "text": "hi"}]}],
                                         "usage": {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}})
        if path.endswith("/messages"):
            if body.get("stream"):
                return self._stream_messages(model)
            return self._send_json(200, {
                "id": "msg_mock", "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": "Hello from Claude mock"}],
                "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": 10, "output_tokens": 6}})
        return self._send_json(404, {"error": {"message": f"no route {path}"}})

    def _gemini(self, path, body):
        model, action = path.rsplit("/", 1)[-1].split(":", 1)
        if model.startswith("fail500"):
            return self._send_json(500, {"error": {"code": 500, "message": "upstream exploded", "status": "INTERNAL"}})
        usage = {"promptTokenCount": 8, "candidatesTokenCount": 4, "totalTokenCount": 12}
        if action == "embedContent":
            return self._send_json(200, {"embedding": {"values": [0.1, 0.2]}})
        if action == "batchEmbedContents":
            return self._send_json(200, {"embeddings": [{"values": [0.1, 0.2]} for _ in body["requests"]]})
        if action == "streamGenerateContent":
            chunks = [{"candidates": [{"content": {"role": "model", "parts": [{"text": w}]}, "index": 0}]}
                      for w in ("Hello", " world")]
            chunks.append({"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]},
                                           "finishReason": "STOP", "index": 0}], "usageMetadata": usage})
            return self._stream([f"data: {json.dumps(c)}\r\n\r\n" for c in chunks])
        if body.get("tools"):
            name = body["tools"][0]["functionDeclarations"][0]["name"]
            parts = [{"functionCall": {"name": name, "args": {"city": "Paris"}}}]
        else:
            text = " ".join(p.get("text", "") for c in body.get("contents", []) if c.get("role") == "user"
                            for p in c.get("parts", []))
            parts = [{"text": f"echo: {text}"}]
        return self._send_json(200, {"candidates": [{"content": {"role": "model", "parts": parts},
                                                     "finishReason": "STOP", "index": 0}],
                                     "usageMetadata": usage, "modelVersion": model})

    def _stream_chat(self, model, body):
        words = ["Hello", " world"] if model != "slow-stream" else [f"w{i} " for i in range(100)]
        if model == "echo-stream":
            # The echo of the user's words, three characters a chunk.
            text = "echo: " + " ".join(str(m.get("content")) for m in body.get("messages", [])
                                       if m.get("role") == "user")
            words = [text[i:i + 3] for i in range(0, len(text), 3)]
        events = [_chunk(model, {"role": "assistant", "content": ""})]
        events += [_chunk(model, {"content": w}) for w in words]
        events.append(_chunk(model, {}, finish="stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append(_chunk(model, None, usage={"prompt_tokens": 9, "completion_tokens": len(words),
                                                     "total_tokens": 9 + len(words)}, choices=False))
        lines = [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]
        self._stream(lines, delay=0.1 if model == "slow-stream" else 0.0)

    def _stream_messages(self, model):
        events = [
            ("message_start", {"type": "message_start", "message": {
                "id": "msg_mock", "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "text_delta", "text": "Hello"}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": 3}}),
            ("message_stop", {"type": "message_stop"}),
        ]
        self._stream([f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events])


class MockProvider:
    """Serves on `url` (`http://127.0.0.1:<port>`) in a background thread until `stop()`."""

    def __init__(self):
        self.requests = []
        self.disconnects = 0
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.mock = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def last(self):
        with self.lock:
            return self.requests[-1]

    def models_called(self, since=0):
        with self.lock:
            return [r["body"].get("model") for r in self.requests[since:]]

    def count(self):
        with self.lock:
            return len(self.requests)
