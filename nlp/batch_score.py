"""Batch scoring by the linear n-gram models, vectorised with numpy.

The pure-Python path (``TextClassifier._score``) builds every feature of a text as a
string (Chinese 1-3 character grams, English marked words and word pairs), puts them in a
set and looks each up in the weight table: about 400 objects per 131-character Chinese
review, most of ``analyze``'s time. Here a feature is an integer: its units (characters,
or marked words) are numbered densely (the model's own units 1..K, a batch's others after
them) and packed ``bits`` to a unit; a batch's texts are one array, and the distinct
features per text, their weights and their sums come from a few array calls.

Same features, same weights, same formula as ``_score``: only the order in which one
text's weights are added differs (a set's order there, sorted codes here), so a score can
differ from the pure-Python one in its last bits (~1e-16), far below the 4 decimals an
``Analysis`` keeps.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from itertools import compress, repeat
from operator import is_

import numpy as np


class Table:
    """A model's weights keyed by packed feature codes (built once per weights dict).

    ``order`` units at most per feature, ``bits`` per unit; a feature's code is its units'
    numbers packed high to low, so codes of different lengths never collide (numbers
    start at 1). The rest of a 64-bit key holds the text's index in the batch."""

    def __init__(self, weights: dict[str, float], order: int, bits: int, units: str | None) -> None:
        """``units``: ``None`` splits a key into characters (zh), else on that separator (en)."""
        self.order, self.bits = order, bits
        self.seg_bits = 64 - order * bits
        self.vocab: dict[str, int] = {}
        """Unit -> number (English words; characters go through ``char_ids``)."""
        self.char_ids: np.ndarray | None = None
        self.delta: Table | None = None
        """Weights added to this table's (``with_delta``)."""
        if units is None:
            keys = [k for k in weights if 1 <= len(k) <= order]
            codes = self._char_codes(keys)
        else:
            keyed = [(k, k.split(units)) for k in weights]
            keyed = [(k, u) for k, u in keyed if 1 <= len(u) <= order]
            keys = [k for k, _ in keyed]
            for _, u in keyed:
                for x in u:
                    if x not in self.vocab:
                        self.vocab[x] = len(self.vocab) + 1
            self.k = len(self.vocab)
            packed = []
            for _, u in keyed:
                c = 0
                for x in u:
                    c = (c << bits) | self.vocab[x]
                packed.append(c)
            codes = np.array(packed, dtype=np.uint64)
        self.usable = self.k < (1 << bits) // 2  # room left for a batch's unknown units
        idx = np.argsort(codes, kind="stable")
        self.codes = codes[idx]
        self.values = np.array([weights[k] for k in keys], dtype=np.float64)[idx]

    def _char_codes(self, keys: list[str]) -> np.ndarray:
        """Codes of character keys, by arrays (a Chinese model has ~340,000 of them):
        sets ``char_ids``, a code point -> number array (0: not one of the model's)."""
        chars = sorted(set("".join(keys)))
        self.k = len(chars)
        self.char_ids = np.zeros(0x110000, dtype=np.uint16 if self.bits <= 16 else np.uint32)  # 2 MB, not 9
        if chars:
            self.char_ids[np.frombuffer("".join(chars).encode("utf-32-le"), dtype=np.uint32)] = np.arange(
                1, self.k + 1, dtype=np.uint64)
        return self._encode(keys)

    def _encode(self, keys: list[str]) -> np.ndarray:
        """Codes of character keys, by ``char_ids``."""
        assert self.char_ids is not None
        lengths = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
        codes = np.zeros(len(keys), dtype=np.uint64)
        for size in range(1, self.order + 1):
            idx = np.flatnonzero(lengths == size)
            if not len(idx):
                continue
            group = "".join([keys[i] for i in idx.tolist()])
            ids = self.char_ids[np.frombuffer(group.encode("utf-32-le"), dtype=np.uint32)].astype(np.uint64)
            ids = ids.reshape(-1, size)
            code = ids[:, 0]
            for j in range(1, size):
                code = (code << np.uint64(self.bits)) | ids[:, j]
            codes[idx] = code
        return codes

    def with_delta(self, delta: dict[str, float]) -> Table | None:
        """This character table with ``delta``'s weights added to it (a domain's copies, as
        ``TextClassifier.weights_for`` adds them: ``shared + copy`` per feature, so the same
        floats), sharing this table's arrays: a domain costs its own few thousand weights,
        not a second table of every feature. ``None`` when ``delta`` has a character this
        table does not number (then the merged weights get a table of their own)."""
        if self.char_ids is None:
            return None
        keys = [k for k in delta if 1 <= len(k) <= self.order]
        if keys and not self.char_ids[np.frombuffer("".join(keys).encode("utf-32-le"), dtype=np.uint32)].all():
            return None
        out = copy.copy(self)
        codes = self._encode(keys)
        idx = np.argsort(codes, kind="stable")
        out.delta = Table.__new__(Table)
        out.delta.codes = codes[idx]
        out.delta.values = np.array([delta[k] for k in keys], dtype=np.float64)[idx]
        out.delta.delta = None
        return out

    def lookup(self, codes: np.ndarray) -> np.ndarray:
        """Weight of each code, 0.0 where the table has none (plus the delta's, if any)."""
        if not len(self.codes) or not len(codes):
            w = np.zeros(len(codes))
        else:
            idx = np.searchsorted(self.codes, codes)
            idx[idx == len(self.codes)] = 0
            w = np.where(self.codes[idx] == codes, self.values[idx], 0.0)
        if self.delta is not None:
            w = w + self.delta.lookup(codes)
        return w

    def sums(self, ids: np.ndarray, lengths: np.ndarray) -> tuple[list[float], list[int]] | None:
        """Per text (``lengths`` units each, their numbers concatenated in ``ids``): the sum
        of the weights of its distinct features, and their count; ``None`` when the batch
        does not fit the keys (too many texts or unknown units)."""
        n = len(lengths)
        if n >= 1 << self.seg_bits or (len(ids) and int(ids.max()) >= 1 << self.bits):
            return None
        if not len(ids):
            return [0.0] * n, [0] * n
        seg = np.repeat(np.arange(n, dtype=np.uint64), lengths)
        b = np.uint64(self.bits)
        parts_c, parts_s = [ids], [seg]
        code = ids
        for g in range(1, self.order):  # features of g + 1 units
            ok = seg[:-g] == seg[g:]
            code = (code[:-1] << b) | ids[g:]
            parts_c.append(code[ok])
            parts_s.append(seg[:-g][ok])
        sb = np.uint64(self.seg_bits)
        keys = np.concatenate(parts_c) << sb | np.concatenate(parts_s)
        keys.sort()  # code-major: the codes come in order, the lookup walks the table forwards
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]  # distinct (feature, text) pairs
        pair_seg = (keys & np.uint64((1 << self.seg_bits) - 1)).astype(np.int64)
        pcode = keys >> sb
        known = np.ones(len(keys), dtype=bool)
        mask, kk = np.uint64((1 << self.bits) - 1), np.uint64(self.k)
        for g in range(self.order):  # a feature with a unit the model lacks has no weight
            known &= ((pcode >> np.uint64(g * self.bits)) & mask) <= kk
        w = np.zeros(len(keys))
        w[known] = self.lookup(pcode[known])
        z = np.bincount(pair_seg, weights=w, minlength=n)
        count = np.bincount(pair_seg, minlength=n)
        return z.tolist(), count.tolist()


