"""Text folding and tokenization: what makes "l’OTAN" and "otan" the same word."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.text import Token, normalize, tokenize


def norms(s: str) -> list[str]:
    return [t.norm for t in tokenize(s)]


def slices(s: str) -> list[str]:
    return [s[t.start:t.end] for t in tokenize(s)]


@pytest.mark.parametrize("raw, folded", [
    ("OTAN", "otan"),
    ("États-Unis", "etats-unis"),
    ("Œuvre", "oeuvre"),
    ("cœur", "coeur"),
    ("Æsir", "aesir"),
    ("Straße", "strasse"),
    ("ﬁn", "fin"),                       # compatibility ligature
    ("e\u0301te\u0301", "ete"),          # decomposed accents
    ("ÉTÉ", "ete"),
    ("İstanbul", "istanbul"),
    ("Ｎａｔｏ", "nato"),                 # full-width letters
    ("l’OTAN", "l'otan"),                # every apostrophe becomes '
    ("OT\u00adAN", "otan"),              # soft hyphen vanishes
])
def test_normalize(raw, folded):
    assert normalize(raw) == folded


@pytest.mark.parametrize("raw, expected", [
    ("OTAN", ["otan"]),
    ("Les États-Unis", ["les", "etats", "unis"]),
    ("Royaume-Uni", ["royaume", "uni"]),
    ("Royaume–Uni", ["royaume", "uni"]),              # en dash
    ("Royaume\u2011Uni", ["royaume", "uni"]),         # non-breaking hyphen
    ("l'OTAN", ["otan"]),
    ("l’OTAN", ["otan"]),
    ("L’OTAN", ["otan"]),
    ("d'Ukraine", ["ukraine"]),
    ("qu’il", ["il"]),
    ("jusqu'à Kiev", ["a", "kiev"]),
    ("lorsqu’on", ["on"]),
    ("puisqu'elle", ["elle"]),
    ("j’ai, m'a, n'est, s'étendre, t'as, c'est",
     ["ai", "a", "est", "etendre", "as", "est"]),
    ("aujourd'hui", ["aujourd", "hui"]),                # not an elision: kept, split
    ("NATO's", ["nato", "s"]),
    ("a-t-elle", ["a", "t", "elle"]),                   # "t" not followed by an apostrophe
    ("l' OTAN", ["l", "otan"]),                         # not elided when detached
    ("l'", ["l"]),
    ("COVID-19", ["covid", "19"]),
    ("  ...  ", []),
    ("", []),
    ("«OTAN»", ["otan"]),
    ("snake_case", ["snake", "case"]),
])
def test_tokenize_norms(raw, expected):
    assert norms(raw) == expected


def test_offsets_point_at_the_original_text():
    s = "Selon l’OTAN, les États-Unis..."
    assert tokenize(s) == [
        Token("selon", 0, 5),
        Token("otan", 8, 12),
        Token("les", 14, 17),
        Token("etats", 18, 23),
        Token("unis", 24, 28),
    ]
    assert slices(s) == ["Selon", "OTAN", "les", "États", "Unis"]


def test_combining_marks_and_soft_hyphens_stay_inside_the_word():
    s = "ete\u0301 OT\u00adAN"
    assert tokenize(s) == [Token("ete", 0, 4), Token("otan", 5, 10)]


def test_a_ligature_maps_to_the_whole_original_character():
    s = "l’œuvre"
    assert tokenize(s) == [Token("oeuvre", 2, 7)]


def test_tokens_are_frozen():
    with pytest.raises(AttributeError):
        tokenize("x")[0].norm = "y"  # type: ignore[misc]


# Characters that exercise every tokenizer path: letters, accents (composed and not),
# ligatures, apostrophes, hyphens, soft hyphens, digits, spaces and punctuation.
ALPHABET = list("abclqtuOTANÉéèœŒß19 '’-–.,\n\u00ad\u0301ﬁ") + ["qu", "jusqu", "l'", "d’"]


@given(st.lists(st.sampled_from(ALPHABET), max_size=40).map("".join))
def test_tokens_are_ordered_nonempty_and_fold_their_own_slice(s):
    tokens = tokenize(s)
    previous_end = 0
    for t in tokens:
        assert t.norm and t.norm == normalize(t.norm)
        assert previous_end <= t.start < t.end <= len(s)
        # The slice of the original folds to the token (soft hyphens and marks vanish).
        assert normalize(s[t.start:t.end]) == t.norm
        previous_end = t.end


@given(st.text(max_size=60))
def test_tokenize_never_fails_and_offsets_are_in_range(s):
    for t in tokenize(s):
        assert 0 <= t.start < t.end <= len(s)
        assert t.norm


@given(st.lists(st.sampled_from(ALPHABET), max_size=30).map("".join))
def test_tokenizing_is_insensitive_to_case_and_accents(s):
    # Stripping accents or changing case never changes the tokens.
    assert norms(s.upper()) == norms(s) == norms(normalize(s))


# Characters the fast path folds at once (letters with and without accents, every kind of
# apostrophe and dash, spaces, punctuation), with elisions in every position.
FAST = list("abdlqstuxzOTANÉéèçÇàÀ09 '’‘-–—.,;«»\n\u00a0") + ["qu", "jusqu", "l'", "d’", "qu’", "L'", "lorsqu'", "puisqu’"]


@given(st.lists(st.sampled_from(FAST), max_size=60).map("".join))
def test_the_fast_path_gives_the_exact_tokens(s):
    from monitor.core.text import _tokenize_exact

    assert tokenize(s) == _tokenize_exact(s)


@given(st.lists(st.sampled_from(ALPHABET + FAST), max_size=40).map("".join))
def test_any_text_gives_the_exact_tokens(s):
    from monitor.core.text import _tokenize_exact

    assert tokenize(s) == _tokenize_exact(s)
