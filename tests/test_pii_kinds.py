"""Each built-in kind found in the formats people write it, each look-alike left alone, each validator."""

from __future__ import annotations

import pytest

from pytest_llmops.pii import BUILTIN_KINDS, PiiDetector, find_pii, mask_pii
from pytest_llmops.pii import validators as v


def kinds_in(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.value) for f in find_pii(text)]


@pytest.mark.parametrize("text, kind, value", [
    ("Write to jane.doe@example.com today.", "email", "jane.doe@example.com"),
    ("Mail JANE+orders@mail.example.co.uk, please", "email", "JANE+orders@mail.example.co.uk"),
    ("(x@y.io)", "email", "x@y.io"),
    ("Call (415) 555-0142 now", "phone", "(415) 555-0142"),
    ("Call 415-555-0142.", "phone", "415-555-0142"),
    ("Call 415.555.0142, thanks", "phone", "415.555.0142"),
    ("Call 415 555 0142", "phone", "415 555 0142"),
    ("call me on 4155550142", "phone", "4155550142"),
    ("Call +1 415 555 0142", "phone", "+1 415 555 0142"),
    ("Call 1-415-555-0142", "phone", "1-415-555-0142"),
    ("Call +1 (415) 555-0142 ext. 12", "phone", "+1 (415) 555-0142 ext. 12"),
    ("Call 415-555-0142x1234 today", "phone", "415-555-0142x1234"),
    ("Ring +44 20 7946 0958 tomorrow", "phone", "+44 20 7946 0958"),
    ("Ring +44 (0)20 7946 0958 tomorrow", "phone", "+44 (0)20 7946 0958"),
    ("Ring 0044 20 7946 0958 tomorrow", "phone", "0044 20 7946 0958"),
    ("Ring +49 30 901820 tomorrow", "phone", "+49 30 901820"),
    ("Ring +33 1 23 45 67 89.", "phone", "+33 1 23 45 67 89"),
    ("Ring +81-3-1234-5678.", "phone", "+81-3-1234-5678"),
    ("Ring +442079460958.", "phone", "+442079460958"),
    ("Card 4111 1111 1111 1111 on file", "card", "4111 1111 1111 1111"),
    ("Card 4111-1111-1111-1111 on file", "card", "4111-1111-1111-1111"),
    ("Card 4111111111111111.", "card", "4111111111111111"),
    ("Amex 3782 822463 10005.", "card", "3782 822463 10005"),
    ("Amex 378282246310005.", "card", "378282246310005"),
    ("Visa 4222222222222 (13 digits)", "card", "4222222222222"),
    ("Visa 4111 1111 1111 1111 003 (19 digits)", "card", "4111 1111 1111 1111 003"),
    ("Card 4111 1111 1111 1111 12/25", "card", "4111 1111 1111 1111"),
    ("JCB 180001234567899.", "card", "180001234567899"),
    ("SSN 123-45-6789 on file", "ssn", "123-45-6789"),
    ("SSN 123 45 6789 on file", "ssn", "123 45 6789"),
    ("my ssn is 123456789", "ssn", "123456789"),
    ("social security number: 123456789.", "ssn", "123456789"),
    ("IBAN DE89 3704 0044 0532 0130 00.", "iban", "DE89 3704 0044 0532 0130 00"),
    ("IBAN GB82WEST12345698765432, thanks", "iban", "GB82WEST12345698765432"),
    ("to FR14 2004 1010 0505 0001 3M02 606 today", "iban", "FR14 2004 1010 0505 0001 3M02 606"),
    ("IBAN DE89 3704 0044 0532 0130 00 THANKS", "iban", "DE89 3704 0044 0532 0130 00"),
    ("login from 203.0.113.7.", "ipv4", "203.0.113.7"),
    ("login from 10.0.0.12, blocked", "ipv4", "10.0.0.12"),
    ("login from 2001:db8::8a2e:370:7334.", "ipv6", "2001:db8::8a2e:370:7334"),
    ("login from 2001:0db8:0000:0000:0000:ff00:0042:8329", "ipv6", "2001:0db8:0000:0000:0000:ff00:0042:8329"),
    ("login from fe80::1%eth0 today", "ipv6", "fe80::1%eth0"),
    ("mapped ::ffff:203.0.113.7 seen", "ipv6", "::ffff:203.0.113.7"),
])
def test_each_kind_is_found_in_its_formats(text: str, kind: str, value: str) -> None:
    assert kinds_in(text) == [(kind, value)]


