"""The matcher's fast named-tuple builders: a field added to Hit or Match stops the module
that builds them from loading, instead of letting it make tuples too short."""

import pytest

from monitor.core.types import Hit, Match, tuple_builder


def test_a_builder_makes_the_named_tuple_it_was_made_for():
    new_hit = tuple_builder(Hit, "field", "start", "end", "term")
    hit = new_hit(("title", 3, 7, "otan"))
    assert type(hit) is Hit and hit == Hit("title", 3, 7, "otan") and hit.term == "otan"


def test_a_builder_for_other_fields_than_the_tuples_is_refused_when_made():
    with pytest.raises(TypeError, match="Hit has the fields"):
        tuple_builder(Hit, "field", "start", "end")  # as if Hit had gained "term" since
    with pytest.raises(TypeError):
        tuple_builder(Match, *Match._fields, "language")  # as if a field had been taken out

