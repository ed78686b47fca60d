"""Network-namespace labs: the test fixture, `vrrptui lab`, and the benchmarks share this. No textual."""
