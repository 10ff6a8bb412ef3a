"""The agent's session without Qt (the Desk) and what it knows about each call; see session.py."""

from agentdesk.desk.context import CallContext, DeskListeners, WrapUpPolicy
from agentdesk.desk.current import TRANSFER_WINDOW
from agentdesk.desk.housekeeping import FORGET_AFTER
from agentdesk.desk.session import Desk
from agentdesk.store.dispositions import DispositionInvalid

__all__ = [
    "FORGET_AFTER",
    "TRANSFER_WINDOW",
    "CallContext",
    "Desk",
    "DeskListeners",
    "DispositionInvalid",
    "WrapUpPolicy",
]
