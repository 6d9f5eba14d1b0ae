#!/bin/sh
# The image's ENTRYPOINT, as in AWS's Lambda base images: `docker run IMAGE app.lambda_handler` runs
# the function behind the runtime interface emulator; inside Lambda (AWS_LAMBDA_RUNTIME_API set) the
# runtime starts directly. SAM replaces this entrypoint with its own copy of the emulator.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  exec /usr/local/bin/aws-lambda-rie /var/runtime/bootstrap
else
  exec /var/runtime/bootstrap
fi
