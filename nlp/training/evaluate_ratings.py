"""How well review labels agree with their star ratings, text alone vs the stars rule.

    python -m nlp.training.evaluate_ratings --shared ../shared

Rated, labelled data under ``<shared>/datasets``:

- ``en/amazon_alexa.tsv``: 1-5 stars; only rows of the ``test`` and ``dev`` splits
  (``nlp.training.data``), because the en model was trained on the ``train`` rows. Its
  ``feedback`` column is derived from the stars, so it is no independent human label.
- ``zh/asap_train_sample.csv`` + ``zh/asap_dev_sample.csv``: Meituan restaurant reviews
  with 1-5 stars and human labels per aspect (never used to train the sentiment model).
  Human overall label: positive when every labelled aspect is positive or neutral and at
  least one positive, negative likewise; reviews with mixed or only neutral aspects have
  none and are left out of that column.

Figures per dataset and rule: ``agree`` = 3-class agreement of the overall label with the
stars by the evaluation convention (4-5 positive, 1-2 negative, 3 neutral);
``contradict`` = share of reviews labelled against their stars (negative at 4-5 stars,
positive at 1-2); ``human`` = label accuracy against the human overall label (a neutral
counts wrong), ``human_sign`` = the binary decision score >= 0 against it.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nlp.rating import RATING_WEIGHT, combine, stars_label
from nlp.training.data import split_of

WEIGHTS = (0.25, RATING_WEIGHT, 0.75)
"""Weights of the stars compared in the table (the product uses ``RATING_WEIGHT``)."""


@dataclass(frozen=True, slots=True)
class RatedRow:
    dataset: str
    lang: str
    domain: str | None
    text: str
    rating: float
    human: str | None
    """``positive`` / ``negative`` from independent human labels, or ``None``."""


def _asap_human(row: dict[str, str]) -> str | None:
    marks = [int(v) for k, v in row.items() if k not in ("index", "reviewbody", "star") and v not in ("", None)]
    labelled = [v for v in marks if v in (-1, 0, 1)]
    if any(v == 1 for v in labelled) and not any(v == -1 for v in labelled):
        return "positive"
    if any(v == -1 for v in labelled) and not any(v == 1 for v in labelled):
        return "negative"
    return None


def load_rated(shared: Path) -> list[RatedRow]:
    d = Path(shared) / "datasets"
    rows: list[RatedRow] = []
    with (d / "en" / "amazon_alexa.tsv").open(encoding="utf-8-sig", newline="") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            text = (r.get("verified_reviews") or "").strip()
            try:
                rating = float(r["rating"])
            except (TypeError, ValueError):
                continue
            if text and split_of(text, "en") in ("test", "dev"):
                rows.append(RatedRow("amazon_alexa (test+dev)", "en", None, text, rating, None))
    for name in ("asap_train_sample", "asap_dev_sample"):
        with (d / "zh" / f"{name}.csv").open(encoding="utf-8-sig", newline="") as fh:
            for r in csv.DictReader(fh):
                text = (r.get("reviewbody") or "").strip()
                try:
                    rating = float(r["star"])
                except (TypeError, ValueError):
                    continue
                if text:
                    rows.append(RatedRow("asap samples", "zh", "restaurant", text, rating, _asap_human(r)))
    return rows


def _figures(rows: Sequence[RatedRow], labels: Sequence[str], scores: Sequence[float]) -> dict[str, object]:
    n = len(rows)
    agree = sum(lab == stars_label(r.rating) for r, lab in zip(rows, labels, strict=True))
    contra = sum((r.rating >= 4 and lab == "negative") or (r.rating <= 2 and lab == "positive")
                 for r, lab in zip(rows, labels, strict=True))
    human = [(r.human, lab, s) for r, lab, s in zip(rows, labels, scores, strict=True) if r.human]
    return {"n": n, "agree": round(agree / n, 4) if n else None, "contradict": round(contra / n, 4) if n else None,
            "contradict_n": contra, "human_n": len(human),
            "human": round(sum(h == lab for h, lab, _ in human) / len(human), 4) if human else None,
            "human_sign": round(sum(h == ("positive" if s >= 0 else "negative") for h, _, s in human) / len(human), 4)
            if human else None}


def evaluate(shared: Path) -> list[dict[str, object]]:
    """One dict per (dataset, rule): ``text only``, then the stars rule at each of :data:`WEIGHTS`."""
    from nlp.analyze import analyze
    from nlp.sentiment import scorer

    rows = load_rated(shared)
    out: list[dict[str, object]] = []
    for ds in dict.fromkeys(r.dataset for r in rows):
        sub = [r for r in rows if r.dataset == ds]
        lang, domain = sub[0].lang, sub[0].domain
        text = analyze([r.text for r in sub], langs=[lang] * len(sub), domain=domain)
        rated = analyze([r.text for r in sub], langs=[lang] * len(sub), domain=domain, ratings=[r.rating for r in sub])
        out.append({"dataset": ds, "rule": f"text only ({text[0].model})",
                    **_figures(sub, [a.label for a in text], [a.score for a in text])})
        label = scorer(lang).label
        for w in WEIGHTS:
            if w == RATING_WEIGHT:  # the product's path, through analyze(ratings=...)
                labels, scores = [a.label for a in rated], [a.score for a in rated]
                name = f"stars rule w={w} ({rated[0].model})"
            else:
                pairs = [combine(a.score, r.rating, label, weight=w) for a, r in zip(text, sub, strict=True)]
                labels, scores = [p[0] for p in pairs], [p[1] for p in pairs]
                name = f"stars rule w={w}"
            out.append({"dataset": ds, "rule": name, **_figures(sub, labels, scores)})
    return out


def format_table(results: Sequence[dict[str, object]]) -> str:
    head = (f"{'dataset':24} {'rule':46} {'n':>5} {'agree':>6} {'contra':>7} {'(n)':>5} "
            f"{'human':>6} {'sign':>6} {'(n)':>4}")
    lines = [head, "-" * len(head)]

    def f(v: object) -> str:
        return f"{v:.3f}" if isinstance(v, float) else "-"

    for r in results:
        lines.append(f"{r['dataset']!s:24} {r['rule']!s:46} {r['n']!s:>5} {f(r['agree']):>6} {f(r['contradict']):>7} "
                     f"{r['contradict_n']!s:>5} {f(r['human']):>6} {f(r['human_sign']):>6} {r['human_n']!s:>4}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    args = ap.parse_args(argv)
    print(format_table(evaluate(args.shared)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
