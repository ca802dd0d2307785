"""Autobahn|Python (Debian's python3-autobahn) against the router.

    python3 scenario.py <url> <json|msgpack|cbor>

url is rs://HOST:PORT (RawSocket over TCP), unix:PATH (RawSocket over a
Unix socket) or ws://HOST:PORT/ws. Two sessions subscribe, publish with
acknowledge, register, call with args and kwargs, get an application
error and a no_such_procedure, stream progressive results and leave.
Prints one JSON line of what each step saw, or fails with exit code 1.
"""
import json
import sys

from autobahn.twisted.component import Component
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallOptions, PublishOptions, RegisterOptions
from twisted.internet import defer, task

# Twisted, not asyncio: python3-autobahn 22.7's asyncio RawSocket client
# fails on WELCOME ('WampRawSocketClientProtocol' object has no attribute
# 'transport_details'), a bug of that client; its Twisted one works.

URL, SERIALIZER = sys.argv[1], sys.argv[2]
TIMEOUT = 10


def transport():
    if URL.startswith("unix:"):
        return {"type": "rawsocket", "serializer": SERIALIZER,
                "endpoint": {"type": "unix", "path": URL[len("unix:"):]}}
    if URL.startswith("rs://"):
        host, port = URL[len("rs://"):].rsplit(":", 1)
        return {"type": "rawsocket", "serializer": SERIALIZER,
                "endpoint": {"type": "tcp", "host": host, "port": int(port)}}
    return {"type": "websocket", "url": URL, "serializers": [SERIALIZER]}


async def join(reactor):
    """Starts a component and returns its session once joined."""
    joined = defer.Deferred()
    comp = Component(transports=[transport()], realm="realm1")

    @comp.on_join
    def _(session, details):
        if not joined.called:
            joined.callback(session)

    comp.start(reactor)
    return await joined


async def scenario(reactor):
    out = {}
    a = await join(reactor)
    b = await join(reactor)

    got = defer.Deferred()
    await a.subscribe(lambda *args, **kwargs: got.callback({"args": list(args), "kwargs": kwargs}),
                      "com.example.py.topic")
    pub = await b.publish("com.example.py.topic", 1, "two", {"three": 3}, k="v",
                          options=PublishOptions(acknowledge=True))
    out["published"] = pub.id > 0
    out["event"] = await got

    await a.register(lambda x, y, **kw: {"sum": x + y}, "com.example.py.add")
    out["call"] = await b.call("com.example.py.add", 2, 3)

    def fail():
        raise ApplicationError("com.example.py.error", "bad", 42)
    await a.register(fail, "com.example.py.fail")
    try:
        await b.call("com.example.py.fail")
        out["fail"] = "no error"
    except ApplicationError as e:
        out["fail"] = {"error": e.error, "args": list(e.args)}

    try:
        await b.call("com.example.py.nobody")
        out["nobody"] = "no error"
    except ApplicationError as e:
        out["nobody"] = e.error

    async def stream(details=None):
        if details is not None and details.progress:
            for i in range(1, 4):
                details.progress(i)
        return "final"
    await a.register(stream, "com.example.py.stream", options=RegisterOptions(details_arg="details"))
    chunks = []
    final = await b.call("com.example.py.stream", options=CallOptions(on_progress=lambda i: chunks.append(i)))
    out["stream"] = {"chunks": chunks, "final": final}

    await a.leave()
    await b.leave()
    return out


def main(reactor):
    d = defer.ensureDeferred(scenario(reactor))
    d.addTimeout(TIMEOUT, reactor)

    def done(out):
        print(json.dumps(out))
        sys.stdout.flush()

    return d.addCallback(done)


if __name__ == "__main__":
    # task.react exits 0 when main's Deferred succeeds, 1 (with the
    # traceback on stderr) when it fails.
    task.react(main)
