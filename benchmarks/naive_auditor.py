"""A straightforward pure-Python auditor of WPP text traces: the benchmark's "before".

What an engineer would script without the product: read the file line by line, split
the tracefmt prefix with ``re``, classify messages with Python ports of the built-in
event maps (first match wins), keep the lifecycle events, attribute adapters, then
replay each adapter's timeline through a dict of state flags.

It implements exactly the three pinned halt rules of the design brief, with their
pinned semantics, and doubles as an independent oracle for the product's findings
(``tests/benchmarks/test_naive_oracle.py``). Deliberately shares no code with the
product: the patterns below are hand-ported copies of the built-in maps
(``auditor/data/maps/*.toml``, in file order).

    python benchmarks/naive_auditor.py TRACE [-o OUT.json] [--prefilter]

prints (or writes) a JSON list of ``{"rule", "adapter", "line"}`` sorted by line.
"""

from __future__ import annotations

import argparse
import calendar
import json
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

# --- WPP text records (parsers/wpp_text.py, parsers/timestamps.py) -----------------------
_B = "[\u200e\u200f]*"  # bidi marks that Windows viewers put inside dates
_TS = (
    rf"(?:{_B}(?:\d{{1,2}}/{_B}\d{{1,2}}/{_B}(?:\d{{4}}|\d{{2}})-|\d{{4}}[/-]"
    rf"{_B}\d{{1,2}}[/-]{_B}\d{{1,2}}[-T ])"
    rf"{_B}\d{{1,2}}:\d{{2}}:\d{{2}}(?:\.\d{{1,9}})?"
    r"|\d{15,19})"
)
RECORD = re.compile(
    r"\s*\[(?P<cpu>\d{1,5})\]\s*(?P<pid>[0-9A-Fa-f]{1,8})\.(?P<tid>[0-9A-Fa-f]{1,8})::\s*"
    r"(?P<ts>" + _TS + r")\s*(?:\[(?P<provider>[^\]\r\n]*)\])?"
)
META = re.compile(
    r"\s*$"
    r"|\s*\(WmiTrace\) LogDump for Logger Id"
    r"|\s*Found Buffers:\s*\d+\s+Messages:\s*\d+"
    r"|\s*Total of \d+ Messages from \d+ Buffers"
)
_MDY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})-(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$")
_YMD = re.compile(
    r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})[-T ](\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$"
)
FILETIME_EPOCH_OFFSET = 116_444_736_000_000_000


def timestamp_ns(token: str) -> int | None:
    """Nanoseconds since 1970 (UTC: the product's default --tz); None if undecodable."""
    token = token.replace("\u200e", "").replace("\u200f", "")
    if token.isdigit() and len(token) >= 15:
        return (int(token) - FILETIME_EPOCH_OFFSET) * 100
    m = _MDY.match(token)
    if m:
        mo, d, y, h, mi, s, f = m.groups()
    elif m := _YMD.match(token):
        y, mo, d, h, mi, s, f = m.groups()
    else:
        return None
    year = int(y) + 2000 if len(y) == 2 else int(y)
    try:
        wall = datetime(year, int(mo), int(d), int(h), int(mi), int(s))
    except ValueError:
        return None  # e.g. the kernel debugger's 00/00/0000 stamp
    return calendar.timegm(wall.timetuple()) * 1_000_000_000 + int((f or "0").ljust(9, "0"))


# --- event maps, ported (first match wins; 10-native80211 then 20-wlan-autoconfig) --------
_NAME_INIT = r"(?:Miniport|MP|Mp)Initialize(?:Ex)?"
_ENTRY_INIT = (
    r"(?:-{2,}>|={2,}>)\s*NAME\b"
    r"|\bNAME\s*(?:\(\))?\s*(?:={2,}>|-{2,}>)"
    r"|\bNAME\b(?:\(\))?.{0,60}?\b(?i:enter|entering|entry)\b"
    r"|\b(?i:enter|entering)\s+NAME\b"
).replace("NAME", _NAME_INIT)
_EXIT_INIT = (
    r"(?:<-{2,}|<={2,})\s*NAME\b"
    r"|\bNAME\s*(?:\(\))?\s*(?:<={2,}|<-{2,})"
    r"|\bNAME\b(?:\(\))?.{0,60}?\b(?i:exit|exiting|leave|leaving|return|returns|returning)\b"
).replace("NAME", _NAME_INIT)
_ENTRY_HALT = _ENTRY_INIT.replace("Initialize", "Halt")
_EXIT_HALT = _EXIT_INIT.replace("Initialize", "Halt")
_ENTRY_PAUSE = _ENTRY_INIT.replace("Initialize(?:Ex)?", "Pause")
_EXIT_PAUSE = _EXIT_INIT.replace("Initialize(?:Ex)?", "Pause")
_ENTRY_RESTART = _ENTRY_INIT.replace("Initialize(?:Ex)?", "Restart")
_EXIT_RESTART = _EXIT_INIT.replace("Initialize(?:Ex)?", "Restart")
_BOOL = "(?P<value>(?i:true|false|on|off)|[01])"
_ON_OFF = {"TRUE": "on", "True": "on", "true": "on", "1": "on"} | {
    "FALSE": "off",
    "False": "off",
    "false": "off",
    "0": "off",
}

