"""`python -m customers_admin.preflight --stage dev` — before `sam deploy`: are there AWS credentials,
and which account and stack will the deploy touch? Fails fast, with what to do, when there are none.
(`make deploy` runs it.) It never contacts AWS: it only asks boto3's credential chain, with the
instance-metadata lookup switched off so that a laptop does not wait on a network timeout."""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="customers_admin.preflight")
    parser.add_argument("--stage", required=True, choices=("dev", "staging", "prod"))
    args = parser.parse_args(argv)
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    deploy = config[args.stage]["deploy"]["parameters"]
    region = config.get("default", {}).get("global", {}).get("parameters", {}).get("region", "us-east-1")
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    import boto3  # noqa: PLC0415

    credentials = boto3.Session(region_name=region).get_credentials()
    if credentials is None:
        print(f"No AWS credentials: cannot deploy stack {deploy['stack_name']} ({args.stage}) to {region}.\n"
              "Set AWS_PROFILE (after `aws sso login`) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, then run "
              f"`make deploy STAGE={args.stage}` again. See docs/operations.md, 'Deploy a stage'.", file=sys.stderr)
        return 2
    print(f"deploying {deploy['stack_name']} ({args.stage}) to {region} with credentials from "
          f"{credentials.method}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
