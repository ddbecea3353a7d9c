#!/usr/bin/env python3
"""Writes N synthetic content events as JSON lines (for scripts/bench): realistic sizes,
several languages, classifier signals; deterministic for a given seed. One event in 50
(2%) carries a term of config/lists/incitement_sw.txt and a high violence score, so that
the sample rules remove and escalate it."""
import json
import random
import sys

langs = [("sw", "KE"), ("bs", "BA"), ("id", "ID"), ("en", "US"), ("hi", "IN"),
         ("ar", "EG"), ("pt", "BR"), ("th", "TH"), ("zh-Hant", "TW"), ("fr", "FR")]
words = ("habari leo soko bei mvua shule ulice grad vijesti pasar harga hujan market "
         "price weather school news city road bus train festival match goal team").split()


def event(i, rng):
    """Event I as a dict; every 50th one is escalated by the sample rules."""
    lang, country = langs[i % len(langs)]
    ev = {
        "event_id": f"bench-{i}",
        "content_id": f"c-{rng.randrange(1 << 40):010x}",
        "author_id": f"u-{rng.randrange(1 << 32):08x}",
        "surface": "POST" if i % 3 else "COMMENT",
        "content_type": "TEXT",
        "text": " ".join(rng.choice(words) for _ in range(rng.randrange(8, 30))),
        "lang": lang,
        "country": country,
        "created_at_ms": 1795000000000 + i,
        "signals": {"hate": round(rng.random() * 0.3, 3), "violence": round(rng.random() * 0.3, 3),
                    "spam": round(rng.random() * 0.5, 3)},
        "reach": rng.randrange(1, 50000),
        "report_count": rng.randrange(0, 3),
    }
    if i % 50 == 0:
        ev.update(lang="sw", country="KE", text=ev["text"] + " kata kabisa")
        ev["signals"]["violence"] = 0.8
    return ev


def line(ev):
    return json.dumps(ev, ensure_ascii=False, separators=(",", ":")) + "\n"


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 7)
    out = sys.stdout
    for i in range(n):
        out.write(line(event(i, rng)))