# (kind, message regex, constant value, value normalisation or None, map has adapter pattern)
_NATIVE = [
    ("init.begin", _ENTRY_INIT, None, None),
    (
        "init.end",
        r"(?:"
        + _EXIT_INIT
        + r").*?(?:\b(?:NDIS_)?STATUS_SUCCESS\b|\b[Ss]tatus\s*[=:]\s*(?:0x0+|0)\b)",
        "ok",
        None,
    ),
    (
        "init.end",
        r"(?:" + _EXIT_INIT + r").*?(?:\b(?:NDIS_)?STATUS_[A-Z_]+\b"
        r"|\b[Ss]tatus\s*[=:]\s*(?:0x)?[0-9A-Fa-f]+\b|\b(?i:failed|failure)\b)",
        "fail",
        None,
    ),
    (
        "init.end",
        _EXIT_INIT + r"|\b(?i:exit|exiting|leaving)\s+(?:Miniport|MP|Mp)Initialize(?:Ex)?\b",
        None,
        None,
    ),
    ("halt.begin", _ENTRY_HALT, None, None),
    (
        "halt.end",
        _EXIT_HALT + r"|\b(?i:exit|exiting|leaving)\s+(?:Miniport|MP|Mp)Halt(?:Ex)?\b",
        None,
        None,
    ),
    ("pause.begin", _ENTRY_PAUSE, None, None),
    (
        "pause.end",
        _EXIT_PAUSE + r"|\b(?i:exit|exiting|leaving)\s+(?:Miniport|MP|Mp)Pause\b",
        None,
        None,
    ),
    ("restart.begin", _ENTRY_RESTART, None, None),
    (
        "restart.end",
        r"(?:"
        + _EXIT_RESTART
        + r").*?(?:\b(?:NDIS_)?STATUS_SUCCESS\b|\b[Ss]tatus\s*[=:]\s*(?:0x0+|0)\b)",
        "ok",
        None,
    ),
    (
        "restart.end",
        r"(?:" + _EXIT_RESTART + r").*?(?:\b(?:NDIS_)?STATUS_[A-Z_]+\b"
        r"|\b[Ss]tatus\s*[=:]\s*(?:0x)?[0-9A-Fa-f]+\b|\b(?i:failed|failure)\b)",
        "fail",
        None,
    ),
    (
        "restart.end",
        _EXIT_RESTART + r"|\b(?i:exit|exiting|leaving)\s+(?:Miniport|MP|Mp)Restart\b",
        None,
        None,
    ),
    # The OID's BOOLEAN wherever it stands; on/off/1/0 only right after '=' or ':'.
    (
        "radio",
        r"\bOID_DOT11_NIC_POWER_STATE\b.{0,80}?\b(?P<value>TRUE|FALSE|True|False|true|false)\b",
        None,
        {k: v for k, v in _ON_OFF.items() if k not in ("0", "1")},
    ),
    (
        "radio",
        r"\bOID_DOT11_NIC_POWER_STATE\b[^=:]{0,40}[=:]\s*(?P<value>(?i:on|off)|[01])\b",
        None,
        {"1": "on", "0": "off"},
    ),
    (
        "radio",
        r"\bNDIS_STATUS_DOT11_PHY_STATE_CHANGED\b.*?\b(?i:b?software\w*|b?sw\w*)\s*[=:]\s*"
        + _BOOL
        + r"\b",
        None,
        _ON_OFF,
    ),
    (
        "radio.hw",
        r"\bNDIS_STATUS_DOT11_PHY_STATE_CHANGED\b.*?\b(?i:b?hardware\w*|b?hw\w*)\s*[=:]\s*"
        + _BOOL
        + r"\b",
        None,
        _ON_OFF,
    ),
    ("disconnect.request", r"\bOID_DOT11_DISCONNECT_REQUEST\b", None, None),
    ("disassoc", r"\bNDIS_STATUS_DOT11_DISASSOCIATION\b", None, None),
    (
        "connect.end",
        r"\bNDIS_STATUS_DOT11_CONNECTION_COMPLETION\b.*?(?:\bDOT11_CONNECTION_STATUS_SUCCESS\b"
        r"|\b[uU]?[Ss]tatus\s*[=:]\s*(?:0x0+|0)\b)",
        "ok",
        None,
    ),
    (
        "connect.end",
        r"\bNDIS_STATUS_DOT11_CONNECTION_COMPLETION\b.*?(?:\bDOT11_CONNECTION_STATUS_\w+"
        r"|\b[uU]?[Ss]tatus\s*[=:]\s*(?:0x)?[0-9A-Fa-f]+\b)",
        "fail",
        None,
    ),
    ("connect.end", r"\bNDIS_STATUS_DOT11_CONNECTION_COMPLETION\b", None, None),
    (
        "assoc.end",
        r"\bNDIS_STATUS_DOT11_ASSOCIATION_COMPLETION\b.*?(?:\bDOT11_ASSOC_STATUS_SUCCESS\b"
        r"|\b[uU]?[Ss]tatus\s*[=:]\s*(?:0x0+|0)\b)",
        "ok",
        None,
    ),
    (
        "assoc.end",
        r"\bNDIS_STATUS_DOT11_ASSOCIATION_COMPLETION\b.*?(?:\bDOT11_ASSOC_STATUS_\w+"
        r"|\b[uU]?[Ss]tatus\s*[=:]\s*(?:0x)?[0-9A-Fa-f]+\b)",
        "fail",
        None,
    ),
    ("assoc.end", r"\bNDIS_STATUS_DOT11_ASSOCIATION_COMPLETION\b", None, None),
    ("connect.start", r"\bNDIS_STATUS_DOT11_CONNECTION_START\b", None, None),
    ("assoc.start", r"\bNDIS_STATUS_DOT11_ASSOCIATION_START\b", None, None),
    ("connect.request", r"\bOID_DOT11_CONNECT_REQUEST\b", None, None),
]
# A quoted name whole; a bare one without trailing punctuation, keeping a " 2" suffix.
_NATIVE_ADAPTER = re.compile(
    r'\b[Aa]dapter(?:Context|Handle)?\s*[=:]\s*(?P<adapter>"[^"]+"|'
    r"'[^']+'"
    r"|[\w\-{}]+(?:[.:][\w\-{}]+)*(?: \d{1,3}\b)?)"
)

