"""Pure rules of the registry (services/registry/domain.py)."""

from __future__ import annotations


def test_a_number_is_looked_for_as_written_with_or_without_leading_zeros():
    from services.registry.domain import number_spellings

    assert number_spellings("5", width=4) == ["5", "05", "005", "0005"]
    assert number_spellings("005", width=4) == number_spellings("5", width=4)
    assert number_spellings("120", width=4) == ["120", "0120"]
    assert number_spellings("0", width=2) == ["0", "00"]
