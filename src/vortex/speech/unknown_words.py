"""Words misaki's lexicons lack (mostly names): the CMU dictionary first, hibari's OOV net after.

hibari's G2P reads a word its US lexicons (misaki's gold and silver, 180k entries) do not hold
with a 0.65M-parameter net trained to imitate espeak-ng. On names that imitation is poor, and
espeak's own readings of names are not what an American presenter says: "Ahmed" came out
``ˈɑkmd`` (no second vowel), "Mateo" ``məTɪˌO`` (no primary stress), "Siobhan" ``sɪˈɑbhən``,
"Ingrid" stressed on its second syllable, "Russo" as "russ-oh"; Whisper wrote "Auckland",
"Medio", "See all pin", "In grid, Joe Henson", "Russell". The CMU Pronouncing Dictionary, as
gruut-lang-en ships it (``lexicon.db``, IPA, 124k words, many of them names from many languages;
MIT package, BSD-licensed data), holds those names as Americans say them (``ˈɑmɛd``,
``mɑtˈeɪoʊ``, ``ʃɪvˈɔn``, ``ˈɪŋɡɹɪd``, ``ɹˈusoʊ``). So an unknown word is looked up there
first, converted to Kokoro's alphabet (``to_kokoro``), and only a word the dictionary lacks
too goes to the net.

Only words misaki does not know reach this reader, so everyday words keep misaki's readings
(and the readings Kokoro-82M was trained on). All-capital words are left to the net as before
(misaki spells acronyms it knows; an unknown one is not a name to look up).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from functools import lru_cache
from pathlib import Path

from vortex.errors import MissingResourceError

DIPHTHONGS = {"eɪ": "A", "aɪ": "I", "oʊ": "O", "aʊ": "W", "ɔɪ": "Y"}
"""misaki writes the five diphthongs as one letter each (Kokoro's alphabet)."""
AFFRICATES = {"d͡ʒ": "ʤ", "t͡ʃ": "ʧ"}
VOWELS = frozenset("ɑæəɚɛɪiɔʊuʌAIOWY")
STRESS = frozenset("ˈˌ")
SIBILANTS = frozenset("szʃʒʧʤ")
VOICELESS = frozenset("ptkfθT")
_LOOKUP_RE = re.compile(r"^[a-z]+(?:'[a-z]+)?$")


def to_kokoro(ipa: str) -> str:
    """gruut's space-separated IPA (``d͡ʒ ˌoʊ h ˈɑ n s ə n``) in misaki's US spelling (``ʤˌOhˈɑnsən``).

    Diphthongs and affricates become misaki's single letters; r-coloured schwa is ``əɹ``, or
    ``ɜɹ`` when stressed (misaki's "first", "perched"); a ``t`` between a vowel (or ``ɹ``) and
    an unstressed vowel is the American flap ``T``, as misaki writes "cottage" and "reporter".
    """
    phones: list[str] = []
    for token in ipa.split():
        mark = token[0] if token[0] in STRESS else ""
        core = token[len(mark):]
        if core == "ɚ":
            phones.extend([mark + "ɜ" if mark else "ə", "ɹ"])
        else:
            phones.append(mark + DIPHTHONGS.get(core, AFFRICATES.get(core, core)))
    for i in range(1, len(phones) - 1):
        before, after = phones[i - 1], phones[i + 1]
        if phones[i] == "t" and (before[-1] in VOWELS or before == "ɹ") and after[0] in VOWELS:
            phones[i] = "T"
    return "".join(phones)


def with_s(stem: str) -> str:
    """The possessive or plural -s after ``stem``'s last sound (misaki's rule): ᵻz, s or z."""
    last = stem[-1] if stem else ""
    if last in SIBILANTS:
        return stem + "ᵻz"
    return stem + ("s" if last in VOICELESS else "z")


class CmuLexicon:
    """Lookups in gruut-lang-en's ``lexicon.db`` (the CMU dictionary in IPA).

    The file has no index on its words (a lookup scanned 129k rows: 25 ms under load, most of a
    sentence's synthesis time at hibari's speed), so on the first lookup each word's first
    pronunciation is copied into an in-memory table with a unique index (0.5 s once, about
    11 MB; only a process that meets a word misaki lacks pays it), then a lookup takes
    microseconds.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else self.default_path()
        self._lock = threading.Lock()
        self._table: sqlite3.Connection | None = None

    @staticmethod
    def default_path() -> Path:
        try:
            import gruut_lang_en
        except ImportError as exc:
            raise MissingResourceError(
                "gruut-lang-en is missing (the CMU dictionary for names); install it with: pip install gruut-lang-en==2.0.1"
            ) from exc
        return Path(gruut_lang_en.__file__).parent / "lexicon.db"

    def _load(self) -> sqlite3.Connection:
        table = sqlite3.connect(":memory:", uri=True, check_same_thread=False)  # uri: ATTACH reads the file read-only
        table.execute("ATTACH DATABASE ? AS source", (f"file:{self.path}?mode=ro&immutable=1",))
        # Bare columns beside MIN() come from the row holding the minimum: the first pronunciation.
        table.execute(
            "CREATE TABLE lexicon AS SELECT word, phonemes, MIN(pron_order * 100000000 + id) AS rank"
            " FROM source.word_phonemes GROUP BY word"
        )
        table.execute("CREATE UNIQUE INDEX lexicon_word ON lexicon(word)")
        table.execute("DETACH DATABASE source")
        return table

    def ipa(self, word: str) -> str | None:
        """The first (most common) pronunciation of the lower-case ``word``, or None."""
        with self._lock:
            if self._table is None:
                self._table = self._load()
            row = self._table.execute("SELECT phonemes FROM lexicon WHERE word = ?", (word,)).fetchone()
        return row[0] if row else None


class UnknownWords:
    """hibari's ``oov`` hook: word -> phonemes (Kokoro's alphabet), the dictionary before the net."""

    def __init__(self, lexicon: CmuLexicon | None = None, net=None) -> None:
        self.lexicon = lexicon or CmuLexicon()
        self._net = net
        self._lock = threading.Lock()

    @property
    def net(self):
        """hibari's OOV net, loaded on first need (most scripts never reach it)."""
        with self._lock:
            if self._net is None:
                from hibari.g2p.oov import OOV

                self._net = OOV()
            return self._net

    def __call__(self, word: str) -> str | None:
        return self.from_dictionary(word) or self.net(word)

    def from_dictionary(self, word: str) -> str | None:
        """The dictionary's reading of ``word`` (its possessive from the stem's), or None."""
        if word.isupper():
            return None
        return _dictionary_reading(self.lexicon, word.lower().replace("’", "'"))


@lru_cache(maxsize=4096)
def _dictionary_reading(lexicon: CmuLexicon, word: str) -> str | None:
    if not _LOOKUP_RE.match(word):
        return None
    ipa = lexicon.ipa(word)
    if ipa:
        return to_kokoro(ipa)
    if word.endswith("'s"):
        stem = lexicon.ipa(word[:-2])
        return with_s(to_kokoro(stem)) if stem else None
    return None
