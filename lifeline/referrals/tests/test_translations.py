"""Every string the referrals app shows has a Khmer translation in scripts/km/referrals.py."""

from __future__ import annotations

import ast
import re
from pathlib import Path

APP = Path(__file__).resolve().parent.parent
TABLE = APP.parent.parent / "scripts" / "km" / "referrals.py"
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy"}
TEMPLATE_TRANSLATE = re.compile(r"""{%\s*translate\s+(?:"([^"]*)"|'([^']*)')""")


def app_msgids() -> set[str]:
    found: set[str] = set()
    for path in APP.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in GETTEXT_NAMES
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(node.args[0].value)
    for path in (APP / "templates").rglob("*.html"):
        for double, single in TEMPLATE_TRANSLATE.findall(path.read_text()):
            found.add(double or single)
    return found


def khmer_table() -> dict[str, str]:
    namespace: dict[str, object] = {}
    exec(compile(TABLE.read_text(), str(TABLE), "exec"), namespace)  # noqa: S102 (our own file)
    table = namespace["KM"]
    assert isinstance(table, dict)
    return table


def test_every_referral_string_has_a_khmer_translation():
    msgids = app_msgids()
    table = khmer_table()

    assert len(msgids) > 60  # the extraction itself works
    assert sorted(msgids - set(table)) == []


def test_khmer_translations_are_khmer_and_keep_placeholders():
    khmer = re.compile(r"[\u1780-\u17FF]")
    for english, translated in khmer_table().items():
        assert khmer.search(translated), english
        assert re.findall(r"%\(\w+\)s", english) == re.findall(r"%\(\w+\)s", translated)
