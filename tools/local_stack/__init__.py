"""The docker-free local stack: DynamoDB Local, moto's SQS, the HTTP API, and the
stream poller — all driven by template.yaml (architecture.md, "The local stack")."""
