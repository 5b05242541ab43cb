"""Personal data where people live: national-format phone numbers of the configured regions, compact SSNs.

Phone numbers written without a country code ("030 12345678") are read as numbers of the
regions in ``[tool.llmops.pii] regions`` and kept only when phonenumbers (libphonenumber)
calls them valid there; nine bare digits are an SSN only with an SSN word before them in
the same sentence. Failure messages name the text masked, never the value itself.
"""

from __future__ import annotations

import pytest

from pytest_llmops.checks import Checker
from pytest_llmops.config import load_settings
from pytest_llmops.errors import ConfigError
from pytest_llmops.pii.storage import storage_detector
from pytest_llmops.pii import DEFAULT_REGIONS, PiiDetector, find_pii, mask_pii


def kinds_in(text: str, detector: PiiDetector | None = None) -> list[tuple[str, str]]:
    return [(f.kind, f.value) for f in (detector or PiiDetector()).find(text)]


NATIONAL_NUMBERS = [
    # Germany: area code with trunk 0, a slash or dash after it, mobiles 015x-017x
    ("DE", "030 12345678"), ("DE", "089/1234567"), ("DE", "0151 23456789"), ("DE", "(030) 12345678"),
    ("DE", "0176-12345678"), ("DE", "040 123 456 78"),
    # France: five pairs, spaced or dotted, or ten digits together
    ("FR", "01 23 45 67 89"), ("FR", "06 12 34 56 78"), ("FR", "01.23.45.67.89"), ("FR", "0612345678"),
    # United Kingdom: London 020, Manchester 0161, mobiles 07
    ("GB", "020 7946 0958"), ("GB", "07911 123456"), ("GB", "0161 234 5678"), ("GB", "(020) 7946 0958"),
    ("GB", "07911123456"),
    # Spain, Italy, the Netherlands, Poland
    ("ES", "612 345 678"), ("ES", "91 123 45 67"), ("ES", "612 34 56 78"),
    ("IT", "06 1234 5678"), ("IT", "02 1234 5678"),
    ("NL", "020 123 4567"), ("NL", "06 12345678"), ("NL", "06-12345678"), ("NL", "010-1234567"),
    ("PL", "12 345 67 89"), ("PL", "512 345 678"), ("PL", "512-345-678"),
]


@pytest.mark.parametrize("region, number", NATIONAL_NUMBERS, ids=[f"{r}-{i}" for i, (r, _) in enumerate(NATIONAL_NUMBERS)])
def test_national_format_numbers_of_the_default_regions_are_found_and_masked(region: str, number: str) -> None:
    assert region in DEFAULT_REGIONS
    text = f"Sure, we'll call you back on {number} tomorrow."
    found = kinds_in(text)
    assert [kind for kind, _ in found] == ["phone"], mask_pii(text)
    assert found[0][1] == number, f"found {len(found[0][1])} characters, expected {len(number)}"
    assert mask_pii(text) == "Sure, we'll call you back on [PHONE] tomorrow."


@pytest.mark.parametrize("text", [
    "Call 030 12345678 or 0151 23456789.",
    "Appelez le 01 23 45 67 89 ou le 06 12 34 56 78.",
    "Ring 020 7946 0958 (office) or 07911 123456 (mobile).",
])
def test_several_national_numbers_in_one_reply_are_all_masked(text: str) -> None:
    masked = mask_pii(text)
    assert masked.count("[PHONE]") == 2, masked
    assert not any(ch.isdigit() for ch in masked.replace("[PHONE]", "")), masked


def test_regions_limit_which_national_formats_are_read() -> None:
    us_only = PiiDetector(regions=["US"])
    assert kinds_in("Call 030 12345678 tomorrow.", us_only) == []
    assert kinds_in("Appelez le 01 23 45 67 89.", us_only) == []
    assert kinds_in("Call (415) 555-0142 tomorrow.", us_only) == [("phone", "(415) 555-0142")]
    assert kinds_in("Ring +49 30 12345678 tomorrow.", us_only) == [("phone", "+49 30 12345678")]  # a country code says where

    german = PiiDetector(regions=["DE"])
    assert kinds_in("Call 030 12345678 tomorrow.", german) == [("phone", "030 12345678")]
    assert kinds_in("Appelez le 01 23 45 67 89.", german) == []  # not a valid German number
    assert kinds_in("Call (415) 555-0142 tomorrow.", german) == []  # North American format read only for +1 regions

    assert kinds_in("Call 030 12345678 tomorrow.", PiiDetector(regions=[])) == []
    assert kinds_in("Call 030 12345678.", PiiDetector(regions=["de"])) == [("phone", "030 12345678")]


def test_the_default_regions_cover_the_us_and_the_larger_eu_markets() -> None:
    assert PiiDetector().regions == DEFAULT_REGIONS
    assert {"US", "DE", "FR", "IT", "ES", "PL", "NL", "GB"} <= set(DEFAULT_REGIONS)


def test_an_unknown_region_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"unknown region code\(s\) \['XX'\]"):
        PiiDetector(regions=["DE", "XX"])


