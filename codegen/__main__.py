"""`python -m codegen` entry point."""

from codegen.cli import main

raise SystemExit(main())