def finish(z: float, count: int, lex: float, bias: float, l2: bool, lex_weight: float) -> float:
    """The score from a text's summed weights, as ``TextClassifier._score`` ends."""
    if z == 0.0 and lex == 0.0:  # no known feature fired: no evidence either way
        return 0.0
    if l2:
        z /= math.sqrt(count)
    z += lex_weight * lex
    return math.tanh((z + bias) / 2.0)


def zh_sums(norms: Sequence[str], table: Table) -> tuple[list[float], list[int]] | None:
    """:meth:`Table.sums` of normalised Chinese texts (units: characters)."""
    assert table.char_ids is not None
    lengths = np.fromiter(map(len, norms), dtype=np.int64, count=len(norms))
    cp = np.frombuffer("".join(norms).encode("utf-32-le"), dtype=np.uint32)
    ids = table.char_ids[cp].astype(np.uint64)
    unknown = ids == 0
    if unknown.any():  # distinct unknown characters stay distinct (they count in the l2 norm)
        other, inv = np.unique(cp[unknown], return_inverse=True)
        if table.k + len(other) >= 1 << table.bits:
            return None
        ids[unknown] = np.uint64(table.k + 1) + inv.astype(np.uint64)
    return table.sums(ids, lengths)


def token_sums(tokens: Sequence[list[str]], table: Table) -> tuple[list[float], list[int]] | None:
    """:meth:`Table.sums` of token lists (units: the tokens; English marked words)."""
    get = table.vocab.get
    other: dict[str, int] = {}
    flat: list[int] = []
    for toks in tokens:
        ids = list(map(get, toks))
        for j in compress(range(len(ids)), map(is_, ids, repeat(None))):  # the model's unknown words
            ids[j] = other.setdefault(toks[j], table.k + 1 + len(other))
        flat += ids
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    return table.sums(np.array(flat, dtype=np.uint64), lengths)