@pytest.mark.parametrize("text", [
    "Order 12345 shipped on 18 November. Tracking number: 1Z999AA148212.",  # the stub's own reply
    "Your ticket number is T-12345.",
    "order #4155550142 is ready",  # a '#' makes it an identifier
    "Order number 4155550142 is ready",
    "order 112-3456789-1234567 has shipped",
    "tracking number 9400 1000 0000 0000 0000 00",  # USPS: 22 digits
    "FedEx tracking 7712 3456 7890",
    "tracking 4111111111111111",  # Luhn-valid, but said to be a tracking number
    "invoice 4000 1234 5678 9010 is due",  # fails Luhn
    "Invoice 4000123456789012",
    "ISBN 978-3-16-148410-0",
    "ISBN 9783161484100",
    "ISBN 0-306-40615-2",
    "Delivered 2024-11-18 at 14:30:05, or 11/18/2024, or 18.11.2024.",
    "Open 9am-6pm ET; 10:30:15.123 logged",
    "It costs $1,299.99 or EUR 4,99 (was $4,155,550,142)",
    "Upgrade to version 2.14.3 or v1.2.3.4; version 1.2.3.4; build 10.0.19045.3693",
    "zip code 94103, ZIP 94103-1234",
    "case 57956104 and confirmation code GX56-6460",
    "SSN-looking 000-12-3456, 666-12-3456, 912-12-3456, 123-00-4567, 123-45-0000",
    "nine digits 123456789 with no word for them",
    "IBAN DE89 3704 0044 0532 0130 01 has a bad checksum",
    "IBAN DE89 3704 0044 0532 0130 0 is one short",
    "localhost 127.0.0.1, any 0.0.0.0, broadcast 255.255.255.255, bad 256.1.1.1, 01.2.3.4",
    "times 14:30:00 and 12::30, loopback ::1, unspecified ::, MAC 00:1A:2B:3C:4D:5E",
    "Card 0000 0000 0000 0000 and 9999 9999 9999 9995",
    "order 359-7862531-0522253 via 005-3780880-1472621",
    "image icon@2x.png",
    "a North American number needs a real area code: 055-555-0142, 155-555-0142, 415-155-0142",
])
def test_look_alikes_are_not_personal_data(text: str) -> None:
    assert kinds_in(text) == []


def test_only_a_label_attached_to_the_number_makes_it_something_else() -> None:
    assert kinds_in("Order 12345 shipped. Call me at 4155550142") == [("phone", "4155550142")]
    assert kinds_in("Your order was charged to card 4111 1111 1111 1111") == [("card", "4111 1111 1111 1111")]
    assert kinds_in("Order #123 was paid with 4111 1111 1111 1111.") == [("card", "4111 1111 1111 1111")]
    assert kinds_in("I attached the receipt for 4111 1111 1111 1111") == [("card", "4111 1111 1111 1111")]
    for labelled in ("tracking number: 4111111111111111", "Order number is 4155550142", "order no. 4155550142",
                     "Invoice # 4111 1111 1111 1111", "case id: 123-45-6789", "release 203.0.113.7"):
        assert kinds_in(labelled) == [], labelled


@pytest.mark.parametrize("number, ok", [
    ("4111111111111111", True), ("4111111111111112", False), ("79927398713", True), ("79927398710", False),
    ("", False),
])
def test_luhn(number: str, ok: bool) -> None:
    assert v.luhn(number) is ok


@pytest.mark.parametrize("number, ok", [
    ("4111 1111 1111 1111", True), ("4111 1111 1111 1112", False), ("5555555555554444", True),
    ("378282246310005", True), ("3782 822463 10005", True), ("6011111111111117", True),
    ("9780306406157", False),  # ISBN-13 passes no card range
    ("411 1111111 111111", False),  # Luhn-valid digits in no card's grouping
    ("4111111111111111111111", False),  # too long
])
def test_payment_card(number: str, ok: bool) -> None:
    assert v.payment_card(number) is ok


