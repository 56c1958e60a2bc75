"""Wording room (no Telegram): how domain values read in the user's language. The one place an
error becomes text (``refusal``), plus the texts more than one handler or the engine shows."""

from __future__ import annotations

from typing import Any

from babel.numbers import format_decimal

from bot.batches import Summary, buys_dynamically
from bot.errors import BatchRejected, Problem, UserError
from bot.gold import PauseNotice
from bot.i18n import Translator
from bot.intake.pricing import floor_warning
from bot.overlap import OVERLAP_RULE
from bot.payouts import Step
from bot.review import REVIEW_ANSWERS, review_hold
from bot.rewards import PlatformHealth
from storage.batches import BatchLine

MAX_PROBLEMS_SHOWN = 25
"""A refusal lists this many problems, then says how many more (a message holds 4,096 chars)."""


# Refusals --------------------------------------------------------------------------------------


def readable_params(t: Translator, params: dict[str, Any]) -> dict[str, Any]:
    """Parameters of a batch refusal made readable: a batch state in words."""
    found = dict(params)
    if isinstance(found.get("state"), str):
        found["state"] = t(f"batches.state.{found['state']}")
    return found


def problem_text(t: Translator, problem: Problem) -> str:
    """One problem of an upload, in the user's language (money, dates made readable)."""
    return t.render(problem.key, readable_params(t, problem.params))


def problems_text(t: Translator, problems: tuple[Problem, ...]) -> str:
    """Every problem of a refused upload (the first ``MAX_PROBLEMS_SHOWN``), then what it means."""
    lines = [t("batch.rejected", count=len(problems))]
    lines.extend(f"• {problem_text(t, p)}" for p in problems[:MAX_PROBLEMS_SHOWN])
    if len(problems) > MAX_PROBLEMS_SHOWN:
        lines.append(t("batches.more_problems", count=len(problems) - MAX_PROBLEMS_SHOWN))
    lines.append("")
    lines.append(t("batches.nothing_created"))
    return "\n".join(lines)[:4096]


def refusal(t: Translator, error: UserError) -> str:
    """The text of any refusal, in the user's language: every handler and the global error
    handler use this one function.

    A rejected upload lists every problem; a batch refusal names the batch's state in words
    (only ``batches.*`` messages carry a batch state); anything else is its catalogue message
    with money, dates and lists made readable.
    """
    if isinstance(error, BatchRejected):
        return problems_text(t, error.problems)
    if error.message_key.startswith("batches."):
        return t.render(error.message_key, readable_params(t, error.params))
    return t.render(error.message_key, error.params)


# Batches ---------------------------------------------------------------------------------------


def summary_text(t: Translator, summary: Summary, min_hourly_rate: int) -> str:
    """Items, gold items, answers per item, reward, most possible cost, balance; warnings."""
    batch = summary.batch
    lines = [
        t("batches.summary.header", id=batch.id, title=batch.title),
        t("batches.summary.type", type=t(f"batches.type.{batch.type}")),
        t("batches.summary.items", items=summary.items, gold=summary.gold_items),
        t("batches.summary.answers", answers=batch.answers_per_item),
        *(
            [t("batches.summary.dynamic", least=OVERLAP_RULE.least, answers=batch.answers_per_item)]
            if buys_dynamically(batch)
            else []
        ),
        t(
            "batches.summary.reward",
            reward=t.money(batch.reward),
            seconds=batch.seconds_per_task,
            time_limit=batch.time_limit,
        ),
        t(
            "batches.summary.cost",
            cost=t.money(summary.cost),
            items=summary.items,
            answers=batch.answers_per_item,
            reward=t.money(batch.reward),
        ),
        t("batches.summary.balance", balance=t.money(summary.balance)),
    ]
    if batch.review and batch.review_reward is not None:
        review_cost = review_hold(summary.items, batch.review_reward)
        lines.insert(
            -1,
            t(
                "batches.summary.review",
                items=summary.items,
                answers=REVIEW_ANSWERS,
                reward=t.money(batch.review_reward),
                cost=t.money(review_cost),
            ),
        )
    warning = floor_warning(batch.reward, batch.seconds_per_task, min_hourly_rate)
    if warning is not None:
        lines.extend(["", "⚠️ " + problem_text(t, warning)])
    lines.append("")
    if summary.shortfall:
        lines.append(t("batches.summary.short", shortfall=t.money(summary.shortfall)))
    else:
        lines.append(t("batches.summary.ready", cost=t.money(summary.cost)))
    return "\n".join(lines)


def batch_line_text(t: Translator, line: BatchLine, show_owner: bool) -> str:
    """One line of ``/batches``: id, title, state, progress (and the owner, for an admin)."""
    batch = line.batch
    text = t(
        "batches.list.line",
        id=batch.id,
        title=batch.title,
        state=t(f"batches.state.{batch.state}"),
        complete=line.complete,
        items=line.items,
        answers=line.answers,
    )
    if show_owner:
        text += " " + t("batches.list.owner", requester=batch.requester_id)
    return text


# Quality and health ----------------------------------------------------------------------------


def number(t: Translator, value: float) -> str:
    """A score with two decimals in the reader's locale: 0.58, 0,58."""
    return format_decimal(value, format="0.00", locale=t.locale)


def pause_notice_text(t: Translator, notice: PauseNotice) -> str:
    """Why a type was just paused, with the numbers, and how to get it back."""
    kind = t(f"quality.type.{notice.task_type}")
    if notice.accuracy is not None:
        decision = notice.accuracy
        return t(
            "quality.paused.accuracy",
            type=kind,
            score=number(t, decision.score),
            gold=decision.gold_answers,
            upper=number(t, decision.upper_bound),
            threshold=number(t, decision.threshold),
            right=decision.right_answers_to_resume,
        )
    assert notice.speed is not None
    return t(
        "quality.paused.speed",
        type=kind,
        flags=notice.speed.flags,
        window=notice.speed.window,
        max_flags=notice.speed.max_flags,
    )


def health_lines(t: Translator, health: PlatformHealth) -> list[str]:
    """The platform lines of ``/health``, after the ledger line."""
    if health.median_rate is None:
        rate = t("health.rate_none")
    else:
        rate = t(
            "health.rate",
            rate=t.money(round(health.median_rate)),
            answers=health.rated_answers,
        )
    return [
        rate,
        t("health.answers", hour=health.answers_hour, day=health.answers_day),
        t("health.workers", count=health.active_workers),
        t("health.batches", open=health.open_batches, paused=health.paused_batches),
    ]


def step_text(t: Translator, step: Step) -> str:
    """What a payout step did ("approved", "put on hold"...), or that it had been taken."""
    statement = step.statement
    key = f"payouts.step.{statement.state}" if step.changed else "payouts.step.unchanged"
    return t(key, statement_id=statement.id, state=t(f"statement.state.{statement.state}"))
