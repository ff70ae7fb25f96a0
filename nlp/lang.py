"""Language identification: a known language when the source gives one, script ratios for
zh/ja/ko, a stop-word test for English, langdetect (about 5 ms a text) for the rest.

The fast paths decide about all Chinese and English reviews without langdetect: that is
what keeps analysis at thousands of texts per second (``vocwatch bench nlp``)."""

from __future__ import annotations

import re
from functools import lru_cache

UNDETERMINED = "und"
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)?")
"""Words of any Latin-script text (curly apostrophes too: "it\u2019s")."""
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
# Frequent English words (function words and review vocabulary) that other Latin-script
# languages do not use as words: "a", "i", "in", "is", "was", "of", "we", "to", "so", "also",
# "over", "come", "place", "table", "service", "hotel", "bar", "terrible" ... are left out
# (German, Dutch, French, Spanish, Italian, Polish or Swedish words too).
_EN_MARKERS = frozenset((
    "the", "and", "are", "were", "with", "this", "that", "it", "it's", "they", "but", "not",
    "very", "have", "had", "has", "be", "our", "would", "could", "should", "there", "from",
    "their", "them", "his", "she", "you", "your", "i'm", "i've", "i'd", "i'll", "we'll", "we're",
    "you're", "they're", "there's", "that's", "what's", "won't", "can't", "couldn't", "wouldn't",
    "shouldn't", "didn't", "don't", "doesn't", "wasn't", "isn't", "aren't", "weren't", "at",
    "what", "when", "where", "why", "how", "who", "which", "than", "then", "because", "about",
    "just", "only", "always", "never", "ever", "still", "much", "some", "any", "every", "really",
    "pretty", "best", "better", "worst", "bad", "little", "lot", "time", "times", "back", "again",
    "here", "after", "before", "into", "out", "up", "down", "off", "went", "got", "get", "did",
    "do", "does", "done", "made", "make", "said", "say", "think", "thought", "know", "knew",
    "like", "liked", "want", "wanted", "worth", "nothing", "something", "everything", "anything",
    "everyone", "though", "although", "while", "without", "through", "since", "until", "first",
    "second", "last", "next", "new", "old", "small", "big", "large", "nice", "fresh", "warm",
    "tasty", "taste", "flavor", "meal", "dinner", "lunch", "breakfast", "brunch", "coffee",
    "water", "beer", "drinks", "staff", "people", "clean", "dirty", "comfortable", "bed", "night",
    "day", "stay", "stayed", "location", "view", "walk", "street", "friendly", "delicious",
    "amazing", "awesome", "great", "good", "love", "loved", "recommend", "recommended", "highly",
    "disappointed", "disappointing", "slow", "fast", "quick", "cheap", "expensive", "overpriced",
    "price", "prices", "waitress", "waiter", "server", "customer", "order", "ordered", "waited",
    "spot", "selection", "experience", "quality", "product", "works", "working", "bought", "buy",
    "purchase", "money", "sound", "screen", "easy", "hard", "happy", "sure", "well", "definitely",
    "seriously", "avoid", "rooms", "food",
))



