"""Batch scoring of Chinese texts by a character n-gram model, vectorised with numpy.

The pure-Python path (``TextClassifier._score``) builds every 1-3 gram of a text as a
string, puts them in a set and looks each up in the weight table: about 400 objects per
131-character review, which is most of ``analyze``'s time on Chinese. Here every n-gram
is an integer (dense character numbers packed in 14 bits each), a batch's texts are one array,
and the distinct n-grams per text, their weights and sums come from a few array calls.

Same features, same weights, same formula as ``_score``: only the order in which one
text's weights are added differs (a set's order there, sorted codes here), so a score can
differ from the pure-Python one in its last bits (~1e-16), far below the 4 decimals an
``Analysis`` keeps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

_BITS = 14
"""Bits per character in a packed n-gram: characters are numbered densely (the model's own
characters first, a batch's others after them), so a trigram takes 42 bits and the text's
index fits above it in one 64-bit key."""
_MAX_IDS = 1 << _BITS
_SEG_BITS = 64 - 3 * _BITS
"""Bits left for the text's index in a batch (2**22 texts)."""
_MASK = np.uint64(_MAX_IDS - 1)


class ZhTable:
    """A weight table keyed by packed n-gram codes (built once per weights dict):
    ``char_ids`` numbers the characters of the model's features 1..K (0: none of them)."""

    def __init__(self, weights: dict[str, float]) -> None:
        chars = sorted({ch for k in weights if 1 <= len(k) <= 3 for ch in k})
        self.k = len(chars)
        self.usable = self.k < _MAX_IDS // 2  # room left for a batch's unknown characters
        self.char_ids = np.zeros(0x110000, dtype=np.uint64)
        if chars:
            self.char_ids[np.frombuffer("".join(chars).encode("utf-32-le"), dtype=np.uint32)] = np.arange(
                1, self.k + 1, dtype=np.uint64)
        keys = [k for k in weights if 1 <= len(k) <= 3]
        codes = np.zeros(len(keys), dtype=np.uint64)
        for size in (1, 2, 3):
            idx = [i for i, k in enumerate(keys) if len(k) == size]
            if not idx:
                continue
            ids = self.char_ids[np.frombuffer("".join(keys[i] for i in idx).encode("utf-32-le"),
                                              dtype=np.uint32)].reshape(-1, size)
            code = ids[:, 0]
            for j in range(1, size):
                code = (code << np.uint64(_BITS)) | ids[:, j]
            codes[np.asarray(idx)] = code
        order = np.argsort(codes, kind="stable")
        self.codes = codes[order]
        self.values = np.fromiter((weights[k] for k in keys), dtype=np.float64, count=len(keys))[order]

    def lookup(self, codes: np.ndarray) -> np.ndarray:
        """Weight of each code, 0.0 where the table has none."""
        if not len(self.codes) or not len(codes):
            return np.zeros(len(codes))
        idx = np.searchsorted(self.codes, codes)
        idx[idx == len(self.codes)] = 0
        return np.where(self.codes[idx] == codes, self.values[idx], 0.0)


def score_normalized(norms: Sequence[str], table: ZhTable, bias: float, l2: bool) -> list[float] | None:
    """Scores of already normalised texts: ``tanh((sum of distinct 1-3 gram weights
    [/ sqrt(count)] + bias) / 2)``, 0.0 for an empty text or one with no known n-gram;
    ``None`` when the batch has too many characters unknown to the model to number them
    (or more texts than a key has room for)."""
    n = len(norms)
    if n >= 1 << _SEG_BITS:
        return None
    lengths = np.fromiter(map(len, norms), dtype=np.int64, count=n)
    if int(lengths.sum()) == 0:
        return [0.0] * n
    cp = np.frombuffer("".join(norms).encode("utf-32-le"), dtype=np.uint32)
    ids = table.char_ids[cp]
    unknown = ids == 0
    if unknown.any():  # distinct unknown characters stay distinct (they count in the l2 norm)
        other, inv = np.unique(cp[unknown], return_inverse=True)
        if table.k + len(other) >= _MAX_IDS:
            return None
        ids[unknown] = np.uint64(table.k + 1) + inv.astype(np.uint64)
    seg = np.repeat(np.arange(n, dtype=np.uint64), lengths)
    b = np.uint64(_BITS)
    bi_ok = seg[:-1] == seg[1:]
    tri_ok = seg[:-2] == seg[2:]
    codes = np.concatenate((ids, (ids[:-1] << b | ids[1:])[bi_ok],
                            (ids[:-2] << (b + b) | ids[1:-1] << b | ids[2:])[tri_ok]))
    # one 64-bit key per (n-gram, text): code in the high 42 bits, so that once sorted the
    # codes are in order (the table lookup then walks the table forwards)
    keys = codes << np.uint64(_SEG_BITS) | np.concatenate((seg, seg[:-1][bi_ok], seg[:-2][tri_ok]))
    keys.sort()
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]  # distinct (text, n-gram) pairs
    pair_seg = (keys & np.uint64((1 << _SEG_BITS) - 1)).astype(np.int64)
    pcode = keys >> np.uint64(_SEG_BITS)
    kk = np.uint64(table.k)
    known = ((pcode >> (b + b)) <= kk) & (((pcode >> b) & _MASK) <= kk) & ((pcode & _MASK) <= kk)
    w = np.zeros(len(keys))
    w[known] = table.lookup(pcode[known])
    z = np.bincount(pair_seg, weights=w, minlength=n)
    count = np.bincount(pair_seg, minlength=n)
    out = []
    for zi, ci in zip(z.tolist(), count.tolist(), strict=True):
        if zi == 0.0:  # no known n-gram fired (or an empty text): no evidence, as in _score
            out.append(0.0)
            continue
        if l2:
            zi /= math.sqrt(ci)
        out.append(math.tanh((zi + bias) / 2.0))
    return out
