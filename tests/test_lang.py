"""Language identification: script ratio for CJK, an English fast path, langdetect for the rest."""

from __future__ import annotations

import pytest

from nlp import lang
from nlp.lang import detect_language


@pytest.mark.parametrize(("text", "want"), [
    ("房间很干净，服务也好", "zh"),
    ("酒店的breakfast很好", "zh"),  # mixed: Chinese to a reader
    ("部屋はとても綺麗でした", "ja"),
    ("방이 아주 깨끗했어요", "ko"),
    ("The room was clean and the staff were friendly", "en"),
    ("Great!", "en"),
    ("Room clean, staff rude", "en"),
    ("Das Zimmer war sauber und das Personal freundlich", "de"),
    ("La chambre est propre et le personnel très gentil", "fr"),
    ("El hotel es muy bueno y limpio", "es"),
    ("Het hotel was goed en het ontbijt ook", "nl"),
    ("Pokój był czysty, to było dobre", "pl"),
    ("", "und"), ("😀👍", "und"), ("12345 !!!", "und"), ("ok", "und"),
])
def test_detect_language(text: str, want: str) -> None:
    assert detect_language(text) == want


def test_english_fast_path_skips_langdetect(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> None:
        raise AssertionError("langdetect called")

    monkeypatch.setattr(lang, "_langdetect_factory", fail)
    assert detect_language("The breakfast was good but the rooms were not clean.") == "en"
    with pytest.raises(AssertionError):
        detect_language("Das Frühstück war gut, aber die Zimmer waren nicht sauber.")
