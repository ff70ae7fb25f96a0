"""Rebuild ``nlp/models/sentiment-{zh,en}-v1.json`` from ../shared/datasets and print the test table.

    python -m nlp.training.train_sentiment --shared ../shared --out nlp/models

Logistic regression (scikit-learn, training time only) over the exact features that
``nlp.textcat.features`` produces at inference. Every choice (n-gram length, feature
scaling, C, pruning, neutral band) is made on the dev split; the test split is only read by
``nlp.training.evaluate`` at the end. Deterministic: fixed splits (hash of the text), a
deterministic solver (liblinear, fixed random_state) and sorted vocabularies.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from nlp.textcat import (
    MODEL_VERSION,
    TextClassifier,
    features,
    lexicon_score,
    model_path,
    normalize,
)
from nlp.training.data import Row, load

SEED = 13
MIN_DF = 2
# Grid searched on dev. Kept small so a rebuild takes a few minutes on one core.
GRID: dict[str, list[dict[str, object]]] = {
    "zh": [
        {"ngram": 3, "binary": True, "l2": l2, "nb": True, "C": c, "weights": w}
        for l2, c in ((False, 0.3), (True, 30.0))
        for w in ({}, {"chnsenticorp_htl": 3.0, "weibo_senti_100k_part": 2.0})
    ],
    "en": [
        {"ngram": 2, "binary": b, "l2": l2, "C": c, "lex": lex}
        for lex in (False, True)
        for b, l2 in ((True, True), (True, False), (False, False))
        for c in ((3.0, 10.0, 30.0, 100.0) if l2 else (0.3, 1.0, 3.0))
    ] + [
        {"ngram": 2, "binary": True, "l2": True, "C": c, "lex": True, "nb": True}
        for c in (3.0, 10.0, 30.0)
    ],
}
MAX_FEATURES = {"zh": 120_000, "en": 40_000}
"""Pruning: keep the features with the largest |weight| (dev accuracy checked after pruning)."""


@dataclass
class Fitted:
    params: dict[str, object]
    clf: TextClassifier
    dev: dict[str, float]

    @property
    def dev_macro(self) -> float:
        return sum(self.dev.values()) / len(self.dev)


def _feats(rows: list[Row], lang: str, ngram: int, binary: bool) -> list[list[str]]:
    out = []
    for r in rows:
        f = features(normalize(r.text, lang), lang, ngram)
        out.append(sorted(set(f)) if binary else f)
    return out


def vader_lexicon() -> dict[str, float]:
    """Single-word entries of VADER's lexicon (shipped inside the en model file)."""
    import vaderSentiment

    path = Path(vaderSentiment.__file__).parent / "vader_lexicon.txt"
    lex = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and " " not in parts[0] and parts[0].strip():
            lex[parts[0].lower()] = round(float(parts[1]), 2)
    return lex


def _matrix(feats: list[list[str]], vocab: dict[str, int], l2: bool,
            dense: list[float] | None = None):
    """CSR matrix with exactly the values ``TextClassifier.score_one`` multiplies."""
    from scipy.sparse import csr_matrix

    indptr, indices, data = [0], [], []
    for k, f in enumerate(feats):
        scale = 1.0 / math.sqrt(len(f)) if (l2 and f) else 1.0
        cnt: Counter[int] = Counter(vocab[x] for x in f if x in vocab)
        for j, c in sorted(cnt.items()):
            indices.append(j)
            data.append(c * scale)
        if dense is not None and dense[k]:
            indices.append(len(vocab))
            data.append(dense[k])
        indptr.append(len(indices))
    ncol = len(vocab) + (1 if dense is not None else 0)
    return csr_matrix((data, indices, indptr), shape=(len(feats), ncol), dtype="float64")


def fit(train: list[Row], lang: str, params: dict[str, object], name: str) -> TextClassifier:
    """Fit one LR on ``train`` and return the pruned pure-Python classifier."""
    from sklearn.linear_model import LogisticRegression

    ngram, binary, l2, c = (int(params["ngram"]), bool(params["binary"]), bool(params["l2"]),
                            float(params["C"]))
    feats = _feats(train, lang, ngram, binary)
    df: Counter[str] = Counter()
    for f in feats:
        df.update(set(f))
    vocab = {x: i for i, x in enumerate(sorted(k for k, v in df.items() if v >= MIN_DF))}
    lex = vader_lexicon() if params.get("lex") else {}
    dense = ([lexicon_score(normalize(r.text, lang), lang, lex) for r in train]
             if lex else None)
    x = _matrix(feats, vocab, l2, dense)
    y = [r.label for r in train]
    if params.get("nb"):
        # NB-LR (Wang & Manning 2012): scale each binary feature by its log-count ratio
        # r = log((p/|p|) / (q/|q|)); folded back into the weights below, so inference
        # is unchanged (w_eff = w * r).
        import numpy as np
        from scipy.sparse import diags

        xb = x.copy()
        xb.data[:] = 1.0
        ya = np.asarray(y)
        p = np.asarray(xb[ya == 1].sum(0)).ravel() + 1.0
        q = np.asarray(xb[ya == 0].sum(0)).ravel() + 1.0
        ratio = np.log((p / p.sum()) / (q / q.sum()))
        if lex:
            ratio[len(vocab)] = 1.0  # the dense lexicon column is not rescaled
        x = x @ diags(ratio)
    else:
        ratio = None
    dsw = params.get("weights") or {}
    sample_weight = [float(dsw.get(r.dataset, 1.0)) for r in train]  # type: ignore[union-attr]
    lr = LogisticRegression(C=c, solver="liblinear", max_iter=1000, random_state=SEED,
                            class_weight="balanced")
    lr.fit(x, y, sample_weight=sample_weight)
    coef = lr.coef_[0] if ratio is None else lr.coef_[0] * ratio
    lex_weight = round(float(coef[len(vocab)]), 4) if lex else 0.0
    inv = sorted(vocab, key=vocab.__getitem__)
    order = sorted(range(len(inv)), key=lambda i: (-abs(coef[i]), inv[i]))[: MAX_FEATURES[lang]]
    weights = {inv[i]: round(float(coef[i]), 4) for i in sorted(order, key=lambda i: inv[i])}
    weights = {k: v for k, v in weights.items() if v != 0.0}
    return TextClassifier(name=name, version=MODEL_VERSION, lang=lang,
                          bias=round(float(lr.intercept_[0]), 4), weights=weights,
                          neutral_band=0.0, binary=binary, l2=l2, ngram=ngram,
                          lexicon=lex, lex_weight=lex_weight)


