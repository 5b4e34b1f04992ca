"""Which voices are offered: every listed voice passed the intelligibility benchmark; the rest
still speak when named (old recipes), but are not listed or suggested."""

import json

import pytest

from vortex.cli import main
from vortex.errors import InvalidInputError
from vortex.speech.voices import OFFERED_VOICES, VOICES, get_voice, voice_packs

NOT_OFFERED = ("summer", "jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro")
CHARACTERS = ("rick_c137", "morty", "summer", "jerry", "beth")


def test_vortex_voices_lists_only_offered_voices_and_all_with_flag(capsys):
    assert main(["voices", "--json"]) == 0
    listed = [v["id"] for v in json.loads(capsys.readouterr().out)["voices"]]
    assert listed == list(OFFERED_VOICES)
    assert not set(NOT_OFFERED) & set(listed)
    assert main(["voices", "--all", "--json"]) == 0
    everything = json.loads(capsys.readouterr().out)["voices"]
    assert [v["id"] for v in everything] == list(VOICES)
    assert {v["id"] for v in everything if not v["offered"]} == set(NOT_OFFERED)


def test_unoffered_voices_still_resolve_but_errors_suggest_only_offered():
    assert get_voice("jf_alpha").offered is False
    with pytest.raises(InvalidInputError) as err:
        get_voice("jf_alpah")
    message = str(err.value)
    assert "jm_kumo" in message and "jf_alpha" not in message


def test_character_blends_use_shipped_packs_with_unit_weight_and_distinct_recipes():
    packs = voice_packs()
    recipes = set()
    for voice_id in CHARACTERS:
        voice = get_voice(voice_id)
        assert all(name in packs for name, _ in voice.blend)
        assert sum(w for _, w in voice.blend) == pytest.approx(1.0)
        recipes.add((voice.blend, voice.speed))
    assert len(recipes) == len(CHARACTERS)
