"""Aspect tagging evaluation on the labelled aspect data in ``../shared/datasets``.

    python -m nlp.training.evaluate_aspects --shared ../shared [--splits test] [--per-aspect]

Runs :func:`nlp.analyze.analyze` with the dataset's domain (what a user gets; language is
detected, not given) and compares the aspect ids it returns with the gold categories mapped
to our aspect ids below. Only the aspect ids that some gold category maps to are scored in
a dataset: a prediction of an aspect the dataset never labels (e.g. ``portion`` on MAMS) is
neither right nor wrong there and is ignored.

Per dataset and split it prints: n (units: MAMS/SemEval sentences, ASAP reviews), micro
precision/recall/F1 of aspect detection (per unit, set of aspect ids), per-aspect F1 and
support, and aspect-sentiment accuracy: on correctly detected aspects whose gold polarity is
positive or negative, the share whose ``AspectSentiment.sentiment`` equals it (a predicted
``neutral`` counts as wrong); ``sign acc`` is the same with the clause score's sign
(score >= 0 positive), i.e. without the model's neutral band. Gold ``neutral`` aspects, and
aspects whose mapped categories disagree (``conflict``: e.g. MAMS service negative + staff
positive, both -> service), are excluded from the accuracy; ``n neu`` counts the neutral
ones and ``neu acc`` how often we said neutral for them.

Splits. MAMS: its own train / val / test. ASAP: train sample / dev sample (the dev sample is
the held-out part: never looked at while choosing terms). SemEval-2016 Chinese phones and
cameras: by review, bucket = md5("{file stem}:{review rid}") mod 10: 0-2 test, 3-4 dev,
5-9 train. Taxonomy terms were chosen only from the train (and dev/val) splits.

Review text is read from ``--shared`` at run time and never written anywhere.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nlp.analyze import analyze

# ---------------------------------------------------------------------------------------
# Mappings: dataset category -> our aspect id. Categories absent here are unmapped: their
# gold labels are dropped (see UNMAPPED for why).

MAMS_DOMAIN = "restaurant"
MAMS_MAP = {
    "food": "taste",          # food quality / dishes / drinks
    "service": "service",
    "staff": "service",       # MAMS splits service (process) and staff (people); we do not
    "price": "price",
    "ambience": "environment",
    "place": "environment",   # the restaurant as a place: decor, space, seating, setting
}

ASAP_DOMAIN = "restaurant"
ASAP_MAP = {
    "location_traffic": "location",
    "location_distance_from_business_district": "location",
    "location_easy_to_find": "location",
    "service_wait_time": "waiting",
    "service_waiters_attitude": "service",
    "service_serving_speed": "waiting",
    "price_level": "price",
    "price_cost_effective": "price",
    "price_discount": "price",
    "environment_decoration": "environment",
    "environment_noise": "environment",
    "environment_space": "environment",
    "environment_cleaness": "hygiene",
    "dish_portion": "portion",
    "dish_taste": "taste",
}

SEMEVAL_DOMAIN = "ecommerce"
SEMEVAL_FILES = ("Chinese_phones_training", "camera_training")


def semeval_map(category: str) -> str | None:
    """SemEval-2016 ENTITY#ATTRIBUTE -> ecommerce aspect id, or None (unmapped)."""
    entity, _, attribute = category.partition("#")
    if attribute == "PRICE":
        return "price"
    if entity in ("SUPPORT", "WARRANTY"):
        return "customer_service"
    if attribute == "QUALITY" and entity in ("PHONE", "CAMERA", "HARDWARE"):
        return "quality"  # the device as a whole / its build: what 质量, 做工 ... mean
    return None


UNMAPPED = {
    "MAMS": {
        "menu": "choice/selection on the menu; no aspect of ours (not taste, not price)",
        "miscellaneous": "anything else (the visit, the occasion, the restaurant in general)",
    },
    "ASAP": {
        "service_parking_convenience": "parking; no restaurant aspect (location is about where, "
                                       "not parking)",
        "dish_look": "presentation; no aspect of ours (not taste)",
        "dish_recommendation": "whether dishes are recommended; not a property aspect",
    },
    "SemEval-2016 zh": {
        "<component>#QUALITY (DISPLAY, PHOTO, BATTERY, LENS, MULTIMEDIA_DEVICES, ...)":
            "how well a component performs (a sharp screen, good photos, battery life); "
            "ecommerce 'quality' is the product's build/durability/defects, so these are a "
            "different, electronics-specific taxonomy",
        "*#OPERATION_PERFORMANCE, DESIGN_FEATURES, USABILITY, CONNECTIVITY, PORTABILITY, "
        "GENERAL, MISCELLANEOUS": "product features/performance; no ecommerce aspect",
    },
}