# Frequent function words of the other Latin-script languages crawled (de, fr, es, it, pt,
# nl, sv/da/no, pl, tr, id/ms, tl, ro, vi without tone marks) that are not English words,
# written without accents as they often are online. One of them stops the English fast
# path: the text goes to langdetect.
_FOREIGN_MARKERS = frozenset((
    # de
    "der", "das", "und", "ist", "nicht", "ein", "eine", "einen", "sehr", "ich", "wir", "auf", "auch",
    "aber", "waren", "sind", "nur", "noch", "wie", "wenn", "sich", "zum", "zur", "bei", "dem", "uns", "mir",
    "mich", "immer", "wieder", "schon", "leider", "zimmer",
    # fr
    "le", "les", "et", "des", "du", "une", "tres", "pas", "avec", "mais", "je", "il", "nous", "vous",
    "c'est", "qui", "dans", "sur", "au", "aux", "ce", "cette", "sont", "etait", "tout", "bien", "trop",
    "peu", "chambre", "j'ai", "n'est", "l'hotel", "d'un", "d'une",
    # es, pt, it
    "el", "y", "que", "del", "muy", "es", "por", "para", "una", "se", "su", "pero", "mas", "esta", "este",
    "bueno", "buena", "nos", "muito", "nao", "uma", "ao", "foi", "bom", "boa", "della", "che", "molto",
    "di", "sono", "gli", "ottimo", "buono", "questo", "nel", "anche", "como", "producto", "excelente",
    "funciona", "estoy", "tiene", "fue", "pues",
    # nl, sv, da, no
    "het", "een", "en", "niet", "zeer", "ik", "wij", "maar", "goed", "ook", "naar", "voor", "och", "att",
    "det", "som", "inte", "jag", "ett", "ikke", "jeg", "mycket", "meget",
    # pl, tr, id/ms, tl, ro, vi
    "jest", "nie", "sie", "bardzo", "czy", "bir", "ve", "cok", "icin", "yang", "ini", "itu", "tidak",
    "sangat", "untuk", "dengan", "saya", "tapi", "juga", "sudah", "bisa", "ang", "ng", "sa", "mga",
    "hindi", "si", "foarte", "pentru", "cu", "khong", "cua", "toi",
))
"""Words that are also English ("die", "war", "gut", "per", "van", "las", "non", "af") are
left out: one of them in an English review must not send it to langdetect."""


@lru_cache(maxsize=1)
def _langdetect_factory() -> object:
    from langdetect import DetectorFactory
    from langdetect.detector_factory import init_factory

    DetectorFactory.seed = 0  # deterministic answers
    init_factory()
    from langdetect import detector_factory

    return detector_factory._factory


def _english_by_words(words: list[str]) -> bool:
    """The stop-word test on lower-cased words: English marker words and no marker of
    another Latin-script language (nor a word with non-ASCII letters, "très", "für").

    Two markers making up 15% of the words, or one in a text of up to ten words, or
    one in every ten words of a longer one. ("After one bite, I was hooked." has one.)"""
    if not words:
        return False
    hits = foreign = 0
    for w in words:
        if w in _EN_MARKERS:
            hits += 1
        elif w in _FOREIGN_MARKERS or not w.isascii():
            foreign += 1
    if not hits:
        return False
    n = len(words)
    if foreign:  # the old rule, and English clearly ahead ("the hotel 'La Fonda' was great")
        return hits >= 3 * foreign and ((hits >= 2 and hits >= 0.15 * n) or (hits >= 1 and n <= 4))
    return n <= 10 or hits >= 0.1 * n


@lru_cache(maxsize=1)
def _english_vocabulary() -> frozenset[str] | dict[str, float]:
    """Words seen in English training reviews: the English sentiment model's features
    (shared with the scorer, so no second copy in memory); empty without the model."""
    try:
        from nlp import textcat

        return textcat.load("en").weights
    except (ImportError, FileNotFoundError, ValueError):
        return frozenset()


def _english_vocabulary_test(words: list[str]) -> bool:
    """Texts with too few marker words ("Truly awful.", "AMAZON SUCKS.", "Home"): English
    when at least two thirds of the words are words of English reviews, and none is a
    marker of another language. Spares langdetect, which also gets these wrong (cy, tl, da)."""
    vocab = _english_vocabulary()
    if not vocab or any(w in _FOREIGN_MARKERS or not w.isascii() for w in words):
        return False
    return sum(1 for w in words if w in vocab) * 3 >= 2 * len(words)


def _looks_english(text: str) -> bool:
    """English fast path for any Latin-script text (see :func:`_english_by_words`)."""
    return _english_by_words(_LATIN_WORD.findall(text[:2000].lower()))


