"""Fast offline sentence-level sentiment for Chinese and English (vocwatch's own models).

Linear models (logistic regression) over sparse n-gram features, trained by
``nlp/training/train_sentiment.py`` and shipped as JSON files next to this module
(``nlp/models/sentiment-zh-v2.json``, ``sentiment-en-v1.json``). One text is scored by
pure Python dict lookups; a batch (``BATCH_MIN`` texts or more, as ``analyze`` passes a
batch's texts and aspect clauses) by ``nlp.batch_score`` as numpy arrays, with the same
scores. No scikit-learn, nothing fetched from a hub.

Domains (format v2, zh): besides the shared weights a model may carry per-domain weights
(``hotel``, ``restaurant``, ``ecommerce``), learned with Daume's (2007) feature
augmentation: every training feature of a domain row also exists as a domain-conjoined
copy. ``predict(texts, domain="hotel")`` adds the hotel copies to the shared weights;
``domain=None`` or an unknown domain uses the shared weights alone.

Features
- ``zh``: character 1-3 grams of the normalised text (no word segmentation: jieba is
  5-10x too slow for the budget and char n-grams capture "不好", "不是很" on their own).
- ``en``: word uni- and bigrams with negation marking (tokens after "not", "n't", "no",
  "never", "hardly", ... up to the next punctuation get a ``!`` prefix), so "not good"
  and "good" are different features.

The *same* :func:`normalize` and :func:`features` functions are used at training and at
inference: that is what keeps the shipped weights meaningful.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import pairwise, repeat
from pathlib import Path

MODELS_DIR = resources.files("nlp") / "models"  # a folder, or a zip member in an egg (scrapyd)
MODEL_VERSION = "2"
"""Newest model format this module reads and writes (v1 files still load)."""
MODEL_VERSIONS = {"zh": "2", "en": "1"}
"""Shipped model version per language (en is unchanged since v1)."""
LANGS = ("zh", "en")
DOMAINS = ("hotel", "restaurant", "ecommerce")
MAX_CHARS = 20_000
"""Longer texts are cut here: bounded time per text; sentiment is settled long before."""

# Weibo emoticons such as [哈哈] [泪] [good]. Weibo's labels were derived from them, so
# weights learned for them would be circular; they are dropped at training AND inference
# (one rule everywhere). Emoji characters (😀) are kept as ordinary characters.
_EMOTICON = re.compile(r"\[[\u4e00-\u9fffA-Za-z]{1,8}\]")
_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@[\w\u4e00-\u9fff\-]{1,30}")
_EN_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?.,;:()]")

_EN_NEGATORS = frozenset(
    ["not", "no", "never", "none", "nobody", "nothing", "nowhere", "neither", "nor", "without", "hardly", "barely", "scarcely", "cannot", "cant", "can't", "dont", "don't", "doesnt", "doesn't", "didnt", "didn't", "isnt", "isn't", "wasnt", "wasn't", "arent", "aren't", "werent", "weren't", "wont", "won't", "wouldnt", "wouldn't", "couldnt", "couldn't", "shouldnt", "shouldn't", "havent", "haven't", "hasnt", "hasn't", "hadnt", "hadn't", "aint", "ain't", "lack", "lacked", "lacking"]
)
_EN_SCOPE_END = frozenset([".", ",", ";", ":", "!", "?", "(", ")", "but", "however", "although", "though", "yet"])


def strip_emoticons(text: str) -> str:
    """Remove Weibo-style bracket emoticons ([哈哈], [泪]); used for Weibo evaluation too."""
    return _EMOTICON.sub(" ", text)


def normalize(text: str, lang: str) -> str:
    """One normalisation for training and inference.

    NFKC (full-width letters/digits/punctuation -> half-width), lowercase, URLs -> ``url``,
    @mentions -> ``@``, Weibo emoticons dropped, whitespace collapsed. ``lang`` is accepted
    so both languages can diverge later without changing call sites.
    """
    del lang  # same rule for both languages today
    if not text:
        return ""
    text = text[:MAX_CHARS]
    if not text.isascii():  # NFKC leaves ASCII as it is: the test is cheaper than the call
        text = unicodedata.normalize("NFKC", text)
    text = text.lower()
    if "http" in text or "www." in text:  # the cheap tests skip the regexes on most texts
        text = _URL.sub(" url ", text)
    if "@" in text:
        text = _MENTION.sub("@", text)
    if "[" in text:
        text = _EMOTICON.sub(" ", text)
    return " ".join(text.split())  # collapse whitespace (same set as re's \s), strip ends


def _zh_features(text: str, ngram: int) -> list[str]:
    out = list(text)
    for k in range(2, ngram + 1):
        out += [text[i : i + k] for i in range(len(text) - k + 1)]
    return out


def _zh_feature_set(text: str, ngram: int) -> set[str]:
    """``set(_zh_features(text, ngram))``, built without the intermediate list."""
    if ngram != 3:
        return set(_zh_features(text, ngram))
    f = set(text)
    bigrams = list(map(str.__add__, text, text[1:]))
    f.update(bigrams)
    f.update(map(str.__add__, bigrams, text[2:]))  # trigrams, joined in C
    return f


def _en_marked(text: str) -> list[str]:
    """Word tokens with negation scope marked by a ``!`` prefix ("not good" -> not !good)."""
    toks = _EN_TOKEN.findall(text)
    if "n't" not in text and _EN_NEGATORS.isdisjoint(toks):  # most texts: nothing to mark
        return toks
    marked: list[str] = []
    neg = False
    for t in toks:
        if t in _EN_SCOPE_END:
            neg = False
            marked.append(t)
        elif t in _EN_NEGATORS or t.endswith("n't"):
            neg = True
            marked.append(t)
        else:
            marked.append("!" + t if neg else t)
    return marked


def _en_features(text: str) -> list[str]:
    return _en_grams(_en_marked(text))


def _en_grams(marked: list[str]) -> list[str]:
    out = marked[:]
    out += map(" ".join, pairwise(marked))
    return out


def features(normalized: str, lang: str, ngram: int = 3) -> list[str]:
    """Sparse feature strings of an already normalised text (repeats kept).

    ``ngram`` is the longest character n-gram for ``zh`` (English always uses 1-2 words).
    """
    if lang == "zh":
        return _zh_features(normalized, ngram)
    if lang == "en":
        return _en_features(normalized)
    raise ValueError(f"unsupported language {lang!r}; expected one of {LANGS}")


def lexicon_score(normalized: str, lang: str, lexicon: dict[str, float]) -> float:
    """Dense prior feature in (-1, 1): summed word valences, negated ones flipped (x -0.74).

    Uses VADER's lexicon for English (MIT licence, shipped inside the model file) and
    VADER's own squashing ``s / sqrt(s^2 + 15)``. It carries polarity for words that the
    small English training sets rarely show ("nothing to complain about").
    """
    if lang != "en" or not lexicon or not normalized:
        return 0.0
    return _lex_of_marked(_en_marked(normalized), lexicon)


def _lex_of_marked(marked: list[str], lexicon: dict[str, float], negated: bool = True) -> float:
    """``negated=False`` says no token carries the ``!`` mark: then one C-level sum."""
    if not negated:
        s = sum(map(lexicon.get, marked, repeat(0.0)))
        return s / math.sqrt(s * s + 15.0)
    s = 0.0
    get = lexicon.get
    for t in marked:
        if t[0] == "!":
            v = get(t[1:])
            if v is not None:
                s -= 0.74 * v
        else:
            v = get(t)
            if v is not None:
                s += v
    return s / math.sqrt(s * s + 15.0)


BATCH_MIN = 8
"""From this many texts a batch is scored as arrays (``nlp.batch_score``); fewer
are scored one by one, where the array calls' fixed cost would not pay."""


