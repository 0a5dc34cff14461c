# ruff: noqa: E501  (Khmer strings are kept whole so translators can read them)
"""Khmer translations for the core app's operator messages (start-up guards, backup and restore).
Merged by scripts/km_translations.py into lifeline/locale/km/LC_MESSAGES/django.po."""

KM = {
    "%(tool)s is not installed.": "មិនទាន់បានដំឡើង %(tool)s ទេ។",
    "Backups support PostgreSQL and SQLite only.": "ការបម្រុងទុកគាំទ្រតែ PostgreSQL និង SQLite ប៉ុណ្ណោះ។",
    "No backup file at %(path)s.": "គ្មានឯកសារបម្រុងទុកនៅ %(path)s ទេ។",
    "This file is not a PostgreSQL backup made by `lifeline backup`.": "ឯកសារនេះមិនមែនជាការបម្រុងទុក PostgreSQL ដែលបង្កើតដោយ `lifeline backup` ទេ។",
    "This file is not a SQLite backup made by `lifeline backup`.": "ឯកសារនេះមិនមែនជាការបម្រុងទុក SQLite ដែលបង្កើតដោយ `lifeline backup` ទេ។",
    "Restores support PostgreSQL and SQLite only.": "ការស្ដារទិន្នន័យគាំទ្រតែ PostgreSQL និង SQLite ប៉ុណ្ណោះ។",
    "The target database %(where)s already has %(count)d tables; restore only into an empty database (drop and create it first).": "មូលដ្ឋានទិន្នន័យគោលដៅ %(where)s មានតារាង %(count)d រួចហើយ។ សូមស្ដារតែទៅក្នុងមូលដ្ឋានទិន្នន័យទទេប៉ុណ្ណោះ (លុប ហើយបង្កើតវាឡើងវិញជាមុនសិន)។",
    "The backup file is damaged (SQLite integrity check failed).": "ឯកសារបម្រុងទុកខូច (ការពិនិត្យភាពត្រឹមត្រូវរបស់ SQLite បរាជ័យ)។",
    "Backup written: %(path)s (%(vendor)s, %(size)d bytes).": "បានសរសេរការបម្រុងទុក៖ %(path)s (%(vendor)s, %(size)d បៃ)។",
    "The field-encryption keys are not in it: keep them escrowed separately.": "សោអ៊ិនគ្រីបវាលទិន្នន័យមិននៅក្នុងនោះទេ៖ សូមរក្សាទុកវាដោយឡែកក្នុងកន្លែងទុកដាក់សុវត្ថិភាព។",
    "Restored %(path)s into the %(vendor)s database. Run `lifeline audit verify` next.": "បានស្ដារ %(path)s ទៅក្នុងមូលដ្ឋានទិន្នន័យ %(vendor)s។ បន្ទាប់មក សូមដំណើរការ `lifeline audit verify`។",
    "PostgreSQL has fsync = %(value)s: committed help requests can be lost in a crash.": "PostgreSQL មាន fsync = %(value)s៖ សំណើជំនួយដែលបានរក្សាទុករួច អាចបាត់បង់ នៅពេលប្រព័ន្ធគាំង។",
    "PostgreSQL has synchronous_commit = off: the last acknowledged help requests can be lost in a crash.": "PostgreSQL មាន synchronous_commit = off៖ សំណើជំនួយចុងក្រោយដែលបានបញ្ជាក់ទទួល អាចបាត់បង់ នៅពេលប្រព័ន្ធគាំង។",
    "%(count)d migration(s) pending (%(names)s…): run `lifeline migrate` first.": "មាន migration %(count)d មិនទាន់ដំណើរការ (%(names)s…)៖ សូមដំណើរការ `lifeline migrate` ជាមុនសិន។",
    "Lifeline refuses to start:": "Lifeline បដិសេធមិនចាប់ផ្ដើម៖",
}