_AUTOCONFIG = [
    ("connect.end", r"\bFSM Transition from State:\s*\w+\s+to State:\s*Connected\b", "ok", None),
    ("disassoc", r"\bFSM Transition from State:\s*\w+\s+to State:\s*Disconnected\b", None, None),
    (
        "radio",
        r"\bChange radio state for interface\s*=\s*(?P<adapter>.+?)\s*:\s*PHY\s*=\s*\d+\s*,"
        r"\s*software state\s*=\s*(?P<value>on|off)\b",
        None,
        {},
    ),
]


def _e(
    kind: str,
    pattern: str,
    value: str | None = None,
    values: dict[str, str] | None = None,
    provider: str | None = None,
    event_id: int | None = None,
) -> tuple[str, str, str | None, dict[str, str] | None, str | None, int | None]:
    return kind, pattern, value, values, provider, event_id


# 20-wlan-autoconfig.toml, after the WPP text entries above: the manifest events 8000-8003,
# 14005 and 14011 (text and tracerpt forms; each entry's own adapter group).
_AUTOCONFIG_EVENTS = [
    _e(
        "connect.start",
        r"WLAN AutoConfig service started a connection to a wireless network(?:[\s\S]*?Interface GUID:\s*\{?(?P<adapter>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}))?",
    ),
    _e(
        "connect.start",
        r"^\s*\{(?P<adapter>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}, ",
        provider=r"^Microsoft-Windows-WLAN-AutoConfig$",
        event_id=8000,
    ),
    _e(
        "connect.end",
        r"WLAN AutoConfig service has successfully connected to a wireless network(?:[\s\S]*?Interface GUID:\s*\{?(?P<adapter>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}))?",
        value="ok",
    ),
    _e(
        "connect.end",
        r"^\s*\{(?P<adapter>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}, ",
        value="ok",
        provider=r"^Microsoft-Windows-WLAN-AutoConfig$",
        event_id=8001,
    ),
    _e(
        "connect.end",
        r"WLAN AutoConfig service failed to connect to a wireless network(?:[\s\S]*?Interface GUID:\s*\{?(?P<adapter>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}))?",
        value="fail",
    ),
    _e(
        "connect.end",
        r"^\s*\{(?P<adapter>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}, ",
        value="fail",
        provider=r"^Microsoft-Windows-WLAN-AutoConfig$",
        event_id=8002,
    ),
    _e(
        "disassoc",
        r"WLAN AutoConfig service has successfully disconnected from a wireless network(?:[\s\S]*?Interface GUID:\s*\{?(?P<adapter>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}))?",
    ),
    _e(
        "disassoc",
        r"^\s*\{(?P<adapter>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}, ",
        provider=r"^Microsoft-Windows-WLAN-AutoConfig$",
        event_id=8003,
    ),
    _e(
        "radio",
        r"^\s*\{(?P<adapter>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}, \d+, (?P<value>[12]|(?i:on|off))\s*(?:,|$)",
        values={"1": "on", "2": "off"},
        provider=r"^Microsoft-Windows-WLAN-AutoConfig$",
        event_id=14005,
    ),
    _e(
        "radio",
        r"^\s*\{(?P<adapter>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}, \d+, (?P<value>[12]|(?i:on|off))\s*(?:,|$)",
        values={"1": "on", "2": "off"},
        provider=r"^Microsoft-Windows-WLAN-AutoConfig$",
        event_id=14011,
    ),
    _e(
        "radio",
        r"\b[Rr]adio [Ss]tate\b[\s\S]*?\b[Ss]oftware (?:[Rr]adio )?[Ss]tate\s*[=:]?\s*(?P<value>(?i:on|off))\b(?:[\s\S]*?Interface GUID:\s*\{?(?P<adapter>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}))?",
        provider=r"WLAN-AutoConfig",
    ),
]

