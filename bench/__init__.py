"""adrelay's benchmarks (issues 6 and 7): `python -m bench`, see bench/README.md. Not tests: nothing
here is collected by pytest; the benchmarks measure and print rows and keep them under .runtime/bench/."""
