"""A labelled corpus of chatbot replies for the PII benchmark, generated with Faker from a seed.

Half the replies leak personal data of one or two kinds, in the formats people and bots
write them: North American, international and national-format European phone numbers
(DE, FR, GB, ES, IT, NL, PL, as people in those countries write them), US SSNs dashed,
spaced or compact after a context word at varying distances, cards, IBANs, emails and IP
addresses. The other half hold none but are full of look-alikes: order, tracking,
invoice and ticket numbers (some of phone length), dates (``01.02.2026``), times, prices
(``1.234,56 €``), versions, ISBNs, zip codes and IBAN-like references. Every leaked
value's span is recorded, so precision and recall can be scored per kind.

The seed decides everything, so one seed is for tuning the detector against and another
is held out (benchmarks/pii.py says which).
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field

from faker import Faker


@dataclass
class Doc:
    text: str
    spans: list[tuple[str, int, int]] = field(default_factory=list)  # (kind, start, end) of each leak
    formats: list[str] = field(default_factory=list)  # how each leak is written ("phone national DE"), by span


class _Builder:
    """Appends text pieces, remembering where each labelled value lands."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.spans: list[tuple[str, int, int]] = []
        self.formats: list[str] = []

    def add(self, text: str, kind: str | None = None, fmt: str | None = None) -> None:
        if kind is not None:
            self.spans.append((kind, self.length, self.length + len(text)))
            self.formats.append(fmt or kind)
        self.parts.append(text)
        self.length += len(text)

    def doc(self) -> Doc:
        return Doc("".join(self.parts), self.spans, self.formats)


