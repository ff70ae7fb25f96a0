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
from pathlib import Path

TAXONOMY_DIR = Path(__file__).resolve().parent / "taxonomies"
DOMAINS = ("hotel", "restaurant", "ecommerce")

# Clause boundaries: sentence and clause punctuation, and contrast words that start a
# new clause (the part after 但是/but usually carries a different polarity).
_PUNCT = r"[。！？!?；;，,、\n…~～]+|(?<=[a-z])\.(?=\s|$)|\.\s+"
_ZH_CONTRAST = r"(?=但是|但|可是|不过|然而|却|只是|就是有点|唯一的缺点|美中不足)"
_EN_CONTRAST = r"\s+(?=(?:but|however|although|though|yet|whereas|except|unfortunately)\b)"
_CLAUSE_SPLIT = re.compile(f"{_PUNCT}|{_ZH_CONTRAST}|{_EN_CONTRAST}", re.IGNORECASE)


def split_clauses(text: str) -> list[str]:
    """Split into clauses at punctuation and before contrast words (但是, but, ...)."""
    return [c.strip() for c in _CLAUSE_SPLIT.split(text) if c and c.strip()]


@dataclass(frozen=True, slots=True)
class Aspect:
    id: str
    label: str
    zh: tuple[str, ...]
    en: tuple[str, ...]


@dataclass(frozen=True)
class Taxonomy:
    id: str
    version: str
    aspects: tuple[Aspect, ...]

    def __post_init__(self) -> None:
        # one alternation per language; named groups are not needed: the term maps back
        zh_terms = sorted({t for a in self.aspects for t in a.zh}, key=len, reverse=True)
        en_terms = sorted({t.lower() for a in self.aspects for t in a.en}, key=len, reverse=True)
        object.__setattr__(self, "_zh_re", re.compile("|".join(map(re.escape, zh_terms))) if zh_terms else None)
        object.__setattr__(self, "_en_re", re.compile(
            _NOT_AFTER_LATIN + "(?:" + "|".join(_en_pattern(t) for t in en_terms) + ")", re.IGNORECASE) if en_terms else None)
        zh_map: dict[str, list[str]] = {}
        for a in self.aspects:
            for t in a.zh:
                zh_map.setdefault(t, []).append(a.id)
        object.__setattr__(self, "_zh_map", zh_map)
        object.__setattr__(self, "_en_rules", [(re.compile(_NOT_AFTER_LATIN + _en_pattern(t.lower()), re.IGNORECASE), a.id)
                                               for a in self.aspects for t in a.en])

    def find(self, clause: str) -> dict[str, list[str]]:
        """``aspect id -> terms found`` in one clause."""
        found: dict[str, list[str]] = {}
        zh_re, en_re = self._zh_re, self._en_re  # type: ignore[attr-defined]
        if zh_re is not None:
            for m in zh_re.finditer(clause):
                for aid in self._zh_map[m.group(0)]:  # type: ignore[attr-defined]
                    found.setdefault(aid, []).append(m.group(0).lower())
        if en_re is not None and en_re.search(clause):
            for rule, aid in self._en_rules:  # type: ignore[attr-defined]
                if m := rule.search(clause):
                    found.setdefault(aid, []).append(m.group(0).lower())
        return {aid: list(dict.fromkeys(terms)) for aid, terms in found.items()}


# Word edges for English terms that also hold inside Chinese text ("酒店的breakfast很好"),
# where \b does not fire because CJK characters count as word characters.
_NOT_AFTER_LATIN = r"(?<![A-Za-z0-9])"
_NOT_BEFORE_LATIN = r"(?![A-Za-z0-9])"


def _en_pattern(term: str) -> str:
    """Whole-word pattern; a trailing ``*`` allows any word ending."""
    if term.endswith("*"):
        return re.escape(term[:-1]) + r"[A-Za-z]*"
    return re.escape(term) + _NOT_BEFORE_LATIN


class TaxonomyError(ValueError):
    pass


def load_taxonomy(*paths: str | Path) -> Taxonomy:
    """Merge taxonomy files: later files add aspects or add terms to existing ones."""
    tid, version = "", ""
    merged: dict[str, dict[str, object]] = {}
    for path in paths:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise TaxonomyError(f"{path}: {exc}") from None
        meta = data.get("taxonomy", {})
        tid, version = tid or str(meta.get("id", Path(path).stem)), version or str(meta.get("version", "1"))
        for aid, spec in (data.get("aspects") or {}).items():
            if not isinstance(spec, dict):
                raise TaxonomyError(f"{path}: aspects.{aid}: expected a table")
            for lang in ("zh", "en"):
                terms = spec.get(lang, [])
                if not isinstance(terms, list) or not all(isinstance(t, str) and t.strip() for t in terms):
                    raise TaxonomyError(f"{path}: aspects.{aid}.{lang}: expected an array of non-empty strings")
            entry = merged.setdefault(aid, {"label": spec.get("label", aid), "zh": [], "en": []})
            entry["zh"] = [*entry["zh"], *spec.get("zh", [])]  # type: ignore[misc]
            entry["en"] = [*entry["en"], *spec.get("en", [])]  # type: ignore[misc]
    aspects = tuple(Aspect(aid, str(e["label"]), tuple(dict.fromkeys(e["zh"])), tuple(dict.fromkeys(e["en"])))  # type: ignore[call-overload]
                    for aid, e in merged.items())
    return Taxonomy(tid, version, aspects)


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
