"""The benchmark suite behind `bench/run` (outside the test suite)."""