# 30-ndis.toml: Microsoft-Windows-NDIS 10311 miniport event codes.
_GUID_ADAPTER = re.compile(
    r"\{?(?P<adapter>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\b"
)
_NDIS = [
    _e(
        "init.end",
        r"(?:^|, )0x00000033(?:,|$)",
        value="ok",
        provider=r"^Microsoft-Windows-NDIS$",
        event_id=10311,
    ),
    _e(
        "halt.end",
        r"(?:^|, )0x00000034(?:,|$)",
        provider=r"^Microsoft-Windows-NDIS$",
        event_id=10311,
    ),
    _e(
        "pause.end",
        r"(?:^|, )0x00000035(?:,|$)",
        provider=r"^Microsoft-Windows-NDIS$",
        event_id=10311,
    ),
    _e(
        "restart.end",
        r"(?:^|, )0x00000036(?:,|$)",
        value="ok",
        provider=r"^Microsoft-Windows-NDIS$",
        event_id=10311,
    ),
    _e(
        "surprise-removal",
        r"(?:^|, )0x00000024(?:,|$)",
        provider=r"^Microsoft-Windows-NDIS$",
        event_id=10311,
    ),
    _e(
        "init.end",
        r"\bMiniport\b.*?\b(?:[Ee]vent(?:\s*[Cc]ode)?|[Cc]ode)\s*[=:]?\s*0[xX]0*33\b",
        value="ok",
        provider=r"Microsoft-Windows-NDIS",
    ),
    _e(
        "halt.end",
        r"\bMiniport\b.*?\b(?:[Ee]vent(?:\s*[Cc]ode)?|[Cc]ode)\s*[=:]?\s*0[xX]0*34\b",
        provider=r"Microsoft-Windows-NDIS",
    ),
    _e(
        "pause.end",
        r"\bMiniport\b.*?\b(?:[Ee]vent(?:\s*[Cc]ode)?|[Cc]ode)\s*[=:]?\s*0[xX]0*35\b",
        provider=r"Microsoft-Windows-NDIS",
    ),
    _e(
        "restart.end",
        r"\bMiniport\b.*?\b(?:[Ee]vent(?:\s*[Cc]ode)?|[Cc]ode)\s*[=:]?\s*0[xX]0*36\b",
        value="ok",
        provider=r"Microsoft-Windows-NDIS",
    ),
    _e(
        "surprise-removal",
        r"\bMiniport\b.*?\b(?:[Ee]vent(?:\s*[Cc]ode)?|[Cc]ode)\s*[=:]?\s*0[xX]0*24\b",
        provider=r"Microsoft-Windows-NDIS",
    ),
]

# 40-nwifi.toml: Microsoft-Windows-NWiFi reset, association, disassociation.
_NWIFI = [
    _e("disassoc", r"\bDisAssoc:\s*0[xX][0-9A-Fa-f]+\s*,?\s*Reason:\s*0[xX][0-9A-Fa-f]+"),
    _e(
        "disassoc",
        r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}, ",
        provider=r"^Microsoft-Windows-NWiFi$",
        event_id=10042,
    ),
    _e(
        "reset.begin",
        r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}, ",
        provider=r"^Microsoft-Windows-NWiFi$",
        event_id=10037,
    ),
    _e(
        "reset.end",
        r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}, ",
        provider=r"^Microsoft-Windows-NWiFi$",
        event_id=10038,
    ),
    _e(
        "reset.end",
        r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}, ",
        provider=r"^Microsoft-Windows-NWiFi$",
        event_id=10039,
    ),
    _e(
        "assoc.start",
        r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}, ",
        provider=r"^Microsoft-Windows-NWiFi$",
        event_id=10040,
    ),
    _e(
        "assoc.end",
        r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}, [\s\S]*,\s*(?:0[xX]0+|0)\s*$",
        value="ok",
        provider=r"^Microsoft-Windows-NWiFi$",
        event_id=10041,
    ),
    _e(
        "assoc.end",
        r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}, [\s\S]*,\s*(?:0[xX][0-9A-Fa-f]*[1-9A-Fa-f][0-9A-Fa-f]*|[1-9]\d*)\s*$",
        value="fail",
        provider=r"^Microsoft-Windows-NWiFi$",
        event_id=10041,
    ),
    _e(
        "assoc.end",
        r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}, ",
        provider=r"^Microsoft-Windows-NWiFi$",
        event_id=10041,
    ),
]