POLARITY = {"positive": "positive", "negative": "negative", "neutral": "neutral",
            "1": "positive", "-1": "negative", "0": "neutral"}


@dataclass
class Example:
    text: str
    gold: dict[str, str]
    """aspect id -> positive / negative / neutral / conflict."""


def _combine(gold: dict[str, list[str]]) -> dict[str, str]:
    """Several source categories may map to one aspect: pos+pos -> pos, pos+neutral -> pos,
    pos+neg -> conflict, only neutral -> neutral."""
    out = {}
    for aid, pols in gold.items():
        polar = {p for p in pols if p in ("positive", "negative")}
        out[aid] = polar.pop() if len(polar) == 1 else "conflict" if polar else "neutral"
    return out


def load_mams(path: Path) -> list[Example]:
    out = []
    for s in ET.parse(path).getroot().iter("sentence"):
        gold: dict[str, list[str]] = {}
        for c in s.iter("aspectCategory"):
            if aid := MAMS_MAP.get(c.get("category", "")):
                gold.setdefault(aid, []).append(POLARITY[c.get("polarity", "neutral")])
        out.append(Example(s.findtext("text") or "", _combine(gold)))
    return out


def load_asap(path: Path) -> list[Example]:
    out = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            gold: dict[str, list[str]] = {}
            for col, aid in ASAP_MAP.items():
                value = (row.get(col) or "-2").strip()
                if value != "-2":
                    gold.setdefault(aid, []).append(POLARITY[value])
            out.append(Example(row.get("reviewbody") or "", _combine(gold)))
    return out


def semeval_split(stem: str, rid: str) -> str:
    bucket = int(hashlib.md5(f"{stem}:{rid}".encode()).hexdigest(), 16) % 10
    return "test" if bucket <= 2 else "dev" if bucket <= 4 else "train"


def load_semeval(paths: Iterable[Path]) -> dict[str, list[Example]]:
    """All sentences (with or without opinions), by split of their review."""
    out: dict[str, list[Example]] = {"train": [], "dev": [], "test": []}
    for path in paths:
        for review in ET.parse(path).getroot().iter("Review"):
            split = semeval_split(path.stem, review.get("rid", ""))
            for s in review.iter("sentence"):
                gold: dict[str, list[str]] = {}
                for o in s.iter("Opinion"):
                    if aid := semeval_map(o.get("category", "")):
                        gold.setdefault(aid, []).append(POLARITY[o.get("polarity", "neutral")])
                out[split].append(Example(s.findtext("text") or "", _combine(gold)))
    return out


# ---------------------------------------------------------------------------------------

@dataclass
class Scores:
    n: int = 0
    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    sent_n: int = 0
    sent_ok: int = 0
    sign_ok: int = 0
    neutral_n: int = 0
    neutral_ok: int = 0

    @staticmethod
    def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    @property
    def micro(self) -> tuple[float, float, float]:
        return self.prf(sum(self.tp.values()), sum(self.fp.values()), sum(self.fn.values()))

    def aspect(self, aid: str) -> tuple[float, float, float]:
        return self.prf(self.tp[aid], self.fp[aid], self.fn[aid])

    @property
    def sentiment_accuracy(self) -> float:
        return self.sent_ok / self.sent_n if self.sent_n else 0.0

    @property
    def sign_accuracy(self) -> float:
        return self.sign_ok / self.sent_n if self.sent_n else 0.0


def evaluate(examples: Sequence[Example], domain: str, scored: Iterable[str]) -> Scores:
    """Score ``analyze(texts, domain=domain)`` against ``examples`` on the aspect ids ``scored``."""
    scored = set(scored)
    sc = Scores(n=len(examples))
    results = analyze([e.text for e in examples], domain=domain)
    for ex, res in zip(examples, results, strict=True):
        pred = {a.aspect: a for a in res.aspects if a.aspect in scored}
        for aid in scored:
            if aid in pred and aid in ex.gold:
                sc.tp[aid] += 1
                gold = ex.gold[aid]
                if gold in ("positive", "negative"):
                    sc.sent_n += 1
                    sc.sent_ok += pred[aid].sentiment == gold
                    sc.sign_ok += ("positive" if pred[aid].score >= 0 else "negative") == gold
                elif gold == "neutral":
                    sc.neutral_n += 1
                    sc.neutral_ok += pred[aid].sentiment == "neutral"
            elif aid in pred:
                sc.fp[aid] += 1
            elif aid in ex.gold:
                sc.fn[aid] += 1
    return sc


