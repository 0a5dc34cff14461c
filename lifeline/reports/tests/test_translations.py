"""Every string the reports app shows has a Khmer translation in scripts/km/reports.py (or
scripts/km/exports.py, the exports' part of the app)."""

from __future__ import annotations

import ast
import re
import runpy
from pathlib import Path

APP = Path(__file__).resolve().parent.parent
TABLES = [APP.parent.parent / "scripts" / "km" / name for name in ("reports.py", "exports.py")]
KHMER = re.compile("[\u1780-\u17ff]")


def msgids() -> set[str]:
    found: set[str] = set()
    for path in APP.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                if name in ("gettext", "gettext_lazy", "_") and node.args:
                    found.add(ast.literal_eval(node.args[0]))
    for template in (APP / "templates").rglob("*.html"):
        text = template.read_text()
        found.update(re.findall(r'{% translate "([^"]+)" %}', text))
        for match in re.finditer(
            r"{% blocktranslate[^%]*%}(.*?){% endblocktranslate %}", text, re.S
        ):
            found.add(re.sub(r"{{ (\w+) }}", r"%(\1)s", match.group(1)))
    return found


def test_every_reports_string_has_a_khmer_translation() -> None:
    table: dict[str, str] = {}
    for path in TABLES:
        table.update(runpy.run_path(str(path))["KM"])
    ids = msgids()
    assert len(ids) > 30
    assert sorted(ids - set(table)) == []
    for msgid in ids:
        translated = table[msgid]
        # Placeholders survive translation (msgfmt --check-format would refuse otherwise).
        assert sorted(re.findall(r"%\(\w+\)s|%%", msgid)) == sorted(
            re.findall(r"%\(\w+\)s|%%", translated)
        ), msgid
        if msgid != "ε":
            assert KHMER.search(translated), msgid