# 50-wdi.toml: WDI task, property and indication names (the Native 802.11 adapter pattern).
_WDI = [
    _e(
        "wdi.task.end",
        r"\bNDIS_STATUS_WDI_INDICATION_SET_RADIO_STATE_COMPLETE\b",
        value="SET_RADIO_STATE",
    ),
    _e("wdi.task.begin", r"\bOID_WDI_TASK_SET_RADIO_STATE\b", value="SET_RADIO_STATE"),
    _e(
        "radio",
        r"\bNDIS_STATUS_WDI_INDICATION_RADIO_STATUS\b.*?\b(?i:software\w*|sw\w*)\s*[=:]?\s*(?P<value>(?i:true|false|on|off)|[01])\b",
        values={
            "TRUE": "on",
            "True": "on",
            "true": "on",
            "1": "on",
            "FALSE": "off",
            "False": "off",
            "false": "off",
            "0": "off",
        },
    ),
    _e(
        "connect.end",
        r"\bNDIS_STATUS_WDI_INDICATION_CONNECT_COMPLETE\b.*?(?:\b(?:NDIS_)?STATUS_SUCCESS\b|\bWDI_ASSOC_STATUS_SUCCESS\b|\b[Ss]tatus\s*[=:]?\s*(?:0x0+|0)\b)",
        value="ok",
    ),
    _e(
        "connect.end",
        r"\bNDIS_STATUS_WDI_INDICATION_CONNECT_COMPLETE\b.*?(?:\b(?:NDIS_)?STATUS_[A-Z_]+\b|\bWDI_ASSOC_STATUS_\w+|\b[Ss]tatus\s*[=:]?\s*(?:0x)?[0-9A-Fa-f]+\b)",
        value="fail",
    ),
    _e("connect.end", r"\bNDIS_STATUS_WDI_INDICATION_CONNECT_COMPLETE\b"),
    _e("connect.request", r"\bOID_WDI_TASK_CONNECT\b", value="CONNECT"),
    _e(
        "assoc.end",
        r"\bNDIS_STATUS_WDI_INDICATION_ASSOCIATION_RESULT\b.*?(?:\bWDI_ASSOC_STATUS_SUCCESS\b|\b(?:NDIS_)?STATUS_SUCCESS\b|\b[Ss]tatus\s*[=:]?\s*(?:0x0+|0)\b)",
        value="ok",
    ),
    _e(
        "assoc.end",
        r"\bNDIS_STATUS_WDI_INDICATION_ASSOCIATION_RESULT\b.*?(?:\bWDI_ASSOC_STATUS_\w+|\b(?:NDIS_)?STATUS_[A-Z_]+\b|\b[Ss]tatus\s*[=:]?\s*(?:0x)?[0-9A-Fa-f]+\b)",
        value="fail",
    ),
    _e("assoc.end", r"\bNDIS_STATUS_WDI_INDICATION_ASSOCIATION_RESULT\b"),
    _e("wdi.task.end", r"\bNDIS_STATUS_WDI_INDICATION_DISCONNECT_COMPLETE\b", value="DISCONNECT"),
    _e("disconnect.request", r"\bOID_WDI_TASK_DISCONNECT\b", value="DISCONNECT"),
    _e("disassoc", r"\bNDIS_STATUS_WDI_INDICATION_DISASSOCIATION\b"),
    _e("reset.end", r"\bNDIS_STATUS_WDI_INDICATION_DOT11_RESET_COMPLETE\b", value="DOT11_RESET"),
    _e("reset.begin", r"\bOID_WDI_TASK_DOT11_RESET\b", value="DOT11_RESET"),
    _e(
        "init.end",
        r"\bNDIS_STATUS_WDI_INDICATION_OPEN_COMPLETE\b.*?(?:\b(?:NDIS_)?STATUS_SUCCESS\b|\b[Ss]tatus\s*[=:]?\s*(?:0x0+|0)\b)",
        value="ok",
    ),
    _e(
        "init.end",
        r"\bNDIS_STATUS_WDI_INDICATION_OPEN_COMPLETE\b.*?(?:\b(?:NDIS_)?STATUS_[A-Z_]+\b|\b[Ss]tatus\s*[=:]?\s*(?:0x)?[0-9A-Fa-f]+\b)",
        value="fail",
    ),
    _e("init.end", r"\bNDIS_STATUS_WDI_INDICATION_OPEN_COMPLETE\b"),
    _e("init.begin", r"\bOID_WDI_TASK_OPEN\b", value="OPEN"),
    _e("halt.end", r"\bNDIS_STATUS_WDI_INDICATION_CLOSE_COMPLETE\b", value="CLOSE"),
    _e("halt.begin", r"\bOID_WDI_TASK_CLOSE\b", value="CLOSE"),
    _e("wdi.task.end", r"\bNDIS_STATUS_WDI_INDICATION_(?P<value>[A-Z0-9_]+?)_COMPLETE\b"),
    _e("wdi.task.begin", r"\bOID_WDI_TASK_(?P<value>[A-Z0-9_]+)\b"),
    _e(
        "wdi.command.end",
        r"\bOID_WDI_(?:GET|SET)_(?P<value>[A-Z0-9_]+)\b.{0,80}?\b(?i:complete|completed|completes|completion|completing)\b",
    ),
    _e(
        "wdi.command.end",
        r"\b(?i:complete|completed|completing)\b.{0,40}?\bOID_WDI_(?:GET|SET)_(?P<value>[A-Z0-9_]+)\b",
    ),
    _e("wdi.command.begin", r"\bOID_WDI_(?:GET|SET)_(?P<value>[A-Z0-9_]+)\b"),
]