@dataclass
class Dataset:
    name: str
    domain: str
    scored: tuple[str, ...]
    splits: dict[str, Callable[[], list[Example]]]


def datasets(shared: Path) -> list[Dataset]:
    """The datasets whose files exist under ``shared`` (a missing one is skipped)."""
    base = shared / "datasets"
    out = []
    mams = base / "en" / "mams_acsa"
    if (mams / "test.xml").exists():
        out.append(Dataset("MAMS-ACSA (en)", MAMS_DOMAIN, tuple(dict.fromkeys(MAMS_MAP.values())),
                           {s: (lambda s=s: load_mams(mams / f"{s}.xml")) for s in ("train", "val", "test")
                            if (mams / f"{s}.xml").exists()}))
    asap = {s: base / "zh" / f"asap_{s}_sample.csv" for s in ("train", "dev")}
    if asap["dev"].exists():
        out.append(Dataset("ASAP sample (zh)", ASAP_DOMAIN, tuple(dict.fromkeys(ASAP_MAP.values())),
                           {s: (lambda p=p: load_asap(p)) for s, p in asap.items() if p.exists()}))
    sem = [base / "zh" / "semeval16_absa" / f"{f}.xml" for f in SEMEVAL_FILES]
    sem = [p for p in sem if p.exists()]
    if sem:
        cache: dict[str, dict[str, list[Example]]] = {}

        def split(s: str) -> list[Example]:
            if "all" not in cache:
                cache["all"] = load_semeval(sem)
            return cache["all"][s]

        out.append(Dataset("SemEval-2016 phones+cameras (zh)", SEMEVAL_DOMAIN,
                           ("quality", "price", "customer_service"),
                           {s: (lambda s=s: split(s)) for s in ("train", "dev", "test")}))
    return out


HELD_OUT = {"test", "dev"}


def run(shared: Path, splits: Sequence[str] | None = None, per_aspect: bool = True,
        out: Callable[[str], None] = print) -> list[dict]:
    """Evaluate every dataset found under ``shared``; print a table; return one dict per
    (dataset, split)."""
    rows = []
    found = datasets(shared)
    if not found:
        out(f"no aspect datasets under {shared / 'datasets'}")
        return rows
    out("| dataset | split | n | P | R | F1 | sent acc | sign acc | n pos/neg | n neu | neu acc |")
    out("|---|---|---|---|---|---|---|---|---|---|---|")
    details = []
    for ds in found:
        for split, load in ds.splits.items():
            if splits and split not in splits:
                continue
            sc = evaluate(load(), ds.domain, ds.scored)
            p, r, f = sc.micro
            neu = f"{sc.neutral_ok / sc.neutral_n:.3f}" if sc.neutral_n else "-"
            out(f"| {ds.name} | {split} | {sc.n} | {p:.3f} | {r:.3f} | {f:.3f} | "
                f"{sc.sentiment_accuracy:.3f} | {sc.sign_accuracy:.3f} | {sc.sent_n} | "
                f"{sc.neutral_n} | {neu} |")
            per = {aid: (*sc.aspect(aid), sc.tp[aid] + sc.fn[aid]) for aid in ds.scored}
            rows.append({"dataset": ds.name, "split": split, "domain": ds.domain, "n": sc.n,
                         "precision": p, "recall": r, "f1": f,
                         "sentiment_accuracy": sc.sentiment_accuracy, "sign_accuracy": sc.sign_accuracy,
                         "sentiment_n": sc.sent_n, "per_aspect": per})
            details.append((ds.name, split, per))
    if per_aspect:
        out("")
        out("per-aspect F1 (support = gold units with the aspect)")
        for name, split, per in details:
            out(f"  {name} {split}: " + ", ".join(f"{a} {v[2]:.2f} (P {v[0]:.2f} R {v[1]:.2f}, {v[3]})"
                                                  for a, v in per.items()))
    out("")
    out("unmapped categories (their labels are not scored):")
    for name, cats in UNMAPPED.items():
        for cat, why in cats.items():
            out(f"  {name}: {cat}: {why}")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nlp.training.evaluate_aspects", description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"),
                    help="directory holding datasets/ (default ../shared)")
    ap.add_argument("--splits", nargs="*", help="only these splits (train, val, dev, test)")
    ap.add_argument("--no-per-aspect", action="store_true", help="only the summary table")
    args = ap.parse_args(argv)
    if not (args.shared / "datasets").is_dir():
        print(f"{args.shared / 'datasets'} not found", file=sys.stderr)
        return 2
    run(args.shared, args.splits, per_aspect=not args.no_per_aspect)
    return 0


if __name__ == "__main__":
    sys.exit(main())
