# ruff: noqa: E501  (Khmer strings are kept whole so translators can read them)
"""Khmer translations for Lifeline's screens, merged into lifeline/locale/km/LC_MESSAGES/django.po.

Run after `makemessages -l km`: python scripts/km_translations.py && msgfmt ... (see README).
Keeping the table in Python keeps it reviewable in one place; the .po stays the source gettext
reads.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

KM = {
    "Hotline": "ខ្សែទូរស័ព្ទជំនួយ",
    "NGO": "អង្គការមិនមែនរដ្ឋាភិបាល",
    "Embassy or consulate": "ស្ថានទូត ឬកុងស៊ុល",
    "Ministry": "ក្រសួង",
    "Police": "នគរបាល",
    "Shelter": "មណ្ឌលស្នាក់នៅ",
    "International organisation": "អង្គការអន្តរជាតិ",
    "Intake officer": "មន្ត្រីទទួលករណី",
    "Case worker": "បុគ្គលិកគ្រប់គ្រងករណី",
    "Supervisor": "អ្នកគ្រប់គ្រង",
    "Liaison officer": "មន្ត្រីទំនាក់ទំនង",
    "Data protection officer": "មន្ត្រីការពារទិន្នន័យ",
    "Analyst": "អ្នកវិភាគ",
    "Agency administrator": "អ្នកគ្រប់គ្រងស្ថាប័ន",
    "name": "ឈ្មោះ",
    "short code": "កូដខ្លី",
    "kind": "ប្រភេទ",
    "country": "ប្រទេស",
    "ISO 3166-1 alpha-2 code, e.g. KH, TH": "កូដ ISO 3166-1 alpha-2 ឧ. KH, TH",
    "active": "សកម្ម",
    "agency": "ស្ថាប័ន",
    "agencies": "ស្ថាប័ន",
    "user": "អ្នកប្រើ",
    "users": "អ្នកប្រើ",
    "role": "តួនាទី",
    "membership": "សមាជិកភាព",
    "memberships": "សមាជិកភាព",
    "Audit trail": "កំណត់ត្រាសវនកម្ម",
    "Time (UTC)": "ពេលវេលា (UTC)",
    "User id": "លេខអ្នកប្រើ",
    "Role": "តួនាទី",
    "Action": "សកម្មភាព",
    "Target": "គោលដៅ",
    "Home": "ទំព័រដើម",
    "Welcome": "សូមស្វាគមន៍",
    "You are working for %(agency)s.": "អ្នកកំពុងធ្វើការឱ្យ %(agency)s។",
    "Your roles:": "តួនាទីរបស់អ្នក៖",
    "You have no active role in any agency, so there is nothing to show. Ask your agency "
    "administrator for access.": "អ្នកមិនមានតួនាទីសកម្មនៅស្ថាប័នណាមួយទេ ដូច្នេះគ្មានអ្វីបង្ហាញទេ។ "
    "សូមស្នើសិទ្ធិពីអ្នកគ្រប់គ្រងស្ថាប័នរបស់អ្នក។",
    "Account locked": "គណនីត្រូវបានចាក់សោ",
    "Too many failed attempts. The account is locked for 30 minutes. Ask your agency "
    "administrator if you need access sooner.": "ការព្យាយាមខុសច្រើនដងពេក។ គណនីត្រូវបានចាក់សោ ៣០ នាទី។ "
    "សូមទាក់ទងអ្នកគ្រប់គ្រងស្ថាប័ន ប្រសិនបើត្រូវការចូលឆាប់ជាងនេះ។",
    "Log in": "ចូលប្រព័ន្ធ",
    "Username": "ឈ្មោះអ្នកប្រើ",
    "Password": "ពាក្យសម្ងាត់",
    "Continue": "បន្ត",
    "After your password you will be asked for the code from your authenticator app.": "បន្ទាប់ពីពាក្យសម្ងាត់ អ្នកនឹងត្រូវបញ្ចូលលេខកូដពីកម្មវិធីផ្ទៀងផ្ទាត់របស់អ្នក។",
    "Members": "សមាជិក",
    "Members of": "សមាជិករបស់",
    "Active": "សកម្ម",
    "Second factor": "ការផ្ទៀងផ្ទាត់ជំហានទីពីរ",
    "Set up your authenticator": "រៀបចំកម្មវិធីផ្ទៀងផ្ទាត់",
    "Scan this code with an authenticator app (for example FreeOTP or Aegis), then type the "
    "6 digits it shows.": "ស្កេនកូដនេះដោយកម្មវិធីផ្ទៀងផ្ទាត់ (ឧ. FreeOTP ឬ Aegis) "
    "រួចវាយលេខ ៦ ខ្ទង់ដែលវាបង្ហាញ។",
    "Or enter this key by hand:": "ឬបញ្ចូលសោនេះដោយដៃ៖",
    "Enter your code": "បញ្ចូលលេខកូដរបស់អ្នក",
    "Type the 6 digits from your authenticator app.": "វាយលេខ ៦ ខ្ទង់ពីកម្មវិធីផ្ទៀងផ្ទាត់របស់អ្នក។",
    "Verify": "ផ្ទៀងផ្ទាត់",
    "6-digit code from your authenticator app": "លេខកូដ ៦ ខ្ទង់ពីកម្មវិធីផ្ទៀងផ្ទាត់",
    "Enter the 6 digits shown in your authenticator app.": "បញ្ចូលលេខ ៦ ខ្ទង់ដែលបង្ហាញក្នុងកម្មវិធីផ្ទៀងផ្ទាត់។",
    "That code is not valid. Wait for a new code and try again.": "លេខកូដនោះមិនត្រឹមត្រូវទេ។ រង់ចាំលេខកូដថ្មី ហើយព្យាយាមម្ដងទៀត។",
    "Web form": "ទម្រង់តាមគេហទំព័រ",
    "Hotline call": "ការហៅទូរស័ព្ទជំនួយ",
    "API": "API",
    "Walk-in": "មកដល់ផ្ទាល់",
    "Partner referral": "ការបញ្ជូនពីដៃគូ",
    "The person themselves": "ជនរងគ្រោះផ្ទាល់",
    "Family member": "សមាជិកគ្រួសារ",
    "Friend": "មិត្តភក្តិ",
    "Other": "ផ្សេងៗ",
    "Received": "បានទទួល",
    "Acknowledged": "បានទទួលស្គាល់",
    "Responded": "បានឆ្លើយតប",
    "Closed": "បានបិទ",
    "Assigned officer": "មន្ត្រីទទួលបន្ទុក",
    "Agency supervisors": "អ្នកគ្រប់គ្រងស្ថាប័ន",
    "Agency administrator ": "អ្នកគ្រប់គ្រងស្ថាប័ន",
    "Partner agency": "ស្ថាប័នដៃគូ",
    "Choose who is asking for help.": "សូមជ្រើសរើសថាអ្នកណាកំពុងស្នើសុំជំនួយ។",
    "Tell us briefly what happened.": "សូមប្រាប់យើងដោយសង្ខេបពីអ្វីដែលបានកើតឡើង។",
    "Give a phone number or a safe way to contact you, or tick “do not call back”.": "សូមផ្ដល់លេខទូរស័ព្ទ ឬវិធីទាក់ទងដែលមានសុវត្ថិភាព ឬគូស «កុំហៅត្រឡប់មកវិញ»។",
    "Ask for help": "ស្នើសុំជំនួយ",
    "Help request": "សំណើជំនួយ",
    "Status": "ស្ថានភាព",
    "urgent": "បន្ទាន់",
    "Deadline": "ថ្ងៃផុតកំណត់",
    "Channel": "ឆានែល",
    "Caller is": "អ្នកហៅជា",
    "Caller": "អ្នកហៅ",
    "Person in need": "អ្នកត្រូវការជំនួយ",
    "Where": "ទីកន្លែង",
    "What happened": "អ្វីដែលបានកើតឡើង",
    "Safe contact": "ការទាក់ទងដោយសុវត្ថិភាព",
    "Do not call back": "កុំហៅត្រឡប់មកវិញ",
    "Assigned to": "ប្រគល់ឱ្យ",
    "Acknowledge": "ទទួលស្គាល់",
    "Assign to": "ប្រគល់ឱ្យ",
    "Assign": "ប្រគល់",
    "Record first response": "កត់ត្រាការឆ្លើយតបដំបូង",
    "Escalations": "ការលើកឡើងទៅថ្នាក់លើ",
    "Level %(level)s": "កម្រិត %(level)s",
    "None.": "គ្មាន។",
    "If you or someone you know is trapped or forced to work abroad, tell us here. It is free "
    "and confidential.": "ប្រសិនបើអ្នក ឬអ្នកដែលអ្នកស្គាល់ ជាប់គាំង ឬត្រូវបង្ខំឱ្យធ្វើការនៅបរទេស "
    "សូមប្រាប់យើងនៅទីនេះ។ វាឥតគិតថ្លៃ និងរក្សាការសម្ងាត់។",
    "What happens next: you get a reference number at once. Our hotline staff read every "
    "request and contact you within hours, sooner if someone is in danger. If you cannot be "
    "called safely, tell us how and when to reach you.": "អ្វីដែលកើតឡើងបន្ទាប់៖ "
    "អ្នកនឹងទទួលបានលេខយោងភ្លាមៗ។ បុគ្គលិកខ្សែទូរស័ព្ទជំនួយអានរាល់សំណើ ហើយទាក់ទងអ្នកក្នុងរយៈពេលប៉ុន្មានម៉ោង "
    "ឬលឿនជាងនេះប្រសិនបើមាននរណាម្នាក់ស្ថិតក្នុងគ្រោះថ្នាក់។ ប្រសិនបើការហៅមកអ្នកមិនមានសុវត្ថិភាព "
    "សូមប្រាប់យើងពីរបៀប និងពេលវេលាដែលអាចទាក់ទងអ្នកបាន។",
    "Please correct the fields marked below. Nothing has been sent yet.": "សូមកែតម្រូវចន្លោះដែលបានសម្គាល់ខាងក្រោម។ មិនទាន់មានអ្វីត្រូវបានផ្ញើនៅឡើយទេ។",
    "Who is asking?": "អ្នកណាកំពុងស្នើសុំ?",
    "I need help myself": "ខ្ញុំត្រូវការជំនួយដោយខ្លួនឯង",
    "I am a family member": "ខ្ញុំជាសមាជិកគ្រួសារ",
    "I am a friend": "ខ្ញុំជាមិត្តភក្តិ",
    "Someone else": "អ្នកផ្សេង",
    "The person who needs help": "អ្នកដែលត្រូវការជំនួយ",
    "Name (if you can say)": "ឈ្មោះ (ប្រសិនបើអាចប្រាប់បាន)",
    "Country where they are now": "ប្រទេសដែលគាត់នៅឥឡូវនេះ",
    "Don't know": "មិនដឹង",
    "Place, company or compound, if known": "ទីកន្លែង ក្រុមហ៊ុន ឬបរិវេណ ប្រសិនបើដឹង",
    "Their phone number, if safe to use": "លេខទូរស័ព្ទរបស់គាត់ ប្រសិនបើប្រើបានដោយសុវត្ថិភាព",
    "What happened?": "តើមានអ្វីកើតឡើង?",
    "Tell us briefly": "សូមប្រាប់យើងដោយសង្ខេប",
    "They cannot leave (locked in, passport taken, guarded)": "គាត់មិនអាចចេញបាន (ត្រូវចាក់សោ ត្រូវដកលិខិតឆ្លងដែន ឬមានអ្នកយាម)",
    "They are about to be moved or sold on": "គាត់ជិតត្រូវបានផ្លាស់ទីលំនៅ ឬលក់បន្ត",
    "They are hurt or sick": "គាត់រងរបួស ឬឈឺ",
    "They are under 18": "គាត់អាយុក្រោម ១៨ ឆ្នាំ",
    "How can we reach you safely?": "តើយើងអាចទាក់ទងអ្នកដោយសុវត្ថិភាពដោយរបៀបណា?",
    "Your name (optional)": "ឈ្មោះរបស់អ្នក (មិនចាំបាច់)",
    "Your phone number": "លេខទូរស័ព្ទរបស់អ្នក",
    "Safe way and time to contact (e.g. Telegram after 8 pm)": "វិធី និងពេលវេលាទាក់ទងដែលមានសុវត្ថិភាព (ឧ. Telegram ក្រោយម៉ោង ៨ យប់)",
    "Do not call back: it is not safe": "កុំហៅត្រឡប់មកវិញ៖ វាមិនមានសុវត្ថិភាព",
    "Send": "ផ្ញើ",
    "Already sent a request? Check its status.": "បានផ្ញើសំណើរួចហើយ? ពិនិត្យស្ថានភាពរបស់វា។",
    "Check your request": "ពិនិត្យសំណើរបស់អ្នក",
    "Reference": "លេខយោង",
    "A staff member has responded to this request.": "បុគ្គលិកបានឆ្លើយតបចំពោះសំណើនេះហើយ។",
    "A staff member has seen this request and is working on it.": "បុគ្គលិកបានឃើញសំណើនេះ ហើយកំពុងដោះស្រាយ។",
    "Received. It is waiting for a staff member.": "បានទទួល។ កំពុងរង់ចាំបុគ្គលិក។",
    "We could not find a request with that reference and code. Check both and try again.": "យើងរកមិនឃើញសំណើដែលមានលេខយោង និងលេខកូដនោះទេ។ សូមពិនិត្យទាំងពីរ ហើយព្យាយាមម្ដងទៀត។",
    "Reference number": "លេខយោង",
    "Status code": "លេខកូដស្ថានភាព",
    "Check": "ពិនិត្យ",
    "Request received": "បានទទួលសំណើ",
    "We have received your request": "យើងបានទទួលសំណើរបស់អ្នកហើយ",
    "Your reference number:": "លេខយោងរបស់អ្នក៖",
    "Your status code:": "លេខកូដស្ថានភាពរបស់អ្នក៖",
    "Write both down. With them you can check the status of your request on this site. Do not "
    "share them with anyone you do not trust.": "សូមកត់ទុកទាំងពីរ។ ជាមួយវា អ្នកអាចពិនិត្យស្ថានភាពសំណើរបស់អ្នកនៅលើគេហទំព័រនេះ។ "
    "កុំចែករំលែកវាជាមួយអ្នកដែលអ្នកមិនទុកចិត្ត។",
    "You marked this as urgent. Our staff are alerted now.": "អ្នកបានសម្គាល់ថាបន្ទាន់។ បុគ្គលិករបស់យើងត្រូវបានជូនដំណឹងឥឡូវនេះ។",
    "What happens next: a trained hotline worker reads your request and contacts you in the "
    "safe way you gave. If nobody answers in time, a supervisor is alerted automatically.": "អ្វីដែលកើតឡើងបន្ទាប់៖ បុគ្គលិកខ្សែទូរស័ព្ទជំនួយដែលបានបណ្តុះបណ្តាល នឹងអានសំណើរបស់អ្នក "
    "ហើយទាក់ទងអ្នកតាមវិធីសុវត្ថិភាពដែលអ្នកបានផ្ដល់។ ប្រសិនបើគ្មាននរណាឆ្លើយតបទាន់ពេល "
    "អ្នកគ្រប់គ្រងនឹងត្រូវបានជូនដំណឹងដោយស្វ័យប្រវត្តិ។",
    "Check status": "ពិនិត្យស្ថានភាព",
    "Log a call": "កត់ត្រាការហៅ",
    "Search first: phone number or name": "ស្វែងរកជាមុនសិន៖ លេខទូរស័ព្ទ ឬឈ្មោះ",
    "Search": "ស្វែងរក",
    "Possible matches:": "អាចត្រូវគ្នា៖",
    "No existing request matches. Log a new one below.": "គ្មានសំណើដែលមានស្រាប់ត្រូវគ្នាទេ។ កត់ត្រាសំណើថ្មីខាងក្រោម។",
    "Please correct the fields marked below. Nothing has been saved yet.": "សូមកែតម្រូវចន្លោះដែលបានសម្គាល់ខាងក្រោម។ មិនទាន់មានអ្វីត្រូវបានរក្សាទុកនៅឡើយទេ។",
    "Caller name": "ឈ្មោះអ្នកហៅ",
    "Caller phone": "ទូរស័ព្ទអ្នកហៅ",
    "Their phone": "ទូរស័ព្ទរបស់គាត់",
    "Country": "ប្រទេស",
    "Place abroad": "ទីកន្លែងនៅបរទេស",
    "Urgency": "ភាពបន្ទាន់",
    "Still confined": "នៅតែត្រូវឃុំខ្លួន",
    "Transfer imminent": "ជិតត្រូវផ្ទេរ",
    "Medical": "វេជ្ជសាស្ត្រ",
    "Child": "កុមារ",
    "Safe way and time to call back": "វិធី និងពេលវេលាហៅត្រឡប់ដែលមានសុវត្ថិភាព",
    "Save request": "រក្សាទុកសំណើ",
    "Help requests": "សំណើជំនួយ",
    "Open help requests": "សំណើជំនួយដែលកំពុងបើក",
    "Urgent only": "តែបន្ទាន់",
    "All countries": "គ្រប់ប្រទេស",
    "Filter": "ត្រង",
    "Alerts": "ការជូនដំណឹង",
    "Escalated to you:": "បានលើកមកអ្នក៖",
    "Urgent request:": "សំណើបន្ទាន់៖",
    "Urgent": "បន្ទាន់",
    "Assigned": "បានប្រគល់",
    "Escalation": "ការលើកឡើង",
    "overdue by %(m)s min": "ហួសពេល %(m)s នាទី",
    "%(m)s min left": "នៅសល់ %(m)s នាទី",
    "level %(l)s": "កម្រិត %(l)s",
    "Take": "ទទួលយក",
    "No open requests.": "គ្មានសំណើកំពុងបើកទេ។",
    "Please wait a few minutes": "សូមរង់ចាំពីរបីនាទី",
    "We received many messages from your connection. Nothing from this attempt was stored. "
    "Wait a few minutes and send again, or call the hotline.": "យើងបានទទួលសារច្រើនពីការតភ្ជាប់របស់អ្នក។ "
    "គ្មានអ្វីពីការព្យាយាមនេះត្រូវបានរក្សាទុកទេ។ សូមរង់ចាំពីរបីនាទី ហើយផ្ញើម្ដងទៀត ឬហៅខ្សែទូរស័ព្ទជំនួយ។",
    "We could not save your request": "យើងមិនអាចរក្សាទុកសំណើរបស់អ្នកបានទេ",
    "Nothing was stored. Please try again in a minute, or call the hotline.": "គ្មានអ្វីត្រូវបានរក្សាទុកទេ។ សូមព្យាយាមម្ដងទៀតក្នុងមួយនាទី ឬហៅខ្សែទូរស័ព្ទជំនួយ។",
    "Remove the invisible control characters from this text.": "សូមលុបតួអក្សរបញ្ជាដែលមើលមិនឃើញចេញពីអត្ថបទនេះ។",
    "This text is too long: keep it under %(max)d characters.": "អត្ថបទនេះវែងពេក៖ សូមរក្សាឱ្យតិចជាង %(max)d តួអក្សរ។",
    "A name can contain only letters, spaces, dots and hyphens.": "ឈ្មោះអាចមានតែអក្សរ ដកឃ្លា ចំណុច និងសញ្ញាដាច់ប៉ុណ្ណោះ។",
    "This phone number is not valid. Include the country code, e.g. +855 12 345 678.": "លេខទូរស័ព្ទនេះមិនត្រឹមត្រូវទេ។ សូមបញ្ចូលលេខកូដប្រទេស ឧ. +855 12 345 678។",
    "Unknown country. Choose one from the list.": "ប្រទេសមិនស្គាល់។ សូមជ្រើសរើសពីបញ្ជី។",
    "That person cannot take requests in your agency.": "អ្នកនោះមិនអាចទទួលសំណើនៅក្នុងស្ថាប័នរបស់អ្នកបានទេ។",
    "Not found": "រកមិនឃើញ",
    "There is nothing here, or you do not have access to it.": "គ្មានអ្វីនៅទីនេះទេ ឬអ្នកមិនមានសិទ្ធិចូលមើលវា។",
    "Lifeline": "Lifeline",
    "Log out": "ចាកចេញ",
}


def _unquote(lines: list[str]) -> str:
    return (
        "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', " ".join(lines)))
        .replace('\\"', '"')
        .replace("\\n", "\n")
    )


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _app_tables() -> dict[str, str]:
    """Each app may keep its own table in scripts/km/<app>.py (a dict named KM)."""
    merged: dict[str, str] = {}
    for table in sorted((Path(__file__).resolve().parent / "km").glob("*.py")):
        namespace: dict[str, object] = {}
        exec(compile(table.read_text(), str(table), "exec"), namespace)  # noqa: S102 (our own file)
        merged.update(namespace["KM"])  # type: ignore[arg-type]
    return merged


KM.update(_app_tables())


def merge(path: Path) -> list[str]:
    """Fill msgstr for every msgid we know; return msgids left untranslated."""
    out: list[str] = []
    missing: list[str] = []
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("msgid "):
            block = [line[6:]]
            i += 1
            while i < len(lines) and lines[i].startswith('"'):
                block.append(lines[i])
                i += 1
            msgid = _unquote(block)
            out.append("msgid " + block[0])
            out.extend(block[1:])
            # skip the existing msgstr block
            if i < len(lines) and lines[i].startswith("msgstr "):
                existing = [lines[i][7:]]
                i += 1
                while i < len(lines) and lines[i].startswith('"'):
                    existing.append(lines[i])
                    i += 1
                if msgid == "":
                    header = _unquote(existing).replace("charset=CHARSET", "charset=UTF-8")
                    header = re.sub(r"Language: \n", "Language: km\n", header)
                    out.append('msgstr ""')
                    out.extend(_quote(h + "\n") for h in header.splitlines())
                    continue
                translated = KM.get(msgid)
                if translated is None:
                    missing.append(msgid)
                    out.append('msgstr ""')
                else:
                    out.append("msgstr " + _quote(translated))
            continue
        if line.startswith("#, fuzzy"):
            i += 1
            continue
        out.append(line)
        i += 1
    path.write_text("\n".join(out) + "\n")
    return missing


if __name__ == "__main__":
    po = Path(__file__).resolve().parent.parent / "lifeline/locale/km/LC_MESSAGES/django.po"
    left = merge(po)
    for msgid in left:
        print("untranslated:", msgid, file=sys.stderr)
    sys.exit(1 if left else 0)