# 60-wdk-samples.toml: the WDK WiFiCx and WDI sample drivers' shapes.
_SAMPLES = [
    _e("init.begin", r"-->\s*WifiNetvAdapter::AdapterStart\b"),
    _e("init.end", r"<--\s*WifiNetvAdapter::AdapterStart\s*:\s*0x0+\b", value="ok"),
    _e(
        "init.end",
        r"<--\s*WifiNetvAdapter::AdapterStart\s*:\s*0x[0-9A-Fa-f]*[1-9A-Fa-f][0-9A-Fa-f]*\b",
        value="fail",
    ),
    _e("halt.begin", r"-->\s*EvtAdapterCleanup\b"),
    _e("halt.end", r"<--\s*EvtAdapterCleanup\b"),
    _e(
        "radio",
        r"\b(?:Setting OS requested|Indicate OS with) Radio State: SoftwareRadioState=(?P<value>[01])\b",
        values={"1": "on", "0": "off"},
    ),
    _e("reset.begin", r"\bDOT11 Reset, set default MIB = \d+", value="DOT11_RESET"),
    _e("init.begin", r"\bN6SdioWdi_TaskOpen\(\)\s*==>", value="OPEN"),
    _e("halt.begin", r"\bN6SdioWdi_TaskClose\(\)\s*==>", value="CLOSE"),
    _e("halt.end", r"\bN6SdioWdi_TaskClose\(\)\s*<==", value="CLOSE"),
    _e("pause.begin", r"==>\s*N62CHandleMiniportPause\(\)"),
    _e("pause.end", r"<==\s*N62CHandleMiniportPause\(\)"),
    _e("restart.begin", r"==>\s*N62CHelperHandleMiniportRestart\(\)"),
    _e("restart.end", r"<==\s*N62CHelperHandleMiniportRestart\(\)"),
    _e("reset.begin", r"={2,}>\s*N6C_DOT11_RESET_REQUEST\(\)"),
    _e("reset.end", r"<={2,}\s*N6C_DOT11_RESET_REQUEST\(\)"),
    _e("wdi.task.begin", r"==>\s*Wdi_Task_Set_Radio_State\(\)", value="SET_RADIO_STATE"),
    _e("connect.request", r"==>\s*Wdi_Task_Connect\(\)", value="CONNECT"),
    _e(
        "radio",
        r"\bwdiext_IndicateRadioStatus\(\):\s*Params\.RadioState\.SoftwareState is (?P<value>[01])\b",
        values={"1": "on", "0": "off"},
    ),
    _e("connect.start", r"==>\s*DrvIFIndicateConnectionStart\(\)"),
    _e("connect.end", r"==>\s*DrvIFIndicateConnectionComplete\(\):\s*status\s*=\s*0\b", value="ok"),
    _e(
        "connect.end",
        r"==>\s*DrvIFIndicateConnectionComplete\(\):\s*status\s*=\s*-?[1-9]\d*\b",
        value="fail",
    ),
    _e("assoc.start", r"==>\s*DrvIFIndicateAssociationStart\(\)"),
    _e("assoc.end", r"==>\s*DrvIFIndicateAssociationComplete\(\)"),
    _e("disassoc", r"==>\s*DrvIFIndicateDisassociation\(\)"),
]

