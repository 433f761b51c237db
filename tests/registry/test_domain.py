"""Pure rules of the registry (services/registry/domain.py)."""

from __future__ import annotations


def test_a_number_is_looked_for_as_written_with_or_without_leading_zeros():
    from services.registry.domain import number_spellings

    assert number_spellings("5", width=4) == ["5", "05", "005", "0005"]
    assert number_spellings("005", width=4) == number_spellings("5", width=4)
    assert number_spellings("120", width=4) == ["120", "0120"]
    assert number_spellings("0", width=2) == ["0", "00"]


def test_a_unit_recipient_fits_an_organ_id_whatever_the_length_of_its_code():
    from services.registry.domain import ORGAN_ID_MAX, internal_id, internal_units

    longest = "a" * 32   # the longest unit code an account may carry (gateway/accounts.py UNIT_CODE_RE)
    assert internal_id("th") == "unit:th"
    assert len(internal_id(longest)) <= ORGAN_ID_MAX and internal_id(longest) != f"unit:{longest}"[:35]
    recipients = [(internal_id("th"), "internal"), (internal_id(longest), "internal"),
                  ("000.00.00.H17", "interconnect"), ("unit:kt", "paper")]
    assert internal_units(recipients) == ["th", longest]   # both units reached, a paper line is not a unit
