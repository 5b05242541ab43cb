"""A plain threaded chat server for benchmarks: the standard library only, nothing of this project.

It answers ``POST /v1/chat/completions`` (the OpenAI shape) after sleeping a fixed
latency, one thread per connection, with HTTP/1.1 keep-alive, so a benchmark measures
the client (pytest-llmops, or the thread-pool floor) against a server that is neither
``llmops serve-stub`` nor anything else this project wrote.

Run alone: ``python benchmarks/chat_server.py --latency-ms 100`` prints its URL.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLY = "You can return any item within 30 days of delivery for a full refund."


def make_handler(latency_s: float) -> type[BaseHTTPRequestHandler]:
    class ChatHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as any real API server
        # headers and body leave as separate writes: without TCP_NODELAY, Nagle's algorithm holds the
        # body until the client's delayed ACK (up to 40 ms a reply on a kept-alive connection)
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = json.loads(body or b"{}")
            time.sleep(latency_s)
            payload = json.dumps({
                "id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()),
                "model": request.get("model", "bench"),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": REPLY}}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 14, "total_tokens": 26},
            }).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:  # quiet: a benchmark reads no access log
            pass

    return ChatHandler


class BacklogServer(ThreadingHTTPServer):
    """A threaded server whose listen backlog takes a burst of new connections (the default, 5, resets them)."""

    request_queue_size = 1024
    daemon_threads = True


class ChatServer:
    """The server on 127.0.0.1 and a free port, in a background thread; ``url`` is its base URL."""

    def __init__(self, latency_ms: float):
        self.httpd = BacklogServer(("127.0.0.1", 0), make_handler(latency_ms / 1000))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="chat-server", daemon=True)

    def __enter__(self) -> "ChatServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=100)
    args = parser.parse_args()
    with ChatServer(args.latency_ms) as server:
        print(f"chat server on {server.url} (latency {args.latency_ms:g} ms)", flush=True)
        try:
            server.thread.join()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
