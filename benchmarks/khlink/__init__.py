"""kh-link-bench: seeded synthetic Cambodian multi-agency records with known truth."""

from benchmarks.khlink.generator import PROFILES, generate

__all__ = ["PROFILES", "generate"]
