"""`python -m local_stack` — the local stack in the foreground; Ctrl-C stops everything it started."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from local_stack.stack import LocalStack
from local_stack.template import ROOT


def main() -> int:
    parser = argparse.ArgumentParser(prog="local_stack", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")),
                        help="HTTP port (0 picks a free one); default $PORT or 3000")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".local")
    parser.add_argument("--quiet", action="store_true", help="no access log lines")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    started = time.perf_counter()
    stack = LocalStack(data_dir=args.data_dir.resolve(), host=args.host, port=args.port, quiet=args.quiet)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        info = stack.start()
        print(f"customers-api local stack ready in {time.perf_counter() - started:.1f}s", flush=True)
        print(f"  API:        {info['api_url']}  (try: curl {info['api_url']}/v1/customers/cus_x "
              f"-H 'Authorization: Bearer {info['secret_key']}')", flush=True)
        print(f"  secret key: {info['secret_key']}  (account {info['account_id']}, test mode)", flush=True)
        print(f"  DynamoDB:   {info['dynamodb_endpoint']}  table {info['table_name']}", flush=True)
        print(f"  SQS:        {info['sqs_endpoint']}", flush=True)
        print(f"  details:    {args.data_dir / 'stack.json'}   — Ctrl-C stops everything", flush=True)
        done.wait()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