def accuracy_by_dataset(clf: TextClassifier, rows: list[Row]) -> dict[str, float]:
    ok: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r, s in zip(rows, clf.predict([r.text for r in rows]), strict=True):
        ok[r.dataset][0] += int((s >= 0) == bool(r.label))
        ok[r.dataset][1] += 1
    return {k: v[0] / v[1] for k, v in sorted(ok.items())}


def choose_band(clf: TextClassifier, dev: list[Row]) -> float:
    """Widest band b (<= 0.5, step 0.05) whose dev rows with |score| < b are near chance.

    "Near chance" = binary accuracy inside the band <= 0.65: the model's sign is little
    better than a coin there, so calling those texts neutral loses almost nothing.
    """
    scored = [(abs(s), (s >= 0) == bool(r.label))
              for r, s in zip(dev, clf.predict([r.text for r in dev]), strict=True)]
    best = 0.05
    for step in range(1, 11):
        b = step * 0.05
        inside = [ok for a, ok in scored if a < b]
        if inside and sum(inside) / len(inside) <= 0.65:
            best = b
    return round(best, 2)


def train_lang(shared: Path, lang: str, log=print) -> tuple[TextClassifier, list[Fitted]]:
    rows = load(shared, lang)
    train = [r for r in rows if r.split == "train"]
    dev = [r for r in rows if r.split == "dev"]
    name = f"vocwatch-sent-{lang}"
    log(f"[{lang}] train {len(train)} dev {len(dev)} rows")
    results: list[Fitted] = []
    for params in GRID[lang]:
        t0 = time.perf_counter()
        clf = fit(train, lang, params, name)
        f = Fitted(params, clf, accuracy_by_dataset(clf, dev))
        results.append(f)
        log(f"[{lang}] {params} dev macro {f.dev_macro:.4f} "
            + " ".join(f"{k}={v:.3f}" for k, v in f.dev.items())
            + f" ({len(clf.weights)} feats, {time.perf_counter() - t0:.0f}s)")
    best = max(results, key=lambda f: (round(f.dev_macro, 4), -float(f.params["C"])))
    band = choose_band(best.clf, dev)
    log(f"[{lang}] chosen {best.params}, neutral band {band}; refit on train+dev")
    final = fit(train + dev, lang, best.params, name)
    final.neutral_band = band
    final.meta = {
        "trained_on": sorted({r.dataset for r in train}),
        "rows": len(train) + len(dev),
        "params": best.params,
        "dev_accuracy_train_only_fit": {k: round(v, 4) for k, v in best.dev.items()},
        "split": "md5(lang:first 30 word chars of normalize(text)) % 10: 0 test, 1 dev, else train",
    }
    return final, results


def save(clf: TextClassifier, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = model_path(clf.lang, out_dir)
    doc = {"name": clf.name, "version": clf.version, "lang": clf.lang, "bias": clf.bias,
           "neutral_band": clf.neutral_band, "binary": clf.binary, "l2": clf.l2,
           "ngram": clf.ngram, "lex_weight": clf.lex_weight, "meta": clf.meta,
           "lexicon": clf.lexicon, "weights": clf.weights}
    path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
                    + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--out", type=Path, default=Path("nlp/models"))
    ap.add_argument("--lang", choices=["zh", "en", "all"], default="all")
    ap.add_argument("--no-eval", action="store_true", help="skip the final test-split table")
    args = ap.parse_args(argv)
    langs = ["zh", "en"] if args.lang == "all" else [args.lang]
    for lang in langs:
        clf, _ = train_lang(args.shared, lang)
        path = save(clf, args.out)
        print(f"[{lang}] wrote {path} ({path.stat().st_size / 1e6:.2f} MB, "
              f"{len(clf.weights)} features)", flush=True)
    if not args.no_eval:
        from nlp.training.evaluate import evaluate, format_table

        print(format_table(evaluate(args.shared, models_dir=args.out, langs=langs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
