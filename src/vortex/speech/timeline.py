"""Kokoro tokens + per-token sample counts -> the exact phone timeline of ``Speech``.

Phone alphabet (what motion planners and lip-sync evaluators receive in ``Phone.symbol``):

* one IPA symbol per phone: vowels ``a ɑ ɐ æ ə ɚ ɛ ɜ e i ɪ ᵻ o ɔ u ʊ ʌ ɒ`` (diphthongs are
  two phones, e.g. ``a ɪ``, ``o ʊ``, ``e ɪ``), consonants ``b d f h j k l m n ŋ p s ʃ t θ ð v
  w z ʒ ɡ ɹ ɾ ʔ x ç``, the affricates as two phones (``t ʃ``, ``d ʒ``) and, from other
  languages' words, any other consonant or vowel of Kokoro's vocabulary. A Kokoro token is one
  phone, except the misaki letters the G2P writes (``SPLIT_TOKENS``): ``A I O W Y Q`` (the
  diphthongs eɪ aɪ oʊ aʊ ɔɪ əʊ) and ``ʧ ʤ`` become two phones that share the token's samples
  (the first gets the odd sample and the stress), ``T`` (flap) is ``ɾ`` and ``ᵊ`` is ``ə``;
* ``PAUSE`` (``"_"``) for every stretch without a phone: the model's pad tokens at the ends
  of each chunk, spaces between words, punctuation, and the silences joining chunks.
  Consecutive pauses are merged, so two pauses are never adjacent.

Marks are not phones: the stress marks ``ˈ`` and ``ˌ`` give their duration to the phone after
them (``stressed=True`` on the phone after ``ˈ``, the stressed vowel); the length mark ``ː``
and other modifiers (``ʰ ʲ`` nasal tilde, tone arrows) give theirs to the phone before.

Times are computed from integer sample counts and divided by the sample rate once, so the
timeline is contiguous (each start equals the previous end), starts at 0 and ends exactly at
``len(waveform) / sample_rate``, across chunk joins included.
"""

from __future__ import annotations

from dataclasses import dataclass

from vortex.speech.speech import PAUSE, Phone, Word

STRESS_PRIMARY = "ˈ"
STRESS_SECONDARY = "ˌ"
TRAILING_MARKS = frozenset("ː\u0303ʰʲ↓→↗↘")
PAUSE_SYMBOLS = frozenset(';:,.!?—…"()“” $')  # $ is Kokoro's pad token
SPLIT_TOKENS: dict[str, tuple[str, ...]] = {
    "A": ("e", "ɪ"), "I": ("a", "ɪ"), "O": ("o", "ʊ"), "W": ("a", "ʊ"), "Y": ("ɔ", "ɪ"), "Q": ("ə", "ʊ"),
    "ʧ": ("t", "ʃ"), "ʤ": ("d", "ʒ"), "T": ("ɾ",), "ᵊ": ("ə",),
}
"""Misaki's one-token diphthongs, affricates, flap and reduced schwa -> phones of the alphabet."""


@dataclass(frozen=True)
class TimedToken:
    """One token (or a join silence as ``PAUSE``) lasting ``samples`` samples."""

    symbol: str
    samples: int
    word_index: int | None = None


def fold_tokens(tokens: list[TimedToken]) -> list[tuple[str, int, int | None, bool]]:
    """Apply the alphabet rules; returns (symbol, samples, word_index, stressed) with samples > 0."""
    phones: list[list] = []  # [symbol, samples, word, stressed]
    carry = 0
    carry_stressed = False
    for tok in tokens:
        sym = tok.symbol
        if sym in (STRESS_PRIMARY, STRESS_SECONDARY):
            carry += tok.samples
            carry_stressed = carry_stressed or sym == STRESS_PRIMARY
            continue
        if sym in TRAILING_MARKS:
            if phones and phones[-1][0] != PAUSE:
                phones[-1][1] += tok.samples
            else:
                carry += tok.samples
            continue
        if sym in PAUSE_SYMBOLS or sym == PAUSE:
            if phones and phones[-1][0] == PAUSE:
                phones[-1][1] += tok.samples + carry
            else:
                phones.append([PAUSE, tok.samples + carry, None, False])
            carry, carry_stressed = 0, False
            continue
        parts = SPLIT_TOKENS.get(sym, (sym,))
        total = tok.samples + carry
        for k, part in enumerate(parts):
            share = total // len(parts) + (total % len(parts) if k == 0 else 0)
            phones.append([part, share, tok.word_index, carry_stressed and k == 0])
        carry, carry_stressed = 0, False
    if carry:
        if phones:
            phones[-1][1] += carry
        else:
            phones.append([PAUSE, carry, None, False])
    # Zero-length phones carry no time; dropping them can make two pauses meet, so merge again.
    out: list[tuple[str, int, int | None, bool]] = []
    for sym, n, word, stressed in phones:
        if n <= 0:
            continue
        if out and sym == PAUSE and out[-1][0] == PAUSE:
            out[-1] = (PAUSE, out[-1][1] + n, None, False)
        else:
            out.append((sym, n, word, stressed))
    return out


