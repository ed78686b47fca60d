"""benchmarks/faults.py injects each fault at the same phase of r1's advert cycle for both implementations."""

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "faults.py"


@pytest.fixture(scope="module")
def faults():
    spec = importlib.util.spec_from_file_location("faults_bench_phase", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("age", [0.0, 0.005, 0.0099, 0.0101, 0.05, 0.099, 0.1, 0.25, 1.37])
def test_the_fault_comes_at_the_phase_after_an_advert_and_never_too_soon(faults, age):
    last = 1000.0
    now = last + age
    at = faults.fault_time(last, now)
    assert at >= now + 0.01 - 1e-9  # time to get there
    assert at < now + 0.01 + faults.ADVERT_INT + 1e-9  # the first such moment
    cycles = (at - last - faults.FAULT_PHASE) / faults.ADVERT_INT
    assert abs(cycles - round(cycles)) < 1e-6  # FAULT_PHASE after one of the adverts
