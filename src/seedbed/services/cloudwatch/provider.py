"""CloudWatch operations: PutMetricData, ListMetrics, GetMetricStatistics, GetMetricData (metric
stats and a subset of metric math, :mod:`~seedbed.services.cloudwatch.mathexpr`), metric alarms
with evaluation on a timer (:mod:`~seedbed.services.cloudwatch.alarms`), alarm history, actions
and tags.

An alarm state change is recorded in its history, emits "CloudWatch Alarm State Change" on the
account's default event bus and, with actions enabled, runs the state's actions: Lambda function
ARNs are invoked asynchronously with the alarm payload AWS sends; actions Seedbed cannot run
(SNS, Auto Scaling, EC2, Systems Manager) are recorded as failed in the history. Other services
read alarm state through DescribeAlarms.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from seedbed.errors import ServiceError
from seedbed.server.context import RequestContext
from seedbed.services.base import Provider
from seedbed.services.cloudwatch import alarms, mathexpr, query, store
from seedbed.services.cloudwatch.errors import (
    InvalidFormat,
    InvalidNextToken,
    InvalidParameterCombination,
    InvalidParameterValue,
    MissingParameter,
    ResourceNotFound,
    ValidationError,
)

log = logging.getLogger(__name__)

#: Seconds between evaluator ticks, and the least time between two evaluations of an alarm.
#: AWS evaluates standard alarms every minute and high-resolution ones every 10 seconds; Seedbed
#: evaluates every alarm every 5 seconds, so local loops see state changes quickly.
TICK_SECONDS = 2.0
EVALUATE_EVERY_MS = 5_000
#: Metrics keep data this long (CloudWatch keeps hourly aggregates for 455 days).
RETENTION_MS = 455 * 86_400_000
HISTORY_DAYS = 14
MAX_GMS_DATAPOINTS = 1440
DEFAULT_MAX_DATAPOINTS = 100_800
MAX_TAGS = 50
ALARM_FIELDS = (
    "AlarmDescription", "OKActions", "AlarmActions", "InsufficientDataActions", "MetricName",
    "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit",
    "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator",
    "TreatMissingData", "EvaluateLowSampleCountPercentile", "Metrics",
)


def now_ms() -> int:
    return int(time.time() * 1000)


def _ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _token(doc: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


def _untoken(text: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(text.encode()))
    except (ValueError, TypeError):
        raise InvalidNextToken("The service returned an invalid NextToken.") from None


def _alarm_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"


def _check_period(period: int, what: str = "Period") -> None:
    if period not in (1, 5, 10, 20, 30) and period % 60:
        raise InvalidParameterValue(
            f"The parameter {what} must be 1, 5, 10, 20, 30, 60, or a multiple of 60."
        )


def _metric_matches_filters(metric: store.Metric, filters: list[dict[str, str]]) -> bool:
    dims = {d["Name"]: d["Value"] for d in metric.dims}
    for f in filters:
        if f["Name"] not in dims:
            return False
        if f.get("Value") is not None and dims[f["Name"]] != f["Value"]:
            return False
    return True


def _alarm_out(alarm: store.Alarm) -> dict[str, Any]:
    config = alarm.config
    out: dict[str, Any] = {
        "AlarmName": alarm.name,
        "AlarmArn": alarm.arn,
        "AlarmConfigurationUpdatedTimestamp": alarm.config_updated,
        "ActionsEnabled": alarm.actions_enabled,
        "OKActions": config.get("OKActions") or [],
        "AlarmActions": config.get("AlarmActions") or [],
        "InsufficientDataActions": config.get("InsufficientDataActions") or [],
        "StateValue": alarm.state_value,
        "StateReason": alarm.state_reason,
        "StateUpdatedTimestamp": alarm.state_updated,
        "StateTransitionedTimestamp": alarm.state_transitioned,
        "Dimensions": config.get("Dimensions") or [],
        "EvaluationPeriods": config["EvaluationPeriods"],
        "ComparisonOperator": config["ComparisonOperator"],
    }
    if alarm.state_reason_data:
        out["StateReasonData"] = alarm.state_reason_data
    for key in ("AlarmDescription", "MetricName", "Namespace", "Statistic", "ExtendedStatistic",
                "Period", "Unit", "DatapointsToAlarm", "Threshold", "TreatMissingData",
                "EvaluateLowSampleCountPercentile", "Metrics"):
        if config.get(key) is not None:
            out[key] = config[key]
    return out


class CloudWatchProvider(Provider):
    service = "cloudwatch"

    def __init__(self, backend: Any) -> None:
        super().__init__(backend)
        self._evaluator: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self._start()

    def _start(self) -> None:
        if self._evaluator is None:
            self._evaluator = asyncio.get_running_loop().create_task(self._evaluate_forever())

    async def resume(self) -> None:
        """Start the alarm evaluator (for a start-up hook; loading by a request also starts it)."""
        self._start()

    def close(self) -> None:
        if self._evaluator is not None:
            self._evaluator.cancel()
            self._evaluator = None
        for task in list(self._tasks):
            task.cancel()

    def _spawn(self, coro: Any) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:
            coro.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- metric data ------------------------------------------------------------------------------

    def _data_rows(self, datum: dict[str, Any], index: int, now: int) -> list[dict[str, Any]]:
        where = f"MetricData.member.{index}"
        has_value = datum.get("Value") is not None
        has_stats = datum.get("StatisticValues") is not None
        has_values = bool(datum.get("Values"))
        if sum((has_value, has_stats, has_values)) > 1:
            first, second = [n for n, f in (("Value", has_value), ("StatisticValues", has_stats),
                                            ("Values", has_values)) if f][:2]
            raise InvalidParameterCombination(
                f"The parameters {where}.{first} and {where}.{second} are mutually exclusive and "
                "you have specified both."
            )
        if not (has_value or has_stats or has_values):
            raise MissingParameter(
                f"At least one of the parameters {where}.Value, {where}.StatisticValues or "
                f"{where}.Values must be specified."
            )
        if len(datum.get("Dimensions") or []) > 30:
            raise InvalidParameterValue(f"The collection {where}.Dimensions must not have a size greater than 30.")
        names = [d["Name"] for d in datum.get("Dimensions") or []]
        if len(names) != len(set(names)):
            raise InvalidParameterValue(f"No metric may have duplicate dimension names ({where}).")
        resolution = datum.get("StorageResolution") or 60
        if resolution not in (1, 60):
            raise InvalidParameterValue(
                f"The value {resolution} for parameter {where}.StorageResolution is invalid: "
                "it must be 1 or 60."
            )
        ts = _ms(datum["Timestamp"]) if datum.get("Timestamp") else now
        if ts > now + 2 * 3_600_000:
            raise InvalidParameterValue(
                f"The parameter {where}.Timestamp must specify a time no more than two hours in "
                "the future."
            )
        if ts < now - 14 * 86_400_000:
            raise InvalidParameterValue(
                f"The parameter {where}.Timestamp must specify a time within the past two weeks."
            )
        unit = datum.get("Unit") or "None"
        base = {"ts_ms": ts, "unit": unit, "resolution": resolution}

        def finite(value: Any, name: str) -> float:
            number = float(value)
            if math.isnan(number) or math.isinf(number) or abs(number) > 2**360:
                raise InvalidParameterValue(
                    f"The value {value} for parameter {where}.{name} is invalid."
                )
            return number

        if has_value:
            v = finite(datum["Value"], "Value")
            return [{**base, "sample_count": 1.0, "sum": v, "minimum": v, "maximum": v, "value": v}]
        if has_stats:
            s = datum["StatisticValues"]
            count = finite(s["SampleCount"], "StatisticValues.SampleCount")
            if count <= 0:
                raise InvalidParameterValue(
                    f"The value {count} for parameter {where}.StatisticValues.SampleCount is "
                    "invalid: it must be greater than 0."
                )
            low = finite(s["Minimum"], "StatisticValues.Minimum")
            high = finite(s["Maximum"], "StatisticValues.Maximum")
            if low > high:
                raise InvalidParameterValue(
                    f"The parameter {where}.StatisticValues.Minimum must be less than or equal to "
                    f"{where}.StatisticValues.Maximum."
                )
            return [{**base, "sample_count": count, "sum": finite(s["Sum"], "StatisticValues.Sum"),
                     "minimum": low, "maximum": high, "value": None}]
        values = datum["Values"]
        counts = datum.get("Counts") or [1.0] * len(values)
        if len(values) > 150:
            raise InvalidParameterValue(f"The collection {where}.Values must not have a size greater than 150.")
        if len(counts) != len(values):
            raise InvalidParameterValue(
                f"The parameters {where}.Values and {where}.Counts must be of the same size."
            )
        rows = []
        for value, count in zip(values, counts):
            v, c = finite(value, "Values"), finite(count, "Counts")
            if c <= 0:
                continue
            rows.append({**base, "sample_count": c, "sum": v * c, "minimum": v, "maximum": v,
                         "value": v})
        return rows

    async def put_metric_data(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        namespace = params["Namespace"]
        # AWS/ namespaces belong to AWS services: Seedbed acting as one (no principal) may use them.
        if namespace.startswith("AWS/") and ctx.principal is not None:
            raise InvalidParameterValue(
                f"The value {namespace} for parameter Namespace is invalid: the AWS/ namespaces "
                "are reserved for AWS services."
            )
        data = list(params.get("MetricData") or [])
        for entity in params.get("EntityMetricData") or []:
            data.extend(entity.get("MetricData") or [])
        if not data:
            raise MissingParameter("The parameter MetricData is required.")
        if len(data) > 1000:
            raise InvalidParameterValue("The collection MetricData must not have a size greater than 1000.")
        now = now_ms()
        prepared = [(d, self._data_rows(d, i, now)) for i, d in enumerate(data, start=1)]

        def work() -> None:
            for _ in range(3):
                try:
                    with self.backend.db.begin() as conn:
                        rows: list[dict[str, Any]] = []
                        for datum, datum_rows in prepared:
                            mid = store.metric_id(conn, ctx.account_id, ctx.region, namespace,
                                                  datum["MetricName"], datum.get("Dimensions") or [],
                                                  put_ms=now)
                            rows.extend({**r, "metric_id": mid} for r in datum_rows)
                        store.insert_datapoints(conn, rows)
                    return
                except IntegrityError:  # a concurrent first put of the same metric: retry
                    continue
            raise ServiceError("Could not record the metric data; try again.",
                               code="InternalServiceError", status=500)

        await asyncio.to_thread(work)
        return {}

    def list_metrics(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        filters = params.get("Dimensions") or []
        after = int(_untoken(params["NextToken"]).get("after", 0)) if params.get("NextToken") else 0
        now = now_ms()
        since = now - (3 * 3_600_000 if params.get("RecentlyActive") == "PT3H" else 14 * 86_400_000)
        page: list[store.Metric] = []
        more = False
        with self.backend.db.connect() as conn:
            while not more:
                chunk = store.list_metrics(conn, ctx.account_id, ctx.region,
                                           params.get("Namespace"), params.get("MetricName"),
                                           after, since, 1000)
                for metric in chunk:
                    after = metric.id
                    if not _metric_matches_filters(metric, filters):
                        continue
                    if len(page) == 500:
                        more = True
                        break
                    page.append(metric)
                if len(chunk) < 1000:
                    break
        out: dict[str, Any] = {"Metrics": [
            {"Namespace": m.namespace, "MetricName": m.name, "Dimensions": m.dims} for m in page
        ]}
        if params.get("IncludeLinkedAccounts"):
            out["OwningAccounts"] = [ctx.account_id] * len(page)
        if more:
            out["NextToken"] = _token({"after": page[-1].id})
        return out

    async def get_metric_statistics(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        stats = params.get("Statistics") or []
        extended = params.get("ExtendedStatistics") or []
        if bool(stats) == bool(extended):
            raise InvalidParameterCombination(
                "Must specify either Statistics or ExtendedStatistics, but not both."
            )
        for stat in extended:
            if not mathexpr.is_percentile(stat):
                raise InvalidParameterValue(
                    f"The value {stat} for parameter ExtendedStatistics is not supported."
                )
        period = params["Period"]
        _check_period(period)
        start, end = _ms(params["StartTime"]), _ms(params["EndTime"])
        if start >= end:
            raise InvalidParameterValue(
                "The parameter StartTime must be less than the parameter EndTime."
            )
        step = min(period, 60) * 1000
        start = (start // step) * step
        requested = math.ceil((end - start) / (period * 1000))
        if requested > MAX_GMS_DATAPOINTS:
            raise InvalidParameterCombination(
                f"You have requested up to {requested:,} datapoints, which exceeds the limit of "
                "1,440. You may reduce the datapoints requested by increasing Period, or "
                "decreasing the time range."
            )
        unit = params.get("Unit")

        def work() -> list[dict[str, Any]]:
            with self.backend.db.connect() as conn:
                mid = store.metric_id(conn, ctx.account_id, ctx.region, params["Namespace"],
                                      params["MetricName"], params.get("Dimensions") or [])
                if mid is None:
                    return []
                shift = start % (period * 1000)
                buckets = store.aggregate(conn, mid, start, end, period, unit, unit is None, shift)
                raw = (store.raw_values(conn, mid, start, end, period, unit, shift)
                       if extended else {})
            points = []
            for b in buckets:
                point: dict[str, Any] = {"Timestamp": _dt(b.start_ms), "Unit": b.unit or "None"}
                for stat in stats:
                    point[stat] = mathexpr.basic(stat, b.sample_count, b.sum, b.minimum, b.maximum)
                if extended:
                    pairs, complete = raw.get(b.start_ms, ([], False))
                    values = {}
                    for stat in extended:
                        value = mathexpr.percentile(stat, pairs) if complete else None
                        if value is not None:
                            values[stat] = value
                    point["ExtendedStatistics"] = values
                points.append(point)
            return points

        points = await asyncio.to_thread(work)
        return {"Label": params["MetricName"], "Datapoints": points}

    async def get_metric_data(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queries = params["MetricDataQueries"]
        if len(queries) > 500:
            raise ValidationError("The collection MetricDataQueries must not have a size greater than 500.")
        for index, q in enumerate(queries, start=1):
            if q.get("MetricStat"):
                _check_period(q["MetricStat"]["Period"],
                              f"MetricDataQueries.member.{index}.MetricStat.Period")
        query.check_queries(queries)
        start, end = _ms(params["StartTime"]), _ms(params["EndTime"])
        if start >= end:
            raise ValidationError("The parameter StartTime must be less than the parameter EndTime.")
        skip = int(_untoken(params["NextToken"]).get("skip", 0)) if params.get("NextToken") else 0
        budget = params.get("MaxDatapoints") or DEFAULT_MAX_DATAPOINTS
        descending = params.get("ScanBy", "TimestampDescending") == "TimestampDescending"

        def work() -> list[query.Result]:
            with self.backend.db.connect() as conn:
                return query.run_queries(conn, ctx.account_id, ctx.region, queries, start, end)

        results = await asyncio.to_thread(work)
        out_results = []
        position = 0
        truncated = False
        for result in results:
            if not result.return_data:
                continue
            stamps = sorted(result.series, reverse=descending)
            begin = max(0, min(len(stamps), skip - position))
            room = max(0, skip + budget - position - begin)
            chosen = stamps[begin:begin + room]
            if begin + len(chosen) < len(stamps):
                truncated = True
            position += len(stamps)
            out_results.append({
                "Id": result.id, "Label": result.label,
                "Timestamps": [_dt(ts) for ts in chosen],
                "Values": [result.series[ts] for ts in chosen],
                "StatusCode": "PartialData" if truncated else "Complete",
            })
        out: dict[str, Any] = {"MetricDataResults": out_results, "Messages": []}
        if truncated:
            out["NextToken"] = _token({"skip": skip + budget})
        return out

    # -- alarms -----------------------------------------------------------------------------------

    def _check_alarm(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("EvaluationCriteria") or params.get("EvaluationInterval"):
            raise InvalidParameterValue(
                "Seedbed does not support PromQL alarms (EvaluationCriteria, EvaluationInterval)."
            )
        if params.get("ThresholdMetricId") or params.get("ComparisonOperator") in (
            "LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold",
            "GreaterThanUpperThreshold",
        ):
            raise InvalidParameterValue(
                "Seedbed does not support anomaly detection alarms (ThresholdMetricId and the "
                "band comparison operators)."
            )
        for required in ("EvaluationPeriods", "ComparisonOperator", "Threshold"):
            if params.get(required) is None:
                raise MissingParameter(f"The parameter {required} is required.")
        metrics = params.get("Metrics")
        if metrics:
            if any(params.get(k) for k in ("MetricName", "Namespace", "Statistic",
                                            "ExtendedStatistic", "Dimensions", "Period", "Unit")):
                raise InvalidParameterCombination(
                    "The parameters MetricName, Namespace, Statistic, ExtendedStatistic, "
                    "Dimensions, Period and Unit cannot be used with Metrics."
                )
            query.check_queries(metrics)
            if sum(1 for q in metrics if q.get("ReturnData", True)) != 1:
                raise ValidationError("Exactly one element of the metrics list should return data.")
            for q in metrics:
                if q.get("MetricStat"):
                    _check_period(q["MetricStat"]["Period"])
        else:
            for required in ("MetricName", "Namespace", "Period"):
                if not params.get(required):
                    raise MissingParameter(f"The parameter {required} is required.")
            if bool(params.get("Statistic")) == bool(params.get("ExtendedStatistic")):
                raise InvalidParameterCombination(
                    "Exactly one of the Statistic and ExtendedStatistic parameters must be specified."
                )
            if params.get("ExtendedStatistic"):
                mathexpr.check_stat(params["ExtendedStatistic"], "ExtendedStatistic")
                if not mathexpr.is_percentile(params["ExtendedStatistic"]):
                    raise InvalidParameterValue(
                        f"The value {params['ExtendedStatistic']} for parameter ExtendedStatistic is invalid."
                    )
            if params["Period"] not in (10, 20, 30) and params["Period"] % 60:
                raise InvalidParameterValue(
                    "The parameter Period must be 10, 20, 30, or a multiple of 60."
                )
        n = params["EvaluationPeriods"]
        m = params.get("DatapointsToAlarm") or n
        if m > n:
            raise ValidationError("DatapointsToAlarm must be less than or equal to EvaluationPeriods.")
        if alarms.alarm_period(params) * n > 7 * 86_400:
            raise ValidationError(
                "The evaluation period (Period * EvaluationPeriods) of an alarm must be no more than "
                "7 days."
            )
        treat = params.get("TreatMissingData")
        if treat is not None and treat not in alarms.TREAT_MISSING:
            raise InvalidParameterValue(
                f"The value {treat} for parameter TreatMissingData is invalid: it must be one of "
                "breaching, notBreaching, ignore, missing."
            )
        low = params.get("EvaluateLowSampleCountPercentile")
        if low is not None and low not in ("evaluate", "ignore"):
            raise InvalidParameterValue(
                f"The value {low} for parameter EvaluateLowSampleCountPercentile is invalid."
            )
        for key in ("OKActions", "AlarmActions", "InsufficientDataActions"):
            for arn in params.get(key) or []:
                if not arn.startswith("arn:"):
                    raise ValidationError(f"Invalid arn syntax: {arn}")
            if len(params.get(key) or []) > 5:
                raise ValidationError(f"The collection {key} must not have a size greater than 5.")
        return {k: params[k] for k in ALARM_FIELDS if params.get(k) is not None}

    def put_metric_alarm(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        config = self._check_alarm(params)
        name = params["AlarmName"]
        tags = list(params.get("Tags") or [])
        when = store.now()
        arn = _alarm_arn(ctx.account_id, ctx.region, name)
        try:
            with self.backend.db.begin() as conn:
                existing = store.get_alarm(conn, ctx.account_id, ctx.region, name)
                if existing is None and len(tags) > MAX_TAGS:
                    raise ValidationError(f"A resource can have no more than {MAX_TAGS} tags.")
                alarm = store.Alarm(
                    account_id=ctx.account_id, region=ctx.region, name=name, arn=arn,
                    config=config, actions_enabled=params.get("ActionsEnabled", True),
                    state_value=existing.state_value if existing else "INSUFFICIENT_DATA",
                    state_reason=existing.state_reason if existing
                    else "Unchecked: Initial alarm creation",
                    state_reason_data=existing.state_reason_data if existing else None,
                    state_updated=existing.state_updated if existing else when,
                    state_transitioned=existing.state_transitioned if existing else when,
                    config_updated=when, last_evaluated_ms=None,
                    tags=existing.tags if existing else tags,
                )
                store.save_alarm(conn, alarm, new=existing is None)
                summary = f'Alarm "{name}" {"updated" if existing else "created"}'
                data: dict[str, Any] = {"version": "1.0", "type": "Update" if existing else "Create",
                                        "updatedAlarm": _history_config(alarm)}
                if existing:
                    data["originalAlarm"] = _history_config(existing)
                store.add_history(conn, alarm, "ConfigurationUpdate", summary, data, when)
        except IntegrityError:
            raise ServiceError("The alarm is being changed concurrently; try again.",
                               code="ConcurrentModificationException", status=429) from None
        ctx.resources.append(arn)
        self._spawn(self._evaluate_soon(ctx.account_id, ctx.region, name))
        return {}

    def _alarms_by_names(self, conn: Any, ctx: RequestContext, names: list[str]) -> list[store.Alarm]:
        return store.list_alarms(conn, ctx.account_id, ctx.region, names=names)

    def describe_alarms(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        types = params.get("AlarmTypes")
        if params.get("AlarmNames") and params.get("AlarmNamePrefix"):
            raise InvalidParameterCombination(
                "AlarmNames and AlarmNamePrefix are mutually exclusive parameters."
            )
        if types and "MetricAlarm" not in types or params.get("ChildrenOfAlarmName") \
                or params.get("ParentsOfAlarmName"):
            return {"MetricAlarms": [], "CompositeAlarms": []}
        limit = params.get("MaxRecords") or 50
        after = _untoken(params["NextToken"]).get("after") if params.get("NextToken") else None
        prefix = params.get("ActionPrefix")
        found: list[store.Alarm] = []
        more = False
        with self.backend.db.connect() as conn:
            while True:
                chunk = store.list_alarms(conn, ctx.account_id, ctx.region,
                                          names=params.get("AlarmNames"),
                                          prefix=params.get("AlarmNamePrefix"),
                                          state=params.get("StateValue"), after=after,
                                          limit=limit + 1 if not prefix else 500)
                for alarm in chunk:
                    after = alarm.name
                    if prefix and not any(a.startswith(prefix) for key in (
                        "OKActions", "AlarmActions", "InsufficientDataActions"
                    ) for a in alarm.config.get(key) or []):
                        continue
                    if len(found) == limit:
                        more = True
                        break
                    found.append(alarm)
                if more or len(chunk) < (limit + 1 if not prefix else 500):
                    break
        out: dict[str, Any] = {"MetricAlarms": [_alarm_out(a) for a in found], "CompositeAlarms": []}
        if more:
            out["NextToken"] = _token({"after": found[-1].name})
        return out

    def describe_alarms_for_metric(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        wanted_dims = store.dims_key(params.get("Dimensions") or [])[0]
        out = []
        with self.backend.db.connect() as conn:
            candidates = store.list_alarms(conn, ctx.account_id, ctx.region)
        for alarm in candidates:
            config = alarm.config
            if config.get("Metrics"):
                stats = [q["MetricStat"] for q in config["Metrics"] if q.get("MetricStat")]
                metrics = [(s["Metric"], s["Stat"], s["Period"], s.get("Unit")) for s in stats]
            else:
                metrics = [({"Namespace": config["Namespace"], "MetricName": config["MetricName"],
                             "Dimensions": config.get("Dimensions") or []},
                            config.get("Statistic") or config.get("ExtendedStatistic"),
                            config["Period"], config.get("Unit"))]
            for metric, stat, period, unit in metrics:
                if metric["Namespace"] != params["Namespace"] or metric["MetricName"] != params["MetricName"]:
                    continue
                if store.dims_key(metric.get("Dimensions") or [])[0] != wanted_dims:
                    continue
                wanted_stat = params.get("Statistic") or params.get("ExtendedStatistic")
                if wanted_stat and stat != wanted_stat:
                    continue
                if params.get("Period") and period != params["Period"]:
                    continue
                if params.get("Unit") and unit != params["Unit"]:
                    continue
                out.append(_alarm_out(alarm))
                break
        return {"MetricAlarms": out}

    def delete_alarms(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        names = list(params["AlarmNames"])
        with self.backend.db.begin() as conn:
            found = {a.name for a in self._alarms_by_names(conn, ctx, names)}
            missing = [n for n in names if n not in found]
            if missing:
                raise ResourceNotFound(f"Alarm(s) not found: {', '.join(missing)}")
            for name in names:
                store.delete_alarm(conn, ctx.account_id, ctx.region, name)
                ctx.resources.append(_alarm_arn(ctx.account_id, ctx.region, name))
        return {}

    def _set_actions(self, ctx: RequestContext, names: list[str], enabled: bool) -> None:
        with self.backend.db.begin() as conn:
            for alarm in self._alarms_by_names(conn, ctx, names):
                if alarm.actions_enabled != enabled:
                    store.save_alarm(conn, store.Alarm(**{**alarm.__dict__,
                                                          "actions_enabled": enabled}), new=False)
                    store.add_history(conn, alarm, "ConfigurationUpdate",
                                      f'Alarm "{alarm.name}" updated',
                                      {"version": "1.0", "type": "Update",
                                       "actionsEnabled": enabled})

    def enable_alarm_actions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._set_actions(ctx, list(params["AlarmNames"]), True)
        return {}

    def disable_alarm_actions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._set_actions(ctx, list(params["AlarmNames"]), False)
        return {}

    async def set_alarm_state(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        data = params.get("StateReasonData")
        if data is not None:
            try:
                json.loads(data)
            except ValueError:
                raise InvalidFormat("StateReasonData must be valid JSON.") from None
        with self.backend.db.connect() as conn:
            alarm = store.get_alarm(conn, ctx.account_id, ctx.region, params["AlarmName"])
        if alarm is None:
            raise ResourceNotFound(f"Alarm {params['AlarmName']} not found")
        ctx.resources.append(alarm.arn)
        change = await asyncio.to_thread(
            self._transition, alarm, params["StateValue"], params["StateReason"], data, None
        )
        if change is not None:
            self._spawn(self._notify(*change))
        return {}

    def describe_alarm_history(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        types = params.get("AlarmTypes")
        if types and "MetricAlarm" not in types:
            return {"AlarmHistoryItems": []}
        limit = params.get("MaxRecords") or 100
        offset = int(_untoken(params["NextToken"]).get("offset", 0)) if params.get("NextToken") else 0
        with self.backend.db.connect() as conn:
            rows = store.list_history(conn, ctx.account_id, ctx.region, params.get("AlarmName"),
                                      params.get("HistoryItemType"), params.get("StartDate"),
                                      params.get("EndDate"),
                                      params.get("ScanBy") == "TimestampAscending", offset,
                                      limit + 1)
        items = [{"AlarmName": r.alarm_name, "AlarmType": r.alarm_type,
                  "Timestamp": r.ts if r.ts.tzinfo else r.ts.replace(tzinfo=UTC),
                  "HistoryItemType": r.item_type, "HistorySummary": r.summary,
                  "HistoryData": r.data} for r in rows[:limit]]
        out: dict[str, Any] = {"AlarmHistoryItems": items}
        if len(rows) > limit:
            out["NextToken"] = _token({"offset": offset + limit})
        return out

    # -- tags -------------------------------------------------------------------------------------

    def _tagged(self, conn: Any, ctx: RequestContext, arn: str) -> store.Alarm:
        parts = arn.split(":", 6)
        if len(parts) != 7 or parts[2] != "cloudwatch" or parts[5] != "alarm":
            raise InvalidParameterValue(f"Invalid resource ARN: {arn}")
        alarm = store.get_alarm(conn, ctx.account_id, ctx.region, parts[6])
        if alarm is None or parts[4] != ctx.account_id or parts[3] != ctx.region:
            raise ServiceError(f"The specified resource does not exist: {arn}",
                               code="ResourceNotFoundException", status=404)
        return alarm

    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            alarm = self._tagged(conn, ctx, params["ResourceARN"])
            tags = {t["Key"]: t["Value"] for t in alarm.tags}
            tags.update({t["Key"]: t["Value"] for t in params["Tags"]})
            if len(tags) > MAX_TAGS:
                raise ServiceError(f"A resource can have no more than {MAX_TAGS} tags.",
                                   code="LimitExceededException")
            store.save_alarm(conn, store.Alarm(**{**alarm.__dict__, "tags": [
                {"Key": k, "Value": v} for k, v in tags.items()]}), new=False)
        return {}

    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            alarm = self._tagged(conn, ctx, params["ResourceARN"])
            gone = set(params["TagKeys"])
            store.save_alarm(conn, store.Alarm(**{**alarm.__dict__, "tags": [
                t for t in alarm.tags if t["Key"] not in gone]}), new=False)
        return {}

    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            alarm = self._tagged(conn, ctx, params["ResourceARN"])
        return {"Tags": alarm.tags}

    # -- evaluation -------------------------------------------------------------------------------

    async def _evaluate_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await self.evaluate_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("alarm evaluation failed")

    async def _evaluate_soon(self, account: str, region: str, name: str) -> None:
        await asyncio.sleep(0.5)
        try:
            await self.evaluate_due(only=(account, region, name))
        except Exception:
            log.exception("evaluating alarm %s failed", name)

    async def evaluate_due(self, now: int | None = None, only: tuple[str, str, str] | None = None,
                           force: bool = False) -> int:
        """Evaluate every alarm not evaluated in the last 10 seconds (or just ``only``); run
        the notifications of the state changes. Returns how many alarms changed state."""
        changes = await asyncio.to_thread(self._evaluate_all, now, only, force)
        for change in changes:
            await self._notify(*change)
        return len(changes)

    def _evaluate_all(self, now: int | None, only: tuple[str, str, str] | None,
                      force: bool) -> list[tuple[store.Alarm, str, str, str | None, datetime]]:
        now = now if now is not None else now_ms()
        with self.backend.db.connect() as conn:
            keys = [only] if only else store.all_alarm_keys(conn)
        changes = []
        for account, region, name in keys:
            with self.backend.db.connect() as conn:
                alarm = store.get_alarm(conn, account, region, name)
            if alarm is None:
                continue
            if not force and only is None and alarm.last_evaluated_ms is not None \
                    and now - alarm.last_evaluated_ms < EVALUATE_EVERY_MS:
                continue
            try:
                outcome = self._outcome(alarm, now)
            except ServiceError as exc:
                log.warning("alarm %s cannot be evaluated: %s", name, exc.message)
                outcome = None
            if outcome is None or outcome.state == alarm.state_value:
                with self.backend.db.begin() as conn:
                    store.mark_evaluated(conn, alarm, now)
                continue
            change = self._transition(alarm, outcome.state, outcome.reason,
                                      alarms.dumps(outcome.reason_data), now)
            if change is not None:
                changes.append(change)
        self._housekeeping(now)
        return changes

    def _outcome(self, alarm: store.Alarm, now: int) -> alarms.Outcome | None:
        config = alarm.config

        def fetch(start: int, end: int, period: int) -> mathexpr.Series:
            with self.backend.db.connect() as conn:
                if config.get("Metrics"):
                    results = query.run_queries(conn, alarm.account_id, alarm.region,
                                                config["Metrics"], start, end)
                    chosen = next(r for r in results if r.return_data)
                    return chosen.series
                metric = {"Namespace": config["Namespace"], "MetricName": config["MetricName"],
                          "Dimensions": config.get("Dimensions") or []}
                return query.fetch_series(conn, alarm.account_id, alarm.region, metric, start,
                                          end, period, config.get("Statistic")
                                          or config["ExtendedStatistic"], config.get("Unit"))

        return alarms.evaluate(config, fetch, now, alarm.state_value)

    def _transition(self, alarm: store.Alarm, state: str, reason: str, reason_data: str | None,
                    evaluated_ms: int | None) -> tuple[store.Alarm, str, str, str | None, datetime] | None:
        """Record a state change (compare-and-set, history); returns what to notify, or None
        when another evaluator changed the alarm first."""
        when = store.now()
        with self.backend.db.begin() as conn:
            if not store.set_state(conn, alarm, alarm.state_value, state, reason, reason_data,
                                   when, evaluated_ms):
                return None
            if alarm.state_value != state:
                store.add_history(conn, alarm, "StateUpdate",
                                  f"Alarm updated from {alarm.state_value} to {state}",
                                  {"version": "1.0",
                                   "oldState": {"stateValue": alarm.state_value,
                                                "stateReason": alarm.state_reason},
                                   "newState": {"stateValue": state, "stateReason": reason,
                                                **({"stateReasonData": json.loads(reason_data)}
                                                   if reason_data else {})}}, when)
        if alarm.state_value == state:
            return None
        return alarm, state, reason, reason_data, when

    def _housekeeping(self, now: int) -> None:
        """Drop metric data past retention and history past two weeks (cheap, indexed)."""
        if getattr(self, "_last_housekeeping", 0) > now - 3_600_000:
            return
        self._last_housekeeping = now
        with self.backend.db.begin() as conn:
            store.expire_datapoints(conn, now - RETENTION_MS)
            store.expire_history(conn, _dt(now) - timedelta(days=HISTORY_DAYS))

    async def _notify(self, alarm: store.Alarm, state: str, reason: str, reason_data: str | None,
                      when: datetime) -> None:
        previous = alarms.state_doc(alarm.state_value, alarm.state_reason, alarm.state_reason_data,
                                    alarm.state_updated)
        current = alarms.state_doc(state, reason, reason_data, when)
        detail = {"alarmName": alarm.name, "state": current, "previousState": previous,
                  "configuration": alarms.event_configuration(alarm.config)}
        try:
            from seedbed.services.events.publish import emit

            await emit(self.backend, alarm.account_id, alarm.region, "aws.cloudwatch",
                       "CloudWatch Alarm State Change", detail, [alarm.arn])
        except Exception:
            log.exception("could not emit the state change of alarm %s", alarm.name)
        with self.backend.db.connect() as conn:
            fresh = store.get_alarm(conn, alarm.account_id, alarm.region, alarm.name)
        if fresh is None or not fresh.actions_enabled:
            return
        key = {"OK": "OKActions", "ALARM": "AlarmActions",
               "INSUFFICIENT_DATA": "InsufficientDataActions"}[state]
        for action in fresh.config.get(key) or []:
            await self._run_action(fresh, action, detail, when)

    async def _run_action(self, alarm: store.Alarm, action: str, detail: dict[str, Any],
                          when: datetime) -> None:
        parts = action.split(":")
        failure = None
        if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
            payload = {"source": "aws.cloudwatch", "alarmArn": alarm.arn,
                       "accountId": alarm.account_id, "time": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000",
                       "region": alarm.region, "alarmData": detail}
            try:
                await self.backend.call(None, "lambda", "Invoke", {
                    "FunctionName": action, "InvocationType": "Event",
                    "Payload": json.dumps(payload).encode(),
                }, parts[3], alarm.account_id)
            except ServiceError as exc:
                failure = f"{exc.code}: {exc.message}"
        else:
            service = parts[2] if len(parts) > 2 else action
            failure = (f"Seedbed does not run {service} alarm actions (only Lambda functions); "
                       "the state change was still emitted to EventBridge")
        summary = (f"Successfully executed action {action}" if failure is None
                   else f"Failed to execute action {action}")
        data = {"actionState": "Succeeded" if failure is None else "Failed",
                "stateUpdateTimestamp": when.isoformat(), "notificationResource": action}
        if failure:
            data["error"] = failure
            log.warning("alarm %s action %s: %s", alarm.name, action, failure)
        with self.backend.db.begin() as conn:
            store.add_history(conn, alarm, "Action", summary, data)


def _history_config(alarm: store.Alarm) -> dict[str, Any]:
    config = dict(alarm.config)
    config["alarmName"] = alarm.name
    config["actionsEnabled"] = alarm.actions_enabled
    return config