def trim_pause_edges(
    folded: list[tuple[str, int, int | None, bool]], waveform, frame: int = 240, floor_db: float = -36.0
) -> list[tuple[str, int, int | None, bool]]:
    """Move silence at the edges of phones next to a pause into that pause.

    Kokoro gives the silence before punctuation to the last phone of the phrase (a final "z"
    lasting 400 ms of which 300 ms are silent). A mouth should close in that silence, so the
    silent frames (RMS ``floor_db`` below the loud frames of the utterance) at a phone's edge
    next to a pause move into the pause. Each phone keeps at least one frame (10 ms); the
    total is unchanged, so the timeline stays exact.
    """
    import numpy as np

    wave = np.asarray(waveform, dtype=np.float32)
    n_frames = len(wave) // frame
    if n_frames == 0:
        return folded
    rms = np.sqrt(np.mean(wave[: n_frames * frame].reshape(n_frames, frame).astype(np.float64) ** 2, axis=1))
    loud = float(np.percentile(rms, 95))
    if loud <= 0:
        return folded
    threshold = loud * 10 ** (floor_db / 20)
    items = [list(p) for p in folded]
    starts = np.cumsum([0] + [p[1] for p in items])
    for i, item in enumerate(items):
        if item[0] == PAUSE:
            continue
        a, b = int(starts[i]), int(starts[i + 1])
        fa, fb = -(-a // frame), b // frame  # whole frames inside the phone
        if fb - fa < 3:
            continue
        voiced = np.nonzero(rms[fa:fb] > threshold)[0]
        if i + 1 < len(items) and items[i + 1][0] == PAUSE:
            end = b if voiced.size == 0 else min(b, (fa + voiced[-1] + 2) * frame)
            end = max(end, a + frame)
            if end < b:
                item[1] -= b - end
                items[i + 1][1] += b - end
                b = end
        if i > 0 and items[i - 1][0] == PAUSE:
            start = a if voiced.size == 0 else max(a, (fa + voiced[0] - 1) * frame)
            start = min(start, b - frame)
            if start > a:
                item[1] -= start - a
                items[i - 1][1] += start - a
        starts[i + 1] = b  # the phone's end (its start may have moved into the pause before it)
    return [tuple(p) for p in items]


def build_timeline(
    tokens: list[TimedToken], word_texts: tuple[str, ...], sample_rate: int, waveform=None
) -> tuple[tuple[Phone, ...], tuple[Word, ...]]:
    """Phones and words in seconds; ``word_texts`` is indexed by ``TimedToken.word_index``.

    With ``waveform``, silent edges of phones next to pauses move into the pauses
    (``trim_pause_edges``). Words whose phones all lasted zero samples (rare) are dropped and
    indices renumbered, so every returned word spans a positive time.
    """
    folded = fold_tokens(tokens)
    if waveform is not None:
        folded = trim_pause_edges(folded, waveform)
    return timeline_from_folded(folded, word_texts, sample_rate)


def timeline_from_folded(
    folded: list[tuple[str, int, int | None, bool]], word_texts: tuple[str, ...], sample_rate: int
) -> tuple[tuple[Phone, ...], tuple[Word, ...]]:
    """Folded phones (symbol, samples, word_index, stressed) -> phones and words in seconds."""
    spans: dict[int, list[int]] = {}
    position = 0
    bounds = []
    for sym, n, word, stressed in folded:
        bounds.append((position, position + n))
        if word is not None:
            span = spans.setdefault(word, [position, position + n])
            span[1] = position + n
        position += n
    kept = sorted(spans)
    renumber = {old: new for new, old in enumerate(kept)}
    phones = tuple(
        Phone(sym, a / sample_rate, b / sample_rate, renumber.get(word) if word is not None else None, stressed)
        for (sym, _, word, stressed), (a, b) in zip(folded, bounds)
    )
    words = tuple(Word(word_texts[w], spans[w][0] / sample_rate, spans[w][1] / sample_rate) for w in kept)
    return phones, words