# 70-eventtrace.toml: events lost by the logger.
_EVENTTRACE = [
    _e(
        "trace.lost",
        r"\bUnknown\(\s*3[234]\):\s*GUID=(?:6a399ae0-4bc6-4de9-870b-3657f8947e7e|6A399AE0-4BC6-4DE9-870B-3657F8947E7E)\b",
    ),
    _e("trace.lost", r"\bRT_?Lost(?:Event|Buffer|File)\b"),
    _e(
        "trace.lost",
        r"\b(?:[Ee]vents?|EVENTS?|[Bb]uffers?|BUFFERS?)\s+(?:lost|Lost|LOST)\s*[:=]\s*0*[1-9]\d*\b",
    ),
]
# Kinds whose values the vocabulary restricts; anything else becomes no value.
_OK_FAIL = {"ok", "fail"}
_ALLOWED = {
    "radio": {"on", "off"},
    "radio.hw": {"on", "off"},
    "init.end": _OK_FAIL,
    "restart.end": _OK_FAIL,
    "connect.end": _OK_FAIL,
    "assoc.end": _OK_FAIL,
}


@dataclass(frozen=True)
class Entry:
    kind: str
    pattern: re.Pattern[str]
    value: str | None
    values: dict[str, str] | None
    adapter: re.Pattern[str] | None  # the map's default pattern, if the entry has no group
    provider: re.Pattern[str] | None = None
    event_id: int | None = None  # WPP text has no event ids: such an entry never matches here


def _entries(
    rows: list[tuple[str, str, str | None, dict[str, str] | None, str | None, int | None]],
    adapter: re.Pattern[str] | None,
) -> list[Entry]:
    return [
        Entry(
            k,
            re.compile(p),
            v,
            vs,
            None if "(?P<adapter>" in p else adapter,
            re.compile(prov) if prov is not None else None,
            eid,
        )
        for k, p, v, vs, prov, eid in rows
    ]


ENTRIES = (
    [
        Entry(k, re.compile(p), v, vs, None if "(?P<adapter>" in p else _NATIVE_ADAPTER)
        for k, p, v, vs in _NATIVE
    ]
    + [Entry(k, re.compile(p), v, vs, None) for k, p, v, vs in _AUTOCONFIG]
    + _entries(_AUTOCONFIG_EVENTS, None)
    + _entries(_NDIS, _GUID_ADAPTER)
    + _entries(_NWIFI, _GUID_ADAPTER)
    + _entries(_WDI, _NATIVE_ADAPTER)
    + _entries(_SAMPLES, _NATIVE_ADAPTER)
    + _entries(_EVENTTRACE, None)
)

# Every entry above that can match WPP text (no event id) needs one of these words: with
# --prefilter, a message without any of them skips the regexes (sound, and what a slightly
# less naive script would do).
GATE = (
    "Initialize",
    "Halt",
    "DOT11",
    "FSM Transition",
    "Change radio state",
    "WLAN AutoConfig",
    "adio",
    "Miniport",
    "DisAssoc",
    "WDI",
    "Wdi",
    "wdi",
    "WifiNetvAdapter",
    "EvtAdapterCleanup",
    "DOT11 Reset",
    "DrvIFIndicate",
    "Unknown(",
    "Lost",
    "lost",
    "LOST",
)


def classify(
    message: str, prefilter: bool = False, provider: str | None = None
) -> tuple[str, str | None, str | None] | None:
    """(kind, value, adapter) of the first matching map entry, or None."""
    if prefilter and not any(word in message for word in GATE):
        return None
    for entry in ENTRIES:
        if entry.event_id is not None:
            continue
        if entry.provider is not None and entry.provider.search(provider or "") is None:
            continue
        m = entry.pattern.search(message)
        if m is None:
            continue
        groups = m.groupdict()
        value = entry.value
        if "value" in groups:
            raw = groups["value"]
            if raw is not None and entry.values is not None:
                raw = entry.values.get(raw, raw)
            if raw is not None and entry.kind in _ALLOWED:
                raw = raw.lower() if raw.lower() in _ALLOWED[entry.kind] else None
            value = raw
        if "adapter" in groups:
            adapter = groups["adapter"]
        elif entry.adapter is not None:
            a = entry.adapter.search(message)
            adapter = a.group("adapter") if a else None
        else:
            adapter = None
        if adapter is not None:
            adapter = adapter.strip().strip("\"'")  # a quoted name without its quotes
            if not adapter.strip():
                adapter = None
        return entry.kind, value, adapter
    return None


# --- reading ---------------------------------------------------------------------------------
@dataclass
class Event:
    seq: int
    line: int
    ts: int | None
    pid: int
    tid: int
    kind: str
    value: str | None
    adapter: str | None


