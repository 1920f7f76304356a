# Python arrpc 0.5.0's own Server with an echo handler, for the rows that compare against it.
# Run with PYTHONPATH pointing at arrpc's source (run.mjs's --python). Environment: BENCH_TLS_CERT
# and BENCH_TLS_KEY (TLS), BENCH_SECRET (auth), BENCH_SLOW=1 (a message {"sleepMs": N} is answered
# after N ms, with gevent.sleep, as a slow handler would; others are echoed at once).
# Prints {"port": N} once it accepts connections, then serves until killed.
import json
import logging
import os
import socket
import sys

import arrpc  # patches the standard library for gevent, as in any arrpc app
import gevent


def echo(message):
    return message


def echo_or_sleep(message):
    if isinstance(message, dict) and message.get("sleepMs"):
        gevent.sleep(message["sleepMs"] / 1000)
    return message


def free_port():
    # arrpc.Server takes a fixed port and keeps its listener to itself: ask the system for a free
    # one. Loopback only, so nothing else is likely to take it in between.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(port):
    # Not by connecting: a probe connection would end in a TLS error logged by gevent. The server
    # binds and listens in one step without yielding, so once the port cannot be bound, it listens.
    for _ in range(500):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return
        gevent.sleep(0.01)
    sys.exit(f"python-arrpc: nothing listens on port {port}")


env = os.environ
arrpc.logger.setLevel(logging.WARNING)
port = free_port()
server = arrpc.Server(
    "127.0.0.1", port, echo_or_sleep if env.get("BENCH_SLOW") else echo,
    tls_certfile=env.get("BENCH_TLS_CERT") or None, tls_keyfile=env.get("BENCH_TLS_KEY") or None,
    auth_secret=env.get("BENCH_SECRET") or None,
)
server.start(background=True)
wait_until_listening(port)
print(json.dumps({"port": port}), flush=True)
while True:
    gevent.sleep(3600)
