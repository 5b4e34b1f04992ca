"""Phone timelines for audio that Vortex did not synthesize (user audio, or an independent check).

* ``align_transcript(waveform, sample_rate, text)``: forced alignment with pocketsphinx (its
  shipped en-us acoustic model and CMU dictionary) at 16 kHz. Words missing from the dictionary
  get a pronunciation from our G2P (``vortex.speech.g2p``), mapped to ARPABET. Accurate to a frame or two
  (10 ms frames) when the transcript matches the audio.
* ``recognize_phones(waveform, sample_rate)``: no transcript; pocketsphinx phone-loop decoding
  with its shipped phone language model. Best effort. Measured on 2 sentences of Kokoro speech
  (jf_alpha) frame by frame against the TTS timeline: speech/pause agrees on 87 % of frames,
  vowel/consonant class on 81 % of speech frames, the exact phone on only 36 %. Good enough
  for mouth rhythm and closures in pauses, not for visemes of individual phones. ``words`` is empty.

Both return a ``Speech`` on the same alphabet as the TTS timeline (see ``vortex.speech.timeline``):
ARPABET phones become one or two IPA phones (diphthongs ``AY -> a ɪ``, affricates ``CH -> t ʃ``
split the phone's time evenly), silences and noises become ``PAUSE``. The waveform is returned
at 24 kHz, and the timeline covers it exactly (contiguous, from 0 to ``len / 24000``).
CMU dictionary pronunciations carry no stress, so ``stressed`` is always False here.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from vortex.config import SAMPLE_RATE
from vortex.errors import InvalidInputError, MissingResourceError
from vortex.speech.speech import PAUSE, Speech
from vortex.speech.timeline import TimedToken, build_timeline

ALIGN_RATE = 16_000
FRAME_RATE = 100
"""pocketsphinx frames per second (10 ms)."""

ARPABET_TO_IPA: dict[str, tuple[str, ...]] = {
    "AA": ("ɑ",), "AE": ("æ",), "AH": ("ʌ",), "AO": ("ɔ",), "AW": ("a", "ʊ"), "AY": ("a", "ɪ"),
    "B": ("b",), "CH": ("t", "ʃ"), "D": ("d",), "DH": ("ð",), "EH": ("ɛ",), "ER": ("ɚ",),
    "EY": ("e", "ɪ"), "F": ("f",), "G": ("ɡ",), "HH": ("h",), "IH": ("ɪ",), "IY": ("i",),
    "JH": ("d", "ʒ"), "K": ("k",), "L": ("l",), "M": ("m",), "N": ("n",), "NG": ("ŋ",),
    "OW": ("o", "ʊ"), "OY": ("ɔ", "ɪ"), "P": ("p",), "R": ("ɹ",), "S": ("s",), "SH": ("ʃ",),
    "T": ("t",), "TH": ("θ",), "UH": ("ʊ",), "UW": ("u",), "V": ("v",), "W": ("w",), "Y": ("j",),
    "Z": ("z",), "ZH": ("ʒ",),
}
"""pocketsphinx en-us phones -> phones of the Vortex alphabet (anything else is a pause)."""

# Longest match first: diphthongs and affricates before their parts; length marks dropped.
_IPA_TO_ARPABET: tuple[tuple[str, str], ...] = tuple(
    sorted(
        {
            "aɪ": "AY", "aʊ": "AW", "eɪ": "EY", "oʊ": "OW", "ɔɪ": "OY", "tʃ": "CH", "dʒ": "JH",
            "ʧ": "CH", "ʤ": "JH", "A": "EY", "I": "AY", "O": "OW", "W": "AW", "Y": "OY", "Q": "OW",
            "T": "D", "ɜɹ": "ER",
            "ɑ": "AA", "ɒ": "AA", "æ": "AE", "a": "AE", "ʌ": "AH", "ə": "AH",
            "ɐ": "AH", "ᵊ": "AH", "ɔ": "AO", "ɛ": "EH", "e": "EY", "ɚ": "ER", "ɜ": "ER", "ɪ": "IH",
            "ᵻ": "IH", "i": "IY", "o": "OW", "ʊ": "UH", "u": "UW", "b": "B", "d": "D", "ð": "DH",
            "f": "F", "ɡ": "G", "g": "G", "h": "HH", "j": "Y", "k": "K", "l": "L", "m": "M", "n": "N",
            "ŋ": "NG", "p": "P", "ɹ": "R", "r": "R", "s": "S", "ʃ": "SH", "t": "T", "θ": "TH",
            "v": "V", "w": "W", "z": "Z", "ʒ": "ZH", "ɾ": "D", "ʔ": "T", "x": "K", "ç": "HH",
        }.items(),
        key=lambda kv: -len(kv[0]),
    )
)

_lock = threading.Lock()


def ipa_to_arpabet(ipa: str) -> list[str]:
    """ARPABET phones for an IPA or misaki phoneme string (stress, length and punctuation dropped)."""
    out: list[str] = []
    i = 0
    while i < len(ipa):
        for key, arpa in _IPA_TO_ARPABET:
            if ipa.startswith(key, i):
                out.append(arpa)
                i += len(key)
                break
        else:
            i += 1  # stress/length marks, punctuation, spaces, symbols with no English equivalent
    return out


@lru_cache(maxsize=1)
def _model_dir() -> Path:
    try:
        import pocketsphinx
    except ImportError as exc:
        raise MissingResourceError("pocketsphinx is missing; install it with: pip install pocketsphinx==5.1.1") from exc
    return Path(pocketsphinx.get_model_path()) / "en-us"


def _decoder(**kwargs):
    from pocketsphinx import Decoder

    model = _model_dir()
    return Decoder(
        hmm=str(model / "en-us"), dict=str(model / "cmudict-en-us.dict"), samprate=ALIGN_RATE,
        loglevel="FATAL", **kwargs,
    )


@lru_cache(maxsize=1)
def _align_decoder():
    return _decoder(lm=None)


@lru_cache(maxsize=1)
def _phone_decoder():
    model = _model_dir()
    return _decoder(lm=None, allphone=str(model / "en-us-phone.lm.bin"), backtrace=True, beam=1e-20, pbeam=1e-20, lw=2.0)


def _prepare(waveform: np.ndarray, sample_rate: int) -> tuple[np.ndarray, bytes]:
    """(24 kHz float32 waveform for the result, 16 kHz int16 PCM bytes for pocketsphinx)."""
    from vortex.media.audio import resample, validate_waveform

    wave = validate_waveform(waveform, sample_rate)
    out = resample(wave, sample_rate, SAMPLE_RATE)
    pcm = resample(wave, sample_rate, ALIGN_RATE)
    pcm16 = (np.clip(pcm, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    return out, pcm16


def _decode(decoder, pcm: bytes) -> None:
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def _word_keys(text: str, decoder) -> tuple[list[str], list[str]]:
    """Dictionary keys to align and the display text of each word; adds missing words."""
    from vortex.speech.g2p import clean_word, normalize_text, phonemize_lines

    raw = [w for w in normalize_text(text).split() if re.search(r"\w", w)]
    displays, keys, missing = [], [], []
    for word in raw:
        display = clean_word(word)
        key = display.lower()
        if not re.fullmatch(r"[a-z0-9'.\-]+", key):
            key = "vx" + "".join(f"{ord(c):x}" for c in key)  # a safe dictionary key for any text
        displays.append(display)
        keys.append(key)
        if decoder.lookup_word(key) is None:
            missing.append((key, display))
    missing = list(dict.fromkeys(missing))
    for i, ((key, display), ipa) in enumerate(zip(missing, phonemize_lines([d for _, d in missing]))):
        arpabet = ipa_to_arpabet(ipa)
        if not arpabet:
            raise InvalidInputError(f"cannot derive a pronunciation for {display!r}; spell it out in the transcript")
        decoder.add_word(key, " ".join(arpabet), i == len(missing) - 1)  # rebuild the dictionary once
    return keys, displays


def _to_tokens(segments: list[tuple[str, int, int, int | None]], total: int) -> list[TimedToken]:
    """Frame segments (arpabet, start_frame, end_frame, word) -> 24 kHz tokens covering ``total`` samples."""
    per_frame = SAMPLE_RATE // FRAME_RATE
    tokens: list[TimedToken] = []
    position = 0
    for name, start, end, word in segments:
        a = min(max(start * per_frame, position), total)
        b = min(max(end * per_frame, a), total)
        if a > position:
            tokens.append(TimedToken(PAUSE, a - position))
        ipa = ARPABET_TO_IPA.get(name.upper())
        if ipa is None:
            tokens.append(TimedToken(PAUSE, b - a))
        else:
            # Split the phone's samples evenly across its IPA parts (remainder to the first).
            n = b - a
            parts = [n // len(ipa)] * len(ipa)
            parts[0] += n - sum(parts)
            tokens.extend(TimedToken(sym, k, word) for sym, k in zip(ipa, parts))
        position = b
    if position < total:
        tokens.append(TimedToken(PAUSE, total - position))
    return tokens


def align_transcript(waveform: np.ndarray, sample_rate: int, text: str) -> Speech:
    """Forced alignment of ``text`` to the audio; returns a 24 kHz ``Speech`` with phones and words."""
    if not isinstance(text, str) or not re.search(r"\w", text):
        raise InvalidInputError("transcript is empty; give the words spoken in the audio")
    out, pcm = _prepare(waveform, sample_rate)
    with _lock:
        decoder = _align_decoder()
        keys, displays = _word_keys(text, decoder)
        try:
            decoder.set_align_text(" ".join(keys))
            _decode(decoder, pcm)
            decoder.set_alignment()
            _decode(decoder, pcm)
            alignment = decoder.get_alignment()
        except RuntimeError as exc:
            raise InvalidInputError(f"could not align the transcript to the audio ({exc}); does the text match the speech?") from exc
        if alignment is None:
            raise InvalidInputError("could not align the transcript to the audio; does the text match the speech?")
        segments: list[tuple[str, int, int, int | None]] = []
        index = -1
        for word in alignment.words():
            name = re.sub(r"\(\d+\)$", "", word.name)
            is_word = name not in ("<s>", "</s>", "<sil>", "sil") and not name.startswith("+") and not name.startswith("[")
            if is_word:
                index += 1
            for phone in word:
                segments.append((phone.name if is_word else "SIL", phone.start, phone.start + phone.duration, index if is_word else None))
    if index + 1 != len(keys):
        raise InvalidInputError(f"aligned {index + 1} of {len(keys)} transcript words; does the text match the speech?")
    phones, words = build_timeline(_to_tokens(segments, len(out)), tuple(displays), SAMPLE_RATE)
    return Speech(waveform=out, phones=phones, words=words, sample_rate=SAMPLE_RATE, text=text,
                  metadata={"backend": "pocketsphinx-align", "source_rate": int(sample_rate)})


def recognize_phones(waveform: np.ndarray, sample_rate: int) -> Speech:
    """Phone recognition without a transcript (best effort, see the module docstring)."""
    out, pcm = _prepare(waveform, sample_rate)
    with _lock:
        decoder = _phone_decoder()
        _decode(decoder, pcm)
        segments = [(seg.word, seg.start_frame, seg.end_frame + 1, None) for seg in decoder.seg()]
    phones, _ = build_timeline(_to_tokens(segments, len(out)), (), SAMPLE_RATE)
    return Speech(waveform=out, phones=phones, words=(), sample_rate=SAMPLE_RATE,
                  metadata={"backend": "pocketsphinx-allphone", "source_rate": int(sample_rate)})