@dataclass(slots=True)
class TextClassifier:
    """A loaded linear sentiment model; :meth:`predict` gives scores in [-1, 1]."""

    name: str
    version: str
    lang: str
    bias: float
    weights: dict[str, float]
    neutral_band: float
    binary: bool = True
    l2: bool = True
    ngram: int = 3
    lexicon: dict[str, float] = field(default_factory=dict)
    lex_weight: float = 0.0
    meta: dict[str, object] = field(default_factory=dict)
    domain_weights: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per-domain weights added to ``weights`` when that domain is given (v2)."""
    _merged: dict[str, dict[str, float]] = field(default_factory=dict, repr=False, compare=False)
    _tables: dict[str | None, object] = field(default_factory=dict, repr=False, compare=False)
    """Per domain, the weights as a numpy table for batch scoring (``nlp.batch_score``)."""

    def weights_for(self, domain: str | None = None) -> dict[str, float]:
        """Shared weights, plus the copies of ``domain`` if the model has them.

        The sum is built once per domain on first use (one dict lookup per feature at
        inference, as without domains)."""
        if not domain or domain not in self.domain_weights:
            return self.weights
        merged = self._merged.get(domain)
        if merged is None:
            merged = dict(self.weights)
            get = merged.get
            for k, v in self.domain_weights[domain].items():
                merged[k] = get(k, 0.0) + v
            self._merged[domain] = merged
        return merged

    def score_one(self, text: str, domain: str | None = None) -> float:
        """Score of one text: ``2 * P(positive) - 1``; 0.0 when no known feature fires."""
        return self._score(text, self.weights_for(domain))

    def _score(self, text: str, weights: dict[str, float]) -> float:
        norm = normalize(text, self.lang)
        if not norm:
            return 0.0
        lex = 0.0
        if self.lang == "en":  # tokenise once for both the n-grams and the lexicon prior
            marked = _en_marked(norm)
            feats = _en_grams(marked)
            if self.lex_weight and self.lexicon and marked:
                lex = _lex_of_marked(marked, self.lexicon, negated="n't" in norm or not _EN_NEGATORS.isdisjoint(marked))
        elif self.binary:
            feats = _zh_feature_set(norm, self.ngram)  # type: ignore[assignment]
        else:
            feats = features(norm, self.lang, self.ngram)
        if self.binary and not isinstance(feats, set):
            feats = set(feats)  # type: ignore[assignment]
        z = sum(map(weights.get, feats, repeat(0.0)))  # C-speed lookups
        if z == 0.0 and lex == 0.0:  # no known feature fired: no evidence either way
            return 0.0
        if self.l2:
            z /= math.sqrt(len(feats))
        z += self.lex_weight * lex
        return math.tanh((z + self.bias) / 2.0)  # == 2 * sigmoid(z + b) - 1

    def predict(self, texts: list[str], domain: str | None = None) -> list[float]:
        """Scores in [-1, 1] for each text (>= 0 means positive as a binary decision).

        ``domain`` (``hotel``, ``restaurant``, ``ecommerce``) adds that domain's weights;
        ``None`` or a domain the model does not know uses the shared weights only."""
        weights = self.weights_for(domain)
        if len(texts) >= BATCH_MIN and self._batchable():
            out = self._predict_batch(texts, domain, weights)
            if out is not None:
                return out
        score = self._score
        return [score(t, weights) for t in texts]

    def _batchable(self) -> bool:
        """Binary features of the shipped shapes (zh 1-3 grams, en words and pairs), and numpy there."""
        if not self.binary or (self.lang == "zh" and (self.ngram != 3 or self.lex_weight)) or self.lang not in LANGS:
            return False
        try:
            import numpy  # noqa: F401
        except ImportError:
            return False
        return True

    def _predict_batch(self, texts: list[str], domain: str | None, weights: dict[str, float]) -> list[float] | None:
        """:meth:`predict` through ``nlp.batch_score`` (``None``: the batch does not fit its keys)."""
        from nlp import batch_score

        key = domain if weights is not self.weights else None
        table = self._tables.get(key)
        if table is None:
            if self.lang == "zh":
                if key is not None:  # a domain: the shared table plus the domain's copies
                    base = self._tables.get(None)
                    if base is None:
                        base = self._tables[None] = batch_score.Table(self.weights, 3, 14, None)
                    table = base.with_delta(self.domain_weights[key])  # type: ignore[attr-defined]
                if table is None:
                    table = batch_score.Table(weights, 3, 14, None)
            else:
                table = batch_score.Table(weights, 2, 20, " ")
            self._tables[key] = table
        if not table.usable:  # type: ignore[attr-defined]
            return None
        norms = [normalize(t, self.lang) for t in texts]
        lex = [0.0] * len(texts)
        if self.lang == "zh":
            sums = batch_score.zh_sums(norms, table)  # type: ignore[arg-type]
        else:
            marked = [_en_marked(x) if x else [] for x in norms]
            if self.lex_weight and self.lexicon:
                lex = [_lex_of_marked(m, self.lexicon, negated="n't" in x or not _EN_NEGATORS.isdisjoint(m))
                       if m else 0.0 for x, m in zip(norms, marked, strict=True)]
            sums = batch_score.token_sums(marked, table)  # type: ignore[arg-type]
        if sums is None:
            return None
        finish = batch_score.finish
        return [finish(z, c, lx, self.bias, self.l2, self.lex_weight) for z, c, lx in zip(*sums, lex, strict=True)]

    def label(self, score: float) -> str:
        """``positive`` / ``neutral`` / ``negative`` with the dev-chosen neutral band."""
        if score > self.neutral_band:
            return "positive"
        if score < -self.neutral_band:
            return "negative"
        return "neutral"


def model_path(lang: str, models_dir: Path = MODELS_DIR) -> Path:
    return models_dir / f"sentiment-{lang}-v{MODEL_VERSIONS.get(lang, MODEL_VERSION)}.json"


def load_file(path: Path) -> TextClassifier:
    """Load a model JSON written by the training script (no cache)."""
    if not path.is_file():
        raise FileNotFoundError(
            f"sentiment model {path} is missing; rebuild it with "
            "`python -m nlp.training.train_sentiment --shared ../shared --out nlp/models`"
        )
    with path.open(encoding="utf-8") as fh:
        d = json.load(fh)
    version = str(d.get("version", "1"))
    if version not in ("1", "2"):
        raise ValueError(f"{path}: model format v{version} is newer than this code reads (v1, v2)")
    domain_weights = d.get("domain_weights") or {}
    if not isinstance(domain_weights, dict) or not all(isinstance(v, dict) for v in domain_weights.values()):
        raise ValueError(f"{path}: malformed domain_weights")
    return TextClassifier(
        name=d["name"],
        version=version,
        lang=d["lang"],
        bias=float(d["bias"]),
        weights=d["weights"],
        neutral_band=float(d["neutral_band"]),
        binary=bool(d["binary"]),
        l2=bool(d["l2"]),
        ngram=int(d.get("ngram", 3)),
        lexicon=d.get("lexicon", {}),
        lex_weight=float(d.get("lex_weight", 0.0)),
        meta=d.get("meta", {}),
        domain_weights=domain_weights,
    )


@cache
def load(lang: str) -> TextClassifier:
    """The shipped model for ``lang`` ("zh" or "en"), loaded once per process."""
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r}; expected one of {LANGS}")
    return load_file(model_path(lang))
