"""Rebuild ``nlp/models/sentiment-zh-v2.json`` and ``sentiment-en-v1.json`` and print the test table.

    python -m nlp.training.train_sentiment --shared ../shared --out nlp/models

Logistic regression (scikit-learn, training time only) over the exact features that
``nlp.textcat.features`` produces at inference. Every choice (n-gram length, feature
scaling, C, domain augmentation, pruning, neutral band) is made on the dev split; the test
split is only read by ``nlp.training.evaluate`` at the end. Deterministic: fixed splits (hash
of the text), a deterministic solver (liblinear, fixed random_state), sorted vocabularies and
a stable pruning order; the en file comes out byte-identical to the shipped one.
About 11 minutes on one core (zh ~7, en ~3, test table ~1).
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
    DOMAINS,
    MODEL_VERSIONS,
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
    # zh: char 1-3 grams, NB-LR, domain feature augmentation (Daume 2007) with every domain
    # row also repeated without its domain copies (dup: half the sample weight each), so
    # the shared weights work alone for domain=None. Exploration on dev in MODELS.md.
    "zh": [
        {"ngram": 3, "binary": True, "l2": True, "nb": True, "C": c, "aug": True, "dup": 0.5,
         "weights": {"chnsenticorp_htl": 3.0, "weibo_senti_100k_part": 2.0}}
        for c in (1.0, 3.0, 10.0)
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
MAX_FEATURES = {"zh": 400_000, "en": 40_000}
"""Pruning: keep the features with the largest |weight| (dev accuracy checked after pruning).
zh: shared and domain weights together; the smallest budget within 0.1 pt of the best dev
mean (300k-1M tried, MODELS.md); about 8 MB of JSON."""


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


def _augment(x, rows: list[Row], alpha: float, dup: float):
    """Daume (2007) feature augmentation: ``[X, alpha*X*[hotel], alpha*X*[restaurant], ...]``.

    Rows without a domain (Weibo) only have the shared block. ``alpha`` < 1 makes the
    domain copies relatively more expensive for the L2 penalty, so the shared weights keep
    more of the signal. With ``dup`` > 0 every domain row is also added a second time
    without its domain copy (sample weight split ``dup`` : ``1 - dup``), which trains the
    shared weights to work on their own (``domain=None`` at inference).
    Returns the matrix and, for the appended rows, the indices of the rows they repeat.
    """
    import numpy as np
    from scipy.sparse import csr_matrix, diags, hstack, vstack

    v = x.shape[1]
    blocks = [x]
    for d in DOMAINS:
        mask = np.array([alpha if r.domain == d else 0.0 for r in rows])
        blocks.append(diags(mask) @ x)
    xa = hstack(blocks, format="csr")
    rep = [i for i, r in enumerate(rows) if r.domain in DOMAINS] if dup else []
    if rep:
        shared_only = hstack([x[rep], csr_matrix((len(rep), v * len(DOMAINS)))], format="csr")
        xa = vstack([xa, shared_only], format="csr")
    return xa, rep


def fit(train: list[Row], lang: str, params: dict[str, object], name: str) -> TextClassifier:
    """Fit one LR on ``train`` and return the pruned pure-Python classifier."""
    import numpy as np
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
    dsw = params.get("weights") or {}
    sample_weight = [float(dsw.get(r.dataset, 1.0)) for r in train]  # type: ignore[union-attr]
    aug = bool(params.get("aug"))
    alpha = float(params.get("alpha", 1.0))  # type: ignore[arg-type]
    if aug:
        if lex:
            raise ValueError("domain augmentation with a lexicon prior is not supported")
        dup = float(params.get("dup", 0.0))  # type: ignore[arg-type]
        x, rep = _augment(x, train, alpha, dup)
        y = y + [y[i] for i in rep]
        repeated = set(rep)
        sample_weight = ([w * (dup if i in repeated else 1.0) for i, w in enumerate(sample_weight)]
                         + [sample_weight[i] * (1.0 - dup) for i in rep])
    if params.get("nb"):
        # NB-LR (Wang & Manning 2012): scale each binary feature by its log-count ratio
        # r = log((p/|p|) / (q/|q|)); folded back into the weights below, so inference
        # is unchanged (w_eff = w * r).
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
    lr = LogisticRegression(C=c, solver="liblinear", max_iter=1000, random_state=SEED,
                            class_weight="balanced")
    lr.fit(x, y, sample_weight=sample_weight)
    coef = lr.coef_[0] if ratio is None else lr.coef_[0] * ratio
    nv = len(vocab)
    if aug:
        coef[nv:] *= alpha  # the domain blocks were fed alpha * x
    lex_weight = round(float(coef[nv]), 4) if lex else 0.0
    inv = sorted(vocab, key=vocab.__getitem__)
    ncol = nv * (1 + len(DOMAINS)) if aug else nv
    # largest |weight| first, ties by column (= feature name order); the budget covers
    # shared and domain weights together
    order = np.lexsort((np.arange(ncol), -np.abs(coef[:ncol])))[: MAX_FEATURES[lang]]
    kept = np.sort(order)
    weights: dict[str, float] = {}
    domain_weights: dict[str, dict[str, float]] = {}
    for j in kept.tolist():
        w = round(float(coef[j]), 4)
        if w == 0.0:
            continue
        block, i = divmod(j, nv)
        if block == 0:
            weights[inv[i]] = w
        else:
            domain_weights.setdefault(DOMAINS[block - 1], {})[inv[i]] = w
    return TextClassifier(name=name, version=MODEL_VERSIONS[lang], lang=lang,
                          bias=round(float(lr.intercept_[0]), 4), weights=weights,
                          neutral_band=0.0, binary=binary, l2=l2, ngram=ngram,
                          lexicon=lex, lex_weight=lex_weight,
                          domain_weights={d: domain_weights[d] for d in DOMAINS
                                          if d in domain_weights})


def predict_rows(clf: TextClassifier, rows: list[Row], use_domain: bool = True) -> list[float]:
    """Scores of ``rows``, each with its own domain (as ``analyze(domain=...)`` would pass it)."""
    out = [0.0] * len(rows)
    groups: dict[str | None, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[r.domain if use_domain else None].append(i)
    for dom, idx in groups.items():
        for i, s in zip(idx, clf.predict([rows[i].text for i in idx], domain=dom), strict=True):
            out[i] = s
    return out


def accuracy_by_dataset(clf: TextClassifier, rows: list[Row],
                        use_domain: bool = True) -> dict[str, float]:
    ok: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r, s in zip(rows, predict_rows(clf, rows, use_domain), strict=True):
        ok[r.dataset][0] += int((s >= 0) == bool(r.label))
        ok[r.dataset][1] += 1
    return {k: v[0] / v[1] for k, v in sorted(ok.items())}


def choose_band(clf: TextClassifier, dev: list[Row]) -> float:
    """Widest band b (<= 0.5, step 0.05) whose dev rows with |score| < b are near chance.

    "Near chance" = binary accuracy inside the band <= 0.65: the model's sign is little
    better than a coin there, so calling those texts neutral loses almost nothing.
    """
    scored = [(abs(s), (s >= 0) == bool(r.label))
              for r, s in zip(dev, predict_rows(clf, dev), strict=True)]
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
        nfeat = len(clf.weights) + sum(map(len, clf.domain_weights.values()))
        log(f"[{lang}] {params} dev macro {f.dev_macro:.4f} "
            + " ".join(f"{k}={v:.4f}" for k, v in f.dev.items())
            + f" ({nfeat} feats, {time.perf_counter() - t0:.0f}s)", flush=True)
        if clf.domain_weights:
            log(f"[{lang}]    same, domain=None: " + " ".join(
                f"{k}={v:.4f}" for k, v in accuracy_by_dataset(clf, dev, False).items()), flush=True)
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
        **({"dev_accuracy_train_only_fit_domain_none": {
            k: round(v, 4) for k, v in accuracy_by_dataset(best.clf, dev, False).items()},
            "domains": sorted(final.domain_weights)} if final.domain_weights else {}),
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
    if clf.domain_weights:
        doc["domain_weights"] = clf.domain_weights
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
        ndom = {d: len(w) for d, w in clf.domain_weights.items()}
        print(f"[{lang}] wrote {path} ({path.stat().st_size / 1e6:.2f} MB, "
              f"{len(clf.weights)} shared features" + (f", domain {ndom}" if ndom else "") + ")",
              flush=True)
    if not args.no_eval:
        from nlp.training.evaluate import evaluate, format_table

        print(format_table(evaluate(args.shared, models_dir=args.out, langs=langs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
