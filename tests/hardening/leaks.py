"""Known secrets and personal data, and a scanner that says where any of them turned up.

The security tests run the bot, exports and retrains with these values in play, then scan every
log record and every file written for them: anything found is a leak, named with its place.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

#: A customer message with one of each kind of personal data uttor redacts, in Banglish, with
#: phone numbers in the other ways Bangladeshi customers write them (+880, Bengali digits).
PII_MESSAGE = (
    "amar bKash number 01711223344, NID 1987654321012, card 4111 1111 1111 1111, "
    "email rahim.uddin@example.com, TrxID 9C4DXR7A2B - taka kete geche, refund chai. "
    "OTP 482913 ashche, PIN 7316, password Dhaka@2024, thikana: House 12, Road 5, Dhanmondi. "
    "Abbur number +880 1819-876543, ammur ০১৫১২৩৪৫৬৭৮"
)
#: Each value as it would appear raw (and the card without its spaces). The four-digit PIN is
#: left out: four digits turn up by chance in any binary file the scan reads (its placeholder
#: proves it was redacted).
PII_VALUES = {
    "phone": "01711223344",
    "nid": "1987654321012",
    "card": "4111 1111 1111 1111",
    "card digits": "4111111111111111",
    "email": "rahim.uddin@example.com",
    "trxid": "9C4DXR7A2B",
    "otp": "482913",
    "password": "Dhaka@2024",
    "address": "House 12, Road 5",
    "phone +880": "1819-876543",
    "phone in Bengali digits": "০১৫১২৩৪৫৬৭৮",
}
#: Placeholders an export must show instead (proof the data went through, redacted).
PLACEHOLDERS = (
    "<PHONE>",
    "<NID>",
    "<CARD>",
    "<EMAIL>",
    "<TRXID>",
    "<OTP>",
    "<PIN>",
    "<PASSWORD>",
    "<ADDRESS>",
)


def found_in(text: str, needles: dict[str, str], where: str) -> list[str]:
    """``"<needle name> in <where>"`` for every needle that occurs in ``text``."""
    return [f"{name} in {where}" for name, value in needles.items() if value and value in text]


def scan_files(folders: Iterable[Path], needles: dict[str, str]) -> tuple[list[str], int]:
    """Leaks in every file under ``folders`` (binary files are read as bytes); files scanned."""
    leaks: list[str] = []
    scanned = 0
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            scanned += 1
            data = path.read_bytes()
            for name, value in needles.items():
                if value and value.encode() in data:
                    leaks.append(f"{name} in {path}")
    return leaks, scanned
