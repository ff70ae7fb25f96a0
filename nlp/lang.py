"""Language identification: a script-ratio fast path, langdetect for the rest."""

from __future__ import annotations

import re
from functools import lru_cache

UNDETERMINED = "und"
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


@lru_cache(maxsize=1)
def _langdetect_factory() -> object:
    from langdetect import DetectorFactory
    from langdetect.detector_factory import init_factory

    DetectorFactory.seed = 0  # deterministic answers
    init_factory()
    from langdetect import detector_factory

    return detector_factory._factory


def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text``'s main language, or ``"und"``.

    Chinese is decided by script: text whose letters are at least 30% Han characters is
    ``zh`` (mixed "酒店的breakfast很好" is Chinese to a reader), unless kana or hangul
    show it is Japanese or Korean. Text without letters (emoji, numbers) is ``und``.
    """
    letters = _LETTER.findall(text)
    if not letters:
        return UNDETERMINED
    han = len(_HAN.findall(text))
    if _KANA.search(text) and len(_KANA.findall(text)) >= 0.1 * len(letters):
        return "ja"
    if _HANGUL.search(text) and len(_HANGUL.findall(text)) >= 0.3 * len(letters):
        return "ko"
    if han >= 0.3 * len(letters):
        return "zh"
    if len(letters) < 3:
        return UNDETERMINED
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
