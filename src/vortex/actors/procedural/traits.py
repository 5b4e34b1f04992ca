"""Prompt -> ``Traits``: which words steer which part of the character, and the seed for the rest.

The parser is a small vocabulary, not a language model: it looks for the words in the tables
below (multi-word phrases first), attaches colour words to the noun next to them ("blue hair",
"alien green", "red background"), and draws every trait the prompt leaves open from a random
generator seeded by a hash of the whole prompt and the seed. So unknown words still change the
character (they change the hash), and the same prompt + seed always gives the same traits.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass

import numpy as np

RGB = tuple[int, int, int]

COLOURS: dict[str, RGB] = {
    "red": (200, 52, 46), "orange": (235, 130, 40), "yellow": (240, 205, 60), "gold": (214, 170, 55),
    "green": (70, 160, 75), "teal": (40, 150, 150), "cyan": (70, 195, 215), "blue": (60, 105, 200),
    "navy": (35, 50, 110), "purple": (125, 70, 170), "violet": (140, 90, 200), "pink": (235, 120, 170),
    "magenta": (200, 60, 160), "brown": (110, 70, 40), "black": (30, 28, 32), "white": (238, 238, 232),
    "grey": (140, 140, 145), "gray": (140, 140, 145), "silver": (185, 188, 195), "blonde": (230, 196, 110),
    "blond": (230, 196, 110), "ginger": (190, 90, 40), "beige": (215, 195, 160),
}

# Skin colours of the species that carry their own (alien and tinted skins are colour words).
HUMAN_TONES: dict[str, RGB] = {
    "pale": (250, 222, 205), "fair": (244, 208, 182), "light": (238, 196, 166), "olive": (205, 160, 118),
    "tan": (212, 158, 112), "brown": (160, 104, 70), "dark": (105, 66, 44),
}
SKIN_TINTS: dict[str, RGB] = {
    "green": (128, 196, 96), "blue": (160, 175, 240), "purple": (165, 120, 205), "violet": (170, 130, 215),
    "pink": (240, 160, 190), "teal": (90, 185, 175), "cyan": (120, 205, 220), "yellow": (235, 215, 110),
    "orange": (240, 160, 90), "red": (215, 105, 90), "grey": (170, 172, 178), "gray": (170, 172, 178),
    "silver": (190, 194, 202), "gold": (215, 180, 90), "white": (235, 235, 232),
}
ROBOT_METAL: RGB = (172, 178, 186)

SPECIES_WORDS = {
    "human": "human", "man": "human", "woman": "human", "person": "human", "guy": "human", "girl": "human",
    "boy": "human", "lady": "human", "gentleman": "human", "scientist": "human", "professor": "human",
    "kid": "human", "child": "human", "teen": "human", "teenager": "human", "grandpa": "human", "grandma": "human",
    "businessman": "human", "soldier": "human", "king": "human", "queen": "human", "wizard": "human",
    "alien": "alien", "martian": "alien", "extraterrestrial": "alien", "creature": "alien",
    "robot": "robot", "android": "robot", "cyborg": "robot", "droid": "robot", "bot": "robot",
}
AGE_WORDS = {
    "young": "young", "kid": "young", "child": "young", "teen": "young", "teenager": "young", "youthful": "young",
    "old": "old", "elderly": "old", "grandpa": "old", "grandma": "old", "aged": "old", "ancient": "old",
    "senior": "old", "wrinkled": "old", "wrinkly": "old", "middle-aged": "middle", "adult": "middle",
}
HAIR_STYLES = {
    "bald": "bald", "hairless": "bald", "short": "short", "crew-cut": "short", "spiky": "spiky",
    "wild": "spiky", "messy": "spiky", "long": "long", "curly": "curly", "afro": "afro", "mohawk": "mohawk",
    "bun": "bun", "ponytail": "long", "bob": "bob", "pompadour": "pompadour", "quiff": "pompadour",
}
FACIAL_HAIR = {
    "beard": "beard", "bearded": "beard", "mustache": "mustache", "moustache": "mustache",
    "goatee": "goatee", "stubble": "stubble", "unshaven": "stubble", "clean-shaven": "none",
}
GLASSES = {
    "glasses": "round", "spectacles": "round", "round-glasses": "round", "square-glasses": "square",
    "goggles": "goggles", "sunglasses": "shades", "shades": "shades", "nerdy": "square",
}
HEADWEAR = {
    "hat": "fedora", "fedora": "fedora", "cap": "cap", "baseball-cap": "cap", "top-hat": "tophat",
    "tophat": "tophat", "beanie": "beanie", "wizard": "wizard", "wizard-hat": "wizard", "crown": "crown",
    "king": "crown", "queen": "crown", "antenna": "antennae", "antennae": "antennae", "antennas": "antennae",
}
CLOTHING = {
    "lab-coat": "labcoat", "labcoat": "labcoat", "coat": "labcoat", "suit": "suit", "tuxedo": "suit",
    "businessman": "suit", "t-shirt": "tshirt", "tshirt": "tshirt", "tee": "tshirt", "shirt": "tshirt",
    "uniform": "uniform", "soldier": "uniform", "captain": "uniform", "pilot": "uniform",
    "hoodie": "hoodie", "sweater": "sweater", "jumper": "sweater",
}
BACKGROUNDS = {
    "laboratory": "laboratory", "lab": "laboratory", "studio": "studio", "space": "space",
    "stars": "space", "galaxy": "space", "cosmic": "space", "desert": "desert", "dunes": "desert",
    "city": "city", "skyline": "city", "urban": "city", "street": "city", "plain": "plain",
}
NOSES = {"button-nose": "button", "long-nose": "long", "pointy": "long", "big-nose": "bulb", "bulbous": "bulb"}
PHRASES = {  # multi-word names joined before lookup
    "lab coat": "lab-coat", "top hat": "top-hat", "t shirt": "t-shirt", "baseball cap": "baseball-cap",
    "wizard hat": "wizard-hat", "middle aged": "middle-aged", "clean shaven": "clean-shaven",
    "crew cut": "crew-cut", "button nose": "button-nose", "long nose": "long-nose", "big nose": "big-nose", "round glasses": "round-glasses", "square glasses": "square-glasses",
}
FEMININE = {"woman", "girl", "lady", "queen", "grandma", "she", "her", "mother", "aunt", "princess"}
HAIR_NOUNS = {"hair", "haired", "hairdo", "beard", "mustache", "moustache", "goatee"}
SKIN_NOUNS = {"skin", "skinned", "alien", "martian", "creature", "face", "extraterrestrial"}
BACKGROUND_NOUNS = {"background", "backdrop", "wall", "bg"}
EYE_NOUNS = {"eyes", "eyed", "eye"}

EYE_COLOURS: list[RGB] = [(95, 60, 35), (70, 120, 190), (70, 140, 90), (130, 100, 60), (110, 120, 130)]
ALIEN_EYES: list[RGB] = [(230, 180, 40), (200, 50, 60), (60, 60, 70), (120, 60, 170)]
HAIR_COLOURS: list[RGB] = [(40, 30, 25), (95, 60, 35), (150, 95, 50), (226, 190, 110), (175, 75, 35),
                           (195, 215, 230), (60, 120, 210), (220, 110, 170)]
CLOTHING_COLOURS: list[RGB] = [(60, 110, 190), (200, 60, 55), (60, 140, 90), (235, 180, 50), (120, 80, 160),
                               (50, 55, 70), (230, 120, 60), (70, 170, 180)]
BACKGROUND_COLOURS: list[RGB] = [(245, 215, 120), (140, 200, 235), (240, 150, 140), (170, 220, 170), (200, 170, 235)]


@dataclass(frozen=True)
class Traits:
    """Everything that decides how a character looks; ``as_dict`` goes into ``Portrait.details``."""

    species: str
    skin_rgb: RGB
    age: str
    hair_style: str
    hair_rgb: RGB
    facial_hair: str
    glasses: str
    headwear: str
    clothing: str
    clothing_rgb: RGB
    background: str
    background_rgb: RGB
    iris_rgb: RGB
    # Face shape, all in units of the 512-pixel reference canvas or as unitless factors.
    face_half_width: float
    jaw_squareness: float
    chin_drop: float
    eye_scale: float
    eye_gap: float
    nose_scale: float
    mouth_half_width: float
    lip_scale: float
    brow_thickness: float
    brow_tilt: float
    ear_scale: float
    cranium: float  # head height above the eyes, 1 = human
    nose_kind: str  # button, long, bulb
    freckles: bool
    known_words: tuple[str, ...]
    unknown_words: tuple[str, ...]

    def as_dict(self) -> dict:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out


_HYPHENATED = {
    word
    for table in (SPECIES_WORDS, AGE_WORDS, HAIR_STYLES, FACIAL_HAIR, GLASSES, HEADWEAR, CLOTHING, BACKGROUNDS, NOSES)
    for word in table
    if "-" in word
}


def rng_for(prompt: str, seed: int) -> np.random.Generator:
    """A generator keyed on the exact prompt text and seed (sha256, so stable across runs and machines)."""
    digest = hashlib.sha256(f"{seed}\x00{prompt}".encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def tokenize(prompt: str) -> list[str]:
    text = " " + re.sub(r"[^\w\-]+", " ", prompt.lower()) + " "
    for phrase, joined in PHRASES.items():
        text = text.replace(f" {phrase} ", f" {joined} ")
    tokens: list[str] = []
    for token in text.split():
        if "-" in token and token not in _HYPHENATED:  # "blue-haired" -> "blue", "haired"
            tokens.extend(part for part in token.split("-") if part)
        else:
            tokens.append(token)
    return tokens


def _colour_targets(tokens: list[str]) -> dict[str, str]:
    """Attach colour words to the noun they describe: the next noun within two words, else the previous word."""
    targets: dict[str, str] = {}
    kinds = (
        (HAIR_NOUNS | set(HAIR_STYLES) | {"beard", "mustache", "goatee"}, "hair"),
        (SKIN_NOUNS, "skin"),
        (BACKGROUND_NOUNS | set(BACKGROUNDS), "background"),
        (set(CLOTHING), "clothing"),
        (EYE_NOUNS, "eyes"),
    )

    def kind_of(word: str) -> str | None:
        for nouns, kind in kinds:
            if word in nouns:
                return kind
        return None

    for i, token in enumerate(tokens):
        if token not in COLOURS and token not in HUMAN_TONES:
            continue
        found = None
        for j in (i + 1, i + 2):
            if j < len(tokens) and (found := kind_of(tokens[j])):
                break
        if not found and i > 0:
            found = kind_of(tokens[i - 1])
        if found and found not in targets:
            targets[found] = token
    return targets


def _pick(rng: np.random.Generator, options: list, weights: list[float] | None = None):
    p = None if weights is None else np.asarray(weights, float) / float(np.sum(weights))
    return options[int(rng.choice(len(options), p=p))]


def _lookup(tokens: list[str], table: dict[str, str]) -> str | None:
    for token in tokens:
        if token in table:
            return table[token]
    return None


def parse_prompt(prompt: str, seed: int = 0) -> Traits:
    """Read what the prompt names; draw the rest from the prompt+seed generator."""
    tokens = tokenize(prompt)
    rng = rng_for(prompt, seed)
    colours = _colour_targets(tokens)
    tables = (SPECIES_WORDS, AGE_WORDS, HAIR_STYLES, FACIAL_HAIR, GLASSES, HEADWEAR, CLOTHING, BACKGROUNDS, NOSES,
              {"freckles": 1, "freckled": 1},
              COLOURS, HUMAN_TONES, {w: w for w in HAIR_NOUNS | SKIN_NOUNS | BACKGROUND_NOUNS | EYE_NOUNS})
    known = tuple(t for t in tokens if any(t in table for table in tables))
    unknown = tuple(t for t in tokens if t not in known)

    species = _lookup(tokens, SPECIES_WORDS)
    skin_word = colours.get("skin")
    if species is None:
        if skin_word in SKIN_TINTS and skin_word not in HUMAN_TONES:
            species = "alien"
        else:
            species = _pick(rng, ["human", "alien", "robot"], [0.7, 0.2, 0.1])
    if species == "robot":
        skin = SKIN_TINTS[skin_word] if skin_word in SKIN_TINTS else ROBOT_METAL
    elif species == "alien":
        tint = skin_word if skin_word in SKIN_TINTS else _pick(rng, ["green", "blue", "purple", "teal", "pink"], [4, 2, 2, 1, 1])
        skin = SKIN_TINTS[tint]
    else:
        tone = next((t for t in tokens if t in HUMAN_TONES), None) or (skin_word if skin_word in HUMAN_TONES else None)
        skin = HUMAN_TONES[tone] if tone else _pick(rng, list(HUMAN_TONES.values()))

    age = _lookup(tokens, AGE_WORDS) or _pick(rng, ["young", "middle", "old"], [0.35, 0.45, 0.2])

    hair_style = _lookup(tokens, HAIR_STYLES)
    if hair_style is None:
        styles = ["bald", "short", "spiky", "long", "curly", "afro", "mohawk", "bun", "bob", "pompadour"]
        weights = [0.6 if species == "human" else 3.0, 2, 1.5, 1.2, 1, 0.6, 0.5, 0.6, 0.8, 0.8]
        if species == "robot":
            weights = [6, 0.5, 0.5, 0.2, 0.2, 0.1, 1, 0.1, 0.2, 0.3]
        hair_style = _pick(rng, styles, weights)
    hair_word = colours.get("hair")
    if hair_word:
        hair = COLOURS.get(hair_word, COLOURS["brown"])
    elif age == "old":
        hair = _pick(rng, [(205, 205, 210), (235, 235, 238), (170, 170, 175)])
    else:
        hair = _pick(rng, HAIR_COLOURS)

    facial = _lookup(tokens, FACIAL_HAIR)
    if facial is None:
        if species != "human" or age == "young" or any(t in FEMININE for t in tokens):
            facial = "none"
        else:
            # Moustaches only on request: near the lip they are the riskiest shape for the face mesh.
            facial = _pick(rng, ["none", "beard", "goatee", "stubble"], [6, 1.0, 0.8, 1])
    glasses = _lookup(tokens, GLASSES) or _pick(rng, ["none", "round", "square"], [5, 1, 1])
    headwear = _lookup(tokens, HEADWEAR)
    if headwear is None:
        headwear = _pick(rng, ["none", "cap", "beanie", "fedora", "antennae"],
                         [9, 0.6, 0.6, 0.4, 3.0 if species != "human" else 0.1])
    clothing = _lookup(tokens, CLOTHING)
    if clothing is None:
        clothing = _pick(rng, ["labcoat", "suit", "tshirt", "uniform", "hoodie", "sweater"],
                         [2 if "scientist" in tokens or "professor" in tokens else 0.8, 1, 1.5, 0.8, 1, 1])
    clothing_word = colours.get("clothing")
    clothing_rgb = COLOURS[clothing_word] if clothing_word in COLOURS else _pick(rng, CLOTHING_COLOURS)

    background = _lookup(tokens, BACKGROUNDS)
    bg_word = colours.get("background")
    if background is None:
        background = "plain" if bg_word else _pick(rng, ["laboratory", "studio", "space", "desert", "city", "plain"])
    background_rgb = COLOURS[bg_word] if bg_word in COLOURS else _pick(rng, BACKGROUND_COLOURS)

    eye_word = colours.get("eyes")
    if eye_word in COLOURS:
        iris = COLOURS[eye_word]
    else:
        iris = _pick(rng, ALIEN_EYES if species == "alien" else EYE_COLOURS)

    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731 - a local shorthand
    return Traits(
        species=species, skin_rgb=tuple(skin), age=age, hair_style=hair_style, hair_rgb=tuple(hair),
        facial_hair=facial, glasses=glasses, headwear=headwear, clothing=clothing,
        clothing_rgb=tuple(clothing_rgb), background=background, background_rgb=tuple(background_rgb),
        iris_rgb=tuple(iris),
        face_half_width=u(100, 118), jaw_squareness=u(2.0, 3.2) if species != "robot" else u(3.5, 5.0),
        chin_drop=u(-8, 10), eye_scale=u(0.92, 1.12), eye_gap=u(0.95, 1.08), nose_scale=u(0.85, 1.2),
        mouth_half_width=u(36, 46), lip_scale=u(0.85, 1.2), brow_thickness=u(6, 10), brow_tilt=u(-6, 6),
        ear_scale=u(0.85, 1.2),
        # Drawn after the traits above so that adding them did not change earlier characters.
        cranium=u(1.08, 1.3) if species == "alien" else u(0.97, 1.04),
        nose_kind=_lookup(tokens, NOSES) or _pick(rng, ["button", "long", "bulb"], [3, 1.5, 1]),
        freckles=bool(any(t in ("freckles", "freckled") for t in tokens)
                      or (species == "human" and age == "young" and rng.random() < 0.4)),
        known_words=known, unknown_words=unknown,
    )
