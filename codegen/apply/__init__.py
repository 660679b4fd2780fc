"""Apply: route model files through their shims with the smallest libcst edit."""
