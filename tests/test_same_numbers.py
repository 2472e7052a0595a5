"""Same seed, same numbers, across refactors: every summary and table equals the stored fingerprint.

``tests/data/golden_numbers.json`` was written by ``python tests/fingerprint.py --write`` before the
performance work of issue 12 (a leaner consumer, partitioned log, database). Any change to a number a
notebook or a test relies on shows up here as the configuration and key that moved. ``events`` (SimPy
events processed) is left out on purpose: doing the same work with fewer events is the point.
"""

from __future__ import annotations

import json

import pytest

from tests import fingerprint as fp


@pytest.fixture(scope="module")
def golden():
    return json.loads(fp.GOLDEN.read_text())


@pytest.mark.parametrize("part, build", [("core", fp.core), ("random", fp.randoms), ("experiments", fp.experiments)])
def test_numbers_match_the_stored_fingerprint(golden, part, build):
    new = json.loads(json.dumps(build()))  # through JSON, as stored
    assert fp.differences(golden[part], new) == []
