"""Aspect taxonomies (hotel, restaurant, e-commerce) and clause-level aspect finding.

Taxonomies are TOML data files in ``nlp/taxonomies/``; users extend them with their
own files (same format) via :func:`load_taxonomy`. An aspect is found in a *clause*, and
takes that clause's sentiment, so "房间很干净但是前台态度很差" yields cleanliness
positive and service negative.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

# the package's own data, read through importlib.resources: a plain folder when installed,
# a zip member when the package runs from an egg (scrapyd runs deployed eggs zipped)
TAXONOMY_DIR = resources.files("nlp") / "taxonomies"
DOMAINS = ("hotel", "restaurant", "ecommerce")

# Clause boundaries: sentence and clause punctuation, and contrast words that start a
# new clause (the part after 但是/but usually carries a different polarity).
_PUNCT = r"[。！？!?；;，,、\n…~～]+|(?<=[a-z])\.(?=\s|$)|\.\s+"
_ZH_CONTRAST = r"(?=但是|但|可是|不过|然而|却|只是|就是有点|唯一的缺点|美中不足)"
_EN_CONTRAST = r"\s+(?=(?:but|however|although|though|yet|whereas|except|unfortunately)\b)"
_CLAUSE_SPLIT = re.compile(f"{_PUNCT}|{_ZH_CONTRAST}|{_EN_CONTRAST}", re.IGNORECASE)
_CLAUSE_SPLIT_ASCII = re.compile(f"{_PUNCT}|{_EN_CONTRAST}", re.IGNORECASE)
"""The same split for ASCII text, where the Chinese contrast words cannot occur: without
their lookahead at every position it runs in 60% of the time."""


def split_clauses(text: str) -> list[str]:
    """Split into clauses at punctuation and before contrast words (但是, but, ...)."""
    pieces = (_CLAUSE_SPLIT_ASCII if text.isascii() else _CLAUSE_SPLIT).split(text)
    return [c for c in map(str.strip, pieces) if c]


@dataclass(frozen=True, slots=True)
class Aspect:
    id: str
    label: str
    zh: tuple[str, ...]
    en: tuple[str, ...]
    label_zh: str = ""
    """The display name in Chinese (``label`` is the English one)."""


@dataclass(frozen=True)
class Taxonomy:
    id: str
    version: str
    aspects: tuple[Aspect, ...]
    ignore_zh: tuple[str, ...] = ()
    """Phrases that contain a term but are not about the aspect (等等 holds 等): matched
    like terms, longest first, and then dropped, so the shorter term inside does not fire."""
    ignore_en: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # One alternation per language, longest term first, so at any position the longest
        # term wins ("waiter" over "wait*", 上菜 over 菜, 等等 over 等) and each stretch of
        # text is one term of at most one meaning.
        zh_map: dict[str, list[str]] = {t: [] for t in self.ignore_zh}
        for a in self.aspects:
            for t in a.zh:
                zh_map.setdefault(t, []).append(a.id)
        zh_terms = sorted(zh_map, key=len, reverse=True)
        object.__setattr__(self, "_zh_map", {t: tuple(dict.fromkeys(ids)) for t, ids in zh_map.items()})
        object.__setattr__(self, "_zh_re", re.compile("|".join(map(re.escape, zh_terms))) if zh_terms else None)
        # English: one trie-shaped pattern (fast in Python's re), each match mapped back to
        # its terms: the exact term, and every "*" term that is a prefix of it.
        exact: dict[str, list[str]] = {}
        stems: dict[str, list[str]] = {}
        for term, aid in [*((t, "") for t in self.ignore_en), *((t, a.id) for a in self.aspects for t in a.en)]:
            key = _en_key(term)
            (stems if key.endswith("*") else exact).setdefault(key.rstrip("*"), []).append(aid)
        object.__setattr__(self, "_en_exact", exact)
        object.__setattr__(self, "_en_stems", stems)
        trie = _NOT_AFTER_LATIN + _trie_pattern(exact, stems) if exact or stems else None
        object.__setattr__(self, "_en_re", re.compile(trie, re.IGNORECASE) if trie else None)
        # ASCII clauses are lower-cased and matched without IGNORECASE (the same matches,
        # case folding in the engine at every position is what costs)
        object.__setattr__(self, "_en_re_lower", re.compile(trie) if trie else None)

    def find(self, clause: str) -> dict[str, list[str]]:
        """``aspect id -> terms found`` in one clause."""
        found: dict[str, list[str]] = {}
        zh_re, en_re = self._zh_re, self._en_re  # type: ignore[attr-defined]
        if zh_re is not None and not clause.isascii():
            zh_map = self._zh_map  # type: ignore[attr-defined]
            for m in zh_re.finditer(clause):
                for aid in zh_map[m.group(0)]:
                    found.setdefault(aid, []).append(m.group(0))
        if en_re is not None and _HAS_LATIN.search(clause):
            exact, stems = self._en_exact, self._en_stems  # type: ignore[attr-defined]
            if clause.isascii():
                en_re, clause = self._en_re_lower, clause.lower()  # type: ignore[attr-defined]
            for m in en_re.finditer(clause):
                key = _en_key(m.group(0))
                ids = [*exact.get(key, ()), *stems.get(key, ())]
                if not ids:  # the longest "*" term that is a prefix ("waiter*" over "wait*")
                    ids = next((stems[key[:i]] for i in range(len(key) - 1, 0, -1) if key[:i] in stems), [])
                if "" in ids:  # an ignore phrase
                    continue
                for aid in dict.fromkeys(ids):
                    found.setdefault(aid, []).append(m.group(0).lower())
        return {aid: list(dict.fromkeys(terms)) for aid, terms in found.items()}


# Word edges for English terms that also hold inside Chinese text ("酒店的breakfast很好"),
# where \b does not fire because CJK characters count as word characters.
_NOT_AFTER_LATIN = r"(?<![A-Za-z0-9])"
_NOT_BEFORE_LATIN = r"(?![A-Za-z0-9])"
_HAS_LATIN = re.compile(r"[A-Za-z]")
_SPACE = re.compile(r"[\s-]+")


def _en_key(term: str) -> str:
    """Lower case, hyphens and space runs as one space: "Check-in" -> "check in"."""
    return _SPACE.sub(" ", term.strip().lower())


def _trie_pattern(exact: dict[str, list[str]], stems: dict[str, list[str]]) -> str:
    """One regex for all English terms, shaped as a trie so that the engine does not try
    every term at every position. Whole words: an exact term must not be followed by a
    letter or digit; a ``*`` term (stored without the star) may be followed by letters.
    At each node longer continuations are tried first, so the longest term wins."""
    trie: dict = {}
    for key, end in [*((k, "exact") for k in exact), *((k, "stem") for k in stems)]:
        node = trie
        for ch in key:
            node = node.setdefault(ch, {})
        node.setdefault("", set()).add(end)

    def emit(node: dict) -> str:
        alts = [(r"[\s-]+" if ch == " " else re.escape(ch)) + emit(child)
                for ch, child in sorted((k, v) for k, v in node.items() if k)]
        ends = node.get("", set())
        if "stem" in ends:
            alts.append(r"[A-Za-z]*")
        elif "exact" in ends:
            alts.append(_NOT_BEFORE_LATIN)
        if len(alts) == 1:
            return alts[0]
        return "(?:" + "|".join(alts) + ")"

    return emit(trie)


class TaxonomyError(ValueError):
    pass


def load_taxonomy(*paths: str | Path) -> Taxonomy:
    """Merge taxonomy files: later files add aspects or add terms to existing ones.

    A file has ``[taxonomy]`` (id, version), ``[aspects.<id>]`` tables (label, zh, en) and an
    optional ``[ignore]`` table (zh, en): phrases that hold a term but are not the aspect,
    such as 等等 (holds 等) or "fly" in "fly by"."""
    tid, version = "", ""
    merged: dict[str, dict[str, object]] = {}
    ignore: dict[str, list[str]] = {"zh": [], "en": []}
    for path in paths:
        try:
            data = tomllib.loads((path if hasattr(path, "read_text") else Path(path)).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise TaxonomyError(f"{path}: {exc}") from None
        meta = data.get("taxonomy", {})
        tid, version = tid or str(meta.get("id", Path(str(path)).stem)), version or str(meta.get("version", "1"))
        ign = data.get("ignore", {})
        if not isinstance(ign, dict):
            raise TaxonomyError(f"{path}: ignore: expected a table")
        for lang in ("zh", "en"):
            terms = ign.get(lang, [])
            if not isinstance(terms, list) or not all(isinstance(t, str) and t.strip() for t in terms):
                raise TaxonomyError(f"{path}: ignore.{lang}: expected an array of non-empty strings")
            ignore[lang] += terms
        for aid, spec in (data.get("aspects") or {}).items():
            if not isinstance(spec, dict):
                raise TaxonomyError(f"{path}: aspects.{aid}: expected a table")
            for lang in ("zh", "en"):
                terms = spec.get(lang, [])
                if not isinstance(terms, list) or not all(isinstance(t, str) and t.strip() for t in terms):
                    raise TaxonomyError(f"{path}: aspects.{aid}.{lang}: expected an array of non-empty strings")
            entry = merged.setdefault(aid, {"label": spec.get("label", aid), "label_zh": spec.get("label_zh", ""),
                                            "zh": [], "en": []})
            entry["zh"] = [*entry["zh"], *spec.get("zh", [])]  # type: ignore[misc]
            entry["en"] = [*entry["en"], *spec.get("en", [])]  # type: ignore[misc]
    aspects = tuple(Aspect(aid, str(e["label"]), tuple(dict.fromkeys(e["zh"])), tuple(dict.fromkeys(e["en"])),  # type: ignore[call-overload]
                           str(e["label_zh"] or e["label"]))
                    for aid, e in merged.items())
    return Taxonomy(tid, version, aspects, tuple(dict.fromkeys(ignore["zh"])),
                    tuple(dict.fromkeys(ignore["en"])))


@cache
def taxonomy(domain: str | None) -> Taxonomy:
    """The shipped taxonomy of a domain (``hotel``, ``restaurant``, ``ecommerce``);
    ``None`` merges all three (aspects with the same id, such as ``price``, merge)."""
    if domain is None:
        return load_taxonomy(*(TAXONOMY_DIR / f"{d}.toml" for d in DOMAINS))
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; known: {', '.join(DOMAINS)}")
    return load_taxonomy(TAXONOMY_DIR / f"{domain}.toml")


CATEGORY_DOMAIN = {"hotel": "hotel", "restaurant": "restaurant", "store": "ecommerce"}
"""Which taxonomy a location category uses."""
