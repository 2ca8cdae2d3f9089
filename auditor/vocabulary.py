"""The pinned vocabulary of lifecycle kinds: the names maps produce and rules consume.

Extend, never rename: users' maps and rules refer to these strings.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    INIT_BEGIN = "init.begin"
    INIT_END = "init.end"
    HALT_BEGIN = "halt.begin"
    HALT_END = "halt.end"
    PAUSE_BEGIN = "pause.begin"
    PAUSE_END = "pause.end"
    RESTART_BEGIN = "restart.begin"
    RESTART_END = "restart.end"
    SHUTDOWN_BEGIN = "shutdown.begin"
    SHUTDOWN_END = "shutdown.end"
    RESET_BEGIN = "reset.begin"
    RESET_END = "reset.end"
    SURPRISE_REMOVAL = "surprise-removal"
    RADIO = "radio"
    RADIO_HW = "radio.hw"
    CONNECT_REQUEST = "connect.request"
    CONNECT_START = "connect.start"
    CONNECT_END = "connect.end"
    ASSOC_START = "assoc.start"
    ASSOC_END = "assoc.end"
    DISCONNECT_REQUEST = "disconnect.request"
    DISASSOC = "disassoc"
    SEND = "send"
    RECEIVE = "receive"
    TRACE_LOST = "trace.lost"
    # WDI tasks and property commands that have no lifecycle kind of their own; the value
    # names the task or command (SET_RADIO_STATE, SCAN, ...). Tasks that do have one
    # (OPEN -> init.begin, CLOSE -> halt.begin, CONNECT -> connect.request,
    # DISCONNECT -> disconnect.request, DOT11_RESET -> reset.begin) keep that kind and carry
    # the task name as their value, so the hang rule can still pair them.
    WDI_TASK_BEGIN = "wdi.task.begin"
    WDI_TASK_END = "wdi.task.end"
    WDI_COMMAND_BEGIN = "wdi.command.begin"
    WDI_COMMAND_END = "wdi.command.end"
    # Synthetic: one per (trace, adapter) after its last event, so that obligations never
    # met by the end of the trace are still past-time formulas.
    TRACE_END = "trace.end"


# The values each kind may carry; a map producing another value for these is an error.
KIND_VALUES: dict[Kind, frozenset[str]] = {
    Kind.INIT_END: frozenset({"ok", "fail"}),
    Kind.RESTART_END: frozenset({"ok", "fail"}),
    Kind.CONNECT_END: frozenset({"ok", "fail"}),
    Kind.ASSOC_END: frozenset({"ok", "fail"}),
    Kind.RADIO: frozenset({"on", "off"}),
    Kind.RADIO_HW: frozenset({"on", "off"}),
}

# Kinds a map may produce (trace.end is made by the engine only).
MAPPABLE: frozenset[str] = frozenset(k.value for k in Kind if k is not Kind.TRACE_END)
