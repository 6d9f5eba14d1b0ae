"""SAM CLI's local mode (`sam local invoke`, `sam local start-api`) against the local stack, on machines
without a container registry: `python -m sam_local.prepare` sets up Docker, emulation and the Lambda
base image; `python -m sam_local.env_vars` aims the functions at a running local stack."""
