"""Wallet address formats (api.md §7): Stellar account ids (StrKey, SEP-23) and EVM addresses
(EIP-55). Pure Python: Keccak-256 is not in hashlib (its sha3_256 pads differently), and an address
is a few dozen bytes, so speed does not matter and the layer gains no compiled dependency."""

from __future__ import annotations

import base64
import re

_EVM = re.compile(r"^0x[0-9a-fA-F]{40}$")
_STELLAR = re.compile(r"^G[A-Z2-7]{55}$")
_ACCOUNT_ID_VERSION = 6 << 3  # 'G'


class InvalidAddress(ValueError):
    pass


# --- Keccak-256 (the pre-standard SHA-3 Ethereum uses) ---------------------------------------------
_ROUND_CONSTANTS = [
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000, 0x000000000000808B,
    0x0000000080000001, 0x8000000080008081, 0x8000000000008009, 0x000000000000008A, 0x0000000000000088,
    0x0000000080008009, 0x000000008000000A, 0x000000008000808B, 0x800000000000008B, 0x8000000000008089,
    0x8000000000008003, 0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
]
_ROTATIONS = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56],
              [27, 20, 39, 8, 14]]
_MASK = (1 << 64) - 1


def _rotl(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (64 - shift))) & _MASK if shift else value


def _keccak_f(state: list[list[int]]) -> None:
    for constant in _ROUND_CONSTANTS:
        c = [state[x][0] ^ state[x][1] ^ state[x][2] ^ state[x][3] ^ state[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rotl(c[(x + 1) % 5], 1) for x in range(5)]
        for x in range(5):
            for y in range(5):
                state[x][y] ^= d[x]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                b[y][(2 * x + 3 * y) % 5] = _rotl(state[x][y], _ROTATIONS[x][y])
        for x in range(5):
            for y in range(5):
                state[x][y] = b[x][y] ^ (~b[(x + 1) % 5][y] & b[(x + 2) % 5][y])
        state[0][0] ^= constant


def keccak256(data: bytes) -> bytes:
    rate = 136
    padded = bytearray(data) + b"\x01" + b"\x00" * ((rate - (len(data) + 1) % rate) % rate)
    padded[-1] |= 0x80
    state = [[0] * 5 for _ in range(5)]
    for start in range(0, len(padded), rate):
        block = padded[start:start + rate]
        for i in range(rate // 8):
            state[i % 5][i // 5] ^= int.from_bytes(block[8 * i:8 * i + 8], "little")
        _keccak_f(state)
    return b"".join(state[i % 5][i // 5].to_bytes(8, "little") for i in range(4))


# --- EVM ------------------------------------------------------------------------------------------
def eip55(address: str) -> str:
    """The checksummed form of a 0x address (case encodes the Keccak-256 of the lower-case hex)."""
    hex_part = address[2:].lower()
    digest = keccak256(hex_part.encode()).hex()
    return "0x" + "".join(ch.upper() if ch.isalpha() and int(digest[i], 16) >= 8 else ch
                          for i, ch in enumerate(hex_part))


def normalize_evm(address: str) -> str:
    if not _EVM.match(address):
        raise InvalidAddress("an EVM address is 0x followed by 40 hexadecimal digits")
    body = address[2:]
    checksummed = eip55(address)
    if body != body.lower() and body != body.upper() and address != checksummed:
        raise InvalidAddress("the mixed-case address fails its EIP-55 checksum")
    return checksummed


# --- Stellar --------------------------------------------------------------------------------------
def crc16_xmodem(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def stellar_public_key(account_id: str) -> bytes:
    """The 32-byte ed25519 key of a G… account id, after checking version byte and checksum."""
    if not _STELLAR.match(account_id):
        raise InvalidAddress("a Stellar account id is G followed by 55 characters of A–Z and 2–7")
    raw = base64.b32decode(account_id)  # 56 characters are exactly 35 bytes: no padding
    if len(raw) != 35 or raw[0] != _ACCOUNT_ID_VERSION:
        raise InvalidAddress("not a Stellar account id (wrong version byte)")
    if int.from_bytes(raw[33:], "little") != crc16_xmodem(raw[:33]):
        raise InvalidAddress("the Stellar account id fails its checksum")
    if base64.b32encode(raw).decode().rstrip("=") != account_id:
        raise InvalidAddress("the Stellar account id is not in canonical form")
    return raw[1:33]


def stellar_account_id(public_key: bytes) -> str:
    payload = bytes([_ACCOUNT_ID_VERSION]) + public_key
    return base64.b32encode(payload + crc16_xmodem(payload).to_bytes(2, "little")).decode().rstrip("=")


def lookup_key(address: str) -> str:
    """How an address is looked up whatever case it is given in: EVM lower-cased, Stellar as is."""
    return address.lower() if address.lower().startswith("0x") else address.upper()