@pytest.mark.parametrize("value, ok", [
    ("DE89370400440532013000", True), ("DE89 3704 0044 0532 0130 00", True), ("GB82WEST12345698765432", True),
    ("DE89370400440532013001", False), ("DE8937040044053201300", False), ("GB82WEST1234569876543", False),
    ("ZZ89370400440532013000", False), ("DEXX370400440532013000", False),
])
def test_iban_mod97(value: str, ok: bool) -> None:
    assert v.iban(value) is ok


@pytest.mark.parametrize("value, ok", [
    ("123-45-6789", True), ("001-01-0001", True), ("899-99-9999", True),
    ("000-45-6789", False), ("666-45-6789", False), ("900-45-6789", False), ("999-45-6789", False),
    ("123-00-6789", False), ("123-45-0000", False), ("078-05-1120", False), ("12-345-6789", True),
    ("12345678", False),
])
def test_ssn_ranges(value: str, ok: bool) -> None:
    assert v.us_ssn(value) is ok


@pytest.mark.parametrize("value, ok", [
    ("(415) 555-0142", True), ("+1 415 555 0142", True), ("001-415-555-0142", True), ("415-555-0142 x12", True),
    ("(015) 555-0142", False), ("(415) 155-0142", False), ("415-555-014", False),
])
def test_nanp_phone(value: str, ok: bool) -> None:
    assert v.nanp_phone(value) is ok


@pytest.mark.parametrize("value, ok", [
    ("+44 20 7946 0958", True), ("0044 20 7946 0958", True), ("+1234567", False), ("+1234567890123456", False),
    ("123-1234567-1234567", False),
])
def test_international_phone(value: str, ok: bool) -> None:
    assert v.international_phone(value) is ok


def test_ip_validators() -> None:
    assert v.ipv4("203.0.113.7") and not v.ipv4("256.0.0.1") and not v.ipv4("127.0.0.1")
    assert v.ipv6("2001:db8::1") and not v.ipv6("::1") and not v.ipv6("12::30") and not v.ipv6("14:30:00")


def test_masking_replaces_each_finding_with_its_kind() -> None:
    text = ("Mail jane@example.com, call (415) 555-0142, card 4111 1111 1111 1111, SSN 123-45-6789, "
            "IBAN GB82WEST12345698765432, from 203.0.113.7 or 2001:db8::1. Order 12345, ticket T-12345.")
    assert mask_pii(text) == ("Mail [EMAIL], call [PHONE], card [CARD], SSN [SSN], IBAN [IBAN], from [IPV4] "
                              "or [IPV6]. Order 12345, ticket T-12345.")


def test_every_builtin_kind_is_on_by_default_and_kinds_can_be_narrowed() -> None:
    assert PiiDetector().kinds == BUILTIN_KINDS == ("email", "phone", "card", "ssn", "iban", "ipv4", "ipv6")
    only_email = PiiDetector(["email"])
    assert only_email.mask("jane@example.com 4111 1111 1111 1111") == "[EMAIL] 4111 1111 1111 1111"
    with pytest.raises(ValueError, match="unknown PII kind"):
        PiiDetector(["emial"])


def test_a_finding_never_shows_its_value_in_repr() -> None:
    finding = find_pii("jane@example.com")[0]
    assert "jane" not in repr(finding) and "jane" not in str([finding])


def test_custom_patterns_with_and_without_a_validator() -> None:
    detector = PiiDetector(custom=[{"name": "employee_id", "pattern": r"\bEMP-\d{6}\b"},
                                   {"name": "member_card", "pattern": r"\bM\d{16}\b", "validator": "luhn"}])
    assert detector.mask("EMP-123456 and M4111111111111111 but not M4111111111111112") == \
        "[EMPLOYEE_ID] and [MEMBER_CARD] but not M4111111111111112"
    with pytest.raises(ValueError, match="unknown validator 'lunh'"):
        PiiDetector(custom=[{"name": "x_id", "pattern": "x", "validator": "lunh"}])
    with pytest.raises(ValueError, match="invalid regular expression"):
        PiiDetector(custom=[{"name": "x_id", "pattern": "(("}])
    with pytest.raises(ValueError, match="built-in kind"):
        PiiDetector(custom=[{"name": "email", "pattern": "x"}])
