"""The CodeCrafters stages in the order the platform runs them, by extension.

Every stage test is named ``test_<slug>_...`` (a test that shows several stages at once
names them all: ``test_gl7_eh4_ju6_...``). `tests/test_platform_run.py` runs them in this
order, each against a server of its own started in one shared folder, as the platform does
on every push.
"""

from __future__ import annotations

import re

EXTENSIONS = {
    "base": "jm1 rg2 wy1 zu2 qq0 la7 yz1",
    "rdb": "zg5 jz6 gc6 jw4 dq3 sm4",
    "aof": "uj3 vd9 fm0 dw4 pb9 dc8 fi1 ep6 xz2 kn2",
    "replication": "bw1 ye5 hc6 xc1 gl7 eh4 ju6 fj0 vm3 cf8 zn8 hd5 yg4 xv6 yd3 my8 tu8 na2",
    "streams": "cc3 cf6 hq8 yh3 xu6 zx1 yp1 fs1 um0 ru9 bs1 hw1 xu1",
    "transactions": "si4 lz8 mk1 pn0 lo4 we1 rs9 fy6 rl9 sg9 jf8",
    "lists": "mh6 tn7 lx4 sf6 ri1 gu5 fv6 ef1 jp1 ec3 xj7",
    "pubsub": "mx3 zc8 aw8 lf1 hf2 dn4 ze9",
    "sorted_sets": "ct1 hf1 lg6 ic1 bj4 kn4 gd7 sq7",
    "geo": "zt4 ck3 tn5 cr3 xg4 hb5 ek6 rm9",
    "auth": "jn4 gx8 ql6 pl7 uv9 hz3 nm2 ws7",
    "watch": "jb7 jq9 mh8 fp0 uo9 bn1 fn4 hq1",
}

ORDER = [slug for slugs in EXTENSIONS.values() for slug in slugs.split()]
POSITION = {slug: index for index, slug in enumerate(ORDER)}

_SLUGS = re.compile(r"test_((?:[a-z]{2}[0-9]_)+)")


def slugs_of(test_name: str) -> list[str]:
    """The stages a test shows, from its name: ``test_gl7_eh4_ju6_replica...`` -> three."""
    match = _SLUGS.match(test_name)
    if match is None:
        return []
    return [slug for slug in match.group(1).split("_") if slug in POSITION]
