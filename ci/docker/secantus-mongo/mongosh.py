#!/usr/bin/env python3
"""Answer `mongosh [--quiet] [URI] --eval "db.adminCommand('ping').ok"` the way mongosh does.

The secantus stand-in image has no mongosh; compose.yaml's healthcheck is written for the official
mongo image, so this shim lets the same healthcheck run against both. Any other use fails loudly.
"""

from __future__ import annotations

import argparse
import re
import sys

from pymongo import MongoClient
from pymongo.errors import PyMongoError

PING = re.compile(r"""^\s*db\.(adminCommand|runCommand)\(\s*(['"])ping\2\s*\)(\.ok)?\s*;?\s*$""")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mongosh", description=__doc__)
    parser.add_argument("uri", nargs="?", default="mongodb://127.0.0.1:27017")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--eval", dest="expression", required=True)
    args = parser.parse_args(argv)
    match = PING.match(args.expression)
    if match is None:
        print(f"mongosh shim: only db.adminCommand('ping') is supported, not {args.expression!r}", file=sys.stderr)
        return 2
    uri = args.uri if args.uri.startswith("mongodb") else f"mongodb://{args.uri}"
    try:
        with MongoClient(uri, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000) as client:
            reply = client.admin.command("ping")
    except PyMongoError as exc:
        print(f"MongoServerSelectionError: {exc}", file=sys.stderr)
        return 1
    ok = reply.get("ok")
    # mongosh prints the server's 1 as `1`, not `1.0`.
    print((int(ok) if ok == int(ok) else ok) if match.group(3) else reply)
    return 0


if __name__ == "__main__":
    sys.exit(main())
