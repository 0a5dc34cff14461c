"""Screening instrument kh-screen-2: kh-screen-1 unchanged, plus `c_platform`, the app, website
or other way through which the offer of work first reached the person.

The new item is descriptive, not an indicator: it has no dimension, weight or role, so the same
answers give the same suggestion under both versions (tested). Its options follow HTCDS 2.0
`vic_RecruitmentWebsitesAndApps` (Facebook, Instagram, WhatsApp, Telegram, Facebook Messenger,
Viber, Snapchat, Line, WeChat, QQ/Qzone, TikTok, Twitter, Other), with QQ and Qzone as one
option and 4Sale (a Gulf classifieds site) left to "another app or website"; we add a job
website, "not online" and "not known or declined". HTCDS allows several platforms; the
instrument format has one code per answer, so the question asks for the first one.

Both versions are published and frozen, so this one is built from kh-screen-1's data by copy:
kh-screen-1's items can never change under it. Do not edit a published version: copy it to a
new version and register that one.
"""

from __future__ import annotations

import copy
from typing import Any

from . import kh_screen_1

PLATFORM_ITEM = "c_platform"

PLATFORM: dict[str, Any] = {
    "id": PLATFORM_ITEM, "kind": "choice",
    "en": "How did the offer of work first reach you: through which app or website, or not online?",
    "km": "តើការផ្ដល់ការងារនេះបានមកដល់អ្នកលើកដំបូងតាមរបៀបណា៖ តាមកម្មវិធី ឬគេហទំព័រណា ឬមិនមែនតាមអនឡាញ?",
    "options": [
        ["facebook", "Facebook", "ហ្វេសប៊ុក (Facebook)"],
        ["messenger", "Facebook Messenger", "ម៉ែសេនជ័រ (Facebook Messenger)"],
        ["instagram", "Instagram", "អ៊ីនស្តាក្រាម (Instagram)"],
        ["whatsapp", "WhatsApp", "វ៉ាត់សាប់ (WhatsApp)"],
        ["telegram", "Telegram", "តេឡេក្រាម (Telegram)"],
        ["viber", "Viber", "វ៉ាយប័រ (Viber)"],
        ["line", "LINE", "ឡាញ (LINE)"],
        ["wechat", "WeChat", "វីឆាត (WeChat)"],
        ["qq", "QQ or Qzone", "QQ ឬ Qzone"],
        ["tiktok", "TikTok", "ធិកថុក (TikTok)"],
        ["snapchat", "Snapchat", "ស្នេបឆាត (Snapchat)"],
        ["twitter", "X (Twitter)", "X (ធ្វីតធ័រ)"],
        ["job_website", "A job website", "គេហទំព័រការងារ"],
        ["other_online", "Another app or website", "កម្មវិធី ឬគេហទំព័រផ្សេងទៀត"],
        ["not_online", "Not online (in person or by phone)", "មិនមែនតាមអនឡាញ (ដោយផ្ទាល់ ឬតាមទូរស័ព្ទ)"],
        ["not_known", "Not known or declined to say", "មិនដឹង ឬមិនចង់និយាយ"],
    ],
}  # fmt: skip


def _data() -> dict[str, Any]:
    data = copy.deepcopy(kh_screen_1.DATA)
    data.update(
        version="kh-screen-2",
        title_en="Screening for trafficking and forced labour (version 2)",
        title_km="ការពិនិត្យបឋមរកការជួញដូរមនុស្ស និងពលកម្មដោយបង្ខំ (កំណែទី ២)",
    )
    recruitment = next(s for s in data["sections"] if s["code"] == "C")
    after = next(n for n, i in enumerate(recruitment["items"]) if i["id"] == "c_recruiter")
    recruitment["items"].insert(after + 1, copy.deepcopy(PLATFORM))
    return data


DATA: dict[str, Any] = _data()
