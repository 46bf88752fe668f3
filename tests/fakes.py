"""Test doubles for the terminal's card tiers (plain classes, no mocks)."""

from __future__ import annotations

from collections.abc import Iterable

from terminal.card.connection import CardConnectionError


class ScriptedConnection:
    """A Connection that plays back recorded (command, response) pairs in order and records what was sent.

    ``response`` is response data followed by SW1 SW2, as in the test vectors. Any command other than the
    next one in the script (or one past its end) raises AssertionError: the terminal said something the
    recording does not have.
    """

    def __init__(self, script: Iterable[tuple[bytes, bytes]]) -> None:
        self._script = [(bytes(command), bytes(response)) for command, response in script]
        self._position = 0
        self.sent: list[bytes] = []
        self.closed = False

    @property
    def remaining(self) -> list[tuple[bytes, bytes]]:
        """The exchanges not played yet."""
        return self._script[self._position :]

    def peek(self) -> tuple[bytes, bytes]:
        """The next (command, response) of the script."""
        if not self.remaining:
            raise AssertionError("the script is exhausted")
        return self._script[self._position]

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        if self.closed:
            raise CardConnectionError("connection closed")
        apdu = bytes(apdu)
        if self._position >= len(self._script):
            raise AssertionError(f"unexpected command {apdu.hex().upper()}: the script is exhausted")
        expected, response = self._script[self._position]
        if apdu != expected:
            raise AssertionError(
                f"exchange {self._position}: expected command {expected.hex().upper()}, "
                f"got {apdu.hex().upper()}"
            )
        self._position += 1
        self.sent.append(apdu)
        return response[:-2], int.from_bytes(response[-2:], "big")

    def close(self) -> None:
        self.closed = True

    def assert_done(self) -> None:
        """Every scripted exchange was played."""
        if self.remaining:
            left = ", ".join(command.hex().upper() for command, _ in self.remaining)
            raise AssertionError(f"{len(self.remaining)} scripted exchange(s) not played: {left}")
