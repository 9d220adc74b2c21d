"""A local virtual datacenter for demos, tests and benchmarks."""
