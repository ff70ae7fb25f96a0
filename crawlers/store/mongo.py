"""MongoDB store for deployments that outgrow one machine (many crawler processes, one DB).

Kept deliberately thin: it maps the same :class:`~crawlers.store.base.Store` calls onto
three collections. No MongoDB server is installable in vocwatch's CI (no registry we
reach ships one), so this module is checked only for its document mapping and for
failing clearly when the server is unreachable; the SQLite store carries the tested
semantics. Pass the URI through ``VOCWATCH_STORE_URL``, never in a config file.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from crawlers.items import DATETIME_FIELDS, MENTION_FIELDS, NLP_FIELDS, Mention
from crawlers.store.base import (
    BUCKETS,
    HEALTH_SEVERITIES,
    KEEP_FULL_TEXT,
    KEEP_ON_UPDATE,
    KEEP_PERMALINK,
    ROLLUP_KEYS,
    WHOLE_RANGE,
    CrawlRun,
    HealthFinding,
    IdMigration,
    KeyedRow,
    MentionQuery,
    RollupRow,
    UpsertResult,
    plan_id_migration,
)
from crawlers.store.schedule import MongoScheduleState

if TYPE_CHECKING:
    from crawlers.store.alerts import (
        AspectHour,
        HourCounts,
        MongoAlerts,
        MongoSnapshots,
        ViralCandidate,
    )
    from crawlers.store.deliveries import MongoDeliveries
    from crawlers.store.identities import MongoIdentities
    from crawlers.store.workflow import MongoWorkflow


def mention_to_doc(m: Mention) -> dict[str, Any]:
    doc = m.to_dict()
    doc["_id"] = doc.pop("fingerprint")
    return doc


def checked_doc(m: Mention) -> dict[str, Any]:
    """The document of ``m``, encoded once to BSON first: a value BSON cannot hold (an int
    beyond 64 bits, a set, an object) raises here, before any op of the batch is sent, so a
    failed batch wrote nothing and the caller can retry its items one by one."""
    import bson

    doc = mention_to_doc(m)
    bson.encode(doc)
    return doc


def doc_to_mention(doc: dict[str, Any]) -> Mention:
    d = {k: v for k, v in doc.items() if k in MENTION_FIELDS}
    d["fingerprint"] = doc["_id"]
    d["truncated"] = bool(doc.get("truncated"))  # documents stored before the flag: full texts
    d["permalink"] = doc.get("permalink")  # documents stored before the field: unknown
    for k in DATETIME_FIELDS:
        if isinstance(d.get(k), datetime) and d[k].tzinfo is None:
            d[k] = d[k].replace(tzinfo=UTC)  # pymongo returns naive UTC by default
    return Mention(**d)


_VERSION_ID = "mentions_version"
"""``meta`` document counting writes to the mentions (:meth:`MongoStore.data_version`)."""


class MongoStore:
    def __init__(self, url: str, database: str | None = None, *, server_timeout_ms: int = 5000) -> None:
        import pymongo

        self.url = url
        self._client: Any = pymongo.MongoClient(url, tz_aware=True, serverSelectionTimeoutMS=server_timeout_ms)
        db = self._client.get_default_database(default=database or "vocwatch")
        self._mentions, self._runs, self._meta = db["mentions"], db["crawl_runs"], db["meta"]
        self._mentions.create_index([("location_id", 1), ("published_at", 1)])
        self._mentions.create_index("source_id")
        self._runs.create_index([("source_id", 1), ("started_at", -1)])
        self._health = db["crawl_health"]
        self._health.create_index([("source_id", 1), ("run_id", -1)])

    def upsert_mentions(self, mentions: Sequence[Mention]) -> UpsertResult:
        from pymongo import UpdateOne

        ops, links, seen = [], [], set()
        for m in reversed(mentions):  # last write of a fingerprint wins, as in SQLite
            if m.fingerprint in seen:
                continue
            seen.add(m.fingerprint)
            doc = checked_doc(m)
            keep = {k: doc.pop(k) for k in KEEP_ON_UPDATE}
            doc.pop("_id")
            link = doc.pop(KEEP_PERMALINK)
            if link is not None:  # a known address is never cleared by a page that shows none
                doc[KEEP_PERMALINK] = link
            # First op(s) update an existing record whose content changed; the last inserts a new one.
            changed = {"_id": m.fingerprint, "content_hash": {"$ne": m.content_hash}}
            if m.truncated:  # a snippet never cuts a stored full text (crawlers.store.base.keeps_stored_text)
                ops.append(UpdateOne({**changed, "$or": [{"truncated": True}, {"text": {"$in": ["", None]}}]},
                                     {"$set": doc}))
                ops.append(UpdateOne({**changed, "truncated": {"$ne": True}, "text": {"$nin": ["", None]}},
                                     {"$set": {k: v for k, v in doc.items() if k not in KEEP_FULL_TEXT}}))
            else:
                ops.append(UpdateOne(changed, {"$set": doc}))
            ops.append(UpdateOne({"_id": m.fingerprint}, {"$setOnInsert": {**doc, **keep, KEEP_PERMALINK: link}},
                                 upsert=True))
            if link is not None:  # unchanged content, a new (or first) address: not counted as an update
                links.append(UpdateOne({"_id": m.fingerprint, KEEP_PERMALINK: {"$ne": link}},
                                       {"$set": {KEEP_PERMALINK: link}}))
        if not ops:
            return UpsertResult()
        res = self._mentions.bulk_write(ops, ordered=True)
        inserted = res.upserted_count
        updated = res.modified_count
        if links:  # after the content ops: a mention updated or inserted above has its address already
            self._mentions.bulk_write(links, ordered=False)
        if inserted or updated:
            self._bump_version()
        return UpsertResult(inserted=inserted, updated=updated, unchanged=len(mentions) - inserted - updated)

    def update_nlp(self, mentions: Sequence[Mention]) -> int:
        from pymongo import UpdateOne

        if not mentions:
            return 0
        ops = [UpdateOne({"_id": m.fingerprint}, {"$set": {f: getattr(m, f) for f in NLP_FIELDS}}) for m in mentions]
        found = self._mentions.bulk_write(ops, ordered=False).matched_count
        if found:
            self._bump_version()
        return found

    def _bump_version(self) -> None:
        self._meta.update_one({"_id": _VERSION_ID}, {"$inc": {"value": 1}}, upsert=True)

    def data_version(self) -> str:
        """As SQLite's: a counter in the database, moved by every write to the mentions."""
        doc = self._meta.find_one({"_id": _VERSION_ID})
        return str(doc["value"] if doc else 0)

    def migrate_ids(self, scope_of: Callable[[Mention], str | None], *, dry_run: bool = False) -> IdMigration:
        """As SQLite's; documents are re-inserted under their new ``_id`` (MongoDB cannot
        change one), through a temporary ``migrating:`` key, so a run cut short is finished
        by the next (the plan is recomputed from the fields)."""
        result = IdMigration()
        fields = {"site": 1, "kind": 1, "url": 1, "external_id": 1, "id_scope": 1, "source_id": 1, "updated_at": 1}
        rows = (KeyedRow(d["_id"], d.get("site", ""), d.get("kind", ""), d.get("url", ""), d["external_id"],
                         d.get("id_scope") or "", d.get("source_id", ""), str(d.get("updated_at") or ""))
                for d in self._mentions.find({"external_id": {"$nin": [None, ""]}}, fields))
        moves, deletes = plan_id_migration(rows, scope_of, result)
        if dry_run:
            return result
        if deletes:
            self._mentions.delete_many({"_id": {"$in": deletes}})
        for steps in ([(old, "migrating:" + new, scope) for old, (new, scope) in moves.items()],
                      [("migrating:" + new, new, scope) for new, scope in moves.values()]):
            for old, new, scope in steps:
                doc = self._mentions.find_one({"_id": old})
                if doc is None:
                    continue
                doc["_id"], doc["id_scope"] = new, scope
                self._mentions.replace_one({"_id": new}, doc, upsert=True)
                self._mentions.delete_one({"_id": old})
        if moves or deletes:  # after the writes: a reader between them caches under the old version
            self._bump_version()
        return result

    def known_fingerprints(self, source_id: str) -> dict[str, str]:
        return {d["_id"]: d["content_hash"] for d in self._mentions.find({"source_id": source_id}, {"content_hash": 1})}

    def known_permalinks(self, source_id: str) -> dict[str, str]:
        return {d["_id"]: d["permalink"] for d in self._mentions.find(
            {"source_id": source_id, "permalink": {"$nin": [None, ""]}}, {"permalink": 1})}

    def iter_mentions(self, *, location_ids: Iterable[str] | None = None, since: datetime | None = None,
                      until: datetime | None = None) -> Iterator[Mention]:
        q: dict[str, Any] = {}
        if location_ids is not None:
            q["location_id"] = {"$in": list(location_ids)}
        if since is not None or until is not None:
            q["published_at"] = {k: v for k, v in (("$gte", since), ("$lt", until)) if v is not None}
        for doc in self._mentions.find(q).sort([("location_id", 1), ("published_at", 1)]):
            yield doc_to_mention(doc)

    def query_mentions(self, query: MentionQuery) -> list[Mention]:
        # newest first, mentions without a date last, ties by fingerprint (as SQLite orders)
        docs = self._mentions.find(mention_query_filter(query)).sort(
            [("published_at", -1), ("_id", 1)]).skip(query.offset).limit(query.limit)
        return [doc_to_mention(d) for d in docs]

    def count_matching(self, query: MentionQuery) -> int:
        return self._mentions.count_documents(mention_query_filter(query))

    def get_mention(self, fingerprint: str) -> Mention | None:
        doc = self._mentions.find_one({"_id": fingerprint})
        return doc_to_mention(doc) if doc else None

    def count_mentions(self, *, source_id: str | None = None) -> int:
        return self._mentions.count_documents({} if source_id is None else {"source_id": source_id})

    def rollup(self, *, bucket: str = "day", group_by: Sequence[str] = ("location_id",),
               since: datetime | None = None, until: datetime | None = None,
               location_ids: Iterable[str] | None = None) -> Iterator[RollupRow]:
        """The same sums as the SQLite store, as one aggregation pipeline (MongoDB >= 5 for
        ``$dateTrunc``). Untested against a server, like the rest of this module. It reads
        the mentions themselves (over the ``location_id, published_at`` index): the SQLite
        store's day summaries (``crawlers.store.summary``) are not kept here, since a
        summary maintained in ``upsert_mentions`` would need each replaced document's old
        values and a transaction to stay exact across many crawler processes."""
        for row in self._rollup_docs(rollup_pipeline(bucket, group_by, since, until, location_ids)):
            k = row["_id"]
            keys = tuple(k.get(f"k{i}") for i in range(len(group_by)))
            if "stars" in group_by:  # $floor gives a double: the key is an int, as in SQLite
                i = list(group_by).index("stars")
                keys = (*keys[:i], None if keys[i] is None else int(keys[i]), *keys[i + 1:])
            yield RollupRow(k["b"] if isinstance(k["b"], str) else k["b"].strftime("%Y-%m-%d"), keys,
                            row["mentions"], row["rated"], row["rating_sum"], row["positive"], row["neutral"],
                            row["negative"], row["sentiment_sum"], row["scored"], row["replied"],
                            int(row["engagement"]), int(row.get("truncated") or 0))

    def _rollup_docs(self, pipeline: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        return self._mentions.aggregate(pipeline, allowDiskUse=True)

    def start_run(self, source_id: str, spider: str, started_at: datetime,
                  stats: dict[str, Any] | None = None) -> int:
        counter = self._meta.find_one_and_update({"_id": "run_seq"}, {"$inc": {"value": 1}}, upsert=True, return_document=True)
        run_id = int(counter["value"])
        self._runs.insert_one({"_id": run_id, "source_id": source_id, "spider": spider, "started_at": started_at,
                               "finished_at": None, "outcome": "running", "stats": _clean_stats(stats or {})})
        return run_id

    def finish_run(self, run_id: int, finished_at: datetime, outcome: str, stats: dict[str, Any]) -> None:
        clean = _clean_stats(stats)
        self._runs.update_one({"_id": run_id}, {"$set": {"finished_at": finished_at, "outcome": outcome, "stats": clean}})

    def last_successful_run(self, source_id: str) -> CrawlRun | None:
        doc = self._runs.find_one(last_successful_query(source_id), sort=[("started_at", -1)])
        return _run(doc) if doc else None

    def list_runs(self, *, source_id: str | None = None, outcome: str | None = None, limit: int = 50) -> list[CrawlRun]:
        q = {k: v for k, v in (("source_id", source_id), ("outcome", outcome)) if v is not None}
        return [_run(d) for d in self._runs.find(q).sort("_id", -1).limit(limit)]

    def record_health(self, run_id: int, findings: Sequence[HealthFinding]) -> None:
        rank = {s: i for i, s in enumerate(HEALTH_SEVERITIES)}
        self._health.delete_many({"run_id": run_id})
        if findings:
            self._health.insert_many([{"_id": f"{run_id}:{f.problem}", "run_id": run_id, "source_id": f.source_id,
                                       "problem": f.problem, "severity": f.severity, "rank": rank.get(f.severity, -1),
                                       "message": f.message, "details": f.details, "found_at": f.found_at}
                                      for f in findings])

    def list_health(self, *, source_id: str | None = None, run_id: int | None = None,
                    limit: int = 100) -> list[HealthFinding]:
        q = {k: v for k, v in (("source_id", source_id), ("run_id", run_id)) if v is not None}
        docs = self._health.find(q).sort([("run_id", -1), ("rank", -1), ("problem", 1)]).limit(limit)
        return [HealthFinding(source_id=d["source_id"], problem=d["problem"], severity=d["severity"],
                              message=d["message"], details=d.get("details", {}), run_id=d["run_id"],
                              found_at=_aware(d.get("found_at"))) for d in docs]

    def secret(self, name: str) -> bytes:
        self._meta.update_one({"_id": f"secret:{name}"}, {"$setOnInsert": {"value": secrets.token_bytes(32)}}, upsert=True)
        return bytes(self._meta.find_one({"_id": f"secret:{name}"})["value"])

    def close(self) -> None:
        self._client.close()

    # -- schedule state: scale lane
    @cached_property
    def schedule_state(self) -> MongoScheduleState:
        """The scheduler's next run times, in this database's ``schedule_state`` collection."""
        return MongoScheduleState(self._mentions.database)

    # -- identities: sessions lane ------------------------------------------------
    @cached_property
    def identities(self) -> MongoIdentities:
        """Account and proxy states, in this database's ``identities`` collection."""
        from crawlers.store.identities import MongoIdentities

        return MongoIdentities(self._mentions.database)

    # -- deliveries: deliveries lane ----------------------------------------------
    @cached_property
    def deliveries(self) -> MongoDeliveries:
        """``alert_deliveries`` and ``delivery_windows`` in this store's database."""
        from crawlers.store.deliveries import MongoDeliveries

        return MongoDeliveries(self._mentions.database)

    @cached_property
    def workflow(self) -> MongoWorkflow:
        """Work items and the audit log, in this database's ``work_items`` / ``work_events``."""
        from crawlers.store.workflow import MongoWorkflow

        return MongoWorkflow(self._mentions.database)

    # -- alerts, engagement snapshots, hourly series: alerts lane
    @cached_property
    def alerts(self) -> MongoAlerts:
        from crawlers.store.alerts import MongoAlerts

        return MongoAlerts(self._mentions.database)

    @cached_property
    def snapshots(self) -> MongoSnapshots:
        from crawlers.store.alerts import MongoSnapshots

        return MongoSnapshots(self._mentions.database)

    def hour_counts(self, *, since: datetime, until: datetime,
                    location_ids: Iterable[str] | None = None) -> list[HourCounts]:
        from crawlers.store.alerts import mongo_hour_counts

        return mongo_hour_counts(self._mentions, since, until, location_ids)

    def negative_aspect_hours(self, *, since: datetime, until: datetime,
                              location_ids: Iterable[str] | None = None) -> list[AspectHour]:
        from crawlers.store.alerts import mongo_aspect_hours

        return mongo_aspect_hours(self._mentions, since, until, location_ids)

    def viral_candidates(self, *, since: datetime, until: datetime,
                         location_ids: Iterable[str] | None = None) -> list[ViralCandidate]:
        from crawlers.store.alerts import mongo_viral_candidates

        return mongo_viral_candidates(self._mentions, since, until, location_ids)


def _aware(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if isinstance(dt, datetime) and dt.tzinfo is None else dt


def _clean_stats(stats: dict[str, Any]) -> dict[str, Any]:
    """Stats as Mongo keys allow (no ``.`` or ``$``) and plain values; lists of records
    (``vocwatch/failed_requests``) stay lists, as in the SQLite store's JSON."""
    def plain(v: Any) -> Any:
        if isinstance(v, int | float | str | bool) or v is None:
            return v
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        return str(v)

    return {k.replace(".", "\uff0e").replace("$", "\uff04"): plain(v) for k, v in stats.items()}


def last_successful_query(source_id: str) -> dict[str, Any]:
    """The runs that may set a source's incremental cut-off: ``finished`` and advanced
    (``vocwatch/cutoff/advanced`` not 0; runs recorded before that flag existed count as
    before, by their outcome)."""
    return {"source_id": source_id, "outcome": "finished", "stats.vocwatch/cutoff/advanced": {"$ne": 0}}


def _run(d: dict[str, Any]) -> CrawlRun:
    return CrawlRun(id=d["_id"], source_id=d["source_id"], spider=d["spider"], started_at=d["started_at"],
                    finished_at=d.get("finished_at"), outcome=d["outcome"], stats=d.get("stats", {}))


def mention_query_filter(q: MentionQuery) -> dict[str, Any]:
    """The Mongo filter of ``q``: the same matches as the SQLite store's ``WHERE``."""
    f: dict[str, Any] = {}
    for key, values in (("location_id", q.location_ids), ("source_id", q.source_ids), ("site", q.sites),
                        ("language", q.languages), ("kind", q.kinds)):
        if values is not None:
            f[key] = {"$in": list(values)}
    fp: dict[str, Any] = {}
    if q.fingerprints is not None:
        fp["$in"] = list(q.fingerprints)
    if q.exclude_fingerprints:
        fp["$nin"] = list(q.exclude_fingerprints)
    if fp:
        f["_id"] = fp
    if q.sentiments is not None:
        labels: list[Any] = [s for s in q.sentiments if s != "unlabelled"]
        if "unlabelled" in q.sentiments:
            labels.append(None)
        f["sentiment_label"] = {"$in": labels}
    if q.since is not None or q.until is not None:
        f["published_at"] = {k: v for k, v in (("$gte", q.since), ("$lt", q.until)) if v is not None}
    if q.min_rating is not None or q.max_rating is not None:
        f["rating"] = {k: v for k, v in (("$gte", q.min_rating), ("$lte", q.max_rating)) if v is not None}
    if q.has_reply is not None:
        f["reply_text"] = {"$nin": [None, ""]} if q.has_reply else {"$in": [None, ""]}
    if q.aspect is not None:
        match: dict[str, Any] = {"aspect": q.aspect}
        if q.aspect_sentiment is not None:
            match["sentiment"] = q.aspect_sentiment
        f["aspects"] = {"$elemMatch": match}
    return f


def rollup_pipeline(bucket: str, group_by: Sequence[str], since: datetime | None, until: datetime | None,
                    location_ids: Iterable[str] | None) -> list[dict[str, Any]]:
    """The ``$group`` pipeline behind :meth:`MongoStore.rollup` (checked by unit tests)."""
    if bucket not in BUCKETS and bucket != WHOLE_RANGE:
        raise ValueError(f"unknown bucket {bucket!r}; one of {', '.join((*BUCKETS, WHOLE_RANGE))}")
    bad = [k for k in group_by if k not in ROLLUP_KEYS]
    if bad:
        raise ValueError(f"cannot group by {', '.join(bad)}; one of {', '.join(ROLLUP_KEYS)}")
    match: dict[str, Any] = {"published_at": {"$ne": None}}
    if since is not None:
        match["published_at"]["$gte"] = since
    if until is not None:
        match["published_at"]["$lt"] = until
    if location_ids is not None:
        match["location_id"] = {"$in": list(location_ids)}
    by_aspect = "aspect" in group_by
    label = "$aspects.sentiment" if by_aspect else "$sentiment_label"
    score = "$aspects.score" if by_aspect else "$sentiment_score"
    # base.whole_stars: half up ($round would round 4.5 to even 4), held to 1..5, null stays null
    stars = {"$cond": [{"$eq": [{"$ifNull": ["$rating", None]}, None]}, None,
                       {"$max": [1, {"$min": [5, {"$floor": {"$add": ["$rating", 0.5]}}]}]}]}
    field_of = {k: f"${k}" for k in ROLLUP_KEYS} | {"aspect": "$aspects.aspect", "sentiment_label": label,
                                                   "stars": stars}
    trunc: dict[str, Any] = {"date": "$published_at", "unit": bucket, "timezone": "UTC"}
    if bucket == "week":
        trunc["startOfWeek"] = "monday"
    whole = since.date().isoformat() if since else ""
    key: dict[str, Any] = {"b": whole if bucket == WHOLE_RANGE else {"$dateTrunc": trunc}} | {f"k{i}": field_of[k] for i, k in enumerate(group_by)}

    def count_if(cond: Any) -> dict[str, Any]:
        return {"$sum": {"$cond": [cond, 1, 0]}}

    pipeline: list[dict[str, Any]] = [{"$match": match}]
    if by_aspect:
        pipeline.append({"$unwind": "$aspects"})
    pipeline += [
        {"$group": {
            "_id": key,
            "mentions": {"$sum": 1},
            "rated": count_if({"$ne": [{"$ifNull": ["$rating", None]}, None]}),
            "rating_sum": {"$sum": {"$ifNull": ["$rating", 0]}},
            "positive": count_if({"$eq": [label, "positive"]}),
            "neutral": count_if({"$eq": [label, "neutral"]}),
            "negative": count_if({"$eq": [label, "negative"]}),
            "sentiment_sum": {"$sum": {"$ifNull": [score, 0]}},
            "scored": count_if({"$ne": [{"$ifNull": [score, None]}, None]}),
            "replied": count_if({"$ne": [{"$ifNull": ["$reply_text", None]}, None]}),
            "engagement": {"$sum": {"$add": [{"$ifNull": ["$likes", 0]}, {"$ifNull": ["$reposts", 0]},
                                             {"$ifNull": ["$comments", 0]}]}},
            "truncated": count_if({"$eq": ["$truncated", True]}),
        }},
        {"$sort": {"_id.b": 1, **{f"_id.k{i}": 1 for i in range(len(group_by))}}},
    ]
    return pipeline
