"""uttor's benchmark suite: ``python -m bench`` lists the benchmarks and runs them.

Nothing here is imported by the product; the benchmarks import the product. See README.md.
"""
