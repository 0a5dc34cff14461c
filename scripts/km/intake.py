# ruff: noqa: E501  (Khmer strings are kept whole so translators can read them)
"""Khmer translations for the intake app's newer strings (older ones live in
scripts/km_translations.py). Merged by scripts/km_translations.py into
lifeline/locale/km/LC_MESSAGES/django.po."""

KM = {
    "Escalated to your agency as the partner agency. It is held by %(agency)s.": "សំណើនេះត្រូវបានលើកមកស្ថាប័នរបស់អ្នក ក្នុងនាមជាស្ថាប័នដៃគូ។ សំណើនេះស្ថិតនៅក្រោមការទទួលខុសត្រូវរបស់ %(agency)s។",
}
