#!/usr/bin/env python
"""Django's command-line utility; `lifeline` is the installed front for the same thing."""

from lifeline.cli import main

if __name__ == "__main__":
    main()
