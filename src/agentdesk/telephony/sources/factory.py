"""Build call sources from their settings (credentials from the keychain)."""

from __future__ import annotations

from agentdesk.config.credentials import get_secret
from agentdesk.config.schema import AmiSourceSettings, CallSourceSettings, StreamSourceSettings
from agentdesk.telephony.intake import CallIntake
from agentdesk.telephony.parsing import PRESETS, StreamMapping
from agentdesk.telephony.sources import LinkListener
from agentdesk.telephony.sources.ami import AmiSource
from agentdesk.telephony.sources.stream import JsonStreamSource

CallSource = JsonStreamSource | AmiSource


def stream_mapping(settings: StreamSourceSettings) -> StreamMapping:
    """The preset's mapping with the entry's own keys laid over it."""
    preset = PRESETS[settings.preset]
    return StreamMapping(
        event_key=settings.event_key or preset.event_key,
        kinds={**preset.kinds, **settings.kinds},
        fields={**preset.fields, **settings.fields},
        timestamp_key=settings.timestamp_key or preset.timestamp_key,
        timestamp_unit=settings.timestamp_unit or preset.timestamp_unit,
        attributes_key=preset.attributes_key,
        ignore=preset.ignore,
        sip_users=preset.sip_users,
    )


def build_call_source(settings: CallSourceSettings, intake: CallIntake, on_link: LinkListener) -> CallSource:
    """Raises CredentialMissing when an AMI secret is not in the keychain."""
    if isinstance(settings, StreamSourceSettings):
        return JsonStreamSource(settings.name, settings.url, stream_mapping(settings), intake, on_link)
    assert isinstance(settings, AmiSourceSettings)
    return AmiSource(
        settings.name,
        settings.host,
        settings.port,
        settings.username,
        get_secret(settings.credential),
        intake,
        settings.agent_interface,
        on_link,
    )