def normalize_language(code: str | None) -> str | None:
    """A language tag from a page or an API (``zh-CN``, ``en_US``, ``ZH-Hant``, ``eng``)
    as the ISO 639-1 code analysis uses, or ``None`` when it says nothing (``und``, ``xx``,
    empty, ``mul``)."""
    if not code or not isinstance(code, str):
        return None
    base = code.strip().replace("_", "-").split("-", 1)[0].lower()
    base = _ISO3.get(base, base)
    if len(base) != 2 or not base.isalpha() or base in ("xx", "xu"):
        return None
    return base


_ISO3 = {"eng": "en", "zho": "zh", "chi": "zh", "cmn": "zh", "yue": "zh", "jpn": "ja", "kor": "ko",
         "deu": "de", "ger": "de", "fra": "fr", "fre": "fr", "spa": "es", "ita": "it", "por": "pt",
         "nld": "nl", "dut": "nl", "rus": "ru"}


def resolve_language(text: str, known: str | None) -> str:
    """The language of ``text`` when its source already says which (``known``: a review's
    own language from the site's data, or the page's ``lang``): taken as given unless the
    script contradicts it, which costs one ASCII test for most texts.

    A page's language is the site's interface language, not always the review's: a Chinese
    review on an English page, or an English one on a Chinese page, is detected instead."""
    code = normalize_language(known)
    if code is None:
        return detect_language(text)
    if text.isascii():  # Latin script: a CJK tag is wrong, any other stands ("ok", "5/5")
        return detect_language(text) if code in _CJK_LANGS else code
    if code in _CJK_LANGS or _CJK.search(text):
        found = detect_language(text)
        if found in _CJK_LANGS or (code in _CJK_LANGS and found != UNDETERMINED):
            return found
    return code


_CJK_LANGS = frozenset(("zh", "ja", "ko"))


def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text``'s main language, or ``"und"``.

    Chinese is decided by script: text whose letters are at least 30% Han characters is
    ``zh`` (mixed "酒店的breakfast很好" is Chinese to a reader), unless kana or hangul
    show it is Japanese or Korean. Text without letters (emoji, numbers) is ``und``.
    English is decided by its words (:func:`_english_by_words`) before langdetect.
    """
    if text.isascii():  # no CJK, no accents: count ASCII letters only
        words = _LATIN_WORD.findall(text[:2000].lower())
        if not words:
            return UNDETERMINED
        if len(words) <= 2 and len(_LETTER.findall(text)) < 3:
            return UNDETERMINED
        if _english_by_words(words) or _english_vocabulary_test(words):
            return "en"
        return _langdetect(text)
    han = len(_HAN.findall(text))
    kana = _KANA.search(text) is not None
    hangul = _HANGUL.search(text) is not None
    if han and not kana and not hangul and han >= 0.3 * len(text):  # letters <= len(text)
        return "zh"
    letters = len(_LETTER.findall(text))
    if not letters:
        return UNDETERMINED
    if kana and len(_KANA.findall(text)) >= 0.1 * letters:
        return "ja"
    if hangul and len(_HANGUL.findall(text)) >= 0.3 * letters:
        return "ko"
    if han >= 0.3 * letters:
        return "zh"
    if letters < 3:
        return UNDETERMINED
    if _english_by_words(_WORD.findall(text[:2000].lower().replace("\u2019", "'"))):
        return "en"
    return _langdetect(text)


def _langdetect(text: str) -> str:
    from langdetect.lang_detect_exception import LangDetectException

    factory = _langdetect_factory()
    try:
        detector = factory.create()  # type: ignore[attr-defined]
        detector.append(text)
        best = detector.get_probabilities()[0]
    except LangDetectException:
        return UNDETERMINED
    if best.prob < 0.5:
        return UNDETERMINED
    return "zh" if best.lang.startswith("zh") else best.lang