def lifecycle_events(path: str | Path, prefilter: bool = False) -> list[Event]:
    """Every classified record of the file, in source order (continuations joined)."""
    out: list[Event] = []
    seq = -1
    start = 0  # line of the pending record
    head: re.Match[str] | None = None
    parts: list[str] = []

    def flush() -> None:
        assert head is not None
        message = "\n".join(parts)
        found = classify(message, prefilter, head.group("provider"))
        if found is not None:
            kind, value, adapter = found
            out.append(
                Event(
                    seq,
                    start,
                    timestamp_ns(head.group("ts")),
                    int(head.group("pid"), 16),
                    int(head.group("tid"), 16),
                    kind,
                    value,
                    adapter,
                )
            )

    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            text = raw.decode("utf-8", errors="replace").rstrip("\n")
            if text.endswith("\r"):
                text = text[:-1]
            if number == 1:
                text = text.removeprefix("\ufeff")
            m = RECORD.match(text)
            if m is not None:
                if head is not None:
                    flush()
                seq += 1
                start, head, parts = number, m, [text[m.end() :]]
            elif head is not None and not META.match(text):
                parts.append(text)  # a wrapped line continues the previous message
        if head is not None:
            flush()
    return out


# --- attribution and rules -------------------------------------------------------------------
def attribute(events: list[Event]) -> dict[str | None, list[Event]]:
    """Per-adapter timelines ordered by (ts, seq); unattributed events are dropped."""
    # Null timestamps take the previous event's (the first one's, at the start).
    known = [e.ts for e in events if e.ts is not None]
    last = known[0] if known else 0
    keyed: list[tuple[int, int, Event]] = []
    for e in events:
        if e.ts is not None:
            last = e.ts
        keyed.append((last, e.seq, e))
    keyed.sort(key=lambda k: (k[0], k[1]))
    named = {e.adapter for e in events if e.adapter is not None}
    only = next(iter(named)) if len(named) == 1 else None
    by_thread: dict[tuple[int, int], str] = {}
    timelines: dict[str | None, list[Event]] = {}
    for _, _, e in keyed:
        adapter = e.adapter
        if adapter is not None:
            by_thread[(e.pid, e.tid)] = adapter
        elif only is not None:
            adapter = only
        else:
            adapter = by_thread.get((e.pid, e.tid))
            if adapter is None and named:
                continue  # unattributed
        timelines.setdefault(adapter, []).append(e)
    return timelines


def evaluate(adapter: str | None, timeline: list[Event]) -> list[dict[str, object]]:
    """The three pinned halt rules over one adapter's ordered timeline."""
    found: list[dict[str, object]] = []
    connected = halted = radio_on = False
    halted_connected = False  # since(halt.begin & connected, !(disconnect | halt.begin))
    off_while_halted = False  # since(radio == 'off' & halted, !init.begin)
    for e in timeline:
        kind, value = e.kind, e.value
        disconnect = kind in ("disassoc", "disconnect.request")
        radio_value = value if kind == "radio" else None
        # defines
        if kind in ("connect.end", "assoc.end") and value == "ok":
            connected = True
        elif disconnect or kind in ("init.begin", "halt.end", "reset.end"):
            connected = False
        if kind == "halt.begin":
            halted = True
        elif kind == "init.begin":
            halted = False
        if radio_value == "on":
            radio_on = True
        elif radio_value == "off":
            radio_on = False
        # rule formulas
        if kind == "halt.begin":
            halted_connected = connected
        elif disconnect:
            halted_connected = False
        if radio_value == "off" and halted:
            off_while_halted = True
        elif kind == "init.begin":
            off_while_halted = False
        # anchors
        if kind == "halt.end":
            if halted_connected:
                found.append(
                    {"rule": "halt-without-disconnect", "adapter": adapter, "line": e.line}
                )
            if radio_on:
                found.append({"rule": "halt-radio-left-on", "adapter": adapter, "line": e.line})
        if radio_value == "on" and off_while_halted:
            found.append({"rule": "radio-on-before-initialize", "adapter": adapter, "line": e.line})
    return found


def audit(path: str | Path, prefilter: bool = False) -> list[dict[str, object]]:
    findings: list[dict[str, object]] = []
    for adapter, timeline in attribute(lifecycle_events(path, prefilter)).items():
        findings.extend(evaluate(adapter, timeline))
    findings.sort(key=lambda f: (f["line"], f["rule"], str(f["adapter"])))
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Naive pure-Python audit of a WPP text trace")
    parser.add_argument("trace", type=Path)
    parser.add_argument("-o", "--output", type=Path, help="write JSON here instead of stdout")
    parser.add_argument(
        "--prefilter",
        action="store_true",
        help="skip the regexes for messages without any keyword of the maps",
    )
    args = parser.parse_args(argv)
    text = json.dumps(audit(args.trace, args.prefilter), indent=1)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
