"""Reading campaign files: TOML, one campaign and its script per file, every problem reported with the file, the
line and the key path (e.g. `heart.toml:42: steps[3].next: unknown step 'bokk'`). A bad file is skipped with its
reasons; it never stops the others from loading."""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from agentdesk.campaigns.model import CampaignFile
from agentdesk.campaigns.validator import validate_campaign_file
from agentdesk.config.loader import (
    ConfigError,
    ConfigProblem,
    _format_loc,
    _line_of,
    _plain_message,
    read_layer,
)
from agentdesk.config.schema import SHIPPED_CAMPAIGNS

log = logging.getLogger("agentdesk.campaigns")
SHIPPED_FOLDER = SHIPPED_CAMPAIGNS
SUFFIX = ".toml"
MAX_FILE_BYTES = 1_000_000
# A .toml file with none of these tables is some other file (e.g. an AgentDesk config) and is not a campaign.
CAMPAIGN_TABLES = ("campaign", "script", "steps")


@dataclass(frozen=True)
class LoadedFile:
    """One campaign file: the campaign when it is usable, else why not."""

    path: Path
    campaign_file: CampaignFile | None
    problems: tuple[ConfigProblem, ...] = ()
    is_campaign: bool = True  # False: a TOML file of another kind found in a checked folder


@dataclass
class CampaignCatalog:
    """Every campaign file of a folder, usable or not (the agent sees which campaigns are unavailable and why)."""

    files: list[LoadedFile] = field(default_factory=list)

    @property
    def campaigns(self) -> list[CampaignFile]:
        return [f.campaign_file for f in self.files if f.campaign_file is not None]

    @property
    def unavailable(self) -> list[LoadedFile]:
        return [f for f in self.files if f.is_campaign and f.campaign_file is None]

    @property
    def problems(self) -> list[ConfigProblem]:
        return [problem for f in self.files if f.is_campaign for problem in f.problems]


def load_campaign_file(path: Path, dispositions: Iterable[str] | None = None) -> LoadedFile:
    """Read, parse, validate one file. `dispositions` are the codes the configuration knows (None: any)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return LoadedFile(path, None, (ConfigProblem("", f"larger than {MAX_FILE_BYTES} bytes", file=path),))
        layer = read_layer(path)
    except ConfigError as exc:
        return LoadedFile(path, None, tuple(exc.problems))
    except OSError as exc:
        return LoadedFile(path, None, (ConfigProblem("", f"cannot read the file: {exc.strerror or exc}", file=path),))
    if not any(table in layer.data for table in CAMPAIGN_TABLES):
        return LoadedFile(path, None, (), is_campaign=False)
    try:
        parsed = CampaignFile.model_validate(layer.data)
    except ValidationError as exc:
        problems = tuple(
            ConfigProblem(
                _format_loc(tuple(error["loc"])),
                _plain_message(error),
                file=path,
                line=_line_of(layer.text, tuple(error["loc"])),
            )
            for error in exc.errors(include_url=False)
        )
        return LoadedFile(path, None, problems)
    found = validate_campaign_file(parsed, dispositions)
    problems = tuple(
        ConfigProblem(_format_loc(issue.loc), issue.message, file=path, line=_line_of(layer.text, issue.loc))
        for issue in found
    )
    return LoadedFile(path, None if problems else parsed, problems)


def campaign_paths(targets: Sequence[Path]) -> tuple[list[Path], list[ConfigProblem]]:
    """The files to read: each file given, and every *.toml under each folder given (sorted, so deterministic)."""
    paths: list[Path] = []
    problems: list[ConfigProblem] = []
    for target in targets:
        if target.is_dir():
            paths.extend(sorted(p for p in target.rglob(f"*{SUFFIX}") if p.is_file()))
        elif target.is_file():
            paths.append(target)
        else:
            problems.append(ConfigProblem("", "no such file or folder", file=target))
    return paths, problems


def load_catalog(targets: Sequence[Path], dispositions: Iterable[str] | None = None) -> CampaignCatalog:
    """Every campaign file under `targets`. Two files with one campaign code: the second is unavailable."""
    known = None if dispositions is None else list(dispositions)
    paths, problems = campaign_paths(targets)
    catalog = CampaignCatalog([LoadedFile(p.file or Path(), None, (p,)) for p in problems])
    codes: dict[str, Path] = {}
    scripts: dict[tuple[str, int], Path] = {}
    for path in paths:
        loaded = load_campaign_file(path, known)
        parsed = loaded.campaign_file
        if parsed is not None:
            clash = _clash(parsed, path, codes, scripts)
            if clash is not None:
                loaded = LoadedFile(path, None, (clash,))
        catalog.files.append(loaded)
    for unavailable in catalog.unavailable:
        log.warning("campaign file %s is unavailable (%d problem(s))", unavailable.path.name, len(unavailable.problems))
    return catalog


def _clash(
    parsed: CampaignFile, path: Path, codes: dict[str, Path], scripts: dict[tuple[str, int], Path]
) -> ConfigProblem | None:
    code = parsed.campaign.code.casefold()
    if code in codes:
        return ConfigProblem(
            "campaign.code", f"'{parsed.campaign.code}' is already the code of {codes[code].name}", file=path
        )
    script = (parsed.script.id, parsed.script.version)
    if script in scripts:
        return ConfigProblem(
            "script.version",
            f"script '{parsed.script.id}' version {parsed.script.version} is also in {scripts[script].name}: "
            "two different scripts under one version would mix in the funnel",
            file=path,
        )
    codes[code] = path
    scripts[script] = path
    return None


def parse_campaign_text(text: str, dispositions: Iterable[str] | None = None) -> CampaignFile:
    """Parse a campaign from TOML text (tests, benchmarks); raises ValueError listing every problem."""
    try:
        data = tomllib.loads(text)
        parsed = CampaignFile.model_validate(data)
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ValueError(str(exc)) from None
    found = validate_campaign_file(parsed, dispositions)
    if found:
        raise ValueError("\n".join(f"{_format_loc(issue.loc)}: {issue.message}" for issue in found))
    return parsed
