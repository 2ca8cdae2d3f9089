"""The one place that sets the budget of the property tests (hypothesis).

``make test`` runs them under the ``suite`` profile: a modest number of examples per test,
no per-example deadline (a shared 2-core machine is slow at times), so the whole suite
stays quick. ``make fuzz`` sets ``TRACE_AUDITOR_FUZZ_SECONDS`` and runs only the property
tests (``-m hypothesis``) under the ``fuzz`` profile: each property test gets an equal
share of the time left and runs round after round of fresh random examples (each round
sized from the previous one's pace) until its share is used up; a failure ends it at
once. Failing examples are kept in ``.hypothesis/examples`` and replayed first by every
later run, ``make test`` included. An example that runs longer than
``TRACE_AUDITOR_FUZZ_HANG_SECONDS`` (default 120) fails as a hang.
"""

from __future__ import annotations

import functools
import os
import signal
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

ROOT = Path(__file__).resolve().parents[1]
SUITE_EXAMPLES = 100

_inherited = settings.get_profile(settings.get_current_profile_name())
settings.register_profile(
    "suite",
    parent=_inherited,
    max_examples=SUITE_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

FUZZ_SECONDS = float(os.environ.get("TRACE_AUDITOR_FUZZ_SECONDS") or 0)
HANG_SECONDS = int(os.environ.get("TRACE_AUDITOR_FUZZ_HANG_SECONDS") or 120)
FUZZ_DATABASE = DirectoryBasedExampleDatabase(ROOT / ".hypothesis" / "examples")
settings.register_profile(
    "fuzz",
    parent=settings.get_profile("suite"),
    max_examples=50,  # the first round; each later round is sized by _Fuzz.run
    derandomize=False,  # a CI profile derandomizes: every run would try the same inputs
    database=FUZZ_DATABASE,
    print_blob=True,
)
settings.load_profile("fuzz" if FUZZ_SECONDS > 0 else "suite")


class FuzzHang(AssertionError):
    """One example ran longer than TRACE_AUDITOR_FUZZ_HANG_SECONDS."""


def _hang(signum, frame):
    raise FuzzHang(f"one example ran longer than {HANG_SECONDS} s: a hang?")


class _Fuzz:
    """Time shares of the fuzz run: each property test gets time left / tests left."""

    FIRST_ROUND = 50

    def __init__(self, seconds: float) -> None:
        self.until = time.monotonic() + seconds
        self.left = 0

    @staticmethod
    def guard_hangs(test) -> None:
        """Every example of ``test`` runs under an alarm (where the OS has SIGALRM)."""
        inner = test.hypothesis.inner_test
        if getattr(inner, "_fuzz_guarded", False) or not hasattr(signal, "SIGALRM"):
            return

        @functools.wraps(inner)
        def guarded(*args, **kwargs):
            previous = signal.signal(signal.SIGALRM, _hang)
            signal.alarm(HANG_SECONDS)
            try:
                return inner(*args, **kwargs)
            finally:
                signal.alarm(0)
                signal.signal(signal.SIGALRM, previous)

        guarded._fuzz_guarded = True  # type: ignore[attr-defined]
        test.hypothesis.inner_test = guarded

    def run(self, item: pytest.Function) -> None:
        """Rounds of ``item``'s property test until its share of the time is used up."""
        test = item.obj
        own = test._hypothesis_internal_use_settings
        kwargs = {name: item.funcargs[name] for name in item._fixtureinfo.argnames}
        stop = time.monotonic() + max(self.until - time.monotonic(), 0) / max(self.left, 1)
        examples, rounds, total = self.FIRST_ROUND, 0, 0
        try:
            while True:
                # A test's own @settings fix its budget for `make test`; here each round
                # is sized to the time left. Each call draws fresh random examples.
                test._hypothesis_internal_use_settings = settings(
                    own, max_examples=examples, derandomize=False, database=FUZZ_DATABASE
                )
                began = time.monotonic()
                test(**kwargs)
                rounds, total = rounds + 1, total + examples
                now = time.monotonic()
                if now >= stop:
                    break
                pace = max(now - began, 1e-3) / examples
                examples = max(10, min(100_000, int((stop - now) / pace)))
        finally:
            test._hypothesis_internal_use_settings = own
            self.left -= 1
        item.user_properties.append(("fuzz", f"{rounds} rounds, up to {total} examples"))


FUZZ = _Fuzz(FUZZ_SECONDS) if FUZZ_SECONDS > 0 else None


def _is_property_test(item: pytest.Item) -> bool:
    return isinstance(item, pytest.Function) and getattr(item.obj, "is_hypothesis_test", False)


def pytest_collection_finish(session: pytest.Session) -> None:
    if FUZZ is None:
        return
    for item in session.items:
        if _is_property_test(item):
            FUZZ.guard_hangs(item.obj)
            FUZZ.left += 1


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if FUZZ is None or not _is_property_test(pyfuncitem):
        return None  # pytest calls the test as usual
    FUZZ.run(pyfuncitem)
    return True
