"""Keywords of one text: the content words and phrases that say what it is about.

Used per mention (stored with it) and, summed over many mentions, for the top terms of
a trend or an alert. Built for speed on the crawl path (no model, no segmenter call):

- Chinese: forward maximum matching against jieba's dictionary (shipped inside the
  jieba package, MIT), keeping content words (nouns, verbs, adjectives, idioms) of two
  or more characters, ranked by tf x idf with jieba's idf table. Negated words keep
  their negator ("不干净"), since "干净" alone would say the opposite.
- English: RAKE (Rose et al. 2010): candidate phrases are the runs of words between
  stop words and punctuation, scored by word degree / frequency, at most three words.

Both dictionaries load on first use (about 0.4 s for Chinese).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from itertools import chain
from pathlib import Path

MAX_WORD = 5
"""Longest dictionary word tried by the Chinese matcher (longer entries are names)."""

# jieba part-of-speech tags of words worth reporting: nouns (not person names),
# verbs, adjectives, idioms and fixed expressions, abbreviations.
_ZH_CONTENT_POS = frozenset({"n", "nz", "nt", "ns", "ng", "v", "vn", "vd", "a", "an", "ad", "i", "l", "j"})
_ZH_NEGATOR_CHARS = frozenset("不没无别未")
"""A negator right before a content word stays with it ("没有" as a whole)."""
# frequent content words that say nothing about the experience
_ZH_GENERIC = frozenset(
    ["感觉", "觉得", "时候", "东西", "问题", "有点", "一点", "地方", "知道", "出来", "起来", "下次", "这次", "大家", "看到", "进去", "需要", "还是", "就是", "可能", "应该", "比较", "非常", "特别", "真的", "一下", "一次", "已经", "发现", "表示", "左右", "以后", "之后", "之前", "没有", "可以", "不会", "不能", "不是", "这个", "那个", "什么", "怎么", "这样", "那样", "一个", "其他", "其实", "然后"]
)
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

_EN_STOP = frozenset(["a", "about", "above", "after", "again", "against", "all", "almost", "also", "although", "always", "am", "an", "and", "any", "are", "aren't", "around", "as", "at", "back", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "can't", "cannot", "could", "couldn't", "did", "didn't", "do", "does", "doesn't", "doing", "don't", "down", "during", "each", "either", "else", "enough", "even", "ever", "every", "few", "for", "from", "further", "get", "gets", "getting", "got", "had", "hadn't", "has", "hasn't", "have", "haven't", "having", "he", "he'd", "he'll", "he's", "her", "here", "here's", "hers", "herself", "him", "himself", "his", "how", "how's", "however", "i", "i'd", "i'll", "i'm", "i've", "if", "in", "into", "is", "isn't", "it", "it's", "its", "itself", "just", "least", "less", "let's", "like", "lot", "lots", "made", "make", "many", "may", "me", "might", "more", "most", "much", "must", "mustn't", "my", "myself", "near", "need", "needs", "never", "next", "no", "nor", "not", "nothing", "now", "of", "off", "often", "on", "once", "one", "only", "onto", "or", "other", "others", "otherwise", "ought", "our", "ours", "ourselves", "out", "over", "own", "per", "perhaps", "please", "quite", "rather", "really", "said", "same", "say", "says", "see", "seem", "seemed", "seems", "several", "shall", "shan't", "she", "she'd", "she'll", "she's", "should", "shouldn't", "since", "so", "some", "something", "sometimes", "somewhat", "still", "such", "than", "that", "that's", "the", "their", "theirs", "them", "themselves", "then", "there", "there's", "these", "they", "they'd", "they'll", "they're", "they've", "thing", "things", "this", "those", "though", "through", "thus", "to", "too", "took", "toward", "towards", "under", "until", "up", "upon", "us", "use", "used", "very", "via", "want", "was", "wasn't", "way", "we", "we'd", "we'll", "we're", "we've", "well", "went", "were", "weren't", "what", "what's", "whatever", "when", "when's", "where", "where's", "whether", "which", "while", "who", "who's", "whom", "whose", "why", "why's", "will", "with", "within", "without", "won't", "would", "wouldn't", "yet", "you", "you'd", "you'll", "you're", "you've", "your", "yours", "yourself", "yourselves", "also", "another", "anyway", "came", "come", "comes", "definitely", "go", "goes", "going", "gone", "actually", "overall", "maybe", "sure", "ok", "okay", "yes", "yeah", "got", "guess", "thought", "think", "know", "knew", "told", "tell"])
_EN_WORD = re.compile(r"[a-z][a-z'\-]*[a-z]|[a-z]")
_EN_BREAK = re.compile(r"[.!?;:,()\[\]{}\"/\n\u3002\uff01\uff1f\uff1b\uff0c]+")
_EN_NEGATORS = frozenset({"not", "no", "never", "nothing", "without"})
MAX_EN_PHRASE = 3


@cache
def _jieba_dir() -> Path:
    import jieba

    return Path(jieba.__file__).resolve().parent


@cache
def _zh_dictionary() -> tuple[dict[str, bool], dict[str, int], dict[str, float], float]:
    """From jieba's files: ``word -> is content word`` for dictionary words of
    2..MAX_WORD chars, ``two-char prefix -> longest such word starting with it``,
    ``word -> idf`` and the median idf (for words without one)."""
    words: dict[str, bool] = {}
    longest: dict[str, int] = {}
    with open(_jieba_dir() / "dict.txt", encoding="utf-8") as fh:
        for line in fh:
            w, _, rest = line.partition(" ")
            size = len(w)
            if not 2 <= size <= MAX_WORD:
                continue
            content = rest.rstrip().rpartition(" ")[2] in _ZH_CONTENT_POS and w not in _ZH_GENERIC
            words[w] = words.get(w, False) or content
            if longest.get(w[:2], 0) < size:
                longest[w[:2]] = size
    idf: dict[str, float] = {}
    with open(_jieba_dir() / "analyse" / "idf.txt", encoding="utf-8") as fh:
        for line in fh:
            w, _, value = line.partition(" ")
            if words.get(w):
                idf[w] = float(value)
    values = sorted(idf.values())
    return words, longest, idf, values[len(values) // 2] if values else 10.0


def zh_terms(text: str) -> list[str]:
    """Content words of ``text`` in order, by forward maximum matching."""
    words, longest, _, _ = _zh_dictionary()
    out: list[str] = []
    for m in _HAN_RUN.finditer(text):
        run = m.group(0)
        i, n = 0, len(run)
        while i < n - 1:
            size = min(longest.get(run[i:i + 2], 0), n - i)
            while size >= 2:
                w = run[i:i + size]
                content = words.get(w)
                if content is not None:
                    if content:
                        neg = ""
                        if i and run[i - 1] in _ZH_NEGATOR_CHARS:
                            neg = run[i - 1]
                        elif i > 1 and run[i - 2:i] == "没有":
                            neg = "没有"
                        out.append(neg + w)
                    i += size
                    break
                size -= 1
            else:
                i += 1
    return out


def zh_keywords(text: str, k: int = 10) -> list[str]:
    """Top ``k`` Chinese content words by tf x idf (ties: first seen first)."""
    _, _, idf, default = _zh_dictionary()
    terms = zh_terms(text)
    if not terms:
        return []
    tf = Counter(terms)  # keys in first-seen order, and the sort is stable: ties stay in it
    scored = sorted(tf, key=lambda t: tf[t] * idf.get(t.removeprefix("没有").lstrip("不没无别未"), default),
                    reverse=True)
    return scored[:k]


def en_phrases(text: str) -> list[list[str]]:
    """RAKE candidate phrases: runs of non-stop words, at most MAX_EN_PHRASE long.
    A negator starts the phrase it negates ("not clean") instead of splitting it off."""
    phrases: list[list[str]] = []
    for chunk in _EN_BREAK.split(text.lower()):
        current: list[str] = []
        negated = False
        for w in _EN_WORD.findall(chunk):
            if w in _EN_STOP or (len(w) < 3 and w not in ("tv", "ac")):
                if current:
                    phrases.append(current)
                current = []
                negated = w in _EN_NEGATORS or w.endswith("n't")
                continue
            if negated and not current:
                current = ["not"]
                negated = False
            current.append(w)
            if len(current) == MAX_EN_PHRASE:
                phrases.append(current)
                current = []
        if current:
            phrases.append(current)
    return [p for p in phrases if p != ["not"]]


def en_keywords(text: str, k: int = 10) -> list[str]:
    """Top ``k`` English phrases by RAKE score (sum of word degree / word frequency)."""
    phrases = en_phrases(text)
    if not phrases:
        return []
    freq = Counter(chain.from_iterable(phrases))
    degree = dict.fromkeys(freq, 0)
    for p in phrases:
        size = len(p)
        for w in p:
            degree[w] += size
    seen: dict[str, float] = {}
    for p in phrases:
        key = " ".join(p)
        if key not in seen:
            seen[key] = sum(degree[w] / freq[w] for w in p if w != "not")
    # stable sort (reverse keeps it): equal scores stay in first-seen order
    return sorted(seen, key=seen.__getitem__, reverse=True)[:k]


def keywords(text: str, lang: str, k: int = 10) -> list[str]:
    """Keywords of ``text`` in ``lang`` (``zh``/``en``; other languages: none).
    Mixed text is read both ways: "酒店的breakfast很好" gives 酒店 and breakfast."""
    if not text or not text.strip():
        return []
    if lang == "zh":
        out = zh_keywords(text, k)
        if len(out) < k and re.search(r"[A-Za-z]{3}", text):
            out += [w for w in en_keywords(text, k) if w not in out]
        return out[:k]
    if lang == "en":
        return en_keywords(text, k)
    return []


def mention_keywords(text: str | None, lang: str | None, stored: list[str] | None = None, k: int = 10) -> list[str]:
    """A mention's keywords: those stored with it (``vocwatch analyze``, ``reanalyze``, older
    crawls), else extracted from its text now. Crawls store none (``nlp.analyze``'s
    ``keywords=False``): extraction costs a third of a Chinese text's analysis and only alert
    messages and exports read keywords, for a small share of the mentions."""
    if stored:
        return list(stored)
    return keywords(text or "", lang or "", k)


def top_terms(keyword_lists: list[list[str]], k: int = 10) -> list[tuple[str, int]]:
    """The ``k`` keywords found in most texts (each text counts a word once): the terms
    of a trend bucket or an alert."""
    counts: Counter[str] = Counter()
    for kws in keyword_lists:
        counts.update(set(kws))
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]

