"""Log masking: an IBAN written any usual way is masked; the other words of a line are kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.log_privacy import mask_ibans

# Valid IBANs: digits only, a bank code in letters, letters later (Malta), the shortest (Norway).
IBANS = (
    "FR7630006000011234567890189",
    "DE89370400440532013000",
    "GB29NWBK60161331926819",
    "NL91ABNA0417164300",
    "MT84MALT011000012345MTLCAST001S",
    "NO9386011117947",
)


def _grouped(iban: str, size: int) -> str:
    return " ".join(iban[i : i + size] for i in range(0, len(iban), size))


@pytest.mark.parametrize("iban", IBANS)
@pytest.mark.parametrize("size", [4, 100], ids=["fours", "contiguous"])
def test_an_iban_in_a_sentence_keeps_only_its_country_check_digits_and_last_four(
    iban: str, size: int
) -> None:
    masked = mask_ibans(f"details: {_grouped(iban, size)}, thanks")
    assert masked == f"details: {iban[:4]} •••• {iban[-4:]}, thanks"


@pytest.mark.parametrize("iban", IBANS)
@given(sizes=st.lists(st.integers(4, 7), min_size=8, max_size=8))
def test_an_iban_cut_in_any_groups_of_four_to_seven_never_reaches_the_logs(
    iban: str, sizes: list[int]
) -> None:
    groups, start = [], 0
    for size in sizes:
        groups.append(iban[start : start + size])
        start += size
    written = " ".join(group for group in groups if group) + " " + iban[start:]
    masked = mask_ibans(f"details: {written.strip()}, thanks")
    assert masked.startswith(f"details: {iban[:4]} •••• ")
    assert iban not in masked.replace(" ", "")


def test_lower_case_is_masked_too() -> None:
    assert mask_ibans("fr76 3000 6000 0112 3456 7890 189") == "FR76 •••• 0189"


def test_the_words_after_an_iban_are_kept() -> None:
    assert mask_ibans("NL91ABNA0417164300 then more") == "NL91 •••• 4300 then more"


@pytest.mark.parametrize(
    "text",
    [
        "AB12 from bank",  # a word where the digits would be
        "FR76 is short",
        "order SKU12 shipped",
    ],
)
def test_text_that_is_not_an_account_number_is_left_alone(text: str) -> None:
    assert mask_ibans(text) == text


@given(reference=st.binary(min_size=3, max_size=3), update_id=st.integers(0, 10**12))
def test_an_error_reference_is_never_masked(reference: bytes, update_id: int) -> None:
    # The error handler's line; a reference like DD83E1 starts as an IBAN does.
    line = f"unexpected error {reference.hex().upper()} on update {update_id}"
    assert mask_ibans(line) == line
