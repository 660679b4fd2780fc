"""Scan: find the source files, parse each once, and extract its facts (`ModuleFacts`)."""
