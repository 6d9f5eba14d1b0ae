"""The one price table of the cost benchmark: us-east-1, on-demand, USD, no free tier.

Each price names the public page it comes from and the date it was taken as current. The figures
are the published list prices (DynamoDB's are those after the November 2024 cut of on-demand
throughput). They were not fetched by this code: update a value, its source and its date together."""

from __future__ import annotations

from dataclasses import dataclass

AS_OF = "2026-12-02"


@dataclass(frozen=True)
class Price:
    usd: float
    per: str
    source: str
    as_of: str = AS_OF


PRICES: dict[str, Price] = {
    "dynamodb_write_request_unit": Price(
        0.625 / 1e6, "write request unit (on-demand)",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/ (on-demand throughput cut of 2024-11-01: "
        "https://aws.amazon.com/about-aws/whats-new/2024/11/amazon-dynamo-db-reduces-prices-on-demand-"
        "throughput-global-tables/)"),
    "dynamodb_read_request_unit": Price(
        0.125 / 1e6, "read request unit (on-demand)", "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "lambda_request": Price(0.20 / 1e6, "invocation", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_second_arm64": Price(0.0000133334, "GB-second of duration, arm64",
                                    "https://aws.amazon.com/lambda/pricing/"),
    "http_api_request": Price(1.00 / 1e6, "HTTP API request (first 300 million a month)",
                              "https://aws.amazon.com/api-gateway/pricing/"),
    "sqs_request": Price(0.40 / 1e6, "standard-queue request (each 64 KB chunk of payload is one request)",
                         "https://aws.amazon.com/sqs/pricing/"),
    "kms_request": Price(0.03 / 10_000, "KMS API request (symmetric)", "https://aws.amazon.com/kms/pricing/"),
    "kms_key_month": Price(1.00, "customer managed key, month (first year of key material)",
                           "https://aws.amazon.com/kms/pricing/"),
    "logs_ingest_gb": Price(0.50, "GB of CloudWatch Logs ingested (standard class)",
                            "https://aws.amazon.com/cloudwatch/pricing/"),
    "xray_trace_recorded": Price(5.00 / 1e6, "trace recorded", "https://aws.amazon.com/xray/pricing/"),
    "alarm_metric_month": Price(0.10, "standard-resolution alarm metric, month (a metric-math alarm is billed "
                                "per metric it uses)", "https://aws.amazon.com/cloudwatch/pricing/"),
    "alarm_metric_month_high_resolution": Price(0.30, "high-resolution (period < 60 s) alarm metric, month",
                                                "https://aws.amazon.com/cloudwatch/pricing/"),
    "composite_alarm_month": Price(0.50, "composite alarm, month", "https://aws.amazon.com/cloudwatch/pricing/"),
    "dashboard_month": Price(3.00, "custom dashboard, month", "https://aws.amazon.com/cloudwatch/pricing/"),
    "snapstart_cache_gb_second": Price(0.0000015046, "GB-second of SnapStart cache (Python, .NET)",
                                       "https://aws.amazon.com/lambda/pricing/ (SnapStart)"),
    "snapstart_restore_gb": Price(0.0001397998, "GB restored from a SnapStart snapshot (Python, .NET)",
                                  "https://aws.amazon.com/lambda/pricing/ (SnapStart)"),
}

# Months as AWS prices them (730 hours).
SECONDS_PER_MONTH = 730 * 3600
GB = 1024 ** 3  # billing GB (CloudWatch Logs ingestion)


def price(name: str) -> float:
    return PRICES[name].usd


def table() -> dict[str, dict[str, str | float]]:
    """The price table as the JSON report carries it."""
    return {name: {"usd": p.usd, "per": p.per, "source": p.source, "as_of": p.as_of} for name, p in PRICES.items()}
