from vortex.speech.external import infer_stress
from vortex.speech.speech import PAUSE, Phone


def test_longest_nucleus_of_each_word_is_stressed():
    phones = (
        Phone(PAUSE, 0.0, 0.2),
        Phone("b", 0.2, 0.25, 0), Phone("æ", 0.25, 0.33, 0), Phone("m", 0.33, 0.38, 0),
        Phone("b", 0.38, 0.43, 0), Phone("u", 0.43, 0.6, 0),                      # bamboo: u is longer
        Phone("ð", 0.6, 0.63, 1), Phone("ə", 0.63, 0.67, 1),                      # the: too short
        Phone("m", 0.67, 0.72, 2), Phone("a", 0.72, 0.78, 2), Phone("ɪ", 0.78, 0.84, 2),  # my: diphthong 0.12 s
        Phone(PAUSE, 0.84, 1.0),
    )
    out = infer_stress(phones)
    assert [p.symbol for p in out if p.stressed] == ["u", "a"]
    assert [(p.symbol, p.start, p.end) for p in out] == [(p.symbol, p.start, p.end) for p in phones]


def test_existing_stress_is_kept():
    phones = (Phone("ɑ", 0.0, 0.3, 0, True), Phone("i", 0.3, 0.9, 1))
    assert infer_stress(phones) is phones
