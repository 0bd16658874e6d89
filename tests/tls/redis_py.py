#!/usr/bin/python3
"""tests/tls/redis_py.py HOST PORT CERTDIR - redis-py (Debian's python3-redis)
over TLS, called by tests/tls/run.sh.

Prints one line per check, "<name> <repr of what came back>", for run.sh to
compare with the exact lines it expects; an exception prints its class name
instead of a value, so a refused connection shows up as one word.
"""
import hashlib
import os
import sys

import redis


def main():
    host, port, certs = sys.argv[1], int(sys.argv[2]), sys.argv[3]

    def client(cert=True):
        kw = dict(host=host, port=port, ssl=True, ssl_cert_reqs="required",
                  ssl_ca_certs=os.path.join(certs, "ca.crt"),
                  socket_timeout=30)
        if cert:
            kw["ssl_certfile"] = os.path.join(certs, "client.crt")
            kw["ssl_keyfile"] = os.path.join(certs, "client.key")
        return redis.Redis(**kw)

    def check(name, fn):
        try:
            print(name, repr(fn()))
        except Exception as e:  # the class is what run.sh compares
            print(name, type(e).__name__)
        sys.stdout.flush()

    r = client()
    check("ping", r.ping)
    check("set", lambda: r.set("py:k", "v1"))
    check("get", lambda: r.get("py:k"))
    check("incr", lambda: [r.incr("py:n") for _ in range(3)])
    check("hset", lambda: r.hset("py:h", mapping={"a": "1", "b": "2"}))
    check("hgetall", lambda: sorted(r.hgetall("py:h").items()))

    def pipeline():
        p = r.pipeline(transaction=False)
        for i in range(1000):
            p.set("py:p%d" % i, "x" * (i % 97))
        for i in range(1000):
            p.get("py:p%d" % i)
        out = p.execute()
        return (out[:1000] == [True] * 1000 and
                out[1000:] == [b"x" * (i % 97) for i in range(1000)])
    check("pipeline", pipeline)

    def multi():
        p = r.pipeline(transaction=True)
        p.set("py:m1", "a").set("py:m2", "b").mget("py:m1", "py:m2")
        return p.execute()
    check("multi", multi)

    def big(size):
        data = os.urandom(size)
        r.set("py:big", data)
        back = r.get("py:big")
        return (len(back), hashlib.sha256(back).hexdigest() ==
                hashlib.sha256(data).hexdigest())
    check("value_1mib", lambda: big(1 << 20))
    check("value_16mib", lambda: big(16 << 20))
    check("strlen", lambda: r.strlen("py:big"))

    check("no_cert", lambda: client(cert=False).ping())
    check("after", r.ping)


if __name__ == "__main__":
    main()