class CorpusMaker:
    """Generates values and replies from one seeded random source."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.iban_fakers = []
        for offset, locale in enumerate(("de_DE", "en_GB", "fr_FR", "nl_NL", "es_ES", "it_IT", "pl_PL")):
            faker = Faker(locale)
            faker.seed_instance(seed + offset + 1)
            self.iban_fakers.append(faker)

    # ---- personal data, each kind in several formats -------------------------------------------
    def digits(self, count: int, first: str = "0123456789") -> str:
        return self.rng.choice(first) + "".join(self.rng.choice("0123456789") for _ in range(count - 1))

    def email(self) -> str:
        fake = self.fake
        choice = self.rng.randrange(5)
        if choice == 0:
            return fake.email()
        if choice == 1:
            return fake.company_email()
        if choice == 2:
            return fake.free_email()
        if choice == 3:
            return f"{fake.first_name().lower()}.{fake.last_name().lower()}+{fake.word()}@{fake.domain_name()}"
        return fake.email().upper() if self.rng.random() < 0.5 else f"{fake.user_name()}@{fake.domain_name(2)}"

    def phone_north_america(self) -> str:
        if self.rng.random() < 0.5:
            return self.fake.phone_number()
        area, exchange, line = self.digits(3, "23456789"), self.digits(3, "23456789"), self.digits(4)
        template = self.rng.choice([
            "({a}) {e}-{l}", "{a}-{e}-{l}", "{a}.{e}.{l}", "{a} {e} {l}", "+1 {a} {e} {l}", "1-{a}-{e}-{l}",
            "+1 ({a}) {e}-{l}", "{a}{e}{l}", "{a}-{e}-{l} ext. {x}", "({a}) {e}-{l} x{x}",
        ])
        return template.format(a=area, e=exchange, l=line, x=self.digits(self.rng.randint(2, 4)))

    def phone_international(self) -> str:
        templates = [
            ("44", ["20 {4} {4}", "(0)20 {4} {4}", "7{3} {6}", "161 {3} {4}"]),
            ("49", ["30 {8}", "89 {3} {4}", "151 {8}"]),
            ("33", ["1 {2} {2} {2} {2}", "6 {2} {2} {2} {2}"]),
            ("91", ["98{3} {5}", "22 {4} {4}"]),
            ("61", ["2 {4} {4}", "4{2} {3} {3}"]),
            ("81", ["3-{4}-{4}", "90-{4}-{4}"]),
            ("34", ["6{2} {3} {3}", "91 {3} {2} {2}"]),
            ("55", ["11 9{4}-{4}", "21 {4}-{4}"]),
            ("353", ["1 {3} {4}", "8{1} {3} {4}"]),
        ]
        code, shapes = self.rng.choice(templates)
        number = self._shape(self.rng.choice(shapes))
        prefix = "00" if self.rng.random() < 0.15 else "+"
        separator = self.rng.choice([" ", " ", "-"]) if "(" not in number else " "
        value = f"{prefix}{code}{separator}{number}"
        if self.rng.random() < 0.1:
            value += f" ext. {self.digits(3)}"
        return value

    # Phone numbers as people write them at home: no country code, the trunk "0" where the
    # country has one, and the local grouping. Prefixes are real area and mobile ranges
    # (Berlin 030, Munich 089, German mobiles 015x-017x, Paris 01, French mobiles 06/07x,
    # London 020, UK mobiles 07x, Madrid 91, Spanish mobiles 6/7[1-4], Rome 06, Italian
    # mobiles 3x, Amsterdam 020, Dutch mobiles 06-[1-5], Krakow 12, Warsaw 22, Polish
    # mobiles 5/6/7/8); the subscriber digits are random.
    NATIONAL_PHONES: dict[str, list[str]] = {
        "DE": ["030 {8}", "030/{8}", "(030) {8}", "030-{8}", "089 {7}", "089/{7}", "040 {3} {3} {2}", "0221 {7}",
               "0151 {8}", "0151-{8}", "0176 {3} {3} {2}", "0171 {7}", "0160/{7}", "0157{8}"],
        "FR": ["01 {2} {2} {2} {2}", "01.{2}.{2}.{2}.{2}", "04 {2} {2} {2} {2}", "06 {1:1245678}{1} {2} {2} {2}",
               "06.{1:1245678}{1}.{2}.{2}.{2}", "06-{1:1245678}{1}-{2}-{2}-{2}", "07 5{1} {2} {2} {2}", "06{1:1245678}{7}", "09 {2} {2} {2} {2}"],
        "GB": ["020 7{3} {4}", "020 8{3} {4}", "(020) 7{3} {4}", "0161 {3} {4}", "0121 4{2} {4}", "07{1:4579}{2} {6}",
               "07{1:1234578}{2} {6}", "07{1:1234578}{8}", "0131 4{2} {4}"],
        "ES": ["6{2} {3} {3}", "6{2} {2} {2} {2}", "91 {3} {2} {2}", "93 {3} {2} {2}", "7{1:1234}{1} {3} {3}",
               "6{8}", "6{2}-{3}-{3}"],
        "IT": ["06 {4} {4}", "02 {4} {4}", "011 {3} {4}", "055 {3} {4}", "3{2} {3} {4}", "3{2} {7}", "3{9}",
               "3{2}-{7}"],
        "NL": ["020 {3} {4}", "020-{7}", "010 {3} {4}", "06 {1:12345}{7}", "06-{1:12345}{7}", "06{1:12345}{7}",
               "030 {3} {4}"],
        "PL": ["12 {3} {2} {2}", "22 {3} {2} {2}", "61 {3} {2} {2}", "5{2} {3} {3}", "6{2} {3} {3}", "5{2}-{3}-{3}",
               "7{2} {3} {3}", "8{2} {3} {3}", "5{8}"],
    }

    def _shape(self, shape: str) -> str:
        """``shape`` with each ``{N}`` replaced by N random digits (``{N:chars}``: drawn from those)."""
        out, index = [], 0
        while index < len(shape):
            if shape[index] != "{":
                out.append(shape[index])
                index += 1
                continue
            close = shape.index("}", index)
            count, _, first = shape[index + 1:close].partition(":")
            out.append(self.digits(int(count), first or "123456789"))
            index = close + 1
        return "".join(out)

    def phone_national(self) -> tuple[str, str]:
        """A European number in its country's own national format (no country code), and the country."""
        region = self.rng.choice(sorted(self.NATIONAL_PHONES))
        return self._shape(self.rng.choice(self.NATIONAL_PHONES[region])), region

    def card(self) -> str:
        network = self.rng.choice(["visa16", "visa13", "mastercard", "amex", "discover", "diners", "jcb15",
                                   "jcb16", "visa19"])
        number = self.fake.credit_card_number(network)
        style = self.rng.randrange(4)
        if style == 0 or len(number) not in (15, 16):
            return number
        if len(number) == 15:
            groups = [number[:4], number[4:10], number[10:]]
        else:
            groups = [number[i:i + 4] for i in range(0, 16, 4)]
        return (" " if style in (1, 3) else "-").join(groups)

    SSN_WORDS = ["SSN", "SSN", "social security number", "Social Security Number", "ss#", "SS#", "SSN#",
                 "social security no.", "Social Security #"]
    # What stands between the word and a compact SSN: nothing, a verb, or a clause (up to 35 characters).
    SSN_GAPS = [" ", " ", ": ", " is ", " is: ", " on file: ", " on file is ", " we have is ", " (as you gave it) ",
                ", as you entered it, is ", " that we have on record is ", " given on the form: ", " - confirmed - "]

    def ssn(self) -> tuple[str, str]:
        """An SSN and the words before it (bare nine digits are only SSNs when called one)."""
        value = self.fake.ssn()
        style = self.rng.randrange(5)
        if style == 1:
            return value.replace("-", " "), "your social security number "
        if style in (2, 3):
            return value.replace("-", ""), self.rng.choice(self.SSN_WORDS) + self.rng.choice(self.SSN_GAPS)
        return value, self.rng.choice(["SSN ", "social security number ", "the number ", ""])

    def iban(self) -> str:
        value = self.rng.choice(self.iban_fakers).iban()
        if self.rng.random() < 0.5:
            return " ".join(value[i:i + 4] for i in range(0, len(value), 4))
        return value

    def ipv4(self) -> str:
        return self.fake.ipv4_public() if self.rng.random() < 0.7 else self.fake.ipv4_private()

    def ipv6(self) -> str:
        address = ipaddress.IPv6Address(self.fake.ipv6())
        if self.rng.random() < 0.3:
            address = ipaddress.IPv6Address(int(address) & ~((1 << 64) - 1) | self.rng.randrange(1, 65536))
        return address.compressed if self.rng.random() < 0.6 else address.exploded

    # ---- look-alikes: not personal data ---------------------------------------------------------
    def lookalike(self) -> str:
        rng, fake = self.rng, self.fake
        kind = rng.randrange(26)
        if kind >= 20:
            return self._harder_lookalike(kind)
        if kind == 16:  # identifiers with no telling word before them
            return rng.choice([f"#{self.digits(10, '23456789')}", f"no. {self.digits(14, '123456789')}",
                               f"{self.digits(3)}-{self.digits(7)}-{self.digits(7)}"])
        if kind == 17:
            return rng.choice([f"{fake.date()} {fake.time()}", fake.date("%Y.%m.%d"), f"{fake.time()}.{rng.randint(100, 999)}"])
        if kind == 18:
            return rng.choice([f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 30)}",
                               f"release {rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}"])
        if kind == 19:
            return rng.choice([f"ref: {fake.bothify('???-###-####').upper()}", f"SKU {fake.bothify('##-####-##')}",
                               f"{rng.randint(1, 99)} x {rng.randint(100, 999)} mm"])
        if kind == 0:
            return f"order #{self.digits(rng.randint(5, 10), '123456789')}"
        if kind == 1:
            return f"order {self.digits(3)}-{self.digits(7)}-{self.digits(7)}"
        if kind == 2:
            return f"tracking number 1Z{self.digits(3)}{fake.lexify('??').upper()}{self.digits(10)}"
        if kind == 3:
            usps = self.digits(22, "9")
            return "tracking number " + " ".join(usps[i:i + 4] for i in range(0, 22, 4))
        if kind == 4:
            return f"FedEx tracking {self.digits(rng.choice([12, 15]), '123456789')}"
        if kind == 5:
            return rng.choice([fake.date(), fake.date("%m/%d/%Y"), fake.date("%d.%m.%Y"),
                               fake.date("%B %d, %Y"), fake.date_time().isoformat()])
        if kind == 6:
            return rng.choice([fake.time(), fake.time("%H:%M"), fake.time("%I:%M %p"), "9am-6pm ET"])
        if kind == 7:
            return rng.choice([fake.pricetag(), f"${rng.randint(1000, 99999):,}.{rng.randint(0, 99):02d}",
                               f"EUR {rng.randint(1, 999)},{rng.randint(0, 99):02d}"])
        if kind == 8:
            return rng.choice([f"version {rng.randint(1, 20)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}",
                               f"v{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}",
                               f"build {rng.randint(1, 20)}.{rng.randint(0, 9)}.{rng.randint(1000, 30000)}.{rng.randint(1, 5000)}",
                               f"version {rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}"])
        if kind == 9:
            return rng.choice([f"ISBN {fake.isbn13()}", f"ISBN {fake.isbn10()}", f"ISBN {fake.isbn13().replace('-', '')}"])
        if kind == 10:
            return f"invoice {self._invoice_failing_luhn()}"
        if kind == 11:
            return f"ticket T-{rng.randint(10000, 99999)}"
        if kind == 12:
            return rng.choice([f"zip code {fake.zipcode()}", f"ZIP {fake.zipcode_plus4()}"])
        if kind == 13:
            return rng.choice([f"{rng.randint(2, 40)} items", f"{rng.randint(1, 99)}% off",
                               f"{rng.randint(1, 12)}-{rng.randint(13, 30)} business days"])
        if kind == 14:
            return f"case {self.digits(8, '123456789')}"
        return f"confirmation code {fake.bothify('??##-####').upper()}"

    def _harder_lookalike(self, kind: int) -> str:
        """Look-alikes shaped like national phone numbers and compact SSNs: the hard part of the clean half."""
        rng, fake = self.rng, self.fake
        if kind == 20:  # European dates
            day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(2020, 2030)
            return rng.choice([f"{day:02d}.{month:02d}.{year}", f"{day}.{month}.{year}", f"{day:02d}/{month:02d}/{year}",
                               f"{day:02d}.{month:02d}.{year} {rng.randint(8, 20)}:{rng.choice(['00', '30'])}",
                               f"{day:02d}.{month:02d}.-{rng.randint(1, 28):02d}.{month:02d}.{year}",
                               f"{day:02d}-{month:02d}-{year}"])
        if kind == 21:  # prices, continental style
            whole, cents = rng.randint(1000, 99999), rng.randint(0, 99)
            dotted = f"{whole:,}".replace(",", ".")
            return rng.choice([f"{dotted},{cents:02d} €", f"€ {dotted},{cents:02d}", f"{dotted},{cents:02d} EUR",
                               f"{whole:,}".replace(",", " ") + f",{cents:02d} €", f"£{whole:,}.{cents:02d}",
                               f"{rng.randint(1, 9)} {rng.randint(100, 999)} {rng.randint(100, 999)},00 zł"])
        if kind == 22:  # order, invoice and tracking numbers as long as a phone number or an SSN
            label = rng.choice(["order", "order no.", "invoice", "invoice number", "tracking number", "parcel",
                                "reference", "ref", "customer no.", "policy", "receipt"])
            number = self.digits(rng.choice([9, 10, 11, 12]), rng.choice(["0", "123456789"]))
            style = rng.randrange(3)
            if style == 1:
                number = " ".join(number[i:i + 3] for i in range(0, len(number), 3))
            elif style == 2:
                number = "-".join(number[i:i + 4] for i in range(0, len(number), 4))
            return f"{label} {number}"
        if kind == 23:  # version strings
            return rng.choice([f"v{rng.randint(1, 20)}.{rng.randint(0, 9)}.{rng.randint(10000, 30000)}",
                               f"version {rng.randint(1, 20)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}-rc{rng.randint(1, 5)}",
                               f"build {rng.randint(2020, 2030)}.{rng.randint(1, 12):02d}.{rng.randint(1, 28):02d}",
                               f"firmware {rng.randint(1, 9)}.{rng.randint(0, 99):02d}.{rng.randint(0, 999):03d}"])
        if kind == 24:  # IBAN-like references
            return rng.choice([f"RF{rng.randint(10, 99)} {self.digits(4)} {self.digits(4)} {self.digits(4)}",
                               f"ref DE-{rng.randint(2020, 2030)}-{self.digits(7, '0')}",
                               f"mandate MNDT-{rng.randint(2020, 2030)}-{self.digits(4, '0')}",
                               f"BIC {fake.swift(length=11)}", f"creditor ID DE98ZZZ{self.digits(11, '0')}"])
        return rng.choice([f"{rng.randint(1, 9)} {rng.randint(100, 999)} {rng.randint(100, 999)} visitors",
                           f"{rng.randint(10, 99)} {rng.randint(100, 999)} points",
                           f"opening hours {rng.randint(7, 10):02d}:00-{rng.randint(17, 20)}:00",
                           f"{rng.randint(1, 12)}-{rng.randint(13, 30)} working days",
                           f"room {rng.randint(100, 999)}, floor {rng.randint(1, 30)}"])

    def _invoice_failing_luhn(self) -> str:
        from pytest_llmops.pii.validators import luhn

        while True:
            number = self.digits(16, "3456")
            if not luhn(number):
                return number if self.rng.random() < 0.5 else " ".join(number[i:i + 4] for i in range(0, 16, 4))

    # ---- replies ---------------------------------------------------------------------------------
    LEAK_TEMPLATES = {
        "email": ["I've updated your contact email to {v}.", "We'll send the receipt to {v} shortly.",
                  "{v} is the address we have.", "Details:\n- email: {v}\n- status: verified",
                  "Write to us (or to {v}), whichever you prefer.",
                  "The account is registered to {v}; is that still right?", "You can reach {v} for that."],
        "phone_na": ["Sure, I'll call you back at {v} within the hour.", "The number on file is {v}.",
                     "Our courier will text {v} before delivery.", "You can reach the store manager at {v}.",
                     "{v} is the number we'll use.", "Contact: {v}; hours 9am-6pm.", "Phone ({v}) confirmed.",
                     "About ticket T-20931: we'll call {v} today.", "Your order shipped; updates go by text to {v}."],
        "phone_intl": ["We'll ring you on {v} tomorrow.", "The number on your profile is {v}.",
                       "Please call our partner at {v}."],
        "phone_national": ["We'll ring you on {v} tomorrow.", "The number on your profile is {v}.",
                           "Please call our partner at {v}.", "Your mobile {v} is verified.",
                           "Contact: {v} (Mon-Fri).", "{v} is the number we'll use.", "Reach her at {v} after 5pm.",
                           "The courier will text {v} on delivery day."],
        "card": ["The card on file is {v}.", "Your payment with card {v} went through.",
                 "I see the charge on {v}, expiring 08/27.", "Refund issued to {v}.",
                 "Order #48213 was paid with {v}.", "Invoice 2024-118 was charged to {v} yesterday."],
        "iban": ["The refund goes to IBAN {v}.", "We'll wire it to {v} within 3 days.",
                 "Your bank account {v} is verified."],
        "ipv4": ["We blocked the sign-in from {v}.", "Your last login came from IP {v}.",
                 "The request came from {v} at 14:02."],
        "ipv6": ["We saw a login from {v}.", "Your device's address is {v}."],
    }
    CLEAN_TEMPLATES = [
        "Thanks for waiting! {l} is on its way and should arrive in 2 business days.",
        "I found {l} in our system. Anything else I can help with?",
        "Good news: {l} was approved. You'll see it in your account soon.",
        "Please quote {l} when you contact us. The team replies within 24 hours.",
        "Your request mentions {l} and {l2}; I've passed both to the team.",
        "We will never ask for your SSN or phone number in chat. {l} is noted.",
        "We've noted {l}. {l2} applies to this request.",
        "According to our records, {l} was updated. See {l2} for details.",
    ]

    def _fill(self, builder: _Builder, template: str, values: dict[str, tuple[str, ...]]) -> None:
        """Add ``template`` with each ``{name}`` replaced by ``values[name]``: (text, kind or None[, format])."""
        rest = template
        while "{" in rest:
            before, _, after = rest.partition("{")
            name, _, rest = after.partition("}")
            builder.add(before)
            builder.add(*values[name])
        builder.add(rest)

    def leak_reply(self) -> Doc:
        group = self.rng.choice(list(self.LEAK_TEMPLATES) + ["ssn"])
        builder = _Builder()
        if group == "ssn":
            value, lead = self.ssn()
            written = "compact" if value.isdigit() else "dashed" if "-" in value else "spaced"
            self._fill(builder, self.rng.choice(["For verification I have {p}{v} on file.",
                                                 "I can confirm {p}{v} matches.",
                                                 "Your form lists {p}{v}."]),
                       {"p": (lead, None), "v": (value, "ssn", f"ssn {written}")})
        elif group == "phone_national":
            value, region = self.phone_national()
            self._fill(builder, self.rng.choice(self.LEAK_TEMPLATES[group]),
                       {"v": (value, "phone", f"phone national {region}")})
        else:
            kind = {"phone_na": "phone", "phone_intl": "phone"}.get(group, group)
            make = {"phone_na": self.phone_north_america, "phone_intl": self.phone_international}.get(
                group, getattr(self, group, None))
            self._fill(builder, self.rng.choice(self.LEAK_TEMPLATES[group]),
                       {"v": (make(), kind, {"phone_na": "phone North American", "phone_intl": "phone +CC/00CC"}
                              .get(group, kind))})
        if self.rng.random() < 0.2:  # a second value of another kind
            builder.add(" Also on file: ")
            builder.add(self.email(), "email") if group != "email" else builder.add(self.ipv4(), "ipv4")
            builder.add(".")
        if self.rng.random() < 0.4:  # leaks sit among look-alikes too
            builder.add(" ")
            self._fill(builder, "It concerns {l}.", {"l": (self.lookalike(), None)})
        return builder.doc()

    def clean_reply(self) -> Doc:
        builder = _Builder()
        self._fill(builder, self.rng.choice(self.CLEAN_TEMPLATES),
                   {"l": (self.lookalike(), None), "l2": (self.lookalike(), None)})
        return builder.doc()


def make_corpus(size: int, seed: int = 20261125) -> list[Doc]:
    """``size`` replies, half leaking personal data, half clean with look-alikes, shuffled."""
    maker = CorpusMaker(seed)
    docs = [maker.leak_reply() for _ in range(size // 2)] + [maker.clean_reply() for _ in range(size - size // 2)]
    maker.rng.shuffle(docs)
    return docs
