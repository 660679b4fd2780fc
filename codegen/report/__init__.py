"""Report: the scan report for people (text) and for programs (JSON schema 1)."""