@pytest.mark.parametrize("toml, message", [
    ('regions = ["DE", "XX"]\n', "pii.regions: unknown region code(s) ['XX']"),
    ('regions = ["Germany"]\n', "pii.regions: unknown region code(s) ['Germany']"),
    ('regions = "DE"\n', "pii.regions: Input should be a valid list"),
])
def test_a_bad_region_in_config_is_a_config_error_naming_the_key(tmp_path, toml: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.llmops]\n[tool.llmops.pii]\n" + toml)
    with pytest.raises(ConfigError) as excinfo:
        load_settings(tmp_path)
    assert message in str(excinfo.value)


def test_regions_from_config_reach_the_checks_detector(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.llmops]\n[tool.llmops.pii]\nregions = ["US"]\n')
    settings = load_settings(tmp_path)
    assert settings.pii.regions == ["US"]
    detector = Checker.from_settings(settings).detector
    assert detector.regions == ("US",)
    assert detector.find("Call 030 12345678.") == []
    assert storage_detector(settings).find("Call 030 12345678.") == []  # feedback is masked the same way
    (tmp_path / "pyproject.toml").write_text("[tool.llmops]\n")
    settings = load_settings(tmp_path)
    assert list(settings.pii.regions) == list(DEFAULT_REGIONS)
    assert storage_detector(settings).mask("Call 030 12345678.") == "Call [PHONE]."


@pytest.mark.parametrize("text, value", [
    ("my ssn is 123456789", "123456789"),
    ("Your SSN, as you gave it to us, is 123456789.", "123456789"),
    ("ss# 123456789 is on the form", "123456789"),
    ("SS#: 123456789", "123456789"),
    ("SSN#123456789", "123456789"),
    ("Social Security #: 123456789.", "123456789"),
    ("The social security number that we have on record is 123456789.", "123456789"),
    ("I have social security no. on file: 123456789", "123456789"),
    ("Your form lists social security no. 123456789.", "123456789"),  # "no." here is no order-number label
    ("Your SSNs on file: 123456789 and 234567890.", "123456789"),
])
def test_a_compact_ssn_with_a_context_word_near_it_is_found(text: str, value: str) -> None:
    found = find_pii(text)
    assert found and found[0].kind == "ssn" and found[0].value == value, mask_pii(text)
    assert value not in mask_pii(text)


@pytest.mark.parametrize("text", [
    "nine digits 123456789 with no word for them",
    "We will never ask for your SSN. Your code is 123456789.",  # the word belongs to another sentence
    "SSN on file; order number 123456789 has shipped.",  # labelled as an order number
    "About your SSN: we sent a letter to the address on your account last month, 123456789",  # too far before
    "SSN 987654321 is not issued (area 9xx)",
])
def test_nine_digits_without_a_near_ssn_word_in_the_sentence_are_not_an_ssn(text: str) -> None:
    assert [f.kind for f in find_pii(text)] == [], mask_pii(text)


@pytest.mark.parametrize("text", [
    # order, tracking and invoice numbers as long as a national phone number
    "order 0301234567 has shipped",
    "Order number 030 12345678 has shipped",
    "invoice no. 0612345678 is paid",
    "tracking number 0151 2345 6789",
    "parcel 06 12 34 56 78 is out for delivery",
    "reference 512 345 678 noted",
    "customer no. 020 7946 0958",
    "#0151234567 is your case",
    # European dates and times
    "Delivered on 01.02.2026 at 14:30, or 01/02/2026, or 2026-02-01, or 1.2.2026.",
    "Valid 01.02.-15.03.2026 and 01-02-2026.",
    "Opening hours 09:00-18:00, Mon-Fri; 10.30-12.30 on Saturdays.",
    # prices
    "It costs 1.234,56 € (€ 12.345,00, or 1 234,56 €, or 12.345,00 EUR, or £1,234.56).",
    "Total 2 345 678,00 zł",
    # versions and IDs
    "Upgrade to v10.0.19045, version 2.14.3-rc1, build 2026.02.01 or firmware 1.02.003.",
    "ref DE-2026-0001234, mandate MNDT-2026-0042, RF18 5390 0754 7034",
    "zip code 94103-1234 and 1 234 567 visitors, 12 345 points",
    "room 512, floor 3; 12 items; 5-10 working days",
])
def test_look_alikes_of_national_numbers_stay_clean(text: str) -> None:
    assert kinds_in(text) == [], mask_pii(text)


def test_a_number_written_the_north_american_way_is_read_the_north_american_way() -> None:
    # 055 555 0142 is a Florence (and an Apeldoorn) number as Italians and Dutch write it;
    # with dashes in 3-3-4 it is written the US way, where 055 is no area code.
    assert kinds_in("Call 055 555 0142.") == [("phone", "055 555 0142")]
    assert kinds_in("Call 055-555-0142.") == []
    assert kinds_in("Call 415-555-0142.") == [("phone", "415-555-0142")]


def test_an_allowlisted_national_number_is_let_through_but_a_leak_beside_it_is_not() -> None:
    detector = PiiDetector(allowlist=["030 12345678"])
    assert detector.mask("Our hotline 030/12345678; your number 0151 23456789.") == \
        "Our hotline 030/12345678; your number [PHONE]."
